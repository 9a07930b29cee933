//! The abstract syntax tree: what a rule file says, with a span on every node.
//!
//! Built by [`crate::syntax::parse`] from pest pairs; read by the checker. No
//! name is resolved and no type is known yet: `ident` in an expression may be a
//! field or a parameter, and the checker decides.

use crate::source::Span;

/// A name with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    /// The name as written.
    pub text: String,
    /// Where.
    pub span: Span,
}

/// One parsed file.
#[derive(Debug, Clone, Default)]
pub struct File {
    /// Declarations in file order.
    pub declarations: Vec<Declaration>,
}

/// A top-level declaration with its doc comment (`///` lines above it).
#[derive(Debug, Clone)]
pub struct Declaration {
    /// Text of the `///` lines directly above, joined with newlines.
    pub doc: Option<String>,
    /// The whole declaration.
    pub span: Span,
    /// What is declared.
    pub kind: DeclarationKind,
}

/// The kinds of declaration.
// Declarations are built once per file and never copied on a hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum DeclarationKind {
    /// `common { ... }`: fields every event type carries.
    Common(Vec<FieldDecl>),
    /// `event NAME { ... }`.
    Event(EventDecl),
    /// `list NAME: TYPE = [...]`.
    List(ListDecl),
    /// `lookup NAME { file: ..., columns: { ... } }`.
    Lookup(LookupDecl),
    /// `param NAME: TYPE = VALUE`.
    Param(ParamDecl),
    /// `playbook NAME { key: value ... }`.
    Playbook(PlaybookDecl),
    /// `rule ID { metadata detection }`.
    Rule(RuleDecl),
    /// `dashboard ID { metadata panels }`.
    Dashboard(DashboardDecl),
}

/// A type written in a declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeName {
    /// Text.
    String,
    /// Signed 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// `true` or `false`.
    Bool,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An RFC 3339 instant.
    Timestamp,
    /// A length of time.
    Duration,
    /// A regular expression.
    Regex,
}

/// `name: type [required] [one_of [...]]`.
#[derive(Debug, Clone)]
pub struct FieldDecl {
    /// Field name.
    pub name: Name,
    /// Declared type.
    pub type_name: TypeName,
    /// Where the type was written.
    pub type_span: Span,
    /// Whether every event must carry it.
    pub required: bool,
    /// The allowed values of a string field, if restricted.
    pub one_of: Option<Vec<StringLiteral>>,
    /// Doc comment.
    pub doc: Option<String>,
    /// The whole field declaration.
    pub span: Span,
}

/// `event NAME { fields }`.
#[derive(Debug, Clone)]
pub struct EventDecl {
    /// Event type name (the value of `event_type`).
    pub name: Name,
    /// Its own fields (the common fields are added by the checker).
    pub fields: Vec<FieldDecl>,
}

/// `list NAME: TYPE = [values]`.
#[derive(Debug, Clone)]
pub struct ListDecl {
    /// List name.
    pub name: Name,
    /// Element type (`string` or `regex`, or a number type).
    pub element_type: TypeName,
    /// Where the element type was written.
    pub type_span: Span,
    /// The values.
    pub values: Vec<Literal>,
    /// `case_insensitive` after the element type: every regex as if written `/.../i`.
    pub case_insensitive: Option<Span>,
}

/// `lookup NAME { file: "...", columns: { ... } }`.
#[derive(Debug, Clone)]
pub struct LookupDecl {
    /// Lookup name.
    pub name: Name,
    /// The CSV file, relative to the declaring file's directory.
    pub file: Option<StringLiteral>,
    /// The typed columns, in CSV header order.
    pub columns: Vec<FieldDecl>,
}

/// `param NAME: TYPE = DEFAULT`.
#[derive(Debug, Clone)]
pub struct ParamDecl {
    /// Parameter name.
    pub name: Name,
    /// Declared type.
    pub type_name: TypeName,
    /// Where the type was written.
    pub type_span: Span,
    /// Default value.
    pub default: Literal,
}

/// `playbook NAME { key: value ... }`.
#[derive(Debug, Clone)]
pub struct PlaybookDecl {
    /// Playbook name, referenced by rules.
    pub name: Name,
    /// Its entries (`title`, `trigger`, `guide`, ...).
    pub metadata: Vec<Metadata>,
}

