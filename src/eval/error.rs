//! Evaluator errors and the run summary.
//!
//! Input: what went wrong with a line or a file. Output: [`EvalError`], which
//! carries a [`Diagnostic`] (codes E0510..E0517) naming `path:line`, so the CLI
//! renders it like every other error; and [`Summary`], the counts of a run.

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use crate::diagnostics::{Code, Diagnostic};
use crate::ir::ValueType;

use super::time;

/// What is wrong with one event line.
#[derive(Debug, Clone, PartialEq)]
pub enum LineErrorKind {
    /// Not a JSON object (the parser's message).
    NotJson(String),
    /// Not UTF-8 text.
    NotUtf8,
    /// No `event_type` (absent or null).
    MissingEventType,
    /// `event_type` is not a string.
    EventTypeNotText(&'static str),
    /// No `timestamp`.
    MissingTimestamp,
    /// A `timestamp` that is not RFC 3339 text (the text, or the JSON kind found).
    BadTimestamp(String),
    /// A field whose value does not have the schema's type.
    WrongType {
        /// Field name.
        field: String,
        /// The event's type.
        event_type: String,
        /// The declared type.
        expected: ValueType,
        /// What the line holds.
        found: String,
    },
    /// A required field is absent.
    MissingRequired {
        /// Field name.
        field: String,
        /// The event's type.
        event_type: String,
    },
    /// The line is longer than the line limit (in bytes).
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// The event is older than the latest timestamp seen minus the lateness bound.
    TooLate {
        /// The event's time (epoch milliseconds).
        time: i64,
        /// The latest time seen before it.
        latest: i64,
        /// The lateness bound in milliseconds.
        lateness: i64,
    },
}

impl LineErrorKind {
    /// The diagnostic code of this kind of error.
    pub fn code(&self) -> Code {
        match self {
            LineErrorKind::NotJson(_) | LineErrorKind::NotUtf8 => Code::EVENT_NOT_JSON,
            LineErrorKind::WrongType { .. } => Code::EVENT_FIELD_TYPE,
            LineErrorKind::MissingTimestamp | LineErrorKind::BadTimestamp(_) => {
                Code::EVENT_TIMESTAMP
            }
            LineErrorKind::MissingEventType | LineErrorKind::EventTypeNotText(_) => {
                Code::EVENT_TYPE_MISSING
            }
            LineErrorKind::MissingRequired { .. } => Code::EVENT_REQUIRED_FIELD,
            LineErrorKind::TooLate { .. } => Code::EVENT_TOO_LATE,
            LineErrorKind::TooLong { .. } => Code::EVENT_LINE_TOO_LONG,
        }
    }

    /// A short name of the reason, for skip counts.
    pub fn reason(&self) -> &'static str {
        match self {
            LineErrorKind::NotJson(_) | LineErrorKind::NotUtf8 => "not JSON",
            LineErrorKind::WrongType { .. } => "wrong field type",
            LineErrorKind::MissingTimestamp | LineErrorKind::BadTimestamp(_) => "bad timestamp",
            LineErrorKind::MissingEventType | LineErrorKind::EventTypeNotText(_) => {
                "missing event_type"
            }
            LineErrorKind::MissingRequired { .. } => "missing required field",
            LineErrorKind::TooLate { .. } => "later than the lateness bound",
            LineErrorKind::TooLong { .. } => "longer than the line limit",
        }
    }
}

impl fmt::Display for LineErrorKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineErrorKind::NotJson(message) => {
                write!(formatter, "the line is not a JSON object: {message}")
            }
            LineErrorKind::NotUtf8 => write!(formatter, "the line is not UTF-8 text"),
            LineErrorKind::MissingEventType => write!(formatter, "the event has no `event_type`"),
            LineErrorKind::EventTypeNotText(kind) => {
                write!(formatter, "`event_type` is {kind}, not a string")
            }
            LineErrorKind::MissingTimestamp => write!(formatter, "the event has no `timestamp`"),
            LineErrorKind::BadTimestamp(found) => {
                write!(
                    formatter,
                    "`timestamp` is not an RFC 3339 timestamp: {found}"
                )
            }
            LineErrorKind::WrongType {
                field,
                event_type,
                expected,
                found,
            } => write!(
                formatter,
                "`{field}` of the `{event_type}` event is declared `{}`, but the line has {found}",
                expected.name()
            ),
            LineErrorKind::MissingRequired { field, event_type } => {
                write!(
                    formatter,
                    "the `{event_type}` event lacks the required field `{field}`"
                )
            }
            LineErrorKind::TooLong { limit } => write!(
                formatter,
                "the line is longer than the limit of {limit} bytes"
            ),
            LineErrorKind::TooLate {
                time,
                latest,
                lateness,
            } => write!(
                formatter,
                "the event at {} is more than {} older than the latest event seen ({})",
                time::format_millis(*time),
                time::format_duration(*lateness),
                time::format_millis(*latest)
            ),
        }
    }
}

