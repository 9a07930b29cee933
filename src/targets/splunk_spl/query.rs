//! The SPL search of a rule.
//!
//! Input: a match or window (threshold, grouping sets) rule, the pack and
//! the field mapping. Output: the SPL pipeline (one command per line) and
//! what the `savedsearches.conf` stanza needs around it (look-back, the
//! fields to throttle on), or E0402 problems for the constructs with no
//! exact translation. The rule is lowered by [`plan::plan`]; its filters
//! (the source's and the aggregates') are spelled by [`Spl`] through
//! [`syntax::predicate`], every test total (see [`super::syntax`]). What is
//! here is the shape: the event-type test, the buckets, `stats` per group or
//! grouping set, the schedule slot's windows and the condition.

mod panel;

pub use panel::panel_search;

use super::quote::plain_term;
use super::syntax::{Spl, number, text_match};
use crate::ir::{
    AggregateFunction, ArithmeticOp, Detection, Expr, ExprKind, Origin, Pack, Rule, TextOp, Value,
};
use crate::targets::plan::{self, Cond, Condition, FingerprintStep, Leaf, Pred, Shape, Source};
use crate::targets::syntax::{self, Unsupported};
use crate::targets::{Mapping, Problem};

/// How long after a window (or an event's schedule slot) closes the search
/// waits for late events: the evaluator's default lateness bound.
pub const LATENESS_SECONDS: i64 = 300;

/// The field holding a window's start (epoch seconds).
pub const WINDOW_FIELD: &str = "tripline_window_start";

/// A compiled search and what the stanza needs to know about it.
#[derive(Debug, Clone)]
pub struct Search {
    /// SPL commands, one per line; the first line starts with the data-source macro.
    pub lines: Vec<String>,
    /// How far back each run searches, in seconds.
    pub look_back_seconds: i64,
    /// Fields one alert is identified by (throttling), empty for match rules.
    pub suppress_fields: Vec<String>,
    /// How long to throttle, in seconds (0: no throttling).
    pub suppress_seconds: i64,
}

/// The SPL of a match, window or new-value rule, ending before the tuning
/// macro.
pub fn rule_search(
    rule: &Rule,
    pack: &Pack,
    mapping: &Mapping,
    data_source_macro: &str,
) -> Result<Search, Vec<Problem>> {
    let mut printer = Printer {
        spl: Spl::new(mapping, &pack.lookups),
        problems: Vec::new(),
        computed: None,
    };
    let schedule = rule.metadata.schedule_ms;
    if schedule <= 0 || schedule % 1000 != 0 {
        printer.fail(
            rule.origin,
            "the schedule is not a whole number of seconds, which cron cannot express",
        );
    }
    let slot = schedule / 1000;
    match &rule.detection {
        Detection::Match { .. } | Detection::NewValue { .. } | Detection::Sequence { .. } => {}
        Detection::Window { window_ms, .. } | Detection::Cluster { window_ms, .. } => {
            if *window_ms <= 0 || window_ms % 1000 != 0 {
                printer.fail(
                    rule.origin,
                    "the window is not a whole number of seconds (`_time` is binned in seconds)",
                );
            }
        }
    }
    // The constructs no target prints are false in the plan: the rest is
    // still printed, so that this target's own refusals come in the same run.
    let (plan, problems) = plan::plan_and_problems(rule, pack);
    printer.problems.extend(problems);
    let mut lines = vec![format!("`{data_source_macro}`")];
    let search = match (&plan.shape, &rule.detection) {
        (Shape::Match(source), _) => {
            let helpers = printer.source(source, &mut lines, rule.origin);
            // Each run takes the events of one whole schedule slot that closed
            // at least the lateness bound ago: runs tile event time, so every
            // event alerts exactly once.
            lines.push(slot_filter(slot));
            // The alert keeps the event's fields, not the lookups' helpers.
            if !helpers.is_empty() {
                lines.push(format!("| fields - {}", helpers.join(", ")));
            }
            Search {
                lines,
                look_back_seconds: 2 * slot + LATENESS_SECONDS,
                suppress_fields: Vec::new(),
                suppress_seconds: 0,
            }
        }
        (Shape::Window(window), Detection::Window { condition, .. }) => {
            printer.source(&window.source, &mut lines, rule.origin);
            printer.window_search(window, condition, (slot, plan.learn_ms), lines, rule.origin)
        }
        (
            Shape::Cluster {
                source,
                fingerprint,
                window_ms,
                condition: plan_condition,
            },
            Detection::Cluster { condition, .. },
        ) => {
            printer.source(source, &mut lines, rule.origin);
            printer.fingerprint(fingerprint, &mut lines, rule.origin);
            // Then a window grouped by the fingerprint's band key.
            let window = plan::Window {
                source: source.clone(),
                groupings: vec![vec![fingerprint.group_name().to_string()]],
                bucket_ms: *window_ms,
                condition: plan_condition.clone(),
                context: Vec::new(),
            };
            printer.window_search(
                &window,
                condition,
                (slot, plan.learn_ms),
                lines,
                rule.origin,
            )
        }
        (
            Shape::NewValue {
                source,
                key,
                values,
                lookback_ms,
            },
            _,
        ) => {
            printer.source(source, &mut lines, rule.origin);
            printer.new_value(
                (key, values),
                (*lookback_ms, plan.learn_ms, slot),
                &mut lines,
                rule.origin,
            );
            Search {
                lines,
                // Every event of the reported slot needs the sightings of
                // the lookback before it.
                look_back_seconds: 2 * slot + ceil_seconds(*lookback_ms) + LATENESS_SECONDS,
                suppress_fields: Vec::new(),
                suppress_seconds: 0,
            }
        }
        (Shape::Sequence { .. }, _) => match plan::sequence::run_then_step(&plan.shape) {
            Ok(form) => {
                printer.sequence(&form, slot, &mut lines, rule.origin);
                Search {
                    lines,
                    // Every completing event of the reported slot needs the
                    // span before it (see `plan::sequence`).
                    look_back_seconds: 2 * slot + ceil_seconds(form.within_ms) + LATENESS_SECONDS,
                    suppress_fields: Vec::new(),
                    suppress_seconds: 0,
                }
            }
            Err(reason) => {
                printer.fail(rule.origin, reason);
                return Err(printer.problems);
            }
        },
        _ => {
            printer.fail(rule.origin, "the plan's shape is not the rule's");
            return Err(printer.problems);
        }
    };
    let mut search = search;
    // The addresses are computed before any test reads them, and dropped
    // at the end.
    let helpers = match printer.spl.insert_address_eval(&mut search.lines) {
        Ok(helpers) => helpers,
        Err(Unsupported(reason)) => {
            printer.fail(rule.origin, reason);
            Vec::new()
        }
    };
    if !helpers.is_empty() {
        search
            .lines
            .push(format!("| fields - {}", helpers.join(", ")));
    }
    if printer.problems.is_empty() {
        Ok(search)
    } else {
        Err(printer.problems)
    }
}

