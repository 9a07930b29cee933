//! The command-line contract: commands, flags and exit codes (0 ok, 1
//! findings, 2 usage or I/O) that CI scripts rely on.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn tripline(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(arguments)
        .env("NO_COLOR", "1")
        .output()
        .expect("the tripline binary runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let directory =
        std::env::temp_dir().join(format!("tripline-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).expect("temp dir");
    directory
}

/// Writes `source` to `file` in a fresh temp directory named after `name`; its path.
fn rule_file(name: &str, file: &str, source: &str) -> String {
    let rule = temp_dir(name).join(file);
    std::fs::write(&rule, source).expect("write rule");
    rule.to_string_lossy().into_owned()
}

#[test]
fn check_passes_on_the_shipped_pack() {
    let output = tripline(&["check", "rules"]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
}

#[test]
fn check_exits_1_on_a_rule_error_and_points_at_it() {
    let rule_path = rule_file(
        "typo",
        "typo.tdl",
        "rule local.typo {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  match inference where user_inptu contains \"x\"\n}\n",
    );
    let output = tripline(&["check", "rules/schema", &rule_path]);
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("user_inptu"), "{stderr}");
    assert!(stderr.contains("user_input"), "{stderr}");
    assert!(stderr.contains("typo.tdl:6:"), "{stderr}");
}

#[test]
fn a_context_clause_a_target_refuses_is_pointed_at_not_the_rule() {
    let rule_path = rule_file(
        "context-refusal",
        "ctx.tdl",
        "rule local.ctx {\n  title: \"t\"\n  description: \"d\"\n  severity: high\n  category: behavioral\n  guide: \"g\"\n  match inference\n    group by src_ip within 1h\n    alert when count() >= 2 * baseline(count(), 1d)\n    context app\n}\n",
    );
    for target in ["sentinel_kql", "elastic_esql"] {
        let output = tripline(&["check", "rules/schema", &rule_path, "--target", target]);
        assert_eq!(code(&output), 1, "{}", text(&output.stderr));
        let stderr = text(&output.stderr);
        assert!(stderr.contains("error[E0401]"), "{stderr}");
        assert!(stderr.contains("`context` on a baseline"), "{stderr}");
        // Line 10 is `context app`; line 1 would be the whole rule.
        assert!(stderr.contains("ctx.tdl:10:5"), "{target}: {stderr}");
    }
}

#[test]
fn context_on_a_baseline_and_a_percentile_is_tested_and_compiled_where_exact() {
    // The fixture's cases pin the context lists; .ci/run also runs them on
    // DuckDB and Spark.
    let output = tripline(&["test", "tests/fixtures/context_history"]);
    assert_eq!(code(&output), 0, "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("4 passed"));
    let directory = temp_dir("context-history");
    let out = directory.to_string_lossy().into_owned();
    let output = tripline(&[
        "compile",
        "tests/fixtures/context_history",
        "--out",
        &out,
        "--target",
        "duckdb_sql",
        "--target",
        "spark_sql",
        "--target",
        "splunk_spl",
        "--target",
        "sentinel_kql",
    ]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let stderr = text(&output.stdout) + &text(&output.stderr);
    for compiled in [
        "duckdb_sql: 2 rules compiled",
        "spark_sql: 2 rules compiled",
        "splunk_spl: 2 rules compiled",
        "sentinel_kql: 0 rules compiled, 2 not compiled",
    ] {
        assert!(stderr.contains(compiled), "{compiled}: {stderr}");
    }
}

#[test]
fn check_target_reports_what_compile_would_refuse() {
    let rule_path = rule_file(
        "portability",
        "seq.tdl",
        "rule local.seq {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  sequence by session_id within 5m {\n    inference where user_input contains \"a\";\n    inference where user_input contains \"b\";\n  }\n}\n",
    );
    // Plain `check` is about the language: the rule is fine.
    let output = tripline(&["check", "rules/schema", &rule_path]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    // For a target without sequences it is a located E0401, and exit 1.
    let output = tripline(&[
        "check",
        "rules/schema",
        &rule_path,
        "--target",
        "elastic_esql",
    ]);
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error[E0401]"), "{stderr}");
    assert!(stderr.contains("seq.tdl:1:1"), "{stderr}");
    assert!(
        stderr.contains("elastic_esql: 0 of 1 rule compile"),
        "{stderr}"
    );
    // A target that has the shape: clean, and nothing is written.
    let output = tripline(&[
        "check",
        "rules/schema",
        &rule_path,
        "--target",
        "elastic_eql",
    ]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("elastic_eql: 1 of 1 rule compile"));
    // An unknown target is a usage error with a suggestion.
    let output = tripline(&[
        "check",
        "rules/schema",
        &rule_path,
        "--target",
        "elastic_eqll",
    ]);
    assert_eq!(code(&output), 2, "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("did you mean `elastic_eql`?"));
}

#[test]
fn check_exits_2_on_a_missing_path() {
    let output = tripline(&["check", "does/not/exist"]);
    assert_eq!(code(&output), 2, "{}", text(&output.stderr));
}

#[test]
fn unknown_flags_are_usage_errors() {
    assert_eq!(code(&tripline(&["check", "--no-such-flag"])), 2);
    assert_eq!(code(&tripline(&["no-such-command"])), 2);
}

#[test]
fn json_diagnostics_are_one_object_per_line() {
    let rule_path = rule_file(
        "json",
        "broken.tdl",
        "rule a.b { match inference where x = 1 }\n",
    );
    let output = tripline(&["check", "--message-format", "json", &rule_path]);
    assert_eq!(code(&output), 1);
    let stderr = text(&output.stderr);
    let first = stderr.lines().next().expect("a diagnostic line");
    let value: serde_json::Value = serde_json::from_str(first).expect("JSON");
    assert_eq!(value["code"], "E0101");
    assert_eq!(value["line"], 1);
}

#[test]
fn explain_prints_every_registered_code() {
    for info in tripline::diagnostics::codes::REGISTRY {
        let output = tripline(&["explain", info.code]);
        assert_eq!(code(&output), 0, "{}", info.code);
        assert!(text(&output.stdout).contains(info.code));
    }
    let unknown = tripline(&["explain", "E9999"]);
    assert_eq!(code(&unknown), 2);
}

#[test]
fn ir_prints_a_rule_and_suggests_close_ids() {
    let output = tripline(&["ir", "llm.output.size_spike"]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON IR");
    assert_eq!(value["id"], "llm.output.size_spike");
    assert!(value["origin"]["line"].as_u64().is_some());

    let typo = tripline(&["ir", "llm.output.size_spik"]);
    assert_eq!(code(&typo), 2);
    assert!(text(&typo.stderr).contains("llm.output.size_spike"));
}

#[test]
fn schema_prints_a_draft_2020_12_json_schema() {
    let output = tripline(&["schema", "--format", "json-schema"]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        value["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let validator = jsonschema::draft202012::new(&value).expect("a valid schema");
    let good = serde_json::json!({"timestamp": "2026-03-02T10:00:00Z", "event_type": "inference", "output_tokens": 12});
    let bad = serde_json::json!({"timestamp": "2026-03-02T10:00:00Z", "event_type": "inference", "output_tokens": "many"});
    assert!(validator.is_valid(&good));
    assert!(!validator.is_valid(&bad));
}

#[test]
fn test_passes_on_the_shipped_pack_and_writes_junit() {
    let directory = temp_dir("junit");
    let junit = directory.join("junit.xml");
    let junit_path = junit.to_string_lossy().into_owned();
    let output = tripline(&["test", "rules", "--junit", &junit_path]);
    let stdout = text(&output.stdout);
    assert_eq!(code(&output), 0, "{stdout}\n{}", text(&output.stderr));
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.contains("<testsuites"));
}

/// The test of the tester: removing one event that makes a positive case
/// fire turns the run red.
#[test]
fn test_fails_when_a_positive_case_loses_its_attack_event() {
    let directory = temp_dir("tester");
    let rules = directory.join("rules");
    copy_tree(Path::new("rules"), &rules);
    let test_file = rules_test_file(&rules, "llm.output.size_spike");
    let original = std::fs::read_to_string(&test_file).expect("test file");
    // The first positive case alerts on a 6,841-token answer; 684 tokens is benign.
    let weakened = original.replacen("output_tokens: 6841", "output_tokens: 684", 1);
    assert_ne!(
        original, weakened,
        "the size spike test should contain a 6841-token event"
    );
    std::fs::write(&test_file, weakened).expect("write");
    let rules_path = rules.to_string_lossy().into_owned();
    let output = tripline(&["test", &rules_path, "--rule", "llm.output.size_spike"]);
    assert_eq!(code(&output), 1, "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("FAILED"));
}

fn rules_test_file(root: &Path, rule_id: &str) -> std::path::PathBuf {
    let mut stack = vec![root.to_path_buf()];
    while let Some(directory) = stack.pop() {
        for entry in std::fs::read_dir(&directory).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".test.yaml") {
                let content = std::fs::read_to_string(&path).unwrap_or_default();
                if content
                    .lines()
                    .any(|line| line.trim() == format!("rule: {rule_id}"))
                {
                    return path;
                }
            }
        }
    }
    panic!("no test file for {rule_id}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

#[test]
fn docs_and_coverage_render_the_pack() {
    let directory = temp_dir("docs");
    let out = directory.to_string_lossy().into_owned();
    let output = tripline(&["docs", "--out", &out]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let catalogue = std::fs::read_to_string(directory.join("README.md")).expect("catalogue");
    assert!(catalogue.contains("llm.prompt_extraction.repeated"));
    // The shipped dashboard is in the catalogue, and its page lists every panel.
    assert!(catalogue.contains("[`llm.overview`](dashboards/llm.overview.md)"));
    let page = std::fs::read_to_string(directory.join("dashboards/llm.overview.md"))
        .expect("dashboard page");
    for panel in ["inference_by_key", "refusal_rate", "auth_failures"] {
        assert!(
            page.contains(&format!("(`{panel}`)")),
            "{panel} missing:\n{page}"
        );
    }
    assert!(page.contains("| every | 1d |"), "{page}");
    let coverage = tripline(&["coverage", "--format", "navigator"]);
    assert_eq!(code(&coverage), 0);
    let layer: serde_json::Value = serde_json::from_slice(&coverage.stdout).expect("layer JSON");
    assert_eq!(layer["domain"], "atlas-atlas");
    assert!(
        layer["techniques"]
            .as_array()
            .is_some_and(|techniques| !techniques.is_empty())
    );
}

/// The capability tables in the README and docs/targets.md are the one the code prints.
#[test]
fn the_readme_capability_table_is_current() {
    let output = tripline(&["targets"]);
    assert_eq!(code(&output), 0);
    // `compile --list-targets`, the older spelling, prints the same.
    assert_eq!(
        tripline(&["compile", "--list-targets"]).stdout,
        output.stdout
    );
    for document in ["README.md", "docs/targets.md"] {
        let content = std::fs::read_to_string(document).expect("document");
        for line in text(&output.stdout)
            .lines()
            .filter(|line| line.starts_with('|'))
        {
            assert!(
                content.contains(line),
                "{document} lacks this line of `tripline targets`; paste the table again:\n{line}"
            );
        }
    }
}

/// The README's list of targets (the paragraph that starts `Targets:`) names
/// every registered target, so a new target cannot ship undocumented.
#[test]
fn the_readme_lists_every_target() {
    let readme = std::fs::read_to_string("README.md").expect("README");
    let start = readme.find("\nTargets: ").expect("a `Targets:` paragraph");
    let paragraph = &readme[start..start + readme[start + 1..].find("\n\n").unwrap_or(0) + 1];
    for target in tripline::targets::registry() {
        assert!(
            paragraph.contains(&format!("`{}`", target.id())),
            "the README's `Targets:` paragraph does not name `{}`",
            target.id()
        );
    }
}

/// The fenced block of the README that follows the paragraph holding `marker`.
fn readme_block_after(marker: &str) -> String {
    let readme = std::fs::read_to_string("README.md").expect("README");
    let at = readme
        .find(marker)
        .unwrap_or_else(|| panic!("the README no longer says {marker:?}"));
    let rest = &readme[at..];
    let open = rest.find("\n```").expect("a fenced block after it") + 1;
    let body = open + rest[open..].find('\n').expect("the fence's line") + 1;
    let close = body + rest[body..].find("\n```").expect("the block's end") + 1;
    rest[body..close].to_string()
}

/// The README's misspelt-field example is what `check` prints on the E0201
/// fixture it names, word for word.
#[test]
fn the_readme_error_example_is_what_check_prints() {
    let block = readme_block_after("A misspelt field gets an error");
    let output = tripline(&["check", "tests/fixtures/errors/E0201.tdl"]);
    assert_eq!(code(&output), 1);
    assert_eq!(
        block,
        text(&output.stderr),
        "the README's E0201 example is stale; paste what \
         `tripline check tests/fixtures/errors/E0201.tdl` prints"
    );
}

/// The README's sample rule is the shipped one, shortened at `...`: every
/// other line of it is a line of the rule file.
#[test]
fn the_readme_sample_rule_is_the_shipped_one() {
    let block = readme_block_after("One rule, to give the flavour");
    let shipped = std::fs::read_to_string("rules/high/llm.prompt_extraction.repeated.tdl")
        .expect("the shipped rule");
    let lines: Vec<&str> = shipped.lines().collect();
    let mut from = 0;
    for line in block.lines().filter(|line| line.trim() != "...") {
        let found = lines[from..]
            .iter()
            .position(|shipped| *shipped == line)
            .unwrap_or_else(|| {
                panic!(
                    "the README's sample rule has {line:?}, which the shipped rule \
                     does not have (in this order)"
                )
            });
        from += found + 1;
    }
}

/// A rule a target cannot express is reported and left out of that target,
/// and the run exits 0; `--deny-unsupported` makes it exit 1. A rule error
/// exits 1 either way.
#[test]
fn compile_leaves_out_what_a_target_cannot_express_and_can_deny_it() {
    let directory = temp_dir("compile-gap");
    // A new-value rule: some targets compile first-seen history (the SQL
    // targets, splunk_spl), and the others leave it out.
    std::fs::write(
        directory.join("gap.tdl"),
        "rule local.gap {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  match auth where outcome == \"success\"\n  new src_ip for user_id lookback 30d\n}\n",
    )
    .expect("write rule");
    let rule = directory.join("gap.tdl").to_string_lossy().into_owned();
    let out = directory.join("build").to_string_lossy().into_owned();
    let output = tripline(&["compile", "rules/schema", &rule, "--out", &out]);
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), 0, "{stderr}");
    // Quiet by default: a code in the matrix and a note, no error blocks.
    assert!(!stderr.contains("error["), "{stderr}");
    assert!(
        text(&output.stdout).contains("E0401"),
        "{}",
        text(&output.stdout)
    );
    assert!(stderr.contains("--explain-unsupported"), "{stderr}");
    let explained = tripline(&[
        "compile",
        "rules/schema",
        &rule,
        "--out",
        &out,
        "--explain-unsupported",
    ]);
    let stderr = text(&explained.stderr);
    assert!(
        stderr.contains("E0401") && stderr.contains("gap.tdl:"),
        "{stderr}"
    );
    assert!(directory.join("build/splunk_spl").is_dir());
    let denied = tripline(&[
        "compile",
        "rules/schema",
        &rule,
        "--out",
        &out,
        "--deny-unsupported",
    ]);
    assert_eq!(code(&denied), 1, "{}", text(&denied.stderr));
    assert!(text(&denied.stderr).contains("--deny-unsupported"));
    let typo = directory.join("typo.tdl");
    std::fs::write(&typo, "rule local.typo {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  match inference where user_inptu contains \"x\"\n}\n").expect("write rule");
    let typo = typo.to_string_lossy().into_owned();
    let broken = tripline(&["compile", "rules/schema", &typo, "--out", &out]);
    assert_eq!(code(&broken), 1, "{}", text(&broken.stderr));
}

fn content_repo(name: &str, mappings: &str) -> std::path::PathBuf {
    let directory = temp_dir(name);
    let rules = std::fs::canonicalize("rules").expect("rules");
    std::fs::write(
        directory.join("tripline.yaml"),
        format!("packs: [{}]\nmappings:\n{mappings}", rules.display()),
    )
    .expect("write config");
    directory
}

fn compile_in(directory: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("compile")
        .args(arguments)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .output()
        .expect("the tripline binary runs")
}

/// `mappings:` in tripline.yaml renames fields and sets the data source per target.
#[test]
fn a_content_repository_maps_fields_and_the_data_source() {
    let directory = content_repo(
        "mapped",
        "  splunk_spl:\n    data_source: [\"index=acme sourcetype=llm\"]\n    fields:\n      src_ip: src\n",
    );
    let output = compile_in(&directory, &["--target", "splunk_spl", "--out", "out"]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let app = directory.join("out/splunk_spl/tripline_llm_security/default");
    let searches = std::fs::read_to_string(app.join("savedsearches.conf")).expect("searches");
    let macros = std::fs::read_to_string(app.join("macros.conf")).expect("macros");
    assert!(
        macros.contains("definition = index=acme sourcetype=llm"),
        "{macros}"
    );
    // The SPL of every search (a `search = ` key and its continuation lines).
    let mut spl = String::new();
    let mut inside = false;
    for line in searches.lines() {
        if line.starts_with("search = ") {
            inside = true;
        } else if inside && !line.starts_with(' ') && !line.starts_with('|') {
            inside = false;
        }
        if inside {
            spl.push_str(line);
            spl.push('\n');
        }
    }
    assert!(spl.contains(" src ") && !spl.contains("src_ip"), "{spl}");
}

/// Every mistake in `mappings:` is an E0531 error at its key, and nothing is written.
#[test]
fn mapping_mistakes_are_located_errors() {
    let directory = content_repo(
        "mapping-errors",
        "  splunk_spll:\n    fields: {}\n  sentinel_kql:\n    data_source: [Events]\n    fields:\n      src_ipp: ClientIp\n      user_id: User.Id\n  sigma:\n    fields:\n      src_ip: api_key_id\n",
    );
    let output = compile_in(&directory, &["--out", "out"]);
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), 2, "{stderr}");
    for expected in [
        "tripline.yaml:3:3",
        "did you mean `splunk_spl`?",
        "tripline.yaml:6:5",
        "custom log table",
        "tripline.yaml:8:7",
        "did you mean `src_ip`?",
        "tripline.yaml:9:7",
        "`User.Id` cannot name `user_id` in sentinel_kql",
        "would both be `api_key_id` in sigma",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected} missing from:\n{stderr}"
        );
    }
    assert!(!directory.join("out").exists());
}

/// A lookup too large to inline is refused, in each target's words, with
/// its size (the shipped 5 rows and 600 more) and the limit.
#[test]
fn a_lookup_too_large_to_inline_is_refused_with_its_size() {
    let directory = temp_dir("big-lookup");
    let rules = std::fs::canonicalize("rules").expect("rules");
    let mut csv = String::from("domain\n");
    for index in 0..600 {
        csv.push_str(&format!("host{index}.example.com\n"));
    }
    std::fs::write(directory.join("big.csv"), csv).expect("write csv");
    std::fs::write(
        directory.join("tripline.yaml"),
        format!(
            "packs: [{}]\nlookups:\n  egress_allowlist: {{ extend: big.csv }}\n",
            rules.display()
        ),
    )
    .expect("write config");
    let output = compile_in(&directory, &["--out", "out", "--explain-unsupported"]);
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), 0, "{stderr}");
    let refusals: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("agent.egress.unexpected_domain") && line.contains("E0402"))
        .collect();
    for (target, words) in [
        (
            "elastic_eql",
            "the EQL target inlines at most 500 rows into a query",
        ),
        ("sigma", "at most 500 are inlined into a Sigma rule"),
    ] {
        assert!(
            refusals.iter().any(|line| line.contains(target)
                && line.contains("has 605 rows")
                && line.contains(words)),
            "{target}: {stderr}"
        );
    }
}

/// Sentinel reads a lookup over `compile.inline_lookup_rows` (default 100)
/// from a watchlist it ships; with the limit raised above the lookup's size
/// it inlines it again (and refuses it over 500 rows); a limit that is not
/// a count is a configuration error at its line.
#[test]
fn the_inline_lookup_limit_decides_between_a_watchlist_and_inlining() {
    let rules = std::fs::canonicalize("rules").expect("rules");
    let mut csv = String::from("domain\n");
    for index in 0..600 {
        csv.push_str(&format!("Host{index}.Example.com\n"));
    }
    let repo = |name: &str, compile: &str| {
        let directory = temp_dir(name);
        std::fs::write(directory.join("big.csv"), &csv).expect("write csv");
        std::fs::write(
            directory.join("tripline.yaml"),
            format!(
                "packs: [{}]\nlookups:\n  egress_allowlist: {{ extend: big.csv }}\n{compile}",
                rules.display()
            ),
        )
        .expect("write config");
        directory
    };
    let query = "out/sentinel_kql/queries/agent.egress.unexpected_domain.kql";
    let watchlist = "out/sentinel_kql/watchlists/tripline_egress_allowlist.json";

    let by_default = repo("inline-default", "");
    let output = compile_in(
        &by_default,
        &[
            "--target",
            "sentinel_kql",
            "--target",
            "elastic_esql",
            "--target",
            "splunk_spl",
            "--out",
            "out",
        ],
    );
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    // Splunk looks the key up in the app's keys CSV.
    let app = by_default.join("out/splunk_spl/tripline_llm_security");
    let saved = std::fs::read_to_string(app.join("default/savedsearches.conf")).expect("saved");
    assert!(
        saved.contains("| lookup tripline_egress_allowlist_keys key AS tripline_egress_allowlist_key OUTPUT key AS tripline_egress_allowlist_found")
            && !saved.contains("host599"),
        "{saved}"
    );
    let keys = std::fs::read_to_string(app.join("lookups/tripline_egress_allowlist_keys.csv"))
        .expect("keys csv");
    assert!(keys.contains("\"|host599.example.com\"\r\n"), "{keys}");
    let transforms =
        std::fs::read_to_string(app.join("default/transforms.conf")).expect("transforms");
    assert!(
        transforms.contains("[tripline_egress_allowlist_keys]\nfilename = tripline_egress_allowlist_keys.csv\ncase_sensitive_match = 1"),
        "{transforms}"
    );
    // ES|QL joins the lookup index it ships, loaded by its bulk body.
    let esql = std::fs::read_to_string(
        by_default.join("out/elastic_esql/queries/agent.egress.unexpected_domain.esql"),
    )
    .expect("esql query");
    assert!(
        esql.contains("| LOOKUP JOIN tripline_egress_allowlist ON tripline_egress_allowlist_key")
            && !esql.contains("host599"),
        "{esql}"
    );
    let index = "out/elastic_esql/elasticsearch/lookup_index/tripline_egress_allowlist";
    let bulk = std::fs::read_to_string(by_default.join(format!("{index}.ndjson"))).expect("bulk");
    assert!(
        bulk.contains(r#""tripline_egress_allowlist_key":"|host599.example.com""#),
        "{bulk}"
    );
    let settings =
        std::fs::read_to_string(by_default.join(format!("{index}.json"))).expect("index");
    assert!(settings.contains(r#""mode": "lookup""#), "{settings}");
    let kql = std::fs::read_to_string(by_default.join(query)).expect("query");
    assert!(
        kql.contains(r#"_GetWatchlist("tripline_egress_allowlist")"#) && !kql.contains("host599"),
        "{kql}"
    );
    let template = std::fs::read_to_string(by_default.join(watchlist)).expect("watchlist");
    assert!(
        template.contains(r#"\"|host599.example.com\""#),
        "{template}"
    );

    let raised = repo("inline-raised", "compile: { inline_lookup_rows: 1000 }\n");
    let output = compile_in(
        &raised,
        &[
            "--target",
            "sentinel_kql",
            "--out",
            "out",
            "--explain-unsupported",
        ],
    );
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(
        stderr.contains("the Sentinel target inlines at most 500 rows into a query"),
        "{stderr}"
    );
    assert!(!raised.join(watchlist).exists());
    assert!(!raised.join("out/elastic_esql").exists());

    let small = repo("inline-small", "compile: { inline_lookup_rows: 10 }\n");
    let output = compile_in(&small, &["--target", "sentinel_kql", "--out", "out"]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(small.join(watchlist).exists());

    let negative = repo("inline-negative", "compile:\n  inline_lookup_rows: -3\n");
    let output = compile_in(&negative, &["--target", "sentinel_kql", "--out", "out"]);
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), 1, "{stderr}");
    assert!(stderr.contains("inline_lookup_rows"), "{stderr}");
    assert!(stderr.contains("tripline.yaml:5:23"), "{stderr}");
    assert!(!negative.join("out").exists());
}

/// A watchlist over Sentinel's 3.8 MB `rawContent` limit is refused at the
/// test, with its size, and not written.
#[test]
fn a_watchlist_too_large_for_sentinel_is_a_located_refusal() {
    let rules = std::fs::canonicalize("rules").expect("rules");
    let directory = temp_dir("watchlist-too-large");
    let mut csv = String::from("domain\n");
    let padding = "a".repeat(7000);
    for index in 0..600 {
        csv.push_str(&format!("{padding}{index}.example.com\n"));
    }
    std::fs::write(directory.join("big.csv"), &csv).expect("write csv");
    std::fs::write(
        directory.join("tripline.yaml"),
        format!(
            "packs: [{}]\nlookups:\n  egress_allowlist: {{ extend: big.csv }}\n",
            rules.display()
        ),
    )
    .expect("write config");
    let output = compile_in(
        &directory,
        &[
            "--target",
            "sentinel_kql",
            "--out",
            "out",
            "--explain-unsupported",
        ],
    );
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|line| line.contains("E0402") && line.contains("agent.egress.unexpected_domain"))
            && stderr.contains("a watchlist created from `rawContent` takes at most 3800000")
            && stderr.contains("agent.egress.unexpected_domain.tdl:"),
        "{stderr}"
    );
    assert!(
        !directory
            .join("out/sentinel_kql/watchlists/tripline_egress_allowlist.json")
            .exists()
    );
}

/// tripline.yaml is also checked against the shipped schema
/// (docs/tripline.schema.json): a violation serde's shape lets through is
/// E0531 naming the key and its line, and the example repository conforms.
#[test]
fn the_configuration_is_checked_against_the_shipped_schema() {
    let directory = content_repo("schema", "  sigma:\n    data_source: []\n");
    let output = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("check")
        .current_dir(&directory)
        .env("NO_COLOR", "1")
        .output()
        .expect("the tripline binary runs");
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), 1, "{stderr}");
    assert!(
        stderr.contains("E0531")
            && stderr.contains("`mappings.sigma.data_source`")
            && stderr.contains("tripline.yaml:4:"),
        "{stderr}"
    );
    let example = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("check")
        .current_dir("examples/content-repo")
        .output()
        .expect("the tripline binary runs");
    assert_eq!(code(&example), 0, "{}", text(&example.stderr));
}

/// `compile --rule ID` compiles only that rule; an unknown id is a usage error.
#[test]
fn compile_one_rule() {
    let directory = temp_dir("compile-one");
    let out = directory.join("build").to_string_lossy().into_owned();
    let output = tripline(&[
        "compile",
        "rules",
        "--target",
        "splunk_spl",
        "--rule",
        "llm.output.canary_token",
        "--out",
        &out,
    ]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("splunk_spl: 1 rule compiled, 0 not compiled"),
        "{}",
        text(&output.stdout)
    );
    let unknown = tripline(&["compile", "rules", "--rule", "no.such.rule", "--out", &out]);
    assert_eq!(code(&unknown), 2);
    assert!(text(&unknown.stderr).contains("no rule `no.such.rule`"));
}

/// A reader that goes away (`tripline eval ... | head -1`) ends a command
/// cleanly: exit 0, nothing on stderr, no panic. Each case but `targets`
/// writes more than a pipe buffer (64 KiB), so the reader leaving after its
/// first byte makes a later write fail; every case, `targets` included, also
/// runs with the reader gone before the command starts, so its first write
/// fails whatever the output's size.
#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let directory = temp_dir("reader-gone");
    std::fs::write(
        directory.join("marker.tdl"),
        "/// Fires on every event of the generated input.\nrule local.marker {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  match inference where user_input contains \"marker\"\n}\n",
    )
    .expect("write rule");
    let events_path = directory.join("events.jsonl");
    let events: String = (0..3000)
        .map(|n| {
            format!(
                "{{\"event_type\":\"inference\",\"timestamp\":\"2026-03-03T18:{:02}:{:02}Z\",\"app\":\"a\",\"session_id\":\"s{n}\",\"user_input\":\"a MARKER in line {n}\"}}\n",
                n / 60 % 60,
                n % 60
            )
        })
        .collect();
    std::fs::write(&events_path, events).expect("write events");
    let rules = directory.to_string_lossy().into_owned();
    let events = events_path.to_string_lossy().into_owned();
    let eval = [
        "eval",
        "--rules",
        "rules/schema",
        "--rules",
        &rules,
        "--events",
    ];
    let from_file = [&eval[..], &[events.as_str()]].concat();
    let from_stdin = [&eval[..], &["-"]].concat();
    let normalize = ["normalize", "--events", events.as_str()];
    // (arguments, events on stdin, output larger than a pipe buffer)
    let cases: [(&[&str], bool, bool); 6] = [
        (&from_file, false, true),
        (&from_stdin, true, true),
        (&normalize, false, true),
        (&["ir", "--all"], false, true),
        (&["explain", "list"], false, false),
        (&["targets"], false, false),
    ];
    let command = |arguments: &[&str], stdin: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tripline"));
        command
            .args(arguments)
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped());
        if stdin {
            command.stdin(std::fs::File::open(&events_path).expect("events"));
        }
        command
    };
    let quiet = |arguments: &[&str], output: &Output, how: &str| {
        let stderr = text(&output.stderr);
        assert_eq!(code(output), 0, "{arguments:?} {how}: {stderr}");
        assert!(stderr.is_empty(), "{arguments:?} {how}: {stderr}");
    };
    for (arguments, stdin, large) in cases {
        if large {
            let whole = command(arguments, stdin)
                .stdout(Stdio::piped())
                .output()
                .expect("the tripline binary runs");
            assert!(
                whole.stdout.len() > 64 * 1024,
                "{arguments:?} writes only {} bytes, which a pipe holds whole",
                whole.stdout.len()
            );
            let mut child = command(arguments, stdin)
                .stdout(Stdio::piped())
                .spawn()
                .expect("the tripline binary runs");
            let mut first = [0_u8; 1];
            child
                .stdout
                .take()
                .expect("stdout")
                .read_exact(&mut first)
                .expect("some output");
            // The pipe's reading end is closed here, like `| head -c 1`.
            let output = child.wait_with_output().expect("tripline exits");
            quiet(arguments, &output, "after one byte");
        }
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let output = command(arguments, stdin)
            .stdout(writer)
            .output()
            .expect("the tripline binary runs");
        quiet(arguments, &output, "with no reader");
    }
}

