//! `tripline explain CODE`: the long explanation of a diagnostic code.

use std::process::ExitCode;

use super::{EXIT_OK, EXIT_USAGE};
use crate::diagnostics::codes;
use crate::diagnostics::suggest::did_you_mean;

/// Arguments of `explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// A code such as `E0201`; `list` prints every code with its title.
    pub code: String,
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> ExitCode {
    if args.code.eq_ignore_ascii_case("list") {
        let list: String = codes::REGISTRY
            .iter()
            .map(|info| format!("{}  {}\n", info.code, info.title))
            .collect();
        super::write_stdout(&list);
        return ExitCode::from(EXIT_OK);
    }
    match codes::lookup(&args.code) {
        Some(info) => {
            let newline = if info.explanation.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            super::write_stdout(&format!("{}{newline}", info.explanation));
            ExitCode::from(EXIT_OK)
        }
        None => {
            eprintln!("error: `{}` is not a Tripline diagnostic code", args.code);
            let upper = args.code.to_uppercase();
            if let Some(close) = did_you_mean(&upper, codes::REGISTRY.iter().map(|info| info.code))
            {
                eprintln!("help: did you mean `{close}`?");
            }
            eprintln!("help: `tripline explain list` prints every code");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
