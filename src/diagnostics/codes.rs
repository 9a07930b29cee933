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
    // E02xx: schema and types
    UNKNOWN_FIELD = "E0201", Error, "unknown field or name";
    FIELD_NOT_ON_EVENT_TYPE = "E0202", Error, "the field is not declared on every event type in scope";
    TYPE_MISMATCH = "E0203", Error, "the operand types do not fit the operator";
    UNKNOWN_EVENT_TYPE = "E0204", Error, "unknown event type";
    UNKNOWN_LIST = "E0205", Error, "unknown list or lookup";
    REGEX_SUBSET = "E0206", Error, "the regex is invalid or outside the common subset";
    LIST_ELEMENT_TYPE = "E0207", Error, "the list's element type does not fit the operator";
    LOOKUP_SHAPE = "E0208", Error, "lookup columns or arity do not match";
    OUTSIDE_ONE_OF = "E0209", Error, "the value is not one of the field's allowed values";
    NOT_BOOL = "E0210", Error, "a filter or condition is not a boolean";
    UNKNOWN_FUNCTION = "E0211", Error, "unknown function";
    FUNCTION_ARGUMENT = "E0212", Error, "a function has the wrong arguments";
    INVALID_VALUE_LITERAL = "E0213", Error, "an address, network or timestamp literal does not parse";
    WRONG_NEEDLES = "E0214", Error, "the operator takes a different kind of operand";
    DECLARED_TYPE = "E0215", Error, "a declared value does not match its declared type";
    // E03xx: semantics
    DUPLICATE_RULE = "E0301", Error, "duplicate rule id";
    DUPLICATE_NAME = "E0302", Error, "duplicate declaration";
    AGGREGATE_OUTSIDE_CONDITION = "E0303", Error, "an aggregate is used outside an alert condition";
    FIELD_OUTSIDE_AGGREGATE = "E0304", Error, "a field is used in a condition outside an aggregate";
    BASELINE_MISUSE = "E0305", Error, "baseline or percentile is used where it has no meaning";
    WINDOW_LENGTH = "E0306", Error, "a window or duration is out of range";
    MISSING_ENTRY = "E0307", Error, "a required entry is missing";
    UNKNOWN_METADATA_KEY = "E0308", Error, "unknown metadata key";
    METADATA_TYPE = "E0309", Error, "a metadata value has the wrong type";
    UNKNOWN_MAPPING = "E0310", Error, "unknown OWASP, ATLAS or ATT&CK id";
    UNKNOWN_PLAYBOOK = "E0311", Error, "unknown playbook";
    UNKNOWN_WORD = "E0312", Error, "unknown severity or category";
    MISSING_SCHEMA = "E0313", Error, "no event types are declared";
    DUPLICATE_KEY = "E0314", Error, "a metadata key is given twice";
    DETECTION_RANGE = "E0315", Error, "a detection setting is out of range";
    GROUP_FIELD_TYPE = "E0316", Error, "a grouping or key field has an unsuitable type";
    DUPLICATE_DASHBOARD_NAME = "E0317", Error, "a dashboard, panel or measure name is given twice";
    VISUAL_MISFIT = "E0318", Error, "a panel's visual does not fit its query";
    PANEL_QUERY = "E0319", Error, "a panel query clause is out of range or out of place";
    MEASURE_NAME = "E0320", Error, "a panel measure has no usable column name";
    CONTEXT_FIELD = "E0321", Error, "a `context` field is out of place, repeated, a group key or not a string";
    // E04xx: target capability
    TARGET_LACKS_CAPABILITY = "E0401", Error, "the target cannot express a detection shape or operator the rule needs";
    TARGET_NO_EXACT_TRANSLATION = "E0402", Error, "a construct has no exact translation in the target's language";
    UNKNOWN_TARGET = "E0403", Error, "unknown target";
    // E05xx: inputs (E0510-E0529 are kept for event-line input errors)
    LOOKUP_FILE = "E0501", Error, "a lookup file is missing or unreadable";
    LOOKUP_HEADER = "E0502", Error, "a lookup file's header does not match its columns";
    LOOKUP_CELL = "E0503", Error, "a lookup cell does not parse as its column type";
    OVERRIDE_VALUE = "E0504", Error, "an override value does not fit its declaration";
    UNKNOWN_OVERRIDE = "E0505", Error, "an override names nothing declared";
    PARAM_RANGE = "E0506", Error, "a parameter's value is out of the range its use in a rule needs";
    // E051x: event input (evaluator)
    EVENT_NOT_JSON = "E0510", Error, "an event line is not a JSON object";
    EVENT_FIELD_TYPE = "E0511", Error, "an event field does not have its declared type";
    EVENT_TIMESTAMP = "E0512", Error, "an event has no valid timestamp";
    EVENT_TYPE_MISSING = "E0513", Error, "an event has no event_type";
    EVENT_REQUIRED_FIELD = "E0514", Error, "an event lacks a required field";
    EVENT_TOO_LATE = "E0515", Error, "an event is further out of order than the lateness allows";
    EVENT_INPUT_UNREADABLE = "E0516", Error, "an events file cannot be read";
    EVENT_UNKNOWN_RULE = "E0517", Error, "a rule selected for evaluation does not exist";
    EVENT_RULE_UNSUPPORTED = "E0518", Error, "a rule cannot be evaluated";
    EVENT_LINE_TOO_LONG = "E0519", Error, "an event line is longer than the line limit";
    // E053x: paths, configuration and test files (project loading)
    INPUT_PATH = "E0530", Error, "a path cannot be read";
    CONFIG = "E0531", Error, "the content repository configuration is invalid";
    TEST_FILE = "E0532", Error, "a test case file is invalid";
    // W0xxx: warnings
    NO_GUIDE = "W0001", Warning, "the rule has no investigation guide";
    UNUSED_LIST = "W0002", Warning, "a list or lookup is never used";
    EMPTY_LIST = "W0003", Warning, "a string operator tests against no strings";
    UNUSED_PARAM = "W0004", Warning, "a parameter is never used";
    EMPTY_FILE = "W0005", Warning, "a rule file declares nothing";
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
