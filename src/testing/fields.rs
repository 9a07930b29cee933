//! Strict test events: a field a test event sets must be declared for the
//! event's type, so a misspelt field (`ouput:` under `expect: 0`) is an error
//! instead of a case that passes because the rule never sees the value.
//!
//! Input: one event as written (its own fields and the case's `defaults`) and
//! the pack's event schema. Output: the first problem, naming the key to fix.
//! Also checked here, strict or not: `event_type` is a declared type, and
//! every timestamp field is RFC 3339 text (the JSON Schema's regex is no
//! message for a person).

use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::diagnostics::suggest::did_you_mean;
use crate::ir::{self, ValueType};

/// Where a problem is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    /// The event as a whole.
    Event,
    /// A key of the event itself.
    Own(String),
    /// A key of the case's `defaults`.
    Defaults(String),
}

/// One problem of one event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldProblem {
    /// The key to fix.
    pub place: Place,
    /// What is wrong.
    pub message: String,
    /// What would likely fix it.
    pub help: Vec<String>,
}

/// The field the runner adds to every test event that lacks it.
const EVENT_ID: &str = "event_id";

static RFC3339: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(crate::schema::RFC3339_PATTERN).ok());

/// Checks one event: `own` are the fields written on it, `defaults` those the
/// case merges in where the event does not set them.
pub(crate) fn check_event(
    schema: &ir::Schema,
    own: &Map<String, Value>,
    defaults: &Map<String, Value>,
    strict: bool,
) -> Result<(), FieldProblem> {
    let place_of = |key: &str| {
        if own.contains_key(key) {
            Place::Own(key.to_string())
        } else {
            Place::Defaults(key.to_string())
        }
    };
    let Some(type_value) = own.get("event_type").or_else(|| defaults.get("event_type")) else {
        return Err(FieldProblem {
            place: Place::Event,
            message: "the event has no `event_type`".to_string(),
            help: vec!["set it on the event, or once for the case in `defaults`".to_string()],
        });
    };
    let Some(type_name) = type_value.as_str() else {
        return Err(FieldProblem {
            place: place_of("event_type"),
            message: format!(
                "`event_type: {type_value}` is not an event type name such as `{}`",
                schema
                    .events
                    .keys()
                    .next()
                    .map_or("inference", String::as_str)
            ),
            help: Vec::new(),
        });
    };
    let Some(event_type) = schema.events.get(type_name) else {
        let help = match did_you_mean(type_name, schema.events.keys().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("the declared event types are {}", names(schema)),
        };
        return Err(FieldProblem {
            place: place_of("event_type"),
            message: format!("`event_type: {type_name}` is not a declared event type"),
            help: vec![help],
        });
    };
    let declared = |name: &str| {
        schema
            .common
            .iter()
            .chain(&event_type.fields)
            .find(|field| field.name == name)
    };
    let written = own
        .iter()
        .map(|(key, value)| (Place::Own(key.clone()), key, value))
        .chain(
            defaults
                .iter()
                .filter(|(key, _)| !own.contains_key(*key))
                .map(|(key, value)| (Place::Defaults(key.clone()), key, value)),
        );
    for (place, key, value) in written {
        match declared(key) {
            Some(field) => timestamp(field, value).map_err(|message| FieldProblem {
                place,
                message,
                help: Vec::new(),
            })?,
            None if key == EVENT_ID || !strict => {}
            None => return Err(unknown_field(schema, event_type, place, key)),
        }
    }
    Ok(())
}

/// A key the event's type does not declare: did-you-mean among its fields,
/// and which other event types have it.
fn unknown_field(
    schema: &ir::Schema,
    event_type: &ir::EventType,
    place: Place,
    key: &str,
) -> FieldProblem {
    let type_name = &event_type.name;
    let message = match &place {
        Place::Defaults(_) => {
            format!("`defaults` sets `{key}`, which is not a field of `{type_name}` events")
        }
        _ => format!("`{key}` is not a field of `{type_name}` events"),
    };
    let mut help = Vec::new();
    let known = schema
        .common
        .iter()
        .chain(&event_type.fields)
        .map(|field| field.name.as_str());
    if let Some(close) = did_you_mean(key, known) {
        help.push(format!("did you mean `{close}`?"));
    }
    let elsewhere: Vec<String> = schema
        .events
        .values()
        .filter(|other| other.fields.iter().any(|field| field.name == key))
        .map(|other| format!("`{}`", other.name))
        .collect();
    if !elsewhere.is_empty() {
        let set = match elsewhere.as_slice() {
            [only] => format!("set `event_type: {}`", only.trim_matches('`')),
            _ => "set `event_type` to one of them".to_string(),
        };
        help.push(format!(
            "`{key}` belongs to {} events: {set}, or move the field to such an event",
            elsewhere.join(" and ")
        ));
    }
    if help.is_empty() {
        help.push(format!(
            "test events are strict: declare `{key}` in the event schema, remove it, or set `strict: false` on the case"
        ));
    }
    FieldProblem {
        place,
        message,
        help,
    }
}

