//! Unit tests of dashboard checking: declarations to IR dashboards, and a
//! located error for every mistake.

use super::super::{CheckOptions, check};
use crate::diagnostics::{ColorMode, Diagnostic, render_human};
use crate::ir;
use crate::ir::dashboard::{Dashboard, GroupKey, PanelQuery, Visual};
use crate::source::Sources;
use crate::syntax::parse;

const SCHEMA: &str = r#"
common {
  timestamp: timestamp required,
  event_type: string required,
  session_id: string,
  api_key_id: string,
  src_ip: ip,
}
event inference { model: string, output: string, output_tokens: int, cost_usd: float, cached: bool }
event policy_refusal { model: string, policy_category: string }
event auth { outcome: string one_of ["success", "failure"] }
param spend_scale: float = 100.0
"#;

/// Checks the schema and each text as its own file.
fn run(texts: &[&str]) -> (Option<ir::Pack>, Vec<Diagnostic>, String) {
    let mut sources = Sources::new();
    let mut files = Vec::new();
    for (index, text) in std::iter::once(&SCHEMA).chain(texts).enumerate() {
        let id = sources.add(format!("file{index}.tdl"), *text);
        let (file, diagnostics) = parse(text, id);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        files.push((id, file));
    }
    let (pack, diagnostics) = check(&sources, &files, &CheckOptions::default());
    let rendered = render_human(&diagnostics, &sources, ColorMode::Never);
    (pack, diagnostics, rendered)
}

/// A dashboard with one panel: its entries and query.
fn dashboard(panel: &str) -> String {
    format!(
        "dashboard d.one {{\n  title: \"D\"\n  panel p {{\n    title: \"P\"\n    {panel}\n  }}\n}}\n"
    )
}

fn lowered(panel: &str) -> Dashboard {
    let (pack, _, rendered) = run(&[&dashboard(panel)]);
    let pack = pack.unwrap_or_else(|| panic!("{rendered}"));
    pack.dashboards
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no dashboard: {rendered}"))
}

/// The rendered errors of a panel, which must name `code`.
fn errors(panel: &str, code: &str) -> String {
    let (pack, diagnostics, rendered) = run(&[&dashboard(panel)]);
    assert!(pack.is_none(), "expected errors for {panel}");
    assert!(
        diagnostics.iter().any(|d| d.code.as_str() == code),
        "expected {code}:\n{rendered}"
    );
    rendered
}

#[test]
fn a_panel_lowers_keys_buckets_measures_and_top() {
    let dashboard = lowered(
        "visual: table\n match inference where model == \"large\" group by api_key_id, bin(output_tokens, 250)\n show count(), sum(cost_usd), distinct(session_id), avg(cost_usd) * spend_scale as scaled top 5",
    );
    assert_eq!(dashboard.id, "d.one");
    assert_eq!(dashboard.range_ms, 7 * 86_400_000, "the default range");
    let panel = &dashboard.panels[0];
    assert_eq!(panel.visual, Visual::Table);
    assert_eq!(panel.range_ms, dashboard.range_ms, "the dashboard's range");
    let PanelQuery::Events {
        source,
        group_by,
        bucket_ms,
        measures,
        top,
    } = &panel.query
    else {
        panic!("an events panel: {panel:?}");
    };
    assert_eq!(source.event_types, ["inference"]);
    assert!(source.filter.is_some());
    assert_eq!(
        group_by,
        &[
            GroupKey::Field {
                field: "api_key_id".into()
            },
            GroupKey::Bin {
                field: "output_tokens".into(),
                size: 250.0
            }
        ]
    );
    assert_eq!(*bucket_ms, None);
    let names: Vec<&str> = measures.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["count", "sum_cost_usd", "distinct_session_id", "scaled"]
    );
    assert_eq!(measures[3].label, "avg(cost_usd) * spend_scale");
    assert_eq!(*top, Some(5));
}

#[test]
fn ranges_buckets_baselines_and_alerts() {
    let text = "dashboard d.two {\n  title: \"D\"\n  description: \"Why.\"\n  range: 30d\n  panel a {\n    title: \"A\"\n    visual: line\n    range: 1d\n    match inference, policy_refusal\n    every 1h\n    show count(where event_type == \"policy_refusal\") / count() as rate, baseline(count(), 12h) as usual\n  }\n  panel b {\n    title: \"B\"\n    visual: pie\n    show alerts by rule\n  }\n}\n";
    let (pack, _, rendered) = run(&[text]);
    let pack = pack.unwrap_or_else(|| panic!("{rendered}"));
    let dashboard = &pack.dashboards[0];
    assert_eq!(dashboard.description, "Why.");
    assert_eq!(dashboard.range_ms, 30 * 86_400_000);
    assert_eq!(dashboard.panels[0].range_ms, 86_400_000);
    let PanelQuery::Events {
        bucket_ms,
        measures,
        ..
    } = &dashboard.panels[0].query
    else {
        panic!("events");
    };
    assert_eq!(*bucket_ms, Some(3_600_000));
    assert!(matches!(
        measures[1].expr.kind,
        ir::ExprKind::Baseline {
            lookback_ms: 43_200_000,
            ..
        }
    ));
    assert!(matches!(
        dashboard.panels[1].query,
        PanelQuery::Alerts { bucket_ms: None }
    ));
    assert_eq!(dashboard.panels[1].visual, Visual::Pie);
}

