//! A fast path for the common event line: one JSON object, read in one pass.
//!
//! Input: the bytes of one line and, for each key, what the [`Projection`]
//! wants of it. Output: the slots filled exactly as the serde visitor of
//! `projection_reader.rs` fills them, or [`Unsupported`], after which the caller clears
//! what was written and parses the line with `serde_json` instead.
//!
//! The scanner accepts only what it has fully validated as JSON: an object
//! whose keys hold no escapes, nested at most [`MAX_DEPTH`] deep, whose
//! strings hold no `\u` escape of a surrogate. Anything else, every invalid
//! line included, is [`Unsupported`], so error messages and the handling of
//! rare forms stay `serde_json`'s own. Numbers other than plain integers of at
//! most 18 digits are converted by `serde_json` itself, so that every number
//! becomes the same slot on both paths. A differential property test holds
//! the two paths to the same result (`projection::tests::agrees_with_serde`).
//!
//! [`Projection`]: super::projection::Projection

use super::event::Slot;

/// The line is not one the fast path handles: parse it with `serde_json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported;

/// What the projection does with a key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyUse {
    /// Materialise it into this slot (strings are copied into the text buffer).
    Read(u16),
    /// Only record its JSON kind in this slot (strings become [`Slot::Probed`]).
    Probe(u16),
    /// Validate and skip it.
    Skip,
}

/// Nesting deeper than this is left to `serde_json` (whose own limit is 128).
const MAX_DEPTH: usize = 32;

/// Scans one object line into `slots` (and the text of read strings into
/// `text`). On [`Unsupported`], `slots` and `text` may hold partial results.
pub(crate) fn scan_object(
    line: &str,
    key_use: impl Fn(&str) -> KeyUse,
    slots: &mut [Slot],
    text: &mut String,
) -> Result<(), Unsupported> {
    let mut scanner = Scanner {
        line,
        bytes: line.as_bytes(),
        position: 0,
    };
    scanner.skip_whitespace();
    scanner.expect(b'{')?;
    scanner.skip_whitespace();
    if scanner.peek() == Some(b'}') {
        scanner.position += 1;
    } else {
        loop {
            scanner.expect(b'"')?;
            let (start, end, escaped) = scanner.string()?;
            if escaped {
                return Err(Unsupported);
            }
            let key = line.get(start..end).ok_or(Unsupported)?;
            scanner.skip_whitespace();
            scanner.expect(b':')?;
            scanner.skip_whitespace();
            match key_use(key) {
                KeyUse::Read(slot) => {
                    let value = scanner.value(Some(text))?;
                    *slots.get_mut(usize::from(slot)).ok_or(Unsupported)? = value;
                }
                KeyUse::Probe(slot) => {
                    let value = scanner.value(None)?;
                    *slots.get_mut(usize::from(slot)).ok_or(Unsupported)? = value;
                }
                KeyUse::Skip => scanner.skip(0)?,
            }
            scanner.skip_whitespace();
            match scanner.next_byte()? {
                b',' => scanner.skip_whitespace(),
                b'}' => break,
                _ => return Err(Unsupported),
            }
        }
    }
    scanner.skip_whitespace();
    if scanner.position == line.len() {
        Ok(())
    } else {
        Err(Unsupported)
    }
}

struct Scanner<'a> {
    /// The line; every position the scanner cuts at is next to an ASCII
    /// byte, so slices of it are cheap and never fail.
    line: &'a str,
    bytes: &'a [u8],
    position: usize,
}

