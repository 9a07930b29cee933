//! The near-duplicate fingerprint of a `cluster` rule: the meaning the
//! evaluator and every target share.
//!
//! A value of the clustered field with at least `min_length` characters
//! (Unicode scalar values) is reduced to `b` band keys:
//!
//! 1. its words: the maximal runs of at least [`MIN_WORD`] ASCII letters and
//!    digits ([`WORD_PATTERN`]), lowercased (ASCII);
//! 2. each distinct word hashed once: the 32 lowercase hex digits of the MD5
//!    of its bytes, whose four 8-digit slices are four independent hashes,
//!    one per band ([`HASH_DIGITS`] digits from offset 8 × (band − 1));
//! 3. per band, the distinct slices sorted ascending (fixed-width hex, so
//!    text order is numeric order), the first `r` kept (all of them when the
//!    similarity is 1), joined with [`SEPARATOR`] and prefixed with the
//!    band's number and [`BAND_SEPARATOR`] (`2:0a1b2c3d-…`).
//!
//! A value without a word has no key. Each band is a bottom-`r` MinHash
//! sketch of the word set: two word sets with Jaccard similarity J share one
//! band's key with a probability of about J^r, and at least one of `b`
//! independent bands with about 1 − (1 − J^r)^b, the usual LSH S-curve whose
//! threshold (1/b)^(1/r) is chosen near the rule's similarity
//! ([`Sketch::for_similarity`]). Every step is a plain function in SQL, SPL,
//! KQL and ES|QL, so a cluster is a window grouped by a computed key that has
//! one value per band, with no state that depends on event order.
//!
//! [`fingerprint`] is the reference implementation, written for clarity; the
//! evaluator has a faster one that is tested against it.

/// The words of a value: every non-overlapping match, left to right. A
/// match is always a whole run of letters and digits: a run of fewer than
/// [`MIN_WORD`] has no match at any of its positions.
pub const WORD_PATTERN: &str = "[A-Za-z0-9]{3,}";

/// Shortest word, in characters (ASCII: bytes). Shorter ones (`a`, `to`,
/// `is`, the `s` of `what's`) are in most texts and carry no template.
pub const MIN_WORD: usize = 3;

/// Hex digits of each word's MD5 a band reads (32 bits).
pub const HASH_DIGITS: usize = 8;

/// Bands of a fingerprint below similarity 1: the four 32-bit slices of one MD5.
pub const BANDS: u32 = 4;

/// Between the hashes of a band key.
pub const SEPARATOR: &str = "-";

/// Between a band's number and its hashes.
pub const BAND_SEPARATOR: &str = ":";

/// The name of the fingerprint in an alert's `group`.
pub const GROUP_NAME: &str = "fingerprint";

/// How a rule's fingerprint is cut: `bands` band keys of `rows` smallest
/// hashes each (`None`: every hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sketch {
    /// Band keys per value, `b` (1 to [`BANDS`]).
    pub bands: u32,
    /// Hashes per band, `r`; `None` keeps every word (identical word sets).
    pub rows: Option<u32>,
}

impl Sketch {
    /// The sketch of `similarity >= s`: `b` = [`BANDS`] and `r` the whole
    /// number nearest to ln b / ln(1/s), so that the S-curve's threshold
    /// (1/b)^(1/r) is near `s` (0.8 gives r = 6, threshold 0.794; 0.9 gives
    /// 13, 0.899; 0.5 gives 2, 0.5; at or below 0.25, 1). For s = 1, one band
    /// of every word: only identical word sets share it.
    pub fn for_similarity(similarity: f64) -> Sketch {
        if similarity.is_nan() || similarity >= 1.0 {
            return Sketch {
                bands: 1,
                rows: None,
            };
        }
        let rows = if similarity <= 0.0 {
            1.0
        } else {
            (f64::from(BANDS).ln() / -similarity.ln()).round()
        };
        Sketch {
            bands: BANDS,
            rows: Some(rows.clamp(1.0, f64::from(u32::MAX)) as u32),
        }
    }

    /// The S-curve: the probability that two word sets with Jaccard
    /// similarity `jaccard` share at least one band key (about; exact for
    /// independent random hashes and large sets).
    pub fn collision_probability(&self, jaccard: f64) -> f64 {
        match self.rows {
            Some(rows) => 1.0 - (1.0 - jaccard.powi(rows as i32)).powi(self.bands as i32),
            None => f64::from(u8::from(jaccard >= 1.0)),
        }
    }
}

/// The length `min_length` compares: Unicode scalar values (code points),
/// what KQL `strlen()`, ES|QL `LENGTH()`, DuckDB `length()` and Spark
/// `length()` count.
pub fn length(text: &str) -> usize {
    text.chars().count()
}

