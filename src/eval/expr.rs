//! Compiled event predicates and their evaluation.
//!
//! Input: a [`Pred`] built by [`super::compile`] from an IR filter, and one
//! [`Event`]. Output: `true` or `false`. The missing-field rule of the
//! language is applied here: every comparison and string, regex, membership,
//! CIDR or lookup test whose operand is missing is false, negated forms
//! included; `not` inverts whatever its operand gave.

use std::net::IpAddr;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, Anchored, Input, packed};

use super::event::{Event, Scalar};
use super::group::{FastMap, FastSet};
use super::literals::PatternSet;
use crate::ir::{ArithmeticOp, CompareOp, TextOp};

/// A constant operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Constant {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Constant {
    pub(crate) fn scalar(&self) -> Scalar<'_> {
        match self {
            Constant::Str(text) => Scalar::Str(text),
            Constant::Int(value) => Scalar::Int(*value),
            Constant::Float(value) => Scalar::Float(*value),
            Constant::Bool(value) => Scalar::Bool(*value),
        }
    }
}

/// A value-producing expression over one event.
#[derive(Debug)]
pub(crate) enum ValueExpr {
    Field(u16),
    Constant(Constant),
    Arithmetic(ArithmeticOp, Box<ValueExpr>, Box<ValueExpr>),
}

impl ValueExpr {
    pub(crate) fn eval<'a>(&'a self, event: &'a Event) -> Option<Scalar<'a>> {
        match self {
            ValueExpr::Field(slot) => event.scalar(*slot),
            ValueExpr::Constant(constant) => Some(constant.scalar()),
            ValueExpr::Arithmetic(op, left, right) => {
                arithmetic(*op, left.eval(event)?, right.eval(event)?)
            }
        }
    }
}

/// Number arithmetic: integers stay integers (overflow has no value) except
/// for division, which is always a float; division by zero has no value.
pub(crate) fn arithmetic<'a>(
    op: ArithmeticOp,
    left: Scalar<'_>,
    right: Scalar<'_>,
) -> Option<Scalar<'a>> {
    if let (Scalar::Int(a), Scalar::Int(b), false) = (left, right, op == ArithmeticOp::Divide) {
        return match op {
            ArithmeticOp::Add => a.checked_add(b),
            ArithmeticOp::Subtract => a.checked_sub(b),
            ArithmeticOp::Multiply => a.checked_mul(b),
            ArithmeticOp::Divide => None,
        }
        .map(Scalar::Int);
    }
    let (a, b) = (left.as_f64()?, right.as_f64()?);
    let result = match op {
        ArithmeticOp::Add => a + b,
        ArithmeticOp::Subtract => a - b,
        ArithmeticOp::Multiply => a * b,
        ArithmeticOp::Divide => {
            if b == 0.0 {
                return None;
            }
            a / b
        }
    };
    result.is_finite().then_some(Scalar::Float(result))
}

/// Compares two values; false when they are not comparable.
pub(crate) fn compare(op: CompareOp, left: Scalar<'_>, right: Scalar<'_>) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (left, right) {
        (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(&b)),
        (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(&b)),
        // Identical text is equal under both the address and the text order.
        (Scalar::Str(a), Scalar::Str(b)) if a == b => Some(Ordering::Equal),
        (Scalar::Str(a), Scalar::Str(b)) => match (parse_address(a), parse_address(b)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ if matches!(op, CompareOp::Equal | CompareOp::NotEqual) => {
                Some(if text_equal_ignoring_case(a, b) {
                    Ordering::Equal
                } else {
                    Ordering::Less
                })
            }
            _ => Some(a.cmp(b)),
        },
        (a, b) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => None,
        },
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Equal => ordering == Ordering::Equal,
        CompareOp::NotEqual => ordering != Ordering::Equal,
        CompareOp::Less => ordering == Ordering::Less,
        CompareOp::LessEqual => ordering != Ordering::Greater,
        CompareOp::Greater => ordering == Ordering::Greater,
        CompareOp::GreaterEqual => ordering != Ordering::Less,
    }
}

