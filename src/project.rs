//! Loading a rule pack or a content repository from disk.
//!
//! Input: the paths given on the command line (directories, `.tdl` files, or a
//! content repository with a `tripline.yaml`) and command-line overrides.
//! Output: a [`Project`]: every source file read, the checked [`ir::Pack`]
//! (when there are no errors), all diagnostics, and the test files found.
//! This is the only module that walks directories; later stages get data.

// Errors here are cold-path diagnostics returned once per run; boxing them
// would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::check::{self, CheckOptions, LookupOverride};
use crate::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::ir;
use crate::source::{SourceId, Sources, Span};
// The deployment settings are data the targets print; the types live with them.
use crate::syntax;
use crate::targets::deploy::{Deploy, Route};

mod config_yaml;
mod files;
mod replace;

pub use config_yaml::*;
pub use files::*;

/// The name of a content repository's configuration file.
pub const CONFIG_FILE: &str = "tripline.yaml";

/// The extension of rule files.
pub const RULE_EXTENSION: &str = "tdl";

/// The suffix of test case files.
pub const TEST_SUFFIX: &str = ".test.yaml";

/// What to load and the overrides given on the command line.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Paths given; empty means `tripline.yaml` in the current directory if it
    /// exists, else `rules`.
    pub paths: Vec<PathBuf>,
    /// `--param NAME=VALUE`, applied after the configuration file's.
    pub params: Vec<(String, String)>,
    /// `--lookups DIR`.
    pub lookup_dir: Option<PathBuf>,
}

/// A content repository's `tripline.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Rule packs included as they are (their tests are not this repository's);
    /// `builtin` is the pack embedded in the binary ([`crate::builtin`]).
    #[serde(default)]
    pub packs: Vec<PathBuf>,
    /// This repository's own rule directories.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// Parameter overrides.
    #[serde(default)]
    pub params: BTreeMap<String, serde_yaml::Value>,
    /// List changes.
    #[serde(default)]
    pub lists: BTreeMap<String, ListChange>,
    /// Lookup changes.
    #[serde(default)]
    pub lookups: BTreeMap<String, LookupChange>,
    /// Field mapping and data source changes, by target id.
    #[serde(default)]
    pub mappings: BTreeMap<String, MappingChange>,
    /// How queries are written for every target.
    #[serde(default)]
    pub compile: CompileSettings,
    /// How many days the SIEMs keep the events (default 90).
    pub retention_days: Option<u32>,
    /// Alert routes (`route:` in rules) and where each one's alerts go.
    #[serde(default)]
    pub routes: BTreeMap<String, Route>,
    /// Rules (or dashboards) of the packs left out, by id, with the reason.
    #[serde(default)]
    pub disable: BTreeMap<String, String>,
    /// Warnings turned off for the whole run, by code (`W0001: off`).
    #[serde(default)]
    pub warnings: BTreeMap<String, WarningSetting>,
}

/// `warnings: { CODE: off }`: whether a warning code is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WarningSetting {
    /// Not reported (nor counted by `--deny-warnings`).
    Off,
    /// Reported, the default (to turn back on what an earlier file turned off).
    Warn,
}

/// `compile: { inline_lookup_rows: N, sigma: { correlation_windows: epoch } }`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompileSettings {
    /// Lookups with more rows are tested by reference (a watchlist, a lookup
    /// index) where a target can do so exactly; smaller ones are inlined.
    pub inline_lookup_rows: Option<usize>,
    /// Settings of the `sigma` target.
    pub sigma: Option<SigmaSettings>,
}

/// `compile: { sigma: { correlation_windows: epoch } }`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigmaSettings {
    /// How the backends that run the Sigma rules align a correlation's
    /// `timespan`; unset, thresholds are not written as correlations.
    pub correlation_windows: Option<CorrelationWindows>,
}

/// The window alignment a Sigma backend is declared to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationWindows {
    /// Tumbling windows of the `timespan` length aligned to the Unix epoch,
    /// one result per group and window (the evaluator's windows).
    Epoch,
}

/// `mappings: { TARGET: { fields: { CANONICAL: NAME }, data_source: [...] } }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingChange {
    /// Canonical field name → the field's name in the target.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Where the target reads events (index patterns, table, macro definition).
    pub data_source: Option<Vec<String>>,
}

