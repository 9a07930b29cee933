//! Reading events: files, stdin, gzip, parallel parsing, reordering, merging.
//!
//! Input: [`Input`]s (paths, `.gz` paths, or stdin) and the [`Projection`].
//! Output: one stream of events in time order across all inputs, with bad
//! lines reported in place, each tagged with the index of its input.
//!
//! With one thread, lines are read and parsed in turn. With two, each input
//! gets one thread that reads and parses batches of lines (running the
//! filters) while the evaluating thread evaluates: a two-stage pipeline, which
//! keeps two cores busy without a third thread competing for them. With
//! `N >= 3`, each input gets a reader thread that cuts the bytes into batches of lines
//! (with their line numbers) and `N - 1` workers that parse batches (and run
//! the filters, see [`Projection`]); the evaluating thread takes the parsed
//! batches back in order, so every later step sees exactly what it sees with
//! one thread. When the batch it needs next is not parsed yet, the evaluating
//! thread parses a queued batch itself instead of waiting, so with two threads
//! both cores parse. Channels are bounded, so a slow evaluator holds back the
//! reader and memory stays bounded (a few batches of 512 lines).
//!
//! Each input is reordered by its own [`ReorderBuffer`]; the inputs are then
//! merged by (time, input index).

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError, channel, sync_channel,
};
use std::sync::{Arc, Mutex};
use std::thread::Scope;
use std::time::Duration;

use super::error::{EvalError, LineError, LineErrorKind};
use super::event::{Event, Projection};
use super::reorder::ReorderBuffer;

/// Where events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-` on the command line).
    Stdin,
    /// A JSON-lines file; gzip-compressed when the name ends in `.gz`.
    Path(PathBuf),
}

impl Input {
    /// `-` is stdin; anything else is a path.
    pub fn from_argument(argument: &str) -> Input {
        if argument == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(argument))
        }
    }

    /// The name used in messages.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::Path(path) => path.display().to_string(),
        }
    }

    fn open(&self) -> Result<Box<dyn BufRead + Send>, EvalError> {
        const CAPACITY: usize = 256 * 1024;
        match self {
            Input::Stdin => Ok(Box::new(BufReader::with_capacity(CAPACITY, io::stdin()))),
            Input::Path(path) => {
                let file =
                    File::open(path).map_err(|error| EvalError::read(&self.name(), &error))?;
                if path.extension().is_some_and(|extension| extension == "gz") {
                    Ok(Box::new(BufReader::with_capacity(
                        CAPACITY,
                        flate2::read::MultiGzDecoder::new(file),
                    )))
                } else {
                    Ok(Box::new(BufReader::with_capacity(CAPACITY, file)))
                }
            }
        }
    }
}

/// A parsed line.
#[derive(Debug)]
pub(crate) enum Item {
    Event(Event),
    Bad(LineError),
}

fn trim_line_end(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

fn parse_bytes(
    projection: &Projection,
    bytes: &[u8],
    input: u32,
    line: u64,
    scratch: &mut String,
) -> Option<Item> {
    let Ok(text) = std::str::from_utf8(trim_line_end(bytes)) else {
        return Some(Item::Bad(LineError {
            line,
            kind: LineErrorKind::NotUtf8,
        }));
    };
    match projection.parse_line(text, input, line, scratch) {
        Ok(Some(event)) => Some(Item::Event(event)),
        Ok(None) => None,
        Err(error) => Some(Item::Bad(error)),
    }
}

/// Parsed lines of one input, in file order.
trait Source {
    fn next(&mut self) -> Result<Option<Item>, EvalError>;
}

struct SequentialSource {
    reader: Box<dyn BufRead + Send>,
    projection: Arc<Projection>,
    name: String,
    input: u32,
    line: u64,
    buffer: Vec<u8>,
    scratch: String,
}

impl Source for SequentialSource {
    fn next(&mut self) -> Result<Option<Item>, EvalError> {
        loop {
            self.buffer.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.buffer)
                .map_err(|error| EvalError::read(&self.name, &error))?;
            if read == 0 {
                return Ok(None);
            }
            self.line += 1;
            if let Some(item) = parse_bytes(
                &self.projection,
                &self.buffer,
                self.input,
                self.line,
                &mut self.scratch,
            ) {
                return Ok(Some(item));
            }
        }
    }
}

