//! Aggregates and alert conditions.
//!
//! Input: a compiled [`Condition`] (the `alert when` of a window or cluster
//! rule) and, per group, the [`AggregateState`]s fed with the group's events.
//! Output: each aggregate's value, the condition's truth, and the values
//! reported in an alert (keyed by the IR labels). Aggregates of nothing: `count`,
//! `distinct` and `sum` are 0; `avg`, `min` and `max` have no value. A
//! comparison with a side that has no value is false.

use std::collections::BTreeMap;

use super::event::FilterId;
use super::event::{Event, Scalar};
use super::group::{Interner, ValueSet};
use crate::ir::{AggregateFunction, ArithmeticOp, CompareOp};

/// A number: integers stay integers where the language keeps them so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::Int(value) => value as f64,
            Number::Float(value) => value,
        }
    }

    fn scalar(self) -> Scalar<'static> {
        match self {
            Number::Int(value) => Scalar::Int(value),
            Number::Float(value) => Scalar::Float(value),
        }
    }

    pub(crate) fn to_json(self) -> serde_json::Value {
        match self {
            Number::Int(value) => serde_json::Value::from(value),
            Number::Float(value) => serde_json::Number::from_f64(value)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
        }
    }

    fn less_than(self, other: Number) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a < b,
            (a, b) => a.as_f64() < b.as_f64(),
        }
    }
}

/// One aggregate of a condition.
#[derive(Debug)]
pub(crate) struct AggregateSpec {
    pub(crate) function: AggregateFunction,
    pub(crate) field: Option<u16>,
    pub(crate) filter: Option<FilterId>,
}

/// The running state of one aggregate for one group.
#[derive(Debug, Clone)]
pub(crate) enum AggregateState {
    Count(u64),
    Distinct(ValueSet),
    Sum {
        int: Option<i64>,
        float: f64,
        all_int: bool,
    },
    Avg {
        sum: f64,
        count: u64,
    },
    Min(Option<Number>),
    Max(Option<Number>),
}

impl AggregateState {
    pub(crate) fn new(function: AggregateFunction) -> AggregateState {
        match function {
            AggregateFunction::Count => AggregateState::Count(0),
            AggregateFunction::Distinct => AggregateState::Distinct(ValueSet::default()),
            AggregateFunction::Sum => AggregateState::Sum {
                int: Some(0),
                float: 0.0,
                all_int: true,
            },
            AggregateFunction::Avg => AggregateState::Avg { sum: 0.0, count: 0 },
            AggregateFunction::Min => AggregateState::Min(None),
            AggregateFunction::Max => AggregateState::Max(None),
        }
    }

    /// Back to the state of no event, keeping a set's table.
    pub(crate) fn reset(&mut self) {
        match self {
            AggregateState::Count(count) => *count = 0,
            AggregateState::Distinct(set) => set.clear(),
            AggregateState::Sum {
                int,
                float,
                all_int,
            } => {
                *int = Some(0);
                *float = 0.0;
                *all_int = true;
            }
            AggregateState::Avg { sum, count } => {
                *sum = 0.0;
                *count = 0;
            }
            AggregateState::Min(value) | AggregateState::Max(value) => *value = None,
        }
    }

    /// Adds an event that passed the rule's filter (the aggregate's own filter is applied here).
    pub(crate) fn add(&mut self, spec: &AggregateSpec, event: &Event) {
        if let Some(filter) = spec.filter
            && !event.passed(filter)
        {
            return;
        }
        if let AggregateState::Count(count) = self {
            *count += 1;
            return;
        }
        let Some(value) = spec.field.and_then(|slot| event.scalar(slot)) else {
            return;
        };
        match self {
            AggregateState::Count(_) => {}
            AggregateState::Distinct(set) => {
                set.insert(value);
            }
            AggregateState::Sum {
                int,
                float,
                all_int,
            } => match value {
                Scalar::Int(number) => {
                    *int = int.and_then(|sum| sum.checked_add(number));
                    *float += number as f64;
                }
                Scalar::Float(number) => {
                    *all_int = false;
                    *float += number;
                }
                _ => {}
            },
            AggregateState::Avg { sum, count } => {
                if let Some(number) = value.as_f64() {
                    *sum += number;
                    *count += 1;
                }
            }
            AggregateState::Min(current) => {
                if let Some(number) = number_of(value)
                    && current.is_none_or(|existing| number.less_than(existing))
                {
                    *current = Some(number);
                }
            }
            AggregateState::Max(current) => {
                if let Some(number) = number_of(value)
                    && current.is_none_or(|existing| existing.less_than(number))
                {
                    *current = Some(number);
                }
            }
        }
    }

