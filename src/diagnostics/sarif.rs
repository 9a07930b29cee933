//! SARIF 2.1.0 logs of `check` diagnostics and `test` failures, for code
//! scanning services (GitHub shows each result inline on the pull request).
//!
//! One run, tool `tripline`. Each diagnostic code that occurs becomes a
//! reporting descriptor (`tool.driver.rules`) with its registry title and its
//! long explanation as help; a failed test case is a result of the descriptor
//! `test-failure` at the case's line (see `testing::sarif`) in its `.test.yaml` file. Paths are made
//! relative to the directory `tripline` ran in (the repository root in CI) and
//! written with forward slashes under the base id `%SRCROOT%`; columns count
//! Unicode code points, as the human output does (`columnKind`).
//!
//! The shape follows the OASIS SARIF 2.1.0 specification (sections 3.13 run,
//! 3.19 toolComponent, 3.27 result, 3.28 location, 3.30 region, 3.49
//! reportingDescriptor); `.ci/run` validates the output against the published
//! JSON Schema (`sarif-2.1.0-rtm.5`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::{Diagnostic, Level};
use crate::source::Sources;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/tripline/tripline";

/// A SARIF log being built: the descriptors seen so far and the results.
pub struct Log {
    /// Reporting descriptors by id.
    pub rules: BTreeMap<String, Value>,
    /// Results in report order.
    pub results: Vec<Value>,
    base: Option<std::path::PathBuf>,
}

impl Default for Log {
    fn default() -> Self {
        Log::new()
    }
}

impl Log {
    /// An empty log; paths become relative to the working directory.
    pub fn new() -> Self {
        Log {
            rules: BTreeMap::new(),
            results: Vec::new(),
            base: std::env::current_dir().ok(),
        }
    }

    /// `path` relative to the working directory, with forward slashes.
    fn uri(&self, path: &str) -> String {
        let relative = match &self.base {
            Some(base) => Path::new(path)
                .strip_prefix(base)
                .map_or_else(|_| path.to_string(), |p| p.display().to_string()),
            None => path.to_string(),
        };
        let relative = relative.replace('\\', "/");
        relative
            .strip_prefix("./")
            .map_or(relative.clone(), str::to_string)
    }

    /// A location at `file`, from `start` (line, column; column 0 = none)
    /// to `end`.
    pub fn location(
        &self,
        file: &str,
        start: (usize, usize),
        end: Option<(usize, usize)>,
    ) -> Value {
        let mut region = json!({ "startLine": start.0.max(1) });
        if start.1 > 0 {
            region["startColumn"] = json!(start.1);
        }
        if let Some((line, column)) = end
            && (line, column) >= (start.0, start.1)
            && column > 0
        {
            region["endLine"] = json!(line);
            region["endColumn"] = json!(column);
        }
        json!({
            "physicalLocation": {
                "artifactLocation": { "uri": self.uri(file), "uriBaseId": "%SRCROOT%" },
                "region": region,
            }
        })
    }

    /// The log as SARIF JSON.
    pub fn finish(self) -> Value {
        json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {
                    "driver": {
                        "name": "tripline",
                        "semanticVersion": env!("CARGO_PKG_VERSION"),
                        "informationUri": INFORMATION_URI,
                        "rules": self.rules.into_values().collect::<Vec<_>>(),
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": self.results,
            }]
        })
    }
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
    }
}

/// The message of a diagnostic: the statement, then its notes and help.
fn message_text(diagnostic: &Diagnostic) -> String {
    let mut text = diagnostic.message.clone();
    for note in &diagnostic.notes {
        text.push_str("\nnote: ");
        text.push_str(note);
    }
    for help in &diagnostic.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    text
}

/// The SARIF log of `check`'s diagnostics.
pub fn check_log(diagnostics: &[Diagnostic], sources: &Sources) -> Value {
    let mut log = Log::new();
    for diagnostic in diagnostics {
        let info = diagnostic.code.info();
        log.rules.entry(info.code.to_string()).or_insert_with(|| {
            json!({
                "id": info.code,
                "name": info.title,
                "shortDescription": { "text": info.title },
                "help": { "text": info.explanation, "markdown": info.explanation },
                "defaultConfiguration": { "level": level(info.level) },
            })
        });
        let mut locations = Vec::new();
        let mut related = Vec::new();
        for label in &diagnostic.labels {
            let Some(file) = sources.get(label.span.source) else {
                continue;
            };
            let start = file.line_column(label.span.start as usize);
            let end = file.line_column(label.span.end as usize);
            let mut location = log.location(
                &file.path,
                (start.line, start.column),
                Some((end.line, end.column)),
            );
            if !label.message.is_empty() {
                location["message"] = json!({ "text": label.message });
            }
            if label.primary && locations.is_empty() {
                locations.push(location);
            } else {
                location["id"] = json!(related.len());
                related.push(location);
            }
        }
        if locations.is_empty()
            && let Some(file) = &diagnostic.file
        {
            locations.push(log.location(file, (1, 0), None));
        }
        let mut result = json!({
            "ruleId": info.code,
            "level": level(diagnostic.level),
            "message": { "text": message_text(diagnostic) },
            "locations": locations,
        });
        if !related.is_empty() {
            result["relatedLocations"] = json!(related);
        }
        log.results.push(result);
    }
    log.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Code;

    #[test]
    fn a_clean_run_has_no_results_and_no_rules() {
        let log = check_log(&[], &Sources::new());
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["runs"][0]["results"], json!([]));
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"], json!([]));
    }

    #[test]
    fn a_diagnostic_without_a_span_points_at_its_file() {
        let mut diagnostic = Diagnostic::new(Code::LOOKUP_FILE, "cannot read the lookup");
        diagnostic.file = Some("./rules/lookups/x.csv".into());
        let log = check_log(&[diagnostic], &Sources::new());
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "E0501");
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "rules/lookups/x.csv"
        );
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"][0]["shortDescription"]["text"],
            Code::LOOKUP_FILE.info().title
        );
    }
}
