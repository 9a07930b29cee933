//! [`Syntax`] for SPL's `where` and `eval` expressions.
//!
//! Every test is total (true or false, never null): it is guarded with
//! `isnotnull(field)`, so `NOT`, `AND` and `OR` mean what they mean in the
//! evaluator whatever SPL does with nulls. Text is matched with `match()`
//! and a PCRE pattern from [`super::quote`]; numbers are compared as numbers.
//! Network membership reads the address as 32 hex digits that an `eval`
//! before the search's `where` computes ([`Spl::address_eval`]).
//!
//! A spelled test may be a bare disjunction (`a OR b`): every place that
//! embeds one (the rule's `AND`/`OR`/`NOT`, a guard, a `where` or an `if()`)
//! encloses it in parentheses. The conjunctions and disjunctions the walk
//! builds inside a lookup test enclose themselves.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use super::lookup;
use super::quote::{field_reference, needle_pattern, needles_pattern, search_pattern, spl_string};
use crate::ir::{self, CompareOp, TextOp, Value, ValueType};
use crate::targets::Mapping;
use crate::targets::lookup_ref::Join;
use crate::targets::lower;
use crate::targets::plan::{LookupRef, Pred, Test, TestKind};
use crate::targets::syntax::{Spelled, Syntax, Unsupported};

/// The most lookup rows inlined into one search.
pub const MAX_INLINED_ROWS: usize = 500;

/// SPL over the canonical fields' mapped names.
pub(super) struct Spl<'a> {
    pub(super) mapping: &'a Mapping,
    /// The pack's lookups, for membership by the app's keys CSV.
    pub(super) lookups: &'a BTreeMap<String, ir::Lookup>,
    /// Whether the filter being spelled may look keys up (the source's
    /// filter, before any `stats`); otherwise lookups are inlined.
    pub(super) joinable: Cell<bool>,
    /// The lookups the filter being spelled needs, in order.
    pub(super) joins: RefCell<Vec<Join>>,
    /// The fields an `in cidr` test read, canonical names in order: their
    /// addresses are computed by [`Spl::address_eval`].
    pub(super) addresses: RefCell<Vec<String>>,
}

/// The helper fields of a field's address, from its mapped name: the text
/// trimmed, the address (or `""`), its dotted quad's octets, its groups of
/// four hex digits, and its 32 hex digits.
fn address_helpers(name: &str) -> [String; 5] {
    let safe = lower::identifier_part(name);
    ["trimmed", "address", "octets", "groups", "hex"].map(|step| format!("tripline_{safe}_{step}"))
}

impl<'a> Spl<'a> {
    /// A printer of tests over the mapped fields, reading the pack's lookups.
    pub(super) fn new(mapping: &'a Mapping, lookups: &'a BTreeMap<String, ir::Lookup>) -> Self {
        Spl {
            mapping,
            lookups,
            joinable: Cell::new(false),
            joins: RefCell::new(Vec::new()),
            addresses: RefCell::new(Vec::new()),
        }
    }

    /// Inserts [`Spl::address_eval`] after the first line of a search (its
    /// data source and event-type terms), before any test reads an address;
    /// returns its helper fields.
    pub(super) fn insert_address_eval(
        &self,
        lines: &mut Vec<String>,
    ) -> Result<Vec<String>, Unsupported> {
        Ok(match self.address_eval()? {
            Some((eval, helpers)) => {
                lines.insert(1.min(lines.len()), eval);
                helpers
            }
            None => Vec::new(),
        })
    }

