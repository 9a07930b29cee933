//! `in cidr` per target. sentinel_kql: one test per address family, each
//! against the networks that can hold its texts, and false on a text that is
//! no address whether negated or not, as in the evaluator; splunk_spl refuses it;
//! kibana_kql takes both families on `ip` fields.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod one_rule;

/// The query of one `match tool_call where CONDITION` rule for `target`.
fn compile(target_id: &str, name: &str, condition: &str) -> Result<String, Vec<String>> {
    let body = format!("  match tool_call where {condition}");
    one_rule::compile(target_id, name, "low", &body).map(|artifacts| {
        artifacts
            .iter()
            .find(|artifact| artifact.path.ends_with(".kql"))
            .unwrap_or(&artifacts[0])
            .text
            .clone()
    })
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

#[test]
fn kibana_compiles_ipv6_networks_on_ip_fields() {
    let artifacts = one_rule::compile(
        "kibana_kql",
        "kibana",
        "low",
        r#"  match tool_call where target_ip in cidr("10.0.0.0/8", "fc00::/7")"#,
    )
    .unwrap();
    let text: String = artifacts
        .iter()
        .map(|artifact| artifact.text.clone())
        .collect();
    assert!(text.contains(r#"fc00::/7"#), "{text}");
}
