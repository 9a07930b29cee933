//! The splunk_spl printer of the stateful shapes (baseline, percentile, new
//! value) on rules written here: the searches' key steps, the stanza's time
//! range and schedule, and the refusals. The shipped rules' full searches
//! are in the compile snapshots; these tests pin what makes them exact.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod one_rule;

use tripline::targets::Target;

/// The `savedsearches.conf` stanza of one rule written in `body`, or the
/// refusal messages.
fn compile(name: &str, body: &str) -> Result<String, Vec<String>> {
    one_rule::compile("splunk_spl", name, "low", body).map(|artifacts| artifacts[0].text.clone())
}

fn search_lines(stanza: &str) -> Vec<String> {
    let start = stanza.find("search = ").unwrap();
    let end = stanza[start..].find("\nenableSched").unwrap() + start;
    stanza[start + "search = ".len()..end]
        .lines()
        .map(|line| line.trim_end_matches(" \\").to_string())
        .collect()
}

fn key(stanza: &str, name: &str) -> String {
    stanza
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} = ")))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_percentile_is_an_exact_rank_within_the_bucket() {
    let stanza = compile(
        "percentile",
        "  match inference where user_input contains \"developer mode\"\n  group by session_id within 7d\n  alert when count() > percentile(count(), 99) and count() >= 2",
    )
    .expect("compiles");
    let lines = search_lines(&stanza);
    let text = lines.join("\n");
    // Never an estimating or interpolating function.
    for function in ["perc(", "median(", "p99("] {
        assert!(!text.contains(function), "{text}");
    }
    let expected = [
        "| eval tripline_percentile_1_input = tripline_aggregate_1, tripline_percentile_1_counted = if(isnotnull(tripline_percentile_1_input), 1, 0)",
        "| sort 0 tripline_window_start, num(tripline_percentile_1_input)",
        "| accum tripline_percentile_1_counted AS tripline_percentile_1_position",
        "| eval tripline_percentile_1_before = tripline_percentile_1_position - tripline_percentile_1_counted",
        "| eventstats min(tripline_percentile_1_before) AS tripline_percentile_1_offset, sum(tripline_percentile_1_counted) AS tripline_percentile_1_groups by tripline_window_start",
        "| eval tripline_percentile_1_pick = if(tripline_percentile_1_counted == 1 AND tripline_percentile_1_position - tripline_percentile_1_offset - 1 == floor(exact((tripline_percentile_1_groups - 1) * 99.0 / 100)), tripline_percentile_1_input, null())",
        "| eventstats max(tripline_percentile_1_pick) AS tripline_percentile_1 by tripline_window_start",
        "| where ((isnotnull(tripline_aggregate_1) AND isnotnull(tripline_percentile_1) AND tripline_aggregate_1 > tripline_percentile_1) AND (isnotnull(tripline_aggregate_1) AND tripline_aggregate_1 >= 2))",
    ];
    let mut from = 0;
    for line in expected {
        let at = lines[from..]
            .iter()
            .position(|found| found == line)
            .unwrap_or_else(|| panic!("missing or out of order: {line}\n{text}"));
        from += at + 1;
    }
    // The ranks are taken after the run's one reported bucket is selected.
    let selected = lines
        .iter()
        .position(|line| line.starts_with("| where tripline_window_end >"))
        .unwrap();
    let sorted = lines
        .iter()
        .position(|line| line.starts_with("| sort 0"))
        .unwrap();
    assert!(selected < sorted, "{text}");
    // A daily schedule over weekly windows: the window rule's time range.
    assert_eq!(key(&stanza, "cron_schedule"), "10 0 * * *");
    assert_eq!(
        key(&stanza, "dispatch.earliest_time"),
        format!("-{}s", 2 * 86_400 + 604_800 + 300)
    );
    assert_eq!(
        key(&stanza, "alert.suppress.fields"),
        "tripline_window_start,session_id"
    );
}

#[test]
fn a_percentile_over_grouping_sets_ranks_within_each_set() {
    let stanza = compile(
        "percentile_sets",
        "  match inference\n  group by each (session_id), (api_key_id) within 1d\n  alert when count() > percentile(count(), 50)",
    )
    .expect("compiles");
    assert!(
        stanza.contains(
            "| sort 0 tripline_window_start, tripline_grouping, num(tripline_percentile_1_input)"
        ),
        "{stanza}"
    );
    assert!(
        stanza.contains("AS tripline_percentile_1 by tripline_window_start, tripline_grouping"),
        "{stanza}"
    );
}

