//! The canonical layout of rule files (`tripline fmt`).
//!
//! Input: one file's text. Output: the same declarations, comments and
//! strings, laid out canonically, or the syntax diagnostics of a file that
//! does not parse (nothing is formatted then).
//!
//! The formatter works on tokens, not on the AST, so grammar additions need no
//! change here: it keeps every token and the author's line breaks, and decides
//! only the whitespace:
//!
//! - indentation: two spaces per open `{`, `[` or `(`, and two more for a line
//!   that continues a clause of a rule (`match ... where` followed by `and ...`
//!   on the next line); a line that starts with a closer is at the indentation
//!   of the line that opened it; comment lines are indented as the code below;
//! - inside a line: one space between tokens, none inside brackets, before
//!   `,` `;` `:`, around `.`, or between a name and its `(`/`[` (`count()`,
//!   `user_scopes[app]`); one space before a trailing comment;
//! - blank lines: at most one in a row, none at the start and end of the file
//!   or just inside brackets; the file ends with one line feed;
//! - strings, `"""` guides, regexes and comments are kept byte for byte
//!   (trailing whitespace of a `//` comment aside).
//!
//! Every result is checked before it is returned: it must hold the same
//! tokens and parse to the same syntax tree (spans aside) as the input, so a
//! formatter mistake can never change what a rule means.

use crate::diagnostics::{Code, Diagnostic};
use crate::source::SourceId;
use crate::syntax;

/// Formats one rule file. `Err` holds the syntax errors of a file that does
/// not parse (located in `source`), or a diagnostic saying that the layout
/// would have changed the file's meaning (a formatter bug; the file is left
/// as it is).
pub fn format_source(text: &str, source: SourceId) -> Result<String, Vec<Diagnostic>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (before, diagnostics) = syntax::parse(text, source);
    let errors: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let tokens = lex(text);
    let formatted = layout(&tokens);
    if formatted == text {
        return Ok(formatted);
    }
    let (after, diagnostics) = syntax::parse(&formatted, source);
    let same_tokens = significant(&tokens) == significant(&lex(&formatted));
    if !same_tokens
        || diagnostics.iter().any(Diagnostic::is_error)
        || without_spans(&format!("{before:?}")) != without_spans(&format!("{after:?}"))
    {
        return Err(vec![
            Diagnostic::new(
                Code::INPUT_PATH,
                "the canonical layout of this file would change its meaning; it is left as it is",
            )
            .note("this is a bug in `tripline fmt`; please report it with the file"),
        ]);
    }
    Ok(formatted)
}

/// A `Debug` rendering of a syntax tree with every span removed.
fn without_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(start) = rest.find("Span { source: ") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A name, keyword or metadata word (`match`, `user_input`, `high`).
    Word,
    /// A rule id (`llm.output.secret_leak`), after `rule`.
    RuleId,
    /// A number or duration (`5`, `-1`, `0.8`, `10m`).
    Number,
    /// A string, plain or `"""`.
    Str,
    /// A regex literal `/.../i`.
    Regex,
    /// `// ...` to the end of the line.
    LineComment,
    /// `/* ... */`.
    BlockComment,
    /// An opening bracket `{ [ (`.
    Open,
    /// A closing bracket `} ] )`.
    Close,
    /// Punctuation and operators.
    Punct,
    /// A line break.
    Newline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
}

/// Words that begin a declaration or a clause of a rule: a line starting
/// with one is never a continuation.
const STATEMENT_WORDS: &[&str] = &[
    "rule",
    "event",
    "list",
    "lookup",
    "param",
    "playbook",
    "common",
    "match",
    "group",
    "within",
    "alert",
    "context",
    "new",
    "cluster",
    "sequence",
    "dashboard",
    "panel",
    "every",
    "show",
    "top",
];

/// Statement words whose items, one per line after a `,`, continue the
/// statement (indented under it) rather than start a new one.
const LIST_STATEMENT_WORDS: &[&str] = &["show"];

fn is_operator_word(token: &Token) -> bool {
    token.kind == Kind::Word && crate::syntax::OPERATOR_WORDS.contains(&token.text)
}

/// Whether the token ends an operand (after it, `/` divides and `-` subtracts).
fn ends_operand(token: Option<&Token>) -> bool {
    match token {
        Some(token) => match token.kind {
            Kind::Word => !is_operator_word(token),
            Kind::RuleId | Kind::Number | Kind::Str | Kind::Regex => true,
            Kind::Close => token.text != "}",
            _ => false,
        },
        None => false,
    }
}

