//! [`Syntax`] for KQL filters.
//!
//! In Elasticsearch's two-valued filters a test on a missing field is false
//! and `not` of it true, as in the evaluator: only a negated operator needs
//! its presence guard (`f:* and not (test)`). KQL on `keyword` fields
//! compares exactly and case-sensitively and has no regexes, so only what it
//! expresses exactly is spelled: quoted values for equality, wildcard values
//! for prefix, suffix and substring tests, ranges, `f:*`, CIDR terms on `ip`
//! fields, and case-insensitive tests whose needles have no case variants.

use super::quote::{caseless, kql_field, kql_quoted, kql_unquoted};
use crate::ir::{self, CompareOp, Schema, TextOp, Value, ValueType};
use crate::targets::Mapping;
use crate::targets::plan::LookupRef;
use crate::targets::syntax::{Spelled, Syntax, Unsupported, parenthesised};

/// The most lookup rows inlined into one query.
pub const MAX_INLINED_ROWS: usize = 500;

/// KQL over the ECS-mapped fields of the events of one source.
pub(super) struct Kql<'a> {
    pub(super) mapping: &'a Mapping,
    pub(super) schema: &'a Schema,
    /// The event types the source reads, for the schema types of fields.
    pub(super) types: &'a [String],
}

impl Kql<'_> {
    /// A mapped field name.
    pub(super) fn field(&self, canonical: &str) -> Result<String, Unsupported> {
        let Some(field) = self.mapping.field(canonical) else {
            return Err(Unsupported(format!(
                "the field `{canonical}` has no mapping for this target"
            )));
        };
        kql_field(&field.name).map_err(Unsupported)
    }

    /// One needle as a KQL value: quoted for equality, a wildcard otherwise.
    fn value(op: TextOp, case_sensitive: bool, needle: &str) -> Spelled {
        if !case_sensitive && !caseless(needle) {
            return Err(Unsupported(format!(
                "the case-insensitive needle {} has letters: KQL compares keyword values case-sensitively and has no regexes to spell the case variants",
                kql_quoted(needle)
            )));
        }
        if needle.is_empty() {
            return Err(Unsupported(
                "an empty needle: KQL's empty phrase and lone `*` do not mean the evaluator's test"
                    .to_string(),
            ));
        }
        match op {
            TextOp::Equals => Ok(kql_quoted(needle)),
            TextOp::Contains => kql_unquoted(needle).map(|text| format!("*{text}*")),
            TextOp::StartsWith => kql_unquoted(needle).map(|text| format!("{text}*")),
            TextOp::EndsWith => kql_unquoted(needle).map(|text| format!("*{text}")),
        }
        .map_err(Unsupported)
    }
}

