//! JSON Schema of the events: what a log line must look like.
//!
//! Input: the checked event schema ([`ir::Schema`]). Output: a JSON Schema
//! (draft 2020-12) with the common fields at the top, `event_type` limited to
//! the declared event types, and one `if`/`then` branch per event type adding
//! its own fields. Unknown fields are allowed; an optional field may be absent
//! or `null`, which rules treat the same.

use serde_json::{Map, Value, json};

use crate::ir;

/// The JSON Schema (draft 2020-12) that every event line must satisfy.
/// RFC 3339 date-time (the `format` keyword alone is an annotation in 2020-12).
pub(crate) const RFC3339_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";

/// A dotted-quad IPv4 address.
const IPV4_PATTERN: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$";

/// The characters of an IPv6 address, with at least one colon (the `ipv6`
/// format checks the rest where a validator asserts formats).
const IPV6_PATTERN: &str = r"^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$";

pub fn json_schema(schema: &ir::Schema) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in &schema.common {
        properties.insert(field.name.clone(), field_schema(field));
        if field.required {
            required.push(Value::String(field.name.clone()));
        }
    }
    let event_types: Vec<Value> = schema
        .events
        .keys()
        .map(|name| Value::String(name.clone()))
        .collect();
    let event_type = properties
        .entry("event_type".to_string())
        .or_insert_with(|| json!({ "type": "string" }));
    if let Value::Object(object) = event_type {
        object.insert("enum".to_string(), Value::Array(event_types));
        object.remove("type");
        object.insert("type".to_string(), json!("string"));
    }
    let branches: Vec<Value> = schema
        .events
        .values()
        .map(|event| {
            let mut own = Map::new();
            let mut own_required = Vec::new();
            for field in &event.fields {
                own.insert(field.name.clone(), field_schema(field));
                if field.required {
                    own_required.push(Value::String(field.name.clone()));
                }
            }
            let mut then = json!({ "properties": own });
            if !own_required.is_empty() {
                then["required"] = Value::Array(own_required);
            }
            if let Some(doc) = &event.doc {
                then["description"] = Value::String(doc.clone());
            }
            json!({
                "if": {
                    "properties": { "event_type": { "const": event.name } },
                    "required": ["event_type"],
                },
                "then": then,
            })
        })
        .collect();
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Tripline LLM application event",
        "description": "One JSON object per line. Unknown fields are allowed; an absent field and a null field are the same.",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": true,
    });
    if !branches.is_empty() {
        root["allOf"] = Value::Array(branches);
    }
    root
}

/// The schema of one field; optional fields also accept `null`.
fn field_schema(field: &ir::Field) -> Value {
    let nullable = !field.required;
    let mut schema = match field.value_type {
        ir::ValueType::String | ir::ValueType::Duration | ir::ValueType::Regex => {
            match &field.one_of {
                Some(values) => {
                    let mut allowed: Vec<Value> = values.iter().map(|value| json!(value)).collect();
                    if nullable {
                        allowed.push(Value::Null);
                    }
                    json!({ "enum": allowed })
                }
                None => typed("string", nullable),
            }
        }
        ir::ValueType::Int => typed("integer", nullable),
        ir::ValueType::Float => typed("number", nullable),
        ir::ValueType::Bool => typed("boolean", nullable),
        ir::ValueType::Timestamp => {
            // `format` is only an annotation unless a validator opts in, so the
            // pattern makes every draft 2020-12 validator reject "yesterday".
            let mut schema = typed("string", nullable);
            schema["format"] = json!("date-time");
            schema["pattern"] = json!(RFC3339_PATTERN);
            schema
        }
        ir::ValueType::Ip => {
            let mut branches = vec![
                json!({ "type": "string", "format": "ipv4", "pattern": IPV4_PATTERN }),
                json!({ "type": "string", "format": "ipv6", "pattern": IPV6_PATTERN }),
            ];
            if nullable {
                branches.push(json!({ "type": "null" }));
            }
            json!({ "anyOf": branches })
        }
    };
    if let Some(doc) = &field.doc {
        schema["description"] = Value::String(doc.clone());
    }
    schema
}

fn typed(name: &str, nullable: bool) -> Value {
    if nullable {
        json!({ "type": [name, "null"] })
    } else {
        json!({ "type": name })
    }
}

#[cfg(test)]
mod tests {
    use super::json_schema;
    use crate::ir::{EventType, Field, Schema, ValueType};
    use serde_json::json;

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
                field("src_ip", ValueType::Ip, false),
            ],
            ..Schema::default()
        };
        let mut status = field("status", ValueType::String, false);
        status.one_of = Some(vec!["success".into(), "blocked".into()]);
        schema.events.insert(
            "tool_call".into(),
            EventType {
                name: "tool_call".into(),
                doc: None,
                fields: vec![field("tool_name", ValueType::String, true), status],
            },
        );
        schema.events.insert(
            "inference".into(),
            EventType {
                name: "inference".into(),
                doc: None,
                fields: vec![field("output_tokens", ValueType::Int, false)],
            },
        );
        schema
    }

    #[test]
    fn validates_good_events_and_refuses_bad_ones() {
        let document = json_schema(&schema());
        assert_eq!(
            document["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&document)
            .unwrap_or_else(|error| panic!("{error}"));
        let good = [
            json!({ "timestamp": "2026-03-02T10:00:00Z", "event_type": "tool_call", "tool_name": "http_get", "status": "success", "extra": 1 }),
            json!({ "timestamp": "2026-03-02T10:00:00Z", "event_type": "inference", "output_tokens": null, "src_ip": "2001:db8::1" }),
        ];
        for event in &good {
            assert!(validator.is_valid(event), "{event}");
        }
        let bad = [
            json!({ "event_type": "inference" }),
            json!({ "timestamp": "2026-03-02T10:00:00Z", "event_type": "tool_call", "status": "success" }),
            json!({ "timestamp": "2026-03-02T10:00:00Z", "event_type": "tool_call", "tool_name": "x", "status": "sucess" }),
            json!({ "timestamp": "2026-03-02T10:00:00Z", "event_type": "inference", "output_tokens": "many" }),
            json!({ "timestamp": "2026-03-02T10:00:00Z", "event_type": "unknown" }),
            json!({ "timestamp": "yesterday", "event_type": "inference" }),
            json!({ "timestamp": "2026-03-02T10:00:00Z", "event_type": "inference", "src_ip": "not an address" }),
        ];
        for event in &bad {
            assert!(!validator.is_valid(event), "{event}");
        }
    }
}
