//! Compiled queries read as a detection engineer writes them: no query of
//! the shipped pack, for any target, spells case variants as per-character
//! classes such as `[Ii][Gg]`. Each target uses its own case-insensitive
//! form where it is exact: RE2's and PCRE2's `(?i)` (Unicode simple case
//! folding), Java's ASCII-only `(?i)` with the Kelvin sign and the long s
//! beside `k` and `s` (Spark), EQL's `in~`/`like~`/`regex~`, ES|QL's
//! `TO_LOWER`; Sigma's and Kibana's plain values where no letter needs more.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod pack_support;

use tripline::targets;

/// The first per-character case class in `text`: a bracketed class holding
/// two characters that fold together (`[Xx]`, `[Kk\x{212A}]`, `[Ssſ]`) and
/// no range.
fn case_class(text: &str) -> Option<String> {
    let characters: Vec<char> = text.chars().collect();
    for (start, character) in characters.iter().enumerate() {
        if *character != '[' {
            continue;
        }
        let Some(length) = characters[start..].iter().position(|c| *c == ']') else {
            continue;
        };
        let body = &characters[start + 1..start + length];
        // Ranges (`[0-9A-Za-z]`) are classes of their own, not case variants.
        // JSON arrays and other brackets across words are no regex classes.
        if body.contains(&'-') || body.iter().any(|c| c.is_whitespace() || *c == '"') {
            continue;
        }
        let letters: Vec<char> = body.iter().copied().filter(|c| c.is_alphabetic()).collect();
        let pairs = letters.iter().enumerate().any(|(index, a)| {
            letters[index + 1..]
                .iter()
                .any(|b| a != b && a.to_lowercase().eq(b.to_lowercase()))
        });
        if pairs {
            return Some(characters[start..=start + length].iter().collect());
        }
    }
    None
}

#[test]
fn the_detector_finds_case_classes() {
    assert_eq!(case_class("^(?:[Hh][Tt])$"), Some("[Hh]".to_string()));
    assert_eq!(case_class("x[0-9A-Z_a-z]y"), None);
    assert_eq!(case_class("(?i)^(?:http_get)$"), None);
    assert_eq!(case_class(".*[Ssſ]ecret"), Some("[Ssſ]".to_string()));
    // The long s or the Kelvin sign beside its letter is no case class.
    assert_eq!(case_class("(?i)li[s\\x{17F}]t"), None);
    assert_eq!(case_class("li(s|\\u{17F})t"), None);
}

#[test]
fn no_target_spells_per_character_case_classes() {
    let project = pack_support::shipped_project();
    let pack = project.pack.as_ref().expect("the shipped pack checks");
    let registry = targets::registry();
    let mut compiled = 0;
    let mut targets = 0;
    for target in registry.iter() {
        targets += 1;
        let mapping = target.default_mapping(&pack.schema);
        for rule in &pack.rules {
            let Ok(artifacts) =
                targets::compile_rule(target.as_ref(), rule, pack, &mapping, &registry)
            else {
                continue;
            };
            compiled += 1;
            for artifact in &artifacts {
                if let Some(class) = case_class(&artifact.text) {
                    panic!(
                        "{} {}: `{}` spells case variants as `{class}`",
                        target.id(),
                        rule.id,
                        artifact.path
                    );
                }
            }
        }
    }
    assert!(targets >= 8, "only {targets} targets");
    assert!(
        compiled >= 120,
        "only {compiled} rule × target pairs compiled"
    );
}
