//! The ES|QL query of a match or threshold rule.
//!
//! Input: a rule, the pack and the ECS field mapping. Output: ES|QL text, or
//! E0402 problems for the constructs with no exact translation. The rule is
//! lowered by [`plan::plan_and_problems`]; its filters (the source's and the
//! aggregates') are spelled by [`Esql`] through [`syntax::predicate`], and
//! this module lays out the query around them: `FROM ... | WHERE` for a
//! match rule, `STATS ... BY` over epoch-aligned windows for a threshold.

use super::syntax::Esql;
use crate::ir::{self, AggregateFunction, Pack, Rule, Value};
use crate::targets::lower::decimal_number_or_bool;
use crate::targets::plan::{self, Cond, Condition, Leaf, Shape, Source, Window};
use crate::targets::{Mapping, Problem, syntax};

/// How late an event may arrive: windows are reported only once they closed
/// this long ago (the evaluator's lateness bound).
const LATENESS_MS: i64 = crate::targets::kibana_rule::LATENESS_MS;

/// The ES|QL query of a match or threshold rule.
pub fn rule_query(rule: &Rule, pack: &Pack, mapping: &Mapping) -> Result<String, Vec<Problem>> {
    let (plan, problems) = plan::plan_and_problems(rule, pack);
    let mut query = Query {
        rule,
        pack,
        mapping,
        problems,
    };
    let indexes = mapping.data_source.join(", ");
    let text = match &plan.shape {
        Shape::Match(source) => {
            let condition = query.source(source);
            format!("FROM {indexes} METADATA _id, _index, _version\n| WHERE {condition}")
        }
        Shape::Window(window) => query.window(&indexes, window),
        _ => query.fail(format!(
            "a {} rule has no ES|QL translation in this target",
            ir::shape_name(&rule.detection)
        )),
    };
    if query.problems.is_empty() {
        Ok(text)
    } else {
        Err(query.problems)
    }
}

struct Query<'a> {
    rule: &'a Rule,
    pack: &'a Pack,
    mapping: &'a Mapping,
    problems: Vec<Problem>,
}

impl<'a> Query<'a> {
    /// Records a refusal at the rule; the query gets `false` in its place.
    fn fail(&mut self, message: impl Into<String>) -> String {
        self.problems
            .push(Problem::untranslatable(self.rule.origin, message.into()));
        "false".to_string()
    }

