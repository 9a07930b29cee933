//! Evaluator throughput on realistic traffic, against the fastest full parse.
//!
//! ```text
//! cargo bench --bench eval                          # 100k and 1M events, best of 3 runs
//! cargo bench --bench eval -- --sizes 100000        # one size
//! cargo bench --bench eval -- --runs 5              # best of 5
//! cargo bench --bench eval -- --per-rule 1000000    # per-rule costs on 1M events (default: the smallest size)
//! cargo bench --bench eval -- --no-per-rule         # without per-rule costs (and without (d))
//! cargo bench --bench eval -- --no-prose            # without (d), the same events with public prose
//! cargo bench --bench eval -- --text short          # the generator's short one-line text
//! cargo bench --bench eval -- --no-rate             # without the constant-rate memory check
//! ```
//!
//! For each size, events come from `cargo run --release --example generate_logs
//! -- --events N --seed 7 --text realistic` (cached under `target/bench-data/`,
//! named after a hash of what decides the generator's bytes, so that an edited
//! generator makes new files; `docs/benchmark.md` describes the traffic). Each
//! measurement runs in a child process (this binary re-run with `--child`), so
//! that its peak resident memory (`VmHWM`) is its own:
//!
//! - (a) the floor: read every line and deserialize it with serde_json into a
//!   borrowed struct of every canonical field of the event schema (all event
//!   types; `&str` for identifiers, `Cow<str>` for text that may carry escapes,
//!   numbers as numbers): the fastest full parse serde_json offers;
//! - (a2) the same into a `serde_json::Value` (the floor of earlier versions);
//! - (a') the evaluator's projected parse (only the fields the pack reads are
//!   materialised; it also runs the rules' filters, which the evaluator runs
//!   when a line is parsed);
//! - (b) `eval` of the whole shipped pack (`rules/`), with 1 and 2 threads;
//! - (c) per rule: `eval` with only that rule loaded, 1 thread, on one size,
//!   sorted slowest first, so that a slow shape shows at once;
//! - (d) the same events with English written by people in place of the
//!   generator's inputs and retrieved chunks (the documentation of the
//!   crates `Cargo.lock` pins, the Rust toolchain's books, Python docstrings
//!   and Debian's README files, read where they are installed): the whole
//!   pack and each rule that reads those fields, on both files. The
//!   generator keeps its benign text clear of the regex lists' vocabulary
//!   (so that it trips no rule), which leaves their lazy DFAs in few states;
//!   ordinary English visits many more.
//!
//! Each measurement runs `--runs` times (3 by default), interleaved so that a
//! slow spell of the machine touches all of them alike. Reported: the best time
//! and how much slower the worst run was, events/s, MB/s, the ratio to the
//! borrowed floor (best floor time / best time: above 1 is faster than the
//! floor) and peak memory (the highest of the runs).
//!
//! Last, peak memory at one event rate: 100k events over 3 days against 1M
//! events over 30 days (`generate_logs --days`), the check that memory does
//! not grow with the length of the input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
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

/// Every canonical field of the event schema (`rules/schema/events.tdl`), of
/// all event types, borrowed from the line where serde_json can: identifiers
/// and enumerations as `&str`, free text (which may carry escapes) as
/// `Cow<str>`, numbers and nested values as the schema has them. Deserializing
/// a line into it is the fastest full parse serde_json offers: the floor.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct BorrowedEvent<'a> {
    // common
    timestamp: &'a str,
    event_type: &'a str,
    source_type: Option<&'a str>,
    event_id: Option<&'a str>,
    app: Option<&'a str>,
    session_id: Option<&'a str>,
    user_id: Option<&'a str>,
    api_key_id: Option<&'a str>,
    src_ip: Option<&'a str>,
    geo_country: Option<&'a str>,
    // inference, policy_refusal, provider_error
    model: Option<&'a str>,
    #[serde(borrow)]
    system_prompt: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_input: Option<Cow<'a, str>>,
    #[serde(borrow)]
    output: Option<Cow<'a, str>>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    latency_ms: Option<i64>,
    cost_usd: Option<f64>,
    finish_reason: Option<&'a str>,
    // tool_call
    tool_name: Option<&'a str>,
    #[serde(borrow)]
    tool_args: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tool_result: Option<Cow<'a, str>>,
    #[serde(borrow)]
    target_url: Option<Cow<'a, str>>,
    target_domain: Option<&'a str>,
    target_ip: Option<&'a str>,
    #[serde(borrow)]
    target_path: Option<Cow<'a, str>>,
    status: Option<&'a str>,
    // auth
    outcome: Option<&'a str>,
    auth_method: Option<&'a str>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    // rate_limit
    limit_name: Option<&'a str>,
    // provider_error
    provider: Option<&'a str>,
    error_code: Option<&'a str>,
    http_status: Option<i64>,
    // policy_refusal
    policy_category: Option<&'a str>,
    // retrieval
    #[serde(borrow)]
    query: Option<Cow<'a, str>>,
    document_id: Option<&'a str>,
    document_category: Option<&'a str>,
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    // dependency
    component: Option<&'a str>,
    version: Option<&'a str>,
    ecosystem: Option<&'a str>,
}

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

