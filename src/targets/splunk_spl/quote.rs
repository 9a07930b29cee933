//! Quoting and escaping for SPL, for the PCRE patterns that SPL's `match()`
//! evaluates, and for `.conf` files.
//!
//! Input: rule values (needles, patterns, field names, free text). Output:
//! SPL or `.conf` text that holds each value as data: no value can change
//! the query's or the file's shape. Every function here has unit tests
//! below, hostile values included.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::ir::TextOp;
use crate::targets::lower::{self, NeedlePiece};

/// Every generated pattern starts with this: PCRE's UTF mode, so that a
/// pattern character is a Unicode scalar value as in the evaluator, whatever
/// options Splunk compiles `match()` patterns with. `(*UTF)` is accepted by
/// PCRE 8.33 and later and by PCRE2.
pub const UTF_MODE: &str = "(*UTF)";

/// A largest repetition count PCRE accepts.
const MAX_REPEAT: u32 = 65_535;

/// An SPL string literal (eval and search alike): `"` and `\` escaped, every
/// other character as it is. Callers never pass line breaks (patterns spell
/// them as escapes); should one arrive it stays inside the quotes.
pub fn spl_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A field reference in an eval expression: bare when it is a plain name,
/// single-quoted when it holds dots; `None` for names SPL cannot quote
/// (single quotes, spaces and other punctuation have no escape there).
pub fn field_reference(name: &str) -> Option<String> {
    let mut characters = name.chars();
    let first = characters.next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    if name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '_')
    {
        return Some(name.to_string());
    }
    if name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || matches!(character, '_' | '.'))
    {
        return Some(format!("'{name}'"));
    }
    None
}

/// Whether a value can be written as a bare search term (`event_type=x`).
pub fn plain_term(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// A `.conf` value: a multi-line value continues with a trailing backslash
/// on every line but the last. A line that itself ends with a backslash
/// would join the next; it gets a trailing space (free text only: callers
/// never pass searches that end in a backslash). Carriage returns are dropped.
pub fn conf_value(text: &str) -> String {
    let text = text.replace('\r', "");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        out.push_str(line);
        if line.ends_with('\\') {
            out.push(' ');
        }
        if index + 1 < lines.len() {
            out.push_str(" \\\n");
        }
    }
    out
}

/// A `.conf` stanza name: `[` `]` and line breaks replaced, so the name
/// cannot close the header or open another.
pub fn stanza_name(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '[' | ']' | '\n' | '\r' => '_',
            other => other,
        })
        .collect()
}

/// Appends one character as a PCRE literal: ASCII letters and digits as they
/// are, ASCII punctuation escaped with a backslash (always literal in PCRE),
/// `$` and everything else as `\x{..}` (a code point in UTF mode). `$` is
/// spelled as an escape so that no `$token$` substitution ever sees it.
fn push_literal(out: &mut String, character: char) {
    if character.is_ascii_alphanumeric() {
        out.push(character);
    } else if (character.is_ascii_punctuation() || character == ' ') && character != '$' {
        out.push('\\');
        out.push(character);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", character as u32));
    }
}

/// The body (no anchors, no mode prefix) of a PCRE pattern matching the
/// values that one needle accepts under the evaluator's text operator: the
/// needle literally (a case-insensitive test puts the whole pattern under
/// `(?i)`, see [`needles_pattern`]), a whitespace run as `[\t-\r ]+` when
/// folding. Every needle has a form; the `Result` keeps refusals possible.
pub fn needle_pattern(needle: &str, fold_whitespace: bool) -> Result<String, String> {
    let mut out = String::new();
    for piece in lower::needle_pieces(needle, fold_whitespace) {
        match piece {
            NeedlePiece::SpaceRun => out.push_str("[\\x{9}-\\x{D}\\ ]+"),
            NeedlePiece::Char(character) => push_literal(&mut out, character),
        }
    }
    Ok(out)
}

