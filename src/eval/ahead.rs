//! Regex-list tests read ahead, for a group of events at once.
//!
//! Input: the projection's filters, then groups of parsed events whose
//! filters have not run. Output: the answers of the planned regex-list
//! tests, stored in each event (see [`Event::eager`]), which the filters
//! then read instead of running the list text by text.
//!
//! A prose list reads every byte of its text through a lazy DFA, and reading
//! several texts side by side is about twice as fast (see
//! [`super::lanes`]). A test is planned only where it costs nothing extra:
//! where every event of the type certainly runs it. A filter is evaluated
//! for every event of its types, and a test is certainly reached when the
//! conditions before it are settled by the event type alone
//! (`event_type == "retrieval" and norm(content) matches_any ...` for a
//! retrieval event, the first operand of an `or`). A test behind any other
//! condition (`app == "hr" and ...`) runs only when reached, as before: read
//! ahead, it would read texts the filter never looks at. The answers are
//! the tests' own, so the filters' results cannot change; only their cost
//! does.

use std::sync::Arc;

use super::event::{Event, FilterId};
use super::expr::{Needles, Pred, Subject, ValueExpr};
use super::lanes::LaneCache;
use super::literals::PatternSet;

/// How many tests can be read ahead (one bit each in [`Event::eager`]).
pub(crate) const MAX_TESTS: usize = 64;

/// A regex-list test read ahead: where it is among the filters, and the
/// lane cache it uses (one per list).
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    filter: FilterId,
    /// The operand indices from the filter's root to the test.
    path: Vec<u16>,
    cache: usize,
}

/// The tests read ahead, and which event types run each.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    tests: Vec<Planned>,
    /// The lists of the tests, one per lane cache.
    lists: Vec<Arc<PatternSet>>,
    /// Per event type, one bit per test that every event of the type runs.
    by_type: Vec<u64>,
}

/// What one thread keeps between groups: a lane cache per list, and buffers.
#[derive(Debug, Default)]
pub(crate) struct AheadScratch {
    caches: Vec<Option<LaneCache>>,
    owners: Vec<usize>,
    found: Vec<bool>,
}

impl Plan {
    /// A plan for `types` event types, with no test yet.
    pub(crate) fn new(types: usize) -> Plan {
        Plan {
            by_type: vec![0; types],
            ..Plan::default()
        }
    }

    /// Plans the tests of filter `filter` that every event of each of
    /// `event_types` runs, and marks them in `pred`. Each type comes with an
    /// event of that type and no other field, on which the conditions that
    /// read the event type alone are evaluated.
    pub(crate) fn add(
        &mut self,
        pred: &mut Pred,
        filter: FilterId,
        event_types: &[(u32, Event)],
        event_type_slot: u16,
    ) {
        let mut ids: Vec<(Vec<u16>, u8)> = Vec::new();
        for (event_type, typed) in event_types {
            let event_type = *event_type;
            let mut reached = Vec::new();
            certainly_run(pred, typed, event_type_slot, &mut Vec::new(), &mut reached);
            for path in reached {
                let id = match ids.iter().find(|(known, _)| *known == path) {
                    Some((_, id)) => *id,
                    None => {
                        let Some(id) = self.plan(pred, filter, &path) else {
                            continue;
                        };
                        ids.push((path, id));
                        id
                    }
                };
                if let Some(bits) = self.by_type.get_mut(event_type as usize) {
                    *bits |= 1 << id;
                }
            }
        }
    }

    /// Gives the test at `path` an id, if its list reads side by side and
    /// ids are left.
    fn plan(&mut self, pred: &mut Pred, filter: FilterId, path: &[u16]) -> Option<u8> {
        if self.tests.len() >= MAX_TESTS {
            return None;
        }
        let Pred::Matches {
            patterns, eager, ..
        } = node_mut(pred, path)?
        else {
            return None;
        };
        if !patterns.reads_side_by_side() {
            return None;
        }
        let cache = match self
            .lists
            .iter()
            .position(|list| Arc::ptr_eq(list, patterns))
        {
            Some(cache) => cache,
            None => {
                self.lists.push(Arc::clone(patterns));
                self.lists.len() - 1
            }
        };
        let id = self.tests.len() as u8;
        *eager = Some(id);
        self.tests.push(Planned {
            filter,
            path: path.to_vec(),
            cache,
        });
        Some(id)
    }

    /// How many tests each event type reads ahead (for tests).
    #[cfg(test)]
    pub(crate) fn count_by_type(&self) -> Vec<u32> {
        self.by_type.iter().map(|bits| bits.count_ones()).collect()
    }