/// `rule ID { ... }`.
#[derive(Debug, Clone)]
pub struct RuleDecl {
    /// Dotted rule id.
    pub id: Name,
    /// Metadata entries in the order written.
    pub metadata: Vec<Metadata>,
    /// What the rule detects.
    pub detection: Detection,
}

/// `dashboard ID { ... }`.
#[derive(Debug, Clone)]
pub struct DashboardDecl {
    /// Dotted dashboard id.
    pub id: Name,
    /// Metadata entries in the order written.
    pub metadata: Vec<Metadata>,
    /// Panels in the order written.
    pub panels: Vec<PanelDecl>,
}

/// `panel ID { metadata query metadata }`.
#[derive(Debug, Clone)]
pub struct PanelDecl {
    /// Panel id, unique within its dashboard.
    pub id: Name,
    /// Metadata entries in the order written.
    pub metadata: Vec<Metadata>,
    /// What the panel shows.
    pub query: PanelQuery,
    /// The whole panel.
    pub span: Span,
}

/// What a panel shows.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum PanelQuery {
    /// `match TYPES [where EXPR] [group by KEYS] [every D] show MEASURES [top N]`.
    Events(EventsQuery),
    /// `show alerts by rule [every D]`.
    Alerts {
        /// `every D`.
        every: Option<Duration>,
        /// The whole query.
        span: Span,
    },
}

/// A panel query over events.
#[derive(Debug, Clone)]
pub struct EventsQuery {
    /// Event types after `match`.
    pub event_types: Vec<Name>,
    /// The `where` filter.
    pub filter: Option<Expr>,
    /// `group by` keys in the order written (empty without `group by`).
    pub group_by: Vec<GroupKey>,
    /// `every D`.
    pub every: Option<Duration>,
    /// `show` measures in the order written.
    pub measures: Vec<MeasureDecl>,
    /// `top N` with where `N` was written.
    pub top: Option<(i64, Span)>,
    /// The whole query.
    pub span: Span,
}

/// A `group by` key of a panel.
#[derive(Debug, Clone)]
pub enum GroupKey {
    /// A field.
    Field(Name),
    /// `bin(FIELD, SIZE)`.
    Bin {
        /// The field.
        field: Name,
        /// The width of a range.
        size: f64,
        /// Where the size was written.
        size_span: Span,
        /// The whole key.
        span: Span,
    },
}

impl GroupKey {
    /// Where the key was written.
    pub fn span(&self) -> Span {
        match self {
            GroupKey::Field(name) => name.span,
            GroupKey::Bin { span, .. } => *span,
        }
    }
}

/// `EXPR [as NAME]` after `show`.
#[derive(Debug, Clone)]
pub struct MeasureDecl {
    /// The value.
    pub expr: Expr,
    /// `as NAME`.
    pub name: Option<Name>,
    /// The whole measure.
    pub span: Span,
}

/// `key: value` in a rule or playbook.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// The key.
    pub key: Name,
    /// The value.
    pub value: MetadataValue,
    /// The whole entry.
    pub span: Span,
}

/// A metadata value.
#[derive(Debug, Clone)]
pub enum MetadataValue {
    /// A string (plain or triple-quoted; triple-quoted text is dedented).
    String(StringLiteral),
    /// A bare word such as `high` or a playbook name.
    Word(Name),
    /// An ATLAS technique id such as `AML.T0051.000`.
    AtlasId(Name),
    /// An integer.
    Integer(i64, Span),
    /// A float.
    Float(f64, Span),
    /// A duration.
    Duration(Duration),
    /// `true` / `false`.
    Bool(bool, Span),
    /// `[...]`.
    List(Vec<MetadataValue>, Span),
}

impl MetadataValue {
    /// Where the value was written.
    pub fn span(&self) -> Span {
        match self {
            MetadataValue::String(string) => string.span,
            MetadataValue::Word(name) | MetadataValue::AtlasId(name) => name.span,
            MetadataValue::Integer(_, span)
            | MetadataValue::Float(_, span)
            | MetadataValue::Bool(_, span)
            | MetadataValue::List(_, span) => *span,
            MetadataValue::Duration(duration) => duration.span,
        }
    }
}

/// A string literal after unescaping.
#[derive(Debug, Clone, PartialEq)]
pub struct StringLiteral {
    /// The value.
    pub value: String,
    /// Where it was written, quotes included.
    pub span: Span,
}

