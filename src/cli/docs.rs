//! `tripline docs [--out DIR]` and `tripline coverage --format navigator`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;

use super::{
    EXIT_OK, EXIT_USAGE, Global, PackPaths, RulesArgs, emit_json, load_pack, write_atomically,
};

/// Arguments of `docs`.
#[derive(Debug, Clone, clap::Args)]
pub struct DocsArgs {
    /// Where the rules are.
    #[command(flatten)]
    pub paths: PackPaths,
    /// Output directory (default: `docs/pack` in the content repository: the folder of its
    /// `tripline.yaml`, or the folder that holds the rules directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overrides.
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// Where `docs` writes by default: `docs/pack` in the content repository.
/// The repository is the folder of a `tripline.yaml` (given, or found in a
/// given folder or here); for a plain rules folder, the folder that holds it.
fn default_docs_dir(paths: &[PathBuf]) -> PathBuf {
    let base = match paths.first() {
        None => PathBuf::from("."),
        Some(path) if path.is_file() => path
            .parent()
            .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf),
        Some(path) if crate::project::config_file_of(path).is_some() => path.clone(),
        Some(path) => path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf),
    };
    base.join("docs").join("pack")
}

/// Runs `docs`: renders everything first, then writes, so a failure leaves no partial set.
pub fn run_docs(args: &DocsArgs, global: &Global) -> ExitCode {
    let (_, pack) = match load_pack(&args.paths.paths(), &args.rules, global) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let files = crate::docs::render_markdown(&pack);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_docs_dir(&args.paths.paths()));
    for (name, text) in &files {
        let path = out.join(name);
        if let Err(error) = write_atomically(&path, text.as_bytes()) {
            eprintln!("error: cannot write `{}`: {error}", path.display());
            return ExitCode::from(EXIT_USAGE);
        }
    }
    eprintln!("wrote {} pages to {}", files.len(), out.display());
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
    /// Where the rules are.
    #[command(flatten)]
    pub paths: PackPaths,
    /// Writes to a file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `coverage`.
pub fn run_coverage(args: &CoverageArgs, global: &Global) -> ExitCode {
    let (_, pack) = match load_pack(&args.paths.paths(), &RulesArgs::default(), global) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let layer = match args.format {
        CoverageFormat::Navigator => crate::docs::navigator_layer(&pack),
    };
    emit_json(&layer, args.out.as_deref())
}