    /// The aggregate's value.
    pub(crate) fn value(&self) -> Option<Number> {
        match self {
            AggregateState::Count(count) => {
                Some(Number::Int(i64::try_from(*count).unwrap_or(i64::MAX)))
            }
            AggregateState::Distinct(set) => Some(Number::Int(set.len() as i64)),
            AggregateState::Sum {
                int,
                float,
                all_int,
            } => match (all_int, int) {
                (true, Some(sum)) => Some(Number::Int(*sum)),
                _ => Some(Number::Float(*float)),
            },
            AggregateState::Avg { sum, count } => {
                (*count > 0).then(|| Number::Float(sum / *count as f64))
            }
            AggregateState::Min(value) | AggregateState::Max(value) => *value,
        }
    }
}

fn number_of(value: Scalar<'_>) -> Option<Number> {
    match value {
        Scalar::Int(number) => Some(Number::Int(number)),
        Scalar::Float(number) => Some(Number::Float(number)),
        _ => None,
    }
}

/// A condition node.
#[derive(Debug)]
pub(crate) enum Cond {
    Constant(Value),
    Aggregate(usize),
    Baseline(usize),
    Percentile(usize),
    Arithmetic(ArithmeticOp, Box<Cond>, Box<Cond>),
    Compare(CompareOp, Box<Cond>, Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

/// The value of a condition node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    None,
    Number(Number),
    Bool(bool),
}

/// `baseline(inner, lookback)`.
#[derive(Debug)]
pub(crate) struct BaselineSpec {
    pub(crate) inner: Cond,
    pub(crate) lookback: i64,
}

/// `percentile(inner, p)`.
#[derive(Debug)]
pub(crate) struct PercentileSpec {
    pub(crate) inner: Cond,
    pub(crate) percentile: f64,
}

/// A leaf reported in an alert's `values`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Leaf {
    Aggregate(usize),
    Baseline(usize),
    Percentile(usize),
}

/// A compiled `alert when`.
#[derive(Debug)]
pub(crate) struct Condition {
    pub(crate) root: Cond,
    pub(crate) aggregates: Vec<AggregateSpec>,
    pub(crate) baselines: Vec<BaselineSpec>,
    pub(crate) percentiles: Vec<PercentileSpec>,
    /// The labelled leaves outside baselines and percentiles, in first-seen order, deduplicated by label.
    pub(crate) reported: Vec<(String, Leaf)>,
}

/// The computed leaves of one group.
#[derive(Debug, Default)]
pub(crate) struct Leaves {
    pub(crate) aggregates: Vec<Option<Number>>,
    pub(crate) baselines: Vec<Option<f64>>,
    pub(crate) percentiles: Vec<Option<f64>>,
}

impl Condition {
    /// Fresh aggregate states for a new group.
    pub(crate) fn new_states(&self) -> Vec<AggregateState> {
        self.aggregates
            .iter()
            .map(|spec| AggregateState::new(spec.function))
            .collect()
    }

    /// Feeds one event to a group's states.
    pub(crate) fn add(&self, states: &mut [AggregateState], event: &Event) {
        for (state, spec) in states.iter_mut().zip(&self.aggregates) {
            state.add(spec, event);
        }
    }

