//! A dashboard as a Microsoft Sentinel workbook, deployed by an ARM
//! template (`workbooks/<dashboard id>.json`).
//!
//! The template takes the same `workspace` parameter as the target's other
//! templates and deploys one `Microsoft.Insights/workbooks` resource
//! (`kind: shared`, `category: sentinel`, its `sourceId` the workspace, so
//! it is listed under the workspace's Sentinel workbooks and its queries run
//! there), whose `serializedData` is a `Notebook/1.0` workbook
//! (<https://learn.microsoft.com/azure/azure-monitor/visualize/resource-manager-workbooks>,
//! <https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-automate>):
//!
//! - a text item (type 1) with the title, the description and each panel's
//!   sentence;
//! - a time range parameter (type 9, parameter type 4) named `TimeRange`,
//!   defaulting to the dashboard's range
//!   (<https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-time>);
//! - one query item (type 3, `KqlItem/1.0`) per panel, over the Log
//!   Analytics workspace (`queryType` 0, `resourceType`
//!   `microsoft.operationalinsights/workspaces`), its time range bound to
//!   `TimeRange` (`timeContextFromParameter`) or, for a panel with a range
//!   of its own, fixed to it (`timeContext`), and its `visualization` the
//!   panel's: `timechart` for lines, `barchart` for bars over time and
//!   `categoricalbar` for bars per category, `piechart`, `table`, and
//!   `tiles` for a single value
//!   (<https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-chart-visualizations>,
//!   <https://learn.microsoft.com/azure/azure-monitor/visualize/workbooks-tile-visualizations>).
//!
//! A panel whose query has no exact KQL form is left out and reported.

use serde_json::{Value, json};

use super::panel::{self, PanelKql};
use super::{NAMESPACE, arm_workspace_template, generator_metadata};
use crate::ir::Pack;
use crate::ir::dashboard::{Dashboard, Visual};
use crate::targets::plan::{self, panel::PanelBody};
use crate::targets::uuid::uuid_v5;
use crate::targets::{Artifact, Mapping, Problem};

/// The API version of the workbook resource (the REST API's stable
/// version whose published model the conformance check reads).
pub const API_VERSION: &str = "2021-08-01";

/// The time range parameter's name.
const TIME_RANGE: &str = "TimeRange";

/// The ranges offered by the time range picker (with the dashboard's own).
const OFFERED_RANGES_MS: [i64; 9] = [
    3_600_000,
    4 * 3_600_000,
    12 * 3_600_000,
    86_400_000,
    2 * 86_400_000,
    3 * 86_400_000,
    7 * 86_400_000,
    14 * 86_400_000,
    30 * 86_400_000,
];

/// A dashboard's workbook and the panels left out of it.
#[derive(Debug)]
pub struct Built {
    /// `workbooks/<id>.json`.
    pub artifact: Artifact,
    /// Panels left out, as (`DASHBOARD_ID.PANEL_ID`, problems).
    pub failures: Vec<(String, Vec<Problem>)>,
}

/// The query of one panel, or why there is none.
fn panel_query(
    panel: &crate::ir::dashboard::Panel,
    pack: &Pack,
    mapping: &Mapping,
    table: &str,
    rules: &[(String, String)],
) -> Result<(PanelKql, &'static str), Vec<Problem>> {
    let lowered = plan::panel(panel, pack)?;
    let (kql, over_time) = match &lowered.body {
        PanelBody::Events(events) => (
            panel::events_query(lowered.origin, events, pack, mapping, table)?,
            events.bucket_ms.is_some(),
        ),
        PanelBody::Alerts { bucket_ms } => (
            panel::alerts_query(lowered.origin, *bucket_ms, rules)?,
            bucket_ms.is_some(),
        ),
    };
    let visualization = match (lowered.visual, over_time) {
        (Visual::Line, _) => "timechart",
        (Visual::Bar, true) => "barchart",
        (Visual::Bar, false) => "categoricalbar",
        (Visual::Single, _) => "tiles",
        (Visual::Table, _) => "table",
        (Visual::Pie, _) => "piechart",
    };
    Ok((kql, visualization))
}

/// Text as an ARM template string: one that starts with `[` and ends with
/// `]` would be read as an expression, so its first bracket is doubled
/// (<https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions#escape-characters>).
fn arm_text(text: &str) -> String {
    if text.starts_with('[') && text.ends_with(']') {
        format!("[{text}")
    } else {
        text.to_string()
    }
}

