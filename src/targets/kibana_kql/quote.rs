//! Quoting for KQL: quoted and unquoted values and field names.
//!
//! Input: rule values (needles, networks, field names). Output: KQL source
//! text that holds each value as data: no value can change the query's
//! shape. Every function here has unit tests below, hostile values included.

/// A quoted KQL string: `\` and `"` escaped, tab and line breaks as `\t`
/// `\r` `\n` (the grammar's only escapes inside quotes). A quoted value is a
/// phrase (`match_phrase`), never a wildcard.
pub fn kql_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// An unquoted KQL literal holding `text` as data: the grammar's special
/// characters `\ ( ) : < > " *` escaped with a backslash. Whitespace cannot
/// be written safely in an unquoted literal (` or ` ends it, the edges are
/// trimmed, and Kibana hands wildcard values to `query_string`, which splits
/// on whitespace), so text with whitespace or control characters is refused.
pub fn kql_unquoted(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_whitespace() || character.is_control() {
            return Err(format!(
                "the value {} contains whitespace or a control character, which a KQL wildcard value cannot hold exactly",
                kql_quoted(text)
            ));
        }
        if matches!(character, '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*') {
            out.push('\\');
        }
        out.push(character);
    }
    Ok(out)
}

/// A field name in KQL (an unquoted literal).
pub fn kql_field(name: &str) -> Result<String, String> {
    kql_unquoted(name)
}

/// Whether case-insensitive comparison with `needle` is exactly
/// case-sensitive comparison: no character of it folds like another
/// (digits, punctuation, caseless scripts).
pub fn caseless(needle: &str) -> bool {
    crate::targets::lower::caseless(needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn quoted_values_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(kql_quoted(r#"a" or b:*"#), r#""a\" or b:*""#);
        assert_eq!(kql_quoted("a\\b\n\t\r"), r#""a\\b\n\t\r""#);
        assert_eq!(kql_quoted(") or (x:*"), r#"") or (x:*""#);
    }

    #[test]
    fn unquoted_values_escape_every_special_character() {
        assert_eq!(
            kql_unquoted(r#"a\b(c)d:e<f>g"h*i"#).unwrap(),
            r#"a\\b\(c\)d\:e\<f\>g\"h\*i"#
        );
        assert_eq!(
            kql_unquoted("TRIPLINE-CANARY-1").unwrap(),
            "TRIPLINE-CANARY-1"
        );
    }

    #[test]
    fn unquoted_values_with_whitespace_are_refused() {
        assert!(kql_unquoted("b or c").is_err());
        assert!(kql_unquoted("tab\there").is_err());
        assert!(kql_unquoted(" lead").is_err());
        assert!(kql_unquoted("nbsp\u{a0}").is_err());
    }

    #[test]
    fn caseless_needles_have_no_case_variants() {
        assert!(caseless("0.5.0-1/2"));
        assert!(!caseless("a"));
        assert!(!caseless("k"));
        assert!(!caseless("K"));
        assert!(!caseless("\u{212A}"));
        assert!(!caseless("i"));
    }
}
