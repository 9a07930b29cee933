#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::cluster::{FingerprintSpelling, word_class};
use super::*;
use crate::check::{CheckOptions, check};
use crate::source::Sources;
use crate::syntax::parse;
use crate::targets::Target;
use crate::targets::elastic_esql::ElasticEsql;

const SCHEMA: &str = r#"
common { timestamp: timestamp required, event_type: string required, event_id: string, app: string, src_ip: ip, api_key_id: string, session_id: string, geo_country: string }
event inference { user_input: string, cost_usd: float }
event policy_refusal { }
"#;

/// The query of a rule with `detection` (and extra metadata), or the problems.
fn esql(metadata: &str, detection: &str) -> Result<Compiled, Vec<String>> {
    esql_mapped(metadata, detection, |_| {})
}

/// [`esql`] with the default mapping changed by `remap`.
fn esql_mapped(
    metadata: &str,
    detection: &str,
    remap: impl FnOnce(&mut Mapping),
) -> Result<Compiled, Vec<String>> {
    let text = format!(
        "{SCHEMA}\nrule t.r {{\n  title: \"T\"\n  description: \"D\"\n  severity: high\n  category: llm_attack\n  {metadata}\n  {detection}\n}}\n"
    );
    let mut sources = Sources::new();
    let id = sources.add("src/targets/elastic_esql/inline.tdl", text.clone());
    let (file, diagnostics) = parse(&text, id);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (pack, diagnostics) = check(&sources, &[(id, file)], &CheckOptions::default());
    let pack = pack.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let mut mapping = ElasticEsql.default_mapping(&pack.schema);
    remap(&mut mapping);
    compile(&pack.rules[0], &pack, &mapping).map_err(|problems| {
        problems
            .into_iter()
            .map(|problem| problem.message)
            .collect()
    })
}

fn lines(compiled: &Compiled) -> Vec<&str> {
    compiled.text.lines().collect()
}

#[test]
fn context_is_sorted_values_and_refused_with_a_baseline() {
    let compiled = esql(
            "",
            "match inference\n  group by src_ip within 1h\n  alert when count() >= 3\n  context app, session_id",
        )
        .unwrap();
    assert!(
            compiled.text.contains(
                "service.name = MV_SORT(VALUES(service.name)), gen_ai.conversation.id = MV_SORT(VALUES(gen_ai.conversation.id)) BY"
            ),
            "{}",
            compiled.text
        );
    let Err(problems) = esql(
        "",
        "match inference\n  group by src_ip within 1h\n  alert when count() >= 2 * baseline(count(), 1d)\n  context app",
    ) else {
        panic!("a baseline rule with context compiled")
    };
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("`context` on a baseline")),
        "{problems:?}"
    );
}

#[test]
fn grouping_sets_repeat_each_event_once_per_set_and_null_the_other_keys() {
    let compiled = esql(
            "",
            "match inference\n  group by each (api_key_id), (src_ip, app), (app) within 1h\n  alert when count() >= 3 and distinct(api_key_id) >= 2",
        )
        .unwrap();
    let lines = lines(&compiled);
    assert_eq!(lines[2], "| EVAL tripline_grouping_set = [0, 1, 2]");
    assert_eq!(lines[3], "| MV_EXPAND tripline_grouping_set");
    assert_eq!(
        lines[4],
        "| WHERE (tripline_grouping_set == 0 AND tripline.api_key_id IS NOT NULL) OR (tripline_grouping_set == 1 AND source.ip IS NOT NULL AND service.name IS NOT NULL) OR (tripline_grouping_set == 2 AND service.name IS NOT NULL)"
    );
    assert_eq!(
        lines[5],
        "| EVAL tripline_group_api_key_id = CASE(tripline_grouping_set == 0, tripline.api_key_id), tripline_group_src_ip = CASE(tripline_grouping_set == 1, source.ip), tripline_group_app = CASE(tripline_grouping_set IN (1, 2), service.name)"
    );
    // Aggregates read the fields themselves: a set's distinct keys of another set's field.
    assert_eq!(
        lines[8],
        "| STATS count = COUNT(*), distinct_api_key_id = COALESCE(MV_COUNT(VALUES(tripline.api_key_id)), 0) BY tripline_window_start_ms, tripline_grouping_set, tripline_group_api_key_id, tripline_group_src_ip, tripline_group_app"
    );
    assert_eq!(
        lines[9],
        "| RENAME tripline_group_api_key_id AS tripline.api_key_id, tripline_group_src_ip AS source.ip, tripline_group_app AS service.name"
    );
    // A field in every set is grouped by as it is.
    let shared = esql(
            "",
            "match inference\n  group by each (app, api_key_id), (app, src_ip) within 1h\n  alert when count() >= 3",
        )
        .unwrap();
    assert!(
            shared.text.contains(
                " BY tripline_window_start_ms, tripline_grouping_set, service.name, tripline_group_api_key_id, tripline_group_src_ip\n"
            ),
            "{}",
            shared.text
        );
    // A single grouping keeps the plain threshold form.
    let single = esql(
        "",
        "match inference\n  group by app within 1h\n  alert when count() >= 3",
    )
    .unwrap();
    assert!(!single.text.contains("MV_EXPAND"), "{}", single.text);
    assert!(single.text.contains("AND service.name IS NOT NULL\n"));
}

