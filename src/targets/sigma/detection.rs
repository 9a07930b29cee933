//! The `detection` section of a Sigma rule, from a match rule's source.
//!
//! Input: an IR [`Source`] (event types and filter), the pack and the field
//! mapping. Output: named selections (each one atomic test, a YAML map or a
//! list of maps) and a `condition` combining them with `and`, `or`, `not`,
//! or the E0402 problems of the uses that have no exact Sigma form.
//!
//! Every selection is false on an event missing its field, as in the
//! evaluator. A negated operator must also be false there, so it becomes
//! `(present and not test)` with `present` a `field|exists: true` selection;
//! `not (...)` stays a plain `not`, true over a missing field.

use std::collections::BTreeMap;

use serde_yaml::{Mapping as YamlMap, Value as Yaml};

use super::quote::{needles_regex, plain_case_insensitive, plain_value, search_regex};
use crate::ir::{
    self, CompareOp, Expr, ExprKind, Origin, Pack, RegexSet, Source, StringSet, TextOp, Value,
    ValueType,
};
use crate::targets::lower::{self, Lowerer, mirror, scalar_text};
use crate::targets::{Mapping, Problem};

/// The most lookup rows or list values inlined into one rule.
pub const MAX_INLINED_ROWS: usize = 500;

/// Selections and the condition over them.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// Selections in the order they were made.
    pub selections: Vec<(String, Yaml)>,
    /// The condition.
    pub condition: String,
}

impl Detection {
    /// The `detection` map: the selections, then `condition`.
    pub fn to_yaml(&self) -> Yaml {
        let mut map = YamlMap::new();
        for (name, selection) in &self.selections {
            map.insert(Yaml::String(name.clone()), selection.clone());
        }
        map.insert(
            Yaml::String("condition".to_string()),
            Yaml::String(self.condition.clone()),
        );
        Yaml::Mapping(map)
    }
}

/// The detection of a match rule's source.
pub fn source_detection(
    source: &Source,
    pack: &Pack,
    mapping: &Mapping,
) -> Result<Detection, Vec<Problem>> {
    let mut builder = Builder {
        pack,
        mapping,
        detection: Detection::default(),
        problems: Vec::new(),
        names: BTreeMap::new(),
    };
    let types: Vec<Yaml> = source
        .event_types
        .iter()
        .map(|name| Yaml::String(plain_value(name)))
        .collect();
    let field = builder.field_name("event_type");
    let event_type = builder.selection("event_type", single(&field, list_or_one(types)));
    let condition = match &source.filter {
        Some(filter) => {
            let filter = builder.expression(filter);
            format!("{event_type} and {}", group(&filter))
        }
        None => event_type,
    };
    if !builder.problems.is_empty() {
        return Err(builder.problems);
    }
    builder.detection.condition = condition;
    Ok(builder.detection)
}

struct Builder<'a> {
    pack: &'a Pack,
    mapping: &'a Mapping,
    detection: Detection,
    problems: Vec<Problem>,
    names: BTreeMap<String, usize>,
}

/// A condition in parentheses unless it is one name or already grouped.
fn group(condition: &str) -> String {
    let simple = condition
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '_');
    if simple {
        condition.to_string()
    } else {
        format!("({condition})")
    }
}

fn single(key: &str, value: Yaml) -> Yaml {
    let mut map = YamlMap::new();
    map.insert(Yaml::String(key.to_string()), value);
    Yaml::Mapping(map)
}

fn list_or_one(mut values: Vec<Yaml>) -> Yaml {
    if values.len() == 1 {
        values.remove(0)
    } else {
        Yaml::Sequence(values)
    }
}

fn number(value: &Value) -> Option<Yaml> {
    match value {
        Value::Int(value) => Some(Yaml::Number((*value).into())),
        Value::Float(value) if value.is_finite() => Some(Yaml::Number((*value).into())),
        _ => None,
    }
}

