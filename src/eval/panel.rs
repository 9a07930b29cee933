//! Dashboard panels computed from events: the data of `tripline dashboard
//! preview`.
//!
//! Input: a checked [`Dashboard`], its pack, and events (files or values in
//! memory). Output: per panel, the rows a SIEM's query of the panel returns
//! over the same events: `(bucket start if any, group key values, measure
//! values)`, sorted.
//!
//! A panel is compiled with the rules' compiler (filters, aggregate filters,
//! event types, group-key slots) and fed with the evaluator's aggregate
//! states; panel baselines use the rules' baseline mean
//! ([`super::window::baseline_mean`]); an alerts panel runs the pack's rules
//! with the [`Engine`]. Only the aggregation and the time range are its own.
//!
//! # Time range
//!
//! Sample events are not "now": a preview's range ends at the time of the
//! last event read (`end`), and a panel reads the events at or after
//! `end - range`. Buckets are epoch-aligned, so the first and last bucket of
//! a range may be partial, as in a SIEM's time chart over the same range.
//! Rows exist for the (bucket, group) pairs that have events, as `stats ...
//! by` gives them (a panel without keys or buckets has its one row even
//! over no events: a count of 0); a group whose key field is missing from an
//! event does not count it.
//!
//! An alerts panel counts the alerts raised inside the range, at the time the
//! evaluator raises them (a match at its event, a window at its end): a
//! window still open at the last event would only be raised later, so it is
//! not counted, as a SIEM searching at that moment would not have it yet.
//!
//! The input is read twice (once for its last time, once for the panels), so
//! it must be a file, not a stream.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::Arc;

use super::compile::Compiler;
use super::condition::{AggregateState, Cond, Condition, Leaves};
use super::engine::Engine;
use super::event::{Event, FilterId, Scalar};
use super::group::{KeyMap, KeyValue};
use super::input::{self, Input};
use super::projection::{Projection, Scratch};
use super::time::window_start;
use super::window::baseline_mean;
use super::{EvalError, EvalOptions};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::dashboard::{Dashboard, GroupKey, Panel, PanelQuery};
use crate::ir::{self, Pack};

/// One value of a group key, as shown.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPart {
    /// A boolean field.
    Bool(bool),
    /// An integer field.
    Int(i64),
    /// A float field, or a `bin(...)` range's lower bound.
    Float(f64),
    /// Text (strings, addresses, rule ids).
    Text(String),
}

impl KeyPart {
    fn from_key(value: &KeyValue) -> KeyPart {
        match value {
            KeyValue::Str(text) => KeyPart::Text(text.to_string()),
            KeyValue::Int(value) => KeyPart::Int(*value),
            KeyValue::Float(bits) => KeyPart::Float(f64::from_bits(*bits)),
            KeyValue::Bool(value) => KeyPart::Bool(*value),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            KeyPart::Bool(_) => 0,
            KeyPart::Int(_) | KeyPart::Float(_) => 1,
            KeyPart::Text(_) => 2,
        }
    }

    /// A total order: booleans, then numbers by value, then text.
    pub fn total_cmp(&self, other: &KeyPart) -> std::cmp::Ordering {
        use KeyPart::{Bool, Float, Int, Text};
        match (self, other) {
            (Bool(left), Bool(right)) => left.cmp(right),
            (Int(left), Int(right)) => left.cmp(right),
            (Int(left), Float(right)) => (*left as f64).total_cmp(right),
            (Float(left), Int(right)) => left.total_cmp(&(*right as f64)),
            (Float(left), Float(right)) => left.total_cmp(right),
            (Text(left), Text(right)) => left.cmp(right),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl fmt::Display for KeyPart {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyPart::Bool(value) => write!(formatter, "{value}"),
            KeyPart::Int(value) => write!(formatter, "{value}"),
            KeyPart::Float(value) => write!(formatter, "{value}"),
            KeyPart::Text(text) => formatter.write_str(text),
        }
    }
}

/// One result row of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelRow {
    /// The bucket's start in epoch milliseconds, when the panel is over time.
    pub bucket: Option<i64>,
    /// The group key values, in the order of [`PanelData::keys`].
    pub keys: Vec<KeyPart>,
    /// The measure values, in the order of [`PanelData::measures`]; none
    /// where the expression has no value (an `avg` of nothing, a division by
    /// zero, a baseline without history).
    pub values: Vec<Option<f64>>,
}

