//! Sigma values and regexes for the `sigma` target.
//!
//! Input: needles and regexes from the IR. Output: Sigma plain values (with
//! `*`, `?` and `\` escaped, so they are never wildcards) and `|re` values
//! with their sub-modifiers.
//!
//! The `|re` values keep to the regex subset of the Sigma specification
//! (modifiers appendix v2.1.0, "String Modifiers / Regular Expression",
//! https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-appendix-modifiers.md#regular-expression):
//! PCRE with `.`, the anchors `^` and `$`, the quantifiers, bracket classes,
//! `|` and `()`, and the sub-modifier `|i` for case-insensitive matching.
//! There is no look-around and no inline flag group: case-insensitive needles
//! are written as they are under `|re|i`, groups are plain parentheses.
//!
//! Two engines' readings of that subset meet here. rsigma (the Rust `regex`
//! crate, which prefixes `(?i)` for `|i`) folds case exactly as the
//! evaluator does (Unicode simple case folding); PCRE and Python, which
//! pySigma compiles every value with, fold by their own tables, so `|i` is
//! exact on engines that fold as Rust's `regex` does. The end anchor differs
//! too: a PCRE or Python `$` also matches just before a final line feed, a
//! Rust or RE2 `$` only at the very end, and neither `\z` (no Python before
//! 3.14) nor a look-ahead is in every engine. So a pattern ends with `$` only
//! where nothing before it can end with a line feed, and [`SigmaRegex::end`]
//! tells the caller to add `and not <field ends in a line feed>` (the
//! pattern `\n$`, which means "the last character is a line feed" under both
//! readings of `$`): the pair then means the Rust reading in every engine.
//! Where that cannot be arranged, the pattern is refused with a reason.

use regex_syntax::ParserBuilder;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::ir::TextOp;
use crate::ir::regex::ascii_classes;
use crate::targets::lower::FOLD_SPACE;
use crate::targets::{lower, re2};

/// The `|re` value that is true exactly when the text's last character is a
/// line feed, whichever reading of `$` the engine has.
pub const LINE_FEED_AT_END: &str = "\\n$";

/// A `|re` value and what its key and condition need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigmaRegex {
    /// The pattern, in the Sigma subset.
    pub pattern: String,
    /// Whether the key carries `|i`.
    pub insensitive: bool,
    /// Whether the pattern ends with a `$` that must be paired with "the
    /// text does not end in a line feed".
    pub end: bool,
}

impl SigmaRegex {
    /// The selection key for `field`: `field|re` or `field|re|i`.
    pub fn key(&self, field: &str) -> String {
        if self.insensitive {
            format!("{field}|re|i")
        } else {
            format!("{field}|re")
        }
    }
}

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

/// Whether a text equal to (ending with) `needle`, as the evaluator compares
/// it, may end in a line feed.
pub fn may_end_in_line_feed(needle: &str, op: TextOp, fold_whitespace: bool) -> bool {
    match needle.chars().last() {
        None => op == TextOp::EndsWith,
        Some(last) => last == '\n' || (fold_whitespace && FOLD_SPACE.contains(&last)),
    }
}

/// A `|re` value for a text operator over needles, anchored per operator.
pub fn needles_regex(
    needles: &[String],
    op: TextOp,
    case_sensitive: bool,
    fold_whitespace: bool,
) -> Result<SigmaRegex, String> {
    let end = matches!(op, TextOp::Equals | TextOp::EndsWith);
    if end
        && let Some(needle) = needles
            .iter()
            .find(|needle| may_end_in_line_feed(needle, op, fold_whitespace))
    {
        return Err(format!(
            "the needle {needle:?} lets the text end in a line feed, where Sigma's `$` (PCRE) and rsigma's (Rust) disagree and no end-of-text anchor is in every Sigma engine"
        ));
    }
    let bodies: Vec<String> = needles
        .iter()
        .map(|needle| re2::needle_pattern(needle, false, fold_whitespace))
        .collect();
    let body = if bodies.len() == 1 {
        bodies[0].clone()
    } else {
        format!("({})", bodies.join("|"))
    };
    let anchored = match op {
        TextOp::Equals => format!("^{body}$"),
        TextOp::Contains => body,
        TextOp::StartsWith => format!("^{body}"),
        TextOp::EndsWith => format!("{body}$"),
    };
    Ok(SigmaRegex {
        pattern: sigma_subset(&anchored),
        insensitive: !case_sensitive && needles.iter().any(|needle| !lower::caseless(needle)),
        end,
    })
}