#[test]
fn a_byte_order_mark_is_not_content() {
    const MARK: &str = "\u{feff}";
    let directory = temp_dir("bom");
    std::fs::write(
        directory.join("bom.tdl"),
        format!(
            "{MARK}/// A rule saved by an editor that writes a byte-order mark.\nrule local.bom {{\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  match inference where user_input contains \"marker\"\n}}\n"
        ),
    )
    .expect("write rule");
    std::fs::write(
        directory.join("bom.test.yaml"),
        format!(
            "{MARK}rule: local.bom\ncases:\n  - name: the marker\n    expect: 1\n    events:\n      - event_type: inference\n        timestamp: \"2026-03-03T18:00:00Z\"\n        app: a\n        session_id: s\n        user_input: \"a marker\"\n  - name: no marker\n    expect: 0\n    events:\n      - event_type: inference\n        timestamp: \"2026-03-03T18:00:00Z\"\n        app: a\n        session_id: s\n        user_input: \"a mark\"\n"
        ),
    )
    .expect("write test");
    let events = directory.join("events.jsonl");
    std::fs::write(
        &events,
        format!(
            "{MARK}{{\"event_type\":\"inference\",\"timestamp\":\"2026-03-03T18:00:00Z\",\"app\":\"a\",\"session_id\":\"s\",\"user_input\":\"a marker\"}}\n"
        ),
    )
    .expect("write events");
    let rules = directory.to_string_lossy().into_owned();
    let output = tripline(&["test", "rules/schema", &rules]);
    assert_eq!(
        code(&output),
        0,
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let events = events.to_string_lossy().into_owned();
    let output = tripline(&[
        "eval",
        "--rules",
        "rules/schema",
        "--rules",
        &rules,
        "--events",
        &events,
    ]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).lines().count(),
        1,
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn completions_cover_every_command_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = tripline(&["completions", shell]);
        assert_eq!(code(&output), 0, "{shell}: {}", text(&output.stderr));
        let script = text(&output.stdout);
        for command in [
            "check",
            "test",
            "compile",
            "explain",
            "targets",
            "completions",
        ] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    assert_eq!(code(&tripline(&["completions", "tcsh"])), 2);
}

#[test]
fn an_empty_rule_file_is_a_warning_not_silence() {
    let directory = temp_dir("empty-tdl");
    let empty = directory.join("forgotten.tdl");
    std::fs::write(&empty, "").expect("write");
    let empty_path = empty.to_string_lossy().into_owned();
    let output = tripline(&["check", "rules", &empty_path]);
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stderr.contains("warning[W0005]"), "{stderr}");
    assert!(stderr.contains("forgotten.tdl"), "{stderr}");
    let denied = tripline(&["check", "rules", &empty_path, "--deny-warnings"]);
    assert_eq!(code(&denied), 1, "{}", text(&denied.stderr));
    let listed = tripline(&["explain", "list"]);
    assert!(text(&listed.stdout).contains("W0005"));
}

