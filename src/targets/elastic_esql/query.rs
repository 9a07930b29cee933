//! The ES|QL query of a match rule.
//!
//! Input: a match rule, the pack and the ECS field mapping. Output: ES|QL
//! text, or E0402 problems for the constructs with no exact translation.
//! ES|QL has three-valued logic: a test on a missing field is `null`, and
//! `WHERE` keeps only `true` rows. `AND`/`OR` with a `null` side give the
//! same rows as with a `false` side, but `NOT null` is `null`: so a negated
//! operator is written `(f IS NOT NULL AND NOT (...))` (false on a missing
//! field, as in the evaluator) and every test under `NOT` is made total with
//! `f IS NOT NULL AND ...`, so that the `NOT` is true on a missing field.

use std::collections::BTreeMap;

use super::quote::{esql_string, field_reference};
use crate::ir::{
    self, AggregateFunction, CompareOp, Detection, Expr, ExprKind, Origin, Pack, RegexSet, Rule,
    Source, StringSet, TextOp, Value, ValueType,
};
use crate::targets::elastic_eql::quote::{needle_regex, search_regex};
use crate::targets::lower::{self, Lowerer, scalar_text};
use crate::targets::{Mapping, Problem};

/// The most lookup rows inlined into one query.
pub const MAX_INLINED_ROWS: usize = 500;

/// How late an event may arrive: windows are reported only once they closed
/// this long ago (the evaluator's lateness bound).
const LATENESS_MS: i64 = crate::targets::elastic_eql::LATENESS_MS;

/// The ES|QL query of a match or threshold rule.
pub fn rule_query(rule: &Rule, pack: &Pack, mapping: &Mapping) -> Result<String, Vec<Problem>> {
    let mut translator = Translator {
        pack,
        mapping,
        problems: Vec::new(),
    };
    let indexes = mapping.data_source.join(", ");
    let query = match &rule.detection {
        Detection::Match { source } => {
            let condition = translator.source(source, rule.origin);
            format!("FROM {indexes} METADATA _id, _index, _version\n| WHERE {condition}")
        }
        Detection::Window {
            source,
            groupings,
            window_ms,
            condition,
        } => translator.window(rule, &indexes, source, groupings, *window_ms, condition),
        other => {
            translator.problems.push(Problem::untranslatable(
                rule.origin,
                format!(
                    "a {} rule has no ES|QL translation in this target",
                    ir::shape_name(other)
                ),
            ));
            String::new()
        }
    };
    if translator.problems.is_empty() {
        Ok(query)
    } else {
        Err(translator.problems)
    }
}

struct Translator<'a> {
    pack: &'a Pack,
    mapping: &'a Mapping,
    problems: Vec<Problem>,
}

lower::lowerer!(
    Translator,
    "false",
    "the lookup `{lookup}` has {rows} rows; the ES|QL target inlines at most {max} rows into a query"
);

impl<'a> Translator<'a> {
    /// A threshold rule: epoch-aligned windows computed from epoch
    /// milliseconds, one `STATS` per window and group, the windows that closed
    /// in this run's slot (at least the lateness bound ago), the condition.
    fn window(
        &mut self,
        rule: &Rule,
        indexes: &str,
        source: &Source,
        groupings: &[Vec<String>],
        window_ms: i64,
        condition: &Expr,
    ) -> String {
        let grouping = match groupings {
            [single] => single.clone(),
            _ => {
                return self.fail(
                    rule.origin,
                    "several grouping sets need one STATS each, which one ES|QL query without FORK cannot hold",
                );
            }
        };
        let schedule_ms = rule.metadata.schedule_ms;
        if window_ms <= 0 || schedule_ms <= 0 {
            return self.fail(rule.origin, "the window and the schedule must be positive");
        }
        let mut filter = self.source(source, rule.origin);
        let mut keys = Vec::new();
        for field in &grouping {
            let key = self.field(field, rule.origin);
            // The evaluator ignores events without a key; STATS would group them under null.
            filter.push_str(&format!(" AND {key} IS NOT NULL"));
            keys.push(key);
        }
        let time = self.field("timestamp", rule.origin);
        let mut aggregates: Vec<(String, String)> = Vec::new();
        let mut labels: BTreeMap<String, String> = BTreeMap::new();
        let test = self.condition(condition, &mut aggregates, &mut labels);
        let stats: Vec<String> = aggregates
            .iter()
            .map(|(name, expression)| format!("{name} = {expression}"))
            .collect();
        let mut by = vec!["tripline_window_start_ms".to_string()];
        by.extend(keys);
        let w = window_ms;
        let s = schedule_ms;
        format!(
            "FROM {indexes}\n\
             | WHERE {filter}\n\
             | EVAL tripline_time_ms = TO_LONG({time})\n\
             | EVAL tripline_window_start_ms = tripline_time_ms - ((tripline_time_ms % {w}) + {w}) % {w}\n\
             | STATS {} BY {}\n\
             | EVAL tripline_window_end_ms = tripline_window_start_ms + {w}, tripline_slot_end_ms = (TO_LONG(NOW()) - {LATENESS_MS}) / {s} * {s}\n\
             | WHERE tripline_window_end_ms > tripline_slot_end_ms - {s} AND tripline_window_end_ms <= tripline_slot_end_ms\n\
             | WHERE {test}\n\
             | EVAL tripline_window_start = TO_DATETIME(tripline_window_start_ms), tripline_window_end = TO_DATETIME(tripline_window_end_ms)\n\
             | DROP tripline_window_start_ms, tripline_window_end_ms, tripline_slot_end_ms",
            stats.join(", "),
            by.join(", ")
        )
    }

