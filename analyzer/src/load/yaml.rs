//! The SPEC §8 topology format: validates a YAML node tree into a [`Topology`], collecting every
//! error as a located [`Diagnostic`].

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use blazes_annotations::{
    Annotation, Gate, ParseError, ParseErrorKind, SealKey, is_field_name, suggest,
};

use super::names::{self, NameTable};
use super::tree::{self, Node, Value};
use crate::model::{
    Component, Fd, Grouping, Input, Name, Output, Path, Port, SourceFile, Span, Topology,
};
use crate::report::{Diagnostic, codes};

const TOP_KEYS: &[&str] = &["name", "description", "components", "fds", "implicit"];
const COMPONENT_KEYS: &[&str] = &[
    "inputs",
    "outputs",
    "label",
    "paths",
    "replicated",
    "parallelism",
    "fds",
    "description",
    "allow",
    "reason",
    "rust",
];
const INPUT_KEYS: &[&str] = &["from", "grouping", "description"];
const OUTPUT_KEYS: &[&str] = &["fields", "seal", "description"];
const PATH_KEYS: &[&str] = &["from", "to", "label", "description"];
const STRUCTURED_LABEL_KEYS: &[&str] = &["label", "gate"];
const FD_KEYS: &[&str] = &["from", "to"];
const GROUPINGS: &[&str] = &[
    "shuffle",
    "fields",
    "partial_key",
    "all",
    "global",
    "local_or_shuffle",
    "direct",
    "custom",
];

/// Loads a topology from YAML text. `name` is shown in diagnostics.
pub fn load_str(name: &str, text: &str) -> Result<Topology, Vec<Diagnostic>> {
    load_source(SourceFile::new(name, text), None)
}

/// Loads the topology file at the start of `source` (all of it, or the first file of a bundle
/// whose other files are the Rust sources of `rust`: the items that `rust:` keys name).
pub(crate) fn load_source(
    source: Arc<SourceFile>,
    rust: Option<Arc<super::rust::RustItems>>,
) -> Result<Topology, Vec<Diagnostic>> {
    let text = source.text.get(source.file_range(0)).unwrap_or("");
    if let Some(result) = load_streamed(&source, text, rust.clone()) {
        return result;
    }
    match tree::parse(text) {
        Ok(root) => load_tree(Arc::clone(&source), root, rust),
        Err(f) => Err(parse_failure(&source, f)),
    }
}

/// Loads YAML text in two steps, never in one pass: the whole tree, parsed by serde-saphyr,
/// then validated. The reference that [`load_str`] is tested against.
#[doc(hidden)]
pub fn load_str_two_step(name: &str, text: &str) -> Result<Topology, Vec<Diagnostic>> {
    let source = SourceFile::new(name, text);
    match tree::parse_full(&source.text) {
        Ok(root) => load_tree(Arc::clone(&source), root, None),
        Err(f) => Err(parse_failure(&source, f)),
    }
}

/// The error of a file that does not parse.
fn parse_failure(source: &Arc<SourceFile>, f: tree::ParseFailure) -> Vec<Diagnostic> {
    let code = if f.budget {
        codes::RESOURCE_LIMIT
    } else {
        codes::YAML_SYNTAX
    };
    vec![Diagnostic::new(code, source, f.message).at(f.span, "")]
}

/// Loads a file of the fast parser's subset in one pass, building each component as soon as
/// its entry is parsed: the tree of the `components` mapping, the bulk of a large file, never
/// exists as a whole. `None` when this does not apply: the file is outside the fast subset, or
/// its `implicit` or `fds` (which components are built with) come after `components`. The
/// caller then parses and validates in two steps, which gives the same result for the files
/// taken here (the same entries reach the same validation, in the same order).
fn load_streamed(
    source: &Arc<SourceFile>,
    text: &str,
    rust: Option<Arc<super::rust::RustItems>>,
) -> Option<Result<Topology, Vec<Diagnostic>>> {
    if text.len() > tree::MAX_BYTES {
        return None;
    }
    // The parser runs here and hands entries over in batches; the components are built on a
    // second thread, in the same order, so the two overlap. The first batch carries the root
    // entries before `components` (for `implicit` and `fds`).
    // Component names are registered on the builder's thread, a batch at a time before the
    // batch is built, from the keys the parser's thread works out for them: the two threads
    // are then about as busy.
    type Entry<'t> = (Node<'t>, Node<'t>, Prepared<'t>);
    type Batch<'t> = (Option<Vec<(Node<'t>, Node<'t>)>>, Vec<Entry<'t>>);
    const BATCH: usize = 1024;
    let len = text.len();
    let (parsed, mut ctx, building, registry) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch<'_>>(8);
        // Batches go back to the parser once built, to be freed where they were allocated:
        // memory freed on its own thread is reused at once, while memory freed from another
        // thread comes back later, and the parser would take fresh pages meanwhile.
        let (back, returned) = std::sync::mpsc::channel::<Vec<Entry<'_>>>();
        let source = Arc::clone(source);
        let builder = scope.spawn(move || {
            let mut ctx = Ctx::new(source, rust);
            let mut building = None;
            let mut registry = Registry::new(len);
            let mut registered = Vec::with_capacity(BATCH);
            for (prefix, entries) in rx {
                registry.register_all(&entries, &mut registered);
                let building = building.get_or_insert_with(|| {
                    let prefix = prefix.unwrap_or_default();
                    let top = Entries(
                        prefix
                            .iter()
                            .filter_map(|(k, v)| Some((k.as_str()?, v)))
                            .collect(),
                    );
                    ctx.building(&top)
                });
                for ((k, v, _), &registered) in entries.iter().zip(&registered) {
                    ctx.add_component(building, k, v, registered);
                }
                // The parser may be done: then the batch is freed here.
                let _ = back.send(entries);
            }
            (ctx, building, registry)
        });
        let mut first = true;
        let mut pending = Vec::with_capacity(BATCH);
        fn send<'t>(
            tx: &std::sync::mpsc::SyncSender<Batch<'t>>,
            returned: &std::sync::mpsc::Receiver<Vec<Entry<'t>>>,
            prefix: Option<&[(Node<'t>, Node<'t>)]>,
            pending: &mut Vec<Entry<'t>>,
        ) {
            // Free the batches built meanwhile (all but the last, which `last` drops on the way),
            // and reuse the last one's room for the next.
            let next = returned.try_iter().last().map_or_else(
                || Vec::with_capacity(BATCH),
                |mut room| {
                    room.clear();
                    room
                },
            );
            let batch = (prefix.map(<[_]>::to_vec), std::mem::replace(pending, next));
            // The builder only stops early by panicking, which the join below passes on.
            let _ = tx.send(batch);
        }
        let parsed = super::fast::parse_streaming(text, "components", &mut |prefix, k, v| {
            // Registered a batch at a time, by the builder.
            let prepared = Prepared::of(&k);
            pending.push((k, v, prepared));
            if pending.len() == BATCH {
                send(&tx, &returned, first.then_some(prefix), &mut pending);
                first = false;
            }
        });
        if !pending.is_empty() {
            let prefix = parsed
                .as_ref()
                .and_then(|(root, at)| match (&root.value, at) {
                    (Value::Map(entries), Some(at)) => entries.get(..*at),
                    _ => None,
                });
            send(
                &tx,
                &returned,
                first.then_some(prefix.unwrap_or_default()),
                &mut pending,
            );
        }
        drop(tx);
        let (ctx, building, registry) = builder
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (parsed, ctx, building, registry)
    });
    let (root, at) = parsed?;
    let (building, at) = (building?, at?);
    let Value::Map(entries) = &root.value else {
        return None;
    };
    let key = |i: usize| entries.get(i).and_then(|(k, _)| k.as_str());
    let first = (0..entries.len()).find(|&i| key(i) == Some("components"));
    if first != Some(at)
        || (at + 1..entries.len()).any(|i| matches!(key(i), Some("implicit" | "fds")))
    {
        return None;
    }
    let topology = ctx.topology(root, Some((building, registry)));
    Some(ctx.finish(topology))
}

/// Validates an already parsed topology file (the tree of the first file of `source`),
/// consuming the tree: each component's part is freed once the component is built, so a large
/// file never holds its whole tree and its whole model at once.
pub(crate) fn load_tree(
    source: Arc<SourceFile>,
    root: Node,
    rust: Option<Arc<super::rust::RustItems>>,
) -> Result<Topology, Vec<Diagnostic>> {
    let mut ctx = Ctx::new(source, rust);
    let topology = ctx.topology(root, None);
    ctx.finish(topology)
}

struct Ctx {
    source: Arc<SourceFile>,
    diags: Vec<Diagnostic>,
    /// The component being validated, named in its errors.
    current: Option<String>,
    /// The annotated items of the crate, when a crate is linted (`rust:` keys name them).
    rust: Option<Arc<super::rust::RustItems>>,
    /// `rust:` references with a `label:` (item path, component, label, span), to find one item
    /// labelled two ways when the file is read alone.
    rust_refs: Vec<(Vec<String>, String, Annotation, Span)>,
    /// Annotations already parsed, by their text: the many components written with the same
    /// label share one. Both caches are looked up once per component or output: Fx-hashed.
    labels: rustc_hash::FxHashMap<String, Arc<Annotation>>,
    /// Declared field lists, shared the same way (see [`shared`]).
    field_lists: rustc_hash::FxHashMap<String, Arc<[String]>>,
    /// Seal keys, by their names as written (see [`shared`]).
    seal_keys: rustc_hash::FxHashMap<String, SealKey>,
    /// Room for building the keys of those two, reused.
    scratch: String,
}

/// Field names borrowed from the tree; most lists fit in place.
type FieldNames<'n> = smallvec::SmallVec<[&'n str; 8]>;

/// The value `cache` keeps for the list `names`, made by `make` the first time. The key is the
/// names joined by line breaks (field names hold none, see [`is_field_name`]), built in
/// `scratch`: looking a list up allocates nothing.
fn shared<T: Clone>(
    cache: &mut rustc_hash::FxHashMap<String, T>,
    scratch: &mut String,
    names: &[&str],
    make: impl FnOnce() -> T,
) -> T {
    scratch.clear();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            scratch.push('\n');
        }
        scratch.push_str(n);
    }
    if let Some(v) = cache.get(scratch.as_str()) {
        return v.clone();
    }
    let v = make();
    cache.insert(scratch.clone(), v.clone());
    v
}

/// A component as written, before references are resolved.
struct RawComponent<'a> {
    name: &'a str,
    span: Span,
    entries: Entries<'a>,
}

