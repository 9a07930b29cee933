//! What a SIEM needs around the rules to go from an empty instance to alerts
//! in a queue: how long the events are kept, and where each route's alerts go.
//!
//! Input: the `retention_days:` and `routes:` settings of `tripline.yaml`
//! (carried to every target in [`super::Mapping::deploy`]) and a rule's
//! metadata. Output: data the targets print — the retention, a route's
//! destinations, ATT&CK technique ids a rule names, and the Elastic set-up
//! (index template, ILM policy, connectors and rule actions) that the three
//! Elastic targets share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::Mapping;
use crate::ir::Rule;

/// How long events are kept when `tripline.yaml` does not say.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// The deployment settings of a content repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deploy {
    /// `retention_days:`; `None` is [`DEFAULT_RETENTION_DAYS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// `routes:` by name. Empty: no route is configured, and every route a
    /// rule names is written with placeholders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, Route>,
}

impl Deploy {
    /// The retention in days.
    pub fn retention_days(&self) -> u32 {
        self.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS)
    }

    /// The configured destinations of a route (empty when it is not configured).
    pub fn route(&self, name: &str) -> Route {
        self.routes.get(name).cloned().unwrap_or_default()
    }
}

/// One route of `routes:`: who receives its alerts in each SIEM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// What the queue is, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Splunk Enterprise Security: the notable event's default owner (a Splunk user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub splunk_owner: Option<String>,
    /// Microsoft Sentinel: the Entra ID object id (a GUID) of the user or
    /// group the automation rule assigns the incident to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_owner: Option<String>,
    /// Elastic: the Kibana connector the rules' actions notify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elastic_connector: Option<ElasticConnector>,
}

/// A Kibana connector a route's rules notify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticConnector {
    /// The connector's id in Kibana.
    pub id: String,
    /// Its type (`.slack`, `.teams`, `.webhook`, `.index`, `.email`, ...).
    #[serde(rename = "type")]
    pub connector_type: String,
    /// The action's `params`; default: a message for `.slack`, `.slack_api`
    /// and `.teams`, a JSON body for `.webhook`, a document for `.index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Json>,
}

/// Connector types whose `params` Tripline writes by default.
pub const CONNECTOR_TYPES_WITH_DEFAULT_PARAMS: [&str; 5] =
    [".index", ".slack", ".slack_api", ".teams", ".webhook"];

