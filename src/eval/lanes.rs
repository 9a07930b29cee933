//! Several texts through one lazy DFA at once.
//!
//! Input: a regex list's patterns, then groups of texts. Output: for each
//! text, whether any pattern matches it (as `regex::RegexSet::is_match`
//! answers), or no answer when the DFA cannot give one (a `\b` next to a
//! character outside ASCII), which the caller then asks the regex engine.
//!
//! A lazy DFA reads one byte per transition, and each transition is a load
//! whose address depends on the one before: on the prose lists the scan
//! waits on that load, about 2 ns a byte whatever the size of the list
//! (splitting a list into smaller DFAs makes it slower, not faster). Four
//! texts read side by side are four independent chains of loads, which the
//! processor overlaps: measured on the realistic traffic's normalised inputs
//! and retrieved chunks, 1.4 ns a byte instead of 2.6 for the extraction
//! phrases and 1.2 instead of 2.9 for the injection markers.
//!
//! The four lanes share one cache of states. When the cache fills up it is
//! cleared, which leaves the lanes' states meaningless; every lane then
//! reads its text again from the start (a clear is rare: the cache holds
//! [`super::literals::DFA_CACHE_BYTES`]).

use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};

use super::literals::NFA_SIZE_LIMIT;

/// Texts read side by side.
const LANES: usize = 4;
// `side_by_side` names its four lanes; another count would leave it idle.
const _: () = assert!(LANES == 4);

/// Cache clears within one call after which the remaining texts are left
/// to the caller (a cache too small for the texts would otherwise be
/// cleared over and over).
const MAX_CLEARS: usize = 8;

/// One regex list as a lazy DFA that reads [`LANES`] texts at a time.
#[derive(Debug)]
pub(crate) struct Lanes {
    dfa: DFA,
}

/// The states one thread has made, and the answers of the last call.
#[derive(Debug, Clone)]
pub(crate) struct LaneCache {
    dfa: Cache,
    found: Vec<Option<bool>>,
}

impl LaneCache {
    /// The answers of the last [`Lanes::is_match_each`], by text.
    pub(crate) fn found(&self) -> &[Option<bool>] {
        &self.found
    }
}

/// A text being read: its index, the next byte and the state before it.
#[derive(Clone, Copy)]
struct Lane {
    text: usize,
    at: usize,
    state: LazyStateID,
}

/// What one more byte (or the end) gives.
enum Step {
    Next(LazyStateID),
    Decided(Option<bool>),
}

