//! The SPL search of a dashboard panel.
//!
//! Input: a panel's lowering plan ([`plan::PanelPlan`]), the pack and the
//! field mapping. Output: the SPL pipeline (one command per line), or E0402
//! problems for what has no exact form. The source, its filter and the
//! aggregates are spelled by the rule printer ([`Printer`]), so a panel
//! reads events exactly as a rule over the same `match` does; what is here
//! is the panel's own shape:
//!
//! - group keys: the field, or `floor(value / size) * size` for a bin; an
//!   event missing a key is not grouped, as in a rule;
//! - time buckets: `_time` floored to whole buckets since the epoch (never
//!   `bin`/`timechart`, whose day spans follow the search's time zone);
//! - baselines: every bucket's history, in closed form (see
//!   [`PanelPrinter::history`]);
//! - `top N`: `sort 0` on the first measure, descending, ties by the keys,
//!   then `head N`;
//! - the shape a chart reads: `table` of the keys and measures, or for a
//!   chart over time with groups, `xyseries` into one column per group.

use super::{Aggregate, CondPrinter, Printer, baseline_means, prepare_line, spl_float};
use crate::ir::dashboard::{GroupKey, Visual};
use crate::ir::{AggregateFunction, ArithmeticOp, Origin, Pack, Value};
use crate::targets::plan::panel::{EventsPanel, PanelBody, PanelMeasure};
use crate::targets::plan::{Cond, Leaf, PanelPlan};
use crate::targets::splunk_spl::quote::spl_string;
use crate::targets::splunk_spl::syntax::{Spl, number};
use crate::targets::{Mapping, Problem};

/// The field holding a bucket's start (epoch seconds) before it becomes `_time`.
const BUCKET_FIELD: &str = super::WINDOW_FIELD;

/// The per-row count that tells the rows of buckets with events from the
/// rows of history a baseline adds.
const EVENTS_FIELD: &str = "tripline_events";

/// The SPL of a panel: for a panel over events, the pipeline from the
/// data-source macro; for the alerts panel, from Splunk's audit index. The
/// first line starts the search; the time range is the dashboard's.
pub fn panel_search(
    panel: &PanelPlan,
    pack: &Pack,
    mapping: &Mapping,
    data_source_macro: &str,
    app: &str,
) -> Result<Vec<String>, Vec<Problem>> {
    match &panel.body {
        PanelBody::Alerts { bucket_ms } => alerts_search(*bucket_ms, panel.visual, app)
            .map_err(|message| vec![Problem::untranslatable(panel.origin, message)]),
        PanelBody::Events(events) => {
            let mut printer = PanelPrinter {
                printer: Printer {
                    spl: Spl::new(mapping, &pack.lookups),
                    problems: Vec::new(),
                    computed: None,
                },
                origin: panel.origin,
            };
            let mut lines = printer.events(events, panel.visual, data_source_macro);
            // Panels aggregate, which drops the address helpers.
            if let Err(crate::targets::syntax::Unsupported(reason)) =
                printer.printer.spl.insert_address_eval(&mut lines)
            {
                printer.printer.fail(panel.origin, reason);
            }
            if printer.printer.problems.is_empty() {
                Ok(lines)
            } else {
                Err(printer.printer.problems)
            }
        }
    }
}

