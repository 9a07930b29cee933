//! Dashboard panels computed by the evaluator (the data of `tripline
//! dashboard preview`): grouping, bins, top N, measures with aggregate
//! filters, baselines over empty buckets, the time range, alerts by rule.
//!
//! Panels are built by hand from checked rule conditions, so their
//! expressions are exactly what the checker produces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod eval_support;

use eval_support::*;
use serde_json::{Value, json};
use tripline::eval::EvalOptions;
use tripline::eval::panel::{DashboardData, KeyPart, PanelData, dashboard_values};
use tripline::ir::dashboard::{Dashboard, GroupKey, Measure, Panel, PanelQuery, Visual};
use tripline::ir::{self, Detection, Expr, ExprKind, Origin};

const ORIGIN: Origin = Origin {
    line: 1,
    column: 1,
    start: 0,
    end: 0,
};

const DAY_MS: i64 = 86_400_000;
/// 2026-03-02T00:00:00Z, the base of `at`.
const BASE_MS: i64 = 1_772_409_600_000;

/// The source and the two sides of `alert when LEFT > RIGHT` of a window rule.
fn sides(pack: &ir::Pack, id: &str) -> (ir::Source, Expr, Expr) {
    let rule = pack.rule(id).expect("the rule");
    let Detection::Window {
        source, condition, ..
    } = &rule.detection
    else {
        panic!("a window rule")
    };
    let ExprKind::Compare { left, right, .. } = &condition.kind else {
        panic!("a comparison")
    };
    (source.clone(), (**left).clone(), (**right).clone())
}

fn measure(name: &str, expr: Expr) -> Measure {
    Measure {
        name: name.into(),
        label: name.into(),
        expr,
    }
}

fn panel(id: &str, visual: Visual, range_ms: i64, query: PanelQuery) -> Panel {
    Panel {
        id: id.into(),
        origin: ORIGIN,
        title: id.into(),
        description: String::new(),
        visual,
        range_ms,
        query,
    }
}

fn dashboard(panels: Vec<Panel>) -> Dashboard {
    Dashboard {
        id: "t.board".into(),
        file: "board.tdl".into(),
        origin: ORIGIN,
        title: "Board".into(),
        description: String::new(),
        range_ms: 30 * DAY_MS,
        panels,
    }
}

