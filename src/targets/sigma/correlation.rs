//! Threshold rules as Sigma correlation rules, under the opt-in profile
//! `compile: { sigma: { correlation_windows: epoch } }`.
//!
//! Input: a checked threshold rule (`group by K within D` with
//! `alert when count() >= N` or `distinct(f) >= N`), its [`Window`] plan
//! and the mapping.
//! Output: one file holding, per grouping, a base rule (the rule's events
//! that have every group field) and an `event_count` or `value_count`
//! correlation over it with `group-by`, `timespan` and a `gte`/`gt`
//! condition; or the located reasons the rule has no exact form.
//!
//! Why a profile. The Sigma correlation specification leaves the alignment
//! of `timespan` to the backend and names static boundaries as one a backend
//! may have ("Compatibility": "Temporal relationships are only recognized
//! within static time boundaries, e.g. a timespan of 1h only matches if all
//! events appear within a full hour";
//! <https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-correlation-rules-specification.md>).
//! The evaluator's windows are exactly such boundaries, aligned to the Unix
//! epoch. A repository whose backends bucket that way opts in:
//!
//! - rsigma: `rsigma.window: tumbling` gives "fixed, boundary-aligned,
//!   non-overlapping buckets of size timespan"
//!   (<https://docs.rs/rsigma-parser/latest/rsigma_parser/ast/enum.WindowMode.html>);
//!   in rsigma-eval 0.23.0 (`src/correlation/window.rs`, `bucket_start`) a
//!   bucket starts at `ts - ts.rem_euclid(timespan)` on epoch seconds, and a
//!   group's state is cleared when an event falls in a later bucket. Without
//!   the key rsigma slides the window, so every emitted correlation carries it.
//! - pySigma's Splunk backend writes every correlation as `bin _time
//!   span=<timespan>` then `stats ... by _time <group-by>` (its only method,
//!   described there as a static time window; `pysigma-backend-splunk`
//!   2.1.0, `SplunkBackend.event_count_aggregation_expression`): one row per
//!   group and bin. How `bin` aligns day-long spans depends on the search
//!   head (see `docs/targets.md`, `splunk_spl`, "Time").
//!
//! Exact only for lower bounds. A streaming engine tests the condition at
//! every event of the group and window: `count()` and `distinct(f)` only
//! grow inside a window, so `>= N` holds at some event exactly when it holds
//! at the window's close, where the evaluator tests it. An upper bound or an
//! equality holds early in a window whose final count exceeds it, so it is
//! refused, as are `or`, `not`, two different aggregates (one correlation
//! tests one), filtered aggregates, `sum`/`avg`/`min`/`max`, timestamp
//! fields (rsigma groups and counts a timestamp's text, the evaluator its
//! instant) and windows that are not whole seconds (rsigma's clock).

use serde::Serialize;
use serde_yaml::{Mapping as YamlMap, Value as Yaml};

use super::detection::grouped_detection;
use super::{ID, Logsource, NAMESPACE, PRODUCT, description, level, tactic_tag};
use crate::ir::{self, AggregateFunction, CompareOp, Expr, ExprKind, Rule, Value};
use crate::targets::plan::Window;
use crate::targets::uuid::uuid_v5;
use crate::targets::{Artifact, Mapping, Problem};

/// The custom attribute that makes rsigma's window tumbling.
const RSIGMA_WINDOW: &str = "tumbling";

/// What one correlation counts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Counted {
    /// Events: `count()`, an `event_count` correlation.
    Events,
    /// Distinct values of a canonical field: `distinct(f)`, `value_count`.
    Values(String),
}

/// A correlation's condition: what is counted and its lower bound, as
/// written (`gte`/`gt` and the constant).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Threshold {
    counted: Counted,
    operator: &'static str,
    bound: i64,
}

