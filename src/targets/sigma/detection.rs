//! The `detection` section of a Sigma rule, from a match rule's source.
//!
//! Input: a [`plan`](crate::targets::plan) [`Source`] (event types and
//! filter) and the field mapping. Output: named selections (each one atomic
//! test, a YAML map or a list of maps) and a `condition` combining them with
//! `and`, `or`, `not`, or the E0402 problems of the uses that have no exact
//! Sigma form.
//!
//! The filter is printed by [`syntax::predicate`] through [`Selections`]: a
//! construct's spelled text is the name of the selection it adds (kept, in
//! the order made, in a `RefCell`), and the connectives compose the
//! condition over those names.
//!
//! Every selection is false on an event missing its field, as in the
//! evaluator. A negated operator must also be false there, so it becomes
//! `(present and not test)` with `present` a `field|exists: true` selection;
//! `not (...)` stays a plain `not`, true over a missing field.
//!
//! A `|re` value that ends with `$` is paired with `not <field>_line_feed`
//! (see [`super::quote`]): Sigma's `$` is PCRE's, which also matches before
//! a final line feed, and the pair means "at the very end" in every engine.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_yaml::{Mapping as YamlMap, Value as Yaml};

use super::quote::{
    LINE_FEED_AT_END, may_end_in_line_feed, needles_regex, plain_case_insensitive, plain_value,
    search_regex,
};
use crate::ir::{self, CompareOp, TextOp, Value, ValueType};
use crate::targets::plan::{LookupRef, Source, Test, TestKind};
use crate::targets::syntax::{self, Spelled, Syntax, Unsupported};
use crate::targets::{Mapping, Problem};

/// The most lookup rows inlined into one rule.
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

/// The detection of a match rule's source; its refusals go to `problems`
/// (and the detection is then never emitted).
pub fn source_detection(
    source: &Source,
    mapping: &Mapping,
    problems: &mut Vec<Problem>,
) -> Detection {
    grouped_detection(source, &[], mapping, problems)
}

/// The detection of a source whose events must also have every field of
/// `group_by` (the events a threshold groups: an event missing a group field
/// is in no group, as a scheduled search's `by` clause drops it). The
/// fields are one `group_fields_present` selection of `field|exists: true`
/// tests, ANDed after the filter.
pub fn grouped_detection(
    source: &Source,
    group_by: &[String],
    mapping: &Mapping,
    problems: &mut Vec<Problem>,
) -> Detection {
    let selections = Selections {
        mapping,
        types: &source.event_types,
        made: RefCell::default(),
    };
    let types: Vec<Yaml> = source
        .event_types
        .iter()
        .map(|name| Yaml::String(plain_value(name)))
        .collect();
    let field = selections.field_name("event_type");
    let event_type = selections.selection("event_type", single(&field, list_or_one(types)));
    let condition = match &source.filter {
        Some(filter) => {
            let filter = syntax::predicate(&selections, filter, problems);
            format!("{event_type} and {}", group(&filter))
        }
        None => event_type,
    };
    let condition = if group_by.is_empty() {
        condition
    } else {
        let mut present = YamlMap::new();
        for field in group_by {
            present.insert(
                Yaml::String(format!("{}|exists", selections.field_name(field))),
                Yaml::Bool(true),
            );
        }
        let name = selections.selection("group_fields_present", Yaml::Mapping(present));
        format!("{condition} and {name}")
    };
    Detection {
        selections: selections.made.into_inner().selections,
        condition,
    }
}

/// Sigma's [`Syntax`]: each test adds a selection and is spelled as its name.
struct Selections<'a> {
    mapping: &'a Mapping,
    /// The source's event types: the only values its `event_type` has.
    types: &'a [String],
    made: RefCell<Made>,
}

