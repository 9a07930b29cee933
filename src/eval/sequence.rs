//! The sequence shape: ordered steps sharing a key within a span.
//!
//! Input: events of the types any step reads, in time order. Output: one
//! [`Raised`] per completed sequence, at the completing event's time.
//!
//! The steps with their repeats are flattened into slots (`A repeat >= 3, B`
//! is `A A A B`). A partial match that has filled slots `0..=j` is kept per
//! slot and key; a new event can fill slot `j + 1` of a partial at slot `j`
//! when it matches that slot's step, when it is strictly later than the
//! partial's last event if the step changes (same-step repeats may share a
//! timestamp), and when it lies at most `within` after the partial's first
//! event. Of all partials at one slot, only two can matter: among those whose
//! last event is earlier than the current timestamp, the one that started
//! latest (every future event is strictly later than all of them, so the
//! latest start dominates); and likewise among those whose last event is at the
//! current timestamp. Keeping those two per slot decides exactly whether some
//! assignment of events to steps completes the sequence, with no search. Slots
//! are updated from the last to the first so that one event fills one slot of a
//! partial. Completion raises the alert (with the latest-starting match's
//! events) and clears the key's partials.
//!
//! State: per key, two partials per slot; a partial whose first event is more
//! than `within` before the watermark is dropped, and a key with none left is
//! dropped, by a sweep every `within` of event time.

use super::event::Event;
use super::event::FilterId;
use super::group::{KeyBuf, KeyMap};
use super::state::{Context, Evidence, Raised, group_object};

/// A compiled step.
#[derive(Debug)]
pub(crate) struct StepPlan {
    pub(crate) event_types: Vec<u32>,
    pub(crate) filter: Option<FilterId>,
    pub(crate) repeat: u32,
}

#[derive(Debug, Clone)]
struct Partial {
    start: i64,
    last: i64,
    events: Vec<(i64, Box<str>)>,
}

#[derive(Debug)]
struct KeyState {
    /// The timestamp of the latest event seen for the key.
    time: i64,
    /// Per slot: `[last event earlier than time, last event at time]`.
    slots: Vec<[Option<Partial>; 2]>,
}

/// A sequence rule's compiled form and state.
#[derive(Debug)]
pub(crate) struct SequenceShape {
    key_slots: Vec<u16>,
    key_names: Vec<String>,
    within: i64,
    steps: Vec<StepPlan>,
    /// The step of each slot.
    slot_steps: Vec<usize>,
    keys: KeyMap<KeyState>,
    next_sweep: i64,
}

fn better(candidate: &Option<Partial>, current: &Option<Partial>) -> bool {
    match (candidate, current) {
        (Some(candidate), Some(current)) => candidate.start >= current.start,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

impl SequenceShape {
    pub(crate) fn new(
        key_slots: Vec<u16>,
        key_names: Vec<String>,
        within: i64,
        steps: Vec<StepPlan>,
    ) -> SequenceShape {
        let slot_steps = steps
            .iter()
            .enumerate()
            .flat_map(|(index, step)| std::iter::repeat_n(index, step.repeat.max(1) as usize))
            .collect();
        SequenceShape {
            key_slots,
            key_names,
            within: within.max(0),
            steps,
            slot_steps,
            keys: KeyMap::default(),
            next_sweep: i64::MIN,
        }
    }

    /// When the next sweep of expired partials is due.
    pub(crate) fn deadline(&self) -> i64 {
        if self.keys.is_empty() {
            i64::MAX
        } else {
            self.next_sweep
        }
    }

    /// Number of keys with live partials.
    pub(crate) fn live_state(&self) -> usize {
        self.keys.len()
    }

    /// Drops expired partials and keys.
    pub(crate) fn advance(&mut self, now: i64) {
        if now < self.next_sweep {
            return;
        }
        let horizon = now.saturating_sub(self.within);
        self.keys.retain(|_, state| {
            let mut alive = false;
            for slot in &mut state.slots {
                for partial in slot.iter_mut() {
                    if partial
                        .as_ref()
                        .is_some_and(|partial| partial.start < horizon)
                    {
                        *partial = None;
                    }
                    alive |= partial.is_some();
                }
            }
            alive
        });
        self.next_sweep = now.saturating_add(self.within.max(60_000));
    }

    /// Feeds an event of one of the steps' types.
    pub(crate) fn observe(&mut self, event: &Event, context: &Context<'_>, out: &mut Vec<Raised>) {
        let Some(event_type) = event.event_type else {
            return;
        };
        // Which steps accept the event (the compiler allows at most 64 steps).
        let mut matches = 0u64;
        for (index, step) in self.steps.iter().enumerate().take(64) {
            if step.event_types.contains(&event_type)
                && step.filter.is_none_or(|filter| event.passed(filter))
            {
                matches |= 1 << index;
            }
        }
        if matches == 0 {
            return;
        }
        let mut key_buffer = KeyBuf::new();
        if !key_buffer.fill(event, &self.key_slots) {
            return;
        }
        let key = key_buffer.as_slice();
        if self.next_sweep == i64::MIN {
            self.next_sweep = event.time.saturating_add(self.within.max(60_000));
        }
        let time = event.time;
        let slot_count = self.slot_steps.len();
        let state = self.keys.entry(key, || KeyState {
            time,
            slots: vec![[None, None]; slot_count],
        });
        if time > state.time {
            for slot in &mut state.slots {
                let [earlier, at_time] = slot;
                if better(at_time, earlier) {
                    *earlier = at_time.take();
                }
                *at_time = None;
            }
            state.time = time;
        }
        let horizon = time.saturating_sub(self.within);
        let mut id: Option<Box<str>> = None;
        for slot in (0..slot_count).rev() {
            let step = self.slot_steps[slot];
            if matches & (1 << step) == 0 {
                continue;
            }
            let candidate = if slot == 0 {
                Some(Partial {
                    start: time,
                    last: time,
                    events: Vec::new(),
                })
            } else {
                let [earlier, at_time] = &state.slots[slot - 1];
                let same_step = self.slot_steps[slot - 1] == step;
                let mut best: Option<&Partial> =
                    earlier.as_ref().filter(|partial| partial.last < time);
                if same_step
                    && let Some(partial) = at_time
                    && best.is_none_or(|current| partial.start >= current.start)
                {
                    best = Some(partial);
                }
                best.filter(|partial| partial.start >= horizon).cloned()
            };
            let Some(mut partial) = candidate else {
                continue;
            };
            let id = id
                .get_or_insert_with(|| context.id(event).into_boxed_str())
                .clone();
            partial.events.push((time, id));
            partial.last = time;
            if slot + 1 == slot_count {
                let mut evidence = Evidence::new(partial.start);
                for (time, id) in partial.events {
                    evidence.add(time, || id.into_string(), context);
                }
                let owned: Vec<_> = key
                    .iter()
                    .map(|value| super::group::KeyValue::from_scalar(*value))
                    .collect();
                out.push(Raised {
                    time,
                    group: group_object(&self.key_names, &owned.into_boxed_slice()),
                    evidence,
                    values: Default::default(),
                });
                for slot in &mut state.slots {
                    *slot = [None, None];
                }
                return;
            }
            let target = &mut state.slots[slot][1];
            let candidate = Some(partial);
            if better(&candidate, target) {
                *target = candidate;
            }
        }
    }
}
