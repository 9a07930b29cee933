//! Expressions: typing and lowering of logic, comparisons and arithmetic.
//!
//! Input: an [`ast::Expr`], the [`Scope`] of event types it reads and the
//! [`Mode`] (event filter or alert condition). Output: a typed [`ir::Expr`],
//! or `None` after reporting why. `None` is the error type: it is compatible
//! with everything, so one mistake gives one diagnostic.

use super::resolve::{Scope, narrowing};
use super::rules::RuleChecker;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast;

/// Where an expression stands, which decides what names may mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A `where` filter: fields of one event; no aggregates.
    Filter,
    /// An `alert when` condition: aggregates, literals and parameters; no bare
    /// fields. `window_ms` is the window of a `group by ... within` detection,
    /// where `baseline` and `percentile` are allowed; `None` in a cluster.
    Condition {
        /// The window length, when the condition belongs to a window detection.
        window_ms: Option<i64>,
    },
    /// The first argument of `baseline` or `percentile`: aggregates only.
    Aggregated,
}

impl Mode {
    /// Whether fields must be wrapped in aggregates here.
    pub fn aggregated(self) -> bool {
        !matches!(self, Mode::Filter)
    }
}

/// Whether an expression is a constant (a literal or a parameter).
pub(crate) fn is_constant(expr: &ir::Expr) -> bool {
    matches!(
        expr.kind,
        ir::ExprKind::Literal { .. } | ir::ExprKind::Param { .. }
    )
}

/// The string value of a constant string expression.
pub(crate) fn constant_string(expr: &ir::Expr) -> Option<&str> {
    match &expr.kind {
        ir::ExprKind::Literal {
            value: ir::Value::String(text),
        }
        | ir::ExprKind::Param {
            value: ir::Value::String(text),
            ..
        } => Some(text),
        _ => None,
    }
}

fn compare_op(op: ast::CompareOp) -> ir::CompareOp {
    match op {
        ast::CompareOp::Equal => ir::CompareOp::Equal,
        ast::CompareOp::NotEqual => ir::CompareOp::NotEqual,
        ast::CompareOp::Less => ir::CompareOp::Less,
        ast::CompareOp::LessEqual => ir::CompareOp::LessEqual,
        ast::CompareOp::Greater => ir::CompareOp::Greater,
        ast::CompareOp::GreaterEqual => ir::CompareOp::GreaterEqual,
    }
}

fn flipped(op: ast::CompareOp) -> ast::CompareOp {
    match op {
        ast::CompareOp::Less => ast::CompareOp::Greater,
        ast::CompareOp::LessEqual => ast::CompareOp::GreaterEqual,
        ast::CompareOp::Greater => ast::CompareOp::Less,
        ast::CompareOp::GreaterEqual => ast::CompareOp::LessEqual,
        other => other,
    }
}

fn op_text(op: ast::CompareOp) -> &'static str {
    match op {
        ast::CompareOp::Equal => "==",
        ast::CompareOp::NotEqual => "!=",
        ast::CompareOp::Less => "<",
        ast::CompareOp::LessEqual => "<=",
        ast::CompareOp::Greater => ">",
        ast::CompareOp::GreaterEqual => ">=",
    }
}

fn flatten<'e>(expr: &'e ast::Expr, and: bool, out: &mut Vec<&'e ast::Expr>) {
    match &expr.kind {
        ast::ExprKind::And(left, right) if and => {
            flatten(left, and, out);
            flatten(right, and, out);
        }
        ast::ExprKind::Or(left, right) if !and => {
            flatten(left, and, out);
            flatten(right, and, out);
        }
        _ => out.push(expr),
    }
}

