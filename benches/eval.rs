//! Evaluator throughput: parse-only floors against evaluating the shipped pack.
//!
//! ```text
//! cargo bench --bench eval                       # 100k and 1M events, best of 3 runs
//! cargo bench --bench eval -- --sizes 100000     # one size
//! cargo bench --bench eval -- --runs 5           # best of 5
//! cargo bench --bench eval -- --no-rate          # without the constant-rate memory check
//! ```
//!
//! For each size, events come from `cargo run --release --example generate_logs
//! -- --events N --seed 7` (cached under `target/bench-data/`). Measured on the
//! same file, in this process:
//!
//! - (a) the floor: read every line and fully deserialize it into a
//!   `serde_json::Value`, and (a') the projected parse the evaluator uses (only
//!   the fields the pack reads are materialised; it also runs the rules'
//!   filters, which the evaluator evaluates when a line is parsed);
//! - (b) `tripline eval` with the whole shipped pack (`rules/`), with 1 and 2
//!   threads, each in a child process (this binary re-run with `--child`) so
//!   that its peak resident memory (`VmHWM`) is its own.
//!
//! Each measurement runs `--runs` times (3 by default), the measurements
//! interleaved so that a slow spell of the machine touches all of them alike.
//! Reported per measurement: the best time and how much slower the worst run
//! was, events/s, MB/s, the ratio of (b) to the full-deserialize floor (best
//! against best), and peak memory (the highest of the runs). When the shipped
//! pack does not check, the report says so and measures only the floor.
//!
//! Last, peak memory at one event rate: 100k events over 3 days against 1M
//! events over 30 days (`generate_logs --days`), the check that memory does
//! not grow with the length of the input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use tripline::check::{CheckOptions, LookupOverride, check};
use tripline::eval::{self, EvalOptions, Input};
use tripline::ir;
use tripline::source::Sources;
use tripline::syntax::parse;

const SEED: &str = "7";

/// The allocator the `tripline` binary uses, so that both the parse floor and
/// the evaluation are measured as the shipped binary runs them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tdl_files(directory: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(directory) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            tdl_files(&path, out);
        } else if path.extension().is_some_and(|extension| extension == "tdl") {
            out.push(path);
        }
    }
}

/// The shipped pack, or a description of why it does not check.
fn shipped_pack(user_scopes: Option<&Path>) -> Result<ir::Pack, String> {
    let mut files = Vec::new();
    tdl_files(&manifest_dir().join("rules"), &mut files);
    if files.is_empty() {
        return Err("rules/ holds no .tdl files".to_string());
    }
    let mut sources = Sources::new();
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for path in &files {
        let text =
            fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
        let id = sources.add(path.display().to_string(), text.clone());
        let (file, diagnostics) = parse(&text, id);
        problems.extend(
            diagnostics
                .into_iter()
                .filter(|diagnostic| diagnostic.is_error()),
        );
        parsed.push((id, file));
    }
    let mut options = CheckOptions::default();
    if let Some(path) = user_scopes {
        options.lookup_overrides.insert(
            "user_scopes".to_string(),
            LookupOverride::Replace(path.to_path_buf()),
        );
    }
    let (pack, diagnostics) = check(&sources, &parsed, &options);
    problems.extend(
        diagnostics
            .into_iter()
            .filter(|diagnostic| diagnostic.is_error()),
    );
    match pack {
        Some(pack) if problems.is_empty() => Ok(pack),
        _ => Err(format!(
            "{} error(s), first: {}",
            problems.len(),
            problems
                .first()
                .map_or("(none reported)".to_string(), |d| format!(
                    "{} {}",
                    d.code.as_str(),
                    d.message
                ))
        )),
    }
}

/// Generates (or reuses) the events file of `count` events (over `days`, or
/// the generator's default span) and its `user_scopes` lookup.
fn events_file(count: usize, days: Option<u32>) -> (PathBuf, PathBuf) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| manifest_dir().join("target"), PathBuf::from);
    let directory = target.join("bench-data");
    fs::create_dir_all(&directory).unwrap();
    let span = days.map_or(String::new(), |days| format!("-{days}d"));
    let path = directory.join(format!("events-{count}-seed{SEED}{span}.jsonl"));
    let scopes = directory.join(format!("user_scopes-{count}.csv"));
    if !path.exists() || !scopes.exists() {
        eprintln!("generating {count} events into {} ...", path.display());
        let status = Command::new(env!("CARGO"))
            .current_dir(manifest_dir())
            .args([
                "run",
                "--quiet",
                "--release",
                "--example",
                "generate_logs",
                "--",
            ])
            .args(["--events", &count.to_string(), "--seed", SEED])
            .args(days.map(|days| format!("--days={days}")))
            .arg("--out")
            .arg(&path)
            .arg("--user-scopes")
            .arg(&scopes)
            .status()
            .expect("cargo runs the generator");
        assert!(status.success(), "the generator failed");
    }
    (path, scopes)
}

