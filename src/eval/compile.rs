//! IR expressions to evaluator plans.
//!
//! Input: IR expressions of the loaded rules, the [`ir::Pack`]'s lists and
//! lookups, and the [`Projection`] being planned. Output: [`Pred`]s for
//! filters, [`Condition`]s for `alert when`, and the projection extended with
//! every field read and every case-folded variant needed. Shared needle sets
//! are built once per (list, operator, form): one Aho-Corasick automaton per
//! list and case/fold form, one `RegexSet` per regex list, one hash set per
//! lookup tuple (lowercased when case-insensitive).

use std::sync::Arc;

use super::condition::{
    AggregateSpec, BaselineSpec, Cond, Condition, Leaf, Number, PercentileSpec, Value,
};
use super::event::FilterId;
use super::expr::{
    Constant, Form, KEY_SEPARATOR, Matcher, NarrowedNeedles, Needles, Network, Pred, Subject,
    ValueExpr,
};
use super::fold::Variant;
use super::group::{FastMap, FastSet};
use super::literals::PatternSet;
use super::projection::Projection;
use crate::ir::{self, Expr, ExprKind, StringSet, TextOp};

/// Builds compiled expressions for one pack, sharing automata between rules.
pub(crate) struct Compiler<'p> {
    pack: &'p ir::Pack,
    pub(crate) projection: Projection,
    matchers: FastMap<String, Arc<Matcher>>,
    narrowed: FastMap<String, Arc<NarrowedNeedles>>,
    regexes: FastMap<String, Arc<PatternSet>>,
    lookups: FastMap<String, Arc<FastSet<Box<str>>>>,
    /// The event types of the rule being compiled (aggregate filters apply to them).
    rule_types: Vec<u32>,
}

type Compiled<T> = Result<T, String>;

/// The text of a list or lookup cell.
fn cell_text(value: &ir::Value) -> Option<String> {
    match value {
        ir::Value::String(text) => Some(text.clone()),
        ir::Value::Int(value) => Some(value.to_string()),
        ir::Value::Float(value) => Some(value.to_string()),
        ir::Value::Bool(value) => Some(value.to_string()),
        ir::Value::DurationMs(value) => Some(value.to_string()),
        ir::Value::Regex(regex) => Some(regex.pattern.clone()),
    }
}

fn constant(value: &ir::Value) -> Compiled<Constant> {
    Ok(match value {
        ir::Value::String(text) => Constant::Str(text.clone()),
        ir::Value::Int(value) | ir::Value::DurationMs(value) => Constant::Int(*value),
        ir::Value::Float(value) => Constant::Float(*value),
        ir::Value::Bool(value) => Constant::Bool(*value),
        ir::Value::Regex(_) => return Err("a regex is not a value".to_string()),
    })
}

impl<'p> Compiler<'p> {
    /// A compiler for `pack`, starting from a projection of its schema that
    /// keeps the `kept` fields first (see [`Projection::new`]).
    pub(crate) fn new(pack: &'p ir::Pack, kept: &[String]) -> Self {
        Compiler {
            pack,
            projection: Projection::new(&pack.schema, kept),
            matchers: FastMap::default(),
            narrowed: FastMap::default(),
            regexes: FastMap::default(),
            lookups: FastMap::default(),
            rule_types: Vec::new(),
        }
    }

    /// A compiler like [`Compiler::new`] that takes over the automata, regex
    /// sets and lookup sets `previous` built for the same pack: they are
    /// keyed by content and hold no slots. (Narrowed lookups hold the slots of
    /// their key fields, so they are built again.)
    pub(crate) fn reusing(pack: &'p ir::Pack, kept: &[String], previous: Compiler<'p>) -> Self {
        Compiler {
            matchers: previous.matchers,
            regexes: previous.regexes,
            lookups: previous.lookups,
            ..Compiler::new(pack, kept)
        }
    }

    /// Sets the event types of the rule being compiled, for its aggregate filters.
    pub(crate) fn set_rule_types(&mut self, event_types: &[u32]) {
        self.rule_types = event_types.to_vec();
    }

