//! The command line's shared plumbing: global flags, loading a pack with its
//! diagnostics rendered, exit codes. Each command lives in its own file.
//!
//! Exit codes are a contract with CI scripts: 0 success, 1 findings (rule
//! errors, failed tests, bad input lines), 2 usage or I/O problems.

pub mod check;
pub mod compile;
pub mod dashboard;
pub mod docs;
pub mod eval;
pub mod explain;
pub mod fmt;
pub mod ir;
pub mod normalize;
mod progress;
pub mod scaffold;
pub mod schema;
pub mod test;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;

use crate::diagnostics::{self, ColorMode, Diagnostic};
use crate::ir::Pack;
use crate::project::{self, LoadOptions, Project};
use crate::source::Sources;

/// Success.
pub const EXIT_OK: u8 = 0;
/// Findings: rule errors, failed tests, invalid input lines.
pub const EXIT_FINDINGS: u8 = 1;
/// Usage or I/O problems.
pub const EXIT_USAGE: u8 = 2;

/// How diagnostics and reports are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum MessageFormat {
    /// rustc-like text.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// When stderr is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Flags every command shares.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    /// Diagnostics as text or JSON.
    pub message_format: MessageFormat,
    /// Colour for human output.
    pub color: ColorMode,
}

impl Global {
    /// Resolves `--color auto` against the terminal and `NO_COLOR`.
    pub fn new(message_format: MessageFormat, color: ColorChoice) -> Self {
        let color = match color {
            ColorChoice::Always => ColorMode::Always,
            ColorChoice::Never => ColorMode::Never,
            ColorChoice::Auto => {
                if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
                    ColorMode::Always
                } else {
                    ColorMode::Never
                }
            }
        };
        Global {
            message_format,
            color,
        }
    }

    /// Prints diagnostics to stderr in the chosen format.
    pub fn report(&self, diagnostics: &[Diagnostic], sources: &Sources) {
        let rendered = match self.message_format {
            MessageFormat::Human => diagnostics::render_human(diagnostics, sources, self.color),
            MessageFormat::Json => diagnostics::render_json(diagnostics, sources),
        };
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(rendered.as_bytes());
    }

    /// Prints diagnostics one line each (human) or as JSON lines.
    pub fn report_short(&self, diagnostics: &[Diagnostic], sources: &Sources) {
        let rendered = match self.message_format {
            MessageFormat::Human => diagnostics::render_short(diagnostics, sources, self.color),
            MessageFormat::Json => diagnostics::render_json(diagnostics, sources),
        };
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(rendered.as_bytes());
    }

    /// Prints one diagnostic that has no source (I/O, usage).
    pub fn report_one(&self, diagnostic: Diagnostic) {
        self.report(&[diagnostic], &Sources::new());
    }
}

/// Where the rules are, for the commands that once took them only as
/// `--rules PATH`: `tripline eval rules --events x` reads as `check`, `test`
/// and `compile` do, and `--rules PATH` still works for existing scripts.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PackPaths {
    /// Rule directories, `.tdl` files or content repositories (default: `tripline.yaml` here, else `rules`).
    #[arg(value_name = "PATH")]
    positional: Vec<PathBuf>,
    /// The same as a positional PATH (the older spelling, kept).
    #[arg(long = "rules", value_name = "PATH")]
    flagged: Vec<PathBuf>,
}

impl PackPaths {
    /// The paths, positional ones first.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.positional
            .iter()
            .chain(&self.flagged)
            .cloned()
            .collect()
    }
}

/// The options every command that loads rules accepts.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RulesArgs {
    /// `--param NAME=VALUE`: overrides a rule pack parameter.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Reads each lookup from `DIR/<lookup name>.csv` instead of its declared file.
    #[arg(long, value_name = "DIR")]
    pub lookups: Option<PathBuf>,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

/// Loads and checks, printing diagnostics. Returns the project when the pack
/// checked without errors (warnings are printed), or the exit code to return.
pub fn load_project(
    paths: &[PathBuf],
    rules: &RulesArgs,
    global: &Global,
) -> Result<Project, ExitCode> {
    let options = LoadOptions {
        paths: paths.to_vec(),
        params: rules.params.clone(),
        lookup_dir: rules.lookups.clone(),
    };
    let project = match project::load(&options) {
        Ok(project) => project,
        Err(diagnostic) => {
            global.report_one(diagnostic);
            return Err(ExitCode::from(EXIT_USAGE));
        }
    };
    let diagnostics = project.diagnostics.clone().into_sorted();
    global.report(&diagnostics, &project.sources);
    if project.pack.is_none() {
        let errors = diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.is_error())
            .count();
        if global.message_format == MessageFormat::Human {
            eprintln!(
                "error: the rules have {errors} error{}; fix them first",
                plural(errors)
            );
        }
        return Err(ExitCode::from(EXIT_FINDINGS));
    }
    Ok(project)
}