/// The files that decide the generator's bytes: its source, the campaign
/// rule's fingerprint (which its guard computes) and the locked versions of
/// its crates (`rand`'s streams). A cached events file is named after a hash
/// of them, so an edit of the generator makes a new file instead of
/// measuring the old traffic.
const GENERATOR_SOURCES: [&str; 3] = [
    "examples/generate_logs.rs",
    "src/ir/fingerprint.rs",
    "Cargo.lock",
];

fn generator_version() -> String {
    use std::hash::{DefaultHasher, Hasher};
    let mut hasher = DefaultHasher::new();
    for source in GENERATOR_SOURCES {
        hasher.write(&fs::read(manifest_dir().join(source)).unwrap());
    }
    format!("{:08x}", hasher.finish() & 0xffff_ffff)
}

/// Generates (or reuses) the events file of `count` events (over `days`, or
/// the generator's default span) with `text` ("realistic" or "short"), and
/// its `user_scopes` lookup. Files of other generator versions with the same
/// arguments (and their copies with prose) are removed when a new one is written.
fn events_file(count: usize, days: Option<u32>, text: &str) -> (PathBuf, PathBuf) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| manifest_dir().join("target"), PathBuf::from);
    let directory = target.join("bench-data");
    fs::create_dir_all(&directory).unwrap();
    let span = days.map_or(String::new(), |days| format!("-{days}d"));
    let stem = format!("events-{count}-seed{SEED}{span}-{text}");
    let path = directory.join(format!("{stem}-{}.jsonl", generator_version()));
    let scopes = directory.join(format!("user_scopes-{count}.csv"));
    if !path.exists() || !scopes.exists() {
        for entry in fs::read_dir(&directory).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let versioned = name
                .strip_prefix(&stem)
                .and_then(|rest| rest.strip_suffix(".jsonl"))
                .map(|rest| rest.strip_suffix(".prose").unwrap_or(rest))
                .is_some_and(|rest| rest.is_empty() || is_version_suffix(rest));
            if versioned {
                let _ = fs::remove_file(entry.path());
            }
        }
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
            .args([
                "--events",
                &count.to_string(),
                "--seed",
                SEED,
                "--text",
                text,
            ])
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

