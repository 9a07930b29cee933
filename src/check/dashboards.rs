//! Dashboards: dashboard declarations to IR dashboards.
//!
//! Input: the [`DashboardSource`]s of the collected [`Environment`]. Output:
//! [`Dashboard`]s sorted by id, every panel's query resolved against the
//! schema exactly as a rule's `match ... alert when` is (event types, fields,
//! aggregates, parameters), and checked against the visual it is drawn with
//! (the table of [`Visual`]); or the diagnostics saying why not (E0317 to
//! E0320, and the codes rules share).

use std::collections::BTreeMap;

use super::Reference;
use super::aggregates::{contains_aggregate, normalize};
use super::collect::{DashboardSource, Environment};
use super::expressions::Mode;
use super::metadata;
use super::resolve::Scope;
use super::rules::{RuleChecker, Usage};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::ir::dashboard::{Dashboard, GroupKey, Measure, Panel, PanelQuery, Visual};
use crate::source::{Sources, Span};
use crate::syntax::ast;

/// The time range of a dashboard that does not set one: 7 days.
pub const DEFAULT_RANGE_MS: i64 = 7 * 86_400_000;

/// Checks every dashboard of the pack. A dashboard id declared again (in the
/// same or another file) is an error at the later declaration.
pub(crate) fn check_dashboards(
    sources: &Sources,
    environment: &Environment,
    reference: &Reference,
    usage: &mut Usage,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Dashboard> {
    let mut first_ids: BTreeMap<&str, Span> = BTreeMap::new();
    let mut dashboards = Vec::new();
    for item in &environment.dashboards {
        let id = &item.dashboard.id;
        if let Some(first) = first_ids.get(id.text.as_str()) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DUPLICATE_DASHBOARD_NAME,
                    format!("the dashboard id `{}` is declared twice", id.text),
                )
                .primary(id.span, "declared again here")
                .secondary(*first, "first declared here")
                .note("every target publishes a dashboard under its id")
                .help("rename one; a content repository replaces a shipped dashboard by naming it in `disable:` of `tripline.yaml`"),
            );
            continue;
        }
        first_ids.insert(&id.text, id.span);
        let mut checker = RuleChecker::new(sources, environment, reference);
        checker.in_panel = true;
        let lowered = checker.dashboard(item);
        usage.merge(&checker.usage);
        diagnostics.extend(checker.diagnostics);
        if let Some(lowered) = lowered {
            dashboards.push(lowered);
        }
    }
    dashboards.sort_by(|left, right| left.id.cmp(&right.id));
    dashboards
}

/// Whether a measure name is an identifier every target accepts.
fn valid_column(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Column names compiled panel queries use themselves: the time bucket's
/// (`bucket_start`) and their working columns (`tripline_...`).
fn reserved_column(name: &str) -> bool {
    name == "bucket_start" || name.starts_with("tripline_")
}

/// The column name of an unnamed measure: `count` for `count()`, and
/// `FUNCTION_FIELD` for `sum/avg/min/max/distinct(FIELD)`; `None` for
/// anything else (it must be named with `as`).
pub(crate) fn derived_name(expr: &ast::Expr) -> Option<String> {
    let ast::ExprKind::Call {
        function,
        arguments,
        filter: None,
    } = &expr.kind
    else {
        return None;
    };
    match (function.text.as_str(), arguments.as_slice()) {
        ("count", []) => Some("count".to_string()),
        (
            function @ ("sum" | "avg" | "min" | "max" | "distinct"),
            [
                ast::Expr {
                    kind: ast::ExprKind::Name(field),
                    ..
                },
            ],
        ) => Some(format!("{function}_{}", field.text)),
        _ => None,
    }
}

/// The calls named `name` anywhere in an expression, outermost first.
fn calls_named<'e>(expr: &'e ast::Expr, name: &str, out: &mut Vec<&'e ast::Expr>) {
    match &expr.kind {
        ast::ExprKind::Call {
            function,
            arguments,
            filter,
        } => {
            if function.text == name {
                out.push(expr);
            }
            for argument in arguments {
                calls_named(argument, name, out);
            }
            if let Some(filter) = filter {
                calls_named(filter, name, out);
            }
        }
        ast::ExprKind::Not(operand) => calls_named(operand, name, out),
        ast::ExprKind::And(left, right)
        | ast::ExprKind::Or(left, right)
        | ast::ExprKind::Compare { left, right, .. }
        | ast::ExprKind::Arithmetic { left, right, .. } => {
            calls_named(left, name, out);
            calls_named(right, name, out);
        }
        ast::ExprKind::In { subject, .. }
        | ast::ExprKind::Text { subject, .. }
        | ast::ExprKind::Matches { subject, .. } => calls_named(subject, name, out),
        ast::ExprKind::Literal(_)
        | ast::ExprKind::Name(_)
        | ast::ExprKind::Tuple(_)
        | ast::ExprKind::Exists(_) => {}
    }
}

