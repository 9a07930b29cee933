//! Parameters set after checking: a test case's `params` and the compile
//! fixtures set a parameter's value in a checked rule.

use super::{Detection, Expr, ExprKind, Value};

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
