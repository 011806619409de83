//! The topology model (SPEC §1): components with named input and output interfaces, streams
//! between them, and annotated paths. Every name keeps the byte span where the user wrote it, so
//! later stages can point back into the file.

use std::sync::Arc;

use blazes_annotations::{Annotation, SealKey};

/// The name of a component or an interface: kept in place up to 24 bytes, as nearly every name
/// is, so a large topology's millions of names cost no allocation each.
pub type Name = compact_str::CompactString;

/// A byte range in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    offset: u32,
    /// Length in bytes.
    len: u32,
}

impl Span {
    /// A span from an offset and a length. Offsets are kept in 32 bits (a large topology has
    /// millions of spans), which covers four times the largest file the loader reads; beyond
    /// that a span saturates at the last representable byte.
    pub fn new(offset: usize, len: usize) -> Self {
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        let len = u32::try_from(len)
            .unwrap_or(u32::MAX)
            .min(u32::MAX - offset);
        Span { offset, len }
    }

    /// Byte offset of the first byte.
    pub fn offset(&self) -> usize {
        self.offset as usize
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True for an empty span (a position).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Byte offset just past the last byte.
    pub fn end(&self) -> usize {
        self.offset() + self.len()
    }
}

/// A file that was loaded, kept for rendering diagnostics.
///
/// It can also be a *bundle* of several files ([`SourceFile::bundle`]): a topology whose wiring
/// is in a YAML file and whose annotations are in `#[blazes]` attributes of `.rs` files. The
/// files are laid end to end in `text`, each starting on a fresh line, so a [`Span`] (a byte
/// range) still names one spot; [`SourceFile::file_name`], [`SourceFile::file_range`] and
/// [`SourceFile::line_col`] resolve it to the file it falls in.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics (the path as given, or `<stdin>`); for a bundle, the name of
    /// its first file.
    pub name: String,
    /// The whole text (for a bundle, every file, separated by a newline).
    pub text: String,
    /// Byte offsets of the starts of lines: made when a line is first asked for (a large file
    /// that loads cleanly is never asked, and its millions of lines would be found for nothing).
    line_starts: std::sync::OnceLock<Vec<usize>>,
    /// The files of a bundle: name and byte range in `text`. Empty for a single file.
    parts: Vec<(String, std::ops::Range<usize>)>,
    /// [`SourceFile::display_text`], made when first asked for when it differs from `text`.
    display: std::sync::OnceLock<Option<String>>,
    /// The characters before each block of [`COLUMN_BLOCK`] bytes, and before the end: made
    /// when a column is first asked for far into a long line.
    chars_before_block: std::sync::OnceLock<Vec<usize>>,
}

/// Bytes per block of the index that gives columns on long lines: a column costs at most two
/// blocks' worth of counting, however long its line (a topology written as one line of JSON
/// has every span on one line of megabytes).
const COLUMN_BLOCK: usize = 4096;

/// The characters that start in `bytes`: the bytes that are not UTF-8 continuation bytes.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