/// The base rules and correlations of a threshold rule under the profile.
pub fn threshold_rules(
    rule: &Rule,
    source: &ir::Source,
    window: &Window,
    condition: &Expr,
    mapping: &Mapping,
    problems: &mut Vec<Problem>,
) -> Option<Artifact> {
    let threshold = match threshold(condition) {
        Ok(threshold) => Some(threshold),
        Err(problem) => {
            problems.push(*problem);
            None
        }
    };
    let timespan = timespan(window.bucket_ms);
    if timespan.is_none() {
        problems.push(Problem::untranslatable(
            rule.origin,
            format!(
                "{ID} writes a correlation's `timespan` in whole seconds (a Sigma backend's clock); a window of {} ms is not",
                window.bucket_ms
            ),
        ));
    }
    let mut timestamp_fields: Vec<&str> = window
        .groupings
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if let Some(Threshold {
        counted: Counted::Values(field),
        ..
    }) = &threshold
    {
        timestamp_fields.push(field);
    }
    for field in timestamp_fields {
        if mapping
            .field(field)
            .is_some_and(|target| target.field_type == ir::ValueType::Timestamp.name())
        {
            problems.push(Problem::untranslatable(
                condition.origin,
                format!(
                    "{ID} correlations group and count a field's text; `{field}` is a timestamp, which the evaluator compares as an instant (two spellings of one instant are one value)"
                ),
            ));
        }
    }
    let detections: Vec<_> = window
        .groupings
        .iter()
        .map(|grouping| grouped_detection(&window.source, grouping, mapping, problems))
        .collect();
    let (Some(threshold), Some(timespan)) = (threshold, timespan) else {
        return None;
    };
    if !problems.is_empty() {
        return None;
    }
    let several = window.groupings.len() > 1;
    let mut documents = Vec::new();
    for (grouping, detection) in window.groupings.iter().zip(detections) {
        let group_by: Vec<String> = grouping
            .iter()
            .map(|field| target_name(mapping, field))
            .collect();
        let by = if several {
            format!("_by_{}", grouping.join("_"))
        } else {
            String::new()
        };
        let name = format!("{}_events{by}", rule.id.replace(['.', '-'], "_"));
        let title_by = if several {
            format!(" (by {})", grouping.join(", "))
        } else {
            String::new()
        };
        let base = BaseRule {
            title: format!("{}{title_by}: counted events", rule.metadata.title),
            id: uuid_v5(&NAMESPACE, format!("{}#events{by}", rule.id).as_bytes()),
            name: name.clone(),
            status: "experimental",
            description: format!(
                "The events the correlation `{}` counts{}: not an alert on its own.",
                rule.id,
                if grouping.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", those with every `group-by` field ({})",
                        grouping.join(", ")
                    )
                }
            ),
            author: author(rule),
            logsource: logsource(source),
            detection: detection.to_yaml(),
        };
        let mut condition = YamlMap::new();
        let correlation_type = match &threshold.counted {
            Counted::Events => "event_count",
            Counted::Values(field) => {
                condition.insert(
                    Yaml::String("field".to_string()),
                    Yaml::String(target_name(mapping, field)),
                );
                "value_count"
            }
        };
        condition.insert(
            Yaml::String(threshold.operator.to_string()),
            Yaml::Number(threshold.bound.into()),
        );
        let metadata = &rule.metadata;
        let id_source = if several {
            format!("{}#by:{}", rule.id, grouping.join(","))
        } else {
            rule.id.clone()
        };
        let correlation = CorrelationRule {
            title: format!("{}{title_by}", metadata.title),
            id: uuid_v5(&NAMESPACE, id_source.as_bytes()),
            status: "experimental",
            description: description(rule),
            references: metadata.references.clone(),
            author: author(rule),
            tags: metadata
                .attack
                .iter()
                .map(|tactic| tactic_tag(tactic))
                .collect(),
            rsigma_window: RSIGMA_WINDOW,
            correlation: Correlation {
                correlation_type,
                rules: vec![name],
                group_by,
                timespan: timespan.clone(),
                condition: Yaml::Mapping(condition),
            },
            falsepositives: metadata.false_positives.clone(),
            level: level(metadata.severity),
        };
        let serialised = serde_yaml::to_string(&base)
            .and_then(|base| Ok((base, serde_yaml::to_string(&correlation)?)));
        match serialised {
            Ok((base, correlation)) => {
                documents.push(base);
                documents.push(correlation);
            }
            Err(error) => {
                problems.push(Problem::untranslatable(
                    rule.origin,
                    format!("the rule does not serialise: {error}"),
                ));
                return None;
            }
        }
    }
    Some(Artifact {
        path: format!("rules/{}.yml", rule.id),
        text: format!(
            "# Generated by tripline {} for target {ID} from rule {}; do not edit.\n# Correlation windows: epoch-aligned tumbling (compile.sigma.correlation_windows: epoch).\n{}",
            env!("CARGO_PKG_VERSION"),
            rule.id,
            documents.join("---\n")
        ),
    })
}

