//! Lowering decisions the plan (and the targets' syntax) build on.
//!
//! Input: pieces of an IR expression (a comparison's operator and sides, a
//! `StringSet`, a lookup and column name) and the pack.
//! Output: decisions every target makes the same way, before any syntax:
//! the needle strings of a list, lookup column or literal set, a lookup
//! column resolved to its table and index, a comparison normalised to
//! `field OP constant` (the operator mirrored when the field was on the
//! right, field-versus-field and computed sides refused), the members of
//! the case-insensitive character class of a character under the
//! evaluator's case folding, the needles of a narrowed lookup grouped by key,
//! a needle cut into characters and runs of folded whitespace.
//! Refusals come back as [`Refusal`] values; each target words the one
//! whose message names the target itself (too many lookup rows).

use std::collections::BTreeMap;

use crate::ir::{self, CompareOp, Expr, ExprKind, Pack, StringSet, Value};

/// Why a shared decision could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The list is not in the pack.
    MissingList(String),
    /// The lookup is not in the pack.
    MissingLookup(String),
    /// The lookup has no such column.
    MissingColumn { lookup: String, column: String },
    /// The lookup has more rows than the target inlines.
    TooManyRows { lookup: String, rows: usize },
}

impl Refusal {
    /// The one-line message; `too_many_rows` words the only refusal whose
    /// message names the target.
    pub fn message(&self, too_many_rows: fn(&str, usize) -> String) -> String {
        match self {
            Refusal::MissingList(name) => format!("the list `{name}` is not in the pack"),
            Refusal::MissingLookup(lookup) => format!("the lookup `{lookup}` is not in the pack"),
            Refusal::MissingColumn { lookup, column } => {
                format!("the lookup `{lookup}` has no column `{column}`")
            }
            Refusal::TooManyRows { lookup, rows } => too_many_rows(lookup, *rows),
        }
    }
}

/// A lookup column resolved to its table and column index.
pub fn lookup_column<'p>(
    pack: &'p Pack,
    lookup: &str,
    column: &str,
) -> Result<(&'p ir::Lookup, usize), Refusal> {
    let table = pack
        .lookups
        .get(lookup)
        .ok_or_else(|| Refusal::MissingLookup(lookup.to_string()))?;
    let index = table
        .column_index(column)
        .ok_or_else(|| Refusal::MissingColumn {
            lookup: lookup.to_string(),
            column: column.to_string(),
        })?;
    Ok((table, index))
}

/// The needle strings of a list, lookup column or literal set, as the
/// evaluator sees them: list values and lookup cells through `text_of`,
/// empty lookup cells dropped, lookups of more than `max_rows` rows
/// refused. A narrowed lookup has no fixed needles (the caller handles it)
/// and gives none.
pub fn needles(
    pack: &Pack,
    set: &StringSet,
    max_rows: usize,
    text_of: fn(&Value) -> Option<String>,
) -> Result<Vec<String>, Refusal> {
    match set {
        StringSet::Literals(values) => Ok(values.clone()),
        StringSet::List(name) => match pack.lists.get(name) {
            Some(list) => Ok(list.values.iter().filter_map(text_of).collect()),
            None => Err(Refusal::MissingList(name.clone())),
        },
        StringSet::LookupColumn { lookup, column } => {
            let (table, index) = lookup_column(pack, lookup, column)?;
            if table.rows.len() > max_rows {
                return Err(Refusal::TooManyRows {
                    lookup: lookup.clone(),
                    rows: table.rows.len(),
                });
            }
            // Empty cells are no needles, as in the evaluator.
            Ok(table
                .rows
                .iter()
                .filter_map(|row| row.get(index).and_then(text_of))
                .filter(|text| !text.is_empty())
                .collect())
        }
        StringSet::NarrowedLookup { .. } => Ok(Vec::new()),
    }
}

/// A scalar as the text a string operator compares: strings as they are,
/// numbers and booleans in their display form, anything else none.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Int(value) => Some(value.to_string()),
        Value::Float(value) => Some(value.to_string()),
        Value::Bool(value) => Some(value.to_string()),
        _ => None,
    }
}

/// A text as part of an identifier every target accepts: ASCII letters and
/// digits lowercased, every other character `_`.
pub fn identifier_part(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The operator with its sides swapped: `c < f` is `f > c`.
pub fn mirror(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Less => CompareOp::Greater,
        CompareOp::LessEqual => CompareOp::GreaterEqual,
        CompareOp::Greater => CompareOp::Less,
        CompareOp::GreaterEqual => CompareOp::LessEqual,
        other => other,
    }
}

