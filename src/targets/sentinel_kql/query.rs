//! The Kusto query of a rule.
//!
//! Input: a rule (match, threshold, baseline or percentile window, new
//! value, sequence), the pack and the field mapping. Output: KQL text over the custom
//! table with the schedule it needs, or E0402 problems for the constructs
//! with no exact translation. The rule is lowered by the shared [`plan`];
//! filters (of the source and of each aggregate) are spelled by [`Kusto`]
//! through [`spelling::predicate`]; this module lays out the query: the
//! event-type test, windows, grouping sets, aggregate columns, history,
//! ranks, first sightings and the alert condition.
//!
//! The scheduled search. Sentinel runs the query every `queryFrequency` over
//! the events of the last `queryPeriod`
//! (<https://learn.microsoft.com/azure/sentinel/scheduled-rules-overview>,
//! "Query scheduling"). Each run alerts for what closed in its own slot,
//! `(now() - 5m - frequency, now() - 5m]` (the windows that ended there, or
//! the events of new-value rules, the completing events of sequences), so consecutive runs tile time and each
//! window or event alerts in exactly one run, 5 minutes late so that late
//! events still count. The period is that slot plus the history its alerts
//! read (a window, a baseline's lookback, a new value's lookback), so
//! everything they need is inside it; what lies before the period is never
//! needed.

use super::quote::pascal_case;
use super::syntax::{self, Kusto, number_or_bool};
use crate::ir::{self, AggregateFunction, ArithmeticOp, Rule, Value};
use crate::targets::plan::{self, Cond, Leaf, Pred, Shape, Source};
use crate::targets::syntax::{self as spelling, Unsupported};
use crate::targets::{Mapping, Problem, duration_text};

mod cluster;
mod history;
mod patterns;
mod sequence;
mod window;

use patterns::{hoist_repeated_patterns, name_repeated_patterns};

/// How long after a window ends its alert is raised: the evaluator's default
/// lateness bound, so that late events still count.
pub const LATENESS_MS: i64 = 5 * 60_000;

/// From a query period of two days on, Sentinel runs a rule at most hourly.
/// What was verified: the rule as Sentinel's rule validation states it is
/// recorded, with the other schedule limits, in a community hackathon
/// README (<https://github.com/MSSAPSCA1/Azure_Sentinel#readme>, not a
/// Microsoft page); a search of Microsoft's Sentinel documentation found no
/// page that states it, so it is kept as the stricter, safe choice.
pub const LONG_PERIOD_MS: i64 = 2 * 86_400_000;

/// The shortest query frequency Sentinel accepts with a long period.
pub const LONG_PERIOD_FREQUENCY_MS: i64 = 3_600_000;

/// The longest run (`repeat >= n`) a sequence query names event by event.
pub const MAX_SEQUENCE_RUN: u32 = 100;

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
    /// The columns the results add for the File entity, the target path's
    /// file name and directory (`parse_path`), when they carry the path.
    pub file_columns: Option<(String, String)>,
    /// How often the rule runs (`queryFrequency`), in milliseconds.
    pub frequency_ms: i64,
    /// How far back the query reads (`queryPeriod`), in milliseconds.
    pub period_ms: i64,
    /// What the period is made of, for messages.
    pub period_parts: String,
}

/// What a shape's printer makes: the query text and the columns of its
/// results. [`rule_query`] adds the schedule and the File entity's columns.
struct Body {
    text: String,
    group_columns: Vec<String>,
    value_columns: Vec<String>,
    all_columns: bool,
}

