//! Topologies whose annotations live in Rust code: `blazes lint CRATE` reads the `#[blazes(...)]`
//! attributes of a crate's sources with `syn` (parsing only: nothing is compiled, no build script
//! runs) and takes the wiring from the crate's topology file, whose components name Rust items
//! with `rust: crate::ops::Count`.
//!
//! The topology file is `blazes.yaml` at the crate root, or the file named by
//!
//! ```toml
//! [package.metadata.blazes]
//! topology = "topology/prod.yaml"
//! ```
//!
//! Spans. The YAML file and every `.rs` file are bundled into one [`SourceFile`]
//! ([`SourceFile::bundle`]): the YAML first, so its spans are unchanged, then each source file
//! at its own base offset. A path annotated by an attribute carries a span into the `.rs` file,
//! and every later stage points there without knowing it: diagnostics resolve the file, line and
//! column of each span through the bundle.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use blazes_annotations::{Annotation, Gate, SealKey, suggest};

use super::tree;
use crate::model::{Component, Path, SourceFile, Span, Topology};
use crate::report::{Diagnostic, codes};

/// The name of the topology file looked for at the crate root.
pub const TOPOLOGY_FILE: &str = "blazes.yaml";

/// An annotated item found in the crate.
#[derive(Clone, Debug)]
pub struct RustItem {
    /// Module path and item name, crate-relative: `["ops", "Count"]`.
    pub path: Vec<String>,
    /// Where the item's name is written.
    pub name_span: Span,
    /// Where the whole attribute is written.
    pub attr_span: Span,
    /// What the attribute says.
    pub attr: ItemAttr,
}

impl RustItem {
    /// `crate::ops::Count`.
    pub fn display_path(&self) -> String {
        format!("crate::{}", self.path.join("::"))
    }
}

/// A `#[blazes(...)]` attribute with spans into the bundled source.
#[derive(Clone, Debug, Default)]
pub struct ItemAttr {
    /// The annotation of every path.
    pub label: Option<(Annotation, Span)>,
    /// `path(from -> to, ANN)`: input and output names with their spans, the annotation and
    /// its span.
    pub paths: Vec<AttrPath>,
    /// `replicated`.
    pub replicated: Option<Span>,
    /// `seal(k…)`.
    pub seal: Option<AttrSeal>,
    /// `name = "…"`.
    pub name: Option<(String, Span)>,
}

/// `seal(k…)` in an attribute.
#[derive(Clone, Debug)]
pub struct AttrSeal {
    /// The key.
    pub key: SealKey,
    /// Its fields as written, with their spans.
    pub fields: Vec<(String, Span)>,
    /// The whole `seal(…)`.
    pub span: Span,
}

/// One `path(from -> to, ANN)`.
#[derive(Clone, Debug)]
pub struct AttrPath {
    /// Input interface and where it is written.
    pub from: (String, Span),
    /// Output interface and where it is written.
    pub to: (String, Span),
    /// The annotation and where it is written.
    pub annotation: (Annotation, Span),
}

/// Every annotated item of a crate.
#[derive(Clone, Debug, Default)]
pub struct RustItems {
    /// In file order.
    pub items: Vec<RustItem>,
    /// The positions of the items in `items` by every suffix of their path (`B`, `a::B`,
    /// `m::a::B` for `m::a::B`), made at the first lookup and dropped when an item is added
    /// ([`RustItems::add`]): a crate with thousands of operators has as many references to
    /// resolve, and often many items of one name (`process` in every module).
    by_suffix: std::sync::OnceLock<rustc_hash::FxHashMap<String, Vec<usize>>>,
}

impl RustItems {
    /// Adds an item found by the scan.
    fn add(&mut self, item: RustItem) {
        self.items.push(item);
        self.by_suffix = std::sync::OnceLock::new();
    }

