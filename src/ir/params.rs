//! Parameters set after checking: a test case's `params` and the compile
//! fixtures set a parameter's value in a checked rule. And the range a rule's
//! use of a parameter gives it: a count threshold or a factor of a history
//! cannot be negative.

use super::{AggregateFunction, ArithmeticOp, Detection, Expr, ExprKind, Origin, Value};

/// A use of a parameter that needs its value to be 0 or more.
#[derive(Debug, Clone, PartialEq)]
pub struct NonNegativeUse {
    /// The parameter.
    pub param: String,
    /// Where the rule names it.
    pub origin: Origin,
    /// What the use is, for messages: "compared with `count()`, which is
    /// never negative".
    pub why: String,
}

impl Detection {
    /// The uses in the alert condition that make a parameter a count
    /// threshold (compared with `count()` or `distinct(...)`, which are
    /// never negative: a negative threshold holds for every group) or a
    /// factor of a history (`factor * baseline(...)`, `factor *
    /// percentile(...)`: a negative factor turns a spike into its opposite).
    pub fn non_negative_params(&self) -> Vec<NonNegativeUse> {
        let mut uses = Vec::new();
        if let Detection::Window { condition, .. } | Detection::Cluster { condition, .. } = self {
            non_negative_in(condition, &mut uses);
        }
        uses
    }
}

fn non_negative_in(expr: &Expr, uses: &mut Vec<NonNegativeUse>) {
    let param_name = |expr: &Expr| match &expr.kind {
        ExprKind::Param { name, .. } => Some(name.clone()),
        _ => None,
    };
    match &expr.kind {
        ExprKind::Compare { left, right, .. } => {
            for (param, other) in [(left, right), (right, left)] {
                if let (
                    Some(name),
                    ExprKind::Aggregate {
                        function: AggregateFunction::Count | AggregateFunction::Distinct,
                        label,
                        ..
                    },
                ) = (param_name(param), &other.kind)
                {
                    uses.push(NonNegativeUse {
                        param: name,
                        origin: param.origin,
                        why: format!("compared with `{label}`, which is never negative"),
                    });
                }
            }
            non_negative_in(left, uses);
            non_negative_in(right, uses);
        }
        ExprKind::Arithmetic {
            op: ArithmeticOp::Multiply,
            left,
            right,
        } => {
            for (param, other) in [(left, right), (right, left)] {
                let history = match &other.kind {
                    ExprKind::Baseline { label, .. } | ExprKind::Percentile { label, .. } => {
                        Some(label)
                    }
                    _ => None,
                };
                if let (Some(name), Some(label)) = (param_name(param), history) {
                    uses.push(NonNegativeUse {
                        param: name,
                        origin: param.origin,
                        why: format!(
                            "a factor of `{label}`, where a negative one inverts the comparison"
                        ),
                    });
                }
            }
            non_negative_in(left, uses);
            non_negative_in(right, uses);
        }
        ExprKind::Arithmetic { left, right, .. } => {
            non_negative_in(left, uses);
            non_negative_in(right, uses);
        }
        ExprKind::Not { operand } => non_negative_in(operand, uses),
        ExprKind::And { operands } | ExprKind::Or { operands } => {
            operands
                .iter()
                .for_each(|operand| non_negative_in(operand, uses));
        }
        _ => {}
    }
}

impl Detection {
    /// Sets every use of the parameter `name` to `value` (a test case's or
    /// a content repository's override), leaving the rest of the rule as it is.
    pub fn set_param(&mut self, name: &str, value: &Value) {
        let mut visit = |expr: &mut Expr| set_param_in(expr, name, value);
        match self {
            Detection::Match { source } | Detection::NewValue { source, .. } => {
                source.filter.iter_mut().for_each(&mut visit);
            }
            Detection::Window {
                source, condition, ..
            }
            | Detection::Cluster {
                source, condition, ..
            } => {
                source.filter.iter_mut().for_each(&mut visit);
                visit(condition);
            }
            Detection::Sequence { steps, .. } => {
                for step in steps {
                    step.source.filter.iter_mut().for_each(&mut visit);
                }
            }
        }
    }
}

fn set_param_in(expr: &mut Expr, name: &str, new_value: &Value) {
    match &mut expr.kind {
        ExprKind::Param { name: param, value } if param == name => *value = new_value.clone(),
        ExprKind::Not { operand } => set_param_in(operand, name, new_value),
        ExprKind::And { operands } | ExprKind::Or { operands } => {
            for operand in operands {
                set_param_in(operand, name, new_value);
            }
        }
        ExprKind::Compare { left, right, .. } | ExprKind::Arithmetic { left, right, .. } => {
            set_param_in(left, name, new_value);
            set_param_in(right, name, new_value);
        }
        ExprKind::Text { subject, .. }
        | ExprKind::Matches { subject, .. }
        | ExprKind::InValues { subject, .. }
        | ExprKind::InCidr { subject, .. } => set_param_in(subject, name, new_value),
        ExprKind::InLookup { subjects, .. } => {
            for subject in subjects {
                set_param_in(subject, name, new_value);
            }
        }
        ExprKind::Aggregate {
            filter: Some(filter),
            ..
        } => set_param_in(filter, name, new_value),
        ExprKind::Baseline { aggregate, .. } | ExprKind::Percentile { aggregate, .. } => {
            set_param_in(aggregate, name, new_value);
        }
        _ => {}
    }
}
