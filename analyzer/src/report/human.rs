//! Human output: miette's graphical reports (primary and secondary spans, help), followed by the
//! derivation, and an optional table of stream labels.

use std::fmt::{self, Display, Write as _};
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use super::{Diagnostic, Severity};
use crate::model::SourceFile;

/// Rendering choices.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Use ANSI colours.
    pub color: bool,
    /// Wrap width.
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 100,
        }
    }
}

/// Renders diagnostics, each followed by its derivation.
pub fn render(diags: &[Diagnostic], style: Style) -> String {
    render_with(diags, style, &|_| Vec::new())
}

/// Renders diagnostics, each followed by its derivation and the lines `extra` gives for it
/// (e.g. a simulated witness), indented under the derivation.
pub fn render_with(
    diags: &[Diagnostic],
    style: Style,
    extra: &dyn Fn(&Diagnostic) -> Vec<String>,
) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_urls(false)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut out = String::new();
    for d in diags {
        let wrapped = Wrapped {
            d,
            src: Src(Arc::clone(&d.source)),
        };
        if handler.render_report(&mut out, &wrapped).is_err() {
            // Rendering into a String cannot fail on I/O; fall back to the plain message.
            let _ = writeln!(out, "{}: {}", d.severity, d.message);
        }
        if let Some(more) = d.secondary.len().checked_sub(SECONDARY_SHOWN)
            && more > 0
        {
            let _ = writeln!(
                out,
                "  … and {more} more marked spots, not shown here (`--format json` lists every \
                 one under `related`)"
            );
        }
        if !d.derivation.is_empty() {
            out.push_str("  derivation:\n");
            for (i, line) in d.derivation.lines().into_iter().enumerate() {
                let _ = writeln!(out, "    {}. {line}", i + 1);
            }
        }
        let more = extra(d);
        if let Some((head, rest)) = more.split_first() {
            let _ = writeln!(out, "  {head}");
            for line in rest {
                let _ = writeln!(out, "    {line}");
            }
        }
        out.push('\n');
    }
    out
}

/// A one-line summary: counts by severity.
pub fn summary(diags: &[Diagnostic]) -> String {
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, {}",
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning"),
        plural(count(Severity::Note), "note")
    )
}

/// Renders a table with one row per stream: producer, consumer, label.
pub fn label_table(rows: &[(String, String, String)]) -> String {
    let headers = ("stream", "to", "label");
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(headers.0.len());
    let w1 = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(headers.1.len());
    let mut out = String::new();
    let mut row = |a: &str, b: &str, c: &str| {
        let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w - s.chars().count()));
        let line = format!("{}  {}  {c}", pad(a, w0), pad(b, w1));
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row(headers.0, headers.1, headers.2);
    for (a, b, c) in rows {
        row(a, b, c);
    }
    out
}

/// Secondary labels drawn per diagnostic; the rest are counted in a line below the snippets. A
/// finding at a component with thousands of inputs marks each of them, and drawing them all
/// would take time in the square of their number, for a snippet nobody reads.
const SECONDARY_SHOWN: usize = 12;

/// Labels whose snippets are at most this many lines apart are shown in one snippet, with the
/// lines between them; farther apart, each gets its own.
const SHARED_GAP: usize = 4;

struct Src(Arc<SourceFile>);

impl fmt::Debug for Src {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name)
    }
}

impl SourceCode for Src {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // Read within the file the span falls in (a source can bundle a YAML file and `.rs`
        // files): line numbers count from that file's start, and a span reaching into another
        // file is refused, so miette never merges snippets of two files into one.
        let range = self.0.file_range(span.offset());
        if span.offset() + span.len() > range.end {
            return Err(MietteError::OutOfBounds);
        }
        // miette counts lines from the start of what it is given: give it only the lines it
        // shows (one more each side, so that it sees the same edges), not the whole file, which
        // would make rendering quadratic in the file's size.
        let (window, lines_above) = self.0.lines_around(
            span.offset()..span.offset() + span.len(),
            context_lines_before + 1,
            context_lines_after + 1,
        );
        let lines = self
            .0
            .display_text()
            .get(window.clone())
            .ok_or(MietteError::OutOfBounds)?;
        let local = SourceSpan::new((span.offset() - window.start).into(), span.len());
        let inner = lines.read_span(&local, context_lines_before, context_lines_after)?;
        // miette counts the column in bytes; report it in characters, as the JSON output does.
        let column = if context_lines_before == 0 && context_lines_after == 0 {
            self.0.line_col(span.offset()).1 - 1
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.0.file_name(span.offset()).to_string(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + window.start).into(),
                inner.span().len(),
            ),
            inner.line() + lines_above,
            column,
            // miette's renderer reads this count only to decide whether the next label shares
            // this snippet: it does when its own snippet starts within the count of this one's
            // first line. The lines covered, plus [`SHARED_GAP`], say what the policy is. (miette's
            // own reading counts lines from the start of the text, which put every pair of
            // labels in one snippet, however far apart, with every line between them.)
            inner.line_count().saturating_sub(inner.line()) + SHARED_GAP,
        )))
    }
}

struct Wrapped<'a> {
    d: &'a Diagnostic,
    src: Src,
}

impl fmt::Debug for Wrapped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl Display for Wrapped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for Wrapped<'_> {}

impl miette::Diagnostic for Wrapped<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn Display + 'b>> {
        Some(Box::new(format!("{} {}", self.d.code.id, self.d.code.name)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn Display + 'b>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h.as_str()) as Box<dyn Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        (self.d.primary.is_some() && !self.d.source.text.is_empty()).then_some(&self.src as _)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let text = self.d.source.text.as_str();
        // Spans come from the parser on character boundaries; clamp anyway, so that a wrong
        // span can never make rendering slice inside a character.
        let floor = |mut i: usize| {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let clamp = move |s: crate::model::Span| {
            let start = floor(s.offset());
            let end = floor(s.offset().saturating_add(s.len())).max(start);
            (start, end - start)
        };
        let label_text = |t: &str| (!t.is_empty()).then(|| t.to_string());
        let primary =
            self.d.primary.iter().map(move |p| {
                LabeledSpan::new_primary_with_span(label_text(&p.text), clamp(p.span))
            });
        let secondary = self
            .d
            .secondary
            .iter()
            .take(SECONDARY_SHOWN)
            .map(move |m| LabeledSpan::new_with_span(label_text(&m.text), clamp(m.span)));
        Some(Box::new(primary.chain(secondary)))
    }
}
