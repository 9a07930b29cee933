//! Did-you-mean: the nearest known name, only when it is close.

/// The candidate closest to `name` by edit distance, if it is close enough to
/// be a likely typo (distance at most a third of the name, and at least 1).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    let lowered = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&lowered, &candidate.to_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by(|left, right| left.0.cmp(&right.0).then(left.1.cmp(right.1)))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_only_close_names() {
        let fields = ["user_input", "user_id", "output", "output_tokens"];
        assert_eq!(did_you_mean("user_inptu", fields), Some("user_input"));
        assert_eq!(did_you_mean("outptu", fields), Some("output"));
        assert_eq!(did_you_mean("zzz", fields), None);
        assert_eq!(did_you_mean("USER_ID", fields), Some("user_id"));
    }
}
