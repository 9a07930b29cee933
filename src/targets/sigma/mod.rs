//! `sigma`: Sigma rules (YAML) for match rules.
//!
//! Input: a checked match rule, the pack and a [`Mapping`] of canonical field
//! names (kept as they are by default; a pySigma processing pipeline maps
//! them to a backend's names). Output: per rule `rules/<id>.yml`, one Sigma
//! rule serialised from [`SigmaRule`] (fixed key order); for the pack, the
//! processing pipeline `pipelines/tripline.yml`, the field list
//! `fields.yml` and a `README.md`. Thresholds, sequences and every other
//! stateful shape are refused (E0401): Sigma correlation rules use windows
//! whose alignment the specification leaves to the backend. A content
//! repository whose backends align them to the epoch opts in with
//! `compile: { sigma: { correlation_windows: epoch } }`: thresholds on
//! `count()` and `distinct(f)` then become a base rule and a correlation
//! ([`correlation`]). Translation rules and what conformance proves are in
//! `docs/targets.md`.

mod correlation;
mod detection;
pub mod quote;

use serde::Serialize;
use serde_yaml::Value as Yaml;

use super::plan::{self, Shape};
use super::uuid::uuid_v5;
use super::{Artifact, Mapping, Problem, Target, TargetField};
use crate::ir::{self, Detection, Need, Pack, Rule, Severity};

pub use detection::{MAX_INLINED_ROWS, source_detection};

/// The target id.
pub const ID: &str = "sigma";

/// The Sigma `logsource.product` of every rule.
pub const PRODUCT: &str = "llm_application";

/// The namespace of the rule ids (UUID v5 of the Tripline rule id).
const NAMESPACE: [u8; 16] = [
    0x3d, 0x8a, 0x51, 0x0e, 0x47, 0xc2, 0x4f, 0x19, 0xb6, 0x0a, 0x92, 0x1e, 0x6c, 0x73, 0xd4, 0x58,
];

/// Sigma rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sigma;

