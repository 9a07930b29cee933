//! The SPL search of a rule.
//!
//! Input: a match or window (threshold, grouping sets) rule, the pack and
//! the field mapping. Output: the SPL pipeline (one command per line) and
//! what the `savedsearches.conf` stanza needs around it (look-back, the
//! fields to throttle on), or E0402 problems for the constructs with no
//! exact translation. Every atomic test is total: it is guarded with
//! `isnotnull(field)`, so it is true or false and never null, and `NOT`,
//! `AND` and `OR` then mean what they mean in the evaluator whatever SPL
//! does with nulls (a negated operator is false on a missing field, `NOT` of
//! a test on a missing field is true).

use std::collections::BTreeMap;

use super::quote::{field_reference, needles_pattern, plain_term, search_pattern, spl_string};
use crate::ir::{
    self, AggregateFunction, CompareOp, Detection, Expr, ExprKind, Origin, Pack, RegexSet, Rule,
    Source, StringSet, TextOp, Value, ValueType,
};
use crate::targets::lower::{self, Lowerer, mirror, scalar_text};
use crate::targets::{Mapping, Problem};

/// The most lookup rows inlined into one search.
pub const MAX_INLINED_ROWS: usize = 500;

/// How long after a window (or an event's schedule slot) closes the search
/// waits for late events: the evaluator's default lateness bound.
pub const LATENESS_SECONDS: i64 = 300;

/// The field holding a window's start (epoch seconds).
pub const WINDOW_FIELD: &str = "tripline_window_start";

/// A compiled search and what the stanza needs to know about it.
#[derive(Debug, Clone)]
pub struct Search {
    /// SPL commands, one per line; the first line starts with the data-source macro.
    pub lines: Vec<String>,
    /// How far back each run searches, in seconds.
    pub look_back_seconds: i64,
    /// Fields one alert is identified by (throttling), empty for match rules.
    pub suppress_fields: Vec<String>,
    /// How long to throttle, in seconds (0: no throttling).
    pub suppress_seconds: i64,
}

/// The SPL of a match or window rule, ending before the tuning macro.
pub fn rule_search(
    rule: &Rule,
    pack: &Pack,
    mapping: &Mapping,
    data_source_macro: &str,
) -> Result<Search, Vec<Problem>> {
    let mut translator = Translator {
        pack,
        mapping,
        problems: Vec::new(),
    };
    let schedule = rule.metadata.schedule_ms;
    if schedule <= 0 || schedule % 1000 != 0 {
        translator.fail(
            rule.origin,
            "the schedule is not a whole number of seconds, which cron cannot express",
        );
    }
    let slot = schedule / 1000;
    let mut lines = vec![format!("`{data_source_macro}`")];
    let search = match &rule.detection {
        Detection::Match { source } => {
            translator.source(source, &mut lines, rule.origin);
            // Each run takes the events of one whole schedule slot that closed
            // at least the lateness bound ago: runs tile event time, so every
            // event alerts exactly once.
            lines.push(format!(
                "| where floor(_time / {slot}) == floor((now() - {LATENESS_SECONDS}) / {slot}) - 1"
            ));
            Search {
                lines,
                look_back_seconds: 2 * slot + LATENESS_SECONDS,
                suppress_fields: Vec::new(),
                suppress_seconds: 0,
            }
        }
        Detection::Window {
            source,
            groupings,
            window_ms,
            condition,
        } => {
            if *window_ms <= 0 || window_ms % 1000 != 0 {
                translator.fail(
                    rule.origin,
                    "the window is not a whole number of seconds (`_time` is binned in seconds)",
                );
            }
            let window = window_ms / 1000;
            translator.source(source, &mut lines, rule.origin);
            let suppress_fields =
                translator.window(groupings, window, slot, condition, &mut lines, rule.origin);
            Search {
                lines,
                look_back_seconds: 2 * slot + window + LATENESS_SECONDS,
                suppress_fields,
                suppress_seconds: window + 2 * slot,
            }
        }
        other => {
            translator.fail(
                rule.origin,
                format!(
                    "a {} rule has no exact SPL translation",
                    ir::shape_name(other)
                ),
            );
            Search {
                lines,
                look_back_seconds: 0,
                suppress_fields: Vec::new(),
                suppress_seconds: 0,
            }
        }
    };
    if translator.problems.is_empty() {
        Ok(search)
    } else {
        Err(translator.problems)
    }
}

/// One aggregate of a window condition: the eval that prepares its input
/// (if any) and the `stats` function computing it.
struct Aggregate {
    name: String,
    prepare: Option<String>,
    stats: String,
}