lower::lowerer!(
    Builder,
    "false_",
    "the lookup `{lookup}` has {rows} rows; at most {max} are inlined into a Sigma rule"
);

impl<'a> Builder<'a> {
    /// The target name of a canonical field.
    fn field_name(&self, canonical: &str) -> String {
        self.mapping
            .field(canonical)
            .map_or_else(|| canonical.to_string(), |field| field.name.clone())
    }

    /// Adds a selection named after `stem` and returns its name.
    fn selection(&mut self, stem: &str, value: Yaml) -> String {
        let stem: String = stem
            .chars()
            .map(|character| {
                if character.is_ascii_alphanumeric() {
                    character.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let count = self.names.entry(stem.clone()).or_insert(0);
        *count += 1;
        let name = if *count == 1 {
            stem
        } else {
            format!("{stem}_{count}")
        };
        self.detection.selections.push((name.clone(), value));
        name
    }

    fn present(&mut self, canonical: &str) -> String {
        let field = self.field_name(canonical);
        self.selection(
            &format!("{canonical}_present"),
            single(&format!("{field}|exists"), Yaml::Bool(true)),
        )
    }

    /// `test`, or `(present and not test)` for a negated operator.
    fn guarded(&mut self, canonicals: &[&str], test: String, negated: bool) -> String {
        if !negated {
            return test;
        }
        let mut parts: Vec<String> = canonicals.iter().map(|field| self.present(field)).collect();
        parts.push(format!("not {}", group(&test)));
        parts.join(" and ")
    }

    fn subject_field(&mut self, subject: &Expr) -> Option<String> {
        match &subject.kind {
            ExprKind::Field { name } => Some(name.clone()),
            other => {
                let what = other.node_name();
                self.fail(
                    subject.origin,
                    format!("a {what} as the subject of a test has no Sigma form (a selection tests a field)"),
                );
                None
            }
        }
    }

    fn expression(&mut self, expr: &Expr) -> String {
        match &expr.kind {
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " and "
                } else {
                    " or "
                };
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| group(&self.expression(operand)))
                    .collect();
                parts.join(joiner)
            }
            ExprKind::Not { operand } => {
                let inner = self.expression(operand);
                format!("not {}", group(&inner))
            }
            ExprKind::Exists { field } => {
                let name = self.field_name(field);
                self.selection(
                    &format!("{field}_exists"),
                    single(&format!("{name}|exists"), Yaml::Bool(true)),
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
                let Some(field) = self.subject_field(subject) else {
                    return "false_".to_string();
                };
                let test = self.needles_test(
                    expr.origin,
                    &field,
                    *op,
                    *case_sensitive,
                    *fold_whitespace,
                    needles,
                );
                self.guarded(&[&field], test, *negated)
            }
            ExprKind::Matches {
                negated,
                subject,
                patterns,
            } => {
                let Some(field) = self.subject_field(subject) else {
                    return "false_".to_string();
                };
                let regexes: Vec<ir::Regex> = match patterns {
                    RegexSet::Literal(regex) => vec![regex.clone()],
                    RegexSet::List(name) => match self.pack.lists.get(name) {
                        Some(list) => list
                            .values
                            .iter()
                            .filter_map(|value| match value {
                                Value::Regex(regex) => Some(regex.clone()),
                                _ => None,
                            })
                            .collect(),
                        None => {
                            return self.fail(
                                expr.origin,
                                format!("the list `{name}` is not in the pack"),
                            );
                        }
                    },
                };
                let mut translated = Vec::new();
                for regex in &regexes {
                    match search_regex(&regex.pattern, regex.case_insensitive) {
                        Ok(text) => translated.push(Yaml::String(text)),
                        Err(reason) => {
                            return self.fail(
                                expr.origin,
                                format!("the regex `{}` {reason}", regex.pattern),
                            );
                        }
                    }
                }
                if translated.is_empty() {
                    return self.fail(expr.origin, "the regex list is empty");
                }
                let name = self.field_name(&field);
                let test = self.selection(
                    &format!("{field}_re"),
                    single(&format!("{name}|re"), list_or_one(translated)),
                );
                self.guarded(&[&field], test, *negated)
            }
            ExprKind::InValues {
                negated,
                subject,
                values,
            } => {
                let Some(field) = self.subject_field(subject) else {
                    return "false_".to_string();
                };
                let name = self.field_name(&field);
                let mut alternatives = Vec::new();
                for value in values {
                    match self.equal_value(&name, value) {
                        Some(selection) => alternatives.push(selection),
                        None => {
                            return self.fail(
                                expr.origin,
                                "only numbers and booleans are compared as values in Sigma",
                            );
                        }
                    }
                }
                let test = self.selection(&format!("{field}_in"), Yaml::Sequence(alternatives));
                self.guarded(&[&field], test, *negated)
            }
            ExprKind::Compare { op, left, right } => self.compare(expr, *op, left, right),
            ExprKind::InCidr {
                negated,
                subject,
                networks,
            } => {
                let Some(field) = self.subject_field(subject) else {
                    return "false_".to_string();
                };
                if let Some(network) = networks.iter().find(|network| network.contains(':')) {
                    return self.fail(
                        expr.origin,
                        format!(
                            "the IPv6 network `{network}`: Sigma backends match IPv6 networks inconsistently (Splunk's CIDR search is IPv4-only)"
                        ),
                    );
                }
                let name = self.field_name(&field);
                let values: Vec<Yaml> = networks
                    .iter()
                    .map(|network| Yaml::String(network.clone()))
                    .collect();
                let test = self.selection(
                    &format!("{field}_cidr"),
                    single(&format!("{name}|cidr"), list_or_one(values)),
                );
                self.guarded(&[&field], test, *negated)
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
                    match self.subject_field(subject) {
                        Some(field) => fields.push(field),
                        None => return "false_".to_string(),
                    }
                }
                let test = self.lookup_rows(expr.origin, &fields, *case_sensitive, lookup, columns);
                let canonicals: Vec<&str> = fields.iter().map(String::as_str).collect();
                self.guarded(&canonicals, test, *negated)
            }
            ExprKind::Literal {
                value: Value::Bool(value),
            } => {
                // A constant: a selection that is always true or always false.
                let name = self.field_name("event_type");
                let always = self.selection(
                    "always",
                    single(&format!("{name}|exists"), Yaml::Bool(true)),
                );
                if *value {
                    always
                } else {
                    format!("not {always}")
                }
            }
            other => {
                let what = other.node_name();
                self.fail(expr.origin, format!("a {what} has no Sigma form"))
            }
        }
    }

