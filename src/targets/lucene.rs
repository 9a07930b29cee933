//! The Lucene regular expressions Elasticsearch runs: EQL's `regex`
//! operator and ES|QL's `RLIKE` both hand their pattern to Lucene's
//! `RegExp`, so `elastic_eql` and `elastic_esql` share this writer.
//!
//! Input: rule needles and patterns. Output: a Lucene regex that matches
//! exactly what the evaluator's test matches, or the reason none does. Every
//! function here has unit tests, hostile values included.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::ir::TextOp;
use crate::ir::regex::{
    ASCII_NOT_WORD_CLASS, ASCII_WORD_CLASS, Edge, outer_word, take_edge_boundaries,
};
use crate::targets::lower::{self, NeedlePiece};

/// Elasticsearch's default `index.max_regex_length`: a longer regex is
/// rejected at query time, so the target refuses it at compile time
/// ("regular expressions are limited to 1,000 characters" by default:
/// https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-regexp-query).
pub const MAX_REGEX_LENGTH: usize = 1000;

/// Appends one character to a Lucene regex as a literal. ASCII punctuation
/// and space are escaped with a backslash (a literal in Lucene and in
/// Python's `re` alike); letters, digits, control and non-ASCII characters
/// are special in neither and stay as they are.
fn push_literal(out: &mut String, character: char) {
    if character.is_ascii_punctuation() || character == ' ' {
        out.push('\\');
    }
    out.push(character);
}

/// Appends the class of characters that fold as `character` does.
fn push_case_class(out: &mut String, character: char) {
    let members = lower::case_class(character);
    if let [single] = members.as_slice() {
        push_literal(out, *single);
    } else {
        out.push('[');
        for member in members {
            push_literal(out, member);
        }
        out.push(']');
    }
}

/// How a Lucene regex spells case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// Every character as itself (a case-sensitive test).
    Exact,
    /// Each character as the class of its case variants, for a
    /// case-sensitive operator.
    Classes,
    /// For a case-insensitive operator (`regex~`): see [`flag_needle_regex`].
    Flag,
}

/// The characters whose Java case mappings (`Character.toUpperCase` and
/// `toLowerCase`, which a Unicode-aware Lucene expands a pattern character
/// with) leave their orbit under simple case folding: `İ` lowercases to `i`
/// and `ı` uppercases to `I`, while the evaluator folds both to themselves.
/// Checked against every code point of Java 17's tables: no other character
/// maps outside its orbit.
const JAVA_CASE_OUTLIERS: [char; 2] = ['\u{130}', '\u{131}'];

/// Why a regex has no spelling under `regex~` that every Elasticsearch
/// version reads alike; the caller spells it with classes instead.
const NOT_FLAG_STABLE: &str = "not stable under the engine's case folding";

/// A character of a case-insensitive pattern, for `regex~`. Elasticsearch
/// folds the pattern's characters: before 9.x's Unicode folding, an ASCII
/// character with its other ASCII case and nothing else (Lucene's
/// `RegExp.ASCII_CASE_INSENSITIVE` on a `REGEXP_CHAR` node, class members
/// included; ranges are not folded); since, each character with its Java
/// case mappings and Lucene's `CaseFolding` extras, which for every
/// character but [`JAVA_CASE_OUTLIERS`] stay in its orbit. So an orbit is
/// written as its members without the ASCII capitals, and the result reads
/// the same under both: an ASCII letter as itself (`a`), the Kelvin sign and
/// the long s as alternatives beside theirs (`(k|\u{212A})`, `(s|\u{17F})`:
/// a plain alternation of characters, folded as any character), a non-ASCII
/// orbit as a class of all its members (`[Éé]`).
fn push_flag_character(out: &mut String, character: char) -> Result<(), String> {
    let orbit = lower::case_class(character);
    if orbit
        .iter()
        .any(|member| JAVA_CASE_OUTLIERS.contains(member))
    {
        return Err(NOT_FLAG_STABLE.to_string());
    }
    let members: Vec<char> = orbit
        .iter()
        .copied()
        .filter(|member| {
            !(member.is_ascii_uppercase() && orbit.contains(&member.to_ascii_lowercase()))
        })
        .collect();
    match members.as_slice() {
        [single] => push_literal(out, *single),
        _ if members.iter().any(char::is_ascii) => {
            out.push('(');
            for (index, member) in members.iter().enumerate() {
                if index > 0 {
                    out.push('|');
                }
                push_literal(out, *member);
            }
            out.push(')');
        }
        _ => {
            out.push('[');
            for member in members {
                push_literal(out, member);
            }
            out.push(']');
        }
    }
    Ok(())
}

