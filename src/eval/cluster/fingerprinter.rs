//! The near-duplicate fingerprint of one text: word hashing, the per-band
//! sketches and the cache of repeated segments that keeps it linear on
//! templated traffic. [`super`] groups events by the band keys it returns.

use super::*;

/// A cached segment's bands: band `b`'s smallest distinct hashes (all of
/// them when the sketch keeps every hash), ascending, are
/// `hashes[ends[b - 1]..ends[b]]` (from 0 for the first).
#[derive(Debug)]
pub(super) struct Segment {
    /// Unique over the fingerprinter's life (ids are never reused, so a
    /// chain that names a dropped segment can never match another).
    id: u64,
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
    pub(super) state: Bands,
    pub(super) short: Box<[Slot]>,
    pub(super) long: FastMap<Box<[u8]>, [u32; 4]>,
    /// Segments' bands by the segments' bytes.
    pub(super) segments: FastMap<Box<[u8]>, Segment>,
    /// Bytes (text and hashes) held by [`Self::segments`].
    pub(super) segment_bytes: usize,
    /// Hashes of segments seen once, direct-mapped: a segment enters the
    /// cache the second time it is seen, so that text that never repeats
    /// takes the word path without paying for the cache.
    pub(super) seen: Box<[u64]>,
    /// Segment lookups and hits since the hit rate was last checked.
    pub(super) probes: u32,
    pub(super) hits: u32,
    /// Segments still to read word by word without the segment cache:
    /// free text repeats no sentence, and there the cache only costs.
    pub(super) bypass: u32,
    /// A long word, lowercased.
    pub(super) word: Vec<u8>,
    /// The word bytes of the value being read, one bit per byte.
    pub(super) bits: Vec<u64>,
    /// The hashes of the words of the segment being read, in order.
    pub(super) found: Vec<[u32; 4]>,
    /// The id the next cached segment gets.
    pub(super) next_segment: u64,
    /// Runs of cached segments: the node a value's bands reach from a node
    /// by one more cached segment (by the node and the segment's id).
    /// Templated values repeat whole runs of sentences, so a value made of
    /// cached segments usually walks known nodes and merges no hash at all.
    pub(super) chains: FastMap<(u32, u64), u32>,
    /// The bands at each node of [`Self::chains`]; node 0 is no segment.
    pub(super) nodes: Vec<Chained>,
    /// Bumped each time [`Self::chains`] starts again empty.
    pub(super) generation: u64,
    /// The node of the value being read while every segment so far was
    /// cached (and the sketch keeps columns); the bands in
    /// [`Self::state`] are then stale until [`Self::leave_chain`].
    pub(super) at: Option<u32>,
    /// The last value's node, with [`Self::generation`], when it was read
    /// along [`Self::chains`] to its end.
    pub(super) identity: Option<u64>,
}

/// A value's bands at a node of [`Fingerprinter::chains`] (what
/// [`Bands::reset`] resets when the sketch keeps columns).
#[derive(Debug, Clone)]
pub(super) struct Chained {
    columns: [[u32; COLUMN_ROWS]; 4],
    limits: [u32; 4],
    saw_max: [bool; 4],
}

impl Bands {
    /// The bands so far, when kept in columns.
    fn snapshot(&self) -> Chained {
        Chained {
            columns: self.columns,
            limits: self.limits,
            saw_max: self.saw_max,
        }
    }

    /// Sets the bands to a snapshot's.
    fn restore(&mut self, chained: &Chained) {
        self.columns = chained.columns;
        self.limits = chained.limits;
        self.saw_max = chained.saw_max;
    }
}

/// Shortest segment: a sentence mark closer than this to the segment's
/// start does not end it (`v2.0`, `...`).
pub(super) const MIN_SEGMENT: usize = 32;

/// Longest segment the segment cache holds; a longer one is read word by
/// word each time.
pub(super) const MAX_SEGMENT: usize = 1024;

/// Segments the cache holds before it starts again empty.
pub(super) const SEGMENTS: usize = 1 << 12;

