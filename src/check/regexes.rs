//! Regexes: the common subset every engine accepts.
//!
//! Input: a regex literal (or an override pattern). Output: nothing when the
//! pattern is in the subset that Rust's `regex`, RE2, PCRE and the Elastic
//! engines share and compiles; otherwise an E0206 diagnostic (or, for
//! patterns without a span, the reason as text).

use regex_syntax::ast::ErrorKind;

use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast;

const SUBSET: &str = "the common regex subset (Rust regex, RE2, PCRE, Elastic)";

/// Why `pattern` is refused, with the byte range of the problem inside it when known.
fn problem(pattern: &str, case_insensitive: bool) -> Option<(String, Option<(usize, usize)>)> {
    if let Some(at) = pattern.find("(?>") {
        return Some((
            format!("atomic groups `(?>...)` are not in {SUBSET}"),
            Some((at, at + 3)),
        ));
    }
    if let Some(at) = possessive_at(pattern) {
        return Some((
            format!("possessive quantifiers are not in {SUBSET}"),
            Some((at - 1, at + 1)),
        ));
    }
    let mut parser = regex_syntax::ast::parse::Parser::new();
    if let Err(error) = parser.parse(pattern) {
        let range = Some((error.span().start.offset, error.span().end.offset));
        let text = match error.kind() {
            ErrorKind::UnsupportedLookAround => format!("look-around is not in {SUBSET}"),
            ErrorKind::UnsupportedBackreference => {
                format!("back-references are not in {SUBSET}")
            }
            other => format!("the regex does not parse: {other}"),
        };
        return Some((text, range));
    }
    // Compiled as the evaluator compiles it: the classes in their ASCII
    // meaning (the Unicode `\w` is a far larger automaton, and not what
    // the rule means).
    if let Err(error) = regex::RegexBuilder::new(&crate::ir::regex::ascii_classes(pattern))
        .case_insensitive(case_insensitive)
        .build()
    {
        let text = error.to_string();
        let last = text.lines().last().unwrap_or("").trim();
        let last = last.strip_prefix("error: ").unwrap_or(last);
        return Some((format!("the regex does not compile: {last}"), None));
    }
    None
}

/// The byte offset of a `+` that makes the quantifier before it possessive
/// (`a*+`, `a?+`, `a{2}+`): Rust reads those as a repetition of a repetition,
/// PCRE as possessive, so the same text would mean two things.
fn possessive_at(pattern: &str) -> Option<usize> {
    let mut in_class = false;
    let mut previous_quantifier = false;
    let mut chars = pattern.char_indices().peekable();
    while let Some((index, character)) = chars.next() {
        match character {
            '\\' => {
                chars.next();
                previous_quantifier = false;
            }
            '[' if !in_class => {
                in_class = true;
                previous_quantifier = false;
            }
            ']' if in_class => in_class = false,
            _ if in_class => {}
            '+' if previous_quantifier => return Some(index),
            '*' | '+' | '}' => previous_quantifier = true,
            '?' => previous_quantifier = !pattern[..index].ends_with('('),
            _ => previous_quantifier = false,
        }
    }
    None
}

/// Checks a pattern given as text (an override); the reason when refused.
pub(crate) fn check_pattern(pattern: &str, case_insensitive: bool) -> Option<String> {
    problem(pattern, case_insensitive).map(|(text, _)| text)
}

/// Checks a regex literal; the diagnostic points into the literal when it can.
pub(crate) fn check_literal(regex: &ast::RegexLiteral) -> Option<Diagnostic> {
    let (text, range) = problem(&regex.pattern, regex.case_insensitive)?;
    // Offsets inside the pattern map onto the source only when no `\/` was unescaped.
    let span = match range {
        Some((start, end)) if !regex.pattern.contains('/') => {
            let base = regex.span.start as usize + 1;
            Span::new(regex.span.source, base + start, base + end.max(start + 1))
        }
        _ => regex.span,
    };
    let mut diagnostic = Diagnostic::new(Code::REGEX_SUBSET, text).primary(span, "here");
    if span != regex.span {
        diagnostic = diagnostic.secondary(regex.span, "in this regex");
    }
    Some(diagnostic.note(
        "every target engine must run the same pattern, so only constructs they all accept are allowed",
    ))
}