/// Two stages: one thread reads and parses batches of lines (running the
/// filters), the evaluating thread only evaluates. With two cores this keeps
/// both busy without a third thread competing for them.
struct PipelinedSource {
    results: Receiver<ParsedBatch>,
    current: VecDeque<Item>,
    name: String,
}

impl PipelinedSource {
    fn spawn<'scope>(
        scope: &'scope Scope<'scope, '_>,
        mut reader: Box<dyn BufRead + Send>,
        projection: Arc<Projection>,
        input: u32,
        name: String,
    ) -> PipelinedSource {
        let (sender, results) = sync_channel::<ParsedBatch>(4);
        scope.spawn(move || {
            let (recycle_sender, recycle_receiver) = channel::<RawBatch>();
            let mut scratch = String::new();
            // The reader half runs on this same thread, one batch at a time.
            let mut line = 0u64;
            loop {
                let batch = next_raw_batch(&mut reader, &recycle_receiver, &mut line);
                let finished = matches!(&batch, Ok((_, true)) | Err(_));
                let parsed = batch.map(|(batch, _)| {
                    parse_batch(batch, &recycle_sender, &projection, input, &mut scratch)
                });
                if sender.send(parsed).is_err() || finished {
                    break;
                }
            }
        });
        PipelinedSource {
            results,
            current: VecDeque::new(),
            name,
        }
    }
}

impl Source for PipelinedSource {
    fn next(&mut self) -> Result<Option<Item>, EvalError> {
        loop {
            if let Some(item) = self.current.pop_front() {
                return Ok(Some(item));
            }
            match self.results.recv() {
                Ok(Ok(items)) => self.current = items.into(),
                Ok(Err(error)) => return Err(EvalError::read(&self.name, &error)),
                Err(_) => return Ok(None),
            }
        }
    }
}

/// Reads the next batch of lines; `true` when the input ended with it.
fn next_raw_batch(
    reader: &mut Box<dyn BufRead + Send>,
    recycled: &Receiver<RawBatch>,
    line: &mut u64,
) -> Result<(RawBatch, bool), io::Error> {
    let mut batch = match recycled.try_recv() {
        Ok(mut batch) => {
            batch.data.clear();
            batch.ends.clear();
            batch.first_line = *line + 1;
            batch
        }
        Err(_) => RawBatch {
            first_line: *line + 1,
            data: Vec::with_capacity(BATCH_BYTES + 4096),
            ends: Vec::with_capacity(BATCH_LINES),
        },
    };
    while batch.ends.len() < BATCH_LINES && batch.data.len() < BATCH_BYTES {
        if reader.read_until(b'\n', &mut batch.data)? == 0 {
            return Ok((batch, true));
        }
        *line += 1;
        batch.ends.push(batch.data.len());
    }
    Ok((batch, false))
}

/// Lines of one batch: the bytes, where each line ends, and the first line's number.
struct RawBatch {
    first_line: u64,
    data: Vec<u8>,
    ends: Vec<usize>,
}

type ParsedBatch = Result<Vec<Item>, io::Error>;

const BATCH_LINES: usize = 512;
/// How long the evaluating thread waits for a parsed batch before it looks for
/// a queued one to parse itself.
const HELP_INTERVAL: Duration = Duration::from_micros(200);
const BATCH_BYTES: usize = 256 << 10;

type JobQueue = Arc<Mutex<Receiver<(u64, Result<RawBatch, io::Error>)>>>;

struct ThreadedSource {
    results: Receiver<(u64, ParsedBatch)>,
    /// The parsers' queue: the evaluating thread takes a batch from it itself
    /// when the batch it needs next is not parsed yet.
    jobs: JobQueue,
    recycle: Sender<RawBatch>,
    projection: Arc<Projection>,
    input: u32,
    scratch: String,
    waiting: BTreeMap<u64, ParsedBatch>,
    next_batch: u64,
    current: VecDeque<Item>,
    name: String,
}

