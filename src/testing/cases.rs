//! Test case files: reading `*.test.yaml`, expanding events, validating them.
//!
//! Input: a test file path and the pack. Output: a [`TestFile`] whose cases
//! hold fully expanded JSON events, or an E0532 problem at the line of the
//! file to fix. A problem in one case (an unknown key, an event field its
//! event type does not declare, a timestamp that is not RFC 3339) makes that
//! case a [`BrokenCase`]; the file's other cases still run. Only a file that
//! cannot be read, is not YAML, or does not have the shape of a test file is
//! an error for the whole file.
//!
//! The file is read as a `serde_yaml::Value` and walked here, so messages say
//! what a test file must hold instead of what serde expected; lines come
//! from [`super::position`].

// Errors here are cold-path diagnostics returned once per run; boxing them
// would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};
use serde_yaml::Value as Yaml;

use super::fields::{self, Place};
use super::position::{Step, line_of};
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
    /// The cases that can run, in file order.
    pub cases: Vec<Case>,
    /// The cases that cannot, in file order: each is a failed outcome.
    pub broken: Vec<BrokenCase>,
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

/// A case that cannot run, and why.
#[derive(Debug, Clone)]
pub struct BrokenCase {
    /// Its name (`case N` when it has none).
    pub name: String,
    /// The line of the problem.
    pub line: usize,
    /// How many alerts it expects, when that much could be read.
    pub expected: Option<usize>,
    /// The problem (E0532, the file and line in [`Diagnostic::file`]).
    pub diagnostic: Diagnostic,
}

/// A test file none of whose cases can run.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// The line of the problem (1 when it is the file as a whole).
    pub line: usize,
    /// The problem (E0532).
    pub diagnostic: Diagnostic,
}

impl From<LoadError> for Diagnostic {
    fn from(error: LoadError) -> Diagnostic {
        error.diagnostic
    }
}

/// What a case expects.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// Number of alerts.
    pub alerts: usize,
    /// Group values of each alert, in order, when given.
    pub groups: Option<Vec<Map<String, Value>>>,
    /// `context` values of each alert (any order), when given.
    pub context: Option<Vec<Map<String, Value>>>,
}

/// The keys of a test file, of a case, of a detailed `expect` and of a
/// `repeat` item.
const FILE_KEYS: &[&str] = &["rule", "cases"];
const CASE_KEYS: &[&str] = &[
    "name",
    "expect",
    "params",
    "defaults",
    "events",
    "events_file",
    "strict",
];
const EXPECT_KEYS: &[&str] = &["alerts", "groups", "context"];
const REPEAT_KEYS: &[&str] = &["repeat", "every", "event"];

/// A problem at a place of the file.
struct Problem {
    line: usize,
    message: String,
    help: Vec<String>,
}

impl Problem {
    fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    fn diagnostic(self, display: &str) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(Code::TEST_FILE, self.message)
            .in_file(format!("{display}:{}", self.line));
        for help in self.help {
            diagnostic = diagnostic.help(help);
        }
        diagnostic
    }
}

/// The text of the file, to find the line of a node.
struct Document<'t> {
    text: &'t str,
}

impl Document<'_> {
    /// The line of `path`, or of its nearest ancestor that is written.
    fn line(&self, path: &[Step]) -> usize {
        (0..=path.len())
            .rev()
            .find_map(|end| line_of(self.text, &path[..end]))
            .unwrap_or(1)
    }

    fn problem(&self, path: &[Step], message: impl Into<String>) -> Problem {
        Problem {
            line: self.line(path),
            message: message.into(),
            help: Vec::new(),
        }
    }
}

/// `path` with one more step.
fn child<'a>(path: &[Step<'a>], step: Step<'a>) -> Vec<Step<'a>> {
    let mut longer = path.to_vec();
    longer.push(step);
    longer
}

