//! Every shipped rule × every registered target has a reviewed snapshot:
//! `tests/snapshots/compile/<target>__<rule id>.snap` holds the artifacts, or
//! where the target cannot express the rule, the rendered E04xx diagnostics.
//! The snapshot set documents the capability matrix; an orphaned snapshot
//! (no such rule × target any more) fails the test.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod pack_support;

use std::collections::BTreeSet;
use std::path::Path;

use insta::{Settings, assert_snapshot};
use tripline::diagnostics::{ColorMode, render_human};
use tripline::targets;

const SNAPSHOTS: &str = "tests/snapshots/compile";

#[test]
fn every_rule_for_every_target_matches_its_snapshot() {
    let project = pack_support::shipped_project();
    let pack = project.pack.as_ref().expect("the shipped pack checks");
    let registry = targets::registry();
    let mut expected = BTreeSet::new();
    for target in &registry {
        let mapping = target.default_mapping(&pack.schema);
        for rule in &pack.rules {
            let name = format!("{}__{}", target.id(), rule.id);
            expected.insert(format!("{name}.snap"));
            let rendered =
                match targets::compile_rule(target.as_ref(), rule, pack, &mapping, &registry) {
                    Ok(artifacts) => artifacts
                        .iter()
                        .map(|artifact| format!("==> {}\n{}", artifact.path, artifact.text))
                        .collect::<String>(),
                    Err(problems) => {
                        let diagnostics: Vec<_> = problems
                            .iter()
                            .map(|problem| {
                                targets::problem_diagnostic(
                                    problem,
                                    target.id(),
                                    rule,
                                    &project.sources,
                                )
                            })
                            .collect();
                        render_human(&diagnostics, &project.sources, ColorMode::Never)
                    }
                };
            let mut settings = Settings::clone_current();
            settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOTS));
            settings.set_prepend_module_to_snapshot(false);
            settings.set_description(format!("rule {} for target {}", rule.id, target.id()));
            settings.bind(|| assert_snapshot!(name, rendered));
        }
    }
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOTS);
    let orphans: Vec<String> = std::fs::read_dir(&directory)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".snap") && !expected.contains(name))
        .collect();
    assert!(
        orphans.is_empty(),
        "orphaned snapshots (no rule × target): {orphans:?}"
    );
}

#[test]
fn the_capability_table_lists_every_need_for_every_target() {
    let registry = targets::registry();
    let table = targets::capability_table(&registry);
    assert_eq!(table.lines().count(), 2 + tripline::ir::Need::ALL.len());
    for target in &registry {
        assert!(table.contains(target.id()));
    }
}