/// The entries of a validated mapping by key (keys are distinct): a short list, since a
/// mapping has a handful of keys and a large topology has millions of mappings, kept in place
/// up to four entries (a component's or an input's mapping rarely has more), so that most
/// mappings cost no allocation.
#[derive(Default)]
struct Entries<'a>(smallvec::SmallVec<[(&'a str, &'a Node<'a>); 4]>);

impl<'a> Entries<'a> {
    fn get(&self, key: &str) -> Option<&'a Node<'a>> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// Every component name written (see [`NameTable`]), and the names whose component is
/// not valid.
struct Names<'t> {
    table: NameTable<Place>,
    /// The names written whose component is not valid (already reported), with their spans.
    invalid: Vec<(Cow<'t, str>, Span)>,
}

/// The name table as names are registered, before their components are built: each valid
/// component name, in file order, gets an entry number (the `at` of its [`Place`]), and a name
/// written twice is found. Registering needs only the keys: a batch of entries is registered
/// before any of it is built.
struct Registry {
    table: NameTable<Place>,
    /// The names longer than the table keeps, by entry number (the table compares them in full).
    long: rustc_hash::FxHashMap<u32, Box<str>>,
    /// Entries so far.
    entries: u32,
}

/// What registering a component's key found.
#[derive(Clone, Copy, Debug)]
enum Registered {
    /// A new name, with its entry number.
    New(u32),
    /// A name already registered, with the entry number of its first definition.
    Duplicate(u32),
    /// Not a valid component name (the builder reports it).
    Invalid,
}

impl Registry {
    /// A registry for a file of `len` bytes.
    fn new(len: usize) -> Self {
        Registry {
            table: NameTable::with_capacity(len / TYPICAL_BYTES_PER_COMPONENT),
            long: rustc_hash::FxHashMap::default(),
            entries: 0,
        }
    }

    /// Registers the key of an entry of `components`.
    fn register(&mut self, k: &Node<'_>) -> Registered {
        let Some(name) = scalar_text(k).filter(|n| is_component_name(n)) else {
            return Registered::Invalid;
        };
        self.register_name(&names::Key::new(&name))
    }

    /// Registers a valid component name, given its key.
    fn register_name(&mut self, key: &names::Key<'_>) -> Registered {
        let name = key.name();
        let long = &self.long;
        let full = |p: &Place| long.get(&p.at).map_or("", |n| n.as_ref());
        match self.table.vacancy(key, full) {
            Err(first) => Registered::Duplicate(first.at),
            Ok(vacancy) => {
                let entry = self.entries;
                self.table.fill(
                    vacancy,
                    Place {
                        at: entry,
                        outputs: 0,
                    },
                );
                if name.len() > names::HEAD {
                    self.long.insert(entry, name.into());
                }
                self.entries += 1;
                Registered::New(entry)
            }
        }
    }

    /// Registers the keys of a batch of entries, in order, into `registered`. The table is far
    /// larger than the caches in a large file, so the slots of the whole batch are read first,
    /// together: each registration then finds its slot cached instead of waiting for memory on
    /// its own.
    fn register_all(
        &mut self,
        entries: &[(Node<'_>, Node<'_>, Prepared<'_>)],
        registered: &mut Vec<Registered>,
    ) {
        self.table.warm_keys(
            entries
                .iter()
                .filter_map(|(_, _, prepared)| match prepared {
                    Prepared::Name(key) => Some(key),
                    Prepared::Invalid | Prepared::Other => None,
                }),
        );
        registered.clear();
        registered.extend(entries.iter().map(|(k, _, prepared)| match prepared {
            Prepared::Name(key) => self.register_name(key),
            Prepared::Invalid => Registered::Invalid,
            Prepared::Other => self.register(k),
        }));
    }

    /// The table of every name registered, given the place of each entry's component and the
    /// name-order number of each built one's file position: a built component's place is then
    /// its name-order number.
    fn into_table(self, places: &[Place], rank: &[usize]) -> NameTable<Place> {
        let mut table = self.table;
        for p in table.values_mut() {
            *p = places[p.at as usize];
            if p.built() {
                // Numbers are bounded by the file size limit.
                p.at = rank[p.at as usize] as u32;
            }
        }
        table
    }
}

/// What the parser's thread works out about the key of an entry of `components` before the
/// builder's thread registers it.
enum Prepared<'t> {
    /// A valid component name, written as it is read: its key in the name table.
    Name(names::Key<'t>),
    /// Not a valid component name.
    Invalid,
    /// Any other key (a non-string or an escaped one): registered from its node.
    Other,
}

impl<'t> Prepared<'t> {
    fn of(k: &Node<'t>) -> Self {
        match &k.value {
            Value::Str(Cow::Borrowed(name)) if is_component_name(name) => {
                Prepared::Name(names::Key::new(name))
            }
            Value::Str(Cow::Borrowed(_)) => Prepared::Invalid,
            _ => Prepared::Other,
        }
    }
}

/// A scalar read as text: a string, or the text of an integer or boolean (YAML reads `true:` as
/// a boolean key). `None` for any other node.
fn scalar_text<'a>(k: &'a Node<'_>) -> Option<Cow<'a, str>> {
    match &k.value {
        Value::Str(s) => Some(Cow::Borrowed(s)),
        Value::Int(i) => Some(Cow::Owned(i.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// Where a name's component is, when it was built: its place and its number of outputs. The
/// place is its file position while components are built, and its name-order number once they
/// are sorted (so that most references resolve with one lookup). A name whose component is not
/// valid has its position in [`Names::invalid`] instead. (While names are registered, before
/// their components are built, `at` is the name's entry number; see [`Registry`].)
#[derive(Clone, Copy, Default)]
struct Place {
    at: u32,
    /// The number of outputs, or [`Place::INVALID`].
    outputs: u32,
}

impl Place {
    /// The `outputs` of a name whose component is not valid.
    const INVALID: u32 = u32::MAX;

    fn built(&self) -> bool {
        self.outputs != Self::INVALID
    }
}

/// The name a place of the finished name table stands for: a component's name-order number
/// (`order` gives its file position in `built`), or a position in `invalid`
/// ([`Names::invalid`]).
fn full_name<'a>(
    invalid: &'a [(Cow<'_, str>, Span)],
    built: &'a [Component],
    order: &'a [usize],
) -> impl Fn(&Place) -> &'a str + Copy {
    move |p: &Place| {
        let at = p.at as usize;
        if p.built() {
            &built[order[at]].name
        } else {
            &invalid[at].0
        }
    }
}

/// Bytes of text per component below which a file is unlikely to go: the loader reserves room
/// for `text.len() / BYTES_PER_COMPONENT` components up front. Room reserved and never used
/// costs address space only, while growing a vector of a million components doubles it, copies
/// it and touches twice the memory.
const BYTES_PER_COMPONENT: usize = 64;

/// Bytes of text per component in a typical dense file (a generated one-line-per-component
/// file has about 120): the name table starts with room for `text.len() /
/// TYPICAL_BYTES_PER_COMPONENT` names. Unlike reserved vector room, the table is touched in
/// full as names arrive, so room never used is memory written for nothing; a denser file makes
/// it grow.
const TYPICAL_BYTES_PER_COMPONENT: usize = 128;

/// The components built so far, and what they are built with.
struct Building<'t> {
    /// The components, in file order, their inputs not yet connected.
    built: Vec<Component>,
    /// The place of the component of each registered name, by entry number.
    places: Vec<Place>,
    /// The names written whose component is not valid, with their spans.
    invalid: Vec<(Cow<'t, str>, Span)>,
    /// The references of the inputs, component after component in file order, each
    /// component's in input order.
    refs: Refs,
    /// The topology's `implicit` fields.
    implicit: Vec<String>,
    /// The topology's functional dependencies, and then those declared by components.
    fds: Vec<Fd>,
}

/// The producer references of inputs, as written, in one buffer (a large topology has millions).
#[derive(Default)]
struct Refs {
    /// The references' text, end to end.
    text: String,
    /// Where each reference ends in `text` (it starts where the previous one ends), and where
    /// it is written in the file.
    refs: Vec<(usize, Span)>,
}

impl Refs {
    fn push(&mut self, from: &str, span: Span) {
        self.text.push_str(from);
        self.refs.push((self.text.len(), span));
    }

    fn len(&self) -> usize {
        self.refs.len()
    }

    /// The `i`-th reference and its span.
    fn get(&self, i: usize) -> (&str, Span) {
        let start = i.checked_sub(1).map_or(0, |p| self.refs[p].0);
        let (end, span) = self.refs[i];
        (&self.text[start..end], span)
    }
}

/// How references find their component: by name to name-order number (and number of outputs),
/// then, when the component itself is needed, to its file position.
struct Index<'n, 't> {
    names: &'n Names<'t>,
    /// File position of each name-order number.
    order: &'n [usize],
}

/// The name order of components given in file order: the file position of each name-order
/// number (`order`), and the name-order number of each file position (`rank`).
fn name_order(built: &[Component]) -> (Vec<usize>, Vec<usize>) {
    let name_of = |i: usize| built[i].name.as_str();
    let by_name = |a: &(u64, usize), b: &(u64, usize)| {
        a.0.cmp(&b.0).then_with(|| name_of(a.1).cmp(name_of(b.1)))
    };
    let sorted = |range: std::ops::Range<usize>| {
        let mut keyed: Vec<(u64, usize)> = range.map(|i| (name_prefix(name_of(i)), i)).collect();
        keyed.sort_unstable_by(by_name);
        keyed
    };
    let n = built.len();
    let (front, back) =
        crate::parallel::both(n >= PARALLEL_FROM, || sorted(0..n / 2), || sorted(n / 2..n));
    let mut order = Vec::with_capacity(n);
    let (mut front, mut back) = (front.iter().peekable(), back.iter().peekable());
    while let (Some(a), Some(b)) = (front.peek(), back.peek()) {
        // Names are distinct, so the two halves never tie.
        if by_name(a, b).is_lt() {
            order.push(a.1);
            front.next();
        } else {
            order.push(b.1);
            back.next();
        }
    }
    order.extend(front.chain(back).map(|&(_, i)| i));
    let mut rank = vec![0; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    (order, rank)
}

/// The first eight bytes of a name, zero-padded, as a number that sorts the way the bytes do
/// (names hold no zero byte, so a shorter name sorts first as it should).
fn name_prefix(name: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = name.len().min(8);
    bytes[..n].copy_from_slice(&name.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
}

/// Why a reference did not resolve (reported by `Ctx::unresolved`).
#[derive(Clone, Copy, Debug)]
enum Unresolved<'r> {
    /// The component is written but is not a valid component (already reported).
    Invalid,
    /// No component has this name.
    Dangling(&'r str),
    /// The component (named) has several outputs and the reference names none.
    Ambiguous(&'r str, &'r Component),
    /// The component (named) has no output of this name.
    NoOutput(&'r str, &'r str, &'r Component),
}

/// From this many references (or components) on, resolving them (or handing out their outputs'
/// consumer lists) is split over two threads.
const PARALLEL_FROM: usize = 1 << 16;

/// Resolves every reference in `refs`, in order: their ports (a placeholder for each that did
/// not resolve), as those before `split` and those from it on, and those that did not, by
/// position. A reference is a random lookup in a table of every name and then in its
/// component, so a large topology's are resolved on two cores, split at `split`.
fn resolve_all<'r>(
    refs: &'r Refs,
    built: &'r [Component],
    index: &Index<'_, '_>,
    split: usize,
) -> ([Vec<Port>; 2], Vec<(usize, Unresolved<'r>)>) {
    let range = |r: std::ops::Range<usize>| {
        let mut ports = Vec::with_capacity(r.len());
        let mut misses = Vec::new();
        // Each lookup is a random place in a table larger than the caches: read the places of
        // a batch of references together before resolving them.
        const BATCH: usize = 256;
        for i in r.clone() {
            if (i - r.start).is_multiple_of(BATCH) {
                let batch = i..(i + BATCH).min(r.end);
                let references = || batch.clone().map(|j| split_reference(refs.get(j).0));
                index.names.table.warm(references().map(|(comp, _)| comp));
                warm_outputs(references(), built, index);
            }
            ports.push(resolve(refs.get(i).0, built, index).unwrap_or_else(|miss| {
                misses.push((i, miss));
                Port {
                    component: 0,
                    output: 0,
                }
            }));
        }
        (ports, misses)
    };
    let n = refs.len();
    let ((front, mut misses), (back, more_misses)) =
        crate::parallel::both(n >= PARALLEL_FROM, || range(0..split), || range(split..n));
    misses.extend(more_misses);
    ([front, back], misses)
}

/// Reads what resolving references that name an output reads after the name table (whose
/// places a batch has just read): the component's file position, then the component, then its
/// outputs' names. Each is a cache miss in a large topology, and one reference's wait for the
/// next; read a step at a time for a batch of references, the misses of a step overlap, and
/// [`resolve`] then finds them cached.
fn warm_outputs<'r>(
    references: impl Iterator<Item = (&'r str, Option<&'r str>)>,
    built: &[Component],
    index: &Index<'_, '_>,
) {
    let full = full_name(&index.names.invalid, built, index.order);
    let mut at: smallvec::SmallVec<[usize; 64]> = references
        .filter(|(_, port)| port.is_some())
        .filter_map(|(comp, _)| index.names.table.get(comp, full))
        .filter(|p| p.built())
        .map(|p| p.at as usize)
        .collect();
    for at in &mut at {
        *at = index.order[*at];
    }
    let mut sum = 0usize;
    for &at in &at {
        sum = sum.wrapping_add(built[at].outputs.len());
    }
    for &at in &at {
        for o in &built[at].outputs {
            sum = sum.wrapping_add(o.name.len());
        }
    }
    std::hint::black_box(sum);
}

/// A reference `component` or `component.output` as its component and output names.
fn split_reference(from: &str) -> (&str, Option<&str>) {
    match from.split_once('.') {
        Some((c, p)) => (c, Some(p)),
        None => (from, None),
    }
}

/// Resolves a reference `component` or `component.output` to a port.
fn resolve<'r>(
    from: &'r str,
    built: &'r [Component],
    index: &Index<'_, '_>,
) -> Result<Port, Unresolved<'r>> {
    let (comp, port) = split_reference(from);
    let full = full_name(&index.names.invalid, built, index.order);
    let (component, outputs) = match index.names.table.get(comp, full) {
        Some(p) if !p.built() => return Err(Unresolved::Invalid),
        Some(p) => (p.at as usize, p.outputs),
        None => return Err(Unresolved::Dangling(comp)),
    };
    let target = || &built[index.order[component]];
    let output = match port {
        None if outputs == 1 => 0,
        None => return Err(Unresolved::Ambiguous(comp, target())),
        Some(p) => target()
            .outputs
            .iter()
            .position(|o| o.name == p)
            .ok_or_else(|| Unresolved::NoOutput(comp, p, target()))?,
    };
    Ok(Port { component, output })
}

/// The interface names already taken in a component's list as it is built: found by a scan of
/// the list while it is short, and in a map from [`Taken::SHORT`] names on (a component may read
/// from thousands of producers).
#[derive(Default)]
struct Taken(Option<rustc_hash::FxHashMap<String, usize>>);

impl Taken {
    /// Names scanned before the map takes over.
    const SHORT: usize = 4;

    /// The position of `name` in the list so far, whose names `names` gives in order.
    fn find<'n>(&self, name: &str, mut names: impl Iterator<Item = &'n str>) -> Option<usize> {
        match &self.0 {
            Some(map) => map.get(name).copied(),
            None => names.position(|n| n == name),
        }
    }

    /// Records `name`, about to be appended to the list whose names `names` gives in order
    /// (read only when the map starts).
    fn add<'n>(&mut self, name: &str, names: impl Iterator<Item = &'n str> + Clone) {
        match &mut self.0 {
            Some(map) => {
                let at = map.len();
                map.insert(name.to_owned(), at);
            }
            None if names.clone().count() + 1 == Self::SHORT => {
                let mut map: rustc_hash::FxHashMap<String, usize> =
                    names.enumerate().map(|(i, n)| (n.to_owned(), i)).collect();
                map.insert(name.to_owned(), Self::SHORT - 1);
                self.0 = Some(map);
            }
            None => {}
        }
    }
}

/// An input as written.
struct RawInput<'a> {
    name: Name,
    span: Span,
    from: Cow<'a, str>,
    from_span: Span,
    /// As [`Input::written_grouping`].
    written_grouping: Option<Box<(Grouping, Span)>>,
}

