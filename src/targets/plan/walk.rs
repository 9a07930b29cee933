//! The walk from a checked rule to its [`Plan`]: every target-neutral
//! decision, made once (see the table in [`super`]).

use super::{
    Aggregate, Baseline, Cond, Condition, Leaf, LookupRef, Percentile, Plan, Pred, Shape, Source,
    Test, TestKind, Window,
};
use crate::ir::{
    self, Detection, Expr, ExprKind, Origin, Pack, RegexSet, Rule, StringSet, TextOp, Value,
    ValueType,
};
use crate::targets::{Problem, lower};

/// Lowers a rule to its plan, or the problems no target can get past.
pub fn plan(rule: &Rule, pack: &Pack) -> Result<Plan, Vec<Problem>> {
    let (plan, problems) = plan_and_problems(rule, pack);
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// The plan of a rule with every construct no target can print lowered to
/// false, and the problems of those constructs: for a target that reports
/// its own refusals of the other constructs in the same run.
pub fn plan_and_problems(rule: &Rule, pack: &Pack) -> (Plan, Vec<Problem>) {
    let mut walk = Walk::new(pack);
    let shape = match &rule.detection {
        Detection::Match { source } => Shape::Match(walk.source(source)),
        Detection::Window {
            source,
            groupings,
            window_ms,
            condition,
            context,
            ..
        } => {
            let source = walk.source(source);
            let condition = walk.condition(condition, *window_ms);
            Shape::Window(Window {
                source,
                groupings: groupings.clone(),
                bucket_ms: *window_ms,
                condition,
                context: context.clone(),
            })
        }
        Detection::NewValue {
            source,
            values,
            key,
            lookback_ms,
        } => Shape::NewValue {
            source: walk.source(source),
            key: key.clone(),
            values: values.clone(),
            lookback_ms: *lookback_ms,
        },
        Detection::Sequence {
            by,
            within_ms,
            steps,
        } => Shape::Sequence {
            by: by.clone(),
            within_ms: *within_ms,
            steps: steps
                .iter()
                .map(|step| (walk.source(&step.source), step.repeat))
                .collect(),
        },
        Detection::Cluster {
            source,
            field,
            similarity,
            min_length,
            window_ms,
            condition,
        } => Shape::Cluster {
            source: walk.source(source),
            fingerprint: super::Fingerprint::new(field, *similarity, *min_length),
            window_ms: *window_ms,
            condition: walk.condition(condition, *window_ms),
        },
    };
    let match_key = match &rule.detection {
        Detection::Match { source } => pack.schema.match_key(&source.event_types),
        _ => Vec::new(),
    };
    let plan = Plan {
        shape,
        learn_ms: ir::DEFAULT_LEARN_MS,
        match_key,
    };
    (plan, walk.into_problems())
}

pub(super) struct Walk<'p> {
    pack: &'p Pack,
    /// The event types of the source being walked: the only values its
    /// events' `event_type` can have.
    types: Vec<String>,
    problems: Vec<Problem>,
}