/// A Lucene regex for EQL's `regex~` (case-insensitive) that matches
/// exactly the values the evaluator's case-insensitive text operator
/// accepts for `needle`: letters as in [`push_flag_character`], whitespace
/// runs as a class repeated when folding. `None` when the needle holds a
/// character whose folding differs between Elasticsearch versions (`İ`, `ı`).
pub fn flag_needle_regex(
    needle: &str,
    op: TextOp,
    fold_whitespace: bool,
) -> Option<Result<String, String>> {
    match written_needle(needle, op, Case::Flag, fold_whitespace) {
        Err(reason) if reason == NOT_FLAG_STABLE => None,
        other => Some(other),
    }
}

/// A Lucene regex (implicitly anchored) that matches exactly the values the
/// evaluator's text operator accepts for `needle`: case-insensitive through
/// explicit character classes (so it does not depend on how Elasticsearch
/// folds case), whitespace runs as a class repeated when folding.
pub fn needle_regex(
    needle: &str,
    op: TextOp,
    case_sensitive: bool,
    fold_whitespace: bool,
) -> Result<String, String> {
    let case = if case_sensitive {
        Case::Exact
    } else {
        Case::Classes
    };
    written_needle(needle, op, case, fold_whitespace)
}

fn written_needle(
    needle: &str,
    op: TextOp,
    case: Case,
    fold_whitespace: bool,
) -> Result<String, String> {
    let mut out = String::new();
    if matches!(op, TextOp::Contains | TextOp::EndsWith) {
        out.push_str(".*");
    }
    for piece in lower::needle_pieces(needle, fold_whitespace) {
        match (piece, case) {
            // Tab, line feed, vertical tab, form feed and carriage return are
            // the consecutive code points 9..=13: one range, written with
            // characters every EQL parser escapes the same way.
            (NeedlePiece::SpaceRun, _) => out.push_str("[\t-\r\\ ]+"),
            (NeedlePiece::Char(character), Case::Exact) => push_literal(&mut out, character),
            (NeedlePiece::Char(character), Case::Classes) => push_case_class(&mut out, character),
            (NeedlePiece::Char(character), Case::Flag) => {
                push_flag_character(&mut out, character)?;
            }
        }
    }
    if matches!(op, TextOp::Contains | TextOp::StartsWith) {
        out.push_str(".*");
    }
    check_limits(out)
}

/// The limits Elasticsearch puts on a regex: its length, and the work of
/// turning it into a DFA (see [`effort`]).
fn check_limits(regex: String) -> Result<String, String> {
    if regex.chars().count() > MAX_REGEX_LENGTH {
        Err(format!(
            "the translated regex has {} characters, more than Elasticsearch's default index.max_regex_length of {MAX_REGEX_LENGTH}",
            regex.chars().count()
        ))
    } else if !effort::fits(&regex) {
        Err(format!(
            "the translated regex needs more work than Lucene's default determinize limit to become an automaton (more than {} by tripline's estimate), so Elasticsearch would fail the query with TooComplexToDeterminizeException: bounded repetitions or word gaps that can overlap after the leading `.*` make one state per combination of counts",
            effort::BUDGET
        ))
    } else {
        Ok(regex)
    }
}

/// Whether case-insensitive equality with `needle` is exactly EQL's `in~`:
/// Elasticsearch's case-insensitive term matching folds ASCII only ("ASCII
/// case insensitive matching", the term query's `case_insensitive`:
/// https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-term-query.html),
/// so every letter's orbit must be ASCII: no `k` (Kelvin sign) or `s`
/// (long s), nothing non-ASCII.
pub fn plain_case_insensitive(needle: &str) -> bool {
    lower::ascii_foldable(needle)
}

