//! Whether Elasticsearch can build the automaton of a translated regex.
//!
//! Input: a Lucene regex as [`super`] writes it. Output: the work a subset
//! construction spends on it, or `None` past a budget.
//!
//! Elasticsearch runs EQL's `regex` and ES|QL's `RLIKE` by turning the
//! pattern into a Lucene automaton and determinizing it with Lucene's
//! default work limit (`Operations.DEFAULT_DETERMINIZE_WORK_LIMIT`, 10,000).
//! A pattern that needs more fails at query time with
//! `TooComplexToDeterminizeException`, so the rule never runs. The work
//! Lucene counts is, for each DFA state it makes, the number of NFA states
//! in it, summed, against ten times the limit. Whole-value matching makes an
//! unanchored test `.*P.*`, and after the leading `.*` every partial match
//! of `P` is alive at once: bounded gaps such as `(\w+\W+){0,20}` or
//! `[^>]{0,300}` make one DFA state per combination of counters, which no
//! limit holds.
//!
//! [`effort`] runs the same construction: a Thompson automaton over
//! code-point ranges (one state per character position, as Lucene's
//! `RegExp` builds it), then the subset construction over the ranges' end
//! points, counting each new DFA state's real (non-epsilon) NFA states.
//! It is an estimate, not Lucene's own count: Lucene 9 also minimizes each
//! part as it parses, Lucene 10 does not. The budget that [`super`] applies
//! was set against Lucene itself (`.ci/conformance/lucene_check.py` runs
//! every regex the Elastic targets emit through Lucene's `RegExp` and
//! `Operations.determinize`, as Elasticsearch calls them).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use regex_syntax::hir::{Class, Hir, HirKind};

/// NFA states past which the regex is too large to estimate (and far too
/// large for Lucene).
const MAX_NFA_STATES: usize = 100_000;

/// The effort Lucene's `Operations.determinize` may spend: ten times its
/// default work limit of 10,000, which Elasticsearch passes. Measured
/// against Lucene 9.9.1 on every regex the shipped pack compiles to
/// (`.ci/conformance/lucene_check.py`): the ones Lucene accepts need at most
/// 230,000 by [`effort`], the ones it refuses at least 337,000, so this
/// budget refuses every one Lucene refuses, with room. It also stands for
/// Lucene 10, which determinizes the whole automaton in one pass as
/// [`effort`] does.
pub(crate) const BUDGET: u64 = 100_000;

/// Whether `regex` determinizes within [`BUDGET`] (remembered per thread:
/// one rule writes the same regex for several fields).
pub(crate) fn fits(regex: &str) -> bool {
    thread_local! {
        static KNOWN: std::cell::RefCell<HashMap<String, bool>> = std::cell::RefCell::new(HashMap::new());
    }
    KNOWN.with(|known| {
        if let Some(fits) = known.borrow().get(regex) {
            return *fits;
        }
        let fits = effort(regex, BUDGET).is_some();
        known.borrow_mut().insert(regex.to_string(), fits);
        fits
    })
}

/// A multiply-and-rotate hash of the NFA state sets (SipHash was a fifth of
/// the estimate's time). The sets are numbers of states that the shape of
/// the rule author's own regex decides, and [`BUDGET`] bounds how many are
/// made.
#[derive(Default)]
struct SetHasher(u64);

impl Hasher for SetHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Sets = HashSet<Vec<u32>, BuildHasherDefault<SetHasher>>;

/// One state of the Thompson automaton.
#[derive(Debug)]
enum State {
    /// Any character in the ranges (inclusive code points), then `next`.
    Ranges(Vec<(u32, u32)>, usize),
    /// Epsilon moves to each of these.
    Split(Vec<usize>),
    /// The whole value matched.
    Match,
}

/// The determinization work of `regex` (Lucene syntax, matched against the
/// whole value), or `None` when it exceeds `budget` or the regex does not
/// parse as the writer's subset of Lucene syntax.
pub(crate) fn effort(regex: &str, budget: u64) -> Option<u64> {
    let hir = regex_syntax::ParserBuilder::new()
        .dot_matches_new_line(true)
        .build()
        .parse(&rust_syntax(regex))
        .ok()?;
    let mut nfa = Nfa {
        states: vec![State::Match],
    };
    let start = nfa.compile(&hir, 0)?;
    nfa.determinize(start, budget)
}