    /// The `eval` that computes the address of every field an `in cidr`
    /// test read, as 32 lower-case hex digits of its IPv6 form (IPv4 as
    /// IPv4-mapped, `::ffff:a.b.c.d`, as the evaluator compares it), `""`
    /// when the text is no address; and the helper fields it adds. `None`
    /// without such a test. The steps are those of the SQL targets (see
    /// `targets::sql::syntax`, where DuckDB and Spark run them against the
    /// evaluator), each with a documented SPL function:
    ///
    /// 1. `address`: the trimmed address when the text is exactly one in
    ///    Rust's syntax ([`ir::network::address_text`] in PCRE) once the
    ///    white space `str::trim` removes is cut from both ends (`replace`
    ///    of every match), lower-cased, with `match()`
    ///    (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/evaluation-functions/text-functions>);
    /// 2. `octets`: the dotted quad after the last `:` split at the dots
    ///    (`split`, `mvindex`: multivalue eval functions);
    /// 3. `groups`: a dotted quad written as two groups of hex digits with
    ///    `printf("%02x%02x:%02x%02x", ...)`, after `::ffff:` when the text
    ///    is IPv4
    ///    (<https://docs.splunk.com/Documentation/Splunk/9.1.1/SearchReference/ConversionFunctions>,
    ///    C's flags and widths), then every group left-padded to four digits
    ///    (`000` before each, then of its leading zeros only those that
    ///    leave four digits);
    /// 4. `hex`: the groups without `:`, `::` replaced by the zeros the
    ///    written groups leave of 32 digits (`substr` of 32 zeros; `len`
    ///    counts characters).
    pub(super) fn address_eval(&self) -> Result<Option<(String, Vec<String>)>, Unsupported> {
        let fields = self.addresses.borrow();
        if fields.is_empty() {
            return Ok(None);
        }
        // White space at either end, and the address of either family, as
        // the evaluator reads them ([`ir::network::address_pieces`]).
        let pieces = ir::network::address_pieces();
        let translated = |pattern: &str| {
            search_pattern(pattern, false).map_err(|reason| {
                Unsupported(format!("the address pattern has no PCRE form: {reason}"))
            })
        };
        let trim = translated(&ir::network::trimmed_ends())?;
        let address = translated(&format!("^(?:{})$", pieces[2]))?;
        let q = |text: &str| spl_string(text);
        let mut assignments = Vec::new();
        let mut helpers = Vec::new();
        for field in fields.iter() {
            let reference = self.field(field)?;
            let name = self.mapped_name(field)?;
            let [trimmed, text, octets, groups, hex] = address_helpers(&name);
            assignments.push(format!(
                "{trimmed} = replace({reference}, {}, {})",
                q(&trim),
                q("")
            ));
            assignments.push(format!(
                "{text} = if(isnotnull({trimmed}) AND match({trimmed}, {}), lower({trimmed}), {})",
                q(&address),
                q("")
            ));
            assignments.push(format!(
                "{octets} = split(replace({text}, {}, {}), {})",
                q("^.*:"),
                q(""),
                q(".")
            ));
            let octet = |index: usize| format!("tonumber(mvindex({octets}, {index}))");
            let written = format!(
                "if(like({text}, {}), if(like({text}, {}), replace({text}, {}, {}), {}) . printf({}, {}, {}, {}, {}), {text})",
                q("%.%"),
                q("%:%"),
                q("^(.*:).*$"),
                q("\\1"),
                q("::ffff:"),
                q("%02x%02x:%02x%02x"),
                octet(0),
                octet(1),
                octet(2),
                octet(3)
            );
            assignments.push(format!(
                "{groups} = replace(replace({written}, {}, {}), {}, {})",
                q("([0-9a-f]+)"),
                q("000\\1"),
                q("0*([0-9a-f]{4})"),
                q("\\1")
            ));
            assignments.push(format!(
                "{hex} = replace(if(like({groups}, {}), replace({groups}, {}, substr({}, 1, 32 - len(replace({groups}, {}, {})))), {groups}), {}, {})",
                q("%::%"),
                q("::"),
                q(&"0".repeat(32)),
                q(":"),
                q(""),
                q(":"),
                q("")
            ));
            helpers.extend([trimmed, text, octets, groups, hex]);
        }
        Ok(Some((
            format!("| eval {}", assignments.join(", ")),
            helpers,
        )))
    }

    /// The mapped name of a field.
    fn mapped_name(&self, canonical: &str) -> Result<String, Unsupported> {
        self.mapping
            .field(canonical)
            .map(|field| field.name.clone())
            .ok_or_else(|| {
                Unsupported(format!(
                    "the field `{canonical}` has no mapping for this target"
                ))
            })
    }

    /// A mapped field reference.
    pub(super) fn field(&self, canonical: &str) -> Result<String, Unsupported> {
        let Some(field) = self.mapping.field(canonical) else {
            return Err(Unsupported(format!(
                "the field `{canonical}` has no mapping for this target"
            )));
        };
        field_reference(&field.name).ok_or_else(|| {
            Unsupported(format!(
                "the Splunk field name `{}` cannot be referenced in SPL (letters, digits, `_` and `.` only)",
                field.name
            ))
        })
    }
}

/// A number in decimal notation; SPL comparisons take no booleans.
pub(super) fn number(value: &Value) -> Option<String> {
    match value {
        Value::Bool(_) => None,
        other => lower::decimal_number_or_bool(other),
    }
}

