//! The window shape: threshold, baseline and percentile rules.
//!
//! Input: the events that passed a window rule's filter, in time order, and
//! the watermark. Output: one [`Raised`] per group and window where the
//! condition holds, raised at the window's end.
//!
//! State: events are processed in time order, so a rule has at most one open
//! window, the epoch-aligned tumbling window of the latest event (an event at
//! a window's end belongs to the next window). Per grouping set, the open
//! window holds one [`GroupState`] per group (aggregate states and evidence);
//! it is dropped when the window closes (the watermark reaches its end, or the
//! input ends). Rules with `baseline(...)` also keep, per group, the value of
//! each baseline's inner expression for each closed window in which the group
//! had events, within the longest lookback: a few numbers per window, never
//! events; a group's history is dropped once all of it is older than the lookback.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::condition::{Condition, Leaves, Number, percentile};
use super::event::Event;
use super::group::{GroupKey, KeyBuf, KeyMap};
use super::state::{Context, Evidence, Raised, group_object};
use super::time::window_start;

/// One grouping set: the key fields and their names.
#[derive(Debug, Clone)]
pub(crate) struct Grouping {
    pub(crate) slots: Vec<u16>,
    pub(crate) names: Vec<String>,
}

/// A group's state in the open window.
#[derive(Debug)]
pub(crate) struct GroupState {
    pub(crate) aggregates: Vec<super::condition::AggregateState>,
    pub(crate) evidence: Evidence,
    /// Per `context` field, its distinct values seen in the window.
    pub(crate) context: Vec<BTreeSet<Box<str>>>,
}

impl GroupState {
    /// Empties the state for reuse by a new group whose first event is at `time`.
    pub(crate) fn reset(&mut self, time: i64) {
        self.aggregates
            .iter_mut()
            .for_each(super::condition::AggregateState::reset);
        self.evidence.reset(time);
        self.context.iter_mut().for_each(BTreeSet::clear);
    }
}

/// Baseline history of one group: `(window start, inner value per baseline)`, oldest first.
type History = VecDeque<(i64, Box<[Option<f64>]>)>;

/// The value of baseline `leaf` for the window of `length` starting at
/// `start`, over a group's `history` (`(window start, inner value per
/// baseline)` of the windows in which it had events, in any order), and the
/// first window it averaged from.
///
/// The mean runs over the group's windows from its first window inside the
/// lookback (rounded down to whole windows) up to `start`, exclusive:
/// windows without events count at the expression's `empty` value (when it
/// has one), windows where it has no value are skipped, and with no window
/// inside the lookback there is no baseline. Rules and dashboard panels
/// share it.
pub(crate) fn baseline_mean<'h>(
    history: impl Iterator<Item = &'h (i64, Box<[Option<f64>]>)> + Clone,
    leaf: usize,
    start: i64,
    lookback: i64,
    length: i64,
    empty: Option<f64>,
) -> (Option<f64>, Option<i64>) {
    let length = length.max(1);
    let span = lookback / length * length;
    let inside =
        history.filter(|(window, _)| *window >= start.saturating_sub(span) && *window < start);
    let Some(first) = inside.clone().map(|(window, _)| *window).min() else {
        return (None, None);
    };
    let windows = (start - first) / length;
    let (mut sum, mut counted, mut stored) = (0.0, 0i64, 0i64);
    for (_, inner) in inside {
        stored += 1;
        if let Some(value) = inner.get(leaf).copied().flatten() {
            sum += value;
            counted += 1;
        }
    }
    if let Some(empty) = empty {
        let empties = windows - stored;
        sum += empty * empties as f64;
        counted += empties;
    }
    ((counted > 0).then(|| sum / counted as f64), Some(first))
}

/// A window rule's compiled form and state.
#[derive(Debug)]
pub(crate) struct WindowShape {
    groupings: Vec<Grouping>,
    length: i64,
    condition: Condition,
    /// `context` fields: name and slot.
    context: Vec<(String, u16)>,
    current: Option<i64>,
    groups: Vec<KeyMap<GroupState>>,
    history: Vec<KeyMap<History>>,
    empty_baselines: Vec<Option<f64>>,
    max_lookback: i64,
    next_sweep: i64,
}