/// The alerts the app's saved searches fired, per rule (and bucket), from
/// the audit records Splunk writes when an alert triggers
/// (`index=_audit action=alert_fired`, one record per triggered alert, with
/// the saved search's app and name in `ss_app` and `ss_name`: audit events
/// are described at
/// https://help.splunk.com/en/splunk-enterprise/administer/manage-users-and-security/9.3/audit-activity-in-splunk-enterprise/audit-splunk-activity).
/// The rules alert per result (`alert.digest_mode = 0`), so each record is
/// one alert; throttled results fire none, as they raise no alert.
fn alerts_search(bucket_ms: Option<i64>, visual: Visual, app: &str) -> Result<Vec<String>, String> {
    let mut lines = vec![
        format!("index=_audit action=alert_fired ss_app={app} ss_name=\"Tripline - *\""),
        "| eval rule = replace(ss_name, \"^Tripline - \", \"\")".to_string(),
    ];
    match bucket_ms {
        Some(bucket_ms) => {
            let bucket = bucket_seconds(bucket_ms)?;
            lines.push(format!(
                "| eval {BUCKET_FIELD} = floor(_time / {bucket}) * {bucket}"
            ));
            lines.push(format!("| stats count AS alerts by {BUCKET_FIELD}, rule"));
            lines.push(format!("| eval _time = {BUCKET_FIELD}"));
            if visual == Visual::Table {
                lines.push("| table _time, rule, alerts".to_string());
            } else {
                // One column per rule; a rule without alerts in a bucket fired 0.
                lines.push("| xyseries _time rule alerts".to_string());
                lines.push("| fillnull value=0".to_string());
            }
        }
        None => {
            lines.push("| stats count AS alerts by rule".to_string());
            lines.push("| sort 0 -num(alerts), str(rule)".to_string());
            lines.push("| table rule, alerts".to_string());
        }
    }
    Ok(lines)
}

/// A bucket length in whole seconds, as `_time` is.
fn bucket_seconds(bucket_ms: i64) -> Result<i64, String> {
    if bucket_ms <= 0 || bucket_ms % 1000 != 0 {
        Err(
            "the time bucket is not a whole number of seconds (`_time` is floored in seconds)"
                .to_string(),
        )
    } else {
        Ok(bucket_ms / 1000)
    }
}

/// The rule printer, with the panel's origin for refusals.
struct PanelPrinter<'a> {
    printer: Printer<'a>,
    origin: Origin,
}

/// A group key as the search computes it: the column's name, how it is
/// computed (none for a field read as it is), and how `sort` orders it.
struct Key {
    column: String,
    eval: Option<String>,
    numeric: bool,
}

