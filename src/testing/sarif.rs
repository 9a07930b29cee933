//! SARIF 2.1.0 log of a `test` run: one result per failed case, at the
//! case's line in its `.test.yaml` file (see [`crate::diagnostics::sarif`]).

use serde_json::{Value, json};

use super::{Report, Status};
use crate::diagnostics::sarif::Log;

/// The descriptor of a failed test case.
const TEST_FAILURE: &str = "test-failure";

/// The SARIF log of `test`: one result per failed case.
pub fn test_log(report: &Report) -> Value {
    let mut log = Log::new();
    let failures: Vec<_> = report
        .outcomes
        .iter()
        .filter(|outcome| outcome.status == Status::Failed)
        .collect();
    if !failures.is_empty() {
        log.rules.insert(
            TEST_FAILURE.to_string(),
            json!({
                "id": TEST_FAILURE,
                "name": "TestCaseFailed",
                "shortDescription": { "text": "A rule's test case did not raise the expected alerts" },
                "help": { "text": "Run `tripline test --rule RULE` to see the case, the expected and the raised alerts." },
                "defaultConfiguration": { "level": "error" },
            }),
        );
    }
    for outcome in failures {
        log.results.push(json!({
            "ruleId": TEST_FAILURE,
            "level": "error",
            "message": { "text": format!("{} :: {}: {}", outcome.rule, outcome.name, outcome.message) },
            "locations": [log.location(&outcome.file, (outcome.line, 0), None)],
            "properties": {
                "rule": outcome.rule,
                "case": outcome.name,
                "expected": outcome.expected,
                "actual": outcome.actual,
            },
        }));
    }
    log.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Outcome;

    #[test]
    fn a_test_failure_points_at_its_case() {
        let report = Report {
            outcomes: vec![
                Outcome {
                    rule: "r.one".into(),
                    name: "fires".into(),
                    status: Status::Failed,
                    message: "expected 1 alert, got 0".into(),
                    file: "rules/r.one.test.yaml".into(),
                    line: 7,
                    expected: Some(1),
                    actual: Some(0),
                },
                Outcome {
                    rule: "r.one".into(),
                    name: "quiet".into(),
                    status: Status::Passed,
                    message: String::new(),
                    file: "rules/r.one.test.yaml".into(),
                    line: 12,
                    expected: Some(0),
                    actual: Some(0),
                },
            ],
        };
        let log = test_log(&report);
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        let location = &results[0]["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "rules/r.one.test.yaml");
        assert_eq!(location["region"]["startLine"], 7);
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"][0]["id"],
            TEST_FAILURE
        );
    }
}
