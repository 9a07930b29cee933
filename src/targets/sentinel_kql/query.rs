//! The Kusto query of a rule.
//!
//! Input: a rule (match or threshold window), the pack and the field mapping.
//! Output: KQL text over the custom table, or E0402 problems for the
//! constructs with no exact translation. The rule is lowered by the shared
//! [`plan`]; filters (of the source and of each aggregate) are spelled by
//! [`Kusto`] through [`spelling::predicate`]; this module lays out the query:
//! the event-type test, windows, grouping sets, aggregate columns and the
//! alert condition.

use super::quote::pascal_case;
use super::syntax::{self, Kusto, number_or_bool};
use crate::ir::{self, AggregateFunction, Rule, Value};
use crate::targets::plan::{self, Cond, Leaf, Pred, Shape, Source};
use crate::targets::syntax::{self as spelling, Unsupported};
use crate::targets::{Mapping, Problem, duration_text};

/// How long after a window ends its alert is raised: the evaluator's default
/// lateness bound, so that late events still count.
pub const LATENESS_MS: i64 = 5 * 60_000;

/// A compiled query and what its results carry.
#[derive(Debug, Clone)]
pub struct Query {
    /// The KQL text.
    pub text: String,
    /// Group columns of the results (every grouping's), in order.
    pub group_columns: Vec<String>,
    /// Aggregate columns of the results, in order.
    pub value_columns: Vec<String>,
    /// Whether every table column is in the results (match rules).
    pub all_columns: bool,
    /// How far back the query reads, in milliseconds (0: the run interval only).
    pub period_ms: i64,
}

/// The KQL query of a match or threshold rule.
pub fn rule_query(
    rule: &Rule,
    pack: &ir::Pack,
    mapping: &Mapping,
    table: &str,
) -> Result<Query, Vec<Problem>> {
    let plan = plan::plan(rule, pack)?;
    let mut printer = Printer {
        rule,
        schema: &pack.schema,
        mapping,
        problems: Vec::new(),
    };
    let schedule = rule.metadata.schedule_ms;
    let query = match &plan.shape {
        Shape::Match(source) => {
            let condition = printer.source(source);
            Query {
                text: format!("{table}\n| where {condition}"),
                group_columns: Vec::new(),
                value_columns: Vec::new(),
                all_columns: true,
                period_ms: schedule,
            }
        }
        Shape::Window(window) => printer.window(table, window, schedule),
        _ => {
            return Err(vec![Problem::untranslatable(
                rule.origin,
                format!(
                    "a {} rule has no exact Kusto translation in this target",
                    ir::shape_name(&rule.detection)
                ),
            )]);
        }
    };
    if printer.problems.is_empty() {
        Ok(query)
    } else {
        Err(printer.problems)
    }
}

/// An epoch-aligned bin of `TimeGenerated`-like column.
fn epoch_bin(column: &str, window_ms: i64) -> String {
    format!(
        "bin_at({column}, {}, datetime(1970-01-01T00:00:00Z))",
        duration_text(window_ms)
    )
}

struct Printer<'a> {
    rule: &'a Rule,
    schema: &'a ir::Schema,
    mapping: &'a Mapping,
    problems: Vec<Problem>,
}

/// One aggregate column of a window query.
struct AggregateColumn {
    name: String,
    expression: String,
    /// A column counting the values, when the aggregate can have none.
    count_column: Option<(String, String)>,
}

