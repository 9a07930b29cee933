//! The new-value shape: a value never seen for its key within the lookback.
//!
//! Input: the events that passed a new-value rule's filter, in time order.
//! Output: one [`Raised`] per event whose value combination was not seen for
//! its key in the lookback, at the event's time.
//!
//! Rules: events missing a key or value field are ignored. Every other event
//! updates the history. A value is new when the key's history has no sighting
//! of it at most `lookback` before the event. A key with no sighting at all
//! within the lookback takes the value as its baseline (the first value ever
//! seen, or the first after a silence longer than the lookback, which is all a
//! SIEM's lookback can see): no alert. No alert during the learning period.
//!
//! State: per key, the time each value was last seen; sightings older than the
//! lookback are dropped, and keys with none left, by a sweep every eighth of
//! the lookback (at least a minute) of event time.

use super::event::Event;
use super::group::{KeyBuf, KeyMap, KeyValue};
use super::state::{Context, Evidence, Raised};

#[derive(Debug, Default)]
struct KeyHistory {
    latest: i64,
    values: KeyMap<i64>,
}

/// A new-value rule's compiled form and state.
#[derive(Debug)]
pub(crate) struct NewValueShape {
    key_slots: Vec<u16>,
    key_names: Vec<String>,
    value_slots: Vec<u16>,
    value_names: Vec<String>,
    lookback: i64,
    keys: KeyMap<KeyHistory>,
    next_sweep: i64,
}

impl NewValueShape {
    pub(crate) fn new(
        key_slots: Vec<u16>,
        key_names: Vec<String>,
        value_slots: Vec<u16>,
        value_names: Vec<String>,
        lookback: i64,
    ) -> NewValueShape {
        NewValueShape {
            key_slots,
            key_names,
            value_slots,
            value_names,
            lookback: lookback.max(0),
            keys: KeyMap::default(),
            next_sweep: i64::MIN,
        }
    }

    fn sweep_interval(&self) -> i64 {
        (self.lookback / 8).max(60_000)
    }

    /// When the next sweep is due.
    pub(crate) fn deadline(&self) -> i64 {
        if self.keys.is_empty() {
            i64::MAX
        } else {
            self.next_sweep
        }
    }

    /// Number of (key, value) sightings held.
    pub(crate) fn live_state(&self) -> usize {
        self.keys
            .iter()
            .map(|(_, history)| history.values.len())
            .sum()
    }

    /// Drops sightings older than the lookback.
    pub(crate) fn advance(&mut self, now: i64) {
        if now < self.next_sweep {
            return;
        }
        let horizon = now.saturating_sub(self.lookback);
        self.keys.retain(|_, history| {
            history.values.retain(|_, seen| *seen >= horizon);
            !history.values.is_empty()
        });
        self.next_sweep = now.saturating_add(self.sweep_interval());
    }

    /// Feeds an event that passed the rule's filter.
    pub(crate) fn observe(&mut self, event: &Event, context: &Context<'_>, out: &mut Vec<Raised>) {
        let (mut key, mut value) = (KeyBuf::new(), KeyBuf::new());
        if !key.fill(event, &self.key_slots) || !value.fill(event, &self.value_slots) {
            return;
        }
        let (key, value) = (key.as_slice(), value.as_slice());
        if self.next_sweep == i64::MIN {
            self.next_sweep = event.time.saturating_add(self.sweep_interval());
        }
        let time = event.time;
        let horizon = time.saturating_sub(self.lookback);
        let history = self.keys.entry(key, || KeyHistory {
            latest: i64::MIN,
            values: KeyMap::default(),
        });
        let has_history = history.latest >= horizon;
        let seen = history.values.entry(value, || i64::MIN);
        let is_new = *seen < horizon;
        *seen = time;
        history.latest = time;
        if is_new && has_history && time >= context.learn_end {
            let mut group = std::collections::BTreeMap::new();
            for (name, scalar) in self
                .key_names
                .iter()
                .zip(key)
                .chain(self.value_names.iter().zip(value))
            {
                group.insert(name.clone(), KeyValue::from_scalar(*scalar).to_json());
            }
            let mut evidence = Evidence::new(time);
            evidence.add_event(event, context);
            out.push(Raised {
                time,
                group,
                evidence,
                values: Default::default(),
            });
        }
    }
}
