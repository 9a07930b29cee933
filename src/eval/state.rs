//! What every detection shape shares: the run context, the evidence an alert
//! cites, and the raised-alert record.
//!
//! Input: events as they reach a shape. Output: [`Raised`] records that the
//! engine turns into [`super::Alert`]s (adding the rule's id, severity and
//! title) and orders by the time they were raised.

use std::collections::BTreeMap;

use super::event::{EVENT_ID_SLOT, Event, Scalar};
use super::group::{GroupKey, KeyValue};

/// Facts about the run every shape reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    /// How far back a group's baseline history must reach before its windows alert.
    pub(crate) learn_ms: i64,
    /// How many event ids an alert lists.
    pub(crate) max_event_ids: usize,
    /// Input names, for ids of events without `event_id`.
    pub(crate) input_names: &'a [String],
}

/// The id an alert cites for an event: its `event_id`, or `input#line` when it has none.
pub(crate) fn event_id(event: &Event, input_names: &[String]) -> String {
    match event.scalar(EVENT_ID_SLOT) {
        Some(Scalar::Str(text)) => text.to_string(),
        Some(Scalar::Int(value)) => value.to_string(),
        Some(Scalar::Float(value)) => value.to_string(),
        Some(Scalar::Bool(value)) => value.to_string(),
        None => {
            let input = input_names
                .get(event.input as usize)
                .map_or("<input>", String::as_str);
            format!("{input}:{}", event.line)
        }
    }
}

/// Writes the id an alert cites for an event (see [`event_id`]) into `out`.
fn write_event_id(event: &Event, input_names: &[String], out: &mut Vec<u8>) {
    match event.scalar(EVENT_ID_SLOT) {
        Some(Scalar::Str(text)) => out.extend_from_slice(text.as_bytes()),
        _ => out.extend_from_slice(event_id(event, input_names).as_bytes()),
    }
}

/// The events behind an alert: first and last time, count, and the first ids.
///
/// The ids are kept in one buffer, each as a 4-byte length and its UTF-8
/// text, so that a group costs one allocation for its ids however many it lists.
#[derive(Debug, Clone)]
pub(crate) struct Evidence {
    pub(crate) first: i64,
    pub(crate) last: i64,
    pub(crate) count: u64,
    ids: Vec<u8>,
    listed: usize,
    pub(crate) truncated: bool,
}

impl Evidence {
    /// Evidence of one event.
    pub(crate) fn new(time: i64) -> Evidence {
        Evidence {
            first: time,
            last: time,
            count: 0,
            ids: Vec::new(),
            listed: 0,
            truncated: false,
        }
    }

    /// Empties it for reuse as the evidence of one event at `time`, keeping its buffer.
    pub(crate) fn reset(&mut self, time: i64) {
        self.first = time;
        self.last = time;
        self.count = 0;
        self.ids.clear();
        self.listed = 0;
        self.truncated = false;
    }

    fn add_with(&mut self, time: i64, context: &Context<'_>, write: impl FnOnce(&mut Vec<u8>)) {
        self.first = self.first.min(time);
        self.last = self.last.max(time);
        self.count += 1;
        if self.listed < context.max_event_ids {
            if self.ids.is_empty() {
                self.ids.reserve(64);
            }
            let at = self.ids.len();
            self.ids.extend_from_slice(&[0; 4]);
            write(&mut self.ids);
            let length = (self.ids.len() - at - 4) as u32;
            self.ids[at..at + 4].copy_from_slice(&length.to_le_bytes());
            self.listed += 1;
        } else {
            self.truncated = true;
        }
    }

    /// Adds an event, citing it by its id (without building the id as a string first).
    pub(crate) fn add_event(&mut self, event: &Event, context: &Context<'_>) {
        self.add_with(event.time, context, |out| {
            write_event_id(event, context.input_names, out);
        });
    }

    /// The ids listed, in the order the events were added.
    pub(crate) fn ids(&self) -> Vec<String> {
        let mut ids = Vec::with_capacity(self.listed);
        let mut rest = self.ids.as_slice();
        while let Some((length, tail)) = rest.split_first_chunk::<4>() {
            let length = u32::from_le_bytes(*length) as usize;
            let (text, tail) = tail.split_at(length.min(tail.len()));
            ids.push(String::from_utf8_lossy(text).into_owned());
            rest = tail;
        }
        ids
    }
}

/// An alert as a shape raises it.
#[derive(Debug, Clone)]
pub(crate) struct Raised {
    /// Event time at which it was raised (the event's time, or the window's end).
    pub(crate) time: i64,
    /// The `group` object.
    pub(crate) group: BTreeMap<String, serde_json::Value>,
    /// The contributing events.
    pub(crate) evidence: Evidence,
    /// The condition's values by label.
    pub(crate) values: BTreeMap<String, serde_json::Value>,
    /// `context` fields to their sorted distinct values (window rules only).
    pub(crate) context: BTreeMap<String, Vec<String>>,
}

/// The `group` object of a key: field names to values.
pub(crate) fn group_object(
    names: &[String],
    key: &GroupKey,
) -> BTreeMap<String, serde_json::Value> {
    names
        .iter()
        .zip(key.iter())
        .map(|(name, value)| (name.clone(), KeyValue::to_json(value)))
        .collect()
}
