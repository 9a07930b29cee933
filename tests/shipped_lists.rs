//! Every regex list the shipped pack declares compiles for every target
//! that has regexes (issue 15): a rule matching each list, against the raw
//! field and against its normalised companion, must compile everywhere
//! `Need::Regex` is supported, so a list edit that one engine cannot run
//! fails here rather than in a content repository's build. The exception:
//! the lists whose regexes Elasticsearch could not turn into an automaton
//! (Lucene's determinize limit) are refused by the Elastic targets, and
//! the test pins exactly which.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use tripline::ir::Need;
use tripline::project::{LoadOptions, load};
use tripline::targets;

/// The names of the regex lists the shipped pack declares.
fn shipped_regex_lists() -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![PathBuf::from("rules")];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        } else if path.extension().is_some_and(|ext| ext == "tdl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                if let Some(rest) = line.strip_prefix("list ")
                    && let Some((name, declared)) = rest.split_once(':')
                    && declared.trim_start().starts_with("regex")
                {
                    names.push(name.trim().to_string());
                }
            }
        }
    }
    names.sort();
    names
}

#[test]
fn every_shipped_regex_list_compiles_for_every_regex_target() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let lists = shipped_regex_lists();
    assert_eq!(
        lists,
        [
            "extraction_phrases",
            "injection_markers",
            "invisible_runs",
            "jailbreak_terms",
            "jailbreak_words_cs",
            "secret_patterns",
        ],
        "the pack's regex lists"
    );
    let directory =
        std::env::temp_dir().join(format!("tripline-shipped-lists-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let mut rules = String::new();
    for list in &lists {
        for (suffix, subject) in [("raw", "user_input"), ("norm", "norm(user_input)")] {
            rules.push_str(&format!(
                "rule local.{list}_{suffix} {{\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: llm_attack\n  guide: \"g\"\n  match inference where {subject} matches_any {list}\n}}\n"
            ));
        }
    }
    let file = directory.join("lists.tdl");
    std::fs::write(&file, rules).unwrap();
    let project = load(&LoadOptions {
        paths: vec![PathBuf::from("rules"), file],
        ..LoadOptions::default()
    })
    .expect("the pack loads");
    let pack = project.pack.as_ref().expect("the pack checks");
    let registry = targets::registry();
    let mut checked = 0;
    let mut refused: Vec<String> = Vec::new();
    for target in registry
        .iter()
        .filter(|target| target.supports(Need::Regex))
    {
        let mapping = target.default_mapping(&pack.schema);
        for rule in pack
            .rules
            .iter()
            .filter(|rule| rule.id.starts_with("local."))
        {
            if let Err(problems) =
                targets::compile_rule(target.as_ref(), rule, pack, &mapping, &registry)
            {
                let messages: Vec<&String> =
                    problems.iter().map(|problem| &problem.message).collect();
                // The one refusal allowed: Elasticsearch could not build the
                // automaton of a regex (docs/targets.md, "Regexes Lucene
                // cannot determinize").
                assert!(
                    messages
                        .iter()
                        .all(|message| message.contains("TooComplexToDeterminizeException")),
                    "{} cannot compile {}: {messages:#?}",
                    target.id(),
                    rule.id,
                );
                refused.push(format!("{} {}", target.id(), rule.id));
            }
            checked += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&directory);
    // Seven targets have regexes (all but Kibana KQL), 12 rules each.
    assert_eq!(checked, 7 * 12);
    // Lucene 9.9.1 refuses a regex of each of these lists (the Google key's
    // exact length; word gaps and bounded runs that overlap after `.*`),
    // so the Elastic targets cannot run them; every other pair compiles.
    refused.sort();
    let expected: Vec<String> = ["elastic_eql", "elastic_esql"]
        .iter()
        .flat_map(|target| {
            ["extraction_phrases", "injection_markers", "secret_patterns"]
                .iter()
                .flat_map(move |list| {
                    ["norm", "raw"].map(|subject| format!("{target} local.{list}_{subject}"))
                })
        })
        .collect();
    assert_eq!(refused, expected, "the pairs refused for Lucene's limit");
}
