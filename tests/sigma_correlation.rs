//! The `sigma` target's opt-in profile for backends with epoch-aligned
//! correlation windows (`compile: { sigma: { correlation_windows: epoch } }`):
//! threshold rules become a base rule and an `event_count`/`value_count`
//! correlation; what has no exact form is a located E0402; without the
//! profile nothing changes. Reviewed snapshots of every shipped window rule
//! under the profile are in `tests/snapshots/sigma_correlation/`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod pack_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use insta::{Settings, assert_snapshot};
use tripline::diagnostics::{ColorMode, render_human};
use tripline::ir::Detection;
use tripline::project::{LoadOptions, load};
use tripline::targets::{self, Artifact, Mapping};

fn sigma_mapping(
    pack: &tripline::ir::Pack,
    epoch: bool,
) -> (Vec<Box<dyn targets::Target>>, Mapping) {
    let registry = targets::registry();
    let target = registry
        .iter()
        .find(|target| target.id() == "sigma")
        .expect("the sigma target");
    let mut mapping = target.default_mapping(&pack.schema);
    mapping.epoch_correlation_windows = epoch;
    (registry, mapping)
}

fn compile(
    pack: &tripline::ir::Pack,
    rule: &tripline::ir::Rule,
    epoch: bool,
) -> Result<Vec<Artifact>, Vec<targets::Problem>> {
    let (registry, mapping) = sigma_mapping(pack, epoch);
    let target = registry
        .iter()
        .find(|target| target.id() == "sigma")
        .expect("the sigma target");
    targets::compile_rule(target.as_ref(), rule, pack, &mapping, &registry)
}

#[test]
fn every_shipped_window_rule_under_the_profile_matches_its_snapshot() {
    let project = pack_support::shipped_project();
    let pack = project.pack.as_ref().expect("the shipped pack checks");
    let mut compiled = Vec::new();
    for rule in &pack.rules {
        let with = compile(pack, rule, true);
        if !matches!(rule.detection, Detection::Window { .. }) {
            // Match rules (and every other shape) are the same with or
            // without the profile.
            let without = compile(pack, rule, false);
            let text = |result: &Result<Vec<Artifact>, Vec<targets::Problem>>| match result {
                Ok(artifacts) => artifacts.iter().map(|a| a.text.clone()).collect::<String>(),
                Err(problems) => format!("{problems:?}"),
            };
            assert_eq!(text(&with), text(&without), "{}", rule.id);
            continue;
        }
        let rendered = match &with {
            Ok(artifacts) => {
                compiled.push(rule.id.clone());
                artifacts
                    .iter()
                    .map(|artifact| format!("==> {}\n{}", artifact.path, artifact.text))
                    .collect::<String>()
            }
            Err(problems) => {
                let diagnostics: Vec<_> = problems
                    .iter()
                    .map(|problem| {
                        targets::problem_diagnostic(problem, "sigma", rule, &project.sources)
                    })
                    .collect();
                render_human(&diagnostics, &project.sources, ColorMode::Never)
            }
        };
        let mut settings = Settings::clone_current();
        settings.set_snapshot_path(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/sigma_correlation"),
        );
        settings.set_prepend_module_to_snapshot(false);
        settings.set_description(format!(
            "rule {} for target sigma with correlation_windows: epoch",
            rule.id
        ));
        settings.bind(|| assert_snapshot!(rule.id.clone(), rendered));
    }
    assert_eq!(
        compiled,
        [
            "infra.rate_limit.repeated",
            "llm.policy_refusal.cluster",
            "llm.prompt_extraction.repeated",
            "provider.error_burst",
            "session.input_rate_anomaly",
        ],
        "the shipped threshold rules on `count()` lower bounds compile under the profile"
    );
}

