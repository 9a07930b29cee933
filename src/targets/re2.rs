//! The RE2-family regex writer: needles and Rust regexes as patterns for
//! engines of the RE2 family (RE2 itself, as in Kusto and DuckDB, and Java's
//! `java.util.regex`, as in Spark).
//!
//! Input: needles or a Rust regex from the IR and a [`Flavour`]. Output: a
//! pattern that searches exactly what the evaluator searches.
//! Case-insensitive needles are written as they are under RE2's own `(?i)`,
//! whose folding is the evaluator's (Unicode simple case folding); an engine
//! whose case-insensitive flag folds differently (Java's `(?iu)` also pairs
//! `ı` with `i`) gets explicit classes of every character's case variants.
//! Rust regexes are translated from their HIR with every class spelled out
//! as code-point ranges. The flavours differ only where the engines do: how
//! the end of the text is written (Java's `$` also matches before a final
//! line break), ASCII word boundaries (Java 17's `\b` is not ASCII) and
//! line anchors, class sizes, repeat limits and case folding.

use regex_syntax::ParserBuilder;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::ir::TextOp;
use crate::ir::regex::{
    ASCII_NOT_WORD_CLASS, ASCII_WORD_CLASS, Edge, ascii_classes, outer_word, take_edge_boundaries,
};
use crate::targets::lower::{self, NeedlePiece};

/// Where an RE2-family engine differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavour {
    /// The engine, for messages.
    pub name: &'static str,
    /// The end-of-text anchor.
    pub end: &'static str,
    /// The ASCII word boundary and its negation; none refuses them.
    pub word_boundary: Option<(&'static str, &'static str)>,
    /// Whether `(?m:^)` and `(?m:$)` mean what they mean in Rust.
    pub line_anchors: bool,
    /// The most ranges one translated character class may have.
    pub max_class_ranges: usize,
    /// The largest counted repetition.
    pub max_repeat: u32,
    /// Whether the engine's `(?i)` folds as the evaluator does (Unicode
    /// simple case folding); otherwise case variants are spelled out.
    pub simple_case_folding: bool,
    /// Whether the engine's `(?i)` pairs ASCII letters only (Java without
    /// `u`): the pattern goes under `(?i)` with each ASCII letter as itself
    /// and only the non-ASCII members of its orbit written beside it
    /// (`[k\x{212A}]`, `[s\x{17F}]`). Ignored when `simple_case_folding`.
    pub ascii_case_flag: bool,
    /// Whether the engine's `\w` and `\W` are ASCII (RE2's are), so a
    /// folded word class may be written with them; otherwise classes are
    /// spelled out (Sigma: Rust's and Java's `\w` are not always ASCII).
    pub ascii_perl_classes: bool,
    /// Whether a folded negated class that holds the line feed writes it
    /// beside the negation (`(?:\n|[^...])`), for engines run with RE2's
    /// `never_nl`, which leaves it out of negated classes.
    pub line_feed_beside_negation: bool,
}

/// RE2 (Kusto, DuckDB). RE2's `(?i)` matches a character with every
/// character of its orbit under Unicode simple case folding (`k`, `K` and
/// the Kelvin sign; the case folding tables of `re2/unicode_casefold.h`,
/// https://hackage.haskell.org/package/Z-Data-0.5.0.0/candidate/src/third_party/re2/re2/unicode_casefold.h),
/// the evaluator's folding. Kusto's regexes are RE2
/// (https://learn.microsoft.com/en-us/azure/data-explorer/kusto/query/re2),
/// and so are DuckDB's
/// (https://duckdb.org/docs/stable/sql/functions/regular_expressions).
pub const RE2: Flavour = Flavour {
    name: "RE2",
    end: "$",
    word_boundary: Some(("\\b", "\\B")),
    line_anchors: true,
    max_class_ranges: 64,
    max_repeat: 1000,
    simple_case_folding: true,
    ascii_case_flag: false,
    ascii_perl_classes: true,
    line_feed_beside_negation: true,
};

/// RE2 as DuckDB runs it: the same syntax, with whole Unicode classes spelled out.
pub const RE2_WIDE: Flavour = Flavour {
    max_class_ranges: 2000,
    ..RE2
};

