//! Sequences of the form `A repeat >= n; B` in a closed form that scheduled
//! SIEM searches can compute with sorts and previous-row lookups.
//!
//! Input: a [`Shape::Sequence`]. Output: a [`RunThenStep`] (the run step, its
//! length `n` and the last step), or the reason the sequence has no such form.
//! [`completions`] computes the closed form on an abstract event stream, as
//! the `splunk_spl` and `sentinel_kql` queries do; the property test in
//! `tests/sequence_closed_form.rs` compares it with the evaluator.
//!
//! # The closed form
//!
//! Per key, in processing order (time, then `event_id`), with the events that
//! match A or B (an event may match both): an event `e` matching B completes a
//! sequence, citing the n A-events before it, iff
//!
//! 1. at least n A-events come strictly before `e`;
//! 2. the n-th most recent of them, `a*`, has `time(a*) >= time(e) - W`;
//! 3. the event just before `e` (among those matching A or B) matches A;
//!    equivalently, no B-event lies strictly between the most recent A-event
//!    `a_m` before `e` and `e`.
//!
//! Proof, against the state machine of `src/eval/sequence.rs` (slots `0..n`,
//! slot `k < n` holding runs of `k + 1` A-events, slot `n` the completion;
//! an event visits the slots from the last to the first). Let the A-events
//! before `e` be `a_1 .. a_m`.
//!
//! - Slots `0 ..= n - 2` change only at A-events: at each, slot `k` is
//!   first taken by slot `k + 1` (itself an A-slot) and then refilled from
//!   slot `k - 1` (slot 0 from the event itself). By induction, after `a_j`
//!   slot `k` holds the run `a_{j-k} .. a_j` iff `j > k` and
//!   `time(a_j) - time(a_{j-k}) <= W`, and is empty otherwise (times never
//!   decrease, so the check of the last move implies the earlier ones).
//! - Slot `n - 1` is written at an A-event `a_j` with the run `a_{j-n+1} ..
//!   a_j` when that run fits in W (for n = 1: always, with `a_j` alone), is
//!   otherwise left as it was (or as taken, when `a_j` also matches B), and
//!   is emptied by every event matching B, which takes it.
//! - If (3) fails, a B-only event `b` lies between `a_m` and `e`; it emptied
//!   slot n − 1 and no A-event refilled it, so `e` completes nothing.
//! - If (3) holds, slot n − 1 is as `a_m` left it. When `m >= n` and the run
//!   ending at `a_m` fits, it holds the run starting at `a* = a_{m-n+1}`, and
//!   `e` completes it iff `time(e) - time(a*) <= W`: (1) and (2). Otherwise
//!   it is empty or holds an older run, whose first event is at or before
//!   `a*` in time; the run ending at `a_m` not fitting means
//!   `time(a_m) - time(a*) > W`, so neither it nor `a*` is within W of `e`:
//!   no completion, and (1) or (2) fails too.
//!
//! So `e` completes exactly when (1)-(3) hold, with the events `a_{m-n+1}
//! .. a_m, e`; one event completes at most one sequence (it takes slot
//! n − 1 once). An event matching A and B completes from the A-events before
//! it and is then the newest A-event for later ones.
//!
//! What the queries compute: per key, sorted in processing order, each
//! A-event's *run start*, the time of the A-event n − 1 A-events before it
//! (itself for n = 1); then each B-event alerts when the previous event of
//! its key matches A and that event's run start is at least `time(e) - W`.
//! The run start of `a_m` is `time(a*)`, which exists iff (1) holds.
//!
//! # Scheduled searches
//!
//! A run alerts for the B-events of its own slot and reads the events from
//! W (plus the slot and lateness) before the slot. Exact: the events read
//! are every event from some time `R <= time(e) - W` on, a suffix of the
//! processing order. If `time(a*) >= time(e) - W`, then `a*`, `a_m` and
//! everything between `a_m` and `e` are read, and (1)-(3) come out as on the
//! whole stream. Otherwise the true answer is no, and so is the search's:
//! fewer than n A-events are read, or the n-th most recent one read is `a*`
//! itself, still older than W.

use std::collections::HashMap;
use std::hash::Hash;

use super::{Shape, Source};

/// A sequence `run repeat >= repeat; last`.
#[derive(Debug, Clone, Copy)]
pub struct RunThenStep<'a> {
    /// Key fields.
    pub by: &'a [String],
    /// Longest span from the first to the last event, in milliseconds.
    pub within_ms: i64,
    /// The repeated step (A).
    pub run: &'a Source,
    /// How many A-events a sequence needs (n >= 1).
    pub repeat: u32,
    /// The completing step (B).
    pub last: &'a Source,
}

/// The sequence as `A repeat >= n; B`, or why it has no such form. A single
/// step `A repeat >= n` (n >= 2) is `A repeat >= n - 1; A`.
pub fn run_then_step(shape: &Shape) -> Result<RunThenStep<'_>, String> {
    let Shape::Sequence {
        by,
        within_ms,
        steps,
    } = shape
    else {
        return Err("the rule is not a sequence".to_string());
    };
    let form = match steps.as_slice() {
        [(run, repeat), (last, 1)] => Some((run, (*repeat).max(1), last)),
        [(run, repeat)] if *repeat >= 2 => Some((run, repeat - 1, run)),
        _ => None,
    };
    match form {
        Some((run, repeat, last)) => Ok(RunThenStep {
            by,
            within_ms: *within_ms,
            run,
            repeat,
            last,
        }),
        None => Err(
            "only sequences of one repeated step followed by one single step (`A repeat >= n; B`) have an exact form here: with more distinct steps before the last, whether an event completes depends on which pending match each earlier event moved, which no sort and previous-row lookup recovers"
                .to_string(),
        ),
    }
}

