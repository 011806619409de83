//! GitHub Actions workflow commands (`blazes lint --format github`): one
//! `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message` line per diagnostic,
//! which the runner turns into annotations on the pull request's changed files.
//!
//! The runner splits a command at `::` and its properties at `,` and `=`, so data is escaped:
//! `%`, `\r` and `\n` everywhere, and additionally `:` and `,` inside property values.

use std::fmt::Write as _;

use super::{Diagnostic, Severity};

/// Escapes the message part of a workflow command.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow command for a severity.
fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    }
}

/// One workflow command line (with its trailing newline) for a diagnostic.
pub fn line(d: &Diagnostic) -> String {
    let mut props = Vec::new();
    match &d.primary {
        Some(p) => {
            let (line, col) = d.source.line_col(p.span.offset());
            let (end_line, end_col) = d.source.line_col(p.span.end());
            props.push(format!(
                "file={}",
                escape_property(d.source.file_name(p.span.offset()))
            ));
            props.push(format!("line={line}"));
            props.push(format!("col={col}"));
            props.push(format!("endLine={end_line}"));
            // GitHub only draws a column range on a single line.
            if end_line == line {
                props.push(format!("endColumn={end_col}"));
            }
        }
        None => props.push(format!("file={}", escape_property(&d.source.name))),
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("{} {}", d.code.id, d.code.name))
    ));
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        let _ = write!(message, "\nhelp: {help}");
    }
    if !d.derivation.is_empty() {
        message.push_str("\nderivation:");
        for (i, step) in d.derivation.lines().into_iter().enumerate() {
            let _ = write!(message, "\n  {}. {step}", i + 1);
        }
    }
    format!(
        "::{} {}::{}\n",
        command(d.severity),
        props.join(","),
        escape_data(&message)
    )
}

/// Every diagnostic as a workflow command, in the order given.
pub fn render<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> String {
    diags.into_iter().map(line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_data_and_properties() {
        assert_eq!(escape_data("100%\r\nnext: a,b"), "100%25%0D%0Anext: a,b");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
