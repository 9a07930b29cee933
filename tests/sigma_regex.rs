//! Every `|re` value the `sigma` target emits for the shipped pack keeps to
//! the Sigma specification's regex subset as rsigma reads it: no
//! look-around or other `(?` group (inline flags are `|i`), no class that
//! only lists one letter's case variants (case-insensitive needles are
//! written as they are under `|re|i`), and it compiles with Rust's `regex`
//! the way rsigma compiles it (`(?i)` prepended for `|i`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod pack_support;

use serde_yaml::Value as Yaml;
use tripline::ir::case::fold_char;
use tripline::targets;

/// The `(key, pattern)` of every `|re` value under `value`.
fn re_values(value: &Yaml, key: Option<&str>, out: &mut Vec<(String, String)>) {
    match value {
        Yaml::Mapping(map) => {
            for (inner, value) in map {
                re_values(value, inner.as_str(), out);
            }
        }
        Yaml::Sequence(items) => {
            for item in items {
                re_values(item, key, out);
            }
        }
        Yaml::String(text) => {
            if let Some(key) = key.filter(|key| key.split('|').any(|part| part == "re")) {
                out.push((key.to_string(), text.clone()));
            }
        }
        _ => {}
    }
}

/// The bracket classes of a pattern whose members are the case variants of
/// one letter, such as `[Kk\u{212A}]`.
fn case_classes(pattern: &str) -> Vec<String> {
    let characters: Vec<char> = pattern.chars().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        match characters[index] {
            '\\' => index += 2,
            '[' => {
                let close = characters[index..]
                    .iter()
                    .position(|character| *character == ']')
                    .map_or(characters.len(), |offset| index + offset);
                let members = &characters[index + 1..close.min(characters.len())];
                let letters = members.len() >= 2
                    && members.iter().all(|member| {
                        member.is_alphabetic() && fold_char(*member) == fold_char(members[0])
                    });
                if letters {
                    found.push(members.iter().collect());
                }
                index = close + 1;
            }
            _ => index += 1,
        }
    }
    found
}

#[test]
fn case_classes_are_found() {
    assert_eq!(
        case_classes("^[Kk\u{212A}]ey$"),
        vec!["Kk\u{212A}".to_string()]
    );
    assert!(case_classes("[a-z][0-9A-Z_a-z]\\[Aa]").is_empty());
}

#[test]
fn emitted_sigma_regexes_keep_to_the_subset_rsigma_reads() {
    let project = pack_support::shipped_project();
    let pack = project.pack.as_ref().expect("the shipped pack checks");
    let registry = targets::registry();
    let target = registry
        .iter()
        .find(|target| target.id() == "sigma")
        .expect("the sigma target");
    let mapping = target.default_mapping(&pack.schema);
    let mut checked = 0;
    let mut insensitive = 0;
    for rule in &pack.rules {
        let Ok(artifacts) = targets::compile_rule(target.as_ref(), rule, pack, &mapping, &registry)
        else {
            continue;
        };
        for artifact in artifacts
            .iter()
            .filter(|artifact| artifact.path.starts_with("rules/"))
        {
            let document: Yaml = serde_yaml::from_str(&artifact.text).unwrap();
            let mut values = Vec::new();
            re_values(&document["detection"], None, &mut values);
            for (key, pattern) in values {
                let at = format!("{} {key}: {pattern}", rule.id);
                assert!(!pattern.contains("(?"), "a `(?` group in {at}");
                assert!(case_classes(&pattern).is_empty(), "a case class in {at}");
                let flags = if key.ends_with("|i") { "(?i)" } else { "" };
                insensitive += usize::from(!flags.is_empty());
                regex::Regex::new(&format!("{flags}{pattern}"))
                    .unwrap_or_else(|error| panic!("{at}: {error}"));
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} `|re` values checked");
    assert!(insensitive > 0, "no `|re|i` value checked");
}
