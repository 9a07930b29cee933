//! Collecting declarations: every name the rules may refer to.
//!
//! Input: parsed files in load order and the [`CheckOptions`]. Output: an
//! [`Environment`] holding the IR schema, lists (with extensions), lookups
//! (with rows loaded), parameters (with effective values), playbooks and the
//! rule declarations still to check; plus the diagnostics found on the way
//! (duplicates, declared types, missing schema, override errors).

use std::collections::BTreeMap;

use super::metadata;
use super::{CheckOptions, lookups, regexes, suggestion};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::source::{SourceId, Sources, Span};
use crate::syntax::ast;

/// A declared item with the span of its name, for diagnostics.
#[derive(Debug, Clone)]
pub struct Declared<T> {
    /// The lowered item.
    pub value: T,
    /// Where its name was written.
    pub span: Span,
}

/// A rule declaration waiting to be checked.
#[derive(Debug, Clone, Copy)]
pub struct RuleSource<'a> {
    /// The file it is in.
    pub source: SourceId,
    /// The whole declaration (for the doc comment and the origin).
    pub declaration: &'a ast::Declaration,
    /// The rule itself.
    pub rule: &'a ast::RuleDecl,
}

/// A dashboard declaration waiting to be checked.
#[derive(Debug, Clone, Copy)]
pub struct DashboardSource<'a> {
    /// The file it is in.
    pub source: SourceId,
    /// The whole declaration (for the origin).
    pub declaration: &'a ast::Declaration,
    /// The dashboard itself.
    pub dashboard: &'a ast::DashboardDecl,
}

/// Everything declared in the pack.
#[derive(Debug, Clone, Default)]
pub struct Environment<'a> {
    /// The event schema.
    pub schema: ir::Schema,
    /// Where each field was declared: `(event type or "" for common, field)`.
    pub field_spans: BTreeMap<(String, String), Span>,
    /// Named lists.
    pub lists: BTreeMap<String, Declared<ir::List>>,
    /// Lookups with their rows.
    pub lookups: BTreeMap<String, Declared<ir::Lookup>>,
    /// Parameters with effective values.
    pub params: BTreeMap<String, Declared<ir::Param>>,
    /// Playbooks.
    pub playbooks: BTreeMap<String, Declared<ir::Playbook>>,
    /// Rules in load order.
    pub rules: Vec<RuleSource<'a>>,
    /// Dashboards in load order.
    pub dashboards: Vec<DashboardSource<'a>>,
}

impl Environment<'_> {
    /// Names of every field of `event_type`, common ones included.
    pub fn field_names<'s>(&'s self, event_type: &str) -> Vec<&'s str> {
        let mut names: Vec<&str> = self
            .schema
            .common
            .iter()
            .map(|field| field.name.as_str())
            .collect();
        if let Some(event) = self.schema.events.get(event_type) {
            names.extend(event.fields.iter().map(|field| field.name.as_str()));
        }
        names
    }

    /// Whether `name` is a common field.
    pub fn is_common(&self, name: &str) -> bool {
        self.schema.common.iter().any(|field| field.name == name)
    }
}

