//! `tripline.yaml` against its JSON Schema, and the line of a YAML key for
//! diagnostics.

use super::*;

/// The JSON Schema of `tripline.yaml` the project ships, for editors and for
/// the checks serde's shape cannot make (non-empty values, the form of
/// parameter names).
pub const CONFIG_SCHEMA: &str = include_str!("../../docs/tripline.schema.json");

/// Validates a configuration that deserialised against [`CONFIG_SCHEMA`];
/// the first violation is an E0531 error naming its key and line.
pub(super) fn check_config_schema(path: &Path, text: &str) -> Result<(), Diagnostic> {
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
    let keys: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|key| key.replace("~1", "/").replace("~0", "~"))
        .collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let at = yaml_key_line(text, &keys).map_or(String::new(), |line| format!(" at line {line}"));
    let place = if pointer.is_empty() {
        "the configuration".to_string()
    } else {
        format!("`{}`", keys.join("."))
    };
    Err(problem(format!("{place}{at}: {error}"))
        .help("docs/tripline.schema.json describes every key; editors read it through `# yaml-language-server: $schema=...`"))
}

/// The line (from 1) of a key in block-style YAML text (see [`yaml_key_range`]).
pub(super) fn yaml_key_line(text: &str, keys: &[&str]) -> Option<usize> {
    let (start, _) = yaml_key_range(text, keys)?;
    Some(text[..start].matches('\n').count() + 1)
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
            found = Some((begin, begin + trimmed.split(':').next().unwrap_or("").len()));
            parent_indent = Some(indent);
            keys.next();
        }
    }
    found
}
