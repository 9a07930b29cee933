//! The SIEMs' size limits, checked at compile time: a query longer than
//! Sentinel's 10,000 characters is refused with E0402 naming the limit,
//! never written; one just under it compiles.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod one_rule;

use tripline::targets::{Artifact, Problem};

/// The rule `local.NAME` matching `tool_call` events whose `tool_name` is
/// one of `count` distinct 20-character names, compiled for `target_id`.
fn compile_inline_list(
    target_id: &str,
    name: &str,
    count: usize,
) -> Result<Vec<Artifact>, Vec<Problem>> {
    let names: Vec<String> = (0..count)
        .map(|index| format!("\"tool_{index:015}\""))
        .collect();
    let body = format!(
        "  match tool_call where tool_name in [{}]",
        names.join(", ")
    );
    one_rule::compile_problems(target_id, name, "low", &body)
}

#[test]
fn sentinel_refuses_a_query_over_its_10000_characters() {
    // 600 names of 22 characters with their separators: well over 10,000.
    let problems = compile_inline_list("sentinel_kql", "long_list", 600)
        .expect_err("a query over 10,000 characters is refused");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let problem = &problems[0];
    assert_eq!(problem.code.as_str(), "E0402", "{problem:#?}");
    assert!(
        problem.message.contains("at most 10000")
            && problem.message.contains("scheduled-rules-overview"),
        "the refusal names the limit and where it is documented: {}",
        problem.message
    );
}

#[test]
fn sentinel_compiles_the_same_rule_under_the_limit() {
    let artifacts = compile_inline_list("sentinel_kql", "short_list", 100)
        .expect("a query well under 10,000 characters compiles");
    assert!(!artifacts.is_empty());
}
