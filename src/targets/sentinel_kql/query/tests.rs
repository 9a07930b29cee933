#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::patterns::string_literal_length;
use super::*;
use crate::check::{CheckOptions, check};
use crate::source::Sources;
use crate::syntax::parse;
use crate::targets::Target;
use crate::targets::sentinel_kql::{SentinelKql, TABLE};

const SCHEMA: &str = r#"
common { timestamp: timestamp required, event_type: string required, app: string, src_ip: ip }
event inference { user_input: string, output: string }
event tool_call { tool_name: string }
lookup pairs { file: "../../../rules/lookups/system_prompt_markers.csv", columns: { app: string, marker: string } }
list shapes: regex = [/\b{start}foo/, /ok/, /\pL{2}/]
"#;

/// The `where` of a match rule whose detection is `detection`, or the problems.
fn kql(detection: &str) -> Result<String, Vec<String>> {
    let text = format!(
        "{SCHEMA}\nrule t.r {{\n  title: \"T\"\n  description: \"D\"\n  severity: high\n  category: llm_attack\n  {detection}\n}}\n"
    );
    let mut sources = Sources::new();
    let id = sources.add("src/targets/sentinel_kql/inline.tdl", text.clone());
    let (file, diagnostics) = parse(&text, id);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (pack, diagnostics) = check(&sources, &[(id, file)], &CheckOptions::default());
    let pack = pack.unwrap_or_else(|| panic!("{diagnostics:?}"));
    let mapping = SentinelKql.default_mapping(&pack.schema);
    match rule_query(&pack.rules[0], &pack, &mapping, TABLE) {
        Ok(query) => Ok(query.text.replace("LLMAppEvents_CL\n| where ", "")),
        Err(problems) => Err(problems
            .into_iter()
            .map(|problem| problem.message)
            .collect()),
    }
}

#[test]
fn context_is_sorted_and_projected_and_refused_on_history() {
    let query = kql(
            "match inference\n  group by src_ip within 1h\n  alert when count() >= 2\n  context app, output",
        )
        .unwrap();
    assert!(
        query.contains("App = array_sort_asc(make_set_if(App, isnotempty(App)))"),
        "{query}"
    );
    assert!(
        query.ends_with("| project WindowStart, WindowEnd, SrcIp, Count, App, Output"),
        "{query}"
    );
    let problems = kql(
            "match inference\n  group by src_ip within 1h\n  alert when count() >= 2 * baseline(count(), 1d)\n  context app",
        )
        .unwrap_err();
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("`context` on a baseline")),
        "{problems:?}"
    );
}

#[test]
fn a_cluster_groups_by_each_band_key_of_the_words() {
    let query = kql(
            "match inference\n  cluster user_input similarity >= 0.8 min_length 120 within 1h\n  alert when count() >= 2 and distinct(app) >= 2",
        )
        .unwrap();
    // Length in code points, words extracted before lowercasing, each word
    // hashed once, 4 bands of the 6 smallest distinct slices.
    assert!(
        query.contains("| where strlen(UserInput) >= 120\n"),
        "{query}"
    );
    assert!(
        query.contains("extract_all(\"([A-Za-z0-9]{3,})\", UserInput)"),
        "{query}"
    );
    assert!(query.contains("| where array_length(Words) > 0"), "{query}");
    assert!(
        query.contains("extend WordHash = hash_md5(tolower(Word))"),
        "{query}"
    );
    assert!(
        query.contains("Band1 = make_set(substring(WordHash, 0, 8))"),
        "{query}"
    );
    assert!(
        query.contains("Band4 = make_set(substring(WordHash, 24, 8))"),
        "{query}"
    );
    assert!(
        query.contains(
            "strcat(\"1:\", strcat_array(array_slice(array_sort_asc(Band1), 0, 5), \"-\"))"
        ),
        "{query}"
    );
    assert!(
        query.contains(
            "strcat(\"4:\", strcat_array(array_slice(array_sort_asc(Band4), 0, 5), \"-\"))"
        ),
        "{query}"
    );
    assert!(
        query.contains("| mv-expand Fingerprint to typeof(string)\n    | summarize"),
        "{query}"
    );
    assert!(
        query.contains(" by Fingerprint, WindowStart = bin_at(TimeGenerated, 1h,"),
        "{query}"
    );
    assert!(
        query.contains("| project WindowStart, WindowEnd, Fingerprint,"),
        "{query}"
    );
    assert!(!query.contains("tolower(UserInput)"), "{query}");
}

