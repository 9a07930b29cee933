use super::*;

#[test]
fn case_insensitive_needles_use_the_engines_flag_or_orbit_classes() {
    let regex = needles_regex(&RE2, &["Ok".to_string()], TextOp::Equals, false, false);
    assert_eq!(regex.unwrap(), "(?i)^(?:Ok)$");
    // Needles without case variants need no flag.
    let regex = needles_regex(&RE2, &["1.2".to_string()], TextOp::Contains, false, false);
    assert_eq!(regex.unwrap(), "(?:1\\.2)");
    // Java's `(?i)` pairs ASCII letters only: the Kelvin sign is written
    // beside `k`, the letters in lowercase.
    let regex = needles_regex(&JAVA, &["Ok".to_string()], TextOp::Equals, false, false);
    assert_eq!(regex.unwrap(), "(?i)^(?:o[k\\x{212A}])\\z");
    let regex = needles_regex(
        &JAVA,
        &["list_dir".to_string(), "École".to_string()],
        TextOp::Contains,
        false,
        false,
    );
    assert_eq!(
        regex.unwrap(),
        "(?i)(?:li[s\\x{17F}]t_dir|[\\x{C9}\\x{E9}]cole)"
    );
    assert_eq!(needle_pattern("a.b", false, false), "a\\.b");
    // Every sigma is one orbit, and a dotted capital I only itself.
    assert_eq!(
        needle_pattern("σİ", true, false),
        "[\\x{3A3}\\x{3C2}\\x{3C3}]\\x{130}"
    );
}

#[test]
fn re2_case_insensitivity_is_the_evaluators_folding() {
    // RE2 and Rust's `regex` share simple case folding; the evaluator
    // compares folded texts.
    let regex = needles_regex(
        &RE2,
        &["key sk".to_string()],
        TextOp::Contains,
        false,
        false,
    )
    .unwrap();
    let compiled = regex::Regex::new(&regex).unwrap();
    for text in ["KEY SK", "\u{212A}ey \u{17F}k", "a key sk b"] {
        assert!(compiled.is_match(text), "{text}");
        assert!(crate::ir::case::fold(text).contains("key sk"), "{text}");
    }
    assert!(!compiled.is_match("\u{130}key sk".replace("key", "kez").as_str()));
}

#[test]
fn folding_turns_whitespace_runs_into_a_repeated_class() {
    let pattern = needle_pattern("a \t b", false, true);
    assert_eq!(pattern, "a[\\x{9}-\\x{D} ]+b");
}

#[test]
fn hostile_needles_are_literal_in_the_regex() {
    let pattern = needle_pattern("\") | (.*", false, false);
    assert_eq!(pattern, "\"\\) \\| \\(\\.\\*");
    let compiled = regex::Regex::new(&pattern).unwrap();
    assert!(compiled.is_match("x\") | (.* y"));
    assert!(!compiled.is_match("anything"));
    let regex = needles_regex(&RE2, &["a|b".to_string()], TextOp::Equals, false, false).unwrap();
    let compiled = regex::Regex::new(&regex).unwrap();
    assert!(compiled.is_match("A|B"));
    assert!(!compiled.is_match("a"));
}

