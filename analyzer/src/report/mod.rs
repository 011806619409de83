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

/// The chain of rule steps that gave a label, one line per step, source first.
///
/// A persistent list: the derivations of a topology's outputs share their upstream steps, so a
/// finding holds one pointer however long its chain.
#[derive(Clone, Debug, Default)]
pub struct Derivation(Option<Arc<Link>>);

/// One step of a [`Derivation`] and the steps before it.
#[derive(Debug)]
struct Link {
    line: Arc<str>,
    before: Derivation,
    len: usize,
}

impl Derivation {
    /// This derivation followed by one more step.
    pub fn then(&self, line: Arc<str>) -> Derivation {
        Derivation(Some(Arc::new(Link {
            line,
            before: self.clone(),
            len: self.len() + 1,
        })))
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |l| l.len)
    }

    /// True when there is no step.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The steps, source first.
    pub fn lines(&self) -> Vec<&str> {
        let mut lines = Vec::with_capacity(self.len());
        let mut at = &self.0;
        while let Some(link) = at {
            lines.push(&*link.line);
            at = &link.before.0;
        }
        lines.reverse();
        lines
    }
}

/// Written as an array of its lines, source first. The lines are shared with other
/// derivations, so a document holding many is written without copying them.
impl Serialize for Derivation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.lines())
    }
}

impl Drop for Derivation {
    /// Drops a long chain link by link, without recursing once per step.
    fn drop(&mut self) {
        let mut next = self.0.take();
        while let Some(link) = next {
            match Arc::try_unwrap(link) {
                Ok(mut link) => next = link.before.0.take(),
                Err(_) => break,
            }
        }
    }
}

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
    pub derivation: Derivation,
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
            derivation: Derivation::default(),
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
            .map_or((1, 1), |p| self.source.line_col(p.span.offset()))
    }

    /// The order in which diagnostics are reported: file, severity (errors first), component,
    /// code, position, and message. Independent of the order of components in the file.
    pub fn sort_key(&self) -> (&str, Severity, &str, &'static str, usize, &str) {
        (
            &self.source.name,
            self.severity,
            self.component.as_deref().unwrap_or_default(),
            self.code.id,
            self.primary.as_ref().map_or(0, |p| p.span.offset()),
            &self.message,
        )
    }
}

/// Sorts diagnostics into reporting order.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivations_share_their_upstream_steps() {
        let source = Derivation::default().then("source".into());
        let a = source.then("a".into()).then("a2".into());
        let b = source.then("b".into());
        assert_eq!(a.lines(), ["source", "a", "a2"]);
        assert_eq!(b.lines(), ["source", "b"]);
        assert_eq!((a.len(), b.len()), (3, 2));
        assert!(Derivation::default().is_empty() && !b.is_empty());
        drop(source);
        // The shared step outlives the handle it was built from.
        assert_eq!(b.lines()[0], "source");
    }

    #[test]
    fn a_long_derivation_drops_without_deep_recursion() {
        let mut d = Derivation::default();
        for _ in 0..1_000_000 {
            d = d.then("step".into());
        }
        let shared = d.clone();
        drop(d);
        assert_eq!(shared.len(), 1_000_000);
        drop(shared);
    }
}