impl Printer<'_> {
    /// Records a refusal at the rule; the query gets `false` in its place.
    fn fail(&mut self, message: impl Into<String>) -> String {
        self.problems
            .push(Problem::untranslatable(self.rule.origin, message.into()));
        "false".to_string()
    }

    fn spelled(&mut self, spelled: Result<String, Unsupported>) -> String {
        spelled.unwrap_or_else(|Unsupported(reason)| self.fail(reason))
    }

    /// A mapped column reference and its Kusto type.
    fn column(&mut self, field: &str) -> (String, String) {
        match syntax::column(self.mapping, field) {
            Ok((column, kind)) => (column, kind.to_string()),
            Err(Unsupported(reason)) => (self.fail(reason), "bool".to_string()),
        }
    }

    fn presence(&mut self, field: &str) -> String {
        let presence = syntax::presence(self.mapping, field);
        self.spelled(presence)
    }

    /// A filter over the events of `source`.
    fn predicate(&mut self, source: &Source, pred: &Pred) -> String {
        let kusto = Kusto {
            mapping: self.mapping,
            schema: self.schema,
            types: &source.event_types,
        };
        spelling::predicate(&kusto, pred, &mut self.problems)
    }

    /// The event-type test and the filter of a source.
    fn source(&mut self, source: &Source) -> String {
        let (event_type, _) = self.column("event_type");
        let types: Vec<String> = source
            .event_types
            .iter()
            .map(|name| syntax::string(name))
            .map(|literal| self.spelled(literal))
            .collect();
        let mut parts = vec![match types.as_slice() {
            [single] => format!("{event_type} == {single}"),
            many => format!("{event_type} in ({})", many.join(", ")),
        }];
        if let Some(filter) = &source.filter {
            let condition = self.predicate(source, filter);
            parts.push(format!("({condition})"));
        }
        parts.join(" and ")
    }

    fn window(&mut self, table: &str, window: &plan::Window, schedule_ms: i64) -> Query {
        let filter = self.source(&window.source);
        let (time, _) = self.column("timestamp");
        let mut aggregates: Vec<AggregateColumn> = Vec::new();
        for aggregate in &window.condition.aggregates {
            let column = self.aggregate(aggregate, &window.source, &aggregates);
            aggregates.push(column);
        }
        let test = match &window.condition.root {
            Some(root) => self.condition(root, &aggregates),
            None => self.fail("the rule has no alert condition"),
        };
        let mut summaries = Vec::new();
        for aggregate in &aggregates {
            summaries.push(format!("{} = {}", aggregate.name, aggregate.expression));
            if let Some((name, expression)) = &aggregate.count_column {
                summaries.push(format!("{name} = {expression}"));
            }
        }
        let window_ms = window.bucket_ms;
        let mut group_columns: Vec<String> = Vec::new();
        let mut branches = Vec::new();
        for grouping in &window.groupings {
            let mut keys = Vec::new();
            let mut present = Vec::new();
            for field in grouping {
                let (column, _) = self.column(field);
                present.push(self.presence(field));
                if !group_columns.contains(&column) {
                    group_columns.push(column.clone());
                }
                keys.push(column);
            }
            keys.push(format!("WindowStart = {}", epoch_bin(&time, window_ms)));
            let mut branch = String::from("Events");
            if !present.is_empty() {
                branch.push_str(&format!("\n    | where {}", present.join(" and ")));
            }
            branch.push_str(&format!(
                "\n    | summarize {} by {}",
                summaries.join(", "),
                keys.join(", ")
            ));
            branches.push(branch);
        }
        let mut text = format!(
            "let Window = {};\nlet ClosedBefore = now() - {};\nlet ClosedAfter = ClosedBefore - {};\nlet Events = {table}\n    | where {filter};\n",
            duration_text(window_ms),
            duration_text(LATENESS_MS),
            duration_text(schedule_ms)
        );
        if branches.len() == 1 {
            text.push_str(&branches[0]);
        } else {
            let inner: Vec<String> = branches
                .iter()
                .map(|branch| format!("({})", branch.replace("\n    ", "\n        ")))
                .collect();
            text.push_str(&format!("union\n    {}", inner.join(",\n    ")));
        }
        text.push_str(
            "\n| extend WindowEnd = WindowStart + Window\n| where WindowEnd > ClosedAfter and WindowEnd <= ClosedBefore",
        );
        text.push_str(&format!("\n| where {test}"));
        let value_columns: Vec<String> = aggregates.iter().map(|a| a.name.clone()).collect();
        let mut projected = vec!["WindowStart".to_string(), "WindowEnd".to_string()];
        projected.extend(group_columns.iter().cloned());
        projected.extend(value_columns.iter().cloned());
        text.push_str(&format!("\n| project {}", projected.join(", ")));
        Query {
            text,
            group_columns,
            value_columns,
            all_columns: false,
            period_ms: window_ms + schedule_ms + LATENESS_MS,
        }
    }

    /// A condition over aggregates: total, like the evaluator's (a
    /// comparison with a side that has no value is false).
    fn condition(&mut self, cond: &Cond, aggregates: &[AggregateColumn]) -> String {
        match cond {
            Cond::Not(operand) => {
                format!("not({})", self.condition(operand, aggregates))
            }
            Cond::And(operands) | Cond::Or(operands) => {
                let joiner = if matches!(cond, Cond::And(_)) {
                    " and "
                } else {
                    " or "
                };
                let parts: Vec<String> = operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, aggregates)))
                    .collect();
                parts.join(joiner)
            }
            Cond::Bool(value) => value.to_string(),
            Cond::Compare(op, left, right) => {
                let mut guards = Vec::new();
                let left = self.operand(left, aggregates, &mut guards);
                let right = self.operand(right, aggregates, &mut guards);
                let comparison = format!("{left} {} {right}", op.symbol());
                if guards.is_empty() {
                    comparison
                } else {
                    format!("{} and {comparison}", guards.join(" and "))
                }
            }
            other => self.fail(format!(
                "a {} in an alert condition has no Kusto translation here",
                cond_name(other)
            )),
        }
    }

    fn operand(
        &mut self,
        cond: &Cond,
        aggregates: &[AggregateColumn],
        guards: &mut Vec<String>,
    ) -> String {
        let value = match cond {
            Cond::Int(value) => Value::Int(*value),
            Cond::Float(value) => Value::Float(*value),
            Cond::Bool(value) => Value::Bool(*value),
            Cond::Leaf(Leaf::Aggregate(index)) if *index < aggregates.len() => {
                let aggregate = &aggregates[*index];
                if let Some((count, _)) = &aggregate.count_column {
                    guards.push(format!("{count} > 0"));
                }
                return aggregate.name.clone();
            }
            Cond::Missing => return self.fail("the compared value is not a number"),
            other => {
                return self.fail(format!(
                    "a {} in an alert condition has no Kusto translation here",
                    cond_name(other)
                ));
            }
        };
        number_or_bool(&value).unwrap_or_else(|| self.fail("the compared value is not a number"))
    }

    /// The column of an aggregate, named after its function and field
    /// (`DistinctUserId`), numbered after the first of a name.
    fn aggregate(
        &mut self,
        aggregate: &plan::Aggregate,
        source: &Source,
        taken: &[AggregateColumn],
    ) -> AggregateColumn {
        let function = aggregate.function;
        let filtered = aggregate.filter.is_some();
        let predicate = match &aggregate.filter {
            Some(filter) => self.predicate(source, filter),
            None => "true".to_string(),
        };
        let base = match &aggregate.field {
            Some(field) => format!("{}{}", capitalised(function.name()), pascal_case(field)),
            None => capitalised(function.name()),
        };
        let mut name = base.clone();
        let mut suffix = 2;
        while taken.iter().any(|column| column.name == name) {
            name = format!("{base}{suffix}");
            suffix += 1;
        }
        let Some(field) = &aggregate.field else {
            return AggregateColumn {
                name,
                expression: if filtered {
                    format!("countif({predicate})")
                } else {
                    "count()".to_string()
                },
                count_column: None,
            };
        };
        let (column, kind) = self.column(field);
        let present = self.presence(field);
        let counted = if filtered {
            format!("{present} and ({predicate})")
        } else {
            present
        };
        let count_column = Some((format!("{name}Values"), format!("countif({counted})")));
        let (expression, count_column) = match function {
            AggregateFunction::Count => (format!("countif({predicate})"), None),
            AggregateFunction::Distinct => (format!("count_distinctif({column}, {counted})"), None),
            AggregateFunction::Sum if kind == "real" || kind == "long" => (
                format!("coalesce(sumif({column}, {counted}), {kind}(0))"),
                None,
            ),
            AggregateFunction::Sum => {
                name = self.fail("`sum` of a field that is not a number");
                (String::new(), None)
            }
            AggregateFunction::Avg => (
                format!("avgif(todouble({column}), {counted})"),
                count_column,
            ),
            AggregateFunction::Min => (format!("minif({column}, {counted})"), count_column),
            AggregateFunction::Max => (format!("maxif({column}, {counted})"), count_column),
        };
        AggregateColumn {
            name,
            expression,
            count_column,
        }
    }
}