/// The selections made so far, and how often each stem was used.
#[derive(Default)]
struct Made {
    selections: Vec<(String, Yaml)>,
    names: BTreeMap<String, usize>,
    /// The `<field>_line_feed` selection of each field that has one.
    line_feeds: BTreeMap<String, String>,
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

/// `{field|gte: v, field|lte: v}` for a number, `{field: v}` for a boolean.
fn equal_value(name: &str, value: &Value) -> Option<Yaml> {
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

fn joined(operands: Vec<String>, joiner: &str) -> String {
    let parts: Vec<String> = operands.iter().map(|operand| group(operand)).collect();
    parts.join(joiner)
}

impl Selections<'_> {
    /// The target name of a canonical field.
    fn field_name(&self, canonical: &str) -> String {
        self.mapping
            .field(canonical)
            .map_or_else(|| canonical.to_string(), |field| field.name.clone())
    }

    /// Adds a selection named after `stem` and returns its name.
    fn selection(&self, stem: &str, value: Yaml) -> String {
        let stem = crate::targets::lower::identifier_part(stem);
        let mut made = self.made.borrow_mut();
        let count = made.names.entry(stem.clone()).or_insert(0);
        *count += 1;
        let name = if *count == 1 {
            stem
        } else {
            format!("{stem}_{count}")
        };
        made.selections.push((name.clone(), value));
        name
    }

    /// A `field|exists: true` selection named `{field}_{suffix}`.
    fn exists_selection(&self, canonical: &str, suffix: &str) -> String {
        let field = self.field_name(canonical);
        self.selection(
            &format!("{canonical}_{suffix}"),
            single(&format!("{field}|exists"), Yaml::Bool(true)),
        )
    }

    /// `not <field>_line_feed`, the selection made once per field: true
    /// when the field's value does not end in a line feed.
    fn no_line_feed(&self, canonical: &str) -> String {
        let made = self.made.borrow().line_feeds.get(canonical).cloned();
        let name = match made {
            Some(name) => name,
            None => {
                let field = self.field_name(canonical);
                let name = self.selection(
                    &format!("{canonical}_line_feed"),
                    single(
                        &format!("{field}|re"),
                        Yaml::String(LINE_FEED_AT_END.to_string()),
                    ),
                );
                self.made
                    .borrow_mut()
                    .line_feeds
                    .insert(canonical.to_string(), name.clone());
                name
            }
        };
        format!("not {name}")
    }

    /// `selection`, and `not <field>_line_feed` for each field whose `|re`
    /// value ends with `$`.
    fn at_the_end(&self, selection: String, fields: &[String]) -> String {
        let mut parts = vec![selection];
        for field in fields {
            parts.push(self.no_line_feed(field));
        }
        parts.join(" and ")
    }

    /// One selection value (a map, or a list of maps for plain values and a
    /// regex together) testing `field OP any needle` (never empty), and
    /// whether it needs `not <field>_line_feed`.
    fn text_value(
        &self,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> Result<(Yaml, bool), Unsupported> {
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
        let mut end = false;
        if !plain.is_empty() {
            let key = match op {
                TextOp::Equals => name.clone(),
                other => format!("{name}|{}", op_name(other)),
            };
            alternatives.push(single(&key, list_or_one(plain)));
        }
        if !regex_needles.is_empty() {
            let regex = needles_regex(&regex_needles, op, case_sensitive, fold_whitespace)
                .map_err(Unsupported)?;
            // The pairing is exact only if no value the plain values
            // accept ends in a line feed either.
            if regex.end
                && let Some(needle) = needles
                    .iter()
                    .find(|needle| may_end_in_line_feed(needle, op, fold_whitespace))
            {
                return Err(Unsupported(format!(
                    "the needle {needle:?} lets the text end in a line feed, where Sigma's `$` (PCRE) and rsigma's (Rust) disagree"
                )));
            }
            end = regex.end;
            alternatives.push(single(&regex.key(&name), Yaml::String(regex.pattern)));
        }
        match alternatives.len() {
            0 => Err(Unsupported("the test has no needles".to_string())),
            1 => Ok((alternatives.remove(0), end)),
            _ => Ok((Yaml::Sequence(alternatives), end)),
        }
    }
}

impl Syntax for Selections<'_> {
    fn target(&self) -> &'static str {
        super::ID
    }

    /// A selection that is always true (every event has a type), or its negation.
    fn constant(&self, value: bool) -> String {
        let name = self.field_name("event_type");
        let always = self.selection(
            "always",
            single(&format!("{name}|exists"), Yaml::Bool(true)),
        );
        if value {
            always
        } else {
            format!("not {always}")
        }
    }

    fn and(&self, operands: Vec<String>) -> String {
        joined(operands, " and ")
    }

    fn or(&self, operands: Vec<String>) -> String {
        joined(operands, " or ")
    }

    fn not(&self, operand: String) -> String {
        format!("not {}", group(&operand))
    }

    fn exists(&self, field: &str) -> Spelled {
        Ok(self.exists_selection(field, "exists"))
    }

    /// The field itself: [`Syntax::guarded`] makes its selection when needed.
    fn presence(&self, field: &str) -> Spelled {
        Ok(field.to_string())
    }