/// A comparison normalised to `field OP constant`.
pub struct Comparison<'e> {
    /// The field side.
    pub field: &'e Expr,
    /// The constant: a literal's or parameter's value.
    pub value: &'e Value,
    /// The operator, mirrored if the field was on the right.
    pub op: CompareOp,
}

/// `field OP constant` from either order of a field and a literal or
/// parameter; `None` for any other pair of sides (two fields, computed
/// values), which no target translates exactly.
pub fn field_versus_constant<'e>(
    op: CompareOp,
    left: &'e Expr,
    right: &'e Expr,
) -> Option<Comparison<'e>> {
    let (field, constant, op) = match (&left.kind, &right.kind) {
        (ExprKind::Field { .. }, ExprKind::Literal { .. } | ExprKind::Param { .. }) => {
            (left, right, op)
        }
        (ExprKind::Literal { .. } | ExprKind::Param { .. }, ExprKind::Field { .. }) => {
            (right, left, mirror(op))
        }
        _ => return None,
    };
    let (ExprKind::Literal { value } | ExprKind::Param { value, .. }) = &constant.kind else {
        return None;
    };
    Some(Comparison { field, value, op })
}

/// A number in decimal notation that reads back as the same type (a float
/// keeps a `.0`), or a boolean: the constants of EQL and ES|QL.
pub fn decimal_number_or_bool(value: &Value) -> Option<String> {
    match value {
        Value::Int(value) => Some(value.to_string()),
        Value::Float(value) if value.is_finite() => {
            let text = value.to_string();
            Some(if text.contains(['.', 'e', 'E']) {
                text
            } else {
                format!("{text}.0")
            })
        }
        Value::Bool(value) => Some(value.to_string()),
        _ => None,
    }
}

/// The rows of a tuple lookup grouped by their first cell (in comparison
/// form: case-folded unless `case_sensitive`): the first cell as the first
/// such row writes it, and the rest of every row of the group, in the order
/// of the comparison forms. A missing cell reads as empty.
pub fn rows_by_first_cell(
    table: &ir::Lookup,
    indexes: &[usize],
    case_sensitive: bool,
    text_of: fn(&Value) -> Option<String>,
) -> Vec<(String, Vec<Vec<String>>)> {
    let mut groups: BTreeMap<String, (String, Vec<Vec<String>>)> = BTreeMap::new();
    for row in &table.rows {
        let cells: Vec<String> = indexes
            .iter()
            .map(|index| row.get(*index).and_then(text_of).unwrap_or_default())
            .collect();
        let Some((first, rest)) = cells.split_first() else {
            continue;
        };
        let form = if case_sensitive {
            first.clone()
        } else {
            ir::case::fold(first)
        };
        groups
            .entry(form)
            .or_insert_with(|| (first.clone(), Vec::new()))
            .1
            .push(rest.to_vec());
    }
    groups.into_values().collect()
}

/// The needles of a narrowed lookup grouped by their rows' key cells:
/// rows whose key cells are equal in the key's comparison form (case-folded
/// unless `case_sensitive`) form one group, given as the first such row's
/// cells and every group row's needle, in the order of the comparison
/// forms. Rows with an empty needle cell are no needles, as in the
/// evaluator; a missing key cell reads as empty.
pub fn needles_by_key(
    table: &ir::Lookup,
    needle_index: usize,
    key_indexes: &[usize],
    case_sensitive: bool,
    text_of: fn(&Value) -> Option<String>,
) -> Vec<(Vec<String>, Vec<String>)> {
    let mut groups: BTreeMap<Vec<String>, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for row in &table.rows {
        let cells: Vec<String> = key_indexes
            .iter()
            .map(|index| row.get(*index).and_then(text_of).unwrap_or_default())
            .collect();
        let Some(needle) = row
            .get(needle_index)
            .and_then(text_of)
            .filter(|text| !text.is_empty())
        else {
            continue;
        };
        let form: Vec<String> = cells
            .iter()
            .map(|cell| {
                if case_sensitive {
                    cell.clone()
                } else {
                    ir::case::fold(cell)
                }
            })
            .collect();
        let entry = groups.entry(form).or_insert_with(|| (cells, Vec::new()));
        entry.1.push(needle);
    }
    groups.into_values().collect()
}

/// The members, sorted and distinct, of the case-insensitive class of
/// `character` under the evaluator's folding (Unicode simple case folding,
/// `ir::case`): every character that folds as it does. A single member is
/// a literal; the target renders the rest in its own class syntax.
pub fn case_class(character: char) -> Vec<char> {
    ir::case::orbit(character)
}

