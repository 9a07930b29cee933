//! Sigma values and regexes for the `sigma` target.
//!
//! Input: needles and regexes from the IR. Output: Sigma plain values (with
//! `*`, `?` and `\` escaped, so they are never wildcards) and `|re` patterns.
//! A `|re` value must compile in Python's `re` (pySigma compiles it) and mean
//! the same in PCRE (Splunk and most backends): the RE2 patterns of
//! `sentinel_kql` (with explicit case classes from the evaluator's case
//! folding, whitespace runs, classes spelled out) are rewritten into that
//! dialect: `\x{H}` becomes `\xHH` or the character itself, and the end
//! anchor `$` becomes `$(?!\n)`, because in Python and PCRE a bare `$` also
//! matches before a final line feed.

use crate::ir::TextOp;
use crate::targets::re2;

/// The whitespace the evaluator folds (9..=13 and space).
const FOLD_SPACE: [char; 6] = ['\t', '\n', '\u{0B}', '\u{0C}', '\r', ' '];

/// A Sigma plain value that matches `needle` literally: the wildcards `*`
/// and `?` and the escape character `\` are escaped.
pub fn plain_value(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len());
    for character in needle.chars() {
        if matches!(character, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(character);
    }
    out
}

/// Whether a case-insensitive test of `needle` is exactly a Sigma plain
/// value (case-insensitive in every backend, at least for ASCII): every
/// letter of the needle folds with ASCII letters only (no `k`, whose orbit
/// has the Kelvin sign, no `s`, whose orbit has the long s, nothing
/// non-ASCII), and a folded needle has no whitespace (a needle without
/// whitespace matches a folded value exactly where it matches the value).
pub fn plain_case_insensitive(needle: &str, _op: TextOp, fold_whitespace: bool) -> bool {
    let folded_space = fold_whitespace && needle.contains(FOLD_SPACE);
    crate::targets::lower::ascii_foldable(needle) && !folded_space
}

/// A `|re` pattern for a text operator over needles, anchored per operator.
pub fn needles_regex(
    needles: &[String],
    op: TextOp,
    case_sensitive: bool,
    fold_whitespace: bool,
) -> Result<String, String> {
    re2::needles_regex(
        &re2::RE2_CASE_CLASSES,
        needles,
        op,
        case_sensitive,
        fold_whitespace,
    )
    .map(|text| python_pcre(&text))
}

/// A `|re` pattern that searches exactly what the Rust regex searches.
pub fn search_regex(pattern: &str, case_insensitive: bool) -> Result<String, String> {
    re2::search_regex(&re2::RE2_NO_BOUNDARY, pattern, case_insensitive)
        .map(|text| python_pcre(&text))
}

/// Rewrites an RE2 pattern of `sentinel_kql::quote` into the dialect Python
/// and PCRE share: `\x{H}` as `\xHH` (ASCII) or the character itself, and an
/// unescaped `$` outside `(?m:$)` as `$(?!\n)` (the end of the text only).
pub fn python_pcre(re2: &str) -> String {
    let characters: Vec<char> = re2.chars().collect();
    let mut out = String::with_capacity(re2.len() + 8);
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        if character == '\\' && index + 1 < characters.len() {
            let next = characters[index + 1];
            if next == 'x' && characters.get(index + 2) == Some(&'{') {
                let close = characters[index + 3..]
                    .iter()
                    .position(|candidate| *candidate == '}')
                    .map(|offset| index + 3 + offset);
                if let Some(close) = close {
                    let hex: String = characters[index + 3..close].iter().collect();
                    if let Some(decoded) =
                        u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                    {
                        if decoded.is_ascii() {
                            out.push_str(&format!("\\x{:02X}", decoded as u32));
                        } else {
                            out.push(decoded);
                        }
                        index = close + 1;
                        continue;
                    }
                }
            }
            out.push(character);
            out.push(next);
            index += 2;
            continue;
        }
        if character == '$' && !out.ends_with("(?m:") {
            out.push_str("$(?!\\n)");
        } else {
            out.push(character);
        }
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_escape_wildcards_and_backslashes() {
        assert_eq!(plain_value("a*b?c"), "a\\*b\\?c");
        assert_eq!(plain_value("C:\\path\\*"), "C:\\\\path\\\\\\*");
        assert_eq!(plain_value("' or \"1\"=\"1"), "' or \"1\"=\"1");
    }

    #[test]
    fn plain_only_where_backends_agree_with_the_evaluator() {
        assert!(plain_case_insensitive(
            "ignore the prompt",
            TextOp::Contains,
            false
        ));
        // `s` folds with the long s, which ASCII-insensitive backends miss.
        assert!(!plain_case_insensitive(
            "ignore previous",
            TextOp::Contains,
            false
        ));
        assert!(!plain_case_insensitive(
            "ignore the prompt",
            TextOp::Contains,
            true
        ));
        assert!(plain_case_insensitive("ignore", TextOp::Contains, true));
        assert!(!plain_case_insensitive("token", TextOp::Equals, false));
        assert!(plain_case_insensitive("api", TextOp::StartsWith, false));
        assert!(plain_case_insensitive("api", TextOp::EndsWith, false));
        assert!(!plain_case_insensitive("café", TextOp::Equals, false));
    }

    #[test]
    fn end_anchors_exclude_a_final_line_feed() {
        let pattern = needles_regex(&["ab".to_string()], TextOp::Equals, true, false).unwrap();
        assert_eq!(pattern, "^(?:ab)$(?!\\n)");
        assert_eq!(python_pcre("(?m:$)x$"), "(?m:$)x$(?!\\n)");
        assert_eq!(python_pcre("a\\$b"), "a\\$b");
    }

    #[test]
    fn hex_escapes_become_python_compatible() {
        assert_eq!(python_pcre("[\\x{9}-\\x{D} ]+"), "[\\x09-\\x0D ]+");
        assert_eq!(python_pcre("[Kk\\x{212A}]"), "[Kk\u{212A}]");
        let pattern = needles_regex(&["k e".to_string()], TextOp::Contains, false, true).unwrap();
        assert_eq!(pattern, "(?:[Kk\u{212A}][\\x09-\\x0D ]+[Ee])");
    }

    #[test]
    fn regexes_keep_their_meaning() {
        assert!(search_regex("^a.c$", false).unwrap().ends_with("$(?!\\n)"));
        assert_eq!(
            search_regex("\\bword\\b", false).unwrap(),
            "(?:^|[^0-9A-Z_a-z])word(?:$(?!\\n)|[^0-9A-Z_a-z])"
        );
        assert!(search_regex("a\\bb", false).is_err());
    }
}
