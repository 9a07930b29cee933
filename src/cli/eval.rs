//! `tripline eval`: streams JSON-lines events through the rules and writes alerts.
//!
//! Input: the arguments and the loaded pack. Output: alerts as JSON lines (or a
//! table) on stdout or `--out`, a one-line summary on stderr, and an exit code:
//! 0 when the run completed (with alerts or not), 1 when the input had a bad
//! line (without `--skip-invalid`), 2 for usage and I/O problems.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::progress;
use super::{EXIT_OK, EXIT_USAGE, Global, MessageFormat, PackPaths, RulesArgs, load_pack, plural};
use crate::eval::{self, EvalOptions, Input, Summary, TableCollector};

/// How alerts are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EvalFormat {
    /// One JSON object per alert per line.
    #[default]
    Json,
    /// Per rule: the number of alerts and the first groups.
    Table,
}

fn duration(text: &str) -> Result<i64, String> {
    eval::parse_duration(text)
        .ok_or_else(|| format!("`{text}` is not a duration such as 90s, 10m, 24h or 7d"))
}

/// `--threads N`: at least one thread must evaluate, so 0 is a usage error.
fn thread_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("at least 1 thread is needed to evaluate events".to_string()),
        Ok(count) => Ok(count),
        Err(_) => Err(format!(
            "`{text}` is not a number of threads such as 1 or 4"
        )),
    }
}

/// `--max-line-bytes SIZE`: bytes, or with a `KiB`, `MiB` or `GiB` suffix.
fn byte_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size such as 1048576, 512KiB or 16MiB"
            ));
        }
    };
    match number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
    {
        Some(0) => Err("the line limit must be at least 1 byte".to_string()),
        Some(bytes) => Ok(bytes),
        None => Err(format!(
            "`{text}` is not a size such as 1048576, 512KiB or 16MiB"
        )),
    }
}

/// Arguments of `eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// JSON-lines events (`-` for stdin; `.gz` and `.zst` files are decompressed); repeat to
    /// merge several.
    #[arg(long = "events", value_name = "FILE", required = true)]
    pub events: Vec<String>,
    /// Where the rules are.
    #[command(flatten)]
    pub paths: PackPaths,
    /// Overrides (`--param`, `--lookups`).
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Evaluates only this rule (repeat for several).
    #[arg(long = "rule", value_name = "ID")]
    pub rule_ids: Vec<String>,
    /// Writes alerts to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Alert output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: EvalFormat,
    /// Skips bad lines and counts them instead of stopping at the first.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Learning period: a new-value key alerts once it was seen this long
    /// before; a baseline group alerts once its own history is this long.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = duration)]
    pub learn: i64,
    /// How far out of timestamp order the input may be.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub lateness: i64,
    /// Threads: 1 reads, parses and evaluates on one thread; N >= 2 adds N - 1 threads that
    /// read and parse batches of lines, which the evaluating thread also parses when it would
    /// otherwise wait (output is identical in every case). Default: the number of cores, at
    /// most 4.
    #[arg(long, value_name = "N", value_parser = thread_count)]
    pub threads: Option<usize>,
    /// The longest event line accepted (bytes, or 512KiB, 16MiB, 1GiB); a longer line is a
    /// bad line (E0519), read past without being held in memory.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = byte_size)]
    pub max_line_bytes: usize,
    /// Shows progress on stderr (events/s, bytes, alerts so far, ETA for files); on by
    /// default when stderr is a terminal.
    #[arg(long, overrides_with = "no_progress")]
    pub progress: bool,
    /// Never shows progress.
    #[arg(long)]
    pub no_progress: bool,
}

/// The default thread count: the cores available, at most 4 (evaluation
/// itself stays on one thread, so more parsers would mostly wait).
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().min(4))
}

/// Runs `eval`.
pub fn run(args: &EvalArgs, global: &Global) -> ExitCode {
    let (_, pack) = match load_pack(&args.paths.paths(), &args.rules, global) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let options = EvalOptions {
        learn_ms: args.learn,
        lateness_ms: args.lateness,
        rules: args.rule_ids.clone(),
        threads: args.threads.unwrap_or_else(default_threads).max(1),
        skip_invalid: args.skip_invalid,
        max_line_bytes: args.max_line_bytes,
        ..EvalOptions::default()
    };
    let inputs: Vec<Input> = args
        .events
        .iter()
        .map(|argument| Input::from_argument(argument))
        .collect();
    let mut writer: Box<dyn Write> = match &args.out {
        Some(path) => match File::create(path) {
            Ok(file) => Box::new(BufWriter::new(file)),
            Err(error) => {
                eprintln!("error: cannot create {}: {error}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let show_progress = !args.no_progress && (args.progress || std::io::stderr().is_terminal());
    let display = show_progress.then(|| progress::Display::start(&inputs));
    let options = EvalOptions {
        progress: display.as_ref().map(progress::Display::handle),
        ..options
    };
    let mut table = TableCollector::default();
    // Reading a stream (`tail -f log | tripline eval --events -`), each alert
    // goes out as soon as it is final, not when the buffer fills.
    let live = inputs.contains(&Input::Stdin);
    let result = eval::run(&pack, &inputs, &options, &mut |alert| match args.format {
        EvalFormat::Json => {
            if let Some(display) = &display {
                display.alert();
            }
            eval::write_json_line(&mut *writer, alert)?;
            if live { writer.flush() } else { Ok(()) }
        }
        EvalFormat::Table => {
            if let Some(display) = &display {
                display.alert();
            }
            table.add(alert);
            Ok(())
        }
    });
    if let Some(display) = display {
        display.stop();
    }
    let finished = result.and_then(|summary| {
        if args.format == EvalFormat::Table {
            table
                .write(&mut *writer, &summary.alerts)
                .map_err(eval::EvalError::Write)?;
        }
        writer.flush().map_err(eval::EvalError::Write)?;
        Ok(summary)
    });
    match finished {
        Ok(summary) => {
            if global.message_format == MessageFormat::Human {
                report_summary(&summary);
            }
            ExitCode::from(EXIT_OK)
        }
        Err(eval::EvalError::Write(error)) if super::reader_went_away(&error) => {
            ExitCode::from(EXIT_OK)
        }
        Err(error) => {
            let _ = writer.flush();
            match error.diagnostic() {
                Some(diagnostic) => global.report_one(diagnostic.clone()),
                None => eprintln!("error: {error}"),
            }
            ExitCode::from(error.exit_code())
        }
    }
}

fn report_summary(summary: &Summary) {
    let events = summary.events_read;
    let alerts = summary.alerts_total();
    let firing = summary.alerts.values().filter(|count| **count > 0).count();
    eprintln!(
        "{events} event{} evaluated ({} of types no rule reads), {alerts} alert{} from {firing} rule{}",
        plural(events as usize),
        summary.events_ignored,
        plural(alerts as usize),
        plural(firing),
    );
    let skipped = summary.skipped_total();
    if skipped > 0 {
        let reasons: Vec<String> = summary
            .skipped
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect();
        eprintln!(
            "warning: skipped {skipped} invalid line{} ({})",
            plural(skipped as usize),
            reasons.join(", ")
        );
        for diagnostic in summary.first_skipped.iter().take(3) {
            eprintln!("  {}: {}", diagnostic.code.as_str(), diagnostic.message);
        }
    }
}
