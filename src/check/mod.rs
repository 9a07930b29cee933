//! Check: AST files to the IR.
//!
//! Input: parsed [`ast::File`]s with their [`Sources`], and [`CheckOptions`]
//! (parameter overrides, list extensions, lookup overrides from a content
//! repository or the command line). Output: an [`ir::Pack`] when there are no
//! errors, and every diagnostic found (E02xx schema and types, E03xx
//! semantics, E05xx inputs such as lookup CSV files, W0xxx warnings).
//!
//! | file | input | output |
//! | --- | --- | --- |
//! | [`collect`] | declarations | the environment: schema, lists, lookups, params, playbooks, rules |
//! | `lookups` | lookup declarations, CSV files | lookup rows |
//! | `regexes` | regex literals | subset and compile errors |
//! | `resolve` | names, scopes of event types | fields, params, lists, lookups |
//! | `expressions`, `operators` | AST expressions | typed IR expressions |
//! | `aggregates` | calls in alert conditions | aggregate, baseline, percentile nodes |
//! | `detections` | detections | IR detections |
//! | `metadata` | rule and playbook entries | IR metadata and playbooks |
//! | `rules` | a rule declaration | an IR rule with what it reads |
//! | `dashboards` | dashboard declarations | IR dashboards, panels checked against their visuals |
//! | [`reference`](mod@reference) | embedded reference data | the known ATLAS ids |

mod aggregates;
pub mod collect;
mod dashboards;
mod detections;
mod expressions;
mod lookups;
mod membership;
mod metadata;
mod operators;
pub mod reference;
mod regexes;
mod resolve;
mod rules;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use reference::Reference;

use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::ir;
use crate::source::{SourceId, Sources, Span};
use crate::syntax::ast;

/// Overrides applied while checking, from a content repository's
/// `tripline.yaml` or the command line.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// `NAME -> VALUE` as text, parsed by the parameter's declared type.
    pub params: BTreeMap<String, String>,
    /// Extra values appended to named lists (strings, or regex patterns for regex lists).
    pub list_extensions: BTreeMap<String, Vec<String>>,
    /// Lookup files that replace or extend a lookup's declared CSV.
    pub lookup_overrides: BTreeMap<String, LookupOverride>,
    /// `--lookups DIR`: every lookup is read from `DIR/<name>.csv` instead.
    pub lookup_dir: Option<PathBuf>,
    /// Where the overrides were written in a content repository's
    /// `tripline.yaml`, for locating their problems.
    pub origins: ConfigOrigins,
}

/// The keys of `tripline.yaml` that set each override, by name.
#[derive(Debug, Clone, Default)]
pub struct ConfigOrigins {
    /// `params:` entries; a parameter override without one came from the
    /// command line (`--param`).
    pub params: BTreeMap<String, Span>,
    /// `lists:` entries.
    pub lists: BTreeMap<String, Span>,
    /// `lookups:` entries.
    pub lookups: BTreeMap<String, Span>,
}

/// How a content repository changes a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupOverride {
    /// Read the rows from this file instead.
    Replace(PathBuf),
    /// Read the declared rows and then these.
    Extend(PathBuf),
}

/// Checks parsed files and lowers them to the IR, with the reference data the
/// project ships ([`Reference::default`]).
pub fn check(
    sources: &Sources,
    files: &[(SourceId, ast::File)],
    options: &CheckOptions,
) -> (Option<ir::Pack>, Vec<Diagnostic>) {
    check_with_reference(sources, files, options, &Reference::default())
}

/// Checks parsed files against the given reference data (ATLAS ids) and
/// lowers them to the IR. The pack is `None` when any error was found.
pub fn check_with_reference(
    sources: &Sources,
    files: &[(SourceId, ast::File)],
    options: &CheckOptions,
    reference: &Reference,
) -> (Option<ir::Pack>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let environment = collect::collect(sources, files, options, &mut diagnostics);
    let mut usage = rules::Usage::default();
    let mut checked_rules = Vec::new();
    let mut first_ids: BTreeMap<String, crate::source::Span> = BTreeMap::new();
    for rule in &environment.rules {
        if let Some(first) = first_ids.get(&rule.rule.id.text) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DUPLICATE_RULE,
                    format!("the rule id `{}` is declared twice", rule.rule.id.text),
                )
                .primary(rule.rule.id.span, "declared again here")
                .secondary(*first, "first declared here")
                .note("alerts, SIEM objects and suppressions are keyed on the rule id"),
            );
            continue;
        }
        first_ids.insert(rule.rule.id.text.clone(), rule.rule.id.span);
        let mut checker = rules::RuleChecker::new(sources, &environment, reference);
        let lowered = checker.rule(rule);
        usage.merge(&checker.usage);
        diagnostics.extend(checker.diagnostics);
        if let Some(lowered) = lowered {
            checked_rules.push(lowered);
        }
    }
    param_ranges(
        &environment,
        files,
        options,
        &checked_rules,
        &mut diagnostics,
    );
    let checked_dashboards = dashboards::check_dashboards(
        sources,
        &environment,
        reference,
        &mut usage,
        &mut diagnostics,
    );
    if !diagnostics.iter().any(Diagnostic::is_error) {
        unused_warnings(&environment, &usage, &mut diagnostics);
    }
    for diagnostic in &mut diagnostics {
        fix_articles(&mut diagnostic.message);
        for label in &mut diagnostic.labels {
            fix_articles(&mut label.message);
        }
        diagnostic.notes.iter_mut().for_each(fix_articles);
        diagnostic.help.iter_mut().for_each(fix_articles);
    }

    let mut collected = Diagnostics::new();
    collected.extend(diagnostics);
    let failed = collected.has_errors();
    let diagnostics = collected.into_sorted();
    if failed {
        return (None, diagnostics);
    }
    checked_rules.sort_by(|left, right| left.id.cmp(&right.id));
    let pack = ir::Pack {
        schema: environment.schema.clone(),
        lists: environment
            .lists
            .iter()
            .map(|(name, list)| (name.clone(), list.value.clone()))
            .collect(),
        lookups: environment
            .lookups
            .iter()
            .map(|(name, lookup)| (name.clone(), lookup.value.clone()))
            .collect(),
        params: environment
            .params
            .iter()
            .map(|(name, param)| (name.clone(), param.value.clone()))
            .collect(),
        playbooks: environment
            .playbooks
            .iter()
            .map(|(name, playbook)| (name.clone(), playbook.value.clone()))
            .collect(),
        rules: checked_rules,
        dashboards: checked_dashboards,
    };
    (Some(pack), diagnostics)
}

