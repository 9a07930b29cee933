//! The near-duplicate fingerprint of a `cluster` rule: the meaning the
//! evaluator and every target share.
//!
//! A value of the clustered field with at least `min_length` characters
//! (Unicode scalar values) is reduced to a short key:
//!
//! 1. its words: the maximal runs of ASCII letters and digits
//!    ([`WORD_PATTERN`]), lowercased (ASCII);
//! 2. each distinct word hashed: the first [`HASH_DIGITS`] lowercase hex
//!    digits of the MD5 of its bytes;
//! 3. the distinct hashes sorted ascending (fixed-width hex, so text order is
//!    numeric order), the first `r` kept ([`sketch_size`]; all of them when
//!    the similarity is 1), joined with [`SEPARATOR`].
//!
//! A value without a word has no fingerprint. This is a bottom-`r` MinHash
//! sketch of the word set: two word sets with Jaccard similarity J have the
//! same fingerprint with a probability of about J^r, so `r` is chosen for
//! texts exactly at the rule's threshold to share it half the time. Every
//! step is a plain function in SQL, SPL, KQL and ES|QL, so a cluster is a
//! window grouped by a computed key, with no state that depends on event order.
//!
//! [`fingerprint`] is the reference implementation, written for clarity; the
//! evaluator has a faster one that is tested against it.

/// The words of a value: every non-overlapping match, left to right.
pub const WORD_PATTERN: &str = "[A-Za-z0-9]+";

/// Hex digits kept of each word's MD5 (32 bits).
pub const HASH_DIGITS: usize = 8;

/// Between the hashes of a fingerprint.
pub const SEPARATOR: &str = "-";

/// The name of the fingerprint in an alert's `group`.
pub const GROUP_NAME: &str = "fingerprint";

/// The number `r` of smallest word hashes a fingerprint keeps for a rule's
/// `similarity >= s`: the smallest `r` with s^r ≤ 1/2, ⌈ln 0.5 / ln s⌉
/// (0.8 gives 4), or `None` (every word: identical word sets) for s = 1.
/// Similarities at or below 0.5 give 1.
pub fn sketch_size(similarity: f64) -> Option<u32> {
    if similarity.is_nan() || similarity >= 1.0 {
        return None;
    }
    if similarity <= 0.5 {
        return Some(1);
    }
    // A hair below the exact quotient, so that a quotient that is a whole
    // number in exact arithmetic does not round up to the next one.
    let quotient = 0.5f64.ln() / similarity.ln() - 1e-9;
    Some(quotient.ceil().clamp(1.0, f64::from(u32::MAX)) as u32)
}

/// The length `min_length` compares: Unicode scalar values (code points),
/// what KQL `strlen()`, ES|QL `LENGTH()`, DuckDB `length()` and Spark
/// `length()` count.
pub fn length(text: &str) -> usize {
    text.chars().count()
}

/// The hash of one word (ASCII, already lowercased): the first four bytes of
/// its MD5, whose [`HASH_DIGITS`] hex digits are [`hex`] of it.
pub fn word_hash(word: &[u8]) -> u32 {
    use md5::Digest;
    let digest: [u8; 16] = md5::Md5::digest(word).into();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A word hash as its [`HASH_DIGITS`] lowercase hex digits.
pub fn hex(hash: u32) -> String {
    format!("{hash:08x}")
}

/// The fingerprint text of sorted, distinct word hashes.
pub fn join(hashes: &[u32]) -> String {
    hashes
        .iter()
        .map(|hash| hex(*hash))
        .collect::<Vec<_>>()
        .join(SEPARATOR)
}

/// The fingerprint of `text` keeping `sketch` hashes (`None`: all), or
/// `None` when it has no word. The length threshold is the caller's.
pub fn fingerprint(text: &str, sketch: Option<u32>) -> Option<String> {
    let mut hashes: Vec<String> = text
        .split(|character: char| !character.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| hex(word_hash(word.to_ascii_lowercase().as_bytes())))
        .collect();
    hashes.sort();
    hashes.dedup();
    if let Some(size) = sketch {
        hashes.truncate(size as usize);
    }
    (!hashes.is_empty()).then(|| hashes.join(SEPARATOR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketch_size_halves_the_chance_at_the_threshold() {
        assert_eq!(sketch_size(0.8), Some(4));
        assert_eq!(sketch_size(0.9), Some(7));
        assert_eq!(sketch_size(0.5), Some(1));
        assert_eq!(sketch_size(0.3), Some(1));
        assert_eq!(sketch_size(0.75), Some(3));
        assert_eq!(sketch_size(1.0), None);
        for similarity in [0.55, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99] {
            let size = sketch_size(similarity).unwrap() as i32;
            assert!(similarity.powi(size) <= 0.5, "{similarity}");
            assert!(similarity.powi(size - 1) > 0.5, "{similarity}");
        }
    }

    #[test]
    fn word_hashes_are_md5_prefixes() {
        // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72 (RFC 1321's test suite).
        assert_eq!(hex(word_hash(b"abc")), "90015098");
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661: leading zeros are kept.
        assert_eq!(hex(word_hash(b"a")), "0cc175b9");
    }

    #[test]
    fn fingerprints_of_words() {
        // Words: "abc" and "a"; case, punctuation, repeats and order do not matter.
        assert_eq!(
            fingerprint("ABC, a! abc", Some(4)).as_deref(),
            Some("0cc175b9-90015098")
        );
        assert_eq!(fingerprint("a abc", Some(1)).as_deref(), Some("0cc175b9"));
        assert_eq!(fingerprint("a abc", None), fingerprint("abc ... A", None));
        // Letters outside ASCII separate words; a value without a word has no fingerprint.
        assert_eq!(fingerprint("abcé a", None), fingerprint("a abc", None));
        assert_eq!(fingerprint("¿¡ — …", None), None);
        assert_eq!(fingerprint("", Some(4)), None);
        // The example in docs/language.md.
        assert_eq!(
            fingerprint(
                "Ignore ALL previous instructions; ignore them all.",
                Some(4)
            )
            .as_deref(),
            Some("2327346e-567bc1d2-a181a603-cbde2df6")
        );
    }

    #[test]
    fn length_counts_scalar_values() {
        assert_eq!(length("e\u{301}x"), 3);
        assert_eq!(length("😀"), 1);
    }
}
