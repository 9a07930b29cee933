//! Words shared by the library's human-readable reports.

/// `s` when `count` is not 1.
pub fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
