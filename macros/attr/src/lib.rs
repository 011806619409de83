//! The grammar of the `#[blazes(...)]` attribute, parsed from tokens with exact spans.
//!
//! One parser serves both readers of the attribute: the `blazes-macros` proc-macro (which turns
//! every error into a compile error at the offending token) and the `blazes` analyzer (which
//! reads the attributes of a crate with `syn` without compiling it). Keeping it in this small
//! crate, which depends on neither, avoids a dependency cycle: `blazes-annotations` re-exports the
//! macro, so the macro cannot depend on `blazes-annotations`.
//!
//! ```text
//! attr    := item (',' item)* ','?
//! item    := ann | 'path' '(' IDENT '->' IDENT ',' ann ')' | 'replicated'
//!          | 'seal' '(' fields ')' | 'name' '=' STRING
//! ann     := 'CR' | 'CW' | ('OR' | 'OW') ('(' gate ')')?
//! gate    := '*' | fields
//! fields  := (IDENT (',' IDENT)* ','?)?
//! ```
//!
//! A bare `OR`/`OW` and `OR(*)` have the unknown gate; `OR()` is the global gate; `seal()` is the
//! end-of-stream seal.

use std::fmt;

use proc_macro2::{Delimiter, Punct, Spacing, Span, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::{Error, Ident, LitStr, Token};

/// A value with the spans of its first and last token.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Span of the first token.
    pub start: Span,
    /// Span of the last token.
    pub end: Span,
}

impl<T> Spanned<T> {
    fn new(value: T, start: Span, end: Span) -> Self {
        Spanned { value, start, end }
    }

    /// An error covering this value's tokens.
    pub fn error(&self, message: impl fmt::Display) -> Error {
        error(self.start, self.end, message)
    }
}

/// The four annotation kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Confluent read.
    CR,
    /// Confluent write.
    CW,
    /// Order-sensitive read.
    OR,
    /// Order-sensitive write.
    OW,
}

/// The gate of an order-sensitive annotation.
#[derive(Clone, Debug)]
pub enum Gate {
    /// `*`, or no gate written.
    Any,
    /// Field names in the order written; empty is the global gate.
    Fields(Vec<Spanned<String>>),
}

/// A path annotation as written.
#[derive(Clone, Debug)]
pub struct Ann {
    /// `CR`, `CW`, `OR` or `OW`.
    pub kind: Kind,
    /// The gate (`Gate::Any` for the confluent kinds, which have none).
    pub gate: Gate,
}

impl fmt::Display for Ann {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.kind {
            Kind::CR => return f.write_str("CR"),
            Kind::CW => return f.write_str("CW"),
            Kind::OR => "OR",
            Kind::OW => "OW",
        };
        match &self.gate {
            Gate::Any => write!(f, "{word}(*)"),
            Gate::Fields(fields) => {
                let names: Vec<&str> = fields.iter().map(|s| s.value.as_str()).collect();
                write!(f, "{word}({})", names.join(", "))
            }
        }
    }
}

/// `path(from -> to, ANN)`.
#[derive(Clone, Debug)]
pub struct PathAttr {
    /// Input interface.
    pub from: Spanned<String>,
    /// Output interface.
    pub to: Spanned<String>,
    /// The annotation.
    pub ann: Spanned<Ann>,
}

/// Everything one `#[blazes(...)]` attribute says.
#[derive(Clone, Debug, Default)]
pub struct Attr {
    /// The annotation of every path (`CR`, `OW(word)`, …).
    pub label: Option<Spanned<Ann>>,
    /// Per-path annotations, in the order written (no pair twice).
    pub paths: Vec<Spanned<PathAttr>>,
    /// `replicated`, where written.
    pub replicated: Option<Spanned<()>>,
    /// `seal(k…)`: the key fields; the spanned value covers the whole `seal(…)`.
    pub seal: Option<Spanned<Vec<Spanned<String>>>>,
    /// `name = "…"`.
    pub name: Option<Spanned<String>>,
}

/// The words an attribute item may start with.
pub const KEYWORDS: &[&str] = &["CR", "CW", "OR", "OW", "path", "replicated", "seal", "name"];
const ANNOTATIONS: &[&str] = &["CR", "CW", "OR", "OW"];