impl RuleChecker<'_> {
    /// Types and lowers an expression.
    pub(crate) fn expr(&mut self, expr: &ast::Expr, scope: &Scope, mode: Mode) -> Option<ir::Expr> {
        let span = expr.span;
        match &expr.kind {
            ast::ExprKind::Literal(literal) => self.literal(literal),
            ast::ExprKind::Name(name) => self.name(name, scope, mode),
            ast::ExprKind::Tuple(_) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::WRONG_NEEDLES,
                        "a tuple of fields only stands before `in` and a lookup",
                    )
                    .primary(span, "a tuple here")
                    .help("write `(a, b) in lookup` or `(a, b) in lookup.(column_a, column_b)`"),
                );
                None
            }
            ast::ExprKind::Call {
                function,
                arguments,
                filter,
            } => self.call(function, arguments, filter.as_deref(), span, scope, mode),
            ast::ExprKind::Not(operand) => {
                let lowered = self.expr(operand, scope, mode);
                let operand = self.require_bool(lowered, operand.span, "the operand of `not`")?;
                Some(self.node(
                    ir::ExprKind::Not {
                        operand: Box::new(operand),
                    },
                    ir::ValueType::Bool,
                    span,
                ))
            }
            ast::ExprKind::And(..) => {
                let mut conjuncts = Vec::new();
                flatten(expr, true, &mut conjuncts);
                let mut current = scope.clone();
                let mut operands = Vec::new();
                let mut ok = true;
                for conjunct in conjuncts {
                    let lowered = self.expr(conjunct, &current, mode);
                    match self.require_bool(lowered, conjunct.span, "`and`") {
                        Some(lowered) => operands.push(lowered),
                        None => ok = false,
                    }
                    if mode == Mode::Filter
                        && let Some(names) = narrowing(conjunct)
                    {
                        current = current.narrowed(&names);
                    }
                }
                ok.then(|| self.node(ir::ExprKind::And { operands }, ir::ValueType::Bool, span))
            }
            ast::ExprKind::Or(..) => {
                let mut disjuncts = Vec::new();
                flatten(expr, false, &mut disjuncts);
                let mut operands = Vec::new();
                let mut ok = true;
                for disjunct in disjuncts {
                    let lowered = self.expr(disjunct, scope, mode);
                    match self.require_bool(lowered, disjunct.span, "`or`") {
                        Some(lowered) => operands.push(lowered),
                        None => ok = false,
                    }
                }
                ok.then(|| self.node(ir::ExprKind::Or { operands }, ir::ValueType::Bool, span))
            }
            ast::ExprKind::Exists(name) => {
                if mode.aggregated() {
                    self.field_outside_aggregate(name);
                    return None;
                }
                let field = self.field(name, scope)?;
                Some(self.node(
                    ir::ExprKind::Exists { field: field.name },
                    ir::ValueType::Bool,
                    span,
                ))
            }
            ast::ExprKind::Compare {
                op,
                op_span,
                left,
                right,
            } => self.compare(*op, *op_span, left, right, span, scope, mode),
            ast::ExprKind::Arithmetic { op, left, right } => {
                self.arithmetic(*op, left, right, span, scope, mode)
            }
            ast::ExprKind::In { .. }
            | ast::ExprKind::Text { .. }
            | ast::ExprKind::Matches { .. } => self.operator(expr, scope, mode),
        }
    }

    /// Reports a non-boolean where a boolean is needed; passes booleans through.
    pub(crate) fn require_bool(
        &mut self,
        expr: Option<ir::Expr>,
        span: Span,
        what: &str,
    ) -> Option<ir::Expr> {
        let expr = expr?;
        if expr.value_type == ir::ValueType::Bool {
            return Some(expr);
        }
        let found = expr.value_type.name();
        let mut diagnostic = Diagnostic::new(
            Code::NOT_BOOL,
            format!("{what} needs a `bool`, and this is a `{found}`"),
        )
        .primary(span, format!("a `{found}`"));
        if matches!(expr.kind, ir::ExprKind::Field { .. }) && found == "string" {
            diagnostic = diagnostic
                .help("test the field, for example `exists FIELD` or `FIELD == \"value\"`");
        } else if matches!(expr.kind, ir::ExprKind::Aggregate { .. }) {
            diagnostic = diagnostic.help("compare the aggregate, for example `count() >= 5`");
        }
        self.diagnostics.push(diagnostic);
        None
    }

    fn literal(&mut self, literal: &ast::Literal) -> Option<ir::Expr> {
        let (value, value_type) = match literal {
            ast::Literal::String(string) => (
                ir::Value::String(string.value.clone()),
                ir::ValueType::String,
            ),
            ast::Literal::Integer(value, _) => (ir::Value::Int(*value), ir::ValueType::Int),
            ast::Literal::Float(value, _) => (ir::Value::Float(*value), ir::ValueType::Float),
            ast::Literal::Bool(value, _) => (ir::Value::Bool(*value), ir::ValueType::Bool),
            ast::Literal::Duration(duration) => (
                ir::Value::DurationMs(duration.millis),
                ir::ValueType::Duration,
            ),
            ast::Literal::Regex(_) | ast::Literal::Near(_) => (
                ir::Value::Regex(super::regexes::lower(
                    literal,
                    false,
                    &mut self.diagnostics,
                )?),
                ir::ValueType::Regex,
            ),
        };
        Some(self.node(ir::ExprKind::Literal { value }, value_type, literal.span()))
    }

    /// A parameter reference with its effective value, if `name` is a parameter.
    pub(crate) fn param(&mut self, name: &ast::Name) -> Option<ir::Expr> {
        let param = self.environment.params.get(&name.text)?;
        self.usage.params.insert(name.text.clone());
        Some(self.node(
            ir::ExprKind::Param {
                name: name.text.clone(),
                value: param.value.value.clone(),
            },
            param.value.value_type,
            name.span,
        ))
    }

    fn name(&mut self, name: &ast::Name, scope: &Scope, mode: Mode) -> Option<ir::Expr> {
        let is_field = self.is_field_somewhere(&name.text, scope);
        if !is_field && let Some(param) = self.param(name) {
            return Some(param);
        }
        if mode.aggregated() {
            if is_field
                || !self
                    .environment
                    .schema
                    .event_types_with(&name.text)
                    .is_empty()
            {
                self.field_outside_aggregate(name);
            } else {
                self.unknown_name(name, scope, true);
            }
            return None;
        }
        if !is_field
            && self
                .environment
                .schema
                .event_types_with(&name.text)
                .is_empty()
        {
            self.unknown_name(name, scope, true);
            return None;
        }
        let field = self.field(name, scope)?;
        Some(self.node(
            ir::ExprKind::Field { name: field.name },
            field.value_type,
            name.span,
        ))
    }

    pub(crate) fn field_outside_aggregate(&mut self, name: &ast::Name) {
        let (place, label) = if self.in_panel {
            (
                "a panel measure",
                "one value per event, and a measure sees a whole group",
            )
        } else {
            (
                "an alert condition",
                "one value per event, and the condition sees a whole group",
            )
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::FIELD_OUTSIDE_AGGREGATE,
                format!(
                    "the field `{}` is read outside an aggregate in {place}",
                    name.text
                ),
            )
            .primary(name.span, label)
            .help(format!(
                "wrap it in an aggregate such as `max({0})` or `distinct({0})`, or test it in the `where` filter",
                name.text
            )),
        );
    }

    fn type_mismatch(
        &mut self,
        message: String,
        op_span: Span,
        left: &ir::Expr,
        right: &ir::Expr,
        left_span: Span,
        right_span: Span,
    ) {
        self.diagnostics.push(
            Diagnostic::new(Code::TYPE_MISMATCH, message)
                .primary(op_span, "these types do not compare")
                .secondary(left_span, format!("a `{}`", left.value_type.name()))
                .secondary(right_span, format!("a `{}`", right.value_type.name())),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn compare(
        &mut self,
        op: ast::CompareOp,
        op_span: Span,
        left_ast: &ast::Expr,
        right_ast: &ast::Expr,
        span: Span,
        scope: &Scope,
        mode: Mode,
    ) -> Option<ir::Expr> {
        let left = self.expr(left_ast, scope, mode);
        let right = self.expr(right_ast, scope, mode);
        let (mut left, mut right) = (left?, right?);
        let (mut left_span, mut right_span) = (left_ast.span, right_ast.span);
        let mut op = op;
        // Constants go on the right, so `"x" == field` reads like `field == "x"`.
        if is_constant(&left) && !is_constant(&right) {
            std::mem::swap(&mut left, &mut right);
            std::mem::swap(&mut left_span, &mut right_span);
            op = flipped(op);
        }
        use ir::ValueType as T;
        let equality = matches!(op, ast::CompareOp::Equal | ast::CompareOp::NotEqual);
        let text = op_text(op);
        let compare = |checker: &Self, left: ir::Expr, right: ir::Expr| {
            checker.node(
                ir::ExprKind::Compare {
                    op: compare_op(op),
                    left: Box::new(left),
                    right: Box::new(right),
                },
                T::Bool,
                span,
            )
        };
        match (left.value_type, right.value_type) {
            (l, r) if l.is_numeric() && r.is_numeric() => Some(compare(self, left, right)),
            (T::Duration, T::Duration) | (T::Timestamp, T::Timestamp) => {
                Some(compare(self, left, right))
            }
            (T::Bool, T::Bool) | (T::Ip, T::Ip) if equality => Some(compare(self, left, right)),
            (T::Timestamp, T::String) if matches!(right.kind, ir::ExprKind::Literal { .. }) => {
                let value = constant_string(&right).unwrap_or("");
                if value.parse::<jiff::Timestamp>().is_err() {
                    self.invalid_literal(
                        right_span,
                        format!("`{value}` is not an RFC 3339 timestamp"),
                        "such as `2026-03-02T10:00:00Z`",
                    );
                    return None;
                }
                right.value_type = T::Timestamp;
                Some(compare(self, left, right))
            }
            (T::Ip, T::String) if equality && is_constant(&right) => {
                let value = constant_string(&right).unwrap_or("");
                if value.parse::<std::net::IpAddr>().is_err() {
                    self.invalid_literal(
                        right_span,
                        format!("`{value}` is not an IP address"),
                        "such as `192.0.2.1` or `2001:db8::1`",
                    );
                    return None;
                }
                right.value_type = T::Ip;
                Some(compare(self, left, right))
            }
            (T::String, T::String) if equality => {
                let Some(value) = constant_string(&right).map(str::to_string) else {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::TYPE_MISMATCH,
                            format!("`{text}` compares a string field with a literal or a parameter, not with another field"),
                        )
                        .primary(right_span, "not a constant")
                        .note("string comparison across fields is not expressible on every target"),
                    );
                    return None;
                };
                if let ir::ExprKind::Field { name } = &left.kind {
                    if name == "event_type" {
                        self.check_event_type_value(&value, right_span, scope);
                    }
                    let name = name.clone();
                    self.check_one_of(&name, &value, right_span, scope);
                }
                Some(self.node(
                    ir::ExprKind::Text {
                        op: ir::TextOp::Equals,
                        case_sensitive: false,
                        fold_whitespace: false,
                        negated: op == ast::CompareOp::NotEqual,
                        subject: Box::new(left),
                        needles: ir::StringSet::Literals(vec![value]),
                    },
                    T::Bool,
                    span,
                ))
            }
            (l, r) if l == r || (l.is_numeric() && r.is_numeric()) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TYPE_MISMATCH,
                        format!("`{text}` does not order `{}` values", l.name()),
                    )
                    .primary(op_span, "no order")
                    .note("`<`, `<=`, `>` and `>=` compare numbers, durations and timestamps; strings, addresses and booleans take `==` and `!=`"),
                );
                None
            }
            (l, r) => {
                self.type_mismatch(
                    format!("`{text}` compares `{}` with `{}`", l.name(), r.name()),
                    op_span,
                    &left,
                    &right,
                    left_span,
                    right_span,
                );
                None
            }
        }
    }

    /// E0213 for a literal that does not parse as the type it is compared with.
    pub(crate) fn invalid_literal(&mut self, span: Span, message: String, example: &str) {
        self.diagnostics.push(
            Diagnostic::new(Code::INVALID_VALUE_LITERAL, message)
                .primary(span, "does not parse")
                .help(format!("write a valid value, {example}")),
        );
    }

    /// E0209 when a string field restricted by `one_of` is compared with another value.
    pub(crate) fn check_one_of(&mut self, field: &str, value: &str, span: Span, scope: &Scope) {
        let Some(allowed) = scope
            .types
            .iter()
            .find_map(|event| self.environment.schema.field(event, field)?.one_of.clone())
        else {
            return;
        };
        if allowed
            .iter()
            .any(|candidate| candidate.eq_ignore_ascii_case(value))
        {
            return;
        }
        let quoted: Vec<String> = allowed.iter().map(|value| format!("\"{value}\"")).collect();
        let mut diagnostic = Diagnostic::new(
            Code::OUTSIDE_ONE_OF,
            format!("`{field}` is never \"{value}\""),
        )
        .primary(span, "not an allowed value")
        .note(format!("`{field}` is one of {}", quoted.join(", ")));
        if let Some(help) = super::suggestion(
            "an allowed value",
            value,
            allowed.iter().map(String::as_str),
        ) {
            diagnostic = diagnostic.help(help);
        }
        self.diagnostics.push(diagnostic);
    }

    fn arithmetic(
        &mut self,
        op: ast::ArithmeticOp,
        left_ast: &ast::Expr,
        right_ast: &ast::Expr,
        span: Span,
        scope: &Scope,
        mode: Mode,
    ) -> Option<ir::Expr> {
        let left = self.expr(left_ast, scope, mode);
        let right = self.expr(right_ast, scope, mode);
        let (left, right) = (left?, right?);
        let (op, text) = match op {
            ast::ArithmeticOp::Add => (ir::ArithmeticOp::Add, "+"),
            ast::ArithmeticOp::Subtract => (ir::ArithmeticOp::Subtract, "-"),
            ast::ArithmeticOp::Multiply => (ir::ArithmeticOp::Multiply, "*"),
            ast::ArithmeticOp::Divide => (ir::ArithmeticOp::Divide, "/"),
        };
        if !left.value_type.is_numeric() || !right.value_type.is_numeric() {
            let (bad, bad_span) = if left.value_type.is_numeric() {
                (&right, right_ast.span)
            } else {
                (&left, left_ast.span)
            };
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TYPE_MISMATCH,
                    format!(
                        "`{text}` computes with numbers, and this is a `{}`",
                        bad.value_type.name()
                    ),
                )
                .primary(bad_span, format!("a `{}`", bad.value_type.name())),
            );
            return None;
        }
        let value_type = if op != ir::ArithmeticOp::Divide
            && left.value_type == ir::ValueType::Int
            && right.value_type == ir::ValueType::Int
        {
            ir::ValueType::Int
        } else {
            ir::ValueType::Float
        };
        Some(self.node(
            ir::ExprKind::Arithmetic {
                op,
                left: Box::new(left),
                right: Box::new(right),
            },
            value_type,
            span,
        ))
    }
}
