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

mod parallel;
use parallel::{About, ParallelSource};

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

/// Reads one line into an event whose filters have not run (see
/// [`run_filters`]); `None` for a blank line.
fn read_bytes(
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
    match projection.read_line(text, input, line, scratch) {
        Ok(Some(event)) => Some(Item::Event(event)),
        Ok(None) => None,
        Err(error) => Some(Item::Bad(error)),
    }
}

/// Runs the filters of a group of items from [`read_bytes`], all at once,
/// so that the regex lists read the group's texts side by side.
fn run_filters<'a>(
    projection: &Projection,
    items: impl IntoIterator<Item = &'a mut Item>,
    scratch: &mut Scratch,
) {
    let mut events: Vec<&mut Event> = items
        .into_iter()
        .filter_map(|item| match item {
            Item::Event(event) => Some(event),
            Item::Bad(_) => None,
        })
        .collect();
    projection.run_filters(&mut events, scratch);
}

/// Lines read before their filters run together (see [`run_filters`]):
/// enough for the texts of a rarer event type (one line in ten is a
/// retrieval) to fill the lanes.
const GROUP_LINES: usize = 128;

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
    /// Lines read and filtered, not handed out yet.
    pending: std::collections::VecDeque<Item>,
}

impl Source for SequentialSource {
    fn next(&mut self) -> Result<Option<Item>, EvalError> {
        if self.pending.is_empty() {
            self.read_group()?;
        }
        Ok(self.pending.pop_front())
    }
}

impl SequentialSource {
    /// Reads up to [`GROUP_LINES`] lines into [`Self::pending`] and runs their
    /// filters. Only lines already in the reader's buffer join a group that
    /// has one: a group never waits on a read (a live input's events are
    /// not held back), a read error never strands parsed lines, and a group
    /// holds at most one line copied across the buffer's end plus what one
    /// buffer holds, so a run of long lines costs no more memory than before.
    fn read_group(&mut self) -> Result<(), EvalError> {
        while self.pending.len() < GROUP_LINES {
            if !self.pending.is_empty() && self.reader.buffer().is_empty() {
                break;
            }
            // A line that is whole in the reader's buffer is parsed where it
            // lies; only a line that crosses the buffer's end is copied.
            let available = self
                .reader
                .fill_buf()
                .map_err(|error| EvalError::read(&self.name, &error))?;
            if available.is_empty() {
                break;
            }
            if let Some(newline) = memchr::memchr(b'\n', available) {
                self.line += 1;
                if trim_line_end(&available[..newline]).len() > self.max_line {
                    self.reader.consume(newline + 1);
                    self.pending.push_back(too_long(self.line, self.max_line));
                    continue;
                }
                let item = read_bytes(
                    &self.projection,
                    &available[..=newline],
                    self.input,
                    self.line,
                    &mut self.scratch,
                );
                self.reader.consume(newline + 1);
                self.pending.extend(item);
                continue;
            }
            if !self.pending.is_empty() {
                break;
            }
            self.buffer.clear();
            let read = read_line_capped(&mut self.reader, &mut self.buffer, self.max_line)
                .map_err(|error| EvalError::read(&self.name, &error))?;
            self.line += 1;
            match read {
                LineRead::End => break,
                LineRead::TooLong => self.pending.push_back(too_long(self.line, self.max_line)),
                LineRead::Line => self.pending.extend(read_bytes(
                    &self.projection,
                    &self.buffer,
                    self.input,
                    self.line,
                    &mut self.scratch,
                )),
            }
        }
        run_filters(&self.projection, &mut self.pending, &mut self.scratch);
        Ok(())
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
                    pending: std::collections::VecDeque::new(),
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
