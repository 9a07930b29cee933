//! The Kusto query of a rule.
//!
//! Input: a rule (match or threshold window), the pack and the field mapping.
//! Output: KQL text over the custom table, or E0402 problems for the
//! constructs with no exact translation. Every atomic test is made total (true
//! or false, never null): it is guarded by the presence of its fields
//! (`isnotempty` for strings, which Kusto stores as empty when absent,
//! `isnotnull` otherwise), so a negated operator is false on a missing field
//! and `not (...)` of a test on a missing field is true, as in the evaluator.

use std::collections::BTreeMap;

use super::quote::{column_reference, kusto_string};
use crate::ir::{
    self, AggregateFunction, CompareOp, Detection, Expr, ExprKind, Origin, Pack, RegexSet, Rule,
    Source, StringSet, TextOp, Value, ValueType,
};
use crate::targets::lower::{self, Lowerer};
use crate::targets::re2::{self, needles_regex, search_regex};
use crate::targets::{Mapping, Problem, duration_text};

/// The most lookup rows inlined into one query.
pub const MAX_INLINED_ROWS: usize = 500;

/// How long after a window ends its alert is raised: the evaluator's default
/// lateness bound, so that late events still count.
pub const LATENESS_MS: i64 = 5 * 60_000;

/// A dotted quad exactly as Rust's `Ipv4Addr` parser accepts it (no leading
/// zeros), with the Unicode whitespace `str::trim` removes around it.
const IPV4_TEXT: &str = r"^[\x{9}-\x{D} \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]*((?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3})[\x{9}-\x{D} \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]*$";

/// A compiled query and what its results carry.
#[derive(Debug, Clone)]
pub struct Query {
    /// The KQL text.
    pub text: String,
    /// Group columns of the results (every grouping's), in order.
    pub group_columns: Vec<String>,
    /// Aggregate columns of the results, in order.
    pub value_columns: Vec<String>,
    /// Whether every table column is in the results (match rules).
    pub all_columns: bool,
    /// How far back the query reads, in milliseconds (0: the run interval only).
    pub period_ms: i64,
}

/// The KQL query of a match or threshold rule.
pub fn rule_query(
    rule: &Rule,
    pack: &Pack,
    mapping: &Mapping,
    table: &str,
) -> Result<Query, Vec<Problem>> {
    let mut translator = Translator {
        pack,
        mapping,
        problems: Vec::new(),
    };
    let schedule = rule.metadata.schedule_ms;
    let query = match &rule.detection {
        Detection::Match { source } => {
            let condition = translator.source(source, rule.origin);
            Query {
                text: format!("{table}\n| where {condition}"),
                group_columns: Vec::new(),
                value_columns: Vec::new(),
                all_columns: true,
                period_ms: schedule,
            }
        }
        Detection::Window {
            source,
            groupings,
            window_ms,
            condition,
        } => translator.window(
            rule, table, source, groupings, *window_ms, condition, schedule,
        ),
        other => {
            translator.problems.push(Problem::untranslatable(
                rule.origin,
                format!(
                    "a {} rule has no exact Kusto translation in this target",
                    ir::shape_name(other)
                ),
            ));
            Query {
                text: String::new(),
                group_columns: Vec::new(),
                value_columns: Vec::new(),
                all_columns: false,
                period_ms: schedule,
            }
        }
    };
    if translator.problems.is_empty() {
        Ok(query)
    } else {
        Err(translator.problems)
    }
}

/// An epoch-aligned bin of `TimeGenerated`-like column.
fn epoch_bin(column: &str, window_ms: i64) -> String {
    format!(
        "bin_at({column}, {}, datetime(1970-01-01T00:00:00Z))",
        duration_text(window_ms)
    )
}

struct Translator<'a> {
    pack: &'a Pack,
    mapping: &'a Mapping,
    problems: Vec<Problem>,
}

/// One aggregate column of a window query.
struct AggregateColumn {
    name: String,
    expression: String,
    /// A column counting the values, when the aggregate can have none.
    count_column: Option<(String, String)>,
}

lower::lowerer!(
    Translator,
    "false",
    "the lookup `{lookup}` has {rows} rows; the Sentinel target inlines at most {max} rows into a query",
    needle_text: string_of
);

