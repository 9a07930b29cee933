//! `kibana_kql`: Kibana detection rules of type `query` (language `kuery`).
//!
//! Input: a checked match rule, the pack and the `elastic_eql` ECS
//! [`Mapping`]. Output: one line of `rules.ndjson` (a Kibana detection-rule
//! object for the rules import API) and `queries/<rule id>.kql` holding the
//! KQL filter alone (KQL has no comments).
//!
//! KQL on `keyword` fields compares exactly and case-sensitively and has no
//! regexes, so only what it expresses exactly is translated: case-sensitive
//! equality (a quoted value: `match_phrase`, a term on a keyword), prefix,
//! suffix and substring tests (a wildcard value without whitespace), numeric
//! ranges, `exists`, CIDR on `ip` fields, and case-insensitive tests whose
//! needles have no case variants at all (digits, punctuation). Everything
//! else is refused: regexes and whitespace folding through capabilities
//! (E0401), other case-insensitive needles with E0402. Thresholds are refused
//! too: Kibana's `threshold` rule type counts over the run's sliding look-back,
//! not over epoch-aligned windows.

pub mod pipeline;
mod quote;
mod syntax;

use serde_json::{Value as Json, json};

use super::elastic_eql::ElasticEql;
use super::kibana_rule;
use super::plan::{self, Shape, Source};
use super::syntax::{Unsupported, predicate};
use super::{Artifact, Mapping, Problem, Target, duration_text};
use crate::ir::{self, Need, Pack, Rule};
use syntax::Kql;

pub use quote::{caseless, kql_field, kql_quoted, kql_unquoted};
pub use syntax::MAX_INLINED_ROWS;

/// The target id.
pub const ID: &str = "kibana_kql";

/// Kibana detection rules with KQL queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct KibanaKql;

impl Target for KibanaKql {
    fn id(&self) -> &'static str {
        ID
    }

    fn product(&self) -> &'static str {
        "Elastic Security, custom query rules (KQL)"
    }

    fn supports(&self, need: Need) -> bool {
        matches!(
            need,
            Need::Match
                | Need::CaseInsensitiveText
                | Need::KeyedLookup
                | Need::NarrowedLookup
                | Need::Cidr
                | Need::MultiTypeSource
        )
    }

    fn lacks_reason(&self, need: Need) -> String {
        match need {
            Need::Threshold | Need::GroupingSets => format!(
                "{ID} is not given thresholds: Kibana's `threshold` rule type counts over each run's sliding look-back, not over epoch-aligned windows"
            ),
            Need::Regex => format!("{ID} has no regular expressions (KQL has none)"),
            Need::WhitespaceFolding => format!(
                "{ID} cannot fold whitespace: KQL compares keyword values exactly and has no regexes"
            ),
            Need::Sequence | Need::SequenceRepeat => {
                format!("{ID} has no sequences (Elastic expresses them as EQL rules)")
            }
            Need::Arithmetic => format!("{ID} has no arithmetic (KQL has none)"),
            other => format!("{ID} has no {}", other.description()),
        }
    }

    fn default_mapping(&self, schema: &ir::Schema) -> Mapping {
        ElasticEql.default_mapping(schema)
    }

    fn check_data_source(&self, values: &[String]) -> Result<(), String> {
        kibana_rule::check_index_patterns(values)
    }

    fn compile_rule(
        &self,
        rule: &Rule,
        pack: &Pack,
        mapping: &Mapping,
    ) -> Result<Vec<Artifact>, Vec<Problem>> {
        let query = rule_query(rule, pack, mapping)?;
        let look_back = duration_text(rule.metadata.schedule_ms + kibana_rule::LATENESS_MS);
        let line = kibana_rule::ndjson_line(
            rule,
            pack,
            mapping,
            (ID, &query),
            vec![
                ("type", json!("query")),
                ("language", json!("kuery")),
                ("from", json!(format!("now-{look_back}"))),
            ],
            &[],
        )?;
        Ok(vec![
            Artifact {
                path: "rules.ndjson".to_string(),
                text: line,
            },
            Artifact {
                path: format!("queries/{}.kql", rule.id),
                text: format!("{query}\n"),
            },
        ])
    }

    /// The data stream's index template and ILM policy, for every Elastic
    /// target's queries (emitted here only, once).
    fn pack_artifacts(&self, _pack: &Pack, mapping: &Mapping) -> Vec<Artifact> {
        let pretty = |value: &Json| serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
        vec![
            Artifact {
                path: format!("elasticsearch/index_template/{INDEX_TEMPLATE}.json"),
                text: pretty(&index_template(mapping)),
            },
            Artifact {
                path: format!("elasticsearch/ilm_policy/{ILM_POLICY}.json"),
                text: pretty(&ilm_policy()),
            },
            Artifact {
                path: format!("elasticsearch/ingest_pipeline/{}.json", pipeline::PIPELINE),
                text: pretty(&pipeline::ingest_pipeline(mapping)),
            },
        ]
    }
}

