//! The splunk_spl dashboards: the overview's Dashboard Studio view (a
//! reviewed snapshot), the navigation bar, every panel written or reported
//! with a reason, the panel searches' exact shapes, and refusals.
//!
//! The view is also written to `target/splunk-dashboard-fixture/` for the
//! Dashboard Studio validation in `.ci/run`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod dashboard_support;

use std::path::Path;

use insta::{Settings, assert_snapshot};
use tripline::ir::dashboard::{GroupKey, PanelQuery, Visual};
use tripline::targets::{self, Target};

const VIEW: &str = "tripline_llm_security/default/data/ui/views/llm_overview.xml";
const NAV: &str = "tripline_llm_security/default/data/ui/nav/default.xml";

fn snapshot(name: &str, text: &str) {
    let mut settings = Settings::clone_current();
    settings.set_snapshot_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/dashboards"),
    );
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| assert_snapshot!(name, text));
}

/// The definition JSON inside a view's CDATA.
fn definition(view: &str) -> serde_json::Value {
    let start = view.find("<![CDATA[").unwrap() + "<![CDATA[".len();
    let end = view.rfind("]]>").unwrap();
    serde_json::from_str(&view[start..end]).expect("the definition is JSON")
}

fn query<'a>(definition: &'a serde_json::Value, panel: &str) -> &'a str {
    definition["dataSources"][format!("ds_{panel}")]["options"]["query"]
        .as_str()
        .unwrap_or_else(|| panic!("no search for {panel}"))
}

#[test]
fn the_overview_view_and_nav_match_their_snapshots() {
    let pack = dashboard_support::pack_with_overview();
    let target = targets::splunk_spl::SplunkSpl;
    let mapping = target.default_mapping(&pack.schema);
    let output = target.dashboard_artifacts(&pack, &mapping);
    assert!(output.failures.is_empty(), "{:?}", output.failures);
    assert_eq!(output.written, vec!["llm.overview".to_string()]);
    let paths: Vec<&str> = output.artifacts.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, vec![VIEW, NAV]);
    // For .ci/conformance/splunk_dashboard_check.mjs.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/splunk-dashboard-fixture");
    for artifact in &output.artifacts {
        let path = fixture.join(&artifact.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &artifact.text).unwrap();
    }
    snapshot("splunk_spl__llm.overview", &output.artifacts[0].text);
    snapshot("splunk_spl__nav", &output.artifacts[1].text);
}

#[test]
fn every_panel_is_written_or_reported_with_a_reason() {
    let pack = dashboard_support::pack_with_overview();
    let target = targets::splunk_spl::SplunkSpl;
    let output = target.dashboard_artifacts(&pack, &target.default_mapping(&pack.schema));
    let view = output
        .artifacts
        .iter()
        .find(|artifact| artifact.path == VIEW)
        .map(|artifact| definition(&artifact.text));
    for id in dashboard_support::PANEL_IDS {
        let written = view.as_ref().is_some_and(|definition| {
            definition["visualizations"][format!("viz_{id}")].is_object()
        });
        let reported = output.failures.iter().find(|(key, problems)| {
            key == &format!("llm.overview.{id}")
                && !problems.is_empty()
                && problems.iter().all(|problem| !problem.message.is_empty())
        });
        assert!(
            written != reported.is_some(),
            "panel {id}: written {written}, reported {reported:?}"
        );
    }
}