    /// The item a `rust:` reference names: the exact crate path for `crate::a::B`, else the
    /// single item whose path ends with the reference (`B`, `a::B`).
    fn find(&self, reference: &[String]) -> Result<&RustItem, String> {
        let (exact, wanted) = match reference.split_first() {
            Some((first, rest)) if first == "crate" => (true, rest),
            _ => (false, reference),
        };
        let matches = |i: &&RustItem| {
            if exact {
                i.path == wanted
            } else {
                i.path.ends_with(wanted)
            }
        };
        // A match ends with the reference, so only the items with that suffix are looked at
        // (every item, for a reference without a segment). Segments are identifiers, so
        // joining them with `::` tells suffixes apart.
        let found: Vec<&RustItem> = if wanted.is_empty() {
            self.items.iter().filter(matches).collect()
        } else {
            let by_suffix = self.by_suffix.get_or_init(|| {
                let mut map: rustc_hash::FxHashMap<String, Vec<usize>> =
                    rustc_hash::FxHashMap::default();
                for (at, item) in self.items.iter().enumerate() {
                    for from in 0..item.path.len() {
                        map.entry(item.path[from..].join("::"))
                            .or_default()
                            .push(at);
                    }
                }
                map
            });
            by_suffix
                .get(&wanted.join("::"))
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|&at| &self.items[at])
                .filter(matches)
                .collect()
        };
        match found.as_slice() {
            [one] => Ok(one),
            [] => {
                let names: Vec<String> = self.items.iter().map(RustItem::display_path).collect();
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let last = wanted.last().map_or("", String::as_str);
                let by_name: Vec<&RustItem> = self
                    .items
                    .iter()
                    .filter(|i| i.path.last().is_some_and(|n| n == last))
                    .collect();
                Err(
                    match (by_name.as_slice(), suggest(&reference.join("::"), &refs)) {
                        ([one], _) => format!("did you mean `{}`?", one.display_path()),
                        (_, Some(s)) => format!("did you mean `{s}`?"),
                        _ if names.is_empty() => "the crate has no `#[blazes]` item".to_string(),
                        _ => format!("annotated items: {}", names.join(", ")),
                    },
                )
            }
            many => Err(format!(
                "several items match: {}; write the full path",
                many.iter()
                    .map(|i| format!("`{}`", i.display_path()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// A `rust:` reference parsed as a Rust path: its segments (generic arguments dropped).
pub(crate) fn parse_reference(text: &str) -> Result<Vec<String>, String> {
    let path: syn::Path = syn::parse_str(text.trim()).map_err(|e| e.to_string())?;
    Ok(path.segments.iter().map(|s| s.ident.to_string()).collect())
}

/// Loads a crate: `path` is the crate directory or its `Cargo.toml`.
pub fn load_crate(path: &str) -> Result<Topology, Vec<Diagnostic>> {
    let empty = SourceFile::new(path, "");
    let read_error = |message: String, help: Option<String>| {
        let mut d = Diagnostic::new(codes::READ_ERROR, &empty, message);
        d.help = help;
        vec![d]
    };
    let given = FsPath::new(path);
    let (dir, shown) = if given.file_name().is_some_and(|n| n == "Cargo.toml") {
        let parent = given.parent().unwrap_or(FsPath::new(""));
        (parent.to_path_buf(), display_dir(parent))
    } else {
        (given.to_path_buf(), display_dir(given))
    };
    let manifest = match read_text(&dir.join("Cargo.toml")) {
        Ok(t) => t,
        Err(e) => {
            return Err(read_error(
                format!("`{path}` is not a crate: cannot read its Cargo.toml: {e}"),
                Some("`blazes lint` takes topology files, crate directories or Cargo.toml".into()),
            ));
        }
    };
    let topology_rel = metadata_topology(&manifest).unwrap_or_else(|| TOPOLOGY_FILE.to_string());
    let yaml_path = dir.join(&topology_rel);
    let yaml = match read_text(&yaml_path) {
        Ok(t) => t,
        Err(e) => {
            return Err(read_error(
                format!("cannot read the topology `{shown}{topology_rel}` of the crate: {e}"),
                Some(format!(
                    "write the wiring in `{TOPOLOGY_FILE}` at the crate root (components name \
                     their Rust item with `rust: crate::module::Item`), or name the file in \
                     Cargo.toml: [package.metadata.blazes] topology = \"…\""
                )),
            ));
        }
    };
    let mut rs_files = Vec::new();
    collect_rs(&dir.join("src"), &mut rs_files);
    rs_files.sort();
    let mut files = vec![(format!("{shown}{topology_rel}"), yaml)];
    let mut modules = Vec::new();
    for file in &rs_files {
        let rel = file.strip_prefix(&dir).unwrap_or(file);
        let rel_shown = slashed(rel);
        match read_text(file) {
            Ok(text) => {
                files.push((format!("{shown}{rel_shown}"), text));
                modules.push(module_path(rel));
            }
            Err(e) => {
                return Err(read_error(
                    format!("cannot read `{shown}{rel_shown}`: {e}"),
                    None,
                ));
            }
        }
    }
    let source = SourceFile::bundle(files);
    let mut items = RustItems::default();
    let mut diags = Vec::new();
    for (i, module) in modules.iter().enumerate() {
        let base = source.file_start(i + 1);
        let range = source.file_range(base);
        let text = source.text.get(range).unwrap_or("");
        scan_file(&source, base, text, module, &mut items, &mut diags);
    }
    if !diags.is_empty() {
        crate::report::sort(&mut diags);
        return Err(diags);
    }
    super::yaml::load_source(source, Some(Arc::new(items)))
}

/// `dir/` as shown in diagnostics (empty for the current directory), with `/` separators.
fn display_dir(dir: &FsPath) -> String {
    let s = slashed(dir);
    if s.is_empty() || s == "." {
        String::new()
    } else {
        format!("{}/", s.trim_end_matches('/'))
    }
}

/// A path as diagnostics show it, its components separated by `/` on every platform: the root
/// is a leading `/` (not a component to join, which gave `//tmp/…` for an absolute path).
fn slashed(path: &FsPath) -> String {
    let mut out = String::new();
    for c in path.components() {
        match c {
            std::path::Component::RootDir => out.push('/'),
            std::path::Component::Prefix(p) => out.push_str(&p.as_os_str().to_string_lossy()),
            other => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&other.as_os_str().to_string_lossy());
            }
        }
    }
    out
}

/// Reads a UTF-8 file of at most the loader's size limit.
fn read_text(path: &FsPath) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, tree::MAX_BYTES as u64 + 1),
        &mut buf,
    )?;
    if buf.len() > tree::MAX_BYTES {
        return Err(std::io::Error::other("the file exceeds 256 MiB"));
    }
    String::from_utf8(buf).map_err(|_| std::io::Error::other("the file is not UTF-8 text"))
}

/// The `topology = "…"` entry of a `[package.metadata.blazes]` table, if the manifest has one.
/// Only this documented form is read (a table header line, then `topology = "path"`).
fn metadata_topology(manifest: &str) -> Option<String> {
    let mut in_table = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == "[package.metadata.blazes]";
            continue;
        }
        if !in_table {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "topology" {
            let value = value.trim();
            return value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string);
        }
    }
    None
}