/// The writer's Lucene regex in `regex` syntax: an escaped character is that
/// character; everything else (groups, classes, repetitions, `.`) is read
/// the same by both.
pub(super) fn rust_syntax(regex: &str) -> String {
    let mut out = String::with_capacity(regex.len() + 8);
    let mut characters = regex.chars();
    while let Some(character) = characters.next() {
        match character {
            '\\' => match characters.next() {
                Some(escaped) => {
                    out.push_str(&regex_syntax::escape(escaped.encode_utf8(&mut [0; 4])))
                }
                None => out.push_str("\\\\"),
            },
            other => out.push(other),
        }
    }
    out
}

struct Nfa {
    states: Vec<State>,
}

impl Nfa {
    fn push(&mut self, state: State) -> Option<usize> {
        if self.states.len() >= MAX_NFA_STATES {
            return None;
        }
        self.states.push(state);
        Some(self.states.len() - 1)
    }

    /// The start of `hir`'s states, which continue to `next`.
    fn compile(&mut self, hir: &Hir, next: usize) -> Option<usize> {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => Some(next),
            HirKind::Literal(literal) => {
                let text = std::str::from_utf8(&literal.0).ok()?;
                let mut at = next;
                for character in text.chars().rev() {
                    let point = u32::from(character);
                    at = self.push(State::Ranges(vec![(point, point)], at))?;
                }
                Some(at)
            }
            HirKind::Class(Class::Unicode(class)) => {
                let ranges = class
                    .ranges()
                    .iter()
                    .map(|range| (u32::from(range.start()), u32::from(range.end())))
                    .collect();
                self.push(State::Ranges(ranges, next))
            }
            // Byte classes come only from `(?-u)`, which Lucene's syntax has
            // not: a regex that holds one is not the writer's, and is refused.
            HirKind::Class(Class::Bytes(_)) => None,
            HirKind::Capture(capture) => self.compile(&capture.sub, next),
            HirKind::Concat(items) => {
                let mut at = next;
                for item in items.iter().rev() {
                    at = self.compile(item, at)?;
                }
                Some(at)
            }
            HirKind::Alternation(branches) => {
                let starts = branches
                    .iter()
                    .map(|branch| self.compile(branch, next))
                    .collect::<Option<Vec<_>>>()?;
                self.push(State::Split(starts))
            }
            HirKind::Repetition(repetition) => {
                let mut at = match repetition.max {
                    // `a*`: a loop back through a split.
                    None => {
                        let split = self.push(State::Split(Vec::new()))?;
                        let body = self.compile(&repetition.sub, split)?;
                        self.states[split] = State::Split(vec![body, next]);
                        split
                    }
                    // `a{0,k}` after the mandatory copies: nested optional copies.
                    Some(max) => {
                        let mut at = next;
                        for _ in repetition.min..max {
                            let body = self.compile(&repetition.sub, at)?;
                            at = self.push(State::Split(vec![body, next]))?;
                        }
                        at
                    }
                };
                for _ in 0..repetition.min {
                    at = self.compile(&repetition.sub, at)?;
                }
                Some(at)
            }
        }
    }

    /// The real states (character ranges, match) reachable from `state` by
    /// epsilon moves.
    fn closure(&self, state: usize, mark: &mut [u32], stamp: u32) -> Box<[u32]> {
        let mut stack = vec![state];
        let mut set = Vec::new();
        while let Some(state) = stack.pop() {
            if mark[state] == stamp {
                continue;
            }
            mark[state] = stamp;
            match &self.states[state] {
                State::Split(targets) => stack.extend(targets.iter().rev()),
                State::Ranges(..) | State::Match => set.push(state as u32),
            }
        }
        set.into_boxed_slice()
    }

    /// The subset construction from `start`, as Lucene's
    /// `Operations.determinize` makes it: for each DFA state, the end points
    /// of its states' ranges cut the alphabet into intervals, and each
    /// interval leads to the union of the closures of the states reached.
    /// Returns the sum of the sizes of the DFA states made, or `None` once
    /// it reaches `budget`.
    fn determinize(&self, start: usize, budget: u64) -> Option<u64> {
        let count = self.states.len();
        // Closures by state, made when first needed.
        let mut closures: Vec<Option<Box<[u32]>>> = vec![None; count];
        // `mark[s] == stamp`: state `s` is already in the set being made.
        let mut mark = vec![0u32; count];
        let mut stamp = 0u32;
        // The same for the closure being walked.
        let mut walked = vec![0u32; count];
        let mut walk = 1u32;
        let mut first = self.closure(start, &mut walked, walk).into_vec();
        first.sort_unstable();
        let mut known = Sets::default();
        known.insert(first.clone());
        let mut work = vec![first];
        let mut effort = 0u64;
        // (point, whether a range starts there, the state it leads to)
        let mut events: Vec<(u32, bool, u32)> = Vec::new();
        // How many open ranges lead to each state, and the states with any.
        let mut open = vec![0u32; count];
        let mut active: Vec<u32> = Vec::new();
        let mut next: Vec<u32> = Vec::new();
        while let Some(set) = work.pop() {
            effort += set.len() as u64;
            if effort >= budget {
                return None;
            }
            events.clear();
            for &state in &set {
                if let State::Ranges(ranges, target) = &self.states[state as usize] {
                    for &(low, high) in ranges {
                        events.push((low, true, *target as u32));
                        events.push((high.saturating_add(1), false, *target as u32));
                    }
                }
            }
            // At one point, the ranges that end there close before those
            // that start there open.
            events.sort_unstable();
            let mut index = 0;
            while index < events.len() {
                let point = events[index].0;
                while index < events.len() && events[index].0 == point {
                    let (_, opens, target) = events[index];
                    let slot = &mut open[target as usize];
                    if opens {
                        if *slot == 0 {
                            active.push(target);
                        }
                        *slot += 1;
                    } else {
                        *slot -= 1;
                    }
                    index += 1;
                }
                active.retain(|target| open[*target as usize] > 0);
                // The interval from `point` to the next point.
                if active.is_empty() || index == events.len() {
                    continue;
                }
                stamp += 1;
                next.clear();
                for &target in &active {
                    let target = target as usize;
                    if closures[target].is_none() {
                        walk += 1;
                        closures[target] = Some(self.closure(target, &mut walked, walk));
                    }
                    for &state in closures[target].as_deref().unwrap_or(&[]) {
                        if mark[state as usize] != stamp {
                            mark[state as usize] = stamp;
                            next.push(state);
                        }
                    }
                }
                next.sort_unstable();
                if !known.contains(next.as_slice()) {
                    known.insert(next.clone());
                    work.push(next.clone());
                }
            }
        }
        Some(effort)
    }
}

