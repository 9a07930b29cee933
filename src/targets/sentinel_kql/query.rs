//! The Kusto query of a rule.
//!
//! Input: a rule (match, threshold, baseline or percentile window, new
//! value, sequence), the pack and the field mapping. Output: KQL text over the custom
//! table with the schedule it needs, or E0402 problems for the constructs
//! with no exact translation. The rule is lowered by the shared [`plan`];
//! filters (of the source and of each aggregate) are spelled by [`Kusto`]
//! through [`spelling::predicate`]; this module lays out the query: the
//! event-type test, windows, grouping sets, aggregate columns, history,
//! ranks, first sightings and the alert condition.
//!
//! The scheduled search. Sentinel runs the query every `queryFrequency` over
//! the events of the last `queryPeriod`
//! (<https://learn.microsoft.com/azure/sentinel/scheduled-rules-overview>,
//! "Query scheduling"). Each run alerts for what closed in its own slot,
//! `(now() - 5m - frequency, now() - 5m]` (the windows that ended there, or
//! the events of new-value rules, the completing events of sequences), so consecutive runs tile time and each
//! window or event alerts in exactly one run, 5 minutes late so that late
//! events still count. The period is that slot plus the history its alerts
//! read (a window, a baseline's lookback, a new value's lookback), so
//! everything they need is inside it; what lies before the period is never
//! needed.

use super::quote::pascal_case;
use super::syntax::{self, Kusto, number_or_bool};
use crate::ir::{self, AggregateFunction, ArithmeticOp, Rule, Value};
use crate::targets::plan::{self, Cond, Leaf, Pred, Shape, Source};
use crate::targets::syntax::{self as spelling, Unsupported};
use crate::targets::{Mapping, Problem, duration_text};

/// How long after a window ends its alert is raised: the evaluator's default
/// lateness bound, so that late events still count.
pub const LATENESS_MS: i64 = 5 * 60_000;

/// From a query period of two days on, Sentinel runs a rule at most hourly
/// (its rule validation; noted with the other schedule limits at
/// <https://github.com/MSSAPSCA1/Azure_Sentinel#readme>).
pub const LONG_PERIOD_MS: i64 = 2 * 86_400_000;

/// The shortest query frequency Sentinel accepts with a long period.
pub const LONG_PERIOD_FREQUENCY_MS: i64 = 3_600_000;

/// The longest run (`repeat >= n`) a sequence query names event by event.
pub const MAX_SEQUENCE_RUN: u32 = 100;

/// A compiled query and what its results carry.
#[derive(Debug, Clone)]
pub struct Query {
    /// The KQL text.
    pub text: String,
    /// Group columns of the results (every grouping's), in order.
    pub group_columns: Vec<String>,
    /// Aggregate columns of the results, in order.
    pub value_columns: Vec<String>,
    /// Whether every table column is in the results (match rules).
    pub all_columns: bool,
    /// How often the rule runs (`queryFrequency`), in milliseconds.
    pub frequency_ms: i64,
    /// How far back the query reads (`queryPeriod`), in milliseconds.
    pub period_ms: i64,
    /// What the period is made of, for messages.
    pub period_parts: String,
}

/// How far back a rule's alerts read beyond the run's own slot, and what
/// that is made of: nothing for a match, the window (and the longest
/// baseline lookback) for a window, the lookback for a new value; plus the
/// lateness allowance for the last two.
fn history(plan: &plan::Plan) -> (i64, Vec<String>) {
    let late = format!("{} for late events", duration_text(LATENESS_MS));
    match &plan.shape {
        Shape::Window(window) => {
            let mut parts = Vec::new();
            let mut ms = window.bucket_ms + LATENESS_MS;
            if let Some(span) = window.condition.baselines.iter().map(|b| b.span_ms).max() {
                ms += span;
                parts.push(format!("the baseline's {} lookback", duration_text(span)));
            }
            parts.push(format!("the {} window", duration_text(window.bucket_ms)));
            parts.push(late);
            (ms, parts)
        }
        Shape::Cluster { window_ms, .. } => (
            window_ms + LATENESS_MS,
            vec![format!("the {} window", duration_text(*window_ms)), late],
        ),
        Shape::NewValue { lookback_ms, .. } => (
            lookback_ms + LATENESS_MS,
            vec![
                format!("the {} lookback", duration_text(*lookback_ms)),
                late,
            ],
        ),
        Shape::Sequence { within_ms, .. } => (
            within_ms + LATENESS_MS,
            vec![
                format!("the {} sequence span", duration_text(*within_ms)),
                late,
            ],
        ),
        _ => (0, Vec::new()),
    }
}

/// The query frequency: the rule's schedule, raised to an hour when the
/// period would reach two days (Sentinel's limit). A window or event still
/// alerts in exactly one run; only later, by at most the difference.
fn frequency(schedule_ms: i64, history_ms: i64) -> i64 {
    if history_ms + schedule_ms >= LONG_PERIOD_MS && schedule_ms < LONG_PERIOD_FREQUENCY_MS {
        LONG_PERIOD_FREQUENCY_MS
    } else {
        schedule_ms
    }
}

/// The KQL query of a rule, with its schedule.
pub fn rule_query(
    rule: &Rule,
    pack: &ir::Pack,
    mapping: &Mapping,
    table: &str,
) -> Result<Query, Vec<Problem>> {
    let plan = plan::plan(rule, pack)?;
    let mut printer = Printer {
        origin: rule.origin,
        context_origin: rule.context_origin(),
        schema: &pack.schema,
        lookups: &pack.lookups,
        mapping,
        problems: Vec::new(),
        computed: None,
    };
    let (history_ms, mut parts) = history(&plan);
    let frequency_ms = frequency(rule.metadata.schedule_ms, history_ms);
    parts.insert(
        parts.len().saturating_sub(1),
        format!("the {} query frequency", duration_text(frequency_ms)),
    );
    let mut query = match &plan.shape {
        Shape::Match(source) => {
            let condition = printer.source(source);
            Query {
                text: format!("{table}\n| where {condition}"),
                group_columns: Vec::new(),
                value_columns: Vec::new(),
                all_columns: true,
                frequency_ms,
                period_ms: 0,
                period_parts: String::new(),
            }
        }
        Shape::Window(window)
            if window.condition.baselines.is_empty() && window.condition.percentiles.is_empty() =>
        {
            printer.window(table, window, frequency_ms)
        }
        Shape::Window(window) => {
            printer.stateful_window(table, window, frequency_ms, plan.learn_ms)
        }
        Shape::Cluster {
            source,
            fingerprint,
            window_ms,
            condition,
        } => {
            printer.fingerprint(fingerprint);
            let window = plan::Window {
                source: source.clone(),
                groupings: vec![vec![fingerprint.group_name().to_string()]],
                bucket_ms: *window_ms,
                condition: condition.clone(),
                context: Vec::new(),
            };
            printer.window(table, &window, frequency_ms)
        }
        Shape::NewValue {
            source,
            key,
            values,
            lookback_ms,
        } => printer.new_value(
            table,
            source,
            (key, values),
            *lookback_ms,
            plan.learn_ms,
            frequency_ms,
        ),
        Shape::Sequence { .. } => match plan::sequence::run_then_step(&plan.shape) {
            Ok(form) => printer.sequence(table, &form, frequency_ms),
            Err(reason) => return Err(vec![Problem::untranslatable(rule.origin, reason)]),
        },
    };
    // A sequence names its repeated patterns itself, beside its other `let`s.
    if !matches!(plan.shape, Shape::Sequence { .. }) {
        query.text = name_repeated_patterns(&query.text);
    }
    query.frequency_ms = frequency_ms;
    query.period_ms = history_ms + frequency_ms;
    query.period_parts = join_words(&parts);
    if printer.problems.is_empty() {
        Ok(query)
    } else {
        Err(printer.problems)
    }
}

