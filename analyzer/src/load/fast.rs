//! A fast parser for the subset of YAML that topology files are written in.
//!
//! [`super::tree::parse`] tries this parser first and falls back to serde-saphyr when it gives
//! up. Its contract is strict: when [`parse`] returns a tree, that tree is exactly the one the
//! serde-saphyr path builds, every value and every span; on anything it does not know for sure
//! it returns `None`, and never reports an error itself.
//!
//! The subset: block mappings and sequences by indentation (also `- key: v` compact mappings
//! and sequences at the indentation of their parent key), single-line flow mappings and
//! sequences nested in any way, single-line plain, single-quoted and double-quoted scalars (a
//! few simple escapes), comments, blank lines and `\r\n` line breaks. Plain scalars resolve
//! only in the forms whose reading is known: the null words, the YAML 1.1 booleans, short
//! decimal integers, and text that cannot be a number; anything that may be a number in another
//! spelling (`007`, `1.5`, `0x1F`, `+1`, `.inf`) goes to the full parser.
//!
//! Span conventions, the ones serde-saphyr and `cover_children` give:
//!
//! - a scalar covers its text, quotes included, trailing spaces excluded;
//! - an omitted mapping value is a null at the `:` (length 0); an omitted sequence item is a
//!   null at the end of the `-` line, after any trailing spaces and comment;
//! - a block mapping starts at its first key, a block sequence at its first `-`, except a
//!   sequence at the indentation of its parent key, which starts where its first item starts
//!   (or, when that item is not on the `-` line, at the end of that line); a flow collection
//!   starts at its bracket;
//! - a collection then extends to the end of its last child, and past a `]`/`}` that follows
//!   it after spaces (so `{ a: }` covers `{ a`, as the full path gives).

use super::tree::{MAX_DEPTH, Node, Value};
use crate::model::Span;
use std::borrow::Cow;

/// Deepest nesting of collections built here; deeper documents go to the full parser, which
/// enforces its depth budget (and the margin keeps the two from ever disagreeing at the edge).
const DEPTH_LIMIT: usize = MAX_DEPTH - 8;

/// Longest implicit key accepted, from its first byte to its `:`; YAML parsers look at most
/// 1024 characters ahead for a simple key.
const KEY_LIMIT: usize = 1000;

/// Parses `text` if it lies in the fast subset, giving exactly the tree `tree::parse` gives;
/// `None` when it does not (the caller then uses the full parser).
pub fn parse(text: &str) -> Option<Node<'_>> {
    run(text, None).map(|(root, _)| root)
}

/// Receives the entries of a streamed mapping, one at a time: the root entries before the
/// streamed key, then the key and the value of the entry.
pub type Sink<'a, 's> = dyn FnMut(&[(Node<'a>, Node<'a>)], Node<'a>, Node<'a>) + 's;

/// Like [`parse`], but the entries of the root mapping's first `key` are handed to `sink` as
/// they are parsed instead of being kept, when its value is a block mapping: so a large mapping
/// never exists as a whole tree. In the tree returned that value is an empty mapping (with the
/// span the whole one has), and the index of its entry in the root comes with the tree (`None`
/// when nothing was streamed). When this returns `None`, entries may already have been handed
/// over: the caller discards what it built from them.
pub fn parse_streaming<'a, 's>(
    text: &'a str,
    key: &'s str,
    sink: &'s mut Sink<'a, 's>,
) -> Option<(Node<'a>, Option<usize>)> {
    run(text, Some((key, sink)))
}

fn run<'a, 's>(
    text: &'a str,
    stream: Option<(&'s str, &'s mut Sink<'a, 's>)>,
) -> Option<(Node<'a>, Option<usize>)> {
    if !printable(text) {
        return None;
    }
    let mut p = Parser {
        stream,
        streamed: None,
        text,
        b: text.as_bytes(),
        pos: 0,
        line_start: 0,
        depth: 0,
        nodes: 0,
        events: 0,
        items: Vec::new(),
        entries: Vec::new(),
    };
    if !p.start_line() {
        p.next_line();
    }
    // Only comments: let the full parser decide what such a document is.
    let indent = p.indent()?;
    let root = match p.peek() {
        b'[' | b'{' => {
            let node = p.flow()?;
            p.end_line()?;
            p.next_line();
            node
        }
        _ if p.at_dash() => p.block_seq(indent, false)?,
        _ => p.block_map(indent, None)?,
    };
    if p.pos < p.b.len() || !p.within_budget() {
        return None;
    }
    Some((root, p.streamed))
}