/// Splits text into tokens. Text that is not a token of the language (the
/// file parsed, so there is none outside strings and comments) becomes
/// one-character punctuation and is kept.
fn lex(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut tokens: Vec<Token> = Vec::new();
    let mut at = 0;
    // The last token that is not a comment or a line break.
    let mut last: Option<usize> = None;
    while at < bytes.len() {
        let byte = bytes[at];
        let start = at;
        let kind = match byte {
            b' ' | b'\t' | b'\r' => {
                at += 1;
                continue;
            }
            b'\n' => {
                at += 1;
                Kind::Newline
            }
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                at = text[at..].find('\n').map_or(bytes.len(), |end| at + end);
                Kind::LineComment
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at = text[at + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |end| at + 2 + end + 2);
                Kind::BlockComment
            }
            b'"' if text[at..].starts_with("\"\"\"") => {
                at = text[at + 3..]
                    .find("\"\"\"")
                    .map_or(bytes.len(), |end| at + 3 + end + 3);
                Kind::Str
            }
            b'"' => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' && bytes[at] != b'\n' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at = (at + 1).min(bytes.len());
                Kind::Str
            }
            b'/' if !ends_operand(last.map(|index| &tokens[index])) => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'/' && bytes[at] != b'\n' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at = (at + 1).min(bytes.len());
                if bytes.get(at) == Some(&b'i') {
                    at += 1;
                }
                Kind::Regex
            }
            b'-' if bytes.get(at + 1).is_some_and(u8::is_ascii_digit)
                && !ends_operand(last.map(|index| &tokens[index])) =>
            {
                at += 1;
                at = number_end(bytes, at);
                Kind::Number
            }
            b'0'..=b'9' => {
                at = number_end(bytes, at);
                Kind::Number
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                // A rule or dashboard id may hold `-` and `.`; it follows the
                // declaration word and a `{` follows it (a field may be
                // called `rule` or `dashboard` too).
                let id_end = |from: usize| {
                    let mut end = from;
                    while end < bytes.len()
                        && (bytes[end].is_ascii_alphanumeric()
                            || matches!(bytes[end], b'_' | b'-' | b'.'))
                    {
                        end += 1;
                    }
                    end
                };
                let previous_word = last
                    .map(|index| &tokens[index])
                    .filter(|token| token.kind == Kind::Word)
                    .map(|token| token.text);
                let after_rule = match previous_word {
                    Some("rule") => !text[at..].trim_start().starts_with(':'),
                    Some("dashboard") => text[id_end(at)..].trim_start().starts_with('{'),
                    _ => false,
                };
                while at < bytes.len()
                    && (bytes[at].is_ascii_alphanumeric()
                        || bytes[at] == b'_'
                        || (after_rule && (bytes[at] == b'-' || bytes[at] == b'.')))
                {
                    at += 1;
                }
                if after_rule { Kind::RuleId } else { Kind::Word }
            }
            b'{' | b'[' | b'(' => {
                at += 1;
                Kind::Open
            }
            b'}' | b']' | b')' => {
                at += 1;
                Kind::Close
            }
            b'=' | b'!' | b'<' | b'>' => {
                at += if bytes.get(at + 1) == Some(&b'=') {
                    2
                } else {
                    1
                };
                Kind::Punct
            }
            _ => {
                // One character, whole (the text is UTF-8).
                at += text[at..].chars().next().map_or(1, char::len_utf8);
                Kind::Punct
            }
        };
        let at_end = at.min(bytes.len());
        at = at_end;
        tokens.push(Token {
            kind,
            text: &text[start..at_end],
        });
        if !matches!(kind, Kind::Newline | Kind::LineComment | Kind::BlockComment) {
            last = Some(tokens.len() - 1);
        }
    }
    tokens
}

/// The end of a number or duration starting at `at`: digits, an optional
/// fraction, and a unit glued to it.
fn number_end(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && bytes[at].is_ascii_digit() {
        at += 1;
    }
    if bytes.get(at) == Some(&b'.') && bytes.get(at + 1).is_some_and(u8::is_ascii_digit) {
        at += 1;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            at += 1;
        }
    }
    while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
        at += 1;
    }
    at
}

/// The tokens that carry meaning or comments, without line breaks and with
/// the trailing whitespace of line comments removed, for comparison.
fn significant<'a>(tokens: &[Token<'a>]) -> Vec<(Kind, &'a str)> {
    tokens
        .iter()
        .filter(|token| token.kind != Kind::Newline)
        .map(|token| match token.kind {
            Kind::LineComment => (token.kind, token.text.trim_end()),
            _ => (token.kind, token.text),
        })
        .collect()
}

