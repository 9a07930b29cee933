//! The declarations of a pack (event fields, lists, lookups, parameters,
//! playbooks, rules, dashboards) with their places and doc comments, for
//! hover and go-to-definition. Built from the syntax tree of every file, so it
//! answers while other files of the pack still have check errors.

use crate::ir;
use crate::source::{Sources, Span};
use crate::syntax::{
    self,
    ast::{self, DeclarationKind, FieldDecl, MetadataValue, TypeName},
};

/// What a name declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A field of an event type (`owner`) or of every event (`common`).
    Field {
        /// The event type, or `common`.
        owner: String,
    },
    /// A column of a lookup.
    Column {
        /// The lookup.
        lookup: String,
    },
    /// An event type.
    Event,
    /// A list.
    List,
    /// A lookup.
    Lookup,
    /// A parameter.
    Param,
    /// A playbook.
    Playbook,
    /// A rule.
    Rule,
    /// A dashboard.
    Dashboard,
}

/// One declaration.
#[derive(Debug, Clone)]
pub struct Symbol {
    /// What it is.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// The declaration as one line of TDL (`user_input: string`).
    pub signature: String,
    /// Facts below the signature (owner, size, file, effective value).
    pub facts: Vec<String>,
    /// Its `///` doc comment.
    pub doc: Option<String>,
}

/// Every declaration of a pack.
#[derive(Debug, Default)]
pub struct Index {
    symbols: Vec<Symbol>,
}

fn type_text(type_name: TypeName) -> &'static str {
    match type_name {
        TypeName::String => "string",
        TypeName::Int => "int",
        TypeName::Float => "float",
        TypeName::Bool => "bool",
        TypeName::Ip => "ip",
        TypeName::Timestamp => "timestamp",
        TypeName::Duration => "duration",
        TypeName::Regex => "regex",
    }
}

