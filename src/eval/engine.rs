//! The engine: every loaded rule, fed one event at a time in time order.
//!
//! Input: an [`ir::Pack`] and [`EvalOptions`] at construction, then
//! [`Event`]s in non-decreasing time order. Output: [`Alert`]s through a
//! callback, in the order they are raised in event time (ties by rule id, then
//! by the group's JSON text, then in raising order).
//!
//! At load time the engine plans the hot path: the projection (which fields
//! to materialise, which case-folded variants to precompute, which fields the
//! shapes read after the filters), compiled filters with shared automata (run
//! by the projection when a line is parsed: a filter reads one event, so its
//! result does not depend on order; the engine reads the result bits), and an
//! index from event type to the rules that read it. Per event: windows whose end the event's time has reached are closed
//! first (so an event at a window's end belongs to the next window), alerts
//! raised before the event's time are released in order, then the rules that
//! read the event's type see it.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use super::EvalOptions;
use super::cluster::ClusterShape;
use super::compile::Compiler;
use super::error::EvalError;
use super::event::Event;
use super::event::FilterId;
use super::group::KeyValue;
use super::new_value::NewValueShape;
use super::output::Alert;
use super::projection::Projection;
use super::sequence::{SequenceShape, StepPlan};
use super::state::{Context, Raised};
use super::time::format_millis;
use super::window::{Grouping, WindowShape};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{self, Detection, Severity};

#[derive(Debug)]
enum Shape {
    /// One alert per event, its `group` the event's values of the rule's
    /// key fields ([`ir::Schema::match_key`]) that it has.
    Match(Grouping),
    Window(WindowShape),
    NewValue(NewValueShape),
    Cluster(ClusterShape),
    Sequence(SequenceShape),
}

#[derive(Debug)]
struct RuleRuntime {
    id: String,
    severity: Severity,
    title: String,
    /// The detection's filter (sequences filter per step instead).
    filter: Option<FilterId>,
    shape: Shape,
}

/// Where alerts go with the event time they were raised at.
pub(crate) type TimedOut<'a> = &'a mut dyn FnMut(i64, &Alert) -> io::Result<()>;

#[derive(Debug)]
struct Pending {
    time: i64,
    rule: usize,
    group: String,
    alert: Alert,
}

/// Evaluates the loaded rules over events in time order.
#[derive(Debug)]
pub struct Engine {
    projection: Arc<Projection>,
    rules: Vec<RuleRuntime>,
    dispatch: Vec<Vec<usize>>,
    pending: Vec<Pending>,
    raised: Vec<Raised>,
    watermark: i64,
    next_deadline: i64,
    learn_ms: i64,
    max_event_ids: usize,
    input_names: Vec<String>,
    alerts: BTreeMap<String, u64>,
}

fn compile_error(rule: &ir::Rule, message: &str) -> EvalError {
    EvalError::Usage(Box::new(
        Diagnostic::new(
            Code::EVENT_RULE_UNSUPPORTED,
            format!("rule `{}` cannot be evaluated: {message}", rule.id),
        )
        .in_file(rule.file.clone()),
    ))
}

