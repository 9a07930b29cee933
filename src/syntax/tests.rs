use super::ast::*;
use super::parse;
use crate::source::{SourceId, Sources};

fn parse_ok(text: &str) -> File {
    let (file, diagnostics) = parse(text, SourceId(0));
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    file
}

fn parse_error(text: &str) -> String {
    let (_, diagnostics) = parse(text, SourceId(0));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let mut sources = Sources::new();
    sources.add("test.tdl", text);
    crate::diagnostics::render_human(&diagnostics, &sources, crate::diagnostics::ColorMode::Never)
}

#[test]
fn parses_every_shape() {
    let file = parse_ok(
        r#"
/// The schema.
common { timestamp: timestamp required, event_type: string required }
event inference { user_input: string, output_tokens: int, status: string one_of ["a", "b"] }
list phrases: string = ["ignore previous instructions", "reveal"]
list secrets: regex = [/sk-ant-[A-Za-z0-9_-]{20,}/, /AKIA[0-9A-Z]{16}/i]
lookup allow { file: "lookups/allow.csv", columns: { domain: string } }
/// How many.
param threshold: int = 5
playbook exfil { title: "Exfil", guide: """
    # Steps
      - one
    """ }
rule a.match { title: "t" severity: high owasp: [LLM01, LLM07] atlas: [AML.T0051.000]
  match inference where user_input has_any phrases and not (output_tokens > 4000 or exists status) }
rule a.threshold { match inference where user_input has_any phrases
  group by session_id within 24h alert when count() >= threshold }
rule a.sets { match rate_limit group by each (api_key_id), (src_ip) within 1h alert when count() >= 10 }
rule a.seq { sequence by api_key_id within 10m {
  auth where outcome == "failure" repeat >= 5
  auth where outcome == "success" } }
rule a.new { match auth where outcome == "success" new geo_country for api_key_id lookback 30d }
rule a.base { match inference group by api_key_id within 1h
  alert when count() >= 5 * baseline(count(), 7d) and count() >= 100 }
rule a.pct { match inference group by session_id within 7d alert when count() > percentile(count(), 99) }
rule a.cluster { match inference cluster user_input similarity >= 0.8 min_length 120 within 24h
  alert when distinct(session_id) >= 3 }
rule a.lookups { match inference, tool_call where output has_any markers[app].marker
  or (component, version) in advisories.(component, version) or src_ip in cidr("10.0.0.0/8")
  or count(where event_type == "x") / count() > 0.5 or target_path not startswith_any tool_path_allowlist.path_prefix
  or output matches_any secrets or output not matches /x\/y/i }
"#,
    );
    assert_eq!(file.declarations.len(), 16);
    assert_eq!(file.declarations[0].doc.as_deref(), Some("The schema."));
    let DeclarationKind::Playbook(playbook) = &file.declarations[6].kind else {
        panic!("not a playbook")
    };
    let MetadataValue::String(guide) = &playbook.metadata[1].value else {
        panic!("guide not a string")
    };
    assert_eq!(guide.value, "# Steps\n  - one");
    assert_eq!(file.declarations[5].doc.as_deref(), Some("How many."));
    let DeclarationKind::Rule(sequence) = &file.declarations[10].kind else {
        panic!("not a rule")
    };
    let Detection::Sequence(sequence) = &sequence.detection else {
        panic!("not a sequence")
    };
    assert_eq!(sequence.steps.len(), 2);
    assert_eq!(sequence.steps[0].repeat.map(|r| r.0), Some(5));
    assert_eq!(sequence.within.millis, 600_000);
}

#[test]
fn single_equals_is_explained() {
    let rendered = parse_error("rule a.b { match inference where outcome = \"x\" }");
    assert!(rendered.contains("error[E0101]"), "{rendered}");
    assert!(rendered.contains("`==`"), "{rendered}");
}

#[test]
fn unterminated_string_points_at_its_start() {
    let rendered = parse_error("rule a.b { title: \"oops\n match inference }");
    assert!(rendered.contains("E0102"), "{rendered}");
    assert!(rendered.contains("test.tdl:1:19"), "{rendered}");
}

#[test]
fn duration_without_unit_gets_a_hint() {
    let rendered =
        parse_error("rule a.b { match inference group by s within 10 alert when count() > 1 }");
    assert!(rendered.contains("unit"), "{rendered}");
}

#[test]
fn parses_a_dashboard_with_its_panels_in_order() {
    let file = parse_ok(
        r#"
/// Overview.
dashboard acme.over-view {
  title: "T"
  range: 7d
  panel a {
    title: "A"
    visual: line
    match inference, auth where model == "x"
    group by api_key_id, bin(output_tokens, 2.5)
    every 1d
    show count() as calls, baseline(count(), 7d), sum(cost_usd) / 2 as half
    top 3
    description: "after the query"
  }
  description: "between panels"
  panel b { title: "B" visual: bar show alerts by rule every 1h }
}
"#,
    );
    let [declaration] = file.declarations.as_slice() else {
        panic!("one declaration: {file:?}")
    };
    assert_eq!(declaration.doc.as_deref(), Some("Overview."));
    let DeclarationKind::Dashboard(dashboard) = &declaration.kind else {
        panic!("not a dashboard")
    };
    assert_eq!(dashboard.id.text, "acme.over-view");
    let keys: Vec<&str> = dashboard
        .metadata
        .iter()
        .map(|m| m.key.text.as_str())
        .collect();
    assert_eq!(keys, ["title", "range", "description"]);
    let ids: Vec<&str> = dashboard
        .panels
        .iter()
        .map(|p| p.id.text.as_str())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    let PanelQuery::Events(query) = &dashboard.panels[0].query else {
        panic!("an events query")
    };
    assert_eq!(query.event_types.len(), 2);
    assert!(query.filter.is_some());
    assert!(matches!(&query.group_by[0], GroupKey::Field(name) if name.text == "api_key_id"));
    assert!(
        matches!(&query.group_by[1], GroupKey::Bin { field, size, .. }
        if field.text == "output_tokens" && *size == 2.5)
    );
    assert_eq!(query.every.map(|every| every.millis), Some(86_400_000));
    let names: Vec<Option<&str>> = query
        .measures
        .iter()
        .map(|m| m.name.as_ref().map(|name| name.text.as_str()))
        .collect();
    assert_eq!(names, [Some("calls"), None, Some("half")]);
    assert_eq!(query.top.map(|top| top.0), Some(3));
    assert_eq!(dashboard.panels[0].metadata.len(), 3);
    assert!(matches!(
        dashboard.panels[1].query,
        PanelQuery::Alerts {
            every: Some(Duration {
                millis: 3_600_000,
                ..
            }),
            ..
        }
    ));
}

#[test]
fn a_panel_without_a_query_or_with_clauses_out_of_order_is_explained() {
    let rendered =
        parse_error("dashboard d.x { title: \"D\" panel p { title: \"P\" visual: bar } }");
    assert!(rendered.contains("a panel query"), "{rendered}");
    let rendered = parse_error(
        "dashboard d.x { title: \"D\" panel p { visual: bar match auth every 1d group by outcome show count() } }",
    );
    assert!(rendered.contains("come in this order"), "{rendered}");
    let rendered = parse_error(
        "dashboard d.x { title: \"D\" panel p { visual: bar match auth shw count() } }",
    );
    assert!(rendered.contains("did you mean `show`?"), "{rendered}");
}
