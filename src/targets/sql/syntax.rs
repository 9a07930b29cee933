//! [`Syntax`] for every SQL dialect: SQL's own operators, the dialect's
//! functions for text and regexes, the shared RE2-family writer for patterns.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::{SqlDialect, symbol};
use crate::ir::{self, CompareOp, TextOp, Value, ValueType};
use crate::targets::Mapping;
use crate::targets::lookup_ref::{self, FOLDED_TO_ASCII, Join, LOWERABLE};
use crate::targets::plan::LookupRef;
use crate::targets::re2;
use crate::targets::syntax::{Spelled, Syntax, Unsupported};

/// A dialect with the mapping of canonical fields to columns.
pub(super) struct SqlSyntax<'d> {
    pub(super) dialect: &'d dyn SqlDialect,
    pub(super) mapping: &'d Mapping,
    /// The fields an `in cidr` test reads the address of: the query reads
    /// the events through [`SqlSyntax::address_steps`], which adds the
    /// columns [`address_column`] names.
    pub(super) addresses: RefCell<Vec<String>>,
    /// The pack's lookups, for membership by reference.
    pub(super) lookups: &'d BTreeMap<String, ir::Lookup>,
    /// The lookups a test reads by reference: the query reads the events
    /// through [`SqlSyntax::lookup_step`], which joins each one.
    pub(super) joins: RefCell<Vec<Join>>,
}

/// The step that joins the lookups read by reference.
const LOOKUP_STEP: &str = "lookups";

/// The column that says whether an event's key is a row of `lookup`.
fn found_column(dialect: &dyn SqlDialect, lookup: &str) -> String {
    dialect.ident(&format!("_{}_found", lookup_ref::shipped_name(lookup)))
}

/// The column of the 32 hex digits of a field's address (`''` when its
/// text is no address); the runner's own columns, which start with `_`,
/// never clash with the events' (see `check_field_name`).
fn address_column(dialect: &dyn SqlDialect, column: &str, suffix: &str) -> String {
    dialect.ident(&format!("_{column}_{suffix}"))
}

