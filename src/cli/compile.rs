//! `tripline compile [PATH...] [--target ID]... [--out DIR]`: every rule for
//! every selected target, written as one directory per target.
//!
//! Input: the checked pack and the [`targets::registry`]. Output:
//! `DIR/<target>/` with the target's artifacts, replaced atomically (rendered
//! in memory, written to a temporary directory, renamed into place), and
//! E04xx diagnostics for each rule × target that cannot be compiled, which is
//! left out of that target's output. Exit 0 when the pack checks and every
//! target was written (1 with `--deny-unsupported` when some rule × target was
//! left out), 1 on rule errors, 2 on usage or I/O problems. `tripline targets`
//! (or `compile --list-targets`) prints the capability table.
//! The hidden `--fixtures DIR` writes, per target, every test case of every
//! compiled rule with its events in the target's field names, the evaluator's
//! alert count and the rule's artifacts compiled with the case's parameters:
//! the input of the conformance checks under `.ci/conformance/`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value as Json, json};

use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Global, RulesArgs, load_project, plural};
use crate::diagnostics::{Code, Diagnostic};
use crate::eval::{self, EvalOptions};
use crate::ir::{self, Pack};
use crate::targets::{self, Mapping, Target};
use crate::testing;

/// Arguments of `compile`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompileArgs {
    /// Rule directories or content repositories (default: `tripline.yaml` here, else `rules`).
    pub paths: Vec<PathBuf>,
    /// Only these targets (default: every registered target).
    #[arg(long = "target", value_name = "ID")]
    pub targets: Vec<String>,
    /// The output directory; each target writes `DIR/<target>/`.
    #[arg(long, value_name = "DIR", default_value = "build")]
    pub out: PathBuf,
    /// Prints the capability table (targets × needs) and exits (as `tripline targets`).
    #[arg(long)]
    pub list_targets: bool,
    /// Exits 1 when some rule cannot be compiled for some selected target
    /// (by default such a pair is reported, left out, and the run exits 0).
    #[arg(long)]
    pub deny_unsupported: bool,
    /// Prints why each rule × target pair was not compiled, as full
    /// diagnostics (by default the matrix shows the codes and a note sums
    /// them up).
    #[arg(long, short = 'v')]
    pub explain_unsupported: bool,
    /// Compiles only this rule (repeat for several); the targets' folders
    /// then hold only these rules' artifacts.
    #[arg(long = "rule", value_name = "ID")]
    pub rule_ids: Vec<String>,
    /// Writes conformance fixtures (test-case events in target field names,
    /// evaluator alert counts, per-case artifacts) to `DIR/<target>.json`.
    #[arg(long, value_name = "DIR", hide = true)]
    pub fixtures: Option<PathBuf>,
    /// Overrides.
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// Runs `targets`: each registered target and the capability table.
pub fn run_targets() -> ExitCode {
    let registry = targets::registry();
    let mut out = std::io::stdout().lock();
    for target in &registry {
        let _ = writeln!(out, "{}: {}", target.id(), target.product());
    }
    let _ = writeln!(out, "\n{}", targets::capability_table(&registry));
    ExitCode::from(EXIT_OK)
}