/// Every `.rs` file under `dir`, without following symbolic links.
fn collect_rs(dir: &FsPath, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            collect_rs(&path, out);
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file relative to the crate root: `src/ops/mod.rs` → `ops`,
/// `src/lib.rs` → the crate root. Binaries (`src/bin/x.rs`, `src/bin/x/main.rs`) are roots too.
fn module_path(rel: &FsPath) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "src") {
        parts.remove(0);
    }
    if parts.first().is_some_and(|p| p == "bin") {
        parts.drain(..parts.len().min(2));
    }
    if parts.last().is_some_and(|p| p == "mod")
        || (parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main"))
    {
        parts.pop();
    }
    parts
}

/// Converts positions of `proc_macro2` spans (line, column in characters) to byte offsets.
struct Positions<'a> {
    text: &'a str,
    base: usize,
    line_starts: Vec<usize>,
}

impl Positions<'_> {
    fn offset(&self, at: proc_macro2::LineColumn) -> usize {
        let line = at.line.max(1) - 1;
        let start = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let rest = self.text.get(start..).unwrap_or("");
        let within = rest
            .char_indices()
            .nth(at.column)
            .map_or(rest.len(), |(i, _)| i);
        self.base + start + within
    }

    fn span(&self, start: proc_macro2::Span, end: proc_macro2::Span) -> Span {
        let a = self.offset(start.start());
        let b = self.offset(end.end()).max(a);
        Span::new(a, b - a)
    }

    fn one(&self, s: proc_macro2::Span) -> Span {
        self.span(s, s)
    }

    fn of<T>(&self, s: &blazes_attr::Spanned<T>) -> Span {
        self.span(s.start, s.end)
    }
}

