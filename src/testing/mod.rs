//! The test runner behind `tripline test`.
//!
//! Input: a checked [`ir::Pack`] and `*.test.yaml` files (format in
//! `docs/language.md`, "Test cases"). Output: a [`Report`] with one outcome
//! per case and per rule-coverage requirement. Each case's events are expanded
//! (`defaults`, `repeat`/`every`), validated against the JSON Schema of the
//! pack's event schema, and run through the evaluator with only the case's
//! rule loaded and the case's parameters applied to it.

// Errors here are cold-path diagnostics returned once per run; boxing them
// would only add noise.
#![allow(clippy::result_large_err)]

mod cases;
mod fields;
pub mod junit;
mod position;
pub mod sarif;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use cases::{BrokenCase, Case, Expectation, LoadError, TestFile, load_test_file};

use crate::diagnostics::Diagnostic;
use crate::eval::{self, Alert, EvalOptions};
use crate::ir::{self, Pack};

/// Whether a case passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The evaluator raised exactly what the case expects.
    Passed,
    /// It did not, or the case could not run.
    Failed,
}

/// The result of one case (or of a coverage requirement of a rule).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The rule tested.
    pub rule: String,
    /// The case name (or `coverage` for a rule missing cases).
    pub name: String,
    /// Passed or failed.
    pub status: Status,
    /// Why it failed (empty when it passed).
    pub message: String,
    /// The test file.
    pub file: String,
    /// Line of the case in the test file.
    pub line: usize,
    /// How many alerts were expected.
    pub expected: Option<usize>,
    /// How many the evaluator raised.
    pub actual: Option<usize>,
}

/// Every outcome of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// In run order: files in path order, cases in file order, coverage last.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Number of passed outcomes.
    pub fn passed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| outcome.status == Status::Passed)
            .count()
    }

    /// Number of failed outcomes.
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only these rules (empty: all).
    pub rules: Vec<String>,
    /// Rule files whose rules must carry a positive and a negative case.
    pub rules_requiring_tests: BTreeSet<String>,
}