/// Lowers a regex literal or a `near(...)` to its pattern and flag; every
/// problem (each part checked at its own place, the gap, mixed flags) is
/// pushed and `None` returned. `list_flag` is the list's `case_insensitive`,
/// which makes every regex case-insensitive.
pub(crate) fn lower(
    literal: &ast::Literal,
    list_flag: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<crate::ir::Regex> {
    match literal {
        ast::Literal::Regex(regex) => {
            let regex = ast::RegexLiteral {
                case_insensitive: regex.case_insensitive || list_flag,
                ..regex.clone()
            };
            if let Some(diagnostic) = check_literal(&regex) {
                diagnostics.push(diagnostic);
                return None;
            }
            Some(crate::ir::Regex {
                pattern: regex.pattern,
                case_insensitive: regex.case_insensitive,
            })
        }
        ast::Literal::Near(near) => lower_near(near, list_flag, diagnostics),
        other => {
            diagnostics.push(
                Diagnostic::new(
                    Code::DECLARED_TYPE,
                    format!(
                        "`near` joins regexes, and this is a `{}`",
                        super::collect::literal_type_name(other)
                    ),
                )
                .primary(other.span(), "not a regex"),
            );
            None
        }
    }
}

fn lower_near(
    near: &ast::NearLiteral,
    list_flag: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<crate::ir::Regex> {
    let first = lower(&near.first, list_flag, diagnostics);
    let second = lower(&near.second, list_flag, diagnostics);
    let gap = u32::try_from(near.gap)
        .ok()
        .filter(|gap| i64::from(*gap) <= crate::ir::regex::MAX_NEAR_GAP);
    if gap.is_none() {
        diagnostics.push(
            Diagnostic::new(
                Code::INVALID_LITERAL,
                format!(
                    "the word gap of `near` must be from 0 to {}, not {}",
                    crate::ir::regex::MAX_NEAR_GAP,
                    near.gap
                ),
            )
            .primary(near.gap_span, "out of range")
            .note("every engine unrolls the gap, so a long one makes large automata; chain `near(near(a, b, n), c, m)` instead"),
        );
    }
    let (first, second, gap) = (first?, second?, gap?);
    if first.case_insensitive != second.case_insensitive {
        diagnostics.push(
            Diagnostic::new(
                Code::REGEX_SUBSET,
                "the parts of `near` differ in case: one is `/.../i` and the other is not",
            )
            .primary(near.span, "one regex with one case flag")
            .help("write `/i` on every part, or declare the list `case_insensitive`"),
        );
        return None;
    }
    let pattern = crate::ir::regex::near(&first.pattern, &second.pattern, gap);
    if let Some(text) = check_pattern(&pattern, first.case_insensitive) {
        diagnostics.push(
            Diagnostic::new(Code::REGEX_SUBSET, text)
                .primary(near.span, "this `near`")
                .note(format!("`near` expands to /{pattern}/")),
        );
        return None;
    }
    Some(crate::ir::Regex {
        pattern,
        case_insensitive: first.case_insensitive,
    })
}

#[cfg(test)]
mod tests {
    use super::check_pattern;

    #[test]
    fn refuses_what_some_engine_lacks() {
        assert!(check_pattern(r"\bAKIA[0-9A-Z]{16}\b", false).is_none());
        assert!(
            check_pattern("foo(?=bar)", false).is_some_and(|text| text.contains("look-around"))
        );
        assert!(
            check_pattern(r"(a)\1", false).is_some_and(|text| text.contains("back-references"))
        );
        assert!(check_pattern("a*+", false).is_some_and(|text| text.contains("possessive")));
        assert!(check_pattern("(?>a)", false).is_some_and(|text| text.contains("atomic")));
        assert!(check_pattern("a{5,2}", false).is_some());
    }

    #[test]
    fn sizes_are_those_of_the_ascii_meaning_the_evaluator_compiles() {
        // Unicode `\w` repeated 600 times is over the compiler's size limit;
        // the ASCII class the rule means is not.
        assert!(regex::Regex::new(r"\w{600}").is_err());
        assert!(check_pattern(r"\w{600}", true).is_none());
        // What is too large in its ASCII meaning is still refused.
        assert!(
            check_pattern("(?:[a-z]{1000}){1000}", false)
                .is_some_and(|text| text.contains("does not compile"))
        );
    }
}