    /// Reads the planned tests ahead for `events` (parsed, filters not run).
    pub(crate) fn read_ahead(
        &self,
        filters: &[Arc<Pred>],
        events: &mut [&mut Event],
        scratch: &mut AheadScratch,
    ) {
        if self.tests.is_empty() {
            return;
        }
        scratch.caches.resize_with(self.lists.len(), || None);
        for (id, test) in self.tests.iter().enumerate() {
            let Some(Pred::Matches {
                subject, patterns, ..
            }) = filters
                .get(usize::from(test.filter))
                .and_then(|filter| node(filter, &test.path))
            else {
                continue;
            };
            let bit = 1u64 << id;
            scratch.owners.clear();
            {
                let mut texts = Vec::new();
                for (index, event) in events.iter().enumerate() {
                    let runs = event
                        .event_type
                        .and_then(|event_type| self.by_type.get(event_type as usize))
                        .is_some_and(|bits| bits & bit != 0);
                    if let Some(text) = runs.then(|| subject.text(event)).flatten() {
                        texts.push(text);
                        scratch.owners.push(index);
                    }
                }
                if texts.is_empty() {
                    continue;
                }
                let texts: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
                let cache = &mut scratch.caches[test.cache];
                if cache.is_none() {
                    *cache = patterns.lane_cache();
                }
                patterns.is_match_each(cache, &texts, &mut scratch.found);
            }
            for (&index, &found) in scratch.owners.iter().zip(&scratch.found) {
                events[index].set_eager(id as u8, found);
            }
        }
    }
}

/// Collects the paths of the regex-list tests that `pred` certainly runs for
/// an event of `typed`'s type: those every condition before which is
/// settled by the event type alone.
fn certainly_run(
    pred: &Pred,
    typed: &Event,
    event_type_slot: u16,
    path: &mut Vec<u16>,
    reached: &mut Vec<Vec<u16>>,
) {
    let mut operands = |operands: &[Pred], go_on: bool| {
        for (index, operand) in operands.iter().enumerate() {
            path.push(index as u16);
            certainly_run(operand, typed, event_type_slot, path, reached);
            path.pop();
            // `and` reads the next operand when this one is true, `or` when false.
            if settled(operand, typed, event_type_slot) != Some(go_on) {
                break;
            }
        }
    };
    match pred {
        Pred::Matches { .. } => reached.push(path.clone()),
        Pred::Not(operand) => operands(std::slice::from_ref(&**operand), true),
        Pred::And(all) => operands(all, true),
        Pred::Or(any) => operands(any, false),
        _ => {}
    }
}

/// The value of `pred` for every event of `typed`'s type, when the type
/// alone settles it: `and`, `or` and `not` of constants and of conditions
/// that read nothing but `event_type`, evaluated on `typed` as on any event.
fn settled(pred: &Pred, typed: &Event, event_type_slot: u16) -> Option<bool> {
    let is_type = |expr: &ValueExpr| match expr {
        ValueExpr::Field(slot) => *slot == event_type_slot,
        ValueExpr::Constant(_) => true,
        ValueExpr::Arithmetic(..) => false,
    };
    match pred {
        Pred::Constant(value) => Some(*value),
        Pred::Not(operand) => settled(operand, typed, event_type_slot).map(|value| !value),
        // `and` is decided by a false operand, `or` by a true one.
        Pred::And(operands) | Pred::Or(operands) => {
            let decisive = matches!(pred, Pred::Or(_));
            let mut value = Some(!decisive);
            for operand in operands {
                match settled(operand, typed, event_type_slot) {
                    Some(found) if found == decisive => return Some(decisive),
                    Some(_) => {}
                    None => value = None,
                }
            }
            value
        }
        Pred::Compare(_, left, right) if is_type(left) && is_type(right) => Some(pred.test(typed)),
        Pred::InValues { subject, .. } if is_type(subject) => Some(pred.test(typed)),
        Pred::Text {
            subject: Subject::Field { slot, .. },
            needles: Needles::Fixed(_),
            ..
        } if *slot == event_type_slot => Some(pred.test(typed)),
        _ => None,
    }
}

/// The operand at `path` (indices into `and`, `or` and `not`).
fn node<'a>(pred: &'a Pred, path: &[u16]) -> Option<&'a Pred> {
    let Some((&first, rest)) = path.split_first() else {
        return Some(pred);
    };
    let operand = match pred {
        Pred::Not(operand) if first == 0 => &**operand,
        Pred::And(operands) | Pred::Or(operands) => operands.get(usize::from(first))?,
        _ => return None,
    };
    node(operand, rest)
}

