//! Unit tests of the checker: rule text to IR shapes and diagnostics.

use super::{CheckOptions, check};
use crate::diagnostics::{ColorMode, Diagnostic, render_human};
use crate::ir::{self, Detection, ExprKind, StringSet, TextOp};
use crate::source::Sources;
use crate::syntax::parse;

const SCHEMA: &str = r#"
common {
  timestamp: timestamp required,
  event_type: string required,
  event_id: string,
  app: string,
  session_id: string,
  user_id: string,
  api_key_id: string,
  src_ip: ip,
  geo_country: string,
}
event inference { model: string, user_input: string, output: string, user_input_norm: string, input_tokens: int, output_tokens: int, cost_usd: float }
event tool_call { tool_name: string, tool_args: string, tool_result: string, target_url: string, target_domain: string, target_path: string, status: string one_of ["success", "blocked", "error"] }
event auth { outcome: string one_of ["success", "failure"], auth_method: string }
event policy_refusal { user_input: string, policy_category: string, model: string }
event retrieval { query: string, document_id: string, document_category: string, content: string }
event rate_limit { limit_name: string }
event dependency { component: string, version: string }
list extraction_phrases: string = ["ignore previous instructions", "reveal your system prompt"]
list injection_markers: string = ["ignore all previous", "<system>"]
list secret_patterns: regex = [/\bAKIA[0-9A-Z]{16}\b/, /-----BEGIN [A-Z ]*PRIVATE KEY-----/]
param extraction_threshold: int = 5
playbook exfil { title: "Exfil", guide: "Steps" }
"#;

const META: &str = r#"title: "t" description: "d" severity: high category: llm_attack guide: "g""#;

fn run_with(text: &str, options: &CheckOptions) -> (Option<ir::Pack>, Vec<Diagnostic>, String) {
    let mut sources = Sources::new();
    let schema_id = sources.add("schema.tdl", SCHEMA);
    let rules_id = sources.add("rules.tdl", text);
    let (schema, schema_errors) = parse(SCHEMA, schema_id);
    let (rules, rule_errors) = parse(text, rules_id);
    assert!(
        schema_errors.is_empty() && rule_errors.is_empty(),
        "{rule_errors:#?}"
    );
    let (pack, diagnostics) = check(&sources, &[(schema_id, schema), (rules_id, rules)], options);
    let rendered = render_human(&diagnostics, &sources, ColorMode::Never);
    (pack, diagnostics, rendered)
}

fn rule(body: &str) -> String {
    format!("rule r.one {{ {META}\n {body} }}")
}

fn lowered(body: &str) -> ir::Rule {
    let (pack, diagnostics, rendered) = run_with(&rule(body), &CheckOptions::default());
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{rendered}");
    let pack = pack.unwrap_or_default();
    pack.rules
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no rule: {rendered}"))
}

fn errors(body: &str) -> String {
    let (pack, _, rendered) = run_with(&rule(body), &CheckOptions::default());
    assert!(pack.is_none(), "expected errors for {body}");
    rendered
}

fn filter(rule: &ir::Rule) -> &ir::Expr {
    match &rule.detection {
        Detection::Match { source }
        | Detection::Window { source, .. }
        | Detection::NewValue { source, .. }
        | Detection::Cluster { source, .. } => source
            .filter
            .as_ref()
            .unwrap_or_else(|| panic!("no filter")),
        Detection::Sequence { .. } => panic!("sequence"),
    }
}

