//! Kibana dashboards (issue 14, item 3): the shipped overview compiled for
//! `elastic_esql` as a saved-objects import of ES|QL Lens panels, reviewed as
//! a snapshot of each panel's query and visualisation, and a panel the target
//! cannot print reported at its text instead of dropped silently.
//! `.ci/conformance/kibana_dashboard_check.py` checks the objects against
//! Kibana's saved-object types and parses every query.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use insta::{Settings, assert_snapshot};
use serde_json::Value as Json;

fn tripline(directory: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(arguments)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .output()
        .expect("the tripline binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("tripline-kibana-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("temp dir");
    directory
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The objects of one dashboard's import file.
fn objects(out: &Path, id: &str) -> Vec<Json> {
    let path = out.join(format!("elastic_esql/kibana/dashboards/{id}.ndjson"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

/// The dashboard's panels, parsed from `panelsJSON`.
fn panels(objects: &[Json]) -> Vec<Json> {
    let dashboard = objects
        .iter()
        .find(|object| object["type"] == "dashboard")
        .expect("a dashboard object");
    serde_json::from_str(dashboard["attributes"]["panelsJSON"].as_str().unwrap()).unwrap()
}

#[test]
fn the_overview_is_one_import_of_a_data_view_and_nine_esql_panels() {
    let out = temp_dir("overview");
    let out_text = out.to_string_lossy().into_owned();
    let output = tripline(
        &root(),
        &[
            "compile",
            "rules",
            "--target",
            "elastic_esql",
            "--out",
            &out_text,
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 dashboard,"), "{stdout}");
    let objects = objects(&out, "llm.overview");
    let types: Vec<&str> = objects
        .iter()
        .map(|object| object["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["index-pattern", "dashboard"]);
    let panels = panels(&objects);
    let mut rendered = String::new();
    for panel in &panels {
        let lens = &panel["embeddableConfig"]["attributes"];
        let state = &lens["state"];
        let layer = state["datasourceStates"]["textBased"]["layers"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap();
        assert_eq!(layer["query"], state["query"], "one query per panel");
        let columns: Vec<String> = layer["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|column| {
                format!(
                    "{}:{}",
                    column["columnId"].as_str().unwrap(),
                    column["meta"]["type"].as_str().unwrap()
                )
            })
            .collect();
        rendered.push_str(&format!(
            "## {} ({}, grid {})\ncolumns: {}\nvisualization: {}\n{}\n\n",
            panel["title"].as_str().unwrap(),
            lens["visualizationType"].as_str().unwrap(),
            panel["gridData"],
            columns.join(", "),
            state["visualization"],
            state["query"]["esql"].as_str().unwrap(),
        ));
    }
    assert_eq!(panels.len(), 9);
    let mut settings = Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots/dashboards"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| assert_snapshot!("kibana_overview", rendered));
}

#[test]
fn a_panel_esql_cannot_print_is_reported_at_its_text_and_the_others_are_written() {
    let directory = temp_dir("refused");
    std::fs::create_dir_all(directory.join("rules")).unwrap();
    std::fs::write(
        directory.join("tripline.yaml"),
        format!(
            "packs: [{}]\nrules: [rules]\n",
            root().join("rules").display()
        ),
    )
    .unwrap();
    // ES|QL compares an `ip` field with addresses and networks, not as
    // text: a string operator on one has no exact form there.
    std::fs::write(
        directory.join("rules/ops.tdl"),
        r#"dashboard acme.ops {
  title: "Acme operations"
  range: 7d

  panel volume {
    title: "Volume"
    visual: line
    match inference
    every 1d
    show count() as calls
  }

  panel internal_auth {
    title: "Logins from addresses written 10.*"
    visual: line
    match auth where src_ip startswith "10."
    every 1d
    show count() as logins
  }
}
"#,
    )
    .unwrap();
    let out = directory.join("build");
    let out_text = out.to_string_lossy().into_owned();
    let arguments = [
        "compile",
        "--target",
        "elastic_esql",
        "--out",
        &out_text,
        "--explain-unsupported",
    ];
    let output = tripline(&directory, &arguments);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "panel `acme.ops.internal_auth` is left out of its dashboard for elastic_esql"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("ops.tdl"),
        "the diagnostic points at the panel's file: {stderr}"
    );
    assert!(stderr.contains("1 dashboard panel left out"), "{stderr}");
    assert!(stdout.contains("(1 panel left out)"), "{stdout}");
    let written = panels(&objects(&out, "acme.ops"));
    let titles: Vec<&str> = written
        .iter()
        .map(|panel| panel["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Volume"]);
    let mut arguments = arguments.to_vec();
    arguments.push("--deny-unsupported");
    let output = tripline(&directory, &arguments);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("dashboard panel left out (--deny-unsupported)")
    );
}
