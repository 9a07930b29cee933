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

use serde_json::json;

use super::kibana_rule::{check_index_patterns, ndjson_line};
use super::templates::{environment, render};
use super::{Artifact, Mapping, Problem, Target};
use crate::ir::{self, Need, Pack, Rule};

pub use query::rule_query;

/// The target id.
pub const ID: &str = "elastic_eql";

pub(crate) const TEMPLATES: &[(&str, &str)] = &[(
    "query.eql.j2",
    include_str!("../../../targets/elastic_eql/query.eql.j2"),
)];

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
        super::kibana_rule::default_mapping(schema)
    }

    fn check_data_source(&self, values: &[String]) -> Result<(), String> {
        check_index_patterns(values)
    }

    /// The Elastic set-up (index template, ILM policy, route connectors).
    fn pack_artifacts(&self, pack: &Pack, mapping: &Mapping) -> Vec<Artifact> {
        super::deploy::elastic_setup(&pack.rules, mapping)
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
        // A sequence's events at the same timestamp follow each other in the
        // evaluator's processing order, by `event_id`; Elasticsearch orders
        // them by the rule's tiebreaker field, ascending and lexicographic
        // (rules API, optional fields for EQL rules:
        // https://www.elastic.co/guide/en/security/current/rules-api-create.html),
        // then by its internal document order (see docs/targets.md).
        let mut fields = Vec::new();
        if matches!(rule.detection, ir::Detection::Sequence { .. }) {
            let Some(tiebreaker) = mapping.field("event_id") else {
                return Err(vec![Problem::untranslatable(
                    rule.origin,
                    "a sequence orders equal timestamps by `event_id`, which has no mapping for this target",
                )]);
            };
            fields.push(("tiebreaker_field", json!(tiebreaker.name)));
        }
        let line = ndjson_line(rule, pack, mapping, (ID, &query), fields, &[])?;
        Ok(vec![
            Artifact {
                path: "rules.ndjson".to_string(),
                text: line,
            },
            Artifact {
                path: format!("queries/{}.eql", rule.id),
                text: query_file,
            },
        ])
    }
}
