//! Ordered sequences in SPL, and the cluster shape's fingerprint bands.

use super::*;

impl Printer<'_> {
    /// A cluster's fingerprint: one multivalue field, `tripline_fingerprint`,
    /// holding the event's band keys (see `docs/language.md`, `cluster`),
    /// which the window then groups by. `stats ... by` a multivalue field
    /// puts the event in the group of each of its values, as the grouping
    /// sets already rely on, so an event joins one group per band without
    /// `mvexpand` (and its memory bound).
    ///
    /// Each step is a documented function with no approximation:
    /// - the length is `len()`, which counts UTF-8 code points
    ///   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/10.0/evaluation-functions/text-functions>),
    ///   the language's characters;
    /// - the words are every match of `[A-Za-z0-9]{3,}`, left to right and
    ///   without overlap: `rex max_match=0` (0 is no limit) makes the named
    ///   group a multivalue field
    ///   (<https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/rex>);
    ///   the class is ASCII, so PCRE's mode does not matter, and each word
    ///   is lowercased after extraction (never the text: `K` U+212A would
    ///   become an ASCII `k`);
    /// - `mvmap` (Splunk 8.0 and later) applies `lower`, `md5` and `substr`
    ///   to each value, `mvdedup` keeps distinct values, `mvsort` sorts
    ///   lexicographically, which for fixed-width lowercase hex is numeric
    ///   order, `mvindex` keeps the first r (its end index kept in range),
    ///   `mvjoin` joins and `mvappend` collects the bands
    ///   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/evaluation-functions/multivalue-eval-functions>);
    /// - `md5` returns the hex digest
    ///   (<https://help.splunk.com/splunk-enterprise/search/spl2-search-reference/evaluation-functions/cryptographic-functions>);
    ///   it is lowercased, as the key's digits are, whatever case it has.
    ///
    /// An event without a word has no fingerprint and is dropped before any
    /// band, so no band key is ever empty.
    pub(super) fn fingerprint(
        &mut self,
        fingerprint: &plan::Fingerprint,
        lines: &mut Vec<String>,
        origin: Origin,
    ) {
        let field = self.field(&fingerprint.field, origin);
        let mut tests = vec![format!("isnotnull({field})")];
        if let Some(FingerprintStep::MinLength(minimum)) = fingerprint.length_step() {
            tests.push(format!("len({field}) >= {minimum}"));
        }
        lines.push(format!("| where {}", tests.join(" AND ")));
        let text = if plain_term(&field) {
            field
        } else {
            lines.push(format!("| eval {FINGERPRINT_TEXT} = {field}"));
            FINGERPRINT_TEXT.to_string()
        };
        let mut bands = Vec::new();
        let mut keys = Vec::new();
        for band in 0..fingerprint.bands() {
            match fingerprint_band(fingerprint, band) {
                Ok((pattern, slices, key)) => {
                    if band == 0 {
                        lines.push(format!(
                            "| rex field={text} max_match=0 \"(?<{FINGERPRINT_WORD}>{pattern})\""
                        ));
                        lines.push(format!("| where isnotnull({FINGERPRINT_WORD})"));
                        lines.push(format!(
                            "| eval {FINGERPRINT_WORD} = mvdedup(mvmap({FINGERPRINT_WORD}, lower({FINGERPRINT_WORD})))"
                        ));
                        lines.push(format!(
                            "| eval {FINGERPRINT_HASH} = mvmap({FINGERPRINT_WORD}, lower(md5({FINGERPRINT_WORD})))"
                        ));
                    }
                    bands.push(format!("tripline_band_{} = {slices}", band + 1));
                    keys.push(key);
                }
                Err(reason) => {
                    self.fail(origin, reason);
                    return;
                }
            }
        }
        lines.push(format!("| eval {}", bands.join(", ")));
        lines.push(format!(
            "| eval {FINGERPRINT_FIELD} = mvappend({})",
            keys.join(", ")
        ));
        self.computed = Some((fingerprint.group_name(), FINGERPRINT_FIELD));
    }

    /// A sequence `A repeat >= n; B` by key within W, in the closed form of
    /// [`plan::sequence`] (proved there equal to the evaluator's state
    /// machine, with why reading W before the slot is enough): per key, in
    /// processing order, each A-event's run start is the time of the
    /// A-event n − 1 A-events before it, and a B-event completes when the
    /// event just before it is an A-event whose run started at most W before
    /// it.
    ///
    /// Only commands whose meaning is documented without a window:
    /// `sort 0` (every result, in the order of its fields), `accum` (a
    /// running total: the row's position), and `autoregress`, which copies a
    /// field of the p-th prior result into the current one
    /// (<https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/autoregress>).
    /// Sorting the A-events first (in processing order) makes the p-th prior
    /// result the p-th prior A-event; comparing its key keeps it to the same
    /// key. Then the processing order again, and the prior result is the
    /// event just before. `streamstats` is not used (see docs/targets.md).
    pub(super) fn sequence(
        &mut self,
        form: &plan::sequence::RunThenStep<'_>,
        slot: i64,
        lines: &mut Vec<String>,
        origin: Origin,
    ) {
        if form.repeat > MAX_SEQUENCE_RUN {
            self.fail(
                origin,
                format!(
                    "`repeat >= {}` would copy each of its events into its own field; at most {MAX_SEQUENCE_RUN} are translated",
                    form.repeat
                ),
            );
            return;
        }
        if form.within_ms % 1000 != 0 {
            self.fail(origin, "the span is not a whole number of seconds");
        }
        let mut types = form.run.event_types.clone();
        types.extend(form.last.event_types.iter().cloned());
        self.prefilter(&types, lines, origin);
        let first = self.source_test(form.run, origin);
        let last = self.source_test(form.last, origin);
        let keys: Vec<String> = form
            .by
            .iter()
            .map(|name| self.field(name, origin))
            .collect();
        let event_id = self.field("event_id", origin);
        let present: Vec<String> = keys.iter().map(|key| format!("isnotnull({key})")).collect();
        lines.push(format!(
            "| eval tripline_first_step = if({first}, 1, 0), tripline_last_step = if({last}, 1, 0)"
        ));
        lines.push(format!(
            "| where {} AND (tripline_first_step == 1 OR tripline_last_step == 1)",
            present.join(" AND ")
        ));
        let key_text: Vec<String> = keys
            .iter()
            .map(|key| format!("len({key}) . \":\" . {key}"))
            .collect();
        lines.push(format!(
            "| eval tripline_time_ms = round(exact(_time * 1000)), tripline_key = {}, tripline_event_id = {event_id}",
            key_text.join(" . ")
        ));
        // Processing order: time, then `event_id`, per key; the row number
        // keeps it through the next sort.
        lines.push(
            "| sort 0 str(tripline_key), num(tripline_time_ms), str(tripline_event_id)".to_string(),
        );
        lines.push("| eval tripline_row = 1".to_string());
        lines.push("| accum tripline_row".to_string());
        let back = form.repeat.max(1) - 1;
        let mut run_ids: Vec<String> = (1..=back)
            .rev()
            .map(|offset| format!("tripline_event_id_p{offset}"))
            .collect();
        run_ids.push("tripline_event_id".to_string());
        if back == 0 {
            lines.push(
                "| eval tripline_run_start_ms = if(tripline_first_step == 1, tripline_time_ms, null())"
                    .to_string(),
            );
        } else {
            // The first-step events first, in processing order: the p-th
            // prior result of one is the p-th prior first-step event.
            lines.push("| sort 0 -num(tripline_first_step), num(tripline_row)".to_string());
            lines.push(format!(
                "| autoregress tripline_key AS tripline_run_key p={back}"
            ));
            lines.push(format!(
                "| autoregress tripline_time_ms AS tripline_run_start_ms p={back}"
            ));
            lines.push(if back == 1 {
                "| autoregress tripline_event_id AS tripline_event_id_p1 p=1".to_string()
            } else {
                format!("| autoregress tripline_event_id p=1-{back}")
            });
            lines.push(
                "| eval tripline_run_start_ms = if(tripline_first_step == 1 AND tripline_run_key == tripline_key, tripline_run_start_ms, null())"
                    .to_string(),
            );
            lines.push("| sort 0 num(tripline_row)".to_string());
        }
        // The event just before, in processing order.
        lines.push("| autoregress tripline_key AS tripline_previous_key".to_string());
        lines.push("| autoregress tripline_first_step AS tripline_previous_first".to_string());
        lines.push("| autoregress tripline_run_start_ms AS tripline_first_ms".to_string());
        let mut carried = Vec::new();
        for (index, field) in run_ids.iter().enumerate() {
            let name = format!("tripline_run_event_{}", index + 1);
            lines.push(format!("| autoregress {field} AS {name}"));
            carried.push(name);
        }
        lines.push(format!(
            "| where tripline_last_step == 1 AND tripline_previous_key == tripline_key AND tripline_previous_first == 1 AND tripline_first_ms >= tripline_time_ms - {}",
            form.within_ms
        ));
        lines.push(slot_filter(slot));
        lines.push(format!(
            "| eval tripline_first_seen = tripline_first_ms / 1000, tripline_last_seen = _time, tripline_event_ids = mvappend({}, tripline_event_id)",
            carried.join(", ")
        ));
        let mut helpers = vec![
            "tripline_first_step",
            "tripline_last_step",
            "tripline_time_ms",
            "tripline_key",
            "tripline_event_id",
            "tripline_row",
            "tripline_run_start_ms",
            "tripline_previous_key",
            "tripline_previous_first",
            "tripline_first_ms",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        if back > 0 {
            helpers.push("tripline_run_key".to_string());
            helpers.extend(run_ids.iter().filter(|id| id.contains("_p")).cloned());
        }
        helpers.extend(carried);
        lines.push(format!("| fields - {}", helpers.join(", ")));
    }
}