/// Parses one source file and collects its annotated items (or its errors).
fn scan_file(
    source: &Arc<SourceFile>,
    base: usize,
    text: &str,
    module: &[String],
    items: &mut RustItems,
    diags: &mut Vec<Diagnostic>,
) {
    // syn strips a byte-order mark; strip it here too so that positions line up.
    let (text, base) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, base + '\u{feff}'.len_utf8()),
        None => (text, base),
    };
    let pos = Positions {
        text,
        base,
        line_starts: std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect(),
    };
    let file = match syn::parse_file(text) {
        Ok(f) => f,
        Err(e) => {
            for e in e {
                let span = pos.one(e.span());
                diags.push(
                    Diagnostic::new(
                        codes::RUST_SYNTAX,
                        source,
                        format!("this Rust source does not parse: {e}"),
                    )
                    .at(span, "")
                    .help("blazes reads the crate's sources without compiling them; fix the syntax (`cargo check` shows the same error)"),
                );
            }
            return;
        }
    };
    scan_items(source, &pos, &file.items, module, items, diags);
}

fn scan_items(
    source: &Arc<SourceFile>,
    pos: &Positions<'_>,
    list: &[syn::Item],
    module: &[String],
    items: &mut RustItems,
    diags: &mut Vec<Diagnostic>,
) {
    for item in list {
        let (attrs, ident) = match item {
            syn::Item::Fn(f) => (&f.attrs, &f.sig.ident),
            syn::Item::Struct(s) => (&s.attrs, &s.ident),
            syn::Item::Enum(e) => (&e.attrs, &e.ident),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let mut sub = module.to_vec();
                    sub.push(m.ident.to_string());
                    scan_items(source, pos, inner, &sub, items, diags);
                }
                continue;
            }
            _ => continue,
        };
        for attr in attrs.iter().filter(|a| is_blazes(a)) {
            let attr_span = pos.span(attr.pound_token.span, attr.bracket_token.span.close());
            let tokens = match &attr.meta {
                syn::Meta::Path(_) => proc_macro2::TokenStream::new(),
                syn::Meta::List(l) => l.tokens.clone(),
                syn::Meta::NameValue(_) => {
                    diags.push(
                        Diagnostic::new(
                            codes::BAD_ANNOTATION,
                            source,
                            "`#[blazes = …]` is not an annotation; write `#[blazes(…)]`",
                        )
                        .at(attr_span, ""),
                    );
                    continue;
                }
            };
            let parsed = match blazes_attr::parse(tokens, attr.pound_token.span) {
                Ok(p) => p,
                Err(e) => {
                    for e in e {
                        let span = pos.one(e.span());
                        let span = if span.is_empty() { attr_span } else { span };
                        diags.push(
                            Diagnostic::new(codes::BAD_ANNOTATION, source, e.to_string())
                                .at(span, "")
                                .help(
                                    "the compiler reports the same error when it builds the crate",
                                ),
                        );
                    }
                    continue;
                }
            };
            let mut path = module.to_vec();
            path.push(ident.to_string().trim_start_matches("r#").to_string());
            items.add(RustItem {
                path,
                name_span: pos.one(ident.span()),
                attr_span,
                attr: convert(pos, &parsed),
            });
        }
    }
}

/// `#[blazes(...)]` or `#[blazes_annotations::blazes(...)]`.
fn is_blazes(attr: &syn::Attribute) -> bool {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    matches!(
        segments
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["blazes"] | ["blazes_annotations", "blazes"]
    )
}

fn annotation(a: &blazes_attr::Ann) -> Annotation {
    let gate = || match &a.gate {
        blazes_attr::Gate::Any => Gate::Any,
        blazes_attr::Gate::Fields(f) => Gate::fields(f.iter().map(|s| s.value.clone())),
    };
    match a.kind {
        blazes_attr::Kind::CR => Annotation::CR,
        blazes_attr::Kind::CW => Annotation::CW,
        blazes_attr::Kind::OR => Annotation::OR(gate()),
        blazes_attr::Kind::OW => Annotation::OW(gate()),
    }
}

fn convert(pos: &Positions<'_>, a: &blazes_attr::Attr) -> ItemAttr {
    ItemAttr {
        label: a.label.as_ref().map(|l| (annotation(&l.value), pos.of(l))),
        paths: a
            .paths
            .iter()
            .map(|p| AttrPath {
                from: (p.value.from.value.clone(), pos.of(&p.value.from)),
                to: (p.value.to.value.clone(), pos.of(&p.value.to)),
                annotation: (annotation(&p.value.ann.value), pos.of(&p.value.ann)),
            })
            .collect(),
        replicated: a.replicated.as_ref().map(|r| pos.of(r)),
        seal: a.seal.as_ref().map(|s| {
            let fields: Vec<(String, Span)> = s
                .value
                .iter()
                .map(|f| (f.value.clone(), pos.of(f)))
                .collect();
            AttrSeal {
                key: SealKey::new(fields.iter().map(|f| f.0.clone())),
                fields,
                span: pos.of(s),
            }
        }),
        name: a.name.as_ref().map(|n| (n.value.clone(), pos.of(n))),
    }
}

