//! Rewrites pest's errors into diagnostics that say, in words, what the
//! grammar allows at the failing place, with hints for common mistakes.

use std::collections::BTreeSet;

use pest::error::{Error, ErrorVariant, InputLocation};

use super::Rule;
use crate::diagnostics::suggest::did_you_mean;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{SourceId, Span};

/// Words that start a declaration or name a part of one; with
/// [`super::OPERATOR_WORDS`] they are the language's keywords.
const DECLARATION_WORDS: &[&str] = &[
    "rule",
    "event",
    "list",
    "lookup",
    "param",
    "common",
    "playbook",
    "cidr",
    "required",
    "file",
    "columns",
    "dashboard",
    "panel",
    "alerts",
    "bin",
];

/// Whether a word is a keyword of the language.
fn is_keyword(word: &str) -> bool {
    keywords().any(|keyword| keyword == word)
}

/// Every keyword, for did-you-mean on a misspelled one.
fn keywords() -> impl Iterator<Item = &'static str> {
    super::OPERATOR_WORDS
        .iter()
        .chain(DECLARATION_WORDS)
        .copied()
}

/// The human name of a grammar rule, as used in "expected ..." messages.
pub(crate) fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::ident | Rule::word => "a name",
        Rule::rule_id => "a rule id such as `llm.prompt_extraction.repeated`",
        Rule::string | Rule::plain_string | Rule::triple_string => "a string in double quotes",
        Rule::duration => "a duration such as `10m` (units: ms, s, m, h, d, w)",
        Rule::integer => "an integer",
        Rule::float => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::regex => "a regex such as `/AKIA[0-9A-Z]{16}/`",
        Rule::near => "`near(/first/, /second/, N)`",
        Rule::case_insensitive => "`case_insensitive`",
        Rule::atlas_id => "an ATLAS id such as `AML.T0051`",
        Rule::type_name => {
            "a type (`string`, `int`, `float`, `bool`, `ip`, `timestamp`, `duration` or `regex`)"
        }
        Rule::common_decl
        | Rule::event_decl
        | Rule::list_decl
        | Rule::lookup_decl
        | Rule::param_decl
        | Rule::playbook_decl
        | Rule::rule_decl
        | Rule::dashboard_decl => {
            "a declaration (`rule`, `event`, `common`, `list`, `lookup`, `param`, `playbook` or `dashboard`)"
        }
        Rule::panel_decl | Rule::panel_kw => "a panel (`panel ID { ... }`)",
        Rule::events_query | Rule::alerts_query | Rule::panel_match => {
            "a panel query (`match EVENT ... show ...` or `show alerts by rule`)"
        }
        Rule::panel_group => "a grouping (`group by KEYS`)",
        Rule::bin_key => "a range key (`bin(FIELD, SIZE)`)",
        Rule::every_clause | Rule::every_kw => "time buckets (`every DURATION`)",
        Rule::show_clause | Rule::show_kw => "the measures (`show EXPR [as NAME], ...`)",
        Rule::measure => "a measure (`EXPR [as NAME]`)",
        Rule::as_kw => "a measure name (`as NAME`)",
        Rule::top_clause | Rule::top_kw => "a limit (`top N`)",
        Rule::alerts_kw => "the word `alerts`",
        Rule::rule_kw => "the word `rule`",
        Rule::field_decl => "a field declaration such as `user_input: string`",
        Rule::metadata => "a metadata entry such as `severity: high`",
        Rule::metadata_list => "a list in brackets",
        Rule::match_detection | Rule::match_clause | Rule::sequence_detection => {
            "a detection (`match EVENT where ...` or `sequence by KEY within DURATION { ... }`)"
        }
        Rule::group_clause => "`group by FIELDS within DURATION` or `within DURATION`",
        Rule::new_clause => "`new FIELD for KEY lookback DURATION`",
        Rule::cluster_clause => "`cluster FIELD similarity >= X within DURATION`",
        Rule::alert_clause => "`alert when CONDITION`",
        Rule::context_clause => "`context FIELD, ...`",
        Rule::event_types => "an event type",
        Rule::field_list | Rule::paren_fields => "a field name",
        Rule::step => "a sequence step (`EVENT where ...`)",
        Rule::repeat => "`repeat >= N`",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::unary
        | Rule::predicate
        | Rule::additive
        | Rule::multiplicative
        | Rule::call
        | Rule::tuple => "an expression",
        Rule::or_op | Rule::and_op => "`and` or `or`",
        Rule::compare_op | Rule::compare_tail => {
            "a comparison operator (`==`, `!=`, `<`, `<=`, `>`, `>=`)"
        }
        Rule::in_op | Rule::in_tail => "`in`",
        Rule::text_op | Rule::text_tail => {
            "a string operator (`contains`, `has_any`, `startswith`, ...)"
        }
        Rule::matches_op | Rule::matches_tail => "`matches` or `matches_any`",
        Rule::list_literal => "a list such as `[\"a\", \"b\"]`",
        Rule::needle_source | Rule::lookup_columns_ref => "a list or lookup name",
        Rule::cidr_call => "`cidr(\"10.0.0.0/8\")`",
        Rule::lookup_file => "`file: \"path.csv\"`",
        Rule::lookup_columns => "`columns: { ... }`",
        Rule::EOI => "the end of the file",
        _ => return None,
    })
}