impl Target for Sigma {
    fn id(&self) -> &'static str {
        ID
    }

    fn product(&self) -> &'static str {
        "Sigma rules (YAML), for pySigma and sigma-cli backends"
    }

    fn supports(&self, need: Need) -> bool {
        matches!(
            need,
            Need::Match
                | Need::CaseInsensitiveText
                | Need::WhitespaceFolding
                | Need::Regex
                | Need::KeyedLookup
                | Need::NarrowedLookup
                | Need::Cidr
                | Need::MultiTypeSource
        )
    }

    fn supports_with(&self, need: Need, mapping: &Mapping) -> bool {
        self.supports(need)
            || (mapping.epoch_correlation_windows
                && matches!(need, Need::Threshold | Need::GroupingSets))
    }

    fn lacks_reason(&self, need: Need) -> String {
        match need {
            Need::Threshold | Need::GroupingSets => format!(
                "{ID} does not translate thresholds: a Sigma correlation's `timespan` is a window whose alignment the specification leaves to the backend (most slide it), not the evaluator's epoch-aligned tumbling windows"
            ),
            Need::Sequence | Need::SequenceRepeat => format!(
                "{ID} does not translate sequences: a `temporal_ordered` correlation does not keep EQL's single pending match per step and key, and its window semantics are the backend's"
            ),
            Need::Baseline | Need::Percentile | Need::NewValue | Need::Cluster => {
                format!(
                    "{ID} has no {} (Sigma has no such rule type)",
                    need.description()
                )
            }
            Need::Arithmetic => {
                format!("{ID} has no arithmetic (Sigma detections compare fields with constants)")
            }
            other => format!("{ID} has no {}", other.description()),
        }
    }

    fn default_mapping(&self, schema: &ir::Schema) -> Mapping {
        Mapping::from_schema(schema, vec![PRODUCT.to_string()], |field| TargetField {
            name: field.name.clone(),
            field_type: field.value_type.name().to_string(),
        })
    }

    fn check_data_source(&self, values: &[String]) -> Result<(), String> {
        match values {
            [product]
                if !product.is_empty()
                    && product.chars().all(|character| {
                        character.is_ascii_lowercase()
                            || character.is_ascii_digit()
                            || character == '_'
                    }) =>
            {
                Ok(())
            }
            _ => Err(
                "the data source is one `logsource` product: lowercase letters, digits and `_`"
                    .to_string(),
            ),
        }
    }

    fn compile_rule(
        &self,
        rule: &Rule,
        pack: &Pack,
        mapping: &Mapping,
    ) -> Result<Vec<Artifact>, Vec<Problem>> {
        if let Detection::Window {
            source, condition, ..
        } = &rule.detection
            && mapping.epoch_correlation_windows
        {
            let (plan, mut problems) = plan::plan_and_problems(rule, pack);
            let Shape::Window(window) = &plan.shape else {
                return Err(vec![Problem::untranslatable(
                    rule.origin,
                    "the plan's shape is not the rule's",
                )]);
            };
            if !window.context.is_empty() {
                // A correlation rule reports its group-by fields and its
                // count, and has no way to name other fields' values.
                problems.push(Problem::lacks(
                    rule.context_origin(),
                    "`context`: a Sigma correlation reports only its `group-by` fields and its condition's value, so the context fields' values cannot be carried",
                ));
            }
            let artifact = correlation::threshold_rules(
                rule,
                source,
                window,
                condition,
                mapping,
                &mut problems,
            );
            return match artifact {
                Some(artifact) if problems.is_empty() => Ok(vec![artifact]),
                _ => Err(problems),
            };
        }
        let Detection::Match { source } = &rule.detection else {
            return Err(vec![Problem::untranslatable(
                rule.origin,
                "only match rules become Sigma rules",
            )]);
        };
        // The constructs no target prints are false in the plan: the rest is
        // still printed, so that Sigma's own refusals come in the same run.
        let (plan, mut problems) = plan::plan_and_problems(rule, pack);
        let Shape::Match(planned) = &plan.shape else {
            return Err(vec![Problem::untranslatable(
                rule.origin,
                "the plan's shape is not the rule's",
            )]);
        };
        let detection = source_detection(planned, mapping, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        let sigma = sigma_rule(rule, source, detection.to_yaml());
        let yaml = serde_yaml::to_string(&sigma).map_err(|error| {
            vec![Problem::untranslatable(
                rule.origin,
                format!("the rule does not serialise: {error}"),
            )]
        })?;
        Ok(vec![Artifact {
            path: format!("rules/{}.yml", rule.id),
            text: format!(
                "# Generated by tripline {} for target {ID} from rule {}; do not edit.\n{yaml}",
                env!("CARGO_PKG_VERSION"),
                rule.id
            ),
        }])
    }

    fn pack_artifacts(&self, _pack: &Pack, mapping: &Mapping) -> Vec<Artifact> {
        let header = format!(
            "# Generated by tripline {} for target {ID}; do not edit.\n",
            env!("CARGO_PKG_VERSION")
        );
        // The pipeline renames canonical fields to a backend's; by default
        // the names are kept, and a content repository edits the right side.
        let mut field_mapping = serde_yaml::Mapping::new();
        let mut fields = serde_yaml::Mapping::new();
        for (canonical, field) in &mapping.fields {
            field_mapping.insert(
                Yaml::String(canonical.clone()),
                Yaml::String(field.name.clone()),
            );
            fields.insert(
                Yaml::String(field.name.clone()),
                Yaml::String(field.field_type.clone()),
            );
        }
        let pipeline = serde_yaml::to_string(&Pipeline {
            name: "Tripline LLM application events",
            priority: 20,
            transformations: vec![PipelineStep {
                id: "tripline_field_names",
                transformation_type: "field_name_mapping",
                mapping: Yaml::Mapping(field_mapping),
                rule_conditions: vec![LogsourceCondition {
                    condition_type: "logsource",
                    product: PRODUCT,
                }],
            }],
        })
        .unwrap_or_default();
        let fields = serde_yaml::to_string(&FieldList {
            logsource: Logsource {
                product: PRODUCT.to_string(),
                category: None,
            },
            fields: Yaml::Mapping(fields),
        })
        .unwrap_or_default();
        vec![
            Artifact {
                path: "pipelines/tripline.yml".to_string(),
                text: format!("{header}{pipeline}"),
            },
            Artifact {
                path: "fields.yml".to_string(),
                text: format!("{header}{fields}"),
            },
            Artifact {
                path: "README.md".to_string(),
                text: README.replace("{version}", env!("CARGO_PKG_VERSION")),
            },
        ]
    }
}

