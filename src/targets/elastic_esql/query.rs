//! The ES|QL query of a rule.
//!
//! Input: a rule, the pack and the ECS field mapping. Output: ES|QL text and
//! how far back each run reads, or E0402 problems for the constructs with no
//! exact translation. The rule is lowered by [`plan::plan_and_problems`]; its
//! filters (the source's and the aggregates') are spelled by [`Esql`] through
//! [`syntax::predicate`], and this module lays out the query around them:
//! `FROM ... | WHERE` for a match rule; `STATS ... BY` over epoch-aligned
//! windows for a window rule (grouping sets through `MV_EXPAND`, a group's
//! history through a second `STATS`, percentiles through `INLINE STATS`);
//! `STATS` per key and value, then `INLINE STATS` per key, for a new value.
//!
//! Every run judges one schedule slot: the slot ends at `NOW()` less the
//! lateness bound, truncated to the schedule, and the slots of consecutive
//! runs tile event time, so each window (or event) is judged in exactly one
//! run. Why each shape is exact is said where it is printed, with the
//! Elastic documentation it rests on.

use std::cell::RefCell;

use super::syntax::Esql;
use crate::ir::{self, AggregateFunction, ArithmeticOp, Origin, Pack, Rule, Value};
use crate::targets::lower::decimal_number_or_bool;
use crate::targets::plan::{
    self, Cond, Condition, FingerprintStep, Leaf, Pred, Shape, Source, Window,
};
use crate::targets::{Mapping, Problem, duration_text, syntax};

mod cluster;
mod history;

/// How late an event may arrive: windows are reported only once they closed
/// this long ago (the evaluator's lateness bound).
const LATENESS_MS: i64 = crate::targets::kibana_rule::LATENESS_MS;

/// The column that tells grouping sets apart (0 for the first set).
const GROUPING_SET: &str = "tripline_grouping_set";

/// The column of a cluster's band key, the alert's group.
const FINGERPRINT: &str = "tripline_fingerprint";

/// The columns a cluster's fingerprint computes before its band key: each
/// word, its MD5, the band, the band's slice of the MD5 and the event's
/// distinct slices per band.
const FINGERPRINT_HELPERS: [&str; 6] = [
    FINGERPRINT,
    "tripline_word",
    "tripline_hash",
    "tripline_band",
    "tripline_slice",
    "tripline_slices",
];

/// A rule's query and how far back each run must read.
pub(super) struct Compiled {
    /// The ES|QL text.
    pub(super) text: String,
    /// The look-back of each run in milliseconds (Kibana's `from`).
    pub(super) look_back_ms: i64,
}

/// The ES|QL query of a rule.
pub fn rule_query(rule: &Rule, pack: &Pack, mapping: &Mapping) -> Result<String, Vec<Problem>> {
    compile(rule, pack, mapping).map(|compiled| compiled.text)
}

/// The ES|QL query of a rule and its look-back.
pub(super) fn compile(
    rule: &Rule,
    pack: &Pack,
    mapping: &Mapping,
) -> Result<Compiled, Vec<Problem>> {
    let (plan, problems) = plan::plan_and_problems(rule, pack);
    // A cluster is a window grouped by its fingerprint's band key.
    let cluster = match &plan.shape {
        Shape::Cluster {
            source,
            fingerprint,
            window_ms,
            condition,
        } => Some((
            Window {
                source: source.clone(),
                groupings: vec![vec![fingerprint.group_name().to_string()]],
                bucket_ms: *window_ms,
                condition: condition.clone(),
                context: Vec::new(),
            },
            fingerprint,
        )),
        _ => None,
    };
    let mut query = Query {
        origin: rule.origin,
        context_origin: rule.context_origin(),
        schedule_ms: rule.metadata.schedule_ms,
        pack,
        mapping,
        problems,
        learn_ms: plan.learn_ms,
    };
    let indexes = mapping.data_source.join(", ");
    let schedule_ms = rule.metadata.schedule_ms;
    let (text, look_back_ms) = match &plan.shape {
        Shape::Match(source) => {
            let (filter, added) = query.source(source, &[]);
            let mut commands = vec![format!("FROM {indexes} METADATA _id, _index, _version")];
            commands.extend(filter);
            // The alert keeps the event's fields, not the join's helpers.
            if !added.is_empty() {
                commands.push(format!("DROP {}", added.join(", ")));
            }
            (pipeline(&commands), schedule_ms + LATENESS_MS)
        }
        Shape::Window(window) => query.window(&indexes, window, None),
        Shape::Cluster { .. } => match &cluster {
            Some((window, fingerprint)) => query.window(&indexes, window, Some(fingerprint)),
            None => (query.fail("the cluster has no fingerprint"), 0),
        },
        Shape::NewValue {
            source,
            key,
            values,
            lookback_ms,
        } => query.new_value(&indexes, source, key, values, *lookback_ms),
        _ => (
            query.fail(format!(
                "a {} rule has no ES|QL translation in this target",
                ir::shape_name(&rule.detection)
            )),
            0,
        ),
    };
    if query.problems.is_empty() {
        Ok(Compiled { text, look_back_ms })
    } else {
        Err(query.problems)
    }
}

