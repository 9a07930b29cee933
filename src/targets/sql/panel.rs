//! The SQL query of a dashboard panel: what the preview draws, as one
//! `SELECT` a SQL engine runs.
//!
//! Input: a panel lowered by [`plan::panel`], its dashboard, the mapping and
//! a dialect. Output: the query text and the [`PanelColumns`] of its rows, or
//! the problems of what the dialect cannot spell. Filters, aggregates, the
//! time bucket and baselines are the rules' pieces ([`Printer::filter`],
//! [`Printer::aggregate_columns`], [`SqlDialect::bucket`], [`history`],
//! [`baseline_mean`], [`CondPrinter`]); only the layout is the panel's.
//!
//! The range: a panel reads the events whose `_time_ms` lies in
//! `[now_ms - RANGE, now_ms]`, `now_ms` being the one value of the one-row
//! table `tripline_now` the runner defines (the last event's time unless told
//! otherwise, as in `tripline dashboard preview`). Within it, a row exists
//! per (bucket, group) with events, as `GROUP BY` gives them; a panel with
//! neither keys nor buckets has its one row even over no events (an
//! aggregate without `GROUP BY`); an event without a key's field counts in no
//! group. Buckets are the rules' epoch-aligned ones, so the first and last
//! may be partial.
//!
//! Rows come sorted as the evaluator sorts them: by bucket, then by the keys
//! ascending (strings by their bytes, in both engines). `top N` sorts by the
//! first measure, descending with rows without a value last, ties by the keys
//! ascending, and keeps N rows (`ORDER BY ... DESC NULLS LAST ... LIMIT N`:
//! DuckDB, <https://duckdb.org/docs/1.4/sql/query_syntax/orderby.html>;
//! Spark, <https://github.com/apache/spark/blob/v3.0.2-rc1/docs/sql-ref-syntax-qry-select-orderby.md>).
//!
//! `bin(FIELD, SIZE)` is `floor(FIELD / SIZE) * SIZE`: `/` divides as
//! doubles in DuckDB (integers too,
//! <https://duckdb.org/docs/preview/sql/dialect/postgresql_compatibility.html>)
//! and in Spark, so the lower bound is the evaluator's `f64` one (Spark's
//! `floor` returns a `BIGINT`, the same number below 2^53).
//!
//! An alerts panel counts the rows of `tripline_alerts` (`rule_id`,
//! `raised_ms`), which the runner fills with the alerts of the rules compiled
//! for the target, at the time each is raised.

use std::collections::BTreeMap;

use super::{CondPrinter, Printer, SqlDialect, aggregate_names, baseline_mean, history};
use crate::ir;
use crate::ir::dashboard::{Dashboard, GroupKey};
use crate::targets::plan::panel::{EventsPanel, PanelBody, PanelPlan};
use crate::targets::{Mapping, Problem, duration_text};

/// The columns of a panel query's rows, in order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PanelColumns {
    /// `events` or `alerts`.
    pub kind: &'static str,
    /// The bucket start column (epoch milliseconds), when over time.
    pub bucket: Option<String>,
    /// The group key columns.
    pub keys: Vec<String>,
    /// The measure columns, in the order written.
    pub measures: Vec<String>,
}

/// The name of the bucket start column in a panel's rows.
const BUCKET: &str = "bucket_start_ms";