#[test]
fn eval_rejects_zero_threads_as_a_usage_error() {
    let output = tripline(&["eval", "--events", "-", "--threads", "0"]);
    assert_eq!(code(&output), 2, "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("at least 1 thread"),
        "{}",
        text(&output.stderr)
    );
}

/// A content directory with a two-type schema, one rule and `test_file` as
/// its test file; the outcomes of `tripline test` on it, by case name.
fn test_outcomes(name: &str, test_file: &str) -> (i32, Vec<serde_json::Value>) {
    let directory = temp_dir(name);
    std::fs::write(
        directory.join("schema.tdl"),
        "common { timestamp: timestamp required, event_type: string required, session_id: string }\n\
         event inference { output: string, output_tokens: int }\n\
         event tool_call { tool_name: string }\n",
    )
    .expect("schema");
    std::fs::write(
        directory.join("size.tdl"),
        "rule local.size {\n  title: \"t\"\n  description: \"d\"\n  severity: low\n  category: behavioral\n  guide: \"g\"\n  match inference where output_tokens >= 4000 or output contains \"123-45-6789\"\n}\n",
    )
    .expect("rule");
    std::fs::write(directory.join("size.test.yaml"), test_file).expect("test file");
    let path = directory.to_string_lossy().into_owned();
    let output = tripline(&["test", &path, "--message-format", "json"]);
    let outcomes = text(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|value| value["type"] == "case")
        .collect();
    (code(&output), outcomes)
}