impl SourceFile {
    /// Wraps a text under a display name.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        let text = text.into();
        Arc::new(SourceFile {
            name: name.into(),
            line_starts: std::sync::OnceLock::new(),
            text,
            parts: Vec::new(),
            display: std::sync::OnceLock::new(),
            chars_before_block: std::sync::OnceLock::new(),
        })
    }

    /// Bundles several files (name and text) into one source; spans into the `i`-th file are
    /// offset by [`SourceFile::file_start`] of it. The bundle is named after the first file.
    pub fn bundle(files: Vec<(String, String)>) -> Arc<Self> {
        let mut text = String::new();
        let mut parts = Vec::new();
        for (i, (name, body)) in files.into_iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            let start = text.len();
            text.push_str(&body);
            parts.push((name, start..text.len()));
        }
        Arc::new(SourceFile {
            name: parts.first().map(|p| p.0.clone()).unwrap_or_default(),
            line_starts: std::sync::OnceLock::new(),
            text,
            parts,
            display: std::sync::OnceLock::new(),
            chars_before_block: std::sync::OnceLock::new(),
        })
    }

    /// Where the `index`-th file of a bundle starts in `text` (0 for a single file).
    pub fn file_start(&self, index: usize) -> usize {
        self.parts.get(index).map_or(0, |p| p.1.start)
    }

    /// The name of the file a byte offset falls in (the source's name for a single file).
    pub fn file_name(&self, offset: usize) -> &str {
        self.part(offset).map_or(&self.name, |p| &p.0)
    }

    /// The byte range in `text` of the file an offset falls in (all of `text` for a single
    /// file).
    pub fn file_range(&self, offset: usize) -> std::ops::Range<usize> {
        self.part(offset)
            .map_or(0..self.text.len(), |p| p.1.clone())
    }

    fn part(&self, offset: usize) -> Option<&(String, std::ops::Range<usize>)> {
        // The last file starting at or before the offset (a separator belongs to the file
        // before it).
        let i = self.parts.partition_point(|p| p.1.start <= offset);
        self.parts.get(i.saturating_sub(1))
    }

    /// Whole lines around a byte range, within the file its start falls in: from `before`
    /// lines above the line of `range.start` to `after` lines below the line of `range.end`
    /// (fewer at the file's edges). Gives their byte range in `text` and the number of lines of
    /// that file above them, so a diagnostic renderer can work on these lines instead of
    /// counting lines from the file's start for every span.
    pub fn lines_around(
        &self,
        range: std::ops::Range<usize>,
        before: usize,
        after: usize,
    ) -> (std::ops::Range<usize>, usize) {
        let file = self.file_range(range.start);
        let first = self.line_of(file.start);
        let top = self.line_of(range.start).saturating_sub(before).max(first);
        let bottom = self.line_of(range.end.min(file.end)).saturating_add(after);
        let start = self.line_starts()[top].max(file.start);
        let end = self
            .line_starts()
            .get(bottom.saturating_add(1))
            .map_or(file.end, |&s| s.min(file.end));
        (start..end.max(start), top - first)
    }

    /// The text for renderers that break lines at line feeds only (miette's snippets): every
    /// carriage return that ends a line alone becomes a line feed. Byte for byte the same
    /// length, so spans keep their offsets, and the lines are those [`SourceFile::line_col`]
    /// counts. Made once, and only for a text with such line ends.
    pub fn display_text(&self) -> &str {
        let b = self.text.as_bytes();
        self.display
            .get_or_init(|| {
                // A text with `\r\n` line ends only is shown as it is, without a copy.
                (0..b.len()).any(|i| lone_cr(b, i)).then(|| {
                    self.text
                        .char_indices()
                        .map(|(i, c)| if lone_cr(b, i) { '\n' } else { c })
                        .collect()
                })
            })
            .as_deref()
            .unwrap_or(&self.text)
    }

    /// The starts of the lines of `text`.
    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| line_starts(&self.text))
    }

    /// The zero-based line (counted from the start of `text`) that a byte offset falls in.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts().partition_point(|&s| s <= offset).max(1) - 1
    }

    /// The characters of `text` before a byte offset, counted from the nearest block start.
    fn chars_before(&self, offset: usize) -> usize {
        let b = self.text.as_bytes();
        let index = self.chars_before_block.get_or_init(|| {
            let mut total = 0;
            let mut index = Vec::with_capacity(b.len() / COLUMN_BLOCK + 2);
            for block in b.chunks(COLUMN_BLOCK) {
                index.push(total);
                total += count_chars(block);
            }
            index.push(total);
            index
        });
        let block = offset / COLUMN_BLOCK;
        index[block] + count_chars(&b[block * COLUMN_BLOCK..offset])
    }

    /// One-based line and column (in characters) of a byte offset, within the file it falls in.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_of(offset);
        let start = self.line_starts()[line];
        let column = if !self.text.is_char_boundary(offset) {
            offset - start
        } else if offset - start <= 2 * COLUMN_BLOCK {
            count_chars(&self.text.as_bytes()[start..offset])
        } else {
            self.chars_before(offset) - self.chars_before(start)
        };
        let first_line = self.line_of(self.file_range(offset).start);
        (line - first_line + 1, column + 1)
    }
}

