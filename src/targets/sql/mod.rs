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
//! reach) and
//! `_ref` (the `event_id`, or `file:line`). A one-row table `tripline_run`
//! holds `first_time_ms`, `learn_ms` (the learning period) and `learn_end_ms`
//! (the first event plus the learning period) of the run. Shapes:
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

use serde::Serialize;

mod panel;
mod syntax;
mod target;

pub use panel::{PanelColumns, panel_query};

pub use target::{SqlTarget, plain_or_quoted};

use syntax::SqlSyntax;

use super::plan::{self, Cond, Condition, FingerprintStep, Leaf, Plan, Shape, Source};
use super::re2::Flavour;
use super::{Mapping, Problem};
use crate::ir::{AggregateFunction, ArithmeticOp, CompareOp, Rule, TextOp};

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
) -> Result<(String, QueryInfo), Vec<Problem>> {
    let mut printer = Printer::new(dialect, mapping);
    let (body, info) = print_shape(&mut printer, rule, plan)?;
    let (body, info) = match printer.syntax.address_steps(&printer.table) {
        // An `in cidr` test reads the addresses computed once per event:
        // the query is printed again over them.
        Some(steps) => {
            let mut over = Printer::new(dialect, mapping);
            over.table = "addresses".to_string();
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
    fn new(dialect: &'d dyn SqlDialect, mapping: &'d Mapping) -> Self {
        Printer {
            dialect,
            syntax: SqlSyntax {
                dialect,
                mapping,
                addresses: Default::default(),
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

    fn new_value(
        &mut self,
        source: &Source,
        key: &[String],
        values: &[String],
        lookback_ms: i64,
        learn_ms: i64,
    ) -> (String, QueryInfo) {
        let mut filter = self.filter(source);
        let columns: Vec<String> = key
            .iter()
            .chain(values)
            .map(|field| self.column(field))
            .collect();
        for column in &columns {
            filter.push_str(&format!("\n  AND {column} IS NOT NULL"));
        }
        let key_columns = columns[..key.len()].join(", ");
        let all_columns = columns.join(", ");
        // The latest sighting of the key at least the learning period
        // before the event (with no learning period, the previous one).
        let ripe = if learn_ms > 0 {
            format!(
                "max(_time_ms) OVER (PARTITION BY {key_columns} ORDER BY _time_ms RANGE BETWEEN UNBOUNDED PRECEDING AND {learn_ms} PRECEDING)"
            )
        } else {
            format!("lag(_time_ms) OVER (PARTITION BY {key_columns} ORDER BY _order)")
        };
        let body = format!(
            "WITH matched AS (\n  SELECT * FROM {table}\n  WHERE {filter}\n),\n\
             sightings AS (\n  SELECT *,\n    {ripe} AS key_ripe_ms,\n    lag(_time_ms) OVER (PARTITION BY {all_columns} ORDER BY _order) AS value_seen_ms\n  FROM matched\n)\n\
             SELECT _time_ms AS raised_ms, _time_ms AS first_seen_ms, _time_ms AS last_seen_ms,\n  1 AS event_count, {refs} AS event_ids, {all_columns}\n\
             FROM sightings\n\
             -- the key was seen in the lookback at least the learning period ago; this combination was not seen in the lookback\n\
             WHERE key_ripe_ms >= _time_ms - {lookback_ms}\n  AND (value_seen_ms IS NULL OR value_seen_ms < _time_ms - {lookback_ms})\n",
            table = self.table,
            refs = self.dialect.array_of("_ref"),
        );
        let grouping = key
            .iter()
            .chain(values)
            .zip(&columns)
            .map(|(field, column)| (field.clone(), unquoted(column)))
            .collect();
        let info = QueryInfo {
            shape: "new_value",
            groupings: vec![grouping],
            values: Vec::new(),
            context: Vec::new(),
        };
        (body, info)
    }

    /// Whether an event of the sequence's types (`all_types` of them)
    /// matches the step: its type test, unless it takes them all, and its
    /// filter. A filter is NULL where SQL meets a missing value and the
    /// evaluator says false; `coalesce` makes the flag two-valued.
    fn step_flag(&mut self, source: &Source, all_types: usize) -> String {
        let mut parts = Vec::new();
        if source.event_types.len() < all_types {
            let types: Vec<String> = source
                .event_types
                .iter()
                .map(|name| self.dialect.string(name))
                .collect();
            parts.push(if types.len() == 1 {
                format!("{} = {}", self.column("event_type"), types[0])
            } else {
                format!("{} IN ({})", self.column("event_type"), types.join(", "))
            });
        }
        if let Some(filter) = &source.filter {
            parts.push(super::syntax::predicate(
                &self.syntax,
                filter,
                &mut self.problems,
            ));
        }
        match parts.len() {
            0 => "true".to_string(),
            1 if source.filter.is_none() => parts.remove(0),
            _ => format!("coalesce({}, false)", parts.join(" AND ")),
        }
    }

    /// `A repeat >= n; B` by key within W, in the closed form proved in
    /// [`plan::sequence`]: per key in processing order (`_order`), a B-event
    /// completes when the event of either step just before it is an A-event
    /// whose run (it and the n − 1 A-events before it) starts at most W
    /// before the B-event. The alert cites the run's A-events and the
    /// B-event, as the evaluator's state machine does.
    ///
    /// `lag(value, offset)` is the value `offset` rows before the current
    /// one in the window's order, NULL when there are fewer rows: DuckDB
    /// (<https://duckdb.org/docs/stable/sql/functions/window_functions.html>)
    /// and Spark
    /// (<https://spark.apache.org/docs/latest/api/python/reference/pyspark.sql/api/pyspark.sql.functions.lag.html>,
    /// listed among Spark SQL's window functions at
    /// <https://apache.github.io/spark/api/sql/window-functions>). `_order`
    /// is unique per event, so the order within each key is total.
    fn sequence(&mut self, form: &plan::sequence::RunThenStep<'_>) -> (String, QueryInfo) {
        let keys: Vec<String> = form.by.iter().map(|field| self.column(field)).collect();
        let mut types: Vec<&String> = Vec::new();
        for name in form.run.event_types.iter().chain(&form.last.event_types) {
            if !types.contains(&name) {
                types.push(name);
            }
        }
        let types: Vec<String> = types.iter().map(|name| self.dialect.string(name)).collect();
        let type_test = if types.len() == 1 {
            format!("{} = {}", self.column("event_type"), types[0])
        } else {
            format!("{} IN ({})", self.column("event_type"), types.join(", "))
        };
        let mut present = vec![type_test];
        present.extend(keys.iter().map(|key| format!("{key} IS NOT NULL")));
        let run_flag = self.step_flag(form.run, types.len());
        let last_flag = self.step_flag(form.last, types.len());
        let key_list = keys.join(", ");
        let by_key = format!("by_key AS (PARTITION BY {key_list} ORDER BY _order)");
        let back = form.repeat.max(1) - 1;
        let runs = if back == 0 {
            "runs AS (\n  -- each first-step event is a run of one\n  SELECT *, _time_ms AS run_start_ms, _order AS run_start_order\n  FROM steps\n  WHERE is_run\n)".to_string()
        } else {
            format!(
                "runs AS (\n  -- each first-step event ends a run of {n} of its key, which starts at the first-step event {back} before it\n  SELECT *,\n    lag(_time_ms, {back}) OVER by_key AS run_start_ms,\n    lag(_order, {back}) OVER by_key AS run_start_order\n  FROM steps\n  WHERE is_run\n  WINDOW {by_key}\n)",
                n = form.repeat
            )
        };
        let completed_keys = keys
            .iter()
            .map(|key| format!("completed.{key}"))
            .collect::<Vec<_>>()
            .join(", ");
        let same_key = keys
            .iter()
            .map(|key| format!("cited.{key} = completed.{key}"))
            .collect::<Vec<_>>()
            .join("\n  AND ");
        let body = format!(
            "WITH flagged AS (\n  SELECT {key_list}, _time_ms, _order, _ref,\n    {run_flag} AS is_run,\n    {last_flag} AS is_last\n  FROM {table}\n  WHERE {present}\n),\n\
             steps AS (\n  -- the events of either step, with their key\n  SELECT * FROM flagged WHERE is_run OR is_last\n),\n\
             {runs},\n\
             chained AS (\n  -- every step event, with the event of its key just before it and that event's run\n  SELECT *,\n    lag(is_run) OVER by_key AS after_run,\n    lag(run_start_ms) OVER by_key AS prior_run_start_ms,\n    lag(run_start_order) OVER by_key AS prior_run_start_order\n  FROM (\n    SELECT * FROM runs\n    UNION ALL\n    SELECT *, NULL AS run_start_ms, NULL AS run_start_order FROM steps WHERE NOT is_run\n  ) AS ordered\n  WINDOW {by_key}\n),\n\
             completed AS (\n  -- a last-step event right after a run of its key that started at most {within} ms before it\n  SELECT {key_list}, _time_ms AS completed_ms, _order AS completed_order, prior_run_start_order\n  FROM chained\n  WHERE is_last AND after_run AND prior_run_start_ms >= _time_ms - {within}\n)\n\
             SELECT completed_ms AS raised_ms, {completed_keys},\n  {evidence}\n\
             FROM completed\n\
             -- the alert cites the run's first-step events and the completing event, not the last-step events inside the run\n\
             JOIN steps AS cited\n  ON {same_key}\n  AND cited._order BETWEEN completed.prior_run_start_order AND completed.completed_order\n  AND (cited.is_run OR cited._order = completed.completed_order)\n\
             GROUP BY completed.completed_order, completed_ms, {completed_keys}\n",
            table = self.table,
            present = present.join("\n    AND "),
            within = form.within_ms,
            evidence = evidence(self.dialect),
        );
        let grouping = form
            .by
            .iter()
            .zip(&keys)
            .map(|(field, column)| (field.clone(), unquoted(column)))
            .collect();
        let info = QueryInfo {
            shape: "sequence",
            groupings: vec![grouping],
            values: Vec::new(),
            context: Vec::new(),
        };
        (body, info)
    }

    /// `EXPRESSION AS NAME` per aggregate of `condition`, over `matched`'s rows.
    fn aggregate_columns(&mut self, condition: &Condition, names: &[String]) -> Vec<String> {
        let mut aggregates = Vec::new();
        for (aggregate, name) in condition.aggregates.iter().zip(names) {
            let filter = aggregate
                .filter
                .as_ref()
                .map(|filter| super::syntax::predicate(&self.syntax, filter, &mut self.problems));
            let argument = aggregate.field.as_deref().map(|field| self.column(field));
            let text = match (aggregate.function, argument) {
                (AggregateFunction::Count, _) => match &filter {
                    Some(filter) => self.dialect.count_where(filter),
                    None => "count(*)".to_string(),
                },
                (function, Some(argument)) => {
                    let call = match function {
                        AggregateFunction::Distinct => format!("count(DISTINCT {argument})"),
                        other => format!("{}({argument})", sql_function(other)),
                    };
                    let call = match &filter {
                        Some(filter) => format!("{call} FILTER (WHERE {filter})"),
                        None => call,
                    };
                    if function == AggregateFunction::Sum {
                        format!("coalesce({call}, 0)")
                    } else {
                        call
                    }
                }
                (_, None) => "NULL".to_string(),
            };
            aggregates.push(format!("{text} AS {name}"));
        }
        aggregates
    }

    fn window(&mut self, window: &plan::Window) -> (String, QueryInfo) {
        let condition = &window.condition;
        let mut filter = self.filter(&window.source);
        let mut computed = String::new();
        if let Some(key) = &self.computed {
            if let Some(extra) = &key.filter {
                filter.push_str(&format!("\n  AND {extra}"));
            }
            computed = format!(
                ",\n    -- {}\n    {} AS {}",
                key.comment, key.expression, key.column
            );
        }
        let names = aggregate_names(condition);
        let mut aggregates = self.aggregate_columns(condition, &names);
        let mut context = Vec::new();
        for field in &window.context {
            let column = self.column(field);
            aggregates.push(format!(
                "{} AS {column}",
                self.dialect.sorted_distinct(&column)
            ));
            context.push((field.clone(), unquoted(&column)));
        }
        let several = window.groupings.len() > 1;
        let all_fields: Vec<&String> = {
            let mut fields: Vec<&String> = Vec::new();
            for field in window.groupings.iter().flatten() {
                if !fields.contains(&field) {
                    fields.push(field);
                }
            }
            fields
        };
        let mut selects = Vec::new();
        for (index, grouping) in window.groupings.iter().enumerate() {
            let mut keys: Vec<String> = Vec::new();
            if several {
                keys.push(format!("{index} AS grouping_set"));
            }
            for field in &all_fields {
                let column = self.group_column(field);
                keys.push(if grouping.contains(field) {
                    column
                } else {
                    format!("NULL AS {column}")
                });
            }
            keys.push("window_start".to_string());
            let mut group_by: Vec<String> = grouping
                .iter()
                .map(|field| self.group_column(field))
                .collect();
            group_by.push("window_start".to_string());
            let present: Vec<String> = grouping
                .iter()
                .map(|field| format!("{} IS NOT NULL", self.group_column(field)))
                .collect();
            let mut select = format!(
                "  SELECT {},\n    {},\n    {}\n  FROM matched\n",
                keys.join(", "),
                aggregates.join(",\n    "),
                evidence(self.dialect)
            );
            if !present.is_empty() {
                select.push_str(&format!("  WHERE {}\n", present.join(" AND ")));
            }
            select.push_str(&format!("  GROUP BY {}", group_by.join(", ")));
            selects.push(select);
        }
        let mut partition: Vec<String> = Vec::new();
        if several {
            partition.push("grouping_set".to_string());
        }
        partition.extend(all_fields.iter().map(|field| self.group_column(field)));
        let mut ctes = vec![
            format!(
                "matched AS (\n  SELECT *, {} AS window_start{computed}\n  FROM {}\n  WHERE {filter}\n)",
                self.dialect.bucket("_time_ms", window.bucket_ms),
                self.table
            ),
            format!("groups AS (\n{}\n)", selects.join("\n  UNION ALL\n")),
        ];
        let printer = CondPrinter {
            dialect: self.dialect,
            condition,
            names: &names,
        };
        let mut source = "groups".to_string();
        if !condition.baselines.is_empty() {
            ctes.push(history(
                &printer,
                &partition,
                "groups CROSS JOIN tripline_run",
            ));
            source = "history".to_string();
        }
        let mut scores = Vec::new();
        for (index, baseline) in condition.baselines.iter().enumerate() {
            scores.push(baseline_mean(
                self.dialect,
                baseline,
                index + 1,
                window.bucket_ms,
            ));
        }
        if !condition.percentiles.is_empty() {
            let mut bucket = Vec::new();
            if several {
                bucket.push("grouping_set".to_string());
            }
            bucket.push("window_start".to_string());
            let bucket = bucket.join(", ");
            let mut ranks = Vec::new();
            for (index, percentile) in condition.percentiles.iter().enumerate() {
                let number = index + 1;
                let inner = printer.value(&percentile.inner);
                ranks.push(format!(
                    "row_number() OVER (PARTITION BY {bucket} ORDER BY {inner} NULLS LAST) - 1 AS percentile_{number}_rank"
                ));
                ranks.push(format!(
                    "count({inner}) OVER (PARTITION BY {bucket}) AS percentile_{number}_groups"
                ));
                // The value at rank floor((N - 1) * P / 100) of the ascending values.
                scores.push(format!(
                    "max(CASE WHEN percentile_{number}_rank = floor((percentile_{number}_groups - 1) * {} / 100) THEN {inner} END) OVER (PARTITION BY {bucket}) AS percentile_{number}",
                    self.dialect.float(percentile.percentile.clamp(0.0, 100.0))
                ));
            }
            ctes.push(format!(
                "ranked AS (\n  SELECT *,\n    {}\n  FROM {source}\n)",
                ranks.join(",\n    ")
            ));
            source = "ranked".to_string();
        }
        if !scores.is_empty() {
            ctes.push(format!(
                "scored AS (\n  SELECT *,\n    {}\n  FROM {source}\n)",
                scores.join(",\n    ")
            ));
            source = "scored".to_string();
        }
        let mut wheres =
            vec![printer.boolean(condition.root.as_ref().unwrap_or(&Cond::Bool(false)), false)];
        let learns = !condition.baselines.is_empty();
        if learns {
            // A group alerts once its own history reaches back the learning period.
            let firsts: Vec<String> = (1..=condition.baselines.len())
                .map(|number| format!("baseline_{number}_first"))
                .collect();
            let first = if firsts.len() == 1 {
                firsts[0].clone()
            } else {
                format!("least({})", firsts.join(", "))
            };
            wheres.push(format!("window_start - {first} >= learn_ms"));
        }
        // With baselines, `history` has joined `tripline_run` for `learn_ms`.
        let body = format!(
            "WITH {}\nSELECT window_start + {} AS raised_ms, *\nFROM {source}\nWHERE {}\n",
            ctes.join(",\n"),
            window.bucket_ms,
            wheres.join("\n  AND ")
        );
        let groupings = window
            .groupings
            .iter()
            .map(|grouping| {
                grouping
                    .iter()
                    .map(|field| (field.clone(), unquoted(&self.group_column(field))))
                    .collect()
            })
            .collect();
        let values = condition
            .reported
            .iter()
            .map(|(label, leaf)| (label.clone(), leaf_name(*leaf, &names)))
            .collect();
        let shape = if learns {
            "baseline"
        } else if condition.percentiles.is_empty() {
            "threshold"
        } else {
            "percentile"
        };
        let info = QueryInfo {
            shape,
            groupings,
            values,
            context,
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
