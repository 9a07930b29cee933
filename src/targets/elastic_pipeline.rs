//! The Elasticsearch ingest pipeline that adds the normalised text
//! companions (`*_norm`) where events were not passed through
//! `tripline normalize` before indexing.
//!
//! Painless can do part of [`crate::normalize::normalize`] only, so the
//! pipeline's companion is the same text for most input and differs in a
//! documented gap: no NFKC (full-width and mathematical letters, ligatures
//! stay), no diacritic stripping (a precomposed `é` stays `é`; a combining
//! mark is kept), and Java's lower-case mapping. What it does, per code
//! point, in the normaliser's order: drop invisible characters, fold
//! Cyrillic and Greek lookalikes, lower-case, fold white space. The tables
//! are generated from the normaliser's own functions, so the two never
//! drift. The companion is only written when the event does not carry one.

use serde_json::{Value as Json, json};

use super::Mapping;
use crate::normalize::{NORMALISED_FIELDS, is_invisible, lookalike};

/// The pipeline's name (`PUT _ingest/pipeline/<name>`).
pub const PIPELINE: &str = "tripline-normalize";

/// The Painless script: the same for every field, driven by `params`.
const SCRIPT: &str = r#"Object read(Map doc, String path) {
  if (doc.containsKey(path)) { return doc.get(path); }
  Object node = doc;
  for (String part : path.splitOnToken('.')) {
    if (!(node instanceof Map)) { return null; }
    node = ((Map) node).get(part);
  }
  return node;
}
void write(Map doc, String path, Object value) {
  List parts = path.splitOnToken('.');
  Map node = doc;
  for (int i = 0; i < parts.size() - 1; i++) {
    Object next = node.get(parts.get(i));
    if (!(next instanceof Map)) { next = new HashMap(); node.put(parts.get(i), next); }
    node = (Map) next;
  }
  node.put(parts.get(parts.size() - 1), value);
}
boolean within(List ranges, int c) {
  for (List range : ranges) {
    if (c >= (int) range.get(0) && c <= (int) range.get(1)) { return true; }
  }
  return false;
}
for (Map pair : params.fields) {
  Object raw = read(ctx, pair.field);
  if (!(raw instanceof String) || read(ctx, pair.companion) != null) { continue; }
  String text = (String) raw;
  StringBuilder out = new StringBuilder();
  boolean space = false;
  int i = 0;
  while (i < text.length()) {
    int c = text.codePointAt(i);
    i += Character.charCount(c);
    if (within(params.invisible, c)) { continue; }
    if (within(params.whitespace, c)) {
      if (!space) { out.append(' '); }
      space = true;
      continue;
    }
    space = false;
    Object latin = params.lookalikes.get(String.valueOf(c));
    if (latin != null) { c = (int) latin; }
    out.appendCodePoint(Character.toLowerCase(c));
  }
  write(ctx, pair.companion, out.toString());
}"#;

/// Code point ranges, as `[first, last]` pairs, of the characters `keep` holds for.
fn ranges(keep: impl Fn(char) -> bool) -> Vec<Json> {
    let mut out = Vec::new();
    let mut start: Option<u32> = None;
    for code in 0..=0x10FFFF_u32 {
        let inside = char::from_u32(code).is_some_and(&keep);
        match (inside, start) {
            (true, None) => start = Some(code),
            (false, Some(first)) => {
                out.push(json!([first, code - 1]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(first) = start {
        out.push(json!([first, 0x10FFFF]));
    }
    out
}

/// The ingest pipeline for `mapping`'s field names.
pub fn ingest_pipeline(mapping: &Mapping) -> Json {
    let fields: Vec<Json> = NORMALISED_FIELDS
        .iter()
        .filter_map(|(field, companion)| {
            let field = mapping.fields.get(*field)?;
            let companion = mapping.fields.get(*companion)?;
            Some(json!({ "field": field.name, "companion": companion.name }))
        })
        .collect();
    // Cyrillic and Greek (with their supplements) hold every lookalike.
    let lookalikes: serde_json::Map<String, Json> = (0x370..=0x52F_u32)
        .filter_map(char::from_u32)
        .filter_map(|character| {
            let latin = lookalike(character)?;
            Some(((character as u32).to_string(), json!(latin as u32)))
        })
        .collect();
    json!({
        "description": "Tripline: adds the normalised text companions (*_norm) that tripline normalize would add, as far as Painless can (no NFKC, no diacritic stripping; see docs/targets.md)",
        "_meta": { "generator": format!("tripline {}", env!("CARGO_PKG_VERSION")) },
        "processors": [{
            "script": {
                "tag": "tripline-normalize",
                "lang": "painless",
                "source": SCRIPT,
                "params": {
                    "fields": fields,
                    "invisible": ranges(is_invisible),
                    "whitespace": ranges(char::is_whitespace),
                    "lookalikes": lookalikes,
                },
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::targets::{Target, elastic_eql::ElasticEql};

    #[test]
    fn the_pipeline_has_the_shape_elasticsearch_takes() {
        let mut mapping = ElasticEql.default_mapping(&crate::ir::Schema::default());
        for (field, companion) in NORMALISED_FIELDS {
            for name in [field, companion] {
                mapping.fields.insert(
                    name.to_string(),
                    crate::targets::TargetField {
                        name: format!("tripline.{name}"),
                        field_type: "wildcard".to_string(),
                    },
                );
            }
        }
        let pipeline = ingest_pipeline(&mapping);
        let object = pipeline.as_object().unwrap();
        assert!(object["description"].is_string());
        let processors = object["processors"].as_array().unwrap();
        assert_eq!(processors.len(), 1);
        let script = &processors[0]["script"];
        assert_eq!(script["lang"], "painless");
        assert!(
            script["source"]
                .as_str()
                .unwrap()
                .contains("appendCodePoint")
        );
        let params = &script["params"];
        assert_eq!(params["fields"].as_array().unwrap().len(), 4);
        assert_eq!(params["fields"][0]["field"], "tripline.user_input");
        assert_eq!(params["fields"][0]["companion"], "tripline.user_input_norm");
        // Cyrillic `а` (U+0430) is Latin `a`.
        assert_eq!(params["lookalikes"]["1072"], json!(97));
        // Zero-width space and the tag block are invisible; space is white space.
        let within = |list: &Json, code: u64| {
            list.as_array().unwrap().iter().any(|range| {
                range[0].as_u64().unwrap() <= code && code <= range[1].as_u64().unwrap()
            })
        };
        assert!(within(&params["invisible"], 0x200B));
        assert!(within(&params["invisible"], 0xE0041));
        assert!(!within(&params["invisible"], 0x61));
        assert!(within(&params["whitespace"], 0x20) && within(&params["whitespace"], 0x3000));
        // Every range is a pair of ascending code points.
        for list in [&params["invisible"], &params["whitespace"]] {
            for range in list.as_array().unwrap() {
                assert!(range[0].as_u64().unwrap() <= range[1].as_u64().unwrap());
            }
        }
        // It round-trips as JSON text.
        let text = serde_json::to_string_pretty(&pipeline).unwrap();
        assert_eq!(serde_json::from_str::<Json>(&text).unwrap(), pipeline);
    }
}
