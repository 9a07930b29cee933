//! The SQL family: a [`Plan`] printed as one `SELECT` over an events table,
//! for the targets whose dialect implements [`SqlDialect`].
//!
//! Input: a rule's plan, the mapping (column names and the events table) and
//! a dialect. Output: the query text and the [`QueryInfo`] the runner needs
//! to turn its rows into alerts. Every query returns one row per alert with
//! the columns `raised_ms`, `first_seen_ms`, `last_seen_ms`, `event_count`
//! and `event_ids` (the first 100 event references in processing order),
//! then the group's columns and one column per reported value.
//!
//! The events table has one column per schema field plus three the runner
//! derives: `_time_ms` (the timestamp in epoch milliseconds), `_order` (any
//! value that sorts in the evaluator's processing order: time, then
//! `event_id` with missing ids last, then for events without one the MD5 digest
//! of the line's text, then input file and line, which only identical lines
//! reach) and `_ref` (the `event_id`, or `file:line`). A one-row table
//! `tripline_run` holds the run's `learn_ms` (the learning period of
//! baselines), the only column the queries read; the runners also define
//! `first_time_ms` and `learn_end_ms` there. Shapes:
//!
//! | plan | SQL |
//! | --- | --- |
//! | source and filter | `WHERE event_type IN (...) AND ...` |
//! | bucket | `_time_ms` rounded down to an epoch multiple of the window |
//! | aggregation per group | `GROUP BY` per grouping set, `UNION ALL` across sets |
//! | history ([`plan::Baseline`]) | window functions over earlier buckets, `RANGE` the lookback |
//! | percentile | the value at rank ⌊(N − 1) · P / 100⌋ of the groups of a bucket, by `row_number` |
//! | new value | the key's latest sighting at least the learning period old (`RANGE` frame), `lag` over key and value in processing order |
//! | cluster ([`plan::Fingerprint`]) | the band keys computed in `matched` and expanded to one row per band as `_fingerprint`, then a window grouped by it |
//! | condition | `WHERE` over the aggregate columns |
//! | sequence `A repeat >= n; B` | the closed form of [`plan::sequence`]: `lag(_, n - 1)` over each key's A-events gives each its run's start, `lag` over the A- and B-events gives each B-event the event before it, a join collects the run's events |

use std::collections::BTreeMap;

use serde::Serialize;

mod panel;
mod sequence;
mod syntax;
mod target;
mod window;

pub use panel::{PanelColumns, panel_query};

pub use target::{SqlTarget, plain_or_quoted};

use syntax::SqlSyntax;

use super::plan::{self, Cond, Condition, FingerprintStep, Leaf, Plan, Shape, Source};
use super::re2::Flavour;
use super::{Mapping, Problem};
use crate::ir::{self, AggregateFunction, ArithmeticOp, CompareOp, Rule, TextOp};

/// How many event references an alert lists, as in `tripline eval`.
pub const MAX_EVENT_IDS: usize = 100;

/// What a SQL dialect spells its own way; the rest of SQL is shared.
pub trait SqlDialect {
    /// The target id, for messages.
    fn target(&self) -> &'static str;

    /// The regex engine behind [`SqlDialect::regex_match`].
    fn flavour(&self) -> &'static Flavour;

    /// Whether `value` regex-searches `pattern` (a string literal).
    fn regex_match(&self, value: &str, pattern: &str) -> String;

    /// Case-sensitive substring, prefix and suffix tests against a literal.
    fn text_function(&self, op: TextOp, value: &str, needle: &str) -> String;

    /// A string literal.
    fn string(&self, text: &str) -> String;

    /// A column or alias name, quoted when it is not a plain identifier.
    fn ident(&self, name: &str) -> String;

    /// A float literal typed as a double.
    fn float(&self, value: f64) -> String;

    /// The start of the epoch-aligned bucket of `length_ms` holding `time_ms`.
    fn bucket(&self, time_ms: &str, length_ms: i64) -> String;

    /// An aggregate: the first `count` values of `_ref` in `_order`.
    fn first_refs(&self, count: usize) -> String;

    /// A one-element array.
    fn array_of(&self, value: &str) -> String;

    /// A step of a cluster's fingerprint applied to `value`: a string for
    /// [`FingerprintStep::Words`], a list for the others. The shared printer
    /// spells [`FingerprintStep::MinLength`], [`FingerprintStep::DropEmpty`]
    /// and [`FingerprintStep::Label`].
    fn fingerprint_step(&self, step: FingerprintStep, value: &str) -> String;

