//! Windowed aggregation, history and new values in SQL.

use super::*;

impl<'d> Printer<'d> {
    pub(super) fn new_value(
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

    /// `EXPRESSION AS NAME` per aggregate of `condition`, over `matched`'s rows.
    pub(super) fn aggregate_columns(
        &mut self,
        condition: &Condition,
        names: &[String],
    ) -> Vec<String> {
        let mut aggregates = Vec::new();
        for (aggregate, name) in condition.aggregates.iter().zip(names) {
            let filter = aggregate.filter.as_ref().map(|filter| {
                crate::targets::syntax::predicate(&self.syntax, filter, &mut self.problems)
            });
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

    pub(super) fn window(&mut self, window: &plan::Window) -> (String, QueryInfo) {
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
