//! Syntax: rule text to AST.
//!
//! Input: one file's text and its [`SourceId`]. Output: an [`ast::File`] and the
//! syntax diagnostics (E01xx). `pest::Pair` never leaves this module: the
//! grammar (`grammar/tripline.pest`) is walked here into AST nodes that carry
//! spans, and pest's errors are rewritten into words in `errors.rs`.

pub mod ast;
mod build;
mod errors;

use pest::Parser as _;

use crate::diagnostics::Diagnostic;
use crate::source::SourceId;

/// The words of rule clauses and of expression operators: after each, an
/// operand follows (so the formatter reads `/` after one as a regex and `-`
/// as a sign). With the declaration words of `errors`, they are the
/// language's keywords for did-you-mean.
pub(crate) const OPERATOR_WORDS: &[&str] = &[
    "match",
    "where",
    "group",
    "by",
    "each",
    "within",
    "alert",
    "when",
    "sequence",
    "repeat",
    "new",
    "for",
    "lookback",
    "cluster",
    "similarity",
    "and",
    "or",
    "not",
    "in",
    "in_cs",
    "exists",
    "min_length",
    "one_of",
    "matches",
    "matches_any",
    "contains",
    "contains_cs",
    "startswith",
    "startswith_cs",
    "endswith",
    "endswith_cs",
    "has_any",
    "has_any_cs",
    "startswith_any",
    "startswith_any_cs",
    "endswith_any",
    "endswith_any_cs",
    "every",
    "show",
    "as",
    "top",
];

#[derive(pest_derive::Parser)]
#[grammar = "grammar/tripline.pest"]
struct TriplineParser;

/// Parses one file. On a syntax error the file is empty and the diagnostic
/// says where and what was expected; later stages then see no declarations
/// from this file, so no cascade follows.
pub fn parse(text: &str, source: SourceId) -> (ast::File, Vec<Diagnostic>) {
    // Collects the literal tokens expected at a failure, so errors can name them.
    pest::set_error_detail(true);
    match TriplineParser::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let Some(file_pair) = pairs.next() else {
                return (ast::File::default(), Vec::new());
            };
            let mut builder = build::Builder::new(text, source);
            let file = builder.file(file_pair);
            let mut diagnostics = builder.into_diagnostics();
            if file.declarations.is_empty() && diagnostics.is_empty() {
                diagnostics.push(empty_file(text, source));
            }
            (file, diagnostics)
        }
        Err(error) => (
            ast::File::default(),
            vec![errors::rewrite(&error, text, source)],
        ),
    }
}

/// W0005: a file that parses but declares nothing (empty, or comments only)
/// is most likely a rule that was never written or whose text was lost.
fn empty_file(text: &str, source: SourceId) -> Diagnostic {
    let message = if text.trim().is_empty() {
        "the file is empty"
    } else {
        "the file holds only comments"
    };
    Diagnostic::new(
        crate::diagnostics::Code::EMPTY_FILE,
        "the file declares nothing",
    )
    .primary(
        crate::source::Span {
            source,
            start: 0,
            end: 0,
        },
        message,
    )
    .note("no rule, event type, list, lookup, parameter or playbook is declared in it")
    .help("write a declaration here, or delete the file")
}

/// Parses a duration as the language writes it (`500ms`, `90s`, `10m`, `1h`,
/// `7d`, `2w`) into milliseconds; `None` when it is not one or overflows.
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(digits_end);
    let scale: i64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    digits.parse::<i64>().ok()?.checked_mul(scale)
}

#[cfg(test)]
mod tests;
