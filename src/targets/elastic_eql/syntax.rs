//! [`Syntax`] for EQL: how each construct of a plan's filter is spelled.
//!
//! Every atomic test is made total where EQL's `null` could leak: a negated
//! operator is guarded with `field != null` (the language makes it false on
//! a missing field), and a test under `not` is guarded too, so that `not` of
//! a test on a missing field is true in Elasticsearch's two-valued filters
//! and in EQL's three-valued `null` logic alike. Elsewhere a test on a
//! missing field is `null`, which no filter accepts: it stays unguarded.
//! `and` and `or` are parenthesised by precedence only.

use super::quote::{eql_string, field_reference};
use crate::ir::{self, CompareOp, Pack, TextOp, Value, ValueType};
use crate::targets::Mapping;
use crate::targets::lower::FOLD_SPACE;
use crate::targets::lower::decimal_number_or_bool;
use crate::targets::lucene::{
    flag_needle_regex, flag_search_regex, needle_regex, plain_case_insensitive, search_regex,
};
use crate::targets::plan::{LookupRef, Pred};
use crate::targets::syntax::{Spelled, Syntax, Unsupported};

/// The most lookup rows inlined into one query.
pub const MAX_INLINED_ROWS: usize = 500;

/// EQL's spelling of one source's filter.
pub(super) struct Eql<'a> {
    pub(super) pack: &'a Pack,
    pub(super) mapping: &'a Mapping,
    /// The event types of the source, for the types of its fields.
    pub(super) types: &'a [String],
}

/// A mapped field reference.
pub(super) fn reference(mapping: &Mapping, canonical: &str) -> Result<String, Unsupported> {
    match mapping.field(canonical) {
        Some(field) => Ok(field_reference(&field.name)),
        None => Err(Unsupported(format!(
            "the field `{canonical}` has no mapping for this target"
        ))),
    }
}

impl Eql<'_> {
    fn field(&self, canonical: &str) -> Result<String, Unsupported> {
        reference(self.mapping, canonical)
    }
}

/// Whether a predicate prints as an `and` (`Some(true)`) or an `or`
/// (`Some(false)`) of several operands, or binds tighter than both.
pub(super) fn junction(pred: &Pred) -> Option<bool> {
    match pred {
        Pred::And(operands) | Pred::Or(operands) if operands.len() == 1 => junction(&operands[0]),
        Pred::And(operands) if operands.len() > 1 => Some(true),
        Pred::Or(operands) if operands.len() > 1 => Some(false),
        _ => None,
    }
}

