//! The cluster shape: a window grouped by the near-duplicate fingerprint of
//! a text field.
//!
//! Input: the events that passed a cluster rule's filter, in time order.
//! Output: one [`Raised`] per fingerprint of a closed window whose condition
//! holds, with the fingerprint as the alert's `group`.
//!
//! The fingerprint is [`crate::ir::fingerprint`]'s: a value with at least
//! `min_length` characters is reduced to one key per band, the `r` smallest
//! distinct slices of the MD5s of its lowercased ASCII words of at least 3
//! characters. The value is cut into segments after sentence marks, and a
//! bounded cache keyed by a segment's bytes holds its bands: templated text
//! repeats whole sentences, and a value's `r` smallest hashes are the `r`
//! smallest of its segments' (when fewer than one lookup in four hits, as
//! in free text, the cache is left alone for a while). A segment not in the
//! cache is read in two passes without allocating: first the words, found
//! as runs of set bits in a bitmap of
//! the word bytes, are lowercased in registers and their four slices looked
//! up in a bounded cache (MD5 runs once per distinct word until the cache is
//! full, when it starts again empty); then the slices go to the bands. A
//! word whose slices are all above each full band's largest is skipped after
//! four comparisons; otherwise a slice enters a fixed array of the band's
//! `r` smallest, kept ascending (sorted vectors when `r` is over 16). A
//! value made only of cached segments walks a bounded map of runs of
//! segments (one node per run, holding the bands after it), so a templated
//! value merges no hash at all and its last node identifies its
//! fingerprint. Only the keys of the groups are written as hex, when an
//! alert is raised. The open window's groups are keyed by band and hashes
//! (a new group copies them once) and found by the value's identity when
//! it has one; an event joins one group per band, and each of its
//! `distinct` values is numbered once for all of them (the sets hold
//! numbers).
//!
//! State: the open window's groups (aggregate states and evidence), the
//! group slots by identity and the numbering of `distinct` values, all
//! dropped when the window closes; the word-hash, segment and run caches.

use std::hash::BuildHasher;

use super::condition::{Condition, Leaves, percentile};
use super::event::Event;
use super::group::{FastMap, Interner};
use super::state::{Context, Evidence, Raised};
use super::time::window_start;
use super::window::GroupState;
use crate::ir::fingerprint;

mod fingerprinter;

pub use fingerprinter::*;

/// Slots of the cache of short words' hashes (direct-mapped: a word
/// replaces whatever word shared its slot).
const SHORT_SLOTS: usize = 1 << 16;

/// Longest word the direct-mapped cache holds, in bytes.
const SHORT_WORD: usize = 16;

/// Longer words the second cache holds before it starts again empty.
const LONG_WORDS: usize = 1 << 12;

/// Longest word the second cache holds; longer ones are hashed each time
/// (bounds the cache's bytes).
const LONG_WORD: usize = 64;

/// Largest `r` kept in [`Fingerprinter::columns`]; larger ones keep sorted
/// vectors.
const COLUMN_ROWS: usize = 16;

/// 1 for the bytes of words (ASCII letters and digits), 0 for the others.
const WORD_BYTE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        if (byte as u8).is_ascii_alphanumeric() {
            table[byte] = 1;
        }
        byte += 1;
    }
    table
};