/// How far back a rule's alerts read beyond the run's own slot, and what
/// that is made of: nothing for a match, the window (and the longest
/// baseline lookback) for a window, the lookback for a new value; plus the
/// lateness allowance for the last two.
fn history(plan: &plan::Plan) -> (i64, Vec<String>) {
    let late = format!("{} for late events", duration_text(LATENESS_MS));
    match &plan.shape {
        Shape::Window(window) => {
            let mut parts = Vec::new();
            let mut ms = window.bucket_ms + LATENESS_MS;
            if let Some(span) = window.condition.baselines.iter().map(|b| b.span_ms).max() {
                ms += span;
                parts.push(format!("the baseline's {} lookback", duration_text(span)));
            }
            parts.push(format!("the {} window", duration_text(window.bucket_ms)));
            parts.push(late);
            (ms, parts)
        }
        Shape::Cluster { window_ms, .. } => (
            window_ms + LATENESS_MS,
            vec![format!("the {} window", duration_text(*window_ms)), late],
        ),
        Shape::NewValue { lookback_ms, .. } => (
            lookback_ms + LATENESS_MS,
            vec![
                format!("the {} lookback", duration_text(*lookback_ms)),
                late,
            ],
        ),
        Shape::Sequence { within_ms, .. } => (
            within_ms + LATENESS_MS,
            vec![
                format!("the {} sequence span", duration_text(*within_ms)),
                late,
            ],
        ),
        _ => (0, Vec::new()),
    }
}

/// The query frequency: the rule's schedule, raised to an hour when the
/// period would reach two days (Sentinel's limit). A window or event still
/// alerts in exactly one run; only later, by at most the difference.
fn frequency(schedule_ms: i64, history_ms: i64) -> i64 {
    if history_ms + schedule_ms >= LONG_PERIOD_MS && schedule_ms < LONG_PERIOD_FREQUENCY_MS {
        LONG_PERIOD_FREQUENCY_MS
    } else {
        schedule_ms
    }
}

/// The KQL query of a rule, with its schedule.
pub fn rule_query(
    rule: &Rule,
    pack: &ir::Pack,
    mapping: &Mapping,
    table: &str,
) -> Result<Query, Vec<Problem>> {
    let plan = plan::plan(rule, pack)?;
    let mut printer = Printer {
        origin: rule.origin,
        context_origin: rule.context_origin(),
        schema: &pack.schema,
        lookups: &pack.lookups,
        mapping,
        problems: Vec::new(),
        computed: None,
    };
    let (history_ms, mut parts) = history(&plan);
    let frequency_ms = frequency(rule.metadata.schedule_ms, history_ms);
    parts.insert(
        parts.len().saturating_sub(1),
        format!("the {} query frequency", duration_text(frequency_ms)),
    );
    let mut body = match &plan.shape {
        Shape::Match(source) => {
            let condition = printer.source(source);
            Body {
                text: format!("{table}\n| where {condition}"),
                group_columns: Vec::new(),
                value_columns: Vec::new(),
                all_columns: true,
            }
        }
        Shape::Window(window)
            if window.condition.baselines.is_empty() && window.condition.percentiles.is_empty() =>
        {
            printer.window(table, window, frequency_ms)
        }
        Shape::Window(window) => {
            printer.stateful_window(table, window, frequency_ms, plan.learn_ms)
        }
        Shape::Cluster {
            source,
            fingerprint,
            window_ms,
            condition,
        } => {
            printer.fingerprint(fingerprint);
            let window = plan::Window {
                source: source.clone(),
                groupings: vec![vec![fingerprint.group_name().to_string()]],
                bucket_ms: *window_ms,
                condition: condition.clone(),
                context: Vec::new(),
            };
            printer.window(table, &window, frequency_ms)
        }
        Shape::NewValue {
            source,
            key,
            values,
            lookback_ms,
        } => printer.new_value(
            table,
            source,
            (key, values),
            *lookback_ms,
            plan.learn_ms,
            frequency_ms,
        ),
        Shape::Sequence { .. } => match plan::sequence::run_then_step(&plan.shape) {
            Ok(form) => printer.sequence(table, &form, frequency_ms),
            Err(reason) => return Err(vec![Problem::untranslatable(rule.origin, reason)]),
        },
    };
    // A sequence names its repeated patterns itself, beside its other `let`s.
    if !matches!(plan.shape, Shape::Sequence { .. }) {
        body.text = name_repeated_patterns(&body.text);
    }
    let sources: Vec<&plan::Source> = match &plan.shape {
        Shape::Match(source) | Shape::NewValue { source, .. } => vec![source],
        Shape::Sequence { steps, .. } => steps.iter().map(|(source, _)| source).collect(),
        _ => Vec::new(),
    };
    let with_path = pack.schema.event_types_with("target_path");
    let reads_paths = sources.iter().any(|source| {
        source
            .event_types
            .iter()
            .any(|event_type| with_path.contains(&event_type.as_str()))
    });
    let file_columns = if body.all_columns && reads_paths {
        file_columns(&mut body.text, mapping)
    } else {
        None
    };
    let query = Query {
        text: body.text,
        group_columns: body.group_columns,
        value_columns: body.value_columns,
        all_columns: body.all_columns,
        file_columns,
        frequency_ms,
        period_ms: history_ms + frequency_ms,
        period_parts: join_words(&parts),
    };
    if printer.problems.is_empty() {
        Ok(query)
    } else {
        Err(printer.problems)
    }
}

