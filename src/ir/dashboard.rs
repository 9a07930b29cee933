//! Checked dashboards: named sets of panels, each a query over the event
//! schema (or over the alerts the rules raise) and how to draw it.
//!
//! A dashboard is declared in a rule file next to the rules
//! (`dashboard ID { ... panel ID { ... } }`, see `docs/language.md`). The
//! checker resolves every field, aggregate and duration, and checks that the
//! visualisation fits the data; this module is what it hands on, to the
//! targets (through [`crate::targets::plan::panel`]) and to the preview
//! (through the evaluator's aggregation code).

use serde::{Deserialize, Serialize};

use super::{Expr, Origin, Source};

/// A checked dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dashboard {
    /// Dotted id, stable across versions (`llm.overview`).
    pub id: String,
    /// The file that declares it.
    pub file: String,
    /// Where the declaration starts.
    pub origin: Origin,
    /// Title shown above the panels.
    pub title: String,
    /// What the dashboard is for (Markdown); empty when none was written.
    pub description: String,
    /// The default time range, in milliseconds back from now.
    pub range_ms: i64,
    /// The panels, in the order written (the layout order).
    pub panels: Vec<Panel>,
}

/// One panel of a dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Panel {
    /// Identifier, unique within its dashboard (`refusal_rate`).
    pub id: String,
    /// Where the panel starts.
    pub origin: Origin,
    /// Title shown on the panel.
    pub title: String,
    /// One sentence under the title; empty when none was written.
    pub description: String,
    /// How it is drawn.
    pub visual: Visual,
    /// Its time range in milliseconds back from now (the dashboard's unless
    /// the panel sets its own).
    pub range_ms: i64,
    /// What it shows.
    pub query: PanelQuery,
}

/// How a panel is drawn. The checker guarantees the query fits:
///
/// | visual | time buckets (`every`) | `group by` | measures |
/// | --- | --- | --- | --- |
/// | `line` | required | optional (one series per group and measure) | one or more |
/// | `bar` | optional | required unless `every` is given | one or more |
/// | `single` | none | none | exactly one |
/// | `pie` | none | required | exactly one |
/// | `table` | optional | optional | one or more |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visual {
    /// Lines over time.
    Line,
    /// Bars per category (or per time bucket).
    Bar,
    /// One number.
    Single,
    /// A table of the result rows.
    Table,
    /// Shares of a whole per category.
    Pie,
}

impl Visual {
    /// The keyword written in rule files.
    pub fn keyword(self) -> &'static str {
        match self {
            Visual::Line => "line",
            Visual::Bar => "bar",
            Visual::Single => "single",
            Visual::Table => "table",
            Visual::Pie => "pie",
        }
    }

    /// Every visual, in documentation order.
    pub const ALL: [Visual; 5] = [
        Visual::Line,
        Visual::Bar,
        Visual::Single,
        Visual::Table,
        Visual::Pie,
    ];
}

/// What a panel shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PanelQuery {
    /// Events of the schema, filtered, grouped, optionally bucketed in time,
    /// and measured: `match TYPES [where EXPR] [group by KEYS] [every D]
    /// show EXPR [as NAME], ...`.
    Events {
        /// Events read.
        source: Source,
        /// The group keys, in the order written; empty: one group.
        group_by: Vec<GroupKey>,
        /// Epoch-aligned time buckets in milliseconds, when the panel is
        /// over time.
        bucket_ms: Option<i64>,
        /// The values shown per group (and bucket), in the order written.
        measures: Vec<Measure>,
        /// `top N`: keep the N groups with the largest first measure
        /// (ties by the group keys, ascending), sorted by it, descending.
        /// Only on panels without time buckets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        top: Option<u32>,
    },
    /// The alerts the pack's rules raised, counted per rule (and per time
    /// bucket), where the SIEM keeps them queryable: `show alerts by rule
    /// [every D]`.
    Alerts {
        /// Epoch-aligned time buckets in milliseconds, when the panel is
        /// over time.
        bucket_ms: Option<i64>,
    },
}

/// A group key of a panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GroupKey {
    /// A field's value (`group by api_key_id`).
    Field {
        /// Canonical field name.
        field: String,
    },
    /// A number field cut into equal ranges starting at 0
    /// (`group by bin(output_tokens, 500)`): the key is the range's lower
    /// bound, `floor(value / size) * size`.
    Bin {
        /// Canonical field name (an `int` or `float` field).
        field: String,
        /// Width of a range, above 0.
        size: f64,
    },
}

impl GroupKey {
    /// The field the key reads.
    pub fn field(&self) -> &str {
        match self {
            GroupKey::Field { field } | GroupKey::Bin { field, .. } => field,
        }
    }

    /// The column name a query gives the key: the field, or `FIELD_bin`.
    pub fn column(&self) -> String {
        match self {
            GroupKey::Field { field } => field.clone(),
            GroupKey::Bin { field, .. } => format!("{field}_bin"),
        }
    }
}

/// One value a panel shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measure {
    /// Column name: the `as NAME` written, or derived from the expression
    /// (`count`, `sum_cost_usd`); unique within the panel, an identifier
    /// every target accepts (`[a-z][a-z0-9_]*`).
    pub name: String,
    /// The expression as written, for legends and tooltips.
    pub label: String,
    /// A number over aggregates: aggregates (with `where` filters),
    /// arithmetic, constants and parameters, and `baseline(...)` when the
    /// panel has time buckets. A `baseline(X, L)` in a panel means what it
    /// means in a rule (`docs/language.md`, baseline), with the panel's time
    /// range as the only data: the mean of `X` over the same group's earlier
    /// buckets, from the group's first bucket inside both `L` and the
    /// panel's range up to the previous bucket. Buckets in between in which
    /// the group had no events count with `X`'s value on no events (0 for
    /// `count`, `sum`, `distinct`); buckets where `X` has no value are
    /// skipped. No earlier bucket: no value. There is no learning period in
    /// a panel.
    pub expr: Expr,
}
