//! Walks pest pairs into AST nodes. Only this file and `errors.rs` see pest.

use pest::iterators::Pair;

use super::Rule;
use super::ast::*;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{SourceId, Span};

pub(super) struct Builder<'text> {
    text: &'text str,
    source: SourceId,
    diagnostics: Vec<Diagnostic>,
}

type P<'i> = Pair<'i, Rule>;

#[path = "build_expr.rs"]
mod expr;

impl<'text> Builder<'text> {
    pub(super) fn new(text: &'text str, source: SourceId) -> Self {
        Builder {
            text,
            source,
            diagnostics: Vec::new(),
        }
    }

    pub(super) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    fn span(&self, pair: &P) -> Span {
        let span = pair.as_span();
        Span::new(self.source, span.start(), span.end())
    }

    fn name(&self, pair: &P) -> Name {
        Name {
            text: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    fn error(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) {
        self.diagnostics
            .push(Diagnostic::new(code, message).primary(span, label));
    }

    pub(super) fn file(&mut self, pair: P) -> File {
        let mut declarations = Vec::new();
        for child in pair.into_inner() {
            if child.as_rule() == Rule::EOI {
                continue;
            }
            let span = self.span(&child);
            let doc = self.doc_above(span.start as usize);
            let kind = match child.as_rule() {
                Rule::common_decl => {
                    let block = child.into_inner().next();
                    DeclarationKind::Common(
                        block
                            .map(|block| self.field_block(block))
                            .unwrap_or_default(),
                    )
                }
                Rule::event_decl => DeclarationKind::Event(self.event(child)),
                Rule::list_decl => DeclarationKind::List(self.list(child)),
                Rule::lookup_decl => DeclarationKind::Lookup(self.lookup(child)),
                Rule::param_decl => DeclarationKind::Param(self.param(child)),
                Rule::playbook_decl => DeclarationKind::Playbook(self.playbook(child)),
                Rule::rule_decl => DeclarationKind::Rule(self.rule(child)),
                Rule::dashboard_decl => DeclarationKind::Dashboard(self.dashboard(child)),
                _ => continue,
            };
            declarations.push(Declaration { doc, span, kind });
        }
        File { declarations }
    }

    /// The `///` lines directly above `offset`, without the slashes.
    fn doc_above(&self, offset: usize) -> Option<String> {
        let before = self.text.get(..offset)?;
        let mut lines: Vec<&str> = Vec::new();
        // Skip the (possibly indented) start of the declaration's own line.
        let mut rest = match before.rfind('\n') {
            Some(index) if before[index + 1..].trim().is_empty() => &before[..index],
            Some(_) => return None,
            None => return None,
        };
        loop {
            let (head, line) = match rest.rfind('\n') {
                Some(index) => (&rest[..index], &rest[index + 1..]),
                None => ("", rest),
            };
            let trimmed = line.trim_start();
            if let Some(doc) = trimmed.strip_prefix("///") {
                lines.push(doc.strip_prefix(' ').unwrap_or(doc).trim_end());
            } else {
                break;
            }
            if head.is_empty() && !rest.contains('\n') {
                break;
            }
            rest = head;
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    fn field_block(&mut self, pair: P) -> Vec<FieldDecl> {
        pair.into_inner().map(|field| self.field(field)).collect()
    }

    fn field(&mut self, pair: P) -> FieldDecl {
        let span = self.span(&pair);
        let doc = self.doc_above(span.start as usize);
        let mut inner = pair.into_inner();
        let name = inner.next().map(|name| self.name(&name));
        let type_pair = inner.next();
        let (type_name, type_span) = match type_pair {
            Some(type_pair) => (type_name(type_pair.as_str()), self.span(&type_pair)),
            None => (TypeName::String, span),
        };
        let mut required = false;
        let mut one_of = None;
        for rest in inner {
            match rest.as_rule() {
                Rule::required => required = true,
                Rule::one_of => {
                    one_of = Some(
                        rest.into_inner()
                            .map(|string| self.string(string))
                            .collect(),
                    );
                }
                _ => {}
            }
        }
        FieldDecl {
            name: name.unwrap_or(Name {
                text: String::new(),
                span,
            }),
            type_name,
            type_span,
            required,
            one_of,
            doc,
            span,
        }
    }

    fn event(&mut self, pair: P) -> EventDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.name_or_empty(inner.next(), span);
        let fields = inner
            .next()
            .map(|block| self.field_block(block))
            .unwrap_or_default();
        EventDecl { name, fields }
    }

    fn list(&mut self, pair: P) -> ListDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.name_or_empty(inner.next(), span);
        let (element_type, type_span) = inner.next().map_or((TypeName::String, span), |pair| {
            (type_name(pair.as_str()), self.span(&pair))
        });
        let mut case_insensitive = None;
        let mut values = Vec::new();
        for part in inner {
            match part.as_rule() {
                Rule::case_insensitive => case_insensitive = Some(self.span(&part)),
                Rule::list_literal => values = self.list_literal(part),
                _ => {}
            }
        }
        ListDecl {
            name,
            element_type,
            type_span,
            values,
            case_insensitive,
        }
    }

    fn list_literal(&mut self, pair: P) -> Vec<Literal> {
        pair.into_inner()
            .filter_map(|literal| self.literal(literal))
            .collect()
    }

    fn lookup(&mut self, pair: P) -> LookupDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.name_or_empty(inner.next(), span);
        let mut file = None;
        let mut columns = Vec::new();
        for entry in inner {
            match entry.as_rule() {
                Rule::lookup_file => {
                    file = entry.into_inner().next().map(|string| self.string(string))
                }
                Rule::lookup_columns => {
                    if let Some(block) = entry.into_inner().next() {
                        columns = self.field_block(block);
                    }
                }
                _ => {}
            }
        }
        LookupDecl {
            name,
            file,
            columns,
        }
    }

    fn param(&mut self, pair: P) -> ParamDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.name_or_empty(inner.next(), span);
        let (type_name_value, type_span) = inner.next().map_or((TypeName::Int, span), |pair| {
            (type_name(pair.as_str()), self.span(&pair))
        });
        let default = inner
            .next()
            .and_then(|literal| self.literal(literal))
            .unwrap_or(Literal::Integer(0, span));
        ParamDecl {
            name,
            type_name: type_name_value,
            type_span,
            default,
        }
    }

