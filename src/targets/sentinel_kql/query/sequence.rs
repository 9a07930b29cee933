//! Ordered sequences in KQL, with the EQL consumption rule.

use super::*;

impl Printer<'_> {
    /// A sequence `A repeat >= n; B` by key within W, in the closed form of
    /// [`plan::sequence`] (where it is proved equal to the evaluator's state
    /// machine): per key, in processing order, each A-event's run start is
    /// the time of the A-event n − 1 A-events before it; a B-event completes
    /// when the event just before it is an A-event whose run started at most
    /// W before it. `sort` makes its output serialized, so `prev()` reads the
    /// previous row of the sorted set
    /// (<https://learn.microsoft.com/azure/data-explorer/kusto/query/sort-operator>,
    /// <https://learn.microsoft.com/azure/data-explorer/kusto/query/prev-function>);
    /// comparing the key of that row keeps it to the same key. `scan` is not
    /// needed: the closed form has no state beyond the previous rows.
    ///
    /// The run alerts for the B-events of its slot, `(now() - 5m -
    /// frequency, now() - 5m]`, and reads W before the slot (the period), so
    /// every condition sees what it needs: see "Scheduled searches" in
    /// [`plan::sequence`]. Events at the same time are ordered by `EventId`,
    /// as the evaluator orders them.
    pub(super) fn sequence(
        &mut self,
        table: &str,
        form: &plan::sequence::RunThenStep<'_>,
        frequency_ms: i64,
    ) -> Body {
        let (time, _) = self.column("timestamp");
        let Some(event_id) = self.mapping.field("event_id") else {
            self.fail("a sequence orders events of the same time by `event_id`, which has no column for this target");
            return Body {
                text: String::new(),
                group_columns: Vec::new(),
                value_columns: Vec::new(),
                all_columns: true,
            };
        };
        let event_id = super::super::quote::column_reference(&event_id.name);
        if form.repeat > MAX_SEQUENCE_RUN {
            self.fail(format!(
                "`repeat >= {}` would name each of its events in the query; at most {MAX_SEQUENCE_RUN} are translated",
                form.repeat
            ));
        }
        let keys: Vec<String> = form.by.iter().map(|field| self.column(field).0).collect();
        let present: Vec<String> = form.by.iter().map(|field| self.presence(field)).collect();
        let mut steps = [self.source(form.run), self.source(form.last)];
        let patterns = hoist_repeated_patterns(&mut steps);
        let [first, last] = steps;
        let mut order: Vec<String> = keys.iter().map(|key| format!("{key} asc")).collect();
        order.push(format!("{time} asc"));
        order.push(format!("{event_id} asc"));
        let order = order.join(", ");
        let back = form.repeat.clamp(1, MAX_SEQUENCE_RUN) - 1;
        let mut lines = vec![
            format!("let Within = {};", duration_text(form.within_ms)),
            format!(
                "let CompletedBefore = now() - {};",
                duration_text(LATENESS_MS)
            ),
            format!(
                "let CompletedAfter = CompletedBefore - {};",
                duration_text(frequency_ms)
            ),
        ];
        lines.extend(patterns);
        lines.extend([
            format!("let Steps = materialize({table}"),
            format!("    | where {}", present.join(" and ")),
            format!("    | extend FirstStep = {first}, LastStep = {last}"),
            "    | where FirstStep or LastStep);".to_string(),
        ]);
        if back == 0 {
            lines.push("// Each first-step event is a run of one.".to_string());
            lines.push("let Runs = Steps".to_string());
            lines.push("    | where FirstStep".to_string());
            lines.push(format!(
                "    | extend RunStart = {time}, RunEventIds = pack_array({event_id});"
            ));
        } else {
            let same: Vec<String> = keys
                .iter()
                .map(|key| format!("prev({key}, {back}) == {key}"))
                .collect();
            let mut ids: Vec<String> = (1..=back)
                .rev()
                .map(|offset| format!("prev({event_id}, {offset})"))
                .collect();
            ids.push(event_id.clone());
            lines.push(format!(
                "// Each first-step event ends a run of {} of its key, which starts at the first-step event {back} before it.",
                form.repeat
            ));
            lines.push("let Runs = Steps".to_string());
            lines.push("    | where FirstStep".to_string());
            lines.push(format!("    | sort by {order}"));
            lines.push(format!(
                "    | extend RunStart = iff({}, prev({time}, {back}), datetime(null)),",
                same.join(" and ")
            ));
            lines.push(format!(
                "        RunEventIds = pack_array({});",
                ids.join(", ")
            ));
        }
        let previous: Vec<String> = keys
            .iter()
            .map(|key| format!("prev({key}) == {key}"))
            .collect();
        lines.extend([
            "Runs".to_string(),
            "| union (Steps | where not(FirstStep))".to_string(),
            format!("| sort by {order}"),
            "// A last-step event completes a sequence when the event just before it (same key) ends a run that started within the span.".to_string(),
            format!(
                "| extend FirstSeen = iff({} and prev(FirstStep), prev(RunStart), datetime(null)),",
                previous.join(" and ")
            ),
            format!("    EventIds = array_concat(prev(RunEventIds), pack_array({event_id}))"),
            format!("| where LastStep and FirstSeen >= {time} - Within"),
            format!("| where {time} > CompletedAfter and {time} <= CompletedBefore"),
            format!("| extend LastSeen = {time}"),
            "| project-away FirstStep, LastStep, RunStart, RunEventIds".to_string(),
        ]);
        let text = lines.join("\n");
        Body {
            text,
            group_columns: keys,
            value_columns: vec![
                "FirstSeen".to_string(),
                "LastSeen".to_string(),
                "EventIds".to_string(),
            ],
            all_columns: true,
        }
    }
}
