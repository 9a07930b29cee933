//! Syntax: how a target spells the constructs of a [`plan`](super::plan).
//!
//! Input: a [`Pred`] of a plan. Output: the target's text for it, or the
//! [`Problem`]s of constructs the target cannot spell exactly. A target
//! implements [`Syntax`]: a method per construct, each returning the text or
//! [`Unsupported`] with the reason. Methods a target lacks keep their default,
//! which is unsupported; [`predicate`] turns every unsupported construct into
//! E0402 at its origin, naming the target. The walk itself (presence guards,
//! `and`/`or`/`not`, row limits, lookups expanded into key and needle tests)
//! is written once, here; hooks with defaults ([`Syntax::join`],
//! [`Syntax::guarded`], [`Syntax::presence`], [`Syntax::key`],
//! [`Syntax::rows`], [`Syntax::sorted_needles`], [`Syntax::refuse_each`])
//! let a target spell the walk's own joins, guards and refusals its way.

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

    /// The field is present and not null.
    fn exists(&self, field: &str) -> Spelled;

    /// The field is missing or null, where the target has a direct
    /// spelling (`f IS NULL`); by default `not` of [`Syntax::exists`].
    fn absent(&self, field: &str) -> Option<Spelled> {
        let _ = field;
        None
    }

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

    /// Network membership; by default what [`Syntax::cidr_total`] spells,
    /// for a target that spells every membership test that way.
    fn cidr(&self, field: &str, field_type: ValueType, networks: &[String]) -> Spelled {
        let _ = field_type;
        self.cidr_total(field, networks, false)
            .unwrap_or_else(|| Err(self.lacks("network membership tests")))
    }

    /// `in cidr` (`negated`: `not in cidr`) that is false either way when
    /// the field's text is no address, for a target whose presence test does
    /// not imply that the text is one; `None` (the default) spells
    /// [`Syntax::cidr`] and negates it like any other test.
    fn cidr_total(&self, field: &str, networks: &[String], negated: bool) -> Option<Spelled> {
        let _ = (field, networks, negated);
        None
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

    /// A predicate's `and` (`all`) or `or` of two or more operands, each
    /// with the predicate it spells, for targets that parenthesise by
    /// precedence; by default [`Syntax::and`] or [`Syntax::or`] of the texts.
    fn join(&self, all: bool, operands: Vec<(&Pred, String)>) -> String {
        let texts = operands.into_iter().map(|(_, text)| text).collect();
        if all { self.and(texts) } else { self.or(texts) }
    }

    /// A test made total from the presence tests of its guard fields
    /// (distinct, maybe none) and its body, to be negated when `negated`;
    /// `under_not` when a `not` encloses the test. By default `and` of the
    /// presence tests and the (negated) body.
    fn guarded(
        &self,
        presence: Vec<String>,
        body: String,
        negated: bool,
        under_not: bool,
    ) -> String {
        let _ = under_not;
        let mut parts = presence;
        parts.push(if negated { self.not(body) } else { body });
        self.and(parts)
    }

    /// Whether a refused string or regex test is refused once per needle or
    /// pattern the target cannot spell (each its own problem) rather than
    /// once, with the first reason.
    fn refuse_each(&self) -> bool {
        false
    }

    /// The alternatives (two or more) that make up the body of a lookup
    /// test: one per key of a narrowed lookup, one per first cell of a
    /// tuple lookup. The body goes to [`Syntax::guarded`] only, so a target
    /// whose guard encloses the body may leave the disjunction bare. By
    /// default [`Syntax::or`].
    fn alternatives(&self, alternatives: Vec<String>) -> String {
        self.or(alternatives)
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

    /// Reasons to refuse a whole test before it is spelled, each its own
    /// problem at the test: refusals that need more than one construct's
    /// arguments (the subject's type). None by default.
    fn refusals(&self, test: &Test) -> Vec<Unsupported> {
        let _ = test;
        Vec::new()
    }

    /// The presence test of a field a test is guarded with; by default
    /// [`Syntax::exists`]. A target that guards only some tests may return
    /// a token that its [`Syntax::guarded`] spells when it needs it.
    fn presence(&self, field: &str) -> Spelled {
        self.exists(field)
    }

    /// The equality of a narrowed lookup's key field with a key cell; by
    /// default [`Syntax::text`] with `==` on the one cell.
    fn key(&self, field: &str, case_sensitive: bool, cell: &str) -> Spelled {
        self.text(
            field,
            TextOp::Equals,
            case_sensitive,
            false,
            &[cell.to_string()],
        )
    }

    /// The body of a tuple lookup test spelled at once from its rows
    /// (grouped by first cell, each group in the lookup's order), for a
    /// target whose form lists the rows; `None` (the default) lets the walk
    /// compose it from equalities.
    fn rows(
        &self,
        fields: &[String],
        case_sensitive: bool,
        groups: &[(String, Vec<Vec<String>>)],
        lookup: &LookupRef,
    ) -> Option<Spelled> {
        let _ = (fields, case_sensitive, groups, lookup);
        None
    }

    /// A case-insensitive membership test (`in`, `not in` on one column,
    /// tuple `in`) spelled by reference to the lookup the target ships
    /// beside its queries ([`super::lookup_ref`]), the test's `fields`
    /// against its `rows`; `None` (the default) inlines the rows.
    fn reference(
        &self,
        fields: &[String],
        rows: &[Vec<String>],
        lookup: &LookupRef,
    ) -> Option<Spelled> {
        let _ = (fields, rows, lookup);
        None
    }

    /// Whether the needles of a string test reach [`Syntax::text`] sorted
    /// and without duplicates (the default) or in the order the rule and
    /// its lists and lookups give them.
    fn sorted_needles(&self) -> bool {
        true
    }
}

/// A case-insensitive membership test on a lookup (`in`, `not in` on one
/// column, tuple `in`; no whitespace folding) spelled by
/// [`Syntax::reference`], or `None` when the test is no such test or the
/// target inlines it. A target's [`Syntax::refusals`] can ask this before
/// refusing a lookup for its size.
pub fn by_reference(syntax: &dyn Syntax, test: &Test) -> Option<Spelled> {
    match &test.kind {
        TestKind::Text {
            field,
            op: TextOp::Equals,
            case_sensitive: false,
            fold_whitespace: false,
            needles,
            lookup: Some(lookup),
            ..
        } => {
            let rows: Vec<Vec<String>> =
                needles.iter().map(|needle| vec![needle.clone()]).collect();
            syntax.reference(std::slice::from_ref(field), &rows, lookup)
        }
        TestKind::Rows {
            fields,
            case_sensitive: false,
            groups,
            lookup,
        } => {
            let rows = super::lookup_ref::tuple_rows(groups);
            syntax.reference(fields, &rows, lookup)
        }
        _ => None,
    }
}

/// Spells a predicate; every construct the target refuses is a problem at
/// its origin (and the returned text is then never emitted).
pub fn predicate(syntax: &dyn Syntax, pred: &Pred, problems: &mut Vec<Problem>) -> String {
    spell(syntax, pred, false, problems)
}

/// [`predicate`], knowing whether a `not` encloses `pred`.
fn spell(syntax: &dyn Syntax, pred: &Pred, under_not: bool, problems: &mut Vec<Problem>) -> String {
    match pred {
        Pred::And(operands) => join(syntax, operands, under_not, problems, true),
        Pred::Or(operands) => join(syntax, operands, under_not, problems, false),
        Pred::Not(operand) => match operand.as_ref() {
            Pred::Exists(field, origin) if let Some(spelled) = syntax.absent(field) => spelled
                .unwrap_or_else(|Unsupported(reason)| refuse(syntax, *origin, reason, problems)),
            _ => syntax.not(spell(syntax, operand, true, problems)),
        },
        Pred::Exists(field, origin) => syntax
            .exists(field)
            .unwrap_or_else(|Unsupported(reason)| refuse(syntax, *origin, reason, problems)),
        Pred::Test(test) => {
            let refusals = syntax.refusals(test);
            if !refusals.is_empty() {
                for Unsupported(reason) in refusals {
                    refuse(syntax, test.origin, reason, problems);
                }
                return syntax.constant(false);
            }
            if let TestKind::Cidr {
                field, networks, ..
            } = &test.kind
                && let Some(spelled) = syntax.cidr_total(field, networks, test.negated)
            {
                return match spelled {
                    Ok(body) => guard(syntax, test, body, false, under_not, problems),
                    Err(Unsupported(reason)) => refuse(syntax, test.origin, reason, problems),
                };
            }
            match test_body(syntax, test) {
                Ok(body) => guard(syntax, test, body, test.negated, under_not, problems),
                Err(Unsupported(reason)) => {
                    for reason in reasons(syntax, test, reason) {
                        refuse(syntax, test.origin, reason, problems);
                    }
                    syntax.constant(false)
                }
            }
        }
    }
}

fn join(
    syntax: &dyn Syntax,
    operands: &[Pred],
    under_not: bool,
    problems: &mut Vec<Problem>,
    all: bool,
) -> String {
    let mut parts: Vec<(&Pred, String)> = operands
        .iter()
        .map(|operand| (operand, spell(syntax, operand, under_not, problems)))
        .collect();
    match parts.len() {
        0 => syntax.constant(all),
        1 => parts.remove(0).1,
        _ => syntax.join(all, parts),
    }
}

fn refuse(
    syntax: &dyn Syntax,
    origin: Origin,
    reason: String,
    problems: &mut Vec<Problem>,
) -> String {
    problems.push(Problem::untranslatable(origin, reason));
    syntax.constant(false)
}

/// Why a test is refused: `reason`, or with [`Syntax::refuse_each`] the
/// distinct reasons of each needle or pattern the target cannot spell.
fn reasons(syntax: &dyn Syntax, test: &Test, reason: String) -> Vec<String> {
    if !syntax.refuse_each() {
        return vec![reason];
    }
    let each: Vec<String> = each_refusal(syntax, test)
        .into_iter()
        .map(|Unsupported(reason)| reason)
        .collect();
    if each.is_empty() { vec![reason] } else { each }
}

/// The distinct reasons of every needle, pattern and lookup cell the target
/// cannot spell, each spelled alone, in the order the walk spells them.
fn each_refusal(syntax: &dyn Syntax, test: &Test) -> Vec<Unsupported> {
    let over = |lookup: &LookupRef| within_rows(syntax, lookup).is_err();
    let text =
        |field: &str, (op, case_sensitive, fold): (TextOp, bool, bool), needles: &[String]| {
            let mut needles = needles.to_vec();
            needles.sort();
            needles.dedup();
            needles
                .iter()
                .map(|needle| {
                    syntax.text(
                        field,
                        op,
                        case_sensitive,
                        fold,
                        std::slice::from_ref(needle),
                    )
                })
                .collect::<Vec<Spelled>>()
        };
    let mut spelled: Vec<Spelled> = Vec::new();
    match &test.kind {
        TestKind::Text {
            field,
            op,
            case_sensitive,
            fold_whitespace,
            needles,
            lookup,
            ..
        } => {
            if lookup.as_ref().is_some_and(over) {
                return Vec::new();
            }
            spelled.extend(text(
                field,
                (*op, *case_sensitive, *fold_whitespace),
                needles,
            ));
        }
        TestKind::Regex { field, patterns } => spelled.extend(
            patterns
                .iter()
                .map(|pattern| syntax.regex(field, std::slice::from_ref(pattern))),
        ),
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
            if over(lookup) {
                return Vec::new();
            }
            for (cells, needles) in groups {
                for (key, cell) in keys.iter().zip(cells) {
                    let equals = (TextOp::Equals, *case_sensitive, false);
                    spelled.extend(text(key, equals, std::slice::from_ref(cell)));
                }
                spelled.extend(text(
                    field,
                    (*op, *case_sensitive, *fold_whitespace),
                    needles,
                ));
            }
        }
        TestKind::Rows {
            fields,
            case_sensitive,
            groups,
            lookup,
        } => {
            if over(lookup) {
                return Vec::new();
            }
            let equals = (TextOp::Equals, *case_sensitive, false);
            for (first, rests) in groups {
                spelled.extend(text(&fields[0], equals, std::slice::from_ref(first)));
                if fields.len() == 2 {
                    let seconds: Vec<String> = rests
                        .iter()
                        .filter_map(|rest| rest.first().cloned())
                        .collect();
                    spelled.extend(text(&fields[1], equals, &seconds));
                } else {
                    for rest in rests {
                        for (field, cell) in fields[1..].iter().zip(rest) {
                            spelled.extend(text(field, equals, std::slice::from_ref(cell)));
                        }
                    }
                }
            }
        }
        TestKind::Compare { .. } | TestKind::Values { .. } | TestKind::Cidr { .. } => {}
    }
    let mut reasons: Vec<Unsupported> = Vec::new();
    for reason in spelled.into_iter().filter_map(Result::err) {
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    reasons
}

/// A test made total: its fields present and the body true (or, negated, false).
fn guard(
    syntax: &dyn Syntax,
    test: &Test,
    body: String,
    negated: bool,
    under_not: bool,
    problems: &mut Vec<Problem>,
) -> String {
    let mut presence = Vec::new();
    for field in &test.guard {
        match syntax.presence(field) {
            Ok(spelled) if !presence.contains(&spelled) => presence.push(spelled),
            Ok(_) => {}
            Err(Unsupported(reason)) => return refuse(syntax, test.origin, reason, problems),
        }
    }
    syntax.guarded(presence, body, negated, under_not)
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
                if let Some(spelled) = by_reference(syntax, test) {
                    return spelled;
                }
                within_rows(syntax, lookup)?;
            }
            let needles = ordered(syntax, needles);
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
                    parts.push(syntax.key(key, *case_sensitive, cell)?);
                }
                let needles = ordered(syntax, needles);
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
            if let Some(spelled) = by_reference(syntax, test) {
                return spelled;
            }
            within_rows(syntax, lookup)?;
            if let Some(spelled) = syntax.rows(fields, *case_sensitive, groups, lookup) {
                return spelled;
            }
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