/// The computed data of one panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelData {
    /// The panel's id.
    pub id: String,
    /// The key column names (`api_key_id`, `output_tokens_bin`; `rule` for
    /// an alerts panel).
    pub keys: Vec<String>,
    /// The measure column names (`alerts` for an alerts panel).
    pub measures: Vec<String>,
    /// The measures as written, for legends (same order as `measures`).
    pub labels: Vec<String>,
    /// Bucket length in milliseconds, when over time.
    pub bucket_ms: Option<i64>,
    /// The range read, `[start, end]` in epoch milliseconds; none without events.
    pub range: Option<(i64, i64)>,
    /// The rows: by bucket, then by key; with `top`, by the first measure
    /// (descending), then by key.
    pub rows: Vec<PanelRow>,
}

/// A dashboard's data: each panel's, in the dashboard's order.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardData {
    /// The time of the last event read (the end of every range); none without events.
    pub end: Option<i64>,
    /// Events read.
    pub events: u64,
    /// The panels.
    pub panels: Vec<PanelData>,
}

/// Computes every panel of `dashboard` from event files.
pub fn dashboard_data(
    pack: &Pack,
    dashboard: &Dashboard,
    inputs: &[Input],
    options: &EvalOptions,
) -> Result<DashboardData, EvalError> {
    if let Some(stream) = inputs.iter().find(|input| input.is_live()) {
        return Err(EvalError::Usage(Box::new(Diagnostic::new(
            Code::EVENT_INPUT_UNREADABLE,
            format!(
                "{}: a preview reads its events twice, so they must come from a file",
                stream.name()
            ),
        ))));
    }
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    compute(pack, dashboard, options, &names, &mut |projection, each| {
        read_inputs(inputs, projection, options, each)
    })
}

/// Computes every panel of `dashboard` from events held in memory (in any
/// order), for tests. Bad events are errors naming `<events>:N`.
pub fn dashboard_values(
    pack: &Pack,
    dashboard: &Dashboard,
    events: &[serde_json::Value],
    options: &EvalOptions,
) -> Result<DashboardData, EvalError> {
    const NAME: &str = "<events>";
    let names = vec![NAME.to_string()];
    compute(pack, dashboard, options, &names, &mut |projection, each| {
        let mut parsed = Vec::with_capacity(events.len());
        let mut scratch = Scratch::default();
        for (index, value) in events.iter().enumerate() {
            let line = serde_json::to_string(value).unwrap_or_default();
            match projection.parse_line(&line, 0, index as u64 + 1, &mut scratch) {
                Ok(Some(event)) => parsed.push(event),
                Ok(None) => {}
                Err(_) if options.skip_invalid => {}
                Err(error) => return Err(EvalError::Input(Box::new(error.to_diagnostic(NAME)))),
            }
        }
        parsed.sort_by(super::event::processing_order);
        for event in &parsed {
            each(event)?;
        }
        Ok(())
    })
}

/// Feeds every event of `inputs`, in time order, to `each`.
fn read_inputs(
    inputs: &[Input],
    projection: &Arc<Projection>,
    options: &EvalOptions,
    each: &mut dyn FnMut(&Event) -> Result<(), EvalError>,
) -> Result<(), EvalError> {
    std::thread::scope(|scope| {
        let mut merged = input::Merged::open(
            scope,
            inputs,
            projection,
            &input::ReadOptions {
                threads: options.threads,
                lateness: options.lateness_ms,
                max_line: options.max_line_bytes,
                progress: None,
            },
        )?;
        while let Some((index, item)) = merged.next()? {
            match item {
                input::Item::Event(event) => each(&event)?,
                input::Item::Bad(error) => {
                    if !options.skip_invalid {
                        let name = inputs.get(index).map_or("<input>".to_string(), Input::name);
                        return Err(EvalError::Input(Box::new(error.to_diagnostic(&name))));
                    }
                }
            }
        }
        Ok(())
    })
}

/// Reads events with a projection, feeding each to the callback.
type Reader<'a> = dyn FnMut(
        &Arc<Projection>,
        &mut dyn FnMut(&Event) -> Result<(), EvalError>,
    ) -> Result<(), EvalError>
    + 'a;

