//! `sentinel_kql`: Microsoft Sentinel scheduled analytics rules in Kusto.
//!
//! Input: a checked rule whose needs this target supports, the pack and a
//! [`Mapping`] to the PascalCase columns of one custom table. Output: per rule
//! the analytics rule in the YAML form of the Azure-Sentinel repository
//! (`rules/<id>.yaml`), the same rule as an ARM template (`arm/<id>.json`)
//! and the query alone (`queries/<id>.kql`); for the pack, the custom table
//! definition (`tables/LLMAppEvents_CL.json`) and the data collection rule
//! that fills it (`dcr/LLMAppEvents_CL.json`, [`dcr`]); per dashboard, a workbook
//! (`workbooks/<id>.json`, [`workbook`]). Both rule forms are serialised
//! from one [`SentinelRule`]. Translation rules and what conformance proves
//! are in `docs/targets.md`.

mod arm;
pub mod dcr;
pub mod panel;
mod query;
pub mod quote;
mod syntax;
pub mod workbook;

use serde::Serialize;
use serde_json::json;

use super::{Artifact, DashboardOutput, Mapping, Problem, Target, TargetField, duration_text};
use crate::ir::{self, Need, Pack, Rule, Severity, ValueType};

use super::deploy::{ENTITY_FIELDS, Entity, attack_techniques, routes_named};
use super::uuid::uuid_v5;
pub use arm::*;
pub use query::{Query, rule_query};

/// The target id.
pub const ID: &str = "sentinel_kql";

/// The custom table holding the events.
pub const TABLE: &str = "LLMAppEvents_CL";

/// The longest interactive (Analytics) retention of a table, and the
/// longest total retention with the long-term tier, in days; the shortest
/// of either is 4 days
/// (https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure).
pub const MAX_INTERACTIVE_RETENTION_DAYS: u32 = 730;
/// See [`MAX_INTERACTIVE_RETENTION_DAYS`].
pub const MAX_TOTAL_RETENTION_DAYS: u32 = 4383;
const MIN_RETENTION_DAYS: u32 = 4;

/// The table's `retentionInDays` and `totalRetentionInDays` for a retention:
/// interactive up to 730 days, the rest in the long-term tier (still kept,
/// searchable with search jobs, and as tamper-proof as the rest of the
/// workspace); never less than Log Analytics' 4 days.
pub fn table_retention(days: u32) -> (u32, u32) {
    let total = days.clamp(MIN_RETENTION_DAYS, MAX_TOTAL_RETENTION_DAYS);
    (total.min(MAX_INTERACTIVE_RETENTION_DAYS), total)
}

/// The shortest and longest `queryFrequency`/`queryPeriod` Sentinel accepts
/// ("5 minutes to 14 days",
/// <https://learn.microsoft.com/azure/sentinel/scheduled-rules-overview>).
const MIN_PERIOD_MS: i64 = 5 * 60_000;
const MAX_PERIOD_MS: i64 = 14 * 86_400_000;

/// The longest query a scheduled rule takes, in characters (same page:
/// "between 1 and 10,000 characters").
pub const MAX_QUERY_CHARS: usize = 10_000;

/// Where Sentinel's limits on scheduled rules are documented.
const LIMITS_PAGE: &str = "https://learn.microsoft.com/azure/sentinel/scheduled-rules-overview";

/// The namespace of the rule GUIDs (UUID v5 of the rule id).
pub(super) const NAMESPACE: [u8; 16] = [
    0x6b, 0x1f, 0x3c, 0x52, 0x8e, 0x0d, 0x4a, 0x57, 0x9a, 0x31, 0x27, 0x4e, 0x1d, 0x5c, 0x90, 0x2b,
];

const QUERY_TEMPLATE: &str = include_str!("../../../targets/sentinel_kql/query.kql.j2");

/// Microsoft Sentinel analytics rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct SentinelKql;

