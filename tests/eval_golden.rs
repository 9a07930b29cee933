//! Byte-identical alerts: the shipped pack on fixed generated traffic and on
//! every test case, compared with reviewed snapshots.
//!
//! Any change to an alert line (its rule, group, times, count, event ids or
//! values) fails this test. An optimisation of the evaluator must leave both
//! snapshots untouched; a deliberate change of meaning updates them with
//! `INSTA_UPDATE=always cargo test --test eval_golden` and a reviewed diff.
//!
//! The traffic is `examples/generate_logs.rs` itself (compiled into this test
//! from its source, not run through cargo): 30,000 realistic events over 3
//! days with seed 7 and all 22 kinds of attack episode. The same test checks
//! the generator's promise that every episode raises its rule's alerts and
//! benign traffic raises none.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../examples/generate_logs.rs"]
#[allow(dead_code)]
mod generate_logs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Parser;
use tripline::eval::{self, Alert, EvalOptions, Input};
use tripline::ir;
use tripline::project::{self, LoadOptions};
use tripline::testing::load_test_file;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped pack and its test files, as `tripline test rules` loads them.
fn shipped() -> (ir::Pack, Vec<PathBuf>) {
    let options = LoadOptions {
        paths: vec![manifest_dir().join("rules")],
        ..LoadOptions::default()
    };
    let project = project::load(&options).expect("rules/ loads");
    let pack = project.pack.expect("rules/ checks");
    let files = project
        .test_files
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    (pack, files)
}

/// The generated events and the generator's summary line.
fn generated(path: &Path) -> String {
    generated_with(path, 22)
}

/// 30,000 events over 3 days with seed 7 and `episodes` attack episodes.
fn generated_with(path: &Path, episodes: usize) -> String {
    let episodes = episodes.to_string();
    generated_from(
        path,
        &[
            "--events",
            "30000",
            "--seed",
            "7",
            "--days",
            "3",
            "--episodes",
            &episodes,
        ],
    )
}