/// True when the text holds only characters the fast path takes as they are: no control
/// characters but line feeds (a carriage return only before a line feed), so no tabs either,
/// and no non-ASCII white space, control or special characters (byte order marks, line
/// separators, non-characters), whose treatment is left to the full parser.
fn printable(text: &str) -> bool {
    let b = text.as_bytes();
    let mut high = false;
    for (n, chunk) in b.chunks(64).enumerate() {
        let mut odd = false;
        for &c in chunk {
            odd |= (c < 0x20 && c != b'\n') | (c == 0x7f);
            high |= c >= 0x80;
        }
        if odd {
            for (i, &c) in chunk.iter().enumerate() {
                let ok = c == b'\n'
                    || (c >= 0x20 && c != 0x7f)
                    || (c == b'\r' && b.get(n * 64 + i + 1) == Some(&b'\n'));
                if !ok {
                    return false;
                }
            }
        }
    }
    !high
        || text.chars().all(|c| {
            c.is_ascii()
                || !(c.is_whitespace()
                    || c.is_control()
                    || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}'))
        })
}

/// [`CLASS`] bit of the bytes that may end a plain scalar in block context.
const STOP_BLOCK: u8 = 1;
/// [`CLASS`] bit of the bytes that may end a plain scalar in flow context.
const STOP_FLOW: u8 = 2;

/// For each byte, whether it may end a plain scalar ([`STOP_BLOCK`], [`STOP_FLOW`]): line
/// breaks, spaces (before a comment), `:` (before a space) and, in flow context, the flow
/// indicators. NUL is included: it stands for the end of the text.
const CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let both = STOP_BLOCK | STOP_FLOW;
    class[0] = both;
    class[b'\n' as usize] = both;
    class[b'\r' as usize] = both;
    class[b' ' as usize] = both;
    class[b':' as usize] = both;
    class[b',' as usize] = STOP_FLOW;
    class[b'[' as usize] = STOP_FLOW;
    class[b']' as usize] = STOP_FLOW;
    class[b'{' as usize] = STOP_FLOW;
    class[b'}' as usize] = STOP_FLOW;
    class
};

/// True for the bytes that end a line's content: line breaks and the end of the text (a NUL,
/// which [`printable`] keeps out of the text, stands for it).
fn is_eol(c: u8) -> bool {
    matches!(c, b'\n' | b'\r' | 0)
}

/// True for the bytes after which `-` and `:` are indicators in block context.
fn is_blank(c: u8) -> bool {
    c == b' ' || is_eol(c)
}

/// True for the flow indicators, which end a plain scalar in flow context.
fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

/// The parser's state: a position in the text, the start of its line, and counters for the
/// budgets of the full parser.
struct Parser<'a, 's> {
    /// The root key whose entries go to the sink instead of the tree, and the sink.
    stream: Option<(&'s str, &'s mut Sink<'a, 's>)>,
    /// Index in the root mapping of the streamed entry, once streamed.
    streamed: Option<usize>,
    /// The text.
    text: &'a str,
    /// The text's bytes.
    b: &'a [u8],
    /// The current position.
    pos: usize,
    /// Where the current line starts.
    line_start: usize,
    /// Collections open around the current position.
    depth: usize,
    /// Nodes built, as the full parser counts them.
    nodes: usize,
    /// Parser events, as the full parser counts them (without the few per document).
    events: usize,
    /// Items of the flow sequences being built, innermost last (block collections, which may
    /// be long, grow their own vectors).
    items: Vec<Node<'a>>,
    /// Entries of the flow mappings being built, innermost last.
    entries: Vec<(Node<'a>, Node<'a>)>,
}

