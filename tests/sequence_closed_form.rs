//! The closed form of `A repeat >= n; B` sequences that `splunk_spl` and
//! `sentinel_kql` compute (`tripline::targets::plan::sequence`) against the
//! evaluator's state machine, on random event streams: few keys (and events
//! without one), few timestamps (many ties, ordered by `event_id`), steps
//! that overlap (an event may match A, B, both or neither), short spans.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod eval_support;

use eval_support::*;
use proptest::prelude::*;
use serde_json::json;
use tripline::targets::plan::sequence::{StepEvent, completions};

/// One generated event: key (0, 1, or none), second, which steps it matches
/// (`auth_method` a, b, ab or c), and a tiebreak rank for its `event_id`.
type Spec = (Option<u8>, i64, u8, u32);

fn method(kind: u8) -> &'static str {
    ["a", "b", "ab", "c"][usize::from(kind % 4)]
}

fn sequence_pack(repeat: u32, within_seconds: i64) -> tripline::ir::Pack {
    pack(&rule(
        "t.closed_form",
        &format!(
            "sequence by api_key_id within {within_seconds}s {{\n auth where auth_method in [\"a\", \"ab\"] repeat >= {repeat};\n auth where auth_method in [\"b\", \"ab\"];\n }}"
        ),
    ))
}

/// The evaluator's alerts and the closed form's completions, each as the
/// sorted list of their event-id lists.
fn both(specs: &[Spec], repeat: u32, within_seconds: i64) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    // Times never decrease in the input; ids are unique but their order
    // among equal times is random, so the evaluator has to order ties.
    let mut specs = specs.to_vec();
    specs.sort_by_key(|spec| spec.1);
    let events: Vec<_> = specs
        .iter()
        .enumerate()
        .map(|(index, (key, second, kind, rank))| {
            let mut fields = json!({
                "auth_method": method(*kind),
                "event_id": format!("e{rank:05}-{index:03}"),
            });
            if let Some(key) = key {
                fields["api_key_id"] = json!(format!("k{key}"));
            }
            event(*second, "auth", fields)
        })
        .collect();
    let alerts = eval(&sequence_pack(repeat, within_seconds), &events);
    let mut found: Vec<Vec<String>> = alerts.iter().map(|alert| alert.event_ids.clone()).collect();
    found.sort();

    // Processing order: time, then event_id.
    let mut order: Vec<usize> = (0..events.len()).collect();
    let id = |index: usize| events[index]["event_id"].as_str().unwrap().to_string();
    order.sort_by_key(|&index| (specs[index].1, id(index)));
    let stream: Vec<StepEvent<u8>> = order
        .iter()
        .map(|&index| {
            let (key, second, kind, _) = specs[index];
            StepEvent {
                key,
                time: second * 1000,
                run: matches!(method(kind), "a" | "ab"),
                last: matches!(method(kind), "b" | "ab"),
            }
        })
        .collect();
    let mut expected: Vec<Vec<String>> = completions(&stream, repeat, within_seconds * 1000)
        .iter()
        .map(|completion| {
            completion
                .run
                .iter()
                .chain([&completion.last])
                .map(|&position| id(order[position]))
                .collect()
        })
        .collect();
    expected.sort();
    (found, expected)
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop_oneof![Just(Some(0u8)), Just(Some(1u8)), Just(None)],
        0i64..40,
        0u8..4,
        0u32..1000,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_closed_form_finds_the_evaluators_sequences(
        specs in proptest::collection::vec(spec(), 0..40),
        repeat in 1u32..5,
        within in 1i64..15,
    ) {
        let (found, expected) = both(&specs, repeat, within);
        prop_assert_eq!(found, expected);
    }
}

#[test]
fn the_shipped_example_agrees() {
    // Five failures, a success, a sixth failure and a second success: two
    // sequences (failures one to five, then two to six).
    let mut specs: Vec<Spec> = (0..5).map(|n| (Some(0), n, 0, 0)).collect();
    specs.push((Some(0), 5, 1, 0));
    specs.push((Some(0), 6, 0, 0));
    specs.push((Some(0), 7, 1, 0));
    let (found, expected) = both(&specs, 5, 600);
    assert_eq!(found.len(), 2);
    assert_eq!(found, expected);
}

#[test]
fn a_wrong_closed_form_is_caught() {
    // Condition (3) matters: without it, a success after a success would
    // complete again. The evaluator says one sequence here.
    let specs: Vec<Spec> = vec![(Some(0), 0, 0, 0), (Some(0), 1, 1, 0), (Some(0), 2, 1, 0)];
    let (found, expected) = both(&specs, 1, 10);
    assert_eq!(found.len(), 1);
    assert_eq!(found, expected);
}
