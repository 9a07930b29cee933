//! Finding and reading a content repository's files: rule discovery, the
//! files `fmt` owns, and paths as diagnostics print them.

use super::*;

/// The rule files a content repository owns, for `tripline fmt`: the `.tdl`
/// files of the paths given (directories, files, or content repositories,
/// whose own `rules:` count but not their `packs:`), sorted, each once.
/// Default: `tripline.yaml` here if it exists, else `rules`.
pub fn own_rule_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FilesError> {
    let paths = paths_or_default(paths);
    let mut files = Vec::new();
    for path in paths {
        let config_path = config_file_of(&path);
        let roots = match config_path {
            Some(config_path) => config_rule_dirs(&config_path)?,
            None if path.exists() => vec![path],
            None => {
                return Err(Diagnostic::new(Code::INPUT_PATH, "the path does not exist")
                    .in_file(display_path(&path))
                    .help("give `.tdl` files, a rules directory, or a content repository with a tripline.yaml")
                    .into());
            }
        };
        for root in roots {
            if !root.exists() {
                return Err(Diagnostic::new(
                    Code::INPUT_PATH,
                    format!("the directory `{}` does not exist", display_path(&root)),
                )
                .in_file(display_path(&root))
                .into());
            }
            files.extend(discover(&root)?.0);
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Why the rule files of a path were not found.
pub enum FilesError {
    /// A path or directory that does not exist, or a file that cannot be
    /// read: a usage or I/O problem (exit 2).
    Usage(Box<Diagnostic>),
    /// A mistake in a `tripline.yaml` (its shape, an unknown key, a value of
    /// the wrong type): E0531 at its line, with the file in `sources`, as
    /// `check` reports it (exit 1).
    Config {
        /// The located error.
        diagnostic: Box<Diagnostic>,
        /// The configuration file the error points into.
        sources: Box<Sources>,
    },
}

impl From<Diagnostic> for FilesError {
    fn from(diagnostic: Diagnostic) -> Self {
        FilesError::Usage(Box::new(diagnostic))
    }
}

/// The `rules:` directories of the configuration file at `config_path`,
/// relative to its folder, in the order written.
pub fn config_rule_dirs(config_path: &Path) -> Result<Vec<PathBuf>, FilesError> {
    let text = read_text(config_path).map_err(|error| io_error(config_path, &error))?;
    let config: Config = serde_yaml::from_str(&text).map_err(|error| {
        let mut sources = Sources::new();
        let diagnostic = config_shape_mistake(config_path, &text, &error).located(&mut sources);
        FilesError::Config {
            diagnostic: Box::new(diagnostic),
            sources: Box::new(sources),
        }
    })?;
    let base = config_path.parent().unwrap_or(Path::new("."));
    Ok(config.rules.iter().map(|rules| base.join(rules)).collect())
}

/// Every `.tdl` and `*.test.yaml` file under `path`, in sorted order.
pub(super) fn discover(path: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Diagnostic> {
    let mut rules = Vec::new();
    let mut tests = Vec::new();
    if crate::builtin::is_builtin(path) {
        for file in crate::builtin::files_under(path) {
            let name = file.to_string_lossy();
            if name.ends_with(TEST_SUFFIX) {
                tests.push(file);
            } else if file
                .extension()
                .is_some_and(|extension| extension == RULE_EXTENSION)
            {
                rules.push(file);
            }
        }
        return Ok((rules, tests));
    }
    if path.is_file() {
        let name = path.to_string_lossy();
        if name.ends_with(TEST_SUFFIX) {
            tests.push(path.to_path_buf());
        } else {
            rules.push(path.to_path_buf());
        }
        return Ok((rules, tests));
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(directory) = stack.pop() {
        let entries = fs::read_dir(&directory).map_err(|error| io_error(&directory, &error))?;
        for entry in entries {
            let entry = entry.map_err(|error| io_error(&directory, &error))?;
            let entry_path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if entry_path.is_dir() {
                stack.push(entry_path);
            } else if name.ends_with(TEST_SUFFIX) {
                tests.push(entry_path);
            } else if entry_path
                .extension()
                .is_some_and(|extension| extension == RULE_EXTENSION)
            {
                rules.push(entry_path);
            }
        }
    }
    rules.sort();
    tests.sort();
    Ok((rules, tests))
}

/// A YAML scalar as the text a parameter override is parsed from
/// (`3`, `0.5`, `true`, `10m`, or a string as written).
pub fn yaml_scalar_text(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::String(text) => text.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// A path as shown in messages: relative, with `./` removed, `/` separators.
/// A UTF-8 text file, without the byte-order mark some Windows editors put
/// at its start (it is not part of the content).
/// Files of the embedded pack ([`crate::builtin`]) are read from the binary.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    if let Some(text) = crate::builtin::read(path) {
        return Ok(text.to_string());
    }
    let text = fs::read_to_string(path)?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

pub fn display_path(path: &Path) -> String {
    let mut text = path.to_string_lossy().replace('\\', "/");
    while text.contains("/./") {
        text = text.replace("/./", "/");
    }
    if let Some(stripped) = text.strip_suffix("/.") {
        text = stripped.to_string();
    }
    text.strip_prefix("./").unwrap_or(&text).to_string()
}

pub(super) fn io_error(path: &Path, error: &std::io::Error) -> Diagnostic {
    Diagnostic::new(
        Code::INPUT_PATH,
        format!("cannot read `{}`: {error}", path.display()),
    )
    .in_file(display_path(path))
}

/// The paths a command reads: those given, or by default `tripline.yaml`
/// here if it exists, else `rules`.
pub(super) fn paths_or_default(paths: &[PathBuf]) -> Vec<PathBuf> {
    if !paths.is_empty() {
        paths.to_vec()
    } else if Path::new(CONFIG_FILE).is_file() {
        vec![PathBuf::from(CONFIG_FILE)]
    } else {
        vec![PathBuf::from("rules")]
    }
}

/// The content repository configuration a path names: a `tripline.yaml`
/// itself, or the one inside a given folder.
pub fn config_file_of(path: &Path) -> Option<PathBuf> {
    if path.is_dir() && path.join(CONFIG_FILE).is_file() {
        Some(path.join(CONFIG_FILE))
    } else if path.file_name().is_some_and(|name| name == CONFIG_FILE) {
        Some(path.to_path_buf())
    } else {
        None
    }
}