impl<'a> Parser<'a, '_> {
    /// The byte at `i`, 0 past the end.
    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    /// The current byte, 0 at the end.
    fn peek(&self) -> u8 {
        self.at(self.pos)
    }

    /// True at a sequence entry indicator (`-` then a space or the end of the line).
    fn at_dash(&self) -> bool {
        self.peek() == b'-' && is_blank(self.at(self.pos + 1))
    }

    /// The indentation of the current line's content, or `None` at the end of the text.
    fn indent(&self) -> Option<usize> {
        (self.pos < self.b.len()).then(|| self.pos - self.line_start)
    }

    /// Skips spaces.
    fn skip_spaces(&mut self) {
        while self.peek() == b' ' {
            self.pos += 1;
        }
    }

    /// Skips a comment up to the end of its line.
    fn skip_comment(&mut self) {
        while !is_eol(self.peek()) {
            self.pos += 1;
        }
    }

    /// At a line start: skips the indentation; true when content (or the end of the text)
    /// follows, false at the end of a blank or comment-only line.
    fn start_line(&mut self) -> bool {
        self.line_start = self.pos;
        self.skip_spaces();
        match self.peek() {
            b'#' => {
                self.skip_comment();
                false
            }
            b'\n' | b'\r' => false,
            _ => true,
        }
    }

    /// From the end of a line's content, moves to the content of the next line that has some
    /// (or to the end of the text).
    fn next_line(&mut self) {
        loop {
            match self.peek() {
                b'\n' => self.pos += 1,
                b'\r' => self.pos += 2,
                _ => return,
            }
            if self.start_line() {
                return;
            }
        }
    }

    /// After a line's last node: allows spaces and a comment, and stops at the line break.
    fn end_line(&mut self) -> Option<()> {
        self.skip_spaces();
        match self.peek() {
            b'#' if self.pos > 0 && self.at(self.pos - 1) == b' ' => {
                self.skip_comment();
                Some(())
            }
            c if is_eol(c) => Some(()),
            _ => None,
        }
    }

    /// Opens a collection, refusing to nest deeper than [`DEPTH_LIMIT`].
    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= DEPTH_LIMIT).then_some(())
    }

    /// A node, counted for the budgets.
    fn node(&mut self, value: Value<'a>, offset: usize, len: usize) -> Node<'a> {
        self.nodes += 1;
        self.events += 1;
        Node {
            value,
            span: Span::new(offset, len),
        }
    }

    /// A null for an omitted value, at `offset`.
    fn null(&mut self, offset: usize) -> Node<'a> {
        self.node(Value::Null, offset, 0)
    }

    /// Closes a collection that starts at `offset` (with the length the full parser gives it
    /// before `cover_children`): it covers its children and a closing bracket right after them.
    fn collection(&mut self, value: Value<'a>, offset: usize, len: usize) -> Node<'a> {
        // Children follow one another in the text, so the last one ends last.
        let last = match &value {
            Value::Seq(items) => items.last().map(|item| item.span),
            Value::Map(entries) => entries.last().map(|(_, v)| v.span),
            _ => None,
        };
        self.close(value, offset, len, last)
    }

    /// Closes a collection whose last child (if any) is at `last`; see [`Parser::collection`].
    fn close(
        &mut self,
        value: Value<'a>,
        offset: usize,
        len: usize,
        last: Option<Span>,
    ) -> Node<'a> {
        self.depth -= 1;
        // The end event (`node` counts the start).
        self.events += 1;
        let mut end = last.map_or(0, |s| s.end()).max(offset + len);
        let close = match self.at(offset) {
            b'[' => Some(b']'),
            b'{' => Some(b'}'),
            _ => None,
        };
        if let Some(close) = close {
            let mut i = end;
            while self.at(i) == b' ' {
                i += 1;
            }
            if self.at(i) == close {
                end = i + 1;
            }
        }
        self.node(value, offset, end.saturating_sub(offset))
    }

    /// True when the full parser's budgets (which grow with the text) hold this document.
    fn within_budget(&self) -> bool {
        let budget = serde_saphyr::Budget::default();
        let half = self.b.len() / 2;
        // A margin for the stream and document events.
        self.events + 16 <= budget.max_events.max(half)
            && self.nodes + 16 <= budget.max_nodes.max(half)
    }

    /// A block mapping whose keys are at indentation `n`, at its first key, or after it when
    /// `first` gives that key and the position of its `:`.
    fn block_map(&mut self, n: usize, first: Option<(Node<'a>, usize)>) -> Option<Node<'a>> {
        self.enter()?;
        let mut entries = Vec::new();
        let mut first = first;
        let start = first.as_ref().map_or(self.pos, |(k, _)| k.span.offset());
        loop {
            let (key, colon) = match first.take() {
                Some(kc) => kc,
                None => self.block_key()?,
            };
            let stream = matches!(&self.stream, Some((name, _)) if self.depth == 1
                && self.streamed.is_none()
                && key.as_str() == Some(*name));
            let value = self.map_value(n, colon, stream.then_some(entries.as_slice()))?;
            entries.push((key, value));
            match self.indent() {
                Some(i) if i == n => {}
                Some(i) if i > n => return None,
                _ => break,
            }
        }
        entries.shrink_to_fit();
        Some(self.collection(Value::Map(entries), start, 0))
    }

    /// A block mapping like [`Parser::block_map`] (at its first key), whose entries go to the
    /// sink; it comes back empty, with the span of the whole. `prefix` holds the root entries
    /// before it, and gives the index of its entry.
    fn block_map_streamed(
        &mut self,
        n: usize,
        prefix: &[(Node<'a>, Node<'a>)],
    ) -> Option<Node<'a>> {
        self.enter()?;
        self.streamed = Some(prefix.len());
        let start = self.pos;
        let mut last;
        loop {
            let (key, colon) = self.block_key()?;
            let value = self.map_value(n, colon, None)?;
            last = value.span;
            if let Some((_, sink)) = self.stream.as_mut() {
                sink(prefix, key, value);
            }
            match self.indent() {
                Some(i) if i == n => {}
                Some(i) if i > n => return None,
                _ => break,
            }
        }
        Some(self.close(Value::Map(Vec::new()), start, 0, Some(last)))
    }

    /// A key of a block mapping and its `:`, returning the key and where the `:` is.
    fn block_key(&mut self) -> Option<(Node<'a>, usize)> {
        let key = self.scalar(false)?;
        self.skip_spaces();
        if self.peek() != b':' || !is_blank(self.at(self.pos + 1)) {
            return None;
        }
        let colon = self.pos;
        if colon - key.span.offset() > KEY_LIMIT {
            return None;
        }
        self.pos += 1;
        Some((key, colon))
    }

    /// The value after the `:` (at `colon`) of a key at indentation `n`; leaves the position at
    /// the next line with content.
    ///
    /// With `stream` (the root entries before this one), a block mapping value is streamed.
    fn map_value(
        &mut self,
        n: usize,
        colon: usize,
        stream: Option<&[(Node<'a>, Node<'a>)]>,
    ) -> Option<Node<'a>> {
        self.skip_spaces();
        let c = self.peek();
        if c == b'#' || is_eol(c) {
            self.end_line()?;
            self.next_line();
            match self.indent() {
                Some(i) if i > n => match stream {
                    Some(prefix) if !self.at_dash() => self.block_map_streamed(i, prefix),
                    _ => self.block_node(i),
                },
                Some(i) if i == n && self.at_dash() => self.block_seq(n, true),
                _ => Some(self.null(colon)),
            }
        } else {
            let value = if c == b'[' || c == b'{' {
                self.flow()?
            } else {
                self.scalar(false)?
            };
            self.end_line()?;
            self.next_line();
            Some(value)
        }
    }

    /// A block collection on its own lines at indentation `n` (a scalar there is refused).
    fn block_node(&mut self, n: usize) -> Option<Node<'a>> {
        if self.at_dash() {
            self.block_seq(n, false)
        } else {
            self.block_map(n, None)
        }
    }

    /// A block sequence whose `-` are at indentation `n`, at its first `-`; `indentless` when
    /// it is at the indentation of its parent key (which changes where it starts).
    fn block_seq(&mut self, n: usize, indentless: bool) -> Option<Node<'a>> {
        self.enter()?;
        let mut items = Vec::new();
        let dash = self.pos;
        let mut start = None;
        loop {
            self.pos += 1;
            self.skip_spaces();
            let c = self.peek();
            let item = if c == b'#' || is_eol(c) {
                self.end_line()?;
                let eol = self.pos;
                start.get_or_insert(eol);
                self.next_line();
                match self.indent() {
                    Some(i) if i > n => self.block_node(i)?,
                    _ => self.null(eol),
                }
            } else {
                start.get_or_insert(self.pos);
                let col = self.pos - self.line_start;
                if self.at_dash() {
                    self.block_seq(col, false)?
                } else if c == b'[' || c == b'{' {
                    let node = self.flow()?;
                    self.end_line()?;
                    self.next_line();
                    node
                } else {
                    let scalar = self.scalar(false)?;
                    let after = self.pos;
                    self.skip_spaces();
                    if self.peek() == b':' && is_blank(self.at(self.pos + 1)) {
                        let colon = self.pos;
                        if colon - scalar.span.offset() > KEY_LIMIT {
                            return None;
                        }
                        self.pos += 1;
                        self.block_map(col, Some((scalar, colon)))?
                    } else {
                        self.pos = after;
                        self.end_line()?;
                        self.next_line();
                        scalar
                    }
                }
            };
            items.push(item);
            match self.indent() {
                Some(i) if i == n && self.at_dash() => {}
                Some(i) if i > n => return None,
                _ => break,
            }
        }
        items.shrink_to_fit();
        let offset = if indentless {
            start.unwrap_or(dash)
        } else {
            dash
        };
        Some(self.collection(Value::Seq(items), offset, 0))
    }

    /// A flow collection on one line, at its `[` or `{`.
    fn flow(&mut self) -> Option<Node<'a>> {
        self.enter()?;
        let open = self.pos;
        let is_seq = self.peek() == b'[';
        self.pos += 1;
        self.skip_spaces();
        let value = if is_seq {
            let mark = self.items.len();
            if self.peek() != b']' {
                loop {
                    let item = self.flow_item()?;
                    self.items.push(item);
                    if !self.flow_next(b']')? {
                        break;
                    }
                }
            }
            Value::Seq(self.items.split_off(mark))
        } else {
            let mark = self.entries.len();
            if self.peek() != b'}' {
                loop {
                    let key = self.scalar(true)?;
                    self.skip_spaces();
                    if self.peek() != b':' || self.at(self.pos + 1) != b' ' {
                        return None;
                    }
                    let colon = self.pos;
                    if colon - key.span.offset() > KEY_LIMIT {
                        return None;
                    }
                    self.pos += 1;
                    self.skip_spaces();
                    let value = match self.peek() {
                        b',' | b'}' => self.null(colon),
                        _ => self.flow_item()?,
                    };
                    self.entries.push((key, value));
                    if !self.flow_next(b'}')? {
                        break;
                    }
                }
            }
            Value::Map(self.entries.split_off(mark))
        };
        // Past the closing bracket, which `flow_next` found.
        self.pos += 1;
        Some(self.collection(value, open, 1))
    }

    /// After a flow item: true after a `,` (another item follows), false at `close` (left in
    /// place); `None` on anything else, a trailing `,` included.
    fn flow_next(&mut self, close: u8) -> Option<bool> {
        self.skip_spaces();
        match self.peek() {
            b',' => {
                self.pos += 1;
                self.skip_spaces();
                (self.peek() != close).then_some(true)
            }
            c if c == close => Some(false),
            _ => None,
        }
    }

    /// An item of a flow collection: a nested flow collection or a scalar.
    fn flow_item(&mut self) -> Option<Node<'a>> {
        match self.peek() {
            b'[' | b'{' => self.flow(),
            _ => self.scalar(true),
        }
    }

    /// A single-line scalar at the position (`flow` for flow context), leaving the position
    /// right after it.
    fn scalar(&mut self, flow: bool) -> Option<Node<'a>> {
        match self.peek() {
            b'"' => self.double_quoted(),
            b'\'' => self.single_quoted(),
            _ => self.plain(flow),
        }
    }

    /// A plain scalar, resolved as the full parser resolves it.
    fn plain(&mut self, flow: bool) -> Option<Node<'a>> {
        let start = self.pos;
        match self.peek() {
            // A sign only before a digit (then an integer or refused).
            b'-' if !self.at(start + 1).is_ascii_digit() => return None,
            b'-' => {}
            // Indicators (and the end of the line: an empty scalar).
            b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
            | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' | b'\r' | 0 => return None,
            _ => {}
        }
        let stop = if flow { STOP_FLOW } else { STOP_BLOCK };
        let mut i = start;
        let end = loop {
            // Ordinary bytes in bulk, then a byte that may end the scalar.
            while self
                .b
                .get(i)
                .is_some_and(|&c| CLASS[usize::from(c)] & stop == 0)
            {
                i += 1;
            }
            if self.at(i) == b' ' {
                let before = i;
                while self.at(i) == b' ' {
                    i += 1;
                }
                if self.at(i) == b'#' || self.ends_plain(i, flow) {
                    break before;
                }
            } else if self.ends_plain(i, flow) {
                break i;
            } else {
                // A `:` inside the scalar.
                i += 1;
            }
        };
        let s = self.text.get(start..end)?;
        let value = resolve(s)?;
        self.pos = end;
        Some(self.node(value, start, end - start))
    }

    /// True when the byte at `i` ends a plain scalar: a line break or the end of the text, a
    /// `:` before a space (or a flow indicator in flow context), or a flow indicator in flow
    /// context.
    fn ends_plain(&self, i: usize, flow: bool) -> bool {
        match self.at(i) {
            b':' => {
                let next = self.at(i + 1);
                is_blank(next) || (flow && is_flow_indicator(next))
            }
            c => is_eol(c) || (flow && is_flow_indicator(c)),
        }
    }

    /// A single-quoted scalar (`''` is a quote) on one line.
    fn single_quoted(&mut self) -> Option<Node<'a>> {
        self.quoted(b'\'', |c, next| {
            (c == b'\'' && next == b'\'').then_some(Some('\''))
        })
    }

    /// A double-quoted scalar on one line, with the escapes `\"`, `\\`, `\/`, `\n`, `\t` and
    /// `\r` only.
    fn double_quoted(&mut self) -> Option<Node<'a>> {
        self.quoted(b'"', |c, next| {
            (c == b'\\').then_some(match next {
                b'"' => Some('"'),
                b'\\' => Some('\\'),
                b'/' => Some('/'),
                b'n' => Some('\n'),
                b't' => Some('\t'),
                b'r' => Some('\r'),
                _ => None,
            })
        })
    }

    /// A scalar quoted with `quote` on one line. `escape` reads the two bytes at a position:
    /// `None` when they are no escape, `Some(Some(c))` for an escape that stands for `c`,
    /// `Some(None)` for one the fast path leaves to the full parser.
    fn quoted(
        &mut self,
        quote: u8,
        escape: impl Fn(u8, u8) -> Option<Option<char>>,
    ) -> Option<Node<'a>> {
        let start = self.pos;
        let mut i = start + 1;
        let mut seg = i;
        let mut owned: Option<String> = None;
        loop {
            let c = self.at(i);
            if let Some(unescaped) = escape(c, self.at(i + 1)) {
                let unescaped = unescaped?;
                let s = owned.get_or_insert_with(String::new);
                s.push_str(self.text.get(seg..i)?);
                s.push(unescaped);
                i += 2;
                seg = i;
                continue;
            }
            match c {
                b'\n' | b'\r' | 0 => return None,
                _ if c == quote => break,
                _ => i += 1,
            }
        }
        let value = self.unquoted(owned, seg, i)?;
        self.pos = i + 1;
        Some(self.node(Value::Str(value), start, i + 1 - start))
    }

    /// The text of a quoted scalar: what was unescaped so far and the rest up to the quote.
    fn unquoted(&self, owned: Option<String>, seg: usize, end: usize) -> Option<Cow<'a, str>> {
        let rest = self.text.get(seg..end)?;
        Some(match owned {
            Some(mut s) => {
                s.push_str(rest);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(rest),
        })
    }
}