/// A duration literal such as `10m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duration {
    /// Length in milliseconds.
    pub millis: i64,
    /// Where.
    pub span: Span,
}

/// A regex literal `/body/flags`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegexLiteral {
    /// The pattern between the slashes, `\/` unescaped to `/`.
    pub pattern: String,
    /// Whether the `i` flag was given.
    pub case_insensitive: bool,
    /// Where.
    pub span: Span,
}

/// `near(A, B, N)`: a regex that finds `A`, then `B` with at most `N`
/// words between them (each part a regex literal or another `near`).
#[derive(Debug, Clone, PartialEq)]
pub struct NearLiteral {
    /// What comes first.
    pub first: Box<Literal>,
    /// What follows.
    pub second: Box<Literal>,
    /// The most words between them.
    pub gap: i64,
    /// Where the gap was written.
    pub gap_span: Span,
    /// The whole `near(...)`.
    pub span: Span,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `"text"`.
    String(StringLiteral),
    /// `42`.
    Integer(i64, Span),
    /// `0.8`.
    Float(f64, Span),
    /// `true`.
    Bool(bool, Span),
    /// `10m`.
    Duration(Duration),
    /// `/re/`.
    Regex(RegexLiteral),
    /// `near(/a/, /b/, 3)`, a regex.
    Near(NearLiteral),
}

impl Literal {
    /// Where the literal was written.
    pub fn span(&self) -> Span {
        match self {
            Literal::String(string) => string.span,
            Literal::Integer(_, span) | Literal::Float(_, span) | Literal::Bool(_, span) => *span,
            Literal::Duration(duration) => duration.span,
            Literal::Regex(regex) => regex.span,
            Literal::Near(near) => near.span,
        }
    }
}

/// What a rule detects.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Detection {
    /// `match TYPES [where EXPR] [...]`.
    Match(MatchDetection),
    /// `sequence by KEYS within D { steps }`.
    Sequence(SequenceDetection),
}

/// `match` with its optional aggregation tail.
#[derive(Debug, Clone)]
pub struct MatchDetection {
    /// Event types after `match`.
    pub event_types: Vec<Name>,
    /// The `where` filter.
    pub filter: Option<Expr>,
    /// What follows the filter, if anything.
    pub tail: MatchTail,
    /// `context f1, f2`: fields whose distinct values a window alert carries.
    pub context: Vec<Name>,
    /// Where `context ...` was written, if it was.
    pub context_span: Option<Span>,
    /// The whole detection.
    pub span: Span,
}

/// What follows `match ... where ...`.
#[derive(Debug, Clone)]
pub enum MatchTail {
    /// Nothing: one alert per matching event.
    None,
    /// `[group by ...] within D alert when EXPR`.
    Window {
        /// The grouping.
        grouping: Grouping,
        /// Window length.
        within: Duration,
        /// The alert condition.
        condition: Expr,
    },
    /// `new FIELDS for KEYS lookback D`.
    NewValue {
        /// The fields whose new values alert.
        values: Vec<Name>,
        /// The key the history is kept for.
        key: Vec<Name>,
        /// How far back history reaches.
        lookback: Duration,
    },
    /// `cluster FIELD similarity >= X [min_length N] within D alert when EXPR`.
    Cluster {
        /// The text field clustered.
        field: Name,
        /// Minimum similarity for two values to share a cluster.
        similarity: f64,
        /// Where the similarity was written.
        similarity_span: Span,
        /// Values shorter than this (in characters) are ignored.
        min_length: Option<(i64, Span)>,
        /// Window length.
        within: Duration,
        /// The alert condition.
        condition: Expr,
    },
}

/// `group by ...`.
#[derive(Debug, Clone)]
pub enum Grouping {
    /// No `group by`: one group for the window.
    Global(Span),
    /// `group by a, b`.
    Fields(Vec<Name>),
    /// `group by each (a), (b, c)`: independent groupings.
    Sets(Vec<Vec<Name>>),
}

/// `sequence by KEYS within D { steps }`.
#[derive(Debug, Clone)]
pub struct SequenceDetection {
    /// The key every step shares.
    pub by: Vec<Name>,
    /// Maximum time from the first to the last step.
    pub within: Duration,
    /// Ordered steps.
    pub steps: Vec<Step>,
    /// The whole detection.
    pub span: Span,
}