/// The mapping changes of one configuration file, with where it was read.
#[derive(Debug, Clone)]
pub struct MappingConfig {
    /// The configuration file (in [`Project::sources`], for locating errors).
    pub source: SourceId,
    /// Its changes, by target id.
    pub changes: BTreeMap<String, MappingChange>,
    /// Its `compile:` settings.
    pub compile: CompileSettings,
    /// Its `retention_days:` and `routes:`.
    pub deploy: Deploy,
}

/// `lists: { NAME: { extend: [...] } }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListChange {
    /// Values appended to the list.
    #[serde(default)]
    pub extend: Vec<String>,
}

/// `lookups: { NAME: { extend: FILE } }` or `{ replace: FILE }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupChange {
    /// A CSV whose rows are added.
    pub extend: Option<PathBuf>,
    /// A CSV whose rows replace the declared ones.
    pub replace: Option<PathBuf>,
}

/// A directory of rules and whether it is the repository's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The directory or file.
    pub path: PathBuf,
    /// Whether its tests are this run's tests (packs included by a content
    /// repository are not, unless asked).
    pub own: bool,
}

/// Everything loaded in one run.
#[derive(Debug)]
pub struct Project {
    /// Every file read.
    pub sources: Sources,
    /// The checked pack, when there were no errors.
    pub pack: Option<ir::Pack>,
    /// Every diagnostic found.
    pub diagnostics: Diagnostics,
    /// The roots read.
    pub roots: Vec<Root>,
    /// Test case files, with whether they belong to an own root.
    pub test_files: Vec<(PathBuf, bool)>,
    /// Rule files of own roots (to tell which rules must carry tests).
    pub own_rule_files: Vec<String>,
    /// Mapping changes of the configuration files read, in order (later ones win).
    pub mappings: Vec<MappingConfig>,
    /// Rules left out by `disable:` in a configuration file, with the reasons,
    /// sorted by id; they are not in [`Project::pack`].
    pub disabled: Vec<DisabledRule>,
    /// Dashboards of the packs left out by `disable:`, sorted by id; a
    /// content repository may declare its own under the same id.
    pub disabled_dashboards: Vec<DisabledRule>,
}

impl Project {
    /// A project that stopped at a mistake in a configuration file: the
    /// file and its error, nothing else loaded.
    fn config_mistake(mistake: ConfigMistake) -> Project {
        let mut sources = Sources::new();
        let mut diagnostics = Diagnostics::new();
        diagnostics.push(mistake.located(&mut sources));
        Project {
            sources,
            pack: None,
            diagnostics,
            roots: Vec::new(),
            test_files: Vec::new(),
            own_rule_files: Vec::new(),
            mappings: Vec::new(),
            disabled: Vec::new(),
            disabled_dashboards: Vec::new(),
        }
    }
}

/// A rule (or dashboard) a configuration file's `disable:` left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledRule {
    /// The rule's id.
    pub id: String,
    /// Why, as the configuration says.
    pub reason: String,
    /// The configuration file (in [`Project::sources`]).
    pub config: SourceId,
}

/// Loads and checks. An error here is a usage or I/O problem (exit code 2);
/// problems in the rules are diagnostics in the returned project.
pub fn load(options: &LoadOptions) -> Result<Project, Diagnostic> {
    load_overlaid(options, &|_| None)
}