#[test]
fn a_baseline_reads_its_span_and_learns_before_alerting() {
    let stanza = compile(
        "baseline",
        "  schedule: 1h\n  match inference\n  group by app within 1h\n  alert when count() >= 2.5 * baseline(count(), 2d)",
    )
    .expect("compiles");
    let text = search_lines(&stanza).join("\n");
    for expected in [
        "| eval tripline_alerting_start = floor(tripline_until / 3600) * 3600 - 3600",
        "| where tripline_window_start >= tripline_alerting_start - 172800 AND tripline_window_start <= tripline_alerting_start",
        "| eventstats min(tripline_baseline_1_bucket) AS tripline_baseline_1_first, count(tripline_baseline_1_bucket) AS tripline_baseline_1_active, sum(tripline_baseline_1_input) AS tripline_baseline_1_sum, count(tripline_baseline_1_input) AS tripline_baseline_1_values by app",
        // Quiet hours count as 0: the empty buckets between the first and the reported one.
        "tripline_baseline_1_empty = exact((tripline_window_start - tripline_baseline_1_first) / 3600 - tripline_baseline_1_active)",
        "exact(coalesce(tripline_baseline_1_sum, 0) / (tripline_baseline_1_values + tripline_baseline_1_empty))",
        // Splunk rounds products to significant figures unless exact().
        "tripline_aggregate_1 >= exact(2.5 * tripline_baseline_1)",
        "tripline_window_start - tripline_baseline_1_first >= 86400",
    ] {
        assert!(text.contains(expected), "missing {expected}\n{text}");
    }
    // Span, window, two slots and the lateness bound.
    assert_eq!(
        key(&stanza, "dispatch.earliest_time"),
        format!("-{}s", 172_800 + 3_600 + 2 * 3_600 + 300)
    );
    assert_eq!(key(&stanza, "cron_schedule"), "10 * * * *");
}

#[test]
fn a_baseline_of_a_ratio_skips_buckets_without_a_value() {
    let stanza = compile(
        "ratio",
        "  schedule: 1h\n  match inference, policy_refusal\n  group by app within 1h\n  alert when count(where event_type == \"policy_refusal\") / count() >= baseline(count(where event_type == \"policy_refusal\") / count(), 7d)",
    )
    .expect("compiles");
    assert!(
        stanza.contains("if(tripline_aggregate_2 == 0, null(), exact(tripline_aggregate_1 / tripline_aggregate_2))"),
        "{stanza}"
    );
    // No empty value: the mean of the values only.
    assert!(
        stanza.contains("exact(tripline_baseline_1_sum / tripline_baseline_1_values)"),
        "{stanza}"
    );
    assert!(!stanza.contains("tripline_baseline_1_empty ="), "{stanza}");
}

#[test]
fn a_baseline_on_a_schedule_longer_than_its_window_is_refused() {
    // Low severity runs daily; hourly windows would give one run 24
    // windows with different histories.
    let problems = compile(
        "slow",
        "  match inference\n  group by app within 1h\n  alert when count() >= 2 * baseline(count(), 7d)",
    )
    .expect_err("refused");
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("schedules no longer than the window")),
        "{problems:?}"
    );
}

#[test]
fn a_new_value_streams_sightings_in_processing_order() {
    let stanza = compile(
        "new_value",
        "  schedule: 5m\n  match auth where outcome == \"success\"\n  new geo_country, src_ip for user_id lookback 10d",
    )
    .expect("compiles");
    let lines = search_lines(&stanza);
    let text = lines.join("\n");
    assert!(!text.contains("streamstats"), "{text}");
    let expected = [
        "| where isnotnull(user_id) AND isnotnull(geo_country) AND isnotnull(src_ip)",
        "| fields _time, event_id, user_id, geo_country, src_ip",
        "| eval tripline_time_ms = round(exact(_time * 1000)), tripline_key = len(user_id) . \":\" . user_id, tripline_value = tripline_key . len(geo_country) . \":\" . geo_country . len(src_ip) . \":\" . src_ip",
        "| sort 0 str(tripline_value), num(tripline_time_ms), str(event_id)",
        "| autoregress tripline_value AS tripline_previous_value",
        "| autoregress tripline_time_ms AS tripline_previous_ms",
        "| mvexpand tripline_copy",
        "| eval tripline_at_ms = if(tripline_copy == \"ripe\", tripline_time_ms + 86400000, tripline_time_ms), tripline_ripe_key = if(tripline_copy == \"ripe\", tripline_key, null()), tripline_ripe_ms = if(tripline_copy == \"ripe\", tripline_time_ms, null())",
        "| sort 0 str(tripline_key), num(tripline_at_ms), str(tripline_copy)",
        "| filldown tripline_ripe_key tripline_ripe_ms",
        "| where tripline_copy == \"sighting\"",
        "| where floor(_time / 300) == floor((now() - 300) / 300) - 1",
        "| where if(isnull(tripline_value_seen_ms), true(), tripline_value_seen_ms < tripline_time_ms - 864000000) AND tripline_ripe_key == tripline_key AND tripline_ripe_ms >= tripline_time_ms - 864000000",
    ];
    let mut from = 0;
    for line in expected {
        let at = lines[from..]
            .iter()
            .position(|found| found == line)
            .unwrap_or_else(|| panic!("missing or out of order: {line}\n{text}"));
        from += at + 1;
    }
    // The lookback before the reported slot, and one alert per event.
    assert_eq!(
        key(&stanza, "dispatch.earliest_time"),
        format!("-{}s", 2 * 300 + 864_000 + 300)
    );
    assert_eq!(key(&stanza, "cron_schedule"), "*/5 * * * *");
    assert_eq!(key(&stanza, "alert.suppress"), "0");
}

#[test]
fn the_capabilities_include_the_stateful_shapes() {
    let target = tripline::targets::splunk_spl::SplunkSpl;
    for need in [
        tripline::ir::Need::Baseline,
        tripline::ir::Need::Percentile,
        tripline::ir::Need::NewValue,
        tripline::ir::Need::Arithmetic,
    ] {
        assert!(target.supports(need), "{need:?}");
    }
}
