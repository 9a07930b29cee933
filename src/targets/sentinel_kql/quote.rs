//! Kusto string literals and RE2 regexes for the `sentinel_kql` target.
//!
//! Input: needles, regexes and names from the IR. Output: Kusto text that
//! cannot change the query's shape whatever the value holds. Case-insensitive
//! needles become RE2 regexes with explicit character classes built from the
//! evaluator's own Unicode lowercase mapping, so the query does not depend on
//! how Kusto folds case; Rust regexes are translated from their HIR into RE2
//! with every class spelled out as code-point ranges.

use regex_syntax::ParserBuilder;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::ir::TextOp;
use crate::targets::lower;

/// The whitespace the evaluator folds: tab, line feed, vertical tab, form
/// feed, carriage return (9..=13) and space.
const FOLD_SPACE: [char; 6] = ['\t', '\n', '\u{0B}', '\u{0C}', '\r', ' '];

/// The most ranges one translated character class may have.
pub const MAX_CLASS_RANGES: usize = 64;

/// The largest counted repetition RE2 accepts.
const MAX_REPEAT: u32 = 1000;

/// A Kusto string literal (`"..."` with backslash escapes). Quotes,
/// backslashes, tab, line feed and carriage return are escaped; other control
/// characters have no escape in Kusto and are refused.
pub fn kusto_string(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other if other.is_control() => {
                return Err(format!(
                    "the value contains the control character U+{:04X}, which a Kusto string literal cannot hold",
                    other as u32
                ));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    Ok(out)
}

/// A character written literally in an RE2 pattern.
fn push_literal(out: &mut String, character: char) {
    let plain = character.is_ascii_alphanumeric()
        || character == ' '
        || (character.is_ascii_graphic() && !"\\.+*?()|[]{}^$".contains(character));
    if plain {
        out.push(character);
    } else if "\\.+*?()|[]{}^$".contains(character) {
        out.push('\\');
        out.push(character);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", character as u32));
    }
}

/// A character inside an RE2 class.
fn push_class_member(out: &mut String, character: char) {
    if character.is_ascii_alphanumeric() {
        out.push(character);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", character as u32));
    }
}

fn push_case_class(out: &mut String, character: char, extra: &[char]) -> Result<(), String> {
    let members = lower::case_class(character, extra)?;
    if let [single] = members.as_slice() {
        push_literal(out, *single);
    } else {
        out.push('[');
        for member in members {
            push_class_member(out, member);
        }
        out.push(']');
    }
    Ok(())
}

/// The body of an RE2 pattern (no anchors) that matches a needle as the
/// evaluator compares it: exact, or case-insensitive through explicit
/// classes; whitespace runs as `[\t-\r ]+` when folding.
pub fn needle_pattern(
    needle: &str,
    op: TextOp,
    case_sensitive: bool,
    fold_whitespace: bool,
) -> Result<String, String> {
    let mut out = String::new();
    let characters: Vec<char> = needle.chars().collect();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        if fold_whitespace && FOLD_SPACE.contains(&character) {
            out.push_str("[\\x{9}-\\x{D} ]+");
            while index < characters.len() && FOLD_SPACE.contains(&characters[index]) {
                index += 1;
            }
            continue;
        }
        if case_sensitive {
            push_literal(&mut out, character);
        } else {
            if lower::context_dependent(character) {
                return Err(format!(
                    "the needle contains `{character}`, whose case-insensitive comparison depends on context"
                ));
            }
            // A field's `İ` lowercases to `i` and a combining dot: it can end
            // a match of a needle ending in `i` where the match may continue.
            let last = index + 1 == characters.len();
            let open_end = matches!(op, TextOp::Contains | TextOp::StartsWith);
            let extra: &[char] = if last && open_end && lower::lower_char(character) == Some('i') {
                &['\u{0130}']
            } else {
                &[]
            };
            push_case_class(&mut out, character, extra)?;
        }
        index += 1;
    }
    Ok(out)
}

/// An RE2 search pattern for a text operator over several needles.
pub fn needles_regex(
    needles: &[String],
    op: TextOp,
    case_sensitive: bool,
    fold_whitespace: bool,
) -> Result<String, String> {
    let mut bodies = Vec::new();
    for needle in needles {
        bodies.push(needle_pattern(needle, op, case_sensitive, fold_whitespace)?);
    }
    let alternation = format!("(?:{})", bodies.join("|"));
    Ok(match op {
        TextOp::Equals => format!("^{alternation}$"),
        TextOp::Contains => alternation,
        TextOp::StartsWith => format!("^{alternation}"),
        TextOp::EndsWith => format!("{alternation}$"),
    })
}

