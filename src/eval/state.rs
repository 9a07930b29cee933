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
    /// Time of the first event of the input (epoch milliseconds).
    pub(crate) first_time: i64,
    /// End of the learning period: new-value and baseline rules do not alert before it.
    pub(crate) learn_end: i64,
    /// How many event ids an alert lists.
    pub(crate) max_event_ids: usize,
    /// Input names, for ids of events without `event_id`.
    pub(crate) input_names: &'a [String],
}

impl Context<'_> {
    /// The id an alert cites for an event.
    pub(crate) fn id(&self, event: &Event) -> String {
        event_id(event, self.input_names)
    }
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

/// The events behind an alert: first and last time, count, and the first ids.
#[derive(Debug, Clone)]
pub(crate) struct Evidence {
    pub(crate) first: i64,
    pub(crate) last: i64,
    pub(crate) count: u64,
    pub(crate) ids: Vec<Box<str>>,
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
            truncated: false,
        }
    }

    /// Adds an event.
    pub(crate) fn add(&mut self, time: i64, id: impl FnOnce() -> String, context: &Context<'_>) {
        self.first = self.first.min(time);
        self.last = self.last.max(time);
        self.count += 1;
        if self.ids.len() < context.max_event_ids {
            self.ids.push(id().into_boxed_str());
        } else {
            self.truncated = true;
        }
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