    fn playbook(&mut self, pair: P) -> PlaybookDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.name_or_empty(inner.next(), span);
        let metadata = inner.map(|entry| self.metadata(entry)).collect();
        PlaybookDecl { name, metadata }
    }

    /// The declaration's name, or an empty one at `span` when the parser
    /// recovered without it.
    fn name_or_empty(&self, pair: Option<P>, span: Span) -> Name {
        match pair {
            Some(name) => self.name(&name),
            None => Name {
                text: String::new(),
                span,
            },
        }
    }

    fn rule(&mut self, pair: P) -> RuleDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let id = self.name_or_empty(inner.next(), span);
        let mut metadata = Vec::new();
        let mut detection = None;
        for child in inner {
            match child.as_rule() {
                Rule::metadata => metadata.push(self.metadata(child)),
                Rule::match_detection => {
                    detection = Some(Detection::Match(self.match_detection(child)))
                }
                Rule::sequence_detection => {
                    detection = Some(Detection::Sequence(self.sequence(child)));
                }
                _ => {}
            }
        }
        let detection = detection.unwrap_or(Detection::Match(MatchDetection {
            event_types: Vec::new(),
            filter: None,
            tail: MatchTail::None,
            context: Vec::new(),
            context_span: None,
            span,
        }));
        RuleDecl {
            id,
            metadata,
            detection,
        }
    }

    fn metadata(&mut self, pair: P) -> Metadata {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let key = self.name_or_empty(inner.next(), span);
        let value = inner
            .next()
            .map_or(MetadataValue::List(Vec::new(), span), |value| {
                self.metadata_value(value)
            });
        Metadata { key, value, span }
    }

    fn metadata_value(&mut self, pair: P) -> MetadataValue {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::string => MetadataValue::String(self.string(pair)),
            Rule::metadata_list => MetadataValue::List(
                pair.into_inner()
                    .map(|item| self.metadata_value(item))
                    .collect(),
                span,
            ),
            Rule::atlas_id => MetadataValue::AtlasId(self.name(&pair)),
            Rule::duration => MetadataValue::Duration(self.duration(&pair)),
            Rule::integer => MetadataValue::Integer(self.integer(&pair), span),
            Rule::float => MetadataValue::Float(self.float(&pair), span),
            Rule::boolean => MetadataValue::Bool(pair.as_str() == "true", span),
            _ => MetadataValue::Word(self.name(&pair)),
        }
    }

    fn event_types(&mut self, pair: P) -> Vec<Name> {
        pair.into_inner().map(|name| self.name(&name)).collect()
    }

    fn field_list(&mut self, pair: P) -> Vec<Name> {
        pair.into_inner().map(|name| self.name(&name)).collect()
    }

    fn match_detection(&mut self, pair: P) -> MatchDetection {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let mut event_types = Vec::new();
        let mut filter = None;
        if let Some(clause) = inner.next() {
            for part in clause.into_inner() {
                match part.as_rule() {
                    Rule::event_types => event_types = self.event_types(part),
                    Rule::expr => filter = Some(self.expr(part)),
                    _ => {}
                }
            }
        }
        let mut context = Vec::new();
        let mut context_span = None;
        let mut rest = Vec::new();
        for part in inner {
            if part.as_rule() == Rule::context_clause {
                context_span = Some(self.span(&part));
                if let Some(list) = part.into_inner().next() {
                    context = self.field_list(list);
                }
            } else {
                rest.push(part);
            }
        }
        let mut inner = rest.into_iter();
        let tail = match inner.next() {
            None => MatchTail::None,
            Some(first) => match first.as_rule() {
                Rule::group_clause => {
                    let (grouping, within) = self.group_clause(first);
                    let condition = inner
                        .next()
                        .and_then(|alert| alert.into_inner().next())
                        .map_or_else(|| missing(span), |expr| self.expr(expr));
                    MatchTail::Window {
                        grouping,
                        within,
                        condition,
                    }
                }
                Rule::new_clause => {
                    let mut parts = first.into_inner();
                    let values = parts
                        .next()
                        .map(|list| self.field_list(list))
                        .unwrap_or_default();
                    let key = parts
                        .next()
                        .map(|list| self.field_list(list))
                        .unwrap_or_default();
                    let lookback = parts
                        .next()
                        .map_or(Duration { millis: 0, span }, |duration| {
                            self.duration(&duration)
                        });
                    MatchTail::NewValue {
                        values,
                        key,
                        lookback,
                    }
                }
                Rule::cluster_clause => self.cluster_tail(first, inner.next(), span),
                _ => MatchTail::None,
            },
        };
        MatchDetection {
            event_types,
            filter,
            tail,
            context,
            context_span,
            span,
        }
    }

    fn cluster_tail(&mut self, clause: P, alert: Option<P>, span: Span) -> MatchTail {
        let mut field = Name {
            text: String::new(),
            span,
        };
        let mut similarity = 0.0;
        let mut similarity_span = span;
        let mut min_length = None;
        let mut within = Duration { millis: 0, span };
        for part in clause.into_inner() {
            match part.as_rule() {
                Rule::ident => field = self.name(&part),
                Rule::float | Rule::integer => {
                    similarity_span = self.span(&part);
                    similarity = part.as_str().parse().unwrap_or(0.0);
                }
                Rule::min_length => {
                    if let Some(value) = part.into_inner().next() {
                        min_length = Some((self.integer(&value), self.span(&value)));
                    }
                }
                Rule::duration => within = self.duration(&part),
                _ => {}
            }
        }
        let condition = alert
            .and_then(|alert| alert.into_inner().next())
            .map_or_else(|| missing(span), |expr| self.expr(expr));
        MatchTail::Cluster {
            field,
            similarity,
            similarity_span,
            min_length,
            within,
            condition,
        }
    }

    fn group_clause(&mut self, pair: P) -> (Grouping, Duration) {
        let span = self.span(&pair);
        let mut grouping = Grouping::Global(span);
        let mut within = Duration { millis: 0, span };
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::field_list => grouping = Grouping::Fields(self.field_list(part)),
                Rule::grouping_sets => {
                    let sets = part
                        .into_inner()
                        .filter_map(|paren| paren.into_inner().next())
                        .map(|list| self.field_list(list))
                        .collect();
                    grouping = Grouping::Sets(sets);
                }
                Rule::duration => within = self.duration(&part),
                _ => {}
            }
        }
        (grouping, within)
    }

    fn sequence(&mut self, pair: P) -> SequenceDetection {
        let span = self.span(&pair);
        let mut by = Vec::new();
        let mut within = Duration { millis: 0, span };
        let mut steps = Vec::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::field_list => by = self.field_list(part),
                Rule::duration => within = self.duration(&part),
                Rule::step => steps.push(self.step(part)),
                _ => {}
            }
        }
        SequenceDetection {
            by,
            within,
            steps,
            span,
        }
    }

    fn step(&mut self, pair: P) -> Step {
        let span = self.span(&pair);
        let mut event_types = Vec::new();
        let mut filter = None;
        let mut repeat = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::event_types => event_types = self.event_types(part),
                Rule::expr => filter = Some(self.expr(part)),
                Rule::repeat => {
                    if let Some(count) = part.into_inner().next() {
                        repeat = Some((self.integer(&count), self.span(&count)));
                    }
                }
                _ => {}
            }
        }
        Step {
            event_types,
            filter,
            repeat,
            span,
        }
    }

    // ------------------------------------------------------------ dashboards

    fn dashboard(&mut self, pair: P) -> DashboardDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let id = self.name_or_empty(inner.next(), span);
        let mut metadata = Vec::new();
        let mut panels = Vec::new();
        for child in inner {
            match child.as_rule() {
                Rule::metadata => metadata.push(self.metadata(child)),
                Rule::panel_decl => panels.push(self.panel(child)),
                _ => {}
            }
        }
        DashboardDecl {
            id,
            metadata,
            panels,
        }
    }

    fn panel(&mut self, pair: P) -> PanelDecl {
        let span = self.span(&pair);
        let mut id = Name {
            text: String::new(),
            span,
        };
        let mut metadata = Vec::new();
        let mut query = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::ident => id = self.name(&child),
                Rule::metadata => metadata.push(self.metadata(child)),
                Rule::events_query => query = Some(PanelQuery::Events(self.events_query(child))),
                Rule::alerts_query => {
                    let query_span = self.span(&child);
                    let every = child
                        .into_inner()
                        .find(|part| part.as_rule() == Rule::every_clause)
                        .and_then(|clause| self.every(clause));
                    query = Some(PanelQuery::Alerts {
                        every,
                        span: query_span,
                    });
                }
                _ => {}
            }
        }
        let query = query.unwrap_or(PanelQuery::Alerts { every: None, span });
        PanelDecl {
            id,
            metadata,
            query,
            span,
        }
    }

    fn every(&mut self, clause: P) -> Option<Duration> {
        clause
            .into_inner()
            .find(|part| part.as_rule() == Rule::duration)
            .map(|duration| self.duration(&duration))
    }

    fn events_query(&mut self, pair: P) -> EventsQuery {
        let span = self.span(&pair);
        let mut query = EventsQuery {
            event_types: Vec::new(),
            filter: None,
            group_by: Vec::new(),
            every: None,
            measures: Vec::new(),
            top: None,
            span,
        };
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::panel_match => {
                    for piece in part.into_inner() {
                        match piece.as_rule() {
                            Rule::event_types => query.event_types = self.event_types(piece),
                            Rule::expr => query.filter = Some(self.expr(piece)),
                            _ => {}
                        }
                    }
                }
                Rule::panel_group => {
                    for key in part.into_inner() {
                        match key.as_rule() {
                            Rule::ident => query.group_by.push(GroupKey::Field(self.name(&key))),
                            Rule::bin_key => query.group_by.push(self.bin_key(key)),
                            _ => {}
                        }
                    }
                }
                Rule::every_clause => query.every = self.every(part),
                Rule::show_clause => {
                    for measure in part.into_inner() {
                        if measure.as_rule() == Rule::measure {
                            query.measures.push(self.measure(measure));
                        }
                    }
                }
                Rule::top_clause => {
                    if let Some(count) = part
                        .into_inner()
                        .find(|piece| piece.as_rule() == Rule::integer)
                    {
                        query.top = Some((self.integer(&count), self.span(&count)));
                    }
                }
                _ => {}
            }
        }
        query
    }

    fn bin_key(&mut self, pair: P) -> GroupKey {
        let span = self.span(&pair);
        let mut field = Name {
            text: String::new(),
            span,
        };
        let mut size = 0.0;
        let mut size_span = span;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::ident => field = self.name(&part),
                Rule::integer => {
                    size = self.integer(&part) as f64;
                    size_span = self.span(&part);
                }
                Rule::float => {
                    size = self.float(&part);
                    size_span = self.span(&part);
                }
                _ => {}
            }
        }
        GroupKey::Bin {
            field,
            size,
            size_span,
            span,
        }
    }

    fn measure(&mut self, pair: P) -> MeasureDecl {
        let span = self.span(&pair);
        let mut expr = None;
        let mut name = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::expr => expr = Some(self.expr(part)),
                Rule::ident => name = Some(self.name(&part)),
                _ => {}
            }
        }
        MeasureDecl {
            expr: expr.unwrap_or_else(|| missing(span)),
            name,
            span,
        }
    }

    // ------------------------------------------------------------ expressions
}

/// Stands in for an expression the grammar guarantees but a tree lacks.
fn missing(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Literal(Literal::Bool(false, span)),
        span,
    }
}

fn type_name(text: &str) -> TypeName {
    match text {
        "int" => TypeName::Int,
        "float" => TypeName::Float,
        "bool" => TypeName::Bool,
        "ip" => TypeName::Ip,
        "timestamp" => TypeName::Timestamp,
        "duration" => TypeName::Duration,
        "regex" => TypeName::Regex,
        _ => TypeName::String,
    }
}

/// Removes the common indentation of a `"""` block and its first and last
/// blank lines, so guides can be indented with the rule.
pub(crate) fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|line| !line.trim().is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|line| !line.trim().is_empty())
        .map_or(start, |index| index + 1);
    let body = &lines[start..end];
    let indent = body
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    body.iter()
        .map(|line| line.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}
