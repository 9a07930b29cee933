//! The language's regex classes are ASCII.
//!
//! A rule's regex is written in Rust `regex` syntax, whose `\d`, `\w`, `\s`
//! and `\b` are Unicode-aware. RE2, PCRE (without UCP) and Java read the same
//! escapes as ASCII, so the language defines them as ASCII, the way every
//! SIEM runs them: `\d` is `[0-9]`, `\w` is `[0-9A-Za-z_]`, `\s` is
//! `[\t\n\v\f\r ]` and `\b` is the boundary between an ASCII word character
//! and anything else (or the text's ends). [`ascii_classes`] rewrites a
//! pattern into the Rust spelling of that meaning, which the evaluator
//! compiles and the target translators parse; the pattern as written stays
//! in the IR for messages.

use regex_syntax::ast::{self, AssertionKind, Ast, ClassPerlKind, ClassSetItem, Visitor};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The pattern with every Perl class and word-boundary assertion replaced by
/// its ASCII form (POSIX classes and `(?-u:...)` assertions). A pattern that
/// does not parse is returned as it is, for the compiler to report.
pub fn ascii_classes(pattern: &str) -> String {
    let Ok(parsed) = ast::parse::Parser::new().parse(pattern) else {
        return pattern.to_string();
    };
    let walk = Edits {
        pattern,
        edits: Vec::new(),
    };
    let Ok(mut edits) = ast::visit(&parsed, walk).map(|walk| walk.edits) else {
        return pattern.to_string();
    };
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.0));
    let mut out = pattern.to_string();
    for (start, end, replacement) in edits {
        out.replace_range(start..end, &replacement);
    }
    out
}

/// Replacements by byte range, collected by the AST walk.
struct Edits<'p> {
    pattern: &'p str,
    edits: Vec<(usize, usize, String)>,
}

fn posix_name(kind: &ClassPerlKind) -> &'static str {
    match kind {
        ClassPerlKind::Digit => "digit",
        ClassPerlKind::Word => "word",
        ClassPerlKind::Space => "space",
    }
}

impl Visitor for Edits<'_> {
    type Output = Self;
    type Err = ();

    fn finish(self) -> Result<Self, ()> {
        Ok(self)
    }

    fn visit_pre(&mut self, ast: &Ast) -> Result<(), ()> {
        match ast {
            Ast::ClassPerl(class) => {
                let caret = if class.negated { "^" } else { "" };
                self.edits.push((
                    class.span.start.offset,
                    class.span.end.offset,
                    format!("[[:{caret}{}:]]", posix_name(&class.kind)),
                ));
            }
            Ast::Assertion(assertion)
                if !matches!(
                    assertion.kind,
                    AssertionKind::StartLine
                        | AssertionKind::EndLine
                        | AssertionKind::StartText
                        | AssertionKind::EndText
                ) =>
            {
                // A word-boundary assertion as written, in ASCII mode.
                let (start, end) = (assertion.span.start.offset, assertion.span.end.offset);
                let written = &self.pattern[start..end];
                self.edits.push((start, end, format!("(?-u:{written})")));
            }
            _ => {}
        }
        Ok(())
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), ()> {
        if let ClassSetItem::Perl(class) = item {
            let caret = if class.negated { "^" } else { "" };
            self.edits.push((
                class.span.start.offset,
                class.span.end.offset,
                format!("[:{caret}{}:]", posix_name(&class.kind)),
            ));
        }
        Ok(())
    }
}

/// The most words `near(A, B, N)` may allow between its parts: the gap is
/// a counted repetition that every engine unrolls (Lucene into automaton
/// states, PCRE into a bounded backtracking loop), so it stays small.
pub const MAX_NEAR_GAP: i64 = 20;

/// The pattern of `near(first, second, gap)`: `first`, then at least one
/// non-word character, then at most `gap` words each followed by non-word
/// characters, then `second`. Word and non-word are the ASCII classes, and
/// `\w+` and `\W+` never overlap, so a backtracking engine tries each gap
/// in one way only and the search stays linear in the text for a fixed gap.
pub fn near(first: &str, second: &str, gap: u32) -> String {
    if gap == 0 {
        format!(r"(?:{first})\W+(?:{second})")
    } else {
        format!(r"(?:{first})\W+(?:\w+\W+){{0,{gap}}}(?:{second})")
    }
}

/// `Some(negated)` for the language's ASCII `\b` (false) and `\B` (true).
pub fn word_boundary(hir: &Hir) -> Option<bool> {
    match hir.kind() {
        HirKind::Look(Look::WordAscii) => Some(false),
        HirKind::Look(Look::WordAsciiNegate) => Some(true),
        _ => None,
    }
}

/// One end of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The first character.
    First,
    /// The last character.
    Last,
}

