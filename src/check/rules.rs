//! Rules: one rule declaration to one IR rule.
//!
//! Input: a [`RuleSource`] and the collected [`Environment`]. Output: an
//! [`ir::Rule`] with its metadata, detection and everything it reads
//! (event types, fields, params, lists, lookups), or `None` with the
//! diagnostics that explain why.

use std::collections::BTreeSet;

use super::Reference;
use super::collect::{Environment, RuleSource};
use super::metadata;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::source::{Sources, Span};

/// Named content a rule reads, collected while checking it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Usage {
    /// Fields.
    pub fields: BTreeSet<String>,
    /// Parameters.
    pub params: BTreeSet<String>,
    /// Lists.
    pub lists: BTreeSet<String>,
    /// Lookups.
    pub lookups: BTreeSet<String>,
}

impl Usage {
    /// Adds another rule's usage.
    pub fn merge(&mut self, other: &Usage) {
        self.fields.extend(other.fields.iter().cloned());
        self.params.extend(other.params.iter().cloned());
        self.lists.extend(other.lists.iter().cloned());
        self.lookups.extend(other.lookups.iter().cloned());
    }
}

/// Checks one rule: holds what the rule reads and what was found wrong.
pub(crate) struct RuleChecker<'a> {
    /// Source text, for labels and origins.
    pub sources: &'a Sources,
    /// Every declaration of the pack.
    pub environment: &'a Environment<'a>,
    /// Reference data for metadata.
    pub reference: &'a Reference,
    /// Diagnostics of this rule.
    pub diagnostics: Vec<Diagnostic>,
    /// What this rule reads.
    pub usage: Usage,
    /// Whether the expressions checked are a dashboard panel's (measures
    /// instead of an alert condition), for the words of messages.
    pub in_panel: bool,
}

impl<'a> RuleChecker<'a> {
    /// A checker for one rule.
    pub fn new(
        sources: &'a Sources,
        environment: &'a Environment<'a>,
        reference: &'a Reference,
    ) -> Self {
        RuleChecker {
            sources,
            environment,
            reference,
            diagnostics: Vec::new(),
            usage: Usage::default(),
            in_panel: false,
        }
    }

    /// The IR origin of a span.
    pub(crate) fn origin(&self, span: Span) -> ir::Origin {
        let position = self
            .sources
            .get(span.source)
            .map(|file| file.line_column(span.start as usize))
            .unwrap_or_default();
        ir::Origin {
            line: u32::try_from(position.line).unwrap_or(u32::MAX),
            column: u32::try_from(position.column).unwrap_or(u32::MAX),
            start: span.start,
            end: span.end,
        }
    }

    /// An IR node at `span`.
    pub(crate) fn node(
        &self,
        kind: ir::ExprKind,
        value_type: ir::ValueType,
        span: Span,
    ) -> ir::Expr {
        ir::Expr {
            kind,
            value_type,
            origin: self.origin(span),
        }
    }

    /// Whether an error has been reported for this rule.
    pub(crate) fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Checks and lowers the rule.
    pub fn rule(&mut self, rule: &RuleSource) -> Option<ir::Rule> {
        let declaration = rule.rule;
        let metadata = metadata::rule_metadata(
            declaration,
            &self.environment.playbooks,
            self.reference,
            &mut self.diagnostics,
        );
        let detection = self.detection(&declaration.detection);
        let allowed = metadata::allowed_warnings(declaration, &mut self.diagnostics);
        if let Some(metadata) = &metadata
            && metadata.guide.is_none()
            && !allowed.iter().any(|code| code == Code::NO_GUIDE.as_str())
        {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::NO_GUIDE,
                    format!("the rule `{}` has no investigation guide", declaration.id.text),
                )
                .primary(declaration.id.span, "no `guide`")
                .help("add `guide: \"\"\" ... \"\"\"` saying how to triage, scope and contain the alert"),
            );
        }
        if self.has_errors() {
            return None;
        }
        let (metadata, (detection, event_types)) = (metadata?, detection?);
        let mut fields = self.usage.fields.clone();
        fields.insert("timestamp".to_string());
        let file = self
            .sources
            .get(rule.source)
            .map(|file| file.path.clone())
            .unwrap_or_default();
        Some(ir::Rule {
            id: declaration.id.text.clone(),
            file,
            origin: self.origin(rule.declaration.span),
            metadata,
            detection,
            event_types,
            fields: fields.into_iter().collect(),
            uses: ir::Uses {
                params: self.usage.params.iter().cloned().collect(),
                lists: self.usage.lists.iter().cloned().collect(),
                lookups: self.usage.lookups.iter().cloned().collect(),
            },
        })
    }
}