impl Syntax for Spl<'_> {
    fn target(&self) -> &'static str {
        super::ID
    }

    fn constant(&self, value: bool) -> String {
        if value { "true()" } else { "false()" }.to_string()
    }

    fn and(&self, operands: Vec<String>) -> String {
        format!("({})", operands.join(" AND "))
    }

    fn or(&self, operands: Vec<String>) -> String {
        format!("({})", operands.join(" OR "))
    }

    fn not(&self, operand: String) -> String {
        format!("NOT ({operand})")
    }

    /// The rule's own connectives, in SPL's upper case.
    fn join(&self, all: bool, operands: Vec<(&Pred, String)>) -> String {
        let texts = operands.into_iter().map(|(_, text)| text).collect();
        enclosed(texts, if all { " AND " } else { " OR " })
    }

    fn guarded(
        &self,
        presence: Vec<String>,
        body: String,
        negated: bool,
        _under_not: bool,
    ) -> String {
        match (presence.is_empty(), negated) {
            // Only fields every event carries: nothing to test.
            (true, false) => body,
            (true, true) => format!("NOT ({body})"),
            (false, false) => format!("({} AND ({body}))", presence.join(" AND ")),
            (false, true) => format!("({} AND NOT ({body}))", presence.join(" AND ")),
        }
    }

    fn alternatives(&self, alternatives: Vec<String>) -> String {
        alternatives.join(" OR ")
    }

    fn refusals(&self, test: &Test) -> Vec<Unsupported> {
        // A lookup read from the app's keys CSV has no row limit.
        if crate::targets::syntax::by_reference(self, test).is_some() {
            return Vec::new();
        }
        match &test.kind {
            TestKind::Text { field_type, .. } | TestKind::Narrowed { field_type, .. }
                if *field_type != ValueType::String =>
            {
                vec![Unsupported(format!(
                    "a string operator on a {} field has no exact SPL translation",
                    field_type.name()
                ))]
            }
            TestKind::Values { field_type, .. } if !field_type.is_numeric() => {
                vec![Unsupported(
                    "membership of a boolean has no verified SPL translation (JSON booleans are extracted as text)"
                        .to_string(),
                )]
            }
            TestKind::Text {
                lookup: Some(lookup),
                ..
            }
            | TestKind::Narrowed { lookup, .. }
            | TestKind::Rows { lookup, .. }
                if lookup.rows > MAX_INLINED_ROWS =>
            {
                vec![Unsupported(self.too_many_rows(lookup))]
            }
            TestKind::Text { .. } | TestKind::Narrowed { .. } | TestKind::Rows { .. } => {
                needle_refusals(&test.kind)
            }
            // Every pattern of a list that has no PCRE form, each named.
            TestKind::Regex { patterns, .. } => patterns
                .iter()
                .filter_map(|regex| {
                    search_pattern(&regex.pattern, regex.case_insensitive)
                        .err()
                        .map(|reason| {
                            Unsupported(format!("the regex /{}/: {reason}", regex.pattern))
                        })
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Lookups over the mapping's inline limit whose keys the app ships
    /// ([`lookup`]): the event's key is looked up before the `where`, which
    /// tests that the lookup found it. One lookup per lookup and search: a
    /// second test of the same lookup on other fields is inlined.
    fn reference(
        &self,
        fields: &[String],
        rows: &[Vec<String>],
        lookup_ref: &LookupRef,
    ) -> Option<Spelled> {
        if !self.joinable.get() {
            return None;
        }
        let shipped = crate::targets::lookup_ref::read_by_reference(
            self.lookups.get(&lookup_ref.name),
            rows,
            self.mapping.inline_rows(),
            lookup::shipped,
        )?;
        let mut references = Vec::new();
        for field in fields {
            match self.field(field) {
                Ok(reference) => references.push(reference),
                Err(problem) => return Some(Err(problem)),
            }
        }
        let join = Join {
            lookup: lookup_ref.name.clone(),
            separator: shipped.separator,
            fields: references,
        };
        if !crate::targets::lookup_ref::record(&mut self.joins.borrow_mut(), join) {
            return None;
        }
        Some(Ok(format!(
            "isnotnull({})",
            lookup::found_field(&lookup_ref.name)
        )))
    }

    fn exists(&self, field: &str) -> Spelled {
        Ok(format!("isnotnull({})", self.field(field)?))
    }

    fn absent(&self, field: &str) -> Option<Spelled> {
        Some(self.field(field).map(|field| format!("isnull({field})")))
    }

    fn compare(&self, field: &str, field_type: ValueType, op: CompareOp, value: &Value) -> Spelled {
        if !field_type.is_numeric() {
            return Err(Unsupported(format!(
                "a comparison on a {} field has no verified SPL translation",
                field_type.name()
            )));
        }
        let field = self.field(field)?;
        let value = number(value)
            .ok_or_else(|| Unsupported("the compared value is not a number".into()))?;
        Ok(format!("{field} {} {value}", op.symbol()))
    }

    fn text(
        &self,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> Spelled {
        let field = self.field(field)?;
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        text_match(&field, &needles, op, case_sensitive, fold_whitespace)
    }

    fn regex(&self, field: &str, patterns: &[ir::Regex]) -> Spelled {
        let field = self.field(field)?;
        let mut tests = Vec::new();
        for regex in patterns {
            let pattern =
                search_pattern(&regex.pattern, regex.case_insensitive).map_err(|reason| {
                    Unsupported(format!("the regex /{}/: {reason}", regex.pattern))
                })?;
            tests.push(format!("match({field}, {})", spl_string(&pattern)));
        }
        Ok(tests.join(" OR "))
    }

    /// The field's address as 32 hex digits ([`Spl::address_eval`]) tested
    /// at its start against the digits each network fixes
    /// ([`ir::network::hex_prefixes`]); a text that is no address has `""`,
    /// which no pattern matches, and `not in cidr` asks for an address
    /// first: false either way, as in the evaluator.
    fn cidr_total(&self, field: &str, networks: &[String], negated: bool) -> Option<Spelled> {
        let Some(prefixes) = ir::network::hex_prefixes(networks) else {
            return Some(Err(Unsupported(
                "a network is not in CIDR notation".to_string(),
            )));
        };
        let name = match self.field(field).and_then(|_| self.mapped_name(field)) {
            Ok(name) => name,
            Err(problem) => return Some(Err(problem)),
        };
        {
            let mut addresses = self.addresses.borrow_mut();
            if !addresses.iter().any(|known| known == field) {
                addresses.push(field.to_string());
            }
        }
        let [.., hex] = address_helpers(&name);
        let any = if prefixes.is_empty() {
            self.constant(false)
        } else {
            format!(
                "match({hex}, {})",
                spl_string(&format!("^(?:{})", prefixes.join("|")))
            )
        };
        Some(Ok(if negated {
            format!("({hex} != \"\" AND NOT {any})")
        } else {
            any
        }))
    }

    fn values(&self, field: &str, values: &[Value]) -> Spelled {
        let field = self.field(field)?;
        let tests = values
            .iter()
            .map(|value| number(value).map(|text| format!("{field} == {text}")))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| Unsupported("a membership value is not a number".into()))?;
        Ok(tests.join(" OR "))
    }

    fn max_inlined_rows(&self) -> usize {
        MAX_INLINED_ROWS
    }

    fn too_many_rows(&self, lookup: &LookupRef) -> String {
        format!(
            "the lookup `{}` has {} rows; the Splunk target inlines at most {MAX_INLINED_ROWS} rows into a search",
            lookup.name, lookup.rows
        )
    }
}

/// Every needle or lookup cell of a test that has no PCRE form, each named
/// once, in the order the test is written.
fn needle_refusals(kind: &TestKind) -> Vec<Unsupported> {
    let mut reasons: Vec<String> = Vec::new();
    // Every needle has a PCRE form today (case-insensitivity is `(?i)`);
    // the operator and case stay in the signature for refusals to come.
    let mut check = |needle: &str, _op: TextOp, _case_sensitive: bool, fold_whitespace: bool| {
        if let Err(reason) = needle_pattern(needle, fold_whitespace)
            && !reasons.contains(&reason)
        {
            reasons.push(reason);
        }
    };
    match kind {
        TestKind::Text {
            op,
            case_sensitive,
            fold_whitespace,
            needles,
            ..
        } => {
            let mut needles = needles.clone();
            needles.sort();
            needles.dedup();
            for needle in &needles {
                check(needle, *op, *case_sensitive, *fold_whitespace);
            }
        }
        TestKind::Narrowed {
            op,
            case_sensitive,
            fold_whitespace,
            groups,
            ..
        } => {
            for (cells, needles) in groups {
                for cell in cells {
                    check(cell, TextOp::Equals, *case_sensitive, false);
                }
                let mut needles = needles.clone();
                needles.sort();
                needles.dedup();
                for needle in &needles {
                    check(needle, *op, *case_sensitive, *fold_whitespace);
                }
            }
        }
        TestKind::Rows {
            case_sensitive,
            groups,
            ..
        } => {
            for (first, rests) in groups {
                check(first, TextOp::Equals, *case_sensitive, false);
                for cell in rests.iter().flatten() {
                    check(cell, TextOp::Equals, *case_sensitive, false);
                }
            }
        }
        _ => {}
    }
    reasons.into_iter().map(Unsupported).collect()
}

/// `match(reference, pattern)` for `OP any of needles` (never empty).
pub(super) fn text_match(
    reference: &str,
    needles: &[&str],
    op: TextOp,
    case_sensitive: bool,
    fold_whitespace: bool,
) -> Spelled {
    let pattern =
        needles_pattern(needles, op, case_sensitive, fold_whitespace).map_err(Unsupported)?;
    Ok(format!("match({reference}, {})", spl_string(&pattern)))
}

/// Operands each in parentheses, joined: `(a) AND (b)`.
fn enclosed(operands: Vec<String>, joiner: &str) -> String {
    operands
        .iter()
        .map(|operand| format!("({operand})"))
        .collect::<Vec<_>>()
        .join(joiner)
}
