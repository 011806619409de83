//! Storm Flux topologies: `spouts`, `bolts` and `streams` (plus `name`, `config`, `components`
//! and `includes`), with blazes annotations in the topology's `config` map.
//!
//! Stock Flux builds spouts and bolts as beans, so they cannot carry extra keys; the topology
//! `config` map, on the other hand, accepts any key and Storm ignores the ones it does not know.
//! Annotations therefore live there, keyed by component id, either flat (Storm's style) or as one
//! mapping per component:
//!
//! ```yaml
//! config:
//!   topology.workers: 2
//!   blazes.tweets.seal: [batch]          # flat: blazes.<id>.<key>
//!   blazes.tweets.fields: [text, batch]
//!   blazes.count:                        # or one mapping per component
//!     label: OW(word, batch)
//! ```
//!
//! Component keys: `label`, `paths`, `replicated`, `allow`, `fields` and `seal` (of the default
//! stream), `outputs` (per stream id: `{ fields, seal }`), `fds`, `description`, `reason`, with
//! the meaning of SPEC §8. Topology keys: `blazes.implicit`, `blazes.fds`. Inputs and parallelism
//! come from the Flux file itself. Outputs are the Storm stream ids (`default` unless a stream
//! names `grouping.streamId`); an input is named after its upstream id, or `id.stream` for a
//! non-default stream.
//!
//! `${name}` is replaced from the `--filter` properties file and `${ENV-NAME}` from the
//! environment (with `--env-filter`), as Flux does; the replacement is made value by value, so
//! that diagnostics still point at the spot in the original file. A bolt with inputs and no
//! annotation is reported (`flux-missing-annotation`, a warning) and analyzed as `CR`.
//!
//! The loader translates the Flux file into the SPEC §8 form and validates it with the same code
//! as a blazes topology, then maps every span back into the Flux file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use blazes_annotations::suggest;

use super::tree::{self, Node, Value};
use crate::model::{SourceFile, Span, Topology};
use crate::report::{Diagnostic, Marked, codes};

/// Property substitution and include resolution.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Values for `${name}` (from `--filter FILE`).
    pub properties: BTreeMap<String, String>,
    /// Environment for `${ENV-NAME}` (with `--env-filter`); `None` leaves them unreplaced.
    pub env: Option<BTreeMap<String, String>>,
    /// Directory that `includes: [{ file: … }]` are relative to; `None` refuses includes (text
    /// loaded without a file, e.g. from standard input).
    pub base_dir: Option<PathBuf>,
}

/// Component keys accepted under `blazes.<id>`.
const COMPONENT_KEYS: &[&str] = &[
    "label",
    "paths",
    "replicated",
    "allow",
    "fields",
    "seal",
    "outputs",
    "fds",
    "description",
    "reason",
];
/// Topology keys accepted as `blazes.<key>`.
const TOP_KEYS: &[&str] = &["implicit", "fds"];
/// Flux grouping types and their SPEC §1 names.
const GROUPINGS: &[&str] = &[
    "SHUFFLE",
    "FIELDS",
    "ALL",
    "GLOBAL",
    "LOCAL_OR_SHUFFLE",
    "NONE",
    "DIRECT",
    "CUSTOM",
    "PARTIAL_KEY",
];
/// Deepest chain of includes followed.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Parses a Java `.properties` file: `key=value`, `key: value` or `key value` lines, `#` and
/// `!` comments, and lines continued with a trailing backslash.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            logical.push_str(cont);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        if entry.trim().is_empty() {
            continue;
        }
        let split = entry
            .char_indices()
            .find(|(_, c)| matches!(c, '=' | ':' | ' ' | '\t'))
            .map(|(i, _)| i);
        let (key, value) = match split {
            Some(i) => {
                let rest = entry[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                (&entry[..i], rest.trim())
            }
            None => (entry.as_str(), ""),
        };
        out.insert(key.to_string(), value.to_string());
    }
    out
}

/// True when a parsed document is a Flux topology: a mapping with `spouts`, `bolts` or
/// `streams`.
pub fn is_flux(root: &Node) -> bool {
    let Value::Map(entries) = &root.value else {
        return false;
    };
    entries
        .iter()
        .any(|(k, _)| matches!(k.as_str(), Some("spouts" | "bolts" | "streams")))
}

/// A cheap test on the text before parsing: could this be a Flux file?
pub fn may_be_flux(text: &str) -> bool {
    text.contains("spouts") || text.contains("bolts") || text.contains("streams")
}

/// A loaded Flux topology and its warnings.
#[derive(Debug)]
pub struct Loaded {
    /// The topology, with spans into the Flux file.
    pub topology: Topology,
    /// Findings of the loader (missing annotations).
    pub warnings: Vec<Diagnostic>,
}

