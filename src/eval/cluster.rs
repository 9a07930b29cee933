//! The cluster shape: near-identical text within a window.
//!
//! Input: the events that passed a cluster rule's filter, in time order.
//! Output: one [`Raised`] per cluster of a closed window whose condition holds.
//!
//! Values of the text field with at least `min_length` characters are split
//! into word sets (maximal runs of letters and digits, lowercased) and
//! clustered greedily in event order: a value joins the first cluster (in
//! creation order) whose representative (its first value) has a Jaccard
//! similarity of at least the threshold; otherwise it starts a cluster.
//!
//! Finding that first cluster does not compare against every representative:
//! words are interned per window and ordered by descending id (words first
//! seen later, which tend to be rarer, come first), and two sets with Jaccard similarity of
//! at least t share at least `ceil(t * max(|A|, |B|))` words, so they must
//! share a word among the first `|A| - ceil(t * |A|) + 1` words of A and the
//! first `|B| - ceil(t * |B|) + 1` of B (prefix filtering). Only those prefix
//! words of each representative are indexed; candidates whose sizes allow
//! the threshold are verified exactly and tried in creation order, so the
//! result is the same as the linear scan.
//!
//! State: the open window's clusters (representative words, a sample of the
//! text, aggregate states, evidence), the window's word ids and the prefix
//! index; dropped when the window closes.

use super::condition::{Condition, Leaves, Number, percentile};
use super::event::Event;
use super::group::FastMap;
use super::state::{Context, Evidence, Raised};
use super::time::{format_millis, window_start};
use super::window::GroupState;

/// Characters of the representative kept in the alert's `group`.
const SAMPLE_CHARACTERS: usize = 200;

/// A word, by its id in the window's vocabulary.
type Word = u32;

/// The words of one window, interned.
#[derive(Debug, Default)]
pub(crate) struct Vocabulary {
    ids: FastMap<Box<str>, u32>,
    buffer: String,
}

impl Vocabulary {
    fn id(&mut self) -> Word {
        if let Some(id) = self.ids.get(self.buffer.as_str()) {
            return *id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(self.buffer.as_str().into(), id);
        id
    }

    fn clear(&mut self) {
        self.ids.clear();
    }
}

#[derive(Debug)]
struct Cluster {
    words: Vec<Word>,
    sample: String,
    state: GroupState,
}

/// A cluster rule's compiled form and state.
#[derive(Debug)]
pub(crate) struct ClusterShape {
    field: u16,
    field_name: String,
    similarity: f64,
    min_length: usize,
    length: i64,
    condition: Condition,
    current: Option<i64>,
    clusters: Vec<Cluster>,
    vocabulary: Vocabulary,
    index: FastMap<Word, Vec<u32>>,
    empty_cluster: Option<u32>,
}

/// The word set of a text: maximal runs of letters and digits, lowercased,
/// as ids sorted descending and deduplicated.
pub(crate) fn words(text: &str, vocabulary: &mut Vocabulary) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    vocabulary.buffer.clear();
    for character in text.chars() {
        if character.is_alphanumeric() {
            if character.is_ascii() {
                vocabulary.buffer.push(character.to_ascii_lowercase());
            } else {
                vocabulary.buffer.extend(character.to_lowercase());
            }
        } else if !vocabulary.buffer.is_empty() {
            words.push(vocabulary.id());
            vocabulary.buffer.clear();
        }
    }
    if !vocabulary.buffer.is_empty() {
        words.push(vocabulary.id());
        vocabulary.buffer.clear();
    }
    words.sort_unstable_by(|left, right| right.cmp(left));
    words.dedup();
    words
}

