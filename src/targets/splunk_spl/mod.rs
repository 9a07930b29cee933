//! `splunk_spl`: a Splunk app of scheduled searches (SPL).
//!
//! Input: a checked rule whose needs this target supports, the pack and a
//! [`Mapping`] (canonical names as they are: JSON events extracted at search
//! time). Output: per rule a `savedsearches.conf` stanza and an empty tuning
//! macro in `macros.conf`; per pack the rest of the app directory
//! `tripline_llm_security/` (`app.conf`, the data-source macro,
//! `transforms.conf` and `lookups/*.csv`, `metadata/default.meta`, `README`).
//! `match` rules, windowed thresholds (grouping sets included), baselines
//! (`eventstats` over the reported bucket's history), exact percentiles
//! (`sort 0` and `accum` ranks) and new values (`sort 0`, `autoregress`,
//! `filldown`) and sequences `A repeat >= n; B` (`sort 0`, `accum`,
//! `autoregress`) and clusters (the fingerprint's band keys with `rex`,
//! `mvmap`, `md5` and the other multivalue functions, then `stats` by
//! them) are translated exactly. The translation and its assumptions are in
//! `docs/targets.md`.

pub mod dashboard;
pub mod lookup;
mod query;
pub mod quote;
mod syntax;

use serde_json::json;

use super::templates::{environment, render};
use super::{Artifact, DashboardOutput, Mapping, Problem, Target, TargetField, duration_text};
use crate::ir::{self, Need, Pack, Rule, Severity, Value, ValueType};

pub use query::{LATENESS_SECONDS, WINDOW_FIELD, panel_search, rule_search};
use quote::{conf_value, stanza_name};

/// The target id.
pub const ID: &str = "splunk_spl";

/// The app directory (and app id).
pub const APP: &str = "tripline_llm_security";

/// The data-source macro every search starts with.
pub const DATA_SOURCE_MACRO: &str = "tripline_llm_events";

/// Its default definition.
pub const DATA_SOURCE: &str = "index=llm sourcetype=llm_application:json";

const TEMPLATES: &[(&str, &str)] = &[
    (
        "savedsearch.conf.j2",
        include_str!("../../../targets/splunk_spl/savedsearch.conf.j2"),
    ),
    (
        "filter_macro.conf.j2",
        include_str!("../../../targets/splunk_spl/filter_macro.conf.j2"),
    ),
    (
        "macros.conf.j2",
        include_str!("../../../targets/splunk_spl/macros.conf.j2"),
    ),
    (
        "app.conf.j2",
        include_str!("../../../targets/splunk_spl/app.conf.j2"),
    ),
    (
        "default.meta.j2",
        include_str!("../../../targets/splunk_spl/default.meta.j2"),
    ),
    (
        "transforms.conf.j2",
        include_str!("../../../targets/splunk_spl/transforms.conf.j2"),
    ),
    (
        "README.j2",
        include_str!("../../../targets/splunk_spl/README.j2"),
    ),
    (
        "indexes.conf.j2",
        include_str!("../../../targets/splunk_spl/indexes.conf.j2"),
    ),
    (
        "props.conf.j2",
        include_str!("../../../targets/splunk_spl/props.conf.j2"),
    ),
];

/// The longest event the source type indexes whole, in bytes (`TRUNCATE`):
/// LLM outputs and tool results are long, and a cut event loses the
/// fields after the cut.
const TRUNCATE_BYTES: u32 = 1_000_000;

/// Splunk scheduled searches in an app.
#[derive(Debug, Clone, Copy, Default)]
pub struct SplunkSpl;