    /// Adds an event to the groups in `slots` of `groups` (`aggregates`
    /// reads a group's states): what [`Self::add`] does for each, with
    /// the aggregate filters tested once and each `distinct` value numbered
    /// once by `interner` (the sets then hold numbers, see
    /// [`ValueSet::insert_id`]).
    pub(crate) fn add_to_groups<G>(
        &self,
        groups: &mut [G],
        slots: &[u32],
        aggregates: impl Fn(&mut G) -> &mut [AggregateState],
        event: &Event,
        interner: &mut Interner,
    ) {
        for (index, spec) in self.aggregates.iter().enumerate() {
            if let Some(filter) = spec.filter
                && !event.passed(filter)
            {
                continue;
            }
            if spec.function == AggregateFunction::Distinct {
                let Some(value) = spec.field.and_then(|slot| event.scalar(slot)) else {
                    continue;
                };
                let id = interner.id(value);
                for slot in slots {
                    if let AggregateState::Distinct(set) =
                        &mut aggregates(&mut groups[*slot as usize])[index]
                    {
                        set.insert_id(id);
                    }
                }
                continue;
            }
            for slot in slots {
                aggregates(&mut groups[*slot as usize])[index].add(spec, event);
            }
        }
    }

    /// The values of the aggregates of a group.
    pub(crate) fn aggregate_values(states: &[AggregateState]) -> Vec<Option<Number>> {
        states.iter().map(AggregateState::value).collect()
    }

    /// [`Self::aggregate_values`] into a reused buffer.
    pub(crate) fn aggregate_values_into(states: &[AggregateState], out: &mut Vec<Option<Number>>) {
        out.clear();
        out.extend(states.iter().map(AggregateState::value));
    }

    /// The value of an inner expression (of a baseline or percentile) on a group's aggregates.
    pub(crate) fn inner_value(inner: &Cond, aggregates: &[Option<Number>]) -> Option<f64> {
        let leaves = Leaves {
            aggregates: aggregates.to_vec(),
            ..Leaves::default()
        };
        Condition::number(inner, &leaves)
    }

    /// The value of a numeric expression over a group's leaves (a dashboard
    /// panel's measure); none when it has no value or is not finite.
    pub(crate) fn number(expr: &Cond, leaves: &Leaves) -> Option<f64> {
        match evaluate(expr, leaves) {
            Value::Number(number) => Some(number.as_f64()).filter(|value| value.is_finite()),
            _ => None,
        }
    }

    /// The aggregates' values on no events (for empty baseline windows).
    pub(crate) fn empty_aggregates(&self) -> Vec<Option<Number>> {
        Condition::aggregate_values(&self.new_states())
    }

    /// Whether the condition holds.
    pub(crate) fn holds(&self, leaves: &Leaves) -> bool {
        evaluate(&self.root, leaves) == Value::Bool(true)
    }

    /// The reported values, keyed by label.
    pub(crate) fn report(&self, leaves: &Leaves) -> BTreeMap<String, serde_json::Value> {
        let float = |value: Option<f64>| {
            value.map_or(serde_json::Value::Null, |value| {
                Number::Float(value).to_json()
            })
        };
        self.reported
            .iter()
            .map(|(label, leaf)| {
                let value = match leaf {
                    Leaf::Aggregate(index) => leaves
                        .aggregates
                        .get(*index)
                        .copied()
                        .flatten()
                        .map_or(serde_json::Value::Null, Number::to_json),
                    Leaf::Baseline(index) => float(leaves.baselines.get(*index).copied().flatten()),
                    Leaf::Percentile(index) => {
                        float(leaves.percentiles.get(*index).copied().flatten())
                    }
                };
                (label.clone(), value)
            })
            .collect()
    }
}

