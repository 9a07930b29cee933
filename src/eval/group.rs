//! Group keys and the maps keyed by them.
//!
//! Input: the values of the key fields of one event (`group by`, `by`, `for`,
//! `new`). Output: a [`GroupKey`] owned by the state that needs it, and
//! [`KeyMap`], a hash map that finds a group's state from the event's values
//! without building an owned key first (the key is hashed in place and only
//! copied when a new group is created). Also the small fast hasher every map
//! of the evaluator uses: keys are event values, not adversarial input to a
//! server, and SipHash would be a visible share of the hot path.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::event::{Event, Scalar};

/// FxHash: one multiply per word. Deterministic (no random seed), which the
/// evaluator does not rely on for output order but which keeps runs comparable.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A `HashSet` with [`FastHasher`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;

/// One value of a key field, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum KeyValue {
    /// Text.
    Str(Box<str>),
    /// Integer (also timestamps, in milliseconds).
    Int(i64),
    /// Float, by its bits (so `-0.0` and `0.0` are different keys, as their text is).
    Float(u64),
    /// Boolean.
    Bool(bool),
}

impl KeyValue {
    /// The owned form of an event value.
    pub(crate) fn from_scalar(scalar: Scalar<'_>) -> KeyValue {
        match scalar {
            Scalar::Str(text) => KeyValue::Str(text.into()),
            Scalar::Int(value) => KeyValue::Int(value),
            Scalar::Float(value) => KeyValue::Float(value.to_bits()),
            Scalar::Bool(value) => KeyValue::Bool(value),
        }
    }

    fn equals(&self, scalar: Scalar<'_>) -> bool {
        match (self, scalar) {
            (KeyValue::Str(own), Scalar::Str(text)) => **own == *text,
            (KeyValue::Int(own), Scalar::Int(value)) => *own == value,
            (KeyValue::Float(own), Scalar::Float(value)) => *own == value.to_bits(),
            (KeyValue::Bool(own), Scalar::Bool(value)) => *own == value,
            _ => false,
        }
    }

    /// The value as JSON, for alerts.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            KeyValue::Str(text) => serde_json::Value::String(text.to_string()),
            KeyValue::Int(value) => serde_json::Value::from(*value),
            KeyValue::Float(bits) => serde_json::Number::from_f64(f64::from_bits(*bits))
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            KeyValue::Bool(value) => serde_json::Value::Bool(*value),
        }
    }
}

fn hash_scalar(hasher: &mut FastHasher, scalar: Scalar<'_>) {
    match scalar {
        Scalar::Str(text) => {
            hasher.write_u8(1);
            hasher.write(text.as_bytes());
            hasher.write_usize(text.len());
        }
        Scalar::Int(value) => {
            hasher.write_u8(2);
            hasher.write_u64(value as u64);
        }
        Scalar::Float(value) => {
            hasher.write_u8(3);
            hasher.write_u64(value.to_bits());
        }
        Scalar::Bool(value) => {
            hasher.write_u8(4);
            hasher.write_u8(u8::from(value));
        }
    }
}

/// The values of a key's fields, owned.
pub(crate) type GroupKey = Box<[KeyValue]>;

/// Inline capacity of [`KeyBuf`]: keys of more fields spill to the heap.
const INLINE_KEY: usize = 6;

/// The key fields of one event, borrowed, on the stack.
pub(crate) struct KeyBuf<'e> {
    inline: [Scalar<'e>; INLINE_KEY],
    len: usize,
    spill: Vec<Scalar<'e>>,
}

impl<'e> KeyBuf<'e> {
    pub(crate) fn new() -> Self {
        KeyBuf {
            inline: [Scalar::Bool(false); INLINE_KEY],
            len: 0,
            spill: Vec::new(),
        }
    }

    /// Reads the key fields of `event`; false when one is missing.
    #[inline]
    pub(crate) fn fill(&mut self, event: &'e Event, slots: &[u16]) -> bool {
        self.len = 0;
        self.spill.clear();
        let spill = slots.len() > INLINE_KEY;
        for &slot in slots {
            let Some(value) = event.scalar(slot) else {
                return false;
            };
            if spill {
                self.spill.push(value);
            } else {
                self.inline[self.len] = value;
                self.len += 1;
            }
        }
        true
    }

