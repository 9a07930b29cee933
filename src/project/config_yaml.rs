//! `tripline.yaml` against its JSON Schema, and the line of a YAML key for
//! diagnostics.

use super::*;

/// The JSON Schema of `tripline.yaml` the project ships, for editors and for
/// the checks serde's shape cannot make (non-empty values, the form of
/// parameter names).
pub const CONFIG_SCHEMA: &str = include_str!("../../docs/tripline.schema.json");

/// Why a configuration file was not applied.
pub(super) enum ConfigFailure {
    /// It cannot be read, or names a directory that does not exist: a
    /// usage or I/O problem (exit 2).
    Usage(Diagnostic),
    /// A mistake in what it says (its shape, an unknown key, a value of the
    /// wrong type, a schema violation): an error at its place in the file,
    /// reported with the rules' problems (exit 1).
    Mistake(ConfigMistake),
}

impl From<Diagnostic> for ConfigFailure {
    fn from(diagnostic: Diagnostic) -> Self {
        ConfigFailure::Usage(diagnostic)
    }
}

/// A mistake in a configuration file, with the file's text to locate it.
pub(super) struct ConfigMistake {
    /// The file as shown.
    pub(super) path: String,
    /// Its text.
    pub(super) text: String,
    /// The E0531 error, without a place yet.
    pub(super) diagnostic: Diagnostic,
    /// The byte range of the mistake in `text`, when known.
    pub(super) at: Option<(usize, usize)>,
    /// What the label at `at` says.
    pub(super) label: &'static str,
}

impl ConfigMistake {
    /// The diagnostic at its place, with the file added to `sources`.
    pub(super) fn located(self, sources: &mut Sources) -> Diagnostic {
        let source = sources.add(self.path.clone(), self.text);
        match self.at {
            Some((start, end)) => self
                .diagnostic
                .primary(Span::new(source, start, end), self.label),
            None => self.diagnostic.in_file(self.path),
        }
    }
}

/// A configuration that serde cannot read into [`Config`] (a wrong shape, an
/// unknown key, a value of the wrong type) as a mistake at serde's place.
pub(super) fn config_shape_mistake(
    path: &Path,
    text: &str,
    error: &serde_yaml::Error,
) -> ConfigMistake {
    let mut message = error.to_string();
    // serde names the Rust type it wanted; the user wrote a YAML mapping.
    if let Some(start) = message.find("expected struct ") {
        let name = &message[start + "expected struct ".len()..];
        let end = name
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(name.len());
        message.replace_range(
            start..start + "expected struct ".len() + end,
            "expected a mapping of keys",
        );
    }
    let mut at = None;
    if let Some(location) = error.location() {
        // The place is the diagnostic's; the message need not repeat it.
        let suffix = format!(" at line {} column {}", location.line(), location.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
        let start = location.index().min(text.len());
        let rest = &text[start..];
        let token = rest.find([':', '\n']).unwrap_or(rest.len());
        let end = start + rest[..token].trim_end().len();
        at = Some((start, end.max((start + 1).min(text.len()))));
    }
    ConfigMistake {
        path: display_path(path),
        text: text.to_string(),
        diagnostic: Diagnostic::new(Code::CONFIG, message).help(
            "docs/language.md describes tripline.yaml; docs/tripline.schema.json lists every key",
        ),
        at,
        label: "here",
    }
}

/// A mistake at a key of a configuration file (`["lookups", "users"]`), or
/// at its start when the key is not found.
pub(super) fn config_key_mistake(
    path: &Path,
    text: &str,
    keys: &[&str],
    diagnostic: Diagnostic,
) -> ConfigMistake {
    let at = yaml_key_range(text, keys).or((!text.is_empty()).then(|| {
        let first = text.find('\n').unwrap_or(text.len());
        (0, first.max(1).min(text.len()))
    }));
    ConfigMistake {
        path: display_path(path),
        text: text.to_string(),
        diagnostic,
        at,
        label: "here",
    }
}

/// Validates a configuration that deserialised against [`CONFIG_SCHEMA`];
/// the first violation is an E0531 mistake at its key.
pub(super) fn check_config_schema(path: &Path, text: &str) -> Result<(), ConfigFailure> {
    let problem =
        |message: String| Diagnostic::new(Code::CONFIG, message).in_file(display_path(path));
    let schema: serde_json::Value = serde_json::from_str(CONFIG_SCHEMA).map_err(|error| {
        problem(format!(
            "the shipped configuration schema does not parse: {error}"
        ))
    })?;
    let validator = jsonschema::draft202012::new(&schema).map_err(|error| {
        problem(format!(
            "the shipped configuration schema is invalid: {error}"
        ))
    })?;
    let Ok(document) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return Ok(());
    };
    // Keys that are not strings cannot become JSON; serde has read the file already.
    let Ok(instance) = serde_json::to_value(&document) else {
        return Ok(());
    };
    let Some(error) = validator.iter_errors(&instance).next() else {
        return Ok(());
    };
    let pointer = error.instance_path().to_string();
    let mut keys: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|key| key.replace("~1", "/").replace("~0", "~"))
        .collect();
    // A key whose name breaks the rule for names is itself the place.
    if let jsonschema::error::ValidationErrorKind::PropertyNames { error: name } = error.kind()
        && let serde_json::Value::String(name) = name.instance().as_ref()
    {
        keys.push(name.clone());
    }
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let place = if keys.is_empty() {
        "the configuration".to_string()
    } else {
        format!("`{}`", keys.join("."))
    };
    let diagnostic = Diagnostic::new(Code::CONFIG, format!("{place}: {error}"))
        .help("docs/tripline.schema.json describes every key; editors read it through `# yaml-language-server: $schema=...`");
    Err(ConfigFailure::Mistake(config_key_mistake(
        path, text, &keys, diagnostic,
    )))
}

