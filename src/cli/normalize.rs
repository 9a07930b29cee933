//! `tripline normalize`: adds the normalised text companions (`*_norm`) to
//! JSON-lines events, as an ingest filter (Vector, Fluent Bit `exec`,
//! Logstash `pipe`) or a batch step. See [`crate::normalize`].

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Global, MessageFormat};
use crate::normalize::Normalizer;

/// Arguments of `normalize`.
#[derive(Debug, Clone, clap::Args)]
pub struct NormalizeArgs {
    /// JSON-lines events (`-` for stdin).
    #[arg(long = "events", value_name = "FILE", default_value = "-")]
    pub events: String,
    /// Where the events go (`-` for stdout). A file is written whole or not
    /// at all: the events go to `FILE.partial`, renamed when the input ends.
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub out: String,
}

/// Runs `normalize`: exit 0, 1 when some line was copied unchanged (not a
/// JSON object, not UTF-8, too long), 2 on I/O problems.
pub fn run(args: &NormalizeArgs, global: &Global) -> ExitCode {
    let mut input: Box<dyn BufRead> = if args.events == "-" {
        Box::new(BufReader::with_capacity(1 << 16, io::stdin().lock()))
    } else {
        match File::open(&args.events) {
            Ok(file) => Box::new(BufReader::with_capacity(1 << 16, file)),
            Err(error) => {
                eprintln!("error: cannot read {}: {error}", args.events);
                return ExitCode::from(EXIT_USAGE);
            }
        }
    };
    // A regular file (or a new one) is written whole or not at all; a
    // device or a pipe named on the command line (`/dev/null`) is written
    // directly, never renamed over.
    let direct =
        args.out == "-" || std::fs::metadata(&args.out).is_ok_and(|metadata| !metadata.is_file());
    let partial = (!direct).then(|| PathBuf::from(format!("{}.partial", args.out)));
    let (mut output, flush_each_line): (Box<dyn Write>, bool) = match &partial {
        Some(path) => match File::create(path) {
            Ok(file) => (Box::new(BufWriter::with_capacity(1 << 16, file)), false),
            Err(error) => {
                eprintln!("error: cannot create {}: {error}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
        },
        None if args.out != "-" => match std::fs::OpenOptions::new().write(true).open(&args.out) {
            Ok(file) => (Box::new(BufWriter::with_capacity(1 << 16, file)), true),
            Err(error) => {
                eprintln!("error: cannot write {}: {error}", args.out);
                return ExitCode::from(EXIT_USAGE);
            }
        },
        None => (
            Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
            stdout_is_a_stream(),
        ),
    };
    let normalizer = Normalizer {
        flush_each_line,
        ..Normalizer::default()
    };
    let name = if args.events == "-" {
        "<stdin>"
    } else {
        &args.events
    };
    let mut warn = |line: u64, reason: &str| eprintln!("warning: {name}:{line}: {reason}");
    let result = normalizer.run(&mut *input, &mut *output, &mut warn);
    drop(output);
    let counts = match result {
        Ok(counts) => counts,
        Err(error) => {
            if let Some(path) = &partial {
                let _ = std::fs::remove_file(path);
            }
            if partial.is_none() && super::reader_went_away(&error) {
                return ExitCode::from(EXIT_OK);
            }
            eprintln!("error: normalize stopped: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Some(path) = &partial
        && let Err(error) = std::fs::rename(path, Path::new(&args.out))
    {
        let _ = std::fs::remove_file(path);
        eprintln!("error: cannot write {}: {error}", args.out);
        return ExitCode::from(EXIT_USAGE);
    }
    if global.message_format == MessageFormat::Human || counts.passed_through > 0 {
        eprintln!(
            "{} line{} read, {} normalised, {} copied unchanged",
            counts.lines,
            if counts.lines == 1 { "" } else { "s" },
            counts.normalised,
            counts.passed_through
        );
    }
    ExitCode::from(if counts.passed_through > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// Whether stdout is a terminal, a pipe or a socket (flushed after every
/// line, so a downstream reader sees each event at once) rather than a file.
fn stdout_is_a_stream() -> bool {
    if io::stdout().is_terminal() {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata("/dev/stdout").is_ok_and(|metadata| {
            metadata.file_type().is_fifo() || metadata.file_type().is_socket()
        })
    }
    #[cfg(not(unix))]
    {
        true
    }
}