fn outcome<'a>(outcomes: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    outcomes
        .iter()
        .find(|outcome| outcome["name"] == name)
        .unwrap_or_else(|| panic!("no outcome `{name}` in {outcomes:#?}"))
}

const GOOD_CASE: &str = "  - name: a long answer\n    expect: 1\n    events:\n      - { timestamp: \"2026-03-02T10:00:00Z\", event_type: inference, output_tokens: 5000 }\n";

/// Issue 17: a misspelt field under `expect: 0` used to pass because the
/// rule never saw the value. It fails at the field's line, with did-you-mean,
/// and the file's other case still runs and passes.
#[test]
fn test_events_are_strict_and_a_bad_case_does_not_stop_the_others() {
    let file = format!(
        "rule: local.size\ncases:\n  - name: the leak is not there\n    expect: 0\n    events:\n      - {{ timestamp: \"2026-03-02T10:00:00Z\", event_type: inference, ouput: \"123-45-6789\" }}\n{GOOD_CASE}"
    );
    let (exit, outcomes) = test_outcomes("strict", &file);
    assert_eq!(exit, 1, "{outcomes:#?}");
    let typo = outcome(&outcomes, "the leak is not there");
    assert_eq!(typo["status"], "failed");
    assert_eq!(typo["line"], 6, "{typo}");
    let message = typo["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`ouput` is not a field of `inference` events"),
        "{message}"
    );
    assert!(message.contains("did you mean `output`?"), "{message}");
    assert_eq!(outcome(&outcomes, "a long answer")["status"], "passed");
    // `strict: false` is the way out for events that carry extra fields on purpose.
    let relaxed = file.replace("    expect: 0\n", "    expect: 0\n    strict: false\n");
    let (exit, outcomes) = test_outcomes("strict-off", &relaxed);
    assert_eq!(exit, 0, "{outcomes:#?}");
}