/// Rule `local.NAME` with `body` (rule syntax) against the shipped schema,
/// compiled for sigma under the profile: its one file, or the problems'
/// messages with the rule text at each one's origin.
fn one(name: &str, body: &str) -> Result<String, Vec<(String, String)>> {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let directory = std::env::temp_dir().join(format!(
        "tripline-sigma-correlation-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("rule.tdl");
    let text = format!(
        "rule local.{name} {{\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n{body}\n}}\n"
    );
    std::fs::write(&path, &text).unwrap();
    let project = load(&LoadOptions {
        paths: vec![PathBuf::from("rules/schema"), path],
        ..LoadOptions::default()
    })
    .expect("the rule loads");
    let pack = project.pack.as_ref().expect("the rule checks");
    let result = compile(pack, &pack.rules[0], true);
    let _ = std::fs::remove_dir_all(&directory);
    result
        .map(|artifacts| {
            assert_eq!(artifacts.len(), 1);
            artifacts[0].text.clone()
        })
        .map_err(|problems| {
            problems
                .iter()
                .map(|problem| {
                    let origin = problem.origin;
                    let at = text
                        .get(origin.start as usize..origin.end as usize)
                        .unwrap_or_default()
                        .to_string();
                    (problem.message.clone(), at)
                })
                .collect()
        })
}

#[test]
fn distinct_counts_become_value_count_correlations() {
    let text = one(
        "distinct",
        "  match auth where outcome == \"failure\"\n  group by src_ip within 10m\n  alert when distinct(user_id) >= 4",
    )
    .expect("compiles");
    assert!(text.contains("  type: value_count\n"), "{text}");
    assert!(
        text.contains("  condition:\n    field: user_id\n    gte: 4\n"),
        "{text}"
    );
    assert!(text.contains("  timespan: 10m\n"), "{text}");
    assert!(text.contains("rsigma.window: tumbling\n"), "{text}");
    assert!(
        text.contains("  group_fields_present:\n    src_ip|exists: true\n"),
        "{text}"
    );
}

#[test]
fn lower_bounds_are_normalised_to_whole_counts() {
    let mirrored = one(
        "mirrored",
        "  match auth\n  group by user_id within 1h\n  alert when 3 < count()",
    )
    .expect("compiles");
    assert!(mirrored.contains("  condition:\n    gt: 3\n"), "{mirrored}");
    let both = one(
        "both",
        "  match auth\n  group by user_id within 1d\n  alert when count() > 2 and count() >= 5",
    )
    .expect("compiles");
    assert!(both.contains("  condition:\n    gte: 5\n"), "{both}");
    assert!(both.contains("  timespan: 1d\n"), "{both}");
    let fractional = one(
        "fractional",
        "  match auth\n  within 90m\n  alert when count() >= 2.5",
    )
    .expect("compiles");
    assert!(
        fractional.contains("  condition:\n    gte: 3\n"),
        "{fractional}"
    );
    assert!(fractional.contains("  timespan: 90m\n"), "{fractional}");
    // One global group: no `group-by`, no presence test.
    assert!(!fractional.contains("group-by"), "{fractional}");
    assert!(!fractional.contains("group_fields_present"), "{fractional}");
}

#[test]
fn what_has_no_exact_correlation_is_refused_at_the_construct() {
    let cases = [
        (
            "upper",
            "alert when count() <= 5",
            "count() <= 5",
            "`<=` on a count",
        ),
        (
            "equal",
            "alert when count() == 5",
            "count() == 5",
            "`==` on a count",
        ),
        (
            "either",
            "alert when count() >= 5 or distinct(src_ip) >= 2",
            "count() >= 5 or distinct(src_ip) >= 2",
            "lower bounds",
        ),
        (
            "two",
            "alert when count() >= 5 and distinct(src_ip) >= 2",
            "count() >= 5 and distinct(src_ip) >= 2",
            "two different aggregates",
        ),
        (
            "filtered",
            "alert when count(where model == \"m\") >= 5",
            "count(where model == \"m\")",
            "a filtered aggregate",
        ),
        (
            "summed",
            "alert when max(latency_ms) >= 5",
            "max(latency_ms)",
            "`max`",
        ),
        (
            "added",
            "alert when sum(latency_ms) >= 5",
            "sum(latency_ms)",
            "`sum`",
        ),
        (
            "instant",
            "alert when distinct(timestamp) >= 2",
            "distinct(timestamp) >= 2",
            "is a timestamp",
        ),
    ];
    for (name, condition, at, reason) in cases {
        let problems = one(
            name,
            &format!("  match inference\n  group by user_id within 1h\n  {condition}"),
        )
        .expect_err(name);
        assert!(
            problems
                .iter()
                .any(|(message, text)| message.contains(reason) && text.trim() == at),
            "{name}: {problems:?}"
        );
    }
    let problems = one(
        "subsecond",
        "  match auth\n  group by user_id within 1500ms\n  alert when count() >= 2",
    );
    if let Err(problems) = problems {
        assert!(
            problems
                .iter()
                .any(|(message, _)| message.contains("whole seconds")),
            "{problems:?}"
        );
    }
}

fn temp_repo(name: &str, config: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!(
        "tripline-sigma-profile-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    std::fs::write(
        directory.join("tripline.yaml"),
        format!("packs: [{}]\n{config}", rules.display()),
    )
    .unwrap();
    directory
}

fn both(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn compile_in(directory: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(["compile", "--target", "sigma", "--out", "out"])
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .output()
        .expect("the tripline binary runs")
}

#[test]
fn the_profile_is_a_validated_compile_setting() {
    let on = temp_repo("on", "compile:\n  sigma:\n    correlation_windows: epoch\n");
    let output = compile_in(&on);
    let stderr = both(&output);
    assert!(stderr.contains("sigma: 13 rules compiled"), "{stderr}");
    let burst = std::fs::read_to_string(on.join("out/sigma/rules/provider.error_burst.yml"))
        .expect("the threshold rule is written");
    assert!(burst.contains("  type: event_count\n"), "{burst}");

    let off = temp_repo("off", "");
    let output = compile_in(&off);
    let stderr = both(&output);
    assert!(stderr.contains("sigma: 8 rules compiled"), "{stderr}");
    assert!(
        !off.join("out/sigma/rules/provider.error_burst.yml")
            .exists()
    );

    let sliding = temp_repo(
        "sliding",
        "compile:\n  sigma:\n    correlation_windows: sliding\n",
    );
    let output = compile_in(&sliding);
    let stderr = both(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("correlation_windows"), "{stderr}");
    assert!(stderr.contains("tripline.yaml:4:26"), "{stderr}");
    assert!(!sliding.join("out").exists());

    let unknown = temp_repo("unknown", "compile:\n  sigma:\n    windows: epoch\n");
    let output = compile_in(&unknown);
    let stderr = both(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("windows"), "{stderr}");
    assert!(stderr.contains("tripline.yaml:4:5"), "{stderr}");
    for directory in [on, off, sliding, unknown] {
        let _ = std::fs::remove_dir_all(directory);
    }
}
