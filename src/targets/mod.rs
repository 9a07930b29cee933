//! Targets: compiling checked rules into SIEM artifacts.
//!
//! Input: an [`ir::Pack`], a [`Target`] from the [`registry`] and a
//! [`Mapping`] of canonical field names to the target's. Output: for each rule
//! either [`Artifact`]s (files relative to the target's output directory) or
//! [`Problem`]s with E04xx codes, which [`problem_diagnostic`] turns into
//! diagnostics at the rule text.
//!
//! A target is one Rust file implementing [`Target`], one line in
//! [`registry`] and a template folder `targets/<id>/`. It declares which
//! [`Need`]s it supports; the framework computes a rule's needs from its IR
//! ([`ir::needs_with_origins`]) and refuses a rule whose needs the target
//! lacks before the target sees it, naming the targets that can express it.
//! Inside `compile_rule` a target may still refuse one use of a supported
//! construct that it cannot translate exactly (E0402). It never emits a
//! weaker query.

pub mod deploy;
pub mod duckdb_sql;
pub mod elastic_eql;
pub mod elastic_esql;
pub mod elastic_pipeline;
pub mod kibana_kql;
pub(crate) mod kibana_rule;
pub mod lookup_ref;
pub mod lower;
pub mod lucene;
pub mod plan;
pub mod re2;
pub mod sentinel_kql;
pub mod sigma;
pub mod spark_sql;
pub mod splunk_spl;
pub mod sql;
pub mod syntax;
mod templates;
mod uuid;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{self, Need, Origin, Pack, Rule};
use crate::source::{Sources, Span};

/// One output file of a target, relative to its output directory.
///
/// Artifacts of several rules that share a path are concatenated in rule
/// order: that is how one-object-per-line files such as NDJSON are built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// Relative path with `/` separators.
    pub path: String,
    /// The contents.
    pub text: String,
}

/// Why a rule cannot be compiled for a target: data, turned into a
/// [`Diagnostic`] at the edge where the sources are known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// E04xx code.
    pub code: Code,
    /// The construct the problem is about (the rule's origin when none fits better).
    pub origin: Origin,
    /// One-line fact.
    pub message: String,
    /// What to say under the construct.
    pub label: String,
    /// `note:` lines.
    pub notes: Vec<String>,
    /// `help:` lines.
    pub help: Vec<String>,
}

impl Problem {
    /// An E0402 problem: this use of a construct has no exact translation.
    pub fn untranslatable(origin: Origin, message: impl Into<String>) -> Self {
        Problem {
            code: Code::TARGET_NO_EXACT_TRANSLATION,
            origin,
            message: message.into(),
            label: "no exact translation".to_string(),
            notes: Vec::new(),
            help: Vec::new(),
        }
    }

    /// An E0401 problem: the target cannot carry what the rule asks for.
    pub fn lacks(origin: Origin, message: impl Into<String>) -> Self {
        Problem {
            code: Code::TARGET_LACKS_CAPABILITY,
            origin,
            message: message.into(),
            label: "the target cannot carry this".to_string(),
            notes: Vec::new(),
            help: Vec::new(),
        }
    }

    /// Adds a `note:` line.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// A target field: its name and its type in the target's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetField {
    /// Name in the target (`user.id`, `UserId`...).
    pub name: String,
    /// Type in the target (`keyword`, `long`...).
    #[serde(rename = "type")]
    pub field_type: String,
}

/// Canonical field name → target field, plus the target's data source.
///
/// A target builds its default from the pack's schema
/// ([`Target::default_mapping`]); a content repository renames single fields
/// and sets the data source under `mappings:` in its `tripline.yaml`, which
/// `compile` checks with [`Target::check_field_name`] and
/// [`Target::check_data_source`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Every canonical field of the schema.
    pub fields: BTreeMap<String, TargetField>,
    /// Where the events are (index patterns, table, macro), target-specific.
    #[serde(default)]
    pub data_source: Vec<String>,
    /// Lookups with more rows are tested by reference where the target can
    /// ship them (`compile: { inline_lookup_rows: N }` in `tripline.yaml`);
    /// `None` is [`lookup_ref::DEFAULT_INLINE_ROWS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_lookup_rows: Option<usize>,
    /// The target's backends align correlation windows to the epoch
    /// (`compile: { sigma: { correlation_windows: epoch } }` in
    /// `tripline.yaml`, set on the `sigma` mapping only): thresholds become
    /// Sigma correlations (see [`sigma`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub epoch_correlation_windows: bool,
    /// Retention and alert routes (`retention_days:`, `routes:` in
    /// `tripline.yaml`), the same for every target.
    #[serde(default)]
    pub deploy: deploy::Deploy,
}

