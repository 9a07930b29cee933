//! Quoting for EQL source text: strings and field references.
//!
//! Input: rule values and field names. Output: EQL text that holds each
//! value as data: no value can change the query's shape. The regexes inside
//! `regex` tests come from [`crate::targets::lucene`].

/// EQL's reserved words: a field path segment spelled like one is quoted.
const KEYWORDS: [&str; 22] = [
    "and", "any", "by", "false", "in", "join", "like", "maxspan", "not", "null", "of", "or",
    "regex", "runs", "sample", "sequence", "true", "until", "where", "with", "fork", "size",
];

/// A double-quoted EQL string holding `text` exactly: `"` and `\` escaped,
/// line breaks and tabs as `\n` `\r` `\t`, other control characters, the
/// Kelvin sign and the long s as `\u{XX}`.
pub fn eql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if control.is_control() => {
                out.push_str(&format!("\\u{{{:02X}}}", control as u32));
            }
            // The Kelvin sign and the long s look like `K` and `f`: a reader
            // sees them for what they are.
            '\u{212A}' | '\u{17F}' => {
                out.push_str(&format!("\\u{{{:X}}}", character as u32));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A field reference: dotted identifiers as they are, anything else (such as
/// `@timestamp` or a segment spelled like a keyword) in backticks.
pub fn field_reference(name: &str) -> String {
    let plain = !name.is_empty()
        && name.split('.').all(|segment| {
            let mut characters = segment.chars();
            characters
                .next()
                .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
                && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
                && !KEYWORDS.contains(&segment.to_ascii_lowercase().as_str())
        });
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

#[cfg(test)]
mod tests;
