//! Dashboards of the shipped pack and of content repositories: the shipped
//! overview's panels (the ids and visuals the emitters and the preview test
//! against), the built-in copy, `ir --dashboards`, `check`'s count, and a
//! repository's own dashboards next to, or instead of, the shipped one.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tripline::ir::dashboard::{Dashboard, GroupKey, PanelQuery, Visual};
use tripline::project::{LoadOptions, load};

fn tripline_in(directory: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(arguments)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .output()
        .expect("the tripline binary runs")
}

fn both(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("tripline-dash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("temp dir");
    directory
}

fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(path, content).expect("write");
}

fn dashboards_of(path: &Path) -> Vec<Dashboard> {
    let project = load(&LoadOptions {
        paths: vec![path.to_path_buf()],
        ..LoadOptions::default()
    })
    .expect("the pack loads");
    let pack = project.pack.unwrap_or_else(|| {
        panic!(
            "{}",
            tripline::diagnostics::render_human(
                &project.diagnostics.into_sorted(),
                &project.sources,
                tripline::diagnostics::ColorMode::Never
            )
        )
    });
    pack.dashboards
}

/// `(id, visual, bucket, group columns, measure names, top, range in days)`.
type Expected = (
    &'static str,
    Visual,
    Option<i64>,
    &'static [&'static str],
    &'static [&'static str],
    Option<u32>,
    i64,
);

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

const OVERVIEW: [Expected; 9] = [
    (
        "inference_by_key",
        Visual::Line,
        Some(DAY),
        &["api_key_id"],
        &["inferences"],
        None,
        7,
    ),
    (
        "busiest_sessions",
        Visual::Table,
        None,
        &["session_id"],
        &["inferences", "spend_usd"],
        Some(20),
        1,
    ),
    (
        "refusal_rate",
        Visual::Line,
        Some(DAY),
        &[],
        &["refusal_rate", "baseline"],
        None,
        30,
    ),
    (
        "tool_calls_by_tool",
        Visual::Bar,
        None,
        &["tool_name"],
        &["tool_calls"],
        None,
        7,
    ),
    (
        "auth_failures",
        Visual::Line,
        Some(HOUR),
        &[],
        &["failures"],
        None,
        7,
    ),
    (
        "inference_against_baseline",
        Visual::Line,
        Some(DAY),
        &[],
        &["inferences", "baseline"],
        None,
        30,
    ),
    (
        "spend_by_key",
        Visual::Bar,
        Some(DAY),
        &["api_key_id"],
        &["spend_usd"],
        None,
        7,
    ),
    (
        "output_size",
        Visual::Bar,
        None,
        &["output_tokens_bin"],
        &["outputs"],
        None,
        7,
    ),
    ("alerts_by_rule", Visual::Bar, Some(DAY), &[], &[], None, 7),
];

fn assert_overview(dashboards: &[Dashboard]) {
    let [overview] = dashboards else {
        panic!("one shipped dashboard: {dashboards:?}");
    };
    assert_eq!(overview.id, "llm.overview");
    assert_eq!(overview.title, "LLM security overview");
    assert_eq!(overview.range_ms, 7 * DAY);
    let ids: Vec<&str> = overview
        .panels
        .iter()
        .map(|panel| panel.id.as_str())
        .collect();
    let expected_ids: Vec<&str> = OVERVIEW.iter().map(|expected| expected.0).collect();
    assert_eq!(ids, expected_ids);
    for (panel, (id, visual, bucket, columns, measures, top, days)) in
        overview.panels.iter().zip(OVERVIEW)
    {
        assert_eq!(panel.visual, visual, "{id}");
        assert_eq!(panel.range_ms, days * DAY, "{id}");
        assert!(!panel.title.is_empty(), "{id}");
        match &panel.query {
            PanelQuery::Alerts { bucket_ms } => {
                assert_eq!(id, "alerts_by_rule");
                assert_eq!(*bucket_ms, bucket, "{id}");
            }
            PanelQuery::Events {
                group_by,
                bucket_ms,
                measures: shown,
                top: kept,
                ..
            } => {
                assert_eq!(*bucket_ms, bucket, "{id}");
                let group_columns: Vec<String> = group_by.iter().map(GroupKey::column).collect();
                assert_eq!(group_columns, columns, "{id}");
                let names: Vec<&str> = shown.iter().map(|measure| measure.name.as_str()).collect();
                assert_eq!(names, measures, "{id}");
                assert_eq!(*kept, top, "{id}");
            }
        }
    }
    let output_size = &overview.panels[7];
    let PanelQuery::Events { group_by, .. } = &output_size.query else {
        panic!("events");
    };
    assert_eq!(
        group_by,
        &[GroupKey::Bin {
            field: "output_tokens".into(),
            size: 250.0
        }]
    );
}