impl Ctx {
    fn new(source: Arc<SourceFile>, rust: Option<Arc<super::rust::RustItems>>) -> Self {
        Ctx {
            source,
            diags: Vec::new(),
            current: None,
            rust,
            rust_refs: Vec::new(),
            labels: rustc_hash::FxHashMap::default(),
            field_lists: rustc_hash::FxHashMap::default(),
            seal_keys: rustc_hash::FxHashMap::default(),
            scratch: String::new(),
        }
    }

    /// The topology, or every error found (in order).
    fn finish(self, topology: Option<Topology>) -> Result<Topology, Vec<Diagnostic>> {
        match topology {
            Some(t) if self.diags.is_empty() => Ok(t),
            _ => {
                let mut diags = self.diags;
                crate::report::sort(&mut diags);
                Err(diags)
            }
        }
    }

    fn error(
        &mut self,
        code: &'static crate::report::Code,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        // The message is the heading; the underline needs no second copy of it.
        let mut d = Diagnostic::new(code, &self.source, message).at(span, "");
        d.component.clone_from(&self.current);
        self.diags.push(d);
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn invalid(&mut self, node: &Node, expected: &str) {
        let found = node.kind();
        self.error(
            codes::INVALID_VALUE,
            node.span,
            format!("expected {expected}, found {found}"),
        );
    }

    /// Checks a mapping's keys against the allowed ones and returns its entries by key.
    fn mapping<'a>(
        &mut self,
        node: &'a Node<'a>,
        allowed: &[&str],
        what: &dyn std::fmt::Display,
    ) -> Option<Entries<'a>> {
        let Value::Map(entries) = &node.value else {
            if matches!(node.value, Value::Null) {
                return Some(Entries::default());
            }
            self.invalid(node, &format!("a mapping for {what}"));
            return None;
        };
        let mut out = Entries::default();
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                self.invalid(k, "a string key");
                continue;
            };
            if let Some(first) = entries
                .iter()
                .map(|(k, _)| k)
                .take_while(|other| !std::ptr::eq(*other, k))
                .find(|other| other.as_str() == Some(key))
            {
                let first = first.span;
                self.error(
                    codes::DUPLICATE_NAME,
                    k.span,
                    format!("key `{key}` appears twice in {what}"),
                )
                .secondary
                .push(crate::report::Marked {
                    span: first,
                    text: "first here".into(),
                });
                continue;
            }
            if !allowed.contains(&key) {
                let d = self.error(
                    codes::UNKNOWN_KEY,
                    k.span,
                    format!("unknown key `{key}` in {what}"),
                );
                d.help = Some(match suggest(key, allowed) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("valid keys here: {}", allowed.join(", ")),
                });
                continue;
            }
            out.0.push((key, v));
        }
        Some(out)
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        self.text(node, what).map(Cow::into_owned)
    }

    /// [`Ctx::string`] as a [`Name`], which keeps a short name in place.
    fn name(&mut self, node: &Node, what: &str) -> Option<Name> {
        self.text(node, what).map(|t| Name::from(t.as_ref()))
    }

    /// [`Ctx::string`], borrowing a string scalar from the tree.
    fn text<'a>(&mut self, node: &'a Node<'_>, what: &str) -> Option<Cow<'a, str>> {
        let text = scalar_text(node);
        if text.is_none() {
            self.invalid(node, what);
        }
        text
    }

    /// The one shared copy of a declared field list, found by its names: the many outputs
    /// declared with the same fields share one, and only the first of them allocates it.
    fn shared_fields(&mut self, names: &[&str]) -> Arc<[String]> {
        shared(&mut self.field_lists, &mut self.scratch, names, || {
            names.iter().map(|n| (*n).to_owned()).collect()
        })
    }

    /// A seal key over `names`, shared the way [`Ctx::shared_fields`] shares field lists.
    fn seal_key(&mut self, names: &[&str]) -> SealKey {
        shared(&mut self.seal_keys, &mut self.scratch, names, || {
            SealKey::new(names.iter().copied())
        })
    }

    /// A list of distinct field names (also accepts a single name), owned.
    fn field_list(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        let names = self.field_names(node, what)?;
        Some(names.iter().map(|n| (*n).to_owned()).collect())
    }

    /// A list of distinct field names (also accepts a single name), borrowed from the tree:
    /// validating one allocates nothing unless it is long, and a large topology declares
    /// a list on most of its outputs.
    fn field_names<'n>(&mut self, node: &'n Node<'_>, what: &str) -> Option<FieldNames<'n>> {
        let items = match &node.value {
            Value::Seq(items) => items.as_slice(),
            Value::Str(_) => std::slice::from_ref(node),
            Value::Null => &[],
            _ => {
                self.invalid(node, &format!("a list of field names for {what}"));
                return None;
            }
        };
        let mut out = FieldNames::new();
        // Past a few names, duplicates are looked up in a set rather than the list.
        let mut seen: Option<rustc_hash::FxHashSet<&str>> = None;
        let mut ok = true;
        for item in items {
            let Some(name) = item.as_str() else {
                self.invalid(item, "a field name");
                ok = false;
                continue;
            };
            let twice = match &mut seen {
                Some(seen) => !seen.insert(name),
                None => out.contains(&name),
            };
            if !is_field_name(name) {
                self.error(
                    codes::BAD_GATE,
                    item.span,
                    format!("`{name}` is not a field name"),
                )
                .help = Some("field names start with a letter or `_`".into());
                ok = false;
            } else if twice {
                self.error(
                    codes::BAD_GATE,
                    item.span,
                    format!("field `{name}` is listed twice in {what}"),
                );
                ok = false;
            } else {
                out.push(name);
                if seen.is_none() && out.len() == out.inline_size() {
                    seen = Some(out.iter().copied().collect());
                }
            }
        }
        ok.then_some(out)
    }

    /// Validates the topology; its components come from `streamed` when they were built while
    /// the file was parsed (see [`load_streamed`]), else from the tree.
    fn topology<'t>(
        &mut self,
        mut root: Node<'t>,
        streamed: Option<(Building<'t>, Registry)>,
    ) -> Option<Topology> {
        // Components built as parsed leave their name here; the topology's own errors have none.
        self.current = None;
        if matches!(root.value, Value::Null) {
            self.error(codes::INVALID_VALUE, root.span, "the file is empty")
                .help = Some("a topology has a `components:` mapping".into());
            return None;
        }
        let top = self.mapping(&root, TOP_KEYS, &"the topology")?;
        let name = top.get("name").and_then(|n| self.string(n, "a name"));
        if let Some(d) = top.get("description") {
            self.string(d, "a description");
        }
        let (building, registry) = match streamed {
            Some(streamed) => streamed,
            None => {
                let mut building = self.building(&top);
                let mut registry = Registry::new(self.source.text.len());
                let has_components = top.contains_key("components");
                drop(top);
                if !has_components {
                    self.error(
                        codes::INVALID_VALUE,
                        Span::new(root.span.offset(), 0),
                        "the topology has no `components`",
                    );
                    return None;
                }
                // Take the components out of the tree (the validated key is the first of its
                // name).
                let components_node = match &mut root.value {
                    Value::Map(entries) => entries
                        .iter_mut()
                        .find(|(k, _)| k.as_str() == Some("components"))
                        .map(|(_, v)| std::mem::replace(v, Node::null(v.span))),
                    _ => None,
                }?;
                drop(root);
                self.components(components_node, &mut building, &mut registry)?;
                (building, registry)
            }
        };
        let Building {
            mut built,
            places,
            invalid,
            refs,
            implicit,
            fds,
        } = building;
        // The components are put in name order at the end, in a vector as large as `built`
        // whose memory is new: a large topology's is written (and so mapped) on another
        // thread meanwhile, which has a core to itself in the steps below that use one.
        let room = (built.len() >= PARALLEL_FROM)
            .then(|| {
                let n = built.len();
                std::thread::Builder::new()
                    .spawn(move || {
                        let mut room: Vec<Component> = Vec::with_capacity(n);
                        room.resize_with(n, Component::default);
                        room
                    })
                    .ok()
            })
            .flatten();
        // Components are numbered in name order; `order` lists them by file position, `rank`
        // gives each file position its number. The names are distinct: most comparisons are
        // settled by the first eight bytes, kept next to the index so that sorting a million
        // names does not chase a million pointers. A large topology's two halves are sorted
        // on two cores, then merged.
        let (order, rank) = name_order(&built);
        // From here the name table gives each name its component's place, and a built one's
        // place is its name-order number.
        let names = Names {
            table: registry.into_table(&places, &rank),
            invalid,
        };
        drop(places);
        let index = Index {
            names: &names,
            order: &order,
        };

        // References resolve once every component's outputs are known; those that do not are
        // reported in file order.
        // A large topology's components are split in two halves at a component, each half done
        // on its own core: the references resolved, then the inputs connected and grouped.
        let (parallel, half) = (built.len() >= PARALLEL_FROM, built.len() / 2);
        let refs_before_half: usize = built[..half].iter().map(|c| c.inputs.len()).sum();
        let ([resolved_front, resolved_back], misses) =
            resolve_all(&refs, &built, &index, refs_before_half);
        let complete = misses.is_empty();
        if !complete {
            // The consumer of each reference, by position.
            let consumers: Vec<&str> = built
                .iter()
                .flat_map(|c| c.inputs.iter().map(|_| c.name.as_str()))
                .collect();
            for (i, miss) in misses {
                self.unresolved(miss, refs.get(i).1, consumers[i], &built, &index);
            }
        }
        drop((refs, names));
        self.current = None;
        if self.rust.is_none() {
            let conflicts = super::rust::same_item_conflicts(&self.source, &self.rust_refs);
            self.diags.extend(conflicts);
        }
        if !complete {
            // The errors are reported; paths were numbered with every input present.
            return None;
        }
        // Consumers of each output, as sorted (name-order number, input) pairs in vectors of the
        // exact size. Ports are numbered in name order, those of the component numbered `r` from
        // `first[r]`. The inputs are connected (as resolved, in file order) and grouped by port
        // with a counting sort, and each port's pairs are then sorted and handed out.
        // Components are read in file order, the order their parts were allocated in, and only
        // then put in name order: in name order each component's inputs and outputs would be a
        // cache miss away. A large topology's components are split in two halves at a component,
        // each half done on its own core: each counts its ports, and then writes its pairs from
        // its own cursors, which start where the other half's pairs of the port end.
        let mut first = vec![0u32; built.len()];
        for (c, &r) in built.iter().zip(&rank) {
            first[r] = c.outputs.len() as u32;
        }
        let mut ports = 0;
        for f in &mut first {
            let outputs = *f;
            *f = ports;
            ports += outputs;
        }
        let ports = ports as usize;
        let (front, back) = built.split_at_mut(half);
        // Connects a half's inputs; gives the port of each input and the count of each port.
        let connect = |components: &mut [Component], resolved: &[Port]| {
            let mut of_input = Vec::with_capacity(resolved.len());
            let mut count = vec![0u32; ports];
            let mut resolved = resolved.iter();
            for c in components {
                for (input, &port) in c.inputs.iter_mut().zip(&mut resolved) {
                    input.from = port;
                    let p = first[port.component] + port.output as u32;
                    of_input.push(p);
                    count[p as usize] += 1;
                }
            }
            (of_input, count)
        };
        let ((front_ports, mut front_at), (back_ports, mut back_at)) = crate::parallel::both(
            parallel,
            || connect(front, &resolved_front),
            || connect(back, &resolved_back),
        );
        drop((resolved_front, resolved_back));
        // `start[p]` is where port `p`'s pairs begin; the counts become each half's cursors.
        let mut start = Vec::with_capacity(ports + 1);
        let mut total = 0u32;
        for (f, b) in front_at.iter_mut().zip(&mut back_at) {
            start.push(total);
            let (in_front, in_back) = (*f, *b);
            *f = total;
            *b = total + in_front;
            total += in_front + in_back;
        }
        start.push(total);
        // Pairs packed in one word each; the halves write to distinct places.
        let grouped: Vec<AtomicU64> = (0..total).map(|_| AtomicU64::new(0)).collect();
        let group =
            |components: &[Component], ranks: &[usize], of_input: &[u32], at: &mut [u32]| {
                let mut of_input = of_input.iter();
                for (c, &r) in components.iter().zip(ranks) {
                    for (ii, &p) in (0..c.inputs.len()).zip(&mut of_input) {
                        // Component and input counts are bounded by the file size limit.
                        let pair = (r as u64) << 32 | ii as u64;
                        grouped[at[p as usize] as usize].store(pair, Ordering::Relaxed);
                        at[p as usize] += 1;
                    }
                }
            };
        crate::parallel::both(
            parallel,
            || group(&built[..half], &rank[..half], &front_ports, &mut front_at),
            || group(&built[half..], &rank[half..], &back_ports, &mut back_at),
        );
        drop((front_ports, front_at, back_ports, back_at));
        // One vector per output, filled half on each core.
        let hand_out = |components: &mut [Component], ranks: &[usize]| {
            for (c, &r) in components.iter_mut().zip(ranks) {
                let f = first[r] as usize;
                for (oi, o) in c.outputs.iter_mut().enumerate() {
                    let mut fed: Box<[(u32, u32)]> = grouped
                        [start[f + oi] as usize..start[f + oi + 1] as usize]
                        .iter()
                        .map(|pair| {
                            let pair = pair.load(Ordering::Relaxed);
                            ((pair >> 32) as u32, pair as u32)
                        })
                        .collect();
                    fed.sort_unstable();
                    o.fed = fed;
                }
            }
        };
        let (front, back) = built.split_at_mut(half);
        crate::parallel::both(
            parallel,
            || hand_out(front, &rank[..half]),
            || hand_out(back, &rank[half..]),
        );
        drop((grouped, start, first));

        // Put the components in name order: a gather, whose reads do not wait for one another
        // (following the permutation's cycles in place made each move wait for the one before).
        drop(rank);
        // The room is only missing when the thread could not be started (or failed).
        let components = match room.and_then(|room| room.join().ok()) {
            Some(mut room) => {
                for (slot, &i) in room.iter_mut().zip(&order) {
                    std::mem::swap(slot, &mut built[i]);
                }
                room
            }
            None => order
                .iter()
                .map(|&i| std::mem::take(&mut built[i]))
                .collect(),
        };
        drop((built, order));

        Some(Topology {
            name,
            source: Arc::clone(&self.source),
            components,
            fds,
            implicit,
        })
    }

    /// Builds every component from its entry, consuming the entries one at a time; duplicates
    /// and bad names are reported. Inputs are built with their producers unresolved: each
    /// component comes with the `from` references of its inputs, in input order. In file order.
    fn components<'t>(
        &mut self,
        node: Node<'t>,
        building: &mut Building<'t>,
        registry: &mut Registry,
    ) -> Option<()> {
        let Value::Map(entries) = node.value else {
            self.invalid(&node, "a mapping of component names to components");
            return None;
        };
        building.built.reserve(entries.len());
        for (k, v) in entries {
            let registered = registry.register(&k);
            self.add_component(building, &k, &v, registered);
        }
        Some(())
    }

    /// What components are built with: the topology's `implicit` fields and `fds` (from its
    /// entries, or those of them before `components` when components are built as parsed).
    fn building<'t>(&mut self, top: &Entries) -> Building<'t> {
        let implicit = top
            .get("implicit")
            .and_then(|n| self.field_list(n, "`implicit`"))
            .unwrap_or_default();
        let fds = top.get("fds").map(|n| self.fds(n)).unwrap_or_default();
        let expected = self.source.text.len() / BYTES_PER_COMPONENT;
        Building {
            built: Vec::with_capacity(expected),
            places: Vec::with_capacity(expected),
            invalid: Vec::new(),
            refs: Refs {
                text: String::with_capacity(expected * 8),
                refs: Vec::with_capacity(expected * 2),
            },
            implicit,
            fds,
        }
    }

    /// Builds the component of one entry of `components`; duplicates and bad names are
    /// reported.
    fn add_component<'t>(
        &mut self,
        building: &mut Building<'t>,
        k: &Node<'t>,
        v: &Node<'t>,
        registered: Registered,
    ) {
        let Some(key) = self.text(k, "a component name") else {
            return;
        };
        if !is_component_name(&key) {
            self.error(
                codes::INVALID_VALUE,
                k.span,
                format!("`{key}` is not a valid component name"),
            )
            .help = Some(
                "names start with a letter or `_` and contain letters, digits, `_` or `-` \
                 (a `.` separates component and output in references)"
                    .into(),
            );
            return;
        }
        let name: &str = &key;
        match registered {
            Registered::New(entry) => debug_assert_eq!(entry as usize, building.places.len()),
            Registered::Duplicate(first) => {
                let first = building.places[first as usize];
                let span = if first.built() {
                    building.built[first.at as usize].span
                } else {
                    building.invalid[first.at as usize].1
                };
                let d = self.error(
                    codes::DUPLICATE_NAME,
                    k.span,
                    format!("component `{name}` is defined twice"),
                );
                d.secondary.push(crate::report::Marked {
                    span,
                    text: "first defined here".into(),
                });
                return;
            }
            // Registering and building read keys alike: not reached.
            Registered::Invalid => return,
        }
        let entries = self.mapping(v, COMPONENT_KEYS, &format_args!("component `{name}`"));
        let Some(entries) = entries else {
            // Positions are bounded by the file size limit.
            building.places.push(Place {
                at: building.invalid.len() as u32,
                outputs: Place::INVALID,
            });
            building.invalid.push((Cow::Owned(name.to_owned()), k.span));
            return;
        };
        let raw = RawComponent {
            name,
            span: k.span,
            entries,
        };
        let built = self.component(
            &raw,
            &building.implicit,
            &mut building.fds,
            &mut building.refs,
        );
        drop(raw);
        // Positions and output counts are bounded by the file size limit.
        building.places.push(Place {
            at: building.built.len() as u32,
            outputs: built.outputs.len() as u32,
        });
        building.built.push(built);
    }

    /// Builds one component from its entries (its inputs not yet connected).
    fn component(
        &mut self,
        c: &RawComponent<'_>,
        implicit: &[String],
        fds: &mut Vec<Fd>,
        refs: &mut Refs,
    ) -> Component {
        // The name diagnostics are given, in the same room from one component to the next.
        match &mut self.current {
            Some(current) => {
                current.clear();
                current.push_str(c.name);
            }
            None => self.current = Some(c.name.to_string()),
        }
        let mut comp = Component {
            name: Name::from(c.name),
            span: c.span,
            inputs: Box::default(),
            outputs: self.outputs(c, implicit),
            paths: Box::default(),
            parallelism: 1,
            replicated: false,
            allow: Box::default(),
        };
        let mut raw_inputs = self.inputs(c);
        raw_inputs.sort_by(|a, b| a.name.cmp(&b.name));
        for r in &raw_inputs {
            refs.push(&r.from, r.from_span);
        }
        comp.inputs = raw_inputs
            .iter_mut()
            .map(|r| Input {
                name: std::mem::take(&mut r.name),
                span: r.span,
                // Connected by `topology` once every component is built.
                from: Port {
                    component: usize::MAX,
                    output: 0,
                },
                from_span: r.from_span,
                written_grouping: r.written_grouping.take(),
            })
            .collect();
        comp.paths = self.paths(c, &comp);
        if let Some(n) = c.entries.get("parallelism") {
            match n.value {
                Value::Int(p) if p >= 1 && p <= i64::from(u32::MAX) => {
                    comp.parallelism = u32::try_from(p).unwrap_or(u32::MAX);
                }
                Value::Int(p) if p < 1 => {
                    self.error(
                        codes::INVALID_VALUE,
                        n.span,
                        "parallelism must be at least 1",
                    )
                    .help = Some("a component has at least one instance".into());
                }
                Value::Int(_) | Value::Float(_) => {
                    self.error(
                        codes::INVALID_VALUE,
                        n.span,
                        format!("parallelism must be an integer from 1 to {}", u32::MAX),
                    );
                }
                _ => self.invalid(n, "a positive integer"),
            }
        }
        if let Some(n) = c.entries.get("replicated") {
            match n.value {
                Value::Bool(b) => comp.replicated = b,
                _ => self.invalid(n, "`true` or `false`"),
            }
        }
        if let Some(n) = c.entries.get("allow") {
            comp.allow = self.allow(n).into_boxed_slice();
        }
        if let Some(n) = c.entries.get("fds") {
            fds.extend(self.fds(n));
        }
        for key in ["description", "reason"] {
            if let Some(n) = c.entries.get(key) {
                self.string(n, "a string");
            }
        }
        if let Some(n) = c.entries.get("rust") {
            self.rust_item(n, c, &mut comp, implicit);
        }
        comp
    }

    fn outputs(&mut self, c: &RawComponent<'_>, implicit: &[String]) -> Box<[Output]> {
        let default = || Output {
            name: "out".into(),
            span: c.span,
            fields: None,
            seal: None,
            fed: Box::default(),
        };
        let Some(node) = c.entries.get("outputs") else {
            return Box::new([default()]);
        };
        let Value::Map(entries) = &node.value else {
            self.invalid(node, "a mapping of output names");
            return Box::new([default()]);
        };
        // Room for every entry: built once, then kept (as a boxed slice) without a copy.
        let mut outs: Vec<Output> = Vec::with_capacity(entries.len());
        let mut taken = Taken::default();
        for (k, v) in entries {
            let Some(name) = self.name(k, "an output name") else {
                continue;
            };
            if !is_component_name(&name) {
                self.error(
                    codes::INVALID_VALUE,
                    k.span,
                    format!("`{name}` is not a valid output name"),
                );
                continue;
            }
            if let Some(first) = taken.find(&name, outs.iter().map(|o| o.name.as_str())) {
                let first = outs[first].span;
                self.error(
                    codes::DUPLICATE_NAME,
                    k.span,
                    format!("output `{name}` of `{}` is defined twice", c.name),
                )
                .secondary
                .push(crate::report::Marked {
                    span: first,
                    text: "first defined here".into(),
                });
                continue;
            }
            let what = format_args!("output `{}.{name}`", c.name);
            let entries = self.mapping(v, OUTPUT_KEYS, &what).unwrap_or_default();
            let fields = entries
                .get("fields")
                .and_then(|f| self.field_names(f, "`fields`"));
            let seal = entries.get("seal").and_then(|s| {
                let key = self.field_names(s, "a seal key")?;
                if let Some(fields) = &fields {
                    let known = crate::model::FieldSet::new(fields, implicit, key.len());
                    for (i, k) in key.iter().enumerate() {
                        if !known.contains(k) {
                            let span = match &s.value {
                                Value::Seq(items) => items.get(i).map_or(s.span, |n| n.span),
                                _ => s.span,
                            };
                            let d = self.error(
                                codes::UNKNOWN_SEAL_FIELD,
                                span,
                                format!("seal key `{k}` is not a field of `{}.{name}`", c.name),
                            );
                            d.help = Some(match suggest(k, fields) {
                                Some(f) => format!("did you mean `{f}`?"),
                                None => format!("declared fields: {}", fields.join(", ")),
                            });
                            return None;
                        }
                    }
                }
                Some(Box::new((self.seal_key(&key), s.span)))
            });
            if let Some(d) = entries.get("description") {
                self.string(d, "a description");
            }
            let fields = fields.map(|f| self.shared_fields(&f));
            taken.add(&name, outs.iter().map(|o| o.name.as_str()));
            outs.push(Output {
                name,
                span: k.span,
                fields,
                seal,
                fed: Box::default(),
            });
        }
        if outs.is_empty() {
            outs.push(default());
        }
        outs.sort_by(|a, b| a.name.cmp(&b.name));
        outs.into_boxed_slice()
    }

    /// The inputs as written, in place up to four (most components have fewer).
    fn inputs<'a>(&mut self, c: &RawComponent<'a>) -> smallvec::SmallVec<[RawInput<'a>; 4]> {
        let Some(node) = c.entries.get("inputs") else {
            return smallvec::SmallVec::new();
        };
        let mut out: smallvec::SmallVec<[RawInput<'a>; 4]> = smallvec::SmallVec::new();
        let mut taken = Taken::default();
        let mut push = |ctx: &mut Ctx, input: RawInput<'a>| {
            if let Some(first) = taken.find(&input.name, out.iter().map(|i| i.name.as_str())) {
                let first = out[first].span;
                ctx.error(
                    codes::DUPLICATE_NAME,
                    input.span,
                    format!("input `{}` of `{}` is defined twice", input.name, c.name),
                )
                .secondary
                .push(crate::report::Marked {
                    span: first,
                    text: "first defined here".into(),
                });
            } else {
                taken.add(&input.name, out.iter().map(|i| i.name.as_str()));
                out.push(input);
            }
        };
        match &node.value {
            Value::Seq(items) => {
                for item in items {
                    if let Some(r) =
                        self.text(item, "a reference `component` or `component.output`")
                    {
                        push(
                            self,
                            RawInput {
                                name: Name::from(r.as_ref()),
                                span: item.span,
                                from: r,
                                from_span: item.span,
                                written_grouping: None,
                            },
                        );
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let Some(name) = self.name(k, "an input name") else {
                        continue;
                    };
                    if let Some(r) = v.as_str() {
                        push(
                            self,
                            RawInput {
                                name,
                                span: k.span,
                                from: Cow::Borrowed(r),
                                from_span: v.span,
                                written_grouping: None,
                            },
                        );
                        continue;
                    }
                    let what = format_args!("input `{}.{name}`", c.name);
                    let Some(e) = self.mapping(v, INPUT_KEYS, &what) else {
                        continue;
                    };
                    let Some(from) = e.get("from") else {
                        self.error(
                            codes::INVALID_VALUE,
                            k.span,
                            format!("{what} has no `from`"),
                        )
                        .help = Some(
                            "name the producer: `from: component` or `from: component.output`"
                                .into(),
                        );
                        continue;
                    };
                    let Some(from_text) = self.text(from, "a reference") else {
                        continue;
                    };
                    let written_grouping = match e.get("grouping") {
                        Some(g) => match self.grouping(g) {
                            Some(x) => Some(Box::new((x, g.span))),
                            None => continue,
                        },
                        None => None,
                    };
                    if let Some(d) = e.get("description") {
                        self.string(d, "a description");
                    }
                    push(
                        self,
                        RawInput {
                            name,
                            span: k.span,
                            from: from_text,
                            from_span: from.span,
                            written_grouping,
                        },
                    );
                }
            }
            Value::Null => {}
            _ => self.invalid(node, "a list of references or a mapping of inputs"),
        }
        out
    }

    fn grouping(&mut self, node: &Node) -> Option<Grouping> {
        let text = self.text(node, "a grouping")?;
        let trimmed = text.trim();
        let (word, args) = match trimmed.find('(') {
            Some(i) if trimmed.ends_with(')') => (
                trimmed[..i].trim(),
                Some(&trimmed[i + 1..trimmed.len() - 1]),
            ),
            _ => (trimmed, None),
        };
        // Few distinct lists are written, each shared like declared fields.
        let fields = |ctx: &mut Ctx| -> Option<Arc<[String]>> {
            let list: FieldNames<'_> = args
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if list.is_empty() || list.iter().any(|f| !is_field_name(f)) {
                ctx.error(
                    codes::INVALID_VALUE,
                    node.span,
                    format!("`{word}` needs a list of field names, as in `{word}(key)`"),
                );
                return None;
            }
            Some(ctx.shared_fields(&list))
        };
        let g = match (word, args.is_some()) {
            ("fields", _) => Grouping::Fields(fields(self)?),
            ("partial_key", _) => Grouping::PartialKey(fields(self)?),
            ("shuffle", false) => Grouping::Shuffle,
            ("all", false) => Grouping::All,
            ("global", false) => Grouping::Global,
            ("local_or_shuffle", false) => Grouping::LocalOrShuffle,
            ("direct", false) => Grouping::Direct,
            ("custom", false) => Grouping::Custom,
            _ => {
                let d = self.error(
                    codes::INVALID_VALUE,
                    node.span,
                    format!("unknown grouping `{trimmed}`"),
                );
                d.help = Some(match suggest(word, GROUPINGS) {
                    Some(s) if s != word => format!("did you mean `{s}`?"),
                    _ => format!("groupings: {}", GROUPINGS.join(", ")),
                });
                return None;
            }
        };
        Some(g)
    }

    /// Reports a reference that did not resolve, written at `from_span` in an input of
    /// `consumer`.
    fn unresolved(
        &mut self,
        miss: Unresolved<'_>,
        from_span: Span,
        consumer: &str,
        built: &[Component],
        index: &Index,
    ) {
        self.current = Some(consumer.to_string());
        match miss {
            // Defined but not a mapping: that error is reported already.
            Unresolved::Invalid => {}
            Unresolved::Dangling(comp) => {
                let names: Vec<&str> = index
                    .order
                    .iter()
                    .map(|&i| built[i].name.as_str())
                    .collect();
                let d = self.error(
                    codes::DANGLING_REFERENCE,
                    from_span,
                    format!("no component named `{comp}`"),
                );
                d.help = suggest(comp, &names).map(|s| format!("did you mean `{s}`?"));
            }
            Unresolved::Ambiguous(comp, target) => {
                let names: Vec<String> = target
                    .outputs
                    .iter()
                    .map(|o| format!("`{comp}.{}`", o.name))
                    .collect();
                self.error(
                    codes::DANGLING_REFERENCE,
                    from_span,
                    format!("`{comp}` has several outputs; say which one"),
                )
                .help = Some(format!("one of {}", names.join(", ")));
            }
            Unresolved::NoOutput(comp, p, target) => {
                let names: Vec<&str> = target.outputs.iter().map(|o| o.name.as_str()).collect();
                let d = self.error(
                    codes::DANGLING_REFERENCE,
                    from_span,
                    format!("`{comp}` has no output named `{p}`"),
                );
                d.help = Some(match suggest(p, &names) {
                    Some(s) => format!("did you mean `{comp}.{s}`?"),
                    None => format!("outputs of `{comp}`: {}", names.join(", ")),
                });
            }
        }
    }

    /// Parses an annotation written as a string or as `{ label, gate }`.
    fn annotation(&mut self, node: &Node) -> Option<Arc<Annotation>> {
        match &node.value {
            Value::Str(s) => {
                if let Some(a) = self.labels.get(&**s) {
                    return Some(Arc::clone(a));
                }
                match Annotation::parse(s) {
                    Ok(a) => {
                        let a = Arc::new(a);
                        self.labels.insert(s.to_string(), Arc::clone(&a));
                        Some(a)
                    }
                    Err(e) => {
                        self.annotation_error(node, s, &e);
                        None
                    }
                }
            }
            Value::Map(_) => {
                let e = self.mapping(node, STRUCTURED_LABEL_KEYS, &"an annotation")?;
                let Some(kind_node) = e.get("label") else {
                    self.error(
                        codes::BAD_ANNOTATION,
                        node.span,
                        "the structured annotation has no `label`",
                    )
                    .help = Some("write `{ label: OW, gate: [word] }`".into());
                    return None;
                };
                let kind = self.string(kind_node, "CR, CW, OR or OW")?;
                let gate = match e.get("gate") {
                    None => None,
                    Some(g) if g.as_str() == Some("*") => Some(Gate::Any),
                    Some(g) => Some(Gate::Fields(
                        self.field_list(g, "a gate")?.into_iter().collect(),
                    )),
                };
                match Annotation::from_parts(&kind, gate) {
                    Ok(a) => Some(Arc::new(a)),
                    Err(e) => {
                        self.annotation_error(kind_node, &kind, &e);
                        None
                    }
                }
            }
            _ => {
                self.error(
                    codes::BAD_ANNOTATION,
                    node.span,
                    format!("expected an annotation, found {}", node.kind()),
                )
                .help = Some("annotations are CR, CW, OR(gate) or OW(gate)".into());
                None
            }
        }
    }

    fn annotation_error(&mut self, node: &Node, text: &str, e: &ParseError) {
        // Point inside the scalar when it is written plainly (its span matches its text).
        let span = if node.span.len() == text.len() {
            Span::new(
                node.span.offset() + e.range.start.min(text.len()),
                e.range
                    .len()
                    .max(1)
                    .min(text.len().saturating_sub(e.range.start).max(1)),
            )
        } else {
            node.span
        };
        let code = match e.kind {
            ParseErrorKind::EmptyField
            | ParseErrorKind::BadField(_)
            | ParseErrorKind::DuplicateField(_)
            | ParseErrorKind::StarWithFields
            | ParseErrorKind::StarInSeal => codes::BAD_GATE,
            _ => codes::BAD_ANNOTATION,
        };
        let help = match (&e.kind, e.suggestion()) {
            (_, Some(s)) => format!("did you mean `{s}`?"),
            (ParseErrorKind::DuplicateField(f), _) => format!("remove the repeated `{f}`"),
            (ParseErrorKind::EmptyField, _) => "remove the extra comma".into(),
            _ => "annotations are CR, CW, OR(gate) or OW(gate); a gate is a list of fields, \
                  `*`, or empty"
                .into(),
        };
        self.error(code, span, e.to_string()).help = Some(help);
    }

    fn paths(&mut self, c: &RawComponent<'_>, comp: &Component) -> Box<[Path]> {
        let default = c.entries.get("label").and_then(|n| {
            let a = self.annotation(n)?;
            Some((a, n.span))
        });
        // The pairs of interfaces, each of which a default label covers.
        let pairs = comp.inputs.len() * comp.outputs.len();
        let mut explicit: Vec<Path> = Vec::new();
        // The explicit paths by their pair of interfaces, to find one annotated twice.
        let mut seen: rustc_hash::FxHashMap<(usize, usize), usize> =
            rustc_hash::FxHashMap::default();
        if let Some(node) = c.entries.get("paths") {
            let Value::Seq(items) = &node.value else {
                self.invalid(node, "a list of paths");
                return Box::default();
            };
            // Room for the paths there will be when all are valid: those written, and with a
            // default label every pair of interfaces (see below).
            explicit.reserve_exact(match default {
                Some(_) => pairs.max(items.len()),
                None => items.len(),
            });
            for item in items {
                let what = format_args!("a path of `{}`", c.name);
                let Some(e) = self.mapping(item, PATH_KEYS, &what) else {
                    continue;
                };
                let input = self.interface(e.get("from"), item, comp, true);
                let output = self.interface(e.get("to"), item, comp, false);
                let Some(label_node) = e.get("label") else {
                    self.error(
                        codes::MISSING_ANNOTATION,
                        item.span,
                        "this path has no `label`",
                    )
                    .help = Some("add `label: CR` (or CW, OR(gate), OW(gate))".into());
                    continue;
                };
                let annotation = self.annotation(label_node);
                if let Some(d) = e.get("description") {
                    self.string(d, "a description");
                }
                let (Some(input), Some(output), Some(annotation)) = (input, output, annotation)
                else {
                    continue;
                };
                if let Some(&first) = seen.get(&(input, output)) {
                    let first: Span = explicit[first].span;
                    self.error(
                        codes::DUPLICATE_NAME,
                        label_node.span,
                        format!(
                            "the path `{}` -> `{}` is annotated twice",
                            comp.inputs[input].name, comp.outputs[output].name
                        ),
                    )
                    .secondary
                    .push(crate::report::Marked {
                        span: first,
                        text: "first annotated here".into(),
                    });
                    continue;
                }
                seen.insert((input, output), explicit.len());
                explicit.push(Path {
                    input,
                    output,
                    annotation,
                    span: label_node.span,
                });
            }
        }
        let has_label_key = c.entries.contains_key("label");
        let has_paths_key = c.entries.contains_key("paths");
        // With a crate, a `rust:` component is annotated by its item's attribute.
        let has_rust_key = c.entries.contains_key("rust");
        if !comp.inputs.is_empty()
            && !has_label_key
            && !has_paths_key
            && (!has_rust_key || self.rust.is_none())
        {
            self.error(
                codes::MISSING_ANNOTATION,
                c.span,
                format!("component `{}` has inputs but no annotation", c.name),
            )
            .help = Some(if has_rust_key {
                "`rust:` names the item whose `#[blazes]` attribute annotates it: lint the crate \
                 (`blazes lint CRATE_DIR`) to read it, or add `label:` here"
                    .into()
            } else {
                "add `label: CR` (or CW, OR(gate), OW(gate)), or `paths:`".into()
            });
        }
        let mut paths = explicit;
        if let Some((a, span)) = default {
            // The default covers every pair of interfaces not annotated explicitly: room for
            // exactly that many. The explicit pairs are looked up sorted (a component may have
            // thousands of inputs).
            paths.reserve_exact(pairs.saturating_sub(paths.len()));
            let mut annotated: Vec<(usize, usize)> =
                paths.iter().map(|p| (p.input, p.output)).collect();
            annotated.sort_unstable();
            for i in 0..comp.inputs.len() {
                for o in 0..comp.outputs.len() {
                    if annotated.binary_search(&(i, o)).is_err() {
                        paths.push(Path {
                            input: i,
                            output: o,
                            annotation: Arc::clone(&a),
                            span,
                        });
                    }
                }
            }
        }
        paths.sort_by_key(|p| (p.output, p.input));
        paths.into_boxed_slice()
    }

    /// Resolves a path's `from`/`to` to an interface index.
    fn interface(
        &mut self,
        node: Option<&Node>,
        path: &Node,
        comp: &Component,
        input: bool,
    ) -> Option<usize> {
        // Both lists are sorted by name (see `Ctx::component` and `Ctx::outputs`).
        let count = if input {
            comp.inputs.len()
        } else {
            comp.outputs.len()
        };
        let name_at = |i: usize| -> &str {
            if input {
                &comp.inputs[i].name
            } else {
                &comp.outputs[i].name
            }
        };
        let names = || -> Vec<&str> { (0..count).map(name_at).collect() };
        let side = if input { "input" } else { "output" };
        let Some(node) = node else {
            if count == 1 {
                return Some(0);
            }
            let key = if input { "from" } else { "to" };
            self.error(
                codes::UNKNOWN_INTERFACE,
                path.span,
                format!(
                    "`{}` has {} {side}s; this path must name one with `{key}`",
                    comp.name, count
                ),
            )
            .help = Some(format!("{side}s: {}", names().join(", ")));
            return None;
        };
        let name = self.text(node, "an interface name")?;
        let found = if input {
            comp.inputs.binary_search_by(|i| i.name.as_str().cmp(&name))
        } else {
            comp.outputs
                .binary_search_by(|o| o.name.as_str().cmp(&name))
        };
        if let Ok(i) = found {
            return Some(i);
        }
        let names = names();
        let d = self.error(
            codes::UNKNOWN_INTERFACE,
            node.span,
            format!("`{}` has no {side} named `{name}`", comp.name),
        );
        d.help = Some(match suggest(&name, &names) {
            Some(s) => format!("did you mean `{s}`?"),
            None if names.is_empty() => format!("`{}` has no {side}s", comp.name),
            None => format!("{side}s of `{}`: {}", comp.name, names.join(", ")),
        });
        None
    }

    fn allow(&mut self, node: &Node) -> Vec<(String, Span)> {
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Str(_) => vec![node],
            _ => {
                self.invalid(node, "a list of finding codes");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            let Some(text) = self.string(item, "a finding code") else {
                continue;
            };
            match codes::lookup(&text) {
                Some(code) => out.push((code.name.to_string(), item.span)),
                None => {
                    let names: Vec<&str> = codes::ALL.iter().map(|c| c.name).collect();
                    let d = self.error(
                        codes::UNKNOWN_CODE,
                        item.span,
                        format!("`{text}` is not a finding code"),
                    );
                    d.help = Some(match suggest(&text, &names) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "`blazes explain` lists the codes".into(),
                    });
                }
            }
        }
        out
    }

    fn fds(&mut self, node: &Node) -> Vec<Fd> {
        let Value::Seq(items) = &node.value else {
            self.invalid(node, "a list of `{ from: [..], to: [..] }`");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(e) = self.mapping(item, FD_KEYS, &"a functional dependency") else {
                continue;
            };
            let (Some(from), Some(to)) = (e.get("from"), e.get("to")) else {
                self.error(
                    codes::INVALID_VALUE,
                    item.span,
                    "a functional dependency needs `from` and `to`",
                );
                continue;
            };
            let from = self.field_list(from, "`from`");
            let to = self.field_list(to, "`to`");
            if let (Some(from), Some(to)) = (from, to) {
                if from.is_empty() || to.is_empty() {
                    self.error(
                        codes::INVALID_VALUE,
                        item.span,
                        "a functional dependency needs at least one field on each side",
                    );
                    continue;
                }
                out.push(Fd { from, to });
            }
        }
        out
    }
}