/// Whether `rest` is `-` and eight hex digits, the version part of a cached file's name.
fn is_version_suffix(rest: &str) -> bool {
    rest.strip_prefix('-')
        .is_some_and(|hex| hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
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

/// What one measurement does, in a child process.
#[derive(Clone, Debug, PartialEq)]
enum Task {
    /// (a) serde_json into [`BorrowedEvent`].
    Borrowed,
    /// (a2) serde_json into a `serde_json::Value`.
    Value,
    /// (a') the evaluator's projected parse and filters, whole pack.
    Projected,
    /// (b) eval of the whole pack with this many threads.
    Pack(usize),
    /// (c) eval of one rule, 1 thread.
    Rule(String),
}

impl Task {
    fn arguments(&self) -> Vec<String> {
        match self {
            Task::Borrowed => vec!["borrowed".into()],
            Task::Value => vec!["value".into()],
            Task::Projected => vec!["projected".into()],
            Task::Pack(threads) => vec!["pack".into(), threads.to_string()],
            Task::Rule(rule) => vec!["rule".into(), rule.clone()],
        }
    }

    fn parse(arguments: &[String]) -> Task {
        match arguments[0].as_str() {
            "borrowed" => Task::Borrowed,
            "value" => Task::Value,
            "projected" => Task::Projected,
            "pack" => Task::Pack(arguments[1].parse().unwrap()),
            _ => Task::Rule(arguments[1].clone()),
        }
    }
}

/// The child: run `task` once on `path`, print `seconds events alerts
/// peak_kb per_rule_json`.
fn child(path: &Path, scopes: &Path, task: &Task) {
    let parse_only = |each: &mut dyn FnMut(&str, u64)| {
        let start = Instant::now();
        let mut lines = 0u64;
        for_each_line(path, |line, number| {
            each(line, number);
            lines += 1;
        });
        (start.elapsed().as_secs_f64(), lines)
    };
    let (seconds, events, alerts, per_rule) = match task {
        Task::Borrowed => {
            let (seconds, lines) = parse_only(&mut |line, _| {
                let event: BorrowedEvent = serde_json::from_str(line).unwrap();
                std::hint::black_box(&event);
            });
            (seconds, lines, 0, String::new())
        }
        Task::Value => {
            let (seconds, lines) = parse_only(&mut |line, _| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                std::hint::black_box(&value);
            });
            (seconds, lines, 0, String::new())
        }
        Task::Projected => {
            let pack = shipped_pack(Some(scopes)).expect("the parent checked the pack");
            let engine = eval::Engine::new(&pack, &EvalOptions::default()).unwrap();
            let projection = engine.projection();
            let mut scratch = eval::Scratch::default();
            let (seconds, lines) = parse_only(&mut |line, number| {
                let event = projection
                    .parse_line(line, 0, number, &mut scratch)
                    .unwrap();
                std::hint::black_box(&event);
            });
            (seconds, lines, 0, String::new())
        }
        Task::Pack(_) | Task::Rule(_) => {
            let pack = shipped_pack(Some(scopes)).expect("the parent checked the pack");
            let options = match task {
                Task::Pack(threads) => EvalOptions {
                    threads: *threads,
                    ..EvalOptions::default()
                },
                Task::Rule(rule) => EvalOptions {
                    rules: vec![rule.clone()],
                    ..EvalOptions::default()
                },
                _ => unreachable!(),
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
            let per_rule = serde_json::to_string(&per_rule).unwrap();
            (seconds, summary.events_read as u64, alerts, per_rule)
        }
    };
    println!(
        "{seconds} {events} {alerts} {} {per_rule}",
        peak_kilobytes()
    );
}

/// What one child reported.
struct Child {
    seconds: f64,
    events: u64,
    alerts: u64,
    peak_kb: u64,
    /// Alerts per rule, as JSON.
    per_rule: String,
}

/// Runs `task` once in a child process (this binary with `--child`), so
/// that its peak memory is its own.
fn run_child(path: &Path, scopes: &Path, task: &Task) -> Child {
    let output = Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .arg(path)
        .arg(scopes)
        .args(task.arguments())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{task:?} failed: {}",
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
    fn add(&mut self, child: &Child) {
        self.seconds.push(child.seconds);
        self.peak_kb = self.peak_kb.max(child.peak_kb);
    }

    fn best(&self) -> f64 {
        self.seconds.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn worst(&self) -> f64 {
        self.seconds.iter().copied().fold(0.0, f64::max)
    }
}

fn header() {
    println!(
        "  {:<38} {:>8} {:>6} {:>17} {:>13} {:>8} {:>9}",
        "", "best", "worst", "events", "throughput", "ratio", "peak MB"
    );
}

fn report(label: &str, events: u64, bytes: u64, runs: &Runs, floor: Option<f64>) {
    let seconds = runs.best();
    let rate = events as f64 / seconds;
    let megabytes = bytes as f64 / 1e6 / seconds;
    let ratio = floor.map_or(String::new(), |floor| format!("{:>8.2}", floor / seconds));
    let spread = format!("+{:.0}%", (runs.worst() / seconds - 1.0) * 100.0);
    let peak = format!("{:>9.1}", runs.peak_kb as f64 / 1024.0);
    println!(
        "  {label:<38} {seconds:>8.3} s {spread:>6} {rate:>12.0} ev/s {megabytes:>8.1} MB/s {ratio:>8} {peak:>9}"
    );
}

/// The value after `flag` in the arguments.
fn flag_value<'a>(arguments: &'a [String], flag: &str) -> Option<&'a str> {
    arguments
        .iter()
        .position(|argument| argument == flag)
        .and_then(|position| arguments.get(position + 1))
        .map(String::as_str)
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if let Some(position) = arguments.iter().position(|argument| argument == "--child") {
        let path = PathBuf::from(&arguments[position + 1]);
        let scopes = PathBuf::from(&arguments[position + 2]);
        child(&path, &scopes, &Task::parse(&arguments[position + 3..]));
        return;
    }
    let sizes: Vec<usize> = flag_value(&arguments, "--sizes")
        .map(|list| {
            list.split(',')
                .filter_map(|size| size.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![100_000, 1_000_000]);
    let runs: usize = flag_value(&arguments, "--runs")
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(3)
        .max(1);
    let text = flag_value(&arguments, "--text").unwrap_or("realistic");
    assert!(
        text == "realistic" || text == "short",
        "--text is realistic or short"
    );
    let per_rule_size = if arguments.iter().any(|argument| argument == "--no-per-rule") {
        None
    } else {
        flag_value(&arguments, "--per-rule")
            .and_then(|size| size.parse().ok())
            .or_else(|| sizes.iter().copied().min())
    };

    let prose = !arguments.iter().any(|argument| argument == "--no-prose");

    for &count in &sizes {
        let (path, scopes) = events_file(count, None, text);
        let bytes = fs::metadata(&path)
            .map(|metadata| metadata.len())
            .unwrap_or(0);
        println!(
            "\n{count} events, {:.1} MB, {:.0} bytes/event ({})",
            bytes as f64 / 1e6,
            bytes as f64 / count.max(1) as f64,
            path.display()
        );
        header();
        let pack = match shipped_pack(Some(&scopes)) {
            Ok(pack) => Some(pack),
            Err(problem) => {
                println!("  the shipped pack (rules/) does not check: {problem}");
                println!("  only the floors are measured: the evaluator needs a checked pack");
                None
            }
        };
        let mut tasks = vec![Task::Borrowed, Task::Value];
        if pack.is_some() {
            tasks.extend([Task::Projected, Task::Pack(1), Task::Pack(2)]);
        }
        // Every measurement runs `runs` times, interleaved, so that a slow
        // spell of the machine touches all of them; the best time of each is
        // reported, with the spread of its runs.
        let mut measured: Vec<Runs> = tasks.iter().map(|_| Runs::default()).collect();
        let mut events = 0;
        let mut alerts_line = String::new();
        for _ in 0..runs {
            for (task, runs) in tasks.iter().zip(&mut measured) {
                let child = run_child(&path, &scopes, task);
                runs.add(&child);
                events = events.max(child.events);
                if *task == Task::Pack(1) {
                    alerts_line = format!("{} alerts: {}", child.alerts, child.per_rule);
                }
            }
        }
        let floor = measured[0].best();
        let labels = [
            "(a) floor: serde_json, borrowed struct",
            "(a2) serde_json::Value",
            "(a') projected parse + filters",
            "(b) eval, shipped pack, 1 thread",
            "(b) eval, shipped pack, 2 threads",
        ];
        for (label, runs) in labels.iter().zip(&measured) {
            report(label, events, bytes, runs, Some(floor));
        }
        if let Some(pack) = &pack {
            let engine = eval::Engine::new(pack, &EvalOptions::default()).unwrap();
            println!(
                "      {} rules; {} of the schema's fields read; {alerts_line}",
                pack.rules.len(),
                engine.projection().read_fields().len()
            );
        }
        println!(
            "  best of {runs} interleaved runs; worst = how much slower the slowest run was;\n  ratio = best floor time / best time (above 1 is faster than the borrowed-struct floor)"
        );
        if let (Some(pack), Some(size)) = (&pack, per_rule_size)
            && size == count
        {
            per_rule_costs(pack, &path, &scopes, (events, bytes), floor, runs);
            if prose {
                prose_costs(pack, &path, &scopes, runs);
            }
        }
    }
    if let Some(size) = per_rule_size
        && !sizes.contains(&size)
    {
        let (path, scopes) = events_file(size, None, text);
        let bytes = fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
        if let Ok(pack) = shipped_pack(Some(&scopes)) {
            let mut floor = Runs::default();
            for _ in 0..runs {
                floor.add(&run_child(&path, &scopes, &Task::Borrowed));
            }
            println!("\n{size} events, {:.1} MB", bytes as f64 / 1e6);
            per_rule_costs(
                &pack,
                &path,
                &scopes,
                (size as u64, bytes),
                floor.best(),
                runs,
            );
            if prose {
                prose_costs(&pack, &path, &scopes, runs);
            }
        }
    }
    if !arguments.iter().any(|argument| argument == "--no-rate") {
        constant_rate_memory(text);
    }
}

/// (c): each rule alone, 1 thread, slowest first.
fn per_rule_costs(
    pack: &ir::Pack,
    path: &Path,
    scopes: &Path,
    (events, bytes): (u64, u64),
    floor: f64,
    runs: usize,
) {
    let tasks: Vec<Task> = pack
        .rules
        .iter()
        .map(|rule| Task::Rule(rule.id.clone()))
        .collect();
    let mut measured: Vec<Runs> = tasks.iter().map(|_| Runs::default()).collect();
    for _ in 0..runs {
        for (task, runs) in tasks.iter().zip(&mut measured) {
            runs.add(&run_child(path, scopes, task));
        }
    }
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    order.sort_by(|a, b| measured[*b].best().total_cmp(&measured[*a].best()));
    println!("  (c) per rule, only that rule loaded, 1 thread, slowest first:");
    for index in order {
        let Task::Rule(rule) = &tasks[index] else {
            continue;
        };
        report(rule, events, bytes, &measured[index], Some(floor));
    }
}

/// Peak memory of one-thread eval at one event rate: 100k events over 3 days
/// and 1M events over 30 days. Both files generated with the same seed have
/// the same rate, so state tied to time spans (the reorder buffer's
/// lateness, windows, lookbacks) holds as many events in both; only the
/// input's length differs.
fn constant_rate_memory(text: &str) {
    // One run each: peak memory hardly varies between runs, and the time of
    // the default bench stays under about 3 minutes.
    println!("\npeak memory at one rate (eval, 1 thread, one run)");
    for (count, days) in [(100_000, 3), (1_000_000, 30)] {
        let (path, scopes) = events_file(count, Some(days), text);
        let child = run_child(&path, &scopes, &Task::Pack(1));
        let (peak, line) = (child.peak_kb, format!("{} alerts", child.alerts));
        println!(
            "  {count:>9} events over {days:>2} days {:>9.1} MB   ({line})",
            peak as f64 / 1024.0
        );
    }
}

/// Text of at least this many bytes is replaced by prose in (d) (the
/// generator's shortest inputs are 50 characters).
const PROSE_MIN: usize = 50;

/// A paragraph of prose is cut here (the generator's longest inputs are
/// 3,000 characters).
const PROSE_MAX: usize = 3000;

/// The fields whose text (d) replaces: the inputs and retrieved chunks that
/// the heavy regex lists and the cluster rule read.
const PROSE_FIELDS: [&str; 2] = ["user_input", "content"];

/// English written by people, found on this machine, as paragraphs of
/// `PROSE_MIN` to `PROSE_MAX` bytes that are mostly letters and spaces
/// (prose, not code or tables), each once: the documentation and doc comments of the
/// crates `Cargo.lock` pins (their sources are under `$CARGO_HOME/registry/src` once the
/// project is built, so that part is the same wherever the lockfile is),
/// the books installed with the Rust toolchain, the docstrings of the
/// Python standard library and of the Python packages Debian installs, and
/// Debian's README files. Nothing of it is committed.
fn public_prose() -> Vec<String> {
    let mut texts = Vec::new();
    let add = |text: &str, texts: &mut Vec<String>| {
        let text = text.trim();
        let letters = text
            .chars()
            .filter(|c| c.is_alphabetic() || *c == ' ')
            .count();
        if text.len() < PROSE_MIN || letters * 10 < text.chars().count() * 7 {
            return;
        }
        let mut end = text.len().min(PROSE_MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        texts.push(text[..end].to_string());
    };
    for path in crate_sources() {
        let Ok(source) = fs::read_to_string(&path) else {
            continue;
        };
        let markdown = path.extension().is_some_and(|extension| extension == "md");
        // A Markdown file's lines, or a Rust file's `///` and `//!` lines
        // (any other line ends a paragraph).
        let lines = source.lines().map(|line| {
            if markdown {
                return Some(line.trim());
            }
            let line = line.trim_start();
            line.strip_prefix("///")
                .or_else(|| line.strip_prefix("//!"))
                .map(str::trim)
        });
        for paragraph in paragraphs(lines) {
            add(&paragraph, &mut texts);
        }
    }
    for path in rust_books() {
        let Ok(page) = fs::read_to_string(&path) else {
            continue;
        };
        for paragraph in page.split("<p>").skip(1) {
            let Some((inner, _)) = paragraph.split_once("</p>") else {
                continue;
            };
            add(&html_text(inner), &mut texts);
        }
    }
    let python = named(entries(Path::new("/usr/lib")), "python3");
    // The newest standard library (`python3.11`), and the packages Debian
    // installs for every version (`python3/dist-packages`).
    let mut files = Vec::new();
    if let Some(library) = python.iter().rfind(|path| !path.ends_with("python3")) {
        source_files(library, "py", 0, &mut files);
    }
    source_files(
        Path::new("/usr/lib/python3/dist-packages"),
        "py",
        0,
        &mut files,
    );
    files.sort();
    for path in files {
        let Ok(source) = fs::read_to_string(&path) else {
            continue;
        };
        // The text between the quotes of `"""` strings: docstrings, mostly.
        for (index, piece) in source.split("\"\"\"").enumerate() {
            if index % 2 == 1 {
                add(piece, &mut texts);
            }
        }
    }
    let packages = entries(Path::new("/usr/share/doc"));
    let readmes = named(packages.flat_map(|package| entries(&package)), "README");
    for path in readmes {
        let Ok(bytes) = fs::read(&path) else {
            continue;
        };
        let text = if path.extension().is_some_and(|extension| extension == "gz") {
            let mut text = String::new();
            let mut decoder = flate2::read::GzDecoder::new(&bytes[..]);
            if std::io::Read::read_to_string(&mut decoder, &mut text).is_err() {
                continue;
            }
            text
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        for paragraph in text.split("\n\n") {
            add(paragraph, &mut texts);
        }
    }
    // Each paragraph once: licences and boilerplate repeat across packages.
    let mut seen = std::collections::HashSet::new();
    texts.retain(|text| seen.insert(text.clone()));
    texts
}

/// The paragraphs of documentation lines (`None` for a line that is not
/// documentation): runs of non-empty lines joined by spaces, split at empty
/// lines and at code fences, without the fenced code.
fn paragraphs<'t>(lines: impl Iterator<Item = Option<&'t str>>) -> Vec<String> {
    let mut found = Vec::new();
    let mut paragraph = String::new();
    let mut fenced = false;
    for line in lines {
        match line {
            Some(fence) if fence.starts_with("```") => fenced = !fenced,
            Some(_) if fenced => continue,
            Some(text) if !text.is_empty() => {
                paragraph.push_str(text);
                paragraph.push(' ');
                continue;
            }
            Some(_) => {}
            // Not documentation: a Rust doc comment's code fence ends with it.
            None => fenced = false,
        }
        found.push(std::mem::take(&mut paragraph));
    }
    found.push(paragraph);
    found
}

/// The entries of a directory (none when it cannot be read).
fn entries(directory: &Path) -> impl Iterator<Item = PathBuf> + use<> {
    fs::read_dir(directory)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
}

/// The paths whose file name starts with `prefix`, sorted.
fn named(paths: impl Iterator<Item = PathBuf>, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = paths
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(prefix))
        })
        .collect();
    found.sort();
    found
}

/// The pages of the books installed with the Rust toolchain (its `rust-docs`
/// component: the Book, the Reference, Cargo's and rustc's guides and the
/// others), without the one-page `print.html` copies and the API pages.
fn rust_books() -> Vec<PathBuf> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .unwrap_or_default();
    let html = Path::new(&sysroot).join("share/doc/rust/html");
    let mut pages = Vec::new();
    for book in [
        "book",
        "reference",
        "nomicon",
        "rust-by-example",
        "cargo",
        "rustc",
        "rustdoc",
        "edition-guide",
        "embedded-book",
        "unstable-book",
        "style-guide",
    ] {
        let mut found = Vec::new();
        source_files(&html.join(book), "html", 0, &mut found);
        found.retain(|page| !page.ends_with("print.html"));
        found.sort();
        pages.extend(found);
    }
    pages
}

