//! The EQL query of a rule: the shape around the filters.
//!
//! Input: a rule (match or sequence), the pack and the field mapping.
//! Output: EQL text, or E0402 problems for the constructs with no exact
//! translation. The rule is lowered by [`plan::plan_and_problems`]; each
//! source becomes `any where` its event-type test, the sequence keys'
//! presence and its filter, spelled by [`Eql`] through
//! [`syntax::predicate`].

use super::quote::eql_string;
use super::syntax::{Eql, junction, reference};
use crate::ir::{self, Detection, Origin, Pack, Rule};
use crate::targets::plan::{self, Shape, Source};
use crate::targets::syntax::{self, Unsupported};
use crate::targets::{Mapping, Problem};

/// The largest `runs` Elasticsearch accepts on a sequence step.
pub const MAX_RUNS: u32 = 100;

/// The EQL query of a match or sequence rule.
pub fn rule_query(rule: &Rule, pack: &Pack, mapping: &Mapping) -> Result<String, Vec<Problem>> {
    let (plan, refused) = plan::plan_and_problems(rule, pack);
    let mut query = Query {
        pack,
        mapping,
        refused,
        problems: Vec::new(),
    };
    let text = match (&plan.shape, &rule.detection) {
        (Shape::Match(source), Detection::Match { source: written }) => {
            let condition = query.source(source, written, &[], rule.origin);
            format!("any where {condition}")
        }
        (
            Shape::Sequence {
                by,
                within_ms,
                steps,
            },
            Detection::Sequence { steps: written, .. },
        ) => {
            let keys: Vec<String> = by.iter().map(|key| query.field(key, rule.origin)).collect();
            let mut text = format!(
                "sequence by {} with maxspan={}",
                keys.join(", "),
                crate::targets::duration_text(*within_ms)
            );
            for ((source, repeat), step) in steps.iter().zip(written) {
                let origin = step
                    .source
                    .filter
                    .as_ref()
                    .map_or(rule.origin, |filter| filter.origin);
                let condition = query.source(source, &step.source, by, origin);
                text.push_str(&format!("\n  [any where {condition}]"));
                if *repeat > MAX_RUNS {
                    query.problems.push(Problem::untranslatable(
                        origin,
                        format!(
                            "`repeat >= {repeat}` exceeds the {MAX_RUNS} runs Elasticsearch allows on a sequence step"
                        ),
                    ));
                } else if *repeat > 1 {
                    text.push_str(&format!(" with runs={repeat}"));
                }
            }
            text
        }
        (_, other) => {
            query.problems.push(Problem::untranslatable(
                rule.origin,
                format!("a {} rule is not an EQL query", ir::shape_name(other)),
            ));
            String::new()
        }
    };
    query.problems.append(&mut query.refused);
    if query.problems.is_empty() {
        Ok(text)
    } else {
        Err(query.problems)
    }
}

struct Query<'a> {
    pack: &'a Pack,
    mapping: &'a Mapping,
    /// The plan's refusals not yet reported with a source.
    refused: Vec<Problem>,
    problems: Vec<Problem>,
}