/// Loads a Flux topology from text. `name` is shown in diagnostics.
pub fn load_str(name: &str, text: &str, options: &Options) -> Result<Loaded, Vec<Diagnostic>> {
    let mut files = vec![(name.to_string(), text.to_string())];
    let mut loader = Loader {
        options,
        diags: Vec::new(),
        pending: Vec::new(),
    };
    // Parse the file and its includes first: the source is a bundle of all of them.
    let mut docs: Vec<(usize, Option<Node>)> = Vec::new();
    let mut queue = vec![(0usize, 0usize, None::<Span>)];
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut include_errors: Vec<(usize, Span, String)> = Vec::new();
    while let Some((index, depth, _)) = queue.pop() {
        let text = files[index].1.clone();
        // Flux trees outlive their texts (includes are merged): they own their strings.
        match tree::parse(&text).map(Node::into_owned) {
            Ok(root) => {
                let includes = includes_of(&root);
                docs.push((index, Some(root)));
                for (file, span) in includes {
                    if depth + 1 > MAX_INCLUDE_DEPTH {
                        include_errors.push((index, span, "includes nest too deeply".into()));
                        continue;
                    }
                    let Some(base) = &options.base_dir else {
                        include_errors.push((
                            index,
                            span,
                            "includes are only followed when the topology is read from a file"
                                .into(),
                        ));
                        continue;
                    };
                    let path = base.join(&file);
                    if !seen.insert(path.clone()) {
                        continue;
                    }
                    match super::read_limited(&path.to_string_lossy())
                        .map_err(|e| e.to_string())
                        .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8".into()))
                    {
                        Ok(t) => {
                            // Named by its path as reached from the command line, so that
                            // annotations and SARIF point at the right file.
                            files.push((path.to_string_lossy().into_owned(), t));
                            queue.push((files.len() - 1, depth + 1, Some(span)));
                        }
                        Err(e) => include_errors.push((
                            index,
                            span,
                            format!("cannot read the include `{file}`: {e}"),
                        )),
                    }
                }
            }
            Err(f) => {
                docs.push((index, None));
                loader.pending.push((index, f));
            }
        }
    }
    let source = if files.len() == 1 {
        SourceFile::new(name, text)
    } else {
        SourceFile::bundle(files.clone())
    };
    let mut roots: Vec<(usize, Node)> = Vec::new();
    for (index, root) in docs {
        if let Some(mut root) = root {
            shift(&mut root, source.file_start(index));
            roots.push((index, root));
        }
    }
    for (index, f) in std::mem::take(&mut loader.pending) {
        let code = if f.budget {
            codes::RESOURCE_LIMIT
        } else {
            codes::YAML_SYNTAX
        };
        let span = Span::new(f.span.offset() + source.file_start(index), f.span.len());
        loader
            .diags
            .push(Diagnostic::new(code, &source, f.message).at(span, ""));
    }
    for (index, span, message) in include_errors {
        let span = Span::new(span.offset() + source.file_start(index), span.len());
        loader.diags.push(
            Diagnostic::new(codes::READ_ERROR, &source, message)
                .at(span, "")
                .help("includes name a `file:` relative to the including file"),
        );
    }
    if !loader.diags.is_empty() {
        crate::report::sort(&mut loader.diags);
        return Err(loader.diags);
    }
    roots.sort_by_key(|(i, _)| *i);
    for (_, root) in &mut roots {
        loader.substitute(root, &source.text);
    }
    let merged = loader.merge(&roots, &source);
    let Some(merged) = merged else {
        crate::report::sort(&mut loader.diags);
        return Err(loader.diags);
    };
    loader.translate(name, &merged, &source)
}

/// The `file` of each `includes` entry (entries with `resource: true` are reported later).
fn includes_of(root: &Node) -> Vec<(String, Span)> {
    let Some(includes) = get(root, "includes") else {
        return Vec::new();
    };
    let Value::Seq(items) = &includes.value else {
        return Vec::new();
    };
    items
        .iter()
        .filter(|item| {
            !matches!(
                get(item, "resource").map(|r| &r.value),
                Some(Value::Bool(true))
            )
        })
        .filter_map(|item| {
            let f = get(item, "file")?;
            Some((f.as_str()?.to_string(), f.span))
        })
        .collect()
}

/// Moves every span of a tree by `by` bytes (a file of a bundle).
fn shift(node: &mut Node, by: usize) {
    node.span = Span::new(node.span.offset() + by, node.span.len());
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| shift(n, by)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            shift(k, by);
            shift(v, by);
        }),
        _ => {}
    }
}

/// Sets every span of a tree to `span` (a value that replaced a `${…}` placeholder).
fn relocate(node: &mut Node, span: Span) {
    node.span = span;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| relocate(n, span)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            relocate(k, span);
            relocate(v, span);
        }),
        _ => {}
    }
}

/// The value of a key in a mapping node.
fn get<'a>(node: &'a Node<'a>, key: &str) -> Option<&'a Node<'a>> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// A spout or bolt.
struct Vertex<'a> {
    id: String,
    span: Span,
    node: &'a Node<'a>,
    spout: bool,
}

/// A stream between two vertices.
struct Stream {
    from: String,
    from_span: Span,
    to: String,
    stream: String,
    grouping: String,
    grouping_span: Span,
}