/// An RE2 pattern that searches exactly what the Rust regex searches.
pub fn search_regex(pattern: &str, case_insensitive: bool) -> Result<String, String> {
    let hir = ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .build()
        .parse(pattern)
        .map_err(|error| format!("does not parse: {error}"))?;
    translate(&hir)
}

fn translate(hir: &Hir) -> Result<String, String> {
    match hir.kind() {
        HirKind::Empty => Ok("(?:)".to_string()),
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0)
                .map_err(|_| "a byte literal that is not UTF-8 has no RE2 form".to_string())?;
            let mut out = String::new();
            for character in text.chars() {
                push_literal(&mut out, character);
            }
            Ok(out)
        }
        HirKind::Class(Class::Unicode(class)) => {
            let ranges: Vec<(char, char)> = class
                .ranges()
                .iter()
                .map(|range| (range.start(), range.end()))
                .collect();
            if ranges.is_empty() {
                return Err("an empty class matches nothing".to_string());
            }
            if ranges.len() > MAX_CLASS_RANGES {
                return Err(format!(
                    "a character class with {} Unicode ranges (`\\d`, `\\w`, `\\s` are Unicode in Rust and ASCII in RE2; write `[0-9]`) exceeds the {MAX_CLASS_RANGES} ranges spelled out",
                    ranges.len()
                ));
            }
            let mut out = String::from("[");
            for (start, end) in ranges {
                push_class_member(&mut out, start);
                if end != start {
                    out.push('-');
                    push_class_member(&mut out, end);
                }
            }
            out.push(']');
            Ok(out)
        }
        HirKind::Class(Class::Bytes(_)) => {
            Err("a byte class (`(?-u)`) has no exact RE2 form".to_string())
        }
        HirKind::Look(look) => match look {
            Look::Start => Ok("^".to_string()),
            Look::End => Ok("$".to_string()),
            Look::StartLF => Ok("(?m:^)".to_string()),
            Look::EndLF => Ok("(?m:$)".to_string()),
            Look::WordAscii => Ok("\\b".to_string()),
            Look::WordAsciiNegate => Ok("\\B".to_string()),
            Look::WordUnicode | Look::WordUnicodeNegate => Err(
                "`\\b`/`\\B` are Unicode-aware in the evaluator and ASCII-only in RE2: write `(?-u:\\b)` or spell the boundary out"
                    .to_string(),
            ),
            other => Err(format!("the assertion {other:?} has no RE2 form")),
        },
        HirKind::Repetition(repetition) => {
            let inner = translate(&repetition.sub)?;
            let inner = if is_atom(&repetition.sub) {
                inner
            } else {
                format!("(?:{inner})")
            };
            let quantifier = match (repetition.min, repetition.max) {
                (0, None) => "*".to_string(),
                (1, None) => "+".to_string(),
                (0, Some(1)) => "?".to_string(),
                (min, _) if min > MAX_REPEAT => {
                    return Err(format!("a repetition of {min} exceeds RE2's 1000"));
                }
                (_, Some(max)) if max > MAX_REPEAT => {
                    return Err(format!("a repetition of {max} exceeds RE2's 1000"));
                }
                (min, None) => format!("{{{min},}}"),
                (min, Some(max)) if min == max => format!("{{{min}}}"),
                (min, Some(max)) => format!("{{{min},{max}}}"),
            };
            let lazy = if repetition.greedy { "" } else { "?" };
            Ok(format!("{inner}{quantifier}{lazy}"))
        }
        HirKind::Capture(capture) => Ok(format!("(?:{})", translate(&capture.sub)?)),
        HirKind::Concat(parts) => {
            let mut out = String::new();
            for part in parts {
                let text = translate(part)?;
                if matches!(part.kind(), HirKind::Alternation(_)) {
                    out.push_str(&format!("(?:{text})"));
                } else {
                    out.push_str(&text);
                }
            }
            Ok(out)
        }
        HirKind::Alternation(branches) => {
            let mut texts = Vec::new();
            for branch in branches {
                texts.push(translate(branch)?);
            }
            Ok(format!("(?:{})", texts.join("|")))
        }
    }
}

fn is_atom(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Class(_) | HirKind::Capture(_) | HirKind::Alternation(_) => true,
        HirKind::Literal(literal) => std::str::from_utf8(&literal.0)
            .map(|text| text.chars().count() == 1)
            .unwrap_or(false),
        _ => false,
    }
}