/// Byte offsets of the starts of lines. Lines end as YAML says they do: at a line feed, a
/// carriage return and line feed, or a carriage return alone (as miette also counts them, so
/// that human and JSON output give the same line numbers).
fn line_starts(text: &str) -> Vec<usize> {
    // A large file has millions of lines: found with a vectorised search for the two bytes.
    let b = text.as_bytes();
    std::iter::once(0)
        .chain(
            memchr::memchr2_iter(b'\n', b'\r', b)
                .filter(|&i| b[i] == b'\n' || lone_cr(b, i))
                .map(|i| i + 1),
        )
        .collect()
}

/// Whether byte `i` of `b` is a carriage return that ends a line alone (no line feed follows).
fn lone_cr(b: &[u8], i: usize) -> bool {
    b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')
}

/// How a stream is partitioned over the consumer's instances (SPEC §1, Storm's vocabulary).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Grouping {
    /// Records go to any instance.
    Shuffle,
    /// Records with equal values of these fields go to one instance.
    Fields(Arc<[String]>),
    /// Records with equal values go to one of two instances (load-balanced keys).
    PartialKey(Arc<[String]>),
    /// Every instance receives every record.
    All,
    /// Everything goes to one instance.
    Global,
    /// A local instance if any, else shuffle.
    LocalOrShuffle,
    /// The producer picks the instance.
    Direct,
    /// A user-defined grouping.
    Custom,
}

impl std::fmt::Display for Grouping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grouping::Shuffle => f.write_str("shuffle"),
            Grouping::Fields(v) => write!(f, "fields({})", v.join(", ")),
            Grouping::PartialKey(v) => write!(f, "partial_key({})", v.join(", ")),
            Grouping::All => f.write_str("all"),
            Grouping::Global => f.write_str("global"),
            Grouping::LocalOrShuffle => f.write_str("local_or_shuffle"),
            Grouping::Direct => f.write_str("direct"),
            Grouping::Custom => f.write_str("custom"),
        }
    }
}

/// A reference to an output interface: component index and output index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    /// Index into [`Topology::components`].
    pub component: usize,
    /// Index into that component's outputs.
    pub output: usize,
}

/// An input interface; each input is fed by exactly one output, so an input is also a stream.
#[derive(Clone, Debug)]
pub struct Input {
    /// The interface name.
    pub name: Name,
    /// Where the name is written.
    pub span: Span,
    /// The output feeding this input.
    pub from: Port,
    /// Where the reference to the producer is written.
    pub from_span: Span,
    /// The partitioning over the consumer's instances and where it is written, when it is
    /// (boxed: most inputs take the default); [`Input::grouping`] reads it.
    pub written_grouping: Option<Box<(Grouping, Span)>>,
}

impl Input {
    /// The partitioning over the consumer's instances: shuffle unless another is written.
    pub fn grouping(&self) -> &Grouping {
        self.written_grouping
            .as_deref()
            .map_or(&Grouping::Shuffle, |(g, _)| g)
    }

    /// Where the grouping is written, if it is.
    pub fn grouping_span(&self) -> Option<Span> {
        self.written_grouping.as_deref().map(|&(_, s)| s)
    }
}

/// An output interface.
#[derive(Clone, Debug)]
pub struct Output {
    /// The interface name.
    pub name: Name,
    /// Where the name is written (the component name for the implicit `out`).
    pub span: Span,
    /// Declared record fields, if any.
    pub fields: Option<Arc<[String]>>,
    /// A declared seal and where it is written: boxed, as most outputs have none.
    pub seal: Option<Box<(SealKey, Span)>>,
    /// The inputs this output feeds, as sorted `(component, input)` index pairs in 32 bits (a
    /// large topology has millions); [`Output::consumers`] reads them as indices.
    pub fed: Box<[(u32, u32)]>,
}

