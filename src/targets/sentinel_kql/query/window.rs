//! Windowed aggregation in KQL: the per-window summary, its aggregate
//! columns and context columns.

use super::*;

impl Printer<'_> {
    pub(super) fn window(&mut self, table: &str, window: &plan::Window, schedule_ms: i64) -> Body {
        let filter = self.source(&window.source);
        let (time, _) = self.column("timestamp");
        let mut aggregates: Vec<AggregateColumn> = Vec::new();
        for aggregate in &window.condition.aggregates {
            let column = self.aggregate(aggregate, &window.source, &aggregates);
            aggregates.push(column);
        }
        let leaves = Leaves {
            aggregates: &aggregates,
            baselines: &[],
            percentiles: &[],
        };
        let test = match &window.condition.root {
            Some(root) => self.condition(root, &leaves),
            None => self.fail("the rule has no alert condition"),
        };
        let mut summaries = Vec::new();
        for aggregate in &aggregates {
            summaries.push(format!("{} = {}", aggregate.name, aggregate.expression));
            if let Some((name, expression)) = &aggregate.count_column {
                summaries.push(format!("{name} = {expression}"));
            }
        }
        let context = self.context_columns(window);
        for (column, summary) in &context {
            summaries.push(format!("{column} = {summary}"));
        }
        let window_ms = window.bucket_ms;
        let mut group_columns: Vec<String> = Vec::new();
        let mut branches = Vec::new();
        for grouping in &window.groupings {
            let (mut keys, events) = self.grouping_source(grouping, &mut group_columns);
            keys.push(format!("WindowStart = {}", epoch_bin(&time, window_ms)));
            let mut branch = events;
            branch.push_str(&format!(
                "\n    | summarize {} by {}",
                summaries.join(", "),
                keys.join(", ")
            ));
            branches.push(branch);
        }
        let mut text = format!(
            "let Window = {};\nlet ClosedBefore = now() - {};\nlet ClosedAfter = ClosedBefore - {};\nlet Events = {table}\n    | where {filter};\n",
            duration_text(window_ms),
            duration_text(LATENESS_MS),
            duration_text(schedule_ms)
        );
        if branches.len() == 1 {
            text.push_str(&branches[0]);
        } else {
            let inner: Vec<String> = branches
                .iter()
                .map(|branch| format!("({})", branch.replace("\n    ", "\n        ")))
                .collect();
            text.push_str(&format!("union\n    {}", inner.join(",\n    ")));
        }
        text.push_str(
            "\n| extend WindowEnd = WindowStart + Window\n| where WindowEnd > ClosedAfter and WindowEnd <= ClosedBefore",
        );
        let mut value_columns: Vec<String> = aggregates.iter().map(|a| a.name.clone()).collect();
        value_columns.extend(context.into_iter().map(|(column, _)| column));
        window_query(text, &test, group_columns, value_columns)
    }

    /// `context` columns and their `summarize` terms: each field's distinct
    /// values, sorted. `make_set_if` collects the distinct values passing
    /// its predicate (`isnotempty`: a missing string is empty in Kusto, as
    /// the other aggregates here read it) in an undefined order, so
    /// `array_sort_asc` sorts them (the tip of
    /// https://learn.microsoft.com/ja-jp/azure/data-explorer/kusto/query/make-list-aggregation-function
    /// for the `make_` aggregates' undefined order).
    pub(super) fn context_columns(&mut self, window: &plan::Window) -> Vec<(String, String)> {
        let mut columns = Vec::new();
        for field in &window.context {
            let (column, _) = self.column(field);
            if !column
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                self.fail(format!(
                    "the `context` field `{field}` is mapped to `{column}`, which is not a column name to project"
                ));
                continue;
            }
            columns.push((
                column.clone(),
                format!("array_sort_asc(make_set_if({column}, isnotempty({column})))"),
            ));
        }
        columns
    }

    /// The aggregate columns of a window's condition and their `summarize`
    /// terms.
    pub(super) fn aggregate_columns(
        &mut self,
        window: &plan::Window,
    ) -> (Vec<AggregateColumn>, Vec<String>) {
        let mut aggregates: Vec<AggregateColumn> = Vec::new();
        for aggregate in &window.condition.aggregates {
            let column = self.aggregate(aggregate, &window.source, &aggregates);
            aggregates.push(column);
        }
        let mut summaries = Vec::new();
        for aggregate in &aggregates {
            summaries.push(format!("{} = {}", aggregate.name, aggregate.expression));
            if let Some((name, expression)) = &aggregate.count_column {
                summaries.push(format!("{name} = {expression}"));
            }
        }
        (aggregates, summaries)
    }
}