/// Regex literals that `texts` use more than once (a marker list tested on
/// two fields by two steps), each moved into one `let PatternN = "...";`
/// and referred to by name, so the query stays under Sentinel's length
/// limit. A let-bound string literal is a constant, which is what `matches
/// regex` takes ("Defining constants outside of the query body",
/// <https://learn.microsoft.com/azure/data-explorer/kusto/query/let-statement>;
/// the pattern "must be a scalar constant",
/// <https://learn.microsoft.com/azure/data-explorer/kusto/query/matches-regex-operator>):
/// the meaning is unchanged. Returns the `let` lines.
fn hoist_repeated_patterns(texts: &mut [String]) -> Vec<String> {
    const OPERATOR: &str = "matches regex ";
    // Every `matches regex "..."` literal, with how often it occurs.
    let mut literals: Vec<(String, usize)> = Vec::new();
    for text in texts.iter() {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(OPERATOR) {
            rest = &rest[at + OPERATOR.len()..];
            let Some(length) = string_literal_length(rest) else {
                continue;
            };
            let literal = &rest[..length];
            match literals.iter_mut().find(|(known, _)| known == literal) {
                Some((_, count)) => *count += 1,
                None => literals.push((literal.to_string(), 1)),
            }
            rest = &rest[length..];
        }
    }
    let mut lines = Vec::new();
    for (literal, count) in literals {
        // Short patterns read better in place.
        if count < 2 || literal.len() < 200 {
            continue;
        }
        let name = format!("Pattern{}", lines.len() + 1);
        for text in texts.iter_mut() {
            *text = text.replace(
                &format!("{OPERATOR}{literal}"),
                &format!("{OPERATOR}{name}"),
            );
        }
        lines.push(format!("let {name} = {literal};"));
    }
    lines
}

/// `text` with its repeated long patterns named once (see
/// [`hoist_repeated_patterns`]): `norm(f)` tests a list on the companion
/// and, for events without one, on the raw field, which would print the
/// list twice. The `let` lines go just before the statement that first uses
/// them, after the query's time constants.
fn name_repeated_patterns(text: &str) -> String {
    let mut texts = [text.to_string()];
    let lets = hoist_repeated_patterns(&mut texts);
    let [named] = texts;
    if lets.is_empty() {
        return named;
    }
    let lines: Vec<&str> = named.lines().collect();
    let first_use = lines
        .iter()
        .position(|line| line.contains("matches regex Pattern"))
        .unwrap_or(0);
    // A statement's continuation lines are indented or start with a pipe.
    let statement = (0..=first_use)
        .rev()
        .find(|&at| !lines[at].starts_with(|c: char| c.is_whitespace() || c == '|'))
        .unwrap_or(0);
    let mut out: Vec<&str> = lines[..statement].to_vec();
    out.extend(lets.iter().map(String::as_str));
    out.extend(&lines[statement..]);
    let mut joined = out.join("\n");
    if named.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// The length of the double-quoted Kusto string literal `text` starts with.
fn string_literal_length(text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next()?;
            }
            '"' => return Some(at + 1),
            _ => {}
        }
    }
    None
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

/// `a`, `a and b`, `a, b and c`.
fn join_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// An epoch-aligned bin of `TimeGenerated`-like column.
pub(super) fn epoch_bin(column: &str, window_ms: i64) -> String {
    format!(
        "bin_at({column}, {}, datetime(1970-01-01T00:00:00Z))",
        duration_text(window_ms)
    )
}

pub(super) struct Printer<'a> {
    /// Where refusals are located (the rule's or the panel's origin).
    pub(super) origin: ir::Origin,
    /// Where a refusal of the `context` clause is located.
    pub(super) context_origin: ir::Origin,
    pub(super) schema: &'a ir::Schema,
    pub(super) lookups: &'a std::collections::BTreeMap<String, ir::Lookup>,
    pub(super) mapping: &'a Mapping,
    pub(super) problems: Vec<Problem>,
    /// A group key computed by the query (a cluster's fingerprint): its
    /// name in the plan, its column and the steps that compute it.
    pub(super) computed: Option<(&'static str, &'static str, String)>,
}

/// One aggregate column of a window query.
pub(super) struct AggregateColumn {
    pub(super) name: String,
    pub(super) expression: String,
    /// A column counting the values, when the aggregate can have none.
    pub(super) count_column: Option<(String, String)>,
    /// Whether the column is a `real` (otherwise a `long`).
    pub(super) real: bool,
}

/// The columns a condition's leaves are printed as.
pub(super) struct Leaves<'a> {
    pub(super) aggregates: &'a [AggregateColumn],
    pub(super) baselines: &'a [String],
    pub(super) percentiles: &'a [String],
}

/// Adds a guard unless it is already there.
fn push_new(guards: &mut Vec<String>, guard: String) {
    if !guards.contains(&guard) {
        guards.push(guard);
    }
}

/// A `long` expression as a `real`: a `long(N)` literal as `real(N.0)`.
fn as_double(text: &str) -> String {
    match text
        .strip_prefix("long(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|digits| digits.parse::<i64>().ok())
    {
        Some(number) => format!("real({:?})", number as f64),
        None => format!("todouble({text})"),
    }
}

fn arithmetic_symbol(op: ArithmeticOp) -> &'static str {
    match op {
        ArithmeticOp::Add => "+",
        ArithmeticOp::Subtract => "-",
        ArithmeticOp::Multiply => "*",
        ArithmeticOp::Divide => "/",
    }
}

