//! One diagnostic model, many emitters: every finding and input error is a [`Diagnostic`];
//! `human`, `json` and `labels` render them.

pub mod baseline;
pub mod codes;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use std::sync::Arc;

use serde::Serialize;

use crate::model::{SourceFile, Span};
pub use codes::Code;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Coordination is missing, or the input is broken.
    Error,
    /// Probably a bug; does not fail the run unless denied.
    Warning,
    /// Information, e.g. a seal barrier the topology relies on.
    Note,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// A labelled span in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marked {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub text: String,
}

/// A finding or an input error.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// The registry entry.
    pub code: &'static Code,
    /// Severity (the code's default, unless escalated).
    pub severity: Severity,
    /// The component concerned, if any.
    pub component: Option<String>,
    /// One-line message.
    pub message: String,
    /// The primary location.
    pub primary: Option<Marked>,
    /// Related locations (where the unsealed input comes from, where a seal is declared).
    pub secondary: Vec<Marked>,
    /// The remedy or a suggestion.
    pub help: Option<String>,
    /// The chain of rules from a source to here, one step per line.
    pub derivation: Vec<Arc<str>>,
    /// The file the spans point into.
    pub source: Arc<SourceFile>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity and no spans.
    pub fn new(code: &'static Code, source: &Arc<SourceFile>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity,
            component: None,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
            derivation: Vec::new(),
            source: Arc::clone(source),
        }
    }

    /// Sets the primary span.
    pub fn at(mut self, span: Span, text: impl Into<String>) -> Self {
        self.primary = Some(Marked {
            span,
            text: text.into(),
        });
        self
    }

    /// Adds a secondary span.
    pub fn also(mut self, span: Span, text: impl Into<String>) -> Self {
        self.secondary.push(Marked {
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the component.
    pub fn component(mut self, name: impl Into<String>) -> Self {
        self.component = Some(name.into());
        self
    }

    /// One-based line and column of the primary span (1:1 without one).
    pub fn line_col(&self) -> (usize, usize) {
        self.primary
            .as_ref()
            .map_or((1, 1), |p| self.source.line_col(p.span.offset))
    }

    /// The order in which diagnostics are reported: file, severity (errors first), component,
    /// code, position, and message. Independent of the order of components in the file.
    pub fn sort_key(&self) -> (&str, Severity, &str, &'static str, usize, &str) {
        (
            &self.source.name,
            self.severity,
            self.component.as_deref().unwrap_or_default(),
            self.code.id,
            self.primary.as_ref().map_or(0, |p| p.span.offset),
            &self.message,
        )
    }
}

/// Sorts diagnostics into reporting order.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}
