//! Expressions, operators, needles and literals: the half of the builder
//! below the detection clauses.

use super::{Builder, P, dedent, missing};
use crate::diagnostics::Code;
use crate::source::Span;
use crate::syntax::Rule;
use crate::syntax::ast::*;

impl Builder<'_> {
    pub(super) fn expr(&mut self, pair: P) -> Expr {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => match pair.into_inner().next() {
                Some(inner) => self.expr(inner),
                None => missing(span),
            },
            Rule::or_expr | Rule::and_expr => {
                let mut operands = Vec::new();
                let mut is_or = false;
                for child in pair.into_inner() {
                    match child.as_rule() {
                        Rule::or_op => is_or = true,
                        Rule::and_op => {}
                        _ => operands.push(self.expr(child)),
                    }
                }
                let mut iter = operands.into_iter();
                let Some(mut acc) = iter.next() else {
                    return missing(span);
                };
                for operand in iter {
                    let joined = acc.span.to(operand.span);
                    let kind = if is_or {
                        ExprKind::Or(Box::new(acc), Box::new(operand))
                    } else {
                        ExprKind::And(Box::new(acc), Box::new(operand))
                    };
                    acc = Expr { kind, span: joined };
                }
                acc
            }
            Rule::unary => {
                let mut nots = Vec::new();
                let mut operand = None;
                for child in pair.into_inner() {
                    match child.as_rule() {
                        Rule::not_op => nots.push(self.span(&child)),
                        _ => operand = Some(self.expr(child)),
                    }
                }
                let mut acc = operand.unwrap_or_else(|| missing(span));
                for not_span in nots.into_iter().rev() {
                    let joined = not_span.to(acc.span);
                    acc = Expr {
                        kind: ExprKind::Not(Box::new(acc)),
                        span: joined,
                    };
                }
                acc
            }
            Rule::predicate => self.predicate(pair),
            Rule::exists => {
                let name = pair.into_inner().next().map_or_else(
                    || Name {
                        text: String::new(),
                        span,
                    },
                    |name| self.name(&name),
                );
                Expr {
                    kind: ExprKind::Exists(name),
                    span,
                }
            }
            Rule::additive | Rule::multiplicative => self.arithmetic(pair),
            Rule::tuple => Expr {
                kind: ExprKind::Tuple(pair.into_inner().map(|name| self.name(&name)).collect()),
                span,
            },
            Rule::call => self.call(pair),
            Rule::ident => Expr {
                kind: ExprKind::Name(self.name(&pair)),
                span,
            },
            _ => match self.literal(pair) {
                Some(literal) => Expr {
                    kind: ExprKind::Literal(literal),
                    span,
                },
                None => missing(span),
            },
        }
    }

    pub(super) fn arithmetic(&mut self, pair: P) -> Expr {
        let span = self.span(&pair);
        let mut acc: Option<Expr> = None;
        let mut pending = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::additive_op | Rule::multiplicative_op => {
                    pending = Some(match child.as_str() {
                        "+" => ArithmeticOp::Add,
                        "-" => ArithmeticOp::Subtract,
                        "*" => ArithmeticOp::Multiply,
                        _ => ArithmeticOp::Divide,
                    });
                }
                _ => {
                    let operand = self.expr(child);
                    acc = Some(match (acc.take(), pending.take()) {
                        (Some(left), Some(op)) => {
                            let joined = left.span.to(operand.span);
                            Expr {
                                kind: ExprKind::Arithmetic {
                                    op,
                                    left: Box::new(left),
                                    right: Box::new(operand),
                                },
                                span: joined,
                            }
                        }
                        _ => operand,
                    });
                }
            }
        }
        acc.unwrap_or_else(|| missing(span))
    }

    pub(super) fn call(&mut self, pair: P) -> Expr {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let function = inner.next().map_or_else(
            || Name {
                text: String::new(),
                span,
            },
            |name| self.name(&name),
        );
        let mut arguments = Vec::new();
        let mut filter = None;
        for argument in inner {
            if argument.as_rule() == Rule::filter_arg {
                if let Some(expr) = argument.into_inner().next() {
                    filter = Some(Box::new(self.expr(expr)));
                }
            } else {
                arguments.push(self.expr(argument));
            }
        }
        Expr {
            kind: ExprKind::Call {
                function,
                arguments,
                filter,
            },
            span,
        }
    }

    pub(super) fn predicate(&mut self, pair: P) -> Expr {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let Some(first) = inner.next() else {
            return missing(span);
        };
        let left = self.expr(first);
        let Some(tail) = inner.next() else {
            return left;
        };
        let kind = match tail.as_rule() {
            Rule::compare_tail => {
                let mut parts = tail.into_inner();
                let (op, op_span) = parts.next().map_or((CompareOp::Equal, span), |op| {
                    let value = match op.as_str() {
                        "==" => CompareOp::Equal,
                        "!=" => CompareOp::NotEqual,
                        "<" => CompareOp::Less,
                        "<=" => CompareOp::LessEqual,
                        ">" => CompareOp::Greater,
                        _ => CompareOp::GreaterEqual,
                    };
                    (value, self.span(&op))
                });
                let right = parts
                    .next()
                    .map_or_else(|| missing(span), |right| self.expr(right));
                ExprKind::Compare {
                    op,
                    op_span,
                    left: Box::new(left),
                    right: Box::new(right),
                }
            }
            Rule::in_tail => {
                let (negated, op, needles) = self.operator_tail(tail, span);
                let (case_sensitive, op_span) =
                    op.map_or((false, span), |op| (op.0 == "in_cs", op.1));
                ExprKind::In {
                    subject: Box::new(left),
                    needles,
                    negated,
                    case_sensitive,
                    op_span,
                }
            }
            Rule::text_tail => {
                let (negated, op, needles) = self.operator_tail(tail, span);
                let (word, op_span) = op.unwrap_or_else(|| ("contains".to_string(), span));
                let case_sensitive = word.ends_with("_cs");
                let base = word.trim_end_matches("_cs");
                let any = base.ends_with("_any");
                let op = match base.trim_end_matches("_any") {
                    "startswith" => TextOp::StartsWith,
                    "endswith" => TextOp::EndsWith,
                    _ => TextOp::Contains,
                };
                ExprKind::Text {
                    op,
                    any: any || word.starts_with("has_any"),
                    case_sensitive,
                    negated,
                    subject: Box::new(left),
                    needles,
                    op_span,
                }
            }
            _ => {
                let (negated, op, needles) = self.operator_tail(tail, span);
                let (word, op_span) = op.unwrap_or_else(|| ("matches".to_string(), span));
                ExprKind::Matches {
                    subject: Box::new(left),
                    needles,
                    any: word == "matches_any",
                    negated,
                    op_span,
                }
            }
        };
        Expr { kind, span }
    }

    /// `[not] OP NEEDLES`: negation, the operator word and its span, the needles.
    pub(super) fn operator_tail(
        &mut self,
        pair: P,
        span: Span,
    ) -> (bool, Option<(String, Span)>, Needles) {
        let mut negated = false;
        let mut op = None;
        let mut needles = Needles::Literals(Vec::new(), span);
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::negation => negated = true,
                Rule::in_op | Rule::text_op | Rule::matches_op => {
                    op = Some((part.as_str().to_string(), self.span(&part)));
                }
                _ => needles = self.needles(part),
            }
        }
        (negated, op, needles)
    }

    pub(super) fn needles(&mut self, pair: P) -> Needles {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::string => Needles::String(self.string(pair)),
            Rule::list_literal => Needles::Literals(self.list_literal(pair), span),
            Rule::regex => Needles::Regex(self.regex(&pair)),
            Rule::near => Needles::Near(self.near(pair)),
            Rule::cidr_call => Needles::Cidr(
                pair.into_inner()
                    .map(|string| self.string(string))
                    .collect(),
                span,
            ),
            Rule::lookup_columns_ref => {
                let mut inner = pair.into_inner();
                let lookup = inner.next().map_or_else(
                    || Name {
                        text: String::new(),
                        span,
                    },
                    |name| self.name(&name),
                );
                let columns = inner
                    .next()
                    .map(|list| self.field_list(list))
                    .unwrap_or_default();
                Needles::Columns {
                    lookup,
                    columns,
                    span,
                }
            }
            _ => {
                let mut inner = pair.into_inner();
                let name = inner.next().map_or_else(
                    || Name {
                        text: String::new(),
                        span,
                    },
                    |name| self.name(&name),
                );
                let mut narrowing = Vec::new();
                let mut column = None;
                for part in inner {
                    match part.as_rule() {
                        Rule::narrowing => {
                            for pair in part.into_inner() {
                                let mut names = pair.into_inner().map(|name| self.name(&name));
                                if let Some(key) = names.next() {
                                    let field = names.next().unwrap_or_else(|| key.clone());
                                    narrowing.push((key, field));
                                }
                            }
                        }
                        Rule::ident => column = Some(self.name(&part)),
                        _ => {}
                    }
                }
                Needles::Source(NeedleSource {
                    name,
                    narrowing,
                    column,
                    span,
                })
            }
        }
    }

    // ------------------------------------------------------------ literals

    pub(super) fn literal(&mut self, pair: P) -> Option<Literal> {
        let span = self.span(&pair);
        Some(match pair.as_rule() {
            Rule::string => Literal::String(self.string(pair)),
            Rule::integer => Literal::Integer(self.integer(&pair), span),
            Rule::float => Literal::Float(self.float(&pair), span),
            Rule::boolean => Literal::Bool(pair.as_str() == "true", span),
            Rule::duration => Literal::Duration(self.duration(&pair)),
            Rule::regex => Literal::Regex(self.regex(&pair)),
            Rule::near => Literal::Near(self.near(pair)),
            _ => return None,
        })
    }

    pub(super) fn integer(&mut self, pair: &P) -> i64 {
        match pair.as_str().parse::<i64>() {
            Ok(value) => value,
            Err(_) => {
                let span = self.span(pair);
                self.error(
                    Code::INVALID_LITERAL,
                    span,
                    format!("the integer `{}` does not fit in 64 bits", pair.as_str()),
                    "out of range",
                );
                0
            }
        }
    }

    pub(super) fn float(&mut self, pair: &P) -> f64 {
        pair.as_str().parse::<f64>().unwrap_or(0.0)
    }

    pub(super) fn duration(&mut self, pair: &P) -> Duration {
        let span = self.span(pair);
        let text = pair.as_str();
        let millis = crate::syntax::parse_duration_ms(text);
        match millis {
            Some(millis) => Duration { millis, span },
            None => {
                self.error(
                    Code::INVALID_LITERAL,
                    span,
                    format!("the duration `{text}` is too long"),
                    "out of range",
                );
                Duration { millis: 0, span }
            }
        }
    }

    pub(super) fn string(&mut self, pair: P) -> StringLiteral {
        let span = self.span(&pair);
        let inner = pair.into_inner().next();
        let value = match inner {
            Some(kind) if kind.as_rule() == Rule::triple_string => {
                dedent(kind.into_inner().next().map_or("", |text| text.as_str()))
            }
            Some(kind) => {
                let raw = kind.into_inner().next();
                match raw {
                    Some(raw) => self.unescape(&raw),
                    None => String::new(),
                }
            }
            None => String::new(),
        };
        StringLiteral { value, span }
    }

    pub(super) fn unescape(&mut self, pair: &P) -> String {
        let text = pair.as_str();
        let mut out = String::with_capacity(text.len());
        let mut chars = text.char_indices();
        while let Some((index, character)) = chars.next() {
            if character != '\\' {
                out.push(character);
                continue;
            }
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 'u')) => {
                    let rest = &text[index + 2..];
                    let close = rest.find('}').unwrap_or(rest.len());
                    let hex = rest.get(1..close).unwrap_or("");
                    match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                        Some(decoded) => out.push(decoded),
                        None => {
                            let start = pair.as_span().start() + index;
                            let span = Span::new(self.source, start, start + close + 3);
                            self.error(
                                Code::INVALID_LITERAL,
                                span,
                                format!("`\\u{{{hex}}}` is not a Unicode character"),
                                "invalid escape",
                            );
                        }
                    }
                    for _ in 0..=close {
                        chars.next();
                    }
                }
                Some((_, other)) => out.push(other),
                None => {}
            }
        }
        out
    }

    /// `near(A, B, N)`; the grammar guarantees two parts and a gap.
    pub(super) fn near(&mut self, pair: P) -> NearLiteral {
        let span = self.span(&pair);
        let mut parts = Vec::new();
        let mut gap = (0, span);
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::integer => gap = (self.integer(&part), self.span(&part)),
                _ => parts.extend(self.literal(part)),
            }
        }
        let mut parts = parts.into_iter();
        let empty = || {
            Box::new(Literal::Regex(RegexLiteral {
                pattern: String::new(),
                case_insensitive: false,
                span,
            }))
        };
        NearLiteral {
            first: parts.next().map_or_else(empty, Box::new),
            second: parts.next().map_or_else(empty, Box::new),
            gap: gap.0,
            gap_span: gap.1,
            span,
        }
    }

    pub(super) fn regex(&mut self, pair: &P) -> RegexLiteral {
        let span = self.span(pair);
        let mut pattern = String::new();
        let mut case_insensitive = false;
        for part in pair.clone().into_inner() {
            match part.as_rule() {
                Rule::regex_body => pattern = part.as_str().replace("\\/", "/"),
                Rule::regex_flags => case_insensitive = part.as_str() == "i",
                _ => {}
            }
        }
        RegexLiteral {
            pattern,
            case_insensitive,
            span,
        }
    }
}
