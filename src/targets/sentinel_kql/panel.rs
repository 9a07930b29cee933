//! The Kusto query of a dashboard panel, for a workbook query item.
//!
//! Input: a panel lowered by [`plan::panel`], the pack and the mapping.
//! Output: the KQL over the custom table (or, for an alerts panel, over
//! `SecurityAlert`) and the columns it returns, or E0402 problems. Filters,
//! presence tests and aggregates are spelled by the rules' printer
//! ([`Printer`]); a baseline gathers its history with the rules' terms
//! ([`history_terms`], [`baseline_mean`]).
//!
//! The time range is not in the query: the workbook runs each query over
//! its time range (the `TimeRange` parameter, or the panel's own range),
//! which keeps the table to the events of that range
//! (<https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-time>).
//! Within it, rows exist for the (bucket, group) pairs that have events, as
//! `summarize ... by` gives them; buckets are epoch-aligned, so the first
//! and last may be partial; an event without a group key's field is not
//! counted in any group.

use super::query::{AggregateColumn, Leaves, Printer, baseline_mean, epoch_bin, history_terms};
use super::quote::column_reference;
use super::syntax;
use crate::ir::dashboard::GroupKey;
use crate::ir::{self, Origin};
use crate::targets::plan::panel::EventsPanel;
use crate::targets::plan::{Cond, Leaf};
use crate::targets::{Mapping, Problem, duration_text};

/// A panel's query and the columns of its result, in order.
#[derive(Debug, Clone)]
pub struct PanelKql {
    /// The KQL text.
    pub text: String,
    /// The time bucket column, when the panel is over time.
    pub time_column: Option<String>,
    /// The group key columns.
    pub key_columns: Vec<String>,
    /// The measure columns, in the order written.
    pub measure_columns: Vec<String>,
}

/// Words Kusto reads as syntax where a column name stands; a measure named
/// so is bracketed (`['and']`).
const KEYWORDS: &[&str] = &[
    "and", "as", "asc", "between", "by", "contains", "desc", "false", "from", "has", "in", "kind",
    "let", "not", "nulls", "of", "on", "or", "step", "to", "true", "typeof", "where", "with",
];

/// A measure's column: its name, bracketed when Kusto would read it as a word.
fn measure_column(name: &str) -> String {
    if KEYWORDS.contains(&name) {
        format!("['{name}']")
    } else {
        column_reference(name)
    }
}

/// A bin width as a Kusto number: an integer as written (`250`), else a
/// `real` (`real(0.5)`).
fn bin_size(size: f64) -> Option<String> {
    if !size.is_finite() || size <= 0.0 {
        None
    } else if size.fract() == 0.0 && size < 9_007_199_254_740_992.0 {
        Some(format!("{}", size as i64))
    } else {
        Some(format!("real({size:?})"))
    }
}