/// Jaccard similarity of two word sets sorted descending (two empty sets are identical).
pub(crate) fn jaccard(left: &[Word], right: &[Word]) -> f64 {
    if left.is_empty() && right.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < left.len() && j < right.len() {
        match left[i].cmp(&right[j]) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared as f64 / (left.len() + right.len() - shared) as f64
}

/// How many leading words of a set of `size` words must contain a shared word.
fn prefix_length(size: usize, similarity: f64) -> usize {
    // A slightly smaller overlap bound only lengthens the prefix, which stays correct.
    let overlap = ((similarity * size as f64) - 1e-9).ceil().max(1.0) as usize;
    (size + 1)
        .saturating_sub(overlap)
        .clamp(1, size.max(1))
        .min(size)
}

impl ClusterShape {
    pub(crate) fn new(
        field: u16,
        field_name: String,
        similarity: f64,
        min_length: i64,
        length: i64,
        condition: Condition,
    ) -> ClusterShape {
        ClusterShape {
            field,
            field_name,
            similarity,
            min_length: usize::try_from(min_length).unwrap_or(0),
            length: length.max(1),
            condition,
            current: None,
            clusters: Vec::new(),
            vocabulary: Vocabulary::default(),
            index: FastMap::default(),
            empty_cluster: None,
        }
    }

    /// When the open window closes.
    pub(crate) fn deadline(&self) -> i64 {
        self.current
            .map_or(i64::MAX, |start| start.saturating_add(self.length))
    }

    /// Number of live clusters.
    pub(crate) fn live_state(&self) -> usize {
        self.clusters.len()
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
        if text.chars().count() < self.min_length {
            return;
        }
        let start = window_start(event.time, self.length);
        if let Some(current) = self.current.filter(|current| *current != start) {
            self.close(current, out);
        }
        self.current = Some(start);
        let words = words(text, &mut self.vocabulary);
        let found = self.find(&words);
        let cluster = match found {
            Some(index) => index,
            None => self.create(
                words,
                text.chars().take(SAMPLE_CHARACTERS).collect(),
                event.time,
            ),
        };
        let state = &mut self.clusters[cluster as usize].state;
        self.condition.add(&mut state.aggregates, event);
        state.evidence.add_event(event, context);
    }

    /// Starts a cluster with this representative.
    fn create(&mut self, words: Vec<Word>, sample: String, time: i64) -> u32 {
        let index = self.clusters.len() as u32;
        if words.is_empty() {
            self.empty_cluster = Some(index);
        }
        for word in &words[..prefix_length(words.len(), self.similarity).min(words.len())] {
            self.index.entry(*word).or_default().push(index);
        }
        self.clusters.push(Cluster {
            words,
            sample,
            state: GroupState {
                aggregates: self.condition.new_states(),
                evidence: Evidence::new(time),
            },
        });
        index
    }

    fn find(&self, words: &[Word]) -> Option<u32> {
        if self.similarity <= 0.0 {
            // Every value is similar enough to the first representative.
            return (!self.clusters.is_empty()).then_some(0);
        }
        if words.is_empty() {
            return self.empty_cluster;
        }
        let mut candidates: Vec<u32> = words[..prefix_length(words.len(), self.similarity)]
            .iter()
            .filter_map(|word| self.index.get(word))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        // Jaccard >= t needs t * |A| <= |B| <= |A| / t (with a margin for rounding).
        let size = words.len() as f64;
        let (low, high) = (size * self.similarity - 1e-9, size / self.similarity + 1e-9);
        candidates.into_iter().find(|index| {
            let other = &self.clusters[*index as usize].words;
            let other_size = other.len() as f64;
            other_size >= low && other_size <= high && jaccard(words, other) >= self.similarity
        })
    }

    fn close(&mut self, start: i64, out: &mut Vec<Raised>) {
        let end = start.saturating_add(self.length);
        let clusters = std::mem::take(&mut self.clusters);
        self.index.clear();
        self.vocabulary.clear();
        self.empty_cluster = None;
        let aggregates: Vec<Vec<Option<Number>>> = clusters
            .iter()
            .map(|cluster| Condition::aggregate_values(&cluster.state.aggregates))
            .collect();
        let percentiles: Vec<Option<f64>> = self
            .condition
            .percentiles
            .iter()
            .map(|spec| {
                let mut values: Vec<f64> = aggregates
                    .iter()
                    .filter_map(|values| Condition::inner_value(&spec.inner, values))
                    .collect();
                percentile(&mut values, spec.percentile)
            })
            .collect();
        for (number, (cluster, values)) in clusters.into_iter().zip(aggregates).enumerate() {
            let leaves = Leaves {
                aggregates: values,
                baselines: vec![None; self.condition.baselines.len()],
                percentiles: percentiles.clone(),
            };
            if !self.condition.holds(&leaves) {
                continue;
            }
            let mut group = std::collections::BTreeMap::new();
            group.insert(
                "cluster".to_string(),
                serde_json::Value::String(format!("{}#{}", format_millis(start), number + 1)),
            );
            group.insert(
                self.field_name.clone(),
                serde_json::Value::String(cluster.sample),
            );
            out.push(Raised {
                time: end,
                group,
                evidence: cluster.state.evidence,
                values: self.condition.report(&leaves),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_runs_of_letters_and_digits() {
        let mut vocabulary = Vocabulary::default();
        let set = words(
            "Ignore ALL previous-instructions, v2 ignore",
            &mut vocabulary,
        );
        assert_eq!(set, [4, 3, 2, 1, 0]);
        let mut known: Vec<&str> = vocabulary.ids.keys().map(|word| &**word).collect();
        known.sort();
        assert_eq!(known, ["all", "ignore", "instructions", "previous", "v2"]);
    }

    #[test]
    fn jaccard_of_word_sets() {
        let mut vocabulary = Vocabulary::default();
        let a = words("a b c d e", &mut vocabulary);
        let b = words("a b c d f", &mut vocabulary);
        assert!((jaccard(&a, &b) - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(jaccard(&a, &a), 1.0);
        assert_eq!(jaccard(&[], &[]), 1.0);
    }

    #[test]
    fn indexed_search_finds_what_a_linear_scan_finds() {
        use crate::eval::condition::{Cond, Value};
        let dictionary = [
            "the", "a", "you", "ignore", "rules", "dan", "now", "answer", "x", "y", "z", "w",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for similarity in [0.3, 0.5, 0.8, 1.0] {
            let condition = Condition {
                root: Cond::Constant(Value::Bool(true)),
                aggregates: Vec::new(),
                baselines: Vec::new(),
                percentiles: Vec::new(),
                reported: Vec::new(),
            };
            let mut shape = ClusterShape::new(0, "text".into(), similarity, 0, 1000, condition);
            for _ in 0..400 {
                let length = (next() % 8) as usize;
                let text: Vec<&str> = (0..length)
                    .map(|_| dictionary[(next() % 12) as usize])
                    .collect();
                let words = words(&text.join(" "), &mut shape.vocabulary);
                let linear = shape
                    .clusters
                    .iter()
                    .position(|cluster| jaccard(&words, &cluster.words) >= similarity)
                    .map(|index| index as u32);
                assert_eq!(shape.find(&words), linear, "{text:?} at {similarity}");
                if linear.is_none() {
                    shape.create(words, String::new(), 0);
                }
            }
        }
    }

    #[test]
    fn prefix_filter_never_misses_a_similar_set() {
        // Exhaustive over small sets: every pair at or above the threshold shares a prefix word.
        let letters = ["a", "b", "c", "d", "e", "f", "g"];
        let mut vocabulary = Vocabulary::default();
        let sets: Vec<Vec<Word>> = (1u32..128)
            .map(|mask| {
                let text: Vec<&str> = (0..7)
                    .filter(|bit| mask & (1 << bit) != 0)
                    .map(|bit| letters[bit])
                    .collect();
                words(&text.join(" "), &mut vocabulary)
            })
            .collect();
        for similarity in [0.5, 0.6, 0.8, 0.9, 1.0] {
            for left in &sets {
                for right in &sets {
                    if jaccard(left, right) >= similarity {
                        let left_prefix = &left[..prefix_length(left.len(), similarity)];
                        let right_prefix = &right[..prefix_length(right.len(), similarity)];
                        assert!(left_prefix.iter().any(|word| right_prefix.contains(word)));
                    }
                }
            }
        }
    }
}