impl Target for SplunkSpl {
    fn id(&self) -> &'static str {
        ID
    }

    fn product(&self) -> &'static str {
        "Splunk Enterprise, scheduled searches (SPL) in an app"
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
                | Need::MultiTypeSource
                | Need::Baseline
                | Need::Percentile
                | Need::NewValue
                | Need::Arithmetic
                | Need::Sequence
                | Need::SequenceRepeat
                | Need::Cluster
                | Need::Cidr
        )
    }

    fn default_mapping(&self, schema: &ir::Schema) -> Mapping {
        Mapping::from_schema(schema, vec![DATA_SOURCE.to_string()], |field| TargetField {
            name: field.name.clone(),
            field_type: splunk_type(field.value_type).to_string(),
        })
    }

    fn compile_rule(
        &self,
        rule: &Rule,
        pack: &Pack,
        mapping: &Mapping,
    ) -> Result<Vec<Artifact>, Vec<Problem>> {
        let search = rule_search(rule, pack, mapping, DATA_SOURCE_MACRO)?;
        let bug = |message: String| vec![Problem::untranslatable(rule.origin, message)];
        let Some(cron) = cron_schedule(rule.metadata.schedule_ms) else {
            return Err(vec![Problem::untranslatable(
                rule.origin,
                format!(
                    "the schedule {} has no cron form that runs once per slot (minutes dividing an hour, hours dividing a day, 1d or 7d)",
                    duration_text(rule.metadata.schedule_ms)
                ),
            )]);
        };
        let filter_macro = filter_macro_name(&rule.id);
        let mut lines = search.lines;
        lines.push(format!("| `{filter_macro}`"));
        let environment = environment(TEMPLATES);
        let version = env!("CARGO_PKG_VERSION");
        let stanza = render(
            &environment,
            "savedsearch.conf.j2",
            json!({
                "version": version,
                "target": ID,
                "rule_id": rule.id,
                "rule_version": rule.metadata.version,
                "stanza": stanza_name(&format!("Tripline - {}", rule.id)),
                "description": conf_value(&description(rule, pack)),
                "search": conf_value(&lines.join("\n")),
                "cron": cron,
                "earliest": format!("-{}s", search.look_back_seconds),
                "severity": alert_severity(rule.metadata.severity),
                "suppress_fields": search.suppress_fields.join(","),
                "suppress_period": format!("{}s", search.suppress_seconds),
                "notable": notable(rule, mapping, &search.suppress_fields),
                "risk": risk(rule, mapping, &search.suppress_fields),
            }),
        )
        .map_err(bug)?;
        let filter = render(
            &environment,
            "filter_macro.conf.j2",
            json!({ "rule_id": rule.id, "name": filter_macro }),
        )
        .map_err(bug)?;
        Ok(vec![
            Artifact {
                path: format!("{APP}/default/savedsearches.conf"),
                text: stanza,
            },
            Artifact {
                path: format!("{APP}/default/macros.conf"),
                text: filter,
            },
        ])
    }

    fn pack_artifacts(&self, pack: &Pack, mapping: &Mapping) -> Vec<Artifact> {
        let environment = environment(TEMPLATES);
        let version = env!("CARGO_PKG_VERSION");
        let data_source = mapping
            .data_source
            .first()
            .cloned()
            .unwrap_or_else(|| DATA_SOURCE.to_string());
        let mut lookups: Vec<serde_json::Value> = pack
            .lookups
            .values()
            .map(|lookup| {
                json!({
                    "name": lookup_name(&lookup.name),
                    "file": format!("{}.csv", lookup_name(&lookup.name)),
                })
            })
            .collect();
        // Lookups over the inline limit, also as the keys the searches look up.
        let keys: Vec<(String, String)> = pack
            .lookups
            .values()
            .filter(|table| table.rows.len() > mapping.inline_rows())
            .filter_map(|table| {
                let shipped = lookup::shipped(table)?;
                Some((lookup::definition(&table.name), lookup::keys_csv(&shipped)))
            })
            .collect();
        for (definition, _) in &keys {
            lookups.push(json!({ "name": definition, "file": format!("{definition}.csv") }));
        }
        let context = json!({
            "version": version,
            "target": ID,
            "app": APP,
            "app_version": app_version(),
            "name": DATA_SOURCE_MACRO,
            "data_source_macro": DATA_SOURCE_MACRO,
            "definition": conf_value(&data_source),
            "data_source": data_source,
            "lookups": lookups,
            // The app shows in Splunk's app menu, with its navigation bar,
            // when it has dashboards.
            "visible": !pack.dashboards.is_empty(),
        });
        let mut artifacts = setup(&environment, &data_source, mapping);
        let files = [
            ("macros.conf.j2", "default/macros.conf"),
            ("app.conf.j2", "default/app.conf"),
            ("transforms.conf.j2", "default/transforms.conf"),
            ("default.meta.j2", "metadata/default.meta"),
            ("README.j2", "README"),
        ];
        for (template, path) in files {
            let text = render(&environment, template, &context)
                .unwrap_or_else(|error| format!("# {error}\n"));
            artifacts.push(Artifact {
                path: format!("{APP}/{path}"),
                text,
            });
        }
        for lookup in pack.lookups.values() {
            artifacts.push(Artifact {
                path: format!("{APP}/lookups/{}.csv", lookup_name(&lookup.name)),
                text: lookup_csv(lookup),
            });
        }
        for (definition, text) in keys {
            artifacts.push(Artifact {
                path: format!("{APP}/lookups/{definition}.csv"),
                text,
            });
        }
        artifacts
    }

    fn dashboard_artifacts(&self, pack: &Pack, mapping: &Mapping) -> DashboardOutput {
        dashboard::dashboard_artifacts(pack, mapping)
    }
}