/// Whether every character that can stand at one edge of a match of `hir`
/// is an ASCII word character (`Some(true)`) or none is (`Some(false)`);
/// `None` when that is mixed or the match can be empty.
pub fn edge_kind(hir: &Hir, edge: Edge) -> Option<bool> {
    if hir
        .properties()
        .minimum_len()
        .is_none_or(|length| length == 0)
    {
        return None;
    }
    let is_word = |character: char| character.is_ascii_alphanumeric() || character == '_';
    match hir.kind() {
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0).ok()?;
            let character = match edge {
                Edge::First => text.chars().next()?,
                Edge::Last => text.chars().next_back()?,
            };
            Some(is_word(character))
        }
        HirKind::Class(Class::Unicode(class)) => {
            const WORD: [(char, char); 4] = [('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
            let inside = |start: char, end: char| {
                WORD.iter().any(|(low, high)| *low <= start && end <= *high)
            };
            let overlaps = |start: char, end: char| {
                WORD.iter().any(|(low, high)| start <= *high && *low <= end)
            };
            let ranges = class.ranges();
            if ranges
                .iter()
                .all(|range| inside(range.start(), range.end()))
            {
                Some(true)
            } else if ranges
                .iter()
                .all(|range| !overlaps(range.start(), range.end()))
            {
                Some(false)
            } else {
                None
            }
        }
        HirKind::Repetition(repetition) => edge_kind(&repetition.sub, edge),
        HirKind::Capture(capture) => edge_kind(&capture.sub, edge),
        HirKind::Concat(items) => {
            let item = match edge {
                Edge::First => items.first()?,
                Edge::Last => items.last()?,
            };
            edge_kind(item, edge)
        }
        HirKind::Alternation(branches) => {
            let first = edge_kind(branches.first()?, edge)?;
            branches
                .iter()
                .all(|branch| edge_kind(branch, edge) == Some(first))
                .then_some(first)
        }
        _ => None,
    }
}

/// A word boundary at one end of a pattern: whether it is `\B`, and the
/// kind of the character beside it inside the match (see [`edge_kind`]).
pub type EdgeBoundary = (bool, Option<bool>);

/// The ASCII word characters, and everything else, as a bracket class in
/// the syntax RE2, Java and Lucene share.
pub const ASCII_WORD_CLASS: &str = "[0-9A-Z_a-z]";
/// See [`ASCII_WORD_CLASS`].
pub const ASCII_NOT_WORD_CLASS: &str = "[^0-9A-Z_a-z]";

/// For an engine without `\b`: whether the character outside a match must
/// be a word character for a `\b` (`\B` when `negated`) to hold at that
/// edge, given the kind of the match's own edge character (exactly one of
/// "a boundary" and "the inner character is a word character" holds);
/// `None` when the inner kind is mixed, where no spelling exists. A
/// non-word outer character may also be the text's edge.
pub fn outer_word(negated: bool, inner_word: Option<bool>) -> Option<bool> {
    inner_word.map(|inner| negated == inner)
}

/// Takes a `\b`/`\B` off each end of a concatenation's items (when something
/// follows or precedes it), for engines that must spell boundaries out.
pub fn take_edge_boundaries(items: &mut Vec<&Hir>) -> (Option<EdgeBoundary>, Option<EdgeBoundary>) {
    let mut first = None;
    let mut last = None;
    if let [head, next, ..] = items.as_slice()
        && let Some(negated) = word_boundary(head)
    {
        first = Some((negated, edge_kind(next, Edge::First)));
        items.remove(0);
    }
    if let [.., before, tail] = items.as_slice()
        && let Some(negated) = word_boundary(tail)
    {
        last = Some((negated, edge_kind(before, Edge::Last)));
        items.pop();
    }
    (first, last)
}

#[cfg(test)]
mod tests {
    use super::{ascii_classes, near};

    #[test]
    fn near_allows_at_most_the_gap_in_words() {
        assert_eq!(
            near("ignore", "instructions", 3),
            r"(?:ignore)\W+(?:\w+\W+){0,3}(?:instructions)"
        );
        assert_eq!(near("a", "b", 0), r"(?:a)\W+(?:b)");
        let gap = |text: &str| {
            regex::Regex::new(&ascii_classes(&near("ignore", "instructions", 2)))
                .unwrap()
                .is_match(text)
        };
        assert!(gap("ignore instructions"));
        assert!(gap("ignore all previous instructions"));
        assert!(gap("ignore, then: the instructions!"));
        assert!(!gap("ignore all of the previous instructions"));
        assert!(!gap("ignoreinstructions"));
        // `é` is no word character, so it separates words as the space does.
        assert!(gap("ignore é instructions"));
    }

    #[test]
    fn perl_classes_and_boundaries_become_ascii() {
        assert_eq!(
            ascii_classes(r"\b\d{3}-\d{2}-\d{4}\b"),
            r"(?-u:\b)[[:digit:]]{3}-[[:digit:]]{2}-[[:digit:]]{4}(?-u:\b)"
        );
        assert_eq!(
            ascii_classes(r"\W+\S\B"),
            r"[[:^word:]]+[[:^space:]](?-u:\B)"
        );
        assert_eq!(ascii_classes(r"[\d_.][^\s]"), r"[[:digit:]_.][^[:space:]]");
        assert_eq!(ascii_classes(r"^a\\d$"), r"^a\\d$");
        assert_eq!(ascii_classes(r"(?i)x\py"), r"(?i)x\py");
    }

    #[test]
    fn the_rewrite_means_ascii() {
        let ascii = |pattern: &str| regex::Regex::new(&ascii_classes(pattern)).unwrap();
        // Arabic-Indic three and a non-breaking space are not `\d` and `\s`.
        assert!(!ascii(r"\d").is_match("\u{663}"));
        assert!(!ascii(r"a\sb").is_match("a\u{A0}b"));
        assert!(ascii(r"a\sb").is_match("a\u{B}b"));
        // `é` is not a word character, so a key right after it starts at a boundary.
        assert!(ascii(r"\bAKIA\b").is_match("éAKIA"));
        assert!(!regex::Regex::new(r"\bAKIA\b").unwrap().is_match("éAKIA"));
        assert!(ascii(r"\W").is_match("é"));
        assert!(!ascii(r"\w").is_match("é"));
    }
}