#[test]
fn a_baseline_judges_one_window_against_the_groups_earlier_windows() {
    let compiled = esql(
            "",
            "match inference\n  group by api_key_id within 1h\n  alert when count() >= 5 * baseline(count(), 7d) and count() >= 100",
        )
        .unwrap();
    let text = &compiled.text;
    for expected in [
        "| EVAL tripline_judged_start_ms = tripline_slot_end_ms / 3600000 * 3600000 - 3600000\n",
        "| WHERE tripline_judged_start_ms + 3600000 > tripline_slot_end_ms - 300000\n",
        "tripline_is_earlier = tripline_window_start_ms < tripline_judged_start_ms AND tripline_window_start_ms >= tripline_judged_start_ms - 604800000\n",
        "count = MAX(count) WHERE tripline_is_judged, ",
        "baseline_1_sum = SUM(TO_DOUBLE(count)) WHERE tripline_is_earlier, ",
        " BY tripline_judged_start_ms, tripline_slot_end_ms, tripline.api_key_id\n",
        "| EVAL baseline_1_quiet = (tripline_window_start_ms - baseline_1_first) / 3600000 - baseline_1_windows\n",
        "| EVAL baseline_1 = CASE(baseline_1_values + baseline_1_quiet > 0, COALESCE(baseline_1_sum, 0.0) / (baseline_1_values + baseline_1_quiet))\n",
        "| WHERE tripline_window_start_ms - baseline_1_first >= 86400000\n",
        "| WHERE (((5 * baseline_1) IS NOT NULL AND count >= (5 * baseline_1))) AND (count >= 100)\n",
    ] {
        assert!(text.contains(expected), "{expected}\nnot in\n{text}");
    }
    // The window, the lookback, two slots and the lateness bound.
    assert_eq!(
        compiled.look_back_ms,
        3_600_000 + 604_800_000 + 2 * 300_000 + LATENESS_MS
    );
}

#[test]
fn a_ratio_is_a_double_division_without_a_value_on_zero() {
    let compiled = esql(
            "",
            "match inference, policy_refusal\n  group by app within 1h\n  alert when count(where event_type == \"policy_refusal\") / count(where event_type == \"inference\") >= 3 * baseline(count(where event_type == \"policy_refusal\") / count(where event_type == \"inference\"), 7d)",
        )
        .unwrap();
    let text = &compiled.text;
    assert!(
        text.contains("| EVAL baseline_1_of = CASE(count_2 != 0, TO_DOUBLE(count) / count_2)\n"),
        "{text}"
    );
    // A ratio has no value on an empty window: windows without one are skipped.
    assert!(
        text.contains(
            "| EVAL baseline_1 = CASE(baseline_1_values > 0, baseline_1_sum / baseline_1_values)\n"
        ),
        "{text}"
    );
    assert!(!text.contains("baseline_1_quiet"), "{text}");
}

#[test]
fn a_baseline_with_a_schedule_longer_than_its_window_is_refused() {
    let problems = esql(
            "schedule: 2h",
            "match inference\n  group by app within 1h\n  alert when count() >= 5 * baseline(count(), 7d)",
        )
        .err()
        .unwrap();
    assert_eq!(
        problems,
        vec![
            "a baseline is judged one window per run: the schedule (2h) must not be longer than the window (1h)"
        ]
    );
}

#[test]
fn a_percentile_is_an_exact_rank_over_the_windows_groups() {
    let compiled = esql(
            "",
            "match inference\n  group by session_id within 7d\n  alert when count() > percentile(count(), 99)",
        )
        .unwrap();
    let text = &compiled.text;
    assert!(!text.to_ascii_uppercase().contains("PERCENTILE("), "{text}");
    for expected in [
        "| INLINE STATS tripline_percentile_1_groups = COUNT(count), tripline_percentile_1_candidate = VALUES(count) BY tripline_window_start_ms\n",
        "| MV_EXPAND tripline_percentile_1_candidate\n",
        "| INLINE STATS tripline_percentile_1_at_most = COUNT(*) WHERE count <= tripline_percentile_1_candidate BY tripline_window_start_ms, tripline_percentile_1_candidate\n",
        "| INLINE STATS percentile_1 = MIN(tripline_percentile_1_candidate) WHERE tripline_percentile_1_at_most > FLOOR((tripline_percentile_1_groups - 1) * 99.0 / 100.0) BY tripline_window_start_ms\n",
        "| WHERE tripline_percentile_1_candidate == percentile_1 OR percentile_1 IS NULL\n",
        "| WHERE (percentile_1 IS NOT NULL AND count > percentile_1)\n",
    ] {
        assert!(text.contains(expected), "{expected}\nnot in\n{text}");
    }
    // Ranked within the slot's windows, after the slot filter.
    assert!(
        text.find("tripline_window_end_ms <= tripline_slot_end_ms")
            .unwrap()
            < text.find("INLINE STATS").unwrap()
    );
}