/// Converts a pest error into a diagnostic.
pub(super) fn rewrite(error: &Error<Rule>, text: &str, source: SourceId) -> Diagnostic {
    let position = match error.location {
        InputLocation::Pos(position) => position,
        InputLocation::Span((start, _)) => start,
    };
    let position = error
        .parse_attempts()
        .map_or(position, |attempts| attempts.max_position.max(position))
        .min(text.len());

    if let Some(diagnostic) = unterminated(text, source) {
        return diagnostic;
    }

    if let Some(diagnostic) = misspelt_keyword_before(text, position, source) {
        return diagnostic;
    }

    let found = token_at(text, position);
    let span = Span::new(
        source,
        position,
        position + found.len().max(if position < text.len() { 1 } else { 0 }),
    );
    let expected = expected_words(error);
    let found_text = if found.is_empty() {
        "the end of the file".to_string()
    } else {
        format!("`{found}`")
    };
    let message = if expected.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("expected {}, found {found_text}", join_or(&expected))
    };
    let mut diagnostic = Diagnostic::new(Code::SYNTAX, message).primary(span, label_for(&expected));
    for hint in hints(text, position, found, &expected) {
        diagnostic = diagnostic.help(hint);
    }
    diagnostic
}

fn label_for(expected: &[String]) -> String {
    match expected.first() {
        Some(first) if expected.len() == 1 => format!("expected {first} here"),
        Some(_) => "unexpected here".to_string(),
        None => String::new(),
    }
}

/// What the grammar would have accepted: named rules, then literal tokens.
fn expected_words(error: &Error<Rule>) -> Vec<String> {
    let mut words = BTreeSet::new();
    if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            if let Some(word) = describe(*rule) {
                words.insert(word.to_string());
            }
        }
    }
    if let Some(attempts) = error.parse_attempts() {
        for token in attempts.expected_tokens() {
            let token = token.to_string();
            let trimmed = token.trim();
            if trimmed.is_empty()
                || trimmed.starts_with("//")
                || trimmed.starts_with("/*")
                || token.contains("..")
            {
                continue;
            }
            if trimmed.len() == 1 && !"{}[](),:;=<>!".contains(trimmed) {
                continue;
            }
            words.insert(format!("`{trimmed}`"));
        }
        if words.is_empty() {
            for stack in attempts.call_stacks() {
                let rule = stack.deepest.get_rule().copied().or(stack.parent);
                if let Some(word) = rule.and_then(describe) {
                    words.insert(word.to_string());
                }
            }
        }
    }
    // Operator tokens are already named by the operator descriptions.
    if words
        .iter()
        .any(|word| word.starts_with("a comparison operator"))
    {
        for operator in ["`==`", "`!=`", "`<`", "`<=`", "`>`", "`>=`"] {
            words.remove(operator);
        }
    }
    // Keep the list short: descriptions first, then tokens.
    let mut ordered: Vec<String> = words
        .iter()
        .filter(|word| !word.starts_with('`'))
        .cloned()
        .collect();
    // Raw tokens only help when the grammar rules say little on their own.
    if ordered.len() < 2 {
        ordered.extend(words.into_iter().filter(|word| word.starts_with('`')));
    }
    ordered.truncate(8);
    ordered
}