fn evaluate(cond: &Cond, leaves: &Leaves) -> Value {
    let number = |value: Option<Number>| value.map_or(Value::None, Value::Number);
    let float =
        |value: Option<f64>| value.map_or(Value::None, |value| Value::Number(Number::Float(value)));
    match cond {
        Cond::Constant(value) => *value,
        Cond::Aggregate(index) => number(leaves.aggregates.get(*index).copied().flatten()),
        Cond::Baseline(index) => float(leaves.baselines.get(*index).copied().flatten()),
        Cond::Percentile(index) => float(leaves.percentiles.get(*index).copied().flatten()),
        Cond::Arithmetic(op, left, right) => {
            match (evaluate(left, leaves), evaluate(right, leaves)) {
                // Arithmetic in conditions is over doubles, as in every
                // SIEM's and SQL engine's aggregates; no integer overflow.
                (Value::Number(left), Value::Number(right)) => {
                    let (left, right) =
                        (Scalar::Float(left.as_f64()), Scalar::Float(right.as_f64()));
                    match super::expr::arithmetic(*op, left, right) {
                        Some(Scalar::Float(value)) => Value::Number(Number::Float(value)),
                        _ => Value::None,
                    }
                }
                _ => Value::None,
            }
        }
        Cond::Compare(op, left, right) => {
            let scalar = |value: Value| match value {
                Value::Number(number) => Some(number.scalar()),
                Value::Bool(value) => Some(Scalar::Bool(value)),
                Value::None => None,
            };
            match (
                scalar(evaluate(left, leaves)),
                scalar(evaluate(right, leaves)),
            ) {
                (Some(left), Some(right)) => Value::Bool(super::expr::compare(*op, left, right)),
                _ => Value::Bool(false),
            }
        }
        Cond::And(operands) => Value::Bool(
            operands
                .iter()
                .all(|operand| evaluate(operand, leaves) == Value::Bool(true)),
        ),
        Cond::Or(operands) => Value::Bool(
            operands
                .iter()
                .any(|operand| evaluate(operand, leaves) == Value::Bool(true)),
        ),
        Cond::Not(operand) => Value::Bool(evaluate(operand, leaves) != Value::Bool(true)),
    }
}

/// The `p`-th percentile of `values` by linear interpolation between closest
/// ranks (rank `(N - 1) * p / 100` over the ascending values, NumPy's default).
pub(crate) fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() - 1) as f64 * p.clamp(0.0, 100.0) / 100.0).floor() as usize;
    values.get(rank.min(values.len() - 1)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_the_value_at_an_exact_rank() {
        // Rank floor((4 - 1) * 0.5) = 1 of [1, 2, 3, 4]: 2, not the interpolated 2.5.
        assert_eq!(percentile(&mut [1.0, 2.0, 3.0, 4.0], 50.0), Some(2.0));
        assert_eq!(percentile(&mut [5.0], 99.0), Some(5.0));
        // Rank floor(99 * 0.99) = 98 of ninety-nine 1s and one 10: 1 (NumPy's interpolation gives 1.09).
        let mut values: Vec<f64> = std::iter::repeat_n(1.0, 99).chain([10.0]).collect();
        assert_eq!(percentile(&mut values, 99.0), Some(1.0));
        assert_eq!(percentile(&mut [], 99.0), None);
        assert_eq!(percentile(&mut [3.0, 1.0, 2.0], 100.0), Some(3.0));
        assert_eq!(percentile(&mut [3.0, 1.0, 2.0], 0.0), Some(1.0));
    }

    #[test]
    fn empty_aggregates_follow_the_language() {
        assert_eq!(
            AggregateState::new(AggregateFunction::Count).value(),
            Some(Number::Int(0))
        );
        assert_eq!(
            AggregateState::new(AggregateFunction::Sum).value(),
            Some(Number::Int(0))
        );
        assert_eq!(
            AggregateState::new(AggregateFunction::Distinct).value(),
            Some(Number::Int(0))
        );
        assert_eq!(AggregateState::new(AggregateFunction::Avg).value(), None);
        assert_eq!(AggregateState::new(AggregateFunction::Min).value(), None);
        assert_eq!(AggregateState::new(AggregateFunction::Max).value(), None);
    }
}