impl WindowShape {
    pub(crate) fn new(
        groupings: Vec<Grouping>,
        length: i64,
        condition: Condition,
        context: Vec<(String, u16)>,
    ) -> WindowShape {
        let empty = condition.empty_aggregates();
        let empty_baselines = condition
            .baselines
            .iter()
            .map(|spec| Condition::inner_value(&spec.inner, &empty))
            .collect();
        let max_lookback = condition
            .baselines
            .iter()
            .map(|spec| spec.lookback)
            .max()
            .unwrap_or(0);
        let count = groupings.len();
        WindowShape {
            groupings,
            length: length.max(1),
            condition,
            context,
            current: None,
            groups: (0..count).map(|_| KeyMap::default()).collect(),
            history: (0..count).map(|_| KeyMap::default()).collect(),
            empty_baselines,
            max_lookback,
            next_sweep: i64::MIN,
        }
    }

    /// Whether the rule learns (has a baseline) and so keeps quiet during the learning period.
    pub(crate) fn learns(&self) -> bool {
        !self.condition.baselines.is_empty()
    }

    /// When the open window closes.
    pub(crate) fn deadline(&self) -> i64 {
        let close = self
            .current
            .map_or(i64::MAX, |start| start.saturating_add(self.length));
        if self.history.iter().any(|history| !history.is_empty()) {
            close.min(self.next_sweep)
        } else {
            close
        }
    }

    /// Drops baseline history that no later window's lookback reaches.
    fn sweep(&mut self, now: i64) {
        let horizon = window_start(now, self.length).saturating_sub(self.max_lookback);
        for history in &mut self.history {
            history.retain(|_, windows| {
                while windows.front().is_some_and(|(window, _)| *window < horizon) {
                    windows.pop_front();
                }
                !windows.is_empty()
            });
        }
        self.next_sweep = now.saturating_add((self.max_lookback / 4).max(self.length));
    }

    /// Number of live groups and baseline histories.
    pub(crate) fn live_state(&self) -> usize {
        self.groups.iter().map(KeyMap::len).sum::<usize>()
            + self.history.iter().map(KeyMap::len).sum::<usize>()
    }

    /// Closes the open window if the watermark has reached its end.
    pub(crate) fn advance(&mut self, now: i64, context: &Context<'_>, out: &mut Vec<Raised>) {
        if let Some(start) = self.current
            && start.saturating_add(self.length) <= now
        {
            self.close(start, context, out);
            self.current = None;
        }
        if self.learns() && now >= self.next_sweep {
            self.sweep(now);
        }
    }

    /// Closes the open window at the end of input.
    pub(crate) fn finish(&mut self, context: &Context<'_>, out: &mut Vec<Raised>) {
        if let Some(start) = self.current.take() {
            self.close(start, context, out);
        }
    }

    /// Adds an event that passed the rule's filter.
    pub(crate) fn observe(&mut self, event: &Event, context: &Context<'_>, out: &mut Vec<Raised>) {
        let start = window_start(event.time, self.length);
        match self.current {
            Some(current) if current == start => {}
            Some(current) => {
                // The engine closes windows before dispatching; this keeps the shape correct on its own.
                self.close(current, context, out);
                self.current = Some(start);
            }
            None => self.current = Some(start),
        }
        let mut key = KeyBuf::new();
        for (index, grouping) in self.groupings.iter().enumerate() {
            if !key.fill(event, &grouping.slots) {
                continue;
            }
            let condition = &self.condition;
            let fields = self.context.len();
            let state = self.groups[index].entry(key.as_slice(), || GroupState {
                aggregates: condition.new_states(),
                evidence: Evidence::new(event.time),
                context: vec![BTreeSet::new(); fields],
            });
            condition.add(&mut state.aggregates, event);
            state.evidence.add_event(event, context);
            for ((_, slot), seen) in self.context.iter().zip(&mut state.context) {
                if let Some(text) = event.text(*slot)
                    && !seen.contains(text)
                {
                    seen.insert(text.into());
                }
            }
        }
    }