/// The most classes ranges a translated regex may spell out.
const MAX_CLASS_RANGES: usize = 24;

/// Translates a pattern of the language's regex subset (Rust `regex`
/// syntax, unanchored search) into a Lucene regex that matches the same
/// whole values. Anchors are allowed at the ends of the pattern (also as
/// `(?:^|...)` and `(?:...|$)` branches); word boundaries and anchors
/// elsewhere have no Lucene equivalent and are refused.
pub fn search_regex(pattern: &str, case_insensitive: bool) -> Result<String, String> {
    translated_search(pattern, case_insensitive, Fold::Off)
}

/// A case-insensitive pattern as a Lucene regex for EQL's `regex~`, with
/// letters as [`push_flag_character`] writes them and every other class
/// written whole (such a class is closed under case folding, so neither
/// Elasticsearch's ASCII folding nor its Unicode folding adds to it).
/// `Ok(None)` when some part would read differently across Elasticsearch
/// versions: a word boundary spelled out (the ASCII word class is not closed
/// under folding), a part with folding turned off, or a class listing `İ`/`ı`.
pub fn flag_search_regex(pattern: &str) -> Result<Option<String>, String> {
    match translated_search(pattern, true, Fold::Flag) {
        Err(reason) if reason == NOT_FLAG_STABLE => Ok(None),
        other => other.map(Some),
    }
}

/// Which case-insensitive spelling a translated regex is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    /// A case-sensitive operator: classes as the pattern has them.
    Off,
    /// `regex~`: see [`flag_search_regex`].
    Flag,
    /// A case-sensitive operator on a lowercased value: see [`lowered_search_regex`].
    Lowered,
}

/// A case-insensitive pattern as a Lucene regex for a value that ES|QL
/// lowercased after replacing the long s with `s` and `İ` with `ı`
/// (`TO_LOWER(REPLACE(REPLACE(f, "ſ", "s"), "İ", "ı"))`): each character
/// of that value stands for the characters it comes from, which are one
/// orbit of the evaluator's folding (ASCII letters and the Kelvin sign
/// lowercase to ASCII; `String.toLowerCase(Locale.ROOT)` maps no other
/// character to ASCII but `İ`, replaced first), or `ı` and `İ` together.
/// So a letter's orbit is its lowercase letter, and any other class, closed
/// under folding, is written whole when it holds both or neither of `ı` and
/// `İ`. `Ok(None)` otherwise, or for a word boundary spelled out (the ASCII
/// word class is not closed under folding) or a part with folding off.
pub fn lowered_search_regex(pattern: &str) -> Result<Option<String>, String> {
    match translated_search(pattern, true, Fold::Lowered) {
        Err(reason) if reason == NOT_FLAG_STABLE => Ok(None),
        other => other.map(Some),
    }
}

fn translated_search(pattern: &str, case_insensitive: bool, fold: Fold) -> Result<String, String> {
    let pattern = crate::ir::regex::ascii_classes(pattern);
    let wrapped = if case_insensitive {
        format!("(?i:{pattern})")
    } else {
        pattern
    };
    let hir = regex_syntax::Parser::new()
        .parse(&wrapped)
        .map_err(|error| format!("the regex does not parse: {error}"))?;
    let mut items: Vec<&Hir> = match hir.kind() {
        HirKind::Concat(items) => items.iter().collect(),
        _ => vec![&hir],
    };
    let mut prefix = ".*".to_string();
    let mut suffix = ".*".to_string();
    if let Some(first) = items.first().copied() {
        if matches!(first.kind(), HirKind::Look(Look::Start)) {
            prefix.clear();
            items.remove(0);
        } else if let Some(rest) = anchored_alternative(first, Look::Start) {
            prefix = format!("(.*{})?", translate_group(&rest, fold)?);
            items.remove(0);
        }
    }
    if let Some(last) = items.last().copied() {
        if matches!(last.kind(), HirKind::Look(Look::End)) {
            suffix.clear();
            items.pop();
        } else if let Some(rest) = anchored_alternative(last, Look::End) {
            suffix = format!("({}.*)?", translate_group(&rest, fold)?);
            items.pop();
        }
    }
    // A word boundary at either end of what is left is spelled out from the
    // kind of character beside it (Lucene regexes have no look-around).
    let (first, last) = take_edge_boundaries(&mut items);
    if fold != Fold::Off && (first.is_some() || last.is_some()) {
        return Err(NOT_FLAG_STABLE.to_string());
    }
    if let Some((negated, inner)) = first {
        prefix = boundary_side(&prefix, negated, inner, Edge::First)?;
    }
    if let Some((negated, inner)) = last {
        suffix = boundary_side(&suffix, negated, inner, Edge::Last)?;
    }
    let mut body = String::new();
    for item in items {
        body.push_str(&translate(item, true, fold)?);
    }
    check_limits(format!("{prefix}{body}{suffix}"))
}

