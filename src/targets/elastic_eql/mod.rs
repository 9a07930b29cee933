//! `elastic_eql`: Elastic Security detection rules of type `eql`.
//!
//! Input: a checked rule whose needs this target supports, the pack (lists,
//! lookups, playbooks) and a [`Mapping`] to ECS names. Output: the rule as one
//! line of `rules.ndjson` (a Kibana detection-rule object for the rules import
//! API) and `<rule id>.eql` holding the query. `match` rules become EQL event
//! queries, `sequence` rules EQL sequences; aggregation shapes belong to other
//! Elastic rule types and are refused through capabilities (E0401). The
//! translation rules and their proofs are in `docs/targets.md`.

mod query;
pub mod quote;
mod syntax;

use serde_json::{Value as Json, json};

use super::templates::{environment, render};
use super::{Artifact, Mapping, Problem, Target, TargetField, duration_text};
use crate::ir::attack::ATTACK_TACTIC_IDS;
use crate::ir::{self, Need, Pack, Rule, Severity, ValueType};

pub use query::rule_query;

/// The target id.
pub const ID: &str = "elastic_eql";

/// The index pattern of the event data stream.
pub const INDEX_PATTERN: &str = "logs-tripline.llm_application-*";

/// Index patterns as Elasticsearch accepts them: lowercase, without spaces
/// or any of `\\ / ? " < > | , #`, optionally prefixed by a remote cluster (`remote:logs-*`).
pub fn check_index_patterns(values: &[String]) -> Result<(), String> {
    let valid = |pattern: &String| {
        let index = pattern
            .rsplit_once(':')
            .map_or(pattern.as_str(), |(_, index)| index);
        !index.is_empty()
            && !index.starts_with(['-', '_', '+'])
            && index.chars().all(|character| {
                !character.is_ascii_uppercase()
                    && !character.is_whitespace()
                    && !character.is_control()
                    && !"\\/?\"<>|,#:".contains(character)
            })
    };
    if !values.is_empty() && values.iter().all(valid) {
        Ok(())
    } else {
        Err("the data source is one or more index patterns: lowercase, without spaces or any of `\\ / ? \" < > | , #`".to_string())
    }
}

/// How far back each run looks beyond its interval for late events: the
/// evaluator's default lateness bound.
pub(crate) const LATENESS_MS: i64 = 5 * 60_000;

pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "query.eql.j2",
        include_str!("../../../targets/elastic_eql/query.eql.j2"),
    ),
    (
        "note.md.j2",
        include_str!("../../../targets/elastic_eql/note.md.j2"),
    ),
];

/// Elastic Security EQL rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct ElasticEql;

