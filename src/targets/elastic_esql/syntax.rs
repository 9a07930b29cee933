//! [`Syntax`] for ES|QL filters.
//!
//! ES|QL has three-valued logic: a test on a missing field is `null`, and
//! `WHERE` keeps only `true` rows. `AND`/`OR` with a `null` side give the
//! same rows as with a `false` side, but `NOT null` is `null`: so a negated
//! operator is written `(f IS NOT NULL AND NOT (...))` (false on a missing
//! field, as in the evaluator) and every test under `NOT` is made total with
//! `f IS NOT NULL AND ...`, so that the `NOT` is true on a missing field.
//! Case-sensitive equality is `==`/`IN` (an exact keyword comparison);
//! case-insensitive tests of ASCII needles and case-insensitive regexes
//! compare the lowercased value (`TO_LOWER`, [`lowered_value`]) with `==`,
//! `IN`, `LIKE` or `RLIKE`; every other string test is an anchored Lucene
//! regex per needle (`elastic_eql`'s, with the evaluator's case classes and
//! whitespace runs).

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::lookup;
use super::quote::{esql_string, field_reference};
use crate::ir::{self, CompareOp, Schema, TextOp, Value, ValueType};
use crate::targets::Mapping;
use crate::targets::lookup_ref::Join;
use crate::targets::lower::FOLD_SPACE;
use crate::targets::lower::{self, decimal_number_or_bool};
use crate::targets::lucene::{lowered_search_regex, needle_regex, search_regex};
use crate::targets::plan::LookupRef;
use crate::targets::syntax::{Spelled, Syntax, Unsupported, parenthesised};

/// The most lookup rows inlined into one query.
pub const MAX_INLINED_ROWS: usize = 500;

/// ES|QL over the ECS-mapped fields of the events of one source.
pub(super) struct Esql<'a> {
    pub(super) mapping: &'a Mapping,
    pub(super) schema: &'a Schema,
    /// The event types the source reads, for the schema types of fields.
    pub(super) types: &'a [String],
    /// The pack's lookups, for membership by lookup index.
    pub(super) lookups: &'a BTreeMap<String, ir::Lookup>,
    /// Where a filter may read lookup indexes (the source's filter, before
    /// any `STATS`): the joins its tests need, gathered while it is
    /// spelled. `None` inlines every lookup.
    pub(super) joins: Option<&'a RefCell<Vec<Join>>>,
}

impl Esql<'_> {
    /// A mapped field reference.
    pub(super) fn field(&self, canonical: &str) -> Result<String, Unsupported> {
        match self.mapping.field(canonical) {
            Some(field) => Ok(field_reference(&field.name)),
            None => Err(Unsupported(format!(
                "the field `{canonical}` has no mapping for this target"
            ))),
        }
    }
}