    /// `{field|gte: v, field|lte: v}` for a number, `{field: v}` for a boolean.
    fn equal_value(&self, name: &str, value: &Value) -> Option<Yaml> {
        let mut map = YamlMap::new();
        match value {
            Value::Bool(value) => {
                map.insert(Yaml::String(name.to_string()), Yaml::Bool(*value));
            }
            other => {
                let number = number(other)?;
                map.insert(Yaml::String(format!("{name}|gte")), number.clone());
                map.insert(Yaml::String(format!("{name}|lte")), number);
            }
        }
        Some(Yaml::Mapping(map))
    }

    fn compare(&mut self, expr: &Expr, op: CompareOp, left: &Expr, right: &Expr) -> String {
        let constant = |side: &Expr| match &side.kind {
            ExprKind::Literal { value } | ExprKind::Param { value, .. } => Some(value.clone()),
            _ => None,
        };
        let (field_side, value, op) = match (constant(left), constant(right)) {
            (None, Some(value)) => (left, value, op),
            (Some(value), None) => (right, value, mirror(op)),
            _ => {
                return self.fail(
                    expr.origin,
                    "a comparison between two fields (or two constants) has no Sigma form",
                );
            }
        };
        let Some(field) = self.subject_field(field_side) else {
            return "false_".to_string();
        };
        if !(field_side.value_type.is_numeric() || field_side.value_type == ValueType::Bool) {
            return self.fail(
                expr.origin,
                format!(
                    "a comparison on a {} field has no exact Sigma form (Sigma compares numbers)",
                    field_side.value_type.name()
                ),
            );
        }
        let name = self.field_name(&field);
        let modifier = match op {
            CompareOp::Less => "lt",
            CompareOp::LessEqual => "lte",
            CompareOp::Greater => "gt",
            CompareOp::GreaterEqual => "gte",
            CompareOp::Equal | CompareOp::NotEqual => {
                let Some(selection) = self.equal_value(&name, &value) else {
                    return self.fail(expr.origin, "the compared value is not a number or boolean");
                };
                let test = self.selection(&format!("{field}_eq"), selection);
                return self.guarded(&[&field], test, op == CompareOp::NotEqual);
            }
        };
        let Some(number) = number(&value) else {
            return self.fail(expr.origin, "the compared value is not a number");
        };
        self.selection(
            &format!("{field}_{modifier}"),
            single(&format!("{name}|{modifier}"), number),
        )
    }