    /// A selection is false on a missing field: only a negation (a negated
    /// test, or `!=`) is made false there with its fields' presence.
    fn guarded(
        &self,
        presence: Vec<String>,
        body: String,
        negated: bool,
        _under_not: bool,
    ) -> String {
        if !negated && !body.starts_with("not ") {
            return body;
        }
        let mut parts: Vec<String> = presence
            .iter()
            .map(|field| self.exists_selection(field, "present"))
            .collect();
        parts.push(if negated { self.not(body) } else { body });
        parts.join(" and ")
    }

    fn compare(&self, field: &str, field_type: ValueType, op: CompareOp, value: &Value) -> Spelled {
        let _ = field_type;
        let name = self.field_name(field);
        let modifier = match op {
            CompareOp::Less => "lt",
            CompareOp::LessEqual => "lte",
            CompareOp::Greater => "gt",
            CompareOp::GreaterEqual => "gte",
            CompareOp::Equal | CompareOp::NotEqual => {
                let selection = equal_value(&name, value).ok_or_else(|| {
                    Unsupported("the compared value is not a number or boolean".to_string())
                })?;
                let test = self.selection(&format!("{field}_eq"), selection);
                return Ok(if op == CompareOp::NotEqual {
                    self.not(test)
                } else {
                    test
                });
            }
        };
        let number = number(value)
            .ok_or_else(|| Unsupported("the compared value is not a number".to_string()))?;
        Ok(self.selection(
            &format!("{field}_{modifier}"),
            single(&format!("{name}|{modifier}"), number),
        ))
    }