struct Translator<'a> {
    pack: &'a Pack,
    mapping: &'a Mapping,
    problems: Vec<Problem>,
}

lower::lowerer!(
    Translator,
    "false()",
    "the lookup `{lookup}` has {rows} rows; the Splunk target inlines at most {max} rows into a search"
);

impl<'a> Translator<'a> {
    /// A mapped field reference.
    fn field(&mut self, canonical: &str, origin: Origin) -> String {
        let Some(field) = self.mapping.field(canonical) else {
            return self.fail(
                origin,
                format!("the field `{canonical}` has no mapping for this target"),
            );
        };
        match field_reference(&field.name) {
            Some(reference) => reference,
            None => self.fail(
                origin,
                format!(
                    "the Splunk field name `{}` cannot be referenced in SPL (letters, digits, `_` and `.` only)",
                    field.name
                ),
            ),
        }
    }

    /// The event-type prefilter and test, then the filter.
    fn source(&mut self, source: &Source, lines: &mut Vec<String>, origin: Origin) {
        let event_type = self.field("event_type", origin);
        // A case-insensitive search term first (a superset, and fast), then
        // the exact test.
        if source
            .event_types
            .iter()
            .all(|name| plain_term(name) && plain_term(&event_type))
        {
            let terms: Vec<String> = source
                .event_types
                .iter()
                .map(|name| format!("{event_type}={name}"))
                .collect();
            lines[0].push_str(&format!(" | search {}", terms.join(" OR ")));
        }
        let types: Vec<&str> = source.event_types.iter().map(String::as_str).collect();
        let event_test =
            self.pattern_test(&event_type, &types, TextOp::Equals, true, false, origin);
        match &source.filter {
            Some(filter) => {
                let condition = self.expr(filter);
                lines.push(format!("| where {event_test} AND ({condition})"));
            }
            None => lines.push(format!("| where {event_test}")),
        }
    }

    /// `match(field, pattern)` guarded, for a set of needles.
    fn pattern_test(
        &mut self,
        field: &str,
        needles: &[&str],
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        origin: Origin,
    ) -> String {
        let mut needles: Vec<&str> = needles.to_vec();
        needles.sort_unstable();
        needles.dedup();
        if needles.is_empty() {
            return "false()".to_string();
        }
        match needles_pattern(&needles, op, case_sensitive, fold_whitespace) {
            Ok(pattern) => format!("match({field}, {})", spl_string(&pattern)),
            Err(reason) => self.fail(origin, reason),
        }
    }