/// Runs `compile`.
pub fn run(args: &CompileArgs, global: &Global) -> ExitCode {
    let registry = targets::registry();
    if args.list_targets {
        return run_targets();
    }
    let mut selected = match select_targets(&args.targets, &registry, global) {
        Ok(selected) => selected,
        Err(code) => return code,
    };
    if selected.is_empty() {
        selected = registry.iter().map(|target| target.as_ref()).collect();
    }
    let project = match load_project(&args.paths, &args.rules, global) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let Some(full_pack) = project.pack.as_ref() else {
        return ExitCode::from(EXIT_FINDINGS);
    };
    super::report_disabled(&project, global);
    let chosen;
    let pack = if args.rule_ids.is_empty() {
        full_pack
    } else {
        if let Some(unknown) = args.rule_ids.iter().find(|id| full_pack.rule(id).is_none()) {
            match project.disabled.iter().find(|rule| &rule.id == unknown) {
                Some(rule) => eprintln!(
                    "error: the rule `{unknown}` is disabled in the configuration: {}",
                    rule.reason
                ),
                None => eprintln!("error: no rule `{unknown}` in the loaded rules"),
            }
            return ExitCode::from(EXIT_USAGE);
        }
        let mut narrowed = full_pack.clone();
        narrowed
            .rules
            .retain(|rule| args.rule_ids.contains(&rule.id));
        chosen = narrowed;
        &chosen
    };
    let mappings = match target_mappings(&selected, pack, &project, &registry) {
        Ok(mappings) => mappings,
        Err(problems) => {
            global.report(&problems, &project.sources);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut diagnostics = Vec::new();
    let mut outputs = Vec::new();
    for (target, mapping) in selected.iter().zip(&mappings) {
        let output = targets::compile_pack(*target, pack, mapping, &registry);
        for (rule_id, problems) in &output.failures {
            if let Some(rule) = pack.rule(rule_id) {
                diagnostics.extend(problems.iter().map(|problem| {
                    targets::problem_diagnostic(problem, target.id(), rule, &project.sources)
                }));
            }
        }
        for (panel, problems) in &output.panel_failures {
            diagnostics.extend(problems.iter().filter_map(|problem| {
                targets::panel_problem_diagnostic(
                    problem,
                    target.id(),
                    panel,
                    pack,
                    &project.sources,
                )
            }));
        }
        outputs.push((target.id(), output));
    }
    // A pair a target cannot express is not an error in the rules: by
    // default it is a code in the matrix and a count in the closing note;
    // `--explain-unsupported` (or `--message-format json`) gives the reasons.
    let human = global.message_format == super::MessageFormat::Human;
    if args.explain_unsupported || !human {
        global.report(&diagnostics, &project.sources);
    }
    if human {
        print_matrix(pack, &outputs);
    }
    for (id, output) in &outputs {
        let directory = args.out.join(id);
        if let Err(error) = replace_directory(&directory, &output.files) {
            eprintln!("error: cannot write `{}`: {error}", directory.display());
            return ExitCode::from(EXIT_USAGE);
        }
        super::write_stdout(&format!(
            "{id}: {} rule{} compiled, {} not compiled{}, {} file{} in {}\n",
            output.compiled.len(),
            plural(output.compiled.len()),
            output.failures.len(),
            dashboard_summary(output),
            output.files.len(),
            plural(output.files.len()),
            directory.display()
        ));
    }
    if let Some(directory) = &args.fixtures {
        for (target, mapping) in selected.iter().zip(&mappings) {
            let fixtures = match fixtures(*target, pack, mapping, &project, &registry) {
                Ok(fixtures) => fixtures,
                Err(diagnostic) => {
                    global.report_one(diagnostic);
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            let path = directory.join(format!("{}.json", target.id()));
            let text = serde_json::to_string_pretty(&fixtures).unwrap_or_default();
            if let Err(error) = super::write_atomically(&path, text.as_bytes()) {
                eprintln!("error: cannot write `{}`: {error}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let left_out: usize = outputs
        .iter()
        .map(|(_, output)| output.failures.len())
        .sum();
    let panels_left_out: usize = outputs
        .iter()
        .map(|(_, output)| output.panel_failures.len())
        .sum();
    if (left_out > 0 || panels_left_out > 0) && args.deny_unsupported {
        if left_out > 0 {
            eprintln!(
                "error: {left_out} rule × target pair{} not compiled (--deny-unsupported)",
                plural(left_out)
            );
        }
        if panels_left_out > 0 {
            eprintln!(
                "error: {panels_left_out} dashboard panel{} left out (--deny-unsupported)",
                plural(panels_left_out)
            );
        }
        ExitCode::from(EXIT_FINDINGS)
    } else {
        if global.message_format == super::MessageFormat::Human {
            let why = if args.explain_unsupported {
                "each explained above"
            } else {
                "codes in the matrix; `--explain-unsupported` says why"
            };
            if left_out > 0 {
                eprintln!(
                    "note: {left_out} rule × target pair{} not compiled ({why}); \
                     `--deny-unsupported` makes that exit 1",
                    plural(left_out)
                );
            }
            if panels_left_out > 0 {
                let why = if args.explain_unsupported {
                    "each explained above"
                } else {
                    "`--explain-unsupported` says why"
                };
                eprintln!(
                    "note: {panels_left_out} dashboard panel{} left out for a target that cannot \
                     print {} exactly ({why})",
                    plural(panels_left_out),
                    if panels_left_out == 1 { "it" } else { "them" }
                );
            }
        }
        ExitCode::from(EXIT_OK)
    }
}

/// `, N dashboard(s)` (and panels left out) when the target wrote dashboards.
fn dashboard_summary(output: &targets::PackOutput) -> String {
    if output.dashboards.is_empty() && output.panel_failures.is_empty() {
        return String::new();
    }
    let mut text = format!(
        ", {} dashboard{}",
        output.dashboards.len(),
        plural(output.dashboards.len())
    );
    if !output.panel_failures.is_empty() {
        text.push_str(&format!(
            " ({} panel{} left out)",
            output.panel_failures.len(),
            plural(output.panel_failures.len())
        ));
    }
    text
}

/// Each selected target's mapping: its default for the pack's schema, with
/// the `mappings:` of the content repository's `tripline.yaml` applied (later
/// files win). An unknown target, an unknown canonical field, or a name or
/// data source the target does not accept is an E0531 error at its key.
/// The registered targets named by `ids`, each once, in the order given; an
/// unknown id is reported (with a did-you-mean) as a usage error.
pub(super) fn select_targets<'r>(
    ids: &[String],
    registry: &'r [Box<dyn Target>],
    global: &Global,
) -> Result<Vec<&'r dyn Target>, ExitCode> {
    let mut selected: Vec<&dyn Target> = Vec::new();
    for id in ids {
        match registry.iter().find(|target| target.id() == id) {
            Some(target) => {
                if !selected.iter().any(|chosen| chosen.id() == id) {
                    selected.push(target.as_ref());
                }
            }
            None => {
                global.report_one(targets::unknown_target(id, registry));
                return Err(ExitCode::from(EXIT_USAGE));
            }
        }
    }
    Ok(selected)
}

/// Each selected target's mapping: the default with the content
/// repository's `mappings:` changes applied, or the located problems.
pub(super) fn target_mappings(
    selected: &[&dyn Target],
    pack: &Pack,
    project: &crate::project::Project,
    registry: &[Box<dyn Target>],
) -> Result<Vec<Mapping>, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let locate = |config: &crate::project::MappingConfig, keys: &[&str], diagnostic: Diagnostic| {
        let file = project
            .sources
            .get(config.source)
            .map(|file| file.path.clone())
            .unwrap_or_default();
        match crate::project::yaml_key_span(&project.sources, config.source, keys) {
            Some(span) => diagnostic.primary(span, "here"),
            None => diagnostic.in_file(file),
        }
    };
    for config in &project.mappings {
        for id in config.changes.keys() {
            if !registry.iter().any(|target| target.id() == id) {
                let mut diagnostic = Diagnostic::new(
                    Code::CONFIG,
                    format!("`mappings` names `{id}`, which is not a target"),
                )
                .help(format!(
                    "the targets are {}",
                    registry
                        .iter()
                        .map(|target| format!("`{}`", target.id()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                if let Some(close) = crate::diagnostics::suggest::did_you_mean(
                    id,
                    registry.iter().map(|target| target.id()),
                ) {
                    diagnostic = diagnostic.help(format!("did you mean `{close}`?"));
                }
                problems.push(locate(config, &["mappings", id], diagnostic));
            }
        }
    }
    let mut mappings = Vec::with_capacity(selected.len());
    for target in selected {
        let mut mapping = target.default_mapping(&pack.schema);
        for config in &project.mappings {
            if let Some(rows) = config.compile.inline_lookup_rows {
                mapping.inline_lookup_rows = Some(rows);
            }
            if target.id() == targets::sigma::ID
                && let Some(sigma) = config.compile.sigma
                && let Some(windows) = sigma.correlation_windows
            {
                mapping.epoch_correlation_windows =
                    windows == crate::project::CorrelationWindows::Epoch;
            }
            if let Some(days) = config.deploy.retention_days {
                mapping.deploy.retention_days = Some(days);
            }
            mapping.deploy.routes.extend(config.deploy.routes.clone());
            let Some(change) = config.changes.get(target.id()) else {
                continue;
            };
            for (canonical, name) in &change.fields {
                let keys = ["mappings", target.id(), "fields", canonical.as_str()];
                let Some(field) = mapping.fields.get_mut(canonical) else {
                    let mut diagnostic = Diagnostic::new(
                        Code::CONFIG,
                        format!("the event schema has no field `{canonical}` to map"),
                    );
                    if let Some(close) = crate::diagnostics::suggest::did_you_mean(
                        canonical,
                        pack.schema
                            .common
                            .iter()
                            .chain(
                                pack.schema
                                    .events
                                    .values()
                                    .flat_map(|event| event.fields.iter()),
                            )
                            .map(|field| field.name.as_str()),
                    ) {
                        diagnostic = diagnostic.help(format!("did you mean `{close}`?"));
                    }
                    problems.push(locate(config, &keys, diagnostic));
                    continue;
                };
                match target.check_field_name(name) {
                    Ok(()) => field.name = name.clone(),
                    Err(reason) => problems.push(locate(
                        config,
                        &keys,
                        Diagnostic::new(
                            Code::CONFIG,
                            format!("`{name}` cannot name `{canonical}` in {}", target.id()),
                        )
                        .note(reason),
                    )),
                }
            }
            if let Some(values) = &change.data_source {
                match target.check_data_source(values) {
                    Ok(()) => mapping.data_source = values.clone(),
                    Err(reason) => problems.push(locate(
                        config,
                        &["mappings", target.id(), "data_source"],
                        Diagnostic::new(
                            Code::CONFIG,
                            format!("the data source of {} is not one it accepts", target.id()),
                        )
                        .note(reason),
                    )),
                }
            }
        }
        let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
        for (canonical, field) in &mapping.fields {
            if let Some(other) = owners.insert(field.name.as_str(), canonical.as_str()) {
                let config = project
                    .mappings
                    .iter()
                    .rev()
                    .find(|config| config.changes.contains_key(target.id()));
                let diagnostic = Diagnostic::new(
                    Code::CONFIG,
                    format!(
                        "`{other}` and `{canonical}` would both be `{}` in {}",
                        field.name,
                        target.id()
                    ),
                )
                .help("map each field of the schema to a name of its own");
                problems.push(match config {
                    Some(config) => {
                        locate(config, &["mappings", target.id(), "fields"], diagnostic)
                    }
                    None => diagnostic,
                });
            }
        }
        mappings.push(mapping);
    }
    if problems.is_empty() {
        Ok(mappings)
    } else {
        Err(problems)
    }
}

/// The rule × target matrix: `ok`, or the codes that refused the pair.
fn print_matrix(pack: &Pack, outputs: &[(&str, targets::PackOutput)]) {
    let width = pack
        .rules
        .iter()
        .map(|rule| rule.id.len())
        .max()
        .unwrap_or(4);
    let mut out = std::io::stdout().lock();
    let mut header = format!("{:width$}", "rule");
    for (id, _) in outputs {
        header.push_str(&format!("  {id}"));
    }
    let _ = writeln!(out, "{header}");
    for rule in &pack.rules {
        let mut line = format!("{:width$}", rule.id);
        for (id, output) in outputs {
            let cell = match output
                .failures
                .iter()
                .find(|(failed, _)| *failed == rule.id)
            {
                None => "ok".to_string(),
                Some((_, problems)) => {
                    let mut codes: Vec<&str> = problems
                        .iter()
                        .map(|problem| problem.code.as_str())
                        .collect();
                    codes.sort_unstable();
                    codes.dedup();
                    codes.join(",")
                }
            };
            line.push_str(&format!("  {cell:<w$}", w = id.len()));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(out);
}

/// Writes `files` into a fresh temporary directory beside `directory`, then
/// swaps it into place, so that a failure never leaves a partial directory.
fn replace_directory(directory: &Path, files: &BTreeMap<String, String>) -> std::io::Result<()> {
    let parent = directory
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = directory
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let previous = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temporary);
    let written = (|| {
        for (path, text) in files {
            let target = temporary.join(path);
            if let Some(folder) = target.parent() {
                std::fs::create_dir_all(folder)?;
            }
            std::fs::write(&target, text)?;
        }
        std::fs::create_dir_all(&temporary)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_dir_all(&temporary);
        return Err(error);
    }
    let had_previous = directory.exists();
    if had_previous {
        std::fs::rename(directory, &previous)?;
    }
    if let Err(error) = std::fs::rename(&temporary, directory) {
        if had_previous {
            let _ = std::fs::rename(&previous, directory);
        }
        let _ = std::fs::remove_dir_all(&temporary);
        return Err(error);
    }
    if had_previous {
        std::fs::remove_dir_all(&previous)?;
    }
    Ok(())
}

/// Every test case of every rule the target compiles, ready for a conformance check.
#[allow(clippy::result_large_err)] // one cold-path diagnostic per run, as in `testing`
fn fixtures(
    target: &dyn Target,
    pack: &Pack,
    mapping: &Mapping,
    project: &crate::project::Project,
    registry: &[Box<dyn Target>],
) -> Result<Json, Diagnostic> {
    let mut cases = Vec::new();
    for (path, _) in &project.test_files {
        let file = testing::load_test_file(path, pack)?;
        if let Some(broken) = file.broken.first() {
            return Err(broken.diagnostic.clone());
        }
        let Some(rule) = pack.rule(&file.rule) else {
            continue;
        };
        for case in &file.cases {
            let mut rule = rule.clone();
            for (name, value) in &case.params {
                rule.detection.set_param(name, value);
            }
            let Ok(artifacts) = targets::compile_rule(target, &rule, pack, mapping, registry)
            else {
                continue;
            };
            let case_pack = Pack {
                rules: vec![rule.clone()],
                playbooks: BTreeMap::new(),
                ..pack.clone()
            };
            let options = EvalOptions {
                rules: vec![rule.id.clone()],
                ..EvalOptions::default()
            };
            let alerts = match eval::evaluate_values(&case_pack, &case.events, &options) {
                Ok(alerts) => alerts,
                Err(error) => {
                    return Err(Diagnostic::new(
                        Code::TEST_FILE,
                        format!(
                            "case `{}`: the evaluator rejected the events: {error}",
                            case.name
                        ),
                    )
                    .in_file(file.display.clone()));
                }
            };
            let mut order: Vec<(i64, Option<&str>, usize)> = case
                .events
                .iter()
                .enumerate()
                .map(|(index, event)| {
                    let id = event.get("event_id").and_then(Json::as_str);
                    (timestamp_ms(event), id, index)
                })
                .collect();
            // The evaluator's processing order (time, then `event_id`, events
            // without one last; test events always have one, so the case's
            // order only breaks ties the evaluator never meets): the checks
            // feed the events to their engines in this order.
            order.sort_by(|left, right| {
                (left.0, left.1.is_none(), left.1.map(str::as_bytes), left.2).cmp(&(
                    right.0,
                    right.1.is_none(),
                    right.1.map(str::as_bytes),
                    right.2,
                ))
            });
            // `line` is the event's place in the case, which alerts cite as
            // `<events>:line` when it has no `event_id`.
            let events: Vec<(i64, usize, Json)> = order
                .into_iter()
                .map(|(time, _, index)| {
                    // Engines read events as `tripline normalize` leaves them.
                    let mut event = case.events[index].clone();
                    if let Json::Object(members) = &mut event {
                        crate::normalize::add_companions(members);
                    }
                    (time, index + 1, mapped_event(&event, mapping))
                })
                .collect();
            let files: Map<String, Json> = artifacts
                .into_iter()
                .map(|artifact| (artifact.path, Json::String(artifact.text)))
                .collect();
            cases.push(json!({
                "rule": rule.id,
                "case": case.name,
                "file": file.display,
                "shape": ir::shape_name(&rule.detection),
                "evaluator_alerts": alerts.len(),
                "evaluator_alert_list": alerts,
                "artifacts": files,
                "events": events.into_iter().map(|(time, line, event)| json!({"time_ms": time, "line": line, "event": event})).collect::<Vec<_>>(),
            }));
        }
    }
    let fields: Map<String, Json> = mapping
        .fields
        .values()
        .map(|field| (field.name.clone(), Json::String(field.field_type.clone())))
        .collect();
    Ok(json!({"target": target.id(), "fields": fields, "cases": cases}))
}

fn timestamp_ms(event: &Json) -> i64 {
    event
        .get("timestamp")
        .and_then(Json::as_str)
        .and_then(|text| text.parse::<jiff::Timestamp>().ok())
        .map_or(0, |time| time.as_millisecond())
}

/// An event with its fields renamed to the target's names, dotted names nested.
fn mapped_event(event: &Json, mapping: &Mapping) -> Json {
    let mut root = Map::new();
    let Some(fields) = event.as_object() else {
        return Json::Object(root);
    };
    for (name, value) in fields {
        if value.is_null() {
            continue;
        }
        let target_name = mapping
            .field(name)
            .map_or_else(|| format!("tripline.{name}"), |field| field.name.clone());
        let segments: Vec<&str> = target_name.split('.').collect();
        insert_path(&mut root, &segments, value.clone());
    }
    Json::Object(root)
}

fn insert_path(map: &mut Map<String, Json>, segments: &[&str], value: Json) {
    match segments {
        [] => {}
        [last] => {
            map.insert((*last).to_string(), value);
        }
        [first, rest @ ..] => {
            let entry = map
                .entry((*first).to_string())
                .or_insert_with(|| Json::Object(Map::new()));
            if !entry.is_object() {
                *entry = Json::Object(Map::new());
            }
            if let Json::Object(next) = entry {
                insert_path(next, rest, value);
            }
        }
    }
}