    /// Every match of `pattern` (a string literal) in `value` replaced by
    /// `rewrite`: a literal prefix (digits only) and the text of a group
    /// (0: the whole match).
    fn regex_replace(&self, value: &str, pattern: &str, rewrite: (&str, usize)) -> String;

    /// One row per element of the list of `values`, as a `SELECT` item
    /// (the rows of a null element have a null column).
    fn expand(&self, values: &[String]) -> String;

    /// `count(*)` of the rows passing `filter`.
    fn count_where(&self, filter: &str) -> String {
        format!("count(*) FILTER (WHERE {filter})")
    }

    /// An aggregate: the distinct non-null values of a text `column`, sorted
    /// ascending as text (a `context` field of the alert).
    fn sorted_distinct(&self, column: &str) -> String;
}

/// What the runner reads besides the rows.
#[derive(Debug, Clone, Serialize)]
pub struct QueryInfo {
    /// `match`, `threshold`, `baseline`, `percentile`, `new_value`,
    /// `cluster` or `sequence`.
    pub shape: &'static str,
    /// Per grouping set, the group fields and their columns (several sets
    /// are told apart by the `grouping_set` column).
    pub groupings: Vec<Vec<(String, String)>>,
    /// Reported values: label and column.
    pub values: Vec<(String, String)>,
    /// `context` fields and their columns (lists of sorted distinct values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<(String, String)>,
}

/// The query of one rule, or the problems of what the dialect cannot spell.
pub fn query(
    dialect: &dyn SqlDialect,
    rule: &Rule,
    plan: &Plan,
    mapping: &Mapping,
    lookups: &BTreeMap<String, ir::Lookup>,
) -> Result<(String, QueryInfo), Vec<Problem>> {
    let mut printer = Printer::new(dialect, mapping, lookups);
    let (body, info) = print_shape(&mut printer, rule, plan)?;
    let (body, info) = match printer.syntax.prepared_steps(&printer.table) {
        // An `in cidr` test reads the addresses computed once per event, a
        // lookup by reference the key found per event: the query is
        // printed again over those steps.
        Some((steps, table)) => {
            let mut over = Printer::new(dialect, mapping, lookups);
            over.table = table.to_string();
            let (body, info) = print_shape(&mut over, rule, plan)?;
            (with_steps(&steps, &body), info)
        }
        None => (body, info),
    };
    let header = format!(
        "-- {}: {}\n-- Compiled by tripline from {}. Reads `{}` and `tripline_run` as run.py defines them.\n",
        rule.id, rule.metadata.title, rule.file, printer.table
    );
    Ok((format!("{header}{body}"), info))
}

/// `steps` (`WITH` items) before a query's own.
fn with_steps(steps: &str, body: &str) -> String {
    match body.strip_prefix("WITH ") {
        Some(rest) => format!("WITH {steps},\n{rest}"),
        None => format!("WITH {steps}\n{body}"),
    }
}

/// A rule's plan as the body of its query.
fn print_shape(
    printer: &mut Printer<'_>,
    rule: &Rule,
    plan: &Plan,
) -> Result<(String, QueryInfo), Vec<Problem>> {
    let (body, info) = match &plan.shape {
        Shape::Match(source) => printer.matched(source, &plan.match_key),
        Shape::Window(window) => printer.window(window),
        Shape::NewValue {
            source,
            key,
            values,
            lookback_ms,
        } => printer.new_value(source, key, values, *lookback_ms, plan.learn_ms),
        Shape::Cluster {
            source,
            fingerprint,
            window_ms,
            condition,
        } => printer.cluster(source, fingerprint, *window_ms, condition),
        Shape::Sequence { .. } => match plan::sequence::run_then_step(&plan.shape) {
            Ok(form) => printer.sequence(&form),
            Err(reason) => return Err(vec![Problem::untranslatable(rule.origin, reason)]),
        },
    };
    if !printer.problems.is_empty() {
        return Err(std::mem::take(&mut printer.problems));
    }
    Ok((body, info))
}

struct Printer<'d> {
    dialect: &'d dyn SqlDialect,
    syntax: SqlSyntax<'d>,
    table: String,
    problems: Vec<Problem>,
    /// A cluster's key, computed in `matched` and grouped by.
    computed: Option<ComputedKey>,
}

