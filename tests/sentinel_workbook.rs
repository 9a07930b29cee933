//! The Microsoft Sentinel workbook of the overview dashboard: its ARM
//! template is a reviewed snapshot, every panel is written or reported, and
//! a panel without an exact query is left out with its reason.
//!
//! The overview is the shipped `llm.overview` (by hand from checked
//! expressions, `tests/fixtures/dashboard_exprs`, if the pack ever lacks
//! it); more panel shapes are built by hand the same way.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use insta::{Settings, assert_snapshot};
use tripline::ir::dashboard::{Dashboard, GroupKey, Measure, Panel, PanelQuery, Visual};
use tripline::ir::{ArithmeticOp, Detection, Expr, ExprKind, Origin, Pack, Source, ValueType};
use tripline::project::{LoadOptions, load};
use tripline::targets::sentinel_kql::SentinelKql;
use tripline::targets::{self, Target};

const DAY: i64 = 86_400_000;
const ORIGIN: Origin = Origin {
    line: 1,
    column: 1,
    start: 0,
    end: 0,
};

fn load_pack(path: &str) -> Pack {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let project = load(&LoadOptions {
        paths: vec![PathBuf::from(path)],
        ..LoadOptions::default()
    })
    .expect("the pack loads");
    project.pack.expect("the pack checks")
}

/// The two sides of a window rule's `alert when` comparison, and its source.
fn sides(pack: &Pack, id: &str) -> (Expr, Expr, Source) {
    let rule = pack.rules.iter().find(|rule| rule.id == id).unwrap();
    match &rule.detection {
        Detection::Window {
            condition, source, ..
        } => match &condition.kind {
            ExprKind::Compare { left, right, .. } => {
                ((**left).clone(), (**right).clone(), source.clone())
            }
            other => panic!("{id}: not a comparison: {other:?}"),
        },
        Detection::Match { source } => (
            source.filter.clone().unwrap(),
            source.filter.clone().unwrap(),
            source.clone(),
        ),
        other => panic!("{id}: {other:?}"),
    }
}

fn source(types: &[&str]) -> Source {
    Source {
        event_types: types.iter().map(|name| name.to_string()).collect(),
        filter: None,
    }
}

fn measure(name: &str, label: &str, expr: &Expr) -> Measure {
    Measure {
        name: name.to_string(),
        label: label.to_string(),
        expr: expr.clone(),
    }
}

