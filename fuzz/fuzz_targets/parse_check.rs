//! Feeds arbitrary text to the parser and the checker: neither may panic.
//! Run with `cargo +nightly fuzz run parse_check` (or `cargo fuzz run` where
//! the toolchain supports sanitizers); seeds: `fuzz/corpus/parse_check`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline::check::{CheckOptions, check};
use tripline::source::Sources;
use tripline::syntax::parse;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut sources = Sources::new();
    let id = sources.add("fuzz.tdl", text.as_ref());
    let (file, _) = parse(&text, id);
    let _ = check(&sources, &[(id, file)], &CheckOptions::default());
});