impl PanelPrinter<'_> {
    fn fail(&mut self, message: impl Into<String>) {
        let origin = self.origin;
        self.printer.fail(origin, message);
    }

    /// The whole pipeline of a panel over events.
    fn events(
        &mut self,
        panel: &EventsPanel,
        visual: Visual,
        data_source_macro: &str,
    ) -> Vec<String> {
        let origin = self.origin;
        let mut lines = vec![format!("`{data_source_macro}`")];
        // The helpers lookups add are never shown: only the columns below are.
        self.printer.source(&panel.source, &mut lines, origin);
        let keys: Vec<Key> = panel.group_by.iter().map(|key| self.key(key)).collect();
        let bucket = match panel.bucket_ms.map(bucket_seconds) {
            Some(Ok(seconds)) => Some(seconds),
            Some(Err(reason)) => {
                self.fail(reason);
                None
            }
            None => None,
        };
        if panel.has_baseline() && bucket.is_none() {
            self.fail("a baseline needs time buckets (`every`)");
        }
        if !panel.leaves.percentiles.is_empty() {
            self.fail("a panel has no percentile");
        }

        // Aggregates: a measure that is one aggregate names its column.
        let mut aggregates: Vec<Aggregate> = Vec::new();
        let mut names: Vec<String> = panel
            .leaves
            .aggregates
            .iter()
            .map(|aggregate| self.printer.aggregate(aggregate, origin, &mut aggregates))
            .collect();
        let mut named: Vec<&str> = Vec::new();
        for measure in &panel.measures {
            if let Cond::Leaf(Leaf::Aggregate(index)) = measure.value
                && let Some(old) = names.get(index).cloned()
                && old.starts_with("tripline_aggregate_")
                && !named.contains(&measure.name.as_str())
            {
                for aggregate in &mut aggregates {
                    if aggregate.name == old {
                        aggregate.stats = format!(
                            "{} AS {}",
                            aggregate
                                .stats
                                .rsplit_once(" AS ")
                                .map_or("", |(stats, _)| stats),
                            measure.name
                        );
                        aggregate.name.clone_from(&measure.name);
                    }
                }
                for name in &mut names {
                    if *name == old {
                        name.clone_from(&measure.name);
                    }
                }
                named.push(&measure.name);
            }
        }

        let evals: Vec<String> = keys.iter().filter_map(|key| key.eval.clone()).collect();
        if !evals.is_empty() {
            lines.push(format!("| eval {}", evals.join(", ")));
        }
        if !keys.is_empty() {
            // Events missing a group key are not grouped.
            let present: Vec<String> = keys
                .iter()
                .map(|key| format!("isnotnull({})", key.column))
                .collect();
            lines.push(format!("| where {}", present.join(" AND ")));
        }
        if let Some(bucket) = bucket {
            lines.push(format!(
                "| eval {BUCKET_FIELD} = floor(_time / {bucket}) * {bucket}"
            ));
        }
        lines.extend(prepare_line(&aggregates));
        let mut stats: Vec<String> = aggregates
            .iter()
            .map(|aggregate| aggregate.stats.clone())
            .collect();
        let mut by: Vec<String> = Vec::new();
        if bucket.is_some() {
            by.push(BUCKET_FIELD.to_string());
        }
        by.extend(keys.iter().map(|key| key.column.clone()));
        // The rows of buckets with events: a plain count's column, or one more.
        let events_field = aggregates
            .iter()
            .find(|aggregate| {
                aggregate.prepare.is_none() && aggregate.stats.starts_with("count AS ")
            })
            .map_or(EVENTS_FIELD.to_string(), |aggregate| aggregate.name.clone());
        if (panel.has_baseline() || stats.is_empty()) && events_field == EVENTS_FIELD {
            stats.push(format!("count AS {EVENTS_FIELD}"));
        }
        let by_text = if by.is_empty() {
            String::new()
        } else {
            format!(" by {}", by.join(", "))
        };
        lines.push(format!("| stats {}{by_text}", stats.join(", ")));

        let condition_printer = CondPrinter {
            condition: &panel.leaves,
            names: &names,
        };
        if let (Some(bucket), true) = (bucket, panel.has_baseline()) {
            self.history(
                panel,
                (&condition_printer, &aggregates, &events_field),
                bucket,
                &by,
                &mut lines,
            );
        }

        // The measures that are not a stats column already.
        let measure_evals: Vec<String> = panel
            .measures
            .iter()
            .filter(|measure| !is_named(measure, &names))
            .map(|measure| {
                format!(
                    "{} = {}",
                    measure.name,
                    condition_printer.value(&measure.value)
                )
            })
            .collect();
        if !measure_evals.is_empty() {
            lines.push(format!("| eval {}", measure_evals.join(", ")));
        }
        let measures: Vec<&str> = panel.measures.iter().map(|m| m.name.as_str()).collect();
        let key_columns: Vec<&str> = keys.iter().map(|key| key.column.as_str()).collect();

        if let Some(top) = panel.top {
            let first = panel.measures.first();
            let mut order = Vec::new();
            let ranked = first.is_some_and(|measure| !never_null(&measure.value, &panel.leaves));
            if ranked {
                // A group whose first measure has no value ranks last.
                lines.push(format!(
                    "| eval tripline_ranked = if(isnull({}), 0, 1)",
                    measures.first().copied().unwrap_or("null()")
                ));
                order.push("-num(tripline_ranked)".to_string());
            }
            if let Some(first) = measures.first() {
                order.push(format!("-num({first})"));
            }
            for key in &keys {
                order.push(if key.numeric {
                    format!("num({})", key.column)
                } else {
                    format!("str({})", key.column)
                });
            }
            lines.push(format!("| sort 0 {}", order.join(", ")));
            lines.push(format!("| head {top}"));
        } else if bucket.is_none() && !keys.is_empty() && keys.iter().all(|key| key.numeric) {
            // Ranges in order along the axis.
            let order: Vec<String> = keys
                .iter()
                .map(|key| format!("num({})", key.column))
                .collect();
            lines.push(format!("| sort 0 {}", order.join(", ")));
        }

        if bucket.is_some() {
            lines.push(format!("| eval _time = {BUCKET_FIELD}"));
            let chart = matches!(visual, Visual::Line | Visual::Bar);
            if chart && !keys.is_empty() {
                // One series per group (and measure): a column per group.
                let series = if let [key] = key_columns.as_slice() {
                    (*key).to_string()
                } else {
                    lines.push(format!(
                        "| eval tripline_series = {}",
                        key_columns.join(&format!(" . {} . ", spl_string(" | ")))
                    ));
                    "tripline_series".to_string()
                };
                lines.push(format!("| xyseries _time {series} {}", measures.join(" ")));
                // A group without events in a bucket: the measures' value on no
                // events, when they all have the same one (counts and sums: 0).
                let empties: Vec<Option<f64>> = panel
                    .measures
                    .iter()
                    .map(|measure| panel.leaves.empty_value(&measure.value))
                    .collect();
                if let Some(Some(first)) = empties.first()
                    && empties.iter().all(|empty| *empty == Some(*first))
                    && let Some(value) = number(&float_value(*first))
                {
                    lines.push(format!("| fillnull value={value}"));
                }
            } else {
                let mut columns = vec!["_time"];
                columns.extend(key_columns.iter().copied());
                columns.extend(measures.iter().copied());
                lines.push(format!("| table {}", columns.join(", ")));
            }
        } else {
            let mut columns: Vec<&str> = key_columns.clone();
            columns.extend(measures.iter().copied());
            lines.push(format!("| table {}", columns.join(", ")));
        }
        lines
    }

    /// A group key's column and computation.
    fn key(&mut self, key: &GroupKey) -> Key {
        let origin = self.origin;
        match key {
            GroupKey::Field { field } => {
                let column = self.printer.field(field, origin);
                let numeric = self
                    .printer
                    .spl
                    .mapping
                    .field(field)
                    .is_some_and(|target| target.field_type == "number");
                Key {
                    column,
                    eval: None,
                    numeric,
                }
            }
            GroupKey::Bin { field, size } => {
                let reference = self.printer.field(field, origin);
                let column = key.column();
                let eval = if *size > 0.0 && size.is_finite() {
                    let size = bin_size(*size);
                    // The range's lower bound; a value that is not a number
                    // gives null, and the event is not grouped.
                    Some(format!(
                        "{column} = exact(floor(exact({reference} / {size})) * {size})"
                    ))
                } else {
                    self.fail("a bin's size is a number above 0");
                    None
                };
                Key {
                    column,
                    eval,
                    numeric: true,
                }
            }
        }
    }

    /// Each bucket's baselines, over the group's earlier buckets within the
    /// lookback and inside the searched time range, in closed form.
    ///
    /// After `stats`, there is one row per group and bucket with events. For
    /// a baseline whose lookback is K buckets of B seconds, each row is
    /// history for the K buckets after its own: `mvrange(t + B, t + (K+1)B,
    /// B)` lists them (the end is not included:
    /// https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/evaluation-functions/multivalue-eval-functions),
    /// and `stats ... by` that multivalue field counts the row once in each
    /// of those buckets' groups. `appendpipe` runs that on the rows so far
    /// and appends its output, one row per later bucket and group: the first
    /// bucket with events in its history, how many buckets with events, and
    /// the sum and number of the expression's values
    /// (https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/appendpipe;
    /// not a subsearch, so no result limit applies). A second `stats` merges
    /// each bucket's row with its history rows (each field is on one of
    /// them, so `first()` reads it); the buckets without events are
    /// dropped. The mean is then the rule's (see `baseline_means`): buckets
    /// from the first one with events up to the current one, the empty ones
    /// at the expression's value on no events, those where it has no value
    /// skipped. Events outside the searched range are never read, so the
    /// history stays inside it. No `streamstats` (its window is bounded by
    /// `max_stream_window`) and no `mvexpand` (bounded by memory).
    fn history(
        &mut self,
        panel: &EventsPanel,
        (printer, aggregates, events): (&CondPrinter<'_>, &[Aggregate], &str),
        bucket: i64,
        by: &[String],
        lines: &mut Vec<String>,
    ) {
        let groups: Vec<&String> = by.iter().filter(|field| *field != BUCKET_FIELD).collect();
        let group_by = |first: &str| {
            let mut fields = vec![first.to_string()];
            fields.extend(groups.iter().map(|field| (*field).clone()));
            fields.join(", ")
        };
        let inputs: Vec<String> = panel
            .leaves
            .baselines
            .iter()
            .enumerate()
            .map(|(index, baseline)| {
                format!(
                    "tripline_baseline_{}_input = {}",
                    index + 1,
                    printer.value(&baseline.inner)
                )
            })
            .collect();
        lines.push(format!("| eval {}", inputs.join(", ")));
        let mut merged: Vec<String> = aggregates
            .iter()
            .map(|aggregate| format!("first({0}) AS {0}", aggregate.name))
            .collect();
        if events == EVENTS_FIELD {
            merged.push(format!("first({EVENTS_FIELD}) AS {EVENTS_FIELD}"));
        }
        for (index, baseline) in panel.leaves.baselines.iter().enumerate() {
            let name = format!("tripline_baseline_{}", index + 1);
            let span = baseline.span_ms / 1000;
            if baseline.span_ms % 1000 != 0 || span % bucket != 0 || span <= 0 {
                self.fail("a baseline's lookback is not a whole number of buckets");
                continue;
            }
            let later = span / bucket + 1;
            lines.push(format!(
                "| appendpipe [where isnotnull({events}) | eval tripline_later = mvrange({BUCKET_FIELD} + {bucket}, {BUCKET_FIELD} + {}, {bucket}) | stats min({BUCKET_FIELD}) AS {name}_first, count AS {name}_active, sum({name}_input) AS {name}_sum, count({name}_input) AS {name}_values by {} | rename tripline_later AS {BUCKET_FIELD}]",
                later * bucket,
                group_by("tripline_later"),
            ));
            for statistic in ["first", "active", "sum", "values"] {
                merged.push(format!("first({name}_{statistic}) AS {name}_{statistic}"));
            }
        }
        lines.push(format!(
            "| stats {} by {}",
            merged.join(", "),
            group_by(BUCKET_FIELD)
        ));
        lines.push(format!("| where isnotnull({events})"));
        lines.push(format!(
            "| eval {}",
            baseline_means(&panel.leaves, bucket).join(", ")
        ));
    }
}

