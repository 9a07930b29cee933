//! `tripline docs [--out DIR]` and `tripline coverage --format navigator`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;

use super::{EXIT_OK, EXIT_USAGE, Global, RulesArgs, emit_json, load_pack, write_atomically};

/// Arguments of `docs`.
#[derive(Debug, Clone, clap::Args)]
pub struct DocsArgs {
    /// Rule directories or content repository.
    #[arg(long = "rules", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "target/docs")]
    pub out: PathBuf,
    /// Overrides.
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// Runs `docs`: renders everything first, then writes, so a failure leaves no partial set.
pub fn run_docs(args: &DocsArgs, global: &Global) -> ExitCode {
    let (_, pack) = match load_pack(&args.paths, &args.rules, global) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let files = crate::docs::render_markdown(&pack);
    for (name, text) in &files {
        let path = args.out.join(name);
        if let Err(error) = write_atomically(&path, text.as_bytes()) {
            eprintln!("error: cannot write `{}`: {error}", path.display());
            return ExitCode::from(EXIT_USAGE);
        }
    }
    eprintln!("wrote {} pages to {}", files.len(), args.out.display());
    ExitCode::from(EXIT_OK)
}

/// Coverage formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    /// An ATT&CK Navigator layer of ATLAS techniques.
    Navigator,
}

/// Arguments of `coverage`.
#[derive(Debug, Clone, clap::Args)]
pub struct CoverageArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "navigator")]
    pub format: CoverageFormat,
    /// Rule directories or content repository.
    #[arg(long = "rules", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Writes to a file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `coverage`.
pub fn run_coverage(args: &CoverageArgs, global: &Global) -> ExitCode {
    let (_, pack) = match load_pack(&args.paths, &RulesArgs::default(), global) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let layer = match args.format {
        CoverageFormat::Navigator => crate::docs::navigator_layer(&pack),
    };
    emit_json(&layer, args.out.as_deref())
}