fn target_name(mapping: &Mapping, canonical: &str) -> String {
    mapping
        .field(canonical)
        .map_or_else(|| canonical.to_string(), |field| field.name.clone())
}

fn author(rule: &Rule) -> String {
    rule.metadata
        .author
        .clone()
        .unwrap_or_else(|| "Tripline".to_string())
}

fn logsource(source: &ir::Source) -> Logsource {
    Logsource {
        product: PRODUCT.to_string(),
        category: match source.event_types.as_slice() {
            [single] => Some(single.clone()),
            _ => None,
        },
    }
}

/// `timespan` in the largest Sigma unit (`d`, `h`, `m`, `s`) that divides
/// the window; `None` for a window that is not whole seconds.
fn timespan(window_ms: i64) -> Option<String> {
    if window_ms <= 0 || window_ms % 1000 != 0 {
        return None;
    }
    let seconds = window_ms / 1000;
    Some(
        [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')]
            .iter()
            .find(|(unit, _)| seconds % unit == 0)
            .map(|(unit, letter)| format!("{}{letter}", seconds / unit))
            .unwrap_or_else(|| format!("{seconds}s")),
    )
}

/// The condition as one lower bound on one aggregate; a conjunction of lower
/// bounds on the same aggregate is the largest (counts are whole numbers).
fn threshold(condition: &Expr) -> Result<Threshold, Box<Problem>> {
    match &condition.kind {
        ExprKind::Compare { .. } => lower_bound(condition),
        ExprKind::And { operands } => {
            let mut bounds = operands.iter().map(lower_bound);
            let first = bounds
                .next()
                .ok_or_else(|| refuse(condition, "an empty `and`"))??;
            let mut least = least_count(&first);
            for bound in bounds {
                let bound = bound?;
                if bound.counted != first.counted {
                    return Err(refuse(
                        condition,
                        "two different aggregates: one Sigma correlation tests one count (`event_count`) or one distinct count (`value_count`), and chaining two correlations is not the same window's conjunction in every backend",
                    ));
                }
                least = least.max(least_count(&bound));
            }
            Ok(Threshold {
                counted: first.counted,
                operator: "gte",
                bound: least,
            })
        }
        _ => Err(refuse(
            condition,
            "a condition other than lower bounds (`>=`, `>`) on `count()` or `distinct(f)` joined by `and`",
        )),
    }
}

/// The smallest count that meets a bound.
fn least_count(threshold: &Threshold) -> i64 {
    match threshold.operator {
        "gt" => threshold.bound.saturating_add(1),
        _ => threshold.bound,
    }
}

/// `AGG >= N`, `AGG > N` (or `N <= AGG`, `N < AGG`) with AGG `count()` or
/// `distinct(f)` without a filter and N a number.
fn lower_bound(expr: &Expr) -> Result<Threshold, Box<Problem>> {
    let ExprKind::Compare { op, left, right } = &expr.kind else {
        return Err(refuse(
            expr,
            "a condition other than lower bounds (`>=`, `>`) on `count()` or `distinct(f)` joined by `and`",
        ));
    };
    let (aggregate, constant, op) = match (constant(left), constant(right)) {
        (None, Some(value)) => (left.as_ref(), value, *op),
        (Some(value), None) => (right.as_ref(), value, mirror(*op)),
        _ => {
            return Err(refuse(
                expr,
                "a comparison that is not between an aggregate and a constant",
            ));
        }
    };
    let counted = counted(aggregate)?;
    let strict = match op {
        CompareOp::GreaterEqual => false,
        CompareOp::Greater => true,
        _ => {
            return Err(refuse(
                expr,
                &format!(
                    "`{}` on a count: a streaming Sigma engine tests a correlation's condition at every event, so an upper bound or an equality holds early in a window whose final count is past it; only `>=` and `>` hold at some event exactly when they hold at the window's close",
                    op.symbol()
                ),
            ));
        }
    };
    // Counts are whole numbers: `>= 2.5` is `>= 3`, `> 2.5` is `>= 3`.
    let (operator, bound) = match constant {
        Number::Int(value) if strict => ("gt", value),
        Number::Int(value) => ("gte", value),
        Number::Float(value) if strict => ("gte", saturate(value.floor() + 1.0)),
        Number::Float(value) => ("gte", saturate(value.ceil())),
    };
    Ok(Threshold {
        counted,
        operator,
        bound,
    })
}

fn saturate(value: f64) -> i64 {
    // `as` saturates at the ends of i64; both ends are beyond any count.
    value as i64
}

fn mirror(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Less => CompareOp::Greater,
        CompareOp::LessEqual => CompareOp::GreaterEqual,
        CompareOp::Greater => CompareOp::Less,
        CompareOp::GreaterEqual => CompareOp::LessEqual,
        other => other,
    }
}