#[test]
fn the_shipped_overview_has_the_nine_panels_of_the_design() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    assert_overview(&dashboards_of(&rules));
}

#[test]
fn every_panel_of_the_overview_has_a_lowering_plan() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let project = load(&LoadOptions {
        paths: vec![rules],
        ..LoadOptions::default()
    })
    .expect("the pack loads");
    let pack = project.pack.expect("the pack checks");
    for panel in &pack.dashboards[0].panels {
        let plan = tripline::targets::plan::panel(panel, &pack)
            .unwrap_or_else(|problems| panic!("{}: {problems:?}", panel.id));
        assert_eq!(plan.id, panel.id);
    }
}

#[test]
fn the_built_in_pack_embeds_the_overview() {
    let directory = temp_dir("builtin");
    write(&directory.join("tripline.yaml"), "packs: [builtin]\n");
    let dashboards = dashboards_of(&directory);
    assert_overview(&dashboards);
    assert_eq!(dashboards[0].file, "<builtin>/dashboards/llm.overview.tdl");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn check_counts_dashboards_and_ir_prints_them() {
    let directory = temp_dir("cli");
    write(&directory.join("tripline.yaml"), "packs: [builtin]\n");
    let check = tripline_in(&directory, &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", both(&check));
    assert!(
        both(&check).contains(" rules, 1 dashboard, "),
        "{}",
        both(&check)
    );
    let ir = tripline_in(&directory, &["ir", "--dashboards"]);
    assert_eq!(ir.status.code(), Some(0), "{}", both(&ir));
    let json: serde_json::Value = serde_json::from_slice(&ir.stdout).expect("JSON");
    let ids: Vec<&str> = json
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|dashboard| dashboard["id"].as_str())
        .collect();
    assert_eq!(ids, ["llm.overview"]);
    assert_eq!(json[0]["panels"][8]["query"]["kind"], "alerts");
    let _ = std::fs::remove_dir_all(&directory);
}

const OWN: &str = r#"/// The team's own view.
dashboard ID {
  title: "Acme"

  panel refusals_by_model {
    title: "Refusals by model"
    visual: pie
    match policy_refusal
    group by model
    show count() as refusals
  }
}
"#;

#[test]
fn a_content_repository_adds_dashboards_and_replaces_a_disabled_shipped_one() {
    let directory = temp_dir("own");
    write(
        &directory.join("tripline.yaml"),
        "packs: [builtin]\nrules: [rules]\n",
    );
    write(
        &directory.join("rules/acme.tdl"),
        &OWN.replace("ID", "acme.refusals"),
    );
    let ids: Vec<String> = dashboards_of(&directory)
        .into_iter()
        .map(|dashboard| dashboard.id)
        .collect();
    assert_eq!(ids, ["acme.refusals", "llm.overview"]);

    // The shipped id again: an error at the repository's declaration.
    write(
        &directory.join("rules/acme.tdl"),
        &OWN.replace("ID", "llm.overview"),
    );
    let check = tripline_in(&directory, &["check"]);
    assert_eq!(check.status.code(), Some(1), "{}", both(&check));
    assert!(
        both(&check).contains("error[E0317]: the dashboard id `llm.overview` is declared twice"),
        "{}",
        both(&check)
    );

    // Unless the shipped one is disabled: the repository's takes its place.
    write(
        &directory.join("tripline.yaml"),
        "packs: [builtin]\nrules: [rules]\ndisable:\n  llm.overview: \"our own overview\"\n",
    );
    let dashboards = dashboards_of(&directory);
    assert_eq!(dashboards.len(), 1);
    assert_eq!(dashboards[0].id, "llm.overview");
    assert_eq!(dashboards[0].title, "Acme");
    let check = tripline_in(&directory, &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", both(&check));
    assert!(
        both(&check).contains(
            "note: dashboard `llm.overview` is disabled by tripline.yaml: our own overview"
        ),
        "{}",
        both(&check)
    );

    // Disabled without a replacement: no dashboard at all.
    std::fs::remove_file(directory.join("rules/acme.tdl")).expect("remove");
    write(
        &directory.join("rules/acme.rule.tdl"),
        "rule acme.one {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  match auth where outcome == \"failure\"\n}\n",
    );
    assert!(dashboards_of(&directory).is_empty());
    let _ = std::fs::remove_dir_all(&directory);
}
