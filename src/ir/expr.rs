//! Typed expressions of the IR: operators, aggregates and the expression
//! nodes the checker builds and every consumer reads.

use super::*;

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