impl Output {
    /// The inputs this output feeds, as `(component, input)` indices, sorted.
    pub fn consumers(&self) -> impl ExactSizeIterator<Item = (usize, usize)> + Clone + '_ {
        self.fed.iter().map(|&(c, i)| (c as usize, i as usize))
    }
}

/// Membership in the union of two lists of field names (an output's declared fields and the
/// implicit ones, say), for a known number of lookups: a scan when lookups times names is small,
/// as it nearly always is, else a set built once. A schema can declare thousands of fields and a
/// seal key or gate name as many, and scanning for each made that the square of the fields.
pub struct FieldSet<'a, A, B> {
    first: &'a [A],
    second: &'a [B],
    set: Option<rustc_hash::FxHashSet<&'a str>>,
}

impl<'a, A: AsRef<str>, B: AsRef<str>> FieldSet<'a, A, B> {
    /// Lookups times names up to which the lists are scanned.
    const SCAN: usize = 256;

    /// The union of two lists, for about `lookups` calls of [`FieldSet::contains`].
    pub fn new(first: &'a [A], second: &'a [B], lookups: usize) -> Self {
        let names = first.len() + second.len();
        let set = (lookups.saturating_mul(names) > Self::SCAN).then(|| {
            let first = first.iter().map(AsRef::as_ref);
            first.chain(second.iter().map(AsRef::as_ref)).collect()
        });
        FieldSet { first, second, set }
    }

    /// True when `name` is in one of the lists.
    pub fn contains(&self, name: &str) -> bool {
        match &self.set {
            Some(set) => set.contains(name),
            None => {
                self.first.iter().any(|n| n.as_ref() == name)
                    || self.second.iter().any(|n| n.as_ref() == name)
            }
        }
    }
}

/// An annotated path inside a component.
#[derive(Clone, Debug)]
pub struct Path {
    /// Index of the input interface.
    pub input: usize,
    /// Index of the output interface.
    pub output: usize,
    /// The annotation.
    pub annotation: Arc<Annotation>,
    /// Where the annotation is written.
    pub span: Span,
}

/// A logical operator.
#[derive(Clone, Debug, Default)]
pub struct Component {
    /// Unique name.
    pub name: Name,
    /// Where the name is written.
    pub span: Span,
    /// Input interfaces.
    pub inputs: Box<[Input]>,
    /// Output interfaces (at least one).
    pub outputs: Box<[Output]>,
    /// Annotated paths.
    pub paths: Box<[Path]>,
    /// Number of instances.
    pub parallelism: u32,
    /// The instances are replicas that must agree.
    pub replicated: bool,
    /// Finding codes accepted on purpose, with where each is written.
    pub allow: Box<[(String, Span)]>,
}

impl Component {
    /// True for a source (no inputs).
    pub fn is_source(&self) -> bool {
        self.inputs.is_empty()
    }

    /// True when the instances behave as replicas: declared `replicated`, or fed with grouping
    /// `all` at parallelism above one (SPEC §6).
    pub fn acts_replicated(&self) -> bool {
        self.replicated
            || (self.parallelism > 1 && self.inputs.iter().any(|i| *i.grouping() == Grouping::All))
    }

    /// `component.output` for an output.
    pub fn port_name(&self, output: usize) -> String {
        format!("{}.{}", self.name, self.outputs[output].name)
    }
}

/// An injective functional dependency between field sets (holds both ways).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fd {
    /// Determining fields.
    pub from: Vec<String>,
    /// Determined fields.
    pub to: Vec<String>,
}

/// A loaded, validated topology. Components are sorted by name, so everything derived from it is
/// independent of the order of the file.
#[derive(Clone, Debug)]
pub struct Topology {
    /// The `name:` key, if given.
    pub name: Option<String>,
    /// The file it came from.
    pub source: Arc<SourceFile>,
    /// Components, sorted by name.
    pub components: Vec<Component>,
    /// Functional dependencies.
    pub fds: Vec<Fd>,
    /// Fields every record carries implicitly.
    pub implicit: Vec<String>,
}