/// The query of a panel over events.
///
/// Shape: the table, the source's filter, the group keys' presence, then
/// `summarize` of the aggregates by the time bucket and the keys. A measure
/// that is one aggregate names that aggregate's column; any other is an
/// `extend` over the aggregate columns, as a `real` that is null where the
/// evaluator's value is missing (a zero divisor, an aggregate without
/// values), and the helper columns are projected away. `top N` sorts by the
/// first measure, descending with rows without a value last, ties by the
/// keys ascending, and keeps N rows: `sort` then `take`, as `top` sorts by
/// one expression only
/// (<https://learn.microsoft.com/kusto/query/top-operator>,
/// <https://learn.microsoft.com/kusto/query/sort-operator>, whose `desc`
/// puts nulls last).
///
/// Time buckets are `bin(TimeGenerated, D)` when D divides a day (bin
/// counts from 0001-01-01, a midnight, so such buckets start where the
/// epoch-aligned ones do) and `bin_at(..., datetime(1970-01-01))` otherwise
/// (<https://learn.microsoft.com/kusto/query/bin-function>,
/// <https://learn.microsoft.com/kusto/query/bin-at-function>). `bin` of a
/// number rounds down to a multiple of the width, the language's
/// `floor(value / size) * size`.
///
/// A baseline is the rules' (see the rules' stateful window): every bucket
/// of every group is summarised once (`Buckets`), joined with the same
/// group's buckets that start within the lookback before it, and the
/// history's first bucket, sum, values and active buckets give the mean,
/// empty buckets counted at the expression's empty value; a bucket without
/// an earlier one has no baseline (`lookup kind=leftouter` keeps it, with
/// nulls). The history is what the time range holds: the baseline is over
/// earlier buckets inside the panel's range, as the design says.
pub fn events_query(
    origin: Origin,
    events: &EventsPanel,
    pack: &ir::Pack,
    mapping: &Mapping,
    table: &str,
) -> Result<PanelKql, Vec<Problem>> {
    let mut printer = Printer {
        origin,
        context_origin: origin,
        schema: &pack.schema,
        lookups: &pack.lookups,
        mapping,
        problems: Vec::new(),
        computed: None,
    };
    let filter = printer.source(&events.source);
    let (time, _) = printer.column("timestamp");
    // The group keys: their columns, `by` terms and presence tests.
    let mut key_columns = Vec::new();
    let mut key_terms = Vec::new();
    let mut present = Vec::new();
    for key in &events.group_by {
        let (column, kind) = printer.column(key.field());
        present.push(printer.presence(key.field()));
        match key {
            GroupKey::Field { .. } => {
                key_terms.push(column.clone());
                key_columns.push(column);
            }
            GroupKey::Bin { field, size } => {
                if kind != "long" && kind != "real" {
                    printer.fail(format!(
                        "`bin({field}, ...)` needs a number column; `{field}` is a {kind} column here"
                    ));
                    continue;
                }
                let Some(size) = bin_size(*size) else {
                    printer.fail(format!("`bin({field}, {size})` needs a width above 0"));
                    continue;
                };
                let target = mapping.field(field).map_or(field.as_str(), |f| &f.name);
                let name = column_reference(&format!("{target}Bin"));
                key_terms.push(format!("{name} = bin({column}, {size})"));
                key_columns.push(name);
            }
        }
    }
    let time_column = events.bucket_ms.map(|_| time.clone());
    let time_term = events.bucket_ms.map(|bucket| {
        if bucket > 0 && 86_400_000 % bucket == 0 {
            format!("bin({time}, {})", duration_text(bucket))
        } else {
            format!("{time} = {}", epoch_bin(&time, bucket))
        }
    });
    // The aggregates, and the measures that are one of them named after it.
    let mut aggregates: Vec<AggregateColumn> = Vec::new();
    for aggregate in &events.leaves.aggregates {
        let column = printer.aggregate(aggregate, &events.source, &aggregates);
        aggregates.push(column);
    }
    let mut direct = vec![false; events.measures.len()];
    let mut renamed = vec![false; aggregates.len()];
    for (index, measure) in events.measures.iter().enumerate() {
        if let Cond::Leaf(Leaf::Aggregate(leaf)) = measure.value
            && leaf < aggregates.len()
            && !renamed[leaf]
            && aggregates[leaf].count_column.is_none()
        {
            aggregates[leaf].name = measure_column(&measure.name);
            renamed[leaf] = true;
            direct[index] = true;
        }
    }
    let mut summaries = Vec::new();
    for aggregate in &aggregates {
        summaries.push(format!("{} = {}", aggregate.name, aggregate.expression));
        if let Some((name, expression)) = &aggregate.count_column {
            summaries.push(format!("{name} = {expression}"));
        }
    }
    let mut by: Vec<String> = time_term.iter().cloned().collect();
    by.extend(key_terms.iter().cloned());
    let summarize = if by.is_empty() {
        format!("summarize {}", summaries.join(", "))
    } else {
        format!("summarize {} by {}", summaries.join(", "), by.join(", "))
    };
    // Baselines: helper columns, and a bare baseline measure named after it.
    let baseline_count = events.leaves.baselines.len();
    let numbered = |base: &str, index: usize| {
        if baseline_count == 1 {
            base.to_string()
        } else {
            format!("{base}{}", index + 1)
        }
    };
    let prefixes: Vec<String> = (0..baseline_count)
        .map(|index| numbered("Baseline", index))
        .collect();
    let lookbacks: Vec<String> = (0..baseline_count)
        .map(|index| numbered("Lookback", index))
        .collect();
    let earlier: Vec<String> = (0..baseline_count)
        .map(|index| numbered("Earlier", index))
        .collect();
    let mut baseline_names = prefixes.clone();
    let mut baseline_claimed = vec![false; baseline_count];
    for (index, measure) in events.measures.iter().enumerate() {
        if let Cond::Leaf(Leaf::Baseline(leaf)) = measure.value
            && leaf < baseline_count
            && !baseline_claimed[leaf]
        {
            baseline_names[leaf] = measure_column(&measure.name);
            baseline_claimed[leaf] = true;
            direct[index] = true;
        }
    }
    let inner_leaves = Leaves {
        aggregates: &aggregates,
        baselines: &[],
        percentiles: &[],
    };
    let earlier_values: Vec<String> = events
        .leaves
        .baselines
        .iter()
        .map(|baseline| printer.value(&baseline.inner, &inner_leaves))
        .collect();
    let leaves = Leaves {
        aggregates: &aggregates,
        baselines: &baseline_names,
        percentiles: &[],
    };
    let mut measure_columns = Vec::new();
    let mut extends = Vec::new();
    for (index, measure) in events.measures.iter().enumerate() {
        let name = measure_column(&measure.name);
        if !direct[index] {
            let value = printer.value(&measure.value, &leaves);
            extends.push(format!("{name} = {value}"));
        }
        measure_columns.push(name);
    }
    // Every column the query names must be distinct.
    let mut output: Vec<&String> = time_column.iter().collect();
    output.extend(&key_columns);
    output.extend(&measure_columns);
    let mut helpers: Vec<String> = aggregates
        .iter()
        .filter(|aggregate| !measure_columns.contains(&aggregate.name))
        .map(|aggregate| aggregate.name.clone())
        .collect();
    helpers.extend(
        aggregates
            .iter()
            .filter_map(|aggregate| aggregate.count_column.as_ref())
            .map(|(name, _)| name.clone()),
    );
    let mut seen = std::collections::BTreeSet::new();
    for column in output
        .iter()
        .map(|column| column.as_str())
        .chain(helpers.iter().map(String::as_str))
    {
        if !seen.insert(column) {
            printer.fail(format!(
                "the panel's query would name the column `{column}` twice (a group key, a measure or an aggregate); rename the measure"
            ));
        }
    }
    let mut lines = Vec::new();
    let mut source = vec![format!("{table}"), format!("| where {filter}")];
    if !present.is_empty() {
        source.push(format!("| where {}", present.join(" and ")));
    }
    source.push(format!("| {summarize}"));
    if baseline_count == 0 {
        lines.extend(source);
    } else {
        let Some(bucket) = events.bucket_ms else {
            printer.fail("a baseline needs time buckets (`every`)");
            return Err(printer.problems);
        };
        lines.push(format!("let Bucket = {};", duration_text(bucket)));
        for (baseline, lookback) in events.leaves.baselines.iter().zip(&lookbacks) {
            lines.push(format!(
                "let {lookback} = {};",
                duration_text(baseline.span_ms)
            ));
        }
        lines.push(format!("let Buckets = materialize({}", source[0]));
        for line in &source[1..] {
            lines.push(format!("    {line}"));
        }
        if let Some(last) = lines.last_mut() {
            last.push_str(");");
        }
        let longest = events
            .leaves
            .baselines
            .iter()
            .zip(&lookbacks)
            .max_by_key(|(baseline, _)| baseline.span_ms)
            .map(|(_, name)| name.clone())
            .unwrap_or_default();
        let (join_keys, mut right) = if key_columns.is_empty() {
            (vec!["Scope".to_string()], vec!["Scope = 1".to_string()])
        } else {
            (key_columns.clone(), key_columns.clone())
        };
        right.push(format!("EarlierStart = {time}"));
        for (name, value) in earlier.iter().zip(&earlier_values) {
            right.push(format!("{name} = {value}"));
        }
        lines.push("let History = Buckets".to_string());
        if key_columns.is_empty() {
            lines.push("    | extend Scope = 1".to_string());
        }
        lines.push(format!(
            "    | join kind=inner (Buckets\n        | project {}) on {}",
            right.join(", "),
            join_keys.join(", ")
        ));
        lines.push(format!(
            "    | where EarlierStart >= {time} - {longest} and EarlierStart < {time}"
        ));
        let terms = history_terms(&prefixes, &lookbacks, &earlier, &time);
        let mut history_by = key_columns.clone();
        history_by.push(time.clone());
        lines.push(format!(
            "    | summarize\n        {}\n        by {};",
            terms.join(",\n        "),
            history_by.join(", ")
        ));
        lines.push("Buckets".to_string());
        lines.push(format!(
            "| lookup kind=leftouter History on {}",
            history_by.join(", ")
        ));
        let mut means = Vec::new();
        for ((baseline, prefix), name) in events
            .leaves
            .baselines
            .iter()
            .zip(&prefixes)
            .zip(&baseline_names)
        {
            let (empty, mean) = baseline_mean(prefix, baseline.empty, &time, "Bucket");
            if let Some(empty) = empty {
                lines.push(format!("| extend {prefix}Empty = {empty}"));
            }
            means.push(format!("{name} = {mean}"));
        }
        lines.push(format!("| extend {}", means.join(", ")));
    }
    if !extends.is_empty() {
        lines.push(format!("| extend {}", extends.join(", ")));
    }
    if baseline_count > 0 || !helpers.is_empty() {
        let projected: Vec<String> = output.iter().map(|column| (*column).clone()).collect();
        lines.push(format!("| project {}", projected.join(", ")));
    }
    if let Some(top) = events.top {
        let mut order = Vec::new();
        if let Some(first) = measure_columns.first() {
            order.push(format!("{first} desc"));
        }
        order.extend(key_columns.iter().map(|column| format!("{column} asc")));
        lines.push(format!("| sort by {}", order.join(", ")));
        lines.push(format!("| take {top}"));
    }
    if !printer.problems.is_empty() {
        return Err(printer.problems);
    }
    Ok(PanelKql {
        text: lines.join("\n"),
        time_column,
        key_columns,
        measure_columns,
    })
}

