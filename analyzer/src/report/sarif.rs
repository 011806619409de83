//! SARIF 2.1.0 output (`blazes lint --format sarif`), for GitHub code scanning and other
//! SARIF viewers.
//!
//! One run, one tool (`blazes`) whose rules are every code of the registry, with its summary,
//! documentation and default level; one result per diagnostic, located by line and column in
//! Unicode code points (`columnKind: unicodeCodePoints`, the way blazes counts columns), with
//! related locations for the secondary spans and a partial fingerprint that matches the
//! baseline key, so that code scanning tracks a finding across unrelated edits.

use serde_json::{Value, json};

use super::{Diagnostic, Severity, codes};
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

/// The `reportingDescriptor` of every code in the registry.
fn rules() -> Vec<Value> {
    codes::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.name,
                "shortDescription": { "text": c.summary },
                "fullDescription": { "text": c.doc },
                "help": {
                    "text": format!("{}\n\nblazes explain {}", c.doc, c.name),
                    "markdown": format!(
                        "**{} `{}`** ({})\n\n{}\n\nRun `blazes explain {}` for this text.",
                        c.id, c.name, c.severity, c.doc, c.name
                    ),
                },
                "defaultConfiguration": { "level": level(c.severity) },
                "properties": {
                    "tags": [if c.id.as_bytes().get(3) == Some(&b'1') {
                        "input"
                    } else {
                        "coordination"
                    }],
                },
            })
        })
        .collect()
}

/// A `physicalLocation` for a span of the diagnostic's source.
fn physical(d: &Diagnostic, span: Option<Span>) -> Value {
    let Some(span) = span else {
        return json!({ "artifactLocation": { "uri": uri(&d.source.name) } });
    };
    let file = d.source.file_name(span.offset()).to_string();
    let (start_line, start_column) = d.source.line_col(span.offset());
    let (end_line, end_column) = d.source.line_col(span.end());
    let start = d.source.file_range(span.offset()).start;
    json!({
        "artifactLocation": { "uri": uri(&file) },
        "region": {
            "startLine": start_line,
            "startColumn": start_column,
            "endLine": end_line,
            "endColumn": end_column,
            "charOffset": span.offset().saturating_sub(start),
            "charLength": span.len(),
        },
    })
}

/// One SARIF `result`.
fn result(entry: &Entry<'_>) -> Value {
    let d = entry.diagnostic;
    let rule_index = codes::ALL.iter().position(|c| *c == d.code).unwrap_or(0);
    let mut text = d.message.clone();
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let related: Vec<Value> = d
        .secondary
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({
                "id": i,
                "physicalLocation": physical(d, Some(m.span)),
                "message": { "text": if m.text.is_empty() { "related" } else { &m.text } },
            })
        })
        .collect();
    let mut properties = serde_json::Map::new();
    properties.insert("name".into(), json!(d.code.name));
    if let Some(c) = &d.component {
        properties.insert("component".into(), json!(c));
    }
    if let Some(h) = &d.help {
        properties.insert("remedy".into(), json!(h));
    }
    if !d.derivation.is_empty() {
        properties.insert("derivation".into(), json!(d.derivation.lines()));
    }
    let mut r = json!({
        "ruleId": d.code.id,
        "ruleIndex": rule_index,
        "level": level(d.severity),
        "message": { "text": text },
        "locations": [ { "physicalLocation": physical(d, d.primary.as_ref().map(|p| p.span)) } ],
        "properties": properties,
    });
    if !related.is_empty() {
        r["relatedLocations"] = Value::Array(related);
    }
    if let Some(key) = &entry.key {
        r["partialFingerprints"] = json!({ "blazesFinding/v1": key });
    }
    r
}

/// The whole SARIF log for the given diagnostics (in the order given).
pub fn document(entries: &[Entry<'_>]) -> Value {
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [ {
            "tool": { "driver": {
                "name": "blazes",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules(),
            } },
            "columnKind": "unicodeCodePoints",
            "results": entries.iter().map(result).collect::<Vec<_>>(),
        } ],
    })
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
        let doc = document(&[]);
        let rules = doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(rules, codes::ALL.len());
    }
}