impl Engine {
    /// Plans the evaluation of the pack's rules (those named in
    /// `options.rules`, or all).
    pub fn new(pack: &ir::Pack, options: &EvalOptions) -> Result<Engine, EvalError> {
        for id in &options.rules {
            if pack.rule(id).is_none() {
                let mut diagnostic = Diagnostic::new(
                    Code::EVENT_UNKNOWN_RULE,
                    format!("no rule has the id `{id}`"),
                );
                let names: Vec<&str> = pack.rules.iter().map(|rule| rule.id.as_str()).collect();
                if let Some(close) =
                    crate::diagnostics::suggest::did_you_mean(id, names.iter().copied())
                {
                    diagnostic = diagnostic.help(format!("did you mean `{close}`?"));
                }
                return Err(EvalError::Usage(Box::new(diagnostic)));
            }
        }
        let mut selected: Vec<&ir::Rule> = pack
            .rules
            .iter()
            .filter(|rule| options.rules.is_empty() || options.rules.contains(&rule.id))
            .collect();
        selected.sort_by(|left, right| left.id.cmp(&right.id));
        // A first pass learns which fields the shapes read, so that the
        // projection gives them the lowest slots (an event waiting in the
        // reorder buffer keeps only those); a rule that does not compile is
        // reported by the second pass.
        let mut first = Compiler::new(pack, &[]);
        for rule in &selected {
            let _ = compile_detection(&mut first, &rule.detection);
        }
        let kept = first.projection.kept_names();
        let mut compiler = Compiler::reusing(pack, &kept, first);
        let mut rules = Vec::with_capacity(selected.len());
        let mut dispatch: Vec<Vec<usize>> = Vec::new();
        let mut rule_types = Vec::new();
        for rule in selected {
            for field in &rule.fields {
                compiler.field(field);
            }
            let (filter, shape, types) = compile_detection(&mut compiler, &rule.detection)
                .map_err(|message| compile_error(rule, &message))?;
            rules.push(RuleRuntime {
                id: rule.id.clone(),
                severity: rule.metadata.severity,
                title: rule.metadata.title.clone(),
                filter,
                shape,
            });
            rule_types.push(types);
        }
        dispatch.resize(compiler.projection.event_type_count(), Vec::new());
        for (index, types) in rule_types.iter().enumerate() {
            for event_type in types {
                if let Some(list) = dispatch.get_mut(*event_type as usize) {
                    list.push(index);
                }
            }
        }
        let alerts = rules.iter().map(|rule| (rule.id.clone(), 0)).collect();
        Ok(Engine {
            projection: Arc::new(compiler.projection),
            rules,
            dispatch,
            pending: Vec::new(),
            raised: Vec::new(),
            watermark: i64::MIN,
            next_deadline: i64::MAX,
            learn_ms: options.learn_ms.max(0),
            max_event_ids: options.max_event_ids,
            input_names: Vec::new(),
            alerts,
        })
    }

    /// The projection the parser must use for this engine's rules.
    pub fn projection(&self) -> Arc<Projection> {
        self.projection.clone()
    }

    /// Names of the inputs, for the ids of events without `event_id` (`name:line`).
    pub fn set_input_names(&mut self, names: Vec<String>) {
        self.input_names = names;
    }

    /// Alerts raised so far per rule id (every loaded rule, 0 included).
    pub fn alert_counts(&self) -> &BTreeMap<String, u64> {
        &self.alerts
    }

    /// The number of live state entries (groups of open windows, baseline
    /// histories, new-value sightings, sequence keys, clusters), for tests
    /// that check state is dropped.
    pub fn live_state(&self) -> usize {
        self.rules
            .iter()
            .map(|rule| match &rule.shape {
                Shape::Match(_) => 0,
                Shape::Window(shape) => shape.live_state(),
                Shape::NewValue(shape) => shape.live_state(),
                Shape::Cluster(shape) => shape.live_state(),
                Shape::Sequence(shape) => shape.live_state(),
            })
            .sum()
    }

    /// Feeds one event (events must come in non-decreasing time order).
    /// Returns whether any rule reads the event's type.
    pub fn process(
        &mut self,
        event: &Event,
        out: &mut dyn FnMut(&Alert) -> io::Result<()>,
    ) -> io::Result<bool> {
        self.process_timed(event, &mut |_, alert| out(alert))
    }

    /// [`Engine::process`], telling `out` the event time each alert was
    /// raised at (its event's, or its window's end).
    pub(crate) fn process_timed(&mut self, event: &Event, out: TimedOut<'_>) -> io::Result<bool> {
        if event.time > self.watermark {
            self.advance_timed(event.time, out)?;
        }
        let context = Context {
            learn_ms: self.learn_ms,
            max_event_ids: self.max_event_ids,
            input_names: &self.input_names,
        };
        let Some(event_type) = event.event_type else {
            return Ok(false);
        };
        let Some(rule_indexes) = self.dispatch.get(event_type as usize) else {
            return Ok(false);
        };
        if rule_indexes.is_empty() {
            return Ok(false);
        }
        for &index in rule_indexes {
            let rule = &mut self.rules[index];
            if rule.filter.is_some_and(|filter| !event.passed(filter)) {
                continue;
            }
            match &mut rule.shape {
                Shape::Match(key) => {
                    let mut evidence = super::state::Evidence::new(event.time);
                    evidence.add_event(event, &context);
                    let group = key
                        .names
                        .iter()
                        .zip(&key.slots)
                        .filter_map(|(name, slot)| {
                            let value = event.scalar(*slot)?;
                            Some((name.clone(), KeyValue::from_scalar(value).to_json()))
                        })
                        .collect();
                    self.raised.push(Raised {
                        time: event.time,
                        group,
                        evidence,
                        values: BTreeMap::new(),
                        context: BTreeMap::new(),
                    });
                }
                Shape::Window(shape) => shape.observe(event, &context, &mut self.raised),
                Shape::NewValue(shape) => shape.observe(event, &context, &mut self.raised),
                Shape::Cluster(shape) => shape.observe(event, &context, &mut self.raised),
                Shape::Sequence(shape) => shape.observe(event, &context, &mut self.raised),
            }
            self.next_deadline = self.next_deadline.min(deadline(&rule.shape));
            Self::collect(&mut self.raised, &mut self.pending, rule, index);
        }
        Ok(true)
    }