/// Reads and expands one test file.
pub fn load_test_file(path: &Path, pack: &Pack) -> Result<TestFile, LoadError> {
    let display = crate::project::display_path(path);
    let whole = |problem: Problem| LoadError {
        line: problem.line,
        diagnostic: problem.diagnostic(&display),
    };
    let text = crate::project::read_text(path).map_err(|io| LoadError {
        line: 1,
        diagnostic: Diagnostic::new(Code::TEST_FILE, format!("cannot read: {io}"))
            .in_file(display.clone()),
    })?;
    let document = Document { text: &text };
    let root: Yaml = serde_yaml::from_str(&text).map_err(|yaml| {
        let line = yaml.location().map_or(1, |location| location.line());
        whole(Problem {
            line,
            message: format!("not valid YAML: {yaml}"),
            help: Vec::new(),
        })
    })?;
    let shape = "a test file is a map with `rule:` (the rule's id) and `cases:` (a list of cases)";
    let Some(top) = root.as_mapping() else {
        return Err(whole(document.problem(&[], shape)));
    };
    unknown_keys(&document, &[], top, FILE_KEYS, "a key of a test file").map_err(whole)?;
    let rule_path = [Step::Key("rule")];
    let rule_id = match top.get("rule") {
        Some(Yaml::String(id)) => id.clone(),
        Some(_) => {
            return Err(whole(document.problem(
                &rule_path,
                "`rule` must be the id of the rule the cases test, such as `llm.prompt_extraction.repeated`",
            )));
        }
        None => {
            return Err(whole(document.problem(
                &[],
                "the test file has no `rule:`; name the rule its cases test",
            )));
        }
    };
    let Some(rule) = pack.rule(&rule_id) else {
        let mut problem = document.problem(&rule_path, format!("the pack has no rule `{rule_id}`"));
        if let Some(close) = did_you_mean(&rule_id, pack.rules.iter().map(|rule| rule.id.as_str()))
        {
            problem = problem.help(format!("did you mean `{close}`?"));
        }
        return Err(whole(problem));
    };
    let cases_path = [Step::Key("cases")];
    let raw_cases = match top.get("cases") {
        Some(Yaml::Sequence(cases)) => cases.as_slice(),
        Some(_) => {
            return Err(whole(document.problem(
                &cases_path,
                "`cases` must be a list of cases, each starting with `- name:`",
            )));
        }
        None => {
            return Err(whole(
                document.problem(&[], "the test file has no `cases:`"),
            ));
        }
    };
    let reader = CaseReader {
        document: &document,
        pack,
        rule,
        base: path.parent().unwrap_or(Path::new(".")),
    };
    let mut file = TestFile {
        display: display.clone(),
        rule: rule_id,
        cases: Vec::new(),
        broken: Vec::new(),
    };
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (index, raw) in raw_cases.iter().enumerate() {
        let case_path = [Step::Key("cases"), Step::Index(index)];
        let line = document.line(&case_path);
        let name = match raw.get("name") {
            Some(Yaml::String(name)) => name.clone(),
            Some(name @ (Yaml::Number(_) | Yaml::Bool(_))) => {
                crate::project::yaml_scalar_text(name)
            }
            _ => format!("case {}", index + 1),
        };
        let result = match names.get(&name) {
            Some(first) => Err(document.problem(
                &child(&case_path, Step::Key("name")),
                format!("two cases are named `{name}` (the first at line {first})"),
            )),
            None => reader.case(&case_path, raw, &name, line, index),
        };
        names.entry(name.clone()).or_insert(line);
        match result {
            Ok(case) => file.cases.push(case),
            Err(problem) => file.broken.push(BrokenCase {
                expected: raw.get("expect").and_then(expected_alerts),
                line: problem.line,
                name,
                diagnostic: problem.diagnostic(&display),
            }),
        }
    }
    Ok(file)
}

/// The number of alerts an `expect` asks for, if it says.
fn expected_alerts(expect: &Yaml) -> Option<usize> {
    let count = match expect {
        Yaml::Mapping(detailed) => detailed.get("alerts")?,
        other => other,
    };
    count.as_u64().and_then(|count| usize::try_from(count).ok())
}

/// The first key of `map` that is not one of `known`, as a problem at its line.
fn unknown_keys(
    document: &Document,
    path: &[Step],
    map: &serde_yaml::Mapping,
    known: &[&str],
    what: &str,
) -> Result<(), Problem> {
    for key in map.keys() {
        let Some(key) = key.as_str() else {
            let text = crate::project::yaml_scalar_text(key);
            return Err(document.problem(path, format!("`{text}` is not {what}")));
        };
        if known.contains(&key) {
            continue;
        }
        let mut problem = document.problem(
            &child(path, Step::Key(key)),
            format!("`{key}` is not {what}"),
        );
        problem = match did_you_mean(key, known.iter().copied()) {
            Some(close) => problem.help(format!("did you mean `{close}`?")),
            None => problem.help(format!("write one of {}", quoted(known))),
        };
        return Err(problem);
    }
    Ok(())
}

fn quoted(words: &[&str]) -> String {
    let words: Vec<String> = words.iter().map(|word| format!("`{word}`")).collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => words.concat(),
    }
}