    /// The needles of a string set; `None` after a failure. A narrowed lookup
    /// is handled by the caller.
    fn needles(&mut self, origin: Origin, needles: &StringSet) -> Option<Vec<String>> {
        if let StringSet::NarrowedLookup { .. } = needles {
            return None;
        }
        match lower::needles(self.pack, needles, MAX_INLINED_ROWS, scalar_text) {
            Ok(needles) => Some(needles),
            Err(refusal) => {
                self.fail(origin, refusal.message(Self::too_many_rows));
                None
            }
        }
    }

    fn needles_test(
        &mut self,
        origin: Origin,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &StringSet,
    ) -> String {
        if let StringSet::NarrowedLookup {
            lookup,
            keys,
            column,
        } = needles
        {
            return self.narrowed(
                origin,
                field,
                op,
                case_sensitive,
                fold_whitespace,
                lookup,
                keys,
                column,
            );
        }
        let Some(values) = self.needles(origin, needles) else {
            return "false_".to_string();
        };
        match self.text_value(origin, field, op, case_sensitive, fold_whitespace, &values) {
            Some(selection) => self.selection(&format!("{field}_{}", op_name(op)), selection),
            None => "false_".to_string(),
        }
    }

    /// One selection value (a map, or a list of maps for plain values and a
    /// regex together) testing `field OP any needle`; `None` after a failure.
    fn text_value(
        &mut self,
        origin: Origin,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> Option<Yaml> {
        let name = self.field_name(field);
        let mut plain = Vec::new();
        let mut regex_needles = Vec::new();
        for needle in needles {
            if !case_sensitive && plain_case_insensitive(needle, op, fold_whitespace) {
                plain.push(Yaml::String(plain_value(needle)));
            } else {
                regex_needles.push(needle.clone());
            }
        }
        let mut alternatives = Vec::new();
        if !plain.is_empty() {
            let key = match op {
                TextOp::Equals => name.clone(),
                other => format!("{name}|{}", op_name(other)),
            };
            alternatives.push(single(&key, list_or_one(plain)));
        }
        if !regex_needles.is_empty() {
            match needles_regex(&regex_needles, op, case_sensitive, fold_whitespace) {
                Ok(regex) => alternatives.push(single(&format!("{name}|re"), Yaml::String(regex))),
                Err(reason) => {
                    self.fail(origin, reason);
                    return None;
                }
            }
        }
        match alternatives.len() {
            // No needles: the test is false, as `any` of nothing.
            0 => {
                self.fail(origin, "the test has no needles");
                None
            }
            1 => Some(alternatives.remove(0)),
            _ => Some(Yaml::Sequence(alternatives)),
        }
    }

    /// `s OP L[key].column`: a list of maps, one per group of rows with the
    /// same key cells, each the key equalities and the needle test.
    #[allow(clippy::too_many_arguments)]
    fn narrowed(
        &mut self,
        origin: Origin,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        lookup: &str,
        keys: &[(String, String)],
        column: &str,
    ) -> String {
        let Some((table, needle_index)) = self.lookup_column(lookup, column, origin) else {
            return "false_".to_string();
        };
        let mut key_columns = Vec::new();
        for (key_column, key_field) in keys {
            let Some((_, index)) = self.lookup_column(lookup, key_column, origin) else {
                return "false_".to_string();
            };
            key_columns.push((index, key_field.clone()));
        }
        let key_indexes: Vec<usize> = key_columns.iter().map(|(index, _)| *index).collect();
        let groups = lower::needles_by_key(
            table,
            needle_index,
            &key_indexes,
            case_sensitive,
            scalar_text,
        );
        if groups.is_empty() {
            return self.fail(origin, format!("the lookup `{lookup}` gives no needles"));
        }
        // Each group: (key1 and key2 and (needle test)); the needle test may
        // be plain values or a regex, so each group is one selection.
        let mut alternatives = Vec::new();
        for (cells, needles) in groups {
            let mut parts = Vec::new();
            for ((_, key_field), cell) in key_columns.iter().zip(&cells) {
                let Some(value) = self.text_value(
                    origin,
                    key_field,
                    TextOp::Equals,
                    case_sensitive,
                    false,
                    std::slice::from_ref(cell),
                ) else {
                    return "false_".to_string();
                };
                let name = self.selection(&format!("{key_field}_key"), value);
                parts.push(name);
            }
            let Some(value) =
                self.text_value(origin, field, op, case_sensitive, fold_whitespace, &needles)
            else {
                return "false_".to_string();
            };
            parts.push(self.selection(&format!("{field}_{}", op_name(op)), value));
            alternatives.push(parts.join(" and "));
        }
        if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            let grouped: Vec<String> = alternatives.iter().map(|text| group(text)).collect();
            grouped.join(" or ")
        }
    }