fn compute(pack: &ir::Pack, panels: Vec<Panel>, events: &[Value]) -> DashboardData {
    let options = EvalOptions {
        learn_ms: 0,
        ..EvalOptions::default()
    };
    dashboard_values(pack, &dashboard(panels), events, &options)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Rows as `(bucket day, keys as text, values)`.
type Shown = Vec<(Option<i64>, Vec<String>, Vec<Option<f64>>)>;

fn shown(panel: &PanelData) -> Shown {
    panel
        .rows
        .iter()
        .map(|row| {
            (
                row.bucket.map(|bucket| (bucket - BASE_MS) / DAY_MS),
                row.keys.iter().map(KeyPart::to_string).collect(),
                row.values.clone(),
            )
        })
        .collect()
}

fn text(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

const COUNT_RULE: &str = r#"match inference where model != "blocked" group by api_key_id within 1d alert when count() > 0"#;

#[test]
fn groups_count_the_source_events_with_their_key() {
    let pack = pack(&rule("t.count", COUNT_RULE));
    let (source, count, _) = sides(&pack, "t.count");
    let query = PanelQuery::Events {
        source,
        group_by: vec![GroupKey::Field {
            field: "api_key_id".into(),
        }],
        bucket_ms: None,
        measures: vec![measure("inferences", count)],
        top: None,
    };
    let events = numbered(vec![
        event(0, "inference", json!({"api_key_id": "k2", "model": "m"})),
        event(10, "inference", json!({"api_key_id": "k1", "model": "m"})),
        event(20, "inference", json!({"api_key_id": "k2", "model": "m"})),
        // Filtered out, another type, and no key: not counted.
        event(
            30,
            "inference",
            json!({"api_key_id": "k1", "model": "blocked"}),
        ),
        event(
            40,
            "auth",
            json!({"api_key_id": "k1", "outcome": "failure"}),
        ),
        event(50, "inference", json!({"model": "m"})),
    ]);
    let data = compute(
        &pack,
        vec![panel("by_key", Visual::Bar, 30 * DAY_MS, query)],
        &events,
    );
    assert_eq!(data.events, 6);
    assert_eq!(data.end, Some(BASE_MS + 50_000));
    let panel = &data.panels[0];
    assert_eq!(panel.keys, ["api_key_id"]);
    assert_eq!(panel.measures, ["inferences"]);
    assert_eq!(
        shown(panel),
        vec![
            (None, text(&["k1"]), vec![Some(1.0)]),
            (None, text(&["k2"]), vec![Some(2.0)]),
        ]
    );
}

#[test]
fn buckets_are_epoch_aligned_days_sorted_by_bucket_then_key() {
    let pack = pack(&rule("t.count", COUNT_RULE));
    let (source, count, _) = sides(&pack, "t.count");
    let query = PanelQuery::Events {
        source,
        group_by: vec![GroupKey::Field {
            field: "api_key_id".into(),
        }],
        bucket_ms: Some(DAY_MS),
        measures: vec![measure("inferences", count)],
        top: None,
    };
    let events = numbered(vec![
        event(
            DAY + HOUR,
            "inference",
            json!({"api_key_id": "k1", "model": "m"}),
        ),
        event(HOUR, "inference", json!({"api_key_id": "k2", "model": "m"})),
        event(
            DAY - 1,
            "inference",
            json!({"api_key_id": "k1", "model": "m"}),
        ),
        event(DAY, "inference", json!({"api_key_id": "k2", "model": "m"})),
    ]);
    let data = compute(
        &pack,
        vec![panel("daily", Visual::Line, 30 * DAY_MS, query)],
        &events,
    );
    assert_eq!(
        shown(&data.panels[0]),
        vec![
            (Some(0), text(&["k1"]), vec![Some(1.0)]),
            (Some(0), text(&["k2"]), vec![Some(1.0)]),
            (Some(1), text(&["k1"]), vec![Some(1.0)]),
            (Some(1), text(&["k2"]), vec![Some(1.0)]),
        ]
    );
}

#[test]
fn bins_key_by_the_lower_bound_of_the_range() {
    let pack = pack(&rule(
        "t.tokens",
        "match inference group by session_id within 1d alert when count() > 0",
    ));
    let (source, count, _) = sides(&pack, "t.tokens");
    let query = PanelQuery::Events {
        source,
        group_by: vec![GroupKey::Bin {
            field: "output_tokens".into(),
            size: 250.0,
        }],
        bucket_ms: None,
        measures: vec![measure("outputs", count)],
        top: None,
    };
    let events: Vec<Value> = [0, 249, 250, 999, -1]
        .iter()
        .enumerate()
        .map(|(index, tokens)| {
            event(
                index as i64,
                "inference",
                json!({"output_tokens": tokens, "session_id": "s"}),
            )
        })
        .chain([event(9, "inference", json!({"session_id": "s"}))])
        .collect();
    let data = compute(
        &pack,
        vec![panel("sizes", Visual::Bar, 30 * DAY_MS, query)],
        &numbered(events),
    );
    let panel = &data.panels[0];
    assert_eq!(panel.keys, ["output_tokens_bin"]);
    assert_eq!(
        shown(panel),
        vec![
            (None, text(&["-250"]), vec![Some(1.0)]),
            (None, text(&["0"]), vec![Some(2.0)]),
            (None, text(&["250"]), vec![Some(1.0)]),
            (None, text(&["750"]), vec![Some(1.0)]),
        ]
    );
}

#[test]
fn top_keeps_the_largest_first_measure_with_ties_by_key() {
    let pack = pack(&rule(
        "t.spend",
        "match inference group by session_id within 1d alert when count() > sum(cost_usd)",
    ));
    let (source, count, spend) = sides(&pack, "t.spend");
    let query = PanelQuery::Events {
        source,
        group_by: vec![GroupKey::Field {
            field: "session_id".into(),
        }],
        bucket_ms: None,
        measures: vec![measure("inferences", count), measure("spend_usd", spend)],
        top: Some(2),
    };
    let mut events = Vec::new();
    for (session, calls) in [("a", 1), ("b", 3), ("c", 3), ("d", 2)] {
        for _ in 0..calls {
            events.push(event(
                events.len() as i64,
                "inference",
                json!({"session_id": session, "cost_usd": 0.5}),
            ));
        }
    }
    let data = compute(
        &pack,
        vec![panel("busiest", Visual::Table, 30 * DAY_MS, query)],
        &numbered(events),
    );
    assert_eq!(
        shown(&data.panels[0]),
        vec![
            (None, text(&["b"]), vec![Some(3.0), Some(1.5)]),
            (None, text(&["c"]), vec![Some(3.0), Some(1.5)]),
        ]
    );
}

const RATE_RULE: &str = r#"match inference, policy_refusal group by app within 1d
 alert when count(where event_type == "policy_refusal") / count(where event_type == "inference") > baseline(count(where event_type == "policy_refusal") / count(where event_type == "inference"), 7d)"#;

#[test]
fn measures_read_filtered_aggregates_and_have_no_value_on_zero_division() {
    let pack = pack(&rule("t.rate", RATE_RULE));
    let (source, rate, _) = sides(&pack, "t.rate");
    let query = PanelQuery::Events {
        source,
        group_by: Vec::new(),
        bucket_ms: Some(DAY_MS),
        measures: vec![measure("refusal_rate", rate)],
        top: None,
    };
    let events = numbered(vec![
        event(0, "inference", json!({})),
        event(1, "inference", json!({})),
        event(2, "inference", json!({})),
        event(3, "inference", json!({})),
        event(4, "policy_refusal", json!({})),
        // Day 1: a refusal and no inference.
        event(DAY, "policy_refusal", json!({})),
        // Another type: not read.
        event(DAY + 1, "auth", json!({"outcome": "failure"})),
    ]);
    let data = compute(
        &pack,
        vec![panel("rate", Visual::Line, 30 * DAY_MS, query)],
        &events,
    );
    assert_eq!(
        shown(&data.panels[0]),
        vec![
            (Some(0), vec![], vec![Some(0.25)]),
            (Some(1), vec![], vec![None]),
        ]
    );
}

#[test]
fn baselines_average_earlier_buckets_counting_empty_ones_and_start_with_none() {
    let pack = pack(&rule(
        "t.base",
        "match inference group by api_key_id within 1d alert when count() > baseline(count(), 3d)",
    ));
    let (source, count, baseline) = sides(&pack, "t.base");
    let query = PanelQuery::Events {
        source,
        group_by: vec![GroupKey::Field {
            field: "api_key_id".into(),
        }],
        bucket_ms: Some(DAY_MS),
        measures: vec![measure("count", count), measure("baseline", baseline)],
        top: None,
    };
    let mut events = Vec::new();
    // k1: 2 on day 0, none on day 1, 4 on day 2, 1 on day 3; k2 first seen on day 3.
    for (day, calls) in [(0, 2), (2, 4), (3, 1)] {
        for call in 0..calls {
            events.push(event(
                day * DAY + call,
                "inference",
                json!({"api_key_id": "k1"}),
            ));
        }
    }
    events.push(event(
        3 * DAY + 100,
        "inference",
        json!({"api_key_id": "k2"}),
    ));
    let data = compute(
        &pack,
        vec![panel("against", Visual::Line, 30 * DAY_MS, query.clone())],
        &numbered(events.clone()),
    );
    assert_eq!(
        shown(&data.panels[0]),
        vec![
            (Some(0), text(&["k1"]), vec![Some(2.0), None]),
            // (2 + 0 for the empty day 1) / 2.
            (Some(2), text(&["k1"]), vec![Some(4.0), Some(1.0)]),
            // (2 + 0 + 4) / 3.
            (Some(3), text(&["k1"]), vec![Some(1.0), Some(2.0)]),
            // A group's first bucket has no baseline.
            (Some(3), text(&["k2"]), vec![Some(1.0), None]),
        ]
    );

    // With a range that starts inside day 1, day 0 is outside the panel's
    // range: the history starts at day 2.
    let data = compute(
        &pack,
        vec![panel("against", Visual::Line, 2 * DAY_MS, query)],
        &numbered(events),
    );
    assert_eq!(
        shown(&data.panels[0]),
        vec![
            (Some(2), text(&["k1"]), vec![Some(4.0), None]),
            (Some(3), text(&["k1"]), vec![Some(1.0), Some(4.0)]),
            (Some(3), text(&["k2"]), vec![Some(1.0), None]),
        ]
    );
}

#[test]
fn the_range_ends_at_the_last_event_and_reads_back_from_there() {
    let pack = pack(&rule("t.count", COUNT_RULE));
    let (source, count, _) = sides(&pack, "t.count");
    let query = PanelQuery::Events {
        source,
        group_by: Vec::new(),
        bucket_ms: None,
        measures: vec![measure("inferences", count)],
        top: None,
    };
    let events = numbered(vec![
        event(0, "inference", json!({"model": "m"})),
        event(DAY, "inference", json!({"model": "m"})),
        event(2 * DAY, "inference", json!({"model": "m"})),
        // The last event, of a type the panel does not read, ends the range.
        event(3 * DAY, "auth", json!({"outcome": "success"})),
    ]);
    let data = compute(
        &pack,
        vec![
            panel("two_days", Visual::Single, 2 * DAY_MS, query.clone()),
            panel("all", Visual::Single, 30 * DAY_MS, query),
        ],
        &events,
    );
    assert_eq!(data.end, Some(BASE_MS + 3 * DAY_MS));
    assert_eq!(
        data.panels[0].range,
        Some((BASE_MS + DAY_MS, BASE_MS + 3 * DAY_MS))
    );
    // Events at or after end - range count: day 1 and day 2.
    assert_eq!(
        shown(&data.panels[0]),
        vec![(None, vec![], vec![Some(2.0)])]
    );
    assert_eq!(
        shown(&data.panels[1]),
        vec![(None, vec![], vec![Some(3.0)])]
    );
}

#[test]
fn alerts_are_counted_per_rule_and_bucket_when_raised_inside_the_range() {
    let rules = format!(
        "{}{}",
        rule("t.match", r#"match auth where outcome == "failure""#),
        rule(
            "t.burst",
            r#"match auth where outcome == "failure" group by user_id within 1h alert when count() >= 2"#
        )
    );
    let pack = pack(&rules);
    let failure = |seconds: i64| {
        event(
            seconds,
            "auth",
            json!({"outcome": "failure", "user_id": "u"}),
        )
    };
    let events = numbered(vec![
        failure(10 * MIN),
        failure(20 * MIN),
        failure(DAY + 10 * MIN),
        failure(DAY + 20 * MIN),
        // The last event: its window (and this burst) is still open.
        failure(DAY + 2 * HOUR),
        failure(DAY + 2 * HOUR + 1),
    ]);
    let alerts = |bucket_ms| PanelQuery::Alerts { bucket_ms };
    let data = compute(
        &pack,
        vec![
            panel("by_day", Visual::Bar, 30 * DAY_MS, alerts(Some(DAY_MS))),
            panel("total", Visual::Bar, 30 * DAY_MS, alerts(None)),
            panel("today", Visual::Bar, HOUR_MS, alerts(None)),
        ],
        &events,
    );
    assert_eq!(data.panels[0].keys, ["rule"]);
    assert_eq!(data.panels[0].measures, ["alerts"]);
    assert_eq!(
        shown(&data.panels[0]),
        vec![
            (Some(0), text(&["t.burst"]), vec![Some(1.0)]),
            (Some(0), text(&["t.match"]), vec![Some(2.0)]),
            (Some(1), text(&["t.burst"]), vec![Some(1.0)]),
            (Some(1), text(&["t.match"]), vec![Some(4.0)]),
        ]
    );
    assert_eq!(
        shown(&data.panels[1]),
        vec![
            (None, text(&["t.burst"]), vec![Some(2.0)]),
            (None, text(&["t.match"]), vec![Some(6.0)]),
        ]
    );
    // The last hour: the last two matches; the open burst is not raised yet.
    assert_eq!(
        shown(&data.panels[2]),
        vec![(None, text(&["t.match"]), vec![Some(2.0)])]
    );
}

const HOUR_MS: i64 = 3_600_000;

#[test]
fn no_events_gives_empty_panels_and_bad_events_are_located_errors() {
    let pack = pack(&rule("t.count", COUNT_RULE));
    let (source, count, _) = sides(&pack, "t.count");
    let query = PanelQuery::Events {
        source,
        group_by: Vec::new(),
        bucket_ms: None,
        measures: vec![measure("inferences", count)],
        top: None,
    };
    let panels = vec![panel("all", Visual::Single, DAY_MS, query)];
    let empty = compute(&pack, panels.clone(), &[]);
    assert_eq!(empty.end, None);
    // One row, as `stats count` over nothing: 0.
    assert_eq!(
        shown(&empty.panels[0]),
        vec![(None, vec![], vec![Some(0.0)])]
    );
    assert_eq!(empty.panels[0].range, None);

    let bad = vec![json!({"event_type": "inference", "timestamp": "yesterday"})];
    let error = dashboard_values(&pack, &dashboard(panels), &bad, &EvalOptions::default())
        .expect_err("a bad timestamp");
    assert_eq!(error.exit_code(), 1);
    assert!(error.to_string().contains("E0512"), "{error}");
}
