//! `tripline check [PATH...]`: parse and check rules, print diagnostics.

use std::path::PathBuf;
use std::process::ExitCode;

use super::compile::{select_targets, target_mappings};
use super::{
    EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Global, MessageFormat, RulesArgs, plural, write_json_file,
};
use crate::diagnostics::{Diagnostic, sarif};
use crate::project::{self, LoadOptions, Project};
use crate::source::Sources;
use crate::targets;

/// Arguments of `check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Rule directories, `.tdl` files or content repositories (default: `tripline.yaml` here, else `rules`).
    pub paths: Vec<PathBuf>,
    /// Fails (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Also reports, as errors, every rule this target cannot express
    /// (the E0401/E0402 that `compile` would print) and problems in the
    /// target's `mappings:`; repeat for several targets.
    #[arg(long = "target", value_name = "ID")]
    pub targets: Vec<String>,
    /// Also writes the diagnostics as a SARIF 2.1.0 log to this file, for
    /// code scanning (GitHub shows each problem on its line).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
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
            if let Some(path) = &args.sarif {
                // Best effort: the usage error is what matters here.
                let log = sarif::check_log(std::slice::from_ref(&diagnostic), &Sources::new());
                let _ = write_json_file(path, &log);
            }
            global.report_one(diagnostic);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let registry = targets::registry();
    let selected = match select_targets(&args.targets, &registry, global) {
        Ok(selected) => selected,
        Err(code) => return code,
    };
    let (portability, compiled) = portability(&selected, &project, &registry);
    let errors = project.diagnostics.error_count() + portability.len();
    let warnings = project.diagnostics.warning_count();
    let mut diagnostics = project.diagnostics.clone().into_sorted();
    diagnostics.extend(portability);
    global.report(&diagnostics, &project.sources);
    if let Some(path) = &args.sarif
        && let Err(error) = write_json_file(path, &sarif::check_log(&diagnostics, &project.sources))
    {
        eprintln!("error: cannot write `{}`: {error}", path.display());
        return ExitCode::from(EXIT_USAGE);
    }
    super::report_disabled(&project, global);
    if global.message_format == MessageFormat::Human {
        let rules = project.pack.as_ref().map_or(0, |pack| pack.rules.len());
        let files = project.sources.iter().count();
        if errors == 0 {
            // Dashboards are counted when there are any, so the line of a
            // pack without them reads as before.
            let dashboards = project
                .pack
                .as_ref()
                .map_or(0, |pack| pack.dashboards.len());
            let dashboards = if dashboards > 0 {
                format!(", {dashboards} dashboard{}", plural(dashboards))
            } else {
                String::new()
            };
            eprintln!(
                "checked {files} file{}: {rules} rule{}{dashboards}, {warnings} warning{}",
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
    if global.message_format == MessageFormat::Human {
        let rules = project.pack.as_ref().map_or(0, |pack| pack.rules.len());
        for (id, count) in &compiled {
            eprintln!("{id}: {count} of {rules} rule{} compile", plural(rules));
        }
    }
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::from(EXIT_OK)
    }
}

/// What `compile` would refuse for each selected target, as diagnostics at
/// the refused constructs, and how many rules each target compiles. Nothing
/// is written. A pack with errors is not compiled (its errors come first).
fn portability(
    selected: &[&dyn targets::Target],
    project: &Project,
    registry: &[Box<dyn targets::Target>],
) -> (Vec<Diagnostic>, Vec<(&'static str, usize)>) {
    let mut diagnostics = Vec::new();
    let mut compiled = Vec::new();
    let Some(pack) = project.pack.as_ref() else {
        return (diagnostics, compiled);
    };
    // `compile` validates the `mappings:` of every target it writes; `check`
    // validates those of every target the configuration names, selected or
    // not, so a typo there fails here and not at the first `compile`.
    let mut validated = selected.to_vec();
    for config in &project.mappings {
        for id in config.changes.keys() {
            if let Some(target) = registry.iter().find(|target| target.id() == id)
                && !validated.iter().any(|chosen| chosen.id() == id)
            {
                validated.push(target.as_ref());
            }
        }
    }
    let mappings = match target_mappings(&validated, pack, project, registry) {
        Ok(mappings) => mappings,
        Err(problems) => return (problems, compiled),
    };
    for (target, mapping) in selected.iter().zip(&mappings) {
        let output = targets::compile_pack(*target, pack, mapping, registry);
        for (rule_id, problems) in &output.failures {
            if let Some(rule) = pack.rule(rule_id) {
                diagnostics.extend(problems.iter().map(|problem| {
                    targets::problem_diagnostic(problem, target.id(), rule, &project.sources)
                }));
            }
        }
        compiled.push((target.id(), output.compiled.len()));
    }
    (diagnostics, compiled)
}
