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

mod history;
mod panel;
mod sequence;
mod window;

pub use panel::panel_search;

use super::quote::plain_term;
use super::syntax::{Spl, number, text_match};
use crate::ir::{
    AggregateFunction, ArithmeticOp, Detection, Expr, ExprKind, Origin, Pack, Rule, TextOp, Value,
};
use crate::targets::plan::{self, Cond, Condition, FingerprintStep, Leaf, Pred, Shape, Source};
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

/// The SPL of a match, window or new-value rule, ending before the tuning
/// macro.
pub fn rule_search(
    rule: &Rule,
    pack: &Pack,
    mapping: &Mapping,
    data_source_macro: &str,
) -> Result<Search, Vec<Problem>> {
    let mut printer = Printer {
        spl: Spl::new(mapping, &pack.lookups),
        problems: Vec::new(),
        computed: None,
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
        Detection::Match { .. } | Detection::NewValue { .. } | Detection::Sequence { .. } => {}
        Detection::Window { window_ms, .. } | Detection::Cluster { window_ms, .. } => {
            if *window_ms <= 0 || window_ms % 1000 != 0 {
                printer.fail(
                    rule.origin,
                    "the window is not a whole number of seconds (`_time` is binned in seconds)",
                );
            }
        }
    }
    // The constructs no target prints are false in the plan: the rest is
    // still printed, so that this target's own refusals come in the same run.
    let (plan, problems) = plan::plan_and_problems(rule, pack);
    printer.problems.extend(problems);
    let mut lines = vec![format!("`{data_source_macro}`")];
    let search = match (&plan.shape, &rule.detection) {
        (Shape::Match(source), _) => {
            let helpers = printer.source(source, &mut lines, rule.origin);
            // Each run takes the events of one whole schedule slot that closed
            // at least the lateness bound ago: runs tile event time, so every
            // event alerts exactly once.
            lines.push(slot_filter(slot));
            // The alert keeps the event's fields, not the lookups' helpers.
            if !helpers.is_empty() {
                lines.push(format!("| fields - {}", helpers.join(", ")));
            }
            Search {
                lines,
                look_back_seconds: 2 * slot + LATENESS_SECONDS,
                suppress_fields: Vec::new(),
                suppress_seconds: 0,
            }
        }
        (Shape::Window(window), Detection::Window { condition, .. }) => {
            printer.source(&window.source, &mut lines, rule.origin);
            printer.window_search(window, condition, (slot, plan.learn_ms), lines, rule.origin)
        }
        (
            Shape::Cluster {
                source,
                fingerprint,
                window_ms,
                condition: plan_condition,
            },
            Detection::Cluster { condition, .. },
        ) => {
            printer.source(source, &mut lines, rule.origin);
            printer.fingerprint(fingerprint, &mut lines, rule.origin);
            // Then a window grouped by the fingerprint's band key.
            let window = plan::Window {
                source: source.clone(),
                groupings: vec![vec![fingerprint.group_name().to_string()]],
                bucket_ms: *window_ms,
                condition: plan_condition.clone(),
                context: Vec::new(),
            };
            printer.window_search(
                &window,
                condition,
                (slot, plan.learn_ms),
                lines,
                rule.origin,
            )
        }
        (
            Shape::NewValue {
                source,
                key,
                values,
                lookback_ms,
            },
            _,
        ) => {
            printer.source(source, &mut lines, rule.origin);
            printer.new_value(
                (key, values),
                (*lookback_ms, plan.learn_ms, slot),
                &mut lines,
                rule.origin,
            );
            Search {
                lines,
                // Every event of the reported slot needs the sightings of
                // the lookback before it.
                look_back_seconds: 2 * slot + ceil_seconds(*lookback_ms) + LATENESS_SECONDS,
                suppress_fields: Vec::new(),
                suppress_seconds: 0,
            }
        }
        (Shape::Sequence { .. }, _) => match plan::sequence::run_then_step(&plan.shape) {
            Ok(form) => {
                printer.sequence(&form, slot, &mut lines, rule.origin);
                Search {
                    lines,
                    // Every completing event of the reported slot needs the
                    // span before it (see `plan::sequence`).
                    look_back_seconds: 2 * slot + ceil_seconds(form.within_ms) + LATENESS_SECONDS,
                    suppress_fields: Vec::new(),
                    suppress_seconds: 0,
                }
            }
            Err(reason) => {
                printer.fail(rule.origin, reason);
                return Err(printer.problems);
            }
        },
        _ => {
            printer.fail(rule.origin, "the plan's shape is not the rule's");
            return Err(printer.problems);
        }
    };
    let mut search = search;
    // The addresses are computed before any test reads them, and dropped
    // at the end.
    let helpers = match printer.spl.insert_address_eval(&mut search.lines) {
        Ok(helpers) => helpers,
        Err(Unsupported(reason)) => {
            printer.fail(rule.origin, reason);
            Vec::new()
        }
    };
    if !helpers.is_empty() {
        search
            .lines
            .push(format!("| fields - {}", helpers.join(", ")));
    }
    if printer.problems.is_empty() {
        Ok(search)
    } else {
        Err(printer.problems)
    }
}

