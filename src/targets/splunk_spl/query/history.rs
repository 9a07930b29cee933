//! Windows judged against their history in SPL: baselines, exact-rank
//! percentiles, and new values.

use super::*;

impl Printer<'_> {
    /// The history of each baseline over the group's earlier buckets, for
    /// the one bucket this run can report. Returns the longest span in
    /// seconds.
    ///
    /// Why it is exact: with the schedule slot S no longer than the window W,
    /// at most one window ends in (U - S, U] (window ends are W apart), so a
    /// run reports at most the bucket starting at A = floor(U / W) * W - W.
    /// Only A's history is needed: the rows of buckets in [A - span, A). The
    /// search reads back 2S + W + span + lateness seconds, which reaches
    /// before A - span whatever the run's delay within its slot, so every
    /// bucket of that range is whole; rows outside it are dropped. Then one
    /// `eventstats` per group gives the first such bucket, the number of
    /// buckets with events, and the sum and number of the expression's
    /// values: `eventstats` adds whole-group statistics to every row without
    /// a window ("Generates summary statistics from fields in your events and
    /// saves those statistics in a new field",
    /// https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/eventstats).
    pub(super) fn history(
        &mut self,
        printer: &CondPrinter<'_>,
        (bucket, slot): (i64, i64),
        group_fields: &[String],
        lines: &mut Vec<String>,
        helpers: &mut Vec<String>,
        origin: Origin,
    ) -> i64 {
        let plan = printer.condition;
        if slot > bucket {
            self.fail(
                origin,
                format!(
                    "a baseline is compiled for schedules no longer than the window: this rule runs every {slot}s over {bucket}s windows, so one run would report several windows whose histories differ; give it `schedule` {bucket}s or less"
                ),
            );
        }
        let spans: Vec<i64> = plan
            .baselines
            .iter()
            .map(|baseline| ceil_seconds(baseline.span_ms))
            .collect();
        let longest = spans.iter().copied().max().unwrap_or(0);
        lines.push(format!(
            "| eval tripline_alerting_start = floor(tripline_until / {bucket}) * {bucket} - {bucket}"
        ));
        lines.push(format!(
            "| where {WINDOW_FIELD} >= tripline_alerting_start - {longest} AND {WINDOW_FIELD} <= tripline_alerting_start"
        ));
        helpers.push("tripline_alerting_start".to_string());
        let mut evals = Vec::new();
        let mut statistics = Vec::new();
        for (index, (baseline, span)) in plan.baselines.iter().zip(&spans).enumerate() {
            let name = format!("tripline_baseline_{}", index + 1);
            evals.push(format!(
                "{name}_bucket = if({WINDOW_FIELD} >= tripline_alerting_start - {span} AND {WINDOW_FIELD} < tripline_alerting_start, {WINDOW_FIELD}, null())"
            ));
            evals.push(format!(
                "{name}_input = if(isnotnull({name}_bucket), {}, null())",
                printer.value(&baseline.inner)
            ));
            statistics.push(format!("min({name}_bucket) AS {name}_first"));
            statistics.push(format!("count({name}_bucket) AS {name}_active"));
            statistics.push(format!("sum({name}_input) AS {name}_sum"));
            statistics.push(format!("count({name}_input) AS {name}_values"));
            for helper in [
                "bucket", "input", "first", "active", "sum", "values", "empty",
            ] {
                helpers.push(format!("{name}_{helper}"));
            }
        }
        lines.push(format!("| eval {}", evals.join(", ")));
        let by = if group_fields.is_empty() {
            String::new()
        } else {
            format!(" by {}", group_fields.join(", "))
        };
        lines.push(format!("| eventstats {}{by}", statistics.join(", ")));
        longest
    }

    /// New value: every sighting (an event of the source with every key and
    /// value field present) in processing order, `_time` then `event_id`.
    /// A sighting at t alerts when (a) the previous sighting of its key and
    /// value combination in processing order is before t - lookback (or
    /// there is none), and (b) the latest sighting of its key at or before
    /// t - learn is at or after t - lookback.
    ///
    /// Why it is exact, with no window anywhere: `streamstats` is avoided,
    /// because without `window`/`time_window` its documentation applies
    /// `max_stream_window` (10,000 events,
    /// https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/streamstats).
    /// Instead:
    /// - (a) `sort 0` (no result limit: "If 0 is specified, all of the
    ///   results are returned",
    ///   https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/sort)
    ///   by an injective text of the combination, time and `event_id`, both
    ///   texts compared as strings (`str()`: lexicographic, case-sensitive),
    ///   then `autoregress` copies the previous result's combination and time
    ///   ("copying one or more of the previous values for field into each
    ///   event",
    ///   https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/autoregress):
    ///   the previous result of the same combination is its previous sighting.
    /// - (b) every sighting gets a "ripe" copy at its time + learn; sorted by
    ///   key, then time, ripe copies before sightings at equal times, the
    ///   last ripe copy above a sighting (`filldown` of its key and time,
    ///   "Replaces null values with the last non-null value",
    ///   https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/filldown)
    ///   is, when it has the sighting's key, the key's latest sighting at or
    ///   before t - learn.
    ///
    /// Times are compared in whole milliseconds (`round(_time * 1000)`), so
    /// the bounds are exact. The run reports the sightings of one schedule
    /// slot, as match rules do, and reads the lookback before it.
    /// `mvexpand` makes the ripe copies after `fields` has cut each result
    /// to the few fields used, far below its memory bound (500 MB per chunk,
    /// https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/mvexpand).
    pub(super) fn new_value(
        &mut self,
        (key, values): (&[String], &[String]),
        (lookback_ms, learn_ms, slot): (i64, i64, i64),
        lines: &mut Vec<String>,
        origin: Origin,
    ) {
        if learn_ms <= 0 || learn_ms > lookback_ms {
            self.fail(
                origin,
                "a new value needs a learning period between 0 and the lookback",
            );
        }
        let key_fields: Vec<String> = key.iter().map(|name| self.field(name, origin)).collect();
        let value_fields: Vec<String> =
            values.iter().map(|name| self.field(name, origin)).collect();
        let event_id = self.field("event_id", origin);
        let all: Vec<&String> = key_fields.iter().chain(&value_fields).collect();
        let present: Vec<String> = all
            .iter()
            .map(|field| format!("isnotnull({field})"))
            .collect();
        lines.push(format!("| where {}", present.join(" AND ")));
        let mut kept = vec!["_time".to_string(), event_id.clone()];
        for field in &all {
            if !kept.contains(field) {
                kept.push((*field).clone());
            }
        }
        lines.push(format!("| fields {}", kept.join(", ")));
        let text = |fields: &[String]| -> String {
            fields
                .iter()
                .map(|field| format!("len({field}) . \":\" . {field}"))
                .collect::<Vec<_>>()
                .join(" . ")
        };
        lines.push(format!(
            "| eval tripline_time_ms = round(exact(_time * 1000)), tripline_key = {}, tripline_value = tripline_key . {}",
            text(&key_fields),
            text(&value_fields)
        ));
        lines.push(format!(
            "| sort 0 str(tripline_value), num(tripline_time_ms), str({event_id})"
        ));
        lines.push("| autoregress tripline_value AS tripline_previous_value".to_string());
        lines.push("| autoregress tripline_time_ms AS tripline_previous_ms".to_string());
        lines.push(
            "| eval tripline_value_seen_ms = if(tripline_previous_value == tripline_value, tripline_previous_ms, null())"
                .to_string(),
        );
        lines.push("| eval tripline_copy = mvappend(\"ripe\", \"sighting\")".to_string());
        lines.push("| mvexpand tripline_copy".to_string());
        lines.push(format!(
            "| eval tripline_at_ms = if(tripline_copy == \"ripe\", tripline_time_ms + {learn_ms}, tripline_time_ms), tripline_ripe_key = if(tripline_copy == \"ripe\", tripline_key, null()), tripline_ripe_ms = if(tripline_copy == \"ripe\", tripline_time_ms, null())"
        ));
        // "ripe" sorts before "sighting": a copy ripe at t counts for t.
        lines.push(
            "| sort 0 str(tripline_key), num(tripline_at_ms), str(tripline_copy)".to_string(),
        );
        lines.push("| filldown tripline_ripe_key tripline_ripe_ms".to_string());
        lines.push("| where tripline_copy == \"sighting\"".to_string());
        lines.push(slot_filter(slot));
        // `if()` rather than `isnull(seen) OR seen < ...`: what SPL's `OR`
        // makes of a null comparison beside a true operand is not documented.
        lines.push(format!(
            "| where if(isnull(tripline_value_seen_ms), true(), tripline_value_seen_ms < tripline_time_ms - {lookback_ms}) AND tripline_ripe_key == tripline_key AND tripline_ripe_ms >= tripline_time_ms - {lookback_ms}"
        ));
        lines.push(
            "| fields - tripline_time_ms, tripline_key, tripline_value, tripline_previous_value, tripline_previous_ms, tripline_value_seen_ms, tripline_copy, tripline_at_ms, tripline_ripe_key, tripline_ripe_ms"
                .to_string(),
        );
    }
}
