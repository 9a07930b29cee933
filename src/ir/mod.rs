//! The intermediate representation: what a checked rule means, target-neutral.
//!
//! Input: produced by [`crate::check`] from the AST. Output: read by the
//! evaluator and by every target, and printed by `tripline ir`. Names are
//! resolved, every expression is typed, parameters carry their effective
//! value, and each node keeps the [`Origin`] of the rule text it came from.
//! Nothing here depends on a target: targets read this and decide.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod attack;
pub mod case;
pub mod dashboard;
mod display;
mod expr;
pub mod fingerprint;
mod needs;
pub mod network;
mod params;
pub mod regex;

pub use display::{duration_text, shape_name};
pub use expr::*;
pub use needs::{Need, needs, needs_with_origins};

/// The default learning period, 24 hours: `tripline eval --learn` and every
/// compiled query.
pub const DEFAULT_LEARN_MS: i64 = 24 * 60 * 60 * 1000;

/// A whole checked rule pack: the schema, the shared content and the rules.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pack {
    /// The event schema.
    pub schema: Schema,
    /// Named lists.
    pub lists: BTreeMap<String, List>,
    /// Lookups with their rows loaded.
    pub lookups: BTreeMap<String, Lookup>,
    /// Parameters with their effective values.
    pub params: BTreeMap<String, Param>,
    /// Playbooks.
    pub playbooks: BTreeMap<String, Playbook>,
    /// Rules, sorted by id.
    pub rules: Vec<Rule>,
    /// Dashboards, sorted by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dashboards: Vec<dashboard::Dashboard>,
}

impl Pack {
    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }
}

/// Value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Text.
    String,
    /// Signed 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// Boolean.
    Bool,
    /// IP address (written as text in events).
    Ip,
    /// RFC 3339 instant.
    Timestamp,
    /// Length of time.
    Duration,
    /// Regular expression.
    Regex,
}

impl ValueType {
    /// The name used in rule text and messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Ip => "ip",
            ValueType::Timestamp => "timestamp",
            ValueType::Duration => "duration",
            ValueType::Regex => "regex",
        }
    }

    /// Whether the type is `int` or `float`.
    pub fn is_numeric(self) -> bool {
        matches!(self, ValueType::Int | ValueType::Float)
    }
}

/// A constant value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Text.
    String(String),
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// Duration in milliseconds.
    DurationMs(i64),
    /// A regex in the common subset.
    Regex(Regex),
}

impl Value {
    /// The value as a float, for numbers.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(value) => Some(*value as f64),
            Value::Float(value) => Some(*value),
            _ => None,
        }
    }
}

/// A regular expression in the subset every target engine accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regex {
    /// The pattern as written (no delimiters).
    pub pattern: String,
    /// The `i` flag.
    pub case_insensitive: bool,
}

/// The entity fields a `match` rule's alert is keyed by when the event
/// types declare them ([`Schema::match_key`]): the conversation, the end
/// user and the API key.
pub const MATCH_KEY_FIELDS: [&str; 3] = ["session_id", "user_id", "api_key_id"];

/// The event schema.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Schema {
    /// Fields every event type carries.
    pub common: Vec<Field>,
    /// Event types by name, each with its own fields (not the common ones).
    pub events: BTreeMap<String, EventType>,
}

impl Schema {
    /// The type of `field` on `event_type`, looking at common fields too.
    pub fn field(&self, event_type: &str, field: &str) -> Option<&Field> {
        self.common
            .iter()
            .find(|candidate| candidate.name == field)
            .or_else(|| {
                self.events
                    .get(event_type)?
                    .fields
                    .iter()
                    .find(|candidate| candidate.name == field)
            })
    }