impl Scanner<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    #[inline]
    fn next_byte(&mut self) -> Result<u8, Unsupported> {
        let byte = self.peek().ok_or(Unsupported)?;
        self.position += 1;
        Ok(byte)
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Result<(), Unsupported> {
        if self.next_byte()? == byte {
            Ok(())
        } else {
            Err(Unsupported)
        }
    }

    /// JSON whitespace: space, tab, line feed, carriage return.
    #[inline]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.position += 1;
        }
    }

    /// After an opening quote: the raw byte range of the string's content
    /// (escapes validated, not decoded), and whether it holds escapes. The
    /// position ends after the closing quote.
    #[inline(always)]
    fn string(&mut self) -> Result<(usize, usize, bool), Unsupported> {
        let start = self.position;
        let mut escaped = false;
        loop {
            let found = find_special(&self.bytes[self.position..]).ok_or(Unsupported)?;
            self.position += found;
            match self.bytes[self.position] {
                b'"' => {
                    let end = self.position;
                    self.position += 1;
                    return Ok((start, end, escaped));
                }
                b'\\' => escaped = true,
                // Raw control characters are not allowed in JSON strings.
                _ => return Err(Unsupported),
            }
            match self.bytes.get(self.position + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.position += 2,
                Some(b'u') => {
                    let code = self
                        .bytes
                        .get(self.position + 2..self.position + 6)
                        .and_then(hex4)
                        .ok_or(Unsupported)?;
                    if (0xD800..0xE000).contains(&code) {
                        return Err(Unsupported);
                    }
                    self.position += 6;
                }
                _ => return Err(Unsupported),
            }
        }
    }

    /// A value: into a slot, copying strings into `text` when given (or
    /// recording [`Slot::Probed`] when not).
    #[inline(always)]
    fn value(&mut self, text: Option<&mut String>) -> Result<Slot, Unsupported> {
        match self.peek().ok_or(Unsupported)? {
            b'"' => {
                self.position += 1;
                let (start, end, escaped) = self.string()?;
                let Some(text) = text else {
                    return Ok(Slot::Probed);
                };
                let begin = text.len();
                let raw = self.line.get(start..end).ok_or(Unsupported)?;
                if escaped {
                    decode(raw, text)?;
                } else {
                    text.push_str(raw);
                }
                Ok(Slot::Str(
                    u32::try_from(begin).map_err(|_| Unsupported)?,
                    u32::try_from(text.len()).map_err(|_| Unsupported)?,
                ))
            }
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true", Slot::Bool(true)),
            b'f' => self.literal(b"false", Slot::Bool(false)),
            b'n' => self.literal(b"null", Slot::Missing),
            b'[' | b'{' => {
                self.skip(0)?;
                Ok(Slot::Composite)
            }
            _ => Err(Unsupported),
        }
    }

    fn literal(&mut self, word: &[u8], slot: Slot) -> Result<Slot, Unsupported> {
        if self.bytes[self.position..].starts_with(word) {
            self.position += word.len();
            Ok(slot)
        } else {
            Err(Unsupported)
        }
    }

    /// A number, by the JSON grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<Slot, Unsupported> {
        let start = self.position;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.position += 1;
        }
        let digits_start = self.position;
        match self.next_byte()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return Err(Unsupported),
        }
        let digits_end = self.position;
        let mut integral = true;
        if self.peek() == Some(b'.') {
            integral = false;
            self.position += 1;
            self.required_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            integral = false;
            self.position += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.position += 1;
            }
            self.required_digits()?;
        }
        let digits = &self.bytes[digits_start..digits_end];
        if integral && digits.len() <= 18 && !(negative && digits == b"0") {
            let magnitude = digits
                .iter()
                .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0'));
            return Ok(Slot::Int(if negative { -magnitude } else { magnitude }));
        }
        // Long integers, fractions and exponents: converted exactly as serde_json converts them.
        let text = self.line.get(start..self.position).ok_or(Unsupported)?;
        let number: serde_json::Number = serde_json::from_str(text).map_err(|_| Unsupported)?;
        if let Some(value) = number.as_i64() {
            Ok(Slot::Int(value))
        } else if let Some(value) = number.as_u64() {
            Ok(Slot::Float(value as f64))
        } else {
            number.as_f64().map(Slot::Float).ok_or(Unsupported)
        }
    }

    #[inline]
    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.position += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), Unsupported> {
        let start = self.position;
        self.digits();
        if self.position == start {
            Err(Unsupported)
        } else {
            Ok(())
        }
    }

    /// Validates and skips any value.
    fn skip(&mut self, depth: usize) -> Result<(), Unsupported> {
        match self.peek().ok_or(Unsupported)? {
            open @ (b'[' | b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(Unsupported);
                }
                self.position += 1;
                let close = if open == b'[' { b']' } else { b'}' };
                self.skip_whitespace();
                if self.peek() == Some(close) {
                    self.position += 1;
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        self.expect(b'"')?;
                        self.string()?;
                        self.skip_whitespace();
                        self.expect(b':')?;
                        self.skip_whitespace();
                    }
                    self.skip(depth + 1)?;
                    self.skip_whitespace();
                    match self.next_byte()? {
                        b',' => self.skip_whitespace(),
                        byte if byte == close => return Ok(()),
                        _ => return Err(Unsupported),
                    }
                }
            }
            b'"' => {
                self.position += 1;
                self.string().map(|_| ())
            }
            _ => self.value(None).map(|_| ()),
        }
    }
}

