//! Tests of line parsing: the two readers agree, types, what an event keeps.

use super::*;
use crate::eval::event::Scalar;

/// A projection that reads `a`, `b` and `text`, probes `p` and `q`, and skips the rest.
fn differential_projection() -> Projection {
    let mut projection = Projection::new(&Schema::default(), &[]);
    for name in ["a", "b", "text", "a_longer_name_than_16"] {
        projection.read(name);
    }
    for name in ["p", "q"] {
        projection.slot_or_probe(name);
    }
    projection
}

/// The slots and text a path read, or `None` when it did not take the line.
type Read = Option<(Vec<Slot>, String)>;

fn both_paths(projection: &Projection, line: &str) -> (Read, Read) {
    let count = projection.fields.len();
    let mut fast_slots = vec![Slot::Missing; count];
    let mut fast_text = String::new();
    let fast = scan_object(
        line,
        |key| projection.key_use(key),
        &mut fast_slots,
        &mut fast_text,
    )
    .ok()
    .map(|()| (fast_slots, fast_text));
    let mut serde_slots = vec![Slot::Missing; count];
    let mut serde_text = String::new();
    let serde = projection
        .read_with_serde(line, &mut serde_slots, &mut serde_text)
        .ok()
        .map(|()| (serde_slots, serde_text));
    (fast, serde)
}

/// Floats compared by bits, so that `-0.0` and `0.0` differ.
fn same(left: &(Vec<Slot>, String), right: &(Vec<Slot>, String)) -> bool {
    left.1 == right.1
        && left.0.len() == right.0.len()
        && left.0.iter().zip(&right.0).all(|pair| match pair {
            (Slot::Float(x), Slot::Float(y)) => x.to_bits() == y.to_bits(),
            (x, y) => x == y,
        })
}

#[test]
fn the_fast_path_takes_ordinary_lines_and_agrees_with_serde() {
    let projection = differential_projection();
    for line in [
        r#"{"a":"x","b":1,"text":"hello","p":"probed","zz":[1,{"k":null}]}"#,
        r#" { "a" : "tab\there \"quoted\" \u00e9\u4e2d" , "b" : -12.5e-3 , "q" : true } "#,
        r#"{"a":12345678901234567890,"b":-9223372036854775808,"text":-0,"p":1.5e300}"#,
        r#"{"a":"x","a":"y","b":false,"text":null,"a_longer_name_than_16":"long"}"#,
        r#"{}"#,
        "{\"a\":\"caf\u{e9} \u{1F600}\"}",
    ] {
        let (fast, serde) = both_paths(&projection, line);
        let fast = fast.unwrap_or_else(|| panic!("the fast path left {line}"));
        let serde = serde.unwrap();
        assert!(same(&fast, &serde), "{line}: {fast:?} != {serde:?}");
    }
    // Left to serde_json: escaped keys, surrogate escapes, invalid JSON.
    for line in [
        r#"{"\u0061":1}"#,
        r#"{"a":"\ud83d\ude00"}"#,
        r#"{"a":01}"#,
        r#"{"a":1,}"#,
        r#"{"a":"x"} trailing"#,
        "{\"a\":\"raw\ttab\"}",
        r#"{"a":tru}"#,
        r#"{"a":1.}"#,
        r#"{"a":1e400}"#,
        r#"[1]"#,
    ] {
        assert!(both_paths(&projection, line).0.is_none(), "{line}");
    }
}

/// A piece of string content: mostly valid (plain text, every escape),
/// sometimes not (a raw quote or control character, a lone backslash,
/// surrogate escapes).
fn json_piece() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let valid = prop_oneof![
        "[a-zA-Z0-9 é中😀]{0,12}",
        Just("\\\"".to_string()),
        Just("\\\\".to_string()),
        Just("\\/".to_string()),
        Just("\\b".to_string()),
        Just("\\f".to_string()),
        Just("\\n".to_string()),
        Just("\\r".to_string()),
        Just("\\t".to_string()),
        Just("\\u0041".to_string()),
        Just("\\u00E9".to_string()),
        Just("\\u4e2D".to_string()),
        Just("\\u0000".to_string()),
        Just("\u{7f}".to_string()),
        Just("x".repeat(40)),
    ];
    let invalid = prop_oneof![
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\\x".to_string()),
        Just("\\u00".to_string()),
        Just("\\ud83d".to_string()),
        Just("\\udc00".to_string()),
        Just("\\ud83d\\ude00".to_string()),
        Just("\t".to_string()),
        Just("\u{1}".to_string()),
        Just("{".to_string()),
        Just(",".to_string()),
    ];
    prop_oneof![40 => valid, 1 => invalid]
}

fn json_value() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        proptest::collection::vec(json_piece(), 0..8)
            .prop_map(|pieces| format!("\"{}\"", pieces.concat())),
        "-?(0|[1-9][0-9]{0,22})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
        "-?0[0-9]{1,3}|-|[0-9]+\\.|[0-9]+[eE]|\\.5|\\+1|tru|nul|fals",
        any::<i64>().prop_map(|value| value.to_string()),
        any::<f64>().prop_map(|value| value.to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
            proptest::collection::vec(("[a-z]{1,3}", inner), 0..4).prop_map(|entries| {
                let entries: Vec<String> = entries
                    .into_iter()
                    .map(|(key, value)| format!("\"{key}\":{value}"))
                    .collect();
                format!("{{{}}}", entries.join(","))
            }),
        ]
    })
}

