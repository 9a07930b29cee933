//! The lowering plan: one target-neutral walk from a checked rule to the
//! relational steps every target prints.
//!
//! Input: an [`ir::Rule`] and its [`Pack`]. Output: a [`Plan`], or the
//! [`Problem`]s of constructs no target can print exactly. The walk makes
//! every decision that does not depend on syntax, once:
//!
//! | plan step | what is decided here |
//! | --- | --- |
//! | source and filter ([`Source`], [`Pred`]) | event types; each test made total (false on a missing field, negated or not) with the fields it needs present |
//! | needles ([`TestKind::Text`]) | list values, lookup columns and literals resolved; empty lookup cells dropped |
//! | comparisons ([`TestKind::Compare`]) | normalised to `field OP constant` on a number or boolean field |
//! | lookup joins ([`TestKind::Rows`], [`TestKind::Narrowed`]) | rows resolved and grouped; the lookup's size kept for row limits |
//! | time bucketing and aggregation ([`Window`]) | epoch-aligned buckets, grouping sets, aggregates shared by label |
//! | history ([`Baseline`]) | the lookback in whole buckets and the value of an empty bucket |
//! | near-duplicate key ([`Fingerprint`]) | the steps that compute a cluster's key, and `r` from the similarity |
//! | condition ([`Cond`]) | leaves, constants, which values an alert reports, where a missing value can reach a `not` |
//! | sequences ([`sequence`]) | `A repeat >= n; B` in the closed form SIEM searches compute, with its proof |
//!
//! Targets print a plan through [`super::syntax::Syntax`]; what a target
//! cannot print becomes E0402 at the construct, naming the target.

pub mod panel;
pub mod sequence;
mod walk;

pub use panel::{PanelPlan, panel};
pub use walk::{plan, plan_and_problems};

use crate::ir::{
    self, AggregateFunction, ArithmeticOp, CompareOp, Origin, TextOp, Value, ValueType,
};

/// A rule lowered to relational steps.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The detection shape.
    pub shape: Shape,
    /// The learning period in milliseconds: a baseline group alerts once its
    /// own history reaches back this long; a new-value key must have been
    /// seen this long before. Compiled queries use [`ir::DEFAULT_LEARN_MS`],
    /// the default of `tripline eval --learn`.
    pub learn_ms: i64,
    /// A `match` rule's key fields ([`ir::Schema::match_key`]): the
    /// evaluator's alert carries the event's values of them in `group`
    /// (empty for the other shapes, whose groups are their own).
    pub match_key: Vec<String>,
}

/// The detection shapes as relational steps.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Source and filter; one alert per event.
    Match(Source),
    /// Bucket, aggregate per group, optional history and percentiles, condition.
    Window(Window),
    /// Per-event history of value combinations per key.
    NewValue {
        /// Events read.
        source: Source,
        /// The key history is kept per.
        key: Vec<String>,
        /// Fields whose combination must be new.
        values: Vec<String>,
        /// History length in milliseconds.
        lookback_ms: i64,
    },
    /// Ordered steps sharing a key.
    Sequence {
        /// Key fields.
        by: Vec<String>,
        /// Longest span from first to last event, in milliseconds.
        within_ms: i64,
        /// Steps and how many events each needs.
        steps: Vec<(Source, u32)>,
    },
    /// Near-duplicate text: epoch-aligned buckets grouped by a key computed
    /// from a text field ([`Fingerprint`]), then aggregates and a condition
    /// per bucket and key, as a [`Window`] with one grouping.
    Cluster {
        /// Events read.
        source: Source,
        /// The key and how to compute it.
        fingerprint: Fingerprint,
        /// Bucket length in milliseconds.
        window_ms: i64,
        /// The condition over each bucket and fingerprint.
        condition: Condition,
    },
}

/// The near-duplicate fingerprint of a text field (see
/// [`ir::fingerprint`]): what a printer needs, and the steps it spells. An
/// event has one key per band, so a printer computes the band keys as a list
/// and expands it to one row per band before grouping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The text field.
    pub field: String,
    /// Values with fewer characters (Unicode code points) are not grouped.
    pub min_length: u64,
    /// Bands (`b`) and hashes per band (`r`; `None`: all).
    pub sketch: ir::fingerprint::Sketch,
}

