//! `elastic_esql`: Kibana detection rules of type `esql` (language `esql`).
//!
//! Input: a checked match rule, the pack and `elastic_eql`'s ECS
//! [`Mapping`]. Output: one line of `rules.ndjson` (the rule object
//! `elastic_eql` builds, with `type`, `language`, `query` and `from`
//! replaced) and `queries/<rule id>.esql` holding the query with a header
//! comment. Match rules become non-aggregating queries
//! (`FROM ... METADATA _id, _index, _version | WHERE ...`: Kibana needs the
//! metadata fields to deduplicate alerts); window rules become `STATS` over
//! epoch-aligned windows computed from epoch milliseconds, reported once per
//! schedule slot after the lateness bound, with grouping sets (`MV_EXPAND`),
//! baselines (a second `STATS` over the judged window's history) and exact
//! percentiles (`INLINE STATS` ranks); new values become `STATS` per key and
//! value with `INLINE STATS` per key; clusters become the window grouped by
//! the fingerprint's band key, computed from each event's words
//! (`MV_EXPAND`) and gathered back per event and band by a first `STATS ...
//! BY _id, _index`. Sequences are refused through capabilities (E0401). The
//! translation rules are in `docs/targets.md`.

pub mod dashboard;
pub mod lookup;
mod query;
pub mod quote;
mod syntax;

use serde_json::json;

use super::kibana_rule;
use super::{Artifact, Mapping, Problem, Target, duration_text};
use crate::ir::{self, Need, Pack, Rule};

pub use query::rule_query;

/// The target id.
pub const ID: &str = "elastic_esql";

/// Kibana detection rules with ES|QL queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct ElasticEsql;

impl Target for ElasticEsql {
    fn id(&self) -> &'static str {
        ID
    }

    fn product(&self) -> &'static str {
        "Elastic Security, ES|QL rules"
    }

    fn supports(&self, need: Need) -> bool {
        matches!(
            need,
            Need::Match
                | Need::Threshold
                | Need::CaseInsensitiveText
                | Need::WhitespaceFolding
                | Need::Regex
                | Need::KeyedLookup
                | Need::NarrowedLookup
                | Need::Cidr
                | Need::MultiTypeSource
                | Need::GroupingSets
                | Need::Baseline
                | Need::Percentile
                | Need::NewValue
                | Need::Arithmetic
                | Need::Cluster
        )
    }

    fn lacks_reason(&self, need: Need) -> String {
        match need {
            Need::Sequence | Need::SequenceRepeat => {
                format!("{ID} has no sequences (Elastic expresses them as EQL rules)")
            }
            other => format!("{ID} has no {}", other.description()),
        }
    }

    fn default_mapping(&self, schema: &ir::Schema) -> Mapping {
        kibana_rule::default_mapping(schema)
    }

    fn check_data_source(&self, values: &[String]) -> Result<(), String> {
        kibana_rule::check_index_patterns(values)
    }

    /// The Elastic set-up (index template, ILM policy, route connectors),
    /// and every lookup over the inline limit that can be referenced exactly,
    /// as a lookup index: `elasticsearch/lookup_index/<index>.json` (the
    /// body of `PUT /<index>`) and `<index>.ndjson` (the body of
    /// `POST /_bulk`).
    fn pack_artifacts(&self, pack: &Pack, mapping: &Mapping) -> Vec<Artifact> {
        let mut artifacts = super::deploy::elastic_setup(&pack.rules, mapping);
        for table in pack.lookups.values() {
            if table.rows.len() <= mapping.inline_rows() {
                continue;
            }
            let Some(shipped) = lookup::shipped(table) else {
                continue;
            };
            let index = lookup::index_name(&table.name);
            let body = serde_json::to_string_pretty(&lookup::index_body(table, &shipped))
                .unwrap_or_default();
            artifacts.push(Artifact {
                path: format!("elasticsearch/lookup_index/{index}.json"),
                text: format!("{body}\n"),
            });
            artifacts.push(Artifact {
                path: format!("elasticsearch/lookup_index/{index}.ndjson"),
                text: lookup::bulk_ndjson(table, &shipped),
            });
        }
        artifacts
    }

    /// Kibana dashboards of ES|QL Lens panels (see [`dashboard`]).
    fn dashboard_artifacts(&self, pack: &Pack, mapping: &Mapping) -> super::DashboardOutput {
        dashboard::dashboards(pack, mapping)
    }

    fn compile_rule(
        &self,
        rule: &Rule,
        pack: &Pack,
        mapping: &Mapping,
    ) -> Result<Vec<Artifact>, Vec<Problem>> {
        let compiled = query::compile(rule, pack, mapping)?;
        let query = compiled.text;
        // Each run reads its slot, the lateness bound and the history the slot's windows or events need.
        let look_back = format!("now-{}", duration_text(compiled.look_back_ms));
        // ES|QL rules take their source from the query's FROM, not `index`.
        let line = kibana_rule::ndjson_line(
            rule,
            pack,
            mapping,
            (ID, &query),
            vec![
                ("type", json!("esql")),
                ("language", json!("esql")),
                ("from", json!(look_back)),
            ],
            &["index"],
        )?;
        let header = format!(
            "// Generated by tripline {} for {ID}: rule {} version {}. Do not edit.\n",
            env!("CARGO_PKG_VERSION"),
            rule.id,
            rule.metadata.version
        );
        Ok(vec![
            Artifact {
                path: "rules.ndjson".to_string(),
                text: line,
            },
            Artifact {
                path: format!("queries/{}.esql", rule.id),
                text: format!("{header}{query}\n"),
            },
        ])
    }
}
