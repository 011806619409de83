//! One diagnostic model, many emitters: every finding and input error is a [`Diagnostic`];
//! `human`, `json` and `labels` render them.

pub mod baseline;
pub mod codes;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;

use crate::model::{SourceFile, Span};
pub use codes::Code;

/// The chain of rule steps that gave a label, one line per step, source first.
///
/// A persistent list: the derivations of a topology's outputs share their upstream steps, so a
/// finding holds one pointer however long its chain.
///
/// A step that outputs the label it was fed *keeps* the label. Only the steps that change it
/// explain it, so a run of more than [`RUN_SHOWN`] such steps in a row is shown by its first
/// and last [`RUN_ENDS`] and one line counting the rest ([`Derivation::lines`]): along a chain of
/// thousands of components, every derivation would otherwise hold thousands of lines, and the
/// output would grow with the square of the chain.
#[derive(Clone, Debug, Default)]
pub struct Derivation(Option<Arc<Link>>);

/// Steps shown at each end of a run of steps that keep the label.
pub const RUN_ENDS: usize = 3;

/// The longest run of steps that keep the label that is shown whole.
pub const RUN_SHOWN: usize = 2 * RUN_ENDS + 1;

/// One step of a [`Derivation`] and the steps before it.
#[derive(Debug)]
struct Link {
    line: Arc<str>,
    before: Derivation,
    len: usize,
    /// How many steps in a row, ending with this one, keep the label (0: this one changes it).
    run: usize,
    /// In a run longer than [`RUN_ENDS`], the derivation that ends with the run's first
    /// `RUN_ENDS` steps, where [`Derivation::lines`] resumes after counting the middle.
    head: Derivation,
}

impl Derivation {
    /// This derivation followed by one more step, which changes the label.
    pub fn then(&self, line: Arc<str>) -> Derivation {
        self.then_step(line, false)
    }

    /// This derivation followed by one more step; `keeps` when the step outputs the label it
    /// was fed.
    pub fn then_step(&self, line: Arc<str>, keeps: bool) -> Derivation {
        let before = self.0.as_ref();
        let run = if keeps {
            before.map_or(0, |l| l.run) + 1
        } else {
            0
        };
        let head = match before {
            Some(_) if run == RUN_ENDS + 1 => self.clone(),
            Some(l) if run > RUN_ENDS + 1 => l.head.clone(),
            _ => Derivation::default(),
        };
        Derivation(Some(Arc::new(Link {
            line,
            before: self.clone(),
            len: self.len() + 1,
            run,
            head,
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

    /// The steps, source first, with the middle of each long run of steps that keep the label
    /// counted in one line (see [`Derivation`]). Reads only the lines it gives.
    pub fn lines(&self) -> Vec<Cow<'_, str>> {
        let mut lines = Vec::new();
        let mut at = &self.0;
        while let Some(link) = at {
            if link.run > RUN_SHOWN {
                // The run's last steps, a count of its middle, and on from its first steps.
                let mut last = link;
                for _ in 0..RUN_ENDS {
                    lines.push(Cow::Borrowed(&*last.line));
                    match &last.before.0 {
                        Some(l) => last = l,
                        None => break,
                    }
                }
                let middle = last.run - RUN_ENDS;
                lines.push(Cow::Owned(format!(
                    "… {middle} more steps, each keeping the label it is fed …"
                )));
                at = &last.head.0;
                continue;
            }
            lines.push(Cow::Borrowed(&*link.line));
            at = &link.before.0;
        }
        lines.reverse();
        lines
    }
}

/// Written as an array of its lines, source first ([`Derivation::lines`]). The lines are shared
/// with other derivations, so a document holding many is written without copying them.
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
    fn long_runs_of_steps_that_keep_the_label_are_counted_not_listed() {
        let step = |d: &Derivation, name: String, keeps: bool| d.then_step(name.into(), keeps);
        // A source, a step that changes the label, then runs of `n` steps that keep it, each
        // run ended by a step that changes it.
        let mut d = Derivation::default().then("source".into());
        let mut expected: Vec<String> = vec!["source".into()];
        for (r, n) in [20, RUN_SHOWN, RUN_SHOWN + 1, 0, 1].into_iter().enumerate() {
            d = step(&d, format!("change {r}"), false);
            expected.push(format!("change {r}"));
            for k in 0..n {
                d = step(&d, format!("keep {r}.{k}"), true);
            }
            let kept = (0..n).map(|k| format!("keep {r}.{k}"));
            if n > RUN_SHOWN {
                expected.extend(kept.clone().take(RUN_ENDS));
                expected.push(format!(
                    "… {} more steps, each keeping the label it is fed …",
                    n - 2 * RUN_ENDS
                ));
                expected.extend(kept.skip(n - RUN_ENDS));
            } else {
                expected.extend(kept);
            }
        }
        assert_eq!(d.lines(), expected);
        assert_eq!(d.len(), 1 + 5 + 20 + 2 * RUN_SHOWN + 1 + 1);
        // Ending inside a long run, and a derivation that is one long run from its start.
        let mut e = Derivation::default();
        for k in 0..100 {
            e = step(&e, format!("k{k}"), true);
        }
        let lines = e.lines();
        assert_eq!(lines.len(), 2 * RUN_ENDS + 1);
        assert_eq!((&*lines[0], &*lines[RUN_ENDS - 1]), ("k0", "k2"));
        assert_eq!(
            lines[RUN_ENDS],
            "… 94 more steps, each keeping the label it is fed …"
        );
        assert_eq!(&*lines[2 * RUN_ENDS], "k99");
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