/// The text as an IP address. Only text made of hex digits, `.` and `:` can
/// parse, so other text (most values) is rejected without running the parser.
#[inline]
fn parse_address(text: &str) -> Option<IpAddr> {
    let looks_like_address = !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_hexdigit() || byte == b'.' || byte == b':');
    if looks_like_address {
        text.parse::<IpAddr>().ok()
    } else {
        None
    }
}

/// Whether the texts are equal under Unicode simple case folding
/// (`ir::case`), without allocating.
#[inline]
pub(crate) fn text_equal_ignoring_case(a: &str, b: &str) -> bool {
    crate::ir::case::equal_ignoring_case(a, b)
}

/// Which form of a string an operator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Form {
    /// As written.
    Exact,
    /// Lowercased.
    Lower,
    /// Lowercased and whitespace-folded.
    LowerFolded,
    /// Whitespace-folded, case kept.
    Folded,
}

impl Form {
    pub(crate) fn of(case_sensitive: bool, fold_whitespace: bool) -> Form {
        match (case_sensitive, fold_whitespace) {
            (true, false) => Form::Exact,
            (true, true) => Form::Folded,
            (false, false) => Form::Lower,
            (false, true) => Form::LowerFolded,
        }
    }

    pub(crate) fn apply(self, text: &str) -> String {
        match self {
            Form::Exact => text.to_string(),
            Form::Lower => super::fold::lower(text),
            Form::LowerFolded => super::fold::lower_folded(text),
            Form::Folded => super::fold::folded(text),
        }
    }
}

/// The string a text operator tests.
#[derive(Debug)]
pub(crate) enum Subject {
    /// A field as written (`Exact` form), or through a precomputed variant.
    Field { slot: u16, variant: Option<u16> },
    /// Any other expression; its text is transformed at evaluation time.
    Computed(ValueExpr, Form),
    /// `norm(field)`: the companion's text when the event has it, else the
    /// raw field normalised here, once per event (the event's cache at
    /// position `cache`), whichever filters read it.
    Norm {
        companion: u16,
        raw: u16,
        form: Form,
        cache: u16,
    },
}

impl Subject {
    pub(crate) fn text<'a>(&'a self, event: &'a Event) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Subject::Field { slot, variant } => match event.scalar(*slot)? {
                Scalar::Str(raw) => Some(std::borrow::Cow::Borrowed(match variant {
                    Some(position) => event.variant(*position),
                    None => raw,
                })),
                Scalar::Int(value) => Some(std::borrow::Cow::Owned(value.to_string())),
                Scalar::Float(value) => Some(std::borrow::Cow::Owned(value.to_string())),
                Scalar::Bool(value) => Some(std::borrow::Cow::Owned(value.to_string())),
            },
            Subject::Computed(expr, form) => {
                let text = match expr.eval(event)? {
                    Scalar::Str(text) => text.to_string(),
                    Scalar::Int(value) => value.to_string(),
                    Scalar::Float(value) => value.to_string(),
                    Scalar::Bool(value) => value.to_string(),
                };
                Some(std::borrow::Cow::Owned(form.apply(&text)))
            }
            Subject::Norm {
                companion,
                raw,
                form,
                cache,
            } => {
                let normal = match event.scalar(*companion) {
                    Some(Scalar::Str(text)) => std::borrow::Cow::Borrowed(text),
                    _ => match event.scalar(*raw)? {
                        Scalar::Str(text) => match event.norm_cache(*cache) {
                            Some(cell) => std::borrow::Cow::Borrowed(
                                cell.get_or_init(|| crate::normalize::normalize(text))
                                    .as_str(),
                            ),
                            None => std::borrow::Cow::Owned(crate::normalize::normalize(text)),
                        },
                        _ => return None,
                    },
                };
                Some(match form {
                    Form::Exact => normal,
                    _ => std::borrow::Cow::Owned(form.apply(&normal)),
                })
            }
        }
    }
}

/// A set of needles compiled for one operator.
#[derive(Debug)]
pub(crate) enum Matcher {
    /// No needles: nothing matches.
    Never,
    /// Whole-value membership.
    Equals(FastSet<Box<str>>),
    /// Whole-value membership in a few values: compared in turn, which is
    /// cheaper than hashing the text.
    EqualsFew(Vec<Box<str>>),
    /// Substring: one SIMD multi-literal searcher (Teddy) for every needle
    /// when it can be built, which is several times faster than the
    /// automaton on short texts; the automaton otherwise.
    Contains(AhoCorasick, Option<packed::Searcher>),
    /// Prefix: an anchored automaton.
    StartsWith(AhoCorasick),
    /// Suffix.
    EndsWith(Vec<Box<str>>),
}

