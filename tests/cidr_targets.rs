//! `in cidr` per target. sentinel_kql: one test per address family, each
//! against the networks that can hold its texts, and false on a text that is
//! no address whether negated or not, as in the evaluator; splunk_spl computes the
//! address as 32 hex digits and tests network prefixes;
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
fn splunk_tests_the_address_as_hex_digits_computed_before_the_where() {
    let search = compile(
        "splunk_spl",
        "splunk",
        r#"target_ip in cidr("10.0.0.0/8", "fe80::/10")"#,
    )
    .unwrap();
    let eval = search
        .find("| eval tripline_target_ip_trimmed = replace(target_ip, ")
        .expect("the address is computed");
    let test = search
        .find(r#"match(tripline_target_ip_hex, "^(?:00000000000000000000ffff0a|fe[89ab])")"#)
        .unwrap_or_else(|| panic!("the networks are prefixes of the mapped hex: {search}"));
    assert!(eval < test, "{search}");
    // IPv4 is written IPv4-mapped, each octet as two hex digits.
    assert!(
        search.contains(r#""::ffff:") . printf("%02x%02x:%02x%02x""#),
        "{search}"
    );
    assert!(
        search.contains("| fields - tripline_target_ip_trimmed, tripline_target_ip_address, tripline_target_ip_octets, tripline_target_ip_groups, tripline_target_ip_hex"),
        "the helpers are dropped: {search}"
    );
    assert!(!search.contains("cidrmatch"), "{search}");
}

#[test]
fn splunk_not_in_cidr_asks_for_an_address_first() {
    let search = compile(
        "splunk_spl",
        "splunk_not",
        r#"target_ip not in cidr("10.0.0.0/8")"#,
    )
    .unwrap();
    assert!(
        search.contains(r#"(tripline_target_ip_hex != "" AND NOT match(tripline_target_ip_hex, "^(?:00000000000000000000ffff0a)"))"#),
        "{search}"
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