/// The query of one panel, or the problems of what the dialect cannot spell.
pub fn panel_query(
    dialect: &dyn SqlDialect,
    dashboard: &Dashboard,
    plan: &PanelPlan,
    mapping: &Mapping,
    lookups: &BTreeMap<String, ir::Lookup>,
) -> Result<(String, PanelColumns), Vec<Problem>> {
    let mut printer = Printer::new(dialect, mapping, lookups);
    let range = format!("now_ms - {} AND now_ms", plan.range_ms.max(0));
    let (body, columns, bucket_ms, reads) = match &plan.body {
        PanelBody::Events(events) => {
            let (body, columns) = printer.panel_events(plan, events, &range);
            let reads = printer.table.clone();
            match printer.syntax.prepared_steps(&reads) {
                // As for a rule: printed again over the computed columns.
                Some((steps, table)) => {
                    let mut over = Printer::new(dialect, mapping, lookups);
                    over.table = table.to_string();
                    let (body, columns) = over.panel_events(plan, events, &range);
                    printer.problems.extend(over.problems);
                    (
                        super::with_steps(&steps, &body),
                        columns,
                        events.bucket_ms,
                        reads,
                    )
                }
                None => (body, columns, events.bucket_ms, reads),
            }
        }
        PanelBody::Alerts { bucket_ms } => {
            let (body, columns) = alerts(dialect, *bucket_ms, &range);
            (body, columns, *bucket_ms, "tripline_alerts".to_string())
        }
    };
    if !printer.problems.is_empty() {
        return Err(printer.problems);
    }
    let over = match bucket_ms {
        Some(bucket) => format!(" Buckets: {}, epoch-aligned.", duration_text(bucket.max(1))),
        None => String::new(),
    };
    let header = format!(
        "-- {} / {}: {}\n-- Visual: {}. Range: the {} up to tripline_now.now_ms.{over}\n-- Compiled by tripline from {}. Reads `{reads}` and `tripline_now` as run.py defines them.\n",
        dashboard.id,
        plan.id,
        plan.title,
        plan.visual.keyword(),
        duration_text(plan.range_ms.max(0)),
        dashboard.file,
    );
    Ok((format!("{header}{body}"), columns))
}

/// Alerts counted per rule (and bucket of the time they were raised).
fn alerts(dialect: &dyn SqlDialect, bucket_ms: Option<i64>, range: &str) -> (String, PanelColumns) {
    let mut select = Vec::new();
    let mut group = Vec::new();
    if let Some(bucket) = bucket_ms {
        select.push(format!(
            "{} AS {BUCKET}",
            dialect.bucket("raised_ms", bucket.max(1))
        ));
        group.push(BUCKET.to_string());
    }
    select.push("rule_id AS rule".to_string());
    group.push("rule_id".to_string());
    select.push("count(*) AS alerts".to_string());
    let group = group.join(", ");
    let body = format!(
        "SELECT {}\nFROM tripline_alerts CROSS JOIN tripline_now\nWHERE raised_ms BETWEEN {range}\nGROUP BY {group}\nORDER BY {group}\n",
        select.join(", ")
    );
    let columns = PanelColumns {
        kind: "alerts",
        bucket: bucket_ms.map(|_| BUCKET.to_string()),
        keys: vec!["rule".to_string()],
        measures: vec!["alerts".to_string()],
    };
    (body, columns)
}