/// The RE2 syntax with the word boundary spelled out at the pattern's ends
/// (Sigma: its backends' engines do not share one `\b`) and no inline
/// multi-line group (Sigma's `|m` is for a whole pattern).
pub const RE2_NO_BOUNDARY: Flavour = Flavour {
    name: "Sigma",
    word_boundary: None,
    line_anchors: false,
    simple_case_folding: false,
    ascii_perl_classes: false,
    line_feed_beside_negation: false,
    ..RE2
};

/// The Sigma syntax of [`RE2_NO_BOUNDARY`] for a pattern under `|re|i`,
/// whose engines fold as the evaluator does (Unicode simple case folding,
/// as rsigma's Rust regex): each fold-closed class is written by one member
/// per orbit (`ignore`, not `[Ii][Gg]...`), and a negated class keeps the
/// long s and the Kelvin sign out, since the flag would pair them with `s`
/// and `k`. The caller checks that the flag gives back the evaluator's
/// classes before using it.
pub const RE2_NO_BOUNDARY_FOLDED: Flavour = Flavour {
    simple_case_folding: true,
    ..RE2_NO_BOUNDARY
};

/// The RE2 syntax with case variants spelled out (Sigma: its backends'
/// engines do not share one case-insensitive flag).
pub const RE2_CASE_CLASSES: Flavour = Flavour {
    simple_case_folding: false,
    ..RE2
};

/// `java.util.regex` (Spark's `rlike` and `regexp`). Java's `(?i)` without
/// `u` (`CASE_INSENSITIVE` without `UNICODE_CASE`) pairs the US-ASCII letters
/// only and compares every other character exactly
/// (https://docs.oracle.com/en/java/javase/17/docs/api/java.base/java/util/regex/Pattern.html#CASE_INSENSITIVE,
/// https://rules.sonarsource.com/java/RSPEC-5866/); `(?iu)` would pair `ı`
/// with `i` and `İ` with `i`, which the evaluator's folding does not. Under
/// simple case folding the only non-ASCII characters in an ASCII letter's
/// orbit are the Kelvin sign (with `k`) and the long s (with `s`), so
/// `(?i)` with those two written beside their letter is exact.
pub const JAVA: Flavour = Flavour {
    name: "Java",
    end: "\\z",
    word_boundary: Some((
        "(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))",
        "(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))",
    )),
    line_anchors: false,
    max_class_ranges: 2000,
    max_repeat: 100_000,
    simple_case_folding: false,
    ascii_case_flag: true,
    ascii_perl_classes: true,
    line_feed_beside_negation: false,
};

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

fn push_case_class(out: &mut String, character: char) {
    push_members(out, lower::case_class(character));
}

/// The members of `character`'s orbit that an ASCII-only `(?i)` does not
/// already pair with another: the orbit without its ASCII capitals (each
/// has its lowercase letter in the orbit). `k` gives `k` and the Kelvin
/// sign, `É` gives `É` and `é`, `A` gives `a`.
fn ascii_flag_members(character: char) -> Vec<char> {
    let orbit = lower::case_class(character);
    orbit
        .iter()
        .copied()
        .filter(|member| {
            !(member.is_ascii_uppercase() && orbit.contains(&member.to_ascii_lowercase()))
        })
        .collect()
}

fn push_members(out: &mut String, members: Vec<char>) {
    if let [single] = members.as_slice() {
        push_literal(out, *single);
    } else {
        out.push('[');
        for member in members {
            push_class_member(out, member);
        }
        out.push(']');
    }
}

/// How a needle's letters are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Letters {
    /// As they are (case-sensitive, or under a flag that folds as the evaluator).
    Literal,
    /// Each as the class of its orbit.
    Classes,
    /// For an ASCII-only `(?i)`: ASCII letters as their lowercase, the
    /// non-ASCII members of an orbit written beside them.
    AsciiFlag,
}

/// The body of an RE2 pattern (no anchors) that matches a needle as the
/// evaluator compares it: exact; case-insensitive through explicit classes
/// when `case_classes`, otherwise literally (for a pattern under `(?i)`);
/// whitespace runs as `[\t-\r ]+` when folding.
pub fn needle_pattern(needle: &str, case_classes: bool, fold_whitespace: bool) -> String {
    let letters = if case_classes {
        Letters::Classes
    } else {
        Letters::Literal
    };
    written_needle(needle, letters, fold_whitespace)
}