/// A group key computed from the event rather than read from a column.
struct ComputedKey {
    /// Its name in the alert's `group`.
    name: &'static str,
    /// Its column in `matched` (the runner's own columns start with `_`,
    /// so no events column has this name).
    column: &'static str,
    /// The expression over the event's columns.
    expression: String,
    /// What it is, for a comment.
    comment: String,
    /// A filter on the events it is computed for.
    filter: Option<String>,
}

/// The evidence columns every alert row carries, over the rows of a group.
fn evidence(dialect: &dyn SqlDialect) -> String {
    format!(
        "min(_time_ms) AS first_seen_ms, max(_time_ms) AS last_seen_ms, count(*) AS event_count,\n    {} AS event_ids",
        dialect.first_refs(MAX_EVENT_IDS)
    )
}

impl<'d> Printer<'d> {
    /// A printer over the mapping's events table (`events` by default).
    fn new(
        dialect: &'d dyn SqlDialect,
        mapping: &'d Mapping,
        lookups: &'d BTreeMap<String, ir::Lookup>,
    ) -> Self {
        Printer {
            dialect,
            syntax: SqlSyntax {
                dialect,
                mapping,
                lookups,
                addresses: Default::default(),
                joins: Default::default(),
            },
            table: mapping
                .data_source
                .first()
                .cloned()
                .unwrap_or_else(|| "events".to_string()),
            problems: Vec::new(),
            computed: None,
        }
    }

    fn column(&self, field: &str) -> String {
        self.syntax.column(field)
    }

    /// The column of a grouping field: the computed key's, or the field's.
    fn group_column(&self, field: &str) -> String {
        match &self.computed {
            Some(key) if key.name == field => key.column.to_string(),
            _ => self.column(field),
        }
    }

    /// A cluster: the fingerprint computed per event in `matched`, then the
    /// window shape grouped by it.
    fn cluster(
        &mut self,
        source: &Source,
        fingerprint: &plan::Fingerprint,
        window_ms: i64,
        condition: &Condition,
    ) -> (String, QueryInfo) {
        let column = self.column(&fingerprint.field);
        let filter = match fingerprint.length_step() {
            Some(FingerprintStep::MinLength(minimum)) => {
                Some(format!("length({column}) >= {minimum}"))
            }
            _ => None,
        };
        let mut bands = Vec::new();
        for band in 0..fingerprint.bands() {
            let mut expression = column.clone();
            for step in fingerprint.band_steps(band) {
                expression = match step {
                    FingerprintStep::DropEmpty => format!("nullif({expression}, '')"),
                    // `||` is null when either side is, in DuckDB and Spark.
                    FingerprintStep::Label(label) => {
                        format!("{} || {expression}", self.dialect.string(label))
                    }
                    other => self.dialect.fingerprint_step(other, &expression),
                };
            }
            bands.push(expression);
        }
        let expression = self.dialect.expand(&bands);
        self.computed = Some(ComputedKey {
            name: fingerprint.group_name(),
            column: "_fingerprint",
            expression,
            comment: format!(
                "the fingerprint, one row per band: {}",
                fingerprint.describe()
            ),
            filter,
        });
        let window = plan::Window {
            source: source.clone(),
            groupings: vec![vec![fingerprint.group_name().to_string()]],
            bucket_ms: window_ms,
            condition: condition.clone(),
            context: Vec::new(),
        };
        let (body, mut info) = self.window(&window);
        info.shape = "cluster";
        (body, info)
    }

    /// `event_type IN (...) AND filter`.
    fn filter(&mut self, source: &Source) -> String {
        let types: Vec<String> = source
            .event_types
            .iter()
            .map(|name| self.dialect.string(name))
            .collect();
        let mut parts = vec![if types.len() == 1 {
            format!("{} = {}", self.column("event_type"), types[0])
        } else {
            format!("{} IN ({})", self.column("event_type"), types.join(", "))
        }];
        if let Some(filter) = &source.filter {
            parts.push(super::syntax::predicate(
                &self.syntax,
                filter,
                &mut self.problems,
            ));
        }
        parts.join("\n  AND ")
    }