/// A timestamp field must hold RFC 3339 text (absent and `null` are the
/// schema's business: required fields are checked there).
fn timestamp(field: &ir::Field, value: &Value) -> Result<(), String> {
    if field.value_type != ValueType::Timestamp || value.is_null() {
        return Ok(());
    }
    match value.as_str() {
        Some(text) if is_rfc3339(text) => Ok(()),
        Some(text) => Err(format!(
            "`{}: \"{text}\"` is not RFC 3339; write a date, a time and a zone, such as `2026-03-02T10:00:00Z`",
            field.name
        )),
        None => Err(format!(
            "`{}: {value}` is not RFC 3339 text; write a quoted date, time and zone, such as `\"2026-03-02T10:00:00Z\"`",
            field.name
        )),
    }
}

/// Whether `text` is an RFC 3339 date-time, as the event schema accepts it.
pub(crate) fn is_rfc3339(text: &str) -> bool {
    RFC3339.as_ref().is_some_and(|regex| regex.is_match(text))
}

fn names(schema: &ir::Schema) -> String {
    let names: Vec<String> = schema
        .events
        .keys()
        .map(|name| format!("`{name}`"))
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::{FieldProblem, Place, check_event, is_rfc3339};
    use crate::ir::{EventType, Field, Schema, ValueType};
    use serde_json::{Map, Value, json};

    fn field(name: &str, value_type: ValueType, required: bool) -> Field {
        Field {
            name: name.to_string(),
            value_type,
            required,
            one_of: None,
            doc: None,
        }
    }

    fn schema() -> Schema {
        let mut schema = Schema {
            common: vec![
                field("timestamp", ValueType::Timestamp, true),
                field("event_type", ValueType::String, true),
                field("session_id", ValueType::String, false),
            ],
            ..Schema::default()
        };
        for (name, fields) in [
            ("inference", vec![field("output", ValueType::String, false)]),
            (
                "tool_call",
                vec![field("tool_name", ValueType::String, false)],
            ),
        ] {
            schema.events.insert(
                name.into(),
                EventType {
                    name: name.into(),
                    doc: None,
                    fields,
                },
            );
        }
        schema
    }

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn check(own: Value, defaults: Value, strict: bool) -> Result<(), FieldProblem> {
        check_event(&schema(), &map(own), &map(defaults), strict)
    }

    #[test]
    fn a_misspelt_field_is_an_error_with_did_you_mean() {
        let problem = check(
            json!({ "timestamp": "2026-03-02T10:00:00Z", "ouput": "123-45-6789" }),
            json!({ "event_type": "inference" }),
            true,
        )
        .err();
        let problem = problem.unwrap_or_else(|| panic!("`ouput` was accepted"));
        assert_eq!(problem.place, Place::Own("ouput".into()));
        assert_eq!(
            problem.message,
            "`ouput` is not a field of `inference` events"
        );
        assert_eq!(problem.help, vec!["did you mean `output`?".to_string()]);
        assert_eq!(
            check(
                json!({ "timestamp": "2026-03-02T10:00:00Z", "ouput": "x", "event_type": "inference" }),
                json!({}),
                false,
            ),
            Ok(())
        );
    }

    #[test]
    fn a_field_of_another_event_type_names_that_type() {
        let problem = check(
            json!({ "timestamp": "2026-03-02T10:00:00Z", "event_id": "e-1" }),
            json!({ "event_type": "inference", "tool_name": "http_get" }),
            true,
        )
        .err()
        .unwrap_or_else(|| panic!("`tool_name` was accepted on an inference event"));
        assert_eq!(problem.place, Place::Defaults("tool_name".into()));
        assert!(problem.message.contains("`defaults` sets `tool_name`"));
        assert!(
            problem.help.iter().any(|help| help.contains("`tool_call`")),
            "{problem:?}"
        );
    }

    #[test]
    fn event_types_and_timestamps_are_checked_even_when_not_strict() {
        let unknown = check(
            json!({ "timestamp": "2026-03-02T10:00:00Z", "event_type": "inferense" }),
            json!({}),
            false,
        )
        .err()
        .unwrap_or_else(|| panic!("an unknown event type was accepted"));
        assert_eq!(unknown.help, vec!["did you mean `inference`?".to_string()]);
        let late = check(
            json!({ "timestamp": "yesterday", "event_type": "inference" }),
            json!({}),
            false,
        )
        .err()
        .unwrap_or_else(|| panic!("`yesterday` was accepted"));
        assert!(
            late.message
                .starts_with("`timestamp: \"yesterday\"` is not RFC 3339"),
            "{}",
            late.message
        );
        assert!(!late.message.contains('['), "no regex: {}", late.message);
        assert!(is_rfc3339("2026-03-02T10:00:00.5+01:00"));
        assert!(!is_rfc3339("2026-03-02 10:00"));
        let missing = check(
            json!({ "timestamp": "2026-03-02T10:00:00Z" }),
            json!({}),
            true,
        );
        assert_eq!(
            missing.err().map(|problem| problem.place),
            Some(Place::Event)
        );
    }
}