fn written_needle(needle: &str, letters: Letters, fold_whitespace: bool) -> String {
    let mut out = String::new();
    for piece in lower::needle_pieces(needle, fold_whitespace) {
        match (piece, letters) {
            // The whitespace the evaluator folds is 9..=13 and the space.
            (NeedlePiece::SpaceRun, _) => out.push_str("[\\x{9}-\\x{D} ]+"),
            (NeedlePiece::Char(character), Letters::Classes) => {
                push_case_class(&mut out, character);
            }
            (NeedlePiece::Char(character), Letters::AsciiFlag) => {
                push_members(&mut out, ascii_flag_members(character));
            }
            (NeedlePiece::Char(character), Letters::Literal) => push_literal(&mut out, character),
        }
    }
    out
}

/// An RE2 search pattern for a text operator over several needles.
pub fn needles_regex(
    flavour: &Flavour,
    needles: &[String],
    op: TextOp,
    case_sensitive: bool,
    fold_whitespace: bool,
) -> Result<String, String> {
    // Under `(?i)` only needles with case variants need it.
    let folds = flavour.simple_case_folding || flavour.ascii_case_flag;
    let flag = !case_sensitive && folds && needles.iter().any(|needle| !lower::caseless(needle));
    let letters = if case_sensitive || flavour.simple_case_folding {
        Letters::Literal
    } else if flavour.ascii_case_flag {
        Letters::AsciiFlag
    } else {
        Letters::Classes
    };
    let bodies: Vec<String> = needles
        .iter()
        .map(|needle| written_needle(needle, letters, fold_whitespace))
        .collect();
    let alternation = format!("(?:{})", bodies.join("|"));
    let anchored = match op {
        TextOp::Equals => format!("^{alternation}{}", flavour.end),
        TextOp::Contains => alternation,
        TextOp::StartsWith => format!("^{alternation}"),
        TextOp::EndsWith => format!("{alternation}{}", flavour.end),
    };
    Ok(if flag {
        format!("(?i){anchored}")
    } else {
        anchored
    })
}

/// An RE2 pattern that searches exactly what the Rust regex searches.
pub fn search_regex(
    flavour: &Flavour,
    pattern: &str,
    case_insensitive: bool,
) -> Result<String, String> {
    let hir = ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .build()
        .parse(&ascii_classes(pattern))
        .map_err(|error| format!("does not parse: {error}"))?;
    if case_insensitive
        && flavour.simple_case_folding
        && flavour.word_boundary.is_some()
        && fold_closed(&hir)
    {
        // The engine's `(?i)` folds as the evaluator does, classes included
        // (RE2's parser folds a class's ranges before negating it, as
        // regex-syntax does: `ParseCharClass` in re2/parse.cc), so the
        // pattern is written under `(?i)` with each letter's orbit as the
        // letter: `(?i)ignore` rather than `[Ii][Gg][Nn][Oo][Rr][Ee]`.
        return Ok(format!("(?i){}", translate(flavour, &hir, true)?));
    }
    if case_insensitive
        && flavour.ascii_case_flag
        && flavour.word_boundary.is_some()
        && fold_closed(&hir)
    {
        // Every class of `hir` is closed under simple case folding, so an
        // ASCII-only `(?i)` adds nothing to it; small classes drop the ASCII
        // capitals the flag pairs with their lowercase: `(?i)li[s\x{17F}]t`
        // rather than `[Ll][Ii][Ss\x{17F}][Tt]`.
        return Ok(format!("(?i){}", translate(flavour, &hir, true)?));
    }
    if flavour.word_boundary.is_some() {
        return translate(flavour, &hir, false);
    }
    // No `\b` in the engine: a boundary at either end of the pattern becomes
    // the character (or text edge) it requires beside the match, which a
    // search may consume without changing whether the text matches.
    let mut items: Vec<&Hir> = match hir.kind() {
        HirKind::Concat(items) => items.iter().collect(),
        _ => vec![&hir],
    };
    let mut prefix = String::new();
    let mut suffix = String::new();
    let (first, last) = take_edge_boundaries(&mut items);
    if let Some((negated, inner)) = first {
        prefix = spelled_boundary(flavour, negated, inner, Edge::First)?;
    }
    if let Some((negated, inner)) = last {
        suffix = spelled_boundary(flavour, negated, inner, Edge::Last)?;
    }
    // A flavour that folds as the evaluator, under a flag its caller sets
    // (Sigma's `|i`), writes fold-closed classes by their representatives.
    let folded = case_insensitive && flavour.simple_case_folding && fold_closed(&hir);
    let mut body = String::new();
    for item in items {
        body.push_str(&translate(flavour, item, folded)?);
    }
    Ok(format!("{prefix}{body}{suffix}"))
}

