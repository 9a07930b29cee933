//! [`Syntax`] for Kusto: how the `sentinel_kql` target spells each filter
//! construct of a [`plan`](crate::targets::plan).
//!
//! Every atomic test is made total (true or false, never null) by the
//! presence of its fields (`isnotempty` for string columns, which Kusto
//! stores as empty when absent, `isnotnull` otherwise): `present and (test)`,
//! negated `present and not(test)`, so a negated operator is false on a
//! missing field and `not (...)` of a test on a missing field is true, as in
//! the evaluator. Operands of `and`/`or` are parenthesised one by one; a
//! lookup test is an OR over its rows, one row a line.

use std::collections::BTreeMap;

use super::quote::{column_reference, kusto_string};
use crate::ir::{self, CompareOp, Schema, TextOp, Value, ValueType};
use crate::targets::Mapping;
use crate::targets::lookup_ref::{self, FOLDED_TO_ASCII};
use crate::targets::plan::LookupRef;
use crate::targets::re2::{self, needles_regex, search_regex};
use crate::targets::syntax::{Spelled, Syntax, Unsupported};

/// The most lookup rows inlined into one query.
pub const MAX_INLINED_ROWS: usize = 500;

/// Kusto over the mapped columns of the events of one source.
pub(super) struct Kusto<'a> {
    pub(super) mapping: &'a Mapping,
    pub(super) schema: &'a Schema,
    /// The event types the source reads, for the schema types of fields.
    pub(super) types: &'a [String],
    /// The pack's lookups, for membership by watchlist.
    pub(super) lookups: &'a BTreeMap<String, ir::Lookup>,
}

/// The watchlist column that holds a lookup's keys (its `SearchKey`).
pub const WATCHLIST_KEY: &str = "key";

/// The most CSV a watchlist takes as `rawContent` ("content size below
/// 3.8 MB"; larger ones need a storage SAS URI:
/// https://learn.microsoft.com/en-gb/cli/azure/sentinel/watchlist), read
/// as 3,800,000 bytes to stay on the safe side of either megabyte.
pub const MAX_WATCHLIST_BYTES: usize = 3_800_000;

/// What an event value may consist of to be compared through `tolower`:
pub use crate::targets::lookup_ref::LOWERABLE;

/// A mapped column reference and its Kusto type.
pub(super) fn column<'m>(
    mapping: &'m Mapping,
    field: &str,
) -> Result<(String, &'m str), Unsupported> {
    match mapping.field(field) {
        Some(target) => Ok((column_reference(&target.name), &target.field_type)),
        None => Err(Unsupported(format!(
            "the field `{field}` has no mapping for this target"
        ))),
    }
}

/// The presence test of a field: `isnotempty` for a string column, which
/// holds `""` when the field is absent, `isnotnull` otherwise.
pub(super) fn presence(mapping: &Mapping, field: &str) -> Spelled {
    null_test(mapping, field, ["isnotempty", "isnotnull"])
}

/// The negation of [`presence`]: `isempty` for a string column, `isnull`
/// otherwise.
pub(super) fn absence(mapping: &Mapping, field: &str) -> Spelled {
    null_test(mapping, field, ["isempty", "isnull"])
}

/// `function(column)`, with the string column's function first.
fn null_test(mapping: &Mapping, field: &str, [string, other]: [&str; 2]) -> Spelled {
    let (column, kind) = column(mapping, field)?;
    let function = if kind == "string" { string } else { other };
    Ok(format!("{function}({column})"))
}

/// A Kusto string literal, or why there is none.
pub(super) fn string(text: &str) -> Spelled {
    kusto_string(text).map_err(Unsupported)
}