/// [`load`], where `overlay` may give the text of a rule file in place of
/// the one on disk (an editor's unsaved buffer, for `tripline lsp`).
pub fn load_overlaid(
    options: &LoadOptions,
    overlay: &dyn Fn(&Path) -> Option<String>,
) -> Result<Project, Diagnostic> {
    let mut check_options = CheckOptions {
        lookup_dir: options.lookup_dir.clone(),
        ..CheckOptions::default()
    };
    let mut configs = Vec::new();
    let roots = match resolve_roots(&options.paths, &mut check_options, &mut configs) {
        Ok(roots) => roots,
        Err(ConfigFailure::Usage(diagnostic)) => return Err(diagnostic),
        Err(ConfigFailure::Mistake(mistake)) => return Ok(Project::config_mistake(mistake)),
    };
    for (name, value) in &options.params {
        check_options.params.insert(name.clone(), value.clone());
    }

    let mut sources = Sources::new();
    let mut disable = Vec::new();
    let mut origins = crate::check::ConfigOrigins::default();
    let mut warnings_off = std::collections::BTreeSet::new();
    let mut config_problems = Vec::new();
    let mappings: Vec<MappingConfig> = configs
        .into_iter()
        .map(|read| {
            let source = sources.add(read.path, read.text);
            for (code, setting) in &read.warnings {
                if !is_warning_code(code) {
                    config_problems.push(unknown_warning(&sources, source, code));
                } else if *setting == WarningSetting::Off {
                    warnings_off.insert(code.clone());
                } else {
                    warnings_off.remove(code);
                }
            }
            for (section, names, found) in [
                ("params", &read.params, &mut origins.params),
                ("lists", &read.lists, &mut origins.lists),
                ("lookups", &read.lookups, &mut origins.lookups),
            ] {
                for name in names {
                    if let Some(span) = yaml_key_span(&sources, source, &[section, name]) {
                        found.insert(name.clone(), span);
                    }
                }
            }
            disable.extend(read.disable.into_iter().map(|(id, reason)| DisabledRule {
                id,
                reason,
                config: source,
            }));
            MappingConfig {
                source,
                changes: read.mappings,
                compile: read.compile,
                deploy: read.deploy,
            }
        })
        .collect();
    // `--param` comes last and wins; it has no place in a file.
    for (name, _) in &options.params {
        origins.params.remove(name);
    }
    check_options.origins = origins;
    let mut files = Vec::new();
    let mut diagnostics = Diagnostics::new();
    diagnostics.extend(config_problems);
    let mut test_files = Vec::new();
    let mut own_rule_files = Vec::new();
    // Whether each of `files` belongs to the content repository itself.
    let mut own_files = Vec::new();
    for root in &roots {
        let (rule_paths, tests) = discover(&root.path)?;
        for path in rule_paths {
            let text = match overlay(&path) {
                Some(text) => text,
                None => read_text(&path).map_err(|error| io_error(&path, &error))?,
            };
            let display = display_path(&path);
            if root.own {
                own_rule_files.push(display.clone());
            }
            let id = sources.add(display, text);
            let Some(file) = sources.get(id) else {
                continue;
            };
            let (ast, syntax_diagnostics) = syntax::parse(&file.text, id);
            diagnostics.extend(syntax_diagnostics);
            files.push((id, ast));
            own_files.push(root.own);
        }
        test_files.extend(tests.into_iter().map(|path| (path, root.own)));
    }
    let (disable, disabled_dashboards) = disable_dashboards(disable, &mut files, &own_files);
    let replaced = replace::replace_disabled_rules(&disable, &mut files, &own_files);
    let (pack, check_diagnostics) = check::check(&sources, &files, &check_options);
    // A file that does not parse contributes no declarations; "no schema" is
    // then a consequence of the syntax error, not a second problem.
    let syntax_failed = diagnostics
        .iter()
        .any(|diagnostic| diagnostic.code.as_str().starts_with("E01"));
    diagnostics.extend(
        check_diagnostics
            .into_iter()
            .filter(|diagnostic| !(syntax_failed && diagnostic.code == Code::MISSING_SCHEMA)),
    );
    let disabled = disable_rules(&disable, &files, &sources, &mut diagnostics);
    if !disabled.is_empty() {
        // A replaced rule's own tests are the replacement's; the packs' are not.
        test_files.retain(|(path, own)| !tests_disabled_rule(path, &disabled, *own, &replaced));
    }
    if let Some(pack) = &pack {
        diagnostics.extend(unknown_routes(pack, &sources, &mappings));
    }
    if !warnings_off.is_empty() {
        let kept: Vec<Diagnostic> = diagnostics
            .into_sorted()
            .into_iter()
            .filter(|diagnostic| {
                diagnostic.is_error() || !warnings_off.contains(diagnostic.code.as_str())
            })
            .collect();
        diagnostics = Diagnostics::new();
        diagnostics.extend(kept);
    }
    let pack = if diagnostics.has_errors() {
        None
    } else {
        pack.map(|mut pack| {
            pack.rules.retain(|rule| {
                replaced.contains(&rule.id)
                    || !disabled.iter().any(|disabled| disabled.id == rule.id)
            });
            pack
        })
    };
    Ok(Project {
        sources,
        pack,
        diagnostics,
        roots,
        test_files,
        own_rule_files,
        mappings,
        disabled,
        disabled_dashboards,
    })
}