/// The GUID pattern at the end of an alert's `AlertType`.
const RULE_GUID_PATTERN: &str =
    "([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$";

/// The query of an alerts panel: the alerts in `SecurityAlert` raised by
/// the pack's analytics rules (`rules`: GUID and Tripline rule id, of the
/// rules compiled for Sentinel), counted per rule and bucket.
///
/// A scheduled rule's alert takes its `AlertType` from the rule's id and
/// its `AlertName` from the rule's name
/// (<https://learn.microsoft.com/azure/sentinel/security-alert-schema>); the
/// name is free text that another rule may share, the id is the GUID this
/// target gives the rule, so an alert is the pack's when its `AlertType`
/// ends in one of those GUIDs (compared lowercased). The table may hold an
/// alert more than once (its `SystemAlertId` is the alert's); each alert is
/// counted once, at its first record in the range.
pub fn alerts_query(
    origin: Origin,
    bucket_ms: Option<i64>,
    rules: &[(String, String)],
) -> Result<PanelKql, Vec<Problem>> {
    let refuse = |message: String| vec![Problem::untranslatable(origin, message)];
    if rules.is_empty() {
        return Err(refuse(
            "no rule of the pack compiles for Sentinel, so no alert is the pack's".to_string(),
        ));
    }
    let pattern = syntax::string(RULE_GUID_PATTERN).map_err(|error| refuse(error.0))?;
    let mut rows = Vec::new();
    for (guid, rule) in rules {
        let guid = syntax::string(&guid.to_ascii_lowercase()).map_err(|error| refuse(error.0))?;
        let rule = syntax::string(rule).map_err(|error| refuse(error.0))?;
        rows.push(format!("    {guid}, {rule}"));
    }
    let mut lines = vec![
        "let PackRules = datatable(RuleGuid: string, Rule: string) [".to_string(),
        rows.join(",\n"),
        "];".to_string(),
        "SecurityAlert".to_string(),
        "| summarize arg_min(TimeGenerated, AlertType) by SystemAlertId".to_string(),
        format!("| extend RuleGuid = tolower(extract({pattern}, 1, AlertType))"),
        "| lookup kind=inner PackRules on RuleGuid".to_string(),
    ];
    let time_column = match bucket_ms {
        Some(bucket) if bucket > 0 && 86_400_000 % bucket == 0 => {
            lines.push(format!(
                "| summarize Alerts = count() by bin(TimeGenerated, {}), Rule",
                duration_text(bucket)
            ));
            Some("TimeGenerated".to_string())
        }
        Some(bucket) => {
            lines.push(format!(
                "| summarize Alerts = count() by TimeGenerated = {}, Rule",
                epoch_bin("TimeGenerated", bucket)
            ));
            Some("TimeGenerated".to_string())
        }
        None => {
            lines.push("| summarize Alerts = count() by Rule".to_string());
            None
        }
    };
    Ok(PanelKql {
        text: lines.join("\n"),
        time_column,
        key_columns: vec!["Rule".to_string()],
        measure_columns: vec!["Alerts".to_string()],
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn bin_widths_print_as_integers_or_reals() {
        assert_eq!(bin_size(250.0).unwrap(), "250");
        assert_eq!(bin_size(0.5).unwrap(), "real(0.5)");
        assert!(bin_size(0.0).is_none());
        assert!(bin_size(f64::NAN).is_none());
    }

    #[test]
    fn a_measure_named_like_a_kusto_word_is_bracketed() {
        assert_eq!(measure_column("inferences"), "inferences");
        assert_eq!(measure_column("count"), "count");
        assert_eq!(measure_column("and"), "['and']");
        assert_eq!(measure_column("by"), "['by']");
    }

    #[test]
    fn an_alerts_panel_reads_the_pack_rules_by_guid() {
        let rules = vec![(
            "D33A659A-39F4-5F83-90F7-6BAB08769AE0".to_string(),
            "agent.egress.unexpected_domain".to_string(),
        )];
        let origin = Origin {
            line: 1,
            column: 1,
            start: 0,
            end: 0,
        };
        let kql = alerts_query(origin, Some(3_600_000), &rules).unwrap();
        assert!(
            kql.text.contains(
                "    \"d33a659a-39f4-5f83-90f7-6bab08769ae0\", \"agent.egress.unexpected_domain\"\n];"
            ),
            "{}",
            kql.text
        );
        assert!(
            kql.text
                .ends_with("| summarize Alerts = count() by bin(TimeGenerated, 1h), Rule"),
            "{}",
            kql.text
        );
        assert_eq!(kql.time_column.as_deref(), Some("TimeGenerated"));
        assert!(alerts_query(origin, None, &[]).is_err());
    }
}