/// A whole PCRE pattern for `field OP any of needles`: the alternatives
/// anchored as the operator needs (`\A`, `\z`: `$` would also match before
/// a final line feed), under `(?i)` when the test is case-insensitive and a
/// needle has case variants.
///
/// In UTF mode PCRE2's caseless matching uses Unicode case properties for
/// every character, `K`/`k`/Kelvin sign and `S`/`s`/long s included, and
/// pairs the Turkish dotted and dotless `I` with nothing unless asked to
/// (pcre2api, `PCRE2_CASELESS` and `PCRE2_EXTRA_TURKISH_CASING`:
/// https://github.com/PCRE2Project/pcre2/pull/521/files): that is Unicode
/// simple case folding, the evaluator's. Splunk's regexes are PCRE
/// (https://help.splunk.com/splunk-enterprise/manage-knowledge-objects/knowledge-management-manual/9.1/get-started-with-knowledge-objects/about-splunk-regular-expressions).
pub fn needles_pattern(
    needles: &[&str],
    op: TextOp,
    case_sensitive: bool,
    fold_whitespace: bool,
) -> Result<String, String> {
    let bodies = needles
        .iter()
        .map(|needle| needle_pattern(needle, fold_whitespace))
        .collect::<Result<Vec<_>, _>>()?;
    let (start, end) = match op {
        TextOp::Equals => ("\\A", "\\z"),
        TextOp::StartsWith => ("\\A", ""),
        TextOp::EndsWith => ("", "\\z"),
        TextOp::Contains => ("", ""),
    };
    let folds = !case_sensitive && needles.iter().any(|needle| !lower::caseless(needle));
    let flag = if folds { "(?i)" } else { "" };
    Ok(format!(
        "{UTF_MODE}{flag}{start}(?:{}){end}",
        bodies.join("|")
    ))
}

/// Translates a pattern of the language's regex subset (Rust `regex` syntax,
/// unanchored search) into a PCRE pattern that finds a match in exactly the
/// same values: the Rust parser's own Unicode classes and case folding
/// spelled out, `^`/`$` as `\A`/`\z`, the language's ASCII `\b`/`\B` as
/// PCRE's own. Multi-line anchors are refused (PCRE's line-break convention
/// is a build option).
pub fn search_pattern(pattern: &str, case_insensitive: bool) -> Result<String, String> {
    let pattern = crate::ir::regex::ascii_classes(pattern);
    let wrapped = if case_insensitive {
        format!("(?i:{pattern})")
    } else {
        pattern
    };
    let hir = regex_syntax::Parser::new()
        .parse(&wrapped)
        .map_err(|error| format!("the regex does not parse: {error}"))?;
    // PCRE2's caseless matching is the evaluator's folding (see
    // `needles_pattern`), so a pattern whose classes are all closed under it
    // is written under `(?i)` with one letter per case orbit.
    let folded = case_insensitive && crate::targets::re2::fold_closed(&hir);
    let flag = if folded { "(?i)" } else { "" };
    Ok(format!("{UTF_MODE}{flag}{}", translate(&hir, folded)?))
}

