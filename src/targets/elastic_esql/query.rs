//! The ES|QL query of a rule.
//!
//! Input: a rule, the pack and the ECS field mapping. Output: ES|QL text and
//! how far back each run reads, or E0402 problems for the constructs with no
//! exact translation. The rule is lowered by [`plan::plan_and_problems`]; its
//! filters (the source's and the aggregates') are spelled by [`Esql`] through
//! [`syntax::predicate`], and this module lays out the query around them:
//! `FROM ... | WHERE` for a match rule; `STATS ... BY` over epoch-aligned
//! windows for a window rule (grouping sets through `MV_EXPAND`, a group's
//! history through a second `STATS`, percentiles through `INLINE STATS`);
//! `STATS` per key and value, then `INLINE STATS` per key, for a new value.
//!
//! Every run judges one schedule slot: the slot ends at `NOW()` less the
//! lateness bound, truncated to the schedule, and the slots of consecutive
//! runs tile event time, so each window (or event) is judged in exactly one
//! run. Why each shape is exact is said where it is printed, with the
//! Elastic documentation it rests on.

use std::cell::RefCell;

use super::syntax::Esql;
use crate::ir::{self, AggregateFunction, ArithmeticOp, Origin, Pack, Rule, Value};
use crate::targets::lower::decimal_number_or_bool;
use crate::targets::plan::{
    self, Cond, Condition, FingerprintStep, Leaf, Pred, Shape, Source, Window,
};
use crate::targets::{Mapping, Problem, duration_text, syntax};

/// How late an event may arrive: windows are reported only once they closed
/// this long ago (the evaluator's lateness bound).
const LATENESS_MS: i64 = crate::targets::kibana_rule::LATENESS_MS;

/// The column that tells grouping sets apart (0 for the first set).
const GROUPING_SET: &str = "tripline_grouping_set";

/// The column of a cluster's band key, the alert's group.
const FINGERPRINT: &str = "tripline_fingerprint";

/// The columns a cluster's fingerprint computes before its band key: each
/// word, its MD5, the band, the band's slice of the MD5 and the event's
/// distinct slices per band.
const FINGERPRINT_HELPERS: [&str; 6] = [
    FINGERPRINT,
    "tripline_word",
    "tripline_hash",
    "tripline_band",
    "tripline_slice",
    "tripline_slices",
];

/// A rule's query and how far back each run must read.
pub(super) struct Compiled {
    /// The ES|QL text.
    pub(super) text: String,
    /// The look-back of each run in milliseconds (Kibana's `from`).
    pub(super) look_back_ms: i64,
}

/// The ES|QL query of a rule.
pub fn rule_query(rule: &Rule, pack: &Pack, mapping: &Mapping) -> Result<String, Vec<Problem>> {
    compile(rule, pack, mapping).map(|compiled| compiled.text)
}

/// The ES|QL query of a rule and its look-back.
pub(super) fn compile(
    rule: &Rule,
    pack: &Pack,
    mapping: &Mapping,
) -> Result<Compiled, Vec<Problem>> {
    let (plan, problems) = plan::plan_and_problems(rule, pack);
    // A cluster is a window grouped by its fingerprint's band key.
    let cluster = match &plan.shape {
        Shape::Cluster {
            source,
            fingerprint,
            window_ms,
            condition,
        } => Some((
            Window {
                source: source.clone(),
                groupings: vec![vec![fingerprint.group_name().to_string()]],
                bucket_ms: *window_ms,
                condition: condition.clone(),
                context: Vec::new(),
            },
            fingerprint,
        )),
        _ => None,
    };
    let mut query = Query {
        origin: rule.origin,
        context_origin: rule.context_origin(),
        schedule_ms: rule.metadata.schedule_ms,
        pack,
        mapping,
        problems,
        learn_ms: plan.learn_ms,
    };
    let indexes = mapping.data_source.join(", ");
    let schedule_ms = rule.metadata.schedule_ms;
    let (text, look_back_ms) = match &plan.shape {
        Shape::Match(source) => {
            let (filter, added) = query.source(source, &[]);
            let mut commands = vec![format!("FROM {indexes} METADATA _id, _index, _version")];
            commands.extend(filter);
            // The alert keeps the event's fields, not the join's helpers.
            if !added.is_empty() {
                commands.push(format!("DROP {}", added.join(", ")));
            }
            (pipeline(&commands), schedule_ms + LATENESS_MS)
        }
        Shape::Window(window) => query.window(&indexes, window, None),
        Shape::Cluster { .. } => match &cluster {
            Some((window, fingerprint)) => query.window(&indexes, window, Some(fingerprint)),
            None => (query.fail("the cluster has no fingerprint"), 0),
        },
        Shape::NewValue {
            source,
            key,
            values,
            lookback_ms,
        } => query.new_value(&indexes, source, key, values, *lookback_ms),
        _ => (
            query.fail(format!(
                "a {} rule has no ES|QL translation in this target",
                ir::shape_name(&rule.detection)
            )),
            0,
        ),
    };
    if query.problems.is_empty() {
        Ok(Compiled { text, look_back_ms })
    } else {
        Err(query.problems)
    }
}

pub(super) struct Query<'a> {
    /// Where refusals are reported: the rule (or the panel).
    pub(super) origin: Origin,
    /// Where a refusal of the `context` clause is located.
    pub(super) context_origin: Origin,
    /// How often the rule runs (0 for a panel, which is not scheduled).
    pub(super) schedule_ms: i64,
    pub(super) pack: &'a Pack,
    pub(super) mapping: &'a Mapping,
    pub(super) problems: Vec<Problem>,
    /// The learning period of baselines and new values.
    pub(super) learn_ms: i64,
}

/// The event's time in epoch milliseconds, then the start of its
/// epoch-aligned bucket of `w` milliseconds in `column` (a floor modulo, so
/// times before 1970 fall in the bucket below): rules' windows and
/// dashboard panels' buckets alike.
pub(super) fn epoch_bucket(time: &str, column: &str, w: i64) -> [String; 2] {
    [
        format!("EVAL tripline_time_ms = TO_LONG({time})"),
        format!("EVAL {column} = tripline_time_ms - ((tripline_time_ms % {w}) + {w}) % {w}"),
    ]
}

/// The commands of a query, one per line.
pub(super) fn pipeline(commands: &[String]) -> String {
    commands.join("\n| ")
}