impl<'a> Translator<'a> {
    /// A mapped column reference and its Kusto type.
    fn column(&mut self, canonical: &str, origin: Origin) -> (String, String) {
        match self.mapping.field(canonical) {
            Some(field) => (column_reference(&field.name), field.field_type.clone()),
            None => (
                self.fail(
                    origin,
                    format!("the field `{canonical}` has no mapping for this target"),
                ),
                "bool".to_string(),
            ),
        }
    }

    fn presence(&mut self, canonical: &str, origin: Origin) -> String {
        let (column, kind) = self.column(canonical, origin);
        if kind == "string" {
            format!("isnotempty({column})")
        } else {
            format!("isnotnull({column})")
        }
    }

    fn string(&mut self, text: &str, origin: Origin) -> String {
        match kusto_string(text) {
            Ok(literal) => literal,
            Err(reason) => self.fail(origin, reason),
        }
    }

    /// The event-type test and the filter of a source.
    fn source(&mut self, source: &Source, origin: Origin) -> String {
        let (event_type, _) = self.column("event_type", origin);
        let types: Vec<String> = source
            .event_types
            .iter()
            .map(|name| self.string(name, origin))
            .collect();
        let mut parts = vec![match types.as_slice() {
            [single] => format!("{event_type} == {single}"),
            many => format!("{event_type} in ({})", many.join(", ")),
        }];
        if let Some(filter) = &source.filter {
            let condition = self.expr(filter);
            parts.push(format!("({condition})"));
        }
        parts.join(" and ")
    }

    #[allow(clippy::too_many_arguments)]
    fn window(
        &mut self,
        rule: &Rule,
        table: &str,
        source: &Source,
        groupings: &[Vec<String>],
        window_ms: i64,
        condition: &Expr,
        schedule_ms: i64,
    ) -> Query {
        let filter = self.source(source, rule.origin);
        let (time, _) = self.column("timestamp", rule.origin);
        let mut aggregates: Vec<AggregateColumn> = Vec::new();
        let mut labels: BTreeMap<String, usize> = BTreeMap::new();
        let test = self.condition(condition, &mut aggregates, &mut labels);
        let mut summaries = Vec::new();
        for aggregate in &aggregates {
            summaries.push(format!("{} = {}", aggregate.name, aggregate.expression));
            if let Some((name, expression)) = &aggregate.count_column {
                summaries.push(format!("{name} = {expression}"));
            }
        }
        let window = duration_text(window_ms);
        let mut group_columns: Vec<String> = Vec::new();
        let mut branches = Vec::new();
        for grouping in groupings {
            let mut keys = Vec::new();
            let mut present = Vec::new();
            for field in grouping {
                let (column, _) = self.column(field, rule.origin);
                present.push(self.presence(field, rule.origin));
                if !group_columns.contains(&column) {
                    group_columns.push(column.clone());
                }
                keys.push(column);
            }
            keys.push(format!("WindowStart = {}", epoch_bin(&time, window_ms)));
            let mut branch = String::from("Events");
            if !present.is_empty() {
                branch.push_str(&format!("\n    | where {}", present.join(" and ")));
            }
            branch.push_str(&format!(
                "\n    | summarize {} by {}",
                summaries.join(", "),
                keys.join(", ")
            ));
            branches.push(branch);
        }
        let mut text = format!(
            "let Window = {window};\nlet ClosedBefore = now() - {};\nlet ClosedAfter = ClosedBefore - {};\nlet Events = {table}\n    | where {filter};\n",
            duration_text(LATENESS_MS),
            duration_text(schedule_ms)
        );
        if branches.len() == 1 {
            text.push_str(&branches[0]);
        } else {
            let inner: Vec<String> = branches
                .iter()
                .map(|branch| format!("({})", branch.replace("\n    ", "\n        ")))
                .collect();
            text.push_str(&format!("union\n    {}", inner.join(",\n    ")));
        }
        text.push_str(
            "\n| extend WindowEnd = WindowStart + Window\n| where WindowEnd > ClosedAfter and WindowEnd <= ClosedBefore",
        );
        text.push_str(&format!("\n| where {test}"));
        let value_columns: Vec<String> = aggregates.iter().map(|a| a.name.clone()).collect();
        let mut projected = vec!["WindowStart".to_string(), "WindowEnd".to_string()];
        projected.extend(group_columns.iter().cloned());
        projected.extend(value_columns.iter().cloned());
        text.push_str(&format!("\n| project {}", projected.join(", ")));
        Query {
            text,
            group_columns,
            value_columns,
            all_columns: false,
            period_ms: window_ms + schedule_ms + LATENESS_MS,
        }
    }

