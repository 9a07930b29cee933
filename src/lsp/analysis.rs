//! What the checker says about the pack a file belongs to: the same load
//! and check `tripline check` runs, turned into protocol diagnostics per file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use lsp_types::{
    Diagnostic as LspDiagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Range,
};

use super::index::Index;
use super::text::{Lines, path_to_uri};
use crate::diagnostics::{Diagnostic, Level};
use crate::project::{self, CONFIG_FILE, LoadOptions, RULE_EXTENSION};
use crate::source::{Sources, Span};

/// The pack a file is checked with: a content repository (the nearest
/// `tripline.yaml` above the file), or else the rules directory around it
/// (the highest directory reached by climbing while the parent holds `.tdl`
/// files of its own, so `rules/high/x.tdl` is checked with all of `rules/`).
pub fn root_of(file: &Path) -> PathBuf {
    let directory = file.parent().unwrap_or(Path::new("/"));
    for ancestor in directory.ancestors() {
        if ancestor.join(CONFIG_FILE).is_file() {
            return ancestor.to_path_buf();
        }
    }
    let mut root = directory.to_path_buf();
    while let Some(parent) = root.parent() {
        if !holds_rule_files(parent) {
            break;
        }
        root = parent.to_path_buf();
    }
    root
}

fn holds_rule_files(directory: &Path) -> bool {
    std::fs::read_dir(directory).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let path = entry.path();
            path.is_file()
                && path
                    .extension()
                    .is_some_and(|extension| extension == RULE_EXTENSION)
        })
    })
}

/// One check of a pack, kept for hover and go-to-definition.
pub struct Analysis {
    /// Every file read, with the text checked (open documents included).
    pub sources: Sources,
    /// Declarations of the pack's files.
    pub index: Index,
    /// The protocol diagnostics of each file that has some.
    pub diagnostics: BTreeMap<PathBuf, Vec<LspDiagnostic>>,
}

/// Loads and checks the pack of `file` (`root` as [`root_of`] found it),
/// reading open documents from `open` rather than from disk.
pub fn analyse(root: &Path, file: &Path, open: &HashMap<PathBuf, String>) -> Analysis {
    let overlay = |path: &Path| open.get(path).cloned();
    let load = |paths: Vec<PathBuf>| {
        project::load_overlaid(
            &LoadOptions {
                paths,
                ..LoadOptions::default()
            },
            &overlay,
        )
        .map_err(Box::new)
    };
    let mut loaded = load(vec![root.to_path_buf()]);
    // A file outside the repository's `rules:` is checked with the pack too.
    if let Ok(project) = &loaded
        && !project
            .sources
            .iter()
            .any(|(_, source)| Path::new(&source.path) == file)
        && file.is_file()
    {
        loaded = load(vec![root.to_path_buf(), file.to_path_buf()]);
    }
    match loaded {
        Ok(project) => {
            let index = Index::build(&project.sources, project.pack.as_ref());
            let diagnostics = convert_all(
                &project.diagnostics.clone().into_sorted(),
                &project.sources,
                file,
            );
            Analysis {
                sources: project.sources,
                index,
                diagnostics,
            }
        }
        Err(problem) => {
            // A usage problem (an unreadable file, a bad tripline.yaml): shown
            // at the top of its file when it names one, else of this file.
            let sources = Sources::new();
            let diagnostics = convert_all(&[*problem], &sources, file);
            Analysis {
                sources,
                index: Index::default(),
                diagnostics,
            }
        }
    }
}

/// Groups diagnostics by the file of their primary label (or the file they
/// name), with the secondary labels as related information.
fn convert_all(
    diagnostics: &[Diagnostic],
    sources: &Sources,
    fallback: &Path,
) -> BTreeMap<PathBuf, Vec<LspDiagnostic>> {
    let mut by_file: BTreeMap<PathBuf, Vec<LspDiagnostic>> = BTreeMap::new();
    for diagnostic in diagnostics {
        let (path, range) = match diagnostic.primary_span() {
            Some(span) => match locate(sources, span) {
                Some(location) => location,
                // In a file of the built-in pack: at the top of the file
                // checked, the message saying where.
                None => {
                    let mut shown = diagnostic.clone();
                    shown.message = format!("{} ({})", shown.message, sources.locate(span));
                    shown.labels.retain(|label| !label.primary);
                    by_file
                        .entry(fallback.to_path_buf())
                        .or_default()
                        .push(convert(&shown, sources, Range::default()));
                    continue;
                }
            },
            None => {
                let named = diagnostic.file.as_deref().map(PathBuf::from);
                let path = named
                    .filter(|path| path.is_absolute() && path.is_file())
                    .unwrap_or_else(|| fallback.to_path_buf());
                (path, Range::default())
            }
        };
        by_file
            .entry(path)
            .or_default()
            .push(convert(diagnostic, sources, range));
    }
    by_file
}