fn field(name: &str) -> GroupKey {
    GroupKey::Field {
        field: name.to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn events(
    id: &str,
    title: &str,
    visual: Visual,
    range_ms: i64,
    source: Source,
    group_by: Vec<GroupKey>,
    bucket_ms: Option<i64>,
    measures: Vec<Measure>,
    top: Option<u32>,
) -> Panel {
    Panel {
        id: id.to_string(),
        origin: ORIGIN,
        title: title.to_string(),
        description: String::new(),
        visual,
        range_ms,
        query: PanelQuery::Events {
            source,
            group_by,
            bucket_ms,
            measures,
            top,
        },
    }
}

/// The shipped overview's nine panels (the design's list), by hand.
fn overview_by_hand() -> Dashboard {
    let exprs = load_pack("tests/fixtures/dashboard_exprs");
    let (count, count_baseline, _) = sides(&exprs, "exprs.count_baseline");
    let (spend, _, _) = sides(&exprs, "exprs.spend");
    let (rate, rate_baseline, _) = sides(&exprs, "exprs.refusal_rate");
    let (_, _, failures) = sides(&exprs, "exprs.auth_failures");
    let rate_label =
        r#"count(where event_type == "policy_refusal") / count(where event_type == "inference")"#;
    let week = 7 * DAY;
    let panels = vec![
        events(
            "inference_by_key",
            "Daily inference volume by API key",
            Visual::Line,
            week,
            source(&["inference"]),
            vec![field("api_key_id")],
            Some(DAY),
            vec![measure("inferences", "count()", &count)],
            None,
        ),
        events(
            "busiest_sessions",
            "Busiest sessions today",
            Visual::Table,
            DAY,
            source(&["inference"]),
            vec![field("session_id")],
            None,
            vec![
                measure("inferences", "count()", &count),
                measure("spend_usd", "sum(cost_usd)", &spend),
            ],
            Some(20),
        ),
        events(
            "refusal_rate",
            "Content-policy refusal rate against its 7-day baseline",
            Visual::Line,
            30 * DAY,
            source(&["inference", "policy_refusal"]),
            Vec::new(),
            Some(DAY),
            vec![
                measure("refusal_rate", rate_label, &rate),
                measure(
                    "baseline",
                    &format!("baseline({rate_label}, 7d)"),
                    &rate_baseline,
                ),
            ],
            None,
        ),
        events(
            "tool_calls_by_tool",
            "Tool invocations by tool",
            Visual::Bar,
            week,
            source(&["tool_call"]),
            vec![field("tool_name")],
            None,
            vec![measure("calls", "count()", &count)],
            None,
        ),
        events(
            "auth_failures",
            "Authentication failures per hour",
            Visual::Line,
            week,
            failures,
            Vec::new(),
            Some(3_600_000),
            vec![measure("failures", "count()", &count)],
            None,
        ),
        events(
            "inference_against_baseline",
            "Daily inference volume against its 7-day baseline",
            Visual::Line,
            week,
            source(&["inference"]),
            Vec::new(),
            Some(DAY),
            vec![
                measure("inferences", "count()", &count),
                measure("baseline", "baseline(count(), 7d)", &count_baseline),
            ],
            None,
        ),
        events(
            "spend_by_key",
            "Daily spend by API key",
            Visual::Bar,
            week,
            source(&["inference"]),
            vec![field("api_key_id")],
            Some(DAY),
            vec![measure("spend_usd", "sum(cost_usd)", &spend)],
            None,
        ),
        events(
            "output_size",
            "Output size distribution",
            Visual::Bar,
            week,
            source(&["inference"]),
            vec![GroupKey::Bin {
                field: "output_tokens".to_string(),
                size: 250.0,
            }],
            None,
            vec![measure("outputs", "count()", &count)],
            None,
        ),
        Panel {
            id: "alerts_by_rule".to_string(),
            origin: ORIGIN,
            title: "Alerts by rule".to_string(),
            description: String::new(),
            visual: Visual::Bar,
            range_ms: week,
            query: PanelQuery::Alerts {
                bucket_ms: Some(DAY),
            },
        },
    ];
    Dashboard {
        id: "llm.overview".to_string(),
        file: "rules/dashboards/llm.overview.tdl".to_string(),
        origin: ORIGIN,
        title: "LLM security overview".to_string(),
        description:
            "Volume, refusals, tools, authentication, spend and alerts of the LLM application."
                .to_string(),
        range_ms: week,
        panels,
    }
}

/// A dashboard of the shapes the overview does not use: a baseline per
/// group of a value that can be missing, week buckets, a single value, a
/// pie, `top` by a value that can be missing, alerts without buckets.
fn shapes_by_hand() -> Dashboard {
    let exprs = load_pack("tests/fixtures/dashboard_exprs");
    let (count, count_baseline, _) = sides(&exprs, "exprs.count_baseline");
    let (avg, avg_baseline, _) = sides(&exprs, "exprs.avg_tokens");
    let week = 7 * DAY;
    let panels = vec![
        events(
            "avg_against_baseline",
            "Average output size per key against its 3-day baseline",
            Visual::Line,
            week,
            source(&["inference"]),
            vec![field("api_key_id")],
            Some(DAY),
            vec![
                measure("avg_tokens", "avg(output_tokens)", &avg),
                measure(
                    "baseline",
                    "baseline(avg(output_tokens), 3d)",
                    &avg_baseline,
                ),
            ],
            None,
        ),
        events(
            "weekly",
            "Inferences per week",
            Visual::Bar,
            30 * DAY,
            source(&["inference"]),
            Vec::new(),
            Some(week),
            vec![measure("inferences", "count()", &count)],
            None,
        ),
        events(
            "total",
            "Inferences",
            Visual::Single,
            week,
            source(&["inference"]),
            Vec::new(),
            None,
            vec![measure("count", "count()", &count)],
            None,
        ),
        events(
            "tool_share",
            "Share of tool calls",
            Visual::Pie,
            week,
            source(&["tool_call"]),
            vec![field("tool_name")],
            None,
            vec![measure("calls", "count()", &count)],
            None,
        ),
        events(
            "largest_outputs",
            "Sessions with the largest outputs",
            Visual::Table,
            week,
            source(&["inference"]),
            vec![field("session_id")],
            None,
            vec![
                measure("avg_tokens", "avg(output_tokens)", &avg),
                measure("inferences", "count()", &count),
            ],
            Some(5),
        ),
        events(
            "deviation",
            "Daily inferences above their 7-day baseline",
            Visual::Line,
            week,
            source(&["inference"]),
            Vec::new(),
            Some(DAY),
            vec![measure(
                "deviation",
                "count() - baseline(count(), 7d)",
                &Expr {
                    kind: ExprKind::Arithmetic {
                        op: ArithmeticOp::Subtract,
                        left: Box::new(count.clone()),
                        right: Box::new(count_baseline.clone()),
                    },
                    value_type: ValueType::Float,
                    origin: ORIGIN,
                },
            )],
            None,
        ),
        Panel {
            id: "alerts_total".to_string(),
            origin: ORIGIN,
            title: "Alerts by rule".to_string(),
            description: String::new(),
            visual: Visual::Pie,
            range_ms: week,
            query: PanelQuery::Alerts { bucket_ms: None },
        },
    ];
    Dashboard {
        id: "fixture.shapes".to_string(),
        file: "tests/fixtures/dashboard_exprs/shapes.tdl".to_string(),
        origin: ORIGIN,
        title: "Panel shapes".to_string(),
        description: String::new(),
        range_ms: week,
        panels,
    }
}

/// The shipped pack with the overview dashboard.
fn pack_with_overview() -> Pack {
    let mut pack = load_pack("rules");
    if !pack
        .dashboards
        .iter()
        .any(|dashboard| dashboard.id == "llm.overview")
    {
        pack.dashboards.push(overview_by_hand());
    }
    pack
}

fn workbook_json(text: &str) -> (serde_json::Value, serde_json::Value) {
    let template: serde_json::Value = serde_json::from_str(text).unwrap();
    let serialized = template["resources"][0]["properties"]["serializedData"]
        .as_str()
        .unwrap();
    let notebook: serde_json::Value = serde_json::from_str(serialized).unwrap();
    (template, notebook)
}

#[test]
fn the_overview_workbook_matches_its_snapshot() {
    let pack = pack_with_overview();
    let mapping = SentinelKql.default_mapping(&pack.schema);
    let output = SentinelKql.dashboard_artifacts(&pack, &mapping);
    assert_eq!(output.written, ["llm.overview"]);
    let artifact = output
        .artifacts
        .iter()
        .find(|artifact| artifact.path == "workbooks/llm.overview.json")
        .expect("the workbook is written");
    let (mut template, notebook) = workbook_json(&artifact.text);
    // Reviewed as the template with the workbook laid out beside it, and
    // each query as KQL.
    template["resources"][0]["properties"]["serializedData"] =
        serde_json::json!("<the notebook below, as one JSON string>");
    let mut rendered = format!(
        "==> {}\n{}\n==> serializedData\n{}\n",
        artifact.path,
        serde_json::to_string_pretty(&template).unwrap(),
        serde_json::to_string_pretty(&notebook).unwrap()
    );
    for item in notebook["items"].as_array().unwrap() {
        if let Some(query) = item["content"]["query"].as_str() {
            rendered.push_str(&format!(
                "==> {}.kql\n{query}\n",
                item["name"].as_str().unwrap()
            ));
        }
    }
    for (panel, problems) in &output.failures {
        for problem in problems {
            rendered.push_str(&format!("==> not written: {panel}: {}\n", problem.message));
        }
    }
    let mut settings = Settings::clone_current();
    settings.set_snapshot_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/dashboards"),
    );
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| assert_snapshot!("sentinel_kql__llm.overview", rendered));
}