    fn text(
        &self,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> Spelled {
        // The plan compares `event_type` exactly with the source's types;
        // they are spelled as the `event_type` selection spells them.
        let source_types = field == "event_type"
            && op == TextOp::Equals
            && needles.iter().all(|needle| self.types.contains(needle));
        let case_sensitive = case_sensitive && !source_types;
        let (value, end) = self.text_value(field, op, case_sensitive, fold_whitespace, needles)?;
        let selection = self.selection(&format!("{field}_{}", op_name(op)), value);
        Ok(if end {
            self.at_the_end(selection, &[field.to_string()])
        } else {
            selection
        })
    }

    fn key(&self, field: &str, case_sensitive: bool, cell: &str) -> Spelled {
        let cell = [cell.to_string()];
        let (value, end) = self.text_value(field, TextOp::Equals, case_sensitive, false, &cell)?;
        let selection = self.selection(&format!("{field}_key"), value);
        Ok(if end {
            self.at_the_end(selection, &[field.to_string()])
        } else {
            selection
        })
    }

    /// The patterns by key (`|re`, `|re|i`) in one selection, and those
    /// ending with `$` in another, paired with `not <field>_line_feed`.
    fn regex(&self, field: &str, patterns: &[ir::Regex]) -> Spelled {
        let name = self.field_name(field);
        // (ends with `$`, key) -> patterns, in the order written.
        let mut groups: Vec<((bool, String), Vec<Yaml>)> = Vec::new();
        for regex in patterns {
            let sigma = search_regex(&regex.pattern, regex.case_insensitive)
                .map_err(|reason| Unsupported(format!("the regex `{}` {reason}", regex.pattern)))?;
            let group = (sigma.end, sigma.key(&name));
            let value = Yaml::String(sigma.pattern);
            match groups.iter_mut().find(|(key, _)| *key == group) {
                Some((_, values)) => values.push(value),
                None => groups.push((group, vec![value])),
            }
        }
        let mut spelled = Vec::new();
        for end in [false, true] {
            let maps: Vec<Yaml> = groups
                .iter()
                .filter(|((at_end, _), _)| *at_end == end)
                .map(|((_, key), values)| single(key, list_or_one(values.clone())))
                .collect();
            if maps.is_empty() {
                continue;
            }
            let selection = self.selection(&format!("{field}_re"), list_or_one(maps));
            spelled.push(if end {
                self.at_the_end(selection, &[field.to_string()])
            } else {
                selection
            });
        }
        Ok(if spelled.len() == 1 {
            spelled.remove(0)
        } else {
            self.or(spelled)
        })
    }

    fn values(&self, field: &str, values: &[Value]) -> Spelled {
        let name = self.field_name(field);
        let alternatives = values
            .iter()
            .map(|value| equal_value(&name, value))
            .collect::<Option<Vec<Yaml>>>()
            .ok_or_else(|| {
                Unsupported("only numbers and booleans are compared as values in Sigma".to_string())
            })?;
        Ok(self.selection(&format!("{field}_in"), Yaml::Sequence(alternatives)))
    }

    fn cidr(&self, field: &str, field_type: ValueType, networks: &[String]) -> Spelled {
        let _ = field_type;
        if let Some(network) = networks.iter().find(|network| network.contains(':')) {
            return Err(Unsupported(format!(
                "the IPv6 network `{network}`: Sigma backends match IPv6 networks inconsistently (Splunk's CIDR search is IPv4-only)"
            )));
        }
        let name = self.field_name(field);
        let values: Vec<Yaml> = networks
            .iter()
            .map(|network| Yaml::String(network.clone()))
            .collect();
        Ok(self.selection(
            &format!("{field}_cidr"),
            single(&format!("{name}|cidr"), list_or_one(values)),
        ))
    }

    /// One selection, a list of maps (one per row, in the lookup's order),
    /// each map the AND of the cell equalities.
    fn rows(
        &self,
        fields: &[String],
        case_sensitive: bool,
        groups: &[(String, Vec<Vec<String>>)],
        lookup: &LookupRef,
    ) -> Option<Spelled> {
        let mut rows = Vec::new();
        // The fields with a `|re` cell ending with `$`.
        let mut at_end: Vec<String> = Vec::new();
        for (first, rests) in groups {
            for rest in rests {
                let mut map = YamlMap::new();
                for (field, cell) in fields.iter().zip(std::iter::once(first).chain(rest)) {
                    let name = self.field_name(field);
                    if !case_sensitive && plain_case_insensitive(cell, TextOp::Equals, false) {
                        map.insert(Yaml::String(name), Yaml::String(plain_value(cell)));
                    } else {
                        let cell = std::slice::from_ref(cell);
                        match needles_regex(cell, TextOp::Equals, case_sensitive, false) {
                            Ok(regex) => {
                                if regex.end && !at_end.contains(field) {
                                    at_end.push(field.clone());
                                }
                                map.insert(
                                    Yaml::String(regex.key(&name)),
                                    Yaml::String(regex.pattern),
                                );
                            }
                            Err(reason) => return Some(Err(Unsupported(reason))),
                        }
                    }
                }
                rows.push(Yaml::Mapping(map));
            }
        }
        // The pairing covers the plain cells too: none may end in a line feed.
        for (first, rests) in groups {
            for rest in rests {
                let cells = fields.iter().zip(std::iter::once(first).chain(rest));
                for (field, cell) in cells {
                    if at_end.contains(field) && may_end_in_line_feed(cell, TextOp::Equals, false) {
                        return Some(Err(Unsupported(format!(
                            "the cell {cell:?} ends in a line feed, where Sigma's `$` (PCRE) and rsigma's (Rust) disagree"
                        ))));
                    }
                }
            }
        }
        let name = format!("{}_row", lookup.name);
        let selection = self.selection(&name, Yaml::Sequence(rows));
        Some(Ok(self.at_the_end(selection, &at_end)))
    }

    fn sorted_needles(&self) -> bool {
        false
    }

    fn max_inlined_rows(&self) -> usize {
        MAX_INLINED_ROWS
    }

    fn too_many_rows(&self, lookup: &LookupRef) -> String {
        format!(
            "the lookup `{}` has {} rows; at most {MAX_INLINED_ROWS} are inlined into a Sigma rule",
            lookup.name, lookup.rows
        )
    }

    /// Sets Sigma has no selection for: no needles, patterns or rows.
    fn refusals(&self, test: &Test) -> Vec<Unsupported> {
        let within = |lookup: &LookupRef| lookup.rows <= MAX_INLINED_ROWS;
        let reason = match &test.kind {
            TestKind::Text {
                field,
                op,
                needles,
                lookup,
                ..
            } if needles.is_empty()
                && lookup.as_ref().is_none_or(within)
                && !(field == "event_type" && *op == TextOp::Equals) =>
            {
                "the test has no needles".to_string()
            }
            TestKind::Regex { patterns, .. } if patterns.is_empty() => {
                "the regex list is empty".to_string()
            }
            TestKind::Narrowed { groups, lookup, .. } if groups.is_empty() && within(lookup) => {
                format!("the lookup `{}` gives no needles", lookup.name)
            }
            TestKind::Rows { groups, lookup, .. } if groups.is_empty() => {
                format!("the lookup `{}` has no rows", lookup.name)
            }
            _ => return Vec::new(),
        };
        vec![Unsupported(reason)]
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
