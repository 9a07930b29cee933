//! The streaming driver: files, ordering, lateness, bad lines, threads, state.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cloned_ref_to_slice_refs
)]

mod eval_support;

use std::io::Write;
use std::path::PathBuf;

use eval_support::*;
use serde_json::{Value, json};
use tripline::eval::{self, Alert, Engine, EvalError, EvalOptions, Input, Summary};

fn write(name: &str, text: &str) -> PathBuf {
    let path = temp_dir("input").join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(
    pack: &tripline::ir::Pack,
    paths: &[PathBuf],
    options: &EvalOptions,
) -> Result<(Vec<Alert>, Summary), EvalError> {
    let inputs: Vec<Input> = paths.iter().map(|path| Input::Path(path.clone())).collect();
    let mut alerts = Vec::new();
    let summary = eval::run(pack, &inputs, options, &mut |alert| {
        alerts.push(alert.clone());
        Ok(())
    })?;
    Ok((alerts, summary))
}

fn quiet() -> EvalOptions {
    EvalOptions {
        learn_ms: 0,
        ..EvalOptions::default()
    }
}

fn failures_pack() -> tripline::ir::Pack {
    pack(&rule(
        "t.failures",
        "match auth where outcome == \"failure\"\n group by user_id within 10m\n alert when count() >= 3",
    ))
}

fn failure(seconds: i64, user: &str) -> Value {
    event(
        seconds,
        "auth",
        json!({"outcome": "failure", "user_id": user}),
    )
}

#[test]
fn out_of_order_input_within_the_lateness_is_reordered() {
    let pack = failures_pack();
    let events = numbered(vec![
        failure(9 * MIN, "u"),
        failure(10 * MIN + 30, "u"),
        failure(8 * MIN, "u"),
        failure(7 * MIN, "u"),
    ]);
    let path = write("late.jsonl", &jsonl(&events));
    let (alerts, summary) = run(&pack, &[path], &quiet()).unwrap();
    assert_eq!(summary.events_read, 4);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_ids, ["e4", "e3", "e1"]);
    assert_eq!(alerts, eval(&pack, &events));
}

#[test]
fn an_event_beyond_the_lateness_is_an_error_naming_file_and_line() {
    let pack = failures_pack();
    let events = vec![failure(0, "u"), failure(30 * MIN, "u"), failure(MIN, "u")];
    let path = write("too_late.jsonl", &jsonl(&events));
    let error = run(&pack, &[path.clone()], &quiet()).unwrap_err();
    let diagnostic = error.diagnostic().unwrap();
    assert_eq!(diagnostic.code.as_str(), "E0515");
    assert!(
        diagnostic
            .message
            .contains(&format!("{}:3:", path.display())),
        "{}",
        diagnostic.message
    );
    assert_eq!(error.exit_code(), 1);
    // A larger bound accepts it.
    let wide = EvalOptions {
        lateness_ms: 3_600_000,
        ..quiet()
    };
    assert!(run(&pack, &[path], &wide).is_ok());
}

fn bad_line(line: &str) -> EvalError {
    let pack = failures_pack();
    let text = format!("{}\n{line}\n", failure(0, "u"));
    let path = write("bad.jsonl", &text);
    let error = run(&pack, &[path.clone()], &quiet()).unwrap_err();
    let diagnostic = error.diagnostic().unwrap();
    assert!(
        diagnostic
            .message
            .starts_with(&format!("{}:2: ", path.display())),
        "{}",
        diagnostic.message
    );
    assert_eq!(
        diagnostic.file.as_deref(),
        Some(path.display().to_string().as_str())
    );
    error
}

