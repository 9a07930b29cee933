//! Windows judged against their history in ES|QL: baselines, exact-rank
//! percentiles, and new values.

use super::*;

impl<'a> Query<'a> {
    /// Baselines: the window judged in this run and, per group, its earlier
    /// windows within each lookback, in a second `STATS` by group.
    ///
    /// Exact because the schedule `S` is no longer than the window `W`: the
    /// windows ending in the slot `(U - S, U]` are at most one, the last
    /// window that ended by `U`, which starts at `U / W * W - W`; when it
    /// ended at or before `U - S`, an earlier run judged it and this run
    /// judges nothing. So every group's history is the same range of earlier
    /// windows, `[judged - span, judged)`, and one `STATS` by group computes
    /// it: the first such window with events, the sum and number of the
    /// expression's values, and the number of windows with events; windows
    /// without events in between count with the expression's empty value.
    /// Returns the learning-period test: the group's first window in the span
    /// is at least the learning period before the judged one.
    /// The judged window's own aggregates are picked with per-aggregate
    /// `WHERE` (Elasticsearch 8.16+;
    /// https://www.elastic.co/docs/reference/query-languages/esql/commands/stats-by).
    /// `STATS` groups null keys (the fields outside a grouping set) as one
    /// value, which a join (`INLINE STATS`) is not documented to do.
    pub(super) fn history(
        &mut self,
        commands: &mut Vec<String>,
        dropped: &mut Vec<String>,
        condition: &Condition,
        names: &[String],
        group: &[String],
        w: i64,
    ) -> String {
        let s = self.schedule_ms;
        commands.push(format!(
            "EVAL tripline_slot_end_ms = (TO_LONG(NOW()) - {LATENESS_MS}) / {s} * {s}"
        ));
        commands.push(format!(
            "EVAL tripline_judged_start_ms = tripline_slot_end_ms / {w} * {w} - {w}"
        ));
        commands.push(format!(
            "WHERE tripline_judged_start_ms + {w} > tripline_slot_end_ms - {s}"
        ));
        let several = condition.baselines.len() > 1;
        let earlier = |number: usize| {
            if several {
                format!("tripline_is_earlier_{number}")
            } else {
                "tripline_is_earlier".to_string()
            }
        };
        let mut flags = vec![
            "tripline_is_judged = tripline_window_start_ms == tripline_judged_start_ms".to_string(),
        ];
        let mut inners = Vec::new();
        let mut values = Vec::new();
        for (index, baseline) in condition.baselines.iter().enumerate() {
            let number = index + 1;
            flags.push(format!(
                "{} = tripline_window_start_ms < tripline_judged_start_ms AND tripline_window_start_ms >= tripline_judged_start_ms - {}",
                earlier(number),
                baseline.span_ms
            ));
            let inner = self.value(&baseline.inner, condition, names);
            // A computed expression gets its own column, summed and counted below.
            let value = if matches!(baseline.inner, Cond::Leaf(_)) {
                inner
            } else {
                inners.push(format!("baseline_{number}_of = {inner}"));
                format!("baseline_{number}_of")
            };
            values.push(value);
        }
        commands.push(format!("EVAL {}", flags.join(", ")));
        if !inners.is_empty() {
            commands.push(format!("EVAL {}", inners.join(", ")));
        }
        let mut stats =
            vec!["tripline_judged_windows = COUNT(*) WHERE tripline_is_judged".to_string()];
        for name in names {
            stats.push(format!("{name} = MAX({name}) WHERE tripline_is_judged"));
        }
        for (index, (baseline, value)) in condition.baselines.iter().zip(&values).enumerate() {
            let number = index + 1;
            let within = format!("WHERE {}", earlier(number));
            // Summed as doubles, as the evaluator does: a long sum could overflow.
            let sum = if self.is_double(&baseline.inner, condition) {
                value.clone()
            } else {
                format!("TO_DOUBLE({value})")
            };
            stats.push(format!(
                "baseline_{number}_first = MIN(tripline_window_start_ms) {within}"
            ));
            stats.push(format!("baseline_{number}_sum = SUM({sum}) {within}"));
            stats.push(format!(
                "baseline_{number}_values = COUNT({value}) {within}"
            ));
            stats.push(format!("baseline_{number}_windows = COUNT(*) {within}"));
        }
        let mut by = vec![
            "tripline_judged_start_ms".to_string(),
            "tripline_slot_end_ms".to_string(),
        ];
        by.extend(group.iter().cloned());
        commands.push(format!("STATS {} BY {}", stats.join(", "), by.join(", ")));
        commands.push("WHERE tripline_judged_windows > 0".to_string());
        commands.push("RENAME tripline_judged_start_ms AS tripline_window_start_ms".to_string());
        commands.push(format!(
            "EVAL tripline_window_end_ms = tripline_window_start_ms + {w}"
        ));
        dropped.push("tripline_judged_windows".to_string());
        let mut quiet = Vec::new();
        let mut means = Vec::new();
        let mut learned = Vec::new();
        for (index, baseline) in condition.baselines.iter().enumerate() {
            let name = format!("baseline_{}", index + 1);
            for part in ["first", "sum", "values", "windows"] {
                dropped.push(format!("{name}_{part}"));
            }
            let mean = match baseline.empty {
                // Windows without events count, with the expression's value on no events.
                Some(empty) => {
                    quiet.push(format!(
                        "{name}_quiet = (tripline_window_start_ms - {name}_first) / {w} - {name}_windows"
                    ));
                    dropped.push(format!("{name}_quiet"));
                    let total = if empty == 0.0 {
                        format!("COALESCE({name}_sum, 0.0)")
                    } else {
                        let empty = decimal_number_or_bool(&Value::Float(empty))
                            .unwrap_or_else(|| self.fail("the empty value is not a finite number"));
                        format!("(COALESCE({name}_sum, 0.0) + {empty} * {name}_quiet)")
                    };
                    format!(
                        "CASE({name}_values + {name}_quiet > 0, {total} / ({name}_values + {name}_quiet))"
                    )
                }
                // Windows where the expression has no value are skipped.
                None => format!("CASE({name}_values > 0, {name}_sum / {name}_values)"),
            };
            means.push(format!("{name} = {mean}"));
            // A group alerts once its own history reaches back the learning period.
            learned.push(format!(
                "tripline_window_start_ms - {name}_first >= {}",
                self.learn_ms
            ));
        }
        if !quiet.is_empty() {
            commands.push(format!("EVAL {}", quiet.join(", ")));
        }
        commands.push(format!("EVAL {}", means.join(", ")));
        any_of(learned)
    }