    /// Moves event time forward to `time` (later than the watermark): closes
    /// what ends by then and releases the alerts raised before it. `process`
    /// does this for each later event; a stream reader calls it with the
    /// input's floor so that alerts go out without waiting for the next line.
    pub fn advance(
        &mut self,
        time: i64,
        out: &mut dyn FnMut(&Alert) -> io::Result<()>,
    ) -> io::Result<()> {
        self.advance_timed(time, &mut |_, alert| out(alert))
    }

    /// [`Engine::advance`] with the time each alert was raised at.
    pub(crate) fn advance_timed(&mut self, time: i64, out: TimedOut<'_>) -> io::Result<()> {
        if time <= self.watermark {
            return Ok(());
        }
        let context = Context {
            learn_ms: self.learn_ms,
            max_event_ids: self.max_event_ids,
            input_names: &self.input_names,
        };
        if time >= self.next_deadline {
            let mut next = i64::MAX;
            for (index, rule) in self.rules.iter_mut().enumerate() {
                match &mut rule.shape {
                    Shape::Match(_) => {}
                    Shape::Window(shape) => shape.advance(time, &context, &mut self.raised),
                    Shape::Cluster(shape) => shape.advance(time, &context, &mut self.raised),
                    Shape::NewValue(shape) => shape.advance(time),
                    Shape::Sequence(shape) => shape.advance(time),
                }
                Self::collect(&mut self.raised, &mut self.pending, rule, index);
                next = next.min(deadline(&rule.shape));
            }
            self.next_deadline = next;
        }
        self.watermark = time;
        flush(&mut self.pending, Some(time), &mut self.alerts, out)?;
        Ok(())
    }

    /// Ends the input: closes every open window and releases every alert.
    pub fn finish(&mut self, out: &mut dyn FnMut(&Alert) -> io::Result<()>) -> io::Result<()> {
        self.finish_timed(&mut |_, alert| out(alert))
    }

    /// [`Engine::finish`] with the time each alert was raised at.
    pub(crate) fn finish_timed(&mut self, out: TimedOut<'_>) -> io::Result<()> {
        let context = Context {
            learn_ms: self.learn_ms,
            max_event_ids: self.max_event_ids,
            input_names: &self.input_names,
        };
        for (index, rule) in self.rules.iter_mut().enumerate() {
            match &mut rule.shape {
                Shape::Window(shape) => shape.finish(&context, &mut self.raised),
                Shape::Cluster(shape) => shape.finish(&mut self.raised),
                Shape::Match(_) | Shape::NewValue(_) | Shape::Sequence(_) => {}
            }
            Self::collect(&mut self.raised, &mut self.pending, rule, index);
        }
        self.next_deadline = i64::MAX;
        flush(&mut self.pending, None, &mut self.alerts, out)
    }

    fn collect(
        raised: &mut Vec<Raised>,
        pending: &mut Vec<Pending>,
        rule: &RuleRuntime,
        index: usize,
    ) {
        for raised in raised.drain(..) {
            let group = serde_json::to_string(&raised.group).unwrap_or_default();
            pending.push(Pending {
                time: raised.time,
                rule: index,
                group,
                alert: Alert {
                    rule_id: rule.id.clone(),
                    severity: rule.severity,
                    title: rule.title.clone(),
                    group: raised.group,
                    first_seen: format_millis(raised.evidence.first),
                    last_seen: format_millis(raised.evidence.last),
                    count: raised.evidence.count,
                    event_ids: raised.evidence.ids(),
                    truncated: raised.evidence.truncated,
                    values: raised.values,
                    context: raised.context,
                },
            });
        }
    }
}

fn deadline(shape: &Shape) -> i64 {
    match shape {
        Shape::Match(_) => i64::MAX,
        Shape::Window(shape) => shape.deadline(),
        Shape::Cluster(shape) => shape.deadline(),
        Shape::NewValue(shape) => shape.deadline(),
        Shape::Sequence(shape) => shape.deadline(),
    }
}

