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
pub mod fingerprint;
mod needs;
pub mod network;
mod params;
pub mod regex;

pub use display::{duration_text, shape_name};
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

/// A typed expression.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Expr {
    /// The node.
    #[serde(flatten)]
    pub kind: ExprKind,
    /// Its type.
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// Where it was written.
    pub origin: Origin,
}

/// Comparison operators on numbers, timestamps, booleans and IPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `<`
    Less,
    /// `<=`
    LessEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterEqual,
}

impl CompareOp {
    /// The operator as rule text writes it; the query languages of every
    /// target spell comparisons the same way.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Equal => "==",
            CompareOp::NotEqual => "!=",
            CompareOp::Less => "<",
            CompareOp::LessEqual => "<=",
            CompareOp::Greater => ">",
            CompareOp::GreaterEqual => ">=",
        }
    }
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArithmeticOp {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`: division by zero gives no value (the comparison is then false).
    Divide,
}

/// String operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextOp {
    /// Whole value equals a needle (`==`, `in`).
    Equals,
    /// Value contains a needle.
    Contains,
    /// Value starts with a needle.
    StartsWith,
    /// Value ends with a needle.
    EndsWith,
}

/// Where the needle strings of a text operator come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StringSet {
    /// Literals written in the rule.
    Literals(Vec<String>),
    /// A named list of [`Pack::lists`].
    List(String),
    /// Every value of one column of a lookup.
    LookupColumn {
        /// Lookup name.
        lookup: String,
        /// Column.
        column: String,
    },
    /// The values of `column` in the rows of `lookup` whose key columns equal
    /// the given fields of the event.
    NarrowedLookup {
        /// Lookup name.
        lookup: String,
        /// `(column, field)` pairs that select rows.
        keys: Vec<(String, String)>,
        /// The column whose values are the needles.
        column: String,
    },
}

/// Where the patterns of `matches` come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegexSet {
    /// One literal.
    Literal(Regex),
    /// A named regex list.
    List(String),
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateFunction {
    /// Number of events.
    Count,
    /// Number of distinct non-missing values of the field.
    Distinct,
    /// Sum of the field (missing values skipped; 0 for none).
    Sum,
    /// Mean of the field (no value when there is none).
    Avg,
    /// Minimum of the field.
    Min,
    /// Maximum of the field.
    Max,
}

impl AggregateFunction {
    /// The function name in rule text.
    pub fn name(self) -> &'static str {
        match self {
            AggregateFunction::Count => "count",
            AggregateFunction::Distinct => "distinct",
            AggregateFunction::Sum => "sum",
            AggregateFunction::Avg => "avg",
            AggregateFunction::Min => "min",
            AggregateFunction::Max => "max",
        }
    }
}

/// Expression nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum ExprKind {
    /// A constant.
    Literal {
        /// The value.
        value: Value,
    },
    /// A field of the event.
    Field {
        /// Field name.
        name: String,
    },
    /// `norm(field)`: the normalised companion `companion` when the event
    /// has it, otherwise the field's text normalised on the fly (see
    /// `crate::normalize`). Targets read the companion when present and the
    /// raw field otherwise, and expect events normalised at ingest.
    Norm {
        /// The raw text field (`user_input`).
        field: String,
        /// Its companion (`user_input_norm`).
        companion: String,
    },
    /// A parameter, with its effective value.
    Param {
        /// Parameter name.
        name: String,
        /// The value in effect.
        value: Value,
    },
    /// Logical negation: true when the operand is false, including when a
    /// comparison inside it was false because a field was missing.
    Not {
        /// Operand.
        operand: Box<Expr>,
    },
    /// All operands true.
    And {
        /// Operands.
        operands: Vec<Expr>,
    },
    /// Any operand true.
    Or {
        /// Operands.
        operands: Vec<Expr>,
    },
    /// The field is present and not null.
    Exists {
        /// Field name.
        field: String,
    },
    /// Numeric, timestamp, boolean or IP comparison; false when a side has no value.
    Compare {
        /// Operator.
        op: CompareOp,
        /// Left.
        left: Box<Expr>,
        /// Right.
        right: Box<Expr>,
    },
    /// Arithmetic on numbers.
    Arithmetic {
        /// Operator.
        op: ArithmeticOp,
        /// Left.
        left: Box<Expr>,
        /// Right.
        right: Box<Expr>,
    },
    /// A string operator against a set of needles: true when any needle
    /// matches (`negated`: when none does). False when the subject is missing,
    /// negated or not. Case-insensitive unless `case_sensitive`; when
    /// `fold_whitespace`, runs of whitespace in subject and needles compare as
    /// one space.
    Text {
        /// Operator.
        op: TextOp,
        /// Exact case.
        case_sensitive: bool,
        /// Fold runs of whitespace.
        fold_whitespace: bool,
        /// `not in`, `!=`, `not contains`...
        negated: bool,
        /// The string tested.
        subject: Box<Expr>,
        /// The needles.
        needles: StringSet,
    },
    /// Regex search (unanchored) against one or more patterns.
    Matches {
        /// `not matches`.
        negated: bool,
        /// The string tested.
        subject: Box<Expr>,
        /// The patterns.
        patterns: RegexSet,
    },
    /// Membership of a number or boolean in literal values.
    InValues {
        /// `not in`.
        negated: bool,
        /// The value tested.
        subject: Box<Expr>,
        /// The values.
        values: Vec<Value>,
    },
    /// The subject parses as an IP address inside one of the networks.
    InCidr {
        /// `not in`.
        negated: bool,
        /// The address tested (an `ip` or `string` field).
        subject: Box<Expr>,
        /// Networks in CIDR notation.
        networks: Vec<String>,
    },
    /// The tuple of subjects is a row of the lookup's columns (strings compare
    /// case-insensitively unless `case_sensitive`).
    InLookup {
        /// `not in`.
        negated: bool,
        /// Exact case.
        case_sensitive: bool,
        /// The values tested, one per column.
        subjects: Vec<Expr>,
        /// Lookup name.
        lookup: String,
        /// Columns, one per subject.
        columns: Vec<String>,
    },
    /// An aggregate over the events of the group and window.
    Aggregate {
        /// Function.
        function: AggregateFunction,
        /// Field argument (absent for `count`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        /// Only events passing this filter count.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<Box<Expr>>,
        /// The text as written, used to name the value in alerts.
        label: String,
    },
    /// The mean of `aggregate` over the group's own earlier windows within the
    /// lookback (windows where it has no value are skipped).
    Baseline {
        /// The aggregate expression averaged.
        aggregate: Box<Expr>,
        /// History length in milliseconds.
        lookback_ms: i64,
        /// The text as written.
        label: String,
    },
    /// The percentile (linear interpolation between closest ranks) of
    /// `aggregate` across all groups of the same window.
    Percentile {
        /// The aggregate ranked.
        aggregate: Box<Expr>,
        /// Percentile, 0..=100.
        percentile: f64,
        /// The text as written.
        label: String,
    },
}