/// The prefix (or suffix) that puts a `\b` (or `\B`, `negated`) between
/// what comes before (after) the body and the body's first (last) character,
/// whose kind is `inner_word`.
fn boundary_side(
    side: &str,
    negated: bool,
    inner_word: Option<bool>,
    edge: Edge,
) -> Result<String, String> {
    let name = if negated {
        "`\\B` (not a word boundary)"
    } else {
        "`\\b` (word boundary)"
    };
    let Some(outer_word) = outer_word(negated, inner_word) else {
        return Err(format!(
            "{name} beside text that may or may not start with a word character has no Lucene spelling (Lucene regexes have no look-around)"
        ));
    };
    Ok(match (side, outer_word, edge) {
        // Anchored: the text's edge counts as a non-word character.
        ("", false, _) => String::new(),
        ("", true, _) => {
            return Err(format!(
                "{name} at an anchored end of the pattern never holds there"
            ));
        }
        (".*", true, Edge::First) => format!(".*{ASCII_WORD_CLASS}"),
        (".*", false, Edge::First) => format!("(.*{ASCII_NOT_WORD_CLASS})?"),
        (".*", true, Edge::Last) => format!("{ASCII_WORD_CLASS}.*"),
        (".*", false, Edge::Last) => format!("({ASCII_NOT_WORD_CLASS}.*)?"),
        _ => {
            return Err(format!(
                "{name} next to an anchored alternative has no Lucene spelling"
            ));
        }
    })
}

/// `(?:LOOK|X|Y)` (possibly captured) → the alternatives other than the anchor.
fn anchored_alternative(hir: &Hir, look: Look) -> Option<Vec<Hir>> {
    let inner = match hir.kind() {
        HirKind::Capture(capture) => &capture.sub,
        _ => hir,
    };
    let HirKind::Alternation(branches) = inner.kind() else {
        return None;
    };
    let anchors = branches
        .iter()
        .filter(|branch| matches!(branch.kind(), HirKind::Look(found) if *found == look))
        .count();
    let rest: Vec<Hir> = branches
        .iter()
        .filter(|branch| !matches!(branch.kind(), HirKind::Look(found) if *found == look))
        .cloned()
        .collect();
    (anchors == 1 && !rest.is_empty()).then_some(rest)
}

fn translate_group(branches: &[Hir], fold: Fold) -> Result<String, String> {
    let parts = branches
        .iter()
        .map(|branch| translate(branch, false, fold))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(format!("({})", parts.join("|")))
}