/// A number or boolean constant, typed (`long(3)`, `real(0.5)`, `true`).
pub(super) fn number_or_bool(value: &Value) -> Option<String> {
    match value {
        Value::Int(number) => Some(format!("long({number})")),
        Value::Float(number) if number.is_finite() => Some(format!("real({number:?})")),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// One regex of a test as RE2.
fn pattern(regex: &ir::Regex) -> Result<String, Unsupported> {
    search_regex(&re2::RE2, &regex.pattern, regex.case_insensitive)
        .map_err(|reason| Unsupported(format!("the regex /{}/: {reason}", regex.pattern)))
}

/// The patterns of one test as one RE2 alternation. When every pattern is
/// under `(?i)` (a case-insensitive list), one flag at the front serves them
/// all: a flag set outside any group holds to the end of the regex, across
/// `|` ("set flags within current group", <https://github.com/google/re2/wiki/Syntax>),
/// and the translated patterns set no bare flags of their own (only scoped
/// groups such as `(?m:^)`). That saves the repeated `(?:(?i)...)` a long
/// list would spend against Sentinel's 10,000-character query limit.
fn alternation(patterns: &[String]) -> String {
    let bare: Option<Vec<&str>> = patterns
        .iter()
        .map(|text| text.strip_prefix("(?i)"))
        .collect();
    match bare {
        Some(bare) if !bare.is_empty() => format!("(?i){}", bare.join("|")),
        _ => patterns
            .iter()
            .map(|text| format!("(?:{text})"))
            .collect::<Vec<String>>()
            .join("|"),
    }
}

/// Whether Kusto text has an `or` outside parentheses and string literals,
/// so that an `and` next to it would bind only part of it.
fn bare_or(text: &str) -> bool {
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    let mut previous = ' ';
    for (index, character) in text.char_indices() {
        if quoted {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
        } else {
            match character {
                '"' => quoted = true,
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                'o' if depth == 0
                    && previous.is_whitespace()
                    && text[index..].starts_with("or ") =>
                {
                    return true;
                }
                _ => {}
            }
        }
        previous = character;
    }
    false
}

impl Kusto<'_> {
    /// The schema type of a field on the source's events.
    fn value_type(&self, field: &str) -> Option<ValueType> {
        self.types
            .iter()
            .find_map(|event| self.schema.field(event, field))
            .or_else(|| {
                self.schema
                    .common
                    .iter()
                    .find(|common| common.name == field)
            })
            .map(|found| found.value_type)
    }

    fn column(&self, field: &str) -> Result<String, Unsupported> {
        column(self.mapping, field).map(|(column, _)| column)
    }

    /// `(text is an IPv4 address and [not] in the IPv4 networks) or (the
    /// same for IPv6)`: false on any other text, negated or not.
    fn cidr_by_family(&self, field: &str, networks: &[String], negated: bool) -> Spelled {
        let column = self.column(field)?;
        let families = ir::network::by_family(networks)
            .ok_or_else(|| Unsupported("a network is not in CIDR notation".to_string()))?;
        let mut tests = Vec::new();
        for (pattern, function, list) in [
            (
                ir::network::ipv4_text(),
                "ipv4_is_in_any_range",
                &families.v4,
            ),
            (
                ir::network::ipv6_text(),
                "ipv6_is_in_any_range",
                &families.v6,
            ),
        ] {
            let pattern = string(&pattern)?;
            let test = if list.is_empty() {
                None
            } else {
                let networks = list
                    .iter()
                    .map(|network| string(network))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(format!(
                    "{function}(extract({pattern}, 1, {column}), {})",
                    networks.join(", ")
                ))
            };
            match (test, negated) {
                (Some(test), false) => {
                    tests.push(format!("({column} matches regex {pattern} and {test})"))
                }
                (Some(test), true) => tests.push(format!(
                    "({column} matches regex {pattern} and not({test}))"
                )),
                (None, false) => {}
                (None, true) => tests.push(format!("({column} matches regex {pattern})")),
            }
        }
        if tests.is_empty() {
            return Ok(self.constant(false));
        }
        Ok(tests.join(" or "))
    }
}

impl Kusto<'_> {
    /// The body of a membership test by watchlist.
    fn watchlist_test(&self, fields: &[String], separator: &str, lookup: &str) -> Spelled {
        let lowerable = string(LOWERABLE)?;
        let mut guards = Vec::new();
        let mut parts = Vec::new();
        for field in fields {
            if let Some(value_type) = self.value_type(field)
                && value_type != ValueType::String
            {
                return Err(Unsupported(format!(
                    "a lookup test on the {} field `{field}`",
                    value_type.name()
                )));
            }
            let column = self.column(field)?;
            guards.push(format!("{column} matches regex {lowerable}"));
            parts.push(separator.to_string());
            let mut folded = column.clone();
            for (from, to) in FOLDED_TO_ASCII {
                folded = format!(
                    "replace_string({folded}, {}, {})",
                    string(&from.to_string())?,
                    string(&to.to_string())?
                );
            }
            parts.push(format!("tolower({folded})"));
        }
        let alias = string(&lookup_ref::shipped_name(lookup))?;
        guards.push(format!(
            "strcat({}) in ((_GetWatchlist({alias}) | project SearchKey))",
            parts.join(", ")
        ));
        Ok(guards.join(" and "))
    }
}