fn peak_kilobytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn for_each_line(path: &Path, mut each: impl FnMut(&str, u64)) {
    let mut reader = BufReader::with_capacity(256 * 1024, fs::File::open(path).unwrap());
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        number += 1;
        each(line.trim_end(), number);
    }
}

/// The child: evaluate once, print `seconds events alerts peak_kb`.
fn child(path: &Path, scopes: &Path, threads: usize) {
    let pack = shipped_pack(Some(scopes)).expect("the parent checked the pack");
    let options = EvalOptions {
        threads,
        ..EvalOptions::default()
    };
    let start = Instant::now();
    let mut alerts = 0u64;
    let summary = eval::run(
        &pack,
        &[Input::Path(path.to_path_buf())],
        &options,
        &mut |_| {
            alerts += 1;
            Ok(())
        },
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let seconds = start.elapsed().as_secs_f64();
    let per_rule: BTreeMap<_, _> = summary
        .alerts
        .iter()
        .filter(|(_, count)| **count > 0)
        .collect();
    println!(
        "{seconds} {} {alerts} {} {}",
        summary.events_read,
        peak_kilobytes(),
        serde_json::to_string(&per_rule).unwrap()
    );
}

/// What one child evaluation reported.
struct Child {
    seconds: f64,
    events: usize,
    alerts: u64,
    peak_kb: u64,
    /// Alerts per rule, as JSON.
    per_rule: String,
}

/// Runs `eval` once in a child process (this binary with `--child`), so
/// that its peak memory is its own.
fn run_child(path: &Path, scopes: &Path, threads: usize) -> Child {
    let output = Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .arg(path)
        .arg(scopes)
        .arg(threads.to_string())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "eval with {threads} thread(s) failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.trim().splitn(5, ' ').collect();
    Child {
        seconds: fields[0].parse().unwrap(),
        events: fields[1].parse().unwrap(),
        alerts: fields[2].parse().unwrap(),
        peak_kb: fields[3].parse().unwrap(),
        per_rule: fields.get(4).unwrap_or(&"").to_string(),
    }
}

/// The runs of one measurement: their times and the highest peak memory.
#[derive(Default)]
struct Runs {
    seconds: Vec<f64>,
    peak_kb: u64,
}

impl Runs {
    fn add(&mut self, seconds: f64, peak_kb: u64) {
        self.seconds.push(seconds);
        self.peak_kb = self.peak_kb.max(peak_kb);
    }

    fn best(&self) -> f64 {
        self.seconds.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn worst(&self) -> f64 {
        self.seconds.iter().copied().fold(0.0, f64::max)
    }
}

fn report(label: &str, events: usize, bytes: u64, runs: &Runs, floor: Option<f64>) {
    let seconds = runs.best();
    let rate = events as f64 / seconds;
    let megabytes = bytes as f64 / 1e6 / seconds;
    let ratio = floor.map_or(String::new(), |floor| format!("{:>8.2}", floor / seconds));
    let spread = format!("+{:.0}%", (runs.worst() / seconds - 1.0) * 100.0);
    let peak = if runs.peak_kb > 0 {
        format!("{:>9.1}", runs.peak_kb as f64 / 1024.0)
    } else {
        String::new()
    };
    println!(
        "  {label:<34} {seconds:>8.3} s {spread:>6} {rate:>12.0} ev/s {megabytes:>8.1} MB/s {ratio:>8} {peak:>9}"
    );
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if let Some(position) = arguments.iter().position(|argument| argument == "--child") {
        let path = PathBuf::from(&arguments[position + 1]);
        let scopes = PathBuf::from(&arguments[position + 2]);
        let threads: usize = arguments[position + 3].parse().unwrap();
        child(&path, &scopes, threads);
        return;
    }
    let sizes: Vec<usize> = arguments
        .iter()
        .position(|argument| argument == "--sizes")
        .and_then(|position| arguments.get(position + 1))
        .map(|list| {
            list.split(',')
                .filter_map(|size| size.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![100_000, 1_000_000]);
    let runs: usize = arguments
        .iter()
        .position(|argument| argument == "--runs")
        .and_then(|position| arguments.get(position + 1))
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(3)
        .max(1);

    for &count in &sizes {
        let (path, scopes) = events_file(count, None);
        let bytes = fs::metadata(&path)
            .map(|metadata| metadata.len())
            .unwrap_or(0);
        println!(
            "\n{count} events, {:.1} MB ({})",
            bytes as f64 / 1e6,
            path.display()
        );
        println!(
            "  {:<34} {:>10} {:>6} {:>17} {:>13} {:>8} {:>9}",
            "", "best of runs", "worst", "events", "throughput", "ratio", "peak MB"
        );

        let pack = match shipped_pack(Some(&scopes)) {
            Ok(pack) => Some(pack),
            Err(problem) => {
                println!("  the shipped pack (rules/) does not check: {problem}");
                println!("  (a') and (b) not measured: the evaluator needs a checked pack");
                None
            }
        };
        // Every measurement runs `runs` times, interleaved, so that a slow
        // spell of the machine touches all of them; the best time of each is
        // reported, with the spread of its runs.
        let mut full = Runs::default();
        let mut projected = Runs::default();
        let mut evals = [Runs::default(), Runs::default()];
        let mut lines = 0usize;
        let mut events = 0usize;
        let mut alerts_line = String::new();
        for _ in 0..runs {
            let start = Instant::now();
            lines = 0;
            for_each_line(&path, |line, _| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                std::hint::black_box(&value);
                lines += 1;
            });
            full.add(start.elapsed().as_secs_f64(), 0);
            let Some(pack) = &pack else {
                continue;
            };
            let engine = eval::Engine::new(pack, &EvalOptions::default()).unwrap();
            let projection = engine.projection();
            let start = Instant::now();
            let mut scratch = eval::Scratch::default();
            for_each_line(&path, |line, number| {
                let event = projection
                    .parse_line(line, 0, number, &mut scratch)
                    .unwrap();
                std::hint::black_box(&event);
            });
            projected.add(start.elapsed().as_secs_f64(), 0);
            for (threads, runs) in [1, 2].into_iter().zip(&mut evals) {
                let child = run_child(&path, &scopes, threads);
                runs.add(child.seconds, child.peak_kb);
                events = child.events;
                if threads == 1 {
                    alerts_line = format!("{} alerts: {}", child.alerts, child.per_rule);
                }
            }
        }
        let floor = full.best();
        report(
            "(a) full parse to serde_json::Value",
            lines,
            bytes,
            &full,
            None,
        );
        let Some(pack) = &pack else {
            continue;
        };
        report(
            "(a') projected parse + filters",
            lines,
            bytes,
            &projected,
            Some(floor),
        );
        let engine = eval::Engine::new(pack, &EvalOptions::default()).unwrap();
        println!(
            "      {} rules; {} of the schema's fields read",
            pack.rules.len(),
            engine.projection().read_fields().len()
        );
        for (threads, runs) in [1, 2].into_iter().zip(&evals) {
            report(
                &format!("(b) eval, shipped pack, {threads} thread(s)"),
                events,
                bytes,
                runs,
                Some(floor),
            );
            if threads == 1 {
                println!("      {alerts_line}");
            }
        }
        println!(
            "  best of {runs} interleaved runs; worst = how much slower the slowest run was;\n  ratio = best full-parse time / best time, i.e. (b)/(a) in throughput; > 1 is faster than the floor"
        );
    }
    if !arguments.iter().any(|argument| argument == "--no-rate") {
        constant_rate_memory(runs);
    }
}

/// Peak memory of one-thread eval at one event rate: 100k events over 3 days
/// and 1M events over 30 days. Both files generated with the same seed have
/// the same rate, so state tied to time spans (the reorder buffer's
/// lateness, windows, lookbacks) holds as many events in both; only the
/// input's length differs.
fn constant_rate_memory(runs: usize) {
    println!("\npeak memory at one rate (eval, 1 thread, highest of {runs} runs)");
    for (count, days) in [(100_000, 3), (1_000_000, 30)] {
        let (path, scopes) = events_file(count, Some(days));
        let mut peak = 0u64;
        let mut line = String::new();
        for _ in 0..runs {
            let child = run_child(&path, &scopes, 1);
            peak = peak.max(child.peak_kb);
            line = format!("{} alerts", child.alerts);
        }
        println!(
            "  {count:>9} events over {days:>2} days {:>9.1} MB   ({line})",
            peak as f64 / 1024.0
        );
    }
}
