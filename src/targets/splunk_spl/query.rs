//! The SPL search of a rule.
//!
//! Input: a match or window (threshold, grouping sets) rule, the pack and
//! the field mapping. Output: the SPL pipeline (one command per line) and
//! what the `savedsearches.conf` stanza needs around it (look-back, the
//! fields to throttle on), or E0402 problems for the constructs with no
//! exact translation. The rule is lowered by [`plan::plan`]; its filters
//! (the source's and the aggregates') are spelled by [`Spl`] through
//! [`syntax::predicate`], every test total (see [`super::syntax`]). What is
//! here is the shape: the event-type test, the buckets, `stats` per group or
//! grouping set, the schedule slot's windows and the condition.

use super::quote::plain_term;
use super::syntax::{Spl, number, text_match};
use crate::ir::{
    self, AggregateFunction, Detection, Expr, ExprKind, Origin, Pack, Rule, TextOp, Value,
};
use crate::targets::lower::mirror;
use crate::targets::plan::{self, Condition, Pred, Shape, Source};
use crate::targets::syntax::{self, Unsupported};
use crate::targets::{Mapping, Problem};

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
    let mut printer = Printer {
        spl: Spl { mapping },
        problems: Vec::new(),
    };
    let schedule = rule.metadata.schedule_ms;
    if schedule <= 0 || schedule % 1000 != 0 {
        printer.fail(
            rule.origin,
            "the schedule is not a whole number of seconds, which cron cannot express",
        );
    }
    let slot = schedule / 1000;
    match &rule.detection {
        Detection::Match { .. } => {}
        Detection::Window { window_ms, .. } => {
            if *window_ms <= 0 || window_ms % 1000 != 0 {
                printer.fail(
                    rule.origin,
                    "the window is not a whole number of seconds (`_time` is binned in seconds)",
                );
            }
        }
        other => {
            printer.fail(
                rule.origin,
                format!(
                    "a {} rule has no exact SPL translation",
                    ir::shape_name(other)
                ),
            );
            return Err(printer.problems);
        }
    }
    // The constructs no target prints are false in the plan: the rest is
    // still printed, so that this target's own refusals come in the same run.
    let (plan, problems) = plan::plan_and_problems(rule, pack);
    printer.problems.extend(problems);
    let mut lines = vec![format!("`{data_source_macro}`")];
    let search = match (&plan.shape, &rule.detection) {
        (Shape::Match(source), _) => {
            printer.source(source, &mut lines, rule.origin);
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
        (Shape::Window(window), Detection::Window { condition, .. }) => {
            let seconds = window.bucket_ms / 1000;
            printer.source(&window.source, &mut lines, rule.origin);
            let suppress_fields = printer.window(
                &window.groupings,
                (seconds, slot),
                (condition, &window.condition),
                &mut lines,
                rule.origin,
            );
            Search {
                lines,
                look_back_seconds: 2 * slot + seconds + LATENESS_SECONDS,
                suppress_fields,
                suppress_seconds: seconds + 2 * slot,
            }
        }
        _ => {
            printer.fail(rule.origin, "the plan's shape is not the rule's");
            return Err(printer.problems);
        }
    };
    if printer.problems.is_empty() {
        Ok(search)
    } else {
        Err(printer.problems)
    }
}

/// One aggregate of a window condition: the eval that prepares its input
/// (if any) and the `stats` function computing it.
struct Aggregate {
    name: String,
    prepare: Option<String>,
    stats: String,
}

/// The SPL of a plan, and the problems met on the way.
struct Printer<'a> {
    spl: Spl<'a>,
    problems: Vec<Problem>,
}

impl Printer<'_> {
    /// Records a refusal; returns the constant false for its place.
    fn fail(&mut self, origin: Origin, message: impl Into<String>) -> String {
        self.problems
            .push(Problem::untranslatable(origin, message.into()));
        "false()".to_string()
    }

    /// A mapped field reference.
    fn field(&mut self, canonical: &str, origin: Origin) -> String {
        match self.spl.field(canonical) {
            Ok(reference) => reference,
            Err(Unsupported(reason)) => self.fail(origin, reason),
        }
    }

    /// A filter of the plan, every test total.
    fn filter(&mut self, filter: &Pred) -> String {
        syntax::predicate(&self.spl, filter, &mut self.problems)
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
        let mut types: Vec<&str> = source.event_types.iter().map(String::as_str).collect();
        types.sort_unstable();
        types.dedup();
        let event_test = if types.is_empty() {
            "false()".to_string()
        } else {
            match text_match(&event_type, &types, TextOp::Equals, true, false) {
                Ok(test) => test,
                Err(Unsupported(reason)) => self.fail(origin, reason),
            }
        };
        match &source.filter {
            Some(filter) => {
                let condition = self.filter(filter);
                lines.push(format!("| where {event_test} AND ({condition})"));
            }
            None => lines.push(format!("| where {event_test}")),
        }
    }

    /// Window, `stats` per group (or per grouping set), the schedule slot's
    /// windows, the condition. Returns the fields an alert is identified by.
    fn window(
        &mut self,
        groupings: &[Vec<String>],
        (window, slot): (i64, i64),
        (condition, plan): (&Expr, &Condition),
        lines: &mut Vec<String>,
        origin: Origin,
    ) -> Vec<String> {
        let mut aggregates = Vec::new();
        let condition_text = self.condition(condition, plan, &mut aggregates);
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

    /// A window condition over aggregates (written as the rule writes it, for
    /// the origins of refusals); collects the aggregates.
    fn condition(
        &mut self,
        expr: &Expr,
        plan: &Condition,
        aggregates: &mut Vec<Aggregate>,
    ) -> String {
        match &expr.kind {
            ExprKind::Literal {
                value: Value::Bool(value),
            } => if *value { "true()" } else { "false()" }.to_string(),
            ExprKind::Not { operand } => {
                format!("NOT ({})", self.condition(operand, plan, aggregates))
            }
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " AND "
                } else {
                    " OR "
                };
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, plan, aggregates)))
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
                let name = self.aggregate(aggregate_side, plan, aggregates);
                format!("(isnotnull({name}) AND {name} {} {value})", op.symbol())
            }
            _ => self.fail(expr.origin, "this condition has no exact SPL translation"),
        }
    }

    /// The `stats` output field of an aggregate (shared when written twice):
    /// the plan's aggregate of the same label.
    fn aggregate(
        &mut self,
        expr: &Expr,
        plan: &Condition,
        aggregates: &mut Vec<Aggregate>,
    ) -> String {
        let found = match &expr.kind {
            ExprKind::Aggregate { label, .. } => {
                plan.aggregates.iter().find(|found| found.label == *label)
            }
            _ => None,
        };
        let Some(plan::Aggregate {
            function,
            field,
            filter,
            ..
        }) = found
        else {
            return self.fail(expr.origin, "not an aggregate");
        };
        let name = format!("tripline_aggregate_{}", aggregates.len() + 1);
        let field = field.as_ref().map(|name| self.field(name, expr.origin));
        let filter = filter.as_ref().map(|filter| self.filter(filter));
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