/// `default/indexes.conf` and `default/props.conf` for the index and the
/// source type the data source names (`index=NAME`, `sourcetype=NAME`;
/// either file is left out when the data source names no single plain one).
/// Settings as the configuration file reference defines them:
/// https://help.splunk.com/en/data-management/splunk-enterprise-admin-manual/10.0/10.0.0-configuration-file-reference/props.conf
/// (timestamps: https://help.splunk.com/splunk-enterprise/get-started/get-data-in/9.3/configure-timestamps/tune-timestamp-recognition-for-better-indexing-performance,
/// line breaking: https://help.splunk.com/splunk-cloud-platform/get-started/get-data-in/9.3.2411/configure-event-processing/configure-event-line-breaking,
/// `TIME_FORMAT` variables: https://help.splunk.com/en/splunk-enterprise/spl-search-reference/9.3/time-format-variables-and-modifiers)
/// and indexes.conf (https://help.splunk.com/data-management/manage-splunk-enterprise-indexers/9.2/manage-index-storage/configure-index-storage).
fn setup(
    environment: &minijinja::Environment<'static>,
    data_source: &str,
    mapping: &Mapping,
) -> Vec<Artifact> {
    let (index, sourcetype) = data_source_names(data_source);
    let days = mapping.deploy.retention_days();
    let version = env!("CARGO_PKG_VERSION");
    let mut artifacts = Vec::new();
    if let Some(index) = index {
        let context = json!({
            "version": version,
            "target": ID,
            "index": index,
            "retention_days": days,
            "frozen_seconds": u64::from(days) * 86_400,
        });
        let text = render(environment, "indexes.conf.j2", &context)
            .unwrap_or_else(|error| format!("# {error}\n"));
        artifacts.push(Artifact {
            path: format!("{APP}/default/indexes.conf"),
            text,
        });
    }
    if let Some(sourcetype) = sourcetype {
        let context = json!({
            "version": version,
            "target": ID,
            "sourcetype": sourcetype,
            "truncate": TRUNCATE_BYTES,
        });
        let text = render(environment, "props.conf.j2", &context)
            .unwrap_or_else(|error| format!("# {error}\n"));
        artifacts.push(Artifact {
            path: format!("{APP}/default/props.conf"),
            text,
        });
    }
    artifacts
}

