//! What makes a [`SqlDialect`] a [`Target`]: the same for every SQL
//! target, so a SQL target is its dialect and its runner.

use std::collections::BTreeMap;

use super::{PanelColumns, QueryInfo, SqlDialect, panel_query, query};
use crate::ir::{self, Need, Rule, ValueType};
use crate::targets::lookup_ref;
use crate::targets::{
    Artifact, DashboardOutput, Mapping, Problem, Target, TargetField, is_dotted_identifier, plan,
};

/// What both runners share (rules, rows as alerts, the command line).
const SHARED_RUNNER: &str = include_str!("../../../targets/sql/tripline_alerts.py");

/// The manifest the runner reads: per rule, its metadata and [`QueryInfo`].
fn manifest_entry(rule: &Rule, info: &QueryInfo, file: &str) -> serde_json::Value {
    let values: BTreeMap<&str, &str> = info
        .values
        .iter()
        .map(|(label, column)| (label.as_str(), column.as_str()))
        .collect();
    let mut entry = serde_json::json!({
        "rule_id": rule.id,
        "severity": rule.metadata.severity.name(),
        "title": rule.metadata.title,
        "shape": info.shape,
        "query": file,
        "groupings": info.groupings,
        "values": values,
    });
    if !info.context.is_empty()
        && let Some(object) = entry.as_object_mut()
    {
        object.insert("context".to_string(), serde_json::json!(info.context));
    }
    entry
}

/// What a SQL target adds to [`SqlDialect`]: its product, runner and notes.
/// Every `SqlTarget` is a [`Target`]: the rest is the same for all.
pub trait SqlTarget: SqlDialect {
    /// The product, for people.
    const PRODUCT: &'static str;
    /// The runner script, `run.py`.
    const RUNNER: &'static str;
    /// The README written beside the queries.
    const README: &'static str;

    /// The column type of a schema type.
    fn column_type(&self, value_type: ValueType) -> &'static str;
}

/// The needs every SQL target supports: all of them (`in cidr` through
/// the addresses `SqlSyntax::address_steps` computes).
fn supports(_need: Need) -> bool {
    true
}

/// Why a SQL target lacks a need.
fn lacks_reason(target: &str, need: Need) -> String {
    format!("{target} has no {}", need.description())
}

/// The default mapping: canonical names, the target's column types, the `events` table.
fn default_mapping<T: SqlTarget>(target: &T, schema: &ir::Schema) -> Mapping {
    Mapping::from_schema(schema, vec!["events".to_string()], |field| TargetField {
        name: field.name.clone(),
        field_type: target.column_type(field.value_type).to_string(),
    })
}

/// A column name: a plain identifier that is not one of the runner's own.
fn check_field_name(name: &str) -> Result<(), String> {
    let plain = is_dotted_identifier(name) && !name.contains('.') && !name.starts_with('@');
    if plain && !name.starts_with('_') {
        Ok(())
    } else {
        Err("a column here is letters, digits and `_`, not starting with a digit or `_` (the runner's own columns start with `_`)".to_string())
    }
}

/// The events table: one name, optionally qualified by a schema (`logs.llm_events`).
fn check_data_source(values: &[String]) -> Result<(), String> {
    match values {
        [table] if is_dotted_identifier(table) && !table.starts_with('@') => Ok(()),
        _ => Err("the data source is one table name, optionally schema-qualified (`events`, `logs.llm_events`)".to_string()),
    }
}

/// One rule: its query and its line of `rules.jsonl`.
fn compile_rule<T: SqlTarget>(
    target: &T,
    rule: &Rule,
    pack: &ir::Pack,
    mapping: &Mapping,
) -> Result<Vec<Artifact>, Vec<Problem>> {
    let plan = plan::plan(rule, pack)?;
    let (text, info) = query(target, rule, &plan, mapping, &pack.lookups)?;
    let file = format!("rules/{}.sql", rule.id);
    let entry = manifest_entry(rule, &info, &file);
    Ok(vec![
        Artifact { path: file, text },
        Artifact {
            path: "rules.jsonl".to_string(),
            text: format!("{entry}\n"),
        },
    ])
}

/// The runner, its README and the events table's columns.
fn pack_artifacts<T: SqlTarget>(_target: &T, pack: &ir::Pack, mapping: &Mapping) -> Vec<Artifact> {
    // The lookups a query may read by reference: each one's keys, as
    // `lookups/<name>.csv`, which the runner loads as a table of that name.
    let mut shipped_lookups = Vec::new();
    let mut lookup_files = Vec::new();
    for lookup in pack.lookups.values() {
        if lookup.rows.len() <= mapping.inline_rows() {
            continue;
        }
        if let Some(shipped) = lookup_ref::shipped(lookup) {
            let name = lookup_ref::shipped_name(&lookup.name);
            lookup_files.push(Artifact {
                path: format!("lookups/{name}.csv"),
                text: lookup_ref::keys_csv("key", &shipped),
            });
            shipped_lookups.push(name);
        }
    }
    let columns: Vec<serde_json::Value> = mapping
        .fields
        .iter()
        .map(|(canonical, field)| {
            serde_json::json!({"field": canonical, "column": field.name, "type": field.field_type})
        })
        .collect();
    let table = serde_json::json!({
        "table": mapping.data_source.first().cloned().unwrap_or_else(|| "events".to_string()),
        "columns": columns,
        "lookups": shipped_lookups,
    });
    let mut artifacts = vec![
        Artifact {
            path: "run.py".to_string(),
            text: T::RUNNER.to_string(),
        },
        Artifact {
            path: "tripline_alerts.py".to_string(),
            text: SHARED_RUNNER.to_string(),
        },
        Artifact {
            path: "README.md".to_string(),
            text: T::README.to_string(),
        },
        Artifact {
            path: "events_table.json".to_string(),
            text: format!(
                "{}\n",
                serde_json::to_string_pretty(&table).unwrap_or_default()
            ),
        },
    ];
    artifacts.extend(lookup_files);
    artifacts
}

