//! Operators with needles: `in`, the substring family and `matches`.
//!
//! Input: an `In`, `Text` or `Matches` [`ast::Expr`] with its needles (list
//! literals, lists, lookups, lookup columns, narrowed lookups, CIDR networks,
//! regexes). Output: the IR node (`Text`, `InValues`, `InCidr`, `InLookup`,
//! `Matches`) after checking operand types, list element types, lookup
//! columns and arities.

use super::expressions::Mode;
use super::resolve::Scope;
use super::rules::RuleChecker;
use super::suggestion;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast;

/// Whether a field of type `field` can be looked up in a column of type `column`.
pub(crate) fn compatible(field: ir::ValueType, column: ir::ValueType) -> bool {
    use ir::ValueType as T;
    field == column
        || (field.is_numeric() && column.is_numeric())
        || matches!((field, column), (T::String, T::Ip) | (T::Ip, T::String))
}

fn text_word(op: ast::TextOp, any: bool, case_sensitive: bool) -> String {
    let base = match (op, any) {
        (ast::TextOp::Contains, false) => "contains",
        (ast::TextOp::Contains, true) => "has_any",
        (ast::TextOp::StartsWith, false) => "startswith",
        (ast::TextOp::StartsWith, true) => "startswith_any",
        (ast::TextOp::EndsWith, false) => "endswith",
        (ast::TextOp::EndsWith, true) => "endswith_any",
    };
    if case_sensitive {
        format!("{base}_cs")
    } else {
        base.to_string()
    }
}

