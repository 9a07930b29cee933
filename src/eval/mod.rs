//! Eval: the local evaluator, which defines what a rule means.
//!
//! Input: an [`ir::Pack`] and JSON-lines events (files, `.gz` files, stdin, or
//! values in memory). Output: [`Alert`]s, one per line as JSON, in a
//! deterministic order, and a [`Summary`]. Every SIEM target is verified
//! against this module.
//!
//! | file | input | output |
//! | --- | --- | --- |
//! | `input.rs`, `input/parallel.rs` | paths, stdin | lines → parsed events (in groups, by parser threads), merged in time order |
//! | `projection.rs` | one line, the [`Projection`] | an [`Event`] (the filters' results and the fields the shapes read) or a line error |
//! | `event.rs` | an [`Event`] | its fields' values, its filters' results, its processing order |
//! | `scan.rs` | one line | its keys' values in slots (the fast path of `projection.rs`) |
//! | `fold.rs` | text | its case-insensitive and whitespace-folded variants |
//! | `reorder.rs` | one input's events | the same in time order, within the lateness |
//! | `compile.rs` | IR expressions, lists, lookups | predicates, automata, conditions |
//! | `expr.rs` | a predicate, an event | true or false |
//! | `literals.rs` | a regex list | a `RegexSet` behind a prefilter of the literals every match contains |
//! | `ahead.rs` | the filters, a group of parsed events | the regex-list tests every event of a type runs, read for the whole group at once |
//! | `lanes.rs` | a regex list, several texts | whether each matches, read side by side through one lazy DFA |
//! | `condition.rs` | aggregate states | aggregate values, the `alert when` truth |
//! | `window.rs`, `cluster.rs`, `sequence.rs`, `new_value.rs` | events of one rule | raised alerts |
//! | `engine.rs` | events in time order | alerts in raising order |
//! | `panel.rs` | a dashboard, events | each panel's rows (the preview's data) |
//! | `output.rs` | alerts | JSON lines, a summary table |
//!
//! # Order and lateness
//!
//! Events are evaluated in timestamp order. Each input passes through a
//! reorder buffer bounded by the lateness (`--lateness`, default 5m): an event
//! is held until the latest timestamp seen in its input is at least the
//! lateness past it, then released in (timestamp, line) order. An event older
//! than (latest timestamp seen − lateness) cannot be placed: it is an error
//! (E0515) naming its file and line, or, with `--skip-invalid`, counted and
//! skipped. Several inputs are each reordered, then merged by timestamp (ties by
//! the order the inputs were given). Memory for reordering is bounded by the
//! events of one lateness span.
//!
//! # Bad input
//!
//! A line that is not a JSON object (E0510), a field whose value does not have
//! its declared type for the event's type (E0511; an integral float is accepted
//! for an `int`, a number is never read from a string), a missing or
//! unparsable `timestamp` (E0512), a missing `event_type` (E0513), or a
//! missing required field (E0514) stops the run with a diagnostic naming
//! `path:line`, unless `skip_invalid` is set, in which case the line is skipped
//! and counted by reason in the [`Summary`]. Blank lines are not events. An
//! `event_type` the schema does not declare is not an error: no rule reads it,
//! and it only advances time. Every field the schema declares is type-checked
//! whether or not a loaded rule reads it; fields it does not declare are skipped.
//!
//! # Time
//!
//! Timestamps are RFC 3339, truncated to milliseconds. Windows are tumbling
//! and epoch-aligned: an event at `t` belongs to the window starting at
//! `t - t mod length`, so an event exactly at a window's end starts the next
//! window. A window closes when the first event at or past its end is
//! evaluated, or at the end of the input; its alerts are raised at its end.
//!
//! # Learning period
//!
//! A new-value event alerts only when its key was seen inside the lookback
//! at least `learn_ms` (default 24h) before it. A baseline window alerts
//! only when the group's own history (its first window inside the lookback)
//! reaches back at least `learn_ms` before it. Neither depends on where the
//! input starts.
//!
//! # Case and whitespace
//!
//! Case-insensitive operators compare Unicode-lowercased text; those with
//! whitespace folding also replace every run of space, tab, line feed,
//! carriage return, vertical tab and form feed with one space, on both sides
//! (nothing is trimmed). The variants of a field are computed once per event,
//! and only for the fields such operators read. Regexes see the text as
//! written. Empty cells of a lookup column are not needles.
//!
//! # Alert order
//!
//! Alerts are released in the order they are raised in event time (match,
//! sequence and new-value alerts at their event's time, window and cluster
//! alerts at their window's end), ties broken by rule id, then by the group's
//! JSON text, then by the order of the events. The same input gives the same
//! output with any number of threads.

mod ahead;
mod cluster;
mod compile;
mod condition;
mod engine;
mod error;
mod event;
mod expr;
pub(crate) mod fold;
mod group;
mod input;
mod lanes;
mod literals;
mod new_value;
mod output;
pub mod panel;
mod projection;
mod reorder;
mod scan;
mod sequence;
mod state;
mod time;
mod window;

use std::io;

/// The cluster fingerprint's fast path, public for `benches/cluster.rs`.
#[doc(hidden)]
pub use cluster::Fingerprinter;
pub use engine::Engine;
pub use error::{EvalError, LineError, LineErrorKind, Summary};
pub use event::Event;
pub use input::Input;
pub use output::{Alert, TableCollector, write_json_line};
pub use projection::{Projection, Scratch};
pub use time::parse_duration;

