//! `kibana_kql`: Kibana detection rules of type `query` (language `kuery`).
//!
//! Input: a checked match rule, the pack and the `elastic_eql` ECS
//! [`Mapping`]. Output: one line of `rules.ndjson` (a Kibana detection-rule
//! object for the rules import API) and `queries/<rule id>.kql` holding the
//! KQL filter alone (KQL has no comments).
//!
//! KQL on `keyword` fields compares exactly and case-sensitively and has no
//! regexes, so only what it expresses exactly is translated: case-sensitive
//! equality (a quoted value: `match_phrase`, a term on a keyword), prefix,
//! suffix and substring tests (a wildcard value without whitespace), numeric
//! ranges, `exists`, CIDR on `ip` fields, and case-insensitive tests whose
//! needles have no case variants at all (digits, punctuation). Everything
//! else is refused: regexes and whitespace folding through capabilities
//! (E0401), other case-insensitive needles with E0402. Thresholds are refused
//! too: Kibana's `threshold` rule type counts over the run's sliding look-back,
//! not over epoch-aligned windows.

use serde_json::{Value as Json, json};

use super::elastic_eql::{self, ElasticEql};
use super::lower::{self, Lowerer, scalar_text};
use super::lower::{lower_char, lowercase_sources};
use super::templates::{environment, render};
use super::{Artifact, Mapping, Problem, Target, duration_text};
use crate::ir::{
    self, CompareOp, Detection, Expr, ExprKind, Need, Origin, Pack, Rule, Source, StringSet,
    TextOp, Value, ValueType,
};

/// The target id.
pub const ID: &str = "kibana_kql";

/// The most lookup rows inlined into one query.
pub const MAX_INLINED_ROWS: usize = 500;

/// Kibana detection rules with KQL queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct KibanaKql;

impl Target for KibanaKql {
    fn id(&self) -> &'static str {
        ID
    }

    fn product(&self) -> &'static str {
        "Elastic Security, custom query rules (KQL)"
    }

    fn supports(&self, need: Need) -> bool {
        matches!(
            need,
            Need::Match
                | Need::CaseInsensitiveText
                | Need::KeyedLookup
                | Need::NarrowedLookup
                | Need::Cidr
                | Need::MultiTypeSource
        )
    }

    fn lacks_reason(&self, need: Need) -> String {
        match need {
            Need::Threshold | Need::GroupingSets => format!(
                "{ID} is not given thresholds: Kibana's `threshold` rule type counts over each run's sliding look-back, not over epoch-aligned windows"
            ),
            Need::Regex => format!("{ID} has no regular expressions (KQL has none)"),
            Need::WhitespaceFolding => format!(
                "{ID} cannot fold whitespace: KQL compares keyword values exactly and has no regexes"
            ),
            Need::Sequence | Need::SequenceRepeat => {
                format!("{ID} has no sequences (Elastic expresses them as EQL rules)")
            }
            Need::Arithmetic => format!("{ID} has no arithmetic (KQL has none)"),
            other => format!("{ID} has no {}", other.description()),
        }
    }

    fn default_mapping(&self, schema: &ir::Schema) -> Mapping {
        ElasticEql.default_mapping(schema)
    }

    fn check_data_source(&self, values: &[String]) -> Result<(), String> {
        elastic_eql::check_index_patterns(values)
    }

    fn compile_rule(
        &self,
        rule: &Rule,
        pack: &Pack,
        mapping: &Mapping,
    ) -> Result<Vec<Artifact>, Vec<Problem>> {
        let query = rule_query(rule, pack, mapping)?;
        let bug = |message: String| vec![Problem::untranslatable(rule.origin, message)];
        let note = rule_note(rule, pack, ID).map_err(bug)?;
        let mut object = elastic_eql::rule_object(rule, &query, note.trim_end(), mapping);
        if let Some(fields) = object.as_object_mut() {
            fields.insert("type".to_string(), json!("query"));
            fields.insert("language".to_string(), json!("kuery"));
            fields.insert(
                "from".to_string(),
                json!(format!(
                    "now-{}",
                    duration_text(rule.metadata.schedule_ms + elastic_eql::LATENESS_MS)
                )),
            );
            fields.insert("meta".to_string(), meta(rule, ID));
        }
        let line = serde_json::to_string(&object)
            .map_err(|error| bug(format!("the rule object does not serialise: {error}")))?;
        Ok(vec![
            Artifact {
                path: "rules.ndjson".to_string(),
                text: format!("{line}\n"),
            },
            Artifact {
                path: format!("queries/{}.kql", rule.id),
                text: format!("{query}\n"),
            },
        ])
    }

    /// The data stream's index template and ILM policy, for every Elastic
    /// target's queries (emitted here only, once).
    fn pack_artifacts(&self, _pack: &Pack, mapping: &Mapping) -> Vec<Artifact> {
        let pretty = |value: &Json| serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
        vec![
            Artifact {
                path: format!("elasticsearch/index_template/{INDEX_TEMPLATE}.json"),
                text: pretty(&index_template(mapping)),
            },
            Artifact {
                path: format!("elasticsearch/ilm_policy/{ILM_POLICY}.json"),
                text: pretty(&ilm_policy()),
            },
        ]
    }
}