    /// The values read.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[Scalar<'e>] {
        if self.spill.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }
}

fn hash_values(values: &[Scalar<'_>]) -> u64 {
    let mut hasher = FastHasher::default();
    for value in values {
        hash_scalar(&mut hasher, *value);
    }
    hasher.finish()
}

fn hash_key(key: &[KeyValue]) -> u64 {
    let mut hasher = FastHasher::default();
    for value in key {
        let scalar = match value {
            KeyValue::Str(text) => Scalar::Str(text),
            KeyValue::Int(value) => Scalar::Int(*value),
            KeyValue::Float(bits) => Scalar::Float(f64::from_bits(*bits)),
            KeyValue::Bool(value) => Scalar::Bool(*value),
        };
        hash_scalar(&mut hasher, scalar);
    }
    hasher.finish()
}

/// A set of values (a `distinct` aggregate's), added to from borrowed event
/// values: a value already in it costs a hash and a comparison, and only a
/// new one is copied.
///
/// Where many sets see the same values (one event joins several groups, as
/// the bands of a cluster rule), the values can be numbered once by an
/// [`Interner`] and the sets hold the numbers ([`Self::insert_id`]): four
/// bytes per entry and no string to compare. A set holds values or
/// numbers, never both.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueSet {
    table: hashbrown::HashTable<(u64, KeyValue)>,
    ids: hashbrown::HashTable<u32>,
}

impl ValueSet {
    /// Adds `value` if it is not in the set yet.
    #[inline]
    pub(crate) fn insert(&mut self, value: Scalar<'_>) {
        let hash = hash_values(std::slice::from_ref(&value));
        if self
            .table
            .find(hash, |(stored, own)| *stored == hash && own.equals(value))
            .is_none()
        {
            self.table
                .insert_unique(hash, (hash, KeyValue::from_scalar(value)), |(stored, _)| {
                    *stored
                });
        }
    }

    /// Adds the value an [`Interner`] numbered `id` if it is not in the set yet.
    #[inline]
    pub(crate) fn insert_id(&mut self, id: u32) {
        let hash = hash_id(id);
        if self.ids.find(hash, |own| *own == id).is_none() {
            self.ids.insert_unique(hash, id, |own| hash_id(*own));
        }
    }

    /// Number of values.
    pub(crate) fn len(&self) -> usize {
        self.table.len() + self.ids.len()
    }

    /// Empties the set, keeping its tables.
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.ids.clear();
    }
}

/// The hash of an [`Interner`]'s number: one multiplication spreads
/// consecutive numbers over the table's buckets and its tag bits.
#[inline]
fn hash_id(id: u32) -> u64 {
    let product = u64::from(id).wrapping_mul(SEED);
    product ^ (product >> 29)
}

/// Numbers distinct values from 0 in the order first seen, for the
/// [`ValueSet`]s that hold numbers: the sets are only comparable while
/// the interner is not cleared.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    table: hashbrown::HashTable<(u64, KeyValue, u32)>,
}

impl Interner {
    /// The number of `value`, new when first seen.
    #[inline]
    pub(crate) fn id(&mut self, value: Scalar<'_>) -> u32 {
        let hash = hash_values(std::slice::from_ref(&value));
        if let Some((_, _, id)) = self.table.find(hash, |(stored, own, _)| {
            *stored == hash && own.equals(value)
        }) {
            return *id;
        }
        let id = self.table.len() as u32;
        self.table.insert_unique(
            hash,
            (hash, KeyValue::from_scalar(value), id),
            |(stored, _, _)| *stored,
        );
        id
    }

    /// Forgets every value (and so every number).
    pub(crate) fn clear(&mut self) {
        self.table.clear();
    }
}

/// A map from group keys to state, looked up by borrowed event values.
///
/// Entries live directly in one open-addressing table with their hash
/// (no bucket lists), so a new group costs only its key.
pub(crate) struct KeyMap<V> {
    table: hashbrown::HashTable<(u64, GroupKey, V)>,
}

