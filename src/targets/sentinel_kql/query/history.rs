//! Windows judged against their history in KQL: baselines, exact-rank
//! percentiles, and new values.

use super::*;

impl Printer<'_> {
    /// A window whose condition reads the group's history (baselines) or
    /// the other groups of its window (percentiles).
    ///
    /// Why it is exact. Every window of every group in the query period is
    /// summarised once (`Windows`); the windows that alert in this run are
    /// those that closed in its slot (`Closed`). A baseline joins each of
    /// them with the same group's windows that start in `[start - Lookback,
    /// start)` (the lookback in whole windows) and keeps, per baseline, the
    /// first such window, the sum and number of the expression's values and
    /// the number of windows with events; the windows in between without
    /// events are `(start - first) / Window - active`, counted at the
    /// expression's value on no events when it has one (as the SQL
    /// reference's `history` and `baseline_mean`). A closed window with no
    /// earlier window in the lookback has no baseline and no first window,
    /// so it cannot pass the learning period and can be dropped by the
    /// inner join. The query period reaches back the longest lookback and a
    /// window before the oldest closed window, so the whole history is read.
    /// A percentile is the value at 0-based rank floor((N - 1) * P / 100) of
    /// the ascending values of the N groups of the window (and grouping set)
    /// that have one: `sort` serialises the rows and `row_number` restarts
    /// at each window (https://learn.microsoft.com/kusto/query/row-number-function),
    /// an exact rank where `percentile()` would estimate
    /// (https://learn.microsoft.com/kusto/query/percentiles-aggregation-function).
    pub(super) fn stateful_window(
        &mut self,
        table: &str,
        window: &plan::Window,
        frequency_ms: i64,
        learn_ms: i64,
    ) -> Body {
        let condition = &window.condition;
        if !window.context.is_empty() {
            // Later `summarize` steps group by the window's columns, and a
            // dynamic array is not a `by` key.
            self.problems.push(Problem::lacks(
                self.context_origin,
                "`context` on a baseline or percentile rule: the history joins regroup the window's columns, and Kusto cannot group by the dynamic arrays that carry the context",
            ));
        }
        let filter = self.source(&window.source);
        let (time, _) = self.column("timestamp");
        let (aggregates, summaries) = self.aggregate_columns(window);
        let numbered = |base: &str, count: usize, index: usize| {
            if count == 1 {
                base.to_string()
            } else {
                format!("{base}{}", index + 1)
            }
        };
        let (baseline_count, percentile_count) =
            (condition.baselines.len(), condition.percentiles.len());
        let baselines: Vec<String> = (0..baseline_count)
            .map(|index| numbered("Baseline", baseline_count, index))
            .collect();
        let lookbacks: Vec<String> = (0..baseline_count)
            .map(|index| numbered("Lookback", baseline_count, index))
            .collect();
        let earlier: Vec<String> = (0..baseline_count)
            .map(|index| numbered("Earlier", baseline_count, index))
            .collect();
        let percentiles: Vec<String> = (0..percentile_count)
            .map(|index| numbered("Percentile", percentile_count, index))
            .collect();
        let leaves = Leaves {
            aggregates: &aggregates,
            baselines: &baselines,
            percentiles: &percentiles,
        };
        let test = match &condition.root {
            Some(root) => self.condition(root, &leaves),
            None => self.fail("the rule has no alert condition"),
        };
        // What a baseline averages and a percentile ranks reads aggregates only.
        let inner_leaves = Leaves {
            aggregates: &aggregates,
            baselines: &[],
            percentiles: &[],
        };
        let baseline_values: Vec<String> = condition
            .baselines
            .iter()
            .map(|baseline| self.value(&baseline.inner, &inner_leaves))
            .collect();
        let percentile_values: Vec<String> = condition
            .percentiles
            .iter()
            .map(|percentile| self.value(&percentile.inner, &inner_leaves))
            .collect();
        let window_ms = window.bucket_ms;
        let mut lets = vec![format!("let Window = {};", duration_text(window_ms))];
        for (baseline, lookback) in condition.baselines.iter().zip(&lookbacks) {
            lets.push(format!(
                "let {lookback} = {};",
                duration_text(baseline.span_ms)
            ));
        }
        if !baselines.is_empty() {
            lets.push(format!("let Learn = {};", duration_text(learn_ms)));
        }
        lets.push(format!(
            "let ClosedBefore = now() - {};\nlet ClosedAfter = ClosedBefore - {};",
            duration_text(LATENESS_MS),
            duration_text(frequency_ms)
        ));
        lets.push(format!("let Events = {table}\n    | where {filter};"));
        // The longest lookback bounds the join; each baseline keeps its own.
        let longest = condition
            .baselines
            .iter()
            .zip(&lookbacks)
            .max_by_key(|(baseline, _)| baseline.span_ms)
            .map(|(_, name)| name.clone());
        let several = window.groupings.len() > 1;
        let mut group_columns: Vec<String> = Vec::new();
        let mut branches = Vec::new();
        for (number, grouping) in window.groupings.iter().enumerate() {
            let suffix = if several {
                (number + 1).to_string()
            } else {
                String::new()
            };
            let (keys, events) = self.grouping_source(grouping, &mut group_columns);
            let (windows, closed) = (format!("Windows{suffix}"), format!("Closed{suffix}"));
            let mut by = keys.clone();
            by.push(format!("WindowStart = {}", epoch_bin(&time, window_ms)));
            lets.push(format!(
                "let {windows} = materialize({events}\n    | summarize {} by {});",
                summaries.join(", "),
                by.join(", ")
            ));
            lets.push(format!(
                "let {closed} = {windows}\n    | extend WindowEnd = WindowStart + Window\n    | where WindowEnd > ClosedAfter and WindowEnd <= ClosedBefore;"
            ));
            let mut lookups = Vec::new();
            for (index, (percentile, value)) in condition
                .percentiles
                .iter()
                .zip(&percentile_values)
                .enumerate()
            {
                let tag = match (several, percentile_count > 1) {
                    (true, true) => format!("{suffix}_{}", index + 1),
                    (false, true) => (index + 1).to_string(),
                    _ => suffix.clone(),
                };
                let (ranked, ranks) = (format!("Ranked{tag}"), format!("Percentiles{tag}"));
                lets.push(format!(
                    "let {ranked} = {closed}\n    | extend RankedValue = {value}\n    | where isnotnull(RankedValue)\n    | sort by WindowStart asc, RankedValue asc\n    | extend Rank = row_number(0, WindowStart != prev(WindowStart));"
                ));
                lets.push(format!(
                    "let {ranks} = {ranked}\n    | lookup ({ranked} | summarize Groups = count() by WindowStart) on WindowStart\n    | where Rank == tolong(floor((Groups - 1) * {:?} / 100, 1))\n    | project WindowStart, {} = RankedValue;",
                    percentile.percentile.clamp(0.0, 100.0),
                    percentiles[index]
                ));
                lookups.push(format!("| lookup kind=leftouter {ranks} on WindowStart"));
            }
            let mut branch = vec![closed.clone()];
            if let Some(longest) = &longest {
                // A group of its own when the rule has no group fields.
                let join_keys = if keys.is_empty() {
                    branch.push("| extend Scope = 1".to_string());
                    vec!["Scope".to_string()]
                } else {
                    keys.clone()
                };
                let mut right = if keys.is_empty() {
                    vec!["Scope = 1".to_string()]
                } else {
                    keys.clone()
                };
                right.push("EarlierStart = WindowStart".to_string());
                for (name, value) in earlier.iter().zip(&baseline_values) {
                    right.push(format!("{name} = {value}"));
                }
                branch.push(format!(
                    "| join kind=inner ({windows}\n    | project {}) on {}",
                    right.join(", "),
                    join_keys.join(", ")
                ));
                branch.push(format!(
                    "| where EarlierStart >= WindowStart - {longest} and EarlierStart < WindowStart"
                ));
                let terms = history_terms(&baselines, &lookbacks, &earlier, "WindowStart");
                let mut by = join_keys.clone();
                by.push("WindowStart".to_string());
                by.push("WindowEnd".to_string());
                for aggregate in &aggregates {
                    by.push(aggregate.name.clone());
                    if let Some((count, _)) = &aggregate.count_column {
                        by.push(count.clone());
                    }
                }
                branch.push(format!(
                    "| summarize\n    {}\n    by {}",
                    terms.join(",\n    "),
                    by.join(", ")
                ));
            }
            branch.extend(lookups);
            branches.push(branch.join("\n"));
        }
        let mut text = lets.join("\n");
        text.push('\n');
        if branches.len() == 1 {
            text.push_str(&branches[0]);
        } else {
            let inner: Vec<String> = branches
                .iter()
                .map(|branch| format!("({})", branch.replace('\n', "\n        ")))
                .collect();
            text.push_str(&format!("union\n    {}", inner.join(",\n    ")));
        }
        let mut learned = Vec::new();
        for (baseline, prefix) in condition.baselines.iter().zip(&baselines) {
            let (empty, mean) = baseline_mean(prefix, baseline.empty, "WindowStart", "Window");
            if let Some(empty) = empty {
                text.push_str(&format!("\n| extend {prefix}Empty = {empty}"));
            }
            text.push_str(&format!("\n| extend {prefix} = {mean}"));
            learned.push(format!("WindowStart - {prefix}First >= Learn"));
        }
        if !learned.is_empty() {
            // The group's own history reaches back the learning period.
            text.push_str(&format!("\n| where {}", learned.join(" or ")));
        }
        let mut value_columns: Vec<String> = aggregates.iter().map(|a| a.name.clone()).collect();
        value_columns.extend(baselines.iter().cloned());
        value_columns.extend(percentiles.iter().cloned());
        window_query(text, &test, group_columns, value_columns)
    }

    /// A new value: an event whose key and value combination was not seen
    /// in the lookback before it, for a key seen between the lookback and
    /// the learning period before it.
    ///
    /// Why it is exact. The alerting events are those of this run's slot
    /// `(SeenAfter, SeenBefore]`. (a) Sorting the events by key, value,
    /// time and event id (the evaluator's processing order) makes `prev()`
    /// the latest earlier sighting of the same combination
    /// (https://learn.microsoft.com/kusto/query/prev-function); the
    /// combination is new when there is none or it is older than the
    /// lookback, so of several new sightings only the first alerts.
    /// (b) The key must have a sighting in `[t - Lookback, t - Learn]`. For
    /// every `t` of the slot that span is the part all of them share,
    /// `[SeenBefore - Lookback, SeenAfter - Learn]`, plus a ragged end on
    /// each side narrower than the slot: a sighting in the shared part
    /// counts for every event; on the early side the key's latest sighting
    /// there counts when it is at least `t - Lookback`; on the late side its
    /// earliest when it is at most `t - Learn`. That needs the slot to be no
    /// longer than `Lookback - Learn`, which is checked. The query period
    /// reaches back the lookback before the slot, so every sighting either
    /// test needs is read.
    pub(super) fn new_value(
        &mut self,
        table: &str,
        source: &Source,
        (key, values): (&[String], &[String]),
        lookback_ms: i64,
        learn_ms: i64,
        frequency_ms: i64,
    ) -> Body {
        let filter = self.source(source);
        let (time, _) = self.column("timestamp");
        if learn_ms <= 0 || lookback_ms - learn_ms < frequency_ms {
            self.fail(format!(
                "the lookback ({}) must exceed the learning period ({}) by at least the query frequency ({}), so that the key's history is one shared span per run",
                duration_text(lookback_ms),
                duration_text(learn_ms.max(0)),
                duration_text(frequency_ms)
            ));
        }
        let key_columns: Vec<String> = key.iter().map(|field| self.column(field).0).collect();
        let value_columns: Vec<String> = values.iter().map(|field| self.column(field).0).collect();
        let present: Vec<String> = key
            .iter()
            .chain(values)
            .map(|field| self.presence(field))
            .collect();
        let mut order: Vec<String> = key_columns
            .iter()
            .chain(&value_columns)
            .map(|column| format!("{column} asc"))
            .collect();
        order.push(format!("{time} asc"));
        if let Some(event_id) = self.mapping.field("event_id") {
            order.push(format!(
                "{} asc",
                super::super::quote::column_reference(&event_id.name)
            ));
        }
        let same: Vec<String> = key_columns
            .iter()
            .chain(&value_columns)
            .map(|column| format!("{column} == prev({column})"))
            .collect();
        let keys = key_columns.join(", ");
        let text = format!(
            "let Lookback = {lookback};\n\
             let Learn = {learn};\n\
             let SeenBefore = now() - {late};\n\
             let SeenAfter = SeenBefore - {frequency};\n\
             let Sightings = materialize({table}\n    | where {filter}\n    | where {present});\n\
             // Per key: sightings inside the span every event of this run looks at, and the ends of the span.\n\
             let KeyHistory = Sightings\n    | summarize\n        SeenThroughout = countif({time} between ((SeenBefore - Lookback) .. (SeenAfter - Learn))),\n        LastSeenEarly = maxif({time}, {time} > SeenAfter - Lookback and {time} < SeenBefore - Lookback),\n        FirstSeenLate = minif({time}, {time} > SeenAfter - Learn and {time} <= SeenBefore - Learn)\n        by {keys};\n\
             Sightings\n\
             | sort by {order}\n\
             | extend ValueSeen = iff({same}, prev({time}), datetime(null))\n\
             | where {time} > SeenAfter and {time} <= SeenBefore\n\
             // The combination was not seen in the lookback before the event,\n\
             | where isnull(ValueSeen) or ValueSeen < {time} - Lookback\n\
             // and the key was seen between the lookback and the learning period before it.\n\
             | lookup kind=inner KeyHistory on {keys}\n\
             | where SeenThroughout > 0 or LastSeenEarly >= {time} - Lookback or FirstSeenLate <= {time} - Learn\n\
             | project-away ValueSeen, SeenThroughout, LastSeenEarly, FirstSeenLate",
            lookback = duration_text(lookback_ms),
            learn = duration_text(learn_ms),
            late = duration_text(LATENESS_MS),
            frequency = duration_text(frequency_ms),
            present = present.join(" and "),
            order = order.join(", "),
            same = same.join(" and "),
        );
        let mut group_columns = key_columns;
        group_columns.extend(value_columns);
        Body {
            text,
            group_columns,
            value_columns: Vec::new(),
            all_columns: true,
        }
    }
}