    /// A percentile across the groups of each judged window (and grouping
    /// set), by exact rank: the value at rank `r = floor((N - 1) * P / 100)`
    /// of the N values ascending is the smallest value `v` with more than
    /// `r` values at most `v`. Each group row is paired with every distinct
    /// value of its window (`VALUES`, then `MV_EXPAND`), `INLINE STATS`
    /// counts per distinct value the groups at most it and then takes the
    /// smallest value whose count exceeds the rank, and the row paired with
    /// that value is kept, one per group again. Nothing is estimated
    /// (`PERCENTILE` is); the cost is groups × distinct values rows.
    /// `INLINE STATS` (Elasticsearch 9.3 GA, 9.2 preview) adds a group's
    /// aggregates to each of its rows and needs no `LIMIT` before it:
    /// https://www.elastic.co/docs/reference/query-languages/esql/commands/inlinestats-by;
    /// its keys here are never null (window start, grouping set, a value).
    pub(super) fn percentile(
        &mut self,
        commands: &mut Vec<String>,
        dropped: &mut Vec<String>,
        condition: &Condition,
        names: &[String],
        index: usize,
        bucket: &str,
    ) {
        let percentile = &condition.percentiles[index];
        let number = index + 1;
        let name = format!("percentile_{number}");
        let helper = format!("tripline_percentile_{number}");
        let inner = self.value(&percentile.inner, condition, names);
        let value = if matches!(percentile.inner, Cond::Leaf(_)) {
            inner
        } else {
            commands.push(format!("EVAL {helper}_of = {inner}"));
            dropped.push(format!("{helper}_of"));
            format!("{helper}_of")
        };
        let p = decimal_number_or_bool(&Value::Float(percentile.percentile.clamp(0.0, 100.0)))
            .unwrap_or_else(|| self.fail("the percentile is not a number"));
        commands.push(format!(
            "INLINE STATS {helper}_groups = COUNT({value}), {helper}_candidate = VALUES({value}) BY {bucket}"
        ));
        commands.push(format!("MV_EXPAND {helper}_candidate"));
        commands.push(format!(
            "INLINE STATS {helper}_at_most = COUNT(*) WHERE {value} <= {helper}_candidate BY {bucket}, {helper}_candidate"
        ));
        commands.push(format!(
            "INLINE STATS {name} = MIN({helper}_candidate) WHERE {helper}_at_most > FLOOR(({helper}_groups - 1) * {p} / 100.0) BY {bucket}"
        ));
        // No group with a value: one row per group, no percentile.
        commands.push(format!(
            "WHERE {helper}_candidate == {name} OR {name} IS NULL"
        ));
        for part in ["groups", "candidate", "at_most"] {
            dropped.push(format!("{helper}_{part}"));
        }
    }