/// Collects every declaration of `files`.
pub fn collect<'a>(
    sources: &Sources,
    files: &'a [(SourceId, ast::File)],
    options: &CheckOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Environment<'a> {
    let mut environment = Environment::default();
    let mut event_spans: BTreeMap<String, Span> = BTreeMap::new();
    let mut any_schema_file = false;
    for (source, file) in files {
        for declaration in &file.declarations {
            match &declaration.kind {
                ast::DeclarationKind::Common(fields) => {
                    any_schema_file = true;
                    for field in fields {
                        if let Some(lowered) = schema_field(field, diagnostics) {
                            add_field(&mut environment, None, lowered, field, diagnostics);
                        }
                    }
                }
                ast::DeclarationKind::Event(event) => {
                    any_schema_file = true;
                    if let Some(first) = event_spans.get(&event.name.text) {
                        diagnostics.push(duplicate("event type", &event.name, *first));
                        continue;
                    }
                    event_spans.insert(event.name.text.clone(), event.name.span);
                    environment.schema.events.insert(
                        event.name.text.clone(),
                        ir::EventType {
                            name: event.name.text.clone(),
                            doc: declaration.doc.clone(),
                            fields: Vec::new(),
                        },
                    );
                    for field in &event.fields {
                        if let Some(lowered) = schema_field(field, diagnostics) {
                            add_field(
                                &mut environment,
                                Some(&event.name.text),
                                lowered,
                                field,
                                diagnostics,
                            );
                        }
                    }
                }
                ast::DeclarationKind::List(list) => {
                    if let Some(first) = first_span(&environment, &list.name.text) {
                        diagnostics.push(duplicate("list", &list.name, first));
                        continue;
                    }
                    let lowered = lower_list(list, declaration.doc.clone(), diagnostics);
                    environment.lists.insert(
                        list.name.text.clone(),
                        Declared {
                            value: lowered,
                            span: list.name.span,
                        },
                    );
                }
                ast::DeclarationKind::Lookup(lookup) => {
                    if let Some(first) = first_span(&environment, &lookup.name.text) {
                        diagnostics.push(duplicate("lookup", &lookup.name, first));
                        continue;
                    }
                    let lowered =
                        lookups::load(sources, *source, declaration, lookup, options, diagnostics);
                    environment.lookups.insert(
                        lookup.name.text.clone(),
                        Declared {
                            value: lowered,
                            span: lookup.name.span,
                        },
                    );
                }
                ast::DeclarationKind::Param(param) => {
                    if let Some(first) = first_span(&environment, &param.name.text) {
                        diagnostics.push(duplicate("parameter", &param.name, first));
                        continue;
                    }
                    if let Some(lowered) = lower_param(param, declaration.doc.clone(), diagnostics)
                    {
                        environment.params.insert(
                            param.name.text.clone(),
                            Declared {
                                value: lowered,
                                span: param.name.span,
                            },
                        );
                    }
                }
                ast::DeclarationKind::Playbook(playbook) => {
                    if let Some(first) = environment.playbooks.get(&playbook.name.text) {
                        diagnostics.push(duplicate("playbook", &playbook.name, first.span));
                        continue;
                    }
                    let lowered = metadata::playbook(playbook, declaration.span, diagnostics);
                    environment.playbooks.insert(
                        playbook.name.text.clone(),
                        Declared {
                            value: lowered,
                            span: playbook.name.span,
                        },
                    );
                }
                ast::DeclarationKind::Rule(rule) => environment.rules.push(RuleSource {
                    source: *source,
                    declaration,
                    rule,
                }),
                ast::DeclarationKind::Dashboard(dashboard) => {
                    environment.dashboards.push(DashboardSource {
                        source: *source,
                        declaration,
                        dashboard,
                    })
                }
            }
        }
    }
    if environment.schema.events.is_empty() {
        let mut diagnostic = Diagnostic::new(
            Code::MISSING_SCHEMA,
            "no event types are declared, so no rule can be checked",
        )
        .help("declare the schema with `common { ... }` and `event NAME { ... }` blocks, or include `rules/schema/`");
        if !any_schema_file && let Some(rule) = environment.rules.first() {
            diagnostic = diagnostic.primary(rule.rule.id.span, "this rule reads events");
        }
        diagnostics.push(diagnostic);
    }
    apply_param_overrides(&mut environment, options, diagnostics);
    apply_list_extensions(&mut environment, options, diagnostics);
    unknown_lookup_overrides(&environment, options, diagnostics);
    environment
}

/// Lists, lookups and parameters share one namespace: `x in NAME` must mean one thing.
fn first_span(environment: &Environment, name: &str) -> Option<Span> {
    environment
        .lists
        .get(name)
        .map(|list| list.span)
        .or_else(|| environment.lookups.get(name).map(|lookup| lookup.span))
        .or_else(|| environment.params.get(name).map(|param| param.span))
}

fn duplicate(kind: &str, name: &ast::Name, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DUPLICATE_NAME,
        format!("the name `{}` is declared twice", name.text),
    )
    .primary(name.span, format!("this {kind} is declared again here"))
    .secondary(first, "first declared here")
}

/// Lowers a declared IR type; `None` (with an error) for a type the context refuses.
pub(crate) fn value_type(type_name: ast::TypeName) -> ir::ValueType {
    match type_name {
        ast::TypeName::String => ir::ValueType::String,
        ast::TypeName::Int => ir::ValueType::Int,
        ast::TypeName::Float => ir::ValueType::Float,
        ast::TypeName::Bool => ir::ValueType::Bool,
        ast::TypeName::Ip => ir::ValueType::Ip,
        ast::TypeName::Timestamp => ir::ValueType::Timestamp,
        ast::TypeName::Duration => ir::ValueType::Duration,
        ast::TypeName::Regex => ir::ValueType::Regex,
    }
}

