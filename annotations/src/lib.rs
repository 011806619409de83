//! The Blazes vocabulary: path annotations (`CR`, `CW`, `OR(g)`, `OW(g)`), gates, seal keys and
//! the stream labels of the Blazes lattice.
//!
//! This crate has no dependencies and knows nothing of the analyzer: it is what user code (and
//! the `#[blazes]` attribute) depends on. The compact syntax is parsed with [`Annotation::parse`]
//! and printed with [`std::fmt::Display`]; the two round-trip.
//!
//! ```
//! use blazes_annotations::{Annotation, Gate};
//! let a = Annotation::parse("OW(word, batch)").unwrap();
//! assert!(a.is_write() && a.is_order_sensitive());
//! assert_eq!(a.gate(), Some(&Gate::fields(["batch", "word"])));
//! assert_eq!(a.to_string(), "OW(batch, word)");
//! ```

use std::collections::BTreeSet;
use std::fmt;

pub mod spec;
pub use spec::{AnnotationSpec, GateSpec, Operator, OperatorSpec, PathSpec};

/// `#[blazes(...)]` on an operator (a function, struct or enum): its annotations, checked by
/// the compiler and emitted as constants ([`Operator::BLAZES`], or `NAME_BLAZES` next to a
/// function). See the `blazes-macros` crate.
#[cfg(feature = "macros")]
pub use blazes_macros::blazes;

/// The partitions within which an order-sensitive path is deterministic (SPEC §2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gate {
    /// `*`: the partitions are unknown, every record is its own partition.
    Any,
    /// A set of field names; the empty set is the global gate (one partition for the stream).
    Fields(BTreeSet<String>),
}

impl Gate {
    /// A gate over the given field names (duplicates collapse, order does not matter).
    pub fn fields<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Gate::Fields(names.into_iter().map(Into::into).collect())
    }

    /// The global gate `()`: the whole stream is one partition.
    pub fn global() -> Self {
        Gate::Fields(BTreeSet::new())
    }

    /// True for the global gate.
    pub fn is_global(&self) -> bool {
        matches!(self, Gate::Fields(f) if f.is_empty())
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gate::Any => f.write_str("*"),
            Gate::Fields(names) => write_list(f, names),
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, names: &BTreeSet<String>) -> fmt::Result {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(n)?;
    }
    Ok(())
}

/// The annotation of a path (input interface → output interface), the paper's C.O.W.R.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Annotation {
    /// Confluent, read-only.
    CR,
    /// Confluent, write: state changes, but order-insensitively.
    CW,
    /// Order-sensitive read, deterministic within each partition of the gate.
    OR(Gate),
    /// Order-sensitive write, deterministic within each partition of the gate.
    OW(Gate),
}

impl Annotation {
    /// True for `CW` and `OW`: the path changes the component's state.
    pub fn is_write(&self) -> bool {
        matches!(self, Annotation::CW | Annotation::OW(_))
    }

    /// True for `OR` and `OW`.
    pub fn is_order_sensitive(&self) -> bool {
        matches!(self, Annotation::OR(_) | Annotation::OW(_))
    }

    /// The gate of an order-sensitive annotation.
    pub fn gate(&self) -> Option<&Gate> {
        match self {
            Annotation::OR(g) | Annotation::OW(g) => Some(g),
            _ => None,
        }
    }

    /// Severity rank, `CR` (0) to `OW` (3), as in SPEC §2.
    pub fn severity(&self) -> u8 {
        match self {
            Annotation::CR => 0,
            Annotation::CW => 1,
            Annotation::OR(_) => 2,
            Annotation::OW(_) => 3,
        }
    }

    /// The confluent annotation with the same read/write character (`OR` → `CR`, `OW` → `CW`):
    /// how an ordered component behaves once its inputs are put in one order.
    pub fn confluent(&self) -> Annotation {
        if self.is_write() {
            Annotation::CW
        } else {
            Annotation::CR
        }
    }

