//! Lookups by reference in ES|QL: the lookup index a large lookup is shipped
//! as, and the commands that join a rule's events to it.
//!
//! Input: an [`ir::Lookup`] (for the index) or the fields of a membership
//! test (for the commands). Output: the index's settings and mappings
//! (`PUT /<index>`), its documents as a `_bulk` NDJSON body, and the `EVAL`
//! and `LOOKUP JOIN` commands of a query.
//!
//! The index `tripline_<lookup>` holds one document per key of
//! [`lookup_ref::Shipped`] (`|user-0001|public`: each cell lowercased after a
//! separator no cell contains): `tripline_<lookup>_key` (keyword, also the
//! document `_id`, so keys are unique and a second bulk load overwrites
//! rather than duplicates) and `tripline_<lookup>_found: true`. A query
//! builds the same key from the event, joins on it and tests
//! `tripline_<lookup>_found IS NOT NULL`.
//!
//! Why that is membership. `LOOKUP JOIN` keeps every incoming row: with no
//! matching document it adds `null`s, with several it adds one row per
//! match
//! (https://www.elastic.co/docs/reference/query-languages/esql/esql-lookup-join);
//! keys are unique, so a row is never multiplied. A multivalued key matches
//! nothing (same page), and a `null` key equals no key.
//! The index must have `index.mode: lookup`
//! (https://www.elastic.co/docs/reference/elasticsearch/index-settings/index-modules#index-mode-setting).
//!
//! Case. The evaluator compares Unicode lowercase on both sides; shipped
//! keys are ASCII ([`lookup_ref`]). The event key is built with the Kelvin
//! sign (the one non-ASCII character whose lowercase is ASCII) replaced by
//! `k` first (`REPLACE` takes a regular expression; the sign is a literal in
//! it: https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions/replace),
//! then kept only when it is ASCII: `BYTE_LENGTH` counts UTF-8 bytes and
//! `LENGTH` characters, equal exactly when every character is one byte
//! (https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions/byte_length),
//! and only then lowercased by `TO_LOWER`
//! (https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions/to_lower),
//! whose mapping of ASCII is the evaluator's (`A`-`Z` to `a`-`z`). Any
//! other value lowercases to non-ASCII in the evaluator and is in no key,
//! and its key here is `null`, which matches nothing.

use serde_json::json;

use crate::ir;
use crate::targets::lookup_ref::{self, FOLDED_TO_ASCII, Shipped};

use super::quote::esql_string;

/// Elasticsearch's limit on a document `_id`, in bytes
/// (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/mapping-id-field).
pub const MAX_ID_BYTES: usize = 512;

/// The name of the lookup index of `lookup`.
pub fn index_name(lookup: &str) -> String {
    lookup_ref::shipped_name(lookup)
}

/// The key column, in the index and in the query.
pub fn key_column(lookup: &str) -> String {
    format!("{}_key", index_name(lookup))
}

/// The column the join fills (`true`) when the key is in the index.
pub fn found_column(lookup: &str) -> String {
    format!("{}_found", index_name(lookup))
}

/// The keys of a lookup as its index holds them, or `None` when it cannot
/// be referenced exactly ([`lookup_ref::shipped`]) or a key is longer than
/// a document `_id` may be.
pub fn shipped(lookup: &ir::Lookup) -> Option<Shipped> {
    let shipped = lookup_ref::shipped(lookup)?;
    if shipped.keys.iter().any(|key| key.len() > MAX_ID_BYTES) {
        return None;
    }
    Some(shipped)
}

/// The body of `PUT /<index>`: lookup mode, a strict mapping of the two
/// columns, and what the index is in `_meta`.
pub fn index_body(lookup: &ir::Lookup, shipped: &Shipped) -> serde_json::Value {
    let columns: Vec<&str> = lookup
        .columns
        .iter()
        .map(|column| column.name.as_str())
        .collect();
    json!({
        "settings": { "index": { "mode": "lookup" } },
        "mappings": {
            "dynamic": "strict",
            "_meta": {
                "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")),
                "target": super::ID,
                "lookup": lookup.name,
                "file": lookup.file,
                "description": format!(
                    "Each row of the lookup as `{}` lowercased, each cell after `{}`. Generated; edit the lookup and recompile.",
                    columns.join(", "),
                    shipped.separator.escape_default()
                ),
            },
            "properties": {
                key_column(&lookup.name): { "type": "keyword" },
                found_column(&lookup.name): { "type": "boolean" },
            },
        },
    })
}

/// The `_bulk` body that loads the index: an `index` action (the key as
/// `_id`) and the document, one JSON object a line, every line ended.
pub fn bulk_ndjson(lookup: &ir::Lookup, shipped: &Shipped) -> String {
    let index = index_name(&lookup.name);
    let (key, found) = (key_column(&lookup.name), found_column(&lookup.name));
    let mut text = String::new();
    for value in &shipped.keys {
        let action = json!({ "index": { "_index": index, "_id": value } });
        let document = json!({ key.as_str(): value, found.as_str(): true });
        text.push_str(&format!("{action}\n{document}\n"));
    }
    text
}