/// One step of computing one band's key of a [`Fingerprint`], in the order
/// they apply. Printers spell each step; [`Fingerprint::band_steps`] says
/// which apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintStep {
    /// Keep only events whose value has at least this many characters
    /// (Unicode code points); absent when the minimum is 0. Applies to the
    /// event, before any band.
    MinLength(u64),
    /// The value's words: every non-overlapping match of the pattern, left
    /// to right (a list of strings).
    Words {
        /// The regex, [`ir::fingerprint::WORD_PATTERN`]: ASCII only, the
        /// same in every regex engine.
        pattern: &'static str,
    },
    /// Each word lowercased (its letters are ASCII: lowercase each word,
    /// never the whole value, whose non-ASCII letters can lowercase to
    /// ASCII ones), then `digits` of the lowercase hex MD5 of its bytes from
    /// `offset` (0-based: the band's slice).
    HashEach {
        /// First hex digit kept, 8 × (band − 1).
        offset: usize,
        /// Hex digits kept, [`ir::fingerprint::HASH_DIGITS`].
        digits: usize,
    },
    /// Duplicate hashes removed.
    Distinct,
    /// Hashes sorted ascending as text (fixed-width hex: numeric order).
    Sort,
    /// The first `count` hashes; absent when the key keeps every word.
    First(u32),
    /// The hashes joined into one string.
    Join {
        /// [`ir::fingerprint::SEPARATOR`].
        separator: &'static str,
    },
    /// A value without a word has no fingerprint: an empty join is no key
    /// (null), and the event is not grouped.
    DropEmpty,
    /// The band's number and [`ir::fingerprint::BAND_SEPARATOR`] before the
    /// key (`"2:"`); a missing key stays missing.
    Label(&'static str),
}

/// The labels of bands 1 to 4.
const BAND_LABELS: [&str; 4] = ["1:", "2:", "3:", "4:"];

impl Fingerprint {
    /// The fingerprint of a cluster rule's field.
    pub fn new(field: &str, similarity: f64, min_length: i64) -> Fingerprint {
        Fingerprint {
            field: field.to_string(),
            min_length: u64::try_from(min_length).unwrap_or(0),
            sketch: ir::fingerprint::Sketch::for_similarity(similarity),
        }
    }

    /// The name of the key in an alert's `group`.
    pub fn group_name(&self) -> &'static str {
        ir::fingerprint::GROUP_NAME
    }

    /// How many band keys each event has.
    pub fn bands(&self) -> usize {
        self.sketch.bands.clamp(1, 4) as usize
    }

    /// The steps that compute band `band`'s key (from 0), in order; the
    /// value's length is tested first ([`FingerprintStep::MinLength`], from
    /// [`Self::min_length`]).
    pub fn band_steps(&self, band: usize) -> Vec<FingerprintStep> {
        let digits = ir::fingerprint::HASH_DIGITS;
        let mut steps = vec![
            FingerprintStep::Words {
                pattern: ir::fingerprint::WORD_PATTERN,
            },
            FingerprintStep::HashEach {
                offset: band * digits,
                digits,
            },
            FingerprintStep::Distinct,
            FingerprintStep::Sort,
        ];
        if let Some(count) = self.sketch.rows {
            steps.push(FingerprintStep::First(count));
        }
        steps.push(FingerprintStep::Join {
            separator: ir::fingerprint::SEPARATOR,
        });
        steps.push(FingerprintStep::DropEmpty);
        steps.push(FingerprintStep::Label(BAND_LABELS[band.min(3)]));
        steps
    }

    /// The length filter, when the minimum is above 0.
    pub fn length_step(&self) -> Option<FingerprintStep> {
        (self.min_length > 0).then_some(FingerprintStep::MinLength(self.min_length))
    }

    /// What the key is, in one sentence, for comments in compiled queries.
    pub fn describe(&self) -> String {
        let kept = match self.sketch.rows {
            Some(1) => "the smallest".to_string(),
            Some(count) => format!("the {count} smallest"),
            None => "all".to_string(),
        };
        let length = if self.min_length > 0 {
            format!(" of values of at least {} characters", self.min_length)
        } else {
            String::new()
        };
        let bands = match self.bands() {
            1 => "one band".to_string(),
            count => format!("{count} bands"),
        };
        format!(
            "{bands}, band k keeping {kept} distinct {}-hex-digit slices (from digit 8(k-1)) of the MD5s of the lowercased ASCII words of {}+ characters{length}, sorted, joined by `{}` after `k{}`",
            ir::fingerprint::HASH_DIGITS,
            ir::fingerprint::MIN_WORD,
            ir::fingerprint::SEPARATOR,
            ir::fingerprint::BAND_SEPARATOR,
        )
    }
}

/// Which events a step reads.
#[derive(Debug, Clone)]
pub struct Source {
    /// Accepted event types.
    pub event_types: Vec<String>,
    /// Filter; none means every event of those types.
    pub filter: Option<Pred>,
}