fn refuse_type(
    what: &str,
    type_name: ast::TypeName,
    span: Span,
    allowed: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    diagnostics.push(
        Diagnostic::new(
            Code::DECLARED_TYPE,
            format!(
                "{what} cannot have the type `{}`",
                value_type(type_name).name()
            ),
        )
        .primary(span, "not allowed here")
        .note(format!("{what} may be {allowed}")),
    );
}

/// A schema field or lookup column; `duration` and `regex` are not event data.
pub(crate) fn schema_field(
    field: &ast::FieldDecl,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ir::Field> {
    if matches!(
        field.type_name,
        ast::TypeName::Duration | ast::TypeName::Regex
    ) {
        refuse_type(
            "an event field",
            field.type_name,
            field.type_span,
            "`string`, `int`, `float`, `bool`, `ip` or `timestamp`",
            diagnostics,
        );
        return None;
    }
    if field.one_of.is_some() && field.type_name != ast::TypeName::String {
        diagnostics.push(
            Diagnostic::new(
                Code::DECLARED_TYPE,
                format!(
                    "`one_of` restricts string fields, and `{}` is not a string",
                    field.name.text
                ),
            )
            .primary(field.type_span, "declared here"),
        );
    }
    Some(ir::Field {
        name: field.name.text.clone(),
        value_type: value_type(field.type_name),
        required: field.required,
        one_of: field
            .one_of
            .as_ref()
            .map(|values| values.iter().map(|value| value.value.clone()).collect()),
        doc: field.doc.clone(),
    })
}

fn add_field(
    environment: &mut Environment,
    event_type: Option<&str>,
    field: ir::Field,
    declaration: &ast::FieldDecl,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let name = field.name.clone();
    let common_span = environment
        .field_spans
        .get(&(String::new(), name.clone()))
        .copied();
    let own_span = event_type.and_then(|event| {
        environment
            .field_spans
            .get(&(event.to_string(), name.clone()))
            .copied()
    });
    if let Some(first) = common_span.or(own_span) {
        diagnostics.push(duplicate("field", &declaration.name, first));
        return;
    }
    match event_type {
        None => {
            // A common field also clashes with an event type's own field of the same name.
            let clash = environment
                .field_spans
                .iter()
                .find(|((event, field_name), _)| !event.is_empty() && *field_name == name);
            if let Some((_, first)) = clash {
                diagnostics.push(duplicate("field", &declaration.name, *first));
                return;
            }
            environment
                .field_spans
                .insert((String::new(), name), declaration.name.span);
            environment.schema.common.push(field);
        }
        Some(event) => {
            environment
                .field_spans
                .insert((event.to_string(), name), declaration.name.span);
            if let Some(declared) = environment.schema.events.get_mut(event) {
                declared.fields.push(field);
            }
        }
    }
}

/// Lowers one literal to a value of `expected`, or says why it does not fit.
pub(crate) fn literal_value(
    literal: &ast::Literal,
    expected: ir::ValueType,
) -> Result<ir::Value, String> {
    match (literal, expected) {
        (ast::Literal::String(string), ir::ValueType::String) => {
            Ok(ir::Value::String(string.value.clone()))
        }
        (ast::Literal::Integer(value, _), ir::ValueType::Int) => Ok(ir::Value::Int(*value)),
        (ast::Literal::Integer(value, _), ir::ValueType::Float) => {
            Ok(ir::Value::Float(*value as f64))
        }
        (ast::Literal::Float(value, _), ir::ValueType::Float) => Ok(ir::Value::Float(*value)),
        (ast::Literal::Bool(value, _), ir::ValueType::Bool) => Ok(ir::Value::Bool(*value)),
        (ast::Literal::Duration(duration), ir::ValueType::Duration) => {
            Ok(ir::Value::DurationMs(duration.millis))
        }
        (ast::Literal::Regex(regex), ir::ValueType::Regex) => Ok(ir::Value::Regex(ir::Regex {
            pattern: regex.pattern.clone(),
            case_insensitive: regex.case_insensitive,
        })),
        // A `near` is lowered by `regexes::lower`, which checks its parts.
        (other, _) => Err(literal_type_name(other).to_string()),
    }
}

/// The type of a literal as messages name it.
pub(crate) fn literal_type_name(literal: &ast::Literal) -> &'static str {
    match literal {
        ast::Literal::String(_) => "string",
        ast::Literal::Integer(..) => "int",
        ast::Literal::Float(..) => "float",
        ast::Literal::Bool(..) => "bool",
        ast::Literal::Duration(_) => "duration",
        ast::Literal::Regex(_) | ast::Literal::Near(_) => "regex",
    }
}

