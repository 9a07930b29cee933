//! `tripline fmt [PATH...] [--check]`: rule files in the canonical layout
//! ([`crate::format`]).
//!
//! Every file is formatted in memory first; when one does not parse, its
//! errors are printed and no file is written (exit 1). `--check` writes
//! nothing and lists the files that would change (exit 1 when there are any).

use std::path::PathBuf;
use std::process::ExitCode;

use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Global, MessageFormat, plural, write_atomically};
use crate::project;
use crate::source::Sources;

/// Arguments of `fmt`.
#[derive(Debug, Clone, clap::Args)]
pub struct FmtArgs {
    /// `.tdl` files, rule directories or content repositories (their own `rules:`;
    /// default: `tripline.yaml` here, else `rules`).
    pub paths: Vec<PathBuf>,
    /// Writes nothing; lists the files that are not in the canonical layout and exits 1 if any.
    #[arg(long)]
    pub check: bool,
}

/// Runs `fmt`.
pub fn run(args: &FmtArgs, global: &Global) -> ExitCode {
    let files = match project::own_rule_files(&args.paths) {
        Ok(files) => files,
        Err(project::FilesError::Usage(diagnostic)) => {
            global.report_one(*diagnostic);
            return ExitCode::from(EXIT_USAGE);
        }
        Err(project::FilesError::Config {
            diagnostic,
            sources,
        }) => {
            global.report(&[*diagnostic], &sources);
            return ExitCode::from(EXIT_FINDINGS);
        }
    };
    let mut sources = Sources::new();
    let mut errors = Vec::new();
    let mut changed = Vec::new();
    for path in &files {
        let original = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: cannot read `{}`: {error}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        };
        let source = sources.add(project::display_path(path), original.clone());
        match crate::format::format_source(&original, source) {
            Ok(formatted) if formatted != original => changed.push((path, formatted)),
            Ok(_) => {}
            Err(diagnostics) => {
                errors.extend(diagnostics.into_iter().map(|diagnostic| {
                    if diagnostic.labels.is_empty() {
                        diagnostic.in_file(project::display_path(path))
                    } else {
                        diagnostic
                    }
                }));
            }
        }
    }
    if !errors.is_empty() {
        global.report(&errors, &sources);
        if global.message_format == MessageFormat::Human {
            eprintln!(
                "error: {} error{} in rule files; nothing was formatted",
                errors.len(),
                plural(errors.len())
            );
        }
        return ExitCode::from(EXIT_FINDINGS);
    }
    if args.check {
        let mut listing = String::new();
        for (path, _) in &changed {
            listing.push_str(&project::display_path(path));
            listing.push('\n');
        }
        super::write_stdout(&listing);
        if global.message_format == MessageFormat::Human {
            eprintln!(
                "{} of {} rule file{} would be reformatted{}",
                changed.len(),
                files.len(),
                plural(files.len()),
                if changed.is_empty() {
                    ""
                } else {
                    " (run `tripline fmt`)"
                }
            );
        }
        return ExitCode::from(if changed.is_empty() {
            EXIT_OK
        } else {
            EXIT_FINDINGS
        });
    }
    for (path, formatted) in &changed {
        if let Err(error) = write_atomically(path, formatted.as_bytes()) {
            eprintln!("error: cannot write `{}`: {error}", path.display());
            return ExitCode::from(EXIT_USAGE);
        }
    }
    if global.message_format == MessageFormat::Human {
        eprintln!(
            "formatted {} of {} rule file{}",
            changed.len(),
            files.len(),
            plural(files.len())
        );
    }
    ExitCode::from(EXIT_OK)
}