/// A `|re` value that searches exactly what the Rust regex searches.
///
/// A case-insensitive regex goes under `|i` (Sigma's modifiers appendix:
/// `re` with the sub-modifier `i`), written so that Rust's `(?i)` over it
/// gives the same classes as the evaluator's case-insensitive regex. The
/// first candidate is the pattern as written; a negated class may not pass
/// (`[^a]` folded is not the complement of `[Aa]`), so the second is the
/// case-insensitive pattern with every class by one member per orbit and
/// negated classes without the long s and the Kelvin sign
/// ([`re2::RE2_NO_BOUNDARY_FOLDED`]): the ASCII word gap `\W` becomes
/// `[^0-9A-Z_a-zſK]`. A regex neither passes (a spelled-out word boundary,
/// whose class the flag would widen) is refused rather than written with
/// per-character case classes (`[Xx]`), which no Sigma author writes and
/// issue 18 rules out.
pub fn search_regex(pattern: &str, case_insensitive: bool) -> Result<SigmaRegex, String> {
    let end = end_anchor(pattern, case_insensitive)?;
    let flavour = &re2::RE2_NO_BOUNDARY;
    let written = re2::search_regex(flavour, pattern, false)?;
    let (text, insensitive) = if case_insensitive {
        let folded = re2::search_regex(flavour, pattern, true)?;
        let under_flag = |candidate: &str| -> Result<bool, String> {
            Ok(re2::search_regex(flavour, candidate, true)? == folded)
        };
        let by_orbit = re2::search_regex(&re2::RE2_NO_BOUNDARY_FOLDED, pattern, true)?;
        if under_flag(&written)? {
            (written, true)
        } else if under_flag(&by_orbit)? {
            (by_orbit, true)
        } else {
            return Err(
                "a case-insensitive regex with a negated class or a spelled-out word boundary: under `|i` it would match other text than the rule's regex, and Sigma has no other case-insensitive spelling (write the case variants in the rule's regex, or make it case-sensitive)"
                    .to_string(),
            );
        }
    } else {
        (written, false)
    };
    Ok(SigmaRegex {
        pattern: sigma_subset(&text),
        insensitive,
        end,
    })
}

/// Whether the regex ends with a `$` that needs the line-feed pairing;
/// an error for a `$` elsewhere, or after something that may end in a line
/// feed (or be empty), where the two readings of `$` differ.
fn end_anchor(pattern: &str, case_insensitive: bool) -> Result<bool, String> {
    let hir = ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .build()
        .parse(&ascii_classes(pattern))
        .map_err(|error| format!("does not parse: {error}"))?;
    let items: Vec<&Hir> = match hir.kind() {
        HirKind::Concat(items) => items.iter().collect(),
        _ => vec![&hir],
    };
    let count = count_end(&hir);
    if count == 0 {
        return Ok(false);
    }
    let reason = "has a `$` that Sigma cannot spell exactly: a PCRE `$` also matches before a final line feed, a Rust `$` does not, and Sigma's regex subset has neither `\\z` nor look-ahead";
    match items.split_last() {
        Some((last, before))
            if count == 1
                && matches!(last.kind(), HirKind::Look(Look::End))
                && ends_without_line_feed(before) =>
        {
            Ok(true)
        }
        // `($|[^a-z])` at the end: where a PCRE `$` matches before a final
        // line feed, the class branch matches that line feed in Rust.
        Some((last, _)) if count_end(last) == count && end_or_line_feed(last) => Ok(false),
        _ => Err(reason.to_string()),
    }
}

/// Whether `hir` is an alternation (maybe in a group) of `$` branches and
/// others without `$`, one of which is a single character class or literal
/// holding the line feed.
fn end_or_line_feed(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Capture(capture) => end_or_line_feed(&capture.sub),
        HirKind::Alternation(branches) => {
            let line_feed = branches.iter().any(|branch| match branch.kind() {
                HirKind::Class(Class::Unicode(class)) => class
                    .ranges()
                    .iter()
                    .any(|range| range.start() <= '\n' && '\n' <= range.end()),
                HirKind::Literal(literal) => literal.0.as_ref() == b"\n",
                _ => false,
            });
            line_feed
                && branches.iter().all(|branch| {
                    matches!(branch.kind(), HirKind::Look(Look::End)) || count_end(branch) == 0
                })
        }
        _ => false,
    }
}

