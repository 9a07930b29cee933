//! Calls: aggregates, `baseline` and `percentile` in alert conditions.
//!
//! Input: a call expression, the scope of the detection and the [`Mode`].
//! Output: an `Aggregate`, `Baseline` or `Percentile` IR node labelled with
//! its source text, or a diagnostic (unknown function, aggregate outside a
//! condition, wrong arguments, misplaced baseline or percentile).

use super::expressions::Mode;
use super::resolve::{Scope, narrowing};
use super::rules::RuleChecker;
use super::suggestion;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast;

const FUNCTIONS: [&str; 9] = [
    "count",
    "distinct",
    "sum",
    "avg",
    "min",
    "max",
    "baseline",
    "percentile",
    "norm",
];

/// Source text with runs of whitespace folded to one space.
pub(crate) fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether an aggregate occurs anywhere in `expr`.
pub(crate) fn contains_aggregate(expr: &ir::Expr) -> bool {
    match &expr.kind {
        ir::ExprKind::Aggregate { .. } => true,
        ir::ExprKind::Arithmetic { left, right, .. }
        | ir::ExprKind::Compare { left, right, .. } => {
            contains_aggregate(left) || contains_aggregate(right)
        }
        ir::ExprKind::Not { operand } => contains_aggregate(operand),
        ir::ExprKind::And { operands } | ir::ExprKind::Or { operands } => {
            operands.iter().any(contains_aggregate)
        }
        ir::ExprKind::Baseline { aggregate, .. } | ir::ExprKind::Percentile { aggregate, .. } => {
            contains_aggregate(aggregate)
        }
        _ => false,
    }
}