/// Releases pending alerts raised before `before` (all when `None`), in order.
fn flush(
    pending: &mut Vec<Pending>,
    before: Option<i64>,
    counts: &mut BTreeMap<String, u64>,
    out: TimedOut<'_>,
) -> io::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let limit = before.unwrap_or(i64::MAX);
    if before.is_some() && pending.iter().all(|item| item.time >= limit) {
        return Ok(());
    }
    pending.sort_by(|left, right| {
        (left.time, left.rule, &left.group).cmp(&(right.time, right.rule, &right.group))
    });
    let ready = if before.is_some() {
        pending.partition_point(|item| item.time < limit)
    } else {
        pending.len()
    };
    for item in pending.drain(..ready) {
        *counts.entry(item.alert.rule_id.clone()).or_default() += 1;
        out(item.time, &item.alert)?;
    }
    Ok(())
}

type CompiledDetection = (Option<FilterId>, Shape, Vec<u32>);

fn grouping(compiler: &mut Compiler<'_>, names: &[String]) -> Grouping {
    Grouping {
        slots: names
            .iter()
            .map(|name| compiler.shape_field(name))
            .collect(),
        names: names.to_vec(),
    }
}

fn compile_detection(
    compiler: &mut Compiler<'_>,
    detection: &Detection,
) -> Result<CompiledDetection, String> {
    // Filters (and, through `set_rule_types`, the aggregate filters of the
    // condition compiled next) apply to the source's event types.
    let filter = |compiler: &mut Compiler<'_>, source: &ir::Source| {
        let types = compiler.event_types(&source.event_types);
        compiler.set_rule_types(&types);
        source
            .filter
            .as_ref()
            .map(|expr| compiler.filter(expr, &types))
            .transpose()
    };
    Ok(match detection {
        Detection::Match { source } => (
            filter(compiler, source)?,
            {
                let key = compiler.pack().schema.match_key(&source.event_types);
                Shape::Match(grouping(compiler, &key))
            },
            compiler.event_types(&source.event_types),
        ),
        Detection::Window {
            source,
            groupings,
            window_ms,
            condition,
            context,
            ..
        } => {
            let predicate = filter(compiler, source)?;
            let context: Vec<(String, u16)> = context
                .iter()
                .map(|name| (name.clone(), compiler.shape_field(name)))
                .collect();
            let mut sets: Vec<Grouping> = groupings
                .iter()
                .map(|names| grouping(compiler, names))
                .collect();
            if sets.is_empty() {
                sets.push(Grouping {
                    slots: Vec::new(),
                    names: Vec::new(),
                });
            }
            let condition = compiler.condition(condition)?;
            (
                predicate,
                Shape::Window(WindowShape::new(sets, *window_ms, condition, context)),
                compiler.event_types(&source.event_types),
            )
        }
        Detection::NewValue {
            source,
            values,
            key,
            lookback_ms,
        } => {
            let predicate = filter(compiler, source)?;
            let key_group = grouping(compiler, key);
            let value_group = grouping(compiler, values);
            (
                predicate,
                Shape::NewValue(NewValueShape::new(
                    key_group.slots,
                    key_group.names,
                    value_group.slots,
                    value_group.names,
                    *lookback_ms,
                )),
                compiler.event_types(&source.event_types),
            )
        }
        Detection::Cluster {
            source,
            field,
            similarity,
            min_length,
            window_ms,
            condition,
        } => {
            let predicate = filter(compiler, source)?;
            let slot = compiler.shape_field(field);
            let condition = compiler.condition(condition)?;
            (
                predicate,
                Shape::Cluster(ClusterShape::new(
                    slot,
                    *similarity,
                    *min_length,
                    *window_ms,
                    condition,
                )),
                compiler.event_types(&source.event_types),
            )
        }
        Detection::Sequence {
            by,
            within_ms,
            steps,
        } => {
            let key = grouping(compiler, by);
            let mut plans = Vec::with_capacity(steps.len());
            let mut types = Vec::new();
            for step in steps {
                let event_types = compiler.event_types(&step.source.event_types);
                types.extend(event_types.iter().copied());
                plans.push(StepPlan {
                    event_types,
                    filter: filter(compiler, &step.source)?,
                    repeat: step.repeat,
                });
            }
            types.sort_unstable();
            types.dedup();
            if plans.is_empty() || plans.len() > 64 {
                return Err("a sequence needs between 1 and 64 steps".to_string());
            }
            (
                None,
                Shape::Sequence(SequenceShape::new(key.slots, key.names, *within_ms, plans)),
                types,
            )
        }
    })
}