impl SqlSyntax<'_> {
    pub(super) fn column(&self, field: &str) -> String {
        let name = self
            .mapping
            .field(field)
            .map_or(field, |target| target.name.as_str());
        self.dialect.ident(name)
    }

    /// The column name of a field, unquoted.
    fn column_name<'a>(&'a self, field: &'a str) -> &'a str {
        self.mapping
            .field(field)
            .map_or(field, |target| target.name.as_str())
    }

    /// The `WITH` items a query reads the events through, and the name of
    /// the last: the computed addresses ([`SqlSyntax::address_steps`]), then
    /// the lookups joined ([`SqlSyntax::lookup_step`]). `None` when the
    /// query needs neither.
    pub(super) fn prepared_steps(&self, table: &str) -> Option<(String, &'static str)> {
        let mut steps = Vec::new();
        let mut reads = table.to_string();
        let mut last = None;
        if let Some(addresses) = self.address_steps(table) {
            steps.push(addresses);
            reads = "addresses".to_string();
            last = Some("addresses");
        }
        if let Some(joined) = self.lookup_step(&reads) {
            steps.push(joined);
            last = Some(LOOKUP_STEP);
        }
        last.map(|last| (steps.join(",\n"), last))
    }

    /// Every lookup read by reference, joined on the key its test builds
    /// from the event: a `LEFT JOIN` on the shipped keys, which are
    /// distinct, so each event stays one row and gains a boolean column
    /// per lookup ([`found_column`]). The runner loads each shipped lookup
    /// as a table of that name (`run.py --lookups DIR`).
    fn lookup_step(&self, table: &str) -> Option<String> {
        let joins = self.joins.borrow();
        if joins.is_empty() {
            return None;
        }
        let dialect = self.dialect;
        let mut found = Vec::new();
        let mut joined = Vec::new();
        for (index, join) in joins.iter().enumerate() {
            let alias = format!("l{}", index + 1);
            let separator = dialect.string(&join.separator.to_string());
            let mut parts = Vec::new();
            for column in &join.fields {
                let mut folded = format!("e.{column}");
                for (from, to) in FOLDED_TO_ASCII {
                    folded = format!(
                        "replace({folded}, {}, {})",
                        dialect.string(&from.to_string()),
                        dialect.string(&to.to_string())
                    );
                }
                parts.push(separator.clone());
                parts.push(format!("lower({folded})"));
            }
            found.push(format!(
                "{alias}.key IS NOT NULL AS {}",
                found_column(dialect, &join.lookup)
            ));
            joined.push(format!(
                "  LEFT JOIN {} AS {alias}\n    ON {alias}.key = concat({})",
                lookup_ref::shipped_name(&join.lookup),
                parts.join(", ")
            ));
        }
        Some(format!(
            "{LOOKUP_STEP} AS (\n  -- whether each event's key is a row of the lookups read by reference (shipped in lookups/)\n  SELECT e.*,\n    {}\n  FROM {table} AS e\n{}\n)",
            found.join(",\n    "),
            joined.join("\n")
        ))
    }

    /// The address of every field an `in cidr` test read, as 32 lower-case
    /// hex digits of its IPv6 form (IPv4 mapped, `::ffff:a.b.c.d`), which
    /// compare as text as the numbers do: three steps over `table`, each a
    /// `WITH` item, the last named `addresses`. `None` without such a test.
    ///
    /// 1. `address_text`: the address the evaluator parses, found by
    ///    [`ir::network::address_text`] (text trimmed of Unicode white
    ///    space, exactly Rust's address syntax), `''` when there is none.
    ///    `regexp_extract` gives `''` when the pattern does not match, in
    ///    DuckDB (<https://duckdb.org/docs/stable/sql/functions/regular_expressions>)
    ///    and in Spark (<https://spark.apache.org/docs/3.4.0/api/python/reference/pyspark.sql/api/pyspark.sql.functions.regexp_extract.html>).
    /// 2. `address_groups`: in lower case, an IPv4 address after `::ffff:`,
    ///    a dotted quad as two groups of hex (`printf('%02x', ...)`, in
    ///    DuckDB and in Spark 3.5,
    ///    <https://spark.apache.org/docs/latest/api/python/reference/pyspark.sql/api/pyspark.sql.functions.printf.html>),
    ///    then every group left-padded to four digits: `000` before each
    ///    group, then of each group's run of zeros only as many kept as
    ///    leave four digits (a group has at most four digits, so it then
    ///    starts with at least three zeros and the greedy `0*` stops right
    ///    where four digits remain).
    /// 3. `addresses`: the groups without `:`, `::` replaced by the zeros
    ///    the groups written do not fill (32 hex digits in all).
    pub(super) fn address_steps(&self, table: &str) -> Option<String> {
        let fields = self.addresses.borrow();
        if fields.is_empty() {
            return None;
        }
        let dialect = self.dialect;
        let flavour = dialect.flavour();
        // The address pattern in the engine's flavour: the writer drops
        // groups, so the pieces around group 1 are translated one by one.
        let address: String = ir::network::address_pieces()
            .iter()
            .enumerate()
            .map(|(index, piece)| {
                if index % 2 == 1 {
                    piece.clone()
                } else {
                    re2::search_regex(flavour, piece, false).unwrap_or_default()
                }
            })
            .collect();
        let address = dialect.string(&address);
        // Small patterns over the found address (ASCII, no line breaks),
        // which read the same in RE2 and Java.
        let quad = dialect.string(r"([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)$");
        let head = dialect.string("^(.*:)");
        let pattern = |regex: &str| dialect.string(regex);
        let mut texts = Vec::new();
        let mut groups = Vec::new();
        let mut hexes = Vec::new();
        for field in fields.iter() {
            let name = self.column_name(field);
            let text = address_column(dialect, name, "text");
            let grouped = address_column(dialect, name, "groups");
            let hex = address_column(dialect, name, "hex");
            texts.push(format!(
                "regexp_extract({}, {address}, 1) AS {text}",
                self.column(field)
            ));
            let octet = |group: usize| {
                format!(
                    "printf('%02x', TRY_CAST(regexp_extract({text}, {quad}, {group}) AS INTEGER))"
                )
            };
            let written = format!(
                "CASE\n      WHEN {text} LIKE '%.%' THEN\n        CASE WHEN {text} LIKE '%:%' THEN lower(regexp_extract({text}, {head}, 1)) ELSE '::ffff:' END\n        || {} || {} || ':' || {} || {}\n      ELSE lower({text})\n    END",
                octet(1),
                octet(2),
                octet(3),
                octet(4)
            );
            let prefixed = dialect.regex_replace(&written, &pattern("[0-9a-f]+"), ("000", 0));
            let padded = dialect.regex_replace(&prefixed, &pattern("0*([0-9a-f]{4})"), ("", 1));
            groups.push(format!("{padded} AS {grouped}"));
            hexes.push(format!(
                "replace(replace({grouped}, '::', repeat('0', 32 - length(replace({grouped}, ':', '')))), ':', '') AS {hex}"
            ));
        }
        let names: Vec<&str> = fields.iter().map(|field| self.column_name(field)).collect();
        let names = names.join(", ");
        Some(format!(
            "address_text AS (\n  -- the address in {names} as tripline reads it (trimmed, IPv4 or IPv6), '' when there is none\n  SELECT *,\n    {}\n  FROM {table}\n),\n\
             address_groups AS (\n  -- in lower case, IPv4 as ::ffff:a.b.c.d, a dotted quad as two hex groups, each group of four digits\n  SELECT *,\n    {}\n  FROM address_text\n),\n\
             addresses AS (\n  -- the IPv6 address as 32 hex digits, `::` filled with zeros ('' when there is no address)\n  SELECT *,\n    {}\n  FROM address_groups\n)",
            texts.join(",\n    "),
            groups.join(",\n    "),
            hexes.join(",\n    "),
        ))
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

    /// The field's address as 32 hex digits ([`SqlSyntax::address_steps`])
    /// between the first and last address of a network, for each network;
    /// a text that is no address has `''`, below every bound, so it is in
    /// no network, and `not in cidr` asks for an address first: false
    /// either way, as in the evaluator.
    fn cidr_total(&self, field: &str, networks: &[String], negated: bool) -> Option<Spelled> {
        let Some(ranges) = ir::network::mapped_ranges(networks) else {
            return Some(Err(Unsupported(
                "a network is not in CIDR notation".to_string(),
            )));
        };
        {
            let mut addresses = self.addresses.borrow_mut();
            if !addresses.iter().any(|known| known == field) {
                addresses.push(field.to_string());
            }
        }
        let hex = address_column(self.dialect, self.column_name(field), "hex");
        let tests: Vec<String> = ranges
            .iter()
            .map(|&(first, last)| {
                let (first, last) = hex_bounds(first, last);
                if first == last {
                    format!("{hex} = '{first}'")
                } else {
                    format!("{hex} BETWEEN '{first}' AND '{last}'")
                }
            })
            .collect();
        let any = match tests.len() {
            0 => self.constant(false),
            1 if !negated => tests.into_iter().next().unwrap_or_default(),
            1 => format!("({})", tests.concat()),
            _ => self.or(tests),
        };
        Some(Ok(if negated {
            format!("({hex} <> '' AND NOT {any})")
        } else {
            any
        }))
    }

    /// A case-insensitive membership test on a lookup with more rows than
    /// the inline limit reads the shipped keys (`lookups/<name>.csv`) by
    /// the column [`SqlSyntax::lookup_step`] adds: the event's values
    /// must fold to ASCII ([`LOWERABLE`]; any other value folds to a key no
    /// shipped row has, as in the evaluator), and their folded key must be
    /// a row. One join per lookup and query; a second test of the lookup on
    /// other fields is inlined.
    fn reference(
        &self,
        fields: &[String],
        rows: &[Vec<String>],
        lookup: &LookupRef,
    ) -> Option<Spelled> {
        let shipped = lookup_ref::read_by_reference(
            self.lookups.get(&lookup.name),
            rows,
            self.mapping.inline_rows(),
            lookup_ref::shipped,
        )?;
        let mut guards = Vec::new();
        let mut columns = Vec::new();
        for field in fields {
            let column = self.column(field);
            guards.push(
                self.dialect
                    .regex_match(&column, &self.dialect.string(LOWERABLE)),
            );
            columns.push(column);
        }
        let join = Join {
            lookup: lookup.name.clone(),
            separator: shipped.separator,
            fields: columns,
        };
        if !lookup_ref::record(&mut self.joins.borrow_mut(), join) {
            return None;
        }
        guards.push(found_column(self.dialect, &lookup.name));
        Some(Ok(format!("({})", guards.join(" AND "))))
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

/// A network's first and last address as the 32 lower-case hex digits
/// [`SqlSyntax::address_steps`] writes addresses in.
pub(super) fn hex_bounds(first: u128, last: u128) -> (String, String) {
    (format!("{first:032x}"), format!("{last:032x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_fixed_width_lower_case_hex() {
        let ranges = ir::network::mapped_ranges(&[
            "10.0.0.0/8".to_string(),
            "fe80::/10".to_string(),
            "::/0".to_string(),
        ])
        .unwrap();
        let bounds: Vec<(String, String)> = ranges
            .iter()
            .map(|&(first, last)| hex_bounds(first, last))
            .collect();
        assert_eq!(
            bounds,
            [
                (
                    "00000000000000000000ffff0a000000".to_string(),
                    "00000000000000000000ffff0affffff".to_string()
                ),
                (
                    "fe800000000000000000000000000000".to_string(),
                    "febfffffffffffffffffffffffffffff".to_string()
                ),
                ("0".repeat(32), "f".repeat(32)),
            ]
        );
        // Text order is number order at a fixed width.
        let mut sorted = bounds.clone();
        sorted.sort();
        assert_eq!(sorted[0].0, "0".repeat(32));
    }
}
