//! Dashboard Studio views of the pack's dashboards.
//!
//! Input: the pack's [`Dashboard`]s and the field mapping. Output: one view
//! per dashboard, `default/data/ui/views/<id with . as _>.xml`, and the app's
//! navigation bar `default/data/ui/nav/default.xml` listing them; panels the
//! target cannot print exactly are left out and reported.
//!
//! A view is a `<dashboard version="2">` whose `<definition>` holds the
//! Dashboard Studio JSON definition
//! (https://help.splunk.com/en/splunk-enterprise/create-dashboards-and-reports/dashboard-studio/10.0/source-code-editor/what-is-a-dashboard-definition):
//! - `dataSources`: one `ds.search` per panel, its `query` the panel's SPL
//!   ([`super::query::panel_search`]) and `queryParameters` its time range
//!   (https://help.splunk.com/en/splunk-enterprise/create-dashboards-and-reports/dashboard-studio/10.0/use-data-sources/data-source-options-and-properties):
//!   the global time-range input's tokens for a panel on the dashboard's
//!   range, the panel's own relative range (`-30d` to `now`) otherwise;
//! - `visualizations`: `splunk.line`, `splunk.column`, `splunk.singlevalue`,
//!   `splunk.table` or `splunk.pie` with the panel's title and description;
//! - `inputs`: the global `input.timerange`, defaulting to the dashboard's
//!   range;
//! - `layout`: one tab with a grid, two panels a row, in the order written.

use serde_json::{Map, Value, json};

use super::query::panel_search;
use super::{APP, DATA_SOURCE_MACRO};
use crate::ir::Pack;
use crate::ir::dashboard::{Dashboard, Visual};
use crate::targets::plan;
use crate::targets::{Artifact, DashboardOutput, Mapping, Problem, duration_text};

/// The global time-range input and its token.
const TIME_INPUT: &str = "input_global_trp";
const TIME_TOKEN: &str = "global_time";

/// The grid's width in pixels, and a panel's size in it.
const GRID_WIDTH: u32 = 1200;
const PANEL_HEIGHT: u32 = 300;

/// The view name (and file base name) of a dashboard: its id with every
/// character other than a letter, digit or `_` as `_`.
pub fn view_name(dashboard_id: &str) -> String {
    super::splunk_name(dashboard_id)
}

/// The Dashboard Studio visualization type of a visual.
pub fn visualization_type(visual: Visual) -> &'static str {
    match visual {
        Visual::Line => "splunk.line",
        // Vertical bars: categories (or buckets) along the x axis.
        Visual::Bar => "splunk.column",
        Visual::Single => "splunk.singlevalue",
        Visual::Table => "splunk.table",
        Visual::Pie => "splunk.pie",
    }
}

/// A time range back from now as Splunk's relative time (`-7d`), or `None`
/// when it is not a whole number of seconds.
fn relative_time(range_ms: i64) -> Option<String> {
    (range_ms > 0 && range_ms % 1000 == 0).then(|| format!("-{}", duration_text(range_ms)))
}

/// Every dashboard of the pack as a view, and the navigation bar.
pub fn dashboard_artifacts(pack: &Pack, mapping: &Mapping) -> DashboardOutput {
    let mut output = DashboardOutput::default();
    let mut views = Vec::new();
    for dashboard in &pack.dashboards {
        if let Some(text) = view(dashboard, pack, mapping, &mut output.failures) {
            let name = view_name(&dashboard.id);
            output.artifacts.push(Artifact {
                path: format!("{APP}/default/data/ui/views/{name}.xml"),
                text,
            });
            output.written.push(dashboard.id.clone());
            views.push((name, dashboard.title.clone()));
        }
    }
    if !views.is_empty() {
        output.artifacts.push(Artifact {
            path: format!("{APP}/default/data/ui/nav/default.xml"),
            text: nav(&views),
        });
    }
    output
}