fn count_end(hir: &Hir) -> usize {
    match hir.kind() {
        HirKind::Look(Look::End) => 1,
        HirKind::Repetition(repetition) => count_end(&repetition.sub),
        HirKind::Capture(capture) => count_end(&capture.sub),
        HirKind::Concat(items) | HirKind::Alternation(items) => items.iter().map(count_end).sum(),
        _ => 0,
    }
}

/// Whether every match of the concatenation `items` is non-empty and ends
/// with a character other than a line feed.
fn ends_without_line_feed(items: &[&Hir]) -> bool {
    let Some(last) = items.last() else {
        return false;
    };
    match last.kind() {
        HirKind::Literal(literal) => std::str::from_utf8(&literal.0)
            .ok()
            .and_then(|text| text.chars().last())
            .is_some_and(|character| character != '\n'),
        HirKind::Class(Class::Unicode(class)) => !class
            .ranges()
            .iter()
            .any(|range| range.start() <= '\n' && '\n' <= range.end()),
        HirKind::Capture(capture) => ends_without_line_feed(&[&capture.sub]),
        HirKind::Repetition(repetition) => {
            repetition.min >= 1 && ends_without_line_feed(&[&repetition.sub])
        }
        HirKind::Concat(inner) => ends_without_line_feed(&inner.iter().collect::<Vec<_>>()),
        HirKind::Alternation(branches) => branches
            .iter()
            .all(|branch| ends_without_line_feed(&[branch])),
        _ => false,
    }
}