impl Syntax for Kql<'_> {
    fn target(&self) -> &'static str {
        super::ID
    }

    /// KQL has no constants: `true` is "the event type exists".
    fn constant(&self, value: bool) -> String {
        // A mapping KQL cannot name is refused where the source is spelled.
        let event_type = self.field("event_type").unwrap_or_default();
        if value {
            format!("{event_type}:*")
        } else {
            format!("not {event_type}:*")
        }
    }

    /// Each operand parenthesised, as the rule's own `and` is written.
    fn and(&self, operands: Vec<String>) -> String {
        parenthesised(&operands).join(" and ")
    }

    fn or(&self, operands: Vec<String>) -> String {
        parenthesised(&operands).join(" or ")
    }

    fn exists(&self, field: &str) -> Spelled {
        Ok(format!("{}:*", self.field(field)?))
    }

    fn compare(&self, field: &str, _: ValueType, op: CompareOp, value: &Value) -> Spelled {
        let field = self.field(field)?;
        let value = number_or_bool(value)
            .ok_or_else(|| Unsupported("the compared value is not a number or boolean".into()))?;
        Ok(match op {
            CompareOp::Equal => format!("{field}:{value}"),
            CompareOp::NotEqual => format!("{field}:* and not {field}:{value}"),
            CompareOp::Less => format!("{field} < {value}"),
            CompareOp::LessEqual => format!("{field} <= {value}"),
            CompareOp::Greater => format!("{field} > {value}"),
            CompareOp::GreaterEqual => format!("{field} >= {value}"),
        })
    }

    /// `field OP any needle`, as an OR of KQL values.
    fn text(
        &self,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> Spelled {
        let reference = self.field(field)?;
        if let Some(value_type) = self.schema.non_string_type(self.types, field) {
            return Err(Unsupported(format!(
                "a string operator on the {} field `{field}` has no KQL equivalent",
                value_type.name()
            )));
        }
        if fold_whitespace {
            return Err(Unsupported("KQL cannot fold whitespace".to_string()));
        }
        let values = needles
            .iter()
            .map(|needle| Self::value(op, case_sensitive, needle))
            .collect::<Result<Vec<String>, Unsupported>>()?;
        Ok(match values.as_slice() {
            [single] => format!("{reference}:{single}"),
            many => format!("{reference}:({})", many.join(" or ")),
        })
    }

    fn regex(&self, _: &str, _: &[ir::Regex]) -> Spelled {
        Err(Unsupported("KQL has no regular expressions".to_string()))
    }

    fn values(&self, field: &str, values: &[Value]) -> Spelled {
        let field = self.field(field)?;
        let texts = values
            .iter()
            .map(number_or_bool)
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| Unsupported("a membership value is not a number or boolean".into()))?;
        let items: Vec<String> = texts
            .into_iter()
            .map(|text| format!("{field}:{text}"))
            .collect();
        Ok(items.join(" or "))
    }

    fn cidr(&self, field: &str, field_type: ValueType, networks: &[String]) -> Spelled {
        let reference = self.field(field)?;
        if field_type != ValueType::Ip {
            return Err(Unsupported(format!(
                "`{field}` is a {} field: a CIDR term query needs an `ip` field",
                field_type.name()
            )));
        }
        // Elasticsearch keeps an IPv4 address as its IPv4-mapped IPv6 form,
        // and so does the language, so IPv6 networks mean the same here as
        // in the evaluator (as for ES|QL's CIDR_MATCH):
        // https://www.elastic.co/guide/en/elasticsearch/reference/current/ip.html
        let items: Vec<String> = networks
            .iter()
            .map(|network| format!("{reference}:{}", kql_quoted(network)))
            .collect();
        Ok(items.join(" or "))
    }

    fn max_inlined_rows(&self) -> usize {
        MAX_INLINED_ROWS
    }

    fn too_many_rows(&self, lookup: &LookupRef) -> String {
        format!(
            "the lookup `{}` has {} rows; the KQL target inlines at most {MAX_INLINED_ROWS} rows into a query",
            lookup.name, lookup.rows
        )
    }

    /// A negated operator is false on a missing field: `f:* and not (test)`;
    /// any other test already is.
    fn guarded(&self, presence: Vec<String>, body: String, negated: bool, _: bool) -> String {
        match (negated, presence.is_empty()) {
            (false, _) => body,
            (true, true) => format!("not ({body})"),
            (true, false) => format!("{} and not ({body})", presence.join(" and ")),
        }
    }

    fn lookup_and(&self, tests: Vec<String>) -> String {
        format!("({})", tests.join(" and "))
    }

    /// Parenthesised: the rows of a tuple lookup's rest sit inside an `and`.
    fn lookup_or(&self, alternatives: Vec<String>) -> String {
        format!("({})", alternatives.join(" or "))
    }

    /// The alternatives of a lookup test, as the rows of a tuple lookup.
    fn alternatives(&self, alternatives: Vec<String>) -> String {
        self.lookup_or(alternatives)
    }

    /// Every needle, pattern or lookup cell with no form is its own problem.
    fn refuse_each(&self) -> bool {
        true
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
    use super::*;
    use crate::ir::Origin;
    use crate::targets::TargetField;
    use crate::targets::plan::{Pred, Test, TestKind};
    use crate::targets::syntax::predicate;

    fn mapping() -> Mapping {
        let mut mapping = Mapping::default();
        for name in ["event_type", "a", "b", "c"] {
            mapping.fields.insert(
                name.to_string(),
                TargetField {
                    name: format!("x.{name}"),
                    field_type: "keyword".to_string(),
                },
            );
        }
        mapping
    }

    fn test(negated: bool, kind: TestKind) -> Pred {
        Pred::Test(Test {
            negated,
            guard: vec!["a".to_string()],
            origin: Origin {
                line: 1,
                column: 1,
                start: 0,
                end: 0,
            },
            kind,
        })
    }

    fn spell(pred: &Pred) -> (String, Vec<crate::targets::Problem>) {
        let (mapping, schema) = (mapping(), Schema::default());
        let kql = Kql {
            mapping: &mapping,
            schema: &schema,
            types: &[],
        };
        let mut problems = Vec::new();
        (predicate(&kql, pred, &mut problems), problems)
    }

    #[test]
    fn the_rows_of_a_lookup_stay_inside_their_key() {
        let row = |cells: [&str; 2]| cells.iter().map(|cell| cell.to_string()).collect();
        let kind = TestKind::Rows {
            fields: vec!["a".into(), "b".into(), "c".into()],
            case_sensitive: true,
            groups: vec![("k".into(), vec![row(["1", "2"]), row(["3", "4"])])],
            lookup: LookupRef {
                name: "l".into(),
                rows: 2,
            },
        };
        let (text, problems) = spell(&test(true, kind));
        assert!(problems.is_empty());
        assert_eq!(
            text,
            r#"x.a:* and not ((x.a:"k" and ((x.b:"1" and x.c:"2") or (x.b:"3" and x.c:"4"))))"#
        );
    }

    #[test]
    fn every_needle_without_an_exact_value_is_its_own_problem() {
        let kind = TestKind::Text {
            field: "a".into(),
            op: TextOp::Contains,
            case_sensitive: false,
            fold_whitespace: false,
            needles: vec!["b c".into(), "1".into(), "x".into(), "".into()],
            lookup: None,
            field_type: crate::ir::ValueType::String,
        };
        let (text, problems) = spell(&test(false, kind));
        assert_eq!(text, "not x.event_type:*");
        let messages: Vec<&str> = problems.iter().map(|problem| &*problem.message).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].starts_with("an empty needle"));
        assert!(messages[1].starts_with("the case-insensitive needle \"b c\""));
        assert!(messages[2].starts_with("the case-insensitive needle \"x\""));
    }
}
