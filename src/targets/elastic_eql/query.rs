//! The EQL query of a rule.
//!
//! Input: a rule (match or sequence), the pack and the field mapping.
//! Output: EQL text, or E0402 problems for the constructs with no exact
//! translation. Every atomic test is made total: a negated operator is
//! guarded with `field != null` (the language makes it false on a missing
//! field), and a test under `not` is guarded too, so that `not` of a test
//! on a missing field is true in Elasticsearch's two-valued filters and in
//! EQL's three-valued `null` logic alike.

use super::quote::{
    eql_string, field_reference, needle_regex, plain_case_insensitive, search_regex,
};
use crate::ir::{
    self, CompareOp, Detection, Expr, ExprKind, Origin, Pack, RegexSet, Rule, Source, StringSet,
    TextOp, Value, ValueType,
};
use crate::targets::lower::{self, Lowerer, scalar_text};
use crate::targets::{Mapping, Problem};

/// The most lookup rows inlined into one query.
pub const MAX_INLINED_ROWS: usize = 500;

/// The largest `runs` Elasticsearch accepts on a sequence step.
pub const MAX_RUNS: u32 = 100;

/// The EQL query of a match or sequence rule.
pub fn rule_query(rule: &Rule, pack: &Pack, mapping: &Mapping) -> Result<String, Vec<Problem>> {
    let mut translator = Translator {
        pack,
        mapping,
        problems: Vec::new(),
    };
    let query = match &rule.detection {
        Detection::Match { source } => {
            let condition = translator.source(source, &[], rule.origin);
            format!("any where {condition}")
        }
        Detection::Sequence {
            by,
            within_ms,
            steps,
        } => {
            let keys: Vec<String> = by
                .iter()
                .map(|key| translator.field(key, rule.origin))
                .collect();
            let mut text = format!(
                "sequence by {} with maxspan={}",
                keys.join(", "),
                crate::targets::duration_text(*within_ms)
            );
            for step in steps {
                let origin = step
                    .source
                    .filter
                    .as_ref()
                    .map_or(rule.origin, |filter| filter.origin);
                let condition = translator.source(&step.source, by, origin);
                text.push_str(&format!("\n  [any where {condition}]"));
                if step.repeat > MAX_RUNS {
                    translator.problems.push(Problem::untranslatable(
                        origin,
                        format!(
                            "`repeat >= {}` exceeds the {MAX_RUNS} runs Elasticsearch allows on a sequence step",
                            step.repeat
                        ),
                    ));
                } else if step.repeat > 1 {
                    text.push_str(&format!(" with runs={}", step.repeat));
                }
            }
            text
        }
        other => {
            translator.problems.push(Problem::untranslatable(
                rule.origin,
                format!("a {} rule is not an EQL query", ir::shape_name(other)),
            ));
            String::new()
        }
    };
    if translator.problems.is_empty() {
        Ok(query)
    } else {
        Err(translator.problems)
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
    "the lookup `{lookup}` has {rows} rows; the EQL target inlines at most {max} rows into a query"
);

impl<'a> Translator<'a> {
    /// A mapped field reference.
    fn field(&mut self, canonical: &str, origin: Origin) -> String {
        match self.mapping.field(canonical) {
            Some(field) => field_reference(&field.name),
            None => self.fail(
                origin,
                format!("the field `{canonical}` has no mapping for this target"),
            ),
        }
    }

    /// The event-type test, the keys' presence and the filter of a source.
    fn source(&mut self, source: &Source, keys: &[String], origin: Origin) -> String {
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
            let condition = self.expr(filter, false);
            parts.push(parenthesise(filter, condition));
        }
        parts.join(" and ")
    }

    /// An expression; `under_not` when a `not` encloses it.
    fn expr(&mut self, expr: &Expr, under_not: bool) -> String {
        match &expr.kind {
            ExprKind::Literal {
                value: Value::Bool(value),
            } => value.to_string(),
            ExprKind::Not { operand } => {
                let inner = self.expr(operand, true);
                format!("not {}", wrap(operand, inner))
            }
            ExprKind::And { operands } | ExprKind::Or { operands } => {
                let joiner = if matches!(expr.kind, ExprKind::And { .. }) {
                    " and "
                } else {
                    " or "
                };
                operands
                    .iter()
                    .map(|operand| {
                        let text = self.expr(operand, under_not);
                        parenthesise_in(expr, operand, text)
                    })
                    .collect::<Vec<_>>()
                    .join(joiner)
            }
            ExprKind::Exists { field } => {
                let field = self.field(field, expr.origin);
                format!("{field} != null")
            }
            ExprKind::Compare { op, left, right } => {
                self.compare(expr, *op, left, right, under_not)
            }
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
                            "a string operator on the {} field `{canonical}` has no EQL equivalent",
                            subject.value_type.name()
                        ),
                    );
                }
                let body = match needles {
                    StringSet::NarrowedLookup {
                        lookup,
                        keys,
                        column,
                    } => self.narrowed(
                        expr.origin,
                        &field,
                        *op,
                        *case_sensitive,
                        *fold_whitespace,
                        lookup,
                        keys,
                        column,
                    ),
                    other => {
                        let values = self.needles(other, expr.origin);
                        self.text_test(
                            expr.origin,
                            &field,
                            *op,
                            *case_sensitive,
                            *fold_whitespace,
                            &values,
                        )
                    }
                };
                let mut guarded = vec![field];
                if let StringSet::NarrowedLookup { keys, .. } = needles {
                    for (_, key) in keys {
                        guarded.push(self.field(key, expr.origin));
                    }
                }
                guard(&guarded, body, *negated, under_not)
            }
            ExprKind::Matches {
                negated,
                subject,
                patterns,
            } => {
                let Some((_, field)) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                let regexes: Vec<ir::Regex> = match patterns {
                    RegexSet::Literal(regex) => vec![regex.clone()],
                    RegexSet::List(name) => self
                        .pack
                        .lists
                        .get(name)
                        .map(|list| {
                            list.values
                                .iter()
                                .filter_map(|value| match value {
                                    Value::Regex(regex) => Some(regex.clone()),
                                    Value::String(text) => Some(ir::Regex {
                                        pattern: text.clone(),
                                        case_insensitive: false,
                                    }),
                                    _ => None,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                let mut translated = Vec::new();
                for regex in &regexes {
                    match search_regex(&regex.pattern, regex.case_insensitive) {
                        Ok(text) => translated.push(eql_string(&text)),
                        Err(reason) => {
                            self.fail(
                                expr.origin,
                                format!("the regex /{}/: {reason}", regex.pattern),
                            );
                        }
                    }
                }
                let body = if translated.is_empty() {
                    "false".to_string()
                } else {
                    format!("{field} regex ({})", translated.join(", "))
                };
                guard(&[field], body, *negated, under_not)
            }
            ExprKind::InValues {
                negated,
                subject,
                values,
            } => {
                let Some((_, field)) = self.subject(subject, expr.origin) else {
                    return "false".to_string();
                };
                let Some(items) = values
                    .iter()
                    .map(lower::decimal_number_or_bool)
                    .collect::<Option<Vec<String>>>()
                else {
                    return self.fail(expr.origin, "a membership value is not a number or boolean");
                };
                let body = if items.is_empty() {
                    "false".to_string()
                } else {
                    format!("{field} in ({})", items.join(", "))
                };
                guard(&[field], body, *negated, under_not)
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
                            "`{canonical}` is a {} field: EQL's cidrMatch needs an `ip` field, and matching every textual form of IPv6 addresses with a regex is not exact",
                            subject.value_type.name()
                        ),
                    );
                }
                let networks: Vec<String> =
                    networks.iter().map(|network| eql_string(network)).collect();
                let body = format!("cidrMatch({field}, {})", networks.join(", "));
                guard(&[field], body, *negated, under_not)
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
                guard(&fields, body, *negated, under_not)
            }
            other => self.fail(
                expr.origin,
                format!(
                    "a {} expression has no EQL translation here",
                    node_name(other)
                ),
            ),
        }
    }

    /// The subject of an operator: a field, mapped.
    fn subject(&mut self, subject: &Expr, origin: Origin) -> Option<(String, String)> {
        match &subject.kind {
            ExprKind::Field { name } => {
                let field = self.field(name, origin);
                Some((name.clone(), field))
            }
            _ => {
                self.fail(origin, "an operator on a computed value has no EQL translation; only fields are tested");
                None
            }
        }
    }

    fn compare(
        &mut self,
        expr: &Expr,
        op: CompareOp,
        left: &Expr,
        right: &Expr,
        under_not: bool,
    ) -> String {
        let comparison =
            match lower::typed_comparison(op, left, right, "EQL", lower::decimal_number_or_bool) {
                Ok(comparison) => comparison,
                Err(refusal) => return self.fail(expr.origin, refusal),
            };
        let Some((_, field)) = self.subject(comparison.field, expr.origin) else {
            return Self::FALSE.to_string();
        };
        let (symbol, value) = (comparison.op.symbol(), comparison.value);
        guard(
            std::slice::from_ref(&field),
            format!("{field} {symbol} {value}"),
            false,
            under_not,
        )
    }

    /// `field OP any needle`.
    fn text_test(
        &mut self,
        origin: Origin,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> String {
        let mut needles: Vec<&String> = needles.iter().collect();
        needles.sort();
        needles.dedup();
        if needles.is_empty() {
            return "false".to_string();
        }
        let mut plain = Vec::new();
        let mut regexes = Vec::new();
        for needle in needles {
            let exact_equality = op == TextOp::Equals && !fold_whitespace;
            if exact_equality && (case_sensitive || plain_case_insensitive(needle)) {
                plain.push(eql_string(needle));
                continue;
            }
            match needle_regex(needle, op, case_sensitive, fold_whitespace) {
                Ok(regex) => regexes.push(eql_string(&regex)),
                Err(reason) => {
                    self.fail(origin, reason);
                }
            }
        }
        let mut tests = Vec::new();
        if !plain.is_empty() {
            let operator = if case_sensitive { "in" } else { "in~" };
            tests.push(format!("{field} {operator} ({})", plain.join(", ")));
        }
        if !regexes.is_empty() {
            tests.push(format!("{field} regex ({})", regexes.join(", ")));
        }
        match tests.len() {
            1 => tests.remove(0),
            _ => format!("({})", tests.join(" or ")),
        }
    }

    /// `field OP any needle of the rows whose key columns equal the event's key fields`.
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
        // Group the needles by the key cells, in the key's comparison form.
        let key_indexes: Vec<usize> = key_columns.iter().map(|(index, _)| *index).collect();
        let groups = lower::needles_by_key(
            table,
            needle_index,
            &key_indexes,
            case_sensitive,
            scalar_text,
        );
        if groups.is_empty() {
            return "false".to_string();
        }
        let mut alternatives = Vec::new();
        for (cells, needles) in groups {
            let mut parts = Vec::new();
            for ((_, key_field), cell) in key_columns.iter().zip(&cells) {
                parts.push(self.text_test(
                    origin,
                    key_field,
                    TextOp::Equals,
                    case_sensitive,
                    false,
                    std::slice::from_ref(cell),
                ));
            }
            parts.push(self.text_test(
                origin,
                field,
                op,
                case_sensitive,
                fold_whitespace,
                &needles,
            ));
            alternatives.push(format!("({})", parts.join(" and ")));
        }
        if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            format!("({})", alternatives.join(" or "))
        }
    }

    /// `(f1, f2) in L.(c1, c2)`: an OR over the rows, grouped by the first cell.
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
        let groups = lower::rows_by_first_cell(table, &indexes, case_sensitive, scalar_text);
        if groups.is_empty() {
            return Self::FALSE.to_string();
        }
        let mut alternatives = Vec::new();
        for (first, rests) in groups {
            let mut parts = vec![self.text_test(
                origin,
                &fields[0],
                TextOp::Equals,
                case_sensitive,
                false,
                &[first],
            )];
            if fields.len() == 2 {
                let seconds: Vec<String> = rests
                    .into_iter()
                    .filter_map(|rest| rest.into_iter().next())
                    .collect();
                parts.push(self.text_test(
                    origin,
                    &fields[1],
                    TextOp::Equals,
                    case_sensitive,
                    false,
                    &seconds,
                ));
            } else if fields.len() > 2 {
                let mut rows = Vec::new();
                for rest in rests {
                    let tests: Vec<String> = fields[1..]
                        .iter()
                        .zip(&rest)
                        .map(|(field, cell)| {
                            self.text_test(
                                origin,
                                field,
                                TextOp::Equals,
                                case_sensitive,
                                false,
                                std::slice::from_ref(cell),
                            )
                        })
                        .collect();
                    rows.push(format!("({})", tests.join(" and ")));
                }
                parts.push(format!("({})", rows.join(" or ")));
            }
            alternatives.push(format!("({})", parts.join(" and ")));
        }
        if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            format!("({})", alternatives.join(" or "))
        }
    }
}