#[test]
fn not_equal_is_negated_text_equals() {
    let rule = lowered(r#"match tool_call where status != "success""#);
    let ExprKind::Text {
        op,
        negated,
        case_sensitive,
        fold_whitespace,
        needles,
        ..
    } = &filter(&rule).kind
    else {
        panic!("{:?}", filter(&rule))
    };
    assert_eq!(*op, TextOp::Equals);
    assert!(*negated && !*case_sensitive && !*fold_whitespace);
    assert!(matches!(needles, StringSet::Literals(values) if values == &["success".to_string()]));
    assert_eq!(rule.fields, vec!["status", "timestamp"]);
}

#[test]
fn threshold_rule_lowers_with_param_value_and_grouping() {
    let text = rule(
        "match inference where user_input has_any extraction_phrases\n group by session_id within 24h\n alert when count() >= extraction_threshold",
    );
    let mut options = CheckOptions::default();
    options
        .params
        .insert("extraction_threshold".into(), "3".into());
    let (pack, _, rendered) = run_with(&text, &options);
    let pack = pack.unwrap_or_else(|| panic!("{rendered}"));
    let rule = &pack.rules[0];
    let Detection::Window {
        groupings,
        window_ms,
        condition,
        source,
        ..
    } = &rule.detection
    else {
        panic!("not a window")
    };
    assert_eq!(groupings, &vec![vec!["session_id".to_string()]]);
    assert_eq!(*window_ms, 86_400_000);
    let ExprKind::Compare { left, right, .. } = &condition.kind else {
        panic!()
    };
    assert!(matches!(&left.kind, ExprKind::Aggregate { label, .. } if label == "count()"));
    assert!(matches!(
        &right.kind,
        ExprKind::Param {
            value: ir::Value::Int(3),
            ..
        }
    ));
    assert_eq!(
        pack.params["extraction_threshold"].default,
        ir::Value::Int(5)
    );
    let Some(filter) = &source.filter else {
        panic!()
    };
    assert!(
        matches!(&filter.kind, ExprKind::Text { op: TextOp::Contains, fold_whitespace: true, needles: StringSet::List(name), .. } if name == "extraction_phrases")
    );
    assert_eq!(rule.uses.params, vec!["extraction_threshold"]);
    assert_eq!(rule.uses.lists, vec!["extraction_phrases"]);
    assert_eq!(rule.fields, vec!["session_id", "timestamp", "user_input"]);
    assert_eq!(rule.metadata.schedule_ms, 300_000);
}

#[test]
fn grouping_sets_and_global_groups() {
    let rule = lowered(
        "match rate_limit group by each (api_key_id), (src_ip) within 1h alert when count() >= 10",
    );
    let Detection::Window { groupings, .. } = &rule.detection else {
        panic!()
    };
    assert_eq!(
        groupings,
        &vec![vec!["api_key_id".to_string()], vec!["src_ip".to_string()]]
    );
    let rule = lowered("match rate_limit within 1h alert when count() >= 10");
    let Detection::Window { groupings, .. } = &rule.detection else {
        panic!()
    };
    assert_eq!(groupings, &vec![Vec::<String>::new()]);
}

#[test]
fn narrowing_in_filters_aggregates_and_steps() {
    lowered(
        r#"match retrieval, tool_call where (event_type == "retrieval" and content has_any injection_markers) or (event_type == "tool_call" and tool_result has_any injection_markers)"#,
    );
    lowered(
        r#"match inference, policy_refusal group by app within 1h alert when count(where event_type == "policy_refusal") / count(where event_type == "inference") >= 3 * baseline(count(where event_type == "policy_refusal") / count(where event_type == "inference"), 7d) and sum(output_tokens, where event_type == "inference") > 0"#,
    );
    let rule = lowered(
        r#"sequence by session_id within 10m {
        retrieval, tool_call where (event_type == "retrieval" and content has_any injection_markers) or (event_type in ["tool_call"] and tool_result has_any injection_markers)
        tool_call where target_domain not in ["example.com"]
    }"#,
    );
    assert_eq!(rule.event_types, vec!["retrieval", "tool_call"]);
    let rendered = errors(r#"match retrieval, tool_call where content has_any injection_markers"#);
    assert!(
        rendered.contains("`content` is not a field of `tool_call`; it is a field of `retrieval`"),
        "{rendered}"
    );
    assert!(
        rendered.contains("event_type == \"retrieval\" and"),
        "{rendered}"
    );
}

#[test]
fn wrong_event_type_and_typos_are_explained() {
    let rendered = errors("match policy_refusal where output_tokens > 5");
    assert!(
        rendered.contains(
            "`output_tokens` is not a field of `policy_refusal`; it is a field of `inference`"
        ),
        "{rendered}"
    );
    let rendered = errors(r#"match inference where user_inptu contains "x""#);
    assert!(
        rendered.contains("help: a field with a similar name exists: `user_input`"),
        "{rendered}"
    );
    let rendered = errors(r#"match inference where output_tokens == "many""#);
    assert!(
        rendered.contains("`==` compares `int` with `string`"),
        "{rendered}"
    );
    let rendered = errors(r#"match tool_call where status == "sucess""#);
    assert!(
        rendered.contains("E0209") && rendered.contains("`success`"),
        "{rendered}"
    );
    let rendered = errors(r#"match inference, policy_refusal where event_type == "tool_call""#);
    assert!(rendered.contains("E0204"), "{rendered}");
}

#[test]
fn unknown_field_gives_one_error_only() {
    let (_, diagnostics, rendered) = run_with(
        &rule(r#"match inference where nope == 5 and output_tokens > 1"#),
        &CheckOptions::default(),
    );
    assert_eq!(
        diagnostics.iter().filter(|d| d.is_error()).count(),
        1,
        "{rendered}"
    );
}

#[test]
fn every_shape_of_the_reference_checks() {
    lowered(
        r#"match tool_call where tool_name in ["http_get", "http_post"] and target_domain not in ["a.com"]"#,
    );
    lowered("match inference where output matches_any secret_patterns");
    lowered(r#"match inference where output not matches /sk-[A-Za-z0-9]{20}/i"#);
    lowered(r#"match auth where outcome == "success" new geo_country for api_key_id lookback 30d"#);
    lowered(
        "match inference group by api_key_id within 1h alert when count() >= 5 * baseline(count(), 7d) and count() >= 100",
    );
    lowered(
        "match inference where user_input has_any extraction_phrases group by session_id within 7d alert when count() > percentile(count(), 99)",
    );
    lowered(
        "match inference cluster user_input similarity >= 0.8 min_length 120 within 24h alert when distinct(session_id) >= 3",
    );
    let rule = lowered(
        r#"sequence by api_key_id within 10m {
        auth where outcome == "failure" repeat >= 5
        auth where outcome == "success"
    }"#,
    );
    let Detection::Sequence {
        steps, within_ms, ..
    } = &rule.detection
    else {
        panic!()
    };
    assert_eq!(
        (steps[0].repeat, steps[1].repeat, *within_ms),
        (5, 1, 600_000)
    );
    let rule = lowered(
        r#"match inference where src_ip in cidr("10.0.0.0/8", "fc00::/7") and output_tokens in [1, 2] and not (exists model)"#,
    );
    let ExprKind::And { operands } = &filter(&rule).kind else {
        panic!()
    };
    assert!(matches!(operands[0].kind, ExprKind::InCidr { .. }));
    assert!(matches!(operands[1].kind, ExprKind::InValues { .. }));
    assert!(matches!(operands[2].kind, ExprKind::Not { .. }));
}

#[test]
fn condition_misuse_is_reported() {
    let rendered =
        errors("match inference group by session_id within 1h alert when output_tokens > 5");
    assert!(
        rendered.contains("E0304") && rendered.contains("wrap it in an aggregate"),
        "{rendered}"
    );
    let rendered = errors("match inference where count() > 5");
    assert!(rendered.contains("E0303"), "{rendered}");
    let rendered = errors("match inference group by session_id within 1h alert when coutn() > 5");
    assert!(
        rendered.contains("a function with a similar name exists: `count`"),
        "{rendered}"
    );
    let rendered = errors("match inference group by session_id within 7m alert when count() > 5");
    assert!(rendered.contains("E0306"), "{rendered}");
    let rendered = errors(
        "match inference group by session_id within 1h alert when baseline(baseline(count(), 7d), 7d) > 5",
    );
    assert!(rendered.contains("E0305"), "{rendered}");
    let rendered = errors("match inference group by session_id within 1h alert when count()");
    assert!(rendered.contains("E0210"), "{rendered}");
}

#[test]
fn lookups_load_relative_to_their_file_and_follow_overrides() {
    let directory = std::env::temp_dir().join(format!("tripline-check-{}", std::process::id()));
    let _ = std::fs::create_dir_all(directory.join("other"));
    let write = |name: &str, text: &str| {
        std::fs::write(directory.join(name), text).unwrap_or_else(|error| panic!("{error}"))
    };
    write("allow.csv", "domain,weight\nexample.com,1\n");
    write("extra.csv", "domain,weight\nexample.org,2\n");
    write("other/allow.csv", "domain,weight\nexample.net,3\n");
    let text = format!(
        "{SCHEMA}\nlookup allow {{ file: \"allow.csv\", columns: {{ domain: string, weight: int }} }}\nrule r.one {{ {META}\n match tool_call where target_domain not in allow.domain and tool_name has_any extraction_phrases }}"
    );
    let run = |options: &CheckOptions| {
        let mut sources = Sources::new();
        let path = directory.join("pack.tdl");
        let id = sources.add(path.to_string_lossy(), text.clone());
        let (file, syntax) = parse(&text, id);
        assert!(syntax.is_empty(), "{syntax:#?}");
        let (pack, diagnostics) = check(&sources, &[(id, file)], options);
        let rendered = render_human(&diagnostics, &sources, ColorMode::Never);
        (pack, rendered)
    };
    let (pack, rendered) = run(&CheckOptions::default());
    let pack = pack.unwrap_or_else(|| panic!("{rendered}"));
    assert_eq!(
        pack.lookups["allow"].rows,
        vec![vec![
            ir::Value::String("example.com".into()),
            ir::Value::Int(1)
        ]]
    );
    let mut options = CheckOptions::default();
    options.lookup_overrides.insert(
        "allow".into(),
        super::LookupOverride::Extend(directory.join("extra.csv")),
    );
    options.list_extensions.insert(
        "extraction_phrases".into(),
        vec!["disregard the above".into()],
    );
    let (pack, rendered) = run(&options);
    let pack = pack.unwrap_or_else(|| panic!("{rendered}"));
    assert_eq!(pack.lookups["allow"].rows.len(), 2);
    assert_eq!(pack.lists["extraction_phrases"].values.len(), 3);
    let options = CheckOptions {
        lookup_dir: Some(directory.join("other")),
        ..CheckOptions::default()
    };
    let (pack, rendered) = run(&options);
    let pack = pack.unwrap_or_else(|| panic!("{rendered}"));
    assert_eq!(
        pack.lookups["allow"].rows[0][0],
        ir::Value::String("example.net".into())
    );
    let mut options = CheckOptions::default();
    options.lookup_overrides.insert(
        "allow".into(),
        super::LookupOverride::Replace(directory.join("missing.csv")),
    );
    let (pack, rendered) = run(&options);
    assert!(pack.is_none() && rendered.contains("E0501"), "{rendered}");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn cidr_tests_only_ip_fields_and_names_the_ones_in_scope() {
    let text = errors(r#"match tool_call where target_domain in cidr("10.0.0.0/8")"#);
    assert!(
        text.contains("`in cidr(...)` tests `ip` fields, and this is a `string`"),
        "{text}"
    );
    assert!(text.contains("test the `ip` field `src_ip`"), "{text}");
    lowered(r#"match tool_call where src_ip in cidr("10.0.0.0/8")"#);
}

// ------------------------------------------------------------ regex lists for prose

fn list_patterns(text: &str) -> Vec<ir::Regex> {
    let body = format!(
        "{text}\n{}",
        rule("match inference where user_input matches_any prose")
    );
    let (pack, diagnostics, rendered) = run_with(&body, &CheckOptions::default());
    assert!(!diagnostics.iter().any(Diagnostic::is_error), "{rendered}");
    pack.unwrap_or_default().lists["prose"]
        .values
        .iter()
        .map(|value| match value {
            ir::Value::Regex(regex) => regex.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn list_errors(text: &str) -> String {
    let body = format!(
        "{text}\n{}",
        rule("match inference where user_input matches_any prose")
    );
    let (_, diagnostics, rendered) = run_with(&body, &CheckOptions::default());
    assert!(diagnostics.iter().any(Diagnostic::is_error), "{rendered}");
    rendered
}

#[test]
fn near_expands_to_a_bounded_word_gap() {
    let patterns = list_patterns(
        "list prose: regex = [near(/ignore/, /instructions/, 3), near(near(/a/i, /b/i, 1), /c/i, 0)]",
    );
    assert_eq!(
        patterns[0],
        ir::Regex {
            pattern: r"(?:ignore)\W+(?:\w+\W+){0,3}(?:instructions)".into(),
            case_insensitive: false,
        }
    );
    assert_eq!(
        patterns[1],
        ir::Regex {
            pattern: r"(?:(?:a)\W+(?:\w+\W+){0,1}(?:b))\W+(?:c)".into(),
            case_insensitive: true,
        }
    );
}

#[test]
fn a_case_insensitive_list_flags_every_regex_and_its_extensions() {
    let text =
        "list prose: regex case_insensitive = [/system prompt/, near(/reveal/, /prompt/, 2), /x/i]";
    assert!(
        list_patterns(text)
            .iter()
            .all(|regex| regex.case_insensitive)
    );
    let mut options = CheckOptions::default();
    options
        .list_extensions
        .insert("prose".into(), vec!["initial instructions".into()]);
    let body = format!(
        "{text}\n{}",
        rule("match inference where user_input matches_any prose")
    );
    let (pack, _, rendered) = run_with(&body, &options);
    let pack = pack.unwrap_or_else(|| panic!("{rendered}"));
    let list = &pack.lists["prose"];
    assert!(list.case_insensitive);
    assert_eq!(
        list.values.last(),
        Some(&ir::Value::Regex(ir::Regex {
            pattern: "initial instructions".into(),
            case_insensitive: true,
        }))
    );
    // Without the flag, each regex keeps its own.
    let plain = list_patterns("list prose: regex = [/a/, /b/i]");
    assert_eq!(
        plain
            .iter()
            .map(|regex| regex.case_insensitive)
            .collect::<Vec<_>>(),
        [false, true]
    );
}

#[test]
fn near_problems_are_located() {
    let gap = list_errors("list prose: regex = [near(/a/, /b/, 21)]");
    assert!(
        gap.contains("E0103") && gap.contains("from 0 to 20, not 21"),
        "{gap}"
    );
    let negative = list_errors("list prose: regex = [near(/a/, /b/, -1)]");
    assert!(negative.contains("E0103"), "{negative}");
    let mixed = list_errors("list prose: regex = [near(/a/i, /b/, 2)]");
    assert!(mixed.contains("differ in case"), "{mixed}");
    let part = list_errors("list prose: regex = [near(/a(?=b)/, /c/, 2)]");
    assert!(
        part.contains("look-around") && part.contains("a(?=b)"),
        "{part}"
    );
    let strings = list_errors(r#"list prose: string case_insensitive = ["a"]"#);
    assert!(
        strings.contains("`case_insensitive` is for regex lists"),
        "{strings}"
    );
    let in_strings =
        list_errors("list prose: regex = [/a/]\nlist words: string = [near(/a/, /b/, 1)]");
    assert!(
        in_strings.contains("holds `string` values, and this is a `regex`"),
        "{in_strings}"
    );
}

#[test]
fn matches_takes_one_near_and_a_phrase_list_pairs_with_a_regex_list() {
    let lowered = lowered(
        "match inference where output matches near(/rm/, /rf/, 1) or user_input has_any extraction_phrases or user_input matches_any secret_patterns",
    );
    let text = format!("{lowered:?}");
    assert!(
        text.contains(r"(?:rm)\\W+(?:\\w+\\W+){0,1}(?:rf)"),
        "{text}"
    );
    // A phrase operator takes no regex: `near` is not in its grammar.
    let mut sources = Sources::new();
    let text = rule("match inference where user_input has_any near(/a/, /b/, 1)");
    let id = sources.add("rules.tdl", text.clone());
    assert!(!parse(&text, id).1.is_empty());
}

#[test]
fn norm_reads_a_text_field_with_a_companion() {
    let lowered = lowered("match inference where norm(user_input) has_any extraction_phrases");
    let text = format!("{lowered:?}");
    assert!(
        text.contains("Norm { field: \"user_input\", companion: \"user_input_norm\" }"),
        "{text}"
    );
    let errors = |body: &str| {
        let (_, diagnostics, rendered) = run_with(&rule(body), &CheckOptions::default());
        assert!(diagnostics.iter().any(Diagnostic::is_error), "{rendered}");
        rendered
    };
    let model = errors("match inference where norm(model) has_any extraction_phrases");
    assert!(
        model.contains("E0212") && model.contains("user_input, output"),
        "{model}"
    );
    let two = errors("match inference where norm(user_input, output) contains \"x\"");
    assert!(two.contains("E0212"), "{two}");
    // `output` has no companion in this schema: the missing field is named.
    let missing = errors("match inference where norm(output) contains \"x\"");
    assert!(missing.contains("output_norm"), "{missing}");
    let condition = errors(
        "match inference group by session_id within 1h alert when norm(user_input) == \"x\"",
    );
    assert!(condition.contains("E0304"), "{condition}");
}

#[test]
fn context_lowers_onto_the_window() {
    let rule = lowered(
        r#"match auth where outcome == "failure" group by src_ip within 10m alert when count() >= 5 context user_id, auth_method"#,
    );
    let Detection::Window { context, .. } = &rule.detection else {
        panic!("not a window");
    };
    assert_eq!(context, &["user_id".to_string(), "auth_method".to_string()]);
}

#[test]
fn context_problems_are_located_with_a_code() {
    let cases = [
        // Not a window rule.
        (
            r#"match auth where outcome == "failure" context user_id"#,
            "allowed only on window rules",
        ),
        // A group key.
        (
            "match auth group by user_id within 10m alert when count() >= 5 context user_id",
            "is a group key",
        ),
        // Named twice.
        (
            "match auth group by src_ip within 10m alert when count() >= 5 context user_id, user_id",
            "named twice",
        ),
        // Not a string.
        (
            "match inference group by session_id within 10m alert when count() >= 5 context input_tokens",
            "must be `string`",
        ),
    ];
    for (body, message) in cases {
        let rendered = errors(body);
        assert!(rendered.contains("E0321"), "{rendered}");
        assert!(rendered.contains(message), "{rendered}");
        assert!(rendered.contains("rules.tdl:"), "{rendered}");
    }
    // An unknown field is the usual unknown-field error, with did-you-mean.
    let rendered =
        errors("match auth group by src_ip within 10m alert when count() >= 5 context user_di");
    assert!(
        rendered.contains("E0201") && rendered.contains("user_id"),
        "{rendered}"
    );
}
