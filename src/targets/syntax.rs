//! Syntax: how a target spells the constructs of a [`plan`](super::plan).
//!
//! Input: a [`Pred`] of a plan. Output: the target's text for it, or the
//! [`Problem`]s of constructs the target cannot spell exactly. A target
//! implements [`Syntax`]: a method per construct, each returning the text or
//! [`Unsupported`] with the reason. Methods a target lacks keep their default,
//! which is unsupported; [`predicate`] turns every unsupported construct into
//! E0402 at its origin, naming the target. The walk itself (presence guards,
//! `and`/`or`/`not`, row limits, lookups expanded into key and needle tests)
//! is written once, here.

use super::Problem;
use super::plan::{LookupRef, Pred, Test, TestKind};
use crate::ir::{self, CompareOp, Origin, TextOp, Value, ValueType};

/// Why a target cannot spell a construct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// A target's spelling of a construct.
pub type Spelled = Result<String, Unsupported>;

/// The per-construct spelling of a target's filter language.
pub trait Syntax {
    /// The target id, for messages.
    fn target(&self) -> &'static str;

    /// The constant true and false.
    fn constant(&self, value: bool) -> String {
        value.to_string()
    }

    /// Operands joined by `and` (never fewer than two).
    fn and(&self, operands: Vec<String>) -> String {
        format!("({})", operands.join(" and "))
    }

    /// Operands joined by `or` (never fewer than two).
    fn or(&self, operands: Vec<String>) -> String {
        format!("({})", operands.join(" or "))
    }

    /// Negation.
    fn not(&self, operand: String) -> String {
        format!("not ({operand})")
    }

    /// The rule's own `and` ([`Pred::And`], two or more operands). By default
    /// [`Syntax::and`]; a target that writes the rule's connectives apart
    /// from the conjunctions the walk builds (guards, lookup rows) overrides it.
    fn pred_and(&self, operands: Vec<String>) -> String {
        self.and(operands)
    }

    /// The rule's own `or` ([`Pred::Or`], two or more operands). By default
    /// [`Syntax::or`].
    fn pred_or(&self, operands: Vec<String>) -> String {
        self.or(operands)
    }

    /// A test made total: the presence tests of its guard fields (possibly
    /// none), then its body, negated when the test is. By default
    /// [`Syntax::and`] of the presence tests and the body ([`Syntax::not`]
    /// of it when negated).
    fn guarded(&self, presence: Vec<String>, body: String, negated: bool) -> String {
        let mut parts = presence;
        parts.push(if negated { self.not(body) } else { body });
        self.and(parts)
    }

    /// The alternatives (two or more) that make up the body of a lookup
    /// test: one per key of a narrowed lookup, one per first cell of a
    /// tuple lookup. The body goes to [`Syntax::guarded`] only, so a target
    /// whose guard encloses the body may leave the disjunction bare. By
    /// default [`Syntax::or`].
    fn alternatives(&self, alternatives: Vec<String>) -> String {
        self.or(alternatives)
    }

    /// Reasons to refuse a whole test before it is spelled, each its own
    /// problem at the test: for refusals that need more than one
    /// construct's arguments (the subject's type) or that name several
    /// parts (every pattern of a list a target refuses). None by default.
    fn refusals(&self, test: &Test) -> Vec<Unsupported> {
        let _ = test;
        Vec::new()
    }

    /// The field is present and not null.
    fn exists(&self, field: &str) -> Spelled;

    /// `field OP value` on a number or boolean field.
    fn compare(&self, field: &str, field_type: ValueType, op: CompareOp, value: &Value) -> Spelled {
        let _ = (field, field_type, op, value);
        Err(self.lacks("comparisons"))
    }

    /// A string operator against needles (never empty).
    fn text(
        &self,
        field: &str,
        op: TextOp,
        case_sensitive: bool,
        fold_whitespace: bool,
        needles: &[String],
    ) -> Spelled {
        let _ = (field, op, case_sensitive, fold_whitespace, needles);
        Err(self.lacks("string operators"))
    }

    /// Regex search against any of the patterns (never empty).
    fn regex(&self, field: &str, patterns: &[ir::Regex]) -> Spelled {
        let _ = (field, patterns);
        Err(self.lacks("regular expressions"))
    }

    /// Membership of a number or boolean in constants (never empty).
    fn values(&self, field: &str, values: &[Value]) -> Spelled {
        let _ = (field, values);
        Err(self.lacks("membership tests on numbers"))
    }