impl ThreadedSource {
    fn spawn<'scope>(
        scope: &'scope Scope<'scope, '_>,
        mut reader: Box<dyn BufRead + Send>,
        projection: Arc<Projection>,
        workers: usize,
        input: u32,
        name: String,
    ) -> ThreadedSource {
        let workers = workers.max(1);
        let (job_sender, job_receiver) =
            sync_channel::<(u64, Result<RawBatch, io::Error>)>(workers * 2);
        let (result_sender, result_receiver) = sync_channel::<(u64, ParsedBatch)>(workers * 2);
        // Parsed batches' byte buffers go back to the reader, so that reading
        // does not fault in fresh pages for every batch.
        let (recycle_sender, recycle_receiver) = channel::<RawBatch>();
        scope.spawn(move || read_batches(&mut reader, &job_sender, &recycle_receiver));
        let jobs: JobQueue = Arc::new(Mutex::new(job_receiver));
        for _ in 0..workers {
            let jobs = jobs.clone();
            let results: SyncSender<(u64, ParsedBatch)> = result_sender.clone();
            let recycle = recycle_sender.clone();
            let projection = projection.clone();
            scope.spawn(move || parse_batches(&jobs, &results, &recycle, &projection, input));
        }
        ThreadedSource {
            results: result_receiver,
            jobs,
            recycle: recycle_sender,
            projection,
            input,
            scratch: String::new(),
            waiting: BTreeMap::new(),
            next_batch: 0,
            current: VecDeque::new(),
            name,
        }
    }
}

fn read_batches(
    reader: &mut Box<dyn BufRead + Send>,
    jobs: &SyncSender<(u64, Result<RawBatch, io::Error>)>,
    recycled: &Receiver<RawBatch>,
) {
    let mut line = 0u64;
    for sequence in 0u64.. {
        let mut batch = match recycled.try_recv() {
            Ok(mut batch) => {
                batch.data.clear();
                batch.ends.clear();
                batch.first_line = line + 1;
                batch
            }
            Err(_) => RawBatch {
                first_line: line + 1,
                data: Vec::with_capacity(BATCH_BYTES + 4096),
                ends: Vec::with_capacity(BATCH_LINES),
            },
        };
        let mut finished = false;
        while batch.ends.len() < BATCH_LINES && batch.data.len() < BATCH_BYTES {
            match reader.read_until(b'\n', &mut batch.data) {
                Ok(0) => {
                    finished = true;
                    break;
                }
                Ok(_) => {
                    line += 1;
                    batch.ends.push(batch.data.len());
                }
                Err(error) => {
                    let _ = jobs.send((sequence, Err(error)));
                    return;
                }
            }
        }
        if jobs.send((sequence, Ok(batch))).is_err() || finished {
            return;
        }
    }
}

/// Parses the lines of a batch, then hands its buffers back to the reader.
fn parse_batch(
    batch: RawBatch,
    recycle: &Sender<RawBatch>,
    projection: &Projection,
    input: u32,
    scratch: &mut String,
) -> Vec<Item> {
    let mut items = Vec::with_capacity(batch.ends.len());
    let mut start = 0;
    for (offset, end) in batch.ends.iter().enumerate() {
        let line = batch.first_line + offset as u64;
        if let Some(item) = parse_bytes(projection, &batch.data[start..*end], input, line, scratch)
        {
            items.push(item);
        }
        start = *end;
    }
    let _ = recycle.send(batch);
    items
}

fn parse_batches(
    jobs: &Mutex<Receiver<(u64, Result<RawBatch, io::Error>)>>,
    results: &SyncSender<(u64, ParsedBatch)>,
    recycle: &Sender<RawBatch>,
    projection: &Projection,
    input: u32,
) {
    let mut scratch = String::new();
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok((sequence, batch)) = job else {
            return;
        };
        let parsed =
            batch.map(|batch| parse_batch(batch, recycle, projection, input, &mut scratch));
        if results.send((sequence, parsed)).is_err() {
            return;
        }
    }
}