/// Every dashboard's panels as queries, `dashboards/<dashboard>/<panel>.sql`,
/// and `dashboards.jsonl`, one line per panel written, which the runner
/// reads (`run.py --panels`): where the query is and what its columns are.
fn dashboard_artifacts<T: SqlTarget>(
    target: &T,
    pack: &ir::Pack,
    mapping: &Mapping,
) -> DashboardOutput {
    let mut output = DashboardOutput::default();
    let mut manifest = String::new();
    for dashboard in &pack.dashboards {
        for panel in &dashboard.panels {
            let name = format!("{}.{}", dashboard.id, panel.id);
            let query = plan::panel::panel(panel, pack)
                .and_then(|plan| panel_query(target, dashboard, &plan, mapping, &pack.lookups));
            match query {
                Ok((text, columns)) => {
                    let file = format!("dashboards/{}/{}.sql", dashboard.id, panel.id);
                    manifest.push_str(&panel_entry(dashboard, panel, &columns, &file));
                    output.artifacts.push(Artifact { path: file, text });
                }
                Err(problems) => output.failures.push((name, problems)),
            }
        }
        output.written.push(dashboard.id.clone());
    }
    if !manifest.is_empty() {
        output.artifacts.push(Artifact {
            path: "dashboards.jsonl".to_string(),
            text: manifest,
        });
    }
    output
}

/// One line of `dashboards.jsonl`.
fn panel_entry(
    dashboard: &ir::dashboard::Dashboard,
    panel: &ir::dashboard::Panel,
    columns: &PanelColumns,
    file: &str,
) -> String {
    let entry = serde_json::json!({
        "dashboard": dashboard.id,
        "panel": panel.id,
        "title": panel.title,
        "visual": panel.visual.keyword(),
        "range_ms": panel.range_ms,
        "query": file,
        "columns": columns,
    });
    format!("{entry}\n")
}

impl<T: SqlTarget> Target for T {
    fn id(&self) -> &'static str {
        self.target()
    }

    fn product(&self) -> &'static str {
        T::PRODUCT
    }

    fn supports(&self, need: Need) -> bool {
        supports(need)
    }

    fn lacks_reason(&self, need: Need) -> String {
        lacks_reason(self.target(), need)
    }

    fn default_mapping(&self, schema: &ir::Schema) -> Mapping {
        default_mapping(self, schema)
    }

    fn check_field_name(&self, name: &str) -> Result<(), String> {
        check_field_name(name)
    }

    fn check_data_source(&self, values: &[String]) -> Result<(), String> {
        check_data_source(values)
    }

    fn compile_rule(
        &self,
        rule: &Rule,
        pack: &ir::Pack,
        mapping: &Mapping,
    ) -> Result<Vec<Artifact>, Vec<Problem>> {
        compile_rule(self, rule, pack, mapping)
    }

    fn pack_artifacts(&self, pack: &ir::Pack, mapping: &Mapping) -> Vec<Artifact> {
        pack_artifacts(self, pack, mapping)
    }

    fn dashboard_artifacts(&self, pack: &ir::Pack, mapping: &Mapping) -> DashboardOutput {
        dashboard_artifacts(self, pack, mapping)
    }
}

/// A name as it is when it is a plain identifier, otherwise quoted with
/// `quote` (doubled inside).
pub fn plain_or_quoted(name: &str, quote: char) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_')
        && !name.starts_with(|character: char| character.is_ascii_digit())
        && !RESERVED.contains(&name.to_ascii_uppercase().as_str());
    if plain {
        name.to_string()
    } else {
        let doubled = name.replace(quote, &format!("{quote}{quote}"));
        format!("{quote}{doubled}{quote}")
    }
}

/// Words that are reserved in DuckDB or Spark and could be schema fields.
const RESERVED: &[&str] = &[
    "ALL",
    "AND",
    "AS",
    "BY",
    "CASE",
    "CAST",
    "CREATE",
    "DEFAULT",
    "DESC",
    "DISTINCT",
    "END",
    "FALSE",
    "FROM",
    "GROUP",
    "IN",
    "INTERVAL",
    "IS",
    "LIMIT",
    "NOT",
    "NULL",
    "OR",
    "ORDER",
    "SELECT",
    "TABLE",
    "THEN",
    "TIMESTAMP",
    "TO",
    "TRUE",
    "USER",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];
