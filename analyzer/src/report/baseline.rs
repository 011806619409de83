//! Baselines for incremental adoption: `blazes lint --write-baseline FILE` records the current
//! findings, `blazes lint --baseline FILE` reports only findings that are not recorded.
//!
//! A finding is identified by its code, its file, its component and the model element its
//! primary span points at (a path `input -> output`, an input, an output port, or the
//! component), never by line or column: an unrelated edit above it does not resurface it.
//! Identical identities are counted, so a second finding of the same kind at the same place is
//! new.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Diagnostic;
use crate::model::Topology;

/// Version of the baseline file format.
pub const FORMAT_VERSION: u32 = 1;

/// One recorded finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// Code id, e.g. `BLZ001`.
    pub code: String,
    /// Code name, for readers of the file (not used for matching).
    #[serde(default)]
    pub name: String,
    /// The file, as given on the command line.
    pub file: String,
    /// The component, if any.
    #[serde(default)]
    pub component: Option<String>,
    /// The element the finding points at: `path IN -> OUT`, `paths` (a component-wide label),
    /// `input NAME`, `output COMPONENT.PORT`, `component`, or the message for anything else.
    pub at: String,
}

impl Entry {
    /// The identity used for matching (the name is left out: ids are stable).
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.code,
            self.file,
            self.component.as_deref().unwrap_or(""),
            self.at
        )
    }
}

/// A baseline file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version ([`FORMAT_VERSION`]).
    pub blazes_baseline: u32,
    /// Recorded findings, sorted.
    pub findings: Vec<Entry>,
}

/// The element of the topology a span points at, as written in [`Entry::at`].
fn locus(t: &Topology, d: &Diagnostic) -> String {
    let Some(span) = d.primary.as_ref().map(|p| p.span) else {
        return d.message.clone();
    };
    let component = d
        .component
        .as_deref()
        .and_then(|name| t.component_index(name));
    let candidates: Vec<usize> = match component {
        Some(c) => vec![c],
        None => (0..t.components.len()).collect(),
    };
    for &ci in &candidates {
        let comp = &t.components[ci];
        let paths: Vec<_> = comp.paths.iter().filter(|p| p.span == span).collect();
        match paths.as_slice() {
            [] => {}
            [p] => {
                let shared = comp.paths.iter().filter(|q| q.span == p.span).count();
                if shared == 1 {
                    return format!(
                        "path {} -> {}",
                        comp.inputs.get(p.input).map_or("?", |i| i.name.as_str()),
                        comp.outputs.get(p.output).map_or("?", |o| o.name.as_str())
                    );
                }
                return "paths".into();
            }
            _ => return "paths".into(),
        }
        for input in &comp.inputs {
            if input.from_span == span || input.span == span || input.grouping_span() == Some(span)
            {
                return format!("input {}", input.name);
            }
        }
        for (oi, output) in comp.outputs.iter().enumerate() {
            if output.seal.as_deref().is_some_and(|(_, s)| *s == span) || output.span == span {
                return format!("output {}", comp.port_name(oi));
            }
        }
        if comp.span == span {
            return "component".into();
        }
    }
    d.message.clone()
}

/// The baseline entry of a finding of an analyzed topology.
pub fn entry(t: &Topology, d: &Diagnostic) -> Entry {
    let file = d.primary.as_ref().map_or_else(
        || d.source.name.clone(),
        |p| d.source.file_name(p.span.offset()).to_string(),
    );
    Entry {
        code: d.code.id.to_string(),
        name: d.code.name.to_string(),
        file,
        component: d.component.clone(),
        at: locus(t, d),
    }
}

impl Baseline {
    /// A baseline recording the given findings.
    pub fn of<'a>(findings: impl IntoIterator<Item = (&'a Topology, &'a Diagnostic)>) -> Self {
        let mut entries: Vec<Entry> = findings.into_iter().map(|(t, d)| entry(t, d)).collect();
        entries.sort();
        Baseline {
            blazes_baseline: FORMAT_VERSION,
            findings: entries,
        }
    }

    /// The file's text: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// Parses a baseline file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if b.blazes_baseline != FORMAT_VERSION {
            return Err(format!(
                "baseline format {} is not supported (expected {FORMAT_VERSION})",
                b.blazes_baseline
            ));
        }
        Ok(b)
    }

    /// A matcher that consumes one recorded entry per matching finding.
    pub fn matcher(&self) -> Matcher {
        let mut counts = BTreeMap::new();
        for e in &self.findings {
            *counts.entry(e.key()).or_insert(0usize) += 1;
        }
        Matcher { counts }
    }
}

/// Matches findings against a baseline, each recorded entry at most once.
#[derive(Debug)]
pub struct Matcher {
    counts: BTreeMap<String, usize>,
}

impl Matcher {
    /// True when the finding is recorded in the baseline (and consumes that record).
    pub fn known(&mut self, t: &Topology, d: &Diagnostic) -> bool {
        match self.counts.get_mut(&entry(t, d).key()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }
}