impl Printer<'_> {
    /// Records a refusal at the rule; the query gets `false` in its place.
    pub(super) fn fail(&mut self, message: impl Into<String>) -> String {
        self.problems
            .push(Problem::untranslatable(self.origin, message.into()));
        "false".to_string()
    }

    pub(super) fn spelled(&mut self, spelled: Result<String, Unsupported>) -> String {
        spelled.unwrap_or_else(|Unsupported(reason)| self.fail(reason))
    }

    /// A mapped column reference and its Kusto type.
    pub(super) fn column(&mut self, field: &str) -> (String, String) {
        match syntax::column(self.mapping, field) {
            Ok((column, kind)) => (column, kind.to_string()),
            Err(Unsupported(reason)) => (self.fail(reason), "bool".to_string()),
        }
    }

    /// One grouping set's key columns (each added once to `group_columns`)
    /// and its events: `Events`, kept to those carrying every key.
    fn grouping_source(
        &mut self,
        grouping: &[String],
        group_columns: &mut Vec<String>,
    ) -> (Vec<String>, String) {
        let mut keys = Vec::new();
        let mut present = Vec::new();
        let mut steps = String::new();
        for field in grouping {
            if let Some((name, column, computed)) = &self.computed
                && name == field
            {
                steps.push_str(computed);
                if !group_columns.iter().any(|known| known == column) {
                    group_columns.push(column.to_string());
                }
                keys.push(column.to_string());
                continue;
            }
            let (column, _) = self.column(field);
            present.push(self.presence(field));
            if !group_columns.contains(&column) {
                group_columns.push(column.clone());
            }
            keys.push(column);
        }
        let mut events = String::from("Events");
        if !present.is_empty() {
            events.push_str(&format!("\n    | where {}", present.join(" and ")));
        }
        events.push_str(&steps);
        (keys, events)
    }

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
    fn fingerprint(&mut self, fingerprint: &plan::Fingerprint) {
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

    pub(super) fn presence(&mut self, field: &str) -> String {
        let presence = syntax::presence(self.mapping, field);
        self.spelled(presence)
    }

    /// A filter over the events of `source`.
    fn predicate(&mut self, source: &Source, pred: &Pred) -> String {
        let kusto = Kusto {
            mapping: self.mapping,
            schema: self.schema,
            types: &source.event_types,
            lookups: self.lookups,
        };
        spelling::predicate(&kusto, pred, &mut self.problems)
    }

    /// The event-type test and the filter of a source.
    pub(super) fn source(&mut self, source: &Source) -> String {
        let (event_type, _) = self.column("event_type");
        let types: Vec<String> = source
            .event_types
            .iter()
            .map(|name| syntax::string(name))
            .map(|literal| self.spelled(literal))
            .collect();
        let mut parts = vec![match types.as_slice() {
            [single] => format!("{event_type} == {single}"),
            many => format!("{event_type} in ({})", many.join(", ")),
        }];
        if let Some(filter) = &source.filter {
            let condition = self.predicate(source, filter);
            parts.push(format!("({condition})"));
        }
        parts.join(" and ")
    }

    fn window(&mut self, table: &str, window: &plan::Window, schedule_ms: i64) -> Query {
        let filter = self.source(&window.source);
        let (time, _) = self.column("timestamp");
        let mut aggregates: Vec<AggregateColumn> = Vec::new();
        for aggregate in &window.condition.aggregates {
            let column = self.aggregate(aggregate, &window.source, &aggregates);
            aggregates.push(column);
        }
        let leaves = Leaves {
            aggregates: &aggregates,
            baselines: &[],
            percentiles: &[],
        };
        let test = match &window.condition.root {
            Some(root) => self.condition(root, &leaves),
            None => self.fail("the rule has no alert condition"),
        };
        let mut summaries = Vec::new();
        for aggregate in &aggregates {
            summaries.push(format!("{} = {}", aggregate.name, aggregate.expression));
            if let Some((name, expression)) = &aggregate.count_column {
                summaries.push(format!("{name} = {expression}"));
            }
        }
        let context = self.context_columns(window);
        for (column, summary) in &context {
            summaries.push(format!("{column} = {summary}"));
        }
        let window_ms = window.bucket_ms;
        let mut group_columns: Vec<String> = Vec::new();
        let mut branches = Vec::new();
        for grouping in &window.groupings {
            let (mut keys, events) = self.grouping_source(grouping, &mut group_columns);
            keys.push(format!("WindowStart = {}", epoch_bin(&time, window_ms)));
            let mut branch = events;
            branch.push_str(&format!(
                "\n    | summarize {} by {}",
                summaries.join(", "),
                keys.join(", ")
            ));
            branches.push(branch);
        }
        let mut text = format!(
            "let Window = {};\nlet ClosedBefore = now() - {};\nlet ClosedAfter = ClosedBefore - {};\nlet Events = {table}\n    | where {filter};\n",
            duration_text(window_ms),
            duration_text(LATENESS_MS),
            duration_text(schedule_ms)
        );
        if branches.len() == 1 {
            text.push_str(&branches[0]);
        } else {
            let inner: Vec<String> = branches
                .iter()
                .map(|branch| format!("({})", branch.replace("\n    ", "\n        ")))
                .collect();
            text.push_str(&format!("union\n    {}", inner.join(",\n    ")));
        }
        text.push_str(
            "\n| extend WindowEnd = WindowStart + Window\n| where WindowEnd > ClosedAfter and WindowEnd <= ClosedBefore",
        );
        let mut value_columns: Vec<String> = aggregates.iter().map(|a| a.name.clone()).collect();
        value_columns.extend(context.into_iter().map(|(column, _)| column));
        window_query(text, &test, group_columns, value_columns, schedule_ms)
    }

    /// `context` columns and their `summarize` terms: each field's distinct
    /// values, sorted. `make_set_if` collects the distinct values passing
    /// its predicate (`isnotempty`: a missing string is empty in Kusto, as
    /// the other aggregates here read it) in an undefined order, so
    /// `array_sort_asc` sorts them (the tip of
    /// https://learn.microsoft.com/ja-jp/azure/data-explorer/kusto/query/make-list-aggregation-function
    /// for the `make_` aggregates' undefined order).
    fn context_columns(&mut self, window: &plan::Window) -> Vec<(String, String)> {
        let mut columns = Vec::new();
        for field in &window.context {
            let (column, _) = self.column(field);
            if !column
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                self.fail(format!(
                    "the `context` field `{field}` is mapped to `{column}`, which is not a column name to project"
                ));
                continue;
            }
            columns.push((
                column.clone(),
                format!("array_sort_asc(make_set_if({column}, isnotempty({column})))"),
            ));
        }
        columns
    }

    /// The aggregate columns of a window's condition and their `summarize`
    /// terms.
    fn aggregate_columns(&mut self, window: &plan::Window) -> (Vec<AggregateColumn>, Vec<String>) {
        let mut aggregates: Vec<AggregateColumn> = Vec::new();
        for aggregate in &window.condition.aggregates {
            let column = self.aggregate(aggregate, &window.source, &aggregates);
            aggregates.push(column);
        }
        let mut summaries = Vec::new();
        for aggregate in &aggregates {
            summaries.push(format!("{} = {}", aggregate.name, aggregate.expression));
            if let Some((name, expression)) = &aggregate.count_column {
                summaries.push(format!("{name} = {expression}"));
            }
        }
        (aggregates, summaries)
    }

    /// A window whose condition reads the group's history (baselines) or
    /// the other groups of its window (percentiles).
    ///
    /// Why it is exact. Every window of every group in the query period is
    /// summarised once (`Windows`); the windows that alert in this run are
    /// those that closed in its slot (`Closed`). A baseline joins each of
    /// them with the same group's windows that start in `[start - Lookback,
    /// start)` (the lookback in whole windows) and keeps, per baseline, the
    /// first such window, the sum and number of the expression's values and
    /// the number of windows with events; the windows in between without
    /// events are `(start - first) / Window - active`, counted at the
    /// expression's value on no events when it has one (as the SQL
    /// reference's `history` and `baseline_mean`). A closed window with no
    /// earlier window in the lookback has no baseline and no first window,
    /// so it cannot pass the learning period and can be dropped by the
    /// inner join. The query period reaches back the longest lookback and a
    /// window before the oldest closed window, so the whole history is read.
    /// A percentile is the value at 0-based rank floor((N - 1) * P / 100) of
    /// the ascending values of the N groups of the window (and grouping set)
    /// that have one: `sort` serialises the rows and `row_number` restarts
    /// at each window (https://learn.microsoft.com/kusto/query/row-number-function),
    /// an exact rank where `percentile()` would estimate
    /// (https://learn.microsoft.com/kusto/query/percentiles-aggregation-function).
    fn stateful_window(
        &mut self,
        table: &str,
        window: &plan::Window,
        frequency_ms: i64,
        learn_ms: i64,
    ) -> Query {
        let condition = &window.condition;
        if !window.context.is_empty() {
            // Later `summarize` steps group by the window's columns, and a
            // dynamic array is not a `by` key.
            self.problems.push(Problem::lacks(
                self.context_origin,
                "`context` on a baseline or percentile rule: the history joins regroup the window's columns, and Kusto cannot group by the dynamic arrays that carry the context",
            ));
        }
        let filter = self.source(&window.source);
        let (time, _) = self.column("timestamp");
        let (aggregates, summaries) = self.aggregate_columns(window);
        let numbered = |base: &str, count: usize, index: usize| {
            if count == 1 {
                base.to_string()
            } else {
                format!("{base}{}", index + 1)
            }
        };
        let (baseline_count, percentile_count) =
            (condition.baselines.len(), condition.percentiles.len());
        let baselines: Vec<String> = (0..baseline_count)
            .map(|index| numbered("Baseline", baseline_count, index))
            .collect();
        let lookbacks: Vec<String> = (0..baseline_count)
            .map(|index| numbered("Lookback", baseline_count, index))
            .collect();
        let earlier: Vec<String> = (0..baseline_count)
            .map(|index| numbered("Earlier", baseline_count, index))
            .collect();
        let percentiles: Vec<String> = (0..percentile_count)
            .map(|index| numbered("Percentile", percentile_count, index))
            .collect();
        let leaves = Leaves {
            aggregates: &aggregates,
            baselines: &baselines,
            percentiles: &percentiles,
        };
        let test = match &condition.root {
            Some(root) => self.condition(root, &leaves),
            None => self.fail("the rule has no alert condition"),
        };
        // What a baseline averages and a percentile ranks reads aggregates only.
        let inner_leaves = Leaves {
            aggregates: &aggregates,
            baselines: &[],
            percentiles: &[],
        };
        let baseline_values: Vec<String> = condition
            .baselines
            .iter()
            .map(|baseline| self.value(&baseline.inner, &inner_leaves))
            .collect();
        let percentile_values: Vec<String> = condition
            .percentiles
            .iter()
            .map(|percentile| self.value(&percentile.inner, &inner_leaves))
            .collect();
        let window_ms = window.bucket_ms;
        let mut lets = vec![format!("let Window = {};", duration_text(window_ms))];
        for (baseline, lookback) in condition.baselines.iter().zip(&lookbacks) {
            lets.push(format!(
                "let {lookback} = {};",
                duration_text(baseline.span_ms)
            ));
        }
        if !baselines.is_empty() {
            lets.push(format!("let Learn = {};", duration_text(learn_ms)));
        }
        lets.push(format!(
            "let ClosedBefore = now() - {};\nlet ClosedAfter = ClosedBefore - {};",
            duration_text(LATENESS_MS),
            duration_text(frequency_ms)
        ));
        lets.push(format!("let Events = {table}\n    | where {filter};"));
        // The longest lookback bounds the join; each baseline keeps its own.
        let longest = condition
            .baselines
            .iter()
            .zip(&lookbacks)
            .max_by_key(|(baseline, _)| baseline.span_ms)
            .map(|(_, name)| name.clone());
        let several = window.groupings.len() > 1;
        let mut group_columns: Vec<String> = Vec::new();
        let mut branches = Vec::new();
        for (number, grouping) in window.groupings.iter().enumerate() {
            let suffix = if several {
                (number + 1).to_string()
            } else {
                String::new()
            };
            let (keys, events) = self.grouping_source(grouping, &mut group_columns);
            let (windows, closed) = (format!("Windows{suffix}"), format!("Closed{suffix}"));
            let mut by = keys.clone();
            by.push(format!("WindowStart = {}", epoch_bin(&time, window_ms)));
            lets.push(format!(
                "let {windows} = materialize({events}\n    | summarize {} by {});",
                summaries.join(", "),
                by.join(", ")
            ));
            lets.push(format!(
                "let {closed} = {windows}\n    | extend WindowEnd = WindowStart + Window\n    | where WindowEnd > ClosedAfter and WindowEnd <= ClosedBefore;"
            ));
            let mut lookups = Vec::new();
            for (index, (percentile, value)) in condition
                .percentiles
                .iter()
                .zip(&percentile_values)
                .enumerate()
            {
                let tag = match (several, percentile_count > 1) {
                    (true, true) => format!("{suffix}_{}", index + 1),
                    (false, true) => (index + 1).to_string(),
                    _ => suffix.clone(),
                };
                let (ranked, ranks) = (format!("Ranked{tag}"), format!("Percentiles{tag}"));
                lets.push(format!(
                    "let {ranked} = {closed}\n    | extend RankedValue = {value}\n    | where isnotnull(RankedValue)\n    | sort by WindowStart asc, RankedValue asc\n    | extend Rank = row_number(0, WindowStart != prev(WindowStart));"
                ));
                lets.push(format!(
                    "let {ranks} = {ranked}\n    | lookup ({ranked} | summarize Groups = count() by WindowStart) on WindowStart\n    | where Rank == tolong(floor((Groups - 1) * {:?} / 100, 1))\n    | project WindowStart, {} = RankedValue;",
                    percentile.percentile.clamp(0.0, 100.0),
                    percentiles[index]
                ));
                lookups.push(format!("| lookup kind=leftouter {ranks} on WindowStart"));
            }
            let mut branch = vec![closed.clone()];
            if let Some(longest) = &longest {
                // A group of its own when the rule has no group fields.
                let join_keys = if keys.is_empty() {
                    branch.push("| extend Scope = 1".to_string());
                    vec!["Scope".to_string()]
                } else {
                    keys.clone()
                };
                let mut right = if keys.is_empty() {
                    vec!["Scope = 1".to_string()]
                } else {
                    keys.clone()
                };
                right.push("EarlierStart = WindowStart".to_string());
                for (name, value) in earlier.iter().zip(&baseline_values) {
                    right.push(format!("{name} = {value}"));
                }
                branch.push(format!(
                    "| join kind=inner ({windows}\n    | project {}) on {}",
                    right.join(", "),
                    join_keys.join(", ")
                ));
                branch.push(format!(
                    "| where EarlierStart >= WindowStart - {longest} and EarlierStart < WindowStart"
                ));
                let terms = history_terms(&baselines, &lookbacks, &earlier, "WindowStart");
                let mut by = join_keys.clone();
                by.push("WindowStart".to_string());
                by.push("WindowEnd".to_string());
                for aggregate in &aggregates {
                    by.push(aggregate.name.clone());
                    if let Some((count, _)) = &aggregate.count_column {
                        by.push(count.clone());
                    }
                }
                branch.push(format!(
                    "| summarize\n    {}\n    by {}",
                    terms.join(",\n    "),
                    by.join(", ")
                ));
            }
            branch.extend(lookups);
            branches.push(branch.join("\n"));
        }
        let mut text = lets.join("\n");
        text.push('\n');
        if branches.len() == 1 {
            text.push_str(&branches[0]);
        } else {
            let inner: Vec<String> = branches
                .iter()
                .map(|branch| format!("({})", branch.replace('\n', "\n        ")))
                .collect();
            text.push_str(&format!("union\n    {}", inner.join(",\n    ")));
        }
        let mut learned = Vec::new();
        for (baseline, prefix) in condition.baselines.iter().zip(&baselines) {
            let (empty, mean) = baseline_mean(prefix, baseline.empty, "WindowStart", "Window");
            if let Some(empty) = empty {
                text.push_str(&format!("\n| extend {prefix}Empty = {empty}"));
            }
            text.push_str(&format!("\n| extend {prefix} = {mean}"));
            learned.push(format!("WindowStart - {prefix}First >= Learn"));
        }
        if !learned.is_empty() {
            // The group's own history reaches back the learning period.
            text.push_str(&format!("\n| where {}", learned.join(" or ")));
        }
        let mut value_columns: Vec<String> = aggregates.iter().map(|a| a.name.clone()).collect();
        value_columns.extend(baselines.iter().cloned());
        value_columns.extend(percentiles.iter().cloned());
        window_query(text, &test, group_columns, value_columns, frequency_ms)
    }

    /// A new value: an event whose key and value combination was not seen
    /// in the lookback before it, for a key seen between the lookback and
    /// the learning period before it.
    ///
    /// Why it is exact. The alerting events are those of this run's slot
    /// `(SeenAfter, SeenBefore]`. (a) Sorting the events by key, value,
    /// time and event id (the evaluator's processing order) makes `prev()`
    /// the latest earlier sighting of the same combination
    /// (https://learn.microsoft.com/kusto/query/prev-function); the
    /// combination is new when there is none or it is older than the
    /// lookback, so of several new sightings only the first alerts.
    /// (b) The key must have a sighting in `[t - Lookback, t - Learn]`. For
    /// every `t` of the slot that span is the part all of them share,
    /// `[SeenBefore - Lookback, SeenAfter - Learn]`, plus a ragged end on
    /// each side narrower than the slot: a sighting in the shared part
    /// counts for every event; on the early side the key's latest sighting
    /// there counts when it is at least `t - Lookback`; on the late side its
    /// earliest when it is at most `t - Learn`. That needs the slot to be no
    /// longer than `Lookback - Learn`, which is checked. The query period
    /// reaches back the lookback before the slot, so every sighting either
    /// test needs is read.
    fn new_value(
        &mut self,
        table: &str,
        source: &Source,
        (key, values): (&[String], &[String]),
        lookback_ms: i64,
        learn_ms: i64,
        frequency_ms: i64,
    ) -> Query {
        let filter = self.source(source);
        let (time, _) = self.column("timestamp");
        if learn_ms <= 0 || lookback_ms - learn_ms < frequency_ms {
            self.fail(format!(
                "the lookback ({}) must exceed the learning period ({}) by at least the query frequency ({}), so that the key's history is one shared span per run",
                duration_text(lookback_ms),
                duration_text(learn_ms.max(0)),
                duration_text(frequency_ms)
            ));
        }
        let key_columns: Vec<String> = key.iter().map(|field| self.column(field).0).collect();
        let value_columns: Vec<String> = values.iter().map(|field| self.column(field).0).collect();
        let present: Vec<String> = key
            .iter()
            .chain(values)
            .map(|field| self.presence(field))
            .collect();
        let mut order: Vec<String> = key_columns
            .iter()
            .chain(&value_columns)
            .map(|column| format!("{column} asc"))
            .collect();
        order.push(format!("{time} asc"));
        if let Some(event_id) = self.mapping.field("event_id") {
            order.push(format!(
                "{} asc",
                super::quote::column_reference(&event_id.name)
            ));
        }
        let same: Vec<String> = key_columns
            .iter()
            .chain(&value_columns)
            .map(|column| format!("{column} == prev({column})"))
            .collect();
        let keys = key_columns.join(", ");
        let text = format!(
            "let Lookback = {lookback};\n\
             let Learn = {learn};\n\
             let SeenBefore = now() - {late};\n\
             let SeenAfter = SeenBefore - {frequency};\n\
             let Sightings = materialize({table}\n    | where {filter}\n    | where {present});\n\
             // Per key: sightings inside the span every event of this run looks at, and the ends of the span.\n\
             let KeyHistory = Sightings\n    | summarize\n        SeenThroughout = countif({time} between ((SeenBefore - Lookback) .. (SeenAfter - Learn))),\n        LastSeenEarly = maxif({time}, {time} > SeenAfter - Lookback and {time} < SeenBefore - Lookback),\n        FirstSeenLate = minif({time}, {time} > SeenAfter - Learn and {time} <= SeenBefore - Learn)\n        by {keys};\n\
             Sightings\n\
             | sort by {order}\n\
             | extend ValueSeen = iff({same}, prev({time}), datetime(null))\n\
             | where {time} > SeenAfter and {time} <= SeenBefore\n\
             // The combination was not seen in the lookback before the event,\n\
             | where isnull(ValueSeen) or ValueSeen < {time} - Lookback\n\
             // and the key was seen between the lookback and the learning period before it.\n\
             | lookup kind=inner KeyHistory on {keys}\n\
             | where SeenThroughout > 0 or LastSeenEarly >= {time} - Lookback or FirstSeenLate <= {time} - Learn\n\
             | project-away ValueSeen, SeenThroughout, LastSeenEarly, FirstSeenLate",
            lookback = duration_text(lookback_ms),
            learn = duration_text(learn_ms),
            late = duration_text(LATENESS_MS),
            frequency = duration_text(frequency_ms),
            present = present.join(" and "),
            order = order.join(", "),
            same = same.join(" and "),
        );
        let mut group_columns = key_columns;
        group_columns.extend(value_columns);
        Query {
            text,
            group_columns,
            value_columns: Vec::new(),
            all_columns: true,
            frequency_ms,
            period_ms: 0,
            period_parts: String::new(),
        }
    }

    /// A sequence `A repeat >= n; B` by key within W, in the closed form of
    /// [`plan::sequence`] (where it is proved equal to the evaluator's state
    /// machine): per key, in processing order, each A-event's run start is
    /// the time of the A-event n − 1 A-events before it; a B-event completes
    /// when the event just before it is an A-event whose run started at most
    /// W before it. `sort` makes its output serialized, so `prev()` reads the
    /// previous row of the sorted set
    /// (<https://learn.microsoft.com/azure/data-explorer/kusto/query/sort-operator>,
    /// <https://learn.microsoft.com/azure/data-explorer/kusto/query/prev-function>);
    /// comparing the key of that row keeps it to the same key. `scan` is not
    /// needed: the closed form has no state beyond the previous rows.
    ///
    /// The run alerts for the B-events of its slot, `(now() - 5m -
    /// frequency, now() - 5m]`, and reads W before the slot (the period), so
    /// every condition sees what it needs: see "Scheduled searches" in
    /// [`plan::sequence`]. Events at the same time are ordered by `EventId`,
    /// as the evaluator orders them.
    fn sequence(
        &mut self,
        table: &str,
        form: &plan::sequence::RunThenStep<'_>,
        frequency_ms: i64,
    ) -> Query {
        let (time, _) = self.column("timestamp");
        let Some(event_id) = self.mapping.field("event_id") else {
            self.fail("a sequence orders events of the same time by `event_id`, which has no column for this target");
            return Query {
                text: String::new(),
                group_columns: Vec::new(),
                value_columns: Vec::new(),
                all_columns: true,
                frequency_ms,
                period_ms: 0,
                period_parts: String::new(),
            };
        };
        let event_id = super::quote::column_reference(&event_id.name);
        if form.repeat > MAX_SEQUENCE_RUN {
            self.fail(format!(
                "`repeat >= {}` would name each of its events in the query; at most {MAX_SEQUENCE_RUN} are translated",
                form.repeat
            ));
        }
        let keys: Vec<String> = form.by.iter().map(|field| self.column(field).0).collect();
        let present: Vec<String> = form.by.iter().map(|field| self.presence(field)).collect();
        let mut steps = [self.source(form.run), self.source(form.last)];
        let patterns = hoist_repeated_patterns(&mut steps);
        let [first, last] = steps;
        let mut order: Vec<String> = keys.iter().map(|key| format!("{key} asc")).collect();
        order.push(format!("{time} asc"));
        order.push(format!("{event_id} asc"));
        let order = order.join(", ");
        let back = form.repeat.clamp(1, MAX_SEQUENCE_RUN) - 1;
        let mut lines = vec![
            format!("let Within = {};", duration_text(form.within_ms)),
            format!(
                "let CompletedBefore = now() - {};",
                duration_text(LATENESS_MS)
            ),
            format!(
                "let CompletedAfter = CompletedBefore - {};",
                duration_text(frequency_ms)
            ),
        ];
        lines.extend(patterns);
        lines.extend([
            format!("let Steps = materialize({table}"),
            format!("    | where {}", present.join(" and ")),
            format!("    | extend FirstStep = {first}, LastStep = {last}"),
            "    | where FirstStep or LastStep);".to_string(),
        ]);
        if back == 0 {
            lines.push("// Each first-step event is a run of one.".to_string());
            lines.push("let Runs = Steps".to_string());
            lines.push("    | where FirstStep".to_string());
            lines.push(format!(
                "    | extend RunStart = {time}, RunEventIds = pack_array({event_id});"
            ));
        } else {
            let same: Vec<String> = keys
                .iter()
                .map(|key| format!("prev({key}, {back}) == {key}"))
                .collect();
            let mut ids: Vec<String> = (1..=back)
                .rev()
                .map(|offset| format!("prev({event_id}, {offset})"))
                .collect();
            ids.push(event_id.clone());
            lines.push(format!(
                "// Each first-step event ends a run of {} of its key, which starts at the first-step event {back} before it.",
                form.repeat
            ));
            lines.push("let Runs = Steps".to_string());
            lines.push("    | where FirstStep".to_string());
            lines.push(format!("    | sort by {order}"));
            lines.push(format!(
                "    | extend RunStart = iff({}, prev({time}, {back}), datetime(null)),",
                same.join(" and ")
            ));
            lines.push(format!(
                "        RunEventIds = pack_array({});",
                ids.join(", ")
            ));
        }
        let previous: Vec<String> = keys
            .iter()
            .map(|key| format!("prev({key}) == {key}"))
            .collect();
        lines.extend([
            "Runs".to_string(),
            "| union (Steps | where not(FirstStep))".to_string(),
            format!("| sort by {order}"),
            "// A last-step event completes a sequence when the event just before it (same key) ends a run that started within the span.".to_string(),
            format!(
                "| extend FirstSeen = iff({} and prev(FirstStep), prev(RunStart), datetime(null)),",
                previous.join(" and ")
            ),
            format!("    EventIds = array_concat(prev(RunEventIds), pack_array({event_id}))"),
            format!("| where LastStep and FirstSeen >= {time} - Within"),
            format!("| where {time} > CompletedAfter and {time} <= CompletedBefore"),
            format!("| extend LastSeen = {time}"),
            "| project-away FirstStep, LastStep, RunStart, RunEventIds".to_string(),
        ]);
        let text = lines.join("\n");
        Query {
            text,
            group_columns: keys,
            value_columns: vec![
                "FirstSeen".to_string(),
                "LastSeen".to_string(),
                "EventIds".to_string(),
            ],
            all_columns: true,
            frequency_ms,
            period_ms: 0,
            period_parts: String::new(),
        }
    }

    /// A condition over aggregates, baselines and percentiles: total, like
    /// the evaluator's (a comparison with a side that has no value is false,
    /// so `not` over it is true).
    fn condition(&mut self, cond: &Cond, leaves: &Leaves<'_>) -> String {
        match cond {
            Cond::Not(operand) => {
                format!("not({})", self.condition(operand, leaves))
            }
            Cond::And(operands) | Cond::Or(operands) => {
                let joiner = if matches!(cond, Cond::And(_)) {
                    " and "
                } else {
                    " or "
                };
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, leaves)))
                    .collect();
                parts.join(joiner)
            }
            Cond::Bool(value) => value.to_string(),
            Cond::Compare(op, left, right) => {
                let mut guards = Vec::new();
                let (left, _) = self.operand(left, leaves, &mut guards);
                let (right, _) = self.operand(right, leaves, &mut guards);
                let comparison = format!("{left} {} {right}", op.symbol());
                if guards.is_empty() {
                    comparison
                } else {
                    format!("{} and {comparison}", guards.join(" and "))
                }
            }
            other => self.fail(format!(
                "a {} in an alert condition has no Kusto translation here",
                cond_name(other)
            )),
        }
    }

    /// An operand of a comparison, and whether it is a `real`. What makes it
    /// have no value becomes a guard: an aggregate without values, a
    /// baseline or percentile that is null, a zero divisor.
    fn operand(
        &mut self,
        cond: &Cond,
        leaves: &Leaves<'_>,
        guards: &mut Vec<String>,
    ) -> (String, bool) {
        let value = match cond {
            Cond::Int(value) => Value::Int(*value),
            Cond::Float(value) => Value::Float(*value),
            Cond::Bool(value) => Value::Bool(*value),
            Cond::Leaf(Leaf::Aggregate(index)) if *index < leaves.aggregates.len() => {
                let aggregate = &leaves.aggregates[*index];
                if let Some((count, _)) = &aggregate.count_column {
                    push_new(guards, format!("{count} > 0"));
                }
                return (aggregate.name.clone(), aggregate.real);
            }
            Cond::Leaf(Leaf::Baseline(index)) if *index < leaves.baselines.len() => {
                let name = leaves.baselines[*index].clone();
                push_new(guards, format!("isnotnull({name})"));
                return (name, true);
            }
            Cond::Leaf(Leaf::Percentile(index)) if *index < leaves.percentiles.len() => {
                let name = leaves.percentiles[*index].clone();
                push_new(guards, format!("isnotnull({name})"));
                return (name, true);
            }
            // Over doubles, as the evaluator: Kusto divides two longs as
            // integers (https://learn.microsoft.com/kusto/query/scalar-data-types/long),
            // so an all-integer operation gets a `todouble` on its left side;
            // a zero divisor has no value (Kusto would give infinity).
            Cond::Arithmetic(op, left, right) => {
                let (left_text, left_real) = self.operand(left, leaves, guards);
                let (right_text, right_real) = self.operand(right, leaves, guards);
                let left_text = if left_real || right_real {
                    left_text
                } else {
                    as_double(&left_text)
                };
                let constant_divisor = match **right {
                    Cond::Int(value) => value != 0,
                    Cond::Float(value) => value != 0.0,
                    _ => false,
                };
                if *op == ArithmeticOp::Divide && !constant_divisor {
                    push_new(guards, format!("{right_text} != 0"));
                }
                return (
                    format!("({left_text} {} {right_text})", arithmetic_symbol(*op)),
                    true,
                );
            }
            Cond::Missing => {
                return (self.fail("the compared value is not a number"), false);
            }
            other => {
                return (
                    self.fail(format!(
                        "a {} in an alert condition has no Kusto translation here",
                        cond_name(other)
                    )),
                    false,
                );
            }
        };
        let real = matches!(value, Value::Float(_));
        let text = number_or_bool(&value)
            .unwrap_or_else(|| self.fail("the compared value is not a number"));
        (text, real)
    }

    /// An expression over aggregates as a `real` that is null where the
    /// evaluator's has no value: the per-window value a baseline averages or
    /// a percentile ranks.
    pub(super) fn value(&mut self, cond: &Cond, leaves: &Leaves<'_>) -> String {
        let aggregates = leaves.aggregates;
        match cond {
            Cond::Int(value) => format!("real({:?})", *value as f64),
            Cond::Float(value) if value.is_finite() => format!("real({value:?})"),
            Cond::Leaf(Leaf::Aggregate(index)) if *index < aggregates.len() => {
                let aggregate = &aggregates[*index];
                let text = if aggregate.real {
                    aggregate.name.clone()
                } else {
                    as_double(&aggregate.name)
                };
                match &aggregate.count_column {
                    Some((count, _)) => format!("iff({count} > 0, {text}, real(null))"),
                    None => text,
                }
            }
            // A baseline is a `real` column, null where it has no value.
            Cond::Leaf(Leaf::Baseline(index)) if *index < leaves.baselines.len() => {
                leaves.baselines[*index].clone()
            }
            Cond::Arithmetic(op, left, right) => {
                let left = self.value(left, leaves);
                let right = self.value(right, leaves);
                match op {
                    ArithmeticOp::Divide => {
                        format!("iff({right} == 0, real(null), {left} / {right})")
                    }
                    other => format!("({left} {} {right})", arithmetic_symbol(*other)),
                }
            }
            other => self.fail(format!(
                "a {} inside a baseline or percentile has no Kusto translation here",
                cond_name(other)
            )),
        }
    }

    /// The column of an aggregate, named after its function and field
    /// (`DistinctUserId`), numbered after the first of a name.
    pub(super) fn aggregate(
        &mut self,
        aggregate: &plan::Aggregate,
        source: &Source,
        taken: &[AggregateColumn],
    ) -> AggregateColumn {
        let function = aggregate.function;
        let filtered = aggregate.filter.is_some();
        let predicate = match &aggregate.filter {
            Some(filter) => self.predicate(source, filter),
            None => "true".to_string(),
        };
        let base = match &aggregate.field {
            Some(field) => format!("{}{}", capitalised(function.name()), pascal_case(field)),
            None => capitalised(function.name()),
        };
        let mut name = base.clone();
        let mut suffix = 2;
        while taken.iter().any(|column| column.name == name) {
            name = format!("{base}{suffix}");
            suffix += 1;
        }
        let Some(field) = &aggregate.field else {
            return AggregateColumn {
                name,
                expression: if filtered {
                    format!("countif({predicate})")
                } else {
                    "count()".to_string()
                },
                count_column: None,
                real: false,
            };
        };
        let (column, kind) = self.column(field);
        let present = self.presence(field);
        let counted = if filtered {
            format!("{present} and ({predicate})")
        } else {
            present
        };
        let count_column = Some((format!("{name}Values"), format!("countif({counted})")));
        let (expression, count_column) = match function {
            AggregateFunction::Count => (format!("countif({predicate})"), None),
            AggregateFunction::Distinct => (format!("count_distinctif({column}, {counted})"), None),
            AggregateFunction::Sum if kind == "real" || kind == "long" => (
                format!("coalesce(sumif({column}, {counted}), {kind}(0))"),
                None,
            ),
            AggregateFunction::Sum => {
                name = self.fail("`sum` of a field that is not a number");
                (String::new(), None)
            }
            AggregateFunction::Avg => (
                format!("avgif(todouble({column}), {counted})"),
                count_column,
            ),
            AggregateFunction::Min => (format!("minif({column}, {counted})"), count_column),
            AggregateFunction::Max => (format!("maxif({column}, {counted})"), count_column),
        };
        let real = match function {
            AggregateFunction::Avg => true,
            AggregateFunction::Count | AggregateFunction::Distinct => false,
            _ => kind == "real",
        };
        AggregateColumn {
            name,
            expression,
            count_column,
            real,
        }
    }
}