#[test]
fn similarity_one_keeps_every_word_in_one_band_and_no_length_test() {
    let query = kql(
            "match inference\n  cluster user_input similarity >= 1.0 min_length 0 within 1h\n  alert when count() >= 2",
        )
        .unwrap();
    assert!(!query.contains("strlen("), "{query}");
    assert!(!query.contains("array_slice"), "{query}");
    assert!(!query.contains("Band2"), "{query}");
    assert!(
        query.contains("strcat(\"1:\", strcat_array(array_sort_asc(Band1), \"-\"))"),
        "{query}"
    );
}

#[test]
fn repeated_long_patterns_are_named_once() {
    let long = format!("\"{}\\\"x\"", "[Aa]".repeat(60));
    let mut texts = [
        format!("A matches regex {long} or B matches regex \"^(?:y)$\""),
        format!("C matches regex {long} and D matches regex \"^(?:y)$\""),
    ];
    let lets = hoist_repeated_patterns(&mut texts);
    assert_eq!(lets, [format!("let Pattern1 = {long};")]);
    assert_eq!(
        texts,
        [
            "A matches regex Pattern1 or B matches regex \"^(?:y)$\"",
            "C matches regex Pattern1 and D matches regex \"^(?:y)$\""
        ]
    );
    // A pattern used once stays in place.
    let mut once = [format!("A matches regex {long}")];
    assert!(hoist_repeated_patterns(&mut once).is_empty());
}

#[test]
fn repeated_patterns_are_named_before_the_statement_that_uses_them() {
    let long = format!("\"{}\"", "[Bb]".repeat(60));
    let text = format!(
        "let Window = 1d;\nlet Events = T\n    | where (N matches regex {long}) or (R matches regex {long});\nEvents\n| count"
    );
    assert_eq!(
        name_repeated_patterns(&text),
        format!(
            "let Window = 1d;\nlet Pattern1 = {long};\nlet Events = T\n    | where (N matches regex Pattern1) or (R matches regex Pattern1);\nEvents\n| count"
        )
    );
    let matching = format!("T\n| where A matches regex {long} or B matches regex {long}");
    assert_eq!(
        name_repeated_patterns(&matching),
        format!(
            "let Pattern1 = {long};\nT\n| where A matches regex Pattern1 or B matches regex Pattern1"
        )
    );
    // Nothing repeated: the text is unchanged.
    let once = format!("T\n| where A matches regex {long}");
    assert_eq!(name_repeated_patterns(&once), once);
}

/// An address test matches the address pattern, then extracts the address
/// with it: the pattern is named once and used in both places.
#[test]
fn an_address_pattern_matched_and_extracted_is_named_once() {
    let long = format!("\"^\\\\s*({})\\\\s*$\"", "[0-9]".repeat(60));
    let text = format!(
        "let Window = 1h;\nT\n| where (Ip matches regex {long} and ipv4_is_in_any_range(extract({long}, 1, Ip), \"10.0.0.0/8\"))"
    );
    assert_eq!(
        name_repeated_patterns(&text),
        format!(
            "let Window = 1h;\nlet Pattern1 = {long};\nT\n| where (Ip matches regex Pattern1 and ipv4_is_in_any_range(extract(Pattern1, 1, Ip), \"10.0.0.0/8\"))"
        )
    );
    // Extracted twice and never matched: named too, before its first use.
    let text = format!("T\n| extend A = extract({long}, 1, X), B = extract({long}, 1, Y)");
    assert_eq!(
        name_repeated_patterns(&text),
        format!(
            "let Pattern1 = {long};\nT\n| extend A = extract(Pattern1, 1, X), B = extract(Pattern1, 1, Y)"
        )
    );
}