/// Parses the arguments of a `#[blazes(...)]` attribute. `attribute` is where to point when the
/// arguments are empty (the attribute itself).
pub fn parse(args: TokenStream, attribute: Span) -> Result<Attr, Error> {
    if args.is_empty() {
        return Err(Error::new(
            attribute,
            "`#[blazes]` needs an annotation: CR, CW, OR(gate), OW(gate), path(in -> out, ANN), \
             or seal(key) on a source",
        ));
    }
    (|input: ParseStream<'_>| parse_attr(input)).parse2(args)
}

/// An error from the first to the last of two spans (works in and out of a proc-macro).
pub fn error(start: Span, end: Span, message: impl fmt::Display) -> Error {
    let mut a = Punct::new('.', Spacing::Alone);
    a.set_span(start);
    let mut b = Punct::new('.', Spacing::Alone);
    b.set_span(end);
    let tokens: TokenStream = [TokenTree::Punct(a), TokenTree::Punct(b)]
        .into_iter()
        .collect();
    Error::new_spanned(tokens, message)
}

fn parse_attr(input: ParseStream<'_>) -> Result<Attr, Error> {
    let mut attr = Attr::default();
    while !input.is_empty() {
        let word = expect_word(input, "an annotation or option")?;
        let text = word.to_string();
        match text.as_str() {
            "CR" | "CW" | "OR" | "OW" => {
                let ann = parse_ann_after(&word, input)?;
                if let Some(first) = &attr.label {
                    return Err(ann.error(format!(
                        "a second annotation `{}` for every path (the first is `{}`); annotate \
                         single paths with `path(in -> out, ANN)`",
                        ann.value, first.value
                    )));
                }
                attr.label = Some(ann);
            }
            "path" => {
                let path = parse_path(&word, input)?;
                if let Some(first) = attr
                    .paths
                    .iter()
                    .find(|p| p.value.from.value == path.value.from.value)
                    .filter(|p| p.value.to.value == path.value.to.value)
                {
                    return Err(path.error(format!(
                        "the path `{} -> {}` is annotated twice (first as `{}`)",
                        path.value.from.value, path.value.to.value, first.value.ann.value
                    )));
                }
                attr.paths.push(path);
            }
            "replicated" => {
                if attr.replicated.is_some() {
                    return Err(Error::new(word.span(), "`replicated` is given twice"));
                }
                attr.replicated = Some(Spanned::new((), word.span(), word.span()));
            }
            "seal" => {
                let seal = parse_seal(&word, input)?;
                if attr.seal.is_some() {
                    return Err(seal.error(
                        "`seal` is given twice; a seal key with several fields is written \
                         `seal(a, b)`",
                    ));
                }
                attr.seal = Some(seal);
            }
            "name" => {
                let eq: Token![=] = input.parse().map_err(|e| {
                    Error::new(
                        e.span(),
                        "expected `=` after `name`, as in `name = \"count\"`",
                    )
                })?;
                let _ = eq;
                let lit: LitStr = input.parse().map_err(|e| {
                    Error::new(e.span(), "expected a string, as in `name = \"count\"`")
                })?;
                let value = lit.value();
                if !is_component_name(&value) {
                    return Err(Error::new(
                        lit.span(),
                        format!(
                            "`{value}` is not a valid component name: a letter or `_`, then \
                             letters, digits, `_` or `-`"
                        ),
                    ));
                }
                if attr.name.is_some() {
                    return Err(error(word.span(), lit.span(), "`name` is given twice"));
                }
                attr.name = Some(Spanned::new(value, word.span(), lit.span()));
            }
            other => {
                let hint = match suggest(other, KEYWORDS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "expected CR, CW, OR(gate), OW(gate), path(in -> out, ANN), \
                             replicated, seal(key) or name = \"…\""
                        .to_string(),
                };
                return Err(Error::new(
                    word.span(),
                    format!("`{other}` is not a blazes annotation or option: {hint}"),
                ));
            }
        }
        if input.is_empty() {
            break;
        }
        let _: Token![,] = input
            .parse()
            .map_err(|e| Error::new(e.span(), "expected `,` between annotations"))?;
    }
    if attr.label.is_none()
        && attr.paths.is_empty()
        && attr.seal.is_none()
        && let Some(r) = &attr.replicated
    {
        return Err(r.error(
            "`replicated` alone annotates no path: add CR, CW, OR(gate), OW(gate) or \
             path(in -> out, ANN)",
        ));
    }
    Ok(attr)
}

fn expect_word(input: ParseStream<'_>, what: &str) -> Result<Ident, Error> {
    if input.peek(Ident) {
        return input.parse();
    }
    Err(input.error(format!("expected {what}")))
}

/// The rest of an annotation after its kind word: an optional parenthesized gate.
fn parse_ann_after(word: &Ident, input: ParseStream<'_>) -> Result<Spanned<Ann>, Error> {
    let text = word.to_string();
    let kind = match text.as_str() {
        "CR" => Kind::CR,
        "CW" => Kind::CW,
        "OR" => Kind::OR,
        "OW" => Kind::OW,
        other => {
            let hint = match suggest(other, ANNOTATIONS) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "expected CR, CW, OR(gate) or OW(gate)".to_string(),
            };
            return Err(Error::new(
                word.span(),
                format!("unknown annotation `{other}`: {hint}"),
            ));
        }
    };
    let Some((group, inner)) = parens(input)? else {
        return Ok(Spanned::new(
            Ann {
                kind,
                gate: Gate::Any,
            },
            word.span(),
            word.span(),
        ));
    };
    if matches!(kind, Kind::CR | Kind::CW) {
        return Err(error(
            word.span(),
            group,
            format!("`{text}` is confluent and takes no gate; write `{text}` alone"),
        ));
    }
    let gate = parse_fields(inner, "gate", true)?;
    Ok(Spanned::new(Ann { kind, gate }, word.span(), group))
}

