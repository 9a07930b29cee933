//! Metadata: rule and playbook entries to their IR form.
//!
//! Input: the `key: value` entries of a rule or playbook, the declared
//! playbooks and the [`Reference`] data. Output: [`ir::Metadata`] or
//! [`ir::Playbook`], and diagnostics for missing, unknown, duplicated or
//! wrongly typed entries and unknown OWASP/ATLAS/ATT&CK ids and playbooks.

use std::collections::BTreeMap;

use super::collect::Declared;
use super::reference::{ATTACK_TACTICS, OWASP_IDS};
use super::{Reference, suggestion};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast::{self, MetadataValue};

const RULE_KEYS: [&str; 17] = [
    "title",
    "description",
    "severity",
    "category",
    "owasp",
    "atlas",
    "attack",
    "playbook",
    "false_positives",
    "references",
    "tags",
    "route",
    "schedule",
    "guide",
    "author",
    "version",
    "allow",
];

/// The warnings a rule's `allow:` may silence: those reported on one rule.
/// (Pack-wide warnings are turned off in `tripline.yaml`, `warnings:`.)
const RULE_WARNINGS: [&str; 1] = ["W0001"];

const PLAYBOOK_KEYS: [&str; 3] = ["title", "trigger", "guide"];

/// Entries by key, after reporting unknown and duplicated keys.
fn entries<'a>(
    metadata: &'a [ast::Metadata],
    known: &[&str],
    owner: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeMap<&'a str, &'a ast::Metadata> {
    let mut found: BTreeMap<&str, &ast::Metadata> = BTreeMap::new();
    for entry in metadata {
        let key = entry.key.text.as_str();
        if !known.contains(&key) {
            let mut diagnostic = Diagnostic::new(
                Code::UNKNOWN_METADATA_KEY,
                format!("`{key}` is not a {owner} key"),
            )
            .primary(entry.key.span, "unknown key");
            match suggestion("a key", key, known.iter().copied()) {
                Some(help) => diagnostic = diagnostic.help(help),
                None => {
                    diagnostic =
                        diagnostic.note(format!("the {owner} keys are {}", known.join(", ")))
                }
            }
            diagnostics.push(diagnostic);
            continue;
        }
        if let Some(first) = found.get(key) {
            diagnostics.push(
                Diagnostic::new(Code::DUPLICATE_KEY, format!("`{key}` is given twice"))
                    .primary(entry.key.span, "given again here")
                    .secondary(first.key.span, "first given here"),
            );
            continue;
        }
        found.insert(key, entry);
    }
    found
}

fn kind_name(value: &MetadataValue) -> &'static str {
    match value {
        MetadataValue::String(_) => "a string",
        MetadataValue::Word(_) => "a word",
        MetadataValue::AtlasId(_) => "an ATLAS id",
        MetadataValue::Integer(..) => "an integer",
        MetadataValue::Float(..) => "a number",
        MetadataValue::Duration(_) => "a duration",
        MetadataValue::Bool(..) => "a boolean",
        MetadataValue::List(..) => "a list",
    }
}

fn wrong_type(key: &str, expected: &str, value: &MetadataValue) -> Diagnostic {
    Diagnostic::new(
        Code::METADATA_TYPE,
        format!("`{key}` takes {expected}, and this is {}", kind_name(value)),
    )
    .primary(value.span(), format!("{} here", kind_name(value)))
}

fn text(
    entries: &BTreeMap<&str, &ast::Metadata>,
    key: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let entry = entries.get(key)?;
    match &entry.value {
        MetadataValue::String(string) => Some(string.value.clone()),
        other => {
            diagnostics.push(wrong_type(key, "a string", other));
            None
        }
    }
}

fn strings(
    entries: &BTreeMap<&str, &ast::Metadata>,
    key: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(entry) = entries.get(key) else {
        return Vec::new();
    };
    let MetadataValue::List(items, _) = &entry.value else {
        diagnostics.push(
            wrong_type(key, "a list of strings", &entry.value)
                .help(format!("write `{key}: [\"...\"]`")),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            MetadataValue::String(string) => out.push(string.value.clone()),
            other => diagnostics.push(wrong_type(key, "strings", other)),
        }
    }
    out
}

