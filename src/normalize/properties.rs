use proptest::prelude::*;

use super::{MAX_LINE_BYTES, Normalizer, normalize};

proptest! {
    #[test]
    fn no_input_panics_or_loses_a_line(bytes in proptest::collection::vec(any::<u8>(), 0..400), limit in 8usize..200) {
        let mut output = Vec::new();
        let normalizer = Normalizer { flush_each_line: false, max_line_bytes: limit };
        let counts = normalizer.run(&mut &bytes[..], &mut output, &mut |_, _| {}).unwrap();
        let lines_in = bytes.split_inclusive(|byte| *byte == b'\n').count() as u64;
        let lines_out = output.split_inclusive(|byte| *byte == b'\n').count() as u64;
        prop_assert_eq!(counts.lines, lines_in);
        prop_assert_eq!(lines_out, lines_in);
    }

    #[test]
    fn events_keep_their_bytes_and_gain_companions(text in "\\PC{0,40}", other in "[a-z]{0,8}") {
        let event = serde_json::json!({ "event_type": "inference", "user_input": text, "app": other });
        let line = format!("{event}\n");
        let mut output = Vec::new();
        let normalizer = Normalizer { flush_each_line: false, max_line_bytes: MAX_LINE_BYTES };
        normalizer.run(&mut line.as_bytes(), &mut output, &mut |_, _| {}).unwrap();
        let written = String::from_utf8(output).unwrap();
        let kept = line.trim_end().trim_end_matches('}');
        prop_assert!(written.starts_with(kept), "{} changed", kept);
        let parsed: serde_json::Value = serde_json::from_str(&written).unwrap();
        let normal = normalize(&text);
        prop_assert_eq!(parsed["user_input_norm"].as_str(), Some(normal.as_str()));
        // The normal form is a fixed point.
        prop_assert_eq!(normalize(&normal), normal);
    }
}