/// What a condition node is called in messages.
fn cond_name(cond: &Cond) -> &'static str {
    match cond {
        Cond::Int(_) | Cond::Float(_) | Cond::Bool(_) | Cond::Missing => "literal",
        Cond::Leaf(Leaf::Aggregate(_)) => "aggregate",
        Cond::Leaf(Leaf::Baseline(_)) => "baseline",
        Cond::Leaf(Leaf::Percentile(_)) => "percentile",
        Cond::Arithmetic(..) => "arithmetic",
        Cond::Compare(..) => "comparison",
        Cond::And(_) => "`and`",
        Cond::Or(_) => "`or`",
        Cond::Not(_) => "`not`",
    }
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::check::{CheckOptions, check};
    use crate::source::Sources;
    use crate::syntax::parse;
    use crate::targets::Target;
    use crate::targets::sentinel_kql::{SentinelKql, TABLE};

    const SCHEMA: &str = r#"
common { timestamp: timestamp required, event_type: string required, app: string, src_ip: ip }
event inference { user_input: string, output: string }
event tool_call { tool_name: string }
lookup pairs { file: "../../../rules/lookups/system_prompt_markers.csv", columns: { app: string, marker: string } }
list shapes: regex = [/\b{start}foo/, /ok/, /\pL{2}/]
"#;

    /// The `where` of a match rule whose detection is `detection`, or the problems.
    fn kql(detection: &str) -> Result<String, Vec<String>> {
        let text = format!(
            "{SCHEMA}\nrule t.r {{\n  title: \"T\"\n  description: \"D\"\n  severity: high\n  category: llm_attack\n  {detection}\n}}\n"
        );
        let mut sources = Sources::new();
        let id = sources.add("src/targets/sentinel_kql/inline.tdl", text.clone());
        let (file, diagnostics) = parse(&text, id);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (pack, diagnostics) = check(&sources, &[(id, file)], &CheckOptions::default());
        let pack = pack.unwrap_or_else(|| panic!("{diagnostics:?}"));
        let mapping = SentinelKql.default_mapping(&pack.schema);
        match rule_query(&pack.rules[0], &pack, &mapping, TABLE) {
            Ok(query) => Ok(query.text.replace("LLMAppEvents_CL\n| where ", "")),
            Err(problems) => Err(problems
                .into_iter()
                .map(|problem| problem.message)
                .collect()),
        }
    }

    #[test]
    fn event_type_is_compared_exactly_against_the_source_types() {
        assert_eq!(
            kql(r#"match inference, tool_call where event_type == "inference" or app == "x""#)
                .unwrap(),
            r#"EventType in ("inference", "tool_call") and ((EventType in ("inference")) or (isnotempty(App) and (App matches regex "^(?:[Xx])$")))"#
        );
    }

    #[test]
    fn a_negated_narrowed_lookup_is_false_without_its_key() {
        let text = kql("match inference where output not has_any pairs[app].marker").unwrap();
        assert!(
            text.starts_with(
                r#"EventType == "inference" and (isnotempty(Output) and isnotempty(App) and not((App matches regex"#
            ),
            "{text}"
        );
    }

    #[test]
    fn several_case_sensitive_needles_of_a_row_stay_one_operand() {
        let text = kql("match inference where output has_any_cs pairs[app].marker").unwrap();
        assert!(
            text.contains(r#"(App in ("code-assistant") and (Output contains_cs "#),
            "{text}"
        );
        assert_eq!(text.matches("\n    or (App in (").count(), 3, "{text}");
    }

    #[test]
    fn string_operators_on_ip_fields_are_refused() {
        assert_eq!(
            kql(r#"match inference where src_ip startswith "10.""#).unwrap_err(),
            vec!["a string operator on the ip field `src_ip`"]
        );
    }

    #[test]
    fn every_untranslatable_regex_of_a_list_is_reported() {
        let problems = kql("match inference where output matches_any shapes").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with(r"the regex /\b{start}foo/: "));
        assert!(problems[1].starts_with(r"the regex /\pL{2}/: "));
    }
}
