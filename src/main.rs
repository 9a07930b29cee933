//! The `tripline` command. Each subcommand lives in `tripline::cli::<name>`;
//! this file only parses arguments and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The evaluator hands parsed events between threads; mimalloc frees memory
/// allocated on another thread far more cheaply than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tripline::cli::{self, ColorChoice, Global, MessageFormat};

/// Tripline: detection content for LLM-application security, checked, tested and compiled.
#[derive(Debug, Parser)]
#[command(name = "tripline", version = tripline::builtin::VERSION_LINE, about, propagate_version = true)]
struct Arguments {
    /// How diagnostics are printed.
    #[arg(long, global = true, value_enum, default_value = "human")]
    message_format: MessageFormat,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parses and type-checks rules; exit 0 when clean, 1 on errors, 2 on usage or I/O problems.
    Check(cli::check::CheckArgs),
    /// Prints the long explanation of a diagnostic code (`tripline explain list` lists them).
    Explain(cli::explain::ExplainArgs),
    /// Prints the checked intermediate representation of a rule as JSON.
    Ir(cli::ir::IrArgs),
    /// Prints the event schema (JSON Schema draft 2020-12).
    Schema(cli::schema::SchemaArgs),
    /// Streams JSON-lines events through the rules and writes one alert per line.
    Eval(cli::eval::EvalArgs),
    /// Adds normalised text companions (`user_input_norm`, ...) to JSON-lines events: an ingest filter.
    Normalize(cli::normalize::NormalizeArgs),
    /// Runs every rule's test cases through the evaluator; exit 1 on any failure.
    Test(cli::test::TestArgs),
    /// Renders the pack as Markdown: a catalogue and one page per rule and per dashboard.
    Docs(cli::docs::DocsArgs),
    /// Writes the ATLAS coverage of the pack as an ATT&CK Navigator layer.
    Coverage(cli::docs::CoverageArgs),
    /// Compiles every rule for SIEM targets into `build/<target>/`; a rule a target cannot
    /// express is reported and skipped for that target (exit 1 with `--deny-unsupported`).
    Compile(cli::compile::CompileArgs),
    /// Works with the pack's dashboards: `dashboard preview --events FILE --out DIR` draws one
    /// from sample events as a static HTML page.
    Dashboard(cli::dashboard::DashboardArgs),
    /// Formats rule files canonically (`--check`: list the files that would change, exit 1 if any).
    Fmt(cli::fmt::FmtArgs),
    /// Writes a new content repository that uses the built-in pack (tripline.yaml, rules/, a README, a CI example).
    Init(cli::scaffold::InitArgs),
    /// Writes a new rule skeleton and its test file (`tripline new rule ID`).
    New(cli::scaffold::NewArgs),
    /// Runs a language server for `.tdl` files on stdin and stdout (diagnostics, hover,
    /// go-to-definition); exit 0 after `shutdown` and `exit`, 1 on `exit` without `shutdown`.
    Lsp,
    /// Prints the registered targets and what each can express (the capability table).
    Targets,
    /// Prints a shell completion script (`tripline completions bash > /etc/bash_completion.d/tripline`).
    Completions {
        /// The shell: bash, elvish, fish, powershell or zsh.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let arguments = match Arguments::try_parse() {
        Ok(arguments) => arguments,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(cli::EXIT_USAGE),
            };
        }
    };
    let global = Global::new(arguments.message_format, arguments.color);
    match &arguments.command {
        Command::Check(args) => cli::check::run(args, &global),
        Command::Explain(args) => cli::explain::run(args),
        Command::Ir(args) => cli::ir::run(args, &global),
        Command::Schema(args) => cli::schema::run(args, &global),
        Command::Eval(args) => cli::eval::run(args, &global),
        Command::Normalize(args) => cli::normalize::run(args, &global),
        Command::Test(args) => cli::test::run(args, &global),
        Command::Docs(args) => cli::docs::run_docs(args, &global),
        Command::Coverage(args) => cli::docs::run_coverage(args, &global),
        Command::Compile(args) => cli::compile::run(args, &global),
        Command::Targets => cli::compile::run_targets(),
        Command::Lsp => match tripline::lsp::run() {
            tripline::lsp::Ending::Clean => ExitCode::from(cli::EXIT_OK),
            tripline::lsp::Ending::Abrupt => ExitCode::from(cli::EXIT_FINDINGS),
        },
        Command::Dashboard(args) => cli::dashboard::run(args, &global),
        Command::Fmt(args) => cli::fmt::run(args, &global),
        Command::Init(args) => cli::scaffold::run_init(args),
        Command::New(args) => cli::scaffold::run_new(args, &global),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                *shell,
                &mut <Arguments as clap::CommandFactory>::command(),
                "tripline",
                &mut script,
            );
            cli::write_stdout(&String::from_utf8_lossy(&script));
            ExitCode::SUCCESS
        }
    }
}
