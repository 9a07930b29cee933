//! The reorder buffer: events of one input in time order, within a lateness bound.
//!
//! Input: events in file order. Output: the same events in (timestamp, line)
//! order, or a [`LineError`] for an event older than the latest timestamp seen
//! minus the lateness. An event is released once no acceptable later line
//! can precede it: when its time is at most `latest - lateness`; at the end of
//! input everything is released. Memory is bounded by the events of one
//! lateness span.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::error::{LineError, LineErrorKind};
use super::event::Event;

struct Queued(Event);

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0.time, self.0.line).cmp(&(other.0.time, other.0.line))
    }
}

/// Reorders one input's events within the lateness bound.
pub(crate) struct ReorderBuffer {
    heap: BinaryHeap<Reverse<Queued>>,
    latest: i64,
    lateness: i64,
}

impl ReorderBuffer {
    pub(crate) fn new(lateness: i64) -> ReorderBuffer {
        ReorderBuffer {
            heap: BinaryHeap::new(),
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
        self.heap.push(Reverse(Queued(event)));
        Ok(())
    }

    /// The next event no acceptable later line can precede.
    pub(crate) fn pop_ready(&mut self) -> Option<Event> {
        let bound = self.bound();
        if self
            .heap
            .peek()
            .is_some_and(|Reverse(Queued(event))| event.time <= bound)
        {
            return self.heap.pop().map(|Reverse(Queued(event))| event);
        }
        None
    }

    /// The next event, ready or not (at the end of input).
    pub(crate) fn pop_any(&mut self) -> Option<Event> {
        self.heap.pop().map(|Reverse(Queued(event))| event)
    }
}