/// One node; `in_sequence` wraps alternations so they stay one item; under
/// `fold` for a case-insensitive test.
fn translate(hir: &Hir, in_sequence: bool, fold: Fold) -> Result<String, String> {
    match hir.kind() {
        HirKind::Empty => Err("an empty pattern or branch has no Lucene spelling".to_string()),
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0)
                .map_err(|_| "a byte-oriented literal has no Lucene spelling".to_string())?;
            let mut out = String::new();
            for character in text.chars() {
                // Under the flag a character with case variants would be
                // folded: only a part with folding off has one here.
                if fold != Fold::Off
                    && (lower::case_class(character).len() > 1
                        || JAVA_CASE_OUTLIERS.contains(&character))
                {
                    return Err(NOT_FLAG_STABLE.to_string());
                }
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
            if fold != Fold::Off {
                let mut folded = class.clone();
                folded.case_fold_simple();
                if folded != *class {
                    return Err(NOT_FLAG_STABLE.to_string());
                }
                // One letter's orbit: the letter.
                if let [(start, _), ..] = ranges.as_slice() {
                    let orbit = lower::case_class(*start);
                    let members: Vec<char> = ranges
                        .iter()
                        .flat_map(|(start, end)| *start..=*end)
                        .take(orbit.len() + 1)
                        .collect();
                    if orbit.len() > 1 && members == orbit {
                        let mut out = String::new();
                        match orbit.iter().find(|member| member.is_ascii_lowercase()) {
                            Some(letter) if fold == Fold::Lowered => {
                                push_literal(&mut out, *letter)
                            }
                            _ => push_flag_character(&mut out, *start)?,
                        }
                        return Ok(out);
                    }
                }
                let holds = |character: char| {
                    ranges
                        .iter()
                        .any(|(start, end)| *start <= character && character <= *end)
                };
                if fold == Fold::Lowered && holds('\u{130}') != holds('\u{131}') {
                    return Err(NOT_FLAG_STABLE.to_string());
                }
                if let Some(written) = small_folded_class(&ranges, fold)? {
                    return Ok(written);
                }
            }
            class_text(&ranges, fold == Fold::Flag)
        }
        HirKind::Class(Class::Bytes(_)) => Err("a byte class has no Lucene spelling".to_string()),
        HirKind::Look(look) => Err(format!(
            "{} has no Lucene equivalent (Lucene regexes have no look-around or inner anchors)",
            look_name(*look)
        )),
        HirKind::Repetition(repetition) => {
            let sub = translate(&repetition.sub, false, fold)?;
            let atom = if is_atom(&repetition.sub) {
                sub
            } else {
                format!("({sub})")
            };
            let quantifier = match (repetition.min, repetition.max) {
                (0, None) => "*".to_string(),
                (1, None) => "+".to_string(),
                (0, Some(1)) => "?".to_string(),
                (min, None) => format!("{{{min},}}"),
                (min, Some(max)) if min == max => format!("{{{min}}}"),
                (min, Some(max)) => format!("{{{min},{max}}}"),
            };
            Ok(format!("{atom}{quantifier}"))
        }
        HirKind::Capture(capture) => Ok(format!("({})", translate(&capture.sub, false, fold)?)),
        HirKind::Concat(items) => items
            .iter()
            .map(|item| translate(item, true, fold))
            .collect::<Result<String, String>>(),
        HirKind::Alternation(branches) => {
            let joined = branches
                .iter()
                .map(|branch| translate(branch, false, fold))
                .collect::<Result<Vec<_>, _>>()?
                .join("|");
            Ok(if in_sequence {
                format!("({joined})")
            } else {
                joined
            })
        }
    }
}

fn is_atom(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Literal(literal) => {
            std::str::from_utf8(&literal.0).is_ok_and(|text| text.chars().count() == 1)
        }
        HirKind::Class(_) | HirKind::Capture(_) => true,
        _ => false,
    }
}

fn look_name(look: Look) -> &'static str {
    match look {
        Look::Start | Look::StartLF | Look::StartCRLF => "`^` inside the pattern",
        Look::End | Look::EndLF | Look::EndCRLF => "`$` inside the pattern",
        Look::WordAscii | Look::WordUnicode => "`\\b` (word boundary)",
        Look::WordAsciiNegate | Look::WordUnicodeNegate => "`\\B` (not a word boundary)",
        _ => "a word-boundary assertion",
    }
}

