//! `tripline ir RULE_ID`: the checked IR of one rule, as JSON (`--all`: the
//! whole pack; `--dashboards`: the pack's dashboards).

use std::path::PathBuf;
use std::process::ExitCode;

use super::{EXIT_OK, EXIT_USAGE, Global, RulesArgs, load_pack};
use crate::diagnostics::suggest::did_you_mean;

/// Arguments of `ir`.
#[derive(Debug, Clone, clap::Args)]
pub struct IrArgs {
    /// The rule id; `--all` prints the whole pack instead, `--dashboards` its dashboards.
    #[arg(required_unless_present_any = ["all", "dashboards"])]
    pub rule_id: Option<String>,
    /// Prints the whole pack (schema, lists, lookups, params, rules, dashboards).
    #[arg(long, conflicts_with = "dashboards")]
    pub all: bool,
    /// Prints the pack's dashboards (a JSON array, sorted by id).
    #[arg(long)]
    pub dashboards: bool,
    /// Rule directories, `.tdl` files or content repositories after the rule id (with `--all`
    /// or `--dashboards`, every positional argument is a path).
    #[arg(value_name = "PATH")]
    pub positional: Vec<PathBuf>,
    /// The same as a positional PATH (the older spelling, kept).
    #[arg(long = "rules", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Overrides.
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// Runs `ir`.
pub fn run(args: &IrArgs, global: &Global) -> ExitCode {
    // `tripline ir --all rules`: with `--all` (or `--dashboards`) there is
    // no rule id, so the first positional argument is a path too.
    let mut paths: Vec<PathBuf> = Vec::new();
    if args.all || args.dashboards {
        paths.extend(args.rule_id.iter().map(PathBuf::from));
    }
    paths.extend(args.positional.iter().chain(&args.paths).cloned());
    let (_, pack) = match load_pack(&paths, &args.rules, global) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let json = if args.all {
        serde_json::to_string_pretty(&pack)
    } else if args.dashboards {
        serde_json::to_string_pretty(&pack.dashboards)
    } else {
        let id = args.rule_id.as_deref().unwrap_or_default();
        match pack.rule(id) {
            Some(rule) => serde_json::to_string_pretty(rule),
            None => {
                eprintln!("error: no rule has the id `{id}`");
                if let Some(close) =
                    did_you_mean(id, pack.rules.iter().map(|rule| rule.id.as_str()))
                {
                    eprintln!("help: did you mean `{close}`?");
                }
                return ExitCode::from(EXIT_USAGE);
            }
        }
    };
    match json {
        Ok(json) => {
            super::write_stdout(&format!("{json}\n"));
            ExitCode::from(EXIT_OK)
        }
        Err(error) => {
            eprintln!("error: cannot serialise the IR: {error}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
