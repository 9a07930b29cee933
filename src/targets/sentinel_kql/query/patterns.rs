//! Regex literals a query repeats, named once with `let` so the query stays
//! under Sentinel's length limit.

/// Where a query uses a regex literal: after `matches regex` and as
/// `extract`'s first argument (an address test matches the address pattern
/// and then extracts the address with it).
const REGEX_PLACES: [&str; 2] = ["matches regex ", "extract("];

/// Regex literals that `texts` use more than once (a marker list tested on
/// two fields by two steps, an address pattern matched and then extracted
/// from), each moved into one `let PatternN = "...";` and referred to by
/// name, so the query stays under Sentinel's length limit and reads as
/// its logic. A let-bound string literal is a constant, which is what
/// `matches regex` takes ("Defining constants outside of the query body",
/// <https://learn.microsoft.com/azure/data-explorer/kusto/query/let-statement>;
/// the pattern "must be a scalar constant",
/// <https://learn.microsoft.com/azure/data-explorer/kusto/query/matches-regex-operator>),
/// and `extract` takes any string
/// (<https://learn.microsoft.com/kusto/query/extract-function>): the
/// meaning is unchanged. Returns the `let` lines.
pub(super) fn hoist_repeated_patterns(texts: &mut [String]) -> Vec<String> {
    // Every regex literal, with how often it occurs.
    let mut literals: Vec<(String, usize)> = Vec::new();
    for text in texts.iter() {
        for place in REGEX_PLACES {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(place) {
                rest = &rest[at + place.len()..];
                let Some(length) = string_literal_length(rest) else {
                    continue;
                };
                let literal = &rest[..length];
                match literals.iter_mut().find(|(known, _)| known == literal) {
                    Some((_, count)) => *count += 1,
                    None => literals.push((literal.to_string(), 1)),
                }
                rest = &rest[length..];
            }
        }
    }
    let mut lines = Vec::new();
    for (literal, count) in literals {
        // Short patterns read better in place.
        if count < 2 || literal.len() < 200 {
            continue;
        }
        let name = format!("Pattern{}", lines.len() + 1);
        for text in texts.iter_mut() {
            for place in REGEX_PLACES {
                *text = text.replace(&format!("{place}{literal}"), &format!("{place}{name}"));
            }
        }
        lines.push(format!("let {name} = {literal};"));
    }
    lines
}

/// `text` with its repeated long patterns named once (see
/// [`hoist_repeated_patterns`]): `norm(f)` tests a list on the companion
/// and, for events without one, on the raw field, which would print the
/// list twice. The `let` lines go just before the statement that first uses
/// them, after the query's time constants.
pub(super) fn name_repeated_patterns(text: &str) -> String {
    let mut texts = [text.to_string()];
    let lets = hoist_repeated_patterns(&mut texts);
    let [named] = texts;
    if lets.is_empty() {
        return named;
    }
    let lines: Vec<&str> = named.lines().collect();
    let first_use = lines
        .iter()
        .position(|line| {
            REGEX_PLACES
                .iter()
                .any(|place| line.contains(&format!("{place}Pattern")))
        })
        .unwrap_or(0);
    // A statement's continuation lines are indented or start with a pipe.
    let statement = (0..=first_use)
        .rev()
        .find(|&at| !lines[at].starts_with(|c: char| c.is_whitespace() || c == '|'))
        .unwrap_or(0);
    let mut out: Vec<&str> = lines[..statement].to_vec();
    out.extend(lets.iter().map(String::as_str));
    out.extend(&lines[statement..]);
    let mut joined = out.join("\n");
    if named.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// The length of the double-quoted Kusto string literal `text` starts with.
pub(super) fn string_literal_length(text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next()?;
            }
            '"' => return Some(at + 1),
            _ => {}
        }
    }
    None
}