impl Mapping {
    /// How many rows a lookup may have and still be inlined.
    pub fn inline_rows(&self) -> usize {
        self.inline_lookup_rows
            .unwrap_or(lookup_ref::DEFAULT_INLINE_ROWS)
    }

    /// The target field of a canonical field.
    pub fn field(&self, canonical: &str) -> Option<&TargetField> {
        self.fields.get(canonical)
    }

    /// Every field of the schema (common fields first, then each event
    /// type's, the first declaration of a name winning), named and typed by
    /// `target_field`, over `data_source`.
    pub fn from_schema(
        schema: &ir::Schema,
        data_source: Vec<String>,
        target_field: impl Fn(&ir::Field) -> TargetField,
    ) -> Mapping {
        let mut mapping = Mapping {
            data_source,
            ..Mapping::default()
        };
        let fields = schema
            .common
            .iter()
            .chain(schema.events.values().flat_map(|event| event.fields.iter()));
        for field in fields {
            mapping
                .fields
                .entry(field.name.clone())
                .or_insert_with(|| target_field(field));
        }
        mapping
    }

    /// Applies overrides (`canonical → target name`), keeping the types.
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, String>) -> Self {
        for (canonical, name) in overrides {
            if let Some(field) = self.fields.get_mut(canonical) {
                field.name = name.clone();
            }
        }
        self
    }
}

/// Letters, digits and `_` (and `@` at the start, as in `@timestamp`), in
/// parts joined by `.`, none starting with a digit.
pub fn is_dotted_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').enumerate().all(|(index, part)| {
            let mut characters = part.chars();
            characters.next().is_some_and(|first| {
                first.is_ascii_alphabetic() || first == '_' || (index == 0 && first == '@')
            }) && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
        })
}

/// A SIEM product and its query language.
pub trait Target {
    /// The id: product and language (`elastic_eql`); also the module name,
    /// the template folder, the CLI value and the snapshot prefix.
    fn id(&self) -> &'static str;

    /// The product and language, for people.
    fn product(&self) -> &'static str;

    /// Whether the target can express a need. Defaults to the per-event
    /// basics only; a target lists what else it can do.
    fn supports(&self, need: Need) -> bool {
        matches!(need, Need::Match)
    }

    /// Whether the target can express a need under a content repository's
    /// `compile:` settings (carried by `mapping`). Defaults to
    /// [`Target::supports`]; a target with an opt-in profile widens it.
    fn supports_with(&self, need: Need, _mapping: &Mapping) -> bool {
        self.supports(need)
    }

    /// Why the target lacks a need, for the E0401 message.
    fn lacks_reason(&self, need: Need) -> String {
        format!("{} has no {}", self.id(), need.description())
    }

    /// The default field mapping for a schema.
    fn default_mapping(&self, schema: &ir::Schema) -> Mapping;

    /// Whether a content repository may map a field to `name` (`mappings:` in
    /// `tripline.yaml`); the error says why not. By default, dotted
    /// identifiers (`user.id`, `src_ip`).
    fn check_field_name(&self, name: &str) -> Result<(), String> {
        if is_dotted_identifier(name) {
            Ok(())
        } else {
            Err("a field name here is letters, digits and `_`, in parts joined by `.`, not starting with a digit".to_string())
        }
    }

    /// Whether a content repository may set the data source to `values`; the
    /// error says why not. By default, one or more non-empty single lines.
    fn check_data_source(&self, values: &[String]) -> Result<(), String> {
        if values.is_empty()
            || values
                .iter()
                .any(|value| value.trim().is_empty() || value.chars().any(char::is_control))
        {
            Err("the data source is one or more non-empty lines".to_string())
        } else {
            Ok(())
        }
    }

    /// Compiles one rule whose needs the target supports.
    fn compile_rule(
        &self,
        rule: &Rule,
        pack: &Pack,
        mapping: &Mapping,
    ) -> Result<Vec<Artifact>, Vec<Problem>>;

    /// Artifacts for the whole pack (set-up, routing), beside the rules'.
    fn pack_artifacts(&self, _pack: &Pack, _mapping: &Mapping) -> Vec<Artifact> {
        Vec::new()
    }

    /// The pack's dashboards ([`Pack::dashboards`]) for this target, each
    /// lowered panel by panel with [`plan::panel`]. A panel the target cannot
    /// print is left out of its dashboard and reported as
    /// (`DASHBOARD_ID.PANEL_ID`, problems); the other panels are still
    /// written. Defaults to none: a target without a dashboard format.
    fn dashboard_artifacts(&self, _pack: &Pack, _mapping: &Mapping) -> DashboardOutput {
        DashboardOutput::default()
    }
}