/// Splits `disable:` into rules and dashboards, and leaves the disabled
/// dashboards out of the files: the packs' declarations of each id, so a
/// content repository's own dashboard may take the id; or, when only the
/// repository declares it, the repository's.
fn disable_dashboards(
    disable: Vec<DisabledRule>,
    files: &mut [(SourceId, syntax::ast::File)],
    own_files: &[bool],
) -> (Vec<DisabledRule>, Vec<DisabledRule>) {
    let declares = |file: &syntax::ast::File, id: &str| {
        file.declarations.iter().any(|declaration| {
            matches!(&declaration.kind, syntax::ast::DeclarationKind::Dashboard(dashboard) if dashboard.id.text == id)
        })
    };
    let mut rules = Vec::new();
    let mut dashboards: Vec<DisabledRule> = Vec::new();
    for entry in disable {
        if !files.iter().any(|(_, file)| declares(file, &entry.id)) {
            rules.push(entry);
            continue;
        }
        let in_packs = files
            .iter()
            .zip(own_files)
            .any(|((_, file), own)| !own && declares(file, &entry.id));
        for ((_, file), own) in files.iter_mut().zip(own_files) {
            if *own && in_packs {
                continue;
            }
            file.declarations.retain(|declaration| {
                !matches!(&declaration.kind, syntax::ast::DeclarationKind::Dashboard(dashboard) if dashboard.id.text == entry.id)
            });
        }
        dashboards.push(entry);
    }
    dashboards.sort_by(|a, b| a.id.cmp(&b.id));
    dashboards.dedup_by(|a, b| a.id == b.id);
    (rules, dashboards)
}

/// Whether `code` is a warning code of the registry (`W0001`).
fn is_warning_code(code: &str) -> bool {
    crate::diagnostics::codes::REGISTRY
        .iter()
        .any(|info| info.code == code && code.starts_with('W'))
}

/// E0531 at a `warnings:` key that is not a warning code.
fn unknown_warning(sources: &Sources, source: SourceId, code: &str) -> Diagnostic {
    let mut diagnostic = Diagnostic::new(
        Code::CONFIG,
        format!("`warnings:` names `{code}`, which is not a warning code"),
    );
    diagnostic = match yaml_key_span(sources, source, &["warnings", code]) {
        Some(span) => diagnostic.primary(span, "not a warning"),
        None => diagnostic.in_file(
            sources
                .get(source)
                .map(|file| file.path.clone())
                .unwrap_or_default(),
        ),
    };
    let codes: Vec<&str> = crate::diagnostics::codes::REGISTRY
        .iter()
        .map(|info| info.code)
        .filter(|code| code.starts_with('W'))
        .collect();
    if let Some(close) = crate::diagnostics::suggest::did_you_mean(code, codes.iter().copied()) {
        diagnostic = diagnostic.help(format!("did you mean `{close}`?"));
    }
    diagnostic.note(format!(
        "the warnings are {}; errors cannot be turned off",
        codes.join(", ")
    ))
}

/// The routes configured by the configuration files read (later files add
/// to earlier ones), or `None` when none configures `routes:`.
pub fn configured_routes(mappings: &[MappingConfig]) -> Option<BTreeMap<String, Route>> {
    let mut routes: Option<BTreeMap<String, Route>> = None;
    for config in mappings {
        if !config.deploy.routes.is_empty() {
            routes
                .get_or_insert_with(BTreeMap::new)
                .extend(config.deploy.routes.clone());
        }
    }
    routes
}

/// E0531 at each rule's `route:` that names a route the configuration does
/// not define, when it defines routes at all: an alert nobody receives.
fn unknown_routes(
    pack: &ir::Pack,
    sources: &Sources,
    mappings: &[MappingConfig],
) -> Vec<Diagnostic> {
    let Some(routes) = configured_routes(mappings) else {
        return Vec::new();
    };
    let mut diagnostics = Vec::new();
    for rule in &pack.rules {
        let Some(route) = &rule.metadata.route else {
            continue;
        };
        if routes.contains_key(route) {
            continue;
        }
        let mut diagnostic = Diagnostic::new(
            Code::CONFIG,
            format!(
                "rule `{}` routes its alerts to `{route}`, which `routes:` does not define",
                rule.id
            ),
        );
        diagnostic = match route_span(sources, rule, route) {
            Some(span) => diagnostic.primary(span, "unknown route"),
            None => diagnostic.in_file(rule.file.clone()),
        };
        if let Some(close) =
            crate::diagnostics::suggest::did_you_mean(route, routes.keys().map(String::as_str))
        {
            diagnostic = diagnostic.help(format!("did you mean `{close}`?"));
        }
        let names: Vec<String> = routes.keys().map(|name| format!("`{name}`")).collect();
        diagnostics.push(diagnostic.note(format!(
            "the routes of tripline.yaml are {}",
            names.join(", ")
        )));
    }
    diagnostics
}