fn lower_list(
    list: &ast::ListDecl,
    doc: Option<String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> ir::List {
    let mut element_type = value_type(list.element_type);
    if !matches!(
        element_type,
        ir::ValueType::String | ir::ValueType::Regex | ir::ValueType::Int | ir::ValueType::Float
    ) {
        refuse_type(
            "a list",
            list.element_type,
            list.type_span,
            "of `string`, `regex`, `int` or `float`",
            diagnostics,
        );
        element_type = ir::ValueType::String;
    }
    let case_insensitive = match list.case_insensitive {
        Some(span) if element_type != ir::ValueType::Regex => {
            diagnostics.push(
                Diagnostic::new(
                    Code::DECLARED_TYPE,
                    format!(
                        "`case_insensitive` is for regex lists, and `{}` holds `{}` values",
                        list.name.text,
                        element_type.name()
                    ),
                )
                .primary(span, "not a regex list")
                .note("string operators are case-insensitive already; their `_cs` forms compare exactly"),
            );
            false
        }
        Some(_) => true,
        None => false,
    };
    let mut values = Vec::new();
    for literal in &list.values {
        let regex = matches!(literal, ast::Literal::Regex(_) | ast::Literal::Near(_));
        if regex && element_type == ir::ValueType::Regex {
            values.extend(
                regexes::lower(literal, case_insensitive, diagnostics).map(ir::Value::Regex),
            );
            continue;
        }
        match literal_value(literal, element_type) {
            Ok(value) => values.push(value),
            Err(found) => diagnostics.push(
                Diagnostic::new(
                    Code::DECLARED_TYPE,
                    format!(
                        "the list `{}` holds `{}` values, and this is a `{found}`",
                        list.name.text,
                        element_type.name()
                    ),
                )
                .primary(literal.span(), format!("a `{found}`"))
                .secondary(list.type_span, "element type declared here"),
            ),
        }
    }
    ir::List {
        name: list.name.text.clone(),
        element_type,
        values,
        case_insensitive,
        doc,
    }
}

fn lower_param(
    param: &ast::ParamDecl,
    doc: Option<String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ir::Param> {
    let value_type = value_type(param.type_name);
    if !matches!(
        value_type,
        ir::ValueType::Int
            | ir::ValueType::Float
            | ir::ValueType::String
            | ir::ValueType::Duration
            | ir::ValueType::Bool
    ) {
        refuse_type(
            "a parameter",
            param.type_name,
            param.type_span,
            "`int`, `float`, `string`, `duration` or `bool`",
            diagnostics,
        );
        return None;
    }
    match literal_value(&param.default, value_type) {
        Ok(value) => Some(ir::Param {
            name: param.name.text.clone(),
            value_type,
            default: value.clone(),
            value,
            doc,
        }),
        Err(found) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::DECLARED_TYPE,
                    format!(
                        "the parameter `{}` is declared `{}` and its default is a `{found}`",
                        param.name.text,
                        value_type.name()
                    ),
                )
                .primary(param.default.span(), format!("a `{found}`"))
                .secondary(param.type_span, "type declared here"),
            );
            None
        }
    }
}

/// Parses an override's text by the declared type (parameters set from a
/// content repository, the command line or a test case).
pub fn parse_value(text: &str, value_type: ir::ValueType) -> Option<ir::Value> {
    let trimmed = text.trim();
    match value_type {
        ir::ValueType::String => Some(ir::Value::String(text.to_string())),
        ir::ValueType::Int => trimmed.parse().ok().map(ir::Value::Int),
        ir::ValueType::Float => trimmed.parse().ok().map(ir::Value::Float),
        ir::ValueType::Bool => match trimmed {
            "true" => Some(ir::Value::Bool(true)),
            "false" => Some(ir::Value::Bool(false)),
            _ => None,
        },
        ir::ValueType::Duration => {
            crate::syntax::parse_duration_ms(trimmed).map(ir::Value::DurationMs)
        }
        ir::ValueType::Regex => regexes::check_pattern(trimmed, false).is_none().then(|| {
            ir::Value::Regex(ir::Regex {
                pattern: trimmed.to_string(),
                case_insensitive: false,
            })
        }),
        ir::ValueType::Ip | ir::ValueType::Timestamp => None,
    }
}