#[test]
fn the_learning_period_is_tested_after_the_percentile_ranks_every_group() {
    let compiled = esql(
            "",
            "match inference\n  group by api_key_id within 1h\n  alert when count() > baseline(count(), 7d) and count() > percentile(count(), 90)",
        )
        .unwrap();
    let text = &compiled.text;
    let learned = text
        .find("| WHERE tripline_window_start_ms - baseline_1_first >= 86400000\n")
        .expect(text);
    let ranked = text.find("| INLINE STATS percentile_1 = ").expect(text);
    assert!(ranked < learned, "{text}");
}

#[test]
fn a_percentile_per_grouping_set_ranks_within_the_set() {
    let compiled = esql(
            "",
            "match inference\n  group by each (app), (src_ip) within 1d\n  alert when count() > percentile(count(), 50)",
        )
        .unwrap();
    assert!(
        compiled.text.contains(
            "BY tripline_window_start_ms, tripline_grouping_set, tripline_percentile_1_candidate\n"
        ),
        "{}",
        compiled.text
    );
}

#[test]
fn a_new_value_is_judged_per_key_and_value_over_the_slot() {
    let compiled = esql(
        "",
        "match inference\n  new geo_country for api_key_id lookback 30d",
    )
    .unwrap();
    let text = &compiled.text;
    for expected in [
        "AND tripline.api_key_id IS NOT NULL AND source.geo.country_iso_code IS NOT NULL\n",
        "| EVAL tripline_slot_start_ms = tripline_slot_end_ms - 300000\n",
        " BY tripline.api_key_id, source.geo.country_iso_code\n",
        "| INLINE STATS tripline_key_seen_until_ms = MAX(tripline_seen_until_ms), tripline_key_seen_after_ms = MIN(tripline_seen_after_ms) BY tripline.api_key_id\n",
        "| WHERE tripline_value_seen_ms IS NULL OR tripline_value_seen_ms < tripline_first_ms - 2592000000\n",
        "| WHERE tripline_key_seen_until_ms >= tripline_first_ms - 2592000000 OR tripline_key_seen_after_ms <= tripline_first_ms - 86400000\n",
    ] {
        assert!(text.contains(expected), "{expected}\nnot in\n{text}");
    }
    assert_eq!(
        compiled.look_back_ms,
        2_592_000_000 + 2 * 300_000 + LATENESS_MS
    );
}

#[test]
fn a_new_value_whose_lookback_is_shorter_than_schedule_and_learning_is_refused() {
    let problems = esql(
        "schedule: 1d",
        "match inference\n  new geo_country for api_key_id lookback 36h",
    )
    .err()
    .unwrap();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with(
            "the lookback (36h) is shorter than the schedule plus the learning period (1d + 1d)"
        ),
        "{problems:?}"
    );
}

#[test]
fn a_cluster_gathers_each_events_words_back_per_band_then_groups_by_the_band_key() {
    let compiled = esql(
            "",
            "match inference\n  cluster user_input similarity >= 0.8 min_length 120 within 24h\n  alert when distinct(session_id) >= 3",
        )
        .unwrap();
    let lines = lines(&compiled);
    assert_eq!(
        lines[..11],
        [
            "FROM logs-tripline.llm_application-* METADATA _id, _index",
            "| WHERE tripline.event_type == \"inference\" AND tripline.user_input IS NOT NULL AND LENGTH(tripline.user_input) >= 120",
            "| EVAL tripline_word = MV_DEDUPE(SPLIT(TO_LOWER(REPLACE(tripline.user_input, \"[^A-Za-z0-9]+\", \" \")), \" \"))",
            "| MV_EXPAND tripline_word",
            "| WHERE LENGTH(tripline_word) >= 3",
            "| EVAL tripline_hash = TO_LOWER(MD5(tripline_word)), tripline_band = [1, 2, 3, 4]",
            "| MV_EXPAND tripline_band",
            "| EVAL tripline_slice = SUBSTRING(tripline_hash, tripline_band * 8 - 7, 8)",
            "| STATS tripline_slices = VALUES(tripline_slice), @timestamp = MIN(@timestamp), gen_ai.conversation.id = VALUES(gen_ai.conversation.id) BY _id, _index, tripline_band",
            "| EVAL tripline_fingerprint = CONCAT(TO_STRING(tripline_band), \":\", MV_CONCAT(MV_SLICE(MV_SORT(tripline_slices), 0, 5), \"-\"))",
            "| EVAL tripline_time_ms = TO_LONG(@timestamp)",
        ]
    );
    assert!(
            compiled.text.contains(
                "| STATS distinct_session_id = COALESCE(MV_COUNT(VALUES(gen_ai.conversation.id)), 0) BY tripline_window_start_ms, tripline_fingerprint\n"
            ),
            "{}",
            compiled.text
        );
    // The window, two slots and the lateness bound, as any window.
    assert_eq!(
        compiled.look_back_ms,
        86_400_000 + 2 * 300_000 + LATENESS_MS
    );
}