fn compute(
    pack: &Pack,
    dashboard: &Dashboard,
    options: &EvalOptions,
    input_names: &[String],
    read: &mut Reader<'_>,
) -> Result<DashboardData, EvalError> {
    let mut compiler = Compiler::new(pack, &[]);
    let mut panels = Vec::with_capacity(dashboard.panels.len());
    for panel in &dashboard.panels {
        panels.push(
            PanelRuntime::compile(&mut compiler, panel)
                .map_err(|message| panel_error(dashboard, panel, &message))?,
        );
    }
    let projection = Arc::new(compiler.projection);
    let wants_alerts = panels
        .iter()
        .any(|panel| matches!(panel.body, Body::Alerts { .. }));

    // First pass: the last event's time, and the alerts (raised at their
    // event time) when a panel counts them.
    let mut alerts: Vec<(i64, String)> = Vec::new();
    let mut events = 0u64;
    let mut end: Option<i64> = None;
    if wants_alerts {
        let mut engine = Engine::new(pack, options)?;
        engine.set_input_names(input_names.to_vec());
        let mut sink = |time: i64, alert: &super::Alert| -> io::Result<()> {
            alerts.push((time, alert.rule_id.clone()));
            Ok(())
        };
        read(&engine.projection(), &mut |event| {
            events += 1;
            end = Some(end.map_or(event.time, |end: i64| end.max(event.time)));
            engine
                .process_timed(event, &mut sink)
                .map(|_| ())
                .map_err(EvalError::Write)
        })?;
        engine.finish_timed(&mut sink).map_err(EvalError::Write)?;
    } else {
        read(&projection, &mut |event| {
            events += 1;
            end = Some(end.map_or(event.time, |end: i64| end.max(event.time)));
            Ok(())
        })?;
    }

    // Second pass: the panels over events inside their ranges.
    if let Some(end) = end
        && panels
            .iter()
            .any(|panel| matches!(panel.body, Body::Events(_)))
    {
        read(&projection, &mut |event| {
            for panel in &mut panels {
                panel.observe(event, end);
            }
            Ok(())
        })?;
    }
    let panels = panels
        .into_iter()
        .map(|panel| panel.finish(end, &alerts))
        .collect();
    Ok(DashboardData {
        end,
        events,
        panels,
    })
}

fn panel_error(dashboard: &Dashboard, panel: &Panel, message: &str) -> EvalError {
    EvalError::Usage(Box::new(
        Diagnostic::new(
            Code::EVENT_RULE_UNSUPPORTED,
            format!(
                "panel `{}` of dashboard `{}` cannot be evaluated: {message}",
                panel.id, dashboard.id
            ),
        )
        .in_file(dashboard.file.clone()),
    ))
}

/// One group key of a compiled panel: the field's slot and, for `bin`, the range width.
#[derive(Debug)]
struct KeySlot {
    slot: u16,
    bin: Option<f64>,
}

#[derive(Debug)]
struct EventsRuntime {
    /// Per event type index, whether the panel reads it.
    types: Vec<bool>,
    filter: Option<FilterId>,
    keys: Vec<KeySlot>,
    bucket_ms: Option<i64>,
    condition: Condition,
    measures: Vec<Cond>,
    top: Option<u32>,
    /// Per (bucket, key...) the aggregate states; the bucket is the first key value.
    groups: KeyMap<Vec<AggregateState>>,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Body {
    Events(EventsRuntime),
    Alerts { bucket_ms: Option<i64> },
}

#[derive(Debug)]
struct PanelRuntime {
    id: String,
    range_ms: i64,
    keys: Vec<String>,
    measures: Vec<String>,
    labels: Vec<String>,
    body: Body,
}

impl PanelRuntime {
    fn compile(compiler: &mut Compiler<'_>, panel: &Panel) -> Result<PanelRuntime, String> {
        let (keys, measures, labels, body) = match &panel.query {
            PanelQuery::Alerts { bucket_ms } => (
                vec!["rule".to_string()],
                vec!["alerts".to_string()],
                vec!["alerts".to_string()],
                Body::Alerts {
                    bucket_ms: *bucket_ms,
                },
            ),
            PanelQuery::Events {
                source,
                group_by,
                bucket_ms,
                measures,
                top,
            } => {
                let events = compile_events(compiler, source, group_by, *bucket_ms, measures)?;
                (
                    group_by.iter().map(GroupKey::column).collect(),
                    measures
                        .iter()
                        .map(|measure| measure.name.clone())
                        .collect(),
                    measures
                        .iter()
                        .map(|measure| measure.label.clone())
                        .collect(),
                    Body::Events(EventsRuntime {
                        top: *top,
                        ..events
                    }),
                )
            }
        };
        Ok(PanelRuntime {
            id: panel.id.clone(),
            range_ms: panel.range_ms.max(0),
            keys,
            measures,
            labels,
            body,
        })
    }