impl Target for SentinelKql {
    fn id(&self) -> &'static str {
        ID
    }

    fn product(&self) -> &'static str {
        "Microsoft Sentinel, scheduled analytics rules in KQL"
    }

    fn supports(&self, need: Need) -> bool {
        matches!(
            need,
            Need::Match
                | Need::Threshold
                | Need::GroupingSets
                | Need::CaseInsensitiveText
                | Need::WhitespaceFolding
                | Need::Regex
                | Need::KeyedLookup
                | Need::NarrowedLookup
                | Need::Cidr
                | Need::MultiTypeSource
                | Need::Baseline
                | Need::Percentile
                | Need::NewValue
                | Need::Arithmetic
                | Need::Sequence
                | Need::SequenceRepeat
                | Need::Cluster
        )
    }

    fn lacks_reason(&self, need: Need) -> String {
        format!("{ID} has no {}", need.description())
    }

    fn default_mapping(&self, schema: &ir::Schema) -> Mapping {
        Mapping::from_schema(schema, vec![TABLE.to_string()], |field| TargetField {
            name: if field.name == "timestamp" {
                "TimeGenerated".to_string()
            } else {
                quote::pascal_case(&field.name)
            },
            field_type: kusto_type(field.value_type).to_string(),
        })
    }

    fn check_field_name(&self, name: &str) -> Result<(), String> {
        if super::is_dotted_identifier(name) && !name.contains('.') && !name.starts_with('@') {
            Ok(())
        } else {
            Err(
                "a column of a custom table is letters, digits and `_`, not starting with a digit"
                    .to_string(),
            )
        }
    }

    fn check_data_source(&self, values: &[String]) -> Result<(), String> {
        match values {
            [table]
                if table.ends_with("_CL")
                    && super::is_dotted_identifier(table)
                    && !table.contains('.')
                    && !table.starts_with('@') =>
            {
                Ok(())
            }
            _ => Err(
                "the data source is one custom log table, named like `LLMAppEvents_CL`".to_string(),
            ),
        }
    }

    fn compile_rule(
        &self,
        rule: &Rule,
        pack: &Pack,
        mapping: &Mapping,
    ) -> Result<Vec<Artifact>, Vec<Problem>> {
        let table = mapping
            .data_source
            .first()
            .map_or(TABLE, String::as_str)
            .to_string();
        let query = rule_query(rule, pack, mapping, &table)?;
        let bug = |message: String| vec![Problem::untranslatable(rule.origin, message)];
        let frequency = query.frequency_ms;
        let period = query.period_ms.max(frequency);
        check_limits(rule, &query)?;
        let sentinel = sentinel_rule(rule, &query, mapping, frequency, period);
        let yaml = serde_yaml::to_string(&sentinel)
            .map_err(|error| bug(format!("the rule does not serialise: {error}")))?;
        let arm = serde_json::to_string_pretty(&arm_template(&sentinel))
            .map_err(|error| bug(format!("the ARM template does not serialise: {error}")))?;
        let environment = super::templates::environment(&[("query.kql.j2", QUERY_TEMPLATE)]);
        let query_file = super::templates::render(
            &environment,
            "query.kql.j2",
            json!({
                "version": env!("CARGO_PKG_VERSION"),
                "target": ID,
                "rule_id": rule.id,
                "rule_version": rule.metadata.version,
                "query": query.text,
            }),
        )
        .map_err(bug)?;
        Ok(vec![
            Artifact {
                path: format!("rules/{}.yaml", rule.id),
                text: format!(
                    "# Generated by tripline {} for target {ID} from rule {}; do not edit.\n{yaml}",
                    env!("CARGO_PKG_VERSION"),
                    rule.id
                ),
            },
            Artifact {
                path: format!("arm/{}.json", rule.id),
                text: format!("{arm}\n"),
            },
            Artifact {
                path: format!("queries/{}.kql", rule.id),
                text: query_file,
            },
        ])
    }

    fn pack_artifacts(&self, pack: &Pack, mapping: &Mapping) -> Vec<Artifact> {
        let table = mapping
            .data_source
            .first()
            .map_or(TABLE, String::as_str)
            .to_string();
        let mut columns: Vec<(&String, &TargetField)> = mapping.fields.iter().collect();
        columns.sort_by(|left, right| left.1.name.cmp(&right.1.name));
        let (interactive, total) = table_retention(mapping.deploy.retention_days());
        let columns: Vec<serde_json::Value> = columns
            .iter()
            .map(|(canonical, field)| {
                json!({
                    "name": field.name,
                    "type": table_type(&field.field_type),
                    "description": format!("Tripline field `{canonical}`"),
                })
            })
            .collect();
        let template = arm_workspace_template(
            Some(generator_metadata(&[])),
            json!({
                "type": "Microsoft.OperationalInsights/workspaces/tables",
                "apiVersion": "2022-10-01",
                "name": format!("[concat(parameters('workspace'), '/{table}')]"),
                "properties": {
                    "plan": "Analytics",
                    "retentionInDays": interactive,
                    "totalRetentionInDays": total,
                    "schema": { "name": table, "columns": columns },
                },
            }),
        );
        let text = serde_json::to_string_pretty(&template).unwrap_or_default();
        let dcr =
            serde_json::to_string_pretty(&dcr::dcr_template(&table, mapping)).unwrap_or_default();
        let mut artifacts = vec![
            Artifact {
                path: format!("tables/{table}.json"),
                text: format!("{text}\n"),
            },
            Artifact {
                path: format!("dcr/{table}.json"),
                text: format!("{dcr}\n"),
            },
        ];
        artifacts.extend(automation_rules(self, pack, mapping));
        for lookup in pack.lookups.values() {
            if lookup.rows.len() <= mapping.inline_rows() {
                continue;
            }
            if let Some(shipped) = super::lookup_ref::shipped(lookup)
                && super::lookup_ref::keys_csv(syntax::WATCHLIST_KEY, &shipped).len()
                    <= syntax::MAX_WATCHLIST_BYTES
            {
                let alias = super::lookup_ref::shipped_name(&lookup.name);
                let text =
                    serde_json::to_string_pretty(&watchlist_template(lookup, &alias, &shipped))
                        .unwrap_or_default();
                artifacts.push(Artifact {
                    path: format!("watchlists/{alias}.json"),
                    text: format!("{text}\n"),
                });
            }
        }
        artifacts
    }

    /// One workbook per dashboard (`workbooks/<id>.json`, see
    /// [`workbook`]); a panel without an exact query is left out and
    /// reported.
    fn dashboard_artifacts(&self, pack: &Pack, mapping: &Mapping) -> DashboardOutput {
        if pack.dashboards.is_empty() {
            return DashboardOutput::default();
        }
        let table = mapping
            .data_source
            .first()
            .map_or(TABLE, String::as_str)
            .to_string();
        let registry = super::registry();
        let rules: Vec<(String, String)> = pack
            .rules
            .iter()
            .filter(|rule| super::compile_rule(self, rule, pack, mapping, &registry).is_ok())
            .map(|rule| (rule_guid(&rule.id), rule.id.clone()))
            .collect();
        let mut output = DashboardOutput::default();
        for dashboard in &pack.dashboards {
            let built = workbook::workbook(dashboard, pack, mapping, &table, &rules);
            output.failures.extend(built.failures);
            output.artifacts.push(built.artifact);
            output.written.push(dashboard.id.clone());
        }
        output
    }
}