/// The File entity's name and directory, split from the target path with
/// `parse_path` (its `Filename` and `DirectoryPath`,
/// https://learn.microsoft.com/kusto/query/parse-path-function) into two
/// columns added to results that carry the path; `None` when the mapping
/// has no target path or already names a column so.
fn file_columns(text: &mut String, mapping: &Mapping) -> Option<(String, String)> {
    const NAME: &str = "FileName";
    const DIRECTORY: &str = "FileDirectory";
    let path = &mapping.field("target_path")?.name;
    if mapping
        .fields
        .values()
        .any(|field| field.name == NAME || field.name == DIRECTORY)
    {
        return None;
    }
    text.push_str(&format!(
        "\n| extend {NAME} = tostring(parse_path({path}).Filename), {DIRECTORY} = tostring(parse_path({path}).DirectoryPath)"
    ));
    Some((NAME.to_string(), DIRECTORY.to_string()))
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// An epoch-aligned bin of `TimeGenerated`-like column.
pub(super) fn epoch_bin(column: &str, window_ms: i64) -> String {
    format!(
        "bin_at({column}, {}, datetime(1970-01-01T00:00:00Z))",
        duration_text(window_ms)
    )
}

pub(super) struct Printer<'a> {
    /// Where refusals are located (the rule's or the panel's origin).
    pub(super) origin: ir::Origin,
    /// Where a refusal of the `context` clause is located.
    pub(super) context_origin: ir::Origin,
    pub(super) schema: &'a ir::Schema,
    pub(super) lookups: &'a std::collections::BTreeMap<String, ir::Lookup>,
    pub(super) mapping: &'a Mapping,
    pub(super) problems: Vec<Problem>,
    /// A group key computed by the query (a cluster's fingerprint): its
    /// name in the plan, its column and the steps that compute it.
    pub(super) computed: Option<(&'static str, &'static str, String)>,
}

/// One aggregate column of a window query.
pub(super) struct AggregateColumn {
    pub(super) name: String,
    pub(super) expression: String,
    /// A column counting the values, when the aggregate can have none.
    pub(super) count_column: Option<(String, String)>,
    /// Whether the column is a `real` (otherwise a `long`).
    pub(super) real: bool,
}

/// The columns a condition's leaves are printed as.
pub(super) struct Leaves<'a> {
    pub(super) aggregates: &'a [AggregateColumn],
    pub(super) baselines: &'a [String],
    pub(super) percentiles: &'a [String],
}

/// Adds a guard unless it is already there.
fn push_new(guards: &mut Vec<String>, guard: String) {
    if !guards.contains(&guard) {
        guards.push(guard);
    }
}

