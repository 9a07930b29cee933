//! One parsed event: the values of the fields the loaded rules read, the
//! results of their filters, and the order in which events are processed.
//!
//! An [`Event`] is made by [`super::projection::Projection::parse_line`],
//! which owns the layout of its slots; every other part of the evaluator
//! only reads it, through [`Event::scalar`], [`Event::text`],
//! [`Event::variant`] and [`Event::passed`]. This module imports nothing
//! else of the evaluator, so that the predicates (`expr.rs`), the group keys
//! (`group.rs`) and the scanner (`scan.rs`) can read events without an
//! import loop back through the parser.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::cmp::Ordering;

/// The value of one slot of an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Slot {
    /// Absent or `null`.
    Missing,
    /// Text, as a byte range of the event's buffer.
    Str(u32, u32),
    /// Integer, or a timestamp in epoch milliseconds.
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// An array or object: no schema type accepts it.
    Composite,
    /// A string the projection type-checked but did not copy.
    Probed,
}

impl Slot {
    /// How a line error names the slot's JSON value.
    pub(super) fn json_kind(self) -> &'static str {
        match self {
            Slot::Missing => "null",
            Slot::Str(..) | Slot::Probed => "a string",
            Slot::Int(_) => "an integer",
            Slot::Float(_) => "a float",
            Slot::Bool(_) => "a boolean",
            Slot::Composite => "an array or object",
        }
    }
}

/// A borrowed value of an event field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scalar<'a> {
    /// Text (strings and IP addresses).
    Str(&'a str),
    /// Integer (and timestamps, in epoch milliseconds).
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
}

impl Scalar<'_> {
    /// The value as a float, for numbers.
    pub(crate) fn as_f64(self) -> Option<f64> {
        match self {
            Scalar::Int(value) => Some(value as f64),
            Scalar::Float(value) => Some(value),
            _ => None,
        }
    }
}

/// One parsed event: only the projected fields, in slots.
#[derive(Debug, Clone)]
pub struct Event {
    /// Epoch milliseconds.
    pub(crate) time: i64,
    /// Index of the event type in the projection, `None` for a type the schema does not declare.
    pub(crate) event_type: Option<u32>,
    /// Which input the event came from.
    pub(crate) input: u32,
    /// Its line in that input, from 1.
    pub(crate) line: u64,
    /// For an event without `event_id`: the MD5 digest of its line, which
    /// orders it among such events of the same timestamp (zeros for an event
    /// with an id, which never reads it).
    pub(crate) digest: [u8; 16],
    /// The text of the string slots (written only by the projection, like
    /// the fields below).
    pub(super) text: String,
    /// The fields' slots (before `variant_base`), then the precomputed variants
    /// (from `variant_base`), then the results of the filters past the 64th
    /// as bits, 64 per slot (from `filter_base`). Once the filters have run,
    /// only the slots the shapes read are left (see [`Projection::compact`]).
    pub(super) slots: Vec<Slot>,
    /// The results of the first 64 filters, in the event itself: the engine
    /// tests them for every rule of the event's type, and most fail, so most
    /// rules never touch the slots.
    pub(super) passed_low: u64,
    /// The normalised text of each `norm(field)` the filters read
    /// ([`Projection::norm`]), computed by the first filter that needs it
    /// and shared by the others (empty once the filters have run).
    pub(super) norms: Vec<OnceCell<String>>,
    pub(super) variant_base: u16,
    pub(super) filter_base: u16,
    /// The answers of the regex-list tests read ahead for a group of events
    /// ([`Projection::parse_group`]): bit `i` of `eager_known` says that test
    /// `i` was read ahead, and the same bit of `eager_found` its answer.
    pub(super) eager_known: u64,
    pub(super) eager_found: u64,
}

impl Event {
    /// The answer of regex-list test `id` if it was read ahead.
    #[inline]
    pub(crate) fn eager(&self, id: u8) -> Option<bool> {
        (self.eager_known >> id & 1 == 1).then_some(self.eager_found >> id & 1 == 1)
    }

    /// Records the answer of regex-list test `id`, read ahead.
    pub(super) fn set_eager(&mut self, id: u8, found: bool) {
        self.eager_known |= 1 << id;
        self.eager_found |= u64::from(found) << id;
    }

