//! Event lines to projected events.
//!
//! Input: one JSON-lines line and the [`Projection`] planned at load time (the
//! fields the loaded rules read, the schema's declared types, and which
//! case-folded variants the case-insensitive operators need). Output: an
//! [`Event`], or a [`LineError`] naming what is wrong with the line.
//!
//! The line is read in one pass that looks each key up once: a key a rule
//! reads is materialised into its slot (strings are copied into one buffer per
//! event); a key the schema declares but no rule reads is only type-checked
//! (its text is scanned, not copied); any other key is validated and skipped.
//! No `serde_json::Value` is built. The pass is the hand-written scanner of
//! [`super::scan`] for the common line, and a serde visitor
//! (`projection_reader.rs`) that fills the same slots for any line the
//! scanner leaves (unusual forms, and every invalid line, so that errors are
//! worded by `serde_json`). After the line, the
//! declared types are checked for the event's type (ints given as integral
//! floats are accepted, numbers are never read from strings), timestamps become
//! epoch milliseconds, and the lowercased (and whitespace-folded) variants of
//! the slots that case-insensitive operators read are computed once
//! ([`super::fold`]).
//!
//! The filters run on a group of such events at once
//! ([`Projection::run_filters`]): the regex-list tests that every event of a
//! type runs are answered for the whole group first ([`super::ahead`]), then
//! each event's filters read those answers, and the event keeps only what
//! the detection shapes read.

use std::sync::Arc;

use super::ahead::{AheadScratch, Plan};
use super::error::{LineError, LineErrorKind};
use super::event::{Event, FilterId, Slot, line_digest};
use super::expr::Pred;
use super::fold::{Variant, push_variant};
use super::group::FastMap;
use super::scan::scan_object;
use super::time;
use crate::ir::{Schema, ValueType};

/// The buffers one parsing thread reuses from line to line: the text of
/// the line's fields, its slots and its normalised texts, which each event
/// gives back once it has kept what it needs (one set per event of a group
/// whose filters have not run yet), and what reading ahead keeps.
#[derive(Debug, Default)]
pub struct Scratch {
    spare: Vec<Buffers>,
    ahead: AheadScratch,
}

/// One event's buffers: text, slots, normalised texts.
type Buffers = (String, Vec<Slot>, Vec<std::cell::OnceCell<String>>);

#[derive(Debug, Clone)]
struct FieldInfo {
    name: String,
    materialize: bool,
    /// Read after the filters (group keys, aggregated fields, event ids):
    /// kept in the event that waits in the reorder buffer and reaches the engine.
    kept: bool,
}

#[derive(Debug, Clone)]
struct TypeInfo {
    /// Declared fields of the type (common ones included) that are in the projection, with their types.
    checks: Vec<(u16, ValueType)>,
    /// Required fields (beyond `timestamp` and `event_type`).
    required: Vec<u16>,
}

/// What to read from each line, planned once for the loaded rules, and the
/// rules' filters, which only read one event and so are evaluated on the
/// parsing thread once a small group of lines is parsed (so that the regex
/// lists can read the group's texts side by side: `ahead.rs`);
/// the engine reads their results with [`Event::passed`].
#[derive(Debug, Clone)]
pub struct Projection {
    /// Every filter (rule filters, aggregate filters, sequence step filters).
    filters: Vec<Arc<Pred>>,
    /// Per event type, the filters that apply to it.
    type_filters: Vec<Vec<FilterId>>,
    /// The regex-list tests read ahead for groups of events.
    ahead: Plan,
    fields: Vec<FieldInfo>,
    by_name: FastMap<Box<str>, u16>,
    /// Open-addressing table of field names for the per-key lookup of the hot path.
    table: NameTable,
    type_names: Vec<String>,
    types_by_name: FastMap<Box<str>, u32>,
    types: Vec<TypeInfo>,
    /// `(slot, variant)` of every precomputed variant, by position.
    variants: Vec<(u16, Variant)>,
    /// `(companion, raw)` slots of every `norm(field)` the filters read, by position.
    norms: Vec<(u16, u16)>,
    timestamp: u16,
    event_type: u16,
    event_id: u16,
    /// One past the highest slot a detection shape reads: an event keeps
    /// only the slots below it once its filters have run.
    kept_limit: u16,
}