/// A field of another event type is unknown too, and the message says which
/// type has it; a field set in `defaults` points at the `defaults` line.
#[test]
fn a_field_of_another_event_type_names_the_type_that_has_it() {
    let file = format!(
        "rule: local.size\ncases:\n{GOOD_CASE}  - name: a tool name on an answer\n    expect: 0\n    defaults:\n      event_type: inference\n      tool_name: http_get\n    events:\n      - {{ timestamp: \"2026-03-02T10:00:00Z\" }}\n"
    );
    let (exit, outcomes) = test_outcomes("other-type", &file);
    assert_eq!(exit, 1);
    let wrong = outcome(&outcomes, "a tool name on an answer");
    assert_eq!(wrong["line"], 11, "{wrong}");
    let message = wrong["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`defaults` sets `tool_name`, which is not a field of `inference` events"),
        "{message}"
    );
    assert!(message.contains("`tool_call` events"), "{message}");
}

/// Test-file problems speak of what a test file holds, not of serde's
/// types, at the line of the problem, and a bad timestamp names its value.
#[test]
fn test_file_errors_speak_the_users_terms_at_the_right_line() {
    let file = format!(
        "rule: local.size\ncases:\n{GOOD_CASE}  - name: a list as expect\n    expect: [1]\n  - name: a date without a time\n    expect: 0\n    events:\n      - {{ timestamp: \"2026-03-02\", event_type: inference }}\n  - name: a misspelt setting\n    expct: 0\n  - name: a misspelt repeat\n    expect: 0\n    events:\n      - repeat: 2\n        evry: 30s\n        event: {{ timestamp: \"2026-03-02T10:00:00Z\", event_type: inference }}\n"
    );
    let (exit, outcomes) = test_outcomes("terms", &file);
    assert_eq!(exit, 1);
    for outcome in &outcomes {
        let message = outcome["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("untagged")
                && !message.contains("RawExpect")
                && !message.contains("^["),
            "{message}"
        );
    }
    let expect = outcome(&outcomes, "a list as expect");
    assert_eq!(expect["line"], 8, "{expect}");
    assert!(
        expect["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`expect` must be a number of alerts"),
        "{expect}"
    );
    let date = outcome(&outcomes, "a date without a time");
    assert_eq!(date["line"], 12, "{date}");
    assert!(
        date["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`timestamp: \"2026-03-02\"` is not RFC 3339"),
        "{date}"
    );
    let setting = outcome(&outcomes, "a misspelt setting");
    assert_eq!(setting["line"], 14, "{setting}");
    assert!(
        setting["message"]
            .as_str()
            .unwrap_or_default()
            .contains("did you mean `expect`?"),
        "{setting}"
    );
    let repeat = outcome(&outcomes, "a misspelt repeat");
    assert_eq!(repeat["line"], 19, "{repeat}");
    assert!(
        repeat["message"]
            .as_str()
            .unwrap_or_default()
            .contains("did you mean `every`?"),
        "{repeat}"
    );
    assert_eq!(outcome(&outcomes, "a long answer")["status"], "passed");
}