#[test]
fn dashboards_are_sorted_by_id_and_ids_are_unique_across_files() {
    let first = "dashboard z.last { title: \"Z\" panel p { title: \"P\" visual: table show alerts by rule } }";
    let second = "dashboard a.first { title: \"A\" panel p { title: \"P\" visual: table show alerts by rule } }";
    let (pack, _, rendered) = run(&[first, second]);
    let ids: Vec<String> = pack
        .unwrap_or_else(|| panic!("{rendered}"))
        .dashboards
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, ["a.first", "z.last"]);
    let (pack, _, rendered) = run(&[first, first]);
    assert!(pack.is_none());
    assert!(
        rendered.contains("error[E0317]: the dashboard id `z.last` is declared twice"),
        "{rendered}"
    );
    assert!(rendered.contains("file2.tdl:1:11"), "{rendered}");
}

#[test]
fn unknown_names_and_types_are_located_with_a_suggestion() {
    let rendered = errors("visual: table match inferense show count()", "E0204");
    assert!(rendered.contains("`inference`"), "{rendered}");
    let rendered = errors(
        "visual: table match inference group by sesion_id show count()",
        "E0201",
    );
    assert!(rendered.contains("`session_id`"), "{rendered}");
    let rendered = errors("visual: table match inference show sum(model)", "E0212");
    assert!(rendered.contains("`sum` needs a number"), "{rendered}");
    let rendered = errors(
        "visual: table match inference group by outcome show count()",
        "E0202",
    );
    assert!(
        rendered.contains("not a field of `inference`"),
        "{rendered}"
    );
    let rendered = errors("visual: table match inference show output_tokens", "E0304");
    assert!(rendered.contains("in a panel measure"), "{rendered}");
    let rendered = errors(
        "visual: table match inference show count() > 5 as big",
        "E0203",
    );
    assert!(rendered.contains("a measure is a number"), "{rendered}");
    errors("visual: table match inference show 5 as five", "E0319");
    errors(
        "visual: table match inference where count() > 1 show count()",
        "E0303",
    );
}

#[test]
fn bins_must_cut_a_number_field_into_ranges_above_zero() {
    let rendered = errors(
        "visual: bar match inference group by bin(model, 10) show count()",
        "E0316",
    );
    assert!(rendered.contains("`bin` cuts a number"), "{rendered}");
    errors(
        "visual: bar match inference group by bin(output_tokens, 0) show count()",
        "E0319",
    );
    errors(
        "visual: bar match inference group by bin(output_tokens, -2.5) show count()",
        "E0319",
    );
    errors(
        "visual: bar match inference group by cost_usd show count()",
        "E0316",
    );
    errors(
        "visual: bar match inference group by api_key_id, api_key_id show count()",
        "E0317",
    );
}

#[test]
fn baselines_need_buckets_and_percentiles_have_no_place() {
    let rendered = errors(
        "visual: table match inference group by api_key_id show baseline(count(), 7d) as usual",
        "E0305",
    );
    assert!(rendered.contains("has no `every`"), "{rendered}");
    let rendered = errors(
        "visual: line match inference every 1d show percentile(count(), 99) as p99",
        "E0305",
    );
    assert!(rendered.contains("`percentile`"), "{rendered}");
    errors(
        "visual: line match inference every 1d show baseline(count(), 1h) as usual",
        "E0306",
    );
    errors(
        "visual: line match inference every 7m show count()",
        "E0306",
    );
    errors("visual: line show alerts by rule every 0s", "E0306");
}

#[test]
fn visuals_must_fit_the_query() {
    let cases = [
        ("visual: line match inference show count()", "no `every`"),
        ("visual: bar match inference show count()", "neither"),
        (
            "visual: single match inference group by model show count()",
            "one row per group",
        ),
        (
            "visual: single match inference every 1d show count()",
            "no time axis",
        ),
        (
            "visual: single match inference show count(), sum(cost_usd)",
            "exactly one measure",
        ),
        ("visual: pie match inference show count()", "no `group by`"),
        (
            "visual: pie match inference group by model show count(), sum(cost_usd)",
            "exactly one measure",
        ),
        ("visual: single show alerts by rule", "one row per group"),
        ("visual: line show alerts by rule", "no `every`"),
    ];
    for (panel, words) in cases {
        let rendered = errors(panel, "E0318");
        assert!(rendered.contains(words), "{panel}: {rendered}");
    }
    for panel in [
        "visual: bar match inference every 1d show count()",
        "visual: bar show alerts by rule",
        "visual: table match inference show count(), sum(cost_usd)",
        "visual: single match inference show count()",
        "visual: pie match inference group by model show count()",
        "visual: line match inference group by model every 1h show count(), max(cost_usd)",
    ] {
        lowered(panel);
    }
}