/// The index and the source type a data-source definition names, each when
/// it names exactly one, plainly (`index=llm`, `sourcetype="llm:json"`; no
/// wildcard, no second `index=`).
pub fn data_source_names(definition: &str) -> (Option<String>, Option<String>) {
    let named = |key: &str, valid: &dyn Fn(&str) -> bool| {
        let values: Vec<&str> = definition
            .split_whitespace()
            .filter_map(|term| {
                let (name, value) = term.split_once('=')?;
                name.eq_ignore_ascii_case(key)
                    .then_some(value.trim_matches('"'))
            })
            .collect();
        match values.as_slice() {
            [value] if valid(value) => Some((*value).to_string()),
            _ => None,
        }
    };
    // Index names: lowercase letters, digits, `_` and `-`, not starting with `_` or `-`.
    let index = named("index", &|name: &str| {
        name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    });
    let sourcetype = named("sourcetype", &|name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
    });
    (index, sourcetype)
}

/// The fields of a search's results that are canonical entity fields, as
/// Splunk names them: every event field for the searches that return
/// events (match, new value, sequence: no suppression fields), the group
/// fields otherwise.
fn result_entities(
    mapping: &Mapping,
    suppress_fields: &[String],
) -> Vec<(String, super::deploy::Entity, &'static str)> {
    super::deploy::ENTITY_FIELDS
        .iter()
        .filter_map(|(canonical, entity)| {
            let name = mapping.field(canonical)?.name.clone();
            (suppress_fields.is_empty() || suppress_fields.contains(&name))
                .then_some((name, *entity, *canonical))
        })
        .collect()
}

/// The Enterprise Security notable event of a rule: its title, severity,
/// a drill-down search over the alert's time range for the events of the
/// alert's event (by `event_id`) or group, the investigation guide and
/// playbook as next steps, and the route's owner. The keys are those
/// Enterprise Security's correlation searches write
/// (https://docs.splunk.com/Documentation/ES/7.3.0/Admin/Usedrilldownsearches).
fn notable(rule: &Rule, mapping: &Mapping, suppress_fields: &[String]) -> serde_json::Value {
    let metadata = &rule.metadata;
    let keys: Vec<String> = if suppress_fields.is_empty() {
        mapping
            .field("event_id")
            .map(|field| vec![field.name.clone()])
            .unwrap_or_default()
    } else {
        // Event fields only: a cluster's fingerprint is not one, and rows of
        // independent grouping sets (`tripline_group`) leave the other sets'
        // fields empty, so those drill down to the alert's time range alone.
        let event_field = |name: &String| mapping.fields.values().any(|field| field.name == *name);
        let internal = suppress_fields
            .iter()
            .any(|field| field.as_str() != WINDOW_FIELD && !event_field(field));
        if internal {
            Vec::new()
        } else {
            suppress_fields
                .iter()
                .filter(|field| event_field(field))
                .cloned()
                .collect()
        }
    };
    let mut drilldown = format!("`{DATA_SOURCE_MACRO}`");
    for key in &keys {
        if quote::field_reference(key).is_some_and(|reference| reference == *key) {
            drilldown.push_str(&format!(" {key}=\"${key}$\""));
        }
    }
    let mut next_steps = String::new();
    if let Some(route) = &metadata.route {
        next_steps.push_str(&format!("Route: {route}.\n\n"));
    }
    next_steps.push_str(metadata.guide.as_deref().map_or("", str::trim));
    let next_steps =
        serde_json::to_string(&json!({ "version": 1, "data": next_steps })).unwrap_or_default();
    let owner = metadata
        .route
        .as_ref()
        .and_then(|route| mapping.deploy.route(route).splunk_owner);
    json!({
        "title": conf_value(&metadata.title),
        "description": conf_value(metadata.description.trim()),
        "severity": metadata.severity.name(),
        "drilldown_name": conf_value(&format!("Events of this {} alert", rule.id)),
        "drilldown_search": conf_value(&drilldown),
        "next_steps": conf_value(&next_steps),
        "owner": owner.map(|owner| conf_value(&owner)),
    })
}