    fn observe(&mut self, event: &Event, end: i64) {
        if event.time < end.saturating_sub(self.range_ms) {
            return;
        }
        if let Body::Events(panel) = &mut self.body {
            panel.observe(event);
        }
    }

    fn finish(self, end: Option<i64>, alerts: &[(i64, String)]) -> PanelData {
        let range = end.map(|end| (end.saturating_sub(self.range_ms), end));
        let (bucket_ms, rows) = match self.body {
            Body::Events(panel) => (panel.bucket_ms, panel.rows()),
            Body::Alerts { bucket_ms } => (bucket_ms, alert_rows(alerts, range, bucket_ms)),
        };
        PanelData {
            id: self.id,
            keys: self.keys,
            measures: self.measures,
            labels: self.labels,
            bucket_ms,
            range,
            rows,
        }
    }
}

fn compile_events(
    compiler: &mut Compiler<'_>,
    source: &ir::Source,
    group_by: &[GroupKey],
    bucket_ms: Option<i64>,
    measures: &[crate::ir::dashboard::Measure],
) -> Result<EventsRuntime, String> {
    let type_indexes = compiler.event_types(&source.event_types);
    compiler.set_rule_types(&type_indexes);
    let filter = source
        .filter
        .as_ref()
        .map(|expr| compiler.filter(expr, &type_indexes))
        .transpose()?;
    let mut types = vec![false; compiler.projection.event_type_count()];
    for index in &type_indexes {
        if let Some(flag) = types.get_mut(*index as usize) {
            *flag = true;
        }
    }
    let keys = group_by
        .iter()
        .map(|key| KeySlot {
            slot: compiler.shape_field(key.field()),
            bin: match key {
                GroupKey::Field { .. } => None,
                GroupKey::Bin { size, .. } => Some(*size),
            },
        })
        .collect();
    let mut condition = Condition {
        root: Cond::Constant(super::condition::Value::None),
        aggregates: Vec::new(),
        baselines: Vec::new(),
        percentiles: Vec::new(),
        reported: Vec::new(),
    };
    let measures = measures
        .iter()
        .map(|measure| compiler.measure(&measure.expr, &mut condition))
        .collect::<Result<Vec<_>, String>>()?;
    if !condition.percentiles.is_empty() {
        return Err("a panel cannot show a percentile".to_string());
    }
    if !condition.baselines.is_empty() && bucket_ms.is_none() {
        return Err("a baseline needs time buckets (`every`)".to_string());
    }
    Ok(EventsRuntime {
        types,
        filter,
        keys,
        bucket_ms: bucket_ms.map(|length| length.max(1)),
        condition,
        measures,
        top: None,
        groups: KeyMap::default(),
    })
}

impl EventsRuntime {
    fn observe(&mut self, event: &Event) {
        let Some(event_type) = event.event_type else {
            return;
        };
        if !self
            .types
            .get(event_type as usize)
            .copied()
            .unwrap_or(false)
        {
            return;
        }
        if self.filter.is_some_and(|filter| !event.passed(filter)) {
            return;
        }
        let bucket = self
            .bucket_ms
            .map_or(0, |length| window_start(event.time, length));
        let mut key: Vec<Scalar<'_>> = Vec::with_capacity(self.keys.len() + 1);
        key.push(Scalar::Int(bucket));
        for part in &self.keys {
            let Some(value) = event.scalar(part.slot) else {
                return;
            };
            match part.bin {
                None => key.push(value),
                Some(size) => {
                    let Some(number) = value.as_f64() else {
                        return;
                    };
                    key.push(Scalar::Float(bin(number, size)));
                }
            }
        }
        let condition = &self.condition;
        let states = self.groups.entry(&key, || condition.new_states());
        condition.add(states, event);
    }

