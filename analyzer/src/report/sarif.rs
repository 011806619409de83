//! SARIF 2.1.0 output (`blazes lint --format sarif`), for GitHub code scanning and other
//! SARIF viewers.
//!
//! One run, one tool (`blazes`) whose rules are every code of the registry, with its summary,
//! documentation and default level; one result per diagnostic, located by line and column in
//! Unicode code points (`columnKind: unicodeCodePoints`, the way blazes counts columns), with
//! related locations for the secondary spans and a partial fingerprint that matches the
//! baseline key, so that code scanning tracks a finding across unrelated edits.

use serde::Serialize;
use serde::ser::Serializer;

use super::{Derivation, Diagnostic, Severity, codes};
use crate::model::Span;

/// The URI of the SARIF 2.1.0 JSON schema, written into the log.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A diagnostic to report, with the key that identifies it across edits (see
/// [`super::baseline`]).
#[derive(Debug)]
pub struct Entry<'a> {
    /// The diagnostic.
    pub diagnostic: &'a Diagnostic,
    /// Its stable identity (code, file, component, path or port), if it has one.
    pub key: Option<String>,
}

/// SARIF's level for a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// Percent-encodes a file name into a relative URI reference (`/` separators kept).
pub fn uri(file: &str) -> String {
    let mut out = String::new();
    for b in file.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// The log is written straight from the diagnostics, one result at a time, so that a large
// report is never held twice in memory. Field names are SARIF's in snake case, declared in
// the alphabetical order of their SARIF names: that is the order the log has always had.

/// `{ "text": … }`, SARIF's message and description object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Text<T> {
    text: T,
}

/// The whole SARIF log (see [`document`]).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<'a>; 1],
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    column_kind: &'static str,
    #[serde(serialize_with = "results")]
    results: &'a [Entry<'a>],
    tool: Tool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    #[serde(serialize_with = "rules")]
    rules: (),
    semantic_version: &'static str,
    version: &'static str,
}

/// A `reportingDescriptor`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    default_configuration: Level,
    full_description: Text<&'static str>,
    help: Help,
    id: &'static str,
    name: &'static str,
    properties: Tags,
    short_description: Text<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Level {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Help {
    markdown: String,
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tags {
    tags: [&'static str; 1],
}

/// The `reportingDescriptor` of every code in the registry.
fn rules<S: Serializer>(_: &(), serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(codes::ALL.iter().map(|c| Rule {
        default_configuration: Level {
            level: level(c.severity),
        },
        full_description: Text { text: c.doc },
        help: Help {
            markdown: format!(
                "**{} `{}`** ({})\n\n{}\n\nRun `blazes explain {}` for this text.",
                c.id, c.name, c.severity, c.doc, c.name
            ),
            text: format!("{}\n\nblazes explain {}", c.doc, c.name),
        },
        id: c.id,
        name: c.name,
        properties: Tags {
            tags: [if c.id.as_bytes().get(3) == Some(&b'1') {
                "input"
            } else {
                "coordination"
            }],
        },
        short_description: Text { text: c.summary },
    }))
}

/// A `physicalLocation`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Uri,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Uri {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    char_length: usize,
    char_offset: usize,
    end_column: usize,
    end_line: usize,
    start_column: usize,
    start_line: usize,
}

/// A `physicalLocation` for a span of the diagnostic's source.
fn physical(d: &Diagnostic, span: Option<Span>) -> Physical {
    let Some(span) = span else {
        return Physical {
            artifact_location: Uri {
                uri: uri(&d.source.name),
            },
            region: None,
        };
    };
    let (start_line, start_column) = d.source.line_col(span.offset());
    let (end_line, end_column) = d.source.line_col(span.end());
    let start = d.source.file_range(span.offset()).start;
    Physical {
        artifact_location: Uri {
            uri: uri(d.source.file_name(span.offset())),
        },
        region: Some(Region {
            char_length: span.len(),
            char_offset: span.offset().saturating_sub(start),
            end_column,
            end_line,
            start_column,
            start_line,
        }),
    }
}

/// A SARIF `result`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    level: &'static str,
    locations: [Location; 1],
    message: Text<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partial_fingerprints: Option<Fingerprint<'a>>,
    properties: Properties<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Related<'a>>,
    rule_id: &'static str,
    rule_index: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Physical,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fingerprint<'a> {
    #[serde(rename = "blazesFinding/v1")]
    key: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Properties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<&'a str>,
    #[serde(skip_serializing_if = "no_steps")]
    derivation: &'a Derivation,
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remedy: Option<&'a str>,
}

/// A derivation without steps is left out.
fn no_steps(d: &&Derivation) -> bool {
    d.is_empty()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Related<'a> {
    id: usize,
    message: Text<&'a str>,
    physical_location: Physical,
}

/// One SARIF `result`.
fn result<'a>(entry: &'a Entry<'a>) -> SarifResult<'a> {
    let d = entry.diagnostic;
    let mut text = d.message.clone();
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    SarifResult {
        level: level(d.severity),
        locations: [Location {
            physical_location: physical(d, d.primary.as_ref().map(|p| p.span)),
        }],
        message: Text { text },
        partial_fingerprints: entry.key.as_deref().map(|key| Fingerprint { key }),
        properties: Properties {
            component: d.component.as_deref(),
            derivation: &d.derivation,
            name: d.code.name,
            remedy: d.help.as_deref(),
        },
        related_locations: d
            .secondary
            .iter()
            .enumerate()
            .map(|(id, m)| Related {
                id,
                message: Text {
                    text: if m.text.is_empty() {
                        "related"
                    } else {
                        &m.text
                    },
                },
                physical_location: physical(d, Some(m.span)),
            })
            .collect(),
        rule_id: d.code.id,
        rule_index: codes::ALL.iter().position(|c| *c == d.code).unwrap_or(0),
    }
}

/// The results, each built as it is written.
fn results<S: Serializer>(entries: &&[Entry<'_>], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(entries.iter().map(result))
}

/// The whole SARIF log for the given diagnostics (in the order given), to serialize.
pub fn document<'a>(entries: &'a [Entry<'a>]) -> Log<'a> {
    Log {
        schema: SCHEMA_URI,
        runs: [Run {
            column_kind: "unicodeCodePoints",
            results: entries,
            tool: Tool {
                driver: Driver {
                    name: "blazes",
                    rules: (),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    version: env!("CARGO_PKG_VERSION"),
                },
            },
        }],
        version: "2.1.0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded() {
        assert_eq!(uri("examples/a b.yaml"), "examples/a%20b.yaml");
        assert_eq!(uri("<stdin>"), "%3Cstdin%3E");
        assert_eq!(uri("dir\\f.yaml"), "dir/f.yaml");
    }

    #[test]
    fn every_code_is_a_rule() {
        let doc = serde_json::to_value(document(&[])).unwrap_or_default();
        let rules = doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(rules, codes::ALL.len());
    }
}
