//! Lookups by reference: the keys a target ships beside its queries (a
//! Sentinel watchlist, an Elasticsearch lookup index) and the rules that make
//! a membership test against them exact.
//!
//! Input: an [`ir::Lookup`] and, for a test, the rows it tests. Output: the
//! [`Shipped`] keys of a lookup (or `None` when it cannot be referenced
//! exactly) and the CSV text of them.
//!
//! A key is the separator followed by each cell lowercased and the separator
//! between cells: `|user-0001|public`. The separator is a character no cell
//! contains, so two keys are equal exactly when their cells are, and a key
//! never starts with a character a spreadsheet executes (`=`, `+`, `-`, `@`).
//!
//! Case. Membership without `_cs` compares the Unicode simple case folding
//! of both sides ([`ir::case`], docs/language.md). The shipped keys are
//! folded here, and only lookups whose keys are then ASCII are shipped. On
//! the event side a SIEM's own lowercase function is exact only for ASCII
//! (the SIEMs document no mapping beyond it), so a target first replaces the
//! two non-ASCII characters that fold to ASCII ([`FOLDED_TO_ASCII`]: U+212A
//! KELVIN SIGN to `k`, U+017F LATIN SMALL LETTER LONG S to `s`), then tests
//! that the value is ASCII and lowercases it. Any other value folds to a
//! non-ASCII string in the evaluator and is in no shipped key.

use std::collections::BTreeSet;

use crate::ir::{self, Value, ValueType};

/// Lookups with at most this many rows are inlined when `tripline.yaml`
/// does not say otherwise (`compile: { inline_lookup_rows: N }`).
pub const DEFAULT_INLINE_ROWS: usize = 100;

/// The non-ASCII characters whose simple case folding is ASCII, with it.
pub const FOLDED_TO_ASCII: [(char, char); 2] = [('\u{17F}', 's'), ('\u{212A}', 'k')];

/// A value whose folded key a target can build: ASCII and the two other
/// characters whose case folding is ASCII ([`FOLDED_TO_ASCII`], replaced
/// first). RE2, PCRE and Java read `\x{...}` alike.
pub const LOWERABLE: &str = r"^[\x{0}-\x{7F}\x{17F}\x{212A}]*$";

/// Separators tried in order: the first that no cell contains is used.
const SEPARATORS: [char; 3] = ['|', '/', '\u{1f}'];

/// The keys of a lookup as a target ships them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    /// The character before and between cells.
    pub separator: char,
    /// Distinct keys, sorted.
    pub keys: BTreeSet<String>,
}

/// The text of a string cell; `None` for other types.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        _ => None,
    }
}

/// The rows whose membership the lookup's keys stand for: every row of a
/// lookup of several columns, the non-empty cells of a one-column lookup
/// (empty cells are no needles). `None` when a column is not a string.
fn rows(lookup: &ir::Lookup) -> Option<Vec<Vec<String>>> {
    if lookup
        .columns
        .iter()
        .any(|column| column.value_type != ValueType::String)
    {
        return None;
    }
    let mut rows = Vec::new();
    for row in &lookup.rows {
        let cells = row.iter().map(text).collect::<Option<Vec<String>>>()?;
        if cells.len() != lookup.columns.len() {
            return None;
        }
        if cells.len() == 1 && cells[0].is_empty() {
            continue;
        }
        rows.push(cells);
    }
    Some(rows)
}

/// The keys of `rows` with `separator`, or `None` when a folded cell is not
/// ASCII or holds a line break (a CSV reader may split it).
fn keys(rows: &[Vec<String>], separator: char) -> Option<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    for row in rows {
        let mut key = String::new();
        for cell in row {
            let lower = ir::case::fold(cell);
            if !lower.is_ascii() || lower.contains(['\n', '\r']) {
                return None;
            }
            key.push(separator);
            key.push_str(&lower);
        }
        keys.insert(key);
    }
    Some(keys)
}

/// The keys a target ships for `lookup`, or `None` when membership in it
/// cannot be tested by reference exactly: a column that is not a string, a
/// cell that is not ASCII once lowercased or holds a line break, or no
/// separator that no cell contains.
pub fn shipped(lookup: &ir::Lookup) -> Option<Shipped> {
    let rows = rows(lookup)?;
    let separator = SEPARATORS
        .into_iter()
        .find(|separator| !rows.iter().flatten().any(|cell| cell.contains(*separator)))?;
    Some(Shipped {
        separator,
        keys: keys(&rows, separator)?,
    })
}

/// Whether a case-insensitive membership test of `tested` rows is exactly
/// membership in the shipped keys (the test reads every column, in order).
pub fn covers(shipped: &Shipped, tested: &[Vec<String>]) -> bool {
    keys(tested, shipped.separator).is_some_and(|keys| keys == shipped.keys)
}

/// The rows of a tuple lookup test, from its groups by first cell.
pub fn tuple_rows(groups: &[(String, Vec<Vec<String>>)]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (first, rests) in groups {
        for rest in rests {
            let mut row = vec![first.clone()];
            row.extend(rest.iter().cloned());
            rows.push(row);
        }
    }
    rows
}

/// The name a target gives the shipped keys of a lookup (a watchlist
/// alias, an index name): `tripline_` and the name, characters other than
/// ASCII letters, digits and `_` as `_`, lowercase.
pub fn shipped_name(lookup: &str) -> String {
    format!(
        "tripline_{}",
        crate::targets::lower::identifier_part(lookup)
    )
}

