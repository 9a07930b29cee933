//! Every diagnostic code has a fixture: `tests/fixtures/errors/<CODE>.tdl`.
//!
//! Each fixture is parsed and checked alone (with its own tiny schema), its
//! rendered diagnostics are snapshotted under `tests/snapshots/errors/<CODE>.snap`
//! with the fixture text as the snapshot description, and it must produce its
//! own code. Lines `// param: NAME=VALUE` at the top of a fixture become
//! parameter overrides, for the override codes. Target capability fixtures
//! (E04xx) are also compiled for every registered target, and `// target: ID`
//! names a target on the command line, for the unknown-target code.

use std::path::Path;

use insta::assert_snapshot;
use tripline::check::{CheckOptions, check};
use tripline::diagnostics::codes::REGISTRY;
use tripline::diagnostics::{ColorMode, Diagnostic, render_human};
use tripline::source::Sources;
use tripline::syntax::parse;
use tripline::targets;

const FIXTURES: &str = "tests/fixtures/errors";

/// Codes other stages own, with fixtures of their own: event-line, path,
/// configuration and test-file inputs (E0510-E0539).
fn owned_elsewhere(code: &str) -> bool {
    code.strip_prefix("E05")
        .and_then(|rest| rest.parse::<u32>().ok())
        .is_some_and(|number| (10..40).contains(&number))
}

/// Parses and checks one fixture: its diagnostics and their rendering.
fn run(code: &str) -> (String, Vec<Diagnostic>, String) {
    let path = format!("{FIXTURES}/{code}.tdl");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&path))
        .unwrap_or_else(|error| panic!("{path}: {error}"));
    let mut options = CheckOptions::default();
    for line in text.lines().take_while(|line| line.starts_with("//")) {
        if let Some((name, value)) = line
            .strip_prefix("// param: ")
            .and_then(|setting| setting.split_once('='))
        {
            options.params.insert(name.to_string(), value.to_string());
        }
    }
    let mut sources = Sources::new();
    let id = sources.add(path.clone(), text.clone());
    let (file, mut diagnostics) = parse(&text, id);
    if diagnostics.is_empty() {
        let (pack, checked) = check(&sources, &[(id, file)], &options);
        diagnostics = checked;
        if let Some(pack) = pack.filter(|_| code.starts_with("E04")) {
            diagnostics.extend(compile_all(&text, &pack, &sources));
        }
    }
    let rendered = render_human(&diagnostics, &sources, ColorMode::Never);
    (text, diagnostics, rendered)
}

/// Target capability fixtures (E04xx): the checked pack compiled for every
/// registered target, or for the `// target: ID` named in the fixture.
fn compile_all(text: &str, pack: &tripline::ir::Pack, sources: &Sources) -> Vec<Diagnostic> {
    let registry = targets::registry();
    let mut diagnostics = Vec::new();
    for line in text.lines().take_while(|line| line.starts_with("//")) {
        if let Some(id) = line.strip_prefix("// target: ") {
            let id = id.trim();
            if targets::find(id).is_none() {
                diagnostics.push(targets::unknown_target(id, &registry));
            }
        }
    }
    for target in &registry {
        let mapping = target.default_mapping(&pack.schema);
        for rule in &pack.rules {
            if let Err(problems) =
                targets::compile_rule(target.as_ref(), rule, pack, &mapping, &registry)
            {
                diagnostics.extend(problems.iter().map(|problem| {
                    targets::problem_diagnostic(problem, target.id(), rule, sources)
                }));
            }
        }
    }
    diagnostics
}

fn fixture_codes() -> Vec<String> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES);
    let mut codes: Vec<String> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".tdl").map(str::to_string)
        })
        .collect();
    codes.sort();
    codes
}

#[test]
fn every_fixture_reports_its_code_and_matches_its_snapshot() {
    // The test runs in the crate root, so lookup paths relative to fixtures resolve.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap_or_else(|error| panic!("{error}"));
    for code in fixture_codes() {
        let (text, diagnostics, rendered) = run(&code);
        assert!(
            diagnostics
                .iter()
                .any(|diagnostic| diagnostic.code.as_str() == code),
            "{code}.tdl does not report {code}:\n{rendered}"
        );
        insta::with_settings!({
            snapshot_path => "snapshots/errors",
            prepend_module_to_snapshot => false,
            description => text,
        }, {
            assert_snapshot!(code.clone(), rendered);
        });
    }
}

#[test]
fn every_registry_code_has_a_fixture() {
    let fixtures = fixture_codes();
    let missing: Vec<&str> = REGISTRY
        .iter()
        .map(|info| info.code)
        .filter(|code| !owned_elsewhere(code) && !fixtures.iter().any(|fixture| fixture == code))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a fixture in {FIXTURES}: {missing:?}"
    );
}

#[test]
fn messages_name_what_was_meant() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap_or_else(|error| panic!("{error}"));
    let (_, _, typo) = run("E0201");
    assert!(
        typo.contains("help: a field with a similar name exists: `user_input`"),
        "{typo}"
    );
    let (_, _, wrong_type) = run("E0202");
    assert!(
        wrong_type.contains(
            "`output_tokens` is not a field of `tool_call`; it is a field of `inference`"
        ),
        "{wrong_type}"
    );
    let (_, _, mismatch) = run("E0203");
    assert!(
        mismatch.contains("`==` compares `int` with `string`"),
        "{mismatch}"
    );
    let (_, _, syntax) = run("E0101");
    assert!(syntax.contains("`==`"), "{syntax}");
    assert!(tests_paths_are_relative(&typo), "{typo}");
}

fn tests_paths_are_relative(rendered: &str) -> bool {
    rendered.contains("tests/fixtures/errors/E0201.tdl")
        && !rendered.contains(env!("CARGO_MANIFEST_DIR"))
}
