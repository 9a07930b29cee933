//! What a rule needs from a target, computed from its IR alone.
//!
//! Input: an [`ir::Rule`](super::Rule). Output: the set of [`Need`]s, each
//! with the [`Origin`] of its first use, so that a target lacking one can
//! point at the construct in the rule text. Targets declare which needs they
//! support; this is the one place that decides what a rule needs.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Detection, Expr, ExprKind, Origin, Rule, StringSet};

/// One capability a rule can require of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// One alert per matching event.
    Match,
    /// Ordered steps sharing a key within a span.
    Sequence,
    /// A sequence step that needs several events (`repeat >= N`).
    SequenceRepeat,
    /// Aggregates per group in tumbling, epoch-aligned windows.
    Threshold,
    /// Several groupings evaluated independently (`group by each`).
    GroupingSets,
    /// A group against its own history (`baseline`).
    Baseline,
    /// A group against the other groups of its window (`percentile`).
    Percentile,
    /// A value never seen for a key (`new ... for ... lookback`).
    NewValue,
    /// Grouping by the near-duplicate fingerprint of a text field (`cluster`).
    Cluster,
    /// Case-insensitive string operators.
    CaseInsensitiveText,
    /// Whitespace folding in substring operators.
    WhitespaceFolding,
    /// Regular expressions (`matches`).
    Regex,
    /// Tuple membership in a lookup (`(a, b) in L`).
    KeyedLookup,
    /// Needles selected by the event's own fields (`L[app].marker`).
    NarrowedLookup,
    /// Network membership (`in cidr(...)`).
    Cidr,
    /// A detection that reads several event types.
    MultiTypeSource,
    /// Arithmetic on numbers.
    Arithmetic,
}

impl Need {
    /// Every need, in table order.
    pub const ALL: [Need; 17] = [
        Need::Match,
        Need::Sequence,
        Need::SequenceRepeat,
        Need::Threshold,
        Need::GroupingSets,
        Need::Baseline,
        Need::Percentile,
        Need::NewValue,
        Need::Cluster,
        Need::CaseInsensitiveText,
        Need::WhitespaceFolding,
        Need::Regex,
        Need::KeyedLookup,
        Need::NarrowedLookup,
        Need::Cidr,
        Need::MultiTypeSource,
        Need::Arithmetic,
    ];

    /// The name used in tables and messages.
    pub fn name(self) -> &'static str {
        match self {
            Need::Match => "match",
            Need::Sequence => "sequence",
            Need::SequenceRepeat => "sequence_repeat",
            Need::Threshold => "threshold",
            Need::GroupingSets => "grouping_sets",
            Need::Baseline => "baseline",
            Need::Percentile => "percentile",
            Need::NewValue => "new_value",
            Need::Cluster => "cluster",
            Need::CaseInsensitiveText => "case_insensitive_text",
            Need::WhitespaceFolding => "whitespace_folding",
            Need::Regex => "regex",
            Need::KeyedLookup => "keyed_lookup",
            Need::NarrowedLookup => "narrowed_lookup",
            Need::Cidr => "cidr",
            Need::MultiTypeSource => "multi_type_source",
            Need::Arithmetic => "arithmetic",
        }
    }

    /// Whether the need is a detection shape or refines one (rather than an operator).
    pub fn is_shape(self) -> bool {
        matches!(
            self,
            Need::Match
                | Need::Sequence
                | Need::SequenceRepeat
                | Need::Threshold
                | Need::GroupingSets
                | Need::Baseline
                | Need::Percentile
                | Need::NewValue
                | Need::Cluster
        )
    }

    /// What a target must be able to do to meet the need, for messages.
    pub fn description(self) -> &'static str {
        match self {
            Need::Match => "per-event filters",
            Need::Sequence => "ordered sequences keyed by fields",
            Need::SequenceRepeat => "sequence steps repeated N or more times",
            Need::Threshold => "aggregation per group in epoch-aligned windows",
            Need::GroupingSets => "independent grouping sets",
            Need::Baseline => "aggregation history per group",
            Need::Percentile => "percentiles across the groups of a window",
            Need::NewValue => "first-seen history per key",
            Need::Cluster => "grouping by a near-duplicate text fingerprint",
            Need::CaseInsensitiveText => "case-insensitive string comparison",
            Need::WhitespaceFolding => "whitespace-folded substring tests",
            Need::Regex => "regular expressions",
            Need::KeyedLookup => "tuple membership in a lookup",
            Need::NarrowedLookup => "lookup rows selected by event fields",
            Need::Cidr => "network membership tests",
            Need::MultiTypeSource => "detections over several event types",
            Need::Arithmetic => "arithmetic on numbers",
        }
    }
}

/// Every need of a rule, without origins.
pub fn needs(rule: &Rule) -> BTreeSet<Need> {
    needs_with_origins(rule).into_keys().collect()
}

