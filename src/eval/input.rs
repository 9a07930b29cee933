//! Reading events: files, stdin, gzip and zstd, parallel parsing, reordering, merging.
//!
//! Input: [`Input`]s (paths, `.gz` or `.zst` paths, or stdin) and the
//! [`Projection`]. A line longer than the limit is a bad line, read past
//! without being held whole.
//! Output: one stream of events in time order across all inputs, with bad
//! lines reported in place, each tagged with the index of its input.
//!
//! With one thread, lines are read and parsed in turn. With `N >= 2`, each
//! input gets `N - 1` parser threads that share its reader: a parser takes the
//! next batch of lines (numbered, with their line numbers) under a lock, then
//! parses it (running the filters, see [`Projection`]) outside the lock. The
//! evaluating thread takes the parsed batches back in number order, so every
//! later step sees exactly what it sees with one thread; when the batch it
//! needs next is not ready, it reads and parses the next batch itself instead
//! of waiting. So with two threads, both cores parse and one of them also
//! evaluates, and the work balances itself whichever stage is heavier. Parsed
//! batches wait in a bounded channel and the evaluating thread parses at most
//! a few batches ahead, so memory stays bounded (a few batches of 512 lines).
//!
//! Each input is reordered by its own [`ReorderBuffer`]; the inputs are then
//! merged in the same processing order ([`processing_order`]: time, then
//! `event_id`, ...), so that the order does not depend on how the events are
//! split across inputs.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::Scope;

use super::error::{EvalError, LineError, LineErrorKind};
use super::event::{Event, processing_order};
use super::projection::{Projection, Scratch};
use super::reorder::ReorderBuffer;

/// Where events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-` on the command line).
    Stdin,
    /// A JSON-lines file; gzip-compressed when the name ends in `.gz`,
    /// Zstandard when it ends in `.zst` or `.zstd`.
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

    /// The input's lines, without a UTF-8 byte-order mark at its start.
    fn open(&self, progress: Option<&super::ProgressHandle>) -> Result<Reader, EvalError> {
        let mut reader = self.open_raw(progress)?;
        let starts_with_mark = reader
            .fill_buf()
            .map_err(|error| EvalError::read(&self.name(), &error))?
            .starts_with(b"\xef\xbb\xbf");
        if starts_with_mark {
            reader.consume(3);
        }
        Ok(reader)
    }

    fn open_raw(&self, progress: Option<&super::ProgressHandle>) -> Result<Reader, EvalError> {
        const CAPACITY: usize = 256 * 1024;
        let mut raw: Box<dyn Read + Send> = match self {
            Input::Stdin => Box::new(io::stdin()),
            Input::Path(path) => {
                Box::new(File::open(path).map_err(|error| EvalError::read(&self.name(), &error))?)
            }
        };
        if let Some(progress) = progress {
            raw = Box::new(Counting {
                inner: raw,
                progress: progress.clone(),
            });
        }
        let extension = match self {
            Input::Path(path) => path.extension().and_then(|extension| extension.to_str()),
            Input::Stdin => None,
        };
        let raw: Box<dyn Read + Send> = match extension {
            Some("gz") => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            Some("zst" | "zstd") => Box::new(
                zstd::stream::read::Decoder::new(raw)
                    .map_err(|error| EvalError::read(&self.name(), &error))?,
            ),
            _ => raw,
        };
        Ok(BufReader::with_capacity(CAPACITY, raw))
    }

    /// Whether the input may be a live stream (`tail -f log | tripline eval
    /// --events -`): its lines are then handed on as soon as they arrive,
    /// instead of once a batch is full.
    pub(crate) fn is_live(&self) -> bool {
        matches!(self, Input::Stdin)
    }
}

/// A buffered input.
type Reader = BufReader<Box<dyn Read + Send>>;

/// How inputs are read.
pub(crate) struct ReadOptions {
    /// See [`super::EvalOptions::threads`].
    pub threads: usize,
    /// How far out of order an input may be, in milliseconds.
    pub lateness: i64,
    /// The longest line accepted, in bytes.
    pub max_line: usize,
    /// Counts the bytes read, for a progress display.
    pub progress: Option<super::ProgressHandle>,
}