    /// A condition over aggregates, total like the evaluator's: a
    /// comparison with an aggregate that has no value is false, never null.
    fn condition(
        &mut self,
        expr: &Expr,
        aggregates: &mut Vec<(String, String)>,
        labels: &mut BTreeMap<String, String>,
    ) -> String {
        match &expr.kind {
            ExprKind::Not { operand } => {
                format!("NOT ({})", self.condition(operand, aggregates, labels))
            }
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " AND "
                } else {
                    " OR "
                };
                operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, aggregates, labels)))
                    .collect::<Vec<_>>()
                    .join(joiner)
            }
            ExprKind::Literal {
                value: Value::Bool(value),
            } => value.to_string(),
            ExprKind::Compare { op, left, right } => {
                let mut guards = Vec::new();
                let left = self.operand(left, aggregates, labels, &mut guards);
                let right = self.operand(right, aggregates, labels, &mut guards);
                let symbol = op.symbol();
                guards.push(format!("{left} {symbol} {right}"));
                if guards.len() == 1 {
                    guards.remove(0)
                } else {
                    format!("({})", guards.join(" AND "))
                }
            }
            _ => self.fail(expr.origin, "this alert condition has no ES|QL translation"),
        }
    }

    fn operand(
        &mut self,
        expr: &Expr,
        aggregates: &mut Vec<(String, String)>,
        labels: &mut BTreeMap<String, String>,
        guards: &mut Vec<String>,
    ) -> String {
        match &expr.kind {
            ExprKind::Literal { value } | ExprKind::Param { value, .. } => {
                match lower::decimal_number_or_bool(value) {
                    Some(text) => text,
                    None => self.fail(expr.origin, "the compared value is not a number"),
                }
            }
            ExprKind::Aggregate {
                function,
                field,
                filter,
                label,
            } => {
                let name = match labels.get(label) {
                    Some(name) => name.clone(),
                    None => {
                        let base = match field {
                            Some(field) => format!("{}_{field}", function.name()),
                            None => function.name().to_string(),
                        };
                        let mut name = base.clone();
                        let mut suffix = 2;
                        while aggregates.iter().any(|(taken, _)| *taken == name) {
                            name = format!("{base}_{suffix}");
                            suffix += 1;
                        }
                        let name = field_reference(&name);
                        let expression =
                            self.aggregate(*function, field.as_deref(), filter.as_deref(), expr);
                        aggregates.push((name.clone(), expression));
                        labels.insert(label.clone(), name.clone());
                        name
                    }
                };
                // AVG/MIN/MAX have no value without values: the comparison is
                // false then, also under NOT.
                if matches!(
                    function,
                    AggregateFunction::Avg | AggregateFunction::Min | AggregateFunction::Max
                ) {
                    guards.push(format!("{name} IS NOT NULL"));
                }
                name
            }
            _ => self.fail(
                expr.origin,
                "only aggregates, numbers and parameters are compared in an ES|QL alert condition",
            ),
        }
    }

    /// One aggregate; a filter selects the events through `CASE` (a `null`
    /// condition is false there).
    fn aggregate(
        &mut self,
        function: AggregateFunction,
        field: Option<&str>,
        filter: Option<&Expr>,
        expr: &Expr,
    ) -> String {
        let predicate = filter.map(|filter| self.expr(filter, false));
        let Some(canonical) = field else {
            return match predicate {
                Some(predicate) => format!("SUM(CASE({predicate}, 1, 0))"),
                None => "COUNT(*)".to_string(),
            };
        };
        let field = self.field(canonical, expr.origin);
        let value = match &predicate {
            Some(predicate) => format!("CASE({predicate}, {field})"),
            None => field.clone(),
        };
        match function {
            AggregateFunction::Count => match predicate {
                Some(predicate) => format!("SUM(CASE({predicate}, 1, 0))"),
                None => "COUNT(*)".to_string(),
            },
            // Exact: COUNT_DISTINCT is a HyperLogLog estimate above its precision threshold.
            AggregateFunction::Distinct => format!("COALESCE(MV_COUNT(VALUES({value})), 0)"),
            AggregateFunction::Sum => {
                let numeric = self
                    .mapping
                    .field(canonical)
                    .is_some_and(|field| matches!(field.field_type.as_str(), "long" | "double"));
                if !numeric {
                    return self.fail(expr.origin, "`sum` of a field that is not a number");
                }
                format!("COALESCE(SUM({value}), 0)")
            }
            AggregateFunction::Avg => format!("AVG({value})"),
            AggregateFunction::Min => format!("MIN({value})"),
            AggregateFunction::Max => format!("MAX({value})"),
        }
    }

    fn field(&mut self, canonical: &str, origin: Origin) -> String {
        match self.mapping.field(canonical) {
            Some(field) => field_reference(&field.name),
            None => self.fail(
                origin,
                format!("the field `{canonical}` has no mapping for this target"),
            ),
        }
    }

    fn source(&mut self, source: &Source, origin: Origin) -> String {
        let event_type = self.field("event_type", origin);
        let mut parts = vec![match source.event_types.as_slice() {
            [single] => format!("{event_type} == {}", esql_string(single)),
            many => format!(
                "{event_type} IN ({})",
                many.iter()
                    .map(|name| esql_string(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }];
        if let Some(filter) = &source.filter {
            let condition = self.expr(filter, false);
            parts.push(format!("({condition})"));
        }
        parts.join(" AND ")
    }

    /// An expression; `under_not` when a `NOT` encloses it.
    fn expr(&mut self, expr: &Expr, under_not: bool) -> String {
        match &expr.kind {
            ExprKind::Literal {
                value: Value::Bool(value),
            } => value.to_string(),
            ExprKind::Not { operand } => {
                let inner = self.expr(operand, true);
                format!("NOT ({inner})")
            }
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " AND "
                } else {
                    " OR "
                };
                operands
                    .iter()
                    .map(|operand| format!("({})", self.expr(operand, under_not)))
                    .collect::<Vec<_>>()
                    .join(joiner)
            }
            ExprKind::Exists { field } => {
                let field = self.field(field, expr.origin);
                format!("{field} IS NOT NULL")
            }
            ExprKind::Compare { op, left, right } => {
                self.compare(expr, *op, left, right, under_not)
            }
            ExprKind::Text {
                op,
                case_sensitive,
                fold_whitespace,
                negated,
                subject,
                needles,
            } => {
                let Some((canonical, field)) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                if subject.value_type != ValueType::String {
                    return self.fail(
                        expr.origin,
                        format!(
                            "a string operator on the {} field `{canonical}` has no exact ES|QL translation",
                            subject.value_type.name()
                        ),
                    );
                }
                let body = match needles {
                    StringSet::NarrowedLookup {
                        lookup,
                        keys,
                        column,
                    } => self.narrowed(
                        expr.origin,
                        &field,
                        (*op, *case_sensitive, *fold_whitespace),
                        lookup,
                        keys,
                        column,
                    ),
                    other => {
                        let values = self.needles(other, expr.origin);
                        self.text_test(
                            expr.origin,
                            &field,
                            (*op, *case_sensitive, *fold_whitespace),
                            &values,
                        )
                    }
                };
                let mut guarded = vec![field];
                if let StringSet::NarrowedLookup { keys, .. } = needles {
                    for (_, key) in keys {
                        guarded.push(self.field(key, expr.origin));
                    }
                }
                guard(&guarded, body, *negated, under_not)
            }
            ExprKind::Matches {
                negated,
                subject,
                patterns,
            } => {
                let Some((canonical, field)) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                if subject.value_type != ValueType::String {
                    return self.fail(
                        expr.origin,
                        format!(
                            "a regex on the {} field `{canonical}` has no exact ES|QL translation",
                            subject.value_type.name()
                        ),
                    );
                }
                let regexes: Vec<ir::Regex> = match patterns {
                    RegexSet::Literal(regex) => vec![regex.clone()],
                    RegexSet::List(name) => self
                        .pack
                        .lists
                        .get(name)
                        .map(|list| {
                            list.values
                                .iter()
                                .filter_map(|value| match value {
                                    Value::Regex(regex) => Some(regex.clone()),
                                    Value::String(text) => Some(ir::Regex {
                                        pattern: text.clone(),
                                        case_insensitive: false,
                                    }),
                                    _ => None,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                let mut tests = Vec::new();
                for regex in &regexes {
                    match search_regex(&regex.pattern, regex.case_insensitive) {
                        Ok(text) => tests.push(format!("{field} RLIKE {}", esql_string(&text))),
                        Err(reason) => {
                            self.fail(
                                expr.origin,
                                format!("the regex /{}/: {reason}", regex.pattern),
                            );
                        }
                    }
                }
                guard(&[field], any(tests), *negated, under_not)
            }
            ExprKind::InValues {
                negated,
                subject,
                values,
            } => {
                let Some((_, field)) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                let Some(items) = values
                    .iter()
                    .map(lower::decimal_number_or_bool)
                    .collect::<Option<Vec<String>>>()
                else {
                    return self.fail(expr.origin, "a membership value is not a number or boolean");
                };
                let body = if items.is_empty() {
                    "false".to_string()
                } else {
                    format!("{field} IN ({})", items.join(", "))
                };
                guard(&[field], body, *negated, under_not)
            }
            ExprKind::InCidr {
                negated,
                subject,
                networks,
            } => {
                let Some((canonical, field)) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                if subject.value_type != ValueType::Ip {
                    return self.fail(
                        expr.origin,
                        format!(
                            "`{canonical}` is a {} field: CIDR_MATCH needs an `ip` field, and matching every textual form of an address with a regex is not exact",
                            subject.value_type.name()
                        ),
                    );
                }
                let mut items = Vec::new();
                for network in networks {
                    if network.contains(':') {
                        return self.fail(
                            expr.origin,
                            format!(
                                "the IPv6 network `{network}`: Elasticsearch stores IPv4 addresses as IPv4-mapped IPv6, so an IPv6 network can match IPv4 addresses the evaluator keeps apart"
                            ),
                        );
                    }
                    items.push(esql_string(network));
                }
                let body = format!("CIDR_MATCH({field}, {})", items.join(", "));
                guard(&[field], body, *negated, under_not)
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
                    match self.subject(subject, expr.origin) {
                        Some((_, field)) => fields.push(field),
                        None => return "false".to_string(),
                    }
                }
                let body = self.lookup_rows(expr.origin, &fields, *case_sensitive, lookup, columns);
                guard(&fields, body, *negated, under_not)
            }
            _ => self.fail(
                expr.origin,
                "this expression has no ES|QL translation in a match rule",
            ),
        }
    }

    fn subject(&mut self, subject: &Expr, origin: Origin) -> Option<(String, String)> {
        match &subject.kind {
            ExprKind::Field { name } => {
                let field = self.field(name, origin);
                Some((name.clone(), field))
            }
            _ => {
                self.fail(
                    origin,
                    "an operator on a computed value has no ES|QL translation; only fields are tested",
                );
                None
            }
        }
    }

    fn compare(
        &mut self,
        expr: &Expr,
        op: CompareOp,
        left: &Expr,
        right: &Expr,
        under_not: bool,
    ) -> String {
        let comparison = match lower::typed_comparison(
            op,
            left,
            right,
            "ES|QL",
            lower::decimal_number_or_bool,
        ) {
            Ok(comparison) => comparison,
            Err(refusal) => return self.fail(expr.origin, refusal),
        };
        let Some((_, field)) = self.subject(comparison.field, expr.origin) else {
            return Self::FALSE.to_string();
        };
        let (symbol, value) = (comparison.op.symbol(), comparison.value);
        guard(
            std::slice::from_ref(&field),
            format!("{field} {symbol} {value}"),
            false,
            under_not,
        )
    }

    /// `field OP any needle`: case-sensitive equality as `==`/`IN` (an exact
    /// keyword comparison), everything else as anchored Lucene regexes with
    /// the evaluator's case classes and whitespace runs (`elastic_eql`'s).
    fn text_test(
        &mut self,
        origin: Origin,
        field: &str,
        (op, case_sensitive, fold_whitespace): (TextOp, bool, bool),
        needles: &[String],
    ) -> String {
        let mut needles: Vec<&String> = needles.iter().collect();
        needles.sort();
        needles.dedup();
        let mut plain = Vec::new();
        let mut tests = Vec::new();
        for needle in needles {
            if op == TextOp::Equals && !fold_whitespace && case_sensitive {
                plain.push(esql_string(needle));
                continue;
            }
            match needle_regex(needle, op, case_sensitive, fold_whitespace) {
                Ok(regex) => tests.push(format!("{field} RLIKE {}", esql_string(&regex))),
                Err(reason) => {
                    self.fail(origin, reason);
                }
            }
        }
        match plain.as_slice() {
            [] => {}
            [single] => tests.insert(0, format!("{field} == {single}")),
            many => tests.insert(0, format!("{field} IN ({})", many.join(", "))),
        }
        any(tests)
    }

    /// `field OP any needle of the rows whose key columns equal the event's key fields`.
    fn narrowed(
        &mut self,
        origin: Origin,
        field: &str,
        test: (TextOp, bool, bool),
        lookup: &str,
        keys: &[(String, String)],
        column: &str,
    ) -> String {
        let case_sensitive = test.1;
        let Some((table, needle_index)) = self.lookup_column(lookup, column, origin) else {
            return "false".to_string();
        };
        if table.rows.len() > MAX_INLINED_ROWS {
            return self.fail(origin, Self::too_many_rows(lookup, table.rows.len()));
        }
        let mut key_columns = Vec::new();
        for (key_column, key_field) in keys {
            let Some((_, index)) = self.lookup_column(lookup, key_column, origin) else {
                return "false".to_string();
            };
            let field = self.field(key_field, origin);
            key_columns.push((index, field));
        }
        // The needles grouped by the key cells, in the key's comparison form.
        let key_indexes: Vec<usize> = key_columns.iter().map(|(index, _)| *index).collect();
        let groups = lower::needles_by_key(
            table,
            needle_index,
            &key_indexes,
            case_sensitive,
            scalar_text,
        );
        let mut alternatives = Vec::new();
        for (cells, needles) in groups {
            let mut parts = Vec::new();
            for ((_, key_field), cell) in key_columns.iter().zip(&cells) {
                parts.push(self.text_test(
                    origin,
                    key_field,
                    (TextOp::Equals, case_sensitive, false),
                    std::slice::from_ref(cell),
                ));
            }
            parts.push(self.text_test(origin, field, test, &needles));
            alternatives.push(format!("({})", parts.join(" AND ")));
        }
        any(alternatives)
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
        let mut alternatives = Vec::new();
        for row in &table.rows {
            let parts: Vec<String> = fields
                .iter()
                .zip(&indexes)
                .map(|(field, index)| {
                    let cell = row.get(*index).and_then(scalar_text).unwrap_or_default();
                    self.text_test(
                        origin,
                        field,
                        (TextOp::Equals, case_sensitive, false),
                        &[cell],
                    )
                })
                .collect();
            alternatives.push(format!("({})", parts.join(" AND ")));
        }
        alternatives.sort();
        alternatives.dedup();
        any(alternatives)
    }
}

/// An OR of tests; `false` when there are none. Long ORs are nested as a
/// balanced tree of parenthesised halves, so the expression depth grows with
/// the logarithm of the number of tests (a flat `a OR b OR ...` parses
/// left-deep, and Elasticsearch's ES|QL parser bounds expression depth).
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

/// Makes an atomic test total where it matters: a negated operator is false
/// on a missing field, and a test under `NOT` is false (not `null`) there.
fn guard(fields: &[String], body: String, negated: bool, under_not: bool) -> String {
    let presence: Vec<String> = fields
        .iter()
        .map(|field| format!("{field} IS NOT NULL"))
        .collect();
    if negated {
        format!("({} AND NOT ({body}))", presence.join(" AND "))
    } else if under_not {
        format!("({} AND {body})", presence.join(" AND "))
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negated_tests_are_false_and_tests_under_not_total_on_missing_fields() {
        let fields = ["a".to_string()];
        assert_eq!(
            guard(&fields, "a == 1".to_string(), true, false),
            "(a IS NOT NULL AND NOT (a == 1))"
        );
        assert_eq!(
            guard(&fields, "a == 1".to_string(), false, true),
            "(a IS NOT NULL AND a == 1)"
        );
        assert_eq!(guard(&fields, "a == 1".to_string(), false, false), "a == 1");
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
            lower::decimal_number_or_bool(&Value::Int(-3)).as_deref(),
            Some("-3")
        );
        assert_eq!(
            lower::decimal_number_or_bool(&Value::Float(2.0)).as_deref(),
            Some("2.0")
        );
        assert_eq!(lower::decimal_number_or_bool(&Value::Float(f64::NAN)), None);
        assert_eq!(
            lower::decimal_number_or_bool(&Value::Bool(true)).as_deref(),
            Some("true")
        );
    }
}