impl RuleChecker<'_> {
    /// `norm(field)`: the normalised view of a text field that has a
    /// `*_norm` companion in the schema.
    fn norm_call(
        &mut self,
        arguments: &[ast::Expr],
        filter: Option<&ast::Expr>,
        span: Span,
        scope: &Scope,
        mode: Mode,
    ) -> Option<ir::Expr> {
        let fields: Vec<&str> = crate::normalize::NORMALISED_FIELDS
            .iter()
            .map(|(field, _)| *field)
            .collect();
        let usage = format!(
            "`norm` takes one text field with a normalised companion: {}",
            fields.join(", ")
        );
        let name = match (arguments, filter) {
            (
                [
                    ast::Expr {
                        kind: ast::ExprKind::Name(name),
                        ..
                    },
                ],
                None,
            ) => name,
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(Code::FUNCTION_ARGUMENT, usage)
                        .primary(span, "not one field name"),
                );
                return None;
            }
        };
        let Some((_, companion)) = crate::normalize::NORMALISED_FIELDS
            .iter()
            .find(|(field, _)| *field == name.text)
        else {
            self.diagnostics.push(
                Diagnostic::new(Code::FUNCTION_ARGUMENT, usage)
                    .primary(name.span, "no normalised companion"),
            );
            return None;
        };
        if mode.aggregated() {
            self.field_outside_aggregate(name);
            return None;
        }
        let field = self.field(name, scope)?;
        let companion_name = ast::Name {
            text: (*companion).to_string(),
            span: name.span,
        };
        let companion = self.field(&companion_name, scope)?;
        Some(self.node(
            ir::ExprKind::Norm {
                field: field.name,
                companion: companion.name,
            },
            ir::ValueType::String,
            span,
        ))
    }

    /// Lowers a function call.
    pub(crate) fn call(
        &mut self,
        function: &ast::Name,
        arguments: &[ast::Expr],
        filter: Option<&ast::Expr>,
        span: Span,
        scope: &Scope,
        mode: Mode,
    ) -> Option<ir::Expr> {
        let aggregate = match function.text.as_str() {
            "count" => ir::AggregateFunction::Count,
            "distinct" => ir::AggregateFunction::Distinct,
            "sum" => ir::AggregateFunction::Sum,
            "avg" => ir::AggregateFunction::Avg,
            "min" => ir::AggregateFunction::Min,
            "max" => ir::AggregateFunction::Max,
            "baseline" | "percentile" => {
                return self.comparison_call(function, arguments, filter, span, scope, mode);
            }
            "norm" => return self.norm_call(arguments, filter, span, scope, mode),
            other => {
                let mut diagnostic = Diagnostic::new(
                    Code::UNKNOWN_FUNCTION,
                    format!("there is no function `{other}`"),
                )
                .primary(function.span, "unknown function");
                diagnostic = match suggestion("a function", other, FUNCTIONS) {
                    Some(help) => diagnostic.help(help),
                    None => diagnostic.note(format!("the functions are {}", FUNCTIONS.join(", "))),
                };
                self.diagnostics.push(diagnostic);
                return None;
            }
        };
        let name = aggregate.name();
        if mode == Mode::Filter {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::AGGREGATE_OUTSIDE_CONDITION,
                    format!(
                        "`{name}` aggregates a group of events, and a `where` filter sees one event"
                    ),
                )
                .primary(span, "an aggregate in a filter")
                .help(if self.in_panel {
                    "aggregates belong in the panel's `show` measures"
                } else {
                    "aggregates belong in `alert when`, after `group by ... within`"
                }),
            );
            return None;
        }
        let (lowered_filter, field_scope) = match filter {
            Some(filter) => {
                let lowered = self.expr(filter, scope, Mode::Filter);
                let lowered = self.require_bool(lowered, filter.span, "the filter of an aggregate");
                let narrowed = match narrowing(filter) {
                    Some(names) => scope.narrowed(&names),
                    None => scope.clone(),
                };
                (Some(lowered), narrowed)
            }
            None => (None, scope.clone()),
        };
        let field = match (aggregate, arguments) {
            (ir::AggregateFunction::Count, []) => None,
            (ir::AggregateFunction::Count, [first, ..]) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::FUNCTION_ARGUMENT, "`count` takes no field")
                        .primary(first.span, "unexpected argument")
                        .help("write `count()`, or `count(where ...)` to count some events; `distinct(field)` counts values"),
                );
                return None;
            }
            (_, [argument]) => {
                let ast::ExprKind::Name(field_name) = &argument.kind else {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::FUNCTION_ARGUMENT,
                            format!("`{name}` takes a field name"),
                        )
                        .primary(argument.span, "not a field"),
                    );
                    return None;
                };
                let field = self.field(field_name, &field_scope)?;
                let numeric_needed = !matches!(aggregate, ir::AggregateFunction::Distinct);
                if numeric_needed && !field.value_type.is_numeric() {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::FUNCTION_ARGUMENT,
                            format!(
                                "`{name}` needs a number, and `{}` is a `{}`",
                                field.name,
                                field.value_type.name()
                            ),
                        )
                        .primary(argument.span, format!("a `{}`", field.value_type.name()))
                        .help(format!(
                            "`distinct({})` counts its different values",
                            field.name
                        )),
                    );
                    return None;
                }
                Some(field)
            }
            (_, arguments) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::FUNCTION_ARGUMENT,
                        format!(
                            "`{name}` takes one field, and {} arguments are given",
                            arguments.len()
                        ),
                    )
                    .primary(span, "wrong number of arguments")
                    .help(format!(
                        "write `{name}(field)` or `{name}(field, where ...)`"
                    )),
                );
                return None;
            }
        };
        let filter = match lowered_filter {
            Some(Some(filter)) => Some(Box::new(filter)),
            Some(None) => return None,
            None => None,
        };
        let value_type = match (aggregate, &field) {
            (ir::AggregateFunction::Count | ir::AggregateFunction::Distinct, _) => {
                ir::ValueType::Int
            }
            (ir::AggregateFunction::Avg, _) => ir::ValueType::Float,
            (_, Some(field)) => field.value_type,
            (_, None) => ir::ValueType::Float,
        };
        Some(self.node(
            ir::ExprKind::Aggregate {
                function: aggregate,
                field: field.map(|field| field.name),
                filter,
                label: normalize(self.sources.slice(span)),
            },
            value_type,
            span,
        ))
    }

    /// `baseline(AGG, LOOKBACK)` and `percentile(AGG, P)`.
    fn comparison_call(
        &mut self,
        function: &ast::Name,
        arguments: &[ast::Expr],
        filter: Option<&ast::Expr>,
        span: Span,
        scope: &Scope,
        mode: Mode,
    ) -> Option<ir::Expr> {
        let name = function.text.as_str();
        let window_ms = match mode {
            Mode::Condition {
                window_ms: Some(window_ms),
            } => window_ms,
            Mode::Filter => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::AGGREGATE_OUTSIDE_CONDITION,
                        format!(
                            "`{name}` compares aggregates, and a `where` filter sees one event"
                        ),
                    )
                    .primary(span, "in a filter")
                    .help("use it in `alert when`, after `group by ... within`"),
                );
                return None;
            }
            Mode::Aggregated => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::BASELINE_MISUSE,
                        format!("`{name}` cannot be nested in `baseline` or `percentile`"),
                    )
                    .primary(span, "nested here"),
                );
                return None;
            }
            Mode::Condition { window_ms: None } => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::BASELINE_MISUSE,
                        format!("`{name}` is only meaningful in the condition of a `group by ... within` detection"),
                    )
                    .primary(span, "not in a window detection")
                    .note("a cluster has no history per group and no population of groups to rank"),
                );
                return None;
            }
        };
        if let Some(filter) = filter {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::FUNCTION_ARGUMENT,
                    format!("`{name}` takes no `where` filter"),
                )
                .primary(filter.span, "filter here")
                .help(format!(
                    "filter inside the aggregate: `{name}(count(where ...), ...)`"
                )),
            );
            return None;
        }
        let [aggregate_argument, second] = arguments else {
            let example = if name == "baseline" {
                "baseline(count(), 7d)"
            } else {
                "percentile(count(), 99)"
            };
            self.diagnostics.push(
                Diagnostic::new(
                    Code::FUNCTION_ARGUMENT,
                    format!(
                        "`{name}` takes two arguments, and {} are given",
                        arguments.len()
                    ),
                )
                .primary(span, "wrong number of arguments")
                .help(format!("write `{example}`")),
            );
            return None;
        };
        let aggregate = self.expr(aggregate_argument, scope, Mode::Aggregated);
        let aggregate = aggregate.and_then(|aggregate| {
            if !contains_aggregate(&aggregate) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::BASELINE_MISUSE,
                        format!("the first argument of `{name}` has no aggregate"),
                    )
                    .primary(aggregate_argument.span, "a constant")
                    .help("pass an aggregate such as `count()` or `sum(cost_usd)`"),
                );
                return None;
            }
            if !aggregate.value_type.is_numeric() {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::FUNCTION_ARGUMENT,
                        format!(
                            "`{name}` needs a number, and this is a `{}`",
                            aggregate.value_type.name()
                        ),
                    )
                    .primary(aggregate_argument.span, "not a number"),
                );
                return None;
            }
            Some(aggregate)
        });
        let label = normalize(self.sources.slice(span));
        if name == "baseline" {
            let lookback_ms = match &second.kind {
                ast::ExprKind::Literal(ast::Literal::Duration(duration))
                    if duration.millis < window_ms.max(1) =>
                {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::WINDOW_LENGTH,
                            "the baseline's lookback is shorter than the window, so it never holds an earlier window",
                        )
                        .primary(second.span, "too short")
                        .help("use a lookback of several windows, such as `7d` for an hourly window"),
                    );
                    None
                }
                ast::ExprKind::Literal(ast::Literal::Duration(duration)) => Some(duration.millis),
                _ => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::FUNCTION_ARGUMENT,
                            "the second argument of `baseline` is a duration literal such as `7d`",
                        )
                        .primary(second.span, "not a duration literal"),
                    );
                    None
                }
            };
            let (aggregate, lookback_ms) = (aggregate?, lookback_ms?);
            return Some(self.node(
                ir::ExprKind::Baseline {
                    aggregate: Box::new(aggregate),
                    lookback_ms,
                    label,
                },
                ir::ValueType::Float,
                span,
            ));
        }
        let percentile = match &second.kind {
            ast::ExprKind::Literal(ast::Literal::Integer(value, _)) => Some(*value as f64),
            ast::ExprKind::Literal(ast::Literal::Float(value, _)) => Some(*value),
            _ => None,
        };
        let percentile = match percentile {
            Some(value) if (0.0..=100.0).contains(&value) => Some(value),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::FUNCTION_ARGUMENT,
                        "the second argument of `percentile` is a number from 0 to 100",
                    )
                    .primary(second.span, "not a percentile")
                    .help("write `percentile(count(), 99)`"),
                );
                None
            }
        };
        let (aggregate, percentile) = (aggregate?, percentile?);
        Some(self.node(
            ir::ExprKind::Percentile {
                aggregate: Box::new(aggregate),
                percentile,
                label,
            },
            ir::ValueType::Float,
            span,
        ))
    }
}