impl Ctx {
    /// `rust: crate::ops::Count`: merges the item's `#[blazes]` attribute into the component
    /// when a crate is linted; checks the reference when the file is read alone.
    fn rust_item(
        &mut self,
        node: &Node,
        c: &RawComponent<'_>,
        comp: &mut Component,
        implicit: &[String],
    ) {
        let Some(text) = self.string(node, "a Rust item path, as in `crate::ops::Count`") else {
            return;
        };
        let yaml = super::rust::YamlSide {
            reference: (text.clone(), node.span),
            annotated: c.entries.contains_key("label") || c.entries.contains_key("paths"),
            replicated: c.entries.get("replicated").and_then(|n| match n.value {
                Value::Bool(b) => Some((b, n.span)),
                _ => None,
            }),
        };
        let diags = super::rust::apply(&self.source, self.rust.as_deref(), &yaml, comp, implicit);
        self.diags.extend(diags);
        if self.rust.is_none()
            && let Ok(mut path) = super::rust::parse_reference(&text)
            && let Some(label) = c.entries.get("label")
            && let Some(a) = label.as_str().and_then(|s| Annotation::parse(s).ok())
        {
            if path.first().is_some_and(|p| p == "crate") {
                path.remove(0);
            }
            self.rust_refs
                .push((path, c.name.to_string(), a, label.span));
        }
    }
}