    /// Parses the compact syntax: `CR`, `CW`, `OR(a, b)`, `OW(*)`, `OW()`; a bare `OR`/`OW` has
    /// the `*` gate. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Annotation, ParseError> {
        let (kind, gate) = split_call(text)?;
        let gate_required = |gate: Option<Gate>| gate.unwrap_or(Gate::Any);
        match kind.text {
            "CR" | "CW" if gate.is_some() => Err(ParseError::new(
                ParseErrorKind::GateOnConfluent(kind.text.to_string()),
                kind.start..text.len(),
            )),
            "CR" => Ok(Annotation::CR),
            "CW" => Ok(Annotation::CW),
            "OR" => Ok(Annotation::OR(gate_required(gate))),
            "OW" => Ok(Annotation::OW(gate_required(gate))),
            other => Err(ParseError::new(
                ParseErrorKind::UnknownAnnotation {
                    found: other.to_string(),
                    suggestion: suggest(other, &["CR", "CW", "OR", "OW"]).map(str::to_string),
                },
                kind.start..kind.start + kind.text.len(),
            )),
        }
    }

    /// Builds an annotation from a kind word (`CR`, `CW`, `OR`, `OW`) and an optional gate, as in
    /// the structured YAML form `{ label: OW, gate: [word] }`.
    pub fn from_parts(kind: &str, gate: Option<Gate>) -> Result<Annotation, ParseError> {
        let kind_trim = kind.trim();
        let base = Annotation::parse(kind_trim)?;
        match (base, gate) {
            (a @ (Annotation::CR | Annotation::CW), None) => Ok(a),
            (Annotation::CR | Annotation::CW, Some(_)) => Err(ParseError::new(
                ParseErrorKind::GateOnConfluent(kind_trim.to_string()),
                0..kind.len(),
            )),
            (Annotation::OR(g), gate) => Ok(Annotation::OR(gate.unwrap_or(g))),
            (Annotation::OW(g), gate) => Ok(Annotation::OW(gate.unwrap_or(g))),
        }
    }
}

impl fmt::Display for Annotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Annotation::CR => f.write_str("CR"),
            Annotation::CW => f.write_str("CW"),
            Annotation::OR(g) => write!(f, "OR({g})"),
            Annotation::OW(g) => write!(f, "OW({g})"),
        }
    }
}

impl std::str::FromStr for Annotation {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Annotation::parse(s)
    }
}

/// The key of a seal: the fields a producer punctuates on. The empty key is the end-of-stream
/// seal (`seal: []`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SealKey(pub BTreeSet<String>);

impl SealKey {
    /// A key over the given field names.
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SealKey(names.into_iter().map(Into::into).collect())
    }

    /// True for the end-of-stream seal.
    pub fn is_end_of_stream(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.0)
    }
}

/// The external label of a stream (SPEC §3), from least to most severe.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    /// Deterministic contents, nondeterministic order, punctuated on the key.
    Seal(SealKey),
    /// Deterministic contents, nondeterministic order.
    Async,
    /// Contents may differ from run to run over the same inputs.
    Run,
    /// Contents may differ between replicas within one run.
    Inst,
    /// Replica state may diverge permanently.
    Diverge,
}

impl Label {
    /// Severity rank: `Seal` 0, `Async` 1, `Run` 2, `Inst` 3, `Diverge` 4.
    pub fn severity(&self) -> u8 {
        match self {
            Label::Seal(_) => 0,
            Label::Async => 1,
            Label::Run => 2,
            Label::Inst => 3,
            Label::Diverge => 4,
        }
    }

    /// Least upper bound: the more severe label; two different seals join to `Async`.
    pub fn join(&self, other: &Label) -> Label {
        match (self, other) {
            (Label::Seal(a), Label::Seal(b)) if a == b => self.clone(),
            (Label::Seal(_), Label::Seal(_)) => Label::Async,
            _ if self.severity() >= other.severity() => self.clone(),
            _ => other.clone(),
        }
    }

    /// True when the label is `Async` or a seal: the stream needs no coordination.
    pub fn is_deterministic(&self) -> bool {
        self.severity() <= 1
    }

