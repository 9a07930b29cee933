//! `spark_sql`: Spark SQL (Databricks or any Spark 3.5+ cluster), with a runner.
//!
//! Input: a checked rule and its plan. Output: the same files as
//! [`super::duckdb_sql`], in Spark's spelling, and a `run.py` that runs
//! under `spark-submit` or a plain `python` with `pyspark` in local mode.
//! Regexes are Java's: the end of the text is `\z` and ASCII word
//! boundaries are spelled out with look-around.

use super::plan::FingerprintStep;
use super::re2::{self, Flavour};
use super::sql::{self, SqlDialect, SqlTarget};
use crate::ir::{TextOp, ValueType};

/// The target id.
pub const ID: &str = "spark_sql";

/// Spark SQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct SparkSql;

impl SqlDialect for SparkSql {
    fn target(&self) -> &'static str {
        ID
    }

    fn flavour(&self) -> &'static Flavour {
        &re2::JAVA
    }

    fn regex_match(&self, value: &str, pattern: &str) -> String {
        format!("{value} RLIKE {pattern}")
    }

    fn text_function(&self, op: TextOp, value: &str, needle: &str) -> String {
        let function = match op {
            TextOp::StartsWith => "startswith",
            TextOp::EndsWith => "endswith",
            _ => "contains",
        };
        format!("{function}({value}, {needle})")
    }

    /// Spark reads backslash escapes in string literals, so both the quote
    /// and the backslash are escaped.
    fn string(&self, text: &str) -> String {
        format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
    }

    fn ident(&self, name: &str) -> String {
        sql::plain_or_quoted(name, '`')
    }

    fn float(&self, value: f64) -> String {
        format!("{value:?}D")
    }

    fn bucket(&self, time_ms: &str, length_ms: i64) -> String {
        format!("{time_ms} - pmod({time_ms}, {length_ms})")
    }

    fn first_refs(&self, count: usize) -> String {
        format!(
            "slice(transform(array_sort(collect_list(struct(_order, _ref))), e -> e._ref), 1, {count})"
        )
    }

    fn array_of(&self, value: &str) -> String {
        format!("array({value})")
    }

    /// `collect_set` keeps each non-null value once, in no set order
    /// (<https://docs.databricks.com/gcp/en/pyspark/reference/functions/collect_set>);
    /// `array_sort` sorts it ascending, strings by their bytes
    /// (<https://spark.apache.org/docs/latest/api/python/reference/pyspark.sql/api/pyspark.sql.functions.array_sort.html>).
    fn sorted_distinct(&self, column: &str) -> String {
        format!("array_sort(collect_set({column}))")
    }

    /// Spark's array functions; `regexp_extract_all` extracts group 1
    /// unless told 0, the whole match
    /// (<https://docs.databricks.com/sql/language-manual/functions/regexp_extract_all.html>);
    /// `md5` returns the hex MD5 of its argument, a string cast to its
    /// UTF-8 bytes (<https://docs.databricks.com/aws/en/sql/language-manual/functions/md5>);
    /// `length` counts code points (checked against Spark 4: a letter with a
    /// combining accent is 2).
    fn fingerprint_step(&self, step: FingerprintStep, value: &str) -> String {
        match step {
            FingerprintStep::Words { pattern } => {
                format!("regexp_extract_all({value}, {}, 0)", self.string(pattern))
            }
            FingerprintStep::HashEach { offset, digits } => {
                format!(
                    "transform({value}, word -> substr(md5(lower(word)), {}, {digits}))",
                    offset + 1
                )
            }
            FingerprintStep::Distinct => format!("array_distinct({value})"),
            FingerprintStep::Sort => format!("array_sort({value})"),
            FingerprintStep::First(count) => format!("slice({value}, 1, {count})"),
            FingerprintStep::Join { separator } => {
                format!("array_join({value}, {})", self.string(separator))
            }
            FingerprintStep::MinLength(_)
            | FingerprintStep::DropEmpty
            | FingerprintStep::Label(_) => value.to_string(),
        }
    }

    /// `regexp_replace` replaces every match; its replacement names groups
    /// `$0`..`$9`, as Java's `Matcher.replaceAll` does
    /// (<https://spark.apache.org/docs/3.2.2/api/python/reference/api/pyspark.sql.functions.regexp_replace.html>).
    fn regex_replace(&self, value: &str, pattern: &str, rewrite: (&str, usize)) -> String {
        let (prefix, group) = rewrite;
        format!(
            "regexp_replace({value}, {pattern}, {})",
            self.string(&format!("{prefix}${group}"))
        )
    }

    fn expand(&self, values: &[String]) -> String {
        format!("explode(array({}))", values.join(",\n      "))
    }
}

impl SqlTarget for SparkSql {
    const PRODUCT: &'static str =
        "Spark SQL (Databricks, any Spark cluster), with a PySpark runner";
    const RUNNER: &'static str = include_str!("../../targets/spark_sql/run.py");
    const README: &'static str = include_str!("../../targets/spark_sql/README.md");

    fn column_type(&self, value_type: ValueType) -> &'static str {
        match value_type {
            ValueType::Int => "BIGINT",
            ValueType::Float => "DOUBLE",
            ValueType::Bool => "BOOLEAN",
            _ => "STRING",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Spark string literal read back: backslash escapes decoded.
    fn read_back(literal: &str) -> Option<String> {
        let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
        let mut out = String::new();
        let mut characters = inner.chars();
        while let Some(character) = characters.next() {
            match character {
                '\\' => out.push(characters.next()?),
                '\'' => return None,
                other => out.push(other),
            }
        }
        Some(out)
    }

    #[test]
    fn a_hostile_value_stays_one_string_literal() {
        for hostile in [
            "'); DROP TABLE events; --",
            "trailing backslash \\",
            "\\' OR 1=1 --",
            "(?i)\\bx\\z",
        ] {
            let literal = SparkSql.string(hostile);
            assert_eq!(read_back(&literal).as_deref(), Some(hostile), "{literal}");
        }
    }

    #[test]
    fn regexes_are_written_for_java() {
        assert_eq!(SparkSql.flavour().end, "\\z");
        assert_eq!(SparkSql.regex_match("output", "'x'"), "output RLIKE 'x'");
        assert_eq!(SparkSql.ident("a`b"), "`a``b`");
    }
}