impl Lanes {
    /// The patterns (each carrying its own flags) as `regex::RegexSet`
    /// compiles them, with a lazy-DFA cache of `cache_bytes`; `None` when
    /// they do not compile to a lazy DFA.
    pub(crate) fn new(patterns: &[String], cache_bytes: usize) -> Option<Lanes> {
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(cache_bytes)
                    .skip_cache_capacity_check(true)
                    .unicode_word_boundary(true),
            )
            .syntax(syntax::Config::new().utf8(true))
            .thompson(
                thompson::Config::new()
                    .nfa_size_limit(Some(NFA_SIZE_LIMIT))
                    .which_captures(thompson::WhichCaptures::None),
            )
            .build_many(patterns)
            .ok()?;
        Some(Lanes { dfa })
    }

    /// A cache for one thread.
    pub(crate) fn cache(&self) -> LaneCache {
        LaneCache {
            dfa: self.dfa.create_cache(),
            found: Vec::new(),
        }
    }

    /// Sets the cache's [`LaneCache::found`] to whether any pattern matches
    /// each text, or to `None` where the DFA gives no answer.
    pub(crate) fn is_match_each(&self, cache: &mut LaneCache, texts: &[&str]) {
        let LaneCache { dfa: cache, found } = cache;
        found.clear();
        found.resize(texts.len(), None);
        // The clear count under which the lanes' states were made.
        let mut fresh = cache.clear_count();
        let mut restarts = 0;
        let mut next_text = 0;
        let mut lanes: Vec<Lane> = Vec::with_capacity(LANES);
        loop {
            // Fill the free lanes.
            while lanes.len() < LANES && next_text < texts.len() {
                let text = next_text;
                next_text += 1;
                match self.start(cache, texts[text]) {
                    Step::Next(state) => lanes.push(Lane { text, at: 0, state }),
                    Step::Decided(answer) => found[text] = answer,
                }
                if cache.clear_count() != fresh
                    && !self.restart(cache, texts, &mut lanes, found, &mut fresh, &mut restarts)
                {
                    return;
                }
            }
            if lanes.is_empty() {
                return;
            }
            if lanes.len() == LANES {
                self.side_by_side(cache, texts, &mut lanes);
            } else {
                // The last texts of the group: one at a time.
                for lane in &mut lanes {
                    self.alone(cache, texts[lane.text].as_bytes(), lane);
                }
            }
            // One careful step for each lane: the end of a text, a state not
            // made yet, a match, a dead end.
            let mut index = 0;
            while index < lanes.len() {
                let lane = lanes[index];
                let step = match texts[lane.text].as_bytes().get(lane.at) {
                    None => self.end(cache, lane.state),
                    Some(&byte) => self.step(cache, lane.state, byte),
                };
                match step {
                    Step::Next(state) => {
                        lanes[index].state = state;
                        lanes[index].at += 1;
                        index += 1;
                    }
                    Step::Decided(answer) => {
                        found[lane.text] = answer;
                        lanes.swap_remove(index);
                    }
                }
                if cache.clear_count() != fresh {
                    if !self.restart(cache, texts, &mut lanes, found, &mut fresh, &mut restarts) {
                        return;
                    }
                    break;
                }
            }
        }
    }

    /// After a cache clear the lanes' states are stale (the one just made
    /// is valid, but it is simpler to treat all alike): every lane reads its
    /// text again from the start. Returns false when the cache was cleared
    /// too often, leaving the texts not decided yet to the caller.
    fn restart(
        &self,
        cache: &mut Cache,
        texts: &[&str],
        lanes: &mut Vec<Lane>,
        found: &mut [Option<bool>],
        fresh: &mut usize,
        restarts: &mut usize,
    ) -> bool {
        loop {
            *restarts += 1;
            if *restarts > MAX_CLEARS {
                lanes.clear();
                return false;
            }
            let before = cache.clear_count();
            let stale = std::mem::take(lanes);
            for lane in stale {
                match self.start(cache, texts[lane.text]) {
                    Step::Next(state) => lanes.push(Lane {
                        text: lane.text,
                        at: 0,
                        state,
                    }),
                    Step::Decided(answer) => found[lane.text] = answer,
                }
            }
            if cache.clear_count() == before {
                *fresh = before;
                return true;
            }
        }
    }

    /// Reads the four lanes side by side while every transition is a known
    /// state that is not a match, and each lane has bytes left.
    #[inline]
    fn side_by_side(&self, cache: &Cache, texts: &[&str], lanes: &mut [Lane]) {
        let [a, b, c, d] = lanes else {
            return;
        };
        let steps = [*a, *b, *c, *d]
            .iter()
            .map(|lane| texts[lane.text].len() - lane.at)
            .min()
            .unwrap_or(0);
        let text_a = &texts[a.text].as_bytes()[a.at..a.at + steps];
        let text_b = &texts[b.text].as_bytes()[b.at..b.at + steps];
        let text_c = &texts[c.text].as_bytes()[c.at..c.at + steps];
        let text_d = &texts[d.text].as_bytes()[d.at..d.at + steps];
        let (mut state_a, mut state_b, mut state_c, mut state_d) =
            (a.state, b.state, c.state, d.state);
        let mut read = 0;
        for (((&byte_a, &byte_b), &byte_c), &byte_d) in
            text_a.iter().zip(text_b).zip(text_c).zip(text_d)
        {
            let next_a = self.dfa.next_state_untagged(cache, state_a, byte_a);
            let next_b = self.dfa.next_state_untagged(cache, state_b, byte_b);
            let next_c = self.dfa.next_state_untagged(cache, state_c, byte_c);
            let next_d = self.dfa.next_state_untagged(cache, state_d, byte_d);
            if next_a.is_tagged() | next_b.is_tagged() | next_c.is_tagged() | next_d.is_tagged() {
                break;
            }
            (state_a, state_b, state_c, state_d) = (next_a, next_b, next_c, next_d);
            read += 1;
        }
        for (lane, state) in [(a, state_a), (b, state_b), (c, state_c), (d, state_d)] {
            lane.state = state;
            lane.at += read;
        }
    }

    /// Reads one lane while every transition is a known state that is not a
    /// match, and the text has bytes left.
    #[inline]
    fn alone(&self, cache: &Cache, text: &[u8], lane: &mut Lane) {
        let mut state = lane.state;
        let mut at = lane.at;
        for &byte in &text[at..] {
            let next = self.dfa.next_state_untagged(cache, state, byte);
            if next.is_tagged() {
                break;
            }
            state = next;
            at += 1;
        }
        lane.state = state;
        lane.at = at;
    }

    /// The start state of an unanchored search of `text`.
    fn start(&self, cache: &mut Cache, text: &str) -> Step {
        match self.dfa.start_state_forward(cache, &Input::new(text)) {
            Ok(state) if state.is_match() => Step::Decided(Some(true)),
            Ok(state) if state.is_dead() => Step::Decided(Some(false)),
            Ok(state) if state.is_quit() => Step::Decided(None),
            Ok(state) => Step::Next(state),
            Err(_) => Step::Decided(None),
        }
    }

    /// The state after `byte`.
    #[inline]
    fn step(&self, cache: &mut Cache, state: LazyStateID, byte: u8) -> Step {
        let next = self.dfa.next_state_untagged(cache, state, byte);
        let next = if next.is_unknown() {
            match self.dfa.next_state(cache, state, byte) {
                Ok(next) => next,
                Err(_) => return Step::Decided(None),
            }
        } else {
            next
        };
        Self::settle(next)
    }

    /// The state after the end of the text: a match, or none.
    fn end(&self, cache: &mut Cache, state: LazyStateID) -> Step {
        match self.dfa.next_eoi_state(cache, state) {
            Ok(next) if next.is_quit() => Step::Decided(None),
            Ok(next) => Step::Decided(Some(next.is_match())),
            Err(_) => Step::Decided(None),
        }
    }

    /// A match (a pattern matched just before this byte) decides, as does a
    /// dead state; a quit state leaves the text to the caller.
    #[inline]
    fn settle(next: LazyStateID) -> Step {
        if !next.is_tagged() {
            Step::Next(next)
        } else if next.is_match() {
            Step::Decided(Some(true))
        } else if next.is_dead() {
            Step::Decided(Some(false))
        } else if next.is_quit() {
            Step::Decided(None)
        } else {
            Step::Next(next)
        }
    }
}
