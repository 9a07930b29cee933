//! The reorder buffer: events of one input in time order, within a lateness bound.
//!
//! Input: events in file order. Output: the same events in processing order
//! ([`processing_order`]: timestamp, then `event_id`), or a [`LineError`] for
//! an event older than the latest timestamp seen minus the lateness. An event
//! is released once no acceptable later line can precede it: a later line is
//! accepted down to `latest - lateness` and may sort before an event of that
//! same timestamp, so an event is released when its time is strictly below
//! `latest - lateness`; at the end of input everything is released. Memory is
//! bounded by the events of one lateness span.

use std::cmp::Ordering;
use std::collections::VecDeque;

use super::error::{LineError, LineErrorKind};
use super::event::{Event, processing_order};

/// Reorders one input's events within the lateness bound.
///
/// The events are kept sorted in processing order in a deque: inputs are mostly
/// in order, so an event usually goes to the back in O(1), and only a late
/// one is inserted in its place.
pub(crate) struct ReorderBuffer {
    queue: VecDeque<Event>,
    latest: i64,
    lateness: i64,
}

impl ReorderBuffer {
    pub(crate) fn new(lateness: i64) -> ReorderBuffer {
        ReorderBuffer {
            queue: VecDeque::new(),
            latest: i64::MIN,
            lateness: lateness.max(0),
        }
    }

    fn bound(&self) -> i64 {
        self.latest.saturating_sub(self.lateness)
    }

    /// Accepts an event, or rejects it as too late.
    pub(crate) fn push(&mut self, event: Event) -> Result<(), LineError> {
        if self.latest != i64::MIN && event.time < self.bound() {
            return Err(LineError {
                line: event.line,
                kind: LineErrorKind::TooLate {
                    time: event.time,
                    latest: self.latest,
                    lateness: self.lateness,
                },
            });
        }
        self.latest = self.latest.max(event.time);
        if self
            .queue
            .back()
            .is_none_or(|last| processing_order(last, &event) != Ordering::Greater)
        {
            self.queue.push_back(event);
        } else {
            let position = self
                .queue
                .partition_point(|queued| processing_order(queued, &event) != Ordering::Greater);
            self.queue.insert(position, event);
        }
        Ok(())
    }

    /// The next event no acceptable later line can precede.
    pub(crate) fn pop_ready(&mut self) -> Option<Event> {
        let bound = self.bound();
        if self.queue.front().is_some_and(|event| event.time < bound) {
            return self.queue.pop_front();
        }
        None
    }

    /// No event this buffer releases from now on, whether buffered or still
    /// to arrive, is earlier than this time (`None` before the first event).
    /// At the end of input, pass `exhausted`: only the buffered events count.
    pub(crate) fn floor(&self, exhausted: bool) -> Option<i64> {
        let front = self.queue.front().map(|event| event.time);
        if exhausted {
            return Some(front.unwrap_or(i64::MAX));
        }
        if self.latest == i64::MIN {
            return None;
        }
        Some(front.map_or(self.bound(), |front| front.min(self.bound())))
    }

    /// The next event, ready or not (at the end of input).
    pub(crate) fn pop_any(&mut self) -> Option<Event> {
        self.queue.pop_front()
    }
}