#[test]
fn a_bucket_fits_in_the_range() {
    let rendered = errors(
        "visual: line range: 1d match inference every 7d show count()",
        "E0319",
    );
    assert!(rendered.contains("the range is 1d"), "{rendered}");
    let (pack, _, rendered) = run(&[
        "dashboard d.x { title: \"D\" range: 12h panel p { title: \"P\" visual: line show alerts by rule every 1d } }",
    ]);
    assert!(pack.is_none());
    assert!(rendered.contains("the range is 12h"), "{rendered}");
    lowered("visual: line range: 1d match inference every 1d show count()");
}

#[test]
fn top_keeps_at_least_one_group_of_an_unbucketed_grouped_panel() {
    let rendered = errors(
        "visual: table match inference group by model every 1d show count() top 3",
        "E0319",
    );
    assert!(rendered.contains("time buckets"), "{rendered}");
    errors(
        "visual: table match inference group by model show count() top 0",
        "E0319",
    );
    let rendered = errors("visual: table match inference show count() top 3", "E0319");
    assert!(rendered.contains("no `group by`"), "{rendered}");
}

#[test]
fn measure_names_are_derived_or_written_and_unique() {
    let rendered = errors(
        "visual: table match inference show count(where model == \"x\")",
        "E0320",
    );
    assert!(rendered.contains("needs a name"), "{rendered}");
    let rendered = errors(
        "visual: table match inference show count() as Calls",
        "E0320",
    );
    assert!(rendered.contains("write `as calls`"), "{rendered}");
    errors(
        "visual: table match inference show count(), max(cost_usd) as count",
        "E0317",
    );
    let rendered = errors(
        "visual: table match inference group by model show count() as model",
        "E0317",
    );
    assert!(rendered.contains("the column `model`"), "{rendered}");
    errors(
        "visual: table match inference group by bin(output_tokens, 5) show count() as output_tokens_bin",
        "E0317",
    );
    for reserved in ["bucket_start", "tripline_agg_1"] {
        let rendered = errors(
            &format!("visual: table match inference show count() as {reserved}"),
            "E0320",
        );
        assert!(rendered.contains("working columns"), "{rendered}");
    }
}

#[test]
fn entries_are_required_known_and_typed() {
    let rendered = errors("match inference show count()", "E0307");
    assert!(rendered.contains("the panel has no `visual`"), "{rendered}");
    let rendered = errors(
        "visual: table match inference show count() colour: red",
        "E0308",
    );
    assert!(
        rendered.contains("`colour` is not a panel key"),
        "{rendered}"
    );
    let rendered = errors("visual: lines match inference show count()", "E0312");
    assert!(rendered.contains("`line`"), "{rendered}");
    errors("visual: \"table\" match inference show count()", "E0309");
    errors(
        "visual: table range: 0d match inference show count()",
        "E0306",
    );
    errors(
        "visual: table range: 5 match inference show count()",
        "E0309",
    );
    let (pack, _, rendered) =
        run(&["dashboard d.x { panel p { title: \"P\" visual: table show alerts by rule } }"]);
    assert!(pack.is_none());
    assert!(
        rendered.contains("the dashboard has no `title`"),
        "{rendered}"
    );
    let (_, _, rendered) = run(&["dashboard d.x { title: \"D\" }"]);
    assert!(rendered.contains("has no panel"), "{rendered}");
    let (_, _, rendered) = run(&[
        "dashboard d.x { title: \"D\" titel: \"E\" panel p { title: \"P\" visual: table show alerts by rule } }",
    ]);
    assert!(
        rendered.contains("E0308") && rendered.contains("`title`"),
        "{rendered}"
    );
    let (_, _, rendered) = run(&[
        "dashboard d.x { title: \"D\" panel p { title: \"P\" visual: table show alerts by rule } panel p { title: \"Q\" visual: bar show alerts by rule } }",
    ]);
    assert!(
        rendered.contains("the panel id `p` is used twice in the dashboard `d.x`"),
        "{rendered}"
    );
}

#[test]
fn the_new_words_stay_usable_as_names() {
    let schema = "event words { show: int, every: string, top: int, as: string, bin: int, alerts: int, panel: string, dashboard: string }";
    let rule = "rule r.words { title: \"t\" description: \"d\" severity: low category: behavioral guide: \"g\"\n match words where show > 1 and every == \"x\" and top < 3 and as == \"y\" and bin == 2 and alerts > 0 and panel == \"p\" and dashboard == \"d\" }";
    let panel = "dashboard d.words { title: \"W\" panel show { title: \"S\" visual: bar match words group by every, bin(bin, 2) show sum(top) as top, max(show) top 3 } }";
    let (pack, _, rendered) = run(&[schema, rule, panel]);
    let pack = pack.unwrap_or_else(|| panic!("{rendered}"));
    assert_eq!(pack.rules.len(), 1);
    assert_eq!(pack.dashboards[0].panels[0].id, "show");
}