fn translate(hir: &Hir, folded: bool) -> Result<String, String> {
    match hir.kind() {
        HirKind::Empty => Ok("(?:)".to_string()),
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0)
                .map_err(|_| "a byte-oriented literal has no PCRE spelling".to_string())?;
            // Bare: a repetition groups its operand itself, and alternation
            // binds loosest.
            let mut out = String::new();
            for character in text.chars() {
                push_literal(&mut out, character);
            }
            Ok(out)
        }
        HirKind::Class(Class::Unicode(class)) => {
            if class.ranges().is_empty() {
                // A class that matches nothing.
                return Ok("(?!)".to_string());
            }
            let ranges: Vec<(char, char)> = class
                .ranges()
                .iter()
                .map(|range| (range.start(), range.end()))
                .collect();
            // A class that holds both ends of the code space is written as
            // the negation of the rest: in UTF mode `[^...]` matches every
            // code point not listed, line feed included. Under `(?i)` the
            // rest of a fold-closed class is fold-closed too, so its orbit
            // representatives stand for it.
            let rest = complement(&ranges);
            if ranges.first().is_some_and(|(start, _)| *start == '\0')
                && ranges.last().is_some_and(|(_, end)| *end == char::MAX)
                && !rest.is_empty()
            {
                return Ok(format!("[^{}]", class_body(&rest, folded)));
            }
            if folded
                && let Some(letters) = crate::targets::re2::orbit_representatives(&ranges)
                && let [single] = letters.as_slice()
            {
                let mut out = String::new();
                push_literal(&mut out, *single);
                return Ok(out);
            }
            Ok(format!("[{}]", class_body(&ranges, folded)))
        }
        HirKind::Class(Class::Bytes(_)) => Err("a byte class has no PCRE spelling".to_string()),
        HirKind::Look(Look::Start) => Ok("\\A".to_string()),
        HirKind::Look(Look::End) => Ok("\\z".to_string()),
        // PCRE's `\b` is defined by `\w`, which is ASCII unless Unicode
        // properties (UCP) are turned on, even in UTF mode:
        // https://www.pcre.org/current/doc/html/pcre2pattern.html (generic
        // character types), so it is the language's ASCII boundary.
        HirKind::Look(Look::WordAscii) => Ok("\\b".to_string()),
        HirKind::Look(Look::WordAsciiNegate) => Ok("\\B".to_string()),
        HirKind::Look(look) => Err(format!(
            "{} has no exact PCRE equivalent in Splunk",
            look_name(*look)
        )),
        HirKind::Repetition(repetition) => {
            if repetition.min > MAX_REPEAT || repetition.max.is_some_and(|max| max > MAX_REPEAT) {
                return Err(format!(
                    "a repetition count above {MAX_REPEAT} is not accepted by PCRE"
                ));
            }
            let sub = translate(&repetition.sub, folded)?;
            let quantifier = match (repetition.min, repetition.max) {
                (0, None) => "*".to_string(),
                (1, None) => "+".to_string(),
                (0, Some(1)) => "?".to_string(),
                (min, None) => format!("{{{min},}}"),
                (min, Some(max)) if min == max => format!("{{{min}}}"),
                (min, Some(max)) => format!("{{{min},{max}}}"),
            };
            // Matching or not does not depend on greediness. One character,
            // a class or a group takes the quantifier as it is.
            if atomic(&repetition.sub, &sub) {
                Ok(format!("{sub}{quantifier}"))
            } else {
                Ok(format!("(?:{sub}){quantifier}"))
            }
        }
        HirKind::Capture(capture) => Ok(format!("(?:{})", translate(&capture.sub, folded)?)),
        // Bare, like a literal.
        HirKind::Concat(items) => items.iter().map(|item| translate(item, folded)).collect(),
        HirKind::Alternation(branches) => {
            let parts = branches
                .iter()
                .map(|branch| translate(branch, folded))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(format!("(?:{})", parts.join("|")))
        }
    }
}

/// Whether `text`, the translation of `hir`, is one PCRE atom that a
/// quantifier applies to whole: one character, a bracketed class or a group.
fn atomic(hir: &Hir, text: &str) -> bool {
    match hir.kind() {
        HirKind::Literal(literal) => {
            std::str::from_utf8(&literal.0).is_ok_and(|literal| literal.chars().count() == 1)
        }
        HirKind::Class(_) => text != "(?!)",
        HirKind::Alternation(_) | HirKind::Capture(_) => text.starts_with("(?:"),
        _ => false,
    }
}

/// The members of a class: under `(?i)`, one letter per case orbit where
/// that is shorter (PCRE2 adds every other case of every member, of a range
/// as of a member written alone), in runs written as ranges.
fn class_body(ranges: &[(char, char)], folded: bool) -> String {
    let mut out = String::new();
    let letters = if folded {
        crate::targets::re2::orbit_representatives(ranges)
    } else {
        None
    };
    match letters {
        Some(letters) => {
            for (start, end) in runs(&letters) {
                push_range(&mut out, start, end);
            }
        }
        None => {
            for (start, end) in ranges {
                push_range(&mut out, *start, *end);
            }
        }
    }
    out
}

