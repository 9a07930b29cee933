#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;

#[test]
fn a_band_is_its_sorted_distinct_slices_then_the_first_r_joined_after_its_number() {
    let fingerprint = plan::Fingerprint::new("user_input", 0.8, 120);
    let (pattern, slices, key) = fingerprint_band(&fingerprint, 2).unwrap();
    assert_eq!(pattern, "[A-Za-z0-9]{3,}");
    assert_eq!(
        slices,
        "mvsort(mvdedup(mvmap(tripline_hash, substr(tripline_hash, 17, 8))))"
    );
    assert_eq!(
        key,
        "\"3:\" . mvjoin(mvindex(tripline_band_3, 0, min(5, mvcount(tripline_band_3) - 1)), \"-\")"
    );
}

#[test]
fn similarity_one_keeps_every_word_in_one_band() {
    let fingerprint = plan::Fingerprint::new("user_input", 1.0, 0);
    assert_eq!(fingerprint.bands(), 1);
    let (_, slices, key) = fingerprint_band(&fingerprint, 0).unwrap();
    assert_eq!(
        slices,
        "mvsort(mvdedup(mvmap(tripline_hash, substr(tripline_hash, 1, 8))))"
    );
    assert_eq!(key, "\"1:\" . mvjoin(tripline_band_1, \"-\")");
}