/// Runs every case of every file. A test file that cannot be read or parsed,
/// or names an unknown rule, is a failed outcome; only a schema that does not
/// compile to a validator is an error for the caller (exit 2).
pub fn run(pack: &Pack, files: &[PathBuf], options: &RunOptions) -> Result<Report, Diagnostic> {
    let validator = cases::SchemaValidator::new(&pack.schema)?;
    let mut report = Report::default();
    let mut kinds: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for path in files {
        // A broken test file is a failure of this run, reported with the
        // others, not a reason to stop before the remaining files.
        let file = match load_test_file(path, pack) {
            Ok(file) => file,
            Err(error) => {
                report.outcomes.push(Outcome {
                    rule: "(test file)".to_string(),
                    name: display(path),
                    status: Status::Failed,
                    message: problem_text(&error.diagnostic),
                    file: display(path),
                    line: error.line,
                    expected: None,
                    actual: None,
                });
                continue;
            }
        };
        if !options.rules.is_empty() && !options.rules.contains(&file.rule) {
            continue;
        }
        // Cases that run and cases that cannot, merged back into file order:
        // one broken case is a failure beside the others, not a reason to
        // skip them.
        let mut outcomes: Vec<(usize, Outcome)> = Vec::new();
        for case in &file.cases {
            let entry = kinds.entry(file.rule.clone()).or_default();
            if case.expectation.alerts > 0 {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
            outcomes.push((case.line, run_case(pack, &file, case, &validator)));
        }
        for broken in &file.broken {
            if let Some(alerts) = broken.expected {
                let entry = kinds.entry(file.rule.clone()).or_default();
                if alerts > 0 {
                    entry.0 = true;
                } else {
                    entry.1 = true;
                }
            }
            outcomes.push((
                broken.line,
                Outcome {
                    rule: file.rule.clone(),
                    name: broken.name.clone(),
                    status: Status::Failed,
                    message: problem_text(&broken.diagnostic),
                    file: file.display.clone(),
                    line: broken.line,
                    expected: broken.expected,
                    actual: None,
                },
            ));
        }
        outcomes.sort_by_key(|(line, _)| *line);
        report
            .outcomes
            .extend(outcomes.into_iter().map(|(_, outcome)| outcome));
    }
    for rule in &pack.rules {
        if !options.rules_requiring_tests.contains(&rule.file)
            || (!options.rules.is_empty() && !options.rules.contains(&rule.id))
        {
            continue;
        }
        let (positive, negative) = kinds.get(&rule.id).copied().unwrap_or_default();
        let missing: Vec<&str> = [(!positive, "positive"), (!negative, "negative")]
            .into_iter()
            .filter_map(|(missing, kind)| missing.then_some(kind))
            .collect();
        if !missing.is_empty() {
            report.outcomes.push(Outcome {
                rule: rule.id.clone(),
                name: "has a positive and a negative case".to_string(),
                status: Status::Failed,
                message: format!(
                    "the rule has no {} test case; add one to a `*.test.yaml` file with `rule: {}`",
                    missing.join(" and no "),
                    rule.id
                ),
                file: rule.file.clone(),
                line: rule.origin.line as usize,
                expected: None,
                actual: None,
            });
        }
    }
    Ok(report)
}

/// A test-file problem as an outcome message: code, message, `help:` lines.
fn problem_text(diagnostic: &Diagnostic) -> String {
    format!("{}: {}", diagnostic.code.as_str(), diagnostic.message)
        + &diagnostic
            .help
            .iter()
            .map(|help| format!("\n  help: {help}"))
            .collect::<String>()
}

fn run_case(
    pack: &Pack,
    file: &TestFile,
    case: &Case,
    validator: &cases::SchemaValidator,
) -> Outcome {
    let mut outcome = Outcome {
        rule: file.rule.clone(),
        name: case.name.clone(),
        status: Status::Failed,
        message: String::new(),
        file: file.display.clone(),
        line: case.line,
        expected: Some(case.expectation.alerts),
        actual: None,
    };
    if let Err(message) = validator.validate_all(&case.events) {
        outcome.message = message;
        return outcome;
    }
    let case_pack = match pack_for_case(pack, &file.rule, &case.params) {
        Ok(case_pack) => case_pack,
        Err(message) => {
            outcome.message = message;
            return outcome;
        }
    };
    let options = EvalOptions {
        rules: vec![file.rule.clone()],
        ..EvalOptions::default()
    };
    let alerts = match eval::evaluate_values(&case_pack, &case.events, &options) {
        Ok(alerts) => alerts,
        Err(error) => {
            outcome.message = format!("the evaluator rejected the events: {error}");
            return outcome;
        }
    };
    outcome.actual = Some(alerts.len());
    match compare(&case.expectation, &alerts) {
        Ok(()) => outcome.status = Status::Passed,
        Err(message) => outcome.message = message,
    }
    outcome
}

/// A pack with only `rule_id`, its parameters set to the case's values.
fn pack_for_case(
    pack: &Pack,
    rule_id: &str,
    params: &BTreeMap<String, ir::Value>,
) -> Result<Pack, String> {
    let rule = pack
        .rule(rule_id)
        .ok_or_else(|| format!("the pack has no rule `{rule_id}`"))?;
    let mut rule = rule.clone();
    for (name, value) in params {
        if !rule.uses.params.contains(name) {
            return Err(format!("the rule does not use the parameter `{name}`"));
        }
        rule.detection.set_param(name, value);
    }
    Ok(Pack {
        schema: pack.schema.clone(),
        lists: pack.lists.clone(),
        lookups: pack.lookups.clone(),
        params: pack.params.clone(),
        playbooks: BTreeMap::new(),
        rules: vec![rule],
        dashboards: Vec::new(),
    })
}

fn compare(expectation: &Expectation, alerts: &[Alert]) -> Result<(), String> {
    if alerts.len() != expectation.alerts {
        return Err(format!(
            "expected {} alert{}, got {}{}",
            expectation.alerts,
            crate::words::plural(expectation.alerts),
            alerts.len(),
            describe_alerts(alerts)
        ));
    }
    if let Some(groups) = &expectation.groups {
        matched_one_each(groups, alerts, "group", |alert, key| {
            alert.group.get(key).cloned()
        })?;
    }
    if let Some(contexts) = &expectation.context {
        matched_one_each(contexts, alerts, "context", |alert, key| {
            alert
                .context
                .get(key)
                .map(|values| serde_json::json!(values))
        })?;
    }
    Ok(())
}

/// Each expected map must be carried by a different alert (through `read`);
/// order does not matter (grouping sets and ties have no meaningful order).
fn matched_one_each(
    expected: &[serde_json::Map<String, serde_json::Value>],
    alerts: &[Alert],
    what: &str,
    read: impl Fn(&Alert, &str) -> Option<serde_json::Value>,
) -> Result<(), String> {
    let mut unused: Vec<&Alert> = alerts.iter().collect();
    for wanted in expected {
        let position = unused.iter().position(|alert| {
            wanted
                .iter()
                .all(|(key, value)| read(alert, key).as_ref() == Some(value))
        });
        match position {
            Some(index) => {
                unused.remove(index);
            }
            None => {
                let wanted = serde_json::to_string(wanted).unwrap_or_default();
                return Err(format!(
                    "no alert has the {what} {wanted}{}",
                    describe_alerts(alerts)
                ));
            }
        }
    }
    Ok(())
}

fn describe_alerts(alerts: &[Alert]) -> String {
    let mut text = String::new();
    for alert in alerts.iter().take(5) {
        let group = serde_json::to_string(&alert.group).unwrap_or_default();
        let mut values = serde_json::to_string(&alert.values).unwrap_or_default();
        if !alert.context.is_empty() {
            let context = serde_json::to_string(&alert.context).unwrap_or_default();
            values.push_str(&format!(", context {context}"));
        }
        text.push_str(&format!(
            "\n      alert: group {group}, {} event{} from {} to {}, values {values}",
            alert.count,
            crate::words::plural(usize::try_from(alert.count).unwrap_or(usize::MAX)),
            alert.first_seen,
            alert.last_seen
        ));
    }
    if alerts.len() > 5 {
        text.push_str(&format!("\n      ... and {} more", alerts.len() - 5));
    }
    text
}

/// The test files of a project that this run tests: own roots, or all with `all`.
pub fn selected_files(test_files: &[(PathBuf, bool)], all: bool) -> Vec<PathBuf> {
    test_files
        .iter()
        .filter(|(_, own)| all || *own)
        .map(|(path, _)| path.clone())
        .collect()
}

/// Shown in messages.
pub fn display(path: &Path) -> String {
    crate::project::display_path(path)
}
