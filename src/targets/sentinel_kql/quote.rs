//! Kusto string literals and column names for the `sentinel_kql` target.
//!
//! Input: needles and names from the IR. Output: Kusto text that cannot
//! change the query's shape whatever the value holds. Regexes come from the
//! shared RE2 writer, [`crate::targets::re2`].

/// A Kusto string literal (`"..."` with backslash escapes). Quotes,
/// backslashes, tab, line feed and carriage return are escaped; other control
/// characters have no escape in Kusto and are refused.
pub fn kusto_string(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other if other.is_control() => {
                return Err(format!(
                    "the value contains the control character U+{:04X}, which a Kusto string literal cannot hold",
                    other as u32
                ));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    Ok(out)
}

/// The PascalCase Kusto column name of a canonical field (`src_ip` → `SrcIp`).
pub fn pascal_case(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut characters = part.chars();
            match characters.next() {
                Some(first) => first.to_uppercase().chain(characters).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// Whether a name is a plain Kusto identifier (otherwise it is quoted as `['...']`).
pub fn column_reference(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_')
        && !name.starts_with(|character: char| character.is_ascii_digit());
    if plain {
        name.to_string()
    } else {
        format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(kusto_string("plain").unwrap(), "\"plain\"");
        assert_eq!(kusto_string("a\"b").unwrap(), "\"a\\\"b\"");
        assert_eq!(kusto_string("c:\\x").unwrap(), "\"c:\\\\x\"");
        assert_eq!(kusto_string("a\nb\r\tc").unwrap(), "\"a\\nb\\r\\tc\"");
        assert_eq!(kusto_string("Grüße").unwrap(), "\"Grüße\"");
        assert!(kusto_string("bell\u{7}").is_err());
    }

    #[test]
    fn a_hostile_value_stays_one_string() {
        let hostile = "\"; drop table LLMAppEvents_CL; //\\\" | where 1==1 \n| take 1";
        let quoted = kusto_string(hostile).unwrap();
        // Every quote inside is escaped, so the literal ends at the last character.
        let inner = &quoted[1..quoted.len() - 1];
        let mut escaped = false;
        for character in inner.chars() {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else {
                assert_ne!(character, '"', "unescaped quote in {quoted}");
                assert_ne!(character, '\n');
            }
        }
        assert!(!escaped);
    }

    #[test]
    fn names_become_pascal_case_identifiers() {
        assert_eq!(pascal_case("src_ip"), "SrcIp");
        assert_eq!(pascal_case("output_tokens"), "OutputTokens");
        assert_eq!(column_reference("SrcIp"), "SrcIp");
        assert_eq!(column_reference("a b'c"), "['a b\\'c']");
    }
}