    fn syntax(&self, source: &'a Source) -> Esql<'a> {
        Esql {
            mapping: self.mapping,
            schema: &self.pack.schema,
            types: &source.event_types,
        }
    }

    fn field(&mut self, source: &'a Source, canonical: &str) -> String {
        match self.syntax(source).field(canonical) {
            Ok(field) => field,
            Err(syntax::Unsupported(reason)) => self.fail(reason),
        }
    }

    /// The event types, and the filter spelled by [`Esql`].
    fn source(&mut self, source: &'a Source) -> String {
        let event_type = self.field(source, "event_type");
        let types: Vec<String> = source
            .event_types
            .iter()
            .map(|name| super::quote::esql_string(name))
            .collect();
        let mut parts = vec![match types.as_slice() {
            [single] => format!("{event_type} == {single}"),
            many => format!("{event_type} IN ({})", many.join(", ")),
        }];
        if let Some(filter) = &source.filter {
            let condition = syntax::predicate(&self.syntax(source), filter, &mut self.problems);
            parts.push(format!("({condition})"));
        }
        parts.join(" AND ")
    }

    /// A threshold rule: epoch-aligned windows computed from epoch
    /// milliseconds, one `STATS` per window and group, the windows that closed
    /// in this run's slot (at least the lateness bound ago), the condition.
    fn window(&mut self, indexes: &str, window: &'a Window) -> String {
        let grouping = match window.groupings.as_slice() {
            [single] => single,
            _ => {
                return self.fail(
                    "several grouping sets need one STATS each, which one ES|QL query without FORK cannot hold",
                );
            }
        };
        let window_ms = window.bucket_ms;
        let schedule_ms = self.rule.metadata.schedule_ms;
        if window_ms <= 0 || schedule_ms <= 0 {
            return self.fail("the window and the schedule must be positive");
        }
        let source = &window.source;
        let mut filter = self.source(source);
        let mut keys = Vec::new();
        for field in grouping {
            let key = self.field(source, field);
            // The evaluator ignores events without a key; STATS would group them under null.
            filter.push_str(&format!(" AND {key} IS NOT NULL"));
            keys.push(key);
        }
        let time = self.field(source, "timestamp");
        let condition = &window.condition;
        let names = self.aggregate_names(condition);
        let stats: Vec<String> = condition
            .aggregates
            .iter()
            .zip(&names)
            .map(|(aggregate, name)| format!("{name} = {}", self.aggregate(source, aggregate)))
            .collect();
        let test = match &condition.root {
            Some(root) => self.condition(root, condition, &names),
            None => self.fail("the rule has no alert condition"),
        };
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

    /// The column of each aggregate: its function and field, numbered
    /// when taken.
    fn aggregate_names(&self, condition: &Condition) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for aggregate in &condition.aggregates {
            let base = match &aggregate.field {
                Some(field) => format!("{}_{field}", aggregate.function.name()),
                None => aggregate.function.name().to_string(),
            };
            let mut name = base.clone();
            let mut suffix = 2;
            while names.contains(&name) {
                name = format!("{base}_{suffix}");
                suffix += 1;
            }
            names.push(super::quote::field_reference(&name));
        }
        names
    }

    /// A condition over aggregates, total like the evaluator's: a
    /// comparison with an aggregate that has no value is false, never null.
    fn condition(&mut self, cond: &Cond, condition: &Condition, names: &[String]) -> String {
        match cond {
            Cond::Not(operand) => format!("NOT ({})", self.condition(operand, condition, names)),
            Cond::And(operands) | Cond::Or(operands) => {
                let joiner = if matches!(cond, Cond::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, condition, names)))
                    .collect::<Vec<_>>()
                    .join(joiner)
            }
            Cond::Bool(value) => value.to_string(),
            Cond::Compare(op, left, right) => {
                let mut guards = Vec::new();
                let left = self.operand(left, condition, names, &mut guards);
                let right = self.operand(right, condition, names, &mut guards);
                guards.push(format!("{left} {} {right}", op.symbol()));
                if guards.len() == 1 {
                    guards.remove(0)
                } else {
                    format!("({})", guards.join(" AND "))
                }
            }
            _ => self.fail("this alert condition has no ES|QL translation"),
        }
    }

    fn operand(
        &mut self,
        cond: &Cond,
        condition: &Condition,
        names: &[String],
        guards: &mut Vec<String>,
    ) -> String {
        let constant = match cond {
            Cond::Int(value) => Some(Value::Int(*value)),
            Cond::Float(value) => Some(Value::Float(*value)),
            Cond::Bool(value) => Some(Value::Bool(*value)),
            Cond::Missing => None,
            Cond::Leaf(Leaf::Aggregate(index)) => {
                let name = names[*index].clone();
                // AVG/MIN/MAX have no value without values: the comparison is
                // false then, also under NOT.
                if matches!(
                    condition.aggregates[*index].function,
                    AggregateFunction::Avg | AggregateFunction::Min | AggregateFunction::Max
                ) {
                    guards.push(format!("{name} IS NOT NULL"));
                }
                return name;
            }
            _ => {
                return self.fail(
                    "only aggregates, numbers and parameters are compared in an ES|QL alert condition",
                );
            }
        };
        match constant.as_ref().and_then(decimal_number_or_bool) {
            Some(text) => text,
            None => self.fail("the compared value is not a number"),
        }
    }

    /// One aggregate; a filter selects the events through `CASE` (a `null`
    /// condition is false there).
    fn aggregate(&mut self, source: &'a Source, aggregate: &plan::Aggregate) -> String {
        let predicate = aggregate
            .filter
            .as_ref()
            .map(|filter| syntax::predicate(&self.syntax(source), filter, &mut self.problems));
        let Some(canonical) = aggregate.field.as_deref() else {
            return match predicate {
                Some(predicate) => format!("SUM(CASE({predicate}, 1, 0))"),
                None => "COUNT(*)".to_string(),
            };
        };
        let field = self.field(source, canonical);
        let value = match &predicate {
            Some(predicate) => format!("CASE({predicate}, {field})"),
            None => field.clone(),
        };
        match aggregate.function {
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
                    return self.fail("`sum` of a field that is not a number");
                }
                format!("COALESCE(SUM({value}), 0)")
            }
            AggregateFunction::Avg => format!("AVG({value})"),
            AggregateFunction::Min => format!("MIN({value})"),
            AggregateFunction::Max => format!("MAX({value})"),
        }
    }
}
