//! `tripline schema --format json-schema`: the event schema for log validation.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;

use super::{Global, RulesArgs, emit_json, load_pack};

/// Output formats of `schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    /// JSON Schema draft 2020-12.
    JsonSchema,
    /// The checked schema as Tripline IR JSON.
    Ir,
}

/// Arguments of `schema`.
#[derive(Debug, Clone, clap::Args)]
pub struct SchemaArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "json-schema")]
    pub format: SchemaFormat,
    /// Rule directories or content repository (the schema is declared there).
    #[arg(long = "rules", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Writes to a file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `schema`.
pub fn run(args: &SchemaArgs, global: &Global) -> ExitCode {
    let (_, pack) = match load_pack(&args.paths, &RulesArgs::default(), global) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let value = match args.format {
        SchemaFormat::JsonSchema => crate::schema::json_schema(&pack.schema),
        SchemaFormat::Ir => serde_json::to_value(&pack.schema).unwrap_or_default(),
    };
    emit_json(&value, args.out.as_deref())
}
