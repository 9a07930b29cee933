//! The normalised text view (issue 15): one spelling for text that an
//! attacker can write many ways, computed once at ingest because SIEM query
//! languages cannot normalise Unicode.
//!
//! [`normalize`] turns a text into its normal form, in this order:
//!
//! 1. **NFKC**: compatibility forms become their plain letters (full-width
//!    `ｉｇｎｏｒｅ`, mathematical `𝐢𝐠𝐧𝐨𝐫𝐞`, ligatures such as `ﬁ`).
//! 2. **Invisible characters removed**: zero-width characters, bidi controls
//!    and Unicode tag characters ([`is_invisible`]), which split keywords
//!    without changing how the text looks.
//! 3. **Diacritics stripped**: canonical decomposition (NFD), then every
//!    combining mark dropped (`ìgnörè` is `ignore`).
//! 4. **Lookalikes folded**: Cyrillic and Greek letters that look like Latin
//!    ones become those ([`lookalike`]: `іgnоrе` written with Cyrillic `і`,
//!    `о`, `е` is `ignore`).
//! 5. **Lower case** (Unicode lower-case mapping).
//! 6. **Whitespace folded**: every run of Unicode white space becomes one
//!    space (the ends are kept, as a run, not trimmed).
//!
//! [`Normalizer`] adds `*_norm` companions to JSON-lines events for
//! `tripline normalize`, keeping each line's bytes and inserting the new
//! members before its closing brace.

use std::borrow::Cow;
use std::io::{BufRead, Write};

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The text fields that get a normalised companion, and the companion's name.
pub const NORMALISED_FIELDS: [(&str, &str); 4] = [
    ("user_input", "user_input_norm"),
    ("output", "output_norm"),
    ("content", "content_norm"),
    ("tool_result", "tool_result_norm"),
];