/// What [`Target::dashboard_artifacts`] produced.
#[derive(Debug, Default)]
pub struct DashboardOutput {
    /// Files of the dashboards (and whatever they need: nav entries, data views).
    pub artifacts: Vec<Artifact>,
    /// Panels left out, as (`DASHBOARD_ID.PANEL_ID`, problems).
    pub failures: Vec<(String, Vec<Problem>)>,
    /// Ids of the dashboards written.
    pub written: Vec<String>,
}

/// Every registered target, in id order. Tests loop over this.
pub fn registry() -> Vec<Box<dyn Target>> {
    vec![
        Box::new(duckdb_sql::DuckdbSql),
        Box::new(elastic_eql::ElasticEql),
        Box::new(elastic_esql::ElasticEsql),
        Box::new(kibana_kql::KibanaKql),
        Box::new(sentinel_kql::SentinelKql),
        Box::new(sigma::Sigma),
        Box::new(spark_sql::SparkSql),
        Box::new(splunk_spl::SplunkSpl),
    ]
}

/// The registered target with this id.
pub fn find(id: &str) -> Option<Box<dyn Target>> {
    registry().into_iter().find(|target| target.id() == id)
}

/// E0403 for a target id that is not registered, with the closest id and the
/// list of registered ones.
pub fn unknown_target(id: &str, registry: &[Box<dyn Target>]) -> crate::diagnostics::Diagnostic {
    use crate::diagnostics::{Code, Diagnostic, suggest::did_you_mean};
    let mut diagnostic = Diagnostic::new(Code::UNKNOWN_TARGET, format!("unknown target `{id}`"));
    if let Some(close) = did_you_mean(id, registry.iter().map(|target| target.id())) {
        diagnostic = diagnostic.help(format!("did you mean `{close}`?"));
    }
    let ids: Vec<&str> = registry.iter().map(|target| target.id()).collect();
    diagnostic.note(format!("registered targets: {}", ids.join(", ")))
}

/// The needs of `rule` that `target` lacks under `mapping`'s settings, as
/// E0401 problems naming the registered targets that can express each (by
/// default).
pub fn capability_problems(
    target: &dyn Target,
    rule: &Rule,
    mapping: &Mapping,
    registry: &[Box<dyn Target>],
) -> Vec<Problem> {
    let needs = ir::needs_with_origins(rule);
    // A missing shape makes the operator-level gaps inside it noise: report
    // the shape (and what refines it) only.
    let shape_missing = needs
        .keys()
        .any(|need| need.is_shape() && !target.supports_with(*need, mapping));
    needs
        .into_iter()
        .filter(|(need, _)| !target.supports_with(*need, mapping))
        .filter(|(need, _)| !shape_missing || need.is_shape())
        .map(|(need, origin)| {
            let able: Vec<&str> = registry
                .iter()
                .filter(|other| other.supports(need))
                .map(|other| other.id())
                .collect();
            let mut problem = Problem {
                code: Code::TARGET_LACKS_CAPABILITY,
                origin,
                message: format!(
                    "`{}` needs {}; {}",
                    need.name(),
                    need.description(),
                    target.lacks_reason(need)
                ),
                label: format!("needs {}", need.name()),
                notes: Vec::new(),
                help: Vec::new(),
            };
            if able.is_empty() {
                problem
                    .notes
                    .push("no registered target can express it yet".to_string());
            } else {
                problem
                    .help
                    .push(format!("targets that can express it: {}", able.join(", ")));
            }
            problem
        })
        .collect()
}

/// Compiles one rule: the capability check, then the target.
pub fn compile_rule(
    target: &dyn Target,
    rule: &Rule,
    pack: &Pack,
    mapping: &Mapping,
    registry: &[Box<dyn Target>],
) -> Result<Vec<Artifact>, Vec<Problem>> {
    let missing = capability_problems(target, rule, mapping, registry);
    if !missing.is_empty() {
        return Err(missing);
    }
    target.compile_rule(rule, pack, mapping)
}

/// What compiling a pack for one target gave.
#[derive(Debug, Clone, Default)]
pub struct PackOutput {
    /// Files by relative path (rule artifacts sharing a path concatenated in rule order).
    pub files: BTreeMap<String, String>,
    /// Rules that could not be compiled, with why, in rule order.
    pub failures: Vec<(String, Vec<Problem>)>,
    /// Ids of the rules that compiled.
    pub compiled: Vec<String>,
    /// Panels left out of their dashboard, as (`DASHBOARD_ID.PANEL_ID`, problems).
    pub panel_failures: Vec<(String, Vec<Problem>)>,
    /// Ids of the dashboards written.
    pub dashboards: Vec<String>,
}