impl Matcher {
    pub(crate) fn build(op: TextOp, needles: Vec<String>) -> Result<Matcher, String> {
        if needles.is_empty() {
            return Ok(Matcher::Never);
        }
        Ok(match op {
            TextOp::Equals if needles.len() <= 4 => {
                Matcher::EqualsFew(needles.into_iter().map(String::into_boxed_str).collect())
            }
            TextOp::Equals => {
                Matcher::Equals(needles.into_iter().map(String::into_boxed_str).collect())
            }
            TextOp::Contains => {
                // An empty needle matches everything; leave that to the automaton.
                let searcher = if needles.iter().any(String::is_empty) {
                    None
                } else {
                    packed::Config::new()
                        .match_kind(packed::MatchKind::LeftmostFirst)
                        .builder()
                        .extend(&needles)
                        .build()
                };
                Matcher::Contains(
                    AhoCorasick::builder()
                        .build(&needles)
                        .map_err(|error| error.to_string())?,
                    searcher,
                )
            }
            TextOp::StartsWith => Matcher::StartsWith(
                AhoCorasick::builder()
                    .start_kind(aho_corasick::StartKind::Anchored)
                    .build(&needles)
                    .map_err(|error| error.to_string())?,
            ),
            TextOp::EndsWith => {
                Matcher::EndsWith(needles.into_iter().map(String::into_boxed_str).collect())
            }
        })
    }

    #[inline]
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match self {
            Matcher::Never => false,
            Matcher::Equals(set) => set.contains(text),
            Matcher::EqualsFew(needles) => needles.iter().any(|needle| **needle == *text),
            Matcher::Contains(_, Some(searcher)) => searcher.find(text).is_some(),
            Matcher::Contains(automaton, None) => automaton.is_match(text),
            Matcher::StartsWith(automaton) => {
                automaton.is_match(Input::new(text).anchored(Anchored::Yes))
            }
            Matcher::EndsWith(needles) => needles.iter().any(|needle| text.ends_with(&**needle)),
        }
    }
}

/// Needles that depend on the event: the rows of a lookup selected by key fields.
#[derive(Debug)]
pub(crate) struct NarrowedNeedles {
    /// The event's key fields (with the variant used for case-insensitive keys).
    pub(crate) keys: Vec<Subject>,
    /// Joined key values (`\u{1f}` between them) to the needles of the selected rows.
    pub(crate) table: FastMap<Box<str>, Matcher>,
}

/// Where a text test's needles come from.
#[derive(Debug)]
pub(crate) enum Needles {
    Fixed(Arc<Matcher>),
    Narrowed(Arc<NarrowedNeedles>),
}

/// An IP network, as Elasticsearch keeps one: 128 bits, an IPv4 address
/// being its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so `10.0.0.0/8` and
/// `::ffff:10.0.0.0/104` are the same network and an IPv6 network that
/// covers the mapped range holds IPv4 addresses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Network {
    pub(crate) bits: u128,
    pub(crate) prefix: u8,
}

/// An address as 128 bits, IPv4 mapped into IPv6.
pub(crate) fn address_bits(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(address) => u128::from(address.to_ipv6_mapped()),
        IpAddr::V6(address) => u128::from(address),
    }
}

impl Network {
    pub(crate) fn parse(text: &str) -> Option<Network> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (
                address.trim().parse::<IpAddr>().ok()?,
                prefix.trim().parse::<u8>().ok()?,
            ),
            None => {
                let address = text.trim().parse::<IpAddr>().ok()?;
                (address, if address.is_ipv4() { 32 } else { 128 })
            }
        };
        let (limit, offset) = if address.is_ipv4() {
            (32, 96)
        } else {
            (128, 0)
        };
        (prefix <= limit).then_some(Network {
            bits: address_bits(address),
            prefix: prefix + offset,
        })
    }

    pub(crate) fn contains(&self, address: IpAddr) -> bool {
        let mask = if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix))
        };
        self.bits & mask == address_bits(address) & mask
    }
}