/// The risk action of a rule whose results carry a user, an API key or a
/// client address: one risk object per field (user, other, system), scored
/// by severity as Kibana's risk score bands; `None` when it has none.
fn risk(rule: &Rule, mapping: &Mapping, suppress_fields: &[String]) -> serde_json::Value {
    let score = super::kibana_rule::risk_score(rule.metadata.severity);
    let objects: Vec<serde_json::Value> = result_entities(mapping, suppress_fields)
        .into_iter()
        .filter_map(|(name, _, canonical)| {
            let kind = match canonical {
                "user_id" => "user",
                "api_key_id" => "other",
                "src_ip" => "system",
                _ => return None,
            };
            Some(
                json!({ "risk_object_field": name, "risk_object_type": kind, "risk_score": score }),
            )
        })
        .collect();
    if objects.is_empty() {
        return serde_json::Value::Null;
    }
    let fields: Vec<String> = objects
        .iter()
        .filter_map(|object| object["risk_object_field"].as_str())
        .map(|field| format!("${field}$"))
        .collect();
    json!({
        "objects": serde_json::to_string(&objects).unwrap_or_default(),
        "message": conf_value(&format!("{} ({})", rule.metadata.title, fields.join(", "))),
    })
}

/// The Splunk-side type name of a schema type (documentation only: Splunk
/// fields are untyped; numbers compare as numbers when they look like them).
fn splunk_type(value_type: ValueType) -> &'static str {
    match value_type {
        ValueType::String | ValueType::Regex => "string",
        ValueType::Int | ValueType::Float | ValueType::Duration => "number",
        ValueType::Bool => "boolean",
        ValueType::Ip => "ip",
        ValueType::Timestamp => "time",
    }
}

/// A name Splunk takes for a macro, a lookup or a view: `text` with every
/// character other than an ASCII letter, digit or `_` as `_`.
pub fn splunk_name(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || character == '_' {
                character
            } else {
                '_'
            }
        })
        .collect()
}

/// The tuning macro of a rule: the id with `.` and `-` as `_`, then `_filter`.
pub fn filter_macro_name(rule_id: &str) -> String {
    format!("{}_filter", splunk_name(rule_id))
}

/// The transforms.conf name (and CSV base name) of a lookup.
pub fn lookup_name(name: &str) -> String {
    format!("tripline_{}", splunk_name(name))
}

/// Splunk's `alert.severity`: 3 low, 4 medium, 5 high (1 debug .. 6 critical).
pub fn alert_severity(severity: Severity) -> i64 {
    match severity {
        Severity::High => 5,
        Severity::Medium => 4,
        Severity::Low => 3,
    }
}

/// A cron expression firing once per schedule slot, or `None`.
pub fn cron_schedule(schedule_ms: i64) -> Option<String> {
    if schedule_ms <= 0 || schedule_ms % 60_000 != 0 {
        return None;
    }
    let minutes = schedule_ms / 60_000;
    if minutes < 60 {
        return (60 % minutes == 0).then(|| {
            if minutes == 1 {
                "* * * * *".to_string()
            } else {
                format!("*/{minutes} * * * *")
            }
        });
    }
    if minutes % 60 != 0 {
        return None;
    }
    let hours = minutes / 60;
    // Minute 10: past the lateness bound after each slot closes.
    match hours {
        1 => Some("10 * * * *".to_string()),
        2..=23 if 24 % hours == 0 => Some(format!("10 */{hours} * * *")),
        24 => Some("10 0 * * *".to_string()),
        168 => Some("10 0 * * 4".to_string()),
        _ => None,
    }
}

/// The app version: the compiler's, as Splunk wants `X.Y.Z`.
fn app_version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    version
        .split(['-', '+'])
        .next()
        .unwrap_or(version)
        .to_string()
}