/// Whether one space separates `left` and `right` on a line.
fn space_between(left: &Token, right: &Token) -> bool {
    if matches!(right.kind, Kind::LineComment | Kind::BlockComment) {
        return true;
    }
    if left.kind == Kind::Open && left.text != "{" {
        return false;
    }
    if left.text == "." || [",", ";", ":", "."].contains(&right.text) {
        return false;
    }
    match (left.text, right.text) {
        ("{", "}") => false,
        (_, ")" | "]") => false,
        // A call or a lookup narrowing takes no space; after a keyword it is grouping.
        (_, "(" | "[") => left.kind != Kind::Word || is_operator_word(left),
        _ => true,
    }
}

/// An open bracket while laying out.
struct Opener {
    /// The indentation of the line a closer at the start of a line takes.
    line_indent: usize,
    /// The indentation of the lines inside.
    content_indent: usize,
    /// `{` (clauses and declarations inside), or `[`/`(` (items).
    brace: bool,
}

/// Lays the tokens out (see the module documentation).
fn layout(tokens: &[Token]) -> String {
    // Lines of tokens, with the number of line breaks before each.
    let mut lines: Vec<(usize, Vec<&Token>)> = Vec::new();
    let mut breaks = 0;
    let mut current: Vec<&Token> = Vec::new();
    for token in tokens {
        if token.kind == Kind::Newline {
            if !current.is_empty() {
                lines.push((breaks, std::mem::take(&mut current)));
                breaks = 0;
            }
            breaks += 1;
        } else {
            current.push(token);
        }
    }
    if !current.is_empty() {
        lines.push((breaks, current));
    }

    let mut out = String::new();
    let mut stack: Vec<Opener> = Vec::new();
    // The last code token before the current line, in reading order.
    let mut previous: Option<&Token> = None;
    // Comment-only lines wait for the code line below to know their indentation.
    let mut pending: Vec<(usize, String)> = Vec::new();
    let mut previous_ended_open = false;
    // The first word of the statement the lines continue (`show` lists
    // its measures one per line, indented under it).
    let mut statement_word: Option<&str> = None;
    for (index, (breaks, line)) in lines.iter().enumerate() {
        let blank = index > 0 && *breaks > 1;
        let starts_close = line[0].kind == Kind::Close;
        let comment_only = line
            .iter()
            .all(|token| matches!(token.kind, Kind::LineComment | Kind::BlockComment));
        if comment_only {
            let blank = blank && !previous_ended_open;
            pending.push((usize::from(blank), render(line)));
            previous_ended_open = false;
            continue;
        }
        let indent = if starts_close {
            stack.last().map_or(0, |opener| opener.line_indent)
        } else {
            match stack.last() {
                Some(opener) if !opener.brace => opener.content_indent,
                top => {
                    let base = top.map_or(0, |opener| opener.content_indent);
                    let in_list =
                        statement_word.is_some_and(|word| LIST_STATEMENT_WORDS.contains(&word));
                    if starts_statement(previous, line, in_list) {
                        statement_word = Some(line[0].text);
                        base
                    } else {
                        base + 2
                    }
                }
            }
        };
        // Comments above take this line's indentation, or the inside of the
        // bracket this line closes.
        let comment_indent = if starts_close {
            stack.last().map_or(0, |opener| opener.content_indent)
        } else {
            indent
        };
        for (blank_before, comment) in pending.drain(..) {
            if blank_before == 1 && !out.is_empty() {
                out.push('\n');
            }
            push_line(&mut out, comment_indent, &comment);
        }
        let blank = blank && !previous_ended_open && !starts_close;
        if blank && !out.is_empty() {
            out.push('\n');
        }
        push_line(&mut out, indent, &render(line));

        // Brackets of this line.
        let statement_base = match stack.last() {
            Some(opener) if opener.brace => opener.content_indent,
            Some(_) => indent,
            None => 0,
        };
        for token in line {
            match token.kind {
                Kind::Open => {
                    let brace = token.text == "{";
                    let line_indent = if brace { statement_base } else { indent };
                    stack.push(Opener {
                        line_indent,
                        content_indent: line_indent + 2,
                        brace,
                    });
                }
                Kind::Close => {
                    stack.pop();
                }
                _ => {}
            }
            if !matches!(token.kind, Kind::LineComment | Kind::BlockComment) {
                previous = Some(token);
            }
        }
        previous_ended_open = line
            .iter()
            .rev()
            .find(|token| !matches!(token.kind, Kind::LineComment | Kind::BlockComment))
            .is_some_and(|token| token.kind == Kind::Open);
    }
    // Comments at the end of the file.
    let indent = stack.last().map_or(0, |opener| opener.content_indent);
    for (blank_before, comment) in pending {
        if blank_before == 1 && !out.is_empty() {
            out.push('\n');
        }
        push_line(&mut out, indent, &comment);
    }
    out
}