#[test]
fn string_literals_end_at_the_first_unescaped_quote() {
    assert_eq!(string_literal_length(r#""a\"b" rest"#), Some(6));
    assert_eq!(string_literal_length(r#""a\\" rest"#), Some(5));
    assert_eq!(string_literal_length(r#""open"#), None);
    assert_eq!(string_literal_length("Pattern1"), None);
}

#[test]
fn event_type_is_compared_exactly_against_the_source_types() {
    assert_eq!(
        kql(r#"match inference, tool_call where event_type == "inference" or app == "x""#).unwrap(),
        r#"EventType in ("inference", "tool_call") and ((EventType in ("inference")) or (isnotempty(App) and (App matches regex "(?i)^(?:x)$")))"#
    );
}

#[test]
fn a_negated_narrowed_lookup_is_false_without_its_key() {
    let text = kql("match inference where output not has_any pairs[app].marker").unwrap();
    assert!(
            text.starts_with(
                r#"EventType == "inference" and (isnotempty(Output) and isnotempty(App) and not((App matches regex"#
            ),
            "{text}"
        );
}

#[test]
fn several_case_sensitive_needles_of_a_row_stay_one_operand() {
    let text = kql("match inference where output has_any_cs pairs[app].marker").unwrap();
    assert!(
        text.contains(r#"(App in ("code-assistant") and (Output contains_cs "#),
        "{text}"
    );
    assert_eq!(text.matches("\n    or (App in (").count(), 3, "{text}");
}

#[test]
fn string_operators_on_ip_fields_are_refused() {
    assert_eq!(
        kql(r#"match inference where src_ip startswith "10.""#).unwrap_err(),
        vec!["a string operator on the ip field `src_ip`"]
    );
}

#[test]
fn every_untranslatable_regex_of_a_list_is_reported() {
    let problems = kql("match inference where output matches_any shapes").unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with(r"the regex /\b{start}foo/: "));
    assert!(problems[1].starts_with(r"the regex /\pL{2}/: "));
}

const STATEFUL_SCHEMA: &str = r#"
common { timestamp: timestamp required, event_type: string required, event_id: string, app: string, api_key_id: string, geo_country: string }
event inference { output_tokens: int, cost_usd: float }
event policy_refusal { reason: string }
"#;

/// The pack of one rule with `severity` and `detection` over the stateful schema.
fn stateful_pack(severity: &str, detection: &str) -> ir::Pack {
    let text = format!(
        "{STATEFUL_SCHEMA}\nrule t.s {{\n  title: \"T\"\n  description: \"D\"\n  severity: {severity}\n  category: llm_attack\n  {detection}\n}}\n"
    );
    let mut sources = Sources::new();
    let id = sources.add("src/targets/sentinel_kql/stateful.tdl", text.clone());
    let (file, diagnostics) = parse(&text, id);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (pack, diagnostics) = check(&sources, &[(id, file)], &CheckOptions::default());
    pack.unwrap_or_else(|| panic!("{diagnostics:?}"))
}

fn stateful(severity: &str, detection: &str) -> Result<Query, Vec<String>> {
    let pack = stateful_pack(severity, detection);
    let mapping = SentinelKql.default_mapping(&pack.schema);
    rule_query(&pack.rules[0], &pack, &mapping, TABLE).map_err(|problems| {
        problems
            .into_iter()
            .map(|problem| problem.message)
            .collect()
    })
}

#[test]
fn a_long_period_raises_the_frequency_to_an_hour() {
    assert_eq!(frequency(300_000, 7 * 86_400_000), 3_600_000);
    assert_eq!(frequency(300_000, 3_600_000 + LATENESS_MS), 300_000);
    assert_eq!(frequency(86_400_000, 7 * 86_400_000), 86_400_000);
}

#[test]
fn a_baseline_averages_the_groups_earlier_windows_within_its_lookback() {
    let query = stateful(
            "high",
            "match inference\n  group by api_key_id within 1h\n  alert when count() >= 5 * baseline(count(), 7d) and count() >= 100",
        )
        .unwrap();
    // High severity runs every 5m, but a 7d period needs an hourly rule.
    assert_eq!(query.frequency_ms, 3_600_000);
    assert_eq!(
        query.period_ms,
        7 * 86_400_000 + 3_600_000 + 3_600_000 + LATENESS_MS
    );
    for part in [
        "let Lookback = 7d;\nlet Learn = 1d;",
        "let ClosedAfter = ClosedBefore - 1h;",
        "| join kind=inner (Windows\n    | project ApiKeyId, EarlierStart = WindowStart, Earlier = todouble(Count)) on ApiKeyId",
        "| where EarlierStart >= WindowStart - Lookback and EarlierStart < WindowStart",
        "BaselineFirst = min(EarlierStart)",
        "| extend BaselineEmpty = (WindowStart - BaselineFirst) / Window - BaselineActive",
        "BaselineSum / (BaselineValues + BaselineEmpty)",
        "| where WindowStart - BaselineFirst >= Learn",
        "(isnotnull(Baseline) and Count >= (long(5) * Baseline))",
        "| project WindowStart, WindowEnd, ApiKeyId, Count, Baseline",
    ] {
        assert!(query.text.contains(part), "{part}\n---\n{}", query.text);
    }
    assert_eq!(query.value_columns, ["Count", "Baseline"]);
}

#[test]
fn a_ratio_is_divided_as_doubles_and_has_no_value_over_zero() {
    let query = stateful(
            "medium",
            "match inference, policy_refusal\n  group by app within 1h\n  alert when count(where event_type == \"policy_refusal\") / count(where event_type == \"inference\") >= 3.0 * baseline(count(where event_type == \"policy_refusal\") / count(where event_type == \"inference\"), 7d)",
        )
        .unwrap();
    for part in [
        "Earlier = iff(todouble(Count2) == 0, real(null), todouble(Count) / todouble(Count2))",
        // Windows without a ratio are skipped: no empty value.
        "| extend Baseline = iff(BaselineValues > 0, BaselineSum / BaselineValues, real(null))",
        "Count2 != 0 and isnotnull(Baseline) and (todouble(Count) / Count2) >= (real(3.0) * Baseline)",
    ] {
        assert!(query.text.contains(part), "{part}\n---\n{}", query.text);
    }
    assert!(!query.text.contains("BaselineEmpty"), "{}", query.text);
}

#[test]
fn a_percentile_is_the_value_at_an_exact_rank_of_the_windows_groups() {
    let query = stateful(
            "low",
            "match inference\n  group by api_key_id within 7d\n  alert when count() > percentile(count(), 99)",
        )
        .unwrap();
    for part in [
        "let Ranked = Closed\n    | extend RankedValue = todouble(Count)\n    | where isnotnull(RankedValue)\n    | sort by WindowStart asc, RankedValue asc\n    | extend Rank = row_number(0, WindowStart != prev(WindowStart));",
        "| lookup (Ranked | summarize Groups = count() by WindowStart) on WindowStart",
        "| where Rank == tolong(floor((Groups - 1) * 99.0 / 100, 1))",
        "| project WindowStart, Percentile = RankedValue;",
        "Closed\n| lookup kind=leftouter Percentiles on WindowStart",
        "| where isnotnull(Percentile) and Count > Percentile",
    ] {
        assert!(query.text.contains(part), "{part}\n---\n{}", query.text);
    }
    // Kusto's `percentile()` estimates; it must never be used.
    assert!(!query.text.contains("percentile("), "{}", query.text);
    assert!(!query.text.contains("join"), "{}", query.text);
}

#[test]
fn a_new_value_is_first_in_processing_order_for_a_key_with_history() {
    let query = stateful(
        "high",
        "match inference\n  new geo_country for api_key_id lookback 7d",
    )
    .unwrap();
    assert_eq!(query.frequency_ms, 3_600_000);
    assert_eq!(query.period_ms, 7 * 86_400_000 + 3_600_000 + LATENESS_MS);
    for part in [
        "| where isnotempty(ApiKeyId) and isnotempty(GeoCountry));",
        "| sort by ApiKeyId asc, GeoCountry asc, TimeGenerated asc, EventId asc",
        "| extend ValueSeen = iff(ApiKeyId == prev(ApiKeyId) and GeoCountry == prev(GeoCountry), prev(TimeGenerated), datetime(null))",
        "| where TimeGenerated > SeenAfter and TimeGenerated <= SeenBefore",
        "| where isnull(ValueSeen) or ValueSeen < TimeGenerated - Lookback",
        "SeenThroughout = countif(TimeGenerated between ((SeenBefore - Lookback) .. (SeenAfter - Learn)))",
        "| lookup kind=inner KeyHistory on ApiKeyId",
        "| where SeenThroughout > 0 or LastSeenEarly >= TimeGenerated - Lookback or FirstSeenLate <= TimeGenerated - Learn",
    ] {
        assert!(query.text.contains(part), "{part}\n---\n{}", query.text);
    }
    assert_eq!(query.group_columns, ["ApiKeyId", "GeoCountry"]);
    assert!(query.all_columns);
}

#[test]
fn a_new_value_whose_lookback_barely_exceeds_the_learning_period_is_refused() {
    let problems = stateful(
        "medium",
        "match inference\n  new geo_country for api_key_id lookback 24h",
    )
    .unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("the lookback (1d) must exceed the learning period (1d)"),
        "{problems:?}"
    );
}

#[test]
fn a_baseline_longer_than_sentinels_period_is_refused_at_the_baseline() {
    let pack = stateful_pack(
        "low",
        "match inference\n  group by api_key_id within 1d\n  alert when sum(cost_usd) >= 5 * baseline(sum(cost_usd), 30d)",
    );
    let mapping = SentinelKql.default_mapping(&pack.schema);
    let problems = SentinelKql
        .compile_rule(&pack.rules[0], &pack, &mapping)
        .unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
            problems[0].message.starts_with(
                "each run needs 32d 5m of events (the baseline's 30d lookback, the 1d window, the 1d query frequency and 5m for late events); a Sentinel scheduled rule looks back at most 14d"
            ),
            "{}",
            problems[0].message
        );
    let rule_text = &pack.rules[0];
    assert_ne!(
        problems[0].origin, rule_text.origin,
        "located at the baseline"
    );
}