/// The longest run (`repeat >= n`) a sequence search copies event by event.
pub const MAX_SEQUENCE_RUN: u32 = 20;

/// The events of the schedule slot that closed at least the lateness bound
/// before the run (match and new-value rules).
fn slot_filter(slot: i64) -> String {
    format!("| where floor(_time / {slot}) == floor((now() - {LATENESS_SECONDS}) / {slot}) - 1")
}

/// The field holding a cluster's band keys.
pub const FINGERPRINT_FIELD: &str = "tripline_fingerprint";

/// The field holding a cluster's words, then their distinct lowercase forms.
const FINGERPRINT_WORD: &str = "tripline_word";

/// The field holding the MD5 of each word.
const FINGERPRINT_HASH: &str = "tripline_hash";

/// A copy of the clustered text, when its field name is not a plain term.
const FINGERPRINT_TEXT: &str = "tripline_text";

/// Band `band` (from 0) of a fingerprint in SPL, from the plan's steps: the
/// word pattern (shared by every band), the band's sorted distinct slices
/// (over [`FINGERPRINT_HASH`]) and its key (over `tripline_band_<k>`).
fn fingerprint_band(
    fingerprint: &plan::Fingerprint,
    band: usize,
) -> Result<(&'static str, String, String), String> {
    let name = format!("tripline_band_{}", band + 1);
    let mut pattern = None;
    let mut slices = String::new();
    let mut key = name.clone();
    for step in fingerprint.band_steps(band) {
        match step {
            FingerprintStep::Words { pattern: words } => pattern = Some(words),
            FingerprintStep::HashEach { offset, digits } => {
                slices = format!(
                    "mvmap({FINGERPRINT_HASH}, substr({FINGERPRINT_HASH}, {}, {digits}))",
                    offset + 1
                );
            }
            FingerprintStep::Distinct => slices = format!("mvdedup({slices})"),
            FingerprintStep::Sort => slices = format!("mvsort({slices})"),
            // mvindex's end index stays inside the values.
            FingerprintStep::First(count) => {
                key = format!(
                    "mvindex({key}, 0, min({}, mvcount({key}) - 1))",
                    count.max(1) - 1
                );
            }
            FingerprintStep::Join { separator } => {
                key = format!("mvjoin({key}, \"{separator}\")");
            }
            // Events without a word were dropped: no key is empty.
            FingerprintStep::DropEmpty => {}
            FingerprintStep::Label(label) => key = format!("\"{label}\" . {key}"),
            FingerprintStep::MinLength(_) => {}
        }
    }
    match pattern {
        Some(pattern) if !pattern.contains(['"', '\\']) && !slices.is_empty() => {
            Ok((pattern, slices, key))
        }
        _ => Err("the fingerprint's steps have no SPL form".to_string()),
    }
}

/// Milliseconds as whole seconds, rounded up.
fn ceil_seconds(milliseconds: i64) -> i64 {
    (milliseconds.max(0) + 999) / 1000
}

/// One aggregate of a window condition: the eval that prepares its input
/// (if any) and the `stats` function computing it.
struct Aggregate {
    name: String,
    prepare: Option<String>,
    stats: String,
}

/// The one `eval` that prepares the aggregates' inputs, if any needs one.
fn prepare_line(aggregates: &[Aggregate]) -> Option<String> {
    let prepares: Vec<String> = aggregates
        .iter()
        .filter_map(|aggregate| aggregate.prepare.clone())
        .collect();
    (!prepares.is_empty()).then(|| format!("| eval {}", prepares.join(", ")))
}

/// The SPL of a plan, and the problems met on the way.
struct Printer<'a> {
    spl: Spl<'a>,
    problems: Vec<Problem>,
    /// A group key computed by the search (a cluster's fingerprint): its
    /// name in the plan and its field.
    computed: Option<(&'static str, &'static str)>,
}

