//! The cluster shape in ES|QL: how the fingerprint is spelled and the
//! grouping by band key.

use super::*;

impl<'a> Query<'a> {
    /// A cluster's fingerprint (see `docs/language.md`, `cluster`): the
    /// tests that select the events with a long enough value (added to the
    /// source's `WHERE`), and the commands that leave one row per event and
    /// band, with the band key in [`FINGERPRINT`] and every field the window
    /// reads after it.
    ///
    /// ES|QL has no per-value map over a multivalued column, so each word
    /// gets its own row and the rows are gathered back per event:
    /// 1. `REPLACE` every run of characters outside the word class by a
    ///    space, then `SPLIT` at spaces: the runs of ASCII letters and
    ///    digits, left to right (REPLACE substitutes every match of a Java
    ///    regex, and `[^A-Za-z0-9]` matches any other character, non-ASCII
    ///    letters included:
    ///    <https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions/replace>;
    ///    SPLIT takes a one-byte delimiter:
    ///    <https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions/split>).
    ///    The text is all ASCII letters, digits and spaces by then, so
    ///    `TO_LOWER` lowercases each word and nothing else (a non-ASCII
    ///    letter is never folded into a word). TO_LOWER follows the
    ///    request's locale, en-US unless the `_query` request sets one
    ///    (`locale` in
    ///    <https://www.elastic.co/docs/api/doc/elasticsearch/v8/operation/operation-esql-query>);
    ///    detection rules set none. `MV_DEDUPE` keeps each word once.
    /// 2. `MV_EXPAND` gives each word a row
    ///    (<https://www.elastic.co/docs/reference/query-languages/esql/commands/mv_expand>);
    ///    `LENGTH` counts characters, not bytes, so the empty strings around
    ///    spaces and words shorter than 3 go.
    /// 3. `MD5` hashes the word's UTF-8 bytes into 32 hex digits, lowercased
    ///    whatever their case; each band's row (`MV_EXPAND` of the band
    ///    numbers) reads its 8 digits with `SUBSTRING`, whose start is
    ///    1-based (LENGTH, MD5 and SUBSTRING:
    ///    <https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions>).
    /// 4. `STATS ... BY _id, _index, band` gathers each event's band back:
    ///    `VALUES` is its distinct slices
    ///    (<https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/aggregation-functions/values>),
    ///    `MV_SORT` sorts them as text, which for fixed-width lowercase hex
    ///    is numeric order
    ///    (<https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/mv-functions/mv_sort>),
    ///    `MV_SLICE(..., 0, r - 1)` keeps the first r, or all of them when
    ///    there are fewer (the end index is inclusive and stops at the last
    ///    value:
    ///    <https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/mv-functions/mv_slice>),
    ///    and `MV_CONCAT` joins them. The time and every field the
    ///    aggregates read are carried through the same `STATS`: `MIN` of
    ///    the time and `VALUES` of the others, one value per event (the
    ///    `_id` of a document is unique in its index). The evaluator's
    ///    fields have one value; `VALUES` of a field indexed as an array
    ///    keeps its distinct values.
    ///
    /// An event without a word has no row left after step 2, so it has no
    /// band key and is not grouped, as in the evaluator.
    pub(super) fn fingerprint(
        &mut self,
        source: &'a Source,
        fingerprint: &plan::Fingerprint,
        condition: &Condition,
    ) -> (Vec<String>, Vec<String>) {
        let text = self.field(source, &fingerprint.field);
        let mut tests = vec![format!("{text} IS NOT NULL")];
        if let Some(FingerprintStep::MinLength(minimum)) = fingerprint.length_step() {
            tests.push(format!("LENGTH({text}) >= {minimum}"));
        }
        let spelling = match FingerprintSpelling::of(fingerprint) {
            Ok(spelling) => spelling,
            Err(reason) => {
                self.fail(reason);
                return (tests, Vec::new());
            }
        };
        let time = self.field(source, "timestamp");
        let mut read = vec![text.clone(), time.clone()];
        let mut carried = vec![format!("{time} = MIN({time})")];
        for canonical in condition_fields(condition) {
            let field = self.field(source, &canonical);
            if !read.contains(&field) {
                carried.push(format!("{field} = VALUES({field})"));
                read.push(field);
            }
        }
        for field in &read {
            if FINGERPRINT_HELPERS.contains(&field.as_str()) {
                self.fail(format!(
                    "the field `{field}` has the name of a column the cluster fingerprint computes"
                ));
            }
        }
        let separators = super::super::quote::esql_string(&spelling.separators);
        let mut commands = vec![
            format!(
                "EVAL tripline_word = MV_DEDUPE(SPLIT(TO_LOWER(REPLACE({text}, {separators}, \" \")), \" \"))"
            ),
            "MV_EXPAND tripline_word".to_string(),
            format!(
                "WHERE LENGTH(tripline_word) >= {}",
                spelling.min_word.max(1)
            ),
        ];
        let digits = spelling.digits;
        if spelling.bands > 1 {
            let bands: Vec<String> = (1..=spelling.bands).map(|band| band.to_string()).collect();
            commands.push(format!(
                "EVAL tripline_hash = TO_LOWER(MD5(tripline_word)), tripline_band = [{}]",
                bands.join(", ")
            ));
            commands.push("MV_EXPAND tripline_band".to_string());
            commands.push(format!(
                "EVAL tripline_slice = SUBSTRING(tripline_hash, tripline_band * {digits} - {}, {digits})",
                digits - 1
            ));
        } else {
            commands.push(format!(
                "EVAL tripline_band = 1, tripline_slice = SUBSTRING(TO_LOWER(MD5(tripline_word)), 1, {digits})"
            ));
        }
        commands.push(format!(
            "STATS tripline_slices = VALUES(tripline_slice), {} BY _id, _index, tripline_band",
            carried.join(", ")
        ));
        let mut kept = "MV_SORT(tripline_slices)".to_string();
        if let Some(count) = spelling.first {
            kept = format!("MV_SLICE({kept}, 0, {})", count.max(1) - 1);
        }
        commands.push(format!(
            "EVAL {FINGERPRINT} = CONCAT(TO_STRING(tripline_band), {}, MV_CONCAT({kept}, {}))",
            super::super::quote::esql_string(ir::fingerprint::BAND_SEPARATOR),
            super::super::quote::esql_string(spelling.separator)
        ));
        (tests, commands)
    }
}

