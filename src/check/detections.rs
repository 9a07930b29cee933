//! Detections: the shape of a rule to its IR form.
//!
//! Input: an [`ast::Detection`]. Output: an [`ir::Detection`] and the sorted
//! event types it reads, after checking event types, grouping and key fields,
//! window lengths, repeat counts, similarity and the alert condition.

use super::expressions::Mode;
use super::resolve::{Scope, join_names};
use super::rules::RuleChecker;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::syntax::ast;

const DAY_MS: i64 = 86_400_000;

impl RuleChecker<'_> {
    /// Checks and lowers a detection.
    pub(crate) fn detection(
        &mut self,
        detection: &ast::Detection,
    ) -> Option<(ir::Detection, Vec<String>)> {
        match detection {
            ast::Detection::Match(matched) => self.match_detection(matched),
            ast::Detection::Sequence(sequence) => self.sequence(sequence),
        }
    }

    pub(crate) fn source(
        &mut self,
        types: Vec<String>,
        filter: Option<&ast::Expr>,
    ) -> Option<ir::Source> {
        let scope = Scope::new(types.clone());
        let filter = match filter {
            Some(filter) => {
                let lowered = self.expr(filter, &scope, Mode::Filter);
                Some(self.require_bool(lowered, filter.span, "the `where` filter")?)
            }
            None => None,
        };
        Some(ir::Source {
            event_types: types,
            filter,
        })
    }

    fn match_detection(
        &mut self,
        matched: &ast::MatchDetection,
    ) -> Option<(ir::Detection, Vec<String>)> {
        let types = self.event_types(&matched.event_types)?;
        let scope = Scope::new(types.clone());
        let source = self.source(types.clone(), matched.filter.as_ref());
        if let (Some(span), false) = (
            matched.context_span,
            matches!(matched.tail, ast::MatchTail::Window { .. }),
        ) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::CONTEXT_FIELD,
                    "`context` is allowed only on window rules (threshold, baseline or percentile)",
                )
                .primary(span, "not after `within ... alert when ...`")
                .note("a one-event alert already carries its whole event"),
            );
        }
        let detection = match &matched.tail {
            ast::MatchTail::None => Some(ir::Detection::Match { source: source? }),
            ast::MatchTail::Window {
                grouping,
                within,
                condition,
            } => {
                let groupings = self.groupings(grouping, &scope);
                let window_ms = self.window(within, "window");
                let condition = self.condition(
                    condition,
                    &scope,
                    Mode::Condition {
                        window_ms: window_ms.or(Some(0)),
                    },
                );
                let context = self.context(matched, grouping, &scope);
                Some(ir::Detection::Window {
                    source: source?,
                    groupings: groupings?,
                    window_ms: window_ms?,
                    condition: condition?,
                    context: context?,
                    context_origin: matched.context_span.map(|span| self.origin(span)),
                })
            }
            ast::MatchTail::NewValue {
                values,
                key,
                lookback,
            } => {
                let values = self.fields_on_all(values, &scope, false, "`new`");
                let key = self.fields_on_all(key, &scope, true, "`for`");
                let lookback_ms = self.positive(lookback, "the lookback");
                Some(ir::Detection::NewValue {
                    source: source?,
                    values: values?,
                    key: key?,
                    lookback_ms: lookback_ms?,
                })
            }
            ast::MatchTail::Cluster {
                field,
                similarity,
                similarity_span,
                min_length,
                within,
                condition,
            } => {
                let field = self.field(field, &scope).and_then(|resolved| {
                    if resolved.value_type == ir::ValueType::String {
                        Some(resolved.name)
                    } else {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::GROUP_FIELD_TYPE,
                                format!(
                                    "`cluster` compares text, and `{}` is a `{}`",
                                    field.text,
                                    resolved.value_type.name()
                                ),
                            )
                            .primary(field.span, "not a string"),
                        );
                        None
                    }
                });
                let similarity_ok = *similarity > 0.0 && *similarity <= 1.0;
                if !similarity_ok {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::DETECTION_RANGE,
                            format!("the similarity must be above 0 and at most 1, and it is {similarity}"),
                        )
                        .primary(*similarity_span, "out of range")
                        .note("similarity is the word-set Jaccard index of two values"),
                    );
                }
                let min_length = match min_length {
                    Some((value, span)) if *value < 0 => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::DETECTION_RANGE,
                                format!("`min_length` counts characters and cannot be negative ({value})"),
                            )
                            .primary(*span, "negative"),
                        );
                        None
                    }
                    Some((value, _)) => Some(*value),
                    None => Some(0),
                };
                let window_ms = self.window(within, "window");
                let condition =
                    self.condition(condition, &scope, Mode::Condition { window_ms: None });
                if !similarity_ok {
                    return None;
                }
                Some(ir::Detection::Cluster {
                    source: source?,
                    field: field?,
                    similarity: *similarity,
                    min_length: min_length?,
                    window_ms: window_ms?,
                    condition: condition?,
                })
            }
        };
        Some((detection?, types))
    }

    fn condition(&mut self, condition: &ast::Expr, scope: &Scope, mode: Mode) -> Option<ir::Expr> {
        let lowered = self.expr(condition, scope, mode);
        self.require_bool(lowered, condition.span, "the `alert when` condition")
    }

    /// Checks `context`: string fields of every type in scope, each once, none a group key.
    fn context(
        &mut self,
        matched: &ast::MatchDetection,
        grouping: &ast::Grouping,
        scope: &Scope,
    ) -> Option<Vec<String>> {
        let keys: Vec<&str> = match grouping {
            ast::Grouping::Global(_) => Vec::new(),
            ast::Grouping::Fields(fields) => fields.iter().map(|f| f.text.as_str()).collect(),
            ast::Grouping::Sets(sets) => sets.iter().flatten().map(|f| f.text.as_str()).collect(),
        };
        let mut out: Vec<String> = Vec::new();
        let mut ok = true;
        for name in &matched.context {
            let Some(field) = self.field(name, scope) else {
                ok = false;
                continue;
            };
            let problem = if out.contains(&field.name) {
                Some((
                    format!("`{}` is named twice in `context`", name.text),
                    "repeated",
                ))
            } else if keys.contains(&name.text.as_str()) {
                Some((
                    format!(
                        "`{}` is a group key; the alert carries it as its group",
                        name.text
                    ),
                    "a group key",
                ))
            } else if field.value_type != ir::ValueType::String {
                Some((
                    format!(
                        "`context` fields must be `string`, and `{}` is a `{}`",
                        name.text,
                        field.value_type.name()
                    ),
                    "not a string",
                ))
            } else {
                None
            };
            match problem {
                Some((message, label)) => {
                    self.diagnostics.push(
                        Diagnostic::new(Code::CONTEXT_FIELD, message).primary(name.span, label),
                    );
                    ok = false;
                }
                None => out.push(field.name),
            }
        }
        ok.then_some(out)
    }

    fn groupings(&mut self, grouping: &ast::Grouping, scope: &Scope) -> Option<Vec<Vec<String>>> {
        match grouping {
            ast::Grouping::Global(_) => Some(vec![Vec::new()]),
            ast::Grouping::Fields(fields) => Some(vec![self.fields_on_all(
                fields,
                scope,
                true,
                "`group by`",
            )?]),
            ast::Grouping::Sets(sets) => {
                let mut out = Vec::new();
                let mut ok = true;
                for set in sets {
                    match self.fields_on_all(set, scope, true, "`group by`") {
                        Some(fields) => out.push(fields),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
        }
    }

    /// Resolves key fields on every type of the scope; keys must be string, ip or int.
    pub(crate) fn fields_on_all(
        &mut self,
        names: &[ast::Name],
        scope: &Scope,
        key: bool,
        clause: &str,
    ) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut ok = true;
        for name in names {
            let Some(field) = self.field(name, scope) else {
                ok = false;
                continue;
            };
            if key
                && !matches!(
                    field.value_type,
                    ir::ValueType::String | ir::ValueType::Ip | ir::ValueType::Int
                )
            {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::GROUP_FIELD_TYPE,
                        format!(
                            "{clause} fields must be `string`, `ip` or `int`, and `{}` is a `{}`",
                            name.text,
                            field.value_type.name()
                        ),
                    )
                    .primary(name.span, format!("a `{}`", field.value_type.name())),
                );
                ok = false;
                continue;
            }
            if !out.contains(&field.name) {
                out.push(field.name);
            }
        }
        ok.then_some(out)
    }

    /// A tumbling window length: at least 1s, and dividing a day or a multiple of one.
    pub(crate) fn window(&mut self, duration: &ast::Duration, what: &str) -> Option<i64> {
        let millis = duration.millis;
        if millis < 1000 {
            self.diagnostics.push(
                Diagnostic::new(Code::WINDOW_LENGTH, format!("a {what} must be at least 1s"))
                    .primary(duration.span, "too short"),
            );
            return None;
        }
        if DAY_MS % millis != 0 && millis % DAY_MS != 0 {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::WINDOW_LENGTH,
                    format!(
                        "a {what} of `{}` neither divides a day nor is a whole number of days",
                        self.sources.slice(duration.span)
                    ),
                )
                .primary(duration.span, "windows could not align")
                .note("windows are aligned to the Unix epoch in UTC, and every target must bin events the same way")
                .help("use a length such as `1m`, `5m`, `10m`, `15m`, `30m`, `1h`, `2h`, `4h`, `12h`, `1d` or `7d`"),
            );
            return None;
        }
        Some(millis)
    }

    fn positive(&mut self, duration: &ast::Duration, what: &str) -> Option<i64> {
        if duration.millis > 0 {
            return Some(duration.millis);
        }
        self.diagnostics.push(
            Diagnostic::new(Code::WINDOW_LENGTH, format!("{what} must be longer than 0"))
                .primary(duration.span, "zero"),
        );
        None
    }

    fn sequence(
        &mut self,
        sequence: &ast::SequenceDetection,
    ) -> Option<(ir::Detection, Vec<String>)> {
        let mut all_types = Vec::new();
        let mut step_types = Vec::new();
        for step in &sequence.steps {
            let types = self.event_types(&step.event_types);
            if let Some(types) = &types {
                all_types.extend(types.iter().cloned());
            }
            step_types.push(types);
        }
        let all = Scope::new(all_types);
        let by = if step_types.iter().all(Option::is_some) {
            let by = self.fields_on_all(&sequence.by, &all, true, "sequence `by`");
            if by.is_none() && all.types.len() > 1 {
                let names: Vec<&str> = all.types.iter().map(String::as_str).collect();
                if let Some(last) = self.diagnostics.last_mut()
                    && last.code == Code::FIELD_NOT_ON_EVENT_TYPE
                {
                    last.notes.push(format!(
                        "the key of a sequence must exist on every type its steps read: {}",
                        join_names(&names, "and")
                    ));
                }
            }
            by
        } else {
            None
        };
        let within_ms = self.positive(&sequence.within, "the sequence's `within`");
        let mut steps = Vec::new();
        let mut ok = true;
        for (step, types) in sequence.steps.iter().zip(step_types) {
            let repeat = match step.repeat {
                Some((count, span)) if count < 1 || count > i64::from(u32::MAX) => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::DETECTION_RANGE,
                            format!("`repeat >= {count}`: a step needs at least one event"),
                        )
                        .primary(span, "out of range"),
                    );
                    ok = false;
                    1
                }
                Some((count, _)) => u32::try_from(count).unwrap_or(1),
                None => 1,
            };
            let Some(types) = types else {
                ok = false;
                continue;
            };
            match self.source(types, step.filter.as_ref()) {
                Some(source) => steps.push(ir::Step { source, repeat }),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some((
            ir::Detection::Sequence {
                by: by?,
                within_ms: within_ms?,
                steps,
            },
            all.types,
        ))
    }
}
