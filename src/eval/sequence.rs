//! The sequence shape: ordered steps sharing a key within a span.
//!
//! Input: events of the types any step reads, in processing order (time,
//! then `event_id`, see [`super::event::processing_order`]). Output: one
//! [`Raised`] per completed sequence, at the completing event's time.
//!
//! The rule is Elasticsearch's EQL sequence state machine (see "How sequence
//! queries handle matches" in
//! <https://www.elastic.co/docs/reference/query-languages/eql/eql-syntax#eql-how-sequence-queries-handle-matches>,
//! and `with runs` in
//! <https://www.elastic.co/docs/reference/query-languages/eql/eql-syntax#eql-with-runs-statement>):
//!
//! - the steps with their repeats are flattened into slots (`A repeat >= 3, B`
//!   is `A A A B`, as `[A] with runs=3 [B]` is three copies of `[A]`);
//! - per key, each slot holds at most one pending match: the one whose last
//!   event filled that slot most recently (a newer one overwrites it);
//! - an event that matches slot 0's step starts a new pending match there;
//! - an event that matches the step of slot k > 0 takes the pending match of
//!   slot k − 1 (leaving slot k − 1 empty) and, when the span from that
//!   match's first event to this event is at most `within` (EQL's inclusive
//!   `maxspan`), moves it into slot k; otherwise the match is dropped;
//! - filling the last slot completes the sequence: one alert, with the
//!   match's events. Other pending matches of the key are untouched, so a
//!   later event can complete another sequence with them.
//!
//! One event is offered to the slots from the last to the first, so that it
//! moves a pending match at most one slot (a match is only ever advanced by a
//! later event, as EQL only advances a match with an event of a higher
//! ordinal). Events that match no step do not interrupt anything.
//!
//! State: per key, one optional pending match per slot, each with its first
//! time, event count and at most `max_event_ids` ids; so a key costs
//! O(slots × min(slots, max_event_ids)). A pending match whose first event is
//! more than `within` before the watermark can never advance (advancing it
//! would drop it), so a sweep every `within` of event time drops such matches,
//! and keys with none left.

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

/// A key's pending matches, one per slot.
#[derive(Debug)]
struct KeyState {
    slots: Box<[Option<Evidence>]>,
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

    /// When the next sweep of expired matches is due.
    pub(crate) fn deadline(&self) -> i64 {
        if self.keys.is_empty() {
            i64::MAX
        } else {
            self.next_sweep
        }
    }

    /// Number of keys with pending matches.
    pub(crate) fn live_state(&self) -> usize {
        self.keys.len()
    }

    /// Drops pending matches that can no longer advance, and keys without any.
    pub(crate) fn advance(&mut self, now: i64) {
        if now < self.next_sweep {
            return;
        }
        let horizon = now.saturating_sub(self.within);
        self.keys.retain(|_, state| {
            let mut alive = false;
            for slot in state.slots.iter_mut() {
                if slot.as_ref().is_some_and(|pending| pending.first < horizon) {
                    *slot = None;
                }
                alive |= slot.is_some();
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
            slots: (0..slot_count).map(|_| None).collect(),
        });
        for slot in (0..slot_count).rev() {
            if matches & (1 << self.slot_steps[slot]) == 0 {
                continue;
            }
            let pending = if slot == 0 {
                Some(Evidence::new(time))
            } else {
                // The previous slot's match is taken whether or not it fits
                // the span: one that does not is dropped, as in EQL.
                state.slots[slot - 1]
                    .take()
                    .filter(|pending| time.saturating_sub(pending.first) <= self.within)
            };
            let Some(mut pending) = pending else {
                continue;
            };
            pending.add_event(event, context);
            if slot + 1 == slot_count {
                let owned: Vec<_> = key
                    .iter()
                    .map(|value| super::group::KeyValue::from_scalar(*value))
                    .collect();
                out.push(Raised {
                    time,
                    group: group_object(&self.key_names, &owned.into_boxed_slice()),
                    evidence: pending,
                    values: Default::default(),
                    context: Default::default(),
                });
            } else {
                state.slots[slot] = Some(pending);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_flatten_repeats() {
        let step = |repeat| StepPlan {
            event_types: vec![0],
            filter: None,
            repeat,
        };
        let shape = SequenceShape::new(vec![], vec![], 10, vec![step(3), step(1), step(2)]);
        assert_eq!(shape.slot_steps, [0, 0, 0, 1, 2, 2]);
    }
}
