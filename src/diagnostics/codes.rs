//! The registry of diagnostic codes: one line per code, never reused.
//!
//! E01xx syntax, E02xx schema and types, E03xx semantics, E04xx target
//! capability, E05xx inputs (files, CSVs, event lines), W0xxx warnings. Each
//! code's long explanation is `docs/errors/<CODE>.md`, compiled in, so
//! `tripline explain CODE` works offline and the docs site shows the same text.

use serde::{Serialize, Serializer};

use super::Level;

/// A stable diagnostic code such as `E0201`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    /// The code as text.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Its registry entry.
    pub fn info(self) -> &'static CodeInfo {
        REGISTRY
            .iter()
            .find(|info| info.code == self.0)
            .unwrap_or(&REGISTRY[0])
    }

    /// Error or warning.
    pub fn level(self) -> Level {
        self.info().level
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

/// One registry entry.
#[derive(Debug)]
pub struct CodeInfo {
    /// The code.
    pub code: &'static str,
    /// Error or warning.
    pub level: Level,
    /// A short title.
    pub title: &'static str,
    /// The long explanation (Markdown).
    pub explanation: &'static str,
}

/// Looks a code up by its text (case-insensitive).
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    REGISTRY
        .iter()
        .find(|info| info.code.eq_ignore_ascii_case(code.trim()))
}

macro_rules! registry {
    ($( $name:ident = $code:literal, $level:ident, $title:literal; )*) => {
        impl Code {
            $(
                #[doc = $title]
                pub const $name: Code = Code($code);
            )*
        }

        /// Every code, in code order.
        pub static REGISTRY: &[CodeInfo] = &[
            $(
                CodeInfo {
                    code: $code,
                    level: Level::$level,
                    title: $title,
                    explanation: include_str!(concat!("../../docs/errors/", $code, ".md")),
                },
            )*
        ];
    };
}

registry! {
    // E01xx: syntax
    SYNTAX = "E0101", Error, "the rule text does not parse";
    UNTERMINATED = "E0102", Error, "a string, regex or comment is not closed";
    INVALID_LITERAL = "E0103", Error, "a literal is out of range or malformed";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_explained() {
        let mut previous = "";
        for info in REGISTRY {
            assert!(
                info.code > previous,
                "{} out of order or repeated",
                info.code
            );
            previous = info.code;
            assert!(
                info.explanation.trim().len() > 80,
                "{} needs a real explanation",
                info.code
            );
            let warning = info.code.starts_with('W');
            assert_eq!(warning, info.level == Level::Warning, "{}", info.code);
        }
    }
}