/// The index template's name (`PUT _index_template/<name>`).
pub const INDEX_TEMPLATE: &str = "logs-tripline.llm_application";

/// The ILM policy's name (`PUT _ilm/policy/<name>`).
pub const ILM_POLICY: &str = "logs-tripline.llm_application";

/// An index template for the event data stream: every mapped field with its
/// type, strings `keyword` without `ignore_above` and without a normalizer
/// (so that values longer than 256 characters are still indexed and the
/// queries' exact, case-sensitive comparisons hold), free text `wildcard`
/// (exact term, wildcard and regexp queries on any length); unmapped fields
/// are kept in `_source` but not indexed (`dynamic: false`).
pub fn index_template(mapping: &Mapping) -> Json {
    let mut properties = serde_json::Map::new();
    for field in mapping.fields.values() {
        let mut level = &mut properties;
        let parts: Vec<&str> = field.name.split('.').collect();
        for (index, part) in parts.iter().enumerate() {
            if index + 1 == parts.len() {
                level.insert(part.to_string(), json!({ "type": field.field_type }));
            } else {
                let entry = level
                    .entry(part.to_string())
                    .or_insert_with(|| json!({ "properties": {} }));
                let Some(next) = entry.get_mut("properties").and_then(Json::as_object_mut) else {
                    break;
                };
                level = next;
            }
        }
    }
    json!({
        "index_patterns": [elastic_eql::INDEX_PATTERN],
        "data_stream": {},
        "priority": 200,
        "_meta": {
            "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")),
            "description": "Tripline LLM application events (ECS plus tripline.*)",
        },
        "template": {
            "settings": { "index.lifecycle.name": ILM_POLICY },
            "mappings": { "dynamic": false, "properties": properties },
        },
    })
}

/// The ILM policy: daily rollover, deletion 90 days after rollover (an event
/// is kept 90 to 91 days).
pub fn ilm_policy() -> Json {
    json!({
        "policy": {
            "_meta": { "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")) },
            "phases": {
                "hot": { "actions": { "rollover": { "max_age": "1d", "max_primary_shard_size": "50gb" } } },
                "delete": { "min_age": "90d", "actions": { "delete": {} } },
            },
        },
    })
}

/// The `meta` object of a Kibana rule built by `target`.
pub(crate) fn meta(rule: &Rule, target: &str) -> Json {
    json!({
        "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")),
        "target": target,
        "tripline_rule_id": rule.id,
    })
}

/// The rule's `note` (description, guide, playbook), from `elastic_eql`'s template.
pub(crate) fn rule_note(rule: &Rule, pack: &Pack, target: &str) -> Result<String, String> {
    let playbook = rule
        .metadata
        .playbook
        .as_ref()
        .and_then(|name| pack.playbooks.get(name));
    render(
        &environment(elastic_eql::TEMPLATES),
        "note.md.j2",
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "target": target,
            "rule_id": rule.id,
            "title": rule.metadata.title,
            "description": rule.metadata.description.trim(),
            "guide": rule.metadata.guide.as_deref().map(str::trim),
            "playbook": playbook.map(|playbook| json!({
                "title": playbook.title,
                "trigger": playbook.trigger,
                "guide": playbook.guide.trim(),
            })),
        }),
    )
}