/// What stands for a `\b` (`\B` when `negated`) before (after) the match,
/// given the kind of the match's first (last) character.
fn spelled_boundary(
    flavour: &Flavour,
    negated: bool,
    inner_word: Option<bool>,
    edge: Edge,
) -> Result<String, String> {
    let Some(outer_word) = outer_word(negated, inner_word) else {
        return Err(format!(
            "a word boundary beside text that may or may not start with a word character has no {} spelling",
            flavour.name
        ));
    };
    Ok(match (outer_word, edge) {
        (true, _) => ASCII_WORD_CLASS.to_string(),
        (false, Edge::First) => format!("(?:^|{ASCII_NOT_WORD_CLASS})"),
        (false, Edge::Last) => format!("(?:{}|{ASCII_NOT_WORD_CLASS})", flavour.end),
    })
}

/// The pattern for `hir`; under `folded` it is printed for a pattern under
/// RE2's `(?i)`, and every class of `hir` is closed under simple case folding
/// (as a case-insensitive parse makes it), so the engine's folding adds
/// nothing to it.
fn translate(flavour: &Flavour, hir: &Hir, folded: bool) -> Result<String, String> {
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
            if ranges.len() > flavour.max_class_ranges {
                return Err(format!(
                    "a character class with {} ranges (such as a Unicode property) exceeds the {} ranges spelled out",
                    ranges.len(),
                    flavour.max_class_ranges
                ));
            }
            let shorter = |ranges: &[(char, char)]| {
                if flavour.simple_case_folding {
                    folded_class(ranges, flavour)
                } else {
                    ascii_folded_class(ranges)
                }
            };
            if let Some(written) = folded.then(|| shorter(&ranges)).flatten() {
                return Ok(written);
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
            Look::End => Ok(flavour.end.to_string()),
            Look::StartLF if flavour.line_anchors => Ok("(?m:^)".to_string()),
            Look::EndLF if flavour.line_anchors => Ok("(?m:$)".to_string()),
            Look::WordAscii | Look::WordAsciiNegate => match flavour.word_boundary {
                Some((boundary, negated)) => Ok(if *look == Look::WordAscii {
                    boundary.to_string()
                } else {
                    negated.to_string()
                }),
                None => Err(format!("{} has no ASCII word boundary", flavour.name)),
            },
            other => Err(format!(
                "the assertion {other:?} has no {} form",
                flavour.name
            )),
        },
        HirKind::Repetition(repetition) => {
            let inner = translate(flavour, &repetition.sub, folded)?;
            let inner = if is_atom(&repetition.sub) {
                inner
            } else {
                format!("(?:{inner})")
            };
            let quantifier = match (repetition.min, repetition.max) {
                (0, None) => "*".to_string(),
                (1, None) => "+".to_string(),
                (0, Some(1)) => "?".to_string(),
                (min, _) if min > flavour.max_repeat => {
                    return Err(format!(
                        "a repetition of {min} exceeds {}'s {}",
                        flavour.name, flavour.max_repeat
                    ));
                }
                (_, Some(max)) if max > flavour.max_repeat => {
                    return Err(format!(
                        "a repetition of {max} exceeds {}'s {}",
                        flavour.name, flavour.max_repeat
                    ));
                }
                (min, None) => format!("{{{min},}}"),
                (min, Some(max)) if min == max => format!("{{{min}}}"),
                (min, Some(max)) => format!("{{{min},{max}}}"),
            };
            let lazy = if repetition.greedy { "" } else { "?" };
            Ok(format!("{inner}{quantifier}{lazy}"))
        }
        HirKind::Capture(capture) => {
            let inner = translate(flavour, &capture.sub, folded)?;
            if matches!(capture.sub.kind(), HirKind::Alternation(_)) {
                // Already in a group of its own.
                Ok(inner)
            } else {
                Ok(format!("(?:{inner})"))
            }
        }
        HirKind::Concat(parts) => {
            // An alternation is already written in its own group (below).
            let mut out = String::new();
            for part in parts {
                out.push_str(&translate(flavour, part, folded)?);
            }
            Ok(out)
        }
        HirKind::Alternation(branches) => {
            let mut texts = Vec::new();
            for branch in branches {
                texts.push(translate(flavour, branch, folded)?);
            }
            Ok(format!("(?:{})", texts.join("|")))
        }
    }
}