/// Whether a line starts a declaration, a clause, a metadata entry or a
/// field, rather than continuing the line above.
fn starts_statement(previous: Option<&Token>, line: &[&Token], in_list: bool) -> bool {
    let after_separator = previous.is_none_or(|token| {
        ["{", "}", ";"].contains(&token.text) || (token.text == "," && !in_list)
    });
    let first = line[0];
    after_separator
        || (first.kind == Kind::Word && STATEMENT_WORDS.contains(&first.text))
        || (first.kind == Kind::Word && line.get(1).is_some_and(|token| token.text == ":"))
}

/// The tokens of one line, spaced.
fn render(line: &[&Token]) -> String {
    let mut text = String::new();
    for (index, token) in line.iter().enumerate() {
        if index > 0 && space_between(line[index - 1], token) {
            text.push(' ');
        }
        match token.kind {
            Kind::LineComment => text.push_str(token.text.trim_end()),
            _ => text.push_str(token.text),
        }
    }
    text
}

fn push_line(out: &mut String, indent: usize, text: &str) {
    for _ in 0..indent {
        out.push(' ');
    }
    out.push_str(text);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(text: &str) -> String {
        match format_source(text, SourceId(0)) {
            Ok(formatted) => formatted,
            Err(diagnostics) => panic!("{diagnostics:?}"),
        }
    }

    const MESSY: &str = "// A header comment.\n\n\n/// The rule's doc.\nrule   acme.x-y.z{\n\ttitle:\"T\"   // trailing\n  description :  \"D\"\n severity: high\n    category: llm_attack\n  owasp: [ LLM01,LLM02 ]\n\n\n  guide: \"\"\"\n      Keep   this\n        as it is\n  \"\"\"\n  // before the detection\n  match inference where(user_input contains \"a\"\n  or output matches /x\\/y/i)and count ( )>=-1\n  // last\n}\n";

    #[test]
    fn lays_out_spacing_indentation_and_blank_lines() {
        let expected = "// A header comment.\n\n/// The rule's doc.\nrule acme.x-y.z {\n  title: \"T\" // trailing\n  description: \"D\"\n  severity: high\n  category: llm_attack\n  owasp: [LLM01, LLM02]\n\n  guide: \"\"\"\n      Keep   this\n        as it is\n  \"\"\"\n  // before the detection\n  match inference where (user_input contains \"a\"\n    or output matches /x\\/y/i) and count() >= -1\n  // last\n}\n";
        // The parser must accept the messy input for this test to mean anything.
        let formatted = format_source(MESSY, SourceId(0));
        match formatted {
            Ok(text) => assert_eq!(text, expected, "\n{text}"),
            // `count()` on a match rule is a check error, not a syntax error:
            // the formatter only needs the text to parse.
            Err(diagnostics) => panic!("{diagnostics:?}"),
        }
    }

    #[test]
    fn is_idempotent_and_keeps_every_comment() {
        let once = format(MESSY);
        assert_eq!(format(&once), once);
        for comment in [
            "// A header comment.",
            "/// The rule's doc.",
            "// trailing",
            "// before the detection",
            "// last",
        ] {
            assert!(once.contains(comment), "{comment} in\n{once}");
        }
        assert!(once.contains("\"\"\"\n      Keep   this\n        as it is\n  \"\"\""));
    }

    #[test]
    fn continuation_lines_indent_under_their_clause_and_parentheses() {
        let text = "rule a.b {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  match tool_call where\n(tool_name in [\"read_file\"]\nand (target_path contains \"/../\"\n or target_path endswith \"/..\"))\n or x == 1\n  group by session_id within 1h\nalert when count() / count(where x == 1) > 2\n}\n";
        let expected = "rule a.b {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  match tool_call where\n    (tool_name in [\"read_file\"]\n      and (target_path contains \"/../\"\n        or target_path endswith \"/..\"))\n    or x == 1\n  group by session_id within 1h\n  alert when count() / count(where x == 1) > 2\n}\n";
        assert_eq!(format(text), expected);
    }

    #[test]
    fn context_is_a_clause_of_its_own_and_stays_one() {
        let text = "rule a.b {\ntitle: \"t\"\ndescription: \"d\"\nseverity: low\ncategory: behavioral\nmatch auth group by src_ip within 10m\nalert when count() >= 5\n      context user_id,user_agent\n}\n";
        let expected = "rule a.b {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  match auth group by src_ip within 10m\n  alert when count() >= 5\n  context user_id, user_agent\n}\n";
        let once = format(text);
        assert_eq!(once, expected);
        assert_eq!(format(&once), once);
    }

    #[test]
    fn lists_sequences_lookups_and_params() {
        let text = "list l: regex = [\n/a/,\n    /b/i,\n]\nparam p: int = -5\nlookup k {\nfile: \"k.csv\",\ncolumns: {a: string,b: int},\n}\nrule s.q {\ntitle: \"t\"\ndescription: \"d\"\nseverity: low\ncategory: behavioral\nsequence by k within 10m {\nauth where outcome == \"failure\" repeat >= 5;\n   auth where outcome == \"success\"\n   or x in k.(a,b);\n}\n}\n";
        let expected = "list l: regex = [\n  /a/,\n  /b/i,\n]\nparam p: int = -5\nlookup k {\n  file: \"k.csv\",\n  columns: { a: string, b: int },\n}\nrule s.q {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  sequence by k within 10m {\n    auth where outcome == \"failure\" repeat >= 5;\n    auth where outcome == \"success\"\n      or x in k.(a, b);\n  }\n}\n";
        assert_eq!(format(text), expected);
    }

    #[test]
    fn dashboards_indent_panels_clauses_and_measure_lists() {
        let text = "/// Doc.\ndashboard acme.ops-view{\ntitle:\"T\"\nrange:7d\n\n\npanel a{\ntitle:\"A\"\nvisual:line\nmatch inference where model==\"x\"\nand cost_usd>1\ngroup by api_key_id,bin( output_tokens,250 )\nevery 1d\nshow count()as calls,\nbaseline(count(),7d)as usual,\n  sum(cost_usd)/2 as half\ntop 3\n}\npanel b{title:\"B\" visual:bar\nshow alerts by rule every 1h}\n}\n";
        let expected = "/// Doc.\ndashboard acme.ops-view {\n  title: \"T\"\n  range: 7d\n\n  panel a {\n    title: \"A\"\n    visual: line\n    match inference where model == \"x\"\n      and cost_usd > 1\n    group by api_key_id, bin(output_tokens, 250)\n    every 1d\n    show count() as calls,\n      baseline(count(), 7d) as usual,\n      sum(cost_usd) / 2 as half\n    top 3\n  }\n  panel b { title: \"B\" visual: bar\n    show alerts by rule every 1h }\n}\n";
        let once = format(text);
        assert_eq!(once, expected, "\n{once}");
        assert_eq!(format(&once), once);
    }

    #[test]
    fn a_field_called_dashboard_is_not_read_as_a_dashboard_id() {
        let text = "rule a.b {\n  title: \"t\"\n  match words where dashboard matches /x-y.z/\n    and dashboard== \"a\"\n}\n";
        let expected = "rule a.b {\n  title: \"t\"\n  match words where dashboard matches /x-y.z/\n    and dashboard == \"a\"\n}\n";
        assert_eq!(format(text), expected);
    }

    #[test]
    fn a_file_that_does_not_parse_is_an_error_at_the_place() {
        let Err(diagnostics) = format_source("rule a.b {\n  title: \"t\"\n  match\n", SourceId(3))
        else {
            panic!("a broken file was formatted");
        };
        assert!(diagnostics[0].code.as_str().starts_with("E01"));
        assert!(format!("{:?}", diagnostics[0]).contains("SourceId(3)"));
    }

    #[test]
    fn every_shipped_rule_file_is_canonical_and_formats_to_the_same_bytes_twice() {
        let mut count = 0;
        for (name, text) in crate::builtin::files() {
            if !name.ends_with(".tdl") {
                continue;
            }
            let once = format(text);
            assert_eq!(&once, text, "{name} is not in the canonical layout");
            assert_eq!(format(&once), once, "{name}");
            count += 1;
        }
        assert!(count > 30, "{count} rule files");
    }

    #[test]
    fn empty_and_comment_only_files_stay_so() {
        assert_eq!(format(""), "");
        assert_eq!(format("\n\n  // only a note   \n\n"), "// only a note\n");
    }
}