/// A file-level problem (here YAML syntax) points at its line, not `:1`.
#[test]
fn a_broken_test_file_points_at_the_line() {
    let file = "rule: local.size\ncases:\n  - name: x\n    expect: 1\n    events: [ { output_tokens: 1 }\n";
    let (exit, outcomes) = test_outcomes("yaml-line", file);
    assert_eq!(exit, 1);
    let broken = outcomes
        .iter()
        .find(|outcome| outcome["rule"] == "(test file)")
        .unwrap_or_else(|| panic!("{outcomes:#?}"));
    assert_eq!(broken["line"], 6, "{broken}");
    assert!(
        broken["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not valid YAML"),
        "{broken}"
    );
}

/// `tail -f log | tripline eval --events -`: an alert reaches stdout as soon
/// as it is final (here: once an event past the lateness allowance arrives),
/// while the input is still open, on one thread and with parser threads.
#[test]
fn eval_on_a_live_stream_prints_each_alert_while_the_input_stays_open() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::mpsc;
    use std::time::Duration;

    let canary = r#"{"event_type":"inference","timestamp":"2026-03-03T18:00:00Z","source_type":"llm_application","app":"sales-agent","session_id":"s-1","user_id":"user-0088","api_key_id":"key-0088","src_ip":"192.0.2.88","model":"m","user_input":"codes?","output":"The code is TRIPLINE-CANARY-9e6a52."}"#;
    let later = r#"{"event_type":"auth","timestamp":"2026-03-03T18:10:00Z","source_type":"llm_application","app":"sales-agent","user_id":"user-0001","api_key_id":"key-0001","src_ip":"192.0.2.1","outcome":"success","auth_method":"api_key"}"#;
    for threads in ["1", "2", "3"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
            .args([
                "eval",
                "--rules",
                "rules",
                "--rule",
                "llm.output.canary_token",
                "--events",
                "-",
                "--threads",
                threads,
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, received) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if lines.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        writeln!(stdin, "{canary}").unwrap();
        stdin.flush().unwrap();
        // Inside the lateness allowance nothing is final yet.
        assert!(
            received.recv_timeout(Duration::from_millis(500)).is_err(),
            "threads {threads}: an alert before the event was final"
        );
        writeln!(stdin, "{later}").unwrap();
        stdin.flush().unwrap();
        let alert = received
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("threads {threads}: no alert while the input is open"));
        assert!(alert.contains("llm.output.canary_token"), "{alert}");
        drop(stdin);
        assert!(child.wait().unwrap().success());
        reader.join().unwrap();
    }
}