impl Syntax for Esql<'_> {
    fn target(&self) -> &'static str {
        super::ID
    }

    /// Each operand parenthesised, as the rule's own `and` is written.
    fn and(&self, operands: Vec<String>) -> String {
        parenthesised(&operands).join(" AND ")
    }

    fn or(&self, operands: Vec<String>) -> String {
        parenthesised(&operands).join(" OR ")
    }

    fn not(&self, operand: String) -> String {
        format!("NOT ({operand})")
    }

    fn exists(&self, field: &str) -> Spelled {
        Ok(format!("{} IS NOT NULL", self.field(field)?))
    }

    fn absent(&self, field: &str) -> Option<Spelled> {
        Some(self.field(field).map(|field| format!("{field} IS NULL")))
    }

    fn compare(&self, field: &str, _: ValueType, op: CompareOp, value: &Value) -> Spelled {
        let value = decimal_number_or_bool(value)
            .ok_or_else(|| Unsupported("the compared value is not a number or boolean".into()))?;
        Ok(format!("{} {} {value}", self.field(field)?, op.symbol()))
    }

    fn text(
        &self,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> Spelled {
        let reference = self.field(field)?;
        if let Some(value_type) = self.schema.non_string_type(self.types, field) {
            return Err(Unsupported(format!(
                "a string operator on the {} field `{field}` has no exact ES|QL translation",
                value_type.name()
            )));
        }
        if op == TextOp::Equals && case_sensitive && !fold_whitespace {
            let literals: Vec<String> = needles.iter().map(|needle| esql_string(needle)).collect();
            return Ok(match literals.as_slice() {
                [single] => format!("{reference} == {single}"),
                many => format!("{reference} IN ({})", many.join(", ")),
            });
        }
        let mut tests = Vec::new();
        let mut classes: Vec<&String> = Vec::new();
        if case_sensitive {
            classes.extend(needles);
        } else {
            // ASCII needles compare with the lowercased value; any other
            // keeps the classes of its characters' case variants.
            // Needles without case variants (digits, punctuation) compare
            // with the value as it is.
            let (ascii, other): (Vec<&String>, Vec<&String>) =
                needles.iter().partition(|needle| needle.is_ascii());
            classes.extend(other);
            let (caseless, cased): (Vec<&String>, Vec<&String>) = ascii
                .into_iter()
                .partition(|needle| lower::caseless(needle));
            for (group, lowered) in [(caseless, false), (cased, true)] {
                if !group.is_empty() {
                    tests.extend(lowered_tests(
                        &reference,
                        op,
                        fold_whitespace,
                        &group,
                        lowered,
                    )?);
                }
            }
        }
        for needle in classes {
            let regex =
                needle_regex(needle, op, case_sensitive, fold_whitespace).map_err(Unsupported)?;
            tests.push(format!("{reference} RLIKE {}", esql_string(&regex)));
        }
        Ok(any(tests))
    }

    fn regex(&self, field: &str, patterns: &[ir::Regex]) -> Spelled {
        let reference = self.field(field)?;
        if let Some(value_type) = self.schema.non_string_type(self.types, field) {
            return Err(Unsupported(format!(
                "a regex on the {} field `{field}` has no exact ES|QL translation",
                value_type.name()
            )));
        }
        let mut tests = Vec::new();
        for regex in patterns {
            let located =
                |reason: String| Unsupported(format!("the regex /{}/: {reason}", regex.pattern));
            if regex.case_insensitive
                && let Some(text) = lowered_search_regex(&regex.pattern).map_err(located)?
            {
                let value = lowered_value(&reference, true, true);
                tests.push(format!("{value} RLIKE {}", esql_string(&text)));
                continue;
            }
            let text = search_regex(&regex.pattern, regex.case_insensitive).map_err(located)?;
            tests.push(format!("{reference} RLIKE {}", esql_string(&text)));
        }
        Ok(any(tests))
    }

    fn values(&self, field: &str, values: &[Value]) -> Spelled {
        let items = values
            .iter()
            .map(decimal_number_or_bool)
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| Unsupported("a membership value is not a number or boolean".into()))?;
        Ok(format!("{} IN ({})", self.field(field)?, items.join(", ")))
    }

    fn cidr(&self, field: &str, field_type: ValueType, networks: &[String]) -> Spelled {
        let reference = self.field(field)?;
        if field_type != ValueType::Ip {
            return Err(Unsupported(format!(
                "`{field}` is a {} field: CIDR_MATCH needs an `ip` field, and matching every textual form of an address with a regex is not exact",
                field_type.name()
            )));
        }
        // Elasticsearch keeps an IPv4 address as its IPv4-mapped IPv6 form,
        // and so does the language, so IPv6 networks mean the same here:
        // https://www.elastic.co/guide/en/elasticsearch/reference/current/ip.html
        let items: Vec<String> = networks
            .iter()
            .map(|network| esql_string(network))
            .collect();
        Ok(format!("CIDR_MATCH({reference}, {})", items.join(", ")))
    }

    fn max_inlined_rows(&self) -> usize {
        MAX_INLINED_ROWS
    }

    /// Lookups over the mapping's inline limit that the target ships as a
    /// lookup index ([`lookup`]): the event's key is joined to it before
    /// the filter, which tests that the join found it. One join per lookup
    /// and query: a second test of the same lookup on other fields is
    /// inlined.
    fn reference(
        &self,
        fields: &[String],
        rows: &[Vec<String>],
        lookup_ref: &LookupRef,
    ) -> Option<Spelled> {
        let joins = self.joins?;
        let shipped = crate::targets::lookup_ref::read_by_reference(
            self.lookups.get(&lookup_ref.name),
            rows,
            self.mapping.inline_rows(),
            lookup::shipped,
        )?;
        let mut columns = Vec::new();
        for field in fields {
            if let Some(value_type) = self.schema.non_string_type(self.types, field) {
                return Some(Err(Unsupported(format!(
                    "a lookup test on the {} field `{field}` has no exact ES|QL translation",
                    value_type.name()
                ))));
            }
            match self.field(field) {
                Ok(column) => columns.push(column),
                Err(problem) => return Some(Err(problem)),
            }
        }
        let join = Join {
            lookup: lookup_ref.name.clone(),
            separator: shipped.separator,
            fields: columns,
        };
        if !crate::targets::lookup_ref::record(&mut joins.borrow_mut(), join) {
            return None;
        }
        Some(Ok(format!(
            "{} IS NOT NULL",
            lookup::found_column(&lookup_ref.name)
        )))
    }

    fn too_many_rows(&self, lookup: &LookupRef) -> String {
        format!(
            "the lookup `{}` has {} rows; the ES|QL target inlines at most {MAX_INLINED_ROWS} rows into a query",
            lookup.name, lookup.rows
        )
    }

    /// Only where a `null` could turn true: a negated test, a test under `NOT`.
    fn guarded(
        &self,
        mut presence: Vec<String>,
        body: String,
        negated: bool,
        under_not: bool,
    ) -> String {
        if !negated && !under_not {
            return body;
        }
        let body = if negated { self.not(body) } else { body };
        if presence.is_empty() {
            return body;
        }
        presence.push(body);
        format!("({})", presence.join(" AND "))
    }

    fn lookup_and(&self, tests: Vec<String>) -> String {
        format!("({})", tests.join(" AND "))
    }

    fn lookup_or(&self, alternatives: Vec<String>) -> String {
        any(alternatives)
    }

    /// The alternatives of a lookup test, as the rows of a tuple lookup.
    fn alternatives(&self, alternatives: Vec<String>) -> String {
        self.lookup_or(alternatives)
    }

    /// Every needle, pattern or lookup cell with no form is its own problem.
    fn refuse_each(&self) -> bool {
        true
    }
}

