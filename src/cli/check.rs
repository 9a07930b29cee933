//! `tripline check [PATH...]`: parse and check rules, print diagnostics.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Global, MessageFormat, RulesArgs, plural};
use crate::project::{self, LoadOptions};

/// Arguments of `check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Rule directories, `.tdl` files or content repositories (default: `tripline.yaml` here, else `rules`).
    pub paths: Vec<PathBuf>,
    /// Fails (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Overrides.
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// Runs `check`.
pub fn run(args: &CheckArgs, global: &Global) -> ExitCode {
    let options = LoadOptions {
        paths: args.paths.clone(),
        params: args.rules.params.clone(),
        lookup_dir: args.rules.lookups.clone(),
    };
    let project = match project::load(&options) {
        Ok(project) => project,
        Err(diagnostic) => {
            global.report_one(diagnostic);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let errors = project.diagnostics.error_count();
    let warnings = project.diagnostics.warning_count();
    let diagnostics = project.diagnostics.into_sorted();
    global.report(&diagnostics, &project.sources);
    if global.message_format == MessageFormat::Human {
        let rules = project.pack.as_ref().map_or(0, |pack| pack.rules.len());
        let files = project.sources.iter().count();
        if errors == 0 {
            eprintln!(
                "checked {files} file{}: {rules} rule{}, {warnings} warning{}",
                plural(files),
                plural(rules),
                plural(warnings)
            );
        } else {
            eprintln!(
                "checked {files} file{}: {errors} error{}, {warnings} warning{}",
                plural(files),
                plural(errors),
                plural(warnings)
            );
        }
    }
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::from(EXIT_OK)
    }
}