/// One step of a sequence.
#[derive(Debug, Clone)]
pub struct Step {
    /// Event types this step accepts.
    pub event_types: Vec<Name>,
    /// Its filter.
    pub filter: Option<Expr>,
    /// `repeat >= N`: events needed for this step.
    pub repeat: Option<(i64, Span)>,
    /// The whole step.
    pub span: Span,
}

/// An expression node with its span.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithmeticOp {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
}

/// The substring family of string operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    /// `contains`, `has_any`.
    Contains,
    /// `startswith`, `startswith_any`.
    StartsWith,
    /// `endswith`, `endswith_any`.
    EndsWith,
}

/// The needles of a string or membership operator.
#[derive(Debug, Clone)]
pub enum Needles {
    /// One string literal: `contains "x"`.
    String(StringLiteral),
    /// A list literal: `in ["a", "b"]`.
    Literals(Vec<Literal>, Span),
    /// A named list, a lookup, or a lookup column, possibly narrowed:
    /// `egress_allowlist`, `tool_path_allowlist.path_prefix`,
    /// `system_prompt_markers[app].marker`.
    Source(NeedleSource),
    /// `cidr("10.0.0.0/8", ...)`.
    Cidr(Vec<StringLiteral>, Span),
    /// `lookup.(col1, col2)`: the named columns of a lookup, for tuples.
    Columns {
        /// The lookup.
        lookup: Name,
        /// Its columns.
        columns: Vec<Name>,
        /// The whole reference.
        span: Span,
    },
    /// A regex literal for `matches`.
    Regex(RegexLiteral),
    /// `near(...)` for `matches`.
    Near(NearLiteral),
}

/// `name[key == field, ...].column`.
#[derive(Debug, Clone)]
pub struct NeedleSource {
    /// List or lookup name.
    pub name: Name,
    /// `[column == field, ...]`; a lone name means the column and the field share it.
    pub narrowing: Vec<(Name, Name)>,
    /// `.column`.
    pub column: Option<Name>,
    /// The whole reference.
    pub span: Span,
}

/// Expression kinds.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// A literal.
    Literal(Literal),
    /// A name: a field or a parameter.
    Name(Name),
    /// `(a, b)`, only valid before `in`.
    Tuple(Vec<Name>),
    /// `f(args)` or `f(where expr)`.
    Call {
        /// Function name.
        function: Name,
        /// Positional arguments.
        arguments: Vec<Expr>,
        /// `where` filter argument.
        filter: Option<Box<Expr>>,
    },
    /// `not e`.
    Not(Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `exists f`.
    Exists(Name),
    /// `a OP b`.
    Compare {
        /// Operator.
        op: CompareOp,
        /// Where the operator was written.
        op_span: Span,
        /// Left side.
        left: Box<Expr>,
        /// Right side.
        right: Box<Expr>,
    },
    /// `a + b` etc.
    Arithmetic {
        /// Operator.
        op: ArithmeticOp,
        /// Left side.
        left: Box<Expr>,
        /// Right side.
        right: Box<Expr>,
    },
    /// `x [not] in[_cs] NEEDLES`.
    In {
        /// Subject.
        subject: Box<Expr>,
        /// Needles.
        needles: Needles,
        /// `not in`.
        negated: bool,
        /// `in_cs`.
        case_sensitive: bool,
        /// Where the operator was written.
        op_span: Span,
    },
    /// `x [not] contains|has_any|startswith... NEEDLES`.
    Text {
        /// Which operator family.
        op: TextOp,
        /// Whether the `_any` form was written (needles must be a list).
        any: bool,
        /// `_cs`.
        case_sensitive: bool,
        /// `not contains`.
        negated: bool,
        /// Subject.
        subject: Box<Expr>,
        /// Needles.
        needles: Needles,
        /// Where the operator was written.
        op_span: Span,
    },
    /// `x [not] matches /re/` or `x [not] matches_any LIST`.
    Matches {
        /// Subject.
        subject: Box<Expr>,
        /// A regex literal or a regex list.
        needles: Needles,
        /// `matches_any`.
        any: bool,
        /// `not matches`.
        negated: bool,
        /// Where the operator was written.
        op_span: Span,
    },
}