    /// A condition over aggregates: total, like the evaluator's (a
    /// comparison with a side that has no value is false).
    fn condition(
        &mut self,
        expr: &Expr,
        aggregates: &mut Vec<AggregateColumn>,
        labels: &mut BTreeMap<String, usize>,
    ) -> String {
        match &expr.kind {
            ExprKind::Not { operand } => {
                format!("not({})", self.condition(operand, aggregates, labels))
            }
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " and "
                } else {
                    " or "
                };
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, aggregates, labels)))
                    .collect();
                parts.join(joiner)
            }
            ExprKind::Literal {
                value: Value::Bool(value),
            } => value.to_string(),
            ExprKind::Compare { op, left, right } => {
                let mut guards = Vec::new();
                let left = self.operand(left, aggregates, labels, &mut guards);
                let right = self.operand(right, aggregates, labels, &mut guards);
                let comparison = format!("{left} {} {right}", op.symbol());
                if guards.is_empty() {
                    comparison
                } else {
                    format!("{} and {comparison}", guards.join(" and "))
                }
            }
            other => self.fail(
                expr.origin,
                format!(
                    "a {} in an alert condition has no Kusto translation here",
                    node_name(other)
                ),
            ),
        }
    }

    fn operand(
        &mut self,
        expr: &Expr,
        aggregates: &mut Vec<AggregateColumn>,
        labels: &mut BTreeMap<String, usize>,
        guards: &mut Vec<String>,
    ) -> String {
        match &expr.kind {
            ExprKind::Literal { value } | ExprKind::Param { value, .. } => {
                match number_or_bool(value) {
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
                let index = match labels.get(label) {
                    Some(index) => *index,
                    None => {
                        let taken: Vec<String> = aggregates
                            .iter()
                            .map(|column| column.name.clone())
                            .collect();
                        let column = self.aggregate(
                            *function,
                            field.as_deref(),
                            filter.as_deref(),
                            expr,
                            &taken,
                        );
                        aggregates.push(column);
                        labels.insert(label.clone(), aggregates.len() - 1);
                        aggregates.len() - 1
                    }
                };
                let aggregate = &aggregates[index];
                if let Some((count, _)) = &aggregate.count_column {
                    guards.push(format!("{count} > 0"));
                }
                aggregate.name.clone()
            }
            other => self.fail(
                expr.origin,
                format!(
                    "a {} in an alert condition has no Kusto translation here",
                    node_name(other)
                ),
            ),
        }
    }

    fn aggregate(
        &mut self,
        function: AggregateFunction,
        field: Option<&str>,
        filter: Option<&Expr>,
        expr: &Expr,
        taken: &[String],
    ) -> AggregateColumn {
        let predicate = match filter {
            Some(filter) => self.expr(filter),
            None => "true".to_string(),
        };
        let base = match field {
            Some(field) => format!(
                "{}{}",
                capitalised(function.name()),
                super::quote::pascal_case(field)
            ),
            None => capitalised(function.name()),
        };
        let mut name = base.clone();
        let mut suffix = 2;
        while taken.contains(&name) {
            name = format!("{base}{suffix}");
            suffix += 1;
        }
        let Some(field) = field else {
            return AggregateColumn {
                name,
                expression: if filter.is_some() {
                    format!("countif({predicate})")
                } else {
                    "count()".to_string()
                },
                count_column: None,
            };
        };
        let (column, kind) = self.column(field, expr.origin);
        let present = self.presence(field, expr.origin);
        let counted = if filter.is_some() {
            format!("{present} and ({predicate})")
        } else {
            present
        };
        let count_column = Some((format!("{name}Values"), format!("countif({counted})")));
        match function {
            AggregateFunction::Count => AggregateColumn {
                name,
                expression: format!("countif({predicate})"),
                count_column: None,
            },
            AggregateFunction::Distinct => AggregateColumn {
                name,
                expression: format!("count_distinctif({column}, {counted})"),
                count_column: None,
            },
            AggregateFunction::Sum => {
                if kind == "real" || kind == "long" {
                    AggregateColumn {
                        name,
                        expression: format!(
                            "coalesce(sumif({column}, {counted}), {})",
                            if kind == "real" { "real(0)" } else { "long(0)" }
                        ),
                        count_column: None,
                    }
                } else {
                    AggregateColumn {
                        name: self.fail(expr.origin, "`sum` of a field that is not a number"),
                        expression: String::new(),
                        count_column: None,
                    }
                }
            }
            AggregateFunction::Avg => AggregateColumn {
                name,
                expression: format!("avgif(todouble({column}), {counted})"),
                count_column,
            },
            AggregateFunction::Min => AggregateColumn {
                name,
                expression: format!("minif({column}, {counted})"),
                count_column,
            },
            AggregateFunction::Max => AggregateColumn {
                name,
                expression: format!("maxif({column}, {counted})"),
                count_column,
            },
        }
    }

    /// A filter expression, total (never null).
    fn expr(&mut self, expr: &Expr) -> String {
        match &expr.kind {
            ExprKind::Literal {
                value: Value::Bool(value),
            } => value.to_string(),
            ExprKind::Not { operand } => format!("not({})", self.expr(operand)),
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " and "
                } else {
                    " or "
                };
                operands
                    .iter()
                    .map(|operand| format!("({})", self.expr(operand)))
                    .collect::<Vec<_>>()
                    .join(joiner)
            }
            ExprKind::Exists { field } => self.presence(field, expr.origin),
            ExprKind::Compare { op, left, right } => self.compare(expr, *op, left, right),
            ExprKind::Text {
                op,
                case_sensitive,
                fold_whitespace,
                negated,
                subject,
                needles,
            } => {
                let Some(canonical) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                if subject.value_type != ValueType::String {
                    return self.fail(
                        expr.origin,
                        format!(
                            "a string operator on the {} field `{canonical}`",
                            subject.value_type.name()
                        ),
                    );
                }
                let (column, _) = self.column(&canonical, expr.origin);
                let mut fields = vec![canonical];
                let body = match needles {
                    StringSet::NarrowedLookup {
                        lookup,
                        keys,
                        column: needle_column,
                    } => {
                        fields.extend(keys.iter().map(|(_, field)| field.clone()));
                        self.narrowed(
                            expr.origin,
                            &column,
                            *op,
                            *case_sensitive,
                            *fold_whitespace,
                            lookup,
                            keys,
                            needle_column,
                        )
                    }
                    other => {
                        let values = self.needles(other, expr.origin);
                        self.text_test(
                            expr.origin,
                            &column,
                            *op,
                            *case_sensitive,
                            *fold_whitespace,
                            &values,
                        )
                    }
                };
                self.guard(&fields, body, *negated, expr.origin)
            }
            ExprKind::Matches {
                negated,
                subject,
                patterns,
            } => {
                let Some(canonical) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                let (column, _) = self.column(&canonical, expr.origin);
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
                let mut translated = Vec::new();
                for regex in &regexes {
                    match search_regex(&re2::RE2, &regex.pattern, regex.case_insensitive) {
                        Ok(text) => translated.push(text),
                        Err(reason) => {
                            self.fail(
                                expr.origin,
                                format!("the regex /{}/: {reason}", regex.pattern),
                            );
                        }
                    }
                }
                let body = if translated.is_empty() {
                    "false".to_string()
                } else {
                    let pattern = translated
                        .iter()
                        .map(|text| format!("(?:{text})"))
                        .collect::<Vec<_>>()
                        .join("|");
                    let literal = self.string(&pattern, expr.origin);
                    format!("{column} matches regex {literal}")
                };
                self.guard(&[canonical], body, *negated, expr.origin)
            }
            ExprKind::InValues {
                negated,
                subject,
                values,
            } => {
                let Some(canonical) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                let (column, _) = self.column(&canonical, expr.origin);
                let Some(texts) = values
                    .iter()
                    .map(number_or_bool)
                    .collect::<Option<Vec<String>>>()
                else {
                    return self.fail(expr.origin, "a membership value is not a number or boolean");
                };
                let tests: Vec<String> = texts
                    .into_iter()
                    .map(|text| format!("{column} == {text}"))
                    .collect();
                let body = if tests.is_empty() {
                    "false".to_string()
                } else {
                    tests.join(" or ")
                };
                self.guard(&[canonical], body, *negated, expr.origin)
            }
            ExprKind::InCidr {
                negated,
                subject,
                networks,
            } => {
                let Some(canonical) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                let (column, _) = self.column(&canonical, expr.origin);
                let mut tests = Vec::new();
                for network in networks {
                    let valid_v4 = network.split_once('/').is_some_and(|(address, prefix)| {
                        address.parse::<std::net::Ipv4Addr>().is_ok()
                            && prefix.parse::<u8>().is_ok_and(|bits| bits <= 32)
                    });
                    if !valid_v4 {
                        return self.fail(
                            expr.origin,
                            format!(
                                "the network {network} is not IPv4 CIDR: Kusto's IPv6 functions accept address spellings the evaluator rejects"
                            ),
                        );
                    }
                    let literal = self.string(network, expr.origin);
                    tests.push(format!("ipv4_is_in_range(Address, {literal})"));
                }
                let pattern = self.string(IPV4_TEXT, expr.origin);
                // The address as the evaluator parses it (trimmed, strict
                // dotted quad); any other text is no IPv4 address.
                let address = format!("extract({pattern}, 1, {column})");
                let tests: Vec<String> = tests
                    .iter()
                    .map(|test| format!("({})", test.replace("Address", &address)))
                    .collect();
                let body = format!(
                    "{column} matches regex {pattern} and ({})",
                    tests.join(" or ")
                );
                self.guard(&[canonical], body, *negated, expr.origin)
            }
            ExprKind::InLookup {
                negated,
                case_sensitive,
                subjects,
                lookup,
                columns,
            } => {
                let mut canonicals = Vec::new();
                let mut fields = Vec::new();
                for subject in subjects {
                    match self.subject(subject, expr.origin) {
                        Some(canonical) => {
                            if subject.value_type != ValueType::String {
                                return self.fail(
                                    expr.origin,
                                    "a lookup test on a field that is not a string",
                                );
                            }
                            fields.push(self.column(&canonical, expr.origin).0);
                            canonicals.push(canonical);
                        }
                        None => return "false".to_string(),
                    }
                }
                let body = self.lookup_rows(expr.origin, &fields, *case_sensitive, lookup, columns);
                self.guard(&canonicals, body, *negated, expr.origin)
            }
            other => self.fail(
                expr.origin,
                format!(
                    "a {} expression has no Kusto translation here",
                    node_name(other)
                ),
            ),
        }
    }

    /// Makes an atomic test total: true only with every field present;
    /// a negated test is false on a missing field.
    fn guard(&mut self, fields: &[String], body: String, negated: bool, origin: Origin) -> String {
        let mut presence: Vec<String> = Vec::new();
        for field in fields {
            let test = self.presence(field, origin);
            if !presence.contains(&test) {
                presence.push(test);
            }
        }
        if negated {
            format!("{} and not({body})", presence.join(" and "))
        } else {
            format!("{} and ({body})", presence.join(" and "))
        }
    }

    fn subject(&mut self, subject: &Expr, origin: Origin) -> Option<String> {
        match &subject.kind {
            ExprKind::Field { name } => Some(name.clone()),
            _ => {
                self.fail(
                    origin,
                    "an operator on a computed value has no Kusto translation; only fields are tested",
                );
                None
            }
        }
    }

    fn compare(&mut self, expr: &Expr, op: CompareOp, left: &Expr, right: &Expr) -> String {
        let comparison = match lower::typed_comparison(op, left, right, "Kusto", number_or_bool) {
            Ok(comparison) => comparison,
            Err(refusal) => return self.fail(expr.origin, refusal),
        };
        let Some(canonical) = self.subject(comparison.field, expr.origin) else {
            return Self::FALSE.to_string();
        };
        let (column, _) = self.column(&canonical, expr.origin);
        self.guard(
            &[canonical],
            format!("{column} {} {}", comparison.op.symbol(), comparison.value),
            false,
            expr.origin,
        )
    }

    /// `column OP any needle`, exact. Case-sensitive tests without folding
    /// use Kusto's ordinal operators; everything else an RE2 regex with
    /// explicit case classes.
    fn text_test(
        &mut self,
        origin: Origin,
        column: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> String {
        let mut needles: Vec<String> = needles.to_vec();
        needles.sort();
        needles.dedup();
        if needles.is_empty() {
            return "false".to_string();
        }
        if case_sensitive && !fold_whitespace {
            let literals: Vec<String> = needles
                .iter()
                .map(|needle| self.string(needle, origin))
                .collect();
            return match op {
                TextOp::Equals => format!("{column} in ({})", literals.join(", ")),
                other => {
                    let operator = match other {
                        TextOp::Contains => "contains_cs",
                        TextOp::StartsWith => "startswith_cs",
                        _ => "endswith_cs",
                    };
                    literals
                        .iter()
                        .map(|literal| format!("{column} {operator} {literal}"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                }
            };
        }
        match needles_regex(&re2::RE2, &needles, op, case_sensitive, fold_whitespace) {
            Ok(pattern) => {
                let literal = self.string(&pattern, origin);
                format!("{column} matches regex {literal}")
            }
            Err(reason) => self.fail(origin, reason),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn narrowed(
        &mut self,
        origin: Origin,
        column: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        lookup: &str,
        keys: &[(String, String)],
        needle_column: &str,
    ) -> String {
        let Some((table, needle_index)) = self.lookup_column(lookup, needle_column, origin) else {
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
            let (field, _) = self.column(key_field, origin);
            key_columns.push((index, field));
        }
        let key_indexes: Vec<usize> = key_columns.iter().map(|(index, _)| *index).collect();
        let groups =
            lower::needles_by_key(table, needle_index, &key_indexes, case_sensitive, string_of);
        if groups.is_empty() {
            return "false".to_string();
        }
        let mut alternatives = Vec::new();
        for (cells, needles) in groups {
            let mut parts = Vec::new();
            for ((_, key_field), cell) in key_columns.iter().zip(&cells) {
                parts.push(self.text_test(
                    origin,
                    key_field,
                    TextOp::Equals,
                    case_sensitive,
                    false,
                    std::slice::from_ref(cell),
                ));
            }
            parts.push(self.text_test(
                origin,
                column,
                op,
                case_sensitive,
                fold_whitespace,
                &needles,
            ));
            alternatives.push(format!("({})", parts.join(" and ")));
        }
        alternatives.join("\n    or ")
    }

    /// `(f1, f2) in L.(c1, c2)`: an OR over the rows, grouped by the first cell.
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
        let groups = lower::rows_by_first_cell(table, &indexes, case_sensitive, string_of);
        if groups.is_empty() {
            return Self::FALSE.to_string();
        }
        let mut alternatives = Vec::new();
        for (first, rests) in groups {
            let mut parts = vec![self.text_test(
                origin,
                &fields[0],
                TextOp::Equals,
                case_sensitive,
                false,
                &[first],
            )];
            if fields.len() == 2 {
                let seconds: Vec<String> = rests
                    .into_iter()
                    .filter_map(|rest| rest.into_iter().next())
                    .collect();
                parts.push(self.text_test(
                    origin,
                    &fields[1],
                    TextOp::Equals,
                    case_sensitive,
                    false,
                    &seconds,
                ));
            } else if fields.len() > 2 {
                let mut rows = Vec::new();
                for rest in rests {
                    let tests: Vec<String> = fields[1..]
                        .iter()
                        .zip(&rest)
                        .map(|(field, cell)| {
                            self.text_test(
                                origin,
                                field,
                                TextOp::Equals,
                                case_sensitive,
                                false,
                                std::slice::from_ref(cell),
                            )
                        })
                        .collect();
                    rows.push(format!("({})", tests.join(" and ")));
                }
                parts.push(format!("({})", rows.join(" or ")));
            }
            alternatives.push(format!("({})", parts.join(" and ")));
        }
        alternatives.join("\n    or ")
    }
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

fn number_or_bool(value: &Value) -> Option<String> {
    match value {
        Value::Int(number) => Some(format!("long({number})")),
        Value::Float(number) if number.is_finite() => Some(format!("real({number:?})")),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn string_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        _ => None,
    }
}

fn node_name(kind: &ExprKind) -> &'static str {
    match kind {
        ExprKind::Literal { .. } => "literal",
        ExprKind::Field { .. } => "field",
        ExprKind::Param { .. } => "parameter",
        ExprKind::Not { .. } => "`not`",
        ExprKind::And { .. } => "`and`",
        ExprKind::Or { .. } => "`or`",
        ExprKind::Exists { .. } => "`exists`",
        ExprKind::Compare { .. } => "comparison",
        ExprKind::Arithmetic { .. } => "arithmetic",
        ExprKind::Text { .. } => "string operator",
        ExprKind::Matches { .. } => "regex match",
        ExprKind::InValues { .. } => "membership test",
        ExprKind::InCidr { .. } => "cidr test",
        ExprKind::InLookup { .. } => "lookup test",
        ExprKind::Aggregate { .. } => "aggregate",
        ExprKind::Baseline { .. } => "baseline",
        ExprKind::Percentile { .. } => "percentile",
    }
}