/// Whether case-insensitive comparison with `needle` is exactly
/// case-sensitive comparison: no character of it folds like another.
pub fn caseless(needle: &str) -> bool {
    needle
        .chars()
        .all(|character| ir::case::orbit(character).len() == 1)
}

/// Whether an engine whose case-insensitive matching folds ASCII letters
/// only (Elasticsearch's `case_insensitive`, Sigma's plain values) compares
/// `needle` as the evaluator does: ASCII, and no letter whose orbit has a
/// non-ASCII member (`k` has the Kelvin sign, `s` the long s).
pub fn ascii_foldable(needle: &str) -> bool {
    needle.chars().all(ir::case::ascii_orbit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_space_is_the_evaluators_whitespace() {
        for character in (0..=0x3000).filter_map(char::from_u32) {
            assert_eq!(
                FOLD_SPACE.contains(&character),
                crate::normalize::is_fold_space(character),
                "{character:?}"
            );
        }
    }

    #[test]
    fn a_needle_is_its_characters_and_runs_of_whitespace() {
        use NeedlePiece::{Char, SpaceRun};
        let pieces = |needle, fold| needle_pieces(needle, fold).collect::<Vec<_>>();
        assert_eq!(
            pieces("a \t\r\nb\u{0B}", true),
            [Char('a'), SpaceRun, Char('b'), SpaceRun]
        );
        assert_eq!(
            pieces(" a  b", false),
            [Char(' '), Char('a'), Char(' '), Char(' '), Char('b')]
        );
        // Only the evaluator's six fold: a no-break space is a character.
        assert_eq!(
            pieces("a\u{A0}b", true),
            [Char('a'), Char('\u{A0}'), Char('b')]
        );
        assert!(pieces("", true).is_empty());
    }

    #[test]
    fn mirror_swaps_only_the_ordering_operators() {
        assert_eq!(mirror(CompareOp::Less), CompareOp::Greater);
        assert_eq!(mirror(CompareOp::GreaterEqual), CompareOp::LessEqual);
        assert_eq!(mirror(CompareOp::Equal), CompareOp::Equal);
        assert_eq!(mirror(CompareOp::NotEqual), CompareOp::NotEqual);
    }

    #[test]
    fn case_classes_follow_the_evaluators_folding() {
        assert_eq!(case_class('a'), vec!['A', 'a']);
        assert_eq!(case_class('k'), vec!['K', 'k', '\u{212A}']);
        assert_eq!(case_class('1'), vec!['1']);
        assert_eq!(case_class('\u{0130}'), vec!['\u{0130}']);
        assert!(caseless("12-_"));
        assert!(!caseless("a1"));
        assert!(ascii_foldable("Tool_Name"));
        assert!(!ascii_foldable("key"));
        assert!(!ascii_foldable("SECRET"));
        assert!(!ascii_foldable("é"));
    }

    #[test]
    fn scalar_text_is_the_display_form_of_scalars() {
        assert_eq!(scalar_text(&Value::Int(3)), Some("3".to_string()));
        assert_eq!(scalar_text(&Value::Bool(true)), Some("true".to_string()));
        assert_eq!(
            scalar_text(&Value::String("x".into())),
            Some("x".to_string())
        );
    }
}

/// The whitespace that folding collapses, as the evaluator defines it
/// (`crate::normalize::is_fold_space`): space, tab, line feed, carriage
/// return, vertical tab and form feed.
pub const FOLD_SPACE: [char; 6] = [' ', '\t', '\n', '\r', '\u{0B}', '\u{0C}'];

/// A piece of a needle as the evaluator compares it with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedlePiece {
    /// One character, compared as itself (or by its case orbit).
    Char(char),
    /// A run of [`FOLD_SPACE`] characters of a needle compared with folded
    /// whitespace: it matches any run of them in the value.
    SpaceRun,
}

/// The pieces of `needle`: its characters, with each run of whitespace one
/// [`NeedlePiece::SpaceRun`] when `fold_whitespace`. Every target's regex
/// for a needle is these pieces, each spelled in the target's dialect.
pub fn needle_pieces(
    needle: &str,
    fold_whitespace: bool,
) -> impl Iterator<Item = NeedlePiece> + '_ {
    let mut characters = needle.chars().peekable();
    std::iter::from_fn(move || {
        let character = characters.next()?;
        if fold_whitespace && FOLD_SPACE.contains(&character) {
            while characters
                .next_if(|next| FOLD_SPACE.contains(next))
                .is_some()
            {}
            return Some(NeedlePiece::SpaceRun);
        }
        Some(NeedlePiece::Char(character))
    })
}