const README: &str = include_str!("../../../targets/sigma/README.md");

#[derive(Debug, Serialize)]
struct Pipeline {
    name: &'static str,
    priority: i64,
    transformations: Vec<PipelineStep>,
}

#[derive(Debug, Serialize)]
struct PipelineStep {
    id: &'static str,
    #[serde(rename = "type")]
    transformation_type: &'static str,
    mapping: Yaml,
    rule_conditions: Vec<LogsourceCondition>,
}

#[derive(Debug, Serialize)]
struct LogsourceCondition {
    #[serde(rename = "type")]
    condition_type: &'static str,
    product: &'static str,
}

#[derive(Debug, Serialize)]
struct FieldList {
    logsource: Logsource,
    fields: Yaml,
}

/// A Sigma rule, keys in the order of the Sigma specification.
#[derive(Debug, Clone, Serialize)]
pub struct SigmaRule {
    title: String,
    id: String,
    status: &'static str,
    description: String,
    references: Vec<String>,
    author: String,
    tags: Vec<String>,
    logsource: Logsource,
    detection: Yaml,
    falsepositives: Vec<String>,
    level: &'static str,
}

#[derive(Debug, Clone, Serialize)]
struct Logsource {
    product: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
}

/// `CredentialAccess` → `credential_access`, the Sigma ATT&CK tactic tag.
pub fn tactic_tag(tactic: &str) -> String {
    let mut out = String::from("attack.");
    for (index, character) in tactic.chars().enumerate() {
        if character.is_ascii_uppercase() {
            if index > 0 {
                out.push('_');
            }
            out.push(character.to_ascii_lowercase());
        } else if character.is_ascii_alphanumeric() {
            out.push(character);
        } else {
            out.push('_');
        }
    }
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}

/// The rule's description with its ATLAS and OWASP ids and its Tripline id,
/// version and category.
fn description(rule: &Rule) -> String {
    let metadata = &rule.metadata;
    let mut description = metadata.description.trim().to_string();
    if !metadata.atlas.is_empty() {
        description.push_str(&format!("\n\nMITRE ATLAS: {}.", metadata.atlas.join(", ")));
    }
    if !metadata.owasp.is_empty() {
        description.push_str(&format!(
            "\nOWASP Top 10 for LLM Applications: {}.",
            metadata.owasp.join(", ")
        ));
    }
    description.push_str(&format!(
        "\nTripline rule `{}` version {}, category {}.",
        rule.id,
        metadata.version,
        metadata.category.name()
    ));
    description
}

fn sigma_rule(rule: &Rule, source: &ir::Source, detection: Yaml) -> SigmaRule {
    let metadata = &rule.metadata;
    let description = description(rule);
    let category = match source.event_types.as_slice() {
        [single] => Some(single.clone()),
        _ => None,
    };
    SigmaRule {
        title: metadata.title.clone(),
        id: uuid_v5(&NAMESPACE, rule.id.as_bytes()),
        status: "experimental",
        description,
        references: metadata.references.clone(),
        author: metadata
            .author
            .clone()
            .unwrap_or_else(|| "Tripline".to_string()),
        tags: metadata
            .attack
            .iter()
            .map(|tactic| tactic_tag(tactic))
            .collect(),
        logsource: Logsource {
            product: PRODUCT.to_string(),
            category,
        },
        detection,
        falsepositives: metadata.false_positives.clone(),
        level: level(metadata.severity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactics_become_sigma_attack_tags() {
        assert_eq!(tactic_tag("CredentialAccess"), "attack.credential_access");
        assert_eq!(tactic_tag("Exfiltration"), "attack.exfiltration");
        assert_eq!(
            tactic_tag("CommandAndControl"),
            "attack.command_and_control"
        );
    }

    #[test]
    fn rule_ids_are_stable_v5_uuids() {
        let id = uuid_v5(&NAMESPACE, b"llm.output.canary_token");
        assert_eq!(id, uuid_v5(&NAMESPACE, b"llm.output.canary_token"));
        assert_eq!(&id[14..15], "5");
    }
}
