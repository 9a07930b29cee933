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

mod quote;
mod syntax;

use serde_json::json;

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
        kibana_rule::default_mapping(schema)
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

    /// The Elastic set-up (index template, ILM policy, route connectors).
    fn pack_artifacts(&self, pack: &Pack, mapping: &Mapping) -> Vec<Artifact> {
        super::deploy::elastic_setup(&pack.rules, mapping)
    }
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
