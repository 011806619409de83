//! The SPEC §8 topology format: validates a YAML node tree into a [`Topology`], collecting every
//! error as a located [`Diagnostic`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use blazes_annotations::{
    Annotation, Gate, ParseError, ParseErrorKind, SealKey, is_field_name, suggest,
};

use super::tree::{self, Node, Value};
use crate::model::{
    Component, Fd, Grouping, Input, Output, Path, Port, SourceFile, Span, Topology,
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
    let root = match tree::parse(text) {
        Ok(root) => root,
        Err(f) => {
            let code = if f.budget {
                codes::RESOURCE_LIMIT
            } else {
                codes::YAML_SYNTAX
            };
            return Err(vec![
                Diagnostic::new(code, &source, f.message).at(f.span, ""),
            ]);
        }
    };
    load_tree(Arc::clone(&source), root, rust)
}

/// Validates an already parsed topology file (the tree of the first file of `source`),
/// consuming the tree: each component's part is freed once the component is built, so a large
/// file never holds its whole tree and its whole model at once.
pub(crate) fn load_tree(
    source: Arc<SourceFile>,
    root: Node,
    rust: Option<Arc<super::rust::RustItems>>,
) -> Result<Topology, Vec<Diagnostic>> {
    let mut ctx = Ctx {
        source: Arc::clone(&source),
        diags: Vec::new(),
        current: None,
        rust,
        rust_refs: Vec::new(),
        labels: HashMap::new(),
        field_lists: std::collections::HashSet::new(),
    };
    let topology = ctx.topology(root);
    match topology {
        Some(t) if ctx.diags.is_empty() => Ok(t),
        _ => {
            let mut diags = ctx.diags;
            crate::report::sort(&mut diags);
            Err(diags)
        }
    }
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
    /// label share one.
    labels: HashMap<String, Arc<Annotation>>,
    /// Declared field lists, shared the same way.
    field_lists: std::collections::HashSet<Arc<[String]>>,
}

/// A component as written, before references are resolved.
struct RawComponent<'a> {
    name: String,
    span: Span,
    entries: Entries<'a>,
}

/// The entries of a validated mapping by key (keys are distinct): a short list, since a
/// mapping has a handful of keys and a large topology has millions of mappings.
#[derive(Default)]
struct Entries<'a>(Vec<(&'a str, &'a Node<'a>)>);

impl<'a> Entries<'a> {
    fn get(&self, key: &str) -> Option<&'a Node<'a>> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// A component built from its entry, with the `from` references of its inputs.
type Built = (Component, Vec<RawInput>);

/// An input as written.
struct RawInput {
    name: String,
    span: Span,
    from: String,
    from_span: Span,
    grouping: Grouping,
    grouping_span: Option<Span>,
}

impl Ctx {
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
        let mut out = Entries(Vec::with_capacity(entries.len()));
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
        match &node.value {
            Value::Str(s) => Some(s.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                self.invalid(node, what);
                None
            }
        }
    }

    /// The one shared copy of a declared field list.
    fn shared_fields(&mut self, fields: Vec<String>) -> Arc<[String]> {
        if let Some(f) = self.field_lists.get(fields.as_slice()) {
            return Arc::clone(f);
        }
        let f: Arc<[String]> = fields.into();
        self.field_lists.insert(Arc::clone(&f));
        f
    }

