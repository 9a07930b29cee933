//! Membership: `x in ...`, `(a, b) in lookup`, `ip in cidr(...)`.
//!
//! Input: the subject and needles of an `in` expression. Output: `Text`
//! (strings, whole-value equality), `InValues` (numbers and booleans),
//! `InLookup` (tuples, or one value against a typed lookup column) or
//! `InCidr` (addresses), after checking types, arities and networks.

use super::expressions::Mode;
use super::resolve::Scope;
use super::rules::RuleChecker;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast;

/// Whether `text` is an address or a network in CIDR notation.
fn valid_network(text: &str) -> bool {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let Ok(address) = address.parse::<std::net::IpAddr>() else {
        return false;
    };
    let limit = if address.is_ipv4() { 32 } else { 128 };
    match prefix {
        None => true,
        Some(prefix) => prefix.parse::<u8>().is_ok_and(|bits| bits <= limit),
    }
}

impl RuleChecker<'_> {
    /// The `ip` fields the scope's events carry, event-specific ones first.
    fn ip_fields(&self, scope: &Scope) -> Vec<String> {
        let schema = &self.environment.schema;
        let mut names: Vec<String> = Vec::new();
        let own = scope
            .types
            .iter()
            .filter_map(|event| schema.events.get(event))
            .flat_map(|event| event.fields.iter());
        for field in own.chain(schema.common.iter()) {
            if field.value_type == ir::ValueType::Ip && !names.contains(&field.name) {
                names.push(field.name.clone());
            }
        }
        names
    }

    /// Lowers `subject [not] in[_cs] needles`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn in_expr(
        &mut self,
        subject: &ast::Expr,
        needles: &ast::Needles,
        negated: bool,
        case_sensitive: bool,
        op_span: Span,
        span: Span,
        scope: &Scope,
        mode: Mode,
    ) -> Option<ir::Expr> {
        let word = match (negated, case_sensitive) {
            (false, false) => "in",
            (true, false) => "not in",
            (false, true) => "in_cs",
            (true, true) => "not in_cs",
        };
        if let ast::ExprKind::Tuple(names) = &subject.kind {
            return self.in_lookup(
                names,
                subject.span,
                needles,
                negated,
                case_sensitive,
                span,
                scope,
                mode,
            );
        }
        let lowered = self.expr(subject, scope, mode);
        if let ast::Needles::Cidr(networks, _) = needles {
            let mut ok = true;
            for network in networks {
                if !valid_network(&network.value) {
                    self.invalid_literal(
                        network.span,
                        format!("`{}` is not an IP network", network.value),
                        "such as `10.0.0.0/8` or `fc00::/7`",
                    );
                    ok = false;
                }
            }
            let lowered = lowered?;
            // Only `ip` fields: a SIEM tests a column typed as an address,
            // and which texts of a string field it would read as addresses
            // differs from engine to engine.
            if lowered.value_type != ir::ValueType::Ip {
                let mut diagnostic = Diagnostic::new(
                    Code::TYPE_MISMATCH,
                    format!(
                        "`in cidr(...)` tests `ip` fields, and this is a `{}`",
                        lowered.value_type.name()
                    ),
                )
                .primary(subject.span, format!("a `{}`", lowered.value_type.name()));
                let candidates = self.ip_fields(scope);
                diagnostic = match candidates.as_slice() {
                    [] => diagnostic.help(
                        "declare the address as an `ip` field in the event schema (resolved at ingest) and test that",
                    ),
                    [single] => diagnostic.help(format!("test the `ip` field `{single}`")),
                    several => diagnostic.help(format!(
                        "test one of the `ip` fields {}",
                        several
                            .iter()
                            .map(|name| format!("`{name}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.diagnostics.push(diagnostic);
                return None;
            }
            if !ok {
                return None;
            }
            return Some(
                self.node(
                    ir::ExprKind::InCidr {
                        negated,
                        subject: Box::new(lowered),
                        networks: networks
                            .iter()
                            .map(|network| network.value.clone())
                            .collect(),
                    },
                    ir::ValueType::Bool,
                    span,
                ),
            );
        }
        let Some(lowered) = lowered else {
            // Still resolve the needles, so an unknown list is reported too.
            let _ = self.string_set_quiet(needles, scope, word);
            return None;
        };
        match lowered.value_type {
            ir::ValueType::String | ir::ValueType::Ip => {
                let (needles, literals) = self.string_set(needles, scope, word)?;
                if let ir::ExprKind::Field { name } = &lowered.kind {
                    let name = name.clone();
                    for (value, value_span) in &literals {
                        if name == "event_type" {
                            self.check_event_type_value(value, *value_span, scope);
                        }
                        self.check_one_of(&name, value, *value_span, scope);
                    }
                }
                Some(self.node(
                    ir::ExprKind::Text {
                        op: ir::TextOp::Equals,
                        case_sensitive,
                        fold_whitespace: false,
                        negated,
                        subject: Box::new(lowered),
                        needles,
                    },
                    ir::ValueType::Bool,
                    span,
                ))
            }
            ir::ValueType::Int | ir::ValueType::Float | ir::ValueType::Bool => {
                self.in_values(lowered, needles, negated, op_span, span, word)
            }
            other => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TYPE_MISMATCH,
                        format!(
                            "`{word}` tests strings, numbers and booleans, and this is a `{}`",
                            other.name()
                        ),
                    )
                    .primary(subject.span, format!("a `{}`", other.name())),
                );
                None
            }
        }
    }

    /// Resolves needles only for their diagnostics (the subject already failed).
    fn string_set_quiet(
        &mut self,
        needles: &ast::Needles,
        scope: &Scope,
        word: &str,
    ) -> Option<()> {
        if let ast::Needles::Source(source) = needles
            && source.narrowing.is_empty()
            && source.column.is_none()
        {
            let known = self.environment.lists.contains_key(&source.name.text)
                || self.environment.lookups.contains_key(&source.name.text);
            if !known {
                let _ = self.string_set(needles, scope, word);
            } else if self.environment.lists.contains_key(&source.name.text) {
                self.usage.lists.insert(source.name.text.clone());
            } else {
                self.usage.lookups.insert(source.name.text.clone());
            }
        }
        None
    }

    /// Numbers and booleans against literal values, a numeric list or a lookup column.
    fn in_values(
        &mut self,
        subject: ir::Expr,
        needles: &ast::Needles,
        negated: bool,
        op_span: Span,
        span: Span,
        word: &str,
    ) -> Option<ir::Expr> {
        let subject_type = subject.value_type;
        let mismatch = |found: &str, at: Span| {
            Diagnostic::new(
                Code::TYPE_MISMATCH,
                format!("`{word}` compares `{}` with `{found}`", subject_type.name()),
            )
            .primary(at, format!("a `{found}`"))
            .secondary(op_span, "")
        };
        let fits = |value_type: ir::ValueType| {
            value_type == subject_type || (value_type.is_numeric() && subject_type.is_numeric())
        };
        let values = match needles {
            ast::Needles::Literals(literals, _) => {
                let mut values = Vec::new();
                let mut ok = true;
                for literal in literals {
                    let value = match literal {
                        ast::Literal::Integer(value, _) if subject_type.is_numeric() => {
                            ir::Value::Int(*value)
                        }
                        ast::Literal::Float(value, _) if subject_type.is_numeric() => {
                            ir::Value::Float(*value)
                        }
                        ast::Literal::Bool(value, _) if subject_type == ir::ValueType::Bool => {
                            ir::Value::Bool(*value)
                        }
                        other => {
                            let found = super::collect::literal_type_name(other);
                            self.diagnostics.push(mismatch(found, other.span()));
                            ok = false;
                            continue;
                        }
                    };
                    values.push(value);
                }
                if !ok {
                    return None;
                }
                values
            }
            ast::Needles::Source(source) if source.narrowing.is_empty() => {
                let environment = self.environment;
                if let Some(list) = environment.lists.get(&source.name.text) {
                    self.usage.lists.insert(source.name.text.clone());
                    if source.column.is_some() || !fits(list.value.element_type) {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::LIST_ELEMENT_TYPE,
                                format!(
                                    "`{word}` compares `{}` with the list `{}` of `{}` values",
                                    subject_type.name(),
                                    list.value.name,
                                    list.value.element_type.name()
                                ),
                            )
                            .primary(
                                self.trimmed(self.trimmed(source.span)),
                                format!("a `{}` list", list.value.element_type.name()),
                            ),
                        );
                        return None;
                    }
                    list.value.values.clone()
                } else if let Some(lookup) = environment.lookups.get(&source.name.text) {
                    self.usage.lookups.insert(source.name.text.clone());
                    let lookup = &lookup.value;
                    let column = match &source.column {
                        Some(column) => self.lookup_column(lookup, column)?,
                        None => match lookup.columns.as_slice() {
                            [only] => only.clone(),
                            _ => {
                                self.diagnostics.push(
                                    Diagnostic::new(
                                        Code::LOOKUP_SHAPE,
                                        format!("the lookup `{}` has {} columns, so `{word}` must name the one to use", lookup.name, lookup.columns.len()),
                                    )
                                    .primary(self.trimmed(self.trimmed(source.span)), "here"),
                                );
                                return None;
                            }
                        },
                    };
                    if !fits(column.value_type) {
                        self.diagnostics
                            .push(mismatch(column.value_type.name(), source.span));
                        return None;
                    }
                    return Some(self.node(
                        ir::ExprKind::InLookup {
                            negated,
                            case_sensitive: false,
                            subjects: vec![subject],
                            lookup: lookup.name.clone(),
                            columns: vec![column.name.clone()],
                        },
                        ir::ValueType::Bool,
                        span,
                    ));
                } else {
                    let _ = self.string_set(needles, &Scope::new(Vec::new()), word);
                    return None;
                }
            }
            other => {
                let at = match other {
                    ast::Needles::Source(source) => self.trimmed(self.trimmed(source.span)),
                    ast::Needles::Columns { span, .. }
                    | ast::Needles::Cidr(_, span)
                    | ast::Needles::Literals(_, span) => *span,
                    ast::Needles::Regex(regex) => regex.span,
                    ast::Needles::Near(near) => near.span,
                    ast::Needles::String(string) => string.span,
                };
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::WRONG_NEEDLES,
                        format!(
                            "`{word}` tests a `{}` against a list of values or a lookup column",
                            subject_type.name()
                        ),
                    )
                    .primary(at, "not a list of values"),
                );
                return None;
            }
        };
        Some(self.node(
            ir::ExprKind::InValues {
                negated,
                subject: Box::new(subject),
                values,
            },
            ir::ValueType::Bool,
            span,
        ))
    }

    /// A column of a lookup by name (E0208 with did-you-mean when unknown).
    fn lookup_column(&mut self, lookup: &ir::Lookup, column: &ast::Name) -> Option<ir::Field> {
        if let Some(found) = lookup
            .columns
            .iter()
            .find(|field| field.name == column.text)
        {
            return Some(found.clone());
        }
        let names: Vec<&str> = lookup
            .columns
            .iter()
            .map(|field| field.name.as_str())
            .collect();
        let mut diagnostic = Diagnostic::new(
            Code::LOOKUP_SHAPE,
            format!(
                "the lookup `{}` has no column `{}`",
                lookup.name, column.text
            ),
        )
        .primary(column.span, "unknown column");
        diagnostic = match super::suggestion("a column", &column.text, names.iter().copied()) {
            Some(help) => diagnostic.help(help),
            None => diagnostic.note(format!("its columns are {}", names.join(", "))),
        };
        self.diagnostics.push(diagnostic);
        None
    }

    /// `(a, b) in lookup` or `(a, b) in lookup.(c1, c2)`.
    #[allow(clippy::too_many_arguments)]
    fn in_lookup(
        &mut self,
        names: &[ast::Name],
        tuple_span: Span,
        needles: &ast::Needles,
        negated: bool,
        case_sensitive: bool,
        span: Span,
        scope: &Scope,
        mode: Mode,
    ) -> Option<ir::Expr> {
        let mut subjects = Vec::new();
        let mut ok = true;
        for name in names {
            let lowered = self.expr(
                &ast::Expr {
                    kind: ast::ExprKind::Name(name.clone()),
                    span: name.span,
                },
                scope,
                mode,
            );
            match lowered {
                Some(lowered) => subjects.push((lowered, name)),
                None => ok = false,
            }
        }
        let (lookup_name, column_names) = match needles {
            ast::Needles::Source(source)
                if source.narrowing.is_empty() && source.column.is_none() =>
            {
                (&source.name, None)
            }
            ast::Needles::Columns {
                lookup, columns, ..
            } => (lookup, Some(columns)),
            other => {
                let at = match other {
                    ast::Needles::Source(source) => self.trimmed(self.trimmed(source.span)),
                    ast::Needles::Columns { span, .. }
                    | ast::Needles::Cidr(_, span)
                    | ast::Needles::Literals(_, span) => *span,
                    ast::Needles::Regex(regex) => regex.span,
                    ast::Needles::Near(near) => near.span,
                    ast::Needles::String(string) => string.span,
                };
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::WRONG_NEEDLES,
                        "a tuple is tested against the rows of a lookup",
                    )
                    .primary(at, "not a lookup")
                    .help("write `(a, b) in lookup` or `(a, b) in lookup.(column_a, column_b)`"),
                );
                return None;
            }
        };
        let environment = self.environment;
        let Some(lookup) = environment.lookups.get(&lookup_name.text) else {
            if environment.lists.contains_key(&lookup_name.text) {
                self.usage.lists.insert(lookup_name.text.clone());
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::LOOKUP_SHAPE,
                        format!(
                            "`{}` is a list, and a tuple is tested against the rows of a lookup",
                            lookup_name.text
                        ),
                    )
                    .primary(lookup_name.span, "a list"),
                );
            } else {
                let _ = self.string_set(
                    &ast::Needles::Source(ast::NeedleSource {
                        name: lookup_name.clone(),
                        narrowing: Vec::new(),
                        column: None,
                        span: lookup_name.span,
                    }),
                    scope,
                    "in",
                );
            }
            return None;
        };
        self.usage.lookups.insert(lookup_name.text.clone());
        let lookup = &lookup.value;
        let columns: Vec<ir::Field> = match column_names {
            Some(column_names) => {
                let mut columns = Vec::new();
                for column in column_names {
                    match self.lookup_column(lookup, column) {
                        Some(found) => columns.push(found),
                        None => ok = false,
                    }
                }
                columns
            }
            None => lookup.columns.clone(),
        };
        if !ok {
            return None;
        }
        if columns.len() != subjects.len() {
            let names: Vec<&str> = columns.iter().map(|column| column.name.as_str()).collect();
            self.diagnostics.push(
                Diagnostic::new(
                    Code::LOOKUP_SHAPE,
                    format!(
                        "{} values are tested against {} column{} of `{}` ({})",
                        subjects.len(),
                        columns.len(),
                        if columns.len() == 1 { "" } else { "s" },
                        lookup.name,
                        names.join(", ")
                    ),
                )
                .primary(tuple_span, format!("{} values", subjects.len()))
                .help(format!(
                    "name the columns to compare: `{}.(...)`",
                    lookup.name
                )),
            );
            return None;
        }
        for ((subject, name), column) in subjects.iter().zip(&columns) {
            if !super::operators::compatible(subject.value_type, column.value_type) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::LOOKUP_SHAPE,
                        format!(
                            "`{}` is a `{}` and the column `{}` of `{}` holds `{}` values",
                            name.text,
                            subject.value_type.name(),
                            column.name,
                            lookup.name,
                            column.value_type.name()
                        ),
                    )
                    .primary(name.span, format!("a `{}`", subject.value_type.name())),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        Some(self.node(
            ir::ExprKind::InLookup {
                negated,
                case_sensitive,
                subjects: subjects.into_iter().map(|(subject, _)| subject).collect(),
                lookup: lookup.name.clone(),
                columns: columns.into_iter().map(|column| column.name).collect(),
            },
            ir::ValueType::Bool,
            span,
        ))
    }
}