/// A boolean over one event, two-valued: every [`Test`] is false when a
/// field it reads is missing.
#[derive(Debug, Clone)]
pub enum Pred {
    /// All true.
    And(Vec<Pred>),
    /// Any true.
    Or(Vec<Pred>),
    /// Negation.
    Not(Box<Pred>),
    /// The field is present and not null (where `exists` was written).
    Exists(String, Origin),
    /// An atomic test.
    Test(Test),
}

/// An atomic test: true when every field in [`Test::fields`] is present and
/// the test holds (`negated`: does not hold); false when a field is missing.
#[derive(Debug, Clone)]
pub struct Test {
    /// `not in`, `not matches`, `!=`...
    pub negated: bool,
    /// The fields whose presence must be tested: those the test reads, less
    /// the ones every event carries.
    pub guard: Vec<String>,
    /// Where it was written.
    pub origin: Origin,
    /// What is tested.
    pub kind: TestKind,
}

/// The lookup a test's values came from, for row limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupRef {
    /// Lookup name.
    pub name: String,
    /// Its number of rows.
    pub rows: usize,
}

/// What an atomic test tests.
#[derive(Debug, Clone)]
pub enum TestKind {
    /// `field OP constant` on a number or boolean field.
    Compare {
        /// The field.
        field: String,
        /// Its type.
        field_type: ValueType,
        /// The operator, field on the left.
        op: CompareOp,
        /// The constant.
        value: Value,
    },
    /// A string operator against fixed needles.
    Text {
        /// The field.
        field: String,
        /// Its type (a string, or an address tested as text).
        field_type: ValueType,
        /// The operator.
        op: TextOp,
        /// Exact case.
        case_sensitive: bool,
        /// Whitespace runs compare as one space.
        fold_whitespace: bool,
        /// The needles (never empty strings from a lookup).
        needles: Vec<String>,
        /// The lookup they came from.
        lookup: Option<LookupRef>,
    },
    /// A string operator whose needles are the rows of a lookup selected by
    /// the event's own fields.
    Narrowed {
        /// The field.
        field: String,
        /// Its type (a string, or an address tested as text).
        field_type: ValueType,
        /// The operator.
        op: TextOp,
        /// Exact case (also for the key columns).
        case_sensitive: bool,
        /// Whitespace folding of the needles.
        fold_whitespace: bool,
        /// The event fields compared with the key columns.
        keys: Vec<String>,
        /// Per distinct key: its cells, and its needles.
        groups: Vec<(Vec<String>, Vec<String>)>,
        /// The lookup.
        lookup: LookupRef,
    },
    /// Regex search against any of the patterns.
    Regex {
        /// The field.
        field: String,
        /// The patterns.
        patterns: Vec<ir::Regex>,
    },
    /// Membership of a number or boolean in constants.
    Values {
        /// The field.
        field: String,
        /// Its type (a number or a boolean).
        field_type: ValueType,
        /// The constants.
        values: Vec<Value>,
    },
    /// Network membership.
    Cidr {
        /// The field.
        field: String,
        /// Its type.
        field_type: ValueType,
        /// Networks in CIDR notation.
        networks: Vec<String>,
    },
    /// The fields' values are a row of a lookup's columns.
    Rows {
        /// The fields, one per column.
        fields: Vec<String>,
        /// Exact case.
        case_sensitive: bool,
        /// Rows grouped by their first cell: the first cell, and the rest of each row.
        groups: Vec<(String, Vec<Vec<String>>)>,
        /// The lookup.
        lookup: LookupRef,
    },
}

impl Test {
    /// The fields that must be present for the test to be true.
    pub fn fields(&self) -> Vec<String> {
        match &self.kind {
            TestKind::Compare { field, .. }
            | TestKind::Text { field, .. }
            | TestKind::Regex { field, .. }
            | TestKind::Values { field, .. }
            | TestKind::Cidr { field, .. } => vec![field.clone()],
            // The key fields select the rows: a missing key makes the test false.
            TestKind::Narrowed { field, keys, .. } => {
                let mut fields = vec![field.clone()];
                fields.extend(keys.iter().cloned());
                fields
            }
            TestKind::Rows { fields, .. } => fields.clone(),
        }
    }
}

