//! Shared helpers of the evaluator tests: packs from rule text, events, runs.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tripline::check::{CheckOptions, check};
use tripline::diagnostics::{ColorMode, render_human};
use tripline::eval::{self, Alert, EvalOptions};
use tripline::ir;
use tripline::source::Sources;
use tripline::syntax::parse;

/// A small schema with the shipped field names.
pub const SCHEMA: &str = r#"
common {
  timestamp: timestamp required,
  event_type: string required,
  event_id: string,
  app: string,
  session_id: string,
  user_id: string,
  api_key_id: string,
  src_ip: ip,
  geo_country: string,
}
event inference { model: string, user_input: string, output: string, user_input_norm: string, output_norm: string, input_tokens: int, output_tokens: int, cost_usd: float }
event tool_call { tool_name: string, tool_args: string, tool_result: string, target_url: string, target_domain: string, target_path: string, status: string one_of ["success", "blocked", "error"] }
event auth { outcome: string one_of ["success", "failure"], auth_method: string }
event policy_refusal { user_input: string, policy_category: string, model: string }
event retrieval { query: string, document_id: string, document_category: string, content: string }
event rate_limit { limit_name: string }
event dependency { component: string, version: string }
"#;

const META: &str =
    r#"title: "A test rule" description: "d" severity: high category: llm_attack guide: "g""#;

/// A rule with placeholder metadata around a detection.
pub fn rule(id: &str, detection: &str) -> String {
    format!("rule {id} {{ {META}\n {detection}\n}}\n")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh temporary directory.
pub fn temp_dir(label: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir =
        std::env::temp_dir().join(format!("tripline-eval-{}-{label}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks the schema plus `text` (and writes `files`, such as lookup CSVs, next to it).
pub fn pack_with_files(text: &str, files: &[(&str, &str)]) -> ir::Pack {
    let dir = temp_dir("pack");
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    let rules_path = dir.join("rules.tdl");
    std::fs::write(&rules_path, text).unwrap();
    let mut sources = Sources::new();
    let schema_id = sources.add(dir.join("schema.tdl").display().to_string(), SCHEMA);
    let rules_id = sources.add(rules_path.display().to_string(), text);
    let (schema, schema_errors) = parse(SCHEMA, schema_id);
    let (rules, rule_errors) = parse(text, rules_id);
    let mut all = schema_errors;
    all.extend(rule_errors);
    let (pack, diagnostics) = check(
        &sources,
        &[(schema_id, schema), (rules_id, rules)],
        &CheckOptions::default(),
    );
    all.extend(diagnostics.into_iter().filter(|d| d.is_error()));
    assert!(
        all.is_empty(),
        "{}",
        render_human(&all, &sources, ColorMode::Never)
    );
    pack.expect("a pack")
}

/// Checks the schema plus `text`.
pub fn pack(text: &str) -> ir::Pack {
    pack_with_files(text, &[])
}

/// A deterministic xorshift generator from `seed` (not zero): the same
/// seed gives the same test data on every machine.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Seconds since 2026-03-02T00:00:00Z as RFC 3339.
pub fn at(seconds: i64) -> String {
    let base = "2026-03-02T00:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    jiff::Timestamp::from_second(base + seconds)
        .unwrap()
        .to_string()
}

/// Minutes, hours and days in seconds.
pub const MIN: i64 = 60;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

/// An event at `seconds` after the base time, with `fields` merged in.
pub fn event(seconds: i64, event_type: &str, fields: Value) -> Value {
    let mut object = json!({ "timestamp": at(seconds), "event_type": event_type });
    if let (Some(target), Value::Object(fields)) = (object.as_object_mut(), fields) {
        target.extend(fields);
    }
    object
}

/// Numbers the events `e1`, `e2`, ... in the given order (unless they have ids).
pub fn numbered(mut events: Vec<Value>) -> Vec<Value> {
    for (index, event) in events.iter_mut().enumerate() {
        if let Some(object) = event.as_object_mut() {
            object
                .entry("event_id")
                .or_insert_with(|| json!(format!("e{}", index + 1)));
        }
    }
    events
}

/// Evaluates with default options, learning switched off.
pub fn eval(pack: &ir::Pack, events: &[Value]) -> Vec<Alert> {
    eval_with(
        pack,
        events,
        &EvalOptions {
            learn_ms: 0,
            ..EvalOptions::default()
        },
    )
}

/// Evaluates with options.
pub fn eval_with(pack: &ir::Pack, events: &[Value], options: &EvalOptions) -> Vec<Alert> {
    eval::evaluate_values(pack, events, options).unwrap_or_else(|error| panic!("{error}"))
}

/// The `group` objects of alerts, as JSON.
pub fn groups(alerts: &[Alert]) -> Vec<Value> {
    alerts
        .iter()
        .map(|alert| serde_json::to_value(&alert.group).unwrap())
        .collect()
}

/// Events as JSON lines.
pub fn jsonl(events: &[Value]) -> String {
    events.iter().map(|event| format!("{event}\n")).collect()
}
