//! Ordered sequences in SQL, with the EQL consumption rule.

use super::*;

impl<'d> Printer<'d> {
    /// Whether an event of the sequence's types (`all_types` of them)
    /// matches the step: its type test, unless it takes them all, and its
    /// filter. A filter is NULL where SQL meets a missing value and the
    /// evaluator says false; `coalesce` makes the flag two-valued.
    pub(super) fn step_flag(&mut self, source: &Source, all_types: usize) -> String {
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
            parts.push(crate::targets::syntax::predicate(
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
    pub(super) fn sequence(
        &mut self,
        form: &plan::sequence::RunThenStep<'_>,
    ) -> (String, QueryInfo) {
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
}