/// What the visual fit table reads of a query.
struct QueryShape {
    /// Where `every` was written, when it was.
    every: Option<Span>,
    /// Where the grouping was written, when there is one.
    grouped: Option<Span>,
    /// How many measures, and where the query starts.
    measures: usize,
    /// The whole query.
    span: Span,
}

impl RuleChecker<'_> {
    /// Checks and lowers one dashboard.
    fn dashboard(&mut self, item: &DashboardSource) -> Option<Dashboard> {
        let declaration = item.dashboard;
        let metadata = metadata::view_metadata(
            &declaration.metadata,
            declaration.id.span,
            false,
            &mut self.diagnostics,
        );
        let range_ms = metadata
            .as_ref()
            .and_then(|metadata| metadata.range_ms)
            .unwrap_or(DEFAULT_RANGE_MS);
        if declaration.panels.is_empty() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::MISSING_ENTRY,
                    format!("the dashboard `{}` has no panel", declaration.id.text),
                )
                .primary(declaration.id.span, "no `panel`")
                .help("add `panel ID { title: \"...\" visual: ... match ... show ... }`"),
            );
        }
        let mut panel_ids: BTreeMap<&str, Span> = BTreeMap::new();
        let mut panels = Vec::new();
        for panel in &declaration.panels {
            if let Some(first) = panel_ids.get(panel.id.text.as_str()) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::DUPLICATE_DASHBOARD_NAME,
                        format!(
                            "the panel id `{}` is used twice in the dashboard `{}`",
                            panel.id.text, declaration.id.text
                        ),
                    )
                    .primary(panel.id.span, "used again here")
                    .secondary(*first, "first used here"),
                );
                continue;
            }
            panel_ids.insert(&panel.id.text, panel.id.span);
            if let Some(panel) = self.panel(panel, range_ms) {
                panels.push(panel);
            }
        }
        if self.has_errors() {
            return None;
        }
        let metadata = metadata?;
        let file = self
            .sources
            .get(item.source)
            .map(|file| file.path.clone())
            .unwrap_or_default();
        Some(Dashboard {
            id: declaration.id.text.clone(),
            file,
            origin: self.origin(item.declaration.span),
            title: metadata.title,
            description: metadata.description,
            range_ms,
            panels,
        })
    }

    /// Checks and lowers one panel.
    fn panel(&mut self, panel: &ast::PanelDecl, dashboard_range_ms: i64) -> Option<Panel> {
        let metadata =
            metadata::view_metadata(&panel.metadata, panel.id.span, true, &mut self.diagnostics);
        let query = self.panel_query(&panel.query);
        let (metadata, (query, shape)) = (metadata?, query?);
        let (visual, visual_span) = metadata.visual?;
        self.visual_fits(visual, visual_span, &shape)?;
        let range_ms = metadata.range_ms.unwrap_or(dashboard_range_ms);
        let bucket_ms = match &query {
            PanelQuery::Events { bucket_ms, .. } | PanelQuery::Alerts { bucket_ms } => *bucket_ms,
        };
        if let (Some(bucket_ms), Some(every)) = (bucket_ms, shape.every)
            && bucket_ms > range_ms
        {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::PANEL_QUERY,
                    "a time bucket of this panel is longer than the panel's range",
                )
                .primary(every, "longer than the range")
                .note(format!(
                    "the range is {}, the dashboard's unless the panel sets `range:`",
                    ir::duration_text(range_ms)
                ))
                .help("use a shorter `every`, or a longer `range`"),
            );
            return None;
        }
        Some(Panel {
            id: panel.id.text.clone(),
            origin: self.origin(panel.span),
            title: metadata.title,
            description: metadata.description,
            visual,
            range_ms,
            query,
        })
    }

    fn panel_query(&mut self, query: &ast::PanelQuery) -> Option<(PanelQuery, QueryShape)> {
        match query {
            ast::PanelQuery::Alerts { every, span } => {
                let bucket_ms = match every {
                    Some(every) => Some(self.window(every, "bucket")?),
                    None => None,
                };
                Some((
                    PanelQuery::Alerts { bucket_ms },
                    QueryShape {
                        every: every.map(|every| every.span),
                        grouped: Some(self.trimmed(*span)),
                        measures: 1,
                        span: self.trimmed(*span),
                    },
                ))
            }
            ast::PanelQuery::Events(query) => self.events_query(query),
        }
    }

    fn events_query(&mut self, query: &ast::EventsQuery) -> Option<(PanelQuery, QueryShape)> {
        let types = self.event_types(&query.event_types)?;
        let scope = Scope::new(types.clone());
        let source = self.source(types, query.filter.as_ref());
        let group_by = self.panel_keys(&query.group_by, &scope);
        let bucket_ms = match &query.every {
            Some(every) => self.window(every, "bucket").map(Some),
            None => Some(None),
        };
        let measures = self.measures(query, &scope, bucket_ms.flatten(), group_by.as_deref());
        let top = match query.top {
            None => Some(None),
            Some((count, span)) => self.top(count, span, query),
        };
        let (source, group_by, bucket_ms, measures, top) =
            (source?, group_by?, bucket_ms?, measures?, top?);
        let shape = QueryShape {
            every: query.every.map(|every| every.span),
            grouped: query.group_by.first().map(ast::GroupKey::span),
            measures: measures.len(),
            span: self.trimmed(query.span),
        };
        Some((
            PanelQuery::Events {
                source,
                group_by,
                bucket_ms,
                measures,
                top,
            },
            shape,
        ))
    }

    /// `top N`: at least 1, on a grouped panel without time buckets.
    fn top(&mut self, count: i64, span: Span, query: &ast::EventsQuery) -> Option<Option<u32>> {
        let mut ok = true;
        if count < 1 || count > i64::from(u32::MAX) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::PANEL_QUERY,
                    format!("`top {count}`: a panel keeps at least one group"),
                )
                .primary(span, "out of range")
                .help("write `top 10`, or leave `top` out to show every group"),
            );
            ok = false;
        }
        if let Some(every) = &query.every {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::PANEL_QUERY,
                    "`top` keeps the largest groups of the whole range, and this panel is cut into time buckets",
                )
                .primary(span, "`top` here")
                .secondary(every.span, "time buckets here")
                .note("the largest groups of each bucket would draw different series in every bucket")
                .help("remove `every`, or remove `top`"),
            );
            ok = false;
        }
        if query.group_by.is_empty() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::PANEL_QUERY,
                    "`top` ranks groups, and this panel has no `group by`",
                )
                .primary(span, "nothing to rank")
                .help("add `group by FIELD` before `show`, or remove `top`"),
            );
            ok = false;
        }
        ok.then(|| u32::try_from(count).ok())
    }

    /// The group keys of a panel: fields as a rule groups by (`string`,
    /// `ip`, `int`), and `bin(FIELD, SIZE)` on a number field.
    fn panel_keys(&mut self, keys: &[ast::GroupKey], scope: &Scope) -> Option<Vec<GroupKey>> {
        let mut out: Vec<GroupKey> = Vec::new();
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        let mut ok = true;
        for key in keys {
            let lowered = match key {
                ast::GroupKey::Field(name) => self
                    .fields_on_all(std::slice::from_ref(name), scope, true, "`group by`")
                    .and_then(|fields| fields.into_iter().next())
                    .map(|field| GroupKey::Field { field }),
                ast::GroupKey::Bin {
                    field,
                    size,
                    size_span,
                    ..
                } => self.bin_key(field, *size, *size_span, scope),
            };
            let Some(lowered) = lowered else {
                ok = false;
                continue;
            };
            let column = lowered.column();
            if let Some(first) = seen.get(&column) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::DUPLICATE_DASHBOARD_NAME,
                        format!("the group key `{column}` is given twice"),
                    )
                    .primary(key.span(), "given again here")
                    .secondary(*first, "first given here"),
                );
                ok = false;
                continue;
            }
            seen.insert(column, key.span());
            out.push(lowered);
        }
        ok.then_some(out)
    }

    fn bin_key(
        &mut self,
        name: &ast::Name,
        size: f64,
        size_span: Span,
        scope: &Scope,
    ) -> Option<GroupKey> {
        let field = self.field(name, scope);
        let size_ok = size > 0.0 && size.is_finite();
        if !size_ok {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::PANEL_QUERY,
                    format!("a `bin` is a range of width above 0, and this one is {size}"),
                )
                .primary(size_span, "not above 0")
                .help(format!("write `bin({}, 100)`", name.text)),
            );
        }
        let field = field?;
        if !field.value_type.is_numeric() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::GROUP_FIELD_TYPE,
                    format!(
                        "`bin` cuts a number into ranges, and `{}` is a `{}`",
                        name.text,
                        field.value_type.name()
                    ),
                )
                .primary(name.span, format!("a `{}`", field.value_type.name()))
                .help(format!(
                    "group by the field itself: `group by {}`",
                    name.text
                )),
            );
            return None;
        }
        size_ok.then_some(GroupKey::Bin {
            field: field.name,
            size,
        })
    }

    /// The measures after `show`, with their names.
    fn measures(
        &mut self,
        query: &ast::EventsQuery,
        scope: &Scope,
        bucket_ms: Option<i64>,
        group_by: Option<&[GroupKey]>,
    ) -> Option<Vec<Measure>> {
        let mut ok = true;
        let mut out = Vec::new();
        let mut names: BTreeMap<String, Span> = BTreeMap::new();
        if let Some(keys) = group_by {
            for (key, written) in keys.iter().zip(&query.group_by) {
                names.insert(key.column(), written.span());
            }
        }
        for measure in &query.measures {
            let name = self.measure_name(measure, &mut names);
            let expr = self.measure_expr(measure, query, scope, bucket_ms);
            match (name, expr) {
                (Some(name), Some(expr)) => out.push(Measure {
                    name,
                    label: normalize(self.sources.slice(measure.expr.span)),
                    expr,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn measure_name(
        &mut self,
        measure: &ast::MeasureDecl,
        names: &mut BTreeMap<String, Span>,
    ) -> Option<String> {
        let (name, span) = match &measure.name {
            Some(name) => {
                if !valid_column(&name.text) {
                    let lower = name.text.to_ascii_lowercase();
                    let mut diagnostic = Diagnostic::new(
                        Code::MEASURE_NAME,
                        format!(
                            "the measure name `{}` is not a column name every target accepts",
                            name.text
                        ),
                    )
                    .primary(name.span, "not `[a-z][a-z0-9_]*`")
                    .note("a measure name is a lowercase letter, then lowercase letters, digits and `_`");
                    if valid_column(&lower) {
                        diagnostic = diagnostic.help(format!("write `as {lower}`"));
                    }
                    self.diagnostics.push(diagnostic);
                    return None;
                }
                if reserved_column(&name.text) {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::MEASURE_NAME,
                            format!(
                                "the measure name `{}` is one the compiled queries use for their own columns",
                                name.text
                            ),
                        )
                        .primary(name.span, "reserved")
                        .note("`bucket_start` and names starting with `tripline_` are the time bucket and the working columns of compiled panels")
                        .help("choose another name"),
                    );
                    return None;
                }
                (name.text.clone(), name.span)
            }
            None => match derived_name(&measure.expr) {
                Some(derived) if valid_column(&derived) => (derived, measure.expr.span),
                _ => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::MEASURE_NAME,
                            "this measure needs a name: only `count()` and a lone `sum`, `avg`, `min`, `max` or `distinct` of a field are named for you",
                        )
                        .primary(measure.expr.span, "no name")
                        .help("name it with `as NAME` after the expression"),
                    );
                    return None;
                }
            },
        };
        if let Some(first) = names.get(&name) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::DUPLICATE_DASHBOARD_NAME,
                    format!("the column `{name}` is named twice in this panel"),
                )
                .primary(span, "named again here")
                .secondary(*first, "first named here")
                .note("every measure and group key is a column of the panel's query")
                .help("give this measure another name with `as NAME`"),
            );
            return None;
        }
        names.insert(name.clone(), span);
        Some(name)
    }

    fn measure_expr(
        &mut self,
        measure: &ast::MeasureDecl,
        query: &ast::EventsQuery,
        scope: &Scope,
        bucket_ms: Option<i64>,
    ) -> Option<ir::Expr> {
        let mut refused = false;
        let mut percentiles = Vec::new();
        calls_named(&measure.expr, "percentile", &mut percentiles);
        for call in percentiles {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::BASELINE_MISUSE,
                    "`percentile` ranks the groups of an alert window, and a panel shows every group",
                )
                .primary(call.span, "a percentile in a panel")
                .help("show the value itself, and sort or `top` the groups"),
            );
            refused = true;
        }
        if query.every.is_none() {
            let mut baselines = Vec::new();
            calls_named(&measure.expr, "baseline", &mut baselines);
            for call in baselines {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::BASELINE_MISUSE,
                        "`baseline` is the mean over earlier time buckets, and this panel has no `every`",
                    )
                    .primary(call.span, "no earlier buckets")
                    .help("cut the panel into buckets with `every 1d` before `show`"),
                );
                refused = true;
            }
        }
        if refused {
            return None;
        }
        let mode = Mode::Condition {
            window_ms: Some(bucket_ms.unwrap_or(0)),
        };
        let lowered = self.expr(&measure.expr, scope, mode)?;
        if !lowered.value_type.is_numeric() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TYPE_MISMATCH,
                    format!(
                        "a measure is a number, and this is a `{}`",
                        lowered.value_type.name()
                    ),
                )
                .primary(
                    measure.expr.span,
                    format!("a `{}`", lowered.value_type.name()),
                )
                .help(
                    "show the number itself, such as `count(where ...)`, instead of a comparison",
                ),
            );
            return None;
        }
        if !contains_aggregate(&lowered) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::PANEL_QUERY,
                    "a measure reads the events of its group, and this one is a constant",
                )
                .primary(measure.expr.span, "no aggregate")
                .help("show an aggregate such as `count()` or `sum(cost_usd)`"),
            );
            return None;
        }
        Some(lowered)
    }

    /// Checks a panel's visual against its query (the table of [`Visual`]).
    fn visual_fits(&mut self, visual: Visual, visual_span: Span, shape: &QueryShape) -> Option<()> {
        let keyword = visual.keyword();
        let mut problems: Vec<(String, Span, String)> = Vec::new();
        let (needs_every, forbids_every) = match visual {
            Visual::Line => (true, false),
            Visual::Single | Visual::Pie => (false, true),
            Visual::Bar | Visual::Table => (false, false),
        };
        if needs_every && shape.every.is_none() {
            problems.push((
                format!(
                    "a `{keyword}` panel draws its values over time, and this query has no `every`"
                ),
                shape.span,
                "add `every 1d` before `show`, or draw it as a `bar` or `table`".to_string(),
            ));
        }
        if forbids_every && let Some(every) = shape.every {
            problems.push((
                format!(
                    "a `{keyword}` panel has no time axis, and this query is cut into time buckets"
                ),
                every,
                "remove `every`, or draw it as a `line`".to_string(),
            ));
        }
        match (visual, shape.grouped) {
            (Visual::Single, Some(grouped)) => problems.push((
                "a `single` panel shows one number, and this query has one row per group".to_string(),
                grouped,
                "remove the grouping, or draw it as a `bar`, `pie` or `table`".to_string(),
            )),
            (Visual::Pie, None) => problems.push((
                "a `pie` panel shares a whole among groups, and this query has no `group by`".to_string(),
                shape.span,
                "add `group by FIELD` before `show`, or draw it as a `single`".to_string(),
            )),
            (Visual::Bar, None) if shape.every.is_none() => problems.push((
                "a `bar` panel draws a bar per group or per time bucket, and this query has neither".to_string(),
                shape.span,
                "add `group by FIELD` or `every 1d` before `show`, or draw it as a `single`".to_string(),
            )),
            _ => {}
        }
        if matches!(visual, Visual::Single | Visual::Pie) && shape.measures != 1 {
            problems.push((
                format!(
                    "a `{keyword}` panel shows exactly one measure, and this query has {}",
                    shape.measures
                ),
                shape.span,
                "keep one measure, or draw it as a `table`".to_string(),
            ));
        }
        if problems.is_empty() {
            return Some(());
        }
        for (message, span, help) in problems {
            self.diagnostics.push(
                Diagnostic::new(Code::VISUAL_MISFIT, message)
                    .primary(span, "the query")
                    .secondary(visual_span, format!("drawn as `{keyword}` here"))
                    .help(help),
            );
        }
        None
    }
}

#[cfg(test)]
#[path = "dashboard_tests.rs"]
mod tests;