/// How this target spells a fingerprint, read from the plan's steps (the
/// same for every band but the hash slice and the label, which follow from
/// the band's number).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FingerprintSpelling {
    /// The regex of the characters between words (`[^A-Za-z0-9]+`).
    pub(super) separators: String,
    /// The shortest word.
    pub(super) min_word: usize,
    /// Bands.
    pub(super) bands: usize,
    /// Hex digits per band, from 8 × (band − 1).
    pub(super) digits: usize,
    /// The slices kept per band (`None`: all).
    pub(super) first: Option<u32>,
    /// Between a band's slices.
    pub(super) separator: &'static str,
}

impl FingerprintSpelling {
    /// The spelling of `fingerprint`, or why this target has none.
    pub(super) fn of(fingerprint: &plan::Fingerprint) -> Result<FingerprintSpelling, String> {
        let unexpected = |what: &str| format!("the cluster fingerprint's {what} has no ES|QL form");
        let mut spelling: Option<FingerprintSpelling> = None;
        for band in 0..fingerprint.bands() {
            let mut words = None;
            let mut digits = None;
            let mut first = None;
            let mut separator = None;
            for step in fingerprint.band_steps(band) {
                match step {
                    FingerprintStep::Words { pattern } => {
                        words =
                            Some(word_class(pattern).ok_or_else(|| unexpected("word pattern"))?);
                    }
                    FingerprintStep::HashEach {
                        offset,
                        digits: count,
                    } => {
                        // Band k reads digits 8(k - 1) + 1 to 8k: its start follows from its number.
                        if count == 0 || offset != band * count {
                            return Err(unexpected("hash slice"));
                        }
                        digits = Some(count);
                    }
                    FingerprintStep::First(count) => first = Some(count),
                    FingerprintStep::Join { separator: joiner } => separator = Some(joiner),
                    FingerprintStep::Label(label) => {
                        if label != format!("{}{}", band + 1, ir::fingerprint::BAND_SEPARATOR) {
                            return Err(unexpected("band label"));
                        }
                    }
                    // VALUES is distinct and MV_SORT sorts; an event without a
                    // word has no row; the length is a test of the source.
                    FingerprintStep::Distinct
                    | FingerprintStep::Sort
                    | FingerprintStep::DropEmpty
                    | FingerprintStep::MinLength(_) => {}
                }
            }
            let (Some((class, min_word)), Some(digits), Some(separator)) =
                (words, digits, separator)
            else {
                return Err(unexpected("steps"));
            };
            let this = FingerprintSpelling {
                separators: format!("[^{class}]+"),
                min_word,
                bands: fingerprint.bands(),
                digits,
                first,
                separator,
            };
            match &spelling {
                Some(known) if *known != this => return Err(unexpected("bands")),
                Some(_) => {}
                None => spelling = Some(this),
            }
        }
        spelling.ok_or_else(|| unexpected("bands"))
    }
}

/// The class and shortest length of a word pattern `[class]{n,}` whose
/// class is ASCII letters and digits in ranges (`A-Za-z0-9`), so that
/// `[^class]+` is every run between words in any regex engine.
pub(super) fn word_class(pattern: &str) -> Option<(&str, usize)> {
    let (class, repeat) = pattern.strip_prefix('[')?.split_once("]{")?;
    let minimum = repeat.strip_suffix(",}")?.parse().ok()?;
    let plain = !class.is_empty()
        && !class.starts_with(['^', '-'])
        && !class.ends_with('-')
        && class
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '-');
    plain.then_some((class, minimum))
}