/// A quoted KQL string: `\` and `"` escaped, tab and line breaks as `\t`
/// `\r` `\n` (the grammar's only escapes inside quotes). A quoted value is a
/// phrase (`match_phrase`), never a wildcard.
pub fn kql_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// An unquoted KQL literal holding `text` as data: the grammar's special
/// characters `\ ( ) : < > " *` escaped with a backslash. Whitespace cannot
/// be written safely in an unquoted literal (` or ` ends it, the edges are
/// trimmed, and Kibana hands wildcard values to `query_string`, which splits
/// on whitespace), so text with whitespace or control characters is refused.
pub fn kql_unquoted(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_whitespace() || character.is_control() {
            return Err(format!(
                "the value {} contains whitespace or a control character, which a KQL wildcard value cannot hold exactly",
                kql_quoted(text)
            ));
        }
        if matches!(character, '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*') {
            out.push('\\');
        }
        out.push(character);
    }
    Ok(out)
}

/// A field name in KQL (an unquoted literal).
pub fn kql_field(name: &str) -> Result<String, String> {
    kql_unquoted(name)
}

/// Whether case-insensitive comparison with `needle` is exactly
/// case-sensitive comparison: no character of it has another character with
/// the same lowercase (digits, punctuation, caseless scripts).
pub fn caseless(needle: &str) -> bool {
    needle.chars().all(|character| {
        lower_char(character) == Some(character) && !lowercase_sources().contains_key(&character)
    })
}

/// The KQL filter of a match rule.
pub fn rule_query(rule: &Rule, pack: &Pack, mapping: &Mapping) -> Result<String, Vec<Problem>> {
    let mut translator = Translator {
        pack,
        mapping,
        problems: Vec::new(),
    };
    let query = match &rule.detection {
        Detection::Match { source } => translator.source(source, rule.origin),
        other => translator.fail(
            rule.origin,
            format!("a {} rule is not a KQL query", ir::shape_name(other)),
        ),
    };
    if translator.problems.is_empty() {
        Ok(query)
    } else {
        // A needle used by several rows or tests is one problem.
        let mut problems: Vec<Problem> = Vec::new();
        for problem in translator.problems {
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
        Err(problems)
    }
}

struct Translator<'a> {
    pack: &'a Pack,
    mapping: &'a Mapping,
    problems: Vec<Problem>,
}

lower::lowerer!(
    Translator,
    "false",
    "the lookup `{lookup}` has {rows} rows; the KQL target inlines at most {max} rows into a query"
);

impl<'a> Translator<'a> {
    fn field(&mut self, canonical: &str, origin: Origin) -> String {
        let Some(field) = self.mapping.field(canonical) else {
            return self.fail(
                origin,
                format!("the field `{canonical}` has no mapping for this target"),
            );
        };
        match kql_field(&field.name) {
            Ok(text) => text,
            Err(reason) => self.fail(origin, reason),
        }
    }

    fn source(&mut self, source: &Source, origin: Origin) -> String {
        let event_type = self.field("event_type", origin);
        let types: Vec<String> = source
            .event_types
            .iter()
            .map(|name| kql_quoted(name))
            .collect();
        let mut text = match types.as_slice() {
            [single] => format!("{event_type}:{single}"),
            many => format!("{event_type}:({})", many.join(" or ")),
        };
        if let Some(filter) = &source.filter {
            let condition = self.expr(filter);
            text.push_str(&format!(" and ({condition})"));
        }
        text
    }