/// The `summarize` terms that gather each baseline's history from a bucket
/// joined with the same group's earlier buckets (`EarlierStart`, and per
/// baseline its value there in the column `earlier`): the first earlier
/// bucket, the sum and number of the values, and the number of earlier
/// buckets with events. With several baselines, each keeps to its own
/// lookback (the join reached back the longest).
pub(super) fn history_terms(
    prefixes: &[String],
    lookbacks: &[String],
    earlier: &[String],
    start: &str,
) -> Vec<String> {
    let mut terms = Vec::new();
    for ((prefix, lookback), value) in prefixes.iter().zip(lookbacks).zip(earlier) {
        if prefixes.len() == 1 {
            terms.push(format!("{prefix}First = min(EarlierStart)"));
            terms.push(format!("{prefix}Sum = sum({value})"));
            terms.push(format!("{prefix}Values = countif(isnotnull({value}))"));
            terms.push(format!("{prefix}Active = count()"));
        } else {
            let inside = format!("EarlierStart >= {start} - {lookback}");
            terms.push(format!("{prefix}First = minif(EarlierStart, {inside})"));
            terms.push(format!("{prefix}Sum = sumif({value}, {inside})"));
            terms.push(format!(
                "{prefix}Values = countif(isnotnull({value}) and {inside})"
            ));
            terms.push(format!("{prefix}Active = countif({inside})"));
        }
    }
    terms
}