fn join_or(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// A word just before the failing place that is one typo away from a keyword
/// (`whre x == 1`): the parser took it for something else and failed later,
/// so the useful place to point at is the word itself.
fn misspelt_keyword_before(text: &str, position: usize, source: SourceId) -> Option<Diagnostic> {
    let before = text.get(..position)?.trim_end();
    let start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |index| index + 1);
    let word = &before[start..];
    if word.len() < 3 || is_keyword(word) {
        return None;
    }
    let keyword = did_you_mean(word, keywords())?;
    Some(
        Diagnostic::new(Code::SYNTAX, format!("`{word}` is not a keyword here"))
            .primary(
                Span::new(source, start, start + word.len()),
                format!("did you mean `{keyword}`?"),
            )
            .help(format!("write `{keyword}`")),
    )
}

/// The word or character at `position`.
fn token_at(text: &str, position: usize) -> &str {
    let rest = text.get(position..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "";
    };
    if first.is_alphanumeric() || first == '_' {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        &rest[..end]
    } else {
        &rest[..first.len_utf8()]
    }
}

fn hints(text: &str, position: usize, found: &str, expected: &[String]) -> Vec<String> {
    let mut hints = Vec::new();
    let rest = text.get(position..).unwrap_or("");
    let expects = |needle: &str| expected.iter().any(|word| word.contains(needle));
    if rest.starts_with('=') && !rest.starts_with("==") {
        hints.push("comparisons use `==`; `=` alone is not an operator".to_string());
    }
    if expects("a duration") && found.chars().all(|c| c.is_ascii_digit()) && !found.is_empty() {
        hints.push(format!(
            "a duration needs a unit: `{found}m`, `{found}h`, `{found}d`..."
        ));
    }
    if is_keyword(found) && expects("a name") {
        hints.push(format!(
            "`{found}` is a reserved word and cannot be used as a name"
        ));
    }
    if found.chars().next().is_some_and(|c| c.is_alphabetic())
        && !is_keyword(found)
        && let Some(keyword) = did_you_mean(found, keywords())
    {
        hints.push(format!("did you mean `{keyword}`?"));
    }
    if expects("`:`") && found.chars().next().is_some_and(|c| c.is_alphanumeric()) {
        hints.push("metadata entries are written `key: value`".to_string());
    }
    if ["group", "every", "show", "top"].contains(&found)
        && (expects("the measures") || expects("a limit") || expects("`}`"))
    {
        hints.push(
            "the clauses of a panel query come in this order: `match TYPES [where ...]`, `group by`, `every`, `show`, `top`"
                .to_string(),
        );
    }
    if rest.starts_with('\'') {
        hints.push("strings use double quotes: \"text\"".to_string());
    }
    if rest.starts_with("&&") || rest.starts_with("||") {
        hints.push("the logical operators are the words `and` and `or`".to_string());
    }
    hints
}

/// Finds the first string, block string, regex-free comment that never closes.
fn unterminated(text: &str, source: SourceId) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let rest = &text[index..];
        if rest.starts_with("//") {
            index += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            match rest.find("*/") {
                Some(end) => index += end + 2,
                None => return Some(unclosed(source, index, 2, "comment", "`*/`")),
            }
        } else if let Some(body) = rest.strip_prefix("\"\"\"") {
            match body.find("\"\"\"") {
                Some(end) => index += end + 6,
                None => return Some(unclosed(source, index, 3, "block string", "`\"\"\"`")),
            }
        } else if rest.starts_with('"') {
            let mut end = None;
            let mut escaped = false;
            for (offset, character) in rest.char_indices().skip(1) {
                if character == '\n' {
                    break;
                }
                if escaped {
                    escaped = false;
                } else if character == '\\' {
                    escaped = true;
                } else if character == '"' {
                    end = Some(offset);
                    break;
                }
            }
            match end {
                Some(end) => index += end + 1,
                None => {
                    return Some(unclosed(
                        source,
                        index,
                        1,
                        "string",
                        "`\"` on the same line",
                    ));
                }
            }
        } else {
            index += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    None
}

fn unclosed(source: SourceId, start: usize, width: usize, what: &str, closer: &str) -> Diagnostic {
    Diagnostic::new(Code::UNTERMINATED, format!("this {what} is never closed"))
        .primary(
            Span::new(source, start, start + width),
            format!("{what} starts here"),
        )
        .help(format!("close it with {closer}"))
}
