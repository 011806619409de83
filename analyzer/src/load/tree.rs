//! A YAML document as a tree of spanned nodes, read with serde-saphyr under resource budgets.
//!
//! The topology loader validates this tree by hand rather than through `#[derive(Deserialize)]`,
//! so that every error (unknown key, wrong type, bad reference) can point at the exact node and
//! suggest a fix, and so that several errors are reported in one run.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::model::Span;

/// Largest file the loader accepts, in bytes.
pub const MAX_BYTES: usize = 256 * 1024 * 1024;
/// Deepest nesting of collections accepted.
pub const MAX_DEPTH: usize = 64;

/// A YAML value; its strings borrow from the text they were read from whenever they can.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Any other scalar.
    Str(Cow<'a, str>),
    /// A sequence.
    Seq(Vec<Node<'a>>),
    /// A mapping, in file order.
    Map(Vec<(Node<'a>, Node<'a>)>),
}

/// A value with the span where it is written.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    /// The value.
    pub value: Value<'a>,
    /// Where it is written.
    pub span: Span,
}

impl<'a> Node<'a> {
    /// A null node at `span`.
    pub fn null(span: Span) -> Node<'a> {
        Node {
            value: Value::Null,
            span,
        }
    }

    /// The same tree owning all its strings, free of the text it was read from.
    pub fn into_owned(self) -> Node<'static> {
        let value = match self.value {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Seq(items) => Value::Seq(items.into_iter().map(Node::into_owned).collect()),
            Value::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ),
        };
        Node {
            value,
            span: self.span,
        }
    }

    /// The scalar text of a string node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short name for the kind of value, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML error with the span where it happened.
#[derive(Debug)]
pub struct ParseFailure {
    /// The parser's message.
    pub message: String,
    /// Where (may be empty when the parser gave no location).
    pub span: Span,
    /// True when a resource budget, not the syntax, stopped the parse.
    pub budget: bool,
}

/// Parses YAML text into a node tree: with the fast parser of [`super::fast`] when the text
/// lies in its subset, else with serde-saphyr (which also locates every error).
pub fn parse(text: &str) -> Result<Node<'_>, ParseFailure> {
    parse_with(text, true)
}

/// Like [`parse`], but always with serde-saphyr, never the fast path: the reference that the
/// fast parser is tested against.
pub fn parse_full(text: &str) -> Result<Node<'_>, ParseFailure> {
    parse_with(text, false)
}

fn parse_with(text: &str, fast: bool) -> Result<Node<'_>, ParseFailure> {
    if text.len() > MAX_BYTES {
        return Err(ParseFailure {
            message: format!(
                "the file is {} bytes; the limit is {MAX_BYTES} bytes",
                text.len()
            ),
            span: Span::new(0, 0),
            budget: true,
        });
    }
    if text.trim().is_empty() {
        return Ok(Node {
            value: Value::Null,
            span: Span::new(0, 0),
        });
    }
    if fast && let Some(root) = super::fast::parse(text) {
        return Ok(root);
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    // Repeated keys reach the loader, which reports them as duplicate names at both places.
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    // Topologies rarely use aliases: a small replay budget refuses alias bombs quickly.
    options.alias_limits.max_total_replayed_events = 20_000;
    let mut budget = serde_saphyr::Budget::default();
    // Budgets grow with the input, so large generated topologies load, while alias bombs
    // (small text, huge expansion) stay bounded by the alias limits.
    budget.max_events = budget.max_events.max(text.len() / 2);
    budget.max_nodes = budget.max_nodes.max(text.len() / 2);
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(text.len());
    budget.max_depth = MAX_DEPTH;
    budget.max_documents = 1;
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<Spanned<Value<'static>>>(text, options)
        .map(|root| {
            let mut root = pending(root);
            cover_children(&mut root, text);
            root
        })
        .map_err(|e| failure(&e, text))
}

/// The parser locates a collection at its first character only; widen each collection's span to
/// its last child (and a closing `]`/`}` right after it), so that diagnostics underline it all.
fn cover_children(node: &mut Node, text: &str) {
    let mut end = node.span.end();
    match &mut node.value {
        Value::Seq(items) => {
            for item in items.iter_mut() {
                cover_children(item, text);
                end = end.max(item.span.end());
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                cover_children(k, text);
                cover_children(v, text);
                end = end.max(v.span.end()).max(k.span.end());
            }
        }
        _ => return,
    }
    let bytes = text.as_bytes();
    if bytes
        .get(node.span.offset())
        .is_some_and(|b| matches!(b, b'[' | b'{'))
    {
        let close = if bytes[node.span.offset()] == b'[' {
            b']'
        } else {
            b'}'
        };
        let mut i = end;
        while bytes.get(i).is_some_and(|b| *b == b' ') {
            i += 1;
        }
        if bytes.get(i) == Some(&close) {
            end = i + 1;
        }
    }
    node.span = Span::new(node.span.offset(), end.saturating_sub(node.span.offset()));
}