    /// A boolean expression, every atom guarded.
    fn expr(&mut self, expr: &Expr) -> String {
        match &expr.kind {
            ExprKind::Literal {
                value: Value::Bool(value),
            } => if *value { "true()" } else { "false()" }.to_string(),
            ExprKind::Not { operand } => format!("NOT ({})", self.expr(operand)),
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " AND "
                } else {
                    " OR "
                };
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| format!("({})", self.expr(operand)))
                    .collect();
                parts.join(joiner)
            }
            ExprKind::Exists { field } => {
                let field = self.field(field, expr.origin);
                format!("isnotnull({field})")
            }
            ExprKind::Compare { op, left, right } => self.compare(expr, *op, left, right),
            ExprKind::Text {
                op,
                case_sensitive,
                fold_whitespace,
                negated,
                subject,
                needles,
            } => {
                let Some(field) = self.subject(subject, expr.origin) else {
                    return "false()".to_string();
                };
                if subject.value_type != ValueType::String {
                    return self.fail(
                        expr.origin,
                        format!(
                            "a string operator on a {} field has no exact SPL translation",
                            subject.value_type.name()
                        ),
                    );
                }
                let mut guarded = vec![field.clone()];
                let body = match needles {
                    StringSet::NarrowedLookup {
                        lookup,
                        keys,
                        column,
                    } => {
                        for (_, key) in keys {
                            guarded.push(self.field(key, expr.origin));
                        }
                        self.narrowed(
                            expr.origin,
                            &field,
                            (*op, *case_sensitive, *fold_whitespace),
                            lookup,
                            keys,
                            column,
                        )
                    }
                    other => {
                        let values = self.needles(other, expr.origin);
                        let values: Vec<&str> = values.iter().map(String::as_str).collect();
                        self.pattern_test(
                            &field,
                            &values,
                            *op,
                            *case_sensitive,
                            *fold_whitespace,
                            expr.origin,
                        )
                    }
                };
                guard(&guarded, body, *negated)
            }
            ExprKind::Matches {
                negated,
                subject,
                patterns,
            } => {
                let Some(field) = self.subject(subject, expr.origin) else {
                    return "false()".to_string();
                };
                let regexes: Vec<ir::Regex> = match patterns {
                    RegexSet::Literal(regex) => vec![regex.clone()],
                    RegexSet::List(name) => match self.pack.lists.get(name) {
                        Some(list) => list
                            .values
                            .iter()
                            .filter_map(|value| match value {
                                Value::Regex(regex) => Some(regex.clone()),
                                Value::String(text) => Some(ir::Regex {
                                    pattern: text.clone(),
                                    case_insensitive: false,
                                }),
                                _ => None,
                            })
                            .collect(),
                        None => {
                            return self.fail(
                                expr.origin,
                                format!("the list `{name}` is not in the pack"),
                            );
                        }
                    },
                };
                let mut tests = Vec::new();
                for regex in &regexes {
                    match search_pattern(&regex.pattern, regex.case_insensitive) {
                        Ok(pattern) => {
                            tests.push(format!("match({field}, {})", spl_string(&pattern)))
                        }
                        Err(reason) => {
                            self.fail(
                                expr.origin,
                                format!("the regex /{}/: {reason}", regex.pattern),
                            );
                        }
                    }
                }
                let body = match tests.len() {
                    0 => "false()".to_string(),
                    1 => tests.remove(0),
                    _ => tests.join(" OR "),
                };
                guard(&[field], body, *negated)
            }
            ExprKind::InValues {
                negated,
                subject,
                values,
            } => {
                let Some(field) = self.subject(subject, expr.origin) else {
                    return "false()".to_string();
                };
                if !subject.value_type.is_numeric() {
                    return self.fail(
                        expr.origin,
                        "membership of a boolean has no verified SPL translation (JSON booleans are extracted as text)",
                    );
                }
                let Some(texts) = values.iter().map(number).collect::<Option<Vec<String>>>() else {
                    return self.fail(expr.origin, "a membership value is not a number");
                };
                let tests: Vec<String> = texts
                    .into_iter()
                    .map(|text| format!("{field} == {text}"))
                    .collect();
                let body = if tests.is_empty() {
                    "false()".to_string()
                } else {
                    tests.join(" OR ")
                };
                guard(&[field], body, *negated)
            }
            ExprKind::InCidr {
                negated,
                subject,
                networks,
            } => {
                let Some(field) = self.subject(subject, expr.origin) else {
                    return "false()".to_string();
                };
                if subject.value_type != ValueType::Ip {
                    return self.fail(
                        expr.origin,
                        format!(
                            "`in cidr` on a {} field: the evaluator tests only text that parses as an address, and which texts Splunk's cidrmatch() accepts as addresses is not the same set",
                            subject.value_type.name()
                        ),
                    );
                }
                if networks.iter().any(|network| network.contains(':')) {
                    return self.fail(
                        expr.origin,
                        "IPv6 networks: Splunk's cidrmatch() is not verified to match IPv6 addresses as the evaluator does",
                    );
                }
                let tests: Vec<String> = networks
                    .iter()
                    .map(|network| format!("cidrmatch({}, {field})", spl_string(network)))
                    .collect();
                guard(&[field], tests.join(" OR "), *negated)
            }
            ExprKind::InLookup {
                negated,
                case_sensitive,
                subjects,
                lookup,
                columns,
            } => {
                let mut fields = Vec::new();
                for subject in subjects {
                    if subject.value_type != ValueType::String {
                        return self.fail(
                            expr.origin,
                            "a lookup membership of a non-string value has no exact SPL translation",
                        );
                    }
                    match self.subject(subject, expr.origin) {
                        Some(field) => fields.push(field),
                        None => return "false()".to_string(),
                    }
                }
                let body = self.lookup_rows(expr.origin, &fields, *case_sensitive, lookup, columns);
                guard(&fields, body, *negated)
            }
            _ => self.fail(
                expr.origin,
                "this expression has no SPL translation in a filter",
            ),
        }
    }

    fn subject(&mut self, subject: &Expr, origin: Origin) -> Option<String> {
        match &subject.kind {
            ExprKind::Field { name } => Some(self.field(name, origin)),
            _ => {
                self.fail(origin, "an operator on a computed value has no SPL translation; only fields are tested");
                None
            }
        }
    }

    fn compare(&mut self, expr: &Expr, op: CompareOp, left: &Expr, right: &Expr) -> String {
        let Some(lower::Comparison {
            field: field_side,
            value,
            op,
        }) = lower::field_versus_constant(op, left, right)
        else {
            return self.fail(
                expr.origin,
                "a comparison between two fields or computed values has no exact SPL translation",
            );
        };
        if !field_side.value_type.is_numeric() {
            return self.fail(
                expr.origin,
                format!(
                    "a comparison on a {} field has no verified SPL translation",
                    field_side.value_type.name()
                ),
            );
        }
        let Some(field) = self.subject(field_side, expr.origin) else {
            return "false()".to_string();
        };
        let Some(value) = number(value) else {
            return self.fail(expr.origin, "the compared value is not a number");
        };
        guard(
            std::slice::from_ref(&field),
            format!("{field} {} {value}", op.symbol()),
            false,
        )
    }

    /// `field OP any needle of the rows whose key columns equal the event's
    /// key fields`: an OR over the distinct key cells.
    fn narrowed(
        &mut self,
        origin: Origin,
        field: &str,
        (op, case_sensitive, fold_whitespace): (TextOp, bool, bool),
        lookup: &str,
        keys: &[(String, String)],
        column: &str,
    ) -> String {
        let Some((table, needle_index)) = self.lookup_column(lookup, column, origin) else {
            return "false()".to_string();
        };
        if table.rows.len() > MAX_INLINED_ROWS {
            return self.fail(origin, Self::too_many_rows(lookup, table.rows.len()));
        }
        let mut key_columns = Vec::new();
        for (key_column, key_field) in keys {
            let Some((_, index)) = self.lookup_column(lookup, key_column, origin) else {
                return "false()".to_string();
            };
            let field = self.field(key_field, origin);
            key_columns.push((index, field));
        }
        let key_indexes: Vec<usize> = key_columns.iter().map(|(index, _)| *index).collect();
        let groups = lower::needles_by_key(
            table,
            needle_index,
            &key_indexes,
            case_sensitive,
            scalar_text,
        );
        if groups.is_empty() {
            return "false()".to_string();
        }
        let mut alternatives = Vec::new();
        for (cells, needles) in groups {
            let mut parts = Vec::new();
            for ((_, key_field), cell) in key_columns.iter().zip(&cells) {
                parts.push(self.pattern_test(
                    key_field,
                    &[cell.as_str()],
                    TextOp::Equals,
                    case_sensitive,
                    false,
                    origin,
                ));
            }
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            parts.push(self.pattern_test(
                field,
                &needles,
                op,
                case_sensitive,
                fold_whitespace,
                origin,
            ));
            alternatives.push(format!("({})", parts.join(" AND ")));
        }
        alternatives.join(" OR ")
    }

    /// `(f1, f2) in L.(c1, c2)`: an OR over the rows.
    fn lookup_rows(
        &mut self,
        origin: Origin,
        fields: &[String],
        case_sensitive: bool,
        lookup: &str,
        columns: &[String],
    ) -> String {
        let Some((table, indexes)) = self.tuple_lookup(origin, fields, lookup, columns) else {
            return Self::FALSE.to_string();
        };
        // Rows in comparison form, deduplicated, in a stable order.
        let mut rows: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
        for row in &table.rows {
            let cells: Vec<String> = indexes
                .iter()
                .map(|index| row.get(*index).and_then(scalar_text).unwrap_or_default())
                .collect();
            let form: Vec<String> = cells
                .iter()
                .map(|cell| {
                    if case_sensitive {
                        cell.clone()
                    } else {
                        cell.to_lowercase()
                    }
                })
                .collect();
            rows.entry(form).or_insert(cells);
        }
        if rows.is_empty() {
            return "false()".to_string();
        }
        let mut alternatives = Vec::new();
        for cells in rows.into_values() {
            let tests: Vec<String> = fields
                .iter()
                .zip(&cells)
                .map(|(field, cell)| {
                    self.pattern_test(
                        field,
                        &[cell.as_str()],
                        TextOp::Equals,
                        case_sensitive,
                        false,
                        origin,
                    )
                })
                .collect();
            alternatives.push(format!("({})", tests.join(" AND ")));
        }
        alternatives.join(" OR ")
    }

    /// Window, `stats` per group (or per grouping set), the schedule slot's
    /// windows, the condition. Returns the fields an alert is identified by.
    fn window(
        &mut self,
        groupings: &[Vec<String>],
        window: i64,
        slot: i64,
        condition: &Expr,
        lines: &mut Vec<String>,
        origin: Origin,
    ) -> Vec<String> {
        let mut aggregates = Vec::new();
        let condition_text = self.condition(condition, &mut aggregates);
        lines.push(format!(
            "| eval {WINDOW_FIELD} = floor(_time / {window}) * {window}"
        ));
        let prepares: Vec<String> = aggregates
            .iter()
            .filter_map(|aggregate| aggregate.prepare.clone())
            .collect();
        if !prepares.is_empty() {
            lines.push(format!("| eval {}", prepares.join(", ")));
        }
        let stats: Vec<String> = aggregates
            .iter()
            .map(|aggregate| aggregate.stats.clone())
            .collect();
        let mut identity = vec![WINDOW_FIELD.to_string()];
        match groupings {
            [single] => {
                let fields: Vec<String> =
                    single.iter().map(|name| self.field(name, origin)).collect();
                let mut by = vec![WINDOW_FIELD.to_string()];
                by.extend(fields.iter().cloned());
                if !fields.is_empty() {
                    // Events missing a group field are not grouped.
                    let present: Vec<String> = fields
                        .iter()
                        .map(|field| format!("isnotnull({field})"))
                        .collect();
                    lines.push(format!("| where {}", present.join(" AND ")));
                }
                lines.push(format!("| stats {} by {}", stats.join(", "), by.join(", ")));
                identity.extend(fields);
            }
            sets => {
                // One multivalue key per event, a value per grouping set the
                // event has every field of: "<set>|<len>:<value>..." is
                // injective, so `stats` by the key groups exactly as the
                // evaluator's grouping set does; the set's own fields are
                // read back with values() (one value per key).
                let mut keys = Vec::new();
                let mut all_fields: Vec<String> = Vec::new();
                let mut per_set: Vec<Vec<String>> = Vec::new();
                for (index, set) in sets.iter().enumerate() {
                    let fields: Vec<String> =
                        set.iter().map(|name| self.field(name, origin)).collect();
                    let present: Vec<String> = fields
                        .iter()
                        .map(|field| format!("isnotnull({field})"))
                        .collect();
                    let mut key = format!("\"{index}|\"");
                    for field in &fields {
                        key.push_str(&format!(" . len({field}) . \":\" . {field}"));
                    }
                    if present.is_empty() {
                        keys.push(key);
                    } else {
                        keys.push(format!("if({}, {key}, null())", present.join(" AND ")));
                    }
                    for field in &fields {
                        if !all_fields.contains(field) {
                            all_fields.push(field.clone());
                        }
                    }
                    per_set.push(fields);
                }
                lines.push(format!(
                    "| eval tripline_group = mvappend({})",
                    keys.join(", ")
                ));
                let mut functions = stats.clone();
                for field in &all_fields {
                    functions.push(format!("values({field}) AS {field}"));
                }
                lines.push(format!(
                    "| stats {} by {WINDOW_FIELD}, tripline_group",
                    functions.join(", ")
                ));
                lines.push(
                    "| eval tripline_grouping = mvindex(split(tripline_group, \"|\"), 0)"
                        .to_string(),
                );
                let mut clears = Vec::new();
                for field in &all_fields {
                    let sets_with: Vec<String> = per_set
                        .iter()
                        .enumerate()
                        .filter(|(_, fields)| fields.contains(field))
                        .map(|(index, _)| format!("tripline_grouping == \"{index}\""))
                        .collect();
                    clears.push(format!(
                        "{field} = if({}, {field}, null())",
                        sets_with.join(" OR ")
                    ));
                }
                if !clears.is_empty() {
                    lines.push(format!("| eval {}", clears.join(", ")));
                }
                identity.push("tripline_group".to_string());
            }
        }
        lines.push(format!(
            "| eval tripline_until = floor((now() - {LATENESS_SECONDS}) / {slot}) * {slot}, tripline_window_end = {WINDOW_FIELD} + {window}"
        ));
        lines.push(format!(
            "| where tripline_window_end > tripline_until - {slot} AND tripline_window_end <= tripline_until"
        ));
        lines.push(format!("| where {condition_text}"));
        lines.push("| fields - tripline_until".to_string());
        identity
    }

    /// A window condition over aggregates; collects the aggregates.
    fn condition(&mut self, expr: &Expr, aggregates: &mut Vec<Aggregate>) -> String {
        match &expr.kind {
            ExprKind::Literal {
                value: Value::Bool(value),
            } => if *value { "true()" } else { "false()" }.to_string(),
            ExprKind::Not { operand } => format!("NOT ({})", self.condition(operand, aggregates)),
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " AND "
                } else {
                    " OR "
                };
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, aggregates)))
                    .collect();
                parts.join(joiner)
            }
            ExprKind::Compare { op, left, right } => {
                let (aggregate_side, value_side, op) = match (&left.kind, &right.kind) {
                    (
                        ExprKind::Aggregate { .. },
                        ExprKind::Literal { .. } | ExprKind::Param { .. },
                    ) => (left, right, *op),
                    (
                        ExprKind::Literal { .. } | ExprKind::Param { .. },
                        ExprKind::Aggregate { .. },
                    ) => (right, left, mirror(*op)),
                    _ => {
                        return self.fail(
                            expr.origin,
                            "only comparisons of an aggregate with a number have an exact SPL translation",
                        );
                    }
                };
                let value = match &value_side.kind {
                    ExprKind::Literal { value } | ExprKind::Param { value, .. } => number(value),
                    _ => None,
                };
                let Some(value) = value else {
                    return self.fail(expr.origin, "the compared value is not a number");
                };
                let name = self.aggregate(aggregate_side, aggregates);
                format!("(isnotnull({name}) AND {name} {} {value})", op.symbol())
            }
            _ => self.fail(expr.origin, "this condition has no exact SPL translation"),
        }
    }

    /// The `stats` output field of an aggregate (shared when written twice).
    fn aggregate(&mut self, expr: &Expr, aggregates: &mut Vec<Aggregate>) -> String {
        let ExprKind::Aggregate {
            function,
            field,
            filter,
            ..
        } = &expr.kind
        else {
            return self.fail(expr.origin, "not an aggregate");
        };
        let name = format!("tripline_aggregate_{}", aggregates.len() + 1);
        let field = field.as_ref().map(|name| self.field(name, expr.origin));
        let filter = filter.as_ref().map(|filter| self.expr(filter));
        let input = format!("{name}_input");
        let (prepare, stats) = match (function, &field, &filter) {
            (AggregateFunction::Count, _, None) => (None, format!("count AS {name}")),
            (AggregateFunction::Count, _, Some(filter)) => (
                Some(format!("{input} = if({filter}, 1, 0)")),
                format!("sum({input}) AS {name}"),
            ),
            (AggregateFunction::Sum, Some(field), filter) => {
                let mut test = format!("isnotnull({field})");
                if let Some(filter) = filter {
                    test.push_str(&format!(" AND ({filter})"));
                }
                // A group with no value sums to 0, as in the evaluator.
                (
                    Some(format!("{input} = if({test}, {field}, 0)")),
                    format!("sum({input}) AS {name}"),
                )
            }
            (function, Some(field), None) => (
                None,
                format!("{}({field}) AS {name}", stats_function(*function)),
            ),
            (function, Some(field), Some(filter)) => (
                Some(format!("{input} = if({filter}, {field}, null())")),
                format!("{}({input}) AS {name}", stats_function(*function)),
            ),
            (_, None, _) => {
                return self.fail(expr.origin, "an aggregate without its field");
            }
        };
        if let Some(existing) = aggregates.iter().find(|aggregate| {
            aggregate.stats.split(" AS ").next() == stats.split(" AS ").next()
                && aggregate.prepare.is_none()
                && prepare.is_none()
        }) {
            return existing.name.clone();
        }
        aggregates.push(Aggregate {
            name: name.clone(),
            prepare,
            stats,
        });
        name
    }
}

fn stats_function(function: AggregateFunction) -> &'static str {
    match function {
        AggregateFunction::Count => "count",
        AggregateFunction::Distinct => "dc",
        AggregateFunction::Sum => "sum",
        AggregateFunction::Avg => "avg",
        AggregateFunction::Min => "min",
        AggregateFunction::Max => "max",
    }
}

/// Makes an atomic test total: true or false, never null. A negated
/// operator is false on a missing field.
fn guard(fields: &[String], body: String, negated: bool) -> String {
    let mut presence: Vec<String> = fields
        .iter()
        .map(|field| format!("isnotnull({field})"))
        .collect();
    presence.dedup();
    if negated {
        format!("({} AND NOT ({body}))", presence.join(" AND "))
    } else {
        format!("({} AND ({body}))", presence.join(" AND "))
    }
}

/// A number in decimal notation; SPL comparisons take no booleans.
fn number(value: &Value) -> Option<String> {
    match value {
        Value::Bool(_) => None,
        other => lower::decimal_number_or_bool(other),
    }
}
