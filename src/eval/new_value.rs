//! The new-value shape: a value never seen for its key within the lookback.
//!
//! Input: the events that passed a new-value rule's filter, in time order.
//! Output: one [`Raised`] per event whose value combination was not seen for
//! its key in the lookback, at the event's time.
//!
//! Rules: events missing a key or value field are ignored. Every other event
//! updates the history. An event at `t` alerts when its value combination
//! was not seen for the key in `[t - lookback, t]` and the key itself was
//! seen in `[t - lookback, t - learn]`: the key has a history inside the
//! lookback that is at least the learning period old. Nothing depends on
//! where the input starts, so a scheduled search over the lookback decides
//! the same.
//!
//! State: per key, the time each value was last seen, the latest sighting of
//! the key at least the learning period old (`ripe`), and the sightings newer
//! than that, in order (equal times kept once). Sightings older than the
//! lookback are dropped, and keys with none left, by a sweep every eighth of
//! the lookback (at least a minute) of event time.

use super::event::Event;
use super::group::{KeyBuf, KeyMap, KeyValue};
use super::state::{Context, Evidence, Raised};

#[derive(Debug, Default)]
struct KeyHistory {
    /// The latest sighting of the key at least the learning period before
    /// the last event seen.
    ripe: i64,
    /// Later sightings, ascending, each time once.
    pending: std::collections::VecDeque<i64>,
    values: KeyMap<i64>,
}

impl KeyHistory {
    /// Moves the sightings at or before `until` from `pending` to `ripe`.
    fn ripen(&mut self, until: i64) {
        while let Some(&first) = self.pending.front() {
            if first > until {
                break;
            }
            self.ripe = first;
            self.pending.pop_front();
        }
    }

    fn push(&mut self, time: i64) {
        if self.pending.back() != Some(&time) {
            self.pending.push_back(time);
        }
    }
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
            ripe: i64::MIN,
            pending: Default::default(),
            values: KeyMap::default(),
        });
        history.ripen(time.saturating_sub(context.learn_ms));
        let has_history = history.ripe >= horizon;
        let seen = history.values.entry(value, || i64::MIN);
        let is_new = *seen < horizon;
        *seen = time;
        history.push(time);
        if is_new && has_history {
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
                context: Default::default(),
            });
        }
    }
}