    /// A filter over events of the given types, evaluated when a line is parsed.
    pub(crate) fn filter(&mut self, expr: &Expr, event_types: &[u32]) -> Compiled<FilterId> {
        let pred = self.pred(expr)?;
        Ok(self.projection.add_filter(pred, event_types))
    }

    /// The slot of a field, marking it read.
    pub(crate) fn field(&mut self, name: &str) -> u16 {
        self.projection.read(name)
    }

    /// The slot of a field a detection shape reads (after the filters).
    /// The pack being compiled.
    pub(crate) fn pack(&self) -> &'p ir::Pack {
        self.pack
    }

    pub(crate) fn shape_field(&mut self, name: &str) -> u16 {
        self.projection.keep(name)
    }

    fn variant(&mut self, slot: u16, form: Form) -> Option<u16> {
        let variant = match form {
            Form::Exact => return None,
            Form::Lower => Variant::Lower,
            Form::LowerFolded => Variant::LowerFolded,
            Form::Folded => Variant::Folded,
        };
        Some(self.projection.variant(slot, variant))
    }

    fn subject(&mut self, expr: &Expr, form: Form) -> Compiled<Subject> {
        if let ExprKind::Field { name } = &expr.kind {
            let slot = self.field(name);
            let variant = self.variant(slot, form);
            return Ok(Subject::Field { slot, variant });
        }
        if let ExprKind::Norm { field, companion } = &expr.kind {
            let (companion, raw) = (self.field(companion), self.field(field));
            return Ok(Subject::Norm {
                companion,
                raw,
                form,
                cache: self.projection.norm(companion, raw),
            });
        }
        Ok(Subject::Computed(self.value(expr)?, form))
    }

    /// A value expression.
    pub(crate) fn value(&mut self, expr: &Expr) -> Compiled<ValueExpr> {
        Ok(match &expr.kind {
            ExprKind::Literal { value } | ExprKind::Param { value, .. } => {
                ValueExpr::Constant(constant(value)?)
            }
            ExprKind::Field { name } => ValueExpr::Field(self.field(name)),
            ExprKind::Arithmetic { op, left, right } => ValueExpr::Arithmetic(
                *op,
                Box::new(self.value(left)?),
                Box::new(self.value(right)?),
            ),
            other => return Err(format!("a {} expression is not a value", other.node_name())),
        })
    }

    /// An event predicate.
    pub(crate) fn pred(&mut self, expr: &Expr) -> Compiled<Pred> {
        Ok(match &expr.kind {
            ExprKind::Literal { value } | ExprKind::Param { value, .. } => match value {
                ir::Value::Bool(value) => Pred::Constant(*value),
                _ => Pred::Constant(false),
            },
            ExprKind::Field { .. } | ExprKind::Arithmetic { .. } => Pred::Value(self.value(expr)?),
            ExprKind::Not { operand } => Pred::Not(Box::new(self.pred(operand)?)),
            ExprKind::And { operands } => Pred::And(
                operands
                    .iter()
                    .map(|operand| self.pred(operand))
                    .collect::<Compiled<_>>()?,
            ),
            ExprKind::Or { operands } => Pred::Or(
                operands
                    .iter()
                    .map(|operand| self.pred(operand))
                    .collect::<Compiled<_>>()?,
            ),
            ExprKind::Exists { field } => Pred::Exists(self.field(field)),
            ExprKind::Compare { op, left, right } => {
                Pred::Compare(*op, self.value(left)?, self.value(right)?)
            }
            ExprKind::Text {
                op,
                case_sensitive,
                fold_whitespace,
                negated,
                subject,
                needles,
            } => {
                let form = Form::of(*case_sensitive, *fold_whitespace);
                Pred::Text {
                    negated: *negated,
                    subject: self.subject(subject, form)?,
                    needles: self.needles(needles, *op, form)?,
                }
            }
            ExprKind::Matches {
                negated,
                subject,
                patterns,
            } => Pred::Matches {
                negated: *negated,
                subject: self.subject(subject, Form::Exact)?,
                patterns: self.regex_set(patterns)?,
                eager: None,
            },
            ExprKind::InValues {
                negated,
                subject,
                values,
            } => Pred::InValues {
                negated: *negated,
                subject: self.value(subject)?,
                values: values.iter().map(constant).collect::<Compiled<_>>()?,
            },
            ExprKind::InCidr {
                negated,
                subject,
                networks,
            } => Pred::InCidr {
                negated: *negated,
                subject: self.subject(subject, Form::Exact)?,
                networks: networks
                    .iter()
                    .map(|text| {
                        Network::parse(text).ok_or_else(|| format!("`{text}` is not a network"))
                    })
                    .collect::<Compiled<_>>()?,
            },
            ExprKind::InLookup {
                negated,
                case_sensitive,
                subjects,
                lookup,
                columns,
            } => {
                let form = if *case_sensitive {
                    Form::Exact
                } else {
                    Form::Lower
                };
                Pred::InLookup {
                    negated: *negated,
                    subjects: subjects
                        .iter()
                        .map(|subject| self.subject(subject, form))
                        .collect::<Compiled<_>>()?,
                    rows: self.lookup_rows(lookup, columns, form)?,
                }
            }
            other => {
                return Err(format!(
                    "a {} expression cannot filter events",
                    other.node_name()
                ));
            }
        })
    }

    fn lookup(&self, name: &str) -> Compiled<&'p ir::Lookup> {
        self.pack
            .lookups
            .get(name)
            .ok_or_else(|| format!("unknown lookup `{name}`"))
    }

    fn column(lookup: &ir::Lookup, column: &str) -> Compiled<usize> {
        lookup
            .column_index(column)
            .ok_or_else(|| format!("lookup `{}` has no column `{column}`", lookup.name))
    }

    fn needles(&mut self, set: &StringSet, op: TextOp, form: Form) -> Compiled<Needles> {
        let cache_key = match set {
            StringSet::Literals(_) => None,
            StringSet::List(name) => Some(format!("list {name} {op:?} {form:?}")),
            StringSet::LookupColumn { lookup, column } => {
                Some(format!("column {lookup}.{column} {op:?} {form:?}"))
            }
            StringSet::NarrowedLookup {
                lookup,
                keys,
                column,
            } => {
                let key = format!("narrowed {lookup} {keys:?} {column} {op:?} {form:?}");
                if let Some(found) = self.narrowed.get(&key) {
                    return Ok(Needles::Narrowed(found.clone()));
                }
                let narrowed = Arc::new(self.narrowed_needles(lookup, keys, column, op, form)?);
                self.narrowed.insert(key, narrowed.clone());
                return Ok(Needles::Narrowed(narrowed));
            }
        };
        if let Some(found) = cache_key.as_ref().and_then(|key| self.matchers.get(key)) {
            return Ok(Needles::Fixed(found.clone()));
        }
        let raw: Vec<String> = match set {
            StringSet::Literals(values) => values.clone(),
            StringSet::List(name) => {
                let list = self
                    .pack
                    .lists
                    .get(name)
                    .ok_or_else(|| format!("unknown list `{name}`"))?;
                list.values.iter().filter_map(cell_text).collect()
            }
            StringSet::LookupColumn { lookup, column } => {
                let lookup = self.lookup(lookup)?;
                let index = Self::column(lookup, column)?;
                // An empty cell is no value: it must not become a needle that every text contains.
                lookup
                    .rows
                    .iter()
                    .filter_map(|row| row.get(index).and_then(cell_text))
                    .filter(|text| !text.is_empty())
                    .collect()
            }
            StringSet::NarrowedLookup { .. } => Vec::new(),
        };
        let mut needles: Vec<String> = raw.iter().map(|needle| form.apply(needle)).collect();
        needles.sort();
        needles.dedup();
        let matcher = Arc::new(Matcher::build(op, needles)?);
        if let Some(key) = cache_key {
            self.matchers.insert(key, matcher.clone());
        }
        Ok(Needles::Fixed(matcher))
    }

    fn narrowed_needles(
        &mut self,
        lookup_name: &str,
        keys: &[(String, String)],
        column: &str,
        op: TextOp,
        form: Form,
    ) -> Compiled<NarrowedNeedles> {
        let lookup = self.lookup(lookup_name)?;
        let key_form = match form {
            Form::Exact | Form::Folded => Form::Exact,
            Form::Lower | Form::LowerFolded => Form::Lower,
        };
        let key_columns = keys
            .iter()
            .map(|(key_column, _)| Self::column(lookup, key_column))
            .collect::<Compiled<Vec<_>>>()?;
        let needle_column = Self::column(lookup, column)?;
        let mut grouped: std::collections::BTreeMap<String, Vec<String>> =
            std::collections::BTreeMap::new();
        for row in &lookup.rows {
            let mut key = String::new();
            for (position, index) in key_columns.iter().enumerate() {
                if position > 0 {
                    key.push(KEY_SEPARATOR);
                }
                key.push_str(
                    &key_form.apply(&row.get(*index).and_then(cell_text).unwrap_or_default()),
                );
            }
            let Some(needle) = row
                .get(needle_column)
                .and_then(cell_text)
                .filter(|text| !text.is_empty())
            else {
                continue;
            };
            grouped.entry(key).or_default().push(form.apply(&needle));
        }
        let mut table = FastMap::default();
        for (key, mut needles) in grouped {
            needles.sort();
            needles.dedup();
            table.insert(key.into_boxed_str(), Matcher::build(op, needles)?);
        }
        let mut subjects = Vec::new();
        for (_, field) in keys {
            let slot = self.field(field);
            let variant = self.variant(slot, key_form);
            subjects.push(Subject::Field { slot, variant });
        }
        Ok(NarrowedNeedles {
            keys: subjects,
            table,
        })
    }

    fn regex_set(&mut self, set: &ir::RegexSet) -> Compiled<Arc<PatternSet>> {
        let (key, regexes): (String, Vec<ir::Regex>) = match set {
            ir::RegexSet::Literal(regex) => (format!("literal {regex:?}"), vec![regex.clone()]),
            ir::RegexSet::List(name) => {
                let list = self
                    .pack
                    .lists
                    .get(name)
                    .ok_or_else(|| format!("unknown list `{name}`"))?;
                let regexes = list
                    .values
                    .iter()
                    .filter_map(|value| match value {
                        ir::Value::Regex(regex) => Some(regex.clone()),
                        ir::Value::String(text) => Some(ir::Regex {
                            pattern: text.clone(),
                            case_insensitive: false,
                        }),
                        _ => None,
                    })
                    .collect();
                (format!("list {name}"), regexes)
            }
        };
        if let Some(found) = self.regexes.get(&key) {
            return Ok(found.clone());
        }
        let patterns: Vec<String> = regexes
            .iter()
            .map(|regex| {
                // The language's `\b`, `\d`, `\w` and `\s` are ASCII.
                let pattern = ir::regex::ascii_classes(&regex.pattern);
                if regex.case_insensitive {
                    format!("(?i:{pattern})")
                } else {
                    pattern
                }
            })
            .collect();
        let compiled = Arc::new(PatternSet::new(&patterns)?);
        self.regexes.insert(key, compiled.clone());
        Ok(compiled)
    }

    fn lookup_rows(
        &mut self,
        name: &str,
        columns: &[String],
        form: Form,
    ) -> Compiled<Arc<FastSet<Box<str>>>> {
        let key = format!("{name} {columns:?} {form:?}");
        if let Some(found) = self.lookups.get(&key) {
            return Ok(found.clone());
        }
        let lookup = self.lookup(name)?;
        let indexes = columns
            .iter()
            .map(|column| Self::column(lookup, column))
            .collect::<Compiled<Vec<_>>>()?;
        let mut rows = FastSet::default();
        for row in &lookup.rows {
            let mut joined = String::new();
            for (position, index) in indexes.iter().enumerate() {
                if position > 0 {
                    joined.push(KEY_SEPARATOR);
                }
                joined.push_str(
                    &form.apply(&row.get(*index).and_then(cell_text).unwrap_or_default()),
                );
            }
            rows.insert(joined.into_boxed_str());
        }
        let rows = Arc::new(rows);
        self.lookups.insert(key, rows.clone());
        Ok(rows)
    }

    /// An `alert when` condition.
    pub(crate) fn condition(&mut self, expr: &Expr) -> Compiled<Condition> {
        let mut condition = Condition {
            root: Cond::Constant(Value::None),
            aggregates: Vec::new(),
            baselines: Vec::new(),
            percentiles: Vec::new(),
            reported: Vec::new(),
        };
        condition.root = self.cond(expr, &mut condition, false)?;
        Ok(condition)
    }

    /// A dashboard panel's measure: a number over aggregates and baselines,
    /// whose leaves are added to `out` (nothing is reported: a measure is
    /// shown, not alerted on).
    pub(crate) fn measure(&mut self, expr: &Expr, out: &mut Condition) -> Compiled<Cond> {
        self.cond(expr, out, true)
    }

    fn cond(&mut self, expr: &Expr, out: &mut Condition, inner: bool) -> Compiled<Cond> {
        let report = |out: &mut Condition, label: &str, leaf: Leaf| {
            if !inner && !out.reported.iter().any(|(existing, _)| existing == label) {
                out.reported.push((label.to_string(), leaf));
            }
        };
        Ok(match &expr.kind {
            ExprKind::Literal { value } | ExprKind::Param { value, .. } => {
                Cond::Constant(match constant(value)? {
                    Constant::Int(value) => Value::Number(Number::Int(value)),
                    Constant::Float(value) => Value::Number(Number::Float(value)),
                    Constant::Bool(value) => Value::Bool(value),
                    Constant::Str(_) => Value::None,
                })
            }
            ExprKind::Aggregate {
                function,
                field,
                filter,
                label,
            } => {
                let types = self.rule_types.clone();
                let spec = AggregateSpec {
                    function: *function,
                    field: field.as_deref().map(|name| self.shape_field(name)),
                    filter: filter
                        .as_deref()
                        .map(|filter| self.filter(filter, &types))
                        .transpose()?,
                };
                out.aggregates.push(spec);
                let index = out.aggregates.len() - 1;
                report(out, label, Leaf::Aggregate(index));
                Cond::Aggregate(index)
            }
            ExprKind::Baseline {
                aggregate,
                lookback_ms,
                label,
            } => {
                let inner = self.cond(aggregate, out, true)?;
                out.baselines.push(BaselineSpec {
                    inner,
                    lookback: *lookback_ms,
                });
                let index = out.baselines.len() - 1;
                report(out, label, Leaf::Baseline(index));
                Cond::Baseline(index)
            }
            ExprKind::Percentile {
                aggregate,
                percentile,
                label,
            } => {
                let inner = self.cond(aggregate, out, true)?;
                out.percentiles.push(PercentileSpec {
                    inner,
                    percentile: *percentile,
                });
                let index = out.percentiles.len() - 1;
                report(out, label, Leaf::Percentile(index));
                Cond::Percentile(index)
            }
            ExprKind::Arithmetic { op, left, right } => Cond::Arithmetic(
                *op,
                Box::new(self.cond(left, out, inner)?),
                Box::new(self.cond(right, out, inner)?),
            ),
            ExprKind::Compare { op, left, right } => Cond::Compare(
                *op,
                Box::new(self.cond(left, out, inner)?),
                Box::new(self.cond(right, out, inner)?),
            ),
            ExprKind::And { operands } => Cond::And(
                operands
                    .iter()
                    .map(|operand| self.cond(operand, out, inner))
                    .collect::<Compiled<_>>()?,
            ),
            ExprKind::Or { operands } => Cond::Or(
                operands
                    .iter()
                    .map(|operand| self.cond(operand, out, inner))
                    .collect::<Compiled<_>>()?,
            ),
            ExprKind::Not { operand } => Cond::Not(Box::new(self.cond(operand, out, inner)?)),
            other => {
                return Err(format!(
                    "a {} expression cannot appear in an alert condition",
                    other.node_name()
                ));
            }
        })
    }

    /// The event type indexes of names (types the schema does not declare are dropped).
    pub(crate) fn event_types(&self, names: &[String]) -> Vec<u32> {
        let mut indexes: Vec<u32> = names
            .iter()
            .filter_map(|name| self.projection.event_type_index(name))
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes
    }
}