/// The merged document: vertices, streams and `blazes` config entries, in file order.
struct Merged<'a> {
    name: Option<&'a Node<'a>>,
    vertices: Vec<Vertex<'a>>,
    /// The position of each vertex in `vertices`, by id (a large topology has many).
    by_id: rustc_hash::FxHashMap<String, usize>,
    streams: Vec<Stream>,
    config: Vec<(&'a Node<'a>, &'a Node<'a>)>,
}

struct Loader<'o> {
    options: &'o Options,
    diags: Vec<Diagnostic>,
    pending: Vec<(usize, tree::ParseFailure)>,
}

impl Loader<'_> {
    fn error(
        &mut self,
        source: &Arc<SourceFile>,
        code: &'static crate::report::Code,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::new(code, source, message).at(span, ""));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// Replaces `${…}` in every scalar; a replaced plain scalar is re-read as YAML, as Flux's
    /// textual substitution would.
    fn substitute(&self, node: &mut Node, text: &str) {
        match &mut node.value {
            Value::Str(s) if s.contains("${") => {
                let replaced = replace(s, &self.options.properties, self.options.env.as_ref());
                if replaced == *s {
                    return;
                }
                let quoted = text
                    .get(node.span.offset()..)
                    .is_some_and(|t| t.starts_with('"') || t.starts_with('\''));
                let span = node.span;
                match tree::parse(&replaced).map(Node::into_owned) {
                    Ok(mut parsed) if !quoted && !matches!(parsed.value, Value::Null) => {
                        relocate(&mut parsed, span);
                        *node = parsed;
                    }
                    _ => node.value = Value::Str(replaced.into()),
                }
            }
            Value::Seq(items) => items.iter_mut().for_each(|n| self.substitute(n, text)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                self.substitute(k, text);
                self.substitute(v, text);
            }),
            _ => {}
        }
    }

    /// Collects vertices, streams and `blazes.*` config entries from the file and its includes.
    fn merge<'a>(
        &mut self,
        roots: &'a [(usize, Node)],
        source: &Arc<SourceFile>,
    ) -> Option<Merged<'a>> {
        let mut merged = Merged {
            name: None,
            vertices: Vec::new(),
            by_id: rustc_hash::FxHashMap::default(),
            streams: Vec::new(),
            config: Vec::new(),
        };
        for (index, root) in roots {
            let Value::Map(_) = &root.value else {
                self.error(
                    source,
                    codes::INVALID_VALUE,
                    root.span,
                    format!(
                        "expected a mapping for a Flux topology, found {}",
                        root.kind()
                    ),
                );
                return None;
            };
            if *index == 0 {
                merged.name = get(root, "name");
            }
            if let Some(includes) = get(root, "includes")
                && let Value::Seq(items) = &includes.value
            {
                for item in items {
                    if let Some(r) = get(item, "resource")
                        && matches!(r.value, Value::Bool(true))
                    {
                        self.error(
                            source,
                            codes::READ_ERROR,
                            item.span,
                            "classpath resources cannot be read by blazes",
                        )
                        .help = Some("include the file with `file:` and `resource: false`".into());
                    }
                }
            }
            for (key, spout) in [("spouts", true), ("bolts", false)] {
                let Some(list) = get(root, key) else {
                    continue;
                };
                let Value::Seq(items) = &list.value else {
                    if !matches!(list.value, Value::Null) {
                        self.error(
                            source,
                            codes::INVALID_VALUE,
                            list.span,
                            format!("expected a list of {key}, found {}", list.kind()),
                        );
                    }
                    continue;
                };
                for item in items {
                    let Some(id) = get(item, "id") else {
                        self.error(
                            source,
                            codes::INVALID_VALUE,
                            item.span,
                            format!("this {} has no `id`", &key[..key.len() - 1]),
                        );
                        continue;
                    };
                    let Some(name) = scalar(id) else {
                        self.error(
                            source,
                            codes::INVALID_VALUE,
                            id.span,
                            format!("expected a component id, found {}", id.kind()),
                        );
                        continue;
                    };
                    if let Some(&first) = merged.by_id.get(&name) {
                        let first = merged.vertices[first].span;
                        self.error(
                            source,
                            codes::DUPLICATE_NAME,
                            id.span,
                            format!("`{name}` is defined twice"),
                        )
                        .secondary
                        .push(Marked {
                            span: first,
                            text: "first defined here".into(),
                        });
                        continue;
                    }
                    merged.by_id.insert(name.clone(), merged.vertices.len());
                    merged.vertices.push(Vertex {
                        id: name,
                        span: id.span,
                        node: item,
                        spout,
                    });
                }
            }
            if let Some(list) = get(root, "streams") {
                match &list.value {
                    Value::Seq(items) => {
                        for item in items {
                            if let Some(s) = self.stream(item, source) {
                                merged.streams.push(s);
                            }
                        }
                    }
                    Value::Null => {}
                    _ => {
                        self.error(
                            source,
                            codes::INVALID_VALUE,
                            list.span,
                            format!("expected a list of streams, found {}", list.kind()),
                        );
                    }
                }
            }
            if let Some(config) = get(root, "config")
                && let Value::Map(entries) = &config.value
            {
                for (k, v) in entries {
                    if k.as_str().is_some_and(|k| k.starts_with("blazes.")) {
                        merged.config.push((k, v));
                    }
                }
            }
        }
        // Errors so far are reported with those of the translation: a broken stream is left out.
        Some(merged)
    }

    fn stream(&mut self, item: &Node, source: &Arc<SourceFile>) -> Option<Stream> {
        let mut ids = Vec::new();
        for key in ["from", "to"] {
            match get(item, key) {
                Some(n) => match scalar(n) {
                    Some(s) => ids.push((s, n.span)),
                    None => {
                        self.error(
                            source,
                            codes::INVALID_VALUE,
                            n.span,
                            format!("expected a component id, found {}", n.kind()),
                        );
                        return None;
                    }
                },
                None => {
                    self.error(
                        source,
                        codes::INVALID_VALUE,
                        item.span,
                        format!("this stream has no `{key}`"),
                    );
                    return None;
                }
            }
        }
        let (to, _) = ids.pop()?;
        let (from, from_span) = ids.pop()?;
        let Some(g) = get(item, "grouping") else {
            self.error(
                source,
                codes::INVALID_VALUE,
                item.span,
                "this stream has no `grouping`",
            )
            .help = Some("add `grouping: { type: SHUFFLE }` (or FIELDS, ALL, GLOBAL, …)".into());
            return None;
        };
        let stream = match get(g, "streamId") {
            Some(s) => match scalar(s) {
                Some(s) => s,
                None => {
                    self.error(
                        source,
                        codes::INVALID_VALUE,
                        s.span,
                        format!("expected a stream id, found {}", s.kind()),
                    );
                    return None;
                }
            },
            None => "default".to_string(),
        };
        let Some(kind_node) = get(g, "type") else {
            self.error(
                source,
                codes::INVALID_VALUE,
                g.span,
                "this grouping has no `type`",
            )
            .help = Some(format!("types: {}", GROUPINGS.join(", ")));
            return None;
        };
        let kind = scalar(kind_node).unwrap_or_default().to_ascii_uppercase();
        let args = || -> Option<Vec<String>> {
            let a = get(g, "args")?;
            match &a.value {
                Value::Seq(items) => items.iter().map(scalar).collect(),
                _ => scalar(a).map(|s| vec![s]),
            }
        };
        let keyed = |word: &str, this: &mut Self| -> Option<String> {
            match args() {
                Some(fields) if !fields.is_empty() => {
                    Some(format!("{word}({})", fields.join(", ")))
                }
                _ => {
                    this.error(
                        source,
                        codes::INVALID_VALUE,
                        g.span,
                        format!("a {kind} grouping needs `args`: the list of fields"),
                    )
                    .help = Some(format!("e.g. `{{ type: {kind}, args: [word] }}`"));
                    None
                }
            }
        };
        let grouping = match kind.as_str() {
            "SHUFFLE" | "NONE" => "shuffle".to_string(),
            "FIELDS" => keyed("fields", self)?,
            "PARTIAL_KEY" => keyed("partial_key", self)?,
            "ALL" => "all".to_string(),
            "GLOBAL" => "global".to_string(),
            "LOCAL_OR_SHUFFLE" => "local_or_shuffle".to_string(),
            "DIRECT" => "direct".to_string(),
            "CUSTOM" => "custom".to_string(),
            other => {
                let d = self.error(
                    source,
                    codes::INVALID_VALUE,
                    kind_node.span,
                    format!("unknown grouping type `{other}`"),
                );
                d.help = Some(match suggest(other, GROUPINGS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("types: {}", GROUPINGS.join(", ")),
                });
                return None;
            }
        };
        Some(Stream {
            from,
            from_span,
            to,
            stream,
            grouping,
            grouping_span: g.span,
        })
    }

    /// Builds the SPEC §8 form, validates it, and maps everything back into the Flux file.
    fn translate(
        mut self,
        name: &str,
        m: &Merged<'_>,
        source: &Arc<SourceFile>,
    ) -> Result<Loaded, Vec<Diagnostic>> {
        // Ids for suggestions; lookups go through `m.by_id`.
        let ids: Vec<&str> = m.vertices.iter().map(|v| v.id.as_str()).collect();
        let is_id = |id: &str| m.by_id.contains_key(id);
        // Annotations by component, and topology-level entries.
        let mut per: BTreeMap<String, Vec<(&Node, &Node)>> = BTreeMap::new();
        let mut top: Vec<(&str, &Node, &Node)> = Vec::new();
        for &(k, v) in &m.config {
            let Some(rest) = k.as_str().and_then(|k| k.strip_prefix("blazes.")) else {
                continue;
            };
            if is_id(rest) {
                // `blazes.<id>: { … }`
                match &v.value {
                    Value::Map(entries) => per
                        .entry(rest.to_string())
                        .or_default()
                        .extend(entries.iter().map(|(k, v)| (k, v))),
                    _ => {
                        self.error(
                            source,
                            codes::INVALID_VALUE,
                            v.span,
                            format!("expected a mapping of annotations for `{rest}`"),
                        );
                    }
                }
                continue;
            }
            match rest.rsplit_once('.') {
                Some((id, _)) if is_id(id) => {
                    per.entry(id.to_string()).or_default().push((k, v));
                }
                Some((id, _)) => {
                    let d = self.error(
                        source,
                        codes::DANGLING_REFERENCE,
                        k.span,
                        format!("no spout or bolt has the id `{id}`"),
                    );
                    d.help = suggest(id, &ids).map(|s| format!("did you mean `{s}`?"));
                }
                None if TOP_KEYS.contains(&rest) => top.push((rest, k, v)),
                None => {
                    let mut candidates: Vec<&str> = TOP_KEYS.to_vec();
                    candidates.extend(&ids);
                    let d = self.error(
                        source,
                        codes::UNKNOWN_KEY,
                        k.span,
                        format!("unknown key `blazes.{rest}`"),
                    );
                    d.help = Some(match suggest(rest, &candidates) {
                        Some(s) => format!("did you mean `blazes.{s}`?"),
                        None => "blazes keys are `blazes.<id>.<key>`, `blazes.implicit` and \
                                 `blazes.fds`"
                            .into(),
                    });
                }
            }
        }
        // The streams into and out of each vertex, in file order.
        let mut into: Vec<Vec<&Stream>> = vec![Vec::new(); m.vertices.len()];
        let mut out_of: Vec<Vec<&Stream>> = vec![Vec::new(); m.vertices.len()];
        for s in &m.streams {
            if let Some(&from) = m.by_id.get(&s.from) {
                out_of[from].push(s);
            }
            let Some(&to) = m.by_id.get(&s.to) else {
                // The `to` side is not translated into a reference: check it here.
                let d = self.error(
                    source,
                    codes::DANGLING_REFERENCE,
                    s.grouping_span,
                    format!(
                        "this stream goes to `{}`, which is not a spout or bolt",
                        s.to
                    ),
                );
                d.help = suggest(&s.to, &ids).map(|x| format!("did you mean `{x}`?"));
                continue;
            };
            if m.vertices[to].spout {
                self.error(
                    source,
                    codes::INVALID_VALUE,
                    s.grouping_span,
                    format!("`{}` is a spout: it cannot consume a stream", s.to),
                );
            }
            into[to].push(s);
        }

        let mut out = Synth::default();
        let mut warnings = Vec::new();
        out.raw("{");
        if let Some(n) = m.name {
            out.raw("\"name\": ");
            out.node(n, &source.text);
            out.raw(", ");
        }
        for (key, k, v) in &top {
            out.key(key, k.span);
            out.node(v, &source.text);
            out.raw(", ");
        }
        out.raw("\"components\": {");
        for (vi, v) in m.vertices.iter().enumerate() {
            if vi > 0 {
                out.raw(", ");
            }
            out.string(&v.id, v.span, &source.text);
            out.raw(": {");
            let mut first = true;
            let mut sep = |out: &mut Synth| {
                if !first {
                    out.raw(", ");
                }
                first = false;
            };
            if let Some(p) = get(v.node, "parallelism") {
                sep(&mut out);
                out.key("parallelism", p.span);
                out.node(p, &source.text);
            }
            let entries = per.get(&v.id).cloned().unwrap_or_default();
            // Inputs: every stream into this vertex.
            let inputs = &into[vi];
            if !inputs.is_empty() {
                sep(&mut out);
                out.raw("\"inputs\": {");
                for (i, s) in inputs.iter().enumerate() {
                    if i > 0 {
                        out.raw(", ");
                    }
                    let input = if s.stream == "default" {
                        s.from.clone()
                    } else {
                        format!("{}.{}", s.from, s.stream)
                    };
                    out.string(&input, s.from_span, "");
                    out.raw(": {\"from\": ");
                    out.string(&format!("{}.{}", s.from, s.stream), s.from_span, "");
                    out.raw(", \"grouping\": ");
                    out.string(&s.grouping, s.grouping_span, "");
                    out.raw("}");
                }
                out.raw("}");
            }
            // Outputs: the streams others consume, plus those annotated.
            let mut outputs: BTreeMap<String, Vec<(&Node, &Node)>> = BTreeMap::new();
            for s in &out_of[vi] {
                outputs.entry(s.stream.clone()).or_default();
            }
            let mut annotated = false;
            for &(k, val) in &entries {
                let key = prop(k);
                match key.as_str() {
                    "fields" | "seal" => {
                        outputs.entry("default".into()).or_default().push((k, val))
                    }
                    "outputs" => {
                        if let Value::Map(outs) = &val.value {
                            for (ok, ov) in outs {
                                if let Some(o) = scalar(ok) {
                                    let slot = outputs.entry(o).or_default();
                                    if let Value::Map(fields) = &ov.value {
                                        slot.extend(fields.iter().map(|(a, b)| (a, b)));
                                    } else {
                                        self.error(
                                            source,
                                            codes::INVALID_VALUE,
                                            ov.span,
                                            "expected a mapping `{ fields: [..], seal: [..] }`",
                                        );
                                    }
                                }
                            }
                        } else {
                            self.error(
                                source,
                                codes::INVALID_VALUE,
                                val.span,
                                "expected a mapping of stream ids to `{ fields, seal }`",
                            );
                        }
                    }
                    "inputs" | "parallelism" => {
                        self.error(
                            source,
                            codes::UNKNOWN_KEY,
                            k.span,
                            format!("`{key}` comes from the Flux file, not from `blazes.` keys"),
                        );
                    }
                    _ if !COMPONENT_KEYS.contains(&key.as_str()) => {
                        let d = self.error(
                            source,
                            codes::UNKNOWN_KEY,
                            k.span,
                            format!("unknown blazes key `{key}` for `{}`", v.id),
                        );
                        d.help = Some(match suggest(&key, COMPONENT_KEYS) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("keys: {}", COMPONENT_KEYS.join(", ")),
                        });
                    }
                    _ => {
                        if matches!(key.as_str(), "label" | "paths") {
                            annotated = true;
                        }
                        sep(&mut out);
                        out.key(&key, k.span);
                        out.node(val, &source.text);
                    }
                }
            }
            if !outputs.is_empty() {
                sep(&mut out);
                out.raw("\"outputs\": {");
                for (i, (o, fields)) in outputs.iter().enumerate() {
                    if i > 0 {
                        out.raw(", ");
                    }
                    out.string(o, v.span, "");
                    out.raw(": {");
                    for (j, (k, val)) in fields.iter().enumerate() {
                        if j > 0 {
                            out.raw(", ");
                        }
                        out.key(&prop(k), k.span);
                        out.node(val, &source.text);
                    }
                    out.raw("}");
                }
                out.raw("}");
            }
            if !inputs.is_empty() && !annotated {
                warnings.push(
                    Diagnostic::new(
                        codes::FLUX_MISSING_ANNOTATION,
                        source,
                        format!(
                            "bolt `{}` has no blazes annotation; it is analyzed as confluent (CR)",
                            v.id
                        ),
                    )
                    .component(&v.id)
                    .at(v.span, "no `blazes.` annotation for this id")
                    .help(format!(
                        "add `blazes.{}.label: CR` (or CW, OR(gate), OW(gate)) to the topology's \
                         `config`",
                        v.id
                    )),
                );
                sep(&mut out);
                out.key("label", v.span);
                out.string("CR", v.span, "");
            }
            out.raw("}");
        }
        out.raw("}}");
        let spans = out.span_map();
        let map = |s: Span| spans.map(s);
        match super::yaml::load_str(name, &out.text) {
            Ok(_) if !self.diags.is_empty() => {
                crate::report::sort(&mut self.diags);
                Err(self.diags)
            }
            Ok(mut t) => {
                t.source = Arc::clone(source);
                for c in &mut t.components {
                    c.span = map(c.span);
                    for i in &mut c.inputs {
                        i.span = map(i.span);
                        i.from_span = map(i.from_span);
                        if let Some((_, s)) = i.written_grouping.as_deref_mut() {
                            *s = map(*s);
                        }
                    }
                    for o in &mut c.outputs {
                        o.span = map(o.span);
                        if let Some((_, s)) = o.seal.as_deref_mut() {
                            *s = map(*s);
                        }
                    }
                    for p in &mut c.paths {
                        p.span = map(p.span);
                    }
                    for (_, s) in &mut c.allow {
                        *s = map(*s);
                    }
                }
                // Allowed on the component: drop the warning.
                warnings.retain(|d: &Diagnostic| {
                    d.component
                        .as_deref()
                        .and_then(|c| t.component_index(c))
                        .is_none_or(|c| {
                            !t.components[c]
                                .allow
                                .iter()
                                .any(|(code, _)| code == d.code.name)
                        })
                });
                Ok(Loaded {
                    topology: t,
                    warnings,
                })
            }
            Err(diags) => {
                let mut diags: Vec<Diagnostic> = diags
                    .into_iter()
                    .map(|mut d| {
                        d.source = Arc::clone(source);
                        if let Some(p) = &mut d.primary {
                            p.span = map(p.span);
                        }
                        for s in &mut d.secondary {
                            s.span = map(s.span);
                        }
                        let written = d
                            .primary
                            .as_ref()
                            .and_then(|p| source.text.get(p.span.offset()..p.span.end()));
                        if written.is_some_and(|w| w.contains("${")) {
                            d.help = Some(
                                "this `${…}` placeholder was not replaced: pass the properties \
                                 file with `--filter FILE`, or `--env-filter` for `${ENV-NAME}`"
                                    .into(),
                            );
                        }
                        d
                    })
                    .collect();
                diags.append(&mut self.diags);
                crate::report::sort(&mut diags);
                Err(diags)
            }
        }
    }
}