/// What the YAML says about a component that names a Rust item.
pub(crate) struct YamlSide {
    /// The `rust:` reference, as text, and where it is written.
    pub reference: (String, Span),
    /// The component has `label:` or `paths:`.
    pub annotated: bool,
    /// `replicated:` as written (value and span), if it is.
    pub replicated: Option<(bool, Span)>,
}

/// Merges the attribute of the item a component names into the component (crate mode), or
/// checks the reference (topology file alone). Returns the diagnostics.
pub(crate) fn apply(
    source: &Arc<SourceFile>,
    items: Option<&RustItems>,
    yaml: &YamlSide,
    comp: &mut Component,
    implicit: &[String],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let (text, ref_span) = (&yaml.reference.0, yaml.reference.1);
    let error = |code, span, message: String| {
        Diagnostic::new(code, source, message)
            .at(span, "")
            .component(comp.name.clone())
    };
    let reference = match parse_reference(text) {
        Ok(r) => r,
        Err(e) => {
            out.push(
                error(
                    codes::RUST_SYNTAX,
                    ref_span,
                    format!("`{text}` is not a Rust path: {e}"),
                )
                .help("name the annotated item, as in `rust: crate::ops::Count`"),
            );
            return out;
        }
    };
    let Some(items) = items else {
        return out;
    };
    let item = match items.find(&reference) {
        Ok(item) => item,
        Err(help) => {
            out.push(
                error(
                    codes::DANGLING_REFERENCE,
                    ref_span,
                    format!("no `#[blazes]` item `{text}` in the crate"),
                )
                .help(help),
            );
            return out;
        }
    };
    let attr = &item.attr;
    let shown = item.display_path();

    // The attribute's paths, resolved against the component's interfaces.
    let mut from_attr: Vec<Path> = Vec::new();
    for p in &attr.paths {
        let input = interface(&mut out, source, comp, &p.from, true);
        let output = interface(&mut out, source, comp, &p.to, false);
        if let (Some(input), Some(output)) = (input, output) {
            from_attr.push(Path {
                input,
                output,
                annotation: Arc::new(p.annotation.0.clone()),
                span: p.annotation.1,
            });
        }
    }
    if let Some((a, span)) = &attr.label {
        let a = Arc::new(a.clone());
        for i in 0..comp.inputs.len() {
            for o in 0..comp.outputs.len() {
                if !from_attr.iter().any(|p| p.input == i && p.output == o) {
                    from_attr.push(Path {
                        input: i,
                        output: o,
                        annotation: Arc::clone(&a),
                        span: *span,
                    });
                }
            }
        }
    }

    // Paths: the YAML's where it annotates, the attribute's elsewhere; disagreement is an error.
    if yaml.annotated {
        let mut added = Vec::new();
        for p in from_attr {
            match comp
                .paths
                .iter()
                .find(|q| q.input == p.input && q.output == p.output)
            {
                Some(q) if q.annotation != p.annotation => {
                    let (ours, theirs) = (written(source, &p), written(source, q));
                    let mut d = error(
                        codes::ANNOTATION_CONFLICT,
                        p.span,
                        format!(
                            "`#[blazes]` on `{shown}` says {ours} for `{}` -> `{}`, the topology \
                             says {theirs}",
                            comp.inputs[p.input].name, comp.outputs[p.output].name,
                        ),
                    )
                    .also(q.span, format!("the topology says {theirs} here"))
                    .help(
                        "keep the annotation in one place: remove `label:`/`paths:` from the \
                         topology (the attribute is checked by the compiler), or fix the one \
                         that is wrong",
                    );
                    if let Some(m) = d.primary.as_mut() {
                        m.text = format!("the attribute says {ours}");
                    }
                    if !out.iter().any(|x: &Diagnostic| {
                        x.primary.as_ref().map(|m| m.span) == Some(p.span)
                            && x.code == codes::ANNOTATION_CONFLICT
                    }) {
                        out.push(d);
                    }
                }
                Some(_) => {}
                None => added.push(p),
            }
        }
        if !added.is_empty() {
            comp.paths = comp.paths.iter().cloned().chain(added).collect();
        }
    } else {
        comp.paths = from_attr.into_boxed_slice();
    }
    comp.paths.sort_by_key(|p| (p.output, p.input));

    if let Some(span) = attr.replicated {
        match yaml.replicated {
            Some((false, yspan)) => out.push(
                error(
                    codes::ANNOTATION_CONFLICT,
                    span,
                    format!(
                        "`#[blazes]` on `{shown}` says `replicated`, the topology says \
                         `replicated: false`"
                    ),
                )
                .also(yspan, "the topology says not replicated here")
                .help("remove `replicated:` from the topology, or `replicated` from the attribute"),
            ),
            _ => comp.replicated = true,
        }
    }

    if let Some(AttrSeal { key, fields, span }) = &attr.seal {
        for o in &mut comp.outputs {
            match o.seal.as_deref() {
                Some((k, yspan)) if k != key => out.push(
                    error(
                        codes::ANNOTATION_CONFLICT,
                        *span,
                        format!(
                            "`#[blazes]` on `{shown}` seals `{}.{}` on ({key}), the topology on ({k})",
                            comp.name, o.name
                        ),
                    )
                    .also(*yspan, format!("the topology says seal ({k}) here"))
                    .help("keep the seal in one place: remove `seal:` from the topology output"),
                ),
                Some(_) => {}
                None => {
                    let unknown = o.fields.as_ref().and_then(|declared| {
                        let known = crate::model::FieldSet::new(declared, implicit, fields.len());
                        fields
                            .iter()
                            .find(|(f, _)| !known.contains(f))
                            .map(|f| (f, declared))
                    });
                    if let Some(((f, fspan), declared)) = unknown {
                        let names: Vec<&str> = declared.iter().map(String::as_str).collect();
                        out.push(
                            error(
                                codes::UNKNOWN_SEAL_FIELD,
                                *fspan,
                                format!("seal key `{f}` is not a field of `{}.{}`", comp.name, o.name),
                            )
                            .help(match suggest(f, &names) {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => format!("declared fields: {}", declared.join(", ")),
                            }),
                        );
                    } else {
                        o.seal = Some(Box::new((key.clone(), *span)));
                    }
                }
            }
        }
    }

    if !comp.inputs.is_empty() && comp.paths.is_empty() {
        out.push(
            error(
                codes::MISSING_ANNOTATION,
                item.attr_span,
                format!(
                    "`{}` has inputs, but `#[blazes]` on `{shown}` annotates none of its paths",
                    comp.name
                ),
            )
            .also(ref_span, "the component names the item here")
            .help("add CR, CW, OR(gate) or OW(gate) to the attribute, or `path(in -> out, ANN)`"),
        );
    }
    out
}

