//! Windowed aggregation in SPL: the per-window search and grouping sets.

use super::*;

impl Printer<'_> {
    /// Window, `stats` per group (or per grouping set), history and
    /// percentiles, the schedule slot's windows, the condition. Returns the
    /// fields an alert is identified by, and how far before the alerting
    /// windows the search must read (the longest baseline span, in seconds).
    ///
    /// Splunk rounds the result of `*` (and of `+`, `-`) to the significant
    /// figures of its least precise operand (3 * 0.5 gives 2, see
    /// https://wiki.splunk.com/Community:BadMath); `exact()` keeps the full
    /// double ("exact(X): renders the result of a numeric eval calculation
    /// with a larger amount of precision",
    /// https://docs.splunk.com/Documentation/Splunk/latest/SearchReference/MathematicalFunctions).
    /// So every computed number here is wrapped in `exact()`, and arithmetic
    /// is over doubles as in the evaluator ("numbers are treated as
    /// double-precision floating-point numbers",
    /// https://docs.splunk.com/Documentation/SCS/current/SearchReference/EvalCommandUsage).
    pub(super) fn window(
        &mut self,
        window: &plan::Window,
        (bucket, slot, learn_ms): (i64, i64, i64),
        expr: &Expr,
        lines: &mut Vec<String>,
        origin: Origin,
    ) -> (Vec<String>, i64) {
        let plan = &window.condition;
        let mut aggregates = Vec::new();
        let names = self.aggregates(plan, expr, &mut aggregates);
        lines.push(format!(
            "| eval {WINDOW_FIELD} = floor(_time / {bucket}) * {bucket}"
        ));
        lines.extend(prepare_line(&aggregates));
        let mut stats: Vec<String> = aggregates
            .iter()
            .map(|aggregate| aggregate.stats.clone())
            .collect();
        // `context`: values(X) gives X's distinct values, sorted
        // lexicographically, as a multivalue field (null values are not values)
        // (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/statistical-and-charting-functions/multivalue-stats-and-chart-functions).
        for name in &window.context {
            let field = self.field(name, origin);
            stats.push(format!("values({field}) AS {field}"));
        }
        let mut identity = vec![WINDOW_FIELD.to_string()];
        // The fields a group is told apart by, for `eventstats ... by`.
        let several = window.groupings.len() > 1;
        let group_fields: Vec<String> = match window.groupings.as_slice() {
            [single] => {
                let fields: Vec<String> = single
                    .iter()
                    .map(|name| self.group_field(name, origin))
                    .collect();
                let mut by = vec![WINDOW_FIELD.to_string()];
                by.extend(fields.iter().cloned());
                if !fields.is_empty() {
                    // Events missing a group field are not grouped.
                    let present: Vec<String> = fields
                        .iter()
                        .map(|field| format!("isnotnull({field})"))
                        .collect();
                    lines.push(format!("| where {}", present.join(" AND ")));
                }
                lines.push(format!("| stats {} by {}", stats.join(", "), by.join(", ")));
                identity.extend(fields.iter().cloned());
                fields
            }
            sets => {
                self.grouping_sets(sets, &stats, lines, origin);
                identity.push("tripline_group".to_string());
                vec!["tripline_group".to_string()]
            }
        };
        lines.push(format!(
            "| eval tripline_until = floor((now() - {LATENESS_SECONDS}) / {slot}) * {slot}, tripline_window_end = {WINDOW_FIELD} + {bucket}"
        ));
        let printer = CondPrinter {
            condition: plan,
            names: &names,
        };
        let mut helpers = vec!["tripline_until".to_string()];
        let history_seconds = if plan.baselines.is_empty() {
            0
        } else {
            self.history(
                &printer,
                (bucket, slot),
                &group_fields,
                lines,
                &mut helpers,
                origin,
            )
        };
        lines.push(format!(
            "| where tripline_window_end > tripline_until - {slot} AND tripline_window_end <= tripline_until"
        ));
        if !plan.baselines.is_empty() {
            lines.push(format!(
                "| eval {}",
                baseline_means(plan, bucket).join(", ")
            ));
        }
        let mut partition = vec![WINDOW_FIELD.to_string()];
        if several {
            partition.push("tripline_grouping".to_string());
        }
        for (index, percentile) in plan.percentiles.iter().enumerate() {
            percentile_lines(
                &printer,
                percentile,
                index + 1,
                &partition,
                lines,
                &mut helpers,
            );
        }
        let mut condition = printer.boolean(plan.root.as_ref().unwrap_or(&Cond::Bool(false)));
        if !plan.baselines.is_empty() {
            // A group alerts once its own history reaches back the learning
            // period: from the earliest first bucket of its baselines.
            let learn = ceil_seconds(learn_ms);
            let learned: Vec<String> = (1..=plan.baselines.len())
                .map(|number| {
                    format!(
                        "(isnotnull(tripline_baseline_{number}_first) AND {WINDOW_FIELD} - tripline_baseline_{number}_first >= {learn})"
                    )
                })
                .collect();
            let learned = if learned.len() == 1 {
                learned.join("")
            } else {
                format!("({})", learned.join(" OR "))
            };
            condition = format!("{condition} AND {learned}");
        }
        lines.push(format!("| where {condition}"));
        lines.push(format!("| fields - {}", helpers.join(", ")));
        (identity, history_seconds)
    }

    /// `stats` per grouping set: one multivalue key per event, a value per
    /// grouping set the event has every field of: "<set>|<len>:<value>..."
    /// is injective, so `stats` by the key groups exactly as the evaluator's
    /// grouping set does; the set's own fields are read back with values()
    /// (one value per key).
    pub(super) fn grouping_sets(
        &mut self,
        sets: &[Vec<String>],
        stats: &[String],
        lines: &mut Vec<String>,
        origin: Origin,
    ) {
        let mut keys = Vec::new();
        let mut all_fields: Vec<String> = Vec::new();
        let mut per_set: Vec<Vec<String>> = Vec::new();
        for (index, set) in sets.iter().enumerate() {
            let fields: Vec<String> = set
                .iter()
                .map(|name| self.group_field(name, origin))
                .collect();
            let present: Vec<String> = fields
                .iter()
                .map(|field| format!("isnotnull({field})"))
                .collect();
            let mut key = format!("\"{index}|\"");
            for field in &fields {
                key.push_str(&format!(" . len({field}) . \":\" . {field}"));
            }
            if present.is_empty() {
                keys.push(key);
            } else {
                keys.push(format!("if({}, {key}, null())", present.join(" AND ")));
            }
            for field in &fields {
                if !all_fields.contains(field) {
                    all_fields.push(field.clone());
                }
            }
            per_set.push(fields);
        }
        lines.push(format!(
            "| eval tripline_group = mvappend({})",
            keys.join(", ")
        ));
        let mut functions = stats.to_vec();
        for field in &all_fields {
            functions.push(format!("values({field}) AS {field}"));
        }
        lines.push(format!(
            "| stats {} by {WINDOW_FIELD}, tripline_group",
            functions.join(", ")
        ));
        lines.push(
            "| eval tripline_grouping = mvindex(split(tripline_group, \"|\"), 0)".to_string(),
        );
        let mut clears = Vec::new();
        for field in &all_fields {
            let sets_with: Vec<String> = per_set
                .iter()
                .enumerate()
                .filter(|(_, fields)| fields.contains(field))
                .map(|(index, _)| format!("tripline_grouping == \"{index}\""))
                .collect();
            clears.push(format!(
                "{field} = if({}, {field}, null())",
                sets_with.join(" OR ")
            ));
        }
        if !clears.is_empty() {
            lines.push(format!("| eval {}", clears.join(", ")));
        }
    }
}