    /// `(f1, f2) in L.(c1, c2)`: one selection, a list of maps (one per
    /// row), each map the AND of the cell equalities.
    fn lookup_rows(
        &mut self,
        origin: Origin,
        fields: &[String],
        case_sensitive: bool,
        lookup: &str,
        columns: &[String],
    ) -> String {
        let Some((table, indexes)) = self.tuple_lookup(origin, fields, lookup, columns) else {
            return Self::FALSE.to_string();
        };
        let mut rows = Vec::new();
        for row in &table.rows {
            let mut map = YamlMap::new();
            for (field, index) in fields.iter().zip(&indexes) {
                let cell = row.get(*index).and_then(scalar_text).unwrap_or_default();
                let name = self.field_name(field);
                if !case_sensitive && plain_case_insensitive(&cell, TextOp::Equals, false) {
                    map.insert(Yaml::String(name), Yaml::String(plain_value(&cell)));
                } else {
                    match needles_regex(&[cell], TextOp::Equals, case_sensitive, false) {
                        Ok(regex) => {
                            map.insert(Yaml::String(format!("{name}|re")), Yaml::String(regex));
                        }
                        Err(reason) => return self.fail(origin, reason),
                    }
                }
            }
            rows.push(Yaml::Mapping(map));
        }
        if rows.is_empty() {
            return self.fail(origin, format!("the lookup `{lookup}` has no rows"));
        }
        self.selection(&format!("{lookup}_row"), Yaml::Sequence(rows))
    }
}

fn op_name(op: TextOp) -> &'static str {
    match op {
        TextOp::Equals => "equals",
        TextOp::Contains => "contains",
        TextOp::StartsWith => "startswith",
        TextOp::EndsWith => "endswith",
    }
}