/// The span of a key in a block-style YAML file, found by its path of keys
/// (each key on its own line, indented under its parent); the deepest key
/// found when the rest is not (flow style), or `None`.
pub fn yaml_key_span(sources: &Sources, source: SourceId, keys: &[&str]) -> Option<Span> {
    let (start, end) = yaml_key_range(&sources.get(source)?.text, keys)?;
    Some(Span::new(source, start, end))
}

/// The byte range of a key in block-style YAML text, found by its path of
/// keys (see [`yaml_key_span`]).
pub(super) fn yaml_key_range(text: &str, keys: &[&str]) -> Option<(usize, usize)> {
    let mut found = None;
    let mut offset = 0;
    let mut parent_indent: Option<usize> = None;
    let mut keys = keys.iter().peekable();
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some(key) = keys.peek() else {
            break;
        };
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if parent_indent.is_some_and(|parent| indent <= parent)
            && !trimmed.trim().is_empty()
            && !trimmed.starts_with('#')
        {
            // Left the parent's block without finding the key.
            break;
        }
        let name = trimmed
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        if trimmed.contains(':') && name == **key {
            let begin = start + indent;
            let mut end = begin + trimmed.split(':').next().unwrap_or("").len();
            found = Some((begin, end));
            parent_indent = Some(indent);
            keys.next();
            // The keys below it written in flow style on the same line
            // (`owner: { id: x }`).
            while let Some(key) = keys.peek() {
                let rest = &text[end..start + line.len()];
                let Some(at) = [
                    format!("{key}:"),
                    format!("\"{key}\":"),
                    format!("'{key}':"),
                ]
                .iter()
                .filter_map(|written| {
                    // A whole key, not the end of a longer one (`user_id:` for `id`).
                    rest.match_indices(written.as_str())
                        .map(|(at, _)| at)
                        .find(|&at| {
                            !rest[..at]
                                .ends_with(|c: char| c.is_alphanumeric() || "_-.".contains(c))
                        })
                })
                .min() else {
                    break;
                };
                let begin = end + at;
                end = begin + rest[at..].find(':').unwrap_or(0);
                found = Some((begin, end));
                keys.next();
            }
        }
    }
    found
}