#[test]
fn every_panel_of_the_overview_is_written_or_reported() {
    let pack = pack_with_overview();
    let mapping = SentinelKql.default_mapping(&pack.schema);
    let output = SentinelKql.dashboard_artifacts(&pack, &mapping);
    for dashboard in &pack.dashboards {
        let artifact = output
            .artifacts
            .iter()
            .find(|artifact| artifact.path == format!("workbooks/{}.json", dashboard.id))
            .expect("one workbook per dashboard");
        let (template, notebook) = workbook_json(&artifact.text);
        let resource = &template["resources"][0];
        assert_eq!(resource["type"], "Microsoft.Insights/workbooks");
        assert_eq!(resource["kind"], "shared");
        assert_eq!(resource["properties"]["category"], "sentinel");
        assert_eq!(notebook["version"], "Notebook/1.0");
        let items = notebook["items"].as_array().unwrap();
        for panel in &dashboard.panels {
            let key = format!("{}.{}", dashboard.id, panel.id);
            let written = items
                .iter()
                .filter(|item| item["type"] == 3 && item["name"] == panel.id.as_str())
                .count();
            let reported = output.failures.iter().filter(|(id, _)| *id == key).count();
            assert_eq!(
                written + reported,
                1,
                "{key}: written {written}, reported {reported}"
            );
        }
        // The overview's panels all have an exact Kusto form.
        if dashboard.id == "llm.overview" {
            assert!(output.failures.is_empty(), "{:?}", output.failures);
            assert_eq!(
                items.iter().filter(|item| item["type"] == 3).count(),
                dashboard.panels.len()
            );
        }
    }
}