/// The code points outside sorted, disjoint `ranges` (surrogates, which no
/// text holds, left out).
fn complement(ranges: &[(char, char)]) -> Vec<(char, char)> {
    let mut rest = Vec::new();
    let mut next = 0u32;
    let push = |start: u32, end: u32, rest: &mut Vec<(char, char)>| {
        for (start, end) in [(start, end.min(0xD7FF)), (start.max(0xE000), end)] {
            if let (Some(start), Some(end)) = (char::from_u32(start), char::from_u32(end))
                && start <= end
            {
                rest.push((start, end));
            }
        }
    };
    for (start, end) in ranges {
        if u32::from(*start) > next {
            push(next, u32::from(*start) - 1, &mut rest);
        }
        next = u32::from(*end) + 1;
    }
    if next <= u32::from(char::MAX) {
        push(next, u32::from(char::MAX), &mut rest);
    }
    rest
}

/// Sorted characters as runs of consecutive code points.
fn runs(characters: &[char]) -> Vec<(char, char)> {
    let mut runs: Vec<(char, char)> = Vec::new();
    for &character in characters {
        match runs.last_mut() {
            Some((_, end)) if u32::from(*end) + 1 == u32::from(character) => *end = character,
            _ => runs.push((character, character)),
        }
    }
    runs
}

/// Appends a class member or range: `a`, `ab` for two, `a-z` for more.
fn push_range(out: &mut String, start: char, end: char) {
    push_literal(out, start);
    if end == start {
        return;
    }
    if u32::from(end) - u32::from(start) > 1 {
        out.push('-');
    }
    push_literal(out, end);
}