impl Source for ThreadedSource {
    fn next(&mut self) -> Result<Option<Item>, EvalError> {
        loop {
            if let Some(item) = self.current.pop_front() {
                return Ok(Some(item));
            }
            let batch = match self.waiting.remove(&self.next_batch) {
                Some(batch) => batch,
                None => loop {
                    match self.results.try_recv() {
                        Ok((sequence, batch)) if sequence == self.next_batch => break batch,
                        Ok((sequence, batch)) => {
                            self.waiting.insert(sequence, batch);
                            continue;
                        }
                        Err(TryRecvError::Disconnected) => return Ok(None),
                        Err(TryRecvError::Empty) => {}
                    }
                    // Nothing parsed yet: parse a queued batch here rather than wait.
                    let job = match self.jobs.try_lock() {
                        Ok(receiver) => receiver.try_recv().ok(),
                        Err(_) => None,
                    };
                    if let Some((sequence, raw)) = job {
                        let parsed = raw.map(|raw| {
                            parse_batch(
                                raw,
                                &self.recycle,
                                &self.projection,
                                self.input,
                                &mut self.scratch,
                            )
                        });
                        if sequence == self.next_batch {
                            break parsed;
                        }
                        self.waiting.insert(sequence, parsed);
                        continue;
                    }
                    // A parser waiting for the reader holds the queue: wait a
                    // little for a result, then look at the queue again.
                    match self.results.recv_timeout(HELP_INTERVAL) {
                        Ok((sequence, batch)) if sequence == self.next_batch => break batch,
                        Ok((sequence, batch)) => {
                            self.waiting.insert(sequence, batch);
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return Ok(None),
                    }
                },
            };
            self.next_batch += 1;
            match batch {
                Ok(items) => self.current = items.into(),
                Err(error) => return Err(EvalError::read(&self.name, &error)),
            }
        }
    }
}

/// One input in time order.
struct Ordered<'a> {
    source: Box<dyn Source + 'a>,
    buffer: ReorderBuffer,
    exhausted: bool,
}

impl Ordered<'_> {
    fn next(&mut self) -> Result<Option<Item>, EvalError> {
        loop {
            if let Some(event) = self.buffer.pop_ready() {
                return Ok(Some(Item::Event(event)));
            }
            if self.exhausted {
                return Ok(self.buffer.pop_any().map(Item::Event));
            }
            match self.source.next()? {
                None => self.exhausted = true,
                Some(Item::Bad(error)) => return Ok(Some(Item::Bad(error))),
                Some(Item::Event(event)) => {
                    if let Err(error) = self.buffer.push(event) {
                        return Ok(Some(Item::Bad(error)));
                    }
                }
            }
        }
    }
}

/// Every input merged in time order.
pub(crate) struct Merged<'a> {
    inputs: Vec<Ordered<'a>>,
    heads: Vec<Option<Event>>,
    exhausted: Vec<bool>,
}

impl<'a> Merged<'a> {
    /// Opens every input (spawning reader and parser threads in `scope` when `threads >= 2`).
    pub(crate) fn open<'scope>(
        scope: &'scope Scope<'scope, '_>,
        inputs: &[Input],
        projection: &Arc<Projection>,
        threads: usize,
        lateness: i64,
    ) -> Result<Merged<'scope>, EvalError> {
        let mut ordered = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.iter().enumerate() {
            let reader = input.open()?;
            let source: Box<dyn Source + 'scope> = if threads == 2 {
                Box::new(PipelinedSource::spawn(
                    scope,
                    reader,
                    projection.clone(),
                    index as u32,
                    input.name(),
                ))
            } else if threads >= 3 {
                Box::new(ThreadedSource::spawn(
                    scope,
                    reader,
                    projection.clone(),
                    threads - 1,
                    index as u32,
                    input.name(),
                ))
            } else {
                Box::new(SequentialSource {
                    reader,
                    projection: projection.clone(),
                    name: input.name(),
                    input: index as u32,
                    line: 0,
                    buffer: Vec::new(),
                    scratch: String::new(),
                })
            };
            ordered.push(Ordered {
                source,
                buffer: ReorderBuffer::new(lateness),
                exhausted: false,
            });
        }
        let count = ordered.len();
        Ok(Merged {
            inputs: ordered,
            heads: (0..count).map(|_| None).collect(),
            exhausted: vec![false; count],
        })
    }

    /// The next event in time order, or a bad line, with its input's index.
    pub(crate) fn next(&mut self) -> Result<Option<(usize, Item)>, EvalError> {
        for index in 0..self.inputs.len() {
            while self.heads[index].is_none() && !self.exhausted[index] {
                match self.inputs[index].next()? {
                    None => self.exhausted[index] = true,
                    Some(Item::Event(event)) => self.heads[index] = Some(event),
                    Some(bad) => return Ok(Some((index, bad))),
                }
            }
        }
        let next = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(index, head)| head.as_ref().map(|event| (event.time, index)))
            .min();
        Ok(next.and_then(|(_, index)| {
            self.heads[index]
                .take()
                .map(|event| (index, Item::Event(event)))
        }))
    }
}