    /// A new value, judged per key and value over the events of this run's
    /// slot `(U - S, U]`. The first such event in processing order alerts
    /// when (a) no event of the key and value at or before the slot start
    /// lies within the lookback before it (later events of the slot have
    /// that first one within the lookback, so they never alert), and (b)
    /// the key was seen within `[t - lookback, t - learn]`: the latest
    /// sighting at or before `U - S - learn` reaches back far enough, or the
    /// earliest sighting after it is at most `t - learn` (it is then within
    /// the lookback, which is at least the schedule plus the learning
    /// period). Sightings of a key span its values, so they are combined by
    /// `INLINE STATS` per key (keys are never null here).
    /// https://www.elastic.co/docs/reference/query-languages/esql/commands/inlinestats-by
    pub(super) fn new_value(
        &mut self,
        indexes: &str,
        source: &'a Source,
        key: &[String],
        values: &[String],
        lookback_ms: i64,
    ) -> (String, i64) {
        let s = self.schedule_ms;
        let learn = self.learn_ms;
        if s <= 0 || learn <= 0 || lookback_ms <= 0 {
            let message = "the schedule, the learning period and the lookback must be positive";
            return (self.fail(message), 0);
        }
        if lookback_ms < s + learn {
            let message = format!(
                "the lookback ({}) is shorter than the schedule plus the learning period ({} + {}): a run could not tell which sightings of the key are old enough",
                duration_text(lookback_ms),
                duration_text(s),
                duration_text(learn)
            );
            return (self.fail(message), 0);
        }
        let key_fields: Vec<String> = key.iter().map(|field| self.field(source, field)).collect();
        let value_fields: Vec<String> = values
            .iter()
            .map(|field| self.field(source, field))
            .collect();
        // Events missing a key or value field are ignored.
        let present: Vec<String> = key_fields
            .iter()
            .chain(&value_fields)
            .map(|field| format!("{field} IS NOT NULL"))
            .collect();
        let filter = self.source(source, &present).0;
        let time = self.field(source, "timestamp");
        let by: Vec<String> = key_fields.iter().chain(&value_fields).cloned().collect();
        let mut commands = vec![format!("FROM {indexes}")];
        commands.extend(filter);
        commands.extend([
            format!("EVAL tripline_time_ms = TO_LONG({time})"),
            format!(
                "EVAL tripline_slot_end_ms = (TO_LONG(NOW()) - {LATENESS_MS}) / {s} * {s}"
            ),
            format!("EVAL tripline_slot_start_ms = tripline_slot_end_ms - {s}"),
            format!(
                "STATS tripline_first_ms = MIN(tripline_time_ms) WHERE tripline_time_ms > tripline_slot_start_ms AND tripline_time_ms <= tripline_slot_end_ms, \
                 tripline_value_seen_ms = MAX(tripline_time_ms) WHERE tripline_time_ms <= tripline_slot_start_ms, \
                 tripline_seen_until_ms = MAX(tripline_time_ms) WHERE tripline_time_ms <= tripline_slot_start_ms - {learn}, \
                 tripline_seen_after_ms = MIN(tripline_time_ms) WHERE tripline_time_ms > tripline_slot_start_ms - {learn} \
                 BY {}",
                by.join(", ")
            ),
            format!(
                "INLINE STATS tripline_key_seen_until_ms = MAX(tripline_seen_until_ms), tripline_key_seen_after_ms = MIN(tripline_seen_after_ms) BY {}",
                key_fields.join(", ")
            ),
            "WHERE tripline_first_ms IS NOT NULL".to_string(),
            format!(
                "WHERE tripline_value_seen_ms IS NULL OR tripline_value_seen_ms < tripline_first_ms - {lookback_ms}"
            ),
            format!(
                "WHERE tripline_key_seen_until_ms >= tripline_first_ms - {lookback_ms} OR tripline_key_seen_after_ms <= tripline_first_ms - {learn}"
            ),
            "EVAL tripline_first_seen = TO_DATETIME(tripline_first_ms)".to_string(),
            "DROP tripline_first_ms, tripline_value_seen_ms, tripline_seen_until_ms, tripline_seen_after_ms, tripline_key_seen_until_ms, tripline_key_seen_after_ms".to_string(),
        ]);
        (pipeline(&commands), lookback_ms + 2 * s + LATENESS_MS)
    }
}
