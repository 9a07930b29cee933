//! Rendering at the edge: rustc-like text, or one JSON object per diagnostic.

use codespan_reporting::diagnostic as codespan;
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;
use serde_json::json;
use termcolor::{Ansi, NoColor, WriteColor};

use super::{Diagnostic, Level};
use crate::source::Sources;

/// Whether to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// ANSI colours.
    Always,
    /// Plain text.
    Never,
}

/// Renders diagnostics as rustc-style text.
pub fn render_human(diagnostics: &[Diagnostic], sources: &Sources, color: ColorMode) -> String {
    render_with(diagnostics, sources, color, term::DisplayStyle::Rich)
}

/// Renders diagnostics one line each (`path:line:column: error[CODE]: message`),
/// for commands that report many findings of one kind.
pub fn render_short(diagnostics: &[Diagnostic], sources: &Sources, color: ColorMode) -> String {
    render_with(diagnostics, sources, color, term::DisplayStyle::Short)
}

fn render_with(
    diagnostics: &[Diagnostic],
    sources: &Sources,
    color: ColorMode,
    style: term::DisplayStyle,
) -> String {
    let mut files = SimpleFiles::new();
    let ids: Vec<usize> = sources
        .iter()
        .map(|(_, file)| files.add(file.path.clone(), file.text.clone()))
        .collect();
    let config = term::Config {
        display_style: style,
        ..term::Config::default()
    };
    let mut out = Vec::new();
    {
        let mut writer: Box<dyn WriteColor> = match color {
            ColorMode::Always => Box::new(Ansi::new(&mut out)),
            ColorMode::Never => Box::new(NoColor::new(&mut out)),
        };
        for diagnostic in diagnostics {
            let converted = to_codespan(diagnostic, &ids);
            if term::emit(&mut *writer, &config, &files, &converted).is_err() {
                // A span outside its file is a compiler bug; fall back to one line.
                let _ = writeln!(
                    writer,
                    "{}[{}]: {}",
                    level_word(diagnostic.level),
                    diagnostic.code.as_str(),
                    diagnostic.message
                );
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

use std::io::Write as _;

fn level_word(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
    }
}

fn to_codespan(diagnostic: &Diagnostic, ids: &[usize]) -> codespan::Diagnostic<usize> {
    let base = match diagnostic.level {
        Level::Error => codespan::Diagnostic::error(),
        Level::Warning => codespan::Diagnostic::warning(),
    };
    let mut message = diagnostic.message.clone();
    if diagnostic.labels.is_empty()
        && let Some(file) = &diagnostic.file
        && !message.starts_with(file.as_str())
    {
        message = format!("{file}: {message}");
    }
    let labels = diagnostic
        .labels
        .iter()
        .filter_map(|label| {
            let id = *ids.get(label.span.source.0 as usize)?;
            let range = label.span.start as usize..label.span.end as usize;
            let made = if label.primary {
                codespan::Label::primary(id, range)
            } else {
                codespan::Label::secondary(id, range)
            };
            Some(made.with_message(label.message.clone()))
        })
        .collect();
    let notes = diagnostic
        .notes
        .iter()
        .map(|note| format!("note: {note}"))
        .chain(diagnostic.help.iter().map(|help| format!("help: {help}")))
        .collect();
    base.with_code(diagnostic.code.as_str())
        .with_message(message)
        .with_labels(labels)
        .with_notes(notes)
}

/// Renders diagnostics as JSON lines: one object per diagnostic with its code,
/// level, message, primary location, labels, notes and help.
pub fn render_json(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let labels: Vec<_> = diagnostic
            .labels
            .iter()
            .map(|label| {
                let (file, start, end) = match sources.get(label.span.source) {
                    Some(file) => (
                        file.path.clone(),
                        file.line_column(label.span.start as usize),
                        file.line_column(label.span.end as usize),
                    ),
                    None => (String::new(), Default::default(), Default::default()),
                };
                json!({
                    "file": file,
                    "line": start.line,
                    "column": start.column,
                    "end_line": end.line,
                    "end_column": end.column,
                    "message": label.message,
                    "primary": label.primary,
                })
            })
            .collect();
        let primary = labels
            .iter()
            .find(|label| label["primary"] == true)
            .cloned();
        let value = json!({
            "code": diagnostic.code.as_str(),
            "level": level_word(diagnostic.level),
            "message": diagnostic.message,
            "file": primary.as_ref().map(|label| label["file"].clone()).or(diagnostic.file.clone().map(Into::into)),
            "line": primary.as_ref().map(|label| label["line"].clone()),
            "column": primary.as_ref().map(|label| label["column"].clone()),
            "labels": labels,
            "notes": diagnostic.notes,
            "help": diagnostic.help,
        });
        out.push_str(&value.to_string());
        out.push('\n');
    }
    out
}