/// A route's name as part of a file name or an id: letters, digits, `-`
/// and `_` kept, anything else `_`.
pub fn route_slug(route: &str) -> String {
    route
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The routes the rules of a pack name, sorted, each once.
pub fn routes_named(rules: &[Rule]) -> Vec<String> {
    let mut names: Vec<String> = rules
        .iter()
        .filter_map(|rule| rule.metadata.route.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The MITRE ATT&CK technique ids a rule's `references` name: every
/// `attack.mitre.org/techniques/T1234[/567]` address, as `T1234` or
/// `T1234.567`, sorted, each once. (`attack:` holds tactics only.)
pub fn attack_techniques(references: &[String]) -> Vec<String> {
    let mut ids = Vec::new();
    for reference in references {
        let Some((_, rest)) = reference.split_once("attack.mitre.org/techniques/") else {
            continue;
        };
        let mut parts = rest.split('/').filter(|part| !part.is_empty());
        let Some(technique) = parts.next().filter(|id| is_technique(id)) else {
            continue;
        };
        let id = match parts.next() {
            Some(sub) if sub.len() == 3 && sub.chars().all(|c| c.is_ascii_digit()) => {
                format!("{technique}.{sub}")
            }
            _ => technique.to_string(),
        };
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    ids
}

/// `T` and four digits.
fn is_technique(id: &str) -> bool {
    id.len() == 5 && id.starts_with('T') && id[1..].chars().all(|c| c.is_ascii_digit())
}

/// The canonical fields that identify who or what an alert is about, and
/// the kind of entity each is: Splunk's risk object type and Sentinel's
/// entity type.
pub const ENTITY_FIELDS: [(&str, Entity); 5] = [
    ("user_id", Entity::Account),
    ("api_key_id", Entity::Account),
    ("src_ip", Entity::Ip),
    ("target_domain", Entity::Dns),
    ("target_path", Entity::File),
];

/// The kinds of entity an alert can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A user or a credential.
    Account,
    /// A network address.
    Ip,
    /// A host name.
    Dns,
    /// A file path.
    File,
}

// ---------------------------------------------------------------- Elastic

/// The index template's name (`PUT _index_template/<name>`).
pub const INDEX_TEMPLATE: &str = "logs-tripline.llm_application";

/// The ILM policy's name (`PUT _ilm/policy/<name>`).
pub const ILM_POLICY: &str = "logs-tripline.llm_application";

/// The placeholder connector id of a route without `elastic_connector`.
pub fn placeholder_connector_id(route: &str) -> String {
    format!("tripline-route-{}", route_slug(route))
}

/// The index the placeholder connector of a route writes alerts into.
pub fn placeholder_alert_index(route: &str) -> String {
    format!("tripline-alerts-{}", route_slug(route))
}

/// The Elastic set-up every Elastic target writes beside its rules: the
/// data stream's index template and ILM policy, and for each route the
/// rules name that has no `elastic_connector`, the body of the `.index`
/// connector its placeholder id stands for.
pub fn elastic_setup(rules: &[Rule], mapping: &Mapping) -> Vec<super::Artifact> {
    let pretty = |value: &Json| serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    let mut artifacts = vec![
        super::Artifact {
            path: format!("elasticsearch/index_template/{INDEX_TEMPLATE}.json"),
            text: pretty(&index_template(mapping)),
        },
        super::Artifact {
            path: format!("elasticsearch/ilm_policy/{ILM_POLICY}.json"),
            text: pretty(&ilm_policy(mapping.deploy.retention_days())),
        },
        super::Artifact {
            path: format!(
                "elasticsearch/ingest_pipeline/{}.json",
                super::elastic_pipeline::PIPELINE
            ),
            text: pretty(&super::elastic_pipeline::ingest_pipeline(mapping)),
        },
    ];
    for route in routes_named(rules) {
        if mapping.deploy.route(&route).elastic_connector.is_some() {
            continue;
        }
        let id = placeholder_connector_id(&route);
        artifacts.push(super::Artifact {
            path: format!("kibana/connectors/{id}.json"),
            text: pretty(&json!({
                "name": format!("Tripline route {route}"),
                "connector_type_id": ".index",
                "config": {
                    "index": placeholder_alert_index(&route),
                    "executionTimeField": "@timestamp",
                    "refresh": false,
                },
            })),
        });
    }
    artifacts
}

/// An index template for the event data stream: every mapped field with its
/// type, strings `keyword` without `ignore_above` and without a normalizer
/// (so that values longer than 256 characters are still indexed and the
/// queries' exact, case-sensitive comparisons hold), free text `wildcard`
/// (exact term, wildcard and regexp queries on any length); unmapped fields
/// are kept in `_source` but not indexed (`dynamic: false`).
pub fn index_template(mapping: &Mapping) -> Json {
    let mut properties = serde_json::Map::new();
    for field in mapping.fields.values() {
        let mut level = &mut properties;
        let parts: Vec<&str> = field.name.split('.').collect();
        for (index, part) in parts.iter().enumerate() {
            if index + 1 == parts.len() {
                level.insert(part.to_string(), json!({ "type": field.field_type }));
            } else {
                let entry = level
                    .entry(part.to_string())
                    .or_insert_with(|| json!({ "properties": {} }));
                let Some(next) = entry.get_mut("properties").and_then(Json::as_object_mut) else {
                    break;
                };
                level = next;
            }
        }
    }
    json!({
        "index_patterns": [super::kibana_rule::INDEX_PATTERN],
        "data_stream": {},
        "priority": 200,
        "_meta": {
            "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")),
            "description": "Tripline LLM application events (ECS plus tripline.*)",
        },
        "template": {
            "settings": { "index.lifecycle.name": ILM_POLICY },
            "mappings": { "dynamic": false, "properties": properties },
        },
    })
}

/// The ILM policy: daily rollover, deletion `days` after rollover (an event
/// is kept `days` to `days + 1` days). The delete phase's `min_age` counts
/// from rollover
/// (https://www.elastic.co/guide/en/elasticsearch/reference/current/ilm-index-lifecycle.html).
pub fn ilm_policy(days: u32) -> Json {
    json!({
        "policy": {
            "_meta": { "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")) },
            "phases": {
                "hot": { "actions": { "rollover": { "max_age": "1d", "max_primary_shard_size": "50gb" } } },
                "delete": { "min_age": format!("{days}d"), "actions": { "delete": {} } },
            },
        },
    })
}

