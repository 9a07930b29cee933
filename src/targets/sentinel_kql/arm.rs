//! The deployable Sentinel objects around a query: the analytics rule
//! resource, its entity mappings and techniques, automation rules per route
//! and the ARM template that carries them.

use super::*;

/// An analytics rule as the Azure-Sentinel repository writes it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentinelRule {
    id: String,
    name: String,
    description: String,
    severity: &'static str,
    required_data_connectors: Vec<String>,
    query_frequency: String,
    query_period: String,
    trigger_operator: &'static str,
    trigger_threshold: i64,
    tactics: Vec<String>,
    relevant_techniques: Vec<String>,
    tags: Vec<String>,
    query: String,
    entity_mappings: Vec<EntityMapping>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    custom_details: std::collections::BTreeMap<String, String>,
    incident_configuration: IncidentConfiguration,
    event_grouping_settings: EventGroupingSettings,
    version: String,
    kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntityMapping {
    entity_type: &'static str,
    field_mappings: Vec<FieldMapping>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FieldMapping {
    identifier: &'static str,
    column_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IncidentConfiguration {
    create_incident: bool,
    grouping_configuration: GroupingConfiguration,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GroupingConfiguration {
    enabled: bool,
    reopen_closed_incident: bool,
    lookback_duration: String,
    matching_method: &'static str,
    group_by_entities: Vec<String>,
    group_by_alert_details: Vec<String>,
    group_by_custom_details: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventGroupingSettings {
    aggregation_kind: &'static str,
}

pub(super) fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

pub(super) fn sentinel_rule(
    rule: &Rule,
    query: &Query,
    mapping: &Mapping,
    frequency: i64,
    period: i64,
) -> SentinelRule {
    let metadata = &rule.metadata;
    let mut tags = vec![
        "Tripline".to_string(),
        format!("Category: {}", metadata.category.name()),
    ];
    tags.extend(metadata.owasp.iter().map(|id| format!("OWASP: {id}")));
    tags.extend(metadata.atlas.iter().map(|id| format!("ATLAS: {id}")));
    if let Some(route) = &metadata.route {
        tags.push(format!("Route: {route}"));
    }
    tags.extend(metadata.tags.iter().cloned());
    let mut description = metadata.description.trim().to_string();
    if !metadata.atlas.is_empty() {
        description.push_str(&format!("\n\nMITRE ATLAS: {}.", metadata.atlas.join(", ")));
    }
    description.push_str(&format!("\n\nTripline rule `{}`.", rule.id));
    let output_has = |canonical: &str| -> Option<String> {
        let name = mapping.field(canonical)?.name.clone();
        (query.all_columns || query.group_columns.contains(&name)).then_some(name)
    };
    let mut entity_mappings = Vec::new();
    for (canonical, entity) in ENTITY_FIELDS {
        if let Some(column) = output_has(canonical) {
            let (entity_type, identifier) = match entity {
                Entity::Account => ("Account", "Name"),
                Entity::Ip => ("IP", "Address"),
                Entity::Dns => ("DNS", "DomainName"),
                Entity::File => ("File", "Name"),
            };
            // A file is its name and directory (a strong identifier); the
            // whole path as the name is the fallback.
            let field_mappings = match (&entity, &query.file_columns) {
                (Entity::File, Some((name, directory))) => vec![
                    FieldMapping {
                        identifier: "Name",
                        column_name: name.clone(),
                    },
                    FieldMapping {
                        identifier: "Directory",
                        column_name: directory.clone(),
                    },
                ],
                _ => vec![FieldMapping {
                    identifier,
                    column_name: column,
                }],
            };
            entity_mappings.push(EntityMapping {
                entity_type,
                field_mappings,
            });
        }
    }
    if let Some(column) = output_has("target_url") {
        entity_mappings.push(EntityMapping {
            entity_type: "URL",
            field_mappings: vec![FieldMapping {
                identifier: "Url",
                column_name: column,
            }],
        });
    }
    let custom_details: std::collections::BTreeMap<String, String> = query
        .group_columns
        .iter()
        .chain(&query.value_columns)
        .map(|column| (column.clone(), column.clone()))
        .collect();
    let grouped = !query.group_columns.is_empty();
    SentinelRule {
        id: rule_guid(&rule.id),
        name: metadata.title.clone(),
        description,
        severity: severity_name(metadata.severity),
        required_data_connectors: Vec::new(),
        query_frequency: duration_text(frequency),
        query_period: duration_text(period),
        trigger_operator: "gt",
        trigger_threshold: 0,
        tactics: metadata.attack.clone(),
        relevant_techniques: attack_techniques(&metadata.references),
        tags,
        query: query.text.clone(),
        entity_mappings,
        custom_details,
        incident_configuration: IncidentConfiguration {
            create_incident: true,
            grouping_configuration: GroupingConfiguration {
                enabled: grouped,
                reopen_closed_incident: false,
                lookback_duration: "5h".to_string(),
                matching_method: "Selected",
                group_by_entities: Vec::new(),
                group_by_alert_details: Vec::new(),
                group_by_custom_details: query.group_columns.clone(),
            },
        },
        event_grouping_settings: EventGroupingSettings {
            aggregation_kind: "AlertPerResult",
        },
        version: format!("{}.0.0", metadata.version),
        kind: "Scheduled",
    }
}

/// An ISO 8601 duration (`PT5M`, `P1DT5M`) for ARM.
pub fn iso_duration(milliseconds: i64) -> String {
    let seconds = milliseconds / 1000;
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (minutes, seconds) = (rest / 60, rest % 60);
    let mut text = String::from("P");
    if days > 0 {
        text.push_str(&format!("{days}D"));
    }
    if hours + minutes + seconds > 0 || days == 0 {
        text.push('T');
        if hours > 0 {
            text.push_str(&format!("{hours}H"));
        }
        if minutes > 0 {
            text.push_str(&format!("{minutes}M"));
        }
        if seconds > 0 || (hours == 0 && minutes == 0) {
            text.push_str(&format!("{seconds}S"));
        }
    }
    text
}

pub(super) fn parse_short(text: &str) -> i64 {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let number: i64 = number.parse().unwrap_or(0);
    number
        * match unit {
            "d" => 86_400_000,
            "h" => 3_600_000,
            "m" => 60_000,
            _ => 1000,
        }
}

/// The techniques of the ARM `techniques` property: sub-techniques
/// (`T1110.004`) as their technique (`T1110`), which is what that property
/// of API version 2023-02-01 takes; the YAML's `relevantTechniques` keeps
/// them as written.
pub(super) fn parent_techniques(ids: &[String]) -> Vec<String> {
    let mut parents: Vec<String> = ids
        .iter()
        .map(|id| id.split('.').next().unwrap_or(id).to_string())
        .collect();
    parents.dedup();
    parents
}

/// The GUID of a rule's analytics rule.
pub fn rule_guid(rule_id: &str) -> String {
    uuid_v5(&NAMESPACE, rule_id.as_bytes())
}

/// One automation rule per route that compiled rules name
/// (`automation/<route>.json`, ARM `automationRules`,
/// https://learn.microsoft.com/azure/templates/microsoft.securityinsights/2022-11-01/automationrules):
/// when an incident is created from one of the route's analytics rules, it
/// is labelled `Tripline` and `route:<name>` and, when the route has a
/// `sentinel_owner`, assigned to that Entra ID object.
pub(super) fn automation_rules(
    target: &SentinelKql,
    pack: &Pack,
    mapping: &Mapping,
) -> Vec<Artifact> {
    let registry = super::super::registry();
    let compiled: Vec<&Rule> = pack
        .rules
        .iter()
        .filter(|rule| rule.metadata.route.is_some())
        .filter(|rule| super::super::compile_rule(target, rule, pack, mapping, &registry).is_ok())
        .collect();
    let compiled_rules: Vec<Rule> = compiled.iter().map(|rule| (*rule).clone()).collect();
    let mut artifacts = Vec::new();
    for (order, route) in routes_named(&compiled_rules).iter().enumerate() {
        let rule_ids: Vec<serde_json::Value> = compiled
            .iter()
            .filter(|rule| rule.metadata.route.as_deref() == Some(route.as_str()))
            .map(|rule| {
                json!(format!(
                    "[resourceId('Microsoft.OperationalInsights/workspaces/providers/alertRules', parameters('workspace'), 'Microsoft.SecurityInsights', '{}')]",
                    rule_guid(&rule.id)
                ))
            })
            .collect();
        let mut actions = vec![json!({
            "order": 1,
            "actionType": "ModifyProperties",
            "actionConfiguration": {
                "labels": [{ "labelName": "Tripline" }, { "labelName": format!("route:{route}") }],
            },
        })];
        if let Some(owner) = mapping.deploy.route(route).sentinel_owner {
            actions.push(json!({
                "order": 2,
                "actionType": "ModifyProperties",
                "actionConfiguration": { "owner": { "objectId": owner } },
            }));
        }
        let guid = uuid_v5(&NAMESPACE, format!("route:{route}").as_bytes());
        let template = arm_workspace_template(
            Some(generator_metadata(&[("route", json!(route))])),
            json!({
                "type": "Microsoft.OperationalInsights/workspaces/providers/automationRules",
                "apiVersion": "2022-11-01",
                "name": format!("[concat(parameters('workspace'),'/Microsoft.SecurityInsights/{guid}')]"),
                "properties": {
                    "displayName": format!("Tripline route {route}: label and assign its incidents"),
                    "order": order + 1,
                    "triggeringLogic": {
                        "isEnabled": true,
                        "triggersOn": "Incidents",
                        "triggersWhen": "Created",
                        "conditions": [{
                            "conditionType": "Property",
                            "conditionProperties": {
                                "propertyName": "IncidentRelatedAnalyticRuleIds",
                                "operator": "Contains",
                                "propertyValues": rule_ids,
                            },
                        }],
                    },
                    "actions": actions,
                },
            }),
        );
        let text = serde_json::to_string_pretty(&template).unwrap_or_default();
        artifacts.push(Artifact {
            path: format!(
                "automation/{}.json",
                super::super::deploy::route_slug(route)
            ),
            text: format!("{text}\n"),
        });
    }
    artifacts
}

pub(super) fn arm_template(rule: &SentinelRule) -> serde_json::Value {
    let operator = "GreaterThan";
    arm_workspace_template(
        None,
        json!({
            "id": format!("[concat(resourceId('Microsoft.OperationalInsights/workspaces/providers', parameters('workspace'), 'Microsoft.SecurityInsights'),'/alertRules/{}')]", rule.id),
            "name": format!("[concat(parameters('workspace'),'/Microsoft.SecurityInsights/{}')]", rule.id),
            "type": "Microsoft.OperationalInsights/workspaces/providers/alertRules",
            "kind": "Scheduled",
            "apiVersion": "2023-02-01",
            "properties": {
                "displayName": rule.name,
                "description": rule.description,
                "severity": rule.severity,
                "enabled": true,
                "query": rule.query,
                "queryFrequency": iso_duration(parse_short(&rule.query_frequency)),
                "queryPeriod": iso_duration(parse_short(&rule.query_period)),
                "triggerOperator": operator,
                "triggerThreshold": rule.trigger_threshold,
                "suppressionDuration": "PT5H",
                "suppressionEnabled": false,
                "tactics": rule.tactics,
                "techniques": parent_techniques(&rule.relevant_techniques),
                "entityMappings": rule.entity_mappings,
                "customDetails": if rule.custom_details.is_empty() { serde_json::Value::Null } else { json!(rule.custom_details) },
                "incidentConfiguration": {
                    "createIncident": rule.incident_configuration.create_incident,
                    "groupingConfiguration": {
                        "enabled": rule.incident_configuration.grouping_configuration.enabled,
                        "reopenClosedIncident": false,
                        "lookbackDuration": "PT5H",
                        "matchingMethod": rule.incident_configuration.grouping_configuration.matching_method,
                        "groupByEntities": [],
                        "groupByAlertDetails": [],
                        "groupByCustomDetails": rule.incident_configuration.grouping_configuration.group_by_custom_details,
                    },
                },
                "eventGroupingSettings": { "aggregationKind": rule.event_grouping_settings.aggregation_kind },
                "templateVersion": rule.version,
            },
        }),
    )
}

/// An ARM deployment template for one resource of the Log Analytics
/// workspace named by its `workspace` parameter, with `metadata` when given.
pub(super) fn arm_workspace_template(
    metadata: Option<serde_json::Value>,
    resource: serde_json::Value,
) -> serde_json::Value {
    let mut template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": { "workspace": { "type": "string" } },
        "resources": [resource],
    });
    if let Some(metadata) = metadata {
        template["metadata"] = metadata;
    }
    template
}

/// The generator and target of an emitted template, and `extra` keys.
pub(super) fn generator_metadata(extra: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut metadata = json!({
        "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")),
        "target": ID,
    });
    for (key, value) in extra {
        metadata[*key] = value.clone();
    }
    metadata
}