/// A compiled boolean expression over one event.
#[derive(Debug)]
pub(crate) enum Pred {
    Constant(bool),
    Not(Box<Pred>),
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Exists(u16),
    /// A boolean-valued expression used as a predicate (a bool field or parameter).
    Value(ValueExpr),
    Compare(CompareOp, ValueExpr, ValueExpr),
    Text {
        negated: bool,
        subject: Subject,
        needles: Needles,
    },
    Matches {
        negated: bool,
        subject: Subject,
        patterns: Arc<PatternSet>,
        /// The test's id when the projection reads it ahead for groups of
        /// events (see [`Event::eager`]).
        eager: Option<u8>,
    },
    InValues {
        negated: bool,
        subject: ValueExpr,
        values: Vec<Constant>,
    },
    InCidr {
        negated: bool,
        subject: Subject,
        networks: Vec<Network>,
    },
    InLookup {
        negated: bool,
        subjects: Vec<Subject>,
        rows: Arc<FastSet<Box<str>>>,
    },
}

/// Joins key parts with the unit separator, which no needle or key contains in practice.
pub(crate) const KEY_SEPARATOR: char = '\u{1f}';

impl Pred {
    /// Whether the event satisfies the predicate.
    pub(crate) fn test(&self, event: &Event) -> bool {
        match self {
            Pred::Constant(value) => *value,
            Pred::Not(operand) => !operand.test(event),
            Pred::And(operands) => operands.iter().all(|operand| operand.test(event)),
            Pred::Or(operands) => operands.iter().any(|operand| operand.test(event)),
            Pred::Exists(slot) => event.scalar(*slot).is_some(),
            Pred::Value(expr) => matches!(expr.eval(event), Some(Scalar::Bool(true))),
            Pred::Compare(op, left, right) => match (left.eval(event), right.eval(event)) {
                (Some(left), Some(right)) => compare(*op, left, right),
                _ => false,
            },
            Pred::Text {
                negated,
                subject,
                needles,
            } => {
                let Some(text) = subject.text(event) else {
                    return false;
                };
                let found = match needles {
                    Needles::Fixed(matcher) => matcher.is_match(&text),
                    Needles::Narrowed(narrowed) => match narrowed_key(&narrowed.keys, event) {
                        Some(key) => narrowed
                            .table
                            .get(&*key)
                            .is_some_and(|matcher| matcher.is_match(&text)),
                        None => return false,
                    },
                };
                found != *negated
            }
            Pred::Matches {
                negated,
                subject,
                patterns,
                eager,
            } => {
                if let Some(found) = eager.and_then(|id| event.eager(id)) {
                    return found != *negated;
                }
                match subject.text(event) {
                    Some(text) => patterns.is_match(&text) != *negated,
                    None => false,
                }
            }
            Pred::InValues {
                negated,
                subject,
                values,
            } => match subject.eval(event) {
                Some(value) => {
                    values
                        .iter()
                        .any(|candidate| compare(CompareOp::Equal, value, candidate.scalar()))
                        != *negated
                }
                None => false,
            },
            Pred::InCidr {
                negated,
                subject,
                networks,
            } => {
                let Some(address) = subject
                    .text(event)
                    .and_then(|text| text.trim().parse::<IpAddr>().ok())
                else {
                    return false;
                };
                networks.iter().any(|network| network.contains(address)) != *negated
            }
            Pred::InLookup {
                negated,
                subjects,
                rows,
            } => match narrowed_key(subjects, event) {
                Some(key) => rows.contains(&*key) != *negated,
                None => false,
            },
        }
    }
}

