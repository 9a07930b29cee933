//! The compile counts `docs/targets.md` states ("Of the shipped rules, N
//! compile" in a target's section) are the counts `compile` gives on the
//! shipped pack, so a change to a target cannot leave them stale.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use tripline::project::{LoadOptions, load};
use tripline::targets;

/// Each `## `id`` section's stated count, for the sections that state one.
fn stated_counts(doc: &str) -> Vec<(String, usize)> {
    let marker =
        regex::Regex::new(r"Of\s+the\s+shipped\s+rules,\s+(\d+)(?:\s+of\s+\d+)?\s+compile")
            .expect("the marker pattern");
    let mut counts = Vec::new();
    for section in doc.split("\n## `").skip(1) {
        let Some((id, body)) = section.split_once('`') else {
            continue;
        };
        let body = body.split("\n## ").next().unwrap_or(body);
        if let Some(found) = marker.captures(body) {
            counts.push((id.to_string(), found[1].parse().expect("a number")));
        }
    }
    counts
}

#[test]
fn the_compile_counts_in_docs_targets_are_current() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate directory");
    let doc = std::fs::read_to_string("docs/targets.md").expect("docs/targets.md");
    let stated = stated_counts(&doc);
    let ids: Vec<&str> = stated.iter().map(|(id, _)| id.as_str()).collect();
    for expected in ["sentinel_kql", "sigma", "kibana_kql", "elastic_esql"] {
        assert!(
            ids.contains(&expected),
            "docs/targets.md states no \"Of the shipped rules, N compile\" for {expected}: {ids:?}"
        );
    }
    let project = load(&LoadOptions {
        paths: vec![PathBuf::from("rules")],
        ..LoadOptions::default()
    })
    .expect("the shipped pack loads");
    let pack = project.pack.as_ref().expect("the shipped pack checks");
    let registry = targets::registry();
    let mut wrong = Vec::new();
    for (id, count) in &stated {
        let target = registry
            .iter()
            .find(|target| target.id() == id)
            .unwrap_or_else(|| panic!("docs/targets.md has a section for `{id}`, no such target"));
        let mapping = target.default_mapping(&pack.schema);
        let compiled = pack
            .rules
            .iter()
            .filter(|rule| {
                targets::compile_rule(target.as_ref(), rule, pack, &mapping, &registry).is_ok()
            })
            .count();
        if compiled != *count {
            wrong.push(format!(
                "{id}: the doc says {count}, compile gives {compiled}"
            ));
        }
    }
    assert!(wrong.is_empty(), "docs/targets.md: {wrong:#?}");
}

#[test]
fn the_marker_reads_both_spellings() {
    let doc = "intro\n## `a`\nOf the\nshipped rules, 23 of 23 compile: all.\n## `b`\nunder the profile 13 compile. Of the shipped rules, 8 compile (x).\n## `c`\nnothing\n";
    assert_eq!(
        stated_counts(doc),
        vec![("a".to_string(), 23), ("b".to_string(), 8)]
    );
}
