//! The Kibana detection-rule envelope the three Elastic targets share:
//! the rule object around a query (tags, risk score, schedule and
//! look-back, ATT&CK `threat`, required fields), its `meta` and `note`,
//! ECS field names, and the index patterns rules read.
//!
//! Input: a checked rule, its query text and the mapping. Output: JSON for
//! the rules import API. `elastic_eql`, `elastic_esql` and `kibana_kql`
//! each set the rule type and language on the object this builds.

use serde_json::{Value as Json, json};

use super::templates::{environment, render};
use super::{Mapping, Problem, duration_text};
use crate::ir::attack::{ATTACK_SUBTECHNIQUES, ATTACK_TACTIC_IDS, ATTACK_TECHNIQUES};
use crate::ir::{Pack, Rule, Severity, ValueType};

const TEMPLATES: &[(&str, &str)] = &[(
    "note.md.j2",
    include_str!("../../targets/elastic_eql/note.md.j2"),
)];

/// The mapping every Elastic target starts from: ECS names and types
/// ([`ecs_field`]) over the event data stream's index pattern.
pub fn default_mapping(schema: &crate::ir::Schema) -> Mapping {
    Mapping::from_schema(schema, vec![INDEX_PATTERN.to_string()], |field| {
        let (name, field_type) = ecs_field(&field.name, field.value_type);
        super::TargetField {
            name: name.to_string(),
            field_type: field_type.to_string(),
        }
    })
}

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

/// The ECS name and type of a canonical field (`tripline.<name>` when ECS has
/// no such concept). Free text that rules search with regexes is `wildcard`.
pub(crate) fn ecs_field(name: &str, value_type: ValueType) -> (String, &'static str) {
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
/// `attack` metadata, holding the techniques its `references` cite that
/// belong to that tactic, sub-techniques under their parent (the ATLAS ids
/// are in `tags`; ATLAS tactics are not in the reference data the project
/// ships). A technique missing from [`ATTACK_TECHNIQUES`] is left out.
fn threat(tactics: &[String], references: &[String]) -> Json {
    let cited = super::deploy::attack_techniques(references);
    let link = |id: &str| {
        format!(
            "https://attack.mitre.org/techniques/{}/",
            id.replace('.', "/")
        )
    };
    tactics
        .iter()
        .filter_map(|tactic| {
            ATTACK_TACTIC_IDS
                .iter()
                .find(|(spelling, _, _)| spelling == tactic)
        })
        .map(|(spelling, name, id)| {
            let techniques: Vec<Json> = ATTACK_TECHNIQUES
                .iter()
                .filter(|(technique, _, of)| {
                    of.contains(spelling)
                        && cited
                            .iter()
                            .any(|cited| cited.split('.').next() == Some(*technique))
                })
                .map(|(technique, technique_name, _)| {
                    let subtechniques: Vec<Json> = ATTACK_SUBTECHNIQUES
                        .iter()
                        .filter(|(sub, _)| {
                            sub.starts_with(technique) && cited.iter().any(|cited| cited == sub)
                        })
                        .map(|(sub, sub_name)| json!({ "id": sub, "name": sub_name, "reference": link(sub) }))
                        .collect();
                    let mut entry = json!({
                        "id": technique,
                        "name": technique_name,
                        "reference": link(technique),
                    });
                    if !subtechniques.is_empty() {
                        entry["subtechnique"] = Json::Array(subtechniques);
                    }
                    entry
                })
                .collect();
            json!({
                "framework": "MITRE ATT&CK",
                "tactic": {
                    "id": id,
                    "name": name,
                    "reference": format!("https://attack.mitre.org/tactics/{id}/"),
                },
                "technique": techniques,
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
        crate::ir::Detection::Sequence { within_ms, .. } => *within_ms,
        _ => 0,
    };
    rule.metadata.schedule_ms + LATENESS_MS + span
}

/// The rule object of `target` (type and language `eql`; the other
/// targets set their own) around `query`.
pub(crate) fn rule_object(
    rule: &Rule,
    target: &str,
    query: &str,
    note: &str,
    mapping: &Mapping,
) -> Json {
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
        "threat": threat(&metadata.attack, &metadata.references),
        "note": note,
        "tags": tags,
        "required_fields": required_fields,
        "false_positives": metadata.false_positives,
        "references": metadata.references,
        "max_signals": 100,
        "actions": super::deploy::elastic_actions(rule, mapping),
        "version": metadata.version,
        "meta": meta(rule, target),
    });
    if let (Some(author), Some(fields)) = (&metadata.author, object.as_object_mut()) {
        fields.insert("author".to_string(), json!([author]));
    }
    object
}

/// The `meta` object of a Kibana rule built by `target`.
pub(crate) fn meta(rule: &Rule, target: &str) -> Json {
    json!({
        "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")),
        "target": target,
        "tripline_rule_id": rule.id,
    })
}

/// The rule's `note` (description, guide, playbook), from `elastic_eql`'s template.
pub(crate) fn rule_note(rule: &Rule, pack: &Pack, target: &str) -> Result<String, String> {
    let playbook = rule
        .metadata
        .playbook
        .as_ref()
        .and_then(|name| pack.playbooks.get(name));
    render(
        &environment(TEMPLATES),
        "note.md.j2",
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "target": target,
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
}

/// The rule's line of `rules.ndjson` for `target`: the envelope around
/// `query` with its note, then the target's own `fields` set (type,
/// language, look-back) and `removed` ones taken out.
pub(crate) fn ndjson_line(
    rule: &Rule,
    pack: &Pack,
    mapping: &Mapping,
    (target, query): (&str, &str),
    fields: Vec<(&str, Json)>,
    removed: &[&str],
) -> Result<String, Vec<Problem>> {
    let bug = |message: String| vec![Problem::untranslatable(rule.origin, message)];
    let note = rule_note(rule, pack, target).map_err(bug)?;
    let mut object = rule_object(rule, target, query, note.trim_end(), mapping);
    if let Some(map) = object.as_object_mut() {
        for (name, value) in fields {
            map.insert(name.to_string(), value);
        }
        for name in removed {
            map.remove(*name);
        }
    }
    serde_json::to_string(&object)
        .map(|line| format!("{line}\n"))
        .map_err(|error| bug(format!("the rule object does not serialise: {error}")))
}