/// Every need of a rule with the origin of its first use (in IR order).
pub fn needs_with_origins(rule: &Rule) -> BTreeMap<Need, Origin> {
    let mut found = BTreeMap::new();
    let add = |need: Need, origin: Origin, found: &mut BTreeMap<Need, Origin>| {
        found.entry(need).or_insert(origin);
    };
    match &rule.detection {
        Detection::Match { source } => {
            add(Need::Match, rule.origin, &mut found);
            if source.event_types.len() > 1 {
                add(Need::MultiTypeSource, rule.origin, &mut found);
            }
            if let Some(filter) = &source.filter {
                expression_needs(filter, &mut found);
            }
        }
        Detection::Window {
            source,
            groupings,
            condition,
            ..
        } => {
            add(Need::Threshold, condition.origin, &mut found);
            if groupings.len() > 1 {
                add(Need::GroupingSets, rule.origin, &mut found);
            }
            if source.event_types.len() > 1 {
                add(Need::MultiTypeSource, rule.origin, &mut found);
            }
            if let Some(filter) = &source.filter {
                expression_needs(filter, &mut found);
            }
            expression_needs(condition, &mut found);
        }
        Detection::NewValue { source, .. } => {
            add(Need::NewValue, rule.origin, &mut found);
            if source.event_types.len() > 1 {
                add(Need::MultiTypeSource, rule.origin, &mut found);
            }
            if let Some(filter) = &source.filter {
                expression_needs(filter, &mut found);
            }
        }
        Detection::Cluster {
            source, condition, ..
        } => {
            add(Need::Cluster, rule.origin, &mut found);
            if source.event_types.len() > 1 {
                add(Need::MultiTypeSource, rule.origin, &mut found);
            }
            if let Some(filter) = &source.filter {
                expression_needs(filter, &mut found);
            }
            expression_needs(condition, &mut found);
        }
        Detection::Sequence { steps, .. } => {
            add(Need::Sequence, rule.origin, &mut found);
            for step in steps {
                let origin = step
                    .source
                    .filter
                    .as_ref()
                    .map_or(rule.origin, |filter| filter.origin);
                if step.repeat > 1 {
                    add(Need::SequenceRepeat, origin, &mut found);
                }
                if step.source.event_types.len() > 1 {
                    add(Need::MultiTypeSource, origin, &mut found);
                }
                if let Some(filter) = &step.source.filter {
                    expression_needs(filter, &mut found);
                }
            }
        }
    }
    found
}

fn expression_needs(expr: &Expr, found: &mut BTreeMap<Need, Origin>) {
    let mut add = |need: Need| {
        found.entry(need).or_insert(expr.origin);
    };
    match &expr.kind {
        ExprKind::Literal { .. }
        | ExprKind::Field { .. }
        | ExprKind::Norm { .. }
        | ExprKind::Param { .. }
        | ExprKind::Exists { .. } => {}
        ExprKind::Not { operand } => expression_needs(operand, found),
        ExprKind::And { operands } | ExprKind::Or { operands } => {
            for operand in operands {
                expression_needs(operand, found);
            }
        }
        ExprKind::Compare { left, right, .. } => {
            expression_needs(left, found);
            expression_needs(right, found);
        }
        ExprKind::Arithmetic { left, right, .. } => {
            add(Need::Arithmetic);
            expression_needs(left, found);
            expression_needs(right, found);
        }
        ExprKind::Text {
            case_sensitive,
            fold_whitespace,
            subject,
            needles,
            ..
        } => {
            if !case_sensitive {
                add(Need::CaseInsensitiveText);
            }
            if *fold_whitespace {
                add(Need::WhitespaceFolding);
            }
            if matches!(needles, StringSet::NarrowedLookup { .. }) {
                add(Need::NarrowedLookup);
            }
            expression_needs(subject, found);
        }
        ExprKind::Matches { subject, .. } => {
            add(Need::Regex);
            expression_needs(subject, found);
        }
        ExprKind::InValues { subject, .. } => expression_needs(subject, found),
        ExprKind::InCidr { subject, .. } => {
            add(Need::Cidr);
            expression_needs(subject, found);
        }
        ExprKind::InLookup {
            subjects,
            case_sensitive,
            ..
        } => {
            if subjects.len() > 1 {
                add(Need::KeyedLookup);
            }
            if !case_sensitive {
                add(Need::CaseInsensitiveText);
            }
            for subject in subjects {
                expression_needs(subject, found);
            }
        }
        ExprKind::Aggregate { filter, .. } => {
            if let Some(filter) = filter {
                expression_needs(filter, found);
            }
        }
        ExprKind::Baseline { aggregate, .. } => {
            add(Need::Baseline);
            expression_needs(aggregate, found);
        }
        ExprKind::Percentile { aggregate, .. } => {
            add(Need::Percentile);
            expression_needs(aggregate, found);
        }
    }
}