fn look_name(look: Look) -> &'static str {
    match look {
        Look::StartLF | Look::StartCRLF => "a multi-line `^`",
        Look::EndLF | Look::EndCRLF => "a multi-line `$`",
        Look::WordAscii | Look::WordUnicode => "`\\b` (word boundary)",
        Look::WordAsciiNegate | Look::WordUnicodeNegate => "`\\B` (not a word boundary)",
        _ => "a word-boundary assertion",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn spl_strings_hold_hostile_values_as_data() {
        assert_eq!(spl_string("plain"), "\"plain\"");
        assert_eq!(spl_string("a\" | delete"), "\"a\\\" | delete\"");
        assert_eq!(spl_string("back\\slash\\"), "\"back\\\\slash\\\\\"");
        assert_eq!(spl_string("\\\" OR 1=1"), "\"\\\\\\\" OR 1=1\"");
    }

    #[test]
    fn field_references_are_bare_quoted_or_refused() {
        assert_eq!(field_reference("user_input").unwrap(), "user_input");
        assert_eq!(field_reference("gen_ai.tool").unwrap(), "'gen_ai.tool'");
        assert_eq!(field_reference("a'b"), None);
        assert_eq!(field_reference("a b"), None);
        assert_eq!(field_reference("1abc"), None);
        assert_eq!(field_reference("x | delete"), None);
    }

    #[test]
    fn conf_values_continue_lines_with_a_backslash() {
        assert_eq!(conf_value("one line"), "one line");
        assert_eq!(conf_value("a\nb\r\nc"), "a \\\nb \\\nc");
        assert_eq!(conf_value("ends\\\nnext"), "ends\\  \\\nnext");
        assert_eq!(conf_value("a\n[stanza]"), "a \\\n[stanza]");
        assert_eq!(stanza_name("x]\n[y"), "x___y");
    }

    #[test]
    fn literals_escape_punctuation_and_spell_the_rest_as_code_points() {
        let mut out = String::new();
        for character in "a.\"\\$\n\u{e9}".chars() {
            push_literal(&mut out, character);
        }
        assert_eq!(out, "a\\.\\\"\\\\\\x{24}\\x{A}\\x{E9}");
    }

    #[test]
    fn case_insensitive_needles_are_literal_under_the_caseless_flag() {
        assert_eq!(
            needles_pattern(&["Ok"], TextOp::Equals, false, false).unwrap(),
            "(*UTF)(?i)\\A(?:Ok)\\z"
        );
        assert_eq!(
            needles_pattern(&["a b"], TextOp::Contains, false, true).unwrap(),
            "(*UTF)(?i)(?:a[\\x{9}-\\x{D}\\ ]+b)"
        );
        assert_eq!(
            needles_pattern(&["x", "y"], TextOp::StartsWith, true, false).unwrap(),
            "(*UTF)\\A(?:x|y)"
        );
        // No case variants, no flag.
        assert_eq!(
            needles_pattern(&["1-2"], TextOp::Contains, false, false).unwrap(),
            "(*UTF)(?:1\\-2)"
        );
        // Context never matters under simple case folding.
        assert_eq!(
            needles_pattern(&["Σx"], TextOp::Contains, false, true).unwrap(),
            "(*UTF)(?i)(?:\\x{3A3}x)"
        );
    }

    #[test]
    fn hostile_needles_stay_inside_the_pattern_and_the_string() {
        let pattern = needles_pattern(&["\" | delete"], TextOp::Equals, true, false).unwrap();
        assert_eq!(pattern, "(*UTF)\\A(?:\\\"\\ \\|\\ delete)\\z");
        assert_eq!(
            spl_string(&pattern),
            "\"(*UTF)\\\\A(?:\\\\\\\"\\\\ \\\\|\\\\ delete)\\\\z\""
        );
        let newline = needles_pattern(&["a\nb\\"], TextOp::Equals, true, false).unwrap();
        assert!(!newline.contains('\n'));
        assert!(newline.ends_with("\\x{A}b\\\\)\\z"));
    }

    #[test]
    fn regexes_translate_from_the_rust_parse() {
        assert_eq!(search_pattern("^ab+c$", false).unwrap(), "(*UTF)\\Aab+c\\z");
        // Case-insensitive patterns under PCRE2's (?i), one letter per orbit.
        assert_eq!(search_pattern("x|y", true).unwrap(), "(*UTF)(?i)[xy]");
        assert_eq!(search_pattern("Ignore", true).unwrap(), "(*UTF)(?i)ignore");
        // A part with folding turned off keeps its classes spelled out.
        assert_eq!(search_pattern("a(?-i:K)", true).unwrap(), "(*UTF)[Aa]K");
        assert_eq!(
            search_pattern("(?i)k", false).unwrap(),
            "(*UTF)[Kk\\x{212A}]"
        );
        assert!(
            search_pattern("[0-9]{2,3}", false)
                .unwrap()
                .ends_with("[0-9]{2,3}")
        );
        assert_eq!(
            search_pattern("\\bAKIA\\d", false).unwrap(),
            "(*UTF)\\bAKIA[0-9]"
        );
        assert!(
            search_pattern("\\b{start}AKIA", false)
                .unwrap_err()
                .contains("word-boundary")
        );
        // Groups only where a quantifier needs one; runs as ranges; a class
        // holding both ends of the code space as the negation of the rest.
        assert_eq!(
            search_pattern("(?:ab)+c*(?:x|yz){2}", false).unwrap(),
            "(*UTF)(?:ab)+c*(?:x|yz){2}"
        );
        assert_eq!(
            search_pattern("[a-f0-9_]+\\W", true).unwrap(),
            "(*UTF)(?i)[0-9\\_a-f]+[^0-9\\_a-z]"
        );
        assert_eq!(search_pattern("[^a]", false).unwrap(), "(*UTF)[^a]");
        assert!(search_pattern("(?m)^x", false).is_err());
        assert!(search_pattern("a{70000}", false).is_err());
    }
}