/// One dashboard's view, or `None` when none of its panels can be printed.
fn view(
    dashboard: &Dashboard,
    pack: &Pack,
    mapping: &Mapping,
    failures: &mut Vec<(String, Vec<Problem>)>,
) -> Option<String> {
    let default_range = relative_time(dashboard.range_ms);
    let mut data_sources = Map::new();
    let mut visualizations = Map::new();
    let mut structure = Vec::new();
    for panel in &dashboard.panels {
        let key = format!("{}.{}", dashboard.id, panel.id);
        let printed = plan::panel(panel, pack).and_then(|lowered| {
            let lines = panel_search(&lowered, pack, mapping, DATA_SOURCE_MACRO, APP)?;
            let range = if panel.range_ms == dashboard.range_ms && default_range.is_some() {
                None
            } else {
                Some(relative_time(panel.range_ms).ok_or_else(|| {
                    vec![Problem::untranslatable(
                        panel.origin,
                        "the time range is not a whole number of seconds, which Splunk's relative times cannot express",
                    )]
                })?)
            };
            Ok((lines, range))
        });
        let (lines, range) = match printed {
            Ok(printed) => printed,
            Err(problems) => {
                failures.push((key, problems));
                continue;
            }
        };
        let id = view_name(&panel.id);
        let query_parameters = match &range {
            Some(earliest) => json!({ "earliest": earliest, "latest": "now" }),
            None => json!({
                "earliest": format!("${TIME_TOKEN}.earliest$"),
                "latest": format!("${TIME_TOKEN}.latest$"),
            }),
        };
        data_sources.insert(
            format!("ds_{id}"),
            json!({
                "type": "ds.search",
                "name": panel.title,
                "options": { "query": lines.join("\n"), "queryParameters": query_parameters },
            }),
        );
        let mut description = panel.description.trim().to_string();
        if let Some(earliest) = &range {
            let note = format!(
                "Always the last {} (the time range input does not apply).",
                earliest.trim_start_matches('-')
            );
            description = if description.is_empty() {
                note
            } else {
                format!("{description} {note}")
            };
        }
        let mut visualization = json!({
            "type": visualization_type(panel.visual),
            "title": panel.title,
            "dataSources": { "primary": format!("ds_{id}") },
        });
        if !description.is_empty() {
            visualization["description"] = Value::String(description);
        }
        visualizations.insert(format!("viz_{id}"), visualization);
        let index = structure.len() as u32;
        let width = GRID_WIDTH / 2;
        structure.push(json!({
            "item": format!("viz_{id}"),
            "type": "block",
            "position": {
                "x": (index % 2) * width,
                "y": (index / 2) * PANEL_HEIGHT,
                "w": width,
                "h": PANEL_HEIGHT,
            },
        }));
    }
    if structure.is_empty() {
        return None;
    }
    let default_range = default_range.unwrap_or_else(|| "-7d".to_string());
    let definition = json!({
        "title": dashboard.title,
        "description": dashboard.description.trim(),
        "dataSources": data_sources,
        "visualizations": visualizations,
        "inputs": {
            TIME_INPUT: {
                "type": "input.timerange",
                "title": "Time range",
                "options": { "token": TIME_TOKEN, "defaultValue": format!("{default_range},now") },
            },
        },
        "defaults": {
            "dataSources": {
                "ds.search": {
                    "options": {
                        "queryParameters": {
                            "earliest": format!("${TIME_TOKEN}.earliest$"),
                            "latest": format!("${TIME_TOKEN}.latest$"),
                        },
                    },
                },
            },
        },
        "layout": {
            "globalInputs": [TIME_INPUT],
            "tabs": { "items": [{ "layoutId": "layout_1", "label": "Overview" }] },
            "layoutDefinitions": {
                "layout_1": {
                    "type": "grid",
                    "options": { "width": GRID_WIDTH },
                    "structure": structure,
                },
            },
        },
    });
    let json = serde_json::to_string_pretty(&definition).ok()?;
    Some(format!(
        "<!-- Generated by tripline {} for target {} from dashboard {}; do not edit. -->\n<dashboard version=\"2\" theme=\"light\">\n  <label>{}</label>\n  <description>{}</description>\n  <definition><![CDATA[\n{}\n]]></definition>\n</dashboard>\n",
        env!("CARGO_PKG_VERSION"),
        super::ID,
        xml_comment_safe(&dashboard.id),
        xml_text(&dashboard.title),
        xml_text(dashboard.description.trim()),
        cdata_safe(&json),
    ))
}

/// The app's navigation bar: Splunk's default entries for an app (search,
/// datasets, reports, alerts, dashboards), with search the default view,
/// and a collection of the generated dashboards
/// (https://help.splunk.com/en/splunk-enterprise/create-dashboards-and-reports/simple-xml-dashboards/9.4/customize-dashboard-navigation/customize-navigation-menus).
fn nav(views: &[(String, String)]) -> String {
    let mut text = format!(
        "<!-- Generated by tripline {} for target {}; do not edit. -->\n<nav search_view=\"search\">\n  <view name=\"search\" default=\"true\" />\n  <collection label=\"Tripline dashboards\">\n",
        env!("CARGO_PKG_VERSION"),
        super::ID
    );
    for (name, _) in views {
        text.push_str(&format!("    <view name=\"{name}\" />\n"));
    }
    text.push_str("  </collection>\n  <view name=\"datasets\" />\n  <view name=\"reports\" />\n  <view name=\"alerts\" />\n  <view name=\"dashboards\" />\n</nav>\n");
    text
}

/// Text inside an XML element.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text inside an XML comment: no `--`.
fn xml_comment_safe(text: &str) -> String {
    text.replace("--", "- -")
}

/// JSON inside CDATA: `]]>` can only occur inside a JSON string (structural
/// brackets are never followed by `>`), where `\u003e` means the same `>`.
fn cdata_safe(json: &str) -> String {
    json.replace("]]>", "]]\\u003e")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ranges() {
        assert_eq!(view_name("llm.overview"), "llm_overview");
        assert_eq!(view_name("acme.ops-board"), "acme_ops_board");
        assert_eq!(relative_time(7 * 86_400_000).as_deref(), Some("-7d"));
        assert_eq!(relative_time(90_000).as_deref(), Some("-90s"));
        assert_eq!(relative_time(1_500), None);
        assert_eq!(relative_time(0), None);
    }

    #[test]
    fn cdata_never_closes_early() {
        let json = serde_json::to_string(&json!({ "query": "a ]]> b" })).unwrap_or_default();
        let safe = cdata_safe(&json);
        assert!(!safe.contains("]]>"));
        let back: Value = serde_json::from_str(&safe).unwrap_or_default();
        assert_eq!(back["query"], "a ]]> b");
    }
}
