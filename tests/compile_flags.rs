//! `compile`'s short flags: `-v` is `--explain-unsupported`, the full
//! reasons behind the matrix's one-line codes.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Output};

fn tripline(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("tripline runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn short_v_explains_what_a_target_cannot_express_as_the_long_flag_does() {
    let directory =
        std::env::temp_dir().join(format!("tripline-compile-flags-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("a temporary directory");
    // A new-value rule: some targets (kibana_kql, sigma, elastic_eql) leave it out.
    let rule = directory.join("gap.tdl");
    std::fs::write(
        &rule,
        "rule local.gap {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  match auth where outcome == \"success\"\n  new src_ip for user_id lookback 30d\n}\n",
    )
    .expect("the rule is written");
    let rule = rule.to_string_lossy().into_owned();
    let run = |flag: Option<&str>, out: &str| {
        let out = directory.join(out).to_string_lossy().into_owned();
        let mut arguments = vec!["compile", "rules/schema", rule.as_str(), "--out", &out];
        arguments.extend(flag);
        let output = tripline(&arguments);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        text(&output.stderr)
    };
    let quiet = run(None, "quiet");
    assert!(!quiet.contains("error["), "quiet by default: {quiet}");
    let short = run(Some("-v"), "short");
    let long = run(Some("--explain-unsupported"), "long");
    assert!(
        short.contains("error[E0401]") && short.contains("gap.tdl:"),
        "-v prints each refusal at the rule text: {short}"
    );
    let located = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|line| line.starts_with("error[") || line.contains("gap.tdl:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        located(&short),
        located(&long),
        "-v is --explain-unsupported"
    );
    let _ = std::fs::remove_dir_all(&directory);
}
