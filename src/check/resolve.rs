//! Name resolution: fields of the event types in scope, parameters, and
//! narrowing of the scope by `event_type` tests.
//!
//! Input: a name and the [`Scope`] (the event types an expression reads).
//! Output: the schema field or parameter it names, recorded in the rule's
//! usage, or an E0201/E0202/E0204 diagnostic with a did-you-mean.

use super::rules::RuleChecker;
use super::suggestion;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast;

/// The event types an expression reads, sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// Event type names.
    pub types: Vec<String>,
}

impl Scope {
    /// A scope over these types.
    pub fn new(mut types: Vec<String>) -> Self {
        types.sort();
        types.dedup();
        Scope { types }
    }

    /// The scope restricted to `names`, or `self` when nothing would remain.
    pub fn narrowed(&self, names: &[String]) -> Scope {
        let kept: Vec<String> = self
            .types
            .iter()
            .filter(|name| names.contains(name))
            .cloned()
            .collect();
        if kept.is_empty() {
            self.clone()
        } else {
            Scope::new(kept)
        }
    }
}

/// `a`, `a` and `b`, `a`, `b` and `c`: names in backquotes joined for a sentence.
pub(crate) fn join_names(names: &[&str], last_word: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {last_word} {last}", init.join(", ")),
    }
}

