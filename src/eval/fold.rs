//! Case and whitespace folding: the case-insensitive variants of a string
//! slot that the projection computes once per event, and the same
//! transformations for the needles the predicates compare them with.
//!
//! Case-insensitive means Unicode simple case folding (`ir::case`);
//! whitespace folding replaces every run of space, tab, line feed, carriage
//! return, vertical tab and form feed with one space (see the module
//! documentation of [`super`], "Case and whitespace").

use crate::normalize::{is_fold_clean, is_fold_space};

/// A case-insensitive view of a string slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Variant {
    /// Lowercased.
    Lower,
    /// Lowercased, with runs of whitespace folded into one space.
    LowerFolded,
    /// Runs of whitespace folded into one space, case kept.
    Folded,
}

/// Appends the variant of `buffer[start..end]` to the buffer, unless it is
/// the text itself; returns the variant's byte range. ASCII text (the common
/// case) is lowercased and folded in place in the buffer, without allocating;
/// other text takes the Unicode path.
pub(crate) fn push_variant(
    buffer: &mut String,
    start: usize,
    end: usize,
    variant: Variant,
) -> (usize, usize) {
    let source = &buffer.as_bytes()[start..end];
    let lowers = matches!(variant, Variant::Lower | Variant::LowerFolded);
    let folds = matches!(variant, Variant::LowerFolded | Variant::Folded);
    let fold_clean = !folds || is_fold_clean(source);
    let has_upper = lowers && source.iter().any(u8::is_ascii_uppercase);
    if fold_clean && !has_upper && (!lowers || source.is_ascii()) {
        // Already in the form: lowercase ASCII, or nothing to fold.
        return (start, end);
    }
    let begin = buffer.len();
    if fold_clean && source.is_ascii() {
        buffer.extend_from_within(start..end);
        buffer[begin..].make_ascii_lowercase();
        return (begin, buffer.len());
    }
    let transformed = match variant {
        Variant::Lower => lower(&buffer[start..end]),
        Variant::LowerFolded => lower_folded(&buffer[start..end]),
        Variant::Folded => folded(&buffer[start..end]),
    };
    buffer.push_str(&transformed);
    (begin, buffer.len())
}

/// Case-folded (Unicode simple case folding, `ir::case`) without folding
/// whitespace.
pub(crate) fn lower(text: &str) -> String {
    crate::ir::case::fold(text)
}

/// Case-folded (Unicode simple case folding) with every run of whitespace
/// replaced by one space.
pub(crate) fn lower_folded(text: &str) -> String {
    if text.is_ascii() {
        // The same spaces as `is_fold_space`, and ASCII case folding is
        // ASCII lower-casing.
        let mut out = Vec::with_capacity(text.len());
        crate::normalize::lower_fold_ascii(text.as_bytes(), &mut out);
        // Only ASCII bytes were written.
        return String::from_utf8(out).unwrap_or_default();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for character in text.chars() {
        if is_fold_space(character) {
            if !in_space {
                out.push(' ');
                in_space = true;
            }
            continue;
        }
        in_space = false;
        out.push(crate::ir::case::fold_char(character));
    }
    out
}

/// Folds whitespace runs without changing case (`fold_whitespace` on a `_cs` operator).
pub(crate) fn folded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for character in text.chars() {
        if is_fold_space(character) {
            if !in_space {
                out.push(' ');
                in_space = true;
            }
            continue;
        }
        in_space = false;
        out.push(character);
    }
    out
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_collapses_runs_and_lowercases() {
        assert_eq!(
            lower_folded("Print  \t\nYour\r\nInstructions"),
            "print your instructions"
        );
        assert_eq!(lower_folded("  ÉCOLE "), " école ");
        assert_eq!(folded("A  B"), "A B");
        assert_eq!(lower("ÀB"), "àb");
    }

    #[test]
    fn variants_are_aliased_lowered_in_place_or_transformed() {
        let variant = |text: &str, variant: Variant| {
            let mut buffer = format!("<{text}>");
            let (start, end) = push_variant(&mut buffer, 1, 1 + text.len(), variant);
            (buffer[start..end].to_string(), start == 1)
        };
        // Already in the form: the text itself, no copy.
        assert_eq!(variant("abc def", Variant::Lower), ("abc def".into(), true));
        assert_eq!(
            variant("abc def", Variant::LowerFolded),
            ("abc def".into(), true)
        );
        assert_eq!(
            variant("Abc Def", Variant::Folded),
            ("Abc Def".into(), true)
        );
        // ASCII with upper case: lowered in the buffer.
        assert_eq!(
            variant("Abc DEF", Variant::LowerFolded),
            ("abc def".into(), false)
        );
        // Whitespace to fold.
        assert_eq!(variant("a  b\tc", Variant::Folded), ("a b c".into(), false));
        assert_eq!(
            variant("A\r\nB", Variant::LowerFolded),
            ("a b".into(), false)
        );
        assert_eq!(variant("a  b", Variant::Lower), ("a  b".into(), true));
        // Non-ASCII: the Unicode path.
        assert_eq!(
            variant("\u{212A}\u{130}X", Variant::Lower),
            ("k\u{130}x".into(), false)
        );
        assert_eq!(
            variant("\u{212A}", Variant::LowerFolded),
            ("k".into(), false)
        );
        assert_eq!(
            variant("stra\u{df}e", Variant::Lower),
            ("stra\u{df}e".into(), false)
        );
        assert_eq!(
            variant("\u{1E9E}  X", Variant::LowerFolded),
            ("\u{df} x".into(), false)
        );
        assert!(is_fold_clean(b"one two three"));
        assert!(!is_fold_clean(b"one  two"));
        assert!(!is_fold_clean(b"one\x0btwo"));
        assert!(is_fold_clean("caf\u{e9} \u{A0}".as_bytes()));
    }
}