/// A parenthesized group, if one comes next: its closing span and its contents.
fn parens(input: ParseStream<'_>) -> Result<Option<(Span, TokenStream)>, Error> {
    if !input.peek(syn::token::Paren) {
        return Ok(None);
    }
    let tt: TokenTree = input.parse()?;
    match tt {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => {
            Ok(Some((g.span_close(), g.stream())))
        }
        other => Err(Error::new(other.span(), "expected `(`")),
    }
}

/// A comma-separated list of field names; `*` alone gives `Gate::Any` when `star` is allowed.
fn parse_fields(tokens: TokenStream, what: &'static str, star: bool) -> Result<Gate, Error> {
    (move |input: ParseStream<'_>| {
        if input.peek(Token![*]) {
            let s: Token![*] = input.parse()?;
            if !star {
                return Err(Error::new(
                    s.span,
                    "a seal key cannot be `*`: name the fields the producer punctuates on",
                ));
            }
            if !input.is_empty() {
                return Err(input.error("`*` cannot be mixed with field names"));
            }
            return Ok(Gate::Any);
        }
        let mut fields: Vec<Spanned<String>> = Vec::new();
        while !input.is_empty() {
            if input.peek(Token![,]) {
                return Err(input.error(format!("empty field name in {what}")));
            }
            if input.peek(Token![*]) {
                return Err(input.error("`*` cannot be mixed with field names"));
            }
            let ident: Ident = input.parse().map_err(|e| {
                Error::new(e.span(), format!("expected a field name in the {what}"))
            })?;
            let name = ident.to_string();
            if fields.iter().any(|f| f.value == name) {
                return Err(Error::new(
                    ident.span(),
                    format!("field `{name}` appears twice in the {what}"),
                ));
            }
            fields.push(Spanned::new(name, ident.span(), ident.span()));
            if input.is_empty() {
                break;
            }
            let _: Token![,] = input.parse().map_err(|e| {
                Error::new(
                    e.span(),
                    format!("expected `,` between fields of the {what}"),
                )
            })?;
        }
        Ok(Gate::Fields(fields))
    })
    .parse2(tokens)
}

fn parse_seal(
    word: &Ident,
    input: ParseStream<'_>,
) -> Result<Spanned<Vec<Spanned<String>>>, Error> {
    let Some((close, inner)) = parens(input)? else {
        return Err(Error::new(
            word.span(),
            "`seal` needs a key: `seal(batch)`, or `seal()` for the end-of-stream seal",
        ));
    };
    match parse_fields(inner, "seal key", false)? {
        Gate::Fields(fields) => Ok(Spanned::new(fields, word.span(), close)),
        Gate::Any => Err(error(word.span(), close, "a seal key cannot be `*`")),
    }
}

fn parse_path(word: &Ident, input: ParseStream<'_>) -> Result<Spanned<PathAttr>, Error> {
    let Some((close, inner)) = parens(input)? else {
        return Err(Error::new(
            word.span(),
            "`path` needs its interfaces and annotation: `path(input -> output, ANN)`",
        ));
    };
    let path = (|input: ParseStream<'_>| {
        let from: Ident = input.parse().map_err(|e| {
            Error::new(
                e.span(),
                "expected the input interface, as in `path(click -> out, CW)`",
            )
        })?;
        let _: Token![->] = input.parse().map_err(|e| {
            Error::new(
                e.span(),
                "expected `->` between the input and the output interface",
            )
        })?;
        let to: Ident = input.parse().map_err(|e| {
            Error::new(
                e.span(),
                "expected the output interface, as in `path(click -> out, CW)`",
            )
        })?;
        let _: Token![,] = input
            .parse()
            .map_err(|e| Error::new(e.span(), "expected `,` and the annotation of this path"))?;
        let kind = expect_word(
            input,
            "the annotation of this path (CR, CW, OR(gate), OW(gate))",
        )?;
        let ann = parse_ann_after(&kind, input)?;
        if input.peek(Token![,]) {
            let _: Token![,] = input.parse()?;
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the annotation of this path"));
        }
        Ok(PathAttr {
            from: Spanned::new(from.to_string(), from.span(), from.span()),
            to: Spanned::new(to.to_string(), to.span(), to.span()),
            ann,
        })
    })
    .parse2(inner)?;
    Ok(Spanned::new(path, word.span(), close))
}