fn apply_param_overrides(
    environment: &mut Environment,
    options: &CheckOptions,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (name, text) in &options.params {
        let Some(param) = environment.params.get_mut(name) else {
            let mut diagnostic = Diagnostic::new(
                Code::UNKNOWN_OVERRIDE,
                format!("the override `{name}={text}` names no declared parameter"),
            );
            let known: Vec<&str> = environment.params.keys().map(String::as_str).collect();
            if let Some(help) = suggestion("a parameter", name, known) {
                diagnostic = diagnostic.help(help);
            }
            if let Some(key) = options.origins.params.get(name) {
                diagnostic = diagnostic.primary(*key, "set here");
            }
            diagnostics.push(diagnostic);
            continue;
        };
        match parse_value(text, param.value.value_type) {
            Some(value) => param.value.value = value,
            None => {
                let mut diagnostic = Diagnostic::new(
                    Code::OVERRIDE_VALUE,
                    format!(
                        "the override `{name}={text}` is not a valid `{}`",
                        param.value.value_type.name()
                    ),
                );
                let declared = format!("declared as `{}` here", param.value.value_type.name());
                diagnostic = match options.origins.params.get(name) {
                    Some(key) => diagnostic
                        .primary(*key, "set here")
                        .secondary(param.span, declared),
                    None => diagnostic.primary(param.span, declared),
                };
                diagnostics.push(diagnostic.note(override_example(param.value.value_type)));
            }
        }
    }
}

fn override_example(value_type: ir::ValueType) -> &'static str {
    match value_type {
        ir::ValueType::Int => "an `int` override is written like `5`",
        ir::ValueType::Float => "a `float` override is written like `0.8` or `5`",
        ir::ValueType::Bool => "a `bool` override is `true` or `false`",
        ir::ValueType::Duration => "a `duration` override is written like `10m`, `24h` or `7d`",
        _ => "the value must parse as the declared type",
    }
}

fn apply_list_extensions(
    environment: &mut Environment,
    options: &CheckOptions,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (name, values) in &options.list_extensions {
        let Some(list) = environment.lists.get_mut(name) else {
            let mut diagnostic = Diagnostic::new(
                Code::UNKNOWN_OVERRIDE,
                format!("the list extension `{name}` names no declared list"),
            );
            let known: Vec<&str> = environment.lists.keys().map(String::as_str).collect();
            if let Some(help) = suggestion("a list", name, known) {
                diagnostic = diagnostic.help(help);
            }
            if let Some(key) = options.origins.lists.get(name) {
                diagnostic = diagnostic.primary(*key, "extended here");
            }
            diagnostics.push(diagnostic);
            continue;
        };
        for text in values {
            match parse_value(text, list.value.element_type) {
                Some(ir::Value::Regex(regex)) if list.value.case_insensitive => {
                    // A case-insensitive list's extensions are case-insensitive too.
                    list.value.values.push(ir::Value::Regex(ir::Regex {
                        case_insensitive: true,
                        ..regex
                    }));
                }
                Some(value) => list.value.values.push(value),
                None => {
                    let mut diagnostic = Diagnostic::new(
                        Code::OVERRIDE_VALUE,
                        format!(
                            "the extension value `{text}` of the list `{name}` is not a valid `{}`",
                            list.value.element_type.name()
                        ),
                    );
                    diagnostic = match options.origins.lists.get(name) {
                        Some(key) => diagnostic
                            .primary(*key, "extended here")
                            .secondary(list.span, "list declared here"),
                        None => diagnostic.primary(list.span, "list declared here"),
                    };
                    if list.value.element_type == ir::ValueType::Regex
                        && let Some(problem) = regexes::check_pattern(text, false)
                    {
                        diagnostic = diagnostic.note(problem);
                    }
                    diagnostics.push(diagnostic);
                }
            }
        }
    }
}

fn unknown_lookup_overrides(
    environment: &Environment,
    options: &CheckOptions,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for name in options.lookup_overrides.keys() {
        if environment.lookups.contains_key(name) {
            continue;
        }
        let mut diagnostic = Diagnostic::new(
            Code::UNKNOWN_OVERRIDE,
            format!("the lookup override `{name}` names no declared lookup"),
        );
        let known: Vec<&str> = environment.lookups.keys().map(String::as_str).collect();
        if let Some(help) = suggestion("a lookup", name, known) {
            diagnostic = diagnostic.help(help);
        }
        if let Some(key) = options.origins.lookups.get(name) {
            diagnostic = diagnostic.primary(*key, "changed here");
        }
        diagnostics.push(diagnostic);
    }
}