impl Projection {
    /// A projection that type-checks every field of the schema and materialises
    /// `timestamp`, `event_type` and `event_id`; rules add what they read with [`Projection::read`].
    ///
    /// `kept` names the fields the detection shapes will read (see
    /// [`Projection::keep`]): they get the lowest slots, after the three
    /// above, so that an event waiting in the reorder buffer holds only that
    /// short prefix of slots (see [`Projection::kept_names`]).
    pub(crate) fn new(schema: &Schema, kept: &[String]) -> Projection {
        let mut projection = Projection {
            filters: Vec::new(),
            type_filters: Vec::new(),
            ahead: Plan::default(),
            fields: Vec::new(),
            by_name: FastMap::default(),
            table: NameTable::default(),
            type_names: Vec::new(),
            types_by_name: FastMap::default(),
            types: Vec::new(),
            variants: Vec::new(),
            norms: Vec::new(),
            timestamp: 0,
            event_type: 0,
            event_id: 0,
            kept_limit: 0,
        };
        projection.timestamp = projection.keep("timestamp");
        projection.event_type = projection.keep("event_type");
        projection.event_id = projection.keep("event_id");
        for name in kept {
            projection.keep(name);
        }
        for event in schema.events.values() {
            let mut info = TypeInfo {
                checks: Vec::new(),
                required: Vec::new(),
            };
            for field in schema.common.iter().chain(&event.fields) {
                let slot = projection.slot_or_probe(&field.name);
                if field.name == "timestamp" || field.name == "event_type" {
                    continue;
                }
                info.checks.push((slot, field.value_type));
                if field.required {
                    info.required.push(slot);
                }
            }
            let index = projection.types.len() as u32;
            projection
                .types_by_name
                .insert(event.name.as_str().into(), index);
            projection.type_names.push(event.name.clone());
            projection.types.push(info);
        }
        projection.type_filters = vec![Vec::new(); projection.types.len()];
        projection.ahead = Plan::new(projection.types.len());
        projection
    }

    /// Adds a filter evaluated for events of the given types; returns its id.
    pub(crate) fn add_filter(&mut self, mut pred: Pred, event_types: &[u32]) -> FilterId {
        let id = self.filters.len() as FilterId;
        let typed: Vec<(u32, Event)> = event_types
            .iter()
            .filter_map(|&index| Some((index, self.type_only(index)?)))
            .collect();
        self.ahead.add(&mut pred, id, &typed, self.event_type);
        self.filters.push(Arc::new(pred));
        for &event_type in event_types {
            if let Some(list) = self.type_filters.get_mut(event_type as usize) {
                list.push(id);
            }
        }
        id
    }

    fn slot_or_probe(&mut self, name: &str) -> u16 {
        if let Some(slot) = self.by_name.get(name) {
            return *slot;
        }
        let slot = self.fields.len() as u16;
        self.fields.push(FieldInfo {
            name: name.to_string(),
            materialize: false,
            kept: false,
        });
        self.by_name.insert(name.into(), slot);
        self.table.insert(name, slot);
        slot
    }

    /// Marks a field as read by a rule and returns its slot.
    pub(crate) fn read(&mut self, name: &str) -> u16 {
        let slot = self.slot_or_probe(name);
        self.fields[usize::from(slot)].materialize = true;
        slot
    }

    /// Marks a field as read after the filters (by a detection shape) and returns its slot.
    pub(crate) fn keep(&mut self, name: &str) -> u16 {
        let slot = self.read(name);
        self.fields[usize::from(slot)].kept = true;
        self.kept_limit = self.kept_limit.max(slot + 1);
        slot
    }

