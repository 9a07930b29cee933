//! Test case files: reading `*.test.yaml`, expanding events, validating them.
//!
//! Input: a test file path and the pack. Output: a [`TestFile`] whose cases
//! hold fully expanded JSON events, or an E0503 diagnostic naming the file and
//! the place.

// Errors here are cold-path diagnostics returned once per run; boxing them
// would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{self, Pack};

/// A parsed test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// The path as shown in messages.
    pub display: String,
    /// The rule every case tests.
    pub rule: String,
    /// The cases in file order.
    pub cases: Vec<Case>,
}

/// One case, ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its name.
    pub name: String,
    /// Line of the case in the file.
    pub line: usize,
    /// What the evaluator must raise.
    pub expectation: Expectation,
    /// Parameters set for this case, typed.
    pub params: BTreeMap<String, ir::Value>,
    /// The events, expanded.
    pub events: Vec<Value>,
}

/// What a case expects.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// Number of alerts.
    pub alerts: usize,
    /// Group values of each alert, in order, when given.
    pub groups: Option<Vec<Map<String, Value>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    rule: String,
    cases: Vec<RawCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    expect: RawExpect,
    #[serde(default)]
    params: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    defaults: Map<String, Value>,
    #[serde(default)]
    events: Vec<RawEvent>,
    #[serde(default)]
    events_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawExpect {
    Count(usize),
    Detailed(DetailedExpect),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailedExpect {
    alerts: usize,
    #[serde(default)]
    groups: Option<Vec<Map<String, Value>>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawEvent {
    Repeat(RepeatEvent),
    Single(Map<String, Value>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepeatEvent {
    repeat: usize,
    every: String,
    event: Map<String, Value>,
}

fn error(path: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Code::TEST_FILE, message.into()).in_file(path.to_string())
}

/// Reads and expands one test file.
pub fn load_test_file(path: &Path, pack: &Pack) -> Result<TestFile, Diagnostic> {
    let display = crate::project::display_path(path);
    let text = crate::project::read_text(path)
        .map_err(|io| error(&display, format!("cannot read: {io}")))?;
    let raw: RawFile = serde_yaml::from_str(&text).map_err(|yaml| {
        // serde_yaml's message already says where ("at line 4 column 1").
        error(&display, yaml.to_string())
    })?;
    let Some(rule) = pack.rule(&raw.rule) else {
        let mut diagnostic = error(&display, format!("the pack has no rule `{}`", raw.rule));
        if let Some(close) = did_you_mean(&raw.rule, pack.rules.iter().map(|rule| rule.id.as_str()))
        {
            diagnostic = diagnostic.help(format!("did you mean `{close}`?"));
        }
        return Err(diagnostic);
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut cases = Vec::new();
    let mut names = BTreeMap::new();
    for (index, raw_case) in raw.cases.into_iter().enumerate() {
        let line = line_of_case(&text, &raw_case.name, index);
        if names.insert(raw_case.name.clone(), line).is_some() {
            return Err(error(
                &display,
                format!("line {line}: two cases are named `{}`", raw_case.name),
            ));
        }
        let at = |message: String| {
            error(
                &display,
                format!("line {line}, case `{}`: {message}", raw_case.name),
            )
        };
        let params = typed_params(&raw_case.params, pack, rule).map_err(at)?;
        let events = expand(&raw_case, base, index).map_err(at)?;
        let expectation = match raw_case.expect {
            RawExpect::Count(alerts) => Expectation {
                alerts,
                groups: None,
            },
            RawExpect::Detailed(detailed) => Expectation {
                alerts: detailed.alerts,
                groups: detailed.groups,
            },
        };
        cases.push(Case {
            name: raw_case.name,
            line,
            expectation,
            params,
            events,
        });
    }
    Ok(TestFile {
        display,
        rule: raw.rule,
        cases,
    })
}

/// The line of the `index`-th case: where its `name:` is written.
fn line_of_case(text: &str, name: &str, index: usize) -> usize {
    let mut seen = 0;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        if let Some(rest) = trimmed.strip_prefix("name:") {
            let value = rest.trim().trim_matches(|c| c == '"' || c == '\'');
            if value == name {
                return number + 1;
            }
            seen += 1;
            if seen > index + 1 {
                break;
            }
        }
    }
    1
}

fn typed_params(
    raw: &BTreeMap<String, serde_yaml::Value>,
    pack: &Pack,
    rule: &ir::Rule,
) -> Result<BTreeMap<String, ir::Value>, String> {
    let mut typed = BTreeMap::new();
    for (name, value) in raw {
        let Some(param) = pack.params.get(name) else {
            let hint = did_you_mean(name, rule.uses.params.iter().map(String::as_str))
                .map(|close| format!(" (did you mean `{close}`?)"))
                .unwrap_or_default();
            return Err(format!("the pack declares no parameter `{name}`{hint}"));
        };
        let text = crate::project::yaml_scalar_text(value);
        let parsed =
            crate::check::collect::parse_value(&text, param.value_type).ok_or_else(|| {
                format!(
                    "`{text}` is not a valid {} for parameter `{name}`",
                    param.value_type.name()
                )
            })?;
        typed.insert(name.clone(), parsed);
    }
    Ok(typed)
}

fn expand(case: &RawCase, base: &Path, case_index: usize) -> Result<Vec<Value>, String> {
    let mut events = Vec::new();
    let push = |mut event: Map<String, Value>, events: &mut Vec<Value>| {
        for (key, value) in &case.defaults {
            event.entry(key.clone()).or_insert_with(|| value.clone());
        }
        if !event.contains_key("event_id") {
            event.insert(
                "event_id".to_string(),
                Value::String(format!("case{}-{}", case_index + 1, events.len() + 1)),
            );
        }
        events.push(Value::Object(event));
    };
    for raw in &case.events {
        match raw {
            RawEvent::Single(event) => push(event.clone(), &mut events),
            RawEvent::Repeat(repeat) => {
                let every = crate::syntax::parse_duration_ms(&repeat.every).ok_or_else(|| {
                    format!("`every: {}` is not a duration such as `30s`", repeat.every)
                })?;
                let start = repeat
                    .event
                    .get("timestamp")
                    .and_then(Value::as_str)
                    .and_then(|text| text.parse::<jiff::Timestamp>().ok())
                    .ok_or("a repeated event needs an RFC 3339 `timestamp`")?;
                for index in 0..repeat.repeat {
                    let mut event = repeat.event.clone();
                    let offset =
                        jiff::SignedDuration::from_millis(every.saturating_mul(index as i64));
                    let at = start
                        .checked_add(offset)
                        .map_err(|_| "the repeated timestamps run out of range".to_string())?;
                    event.insert("timestamp".to_string(), Value::String(at.to_string()));
                    if let Some(Value::String(id)) = event.get("event_id") {
                        let id = format!("{id}-{}", index + 1);
                        event.insert("event_id".to_string(), Value::String(id));
                    }
                    push(event, &mut events);
                }
            }
        }
    }
    if let Some(file) = &case.events_file {
        let path = base.join(file);
        let text = crate::project::read_text(&path)
            .map_err(|io| format!("cannot read `{}`: {io}", path.display()))?;
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(event)) => push(event, &mut events),
                Ok(_) => {
                    return Err(format!(
                        "{}:{}: not a JSON object",
                        path.display(),
                        number + 1
                    ));
                }
                Err(json) => return Err(format!("{}:{}: {json}", path.display(), number + 1)),
            }
        }
    }
    Ok(events)
}

/// Validates events against the JSON Schema of the pack's event schema.
pub struct SchemaValidator {
    validator: jsonschema::Validator,
}

impl SchemaValidator {
    /// Builds the validator from the schema.
    pub fn new(schema: &ir::Schema) -> Result<Self, Diagnostic> {
        let json = crate::schema::json_schema(schema);
        let validator = jsonschema::draft202012::new(&json).map_err(|problem| {
            Diagnostic::new(
                Code::TEST_FILE,
                format!("the event schema does not compile to a JSON Schema: {problem}"),
            )
        })?;
        Ok(SchemaValidator { validator })
    }

    /// The first schema violation, naming the event and the field.
    pub fn validate_all(&self, events: &[Value]) -> Result<(), String> {
        for (index, event) in events.iter().enumerate() {
            if let Some(problem) = self.validator.iter_errors(event).next() {
                let id = event.get("event_id").and_then(Value::as_str).unwrap_or("?");
                return Err(format!(
                    "event {} (`{id}`) does not match the event schema at `{}`: {problem}",
                    index + 1,
                    problem.instance_path()
                ));
            }
        }
        Ok(())
    }
}