#[test]
fn panel_searches_have_the_designed_shapes() {
    let pack = dashboard_support::pack_with_overview();
    let target = targets::splunk_spl::SplunkSpl;
    let output = target.dashboard_artifacts(&pack, &target.default_mapping(&pack.schema));
    let definition = definition(&output.artifacts[0].text);

    // Over time by key: epoch-aligned buckets, one column per key, 0 where a key had none.
    let by_key = query(&definition, "inference_by_key");
    assert!(
        by_key.starts_with("`tripline_llm_events` | search event_type=inference\n"),
        "{by_key}"
    );
    assert!(by_key.contains("| eval tripline_window_start = floor(_time / 86400) * 86400\n"));
    assert!(by_key.contains("| stats count AS inferences by tripline_window_start, api_key_id\n"));
    assert!(
        by_key.ends_with("| xyseries _time api_key_id inferences\n| fillnull value=0"),
        "{by_key}"
    );
    for approximate in ["| timechart", "| bin ", "| streamstats", "| mvexpand"] {
        for (name, source) in definition["dataSources"].as_object().unwrap() {
            let text = source["options"]["query"].as_str().unwrap();
            assert!(!text.contains(approximate), "{name}: {text}");
        }
    }

    // Top 20: descending on the first measure, ties by the key, then head.
    let busiest = query(&definition, "busiest_sessions");
    assert!(busiest.contains("| sort 0 -num(inferences), str(session_id)\n| head 20\n| table session_id, inferences, spend_usd"), "{busiest}");
    assert_eq!(
        definition["dataSources"]["ds_busiest_sessions"]["options"]["queryParameters"],
        serde_json::json!({ "earliest": "-1d", "latest": "now" })
    );

    // A baseline: every bucket's history from the 7 buckets before it.
    let refusal = query(&definition, "refusal_rate");
    assert!(refusal.contains("| appendpipe [where isnotnull(tripline_events) | eval tripline_later = mvrange(tripline_window_start + 86400, tripline_window_start + 691200, 86400) | stats min(tripline_window_start) AS tripline_baseline_1_first, count AS tripline_baseline_1_active, sum(tripline_baseline_1_input) AS tripline_baseline_1_sum, count(tripline_baseline_1_input) AS tripline_baseline_1_values by tripline_later | rename tripline_later AS tripline_window_start]"), "{refusal}");
    assert!(
        refusal.contains("| where isnotnull(tripline_events)\n"),
        "{refusal}"
    );
    assert!(
        refusal.ends_with("| table _time, refusal_rate, baseline"),
        "{refusal}"
    );

    // Bins: the range's lower bound, in order along the axis.
    let sizes = query(&definition, "output_size");
    assert!(sizes.contains("| eval output_tokens_bin = exact(floor(exact(output_tokens / 250)) * 250)\n| where isnotnull(output_tokens_bin)\n"), "{sizes}");
    assert!(
        sizes.ends_with("| sort 0 num(output_tokens_bin)\n| table output_tokens_bin, outputs"),
        "{sizes}"
    );

    // Alerts: Splunk's record of each fired alert of the app's searches.
    let alerts = query(&definition, "alerts_by_rule");
    assert!(alerts.starts_with("index=_audit action=alert_fired ss_app=tripline_llm_security ss_name=\"Tripline - *\"\n"), "{alerts}");

    // Visual types and the global time range.
    assert_eq!(
        definition["visualizations"]["viz_refusal_rate"]["type"],
        "splunk.line"
    );
    assert_eq!(
        definition["visualizations"]["viz_output_size"]["type"],
        "splunk.column"
    );
    assert_eq!(
        definition["visualizations"]["viz_busiest_sessions"]["type"],
        "splunk.table"
    );
    assert_eq!(
        definition["inputs"]["input_global_trp"]["options"]["defaultValue"],
        "-7d,now"
    );
    assert_eq!(
        definition["dataSources"]["ds_inference_by_key"]["options"]["queryParameters"]["earliest"],
        "$global_time.earliest$"
    );
}

#[test]
fn a_panel_without_an_exact_search_is_reported_and_the_others_are_written() {
    let mut pack = dashboard_support::pack_with_overview();
    let dashboard = &mut pack.dashboards[0];
    // Buckets of 1.5 s: `_time` is floored in whole seconds.
    if let PanelQuery::Events { bucket_ms, .. } = &mut dashboard.panels[0].query {
        *bucket_ms = Some(1_500);
    }
    // A range of 2.5 s: Splunk's relative times are whole seconds.
    dashboard.panels[3].range_ms = 2_500;
    let target = targets::splunk_spl::SplunkSpl;
    let output = target.dashboard_artifacts(&pack, &target.default_mapping(&pack.schema));
    let keys: Vec<&str> = output
        .failures
        .iter()
        .map(|(key, _)| key.as_str())
        .collect();
    assert_eq!(
        keys,
        vec![
            "llm.overview.inference_by_key",
            "llm.overview.tool_calls_by_tool"
        ]
    );
    assert!(
        output.failures[0].1[0]
            .message
            .contains("whole number of seconds")
    );
    let definition = definition(&output.artifacts[0].text);
    assert!(definition["visualizations"]["viz_inference_by_key"].is_null());
    assert!(definition["visualizations"]["viz_refusal_rate"].is_object());
    assert_eq!(output.written, vec!["llm.overview".to_string()]);
}

#[test]
fn a_single_value_and_a_pie_get_their_visualizations() {
    let mut pack = dashboard_support::pack_with_overview();
    let dashboard = &mut pack.dashboards[0];
    dashboard.panels[3].visual = Visual::Pie;
    if let PanelQuery::Events { group_by, .. } = &mut dashboard.panels[4].query {
        assert!(group_by.is_empty());
    }
    dashboard.panels[7].visual = Visual::Table;
    if let PanelQuery::Events { group_by, .. } = &mut dashboard.panels[7].query {
        group_by.push(GroupKey::Field {
            field: "model".to_string(),
        });
    }
    let target = targets::splunk_spl::SplunkSpl;
    let output = target.dashboard_artifacts(&pack, &target.default_mapping(&pack.schema));
    assert!(output.failures.is_empty(), "{:?}", output.failures);
    let definition = definition(&output.artifacts[0].text);
    assert_eq!(
        definition["visualizations"]["viz_tool_calls_by_tool"]["type"],
        "splunk.pie"
    );
    let two_keys = query(&definition, "output_size");
    assert!(
        two_keys.contains("| stats count AS outputs by output_tokens_bin, model\n"),
        "{two_keys}"
    );
}