/// The longest run (`repeat >= n`) a sequence search copies event by event.
pub const MAX_SEQUENCE_RUN: u32 = 20;

/// The events of the schedule slot that closed at least the lateness bound
/// before the run (match and new-value rules).
fn slot_filter(slot: i64) -> String {
    format!("| where floor(_time / {slot}) == floor((now() - {LATENESS_SECONDS}) / {slot}) - 1")
}

/// The field holding a cluster's band keys.
pub const FINGERPRINT_FIELD: &str = "tripline_fingerprint";

/// The field holding a cluster's words, then their distinct lowercase forms.
const FINGERPRINT_WORD: &str = "tripline_word";

/// The field holding the MD5 of each word.
const FINGERPRINT_HASH: &str = "tripline_hash";

/// A copy of the clustered text, when its field name is not a plain term.
const FINGERPRINT_TEXT: &str = "tripline_text";

/// Band `band` (from 0) of a fingerprint in SPL, from the plan's steps: the
/// word pattern (shared by every band), the band's sorted distinct slices
/// (over [`FINGERPRINT_HASH`]) and its key (over `tripline_band_<k>`).
fn fingerprint_band(
    fingerprint: &plan::Fingerprint,
    band: usize,
) -> Result<(&'static str, String, String), String> {
    let name = format!("tripline_band_{}", band + 1);
    let mut pattern = None;
    let mut slices = String::new();
    let mut key = name.clone();
    for step in fingerprint.band_steps(band) {
        match step {
            FingerprintStep::Words { pattern: words } => pattern = Some(words),
            FingerprintStep::HashEach { offset, digits } => {
                slices = format!(
                    "mvmap({FINGERPRINT_HASH}, substr({FINGERPRINT_HASH}, {}, {digits}))",
                    offset + 1
                );
            }
            FingerprintStep::Distinct => slices = format!("mvdedup({slices})"),
            FingerprintStep::Sort => slices = format!("mvsort({slices})"),
            // mvindex's end index stays inside the values.
            FingerprintStep::First(count) => {
                key = format!(
                    "mvindex({key}, 0, min({}, mvcount({key}) - 1))",
                    count.max(1) - 1
                );
            }
            FingerprintStep::Join { separator } => {
                key = format!("mvjoin({key}, \"{separator}\")");
            }
            // Events without a word were dropped: no key is empty.
            FingerprintStep::DropEmpty => {}
            FingerprintStep::Label(label) => key = format!("\"{label}\" . {key}"),
            FingerprintStep::MinLength(_) => {}
        }
    }
    match pattern {
        Some(pattern) if !pattern.contains(['"', '\\']) && !slices.is_empty() => {
            Ok((pattern, slices, key))
        }
        _ => Err("the fingerprint's steps have no SPL form".to_string()),
    }
}

/// Milliseconds as whole seconds, rounded up.
fn ceil_seconds(milliseconds: i64) -> i64 {
    (milliseconds.max(0) + 999) / 1000
}

/// One aggregate of a window condition: the eval that prepares its input
/// (if any) and the `stats` function computing it.
struct Aggregate {
    name: String,
    prepare: Option<String>,
    stats: String,
}

/// The one `eval` that prepares the aggregates' inputs, if any needs one.
fn prepare_line(aggregates: &[Aggregate]) -> Option<String> {
    let prepares: Vec<String> = aggregates
        .iter()
        .filter_map(|aggregate| aggregate.prepare.clone())
        .collect();
    (!prepares.is_empty()).then(|| format!("| eval {}", prepares.join(", ")))
}