/// Whether a byte ends a run of plain string content: a quote, a backslash
/// or a control character (which JSON does not allow raw in a string).
#[inline]
fn is_special(byte: u8) -> bool {
    (byte < 0x20) | (byte == b'"') | (byte == b'\\')
}

/// The position of the first special byte, a word of eight bytes at a time: in each
/// word, the classic zero-byte test (`(x - 0x01..) & !x & 0x80..`) flags the
/// bytes equal to a quote or a backslash (after an xor) and the bytes below
/// 0x20. A borrow can flag a byte above a flagged one, never below it, so the
/// lowest flag is exact.
#[inline]
fn find_special(bytes: &[u8]) -> Option<usize> {
    // Sixteen bytes (two words) per step, one branch for both.
    let mut pairs = bytes.chunks_exact(16);
    let mut offset = 0;
    for pair in &mut pairs {
        let (Some(low), Some(high)) = (pair.first_chunk::<8>(), pair.last_chunk::<8>()) else {
            break;
        };
        let (low, high) = (special_flags(*low), special_flags(*high));
        if low | high != 0 {
            let flags = if low != 0 { low } else { high };
            let base = if low != 0 { offset } else { offset + 8 };
            return Some(base + (flags.trailing_zeros() / 8) as usize);
        }
        offset += 16;
    }
    pairs
        .remainder()
        .iter()
        .position(|&byte| is_special(byte))
        .map(|position| offset + position)
}

/// The high bit of each special byte of a word (and maybe of bytes above
/// the first special one, never below it).
#[inline]
fn special_flags(word: [u8; 8]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    const SPACES: u64 = ONES * 0x20;
    let word = u64::from_le_bytes(word);
    let quotes = word ^ QUOTES;
    let backslashes = word ^ BACKSLASHES;
    ((quotes.wrapping_sub(ONES) & !quotes)
        | (backslashes.wrapping_sub(ONES) & !backslashes)
        | (word.wrapping_sub(SPACES) & !word))
        & HIGHS
}

fn hex4(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |value, &byte| {
        let digit = char::from(byte).to_digit(16)?;
        Some(value * 16 + digit)
    })
}

/// Decodes a string's validated content (no surrogate escapes) into `text`.
fn decode(raw: &str, text: &mut String) -> Result<(), Unsupported> {
    let bytes = raw.as_bytes();
    let mut position = 0;
    while position < raw.len() {
        let Some(found) = memchr::memchr(b'\\', &bytes[position..]) else {
            text.push_str(raw.get(position..).ok_or(Unsupported)?);
            break;
        };
        text.push_str(raw.get(position..position + found).ok_or(Unsupported)?);
        position += found;
        let decoded = match bytes.get(position + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let code = bytes
                    .get(position + 2..position + 6)
                    .and_then(hex4)
                    .and_then(char::from_u32)
                    .ok_or(Unsupported)?;
                position += 4;
                code
            }
            _ => return Err(Unsupported),
        };
        text.push(decoded);
        position += 2;
    }
    Ok(())
}