/// `a OR b OR ...`, each operand parenthesised when there are several.
fn any_of(mut tests: Vec<String>) -> String {
    if tests.len() == 1 {
        return tests.remove(0);
    }
    tests
        .iter()
        .map(|test| format!("({test})"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

impl<'a> Query<'a> {
    /// Records a refusal at the rule; the query gets `false` in its place.
    pub(super) fn fail(&mut self, message: impl Into<String>) -> String {
        self.problems
            .push(Problem::untranslatable(self.origin, message.into()));
        "false".to_string()
    }

    fn syntax(&self, source: &'a Source) -> Esql<'a> {
        Esql {
            mapping: self.mapping,
            schema: &self.pack.schema,
            types: &source.event_types,
            lookups: &self.pack.lookups,
            joins: None,
        }
    }

    pub(super) fn field(&mut self, source: &'a Source, canonical: &str) -> String {
        match self.syntax(source).field(canonical) {
            Ok(field) => field,
            Err(syntax::Unsupported(reason)) => self.fail(reason),
        }
    }

    /// The commands that select the source's events: one `WHERE` of the
    /// event types, the filter spelled by [`Esql`] and `extra` tests; where
    /// the filter reads lookup indexes, a `WHERE` of the event types first,
    /// then each key and `LOOKUP JOIN`, then the rest. Returns the commands
    /// and the columns the joins added.
    pub(super) fn source(
        &mut self,
        source: &'a Source,
        extra: &[String],
    ) -> (Vec<String>, Vec<String>) {
        let event_type = self.field(source, "event_type");
        let types: Vec<String> = source
            .event_types
            .iter()
            .map(|name| super::quote::esql_string(name))
            .collect();
        let types = match types.as_slice() {
            [single] => format!("{event_type} == {single}"),
            many => format!("{event_type} IN ({})", many.join(", ")),
        };
        let joins = RefCell::new(Vec::new());
        let mut parts = Vec::new();
        if let Some(filter) = &source.filter {
            let esql = Esql {
                joins: Some(&joins),
                ..self.syntax(source)
            };
            let condition = syntax::predicate(&esql, filter, &mut self.problems);
            parts.push(format!("({condition})"));
        }
        parts.extend(extra.iter().cloned());
        let joins = joins.into_inner();
        if joins.is_empty() {
            parts.insert(0, types);
            return (vec![format!("WHERE {}", parts.join(" AND "))], Vec::new());
        }
        let mut commands = vec![format!("WHERE {types}")];
        let mut added = Vec::new();
        for join in &joins {
            commands.extend(super::lookup::join_commands(
                &join.lookup,
                join.separator,
                &join.fields,
            ));
            added.push(super::lookup::key_column(&join.lookup));
            added.push(super::lookup::found_column(&join.lookup));
        }
        commands.push(format!("WHERE {}", parts.join(" AND ")));
        (commands, added)
    }

    /// A window rule: epoch-aligned windows computed from epoch
    /// milliseconds, one `STATS` per window and group, the windows that
    /// closed in this run's slot (at least the lateness bound ago), then the
    /// group's history (baselines), the ranks across groups (percentiles)
    /// and the condition. Returns the query and its look-back: the window,
    /// the longest baseline span, two schedule slots and the lateness bound,
    /// so that every event of the judged windows and of their history is
    /// read.
    /// With a cluster's `fingerprint`, the window's one grouping is the
    /// fingerprint's band key, computed per event first (see
    /// [`Self::fingerprint`]).
    fn window(
        &mut self,
        indexes: &str,
        window: &'a Window,
        fingerprint: Option<&'a plan::Fingerprint>,
    ) -> (String, i64) {
        let w = window.bucket_ms;
        let s = self.schedule_ms;
        if w <= 0 || s <= 0 {
            return (self.fail("the window and the schedule must be positive"), 0);
        }
        let condition = &window.condition;
        let history = !condition.baselines.is_empty();
        if history && s > w {
            // See `history`: one run judges at most one window only when the
            // schedule is no longer than the window.
            let message = format!(
                "a baseline is judged one window per run: the schedule ({}) must not be longer than the window ({})",
                duration_text(s),
                duration_text(w)
            );
            return (self.fail(message), 0);
        }
        let span_ms = condition
            .baselines
            .iter()
            .map(|baseline| baseline.span_ms)
            .max()
            .unwrap_or(0);
        let source = &window.source;
        let several = window.groupings.len() > 1;
        let mut fields: Vec<&String> = Vec::new();
        for field in window.groupings.iter().flatten() {
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        let keys: Vec<String> = fields
            .iter()
            .map(|field| match fingerprint {
                Some(fingerprint) if field.as_str() == fingerprint.group_name() => {
                    FINGERPRINT.to_string()
                }
                _ => self.field(source, field),
            })
            .collect();
        let mut commands = vec![format!("FROM {indexes}")];
        // The columns `STATS` groups by, and those renamed to their field after it.
        let mut by_keys = keys.clone();
        let mut renamed = Vec::new();
        if let Some(fingerprint) = fingerprint {
            // One row per event (`_id` in `_index`) is gathered back from its words.
            commands[0] = format!("FROM {indexes} METADATA _id, _index");
            let (tests, computed) = self.fingerprint(source, fingerprint, condition);
            commands.extend(self.source(source, &tests).0);
            commands.extend(computed);
        } else if several {
            commands.extend(self.source(source, &[]).0);
            let sets = grouping_sets(&window.groupings, &fields, &keys);
            commands.extend(sets.commands);
            by_keys = sets.columns;
            renamed = sets.renamed;
        } else {
            // The evaluator ignores events without a key; STATS would group them under null.
            let present: Vec<String> = keys
                .iter()
                .map(|key| format!("{key} IS NOT NULL"))
                .collect();
            commands.extend(self.source(source, &present).0);
        }
        let time = self.field(source, "timestamp");
        let names = self.aggregate_names(condition);
        let mut stats: Vec<String> = condition
            .aggregates
            .iter()
            .zip(&names)
            .map(|(aggregate, name)| format!("{name} = {}", self.aggregate(source, aggregate)))
            .collect();
        // `context`: VALUES gives the distinct values in no guaranteed order
        // (https://elastic.co/docs/reference/query-languages/esql/functions-operators/aggregation-functions/values),
        // MV_SORT sorts them lexicographically, ascending by default
        // (https://elastic.co/docs/reference/query-languages/esql/functions-operators/mv-functions/mv_sort).
        if history && !window.context.is_empty() {
            self.problems.push(Problem::lacks(
                self.context_origin,
                "`context` on a baseline rule: the baseline's second `STATS` regroups the window's rows, and ES|QL cannot group by the multivalued columns that carry the context",
            ));
        }
        for name in &window.context {
            let field = self.field(source, name);
            stats.push(format!("{field} = MV_SORT(VALUES({field}))"));
        }
        let mut group: Vec<String> = Vec::new();
        let mut by = vec!["tripline_window_start_ms".to_string()];
        if several {
            group.push(GROUPING_SET.to_string());
            by.push(GROUPING_SET.to_string());
        }
        group.extend(keys);
        by.extend(by_keys);
        commands.extend(epoch_bucket(&time, "tripline_window_start_ms", w));
        commands.push(format!("STATS {} BY {}", stats.join(", "), by.join(", ")));
        if !renamed.is_empty() {
            commands.push(format!("RENAME {}", renamed.join(", ")));
        }
        let slot_end = format!("(TO_LONG(NOW()) - {LATENESS_MS}) / {s} * {s}");
        let mut dropped: Vec<String> = vec![
            "tripline_window_start_ms".into(),
            "tripline_window_end_ms".into(),
            "tripline_slot_end_ms".into(),
        ];
        // A group's window alerts once its history reaches back the learning
        // period; tested after the percentiles, whose population is every group.
        let mut learned = None;
        if history {
            learned = Some(self.history(&mut commands, &mut dropped, condition, &names, &group, w));
        } else {
            commands.push(format!(
                "EVAL tripline_window_end_ms = tripline_window_start_ms + {w}, tripline_slot_end_ms = {slot_end}"
            ));
            commands.push(format!(
                "WHERE tripline_window_end_ms > tripline_slot_end_ms - {s} AND tripline_window_end_ms <= tripline_slot_end_ms"
            ));
        }
        let mut bucket = vec!["tripline_window_start_ms"];
        if several {
            bucket.push(GROUPING_SET);
        }
        for index in 0..condition.percentiles.len() {
            self.percentile(
                &mut commands,
                &mut dropped,
                condition,
                &names,
                index,
                &bucket.join(", "),
            );
        }
        let test = match &condition.root {
            Some(root) => self.condition(root, condition, &names),
            None => self.fail("the rule has no alert condition"),
        };
        if let Some(learned) = learned {
            commands.push(format!("WHERE {learned}"));
        }
        commands.push(format!("WHERE {test}"));
        commands.push(
            "EVAL tripline_window_start = TO_DATETIME(tripline_window_start_ms), tripline_window_end = TO_DATETIME(tripline_window_end_ms)"
                .to_string(),
        );
        commands.push(format!("DROP {}", dropped.join(", ")));
        (pipeline(&commands), w + span_ms + 2 * s + LATENESS_MS)
    }

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
    fn fingerprint(
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
        let separators = super::quote::esql_string(&spelling.separators);
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
            super::quote::esql_string(ir::fingerprint::BAND_SEPARATOR),
            super::quote::esql_string(spelling.separator)
        ));
        (tests, commands)
    }

    /// Baselines: the window judged in this run and, per group, its earlier
    /// windows within each lookback, in a second `STATS` by group.
    ///
    /// Exact because the schedule `S` is no longer than the window `W`: the
    /// windows ending in the slot `(U - S, U]` are at most one, the last
    /// window that ended by `U`, which starts at `U / W * W - W`; when it
    /// ended at or before `U - S`, an earlier run judged it and this run
    /// judges nothing. So every group's history is the same range of earlier
    /// windows, `[judged - span, judged)`, and one `STATS` by group computes
    /// it: the first such window with events, the sum and number of the
    /// expression's values, and the number of windows with events; windows
    /// without events in between count with the expression's empty value.
    /// Returns the learning-period test: the group's first window in the span
    /// is at least the learning period before the judged one.
    /// The judged window's own aggregates are picked with per-aggregate
    /// `WHERE` (Elasticsearch 8.16+;
    /// https://www.elastic.co/docs/reference/query-languages/esql/commands/stats-by).
    /// `STATS` groups null keys (the fields outside a grouping set) as one
    /// value, which a join (`INLINE STATS`) is not documented to do.
    fn history(
        &mut self,
        commands: &mut Vec<String>,
        dropped: &mut Vec<String>,
        condition: &Condition,
        names: &[String],
        group: &[String],
        w: i64,
    ) -> String {
        let s = self.schedule_ms;
        commands.push(format!(
            "EVAL tripline_slot_end_ms = (TO_LONG(NOW()) - {LATENESS_MS}) / {s} * {s}"
        ));
        commands.push(format!(
            "EVAL tripline_judged_start_ms = tripline_slot_end_ms / {w} * {w} - {w}"
        ));
        commands.push(format!(
            "WHERE tripline_judged_start_ms + {w} > tripline_slot_end_ms - {s}"
        ));
        let several = condition.baselines.len() > 1;
        let earlier = |number: usize| {
            if several {
                format!("tripline_is_earlier_{number}")
            } else {
                "tripline_is_earlier".to_string()
            }
        };
        let mut flags = vec![
            "tripline_is_judged = tripline_window_start_ms == tripline_judged_start_ms".to_string(),
        ];
        let mut inners = Vec::new();
        let mut values = Vec::new();
        for (index, baseline) in condition.baselines.iter().enumerate() {
            let number = index + 1;
            flags.push(format!(
                "{} = tripline_window_start_ms < tripline_judged_start_ms AND tripline_window_start_ms >= tripline_judged_start_ms - {}",
                earlier(number),
                baseline.span_ms
            ));
            let inner = self.value(&baseline.inner, condition, names);
            // A computed expression gets its own column, summed and counted below.
            let value = if matches!(baseline.inner, Cond::Leaf(_)) {
                inner
            } else {
                inners.push(format!("baseline_{number}_of = {inner}"));
                format!("baseline_{number}_of")
            };
            values.push(value);
        }
        commands.push(format!("EVAL {}", flags.join(", ")));
        if !inners.is_empty() {
            commands.push(format!("EVAL {}", inners.join(", ")));
        }
        let mut stats =
            vec!["tripline_judged_windows = COUNT(*) WHERE tripline_is_judged".to_string()];
        for name in names {
            stats.push(format!("{name} = MAX({name}) WHERE tripline_is_judged"));
        }
        for (index, (baseline, value)) in condition.baselines.iter().zip(&values).enumerate() {
            let number = index + 1;
            let within = format!("WHERE {}", earlier(number));
            // Summed as doubles, as the evaluator does: a long sum could overflow.
            let sum = if self.is_double(&baseline.inner, condition) {
                value.clone()
            } else {
                format!("TO_DOUBLE({value})")
            };
            stats.push(format!(
                "baseline_{number}_first = MIN(tripline_window_start_ms) {within}"
            ));
            stats.push(format!("baseline_{number}_sum = SUM({sum}) {within}"));
            stats.push(format!(
                "baseline_{number}_values = COUNT({value}) {within}"
            ));
            stats.push(format!("baseline_{number}_windows = COUNT(*) {within}"));
        }
        let mut by = vec![
            "tripline_judged_start_ms".to_string(),
            "tripline_slot_end_ms".to_string(),
        ];
        by.extend(group.iter().cloned());
        commands.push(format!("STATS {} BY {}", stats.join(", "), by.join(", ")));
        commands.push("WHERE tripline_judged_windows > 0".to_string());
        commands.push("RENAME tripline_judged_start_ms AS tripline_window_start_ms".to_string());
        commands.push(format!(
            "EVAL tripline_window_end_ms = tripline_window_start_ms + {w}"
        ));
        dropped.push("tripline_judged_windows".to_string());
        let mut quiet = Vec::new();
        let mut means = Vec::new();
        let mut learned = Vec::new();
        for (index, baseline) in condition.baselines.iter().enumerate() {
            let name = format!("baseline_{}", index + 1);
            for part in ["first", "sum", "values", "windows"] {
                dropped.push(format!("{name}_{part}"));
            }
            let mean = match baseline.empty {
                // Windows without events count, with the expression's value on no events.
                Some(empty) => {
                    quiet.push(format!(
                        "{name}_quiet = (tripline_window_start_ms - {name}_first) / {w} - {name}_windows"
                    ));
                    dropped.push(format!("{name}_quiet"));
                    let total = if empty == 0.0 {
                        format!("COALESCE({name}_sum, 0.0)")
                    } else {
                        let empty = decimal_number_or_bool(&Value::Float(empty))
                            .unwrap_or_else(|| self.fail("the empty value is not a finite number"));
                        format!("(COALESCE({name}_sum, 0.0) + {empty} * {name}_quiet)")
                    };
                    format!(
                        "CASE({name}_values + {name}_quiet > 0, {total} / ({name}_values + {name}_quiet))"
                    )
                }
                // Windows where the expression has no value are skipped.
                None => format!("CASE({name}_values > 0, {name}_sum / {name}_values)"),
            };
            means.push(format!("{name} = {mean}"));
            // A group alerts once its own history reaches back the learning period.
            learned.push(format!(
                "tripline_window_start_ms - {name}_first >= {}",
                self.learn_ms
            ));
        }
        if !quiet.is_empty() {
            commands.push(format!("EVAL {}", quiet.join(", ")));
        }
        commands.push(format!("EVAL {}", means.join(", ")));
        any_of(learned)
    }

    /// A percentile across the groups of each judged window (and grouping
    /// set), by exact rank: the value at rank `r = floor((N - 1) * P / 100)`
    /// of the N values ascending is the smallest value `v` with more than
    /// `r` values at most `v`. Each group row is paired with every distinct
    /// value of its window (`VALUES`, then `MV_EXPAND`), `INLINE STATS`
    /// counts per distinct value the groups at most it and then takes the
    /// smallest value whose count exceeds the rank, and the row paired with
    /// that value is kept, one per group again. Nothing is estimated
    /// (`PERCENTILE` is); the cost is groups × distinct values rows.
    /// `INLINE STATS` (Elasticsearch 9.3 GA, 9.2 preview) adds a group's
    /// aggregates to each of its rows and needs no `LIMIT` before it:
    /// https://www.elastic.co/docs/reference/query-languages/esql/commands/inlinestats-by;
    /// its keys here are never null (window start, grouping set, a value).
    fn percentile(
        &mut self,
        commands: &mut Vec<String>,
        dropped: &mut Vec<String>,
        condition: &Condition,
        names: &[String],
        index: usize,
        bucket: &str,
    ) {
        let percentile = &condition.percentiles[index];
        let number = index + 1;
        let name = format!("percentile_{number}");
        let helper = format!("tripline_percentile_{number}");
        let inner = self.value(&percentile.inner, condition, names);
        let value = if matches!(percentile.inner, Cond::Leaf(_)) {
            inner
        } else {
            commands.push(format!("EVAL {helper}_of = {inner}"));
            dropped.push(format!("{helper}_of"));
            format!("{helper}_of")
        };
        let p = decimal_number_or_bool(&Value::Float(percentile.percentile.clamp(0.0, 100.0)))
            .unwrap_or_else(|| self.fail("the percentile is not a number"));
        commands.push(format!(
            "INLINE STATS {helper}_groups = COUNT({value}), {helper}_candidate = VALUES({value}) BY {bucket}"
        ));
        commands.push(format!("MV_EXPAND {helper}_candidate"));
        commands.push(format!(
            "INLINE STATS {helper}_at_most = COUNT(*) WHERE {value} <= {helper}_candidate BY {bucket}, {helper}_candidate"
        ));
        commands.push(format!(
            "INLINE STATS {name} = MIN({helper}_candidate) WHERE {helper}_at_most > FLOOR(({helper}_groups - 1) * {p} / 100.0) BY {bucket}"
        ));
        // No group with a value: one row per group, no percentile.
        commands.push(format!(
            "WHERE {helper}_candidate == {name} OR {name} IS NULL"
        ));
        for part in ["groups", "candidate", "at_most"] {
            dropped.push(format!("{helper}_{part}"));
        }
    }

    /// A new value, judged per key and value over the events of this run's
    /// slot `(U - S, U]`. The first such event in processing order alerts
    /// when (a) no event of the key and value at or before the slot start
    /// lies within the lookback before it (later events of the slot have
    /// that first one within the lookback, so they never alert), and (b)
    /// the key was seen within `[t - lookback, t - learn]`: the latest
    /// sighting at or before `U - S - learn` reaches back far enough, or the
    /// earliest sighting after it is at most `t - learn` (it is then within
    /// the lookback, which is at least the schedule plus the learning
    /// period). Sightings of a key span its values, so they are combined by
    /// `INLINE STATS` per key (keys are never null here).
    /// https://www.elastic.co/docs/reference/query-languages/esql/commands/inlinestats-by
    fn new_value(
        &mut self,
        indexes: &str,
        source: &'a Source,
        key: &[String],
        values: &[String],
        lookback_ms: i64,
    ) -> (String, i64) {
        let s = self.schedule_ms;
        let learn = self.learn_ms;
        if s <= 0 || learn <= 0 || lookback_ms <= 0 {
            let message = "the schedule, the learning period and the lookback must be positive";
            return (self.fail(message), 0);
        }
        if lookback_ms < s + learn {
            let message = format!(
                "the lookback ({}) is shorter than the schedule plus the learning period ({} + {}): a run could not tell which sightings of the key are old enough",
                duration_text(lookback_ms),
                duration_text(s),
                duration_text(learn)
            );
            return (self.fail(message), 0);
        }
        let key_fields: Vec<String> = key.iter().map(|field| self.field(source, field)).collect();
        let value_fields: Vec<String> = values
            .iter()
            .map(|field| self.field(source, field))
            .collect();
        // Events missing a key or value field are ignored.
        let present: Vec<String> = key_fields
            .iter()
            .chain(&value_fields)
            .map(|field| format!("{field} IS NOT NULL"))
            .collect();
        let filter = self.source(source, &present).0;
        let time = self.field(source, "timestamp");
        let by: Vec<String> = key_fields.iter().chain(&value_fields).cloned().collect();
        let mut commands = vec![format!("FROM {indexes}")];
        commands.extend(filter);
        commands.extend([
            format!("EVAL tripline_time_ms = TO_LONG({time})"),
            format!(
                "EVAL tripline_slot_end_ms = (TO_LONG(NOW()) - {LATENESS_MS}) / {s} * {s}"
            ),
            format!("EVAL tripline_slot_start_ms = tripline_slot_end_ms - {s}"),
            format!(
                "STATS tripline_first_ms = MIN(tripline_time_ms) WHERE tripline_time_ms > tripline_slot_start_ms AND tripline_time_ms <= tripline_slot_end_ms, \
                 tripline_value_seen_ms = MAX(tripline_time_ms) WHERE tripline_time_ms <= tripline_slot_start_ms, \
                 tripline_seen_until_ms = MAX(tripline_time_ms) WHERE tripline_time_ms <= tripline_slot_start_ms - {learn}, \
                 tripline_seen_after_ms = MIN(tripline_time_ms) WHERE tripline_time_ms > tripline_slot_start_ms - {learn} \
                 BY {}",
                by.join(", ")
            ),
            format!(
                "INLINE STATS tripline_key_seen_until_ms = MAX(tripline_seen_until_ms), tripline_key_seen_after_ms = MIN(tripline_seen_after_ms) BY {}",
                key_fields.join(", ")
            ),
            "WHERE tripline_first_ms IS NOT NULL".to_string(),
            format!(
                "WHERE tripline_value_seen_ms IS NULL OR tripline_value_seen_ms < tripline_first_ms - {lookback_ms}"
            ),
            format!(
                "WHERE tripline_key_seen_until_ms >= tripline_first_ms - {lookback_ms} OR tripline_key_seen_after_ms <= tripline_first_ms - {learn}"
            ),
            "EVAL tripline_first_seen = TO_DATETIME(tripline_first_ms)".to_string(),
            "DROP tripline_first_ms, tripline_value_seen_ms, tripline_seen_until_ms, tripline_seen_after_ms, tripline_key_seen_until_ms, tripline_key_seen_after_ms".to_string(),
        ]);
        (pipeline(&commands), lookback_ms + 2 * s + LATENESS_MS)
    }

    /// The column of each aggregate: its function and field, numbered
    /// when taken.
    pub(super) fn aggregate_names(&self, condition: &Condition) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for aggregate in &condition.aggregates {
            let base = match &aggregate.field {
                Some(field) => format!("{}_{field}", aggregate.function.name()),
                None => aggregate.function.name().to_string(),
            };
            let mut name = base.clone();
            let mut suffix = 2;
            while names.contains(&name) {
                name = format!("{base}_{suffix}");
                suffix += 1;
            }
            names.push(super::quote::field_reference(&name));
        }
        names
    }

    /// A condition over aggregates, total like the evaluator's: a
    /// comparison with an aggregate that has no value is false, never null.
    fn condition(&mut self, cond: &Cond, condition: &Condition, names: &[String]) -> String {
        match cond {
            Cond::Not(operand) => format!("NOT ({})", self.condition(operand, condition, names)),
            Cond::And(operands) | Cond::Or(operands) => {
                let joiner = if matches!(cond, Cond::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, condition, names)))
                    .collect::<Vec<_>>()
                    .join(joiner)
            }
            Cond::Bool(value) => value.to_string(),
            Cond::Compare(op, left, right) => {
                let mut guards = Vec::new();
                let left = self.operand(left, condition, names, &mut guards);
                let right = self.operand(right, condition, names, &mut guards);
                guards.push(format!("{left} {} {right}", op.symbol()));
                if guards.len() == 1 {
                    guards.remove(0)
                } else {
                    format!("({})", guards.join(" AND "))
                }
            }
            _ => self.fail("this alert condition has no ES|QL translation"),
        }
    }

    /// A side of a comparison; a side that may have no value adds the
    /// guard that makes the comparison false then (also under `NOT`).
    fn operand(
        &mut self,
        cond: &Cond,
        condition: &Condition,
        names: &[String],
        guards: &mut Vec<String>,
    ) -> String {
        let text = self.value(cond, condition, names);
        if condition.may_be_missing(cond) {
            guards.push(format!("{text} IS NOT NULL"));
        }
        text
    }

    /// A number: a constant, an aggregate, baseline or percentile column, or
    /// arithmetic over doubles as the evaluator computes it. ES|QL divides
    /// integers with truncation and overflows longs to null, so integer
    /// operands are converted with `TO_DOUBLE`; a division by zero has no
    /// value (`CASE` without an else is null).
    /// https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/operators
    pub(super) fn value(&mut self, cond: &Cond, condition: &Condition, names: &[String]) -> String {
        let constant = match cond {
            Cond::Int(value) => Value::Int(*value),
            Cond::Float(value) => Value::Float(*value),
            Cond::Bool(value) => Value::Bool(*value),
            Cond::Leaf(Leaf::Aggregate(index)) => return names[*index].clone(),
            Cond::Leaf(Leaf::Baseline(index)) => return format!("baseline_{}", index + 1),
            Cond::Leaf(Leaf::Percentile(index)) => return format!("percentile_{}", index + 1),
            Cond::Arithmetic(op, left, right) => {
                let doubles = self.is_double(left, condition) || self.is_double(right, condition);
                let left_text = self.value(left, condition, names);
                let right_text = self.value(right, condition, names);
                let left_text = if doubles {
                    left_text
                } else {
                    format!("TO_DOUBLE({left_text})")
                };
                return match op {
                    ArithmeticOp::Add => format!("({left_text} + {right_text})"),
                    ArithmeticOp::Subtract => format!("({left_text} - {right_text})"),
                    ArithmeticOp::Multiply => format!("({left_text} * {right_text})"),
                    ArithmeticOp::Divide => {
                        format!("CASE({right_text} != 0, {left_text} / {right_text})")
                    }
                };
            }
            Cond::Missing => return self.fail("the compared value is not a number"),
            _ => {
                return self.fail(
                    "only aggregates, numbers and parameters are compared in an ES|QL alert condition",
                );
            }
        };
        match decimal_number_or_bool(&constant) {
            Some(text) => text,
            None => self.fail("the compared value is not a number"),
        }
    }

    /// Whether the ES|QL value of `cond` is a double whatever the data.
    pub(super) fn is_double(&self, cond: &Cond, condition: &Condition) -> bool {
        match cond {
            Cond::Float(_) | Cond::Arithmetic(..) | Cond::Leaf(Leaf::Baseline(_)) => true,
            Cond::Leaf(Leaf::Aggregate(index)) => {
                condition.aggregates[*index].function == AggregateFunction::Avg
            }
            _ => false,
        }
    }

    /// One aggregate; a filter selects the events through `CASE` (a `null`
    /// condition is false there).
    pub(super) fn aggregate(&mut self, source: &'a Source, aggregate: &plan::Aggregate) -> String {
        let predicate = aggregate
            .filter
            .as_ref()
            .map(|filter| syntax::predicate(&self.syntax(source), filter, &mut self.problems));
        let Some(canonical) = aggregate.field.as_deref() else {
            return match predicate {
                Some(predicate) => format!("SUM(CASE({predicate}, 1, 0))"),
                None => "COUNT(*)".to_string(),
            };
        };
        let field = self.field(source, canonical);
        let value = match &predicate {
            Some(predicate) => format!("CASE({predicate}, {field})"),
            None => field.clone(),
        };
        match aggregate.function {
            AggregateFunction::Count => match predicate {
                Some(predicate) => format!("SUM(CASE({predicate}, 1, 0))"),
                None => "COUNT(*)".to_string(),
            },
            // Exact: COUNT_DISTINCT is a HyperLogLog estimate above its precision threshold.
            AggregateFunction::Distinct => format!("COALESCE(MV_COUNT(VALUES({value})), 0)"),
            AggregateFunction::Sum => {
                let numeric = self
                    .mapping
                    .field(canonical)
                    .is_some_and(|field| matches!(field.field_type.as_str(), "long" | "double"));
                if !numeric {
                    return self.fail("`sum` of a field that is not a number");
                }
                format!("COALESCE(SUM({value}), 0)")
            }
            AggregateFunction::Avg => format!("AVG({value})"),
            AggregateFunction::Min => format!("MIN({value})"),
            AggregateFunction::Max => format!("MAX({value})"),
        }
    }
}