    /// Parses `Async`, `Run`, `Inst`, `Diverge`, `Seal(k…)`.
    pub fn parse(text: &str) -> Result<Label, ParseError> {
        let (kind, args) = split_call(text)?;
        let plain = |l: Label| {
            if args.is_some() {
                Err(ParseError::new(
                    ParseErrorKind::UnexpectedArguments(kind.text.to_string()),
                    kind.start..text.len(),
                ))
            } else {
                Ok(l)
            }
        };
        match kind.text {
            "Async" => plain(Label::Async),
            "Run" => plain(Label::Run),
            "Inst" => plain(Label::Inst),
            "Diverge" => plain(Label::Diverge),
            "Seal" => match args {
                Some(Gate::Fields(f)) => Ok(Label::Seal(SealKey(f))),
                Some(Gate::Any) => Err(ParseError::new(
                    ParseErrorKind::StarInSeal,
                    kind.start..text.len(),
                )),
                None => Ok(Label::Seal(SealKey::default())),
            },
            other => Err(ParseError::new(
                ParseErrorKind::UnknownLabel {
                    found: other.to_string(),
                    suggestion: suggest(other, &["Async", "Run", "Inst", "Diverge", "Seal"])
                        .map(str::to_string),
                },
                kind.start..kind.start + kind.text.len(),
            )),
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Seal(k) => write!(f, "Seal({k})"),
            Label::Async => f.write_str("Async"),
            Label::Run => f.write_str("Run"),
            Label::Inst => f.write_str("Inst"),
            Label::Diverge => f.write_str("Diverge"),
        }
    }
}

/// Why a piece of compact syntax did not parse, with the byte range it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Byte range in the parsed text.
    pub range: std::ops::Range<usize>,
}

impl ParseError {
    fn new(kind: ParseErrorKind, range: std::ops::Range<usize>) -> Self {
        ParseError { kind, range }
    }

    /// A suggested replacement, when one is close.
    pub fn suggestion(&self) -> Option<&str> {
        match &self.kind {
            ParseErrorKind::UnknownAnnotation { suggestion, .. }
            | ParseErrorKind::UnknownLabel { suggestion, .. } => suggestion.as_deref(),
            _ => None,
        }
    }
}

/// The kinds of [`ParseError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Nothing to parse.
    Empty,
    /// Not one of `CR`, `CW`, `OR`, `OW`.
    UnknownAnnotation {
        /// The word found.
        found: String,
        /// The closest valid word, if any is close.
        suggestion: Option<String>,
    },
    /// Not one of the labels.
    UnknownLabel {
        /// The word found.
        found: String,
        /// The closest valid word, if any is close.
        suggestion: Option<String>,
    },
    /// `CR(x)`: confluent annotations take no gate.
    GateOnConfluent(String),
    /// `Async(x)`: this label takes no arguments.
    UnexpectedArguments(String),
    /// A `(` without its `)`, or text after the `)`.
    Unbalanced,
    /// `OW(a, , b)` or a trailing comma.
    EmptyField,
    /// A field name that is not an identifier.
    BadField(String),
    /// The same field twice in a gate.
    DuplicateField(String),
    /// `*` mixed with field names.
    StarWithFields,
    /// `Seal(*)`.
    StarInSeal,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ParseErrorKind::Empty => f.write_str("empty annotation"),
            ParseErrorKind::UnknownAnnotation { found, .. } => write!(
                f,
                "unknown annotation `{found}`: expected CR, CW, OR(gate) or OW(gate)"
            ),
            ParseErrorKind::UnknownLabel { found, .. } => write!(
                f,
                "unknown label `{found}`: expected Async, Run, Inst, Diverge or Seal(key)"
            ),
            ParseErrorKind::GateOnConfluent(k) => {
                write!(f, "`{k}` is confluent and takes no gate")
            }
            ParseErrorKind::UnexpectedArguments(k) => write!(f, "`{k}` takes no arguments"),
            ParseErrorKind::Unbalanced => f.write_str("unbalanced parentheses"),
            ParseErrorKind::EmptyField => f.write_str("empty field name in gate"),
            ParseErrorKind::BadField(s) => write!(f, "`{s}` is not a field name"),
            ParseErrorKind::DuplicateField(s) => write!(f, "field `{s}` appears twice"),
            ParseErrorKind::StarWithFields => f.write_str("`*` cannot be mixed with field names"),
            ParseErrorKind::StarInSeal => f.write_str("a seal key cannot be `*`"),
        }
    }
}

impl std::error::Error for ParseError {}

/// True when `name` can be a field name: a letter or `_` followed by letters, digits, `_`, `-`
/// or `.`.
pub fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

