use super::*;

#[test]
fn strings_escape_quotes_backslashes_and_controls() {
    assert_eq!(eql_string("plain"), "\"plain\"");
    assert_eq!(eql_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert_eq!(eql_string("a\nb\tc\r"), "\"a\\nb\\tc\\r\"");
    assert_eq!(
        eql_string("\u{0B}\u{0C}\u{7F}"),
        "\"\\u{0B}\\u{0C}\\u{7F}\""
    );
    assert_eq!(eql_string("école"), "\"école\"");
}

#[test]
fn a_hostile_value_stays_one_string() {
    let quoted = eql_string("a\" or true or \"");
    assert_eq!(quoted, "\"a\\\" or true or \\\"\"");
    // Exactly two unescaped quotes: the string's own.
    let mut unescaped = 0;
    let mut escaped = false;
    for character in quoted.chars() {
        match (escaped, character) {
            (false, '\\') => escaped = true,
            (false, '"') => unescaped += 1,
            _ => escaped = false,
        }
    }
    assert_eq!(unescaped, 2);
    let tricky = eql_string("x\\\" or true //");
    assert!(tricky.ends_with("//\""));
    assert!(tricky.contains("\\\\\\\""));
}

#[test]
fn field_references_quote_what_is_not_a_plain_path() {
    assert_eq!(field_reference("user.id"), "user.id");
    assert_eq!(
        field_reference("tripline.event_type"),
        "tripline.event_type"
    );
    assert_eq!(field_reference("@timestamp"), "`@timestamp`");
    assert_eq!(field_reference("tripline.in"), "`tripline.in`");
    assert_eq!(field_reference("a`b"), "`a``b`");
    assert_eq!(field_reference("x or true"), "`x or true`");
}