/// The index template's name (`PUT _index_template/<name>`).
pub const INDEX_TEMPLATE: &str = "logs-tripline.llm_application";

/// The ILM policy's name (`PUT _ilm/policy/<name>`).
pub const ILM_POLICY: &str = "logs-tripline.llm_application";

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
        "index_patterns": [kibana_rule::INDEX_PATTERN],
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

/// The ILM policy: daily rollover, deletion 90 days after rollover (an event
/// is kept 90 to 91 days).
pub fn ilm_policy() -> Json {
    json!({
        "policy": {
            "_meta": { "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")) },
            "phases": {
                "hot": { "actions": { "rollover": { "max_age": "1d", "max_primary_shard_size": "50gb" } } },
                "delete": { "min_age": "90d", "actions": { "delete": {} } },
            },
        },
    })
}

/// The KQL filter of a match rule.
pub fn rule_query(rule: &Rule, pack: &Pack, mapping: &Mapping) -> Result<String, Vec<Problem>> {
    let (plan, mut problems) = plan::plan_and_problems(rule, pack);
    let query = match &plan.shape {
        Shape::Match(source) => source_filter(rule, pack, mapping, source, &mut problems),
        _ => {
            problems.push(Problem::untranslatable(
                rule.origin,
                format!(
                    "a {} rule is not a KQL query",
                    ir::shape_name(&rule.detection)
                ),
            ));
            String::new()
        }
    };
    if problems.is_empty() {
        Ok(query)
    } else {
        // A needle used by several rows or tests is one problem.
        let mut distinct: Vec<Problem> = Vec::new();
        for problem in problems {
            if !distinct.contains(&problem) {
                distinct.push(problem);
            }
        }
        Err(distinct)
    }
}

/// The event types, and the filter spelled by [`Kql`].
fn source_filter(
    rule: &Rule,
    pack: &Pack,
    mapping: &Mapping,
    source: &Source,
    problems: &mut Vec<Problem>,
) -> String {
    let syntax = Kql {
        mapping,
        schema: &pack.schema,
        types: &source.event_types,
    };
    let event_type = syntax
        .field("event_type")
        .unwrap_or_else(|Unsupported(reason)| {
            problems.push(Problem::untranslatable(rule.origin, reason));
            String::new()
        });
    let types: Vec<String> = source
        .event_types
        .iter()
        .map(|name| kql_quoted(name))
        .collect();
    let mut text = match types.as_slice() {
        [single] => format!("{event_type}:{single}"),
        many => format!("{event_type}:({})", many.join(" or ")),
    };
    if let Some(filter) = &source.filter {
        let condition = predicate(&syntax, filter, problems);
        text.push_str(&format!(" and ({condition})"));
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::*;

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
        assert_eq!(ilm_policy()["policy"]["phases"]["delete"]["min_age"], "90d");
    }
}