/// The file and range of a span; `None` for a file that is not on disk
/// (the built-in pack's live in the binary).
fn locate(sources: &Sources, span: Span) -> Option<(PathBuf, Range)> {
    let file = sources.get(span.source)?;
    if !Path::new(&file.path).is_absolute() {
        return None;
    }
    let lines = Lines::new(&file.text);
    Some((
        PathBuf::from(&file.path),
        lines.range(span.start as usize, span.end as usize),
    ))
}

/// One diagnostic: its code, severity and range; the primary label's text,
/// notes and help under the message; other labels as related information.
fn convert(diagnostic: &Diagnostic, sources: &Sources, range: Range) -> LspDiagnostic {
    let mut message = diagnostic.message.clone();
    for label in &diagnostic.labels {
        if label.primary && !label.message.is_empty() {
            message.push_str(&format!("\n{}", label.message));
        }
    }
    for note in &diagnostic.notes {
        message.push_str(&format!("\nnote: {note}"));
    }
    for help in &diagnostic.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .labels
        .iter()
        .filter(|label| !label.primary)
        .filter_map(|label| {
            let (path, range) = locate(sources, label.span)?;
            Some(DiagnosticRelatedInformation {
                location: Location::new(path_to_uri(&path)?, range),
                message: if label.message.is_empty() {
                    "related".to_string()
                } else {
                    label.message.clone()
                },
            })
        })
        .collect();
    LspDiagnostic {
        range,
        severity: Some(match diagnostic.level {
            Level::Error => DiagnosticSeverity::ERROR,
            Level::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.as_str().to_string())),
        source: Some("tripline".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..LspDiagnostic::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Code;

    #[test]
    fn labels_notes_and_help_reach_the_client() {
        let mut sources = Sources::new();
        let first = sources.add("/pack/a.tdl", "list a: string = []\n");
        let second = sources.add("/pack/b.tdl", "\nlist a: string = []\n");
        let diagnostic = Diagnostic::new(Code::UNKNOWN_FIELD, "the name is taken")
            .primary(Span::new(second, 6, 7), "declared again here")
            .secondary(Span::new(first, 5, 6), "first declared here")
            .note("names are unique in a pack")
            .help("rename one");
        let converted = convert_all(&[diagnostic], &sources, Path::new("/pack/c.tdl"));
        let problems = &converted[Path::new("/pack/b.tdl")];
        assert_eq!(problems.len(), 1);
        let problem = &problems[0];
        assert_eq!(problem.range.start, lsp_types::Position::new(1, 5));
        assert_eq!(problem.range.end, lsp_types::Position::new(1, 6));
        assert_eq!(
            problem.message,
            "the name is taken\ndeclared again here\nnote: names are unique in a pack\nhelp: rename one"
        );
        let related = problem.related_information.as_ref().unwrap();
        assert_eq!(related[0].message, "first declared here");
        assert_eq!(related[0].location.uri.as_str(), "file:///pack/a.tdl");
        assert_eq!(
            related[0].location.range.start,
            lsp_types::Position::new(0, 5)
        );
        // In a file of the built-in pack: at the top of the file checked.
        let builtin = sources.add("<builtin>/rules/x.tdl", "param p: int = 1\n");
        let inside =
            Diagnostic::new(Code::UNKNOWN_FIELD, "odd").primary(Span::new(builtin, 6, 7), "");
        let converted = convert_all(&[inside], &sources, Path::new("/pack/c.tdl"));
        assert_eq!(
            converted[Path::new("/pack/c.tdl")][0].message,
            "odd (<builtin>/rules/x.tdl:1:7)"
        );
        // Without a span or a file it is shown at the top of the file checked.
        let loose = Diagnostic::new(Code::UNKNOWN_FIELD, "somewhere");
        let converted = convert_all(&[loose], &sources, Path::new("/pack/c.tdl"));
        assert_eq!(
            converted[Path::new("/pack/c.tdl")][0].range,
            Range::default()
        );
    }

    #[test]
    fn the_pack_of_a_file() {
        let base = std::env::temp_dir().join(format!("tripline-lsp-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let rules = base.join("plain/rules");
        std::fs::create_dir_all(rules.join("high")).unwrap();
        std::fs::write(rules.join("params.tdl"), "").unwrap();
        std::fs::write(rules.join("high/x.tdl"), "").unwrap();
        assert_eq!(root_of(&rules.join("high/x.tdl")), rules);
        let repository = base.join("repo");
        std::fs::create_dir_all(repository.join("rules/deep")).unwrap();
        std::fs::write(repository.join(CONFIG_FILE), "rules: [rules]\n").unwrap();
        assert_eq!(root_of(&repository.join("rules/deep/y.tdl")), repository);
        let _ = std::fs::remove_dir_all(&base);
    }
}