/// A test's needles as [`Syntax::sorted_needles`] asks.
fn ordered(syntax: &dyn Syntax, needles: &[String]) -> Vec<String> {
    let mut needles = needles.to_vec();
    if syntax.sorted_needles() {
        needles.sort();
        needles.dedup();
    }
    needles
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

/// Each operand in parentheses, for targets that write the rule's own
/// connectives with every operand enclosed.
pub fn parenthesised(operands: &[String]) -> Vec<String> {
    operands
        .iter()
        .map(|operand| format!("({operand})"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target that has no presence test at all.
    struct NoPresence;

    impl Syntax for NoPresence {
        fn target(&self) -> &'static str {
            "none"
        }

        fn exists(&self, _: &str) -> Spelled {
            Err(self.lacks("presence tests"))
        }
    }

    #[test]
    fn an_unspellable_exists_is_refused_where_it_was_written() {
        let origin = Origin {
            line: 7,
            column: 9,
            start: 120,
            end: 132,
        };
        let mut problems = Vec::new();
        let text = predicate(
            &NoPresence,
            &Pred::Not(Box::new(Pred::Exists("app".to_string(), origin))),
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].origin, origin);
        assert!(problems[0].message.contains("none has no exact form"));
        // The text is never emitted, but it stays well formed.
        assert_eq!(text, "not (false)");
    }
}