/// The generator run with `arguments`, writing to `path`; its summary line.
fn generated_from(path: &Path, arguments: &[&str]) -> String {
    let args = generate_logs::Args::try_parse_from(
        std::iter::once("generate_logs").chain(arguments.iter().copied()),
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    generate_logs::generate(&args, file).unwrap()
}

/// A fresh directory for one test's files, under the system's temp directory.
fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("tripline-golden-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn lines(alerts: &[Alert]) -> String {
    let mut out = Vec::new();
    for alert in alerts {
        eval::write_json_line(&mut out, alert).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn run(pack: &ir::Pack, path: &Path, threads: usize) -> Vec<Alert> {
    let options = EvalOptions {
        threads,
        ..EvalOptions::default()
    };
    let mut alerts = Vec::new();
    eval::run(
        pack,
        &[Input::Path(path.to_path_buf())],
        &options,
        &mut |alert| {
            alerts.push(alert.clone());
            Ok(())
        },
    )
    .unwrap();
    alerts
}

/// The alerts each kind of episode raises: rule and how many per episode
/// (a campaign raises one alert per fingerprint band it fills, 1 to 4).
const EXPECTED: &[(&str, &str, usize, usize)] = &[
    ("prompt_extraction", "llm.prompt_extraction.repeated", 1, 1),
    // An extraction session that says "ignore previous instructions" twice
    // or more also stands above a week's population of innocent single
    // mentions (at least 100 sessions: the 99th percentile is then 1).
    ("prompt_extraction", "llm.jailbreak.keyword_frequency", 0, 1),
    ("agent_egress", "agent.egress.unexpected_domain", 1, 1),
    ("secret_leak", "llm.output.secret_leak", 1, 1),
    (
        "bruteforce_then_success",
        "auth.bruteforce_then_success",
        1,
        1,
    ),
    ("new_location", "auth.api_key.new_location", 1, 1),
    ("volume_spike", "auth.api_key.volume_spike", 1, 1),
    ("out_of_scope_file", "agent.tool.out_of_scope_access", 1, 1),
    ("input_rate", "session.input_rate_anomaly", 1, 1),
    // One per session and one per key.
    ("refusal_cluster", "llm.policy_refusal.cluster", 2, 2),
    ("output_size_spike", "llm.output.size_spike", 1, 1),
    (
        "retrieval_scope_violation",
        "rag.retrieval.scope_violation",
        1,
        1,
    ),
    (
        "jailbreak_keywords",
        "llm.jailbreak.keyword_frequency",
        1,
        1,
    ),
    ("campaign_cluster", "llm.prompt.campaign_cluster", 1, 4),
    (
        "vulnerable_dependency",
        "infra.dependency.vulnerable_version",
        1,
        1,
    ),
    ("credential_stuffing", "auth.credential_stuffing", 1, 1),
    ("provider_error_burst", "provider.error_burst", 1, 1),
    // One per key and one per address.
    ("rate_limit_repeated", "infra.rate_limit.repeated", 2, 2),
    (
        "indirect_injection",
        "agent.indirect_injection.exfiltration",
        1,
        1,
    ),
    // The injection's call goes to a host outside the allowlist too.
    ("indirect_injection", "agent.egress.unexpected_domain", 1, 1),
    ("canary_token", "llm.output.canary_token", 1, 1),
    ("system_prompt_leak", "llm.output.system_prompt_leak", 1, 1),
    ("spend_spike", "cost.spend_spike", 1, 1),
    ("refusal_rate", "llm.policy_refusal.rate_increase", 1, 1),
];

/// Checks the summary's episodes against the alerts per rule; returns the
/// per-rule table for the snapshot.
fn episodes_match_alerts(summary: &str, alerts: &[Alert]) -> String {
    let episodes: BTreeMap<&str, usize> = summary
        .split_once("attack episodes:")
        .expect("the summary lists episodes")
        .1
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(kind, count)| (kind, count.parse().unwrap()))
        .collect();
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for alert in alerts {
        *per_rule.entry(alert.rule_id.as_str()).or_default() += 1;
    }
    let mut bounds: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (kind, rule, low, high) in EXPECTED {
        let count = episodes.get(kind).copied().unwrap_or(0);
        let bound = bounds.entry(rule).or_default();
        bound.0 += low * count;
        bound.1 += high * count;
    }
    let mut table = String::new();
    for (rule, (low, high)) in &bounds {
        let actual = per_rule.get(rule).copied().unwrap_or(0);
        assert!(
            (*low..=*high).contains(&actual),
            "{rule}: {actual} alerts, but the episodes of the generator call for {low}..={high}"
        );
        table.push_str(&format!("{rule}: {actual}\n"));
    }
    for rule in per_rule.keys() {
        assert!(
            bounds.contains_key(rule),
            "{rule} alerted on traffic with no episode for it"
        );
    }
    table
}

#[test]
fn generated_traffic_alerts_are_unchanged() {
    let directory = scratch("traffic");
    let path = directory.join("events.jsonl");
    let summary = generated(&path);
    let (pack, _) = shipped();
    let alerts = run(&pack, &path, 1);
    let two_threads = run(&pack, &path, 2);
    let _ = std::fs::remove_dir_all(&directory);
    assert_eq!(
        lines(&alerts),
        lines(&two_threads),
        "2 threads must give the alerts of 1"
    );
    let table = episodes_match_alerts(&summary, &alerts);
    insta::assert_snapshot!(
        "generated_traffic",
        format!("{summary}\n\n{table}\n{}", lines(&alerts))
    );
}

#[test]
fn test_case_alerts_are_unchanged() {
    let (pack, files) = shipped();
    let mut text = String::new();
    let mut files = files;
    files.sort();
    for path in files {
        let file = load_test_file(&path, &pack).expect("the shipped test files load");
        let relative = path
            .strip_prefix(manifest_dir())
            .unwrap_or(&path)
            .display()
            .to_string();
        let rule = pack.rule(&file.rule).expect("the test file's rule exists");
        for case in &file.cases {
            let mut rule = rule.clone();
            for (name, value) in &case.params {
                rule.detection.set_param(name, value);
            }
            let case_pack = ir::Pack {
                rules: vec![rule],
                playbooks: BTreeMap::new(),
                ..pack.clone()
            };
            let options = EvalOptions {
                rules: vec![file.rule.clone()],
                ..EvalOptions::default()
            };
            let alerts = eval::evaluate_values(&case_pack, &case.events, &options).unwrap();
            text.push_str(&format!(
                "## {relative}:{} {} ({} alerts)\n{}",
                case.line,
                case.name,
                alerts.len(),
                lines(&alerts)
            ));
        }
    }
    insta::assert_snapshot!("test_cases", text);
}

/// Two rounds of every kind in the same 3 days (all in one week window):
/// each episode still raises its alerts. The jailbreak rule alerts on the
/// week's single busiest session, so the generator gives each jailbreak
/// episode a week of its own and plans one, not two.
#[test]
fn two_rounds_of_episodes_each_raise_their_alerts() {
    let directory = scratch("rounds");
    let path = directory.join("events.jsonl");
    let summary = generated_with(&path, 44);
    let (pack, _) = shipped();
    let alerts = run(&pack, &path, 1);
    let _ = std::fs::remove_dir_all(&directory);
    assert!(summary.contains("jailbreak_keywords=1 "), "{summary}");
    assert!(summary.contains("prompt_extraction=2 "), "{summary}");
    episodes_match_alerts(&summary, &alerts);
}

/// The benchmark's files, 1M events over the default 3 days and over 30
/// days (`cargo bench --bench eval`), raise exactly their episodes' alerts.
/// Too slow for a debug build: `.ci/run` runs it with
/// `cargo test --release --test eval_golden -- --ignored`.
#[test]
#[ignore = "1M events: run in release (.ci/run)"]
fn the_benchmark_files_raise_their_episodes_alerts() {
    // One fixed place under target/, so that a failed run's gigabyte is
    // overwritten by the next rather than left beside it.
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("golden-1m");
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("events.jsonl");
    let (pack, _) = shipped();
    for days in [None, Some("30")] {
        let mut arguments = vec!["--events", "1000000", "--seed", "7"];
        if let Some(days) = days {
            arguments.extend(["--days", days]);
        }
        let summary = generated_from(&path, &arguments);
        let alerts = run(&pack, &path, 2);
        println!("{summary}\n{}", episodes_match_alerts(&summary, &alerts));
    }
    let _ = std::fs::remove_dir_all(&directory);
}

/// The jailbreak rule's subject: an input with jailbreak vocabulary.
const JAILBREAK: &str = "inference where norm(user_input) matches_any jailbreak_terms or user_input matches_any jailbreak_words_cs";

/// One alert per event whose text matches a regex list of the pack, read as
/// the pack's rules read it (name, match, and what follows it); and one per
/// session of a week with two or more inputs of jailbreak vocabulary.
const PROBES: &[(&str, &str, &str)] = &[
    (
        "extraction",
        "inference where norm(user_input) matches_any extraction_phrases",
        "",
    ),
    ("jailbreak", JAILBREAK, ""),
    (
        "jailbreak_twice",
        JAILBREAK,
        "group by session_id within 7d\n  alert when count() >= 2",
    ),
    (
        "injection_chunk",
        "retrieval where norm(content) matches_any injection_markers",
        "",
    ),
    (
        "injection_tool",
        "tool_call where norm(tool_result) matches_any injection_markers",
        "",
    ),
    (
        "secret",
        "inference where output matches_any secret_patterns",
        "",
    ),
    (
        "invisible",
        "inference where user_input matches_any invisible_runs",
        "",
    ),
];

/// The shipped pack with the probes added, and the alerts of both on `path`,
/// counted per rule.
fn probe_counts(directory: &Path, path: &Path) -> BTreeMap<String, usize> {
    let mut rules = String::new();
    for (name, condition, then) in PROBES {
        rules.push_str(&format!(
            "rule probe.{name} {{\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: llm_attack\n  guide: \"g\"\n  match {condition}\n  {then}\n}}\n"
        ));
    }
    let file = directory.join("probes.tdl");
    std::fs::write(&file, rules).unwrap();
    let options = LoadOptions {
        paths: vec![manifest_dir().join("rules"), file],
        ..LoadOptions::default()
    };
    let project = project::load(&options).expect("the pack and the probes load");
    let pack = project.pack.expect("the pack and the probes check");
    let mut counts = BTreeMap::new();
    for alert in run(&pack, path, 1) {
        *counts.entry(alert.rule_id).or_default() += 1;
    }
    counts
}

/// The share of `texts` holding `word` as a whole word, in any case.
fn share_with_word(texts: &[String], word: &str) -> f64 {
    let holding = texts
        .iter()
        .filter(|text| {
            text.to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .any(|token| token == word)
        })
        .count();
    holding as f64 / texts.len().max(1) as f64
}

/// The generator's benign text uses the words of the regex lists ("your",
/// "ignore", "previous", "instructions", "show", "above", ...) in ordinary
/// requests, so that the benchmark's automata walk into their patterns as
/// they do on real traffic, but no benign input, chunk or tool result
/// matches a list, except the innocent jailbreak mentions: some sessions
/// send one (the jailbreak rule's population), none sends two. The whole
/// pack raises no alert on benign traffic. The same probes fire on the
/// attack episodes, so they can fail.
#[test]
fn benign_traffic_speaks_the_lists_words_without_matching_them() {
    let directory = scratch("benign");
    let benign = directory.join("benign.jsonl");
    let summary = generated_with(&benign, 0);
    assert!(summary.contains(" 0 attack episodes"), "{summary}");
    let attacks = directory.join("attacks.jsonl");
    generated_with(&attacks, 22);
    let on_benign = probe_counts(&directory, &benign);
    let on_attacks = probe_counts(&directory, &attacks);

    let mut inputs = Vec::new();
    let mut chunks = Vec::new();
    for line in std::fs::read_to_string(&benign).unwrap().lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = |field: &str| event[field].as_str().unwrap_or_default().to_string();
        match event["event_type"].as_str() {
            Some("inference") => inputs.push(text("user_input")),
            Some("retrieval") => chunks.push(text("content")),
            _ => {}
        }
    }
    let _ = std::fs::remove_dir_all(&directory);

    let mut on_benign = on_benign;
    let mentions = on_benign.remove("probe.jailbreak").unwrap_or(0);
    assert!(
        mentions >= 10,
        "{mentions} benign inputs mention jailbreak vocabulary"
    );
    assert!(
        on_benign.is_empty(),
        "benign traffic matched a list, mentioned jailbreak vocabulary twice in a session, or raised an alert: {on_benign:?}"
    );
    // The generator has no episode of hidden characters, so that probe only
    // guards the benign side.
    for probe in [
        "extraction",
        "jailbreak",
        "jailbreak_twice",
        "injection_chunk",
        "secret",
    ] {
        let fired = on_attacks
            .get(&format!("probe.{probe}"))
            .copied()
            .unwrap_or(0);
        assert!(
            fired > 0,
            "probe.{probe} never fired on the attack episodes"
        );
    }
    let words_of_inputs = [
        "your",
        "ignore",
        "previous",
        "instructions",
        "first",
        "text",
        "rules",
        "give",
        "show",
        "repeat",
        "above",
        "system",
    ];
    let words_of_chunks = [
        "your",
        "instructions",
        "previous",
        "important",
        "rules",
        "system",
    ];
    for (what, texts, words, floor) in [
        ("inputs", &inputs, &words_of_inputs[..], 0.002),
        ("chunks", &chunks, &words_of_chunks[..], 0.01),
    ] {
        for word in words {
            let share = share_with_word(texts, word);
            assert!(
                share >= floor,
                "{:.2}% of benign {what} say {word:?}",
                share * 100.0
            );
        }
    }
}