/// Counts the bytes an input yields (before decompression).
struct Counting {
    inner: Box<dyn Read + Send>,
    progress: super::ProgressHandle,
}

impl Read for Counting {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.progress
            .0
            .bytes
            .fetch_add(count as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(count)
    }
}

/// What [`read_line_capped`] found.
#[derive(Debug, PartialEq, Eq)]
enum LineRead {
    /// The end of the input: nothing was read.
    End,
    /// A line, appended with its line break (if it had one).
    Line,
    /// A line longer than the limit: its bytes were consumed, not kept.
    TooLong,
}

/// Appends the next line to `out`, unless it is longer than `max` bytes
/// (without its line break): then it is read to its end and dropped, so a
/// huge line costs at most `max` bytes of memory, never its whole size.
fn read_line_capped(
    reader: &mut impl BufRead,
    out: &mut Vec<u8>,
    max: usize,
) -> io::Result<LineRead> {
    let start = out.len();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(match (read_any, too_long) {
                (false, _) => LineRead::End,
                (true, true) => LineRead::TooLong,
                (true, false) => LineRead::Line,
            });
        }
        read_any = true;
        let newline = memchr::memchr(b'\n', available);
        let taken = newline.map_or(available.len(), |at| at + 1);
        if !too_long {
            let length = out.len() - start + newline.unwrap_or(available.len());
            if length > max {
                too_long = true;
                out.truncate(start);
            } else {
                out.extend_from_slice(&available[..taken]);
            }
        }
        reader.consume(taken);
        if newline.is_some() {
            return Ok(if too_long {
                LineRead::TooLong
            } else {
                LineRead::Line
            });
        }
    }
}