/// The text of an HTML fragment: tags dropped, the common entities decoded.
fn html_text(fragment: &str) -> String {
    let mut text = String::with_capacity(fragment.len());
    let mut in_tag = false;
    for character in fragment.chars() {
        match character {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(character),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `.md` and `.rs` files of the registry crates `Cargo.lock` pins, in
/// name order.
fn crate_sources() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"),
        PathBuf::from,
    );
    let lock = fs::read_to_string(manifest_dir().join("Cargo.lock")).unwrap_or_default();
    let mut crates = Vec::new();
    let mut name = "";
    for line in lock.lines() {
        if let Some(value) = line.strip_prefix("name = ") {
            name = value.trim_matches('"');
        } else if let Some(value) = line.strip_prefix("version = ") {
            crates.push(format!("{name}-{}", value.trim_matches('"')));
        }
    }
    // One version of each crate (the newest in the lockfile's order): two
    // versions share most of their documentation.
    crates.sort();
    crates.dedup();
    let mut newest: BTreeMap<&str, &String> = BTreeMap::new();
    for krate in &crates {
        let name = krate
            .rsplit_once('-')
            .map_or(krate.as_str(), |(name, _)| name);
        newest.insert(name, krate);
    }
    let crates: Vec<String> = newest.into_values().cloned().collect();
    let registries: Vec<PathBuf> = entries(&home.join("registry").join("src")).collect();
    let mut files = Vec::new();
    for krate in &crates {
        if let Some(directory) = registries
            .iter()
            .map(|registry| registry.join(krate))
            .find(|directory| directory.is_dir())
        {
            let mut found = Vec::new();
            source_files(&directory, "md", 0, &mut found);
            source_files(&directory, "rs", 0, &mut found);
            found.sort();
            files.extend(found);
        }
    }
    files
}

/// The files ending in `.extension` below `directory` (not in tests,
/// benches, examples or site-packages).
fn source_files(directory: &Path, extension: &str, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            let skipped = name.contains("test")
                || ["benches", "examples", "site-packages"].contains(&name.as_str());
            if depth < 4 && !skipped {
                source_files(&path, extension, depth + 1, out);
            }
        } else if path.extension().is_some_and(|found| found == extension) {
            out.push(path);
        }
    }
}