impl<V: std::fmt::Debug> std::fmt::Debug for KeyMap<V> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_map()
            .entries(self.table.iter().map(|(_, key, value)| (key, value)))
            .finish()
    }
}

impl<V> Default for KeyMap<V> {
    fn default() -> Self {
        KeyMap {
            table: hashbrown::HashTable::new(),
        }
    }
}

fn same_values(key: &[KeyValue], values: &[Scalar<'_>]) -> bool {
    key.len() == values.len()
        && key
            .iter()
            .zip(values)
            .all(|(own, value)| own.equals(*value))
}

impl<V> KeyMap<V> {
    /// The state of the group with these values, created by `create` if new.
    pub(crate) fn entry(&mut self, values: &[Scalar<'_>], create: impl FnOnce() -> V) -> &mut V {
        let hash = hash_values(values);
        let entry = self.table.entry(
            hash,
            |(stored, key, _)| *stored == hash && same_values(key, values),
            |(stored, _, _)| *stored,
        );
        let entry = entry.or_insert_with(|| {
            let key: GroupKey = values
                .iter()
                .map(|value| KeyValue::from_scalar(*value))
                .collect();
            (hash, key, create())
        });
        &mut entry.into_mut().2
    }

    /// The state of the group with these values, if any.
    #[cfg(test)]
    pub(crate) fn get_mut(&mut self, values: &[Scalar<'_>]) -> Option<&mut V> {
        let hash = hash_values(values);
        self.table
            .find_mut(hash, |(stored, key, _)| {
                *stored == hash && same_values(key, values)
            })
            .map(|(_, _, state)| state)
    }

    /// The state of the group with this owned key, created by `create` if new.
    pub(crate) fn entry_owned(&mut self, key: &GroupKey, create: impl FnOnce() -> V) -> &mut V {
        let hash = hash_key(key);
        let entry = self.table.entry(
            hash,
            |(stored, own, _)| *stored == hash && own == key,
            |(stored, _, _)| *stored,
        );
        &mut entry
            .or_insert_with(|| (hash, key.clone(), create()))
            .into_mut()
            .2
    }

    /// The state of the group with this owned key, if any.
    pub(crate) fn get_owned(&self, key: &GroupKey) -> Option<&V> {
        let hash = hash_key(key);
        self.table
            .find(hash, |(stored, own, _)| *stored == hash && own == key)
            .map(|(_, _, value)| value)
    }

    /// Removes a group.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, key: &[KeyValue]) -> Option<V> {
        let hash = hash_key(key);
        self.table
            .find_entry(hash, |(stored, own, _)| *stored == hash && **own == *key)
            .ok()
            .map(|entry| entry.remove().0.2)
    }

    /// Keeps only the groups for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&GroupKey, &mut V) -> bool) {
        self.table.retain(|(_, key, value)| keep(key, value));
    }

    /// Number of groups.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are no groups.
    pub(crate) fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Removes every group, in no particular order, keeping the table's
    /// capacity for the next window.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (GroupKey, V)> + '_ {
        self.table.drain().map(|(_, key, value)| (key, value))
    }

    /// Every group with its state, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&GroupKey, &V)> {
        self.table.iter().map(|(_, key, value)| (key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_groups_by_borrowed_values() {
        let mut map: KeyMap<u32> = KeyMap::default();
        *map.entry(&[Scalar::Str("a"), Scalar::Int(1)], || 0) += 1;
        *map.entry(&[Scalar::Str("a"), Scalar::Int(1)], || 0) += 1;
        *map.entry(&[Scalar::Str("a"), Scalar::Int(2)], || 0) += 1;
        assert_eq!(map.len(), 2);
        assert_eq!(
            map.get_mut(&[Scalar::Str("a"), Scalar::Int(1)]).copied(),
            Some(2)
        );
        let key: GroupKey = vec![KeyValue::Str("a".into()), KeyValue::Int(2)].into();
        assert_eq!(map.remove(&key), Some(1));
        assert_eq!(map.len(), 1);
        map.retain(|_, _| false);
        assert!(map.is_empty());
    }
}
