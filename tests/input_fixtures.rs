//! Fixtures for the input codes of project loading and the test runner
//! (E0530-E0539): `tests/fixtures/inputs/<CODE>/`, each with an `args` file
//! (the paths given to `tripline`, relative to the fixture) and, when the
//! fixture exercises the test runner, a `run-tests` marker. The rendered
//! diagnostic is snapshotted like the rule fixtures.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use tripline::diagnostics::codes::REGISTRY;
use tripline::diagnostics::{ColorMode, Diagnostic, render_human};
use tripline::project::{LoadOptions, load};
use tripline::source::Sources;
use tripline::testing::{self, RunOptions};

const FIXTURES: &str = "tests/fixtures/inputs";

fn run(code: &str) -> Diagnostic {
    let directory = PathBuf::from(FIXTURES).join(code);
    let args = std::fs::read_to_string(directory.join("args")).expect("args file");
    let paths: Vec<PathBuf> = args
        .lines()
        .map(|line| directory.join(line.trim()))
        .collect();
    let options = LoadOptions {
        paths,
        ..LoadOptions::default()
    };
    let project = match load(&options) {
        Ok(project) => project,
        Err(diagnostic) => return diagnostic,
    };
    assert!(
        directory.join("run-tests").exists(),
        "{code}: loading succeeded"
    );
    let pack = project.pack.expect("the fixture's rules check");
    let files = testing::selected_files(&project.test_files, true);
    match testing::run(&pack, &files, &RunOptions::default()) {
        Ok(report) => panic!(
            "{code}: the test run succeeded with {} outcomes",
            report.outcomes.len()
        ),
        Err(diagnostic) => diagnostic,
    }
}

#[test]
fn every_input_fixture_reports_its_code() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("crate root");
    let mut codes: Vec<String> = std::fs::read_dir(FIXTURES)
        .expect("fixtures")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    codes.sort();
    for code in &codes {
        let diagnostic = run(code);
        assert_eq!(diagnostic.code.as_str(), code, "{diagnostic:?}");
        let rendered = render_human(&[diagnostic], &Sources::new(), ColorMode::Never);
        insta::with_settings!({
            snapshot_path => "snapshots/inputs",
            prepend_module_to_snapshot => false,
            description => format!("tripline fixture {FIXTURES}/{code}"),
        }, {
            insta::assert_snapshot!(code.clone(), rendered);
        });
    }
    let missing: Vec<&str> = REGISTRY
        .iter()
        .map(|info| info.code)
        .filter(|code| code.starts_with("E053") && !Path::new(FIXTURES).join(code).is_dir())
        .collect();
    assert!(
        missing.is_empty(),
        "input codes without a fixture: {missing:?}"
    );
}