impl Syntax for Eql<'_> {
    fn target(&self) -> &'static str {
        super::ID
    }

    fn not(&self, operand: String) -> String {
        format!("not {}", wrap(&operand))
    }

    fn join(&self, all: bool, operands: Vec<(&Pred, String)>) -> String {
        let texts: Vec<String> = operands
            .into_iter()
            .map(|(pred, text)| {
                if junction(pred) == Some(!all) {
                    format!("({text})")
                } else {
                    text
                }
            })
            .collect();
        texts.join(if all { " and " } else { " or " })
    }

    fn guarded(
        &self,
        presence: Vec<String>,
        body: String,
        negated: bool,
        under_not: bool,
    ) -> String {
        let presence = presence.join(" and ");
        match (presence.is_empty(), negated) {
            (true, true) => self.not(body),
            (true, false) => body,
            (false, true) => format!("({presence} and not {})", wrap(&body)),
            (false, false) if under_not => format!("({presence} and {body})"),
            (false, false) => body,
        }
    }

    fn refuse_each(&self) -> bool {
        true
    }

    fn exists(&self, field: &str) -> Spelled {
        Ok(format!("{} != null", self.field(field)?))
    }

    fn compare(&self, field: &str, _: ValueType, op: CompareOp, value: &Value) -> Spelled {
        let value = decimal_number_or_bool(value).ok_or_else(|| {
            Unsupported("the compared value is not a number or boolean".to_string())
        })?;
        Ok(format!("{} {} {value}", self.field(field)?, op.symbol()))
    }

    /// Case-sensitive: `in` for equality, otherwise `regex` (an anchored
    /// Lucene regex per needle). Case-insensitive, the operators with a `~`
    /// (https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-syntax.html):
    /// `in~` for equality and `like~` for a wildcard where Elasticsearch's
    /// case-insensitive matching folds as the evaluator does whatever its
    /// version (ASCII needles without `k` or `s`: [`plain_case_insensitive`]);
    /// otherwise `regex~` with the Kelvin sign and the long s written beside
    /// their letters ([`flag_needle_regex`]); a needle with `İ` or `ı`, whose
    /// folding differs between Elasticsearch versions, as a case-sensitive
    /// `regex` of explicit classes.
    fn text(
        &self,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> Spelled {
        if let Some(value_type) = self.pack.schema.non_string_type(self.types, field) {
            return Err(Unsupported(format!(
                "a string operator on the {} field `{field}` has no EQL equivalent",
                value_type.name()
            )));
        }
        let reference = self.field(field)?;
        let mut plain = Vec::new();
        let mut wildcards = Vec::new();
        let mut flagged = Vec::new();
        let mut regexes = Vec::new();
        for needle in needles {
            let folds = fold_whitespace && needle.chars().any(|c| FOLD_SPACE.contains(&c));
            let ascii = !case_sensitive && plain_case_insensitive(needle);
            if op == TextOp::Equals && !folds && (case_sensitive || ascii) {
                plain.push(eql_string(needle));
            } else if ascii && !folds && !needle.is_empty() && !needle.contains(['*', '?', '\\']) {
                let (before, after) = match op {
                    TextOp::Contains => ("*", "*"),
                    TextOp::StartsWith => ("", "*"),
                    TextOp::EndsWith => ("*", ""),
                    TextOp::Equals => ("", ""),
                };
                wildcards.push(eql_string(&format!("{before}{needle}{after}")));
            } else if let Some(regex) = (!case_sensitive)
                .then(|| flag_needle_regex(needle, op, fold_whitespace))
                .flatten()
            {
                flagged.push(eql_string(&regex.map_err(Unsupported)?));
            } else {
                let regex = needle_regex(needle, op, case_sensitive, fold_whitespace)
                    .map_err(Unsupported)?;
                regexes.push(eql_string(&regex));
            }
        }
        let mut tests = Vec::new();
        if !plain.is_empty() {
            let operator = if case_sensitive { "in" } else { "in~" };
            tests.push(format!("{reference} {operator} ({})", plain.join(", ")));
        }
        for (operator, values) in [
            ("like~", wildcards),
            ("regex~", flagged),
            ("regex", regexes),
        ] {
            if !values.is_empty() {
                tests.push(format!("{reference} {operator} ({})", values.join(", ")));
            }
        }
        Ok(match tests.len() {
            1 => tests.remove(0),
            _ => format!("({})", tests.join(" or ")),
        })
    }

    /// A case-insensitive regex as `regex~` where its spelling reads alike
    /// under every Elasticsearch version's folding ([`flag_search_regex`]),
    /// otherwise as a case-sensitive `regex` of explicit classes.
    fn regex(&self, field: &str, patterns: &[ir::Regex]) -> Spelled {
        let mut flagged = Vec::new();
        let mut translated = Vec::new();
        for regex in patterns {
            let located =
                |reason: String| Unsupported(format!("the regex /{}/: {reason}", regex.pattern));
            if regex.case_insensitive
                && let Some(text) = flag_search_regex(&regex.pattern).map_err(located)?
            {
                flagged.push(eql_string(&text));
                continue;
            }
            let text = search_regex(&regex.pattern, regex.case_insensitive).map_err(located)?;
            translated.push(eql_string(&text));
        }
        let reference = self.field(field)?;
        let mut tests = Vec::new();
        for (operator, values) in [("regex~", flagged), ("regex", translated)] {
            if !values.is_empty() {
                tests.push(format!("{reference} {operator} ({})", values.join(", ")));
            }
        }
        Ok(match tests.len() {
            1 => tests.remove(0),
            _ => format!("({})", tests.join(" or ")),
        })
    }

    fn values(&self, field: &str, values: &[Value]) -> Spelled {
        let items = values
            .iter()
            .map(decimal_number_or_bool)
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| {
                Unsupported("a membership value is not a number or boolean".to_string())
            })?;
        Ok(format!("{} in ({})", self.field(field)?, items.join(", ")))
    }

    fn cidr(&self, field: &str, field_type: ValueType, networks: &[String]) -> Spelled {
        if field_type != ValueType::Ip {
            return Err(Unsupported(format!(
                "`{field}` is a {} field: EQL's cidrMatch needs an `ip` field, and matching every textual form of IPv6 addresses with a regex is not exact",
                field_type.name()
            )));
        }
        let networks: Vec<String> = networks.iter().map(|network| eql_string(network)).collect();
        Ok(format!(
            "cidrMatch({}, {})",
            self.field(field)?,
            networks.join(", ")
        ))
    }

    fn max_inlined_rows(&self) -> usize {
        MAX_INLINED_ROWS
    }

    fn too_many_rows(&self, lookup: &LookupRef) -> String {
        format!(
            "the lookup `{}` has {} rows; the EQL target inlines at most {MAX_INLINED_ROWS} rows into a query",
            lookup.name, lookup.rows
        )
    }
}

/// `text` in parentheses unless they already enclose all of it.
fn wrap(text: &str) -> String {
    if text.starts_with('(') && text.ends_with(')') && balanced_outer(text) {
        text.to_string()
    } else {
        format!("({text})")
    }
}

/// Whether the first `(` closes at the last character (ignoring strings).
fn balanced_outer(text: &str) -> bool {
    let mut depth = 0_i32;
    let mut in_string = false;
    let mut escaped = false;
    let characters: Vec<char> = text.chars().collect();
    for (index, character) in characters.iter().enumerate() {
        if in_string {
            match (escaped, character) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match character {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && index + 1 != characters.len() {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}