/// The span of the route's value in the rule's `route:` entry.
fn route_span(sources: &Sources, rule: &ir::Rule, route: &str) -> Option<Span> {
    let (id, file) = sources.iter().find(|(_, file)| file.path == rule.file)?;
    let start = rule.origin.start as usize;
    let end = (rule.origin.end as usize).min(file.text.len());
    let text = file.text.get(start..end)?;
    let key = text.find("route:")?;
    let after = &text[key..];
    let value = after.find(route)?;
    let begin = start + key + value;
    Some(Span::new(id, begin, begin + route.len()))
}

/// Whether a test file's `rule:` is a disabled rule (its cases cannot run),
/// other than the repository's own tests of a rule it replaced.
fn tests_disabled_rule(
    path: &Path,
    disabled: &[DisabledRule],
    own: bool,
    replaced: &[String],
) -> bool {
    let Ok(text) = read_text(path) else {
        return false;
    };
    let Ok(document) = serde_yaml::from_str::<serde_yaml::Value>(&text) else {
        return false;
    };
    document
        .get("rule")
        .and_then(serde_yaml::Value::as_str)
        .is_some_and(|rule| {
            disabled.iter().any(|disabled| disabled.id == rule)
                && !(own && replaced.iter().any(|id| id == rule))
        })
}

/// The rules `disable:` leaves out, sorted by id; an id no rule file declares
/// is an E0531 error at its key in the configuration file.
fn disable_rules(
    disable: &[DisabledRule],
    files: &[(SourceId, syntax::ast::File)],
    sources: &Sources,
    diagnostics: &mut Diagnostics,
) -> Vec<DisabledRule> {
    let declared: Vec<&str> = files
        .iter()
        .flat_map(|(_, file)| &file.declarations)
        .filter_map(|declaration| match &declaration.kind {
            syntax::ast::DeclarationKind::Rule(rule) => Some(rule.id.text.as_str()),
            _ => None,
        })
        .collect();
    let mut disabled = Vec::new();
    for rule in disable {
        if declared.contains(&rule.id.as_str()) {
            disabled.push(rule.clone());
            continue;
        }
        let mut diagnostic = Diagnostic::new(
            Code::CONFIG,
            format!(
                "`disable:` names `{}`, which is not a rule of the loaded packs",
                rule.id
            ),
        );
        diagnostic = match yaml_key_span(sources, rule.config, &["disable", &rule.id]) {
            Some(span) => diagnostic.primary(span, "no rule has this id"),
            None => diagnostic.in_file(
                sources
                    .get(rule.config)
                    .map(|file| file.path.clone())
                    .unwrap_or_default(),
            ),
        };
        let similar = declared
            .iter()
            .filter(|id| strsim::levenshtein(id, &rule.id) <= 3)
            .min_by_key(|id| strsim::levenshtein(id, &rule.id));
        diagnostic = match similar {
            Some(id) => diagnostic.help(format!("a rule with a similar id exists: `{id}`")),
            None => diagnostic
                .help("`tripline check` lists the rules it loads; give a rule id of one of them"),
        };
        diagnostics.push(diagnostic);
    }
    disabled.sort_by(|a, b| a.id.cmp(&b.id));
    disabled.dedup_by(|a, b| a.id == b.id);
    disabled
}