struct Word<'a> {
    text: &'a str,
    start: usize,
}

/// Splits `KIND` or `KIND(args)` and parses the argument list as a gate.
fn split_call(text: &str) -> Result<(Word<'_>, Option<Gate>), ParseError> {
    let start = text.len() - text.trim_start().len();
    let body = text.trim();
    if body.is_empty() {
        return Err(ParseError::new(ParseErrorKind::Empty, 0..text.len()));
    }
    let Some(open) = body.find('(') else {
        if body.contains(')') {
            return Err(ParseError::new(
                ParseErrorKind::Unbalanced,
                start..start + body.len(),
            ));
        }
        return Ok((Word { text: body, start }, None));
    };
    let word = Word {
        text: body[..open].trim_end(),
        start,
    };
    if !body.ends_with(')') {
        return Err(ParseError::new(
            ParseErrorKind::Unbalanced,
            start + open..start + body.len(),
        ));
    }
    let inner_start = start + open + 1;
    let inner = &body[open + 1..body.len() - 1];
    if inner.contains(['(', ')']) {
        return Err(ParseError::new(
            ParseErrorKind::Unbalanced,
            start + open..start + body.len(),
        ));
    }
    Ok((word, Some(parse_gate_list(inner, inner_start)?)))
}

fn parse_gate_list(inner: &str, offset: usize) -> Result<Gate, ParseError> {
    if inner.trim().is_empty() {
        return Ok(Gate::global());
    }
    let mut fields = BTreeSet::new();
    let mut star = false;
    let mut pos = offset;
    for part in inner.split(',') {
        let lead = part.len() - part.trim_start().len();
        let name = part.trim();
        let range = pos + lead..pos + lead + name.len().max(1);
        pos += part.len() + 1;
        if name.is_empty() {
            return Err(ParseError::new(ParseErrorKind::EmptyField, range));
        }
        if name == "*" {
            star = true;
        } else if !is_field_name(name) {
            return Err(ParseError::new(
                ParseErrorKind::BadField(name.to_string()),
                range,
            ));
        } else if !fields.insert(name.to_string()) {
            return Err(ParseError::new(
                ParseErrorKind::DuplicateField(name.to_string()),
                range,
            ));
        }
        if star && !fields.is_empty() {
            return Err(ParseError::new(ParseErrorKind::StarWithFields, range));
        }
    }
    Ok(if star {
        Gate::Any
    } else {
        Gate::Fields(fields)
    })
}

/// The closest candidate to `word`: a case-insensitive match first, then the smallest edit
/// distance (at most 1 for words of up to 3 characters, 2 otherwise), ties broken by name so the
/// answer never depends on the order of `candidates`.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if let Some(c) = candidates
        .iter()
        .filter(|c| c.eq_ignore_ascii_case(word))
        .min()
    {
        return Some(c);
    }
    let limit = if word.chars().count() <= 3 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Edit distance over characters, case-insensitive, counting a swap of two adjacent characters
