//! Derived views of the IR used by several consumers.

use super::{Detection, Expr, ExprKind};

/// The shape name of a detection, as the language reference and the docs name it:
/// `match`, `threshold`, `baseline`, `percentile`, `new_value`, `cluster`, `sequence`.
pub fn shape_name(detection: &Detection) -> &'static str {
    match detection {
        Detection::Match { .. } => "match",
        Detection::Window { condition, .. } => {
            if any_node(condition, &|kind| matches!(kind, ExprKind::Baseline { .. })) {
                "baseline"
            } else if any_node(condition, &|kind| {
                matches!(kind, ExprKind::Percentile { .. })
            }) {
                "percentile"
            } else {
                "threshold"
            }
        }
        Detection::NewValue { .. } => "new_value",
        Detection::Cluster { .. } => "cluster",
        Detection::Sequence { .. } => "sequence",
    }
}

/// A duration in its largest whole unit (`7d`, `10m`, `90s`, `500ms`): how
/// the language writes it, and how EQL, Kibana and most SIEM schedules do.
pub fn duration_text(milliseconds: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    for (size, unit) in UNITS {
        if milliseconds != 0 && milliseconds % size == 0 {
            return format!("{}{unit}", milliseconds / size);
        }
    }
    format!("{milliseconds}ms")
}

/// Whether any node of `expr` (itself included) satisfies `predicate`.
pub fn any_node(expr: &Expr, predicate: &dyn Fn(&ExprKind) -> bool) -> bool {
    if predicate(&expr.kind) {
        return true;
    }
    children(expr)
        .into_iter()
        .any(|child| any_node(child, predicate))
}

/// The direct children of an expression node.
pub fn children(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::Literal { .. }
        | ExprKind::Field { .. }
        | ExprKind::Norm { .. }
        | ExprKind::Param { .. }
        | ExprKind::Exists { .. } => Vec::new(),
        ExprKind::Not { operand } => vec![operand],
        ExprKind::And { operands } | ExprKind::Or { operands } => operands.iter().collect(),
        ExprKind::Compare { left, right, .. } | ExprKind::Arithmetic { left, right, .. } => {
            vec![left, right]
        }
        ExprKind::Text { subject, .. }
        | ExprKind::Matches { subject, .. }
        | ExprKind::InValues { subject, .. }
        | ExprKind::InCidr { subject, .. } => vec![subject],
        ExprKind::InLookup { subjects, .. } => subjects.iter().collect(),
        ExprKind::Aggregate { filter, .. } => filter.iter().map(|filter| &**filter).collect(),
        ExprKind::Baseline { aggregate, .. } | ExprKind::Percentile { aggregate, .. } => {
            vec![aggregate]
        }
    }
}

impl ExprKind {
    /// What the node is called in messages (`comparison`, `` `and` ``, `lookup test`...).
    pub fn node_name(&self) -> &'static str {
        match self {
            ExprKind::Literal { .. } => "literal",
            ExprKind::Field { .. } => "field",
            ExprKind::Norm { .. } => "`norm`",
            ExprKind::Param { .. } => "parameter",
            ExprKind::Not { .. } => "`not`",
            ExprKind::And { .. } => "`and`",
            ExprKind::Or { .. } => "`or`",
            ExprKind::Exists { .. } => "`exists`",
            ExprKind::Compare { .. } => "comparison",
            ExprKind::Arithmetic { .. } => "arithmetic",
            ExprKind::Text { .. } => "string operator",
            ExprKind::Matches { .. } => "regex match",
            ExprKind::InValues { .. } => "membership test",
            ExprKind::InCidr { .. } => "cidr test",
            ExprKind::InLookup { .. } => "lookup test",
            ExprKind::Aggregate { .. } => "aggregate",
            ExprKind::Baseline { .. } => "baseline",
            ExprKind::Percentile { .. } => "percentile",
        }
    }
}