enum Number {
    Int(i64),
    Float(f64),
}

fn constant(expr: &Expr) -> Option<Number> {
    let value = match &expr.kind {
        ExprKind::Literal { value } | ExprKind::Param { value, .. } => value,
        _ => return None,
    };
    match value {
        Value::Int(value) => Some(Number::Int(*value)),
        Value::Float(value) if value.is_finite() => Some(Number::Float(*value)),
        _ => None,
    }
}

fn counted(expr: &Expr) -> Result<Counted, Box<Problem>> {
    let ExprKind::Aggregate {
        function,
        field,
        filter,
        label,
    } = &expr.kind
    else {
        return Err(refuse(
            expr,
            "a comparison that is not between an aggregate and a constant",
        ));
    };
    if filter.is_some() {
        return Err(refuse(
            expr,
            &format!(
                "`{label}`: a filtered aggregate; a correlation counts every event of its base rule, and narrowing the base rule would also drop the events other aggregates count"
            ),
        ));
    }
    match (function, field) {
        (AggregateFunction::Count, None) => Ok(Counted::Events),
        (AggregateFunction::Distinct, Some(field)) => Ok(Counted::Values(field.clone())),
        _ => Err(refuse(
            expr,
            &format!(
                "`{label}`: Sigma's `event_count` and `value_count` correlations count events and distinct values; `{}` either has no correlation type in the specification or does not only grow inside a window (so a streaming engine's per-event test is not the window's)",
                function.name()
            ),
        )),
    }
}

fn refuse(expr: &Expr, what: &str) -> Box<Problem> {
    Box::new(Problem::untranslatable(
        expr.origin,
        format!(
            "{ID} with epoch-aligned correlation windows writes thresholds as lower bounds on one count per group and window; this is {what}"
        ),
    ))
}

/// The base rule of a correlation: the events counted.
#[derive(Debug, Serialize)]
struct BaseRule {
    title: String,
    id: String,
    name: String,
    status: &'static str,
    description: String,
    author: String,
    logsource: Logsource,
    detection: Yaml,
}

/// A Sigma correlation rule, keys in the specification's order.
#[derive(Debug, Serialize)]
struct CorrelationRule {
    title: String,
    id: String,
    status: &'static str,
    description: String,
    references: Vec<String>,
    author: String,
    tags: Vec<String>,
    #[serde(rename = "rsigma.window")]
    rsigma_window: &'static str,
    correlation: Correlation,
    falsepositives: Vec<String>,
    level: &'static str,
}

#[derive(Debug, Serialize)]
struct Correlation {
    #[serde(rename = "type")]
    correlation_type: &'static str,
    rules: Vec<String>,
    #[serde(rename = "group-by", skip_serializing_if = "Vec::is_empty")]
    group_by: Vec<String>,
    timespan: String,
    condition: Yaml,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_take_the_largest_whole_unit() {
        assert_eq!(timespan(300_000).as_deref(), Some("5m"));
        assert_eq!(timespan(86_400_000).as_deref(), Some("1d"));
        assert_eq!(timespan(7 * 86_400_000).as_deref(), Some("7d"));
        assert_eq!(timespan(5_400_000).as_deref(), Some("90m"));
        assert_eq!(timespan(1_500), None);
        assert_eq!(timespan(0), None);
    }

    #[test]
    fn bounds_become_the_least_count() {
        let gte = Threshold {
            counted: Counted::Events,
            operator: "gte",
            bound: 5,
        };
        let gt = Threshold {
            operator: "gt",
            ..gte.clone()
        };
        assert_eq!(least_count(&gte), 5);
        assert_eq!(least_count(&gt), 6);
        assert_eq!(mirror(CompareOp::LessEqual), CompareOp::GreaterEqual);
        assert_eq!(mirror(CompareOp::Less), CompareOp::Greater);
    }
}