impl Target for ElasticEql {
    fn id(&self) -> &'static str {
        ID
    }

    fn product(&self) -> &'static str {
        "Elastic Security, EQL rules"
    }

    fn supports(&self, need: Need) -> bool {
        matches!(
            need,
            Need::Match
                | Need::Sequence
                | Need::SequenceRepeat
                | Need::CaseInsensitiveText
                | Need::WhitespaceFolding
                | Need::Regex
                | Need::KeyedLookup
                | Need::NarrowedLookup
                | Need::Cidr
                | Need::MultiTypeSource
        )
    }

    fn lacks_reason(&self, need: Need) -> String {
        match need {
            Need::Threshold | Need::GroupingSets | Need::Baseline | Need::Percentile => format!(
                "{ID} has no aggregation (Elastic expresses it with other rule types: threshold, ES|QL)"
            ),
            Need::NewValue => {
                format!("{ID} has no first-seen history (Elastic's `new_terms` rule type has)")
            }
            Need::Cluster => format!("{ID} has no similarity clustering"),
            Need::Arithmetic => format!(
                "{ID} is not given arithmetic: EQL's division by zero and integer division differ from the evaluator's"
            ),
            other => format!("{ID} has no {}", other.description()),
        }
    }

    fn default_mapping(&self, schema: &ir::Schema) -> Mapping {
        Mapping::from_schema(schema, vec![INDEX_PATTERN.to_string()], |field| {
            let (name, field_type) = ecs_field(&field.name, field.value_type);
            TargetField {
                name: name.to_string(),
                field_type: field_type.to_string(),
            }
        })
    }

    fn check_data_source(&self, values: &[String]) -> Result<(), String> {
        check_index_patterns(values)
    }

    fn compile_rule(
        &self,
        rule: &Rule,
        pack: &Pack,
        mapping: &Mapping,
    ) -> Result<Vec<Artifact>, Vec<Problem>> {
        let query = rule_query(rule, pack, mapping)?;
        let environment = environment(TEMPLATES);
        let bug = |message: String| vec![Problem::untranslatable(rule.origin, message)];
        let version = env!("CARGO_PKG_VERSION");
        let playbook = rule
            .metadata
            .playbook
            .as_ref()
            .and_then(|name| pack.playbooks.get(name));
        let note = render(
            &environment,
            "note.md.j2",
            json!({
                "version": version,
                "target": ID,
                "rule_id": rule.id,
                "title": rule.metadata.title,
                "description": rule.metadata.description.trim(),
                "guide": rule.metadata.guide.as_deref().map(str::trim),
                "playbook": playbook.map(|playbook| json!({
                    "title": playbook.title,
                    "trigger": playbook.trigger,
                    "guide": playbook.guide.trim(),
                })),
            }),
        )
        .map_err(bug)?;
        let query_file = render(
            &environment,
            "query.eql.j2",
            json!({
                "version": version,
                "target": ID,
                "rule_id": rule.id,
                "rule_version": rule.metadata.version,
                "query": query,
            }),
        )
        .map_err(bug)?;
        let object = rule_object(rule, &query, note.trim_end(), mapping);
        let line = serde_json::to_string(&object)
            .map_err(|error| bug(format!("the rule object does not serialise: {error}")))?;
        Ok(vec![
            Artifact {
                path: "rules.ndjson".to_string(),
                text: format!("{line}\n"),
            },
            Artifact {
                path: format!("queries/{}.eql", rule.id),
                text: query_file,
            },
        ])
    }
}

/// The ECS name and type of a canonical field (`tripline.<name>` when ECS has
/// no such concept). Free text that rules search with regexes is `wildcard`.
fn ecs_field(name: &str, value_type: ValueType) -> (String, &'static str) {
    let ecs = match name {
        "timestamp" => Some(("@timestamp", "date")),
        "event_id" => Some(("event.id", "keyword")),
        "user_id" => Some(("user.id", "keyword")),
        "src_ip" => Some(("source.ip", "ip")),
        "geo_country" => Some(("source.geo.country_iso_code", "keyword")),
        "app" => Some(("service.name", "keyword")),
        "model" => Some(("gen_ai.request.model", "keyword")),
        "input_tokens" => Some(("gen_ai.usage.input_tokens", "long")),
        "output_tokens" => Some(("gen_ai.usage.output_tokens", "long")),
        "tool_name" => Some(("gen_ai.tool.name", "keyword")),
        "session_id" => Some(("gen_ai.conversation.id", "keyword")),
        "target_url" => Some(("url.full", "wildcard")),
        "target_domain" => Some(("destination.domain", "keyword")),
        "target_path" => Some(("file.path", "keyword")),
        "outcome" => Some(("event.outcome", "keyword")),
        "user_agent" => Some(("user_agent.original", "keyword")),
        "http_status" => Some(("http.response.status_code", "long")),
        "component" => Some(("package.name", "keyword")),
        "version" => Some(("package.version", "keyword")),
        _ => None,
    };
    if let Some((ecs_name, ecs_type)) = ecs {
        return (ecs_name.to_string(), ecs_type);
    }
    let free_text = matches!(
        name,
        "user_input"
            | "output"
            | "system_prompt"
            | "tool_args"
            | "tool_result"
            | "content"
            | "query"
    );
    let field_type = match value_type {
        ValueType::String if free_text => "wildcard",
        ValueType::String | ValueType::Regex => "keyword",
        ValueType::Int | ValueType::Duration => "long",
        ValueType::Float => "double",
        ValueType::Bool => "boolean",
        ValueType::Ip => "ip",
        ValueType::Timestamp => "date",
    };
    (format!("tripline.{name}"), field_type)
}

