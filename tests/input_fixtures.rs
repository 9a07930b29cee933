//! Fixtures for the input codes of project loading and the test runner
//! (E0530-E0539): `tests/fixtures/inputs/<CODE>/`, each with an `args` file
//! (the paths given to `tripline`, relative to the fixture) and, when the
//! fixture exercises the test runner, a `run-tests` marker. The rendered
//! diagnostic is snapshotted like the rule fixtures.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use tripline::diagnostics::codes::REGISTRY;
use tripline::diagnostics::{ColorMode, render_human};
use tripline::project::{LoadOptions, load};
use tripline::source::Sources;
use tripline::testing::{self, RunOptions, Status};

const FIXTURES: &str = "tests/fixtures/inputs";

/// What a fixture reports: the diagnostic of a failed load, or the message of
/// the failed outcome of a test run.
fn run(code: &str) -> (String, String) {
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
        Err(diagnostic) => {
            let code = diagnostic.code.as_str().to_string();
            return (
                code,
                render_human(&[diagnostic], &Sources::new(), ColorMode::Never),
            );
        }
    };
    // A mistake in a configuration file is an error at its place, reported
    // with the file's text, not a failed load.
    if project.pack.is_none()
        && let Some(error) = project
            .diagnostics
            .clone()
            .into_sorted()
            .into_iter()
            .find(|diagnostic| diagnostic.is_error())
    {
        let code = error.code.as_str().to_string();
        return (
            code,
            render_human(&[error], &project.sources, ColorMode::Never),
        );
    }
    assert!(
        directory.join("run-tests").exists(),
        "{code}: loading succeeded"
    );
    let pack = project.pack.expect("the fixture's rules check");
    let files = testing::selected_files(&project.test_files, true);
    let report = testing::run(&pack, &files, &RunOptions::default()).expect("the run completes");
    let failed = report
        .outcomes
        .iter()
        .find(|outcome| outcome.status == Status::Failed)
        .unwrap_or_else(|| panic!("{code}: every outcome passed"));
    let reported = failed
        .message
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string();
    (
        reported,
        format!("{} :: {}\n{}\n", failed.rule, failed.name, failed.message),
    )
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
        let (reported, rendered) = run(code);
        assert_eq!(&reported, code, "{rendered}");
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