    /// An expression. In Elasticsearch's two-valued filters a test on a
    /// missing field is false and `not` of it true, as in the evaluator;
    /// only a negated operator needs its presence guard.
    fn expr(&mut self, expr: &Expr) -> String {
        match &expr.kind {
            ExprKind::Literal {
                value: Value::Bool(value),
            } => {
                // KQL has no constants: `true` is "the event type exists".
                let event_type = self.field("event_type", expr.origin);
                if *value {
                    format!("{event_type}:*")
                } else {
                    format!("not {event_type}:*")
                }
            }
            ExprKind::Not { operand } => format!("not ({})", self.expr(operand)),
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " and "
                } else {
                    " or "
                };
                operands
                    .iter()
                    .map(|operand| format!("({})", self.expr(operand)))
                    .collect::<Vec<_>>()
                    .join(joiner)
            }
            ExprKind::Exists { field } => {
                let field = self.field(field, expr.origin);
                format!("{field}:*")
            }
            ExprKind::Compare { op, left, right } => self.compare(expr, *op, left, right),
            ExprKind::Text {
                op,
                case_sensitive,
                fold_whitespace,
                negated,
                subject,
                needles,
            } => {
                let Some((canonical, field)) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                if subject.value_type != ValueType::String {
                    return self.fail(
                        expr.origin,
                        format!(
                            "a string operator on the {} field `{canonical}` has no KQL equivalent",
                            subject.value_type.name()
                        ),
                    );
                }
                if *fold_whitespace {
                    return self.fail(expr.origin, "KQL cannot fold whitespace");
                }
                let mut guarded = vec![field.clone()];
                let body = match needles {
                    StringSet::NarrowedLookup {
                        lookup,
                        keys,
                        column,
                    } => {
                        for (_, key) in keys {
                            guarded.push(self.field(key, expr.origin));
                        }
                        self.narrowed(
                            expr.origin,
                            &field,
                            *op,
                            *case_sensitive,
                            lookup,
                            keys,
                            column,
                        )
                    }
                    other => {
                        let values = self.needles(other, expr.origin);
                        self.text_test(expr.origin, &field, *op, *case_sensitive, &values)
                    }
                };
                guard(&guarded, body, *negated)
            }
            ExprKind::Matches { .. } => self.fail(expr.origin, "KQL has no regular expressions"),
            ExprKind::InValues {
                negated,
                subject,
                values,
            } => {
                let Some((_, field)) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                let Some(texts) = values
                    .iter()
                    .map(number_or_bool)
                    .collect::<Option<Vec<String>>>()
                else {
                    return self.fail(expr.origin, "a membership value is not a number or boolean");
                };
                let items: Vec<String> = texts
                    .into_iter()
                    .map(|text| format!("{field}:{text}"))
                    .collect();
                let body = if items.is_empty() {
                    format!("not {field}:* and {field}:*")
                } else {
                    items.join(" or ")
                };
                guard(&[field], body, *negated)
            }
            ExprKind::InCidr {
                negated,
                subject,
                networks,
            } => {
                let Some((canonical, field)) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                if subject.value_type != ValueType::Ip {
                    return self.fail(
                        expr.origin,
                        format!(
                            "`{canonical}` is a {} field: a CIDR term query needs an `ip` field",
                            subject.value_type.name()
                        ),
                    );
                }
                let mut items = Vec::new();
                for network in networks {
                    if network.contains(':') {
                        return self.fail(
                            expr.origin,
                            format!(
                                "the IPv6 network `{network}`: Elasticsearch stores IPv4 addresses as IPv4-mapped IPv6, so an IPv6 network can match IPv4 addresses the evaluator keeps apart"
                            ),
                        );
                    }
                    items.push(format!("{field}:{}", kql_quoted(network)));
                }
                guard(&[field], items.join(" or "), *negated)
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
                    match self.subject(subject, expr.origin) {
                        Some((_, field)) => fields.push(field),
                        None => return "false".to_string(),
                    }
                }
                let body = self.lookup_rows(expr.origin, &fields, *case_sensitive, lookup, columns);
                guard(&fields, body, *negated)
            }
            _ => self.fail(expr.origin, "this expression has no KQL translation"),
        }
    }

    fn subject(&mut self, subject: &Expr, origin: Origin) -> Option<(String, String)> {
        match &subject.kind {
            ExprKind::Field { name } => {
                let field = self.field(name, origin);
                Some((name.clone(), field))
            }
            _ => {
                self.fail(
                    origin,
                    "an operator on a computed value has no KQL translation; only fields are tested",
                );
                None
            }
        }
    }

    fn compare(&mut self, expr: &Expr, op: CompareOp, left: &Expr, right: &Expr) -> String {
        let comparison = match lower::typed_comparison(op, left, right, "KQL", number_or_bool) {
            Ok(comparison) => comparison,
            Err(refusal) => return self.fail(expr.origin, refusal),
        };
        let Some((_, field)) = self.subject(comparison.field, expr.origin) else {
            return Self::FALSE.to_string();
        };
        let value = comparison.value;
        match comparison.op {
            CompareOp::Equal => format!("{field}:{value}"),
            CompareOp::NotEqual => format!("{field}:* and not {field}:{value}"),
            CompareOp::Less => format!("{field} < {value}"),
            CompareOp::LessEqual => format!("{field} <= {value}"),
            CompareOp::Greater => format!("{field} > {value}"),
            CompareOp::GreaterEqual => format!("{field} >= {value}"),
        }
    }

    /// `field OP any needle`, as an OR of KQL values.
    fn text_test(
        &mut self,
        origin: Origin,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        needles: &[String],
    ) -> String {
        let mut needles: Vec<&String> = needles.iter().collect();
        needles.sort();
        needles.dedup();
        let mut values = Vec::new();
        for needle in needles {
            if !case_sensitive && !caseless(needle) {
                self.fail(
                    origin,
                    format!(
                        "the case-insensitive needle {} has letters: KQL compares keyword values case-sensitively and has no regexes to spell the case variants",
                        kql_quoted(needle)
                    ),
                );
                continue;
            }
            if needle.is_empty() {
                self.fail(
                    origin,
                    "an empty needle: KQL's empty phrase and lone `*` do not mean the evaluator's test",
                );
                continue;
            }
            let value = match op {
                TextOp::Equals => Ok(kql_quoted(needle)),
                TextOp::Contains => kql_unquoted(needle).map(|text| format!("*{text}*")),
                TextOp::StartsWith => kql_unquoted(needle).map(|text| format!("{text}*")),
                TextOp::EndsWith => kql_unquoted(needle).map(|text| format!("*{text}")),
            };
            match value {
                Ok(value) => values.push(value),
                Err(reason) => {
                    self.fail(origin, reason);
                }
            }
        }
        match values.as_slice() {
            [] => format!("not {field}:* and {field}:*"),
            [single] => format!("{field}:{single}"),
            many => format!("{field}:({})", many.join(" or ")),
        }
    }

    /// `field OP any needle of the rows whose key columns equal the key fields`:
    /// an OR over the rows.
    #[allow(clippy::too_many_arguments)]
    fn narrowed(
        &mut self,
        origin: Origin,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        lookup: &str,
        keys: &[(String, String)],
        column: &str,
    ) -> String {
        let Some((table, needle_index)) = self.lookup_column(lookup, column, origin) else {
            return "false".to_string();
        };
        if table.rows.len() > MAX_INLINED_ROWS {
            return self.fail(origin, Self::too_many_rows(lookup, table.rows.len()));
        }
        let mut key_columns = Vec::new();
        for (key_column, key_field) in keys {
            let Some((_, index)) = self.lookup_column(lookup, key_column, origin) else {
                return "false".to_string();
            };
            let field = self.field(key_field, origin);
            key_columns.push((index, field));
        }
        let mut alternatives = Vec::new();
        for row in &table.rows {
            let Some(needle) = row
                .get(needle_index)
                .and_then(scalar_text)
                .filter(|text| !text.is_empty())
            else {
                continue;
            };
            let mut parts = Vec::new();
            for (index, key_field) in &key_columns {
                let cell = row.get(*index).and_then(scalar_text).unwrap_or_default();
                parts.push(self.text_test(
                    origin,
                    key_field,
                    TextOp::Equals,
                    case_sensitive,
                    &[cell],
                ));
            }
            parts.push(self.text_test(origin, field, op, case_sensitive, &[needle]));
            alternatives.push(format!("({})", parts.join(" and ")));
        }
        if alternatives.is_empty() {
            format!("not {field}:* and {field}:*")
        } else {
            alternatives.join(" or ")
        }
    }

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
        let mut alternatives = Vec::new();
        for row in &table.rows {
            let parts: Vec<String> = fields
                .iter()
                .zip(&indexes)
                .map(|(field, index)| {
                    let cell = row.get(*index).and_then(scalar_text).unwrap_or_default();
                    self.text_test(origin, field, TextOp::Equals, case_sensitive, &[cell])
                })
                .collect();
            alternatives.push(format!("({})", parts.join(" and ")));
        }
        if alternatives.is_empty() {
            format!("not {}:* and {}:*", fields[0], fields[0])
        } else {
            alternatives.join(" or ")
        }
    }
}