/// (d): the same events with English in place of the generator's text.
///
/// The generator keeps its benign text clear of the regex lists' vocabulary
/// so that it trips no rule, which leaves the lists' lazy DFAs in few
/// states. A second file copies the per-rule file line by line, with every
/// `user_input` and `content` of `PROSE_MIN` bytes or more replaced by as
/// many bytes of [`public_prose`] (the paragraphs joined by blank lines, in
/// order, cut at the same lengths). The whole pack (1 thread) and each rule
/// that reads those fields run on both.
fn prose_costs(pack: &ir::Pack, path: &Path, scopes: &Path, runs: usize) {
    let prose = public_prose();
    let stream = prose.join("\n\n");
    println!(
        "\n(d) the same events with public prose in place of the generator's inputs and retrieved chunks\n    ({} paragraphs, {:.1} MB: the locked crates' documentation and doc comments, the Rust books, Python docstrings, Debian READMEs)",
        prose.len(),
        stream.len() as f64 / 1e6
    );
    if stream.len() < 1 << 20 {
        println!("  skipped: less than 1 MB of prose on this machine");
        return;
    }
    let prose_path = path.with_extension("prose.jsonl");
    let long_text = |event: &serde_json::Map<String, serde_json::Value>, field: &str| {
        event
            .get(field)
            .and_then(|value| value.as_str())
            .map(str::len)
            .filter(|length| *length >= PROSE_MIN)
    };
    // The inputs (which the cluster rule reads) take the prose from its
    // start, so that they repeat none of it while it lasts (repeated text
    // would make near-duplicates); the chunks take the rest, over again
    // as often as needed.
    let mut input_bytes = 0;
    for_each_line(path, |line, _| {
        let event = serde_json::from_str(line).unwrap();
        input_bytes += long_text(&event, PROSE_FIELDS[0]).unwrap_or(0);
    });
    let mut split = (input_bytes + PROSE_MAX).min(stream.len());
    while !stream.is_char_boundary(split) {
        split += 1;
    }
    let rest = if stream.len() - split >= 1 << 20 {
        &stream[split..]
    } else {
        &stream[..]
    };
    let mut cutters = [Cutter::new(&stream[..split]), Cutter::new(rest)];
    let mut lines = String::new();
    let (mut replaced, mut bytes) = (0u64, 0);
    for_each_line(path, |line, _| {
        let mut event = serde_json::from_str(line).unwrap();
        for (field, cutter) in PROSE_FIELDS.iter().zip(&mut cutters) {
            if let Some(length) = long_text(&event, field) {
                event.insert(field.to_string(), cutter.next(length).into());
                replaced += 1;
                bytes += length;
            }
        }
        lines.push_str(&serde_json::Value::Object(event).to_string());
        lines.push('\n');
    });
    fs::write(&prose_path, lines).unwrap();
    let mut tasks = vec![Task::Pack(1)];
    tasks.extend(
        pack.rules
            .iter()
            .filter(|rule| {
                let text = serde_json::to_string(rule).unwrap_or_default();
                PROSE_FIELDS
                    .iter()
                    .any(|field| text.contains(&format!("\"{field}\"")))
            })
            .map(|rule| Task::Rule(rule.id.clone())),
    );
    let mut measured: Vec<(Runs, Runs, u64)> = tasks.iter().map(|_| Default::default()).collect();
    for _ in 0..runs {
        for (task, (original, english, alerts)) in tasks.iter().zip(&mut measured) {
            original.add(&run_child(path, scopes, task));
            let child = run_child(&prose_path, scopes, task);
            *alerts = child.alerts;
            english.add(&child);
        }
    }
    println!(
        "  {:<40} {:>18} {:>18} {:>8} {:>8}",
        "", "generator's text", "public prose", "slower", "alerts"
    );
    for (task, (original, english, alerts)) in tasks.iter().zip(&measured) {
        let label = match task {
            Task::Rule(rule) => rule.clone(),
            _ => "whole pack, 1 thread".to_string(),
        };
        println!(
            "  {label:<40} {:>8.3} s {:>+6.0}% {:>8.3} s {:>+6.0}% {:>7.2}x {alerts:>8}",
            original.best(),
            (original.worst() / original.best() - 1.0) * 100.0,
            english.best(),
            (english.worst() / english.best() - 1.0) * 100.0,
            english.best() / original.best()
        );
    }
    println!(
        "  {replaced} texts replaced ({:.1} MB; the inputs' prose read {} times, the chunks' {} times); best of {runs} runs\n  and how much slower the worst was; alerts: on the prose file (the generator's templated near-duplicates\n  become one-off prose, so the cluster rule takes its free-text path)",
        bytes as f64 / 1e6,
        cutters[0].rounds + 1,
        cutters[1].rounds + 1,
    );
}

/// Cuts consecutive pieces of a text, from its start again at its end.
struct Cutter<'t> {
    text: &'t str,
    at: usize,
    /// How many times the text started again.
    rounds: u32,
}

impl<'t> Cutter<'t> {
    fn new(text: &'t str) -> Self {
        Cutter {
            text,
            at: 0,
            rounds: 0,
        }
    }

    /// The next `length` bytes (a little more, to end on a character).
    fn next(&mut self, length: usize) -> &'t str {
        if self.at + length > self.text.len() {
            self.at = 0;
            self.rounds += 1;
        }
        let mut end = (self.at + length).min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        let piece = &self.text[self.at..end];
        self.at = end;
        piece
    }
}