/// Component names: a letter or `_`, then letters, digits, `_` or `-`.
pub fn is_component_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
}

/// The closest candidate to `word`: a case-insensitive match first, then edit distance ≤ 1 for
/// words of up to three characters and ≤ 2 otherwise (the same rule as
/// `blazes_annotations::suggest`, which this crate cannot depend on).
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if let Some(c) = candidates.iter().find(|c| c.eq_ignore_ascii_case(word)) {
        return Some(c);
    }
    let limit = if word.chars().count() <= 3 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Converts a Rust item name to snake case (`WordCount` → `word_count`): the default component
/// name of an annotated type.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_numeric());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if i > 0 && !out.ends_with('_') && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn p(s: &str) -> Result<Attr, String> {
        let tokens: TokenStream = s.parse().map_err(|e| format!("lex: {e}"))?;
        parse(tokens, Span::call_site()).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_every_form() {
        let a = p("OW(word, batch)").unwrap();
        assert_eq!(a.label.unwrap().value.to_string(), "OW(word, batch)");
        let a = p(
            "path(click -> response, CW), path(request -> response, OR(id, campaign)), replicated",
        )
        .unwrap();
        assert_eq!(a.paths.len(), 2);
        assert_eq!(a.paths[1].value.ann.value.to_string(), "OR(id, campaign)");
        assert!(a.replicated.is_some());
        let a = p("seal(batch), name = \"tweets\"").unwrap();
        assert_eq!(a.seal.unwrap().value[0].value, "batch");
        assert_eq!(a.name.unwrap().value, "tweets");
        assert!(matches!(
            p("OR").unwrap().label.unwrap().value.gate,
            Gate::Any
        ));
        assert!(matches!(
            p("OR(*)").unwrap().label.unwrap().value.gate,
            Gate::Any
        ));
        assert!(
            matches!(p("OW()").unwrap().label.unwrap().value.gate, Gate::Fields(f) if f.is_empty())
        );
        assert!(p("seal()").unwrap().seal.unwrap().value.is_empty());
        assert!(p("CR,").is_ok());
        // A name alone: an unsealed source.
        let a = p("name = \"tweets\"").unwrap();
        assert!(a.label.is_none() && a.seal.is_none() && a.paths.is_empty());
    }

    #[test]
    fn errors_explain_and_suggest() {
        let e = |s: &str| p(s).unwrap_err();
        assert!(e("CX").contains("did you mean `CR`?"), "{}", e("CX"));
        assert!(e("ow(word)").contains("did you mean `OW`?"));
        assert!(e("replicatd, CR").contains("did you mean `replicated`?"));
        assert!(e("CR(a)").contains("confluent and takes no gate"));
        assert!(e("OW(a, , b)").contains("empty field name"));
        assert!(e("OW(a, a)").contains("appears twice"));
        assert!(e("OW(a, *)").contains("cannot be mixed"));
        assert!(e("CR, CW").contains("a second annotation"));
        assert!(e("path(a -> b, CR), path(a -> b, CW)").contains("annotated twice"));
        assert!(e("CR, replicated, replicated").contains("given twice"));
        assert!(e("seal(*)").contains("cannot be `*`"));
        assert!(e("replicated").contains("annotates no path"));
        assert!(e("path(a b, CR)").contains("`->`"));
        assert!(e("CR CW").contains("expected `,`"));
        assert!(e("name = \"1x\", CR").contains("not a valid component name"));
        assert!(
            parse(TokenStream::new(), Span::call_site())
                .unwrap_err()
                .to_string()
                .contains("needs an annotation")
        );
    }

    #[test]
    fn names() {
        assert_eq!(snake_case("Count"), "count");
        assert_eq!(snake_case("WordCount"), "word_count");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("split"), "split");
        assert_eq!(suggest("pth", KEYWORDS), Some("path"));
        assert_eq!(suggest("zzzz", KEYWORDS), None);
    }
}