fn too_long(line: u64, limit: usize) -> Item {
    Item::Bad(LineError {
        line,
        kind: LineErrorKind::TooLong { limit },
    })
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
    scratch: &mut Scratch,
) -> Option<Item> {
    // simdutf8 validates with vector instructions where the CPU has them.
    let Ok(text) = simdutf8::basic::from_utf8(trim_line_end(bytes)) else {
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
    reader: Reader,
    max_line: usize,
    projection: Arc<Projection>,
    name: String,
    input: u32,
    line: u64,
    buffer: Vec<u8>,
    scratch: Scratch,
}

impl Source for SequentialSource {
    fn next(&mut self) -> Result<Option<Item>, EvalError> {
        loop {
            // A line that is whole in the reader's buffer is parsed where it
            // lies; only a line that crosses the buffer's end is copied.
            let available = self
                .reader
                .fill_buf()
                .map_err(|error| EvalError::read(&self.name, &error))?;
            if available.is_empty() {
                return Ok(None);
            }
            if let Some(newline) = memchr::memchr(b'\n', available) {
                self.line += 1;
                if trim_line_end(&available[..newline]).len() > self.max_line {
                    self.reader.consume(newline + 1);
                    return Ok(Some(too_long(self.line, self.max_line)));
                }
                let item = parse_bytes(
                    &self.projection,
                    &available[..=newline],
                    self.input,
                    self.line,
                    &mut self.scratch,
                );
                self.reader.consume(newline + 1);
                if let Some(item) = item {
                    return Ok(Some(item));
                }
                continue;
            }
            self.buffer.clear();
            let read = read_line_capped(&mut self.reader, &mut self.buffer, self.max_line)
                .map_err(|error| EvalError::read(&self.name, &error))?;
            self.line += 1;
            match read {
                LineRead::End => return Ok(None),
                LineRead::TooLong => return Ok(Some(too_long(self.line, self.max_line))),
                LineRead::Line => {}
            }
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

/// Lines of one batch: the bytes, where each line ends, and the first line's number.
struct RawBatch {
    first_line: u64,
    data: Vec<u8>,
    ends: Vec<usize>,
    /// Lines (by index in the batch) longer than the limit, kept empty.
    too_long: Vec<usize>,
}

type ParsedBatch = Result<Vec<Item>, io::Error>;

const BATCH_LINES: usize = 512;
const BATCH_BYTES: usize = 256 << 10;
/// How many batches past the one it needs the evaluating thread parses itself
/// before it waits for the parsers instead.
const MAX_AHEAD: usize = 4;

/// The reading end of one input, shared by every thread that parses it: a
/// thread takes the next batch of lines (and its sequence number) under the
/// lock, then parses it outside the lock.
struct SharedReader {
    reader: Reader,
    max_line: usize,
    /// A live input's batch ends when no more bytes are waiting, so that no
    /// line waits for the next ones to arrive.
    live: bool,
    /// Lines read so far.
    line: u64,
    /// Batches handed out so far.
    sequence: u64,
    /// The number of batches, once the input has ended (or failed).
    total: Option<u64>,
    /// Parsed batches' buffers, reused so that reading does not fault in
    /// fresh pages for every batch.
    recycled: Vec<RawBatch>,
}

impl SharedReader {
    /// The next batch and its sequence number; `None` once the input has ended.
    fn take(shared: &Mutex<SharedReader>) -> Option<(u64, Result<RawBatch, io::Error>)> {
        let mut guard = shared.lock().ok()?;
        let this = &mut *guard;
        if this.total.is_some() {
            return None;
        }
        let mut batch = this.recycled.pop().unwrap_or_else(|| RawBatch {
            first_line: 0,
            data: Vec::with_capacity(BATCH_BYTES + 4096),
            ends: Vec::with_capacity(BATCH_LINES),
            too_long: Vec::new(),
        });
        batch.data.clear();
        batch.ends.clear();
        batch.too_long.clear();
        batch.first_line = this.line + 1;
        let sequence = this.sequence;
        this.sequence += 1;
        while batch.ends.len() < BATCH_LINES && batch.data.len() < BATCH_BYTES {
            match read_line_capped(&mut this.reader, &mut batch.data, this.max_line) {
                Ok(LineRead::End) => {
                    this.total = Some(this.sequence);
                    break;
                }
                Ok(read) => {
                    if read == LineRead::TooLong {
                        batch.too_long.push(batch.ends.len());
                    }
                    this.line += 1;
                    batch.ends.push(batch.data.len());
                    if this.live && this.reader.buffer().is_empty() {
                        break;
                    }
                }
                Err(error) => {
                    this.total = Some(this.sequence);
                    return Some((sequence, Err(error)));
                }
            }
        }
        Some((sequence, Ok(batch)))
    }

    fn recycle(shared: &Mutex<SharedReader>, batch: RawBatch, live: bool) {
        // On a live input another parser may hold the lock while it waits for
        // the next line, and this batch must go on now: never wait for it.
        let guard = if live {
            shared.try_lock().ok()
        } else {
            shared.lock().ok()
        };
        if let Some(mut guard) = guard
            && guard.recycled.len() < MAX_AHEAD * 4
        {
            guard.recycled.push(batch);
        }
    }

    /// The number of batches, once known.
    fn total(shared: &Mutex<SharedReader>) -> Option<u64> {
        shared.lock().ok().and_then(|guard| guard.total)
    }
}

/// Parses the lines of a batch, then hands its buffers back to the reader.
fn parse_batch(
    batch: RawBatch,
    shared: &Mutex<SharedReader>,
    projection: &Projection,
    input: u32,
    scratch: &mut Scratch,
    live: bool,
    max_line: usize,
) -> Vec<Item> {
    let mut items = Vec::with_capacity(batch.ends.len());
    let mut start = 0;
    let mut too_long_lines = batch.too_long.iter().peekable();
    for (offset, end) in batch.ends.iter().enumerate() {
        let line = batch.first_line + offset as u64;
        if too_long_lines.next_if_eq(&&offset).is_some() {
            items.push(too_long(line, max_line));
        } else if let Some(item) =
            parse_bytes(projection, &batch.data[start..*end], input, line, scratch)
        {
            items.push(item);
        }
        start = *end;
    }
    SharedReader::recycle(shared, batch, live);
    items
}

/// `N - 1` parser threads and the evaluating thread share one input: each
/// parser takes the next batch of lines from the [`SharedReader`], parses it
/// and sends it back numbered; the evaluating thread evaluates the batches in
/// number order, and parses a batch itself whenever the one it needs next is
/// not ready (up to [`MAX_AHEAD`] batches ahead), so that no core idles.
struct ParallelSource {
    shared: Arc<Mutex<SharedReader>>,
    results: Receiver<(u64, ParsedBatch)>,
    projection: Arc<Projection>,
    input: u32,
    scratch: Scratch,
    waiting: BTreeMap<u64, ParsedBatch>,
    next_batch: u64,
    current: std::vec::IntoIter<Item>,
    name: String,
    /// A live input is read only by the parser threads: the evaluating thread
    /// must never block on a read while a parsed batch waits for it.
    live: bool,
    max_line: usize,
}

/// What a parallel source needs to know of its input.
struct About {
    /// The input's index.
    input: u32,
    /// Its name in messages.
    name: String,
    /// See [`Input::is_live`].
    live: bool,
    /// The line limit.
    max_line: usize,
}

impl ParallelSource {
    fn spawn<'scope>(
        scope: &'scope Scope<'scope, '_>,
        reader: Reader,
        projection: Arc<Projection>,
        parsers: usize,
        about: About,
    ) -> ParallelSource {
        let About {
            input,
            name,
            live,
            max_line,
        } = about;
        let parsers = parsers.max(1);
        let shared = Arc::new(Mutex::new(SharedReader {
            reader,
            max_line,
            live,
            line: 0,
            sequence: 0,
            total: None,
            recycled: Vec::new(),
        }));
        // Bounded: a slow evaluator holds the parsers back.
        let (sender, results) = sync_channel::<(u64, ParsedBatch)>(parsers * 2);
        for _ in 0..parsers {
            let shared = shared.clone();
            let sender = sender.clone();
            let projection = projection.clone();
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                while let Some((sequence, batch)) = SharedReader::take(&shared) {
                    let parsed = batch.map(|batch| {
                        parse_batch(
                            batch,
                            &shared,
                            &projection,
                            input,
                            &mut scratch,
                            live,
                            max_line,
                        )
                    });
                    if sender.send((sequence, parsed)).is_err() {
                        return;
                    }
                }
            });
        }
        ParallelSource {
            shared,
            results,
            projection,
            input,
            scratch: Scratch::default(),
            waiting: BTreeMap::new(),
            next_batch: 0,
            current: Vec::new().into_iter(),
            name,
            live,
            max_line,
        }
    }

    /// The batch numbered `next_batch`, or `None` after the last one.
    fn next_batch(&mut self) -> Option<ParsedBatch> {
        loop {
            if let Some(batch) = self.waiting.remove(&self.next_batch) {
                return Some(batch);
            }
            match self.results.try_recv() {
                Ok((sequence, batch)) => {
                    self.waiting.insert(sequence, batch);
                    continue;
                }
                Err(TryRecvError::Empty) => {}
                // Every parser has stopped, and none holds this batch.
                Err(TryRecvError::Disconnected) => return None,
            }
            if !self.live && self.waiting.len() < MAX_AHEAD {
                // Parse the next unread batch here rather than wait.
                if let Some((sequence, batch)) = SharedReader::take(&self.shared) {
                    let parsed = batch.map(|batch| {
                        parse_batch(
                            batch,
                            &self.shared,
                            &self.projection,
                            self.input,
                            &mut self.scratch,
                            false,
                            self.max_line,
                        )
                    });
                    self.waiting.insert(sequence, parsed);
                    continue;
                }
            }
            // (A live input's parsers may hold the reader's lock while they
            // wait for input, so only the channel tells when it has ended.)
            if !self.live
                && SharedReader::total(&self.shared).is_some_and(|total| self.next_batch >= total)
            {
                return None;
            }
            // A parser holds the batch needed next: wait for it.
            match self.results.recv() {
                Ok((sequence, batch)) => {
                    self.waiting.insert(sequence, batch);
                }
                Err(_) => return None,
            }
        }
    }
}

impl Source for ParallelSource {
    fn next(&mut self) -> Result<Option<Item>, EvalError> {
        loop {
            if let Some(item) = self.current.next() {
                return Ok(Some(item));
            }
            let Some(batch) = self.next_batch() else {
                return Ok(None);
            };
            self.next_batch += 1;
            match batch {
                Ok(items) => self.current = items.into_iter(),
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

impl Ordered<'_> {
    /// See [`ReorderBuffer::floor`].
    fn floor(&self) -> Option<i64> {
        self.buffer.floor(self.exhausted)
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
        options: &ReadOptions,
    ) -> Result<Merged<'scope>, EvalError> {
        let mut ordered = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.iter().enumerate() {
            let reader = input.open(options.progress.as_ref())?;
            let source: Box<dyn Source + 'scope> = if options.threads >= 2 {
                Box::new(ParallelSource::spawn(
                    scope,
                    reader,
                    projection.clone(),
                    options.threads - 1,
                    About {
                        input: index as u32,
                        name: input.name(),
                        live: input.is_live(),
                        max_line: options.max_line,
                    },
                ))
            } else {
                Box::new(SequentialSource {
                    reader,
                    max_line: options.max_line,
                    projection: projection.clone(),
                    name: input.name(),
                    input: index as u32,
                    line: 0,
                    buffer: Vec::new(),
                    scratch: Scratch::default(),
                })
            };
            ordered.push(Ordered {
                source,
                buffer: ReorderBuffer::new(options.lateness),
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

    /// A time no event still to come from any input is earlier than (`None`
    /// while an input has not shown its first event): a stream reader can
    /// close windows and release alerts up to it without waiting for the next
    /// line.
    pub(crate) fn floor(&self) -> Option<i64> {
        let mut floor = i64::MAX;
        for (index, input) in self.inputs.iter().enumerate() {
            let time = match &self.heads[index] {
                Some(head) => head.time,
                None if self.exhausted[index] => continue,
                None => input.floor()?,
            };
            floor = floor.min(time);
        }
        Some(floor)
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
        // The order ends with the input's index and the line, so no two heads tie.
        let next = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(index, head)| head.as_ref().map(|event| (index, event)))
            .min_by(|(_, left), (_, right)| processing_order(left, right))
            .map(|(index, _)| index);
        Ok(next.and_then(|index| {
            self.heads[index]
                .take()
                .map(|event| (index, Item::Event(event)))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &[u8], capacity: usize) -> BufReader<&[u8]> {
        BufReader::with_capacity(capacity, text)
    }

    #[test]
    fn a_line_over_the_limit_is_consumed_without_being_kept() {
        let mut text = vec![b'a'; 10 << 20];
        text.extend_from_slice(b"\n{\"next\":1}\n");
        let mut input = reader(&text, 64 << 10);
        let mut out = Vec::new();
        let read = read_line_capped(&mut input, &mut out, 1 << 20);
        assert_eq!(read.ok(), Some(LineRead::TooLong));
        assert!(out.is_empty());
        // Never more than the limit and one buffer's worth was held.
        assert!(
            out.capacity() <= (1 << 20) + (64 << 10),
            "{}",
            out.capacity()
        );
        let read = read_line_capped(&mut input, &mut out, 1 << 20);
        assert_eq!(read.ok(), Some(LineRead::Line));
        assert_eq!(out, b"{\"next\":1}\n");
        out.clear();
        assert_eq!(
            read_line_capped(&mut input, &mut out, 1 << 20).ok(),
            Some(LineRead::End)
        );
    }

    #[test]
    fn the_limit_counts_the_line_without_its_break() {
        for (text, expected) in [
            (&b"abcd\n"[..], LineRead::Line),
            (&b"abcd"[..], LineRead::Line),
            (&b"abcde\n"[..], LineRead::TooLong),
            (&b"abcde"[..], LineRead::TooLong),
        ] {
            let mut out = Vec::new();
            // A tiny buffer, so lines cross it.
            let read = read_line_capped(&mut reader(text, 2), &mut out, 4);
            assert_eq!(read.ok(), Some(expected), "{text:?}");
        }
    }
}