/// A lookup's keys as an ARM `watchlists` resource, read by the queries
/// with `_GetWatchlist(alias)`: one column, `key`, the watchlist's
/// `SearchKey` (https://learn.microsoft.com/en-us/azure/templates/microsoft.securityinsights/watchlists).
fn watchlist_template(
    lookup: &ir::Lookup,
    alias: &str,
    shipped: &super::lookup_ref::Shipped,
) -> serde_json::Value {
    let columns: Vec<&str> = lookup
        .columns
        .iter()
        .map(|column| column.name.as_str())
        .collect();
    arm_workspace_template(
        Some(generator_metadata(&[])),
        json!({
            "type": "Microsoft.OperationalInsights/workspaces/providers/watchlists",
            "apiVersion": "2022-11-01",
            "name": format!("[concat(parameters('workspace'), '/Microsoft.SecurityInsights/{alias}')]"),
            "properties": {
                "displayName": alias,
                "watchlistAlias": alias,
                "description": format!(
                    "Tripline lookup `{}` ({}): each row as `{}` lowercased, each cell after `{}`. Generated; edit the lookup and recompile.",
                    lookup.name,
                    lookup.file,
                    columns.join(", "),
                    shipped.separator.escape_default()
                ),
                "provider": "Tripline",
                "source": format!("{alias}.csv"),
                "itemsSearchKey": syntax::WATCHLIST_KEY,
                "contentType": "text/csv",
                "numberOfLinesToSkip": 0,
                "rawContent": super::lookup_ref::keys_csv(syntax::WATCHLIST_KEY, shipped),
            },
        }),
    )
}