    /// Closes the window: evaluates every group, raises those whose condition
    /// holds, and empties the groups (keeping the tables for the next window).
    ///
    /// Groups are evaluated in table order (each group's result, and its
    /// baseline history, depend on that group alone; percentiles on all of
    /// them), and only the raised ones are sorted by key, which is the order
    /// they are raised in.
    fn close(&mut self, start: i64, context: &Context<'_>, out: &mut Vec<Raised>) {
        let end = start.saturating_add(self.length);
        let mut raised: Vec<(GroupKey, Raised)> = Vec::new();
        for index in 0..self.groupings.len() {
            let mut groups = std::mem::take(&mut self.groups[index]);
            let evaluated: Vec<(GroupKey, GroupState, Vec<Option<Number>>)> = groups
                .drain()
                .map(|(key, state)| {
                    let values = Condition::aggregate_values(&state.aggregates);
                    (key, state, values)
                })
                .collect();
            self.groups[index] = groups;
            let percentiles: Vec<Option<f64>> = self
                .condition
                .percentiles
                .iter()
                .map(|spec| {
                    let mut values: Vec<f64> = evaluated
                        .iter()
                        .filter_map(|(_, _, values)| Condition::inner_value(&spec.inner, values))
                        .collect();
                    percentile(&mut values, spec.percentile)
                })
                .collect();
            for (key, state, values) in evaluated {
                let (baselines, depth) = if self.learns() {
                    self.baselines(index, &key, start, &values)
                } else {
                    (Vec::new(), 0)
                };
                let leaves = Leaves {
                    aggregates: values,
                    baselines,
                    percentiles: percentiles.clone(),
                };
                // A group alerts once its own history reaches back the learning period.
                let learning = self.learns() && depth < context.learn_ms;
                if !learning && self.condition.holds(&leaves) {
                    let alert = Raised {
                        time: end,
                        group: group_object(&self.groupings[index].names, &key),
                        evidence: state.evidence,
                        values: self.condition.report(&leaves),
                        context: self
                            .context
                            .iter()
                            .zip(state.context)
                            .map(|((name, _), seen)| {
                                (name.clone(), seen.into_iter().map(String::from).collect())
                            })
                            .collect::<BTreeMap<_, _>>(),
                    };
                    raised.push((key, alert));
                }
            }
            raised.sort_by(|left, right| left.0.cmp(&right.0));
            out.extend(raised.drain(..).map(|(_, alert)| alert));
        }
    }

    /// The baselines of a group for the window starting at `start`, and how
    /// far back its history inside the longest lookback reaches; then records
    /// this window's inner values in the group's history.
    ///
    /// A baseline averages the group's windows from its first window inside
    /// the lookback up to `start`: windows without events count at the
    /// expression's empty value, windows where it has no value are skipped,
    /// and with no window inside the lookback there is no baseline.
    fn baselines(
        &mut self,
        grouping: usize,
        key: &GroupKey,
        start: i64,
        values: &[Option<Number>],
    ) -> (Vec<Option<f64>>, i64) {
        let history = self.history[grouping].get_owned(key);
        let mut result = Vec::with_capacity(self.condition.baselines.len());
        let mut depth = 0;
        for (leaf, spec) in self.condition.baselines.iter().enumerate() {
            let (value, first) = baseline_mean(
                history.into_iter().flatten(),
                leaf,
                start,
                spec.lookback,
                self.length,
                self.empty_baselines[leaf],
            );
            if let Some(first) = first {
                depth = depth.max(start - first);
            }
            result.push(value);
        }
        let inner: Box<[Option<f64>]> = self
            .condition
            .baselines
            .iter()
            .map(|spec| Condition::inner_value(&spec.inner, values))
            .collect();
        let horizon = start
            .saturating_add(self.length)
            .saturating_sub(self.max_lookback);
        let windows = self.history[grouping].entry_owned(key, VecDeque::new);
        while windows.front().is_some_and(|(window, _)| *window < horizon) {
            windows.pop_front();
        }
        windows.push_back((start, inner));
        (result, depth)
    }
}