/// The joined text of several subjects; `None` when one is missing.
fn narrowed_key<'a>(
    subjects: &'a [Subject],
    event: &'a Event,
) -> Option<std::borrow::Cow<'a, str>> {
    if let [single] = subjects {
        return single.text(event);
    }
    let mut key = String::new();
    for (index, subject) in subjects.iter().enumerate() {
        if index > 0 {
            key.push(KEY_SEPARATOR);
        }
        key.push_str(&subject.text(event)?);
    }
    Some(std::borrow::Cow::Owned(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_addresses() {
        let network = Network::parse("10.0.0.0/8").unwrap();
        assert!(network.contains("10.2.3.4".parse().unwrap()));
        assert!(!network.contains("11.0.0.1".parse().unwrap()));
        let v6 = Network::parse("fc00::/7").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.2.3.4".parse().unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_none());
        assert!(
            Network::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
    }

    #[test]
    fn matchers_test_every_needle() {
        let contains = Matcher::build(TextOp::Contains, vec!["abc".into(), "xyz".into()]).unwrap();
        assert!(contains.is_match("__xyz__"));
        assert!(!contains.is_match("ab"));
        let starts =
            Matcher::build(TextOp::StartsWith, vec!["/etc".into(), "/home".into()]).unwrap();
        assert!(starts.is_match("/home/user"));
        assert!(!starts.is_match("x/home"));
        let ends = Matcher::build(TextOp::EndsWith, vec![".pem".into()]).unwrap();
        assert!(ends.is_match("key.pem"));
        let equals = Matcher::build(TextOp::Equals, vec!["a".into()]).unwrap();
        assert!(equals.is_match("a") && !equals.is_match("ab"));
        assert!(
            !Matcher::build(TextOp::Contains, vec![])
                .unwrap()
                .is_match("x")
        );
    }

    #[test]
    fn text_equality_takes_the_unicode_path_for_non_ascii_text() {
        assert!(text_equal_ignoring_case("HTTP_get", "http_GET"));
        assert!(text_equal_ignoring_case("\u{212A}", "k"));
        assert!(text_equal_ignoring_case("\u{C9}COLE", "\u{e9}cole"));
        assert!(!text_equal_ignoring_case("\u{130}", "i"));
        assert!(compare(
            CompareOp::Equal,
            Scalar::Str("::1"),
            Scalar::Str("0:0:0:0:0:0:0:1")
        ));
        assert!(compare(
            CompareOp::NotEqual,
            Scalar::Str("10.0.0.1"),
            Scalar::Str("10.0.0.2")
        ));
        assert!(compare(
            CompareOp::Equal,
            Scalar::Str("Abc"),
            Scalar::Str("aBC")
        ));
        assert!(parse_address("inference").is_none());
        assert!(parse_address("fe80::1").is_some());
    }

    #[test]
    fn arithmetic_and_comparison() {
        assert_eq!(
            arithmetic(ArithmeticOp::Divide, Scalar::Int(1), Scalar::Int(2)),
            Some(Scalar::Float(0.5))
        );
        assert_eq!(
            arithmetic(ArithmeticOp::Divide, Scalar::Int(1), Scalar::Int(0)),
            None
        );
        assert_eq!(
            arithmetic(ArithmeticOp::Add, Scalar::Int(i64::MAX), Scalar::Int(1)),
            None
        );
        assert!(compare(
            CompareOp::GreaterEqual,
            Scalar::Int(3),
            Scalar::Float(2.5)
        ));
        assert!(compare(
            CompareOp::Less,
            Scalar::Str("9.0.0.1"),
            Scalar::Str("10.0.0.1")
        ));
        assert!(!compare(CompareOp::Equal, Scalar::Str("a"), Scalar::Int(1)));
        assert!(!compare(
            CompareOp::NotEqual,
            Scalar::Str("a"),
            Scalar::Int(1)
        ));
    }

    #[test]
    fn networks_compare_ipv4_as_its_mapped_ipv6_form() {
        let inside = |network: &str, address: &str| {
            super::Network::parse(network)
                .unwrap()
                .contains(address.parse().unwrap())
        };
        assert!(inside("10.0.0.0/8", "10.1.2.3"));
        assert!(inside("10.0.0.0/8", "::ffff:10.1.2.3"));
        assert!(inside("::ffff:0:0/96", "192.0.2.1"));
        assert!(inside("fc00::/7", "fd12::1"));
        assert!(!inside("fc00::/7", "10.1.2.3"));
        assert!(!inside("::1/128", "127.0.0.1"));
        assert!(inside("0.0.0.0/0", "8.8.8.8"));
        assert!(!inside("0.0.0.0/0", "2001:db8::1"));
    }
}