impl Printer<'_> {
    /// Records a refusal; returns the constant false for its place.
    fn fail(&mut self, origin: Origin, message: impl Into<String>) -> String {
        self.problems
            .push(Problem::untranslatable(origin, message.into()));
        "false()".to_string()
    }

    /// A mapped field reference.
    fn field(&mut self, canonical: &str, origin: Origin) -> String {
        match self.spl.field(canonical) {
            Ok(reference) => reference,
            Err(Unsupported(reason)) => self.fail(origin, reason),
        }
    }

    /// The field of a grouping: the computed key's, or the mapped field.
    fn group_field(&mut self, name: &str, origin: Origin) -> String {
        match self.computed {
            Some((key, field)) if key == name => field.to_string(),
            _ => self.field(name, origin),
        }
    }

    /// The search of a window after its source's lines: the window's
    /// `stats`, history and condition, reading back the window, its history
    /// and two schedule slots, and suppressed for the window and two slots.
    fn window_search(
        &mut self,
        window: &plan::Window,
        condition: &Expr,
        (slot, learn_ms): (i64, i64),
        mut lines: Vec<String>,
        origin: Origin,
    ) -> Search {
        let seconds = window.bucket_ms / 1000;
        let (suppress_fields, history_seconds) = self.window(
            window,
            (seconds, slot, learn_ms),
            condition,
            &mut lines,
            origin,
        );
        Search {
            lines,
            look_back_seconds: 2 * slot + seconds + history_seconds + LATENESS_SECONDS,
            suppress_fields,
            suppress_seconds: seconds + 2 * slot,
        }
    }

    /// A filter of the plan, every test total.
    fn filter(&mut self, filter: &Pred) -> String {
        syntax::predicate(&self.spl, filter, &mut self.problems)
    }

    /// The event-type prefilter and test, then the filter (after the
    /// lookups it reads by reference). Returns the helper fields the lookups
    /// added.
    fn source(&mut self, source: &Source, lines: &mut Vec<String>, origin: Origin) -> Vec<String> {
        self.prefilter(&source.event_types, lines, origin);
        let event_test = self.event_test(&source.event_types, origin);
        let Some(filter) = &source.filter else {
            lines.push(format!("| where {event_test}"));
            return Vec::new();
        };
        self.spl.joinable.set(true);
        let condition = self.filter(filter);
        self.spl.joinable.set(false);
        let joins = self.spl.joins.take();
        if joins.is_empty() {
            lines.push(format!("| where {event_test} AND ({condition})"));
            return Vec::new();
        }
        // The event types first, so that only their events are looked up.
        lines.push(format!("| where {event_test}"));
        let mut helpers = Vec::new();
        for join in &joins {
            lines.extend(super::lookup::join_lines(
                &join.lookup,
                join.separator,
                &join.fields,
            ));
            helpers.push(super::lookup::key_field(&join.lookup));
            helpers.push(super::lookup::found_field(&join.lookup));
        }
        lines.push(format!("| where {condition}"));
        helpers
    }

    /// A case-insensitive search term for the event types (a superset, and
    /// fast), appended to the first line, when the names allow it.
    fn prefilter(&mut self, event_types: &[String], lines: &mut [String], origin: Origin) {
        let event_type = self.field("event_type", origin);
        if event_types
            .iter()
            .all(|name| plain_term(name) && plain_term(&event_type))
        {
            let mut names: Vec<&String> = Vec::new();
            for name in event_types {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            let terms: Vec<String> = names
                .iter()
                .map(|name| format!("{event_type}={name}"))
                .collect();
            lines[0].push_str(&format!(" | search {}", terms.join(" OR ")));
        }
    }

    /// The exact test of the event types.
    fn event_test(&mut self, event_types: &[String], origin: Origin) -> String {
        let event_type = self.field("event_type", origin);
        let mut types: Vec<&str> = event_types.iter().map(String::as_str).collect();
        types.sort_unstable();
        types.dedup();
        if types.is_empty() {
            return "false()".to_string();
        }
        match text_match(&event_type, &types, TextOp::Equals, true, false) {
            Ok(test) => test,
            Err(Unsupported(reason)) => self.fail(origin, reason),
        }
    }

    /// The exact event-type test and the filter of a source, as one boolean
    /// (lookups inlined: a sequence step tests it inside `if()`).
    fn source_test(&mut self, source: &Source, origin: Origin) -> String {
        let event_test = self.event_test(&source.event_types, origin);
        match &source.filter {
            Some(filter) => {
                let condition = self.filter(filter);
                format!("{event_test} AND ({condition})")
            }
            None => event_test,
        }
    }

    /// A cluster's fingerprint: one multivalue field, `tripline_fingerprint`,
    /// holding the event's band keys (see `docs/language.md`, `cluster`),
    /// which the window then groups by. `stats ... by` a multivalue field
    /// puts the event in the group of each of its values, as the grouping
    /// sets already rely on, so an event joins one group per band without
    /// `mvexpand` (and its memory bound).
    ///
    /// Each step is a documented function with no approximation:
    /// - the length is `len()`, which counts UTF-8 code points
    ///   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/10.0/evaluation-functions/text-functions>),
    ///   the language's characters;
    /// - the words are every match of `[A-Za-z0-9]{3,}`, left to right and
    ///   without overlap: `rex max_match=0` (0 is no limit) makes the named
    ///   group a multivalue field
    ///   (<https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/rex>);
    ///   the class is ASCII, so PCRE's mode does not matter, and each word
    ///   is lowercased after extraction (never the text: `K` U+212A would
    ///   become an ASCII `k`);
    /// - `mvmap` (Splunk 8.0 and later) applies `lower`, `md5` and `substr`
    ///   to each value, `mvdedup` keeps distinct values, `mvsort` sorts
    ///   lexicographically, which for fixed-width lowercase hex is numeric
    ///   order, `mvindex` keeps the first r (its end index kept in range),
    ///   `mvjoin` joins and `mvappend` collects the bands
    ///   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/evaluation-functions/multivalue-eval-functions>);
    /// - `md5` returns the hex digest
    ///   (<https://help.splunk.com/splunk-enterprise/search/spl2-search-reference/evaluation-functions/cryptographic-functions>);
    ///   it is lowercased, as the key's digits are, whatever case it has.
    ///
    /// An event without a word has no fingerprint and is dropped before any
    /// band, so no band key is ever empty.
    fn fingerprint(
        &mut self,
        fingerprint: &plan::Fingerprint,
        lines: &mut Vec<String>,
        origin: Origin,
    ) {
        let field = self.field(&fingerprint.field, origin);
        let mut tests = vec![format!("isnotnull({field})")];
        if let Some(FingerprintStep::MinLength(minimum)) = fingerprint.length_step() {
            tests.push(format!("len({field}) >= {minimum}"));
        }
        lines.push(format!("| where {}", tests.join(" AND ")));
        let text = if plain_term(&field) {
            field
        } else {
            lines.push(format!("| eval {FINGERPRINT_TEXT} = {field}"));
            FINGERPRINT_TEXT.to_string()
        };
        let mut bands = Vec::new();
        let mut keys = Vec::new();
        for band in 0..fingerprint.bands() {
            match fingerprint_band(fingerprint, band) {
                Ok((pattern, slices, key)) => {
                    if band == 0 {
                        lines.push(format!(
                            "| rex field={text} max_match=0 \"(?<{FINGERPRINT_WORD}>{pattern})\""
                        ));
                        lines.push(format!("| where isnotnull({FINGERPRINT_WORD})"));
                        lines.push(format!(
                            "| eval {FINGERPRINT_WORD} = mvdedup(mvmap({FINGERPRINT_WORD}, lower({FINGERPRINT_WORD})))"
                        ));
                        lines.push(format!(
                            "| eval {FINGERPRINT_HASH} = mvmap({FINGERPRINT_WORD}, lower(md5({FINGERPRINT_WORD})))"
                        ));
                    }
                    bands.push(format!("tripline_band_{} = {slices}", band + 1));
                    keys.push(key);
                }
                Err(reason) => {
                    self.fail(origin, reason);
                    return;
                }
            }
        }
        lines.push(format!("| eval {}", bands.join(", ")));
        lines.push(format!(
            "| eval {FINGERPRINT_FIELD} = mvappend({})",
            keys.join(", ")
        ));
        self.computed = Some((fingerprint.group_name(), FINGERPRINT_FIELD));
    }

    /// A sequence `A repeat >= n; B` by key within W, in the closed form of
    /// [`plan::sequence`] (proved there equal to the evaluator's state
    /// machine, with why reading W before the slot is enough): per key, in
    /// processing order, each A-event's run start is the time of the
    /// A-event n − 1 A-events before it, and a B-event completes when the
    /// event just before it is an A-event whose run started at most W before
    /// it.
    ///
    /// Only commands whose meaning is documented without a window:
    /// `sort 0` (every result, in the order of its fields), `accum` (a
    /// running total: the row's position), and `autoregress`, which copies a
    /// field of the p-th prior result into the current one
    /// (<https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/autoregress>).
    /// Sorting the A-events first (in processing order) makes the p-th prior
    /// result the p-th prior A-event; comparing its key keeps it to the same
    /// key. Then the processing order again, and the prior result is the
    /// event just before. `streamstats` is not used (see docs/targets.md).
    fn sequence(
        &mut self,
        form: &plan::sequence::RunThenStep<'_>,
        slot: i64,
        lines: &mut Vec<String>,
        origin: Origin,
    ) {
        if form.repeat > MAX_SEQUENCE_RUN {
            self.fail(
                origin,
                format!(
                    "`repeat >= {}` would copy each of its events into its own field; at most {MAX_SEQUENCE_RUN} are translated",
                    form.repeat
                ),
            );
            return;
        }
        if form.within_ms % 1000 != 0 {
            self.fail(origin, "the span is not a whole number of seconds");
        }
        let mut types = form.run.event_types.clone();
        types.extend(form.last.event_types.iter().cloned());
        self.prefilter(&types, lines, origin);
        let first = self.source_test(form.run, origin);
        let last = self.source_test(form.last, origin);
        let keys: Vec<String> = form
            .by
            .iter()
            .map(|name| self.field(name, origin))
            .collect();
        let event_id = self.field("event_id", origin);
        let present: Vec<String> = keys.iter().map(|key| format!("isnotnull({key})")).collect();
        lines.push(format!(
            "| eval tripline_first_step = if({first}, 1, 0), tripline_last_step = if({last}, 1, 0)"
        ));
        lines.push(format!(
            "| where {} AND (tripline_first_step == 1 OR tripline_last_step == 1)",
            present.join(" AND ")
        ));
        let key_text: Vec<String> = keys
            .iter()
            .map(|key| format!("len({key}) . \":\" . {key}"))
            .collect();
        lines.push(format!(
            "| eval tripline_time_ms = round(exact(_time * 1000)), tripline_key = {}, tripline_event_id = {event_id}",
            key_text.join(" . ")
        ));
        // Processing order: time, then `event_id`, per key; the row number
        // keeps it through the next sort.
        lines.push(
            "| sort 0 str(tripline_key), num(tripline_time_ms), str(tripline_event_id)".to_string(),
        );
        lines.push("| eval tripline_row = 1".to_string());
        lines.push("| accum tripline_row".to_string());
        let back = form.repeat.max(1) - 1;
        let mut run_ids: Vec<String> = (1..=back)
            .rev()
            .map(|offset| format!("tripline_event_id_p{offset}"))
            .collect();
        run_ids.push("tripline_event_id".to_string());
        if back == 0 {
            lines.push(
                "| eval tripline_run_start_ms = if(tripline_first_step == 1, tripline_time_ms, null())"
                    .to_string(),
            );
        } else {
            // The first-step events first, in processing order: the p-th
            // prior result of one is the p-th prior first-step event.
            lines.push("| sort 0 -num(tripline_first_step), num(tripline_row)".to_string());
            lines.push(format!(
                "| autoregress tripline_key AS tripline_run_key p={back}"
            ));
            lines.push(format!(
                "| autoregress tripline_time_ms AS tripline_run_start_ms p={back}"
            ));
            lines.push(if back == 1 {
                "| autoregress tripline_event_id AS tripline_event_id_p1 p=1".to_string()
            } else {
                format!("| autoregress tripline_event_id p=1-{back}")
            });
            lines.push(
                "| eval tripline_run_start_ms = if(tripline_first_step == 1 AND tripline_run_key == tripline_key, tripline_run_start_ms, null())"
                    .to_string(),
            );
            lines.push("| sort 0 num(tripline_row)".to_string());
        }
        // The event just before, in processing order.
        lines.push("| autoregress tripline_key AS tripline_previous_key".to_string());
        lines.push("| autoregress tripline_first_step AS tripline_previous_first".to_string());
        lines.push("| autoregress tripline_run_start_ms AS tripline_first_ms".to_string());
        let mut carried = Vec::new();
        for (index, field) in run_ids.iter().enumerate() {
            let name = format!("tripline_run_event_{}", index + 1);
            lines.push(format!("| autoregress {field} AS {name}"));
            carried.push(name);
        }
        lines.push(format!(
            "| where tripline_last_step == 1 AND tripline_previous_key == tripline_key AND tripline_previous_first == 1 AND tripline_first_ms >= tripline_time_ms - {}",
            form.within_ms
        ));
        lines.push(slot_filter(slot));
        lines.push(format!(
            "| eval tripline_first_seen = tripline_first_ms / 1000, tripline_last_seen = _time, tripline_event_ids = mvappend({}, tripline_event_id)",
            carried.join(", ")
        ));
        let mut helpers = vec![
            "tripline_first_step",
            "tripline_last_step",
            "tripline_time_ms",
            "tripline_key",
            "tripline_event_id",
            "tripline_row",
            "tripline_run_start_ms",
            "tripline_previous_key",
            "tripline_previous_first",
            "tripline_first_ms",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        if back > 0 {
            helpers.push("tripline_run_key".to_string());
            helpers.extend(run_ids.iter().filter(|id| id.contains("_p")).cloned());
        }
        helpers.extend(carried);
        lines.push(format!("| fields - {}", helpers.join(", ")));
    }

    /// Window, `stats` per group (or per grouping set), history and
    /// percentiles, the schedule slot's windows, the condition. Returns the
    /// fields an alert is identified by, and how far before the alerting
    /// windows the search must read (the longest baseline span, in seconds).
    ///
    /// Splunk rounds the result of `*` (and of `+`, `-`) to the significant
    /// figures of its least precise operand (3 * 0.5 gives 2, see
    /// https://wiki.splunk.com/Community:BadMath); `exact()` keeps the full
    /// double ("exact(X): renders the result of a numeric eval calculation
    /// with a larger amount of precision",
    /// https://docs.splunk.com/Documentation/Splunk/latest/SearchReference/MathematicalFunctions).
    /// So every computed number here is wrapped in `exact()`, and arithmetic
    /// is over doubles as in the evaluator ("numbers are treated as
    /// double-precision floating-point numbers",
    /// https://docs.splunk.com/Documentation/SCS/current/SearchReference/EvalCommandUsage).
    fn window(
        &mut self,
        window: &plan::Window,
        (bucket, slot, learn_ms): (i64, i64, i64),
        expr: &Expr,
        lines: &mut Vec<String>,
        origin: Origin,
    ) -> (Vec<String>, i64) {
        let plan = &window.condition;
        let mut aggregates = Vec::new();
        let names = self.aggregates(plan, expr, &mut aggregates);
        lines.push(format!(
            "| eval {WINDOW_FIELD} = floor(_time / {bucket}) * {bucket}"
        ));
        lines.extend(prepare_line(&aggregates));
        let mut stats: Vec<String> = aggregates
            .iter()
            .map(|aggregate| aggregate.stats.clone())
            .collect();
        // `context`: values(X) gives X's distinct values, sorted
        // lexicographically, as a multivalue field (null values are not values)
        // (https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/statistical-and-charting-functions/multivalue-stats-and-chart-functions).
        for name in &window.context {
            let field = self.field(name, origin);
            stats.push(format!("values({field}) AS {field}"));
        }
        let mut identity = vec![WINDOW_FIELD.to_string()];
        // The fields a group is told apart by, for `eventstats ... by`.
        let several = window.groupings.len() > 1;
        let group_fields: Vec<String> = match window.groupings.as_slice() {
            [single] => {
                let fields: Vec<String> = single
                    .iter()
                    .map(|name| self.group_field(name, origin))
                    .collect();
                let mut by = vec![WINDOW_FIELD.to_string()];
                by.extend(fields.iter().cloned());
                if !fields.is_empty() {
                    // Events missing a group field are not grouped.
                    let present: Vec<String> = fields
                        .iter()
                        .map(|field| format!("isnotnull({field})"))
                        .collect();
                    lines.push(format!("| where {}", present.join(" AND ")));
                }
                lines.push(format!("| stats {} by {}", stats.join(", "), by.join(", ")));
                identity.extend(fields.iter().cloned());
                fields
            }
            sets => {
                self.grouping_sets(sets, &stats, lines, origin);
                identity.push("tripline_group".to_string());
                vec!["tripline_group".to_string()]
            }
        };
        lines.push(format!(
            "| eval tripline_until = floor((now() - {LATENESS_SECONDS}) / {slot}) * {slot}, tripline_window_end = {WINDOW_FIELD} + {bucket}"
        ));
        let printer = CondPrinter {
            condition: plan,
            names: &names,
        };
        let mut helpers = vec!["tripline_until".to_string()];
        let history_seconds = if plan.baselines.is_empty() {
            0
        } else {
            self.history(
                &printer,
                (bucket, slot),
                &group_fields,
                lines,
                &mut helpers,
                origin,
            )
        };
        lines.push(format!(
            "| where tripline_window_end > tripline_until - {slot} AND tripline_window_end <= tripline_until"
        ));
        if !plan.baselines.is_empty() {
            lines.push(format!(
                "| eval {}",
                baseline_means(plan, bucket).join(", ")
            ));
        }
        let mut partition = vec![WINDOW_FIELD.to_string()];
        if several {
            partition.push("tripline_grouping".to_string());
        }
        for (index, percentile) in plan.percentiles.iter().enumerate() {
            percentile_lines(
                &printer,
                percentile,
                index + 1,
                &partition,
                lines,
                &mut helpers,
            );
        }
        let mut condition = printer.boolean(plan.root.as_ref().unwrap_or(&Cond::Bool(false)));
        if !plan.baselines.is_empty() {
            // A group alerts once its own history reaches back the learning
            // period: from the earliest first bucket of its baselines.
            let learn = ceil_seconds(learn_ms);
            let learned: Vec<String> = (1..=plan.baselines.len())
                .map(|number| {
                    format!(
                        "(isnotnull(tripline_baseline_{number}_first) AND {WINDOW_FIELD} - tripline_baseline_{number}_first >= {learn})"
                    )
                })
                .collect();
            let learned = if learned.len() == 1 {
                learned.join("")
            } else {
                format!("({})", learned.join(" OR "))
            };
            condition = format!("{condition} AND {learned}");
        }
        lines.push(format!("| where {condition}"));
        lines.push(format!("| fields - {}", helpers.join(", ")));
        (identity, history_seconds)
    }

    /// `stats` per grouping set: one multivalue key per event, a value per
    /// grouping set the event has every field of: "<set>|<len>:<value>..."
    /// is injective, so `stats` by the key groups exactly as the evaluator's
    /// grouping set does; the set's own fields are read back with values()
    /// (one value per key).
    fn grouping_sets(
        &mut self,
        sets: &[Vec<String>],
        stats: &[String],
        lines: &mut Vec<String>,
        origin: Origin,
    ) {
        let mut keys = Vec::new();
        let mut all_fields: Vec<String> = Vec::new();
        let mut per_set: Vec<Vec<String>> = Vec::new();
        for (index, set) in sets.iter().enumerate() {
            let fields: Vec<String> = set
                .iter()
                .map(|name| self.group_field(name, origin))
                .collect();
            let present: Vec<String> = fields
                .iter()
                .map(|field| format!("isnotnull({field})"))
                .collect();
            let mut key = format!("\"{index}|\"");
            for field in &fields {
                key.push_str(&format!(" . len({field}) . \":\" . {field}"));
            }
            if present.is_empty() {
                keys.push(key);
            } else {
                keys.push(format!("if({}, {key}, null())", present.join(" AND ")));
            }
            for field in &fields {
                if !all_fields.contains(field) {
                    all_fields.push(field.clone());
                }
            }
            per_set.push(fields);
        }
        lines.push(format!(
            "| eval tripline_group = mvappend({})",
            keys.join(", ")
        ));
        let mut functions = stats.to_vec();
        for field in &all_fields {
            functions.push(format!("values({field}) AS {field}"));
        }
        lines.push(format!(
            "| stats {} by {WINDOW_FIELD}, tripline_group",
            functions.join(", ")
        ));
        lines.push(
            "| eval tripline_grouping = mvindex(split(tripline_group, \"|\"), 0)".to_string(),
        );
        let mut clears = Vec::new();
        for field in &all_fields {
            let sets_with: Vec<String> = per_set
                .iter()
                .enumerate()
                .filter(|(_, fields)| fields.contains(field))
                .map(|(index, _)| format!("tripline_grouping == \"{index}\""))
                .collect();
            clears.push(format!(
                "{field} = if({}, {field}, null())",
                sets_with.join(" OR ")
            ));
        }
        if !clears.is_empty() {
            lines.push(format!("| eval {}", clears.join(", ")));
        }
    }

    /// The history of each baseline over the group's earlier buckets, for
    /// the one bucket this run can report. Returns the longest span in
    /// seconds.
    ///
    /// Why it is exact: with the schedule slot S no longer than the window W,
    /// at most one window ends in (U - S, U] (window ends are W apart), so a
    /// run reports at most the bucket starting at A = floor(U / W) * W - W.
    /// Only A's history is needed: the rows of buckets in [A - span, A). The
    /// search reads back 2S + W + span + lateness seconds, which reaches
    /// before A - span whatever the run's delay within its slot, so every
    /// bucket of that range is whole; rows outside it are dropped. Then one
    /// `eventstats` per group gives the first such bucket, the number of
    /// buckets with events, and the sum and number of the expression's
    /// values: `eventstats` adds whole-group statistics to every row without
    /// a window ("Generates summary statistics from fields in your events and
    /// saves those statistics in a new field",
    /// https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/eventstats).
    fn history(
        &mut self,
        printer: &CondPrinter<'_>,
        (bucket, slot): (i64, i64),
        group_fields: &[String],
        lines: &mut Vec<String>,
        helpers: &mut Vec<String>,
        origin: Origin,
    ) -> i64 {
        let plan = printer.condition;
        if slot > bucket {
            self.fail(
                origin,
                format!(
                    "a baseline is compiled for schedules no longer than the window: this rule runs every {slot}s over {bucket}s windows, so one run would report several windows whose histories differ; give it `schedule` {bucket}s or less"
                ),
            );
        }
        let spans: Vec<i64> = plan
            .baselines
            .iter()
            .map(|baseline| ceil_seconds(baseline.span_ms))
            .collect();
        let longest = spans.iter().copied().max().unwrap_or(0);
        lines.push(format!(
            "| eval tripline_alerting_start = floor(tripline_until / {bucket}) * {bucket} - {bucket}"
        ));
        lines.push(format!(
            "| where {WINDOW_FIELD} >= tripline_alerting_start - {longest} AND {WINDOW_FIELD} <= tripline_alerting_start"
        ));
        helpers.push("tripline_alerting_start".to_string());
        let mut evals = Vec::new();
        let mut statistics = Vec::new();
        for (index, (baseline, span)) in plan.baselines.iter().zip(&spans).enumerate() {
            let name = format!("tripline_baseline_{}", index + 1);
            evals.push(format!(
                "{name}_bucket = if({WINDOW_FIELD} >= tripline_alerting_start - {span} AND {WINDOW_FIELD} < tripline_alerting_start, {WINDOW_FIELD}, null())"
            ));
            evals.push(format!(
                "{name}_input = if(isnotnull({name}_bucket), {}, null())",
                printer.value(&baseline.inner)
            ));
            statistics.push(format!("min({name}_bucket) AS {name}_first"));
            statistics.push(format!("count({name}_bucket) AS {name}_active"));
            statistics.push(format!("sum({name}_input) AS {name}_sum"));
            statistics.push(format!("count({name}_input) AS {name}_values"));
            for helper in [
                "bucket", "input", "first", "active", "sum", "values", "empty",
            ] {
                helpers.push(format!("{name}_{helper}"));
            }
        }
        lines.push(format!("| eval {}", evals.join(", ")));
        let by = if group_fields.is_empty() {
            String::new()
        } else {
            format!(" by {}", group_fields.join(", "))
        };
        lines.push(format!("| eventstats {}{by}", statistics.join(", ")));
        longest
    }

    /// New value: every sighting (an event of the source with every key and
    /// value field present) in processing order, `_time` then `event_id`.
    /// A sighting at t alerts when (a) the previous sighting of its key and
    /// value combination in processing order is before t - lookback (or
    /// there is none), and (b) the latest sighting of its key at or before
    /// t - learn is at or after t - lookback.
    ///
    /// Why it is exact, with no window anywhere: `streamstats` is avoided,
    /// because without `window`/`time_window` its documentation applies
    /// `max_stream_window` (10,000 events,
    /// https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/streamstats).
    /// Instead:
    /// - (a) `sort 0` (no result limit: "If 0 is specified, all of the
    ///   results are returned",
    ///   https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/sort)
    ///   by an injective text of the combination, time and `event_id`, both
    ///   texts compared as strings (`str()`: lexicographic, case-sensitive),
    ///   then `autoregress` copies the previous result's combination and time
    ///   ("copying one or more of the previous values for field into each
    ///   event",
    ///   https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/autoregress):
    ///   the previous result of the same combination is its previous sighting.
    /// - (b) every sighting gets a "ripe" copy at its time + learn; sorted by
    ///   key, then time, ripe copies before sightings at equal times, the
    ///   last ripe copy above a sighting (`filldown` of its key and time,
    ///   "Replaces null values with the last non-null value",
    ///   https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/filldown)
    ///   is, when it has the sighting's key, the key's latest sighting at or
    ///   before t - learn.
    ///
    /// Times are compared in whole milliseconds (`round(_time * 1000)`), so
    /// the bounds are exact. The run reports the sightings of one schedule
    /// slot, as match rules do, and reads the lookback before it.
    /// `mvexpand` makes the ripe copies after `fields` has cut each result
    /// to the few fields used, far below its memory bound (500 MB per chunk,
    /// https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/mvexpand).
    fn new_value(
        &mut self,
        (key, values): (&[String], &[String]),
        (lookback_ms, learn_ms, slot): (i64, i64, i64),
        lines: &mut Vec<String>,
        origin: Origin,
    ) {
        if learn_ms <= 0 || learn_ms > lookback_ms {
            self.fail(
                origin,
                "a new value needs a learning period between 0 and the lookback",
            );
        }
        let key_fields: Vec<String> = key.iter().map(|name| self.field(name, origin)).collect();
        let value_fields: Vec<String> =
            values.iter().map(|name| self.field(name, origin)).collect();
        let event_id = self.field("event_id", origin);
        let all: Vec<&String> = key_fields.iter().chain(&value_fields).collect();
        let present: Vec<String> = all
            .iter()
            .map(|field| format!("isnotnull({field})"))
            .collect();
        lines.push(format!("| where {}", present.join(" AND ")));
        let mut kept = vec!["_time".to_string(), event_id.clone()];
        for field in &all {
            if !kept.contains(field) {
                kept.push((*field).clone());
            }
        }
        lines.push(format!("| fields {}", kept.join(", ")));
        let text = |fields: &[String]| -> String {
            fields
                .iter()
                .map(|field| format!("len({field}) . \":\" . {field}"))
                .collect::<Vec<_>>()
                .join(" . ")
        };
        lines.push(format!(
            "| eval tripline_time_ms = round(exact(_time * 1000)), tripline_key = {}, tripline_value = tripline_key . {}",
            text(&key_fields),
            text(&value_fields)
        ));
        lines.push(format!(
            "| sort 0 str(tripline_value), num(tripline_time_ms), str({event_id})"
        ));
        lines.push("| autoregress tripline_value AS tripline_previous_value".to_string());
        lines.push("| autoregress tripline_time_ms AS tripline_previous_ms".to_string());
        lines.push(
            "| eval tripline_value_seen_ms = if(tripline_previous_value == tripline_value, tripline_previous_ms, null())"
                .to_string(),
        );
        lines.push("| eval tripline_copy = mvappend(\"ripe\", \"sighting\")".to_string());
        lines.push("| mvexpand tripline_copy".to_string());
        lines.push(format!(
            "| eval tripline_at_ms = if(tripline_copy == \"ripe\", tripline_time_ms + {learn_ms}, tripline_time_ms), tripline_ripe_key = if(tripline_copy == \"ripe\", tripline_key, null()), tripline_ripe_ms = if(tripline_copy == \"ripe\", tripline_time_ms, null())"
        ));
        // "ripe" sorts before "sighting": a copy ripe at t counts for t.
        lines.push(
            "| sort 0 str(tripline_key), num(tripline_at_ms), str(tripline_copy)".to_string(),
        );
        lines.push("| filldown tripline_ripe_key tripline_ripe_ms".to_string());
        lines.push("| where tripline_copy == \"sighting\"".to_string());
        lines.push(slot_filter(slot));
        // `if()` rather than `isnull(seen) OR seen < ...`: what SPL's `OR`
        // makes of a null comparison beside a true operand is not documented.
        lines.push(format!(
            "| where if(isnull(tripline_value_seen_ms), true(), tripline_value_seen_ms < tripline_time_ms - {lookback_ms}) AND tripline_ripe_key == tripline_key AND tripline_ripe_ms >= tripline_time_ms - {lookback_ms}"
        ));
        lines.push(
            "| fields - tripline_time_ms, tripline_key, tripline_value, tripline_previous_value, tripline_previous_ms, tripline_value_seen_ms, tripline_copy, tripline_at_ms, tripline_ripe_key, tripline_ripe_ms"
                .to_string(),
        );
    }

    /// The `stats` output field of every aggregate of the plan, by index
    /// (shared when two compute the same); collects what `stats` computes.
    fn aggregates(
        &mut self,
        plan: &Condition,
        expr: &Expr,
        aggregates: &mut Vec<Aggregate>,
    ) -> Vec<String> {
        plan.aggregates
            .iter()
            .map(|aggregate| {
                let origin = aggregate_origin(expr, &aggregate.label).unwrap_or(expr.origin);
                self.aggregate(aggregate, origin, aggregates)
            })
            .collect()
    }

    /// The `stats` output field of one aggregate.
    fn aggregate(
        &mut self,
        aggregate: &plan::Aggregate,
        origin: Origin,
        aggregates: &mut Vec<Aggregate>,
    ) -> String {
        let plan::Aggregate {
            function,
            field,
            filter,
            ..
        } = aggregate;
        let name = format!("tripline_aggregate_{}", aggregates.len() + 1);
        let field = field.as_ref().map(|name| self.field(name, origin));
        let filter = filter.as_ref().map(|filter| self.filter(filter));
        let input = format!("{name}_input");
        let (prepare, stats) = match (function, &field, &filter) {
            (AggregateFunction::Count, _, None) => (None, format!("count AS {name}")),
            (AggregateFunction::Count, _, Some(filter)) => (
                Some(format!("{input} = if({filter}, 1, 0)")),
                format!("sum({input}) AS {name}"),
            ),
            (AggregateFunction::Sum, Some(field), filter) => {
                let mut test = format!("isnotnull({field})");
                if let Some(filter) = filter {
                    test.push_str(&format!(" AND ({filter})"));
                }
                // A group with no value sums to 0, as in the evaluator.
                (
                    Some(format!("{input} = if({test}, {field}, 0)")),
                    format!("sum({input}) AS {name}"),
                )
            }
            (function, Some(field), None) => (
                None,
                format!("{}({field}) AS {name}", stats_function(*function)),
            ),
            (function, Some(field), Some(filter)) => (
                Some(format!("{input} = if({filter}, {field}, null())")),
                format!("{}({input}) AS {name}", stats_function(*function)),
            ),
            (_, None, _) => {
                return self.fail(origin, "an aggregate without its field");
            }
        };
        if let Some(existing) = aggregates.iter().find(|aggregate| {
            aggregate.stats.split(" AS ").next() == stats.split(" AS ").next()
                && aggregate.prepare.is_none()
                && prepare.is_none()
        }) {
            return existing.name.clone();
        }
        aggregates.push(Aggregate {
            name: name.clone(),
            prepare,
            stats,
        });
        name
    }
}

/// Where the aggregate written as `label` is, for refusals.
fn aggregate_origin(expr: &Expr, label: &str) -> Option<Origin> {
    match &expr.kind {
        ExprKind::Aggregate { label: found, .. } if found == label => Some(expr.origin),
        ExprKind::Not { operand } => aggregate_origin(operand, label),
        ExprKind::And { operands } | ExprKind::Or { operands } => operands
            .iter()
            .find_map(|operand| aggregate_origin(operand, label)),
        ExprKind::Compare { left, right, .. } | ExprKind::Arithmetic { left, right, .. } => {
            aggregate_origin(left, label).or_else(|| aggregate_origin(right, label))
        }
        ExprKind::Baseline { aggregate, .. } | ExprKind::Percentile { aggregate, .. } => {
            aggregate_origin(aggregate, label)
        }
        _ => None,
    }
}

/// Each baseline's mean from its history: the buckets from the group's
/// first bucket inside the span up to the reported one, those without events
/// at the expression's empty value (when it has one), those where it has no
/// value skipped; no bucket inside the span means no baseline.
fn baseline_means(plan: &Condition, bucket: i64) -> Vec<String> {
    let mut evals = Vec::new();
    for (index, baseline) in plan.baselines.iter().enumerate() {
        let name = format!("tripline_baseline_{}", index + 1);
        let empties = format!("{name}_empty");
        match baseline.empty {
            Some(empty) => {
                evals.push(format!(
                    "{empties} = exact(({WINDOW_FIELD} - {name}_first) / {bucket} - {name}_active)"
                ));
                let sum = if empty == 0.0 {
                    format!("coalesce({name}_sum, 0)")
                } else {
                    format!(
                        "(coalesce({name}_sum, 0) + {} * {empties})",
                        spl_float(empty)
                    )
                };
                evals.push(format!(
                    "{name} = if(isnotnull({name}_first) AND {name}_values + {empties} > 0, exact({sum} / ({name}_values + {empties})), null())"
                ));
            }
            None => evals.push(format!(
                "{name} = if(isnotnull({name}_first) AND {name}_values > 0, exact({name}_sum / {name}_values), null())"
            )),
        }
    }
    evals
}

/// The exact percentile: the value at 0-based rank floor((N - 1) * P / 100)
/// of the ascending values of the N groups of the bucket that have one.
/// `sort 0` orders the rows by bucket, then value (numerically); `accum`
/// numbers the rows with a value in that order (a running total, no window:
/// https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/search-commands/accum);
/// the rank within the bucket is that number less the bucket's offset.
/// Never `perc`/`exactperc`, which interpolate or estimate.
fn percentile_lines(
    printer: &CondPrinter<'_>,
    percentile: &plan::Percentile,
    number: usize,
    partition: &[String],
    lines: &mut Vec<String>,
    helpers: &mut Vec<String>,
) {
    let name = format!("tripline_percentile_{number}");
    let partition = partition.join(", ");
    lines.push(format!(
        "| eval {name}_input = {}, {name}_counted = if(isnotnull({name}_input), 1, 0)",
        printer.value(&percentile.inner)
    ));
    lines.push(format!("| sort 0 {partition}, num({name}_input)"));
    lines.push(format!("| accum {name}_counted AS {name}_position"));
    lines.push(format!(
        "| eval {name}_before = {name}_position - {name}_counted"
    ));
    lines.push(format!(
        "| eventstats min({name}_before) AS {name}_offset, sum({name}_counted) AS {name}_groups by {partition}"
    ));
    lines.push(format!(
        "| eval {name}_pick = if({name}_counted == 1 AND {name}_position - {name}_offset - 1 == floor(exact(({name}_groups - 1) * {} / 100)), {name}_input, null())",
        spl_float(percentile.percentile.clamp(0.0, 100.0))
    ));
    lines.push(format!(
        "| eventstats max({name}_pick) AS {name} by {partition}"
    ));
    for helper in [
        "input", "counted", "position", "before", "offset", "groups", "pick",
    ] {
        helpers.push(format!("{name}_{helper}"));
    }
}

/// A float in decimal notation (never an exponent).
fn spl_float(value: f64) -> String {
    number(&Value::Float(value)).unwrap_or_else(|| "null()".to_string())
}

/// A plan condition over the `stats` fields, every comparison total.
struct CondPrinter<'a> {
    condition: &'a Condition,
    names: &'a [String],
}