use crate::ir;

/// Milliseconds in an hour.
const HOUR_MS: i64 = 3_600_000;

/// How to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalOptions {
    /// The learning period: how old a new-value key's or a baseline group's history must be.
    pub learn_ms: i64,
    /// How far out of order an input may be.
    pub lateness_ms: i64,
    /// How many event ids an alert lists before `truncated`.
    pub max_event_ids: usize,
    /// The rule ids to evaluate; empty means all.
    pub rules: Vec<String>,
    /// Threads: 1 reads and parses on the evaluating thread; N >= 2 adds N - 1 threads per
    /// input that read and parse batches of lines, which the evaluating thread also parses
    /// when it would otherwise wait. The alerts are the same with any N.
    pub threads: usize,
    /// Skip bad lines (counting them) instead of stopping.
    pub skip_invalid: bool,
    /// The longest line accepted, in bytes (without its line break); a longer
    /// line is a bad line (E0519) and is skipped without being held whole in
    /// memory.
    pub max_line_bytes: usize,
    /// Counters a progress display reads while the run goes on.
    pub progress: Option<ProgressHandle>,
}

/// The default line limit: 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;

/// What a run has done so far, updated as it goes (relaxed atomics: a
/// display reads them from another thread).
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read from the inputs (before decompression).
    pub bytes: std::sync::atomic::AtomicU64,
    /// Event lines read.
    pub events: std::sync::atomic::AtomicU64,
}

/// A shared [`Progress`]; two handles are equal when they share the counters.
#[derive(Debug, Clone, Default)]
pub struct ProgressHandle(pub std::sync::Arc<Progress>);

impl PartialEq for ProgressHandle {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProgressHandle {}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            learn_ms: 24 * HOUR_MS,
            lateness_ms: 5 * 60_000,
            max_event_ids: 100,
            rules: Vec::new(),
            threads: 1,
            skip_invalid: false,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            progress: None,
        }
    }
}

/// Evaluates events held in memory (in any order: they are sorted by
/// timestamp, stably, first), for the test runner. Bad events are errors
/// naming `<events>:N` (N from 1), or skipped with `skip_invalid`.
pub fn evaluate_values(
    pack: &ir::Pack,
    events: &[serde_json::Value],
    options: &EvalOptions,
) -> Result<Vec<Alert>, EvalError> {
    const NAME: &str = "<events>";
    let mut engine = Engine::new(pack, options)?;
    engine.set_input_names(vec![NAME.to_string()]);
    let projection = engine.projection();
    let mut parsed = Vec::with_capacity(events.len());
    let mut scratch = Scratch::default();
    for (index, value) in events.iter().enumerate() {
        let line = serde_json::to_string(value).unwrap_or_default();
        match projection.parse_line(&line, 0, index as u64 + 1, &mut scratch) {
            Ok(Some(event)) => parsed.push(event),
            Ok(None) => {}
            Err(error) if options.skip_invalid => {
                let _ = error;
            }
            Err(error) => return Err(EvalError::Input(Box::new(error.to_diagnostic(NAME)))),
        }
    }
    parsed.sort_by(event::processing_order);
    let mut alerts = Vec::new();
    let mut sink = |alert: &Alert| -> io::Result<()> {
        alerts.push(alert.clone());
        Ok(())
    };
    for event in &parsed {
        engine.process(event, &mut sink).map_err(EvalError::Write)?;
    }
    engine.finish(&mut sink).map_err(EvalError::Write)?;
    Ok(alerts)
}

/// Streams events from the inputs through the rules, calling `out` for each
/// alert in order; returns the run's counts.
pub fn run(
    pack: &ir::Pack,
    inputs: &[Input],
    options: &EvalOptions,
    out: &mut dyn FnMut(&Alert) -> io::Result<()>,
) -> Result<Summary, EvalError> {
    let mut engine = Engine::new(pack, options)?;
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    engine.set_input_names(names.clone());
    let projection = engine.projection();
    std::thread::scope(|scope| {
        let mut merged = input::Merged::open(
            scope,
            inputs,
            &projection,
            &input::ReadOptions {
                threads: options.threads,
                lateness: options.lateness_ms,
                max_line: options.max_line_bytes,
                progress: options.progress.clone(),
            },
        )?;
        let mut summary = Summary::default();
        // Reading a stream, alerts go out as soon as they are final: after
        // each line, event time moves up to what the inputs can still bring.
        let live = inputs.iter().any(Input::is_live);
        while let Some((index, item)) = merged.next()? {
            match item {
                input::Item::Event(event) => {
                    summary.events_read += 1;
                    if let Some(progress) = &options.progress {
                        progress
                            .0
                            .events
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    if !engine.process(&event, out).map_err(EvalError::Write)? {
                        summary.events_ignored += 1;
                    }
                }
                input::Item::Bad(error) => {
                    let name = names.get(index).map_or("<input>", String::as_str);
                    let diagnostic = error.to_diagnostic(name);
                    if options.skip_invalid {
                        summary.record_skip(diagnostic, error.kind.reason());
                    } else {
                        return Err(EvalError::Input(Box::new(diagnostic)));
                    }
                }
            }
            if live
                && let Some(floor) = merged.floor()
                && floor < i64::MAX
            {
                engine.advance(floor, out).map_err(EvalError::Write)?;
            }
        }
        engine.finish(out).map_err(EvalError::Write)?;
        summary.alerts = engine.alert_counts().clone();
        Ok(summary)
    })
}