/// Makes an atomic test total: a negated operator is false on a missing
/// field, and a test under `not` must be false (not null) there.
fn guard(fields: &[String], body: String, negated: bool, under_not: bool) -> String {
    let presence: Vec<String> = fields
        .iter()
        .map(|field| format!("{field} != null"))
        .collect();
    if negated {
        format!("({} and not {})", presence.join(" and "), wrap_text(&body))
    } else if under_not {
        format!("({} and {body})", presence.join(" and "))
    } else {
        body
    }
}

fn wrap_text(body: &str) -> String {
    if body.starts_with('(') && body.ends_with(')') && balanced_outer(body) {
        body.to_string()
    } else {
        format!("({body})")
    }
}

/// Whether the first `(` closes at the last character (ignoring strings).
fn balanced_outer(text: &str) -> bool {
    let mut depth = 0_i32;
    let mut in_string = false;
    let mut escaped = false;
    let characters: Vec<char> = text.chars().collect();
    for (index, character) in characters.iter().enumerate() {
        if in_string {
            match (escaped, character) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match character {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && index + 1 != characters.len() {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

fn wrap(operand: &Expr, text: String) -> String {
    match operand.kind {
        ExprKind::And { .. } | ExprKind::Or { .. } => format!("({text})"),
        _ => wrap_text(&text),
    }
}

fn parenthesise(expr: &Expr, text: String) -> String {
    match expr.kind {
        ExprKind::Or { .. } => format!("({text})"),
        _ => text,
    }
}

fn parenthesise_in(parent: &Expr, child: &Expr, text: String) -> String {
    match (&parent.kind, &child.kind) {
        (ExprKind::And { .. }, ExprKind::Or { .. })
        | (ExprKind::Or { .. }, ExprKind::And { .. }) => {
            format!("({text})")
        }
        _ => text,
    }
}

fn node_name(kind: &ExprKind) -> &'static str {
    match kind {
        ExprKind::Literal { .. } => "literal",
        ExprKind::Field { .. } => "bare field",
        ExprKind::Param { .. } => "parameter",
        ExprKind::Arithmetic { .. } => "arithmetic",
        ExprKind::Aggregate { .. } => "aggregate",
        ExprKind::Baseline { .. } => "baseline",
        ExprKind::Percentile { .. } => "percentile",
        _ => "logical",
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
            eql(r#"match tool_call where tool_name in ["http_get", "HTTP_POST"]"#).unwrap(),
            r#"any where tripline.event_type == "tool_call" and gen_ai.tool.name in~ ("HTTP_POST", "http_get")"#
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
            "any where tripline.event_type == \"inference\" and tripline.user_input regex (\".*[Pp][Rr][Ii][Nn][Tt][\\t-\\r\\\\ ]+[Yy][Oo][Uu][Rr].*\")"
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
    fn cidr_on_an_ip_field_uses_cidr_match_and_elsewhere_is_refused() {
        assert_eq!(
            eql(r#"match inference where src_ip in cidr("10.0.0.0/8")"#).unwrap(),
            r#"any where tripline.event_type == "inference" and cidrMatch(source.ip, "10.0.0.0/8")"#
        );
        let problems =
            eql(r#"match tool_call where target_domain in cidr("10.0.0.0/8")"#).unwrap_err();
        assert!(problems[0].contains("cidrMatch needs an `ip` field"));
    }

    #[test]
    fn a_word_boundary_regex_is_refused() {
        let problems = eql(r#"match inference where output matches /\bAKIA/"#).unwrap_err();
        assert!(problems[0].contains("word boundary"), "{problems:?}");
    }

    #[test]
    fn a_sequence_keeps_keys_present_and_repeats_with_runs() {
        assert_eq!(
            eql("sequence by api_key_id within 10m {\n auth where outcome == \"failure\" repeat >= 3;\n auth where outcome == \"success\";\n }").unwrap(),
            "sequence by tripline.api_key_id with maxspan=10m\n  [any where tripline.event_type == \"auth\" and tripline.api_key_id != null and event.outcome in~ (\"failure\")] with runs=3\n  [any where tripline.event_type == \"auth\" and tripline.api_key_id != null and event.outcome in~ (\"success\")]"
        );
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