/// The shipped keys a case-insensitive membership test of `rows` reads
/// instead of inlining them: only when the lookup has more rows than
/// `inline_rows`, the target ships it (`ship`: [`shipped`] with the
/// target's own limits) and the test reads every column of every row.
pub fn read_by_reference(
    lookup: Option<&ir::Lookup>,
    rows: &[Vec<String>],
    inline_rows: usize,
    ship: impl Fn(&ir::Lookup) -> Option<Shipped>,
) -> Option<Shipped> {
    let lookup = lookup?;
    if lookup.rows.len() <= inline_rows {
        return None;
    }
    let shipped = ship(lookup)?;
    covers(&shipped, rows).then_some(shipped)
}

/// A lookup a filter reads by reference: its name, the separator of its
/// keys and the event field references its key is built from, in order.
/// Each target prints it in its own syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub lookup: String,
    pub separator: char,
    pub fields: Vec<String>,
}

/// Adds `join` to the joins of the filter being spelled: one per lookup, so
/// `false` when the filter already reads the lookup on other fields (that
/// test is then inlined).
pub fn record(joins: &mut Vec<Join>, join: Join) -> bool {
    match joins.iter().find(|known| known.lookup == join.lookup) {
        Some(known) => *known == join,
        None => {
            joins.push(join);
            true
        }
    }
}

/// A lookup of string columns, for tests.
#[cfg(test)]
pub(crate) fn string_lookup(name: &str, columns: &[&str], rows: &[&[&str]]) -> ir::Lookup {
    ir::Lookup {
        name: name.to_string(),
        file: "t.csv".to_string(),
        columns: columns
            .iter()
            .map(|column| ir::Field {
                name: (*column).to_string(),
                value_type: ValueType::String,
                required: false,
                one_of: None,
                doc: None,
            })
            .collect(),
        rows: rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|cell| Value::String((*cell).to_string()))
                    .collect()
            })
            .collect(),
        doc: None,
    }
}

/// A CSV of one `key` column: header, then every key, each field quoted
/// (a quote doubled), lines ended by CRLF as RFC 4180 writes them.
pub fn keys_csv(column: &str, shipped: &Shipped) -> String {
    let quote = |field: &str| format!("\"{}\"", field.replace('"', "\"\""));
    let mut text = format!("{}\r\n", quote(column));
    for key in &shipped.keys {
        text.push_str(&quote(key));
        text.push_str("\r\n");
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn lookup(columns: &[&str], rows: &[&[&str]]) -> ir::Lookup {
        string_lookup("t", columns, rows)
    }

    #[test]
    fn only_the_long_s_and_the_kelvin_sign_fold_to_ascii_outside_ascii() {
        let found: Vec<(char, char)> = ('\u{80}'..=char::MAX)
            .map(|character| (character, ir::case::fold_char(character)))
            .filter(|(_, folded)| folded.is_ascii())
            .collect();
        assert_eq!(found, FOLDED_TO_ASCII);
    }

    #[test]
    fn keys_are_lowercased_deduplicated_and_start_with_the_separator() {
        let table = lookup(
            &["a", "b"],
            &[&["Alice", "HR"], &["alice", "hr"], &["bob", ""]],
        );
        let shipped = shipped(&table).unwrap();
        assert_eq!(shipped.separator, '|');
        let keys: Vec<&str> = shipped.keys.iter().map(String::as_str).collect();
        assert_eq!(keys, ["|alice|hr", "|bob|"]);
    }

    #[test]
    fn the_separator_is_one_no_cell_contains() {
        let table = lookup(&["a", "b"], &[&["a|b", "c/d"], &["x", "y"]]);
        let shipped = shipped(&table).unwrap();
        assert_eq!(shipped.separator, '\u{1f}');
        let all = lookup(&["a"], &[&["|/\u{1f}"]]);
        assert_eq!(super::shipped(&all), None);
    }

    #[test]
    fn non_ascii_and_line_breaks_are_not_shipped() {
        assert_eq!(shipped(&lookup(&["a"], &[&["Zoë"]])), None);
        assert_eq!(shipped(&lookup(&["a"], &[&["a\nb"]])), None);
        // The Kelvin sign and the long s fold to ASCII: shipped as `k`, `s`.
        let kelvin = shipped(&lookup(&["a"], &[&["\u{212A}ate \u{17F}mith"]])).unwrap();
        assert!(kelvin.keys.contains("|kate smith"));
    }

    #[test]
    fn one_column_lookups_drop_empty_cells() {
        let shipped = shipped(&lookup(&["a"], &[&[""], &["X"]])).unwrap();
        assert_eq!(shipped.keys.len(), 1);
        assert!(covers(&shipped, &[vec!["x".to_string()]]));
        assert!(!covers(&shipped, &[vec!["y".to_string()]]));
    }

    #[test]
    fn hostile_values_are_quoted_and_never_lead_a_field() {
        let table = lookup(
            &["a", "b"],
            &[
                &["=cmd()", "+1"],
                &["-2", "@sum(A1)"],
                &["say \"hi\", then", "x"],
            ],
        );
        let shipped = shipped(&table).unwrap();
        let csv = keys_csv("key", &shipped);
        assert_eq!(
            csv,
            "\"key\"\r\n\"|-2|@sum(a1)\"\r\n\"|=cmd()|+1\"\r\n\"|say \"\"hi\"\", then|x\"\r\n"
        );
        // Read back by a CSV reader, every key is one field, unchanged.
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let read: BTreeSet<String> = reader
            .records()
            .map(|record| record.unwrap()[0].to_string())
            .collect();
        assert_eq!(read, shipped.keys);
        for key in &read {
            assert!(key.starts_with('|'));
        }
    }
}