fn node_mut<'a>(pred: &'a mut Pred, path: &[u16]) -> Option<&'a mut Pred> {
    let Some((&first, rest)) = path.split_first() else {
        return Some(pred);
    };
    let operand = match pred {
        Pred::Not(operand) if first == 0 => &mut **operand,
        Pred::And(operands) | Pred::Or(operands) => operands.get_mut(usize::from(first))?,
        _ => return None,
    };
    node_mut(operand, rest)
}

#[cfg(test)]
mod tests {
    use crate::check::{CheckOptions, check};
    use crate::eval::{Engine, EvalOptions};
    use crate::source::Sources;
    use crate::syntax::parse;

    const SCHEMA: &str = r#"
common { timestamp: timestamp required, event_type: string required, app: string, session_id: string }
event inference { user_input: string, user_input_norm: string, output: string }
event tool_call { tool_result: string }
event retrieval { content: string, content_norm: string }
"#;

    /// A rule of `filter` (`match ... where ...`) with placeholder metadata and shape.
    fn rule(id: &str, filter: &str) -> String {
        format!(
            "rule {id} {{ title: \"t\" description: \"d\" severity: high category: llm_attack guide: \"g\"\n {filter}\n group by session_id within 1h\n alert when count() >= 1\n}}\n"
        )
    }

    /// How many tests inference, retrieval and tool_call events read
    /// ahead, for these rules (and the lists below).
    fn planned(rules: &[String]) -> [u32; 3] {
        let rules = format!("{LISTS}{}", rules.concat());
        let mut sources = Sources::new();
        let schema_id = sources.add("schema.tdl".to_string(), SCHEMA);
        let rules_id = sources.add("rules.tdl".to_string(), &rules);
        let (schema, mut errors) = parse(SCHEMA, schema_id);
        let (parsed, more) = parse(&rules, rules_id);
        errors.extend(more);
        let (pack, diagnostics) = check(
            &sources,
            &[(schema_id, schema), (rules_id, parsed)],
            &CheckOptions::default(),
        );
        errors.extend(diagnostics.into_iter().filter(|d| d.is_error()));
        assert!(errors.is_empty(), "{errors:?}");
        let engine = Engine::new(&pack.unwrap(), &EvalOptions::default()).unwrap();
        let by_type = engine.projection().read_ahead_by_type();
        let names: Vec<&str> = by_type.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["inference", "retrieval", "tool_call"]);
        [by_type[0].1, by_type[1].1, by_type[2].1]
    }

    const LISTS: &str = r#"
list prose: regex case_insensitive = [/ignore\W+previous\W+instructions/, /system\W+prompt/]
list keys: regex = [/sk-[A-Za-z0-9]{8}/]
"#;

    #[test]
    fn tests_every_event_of_a_type_runs_are_read_ahead() {
        let rules = [
            rule(
                "t.first",
                "match inference where norm(user_input) matches_any prose",
            ),
            rule(
                "t.typed",
                "match retrieval, tool_call where (event_type == \"retrieval\" and norm(content) matches_any prose) or (event_type == \"tool_call\" and tool_result matches_any prose)",
            ),
            rule(
                "t.or",
                "match inference where output matches_any prose or user_input matches_any prose",
            ),
            // Settled true for inference, false for tool_call.
            rule(
                "t.one",
                "match inference, tool_call where event_type == \"inference\" and norm(user_input) matches_any prose",
            ),
        ];
        // inference: the normalised input (twice: two rules), and the output
        // (the first operand of the `or`; the second runs only when the first
        // is false).
        assert_eq!(planned(&rules), [3, 1, 1]);
    }

    #[test]
    fn tests_behind_other_conditions_or_prefilters_run_when_reached() {
        let rules = [
            // Only the app's events would reach it: reading every input ahead would cost more.
            rule(
                "t.app",
                "match inference where app == \"hr\" and norm(user_input) matches_any prose",
            ),
            // Behind a test that is not settled by the type.
            rule(
                "t.second",
                "match inference where output matches_any keys or user_input matches_any prose",
            ),
            // A literal prefilter rejects most texts before any DFA.
            rule("t.keys", "match inference where output matches_any keys"),
        ];
        assert_eq!(planned(&rules), [0, 0, 0]);
    }
}
