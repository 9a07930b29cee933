//! The data collection rule that brings events into the custom table: an
//! ARM `Microsoft.Insights/dataCollectionRules` resource of kind `Direct`,
//! which gets its own Logs Ingestion endpoint (no data collection endpoint
//! needed for rules created since March 2024), one input stream declaring
//! the canonical event fields as `tripline normalize` writes them, and a
//! transformation that renames them to the table's columns
//! (https://learn.microsoft.com/azure/azure-monitor/essentials/data-collection-rule-structure).
//!
//! The stream's column types are those the Logs Ingestion API accepts:
//! `string`, `int`, `long`, `real`, `boolean`, `datetime`, `dynamic`; event
//! fields are never `duration` (the checker refuses it), so no column is a
//! `timespan`.

use serde_json::json;

use super::{Mapping, generator_metadata};

/// The input stream's name: the canonical events, whatever the table.
pub const STREAM: &str = "Custom-TriplineEvents";

/// The stream column type of a Kusto column type (see the module docs).
fn stream_type(kusto: &str) -> &'static str {
    match kusto {
        "long" => "long",
        "int" => "int",
        "real" => "real",
        "bool" => "boolean",
        "datetime" => "datetime",
        "dynamic" => "dynamic",
        _ => "string",
    }
}

/// The transformation: every canonical field projected under its column
/// name, in the table's column order.
fn transform(columns: &[(&String, &super::TargetField)]) -> String {
    let projected: Vec<String> = columns
        .iter()
        .map(|(canonical, field)| {
            if field.name == **canonical {
                field.name.clone()
            } else {
                format!("{} = {canonical}", field.name)
            }
        })
        .collect();
    format!("source | project {}", projected.join(", "))
}

/// The ARM template of the data collection rule sending [`STREAM`] into
/// `table` of the workspace named by the `workspace` parameter.
pub fn dcr_template(table: &str, mapping: &Mapping) -> serde_json::Value {
    let mut columns: Vec<(&String, &super::TargetField)> = mapping.fields.iter().collect();
    columns.sort_by(|left, right| left.1.name.cmp(&right.1.name));
    let declared: Vec<serde_json::Value> = {
        let mut canonical = columns.clone();
        canonical.sort_by(|left, right| left.0.cmp(right.0));
        canonical
            .iter()
            .map(|(name, field)| json!({ "name": name, "type": stream_type(&field.field_type) }))
            .collect()
    };
    // The rule's resource id, an ARM expression the outputs read it by.
    let rule =
        "resourceId('Microsoft.Insights/dataCollectionRules', parameters('dataCollectionRule'))";
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": generator_metadata(&[("stream", json!(STREAM)), ("table", json!(table))]),
        "parameters": {
            "workspace": { "type": "string" },
            "dataCollectionRule": {
                "type": "string",
                "defaultValue": format!("tripline-{}", table.to_ascii_lowercase().replace('_', "-")),
            },
            "location": { "type": "string", "defaultValue": "[resourceGroup().location]" },
        },
        "resources": [{
            "type": "Microsoft.Insights/dataCollectionRules",
            "apiVersion": "2023-03-11",
            "name": "[parameters('dataCollectionRule')]",
            "location": "[parameters('location')]",
            "kind": "Direct",
            "properties": {
                "description": format!("Tripline's canonical LLM application events into {table}"),
                "streamDeclarations": { STREAM: { "columns": declared } },
                "destinations": {
                    "logAnalytics": [{
                        "name": "workspace",
                        "workspaceResourceId": "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspace'))]",
                    }],
                },
                "dataFlows": [{
                    "streams": [STREAM],
                    "destinations": ["workspace"],
                    "transformKql": transform(&columns),
                    "outputStream": format!("Custom-{table}"),
                }],
            },
        }],
        "outputs": {
            "immutableId": { "type": "string", "value": format!("[reference({rule}).immutableId]") },
            "logsIngestionEndpoint": { "type": "string", "value": format!("[reference({rule}).endpoints.logsIngestion]") },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::TargetField;

    fn field(name: &str, field_type: &str) -> TargetField {
        TargetField {
            name: name.to_string(),
            field_type: field_type.to_string(),
        }
    }

    #[test]
    fn the_transformation_renames_every_field_to_its_column() {
        let mut mapping = Mapping::default();
        mapping
            .fields
            .insert("timestamp".into(), field("TimeGenerated", "datetime"));
        mapping
            .fields
            .insert("src_ip".into(), field("src_ip", "string"));
        mapping.fields.insert("ok".into(), field("Ok", "bool"));
        mapping
            .fields
            .insert("cost_usd".into(), field("CostUsd", "real"));
        let template = dcr_template("LLMAppEvents_CL", &mapping);
        let rule = &template["resources"][0];
        let flow = &rule["properties"]["dataFlows"][0];
        assert_eq!(
            flow["transformKql"],
            "source | project CostUsd = cost_usd, Ok = ok, TimeGenerated = timestamp, src_ip"
        );
        assert_eq!(flow["outputStream"], "Custom-LLMAppEvents_CL");
        let declared = &rule["properties"]["streamDeclarations"][STREAM]["columns"];
        assert_eq!(
            declared,
            &json!([
                { "name": "cost_usd", "type": "real" },
                { "name": "ok", "type": "boolean" },
                { "name": "src_ip", "type": "string" },
                { "name": "timestamp", "type": "datetime" },
            ])
        );
        assert_eq!(rule["kind"], "Direct");
        assert_eq!(
            template["outputs"]["immutableId"]["value"],
            "[reference(resourceId('Microsoft.Insights/dataCollectionRules', parameters('dataCollectionRule'))).immutableId]"
        );
    }
}