/// A `long` expression as a `real`: a `long(N)` literal as `real(N.0)`.
fn as_double(text: &str) -> String {
    match text
        .strip_prefix("long(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|digits| digits.parse::<i64>().ok())
    {
        Some(number) => format!("real({:?})", number as f64),
        None => format!("todouble({text})"),
    }
}

fn arithmetic_symbol(op: ArithmeticOp) -> &'static str {
    match op {
        ArithmeticOp::Add => "+",
        ArithmeticOp::Subtract => "-",
        ArithmeticOp::Multiply => "*",
        ArithmeticOp::Divide => "/",
    }
}

impl Printer<'_> {
    /// Records a refusal at the rule; the query gets `false` in its place.
    pub(super) fn fail(&mut self, message: impl Into<String>) -> String {
        self.problems
            .push(Problem::untranslatable(self.origin, message.into()));
        "false".to_string()
    }

    pub(super) fn spelled(&mut self, spelled: Result<String, Unsupported>) -> String {
        spelled.unwrap_or_else(|Unsupported(reason)| self.fail(reason))
    }

    /// A mapped column reference and its Kusto type.
    pub(super) fn column(&mut self, field: &str) -> (String, String) {
        match syntax::column(self.mapping, field) {
            Ok((column, kind)) => (column, kind.to_string()),
            Err(Unsupported(reason)) => (self.fail(reason), "bool".to_string()),
        }
    }

    /// One grouping set's key columns (each added once to `group_columns`)
    /// and its events: `Events`, kept to those carrying every key.
    fn grouping_source(
        &mut self,
        grouping: &[String],
        group_columns: &mut Vec<String>,
    ) -> (Vec<String>, String) {
        let mut keys = Vec::new();
        let mut present = Vec::new();
        let mut steps = String::new();
        for field in grouping {
            if let Some((name, column, computed)) = &self.computed
                && name == field
            {
                steps.push_str(computed);
                if !group_columns.iter().any(|known| known == column) {
                    group_columns.push(column.to_string());
                }
                keys.push(column.to_string());
                continue;
            }
            let (column, _) = self.column(field);
            present.push(self.presence(field));
            if !group_columns.contains(&column) {
                group_columns.push(column.clone());
            }
            keys.push(column);
        }
        let mut events = String::from("Events");
        if !present.is_empty() {
            events.push_str(&format!("\n    | where {}", present.join(" and ")));
        }
        events.push_str(&steps);
        (keys, events)
    }

    pub(super) fn presence(&mut self, field: &str) -> String {
        let presence = syntax::presence(self.mapping, field);
        self.spelled(presence)
    }

    /// A filter over the events of `source`.
    fn predicate(&mut self, source: &Source, pred: &Pred) -> String {
        let kusto = Kusto {
            mapping: self.mapping,
            schema: self.schema,
            types: &source.event_types,
            lookups: self.lookups,
        };
        spelling::predicate(&kusto, pred, &mut self.problems)
    }

    /// The event-type test and the filter of a source.
    pub(super) fn source(&mut self, source: &Source) -> String {
        let (event_type, _) = self.column("event_type");
        let types: Vec<String> = source
            .event_types
            .iter()
            .map(|name| syntax::string(name))
            .map(|literal| self.spelled(literal))
            .collect();
        let mut parts = vec![match types.as_slice() {
            [single] => format!("{event_type} == {single}"),
            many => format!("{event_type} in ({})", many.join(", ")),
        }];
        if let Some(filter) = &source.filter {
            let condition = self.predicate(source, filter);
            parts.push(format!("({condition})"));
        }
        parts.join(" and ")
    }

    /// A condition over aggregates, baselines and percentiles: total, like
    /// the evaluator's (a comparison with a side that has no value is false,
    /// so `not` over it is true).
    fn condition(&mut self, cond: &Cond, leaves: &Leaves<'_>) -> String {
        match cond {
            Cond::Not(operand) => {
                format!("not({})", self.condition(operand, leaves))
            }
            Cond::And(operands) | Cond::Or(operands) => {
                let joiner = if matches!(cond, Cond::And(_)) {
                    " and "
                } else {
                    " or "
                };
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, leaves)))
                    .collect();
                parts.join(joiner)
            }
            Cond::Bool(value) => value.to_string(),
            Cond::Compare(op, left, right) => {
                let mut guards = Vec::new();
                let (left, _) = self.operand(left, leaves, &mut guards);
                let (right, _) = self.operand(right, leaves, &mut guards);
                let comparison = format!("{left} {} {right}", op.symbol());
                if guards.is_empty() {
                    comparison
                } else {
                    format!("{} and {comparison}", guards.join(" and "))
                }
            }
            other => self.fail(format!(
                "a {} in an alert condition has no Kusto translation here",
                cond_name(other)
            )),
        }
    }

    /// An operand of a comparison, and whether it is a `real`. What makes it
    /// have no value becomes a guard: an aggregate without values, a
    /// baseline or percentile that is null, a zero divisor.
    fn operand(
        &mut self,
        cond: &Cond,
        leaves: &Leaves<'_>,
        guards: &mut Vec<String>,
    ) -> (String, bool) {
        let value = match cond {
            Cond::Int(value) => Value::Int(*value),
            Cond::Float(value) => Value::Float(*value),
            Cond::Bool(value) => Value::Bool(*value),
            Cond::Leaf(Leaf::Aggregate(index)) if *index < leaves.aggregates.len() => {
                let aggregate = &leaves.aggregates[*index];
                if let Some((count, _)) = &aggregate.count_column {
                    push_new(guards, format!("{count} > 0"));
                }
                return (aggregate.name.clone(), aggregate.real);
            }
            Cond::Leaf(Leaf::Baseline(index)) if *index < leaves.baselines.len() => {
                let name = leaves.baselines[*index].clone();
                push_new(guards, format!("isnotnull({name})"));
                return (name, true);
            }
            Cond::Leaf(Leaf::Percentile(index)) if *index < leaves.percentiles.len() => {
                let name = leaves.percentiles[*index].clone();
                push_new(guards, format!("isnotnull({name})"));
                return (name, true);
            }
            // Over doubles, as the evaluator: Kusto divides two longs as
            // integers (https://learn.microsoft.com/kusto/query/scalar-data-types/long),
            // so an all-integer operation gets a `todouble` on its left side;
            // a zero divisor has no value (Kusto would give infinity).
            Cond::Arithmetic(op, left, right) => {
                let (left_text, left_real) = self.operand(left, leaves, guards);
                let (right_text, right_real) = self.operand(right, leaves, guards);
                let left_text = if left_real || right_real {
                    left_text
                } else {
                    as_double(&left_text)
                };
                let constant_divisor = match **right {
                    Cond::Int(value) => value != 0,
                    Cond::Float(value) => value != 0.0,
                    _ => false,
                };
                if *op == ArithmeticOp::Divide && !constant_divisor {
                    push_new(guards, format!("{right_text} != 0"));
                }
                return (
                    format!("({left_text} {} {right_text})", arithmetic_symbol(*op)),
                    true,
                );
            }
            Cond::Missing => {
                return (self.fail("the compared value is not a number"), false);
            }
            other => {
                return (
                    self.fail(format!(
                        "a {} in an alert condition has no Kusto translation here",
                        cond_name(other)
                    )),
                    false,
                );
            }
        };
        let real = matches!(value, Value::Float(_));
        let text = number_or_bool(&value)
            .unwrap_or_else(|| self.fail("the compared value is not a number"));
        (text, real)
    }

    /// An expression over aggregates as a `real` that is null where the
    /// evaluator's has no value: the per-window value a baseline averages or
    /// a percentile ranks.
    pub(super) fn value(&mut self, cond: &Cond, leaves: &Leaves<'_>) -> String {
        let aggregates = leaves.aggregates;
        match cond {
            Cond::Int(value) => format!("real({:?})", *value as f64),
            Cond::Float(value) if value.is_finite() => format!("real({value:?})"),
            Cond::Leaf(Leaf::Aggregate(index)) if *index < aggregates.len() => {
                let aggregate = &aggregates[*index];
                let text = if aggregate.real {
                    aggregate.name.clone()
                } else {
                    as_double(&aggregate.name)
                };
                match &aggregate.count_column {
                    Some((count, _)) => format!("iff({count} > 0, {text}, real(null))"),
                    None => text,
                }
            }
            // A baseline is a `real` column, null where it has no value.
            Cond::Leaf(Leaf::Baseline(index)) if *index < leaves.baselines.len() => {
                leaves.baselines[*index].clone()
            }
            Cond::Arithmetic(op, left, right) => {
                let left = self.value(left, leaves);
                let right = self.value(right, leaves);
                match op {
                    ArithmeticOp::Divide => {
                        format!("iff({right} == 0, real(null), {left} / {right})")
                    }
                    other => format!("({left} {} {right})", arithmetic_symbol(*other)),
                }
            }
            other => self.fail(format!(
                "a {} inside a baseline or percentile has no Kusto translation here",
                cond_name(other)
            )),
        }
    }

    /// The column of an aggregate, named after its function and field
    /// (`DistinctUserId`), numbered after the first of a name.
    pub(super) fn aggregate(
        &mut self,
        aggregate: &plan::Aggregate,
        source: &Source,
        taken: &[AggregateColumn],
    ) -> AggregateColumn {
        let function = aggregate.function;
        let filtered = aggregate.filter.is_some();
        let predicate = match &aggregate.filter {
            Some(filter) => self.predicate(source, filter),
            None => "true".to_string(),
        };
        let base = match &aggregate.field {
            Some(field) => format!("{}{}", capitalised(function.name()), pascal_case(field)),
            None => capitalised(function.name()),
        };
        let mut name = base.clone();
        let mut suffix = 2;
        while taken.iter().any(|column| column.name == name) {
            name = format!("{base}{suffix}");
            suffix += 1;
        }
        let Some(field) = &aggregate.field else {
            return AggregateColumn {
                name,
                expression: if filtered {
                    format!("countif({predicate})")
                } else {
                    "count()".to_string()
                },
                count_column: None,
                real: false,
            };
        };
        let (column, kind) = self.column(field);
        let present = self.presence(field);
        let counted = if filtered {
            format!("{present} and ({predicate})")
        } else {
            present
        };
        let count_column = Some((format!("{name}Values"), format!("countif({counted})")));
        let (expression, count_column) = match function {
            AggregateFunction::Count => (format!("countif({predicate})"), None),
            AggregateFunction::Distinct => (format!("count_distinctif({column}, {counted})"), None),
            AggregateFunction::Sum if kind == "real" || kind == "long" => (
                format!("coalesce(sumif({column}, {counted}), {kind}(0))"),
                None,
            ),
            AggregateFunction::Sum => {
                name = self.fail("`sum` of a field that is not a number");
                (String::new(), None)
            }
            AggregateFunction::Avg => (
                format!("avgif(todouble({column}), {counted})"),
                count_column,
            ),
            AggregateFunction::Min => (format!("minif({column}, {counted})"), count_column),
            AggregateFunction::Max => (format!("maxif({column}, {counted})"), count_column),
        };
        let real = match function {
            AggregateFunction::Avg => true,
            AggregateFunction::Count | AggregateFunction::Distinct => false,
            _ => kind == "real",
        };
        AggregateColumn {
            name,
            expression,
            count_column,
            real,
        }
    }
}