/// A bad line: its number (from 1) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// Line number, from 1.
    pub line: u64,
    /// What is wrong.
    pub kind: LineErrorKind,
}

impl LineError {
    /// The diagnostic for this line of `path`.
    pub fn to_diagnostic(&self, path: &str) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(
            self.kind.code(),
            format!("{path}:{}: {}", self.line, self.kind),
        )
        .in_file(path);
        match &self.kind {
            LineErrorKind::TooLate { .. } => {
                diagnostic = diagnostic
                    .note("events are reordered in a buffer bounded by the lateness; older events cannot be placed")
                    .help("sort the input by timestamp, or raise the bound with `--lateness`");
            }
            LineErrorKind::MissingEventType | LineErrorKind::MissingTimestamp => {
                diagnostic = diagnostic.note("every event needs `timestamp` and `event_type`");
            }
            LineErrorKind::TooLong { .. } => {
                diagnostic = diagnostic
                    .note("a line is read up to the limit and the rest is skipped, so one huge line cannot exhaust memory")
                    .help("raise the limit with `--max-line-bytes` if such events are genuine");
            }
            _ => {}
        }
        diagnostic.help("`--skip-invalid` skips bad lines and counts them")
    }
}

/// Why an evaluation stopped.
#[derive(Debug)]
pub enum EvalError {
    /// A bad event line or an out-of-order event (exit code 1).
    Input(Box<Diagnostic>),
    /// An events file that cannot be opened or read, or an option naming
    /// something that does not exist (exit code 2).
    Usage(Box<Diagnostic>),
    /// Writing alerts failed (exit code 2).
    Write(io::Error),
}

impl EvalError {
    /// The diagnostic to render, if the error has one.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            EvalError::Input(diagnostic) | EvalError::Usage(diagnostic) => Some(diagnostic),
            EvalError::Write(_) => None,
        }
    }

    /// The process exit code: 1 for bad input, 2 for usage and I/O problems.
    pub fn exit_code(&self) -> u8 {
        match self {
            EvalError::Input(_) => 1,
            EvalError::Usage(_) | EvalError::Write(_) => 2,
        }
    }

    pub(crate) fn read(path: &str, error: &io::Error) -> EvalError {
        EvalError::Usage(Box::new(
            Diagnostic::new(
                Code::EVENT_INPUT_UNREADABLE,
                format!("{path}: cannot read events: {error}"),
            )
            .in_file(path),
        ))
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Input(diagnostic) | EvalError::Usage(diagnostic) => {
                write!(
                    formatter,
                    "{}: {}",
                    diagnostic.code.as_str(),
                    diagnostic.message
                )
            }
            EvalError::Write(error) => write!(formatter, "cannot write alerts: {error}"),
        }
    }
}

impl std::error::Error for EvalError {}

/// The counts of one run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Valid events read (every type, evaluated or not).
    pub events_read: u64,
    /// Valid events whose type no loaded rule reads.
    pub events_ignored: u64,
    /// Skipped lines by reason (with `--skip-invalid`).
    pub skipped: BTreeMap<String, u64>,
    /// The first few skipped lines' diagnostics, in input order.
    #[serde(skip)]
    pub first_skipped: Vec<Diagnostic>,
    /// Alerts raised per rule id (rules without alerts included, with 0).
    pub alerts: BTreeMap<String, u64>,
}

impl Summary {
    /// Total lines skipped.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Total alerts.
    pub fn alerts_total(&self) -> u64 {
        self.alerts.values().sum()
    }

    pub(crate) fn record_skip(&mut self, diagnostic: Diagnostic, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
        if self.first_skipped.len() < 10 {
            self.first_skipped.push(diagnostic);
        }
    }
}
