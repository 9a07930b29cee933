//! The shipped overview dashboard (`llm.overview`, see the dashboards design),
//! built by hand as checked IR until the `dashboard` declaration reaches the
//! language: the nine panels with their ids, visuals, ranges, keys and
//! measures, each filter and measure checked as rule text against the
//! shipped schema, so every `Expr` is the checker's own. Shared by the
//! dashboard emitters' tests.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use tripline::ir::dashboard::{Dashboard, GroupKey, Measure, Panel, PanelQuery, Visual};
use tripline::ir::{Detection, Expr, ExprKind, Pack};
use tripline::project::{LoadOptions, load};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// One panel over events, as it would be written in a `.tdl` file.
struct Spec {
    id: &'static str,
    title: &'static str,
    visual: Visual,
    range_days: Option<i64>,
    /// `match` clause: types and optional `where`.
    source: &'static str,
    group_by: Vec<GroupKey>,
    bucket_ms: Option<i64>,
    /// (name, expression as written).
    measures: Vec<(&'static str, String)>,
    top: Option<u32>,
}

fn field(name: &str) -> GroupKey {
    GroupKey::Field {
        field: name.to_string(),
    }
}

fn measures(written: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    written
        .iter()
        .map(|(name, expression)| (*name, (*expression).to_string()))
        .collect()
}

fn specs() -> Vec<Spec> {
    let rate =
        "count(where event_type == \"policy_refusal\") / count(where event_type == \"inference\")";
    vec![
        Spec {
            id: "inference_by_key",
            title: "Daily inference volume by API key",
            visual: Visual::Line,
            range_days: None,
            source: "inference",
            group_by: vec![field("api_key_id")],
            bucket_ms: Some(DAY),
            measures: measures(&[("inferences", "count()")]),
            top: None,
        },
        Spec {
            id: "busiest_sessions",
            title: "Busiest sessions today",
            visual: Visual::Table,
            range_days: Some(1),
            source: "inference",
            group_by: vec![field("session_id")],
            bucket_ms: None,
            measures: measures(&[("inferences", "count()"), ("spend_usd", "sum(cost_usd)")]),
            top: Some(20),
        },
        Spec {
            id: "refusal_rate",
            title: "Content-policy refusal rate against its 7-day baseline",
            visual: Visual::Line,
            range_days: Some(30),
            source: "inference, policy_refusal",
            group_by: Vec::new(),
            bucket_ms: Some(DAY),
            measures: vec![
                ("refusal_rate", rate.to_string()),
                ("baseline", format!("baseline({rate}, 7d)")),
            ],
            top: None,
        },
        Spec {
            id: "tool_calls_by_tool",
            title: "Tool invocations by tool",
            visual: Visual::Bar,
            range_days: None,
            source: "tool_call",
            group_by: vec![field("tool_name")],
            bucket_ms: None,
            measures: measures(&[("calls", "count()")]),
            top: None,
        },
        Spec {
            id: "auth_failures",
            title: "Authentication failures per hour",
            visual: Visual::Line,
            range_days: None,
            source: "auth where outcome == \"failure\"",
            group_by: Vec::new(),
            bucket_ms: Some(HOUR),
            measures: measures(&[("failures", "count()")]),
            top: None,
        },
        Spec {
            id: "inference_against_baseline",
            title: "Daily inference volume against its 7-day baseline",
            visual: Visual::Line,
            range_days: None,
            source: "inference",
            group_by: Vec::new(),
            bucket_ms: Some(DAY),
            measures: measures(&[
                ("inferences", "count()"),
                ("baseline", "baseline(count(), 7d)"),
            ]),
            top: None,
        },
        Spec {
            id: "spend_by_key",
            title: "Daily spend by API key",
            visual: Visual::Bar,
            range_days: None,
            source: "inference",
            group_by: vec![field("api_key_id")],
            bucket_ms: Some(DAY),
            measures: measures(&[("spend_usd", "sum(cost_usd)")]),
            top: None,
        },
        Spec {
            id: "output_size",
            title: "Output size distribution",
            visual: Visual::Bar,
            range_days: None,
            source: "inference",
            group_by: vec![GroupKey::Bin {
                field: "output_tokens".to_string(),
                size: 250.0,
            }],
            bucket_ms: None,
            measures: measures(&[("outputs", "count()")]),
            top: None,
        },
    ]
}

/// The measure expressions of a rule's condition `(A) >= 0 and (B) >= 0 ...`.
fn left_sides(condition: &Expr) -> Vec<Expr> {
    match &condition.kind {
        ExprKind::And { operands } => operands.iter().flat_map(left_sides).collect(),
        ExprKind::Compare { left, .. } => vec![(**left).clone()],
        other => panic!("not a measure condition: {other:?}"),
    }
}

/// The shipped pack (`rules/`) with the overview dashboard as its only
/// dashboard, and the helper rules the expressions were checked in removed.
pub fn pack_with_overview() -> Pack {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate directory");
    let directory = std::env::temp_dir().join(format!(
        "tripline-dashboard-overview-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("a temporary directory");
    let specs = specs();
    let mut text = String::new();
    for spec in &specs {
        let conditions: Vec<String> = spec
            .measures
            .iter()
            .map(|(_, expression)| format!("({expression}) >= 0"))
            .collect();
        let within = spec.bucket_ms.map_or("1d".to_string(), |bucket| {
            if bucket % DAY == 0 {
                format!("{}d", bucket / DAY)
            } else {
                format!("{}h", bucket / HOUR)
            }
        });
        text.push_str(&format!(
            "rule local.panel_{id} {{\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  match {source}\n  group by session_id within {within}\n  alert when {condition}\n}}\n\n",
            id = spec.id,
            source = spec.source,
            condition = conditions.join(" and "),
        ));
    }
    let file = directory.join("panels.tdl");
    std::fs::write(&file, text).expect("the helper rules are written");
    let project = load(&LoadOptions {
        paths: vec![PathBuf::from("rules"), file],
        ..LoadOptions::default()
    })
    .expect("the pack and the helper rules load");
    let _ = std::fs::remove_dir_all(&directory);
    let mut pack = project.pack.expect("the pack and the helper rules check");
    let mut panels = Vec::new();
    for spec in &specs {
        let rule = pack
            .rule(&format!("local.panel_{}", spec.id))
            .expect("the helper rule")
            .clone();
        let Detection::Window {
            source, condition, ..
        } = &rule.detection
        else {
            panic!("a window rule")
        };
        let measures = spec
            .measures
            .iter()
            .zip(left_sides(condition))
            .map(|((name, label), expr)| Measure {
                name: (*name).to_string(),
                label: (*label).to_string(),
                expr,
            })
            .collect();
        panels.push(Panel {
            id: spec.id.to_string(),
            origin: rule.origin,
            title: spec.title.to_string(),
            description: String::new(),
            visual: spec.visual,
            range_ms: spec.range_days.map_or(7 * DAY, |days| days * DAY),
            query: PanelQuery::Events {
                source: source.clone(),
                group_by: spec.group_by.clone(),
                bucket_ms: spec.bucket_ms,
                measures,
                top: spec.top,
            },
        });
    }
    let origin = panels[0].origin;
    panels.push(Panel {
        id: "alerts_by_rule".to_string(),
        origin,
        title: "Alerts by rule".to_string(),
        description: String::new(),
        visual: Visual::Bar,
        range_ms: 7 * DAY,
        query: PanelQuery::Alerts {
            bucket_ms: Some(DAY),
        },
    });
    pack.rules
        .retain(|rule| !rule.id.starts_with("local.panel_"));
    pack.dashboards = vec![Dashboard {
        id: "llm.overview".to_string(),
        file: "rules/dashboards/llm.overview.tdl".to_string(),
        origin,
        title: "LLM security overview".to_string(),
        description:
            "Volume, refusals, tools, authentication, spend and alerts of the LLM applications."
                .to_string(),
        range_ms: 7 * DAY,
        panels,
    }];
    pack
}

/// The ids of the overview's panels, in layout order.
pub const PANEL_IDS: [&str; 9] = [
    "inference_by_key",
    "busiest_sessions",
    "refusal_rate",
    "tool_calls_by_tool",
    "auth_failures",
    "inference_against_baseline",
    "spend_by_key",
    "output_size",
    "alerts_by_rule",
];
