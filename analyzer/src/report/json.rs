//! The JSON output: a stable, documented contract (see the README, "JSON output").

use serde::Serialize;

use super::{Derivation, Diagnostic, Severity};

/// Version of the JSON contract; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole JSON document.
#[derive(Debug, Serialize)]
pub struct Document {
    /// Contract version.
    pub schema: u32,
    /// blazes version.
    pub version: &'static str,
    /// One entry per stream of every loaded file.
    pub streams: Vec<Stream>,
    /// Every finding and input error.
    pub findings: Vec<Finding>,
    /// Coordination sites of the plan.
    pub sites: Vec<SiteJson>,
    /// True when every file's plan verified.
    pub plan_verified: bool,
    /// Counts by severity.
    pub summary: Summary,
}

/// A stream and its label.
#[derive(Debug, Serialize)]
pub struct Stream {
    /// File the stream is declared in.
    pub file: String,
    /// Producer, as `component.output`.
    pub from: String,
    /// Consumer component, or null for a sink stream.
    pub to: Option<String>,
    /// Consumer input interface, or null for a sink stream.
    pub input: Option<String>,
    /// The label, e.g. `Async`, `Seal(batch)`, `Run`.
    pub label: String,
    /// The derivation of the label, source first (written as an array of lines).
    pub derivation: Derivation,
}

/// A location in a file (one-based line and column, column in characters).
#[derive(Debug, Serialize)]
pub struct Location {
    /// File name as given on the command line.
    pub file: String,
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
    /// Byte offset.
    pub offset: usize,
    /// Length in bytes.
    pub length: usize,
}

/// A secondary location with its message.
#[derive(Debug, Serialize)]
pub struct Related {
    /// Where.
    pub location: Location,
    /// What is there.
    pub message: String,
}

/// A finding.
#[derive(Debug, Serialize)]
pub struct Finding {
    /// Stable code, e.g. `BLZ001`.
    pub code: &'static str,
    /// Stable name, e.g. `order-site`.
    pub name: &'static str,
    /// `error`, `warning` or `note`.
    pub severity: Severity,
    /// Component concerned, or null.
    pub component: Option<String>,
    /// The message.
    pub message: String,
    /// The remedy or help line, or null.
    pub remedy: Option<String>,
    /// Primary location.
    pub location: Location,
    /// Secondary locations.
    pub related: Vec<Related>,
    /// The derivation, source first (written as an array of lines).
    pub derivation: Derivation,
    /// For an order site under `lint --witness`: two delivery orders and the different outputs
    /// they give, found by the simulator. Omitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<crate::simulate::Witness>,
}

/// A coordination site.
#[derive(Debug, Serialize)]
pub struct SiteJson {
    /// File.
    pub file: String,
    /// Component.
    pub component: String,
    /// `order` or `seal`.
    pub kind: &'static str,
    /// For order sites: `deterministic` or `dynamic`.
    pub strategy: Option<&'static str>,
    /// Input interfaces concerned (for seal sites, the sealed inputs).
    pub inputs: Vec<String>,
    /// For seal sites, the keys; for order sites, suggested seals as `component.output: field`.
    pub seals: Vec<String>,
}

/// Counts by severity.
#[derive(Debug, Serialize, Default)]
pub struct Summary {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Notes.
    pub notes: usize,
}

impl Summary {
    /// Counts diagnostics by severity.
    pub fn of<'d>(diags: impl IntoIterator<Item = &'d Diagnostic>) -> Self {
        let mut summary = Summary::default();
        for d in diags {
            *match d.severity {
                Severity::Error => &mut summary.errors,
                Severity::Warning => &mut summary.warnings,
                Severity::Note => &mut summary.notes,
            } += 1;
        }
        summary
    }
}

fn location(d: &Diagnostic, span: crate::model::Span) -> Location {
    let (line, column) = d.source.line_col(span.offset());
    Location {
        // A source can bundle several files: name the one the span falls in, and count the
        // offset from its start.
        file: d.source.file_name(span.offset()).to_string(),
        line,
        column,
        offset: span.offset() - d.source.file_range(span.offset()).start,
        length: span.len(),
    }
}

impl From<&Diagnostic> for Finding {
    fn from(d: &Diagnostic) -> Self {
        Finding {
            code: d.code.id,
            name: d.code.name,
            severity: d.severity,
            component: d.component.clone(),
            message: d.message.clone(),
            remedy: d.help.clone(),
            location: location(
                d,
                d.primary.as_ref().map_or_else(Default::default, |p| p.span),
            ),
            related: d
                .secondary
                .iter()
                .map(|m| Related {
                    location: location(d, m.span),
                    message: m.text.clone(),
                })
                .collect(),
            derivation: d.derivation.clone(),
            witness: None,
        }
    }
}
