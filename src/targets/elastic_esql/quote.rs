//! Quoting for ES|QL: string literals and field references.
//!
//! Input: rule values (needles, translated regexes, field names). Output:
//! ES|QL source text that holds each value as data: no value can change the
//! query's shape. Every function here has unit tests below, hostile values
//! included.

/// ES|QL's reserved words: a field path segment spelled like one is quoted.
const KEYWORDS: [&str; 24] = [
    "and", "as", "asc", "by", "desc", "false", "first", "from", "in", "is", "last", "like",
    "metadata", "not", "null", "nulls", "on", "or", "rlike", "true", "where", "with", "match",
    "limit",
];

/// An ES|QL string literal holding `text` exactly.
///
/// A value with a backslash and nothing a triple-quoted string cannot hold
/// (a `"`, line breaks or other control characters) is written `"""..."""`,
/// where backslashes are not escapes, so regexes stay readable. Everything
/// else is a `"..."` string: `"` and `\` escaped, tab and line breaks as
/// `\t` `\r` `\n` (the grammar's escapes); other control characters are
/// allowed as they are in a quoted string.
pub fn esql_string(text: &str) -> String {
    let triple = text.contains('\\') && !text.contains('"') && !text.chars().any(char::is_control);
    if triple {
        return format!("\"\"\"{text}\"\"\"");
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A field reference: dotted identifiers (the first segment may start with
/// `@` or `_`) as they are, anything else in backticks with backticks doubled.
pub fn field_reference(name: &str) -> String {
    let plain = !name.is_empty()
        && name.split('.').enumerate().all(|(index, segment)| {
            let characters: Vec<char> = segment.chars().collect();
            let Some(first) = characters.first() else {
                return false;
            };
            // ES|QL: a letter, or `_`/`@` followed by at least one more character.
            let starts = first.is_ascii_alphabetic()
                || ((*first == '_' || (index == 0 && *first == '@')) && characters.len() > 1);
            starts
                && characters[1..]
                    .iter()
                    .all(|character| character.is_ascii_alphanumeric() || *character == '_')
                && !KEYWORDS.contains(&segment.to_ascii_lowercase().as_str())
        });
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(esql_string("plain"), "\"plain\"");
        assert_eq!(esql_string(r#"a" OR true OR ""#), r#""a\" OR true OR \"""#);
        assert_eq!(esql_string("a\\b\"c"), r#""a\\b\"c""#);
        assert_eq!(esql_string("x\n| DROP y\r\t"), r#""x\n| DROP y\r\t""#);
        assert_eq!(esql_string("\u{1}"), "\"\u{1}\"");
    }

    #[test]
    fn regexes_with_backslashes_use_triple_quotes() {
        assert_eq!(esql_string(r".*\.\ x.*"), r#"""".*\.\ x.*""""#);
        // A quote or a control character forces the escaped form.
        assert_eq!(esql_string(r#"\""#), r#""\\\"""#);
        assert_eq!(esql_string("[\t-\r\\ ]+"), r#""[\t-\r\\ ]+""#);
        // A triple-quoted string cannot be closed early by its content.
        assert!(!esql_string(r#"\"""| WHERE true"#).starts_with("\"\"\""));
    }

    #[test]
    fn field_references_quote_what_is_not_an_identifier() {
        assert_eq!(field_reference("user.id"), "user.id");
        assert_eq!(field_reference("@timestamp"), "@timestamp");
        assert_eq!(
            field_reference("tripline.event_type"),
            "tripline.event_type"
        );
        assert_eq!(field_reference("a.in"), "`a.in`");
        assert_eq!(field_reference("a b"), "`a b`");
        assert_eq!(field_reference("a`| x"), "`a``| x`");
        assert_eq!(field_reference("1a"), "`1a`");
        assert_eq!(field_reference("_"), "`_`");
        assert_eq!(field_reference(""), "``");
    }
}