/// The words of an id list (`owasp: [LLM01]`, `attack: [Collection]`),
/// checked against `known`.
fn ids(
    entries: &BTreeMap<&str, &ast::Metadata>,
    key: &str,
    what: &str,
    known: &[&str],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(entry) = entries.get(key) else {
        return Vec::new();
    };
    let items: Vec<&MetadataValue> = match &entry.value {
        MetadataValue::List(items, _) => items.iter().collect(),
        single => vec![single],
    };
    let mut out = Vec::new();
    for item in items {
        let (word, span) = match item {
            MetadataValue::Word(name) | MetadataValue::AtlasId(name) => {
                (name.text.as_str(), name.span)
            }
            MetadataValue::String(string) => (string.value.as_str(), string.span),
            other => {
                diagnostics.push(wrong_type(key, &format!("a list of {what}s"), other));
                continue;
            }
        };
        if known.contains(&word) {
            out.push(word.to_string());
        } else {
            diagnostics.push(unknown_id(what, word, span, known));
        }
    }
    out
}

fn unknown_id(what: &str, word: &str, span: Span, known: &[&str]) -> Diagnostic {
    let mut diagnostic = Diagnostic::new(
        Code::UNKNOWN_MAPPING,
        format!("`{word}` is not a known {what}"),
    )
    .primary(span, "unknown id");
    match suggestion("an id", word, known.iter().copied()) {
        Some(help) => diagnostic = diagnostic.help(help),
        None if known.len() <= 14 => {
            diagnostic = diagnostic.note(format!("the known ids are {}", known.join(", ")))
        }
        None => {}
    }
    diagnostic
}

fn choice<T: Copy>(
    entries: &BTreeMap<&str, &ast::Metadata>,
    key: &str,
    choices: &[(&str, T)],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    let entry = entries.get(key)?;
    let (word, span) = match &entry.value {
        MetadataValue::Word(name) => (name.text.as_str(), name.span),
        other => {
            diagnostics.push(wrong_type(key, "a word", other));
            return None;
        }
    };
    if let Some((_, value)) = choices.iter().find(|(name, _)| *name == word) {
        return Some(*value);
    }
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    let mut diagnostic = Diagnostic::new(Code::UNKNOWN_WORD, format!("`{word}` is not a {key}"))
        .primary(span, format!("unknown {key}"))
        .note(format!("the {key} is one of {}", quoted.join(", ")));
    if let Some(help) = suggestion(&format!("a {key}"), word, names.iter().copied()) {
        diagnostic = diagnostic.help(help);
    }
    diagnostics.push(diagnostic);
    None
}

/// Whether an entry's key is a likely misspelling of `key` (reported as unknown).
fn misspelt(metadata: &[ast::Metadata], key: &str) -> bool {
    metadata.iter().any(|entry| {
        entry.key.text != key
            && crate::diagnostics::suggest::did_you_mean(&entry.key.text, [key]).is_some()
    })
}

fn missing(owner: &str, key: &str, span: Span) -> Diagnostic {
    Diagnostic::new(Code::MISSING_ENTRY, format!("the {owner} has no `{key}`"))
        .primary(span, format!("`{key}` is required"))
}

/// Checks a rule's metadata. `None` when a required entry is missing or wrong.
/// The warning codes a rule's `allow: [W0001]` silences for that rule; a code
/// that is not a rule's warning is an E0309 error at the code.
pub(crate) fn allowed_warnings(
    rule: &ast::RuleDecl,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(entry) = rule.metadata.iter().find(|entry| entry.key.text == "allow") else {
        return Vec::new();
    };
    let items: Vec<&MetadataValue> = match &entry.value {
        MetadataValue::List(items, _) => items.iter().collect(),
        single => vec![single],
    };
    let mut allowed = Vec::new();
    for item in items {
        let (word, span) = match item {
            MetadataValue::Word(name) => (name.text.as_str(), name.span),
            MetadataValue::String(string) => (string.value.as_str(), string.span),
            other => {
                diagnostics.push(
                    wrong_type("allow", "a list of warning codes", other)
                        .help("write `allow: [W0001]`"),
                );
                continue;
            }
        };
        if RULE_WARNINGS.contains(&word) {
            allowed.push(word.to_string());
            continue;
        }
        let mut diagnostic = Diagnostic::new(
            Code::METADATA_TYPE,
            format!("`{word}` is not a warning a rule can allow"),
        )
        .primary(span, "not a rule's warning")
        .note(format!(
            "a rule's `allow:` takes {}; `warnings: {{ CODE: off }}` in tripline.yaml turns off any warning for the whole repository",
            RULE_WARNINGS.join(", ")
        ));
        if let Some(help) = suggestion("a code", word, RULE_WARNINGS.iter().copied()) {
            diagnostic = diagnostic.help(help);
        }
        diagnostics.push(diagnostic);
    }
    allowed
}