/// Aggregation per group in epoch-aligned buckets.
#[derive(Debug, Clone)]
pub struct Window {
    /// Events read.
    pub source: Source,
    /// Grouping sets; one empty grouping is a single global group.
    pub groupings: Vec<Vec<String>>,
    /// Bucket length in milliseconds.
    pub bucket_ms: i64,
    /// The alert condition.
    pub condition: Condition,
    /// `context`: string fields whose sorted distinct non-null values each
    /// alert carries (one column per field, named as the field).
    pub context: Vec<String>,
}

/// An `alert when` condition with its leaves.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    /// The boolean.
    pub root: Option<Cond>,
    /// Aggregates, one per distinct label.
    pub aggregates: Vec<Aggregate>,
    /// Baselines.
    pub baselines: Vec<Baseline>,
    /// Percentiles.
    pub percentiles: Vec<Percentile>,
    /// The values an alert reports, by label, in the evaluator's order.
    pub reported: Vec<(String, Leaf)>,
}

/// One aggregate per group and bucket.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// Function.
    pub function: AggregateFunction,
    /// Field argument.
    pub field: Option<String>,
    /// Only events passing this count.
    pub filter: Option<Pred>,
    /// The text as written.
    pub label: String,
}

/// The mean of an expression over the group's earlier buckets.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The expression averaged (over aggregates only).
    pub inner: Cond,
    /// The lookback rounded down to whole buckets, in milliseconds.
    pub span_ms: i64,
    /// The expression's value on a bucket without events (counted for
    /// buckets where the group had none), if it has one.
    pub empty: Option<f64>,
    /// The text as written.
    pub label: String,
}

/// A percentile of an expression across the groups of a bucket.
#[derive(Debug, Clone)]
pub struct Percentile {
    /// The expression ranked (over aggregates only).
    pub inner: Cond,
    /// 0..=100.
    pub percentile: f64,
    /// The text as written.
    pub label: String,
}

/// A leaf of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// An aggregate, by index.
    Aggregate(usize),
    /// A baseline, by index.
    Baseline(usize),
    /// A percentile, by index.
    Percentile(usize),
}

/// A condition over leaves and constants. A comparison with a side that has
/// no value is false; arithmetic with such a side, or division by zero, has
/// no value.
#[derive(Debug, Clone)]
pub enum Cond {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// No value (a string constant).
    Missing,
    /// A leaf.
    Leaf(Leaf),
    /// Arithmetic.
    Arithmetic(ArithmeticOp, Box<Cond>, Box<Cond>),
    /// Comparison.
    Compare(CompareOp, Box<Cond>, Box<Cond>),
    /// All.
    And(Vec<Cond>),
    /// Any.
    Or(Vec<Cond>),
    /// Negation.
    Not(Box<Cond>),
}

impl Condition {
    /// Whether `cond` can have no value: a percentile, a baseline, `avg`,
    /// `min` or `max`, a division, or arithmetic on any of those.
    pub fn may_be_missing(&self, cond: &Cond) -> bool {
        match cond {
            Cond::Missing => true,
            Cond::Int(_) | Cond::Float(_) | Cond::Bool(_) => false,
            Cond::Leaf(Leaf::Aggregate(index)) => !matches!(
                self.aggregates[*index].function,
                AggregateFunction::Count | AggregateFunction::Distinct | AggregateFunction::Sum
            ),
            Cond::Leaf(_) => true,
            Cond::Arithmetic(op, left, right) => {
                *op == ArithmeticOp::Divide
                    || self.may_be_missing(left)
                    || self.may_be_missing(right)
            }
            Cond::Compare(..) | Cond::And(_) | Cond::Or(_) | Cond::Not(_) => false,
        }
    }

    /// The value of an expression over aggregates on a bucket without
    /// events (0 for `count`, `distinct` and `sum`; none for the others).
    pub fn empty_value(&self, cond: &Cond) -> Option<f64> {
        match cond {
            Cond::Int(value) => Some(*value as f64),
            Cond::Float(value) => Some(*value),
            Cond::Leaf(Leaf::Aggregate(index)) => match self.aggregates[*index].function {
                AggregateFunction::Count | AggregateFunction::Distinct | AggregateFunction::Sum => {
                    Some(0.0)
                }
                _ => None,
            },
            Cond::Arithmetic(op, left, right) => {
                let (left, right) = (self.empty_value(left)?, self.empty_value(right)?);
                let value = match op {
                    ArithmeticOp::Add => left + right,
                    ArithmeticOp::Subtract => left - right,
                    ArithmeticOp::Multiply => left * right,
                    ArithmeticOp::Divide if right == 0.0 => return None,
                    ArithmeticOp::Divide => left / right,
                };
                value.is_finite().then_some(value)
            }
            _ => None,
        }
    }
}