/// Component and interface names: a letter or `_`, then letters, digits, `_` or `-`.
fn is_component_name(name: &str) -> bool {
    is_field_name(name) && !name.contains('.')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn a_field_listed_twice_is_reported_where_it_repeats_in_short_and_long_lists() {
        // Past the names kept in place, repeats are found through a set: one repeat of a name
        // from before the switch, and one of a name from after it.
        let many: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
        let text = format!(
            "components:\n  a: {{ outputs: {{ out: {{ fields: [x, z, x] }} }} }}\n  \
             b: {{ outputs: {{ out: {{ fields: [{}, f3, f17], seal: [g, g] }} }} }}\n",
            many.join(", ")
        );
        let diags = load_str("t.yaml", &text).unwrap_err();
        let repeats: Vec<(&str, usize)> = diags
            .iter()
            .filter(|d| d.message.contains("listed twice"))
            .map(|d| {
                let span = d.primary.as_ref().unwrap().span;
                (&text[span.offset()..span.end()], span.offset())
            })
            .collect();
        let last = |name: &str| text.rfind(&format!(" {name}")).unwrap() + 1;
        assert_eq!(
            repeats,
            [
                ("x", last("x")),
                ("f3", last("f3")),
                ("f17", last("f17")),
                ("g", last("g"))
            ]
        );
    }

    #[test]
    fn a_long_seal_key_is_checked_against_long_field_lists_and_the_implicit_fields() {
        // Long enough that the names are looked up in a set: every seal field declared or
        // implicit loads, and the first that is neither is reported where it is written.
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("f{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let topology = |seal: &str| {
            format!(
                "implicit: [t0, t1]\ncomponents:\n  a: {{ outputs: {{ out: {{ fields: [{}], \
                 seal: [{seal}] }} }} }}\n",
                many(60)
            )
        };
        let t = load_str("t.yaml", &topology(&format!("{}, t1", many(60))))
            .unwrap_or_else(|d| panic!("{d:?}"));
        let seal = t.components[0].outputs[0]
            .seal
            .as_ref()
            .map(|s| s.0.0.len());
        assert_eq!(seal, Some(61));
        let text = topology(&format!("{}, t1, f60, nope", many(60)));
        let diags = load_str("t.yaml", &text).unwrap_err();
        let spans: Vec<&str> = diags
            .iter()
            .filter(|d| d.code == codes::UNKNOWN_SEAL_FIELD)
            .filter_map(|d| d.primary.as_ref())
            .map(|m| &text[m.span.offset()..m.span.end()])
            .collect();
        assert_eq!(spans, ["f60"]);
    }

    #[test]
    fn outputs_declaring_the_same_fields_share_one_list_in_the_written_order() {
        let t = load_str(
            "t.yaml",
            "components:\n  a: { outputs: { out: { fields: [id, ts], seal: [id] } } }\n  \
             b: { outputs: { out: { fields: [id, ts], seal: [id] } } }\n  \
             c: { outputs: { out: { fields: [ts, id], seal: [ts, id] } } }\n",
        )
        .unwrap();
        let fields = |i: usize| t.components[i].outputs[0].fields.clone().unwrap();
        let seal = |i: usize| t.components[i].outputs[0].seal.clone().unwrap().0;
        assert!(Arc::ptr_eq(&fields(0), &fields(1)));
        assert!(!Arc::ptr_eq(&fields(0), &fields(2)));
        assert_eq!(*fields(0), ["id".to_string(), "ts".to_string()]);
        assert_eq!(*fields(2), ["ts".to_string(), "id".to_string()]);
        assert_eq!(seal(1), SealKey::new(["id"]));
        assert_eq!(seal(2), SealKey::new(["id", "ts"]));
    }

    #[test]
    fn name_prefixes_sort_as_the_names_do() {
        let mut names = vec![
            "c10",
            "c2",
            "c1",
            "abcdefgh",
            "abcdefghi",
            "abcdefgha",
            "abc",
            "abcdefg",
            "ab_x",
            "Zeta",
            "zeta",
            "été",
            "étude",
            "a",
            "a-b",
            "a_b",
            "c100000000",
            "c10000000",
        ];
        let mut by_prefix = names.clone();
        by_prefix.sort_by(|a, b| name_prefix(a).cmp(&name_prefix(b)).then_with(|| a.cmp(b)));
        names.sort_unstable();
        assert_eq!(by_prefix, names);
    }

    #[test]
    fn references_keep_their_text_and_span() {
        let mut refs = Refs::default();
        refs.push("a.out", Span::new(3, 5));
        refs.push("", Span::new(9, 0));
        refs.push("bé", Span::new(12, 3));
        assert_eq!(refs.len(), 3);
        assert_eq!(refs.get(0), ("a.out", Span::new(3, 5)));
        assert_eq!(refs.get(1), ("", Span::new(9, 0)));
        assert_eq!(refs.get(2), ("bé", Span::new(12, 3)));
    }

    /// Names sharing their first eight bytes, in both loading paths: components come out in
    /// name order, and references find them.
    #[test]
    fn names_longer_than_the_name_table_keeps_are_told_apart_by_their_text() {
        // The name table keeps 16 bytes of a name: these agree on them and differ after.
        let (a, b) = ("ingest-partition-east", "ingest-partition-west");
        let text = format!(
            "components:\n  {a}: {{}}\n  {b}: {{}}\n  \
             sink: {{ inputs: {{ p: {b}, q: {a} }}, label: CR }}\n"
        );
        let topology = load_str("t.yaml", &text).unwrap();
        let sink = &topology.components[2];
        let froms: Vec<&str> = sink
            .inputs
            .iter()
            .map(|i| topology.components[i.from.component].name.as_str())
            .collect();
        assert_eq!(froms, [b, a]);

        // A duplicate, a reference to a name only its first 16 bytes share, and a reference
        // to a component that is not valid (reported once, where it is defined).
        let text = format!(
            "components:\n  {a}: 3\n  {b}: {{}}\n  {b}: {{}}\n  \
             sink: {{ inputs: {{ p: ingest-partition-north, q: {a} }}, label: CR }}\n"
        );
        let errors = load_str("t.yaml", &text).unwrap_err();
        let reported: Vec<(&str, String)> = errors
            .iter()
            .map(|d| (d.code.name, d.message.clone()))
            .collect();
        assert_eq!(
            reported,
            [
                (
                    "invalid-value",
                    format!("expected a mapping for component `{a}`, found an integer")
                ),
                (
                    "duplicate-name",
                    format!("component `{b}` is defined twice")
                ),
                (
                    "dangling-reference",
                    "no component named `ingest-partition-north`".to_string()
                ),
            ]
        );
        let first = &errors[1].secondary[0];
        assert_eq!(first.text, "first defined here");
        assert_eq!(first.span.offset() as usize, text.find(b).unwrap());
    }

    #[test]
    fn components_sharing_long_prefixes_load_in_name_order() {
        let text = "components:\n  stage_one_b: { inputs: [stage_one_a], label: CR }\n  \
                    stage_one_a: {}\n  stage_one: { inputs: { p: stage_one_b, q: stage_one_a }, \
                    label: CR }\n  stage_on: {}\n";
        for topology in [load_str("t.yaml", text), load_str_two_step("t.yaml", text)] {
            let topology = topology.unwrap();
            let names: Vec<&str> = topology
                .components
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(
                names,
                ["stage_on", "stage_one", "stage_one_a", "stage_one_b"]
            );
            let froms: Vec<(&str, &str)> = topology.components[1]
                .inputs
                .iter()
                .map(|i| {
                    let from = topology.components[i.from.component].name.as_str();
                    (i.name.as_str(), from)
                })
                .collect();
            assert_eq!(froms, [("p", "stage_one_b"), ("q", "stage_one_a")]);
        }
    }

    /// Whether component `c{j}` of [`many_references`] has two outputs (`out` and `x`).
    fn two_outputs(j: usize) -> bool {
        j > 0 && j.is_multiple_of(10)
    }

    /// A topology with more references than [`PARALLEL_FROM`]: component `i` reads `c{i-1}`
    /// (its output `out`) and `c{i/2}` (its output `x`, if it has two), and the references of
    /// the components in `dangling` point nowhere instead.
    fn many_references(n: usize, dangling: &[usize]) -> String {
        use std::fmt::Write as _;
        let mut text = String::from("components:\n  c0: {}\n");
        for i in 1..n {
            let (before, half) = (i - 1, i / 2);
            let first = if dangling.contains(&i) {
                format!("nowhere{i}")
            } else if two_outputs(before) {
                format!("c{before}.out")
            } else {
                format!("c{before}")
            };
            let second = if two_outputs(half) { ".x" } else { "" };
            let _ = write!(
                text,
                "  c{i}: {{ inputs: {{ a: {first}, b: c{half}{second} }}, label: CR"
            );
            if two_outputs(i) {
                text.push_str(", outputs: { out: {}, x: {} }");
            }
            text.push_str(" }\n");
        }
        text
    }

    #[test]
    fn references_resolved_on_two_threads_keep_their_inputs() {
        let n = PARALLEL_FROM / 2 + 500;
        let topology = load_str("t.yaml", &many_references(n, &[])).unwrap();
        let mut checked = 0;
        for c in &topology.components {
            let i: usize = c.name[1..].parse().unwrap();
            let froms: Vec<String> = c
                .inputs
                .iter()
                .map(|input| topology.port_name(input.from))
                .collect();
            if i == 0 {
                assert!(froms.is_empty());
                continue;
            }
            let out = |j: usize, x: bool| {
                format!("c{j}.{}", if x && two_outputs(j) { "x" } else { "out" })
            };
            assert_eq!(froms, [out(i - 1, false), out(i / 2, true)], "{}", c.name);
            checked += 1;
        }
        assert_eq!(checked, n - 1);
    }

    #[test]
    fn consumer_lists_handed_out_on_two_threads_invert_the_inputs() {
        let n = PARALLEL_FROM + 500;
        let topology = load_str("t.yaml", &many_references(n, &[])).unwrap();
        // Every input, as (producer, output) -> (consumer, input), in name order.
        let mut from_inputs: Vec<(Port, (usize, usize))> = Vec::new();
        for (ci, c) in topology.components.iter().enumerate() {
            for (ii, input) in c.inputs.iter().enumerate() {
                from_inputs.push((input.from, (ci, ii)));
            }
        }
        from_inputs.sort_unstable();
        let mut from_outputs: Vec<(Port, (usize, usize))> = Vec::new();
        for (component, c) in topology.components.iter().enumerate() {
            for (output, o) in c.outputs.iter().enumerate() {
                let port = Port { component, output };
                from_outputs.extend(o.consumers().map(|consumer| (port, consumer)));
            }
        }
        // Consumer lists are sorted, and component by component already in order.
        assert!(from_outputs.is_sorted());
        assert_eq!(from_outputs.len(), 2 * (n - 1));
        assert_eq!(from_outputs, from_inputs);
    }

    #[test]
    fn names_written_plain_quoted_or_escaped_register_alike() {
        // The parser's thread prepares the keys of names read as written (plain or quoted);
        // boolean and escaped keys are registered from their nodes, and an invalid name is not
        // registered at all. The file is in the fast subset, so it is loaded as parsed.
        let text = "components:\n  ab: {}\n  \"ab\": {}\n  true: {}\n  'true': {}\n  \
                    my.op: {}\n  \"a\\tb\": {}\n  cd: { inputs: [ab, \"true\"], label: CR }\n";
        assert!(crate::load::fast::parse(text).is_some());
        let streamed = load_str("t.yaml", text).unwrap_err();
        let two_step = load_str_two_step("t.yaml", text).unwrap_err();
        let messages = |errors: &[Diagnostic]| -> Vec<(String, usize)> {
            errors
                .iter()
                .map(|d| {
                    let at = d.primary.as_ref().map_or(0, |m| m.span.offset());
                    (d.message.clone(), at)
                })
                .collect()
        };
        assert_eq!(messages(&streamed), messages(&two_step));
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(
            messages(&streamed),
            [
                ("component `ab` is defined twice".to_string(), at("\"ab")),
                (
                    "component `true` is defined twice".to_string(),
                    at("'true'")
                ),
                (
                    "`my.op` is not a valid component name".to_string(),
                    at("my.op")
                ),
                (
                    "`a\tb` is not a valid component name".to_string(),
                    at("\"a\\")
                ),
            ]
        );
    }

    #[test]
    fn names_sorted_in_two_halves_come_out_in_name_order() {
        use std::fmt::Write as _;
        // More components than [`PARALLEL_FROM`], written in an order unrelated to their
        // names, all sharing their first eight bytes (so that every comparison reads the
        // names): each reads the one written before it.
        let n = PARALLEL_FROM + 500;
        let name = |i: usize| format!("stage_no_{}", (i * 7919) % n);
        let mut text = format!("components:\n  {}: {{}}\n", name(0));
        for i in 1..n {
            let _ = writeln!(
                text,
                "  {}: {{ inputs: [{}], label: CR }}",
                name(i),
                name(i - 1)
            );
        }
        let topology = load_str("t.yaml", &text).unwrap();
        let names: Vec<&str> = topology
            .components
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let mut expected: Vec<String> = (0..n).map(name).collect();
        expected.sort_unstable();
        assert_eq!(names, expected);
        let position: std::collections::HashMap<String, usize> =
            (0..n).map(|i| (name(i), i)).collect();
        for c in &topology.components {
            let i = position[c.name.as_str()];
            let froms: Vec<&str> = c
                .inputs
                .iter()
                .map(|input| topology.components[input.from.component].name.as_str())
                .collect();
            if i == 0 {
                assert!(froms.is_empty());
            } else {
                assert_eq!(froms, [name(i - 1)], "{}", c.name);
            }
        }
    }

    #[test]
    fn references_unresolved_on_either_thread_are_reported_at_their_component() {
        let n = PARALLEL_FROM / 2 + 500;
        let errors = load_str("t.yaml", &many_references(n, &[n - 3, 7])).unwrap_err();
        let mut reported: Vec<(String, Option<String>)> = errors
            .into_iter()
            .map(|d| (d.message, d.component))
            .collect();
        reported.sort();
        let expected = |i: usize| {
            (
                format!("no component named `nowhere{i}`"),
                Some(format!("c{i}")),
            )
        };
        assert_eq!(reported, [expected(n - 3), expected(7)]);
    }
}