    /// The fields detection shapes read, in slot order: what a second
    /// projection of the same rules should keep first.
    pub(crate) fn kept_names(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|field| field.kept)
            .map(|field| field.name.clone())
            .collect()
    }

    /// Requests a case-insensitive variant of a slot; returns its position.
    pub(crate) fn variant(&mut self, slot: u16, variant: Variant) -> u16 {
        intern(&mut self.variants, (slot, variant))
    }

    /// Requests the cache of a normalised field (`norm(raw)`, read from
    /// `companion` when the event has it), so that the filters that read it
    /// normalise it once per event; returns its position.
    pub(crate) fn norm(&mut self, companion: u16, raw: u16) -> u16 {
        intern(&mut self.norms, (companion, raw))
    }

    /// The index of an event type name.
    pub(crate) fn event_type_index(&self, name: &str) -> Option<u32> {
        self.types_by_name.get(name).copied()
    }

    /// Number of event types the schema declares.
    pub(crate) fn event_type_count(&self) -> usize {
        self.types.len()
    }

    /// Names of the fields rules read (materialised), for reports.
    pub fn read_fields(&self) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|field| field.materialize)
            .map(|field| field.name.as_str())
            .collect()
    }

    /// Parses one line into an event, its filters run. `Ok(None)` for a blank line.
    pub fn parse_line(
        &self,
        line: &str,
        input: u32,
        number: u64,
        buffers: &mut Scratch,
    ) -> Result<Option<Event>, LineError> {
        let Some(mut event) = self.read_line(line, input, number, buffers)? else {
            return Ok(None);
        };
        self.run_filters(&mut [&mut event], buffers);
        Ok(Some(event))
    }

    /// Runs the filters of events from [`Self::read_line`]: first the
    /// regex-list tests read ahead for all of them (see [`super::ahead`]),
    /// then each event's filters. Each event then keeps only what the
    /// shapes read, and gives its buffers back.
    pub(crate) fn run_filters(&self, events: &mut [&mut Event], buffers: &mut Scratch) {
        self.ahead
            .read_ahead(&self.filters, events, &mut buffers.ahead);
        for event in events.iter_mut() {
            self.filter(event, buffers);
        }
    }

    /// Parses one line into an event whose filters have not run (see
    /// [`Self::run_filters`]). `Ok(None)` for a blank line.
    pub(crate) fn read_line(
        &self,
        line: &str,
        input: u32,
        number: u64,
        buffers: &mut Scratch,
    ) -> Result<Option<Event>, LineError> {
        if line.trim().is_empty() {
            return Ok(None);
        }
        let error = |kind| LineError { line: number, kind };
        let (mut text, mut slots, mut norms) = buffers.spare.pop().unwrap_or_default();
        let result = self.read_into(line, input, number, &mut text, &mut slots, &mut norms);
        match result {
            Ok(event) => Ok(Some(event)),
            Err(kind) => {
                buffers.spare.push((text, slots, norms));
                Err(error(kind))
            }
        }
    }

    /// [`Self::read_line`] into the given buffers, which the event takes.
    fn read_into(
        &self,
        line: &str,
        input: u32,
        number: u64,
        text: &mut String,
        slots_buffer: &mut Vec<Slot>,
        norms_buffer: &mut Vec<std::cell::OnceCell<String>>,
    ) -> Result<Event, LineErrorKind> {
        let scratch = text;
        scratch.clear();
        let filter_words = self.filters.len().div_ceil(64).saturating_sub(1);
        let mut slots = std::mem::take(slots_buffer);
        slots.clear();
        slots.reserve(self.fields.len() + self.variants.len() + filter_words);
        slots.resize(self.fields.len(), Slot::Missing);
        if scan_object(line, |key| self.key_use(key), &mut slots, scratch).is_err() {
            // Not a line the fast path takes: serde_json reads it (and words any error).
            slots.fill(Slot::Missing);
            scratch.clear();
            self.read_with_serde(line, &mut slots, scratch)
                .map_err(|problem| LineErrorKind::NotJson(problem.to_string()))?;
        }

        let event_type = match slots[usize::from(self.event_type)] {
            Slot::Str(start, end) => self.event_type_index(&scratch[start as usize..end as usize]),
            Slot::Missing => return Err(LineErrorKind::MissingEventType),
            other => return Err(LineErrorKind::EventTypeNotText(other.json_kind())),
        };
        let time = match slots[usize::from(self.timestamp)] {
            Slot::Str(start, end) => {
                let text = &scratch[start as usize..end as usize];
                time::parse_millis(text)
                    .ok_or_else(|| LineErrorKind::BadTimestamp(text.to_string()))?
            }
            Slot::Missing => return Err(LineErrorKind::MissingTimestamp),
            other => {
                return Err(LineErrorKind::BadTimestamp(other.json_kind().to_string()));
            }
        };
        slots[usize::from(self.timestamp)] = Slot::Int(time);
        // Only events without an id need the digest (see `processing_order`);
        // trailing carriage returns are left out, as the SQL runners drop them.
        let digest = match slots[usize::from(self.event_id)] {
            Slot::Missing => line_digest(line),
            _ => [0; 16],
        };
        if let Some(index) = event_type {
            let info = &self.types[index as usize];
            for &(slot, declared) in &info.checks {
                let value = &mut slots[usize::from(slot)];
                if let Some(converted) = conform(*value, declared, scratch) {
                    *value = converted;
                } else {
                    let field = &self.fields[usize::from(slot)].name;
                    let found = match *value {
                        // Only type-checked, not copied: read the line again for the message.
                        Slot::Probed => serde_json::from_str::<serde_json::Value>(line)
                            .ok()
                            .and_then(|object| object.get(field).map(describe_json))
                            .unwrap_or_else(|| value.json_kind().to_string()),
                        other => describe(other, scratch),
                    };
                    return Err(LineErrorKind::WrongType {
                        field: field.clone(),
                        event_type: self.type_names[index as usize].clone(),
                        expected: declared,
                        found,
                    });
                }
            }
            for &slot in &info.required {
                if slots[usize::from(slot)] == Slot::Missing {
                    return Err(LineErrorKind::MissingRequired {
                        field: self.fields[usize::from(slot)].name.clone(),
                        event_type: self.type_names[index as usize].clone(),
                    });
                }
            }
        }
        let variant_base = slots.len() as u16;
        self.push_variants(scratch, &mut slots);
        let filter_base = slots.len() as u16;
        slots.resize(slots.len() + filter_words, Slot::Int(0));
        let mut norms = std::mem::take(norms_buffer);
        norms.clear();
        norms.resize_with(self.norms.len(), std::cell::OnceCell::new);
        // The event owns the buffers while the filters run; then it keeps
        // only the text of the fields read after them, and the buffers go back.
        Ok(Event {
            time,
            event_type,
            input,
            line: number,
            digest,
            text: std::mem::take(scratch),
            slots,
            passed_low: 0,
            norms,
            variant_base,
            filter_base,
            eager_known: 0,
            eager_found: 0,
        })
    }

    /// How many regex-list tests each event type reads ahead, by type name.
    #[cfg(test)]
    pub(crate) fn read_ahead_by_type(&self) -> Vec<(String, u32)> {
        self.type_names
            .iter()
            .cloned()
            .zip(self.ahead.count_by_type())
            .collect()
    }

    /// Appends the precomputed variants of the slots.
    fn push_variants(&self, text: &mut String, slots: &mut Vec<Slot>) {
        for &(slot, variant) in &self.variants {
            let Slot::Str(start, end) = slots[usize::from(slot)] else {
                slots.push(Slot::Missing);
                continue;
            };
            let (begin, finish) = push_variant(text, start as usize, end as usize, variant);
            slots.push(Slot::Str(begin as u32, finish as u32));
        }
    }

    /// An event of type `index` with no field but `event_type`: what the
    /// filters' conditions on the event type alone give for every event of
    /// the type (see [`super::ahead`]).
    fn type_only(&self, index: u32) -> Option<Event> {
        let name = self.type_names.get(index as usize)?;
        let mut text = name.clone();
        let mut slots = vec![Slot::Missing; self.fields.len()];
        slots[usize::from(self.event_type)] = Slot::Str(0, text.len() as u32);
        let variant_base = slots.len() as u16;
        self.push_variants(&mut text, &mut slots);
        let filter_base = slots.len() as u16;
        Some(Event {
            time: 0,
            event_type: Some(index),
            input: 0,
            line: 0,
            digest: [0; 16],
            text,
            slots,
            passed_low: 0,
            norms: Vec::new(),
            variant_base,
            filter_base,
            eager_known: 0,
            eager_found: 0,
        })
    }

    /// Runs one event's filters, then compacts it and takes its buffers back.
    fn filter(&self, event: &mut Event, buffers: &mut Scratch) {
        let filter_base = event.filter_base;
        if let Some(filters) = event
            .event_type
            .and_then(|index| self.type_filters.get(index as usize))
        {
            for &filter in filters {
                if !self.filters[usize::from(filter)].test(event) {
                    continue;
                }
                if filter < 64 {
                    event.passed_low |= 1 << filter;
                } else {
                    let index = usize::from(filter_base) + usize::from(filter / 64 - 1);
                    if let Slot::Int(bits) = &mut event.slots[index] {
                        *bits = (*bits as u64 | 1 << (filter % 64)) as i64;
                    }
                }
            }
        }
        let (text, slots) = self.compact(event);
        buffers
            .spare
            .push((text, slots, std::mem::take(&mut event.norms)));
    }
}

