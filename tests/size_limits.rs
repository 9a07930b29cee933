//! The SIEMs' size limits, checked at compile time: a query longer than
//! Sentinel's 10,000 characters is refused with E0402 naming the limit,
//! never written; one just under it compiles.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use tripline::project::{LoadOptions, load};
use tripline::targets::{self, Artifact, Problem};

/// The rule `local.NAME` matching `tool_call` events whose `tool_name` is
/// one of `count` distinct 20-character names, compiled for `target_id`.
fn compile_inline_list(
    target_id: &str,
    name: &str,
    count: usize,
) -> Result<Vec<Artifact>, Vec<Problem>> {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate directory");
    let directory = std::env::temp_dir().join(format!(
        "tripline-size-limits-{target_id}-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("a temporary directory");
    let names: Vec<String> = (0..count)
        .map(|index| format!("\"tool_{index:015}\""))
        .collect();
    let rule = directory.join("rule.tdl");
    std::fs::write(
        &rule,
        format!(
            "rule local.{name} {{\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  match tool_call where tool_name in [{}]\n}}\n",
            names.join(", ")
        ),
    )
    .expect("the rule is written");
    let project = load(&LoadOptions {
        paths: vec![PathBuf::from("rules/schema"), rule],
        ..LoadOptions::default()
    })
    .expect("the rule loads");
    let pack = project.pack.as_ref().expect("the rule checks");
    let registry = targets::registry();
    let target = registry
        .iter()
        .find(|target| target.id() == target_id)
        .expect("a registered target");
    let mapping = target.default_mapping(&pack.schema);
    let result = targets::compile_rule(target.as_ref(), &pack.rules[0], pack, &mapping, &registry);
    let _ = std::fs::remove_dir_all(&directory);
    result
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