impl Query<'_> {
    /// A mapped field reference.
    fn field(&mut self, canonical: &str, origin: Origin) -> String {
        reference(self.mapping, canonical).unwrap_or_else(|Unsupported(reason)| {
            self.problems.push(Problem::untranslatable(origin, reason));
            "false".to_string()
        })
    }

    /// The event-type test, the keys' presence and the filter of a source;
    /// its problems (the plan's within `written`'s filter too) in the order
    /// of the rule text.
    fn source(
        &mut self,
        source: &Source,
        written: &ir::Source,
        keys: &[String],
        origin: Origin,
    ) -> String {
        let first = self.problems.len();
        let event_type = self.field("event_type", origin);
        let mut parts = vec![match source.event_types.as_slice() {
            [single] => format!("{event_type} == {}", eql_string(single)),
            many => format!(
                "{event_type} in ({})",
                many.iter()
                    .map(|name| eql_string(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }];
        // The evaluator ignores events without a key; so must the sequence.
        for key in keys {
            let key = self.field(key, origin);
            parts.push(format!("{key} != null"));
        }
        if let Some(filter) = &source.filter {
            let eql = Eql {
                pack: self.pack,
                mapping: self.mapping,
                types: &source.event_types,
            };
            let condition = syntax::predicate(&eql, filter, &mut self.problems);
            parts.push(if junction(filter) == Some(false) {
                format!("({condition})")
            } else {
                condition
            });
        }
        if let Some(filter) = &written.filter {
            let within = |problem: &Problem| {
                (filter.origin.start..=filter.origin.end).contains(&problem.origin.start)
            };
            let (mine, others) = std::mem::take(&mut self.refused)
                .into_iter()
                .partition(within);
            self.refused = others;
            self.problems.extend(mine);
            self.problems[first..].sort_by_key(|problem| problem.origin.start);
        }
        parts.join(" and ")
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
    use crate::targets::elastic_eql::ElasticEql;

    const SCHEMA: &str = r#"
common { timestamp: timestamp required, event_type: string required, session_id: string, app: string, src_ip: ip, api_key_id: string }
event inference { user_input: string, output: string, output_tokens: int }
event tool_call { tool_name: string, target_domain: string }
event auth { outcome: string one_of ["success", "failure"] }
lookup pairs { file: "../../../rules/lookups/system_prompt_markers.csv", columns: { app: string, marker: string } }
list boundaries: regex = [/a\bb/, /ok/, /x$y/]
"#;

    /// The EQL of a rule whose detection is `detection`, or the problems.
    fn eql(detection: &str) -> Result<String, Vec<String>> {
        let text = format!(
            "{SCHEMA}\nrule t.r {{\n  title: \"T\"\n  description: \"D\"\n  severity: high\n  category: llm_attack\n  {detection}\n}}\n"
        );
        let mut sources = Sources::new();
        let id = sources.add("src/targets/elastic_eql/inline.tdl", text.clone());
        let (file, diagnostics) = parse(&text, id);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (pack, diagnostics) = check(&sources, &[(id, file)], &CheckOptions::default());
        let pack = pack.unwrap_or_else(|| panic!("{diagnostics:?}"));
        let mapping = ElasticEql.default_mapping(&pack.schema);
        rule_query(&pack.rules[0], &pack, &mapping).map_err(|problems| {
            problems
                .into_iter()
                .map(|problem| problem.message)
                .collect()
        })
    }

    #[test]
    fn case_insensitive_equality_uses_in_tilde() {
        assert_eq!(
            eql(r#"match tool_call where tool_name in ["http_get", "HTTP_PUT"]"#).unwrap(),
            r#"any where tripline.event_type == "tool_call" and gen_ai.tool.name in~ ("HTTP_PUT", "http_get")"#
        );
    }

    #[test]
    fn case_sensitive_equality_uses_in() {
        assert_eq!(
            eql(r#"match tool_call where tool_name in_cs ["a"]"#).unwrap(),
            r#"any where tripline.event_type == "tool_call" and gen_ai.tool.name in ("a")"#
        );
    }

    #[test]
    fn contains_folds_whitespace_and_case_through_a_regex() {
        assert_eq!(
            eql(r#"match inference where user_input contains "print your""#).unwrap(),
            "any where tripline.event_type == \"inference\" and tripline.user_input regex~ (\".*print[\\t-\\r\\\\ ]+your.*\")"
        );
    }

    #[test]
    fn case_insensitive_tests_use_the_operators_with_a_tilde() {
        // ASCII needles without `k` or `s`: a wildcard, folded alike by every
        // Elasticsearch version.
        assert_eq!(
            eql(r#"match tool_call where tool_name contains "http_get""#).unwrap(),
            r#"any where tripline.event_type == "tool_call" and gen_ai.tool.name like~ ("*http_get*")"#
        );
        // `k` and `s`: `regex~` with the Kelvin sign and the long s beside them.
        assert_eq!(
            eql(r#"match tool_call where tool_name startswith "list_dir""#).unwrap(),
            r#"any where tripline.event_type == "tool_call" and gen_ai.tool.name regex~ ("li(s|\u{17F})t\\_dir.*")"#
        );
        // A dotless i folds differently across versions: explicit classes.
        assert_eq!(
            eql("match tool_call where tool_name contains \"\u{131}d\"").unwrap(),
            "any where tripline.event_type == \"tool_call\" and gen_ai.tool.name regex (\".*\u{131}[Dd].*\")"
        );
        // A case-insensitive regex: letters as letters, classes whole.
        assert_eq!(
            eql(r#"match inference where output matches /key\W+[a-c]/i"#).unwrap(),
            r#"any where tripline.event_type == "inference" and tripline.output regex~ (".*(k|\u{212A})ey[^0-9A-Z\\_a-z\u{17F}\u{212A}]+(a|b|c).*")"#
        );
        // A word boundary spelled out is not closed under folding: classes.
        assert_eq!(
            eql(r#"match inference where output matches /\bab/i"#).unwrap(),
            r#"any where tripline.event_type == "inference" and tripline.output regex ("(.*[^0-9A-Z_a-z])?[Aa][Bb].*")"#
        );
    }

    #[test]
    fn a_negated_operator_is_false_on_a_missing_field() {
        assert_eq!(
            eql(r#"match tool_call where target_domain not in ["a"]"#).unwrap(),
            r#"any where tripline.event_type == "tool_call" and (destination.domain != null and not (destination.domain in~ ("a")))"#
        );
    }

    #[test]
    fn not_of_a_test_is_true_on_a_missing_field() {
        assert_eq!(
            eql(r#"match inference where not (output_tokens > 5)"#).unwrap(),
            r#"any where tripline.event_type == "inference" and not (gen_ai.usage.output_tokens != null and gen_ai.usage.output_tokens > 5)"#
        );
    }

    #[test]
    fn a_narrowed_lookup_becomes_an_or_over_its_keys() {
        let query = eql(r#"match inference where output has_any_cs pairs[app].marker"#).unwrap();
        assert!(query.contains(r#"(service.name in ("support-bot") and tripline.output regex ("#));
        assert_eq!(query.matches("service.name in (").count(), 4);
    }

    #[test]
    fn cidr_on_an_ip_field_uses_cidr_match() {
        assert_eq!(
            eql(r#"match inference where src_ip in cidr("10.0.0.0/8")"#).unwrap(),
            r#"any where tripline.event_type == "inference" and cidrMatch(source.ip, "10.0.0.0/8")"#
        );
    }

    #[test]
    fn a_word_boundary_inside_a_regex_is_refused_and_at_its_ends_spelled_out() {
        let problems = eql(r#"match inference where output matches /a\bb/"#).unwrap_err();
        assert!(problems[0].contains("word boundary"), "{problems:?}");
        assert_eq!(
            eql(r#"match inference where output matches /\bAKIA/"#).unwrap(),
            r#"any where tripline.event_type == "inference" and tripline.output regex ("(.*[^0-9A-Z_a-z])?AKIA.*")"#
        );
    }

    #[test]
    fn a_sequence_keeps_keys_present_and_repeats_with_runs() {
        assert_eq!(
            eql("sequence by api_key_id within 10m {\n auth where outcome == \"failure\" repeat >= 3;\n auth where outcome == \"success\";\n }").unwrap(),
            "sequence by tripline.api_key_id with maxspan=10m\n  [any where tripline.event_type == \"auth\" and tripline.api_key_id != null and event.outcome in~ (\"failure\")] with runs=3\n  [any where tripline.event_type == \"auth\" and tripline.api_key_id != null and event.outcome regex~ (\"(s|\\u{17F})ucce(s|\\u{17F})(s|\\u{17F})\")]"
        );
    }

    #[test]
    fn a_negated_narrowed_lookup_is_false_without_its_keys() {
        let query =
            eql(r#"match inference where output not has_any_cs pairs[app].marker"#).unwrap();
        assert!(
            query.starts_with(r#"any where tripline.event_type == "inference" and (tripline.output != null and service.name != null and not ((service.name in ("#),
            "{query}"
        );
    }

    #[test]
    fn event_type_is_compared_exactly_and_needs_no_presence_test() {
        assert_eq!(
            eql(r#"match inference, tool_call where not (event_type in ["inference"])"#).unwrap(),
            r#"any where tripline.event_type in ("inference", "tool_call") and not (tripline.event_type in ("inference"))"#
        );
    }

    #[test]
    fn and_and_or_are_parenthesised_by_precedence() {
        assert_eq!(
            eql("match inference where output_tokens > 1 and (output_tokens < 5 or output_tokens == 9) and output_tokens != 3").unwrap(),
            "any where tripline.event_type == \"inference\" and gen_ai.usage.output_tokens > 1 and (gen_ai.usage.output_tokens < 5 or gen_ai.usage.output_tokens == 9) and gen_ai.usage.output_tokens != 3"
        );
        assert_eq!(
            eql(
                "match inference where output_tokens > 1 or output_tokens < 5 and output_tokens > 2"
            )
            .unwrap(),
            "any where tripline.event_type == \"inference\" and (gen_ai.usage.output_tokens > 1 or (gen_ai.usage.output_tokens < 5 and gen_ai.usage.output_tokens > 2))"
        );
    }

    #[test]
    fn every_refused_pattern_of_a_list_is_reported() {
        let problems = eql("match inference where output matches_any boundaries").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains(r"/a\bb/"), "{problems:?}");
        assert!(problems[1].contains("/x$y/"), "{problems:?}");
    }

    #[test]
    fn a_hostile_value_cannot_change_the_query_shape() {
        let query = eql(r#"match tool_call where tool_name == "a\" or true or \"""#).unwrap();
        assert_eq!(
            query,
            r#"any where tripline.event_type == "tool_call" and gen_ai.tool.name in~ ("a\" or true or \"")"#
        );
    }
}