impl Projection {
    /// Drops from the event what only the filters read: the slots past the
    /// kept ones, the variants, and the text of every field the shapes do not
    /// read, so that an event waiting in the reorder buffer holds its group
    /// keys and ids (a short prefix of slots, and their text), not its prompt
    /// and output. Returns the full text and slot buffers, for the next line.
    fn compact(&self, event: &mut Event) -> (String, Vec<Slot>) {
        let limit = usize::from(self.kept_limit).min(usize::from(event.variant_base));
        let kept = &self.fields[..limit];
        let mut length = 0;
        for (slot, field) in event.slots[..limit].iter().zip(kept) {
            if let (Slot::Str(start, end), true) = (*slot, field.kept) {
                length += (end - start) as usize;
            }
        }
        let filters = &event.slots[usize::from(event.filter_base)..];
        let mut slots = Vec::with_capacity(limit + filters.len());
        let mut text = String::with_capacity(length);
        for (slot, field) in event.slots[..limit].iter().zip(kept) {
            slots.push(match *slot {
                Slot::Str(start, end) if field.kept => {
                    let begin = text.len() as u32;
                    text.push_str(event.text.get(start as usize..end as usize).unwrap_or(""));
                    Slot::Str(begin, text.len() as u32)
                }
                Slot::Str(..) | Slot::Probed => Slot::Missing,
                other => other,
            });
        }
        slots.extend_from_slice(filters);
        let limit = limit as u16;
        event.variant_base = limit;
        event.filter_base = limit;
        (
            std::mem::replace(&mut event.text, text),
            std::mem::replace(&mut event.slots, slots),
        )
    }
}