/// as one edit (optimal string alignment).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    // Three rows: two back (for transpositions), previous, current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 0..a.len() {
        cur[0] = i + 1;
        for j in 0..b.len() {
            let sub = prev[j] + usize::from(a[i] != b[j]);
            let mut best = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                best = best.min(before[j - 1] + 1);
            }
            cur[j + 1] = best;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Annotation {
        match Annotation::parse(s) {
            Ok(a) => a,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(p("CR"), Annotation::CR);
        assert_eq!(p(" CW "), Annotation::CW);
        assert_eq!(p("OR"), Annotation::OR(Gate::Any));
        assert_eq!(p("OW(*)"), Annotation::OW(Gate::Any));
        assert_eq!(p("OW()"), Annotation::OW(Gate::global()));
        assert_eq!(
            p("OW(word, batch)"),
            Annotation::OW(Gate::fields(["word", "batch"]))
        );
        assert_eq!(p("OR(id)"), Annotation::OR(Gate::fields(["id"])));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "CR",
            "CW",
            "OR(*)",
            "OW()",
            "OW(batch, word)",
            "OR(campaign, id)",
        ] {
            assert_eq!(p(s).to_string(), s);
            assert_eq!(p(&p(s).to_string()), p(s));
        }
    }

    #[test]
    fn errors_are_typed_and_located() {
        let e = Annotation::parse("CX").unwrap_err();
        assert_eq!(e.suggestion(), Some("CR"));
        assert_eq!(e.range, 0..2);
        let e = Annotation::parse("ow(a)").unwrap_err();
        assert_eq!(e.suggestion(), Some("OW"));
        let e = Annotation::parse("OW(a, , b)").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::EmptyField);
        assert_eq!(e.range, 6..7);
        let e = Annotation::parse("OW(a, a)").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::DuplicateField("a".into()));
        assert_eq!(e.range, 6..7);
        assert_eq!(
            Annotation::parse("OW(a, *)").unwrap_err().kind,
            ParseErrorKind::StarWithFields
        );
        assert_eq!(
            Annotation::parse("CR(a)").unwrap_err().kind,
            ParseErrorKind::GateOnConfluent("CR".into())
        );
        assert_eq!(
            Annotation::parse("OW(a").unwrap_err().kind,
            ParseErrorKind::Unbalanced
        );
        assert_eq!(
            Annotation::parse("OW(a))").unwrap_err().kind,
            ParseErrorKind::Unbalanced
        );
        assert_eq!(
            Annotation::parse("OW(1a)").unwrap_err().kind,
            ParseErrorKind::BadField("1a".into())
        );
        assert_eq!(
            Annotation::parse("  ").unwrap_err().kind,
            ParseErrorKind::Empty
        );
        assert_eq!(Annotation::parse("QQQQ").unwrap_err().suggestion(), None);
    }

    #[test]
    fn structured_form() {
        assert_eq!(
            Annotation::from_parts("OW", Some(Gate::fields(["w"]))),
            Ok(Annotation::OW(Gate::fields(["w"])))
        );
        assert_eq!(
            Annotation::from_parts("OR", None),
            Ok(Annotation::OR(Gate::Any))
        );
        assert!(Annotation::from_parts("CW", Some(Gate::global())).is_err());
    }

    #[test]
    fn label_severity_and_join() {
        let s = |k: &[&str]| Label::Seal(SealKey::new(k.iter().copied()));
        let order = [
            s(&["k"]),
            Label::Async,
            Label::Run,
            Label::Inst,
            Label::Diverge,
        ];
        for w in order.windows(2) {
            assert!(w[0].severity() < w[1].severity());
            assert_eq!(w[0].join(&w[1]), w[1]);
            assert_eq!(w[1].join(&w[0]), w[1]);
        }
        assert_eq!(s(&["a"]).join(&s(&["a"])), s(&["a"]));
        assert_eq!(s(&["a"]).join(&s(&["b"])), Label::Async);
        assert_eq!(s(&["a"]).join(&s(&["a", "b"])), Label::Async);
    }

    #[test]
    fn labels_parse_and_print() {
        for s in [
            "Async",
            "Run",
            "Inst",
            "Diverge",
            "Seal(batch)",
            "Seal(a, b)",
            "Seal()",
        ] {
            let l = Label::parse(s).unwrap();
            assert_eq!(l.to_string(), s);
        }
        assert_eq!(
            Label::parse("Seal").unwrap(),
            Label::Seal(SealKey::default())
        );
        assert_eq!(
            Label::parse("async").unwrap_err().suggestion(),
            Some("Async")
        );
        assert!(Label::parse("Run(x)").is_err());
        assert_eq!(
            Label::parse("Seal(*)").unwrap_err().kind,
            ParseErrorKind::StarInSeal
        );
    }

    #[test]
    fn suggestions_use_edit_distance() {
        assert_eq!(suggest("CWW", &["CR", "CW"]), Some("CW"));
        assert_eq!(
            suggest("replicatd", &["replicated", "parallelism"]),
            Some("replicated")
        );
        assert_eq!(suggest("zzzzzz", &["replicated"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("scr", "src"), 1, "a swap is one edit");
        assert_eq!(suggest("scr", &["src", "sink"]), Some("src"));
        // Ties are broken by name, whatever the order of the candidates.
        assert_eq!(suggest("srcx", &["srcd", "srcb", "srca"]), Some("srca"));
        assert_eq!(suggest("srcx", &["srca", "srcd", "srcb"]), Some("srca"));
    }
}