#[cfg(test)]
mod tests {
    use super::{BUDGET, effort, fits, rust_syntax};

    #[test]
    fn an_escaped_character_is_that_character() {
        // Lucene's `\b` is the letter b, not a word boundary.
        assert_eq!(rust_syntax(r"\b\-\ \<"), r"b\- <");
        assert_eq!(effort(r"\b", BUDGET), effort("b", BUDGET));
    }

    #[test]
    fn plain_searches_fit() {
        for regex in [
            r".*ignore[^0-9A-Z\_a-z]+previous.*",
            r"(.*[^0-9A-Z_a-z])?(AKIA|ASIA)[0-9A-Z]{16}([^0-9A-Z_a-z].*)?",
            r".*(repeat|print)[^0-9A-Z\_a-z]+([0-9A-Z\_a-z]+[^0-9A-Z\_a-z]+){0,2}your.*",
            "",
        ] {
            assert!(fits(regex), "{regex}");
        }
    }

    #[test]
    fn overlapping_counts_after_a_leading_wildcard_do_not_fit() {
        // Lucene 9.9.1 refuses both (TooComplexToDeterminizeException): the
        // key must be exactly 35 characters long, and every `AIza` inside a
        // run of key characters starts a count of its own.
        for regex in [
            r"(.*[^0-9A-Z_a-z])?AIza[\-0-9A-Z\_a-z]{35}(([^\-0-9A-Z\_a-z]).*)?",
            r".*\<\!\-\-[^\>]{0,300}(ignore|prompt).*",
        ] {
            assert!(!fits(regex), "{regex}");
            assert_eq!(effort(regex, BUDGET), None);
        }
    }

    #[test]
    fn the_effort_grows_with_the_gap() {
        let gap = |words: u32| {
            effort(
                &format!(".*(show|print)[^a-z]+([a-z]+[^a-z]+){{0,{words}}}(prompt|rules).*"),
                u64::MAX,
            )
            .unwrap()
        };
        assert!(gap(1) < gap(3));
        assert!(gap(3) < gap(6));
    }

    #[test]
    fn what_is_not_the_writers_syntax_does_not_fit() {
        assert!(!fits("(unclosed"));
    }
}
