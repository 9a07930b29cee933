//! The dashboard preview's data as JSON, for checks that run a panel's
//! compiled query elsewhere and compare its rows.

use crate::eval::panel::DashboardData;
use crate::ir::dashboard::Dashboard;

/// A dashboard's data as JSON (`tripline dashboard preview --json FILE`):
/// each panel's rows as the evaluator computes them, for checks that run
/// the compiled panel queries elsewhere and compare.
///
/// `{"dashboard", "end_ms", "events", "panels": [{"id", "title", "visual",
/// "keys", "measures", "labels", "bucket_ms", "range": [start, end], "rows":
/// [{"bucket", "keys", "values"}]}]}`: `bucket` only when the panel is over
/// time; key values as the field's type (a `bin` key as a number); a measure
/// without a value (and a non-finite one) as `null`; rows in the preview's
/// order.
pub fn json(dashboard: &Dashboard, data: &DashboardData) -> serde_json::Value {
    use crate::eval::panel::KeyPart;
    use serde_json::{Value, json};
    let number =
        |value: f64| serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
    let panels: Vec<Value> = dashboard
        .panels
        .iter()
        .zip(&data.panels)
        .map(|(panel, found)| {
            let rows: Vec<Value> = found
                .rows
                .iter()
                .map(|row| {
                    let keys: Vec<Value> = row
                        .keys
                        .iter()
                        .map(|key| match key {
                            KeyPart::Bool(value) => Value::Bool(*value),
                            KeyPart::Int(value) => json!(value),
                            KeyPart::Float(value) => number(*value),
                            KeyPart::Text(text) => Value::String(text.clone()),
                        })
                        .collect();
                    let values: Vec<Value> = row
                        .values
                        .iter()
                        .map(|value| value.map_or(Value::Null, number))
                        .collect();
                    let mut entry = serde_json::Map::new();
                    if let Some(bucket) = row.bucket {
                        entry.insert("bucket".to_string(), json!(bucket));
                    }
                    entry.insert("keys".to_string(), Value::Array(keys));
                    entry.insert("values".to_string(), Value::Array(values));
                    Value::Object(entry)
                })
                .collect();
            json!({
                "id": found.id,
                "title": panel.title,
                "visual": panel.visual.keyword(),
                "keys": found.keys,
                "measures": found.measures,
                "labels": found.labels,
                "bucket_ms": found.bucket_ms,
                "range": found.range.map(|(start, end)| [start, end]),
                "rows": rows,
            })
        })
        .collect();
    json!({
        "dashboard": dashboard.id,
        "end_ms": data.end,
        "events": data.events,
        "panels": panels,
    })
}