/// The slot converted to the declared type, or `None` when it does not conform.
fn conform(value: Slot, declared: ValueType, text: &str) -> Option<Slot> {
    match (declared, value) {
        (_, Slot::Missing) => Some(Slot::Missing),
        (ValueType::String | ValueType::Ip, Slot::Str(..) | Slot::Probed) => Some(value),
        (ValueType::Int | ValueType::Duration, Slot::Int(_)) => Some(value),
        (ValueType::Int | ValueType::Duration, Slot::Float(float))
            if float.fract() == 0.0 && float.abs() < 9.0e15 =>
        {
            Some(Slot::Int(float as i64))
        }
        (ValueType::Float, Slot::Int(int)) => Some(Slot::Float(int as f64)),
        (ValueType::Float, Slot::Float(_)) => Some(value),
        (ValueType::Bool, Slot::Bool(_)) => Some(value),
        (ValueType::Timestamp, Slot::Probed) => Some(value),
        (ValueType::Timestamp, Slot::Str(start, end)) => {
            time::parse_millis(text.get(start as usize..end as usize)?).map(Slot::Int)
        }
        (ValueType::Regex, Slot::Str(..) | Slot::Probed) => Some(value),
        _ => None,
    }
}

fn describe_text(content: &str) -> String {
    let shown: String = content.chars().take(40).collect();
    let more = if shown.len() < content.len() {
        "..."
    } else {
        ""
    };
    format!("the string {:?}", format!("{shown}{more}"))
}

fn describe_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => describe_text(text),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
            "an array or object".to_string()
        }
        other => other.to_string(),
    }
}

fn describe(value: Slot, text: &str) -> String {
    match value {
        Slot::Str(start, end) => {
            describe_text(text.get(start as usize..end as usize).unwrap_or(""))
        }
        Slot::Int(value) => value.to_string(),
        Slot::Float(value) => value.to_string(),
        Slot::Bool(value) => value.to_string(),
        other => other.json_kind().to_string(),
    }
}

#[path = "projection_names.rs"]
mod names;
#[path = "projection_reader.rs"]
mod reader;

use names::NameTable;

/// The position of `entry` in `entries`, added at the end the first time.
fn intern<T: PartialEq>(entries: &mut Vec<T>, entry: T) -> u16 {
    match entries.iter().position(|known| *known == entry) {
        Some(position) => position as u16,
        None => {
            entries.push(entry);
            (entries.len() - 1) as u16
        }
    }
}

#[cfg(test)]
#[path = "projection_tests.rs"]
mod tests;
