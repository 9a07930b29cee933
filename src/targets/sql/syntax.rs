//! [`Syntax`] for every SQL dialect: SQL's own operators, the dialect's
//! functions for text and regexes, the shared RE2-family writer for patterns.

use super::{SqlDialect, symbol};
use crate::ir::{self, CompareOp, TextOp, Value, ValueType};
use crate::targets::Mapping;
use crate::targets::re2;
use crate::targets::syntax::{Spelled, Syntax, Unsupported};

/// A dialect with the mapping of canonical fields to columns.
pub(super) struct SqlSyntax<'d> {
    pub(super) dialect: &'d dyn SqlDialect,
    pub(super) mapping: &'d Mapping,
}

impl SqlSyntax<'_> {
    pub(super) fn column(&self, field: &str) -> String {
        let name = self
            .mapping
            .field(field)
            .map_or(field, |target| target.name.as_str());
        self.dialect.ident(name)
    }

    fn literal(&self, value: &Value) -> Option<String> {
        match value {
            Value::Int(value) => Some(value.to_string()),
            Value::Float(value) if value.is_finite() => Some(self.dialect.float(*value)),
            Value::Bool(value) => Some(value.to_string()),
            _ => None,
        }
    }
}

impl Syntax for SqlSyntax<'_> {
    fn target(&self) -> &'static str {
        self.dialect.target()
    }

    fn and(&self, operands: Vec<String>) -> String {
        format!("({})", operands.join(" AND "))
    }

    fn or(&self, operands: Vec<String>) -> String {
        format!("({})", operands.join(" OR "))
    }

    fn not(&self, operand: String) -> String {
        format!("NOT {operand}")
    }

    fn exists(&self, field: &str) -> Spelled {
        Ok(format!("{} IS NOT NULL", self.column(field)))
    }

    fn absent(&self, field: &str) -> Option<Spelled> {
        Some(Ok(format!("{} IS NULL", self.column(field))))
    }

    fn compare(&self, field: &str, _: ValueType, op: CompareOp, value: &Value) -> Spelled {
        let value = self
            .literal(value)
            .ok_or_else(|| self.lacks("a comparison with this constant"))?;
        Ok(format!("{} {} {value}", self.column(field), symbol(op)))
    }

    fn values(&self, field: &str, values: &[Value]) -> Spelled {
        let literals = values
            .iter()
            .map(|value| self.literal(value))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| self.lacks("a membership test with these constants"))?;
        Ok(format!(
            "{} IN ({})",
            self.column(field),
            literals.join(", ")
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
        let column = self.column(field);
        if case_sensitive && !fold_whitespace {
            let literals: Vec<String> = needles
                .iter()
                .map(|needle| self.dialect.string(needle))
                .collect();
            return Ok(match op {
                TextOp::Equals if literals.len() == 1 => format!("{column} = {}", literals[0]),
                TextOp::Equals => format!("{column} IN ({})", literals.join(", ")),
                other => {
                    let tests: Vec<String> = literals
                        .iter()
                        .map(|literal| self.dialect.text_function(other, &column, literal))
                        .collect();
                    if tests.len() == 1 {
                        tests.into_iter().next().unwrap_or_default()
                    } else {
                        self.or(tests)
                    }
                }
            });
        }
        let pattern = re2::needles_regex(
            self.dialect.flavour(),
            needles,
            op,
            case_sensitive,
            fold_whitespace,
        )
        .map_err(Unsupported)?;
        Ok(self
            .dialect
            .regex_match(&column, &self.dialect.string(&pattern)))
    }

    fn regex(&self, field: &str, patterns: &[ir::Regex]) -> Spelled {
        let mut translated = Vec::new();
        for regex in patterns {
            let text = re2::search_regex(
                self.dialect.flavour(),
                &regex.pattern,
                regex.case_insensitive,
            )
            .map_err(|reason| Unsupported(format!("the regex /{}/: {reason}", regex.pattern)))?;
            translated.push(format!("(?:{text})"));
        }
        let column = self.column(field);
        Ok(self
            .dialect
            .regex_match(&column, &self.dialect.string(&translated.join("|"))))
    }
}