impl Syntax for Kusto<'_> {
    fn target(&self) -> &'static str {
        super::ID
    }

    fn and(&self, operands: Vec<String>) -> String {
        let operands: Vec<String> = operands.iter().map(|part| format!("({part})")).collect();
        operands.join(" and ")
    }

    fn or(&self, operands: Vec<String>) -> String {
        let operands: Vec<String> = operands.iter().map(|part| format!("({part})")).collect();
        operands.join(" or ")
    }

    fn not(&self, operand: String) -> String {
        format!("not({operand})")
    }

    fn exists(&self, field: &str) -> Spelled {
        presence(self.mapping, field)
    }

    fn absent(&self, field: &str) -> Option<Spelled> {
        Some(absence(self.mapping, field))
    }

    fn compare(&self, field: &str, _: ValueType, op: CompareOp, value: &Value) -> Spelled {
        let value = number_or_bool(value).ok_or_else(|| {
            Unsupported("the compared value is not a number or boolean".to_string())
        })?;
        Ok(format!("{} {} {value}", self.column(field)?, op.symbol()))
    }

    /// Case-sensitive tests without folding use Kusto's ordinal operators;
    /// everything else an RE2 regex with explicit case classes.
    fn text(
        &self,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> Spelled {
        if let Some(value_type) = self.value_type(field)
            && value_type != ValueType::String
        {
            return Err(Unsupported(format!(
                "a string operator on the {} field `{field}`",
                value_type.name()
            )));
        }
        let column = self.column(field)?;
        if case_sensitive && !fold_whitespace {
            let literals = needles
                .iter()
                .map(|needle| string(needle))
                .collect::<Result<Vec<String>, Unsupported>>()?;
            let operator = match op {
                TextOp::Equals => return Ok(format!("{column} in ({})", literals.join(", "))),
                TextOp::Contains => "contains_cs",
                TextOp::StartsWith => "startswith_cs",
                _ => "endswith_cs",
            };
            let tests: Vec<String> = literals
                .iter()
                .map(|literal| format!("{column} {operator} {literal}"))
                .collect();
            return Ok(tests.join(" or "));
        }
        let pattern = needles_regex(&re2::RE2, needles, op, case_sensitive, fold_whitespace)
            .map_err(Unsupported)?;
        Ok(format!("{column} matches regex {}", string(&pattern)?))
    }

    fn regex(&self, field: &str, patterns: &[ir::Regex]) -> Spelled {
        let column = self.column(field)?;
        let translated = patterns
            .iter()
            .map(pattern)
            .collect::<Result<Vec<String>, Unsupported>>()?;
        Ok(format!(
            "{column} matches regex {}",
            string(&alternation(&translated))?
        ))
    }

    fn values(&self, field: &str, values: &[Value]) -> Spelled {
        let column = self.column(field)?;
        let tests = values
            .iter()
            .map(|value| number_or_bool(value).map(|text| format!("{column} == {text}")))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| {
                Unsupported("a membership value is not a number or boolean".to_string())
            })?;
        Ok(tests.join(" or "))
    }

    /// Always spelled by [`Syntax::cidr_total`].
    fn cidr(&self, field: &str, _: ValueType, networks: &[String]) -> Spelled {
        self.cidr_total(field, networks, false)
            .unwrap_or_else(|| Err(self.lacks("network membership tests")))
    }

    /// Per address family, as Kusto's address functions are: a text that
    /// Rust parses as an IPv4 address (trimmed, strict dotted quad) is
    /// tested with `ipv4_is_in_any_range`, an IPv6 one with
    /// `ipv6_is_in_any_range`, each against its family's networks
    /// ([`ir::network::by_family`]); any other text is neither in nor out,
    /// as in the evaluator. The patterns admit exactly the evaluator's
    /// spellings, so the functions never see one it rejects (Kusto's
    /// parsers take more, such as zone indexes), and they see only
    /// strings they convert, so they are never null:
    /// https://learn.microsoft.com/en-us/kusto/query/ipv4-is-in-any-range-function
    /// https://learn.microsoft.com/en-us/kusto/query/ipv6-is-in-any-range-function
    fn cidr_total(&self, field: &str, networks: &[String], negated: bool) -> Option<Spelled> {
        Some(self.cidr_by_family(field, networks, negated))
    }

    fn max_inlined_rows(&self) -> usize {
        MAX_INLINED_ROWS
    }

    /// Lookups over the mapping's inline limit whose keys are shipped as a
    /// watchlist: `key in (_GetWatchlist(alias) | project SearchKey)`, the
    /// event key built as the watchlist's (lowercase, separator before each
    /// value). Kusto documents `tolower` only by an ASCII example
    /// (https://learn.microsoft.com/en-us/azure/data-explorer/kusto/query/tolowerfunction),
    /// so the values must be ASCII or the Kelvin sign, which is replaced by
    /// `k` first; any other value lowercases to non-ASCII in the evaluator
    /// and is no member. `in` with a tabular operand compares exactly
    /// (https://learn.microsoft.com/en-us/azure/data-explorer/kusto/query/in-operator);
    /// watchlists in queries and rules:
    /// https://github.com/MicrosoftDocs/azure-docs/blob/main/articles/sentinel/watchlists-queries.md
    fn reference(
        &self,
        fields: &[String],
        rows: &[Vec<String>],
        lookup: &LookupRef,
    ) -> Option<Spelled> {
        let shipped = lookup_ref::read_by_reference(
            self.lookups.get(&lookup.name),
            rows,
            self.mapping.inline_rows(),
            lookup_ref::shipped,
        )?;
        let bytes = lookup_ref::keys_csv(WATCHLIST_KEY, &shipped).len();
        if bytes > MAX_WATCHLIST_BYTES {
            return Some(Err(Unsupported(format!(
                "the watchlist of the lookup `{}` would hold {bytes} bytes of CSV; a watchlist created from `rawContent` takes at most {MAX_WATCHLIST_BYTES} (https://learn.microsoft.com/en-gb/cli/azure/sentinel/watchlist)",
                lookup.name
            ))));
        }
        let separator = string(&shipped.separator.to_string()).ok()?;
        Some(self.watchlist_test(fields, &separator, &lookup.name))
    }

    fn too_many_rows(&self, lookup: &LookupRef) -> String {
        format!(
            "the lookup `{}` has {} rows; the Sentinel target inlines at most {MAX_INLINED_ROWS} rows into a query",
            lookup.name, lookup.rows
        )
    }

    /// `present and (test)`, `present and not(test)`; a test on fields
    /// every event carries alone (every use of it is parenthesised).
    fn guarded(
        &self,
        presence: Vec<String>,
        body: String,
        negated: bool,
        _under_not: bool,
    ) -> String {
        match (presence.is_empty(), negated) {
            (true, false) => body,
            (true, true) => self.not(body),
            (false, false) => format!("{} and ({body})", presence.join(" and ")),
            (false, true) => format!("{} and {}", presence.join(" and "), self.not(body)),
        }
    }

    fn lookup_and(&self, tests: Vec<String>) -> String {
        let tests: Vec<String> = tests
            .into_iter()
            .map(|test| {
                if bare_or(&test) {
                    format!("({test})")
                } else {
                    test
                }
            })
            .collect();
        format!("({})", tests.join(" and "))
    }

    fn lookup_or(&self, alternatives: Vec<String>) -> String {
        alternatives.join("\n    or ")
    }

    /// One key or first cell per line.
    fn alternatives(&self, alternatives: Vec<String>) -> String {
        self.lookup_or(alternatives)
    }

    /// Every pattern of a regex list that has no RE2 form is reported.
    fn refuse_each(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_or_is_one_outside_parentheses_and_strings() {
        assert!(bare_or(r#"A contains_cs "x" or A contains_cs "y""#));
        assert!(bare_or("(a)\n    or (b)"));
        assert!(!bare_or(r#"A in ("x or y", "z")"#));
        assert!(!bare_or(r#"A matches regex "a\" or b""#));
        assert!(!bare_or("(a or b)"));
        assert!(!bare_or("Color == 1"));
    }

    #[test]
    fn case_insensitive_patterns_share_one_flag_and_mixed_ones_keep_their_own() {
        let folded = ["(?i)ignore\\W+all".to_string(), "(?i)a|b".to_string()];
        assert_eq!(alternation(&folded), "(?i)ignore\\W+all|a|b");
        let mixed = ["(?i)ignore".to_string(), "Ignore".to_string()];
        assert_eq!(alternation(&mixed), "(?:(?i)ignore)|(?:Ignore)");
        assert_eq!(alternation(&["[Kk]".to_string()]), "(?:[Kk])");
    }
}
