//! `tripline test [PATH...]`: runs every rule's test cases through the evaluator.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use super::{
    EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Global, MessageFormat, RulesArgs, load_project,
    write_atomically, write_json_file,
};
use crate::testing::{self, Report, RunOptions, Status};

/// Arguments of `test`.
#[derive(Debug, Clone, clap::Args)]
pub struct TestArgs {
    /// Rule directories or content repositories (default: `tripline.yaml` here, else `rules`).
    pub paths: Vec<PathBuf>,
    /// Writes a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Writes the failed cases as a SARIF 2.1.0 log to this file, for code
    /// scanning (each failure shows on its case's line).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Only the cases of these rules.
    #[arg(long = "rule", value_name = "ID")]
    pub rules_only: Vec<String>,
    /// Also runs the tests of packs a content repository includes.
    #[arg(long)]
    pub all: bool,
    /// Overrides.
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// Runs `test`.
pub fn run(args: &TestArgs, global: &Global) -> ExitCode {
    let project = match load_project(&args.paths, &args.rules, global) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let Some(pack) = project.pack.as_ref() else {
        return ExitCode::from(EXIT_FINDINGS);
    };
    let files = testing::selected_files(&project.test_files, args.all);
    let requiring: BTreeSet<String> = if args.all {
        pack.rules.iter().map(|rule| rule.file.clone()).collect()
    } else {
        project.own_rule_files.iter().cloned().collect()
    };
    let options = RunOptions {
        rules: args.rules_only.clone(),
        rules_requiring_tests: requiring,
    };
    let report = match testing::run(pack, &files, &options) {
        Ok(report) => report,
        Err(diagnostic) => {
            global.report_one(diagnostic);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match global.message_format {
        MessageFormat::Human => print_human(&report),
        MessageFormat::Json => print_json(&report),
    }
    if let Some(path) = &args.junit
        && let Err(error) = write_atomically(path, testing::junit::render(&report).as_bytes())
    {
        eprintln!("error: cannot write `{}`: {error}", path.display());
        return ExitCode::from(EXIT_USAGE);
    }
    if let Some(path) = &args.sarif
        && let Err(error) = write_json_file(path, &testing::sarif::test_log(&report))
    {
        eprintln!("error: cannot write `{}`: {error}", path.display());
        return ExitCode::from(EXIT_USAGE);
    }
    if report.failed() > 0 {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::from(EXIT_OK)
    }
}

fn print_human(report: &Report) {
    let mut out = std::io::stdout().lock();
    let rules: BTreeSet<&str> = report
        .outcomes
        .iter()
        .map(|outcome| outcome.rule.as_str())
        .collect();
    let _ = writeln!(
        out,
        "running {} case{} for {} rule{}",
        report.outcomes.len(),
        super::plural(report.outcomes.len()),
        rules.len(),
        super::plural(rules.len())
    );
    for outcome in &report.outcomes {
        let status = match outcome.status {
            Status::Passed => "ok",
            Status::Failed => "FAILED",
        };
        let _ = writeln!(
            out,
            "test {} :: {} ... {status}",
            outcome.rule, outcome.name
        );
    }
    let failures: Vec<_> = report
        .outcomes
        .iter()
        .filter(|outcome| outcome.status == Status::Failed)
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nfailures:");
        for outcome in &failures {
            let _ = writeln!(out, "\n---- {} :: {} ----", outcome.rule, outcome.name);
            let _ = writeln!(out, "  --> {}:{}", outcome.file, outcome.line);
            let _ = writeln!(out, "  {}", outcome.message);
        }
        let _ = writeln!(out);
    }
    let verdict = if failures.is_empty() { "ok" } else { "FAILED" };
    let _ = writeln!(
        out,
        "\ntest result: {verdict}. {} passed, {} failed",
        report.passed(),
        report.failed()
    );
}

fn print_json(report: &Report) {
    let mut out = std::io::stdout().lock();
    for outcome in &report.outcomes {
        let mut value = serde_json::to_value(outcome).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("type".to_string(), json!("case"));
        }
        let _ = writeln!(out, "{value}");
    }
    let summary = json!({"type": "summary", "passed": report.passed(), "failed": report.failed()});
    let _ = writeln!(out, "{summary}");
}