/// Description, investigation guide and playbook, as one text.
fn description(rule: &Rule, pack: &Pack) -> String {
    let metadata = &rule.metadata;
    let mut text = format!(
        "{}\n\n{}",
        metadata.title.trim(),
        metadata.description.trim()
    );
    if let Some(guide) = &metadata.guide {
        text.push_str(&format!("\n\n{}", guide.trim()));
    }
    if let Some(playbook) = metadata
        .playbook
        .as_ref()
        .and_then(|name| pack.playbooks.get(name))
    {
        text.push_str(&format!("\n\n## Playbook: {}", playbook.title));
        if let Some(trigger) = &playbook.trigger {
            text.push_str(&format!("\n\nTrigger: {trigger}"));
        }
        text.push_str(&format!("\n\n{}", playbook.guide.trim()));
    }
    let mut tags: Vec<String> = vec![format!(
        "Tripline rule: {} (version {})",
        rule.id, metadata.version
    )];
    if !metadata.owasp.is_empty() {
        tags.push(format!("OWASP: {}", metadata.owasp.join(", ")));
    }
    if !metadata.atlas.is_empty() {
        tags.push(format!("ATLAS: {}", metadata.atlas.join(", ")));
    }
    if !metadata.attack.is_empty() {
        tags.push(format!("ATT&CK: {}", metadata.attack.join(", ")));
    }
    text.push_str(&format!("\n\n{}", tags.join("\n")));
    text
}

/// A lookup's rows as CSV, header first (the declared columns).
fn lookup_csv(lookup: &ir::Lookup) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = lookup
        .columns
        .iter()
        .map(|column| column.name.as_str())
        .collect();
    let mut result = writer.write_record(&header);
    for row in &lookup.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|value| match value {
                Value::String(text) => text.clone(),
                Value::Int(number) => number.to_string(),
                Value::Float(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                Value::DurationMs(milliseconds) => milliseconds.to_string(),
                Value::Regex(regex) => regex.pattern.clone(),
            })
            .collect();
        result = result.and(writer.write_record(&cells));
    }
    match (result, writer.into_inner()) {
        (Ok(()), Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cron_fires_once_per_slot() {
        assert_eq!(cron_schedule(300_000).unwrap(), "*/5 * * * *");
        assert_eq!(cron_schedule(60_000).unwrap(), "* * * * *");
        assert_eq!(cron_schedule(3_600_000).unwrap(), "10 * * * *");
        assert_eq!(cron_schedule(6 * 3_600_000).unwrap(), "10 */6 * * *");
        assert_eq!(cron_schedule(86_400_000).unwrap(), "10 0 * * *");
        assert_eq!(cron_schedule(7 * 86_400_000).unwrap(), "10 0 * * 4");
        assert_eq!(cron_schedule(7 * 60_000), None);
        assert_eq!(cron_schedule(90_000), None);
        assert_eq!(cron_schedule(5 * 3_600_000), None);
    }

    #[test]
    fn the_data_source_names_the_index_and_source_type() {
        assert_eq!(
            data_source_names("index=llm sourcetype=llm_application:json"),
            (
                Some("llm".to_string()),
                Some("llm_application:json".to_string())
            )
        );
        assert_eq!(
            data_source_names("index=\"acme_llm\" sourcetype=\"acme:llm\""),
            (Some("acme_llm".to_string()), Some("acme:llm".to_string()))
        );
        // A wildcard, two indexes or none: no index to define.
        assert_eq!(data_source_names("index=llm* sourcetype=x").0, None);
        assert_eq!(
            data_source_names("(index=a OR index=b) sourcetype=x").0,
            None
        );
        assert_eq!(
            data_source_names("sourcetype=x"),
            (None, Some("x".to_string()))
        );
        assert_eq!(data_source_names("index=_internal").0, None);
    }

    #[test]
    fn names_are_conf_safe() {
        assert_eq!(
            filter_macro_name("llm.output.secret-leak"),
            "llm_output_secret_leak_filter"
        );
        assert_eq!(lookup_name("egress allow"), "tripline_egress_allow");
    }
}