impl<'p> Walk<'p> {
    /// A walk over `pack` with no problems yet.
    pub(super) fn new(pack: &'p Pack) -> Self {
        Walk {
            pack,
            types: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The problems met so far.
    pub(super) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    fn fail(&mut self, origin: Origin, message: impl Into<String>) -> Pred {
        self.problems
            .push(Problem::untranslatable(origin, message.into()));
        Pred::Or(Vec::new())
    }

    pub(super) fn source(&mut self, source: &ir::Source) -> Source {
        self.types = source.event_types.clone();
        Source {
            event_types: source.event_types.clone(),
            filter: source.filter.as_ref().map(|filter| self.pred(filter)),
        }
    }

    /// The field a test reads; operators on computed values are refused.
    fn subject(&mut self, subject: &Expr, origin: Origin) -> Option<String> {
        match &subject.kind {
            ExprKind::Field { name } => Some(name.clone()),
            _ => {
                self.fail(
                    origin,
                    "an operator on a computed value has no exact translation; only fields are tested",
                );
                None
            }
        }
    }

    fn test(&mut self, negated: bool, origin: Origin, kind: TestKind) -> Pred {
        let mut test = Test {
            negated,
            guard: Vec::new(),
            origin,
            kind,
        };
        let required = |field: &String| {
            self.pack
                .schema
                .common
                .iter()
                .any(|common| common.name == *field && common.required)
        };
        test.guard = test
            .fields()
            .into_iter()
            .filter(|field| !required(field))
            .collect();
        Pred::Test(test)
    }

    fn lookup_ref(&self, name: &str) -> LookupRef {
        LookupRef {
            name: name.to_string(),
            rows: self
                .pack
                .lookups
                .get(name)
                .map_or(0, |table| table.rows.len()),
        }
    }

    fn pred(&mut self, expr: &Expr) -> Pred {
        let origin = expr.origin;
        if let Some(split) = norm_split(expr) {
            return self.pred(&split);
        }
        match &expr.kind {
            ExprKind::And { operands } => {
                Pred::And(operands.iter().map(|operand| self.pred(operand)).collect())
            }
            ExprKind::Or { operands } => {
                Pred::Or(operands.iter().map(|operand| self.pred(operand)).collect())
            }
            ExprKind::Not { operand } => Pred::Not(Box::new(self.pred(operand))),
            ExprKind::Exists { field } => Pred::Exists(field.clone(), origin),
            ExprKind::Literal {
                value: Value::Bool(value),
            }
            | ExprKind::Param {
                value: Value::Bool(value),
                ..
            } => {
                if *value {
                    Pred::And(Vec::new())
                } else {
                    Pred::Or(Vec::new())
                }
            }
            ExprKind::Compare { op, left, right } => {
                let Some(comparison) = lower::field_versus_constant(*op, left, right) else {
                    return self.fail(
                        origin,
                        "a comparison between two fields or computed values has no exact translation",
                    );
                };
                let ExprKind::Field { name } = &comparison.field.kind else {
                    return self.fail(origin, "only a field can be compared");
                };
                let field_type = comparison.field.value_type;
                if !(field_type.is_numeric() || field_type == ValueType::Bool) {
                    return self.fail(
                        origin,
                        format!(
                            "a comparison on the {} field `{name}` has no exact translation",
                            field_type.name()
                        ),
                    );
                }
                if !matches!(
                    comparison.value,
                    Value::Int(_) | Value::Float(_) | Value::Bool(_)
                ) {
                    return self.fail(origin, "the compared value is not a number or boolean");
                }
                self.test(
                    false,
                    origin,
                    TestKind::Compare {
                        field: name.clone(),
                        field_type,
                        op: comparison.op,
                        value: comparison.value.clone(),
                    },
                )
            }
            ExprKind::Text {
                op,
                case_sensitive,
                fold_whitespace,
                negated,
                subject,
                needles,
            } => {
                let Some(field) = self.subject(subject, origin) else {
                    return Pred::Or(Vec::new());
                };
                let kind = match needles {
                    StringSet::NarrowedLookup {
                        lookup,
                        keys,
                        column,
                    } => {
                        let Some(kind) = self.narrowed(
                            origin,
                            (field, subject.value_type),
                            (*op, *case_sensitive, *fold_whitespace),
                            lookup,
                            keys,
                            column,
                        ) else {
                            return Pred::Or(Vec::new());
                        };
                        kind
                    }
                    set => {
                        let values =
                            match lower::needles(self.pack, set, usize::MAX, lower::scalar_text) {
                                Ok(values) => values,
                                Err(refusal) => {
                                    return self
                                        .fail(origin, refusal.message(|_, _| String::new()));
                                }
                            };
                        let lookup = match set {
                            StringSet::LookupColumn { lookup, .. } => Some(self.lookup_ref(lookup)),
                            _ => None,
                        };
                        if field == "event_type" && *op == TextOp::Equals {
                            // The source's types are the only values: compare exactly.
                            let values = self
                                .types
                                .iter()
                                .filter(|name| {
                                    values.iter().any(|needle| {
                                        needle == *name
                                            || (!case_sensitive
                                                && needle.to_lowercase() == name.to_lowercase())
                                    })
                                })
                                .cloned()
                                .collect();
                            TestKind::Text {
                                field,
                                field_type: subject.value_type,
                                op: TextOp::Equals,
                                case_sensitive: true,
                                fold_whitespace: false,
                                needles: values,
                                lookup: None,
                            }
                        } else {
                            TestKind::Text {
                                field,
                                field_type: subject.value_type,
                                op: *op,
                                case_sensitive: *case_sensitive,
                                fold_whitespace: *fold_whitespace,
                                needles: values,
                                lookup,
                            }
                        }
                    }
                };
                self.test(*negated, origin, kind)
            }
            ExprKind::Matches {
                negated,
                subject,
                patterns,
            } => {
                let Some(field) = self.subject(subject, origin) else {
                    return Pred::Or(Vec::new());
                };
                let patterns = match patterns {
                    RegexSet::Literal(regex) => vec![regex.clone()],
                    RegexSet::List(name) => match self.pack.lists.get(name) {
                        Some(list) => list
                            .values
                            .iter()
                            .filter_map(|value| match value {
                                Value::Regex(regex) => Some(regex.clone()),
                                Value::String(text) => Some(ir::Regex {
                                    pattern: text.clone(),
                                    case_insensitive: false,
                                }),
                                _ => None,
                            })
                            .collect(),
                        None => {
                            return self
                                .fail(origin, format!("the list `{name}` is not in the pack"));
                        }
                    },
                };
                self.test(*negated, origin, TestKind::Regex { field, patterns })
            }
            ExprKind::InValues {
                negated,
                subject,
                values,
            } => {
                let Some(field) = self.subject(subject, origin) else {
                    return Pred::Or(Vec::new());
                };
                if !values
                    .iter()
                    .all(|value| matches!(value, Value::Int(_) | Value::Float(_) | Value::Bool(_)))
                {
                    return self.fail(origin, "a membership value is not a number or boolean");
                }
                let kind = TestKind::Values {
                    field,
                    field_type: subject.value_type,
                    values: values.clone(),
                };
                self.test(*negated, origin, kind)
            }
            ExprKind::InCidr {
                negated,
                subject,
                networks,
            } => {
                let Some(field) = self.subject(subject, origin) else {
                    return Pred::Or(Vec::new());
                };
                let kind = TestKind::Cidr {
                    field,
                    field_type: subject.value_type,
                    networks: networks.clone(),
                };
                self.test(*negated, origin, kind)
            }
            ExprKind::InLookup {
                negated,
                case_sensitive,
                subjects,
                lookup,
                columns,
            } => {
                let mut fields = Vec::new();
                for subject in subjects {
                    let Some(field) = self.subject(subject, origin) else {
                        return Pred::Or(Vec::new());
                    };
                    if subject.value_type != ValueType::String {
                        return self.fail(origin, "a lookup test on a field that is not a string");
                    }
                    fields.push(field);
                }
                let mut indexes = Vec::new();
                for column in columns {
                    match lower::lookup_column(self.pack, lookup, column) {
                        Ok((_, index)) => indexes.push(index),
                        Err(refusal) => {
                            return self.fail(origin, refusal.message(|_, _| String::new()));
                        }
                    }
                }
                if fields.is_empty() || fields.len() != indexes.len() {
                    return self.fail(origin, "the lookup's columns and subjects do not pair up");
                }
                let table = &self.pack.lookups[lookup];
                let groups = lower::rows_by_first_cell(table, &indexes, *case_sensitive, text_cell);
                let kind = TestKind::Rows {
                    fields,
                    case_sensitive: *case_sensitive,
                    groups,
                    lookup: self.lookup_ref(lookup),
                };
                self.test(*negated, origin, kind)
            }
            other => self.fail(
                origin,
                format!("a {} expression is not a filter", other.node_name()),
            ),
        }
    }

    fn narrowed(
        &mut self,
        origin: Origin,
        (field, field_type): (String, ValueType),
        (op, case_sensitive, fold_whitespace): (TextOp, bool, bool),
        lookup: &str,
        keys: &[(String, String)],
        column: &str,
    ) -> Option<TestKind> {
        let (table, needle_index) = match lower::lookup_column(self.pack, lookup, column) {
            Ok(found) => found,
            Err(refusal) => {
                self.fail(origin, refusal.message(|_, _| String::new()));
                return None;
            }
        };
        let mut key_indexes = Vec::new();
        for (key_column, _) in keys {
            match lower::lookup_column(self.pack, lookup, key_column) {
                Ok((_, index)) if table.columns[index].value_type != ValueType::String => {
                    self.fail(
                        origin,
                        format!(
                            "the key column `{key_column}` of `{lookup}` is not a string; only string keys select rows exactly"
                        ),
                    );
                    return None;
                }
                Ok((_, index)) => key_indexes.push(index),
                Err(refusal) => {
                    self.fail(origin, refusal.message(|_, _| String::new()));
                    return None;
                }
            }
        }
        let groups =
            lower::needles_by_key(table, needle_index, &key_indexes, case_sensitive, text_cell);
        Some(TestKind::Narrowed {
            field,
            field_type,
            op,
            case_sensitive,
            fold_whitespace,
            keys: keys.iter().map(|(_, field)| field.clone()).collect(),
            groups,
            lookup: self.lookup_ref(lookup),
        })
    }

    fn condition(&mut self, expr: &Expr, bucket_ms: i64) -> Condition {
        let mut condition = Condition::default();
        let root = self.cond(expr, &mut condition, false, bucket_ms);
        condition.root = Some(root);
        condition
    }

    pub(super) fn cond(
        &mut self,
        expr: &Expr,
        out: &mut Condition,
        inner: bool,
        bucket_ms: i64,
    ) -> Cond {
        let report = |out: &mut Condition, label: &str, leaf: Leaf| {
            if !inner && !out.reported.iter().any(|(existing, _)| existing == label) {
                out.reported.push((label.to_string(), leaf));
            }
        };
        match &expr.kind {
            ExprKind::Literal { value } | ExprKind::Param { value, .. } => match value {
                Value::Int(value) => Cond::Int(*value),
                Value::Float(value) => Cond::Float(*value),
                Value::Bool(value) => Cond::Bool(*value),
                _ => Cond::Missing,
            },
            ExprKind::Aggregate {
                function,
                field,
                filter,
                label,
            } => {
                let index = match out
                    .aggregates
                    .iter()
                    .position(|found| found.label == *label)
                {
                    Some(index) => index,
                    None => {
                        let filter = filter.as_deref().map(|filter| self.pred(filter));
                        out.aggregates.push(Aggregate {
                            function: *function,
                            field: field.clone(),
                            filter,
                            label: label.clone(),
                        });
                        out.aggregates.len() - 1
                    }
                };
                report(out, label, Leaf::Aggregate(index));
                Cond::Leaf(Leaf::Aggregate(index))
            }
            ExprKind::Baseline {
                aggregate,
                lookback_ms,
                label,
            } => {
                let inner = self.cond(aggregate, out, true, bucket_ms);
                let empty = out.empty_value(&inner);
                out.baselines.push(Baseline {
                    inner,
                    span_ms: lookback_ms / bucket_ms.max(1) * bucket_ms.max(1),
                    empty,
                    label: label.clone(),
                });
                let leaf = Leaf::Baseline(out.baselines.len() - 1);
                report(out, label, leaf);
                Cond::Leaf(leaf)
            }
            ExprKind::Percentile {
                aggregate,
                percentile,
                label,
            } => {
                let inner = self.cond(aggregate, out, true, bucket_ms);
                out.percentiles.push(Percentile {
                    inner,
                    percentile: *percentile,
                    label: label.clone(),
                });
                let leaf = Leaf::Percentile(out.percentiles.len() - 1);
                report(out, label, leaf);
                Cond::Leaf(leaf)
            }
            ExprKind::Arithmetic { op, left, right } => Cond::Arithmetic(
                *op,
                Box::new(self.cond(left, out, inner, bucket_ms)),
                Box::new(self.cond(right, out, inner, bucket_ms)),
            ),
            ExprKind::Compare { op, left, right } => Cond::Compare(
                *op,
                Box::new(self.cond(left, out, inner, bucket_ms)),
                Box::new(self.cond(right, out, inner, bucket_ms)),
            ),
            ExprKind::And { operands } => Cond::And(
                operands
                    .iter()
                    .map(|operand| self.cond(operand, out, inner, bucket_ms))
                    .collect(),
            ),
            ExprKind::Or { operands } => Cond::Or(
                operands
                    .iter()
                    .map(|operand| self.cond(operand, out, inner, bucket_ms))
                    .collect(),
            ),
            ExprKind::Not { operand } => {
                Cond::Not(Box::new(self.cond(operand, out, inner, bucket_ms)))
            }
            other => {
                self.fail(
                    expr.origin,
                    format!(
                        "a {} expression has no place in a condition",
                        other.node_name()
                    ),
                );
                Cond::Missing
            }
        }
    }
}

/// A lookup cell as text: strings only (the checker types lookup tests as strings).
fn text_cell(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        _ => None,
    }
}

/// `norm(f) OP ...` as the exact form every target can print: the test on
/// the companion where the event has it, and on the raw field where it does
/// not (`OP(f_norm) or (not exists f_norm and OP(f))`). A test on a missing
/// field is false, negated or not, so `OP(f_norm)` already holds only where
/// the companion exists, and the form is false when both are missing, as
/// the evaluator's `norm(f)` is.
fn norm_split(expr: &Expr) -> Option<Expr> {
    let subject = match &expr.kind {
        ExprKind::Text { subject, .. }
        | ExprKind::Matches { subject, .. }
        | ExprKind::InValues { subject, .. }
        | ExprKind::InCidr { subject, .. } => subject,
        _ => return None,
    };
    let ExprKind::Norm { field, companion } = &subject.kind else {
        return None;
    };
    let with_subject = |name: &str| {
        let mut test = expr.clone();
        if let ExprKind::Text { subject, .. }
        | ExprKind::Matches { subject, .. }
        | ExprKind::InValues { subject, .. }
        | ExprKind::InCidr { subject, .. } = &mut test.kind
        {
            subject.kind = ExprKind::Field {
                name: name.to_string(),
            };
        }
        test
    };
    let node = |kind: ExprKind| Expr {
        kind,
        value_type: expr.value_type,
        origin: expr.origin,
    };
    let present = node(ExprKind::Exists {
        field: companion.clone(),
    });
    let absent = node(ExprKind::Not {
        operand: Box::new(present.clone()),
    });
    Some(node(ExprKind::Or {
        operands: vec![
            with_subject(companion),
            node(ExprKind::And {
                operands: vec![absent, with_subject(field)],
            }),
        ],
    }))
}
