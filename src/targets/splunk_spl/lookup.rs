//! Lookups by reference in SPL: the keys CSV a large lookup is shipped as in
//! the app, and the commands that look an event's key up in it.
//!
//! Input: an [`ir::Lookup`] (for the file) or the fields of a membership
//! test (for the commands). Output: `lookups/tripline_<lookup>_keys.csv`
//! (one quoted `key` column, [`lookup_ref::keys_csv`]), its transforms.conf
//! stanza (`case_sensitive_match = 1`), and the `eval` and `lookup` lines
//! of a search.
//!
//! The keys are Sentinel's and Elastic's ([`lookup_ref`]): each row
//! lowercased, each cell after a separator no cell contains. A search
//! builds the event's key, looks it up exactly, and tests that the lookup
//! output a value:
//!
//! ```text
//! | eval tripline_L_key=replace("|".a."|".b, "K", "k"), tripline_L_found=null()
//! | eval tripline_L_key=if(match(tripline_L_key, "^[\x00-\x7F]*$"), lower(tripline_L_key), null())
//! | lookup tripline_L_keys key AS tripline_L_key OUTPUT key AS tripline_L_found
//! ```
//!
//! Why that is membership. The lookup matches the event field's value
//! against the lookup field and copies the output field of a matching row
//! (https://help.splunk.com/splunk-enterprise/spl-search-reference/10.0/search-commands/lookup);
//! `case_sensitive_match = 1` makes the match exact
//! (https://docs.splunk.com/Documentation/Splunk/6.4.3/Knowledge/Addfieldmatchingrulestoyourlookupconfiguration).
//! `tripline_L_found` is cleared first, so an event that carries a field of
//! that name cannot pass for a match. Case: the Kelvin sign (the one
//! non-ASCII character whose Unicode lowercase is ASCII) becomes `k`
//! (`replace` takes a PCRE pattern, in which the sign is a literal), then
//! only a key of ASCII bytes is lowercased by `lower()` and kept
//! (https://help.splunk.com/splunk-enterprise/spl-search-reference/10.0/evaluation-functions/text-functions);
//! any other value lowercases to non-ASCII in the evaluator and is in no
//! key, and its key here is `null`, which looks nothing up. A key ending in
//! whitespace is not shipped: a CSV reader may trim it.

use crate::ir;
use crate::targets::lookup_ref::{self, FOLDED_TO_ASCII, Shipped};

use super::lookup_name;
use super::quote::spl_string;

/// The one column of a keys CSV.
pub const KEY_COLUMN: &str = "key";

/// The lookup definition (transforms.conf stanza) of a lookup's keys.
pub fn definition(lookup: &str) -> String {
    format!("{}_keys", lookup_name(lookup))
}

/// The search field that holds an event's key.
pub fn key_field(lookup: &str) -> String {
    format!("{}_key", lookup_name(lookup))
}

/// The search field the lookup fills when the key is a row.
pub fn found_field(lookup: &str) -> String {
    format!("{}_found", lookup_name(lookup))
}

/// The keys of a lookup as the app ships them, or `None` when it cannot be
/// referenced exactly ([`lookup_ref::shipped`]) or a key ends in whitespace.
pub fn shipped(lookup: &ir::Lookup) -> Option<Shipped> {
    let shipped = lookup_ref::shipped(lookup)?;
    if shipped
        .keys
        .iter()
        .any(|key| key.ends_with(|character: char| character.is_ascii_whitespace()))
    {
        return None;
    }
    Some(shipped)
}

/// The keys CSV of a lookup.
pub fn keys_csv(shipped: &Shipped) -> String {
    lookup_ref::keys_csv(KEY_COLUMN, shipped)
}

/// The lines that give each event the key of `fields` (eval references)
/// and look it up.
pub fn join_lines(lookup: &str, separator: char, fields: &[String]) -> Vec<String> {
    let (key, found) = (key_field(lookup), found_field(lookup));
    let separator = spl_string(&separator.to_string());
    let parts: Vec<String> = fields
        .iter()
        .map(|field| format!("{separator}.{field}"))
        .collect();
    let mut joined = parts.join(".");
    for (from, to) in FOLDED_TO_ASCII {
        joined = format!(
            "replace({joined}, {}, {})",
            spl_string(&from.to_string()),
            spl_string(&to.to_string())
        );
    }
    let ascii = spl_string(r"^[\x00-\x7F]*$");
    vec![
        format!("| eval {key}={joined}, {found}=null()"),
        format!("| eval {key}=if(match({key}, {ascii}), lower({key}), null())"),
        format!(
            "| lookup {} {KEY_COLUMN} AS {key} OUTPUT {KEY_COLUMN} AS {found}",
            definition(lookup)
        ),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn lookup(rows: &[&[&str]]) -> ir::Lookup {
        lookup_ref::string_lookup("user_scopes", &["a", "b"], rows)
    }

    #[test]
    fn the_event_key_is_built_lowercased_only_when_ascii() {
        let lines = join_lines("user_scopes", '|', &["user_id".into(), "'a.b'".into()]);
        assert_eq!(
            lines,
            [
                "| eval tripline_user_scopes_key=replace(replace(\"|\".user_id.\"|\".'a.b', \"\u{17F}\", \"s\"), \"\u{212A}\", \"k\"), tripline_user_scopes_found=null()",
                "| eval tripline_user_scopes_key=if(match(tripline_user_scopes_key, \"^[\\\\x00-\\\\x7F]*$\"), lower(tripline_user_scopes_key), null())",
                "| lookup tripline_user_scopes_keys key AS tripline_user_scopes_key OUTPUT key AS tripline_user_scopes_found",
            ]
        );
    }

    #[test]
    fn hostile_keys_are_one_quoted_field_and_trailing_space_is_not_shipped() {
        let table = lookup(&[
            &["=cmd()", "a,b"],
            &["+x", "say \"hi\""],
            &["-1", "@sum(A1)"],
        ]);
        let csv = keys_csv(&shipped(&table).unwrap());
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            ["key"]
        );
        let keys: Vec<String> = reader
            .records()
            .map(|record| {
                let record = record.unwrap();
                assert_eq!(record.len(), 1);
                record[0].to_string()
            })
            .collect();
        assert_eq!(keys, ["|+x|say \"hi\"", "|-1|@sum(a1)", "|=cmd()|a,b"]);
        assert!(shipped(&lookup(&[&["a", "b "]])).is_none());
        assert!(shipped(&lookup(&[&["a ", "b"]])).is_some());
    }
}