/// The `summarize` terms that gather each baseline's history from a bucket
/// joined with the same group's earlier buckets (`EarlierStart`, and per
/// baseline its value there in the column `earlier`): the first earlier
/// bucket, the sum and number of the values, and the number of earlier
/// buckets with events. With several baselines, each keeps to its own
/// lookback (the join reached back the longest).
pub(super) fn history_terms(
    prefixes: &[String],
    lookbacks: &[String],
    earlier: &[String],
    start: &str,
) -> Vec<String> {
    let mut terms = Vec::new();
    for ((prefix, lookback), value) in prefixes.iter().zip(lookbacks).zip(earlier) {
        if prefixes.len() == 1 {
            terms.push(format!("{prefix}First = min(EarlierStart)"));
            terms.push(format!("{prefix}Sum = sum({value})"));
            terms.push(format!("{prefix}Values = countif(isnotnull({value}))"));
            terms.push(format!("{prefix}Active = count()"));
        } else {
            let inside = format!("EarlierStart >= {start} - {lookback}");
            terms.push(format!("{prefix}First = minif(EarlierStart, {inside})"));
            terms.push(format!("{prefix}Sum = sumif({value}, {inside})"));
            terms.push(format!(
                "{prefix}Values = countif(isnotnull({value}) and {inside})"
            ));
            terms.push(format!("{prefix}Active = countif({inside})"));
        }
    }
    terms
}

