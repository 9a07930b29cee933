//! `tripline dashboard preview` on a small fixture: the page it writes, its
//! exit codes, and no partial output on bad input.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tripline(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(arguments)
        .env("NO_COLOR", "1")
        .output()
        .expect("the tripline binary runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("tripline-dash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("temp dir");
    directory
}

const RULE: &str = r#"
rule local.auth_failure {
  title: "Authentication failure"
  description: "d"
  severity: low
  category: behavioral
  guide: "g"
  match auth where outcome == "failure"
}
"#;

const DASHBOARD: &str = r#"
/// A small board for the CLI test.
dashboard local.board {
  title: "Local board"
  description: "Fixture"
  range: 7d

  panel by_key {
    title: "Inferences by key"
    visual: line
    match inference
    group by api_key_id
    every 1d
    show count() as inferences
  }

  panel sessions {
    title: "Sessions"
    visual: table
    match inference
    group by session_id
    show count() as inferences, sum(cost_usd) as spend_usd
    top 5
  }

  panel total {
    title: "All inferences"
    visual: single
    match inference
    show count() as inferences
  }

  panel shares {
    title: "Tool calls by tool"
    visual: pie
    match tool_call
    group by tool_name
    show count() as calls
  }

  panel alerts {
    title: "Alerts by rule"
    visual: bar
    show alerts by rule
  }
}
"#;

/// A content directory: the shipped schema, one rule, the dashboard.
fn fixture(name: &str) -> PathBuf {
    let directory = temp_dir(name);
    std::fs::write(directory.join("rule.tdl"), RULE).unwrap();
    std::fs::write(directory.join("board.tdl"), DASHBOARD).unwrap();
    directory
}

const HOSTILE: &str = "<script>alert('x')</script>";

