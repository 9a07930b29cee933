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
//! `r` smallest, kept ascending (sorted vectors when `r` is over 16). Only
//! the keys of the groups are written as hex, when an alert is raised. The
//! open window's groups are keyed by band and hashes (a new group copies
//! them once); an event joins one group per band.
//!
//! State: the open window's groups (aggregate states and evidence), dropped
//! when the window closes, and the word-hash and segment caches.

use std::hash::BuildHasher;

use super::condition::{Condition, Leaves, percentile};
use super::event::Event;
use super::group::FastMap;
use super::state::{Context, Evidence, Raised};
use super::time::window_start;
use super::window::GroupState;
use crate::ir::fingerprint;

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

/// A cached segment's bands: band `b`'s smallest distinct hashes (all of
/// them when the sketch keeps every hash), ascending, are
/// `hashes[ends[b - 1]..ends[b]]` (from 0 for the first).
#[derive(Debug)]
struct Segment {
    ends: [u32; 4],
    hashes: Box<[u32]>,
}

/// The word-hash caches, the segment cache and the buffer of one value's
/// smallest hashes.
///
/// A value is cut into segments after sentence marks (`.`, `?`, line
/// feed; none of them a word byte, so no word spans two segments), and
/// each segment's bands are looked up by its bytes in a bounded cache:
/// templated text repeats whole sentences, and the bottom `r` hashes of a
/// value are the bottom `r` of its segments' bottom `r`, so a value made
/// of known sentences costs one hash and one comparison of its bytes per
/// segment, and a few comparisons per band. A segment not in the cache is
/// read word by word: a bitmap marks its word bytes, 64 bytes per `u64`
/// without a branch, and the words are the runs of set bits, found with
/// `trailing_zeros`. Bytes of multi-byte characters are never ASCII
/// letters or digits, so the UTF-8 bytes split into words exactly as the
/// characters do. A word of up to 16 bytes is read as one `u128`,
/// lowercased with one `or`, and looked up in a direct-mapped table, so
/// that neither the word nor its lookup allocates; MD5 runs only on a miss.
#[derive(Debug)]
pub struct Fingerprinter {
    state: Bands,
    short: Box<[Slot]>,
    long: FastMap<Box<[u8]>, [u32; 4]>,
    /// Segments' bands by the segments' bytes.
    segments: FastMap<Box<[u8]>, Segment>,
    /// Bytes (text and hashes) held by [`Self::segments`].
    segment_bytes: usize,
    /// Hashes of segments seen once, direct-mapped: a segment enters the
    /// cache the second time it is seen, so that text that never repeats
    /// takes the word path without paying for the cache.
    seen: Box<[u64]>,
    /// Segment lookups and hits since the hit rate was last checked.
    probes: u32,
    hits: u32,
    /// Segments still to read word by word without the segment cache:
    /// free text repeats no sentence, and there the cache only costs.
    bypass: u32,
    /// A long word, lowercased.
    word: Vec<u8>,
    /// The word bytes of the value being read, one bit per byte.
    bits: Vec<u64>,
    /// The hashes of the words of the segment being read, in order.
    found: Vec<[u32; 4]>,
}

/// Shortest segment: a sentence mark closer than this to the segment's
/// start does not end it (`v2.0`, `...`).
const MIN_SEGMENT: usize = 32;

/// Longest segment the segment cache holds; a longer one is read word by
/// word each time.
const MAX_SEGMENT: usize = 1024;

/// Segments the cache holds before it starts again empty.
const SEGMENTS: usize = 1 << 12;

/// Bytes (text and hashes) the segment cache holds before it starts again
/// empty.
const SEGMENT_BYTES: usize = 4 << 20;

/// Slots of [`Fingerprinter::seen`].
const SEEN_SLOTS: usize = 1 << 14;

/// Segment lookups between two checks of the hit rate.
const PROBES: u32 = 256;

/// Segments read without the cache after a check that found fewer than one
/// hit in four lookups.
const BYPASS: u32 = 4096;