/// An OR of tests; `false` when there are none. Long ORs are nested as a
/// balanced tree of parenthesised halves, so the expression depth grows with
/// the logarithm of the number of tests (a flat `a OR b OR ...` parses
/// left-deep, and Elasticsearch's ES|QL parser bounds expression depth).
/// The value as case-insensitive tests of ASCII needles read it:
/// `TO_LOWER`, which is Java's `String.toLowerCase`
/// (https://elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions/to_lower;
/// under the request's default locale, not a Turkish, Azeri or Lithuanian
/// one). Checked on every code point of Java 17: it lowercases ASCII
/// letters as the evaluator folds them and the Kelvin sign to `k`, keeps the
/// long s (which the evaluator folds to `s`), turns `İ` into `i` and a
/// combining dot (the evaluator folds `İ` to itself), and maps nothing else
/// to ASCII. So the long s is replaced with `s` first when a needle has an
/// `s` (`long_s`), and `İ` with `ı` (which no ASCII needle matches, as `İ`
/// does not in the evaluator) when a needle could end on the `i` (`dotted`).
fn lowered_value(reference: &str, long_s: bool, dotted: bool) -> String {
    let mut value = reference.to_string();
    if long_s {
        value = format!("REPLACE({value}, \"\u{17F}\", \"s\")");
    }
    if dotted {
        value = format!("REPLACE({value}, \"\u{130}\", \"\u{131}\")");
    }
    format!("TO_LOWER({value})")
}