#[test]
fn search_regexes_translate_the_subset_exactly() {
    assert_eq!(search_regex(&RE2, "ab+c", false).unwrap(), "ab+c");
    assert_eq!(search_regex(&RE2, "(x|yz)?", false).unwrap(), "(?:x|yz)?");
    // An alternation is written in one group, wherever it stands.
    assert_eq!(
        search_regex(&RE2, "a(?:b|cd)e(fg|h)", false).unwrap(),
        "a(?:b|cd)e(?:fg|h)"
    );
    assert_eq!(
        search_regex(&RE2, "[a-c]{2,5}", false).unwrap(),
        "[a-c]{2,5}"
    );
    assert_eq!(search_regex(&RE2, "k", true).unwrap(), "(?i)k");
    assert_eq!(search_regex(&RE2, "(?-u:\\b)x", false).unwrap(), "\\bx");
    // The language's `\b` and `\w` are ASCII, as RE2's.
    assert_eq!(search_regex(&RE2, "\\bx", false).unwrap(), "\\bx");
    assert_eq!(
        search_regex(&RE2, "\\w+", false).unwrap(),
        "[0-9A-Z\\x{5F}a-z]+"
    );
    assert_eq!(
        search_regex(&RE2_NO_BOUNDARY, "\\b(?:AKIA|ASIA)\\d\\b", false).unwrap(),
        "(?:^|[^0-9A-Z_a-z])(?:AKIA|ASIA)[0-9](?:$|[^0-9A-Z_a-z])"
    );
    assert!(search_regex(&RE2_NO_BOUNDARY, "a\\bb", false).is_err());
    assert_eq!(
        search_regex(&RE2, "a.b", false).unwrap(),
        "a[\\x{0}-\\x{9}\\x{B}-\\x{10FFFF}]b"
    );
}

#[test]
fn case_insensitive_regexes_use_re2s_flag_with_letters_for_orbits() {
    assert_eq!(search_regex(&RE2, "Ignore", true).unwrap(), "(?i)ignore");
    // The Kelvin sign and the long s stay in the orbits the flag stands for.
    assert_eq!(search_regex(&RE2, "sk", true).unwrap(), "(?i)sk");
    assert_eq!(search_regex(&RE2_WIDE, "sk", true).unwrap(), "(?i)sk");
    // The folded ASCII word class is RE2's `\\w` under `(?i)`, and its
    // negation `\\W` with the line feed written out beside it.
    assert_eq!(
        search_regex(&RE2, "a\\Wb", true).unwrap(),
        "(?i)a(?:\\n|\\W)b"
    );
    assert_eq!(search_regex(&RE2, "\\w+", true).unwrap(), "(?i)\\w+");
    // A class of several letters is one letter per orbit; a negated class
    // without the line feed needs no alternative.
    assert_eq!(search_regex(&RE2, "[ab]", true).unwrap(), "(?i)[a-b]");
    assert_eq!(search_regex(&RE2, "[sz]", true).unwrap(), "(?i)[sz]");
    assert_eq!(
        search_regex(&RE2, "[^>\\n]", true).unwrap(),
        "(?i)[^\\x{A}\\x{3E}]"
    );
    // A part with folding turned off keeps every class spelled out.
    assert_eq!(search_regex(&RE2, "a(?-i:K)", true).unwrap(), "[Aa]K");
    // Java's ASCII-only flag: the letters, with the Kelvin sign and the
    // long s beside theirs.
    assert_eq!(search_regex(&JAVA, "k", true).unwrap(), "(?i)[k\\x{212A}]");
    assert_eq!(
        search_regex(&JAVA, "Ignore|list", true).unwrap(),
        "(?i)(?:ignore|li[s\\x{17F}]t)"
    );
    assert_eq!(
        search_regex(&JAVA, "\\w+", true).unwrap(),
        "(?i)[0-9\\x{5F}a-z\\x{17F}\\x{212A}]+"
    );
    assert_eq!(
        search_regex(&JAVA, "a\\Wb", true).unwrap(),
        "(?i)a[^0-9\\x{5F}a-z\\x{17F}\\x{212A}]b"
    );
    // A part with folding turned off keeps every class spelled out.
    assert_eq!(search_regex(&JAVA, "a(?-i:K)", true).unwrap(), "[Aa]K");
    // Engines whose flag folds otherwise keep every orbit spelled out.
    assert_eq!(
        search_regex(&RE2_NO_BOUNDARY, "k", true).unwrap(),
        "[Kk\\x{212A}]"
    );
}