    /// The key fields of a `match` rule over `event_types`: of the entities
    /// an analyst pivots on ([`MATCH_KEY_FIELDS`]), those declared as
    /// strings on every one of the types, in that order. A match alert
    /// carries the event's values of them in its `group`, as a window alert
    /// carries its group's.
    pub fn match_key(&self, event_types: &[String]) -> Vec<String> {
        MATCH_KEY_FIELDS
            .iter()
            .filter(|name| {
                !event_types.is_empty()
                    && event_types.iter().all(|event_type| {
                        self.field(event_type, name)
                            .is_some_and(|field| field.value_type == ValueType::String)
                    })
            })
            .map(|name| name.to_string())
            .collect()
    }

    /// A type other than string that `field` has on one of `event_types`:
    /// why a string operator on it is refused.
    pub fn non_string_type(&self, event_types: &[String], field: &str) -> Option<ValueType> {
        event_types
            .iter()
            .filter_map(|event_type| self.field(event_type, field))
            .map(|declared| declared.value_type)
            .find(|value_type| *value_type != ValueType::String)
    }

    /// Event types that declare `field` themselves (not common fields).
    pub fn event_types_with(&self, field: &str) -> Vec<&str> {
        self.events
            .values()
            .filter(|event| event.fields.iter().any(|candidate| candidate.name == field))
            .map(|event| event.name.as_str())
            .collect()
    }
}

/// One event type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventType {
    /// The `event_type` value.
    pub name: String,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Its own fields.
    pub fields: Vec<Field>,
}

/// A field of the schema or a column of a lookup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Field {
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// Whether every event must carry it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The allowed values, for an enumerated string field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

/// A named list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct List {
    /// Name.
    pub name: String,
    /// Element type.
    pub element_type: ValueType,
    /// Values, in declaration order (then content-repo extensions).
    pub values: Vec<Value>,
    /// A regex list declared `case_insensitive`: every value, extensions
    /// included, has the `i` flag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub case_insensitive: bool,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

/// A lookup table with its rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lookup {
    /// Name.
    pub name: String,
    /// The CSV file the rows were read from.
    pub file: String,
    /// Typed columns in CSV order.
    pub columns: Vec<Field>,
    /// Rows, one value per column (empty cells are empty strings or absent numbers).
    pub rows: Vec<Vec<Value>>,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

impl Lookup {
    /// Index of a column.
    pub fn column_index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|field| field.name == column)
    }
}

/// A parameter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// The value declared in the rule file.
    pub default: Value,
    /// The value in effect (the default unless overridden).
    pub value: Value,
    /// Doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

/// A response playbook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Playbook {
    /// Name, as rules reference it.
    pub name: String,
    /// Title.
    pub title: String,
    /// What triggers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// The body, Markdown.
    pub guide: String,
}

/// Where a node came from in rule text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
    /// Byte offset of the start in the rule's file.
    pub start: u32,
    /// Byte offset of the end.
    pub end: u32,
}

/// Severity, which also sets the default schedule and review deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Weekly review.
    Low,
    /// Within 24 hours.
    Medium,
    /// Same day.
    High,
}

impl Severity {
    /// The word used in rule text.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// How an alert is triaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Like any web API event.
    Infrastructure,
    /// Needs the triggering input read.
    LlmAttack,
    /// Needs logs and outputs read.
    Behavioral,
}

impl Category {
    /// The word used in rule text.
    pub fn name(self) -> &'static str {
        match self {
            Category::Infrastructure => "infrastructure",
            Category::LlmAttack => "llm_attack",
            Category::Behavioral => "behavioral",
        }
    }
}

/// Rule metadata, checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    /// One-line title.
    pub title: String,
    /// What the rule detects and why it matters.
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// Triage category.
    pub category: Category,
    /// OWASP Top 10 for LLM Applications 2025 ids (`LLM01`..`LLM10`).
    pub owasp: Vec<String>,
    /// MITRE ATLAS technique ids.
    pub atlas: Vec<String>,
    /// ATT&CK tactics (Sentinel spelling, such as `CredentialAccess`).
    pub attack: Vec<String>,
    /// The playbook the alert belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<String>,
    /// Known benign causes.
    pub false_positives: Vec<String>,
    /// Further reading.
    pub references: Vec<String>,
    /// The alert queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// How often the compiled rule runs, in milliseconds.
    pub schedule_ms: i64,
    /// Investigation guide, Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guide: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Rule version.
    pub version: i64,
    /// Free-form tags.
    pub tags: Vec<String>,
}