/// A YAML map as JSON fields.
fn json_map(
    document: &Document,
    path: &[Step],
    value: &Yaml,
    what: &str,
) -> Result<Map<String, Value>, Problem> {
    let shape = || {
        document.problem(
            path,
            format!("{what} must be a map of field names to values"),
        )
    };
    if !value.is_mapping() {
        return Err(shape());
    }
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(shape()),
    }
}

/// One event as written: its fields, where they are, and how often it repeats.
struct WrittenEvent<'a> {
    fields: Map<String, Value>,
    path: Vec<Step<'a>>,
    repeat: Option<(usize, i64)>,
}

/// Reads the cases of one file.
struct CaseReader<'a> {
    document: &'a Document<'a>,
    pack: &'a Pack,
    rule: &'a ir::Rule,
    base: &'a Path,
}

impl CaseReader<'_> {
    fn case(
        &self,
        path: &[Step],
        raw: &Yaml,
        name: &str,
        line: usize,
        index: usize,
    ) -> Result<Case, Problem> {
        let document = self.document;
        let Some(map) = raw.as_mapping() else {
            return Err(document.problem(
                path,
                "a case must be a map with `name:`, `expect:` and `events:` (or `events_file:`)",
            ));
        };
        unknown_keys(document, path, map, CASE_KEYS, "a setting of a case")?;
        match map.get("name") {
            Some(Yaml::String(_) | Yaml::Number(_) | Yaml::Bool(_)) => {}
            Some(_) => {
                return Err(document.problem(
                    &child(path, Step::Key("name")),
                    "`name` must be a short sentence saying what the case shows",
                ));
            }
            None => return Err(document.problem(path, "the case has no `name:`")),
        }
        let expect_path = child(path, Step::Key("expect"));
        let expectation = match map.get("expect") {
            Some(expect) => self.expectation(&expect_path, expect)?,
            None => {
                return Err(document
                    .problem(path, format!("case `{name}` has no `expect:`"))
                    .help("write `expect: 0` for a case that must stay quiet, or the number of alerts it raises"));
            }
        };
        let params = match map.get("params") {
            Some(params) => self.params(&child(path, Step::Key("params")), params)?,
            None => BTreeMap::new(),
        };
        let defaults_path = child(path, Step::Key("defaults"));
        let defaults = match map.get("defaults") {
            Some(defaults) => json_map(document, &defaults_path, defaults, "`defaults`")?,
            None => Map::new(),
        };
        let strict = match map.get("strict") {
            Some(Yaml::Bool(strict)) => *strict,
            Some(_) => {
                return Err(document.problem(
                    &child(path, Step::Key("strict")),
                    "`strict` must be `true` or `false`",
                ));
            }
            None => true,
        };
        let events_path = child(path, Step::Key("events"));
        let written = match map.get("events") {
            Some(Yaml::Sequence(items)) => items
                .iter()
                .enumerate()
                .map(|(number, item)| {
                    self.written_event(&child(&events_path, Step::Index(number)), item)
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(document.problem(
                    &events_path,
                    "`events` must be a list of events, each a map of fields",
                ));
            }
            None => Vec::new(),
        };
        let check = |fields: &Map<String, Value>, at: &[Step], prefix: &str| {
            fields::check_event(&self.pack.schema, fields, &defaults, strict).map_err(|problem| {
                let place = match &problem.place {
                    Place::Event => at.to_vec(),
                    Place::Own(key) => child(at, Step::Key(key)),
                    Place::Defaults(key) => child(&defaults_path, Step::Key(key)),
                };
                Problem {
                    line: document.line(&place),
                    message: format!("{prefix}{}", problem.message),
                    help: problem.help,
                }
            })
        };
        for event in &written {
            check(&event.fields, &event.path, "")?;
        }
        let mut events = Vec::new();
        for event in &written {
            self.expand(event, &defaults, index, &mut events)?;
        }
        if let Some(file) = map.get("events_file") {
            let file_path = child(path, Step::Key("events_file"));
            let Some(file) = file.as_str() else {
                return Err(document.problem(
                    &file_path,
                    "`events_file` must be the path of a JSON-lines file, relative to this file",
                ));
            };
            let at_key = |message: String| document.problem(&file_path, message);
            let full = self.base.join(file);
            let text = crate::project::read_text(&full)
                .map_err(|io| at_key(format!("cannot read `{}`: {io}", full.display())))?;
            for (number, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let prefix = format!("`{file}` line {}: ", number + 1);
                match serde_json::from_str::<Value>(line) {
                    Ok(Value::Object(event)) => {
                        check(&event, &file_path, &prefix)?;
                        push(event, &defaults, index, &mut events);
                    }
                    Ok(_) => return Err(at_key(format!("{prefix}not a JSON object"))),
                    Err(json) => return Err(at_key(format!("{prefix}{json}"))),
                }
            }
        }
        Ok(Case {
            name: name.to_string(),
            line,
            expectation,
            params,
            events,
        })
    }

    fn expectation(&self, path: &[Step], expect: &Yaml) -> Result<Expectation, Problem> {
        let document = self.document;
        let count = |value: &Yaml, at: &[Step], key: &str| {
            value
                .as_u64()
                .and_then(|count| usize::try_from(count).ok())
                .ok_or_else(|| {
                    let text = crate::project::yaml_scalar_text(value);
                    document.problem(
                        at,
                        format!(
                            "`{key}: {text}` is not a number of alerts (a whole number, 0 or more)"
                        ),
                    )
                })
        };
        match expect {
            Yaml::Number(_) => Ok(Expectation {
                alerts: count(expect, path, "expect")?,
                groups: None,
                context: None,
            }),
            Yaml::Mapping(detailed) => {
                unknown_keys(document, path, detailed, EXPECT_KEYS, "a key of `expect`")?;
                let alerts_path = child(path, Step::Key("alerts"));
                let Some(alerts) = detailed.get("alerts") else {
                    return Err(document
                        .problem(path, "`expect` as a map needs `alerts:`, the number of alerts"));
                };
                let alerts = count(alerts, &alerts_path, "alerts")?;
                let maps = |key: &'static str, example: &str| {
                    let list_path = child(path, Step::Key(key));
                    match detailed.get(key) {
                        None | Some(Yaml::Null) => Ok(None),
                        Some(Yaml::Sequence(items)) => items
                            .iter()
                            .enumerate()
                            .map(|(number, item)| {
                                json_map(
                                    document,
                                    &child(&list_path, Step::Index(number)),
                                    item,
                                    &format!("each entry of `{key}`"),
                                )
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map(Some),
                        Some(_) => Err(document.problem(
                            &list_path,
                            format!("`{key}` must be a list of maps, one per alert, such as `{example}`"),
                        )),
                    }
                };
                let groups = maps("groups", "[{ session_id: s-1 }]")?;
                let context = maps("context", "[{ user_agent: [curl/8.5.0] }]")?;
                Ok(Expectation {
                    alerts,
                    groups,
                    context,
                })
            }
            _ => Err(document.problem(
                path,
                "`expect` must be a number of alerts (`expect: 1`) or a map of the alerts and their groups (`expect: { alerts: 1, groups: [{ session_id: s-1 }] }`)",
            )),
        }
    }

    fn params(&self, path: &[Step], raw: &Yaml) -> Result<BTreeMap<String, ir::Value>, Problem> {
        let document = self.document;
        let Some(map) = raw.as_mapping() else {
            return Err(
                document.problem(path, "`params` must be a map of parameter names to values")
            );
        };
        let mut typed = BTreeMap::new();
        for (name, value) in map {
            let name = crate::project::yaml_scalar_text(name);
            let at = child(path, Step::Key(&name));
            let Some(param) = self.pack.params.get(&name) else {
                let mut problem =
                    document.problem(&at, format!("the pack declares no parameter `{name}`"));
                if let Some(close) =
                    did_you_mean(&name, self.rule.uses.params.iter().map(String::as_str))
                {
                    problem = problem.help(format!("did you mean `{close}`?"));
                }
                return Err(problem);
            };
            let text = crate::project::yaml_scalar_text(value);
            let parsed =
                crate::check::collect::parse_value(&text, param.value_type).ok_or_else(|| {
                    document.problem(
                        &at,
                        format!(
                            "`{text}` is not a valid {} for parameter `{name}`",
                            param.value_type.name()
                        ),
                    )
                })?;
            // The same range `check` gives the pack's own value (E0506): a
            // negative count threshold would make the case test a rule that
            // alerts on every group.
            if parsed.as_f64().is_some_and(|value| value < 0.0)
                && let Some(found) = self
                    .rule
                    .detection
                    .non_negative_params()
                    .into_iter()
                    .find(|found| found.param == name)
            {
                return Err(document
                    .problem(
                        &at,
                        format!(
                            "`{name}` is {text} here, but rule `{}` needs it to be 0 or more: it is {}",
                            self.rule.id, found.why
                        ),
                    )
                    .help(format!("give `{name}` a value of 0 or more")));
            }
            typed.insert(name, parsed);
        }
        Ok(typed)
    }

    /// One item of `events`: a map of fields, or `repeat`/`every`/`event`.
    fn written_event<'p>(
        &self,
        path: &[Step<'p>],
        item: &Yaml,
    ) -> Result<WrittenEvent<'p>, Problem> {
        let document = self.document;
        let Some(map) = item.as_mapping() else {
            return Err(document.problem(
                path,
                "an event must be a map of fields, such as `{ timestamp: \"2026-03-02T10:00:00Z\", event_type: inference }`",
            ));
        };
        let repeated = REPEAT_KEYS.iter().any(|key| map.contains_key(*key));
        if !repeated {
            return Ok(WrittenEvent {
                fields: json_map(document, path, item, "an event")?,
                path: path.to_vec(),
                repeat: None,
            });
        }
        unknown_keys(document, path, map, REPEAT_KEYS, "a key of a `repeat` item")
            .map_err(|problem| problem.help("the repeated event's fields go under `event:`"))?;
        let repeat = map
            .get("repeat")
            .and_then(Yaml::as_u64)
            .and_then(|count| usize::try_from(count).ok())
            .ok_or_else(|| {
                document.problem(
                    &child(path, Step::Key("repeat")),
                    "`repeat` must be how many events to write (a whole number), with `every:` and `event:`",
                )
            })?;
        let every_path = child(path, Step::Key("every"));
        let every = match map.get("every") {
            Some(every) => {
                let text = crate::project::yaml_scalar_text(every);
                crate::syntax::parse_duration_ms(&text).ok_or_else(|| {
                    document.problem(
                        &every_path,
                        format!("`every: {text}` is not a duration such as `30s`"),
                    )
                })?
            }
            None => {
                return Err(document.problem(
                    path,
                    "a `repeat` item needs `every:`, the time between the events (such as `30s`)",
                ));
            }
        };
        let event_path = child(path, Step::Key("event"));
        let Some(event) = map.get("event") else {
            return Err(document.problem(
                path,
                "a `repeat` item needs `event:`, the fields of the event to repeat",
            ));
        };
        let fields = json_map(document, &event_path, event, "`event`")?;
        Ok(WrittenEvent {
            fields,
            path: event_path,
            repeat: Some((repeat, every)),
        })
    }

    /// Appends the events one written event stands for.
    fn expand(
        &self,
        written: &WrittenEvent,
        defaults: &Map<String, Value>,
        case_index: usize,
        events: &mut Vec<Value>,
    ) -> Result<(), Problem> {
        let Some((repeat, every)) = written.repeat else {
            push(written.fields.clone(), defaults, case_index, events);
            return Ok(());
        };
        let document = self.document;
        let start = match written.fields.get("timestamp") {
            Some(Value::String(text)) => text.parse::<jiff::Timestamp>().map_err(|_| {
                document.problem(
                    &child(&written.path, Step::Key("timestamp")),
                    format!("`timestamp: \"{text}\"` is not RFC 3339; write a date, a time and a zone, such as `2026-03-02T10:00:00Z`"),
                )
            })?,
            _ => {
                return Err(document.problem(
                    &written.path,
                    "a repeated event needs its own `timestamp`, the time of the first event",
                ));
            }
        };
        for index in 0..repeat {
            let mut event = written.fields.clone();
            let offset = jiff::SignedDuration::from_millis(every.saturating_mul(index as i64));
            let at = start.checked_add(offset).map_err(|_| {
                document.problem(&written.path, "the repeated timestamps run out of range")
            })?;
            event.insert("timestamp".to_string(), Value::String(at.to_string()));
            if let Some(Value::String(id)) = event.get("event_id") {
                let id = format!("{id}-{}", index + 1);
                event.insert("event_id".to_string(), Value::String(id));
            }
            push(event, defaults, case_index, events);
        }
        Ok(())
    }
}

/// Adds one event: `defaults` merged in, an `event_id` given when it has none.
fn push(
    mut event: Map<String, Value>,
    defaults: &Map<String, Value>,
    case_index: usize,
    events: &mut Vec<Value>,
) {
    for (key, value) in defaults {
        event.entry(key.clone()).or_insert_with(|| value.clone());
    }
    if !event.contains_key("event_id") {
        event.insert(
            "event_id".to_string(),
            Value::String(format!("case{}-{}", case_index + 1, events.len() + 1)),
        );
    }
    events.push(Value::Object(event));
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