/// Rewrites an RE2 pattern of [`re2`] into the Sigma subset that Python,
/// PCRE and Rust read alike: `\x{H}` as `\xHH` (ASCII) or the character
/// itself, and `(?:` groups as plain `(` groups (no back-references are
/// written, so capturing changes nothing).
pub fn sigma_subset(re2: &str) -> String {
    let characters: Vec<char> = re2.chars().collect();
    let mut out = String::with_capacity(re2.len());
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
        if character == '('
            && characters.get(index + 1) == Some(&'?')
            && characters.get(index + 2) == Some(&':')
        {
            out.push('(');
            index += 3;
            continue;
        }
        out.push(character);
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(pattern: &str, insensitive: bool, end: bool) -> SigmaRegex {
        SigmaRegex {
            pattern: pattern.to_string(),
            insensitive,
            end,
        }
    }

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
    fn case_insensitive_needles_are_written_as_they_are_under_i() {
        let pattern = needles_regex(&["User-0001".to_string()], TextOp::Equals, false, false);
        assert_eq!(pattern.unwrap(), regex("^User-0001$", true, true));
        let pattern = needles_regex(
            &["sk-".to_string(), "Key".to_string()],
            TextOp::Contains,
            false,
            false,
        );
        assert_eq!(pattern.unwrap(), regex("(sk-|Key)", true, false));
        // Needles without case variants need no `|i`.
        let pattern = needles_regex(&["1.2".to_string()], TextOp::StartsWith, false, false);
        assert_eq!(pattern.unwrap(), regex("^1\\.2", false, false));
        let pattern = needles_regex(&["ab".to_string()], TextOp::EndsWith, true, false);
        assert_eq!(pattern.unwrap(), regex("ab$", false, true));
    }

    #[test]
    fn under_rust_i_the_needles_fold_as_the_evaluator_folds() {
        let sigma = needles_regex(&["key sk".to_string()], TextOp::Contains, false, true).unwrap();
        assert_eq!(sigma.pattern, "key[\\x09-\\x0D ]+sk");
        let compiled = regex::Regex::new(&format!("(?i){}", sigma.pattern)).unwrap();
        for text in ["KEY SK", "\u{212A}ey \t\u{17F}k", "a key\nsk b"] {
            assert!(compiled.is_match(text), "{text}");
        }
        assert!(!compiled.is_match("kez sk"));
        // Every sigma is one letter; a dotted capital I is only itself.
        let sigma = needles_regex(&["σİ".to_string()], TextOp::Contains, false, false).unwrap();
        let compiled = regex::Regex::new(&format!("(?i){}", sigma.pattern)).unwrap();
        for (text, expected) in [("Σİ", true), ("ςİ", true), ("σi", false), ("σI", false)] {
            assert_eq!(compiled.is_match(text), expected, "{text}");
            let folded = crate::ir::case::fold(text).contains(&crate::ir::case::fold("σİ"));
            assert_eq!(folded, expected, "{text}");
        }
    }

    #[test]
    fn needles_that_let_the_text_end_in_a_line_feed_are_refused_at_the_end() {
        assert!(needles_regex(&["a\n".to_string()], TextOp::Equals, true, false).is_err());
        assert!(needles_regex(&["a ".to_string()], TextOp::EndsWith, false, true).is_err());
        assert!(needles_regex(&[String::new()], TextOp::EndsWith, true, false).is_err());
        assert!(needles_regex(&["a ".to_string()], TextOp::Contains, false, true).is_ok());
        assert!(needles_regex(&[String::new()], TextOp::Equals, true, false).is_ok());
    }

    #[test]
    fn the_line_feed_pairing_makes_both_readings_of_the_end_anchor_agree() {
        // Python's `$`, as PCRE's, also matches before a final line feed:
        // here emulated as "the Rust pattern, or it with `\n` before the end".
        let sigma = needles_regex(&["ab".to_string()], TextOp::Equals, true, false).unwrap();
        let rust = regex::Regex::new(&sigma.pattern).unwrap();
        let pcre = regex::Regex::new(&format!("{}|^ab\\n$", sigma.pattern)).unwrap();
        let line_feed = regex::Regex::new(LINE_FEED_AT_END).unwrap();
        for text in ["ab", "ab\n", "ab\n\n", "xab", ""] {
            let paired = pcre.is_match(text) && !line_feed.is_match(text);
            assert_eq!(paired, rust.is_match(text), "{text:?}");
            assert_eq!(rust.is_match(text), text == "ab", "{text:?}");
        }
    }

    #[test]
    fn regexes_keep_their_meaning_in_the_subset() {
        assert_eq!(
            search_regex("^a.c$", false).unwrap().pattern.chars().last(),
            Some('$')
        );
        assert!(search_regex("^a.c$", false).unwrap().end);
        assert_eq!(
            search_regex("\\bword\\b", false).unwrap(),
            regex("(^|[^0-9A-Z_a-z])word($|[^0-9A-Z_a-z])", false, false)
        );
        assert!(search_regex("a\\bb", false).is_err());
        // A `$` inside an alternation, or after what may end in a line feed.
        assert!(search_regex("(a$|b)", false).is_err());
        assert!(search_regex("a\\s$", false).is_err());
        assert!(search_regex("a*$", false).is_err());
        assert!(search_regex("(?m)^a$", false).is_err());
        // `$` or a class with the line feed, last: the same in both readings.
        assert_eq!(
            search_regex("x(?:$|[^a-z])", false).unwrap().pattern,
            "x($|[\\x00-\\x60\\x7B-\u{10FFFF}])"
        );
        assert!(search_regex("x(?:$|[^a-z])y", false).is_err());
        assert!(search_regex("x(?:$|[a-z])", false).is_err());
        assert_eq!(
            search_regex("ab[0-9]+$", false).unwrap(),
            regex("ab[0-9]+$", false, true)
        );
    }

    #[test]
    fn case_insensitive_regexes_use_i_where_rust_folds_the_same() {
        assert_eq!(
            search_regex("api[_-]key", true).unwrap(),
            regex("api[\\x2D\\x5F]key", true, false)
        );
        // Folding `[^a]` as written is not the complement of `[Aa]`, so the
        // negated class is written by orbit, which the flag keeps as it is.
        assert_eq!(
            search_regex("x[^a]", true).unwrap(),
            regex("x[^Aa]", true, false)
        );
        // The ASCII word gap keeps the long s and the Kelvin sign out, which
        // `|i` would otherwise pair with `s` and `k`.
        assert_eq!(
            search_regex("a\\W+b", true).unwrap(),
            regex("a[^0-9A-Z\\x5Fa-z\u{17F}\u{212A}]+b", true, false)
        );
        // A spelled-out word boundary is a class the flag would widen:
        // refused, never written with per-character case classes.
        let boundary = search_regex("\\bab", true).unwrap_err();
        assert!(boundary.contains("spelled-out word boundary"), "{boundary}");
    }

    #[test]
    fn the_subset_has_no_inline_groups_and_python_escapes() {
        assert_eq!(sigma_subset("[\\x{9}-\\x{D} ]+"), "[\\x09-\\x0D ]+");
        assert_eq!(sigma_subset("(?:a|[Kk\\x{212A}])"), "(a|[Kk\u{212A}])");
        assert_eq!(sigma_subset("a\\(?:"), "a\\(?:");
    }
}