/// A path's annotation as written at its span (`OW(word, batch)` keeps its field order), or its
/// canonical form when the text there is not exactly it (a structured YAML label).
fn written(source: &SourceFile, path: &Path) -> String {
    source
        .text
        .get(path.span.offset()..path.span.end())
        .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\''))
        .filter(|s| Annotation::parse(s).as_ref() == Ok(&path.annotation))
        .map_or_else(|| path.annotation.to_string(), str::to_string)
}

/// Resolves an interface named in an attribute's `path(…)`.
fn interface(
    out: &mut Vec<Diagnostic>,
    source: &Arc<SourceFile>,
    comp: &Component,
    name: &(String, Span),
    input: bool,
) -> Option<usize> {
    let names: Vec<&str> = if input {
        comp.inputs.iter().map(|i| i.name.as_str()).collect()
    } else {
        comp.outputs.iter().map(|o| o.name.as_str()).collect()
    };
    if let Some(i) = names.iter().position(|n| *n == name.0) {
        return Some(i);
    }
    let side = if input { "input" } else { "output" };
    out.push(
        Diagnostic::new(
            codes::UNKNOWN_INTERFACE,
            source,
            format!("`{}` has no {side} named `{}`", comp.name, name.0),
        )
        .at(name.1, "")
        .component(comp.name.clone())
        .help(match suggest(&name.0, &names) {
            Some(s) => format!("did you mean `{s}`?"),
            None if names.is_empty() => format!("`{}` has no {side}s", comp.name),
            None => format!("{side}s of `{}`: {}", comp.name, names.join(", ")),
        }),
    );
    None
}