pub(crate) fn rule_metadata(
    rule: &ast::RuleDecl,
    playbooks: &BTreeMap<String, Declared<ir::Playbook>>,
    reference: &Reference,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ir::Metadata> {
    let entries = entries(&rule.metadata, &RULE_KEYS, "rule", diagnostics);
    let id_span = rule.id.span;
    let mut complete = true;
    for key in ["title", "description", "severity", "category"] {
        if !entries.contains_key(key) {
            // A misspelt key (`categroy:`) already has its error with the fix.
            if !misspelt(&rule.metadata, key) {
                diagnostics.push(missing("rule", key, id_span));
            }
            complete = false;
        }
    }
    let title = text(&entries, "title", diagnostics);
    let description = text(&entries, "description", diagnostics);
    let severity = choice(
        &entries,
        "severity",
        &[
            ("high", ir::Severity::High),
            ("medium", ir::Severity::Medium),
            ("low", ir::Severity::Low),
        ],
        diagnostics,
    );
    let category = choice(
        &entries,
        "category",
        &[
            ("infrastructure", ir::Category::Infrastructure),
            ("llm_attack", ir::Category::LlmAttack),
            ("behavioral", ir::Category::Behavioral),
        ],
        diagnostics,
    );
    let owasp = ids(
        &entries,
        "owasp",
        "OWASP LLM Top 10 id",
        &OWASP_IDS,
        diagnostics,
    );
    let atlas_known: Vec<&str> = reference.atlas.keys().map(String::as_str).collect();
    let atlas = ids(
        &entries,
        "atlas",
        "MITRE ATLAS technique",
        &atlas_known,
        diagnostics,
    );
    let attack = ids(
        &entries,
        "attack",
        "ATT&CK tactic",
        &ATTACK_TACTICS,
        diagnostics,
    );
    let playbook = entries
        .get("playbook")
        .and_then(|entry| match &entry.value {
            MetadataValue::Word(name) => {
                if playbooks.contains_key(&name.text) {
                    Some(name.text.clone())
                } else {
                    let mut diagnostic = Diagnostic::new(
                        Code::UNKNOWN_PLAYBOOK,
                        format!("no playbook is named `{}`", name.text),
                    )
                    .primary(name.span, "unknown playbook");
                    match suggestion(
                        "a playbook",
                        &name.text,
                        playbooks.keys().map(String::as_str),
                    ) {
                        Some(help) => diagnostic = diagnostic.help(help),
                        None if playbooks.is_empty() => {
                            diagnostic = diagnostic.note("no playbook is declared")
                        }
                        None => {
                            let names: Vec<String> =
                                playbooks.keys().map(|name| format!("`{name}`")).collect();
                            diagnostic =
                                diagnostic.note(format!("the playbooks are {}", names.join(", ")))
                        }
                    }
                    diagnostics.push(diagnostic);
                    None
                }
            }
            other => {
                diagnostics.push(wrong_type("playbook", "the name of a playbook", other));
                None
            }
        });
    let false_positives = strings(&entries, "false_positives", diagnostics);
    let references = strings(&entries, "references", diagnostics);
    let tags = strings(&entries, "tags", diagnostics);
    let route = text(&entries, "route", diagnostics);
    let guide = text(&entries, "guide", diagnostics);
    let author = text(&entries, "author", diagnostics);
    let schedule_ms = match entries.get("schedule").map(|entry| &entry.value) {
        Some(MetadataValue::Duration(duration)) if duration.millis >= 1000 => Some(duration.millis),
        Some(MetadataValue::Duration(duration)) => {
            diagnostics.push(
                Diagnostic::new(Code::WINDOW_LENGTH, "the schedule must be at least 1s")
                    .primary(duration.span, "too short"),
            );
            None
        }
        Some(other) => {
            diagnostics.push(wrong_type("schedule", "a duration such as `1h`", other));
            None
        }
        None => None,
    };
    let version = match entries.get("version").map(|entry| &entry.value) {
        Some(MetadataValue::Integer(value, _)) if *value >= 1 => *value,
        Some(MetadataValue::Integer(_, span)) => {
            diagnostics.push(
                Diagnostic::new(Code::METADATA_TYPE, "`version` starts at 1")
                    .primary(*span, "not a version"),
            );
            1
        }
        Some(other) => {
            diagnostics.push(wrong_type("version", "an integer", other));
            1
        }
        None => 1,
    };
    let (Some(title), Some(description), Some(severity), Some(category)) =
        (title, description, severity, category)
    else {
        return None;
    };
    if !complete {
        return None;
    }
    let schedule_ms = schedule_ms.unwrap_or(match severity {
        ir::Severity::High => 5 * 60_000,
        ir::Severity::Medium => 3_600_000,
        ir::Severity::Low => 86_400_000,
    });
    Some(ir::Metadata {
        title,
        description,
        severity,
        category,
        owasp,
        atlas,
        attack,
        playbook,
        false_positives,
        references,
        route,
        schedule_ms,
        guide,
        author,
        version,
        tags,
    })
}

/// Checks a playbook declaration; missing entries are reported and left empty.
pub(crate) fn playbook(
    playbook: &ast::PlaybookDecl,
    _span: Span,
    diagnostics: &mut Vec<Diagnostic>,
) -> ir::Playbook {
    let entries = entries(&playbook.metadata, &PLAYBOOK_KEYS, "playbook", diagnostics);
    for key in ["title", "guide"] {
        if !entries.contains_key(key) && !misspelt(&playbook.metadata, key) {
            diagnostics.push(missing("playbook", key, playbook.name.span));
        }
    }
    ir::Playbook {
        name: playbook.name.text.clone(),
        title: text(&entries, "title", diagnostics).unwrap_or_default(),
        trigger: text(&entries, "trigger", diagnostics),
        guide: text(&entries, "guide", diagnostics).unwrap_or_default(),
    }
}

const DASHBOARD_KEYS: [&str; 3] = ["title", "description", "range"];

const PANEL_KEYS: [&str; 4] = ["title", "description", "visual", "range"];

/// The checked entries of a dashboard or a panel.
#[derive(Debug, Clone)]
pub(crate) struct ViewMetadata {
    /// `title`.
    pub title: String,
    /// `description`, empty when none was written.
    pub description: String,
    /// `range`, when written.
    pub range_ms: Option<i64>,
    /// `visual` (panels only) and where its word was written.
    pub visual: Option<(ir::dashboard::Visual, Span)>,
}

/// Checks the entries of a dashboard (`panel: false`) or of a panel
/// (`panel: true`, where `visual` is required too). `None` when an entry is
/// missing, unknown or wrong (each reported).
pub(crate) fn view_metadata(
    metadata: &[ast::Metadata],
    id_span: Span,
    panel: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ViewMetadata> {
    let before = diagnostics.len();
    let (owner, known, required): (&str, &[&str], &[&str]) = if panel {
        ("panel", &PANEL_KEYS, &["title", "visual"])
    } else {
        ("dashboard", &DASHBOARD_KEYS, &["title"])
    };
    let entries = entries(metadata, known, owner, diagnostics);
    for key in required {
        if !entries.contains_key(key) && !misspelt(metadata, key) {
            diagnostics.push(missing(owner, key, id_span));
        }
    }
    let title = text(&entries, "title", diagnostics);
    let description = text(&entries, "description", diagnostics).unwrap_or_default();
    let range_ms = match entries.get("range").map(|entry| &entry.value) {
        Some(MetadataValue::Duration(duration)) if duration.millis <= 0 => {
            diagnostics.push(
                Diagnostic::new(Code::WINDOW_LENGTH, "a time range must be longer than 0")
                    .primary(duration.span, "zero"),
            );
            None
        }
        Some(MetadataValue::Duration(duration)) => Some(duration.millis),
        Some(other) => {
            diagnostics.push(wrong_type("range", "a duration", other).help("write `range: 7d`"));
            None
        }
        None => None,
    };
    let visuals: Vec<(&str, ir::dashboard::Visual)> = ir::dashboard::Visual::ALL
        .iter()
        .map(|visual| (visual.keyword(), *visual))
        .collect();
    let visual = choice(&entries, "visual", &visuals, diagnostics).and_then(|visual| {
        let span = entries.get("visual")?.value.span();
        Some((visual, span))
    });
    if diagnostics[before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    Some(ViewMetadata {
        title: title?,
        description,
        range_ms,
        visual,
    })
}