/// One bit per byte of 8 bytes (little-endian), set for ASCII letters and
/// digits: [`WORD_BYTE`] for 8 bytes at once, without a branch.
#[inline]
fn word_bytes(eight: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Each byte below 0x80 plus (0x80 - low) reaches 0x80 exactly when it is
    // at least `low`; no sum carries into the next byte.
    let at_least = |value: u64, low: u64| value + ONES * (0x80 - low);
    let ascii = eight & !HIGH;
    let lower = ascii | (ONES * 0x20);
    let letter = at_least(lower, b'a' as u64) & !at_least(lower, b'z' as u64 + 1);
    let digit = at_least(ascii, b'0' as u64) & !at_least(ascii, b'9' as u64 + 1);
    // Bytes with the high bit set (UTF-8 of other characters) are never word bytes.
    let marks = (letter | digit) & !eight & HIGH;
    // Gather the 8 marks into the low byte: bit 7 of byte k to bit k.
    ((marks >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

/// Setting bit 5 lowercases an ASCII letter and leaves a digit as it is
/// (digits already have it), so `byte | 0x20` lowercases any word byte.
const LOWERCASE: u128 = 0x2020_2020_2020_2020_2020_2020_2020_2020;

/// The word bytes of `bytes`, lowercased.
fn lowercase(bytes: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(bytes.iter().map(|byte| byte | 0x20));
}

/// A cached word: its bytes packed little-endian (zero-padded; a word has
/// no zero byte, so the packing is unique; 0 is an empty slot) and its hash.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    word: u128,
    hash: [u32; 4],
}

/// One value's bands while it is read: each band's smallest hashes so far.
#[derive(Debug)]
struct Bands {
    /// How many smallest hashes a band keeps (`usize::MAX`: all).
    sketch: usize,
    /// Bands computed.
    bands: usize,
    /// Each band's smallest hashes so far.
    hashes: [Vec<u32>; 4],
    /// Per band, the largest hash that may still enter it: its largest
    /// once it holds `sketch` hashes, `u32::MAX` before.
    limits: [u32; 4],
    /// One bit per band computed.
    band_mask: u32,
    /// When `sketch` is at most [`COLUMN_ROWS`], each band's smallest
    /// hashes so far, ascending, `u32::MAX` in the empty places (and junk
    /// after the first `sketch`).
    columns: [[u32; COLUMN_ROWS]; 4],
    /// Per band, whether a word's hash was `u32::MAX` while the band still
    /// had an empty place (an empty place cannot tell it apart).
    saw_max: [bool; 4],
}

impl Bands {
    fn new(sketch: fingerprint::Sketch) -> Bands {
        let bands = sketch.bands.clamp(1, 4) as usize;
        Bands {
            sketch: sketch.rows.map_or(usize::MAX, |size| size.max(1) as usize),
            bands,
            band_mask: (1 << bands) - 1,
            limits: [u32::MAX; 4],
            columns: [[u32::MAX; COLUMN_ROWS]; 4],
            saw_max: [false; 4],
            hashes: Default::default(),
        }
    }

    /// Empties the bands for the next value.
    fn reset(&mut self) {
        for hashes in &mut self.hashes {
            hashes.clear();
        }
        self.limits = [u32::MAX; 4];
        if self.sketch <= COLUMN_ROWS {
            self.columns = [[u32::MAX; COLUMN_ROWS]; 4];
            self.saw_max = [false; 4];
        }
    }

    /// Adds one word's hashes, one per band: each band's `hashes` stays
    /// sorted, distinct and at most `sketch` long (unsorted, with repeats,
    /// when it keeps every hash).
    ///
    /// A word usually changes no band: once a band holds `sketch` hashes,
    /// only a hash at or below its largest can enter it, and one branch
    /// on four comparisons against [`Self::limits`] skips the word.
    #[inline]
    fn keep(&mut self, hash: [u32; 4]) {
        let limits = &self.limits;
        let mut enter = (u32::from(hash[0] <= limits[0])
            | u32::from(hash[1] <= limits[1]) << 1
            | u32::from(hash[2] <= limits[2]) << 2
            | u32::from(hash[3] <= limits[3]) << 3)
            & self.band_mask;
        while enter != 0 {
            let band = enter.trailing_zeros() as usize;
            enter &= enter - 1;
            self.enter(band, hash[band]);
        }
    }

    /// Adds the sorted, distinct hashes of one band of a segment (the
    /// smallest `sketch` of them, or all): they stop entering at the first
    /// one above the band's limit.
    #[inline]
    fn merge(&mut self, band: usize, sorted: &[u32]) {
        if self.sketch == usize::MAX {
            self.hashes[band].extend_from_slice(sorted);
            return;
        }
        for &hash in sorted {
            if hash > self.limits[band] {
                break;
            }
            self.enter(band, hash);
        }
    }

    /// Adds `hash` to band `band` (the hash passed the band's limit).
    #[inline]
    fn enter(&mut self, band: usize, hash: u32) {
        let sketch = self.sketch;
        if sketch <= COLUMN_ROWS {
            let column = &mut self.columns[band];
            if sketch <= COLUMN_ROWS / 2 {
                insert::<{ COLUMN_ROWS / 2 }>(column, hash);
            } else {
                insert::<COLUMN_ROWS>(column, hash);
            }
            self.limits[band] = column[sketch - 1];
            // Passing the limit, `u32::MAX` found an empty place (also `u32::MAX`).
            self.saw_max[band] |= hash == u32::MAX;
            return;
        }
        let hashes = &mut self.hashes[band];
        if sketch == usize::MAX {
            hashes.push(hash);
            return;
        }
        // The limit let `hash` in: a band with room takes any new hash,
        // a full one any below its largest (which is then dropped).
        if let Err(at) = hashes.binary_search(&hash) {
            if hashes.len() >= sketch {
                hashes.pop();
            }
            hashes.insert(at, hash);
            if hashes.len() >= sketch {
                self.limits[band] = hashes.last().copied().unwrap_or(u32::MAX);
            }
        }
    }

    /// Writes the bands into [`Self::hashes`], sorted and distinct; false
    /// when there is no hash.
    fn finish(&mut self) -> bool {
        if self.sketch <= COLUMN_ROWS {
            for (band, hashes) in self.hashes[..self.bands].iter_mut().enumerate() {
                let column = &self.columns[band][..self.sketch];
                hashes.extend(column.iter().filter(|hash| **hash != u32::MAX));
                if self.saw_max[band] && hashes.len() < column.len() {
                    hashes.push(u32::MAX);
                }
            }
        } else if self.sketch == usize::MAX {
            for hashes in &mut self.hashes[..self.bands] {
                hashes.sort_unstable();
                hashes.dedup();
            }
        }
        !self.hashes[0].is_empty()
    }
}

/// The open window's groups, kept for reuse from one window to the next:
/// a window of a busy day has hundreds of thousands of band keys, most of
/// them seen once, and building and dropping a state for each one was most
/// of the shape's cost. Keys are stored end to end in one buffer, states in
/// one vector whose slots a closed window leaves allocated (their sets and id
/// buffers emptied, not freed), and the table maps a key's hash to its slot.
#[derive(Debug, Default)]
struct Groups {
    /// Slot numbers, by key hash.
    table: hashbrown::HashTable<u32>,
    /// Every live key (band from 0, then its hashes), end to end.
    words: Vec<u32>,
    /// Per live slot: where its key starts in `words`, its length, its hash.
    keys: Vec<(u32, u32, u64)>,
    /// States; the first `keys.len()` are live, the rest wait for reuse.
    states: Vec<GroupState>,
}

impl Groups {
    fn len(&self) -> usize {
        self.keys.len()
    }

    fn key(&self, slot: usize) -> &[u32] {
        let (start, length, _) = self.keys[slot];
        &self.words[start as usize..(start + length) as usize]
    }

    /// The slot of `key`, created (or a waiting slot reused) at `time` when new.
    fn slot(&mut self, key: &[u32], time: i64, condition: &Condition) -> u32 {
        let hash = hash_words(key);
        let Groups {
            table,
            words,
            keys,
            states,
        } = self;
        // One probe finds the key or the place for it.
        let entry = table.entry(
            hash,
            |slot| {
                let (start, length, stored) = keys[*slot as usize];
                stored == hash && &words[start as usize..(start + length) as usize] == key
            },
            |slot| keys[*slot as usize].2,
        );
        let slot = match entry {
            hashbrown::hash_table::Entry::Occupied(found) => *found.get() as usize,
            hashbrown::hash_table::Entry::Vacant(place) => {
                let slot = keys.len();
                place.insert(slot as u32);
                keys.push((words.len() as u32, key.len() as u32, hash));
                words.extend_from_slice(key);
                if let Some(state) = states.get_mut(slot) {
                    state.reset(time);
                } else {
                    states.push(GroupState {
                        aggregates: condition.new_states(),
                        evidence: Evidence::new(time),
                        context: Vec::new(),
                    });
                }
                slot
            }
        };
        slot as u32
    }

    /// Forgets every group, keeping the memory for the next window.
    fn clear(&mut self) {
        self.table.clear();
        self.words.clear();
        self.keys.clear();
    }
}

/// The hash of a group key.
fn hash_words(key: &[u32]) -> u64 {
    std::hash::BuildHasherDefault::<super::group::FastHasher>::default().hash_one(key)
}

/// A cluster rule's compiled form and state.
#[derive(Debug)]
pub(crate) struct ClusterShape {
    field: u16,
    min_length: usize,
    length: i64,
    condition: Condition,
    current: Option<i64>,
    /// The open window's groups, keyed by band (from 0) followed by the band's hashes.
    groups: Groups,
    /// Boxed: its fixed arrays would make every shape as large.
    fingerprinter: Box<Fingerprinter>,
    /// The open window's group slots (one per band) by the
    /// [`Fingerprinter::identity`] of values seen in it: a templated value
    /// finds its groups with one lookup instead of one per band.
    by_identity: FastMap<u64, [u32; 4]>,
    /// Numbers the open window's `distinct` values once for all the
    /// groups an event joins.
    interner: Interner,
    /// A reused group key.
    key: Vec<u32>,
    /// Reused leaves of the group being evaluated at a window's close.
    leaves: Leaves,
}

impl ClusterShape {
    pub(crate) fn new(
        field: u16,
        similarity: f64,
        min_length: i64,
        length: i64,
        condition: Condition,
    ) -> ClusterShape {
        ClusterShape {
            field,
            min_length: usize::try_from(min_length).unwrap_or(0),
            length: length.max(1),
            condition,
            current: None,
            groups: Groups::default(),
            fingerprinter: Box::new(Fingerprinter::new(fingerprint::Sketch::for_similarity(
                similarity,
            ))),
            by_identity: FastMap::default(),
            interner: Interner::default(),
            key: Vec::new(),
            leaves: Leaves::default(),
        }
    }

    /// When the open window closes.
    pub(crate) fn deadline(&self) -> i64 {
        self.current
            .map_or(i64::MAX, |start| start.saturating_add(self.length))
    }

    /// Number of live groups.
    pub(crate) fn live_state(&self) -> usize {
        self.groups.len()
    }

    /// Closes the open window if the watermark has reached its end.
    pub(crate) fn advance(&mut self, now: i64, context: &Context<'_>, out: &mut Vec<Raised>) {
        if let Some(start) = self.current
            && start.saturating_add(self.length) <= now
        {
            self.close(start, out);
            self.current = None;
        }
        let _ = context;
    }

    /// Closes the open window at the end of input.
    pub(crate) fn finish(&mut self, out: &mut Vec<Raised>) {
        if let Some(start) = self.current.take() {
            self.close(start, out);
        }
    }

    /// Adds an event that passed the rule's filter.
    pub(crate) fn observe(&mut self, event: &Event, context: &Context<'_>, out: &mut Vec<Raised>) {
        let Some(text) = event.text(self.field) else {
            return;
        };
        if !long_enough(text, self.min_length) {
            return;
        }
        if !self.fingerprinter.sketch(text) {
            return;
        }
        let start = window_start(event.time, self.length);
        if let Some(current) = self.current.filter(|current| *current != start) {
            self.close(current, out);
        }
        self.current = Some(start);
        let bands = self.fingerprinter.bands();
        let identity = self.fingerprinter.identity();
        let slots = match identity.and_then(|identity| self.by_identity.get(&identity)) {
            Some(slots) => *slots,
            None => {
                let mut slots = [0; 4];
                for (band, slot) in slots.iter_mut().enumerate().take(bands) {
                    self.key.clear();
                    self.key.push(band as u32);
                    self.key.extend_from_slice(self.fingerprinter.band(band));
                    *slot = self.groups.slot(&self.key, event.time, &self.condition);
                }
                if let Some(identity) = identity {
                    self.by_identity.insert(identity, slots);
                }
                slots
            }
        };
        let slots = &slots[..bands];
        self.condition.add_to_groups(
            &mut self.groups.states,
            slots,
            |state| &mut state.aggregates,
            event,
            &mut self.interner,
        );
        for slot in slots {
            self.groups.states[*slot as usize]
                .evidence
                .add_event(event, context);
        }
    }

    /// Closes the window: evaluates every fingerprint and raises those whose
    /// condition holds, in fingerprint order.
    fn close(&mut self, start: i64, out: &mut Vec<Raised>) {
        let end = start.saturating_add(self.length);
        let groups = &mut self.groups;
        let condition = &self.condition;
        let leaves = &mut self.leaves;
        // Percentiles are across the window's groups: one pass for them first.
        leaves.percentiles.clear();
        for spec in &condition.percentiles {
            let mut values: Vec<f64> = groups.states[..groups.len()]
                .iter()
                .filter_map(|state| {
                    Condition::aggregate_values_into(&state.aggregates, &mut leaves.aggregates);
                    Condition::inner_value(&spec.inner, &leaves.aggregates)
                })
                .collect();
            leaves
                .percentiles
                .push(percentile(&mut values, spec.percentile));
        }
        leaves.baselines.clear();
        leaves.baselines.resize(condition.baselines.len(), None);
        let mut raised: Vec<(usize, Raised)> = Vec::new();
        for slot in 0..groups.len() {
            Condition::aggregate_values_into(
                &groups.states[slot].aggregates,
                &mut leaves.aggregates,
            );
            if !condition.holds(leaves) {
                continue;
            }
            let key = groups.key(slot);
            let mut group = std::collections::BTreeMap::new();
            group.insert(
                fingerprint::GROUP_NAME.to_string(),
                serde_json::Value::String(fingerprint::join(key[0] as usize, &key[1..])),
            );
            let alert = Raised {
                time: end,
                group,
                evidence: std::mem::replace(&mut groups.states[slot].evidence, Evidence::new(0)),
                values: condition.report(leaves),
                context: Default::default(),
            };
            raised.push((slot, alert));
        }
        // One-digit bands, then fixed-width hex joined by one separator: the
        // keys' order is the text's.
        raised.sort_by(|left, right| groups.key(left.0).cmp(groups.key(right.0)));
        out.extend(raised.into_iter().map(|(_, alert)| alert));
        groups.clear();
        self.by_identity.clear();
        self.interner.clear();
    }
}

#[cfg(test)]
mod tests;