    /// Network membership.
    fn cidr(&self, field: &str, field_type: ValueType, networks: &[String]) -> Spelled {
        let _ = (field, field_type, networks);
        Err(self.lacks("network membership tests"))
    }

    /// How many lookup rows the target writes into one query.
    fn max_inlined_rows(&self) -> usize {
        usize::MAX
    }

    /// The refusal of a lookup with more rows than [`Syntax::max_inlined_rows`].
    fn too_many_rows(&self, lookup: &LookupRef) -> String {
        format!(
            "the lookup `{}` has {} rows; {} writes at most {} into a query",
            lookup.name,
            lookup.rows,
            self.target(),
            self.max_inlined_rows()
        )
    }

    /// The reason for a construct the target has no form for.
    fn lacks(&self, what: &str) -> Unsupported {
        Unsupported(format!("{} has no exact form for {what}", self.target()))
    }

    /// The tests of one alternative of a lookup test (a key's cells and its
    /// needles, or a row's cells) joined by `and`; by default [`Syntax::and`].
    fn lookup_and(&self, tests: Vec<String>) -> String {
        self.and(tests)
    }

    /// The rows of a lookup test on three or more columns that share a
    /// first cell (never fewer than two), joined by `or`; by default
    /// [`Syntax::or`].
    fn lookup_or(&self, alternatives: Vec<String>) -> String {
        self.or(alternatives)
    }

    /// Every reason `test` is refused once its spelling stopped at `first`,
    /// each its own problem at the test; by default that one. A target may
    /// list more (each pattern of a list it cannot spell).
    fn refusals_after(&self, test: &Test, first: Unsupported) -> Vec<Unsupported> {
        let _ = test;
        vec![first]
    }
}

/// Spells a predicate; every construct the target refuses is a problem at
/// its origin (and the returned text is then never emitted).
pub fn predicate(syntax: &dyn Syntax, pred: &Pred, problems: &mut Vec<Problem>) -> String {
    match pred {
        Pred::And(operands) => join(syntax, operands, problems, true),
        Pred::Or(operands) => join(syntax, operands, problems, false),
        Pred::Not(operand) => syntax.not(predicate(syntax, operand, problems)),
        Pred::Exists(field) => syntax
            .exists(field)
            .unwrap_or_else(|Unsupported(reason)| refuse(syntax, None, reason, problems)),
        Pred::Test(test) => {
            let refusals = syntax.refusals(test);
            if !refusals.is_empty() {
                for Unsupported(reason) in refusals {
                    refuse(syntax, Some(test.origin), reason, problems);
                }
                return syntax.constant(false);
            }
            match test_body(syntax, test) {
                Ok(body) => guard(syntax, test, body, problems),
                Err(first) => {
                    let mut refusals = syntax.refusals_after(test, first.clone());
                    if refusals.is_empty() {
                        refusals.push(first);
                    }
                    for Unsupported(reason) in refusals {
                        refuse(syntax, Some(test.origin), reason, problems);
                    }
                    syntax.constant(false)
                }
            }
        }
    }
}

fn join(syntax: &dyn Syntax, operands: &[Pred], problems: &mut Vec<Problem>, all: bool) -> String {
    let mut parts: Vec<String> = operands
        .iter()
        .map(|operand| predicate(syntax, operand, problems))
        .collect();
    match parts.len() {
        0 => syntax.constant(all),
        1 => parts.remove(0),
        _ if all => syntax.pred_and(parts),
        _ => syntax.pred_or(parts),
    }
}

fn refuse(
    syntax: &dyn Syntax,
    origin: Option<Origin>,
    reason: String,
    problems: &mut Vec<Problem>,
) -> String {
    let origin = origin.unwrap_or(Origin {
        line: 1,
        column: 1,
        start: 0,
        end: 0,
    });
    problems.push(Problem::untranslatable(origin, reason));
    syntax.constant(false)
}

/// A test made total: its fields present and the body true (or, negated, false).
fn guard(syntax: &dyn Syntax, test: &Test, body: String, problems: &mut Vec<Problem>) -> String {
    let mut parts = Vec::new();
    for field in &test.guard.clone() {
        match syntax.exists(field) {
            Ok(presence) if !parts.contains(&presence) => parts.push(presence),
            Ok(_) => {}
            Err(Unsupported(reason)) => return refuse(syntax, Some(test.origin), reason, problems),
        }
    }
    syntax.guarded(parts, body, test.negated)
}