/// The value of a plain scalar, `None` when the fast path does not resolve it for sure.
fn resolve(s: &str) -> Option<Value<'_>> {
    let b = s.as_bytes();
    match b.first()? {
        b'0'..=b'9' | b'-' => int(b).map(Value::Int),
        b'+' | b'.' => None,
        // A merge key (and anything merge-like) is left to the full parser.
        b'<' if s.starts_with("<<") => None,
        _ if b.len() <= 5 => Some(match s {
            "~" | "null" | "Null" | "NULL" => Value::Null,
            _ => match bool11(s) {
                Some(v) => Value::Bool(v),
                None => Value::Str(Cow::Borrowed(s)),
            },
        }),
        _ => Some(Value::Str(Cow::Borrowed(s))),
    }
}

/// A YAML 1.1 boolean, in any case.
fn bool11(s: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["true", "yes", "y", "on"];
    const FALSE: [&str; 4] = ["false", "no", "n", "off"];
    if TRUE.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Some(true)
    } else if FALSE.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Some(false)
    } else {
        None
    }
}

/// A decimal integer in its plain spelling: an optional `-`, then `0` or up to 18 digits not
/// starting with 0 (so it fits any integer type the full parser may use).
fn int(b: &[u8]) -> Option<i64> {
    let (negative, digits) = match b.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, b),
    };
    let valid = match digits {
        [b'0'] => true,
        [b'1'..=b'9', ..] => digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !valid {
        return None;
    }
    let magnitude = digits
        .iter()
        .fold(0i64, |v, d| v * 10 + i64::from(d - b'0'));
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::tree;

    /// The fast tree of `text`, checked against the full parser's (by their `Debug` forms,
    /// which show every value and span exactly).
    fn fast(text: &str) -> Node<'_> {
        let fast = parse(text).unwrap_or_else(|| panic!("not taken: {text:?}"));
        let full = tree::parse_full(text).unwrap();
        assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{text:?}");
        fast
    }

    fn span(node: &Node) -> (usize, usize) {
        (node.span.offset(), node.span.len())
    }

    fn entries<'a>(node: &'a Node<'a>) -> &'a [(Node<'a>, Node<'a>)] {
        match &node.value {
            Value::Map(entries) => entries,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    fn items<'a>(node: &'a Node<'a>) -> &'a [Node<'a>] {
        match &node.value {
            Value::Seq(items) => items,
            other => panic!("not a sequence: {other:?}"),
        }
    }

    #[test]
    fn omitted_mapping_value_is_null_at_the_colon() {
        let root = fast("a:\nbb :  # c\nc: 1\n");
        assert_eq!(span(&root), (0, 17));
        let e = entries(&root);
        assert!(matches!(e[0].1.value, Value::Null));
        assert_eq!(span(&e[0].1), (1, 0));
        assert_eq!(e[1].0.as_str(), Some("bb"));
        assert_eq!(span(&e[1].0), (3, 2));
        assert_eq!(span(&e[1].1), (6, 0));
        // At the end of the text, the mapping covers only its key.
        let root = fast("a:");
        assert_eq!(span(&root), (0, 1));
    }

    #[test]
    fn omitted_sequence_item_is_null_at_the_end_of_its_line() {
        let root = fast("- # c\n-   \n- x\n");
        assert_eq!(span(&root), (0, 14));
        let i = items(&root);
        assert!(matches!(i[0].value, Value::Null));
        assert_eq!(span(&i[0]), (5, 0));
        assert_eq!(span(&i[1]), (10, 0));
        assert_eq!(span(&i[2]), (13, 1));
        // Before a `\r\n`, at the `\r`.
        let root = fast("a: b\r\nc:\r\n  - \r\n");
        assert_eq!(span(&items(&entries(&root)[1].1)[0]), (14, 0));
    }

    #[test]
    fn sequence_at_its_keys_indentation_starts_at_its_first_item() {
        let root = fast("a:\n- x\n- y\nb: 1\n");
        let seq = &entries(&root)[0].1;
        assert_eq!(span(seq), (5, 5));
        assert!(matches!(items(seq)[1].value, Value::Bool(true)));
        // An item on the next line: the sequence starts at the end of the `-` line.
        let root = fast("a:\n-\n  b: 1\n");
        let seq = &entries(&root)[0].1;
        assert_eq!(span(seq), (4, 7));
        assert_eq!(span(&items(seq)[0]), (7, 4));
        // An indented sequence starts at its `-`.
        let root = fast("a:\n  - x\n");
        assert_eq!(span(&entries(&root)[0].1), (5, 3));
    }

    #[test]
    fn block_mappings_start_at_their_first_key() {
        let root = fast("# c\n\n  a:\n    b: 1\n  c: 2\n");
        assert_eq!(span(&root), (7, 18));
        assert_eq!(span(&entries(&root)[0].1), (14, 4));
        // A compact mapping in a sequence.
        let root = fast("- a: 1\n  b: 2\n- c\n");
        assert_eq!(span(&items(&root)[0]), (2, 11));
    }

    #[test]
    fn flow_collections_cover_their_brackets_as_cover_children_does() {
        let root = fast("a: { b: [ c , d ] }  # e\n");
        let map = &entries(&root)[0].1;
        assert_eq!(span(map), (3, 16));
        assert_eq!(span(&entries(map)[0].1), (8, 9));
        // An omitted last value ends the span at its key.
        let root = fast("{ a: }\n");
        assert_eq!(span(&root), (0, 3));
        assert_eq!(span(&entries(&root)[0].1), (3, 0));
        let root = fast("[{}, [ ]]\n");
        assert_eq!(span(&items(&root)[0]), (1, 2));
        assert_eq!(span(&items(&root)[1]), (5, 3));
    }

    #[test]
    fn quoted_scalars_span_their_quotes() {
        let root = fast("'a b': 'it''s'\n\"k\": \"q\\\"x\\\\y\\tz\\n\"\n");
        let e = entries(&root);
        assert_eq!(e[0].0.as_str(), Some("a b"));
        assert_eq!(span(&e[0].0), (0, 5));
        assert_eq!(e[0].1.as_str(), Some("it's"));
        assert_eq!(span(&e[0].1), (7, 7));
        assert_eq!(e[1].1.as_str(), Some("q\"x\\y\tz\n"));
        assert_eq!(span(&e[1].1), (20, 14));
        // Quoted text is never resolved.
        let root = fast("a: 'null'\nb: \"12\"\n");
        assert_eq!(entries(&root)[0].1.as_str(), Some("null"));
        assert_eq!(entries(&root)[1].1.as_str(), Some("12"));
    }

    #[test]
    fn plain_scalars_end_before_spaces_and_comments() {
        let root = fast("a: hello  world  # c\nb: a#b\nc: OW(*)\nd: x:y\ne b : f\n");
        let e = entries(&root);
        assert_eq!(e[0].1.as_str(), Some("hello  world"));
        assert_eq!(span(&e[0].1), (3, 12));
        assert_eq!(e[1].1.as_str(), Some("a#b"));
        assert_eq!(e[2].1.as_str(), Some("OW(*)"));
        assert_eq!(e[3].1.as_str(), Some("x:y"));
        assert_eq!(e[4].0.as_str(), Some("e b"));
        assert_eq!(span(&e[4].0), (44, 3));
    }

    #[test]
    fn plain_scalars_resolve_as_the_full_parser_does() {
        let root = fast(
            "k: [~, null, Null, NULL, nULL, yes, Off, n, Y, TRUE, 0, -0, 12, -34, \
             123456789012345678, nan, inf, Infinity, c12, é]\n",
        );
        let values: Vec<String> = items(&entries(&root)[0].1)
            .iter()
            .map(|n| format!("{:?}", n.value))
            .collect();
        assert_eq!(
            values,
            [
                "Null",
                "Null",
                "Null",
                "Null",
                "Str(\"nULL\")",
                "Bool(true)",
                "Bool(false)",
                "Bool(false)",
                "Bool(true)",
                "Bool(true)",
                "Int(0)",
                "Int(0)",
                "Int(12)",
                "Int(-34)",
                "Int(123456789012345678)",
                "Str(\"nan\")",
                "Str(\"inf\")",
                "Str(\"Infinity\")",
                "Str(\"c12\")",
                "Str(\"é\")",
            ]
        );
        // Keys resolve the same way.
        let root = fast("1: a\ny: b\n~: c\n");
        let keys: Vec<String> = entries(&root)
            .iter()
            .map(|(k, _)| format!("{:?}", k.value))
            .collect();
        assert_eq!(keys, ["Int(1)", "Bool(true)", "Null"]);
    }

    #[test]
    fn other_number_spellings_go_to_the_full_parser() {
        for s in [
            "007",
            "00",
            "1.5",
            ".5",
            "5.",
            "+1",
            "1e3",
            "0x1F",
            "0o17",
            "0b1",
            "1_000",
            "1234567890123456789",
            "-1.5",
            ".inf",
            "-.inf",
            ".nan",
            "1:2",
            "2001-12-14",
        ] {
            assert!(parse(&format!("a: {s}\n")).is_none(), "{s}");
            assert!(parse(&format!("[{s}]\n")).is_none(), "{s}");
        }
    }

    #[test]
    fn duplicate_keys_pass_through() {
        let root = fast("a: 1\na: 2\nb: {c: 1, c: 2}\n");
        assert_eq!(entries(&root).len(), 3);
        assert_eq!(entries(&entries(&root)[2].1).len(), 2);
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for text in [
            "a: *x\n",
            "a: &x b\n",
            "a: !t b\n",
            "a: OR(*)\nb: *x\n",
            "<<: {a: 1}\n",
            "a: -x\n",
            "a: \"\\x41\"\n",
            "a: \"\\u00e9\"\n",
            "a: 'b\n  c'\n",
            "a: b\r\n\rc: d\n",
            "a:\u{a0}b\n",
            "k: [a: b]\n",
            "k: {a: b, }\n",
            "k: {a:b}\n",
            "k: {\"a\":b}\n",
            "k: {a}\n",
            "k: [a]#c\n",
            "- a\nb: c\n",
            "a:\n  - b\n - c\n",
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
    }
}
