//! Sequences on `splunk_spl` and `sentinel_kql`: the closed form's key steps
//! (`plan::sequence`, whose agreement with the evaluator is property-tested
//! in `tests/sequence_closed_form.rs`), the time range each run reads, and
//! the located refusal of sequences with more than one step before the last.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod one_rule;

/// The artifacts' text for one rule written in `body`, or the refusals.
fn compile(target_id: &str, name: &str, body: &str) -> Result<String, Vec<String>> {
    one_rule::compile(target_id, name, "high", body).map(|artifacts| {
        artifacts
            .iter()
            .map(|artifact| artifact.text.clone())
            .collect()
    })
}

const RUN_OF_THREE: &str = "  sequence by api_key_id within 2m {\n    auth where outcome == \"failure\" repeat >= 3;\n    auth where outcome == \"success\";\n  }";

const THREE_STEPS: &str =
    "  sequence by session_id within 10m {\n    inference;\n    retrieval;\n    tool_call;\n  }";

#[test]
fn splunk_carries_the_run_start_and_ids_to_the_completing_event() {
    let text = compile("splunk_spl", "run", RUN_OF_THREE).expect("compiles");
    for line in [
        "| sort 0 str(tripline_key), num(tripline_time_ms), str(tripline_event_id)",
        "| sort 0 -num(tripline_first_step), num(tripline_row)",
        "| autoregress tripline_time_ms AS tripline_run_start_ms p=2",
        "| autoregress tripline_event_id p=1-2",
        "| where tripline_last_step == 1 AND tripline_previous_key == tripline_key AND tripline_previous_first == 1 AND tripline_first_ms >= tripline_time_ms - 120000",
        "| where floor(_time / 300) == floor((now() - 300) / 300) - 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // Two slots, the span and the lateness bound.
    assert!(text.contains("dispatch.earliest_time = -1020s"), "{text}");
    // Never a windowed or grouping command whose semantics differ.
    for command in ["streamstats", "transaction"] {
        assert!(!text.contains(command), "{text}");
    }
}

#[test]
fn sentinel_reads_the_run_start_from_the_previous_row() {
    let text = compile("sentinel_kql", "run", RUN_OF_THREE).expect("compiles");
    for line in [
        "| extend RunStart = iff(prev(ApiKeyId, 2) == ApiKeyId, prev(TimeGenerated, 2), datetime(null)),",
        "RunEventIds = pack_array(prev(EventId, 2), prev(EventId, 1), EventId);",
        "| sort by ApiKeyId asc, TimeGenerated asc, EventId asc",
        "| where LastStep and FirstSeen >= TimeGenerated - Within",
        "let Within = 2m;",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // The slot, the span and the lateness bound.
    assert!(text.contains("queryPeriod: 12m"), "{text}");
}

#[test]
fn sequences_with_several_steps_before_the_last_are_refused_with_the_reason() {
    for target in ["splunk_spl", "sentinel_kql"] {
        let problems = compile(target, "three", THREE_STEPS).expect_err("refused");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("`A repeat >= n; B`"),
            "{target}: {problems:?}"
        );
    }
}

#[test]
fn overlong_runs_are_refused_on_splunk() {
    let body = RUN_OF_THREE.replace("repeat >= 3", "repeat >= 21");
    let problems = compile("splunk_spl", "long", &body).expect_err("refused");
    assert!(problems[0].contains("at most 20"), "{problems:?}");
}