/// How this target spells a fingerprint, read from the plan's steps (the
/// same for every band but the hash slice and the label, which follow from
/// the band's number).
#[derive(Debug, PartialEq, Eq)]
struct FingerprintSpelling {
    /// The regex of the characters between words (`[^A-Za-z0-9]+`).
    separators: String,
    /// The shortest word.
    min_word: usize,
    /// Bands.
    bands: usize,
    /// Hex digits per band, from 8 × (band − 1).
    digits: usize,
    /// The slices kept per band (`None`: all).
    first: Option<u32>,
    /// Between a band's slices.
    separator: &'static str,
}

impl FingerprintSpelling {
    /// The spelling of `fingerprint`, or why this target has none.
    fn of(fingerprint: &plan::Fingerprint) -> Result<FingerprintSpelling, String> {
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
fn word_class(pattern: &str) -> Option<(&str, usize)> {
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

/// The fields a condition's aggregates read: their arguments and the fields
/// of their filters, in order, each once.
fn condition_fields(condition: &Condition) -> Vec<String> {
    fn pred_fields(pred: &Pred, fields: &mut Vec<String>) {
        match pred {
            Pred::And(operands) | Pred::Or(operands) => {
                for operand in operands {
                    pred_fields(operand, fields);
                }
            }
            Pred::Not(operand) => pred_fields(operand, fields),
            Pred::Exists(field, _) => fields.push(field.clone()),
            Pred::Test(test) => {
                fields.extend(test.fields());
                fields.extend(test.guard.iter().cloned());
            }
        }
    }
    let mut fields = Vec::new();
    for aggregate in &condition.aggregates {
        fields.extend(aggregate.field.iter().cloned());
        if let Some(filter) = &aggregate.filter {
            pred_fields(filter, &mut fields);
        }
    }
    let mut unique: Vec<String> = Vec::new();
    for field in fields {
        if !unique.contains(&field) {
            unique.push(field);
        }
    }
    unique
}

/// The commands that prepare grouping sets for one `STATS`, the columns it
/// groups the keys by, and their renames back to the fields after it.
struct GroupingSets {
    commands: Vec<String>,
    columns: Vec<String>,
    renamed: Vec<String>,
}

/// Grouping sets in one `STATS`: each event is repeated once per set
/// (`MV_EXPAND` of the set numbers); a key field that some set lacks is
/// grouped by a column that is `null` outside the sets that have it (the
/// field itself stays, for the aggregates that read it), and rows whose set
/// misses one of its keys are dropped. The `STATS` that follows groups by
/// the set number with every key column, so each set's groups are exactly its
/// own (a null key groups as one value, as the SQL targets' `NULL AS
/// field`), and renames the columns back to their fields. `MV_EXPAND` gives
/// one row per value with the other columns duplicated (technical preview
/// since 8.11):
/// https://www.elastic.co/docs/reference/query-languages/esql/commands/mv_expand.
/// `STATS ... BY` a multivalued key alone would also put a row in every
/// group (https://www.elastic.co/docs/reference/query-languages/esql/commands/stats-by#esql-stats-mv-group),
/// but with several multivalued keys it groups by every combination, which
/// would mix one set's key with another's.
fn grouping_sets(groupings: &[Vec<String>], fields: &[&String], keys: &[String]) -> GroupingSets {
    let is_set = |members: &[usize]| match members {
        [single] => format!("{GROUPING_SET} == {single}"),
        many => format!(
            "{GROUPING_SET} IN ({})",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let sets: Vec<String> = (0..groupings.len())
        .map(|index| index.to_string())
        .collect();
    let mut commands = vec![
        format!("EVAL {GROUPING_SET} = [{}]", sets.join(", ")),
        format!("MV_EXPAND {GROUPING_SET}"),
    ];
    let present: Vec<String> = groupings
        .iter()
        .enumerate()
        .map(|(index, grouping)| {
            let mut tests = vec![is_set(&[index])];
            for field in grouping {
                if let Some(position) = fields.iter().position(|known| *known == field) {
                    tests.push(format!("{} IS NOT NULL", keys[position]));
                }
            }
            tests.join(" AND ")
        })
        .collect();
    commands.push(format!("WHERE {}", any_of(present)));
    let mut columns = Vec::new();
    let mut outside = Vec::new();
    let mut renamed = Vec::new();
    for (field, key) in fields.iter().zip(keys) {
        let members: Vec<usize> = groupings
            .iter()
            .enumerate()
            .filter(|(_, grouping)| grouping.contains(field))
            .map(|(index, _)| index)
            .collect();
        if members.len() == groupings.len() {
            columns.push(key.clone());
            continue;
        }
        let column = super::quote::field_reference(&format!("tripline_group_{field}"));
        outside.push(format!("{column} = CASE({}, {key})", is_set(&members)));
        renamed.push(format!("{column} AS {key}"));
        columns.push(column);
    }
    if !outside.is_empty() {
        commands.push(format!("EVAL {}", outside.join(", ")));
    }
    GroupingSets {
        commands,
        columns,
        renamed,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::check::{CheckOptions, check};
    use crate::source::Sources;
    use crate::syntax::parse;
    use crate::targets::Target;
    use crate::targets::elastic_esql::ElasticEsql;

    const SCHEMA: &str = r#"
common { timestamp: timestamp required, event_type: string required, event_id: string, app: string, src_ip: ip, api_key_id: string, session_id: string, geo_country: string }
event inference { user_input: string, cost_usd: float }
event policy_refusal { }
"#;

    /// The query of a rule with `detection` (and extra metadata), or the problems.
    fn esql(metadata: &str, detection: &str) -> Result<Compiled, Vec<String>> {
        esql_mapped(metadata, detection, |_| {})
    }

    /// [`esql`] with the default mapping changed by `remap`.
    fn esql_mapped(
        metadata: &str,
        detection: &str,
        remap: impl FnOnce(&mut Mapping),
    ) -> Result<Compiled, Vec<String>> {
        let text = format!(
            "{SCHEMA}\nrule t.r {{\n  title: \"T\"\n  description: \"D\"\n  severity: high\n  category: llm_attack\n  {metadata}\n  {detection}\n}}\n"
        );
        let mut sources = Sources::new();
        let id = sources.add("src/targets/elastic_esql/inline.tdl", text.clone());
        let (file, diagnostics) = parse(&text, id);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (pack, diagnostics) = check(&sources, &[(id, file)], &CheckOptions::default());
        let pack = pack.unwrap_or_else(|| panic!("{diagnostics:?}"));
        let mut mapping = ElasticEsql.default_mapping(&pack.schema);
        remap(&mut mapping);
        compile(&pack.rules[0], &pack, &mapping).map_err(|problems| {
            problems
                .into_iter()
                .map(|problem| problem.message)
                .collect()
        })
    }

    fn lines(compiled: &Compiled) -> Vec<&str> {
        compiled.text.lines().collect()
    }

    #[test]
    fn context_is_sorted_values_and_refused_with_a_baseline() {
        let compiled = esql(
            "",
            "match inference\n  group by src_ip within 1h\n  alert when count() >= 3\n  context app, session_id",
        )
        .unwrap();
        assert!(
            compiled.text.contains(
                "service.name = MV_SORT(VALUES(service.name)), gen_ai.conversation.id = MV_SORT(VALUES(gen_ai.conversation.id)) BY"
            ),
            "{}",
            compiled.text
        );
        let Err(problems) = esql(
            "",
            "match inference\n  group by src_ip within 1h\n  alert when count() >= 2 * baseline(count(), 1d)\n  context app",
        ) else {
            panic!("a baseline rule with context compiled")
        };
        assert!(
            problems
                .iter()
                .any(|problem| problem.contains("`context` on a baseline")),
            "{problems:?}"
        );
    }

    #[test]
    fn grouping_sets_repeat_each_event_once_per_set_and_null_the_other_keys() {
        let compiled = esql(
            "",
            "match inference\n  group by each (api_key_id), (src_ip, app), (app) within 1h\n  alert when count() >= 3 and distinct(api_key_id) >= 2",
        )
        .unwrap();
        let lines = lines(&compiled);
        assert_eq!(lines[2], "| EVAL tripline_grouping_set = [0, 1, 2]");
        assert_eq!(lines[3], "| MV_EXPAND tripline_grouping_set");
        assert_eq!(
            lines[4],
            "| WHERE (tripline_grouping_set == 0 AND tripline.api_key_id IS NOT NULL) OR (tripline_grouping_set == 1 AND source.ip IS NOT NULL AND service.name IS NOT NULL) OR (tripline_grouping_set == 2 AND service.name IS NOT NULL)"
        );
        assert_eq!(
            lines[5],
            "| EVAL tripline_group_api_key_id = CASE(tripline_grouping_set == 0, tripline.api_key_id), tripline_group_src_ip = CASE(tripline_grouping_set == 1, source.ip), tripline_group_app = CASE(tripline_grouping_set IN (1, 2), service.name)"
        );
        // Aggregates read the fields themselves: a set's distinct keys of another set's field.
        assert_eq!(
            lines[8],
            "| STATS count = COUNT(*), distinct_api_key_id = COALESCE(MV_COUNT(VALUES(tripline.api_key_id)), 0) BY tripline_window_start_ms, tripline_grouping_set, tripline_group_api_key_id, tripline_group_src_ip, tripline_group_app"
        );
        assert_eq!(
            lines[9],
            "| RENAME tripline_group_api_key_id AS tripline.api_key_id, tripline_group_src_ip AS source.ip, tripline_group_app AS service.name"
        );
        // A field in every set is grouped by as it is.
        let shared = esql(
            "",
            "match inference\n  group by each (app, api_key_id), (app, src_ip) within 1h\n  alert when count() >= 3",
        )
        .unwrap();
        assert!(
            shared.text.contains(
                " BY tripline_window_start_ms, tripline_grouping_set, service.name, tripline_group_api_key_id, tripline_group_src_ip\n"
            ),
            "{}",
            shared.text
        );
        // A single grouping keeps the plain threshold form.
        let single = esql(
            "",
            "match inference\n  group by app within 1h\n  alert when count() >= 3",
        )
        .unwrap();
        assert!(!single.text.contains("MV_EXPAND"), "{}", single.text);
        assert!(single.text.contains("AND service.name IS NOT NULL\n"));
    }

    #[test]
    fn a_baseline_judges_one_window_against_the_groups_earlier_windows() {
        let compiled = esql(
            "",
            "match inference\n  group by api_key_id within 1h\n  alert when count() >= 5 * baseline(count(), 7d) and count() >= 100",
        )
        .unwrap();
        let text = &compiled.text;
        for expected in [
            "| EVAL tripline_judged_start_ms = tripline_slot_end_ms / 3600000 * 3600000 - 3600000\n",
            "| WHERE tripline_judged_start_ms + 3600000 > tripline_slot_end_ms - 300000\n",
            "tripline_is_earlier = tripline_window_start_ms < tripline_judged_start_ms AND tripline_window_start_ms >= tripline_judged_start_ms - 604800000\n",
            "count = MAX(count) WHERE tripline_is_judged, ",
            "baseline_1_sum = SUM(TO_DOUBLE(count)) WHERE tripline_is_earlier, ",
            " BY tripline_judged_start_ms, tripline_slot_end_ms, tripline.api_key_id\n",
            "| EVAL baseline_1_quiet = (tripline_window_start_ms - baseline_1_first) / 3600000 - baseline_1_windows\n",
            "| EVAL baseline_1 = CASE(baseline_1_values + baseline_1_quiet > 0, COALESCE(baseline_1_sum, 0.0) / (baseline_1_values + baseline_1_quiet))\n",
            "| WHERE tripline_window_start_ms - baseline_1_first >= 86400000\n",
            "| WHERE (((5 * baseline_1) IS NOT NULL AND count >= (5 * baseline_1))) AND (count >= 100)\n",
        ] {
            assert!(text.contains(expected), "{expected}\nnot in\n{text}");
        }
        // The window, the lookback, two slots and the lateness bound.
        assert_eq!(
            compiled.look_back_ms,
            3_600_000 + 604_800_000 + 2 * 300_000 + LATENESS_MS
        );
    }

    #[test]
    fn a_ratio_is_a_double_division_without_a_value_on_zero() {
        let compiled = esql(
            "",
            "match inference, policy_refusal\n  group by app within 1h\n  alert when count(where event_type == \"policy_refusal\") / count(where event_type == \"inference\") >= 3 * baseline(count(where event_type == \"policy_refusal\") / count(where event_type == \"inference\"), 7d)",
        )
        .unwrap();
        let text = &compiled.text;
        assert!(
            text.contains(
                "| EVAL baseline_1_of = CASE(count_2 != 0, TO_DOUBLE(count) / count_2)\n"
            ),
            "{text}"
        );
        // A ratio has no value on an empty window: windows without one are skipped.
        assert!(
            text.contains("| EVAL baseline_1 = CASE(baseline_1_values > 0, baseline_1_sum / baseline_1_values)\n"),
            "{text}"
        );
        assert!(!text.contains("baseline_1_quiet"), "{text}");
    }

    #[test]
    fn a_baseline_with_a_schedule_longer_than_its_window_is_refused() {
        let problems = esql(
            "schedule: 2h",
            "match inference\n  group by app within 1h\n  alert when count() >= 5 * baseline(count(), 7d)",
        )
        .err()
        .unwrap();
        assert_eq!(
            problems,
            vec![
                "a baseline is judged one window per run: the schedule (2h) must not be longer than the window (1h)"
            ]
        );
    }

    #[test]
    fn a_percentile_is_an_exact_rank_over_the_windows_groups() {
        let compiled = esql(
            "",
            "match inference\n  group by session_id within 7d\n  alert when count() > percentile(count(), 99)",
        )
        .unwrap();
        let text = &compiled.text;
        assert!(!text.to_ascii_uppercase().contains("PERCENTILE("), "{text}");
        for expected in [
            "| INLINE STATS tripline_percentile_1_groups = COUNT(count), tripline_percentile_1_candidate = VALUES(count) BY tripline_window_start_ms\n",
            "| MV_EXPAND tripline_percentile_1_candidate\n",
            "| INLINE STATS tripline_percentile_1_at_most = COUNT(*) WHERE count <= tripline_percentile_1_candidate BY tripline_window_start_ms, tripline_percentile_1_candidate\n",
            "| INLINE STATS percentile_1 = MIN(tripline_percentile_1_candidate) WHERE tripline_percentile_1_at_most > FLOOR((tripline_percentile_1_groups - 1) * 99.0 / 100.0) BY tripline_window_start_ms\n",
            "| WHERE tripline_percentile_1_candidate == percentile_1 OR percentile_1 IS NULL\n",
            "| WHERE (percentile_1 IS NOT NULL AND count > percentile_1)\n",
        ] {
            assert!(text.contains(expected), "{expected}\nnot in\n{text}");
        }
        // Ranked within the slot's windows, after the slot filter.
        assert!(
            text.find("tripline_window_end_ms <= tripline_slot_end_ms")
                .unwrap()
                < text.find("INLINE STATS").unwrap()
        );
    }

    #[test]
    fn the_learning_period_is_tested_after_the_percentile_ranks_every_group() {
        let compiled = esql(
            "",
            "match inference\n  group by api_key_id within 1h\n  alert when count() > baseline(count(), 7d) and count() > percentile(count(), 90)",
        )
        .unwrap();
        let text = &compiled.text;
        let learned = text
            .find("| WHERE tripline_window_start_ms - baseline_1_first >= 86400000\n")
            .expect(text);
        let ranked = text.find("| INLINE STATS percentile_1 = ").expect(text);
        assert!(ranked < learned, "{text}");
    }

    #[test]
    fn a_percentile_per_grouping_set_ranks_within_the_set() {
        let compiled = esql(
            "",
            "match inference\n  group by each (app), (src_ip) within 1d\n  alert when count() > percentile(count(), 50)",
        )
        .unwrap();
        assert!(
            compiled.text.contains(
                "BY tripline_window_start_ms, tripline_grouping_set, tripline_percentile_1_candidate\n"
            ),
            "{}",
            compiled.text
        );
    }

    #[test]
    fn a_new_value_is_judged_per_key_and_value_over_the_slot() {
        let compiled = esql(
            "",
            "match inference\n  new geo_country for api_key_id lookback 30d",
        )
        .unwrap();
        let text = &compiled.text;
        for expected in [
            "AND tripline.api_key_id IS NOT NULL AND source.geo.country_iso_code IS NOT NULL\n",
            "| EVAL tripline_slot_start_ms = tripline_slot_end_ms - 300000\n",
            " BY tripline.api_key_id, source.geo.country_iso_code\n",
            "| INLINE STATS tripline_key_seen_until_ms = MAX(tripline_seen_until_ms), tripline_key_seen_after_ms = MIN(tripline_seen_after_ms) BY tripline.api_key_id\n",
            "| WHERE tripline_value_seen_ms IS NULL OR tripline_value_seen_ms < tripline_first_ms - 2592000000\n",
            "| WHERE tripline_key_seen_until_ms >= tripline_first_ms - 2592000000 OR tripline_key_seen_after_ms <= tripline_first_ms - 86400000\n",
        ] {
            assert!(text.contains(expected), "{expected}\nnot in\n{text}");
        }
        assert_eq!(
            compiled.look_back_ms,
            2_592_000_000 + 2 * 300_000 + LATENESS_MS
        );
    }

    #[test]
    fn a_new_value_whose_lookback_is_shorter_than_schedule_and_learning_is_refused() {
        let problems = esql(
            "schedule: 1d",
            "match inference\n  new geo_country for api_key_id lookback 36h",
        )
        .err()
        .unwrap();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with(
                "the lookback (36h) is shorter than the schedule plus the learning period (1d + 1d)"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn a_cluster_gathers_each_events_words_back_per_band_then_groups_by_the_band_key() {
        let compiled = esql(
            "",
            "match inference\n  cluster user_input similarity >= 0.8 min_length 120 within 24h\n  alert when distinct(session_id) >= 3",
        )
        .unwrap();
        let lines = lines(&compiled);
        assert_eq!(
            lines[..11],
            [
                "FROM logs-tripline.llm_application-* METADATA _id, _index",
                "| WHERE tripline.event_type == \"inference\" AND tripline.user_input IS NOT NULL AND LENGTH(tripline.user_input) >= 120",
                "| EVAL tripline_word = MV_DEDUPE(SPLIT(TO_LOWER(REPLACE(tripline.user_input, \"[^A-Za-z0-9]+\", \" \")), \" \"))",
                "| MV_EXPAND tripline_word",
                "| WHERE LENGTH(tripline_word) >= 3",
                "| EVAL tripline_hash = TO_LOWER(MD5(tripline_word)), tripline_band = [1, 2, 3, 4]",
                "| MV_EXPAND tripline_band",
                "| EVAL tripline_slice = SUBSTRING(tripline_hash, tripline_band * 8 - 7, 8)",
                "| STATS tripline_slices = VALUES(tripline_slice), @timestamp = MIN(@timestamp), gen_ai.conversation.id = VALUES(gen_ai.conversation.id) BY _id, _index, tripline_band",
                "| EVAL tripline_fingerprint = CONCAT(TO_STRING(tripline_band), \":\", MV_CONCAT(MV_SLICE(MV_SORT(tripline_slices), 0, 5), \"-\"))",
                "| EVAL tripline_time_ms = TO_LONG(@timestamp)",
            ]
        );
        assert!(
            compiled.text.contains(
                "| STATS distinct_session_id = COALESCE(MV_COUNT(VALUES(gen_ai.conversation.id)), 0) BY tripline_window_start_ms, tripline_fingerprint\n"
            ),
            "{}",
            compiled.text
        );
        // The window, two slots and the lateness bound, as any window.
        assert_eq!(
            compiled.look_back_ms,
            86_400_000 + 2 * 300_000 + LATENESS_MS
        );
    }

    #[test]
    fn a_cluster_carries_every_field_its_aggregates_read_through_the_per_event_stats() {
        let compiled = esql(
            "",
            "match inference\n  cluster user_input similarity >= 0.8 min_length 0 within 1h\n  alert when count(where app == \"chat\") >= 2 and sum(cost_usd) > 1.5",
        )
        .unwrap();
        let text = &compiled.text;
        assert!(
            text.contains(
                "| STATS tripline_slices = VALUES(tripline_slice), @timestamp = MIN(@timestamp), service.name = VALUES(service.name), tripline.cost_usd = VALUES(tripline.cost_usd) BY _id, _index, tripline_band\n"
            ),
            "{text}"
        );
        // No minimum length: only a present value is tested.
        assert!(
            text.contains("AND tripline.user_input IS NOT NULL\n| EVAL tripline_word"),
            "{text}"
        );
    }

    #[test]
    fn a_cluster_refuses_a_field_named_like_one_of_its_columns() {
        let problems = esql_mapped(
            "",
            "match inference\n  cluster user_input similarity >= 0.8 min_length 120 within 1h\n  alert when distinct(session_id) >= 3",
            |mapping| {
                if let Some(field) = mapping.fields.get_mut("session_id") {
                    field.name = "tripline_band".to_string();
                }
            },
        )
        .err()
        .unwrap();
        assert_eq!(
            problems,
            vec![
                "the field `tripline_band` has the name of a column the cluster fingerprint computes"
            ]
        );
    }

    #[test]
    fn similarity_one_is_one_band_of_every_word() {
        let compiled = esql(
            "",
            "match inference\n  cluster user_input similarity >= 1.0 min_length 10 within 1h\n  alert when count() >= 2",
        )
        .unwrap();
        let text = &compiled.text;
        for expected in [
            "| EVAL tripline_band = 1, tripline_slice = SUBSTRING(TO_LOWER(MD5(tripline_word)), 1, 8)\n",
            "| EVAL tripline_fingerprint = CONCAT(TO_STRING(tripline_band), \":\", MV_CONCAT(MV_SORT(tripline_slices), \"-\"))\n",
        ] {
            assert!(text.contains(expected), "{expected}\nnot in\n{text}");
        }
        assert!(!text.contains("MV_EXPAND tripline_band"), "{text}");
        assert!(!text.contains("MV_SLICE"), "{text}");
    }

    #[test]
    fn a_word_pattern_is_spelled_only_as_a_plain_ascii_class() {
        assert_eq!(word_class("[A-Za-z0-9]{3,}"), Some(("A-Za-z0-9", 3)));
        assert_eq!(word_class("[a-z]{1,}"), Some(("a-z", 1)));
        for pattern in [
            "[^A-Z]{3,}",
            "[A-Z\\s]{3,}",
            "[A-Z]{3,5}",
            "[A-Z]+",
            "\\w{3,}",
            "[]{3,}",
            "[-a]{3,}",
            "[é]{3,}",
        ] {
            assert_eq!(word_class(pattern), None, "{pattern}");
        }
        let spelling =
            FingerprintSpelling::of(&plan::Fingerprint::new("user_input", 0.8, 120)).unwrap();
        assert_eq!(
            spelling,
            FingerprintSpelling {
                separators: "[^A-Za-z0-9]+".to_string(),
                min_word: 3,
                bands: 4,
                digits: 8,
                first: Some(6),
                separator: "-",
            }
        );
    }

    #[test]
    fn arithmetic_is_over_doubles() {
        let compiled = esql(
            "",
            "match inference\n  group by app within 1h\n  alert when count() * 2 - count(where app == \"a\") > 10",
        )
        .unwrap();
        // Two longs are multiplied as doubles; the double product minus a long stays double.
        assert!(
            compiled
                .text
                .contains("| WHERE ((TO_DOUBLE(count) * 2) - count_2) > 10\n"),
            "{}",
            compiled.text
        );
    }
}