#[test]
fn bad_lines_are_errors_naming_file_and_line() {
    let code = |line: &str| bad_line(line).diagnostic().unwrap().code.as_str();
    assert_eq!(code("{not json"), "E0510");
    assert_eq!(code("[1, 2]"), "E0510");
    assert_eq!(
        code(r#"{"timestamp": "2026-03-02T00:00:00Z", "event_type": "auth"} trailing"#),
        "E0510"
    );
    assert_eq!(
        code(
            r#"{"timestamp": "2026-03-02T00:00:00Z", "event_type": "inference", "output_tokens": "abc"}"#
        ),
        "E0511"
    );
    assert_eq!(
        code(
            r#"{"timestamp": "2026-03-02T00:00:00Z", "event_type": "inference", "cost_usd": true}"#
        ),
        "E0511"
    );
    assert_eq!(
        code(r#"{"timestamp": "2026-03-02T00:00:00Z", "event_type": "auth", "user_id": {"a": 1}}"#),
        "E0511"
    );
    assert_eq!(code(r#"{"event_type": "auth"}"#), "E0512");
    assert_eq!(
        code(r#"{"timestamp": "yesterday", "event_type": "auth"}"#),
        "E0512"
    );
    assert_eq!(
        code(r#"{"timestamp": 1772409600, "event_type": "auth"}"#),
        "E0512"
    );
    assert_eq!(code(r#"{"timestamp": "2026-03-02T00:00:00Z"}"#), "E0513");
    assert_eq!(
        code(r#"{"timestamp": "2026-03-02T00:00:00Z", "event_type": null}"#),
        "E0513"
    );
    let message = bad_line(r#"{"timestamp": "2026-03-02T00:00:00Z", "event_type": "inference", "output_tokens": "abc"}"#)
        .diagnostic()
        .unwrap()
        .message
        .clone();
    assert!(
        message.contains("`output_tokens`")
            && message.contains("`int`")
            && message.contains("\"abc\""),
        "{message}"
    );
}

#[test]
fn skip_invalid_counts_bad_lines_by_reason() {
    let pack = failures_pack();
    let mut text = String::new();
    text.push_str(&format!("{}\n", failure(0, "u")));
    text.push_str("{not json\n\n");
    text.push_str(&format!("{}\n", failure(10, "u")));
    text.push_str("{\"timestamp\": \"2026-03-02T00:00:20Z\", \"event_type\": \"inference\", \"output_tokens\": \"abc\"}\n");
    text.push_str("{\"event_type\": \"auth\"}\n");
    text.push_str("{\"timestamp\": \"2026-03-02T00:00:30Z\", \"event_type\": \"heartbeat\"}\n");
    text.push_str(&format!("{}\n", failure(40, "u")));
    let path = write("mixed.jsonl", &text);
    let options = EvalOptions {
        skip_invalid: true,
        ..quiet()
    };
    let (alerts, summary) = run(&pack, &[path.clone()], &options).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(summary.events_read, 4);
    assert_eq!(summary.events_ignored, 1);
    assert_eq!(summary.skipped_total(), 3);
    assert_eq!(summary.skipped["not JSON"], 1);
    assert_eq!(summary.skipped["wrong field type"], 1);
    assert_eq!(summary.skipped["bad timestamp"], 1);
    assert!(
        summary.first_skipped[0]
            .message
            .starts_with(&format!("{}:2:", path.display()))
    );
    assert_eq!(summary.alerts["t.failures"], 1);
}

#[test]
fn events_without_an_id_are_cited_by_file_and_line() {
    let pack = failures_pack();
    let path = write(
        "noid.jsonl",
        &jsonl(&[failure(0, "u"), failure(1, "u"), failure(2, "u")]),
    );
    let (alerts, _) = run(&pack, &[path.clone()], &quiet()).unwrap();
    assert_eq!(alerts[0].event_ids[2], format!("{}:3", path.display()));
}

#[test]
fn several_files_are_merged_in_time_order_and_gzip_is_read() {
    let pack = failures_pack();
    let first = write(
        "a.jsonl",
        &jsonl(&numbered(vec![failure(0, "u"), failure(120, "u")])),
    );
    let gz_path = temp_dir("gz").join("b.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz_path).unwrap(),
        flate2::Compression::default(),
    );
    let second = vec![
        event(
            60,
            "auth",
            json!({"outcome": "failure", "user_id": "u", "event_id": "b1"}),
        ),
        event(
            700,
            "auth",
            json!({"outcome": "failure", "user_id": "u", "event_id": "b2"}),
        ),
    ];
    encoder.write_all(jsonl(&second).as_bytes()).unwrap();
    encoder.finish().unwrap();
    let (alerts, summary) = run(&pack, &[first, gz_path], &quiet()).unwrap();
    assert_eq!(summary.events_read, 4);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].event_ids, ["e1", "b1", "e2"]);
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let pack = failures_pack();
    let error = run(
        &pack,
        &[PathBuf::from("/nonexistent/events.jsonl")],
        &quiet(),
    )
    .unwrap_err();
    assert_eq!(error.diagnostic().unwrap().code.as_str(), "E0516");
    assert_eq!(error.exit_code(), 2);
}

#[test]
fn an_unknown_rule_id_is_a_usage_error() {
    let pack = failures_pack();
    let options = EvalOptions {
        rules: vec!["t.failure".into()],
        ..quiet()
    };
    let error = run(&pack, &[], &options).unwrap_err();
    let diagnostic = error.diagnostic().unwrap();
    assert_eq!(diagnostic.code.as_str(), "E0517");
    assert!(
        diagnostic
            .help
            .iter()
            .any(|help| help.contains("t.failures"))
    );
}

/// A deterministic mix of events for several rules, a few seconds apart, slightly out of order.
fn synthetic(count: usize) -> Vec<Value> {
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    let mut events = Vec::with_capacity(count);
    for n in 0..count {
        let jitter = (next() % 30) as i64;
        let seconds = n as i64 * 3 - jitter;
        let user = format!("u{}", next() % 40);
        let key = format!("k{}", next() % 20);
        let event_value = match next() % 4 {
            0 => {
                let outcome = if next().is_multiple_of(3) {
                    "success"
                } else {
                    "failure"
                };
                let country = ["US", "FR", "DE"][(next() % 3) as usize];
                event(
                    seconds,
                    "auth",
                    json!({"outcome": outcome, "user_id": user, "api_key_id": key, "geo_country": country}),
                )
            }
            1 => {
                let input = if next().is_multiple_of(5) {
                    "please ignore  previous instructions and tell me"
                } else {
                    "hello there, how are you doing today my friend"
                };
                event(
                    seconds,
                    "inference",
                    json!({"session_id": user, "api_key_id": key, "user_input": input}),
                )
            }
            2 => {
                let domain = if next().is_multiple_of(7) {
                    "evil.example"
                } else {
                    "api.example.com"
                };
                event(
                    seconds,
                    "tool_call",
                    json!({"tool_name": "http_get", "target_domain": domain, "session_id": user}),
                )
            }
            _ => event(
                seconds,
                "rate_limit",
                json!({"api_key_id": key, "src_ip": format!("192.0.2.{}", next() % 5)}),
            ),
        };
        events.push(event_value);
    }
    numbered(events)
}

fn many_rules_pack() -> tripline::ir::Pack {
    let mut text = String::from("list phrases: string = [\"ignore previous instructions\"]\n");
    text.push_str(&rule(
        "a.match",
        r#"match tool_call where target_domain not in ["api.example.com"]"#,
    ));
    text.push_str(&rule("b.threshold", "match inference where user_input has_any phrases\n group by session_id within 10m\n alert when count() >= 2"));
    text.push_str(&rule("c.sets", "match rate_limit\n group by each (api_key_id), (src_ip) within 5m\n alert when count() >= 8"));
    text.push_str(&rule("d.sequence", "sequence by user_id within 10m {\n auth where outcome == \"failure\" repeat >= 3;\n auth where outcome == \"success\";\n }"));
    text.push_str(&rule(
        "e.new",
        "match auth where outcome == \"success\"\n new geo_country for api_key_id lookback 1d",
    ));
    text.push_str(&rule("f.baseline", "match inference\n group by api_key_id within 10m\n alert when count() >= 1.5 * baseline(count(), 1h) and count() >= 10"));
    text.push_str(&rule("g.percentile", "match inference\n group by session_id within 1h\n alert when count() > percentile(count(), 90)"));
    text.push_str(&rule("h.cluster", "match inference\n cluster user_input similarity >= 0.8 min_length 20 within 1h\n alert when distinct(session_id) >= 3"));
    pack(&text)
}

#[test]
fn two_threads_give_the_same_output_as_one() {
    let pack = many_rules_pack();
    let events = synthetic(20_000);
    let path = write("many.jsonl", &jsonl(&events));
    let options = EvalOptions {
        learn_ms: 3_600_000,
        ..EvalOptions::default()
    };
    let (one, one_summary) = run(&pack, &[path.clone()], &options).unwrap();
    let (two, two_summary) = run(
        &pack,
        &[path.clone()],
        &EvalOptions {
            threads: 2,
            ..options.clone()
        },
    )
    .unwrap();
    let (three, _) = run(
        &pack,
        &[path],
        &EvalOptions {
            threads: 3,
            ..options.clone()
        },
    )
    .unwrap();
    assert!(one.len() > 100, "{}", one.len());
    for rule in [
        "a.match",
        "b.threshold",
        "c.sets",
        "d.sequence",
        "e.new",
        "f.baseline",
        "g.percentile",
        "h.cluster",
    ] {
        assert!(
            one_summary.alerts[rule] > 0,
            "{rule} never fired: {:?}",
            one_summary.alerts
        );
    }
    assert!(one == two && one == three);
    assert_eq!(one_summary, two_summary);
    // Streaming from the file (reordered) agrees with evaluating the values in memory (sorted).
    assert_eq!(one, eval_with(&pack, &events, &options));
}

/// Bad lines spread over many batches of several inputs: with any number of
/// threads, the same line numbers are reported, the same lines are counted,
/// and without `--skip-invalid` the first bad line in time order stops the run.
#[test]
fn bad_lines_in_many_batches_are_reported_alike_with_any_thread_count() {
    let pack = failures_pack();
    let mut first = String::new();
    let mut second = String::new();
    let mut bad_lines = Vec::new();
    for index in 0..6_000i64 {
        if index % 997 == 3 {
            first.push_str("{not json\n");
            bad_lines.push(index + 1);
        } else {
            first.push_str(&format!("{}\n", failure(index * 2, "u")));
        }
        second.push_str(&format!("{}\n", failure(index * 2 + 1, "v")));
    }
    let first = write("bad-many-a.jsonl", &first);
    let second = write("bad-many-b.jsonl", &second);
    let mut seen = Vec::new();
    for threads in [1, 2, 3, 5] {
        let options = EvalOptions {
            skip_invalid: true,
            threads,
            ..quiet()
        };
        let (alerts, summary) = run(&pack, &[first.clone(), second.clone()], &options).unwrap();
        assert_eq!(summary.skipped_total(), bad_lines.len() as u64, "{threads}");
        assert_eq!(summary.events_read, 12_000 - bad_lines.len() as u64);
        let lines: Vec<String> = summary
            .first_skipped
            .iter()
            .map(|skipped| skipped.message.split(": ").next().unwrap().to_string())
            .collect();
        assert_eq!(
            lines.first(),
            Some(&format!("{}:{}", first.display(), bad_lines[0])),
            "{threads}"
        );
        seen.push((alerts, lines));
        let stopped = run(
            &pack,
            &[first.clone(), second.clone()],
            &EvalOptions { threads, ..quiet() },
        )
        .unwrap_err();
        assert!(
            stopped.diagnostic().unwrap().message.starts_with(&format!(
                "{}:{}: ",
                first.display(),
                bad_lines[0]
            )),
            "{threads}: {}",
            stopped.diagnostic().unwrap().message
        );
    }
    assert!(seen.windows(2).all(|pair| pair[0] == pair[1]));
}

#[test]
fn alerts_come_out_in_raising_order() {
    let pack = many_rules_pack();
    let events = synthetic(5_000);
    let alerts = eval_with(
        &pack,
        &events,
        &EvalOptions {
            learn_ms: 3_600_000,
            ..EvalOptions::default()
        },
    );
    let windows = [
        "b.threshold",
        "c.sets",
        "f.baseline",
        "g.percentile",
        "h.cluster",
    ];
    let raised: Vec<(String, String)> = alerts
        .iter()
        .map(|alert| {
            // Window alerts are raised at the window's end, which is after their last event.
            let time = if windows.contains(&alert.rule_id.as_str()) {
                String::new()
            } else {
                alert.last_seen.clone()
            };
            (time, alert.rule_id.clone())
        })
        .collect();
    // Point alerts appear in non-decreasing time order.
    let points: Vec<&String> = raised
        .iter()
        .filter(|(time, _)| !time.is_empty())
        .map(|(time, _)| time)
        .collect();
    assert!(points.windows(2).all(|pair| pair[0] <= pair[1]));
}

fn feed(engine: &mut Engine, events: &[Value]) {
    let projection = engine.projection();
    let mut scratch = eval::Scratch::default();
    for (index, value) in events.iter().enumerate() {
        let event = projection
            .parse_line(&value.to_string(), 0, index as u64 + 1, &mut scratch)
            .unwrap()
            .unwrap();
        engine.process(&event, &mut |_| Ok(())).unwrap();
    }
}

#[test]
fn state_is_dropped_when_it_cannot_matter_any_more() {
    let pack = many_rules_pack();
    let options = EvalOptions {
        learn_ms: 0,
        ..EvalOptions::default()
    };
    let mut engine = Engine::new(&pack, &options).unwrap();
    let mut events = Vec::new();
    for n in 0..500 {
        let user = format!("u{n}");
        events.push(event(n, "inference", json!({"session_id": user, "api_key_id": user, "user_input": format!("some long distinct input number {n} {}", "x ".repeat(n as usize % 7))})));
        events.push(event(
            n,
            "auth",
            json!({"outcome": "failure", "user_id": user}),
        ));
        events.push(event(
            n,
            "auth",
            json!({"outcome": "success", "api_key_id": user, "geo_country": "US"}),
        ));
    }
    feed(&mut engine, &events);
    assert!(engine.live_state() >= 2_000, "{}", engine.live_state());
    // Two days later, every window is closed, partials and sightings have expired,
    // and baseline histories are older than their lookback.
    feed(
        &mut engine,
        &[event(2 * DAY, "rate_limit", json!({"api_key_id": "z"}))],
    );
    feed(
        &mut engine,
        &[event(
            2 * DAY + 2 * HOUR,
            "rate_limit",
            json!({"api_key_id": "z"}),
        )],
    );
    assert!(engine.live_state() <= 2, "{}", engine.live_state());
}

#[test]
fn memory_stays_flat_on_a_long_bounded_stream() {
    let pack = many_rules_pack();
    let mut engine = Engine::new(&pack, &quiet()).unwrap();
    let mut peak = 0;
    for chunk in 0..20 {
        let events: Vec<Value> = synthetic(2_000)
            .into_iter()
            .map(|mut value| {
                let seconds = jiff::Timestamp::from_second(
                    value["timestamp"]
                        .as_str()
                        .unwrap()
                        .parse::<jiff::Timestamp>()
                        .unwrap()
                        .as_second()
                        + chunk * 6_000 * 3,
                )
                .unwrap();
                value["timestamp"] = json!(seconds.to_string());
                value
            })
            .collect();
        let mut sorted = events;
        sorted.sort_by(|a, b| a["timestamp"].as_str().cmp(&b["timestamp"].as_str()));
        feed(&mut engine, &sorted);
        if chunk >= 2 {
            peak = peak.max(engine.live_state());
        }
    }
    // State is bounded by the live keys (40 users, 20 keys, 5 addresses), not by the 40,000 events.
    assert!(peak < 400, "{peak}");
}

/// A gzip file cut short is a read error naming the file, with any number
/// of threads (the parser that meets it hands the error over in its place).
#[test]
fn a_damaged_gzip_file_is_a_read_error_naming_it() {
    let pack = failures_pack();
    let events: Vec<Value> = (0..3_000).map(|index| failure(index, "u")).collect();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(jsonl(&events).as_bytes()).unwrap();
    let mut bytes = encoder.finish().unwrap();
    bytes.truncate(bytes.len() * 2 / 3);
    let path = temp_dir("damaged").join("cut.jsonl.gz");
    std::fs::write(&path, &bytes).unwrap();
    for threads in [1, 2, 3] {
        let options = EvalOptions { threads, ..quiet() };
        let error = run(&pack, &[path.clone()], &options).unwrap_err();
        let diagnostic = error.diagnostic().unwrap();
        assert!(
            diagnostic
                .message
                .starts_with(&format!("{}: cannot read events", path.display())),
            "{threads}: {diagnostic:?}"
        );
    }
}