/// One event of an abstract stream, in processing order.
#[derive(Debug, Clone)]
pub struct StepEvent<K> {
    /// The key; `None` when a key field is missing (the event is ignored).
    pub key: Option<K>,
    /// Time in milliseconds.
    pub time: i64,
    /// Whether the event matches the run step (A).
    pub run: bool,
    /// Whether it matches the completing step (B).
    pub last: bool,
}

/// A completed sequence: the completing event's index and the indices of the
/// n A-events it cites, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Index of the B-event.
    pub last: usize,
    /// Indices of the A-events.
    pub run: Vec<usize>,
}

/// The closed form on `events` (in processing order), computed the way the
/// queries do: per key, each A-event's run (the n most recent A-events ending
/// with it), then each B-event whose previous event of the key is an A-event
/// whose run starts within `within_ms`.
pub fn completions<K: Eq + Hash + Clone>(
    events: &[StepEvent<K>],
    repeat: u32,
    within_ms: i64,
) -> Vec<Completion> {
    let n = repeat.max(1) as usize;
    // Per key: the indices of its A-events so far, and its previous event.
    let mut runs: HashMap<K, Vec<usize>> = HashMap::new();
    let mut previous: HashMap<K, usize> = HashMap::new();
    let mut out = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let Some(key) = &event.key else { continue };
        if !(event.run || event.last) {
            continue;
        }
        if event.last
            && let Some(&before) = previous.get(key)
            && events[before].run
        {
            let run = &runs[key];
            // The previous event is the key's newest A-event: its run is the
            // last n entries, when there are n.
            if run.len() >= n {
                let run = &run[run.len() - n..];
                if events[run[0]].time >= event.time.saturating_sub(within_ms) {
                    out.push(Completion {
                        last: index,
                        run: run.to_vec(),
                    });
                }
            }
        }
        if event.run {
            runs.entry(key.clone()).or_default().push(index);
        }
        previous.insert(key.clone(), index);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(spec: &[(i64, &str)]) -> Vec<StepEvent<u8>> {
        spec.iter()
            .map(|(time, kind)| StepEvent {
                key: Some(0),
                time: *time,
                run: kind.contains('a'),
                last: kind.contains('b'),
            })
            .collect()
    }

    #[test]
    fn five_failures_then_a_success_complete_once_and_again_after_a_sixth() {
        let events = stream(&[
            (0, "a"),
            (1, "a"),
            (2, "a"),
            (3, "a"),
            (4, "a"),
            (5, "b"),
            (6, "a"),
            (7, "b"),
        ]);
        let found = completions(&events, 5, 600_000);
        assert_eq!(
            found,
            [
                Completion {
                    last: 5,
                    run: vec![0, 1, 2, 3, 4]
                },
                Completion {
                    last: 7,
                    run: vec![1, 2, 3, 4, 6]
                }
            ]
        );
    }

    #[test]
    fn a_success_between_the_run_and_the_event_clears_it() {
        let events = stream(&[(0, "a"), (1, "b"), (2, "b")]);
        assert_eq!(completions(&events, 1, 10).len(), 1);
        // A success right after the run completes; the second finds no run.
        assert_eq!(completions(&events, 1, 10)[0].last, 1);
    }

    #[test]
    fn the_span_is_inclusive_and_measured_from_the_first_event() {
        let events = stream(&[(0, "a"), (5, "a"), (10, "b")]);
        assert_eq!(completions(&events, 2, 10).len(), 1);
        assert!(completions(&events, 2, 9).is_empty());
    }

    #[test]
    fn an_event_matching_both_steps_completes_and_then_counts_as_a_run() {
        let events = stream(&[(0, "ab"), (1, "ab"), (2, "ab")]);
        let found = completions(&events, 1, 10);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].run, [1]);
    }

    #[test]
    fn keys_and_missing_keys_are_apart() {
        let mut events = stream(&[(0, "a"), (1, "b"), (2, "b")]);
        events[1].key = Some(1);
        events[2].key = None;
        assert!(completions(&events, 1, 10).is_empty());
    }

    #[test]
    fn only_a_run_then_one_step_has_the_form() {
        let source = || Source {
            event_types: vec!["auth".to_string()],
            filter: None,
        };
        let shape = |steps: Vec<(Source, u32)>| Shape::Sequence {
            by: vec!["k".to_string()],
            within_ms: 1,
            steps,
        };
        let two = shape(vec![(source(), 5), (source(), 1)]);
        assert_eq!(run_then_step(&two).map(|form| form.repeat).ok(), Some(5));
        let single = shape(vec![(source(), 3)]);
        assert_eq!(run_then_step(&single).map(|form| form.repeat).ok(), Some(2));
        assert!(run_then_step(&shape(vec![(source(), 1), (source(), 2)])).is_err());
        assert!(run_then_step(&shape(vec![(source(), 1); 3])).is_err());
        assert!(run_then_step(&shape(vec![(source(), 1)])).is_err());
    }
}
