//! Diagnostics as data: produced by every stage, rendered once at the edge.
//!
//! Input: [`Diagnostic`] values collected by the syntax, check and input stages.
//! Output: text rendered like rustc (colour only on a terminal) or JSON lines
//! (`--message-format json`). Codes come from one registry ([`codes`]) and are
//! never reused; `tripline explain CODE` prints their long explanations.

pub mod codes;
mod render;
pub mod sarif;
pub mod suggest;

use serde::Serialize;

pub use codes::{Code, CodeInfo};
pub use render::{ColorMode, render_human, render_json, render_short};

use crate::source::Span;

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Fails the run.
    Error,
    /// Reported; fails only with `--deny-warnings`.
    Warning,
}

/// A span with a message under it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there (may be empty).
    pub message: String,
    /// The primary label is the place the diagnostic is about.
    pub primary: bool,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Stable code from the registry.
    pub code: Code,
    /// Error or warning (from the registry).
    pub level: Level,
    /// One-line statement of the fact.
    pub message: String,
    /// Places in the source.
    pub labels: Vec<Label>,
    /// `note:` lines: facts that explain.
    pub notes: Vec<String>,
    /// `help:` lines: what would likely fix it.
    pub help: Vec<String>,
    /// A file the diagnostic is about when there is no span (a CSV, a JSONL line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Diagnostic {
    /// A new diagnostic with the level the registry gives its code.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            level: code.level(),
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: Vec::new(),
            file: None,
        }
    }

    /// Adds the primary label.
    pub fn primary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Adds a secondary label.
    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    /// Adds a `note:` line.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Adds a `help:` line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    /// Names a file the diagnostic is about (for input errors without a span).
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }

    /// The primary span, if any.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|label| label.primary)
            .map(|label| label.span)
    }
}

/// The diagnostics of one run, in the order found.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Self {
        Diagnostics::default()
    }

    /// Adds one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Adds many.
    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(diagnostics);
    }

    /// Whether any is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|item| item.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// All of them.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sorted by file and position, for stable output; duplicates removed.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|item| {
            let span = item.primary_span();
            (
                item.file.clone(),
                span.map(|span| (span.source, span.start)),
                item.code,
            )
        });
        self.items.dedup();
        self.items
    }
}