/// The SPL of a plan, and the problems met on the way.
struct Printer<'a> {
    spl: Spl<'a>,
    problems: Vec<Problem>,
    /// A group key computed by the search (a cluster's fingerprint): its
    /// name in the plan and its field.
    computed: Option<(&'static str, &'static str)>,
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

    /// The field of a grouping: the computed key's, or the mapped field.
    fn group_field(&mut self, name: &str, origin: Origin) -> String {
        match self.computed {
            Some((key, field)) if key == name => field.to_string(),
            _ => self.field(name, origin),
        }
    }

    /// The search of a window after its source's lines: the window's
    /// `stats`, history and condition, reading back the window, its history
    /// and two schedule slots, and suppressed for the window and two slots.
    fn window_search(
        &mut self,
        window: &plan::Window,
        condition: &Expr,
        (slot, learn_ms): (i64, i64),
        mut lines: Vec<String>,
        origin: Origin,
    ) -> Search {
        let seconds = window.bucket_ms / 1000;
        let (suppress_fields, history_seconds) = self.window(
            window,
            (seconds, slot, learn_ms),
            condition,
            &mut lines,
            origin,
        );
        Search {
            lines,
            look_back_seconds: 2 * slot + seconds + history_seconds + LATENESS_SECONDS,
            suppress_fields,
            suppress_seconds: seconds + 2 * slot,
        }
    }

    /// A filter of the plan, every test total.
    fn filter(&mut self, filter: &Pred) -> String {
        syntax::predicate(&self.spl, filter, &mut self.problems)
    }

    /// The event-type prefilter and test, then the filter (after the
    /// lookups it reads by reference). Returns the helper fields the lookups
    /// added.
    fn source(&mut self, source: &Source, lines: &mut Vec<String>, origin: Origin) -> Vec<String> {
        self.prefilter(&source.event_types, lines, origin);
        let event_test = self.event_test(&source.event_types, origin);
        let Some(filter) = &source.filter else {
            lines.push(format!("| where {event_test}"));
            return Vec::new();
        };
        self.spl.joinable.set(true);
        let condition = self.filter(filter);
        self.spl.joinable.set(false);
        let joins = self.spl.joins.take();
        if joins.is_empty() {
            lines.push(format!("| where {event_test} AND ({condition})"));
            return Vec::new();
        }
        // The event types first, so that only their events are looked up.
        lines.push(format!("| where {event_test}"));
        let mut helpers = Vec::new();
        for join in &joins {
            lines.extend(super::lookup::join_lines(
                &join.lookup,
                join.separator,
                &join.fields,
            ));
            helpers.push(super::lookup::key_field(&join.lookup));
            helpers.push(super::lookup::found_field(&join.lookup));
        }
        lines.push(format!("| where {condition}"));
        helpers
    }

    /// A case-insensitive search term for the event types (a superset, and
    /// fast), appended to the first line, when the names allow it.
    fn prefilter(&mut self, event_types: &[String], lines: &mut [String], origin: Origin) {
        let event_type = self.field("event_type", origin);
        if event_types
            .iter()
            .all(|name| plain_term(name) && plain_term(&event_type))
        {
            let mut names: Vec<&String> = Vec::new();
            for name in event_types {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            let terms: Vec<String> = names
                .iter()
                .map(|name| format!("{event_type}={name}"))
                .collect();
            lines[0].push_str(&format!(" | search {}", terms.join(" OR ")));
        }
    }

    /// The exact test of the event types.
    fn event_test(&mut self, event_types: &[String], origin: Origin) -> String {
        let event_type = self.field("event_type", origin);
        let mut types: Vec<&str> = event_types.iter().map(String::as_str).collect();
        types.sort_unstable();
        types.dedup();
        if types.is_empty() {
            return "false()".to_string();
        }
        match text_match(&event_type, &types, TextOp::Equals, true, false) {
            Ok(test) => test,
            Err(Unsupported(reason)) => self.fail(origin, reason),
        }
    }

    /// The exact event-type test and the filter of a source, as one boolean
    /// (lookups inlined: a sequence step tests it inside `if()`).
    fn source_test(&mut self, source: &Source, origin: Origin) -> String {
        let event_test = self.event_test(&source.event_types, origin);
        match &source.filter {
            Some(filter) => {
                let condition = self.filter(filter);
                format!("{event_test} AND ({condition})")
            }
            None => event_test,
        }
    }

    /// The `stats` output field of every aggregate of the plan, by index
    /// (shared when two compute the same); collects what `stats` computes.
    fn aggregates(
        &mut self,
        plan: &Condition,
        expr: &Expr,
        aggregates: &mut Vec<Aggregate>,
    ) -> Vec<String> {
        plan.aggregates
            .iter()
            .map(|aggregate| {
                let origin = aggregate_origin(expr, &aggregate.label).unwrap_or(expr.origin);
                self.aggregate(aggregate, origin, aggregates)
            })
            .collect()
    }

    /// The `stats` output field of one aggregate.
    fn aggregate(
        &mut self,
        aggregate: &plan::Aggregate,
        origin: Origin,
        aggregates: &mut Vec<Aggregate>,
    ) -> String {
        let plan::Aggregate {
            function,
            field,
            filter,
            ..
        } = aggregate;
        let name = format!("tripline_aggregate_{}", aggregates.len() + 1);
        let field = field.as_ref().map(|name| self.field(name, origin));
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
                return self.fail(origin, "an aggregate without its field");
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

/// Where the aggregate written as `label` is, for refusals.
fn aggregate_origin(expr: &Expr, label: &str) -> Option<Origin> {
    match &expr.kind {
        ExprKind::Aggregate { label: found, .. } if found == label => Some(expr.origin),
        ExprKind::Not { operand } => aggregate_origin(operand, label),
        ExprKind::And { operands } | ExprKind::Or { operands } => operands
            .iter()
            .find_map(|operand| aggregate_origin(operand, label)),
        ExprKind::Compare { left, right, .. } | ExprKind::Arithmetic { left, right, .. } => {
            aggregate_origin(left, label).or_else(|| aggregate_origin(right, label))
        }
        ExprKind::Baseline { aggregate, .. } | ExprKind::Percentile { aggregate, .. } => {
            aggregate_origin(aggregate, label)
        }
        _ => None,
    }
}

/// Each baseline's mean from its history: the buckets from the group's
/// first bucket inside the span up to the reported one, those without events
/// at the expression's empty value (when it has one), those where it has no
/// value skipped; no bucket inside the span means no baseline.
fn baseline_means(plan: &Condition, bucket: i64) -> Vec<String> {
    let mut evals = Vec::new();
    for (index, baseline) in plan.baselines.iter().enumerate() {
        let name = format!("tripline_baseline_{}", index + 1);
        let empties = format!("{name}_empty");
        match baseline.empty {
            Some(empty) => {
                evals.push(format!(
                    "{empties} = exact(({WINDOW_FIELD} - {name}_first) / {bucket} - {name}_active)"
                ));
                let sum = if empty == 0.0 {
                    format!("coalesce({name}_sum, 0)")
                } else {
                    format!(
                        "(coalesce({name}_sum, 0) + {} * {empties})",
                        spl_float(empty)
                    )
                };
                evals.push(format!(
                    "{name} = if(isnotnull({name}_first) AND {name}_values + {empties} > 0, exact({sum} / ({name}_values + {empties})), null())"
                ));
            }
            None => evals.push(format!(
                "{name} = if(isnotnull({name}_first) AND {name}_values > 0, exact({name}_sum / {name}_values), null())"
            )),
        }
    }
    evals
}

/// The exact percentile: the value at 0-based rank floor((N - 1) * P / 100)
/// of the ascending values of the N groups of the bucket that have one.
/// `sort 0` orders the rows by bucket, then value (numerically); `accum`
/// numbers the rows with a value in that order (a running total, no window:
/// https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/accum);
/// the rank within the bucket is that number less the bucket's offset.
/// Never `perc`/`exactperc`, which interpolate or estimate.
fn percentile_lines(
    printer: &CondPrinter<'_>,
    percentile: &plan::Percentile,
    number: usize,
    partition: &[String],
    lines: &mut Vec<String>,
    helpers: &mut Vec<String>,
) {
    let name = format!("tripline_percentile_{number}");
    let partition = partition.join(", ");
    lines.push(format!(
        "| eval {name}_input = {}, {name}_counted = if(isnotnull({name}_input), 1, 0)",
        printer.value(&percentile.inner)
    ));
    lines.push(format!("| sort 0 {partition}, num({name}_input)"));
    lines.push(format!("| accum {name}_counted AS {name}_position"));
    lines.push(format!(
        "| eval {name}_before = {name}_position - {name}_counted"
    ));
    lines.push(format!(
        "| eventstats min({name}_before) AS {name}_offset, sum({name}_counted) AS {name}_groups by {partition}"
    ));
    lines.push(format!(
        "| eval {name}_pick = if({name}_counted == 1 AND {name}_position - {name}_offset - 1 == floor(exact(({name}_groups - 1) * {} / 100)), {name}_input, null())",
        spl_float(percentile.percentile.clamp(0.0, 100.0))
    ));
    lines.push(format!(
        "| eventstats max({name}_pick) AS {name} by {partition}"
    ));
    for helper in [
        "input", "counted", "position", "before", "offset", "groups", "pick",
    ] {
        helpers.push(format!("{name}_{helper}"));
    }
}

/// A float in decimal notation (never an exponent).
fn spl_float(value: f64) -> String {
    number(&Value::Float(value)).unwrap_or_else(|| "null()".to_string())
}

/// A plan condition over the `stats` fields, every comparison total.
struct CondPrinter<'a> {
    condition: &'a Condition,
    names: &'a [String],
}

impl CondPrinter<'_> {
    /// A numeric expression, null when it has no value (a missing operand
    /// makes `eval` arithmetic null; division by zero is guarded to null).
    fn value(&self, cond: &Cond) -> String {
        match cond {
            Cond::Int(value) => value.to_string(),
            Cond::Float(value) => spl_float(*value),
            Cond::Bool(_) | Cond::Missing => "null()".to_string(),
            Cond::Leaf(Leaf::Aggregate(index)) => self.names[*index].clone(),
            Cond::Leaf(Leaf::Baseline(index)) => format!("tripline_baseline_{}", index + 1),
            Cond::Leaf(Leaf::Percentile(index)) => format!("tripline_percentile_{}", index + 1),
            Cond::Arithmetic(op, left, right) => {
                let (left, right) = (self.value(left), self.value(right));
                match op {
                    ArithmeticOp::Add => format!("exact({left} + {right})"),
                    ArithmeticOp::Subtract => format!("exact({left} - {right})"),
                    ArithmeticOp::Multiply => format!("exact({left} * {right})"),
                    ArithmeticOp::Divide => {
                        format!("if({right} == 0, null(), exact({left} / {right}))")
                    }
                }
            }
            Cond::Compare(..) | Cond::And(_) | Cond::Or(_) | Cond::Not(_) => "null()".to_string(),
        }
    }

    /// A boolean, two-valued: a comparison with a side that has no value is
    /// false (the side's leaves, or the side itself when it divides, are
    /// tested with `isnotnull` first), so `NOT` means what it means in the
    /// evaluator. Conjunctions and disjunctions enclose themselves.
    fn boolean(&self, cond: &Cond) -> String {
        match cond {
            Cond::Compare(op, left, right) => {
                let mut parts = Vec::new();
                for side in [left, right] {
                    for guard in self.guards(side) {
                        if !parts.contains(&guard) {
                            parts.push(guard);
                        }
                    }
                }
                parts.push(format!(
                    "{} {} {}",
                    self.value(left),
                    op.symbol(),
                    self.value(right)
                ));
                format!("({})", parts.join(" AND "))
            }
            Cond::And(operands) | Cond::Or(operands) => {
                let all = matches!(cond, Cond::And(_));
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| self.boolean(operand))
                    .collect();
                match parts.len() {
                    0 => if all { "true()" } else { "false()" }.to_string(),
                    1 => parts.join(""),
                    _ => format!("({})", parts.join(if all { " AND " } else { " OR " })),
                }
            }
            Cond::Not(operand) => format!("NOT {}", self.boolean(operand)),
            Cond::Bool(value) => if *value { "true()" } else { "false()" }.to_string(),
            _ => "false()".to_string(),
        }
    }

    /// The presence tests that make a comparison side total: every leaf it
    /// reads, or the whole side when it divides (division by zero has no
    /// value); none for a constant.
    fn guards(&self, side: &Cond) -> Vec<String> {
        fn divides(cond: &Cond) -> bool {
            match cond {
                Cond::Arithmetic(ArithmeticOp::Divide, ..) => true,
                Cond::Arithmetic(_, left, right) => divides(left) || divides(right),
                _ => false,
            }
        }
        fn leaves(cond: &Cond, out: &mut Vec<Cond>) {
            match cond {
                Cond::Leaf(_) | Cond::Missing => out.push(cond.clone()),
                Cond::Arithmetic(_, left, right) => {
                    leaves(left, out);
                    leaves(right, out);
                }
                _ => {}
            }
        }
        if divides(side) {
            return vec![format!("isnotnull({})", self.value(side))];
        }
        let mut found = Vec::new();
        leaves(side, &mut found);
        found
            .iter()
            .map(|leaf| format!("isnotnull({})", self.value(leaf)))
            .collect()
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

#[cfg(test)]
mod tests;