#[test]
fn the_time_range_follows_the_picker_unless_the_panel_has_its_own() {
    let pack = pack_with_overview();
    let mapping = SentinelKql.default_mapping(&pack.schema);
    let output = SentinelKql.dashboard_artifacts(&pack, &mapping);
    let (_, notebook) = workbook_json(&output.artifacts[0].text);
    let items = notebook["items"].as_array().unwrap();
    let picker = &items[1]["content"]["parameters"][0];
    assert_eq!(picker["name"], "TimeRange");
    assert_eq!(picker["type"], 4);
    assert_eq!(picker["value"]["durationMs"], 7 * DAY);
    let item = |name: &str| {
        items
            .iter()
            .find(|item| item["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["content"]
            .clone()
    };
    let volume = item("inference_by_key");
    assert_eq!(volume["timeContextFromParameter"], "TimeRange");
    assert_eq!(volume["visualization"], "timechart");
    let sessions = item("busiest_sessions");
    assert!(sessions.get("timeContextFromParameter").is_none());
    assert_eq!(sessions["timeContext"]["durationMs"], DAY);
    assert_eq!(sessions["visualization"], "table");
    assert_eq!(item("output_size")["visualization"], "categoricalbar");
    assert_eq!(item("spend_by_key")["visualization"], "barchart");
}

#[test]
fn the_panel_queries_read_as_written() {
    let pack = pack_with_overview();
    let mapping = SentinelKql.default_mapping(&pack.schema);
    let output = SentinelKql.dashboard_artifacts(&pack, &mapping);
    let (_, notebook) = workbook_json(&output.artifacts[0].text);
    let query = |name: &str| -> String {
        notebook["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["name"] == name)
            .unwrap()["content"]["query"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        query("inference_by_key"),
        "LLMAppEvents_CL\n| where EventType == \"inference\"\n| where isnotempty(ApiKeyId)\n| summarize inferences = count() by bin(TimeGenerated, 1d), ApiKeyId"
    );
    let sessions = query("busiest_sessions");
    assert!(
        sessions.ends_with("| sort by inferences desc, SessionId asc\n| take 20"),
        "{sessions}"
    );
    assert!(
        query("output_size").contains("by OutputTokensBin = bin(OutputTokens, 250)"),
        "{}",
        query("output_size")
    );
    // The ratio over doubles, null on a zero divisor; its baseline skips
    // buckets without a value (no empty value); the count's counts empty
    // buckets as 0.
    let rate = query("refusal_rate");
    for part in [
        "let Lookback = 7d;",
        "| join kind=inner (Buckets\n        | project Scope = 1, EarlierStart = TimeGenerated, Earlier = iff(todouble(Count2) == 0, real(null), todouble(Count) / todouble(Count2))) on Scope",
        "| lookup kind=leftouter History on TimeGenerated",
        "baseline = iff(BaselineValues > 0, BaselineSum / BaselineValues, real(null))",
        "| project TimeGenerated, refusal_rate, baseline",
    ] {
        assert!(rate.contains(part), "{part}\n---\n{rate}");
    }
    let volume = query("inference_against_baseline");
    assert!(
        volume.contains(
            "| extend BaselineEmpty = (TimeGenerated - BaselineFirst) / Bucket - BaselineActive"
        ),
        "{volume}"
    );
    let alerts = query("alerts_by_rule");
    assert!(
        alerts.starts_with("let PackRules = datatable(RuleGuid: string, Rule: string) ["),
        "{alerts}"
    );
    assert!(
        alerts.contains("| lookup kind=inner PackRules on RuleGuid"),
        "{alerts}"
    );
    assert!(
        alerts.ends_with("| summarize Alerts = count() by bin(TimeGenerated, 1d), Rule"),
        "{alerts}"
    );
}

#[test]
fn a_panel_without_an_exact_query_is_left_out_and_reported() {
    let mut pack = pack_with_overview();
    let mut dashboard = pack.dashboards[0].clone();
    // `bin` of a text column has no meaning (the checker refuses it; a
    // target must not print it either).
    dashboard.panels.push(events(
        "keys_binned",
        "Keys in ranges",
        Visual::Bar,
        7 * DAY,
        source(&["inference"]),
        vec![GroupKey::Bin {
            field: "api_key_id".to_string(),
            size: 10.0,
        }],
        None,
        dashboard.panels[0].clone().query_measures(),
        None,
    ));
    dashboard.id = "broken.overview".to_string();
    pack.dashboards = vec![dashboard];
    let mapping = SentinelKql.default_mapping(&pack.schema);
    let output = SentinelKql.dashboard_artifacts(&pack, &mapping);
    assert_eq!(output.failures.len(), 1, "{:?}", output.failures);
    assert_eq!(output.failures[0].0, "broken.overview.keys_binned");
    assert!(
        output.failures[0].1[0]
            .message
            .contains("needs a number column"),
        "{:?}",
        output.failures
    );
    // The other panels are still written.
    let (_, notebook) = workbook_json(&output.artifacts[0].text);
    assert_eq!(
        notebook["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|item| item["type"] == 3)
            .count(),
        9
    );
}

#[test]
fn an_alerts_panel_without_compiled_rules_is_reported() {
    let mut pack = pack_with_overview();
    pack.rules.clear();
    let mapping = SentinelKql.default_mapping(&pack.schema);
    let output = SentinelKql.dashboard_artifacts(&pack, &mapping);
    assert_eq!(
        output
            .failures
            .iter()
            .map(|(panel, _)| panel.as_str())
            .collect::<Vec<_>>(),
        ["llm.overview.alerts_by_rule"]
    );
}

/// The whole Sentinel output with the overview and the panel shapes it does
/// not use, for `.ci/run`'s Kusto and ARM checks
/// (`target/tmp/dashboard-conformance/sentinel_kql`).
#[test]
fn the_overview_is_written_for_the_conformance_checks() {
    let mut pack = pack_with_overview();
    pack.dashboards.push(shapes_by_hand());
    let mapping = SentinelKql.default_mapping(&pack.schema);
    let registry = targets::registry();
    let output = targets::compile_pack(&SentinelKql, &pack, &mapping, &registry);
    assert!(
        output.panel_failures.is_empty(),
        "{:?}",
        output.panel_failures
    );
    assert_eq!(output.dashboards, ["llm.overview", "fixture.shapes"]);
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-conformance/sentinel_kql");
    let _ = std::fs::remove_dir_all(&root);
    for (path, text) in &output.files {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    assert!(root.join("workbooks/llm.overview.json").is_file());
    let shapes = &output.files["workbooks/fixture.shapes.json"];
    let (_, notebook) = workbook_json(shapes);
    let query = |name: &str| -> String {
        notebook["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["name"] == name)
            .unwrap()["content"]["query"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let grouped = query("avg_against_baseline");
    for part in [
        "| project ApiKeyId, EarlierStart = TimeGenerated, Earlier = iff(AvgOutputTokensValues > 0, AvgOutputTokens, real(null))) on ApiKeyId",
        "by ApiKeyId, TimeGenerated;",
        "| lookup kind=leftouter History on ApiKeyId, TimeGenerated",
        "avg_tokens = iff(AvgOutputTokensValues > 0, AvgOutputTokens, real(null))",
        "| project TimeGenerated, ApiKeyId, avg_tokens, baseline",
    ] {
        assert!(grouped.contains(part), "{part}\n---\n{grouped}");
    }
    assert!(!grouped.contains("BaselineEmpty"), "{grouped}");
    assert!(
        query("weekly").contains(
            "by TimeGenerated = bin_at(TimeGenerated, 7d, datetime(1970-01-01T00:00:00Z))"
        ),
        "{}",
        query("weekly")
    );
    assert!(
        query("largest_outputs").ends_with("| sort by avg_tokens desc, SessionId asc\n| take 5"),
        "{}",
        query("largest_outputs")
    );
    // A measure over a baseline reads the baseline's column; the count is a
    // helper column, projected away.
    let deviation = query("deviation");
    for part in [
        "| summarize Count = count() by bin(TimeGenerated, 1d));",
        "| extend Baseline = iff(BaselineValues + BaselineEmpty > 0, BaselineSum / (BaselineValues + BaselineEmpty), real(null))",
        "| extend deviation = (todouble(Count) - Baseline)",
        "| project TimeGenerated, deviation",
    ] {
        assert!(deviation.contains(part), "{part}\n---\n{deviation}");
    }
    assert!(
        query("alerts_total").ends_with("| summarize Alerts = count() by Rule"),
        "{}",
        query("alerts_total")
    );
}

trait QueryMeasures {
    fn query_measures(self) -> Vec<Measure>;
}

impl QueryMeasures for Panel {
    fn query_measures(self) -> Vec<Measure> {
        match self.query {
            PanelQuery::Events { measures, .. } => measures,
            PanelQuery::Alerts { .. } => Vec::new(),
        }
    }
}