/// A Kibana detection rule's `actions`: one per run with alerts, to the
/// route's connector (or its placeholder), with a summary of the run
/// (the rule's name, severity, the number of alerts and a link to them;
/// action variables of security rules:
/// https://www.elastic.co/guide/en/security/current/rules-ui-create.html#rule-action-variables).
pub fn elastic_actions(rule: &Rule, mapping: &Mapping) -> Json {
    let Some(route) = &rule.metadata.route else {
        return json!([]);
    };
    let configured = mapping.deploy.route(route).elastic_connector;
    let (id, connector_type) = match &configured {
        Some(connector) => (connector.id.clone(), connector.connector_type.clone()),
        None => (placeholder_connector_id(route), ".index".to_string()),
    };
    let summary = format!(
        "Tripline route {route}: {{{{context.rule.name}}}} ({{{{context.rule.severity}}}}) raised {{{{state.signals_count}}}} alert(s). {{{{{{context.results_link}}}}}}"
    );
    let params = match configured.as_ref().and_then(|c| c.params.clone()) {
        Some(params) => params,
        None => match connector_type.as_str() {
            ".slack" | ".slack_api" | ".teams" => json!({ "message": summary }),
            ".webhook" => json!({
                "body": serde_json::to_string(&json!({
                    "route": route,
                    "rule_id": rule.id,
                    "rule": "{{context.rule.name}}",
                    "severity": "{{context.rule.severity}}",
                    "alerts": "{{state.signals_count}}",
                    "link": "{{{context.results_link}}}",
                }))
                .unwrap_or_default()
            }),
            _ => json!({
                // The connector adds the run's time as `@timestamp`
                // (`executionTimeField` of the placeholder connector).
                "documents": [{
                    "route": route,
                    "tripline_rule_id": rule.id,
                    "rule_name": "{{context.rule.name}}",
                    "severity": "{{context.rule.severity}}",
                    "alert_count": "{{state.signals_count}}",
                    "results_link": "{{{context.results_link}}}",
                }],
            }),
        },
    };
    json!([{
        "group": "default",
        "id": id,
        "action_type_id": connector_type,
        "params": params,
        "frequency": { "summary": true, "notifyWhen": "onActiveAlert", "throttle": null },
    }])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn retention_defaults_to_90_days_and_reaches_the_ilm_delete_phase() {
        let deploy = Deploy::default();
        assert_eq!(deploy.retention_days(), 90);
        let deploy = Deploy {
            retention_days: Some(400),
            ..Deploy::default()
        };
        assert_eq!(
            ilm_policy(deploy.retention_days())["policy"]["phases"]["delete"]["min_age"],
            "400d"
        );
    }

    #[test]
    fn technique_ids_come_from_attack_references() {
        let references: Vec<String> = [
            "https://attack.mitre.org/techniques/T1110/004/",
            "https://attack.mitre.org/techniques/T1110/",
            "https://attack.mitre.org/techniques/T1110",
            "https://attack.mitre.org/tactics/TA0006/",
            "https://attack.mitre.org/techniques/X1/",
            "https://example.com/T1078",
        ]
        .iter()
        .map(|text| text.to_string())
        .collect();
        assert_eq!(attack_techniques(&references), vec!["T1110", "T1110.004"]);
        assert!(attack_techniques(&[]).is_empty());
    }

    #[test]
    fn the_index_template_nests_dotted_names_and_keeps_types() {
        let mut mapping = Mapping::default();
        for (canonical, name, field_type) in [
            ("a", "source.ip", "ip"),
            ("b", "source.geo.country_iso_code", "keyword"),
            ("c", "tripline.output", "wildcard"),
        ] {
            mapping.fields.insert(
                canonical.to_string(),
                crate::targets::TargetField {
                    name: name.to_string(),
                    field_type: field_type.to_string(),
                },
            );
        }
        let template = index_template(&mapping);
        let properties = &template["template"]["mappings"]["properties"];
        assert_eq!(properties["source"]["properties"]["ip"]["type"], "ip");
        assert_eq!(
            properties["source"]["properties"]["geo"]["properties"]["country_iso_code"]["type"],
            "keyword"
        );
        assert_eq!(
            properties["tripline"]["properties"]["output"]["type"],
            "wildcard"
        );
        assert_eq!(
            ilm_policy(90)["policy"]["phases"]["delete"]["min_age"],
            "90d"
        );
    }

    #[test]
    fn a_route_without_a_connector_gets_the_placeholder() {
        assert_eq!(
            placeholder_connector_id("llm-security"),
            "tripline-route-llm-security"
        );
        assert_eq!(Deploy::default().route("x"), Route::default());
    }
}