impl Printer<'_> {
    /// An events panel: `matched` (the source, the range, the bucket and
    /// bins), `groups` (the aggregates per bucket and group), the rules'
    /// `history` and `scored` steps for baselines, then the measures.
    fn panel_events(
        &mut self,
        plan: &PanelPlan,
        panel: &EventsPanel,
        range: &str,
    ) -> (String, PanelColumns) {
        let condition = &panel.leaves;
        let filter = self.filter(&panel.source);
        // Columns computed per event: the bucket and the bins.
        let mut computed = Vec::new();
        if let Some(bucket) = panel.bucket_ms {
            computed.push(format!(
                "{} AS window_start",
                self.dialect.bucket("_time_ms", bucket.max(1))
            ));
        }
        let mut keys = Vec::new();
        for key in &panel.group_by {
            let column = self.column(key.field());
            match key {
                GroupKey::Field { .. } => keys.push(column),
                GroupKey::Bin { field, size } => {
                    if !size.is_finite() || *size <= 0.0 {
                        self.problems.push(Problem::untranslatable(
                            plan.origin,
                            format!("`bin({field}, {size})` needs a width above 0"),
                        ));
                        continue;
                    }
                    let size = if size.fract() == 0.0 && size.abs() < 9_007_199_254_740_992.0 {
                        format!("{}", *size as i64)
                    } else {
                        self.dialect.float(*size)
                    };
                    let target = self
                        .syntax
                        .mapping
                        .field(field)
                        .map_or(field.as_str(), |target| target.name.as_str());
                    let name = self.dialect.ident(&format!("{target}_bin"));
                    computed.push(format!("floor({column} / {size}) * {size} AS {name}"));
                    keys.push(name);
                }
            }
        }
        let select = if computed.is_empty() {
            "SELECT *".to_string()
        } else {
            format!("SELECT *,\n    {}", computed.join(",\n    "))
        };
        let mut ctes = vec![format!(
            "matched AS (\n  {select}\n  FROM {} CROSS JOIN tripline_now\n  WHERE {filter}\n  AND _time_ms BETWEEN {range}\n)",
            self.table
        )];
        let names = aggregate_names(condition);
        let aggregates = self.aggregate_columns(condition, &names);
        let mut grouped: Vec<String> = Vec::new();
        if panel.bucket_ms.is_some() {
            grouped.push("window_start".to_string());
        }
        grouped.extend(keys.iter().cloned());
        let mut groups = String::from("groups AS (\n  SELECT ");
        if !grouped.is_empty() {
            groups.push_str(&format!("{},\n    ", grouped.join(", ")));
        }
        groups.push_str(&format!("{}\n  FROM matched\n", aggregates.join(",\n    ")));
        if !keys.is_empty() {
            let present: Vec<String> = keys
                .iter()
                .map(|key| format!("{key} IS NOT NULL"))
                .collect();
            groups.push_str(&format!("  WHERE {}\n", present.join(" AND ")));
        }
        if !grouped.is_empty() {
            groups.push_str(&format!("  GROUP BY {}\n", grouped.join(", ")));
        }
        groups.push(')');
        ctes.push(groups);
        let printer = CondPrinter {
            dialect: self.dialect,
            condition,
            names: &names,
        };
        let mut source = "groups";
        if let (false, Some(bucket)) = (condition.baselines.is_empty(), panel.bucket_ms) {
            ctes.push(history(&printer, &keys, "groups"));
            let scores: Vec<String> = condition
                .baselines
                .iter()
                .enumerate()
                .map(|(index, baseline)| {
                    baseline_mean(self.dialect, baseline, index + 1, bucket.max(1))
                })
                .collect();
            ctes.push(format!(
                "scored AS (\n  SELECT *,\n    {}\n  FROM history\n)",
                scores.join(",\n    ")
            ));
            source = "scored";
        } else if !condition.baselines.is_empty() {
            self.problems.push(Problem::untranslatable(
                plan.origin,
                "a baseline needs time buckets (`every`)",
            ));
        }
        // The output: bucket, keys, measures.
        let mut outputs = Vec::new();
        if panel.bucket_ms.is_some() {
            outputs.push(format!("window_start AS {BUCKET}"));
        }
        outputs.extend(keys.iter().cloned());
        let mut measures = Vec::new();
        for measure in &panel.measures {
            let name = self.dialect.ident(&measure.name);
            if keys.contains(&name) || measure.name == BUCKET {
                self.problems.push(Problem::untranslatable(
                    plan.origin,
                    format!(
                        "the measure `{}` has the name of a group key or of the bucket column; rename it with `as`",
                        measure.name
                    ),
                ));
            }
            let value = printer.value(&measure.value);
            outputs.push(if value == name {
                value
            } else {
                format!("{value} AS {name}")
            });
            measures.push(name);
        }
        // The order is written with the source's columns and expressions,
        // never an output alias, so that no name can be read two ways.
        let mut order = Vec::new();
        let mut limit = String::new();
        if let Some(top) = panel.top {
            if let Some(first) = panel.measures.first() {
                order.push(format!("{} DESC NULLS LAST", printer.value(&first.value)));
            }
            order.extend(keys.iter().cloned());
            limit = format!("\nLIMIT {top}");
        } else {
            order = grouped.clone();
        }
        let order = if order.is_empty() {
            String::new()
        } else {
            format!("\nORDER BY {}", order.join(", "))
        };
        let body = format!(
            "WITH {}\nSELECT {}\nFROM {source}{order}{limit}\n",
            ctes.join(",\n"),
            outputs.join(", ")
        );
        let columns = PanelColumns {
            kind: "events",
            bucket: panel.bucket_ms.map(|_| BUCKET.to_string()),
            keys: keys.iter().map(|key| super::unquoted(key)).collect(),
            measures: measures.iter().map(|name| super::unquoted(name)).collect(),
        };
        (body, columns)
    }
}
