//! `duckdb_sql`: DuckDB SQL over JSON-lines events, with a runner.
//!
//! Input: a checked rule and its plan. Output: `rules/<id>.sql` (one
//! `SELECT` per rule over the `events` table), `rules.jsonl` (what the
//! runner needs to turn rows into alerts), `events_table.json` (the table's
//! columns) and `run.py`, which loads events into DuckDB and prints alerts in
//! `tripline eval`'s format. The shapes are printed by [`super::sql`]; this
//! file is DuckDB's spelling.

use super::plan::FingerprintStep;
use super::re2::{self, Flavour};
use super::sql::{self, SqlDialect, SqlTarget};
use crate::ir::{TextOp, ValueType};

/// The target id.
pub const ID: &str = "duckdb_sql";

/// DuckDB SQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct DuckdbSql;

impl SqlDialect for DuckdbSql {
    fn target(&self) -> &'static str {
        ID
    }

    fn flavour(&self) -> &'static Flavour {
        &re2::RE2_WIDE
    }

    fn regex_match(&self, value: &str, pattern: &str) -> String {
        format!("regexp_matches({value}, {pattern})")
    }

    fn text_function(&self, op: TextOp, value: &str, needle: &str) -> String {
        let function = match op {
            TextOp::StartsWith => "starts_with",
            TextOp::EndsWith => "ends_with",
            _ => "contains",
        };
        format!("{function}({value}, {needle})")
    }

    /// Standard SQL quoting: DuckDB reads backslashes literally.
    fn string(&self, text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    fn ident(&self, name: &str) -> String {
        sql::plain_or_quoted(name, '"')
    }

    fn float(&self, value: f64) -> String {
        format!("{value:?}::DOUBLE")
    }

    /// `%` truncates towards zero in DuckDB; `fmod` floors, as the evaluator's buckets do.
    fn bucket(&self, time_ms: &str, length_ms: i64) -> String {
        format!("{time_ms} - fmod({time_ms}, {length_ms})::BIGINT")
    }

    fn first_refs(&self, count: usize) -> String {
        format!("list(_ref ORDER BY _order)[1:{count}]")
    }

    fn array_of(&self, value: &str) -> String {
        format!("[{value}]")
    }

    /// `list(DISTINCT x)` skips NULLs and keeps each value once
    /// (<https://docs.aws.amazon.com/athena/latest/ug/duckdb-functions-aggregate-general.md>,
    /// DuckDB's aggregates as Athena documents them); `list_sort` sorts
    /// ascending, text by its bytes
    /// (<https://docs.aws.amazon.com/athena/latest/ug/duckdb-functions-list-sorting-and-reversing.md>).
    /// A group with no value gets NULL, which the runner reads as `[]`.
    fn sorted_distinct(&self, column: &str) -> String {
        format!("list_sort(list(DISTINCT {column}))")
    }

    /// DuckDB's list functions; each word hashed by a list comprehension
    /// (lambdas changed syntax across versions, comprehensions did not).
    /// `md5` hashes a `VARCHAR`'s UTF-8 bytes and returns 32 lowercase hex
    /// digits (<https://docs.aws.amazon.com/athena/latest/ug/duckdb-functions-binary-hashing.md>,
    /// DuckDB's function as Athena documents it); `regexp_extract_all` (RE2)
    /// returns every non-overlapping match, group 0 by default
    /// (<https://duckdb.org/docs/stable/sql/functions/regular_expressions>);
    /// `length` counts code points (checked against DuckDB 2.0: a letter
    /// with a combining accent is 2).
    fn fingerprint_step(&self, step: FingerprintStep, value: &str) -> String {
        match step {
            FingerprintStep::Words { pattern } => {
                format!("regexp_extract_all({value}, {})", self.string(pattern))
            }
            FingerprintStep::HashEach { offset, digits } => {
                format!(
                    "[substr(md5(lower(word)), {}, {digits}) FOR word IN {value}]",
                    offset + 1
                )
            }
            FingerprintStep::Distinct => format!("list_distinct({value})"),
            FingerprintStep::Sort => format!("list_sort({value})"),
            FingerprintStep::First(count) => format!("list_slice({value}, 1, {count})"),
            FingerprintStep::Join { separator } => {
                format!("array_to_string({value}, {})", self.string(separator))
            }
            FingerprintStep::MinLength(_)
            | FingerprintStep::DropEmpty
            | FingerprintStep::Label(_) => value.to_string(),
        }
    }

    /// `regexp_replace` replaces the first match unless given the `g`
    /// option; its rewrite names groups `\0`..`\9` (RE2's rewrite string,
    /// <https://duckdb.org/docs/stable/sql/functions/regular_expressions>).
    fn regex_replace(&self, value: &str, pattern: &str, rewrite: (&str, usize)) -> String {
        let (prefix, group) = rewrite;
        format!(
            "regexp_replace({value}, {pattern}, {}, 'g')",
            self.string(&format!("{prefix}\\{group}"))
        )
    }

    fn expand(&self, values: &[String]) -> String {
        format!("unnest([{}])", values.join(",\n      "))
    }
}

impl SqlTarget for DuckdbSql {
    const PRODUCT: &'static str = "DuckDB SQL over JSON-lines events, with a Python runner";
    const RUNNER: &'static str = include_str!("../../targets/duckdb_sql/run.py");
    const README: &'static str = include_str!("../../targets/duckdb_sql/README.md");

    fn column_type(&self, value_type: ValueType) -> &'static str {
        match value_type {
            ValueType::Int => "BIGINT",
            ValueType::Float => "DOUBLE",
            ValueType::Bool => "BOOLEAN",
            _ => "VARCHAR",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standard SQL literal as DuckDB reads it back: quotes doubled, nothing else special.
    fn read_back(literal: &str) -> Option<String> {
        let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
        let mut out = String::new();
        let mut characters = inner.chars().peekable();
        while let Some(character) = characters.next() {
            if character == '\'' {
                // Inside the literal a quote only ever appears doubled.
                if characters.next() != Some('\'') {
                    return None;
                }
            }
            out.push(character);
        }
        Some(out)
    }

    #[test]
    fn a_hostile_value_stays_one_string_literal() {
        for hostile in [
            "'); DROP TABLE events; --",
            "a''b",
            "back\\slash' OR 1=1 --",
            "line\nbreak",
        ] {
            let literal = DuckdbSql.string(hostile);
            assert_eq!(read_back(&literal).as_deref(), Some(hostile), "{literal}");
        }
    }

    #[test]
    fn names_are_quoted_unless_plain() {
        assert_eq!(DuckdbSql.ident("src_ip"), "src_ip");
        assert_eq!(DuckdbSql.ident("timestamp"), "\"timestamp\"");
        assert_eq!(DuckdbSql.ident("a\"b; --"), "\"a\"\"b; --\"");
    }

    #[test]
    fn buckets_floor_towards_the_epoch_for_earlier_times_too() {
        // `%` truncates in DuckDB; the bucket must floor as the evaluator does.
        assert_eq!(
            DuckdbSql.bucket("_time_ms", 3_600_000),
            "_time_ms - fmod(_time_ms, 3600000)::BIGINT"
        );
    }
}