/// Sentinel's limits on a scheduled rule, checked before anything is
/// written: a frequency and a period of 5 minutes to 14 days, the period at
/// least the frequency and, from two days, the frequency at least an hour;
/// a query of at most 10,000 characters. A period that is too long is
/// refused at the construct whose history makes it so.
fn check_limits(rule: &Rule, query: &Query) -> Result<(), Vec<Problem>> {
    let (frequency, period) = (query.frequency_ms, query.period_ms.max(query.frequency_ms));
    let refuse = |origin, message: String| Err(vec![Problem::untranslatable(origin, message)]);
    if !(MIN_PERIOD_MS..=MAX_PERIOD_MS).contains(&frequency) {
        return refuse(
            rule.origin,
            format!(
                "the schedule would make the queryFrequency {}; Sentinel runs a rule every 5m to 14d ({LIMITS_PAGE})",
                duration_text(frequency)
            ),
        );
    }
    if period > MAX_PERIOD_MS {
        let needs = ir::needs_with_origins(rule);
        let origin = [Need::Baseline, Need::NewValue, Need::Threshold]
            .iter()
            .find_map(|need| needs.get(need).copied())
            .unwrap_or(rule.origin);
        return refuse(
            origin,
            format!(
                "each run needs {} of events ({}); a Sentinel scheduled rule looks back at most 14d ({LIMITS_PAGE})",
                span_text(period),
                query.period_parts
            ),
        );
    }
    if period >= query::LONG_PERIOD_MS && frequency < query::LONG_PERIOD_FREQUENCY_MS {
        return refuse(
            rule.origin,
            format!(
                "a queryPeriod of {} needs a queryFrequency of at least 1h, not {}",
                duration_text(period),
                duration_text(frequency)
            ),
        );
    }
    let length = query.text.chars().count();
    if length > MAX_QUERY_CHARS {
        return refuse(
            rule.origin,
            format!(
                "the query has {length} characters; a Sentinel scheduled rule takes at most {MAX_QUERY_CHARS} ({LIMITS_PAGE})"
            ),
        );
    }
    Ok(())
}

/// A duration in days, hours, minutes and seconds (`30d 1h 5m`), for messages.
fn span_text(milliseconds: i64) -> String {
    let mut rest = milliseconds / 1000;
    let mut parts = Vec::new();
    for (size, unit) in [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")] {
        if rest >= size {
            parts.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if parts.is_empty() {
        duration_text(milliseconds)
    } else {
        parts.join(" ")
    }
}

/// The Kusto type of a schema type (`ip` is text in Sentinel).
pub fn kusto_type(value_type: ValueType) -> &'static str {
    match value_type {
        ValueType::String | ValueType::Ip | ValueType::Regex => "string",
        ValueType::Int => "long",
        ValueType::Float => "real",
        ValueType::Bool => "bool",
        ValueType::Timestamp => "datetime",
        ValueType::Duration => "timespan",
    }
}

/// The type name of the Log Analytics tables API for a Kusto type.
fn table_type(kusto: &str) -> &str {
    match kusto {
        "bool" => "boolean",
        "datetime" => "dateTime",
        other => other,
    }
}

#[cfg(test)]
mod tests;