/// Whether the measure is the column `stats` already named after it.
fn is_named(measure: &PanelMeasure, names: &[String]) -> bool {
    matches!(measure.value, Cond::Leaf(Leaf::Aggregate(index)) if names.get(index) == Some(&measure.name))
}

/// A bin size as SPL writes it: an integer without a decimal point.
fn bin_size(size: f64) -> String {
    if size.fract() == 0.0 && size.abs() < 1e15 {
        format!("{}", size as i64)
    } else {
        spl_float(size)
    }
}

fn float_value(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        Value::Int(value as i64)
    } else {
        Value::Float(value)
    }
}

/// Whether a value always has one: counts, sums and distinct counts, and
/// sums, differences and products of them and of constants.
fn never_null(cond: &Cond, leaves: &crate::targets::plan::Condition) -> bool {
    match cond {
        Cond::Int(_) | Cond::Float(_) => true,
        Cond::Leaf(Leaf::Aggregate(index)) => {
            leaves.aggregates.get(*index).is_some_and(|aggregate| {
                matches!(
                    aggregate.function,
                    AggregateFunction::Count | AggregateFunction::Sum | AggregateFunction::Distinct
                )
            })
        }
        Cond::Arithmetic(op, left, right) => {
            *op != ArithmeticOp::Divide && never_null(left, leaves) && never_null(right, leaves)
        }
        _ => false,
    }
}