impl CondPrinter<'_> {
    /// A numeric expression, null when it has no value (a missing operand
    /// makes `eval` arithmetic null; division by zero is guarded to null).
    fn value(&self, cond: &Cond) -> String {
        match cond {
            Cond::Int(value) => value.to_string(),
            Cond::Float(value) => spl_float(*value),
            Cond::Bool(_) | Cond::Missing => "null()".to_string(),
            Cond::Leaf(Leaf::Aggregate(index)) => self.names[*index].clone(),
            Cond::Leaf(Leaf::Baseline(index)) => format!("tripline_baseline_{}", index + 1),
            Cond::Leaf(Leaf::Percentile(index)) => format!("tripline_percentile_{}", index + 1),
            Cond::Arithmetic(op, left, right) => {
                let (left, right) = (self.value(left), self.value(right));
                match op {
                    ArithmeticOp::Add => format!("exact({left} + {right})"),
                    ArithmeticOp::Subtract => format!("exact({left} - {right})"),
                    ArithmeticOp::Multiply => format!("exact({left} * {right})"),
                    ArithmeticOp::Divide => {
                        format!("if({right} == 0, null(), exact({left} / {right}))")
                    }
                }
            }
            Cond::Compare(..) | Cond::And(_) | Cond::Or(_) | Cond::Not(_) => "null()".to_string(),
        }
    }

    /// A boolean, two-valued: a comparison with a side that has no value is
    /// false (the side's leaves, or the side itself when it divides, are
    /// tested with `isnotnull` first), so `NOT` means what it means in the
    /// evaluator. Conjunctions and disjunctions enclose themselves.
    fn boolean(&self, cond: &Cond) -> String {
        match cond {
            Cond::Compare(op, left, right) => {
                let mut parts = Vec::new();
                for side in [left, right] {
                    for guard in self.guards(side) {
                        if !parts.contains(&guard) {
                            parts.push(guard);
                        }
                    }
                }
                parts.push(format!(
                    "{} {} {}",
                    self.value(left),
                    op.symbol(),
                    self.value(right)
                ));
                format!("({})", parts.join(" AND "))
            }
            Cond::And(operands) | Cond::Or(operands) => {
                let all = matches!(cond, Cond::And(_));
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| self.boolean(operand))
                    .collect();
                match parts.len() {
                    0 => if all { "true()" } else { "false()" }.to_string(),
                    1 => parts.join(""),
                    _ => format!("({})", parts.join(if all { " AND " } else { " OR " })),
                }
            }
            Cond::Not(operand) => format!("NOT {}", self.boolean(operand)),
            Cond::Bool(value) => if *value { "true()" } else { "false()" }.to_string(),
            _ => "false()".to_string(),
        }
    }

    /// The presence tests that make a comparison side total: every leaf it
    /// reads, or the whole side when it divides (division by zero has no
    /// value); none for a constant.
    fn guards(&self, side: &Cond) -> Vec<String> {
        fn divides(cond: &Cond) -> bool {
            match cond {
                Cond::Arithmetic(ArithmeticOp::Divide, ..) => true,
                Cond::Arithmetic(_, left, right) => divides(left) || divides(right),
                _ => false,
            }
        }
        fn leaves(cond: &Cond, out: &mut Vec<Cond>) {
            match cond {
                Cond::Leaf(_) | Cond::Missing => out.push(cond.clone()),
                Cond::Arithmetic(_, left, right) => {
                    leaves(left, out);
                    leaves(right, out);
                }
                _ => {}
            }
        }
        if divides(side) {
            return vec![format!("isnotnull({})", self.value(side))];
        }
        let mut found = Vec::new();
        leaves(side, &mut found);
        found
            .iter()
            .map(|leaf| format!("isnotnull({})", self.value(leaf)))
            .collect()
    }
}

fn stats_function(function: AggregateFunction) -> &'static str {
    match function {
        AggregateFunction::Count => "count",
        AggregateFunction::Distinct => "dc",
        AggregateFunction::Sum => "sum",
        AggregateFunction::Avg => "avg",
        AggregateFunction::Min => "min",
        AggregateFunction::Max => "max",
    }
}

#[cfg(test)]
mod tests {
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
}
