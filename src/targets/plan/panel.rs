//! The lowering plan of a dashboard panel: the same walk as a rule's
//! window, without an alert condition.
//!
//! A panel over events is a [`Source`] and filter, group keys, optional
//! epoch-aligned time buckets, and measures: expressions over aggregates
//! and baselines ([`Cond`]), whose leaves live in one [`Condition`] as a
//! rule's do. Targets print it through their own panel printer, reusing
//! their predicate and aggregate spellings; the preview computes it with
//! the evaluator.

use super::walk::Walk;
use super::{Cond, Condition, Source};
use crate::ir::dashboard::{GroupKey, Panel, PanelQuery, Visual};
use crate::ir::{Origin, Pack};
use crate::targets::Problem;

/// A panel lowered to relational steps.
#[derive(Debug, Clone)]
pub struct PanelPlan {
    /// Panel id, unique within its dashboard.
    pub id: String,
    /// Title.
    pub title: String,
    /// One sentence under the title (may be empty).
    pub description: String,
    /// How it is drawn.
    pub visual: Visual,
    /// Time range in milliseconds back from now.
    pub range_ms: i64,
    /// Where the panel was written.
    pub origin: Origin,
    /// What it computes.
    pub body: PanelBody,
}

/// What a panel computes.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum PanelBody {
    /// Events, filtered, grouped, optionally bucketed, measured.
    Events(EventsPanel),
    /// Alerts raised by the pack's rules, counted per rule.
    Alerts {
        /// Time buckets in milliseconds, when over time.
        bucket_ms: Option<i64>,
    },
}

/// A panel over events.
#[derive(Debug, Clone)]
pub struct EventsPanel {
    /// Events read.
    pub source: Source,
    /// Group keys in the order written; empty: one group.
    pub group_by: Vec<GroupKey>,
    /// Epoch-aligned buckets in milliseconds, when over time.
    pub bucket_ms: Option<i64>,
    /// The leaves the measures read: aggregates (shared by label) and
    /// baselines; `root` and `percentiles` are always empty.
    pub leaves: Condition,
    /// The measures in the order written: column name, label as written,
    /// and the value over [`EventsPanel::leaves`].
    pub measures: Vec<PanelMeasure>,
    /// Keep the N groups with the largest first measure (ties by the group
    /// keys, ascending), sorted by it, descending; never with buckets.
    pub top: Option<u32>,
}

/// One measure of a panel.
#[derive(Debug, Clone)]
pub struct PanelMeasure {
    /// Column name (an identifier every target accepts).
    pub name: String,
    /// The expression as written.
    pub label: String,
    /// Its value.
    pub value: Cond,
}

impl EventsPanel {
    /// Whether any measure reads a baseline (the query needs history over
    /// earlier buckets).
    pub fn has_baseline(&self) -> bool {
        !self.leaves.baselines.is_empty()
    }
}

/// Lowers a checked panel, or the problems no target can get past.
pub fn panel(panel: &Panel, pack: &Pack) -> Result<PanelPlan, Vec<Problem>> {
    let mut walk = Walk::new(pack);
    let body = match &panel.query {
        PanelQuery::Alerts { bucket_ms } => PanelBody::Alerts {
            bucket_ms: *bucket_ms,
        },
        PanelQuery::Events {
            source,
            group_by,
            bucket_ms,
            measures,
            top,
        } => {
            let source = walk.source(source);
            let mut leaves = Condition::default();
            // A baseline without buckets is refused by the checker; 1 ms
            // keeps the arithmetic total if one gets here.
            let bucket = bucket_ms.unwrap_or(1);
            let measures = measures
                .iter()
                .map(|measure| PanelMeasure {
                    name: measure.name.clone(),
                    label: measure.label.clone(),
                    value: walk.cond(&measure.expr, &mut leaves, false, bucket),
                })
                .collect();
            // Measures are shown, not alerted on: nothing is "reported".
            leaves.reported.clear();
            PanelBody::Events(EventsPanel {
                source,
                group_by: group_by.clone(),
                bucket_ms: *bucket_ms,
                leaves,
                measures,
                top: *top,
            })
        }
    };
    let problems = walk.into_problems();
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(PanelPlan {
        id: panel.id.clone(),
        title: panel.title.clone(),
        description: panel.description.clone(),
        visual: panel.visual,
        range_ms: panel.range_ms,
        origin: panel.origin,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::dashboard::Measure;
    use crate::ir::{AggregateFunction, Expr, ExprKind, ValueType};

    const ORIGIN: Origin = Origin {
        line: 1,
        column: 1,
        start: 0,
        end: 0,
    };

    fn count(label: &str) -> Expr {
        Expr {
            kind: ExprKind::Aggregate {
                function: AggregateFunction::Count,
                field: None,
                filter: None,
                label: label.to_string(),
            },
            value_type: ValueType::Int,
            origin: ORIGIN,
        }
    }

    #[test]
    fn measures_share_aggregates_by_label_and_report_nothing() {
        let query = PanelQuery::Events {
            source: crate::ir::Source {
                event_types: vec!["inference".into()],
                filter: None,
            },
            group_by: vec![GroupKey::Field {
                field: "api_key_id".into(),
            }],
            bucket_ms: Some(86_400_000),
            measures: vec![
                Measure {
                    name: "calls".into(),
                    label: "count()".into(),
                    expr: count("count()"),
                },
                Measure {
                    name: "again".into(),
                    label: "count()".into(),
                    expr: count("count()"),
                },
            ],
            top: None,
        };
        let panel_ir = Panel {
            id: "volume".into(),
            origin: ORIGIN,
            title: "Volume".into(),
            description: String::new(),
            visual: Visual::Line,
            range_ms: 7 * 86_400_000,
            query,
        };
        let plan = panel(&panel_ir, &Pack::default()).unwrap();
        let PanelBody::Events(events) = plan.body else {
            panic!("an events panel")
        };
        assert_eq!(events.leaves.aggregates.len(), 1);
        assert!(events.leaves.reported.is_empty());
        assert_eq!(events.measures.len(), 2);
        assert!(!events.has_baseline());
    }
}