    /// One row per event; its key columns (the runner leaves a null one
    /// out of the alert's `group`, as the evaluator does a missing field).
    fn matched(&mut self, source: &Source, key: &[String]) -> (String, QueryInfo) {
        let filter = self.filter(source);
        let columns: Vec<String> = key.iter().map(|field| self.column(field)).collect();
        let key_columns: String = columns.iter().map(|column| format!(", {column}")).collect();
        let body = format!(
            "SELECT _time_ms AS raised_ms, _time_ms AS first_seen_ms, _time_ms AS last_seen_ms,\n  1 AS event_count, {} AS event_ids{key_columns}\nFROM {}\nWHERE {filter}\n",
            self.dialect.array_of("_ref"),
            self.table
        );
        let grouping = key
            .iter()
            .zip(&columns)
            .map(|(field, column)| (field.clone(), unquoted(column)))
            .collect();
        let info = QueryInfo {
            shape: "match",
            groupings: vec![grouping],
            values: Vec::new(),
            context: Vec::new(),
        };
        (body, info)
    }
}

/// The `history` step: per baseline, over the group's earlier buckets
/// within the lookback (`RANGE` over bucket starts), the first such bucket,
/// the sum and number of the expression's values and the number of buckets
/// with events.
fn history(printer: &CondPrinter<'_>, partition: &[String], from: &str) -> String {
    let mut columns = Vec::new();
    let mut windows = Vec::new();
    for (index, baseline) in printer.condition.baselines.iter().enumerate() {
        let number = index + 1;
        let inner = printer.value(&baseline.inner);
        columns.push(format!(
            "min(window_start) OVER earlier_{number} AS baseline_{number}_first"
        ));
        columns.push(format!(
            "sum({inner}) OVER earlier_{number} AS baseline_{number}_sum"
        ));
        columns.push(format!(
            "count({inner}) OVER earlier_{number} AS baseline_{number}_values"
        ));
        columns.push(format!(
            "count(*) OVER earlier_{number} AS baseline_{number}_active"
        ));
        // Without group keys the whole result is one partition.
        let partition = if partition.is_empty() {
            String::new()
        } else {
            format!("PARTITION BY {} ", partition.join(", "))
        };
        windows.push(format!(
            "earlier_{number} AS ({partition}ORDER BY window_start RANGE BETWEEN {} PRECEDING AND 1 PRECEDING)",
            baseline.span_ms
        ));
    }
    format!(
        "history AS (\n  SELECT *,\n    {}\n  FROM {from}\n  WINDOW {}\n)",
        columns.join(",\n    "),
        windows.join(",\n    ")
    )
}

/// A baseline's mean from its `history` columns: the buckets from the
/// group's first bucket inside the lookback, those without events at the
/// expression's empty value (when it has one), those where it has no value
/// skipped; no bucket inside the lookback means no baseline.
fn baseline_mean(
    dialect: &dyn SqlDialect,
    baseline: &plan::Baseline,
    number: usize,
    bucket_ms: i64,
) -> String {
    let name = format!("baseline_{number}");
    let empties = format!("(window_start - {name}_first) / {bucket_ms} - {name}_active");
    let mean = match baseline.empty {
        Some(0.0) => format!("coalesce({name}_sum, 0) / nullif({name}_values + {empties}, 0)"),
        Some(empty) => format!(
            "(coalesce({name}_sum, 0) + {} * ({empties})) / nullif({name}_values + {empties}, 0)",
            dialect.float(empty)
        ),
        None => format!("{name}_sum / nullif({name}_values, 0)"),
    };
    format!("CASE WHEN {name}_first IS NOT NULL THEN {mean} END AS {name}")
}

fn sql_function(function: AggregateFunction) -> &'static str {
    match function {
        AggregateFunction::Count => "count",
        AggregateFunction::Distinct => "count",
        AggregateFunction::Sum => "sum",
        AggregateFunction::Avg => "avg",
        AggregateFunction::Min => "min",
        AggregateFunction::Max => "max",
    }
}

/// Column names for the aggregates: `count_all`, `sum_cost_usd`,
/// `count_where_1`..., distinct.
fn aggregate_names(condition: &Condition) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (index, aggregate) in condition.aggregates.iter().enumerate() {
        let base = match (&aggregate.field, &aggregate.filter) {
            (_, Some(_)) => format!("{}_where_{}", aggregate.function.name(), index + 1),
            (None, None) => format!("{}_all", aggregate.function.name()),
            (Some(field), None) => format!("{}_{field}", aggregate.function.name()),
        };
        let mut name = base.clone();
        let mut suffix = 2;
        while names.contains(&name) {
            name = format!("{base}_{suffix}");
            suffix += 1;
        }
        names.push(name);
    }
    names
}