    /// A list of distinct field names (also accepts a single name).
    fn field_list(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Str(_) => vec![node],
            Value::Null => Vec::new(),
            _ => {
                self.invalid(node, &format!("a list of field names for {what}"));
                return None;
            }
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            let Some(name) = item.as_str() else {
                self.invalid(item, "a field name");
                ok = false;
                continue;
            };
            if !is_field_name(name) {
                self.error(
                    codes::BAD_GATE,
                    item.span,
                    format!("`{name}` is not a field name"),
                )
                .help = Some("field names start with a letter or `_`".into());
                ok = false;
            } else if !seen.insert(name.to_string()) {
                self.error(
                    codes::BAD_GATE,
                    item.span,
                    format!("field `{name}` is listed twice in {what}"),
                );
                ok = false;
            } else {
                out.push(name.to_string());
            }
        }
        ok.then_some(out)
    }

    fn topology(&mut self, mut root: Node) -> Option<Topology> {
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
        let implicit = top
            .get("implicit")
            .and_then(|n| self.field_list(n, "`implicit`"))
            .unwrap_or_default();
        let mut fds = top.get("fds").map(|n| self.fds(n)).unwrap_or_default();
        if !top.contains_key("components") {
            self.error(
                codes::INVALID_VALUE,
                Span::new(root.span.offset, 0),
                "the topology has no `components`",
            );
            return None;
        }
        // Take the components out of the tree (the validated key is the first of its name).
        let components_node = match &mut root.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some("components"))
                .map(|(_, v)| std::mem::replace(v, Node::null(v.span))),
            _ => None,
        }?;
        drop(root);
        let mut built = self.components(components_node, &implicit, &mut fds)?;
        // Components are numbered in name order; `order` lists them by file position.
        let mut order: Vec<usize> = (0..built.len()).collect();
        let name_of = |i: usize| built[i].as_ref().map_or("", |(c, _)| c.name.as_str());
        order.sort_by(|&a, &b| name_of(a).cmp(name_of(b)));

        // References resolve once every component's outputs are known.
        let mut resolved: Vec<Port> = Vec::new();
        let mut complete = true;
        for (c, froms) in built.iter().flatten() {
            for r in froms {
                match self.resolve(r, &c.name, &built, &order) {
                    Some(port) => resolved.push(port),
                    None => complete = false,
                }
            }
        }
        self.current = None;
        if self.rust.is_none() {
            let conflicts = super::rust::same_item_conflicts(&self.source, &self.rust_refs);
            self.diags.extend(conflicts);
        }
        if !complete {
            // The errors are reported; paths were numbered with every input present.
            return None;
        }
        // Connect the inputs (in file order, as resolved), then move each component once into
        // its place in name order.
        let mut resolved = resolved.into_iter();
        for (c, _) in built.iter_mut().flatten() {
            for (input, port) in c.inputs.iter_mut().zip(&mut resolved) {
                input.from = port;
            }
        }
        let mut components: Vec<Component> = order
            .iter()
            .filter_map(|&i| built[i].take().map(|(c, _)| c))
            .collect();
        drop(built);

        // Consumers of each output, in name order, in vectors of the exact size (counted per
        // port, the ports of a component numbered from `first[component]`).
        let mut first = Vec::with_capacity(components.len());
        let mut ports = 0;
        for c in &components {
            first.push(ports);
            ports += c.outputs.len();
        }
        let mut counts = vec![0usize; ports];
        for c in &components {
            for input in &c.inputs {
                counts[first[input.from.component] + input.from.output] += 1;
            }
        }
        for (c, &start) in components.iter_mut().zip(&first) {
            for (o, &n) in c.outputs.iter_mut().zip(&counts[start..]) {
                o.consumers = Vec::with_capacity(n);
            }
        }
        for ci in 0..components.len() {
            for ii in 0..components[ci].inputs.len() {
                let from = components[ci].inputs[ii].from;
                components[from.component].outputs[from.output]
                    .consumers
                    .push((ci, ii));
            }
        }

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
    fn components(
        &mut self,
        node: Node,
        implicit: &[String],
        fds: &mut Vec<Fd>,
    ) -> Option<Vec<Option<Built>>> {
        let Value::Map(entries) = node.value else {
            self.invalid(&node, "a mapping of component names to components");
            return None;
        };
        let mut seen: HashMap<String, Span> = HashMap::with_capacity(entries.len());
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Some(name) = self.string(&k, "a component name") else {
                continue;
            };
            if !is_component_name(&name) {
                self.error(
                    codes::INVALID_VALUE,
                    k.span,
                    format!("`{name}` is not a valid component name"),
                )
                .help = Some(
                    "names start with a letter or `_` and contain letters, digits, `_` or `-` \
                     (a `.` separates component and output in references)"
                        .into(),
                );
                continue;
            }
            if let Some(first) = seen.get(&name) {
                let first = *first;
                let d = self.error(
                    codes::DUPLICATE_NAME,
                    k.span,
                    format!("component `{name}` is defined twice"),
                );
                d.secondary.push(crate::report::Marked {
                    span: first,
                    text: "first defined here".into(),
                });
                continue;
            }
            seen.insert(name.clone(), k.span);
            let Some(entries) =
                self.mapping(&v, COMPONENT_KEYS, &format_args!("component `{name}`"))
            else {
                continue;
            };
            let raw = RawComponent {
                name,
                span: k.span,
                entries,
            };
            out.push(Some(self.component(&raw, implicit, fds)));
        }
        Some(out)
    }

    /// Builds one component from its entries (its inputs not yet connected).
    fn component(
        &mut self,
        c: &RawComponent<'_>,
        implicit: &[String],
        fds: &mut Vec<Fd>,
    ) -> (Component, Vec<RawInput>) {
        self.current = Some(c.name.clone());
        let mut comp = Component {
            name: c.name.clone(),
            span: c.span,
            inputs: Vec::new(),
            outputs: self.outputs(c, implicit),
            paths: Vec::new(),
            parallelism: 1,
            replicated: false,
            allow: Vec::new(),
        };
        let mut raw_inputs = self.inputs(c);
        raw_inputs.sort_by(|a, b| a.name.cmp(&b.name));
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
                grouping: std::mem::replace(&mut r.grouping, Grouping::Shuffle),
                grouping_span: r.grouping_span,
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
            comp.allow = self.allow(n);
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
        // Vectors filled one push at a time keep room for four: trim them, since a large
        // topology holds millions.
        comp.inputs.shrink_to_fit();
        comp.paths.shrink_to_fit();
        (comp, raw_inputs)
    }

    fn outputs(&mut self, c: &RawComponent<'_>, implicit: &[String]) -> Vec<Output> {
        let default = || Output {
            name: "out".into(),
            span: c.span,
            fields: None,
            seal: None,
            consumers: Vec::new(),
        };
        let Some(node) = c.entries.get("outputs") else {
            return vec![default()];
        };
        let Value::Map(entries) = &node.value else {
            self.invalid(node, "a mapping of output names");
            return vec![default()];
        };
        let mut outs: Vec<Output> = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.string(k, "an output name") else {
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
            if let Some(first) = outs.iter().find(|o| o.name == name) {
                let first = first.span;
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
                .and_then(|f| self.field_list(f, "`fields`"));
            let seal = entries.get("seal").and_then(|s| {
                let key = self.field_list(s, "a seal key")?;
                if let Some(fields) = &fields {
                    for (i, k) in key.iter().enumerate() {
                        if !fields.contains(k) && !implicit.contains(k) {
                            let span = match &s.value {
                                Value::Seq(items) => items.get(i).map_or(s.span, |n| n.span),
                                _ => s.span,
                            };
                            let d = self.error(
                                codes::UNKNOWN_SEAL_FIELD,
                                span,
                                format!("seal key `{k}` is not a field of `{}.{name}`", c.name),
                            );
                            d.help = Some(
                                match suggest(
                                    k,
                                    &fields.iter().map(String::as_str).collect::<Vec<_>>(),
                                ) {
                                    Some(f) => format!("did you mean `{f}`?"),
                                    None => format!("declared fields: {}", fields.join(", ")),
                                },
                            );
                            return None;
                        }
                    }
                }
                Some((SealKey::new(key), s.span))
            });
            if let Some(d) = entries.get("description") {
                self.string(d, "a description");
            }
            let fields = fields.map(|f| self.shared_fields(f));
            outs.push(Output {
                name,
                span: k.span,
                fields,
                seal,
                consumers: Vec::new(),
            });
        }
        if outs.is_empty() {
            outs.push(default());
        }
        outs.sort_by(|a, b| a.name.cmp(&b.name));
        outs.shrink_to_fit();
        outs
    }

    fn inputs(&mut self, c: &RawComponent<'_>) -> Vec<RawInput> {
        let Some(node) = c.entries.get("inputs") else {
            return Vec::new();
        };
        let mut out: Vec<RawInput> = Vec::new();
        let mut push = |ctx: &mut Ctx, input: RawInput| {
            if let Some(first) = out.iter().find(|i| i.name == input.name) {
                let first = first.span;
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
                out.push(input);
            }
        };
        match &node.value {
            Value::Seq(items) => {
                for item in items {
                    if let Some(r) =
                        self.string(item, "a reference `component` or `component.output`")
                    {
                        push(
                            self,
                            RawInput {
                                name: r.clone(),
                                span: item.span,
                                from: r,
                                from_span: item.span,
                                grouping: Grouping::Shuffle,
                                grouping_span: None,
                            },
                        );
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let Some(name) = self.string(k, "an input name") else {
                        continue;
                    };
                    if let Some(r) = v.as_str() {
                        push(
                            self,
                            RawInput {
                                name,
                                span: k.span,
                                from: r.to_string(),
                                from_span: v.span,
                                grouping: Grouping::Shuffle,
                                grouping_span: None,
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
                    let Some(from_text) = self.string(from, "a reference") else {
                        continue;
                    };
                    let grouping = match e.get("grouping") {
                        Some(g) => match self.grouping(g) {
                            Some(x) => x,
                            None => continue,
                        },
                        None => Grouping::Shuffle,
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
                            grouping,
                            grouping_span: e.get("grouping").map(|g| g.span),
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
        let text = self.string(node, "a grouping")?;
        let trimmed = text.trim();
        let (word, args) = match trimmed.find('(') {
            Some(i) if trimmed.ends_with(')') => (
                trimmed[..i].trim(),
                Some(&trimmed[i + 1..trimmed.len() - 1]),
            ),
            _ => (trimmed, None),
        };
        let fields = |ctx: &mut Ctx| -> Option<Vec<String>> {
            let list: Vec<String> = args
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().to_string())
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
            Some(list)
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

    /// Resolves `component` or `component.output` to a port.
    fn resolve(
        &mut self,
        r: &RawInput,
        consumer: &str,
        built: &[Option<Built>],
        order: &[usize],
    ) -> Option<Port> {
        let component = |i: usize| built[order[i]].as_ref().map(|(c, _)| c);
        let (comp, port) = match r.from.split_once('.') {
            Some((c, p)) => (c, Some(p)),
            None => (r.from.as_str(), None),
        };
        let found = order.binary_search_by(|&i| {
            built[i]
                .as_ref()
                .map_or("", |(c, _)| c.name.as_str())
                .cmp(comp)
        });
        let Some((ci, target)) = found.ok().and_then(|ci| Some((ci, component(ci)?))) else {
            self.current = Some(consumer.to_string());
            let names: Vec<&str> = (0..order.len())
                .filter_map(|i| component(i).map(|c| c.name.as_str()))
                .collect();
            let d = self.error(
                codes::DANGLING_REFERENCE,
                r.from_span,
                format!("no component named `{comp}`"),
            );
            d.help = suggest(comp, &names).map(|s| format!("did you mean `{s}`?"));
            return None;
        };
        let outs = &target.outputs;
        match port {
            None if outs.len() == 1 => Some(Port {
                component: ci,
                output: 0,
            }),
            None => {
                let names: Vec<String> = outs
                    .iter()
                    .map(|o| format!("`{comp}.{}`", o.name))
                    .collect();
                self.current = Some(consumer.to_string());
                self.error(
                    codes::DANGLING_REFERENCE,
                    r.from_span,
                    format!("`{comp}` has several outputs; say which one"),
                )
                .help = Some(format!("one of {}", names.join(", ")));
                None
            }
            Some(p) => match outs.iter().position(|o| o.name == p) {
                Some(oi) => Some(Port {
                    component: ci,
                    output: oi,
                }),
                None => {
                    let names: Vec<&str> = outs.iter().map(|o| o.name.as_str()).collect();
                    self.current = Some(consumer.to_string());
                    let d = self.error(
                        codes::DANGLING_REFERENCE,
                        r.from_span,
                        format!("`{comp}` has no output named `{p}`"),
                    );
                    d.help = Some(match suggest(p, &names) {
                        Some(s) => format!("did you mean `{comp}.{s}`?"),
                        None => format!("outputs of `{comp}`: {}", names.join(", ")),
                    });
                    None
                }
            },
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
        let span = if node.span.len == text.len() {
            Span::new(
                node.span.offset + e.range.start.min(text.len()),
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

    fn paths(&mut self, c: &RawComponent<'_>, comp: &Component) -> Vec<Path> {
        let default = c.entries.get("label").and_then(|n| {
            let a = self.annotation(n)?;
            Some((a, n.span))
        });
        let mut explicit: Vec<Path> = Vec::new();
        if let Some(node) = c.entries.get("paths") {
            let Value::Seq(items) = &node.value else {
                self.invalid(node, "a list of paths");
                return Vec::new();
            };
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
                if let Some(first) = explicit
                    .iter()
                    .find(|p| p.input == input && p.output == output)
                {
                    let first = first.span;
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
            for i in 0..comp.inputs.len() {
                for o in 0..comp.outputs.len() {
                    if !paths.iter().any(|p| p.input == i && p.output == o) {
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
        paths
    }

    /// Resolves a path's `from`/`to` to an interface index.
    fn interface(
        &mut self,
        node: Option<&Node>,
        path: &Node,
        comp: &Component,
        input: bool,
    ) -> Option<usize> {
        let names: Vec<&str> = if input {
            comp.inputs.iter().map(|i| i.name.as_str()).collect()
        } else {
            comp.outputs.iter().map(|o| o.name.as_str()).collect()
        };
        let side = if input { "input" } else { "output" };
        let Some(node) = node else {
            if names.len() == 1 {
                return Some(0);
            }
            let key = if input { "from" } else { "to" };
            self.error(
                codes::UNKNOWN_INTERFACE,
                path.span,
                format!(
                    "`{}` has {} {side}s; this path must name one with `{key}`",
                    comp.name,
                    names.len()
                ),
            )
            .help = Some(format!("{side}s: {}", names.join(", ")));
            return None;
        };
        let name = self.string(node, "an interface name")?;
        if let Some(i) = names.iter().position(|n| *n == name) {
            return Some(i);
        }
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
            self.rust_refs.push((path, c.name.clone(), a, label.span));
        }
    }
}

/// Component and interface names: a letter or `_`, then letters, digits, `_` or `-`.
fn is_component_name(name: &str) -> bool {
    is_field_name(name) && !name.contains('.')
}