/// Bytes (text and hashes) the segment cache holds before it starts again
/// empty.
pub(super) const SEGMENT_BYTES: usize = 4 << 20;

/// Slots of [`Fingerprinter::seen`].
pub(super) const SEEN_SLOTS: usize = 1 << 14;

/// Nodes [`Fingerprinter::chains`] holds before it starts again empty
/// (about 280 bytes each).
pub(super) const CHAIN_NODES: usize = 1 << 14;

/// Segment lookups between two checks of the hit rate.
pub(super) const PROBES: u32 = 256;

/// Segments read without the cache after a check that found fewer than one
/// hit in four lookups.
pub(super) const BYPASS: u32 = 4096;

impl Fingerprinter {
    /// A fingerprinter of `sketch`'s bands and rows.
    pub fn new(sketch: fingerprint::Sketch) -> Fingerprinter {
        let state = Bands::new(sketch);
        let empty = state.snapshot();
        Fingerprinter {
            state,
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
            next_segment: 0,
            chains: FastMap::default(),
            nodes: vec![empty],
            generation: 0,
            at: None,
            identity: None,
        }
    }

    /// An identity of the last [`Self::sketch`]ed value's fingerprint when
    /// the value was read along known runs of cached segments: two values
    /// with the same identity have the same fingerprint (values with the
    /// same fingerprint may have different identities, or none).
    pub fn identity(&self) -> Option<u64> {
        self.identity
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
        if self.nodes.len() >= CHAIN_NODES {
            self.chains.clear();
            self.nodes.truncate(1);
            self.generation += 1;
        }
        self.at = (self.state.sketch <= COLUMN_ROWS).then_some(0);
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
        self.identity = self
            .at
            .filter(|node| *node != 0)
            .map(|node| self.generation << 32 | u64::from(node));
        self.leave_chain();
        self.state.finish()
    }

    /// Stops reading along [`Self::chains`]: the bands become the node's.
    fn leave_chain(&mut self) {
        if let Some(node) = self.at.take()
            && node != 0
        {
            self.state.restore(&self.nodes[node as usize]);
        }
    }

    /// Adds the words of one segment (cut between words) to the value's bands.
    fn segment(&mut self, bytes: &[u8]) {
        if self.bypass > 0 || bytes.len() > MAX_SEGMENT {
            self.bypass = self.bypass.saturating_sub(1);
            self.leave_chain();
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
            match self.at {
                Some(node) => {
                    let next = chain(
                        &mut self.chains,
                        &mut self.nodes,
                        &mut self.state,
                        node,
                        segment,
                    );
                    self.at = Some(next);
                }
                None => merge(&mut self.state, segment),
            }
            return;
        }
        self.leave_chain();
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
    fn segment_of_found(&mut self) -> Segment {
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
        self.next_segment += 1;
        Segment {
            id: self.next_segment,
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
    pub(super) fn bands_of_found(&mut self) -> bool {
        self.state.reset();
        let found = std::mem::take(&mut self.found);
        for hash in &found {
            self.state.keep(*hash);
        }
        self.found = found;
        self.state.finish()
    }
}

/// Adds a cached segment's bands to a value's read along `chains` up to
/// `node` (its bands in `nodes`; `state` holds them only when it was made
/// there): the next node, made by merging once when new.
fn chain(
    chains: &mut FastMap<(u32, u64), u32>,
    nodes: &mut Vec<Chained>,
    state: &mut Bands,
    node: u32,
    segment: &Segment,
) -> u32 {
    if let Some(next) = chains.get(&(node, segment.id)) {
        return *next;
    }
    if node != 0 {
        state.restore(&nodes[node as usize]);
    }
    merge(state, segment);
    let next = nodes.len() as u32;
    nodes.push(state.snapshot());
    chains.insert((node, segment.id), next);
    next
}

/// Adds a cached segment's bands to a value's.
#[inline]
pub(super) fn merge(state: &mut Bands, segment: &Segment) {
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
pub(super) fn insert<const N: usize>(column: &mut [u32; COLUMN_ROWS], hash: u32) {
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
pub(super) fn long_enough(text: &str, minimum: usize) -> bool {
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