/// Case-insensitive tests of ASCII needles on the lowered value (on the
/// value itself when no needle has a letter, `lowered` false): `==`/`IN`
/// for equality, `LIKE` with `*` for the others
/// (https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/operators#esql-like),
/// `RLIKE` where whitespace folds or the needle holds `*`, `?` or `\`.
fn lowered_tests(
    reference: &str,
    op: TextOp,
    fold_whitespace: bool,
    needles: &[&String],
    lowered: bool,
) -> Result<Vec<String>, Unsupported> {
    let long_s = needles.iter().any(|needle| needle.contains(['s', 'S']));
    let dotted = matches!(op, TextOp::Contains | TextOp::StartsWith)
        && needles.iter().any(|needle| needle.ends_with(['i', 'I']));
    let value = if lowered {
        lowered_value(reference, long_s, dotted)
    } else {
        reference.to_string()
    };
    let mut equal = Vec::new();
    let mut tests = Vec::new();
    for needle in needles {
        let needle = needle.to_ascii_lowercase();
        let folds = fold_whitespace && needle.chars().any(|c| FOLD_SPACE.contains(&c));
        if op == TextOp::Equals && !folds {
            equal.push(esql_string(&needle));
        } else if !folds && !needle.is_empty() && !needle.contains(['*', '?', '\\']) {
            let wildcard = match op {
                TextOp::Contains => format!("*{needle}*"),
                TextOp::StartsWith => format!("{needle}*"),
                TextOp::EndsWith => format!("*{needle}"),
                TextOp::Equals => needle,
            };
            tests.push(format!("{value} LIKE {}", esql_string(&wildcard)));
        } else {
            let regex = needle_regex(&needle, op, true, fold_whitespace).map_err(Unsupported)?;
            tests.push(format!("{value} RLIKE {}", esql_string(&regex)));
        }
    }
    match equal.as_slice() {
        [] => {}
        [single] => tests.insert(0, format!("{value} == {single}")),
        many => tests.insert(0, format!("{value} IN ({})", many.join(", "))),
    }
    Ok(tests)
}