fn field_signature(field: &FieldDecl) -> String {
    let mut text = format!("{}: {}", field.name.text, type_text(field.type_name));
    if field.required {
        text.push_str(" required");
    }
    if let Some(values) = &field.one_of {
        let values: Vec<String> = values
            .iter()
            .map(|value| format!("{:?}", value.value))
            .collect();
        text.push_str(&format!(" one_of [{}]", values.join(", ")));
    }
    text
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

impl Index {
    /// Reads the declarations of every `.tdl` file of `sources`; `pack`, when
    /// the pack checked clean, adds what only the checker knows (list
    /// extensions, lookup rows, parameter overrides).
    pub fn build(sources: &Sources, pack: Option<&ir::Pack>) -> Index {
        let mut symbols = Vec::new();
        for (id, file) in sources.iter() {
            if !file.path.ends_with(".tdl") {
                continue;
            }
            let (ast, _) = syntax::parse(&file.text, id);
            for declaration in ast.declarations {
                collect(&mut symbols, declaration, sources, pack);
            }
        }
        Index { symbols }
    }

    /// The declarations the word at `offset` of `text` names: a list, lookup,
    /// parameter, playbook, event type, rule or dashboard by its name, a field
    /// by its name (after `EVENT.` only that event's), a lookup column after
    /// `LOOKUP.`.
    pub fn resolve(&self, text: &str, offset: usize) -> Vec<&Symbol> {
        let Some(word) = word_at(text, offset) else {
            return Vec::new();
        };
        // A dotted rule or dashboard id, as a whole.
        let whole: Vec<&Symbol> = self
            .symbols
            .iter()
            .filter(|symbol| {
                matches!(symbol.kind, Kind::Rule | Kind::Dashboard) && symbol.name == word.whole
            })
            .collect();
        if !whole.is_empty() {
            return whole;
        }
        let name = word.segment;
        if let Some(owner) = word.before {
            let is_lookup = self
                .symbols
                .iter()
                .any(|symbol| symbol.kind == Kind::Lookup && symbol.name == owner);
            let qualified: Vec<&Symbol> = self
                .symbols
                .iter()
                .filter(|symbol| {
                    symbol.name == name
                        && match &symbol.kind {
                            Kind::Field { owner: declared } => {
                                !is_lookup && (declared == owner || declared == "common")
                            }
                            Kind::Column { lookup } => lookup == owner,
                            _ => false,
                        }
                })
                .collect();
            if !qualified.is_empty() {
                return qualified;
            }
        }
        for kind in [
            Kind::List,
            Kind::Lookup,
            Kind::Param,
            Kind::Playbook,
            Kind::Event,
        ] {
            let found: Vec<&Symbol> = self
                .symbols
                .iter()
                .filter(|symbol| symbol.kind == kind && symbol.name == name)
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        self.symbols
            .iter()
            .filter(|symbol| matches!(symbol.kind, Kind::Field { .. }) && symbol.name == name)
            .collect()
    }
}

/// The word under the cursor: the dotted whole, the segment under the
/// cursor, and the segment before it.
struct Word<'a> {
    whole: &'a str,
    segment: &'a str,
    before: Option<&'a str>,
}

fn word_at(text: &str, offset: usize) -> Option<Word<'_>> {
    let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-';
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let mut start = offset;
    while start > 0 && (is_word(bytes[start - 1]) || bytes[start - 1] == b'.') {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && (is_word(bytes[end]) || bytes[end] == b'.') {
        end += 1;
    }
    let whole = text.get(start..end)?.trim_matches('.');
    // The segment under the cursor and the one before it.
    let mut segment_start = offset;
    while segment_start > start && is_word(bytes[segment_start - 1]) {
        segment_start -= 1;
    }
    let mut segment_end = offset;
    while segment_end < end && is_word(bytes[segment_end]) {
        segment_end += 1;
    }
    let segment = text.get(segment_start..segment_end)?;
    if segment.is_empty() {
        return None;
    }
    let before = (segment_start > start + 1 && bytes[segment_start - 1] == b'.')
        .then(|| text.get(start..segment_start - 1))
        .flatten()
        .and_then(|prefix| prefix.rsplit('.').next());
    Some(Word {
        whole,
        segment,
        before,
    })
}

fn collect(
    symbols: &mut Vec<Symbol>,
    declaration: ast::Declaration,
    sources: &Sources,
    pack: Option<&ir::Pack>,
) {
    let doc = declaration.doc;
    let fields = |symbols: &mut Vec<Symbol>, owner: &str, fields: &[FieldDecl]| {
        for field in fields {
            symbols.push(Symbol {
                kind: Kind::Field {
                    owner: owner.to_string(),
                },
                name: field.name.text.clone(),
                span: field.name.span,
                signature: field_signature(field),
                facts: vec![if owner == "common" {
                    "a field of every event type (`common`)".to_string()
                } else {
                    format!("a field of `{owner}` events")
                }],
                doc: field.doc.clone(),
            });
        }
    };
    match declaration.kind {
        DeclarationKind::Common(declared) => fields(symbols, "common", &declared),
        DeclarationKind::Event(event) => {
            fields(symbols, &event.name.text, &event.fields);
            symbols.push(Symbol {
                kind: Kind::Event,
                name: event.name.text.clone(),
                span: event.name.span,
                signature: format!("event {}", event.name.text),
                facts: vec![format!(
                    "{}, besides the common ones",
                    plural(event.fields.len(), "field")
                )],
                doc,
            });
        }
        DeclarationKind::List(list) => {
            let mut signature =
                format!("list {}: {}", list.name.text, type_text(list.element_type));
            if list.case_insensitive.is_some() {
                signature.push_str(" case_insensitive");
            }
            let checked = pack.and_then(|pack| pack.lists.get(&list.name.text));
            let size = checked.map_or(list.values.len(), |checked| checked.values.len());
            let mut facts = vec![plural(size, "value")];
            if size > list.values.len() {
                facts[0].push_str(&format!(
                    " ({} declared, the rest added by the content repository)",
                    list.values.len()
                ));
            }
            symbols.push(Symbol {
                kind: Kind::List,
                name: list.name.text.clone(),
                span: list.name.span,
                signature,
                facts,
                doc,
            });
        }
        DeclarationKind::Lookup(lookup) => {
            let columns: Vec<String> = lookup.columns.iter().map(field_signature).collect();
            let mut facts = Vec::new();
            if let Some(file) = &lookup.file {
                facts.push(format!("rows from `{}`", file.value));
            }
            if let Some(checked) = pack.and_then(|pack| pack.lookups.get(&lookup.name.text)) {
                facts.push(plural(checked.rows.len(), "row"));
            }
            for column in &lookup.columns {
                symbols.push(Symbol {
                    kind: Kind::Column {
                        lookup: lookup.name.text.clone(),
                    },
                    name: column.name.text.clone(),
                    span: column.name.span,
                    signature: field_signature(column),
                    facts: vec![format!("a column of lookup `{}`", lookup.name.text)],
                    doc: column.doc.clone(),
                });
            }
            symbols.push(Symbol {
                kind: Kind::Lookup,
                name: lookup.name.text.clone(),
                span: lookup.name.span,
                signature: format!("lookup {} {{ {} }}", lookup.name.text, columns.join(", ")),
                facts,
                doc,
            });
        }
        DeclarationKind::Param(param) => {
            let default = sources.slice(param.default.span()).to_string();
            let mut facts = Vec::new();
            if let Some(checked) = pack.and_then(|pack| pack.params.get(&param.name.text))
                && checked.value != checked.default
            {
                facts.push(format!(
                    "overridden: the value in effect is `{}`",
                    serde_json::to_string(&checked.value).unwrap_or_default()
                ));
            }
            symbols.push(Symbol {
                kind: Kind::Param,
                name: param.name.text.clone(),
                span: param.name.span,
                signature: format!(
                    "param {}: {} = {default}",
                    param.name.text,
                    type_text(param.type_name)
                ),
                facts,
                doc,
            });
        }
        DeclarationKind::Playbook(playbook) => {
            let title =
                playbook
                    .metadata
                    .iter()
                    .find_map(|entry| match (&*entry.key.text, &entry.value) {
                        ("title", MetadataValue::String(title)) => Some(title.value.clone()),
                        _ => None,
                    });
            symbols.push(Symbol {
                kind: Kind::Playbook,
                name: playbook.name.text.clone(),
                span: playbook.name.span,
                signature: format!("playbook {}", playbook.name.text),
                facts: title.into_iter().collect(),
                doc,
            });
        }
        DeclarationKind::Rule(rule) => {
            let title =
                rule.metadata
                    .iter()
                    .find_map(|entry| match (&*entry.key.text, &entry.value) {
                        ("title", MetadataValue::String(title)) => Some(title.value.clone()),
                        _ => None,
                    });
            symbols.push(Symbol {
                kind: Kind::Rule,
                name: rule.id.text.clone(),
                span: rule.id.span,
                signature: format!("rule {}", rule.id.text),
                facts: title.into_iter().collect(),
                doc,
            });
        }
        DeclarationKind::Dashboard(dashboard) => {
            symbols.push(Symbol {
                kind: Kind::Dashboard,
                name: dashboard.id.text.clone(),
                span: dashboard.id.span,
                signature: format!("dashboard {}", dashboard.id.text),
                facts: vec![plural(dashboard.panels.len(), "panel")],
                doc,
            });
        }
    }
}

/// The hover text of the declarations a word names, as Markdown.
pub fn hover_markdown(symbols: &[&Symbol]) -> Option<String> {
    if symbols.is_empty() {
        return None;
    }
    let parts: Vec<String> = symbols
        .iter()
        .map(|symbol| {
            let mut text = format!("```tdl\n{}\n```", symbol.signature);
            for fact in &symbol.facts {
                text.push_str(&format!("\n\n{fact}"));
            }
            if let Some(doc) = &symbol.doc {
                text.push_str(&format!("\n\n{doc}"));
            }
            text
        })
        .collect();
    Some(parts.join("\n\n---\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(text: &str) -> (Sources, Index) {
        let mut sources = Sources::new();
        sources.add("a.tdl", text);
        let index = Index::build(&sources, None);
        (sources, index)
    }

    const TEXT: &str = "common {\n  /// Who.\n  user_id: string,\n}\nevent tool_call {\n  /// The tool.\n  tool_name: string required,\n}\n/// Bad words.\nlist bad: string = [\"a\", \"b\"]\nlookup scopes { file: \"s.csv\", columns: { user_id: string, area: string } }\nparam limit: int = 5\n";

    #[test]
    fn names_resolve_to_their_declarations() {
        let (_, index) = index(TEXT);
        let at = |needle: &str, text: &str| {
            let offset = text.find(needle).unwrap() + 1;
            index
                .resolve(text, offset)
                .iter()
                .map(|symbol| (symbol.kind.clone(), symbol.signature.clone()))
                .collect::<Vec<_>>()
        };
        let use_text = "x tool_call.tool_name bad scopes.user_id limit user_id";
        assert_eq!(
            at("tool_name", use_text),
            vec![(
                Kind::Field {
                    owner: "tool_call".into()
                },
                "tool_name: string required".into()
            )]
        );
        assert_eq!(at("bad", use_text)[0].1, "list bad: string");
        assert_eq!(
            at("user_id", use_text)[0].0,
            Kind::Column {
                lookup: "scopes".into()
            }
        );
        assert_eq!(at("limit", use_text)[0].1, "param limit: int = 5");
        // Unqualified, a name is the field.
        let last = use_text.rfind("user_id").unwrap() + 1;
        let found = index.resolve(use_text, last);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].kind,
            Kind::Field {
                owner: "common".into()
            }
        );
        let hover =
            hover_markdown(&index.resolve(use_text, use_text.find("bad").unwrap())).unwrap();
        assert!(
            hover.contains("2 values") && hover.contains("Bad words."),
            "{hover}"
        );
        assert!(index.resolve(use_text, 0).is_empty());
        assert!(index.resolve("", 0).is_empty());
        assert!(index.resolve("  ", 5).is_empty());
    }
}