/// The commands that give each event the key of `columns` (field
/// references) and join it to the index of `lookup`.
pub fn join_commands(lookup: &str, separator: char, columns: &[String]) -> Vec<String> {
    let key = key_column(lookup);
    let separator = esql_string(&separator.to_string());
    let parts: Vec<String> = columns
        .iter()
        .flat_map(|column| [separator.clone(), column.clone()])
        .collect();
    let mut joined = format!("CONCAT({})", parts.join(", "));
    for (from, to) in FOLDED_TO_ASCII {
        joined = format!(
            "REPLACE({joined}, {}, {})",
            esql_string(&from.to_string()),
            esql_string(&to.to_string())
        );
    }
    vec![
        format!("EVAL {key} = {joined}"),
        format!("EVAL {key} = CASE(BYTE_LENGTH({key}) == LENGTH({key}), TO_LOWER({key}))"),
        format!("LOOKUP JOIN {} ON {key}", index_name(lookup)),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn lookup(columns: &[&str], rows: &[&[&str]]) -> ir::Lookup {
        lookup_ref::string_lookup("user scopes", columns, rows)
    }

    #[test]
    fn hostile_values_are_json_data_and_duplicates_one_document() {
        let table = lookup(
            &["a", "b"],
            &[
                &["=cmd()", "say \"hi\", then"],
                &["=CMD()", "SAY \"HI\", THEN"],
                &["back\\slash", "@sum(A1)"],
                &["{\"index\":{}}", "+1"],
            ],
        );
        let shipped = shipped(&table).unwrap();
        let text = bulk_ndjson(&table, &shipped);
        let lines: Vec<&str> = text.lines().collect();
        // Two rows differ only in case: one key, one document.
        assert_eq!(lines.len(), 6, "{text}");
        assert!(text.ends_with('\n'));
        let mut keys = Vec::new();
        for pair in lines.chunks(2) {
            let action: serde_json::Value = serde_json::from_str(pair[0]).unwrap();
            let document: serde_json::Value = serde_json::from_str(pair[1]).unwrap();
            let id = action["index"]["_id"].as_str().unwrap();
            assert_eq!(action["index"]["_index"], "tripline_user_scopes");
            assert_eq!(document["tripline_user_scopes_key"], id);
            assert_eq!(document["tripline_user_scopes_found"], true);
            assert_eq!(document.as_object().unwrap().len(), 2);
            keys.push(id.to_string());
        }
        let expected: Vec<String> = shipped.keys.iter().cloned().collect();
        assert_eq!(keys, expected);
        assert!(keys.contains(&"|=cmd()|say \"hi\", then".to_string()));
        assert!(keys.contains(&"|{\"index\":{}}|+1".to_string()));
    }

    #[test]
    fn keys_longer_than_an_id_are_not_shipped() {
        let long = "x".repeat(MAX_ID_BYTES);
        assert!(shipped(&lookup(&["a"], &[&[long.as_str()]])).is_none());
        let fits = "x".repeat(MAX_ID_BYTES - 1);
        assert!(shipped(&lookup(&["a"], &[&[fits.as_str()]])).is_some());
    }

    #[test]
    fn the_index_is_in_lookup_mode_with_a_strict_mapping() {
        let table = lookup(&["a"], &[&["x"]]);
        let body = index_body(&table, &shipped(&table).unwrap());
        assert_eq!(body["settings"]["index"]["mode"], "lookup");
        assert_eq!(body["mappings"]["dynamic"], "strict");
        let properties = body["mappings"]["properties"].as_object().unwrap();
        assert_eq!(
            properties.keys().collect::<Vec<_>>(),
            ["tripline_user_scopes_found", "tripline_user_scopes_key"]
        );
    }

    #[test]
    fn the_event_key_is_built_lowercased_only_when_ascii() {
        let commands = join_commands(
            "user_scopes",
            '|',
            &["user.id".to_string(), "`odd name`".to_string()],
        );
        assert_eq!(
            commands,
            [
                "EVAL tripline_user_scopes_key = REPLACE(REPLACE(CONCAT(\"|\", user.id, \"|\", `odd name`), \"\u{17F}\", \"s\"), \"\u{212A}\", \"k\")",
                "EVAL tripline_user_scopes_key = CASE(BYTE_LENGTH(tripline_user_scopes_key) == LENGTH(tripline_user_scopes_key), TO_LOWER(tripline_user_scopes_key))",
                "LOOKUP JOIN tripline_user_scopes ON tripline_user_scopes_key",
            ]
        );
        let control = join_commands("l", '\u{1f}', &["f".to_string()]);
        assert!(control[0].contains("CONCAT(\"\u{1f}\", f)"), "{control:?}");
    }
}