pub(super) struct Query<'a> {
    /// Where refusals are reported: the rule (or the panel).
    pub(super) origin: Origin,
    /// Where a refusal of the `context` clause is located.
    pub(super) context_origin: Origin,
    /// How often the rule runs (0 for a panel, which is not scheduled).
    pub(super) schedule_ms: i64,
    pub(super) pack: &'a Pack,
    pub(super) mapping: &'a Mapping,
    pub(super) problems: Vec<Problem>,
    /// The learning period of baselines and new values.
    pub(super) learn_ms: i64,
}

/// The event's time in epoch milliseconds, then the start of its
/// epoch-aligned bucket of `w` milliseconds in `column` (a floor modulo, so
/// times before 1970 fall in the bucket below): rules' windows and
/// dashboard panels' buckets alike.
pub(super) fn epoch_bucket(time: &str, column: &str, w: i64) -> [String; 2] {
    [
        format!("EVAL tripline_time_ms = TO_LONG({time})"),
        format!("EVAL {column} = tripline_time_ms - ((tripline_time_ms % {w}) + {w}) % {w}"),
    ]
}

/// The commands of a query, one per line.
pub(super) fn pipeline(commands: &[String]) -> String {
    commands.join("\n| ")
}

/// `a OR b OR ...`, each operand parenthesised when there are several.
fn any_of(mut tests: Vec<String>) -> String {
    if tests.len() == 1 {
        return tests.remove(0);
    }
    tests
        .iter()
        .map(|test| format!("({test})"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

impl<'a> Query<'a> {
    /// Records a refusal at the rule; the query gets `false` in its place.
    pub(super) fn fail(&mut self, message: impl Into<String>) -> String {
        self.problems
            .push(Problem::untranslatable(self.origin, message.into()));
        "false".to_string()
    }

    fn syntax(&self, source: &'a Source) -> Esql<'a> {
        Esql {
            mapping: self.mapping,
            schema: &self.pack.schema,
            types: &source.event_types,
            lookups: &self.pack.lookups,
            joins: None,
        }
    }

    pub(super) fn field(&mut self, source: &'a Source, canonical: &str) -> String {
        match self.syntax(source).field(canonical) {
            Ok(field) => field,
            Err(syntax::Unsupported(reason)) => self.fail(reason),
        }
    }

    /// The commands that select the source's events: one `WHERE` of the
    /// event types, the filter spelled by [`Esql`] and `extra` tests; where
    /// the filter reads lookup indexes, a `WHERE` of the event types first,
    /// then each key and `LOOKUP JOIN`, then the rest. Returns the commands
    /// and the columns the joins added.
    pub(super) fn source(
        &mut self,
        source: &'a Source,
        extra: &[String],
    ) -> (Vec<String>, Vec<String>) {
        let event_type = self.field(source, "event_type");
        let types: Vec<String> = source
            .event_types
            .iter()
            .map(|name| super::quote::esql_string(name))
            .collect();
        let types = match types.as_slice() {
            [single] => format!("{event_type} == {single}"),
            many => format!("{event_type} IN ({})", many.join(", ")),
        };
        let joins = RefCell::new(Vec::new());
        let mut parts = Vec::new();
        if let Some(filter) = &source.filter {
            let esql = Esql {
                joins: Some(&joins),
                ..self.syntax(source)
            };
            let condition = syntax::predicate(&esql, filter, &mut self.problems);
            parts.push(format!("({condition})"));
        }
        parts.extend(extra.iter().cloned());
        let joins = joins.into_inner();
        if joins.is_empty() {
            parts.insert(0, types);
            return (vec![format!("WHERE {}", parts.join(" AND "))], Vec::new());
        }
        let mut commands = vec![format!("WHERE {types}")];
        let mut added = Vec::new();
        for join in &joins {
            commands.extend(super::lookup::join_commands(
                &join.lookup,
                join.separator,
                &join.fields,
            ));
            added.push(super::lookup::key_column(&join.lookup));
            added.push(super::lookup::found_column(&join.lookup));
        }
        commands.push(format!("WHERE {}", parts.join(" AND ")));
        (commands, added)
    }

    /// A window rule: epoch-aligned windows computed from epoch
    /// milliseconds, one `STATS` per window and group, the windows that
    /// closed in this run's slot (at least the lateness bound ago), then the
    /// group's history (baselines), the ranks across groups (percentiles)
    /// and the condition. Returns the query and its look-back: the window,
    /// the longest baseline span, two schedule slots and the lateness bound,
    /// so that every event of the judged windows and of their history is
    /// read.
    /// With a cluster's `fingerprint`, the window's one grouping is the
    /// fingerprint's band key, computed per event first (see
    /// [`Self::fingerprint`]).
    fn window(
        &mut self,
        indexes: &str,
        window: &'a Window,
        fingerprint: Option<&'a plan::Fingerprint>,
    ) -> (String, i64) {
        let w = window.bucket_ms;
        let s = self.schedule_ms;
        if w <= 0 || s <= 0 {
            return (self.fail("the window and the schedule must be positive"), 0);
        }
        let condition = &window.condition;
        let history = !condition.baselines.is_empty();
        if history && s > w {
            // See `history`: one run judges at most one window only when the
            // schedule is no longer than the window.
            let message = format!(
                "a baseline is judged one window per run: the schedule ({}) must not be longer than the window ({})",
                duration_text(s),
                duration_text(w)
            );
            return (self.fail(message), 0);
        }
        let span_ms = condition
            .baselines
            .iter()
            .map(|baseline| baseline.span_ms)
            .max()
            .unwrap_or(0);
        let source = &window.source;
        let several = window.groupings.len() > 1;
        let mut fields: Vec<&String> = Vec::new();
        for field in window.groupings.iter().flatten() {
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        let keys: Vec<String> = fields
            .iter()
            .map(|field| match fingerprint {
                Some(fingerprint) if field.as_str() == fingerprint.group_name() => {
                    FINGERPRINT.to_string()
                }
                _ => self.field(source, field),
            })
            .collect();
        let mut commands = vec![format!("FROM {indexes}")];
        // The columns `STATS` groups by, and those renamed to their field after it.
        let mut by_keys = keys.clone();
        let mut renamed = Vec::new();
        if let Some(fingerprint) = fingerprint {
            // One row per event (`_id` in `_index`) is gathered back from its words.
            commands[0] = format!("FROM {indexes} METADATA _id, _index");
            let (tests, computed) = self.fingerprint(source, fingerprint, condition);
            commands.extend(self.source(source, &tests).0);
            commands.extend(computed);
        } else if several {
            commands.extend(self.source(source, &[]).0);
            let sets = grouping_sets(&window.groupings, &fields, &keys);
            commands.extend(sets.commands);
            by_keys = sets.columns;
            renamed = sets.renamed;
        } else {
            // The evaluator ignores events without a key; STATS would group them under null.
            let present: Vec<String> = keys
                .iter()
                .map(|key| format!("{key} IS NOT NULL"))
                .collect();
            commands.extend(self.source(source, &present).0);
        }
        let time = self.field(source, "timestamp");
        let names = self.aggregate_names(condition);
        let mut stats: Vec<String> = condition
            .aggregates
            .iter()
            .zip(&names)
            .map(|(aggregate, name)| format!("{name} = {}", self.aggregate(source, aggregate)))
            .collect();
        // `context`: VALUES gives the distinct values in no guaranteed order
        // (https://elastic.co/docs/reference/query-languages/esql/functions-operators/aggregation-functions/values),
        // MV_SORT sorts them lexicographically, ascending by default
        // (https://elastic.co/docs/reference/query-languages/esql/functions-operators/mv-functions/mv_sort).
        if history && !window.context.is_empty() {
            self.problems.push(Problem::lacks(
                self.context_origin,
                "`context` on a baseline rule: the baseline's second `STATS` regroups the window's rows, and ES|QL cannot group by the multivalued columns that carry the context",
            ));
        }
        for name in &window.context {
            let field = self.field(source, name);
            stats.push(format!("{field} = MV_SORT(VALUES({field}))"));
        }
        let mut group: Vec<String> = Vec::new();
        let mut by = vec!["tripline_window_start_ms".to_string()];
        if several {
            group.push(GROUPING_SET.to_string());
            by.push(GROUPING_SET.to_string());
        }
        group.extend(keys);
        by.extend(by_keys);
        commands.extend(epoch_bucket(&time, "tripline_window_start_ms", w));
        commands.push(format!("STATS {} BY {}", stats.join(", "), by.join(", ")));
        if !renamed.is_empty() {
            commands.push(format!("RENAME {}", renamed.join(", ")));
        }
        let slot_end = format!("(TO_LONG(NOW()) - {LATENESS_MS}) / {s} * {s}");
        let mut dropped: Vec<String> = vec![
            "tripline_window_start_ms".into(),
            "tripline_window_end_ms".into(),
            "tripline_slot_end_ms".into(),
        ];
        // A group's window alerts once its history reaches back the learning
        // period; tested after the percentiles, whose population is every group.
        let mut learned = None;
        if history {
            learned = Some(self.history(&mut commands, &mut dropped, condition, &names, &group, w));
        } else {
            commands.push(format!(
                "EVAL tripline_window_end_ms = tripline_window_start_ms + {w}, tripline_slot_end_ms = {slot_end}"
            ));
            commands.push(format!(
                "WHERE tripline_window_end_ms > tripline_slot_end_ms - {s} AND tripline_window_end_ms <= tripline_slot_end_ms"
            ));
        }
        let mut bucket = vec!["tripline_window_start_ms"];
        if several {
            bucket.push(GROUPING_SET);
        }
        for index in 0..condition.percentiles.len() {
            self.percentile(
                &mut commands,
                &mut dropped,
                condition,
                &names,
                index,
                &bucket.join(", "),
            );
        }
        let test = match &condition.root {
            Some(root) => self.condition(root, condition, &names),
            None => self.fail("the rule has no alert condition"),
        };
        if let Some(learned) = learned {
            commands.push(format!("WHERE {learned}"));
        }
        commands.push(format!("WHERE {test}"));
        commands.push(
            "EVAL tripline_window_start = TO_DATETIME(tripline_window_start_ms), tripline_window_end = TO_DATETIME(tripline_window_end_ms)"
                .to_string(),
        );
        commands.push(format!("DROP {}", dropped.join(", ")));
        (pipeline(&commands), w + span_ms + 2 * s + LATENESS_MS)
    }

    /// The column of each aggregate: its function and field, numbered
    /// when taken.
    pub(super) fn aggregate_names(&self, condition: &Condition) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for aggregate in &condition.aggregates {
            let base = match &aggregate.field {
                Some(field) => format!("{}_{field}", aggregate.function.name()),
                None => aggregate.function.name().to_string(),
            };
            let mut name = base.clone();
            let mut suffix = 2;
            while names.contains(&name) {
                name = format!("{base}_{suffix}");
                suffix += 1;
            }
            names.push(super::quote::field_reference(&name));
        }
        names
    }

    /// A condition over aggregates, total like the evaluator's: a
    /// comparison with an aggregate that has no value is false, never null.
    fn condition(&mut self, cond: &Cond, condition: &Condition, names: &[String]) -> String {
        match cond {
            Cond::Not(operand) => format!("NOT ({})", self.condition(operand, condition, names)),
            Cond::And(operands) | Cond::Or(operands) => {
                let joiner = if matches!(cond, Cond::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                operands
                    .iter()
                    .map(|operand| format!("({})", self.condition(operand, condition, names)))
                    .collect::<Vec<_>>()
                    .join(joiner)
            }
            Cond::Bool(value) => value.to_string(),
            Cond::Compare(op, left, right) => {
                let mut guards = Vec::new();
                let left = self.operand(left, condition, names, &mut guards);
                let right = self.operand(right, condition, names, &mut guards);
                guards.push(format!("{left} {} {right}", op.symbol()));
                if guards.len() == 1 {
                    guards.remove(0)
                } else {
                    format!("({})", guards.join(" AND "))
                }
            }
            _ => self.fail("this alert condition has no ES|QL translation"),
        }
    }

    /// A side of a comparison; a side that may have no value adds the
    /// guard that makes the comparison false then (also under `NOT`).
    fn operand(
        &mut self,
        cond: &Cond,
        condition: &Condition,
        names: &[String],
        guards: &mut Vec<String>,
    ) -> String {
        let text = self.value(cond, condition, names);
        if condition.may_be_missing(cond) {
            guards.push(format!("{text} IS NOT NULL"));
        }
        text
    }

    /// A number: a constant, an aggregate, baseline or percentile column, or
    /// arithmetic over doubles as the evaluator computes it. ES|QL divides
    /// integers with truncation and overflows longs to null, so integer
    /// operands are converted with `TO_DOUBLE`; a division by zero has no
    /// value (`CASE` without an else is null).
    /// https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/operators
    pub(super) fn value(&mut self, cond: &Cond, condition: &Condition, names: &[String]) -> String {
        let constant = match cond {
            Cond::Int(value) => Value::Int(*value),
            Cond::Float(value) => Value::Float(*value),
            Cond::Bool(value) => Value::Bool(*value),
            Cond::Leaf(Leaf::Aggregate(index)) => return names[*index].clone(),
            Cond::Leaf(Leaf::Baseline(index)) => return format!("baseline_{}", index + 1),
            Cond::Leaf(Leaf::Percentile(index)) => return format!("percentile_{}", index + 1),
            Cond::Arithmetic(op, left, right) => {
                let doubles = self.is_double(left, condition) || self.is_double(right, condition);
                let left_text = self.value(left, condition, names);
                let right_text = self.value(right, condition, names);
                let left_text = if doubles {
                    left_text
                } else {
                    format!("TO_DOUBLE({left_text})")
                };
                return match op {
                    ArithmeticOp::Add => format!("({left_text} + {right_text})"),
                    ArithmeticOp::Subtract => format!("({left_text} - {right_text})"),
                    ArithmeticOp::Multiply => format!("({left_text} * {right_text})"),
                    ArithmeticOp::Divide => {
                        format!("CASE({right_text} != 0, {left_text} / {right_text})")
                    }
                };
            }
            Cond::Missing => return self.fail("the compared value is not a number"),
            _ => {
                return self.fail(
                    "only aggregates, numbers and parameters are compared in an ES|QL alert condition",
                );
            }
        };
        match decimal_number_or_bool(&constant) {
            Some(text) => text,
            None => self.fail("the compared value is not a number"),
        }
    }

    /// Whether the ES|QL value of `cond` is a double whatever the data.
    pub(super) fn is_double(&self, cond: &Cond, condition: &Condition) -> bool {
        match cond {
            Cond::Float(_) | Cond::Arithmetic(..) | Cond::Leaf(Leaf::Baseline(_)) => true,
            Cond::Leaf(Leaf::Aggregate(index)) => {
                condition.aggregates[*index].function == AggregateFunction::Avg
            }
            _ => false,
        }
    }

    /// One aggregate; a filter selects the events through `CASE` (a `null`
    /// condition is false there).
    pub(super) fn aggregate(&mut self, source: &'a Source, aggregate: &plan::Aggregate) -> String {
        let predicate = aggregate
            .filter
            .as_ref()
            .map(|filter| syntax::predicate(&self.syntax(source), filter, &mut self.problems));
        let Some(canonical) = aggregate.field.as_deref() else {
            return match predicate {
                Some(predicate) => format!("SUM(CASE({predicate}, 1, 0))"),
                None => "COUNT(*)".to_string(),
            };
        };
        let field = self.field(source, canonical);
        let value = match &predicate {
            Some(predicate) => format!("CASE({predicate}, {field})"),
            None => field.clone(),
        };
        match aggregate.function {
            AggregateFunction::Count => match predicate {
                Some(predicate) => format!("SUM(CASE({predicate}, 1, 0))"),
                None => "COUNT(*)".to_string(),
            },
            // Exact: COUNT_DISTINCT is a HyperLogLog estimate above its precision threshold.
            AggregateFunction::Distinct => format!("COALESCE(MV_COUNT(VALUES({value})), 0)"),
            AggregateFunction::Sum => {
                let numeric = self
                    .mapping
                    .field(canonical)
                    .is_some_and(|field| matches!(field.field_type.as_str(), "long" | "double"));
                if !numeric {
                    return self.fail("`sum` of a field that is not a number");
                }
                format!("COALESCE(SUM({value}), 0)")
            }
            AggregateFunction::Avg => format!("AVG({value})"),
            AggregateFunction::Min => format!("MIN({value})"),
            AggregateFunction::Max => format!("MAX({value})"),
        }
    }
}

/// The fields a condition's aggregates read: their arguments and the fields
/// of their filters, in order, each once.
fn condition_fields(condition: &Condition) -> Vec<String> {
    fn pred_fields(pred: &Pred, fields: &mut Vec<String>) {
        match pred {
            Pred::And(operands) | Pred::Or(operands) => {
                for operand in operands {
                    pred_fields(operand, fields);
                }
            }
            Pred::Not(operand) => pred_fields(operand, fields),
            Pred::Exists(field, _) => fields.push(field.clone()),
            Pred::Test(test) => {
                fields.extend(test.fields());
                fields.extend(test.guard.iter().cloned());
            }
        }
    }
    let mut fields = Vec::new();
    for aggregate in &condition.aggregates {
        fields.extend(aggregate.field.iter().cloned());
        if let Some(filter) = &aggregate.filter {
            pred_fields(filter, &mut fields);
        }
    }
    let mut unique: Vec<String> = Vec::new();
    for field in fields {
        if !unique.contains(&field) {
            unique.push(field);
        }
    }
    unique
}

/// The commands that prepare grouping sets for one `STATS`, the columns it
/// groups the keys by, and their renames back to the fields after it.
struct GroupingSets {
    commands: Vec<String>,
    columns: Vec<String>,
    renamed: Vec<String>,
}

/// Grouping sets in one `STATS`: each event is repeated once per set
/// (`MV_EXPAND` of the set numbers); a key field that some set lacks is
/// grouped by a column that is `null` outside the sets that have it (the
/// field itself stays, for the aggregates that read it), and rows whose set
/// misses one of its keys are dropped. The `STATS` that follows groups by
/// the set number with every key column, so each set's groups are exactly its
/// own (a null key groups as one value, as the SQL targets' `NULL AS
/// field`), and renames the columns back to their fields. `MV_EXPAND` gives
/// one row per value with the other columns duplicated (technical preview
/// since 8.11):
/// https://www.elastic.co/docs/reference/query-languages/esql/commands/mv_expand.
/// `STATS ... BY` a multivalued key alone would also put a row in every
/// group (https://www.elastic.co/docs/reference/query-languages/esql/commands/stats-by#esql-stats-mv-group),
/// but with several multivalued keys it groups by every combination, which
/// would mix one set's key with another's.
fn grouping_sets(groupings: &[Vec<String>], fields: &[&String], keys: &[String]) -> GroupingSets {
    let is_set = |members: &[usize]| match members {
        [single] => format!("{GROUPING_SET} == {single}"),
        many => format!(
            "{GROUPING_SET} IN ({})",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let sets: Vec<String> = (0..groupings.len())
        .map(|index| index.to_string())
        .collect();
    let mut commands = vec![
        format!("EVAL {GROUPING_SET} = [{}]", sets.join(", ")),
        format!("MV_EXPAND {GROUPING_SET}"),
    ];
    let present: Vec<String> = groupings
        .iter()
        .enumerate()
        .map(|(index, grouping)| {
            let mut tests = vec![is_set(&[index])];
            for field in grouping {
                if let Some(position) = fields.iter().position(|known| *known == field) {
                    tests.push(format!("{} IS NOT NULL", keys[position]));
                }
            }
            tests.join(" AND ")
        })
        .collect();
    commands.push(format!("WHERE {}", any_of(present)));
    let mut columns = Vec::new();
    let mut outside = Vec::new();
    let mut renamed = Vec::new();
    for (field, key) in fields.iter().zip(keys) {
        let members: Vec<usize> = groupings
            .iter()
            .enumerate()
            .filter(|(_, grouping)| grouping.contains(field))
            .map(|(index, _)| index)
            .collect();
        if members.len() == groupings.len() {
            columns.push(key.clone());
            continue;
        }
        let column = super::quote::field_reference(&format!("tripline_group_{field}"));
        outside.push(format!("{column} = CASE({}, {key})", is_set(&members)));
        renamed.push(format!("{column} AS {key}"));
        columns.push(column);
    }
    if !outside.is_empty() {
        commands.push(format!("EVAL {}", outside.join(", ")));
    }
    GroupingSets {
        commands,
        columns,
        renamed,
    }
}

#[cfg(test)]
mod tests;