/// A baseline's mean over the history [`history_terms`] gathered: with an
/// empty value (0 for `count`, `sum`, `distinct`), the buckets between the
/// first earlier one and this one without events count at that value (the
/// expression of the `PrefixEmpty` column, returned first); without one,
/// only buckets with a value count. Null when no bucket counts.
pub(super) fn baseline_mean(
    prefix: &str,
    empty: Option<f64>,
    start: &str,
    window: &str,
) -> (Option<String>, String) {
    match empty {
        None => (
            None,
            format!("iff({prefix}Values > 0, {prefix}Sum / {prefix}Values, real(null))"),
        ),
        Some(empty) => {
            let sum = if empty == 0.0 {
                format!("{prefix}Sum")
            } else {
                format!("({prefix}Sum + real({empty:?}) * {prefix}Empty)")
            };
            (
                Some(format!(
                    "({start} - {prefix}First) / {window} - {prefix}Active"
                )),
                format!(
                    "iff({prefix}Values + {prefix}Empty > 0, {sum} / ({prefix}Values + {prefix}Empty), real(null))"
                ),
            )
        }
    }
}

/// What a condition node is called in messages.
fn cond_name(cond: &Cond) -> &'static str {
    match cond {
        Cond::Int(_) | Cond::Float(_) | Cond::Bool(_) | Cond::Missing => "literal",
        Cond::Leaf(Leaf::Aggregate(_)) => "aggregate",
        Cond::Leaf(Leaf::Baseline(_)) => "baseline",
        Cond::Leaf(Leaf::Percentile(_)) => "percentile",
        Cond::Arithmetic(..) => "arithmetic",
        Cond::Compare(..) => "comparison",
        Cond::And(_) => "`and`",
        Cond::Or(_) => "`or`",
        Cond::Not(_) => "`not`",
    }
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// The end of a window query: the condition over the closed windows, then
/// the window, its group and value columns.
fn window_query(
    mut text: String,
    test: &str,
    group_columns: Vec<String>,
    value_columns: Vec<String>,
    frequency_ms: i64,
) -> Query {
    text.push_str(&format!("\n| where {test}"));
    let mut projected = vec!["WindowStart".to_string(), "WindowEnd".to_string()];
    projected.extend(group_columns.iter().cloned());
    projected.extend(value_columns.iter().cloned());
    text.push_str(&format!("\n| project {}", projected.join(", ")));
    Query {
        text,
        group_columns,
        value_columns,
        all_columns: false,
        frequency_ms,
        period_ms: 0,
        period_parts: String::new(),
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
    use crate::targets::sentinel_kql::{SentinelKql, TABLE};

    const SCHEMA: &str = r#"
common { timestamp: timestamp required, event_type: string required, app: string, src_ip: ip }
event inference { user_input: string, output: string }
event tool_call { tool_name: string }
lookup pairs { file: "../../../rules/lookups/system_prompt_markers.csv", columns: { app: string, marker: string } }
list shapes: regex = [/\b{start}foo/, /ok/, /\pL{2}/]
"#;

    /// The `where` of a match rule whose detection is `detection`, or the problems.
    fn kql(detection: &str) -> Result<String, Vec<String>> {
        let text = format!(
            "{SCHEMA}\nrule t.r {{\n  title: \"T\"\n  description: \"D\"\n  severity: high\n  category: llm_attack\n  {detection}\n}}\n"
        );
        let mut sources = Sources::new();
        let id = sources.add("src/targets/sentinel_kql/inline.tdl", text.clone());
        let (file, diagnostics) = parse(&text, id);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (pack, diagnostics) = check(&sources, &[(id, file)], &CheckOptions::default());
        let pack = pack.unwrap_or_else(|| panic!("{diagnostics:?}"));
        let mapping = SentinelKql.default_mapping(&pack.schema);
        match rule_query(&pack.rules[0], &pack, &mapping, TABLE) {
            Ok(query) => Ok(query.text.replace("LLMAppEvents_CL\n| where ", "")),
            Err(problems) => Err(problems
                .into_iter()
                .map(|problem| problem.message)
                .collect()),
        }
    }

    #[test]
    fn context_is_sorted_and_projected_and_refused_on_history() {
        let query = kql(
            "match inference\n  group by src_ip within 1h\n  alert when count() >= 2\n  context app, output",
        )
        .unwrap();
        assert!(
            query.contains("App = array_sort_asc(make_set_if(App, isnotempty(App)))"),
            "{query}"
        );
        assert!(
            query.ends_with("| project WindowStart, WindowEnd, SrcIp, Count, App, Output"),
            "{query}"
        );
        let problems = kql(
            "match inference\n  group by src_ip within 1h\n  alert when count() >= 2 * baseline(count(), 1d)\n  context app",
        )
        .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|problem| problem.contains("`context` on a baseline")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_cluster_groups_by_each_band_key_of_the_words() {
        let query = kql(
            "match inference\n  cluster user_input similarity >= 0.8 min_length 120 within 1h\n  alert when count() >= 2 and distinct(app) >= 2",
        )
        .unwrap();
        // Length in code points, words extracted before lowercasing, each word
        // hashed once, 4 bands of the 6 smallest distinct slices.
        assert!(
            query.contains("| where strlen(UserInput) >= 120\n"),
            "{query}"
        );
        assert!(
            query.contains("extract_all(\"([A-Za-z0-9]{3,})\", UserInput)"),
            "{query}"
        );
        assert!(query.contains("| where array_length(Words) > 0"), "{query}");
        assert!(
            query.contains("extend WordHash = hash_md5(tolower(Word))"),
            "{query}"
        );
        assert!(
            query.contains("Band1 = make_set(substring(WordHash, 0, 8))"),
            "{query}"
        );
        assert!(
            query.contains("Band4 = make_set(substring(WordHash, 24, 8))"),
            "{query}"
        );
        assert!(
            query.contains(
                "strcat(\"1:\", strcat_array(array_slice(array_sort_asc(Band1), 0, 5), \"-\"))"
            ),
            "{query}"
        );
        assert!(
            query.contains(
                "strcat(\"4:\", strcat_array(array_slice(array_sort_asc(Band4), 0, 5), \"-\"))"
            ),
            "{query}"
        );
        assert!(
            query.contains("| mv-expand Fingerprint to typeof(string)\n    | summarize"),
            "{query}"
        );
        assert!(
            query.contains(" by Fingerprint, WindowStart = bin_at(TimeGenerated, 1h,"),
            "{query}"
        );
        assert!(
            query.contains("| project WindowStart, WindowEnd, Fingerprint,"),
            "{query}"
        );
        assert!(!query.contains("tolower(UserInput)"), "{query}");
    }

    #[test]
    fn similarity_one_keeps_every_word_in_one_band_and_no_length_test() {
        let query = kql(
            "match inference\n  cluster user_input similarity >= 1.0 min_length 0 within 1h\n  alert when count() >= 2",
        )
        .unwrap();
        assert!(!query.contains("strlen("), "{query}");
        assert!(!query.contains("array_slice"), "{query}");
        assert!(!query.contains("Band2"), "{query}");
        assert!(
            query.contains("strcat(\"1:\", strcat_array(array_sort_asc(Band1), \"-\"))"),
            "{query}"
        );
    }

    #[test]
    fn repeated_long_patterns_are_named_once() {
        let long = format!("\"{}\\\"x\"", "[Aa]".repeat(60));
        let mut texts = [
            format!("A matches regex {long} or B matches regex \"^(?:y)$\""),
            format!("C matches regex {long} and D matches regex \"^(?:y)$\""),
        ];
        let lets = hoist_repeated_patterns(&mut texts);
        assert_eq!(lets, [format!("let Pattern1 = {long};")]);
        assert_eq!(
            texts,
            [
                "A matches regex Pattern1 or B matches regex \"^(?:y)$\"",
                "C matches regex Pattern1 and D matches regex \"^(?:y)$\""
            ]
        );
        // A pattern used once stays in place.
        let mut once = [format!("A matches regex {long}")];
        assert!(hoist_repeated_patterns(&mut once).is_empty());
    }

    #[test]
    fn repeated_patterns_are_named_before_the_statement_that_uses_them() {
        let long = format!("\"{}\"", "[Bb]".repeat(60));
        let text = format!(
            "let Window = 1d;\nlet Events = T\n    | where (N matches regex {long}) or (R matches regex {long});\nEvents\n| count"
        );
        assert_eq!(
            name_repeated_patterns(&text),
            format!(
                "let Window = 1d;\nlet Pattern1 = {long};\nlet Events = T\n    | where (N matches regex Pattern1) or (R matches regex Pattern1);\nEvents\n| count"
            )
        );
        let matching = format!("T\n| where A matches regex {long} or B matches regex {long}");
        assert_eq!(
            name_repeated_patterns(&matching),
            format!(
                "let Pattern1 = {long};\nT\n| where A matches regex Pattern1 or B matches regex Pattern1"
            )
        );
        // Nothing repeated: the text is unchanged.
        let once = format!("T\n| where A matches regex {long}");
        assert_eq!(name_repeated_patterns(&once), once);
    }

    #[test]
    fn string_literals_end_at_the_first_unescaped_quote() {
        assert_eq!(string_literal_length(r#""a\"b" rest"#), Some(6));
        assert_eq!(string_literal_length(r#""a\\" rest"#), Some(5));
        assert_eq!(string_literal_length(r#""open"#), None);
        assert_eq!(string_literal_length("Pattern1"), None);
    }

    #[test]
    fn event_type_is_compared_exactly_against_the_source_types() {
        assert_eq!(
            kql(r#"match inference, tool_call where event_type == "inference" or app == "x""#)
                .unwrap(),
            r#"EventType in ("inference", "tool_call") and ((EventType in ("inference")) or (isnotempty(App) and (App matches regex "(?i)^(?:x)$")))"#
        );
    }

    #[test]
    fn a_negated_narrowed_lookup_is_false_without_its_key() {
        let text = kql("match inference where output not has_any pairs[app].marker").unwrap();
        assert!(
            text.starts_with(
                r#"EventType == "inference" and (isnotempty(Output) and isnotempty(App) and not((App matches regex"#
            ),
            "{text}"
        );
    }

    #[test]
    fn several_case_sensitive_needles_of_a_row_stay_one_operand() {
        let text = kql("match inference where output has_any_cs pairs[app].marker").unwrap();
        assert!(
            text.contains(r#"(App in ("code-assistant") and (Output contains_cs "#),
            "{text}"
        );
        assert_eq!(text.matches("\n    or (App in (").count(), 3, "{text}");
    }

    #[test]
    fn string_operators_on_ip_fields_are_refused() {
        assert_eq!(
            kql(r#"match inference where src_ip startswith "10.""#).unwrap_err(),
            vec!["a string operator on the ip field `src_ip`"]
        );
    }

    #[test]
    fn every_untranslatable_regex_of_a_list_is_reported() {
        let problems = kql("match inference where output matches_any shapes").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with(r"the regex /\b{start}foo/: "));
        assert!(problems[1].starts_with(r"the regex /\pL{2}/: "));
    }

    const STATEFUL_SCHEMA: &str = r#"
common { timestamp: timestamp required, event_type: string required, event_id: string, app: string, api_key_id: string, geo_country: string }
event inference { output_tokens: int, cost_usd: float }
event policy_refusal { reason: string }
"#;

    /// The pack of one rule with `severity` and `detection` over the stateful schema.
    fn stateful_pack(severity: &str, detection: &str) -> ir::Pack {
        let text = format!(
            "{STATEFUL_SCHEMA}\nrule t.s {{\n  title: \"T\"\n  description: \"D\"\n  severity: {severity}\n  category: llm_attack\n  {detection}\n}}\n"
        );
        let mut sources = Sources::new();
        let id = sources.add("src/targets/sentinel_kql/stateful.tdl", text.clone());
        let (file, diagnostics) = parse(&text, id);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (pack, diagnostics) = check(&sources, &[(id, file)], &CheckOptions::default());
        pack.unwrap_or_else(|| panic!("{diagnostics:?}"))
    }

    fn stateful(severity: &str, detection: &str) -> Result<Query, Vec<String>> {
        let pack = stateful_pack(severity, detection);
        let mapping = SentinelKql.default_mapping(&pack.schema);
        rule_query(&pack.rules[0], &pack, &mapping, TABLE).map_err(|problems| {
            problems
                .into_iter()
                .map(|problem| problem.message)
                .collect()
        })
    }

    #[test]
    fn a_long_period_raises_the_frequency_to_an_hour() {
        assert_eq!(frequency(300_000, 7 * 86_400_000), 3_600_000);
        assert_eq!(frequency(300_000, 3_600_000 + LATENESS_MS), 300_000);
        assert_eq!(frequency(86_400_000, 7 * 86_400_000), 86_400_000);
    }

    #[test]
    fn a_baseline_averages_the_groups_earlier_windows_within_its_lookback() {
        let query = stateful(
            "high",
            "match inference\n  group by api_key_id within 1h\n  alert when count() >= 5 * baseline(count(), 7d) and count() >= 100",
        )
        .unwrap();
        // High severity runs every 5m, but a 7d period needs an hourly rule.
        assert_eq!(query.frequency_ms, 3_600_000);
        assert_eq!(
            query.period_ms,
            7 * 86_400_000 + 3_600_000 + 3_600_000 + LATENESS_MS
        );
        for part in [
            "let Lookback = 7d;\nlet Learn = 1d;",
            "let ClosedAfter = ClosedBefore - 1h;",
            "| join kind=inner (Windows\n    | project ApiKeyId, EarlierStart = WindowStart, Earlier = todouble(Count)) on ApiKeyId",
            "| where EarlierStart >= WindowStart - Lookback and EarlierStart < WindowStart",
            "BaselineFirst = min(EarlierStart)",
            "| extend BaselineEmpty = (WindowStart - BaselineFirst) / Window - BaselineActive",
            "BaselineSum / (BaselineValues + BaselineEmpty)",
            "| where WindowStart - BaselineFirst >= Learn",
            "(isnotnull(Baseline) and Count >= (long(5) * Baseline))",
            "| project WindowStart, WindowEnd, ApiKeyId, Count, Baseline",
        ] {
            assert!(query.text.contains(part), "{part}\n---\n{}", query.text);
        }
        assert_eq!(query.value_columns, ["Count", "Baseline"]);
    }

    #[test]
    fn a_ratio_is_divided_as_doubles_and_has_no_value_over_zero() {
        let query = stateful(
            "medium",
            "match inference, policy_refusal\n  group by app within 1h\n  alert when count(where event_type == \"policy_refusal\") / count(where event_type == \"inference\") >= 3.0 * baseline(count(where event_type == \"policy_refusal\") / count(where event_type == \"inference\"), 7d)",
        )
        .unwrap();
        for part in [
            "Earlier = iff(todouble(Count2) == 0, real(null), todouble(Count) / todouble(Count2))",
            // Windows without a ratio are skipped: no empty value.
            "| extend Baseline = iff(BaselineValues > 0, BaselineSum / BaselineValues, real(null))",
            "Count2 != 0 and isnotnull(Baseline) and (todouble(Count) / Count2) >= (real(3.0) * Baseline)",
        ] {
            assert!(query.text.contains(part), "{part}\n---\n{}", query.text);
        }
        assert!(!query.text.contains("BaselineEmpty"), "{}", query.text);
    }

    #[test]
    fn a_percentile_is_the_value_at_an_exact_rank_of_the_windows_groups() {
        let query = stateful(
            "low",
            "match inference\n  group by api_key_id within 7d\n  alert when count() > percentile(count(), 99)",
        )
        .unwrap();
        for part in [
            "let Ranked = Closed\n    | extend RankedValue = todouble(Count)\n    | where isnotnull(RankedValue)\n    | sort by WindowStart asc, RankedValue asc\n    | extend Rank = row_number(0, WindowStart != prev(WindowStart));",
            "| lookup (Ranked | summarize Groups = count() by WindowStart) on WindowStart",
            "| where Rank == tolong(floor((Groups - 1) * 99.0 / 100, 1))",
            "| project WindowStart, Percentile = RankedValue;",
            "Closed\n| lookup kind=leftouter Percentiles on WindowStart",
            "| where isnotnull(Percentile) and Count > Percentile",
        ] {
            assert!(query.text.contains(part), "{part}\n---\n{}", query.text);
        }
        // Kusto's `percentile()` estimates; it must never be used.
        assert!(!query.text.contains("percentile("), "{}", query.text);
        assert!(!query.text.contains("join"), "{}", query.text);
    }

    #[test]
    fn a_new_value_is_first_in_processing_order_for_a_key_with_history() {
        let query = stateful(
            "high",
            "match inference\n  new geo_country for api_key_id lookback 7d",
        )
        .unwrap();
        assert_eq!(query.frequency_ms, 3_600_000);
        assert_eq!(query.period_ms, 7 * 86_400_000 + 3_600_000 + LATENESS_MS);
        for part in [
            "| where isnotempty(ApiKeyId) and isnotempty(GeoCountry));",
            "| sort by ApiKeyId asc, GeoCountry asc, TimeGenerated asc, EventId asc",
            "| extend ValueSeen = iff(ApiKeyId == prev(ApiKeyId) and GeoCountry == prev(GeoCountry), prev(TimeGenerated), datetime(null))",
            "| where TimeGenerated > SeenAfter and TimeGenerated <= SeenBefore",
            "| where isnull(ValueSeen) or ValueSeen < TimeGenerated - Lookback",
            "SeenThroughout = countif(TimeGenerated between ((SeenBefore - Lookback) .. (SeenAfter - Learn)))",
            "| lookup kind=inner KeyHistory on ApiKeyId",
            "| where SeenThroughout > 0 or LastSeenEarly >= TimeGenerated - Lookback or FirstSeenLate <= TimeGenerated - Learn",
        ] {
            assert!(query.text.contains(part), "{part}\n---\n{}", query.text);
        }
        assert_eq!(query.group_columns, ["ApiKeyId", "GeoCountry"]);
        assert!(query.all_columns);
    }

    #[test]
    fn a_new_value_whose_lookback_barely_exceeds_the_learning_period_is_refused() {
        let problems = stateful(
            "medium",
            "match inference\n  new geo_country for api_key_id lookback 24h",
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("the lookback (1d) must exceed the learning period (1d)"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_baseline_longer_than_sentinels_period_is_refused_at_the_baseline() {
        let pack = stateful_pack(
            "low",
            "match inference\n  group by api_key_id within 1d\n  alert when sum(cost_usd) >= 5 * baseline(sum(cost_usd), 30d)",
        );
        let mapping = SentinelKql.default_mapping(&pack.schema);
        let problems = SentinelKql
            .compile_rule(&pack.rules[0], &pack, &mapping)
            .unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.starts_with(
                "each run needs 32d 5m of events (the baseline's 30d lookback, the 1d window, the 1d query frequency and 5m for late events); a Sentinel scheduled rule looks back at most 14d"
            ),
            "{}",
            problems[0].message
        );
        let rule_text = &pack.rules[0];
        assert_ne!(
            problems[0].origin, rule_text.origin,
            "located at the baseline"
        );
    }
}