/// Reading stdin moves event time forward after every line (so that a live
/// stream's alerts go out at once); the alerts and their order must be those
/// of the same lines read from a file, with out-of-order lines and ties.
#[test]
fn eval_of_stdin_equals_eval_of_the_same_file() {
    use std::io::Write;
    let mut lines = String::new();
    let mut state: u64 = 7;
    for n in 0..3000u64 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Mostly in order, up to 2 minutes late, many equal timestamps.
        let second = (n * 3).saturating_sub((state >> 33) % 120);
        let ip = 10 + (state >> 40) % 6;
        let user = (state >> 20) % 40;
        let outcome = if (state >> 50).is_multiple_of(5) {
            "success"
        } else {
            "failure"
        };
        let id = if n % 3 == 0 {
            String::new()
        } else {
            format!(r#""event_id":"e{n}","#)
        };
        lines.push_str(&format!(
            r#"{{{id}"event_type":"auth","timestamp":"2026-03-02T{:02}:{:02}:{:02}Z","source_type":"llm_application","app":"support-bot","user_id":"user-{user:04}","api_key_id":"key-{user:04}","src_ip":"203.0.113.{ip}","outcome":"{outcome}","auth_method":"password"}}"#,
            second / 3600,
            second / 60 % 60,
            second % 60
        ));
        lines.push('\n');
    }
    let directory = temp_dir("stdin-equals-file");
    let file = directory.join("auth.jsonl");
    std::fs::write(&file, &lines).unwrap();
    for threads in ["1", "2"] {
        let from_file = tripline(&[
            "eval",
            "--rules",
            concat!(env!("CARGO_MANIFEST_DIR"), "/rules"),
            "--events",
            file.to_str().unwrap(),
            "--threads",
            threads,
        ]);
        assert_eq!(code(&from_file), 0, "{}", text(&from_file.stderr));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
            .args([
                "eval",
                "--rules",
                concat!(env!("CARGO_MANIFEST_DIR"), "/rules"),
                "--events",
                "-",
                "--threads",
                threads,
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = lines.clone();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
        let from_stdin = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert_eq!(code(&from_stdin), 0, "{}", text(&from_stdin.stderr));
        let expected = text(&from_file.stdout).replace(file.to_str().unwrap(), "<stdin>");
        assert!(
            expected.lines().count() >= 3,
            "too few alerts to compare: {expected}"
        );
        assert_eq!(text(&from_stdin.stdout), expected, "threads {threads}");
    }
}

/// A line over `--max-line-bytes` is a bad line (E0519) at its number, on one
/// thread and with parser threads; `--skip-invalid` counts it and goes on.
#[test]
fn eval_refuses_a_line_over_the_limit_at_its_number() {
    let canary = r#"{"event_type":"inference","timestamp":"2026-03-03T18:00:00Z","session_id":"s-1","output":"The code is TRIPLINE-CANARY-9e6a52."}"#;
    let huge = format!(
        r#"{{"event_type":"inference","timestamp":"2026-03-03T18:00:01Z","output":"{}"}}"#,
        "x".repeat(300_000)
    );
    let directory = temp_dir("line-limit");
    let file = directory.join("events.jsonl");
    std::fs::write(&file, format!("{canary}\n{huge}\n{canary}\n")).unwrap();
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    for threads in ["1", "2"] {
        let base = [
            "eval",
            "--rules",
            rules,
            "--rule",
            "llm.output.canary_token",
            "--events",
            file.to_str().unwrap(),
            "--threads",
            threads,
            "--max-line-bytes",
            "256KiB",
        ];
        let stopped = tripline(&base);
        assert_eq!(code(&stopped), 1, "threads {threads}");
        let stderr = text(&stopped.stderr);
        assert!(stderr.contains("E0519"), "{stderr}");
        assert!(stderr.contains("events.jsonl:2:"), "{stderr}");
        let skipped = tripline(&[&base[..], &["--skip-invalid"]].concat());
        assert_eq!(code(&skipped), 0, "{}", text(&skipped.stderr));
        assert_eq!(text(&skipped.stdout).lines().count(), 2);
        assert!(text(&skipped.stderr).contains("longer than the line limit"));
        // The default limit (16 MiB) takes the line.
        let whole = tripline(&base[..9]);
        assert_eq!(code(&whole), 0, "{}", text(&whole.stderr));
    }
    let bad = tripline(&["eval", "--events", "x", "--max-line-bytes", "lots"]);
    assert_eq!(code(&bad), 2);
    assert!(text(&bad.stderr).contains("not a size"));
}

/// `.zst` inputs are decompressed, as `.gz` ones are.
#[test]
fn eval_reads_zstd_and_gzip_like_plain_text() {
    use std::io::Write;
    let canary = r#"{"event_type":"inference","timestamp":"2026-03-03T18:00:00Z","session_id":"s-1","output":"The code is TRIPLINE-CANARY-9e6a52."}"#;
    let plain = format!("{canary}\n");
    let directory = temp_dir("compressed");
    let zst = directory.join("events.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(plain.as_bytes(), 3).unwrap()).unwrap();
    let gz = directory.join("events.jsonl.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), Default::default());
    encoder.write_all(plain.as_bytes()).unwrap();
    encoder.finish().unwrap();
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    for file in [&zst, &gz] {
        let output = tripline(&[
            "eval",
            "--rules",
            rules,
            "--rule",
            "llm.output.canary_token",
            "--events",
            file.to_str().unwrap(),
            "--progress",
        ]);
        assert_eq!(code(&output), 0, "{}", text(&output.stderr));
        assert!(text(&output.stdout).contains("llm.output.canary_token"));
    }
}

/// `eval`, `ir`, `docs` and `coverage` take the rules path positionally, as
/// `check`, `test` and `compile` do; `--rules PATH` keeps working.
#[test]
fn every_command_takes_the_rules_path_positionally() {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let directory = temp_dir("positional");
    let events = directory.join("events.jsonl");
    std::fs::write(
        &events,
        r#"{"event_type":"inference","timestamp":"2026-03-03T18:00:00Z","output":"TRIPLINE-CANARY-9e6a52"}"#,
    )
    .unwrap();
    let events = events.to_str().unwrap();
    let positional = tripline(&["eval", rules, "--events", events]);
    let flagged = tripline(&["eval", "--rules", rules, "--events", events]);
    assert_eq!(code(&positional), 0, "{}", text(&positional.stderr));
    assert!(text(&positional.stdout).contains("llm.output.canary_token"));
    assert_eq!(positional.stdout, flagged.stdout);

    let one = tripline(&["ir", "llm.output.canary_token", rules]);
    assert_eq!(code(&one), 0, "{}", text(&one.stderr));
    assert_eq!(
        one.stdout,
        tripline(&["ir", "llm.output.canary_token", "--rules", rules]).stdout
    );
    let all = tripline(&["ir", "--all", rules]);
    assert_eq!(code(&all), 0, "{}", text(&all.stderr));
    assert!(text(&all.stdout).contains("llm.output.canary_token"));

    let coverage = tripline(&["coverage", rules]);
    assert_eq!(code(&coverage), 0, "{}", text(&coverage.stderr));
    assert_eq!(
        coverage.stdout,
        tripline(&["coverage", "--rules", rules]).stdout
    );
}

/// `docs` writes into the content repository (`docs/pack` beside its
/// `tripline.yaml`, or beside the rules folder), not into `target/`.
#[test]
fn docs_write_into_the_content_repository_by_default() {
    let directory = temp_dir("docs-default");
    let repository = directory.join("repo");
    std::fs::create_dir_all(repository.join("rules")).unwrap();
    let pack = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    std::fs::write(
        repository.join("tripline.yaml"),
        format!("packs: [\"{pack}\"]\n"),
    )
    .unwrap();
    let output = tripline(&["docs", repository.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(
        repository.join("docs/pack").is_dir(),
        "{}",
        text(&output.stderr)
    );
    let rules_only = directory.join("content");
    std::fs::create_dir_all(&rules_only).unwrap();
    let copy = rules_only.join("rules");
    let status = Command::new("cp")
        .args(["-r", pack, copy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tripline(&["docs", copy.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(rules_only.join("docs/pack").is_dir());
}

#[test]
fn normalize_adds_companions_and_copies_bad_lines_with_a_warning() {
    let directory = temp_dir("normalize");
    let events = directory.join("events.jsonl");
    let out = directory.join("out.jsonl");
    std::fs::write(
        &events,
        b"{\"event_type\":\"inference\",\"user_input\":\"\\u0456GNORE  all\"}\nnot json\n{\"event_type\":\"retrieval\",\"content\":\"x\\u200by\"}\n",
    )
    .unwrap();
    let output = tripline(&[
        "normalize",
        "--events",
        events.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 1, "a line copied unchanged is a finding");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("events.jsonl:2: not a JSON object"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 lines read, 2 normalised, 1 copied unchanged"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        written,
        "{\"event_type\":\"inference\",\"user_input\":\"\\u0456GNORE  all\",\"user_input_norm\":\"ignore all\"}\nnot json\n{\"event_type\":\"retrieval\",\"content\":\"x\\u200by\",\"content_norm\":\"xy\"}\n"
    );
    assert!(!directory.join("out.jsonl.partial").exists());
    // A missing input is a usage error and writes nothing.
    let missing = directory.join("missing.jsonl");
    let none = directory.join("none.jsonl");
    let output = tripline(&[
        "normalize",
        "--events",
        missing.to_str().unwrap(),
        "--out",
        none.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    assert!(!none.exists());
}

/// The fixture `.ci/run` validates as a SARIF log with failures: its three
/// failing cases are three `test-failure` results at their lines (the
/// shipped pack's log has none, so it alone would prove nothing).
#[test]
fn failed_test_cases_are_sarif_results() {
    let directory = temp_dir("test-failures-sarif");
    let log = directory.join("test-failures.sarif");
    let log_path = log.to_string_lossy().into_owned();
    let output = tripline(&["test", "tests/fixtures/failing-tests", "--sarif", &log_path]);
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("test result: FAILED. 1 passed, 3 failed"),
        "{}",
        text(&output.stdout)
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&log).expect("SARIF written"))
            .expect("SARIF parses");
    let results = log["runs"][0]["results"].as_array().expect("results");
    let lines: Vec<&serde_json::Value> = results
        .iter()
        .map(|result| {
            assert_eq!(result["ruleId"], "test-failure", "{result}");
            &result["locations"][0]["physicalLocation"]["region"]["startLine"]
        })
        .collect();
    assert_eq!(lines, [11, 19, 27], "{log}");
}