fn leaf_name(leaf: Leaf, names: &[String]) -> String {
    match leaf {
        Leaf::Aggregate(index) => names[index].clone(),
        Leaf::Baseline(index) => format!("baseline_{}", index + 1),
        Leaf::Percentile(index) => format!("percentile_{}", index + 1),
    }
}

/// A name as the runner reads it from a row (without quotes).
fn unquoted(column: &str) -> String {
    let trimmed = column
        .strip_prefix(['"', '`'])
        .and_then(|rest| rest.strip_suffix(['"', '`']));
    match trimmed {
        Some(inner) => inner.replace("\"\"", "\"").replace("``", "`"),
        None => column.to_string(),
    }
}

struct CondPrinter<'a> {
    dialect: &'a dyn SqlDialect,
    condition: &'a Condition,
    names: &'a [String],
}

impl CondPrinter<'_> {
    /// A numeric expression (NULL when it has no value).
    fn value(&self, cond: &Cond) -> String {
        match cond {
            Cond::Int(value) => value.to_string(),
            Cond::Float(value) => self.dialect.float(*value),
            Cond::Bool(value) => value.to_string(),
            Cond::Missing => "NULL".to_string(),
            Cond::Leaf(leaf) => leaf_name(*leaf, self.names),
            // Over doubles, as the evaluator: `/` is a double division in
            // both engines; `+`, `-` and `*` of two integers are made double
            // so that they cannot overflow.
            Cond::Arithmetic(op, left, right) => {
                let integers = !self.is_double(left) && !self.is_double(right);
                let (left, right) = (self.value(left), self.value(right));
                let left = if integers && *op != ArithmeticOp::Divide {
                    format!("{} * {left}", self.dialect.float(1.0))
                } else {
                    left
                };
                match op {
                    ArithmeticOp::Add => format!("({left} + {right})"),
                    ArithmeticOp::Subtract => format!("({left} - {right})"),
                    ArithmeticOp::Multiply => format!("({left} * {right})"),
                    ArithmeticOp::Divide => format!("({left} / nullif({right}, 0))"),
                }
            }
            other => self.boolean(other, false),
        }
    }

    /// Whether the SQL value of `cond` is a double whatever the data.
    fn is_double(&self, cond: &Cond) -> bool {
        match cond {
            Cond::Float(_) | Cond::Arithmetic(..) => true,
            Cond::Leaf(Leaf::Baseline(_) | Leaf::Percentile(_)) => true,
            Cond::Leaf(Leaf::Aggregate(index)) => {
                self.condition.aggregates[*index].function == AggregateFunction::Avg
            }
            _ => false,
        }
    }

    /// A boolean; under a `not`, comparisons that may meet a missing value
    /// are made false rather than unknown, as the evaluator has them.
    fn boolean(&self, cond: &Cond, negated: bool) -> String {
        match cond {
            Cond::Compare(op, left, right) => {
                let text = format!("{} {} {}", self.value(left), symbol(*op), self.value(right));
                if negated
                    && (self.condition.may_be_missing(left) || self.condition.may_be_missing(right))
                {
                    format!("coalesce({text}, false)")
                } else {
                    text
                }
            }
            Cond::And(operands) => join(
                operands
                    .iter()
                    .map(|operand| self.boolean(operand, negated)),
                " AND ",
            ),
            Cond::Or(operands) => join(
                operands
                    .iter()
                    .map(|operand| self.boolean(operand, negated)),
                " OR ",
            ),
            Cond::Not(operand) => format!("NOT ({})", self.boolean(operand, !negated)),
            Cond::Bool(value) => value.to_string(),
            _ => "false".to_string(),
        }
    }
}

fn join(parts: impl Iterator<Item = String>, separator: &str) -> String {
    let parts: Vec<String> = parts.collect();
    match parts.len() {
        0 => "true".to_string(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(separator)),
    }
}

pub(crate) fn symbol(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Equal => "=",
        CompareOp::NotEqual => "<>",
        CompareOp::Less => "<",
        CompareOp::LessEqual => "<=",
        CompareOp::Greater => ">",
        CompareOp::GreaterEqual => ">=",
    }
}