impl Topology {
    /// The part of the topology that feeds `component`: the component and everything it reads
    /// from, directly or not, with their streams to one another (outputs keep only consumers in
    /// the part). Components keep their order, so the part is sorted by name too. Labels depend
    /// only on what is upstream, so the part's analysis gives its components the labels the
    /// whole topology gives them. Returns the part and the component's index in it.
    pub fn upstream_of(&self, component: usize) -> (Topology, usize) {
        const OUT: usize = usize::MAX;
        let mut index = vec![OUT; self.components.len()];
        let mut stack = vec![component];
        while let Some(c) = stack.pop() {
            if std::mem::replace(&mut index[c], 0) != OUT {
                continue;
            }
            stack.extend(self.components[c].inputs.iter().map(|i| i.from.component));
        }
        for (kept, i) in index.iter_mut().filter(|i| **i != OUT).enumerate() {
            *i = kept;
        }
        let components = self
            .components
            .iter()
            .zip(&index)
            .filter(|&(_, &i)| i != OUT)
            .map(|(c, _)| {
                let mut c = c.clone();
                for input in &mut c.inputs {
                    input.from.component = index[input.from.component];
                }
                for output in &mut c.outputs {
                    // A part has no more components than the whole, whose count fits.
                    output.fed = output
                        .consumers()
                        .filter(|&(d, _)| index[d] != OUT)
                        .map(|(d, i)| (index[d] as u32, i as u32))
                        .collect();
                }
                c
            })
            .collect();
        let part = Topology {
            name: self.name.clone(),
            source: Arc::clone(&self.source),
            components,
            fds: self.fds.clone(),
            implicit: self.implicit.clone(),
        };
        (part, index[component])
    }

    /// Index of the component with this name.
    pub fn component_index(&self, name: &str) -> Option<usize> {
        self.components
            .binary_search_by(|c| c.name.as_str().cmp(name))
            .ok()
    }

    /// The output feeding an input.
    pub fn producer(&self, component: usize, input: usize) -> Port {
        self.components[component].inputs[input].from
    }

    /// The annotation of a path as the user wrote it (`OW(word, batch)` keeps its field order),
    /// or its canonical form when it was written in the structured form.
    pub fn annotation_text(&self, component: usize, path: usize) -> String {
        let p = &self.components[component].paths[path];
        let written = self
            .source
            .text
            .get(p.span.offset()..p.span.end())
            .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\''));
        // Most labels are written in canonical form: then the written text is the canonical
        // one (printing and parsing round-trip), and parsing it again to compare is not needed.
        let canonical = p.annotation.to_string();
        match written {
            Some(w) if w != canonical && Annotation::parse(w).as_ref() == Ok(&p.annotation) => {
                w.to_string()
            }
            _ => canonical,
        }
    }

    /// Display name of an output port.
    pub fn port_name(&self, port: Port) -> String {
        self.components[port.component].port_name(port.output)
    }
}

#[cfg(test)]
mod tests {
    use super::SourceFile;

    /// The text of `lines_around`'s window, and the lines above it.
    fn around(src: &SourceFile, at: &str, before: usize, after: usize) -> (String, usize) {
        let start = src.text.find(at).unwrap_or(usize::MAX);
        let (window, above) = src.lines_around(start..start + at.len(), before, after);
        (src.text[window].to_string(), above)
    }

    #[test]
    fn a_carriage_return_alone_ends_a_line() {
        let src = SourceFile::new("t.yaml", "a\rb\r\nc\nd\r");
        let at = |s: &str| src.line_col(src.text.find(s).unwrap_or(usize::MAX));
        assert_eq!(
            [at("a"), at("b"), at("c"), at("d")],
            [(1, 1), (2, 1), (3, 1), (4, 1)]
        );
        // Renderers get line feeds where a carriage return alone ends a line, and nothing else
        // changes.
        assert_eq!(src.display_text(), "a\nb\r\nc\nd\n");
        let plain = SourceFile::new("t.yaml", "a\r\nb\n");
        assert_eq!(plain.display_text(), "a\r\nb\n");
    }

