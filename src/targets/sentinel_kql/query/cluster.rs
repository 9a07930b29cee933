//! The cluster shape in KQL: the fingerprint's band columns and the
//! grouping by band key.

use super::*;

impl Printer<'_> {
    /// A cluster's fingerprint as pipeline steps after `Events`: one row
    /// per band key, in the column `Fingerprint`, which the window groups
    /// by (see `docs/language.md`, `cluster`). Each step is a documented
    /// function with no approximation:
    /// - `strlen` counts Unicode code points
    ///   (<https://learn.microsoft.com/kusto/query/strlen-function>), the
    ///   language's characters;
    /// - `extract_all` returns every match of the one capture group, left to
    ///   right, or null when there is none
    ///   (<https://learn.microsoft.com/kusto/query/extract-all-function>); the
    ///   class is ASCII, and each word is lowercased after extraction (never
    ///   the text, whose `K` U+212A would become an ASCII `k`);
    /// - `hash_md5` returns the digest as hex, lowercase as its examples
    ///   show (<https://learn.microsoft.com/kusto/query/hash-md5-function>),
    ///   and `substring` is 0-based;
    /// - `mv-apply` runs the `summarize` per event, where `make_set` keeps
    ///   each band's distinct slices (up to 1,048,576 by default,
    ///   <https://learn.microsoft.com/kusto/query/make-set-aggregation-function>,
    ///   more words than a string column holds); `array_sort_asc` sorts them (fixed-width
    ///   lowercase hex: text order is numeric order), `array_slice` keeps the
    ///   first r, out-of-range indices ignored
    ///   (<https://learn.microsoft.com/kusto/query/array-slice-function>), and
    ///   `strcat_array` joins them;
    /// - `mv-expand` makes one row per band key (4, far below its default
    ///   limit of rows per record).
    ///
    /// An event without a word has no fingerprint and is dropped before any
    /// band, so no band key is empty.
    pub(super) fn fingerprint(&mut self, fingerprint: &plan::Fingerprint) {
        let (column, _) = self.column(&fingerprint.field);
        for name in FINGERPRINT_COLUMNS {
            if self
                .mapping
                .fields
                .values()
                .any(|target| target.name == *name)
            {
                self.fail(format!(
                    "the cluster's own column `{name}` is also a mapped column; map that field to another name"
                ));
            }
        }
        let mut steps = String::new();
        if let Some(plan::FingerprintStep::MinLength(minimum)) = fingerprint.length_step() {
            steps.push_str(&format!("\n    | where strlen({column}) >= {minimum}"));
        }
        let mut sets = Vec::new();
        let mut keys = Vec::new();
        for band in 0..fingerprint.bands() {
            match fingerprint_band(fingerprint, band) {
                Ok((pattern, set, key)) => {
                    if band == 0 {
                        let pattern = syntax::string(&format!("({pattern})"));
                        let pattern = self.spelled(pattern);
                        steps.push_str(&format!(
                            "\n    | extend Words = extract_all({pattern}, {column})\n    | where array_length(Words) > 0"
                        ));
                    }
                    sets.push(set);
                    keys.push(key);
                }
                Err(reason) => {
                    self.fail(reason);
                    return;
                }
            }
        }
        steps.push_str(&format!(
            "\n    | mv-apply Word = Words to typeof(string) on (\n        extend WordHash = hash_md5(tolower(Word))\n        | summarize {})",
            sets.join(", ")
        ));
        steps.push_str(&format!(
            "\n    | extend Fingerprint = pack_array(\n        {})\n    | mv-expand Fingerprint to typeof(string)",
            keys.join(",\n        ")
        ));
        self.computed = Some((fingerprint.group_name(), "Fingerprint", steps));
    }
}

/// The columns a cluster's query adds to the events.
const FINGERPRINT_COLUMNS: &[&str] = &[
    "Words",
    "Word",
    "WordHash",
    "Band1",
    "Band2",
    "Band3",
    "Band4",
    "Fingerprint",
];

/// Band `band` (from 0) of a fingerprint in KQL, from the plan's steps: the
/// word pattern (shared by every band), the `summarize` term collecting the
/// band's distinct slices of `WordHash` (`Band<k> = make_set(...)`) and its
/// key over that set.
fn fingerprint_band(
    fingerprint: &plan::Fingerprint,
    band: usize,
) -> Result<(&'static str, String, String), String> {
    let name = format!("Band{}", band + 1);
    let mut pattern = None;
    let mut set = None;
    let mut key = name.clone();
    for step in fingerprint.band_steps(band) {
        match step {
            plan::FingerprintStep::Words { pattern: words } => pattern = Some(words),
            plan::FingerprintStep::HashEach { offset, digits } => {
                set = Some(format!("substring(WordHash, {offset}, {digits})"));
            }
            // `make_set` keeps distinct values.
            plan::FingerprintStep::Distinct => {
                set = set.map(|slice| format!("{name} = make_set({slice})"));
            }
            plan::FingerprintStep::Sort => key = format!("array_sort_asc({key})"),
            plan::FingerprintStep::First(count) => {
                key = format!("array_slice({key}, 0, {})", count.max(1) - 1);
            }
            plan::FingerprintStep::Join { separator } => {
                key = format!("strcat_array({key}, \"{separator}\")");
            }
            // Events without a word were dropped: no key is empty.
            plan::FingerprintStep::DropEmpty | plan::FingerprintStep::MinLength(_) => {}
            plan::FingerprintStep::Label(label) => key = format!("strcat(\"{label}\", {key})"),
        }
    }
    match (pattern, set) {
        (Some(pattern), Some(set)) if set.contains("make_set") => Ok((pattern, set, key)),
        _ => Err("the fingerprint's steps have no KQL form".to_string()),
    }
}