/// A configuration file read.
struct ConfigRead {
    /// Its path as shown.
    path: String,
    /// Its text.
    text: String,
    /// Its mapping changes.
    mappings: BTreeMap<String, MappingChange>,
    /// Its `compile:` settings.
    compile: CompileSettings,
    /// The names its `params:` sets.
    params: Vec<String>,
    /// The names its `lists:` extends.
    lists: Vec<String>,
    /// The names its `lookups:` changes.
    lookups: Vec<String>,
    /// Its `warnings:` settings.
    warnings: BTreeMap<String, WarningSetting>,
    /// Its `disable:` entries.
    disable: BTreeMap<String, String>,
    /// Its `retention_days:` and `routes:`.
    deploy: Deploy,
}

/// Turns the paths given into rule roots, reading `tripline.yaml` where one is named or found.
fn resolve_roots(
    paths: &[PathBuf],
    options: &mut CheckOptions,
    configs: &mut Vec<ConfigRead>,
) -> Result<Vec<Root>, ConfigFailure> {
    let paths = paths_or_default(paths);
    let mut roots = Vec::new();
    for path in paths {
        let config_path = config_file_of(&path);
        match config_path {
            Some(config_path) => roots.extend(apply_config(&config_path, options, configs)?),
            None if path.exists() => roots.push(Root { path, own: true }),
            None => {
                return Err(Diagnostic::new(Code::INPUT_PATH, "the path does not exist")
                    .in_file(display_path(&path))
                    .help("give a rules directory, a `.tdl` file, or a content repository with a tripline.yaml")
                    .into());
            }
        }
    }
    Ok(roots)
}

fn apply_config(
    path: &Path,
    options: &mut CheckOptions,
    configs: &mut Vec<ConfigRead>,
) -> Result<Vec<Root>, ConfigFailure> {
    let text = read_text(path).map_err(|error| io_error(path, &error))?;
    let config: Config = serde_yaml::from_str(&text)
        .map_err(|error| ConfigFailure::Mistake(config_shape_mistake(path, &text, &error)))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut roots = Vec::new();
    for pack in &config.packs {
        let path = if pack.as_os_str() == crate::builtin::NAME {
            PathBuf::from(crate::builtin::ROOT)
        } else {
            base.join(pack)
        };
        roots.push(Root { path, own: false });
    }
    for rules in &config.rules {
        roots.push(Root {
            path: base.join(rules),
            own: true,
        });
    }
    if roots.is_empty() {
        return Err(ConfigFailure::Mistake(config_key_mistake(
            path,
            &text,
            &[],
            Diagnostic::new(
                Code::CONFIG,
                "the configuration names no `packs` and no `rules`",
            )
            .help("add `packs: [builtin]` for the shipped pack, `rules: [rules]` for your own"),
        )));
    }
    for root in &roots {
        if !root.path.exists() && !crate::builtin::is_dir(&root.path) {
            return Err(Diagnostic::new(
                Code::CONFIG,
                format!(
                    "the directory `{}` does not exist",
                    display_path(&root.path)
                ),
            )
            .in_file(display_path(path))
            .into());
        }
    }
    for (name, value) in &config.params {
        options.params.insert(name.clone(), yaml_scalar_text(value));
    }
    for (name, change) in &config.lists {
        options
            .list_extensions
            .entry(name.clone())
            .or_default()
            .extend(change.extend.iter().cloned());
    }
    for (name, change) in &config.lookups {
        let change = match (&change.extend, &change.replace) {
            (Some(file), None) => LookupOverride::Extend(base.join(file)),
            (None, Some(file)) => LookupOverride::Replace(base.join(file)),
            _ => {
                return Err(ConfigFailure::Mistake(config_key_mistake(
                    path,
                    &text,
                    &["lookups", name],
                    Diagnostic::new(
                        Code::CONFIG,
                        format!("lookup `{name}` needs exactly one of `extend` or `replace`"),
                    ),
                )));
            }
        };
        options.lookup_overrides.insert(name.clone(), change);
    }
    // What serde's shape and the checks above leave (non-empty values, the
    // form of parameter names) is the shipped schema's.
    check_config_schema(path, &text)?;
    let deploy = Deploy {
        retention_days: config.retention_days,
        routes: config.routes,
    };
    configs.push(ConfigRead {
        path: display_path(path),
        text,
        mappings: config.mappings,
        compile: config.compile,
        params: config.params.keys().cloned().collect(),
        lists: config.lists.keys().cloned().collect(),
        lookups: config.lookups.keys().cloned().collect(),
        warnings: config.warnings,
        disable: config.disable,
        deploy,
    });
    Ok(roots)
}
