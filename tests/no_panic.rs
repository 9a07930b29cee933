//! No input makes the parser or the checker panic: random text, random
//! tokens of the language, and every prefix-truncation of the shipped rules.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use tripline::check::{CheckOptions, check};
use tripline::source::Sources;
use tripline::syntax::parse;

fn parse_and_check(text: &str) {
    let mut sources = Sources::new();
    let id = sources.add("input.tdl", text);
    let (file, diagnostics) = parse(text, id);
    let _ = check(&sources, &[(id, file)], &CheckOptions::default());
    // Rendering must not panic either, whatever the spans.
    let _ = tripline::diagnostics::render_human(
        &diagnostics,
        &sources,
        tripline::diagnostics::ColorMode::Never,
    );
}

const TOKENS: &[&str] = &[
    "rule",
    "a.b",
    "{",
    "}",
    "match",
    "inference",
    "where",
    "user_input",
    "has_any",
    "phrases",
    "group",
    "by",
    "session_id",
    "within",
    "24h",
    "alert",
    "when",
    "count()",
    ">=",
    "5",
    "and",
    "or",
    "not",
    "(",
    ")",
    "\"x\"",
    "/re/",
    "sequence",
    "repeat",
    "new",
    "for",
    "lookback",
    "cluster",
    "similarity",
    "0.8",
    "[",
    "]",
    ",",
    ":",
    "title",
    "severity",
    "high",
    "list",
    "lookup",
    "param",
    "event",
    "common",
    "int",
    "string",
    "\"\"\"",
    "in",
    "cidr(\"10.0.0.0/8\")",
    "baseline(count(), 7d)",
    "percentile(count(), 99)",
    ".",
    "==",
    "\n",
    "//",
    "/*",
    "\\",
    "\u{e9}",
    "99999999999999999999",
    "dashboard",
    "panel",
    "p",
    "visual",
    "line",
    "show",
    "every",
    "1d",
    "top",
    "as",
    "bin(output_tokens, 0)",
    "alerts",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        parse_and_check(&text);
    }

    #[test]
    fn random_token_soup_never_panics(indices in proptest::collection::vec(0..TOKENS.len(), 0..60)) {
        let text: Vec<&str> = indices.iter().map(|index| TOKENS[*index]).collect();
        parse_and_check(&text.join(" "));
    }
}

#[test]
fn every_truncation_of_the_shipped_rules_is_handled() {
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("rules")];
    while let Some(directory) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|extension| extension == "tdl") {
                files.push(path);
            }
        }
    }
    files.sort();
    for path in files.iter().take(40) {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let step = (text.len() / 60).max(1);
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                parse_and_check(&text[..cut]);
            }
            cut += step;
        }
    }
}