/// The event types an `event_type == "x"` / `event_type in [...]` test keeps;
/// `or` of such tests keeps the union. `None` when the expression does not narrow.
pub(crate) fn narrowing(expr: &ast::Expr) -> Option<Vec<String>> {
    match &expr.kind {
        ast::ExprKind::Compare {
            op: ast::CompareOp::Equal,
            left,
            right,
            ..
        } => match (&left.kind, &right.kind) {
            (ast::ExprKind::Name(name), ast::ExprKind::Literal(ast::Literal::String(value)))
            | (ast::ExprKind::Literal(ast::Literal::String(value)), ast::ExprKind::Name(name))
                if name.text == "event_type" =>
            {
                Some(vec![value.value.clone()])
            }
            _ => None,
        },
        ast::ExprKind::In {
            subject,
            needles: ast::Needles::Literals(values, _),
            negated: false,
            ..
        } => match &subject.kind {
            ast::ExprKind::Name(name) if name.text == "event_type" => values
                .iter()
                .map(|value| match value {
                    ast::Literal::String(string) => Some(string.value.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        },
        ast::ExprKind::And(left, right) => match (narrowing(left), narrowing(right)) {
            (Some(left), Some(right)) => Some(
                left.into_iter()
                    .filter(|name| right.contains(name))
                    .collect(),
            ),
            (Some(one), None) | (None, Some(one)) => Some(one),
            (None, None) => None,
        },
        ast::ExprKind::Or(left, right) => {
            let mut union = narrowing(left)?;
            union.extend(narrowing(right)?);
            Some(union)
        }
        _ => None,
    }
}

impl RuleChecker<'_> {
    /// Whether `name` is a field of at least one type of the scope (or common).
    pub(crate) fn is_field_somewhere(&self, name: &str, scope: &Scope) -> bool {
        self.environment.is_common(name)
            || scope
                .types
                .iter()
                .any(|event| self.environment.schema.field(event, name).is_some())
    }

    /// A needle source's span without the whitespace the grammar may include after it.
    pub(crate) fn trimmed(&self, span: Span) -> Span {
        let text = self.sources.slice(span);
        let end = span.start as usize + text.trim_end().len();
        Span::new(span.source, span.start as usize, end)
    }

    /// Resolves a field that must exist on every type of the scope.
    pub(crate) fn field(&mut self, name: &ast::Name, scope: &Scope) -> Option<ir::Field> {
        let schema = &self.environment.schema;
        let found: Vec<(&str, &ir::Field)> = scope
            .types
            .iter()
            .filter_map(|event| Some((event.as_str(), schema.field(event, &name.text)?)))
            .collect();
        let lacking: Vec<&str> = scope
            .types
            .iter()
            .map(String::as_str)
            .filter(|event| schema.field(event, &name.text).is_none())
            .collect();
        if !found.is_empty() && lacking.is_empty() {
            let first = found[0].1;
            if let Some((other_type, other)) = found
                .iter()
                .find(|(_, field)| field.value_type != first.value_type)
            {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TYPE_MISMATCH,
                        format!(
                            "`{}` is a `{}` on `{}` and a `{}` on `{other_type}`",
                            name.text,
                            first.value_type.name(),
                            found[0].0,
                            other.value_type.name()
                        ),
                    )
                    .primary(name.span, "its type depends on the event type")
                    .help(format!(
                        "narrow the expression with `event_type == \"{}\" and ...`",
                        found[0].0
                    )),
                );
                return None;
            }
            self.usage.fields.insert(name.text.clone());
            return Some(first.clone());
        }
        let elsewhere: Vec<&str> = if found.is_empty() {
            schema.event_types_with(&name.text)
        } else {
            found.iter().map(|(event, _)| *event).collect()
        };
        if !elsewhere.is_empty() {
            let mut diagnostic = Diagnostic::new(
                Code::FIELD_NOT_ON_EVENT_TYPE,
                format!(
                    "`{}` is not a field of {}; it is a field of {}",
                    name.text,
                    join_names(&lacking, "or"),
                    join_names(&elsewhere, "and")
                ),
            )
            .primary(
                name.span,
                format!("not a field of {}", join_names(&lacking, "or")),
            );
            if !found.is_empty() {
                let narrowed: Vec<String> = elsewhere
                    .iter()
                    .map(|event| format!("\"{event}\""))
                    .collect();
                let test = if narrowed.len() == 1 {
                    format!("event_type == {}", narrowed[0])
                } else {
                    format!("event_type in [{}]", narrowed.join(", "))
                };
                diagnostic = diagnostic
                    .note("a field must exist on every event type the expression reads")
                    .help(format!("narrow the expression first: `{test} and ...`"));
            }
            self.diagnostics.push(diagnostic);
            return None;
        }
        self.unknown_name(name, scope, false);
        None
    }

    /// E0201 for a name that is neither a field nor (when `params`) a parameter.
    pub(crate) fn unknown_name(&mut self, name: &ast::Name, scope: &Scope, params: bool) {
        let mut fields: Vec<&str> = Vec::new();
        for event in &scope.types {
            fields.extend(self.environment.field_names(event));
        }
        if scope.types.is_empty() {
            fields.extend(
                self.environment
                    .schema
                    .common
                    .iter()
                    .map(|f| f.name.as_str()),
            );
        }
        let scope_text = join_names(
            &scope.types.iter().map(String::as_str).collect::<Vec<_>>(),
            "or",
        );
        let message = if params {
            format!(
                "`{}` is neither a field of {scope_text} nor a parameter",
                name.text
            )
        } else {
            format!("`{}` is not a field of {scope_text}", name.text)
        };
        let mut diagnostic =
            Diagnostic::new(Code::UNKNOWN_FIELD, message).primary(name.span, "unknown name");
        let help = suggestion("a field", &name.text, fields.iter().copied()).or_else(|| {
            params
                .then(|| {
                    suggestion(
                        "a parameter",
                        &name.text,
                        self.environment.params.keys().map(String::as_str),
                    )
                })
                .flatten()
        });
        if let Some(help) = help {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
    }

    /// Checks that a literal compared with `event_type` names a type of the scope.
    pub(crate) fn check_event_type_value(&mut self, value: &str, span: Span, scope: &Scope) {
        if scope.types.iter().any(|event| event == value) {
            return;
        }
        let scope_names: Vec<&str> = scope.types.iter().map(String::as_str).collect();
        let declared = self.environment.schema.events.contains_key(value);
        let message = if declared {
            format!(
                "`{value}` is not one of the event types this expression reads ({})",
                join_names(&scope_names, "and")
            )
        } else {
            format!("`{value}` is not a declared event type")
        };
        let mut diagnostic = Diagnostic::new(Code::UNKNOWN_EVENT_TYPE, message)
            .primary(span, "the comparison can never be true");
        if declared {
            diagnostic = diagnostic.help(format!("add `{value}` to the event types after `match`"));
        } else if let Some(help) = suggestion("an event type", value, scope_names.iter().copied()) {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
    }

    /// Resolves the event types after `match` or of a sequence step.
    pub(crate) fn event_types(&mut self, names: &[ast::Name]) -> Option<Vec<String>> {
        if self.environment.schema.events.is_empty() {
            // Already reported once as a missing schema (E0313).
            return None;
        }
        let mut types = Vec::new();
        let mut ok = true;
        for name in names {
            if self.environment.schema.events.contains_key(&name.text) {
                types.push(name.text.clone());
                continue;
            }
            ok = false;
            let mut diagnostic = Diagnostic::new(
                Code::UNKNOWN_EVENT_TYPE,
                format!("`{}` is not a declared event type", name.text),
            )
            .primary(name.span, "unknown event type");
            if let Some(help) = suggestion(
                "an event type",
                &name.text,
                self.environment.schema.events.keys().map(String::as_str),
            ) {
                diagnostic = diagnostic.help(help);
            }
            self.diagnostics.push(diagnostic);
        }
        ok.then(|| Scope::new(types).types)
    }
}
