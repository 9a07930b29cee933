//! Parallel parsing of one input: `N - 1` parser threads and the
//! evaluating thread share its reader (see the parent module).

use super::*;

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
    let mut group = 0;
    let mut too_long_lines = batch.too_long.iter().peekable();
    for (offset, end) in batch.ends.iter().enumerate() {
        let line = batch.first_line + offset as u64;
        if too_long_lines.next_if_eq(&&offset).is_some() {
            items.push(too_long(line, max_line));
        } else if let Some(item) =
            read_bytes(projection, &batch.data[start..*end], input, line, scratch)
        {
            items.push(item);
        }
        start = *end;
        if items.len() - group >= GROUP_LINES {
            run_filters(projection, &mut items[group..], scratch);
            group = items.len();
        }
    }
    run_filters(projection, &mut items[group..], scratch);
    SharedReader::recycle(shared, batch, live);
    items
}

/// `N - 1` parser threads and the evaluating thread share one input: each
/// parser takes the next batch of lines from the [`SharedReader`], parses it
/// and sends it back numbered; the evaluating thread evaluates the batches in
/// number order, and parses a batch itself whenever the one it needs next is
/// not ready (up to [`MAX_AHEAD`] batches ahead), so that no core idles.
pub(super) struct ParallelSource {
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
pub(super) struct About {
    /// The input's index.
    pub(super) input: u32,
    /// Its name in messages.
    pub(super) name: String,
    /// See [`Input::is_live`].
    pub(super) live: bool,
    /// The line limit.
    pub(super) max_line: usize,
}

impl ParallelSource {
    pub(super) fn spawn<'scope>(
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