/// Messages name types as "a `TYPE`"; the types starting with a vowel sound
/// take "an".
fn fix_articles(text: &mut String) {
    for name in ["int", "ip"] {
        let wrong = format!("a `{name}`");
        let right = format!("an `{name}`");
        let mut fixed = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(index) = rest.find(&wrong) {
            let at_word_start = index == 0 || rest[..index].ends_with([' ', '(']);
            fixed.push_str(&rest[..index]);
            fixed.push_str(if at_word_start { &right } else { &wrong });
            rest = &rest[index + wrong.len()..];
        }
        fixed.push_str(rest);
        *text = fixed;
    }
}

/// E0506: a parameter whose value in effect is negative where a rule needs
/// it to be 0 or more ([`ir::Detection::non_negative_params`]), reported
/// where the value was written: the `tripline.yaml` key, the declaration's
/// default, or (for `--param`) the use in the rule. One diagnostic per
/// parameter, naming its first such use.
fn param_ranges(
    environment: &collect::Environment,
    files: &[(SourceId, ast::File)],
    options: &CheckOptions,
    rules: &[ir::Rule],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut reported = std::collections::BTreeSet::new();
    for rule in rules {
        let Some(source) = environment
            .rules
            .iter()
            .find(|candidate| candidate.rule.id.text == rule.id)
            .map(|candidate| candidate.source)
        else {
            continue;
        };
        for found in rule.detection.non_negative_params() {
            let Some(param) = environment.params.get(&found.param) else {
                continue;
            };
            let Some(value) = param.value.value.as_f64() else {
                continue;
            };
            if value >= 0.0 || !reported.insert(found.param.clone()) {
                continue;
            }
            let use_span = Span::new(
                source,
                found.origin.start as usize,
                found.origin.end as usize,
            );
            let name = &found.param;
            let shown = match &param.value.value {
                ir::Value::Int(number) => number.to_string(),
                _ => value.to_string(),
            };
            let mut diagnostic = Diagnostic::new(
                Code::PARAM_RANGE,
                format!(
                    "the parameter `{name}` is {shown}, but rule `{}` needs it to be 0 or more",
                    rule.id
                ),
            );
            diagnostic = if !options.params.contains_key(name) {
                let default = declared_default_span(files, name).unwrap_or(param.span);
                diagnostic
                    .primary(default, "the declared default")
                    .secondary(use_span, format!("used here, {}", found.why))
            } else if let Some(key) = options.origins.params.get(name) {
                diagnostic
                    .primary(*key, "set here")
                    .secondary(use_span, format!("used here, {}", found.why))
            } else {
                diagnostic.primary(
                    use_span,
                    format!("`--param {name}={shown}` is used here, {}", found.why),
                )
            };
            diagnostics.push(diagnostic.help(format!("give `{name}` a value of 0 or more")));
        }
    }
}

/// Where a parameter's default value is written in its declaration.
fn declared_default_span(files: &[(SourceId, ast::File)], name: &str) -> Option<Span> {
    files
        .iter()
        .flat_map(|(_, file)| &file.declarations)
        .find_map(|declaration| match &declaration.kind {
            ast::DeclarationKind::Param(param) if param.name.text == name => {
                Some(param.default.span())
            }
            _ => None,
        })
}

/// W0002 and W0004: lists, lookups and parameters no rule uses. Nothing is
/// reported when the pack has no rules at all (a schema-only directory), nor
/// when there are errors (a misspelled reference would make its list look unused).
fn unused_warnings(
    environment: &collect::Environment,
    usage: &rules::Usage,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if environment.rules.is_empty() {
        return;
    }
    for (name, list) in &environment.lists {
        if !usage.lists.contains(name) {
            diagnostics.push(
                Diagnostic::new(
                    Code::UNUSED_LIST,
                    format!("the list `{name}` is never used"),
                )
                .primary(list.span, "declared here"),
            );
        }
    }
    for (name, lookup) in &environment.lookups {
        if !usage.lookups.contains(name) {
            diagnostics.push(
                Diagnostic::new(
                    Code::UNUSED_LIST,
                    format!("the lookup `{name}` is never used"),
                )
                .primary(lookup.span, "declared here"),
            );
        }
    }
    for (name, param) in &environment.params {
        if !usage.params.contains(name) {
            diagnostics.push(
                Diagnostic::new(
                    Code::UNUSED_PARAM,
                    format!("the parameter `{name}` is never used"),
                )
                .primary(param.span, "declared here"),
            );
        }
    }
}

/// `help:` text naming the closest candidate, if one is close.
pub(crate) fn suggestion<'a>(
    kind: &str,
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    did_you_mean(name, candidates)
        .map(|found| format!("{kind} with a similar name exists: `{found}`"))
}