/// A checked rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    /// Dotted id, stable across versions.
    pub id: String,
    /// The file that declares it.
    pub file: String,
    /// Where the rule starts.
    pub origin: Origin,
    /// Metadata.
    pub metadata: Metadata,
    /// What it detects.
    pub detection: Detection,
    /// Every event type the rule reads, sorted.
    pub event_types: Vec<String>,
    /// Every field the rule reads, sorted (for projection and `required_fields`).
    pub fields: Vec<String>,
    /// Parameters, lists and lookups the rule uses, sorted.
    pub uses: Uses,
}

impl Rule {
    /// Where a refusal of the rule's `context` clause points: the clause,
    /// or the rule when it has none.
    pub fn context_origin(&self) -> Origin {
        match &self.detection {
            Detection::Window {
                context_origin: Some(origin),
                ..
            } => *origin,
            _ => self.origin,
        }
    }
}

/// Named content a rule depends on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Uses {
    /// Parameters.
    pub params: Vec<String>,
    /// Lists.
    pub lists: Vec<String>,
    /// Lookups.
    pub lookups: Vec<String>,
}

/// Which events a detection (or a sequence step) reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    /// Accepted event types.
    pub event_types: Vec<String>,
    /// Filter; absent means every event of those types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Expr>,
}

/// The detection shapes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Detection {
    /// One alert per matching event.
    Match {
        /// Events read.
        source: Source,
    },
    /// Aggregate per group in tumbling, epoch-aligned windows, then test a
    /// condition (threshold, baseline or percentile, by what the condition uses).
    Window {
        /// Events read.
        source: Source,
        /// Grouping sets: each inner list is one grouping that alerts on its
        /// own; one empty list means a single global group.
        groupings: Vec<Vec<String>>,
        /// Window length in milliseconds.
        window_ms: i64,
        /// The alert condition, a boolean over aggregates.
        condition: Expr,
        /// `context`: string fields whose sorted distinct non-null values the
        /// alert carries per group and window.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        context: Vec<String>,
        /// Where the `context` clause was written, when it was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context_origin: Option<Origin>,
    },
    /// A value of `values` not seen for `key` during the lookback.
    NewValue {
        /// Events read.
        source: Source,
        /// Fields whose combination must be new.
        values: Vec<String>,
        /// The key history is kept per.
        key: Vec<String>,
        /// History length in milliseconds.
        lookback_ms: i64,
    },
    /// Values of a text field grouped by their near-duplicate fingerprint
    /// ([`fingerprint`]) within a window.
    Cluster {
        /// Events read.
        source: Source,
        /// The clustered text field.
        field: String,
        /// The word-set Jaccard similarity near which the fingerprint's
        /// S-curve rises (see [`fingerprint::Sketch::for_similarity`]).
        similarity: f64,
        /// Values shorter than this many characters are ignored.
        min_length: i64,
        /// Window length in milliseconds.
        window_ms: i64,
        /// The alert condition over each fingerprint's aggregates.
        condition: Expr,
    },
    /// Ordered steps sharing a key within a span.
    Sequence {
        /// The key fields.
        by: Vec<String>,
        /// Maximum time from the first to the last event, in milliseconds.
        within_ms: i64,
        /// The steps in order.
        steps: Vec<Step>,
    },
}

/// A sequence step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// Events the step accepts.
    pub source: Source,
    /// How many events the step needs (1 unless `repeat >= N`).
    pub repeat: u32,
}