    #[test]
    fn field_sets_answer_alike_whether_scanned_or_hashed() {
        let names = |prefix: &str, n: usize| -> Vec<String> {
            (0..n).map(|i| format!("{prefix}{i}")).collect()
        };
        for (n, m) in [
            (0, 0),
            (3, 0),
            (0, 3),
            (5, 4),
            (200, 1),
            (1, 300),
            (400, 400),
        ] {
            let (first, second) = (names("a", n), names("b", m));
            for lookups in [0, 1, 2, 50, 1000] {
                let set = super::FieldSet::new(&first, &second, lookups);
                for probe in names("a", n + 2).iter().chain(&names("b", m + 2)) {
                    let expected = first.contains(probe) || second.contains(probe);
                    assert_eq!(
                        set.contains(probe),
                        expected,
                        "{probe} in {n}+{m} ({lookups})"
                    );
                }
                assert!(!set.contains("c0") && !set.contains(""));
            }
        }
    }

    #[test]
    fn columns_far_into_long_lines_count_characters() {
        // Lines longer than the index's blocks, with characters of every UTF-8 width, some
        // straddling block boundaries, and short lines between them.
        let mut text = String::new();
        for (i, line) in ["a: 1", "", "x"].iter().enumerate() {
            for j in 0..9000 {
                text.push(['é', 'b', '日', '🦀', ' '][(i + j) % 5]);
            }
            text.push_str(line);
            text.push_str(if i == 1 { "\r\n" } else { "\n" });
        }
        let src = SourceFile::new("long.json", text.clone());
        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        for offset in (0..=text.len()).step_by(7).chain([text.len()]) {
            let line = starts.partition_point(|&s| s <= offset) - 1;
            let start = starts[line];
            let column = match text.get(start..offset) {
                Some(s) => s.chars().count(),
                None => offset - start,
            };
            assert_eq!(src.line_col(offset), (line + 1, column + 1), "at {offset}");
        }
    }

    #[test]
    fn lines_around_a_span_stop_at_the_edges_of_the_file() {
        let src = SourceFile::new("t.yaml", "a: 1\nb: 2\nc: 3\nd: 4\ne: 5");
        assert_eq!(around(&src, "c: 3", 1, 1), ("b: 2\nc: 3\nd: 4\n".into(), 1));
        assert_eq!(around(&src, "c: 3", 0, 0), ("c: 3\n".into(), 2));
        assert_eq!(around(&src, "b: 2", 5, 0), ("a: 1\nb: 2\n".into(), 0));
        assert_eq!(around(&src, "d: 4", 0, 5), ("d: 4\ne: 5".into(), 3));
        // A span over several lines takes them all.
        assert_eq!(around(&src, "2\nc", 0, 0), ("b: 2\nc: 3\n".into(), 1));
    }

    #[test]
    fn lines_around_a_span_stay_in_its_file_of_a_bundle() {
        let src = SourceFile::bundle(vec![
            ("t.yaml".into(), "a: 1\nb: 2".into()),
            ("lib.rs".into(), "fn f() {}\nfn g() {}\n".into()),
        ]);
        // Lines above count from the start of the `.rs` file.
        assert_eq!(around(&src, "fn f", 3, 0), ("fn f() {}\n".into(), 0));
        assert_eq!(
            around(&src, "fn g", 3, 3),
            ("fn f() {}\nfn g() {}\n".into(), 0)
        );
        assert_eq!(around(&src, "fn g", 0, 0), ("fn g() {}\n".into(), 1));
        assert_eq!(around(&src, "b: 2", 0, 3), ("b: 2".into(), 1));
    }
}