/// The component key of a `blazes.` config entry: the last dotted segment of a flat key, or the
/// key itself inside a per-component mapping.
fn prop(k: &Node) -> String {
    let s = scalar(k).unwrap_or_default();
    match s.strip_prefix("blazes.") {
        Some(rest) => rest.rsplit_once('.').map_or(rest, |(_, p)| p).to_string(),
        None => s,
    }
}

/// A scalar as text (strings, numbers and booleans).
fn scalar(n: &Node) -> Option<String> {
    match &n.value {
        Value::Str(s) => Some(s.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

/// Replaces `${name}` from the properties and `${ENV-NAME}` from the environment; unknown
/// placeholders stay as written.
pub fn replace(
    s: &str,
    properties: &BTreeMap<String, String>,
    env: Option<&BTreeMap<String, String>>,
) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        let value = match name.strip_prefix("ENV-") {
            Some(var) => env.and_then(|e| e.get(var)),
            None => properties.get(name),
        };
        match value {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A span of the synthesized text and the spot of the Flux file it stands for.
#[derive(Clone, Copy, Debug)]
struct Mark {
    start: usize,
    end: usize,
    to: Span,
    /// Offset in the Flux file of the scalar's first character when the synthesized string
    /// reproduces it character for character (so a span inside it maps exactly).
    exact: Option<usize>,
}

/// The SPEC §8 text being written (JSON, which is YAML), with its marks.
#[derive(Default)]
struct Synth {
    text: String,
    marks: Vec<Mark>,
}

impl Synth {
    fn raw(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// A key (always a plain identifier here) standing for `at`, followed by `: `.
    fn key(&mut self, key: &str, at: Span) {
        self.string(key, at, "");
        self.raw(": ");
    }

    /// A JSON string standing for `at`; `text` is the Flux file, to map inside plain scalars.
    fn string(&mut self, s: &str, at: Span, text: &str) {
        let start = self.text.len();
        let quoted = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let plain = quoted.len() == s.len() + 2;
        self.text.push_str(&quoted);
        let written = text.get(at.offset()..at.end());
        let exact = if !plain {
            None
        } else if written == Some(s) {
            Some(at.offset())
        } else if written.is_some_and(|w| {
            w.len() == s.len() + 2
                && (w.starts_with('"') || w.starts_with('\''))
                && w.get(1..w.len() - 1) == Some(s)
        }) {
            Some(at.offset() + 1)
        } else {
            None
        };
        self.marks.push(Mark {
            start,
            end: self.text.len(),
            to: at,
            exact,
        });
    }

    /// A whole Flux value, as JSON.
    fn node(&mut self, n: &Node, text: &str) {
        let start = self.text.len();
        match &n.value {
            Value::Null => self.raw("null"),
            Value::Bool(b) => self.raw(if *b { "true" } else { "false" }),
            Value::Int(i) => self.raw(&i.to_string()),
            Value::Float(f) => {
                let s = serde_json::to_string(f).unwrap_or_else(|_| "null".into());
                self.raw(&s);
            }
            Value::Str(s) => {
                self.string(s, n.span, text);
                return;
            }
            Value::Seq(items) => {
                self.raw("[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.raw(", ");
                    }
                    self.node(item, text);
                }
                self.raw("]");
            }
            Value::Map(entries) => {
                self.raw("{");
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.raw(", ");
                    }
                    match scalar(k) {
                        Some(s) => self.string(&s, k.span, text),
                        None => self.node(k, text),
                    }
                    self.raw(": ");
                    self.node(v, text);
                }
                self.raw("}");
            }
        }
        self.marks.push(Mark {
            start,
            end: self.text.len(),
            to: n.span,
            exact: None,
        });
    }

    /// The marks, indexed for [`SpanMap::map`]; the text stays.
    fn span_map(&mut self) -> SpanMap {
        SpanMap::new(std::mem::take(&mut self.marks))
    }
}

/// The marks of a synthesized text, ordered so that the innermost mark containing a spot is
/// found without a scan of every mark (a large topology has millions).
///
/// Marks nest or are disjoint, since the text is written from the Flux tree depth first. Sorted
/// by start, outer before inner among those starting together, the innermost mark containing a
/// spot is the last one starting at or before it, or, when that one has ended, the innermost of
/// the marks enclosing it that reaches the spot: a walk up a chain as deep as the tree.
struct SpanMap {
    /// The marks, by start; among equal starts, longer first, and of equal ones the first made
    /// last (so it is the one found, as a scan keeping the first shortest would).
    marks: Vec<Mark>,
    /// Per mark, the innermost mark enclosing it (`usize::MAX`: none).
    parent: Vec<usize>,
}

impl SpanMap {
    fn new(marks: Vec<Mark>) -> Self {
        let mut marks: Vec<(usize, Mark)> = marks.into_iter().enumerate().collect();
        marks.sort_by(|(i, a), (j, b)| {
            a.start
                .cmp(&b.start)
                .then(b.reach().cmp(&a.reach()))
                .then(j.cmp(i))
        });
        let marks: Vec<Mark> = marks.into_iter().map(|(_, m)| m).collect();
        let mut parent = Vec::with_capacity(marks.len());
        let mut open: Vec<usize> = Vec::new();
        for (i, m) in marks.iter().enumerate() {
            while open.last().is_some_and(|&o| marks[o].reach() <= m.start) {
                open.pop();
            }
            parent.push(open.last().copied().unwrap_or(usize::MAX));
            open.push(i);
        }
        SpanMap { marks, parent }
    }

    /// Maps a span of the synthesized text to the Flux file: the innermost mark containing its
    /// start, shortest first.
    fn map(&self, s: Span) -> Span {
        let at = s.offset();
        let mut i = self
            .marks
            .partition_point(|m| m.start <= at)
            .wrapping_sub(1);
        while let Some(m) = self.marks.get(i) {
            if at < m.reach() {
                return match m.exact {
                    Some(base) if at > m.start && s.end() < m.end => {
                        Span::new(base + (at - m.start - 1), s.len())
                    }
                    _ => m.to,
                };
            }
            i = self.parent[i];
        }
        Span::new(0, 0)
    }
}

impl Mark {
    /// Where the mark stops containing spots: its end, or one past its start when it is empty
    /// (so an empty mark still contains its own spot).
    fn reach(&self) -> usize {
        self.end.max(self.start + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_generated_topology_keeps_every_stream_and_every_spot() {
        // Each stream of the text, as (from, to), read back from its two lines.
        let text = crate::topogen::flux(3000);
        let mut streams: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if let Some(from) = line.strip_prefix("  - from: ") {
                let to = lines.next().and_then(|l| l.strip_prefix("    to: "));
                let unquote = |s: &str| s.trim_matches('"').to_string();
                let to = unquote(to.unwrap_or_default());
                streams.entry(to).or_default().push(unquote(from));
            }
        }
        let loaded = load_str("flux.yaml", &text, &Options::default())
            .unwrap_or_else(|d| panic!("loads: {:?}", d.first()));
        let t = &loaded.topology;
        assert_eq!(t.components.len(), 3000);
        let spot = |s: Span| text[s.offset()..s.end()].trim_matches('"');
        for c in &t.components {
            assert_eq!(spot(c.span), c.name);
            let mut inputs: Vec<&str> = c.inputs.iter().map(|i| i.name.as_str()).collect();
            let mut written: Vec<&str> = streams
                .get(c.name.as_str())
                .map_or(Vec::new(), |v| v.iter().map(String::as_str).collect());
            inputs.sort_unstable();
            written.sort_unstable();
            assert_eq!(inputs, written, "inputs of {}", c.name);
            for i in &c.inputs {
                assert_eq!(spot(i.from_span), t.components[i.from.component].name);
            }
        }
    }

    #[test]
    fn spans_map_to_the_shortest_mark_containing_them_as_a_scan_finds_it() {
        // Every Flux example written out as the loader writes it, plus marks made out of
        // order and twice over, against the scan of every mark that the index replaces.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/flux");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
        assert!(files.len() >= 4, "{files:?}");
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let root = tree::parse(&text).unwrap_or_else(|_| panic!("{path:?} parses"));
            let mut out = Synth::default();
            out.raw("{\"x\": ");
            out.node(&root, &text);
            out.raw(", ");
            out.key("name", Span::new(2, 4));
            out.string("name", Span::new(9, 4), &text);
            let mut twin = out.marks[0];
            twin.to = Span::new(1, 1);
            out.marks.push(twin);
            let marks = out.marks.clone();
            let scan = |s: Span| {
                let best = marks
                    .iter()
                    .filter(|m| m.start <= s.offset() && s.offset() < m.end.max(m.start + 1))
                    .min_by_key(|m| m.end - m.start);
                match best {
                    Some(m) => match m.exact {
                        Some(base) if s.offset() > m.start && s.end() < m.end => {
                            Span::new(base + (s.offset() - m.start - 1), s.len())
                        }
                        _ => m.to,
                    },
                    None => Span::new(0, 0),
                }
            };
            let spans = out.span_map();
            for at in 0..=out.text.len() + 1 {
                for len in [0, 1, 3, 40] {
                    let s = Span::new(at, len);
                    assert_eq!(spans.map(s), scan(s), "{path:?} at {at}+{len}");
                }
            }
        }
    }

    #[test]
    fn properties_and_placeholders() {
        let p = parse_properties("# c\na=1\nb : two\nc three\nd=con\\\n  tinued\n");
        assert_eq!(p.get("a").map(String::as_str), Some("1"));
        assert_eq!(p.get("b").map(String::as_str), Some("two"));
        assert_eq!(p.get("c").map(String::as_str), Some("three"));
        assert_eq!(p.get("d").map(String::as_str), Some("continued"));
        let env: BTreeMap<String, String> = [("HOME".to_string(), "/h".to_string())].into();
        assert_eq!(
            replace("x${a}y${ENV-HOME}${zz}", &p, Some(&env)),
            "x1y/h${zz}"
        );
        assert_eq!(replace("${ENV-HOME}", &p, None), "${ENV-HOME}");
        assert_eq!(replace("${unclosed", &p, None), "${unclosed");
    }
}
