//! Alerts: the evaluator's output record and its renderings.
//!
//! Input: [`Alert`]s in the order the engine raises them. Output: one JSON
//! object per line, or a human summary table per rule.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::ir::Severity;

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's severity.
    pub severity: Severity,
    /// The rule's title.
    pub title: String,
    /// Group-by fields and values (`by` key for sequences; key and new values
    /// for new-value rules; for clusters only `fingerprint`, the band and
    /// band key its events share ([`crate::ir::fingerprint::join`]), no
    /// sample text; for match
    /// rules the event's key fields, [`crate::ir::Schema::match_key`]).
    pub group: BTreeMap<String, serde_json::Value>,
    /// RFC 3339 time of the first contributing event.
    pub first_seen: String,
    /// RFC 3339 time of the last contributing event.
    pub last_seen: String,
    /// Number of contributing events.
    pub count: u64,
    /// Ids of the first contributing events (at most `max_event_ids`).
    pub event_ids: Vec<String>,
    /// Whether `event_ids` lists fewer than `count` events.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The computed values of the alert condition, by the label written in the rule.
    pub values: BTreeMap<String, serde_json::Value>,
    /// For window rules with `context f, ...`: each field's sorted distinct
    /// non-null values in the group's window.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, Vec<String>>,
}

impl Alert {
    /// The alert as one JSON line (without the newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Writes alerts as JSON lines. A failed write keeps its own error kind (a
/// reader that went away is `BrokenPipe`, not serde's `Other`).
pub fn write_json_line(writer: &mut dyn Write, alert: &Alert) -> io::Result<()> {
    serde_json::to_writer(&mut *writer, alert).map_err(io::Error::from)?;
    writer.write_all(b"\n")
}

/// Collects alerts for the human table: per rule, the count and the first groups.
#[derive(Debug, Default)]
pub struct TableCollector {
    rules: BTreeMap<String, (Severity, String, u64, Vec<String>)>,
}

/// Groups shown per rule in the table.
const TABLE_GROUPS: usize = 5;

impl TableCollector {
    /// Records one alert.
    pub fn add(&mut self, alert: &Alert) {
        let entry = self
            .rules
            .entry(alert.rule_id.clone())
            .or_insert_with(|| (alert.severity, alert.title.clone(), 0, Vec::new()));
        entry.2 += 1;
        if entry.3.len() < TABLE_GROUPS {
            let group: Vec<String> = alert
                .group
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            let group = if group.is_empty() {
                "(event)".to_string()
            } else {
                group.join(" ")
            };
            entry.3.push(format!("{}  {}", alert.first_seen, group));
        }
    }

    /// Writes the table, including the rules that raised nothing.
    pub fn write(
        &self,
        writer: &mut dyn Write,
        all_rules: &BTreeMap<String, u64>,
    ) -> io::Result<()> {
        let width = all_rules.keys().map(String::len).max().unwrap_or(4).max(4);
        writeln!(
            writer,
            "{:<width$}  {:>8}  severity  title",
            "rule", "alerts"
        )?;
        for (rule, count) in all_rules {
            match self.rules.get(rule) {
                Some((severity, title, _, groups)) => {
                    writeln!(
                        writer,
                        "{rule:<width$}  {count:>8}  {:<8}  {title}",
                        severity.name()
                    )?;
                    for group in groups {
                        writeln!(writer, "{:<width$}            {group}", "")?;
                    }
                    if *count > groups.len() as u64 {
                        writeln!(
                            writer,
                            "{:<width$}            ... {} more",
                            "",
                            count - groups.len() as u64
                        )?;
                    }
                }
                None => writeln!(writer, "{rule:<width$}  {count:>8}")?,
            }
        }
        Ok(())
    }
}