impl Fingerprinter {
    /// A fingerprinter of `sketch`'s bands and rows.
    pub fn new(sketch: fingerprint::Sketch) -> Fingerprinter {
        Fingerprinter {
            state: Bands::new(sketch),
            short: vec![Slot::default(); SHORT_SLOTS].into_boxed_slice(),
            long: FastMap::default(),
            segments: FastMap::default(),
            segment_bytes: 0,
            seen: vec![0; SEEN_SLOTS].into_boxed_slice(),
            probes: 0,
            hits: 0,
            bypass: 0,
            word: Vec::new(),
            bits: Vec::new(),
            found: Vec::new(),
        }
    }

    /// The hash of a word of at most [`SHORT_WORD`] bytes, packed.
    #[inline]
    fn short_hash(&mut self, word: u128, length: usize) -> [u32; 4] {
        let folded = (word as u64) ^ ((word >> 64) as u64).rotate_left(29);
        let index = (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize % SHORT_SLOTS;
        let slot = &mut self.short[index];
        if slot.word == word {
            return slot.hash;
        }
        let bytes = word.to_le_bytes();
        let hash = fingerprint::word_hashes(&bytes[..length]);
        *slot = Slot { word, hash };
        hash
    }

    /// The hash of a longer word (lowercased into `word`).
    fn long_hash(&mut self, word: &[u8]) -> [u32; 4] {
        if word.len() > LONG_WORD {
            return fingerprint::word_hashes(word);
        }
        if let Some(hash) = self.long.get(word) {
            return *hash;
        }
        let hash = fingerprint::word_hashes(word);
        if self.long.len() >= LONG_WORDS {
            self.long.clear();
        }
        self.long.insert(word.into(), hash);
        hash
    }

    /// Band `band`'s (from 0) sorted hashes of the last [`Self::sketch`]ed value.
    pub fn band(&self, band: usize) -> &[u32] {
        &self.state.hashes[band]
    }

    /// Bands of a fingerprint.
    pub fn bands(&self) -> usize {
        self.state.bands
    }

    /// Marks the word bytes of `bytes` in [`Self::bits`], one bit per byte.
    fn mark(&mut self, bytes: &[u8]) {
        self.bits.clear();
        self.bits.extend(bytes.chunks(64).map(|chunk| {
            let mut eights = chunk.chunks_exact(8);
            let mut bits = 0u64;
            let mut at = 0;
            for eight in &mut eights {
                let mut array = [0u8; 8];
                array.copy_from_slice(eight);
                bits |= word_bytes(u64::from_le_bytes(array)) << at;
                at += 8;
            }
            for byte in eights.remainder() {
                bits |= u64::from(WORD_BYTE[*byte as usize]) << at;
                at += 1;
            }
            bits
        }));
    }

    /// Adds the word `bytes[start..end]` (a whole run of word bytes).
    #[inline]
    fn word(&mut self, bytes: &[u8], start: usize, end: usize) {
        let length = end - start;
        if length < fingerprint::MIN_WORD {
            return;
        }
        let hash = if length <= SHORT_WORD {
            let mut array = [0u8; SHORT_WORD];
            match bytes.get(start..start + SHORT_WORD) {
                Some(window) => array.copy_from_slice(window),
                None => array[..length].copy_from_slice(&bytes[start..end]),
            }
            // Keep the word's bytes only, lowercased.
            let mask = u128::MAX >> (128 - 8 * length);
            self.short_hash((u128::from_le_bytes(array) | LOWERCASE) & mask, length)
        } else {
            let mut word = std::mem::take(&mut self.word);
            lowercase(&bytes[start..end], &mut word);
            let hash = self.long_hash(&word);
            self.word = word;
            hash
        };
        self.found.push(hash);
    }

    /// Computes the fingerprint of `text` (read it with [`Self::band`]);
    /// false when it has no word.
    pub fn sketch(&mut self, text: &str) -> bool {
        let bytes = text.as_bytes();
        self.state.reset();
        let mut start = 0;
        for mark in memchr::memchr3_iter(b'.', b'?', b'\n', bytes) {
            if mark + 1 - start >= MIN_SEGMENT {
                self.segment(&bytes[start..=mark]);
                start = mark + 1;
            }
        }
        if start < bytes.len() {
            self.segment(&bytes[start..]);
        }
        self.state.finish()
    }

    /// Adds the words of one segment (cut between words) to the value's bands.
    fn segment(&mut self, bytes: &[u8]) {
        if self.bypass > 0 || bytes.len() > MAX_SEGMENT {
            self.bypass = self.bypass.saturating_sub(1);
            self.words_to_bands(bytes);
            return;
        }
        self.probes += 1;
        if self.probes >= PROBES {
            // Mostly misses: read the next segments without the cache.
            if self.hits < PROBES / 4 {
                self.bypass = BYPASS;
            }
            (self.probes, self.hits) = (0, 0);
        }
        if let Some(segment) = self.segments.get(bytes) {
            self.hits += 1;
            merge(&mut self.state, segment);
            return;
        }
        let hash = self.segments.hasher().hash_one(bytes);
        let seen = &mut self.seen[(hash >> 50) as usize % SEEN_SLOTS];
        if *seen != hash {
            *seen = hash;
            self.words_to_bands(bytes);
            return;
        }
        self.words(bytes);
        let segment = self.segment_of_found();
        merge(&mut self.state, &segment);
        let size = bytes.len() + 4 * segment.hashes.len();
        if self.segments.len() >= SEGMENTS || self.segment_bytes + size > SEGMENT_BYTES {
            self.segments.clear();
            self.segment_bytes = 0;
        }
        self.segment_bytes += size;
        self.segments.insert(bytes.into(), segment);
    }

    /// Adds the words of `bytes` to the value's bands one by one.
    fn words_to_bands(&mut self, bytes: &[u8]) {
        self.words(bytes);
        let found = std::mem::take(&mut self.found);
        for hash in &found {
            self.state.keep(*hash);
        }
        self.found = found;
    }

    /// The bands of the words in [`Self::found`], as a cached segment.
    fn segment_of_found(&self) -> Segment {
        let bands = self.state.bands;
        let rows = self.state.sketch;
        let mut hashes = Vec::with_capacity(bands * rows.min(self.found.len()));
        let mut ends = [0u32; 4];
        for (band, end) in ends.iter_mut().enumerate().take(bands) {
            let start = hashes.len();
            hashes.extend(self.found.iter().map(|hash| hash[band]));
            hashes[start..].sort_unstable();
            let mut kept = start;
            for at in start..hashes.len() {
                if (kept == start || hashes[kept - 1] != hashes[at]) && kept - start < rows {
                    hashes[kept] = hashes[at];
                    kept += 1;
                }
            }
            hashes.truncate(kept);
            *end = hashes.len() as u32;
        }
        let last = ends[bands - 1];
        ends[bands..].fill(last);
        Segment {
            ends,
            hashes: hashes.into_boxed_slice(),
        }
    }

    /// Reads the words of `bytes` into [`Self::found`], in order.
    ///
    /// The words are the runs of set bits of [`Self::bits`]: in each 64-bit
    /// chunk a run starts at a set bit whose lower neighbour (the previous
    /// chunk's top bit for bit 0) is clear and ends at a set bit whose upper
    /// neighbour is clear, so starts and ends alternate and pair up in
    /// order; a run still open at the end of a chunk is carried to the next.
    fn words(&mut self, bytes: &[u8]) {
        self.found.clear();
        self.mark(bytes);
        let bits = std::mem::take(&mut self.bits);
        let mut open: Option<usize> = None;
        let mut below = 0u64;
        for (index, &chunk) in bits.iter().enumerate() {
            let above = bits.get(index + 1).map_or(0, |next| next & 1);
            let mut starts = chunk & !((chunk << 1) | below);
            let mut ends = chunk & !((chunk >> 1) | (above << 63));
            below = chunk >> 63;
            let base = index * 64;
            while ends != 0 {
                let end = base + ends.trailing_zeros() as usize + 1;
                ends &= ends - 1;
                let start = match open.take() {
                    Some(start) => start,
                    None => {
                        let start = base + starts.trailing_zeros() as usize;
                        starts &= starts.wrapping_sub(1);
                        start
                    }
                };
                self.word(bytes, start, end);
            }
            if starts != 0 {
                open = Some(base + starts.trailing_zeros() as usize);
            }
        }
        self.bits = bits;
    }

    /// Computes the bands of the word hashes in [`Self::found`]; false
    /// when there is none.
    #[cfg(test)]
    fn bands_of_found(&mut self) -> bool {
        self.state.reset();
        let found = std::mem::take(&mut self.found);
        for hash in &found {
            self.state.keep(*hash);
        }
        self.found = found;
        self.state.finish()
    }
}

/// Adds a cached segment's bands to a value's.
#[inline]
fn merge(state: &mut Bands, segment: &Segment) {
    let mut start = 0;
    for band in 0..state.bands {
        let end = segment.ends[band] as usize;
        state.merge(band, &segment.hashes[start..end]);
        start = end;
    }
}

/// Inserts `hash` into the ascending first `N` places of `column` unless it
/// is there, dropping the last. Branch-free over a fixed `N`, so that the
/// compiler compares and shifts all places at once.
#[inline]
fn insert<const N: usize>(column: &mut [u32; COLUMN_ROWS], hash: u32) {
    let Some(column) = column.first_chunk_mut::<N>() else {
        return;
    };
    let mut below = 0;
    let mut there = false;
    for value in column.iter() {
        below += usize::from(*value < hash);
        there |= *value == hash;
    }
    if there {
        return;
    }
    let old = *column;
    for (at, place) in column.iter_mut().enumerate() {
        *place = if at < below {
            old[at]
        } else if at == below {
            hash
        } else {
            old[at.saturating_sub(1)]
        };
    }
}

/// Whether `text` has at least `minimum` characters (Unicode scalar values),
/// counting them only when the byte length does not decide it.
fn long_enough(text: &str, minimum: usize) -> bool {
    let bytes = text.len();
    if bytes < minimum {
        return false;
    }
    // A character is at most 4 bytes.
    if bytes / 4 >= minimum {
        return true;
    }
    // Every byte that is not a UTF-8 continuation byte starts a character.
    let characters = text
        .as_bytes()
        .iter()
        .filter(|byte| (**byte & 0xC0) != 0x80)
        .count();
    characters >= minimum
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

    /// The state of `key`, created (or a waiting slot reused) at `time` when new.
    fn state(&mut self, key: &[u32], time: i64, condition: &Condition) -> &mut GroupState {
        let hash = hash_words(key);
        let Groups {
            table,
            words,
            keys,
            states,
        } = self;
        let found = table
            .find(hash, |slot| {
                let (start, length, stored) = keys[*slot as usize];
                stored == hash && &words[start as usize..(start + length) as usize] == key
            })
            .copied();
        let slot = match found {
            Some(slot) => slot as usize,
            None => {
                let slot = keys.len();
                keys.push((words.len() as u32, key.len() as u32, hash));
                words.extend_from_slice(key);
                table.insert_unique(hash, slot as u32, |slot| keys[*slot as usize].2);
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
        &mut states[slot]
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
        for band in 0..self.fingerprinter.bands() {
            self.key.clear();
            self.key.push(band as u32);
            self.key.extend_from_slice(self.fingerprinter.band(band));
            let state = self.groups.state(&self.key, event.time, &self.condition);
            self.condition.add(&mut state.aggregates, event);
            state.evidence.add_event(event, context);
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Sketches that reach every path: columns of at most 8 and at most
    /// [`COLUMN_ROWS`] rows, sorted vectors, every word; 1 to 4 bands.
    const SKETCHES: [(u32, Option<u32>); 12] = [
        (4, Some(1)),
        (4, Some(2)),
        (4, Some(6)),
        (3, Some(8)),
        (4, Some(9)),
        (2, Some(13)),
        (4, Some(16)),
        (4, Some(17)),
        (1, Some(40)),
        (4, Some(138)),
        (1, None),
        (4, None),
    ];

    /// One piece of a random text: a word of the vocabulary (short, long,
    /// mixed case, non-ASCII), a random run of letters and digits, any
    /// character, or a separator.
    fn piece() -> impl Strategy<Value = String> {
        let vocabulary = prop::sample::select(vec![
            "a",
            "to",
            "is",
            "IS",
            "the",
            "The",
            "THE",
            "dan",
            "DAN",
            "ignore",
            "Ignore",
            "previous",
            "instructions",
            "naïve",
            "é",
            "İstanbul",
            "K\u{212A}elvin",
            "straße",
            "😀",
            "v2",
            "007",
            "x1y",
            "abcdefghijklmnop",
            "ABCDEFGHIJKLMNOPQ",
            "0123456789012345678901234567890123456789012345678901234567890123456789",
        ]);
        prop_oneof![
            4 => vocabulary.prop_map(str::to_string),
            2 => "[A-Za-z0-9]{1,20}",
            1 => any::<char>().prop_map(String::from),
            2 => prop::sample::select(vec![" ", " ", ", ", "-", "\n", "", "...", " — "])
                .prop_map(str::to_string),
        ]
    }

    /// A text and a near-duplicate of it: some pieces replaced, dropped or
    /// doubled.
    fn near_duplicates() -> impl Strategy<Value = (String, String)> {
        (
            prop::collection::vec(piece(), 0..120),
            prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, piece()), 0..6),
        )
            .prop_map(|(pieces, edits)| {
                let mut edited = pieces.clone();
                for (at, kind, piece) in edits {
                    if edited.is_empty() {
                        edited.push(piece);
                        continue;
                    }
                    let at = at.index(edited.len());
                    match kind {
                        0 => edited[at] = piece,
                        1 => {
                            edited.remove(at);
                        }
                        _ => edited.insert(at, edited[at].clone()),
                    }
                }
                (pieces.concat(), edited.concat())
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn the_fast_fingerprint_is_the_reference_on_random_texts(
            (text, near) in near_duplicates()
        ) {
            for (bands, rows) in SKETCHES {
                let sketch = fingerprint::Sketch { bands, rows };
                let mut fingerprinter = Fingerprinter::new(sketch);
                // The same fingerprinter for both: its caches carry over.
                for text in [&text, &near, &text] {
                    prop_assert_eq!(
                        fast(&mut fingerprinter, text),
                        fingerprint::fingerprint(text, sketch),
                        "{:?} {:?}", text, sketch
                    );
                }
            }
        }

        /// Hashes from a small range (many repeats), with `0` and
        /// `u32::MAX` (an empty column place holds it too): the bands are
        /// each band's smallest distinct hashes.
        #[test]
        fn bands_are_the_smallest_distinct_hashes(
            words in prop::collection::vec(
                prop::array::uniform4(prop_oneof![
                    Just(0u32), Just(u32::MAX), Just(u32::MAX - 1), 0..40u32, any::<u32>()
                ]),
                0..60,
            )
        ) {
            for (bands, rows) in SKETCHES {
                let sketch = fingerprint::Sketch { bands, rows };
                let mut fingerprinter = Fingerprinter::new(sketch);
                fingerprinter.found.clear();
                fingerprinter.found.extend_from_slice(&words);
                let some = fingerprinter.bands_of_found();
                prop_assert_eq!(some, !words.is_empty());
                for band in 0..bands as usize {
                    let mut expected: Vec<u32> = words.iter().map(|hash| hash[band]).collect();
                    expected.sort_unstable();
                    expected.dedup();
                    expected.truncate(rows.map_or(usize::MAX, |rows| rows as usize));
                    prop_assert_eq!(fingerprinter.band(band), expected.as_slice(), "{:?}", sketch);
                }
            }
        }
    }

    /// Texts that share words, with repeats, case, punctuation, non-ASCII
    /// and words of 16, 17 and over 64 bytes.
    fn texts() -> Vec<String> {
        let dictionary = [
            "the",
            "A",
            "you",
            "IGNORE",
            "rules",
            "dan",
            "now",
            "answer",
            "x",
            "y",
            "z",
            "w",
            "é",
            "naïve",
            "v2",
            "—",
            "",
            "...",
            "ABCDEFGHIJKLMNOP",
            "abcdefghijklmnopq",
            "K\u{212A}elvin",
            "İstanbul",
            "0123456789012345678901234567890123456789012345678901234567890123456789",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..500)
            .map(|_| {
                let length = (next() % 12) as usize;
                let words: Vec<&str> = (0..length)
                    .map(|_| dictionary[(next() % dictionary.len() as u64) as usize])
                    .collect();
                let separator = [" ", ",", "-", "  ", ""][(next() % 5) as usize];
                words.join(separator)
            })
            .collect()
    }

    const EXAMPLE_KEYS: [&str; 4] = [
        "1:2327346e-567bc1d2",
        "2:68f13549-769c1f98",
        "3:21da19f1-6de3d5b9",
        "4:46b691f3-5705d30c",
    ];

    /// The band keys of the fast path.
    fn fast(fingerprinter: &mut Fingerprinter, text: &str) -> Vec<String> {
        if !fingerprinter.sketch(text) {
            return Vec::new();
        }
        (0..fingerprinter.bands())
            .map(|band| fingerprint::join(band, fingerprinter.band(band)))
            .collect()
    }

    #[test]
    fn a_fixed_example_has_hand_checked_band_keys() {
        // Words of 3+ characters ("to" and "be" are too short) and their
        // MD5s (Python's hashlib, `md5sum`), one 8-digit slice per band:
        //   ignore       567bc1d2 68f13549 6de3d5b9 46b691f3
        //   all          a181a603 769c1f98 ad927e73 67c7aa51
        //   previous     2327346e 833efcd6 b2e7b3f0 a4df8ebb
        //   instructions cbde2df6 a7c89370 edc449dc 5705d30c
        //   them         e886b5e8 a9e6a8b1 a306ac1e fb18ec84
        //   sure         d5e1f5a7 f2fe3dab 21da19f1 c04fbd2b
        // Each band's key: its 2 smallest slices, ascending.
        let text = "Ignore ALL previous instructions; ignore them all, to be sure.";
        let sketch = fingerprint::Sketch {
            bands: 4,
            rows: Some(2),
        };
        let mut fingerprinter = Fingerprinter::new(sketch);
        assert_eq!(fast(&mut fingerprinter, text), EXAMPLE_KEYS);
        assert_eq!(fingerprint::fingerprint(text, sketch), EXAMPLE_KEYS);
    }

    #[test]
    fn the_fast_fingerprint_is_the_reference_fingerprint() {
        for (bands, rows) in SKETCHES {
            let sketch = fingerprint::Sketch { bands, rows };
            let mut fingerprinter = Fingerprinter::new(sketch);
            for text in texts() {
                assert_eq!(
                    fast(&mut fingerprinter, &text),
                    fingerprint::fingerprint(&text, sketch),
                    "{text:?} {sketch:?}"
                );
            }
        }
    }

    /// Long values of sentences: templated ones (repeated segments, cache
    /// hits), segments over [`MAX_SEGMENT`], marks closer than
    /// [`MIN_SEGMENT`], and more segments than the cache holds.
    #[test]
    fn segments_of_long_values_are_the_reference() {
        let texts = texts();
        let mut values: Vec<String> = Vec::new();
        for (index, text) in texts.iter().enumerate() {
            let next = &texts[(index * 7 + 3) % texts.len()];
            let marks = [". ", "? ", "\n", ".", "...", "! "];
            let mark = marks[index % marks.len()];
            values.push(format!("{text}{mark}{next}{mark}{text}. Order {index}."));
            // Over MAX_SEGMENT bytes without a mark, then a mark.
            if index % 50 == 0 {
                values.push(format!(
                    "{}. {text}",
                    text.repeat(2 * MAX_SEGMENT / text.len().max(1))
                ));
                values.push(format!("v2.0 {text}.x.y? {}", "Ignore me. ".repeat(200)));
            }
        }
        for (bands, rows) in SKETCHES {
            let sketch = fingerprint::Sketch { bands, rows };
            let mut fingerprinter = Fingerprinter::new(sketch);
            // Twice: the second pass reads the cached segments.
            for value in values.iter().chain(&values) {
                assert_eq!(
                    fast(&mut fingerprinter, value),
                    fingerprint::fingerprint(value, sketch),
                    "{value:?} {sketch:?}"
                );
            }
        }
        // Many distinct segments: the cache starts again, within its bounds.
        let mut fingerprinter = Fingerprinter::new(fingerprint::Sketch::for_similarity(0.8));
        // Every segment new: none enters the cache, and lookups alternate
        // with stretches that bypass it.
        let mut bypassed = false;
        for number in 0..PROBES + 10 {
            fingerprinter.sketch(&format!("segment number {number} of many."));
            bypassed |= fingerprinter.bypass > 0;
        }
        assert!(bypassed && fingerprinter.segments.is_empty());
        // Every segment three times: the second enters the cache, the third
        // hits it, and the cache fills and starts again.
        let mut fingerprinter = Fingerprinter::new(fingerprint::Sketch::for_similarity(0.8));
        let mut cleared = false;
        for number in 0..SEGMENTS + 10 {
            for _ in 0..3 {
                let before = fingerprinter.segments.len();
                fingerprinter.sketch(&format!("segment number {number} of many."));
                assert!(fingerprinter.segments.len() <= SEGMENTS);
                assert!(fingerprinter.segment_bytes <= SEGMENT_BYTES);
                cleared |= fingerprinter.segments.len() < before;
            }
        }
        assert!(cleared && fingerprinter.bypass == 0);
    }

    #[test]
    fn the_caches_stay_bounded_and_colliding_words_keep_their_own_hash() {
        let two = fingerprint::Sketch {
            bands: 4,
            rows: Some(2),
        };
        let mut fingerprinter = Fingerprinter::new(two);
        // Far more short words than slots: each lookup after an eviction is
        // recomputed, never another word's hash.
        for number in 0..SHORT_SLOTS * 2 {
            let text = format!("w{number}");
            assert_eq!(
                fast(&mut fingerprinter, &text),
                fingerprint::fingerprint(&text, two)
            );
        }
        assert_eq!(fingerprinter.short.len(), SHORT_SLOTS);
        // Long words: the second cache starts again when full; longer ones bypass it.
        for number in 0..LONG_WORDS + 10 {
            fingerprinter.sketch(&format!("{}{number}", "x".repeat(SHORT_WORD)));
        }
        assert!(fingerprinter.long.len() <= LONG_WORDS);
        for length in [SHORT_WORD, SHORT_WORD + 1, LONG_WORD, LONG_WORD + 1] {
            let word = "Ab".repeat(length).chars().take(length).collect::<String>();
            let before = fingerprinter.long.len();
            let keys = fast(&mut fingerprinter, &word);
            if length > LONG_WORD {
                assert_eq!(fingerprinter.long.len(), before);
            }
            assert_eq!(keys, fingerprint::fingerprint(&word, two), "{length}");
        }
    }

    #[test]
    fn eight_bytes_are_classified_as_one_at_a_time() {
        // Every byte value in every position, next to word and non-word bytes.
        for byte in 0..=255u8 {
            for position in 0..8 {
                for filler in [b'a', b' ', 0xC3, b'Z', b'9', 0x7F] {
                    let mut array = [filler; 8];
                    array[position] = byte;
                    let expected = array.iter().enumerate().fold(0u64, |bits, (at, byte)| {
                        bits | (u64::from(WORD_BYTE[*byte as usize]) << at)
                    });
                    assert_eq!(word_bytes(u64::from_le_bytes(array)), expected, "{array:?}");
                }
            }
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert!(long_enough("abc", 3));
        assert!(!long_enough("ab", 3));
        // Two characters of two bytes each: 4 bytes, 2 characters.
        assert!(!long_enough("éé", 3));
        assert!(long_enough("ééé", 3));
        assert!(long_enough("😀😀😀", 3));
        assert!(!long_enough("😀😀", 3));
        assert!(long_enough("", 0));
        for text in texts() {
            for minimum in 0..40 {
                assert_eq!(
                    long_enough(&text, minimum),
                    fingerprint::length(&text) >= minimum
                );
            }
        }
    }
}