/// Loads and checks, returning the sources and the pack (see [`load_project`]).
pub fn load_pack(
    paths: &[PathBuf],
    rules: &RulesArgs,
    global: &Global,
) -> Result<(Sources, Pack), ExitCode> {
    let project = load_project(paths, rules, global)?;
    match project.pack {
        Some(pack) => Ok((project.sources, pack)),
        None => Err(ExitCode::from(EXIT_FINDINGS)),
    }
}

pub use crate::words::plural;

/// Prints, for human output, the rules `disable:` left out and why
/// (`check` and `compile` say so, so a left-out rule is never a surprise).
/// With `--message-format json`, each is a JSON line shaped like a
/// diagnostic (`"level": "note"`, no code) at its `disable:` key, with the
/// `rule_id` and `reason`.
pub fn report_disabled(project: &Project, global: &Global) {
    let mut stderr = std::io::stderr().lock();
    for rule in &project.disabled {
        let place = project
            .sources
            .get(rule.config)
            .map(|file| file.path.clone())
            .unwrap_or_default();
        let message = format!("rule `{}` is disabled by {place}: {}", rule.id, rule.reason);
        if global.message_format == MessageFormat::Human {
            let _ = writeln!(stderr, "note: {message}");
            continue;
        }
        let at = project::yaml_key_span(&project.sources, rule.config, &["disable", &rule.id])
            .and_then(|span| {
                let file = project.sources.get(span.source)?;
                Some(file.line_column(span.start as usize))
            });
        let value = serde_json::json!({
            "code": null,
            "level": "note",
            "message": message,
            "file": place,
            "line": at.as_ref().map(|at| at.line),
            "column": at.as_ref().map(|at| at.column),
            "labels": [],
            "notes": [],
            "help": [],
            "rule_id": rule.id,
            "reason": rule.reason,
        });
        let _ = writeln!(stderr, "{value}");
    }
    for dashboard in &project.disabled_dashboards {
        let place = project
            .sources
            .get(dashboard.config)
            .map(|file| file.path.clone())
            .unwrap_or_default();
        let _ = writeln!(
            stderr,
            "note: dashboard `{}` is disabled by {place}: {}",
            dashboard.id, dashboard.reason
        );
    }
}

/// Prints a JSON document to stdout, or writes it to `out` atomically.
pub fn emit_json(value: &serde_json::Value, out: Option<&std::path::Path>) -> ExitCode {
    let text = match serde_json::to_string_pretty(value) {
        Ok(text) => text + "\n",
        Err(error) => {
            eprintln!("error: cannot serialise the output: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match out {
        Some(path) => {
            if let Err(error) = write_atomically(path, text.as_bytes()) {
                eprintln!("error: cannot write `{}`: {error}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        }
        None => write_stdout(&text),
    }
    ExitCode::from(EXIT_OK)
}

/// Writes `text` to standard output. A reader that went away (`tripline ir
/// --all | head`) is not an error of ours: the rest is dropped quietly, as
/// other command-line tools do, instead of the panic of `print!`.
pub fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Whether a failed write only means that the reader went away (`| head`).
/// Commands that write whole documents drop such errors in
/// [`write_stdout`]; the streaming ones (`eval`, `normalize`) stop at the
/// first one and end as if their input had ended: exit 0, nothing on stderr.
pub fn reader_went_away(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe
}

/// Writes a JSON document, pretty-printed, to a file atomically.
pub fn write_json_file(path: &std::path::Path, value: &serde_json::Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)? + "\n";
    write_atomically(path, text.as_bytes())
}

/// Writes `text` to a file atomically (a temporary file renamed into place),
/// so a failed run never leaves a partial artifact.
pub fn write_atomically(path: &std::path::Path, text: &[u8]) -> std::io::Result<()> {
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    if let Some(directory) = directory {
        std::fs::create_dir_all(directory)?;
    }
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
