//! The sentinel_kql spelling of `in cidr`: one test per address family, each
//! against the networks that can hold its texts, and false on a text that is
//! no address whether negated or not, as in the evaluator.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use tripline::project::{LoadOptions, load};
use tripline::targets;

/// The query of one `match tool_call where CONDITION` rule for `target`.
fn compile(target_id: &str, name: &str, condition: &str) -> Result<String, Vec<String>> {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let directory =
        std::env::temp_dir().join(format!("tripline-cidr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let rule = directory.join("rule.tdl");
    std::fs::write(
        &rule,
        format!(
            "rule local.{name} {{\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  match tool_call where {condition}\n}}\n"
        ),
    )
    .unwrap();
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
        .unwrap();
    let mapping = target.default_mapping(&pack.schema);
    match targets::compile_rule(target.as_ref(), &pack.rules[0], pack, &mapping, &registry) {
        Ok(artifacts) => Ok(artifacts
            .iter()
            .find(|artifact| artifact.path.ends_with(".kql"))
            .map(|artifact| artifact.text.clone())
            .unwrap_or_else(|| artifacts[0].text.clone())),
        Err(problems) => Err(problems
            .iter()
            .map(|problem| format!("{problem:?}"))
            .collect()),
    }
}

#[test]
fn both_families_are_tested_against_their_own_networks() {
    let query = compile(
        "sentinel_kql",
        "both",
        r#"target_ip in cidr("10.0.0.0/8", "fe80::/10")"#,
    )
    .unwrap();
    assert!(
        query.contains(r#"ipv4_is_in_any_range(extract("#),
        "{query}"
    );
    assert!(
        query.contains(r#"1, TargetIp), "10.0.0.0/8")"#),
        "the IPv4 test sees only the IPv4 network: {query}"
    );
    assert!(
        query.contains(r#"1, TargetIp), "::ffff:10.0.0.0/104", "fe80::/10")"#),
        "the IPv6 test also holds the mapped IPv4 network: {query}"
    );
    assert!(!query.contains("not("), "{query}");
}

#[test]
fn not_in_cidr_is_false_on_text_that_is_no_address() {
    let query = compile(
        "sentinel_kql",
        "negated",
        r#"target_ip not in cidr("10.0.0.0/8")"#,
    )
    .unwrap();
    // Each family's test keeps its address pattern outside the negation:
    // `(F matches regex P and not(in range))`, so other text is neither in
    // nor out.
    let negations = query.matches("and not(ipv").count();
    assert_eq!(negations, 2, "{query}");
    assert!(!query.contains("not((TargetIp matches regex"), "{query}");
    assert!(!query.contains("not(TargetIp matches regex"), "{query}");
}

#[test]
fn splunk_refuses_network_membership() {
    let problems =
        compile("splunk_spl", "splunk", r#"target_ip in cidr("10.0.0.0/8")"#).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("IPv4-mapped")),
        "{problems:?}"
    );
}
