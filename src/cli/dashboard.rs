//! `tripline dashboard preview`: a dashboard drawn from sample events as one
//! static HTML page, so a reviewer sees the panels before deploying them.
//!
//! Input: the pack (its dashboards), JSON-lines event files, `--out DIR`
//! and/or `--json FILE`.
//! Output: `DIR/index.html` and/or FILE, each panel's rows as JSON (each
//! written whole or not at all), a one-line
//! summary on stderr, and an exit code: 0 when the page was written, 1 for
//! rule errors or a bad event line (without `--skip-invalid`), 2 for usage
//! and I/O problems (no such dashboard, an unreadable events file).

use std::path::PathBuf;
use std::process::ExitCode;

use super::{EXIT_OK, EXIT_USAGE, Global, MessageFormat, PackPaths, RulesArgs, load_pack, plural};
use crate::diagnostics::{Code, Diagnostic};
use crate::eval::{self, EvalOptions, Input};
use crate::ir::Pack;
use crate::ir::dashboard::Dashboard;

/// Arguments of `dashboard`.
#[derive(Debug, Clone, clap::Args)]
pub struct DashboardArgs {
    /// What to do with a dashboard.
    #[command(subcommand)]
    pub action: DashboardAction,
}

/// What `dashboard` does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DashboardAction {
    /// Draws a dashboard from sample events as one self-contained HTML page (`DIR/index.html`).
    Preview(PreviewArgs),
}

fn duration(text: &str) -> Result<i64, String> {
    eval::parse_duration(text)
        .ok_or_else(|| format!("`{text}` is not a duration such as 90s, 10m, 24h or 7d"))
}

/// Arguments of `dashboard preview`.
#[derive(Debug, Clone, clap::Args)]
pub struct PreviewArgs {
    /// Where the rules and dashboards are.
    #[command(flatten)]
    pub paths: PackPaths,
    /// Overrides (`--param`, `--lookups`).
    #[command(flatten)]
    pub rules: RulesArgs,
    /// JSON-lines event files (`.gz` and `.zst` are decompressed); repeat to merge several.
    /// Every panel's range ends at the last event. A file, not stdin: it is read twice.
    #[arg(long = "events", value_name = "FILE", required = true)]
    pub events: Vec<PathBuf>,
    /// The directory to write `index.html` into (created if missing).
    #[arg(long, value_name = "DIR", required_unless_present = "json")]
    pub out: Option<PathBuf>,
    /// Also (or, without `--out`, only) writes each panel's rows as JSON to FILE:
    /// what the compiled SQL panels are checked against.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The dashboard to draw (default: the pack's only dashboard).
    #[arg(long = "dashboard", value_name = "ID")]
    pub dashboard: Option<String>,
    /// Skips bad lines instead of stopping at the first.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Learning period of the rules' baselines and new values (for an alerts panel).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = duration)]
    pub learn: i64,
    /// How far out of timestamp order the input may be.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub lateness: i64,
}

/// Runs `dashboard`.
pub fn run(args: &DashboardArgs, global: &Global) -> ExitCode {
    match &args.action {
        DashboardAction::Preview(args) => preview(args, global),
    }
}

/// The dashboard named, or the pack's only one.
fn choose<'p>(pack: &'p Pack, id: Option<&str>) -> Result<&'p Dashboard, Box<Diagnostic>> {
    let ids: Vec<&str> = pack
        .dashboards
        .iter()
        .map(|dashboard| dashboard.id.as_str())
        .collect();
    match id {
        Some(id) => pack
            .dashboards
            .iter()
            .find(|dashboard| dashboard.id == id)
            .ok_or_else(|| {
                let mut diagnostic = Diagnostic::new(
                    Code::INPUT_PATH,
                    format!("the rules declare no dashboard `{id}`"),
                );
                if let Some(close) =
                    crate::diagnostics::suggest::did_you_mean(id, ids.iter().copied())
                {
                    diagnostic = diagnostic.help(format!("did you mean `{close}`?"));
                } else if !ids.is_empty() {
                    diagnostic = diagnostic.help(format!("dashboards: {}", ids.join(", ")));
                }
                Box::new(diagnostic)
            }),
        None => match pack.dashboards.as_slice() {
            [only] => Ok(only),
            [] => Err(Box::new(
                Diagnostic::new(
                    Code::INPUT_PATH,
                    "the rules declare no dashboard to preview",
                )
                .help("declare one with `dashboard ID { ... }` in a rule file, as rules/dashboards/llm.overview.tdl does"),
            )),
            _ => Err(Box::new(
                Diagnostic::new(
                    Code::INPUT_PATH,
                    format!("the rules declare {} dashboards", ids.len()),
                )
                .help(format!("choose one with --dashboard: {}", ids.join(", "))),
            )),
        },
    }
}

fn preview(args: &PreviewArgs, global: &Global) -> ExitCode {
    let (_, pack) = match load_pack(&args.paths.paths(), &args.rules, global) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let dashboard = match choose(&pack, args.dashboard.as_deref()) {
        Ok(dashboard) => dashboard,
        Err(diagnostic) => {
            global.report_one(*diagnostic);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let inputs: Vec<Input> = args.events.iter().cloned().map(Input::Path).collect();
    let options = EvalOptions {
        learn_ms: args.learn,
        lateness_ms: args.lateness,
        skip_invalid: args.skip_invalid,
        threads: 1,
        ..EvalOptions::default()
    };
    let data = match eval::panel::dashboard_data(&pack, dashboard, &inputs, &options) {
        Ok(data) => data,
        Err(error) => {
            match error.diagnostic() {
                Some(diagnostic) => global.report_one(diagnostic.clone()),
                None => eprintln!("error: {error}"),
            }
            return ExitCode::from(error.exit_code());
        }
    };
    let mut written = Vec::new();
    if let Some(path) = &args.json {
        let text = format!("{:#}\n", crate::preview::json(dashboard, &data));
        if let Err(error) = super::write_atomically(path, text.as_bytes()) {
            eprintln!("error: cannot write `{}`: {error}", path.display());
            return ExitCode::from(EXIT_USAGE);
        }
        written.push(path.display().to_string());
    }
    if let Some(out) = &args.out {
        let html = crate::preview::render(dashboard, &data);
        let path = out.join("index.html");
        if let Err(error) = super::write_atomically(&path, html.as_bytes()) {
            eprintln!("error: cannot write `{}`: {error}", path.display());
            return ExitCode::from(EXIT_USAGE);
        }
        written.push(path.display().to_string());
    }
    if global.message_format == MessageFormat::Human {
        let empty: Vec<&str> = data
            .panels
            .iter()
            .filter(|panel| panel.rows.is_empty())
            .map(|panel| panel.id.as_str())
            .collect();
        let panels = dashboard.panels.len();
        eprintln!(
            "wrote {}: dashboard `{}`, {panels} panel{} from {} event{}",
            written.join(" and "),
            dashboard.id,
            plural(panels),
            data.events,
            plural(data.events as usize)
        );
        if !empty.is_empty() {
            eprintln!(
                "note: no data in the range for {}: {}",
                if empty.len() == 1 { "panel" } else { "panels" },
                empty.join(", ")
            );
        }
    }
    ExitCode::from(EXIT_OK)
}
