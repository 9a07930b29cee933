//! Sequences on `duckdb_sql` and `spark_sql`: the closed form of
//! `plan::sequence` printed with window functions (the run's start by a lag
//! of n − 1 over each key's first-step events, the event just before each
//! last-step event by a lag over both steps, the cited events by a join),
//! and the located refusal of sequences with several steps before the last.
//! The queries' agreement with the evaluator on real engines is checked by
//! `.ci/conformance/sql_check.py`.

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

const SQL_TARGETS: [&str; 2] = ["duckdb_sql", "spark_sql"];

#[test]
fn the_run_start_is_a_lag_of_n_minus_one_over_the_first_step_events() {
    for target in SQL_TARGETS {
        let text = compile(target, "run", RUN_OF_THREE).expect("compiles");
        for line in [
            "  WHERE event_type = 'auth'\n    AND api_key_id IS NOT NULL",
            "  SELECT * FROM flagged WHERE is_run OR is_last",
            "    lag(_time_ms, 2) OVER by_key AS run_start_ms,",
            "    lag(_order, 2) OVER by_key AS run_start_order",
            "  FROM steps\n  WHERE is_run\n  WINDOW by_key AS (PARTITION BY api_key_id ORDER BY _order)",
            "    lag(is_run) OVER by_key AS after_run,",
            "  WHERE is_last AND after_run AND prior_run_start_ms >= _time_ms - 120000",
            "  ON cited.api_key_id = completed.api_key_id",
            "  AND cited._order BETWEEN completed.prior_run_start_order AND completed.completed_order",
            "  AND (cited.is_run OR cited._order = completed.completed_order)",
            "GROUP BY completed.completed_order, completed_ms, completed.api_key_id",
        ] {
            assert!(text.contains(line), "{target}: missing {line:?} in\n{text}");
        }
        // The runner reads the alert's group from the key column.
        assert!(
            text.contains(r#""shape":"sequence""#)
                && text.contains(r#"[["api_key_id","api_key_id"]]"#),
            "{target}: {text}"
        );
    }
}

#[test]
fn a_run_of_one_starts_at_its_own_event_and_a_repeated_single_step_is_a_run_then_the_step() {
    let one = "  sequence by api_key_id within 1m {\n    auth where outcome == \"failure\";\n    inference;\n  }";
    let text = compile("duckdb_sql", "one", one).expect("compiles");
    assert!(
        text.contains("  SELECT *, _time_ms AS run_start_ms, _order AS run_start_order"),
        "{text}"
    );
    // Two types: each step tests its own; a step without a filter is its type test.
    assert!(
        text.contains("WHERE event_type IN ('auth', 'inference')"),
        "{text}"
    );
    assert!(
        text.contains("    event_type = 'inference' AS is_last"),
        "{text}"
    );
    assert!(
        text.contains("coalesce(event_type = 'auth' AND (outcome IS NOT NULL AND "),
        "{text}"
    );
    let single = "  sequence by user_id, api_key_id within 5m {\n    auth where outcome == \"failure\" repeat >= 4;\n  }";
    let text = compile("spark_sql", "single", single).expect("compiles");
    assert!(text.contains("lag(_time_ms, 2) OVER by_key"), "{text}");
    assert!(
        text.contains("WINDOW by_key AS (PARTITION BY user_id, api_key_id ORDER BY _order)"),
        "{text}"
    );
    assert!(
        text.contains(
            "  ON cited.user_id = completed.user_id\n  AND cited.api_key_id = completed.api_key_id"
        ),
        "{text}"
    );
}

#[test]
fn sequences_with_several_steps_before_the_last_are_refused_with_the_reason() {
    for target in SQL_TARGETS {
        let problems = compile(target, "three", THREE_STEPS).expect_err("refused");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("`A repeat >= n; B`"),
            "{target}: {problems:?}"
        );
        let problems = compile(
            target,
            "repeat_last",
            "  sequence by session_id within 10m {\n    inference;\n    retrieval repeat >= 2;\n  }",
        )
        .expect_err("refused");
        assert!(problems[0].contains("`A repeat >= n; B`"), "{problems:?}");
    }
}

#[test]
fn check_target_locates_the_refusal_at_the_rule_and_passes_a_run_then_a_step() {
    let directory =
        std::env::temp_dir().join(format!("tripline-sql-seq-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let three = directory.join("three.tdl");
    std::fs::write(
        &three,
        format!("rule local.three {{\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n{THREE_STEPS}\n}}\n"),
    )
    .unwrap();
    let run = directory.join("run.tdl");
    std::fs::write(
        &run,
        format!("rule local.run {{\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n{RUN_OF_THREE}\n}}\n"),
    )
    .unwrap();
    for target in SQL_TARGETS {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tripline"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["check", "--color", "never", "rules/schema"])
            .arg(&three)
            .args(["--target", target])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("error[E0402]"), "{stderr}");
        assert!(stderr.contains("three.tdl:1:1"), "{stderr}");
        assert!(
            stderr.contains(&format!("{target}: 0 of 1 rule compile")),
            "{stderr}"
        );
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tripline"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["check", "--color", "never", "rules/schema"])
            .arg(&run)
            .args(["--target", target])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains(&format!("{target}: 1 of 1 rule compile")),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&directory);
}