/// Kibana's `threat`: one MITRE ATT&CK entry per tactic of the rule's
/// `attack` metadata (the ATLAS ids are in `tags`; ATLAS tactics are not
/// in the reference data the project ships).
fn threat(tactics: &[String]) -> Json {
    tactics
        .iter()
        .filter_map(|tactic| {
            ATTACK_TACTIC_IDS
                .iter()
                .find(|(spelling, _, _)| spelling == tactic)
        })
        .map(|(_, name, id)| {
            json!({
                "framework": "MITRE ATT&CK",
                "tactic": {
                    "id": id,
                    "name": name,
                    "reference": format!("https://attack.mitre.org/tactics/{id}/"),
                },
                "technique": [],
            })
        })
        .collect()
}

/// Kibana's risk score band for a severity.
pub fn risk_score(severity: Severity) -> i64 {
    match severity {
        Severity::High => 73,
        Severity::Medium => 47,
        Severity::Low => 21,
    }
}

/// The look-back of each run: its interval, the lateness bound and, for a
/// sequence, its span (a sequence that ends in this run may have started
/// `within` earlier).
fn look_back_ms(rule: &Rule) -> i64 {
    let span = match &rule.detection {
        ir::Detection::Sequence { within_ms, .. } => *within_ms,
        _ => 0,
    };
    rule.metadata.schedule_ms + LATENESS_MS + span
}

pub(crate) fn rule_object(rule: &Rule, query: &str, note: &str, mapping: &Mapping) -> Json {
    let metadata = &rule.metadata;
    let mut tags = vec![
        "Tripline".to_string(),
        format!("Severity: {}", metadata.severity.name()),
        format!("Category: {}", metadata.category.name()),
    ];
    tags.extend(metadata.owasp.iter().map(|id| format!("OWASP: {id}")));
    tags.extend(metadata.atlas.iter().map(|id| format!("ATLAS: {id}")));
    tags.extend(
        metadata
            .attack
            .iter()
            .map(|tactic| format!("ATT&CK: {tactic}")),
    );
    if let Some(route) = &metadata.route {
        tags.push(format!("Route: {route}"));
    }
    tags.extend(metadata.tags.iter().cloned());
    let mut required: Vec<&str> = rule.fields.iter().map(String::as_str).collect();
    required.push("event_type");
    required.sort_unstable();
    required.dedup();
    let required_fields: Vec<Json> = required
        .iter()
        .filter_map(|name| mapping.field(name))
        .map(|field| {
            json!({
                "name": field.name,
                "type": field.field_type,
                "ecs": !field.name.starts_with("tripline."),
            })
        })
        .collect();
    let mut object = json!({
        "rule_id": rule.id,
        "name": metadata.title,
        "description": metadata.description.trim(),
        "type": "eql",
        "language": "eql",
        "query": query,
        "index": mapping.data_source,
        "risk_score": risk_score(metadata.severity),
        "severity": metadata.severity.name(),
        "interval": duration_text(metadata.schedule_ms),
        "from": format!("now-{}", duration_text(look_back_ms(rule))),
        "to": "now",
        "threat": threat(&metadata.attack),
        "note": note,
        "tags": tags,
        "required_fields": required_fields,
        "false_positives": metadata.false_positives,
        "references": metadata.references,
        "max_signals": 100,
        "version": metadata.version,
        "meta": {
            "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")),
            "target": ID,
            "tripline_rule_id": rule.id,
        },
    });
    if let (Some(author), Some(fields)) = (&metadata.author, object.as_object_mut()) {
        fields.insert("author".to_string(), json!([author]));
    }
    object
}