/// A baseline's mean over the history [`history_terms`] gathered: with an
/// empty value (0 for `count`, `sum`, `distinct`), the buckets between the
/// first earlier one and this one without events count at that value (the
/// expression of the `PrefixEmpty` column, returned first); without one,
/// only buckets with a value count. Null when no bucket counts.
pub(super) fn baseline_mean(
    prefix: &str,
    empty: Option<f64>,
    start: &str,
    window: &str,
) -> (Option<String>, String) {
    match empty {
        None => (
            None,
            format!("iff({prefix}Values > 0, {prefix}Sum / {prefix}Values, real(null))"),
        ),
        Some(empty) => {
            let sum = if empty == 0.0 {
                format!("{prefix}Sum")
            } else {
                format!("({prefix}Sum + real({empty:?}) * {prefix}Empty)")
            };
            (
                Some(format!(
                    "({start} - {prefix}First) / {window} - {prefix}Active"
                )),
                format!(
                    "iff({prefix}Values + {prefix}Empty > 0, {sum} / ({prefix}Values + {prefix}Empty), real(null))"
                ),
            )
        }
    }
}

/// What a condition node is called in messages.
fn cond_name(cond: &Cond) -> &'static str {
    match cond {
        Cond::Int(_) | Cond::Float(_) | Cond::Bool(_) | Cond::Missing => "literal",
        Cond::Leaf(Leaf::Aggregate(_)) => "aggregate",
        Cond::Leaf(Leaf::Baseline(_)) => "baseline",
        Cond::Leaf(Leaf::Percentile(_)) => "percentile",
        Cond::Arithmetic(..) => "arithmetic",
        Cond::Compare(..) => "comparison",
        Cond::And(_) => "`and`",
        Cond::Or(_) => "`or`",
        Cond::Not(_) => "`not`",
    }
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// The end of a window query: the condition over the closed windows, then
/// the window, its group and value columns.
fn window_query(
    mut text: String,
    test: &str,
    group_columns: Vec<String>,
    value_columns: Vec<String>,
) -> Body {
    text.push_str(&format!("\n| where {test}"));
    let mut projected = vec!["WindowStart".to_string(), "WindowEnd".to_string()];
    projected.extend(group_columns.iter().cloned());
    projected.extend(value_columns.iter().cloned());
    text.push_str(&format!("\n| project {}", projected.join(", ")));
    Body {
        text,
        group_columns,
        value_columns,
        all_columns: false,
    }
}

#[cfg(test)]
mod tests;
