//! Dashboard panels as DuckDB and Spark SQL: the shipped overview's and the
//! extra shapes of `tests/fixtures/sql_panels` are reviewed snapshots (every
//! `dashboards/<dashboard>/<panel>.sql` and `dashboards.jsonl`), and a panel
//! without an exact query is left out with a located reason. What the
//! queries return is checked against the preview by
//! `.ci/conformance/panel_check.py`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use insta::{Settings, assert_snapshot};
use tripline::ir::Pack;
use tripline::project::{LoadOptions, load};
use tripline::targets;

fn pack_at(path: &Path) -> (Pack, tripline::source::Sources) {
    let project = load(&LoadOptions {
        paths: vec![path.to_path_buf()],
        ..LoadOptions::default()
    })
    .expect("the pack loads");
    let pack = project.pack.clone().expect("the pack checks");
    (pack, project.sources)
}

fn rendered(target: &str, pack: &Pack, dashboard: &str) -> String {
    let target = targets::find(target).expect("a registered target");
    let mapping = target.default_mapping(&pack.schema);
    let output = target.dashboard_artifacts(pack, &mapping);
    assert!(
        output.failures.is_empty(),
        "every panel is written: {:?}",
        output.failures
    );
    assert!(output.written.iter().any(|id| id == dashboard));
    let mut text = String::new();
    for artifact in &output.artifacts {
        if artifact.path == "dashboards.jsonl" {
            let lines: String = artifact
                .text
                .lines()
                .filter(|line| line.contains(&format!("\"dashboard\":\"{dashboard}\"")))
                .map(|line| format!("{line}\n"))
                .collect();
            text.push_str(&format!("==> {}\n{lines}", artifact.path));
        } else if artifact
            .path
            .starts_with(&format!("dashboards/{dashboard}/"))
        {
            text.push_str(&format!("==> {}\n{}", artifact.path, artifact.text));
        }
    }
    text
}

fn snapshot(name: &str, text: &str) {
    let mut settings = Settings::clone_current();
    settings.set_snapshot_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/dashboards"),
    );
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| assert_snapshot!(name, text));
}

#[test]
fn the_overview_panels_as_sql_match_their_snapshots() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let (pack, _) = pack_at(&PathBuf::from("rules"));
    for target in ["duckdb_sql", "spark_sql"] {
        let text = rendered(target, &pack, "llm.overview");
        assert_eq!(text.matches("==> dashboards/llm.overview/").count(), 9);
        snapshot(&format!("{target}__llm.overview"), &text);
    }
}

#[test]
fn more_panel_shapes_as_sql_match_their_snapshots() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let (pack, _) = pack_at(&PathBuf::from("tests/fixtures/sql_panels"));
    for target in ["duckdb_sql", "spark_sql"] {
        let text = rendered(target, &pack, "acme.shapes");
        snapshot(&format!("{target}__acme.shapes"), &text);
    }
}

#[test]
fn a_measure_named_like_the_bucket_column_is_left_out_with_a_located_reason() {
    let directory = std::env::temp_dir().join(format!("tripline-sql-panel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(directory.join("rules")).unwrap();
    std::fs::write(
        directory.join("tripline.yaml"),
        "packs: [builtin]\nrules: [rules]\n",
    )
    .unwrap();
    std::fs::write(
        directory.join("rules/clash.tdl"),
        "dashboard acme.clash {\n  title: \"Clash\"\n  range: 1d\n\n  panel by_key {\n    title: \"By key\"\n    visual: bar\n    match inference\n    group by api_key_id\n    every 1d\n    show count() as bucket_start_ms\n  }\n\n  panel fine {\n    title: \"Fine\"\n    visual: single\n    match inference\n    show count() as inferences\n  }\n}\n",
    )
    .unwrap();
    let (pack, sources) = pack_at(&directory);
    for id in ["duckdb_sql", "spark_sql"] {
        let target = targets::find(id).unwrap();
        let mapping = target.default_mapping(&pack.schema);
        let output = target.dashboard_artifacts(&pack, &mapping);
        let (panel, problems) = output
            .failures
            .iter()
            .find(|(panel, _)| panel == "acme.clash.by_key")
            .expect("the clashing panel is reported");
        assert!(
            output
                .artifacts
                .iter()
                .any(|artifact| artifact.path == "dashboards/acme.clash/fine.sql"),
            "the other panel is still written"
        );
        assert!(
            !output
                .artifacts
                .iter()
                .any(|artifact| artifact.path == "dashboards/acme.clash/by_key.sql")
        );
        let diagnostic =
            targets::panel_problem_diagnostic(&problems[0], id, panel, &pack, &sources)
                .expect("a diagnostic at the panel");
        let text = tripline::diagnostics::render_human(
            &[diagnostic],
            &sources,
            tripline::diagnostics::ColorMode::Never,
        );
        assert!(text.contains("E0402"), "{text}");
        assert!(text.contains("clash.tdl:5:"), "{text}");
        assert!(text.contains("rename it with `as`"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&directory);
}