fn json_line() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let key = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("text".to_string()),
        Just("p".to_string()),
        Just("q".to_string()),
        Just("zz".to_string()),
        Just("a_longer_name_than_16".to_string()),
        Just("a_longer_name_than_17".to_string()),
        Just("\\u0061".to_string()),
    ];
    let space = prop_oneof![8 => Just(""), 1 => Just(" "), 1 => Just("\t"), 1 => Just("\r\n")];
    (
        proptest::collection::vec((key, json_value(), space.clone()), 0..6),
        space,
        prop_oneof![
            20 => Just(String::new()),
            1 => Just("x".to_string()),
            1 => Just(",".to_string()),
            1 => Just("}".to_string()),
        ],
    )
        .prop_map(|(entries, space, tail)| {
            let entries: Vec<String> = entries
                .into_iter()
                .map(|(key, value, space)| format!("{space}\"{key}\"{space}:{space}{value}{space}"))
                .collect();
            format!("{space}{{{}}}{space}{tail}", entries.join(","))
        })
}

/// The generator is worth running: the fast path takes most of its lines
/// (and leaves some), so the agreement property checks real work.
#[test]
fn the_fast_path_takes_most_generated_lines() {
    use proptest::strategy::{Strategy, ValueTree};
    let projection = differential_projection();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut taken, mut valid) = (0, 0);
    for _ in 0..2000 {
        let line = json_line().new_tree(&mut runner).unwrap().current();
        let (fast, serde) = both_paths(&projection, &line);
        taken += usize::from(fast.is_some());
        valid += usize::from(serde.is_some());
    }
    assert!(
        taken > 800 && valid < 2000,
        "taken {taken}, valid {valid} of 2000"
    );
}

/// Whatever the fast path takes, serde_json takes too, into the same slots.
fn agreement(line: &str) -> Result<(), proptest::test_runner::TestCaseError> {
    let projection = differential_projection();
    let (fast, serde) = both_paths(&projection, line);
    if let Some(fast) = fast {
        let serde = serde.expect("serde_json rejects a line the fast path took");
        proptest::prop_assert!(same(&fast, &serde), "{line}: {fast:?} != {serde:?}");
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

    /// Whatever the fast path accepts, serde_json accepts and reads into the same slots.
    #[test]
    fn agrees_with_serde(line in json_line()) {
        agreement(&line)?;
    }

    /// The same for arbitrary text cut from JSON-like pieces.
    #[test]
    fn agrees_with_serde_on_noise(pieces in proptest::collection::vec(json_piece(), 0..24)) {
        agreement(&format!("{{\"a\":{}", pieces.concat()))?;
    }
}

#[test]
fn an_event_keeps_only_the_slots_the_shapes_read() {
    let mut projection = Projection::new(&Schema::default(), &["user".to_string()]);
    let user = projection.keep("user");
    let prompt = projection.read("prompt");
    let count = projection.read("count");
    assert_eq!(
        user, 3,
        "kept fields come right after timestamp, event_type, event_id"
    );
    let mut scratch = Scratch::default();
    let event = projection
        .parse_line(
            r#"{"timestamp":"2026-03-02T00:00:00Z","event_type":"x","user":"u1","prompt":"a long prompt","count":3}"#,
            0,
            1,
            &mut scratch,
        )
        .unwrap()
        .unwrap();
    assert_eq!(event.scalar(user), Some(Scalar::Str("u1")));
    assert_eq!(event.scalar(prompt), None);
    assert_eq!(event.scalar(count), None);
    assert_eq!(event.slots.len(), 4, "{:?}", event.slots);
    // Only the kept text: the event type and the user (the timestamp is a number now).
    assert_eq!(event.text, "xu1");
    // The full buffer went back for the next line.
    assert!(scratch.spare[0].0.contains("a long prompt"));
}

#[test]
fn filters_that_read_one_normalised_field_share_one_normalisation() {
    use crate::eval::expr::{Form, Pred, Subject};
    use crate::eval::literals::PatternSet;
    // Kept fields, so that the event still has them after the parse.
    let kept = ["text".to_string(), "text_norm".to_string()];
    let mut projection = Projection::new(&Schema::default(), &kept);
    let raw = projection.read("text");
    let companion = projection.read("text_norm");
    let cache = projection.norm(companion, raw);
    assert_eq!(projection.norm(companion, raw), cache);
    let matches = |pattern: &str| Pred::Matches {
        negated: false,
        subject: Subject::Norm {
            companion,
            raw,
            form: Form::Exact,
            cache,
        },
        patterns: Arc::new(PatternSet::new(&[pattern.to_string()]).unwrap()),
        eager: None,
    };
    let first = projection.add_filter(matches("ignore previous"), &[]);
    let second = projection.add_filter(matches("^ign"), &[]);
    // Filters apply per event type; the default schema has none, so test them directly.
    let mut scratch = Scratch::default();
    let line =
        r#"{"timestamp":"2026-01-01T00:00:00Z","event_type":"x","text":"IGNORE  Prev\u0456ous"}"#;
    let mut event = projection
        .parse_line(line, 0, 1, &mut scratch)
        .unwrap()
        .unwrap();
    assert!(event.norms.is_empty(), "the cache goes back to the scratch");
    event.norms = std::mem::take(&mut scratch.spare[0].2);
    assert_eq!(event.norms.len(), 1);
    assert!(event.norms[0].get().is_none());
    let filters = [first, second].map(|id| projection.filters[usize::from(id)].clone());
    assert!(filters.iter().all(|filter| filter.test(&event)));
    assert_eq!(
        event.norms[0].get().map(String::as_str),
        Some("ignore previous")
    );
}