/// Components of a topology file (read alone) that name the same Rust item but give it
/// different `label:`s: one item cannot be annotated two ways.
pub(crate) fn same_item_conflicts(
    source: &Arc<SourceFile>,
    refs: &[(Vec<String>, String, Annotation, Span)],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Per item path, the first reference of each distinct label, in order: the first earlier
    // reference labelling the item differently is the first of these with another label.
    let mut firsts: rustc_hash::FxHashMap<&[String], Vec<usize>> = rustc_hash::FxHashMap::default();
    for (i, (path, comp, a, span)) in refs.iter().enumerate() {
        let seen = firsts.entry(path.as_slice()).or_default();
        let earlier = seen.iter().map(|&j| &refs[j]).find(|(_, _, b, _)| b != a);
        if !seen.iter().any(|&j| refs[j].2 == *a) {
            seen.push(i);
        }
        if let Some((_, first_comp, first, first_span)) = earlier {
            out.push(
                Diagnostic::new(
                    codes::ANNOTATION_CONFLICT,
                    source,
                    format!(
                        "`{comp}` and `{first_comp}` name the same Rust item `{}` but \
                         annotate it {a} and {first}",
                        path.join("::")
                    ),
                )
                .at(*span, format!("{a} here"))
                .also(*first_span, format!("{first} here"))
                .component(comp.clone())
                .help(
                    "one item has one annotation: put it in `#[blazes(...)]` on the item and \
                     drop `label:` here, or name different items",
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn paths_are_shown_with_one_slash_between_components() {
        use std::path::Path;
        let shown = |p: &str| (slashed(Path::new(p)), display_dir(Path::new(p)));
        assert_eq!(shown("/tmp/c"), ("/tmp/c".into(), "/tmp/c/".into()));
        assert_eq!(shown("/tmp/c/"), ("/tmp/c".into(), "/tmp/c/".into()));
        assert_eq!(
            shown("examples/c"),
            ("examples/c".into(), "examples/c/".into())
        );
        assert_eq!(shown("/"), ("/".into(), "/".into()));
        assert_eq!(shown("."), (".".into(), String::new()));
        assert_eq!(shown(""), (String::new(), String::new()));
        assert_eq!(shown("./a//b"), ("./a/b".into(), "./a/b/".into()));
    }

    #[test]
    fn a_bundle_resolves_each_span_to_its_file() {
        let source = SourceFile::bundle(vec![
            ("t.yaml".into(), "a: 1\nb: 2".into()),
            ("src/x.rs".into(), "fn f() {}\n// é\nstruct S;\n".into()),
            ("src/y.rs".into(), String::new()),
        ]);
        let x = source.file_start(1);
        assert_eq!(&source.text[x..x + 2], "fn");
        assert_eq!(source.file_name(0), "t.yaml");
        assert_eq!(source.line_col(6), (2, 2));
        assert_eq!(source.file_name(x), "src/x.rs");
        assert_eq!(source.line_col(x), (1, 1));
        let s = x + "fn f() {}\n// é\n".len();
        assert_eq!(source.line_col(s + 7), (3, 8));
        assert_eq!(source.file_range(s), x..source.file_start(2) - 1);
        assert_eq!(source.file_name(source.file_start(2)), "src/y.rs");
        assert_eq!(source.name, "t.yaml");
        // A single file is its own only part.
        let single = SourceFile::new("one.yaml", "x\ny");
        assert_eq!(single.file_name(2), "one.yaml");
        assert_eq!(single.file_range(2), 0..3);
        assert_eq!(single.line_col(2), (2, 1));
    }

    #[test]
    fn module_paths() {
        let m = |p: &str| module_path(FsPath::new(p)).join("::");
        assert_eq!(m("src/lib.rs"), "");
        assert_eq!(m("src/main.rs"), "");
        assert_eq!(m("src/ops.rs"), "ops");
        assert_eq!(m("src/ops/mod.rs"), "ops");
        assert_eq!(m("src/ops/count.rs"), "ops::count");
        assert_eq!(m("src/bin/tool.rs"), "");
        assert_eq!(m("src/bin/tool/main.rs"), "");
    }

    #[test]
    fn each_conflicting_reference_names_the_first_one_labelled_otherwise() {
        let ann = |a: &str| {
            a.parse::<Annotation>()
                .unwrap_or_else(|e| panic!("{a}: {e:?}"))
        };
        let r = |path: &str, comp: &str, a: &str| {
            let path = path.split("::").map(String::from).collect();
            (path, comp.to_string(), ann(a), Span::new(0, 0))
        };
        let refs = [
            r("ops::P", "a", "CR"),
            r("ops::P", "b", "CR"),
            r("ops::P", "c", "CW"),
            r("ops::Q", "d", "OW(id)"),
            r("ops::P", "e", "OW(id)"),
            r("ops::P", "f", "CR"),
            r("ops::Q", "g", "OW(id)"),
        ];
        let source = SourceFile::new("t.yaml", "");
        let pairs: Vec<(String, String)> = same_item_conflicts(&source, &refs)
            .iter()
            .map(|d| {
                let named: Vec<&str> = d.message.split('`').skip(1).step_by(2).collect();
                (named[0].to_string(), named[1].to_string())
            })
            .collect();
        let expected = [("c", "a"), ("e", "a"), ("f", "c")];
        assert_eq!(pairs, expected.map(|(x, y)| (x.to_string(), y.to_string())));
    }

    #[test]
    fn metadata_entry() {
        let toml =
            "[package]\nname = \"x\"\n\n[package.metadata.blazes]\ntopology = \"t/prod.yaml\"\n";
        assert_eq!(metadata_topology(toml).as_deref(), Some("t/prod.yaml"));
        assert_eq!(metadata_topology("[package]\ntopology = \"no\"\n"), None);
    }

    #[test]
    fn scans_attributes_with_exact_spans() {
        let rs = "//! ops\nuse blazes_annotations::blazes;\n\n#[blazes(OW(word, batch))]\npub struct Count;\n\nmod inner {\n    #[blazes_annotations::blazes(CR, replicated)]\n    fn split() {}\n}\n";
        let source = SourceFile::bundle(vec![
            ("t.yaml".into(), "components: {}\n".into()),
            ("src/ops.rs".into(), rs.into()),
        ]);
        let base = source.file_start(1);
        let mut items = RustItems::default();
        let mut diags = Vec::new();
        scan_file(&source, base, rs, &["ops".into()], &mut items, &mut diags);
        assert!(diags.is_empty());
        assert_eq!(items.items.len(), 2);
        let count = &items.items[0];
        assert_eq!(count.display_path(), "crate::ops::Count");
        let (a, span) = count.attr.label.clone().unwrap();
        assert_eq!(a.to_string(), "OW(batch, word)");
        assert_eq!(&source.text[span.offset()..span.end()], "OW(word, batch)");
        assert_eq!(source.file_name(span.offset()), "src/ops.rs");
        assert_eq!(source.line_col(span.offset()), (4, 10));
        let split = &items.items[1];
        assert_eq!(split.path, ["ops", "inner", "split"]);
        assert!(split.attr.replicated.is_some());
        assert!(items.find(&["Count".into()]).is_ok());
        assert!(items.find(&["crate".into(), "Count".into()]).is_err());
        assert!(items.find(&["inner".into(), "split".into()]).is_ok());
        // An item added after a lookup is found too; a suffix shared by two items is
        // ambiguous, and their paths tell them apart.
        let other = "#[blazes(CW)]\nfn split() {}\n";
        scan_file(&source, base, other, &["io".into()], &mut items, &mut diags);
        assert_eq!(items.items.len(), 3, "{diags:?}");
        let split = ["split".to_string()];
        let ambiguous = items.find(&split).map(RustItem::display_path);
        assert!(
            ambiguous
                .as_ref()
                .is_err_and(|e| e.starts_with("several items match")),
            "{ambiguous:?}"
        );
        let full = ["crate".to_string(), "io".into(), "split".into()];
        assert_eq!(
            items.find(&full).map(RustItem::display_path),
            Ok("crate::io::split".to_string())
        );
    }

    #[test]
    fn syntax_and_attribute_errors_are_located() {
        let rs = "#[blazes(CX)]\nstruct A;\n";
        let source = SourceFile::bundle(vec![("a.rs".into(), rs.into())]);
        let mut items = RustItems::default();
        let mut diags = Vec::new();
        scan_file(&source, 0, rs, &[], &mut items, &mut diags);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, codes::BAD_ANNOTATION);
        assert!(diags[0].message.contains("did you mean `CR`?"));
        assert_eq!(diags[0].line_col(), (1, 10));
        let rs = "fn main( {}\n";
        let mut diags = Vec::new();
        scan_file(&source, 0, rs, &[], &mut items, &mut diags);
        assert_eq!(diags[0].code, codes::RUST_SYNTAX);
    }
}