/// The normal form of `text` (see the module documentation).
///
/// The text is read in runs: ASCII runs take the ASCII path
/// ([`lower_fold_ascii`]), and only the characters outside ASCII (with the
/// short ASCII runs between them) take the Unicode steps, so a long input
/// with a few curly quotes or an emoji costs about what ASCII does.
/// Cutting before an ASCII character changes no
/// step: NFKC never composes an ASCII character with the one before it (no
/// canonical pair has an ASCII second character; a mark after an ASCII
/// letter composes with it, and the composed letter decomposes back into
/// the same letter and mark, which step 3 drops, as it drops the lone
/// mark), steps 2 to 5 read one character at a time, and the whitespace
/// runs of step 6 are joined across the cut. The last pass (marks left by
/// lower-casing) reads the whole result, as before.
pub fn normalize(text: &str) -> String {
    if text.is_ascii() {
        return fold_ascii(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(text.len());
    let mut start = 0;
    while start < bytes.len() {
        let ascii = bytes[start..]
            .iter()
            .position(|byte| !byte.is_ascii())
            .map_or(bytes.len(), |offset| start + offset);
        let mut run = &bytes[start..ascii];
        if out.last() == Some(&b' ') {
            // The run's leading whitespace continues the output's last run.
            let spaces = run
                .iter()
                .take_while(|byte| is_fold_space(char::from(**byte)))
                .count();
            run = &run[spaces..];
        }
        lower_fold_ascii(run, &mut out);
        let other = unicode_run_end(bytes, ascii);
        // The run starts at a character outside ASCII and ends at an ASCII
        // byte or the text's end: both are character boundaries.
        if let Some(run) = text.get(ascii..other) {
            unicode_steps(run, &mut out);
        }
        start = other;
    }
    // Only whole characters were written.
    let mut out = String::from_utf8(out).unwrap_or_default();
    // Lower-casing can leave a mark or a non-NFKC sequence behind (`İ`
    // lower-cases to `i` and a combining dot); one more pass removes it.
    if out.chars().any(is_combining_mark) {
        out = out.nfd().filter(|c| !is_combining_mark(*c)).collect();
    }
    out
}

/// ASCII runs shorter than this between other characters stay in their
/// Unicode run (the spaces and punctuation of Cyrillic or Greek text): a
/// cut costs a call and a quick check, more than the Unicode steps cost
/// those few bytes.
const SHORTEST_ASCII_RUN: usize = 16;

/// Where the Unicode run that starts at `start` (at a byte outside ASCII)
/// ends: before the next ASCII run of [`SHORTEST_ASCII_RUN`] bytes or more,
/// or before the ASCII that ends the text.
fn unicode_run_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start;
    while let Some(offset) = bytes[at..].iter().position(u8::is_ascii) {
        let ascii = at + offset;
        let length = bytes[ascii..]
            .iter()
            .position(|byte| !byte.is_ascii())
            .unwrap_or(bytes.len() - ascii);
        if length >= SHORTEST_ASCII_RUN || ascii + length == bytes.len() {
            return ascii;
        }
        at = ascii + length;
    }
    bytes.len()
}

/// Steps 1 to 6 for a run that starts outside ASCII (and may hold short
/// ASCII runs), appended to `out` (whose last space, if it ends with one,
/// begins the run's whitespace).
fn unicode_steps(run: &str, out: &mut Vec<u8>) {
    // Most text is in NFKC already; the quick check skips the rewrite.
    let composed: Cow<str> = if unicode_normalization::is_nfkc_quick(run.chars())
        == unicode_normalization::IsNormalized::Yes
    {
        Cow::Borrowed(run)
    } else {
        Cow::Owned(run.nfkc().collect())
    };
    let mut push = |character: char| {
        let character = lookalike(character).unwrap_or(character);
        if character.is_whitespace() {
            if out.last() != Some(&b' ') {
                out.push(b' ');
            }
        } else if character.is_ascii() {
            out.push(character.to_ascii_lowercase() as u8);
        } else {
            // A capital with no Latin twin can lower-case to a small letter
            // with one (`Ω` to `ω`), so the small letters are looked up too.
            for small in character.to_lowercase() {
                let small = lookalike(small).unwrap_or(small);
                out.extend_from_slice(small.encode_utf8(&mut [0; 4]).as_bytes());
            }
        }
    };
    // Canonical decomposition one character at a time: NFD only adds the
    // reordering of combining marks, and every mark is dropped anyway.
    for character in composed.chars() {
        if character.is_ascii() {
            push(character);
        } else if !is_invisible(character) {
            unicode_normalization::char::decompose_canonical(character, |part| {
                if !is_combining_mark(part) {
                    push(part);
                }
            });
        }
    }
}

/// ASCII needs only steps 5 and 6: nothing in it is invisible, composed,
/// marked or a lookalike.
fn fold_ascii(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    lower_fold_ascii(text.as_bytes(), &mut out);
    // Only ASCII bytes were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Whitespace that folding collapses: space, tab, line feed, carriage return,
/// vertical tab and form feed (the ASCII `\s` of the regex engines).
#[inline]
pub(crate) fn is_fold_space(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\n' | '\r' | '\u{0B}' | '\u{0C}')
}

/// Whether folding leaves the text as it is: no whitespace other than
/// single spaces (no tab, line feed, carriage return, vertical tab or form
/// feed, and no two spaces in a row). Every fold-space character is ASCII, so
/// the bytes can be scanned whatever the text's encoding.
#[inline]
pub(crate) fn is_fold_clean(text: &[u8]) -> bool {
    // Branch-free folds, so that the common (clean) case vectorises.
    let controls = text
        .iter()
        .fold(false, |found, &byte| found | (byte.wrapping_sub(9) < 5));
    let double_spaces = text
        .iter()
        .zip(text.iter().skip(1))
        .fold(false, |found, (&left, &right)| {
            found | ((left == b' ') & (right == b' '))
        });
    !controls && !double_spaces
}

/// Appends `bytes` (ASCII) to `out` lowercased, with every run of ASCII
/// white space (tab, LF, VT, FF, CR, space: Unicode's white space in ASCII;
/// the unit and record separators are not) replaced by one space.
///
/// Most text has nothing to fold: it is lowercased and checked in two
/// passes that vectorise. Text with whitespace to fold (retrieved chunks
/// and long inputs have line breaks) is then folded in place eight bytes at
/// a time: a word of eight bytes without a control space or two spaces in
/// a row is moved as it is, and only the others go byte by byte (measured
/// on the realistic traffic's inputs and chunks: 2.5 times faster than the
/// `String::push` loop it replaced, and 2.6 times faster than a byte loop
/// on chunks).
pub(crate) fn lower_fold_ascii(bytes: &[u8], out: &mut Vec<u8>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let start = out.len();
    out.extend(bytes.iter().map(u8::to_ascii_lowercase));
    if is_fold_clean(bytes) {
        return;
    }
    // Each byte is written at the next place, which advances unless the
    // byte is a space after a space; it never passes the byte read.
    let mut written = start;
    let mut read = start;
    let mut in_space = false;
    let end = out.len();
    let fold_byte = |out: &mut Vec<u8>, written: &mut usize, in_space: &mut bool, byte: u8| {
        let space = is_fold_space(char::from(byte));
        out[*written] = if space { b' ' } else { byte };
        *written += usize::from(!(space & *in_space));
        *in_space = space;
    };
    while let Some(eight) = out.get(read..read + 8) {
        let word = u64::from_le_bytes(eight.try_into().unwrap_or([0; 8]));
        // Per byte below 0x80 (the high bit is masked, so no sum carries
        // into the next byte): the high bit of spaces, and of bytes 9..=13.
        let ascii = word & !HIGH;
        let spaces = !((ascii ^ (ONES * 0x20)) + ONES * 0x7F) & HIGH & !word;
        let controls = (ascii + ONES * (0x80 - 9)) & !(ascii + ONES * (0x80 - 14)) & HIGH & !word;
        let doubled = (spaces & (spaces << 8)) | (u64::from(in_space) * (spaces & 0x80));
        if controls | doubled == 0 {
            out.copy_within(read..read + 8, written);
            written += 8;
            in_space = spaces >> 63 != 0;
        } else {
            for index in read..read + 8 {
                let byte = out[index];
                fold_byte(out, &mut written, &mut in_space, byte);
            }
        }
        read += 8;
    }
    for index in read..end {
        let byte = out[index];
        fold_byte(out, &mut written, &mut in_space, byte);
    }
    out.truncate(written);
}

/// Characters that change no glyph but split or reorder words: zero-width
/// spaces and joiners, the word joiner and invisible operators, bidi
/// embeddings, overrides and isolates, the byte-order mark used as a
/// zero-width no-break space, the soft hyphen, the Mongolian vowel
/// separator, Hangul fillers, variation selectors and Unicode tag
/// characters (U+E0000..U+E007F, which can carry a whole hidden ASCII
/// message).
pub fn is_invisible(character: char) -> bool {
    matches!(
        character,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// The Latin letter a Cyrillic or Greek letter is written to look like, by
/// its shape in its own case (upper-case Greek `Η` is `H`, lower-case `η`
/// is `n`; upper-case Cyrillic `В` is `B`). Only letters that readers take
/// for the Latin one in ordinary fonts are listed; `п`, `и`, `л` and the
/// like stay as they are.
pub fn lookalike(character: char) -> Option<char> {
    Some(match character {
        // Cyrillic capitals.
        'А' => 'A',
        'В' => 'B',
        'Е' | 'Ѐ' | 'Ё' => 'E',
        'Ѕ' => 'S',
        'І' | 'Ї' | 'Ӏ' => 'I',
        'Ј' => 'J',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'У' | 'Ү' => 'Y',
        'Х' => 'X',
        'Ԛ' => 'Q',
        'Ԝ' => 'W',
        // Cyrillic small letters.
        'а' => 'a',
        'е' | 'ѐ' | 'ё' => 'e',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'у' | 'ү' => 'y',
        'х' => 'x',
        'ѕ' => 's',
        'і' | 'ї' => 'i',
        'ј' => 'j',
        'һ' => 'h',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'ӏ' => 'l',
        // Greek capitals.
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        // Greek small letters.
        'α' => 'a',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'υ' => 'u',
        'χ' => 'x',
        'ω' => 'w',
        _ => return None,
    })
}

/// The normalised companions of one event, or why the line has none.
pub fn companions(line: &str) -> Result<Vec<(&'static str, String)>, String> {
    if !line.trim_start().starts_with('{') {
        return Err("not a JSON object".to_string());
    }
    let texts: Texts = serde_json::from_str(line).map_err(|error| error.to_string())?;
    let mut out = Vec::new();
    for (index, (_, companion)) in NORMALISED_FIELDS.iter().enumerate() {
        // A companion already present (normalised upstream) is kept as it is.
        if texts.present[index] {
            continue;
        }
        if let Some(text) = &texts.values[index] {
            out.push((*companion, normalize(text)));
        }
    }
    Ok(out)
}

/// Adds the missing companions to a parsed event (the conformance fixtures
/// use it, so engines see what `tripline normalize` would have written).
pub fn add_companions(event: &mut serde_json::Map<String, serde_json::Value>) {
    for (field, companion) in NORMALISED_FIELDS {
        if event.contains_key(companion) {
            continue;
        }
        if let Some(serde_json::Value::String(text)) = event.get(field) {
            let normal = normalize(text);
            event.insert(companion.to_string(), serde_json::Value::String(normal));
        }
    }
}

/// The line with `companions` inserted as members before its closing brace;
/// every other byte is kept.
fn with_companions(line: &str, companions: &[(&'static str, String)]) -> Option<String> {
    let end = line.trim_end().strip_suffix('}')?;
    let empty = end.trim_end().ends_with('{');
    let mut out = String::with_capacity(line.len() + 32);
    out.push_str(end);
    for (index, (name, value)) in companions.iter().enumerate() {
        if index > 0 || !empty {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        out.push_str(&serde_json::to_string(value).ok()?);
    }
    out.push('}');
    out.push_str(&line[line.trim_end().len()..]);
    Some(out)
}

/// The four text fields and whether each companion is already there.
#[derive(Default)]
struct Texts<'a> {
    values: [Option<Cow<'a, str>>; 4],
    present: [bool; 4],
}

impl<'de> serde::Deserialize<'de> for Texts<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TextsVisitor)
    }
}

struct TextsVisitor;

impl<'de> Visitor<'de> for TextsVisitor {
    type Value = Texts<'de>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Texts<'de>, A::Error> {
        let mut texts = Texts::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let field = NORMALISED_FIELDS
                .iter()
                .position(|(name, _)| *name == key.as_ref());
            let companion = NORMALISED_FIELDS
                .iter()
                .position(|(_, name)| *name == key.as_ref());
            match (field, companion) {
                (Some(index), _) => {
                    let value = map.next_value::<Text>()?.0;
                    if texts.values[index].is_some() && value.is_some() {
                        return Err(de::Error::custom(format!("`{key}` is given twice")));
                    }
                    texts.values[index] = value.or(texts.values[index].take());
                }
                (_, Some(index)) => {
                    map.next_value::<IgnoredAny>()?;
                    texts.present[index] = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(texts)
    }
}

/// A value that is a string (borrowed when it has no escapes), or anything
/// else, which has no companion.
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Some(Cow::Borrowed(value))))
    }
    fn visit_str<E>(self, value: &str) -> Result<Text<'de>, E> {
        Ok(Text(Some(Cow::Owned(value.to_string()))))
    }
    fn visit_string<E>(self, value: String) -> Result<Text<'de>, E> {
        Ok(Text(Some(Cow::Owned(value))))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Text<'de>, E> {
        Ok(Text(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Text<'de>, E> {
        Ok(Text(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Text<'de>, E> {
        Ok(Text(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Text<'de>, E> {
        Ok(Text(None))
    }
    fn visit_unit<E>(self) -> Result<Text<'de>, E> {
        Ok(Text(None))
    }
    fn visit_none<E>(self) -> Result<Text<'de>, E> {
        Ok(Text(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text<'de>, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
}

/// The longest line that is normalised; a longer one is copied through
/// unchanged (with a warning), so memory stays bounded.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// What a run of [`Normalizer::run`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Lines read (every one was written).
    pub lines: u64,
    /// Lines given at least one companion.
    pub normalised: u64,
    /// Lines copied unchanged because they are not a JSON object, not
    /// UTF-8 or too long.
    pub passed_through: u64,
}

/// Streams JSON lines from a reader to a writer, adding companions.
pub struct Normalizer {
    /// Flush after every line (the output is a pipe or a terminal).
    pub flush_each_line: bool,
    /// The longest line normalised (tests lower it).
    pub max_line_bytes: usize,
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer {
            flush_each_line: false,
            max_line_bytes: MAX_LINE_BYTES,
        }
    }
}

impl Normalizer {
    /// Copies every line of `input` to `output`, each event with its
    /// companions. `warn` receives one message per line passed through
    /// (1-based line number, reason). Only I/O errors stop the run.
    pub fn run(
        &self,
        input: &mut dyn BufRead,
        output: &mut dyn Write,
        warn: &mut dyn FnMut(u64, &str),
    ) -> std::io::Result<Counts> {
        let mut counts = Counts::default();
        let mut line = Vec::new();
        loop {
            line.clear();
            let (complete, read) = read_line(input, &mut line, self.max_line_bytes)?;
            if read == 0 {
                break;
            }
            counts.lines += 1;
            if !complete {
                // Too long: what was read goes out as it is, then the rest.
                output.write_all(&line)?;
                copy_rest_of_line(input, output)?;
                counts.passed_through += 1;
                warn(
                    counts.lines,
                    &format!(
                        "longer than {} bytes; copied unchanged",
                        self.max_line_bytes
                    ),
                );
            } else {
                let (body, ending) = split_ending(&line);
                match simdutf8::basic::from_utf8(body) {
                    Err(_) => {
                        counts.passed_through += 1;
                        warn(counts.lines, "not UTF-8; copied unchanged");
                        output.write_all(&line)?;
                    }
                    Ok(text) if text.trim().is_empty() => output.write_all(&line)?,
                    Ok(text) => match companions(text) {
                        Err(reason) => {
                            counts.passed_through += 1;
                            warn(counts.lines, &format!("{reason}; copied unchanged"));
                            output.write_all(&line)?;
                        }
                        Ok(added) if added.is_empty() => output.write_all(&line)?,
                        Ok(added) => match with_companions(text, &added) {
                            Some(changed) => {
                                counts.normalised += 1;
                                output.write_all(changed.as_bytes())?;
                                output.write_all(ending)?;
                            }
                            None => {
                                counts.passed_through += 1;
                                warn(counts.lines, "no closing brace; copied unchanged");
                                output.write_all(&line)?;
                            }
                        },
                    },
                }
            }
            if self.flush_each_line {
                output.flush()?;
            }
        }
        output.flush()?;
        Ok(counts)
    }
}

/// The line without its `\n` or `\r\n`, and that ending.
fn split_ending(line: &[u8]) -> (&[u8], &[u8]) {
    let cut = if line.ends_with(b"\r\n") {
        line.len() - 2
    } else if line.ends_with(b"\n") {
        line.len() - 1
    } else {
        line.len()
    };
    line.split_at(cut)
}

/// Reads one line (with its `\n`) into `line`, at most `limit` bytes:
/// whether the line ended within the limit (or at the end of the input),
/// and how many bytes were read.
fn read_line(
    input: &mut dyn BufRead,
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<(bool, usize)> {
    let mut read = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok((true, read));
        }
        let room = limit.saturating_sub(line.len());
        let (take, done) = match memchr::memchr(b'\n', available) {
            Some(at) if at < room => (at + 1, true),
            _ if available.len() <= room => (available.len(), false),
            _ => (room, false),
        };
        line.extend_from_slice(&available[..take]);
        input.consume(take);
        read += take;
        if done {
            return Ok((true, read));
        }
        if line.len() >= limit {
            return Ok((false, read));
        }
    }
}

/// Copies the input up to and including the next `\n` (or its end).
fn copy_rest_of_line(input: &mut dyn BufRead, output: &mut dyn Write) -> std::io::Result<()> {
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(());
        }
        let (take, done) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        output.write_all(&available[..take])?;
        input.consume(take);
        if done {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