/// A named source of needles.
enum Named<'e> {
    List(&'e ir::List),
    Lookup(&'e ir::Lookup),
    Param(&'e ir::Param),
}

impl<'a> RuleChecker<'a> {
    /// Lowers `in`, the substring operators and `matches`.
    pub(crate) fn operator(
        &mut self,
        expr: &ast::Expr,
        scope: &Scope,
        mode: Mode,
    ) -> Option<ir::Expr> {
        match &expr.kind {
            ast::ExprKind::In {
                subject,
                needles,
                negated,
                case_sensitive,
                op_span,
            } => self.in_expr(
                subject,
                needles,
                *negated,
                *case_sensitive,
                *op_span,
                expr.span,
                scope,
                mode,
            ),
            ast::ExprKind::Text {
                op,
                any,
                case_sensitive,
                negated,
                subject,
                needles,
                op_span,
            } => {
                let word = text_word(*op, *any, *case_sensitive);
                let subject = self.text_subject(subject, &word, *op_span, scope, mode);
                let needles = if *any {
                    self.string_set(needles, scope, &word)
                } else {
                    self.single_string(needles, *op, *case_sensitive, &word)
                };
                let (subject, (needles, _)) = (subject?, needles?);
                let op = match op {
                    ast::TextOp::Contains => ir::TextOp::Contains,
                    ast::TextOp::StartsWith => ir::TextOp::StartsWith,
                    ast::TextOp::EndsWith => ir::TextOp::EndsWith,
                };
                Some(self.node(
                    ir::ExprKind::Text {
                        op,
                        case_sensitive: *case_sensitive,
                        fold_whitespace: !*case_sensitive,
                        negated: *negated,
                        subject: Box::new(subject),
                        needles,
                    },
                    ir::ValueType::Bool,
                    expr.span,
                ))
            }
            ast::ExprKind::Matches {
                subject,
                needles,
                any,
                negated,
                op_span,
            } => {
                let word = if *any { "matches_any" } else { "matches" };
                let subject = self.text_subject(subject, word, *op_span, scope, mode);
                let patterns = self.regex_set(needles, *any);
                let (subject, patterns) = (subject?, patterns?);
                Some(self.node(
                    ir::ExprKind::Matches {
                        negated: *negated,
                        subject: Box::new(subject),
                        patterns,
                    },
                    ir::ValueType::Bool,
                    expr.span,
                ))
            }
            _ => self.expr(expr, scope, mode),
        }
    }

    /// The subject of a string operator: a `string` (or `ip`, tested as text).
    fn text_subject(
        &mut self,
        subject: &ast::Expr,
        word: &str,
        op_span: Span,
        scope: &Scope,
        mode: Mode,
    ) -> Option<ir::Expr> {
        let lowered = self.expr(subject, scope, mode)?;
        if matches!(
            lowered.value_type,
            ir::ValueType::String | ir::ValueType::Ip
        ) {
            return Some(lowered);
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::TYPE_MISMATCH,
                format!(
                    "`{word}` tests strings, and this is a `{}`",
                    lowered.value_type.name()
                ),
            )
            .primary(subject.span, format!("a `{}`", lowered.value_type.name()))
            .secondary(op_span, "string operator"),
        );
        None
    }

    /// A list, lookup or parameter by name; E0205 when there is none.
    fn named(&mut self, name: &ast::Name, params: bool) -> Option<Named<'a>> {
        let environment = self.environment;
        if let Some(list) = environment.lists.get(&name.text) {
            self.usage.lists.insert(name.text.clone());
            return Some(Named::List(&list.value));
        }
        if let Some(lookup) = environment.lookups.get(&name.text) {
            self.usage.lookups.insert(name.text.clone());
            return Some(Named::Lookup(&lookup.value));
        }
        if params && let Some(param) = environment.params.get(&name.text) {
            self.usage.params.insert(name.text.clone());
            return Some(Named::Param(&param.value));
        }
        let mut candidates: Vec<&str> = environment
            .lists
            .keys()
            .chain(environment.lookups.keys())
            .map(String::as_str)
            .collect();
        if params {
            candidates.extend(environment.params.keys().map(String::as_str));
        }
        let mut diagnostic = Diagnostic::new(
            Code::UNKNOWN_LIST,
            format!("no list or lookup is named `{}`", name.text),
        )
        .primary(name.span, "unknown list");
        if let Some(help) = suggestion("a list or lookup", &name.text, candidates) {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
        None
    }

    fn column<'l>(&mut self, lookup: &'l ir::Lookup, column: &ast::Name) -> Option<&'l ir::Field> {
        if let Some(found) = lookup
            .columns
            .iter()
            .find(|field| field.name == column.text)
        {
            return Some(found);
        }
        let mut diagnostic = Diagnostic::new(
            Code::LOOKUP_SHAPE,
            format!(
                "the lookup `{}` has no column `{}`",
                lookup.name, column.text
            ),
        )
        .primary(column.span, "unknown column");
        let names: Vec<&str> = lookup
            .columns
            .iter()
            .map(|field| field.name.as_str())
            .collect();
        diagnostic = match suggestion("a column", &column.text, names.iter().copied()) {
            Some(help) => diagnostic.help(help),
            None => diagnostic.note(format!("its columns are {}", names.join(", "))),
        };
        self.diagnostics.push(diagnostic);
        None
    }

    fn lookup_shape(&mut self, span: Span, message: String, help: Option<String>) {
        let mut diagnostic = Diagnostic::new(Code::LOOKUP_SHAPE, message).primary(span, "here");
        if let Some(help) = help {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
    }

    fn string_column(
        &mut self,
        lookup: &ir::Lookup,
        column: &ir::Field,
        span: Span,
    ) -> Option<ir::StringSet> {
        if !matches!(column.value_type, ir::ValueType::String | ir::ValueType::Ip) {
            self.lookup_shape(
                span,
                format!(
                    "the column `{}` of `{}` holds `{}` values, not strings",
                    column.name,
                    lookup.name,
                    column.value_type.name()
                ),
                None,
            );
            return None;
        }
        Some(ir::StringSet::LookupColumn {
            lookup: lookup.name.clone(),
            column: column.name.clone(),
        })
    }

    fn empty_warning(&mut self, span: Span, word: &str, what: &str) {
        self.diagnostics.push(
            Diagnostic::new(
                Code::EMPTY_LIST,
                format!("`{word}` tests against {what}, which holds no values"),
            )
            .primary(span, "empty")
            .note("no value matches an empty list, so the test is false for every event (and its negation true whenever the field is present)"),
        );
    }

    /// Needles for `has_any`, `in` and their relatives: a set of strings.
    /// Also says whether the set is a literal list (for `one_of` checks).
    pub(crate) fn string_set(
        &mut self,
        needles: &ast::Needles,
        scope: &Scope,
        word: &str,
    ) -> Option<(ir::StringSet, Vec<(String, Span)>)> {
        match needles {
            ast::Needles::String(string) => Some((
                ir::StringSet::Literals(vec![string.value.clone()]),
                vec![(string.value.clone(), string.span)],
            )),
            ast::Needles::Literals(values, span) => {
                let mut out = Vec::new();
                let mut spans = Vec::new();
                let mut ok = true;
                for value in values {
                    match value {
                        ast::Literal::String(string) => {
                            out.push(string.value.clone());
                            spans.push((string.value.clone(), string.span));
                        }
                        other => {
                            let found = super::collect::literal_type_name(other);
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::TYPE_MISMATCH,
                                    format!("`{word}` compares `string` with `{found}`"),
                                )
                                .primary(other.span(), format!("a `{found}`")),
                            );
                            ok = false;
                        }
                    }
                }
                if values.is_empty() {
                    self.empty_warning(*span, word, "an empty list");
                }
                ok.then_some((ir::StringSet::Literals(out), spans))
            }
            ast::Needles::Source(source) => {
                let named = self.named(&source.name, true)?;
                if !source.narrowing.is_empty() {
                    return self
                        .narrowed(source, named, scope)
                        .map(|set| (set, Vec::new()));
                }
                match (named, &source.column) {
                    (Named::Lookup(lookup), Some(column)) => {
                        let column = self.column(lookup, column)?;
                        let set = self.string_column(lookup, column, source.span)?;
                        Some((set, Vec::new()))
                    }
                    (Named::Lookup(lookup), None) => {
                        if let [column] = lookup.columns.as_slice() {
                            let set = self.string_column(lookup, column, source.span)?;
                            return Some((set, Vec::new()));
                        }
                        let example = lookup
                            .columns
                            .first()
                            .map(|column| column.name.as_str())
                            .unwrap_or("column");
                        self.lookup_shape(
                            self.trimmed(self.trimmed(source.span)),
                            format!(
                                "the lookup `{}` has {} columns, so `{word}` must name the one to use",
                                lookup.name,
                                lookup.columns.len()
                            ),
                            Some(format!("name a column: `{}.{example}`", lookup.name)),
                        );
                        None
                    }
                    (Named::List(list), None) => {
                        if list.element_type != ir::ValueType::String {
                            let mut diagnostic = Diagnostic::new(
                                Code::LIST_ELEMENT_TYPE,
                                format!(
                                    "`{word}` needs a list of strings, and `{}` holds `{}` values",
                                    list.name,
                                    list.element_type.name()
                                ),
                            )
                            .primary(
                                self.trimmed(self.trimmed(source.span)),
                                format!("a `{}` list", list.element_type.name()),
                            );
                            if list.element_type == ir::ValueType::Regex {
                                diagnostic = diagnostic.help(format!(
                                    "use `matches_any {}` to search with regexes",
                                    list.name
                                ));
                            }
                            self.diagnostics.push(diagnostic);
                            return None;
                        }
                        if list.values.is_empty() {
                            self.empty_warning(
                                self.trimmed(self.trimmed(source.span)),
                                word,
                                &format!("the list `{}`", list.name),
                            );
                        }
                        Some((ir::StringSet::List(list.name.clone()), Vec::new()))
                    }
                    (Named::List(list), Some(column)) => {
                        self.lookup_shape(
                            column.span,
                            format!("`{}` is a list, and only lookups have columns", list.name),
                            Some(format!("write `{}` alone", list.name)),
                        );
                        None
                    }
                    (Named::Param(param), None) if param.value_type == ir::ValueType::String => {
                        let value = match &param.value {
                            ir::Value::String(text) => text.clone(),
                            _ => String::new(),
                        };
                        Some((
                            ir::StringSet::Literals(vec![value.clone()]),
                            vec![(value, source.span)],
                        ))
                    }
                    (Named::Param(param), _) => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::TYPE_MISMATCH,
                                format!(
                                    "`{word}` compares `string` with `{}`",
                                    param.value_type.name()
                                ),
                            )
                            .primary(
                                self.trimmed(self.trimmed(source.span)),
                                format!(
                                    "the parameter `{}` is a `{}`",
                                    param.name,
                                    param.value_type.name()
                                ),
                            ),
                        );
                        None
                    }
                }
            }
            ast::Needles::Columns {
                lookup,
                columns,
                span,
            } => {
                let Named::Lookup(found) = self.named(lookup, false)? else {
                    self.lookup_shape(
                        lookup.span,
                        format!("`{}` is a list, and only lookups have columns", lookup.text),
                        None,
                    );
                    return None;
                };
                if let [column] = columns.as_slice() {
                    let column = self.column(found, column)?;
                    let set = self.string_column(found, column, *span)?;
                    return Some((set, Vec::new()));
                }
                self.lookup_shape(
                    *span,
                    format!("one value is tested against {} columns", columns.len()),
                    Some("test a tuple of as many fields: `(a, b) in lookup.(c1, c2)`".to_string()),
                );
                None
            }
            ast::Needles::Cidr(_, span) => {
                self.wrong_needles(
                    *span,
                    format!("`{word}` takes strings, not networks"),
                    Some("test addresses with `in cidr(...)`"),
                );
                None
            }
            ast::Needles::Near(ast::NearLiteral { span, .. })
            | ast::Needles::Regex(ast::RegexLiteral { span, .. }) => {
                self.wrong_needles(
                    *span,
                    format!("`{word}` takes strings, not a regex"),
                    Some("search with a regex using `matches`"),
                );
                None
            }
        }
    }

    fn wrong_needles(&mut self, span: Span, message: String, help: Option<&str>) {
        let mut diagnostic = Diagnostic::new(Code::WRONG_NEEDLES, message).primary(span, "here");
        if let Some(help) = help {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
    }

    /// `L[key == field].column`: the rows of a lookup selected by event fields.
    fn narrowed(
        &mut self,
        source: &ast::NeedleSource,
        named: Named,
        scope: &Scope,
    ) -> Option<ir::StringSet> {
        let Named::Lookup(lookup) = named else {
            self.lookup_shape(
                source.name.span,
                format!(
                    "`{}` is not a lookup, so it cannot be narrowed to rows",
                    source.name.text
                ),
                None,
            );
            return None;
        };
        let Some(column) = &source.column else {
            let example = lookup
                .columns
                .last()
                .map(|column| column.name.as_str())
                .unwrap_or("column");
            self.lookup_shape(
                self.trimmed(self.trimmed(source.span)),
                "a narrowed lookup must name the column whose values are tested".to_string(),
                Some(format!(
                    "add the column: `{}.{example}`",
                    self.sources.slice(self.trimmed(source.span))
                )),
            );
            return None;
        };
        let mut keys = Vec::new();
        let mut ok = true;
        for (key, field) in &source.narrowing {
            let key_column = self.column(lookup, key);
            let field_resolved = self.field(field, scope);
            let (Some(key_column), Some(field_resolved)) = (key_column, field_resolved) else {
                ok = false;
                continue;
            };
            if !compatible(field_resolved.value_type, key_column.value_type) {
                self.lookup_shape(
                    field.span,
                    format!(
                        "the column `{}` holds `{}` values and the field `{}` is a `{}`",
                        key_column.name,
                        key_column.value_type.name(),
                        field.text,
                        field_resolved.value_type.name()
                    ),
                    None,
                );
                ok = false;
                continue;
            }
            keys.push((key_column.name.clone(), field_resolved.name.clone()));
        }
        let column = self.column(lookup, column)?;
        if !matches!(column.value_type, ir::ValueType::String | ir::ValueType::Ip) {
            self.lookup_shape(
                self.trimmed(self.trimmed(source.span)),
                format!(
                    "the column `{}` of `{}` holds `{}` values, not strings",
                    column.name,
                    lookup.name,
                    column.value_type.name()
                ),
                None,
            );
            return None;
        }
        ok.then(|| ir::StringSet::NarrowedLookup {
            lookup: lookup.name.clone(),
            keys,
            column: column.name.clone(),
        })
    }

    /// The needle of `contains`, `startswith`, `endswith`: one string.
    fn single_string(
        &mut self,
        needles: &ast::Needles,
        op: ast::TextOp,
        case_sensitive: bool,
        word: &str,
    ) -> Option<(ir::StringSet, Vec<(String, Span)>)> {
        match needles {
            ast::Needles::String(string) => Some((
                ir::StringSet::Literals(vec![string.value.clone()]),
                Vec::new(),
            )),
            ast::Needles::Source(source)
                if source.narrowing.is_empty()
                    && source.column.is_none()
                    && self
                        .environment
                        .params
                        .get(&source.name.text)
                        .is_some_and(|param| param.value.value_type == ir::ValueType::String) =>
            {
                let value = match self.named(&source.name, true)? {
                    Named::Param(param) => match &param.value {
                        ir::Value::String(text) => text.clone(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                Some((ir::StringSet::Literals(vec![value]), Vec::new()))
            }
            other => {
                let span = match other {
                    ast::Needles::Literals(_, span)
                    | ast::Needles::Cidr(_, span)
                    | ast::Needles::Columns { span, .. } => *span,
                    ast::Needles::Source(source) => self.trimmed(self.trimmed(source.span)),
                    ast::Needles::Regex(regex) => regex.span,
                    ast::Needles::Near(near) => near.span,
                    ast::Needles::String(string) => string.span,
                };
                let any = text_word(op, true, case_sensitive);
                self.wrong_needles(
                    span,
                    format!("`{word}` takes one string"),
                    Some(&format!("use `{any}` to test several strings")),
                );
                None
            }
        }
    }

    fn regex_set(&mut self, needles: &ast::Needles, any: bool) -> Option<ir::RegexSet> {
        match (needles, any) {
            (ast::Needles::Regex(regex), false) => super::regexes::lower(
                &ast::Literal::Regex(regex.clone()),
                false,
                &mut self.diagnostics,
            )
            .map(ir::RegexSet::Literal),
            (ast::Needles::Near(near), false) => super::regexes::lower(
                &ast::Literal::Near(near.clone()),
                false,
                &mut self.diagnostics,
            )
            .map(ir::RegexSet::Literal),
            (ast::Needles::Near(near), true) => {
                self.wrong_needles(
                    near.span,
                    "`matches_any` takes a regex list".to_string(),
                    Some("use `matches` with a single `near(...)`, or put it in a regex list"),
                );
                None
            }
            (ast::Needles::Regex(regex), true) => {
                self.wrong_needles(
                    regex.span,
                    "`matches_any` takes a regex list".to_string(),
                    Some("use `matches` with a single regex"),
                );
                None
            }
            (ast::Needles::Source(source), true)
                if source.narrowing.is_empty() && source.column.is_none() =>
            {
                match self.named(&source.name, false)? {
                    Named::List(list) if list.element_type == ir::ValueType::Regex => {
                        Some(ir::RegexSet::List(list.name.clone()))
                    }
                    Named::List(list) => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::LIST_ELEMENT_TYPE,
                                format!(
                                    "`matches_any` needs a regex list, and `{}` holds `{}` values",
                                    list.name,
                                    list.element_type.name()
                                ),
                            )
                            .primary(
                                self.trimmed(self.trimmed(source.span)),
                                format!("a `{}` list", list.element_type.name()),
                            )
                            .help(format!(
                                "use `has_any {}` to search for its strings",
                                list.name
                            )),
                        );
                        None
                    }
                    _ => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::LIST_ELEMENT_TYPE,
                                format!(
                                    "`matches_any` needs a regex list, and `{}` is a lookup",
                                    source.name.text
                                ),
                            )
                            .primary(self.trimmed(self.trimmed(source.span)), "a lookup"),
                        );
                        None
                    }
                }
            }
            (other, _) => {
                let span = match other {
                    ast::Needles::Literals(_, span)
                    | ast::Needles::Cidr(_, span)
                    | ast::Needles::Columns { span, .. } => *span,
                    ast::Needles::Source(source) => self.trimmed(self.trimmed(source.span)),
                    ast::Needles::Regex(regex) => regex.span,
                    ast::Needles::Near(near) => near.span,
                    ast::Needles::String(string) => string.span,
                };
                let (message, help) = if any {
                    (
                        "`matches_any` takes the name of a regex list",
                        "declare `list NAME: regex = [/.../]` and name it",
                    )
                } else {
                    (
                        "`matches` takes one regex literal such as `/sk-[A-Za-z0-9]{20,}/`",
                        "use `matches_any` with a regex list",
                    )
                };
                self.wrong_needles(span, message.to_string(), Some(help));
                None
            }
        }
    }
}