/// The workbook of a dashboard; `rules` are the GUIDs and ids of the pack's
/// rules that compile for Sentinel (what an alerts panel counts).
pub fn workbook(
    dashboard: &Dashboard,
    pack: &Pack,
    mapping: &Mapping,
    table: &str,
    rules: &[(String, String)],
) -> Built {
    let mut failures = Vec::new();
    let mut heading = format!("## {}", dashboard.title);
    if !dashboard.description.trim().is_empty() {
        heading.push_str(&format!("\n\n{}", dashboard.description.trim()));
    }
    // The panels' sentences, as a list under the description (a query item
    // shows its title only).
    let described: Vec<String> = dashboard
        .panels
        .iter()
        .filter(|panel| !panel.description.trim().is_empty())
        .map(|panel| format!("- **{}**: {}", panel.title, panel.description.trim()))
        .collect();
    if !described.is_empty() {
        heading.push_str(&format!("\n\n{}", described.join("\n")));
    }
    let mut items = vec![
        json!({
            "type": 1,
            "content": { "json": heading },
            "name": "description",
        }),
        time_parameter(dashboard),
    ];
    for panel in &dashboard.panels {
        match panel_query(panel, pack, mapping, table, rules) {
            Ok((kql, visualization)) => {
                items.push(query_item(dashboard, panel, &kql, visualization));
            }
            Err(problems) => failures.push((format!("{}.{}", dashboard.id, panel.id), problems)),
        }
    }
    let notebook = json!({
        "version": "Notebook/1.0",
        "items": items,
        "isLocked": false,
        "$schema": "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json",
    });
    let serialized = serde_json::to_string(&notebook).unwrap_or_default();
    let guid = uuid_v5(&NAMESPACE, format!("dashboard:{}", dashboard.id).as_bytes());
    let mut properties = json!({
        "displayName": arm_text(&dashboard.title),
        "category": "sentinel",
        "version": "Notebook/1.0",
        "sourceId": "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspace'))]",
        "serializedData": serialized,
    });
    if !dashboard.description.trim().is_empty() {
        properties["description"] = json!(arm_text(dashboard.description.trim()));
    }
    let template = arm_workspace_template(
        Some(generator_metadata(&[("dashboard", json!(dashboard.id))])),
        json!({
            "type": "Microsoft.Insights/workbooks",
            "apiVersion": API_VERSION,
            "name": guid,
            "location": "[resourceGroup().location]",
            "kind": "shared",
            "properties": properties,
        }),
    );
    let text = serde_json::to_string_pretty(&template).unwrap_or_default();
    Built {
        artifact: Artifact {
            path: format!("workbooks/{}.json", dashboard.id),
            text: format!("{text}\n"),
        },
        failures,
    }
}

/// The `TimeRange` picker, defaulting to the dashboard's range.
fn time_parameter(dashboard: &Dashboard) -> Value {
    let mut ranges: Vec<i64> = OFFERED_RANGES_MS.to_vec();
    if !ranges.contains(&dashboard.range_ms) {
        ranges.push(dashboard.range_ms);
        ranges.sort_unstable();
    }
    let offered: Vec<Value> = ranges
        .iter()
        .map(|range| json!({ "durationMs": range }))
        .collect();
    json!({
        "type": 9,
        "content": {
            "version": "KqlParameterItem/1.0",
            "parameters": [{
                "id": uuid_v5(&NAMESPACE, format!("dashboard:{}:{TIME_RANGE}", dashboard.id).as_bytes()),
                "version": "KqlParameterItem/1.0",
                "name": TIME_RANGE,
                "label": "Time range",
                "type": 4,
                "isRequired": true,
                "value": { "durationMs": dashboard.range_ms },
                "typeSettings": { "selectableValues": offered, "allowCustom": true },
            }],
            "style": "pills",
            "queryType": 0,
            "resourceType": "microsoft.operationalinsights/workspaces",
        },
        "name": "time range",
    })
}

/// A panel's query item.
fn query_item(
    dashboard: &Dashboard,
    panel: &crate::ir::dashboard::Panel,
    kql: &PanelKql,
    visualization: &str,
) -> Value {
    let mut content = json!({
        "version": "KqlItem/1.0",
        "query": kql.text,
        "size": 0,
        "title": panel.title,
        "timeContext": { "durationMs": panel.range_ms },
        "queryType": 0,
        "resourceType": "microsoft.operationalinsights/workspaces",
        "visualization": visualization,
    });
    // The panel's own range is fixed; the dashboard's follows the picker.
    if panel.range_ms == dashboard.range_ms {
        content["timeContextFromParameter"] = json!(TIME_RANGE);
    }
    if visualization == "tiles"
        && let Some(measure) = kql.measure_columns.first()
    {
        // One tile: the value as a big number (the tile settings' "Left"
        // content with the Big Number renderer, formatter 12); the item's
        // title names it.
        content["tileSettings"] = json!({
            "leftContent": { "columnMatch": measure, "formatter": 12 },
            "showBorder": false,
        });
    }
    json!({
        "type": 3,
        "content": content,
        "name": panel.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_reads_as_an_arm_expression_is_escaped() {
        assert_eq!(arm_text("[draft]"), "[[draft]");
        assert_eq!(arm_text("[draft] overview"), "[draft] overview");
        assert_eq!(arm_text("LLM overview"), "LLM overview");
    }
}