/// Compiles every rule of the pack for one target; a rule that cannot be
/// compiled is recorded and the others are still compiled.
pub fn compile_pack(
    target: &dyn Target,
    pack: &Pack,
    mapping: &Mapping,
    registry: &[Box<dyn Target>],
) -> PackOutput {
    let mut output = PackOutput::default();
    for rule in &pack.rules {
        match compile_rule(target, rule, pack, mapping, registry) {
            Ok(artifacts) => {
                for artifact in artifacts {
                    output
                        .files
                        .entry(artifact.path)
                        .or_default()
                        .push_str(&artifact.text);
                }
                output.compiled.push(rule.id.clone());
            }
            Err(problems) => output.failures.push((rule.id.clone(), problems)),
        }
    }
    for artifact in target.pack_artifacts(pack, mapping) {
        output
            .files
            .entry(artifact.path)
            .or_default()
            .push_str(&artifact.text);
    }
    let dashboards = target.dashboard_artifacts(pack, mapping);
    for artifact in dashboards.artifacts {
        output
            .files
            .entry(artifact.path)
            .or_default()
            .push_str(&artifact.text);
    }
    output.panel_failures = dashboards.failures;
    output.dashboards = dashboards.written;
    output
}

/// A problem as a diagnostic at the rule text (the rule's file found in `sources`).
pub fn problem_diagnostic(
    problem: &Problem,
    target: &str,
    rule: &Rule,
    sources: &Sources,
) -> Diagnostic {
    located_problem(
        problem,
        &format!("rule `{}` cannot be compiled", rule.id),
        target,
        &rule.file,
        sources,
    )
}

/// A problem of a dashboard panel (`DASHBOARD_ID.PANEL_ID`, as
/// [`DashboardOutput::failures`] names it) as a diagnostic at the panel's
/// text; `None` when the pack has no such panel.
pub fn panel_problem_diagnostic(
    problem: &Problem,
    target: &str,
    panel: &str,
    pack: &Pack,
    sources: &Sources,
) -> Option<Diagnostic> {
    let dashboard = pack.dashboards.iter().find(|dashboard| {
        panel
            .strip_prefix(dashboard.id.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|id| dashboard.panels.iter().any(|found| found.id == id))
    })?;
    Some(located_problem(
        problem,
        &format!("panel `{panel}` is left out of its dashboard"),
        target,
        &dashboard.file,
        sources,
    ))
}

/// `SUBJECT for TARGET: MESSAGE` at the problem's origin in `file`.
fn located_problem(
    problem: &Problem,
    subject: &str,
    target: &str,
    file: &str,
    sources: &Sources,
) -> Diagnostic {
    let mut diagnostic = Diagnostic::new(
        problem.code,
        format!("{subject} for {target}: {}", problem.message),
    );
    let source = sources.iter().find(|(_, found)| found.path == file);
    match source {
        Some((id, _)) => {
            let span = Span::new(
                id,
                problem.origin.start as usize,
                problem.origin.end as usize,
            );
            diagnostic = diagnostic.primary(span, problem.label.clone());
        }
        None => diagnostic = diagnostic.in_file(file.to_string()),
    }
    for note in &problem.notes {
        diagnostic = diagnostic.note(note.clone());
    }
    for help in &problem.help {
        diagnostic = diagnostic.help(help.clone());
    }
    diagnostic
}

/// The capability table (targets × needs) as Markdown, generated from the registry.
pub fn capability_table(registry: &[Box<dyn Target>]) -> String {
    let mut text = String::from("| need |");
    for target in registry {
        text.push_str(&format!(" `{}` |", target.id()));
    }
    text.push_str("\n| --- |");
    for _ in registry {
        text.push_str(" :---: |");
    }
    text.push('\n');
    for need in Need::ALL {
        text.push_str(&format!("| `{}` ({}) |", need.name(), need.description()));
        for target in registry {
            text.push_str(if target.supports(need) {
                " yes |"
            } else {
                " no |"
            });
        }
        text.push('\n');
    }
    text
}

/// A duration in its largest whole unit (`10m`), as EQL, Kibana and most SIEM
/// schedules write it: the language's own spelling.
pub use crate::ir::duration_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_largest_whole_unit() {
        assert_eq!(duration_text(600_000), "10m");
        assert_eq!(duration_text(90_000), "90s");
        assert_eq!(duration_text(86_400_000 * 7), "7d");
        assert_eq!(duration_text(1_500), "1500ms");
        assert_eq!(duration_text(0), "0ms");
    }

    #[test]
    fn every_registered_target_has_a_distinct_id_and_supports_match() {
        let registry = registry();
        let mut ids: Vec<&str> = registry.iter().map(|target| target.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), registry.len());
        assert!(registry.iter().all(|target| target.supports(Need::Match)));
    }
}