/// Java's `(?i)` without `u`, modelled: two characters match when they
/// are equal or are an ASCII letter and its other case.
fn java_ascii_flag_matches(pattern: &str, text: &str) -> bool {
    // The pattern's only constructs here: literals, classes of single
    // members, the `(?i)` prefix and `(?:...)` around them.
    let body = pattern
        .trim_start_matches("(?i)")
        .trim_start_matches("(?:")
        .trim_end_matches(')');
    let mut items: Vec<Vec<char>> = Vec::new();
    let mut characters = body.chars().peekable();
    while let Some(character) = characters.next() {
        if character == '[' {
            let mut members = Vec::new();
            let mut inner = String::new();
            for member in characters.by_ref() {
                if member == ']' {
                    break;
                }
                inner.push(member);
            }
            let mut rest = inner.as_str();
            while !rest.is_empty() {
                if let Some(tail) = rest.strip_prefix("\\x{") {
                    let end = tail.find('}').unwrap();
                    let code = u32::from_str_radix(&tail[..end], 16).unwrap();
                    members.push(char::from_u32(code).unwrap());
                    rest = &tail[end + 1..];
                } else {
                    let first = rest.chars().next().unwrap();
                    members.push(first);
                    rest = &rest[first.len_utf8()..];
                }
            }
            items.push(members);
        } else {
            items.push(vec![character]);
        }
    }
    let same = |a: char, b: char| a == b || (a.is_ascii() && a.eq_ignore_ascii_case(&b));
    let text: Vec<char> = text.chars().collect();
    (0..=text.len().saturating_sub(items.len())).any(|start| {
        text.len() >= start + items.len()
            && items
                .iter()
                .zip(&text[start..])
                .all(|(members, found)| members.iter().any(|member| same(*member, *found)))
    })
}

#[test]
fn java_case_insensitive_needles_fold_as_the_evaluator() {
    // Under simple case folding the only non-ASCII characters folding
    // to ASCII letters are the Kelvin sign and the long s: Rust's
    // `(?i)` (simple case folding, as the evaluator) agrees.
    for code in 0x80..=0x10FFFF_u32 {
        let Some(character) = char::from_u32(code) else {
            continue;
        };
        let folds_to_ascii = lower::case_class(character).iter().any(char::is_ascii);
        assert_eq!(
            folds_to_ascii,
            character == '\u{212A}' || character == '\u{17F}',
            "{character:?}"
        );
    }
    for needle in ["kiss", "risk", "ski", "is", "KS", "dir"] {
        let pattern =
            needles_regex(&JAVA, &[needle.to_string()], TextOp::Contains, false, false).unwrap();
        for text in [
            "KISS",
            "\u{212A}i\u{17F}\u{17F}",
            "r\u{130}sk",
            "r\u{131}sk",
            "\u{17F}k\u{131}",
            "\u{17F}\u{212A}I",
            "\u{130}S",
            "\u{131}\u{17F}",
            "DIR",
            "d\u{131}r",
            "x is",
        ] {
            assert_eq!(
                java_ascii_flag_matches(&pattern, text),
                crate::ir::case::fold(text).contains(&crate::ir::case::fold(needle)),
                "{pattern} on {text:?}"
            );
        }
    }
}

#[test]
fn the_java_flavour_anchors_at_the_very_end_and_spells_boundaries_out() {
    let regex = needles_regex(&JAVA, &["ok".to_string()], TextOp::Equals, true, false).unwrap();
    assert_eq!(regex, "^(?:ok)\\z");
    let boundary = search_regex(&JAVA, "(?-u:\\b)x", false).unwrap();
    assert!(boundary.starts_with("(?:(?<=[0-9A-Za-z_])"), "{boundary}");
    assert!(search_regex(&JAVA, "(?m)^x", false).is_err());
    assert_eq!(search_regex(&RE2, "x$", false).unwrap(), "x$");
    assert_eq!(search_regex(&JAVA, "x$", false).unwrap(), "x\\z");
    // Unicode classes that RE2 in Kusto refuses are spelled out for wider engines.
    assert!(search_regex(&RE2_WIDE, "\\d", false).is_ok());
}
