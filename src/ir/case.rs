//! Case-insensitive comparison: per-character Unicode simple case folding.
//!
//! Two characters are equal ignoring case when Unicode's simple case folding
//! (the `C` and `S` entries of `CaseFolding.txt`) maps them to the same
//! character. The folding is one character for one, so it never changes a
//! text's length, never depends on context and makes a substring test on the
//! folded texts a case-insensitive substring test. It is the folding that
//! Rust's `regex` `(?i)`, RE2's `(?i)` and PCRE2's caseless matching in UTF
//! mode share, so the targets can use those engines' own case-insensitive
//! flag instead of spelling case variants out.
//!
//! Input: characters and texts. Output: the folded form (equal forms mean
//! equal ignoring case) and a character's orbit (every character that folds
//! the same). The table comes from `regex-syntax`'s own simple case folding,
//! the one the evaluator's `/re/i` regexes use.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

/// The highest code point with any case mapping is below this bound.
const CASED_BOUND: u32 = 0x20000;

/// Every non-ASCII character whose orbit has other members, with the
/// orbit's representative; ASCII letters are handled without the table.
fn table() -> &'static HashMap<char, char> {
    static TABLE: OnceLock<HashMap<char, char>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for code in 0x80..CASED_BOUND {
            let Some(character) = char::from_u32(code) else {
                continue;
            };
            if table.contains_key(&character) || !has_case_mapping(character) {
                continue;
            }
            let members = simple_orbit(character);
            if members.len() < 2 {
                continue;
            }
            let representative = representative(&members);
            for member in members {
                if !member.is_ascii() {
                    table.insert(member, representative);
                }
            }
        }
        table
    })
}

fn has_case_mapping(character: char) -> bool {
    let lower = character.to_lowercase();
    let upper = character.to_uppercase();
    !(lower.len() == 1
        && upper.len() == 1
        && character.to_lowercase().next() == Some(character)
        && character.to_uppercase().next() == Some(character))
}

/// The orbit of a character under simple case folding, from `regex-syntax`.
fn simple_orbit(character: char) -> Vec<char> {
    let mut class = ClassUnicode::new([ClassUnicodeRange::new(character, character)]);
    class.case_fold_simple();
    class
        .iter()
        .flat_map(|range| range.start()..=range.end())
        .collect()
}

/// The orbit's representative: its lowest member that is its own
/// lowercase (an ASCII letter's lowercase when the orbit has one).
fn representative(members: &[char]) -> char {
    members
        .iter()
        .copied()
        .find(|member| member.to_lowercase().eq([*member]))
        .unwrap_or(members[0])
}

/// The simple case folding of one character (to its orbit's representative).
#[inline]
pub fn fold_char(character: char) -> char {
    if character.is_ascii() {
        character.to_ascii_lowercase()
    } else {
        table().get(&character).copied().unwrap_or(character)
    }
}

/// A text with every character folded.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.chars().map(fold_char).collect()
    }
}

/// Whether two texts are equal ignoring case.
pub fn equal_ignoring_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars().map(fold_char).eq(b.chars().map(fold_char))
    }
}

/// Every character that folds as `character` does, sorted (the character
/// itself included): the members of its case-insensitive class.
pub fn orbit(character: char) -> Vec<char> {
    let folded = fold_char(character);
    let mut members = simple_orbit(folded);
    if !members.contains(&character) {
        members.push(character);
        members.sort_unstable();
    }
    members
}

/// Whether every member of the character's orbit is ASCII: engines whose
/// case-insensitive matching is ASCII-only agree with the folding on it.
pub fn ascii_orbit(character: char) -> bool {
    orbit(character).iter().all(char::is_ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_simple_case_folding() {
        assert_eq!(fold("ABC xyz"), "abc xyz");
        // The Kelvin sign and the long s fold to ASCII letters.
        assert_eq!(fold("\u{212A}\u{017F}"), "ks");
        assert!(equal_ignoring_case("\u{212A}ey", "KEY"));
        assert!(equal_ignoring_case("\u{017F}ecret", "SECRET"));
        // All three sigmas are one orbit: no context.
        assert!(equal_ignoring_case("ΣΑΣ", "σας"));
        // Dotted and dotless i fold only under Turkish rules: not here.
        assert!(!equal_ignoring_case("\u{0130}", "i"));
        assert!(!equal_ignoring_case("\u{0131}", "i"));
        assert_eq!(fold("\u{0130}x").chars().count(), 2);
        // Full foldings (ß to ss) are not simple foldings.
        assert!(!equal_ignoring_case("straße", "STRASSE"));
        assert!(equal_ignoring_case("straße", "STRA\u{1E9E}E"));
    }

    #[test]
    fn orbits_list_every_case_variant() {
        assert_eq!(orbit('a'), vec!['A', 'a']);
        assert_eq!(orbit('k'), vec!['K', 'k', '\u{212A}']);
        assert_eq!(orbit('\u{212A}'), vec!['K', 'k', '\u{212A}']);
        assert_eq!(orbit('S'), vec!['S', 's', '\u{017F}']);
        assert_eq!(orbit('1'), vec!['1']);
        assert_eq!(orbit('\u{0130}'), vec!['\u{0130}']);
        assert!(ascii_orbit('i'));
        assert!(!ascii_orbit('k'));
        assert!(!ascii_orbit('s'));
        assert!(!ascii_orbit('é'));
    }

    #[test]
    fn the_folding_agrees_with_rust_regex_case_insensitivity() {
        // The evaluator's `/re/i` and its string operators fold alike.
        for code in (0..0x3000).chain(0xA640..0xA800).chain(0x10400..0x10500) {
            let Some(character) = char::from_u32(code) else {
                continue;
            };
            let pattern = format!("(?i)^{}$", regex::escape(&character.to_string()));
            let regex = regex::Regex::new(&pattern).unwrap();
            for member in orbit(character) {
                assert!(
                    regex.is_match(&member.to_string()),
                    "{character:?} {member:?}"
                );
            }
        }
    }
}