/// The hashes of one word (ASCII, already lowercased): its MD5 as four
/// big-endian 32-bit numbers, whose [`HASH_DIGITS`] hex digits each are
/// [`hex`] of them; band `k` (from 1) reads the `k`-th.
pub fn word_hashes(word: &[u8]) -> [u32; 4] {
    use md5::Digest;
    let digest: [u8; 16] = md5::Md5::digest(word).into();
    let mut hashes = [0u32; 4];
    for (hash, bytes) in hashes.iter_mut().zip(digest.chunks_exact(4)) {
        *hash = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    hashes
}

/// A word hash as its [`HASH_DIGITS`] lowercase hex digits.
pub fn hex(hash: u32) -> String {
    format!("{hash:08x}")
}

/// The key text of band `band` (from 0) of sorted, distinct hashes.
pub fn join(band: usize, hashes: &[u32]) -> String {
    let hashes: Vec<String> = hashes.iter().map(|hash| hex(*hash)).collect();
    format!("{}{BAND_SEPARATOR}{}", band + 1, hashes.join(SEPARATOR))
}

/// The band keys of `text`, band 1 first, or none when it has no word. The
/// length threshold is the caller's.
pub fn fingerprint(text: &str, sketch: Sketch) -> Vec<String> {
    let words: Vec<String> = text
        .split(|character: char| !character.is_ascii_alphanumeric())
        .filter(|word| word.len() >= MIN_WORD)
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        return Vec::new();
    }
    (0..sketch.bands as usize)
        .map(|band| {
            let mut hashes: Vec<u32> = words
                .iter()
                .map(|word| word_hashes(word.as_bytes())[band])
                .collect();
            hashes.sort_unstable();
            hashes.dedup();
            if let Some(rows) = sketch.rows {
                hashes.truncate(rows as usize);
            }
            join(band, &hashes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s_curve_threshold_is_near_the_similarity() {
        let sketch = Sketch::for_similarity(0.8);
        assert_eq!(
            sketch,
            Sketch {
                bands: 4,
                rows: Some(6)
            }
        );
        assert_eq!(Sketch::for_similarity(0.9).rows, Some(13));
        assert_eq!(Sketch::for_similarity(0.5).rows, Some(2));
        assert_eq!(Sketch::for_similarity(0.2).rows, Some(1));
        assert_eq!(
            Sketch::for_similarity(1.0),
            Sketch {
                bands: 1,
                rows: None
            }
        );
        for similarity in [0.55, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95] {
            let sketch = Sketch::for_similarity(similarity);
            let rows = f64::from(sketch.rows.unwrap());
            let threshold = (1.0 / f64::from(sketch.bands)).powf(1.0 / rows);
            // Whole rows: 0.55 lies between r = 2 (0.5) and r = 3 (0.63).
            assert!(
                (threshold - similarity).abs() < 0.06,
                "{similarity} {threshold}"
            );
        }
        // The collision probabilities the documentation quotes for 0.8.
        let quoted = [
            (0.3, 0.003),
            (0.5, 0.061),
            (0.7, 0.394),
            (0.8, 0.704),
            (0.9, 0.952),
        ];
        for (jaccard, probability) in quoted {
            let computed = sketch.collision_probability(jaccard);
            assert!(
                (computed - probability).abs() < 0.0005,
                "{jaccard} {computed}"
            );
        }
    }

    #[test]
    fn word_hashes_are_the_four_slices_of_the_md5() {
        // MD5("abc") = 90015098 3cd24fb0 d6963f7d 28e17f72 (RFC 1321's test suite).
        let hashes = word_hashes(b"abc");
        let hexes: Vec<String> = hashes.iter().map(|hash| hex(*hash)).collect();
        assert_eq!(hexes, ["90015098", "3cd24fb0", "d6963f7d", "28e17f72"]);
        // Leading zeros are kept.
        assert_eq!(hex(7), "00000007");
    }

    #[test]
    fn fingerprints_of_words() {
        let two = Sketch {
            bands: 4,
            rows: Some(2),
        };
        // Words "abc" and "the"; case, punctuation, repeats, order and
        // words shorter than 3 characters do not matter.
        assert_eq!(
            fingerprint("ABC, a! to THE abc", two),
            fingerprint("the abc", two)
        );
        // MD5("abc") above; MD5("the") = 8fc42c6d df9966db 3b09e843 65034357.
        assert_eq!(
            fingerprint("the abc", two),
            [
                "1:8fc42c6d-90015098",
                "2:3cd24fb0-df9966db",
                "3:3b09e843-d6963f7d",
                "4:28e17f72-65034357",
            ]
        );
        assert_eq!(
            fingerprint(
                "the abc",
                Sketch {
                    bands: 4,
                    rows: Some(1)
                }
            )[3],
            "4:28e17f72"
        );
        assert_eq!(
            fingerprint(
                "abc",
                Sketch {
                    bands: 1,
                    rows: None
                }
            ),
            ["1:90015098"]
        );
        // Letters outside ASCII separate words; a value without a word of
        // three characters has no fingerprint.
        assert_eq!(fingerprint("abcé the", two), fingerprint("the abc", two));
        assert!(fingerprint("¿¡ — … a to", two).is_empty());
        assert!(fingerprint("", two).is_empty());
    }

    #[test]
    fn length_counts_scalar_values() {
        assert_eq!(length("e\u{301}x"), 3);
        assert_eq!(length("😀"), 1);
    }
}