/// The PascalCase Kusto column name of a canonical field (`src_ip` → `SrcIp`).
pub fn pascal_case(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut characters = part.chars();
            match characters.next() {
                Some(first) => first.to_uppercase().chain(characters).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// Whether a name is a plain Kusto identifier (otherwise it is quoted as `['...']`).
pub fn column_reference(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_')
        && !name.starts_with(|character: char| character.is_ascii_digit());
    if plain {
        name.to_string()
    } else {
        format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(kusto_string("plain").unwrap(), "\"plain\"");
        assert_eq!(kusto_string("a\"b").unwrap(), "\"a\\\"b\"");
        assert_eq!(kusto_string("c:\\x").unwrap(), "\"c:\\\\x\"");
        assert_eq!(kusto_string("a\nb\r\tc").unwrap(), "\"a\\nb\\r\\tc\"");
        assert_eq!(kusto_string("Grüße").unwrap(), "\"Grüße\"");
        assert!(kusto_string("bell\u{7}").is_err());
    }

    #[test]
    fn a_hostile_value_stays_one_string() {
        let hostile = "\"; drop table LLMAppEvents_CL; //\\\" | where 1==1 \n| take 1";
        let quoted = kusto_string(hostile).unwrap();
        // Every quote inside is escaped, so the literal ends at the last character.
        let inner = &quoted[1..quoted.len() - 1];
        let mut escaped = false;
        for character in inner.chars() {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else {
                assert_ne!(character, '"', "unescaped quote in {quoted}");
                assert_ne!(character, '\n');
            }
        }
        assert!(!escaped);
    }

    #[test]
    fn needles_get_case_classes_from_the_evaluators_lowercase() {
        let pattern = needle_pattern("Ok", TextOp::Equals, false, false).unwrap();
        assert_eq!(pattern, "[Oo][Kk\\x{212A}]");
        let pattern = needle_pattern("a.b", TextOp::Contains, true, false).unwrap();
        assert_eq!(pattern, "a\\.b");
        assert!(needle_pattern("Σ", TextOp::Contains, false, false).is_err());
        // A trailing `i` of an open-ended needle also accepts `İ`.
        let pattern = needle_pattern("hi", TextOp::Contains, false, false).unwrap();
        assert!(pattern.ends_with("\\x{130}]"), "{pattern}");
    }

    #[test]
    fn folding_turns_whitespace_runs_into_a_repeated_class() {
        let pattern = needle_pattern("a \t b", TextOp::Contains, true, true).unwrap();
        assert_eq!(pattern, "a[\\x{9}-\\x{D} ]+b");
    }

    #[test]
    fn hostile_needles_are_literal_in_the_regex() {
        let pattern = needle_pattern("\") | (.*", TextOp::Contains, true, false).unwrap();
        assert_eq!(pattern, "\"\\) \\| \\(\\.\\*");
        let compiled = regex::Regex::new(&pattern).unwrap();
        assert!(compiled.is_match("x\") | (.* y"));
        assert!(!compiled.is_match("anything"));
        let regex = needles_regex(&["a|b".to_string()], TextOp::Equals, false, false).unwrap();
        let compiled = regex::Regex::new(&regex).unwrap();
        assert!(compiled.is_match("A|B"));
        assert!(!compiled.is_match("a"));
    }

    #[test]
    fn search_regexes_translate_the_subset_exactly() {
        assert_eq!(search_regex("ab+c", false).unwrap(), "ab+c");
        assert_eq!(search_regex("(x|yz)?", false).unwrap(), "(?:(?:x|yz))?");
        assert_eq!(search_regex("[a-c]{2,5}", false).unwrap(), "[a-c]{2,5}");
        assert_eq!(search_regex("k", true).unwrap(), "[Kk\\x{212A}]");
        assert_eq!(search_regex("(?-u:\\b)x", false).unwrap(), "\\bx");
        assert!(search_regex("\\bx", false).is_err());
        assert!(search_regex("\\w+", false).is_err());
        assert_eq!(
            search_regex("a.b", false).unwrap(),
            "a[\\x{0}-\\x{9}\\x{B}-\\x{10FFFF}]b"
        );
    }

    #[test]
    fn names_become_pascal_case_identifiers() {
        assert_eq!(pascal_case("src_ip"), "SrcIp");
        assert_eq!(pascal_case("output_tokens"), "OutputTokens");
        assert_eq!(column_reference("SrcIp"), "SrcIp");
        assert_eq!(column_reference("a b'c"), "['a b\\'c']");
    }
}