/// A small class closed under folding, without the members the engine
/// supplies: under `Lowered` the characters a lowercased value cannot hold
/// (ASCII capitals, the Kelvin sign, the long s, `İ`), so `[sz]` for
/// `[SZsz\u{17F}]`; under `Flag`, when it holds ASCII letters, an
/// alternation of the members without ASCII capitals (each folded as any
/// character, never as a class member): `(s|z|\u{17F})`. `None` for a
/// class of more than 128 characters, or one that stays as it is.
fn small_folded_class(ranges: &[(char, char)], fold: Fold) -> Result<Option<String>, String> {
    let size: u32 = ranges
        .iter()
        .map(|(start, end)| *end as u32 - *start as u32 + 1)
        .sum();
    if size > 128 {
        return Ok(None);
    }
    let members: Vec<char> = ranges
        .iter()
        .flat_map(|(start, end)| *start..=*end)
        .collect();
    let supplied = |member: &char| match fold {
        Fold::Lowered => {
            member.is_ascii_uppercase() || ['\u{212A}', '\u{17F}', '\u{130}'].contains(member)
        }
        _ => member.is_ascii_uppercase() && members.contains(&member.to_ascii_lowercase()),
    };
    let picked: Vec<char> = members.iter().copied().filter(|m| !supplied(m)).collect();
    if picked.len() == members.len() || picked.is_empty() {
        return Ok(None);
    }
    if fold == Fold::Flag {
        if picked.len() > 10 || !picked.iter().any(char::is_ascii_alphabetic) {
            return Ok(None);
        }
        let mut out = String::from("(");
        for (index, member) in picked.iter().enumerate() {
            if index > 0 {
                out.push('|');
            }
            push_literal(&mut out, *member);
        }
        out.push(')');
        return Ok(Some(out));
    }
    let mut runs: Vec<(char, char)> = Vec::new();
    for member in picked {
        match runs.last_mut() {
            Some((_, end)) if *end as u32 + 1 == member as u32 => *end = member,
            _ => runs.push((member, member)),
        }
    }
    class_text(&runs, false).map(Some)
}

/// A class as `[...]` or `[^...]`, whichever lists fewer ranges; under
/// `flag` the listed characters must not include `İ` or `ı`, which a
/// Unicode-folding Elasticsearch would expand beyond their orbit.
fn class_text(ranges: &[(char, char)], flag: bool) -> Result<String, String> {
    if let [(start, end)] = ranges
        && start == end
    {
        if flag && JAVA_CASE_OUTLIERS.contains(start) {
            return Err(NOT_FLAG_STABLE.to_string());
        }
        let mut out = String::new();
        push_literal(&mut out, *start);
        return Ok(out);
    }
    let complement = complement(ranges);
    let (negated, listed) = if complement.len() <= ranges.len() {
        (true, complement)
    } else {
        (false, ranges.to_vec())
    };
    let lists_outlier = listed.iter().any(|(start, end)| {
        JAVA_CASE_OUTLIERS
            .iter()
            .any(|outlier| start <= outlier && outlier <= end)
    });
    if flag && lists_outlier {
        return Err(NOT_FLAG_STABLE.to_string());
    }
    if listed.len() > MAX_CLASS_RANGES {
        return Err(format!(
            "a character class of {} ranges (such as a Unicode property like `\\p{{L}}`) is too long to spell out in a Lucene regex; write the ranges meant, such as `[A-Za-z]`",
            listed.len()
        ));
    }
    let mut out = String::from(if negated { "[^" } else { "[" });
    for (start, end) in listed {
        push_literal(&mut out, start);
        if end != start {
            out.push('-');
            push_literal(&mut out, end);
        }
    }
    out.push(']');
    Ok(out)
}

/// The ranges of Unicode scalar values not in `ranges` (sorted, disjoint),
/// ignoring the surrogate gap, which no text contains.
fn complement(ranges: &[(char, char)]) -> Vec<(char, char)> {
    let mut out = Vec::new();
    let mut next: u32 = 0;
    for (start, end) in ranges {
        let start = *start as u32;
        if start > next {
            push_scalar_range(&mut out, next, start - 1);
        }
        next = (*end as u32).saturating_add(1);
    }
    if next <= 0x10FFFF {
        push_scalar_range(&mut out, next, 0x10FFFF);
    }
    out
}

fn push_scalar_range(out: &mut Vec<(char, char)>, start: u32, end: u32) {
    // Skip ranges that lie wholly in the surrogate gap; clamp the others.
    let start = if (0xD800..=0xDFFF).contains(&start) {
        0xE000
    } else {
        start
    };
    let end = if (0xD800..=0xDFFF).contains(&end) {
        0xD7FF
    } else {
        end
    };
    if start > end {
        return;
    }
    if let (Some(start), Some(end)) = (char::from_u32(start), char::from_u32(end)) {
        out.push((start, end));
    }
}

mod effort;

#[cfg(test)]
mod tests;
