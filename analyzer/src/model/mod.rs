//! The topology model (SPEC §1): components with named input and output interfaces, streams
//! between them, and annotated paths. Every name keeps the byte span where the user wrote it, so
//! later stages can point back into the file.

use std::sync::Arc;

use blazes_annotations::{Annotation, SealKey};

/// A byte range in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// A span from an offset and a length.
    pub fn new(offset: usize, len: usize) -> Self {
        Span { offset, len }
    }
}

/// A file that was loaded, kept for rendering diagnostics.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics (the path as given, or `<stdin>`).
    pub name: String,
    /// The whole text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps a text under a display name.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Arc::new(SourceFile {
            name: name.into(),
            text,
            line_starts,
        })
    }

    /// One-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, column + 1)
    }
}

/// How a stream is partitioned over the consumer's instances (SPEC §1, Storm's vocabulary).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Grouping {
    /// Records go to any instance.
    Shuffle,
    /// Records with equal values of these fields go to one instance.
    Fields(Vec<String>),
    /// Records with equal values go to one of two instances (load-balanced keys).
    PartialKey(Vec<String>),
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
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// The output feeding this input.
    pub from: Port,
    /// Where the reference to the producer is written.
    pub from_span: Span,
    /// The partitioning over the consumer's instances.
    pub grouping: Grouping,
    /// Where the grouping is written, if it is.
    pub grouping_span: Option<Span>,
}

/// An output interface.
#[derive(Clone, Debug)]
pub struct Output {
    /// The interface name.
    pub name: String,
    /// Where the name is written (the component name for the implicit `out`).
    pub span: Span,
    /// Declared record fields, if any.
    pub fields: Option<Vec<String>>,
    /// A declared seal and where it is written.
    pub seal: Option<(SealKey, Span)>,
    /// Indices of the inputs (as `(component, input)`) this output feeds, sorted.
    pub consumers: Vec<(usize, usize)>,
}

/// An annotated path inside a component.
#[derive(Clone, Debug)]
pub struct Path {
    /// Index of the input interface.
    pub input: usize,
    /// Index of the output interface.
    pub output: usize,
    /// The annotation.
    pub annotation: Annotation,
    /// Where the annotation is written.
    pub span: Span,
}

/// A logical operator.
#[derive(Clone, Debug)]
pub struct Component {
    /// Unique name.
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// Input interfaces.
    pub inputs: Vec<Input>,
    /// Output interfaces (at least one).
    pub outputs: Vec<Output>,
    /// Annotated paths.
    pub paths: Vec<Path>,
    /// Number of instances.
    pub parallelism: u32,
    /// The instances are replicas that must agree.
    pub replicated: bool,
    /// Finding codes accepted on purpose, with where each is written.
    pub allow: Vec<(String, Span)>,
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
            || (self.parallelism > 1 && self.inputs.iter().any(|i| i.grouping == Grouping::All))
    }

    /// `component.output` for an output, or the bare name when the component has one output
    /// named `out`.
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

    /// Display name of an output port.
    pub fn port_name(&self, port: Port) -> String {
        self.components[port.component].port_name(port.output)
    }
}