fn events(directory: &Path, lines: &[String]) -> PathBuf {
    let path = directory.join("events.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn line(time: &str, kind: &str, fields: serde_json::Value) -> String {
    let mut object = serde_json::json!({"timestamp": time, "event_type": kind});
    if let (Some(target), serde_json::Value::Object(fields)) = (object.as_object_mut(), fields) {
        target.extend(fields);
    }
    object.to_string()
}

fn sample() -> Vec<String> {
    vec![
        line(
            "2026-03-02T10:00:00Z",
            "inference",
            serde_json::json!({"api_key_id": HOSTILE, "session_id": "s1", "cost_usd": 0.25, "model": "m"}),
        ),
        line(
            "2026-03-03T10:00:00Z",
            "inference",
            serde_json::json!({"api_key_id": "key-2", "session_id": "s2", "cost_usd": 0.5, "model": "m"}),
        ),
        line(
            "2026-03-03T11:00:00Z",
            "tool_call",
            serde_json::json!({"tool_name": "http_get", "status": "success"}),
        ),
        line(
            "2026-03-03T12:00:00Z",
            "auth",
            serde_json::json!({"outcome": "failure", "auth_method": "api_key"}),
        ),
    ]
}

/// The `data-points` of each panel of a page, in order.
fn points(page: &str) -> Vec<(String, usize)> {
    page.split("data-panel=\"")
        .skip(1)
        .map(|rest| {
            let id = rest.split('"').next().unwrap_or_default().to_string();
            let count = rest
                .split("data-points=\"")
                .nth(1)
                .and_then(|tail| tail.split('"').next())
                .and_then(|number| number.parse().ok())
                .unwrap_or(usize::MAX);
            (id, count)
        })
        .collect()
}

#[test]
fn preview_draws_every_panel_of_a_fixture_and_escapes_event_values() {
    let directory = fixture("ok");
    let events = events(&directory, &sample());
    let out = directory.join("out");
    let rules = directory.to_string_lossy().into_owned();
    let output = tripline(&[
        "dashboard",
        "preview",
        "rules/schema",
        &rules,
        "--events",
        &events.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("dashboard `local.board`, 5 panels from 4 events"),
        "{}",
        text(&output.stderr)
    );
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert_eq!(
        points(&page),
        [
            ("by_key".to_string(), 2),
            ("sessions".to_string(), 2),
            ("total".to_string(), 1),
            ("shares".to_string(), 1),
            ("alerts".to_string(), 1),
        ]
    );
    assert!(!page.contains("<script"), "an event value was not escaped");
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(page.contains("<h1>Local board</h1>"));
}

#[test]
fn preview_chooses_a_dashboard_by_id_and_refuses_unknown_ones() {
    let directory = fixture("choose");
    let events = events(&directory, &sample());
    let out = directory.join("out");
    let rules = directory.to_string_lossy().into_owned();
    let events = events.to_string_lossy().into_owned();
    let out_text = out.to_string_lossy().into_owned();
    let run = |id: &str| {
        tripline(&[
            "dashboard",
            "preview",
            "rules/schema",
            &rules,
            "--events",
            &events,
            "--out",
            &out_text,
            "--dashboard",
            id,
        ])
    };
    let output = run("local.bord");
    assert_eq!(code(&output), 2, "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("did you mean `local.board`"),
        "{}",
        text(&output.stderr)
    );
    assert!(!out.exists(), "nothing is written on a usage error");
    assert_eq!(code(&run("local.board")), 0);
    assert!(out.join("index.html").exists());
}

#[test]
fn preview_of_a_bad_events_line_is_a_located_error_and_writes_nothing() {
    let directory = fixture("bad");
    let mut lines = sample();
    lines.insert(
        1,
        "{\"event_type\": \"inference\", \"timestamp\": \"soon\"}".into(),
    );
    let events = events(&directory, &lines);
    let out = directory.join("out");
    let output = tripline(&[
        "dashboard",
        "preview",
        "rules/schema",
        &directory.to_string_lossy(),
        "--events",
        &events.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("E0512"), "{stderr}");
    assert!(stderr.contains("events.jsonl:2"), "{stderr}");
    assert!(!out.join("index.html").exists(), "no partial page");

    // A missing file is a usage error.
    let output = tripline(&[
        "dashboard",
        "preview",
        "rules/schema",
        &directory.to_string_lossy(),
        "--events",
        &directory.join("missing.jsonl").to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code(&output), 2, "{}", text(&output.stderr));
    assert!(!out.join("index.html").exists());
}

#[test]
fn preview_without_a_dashboard_says_how_to_declare_one() {
    let directory = temp_dir("none");
    std::fs::write(directory.join("rule.tdl"), RULE).unwrap();
    let events = events(&directory, &sample());
    let output = tripline(&[
        "dashboard",
        "preview",
        "rules/schema",
        &directory.to_string_lossy(),
        "--events",
        &events.to_string_lossy(),
        "--out",
        &directory.join("out").to_string_lossy(),
    ]);
    assert_eq!(code(&output), 2, "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("declare no dashboard"),
        "{}",
        text(&output.stderr)
    );
}

/// `dashboard preview` of the shipped schema and `rules`, on `events`, with `more` arguments.
fn preview(rules: &str, events: &Path, more: &[&str]) -> Output {
    let events = events.to_string_lossy();
    let mut arguments = vec![
        "dashboard",
        "preview",
        "rules/schema",
        rules,
        "--events",
        &events,
    ];
    arguments.extend_from_slice(more);
    tripline(&arguments)
}

#[test]
fn preview_json_writes_each_panels_rows_as_the_evaluator_computes_them() {
    let directory = fixture("json");
    let events = events(&directory, &sample());
    let json_path = directory.join("panels.json");
    let rules = directory.to_string_lossy().into_owned();
    let output = preview(&rules, &events, &["--json", &json_path.to_string_lossy()]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    // Without --out, only the JSON is written.
    assert!(!directory.join("index.html").exists());
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    // 2026-03-03T12:00:00Z, the last event.
    let end = 1_772_539_200_000_i64;
    assert_eq!(data["dashboard"], "local.board");
    assert_eq!(data["end_ms"], end);
    assert_eq!(data["events"], 4);
    let panels = data["panels"].as_array().unwrap();
    let ids: Vec<&str> = panels
        .iter()
        .map(|panel| panel["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["by_key", "sessions", "total", "shares", "alerts"]);

    let by_key = &panels[0];
    assert_eq!(by_key["keys"], serde_json::json!(["api_key_id"]));
    assert_eq!(by_key["measures"], serde_json::json!(["inferences"]));
    assert_eq!(by_key["bucket_ms"], 86_400_000);
    assert_eq!(
        by_key["range"],
        serde_json::json!([end - 7 * 86_400_000, end])
    );
    // Epoch-aligned days, then keys; a bucket only on panels over time.
    assert_eq!(
        by_key["rows"],
        serde_json::json!([
            {"bucket": 1_772_409_600_000_i64, "keys": [HOSTILE], "values": [1.0]},
            {"bucket": 1_772_496_000_000_i64, "keys": ["key-2"], "values": [1.0]},
        ])
    );
    // `top`: the first measure descending, ties by key ascending.
    assert_eq!(
        panels[1]["rows"],
        serde_json::json!([
            {"keys": ["s1"], "values": [1.0, 0.25]},
            {"keys": ["s2"], "values": [1.0, 0.5]},
        ])
    );
    assert_eq!(
        panels[2]["rows"],
        serde_json::json!([{"keys": [], "values": [2.0]}])
    );
    assert_eq!(panels[3]["visual"], "pie");
    assert_eq!(
        panels[4]["rows"],
        serde_json::json!([{"keys": ["local.auth_failure"], "values": [1.0]}])
    );

    // With --out as well, both are written, and the JSON is the same.
    let out = directory.join("out");
    let again = directory.join("again.json");
    let output = preview(
        &rules,
        &events,
        &[
            "--json",
            &again.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
        ],
    );
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(out.join("index.html").exists());
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        std::fs::read_to_string(&json_path).unwrap()
    );

    // Neither --out nor --json: a usage error.
    let output = preview(&rules, &events, &[]);
    assert_eq!(code(&output), 2, "{}", text(&output.stderr));
    let _ = std::fs::remove_dir_all(&directory);
}