    /// The value of a slot, `None` when missing (or of no scalar type).
    #[inline]
    pub(crate) fn scalar(&self, slot: u16) -> Option<Scalar<'_>> {
        if slot >= self.variant_base {
            return None;
        }
        match self.slots.get(usize::from(slot))? {
            Slot::Str(start, end) => {
                Some(Scalar::Str(self.text.get(*start as usize..*end as usize)?))
            }
            Slot::Int(value) => Some(Scalar::Int(*value)),
            Slot::Float(value) => Some(Scalar::Float(*value)),
            Slot::Bool(value) => Some(Scalar::Bool(*value)),
            Slot::Missing | Slot::Composite | Slot::Probed => None,
        }
    }

    /// The text of a string slot.
    #[inline]
    pub(crate) fn text(&self, slot: u16) -> Option<&str> {
        if slot >= self.variant_base {
            return None;
        }
        match self.slots.get(usize::from(slot))? {
            Slot::Str(start, end) => self.text.get(*start as usize..*end as usize),
            _ => None,
        }
    }

    /// A precomputed case-insensitive variant (by its position from
    /// [`Projection::variant`]); meaningful only when the slot holds text.
    #[inline]
    pub(crate) fn variant(&self, position: u16) -> &str {
        let index = usize::from(self.variant_base) + usize::from(position);
        if index >= usize::from(self.filter_base) {
            return "";
        }
        match self.slots.get(index) {
            Some(Slot::Str(start, end)) => {
                self.text.get(*start as usize..*end as usize).unwrap_or("")
            }
            _ => "",
        }
    }

    /// The cache of a normalised text (by its position from
    /// [`Projection::norm`]), `None` once the filters have run.
    #[inline]
    pub(crate) fn norm_cache(&self, position: u16) -> Option<&OnceCell<String>> {
        self.norms.get(usize::from(position))
    }

    /// Whether the event passed a filter of the projection (false for a
    /// filter that does not apply to the event's type).
    #[inline]
    pub(crate) fn passed(&self, filter: FilterId) -> bool {
        if filter < 64 {
            return self.passed_low >> filter & 1 == 1;
        }
        let index = usize::from(self.filter_base) + usize::from(filter / 64 - 1);
        match self.slots.get(index) {
            Some(Slot::Int(bits)) => (*bits as u64) >> (filter % 64) & 1 == 1,
            _ => false,
        }
    }

    /// Epoch milliseconds.
    pub fn time_millis(&self) -> i64 {
        self.time
    }

    /// The `event_id` as text, `None` when the event has none.
    fn id_text(&self) -> Option<Cow<'_, str>> {
        Some(match self.scalar(EVENT_ID_SLOT)? {
            Scalar::Str(text) => Cow::Borrowed(text),
            Scalar::Int(value) => Cow::Owned(value.to_string()),
            Scalar::Float(value) => Cow::Owned(value.to_string()),
            Scalar::Bool(value) => Cow::Owned(value.to_string()),
        })
    }
}

/// The order in which events are processed: by timestamp; at equal
/// timestamps by `event_id`, compared as UTF-8 bytes, events without one
/// after those with one; among those, by the MD5 digest of the line (the
/// text without its line ending); last, for lines with the same digest
/// (identical lines, which no rule can tell apart), by input and line. Nothing but the last step depends on
/// where an event was read, so the same events give the same alerts however
/// they are split into files and lines. docs/language.md ("Order") states
/// the rule; the SQL runners' `_order` column sorts the same way.
#[inline]
pub(crate) fn processing_order(left: &Event, right: &Event) -> Ordering {
    left.time
        .cmp(&right.time)
        .then_with(|| tie_order(left, right))
}

/// The MD5 digest of a line without its trailing carriage returns: what
/// DuckDB's and Spark's `md5` return, as hex, for the runners' line text.
#[cold]
pub(crate) fn line_digest(line: &str) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(line.trim_end_matches('\r').as_bytes()).into()
}

#[cold]
fn tie_order(left: &Event, right: &Event) -> Ordering {
    match (left.id_text(), right.id_text()) {
        (Some(left), Some(right)) => left.as_bytes().cmp(right.as_bytes()),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => left.digest.cmp(&right.digest),
    }
    .then_with(|| (left.input, left.line).cmp(&(right.input, right.line)))
}

/// The index of a filter in the [`Projection`].
pub(crate) type FilterId = u16;

/// The slot of `event_id` in every projection (after `timestamp` and `event_type`).
pub(crate) const EVENT_ID_SLOT: u16 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_digest_is_md5_of_the_line_without_carriage_returns() {
        // `md5('abc')` in DuckDB and Spark, and Python's hashlib.
        let hex = |digest: [u8; 16]| -> String {
            digest.iter().map(|byte| format!("{byte:02x}")).collect()
        };
        assert_eq!(hex(line_digest("abc")), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(line_digest("abc\r\r"), line_digest("abc"));
    }
}