fn any(tests: Vec<String>) -> String {
    const FLAT: usize = 8;
    match tests.len() {
        0 => "false".to_string(),
        1 => tests.into_iter().next().unwrap_or_default(),
        count if count <= FLAT => format!("({})", tests.join(" OR ")),
        count => {
            let mut first = tests;
            let second = first.split_off(count / 2);
            format!("({} OR {})", any(first), any(second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esql<'a>(mapping: &'a Mapping, schema: &'a Schema) -> Esql<'a> {
        static LOOKUPS: BTreeMap<String, ir::Lookup> = BTreeMap::new();
        Esql {
            mapping,
            schema,
            types: &[],
            lookups: &LOOKUPS,
            joins: None,
        }
    }

    #[test]
    fn negated_tests_are_false_and_tests_under_not_total_on_missing_fields() {
        let (mapping, schema) = (Mapping::default(), Schema::default());
        let syntax = esql(&mapping, &schema);
        let presence = || vec!["a IS NOT NULL".to_string()];
        let body = || "a == 1".to_string();
        assert_eq!(
            syntax.guarded(presence(), body(), true, false),
            "(a IS NOT NULL AND NOT (a == 1))"
        );
        assert_eq!(
            syntax.guarded(presence(), body(), false, true),
            "(a IS NOT NULL AND a == 1)"
        );
        assert_eq!(syntax.guarded(presence(), body(), false, false), "a == 1");
        assert_eq!(
            syntax.guarded(Vec::new(), body(), true, true),
            "NOT (a == 1)"
        );
    }

    /// ES|QL's `TO_LOWER` is Java's `String.toLowerCase(Locale.ROOT)`;
    /// Rust's `to_lowercase` applies the same Unicode lowercase mappings
    /// (`İ` to `i` and a combining dot, the Kelvin sign to `k`, the long s
    /// kept), which is what the spelling has to undo.
    fn lowered(text: &str, long_s: bool, dotted: bool) -> String {
        let mut value = text.to_string();
        if long_s {
            value = value.replace('\u{17F}', "s");
        }
        if dotted {
            value = value.replace('\u{130}', "\u{131}");
        }
        value.to_lowercase()
    }

    #[test]
    fn lowered_values_compare_ascii_needles_as_the_evaluator_folds() {
        let texts = [
            "HAND BILLING",
            "hand bi\u{17F}ling",
            "\u{212A}ey",
            "x\u{130}",
            "x\u{131}",
            "X\u{130}Y",
            "\u{130}s",
            "\u{17F}\u{212A}I",
            "xi\u{307}",
            "risk",
            "RI\u{17F}\u{212A}",
        ];
        for needle in ["xi", "ri", "key", "is", "billing", "x", "k"] {
            for text in texts {
                let evaluator = crate::ir::case::fold(text).contains(needle);
                let long_s = needle.contains('s');
                let dotted = needle.ends_with('i');
                assert_eq!(
                    lowered(text, long_s, dotted).contains(needle),
                    evaluator,
                    "{needle} in {text:?}"
                );
            }
        }
        // Without the replacements the lowercase alone is not exact.
        assert!(lowered("x\u{130}", false, false).contains("xi"));
        assert!(!lowered("bi\u{17F}", false, false).contains("bis"));
    }

    #[test]
    fn case_insensitive_needles_compare_the_lowercased_value() {
        let mut mapping = Mapping::default();
        for (canonical, name) in [
            ("tool_name", "tripline.tool_name"),
            ("output", "tripline.output"),
            ("target_path", "tripline.target_path"),
            ("app", "service.name"),
        ] {
            mapping.fields.insert(
                canonical.to_string(),
                crate::targets::TargetField {
                    name: name.to_string(),
                    field_type: "keyword".to_string(),
                },
            );
        }
        let schema = Schema::default();
        let syntax = esql(&mapping, &schema);
        let needles = |items: &[&str]| {
            items
                .iter()
                .map(|item| item.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            syntax
                .text(
                    "tool_name",
                    TextOp::Equals,
                    false,
                    false,
                    &needles(&["HTTP_GET", "http_post"])
                )
                .unwrap(),
            "TO_LOWER(REPLACE(tripline.tool_name, \"\u{17F}\", \"s\")) IN (\"http_get\", \"http_post\")"
        );
        assert_eq!(
            syntax
                .text(
                    "output",
                    TextOp::Contains,
                    false,
                    true,
                    &needles(&["Hi", "a  b"])
                )
                .unwrap(),
            "(TO_LOWER(REPLACE(tripline.output, \"\u{130}\", \"\u{131}\")) LIKE \"*hi*\" OR TO_LOWER(REPLACE(tripline.output, \"\u{130}\", \"\u{131}\")) RLIKE \".*a[\\t-\\r\\\\ ]+b.*\")"
        );
        // No letters: the value as it is.
        assert_eq!(
            syntax
                .text(
                    "target_path",
                    TextOp::Contains,
                    false,
                    false,
                    &needles(&["/../"])
                )
                .unwrap(),
            "tripline.target_path LIKE \"*/../*\""
        );
        // A non-ASCII needle keeps the classes of its letters' variants.
        assert_eq!(
            syntax
                .text(
                    "app",
                    TextOp::Equals,
                    false,
                    false,
                    &needles(&["\u{E9}t\u{E9}"])
                )
                .unwrap(),
            "service.name RLIKE \"[\u{C9}\u{E9}][Tt][\u{C9}\u{E9}]\""
        );
    }

    #[test]
    fn long_ors_nest_as_balanced_halves() {
        let tests: Vec<String> = (0..20).map(|index| format!("t{index}")).collect();
        let text = any(tests);
        let mut depth = 0_i32;
        let mut deepest = 0;
        for character in text.chars() {
            match character {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            deepest = deepest.max(depth);
        }
        assert_eq!(depth, 0);
        assert!(deepest <= 4, "{text}");
        assert_eq!(text.matches(" OR ").count(), 19);
        assert_eq!(any(Vec::new()), "false");
        assert_eq!(any(vec!["a".to_string()]), "a");
    }

    #[test]
    fn numbers_are_literals_of_their_type() {
        assert_eq!(
            decimal_number_or_bool(&Value::Int(-3)).as_deref(),
            Some("-3")
        );
        assert_eq!(
            decimal_number_or_bool(&Value::Float(2.0)).as_deref(),
            Some("2.0")
        );
        assert_eq!(decimal_number_or_bool(&Value::Float(f64::NAN)), None);
        assert_eq!(
            decimal_number_or_bool(&Value::Bool(true)).as_deref(),
            Some("true")
        );
    }
}