/// A shorter spelling of a fold-closed class under `(?i)`: one letter's
/// whole orbit is the letter, and a class that holds both ends of the code
/// space is the negation of the rest. `[^...]` under `(?i)` negates the
/// folded rest, which is the rest itself (the complement of a fold-closed
/// set is fold-closed). A line feed in the class is written out beside the
/// negation, since an engine run with RE2's `never_nl` leaves it out of
/// negated classes.
fn folded_class(ranges: &[(char, char)], flavour: &Flavour) -> Option<String> {
    let ascii_perl_classes = flavour.ascii_perl_classes;
    let size: u32 = ranges
        .iter()
        .map(|(start, end)| *end as u32 - *start as u32 + 1)
        .sum();
    // RE2 folds a Perl class under `(?i)` as any other class, and negates
    // `\W` after folding (`AddUGroup` in re2/parse.cc).
    if ascii_perl_classes && ranges == FOLDED_WORD {
        return Some("\\w".to_string());
    }
    if size <= 128 {
        // One character per orbit (its ASCII lower case where it has one):
        // `(?i)[sz]` is the class `[SZsz\x{17F}]`.
        let members: Vec<char> = ranges
            .iter()
            .flat_map(|(start, end)| *start..=*end)
            .collect();
        let representative = |member: char| {
            let orbit = lower::case_class(member);
            orbit
                .iter()
                .copied()
                .find(char::is_ascii_lowercase)
                .or_else(|| orbit.iter().copied().min())
                .unwrap_or(member)
        };
        let picked: Vec<char> = members
            .iter()
            .copied()
            .filter(|member| representative(*member) == *member)
            .collect();
        if picked.len() == members.len() {
            return None;
        }
        return Some(compressed_class(&picked));
    }
    let (first, last) = (ranges.first()?, ranges.last()?);
    if first.0 != '\0' || last.1 != char::MAX {
        return None;
    }
    let mut rest: Vec<(char, char)> = Vec::new();
    for pair in ranges.windows(2) {
        // The gap between two ranges, without the surrogates that no class holds.
        let mut start = pair[0].1 as u32 + 1;
        let mut end = pair[1].0 as u32 - 1;
        if (0xD800..=0xDFFF).contains(&start) {
            start = 0xE000;
        }
        if (0xD800..=0xDFFF).contains(&end) {
            end = 0xD7FF;
        }
        let (Some(start), Some(end)) = (char::from_u32(start), char::from_u32(end)) else {
            continue;
        };
        if start > end {
            continue;
        }
        rest.push((start, end));
    }
    let line_feed = ranges
        .iter()
        .any(|(start, end)| *start <= '\n' && '\n' <= *end);
    let mut out = if ascii_perl_classes && rest == FOLDED_WORD {
        "\\W".to_string()
    } else {
        let mut out = String::from("[^");
        for (start, end) in rest {
            push_class_member(&mut out, start);
            if end != start {
                out.push('-');
                push_class_member(&mut out, end);
            }
        }
        out.push(']');
        out
    };
    if line_feed && flavour.line_feed_beside_negation {
        out = format!("(?:\\n|{out})");
    }
    Some(out)
}