#[test]
fn a_cluster_carries_every_field_its_aggregates_read_through_the_per_event_stats() {
    let compiled = esql(
            "",
            "match inference\n  cluster user_input similarity >= 0.8 min_length 0 within 1h\n  alert when count(where app == \"chat\") >= 2 and sum(cost_usd) > 1.5",
        )
        .unwrap();
    let text = &compiled.text;
    assert!(
            text.contains(
                "| STATS tripline_slices = VALUES(tripline_slice), @timestamp = MIN(@timestamp), service.name = VALUES(service.name), tripline.cost_usd = VALUES(tripline.cost_usd) BY _id, _index, tripline_band\n"
            ),
            "{text}"
        );
    // No minimum length: only a present value is tested.
    assert!(
        text.contains("AND tripline.user_input IS NOT NULL\n| EVAL tripline_word"),
        "{text}"
    );
}

#[test]
fn a_cluster_refuses_a_field_named_like_one_of_its_columns() {
    let problems = esql_mapped(
            "",
            "match inference\n  cluster user_input similarity >= 0.8 min_length 120 within 1h\n  alert when distinct(session_id) >= 3",
            |mapping| {
                if let Some(field) = mapping.fields.get_mut("session_id") {
                    field.name = "tripline_band".to_string();
                }
            },
        )
        .err()
        .unwrap();
    assert_eq!(
        problems,
        vec!["the field `tripline_band` has the name of a column the cluster fingerprint computes"]
    );
}

#[test]
fn similarity_one_is_one_band_of_every_word() {
    let compiled = esql(
            "",
            "match inference\n  cluster user_input similarity >= 1.0 min_length 10 within 1h\n  alert when count() >= 2",
        )
        .unwrap();
    let text = &compiled.text;
    for expected in [
        "| EVAL tripline_band = 1, tripline_slice = SUBSTRING(TO_LOWER(MD5(tripline_word)), 1, 8)\n",
        "| EVAL tripline_fingerprint = CONCAT(TO_STRING(tripline_band), \":\", MV_CONCAT(MV_SORT(tripline_slices), \"-\"))\n",
    ] {
        assert!(text.contains(expected), "{expected}\nnot in\n{text}");
    }
    assert!(!text.contains("MV_EXPAND tripline_band"), "{text}");
    assert!(!text.contains("MV_SLICE"), "{text}");
}

#[test]
fn a_word_pattern_is_spelled_only_as_a_plain_ascii_class() {
    assert_eq!(word_class("[A-Za-z0-9]{3,}"), Some(("A-Za-z0-9", 3)));
    assert_eq!(word_class("[a-z]{1,}"), Some(("a-z", 1)));
    for pattern in [
        "[^A-Z]{3,}",
        "[A-Z\\s]{3,}",
        "[A-Z]{3,5}",
        "[A-Z]+",
        "\\w{3,}",
        "[]{3,}",
        "[-a]{3,}",
        "[é]{3,}",
    ] {
        assert_eq!(word_class(pattern), None, "{pattern}");
    }
    let spelling =
        FingerprintSpelling::of(&plan::Fingerprint::new("user_input", 0.8, 120)).unwrap();
    assert_eq!(
        spelling,
        FingerprintSpelling {
            separators: "[^A-Za-z0-9]+".to_string(),
            min_word: 3,
            bands: 4,
            digits: 8,
            first: Some(6),
            separator: "-",
        }
    );
}

#[test]
fn arithmetic_is_over_doubles() {
    let compiled = esql(
            "",
            "match inference\n  group by app within 1h\n  alert when count() * 2 - count(where app == \"a\") > 10",
        )
        .unwrap();
    // Two longs are multiplied as doubles; the double product minus a long stays double.
    assert!(
        compiled
            .text
            .contains("| WHERE ((TO_DOUBLE(count) * 2) - count_2) > 10\n"),
        "{}",
        compiled.text
    );
}