fn failure(e: &serde_saphyr::Error, text: &str) -> ParseFailure {
    let mut inner = e.without_snippet();
    let span = inner
        .location()
        .map_or(Span::new(text.len(), 0), |l| location_span(&l, text));
    #[allow(deprecated)] // `msg` is deprecated; only `error` is read here
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = inner
    {
        inner = error;
    }
    if let serde_saphyr::Error::Budget { breach, .. } = inner {
        return ParseFailure {
            message: budget_message(breach),
            span,
            budget: !matches!(breach, serde_saphyr::budget::BudgetBreach::Documents { .. }),
        };
    }
    if matches!(
        inner,
        serde_saphyr::Error::AliasReplayLimitExceeded { .. }
            | serde_saphyr::Error::AliasReplayCounterOverflow { .. }
            | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
            | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
    ) {
        return ParseFailure {
            message: "aliases expand to too much data (a \"billion laughs\"); expand them by hand \
                      if the file is genuine"
                .to_string(),
            span,
            budget: true,
        };
    }
    let mut message = inner.to_string();
    // The parser appends its own position; ours is shown by the span.
    if let Some(idx) = message.find(" at line ") {
        message.truncate(idx);
    }
    ParseFailure {
        message,
        span,
        budget: false,
    }
}

/// A readable message for each resource budget.
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Depth { .. } => format!("the file nests deeper than {MAX_DEPTH} levels"),
        B::Documents { .. } => {
            "the file holds several YAML documents; a topology is one document (remove `---`)"
                .to_string()
        }
        B::Nodes { .. } | B::Events { .. } => {
            "the file expands to too many YAML nodes (alias expansion, a \"billion laughs\")"
                .to_string()
        }
        B::Aliases { .. } | B::Anchors { .. } | B::MergeKeys { .. } => {
            "the file uses too many anchors, aliases or merge keys".to_string()
        }
        B::ScalarBytes { .. } => "the file's text values exceed the size budget".to_string(),
        other => format!("the file exceeds a parser budget ({other:?})"),
    }
}

fn location_span(l: &serde_saphyr::Location, text: &str) -> Span {
    let s = l.span();
    match (s.byte_offset(), s.byte_len()) {
        (Some(o), Some(len)) => {
            let o = usize::try_from(o).unwrap_or(text.len()).min(text.len());
            let len = usize::try_from(len).unwrap_or(0).min(text.len() - o);
            Span::new(o, len)
        }
        _ => line_col_span(text, l.line(), l.column()),
    }
}

fn line_col_span(text: &str, line: u64, column: u64) -> Span {
    let line = usize::try_from(line).unwrap_or(usize::MAX).max(1);
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col = usize::try_from(column).unwrap_or(0).saturating_sub(1);
            let within = l.char_indices().nth(col).map_or(l.len(), |(b, _)| b);
            return Span::new(offset + within, 0);
        }
        offset += l.len();
    }
    Span::new(text.len(), 0)
}

struct ValueVisitor;

impl<'de> Deserialize<'de> for Value<'static> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// A child node as serde-saphyr hands it over, with its location.
#[derive(Debug, Clone)]
struct RawNode(Spanned<Value<'static>>);

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::<Value>::deserialize(d).map(RawNode)
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'static>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value<'static>, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value<'static>, E> {
        Ok(Value::Int(v))
    }
    // Integers beyond 64 bits (no topology value comes near them) are kept as numbers.
    fn visit_u64<E>(self, v: u64) -> Result<Value<'static>, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value<'static>, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value<'static>, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value<'static>, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value<'static>, E> {
        Ok(Value::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Value<'static>, E> {
        Ok(Value::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Value<'static>, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value<'static>, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value<'static>, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'static>, A::Error> {
        let mut items = Vec::new();
        while let Some(RawNode(item)) = seq.next_element::<RawNode>()? {
            items.push(pending(item));
        }
        // Vectors grow to at least 4 elements: shrinking them halves the tree of a large file of
        // small flow mappings.
        items.shrink_to_fit();
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'static>, A::Error> {
        let mut entries = Vec::new();
        while let Some(RawNode(k)) = map.next_key::<RawNode>()? {
            let RawNode(v) = map.next_value::<RawNode>()?;
            entries.push((pending(k), pending(v)));
        }
        entries.shrink_to_fit();
        Ok(Value::Map(entries))
    }
}

/// Converts a located value into a node; parsing from a `&str` always yields byte offsets.
fn pending(s: Spanned<Value<'static>>) -> Node<'static> {
    let span = s.referenced.span();
    let to_usize = |v: Option<u64>| v.and_then(|v| usize::try_from(v).ok()).unwrap_or(0);
    Node {
        span: Span::new(to_usize(span.byte_offset()), to_usize(span.byte_len())),
        value: s.value,
    }
}
