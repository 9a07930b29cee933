//! The field-name table of the hot path.

/// Field names to slots: a power-of-two open-addressing table probed by a
/// cheap hash of the name's length and edge words (JSON keys are short).
#[derive(Debug, Clone, Default)]
pub(super) struct NameTable {
    entries: Vec<Option<NameEntry>>,
    len: usize,
}

/// A name with its first and last eight bytes as words: two names of at most
/// 16 bytes are equal exactly when their lengths and both words are, which
/// the lookup checks without a call to `memcmp`.
#[derive(Debug, Clone)]
struct NameEntry {
    name: Box<str>,
    words: (u64, u64),
    slot: u16,
}

impl NameTable {
    /// A hash of the name's length and edge words.
    #[inline]
    fn hash(length: usize, (head, tail): (u64, u64)) -> usize {
        let mixed =
            (head ^ tail.rotate_left(29) ^ length as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 40) as usize
    }

    /// The first and last eight bytes (overlapping), or for names shorter
    /// than eight bytes, the bytes zero-padded and no second word.
    #[inline]
    fn words(name: &[u8]) -> (u64, u64) {
        if let (Some(head), Some(tail)) = (name.first_chunk::<8>(), name.last_chunk::<8>()) {
            (u64::from_le_bytes(*head), u64::from_le_bytes(*tail))
        } else {
            let head = name
                .iter()
                .rev()
                .fold(0u64, |word, &byte| word << 8 | u64::from(byte));
            (head, 0)
        }
    }

    pub(super) fn insert(&mut self, name: &str, slot: u16) {
        if (self.len + 1) * 2 > self.entries.len() {
            let old = std::mem::take(&mut self.entries);
            self.entries = vec![None; (old.len() * 2).max(64)];
            self.len = 0;
            for entry in old.into_iter().flatten() {
                self.insert(&entry.name, entry.slot);
            }
        }
        let mask = self.entries.len() - 1;
        let words = Self::words(name.as_bytes());
        let mut index = Self::hash(name.len(), words) & mask;
        while let Some(entry) = &self.entries[index] {
            if *entry.name == *name {
                return;
            }
            index = (index + 1) & mask;
        }
        self.entries[index] = Some(NameEntry {
            name: name.into(),
            words,
            slot,
        });
        self.len += 1;
    }

    #[inline]
    pub(super) fn get(&self, name: &str) -> Option<&u16> {
        if self.entries.is_empty() {
            return None;
        }
        let bytes = name.as_bytes();
        let words = Self::words(bytes);
        let mask = self.entries.len() - 1;
        let mut index = Self::hash(bytes.len(), words) & mask;
        loop {
            match &self.entries[index] {
                None => return None,
                Some(entry)
                    if entry.name.len() == bytes.len()
                        && entry.words == words
                        && (bytes.len() <= 16 || *entry.name == *name) =>
                {
                    return Some(&entry.slot);
                }
                Some(_) => index = (index + 1) & mask,
            }
        }
    }
}