    /// The rows, sorted (by bucket and key, or by `top`).
    fn rows(mut self) -> Vec<PanelRow> {
        // Per group (without the bucket): its buckets' aggregate values.
        let mut by_group: BTreeMap<GroupOrder, Vec<BucketValues>> = BTreeMap::new();
        for (key, states) in self.groups.drain() {
            let bucket = match key.first() {
                Some(KeyValue::Int(bucket)) => *bucket,
                _ => 0,
            };
            let parts: Vec<KeyPart> = key.iter().skip(1).map(KeyPart::from_key).collect();
            by_group
                .entry(GroupOrder(parts))
                .or_default()
                .push((bucket, Condition::aggregate_values(&states)));
        }
        let empty = self.condition.empty_aggregates();
        let empty_baselines: Vec<Option<f64>> = self
            .condition
            .baselines
            .iter()
            .map(|spec| Condition::inner_value(&spec.inner, &empty))
            .collect();
        let length = self.bucket_ms.unwrap_or(1);
        let mut rows = Vec::new();
        for (group, mut buckets) in by_group {
            buckets.sort_by_key(|(bucket, _)| *bucket);
            let history: Vec<(i64, Box<[Option<f64>]>)> = buckets
                .iter()
                .map(|(bucket, values)| {
                    let inner = self
                        .condition
                        .baselines
                        .iter()
                        .map(|spec| Condition::inner_value(&spec.inner, values))
                        .collect();
                    (*bucket, inner)
                })
                .collect();
            for (bucket, aggregates) in buckets {
                let baselines = self
                    .condition
                    .baselines
                    .iter()
                    .enumerate()
                    .map(|(leaf, spec)| {
                        baseline_mean(
                            history.iter(),
                            leaf,
                            bucket,
                            spec.lookback,
                            length,
                            empty_baselines[leaf],
                        )
                        .0
                    })
                    .collect();
                let leaves = Leaves {
                    aggregates,
                    baselines,
                    percentiles: Vec::new(),
                };
                rows.push(PanelRow {
                    bucket: self.bucket_ms.map(|_| bucket),
                    keys: group.0.clone(),
                    values: self
                        .measures
                        .iter()
                        .map(|measure| Condition::number(measure, &leaves))
                        .collect(),
                });
            }
        }
        // Without keys or buckets a query returns one row even over no
        // events (`stats count` is 0), as every SIEM's does.
        if rows.is_empty() && self.keys.is_empty() && self.bucket_ms.is_none() {
            let leaves = Leaves {
                aggregates: empty,
                ..Leaves::default()
            };
            rows.push(PanelRow {
                bucket: None,
                keys: Vec::new(),
                values: self
                    .measures
                    .iter()
                    .map(|measure| Condition::number(measure, &leaves))
                    .collect(),
            });
        }
        rows.sort_by(|left, right| {
            left.bucket
                .cmp(&right.bucket)
                .then_with(|| compare_keys(&left.keys, &right.keys))
        });
        if let Some(top) = self.top {
            apply_top(&mut rows, top);
        }
        rows
    }
}

/// A bucket's start and the aggregate values of one group in it.
type BucketValues = (i64, Vec<Option<super::condition::Number>>);

/// `floor(value / size) * size`: the lower bound of the range `value` is in.
fn bin(value: f64, size: f64) -> f64 {
    if size > 0.0 {
        (value / size).floor() * size
    } else {
        value
    }
}

fn compare_keys(left: &[KeyPart], right: &[KeyPart]) -> std::cmp::Ordering {
    for (left, right) in left.iter().zip(right) {
        let order = left.total_cmp(right);
        if order.is_ne() {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

/// Group keys ordered by [`compare_keys`].
#[derive(Debug, Clone, PartialEq)]
struct GroupOrder(Vec<KeyPart>);

impl Eq for GroupOrder {}

impl PartialOrd for GroupOrder {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GroupOrder {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        compare_keys(&self.0, &other.0)
    }
}

/// `top N`: the N rows with the largest first measure (a row without one
/// after every row with one), ties by key ascending, sorted so.
fn apply_top(rows: &mut Vec<PanelRow>, top: u32) {
    rows.sort_by(|left, right| {
        let first = |row: &PanelRow| row.values.first().copied().flatten();
        match (first(left), first(right)) {
            (Some(left), Some(right)) => right.total_cmp(&left),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| compare_keys(&left.keys, &right.keys))
    });
    rows.truncate(top as usize);
}

/// Alerts raised inside the range, counted per rule (and bucket).
fn alert_rows(
    alerts: &[(i64, String)],
    range: Option<(i64, i64)>,
    bucket_ms: Option<i64>,
) -> Vec<PanelRow> {
    let Some((start, end)) = range else {
        return Vec::new();
    };
    let mut counts: BTreeMap<(Option<i64>, &str), u64> = BTreeMap::new();
    for (time, rule) in alerts {
        if *time < start || *time > end {
            continue;
        }
        let bucket = bucket_ms.map(|length| window_start(*time, length.max(1)));
        *counts.entry((bucket, rule.as_str())).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((bucket, rule), count)| PanelRow {
            bucket,
            keys: vec![KeyPart::Text(rule.to_string())],
            values: vec![Some(count as f64)],
        })
        .collect()
}