/// A shorter spelling of a small fold-closed class under an ASCII-only
/// `(?i)`: without the ASCII capitals (the flag pairs each with its
/// lowercase letter, which a fold-closed class holds), a single member as a
/// literal: `[Kk\x{212A}]` is `[k\x{212A}]`, `[Aa]` is `a`.
fn ascii_folded_class(ranges: &[(char, char)]) -> Option<String> {
    let size: u32 = ranges
        .iter()
        .map(|(start, end)| *end as u32 - *start as u32 + 1)
        .sum();
    if size > 128 {
        // A class holding both ends of the code space is the negation of the
        // rest, itself fold-closed; Java applies `(?i)` to a class's members
        // before negating it, so the rest loses its ASCII capitals too:
        // `\W` under `(?i)` is `[^0-9_a-z\x{17F}\x{212A}]`.
        let (first, last) = (ranges.first()?, ranges.last()?);
        if first.0 != '\0' || last.1 != char::MAX {
            return None;
        }
        let mut rest: Vec<char> = Vec::new();
        for pair in ranges.windows(2) {
            let (start, end) = (pair[0].1 as u32 + 1, pair[1].0 as u32);
            if end - start > 128 || rest.len() > 128 {
                return None;
            }
            rest.extend((start..end).filter_map(char::from_u32));
        }
        let picked: Vec<char> = rest
            .iter()
            .copied()
            .filter(|member| {
                !(member.is_ascii_uppercase() && rest.contains(&member.to_ascii_lowercase()))
            })
            .collect();
        if picked.is_empty() {
            return None;
        }
        let listed = compressed_class(&picked);
        let inner = listed
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(&listed);
        return Some(format!("[^{inner}]"));
    }
    let members: Vec<char> = ranges
        .iter()
        .flat_map(|(start, end)| *start..=*end)
        .collect();
    let picked: Vec<char> = members
        .iter()
        .copied()
        .filter(|member| {
            !(member.is_ascii_uppercase() && members.contains(&member.to_ascii_lowercase()))
        })
        .collect();
    if picked.len() == members.len() {
        return None;
    }
    Some(compressed_class(&picked))
}

/// Sorted distinct characters as a literal (one) or a class with runs as ranges.
fn compressed_class(picked: &[char]) -> String {
    let mut out = String::new();
    if let [single] = picked {
        push_literal(&mut out, *single);
        return out;
    }
    out.push('[');
    let mut index = 0;
    while index < picked.len() {
        let mut end = index;
        while end + 1 < picked.len() && picked[end + 1] as u32 == picked[end] as u32 + 1 {
            end += 1;
        }
        push_class_member(&mut out, picked[index]);
        if end > index {
            out.push('-');
            push_class_member(&mut out, picked[end]);
        }
        index = end + 1;
    }
    out.push(']');
    out
}

/// Whether RE2's `(?i)` leaves every character and class of `hir` as it is:
/// not so where the pattern turns case folding off for a part (`(?-i:K)`).
pub(crate) fn fold_closed(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Literal(literal) => std::str::from_utf8(&literal.0)
            .map(|text| text.chars().all(|c| lower::case_class(c).len() == 1))
            .unwrap_or(false),
        HirKind::Class(Class::Unicode(class)) => {
            let mut folded = class.clone();
            folded.case_fold_simple();
            folded == *class
        }
        HirKind::Class(Class::Bytes(_)) => false,
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Repetition(repetition) => fold_closed(&repetition.sub),
        HirKind::Capture(capture) => fold_closed(&capture.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => parts.iter().all(fold_closed),
    }
}

/// One character per case orbit of a small fold-closed class (its ASCII
/// lower case where it has one), when that is fewer characters than the
/// class: `[sz]` for `[SZsz\x{17F}]`.
pub(crate) fn orbit_representatives(ranges: &[(char, char)]) -> Option<Vec<char>> {
    let size: u32 = ranges
        .iter()
        .map(|(start, end)| *end as u32 - *start as u32 + 1)
        .sum();
    if size > 128 {
        return None;
    }
    let members: Vec<char> = ranges
        .iter()
        .flat_map(|(start, end)| *start..=*end)
        .collect();
    let picked: Vec<char> = members
        .iter()
        .copied()
        .filter(|member| {
            let orbit = lower::case_class(*member);
            let representative = orbit
                .iter()
                .copied()
                .find(char::is_ascii_lowercase)
                .or_else(|| orbit.iter().copied().min())
                .unwrap_or(*member);
            representative == *member
        })
        .collect();
    (picked.len() < members.len()).then_some(picked)
}

/// The ASCII word characters folded: with the long s and the Kelvin sign.
const FOLDED_WORD: &[(char, char)] = &[
    ('0', '9'),
    ('A', 'Z'),
    ('_', '_'),
    ('a', 'z'),
    ('\u{17F}', '\u{17F}'),
    ('\u{212A}', '\u{212A}'),
];

fn is_atom(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Class(_) | HirKind::Capture(_) | HirKind::Alternation(_) => true,
        HirKind::Literal(literal) => std::str::from_utf8(&literal.0)
            .map(|text| text.chars().count() == 1)
            .unwrap_or(false),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