/// The body of a test, assuming its fields are present.
fn test_body(syntax: &dyn Syntax, test: &Test) -> Spelled {
    match &test.kind {
        TestKind::Compare {
            field,
            field_type,
            op,
            value,
        } => syntax.compare(field, *field_type, *op, value),
        TestKind::Text {
            field,
            op,
            case_sensitive,
            fold_whitespace,
            needles,
            lookup,
            ..
        } => {
            if let Some(lookup) = lookup {
                within_rows(syntax, lookup)?;
            }
            let mut needles = needles.clone();
            needles.sort();
            needles.dedup();
            if needles.is_empty() {
                return Ok(syntax.constant(false));
            }
            syntax.text(field, *op, *case_sensitive, *fold_whitespace, &needles)
        }
        TestKind::Regex { field, patterns } => {
            if patterns.is_empty() {
                return Ok(syntax.constant(false));
            }
            syntax.regex(field, patterns)
        }
        TestKind::Values { field, values, .. } => {
            if values.is_empty() {
                return Ok(syntax.constant(false));
            }
            syntax.values(field, values)
        }
        TestKind::Cidr {
            field,
            field_type,
            networks,
        } => syntax.cidr(field, *field_type, networks),
        TestKind::Narrowed {
            field,
            op,
            case_sensitive,
            fold_whitespace,
            keys,
            groups,
            lookup,
            ..
        } => {
            within_rows(syntax, lookup)?;
            let mut alternatives = Vec::new();
            for (cells, needles) in groups {
                let mut parts = Vec::new();
                for (key, cell) in keys.iter().zip(cells) {
                    parts.push(syntax.text(
                        key,
                        TextOp::Equals,
                        *case_sensitive,
                        false,
                        std::slice::from_ref(cell),
                    )?);
                }
                let mut needles = needles.clone();
                needles.sort();
                needles.dedup();
                parts.push(syntax.text(field, *op, *case_sensitive, *fold_whitespace, &needles)?);
                alternatives.push(syntax.lookup_and(parts));
            }
            Ok(body_alternatives(syntax, alternatives))
        }
        TestKind::Rows {
            fields,
            case_sensitive,
            groups,
            lookup,
        } => {
            within_rows(syntax, lookup)?;
            let equals = |field: &str, cells: &[String]| {
                let mut cells = cells.to_vec();
                cells.sort();
                cells.dedup();
                syntax.text(field, TextOp::Equals, *case_sensitive, false, &cells)
            };
            let mut alternatives = Vec::new();
            for (first, rests) in groups {
                let mut parts = vec![equals(&fields[0], std::slice::from_ref(first))?];
                if fields.len() == 2 {
                    let seconds: Vec<String> = rests
                        .iter()
                        .filter_map(|rest| rest.first().cloned())
                        .collect();
                    parts.push(equals(&fields[1], &seconds)?);
                } else if fields.len() > 2 {
                    let mut rows = Vec::new();
                    for rest in rests {
                        let mut tests = Vec::new();
                        for (field, cell) in fields[1..].iter().zip(rest) {
                            tests.push(equals(field, std::slice::from_ref(cell))?);
                        }
                        rows.push(syntax.lookup_and(tests));
                    }
                    parts.push(any(syntax, rows));
                }
                alternatives.push(if parts.len() == 1 {
                    parts.remove(0)
                } else {
                    syntax.lookup_and(parts)
                });
            }
            Ok(body_alternatives(syntax, alternatives))
        }
    }
}

fn any(syntax: &dyn Syntax, mut alternatives: Vec<String>) -> String {
    match alternatives.len() {
        0 => syntax.constant(false),
        1 => alternatives.remove(0),
        _ => syntax.lookup_or(alternatives),
    }
}

/// The alternatives of a lookup test's body.
fn body_alternatives(syntax: &dyn Syntax, mut alternatives: Vec<String>) -> String {
    match alternatives.len() {
        0 => syntax.constant(false),
        1 => alternatives.remove(0),
        _ => syntax.alternatives(alternatives),
    }
}

fn within_rows(syntax: &dyn Syntax, lookup: &LookupRef) -> Result<(), Unsupported> {
    if lookup.rows > syntax.max_inlined_rows() {
        Err(Unsupported(syntax.too_many_rows(lookup)))
    } else {
        Ok(())
    }
}