/// A negated operator is false on a missing field: `f:* and not (test)`.
fn guard(fields: &[String], body: String, negated: bool) -> String {
    if negated {
        let presence: Vec<String> = fields.iter().map(|field| format!("{field}:*")).collect();
        format!("{} and not ({body})", presence.join(" and "))
    } else {
        body
    }
}

/// A number or boolean as an unquoted KQL literal (which KQL parses back
/// into the same number or boolean).
fn number_or_bool(value: &Value) -> Option<String> {
    match value {
        Value::Int(value) => Some(value.to_string()),
        Value::Float(value) if value.is_finite() => Some(value.to_string()),
        Value::Bool(value) => Some(value.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn quoted_values_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(kql_quoted(r#"a" or b:*"#), r#""a\" or b:*""#);
        assert_eq!(kql_quoted("a\\b\n\t\r"), r#""a\\b\n\t\r""#);
        assert_eq!(kql_quoted(") or (x:*"), r#"") or (x:*""#);
    }

    #[test]
    fn unquoted_values_escape_every_special_character() {
        assert_eq!(
            kql_unquoted(r#"a\b(c)d:e<f>g"h*i"#).unwrap(),
            r#"a\\b\(c\)d\:e\<f\>g\"h\*i"#
        );
        assert_eq!(
            kql_unquoted("TRIPLINE-CANARY-1").unwrap(),
            "TRIPLINE-CANARY-1"
        );
    }

    #[test]
    fn unquoted_values_with_whitespace_are_refused() {
        assert!(kql_unquoted("b or c").is_err());
        assert!(kql_unquoted("tab\there").is_err());
        assert!(kql_unquoted(" lead").is_err());
        assert!(kql_unquoted("nbsp\u{a0}").is_err());
    }

    #[test]
    fn caseless_needles_have_no_case_variants() {
        assert!(caseless("0.5.0-1/2"));
        assert!(!caseless("a"));
        assert!(!caseless("k"));
        assert!(!caseless("K"));
        assert!(!caseless("\u{212A}"));
        assert!(!caseless("i"));
    }

    #[test]
    fn the_index_template_nests_dotted_names_and_keeps_types() {
        let mut mapping = Mapping::default();
        for (canonical, name, field_type) in [
            ("a", "source.ip", "ip"),
            ("b", "source.geo.country_iso_code", "keyword"),
            ("c", "tripline.output", "wildcard"),
        ] {
            mapping.fields.insert(
                canonical.to_string(),
                crate::targets::TargetField {
                    name: name.to_string(),
                    field_type: field_type.to_string(),
                },
            );
        }
        let template = index_template(&mapping);
        let properties = &template["template"]["mappings"]["properties"];
        assert_eq!(properties["source"]["properties"]["ip"]["type"], "ip");
        assert_eq!(
            properties["source"]["properties"]["geo"]["properties"]["country_iso_code"]["type"],
            "keyword"
        );
        assert_eq!(
            properties["tripline"]["properties"]["output"]["type"],
            "wildcard"
        );
        assert_eq!(ilm_policy()["policy"]["phases"]["delete"]["min_age"], "90d");
    }
}
