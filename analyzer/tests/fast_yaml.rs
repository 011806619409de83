//! The fast YAML parser (`blazes::load::fast`) against the serde-saphyr path
//! (`tree::parse_full`): whenever the fast parser gives a tree, it must be the same tree, every
//! value and every span. Checked on the examples, fixtures and fuzz corpora, on generated
//! topologies, and on random documents and mutations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../benches/topogen/mod.rs"]
mod topogen;

use std::path::{Path, PathBuf};

use blazes::load::fast;
use blazes::load::tree::{self, Node, Value};
use proptest::prelude::*;

/// The first difference between two trees, with its path, or `None` when they are the same.
fn difference(a: &Node, b: &Node, path: &str) -> Option<String> {
    if a.span != b.span {
        return Some(format!("{path}: span {:?} vs {:?}", a.span, b.span));
    }
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => None,
        (Value::Bool(x), Value::Bool(y)) if x == y => None,
        (Value::Int(x), Value::Int(y)) if x == y => None,
        (Value::Float(x), Value::Float(y)) if x.to_bits() == y.to_bits() => None,
        (Value::Str(x), Value::Str(y)) if x == y => None,
        (Value::Seq(x), Value::Seq(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} vs {} items", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (x, y))| difference(x, y, &format!("{path}[{i}]")))
        }
        (Value::Map(x), Value::Map(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} vs {} entries", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, ((xk, xv), (yk, yv)))| {
                    difference(xk, yk, &format!("{path}.key{i}"))
                        .or_else(|| difference(xv, yv, &format!("{path}.value{i}")))
                })
        }
        (x, y) => Some(format!("{path}: {x:?} vs {y:?}")),
    }
}

/// Checks the contract on `text` (a fast tree is the full parser's tree; streaming the
/// `components` entries gives the same entries and the rest of the same tree; loading in one
/// pass gives what loading in two steps gives) and tells whether the fast parser took it.
fn check(text: &str) -> Result<bool, String> {
    let streamed = check_streaming(text)?;
    let Some(fast) = fast::parse(text) else {
        return Ok(false);
    };
    match tree::parse_full(text) {
        Ok(full) => match difference(&fast, &full, "root") {
            None => {}
            Some(d) => return Err(format!("fast and full trees differ on {text:?}: {d}")),
        },
        Err(e) => {
            return Err(format!(
                "the fast parser accepts {text:?}, the full parser fails: {}",
                e.message
            ));
        }
    }
    if streamed {
        let one_pass = format!("{:?}", blazes::load::load_str("t.yaml", text));
        let two_steps = format!(
            "{:?}",
            blazes::load::yaml::load_str_two_step("t.yaml", text)
        );
        if one_pass != two_steps {
            return Err(format!(
                "loading {text:?} in one pass gives\n{one_pass}\nin two steps\n{two_steps}"
            ));
        }
    }
    Ok(true)
}

/// Checks `fast::parse_streaming` against `fast::parse` on `text`: both take it or neither does;
/// the sink receives exactly the entries of the root's first `components` block mapping, each
/// with the root entries before it; the tree returned is the whole tree with those entries
/// taken out. Tells whether entries were streamed.
fn check_streaming(text: &str) -> Result<bool, String> {
    let mut got: Vec<(usize, Node, Node)> = Vec::new();
    let streamed = fast::parse_streaming(text, "components", &mut |prefix, k, v| {
        got.push((prefix.len(), k, v));
    });
    let (root, at, mut whole) = match (streamed, fast::parse(text)) {
        (Some((root, at)), Some(whole)) => (root, at, whole),
        // The entries handed over before giving up are discarded by the caller.
        (None, None) => return Ok(false),
        _ => return Err(format!("one fast parse takes {text:?}, the other does not")),
    };
    let Some(at) = at else {
        return match (got.is_empty(), difference(&root, &whole, "root")) {
            (true, None) => Ok(false),
            (_, d) => Err(format!(
                "nothing streamed from {text:?}, yet: {d:?}, {got:?}"
            )),
        };
    };
    let Value::Map(entries) = &mut whole.value else {
        return Err(format!(
            "streamed from a root that is not a mapping: {text:?}"
        ));
    };
    let first = entries
        .iter()
        .position(|(k, _)| k.as_str() == Some("components"));
    if first != Some(at) {
        return Err(format!(
            "streamed entry {at}, not the first `components`, in {text:?}"
        ));
    }
    let Value::Map(expected) = std::mem::replace(&mut entries[at].1.value, Value::Map(Vec::new()))
    else {
        return Err(format!(
            "streamed a value that is not a mapping in {text:?}"
        ));
    };
    if expected.len() != got.len() {
        return Err(format!(
            "{} entries streamed of {} in {text:?}",
            got.len(),
            expected.len()
        ));
    }
    for (i, ((k, v), (prefix, gk, gv))) in expected.iter().zip(&got).enumerate() {
        if let Some(d) = difference(k, gk, &format!("key {i}"))
            .or_else(|| difference(v, gv, &format!("value {i}")))
            .or_else(|| (*prefix != at).then(|| format!("prefix of {prefix}, not {at}")))
        {
            return Err(format!("streamed entry differs in {text:?}: {d}"));
        }
    }
    match difference(&root, &whole, "root") {
        None => Ok(true),
        Some(d) => Err(format!(
            "the tree left by streaming differs in {text:?}: {d}"
        )),
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Files under `dir`, recursively, that `keep` selects.
fn files(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, keep, out);
        } else if keep(&path) {
            out.push(path);
        }
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

#[test]
fn fast_trees_equal_full_trees_on_examples_fixtures_and_corpora() {
    let root = repo();
    let mut paths = Vec::new();
    files(&root.join("examples"), &is_yaml, &mut paths);
    files(&root.join("analyzer/tests/fixtures"), &is_yaml, &mut paths);
    for corpus in ["yaml_loader", "flux_loader", "analyze"] {
        files(
            &root.join("fuzz/corpus").join(corpus),
            &|_| true,
            &mut paths,
        );
    }
    let (mut taken, mut texts) = (0, 0);
    let mut errors = Vec::new();
    for path in &paths {
        let Ok(text) = String::from_utf8(std::fs::read(path).unwrap()) else {
            continue;
        };
        texts += 1;
        match check(&text) {
            Ok(true) => taken += 1,
            Ok(false) => {}
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(texts > 1000, "only {texts} texts found");
    assert!(
        taken > 100,
        "the fast parser took only {taken} of {texts} texts"
    );
}

#[test]
fn fast_parser_takes_every_example_topology() {
    let mut paths = Vec::new();
    let examples = repo().join("examples");
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            paths.push(path);
        }
    }
    assert!(paths.len() >= 10, "examples not found");
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            check(&text),
            Ok(true),
            "{} is not taken by the fast parser",
            path.display()
        );
        assert_eq!(
            check_streaming(&text),
            Ok(true),
            "{} is not loaded in one pass",
            path.display()
        );
    }
}

/// Layouts where one-pass loading must not simply build components as they come (`implicit`
/// or `fds` after `components`, errors at the root and in components, repeated keys, a
/// reference to a component that is written but invalid): the result is the two-step one.
#[test]
fn one_pass_loading_equals_two_steps_on_awkward_layouts() {
    for text in [
        "components:\n  a: { outputs: { out: { fields: [id], seal: [time] } } }\nimplicit: [time]\n",
        "implicit: [time]\ncomponents:\n  a: { outputs: { out: { seal: [time] } } }\nimplicit: [id]\n",
        "fds: [{ from: [a], to: [b] }]\ncomponents:\n  x: {}\nfds: []\n",
        "name: [1]\ncomponents:\n  a: { label: CX }\n",
        "components:\n  a: { label: CX }\nname: [1]\nbogus: 1\n",
        "components:\n  a: {}\ncomponents:\n  b: {}\n",
        "components:\n  a: 3\n  b: { inputs: { i: a } }\n",
        "components:\n  a: {}\n  a: {}\n  b: { inputs: { i: a } }\n",
        "components:\n  a: {}\n  1: {}\n  b c: {}\n",
    ] {
        assert_eq!(check(text), Ok(true), "{text:?}");
        assert_eq!(check_streaming(text), Ok(true), "{text:?} is not streamed");
    }
}

#[test]
fn fast_parser_takes_generated_topologies() {
    for n in [1, 10, 2000] {
        let text = topogen::generate(n);
        assert_eq!(check(&text), Ok(true), "generated topology of {n}");
    }
    // Through `tree::parse` too.
    let text = topogen::generate(2000);
    let via_parse = tree::parse(&text).unwrap();
    let fast = fast::parse(&text).unwrap();
    assert_eq!(difference(&via_parse, &fast, "root"), None);
}

/// Hand-written documents of the subset: all must be taken, with the full parser's tree.
#[test]
fn fast_parser_takes_subset_documents() {
    let docs = [
        "a: 1\nb: x\n",
        "# c\n\nname: x\ncomponents:\n  a:\n    inputs: [b, c]\n    label: \"OW(*)\"\n",
        "a:\n- x\n- y: 1\n  z: 2\n-\nb: c\n",
        "a:\n  - - x\n    - y\n  - z\n",
        "{ a: b, c: { d: e } }\n",
        "[a, {}, [], { }]\n",
        "a: { }   # c\nb: [ x , y ]  \n",
        "a: \"q\\\"x\"\nb: 'it''s'\nc: a#b\nd: a #c\ne: OW(*)\n",
        "a: 1\na: 2\n",
        "a:\r\n  - b\r\n  -  \r\nc: d\r\n",
        "- a: 1\n  b:\n  - x\n  c: 2\n",
        "a:\n-\n  b: 1\n",
        "{ a: }\n",
        "k: [~, null, yes, No, ON, n, 0, -0, 12, -34, é, 'x', \"\"]\n",
        "a b : c\n\"d e\": 'f'\n",
    ];
    for doc in docs {
        assert_eq!(check(doc), Ok(true), "{doc:?}");
    }
}

/// Documents outside the subset (or in doubt): the fast parser leaves them to the full one.
#[test]
fn fast_parser_refuses_other_documents() {
    let docs = [
        "a: &x 1\nb: *x\n",
        "a: !t x\n",
        "--- \na: 1\n",
        "a: 1\n...\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: |\n  x\n",
        "a: >\n  x\n",
        "? a\n: b\n",
        "<<: {a: 1}\n",
        "a:\tb\n",
        "a: b\n  c\n",
        "a: \"b\n  c\"\n",
        "a: [b,\n  c]\n",
        "a: 007\n",
        "a: 1.5\n",
        "a: 0x1F\n",
        "a: +1\n",
        "a: .inf\n",
        "a: 1e3\n",
        "a: 12345678901234567890\n",
        "a: \"\\u00e9\"\n",
        "a: [b, ]\n",
        "a: [b: c]\n",
        "a: b: c\n",
        "a:\n  b\n",
        "scalar\n",
        "# only a comment\n",
        "\u{feff}a: 1\n",
        "a: 1\n b: 2\n",
        "[a]: b\n",
        "a: 'x'y\n",
    ];
    for doc in docs {
        assert!(fast::parse(doc).is_none(), "{doc:?} taken");
    }
}

#[test]
fn depth_limit_is_below_the_full_parsers() {
    // The full parser recurses deeply in debug builds: give it room.
    let run = || {
        for depth in 1..=70 {
            for text in [
                format!("{}a{}\n", "[".repeat(depth), "]".repeat(depth)),
                (0..depth)
                    .map(|i| format!("{}k:\n", "  ".repeat(i)))
                    .collect(),
                (0..depth)
                    .map(|i| format!("{}- ", "  ".repeat(i)))
                    .collect::<String>()
                    + "x\n",
            ] {
                let taken = check(&text).unwrap();
                assert_eq!(taken, depth <= tree::MAX_DEPTH - 8, "depth {depth}: {text}");
            }
        }
    };
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn long_keys_are_left_to_the_full_parser() {
    for len in [900, 1000, 1100, 2000] {
        let key = "k".repeat(len);
        for text in [
            format!("{key}: v\n"),
            format!("{{{key}: v}}\n"),
            format!("- {key}: v\n"),
            format!("a: {key}\n"),
            format!("[{key}]\n"),
            format!("[a, {key}]\n"),
            format!("{{a: {key}}}\n"),
            format!("{{a: [{key}]}}\n"),
            format!("- {key}\n"),
            format!("a:\n{}{key}: v\n", " ".repeat(100)),
            format!("{key}{}: v\n", " ".repeat(30)),
            format!("'{key}': v\n"),
        ] {
            check(&text).unwrap();
        }
    }
}

/// The full parser's node and event budgets grow with the text (half its length, at least
/// 250,000 nodes and 1,000,000 events), but a text of small nodes can still exceed them: the
/// fast parser leaves such texts to the full one, which reports it.
#[test]
fn budgets_are_left_to_the_full_parser() {
    // Two nodes per three bytes: over the node budget past 125,000 keys.
    assert!(fast::parse(&"a:\n".repeat(120_000)).is_some());
    assert!(fast::parse(&"a:\n".repeat(130_000)).is_none());
    // Two events per three bytes: over the event budget past 500,000 empty mappings.
    let maps = |n: usize| format!("[{}{{}}]\n", "{},".repeat(n - 1));
    assert!(fast::parse(&maps(490_000)).is_some());
    assert!(fast::parse(&maps(510_000)).is_none());
}

/// [`budgets_are_left_to_the_full_parser`] against the full parser (slow in debug builds).
#[test]
#[ignore = "slow in debug builds"]
fn budgets_match_the_full_parser() {
    for (text, ok) in [
        ("a:\n".repeat(120_000), true),
        ("a:\n".repeat(130_000), false),
        (format!("[{}{{}}]\n", "{},".repeat(490_000 - 1)), true),
        (format!("[{}{{}}]\n", "{},".repeat(510_000 - 1)), false),
    ] {
        assert_eq!(check(&text), Ok(ok));
        assert_eq!(tree::parse_full(&text).is_ok(), ok);
    }
}

/// Scalars that read in surprising ways, for the random documents.
const SCALARS: &[&str] = &[
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "true",
    "False",
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "N",
    "007",
    "0",
    "-0",
    "00",
    "0x1F",
    "0o17",
    "1e3",
    ".5",
    "-1",
    "+1",
    "1_000",
    "12",
    "-34",
    "9223372036854775808",
    "123456789012345678",
    "1.5",
    ".inf",
    ".nan",
    "inf",
    "nan",
    "1:2",
    "2001-12-14",
    "\"q\\\"x\"",
    "'it''s'",
    "''",
    "\"\"",
    "\"a\\nb\"",
    "\"a\\u00e9\"",
    "a#b",
    "a #c",
    "OW(*)",
    "OR(id, batch)",
    "*x",
    "&a",
    "!t",
    "!!str",
    ": x",
    "-x",
    "- x",
    "[",
    "]",
    "{",
    "}",
    ",",
    "é",
    "日本",
    "a b",
    "a  b",
    "a: b",
    "a:b",
    "~x",
    "<<",
    "=",
    "?x",
    "%x",
    "@x",
    "`x`",
    "|",
    ">",
    "#",
    "x'y",
    "x\"y",
    "c1595",
    "fields(word)",
    "a,b",
    "a]",
    "\u{a0}x",
];

/// Scalars of the subset.
const WORDS: &[&str] = &[
    "a",
    "b",
    "from",
    "c12",
    "OW(*)",
    "\"OR(id, batch)\"",
    "'x y'",
    "12",
    "-3",
    "0",
    "true",
    "no",
    "~",
    "fields(word)",
    "é",
    "a-b",
    "a_b",
    "x.y",
    "\"\"",
    "''",
    "\"a\\\\b\"",
];

/// A random document of the subset's shapes (and some beyond), with random white space and
/// comments.
fn document() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        2 => prop::sample::select(WORDS),
        1 => prop::sample::select(SCALARS),
    ]
    .prop_map(str::to_string);
    // Flow values, with varied spacing.
    const SEP: &[&str] = &[", ", ",", " , ", ",  "];
    const COLON: &[&str] = &[": ", " : ", ":  ", ":", " :", ": "];
    let flow = scalar.clone().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                prop::collection::vec((inner.clone(), prop::sample::select(SEP)), 0..4),
                prop::sample::select(&["[", "[ ", "[  "][..]),
                prop::sample::select(&["]", " ]"][..]),
            )
                .prop_map(|(v, open, close)| {
                    let mut s = open.to_string();
                    for (i, (item, sep)) in v.iter().enumerate() {
                        if i > 0 {
                            s.push_str(sep);
                        }
                        s.push_str(item);
                    }
                    s + close
                }),
            (
                prop::collection::vec(
                    (
                        prop::sample::select(if_words()),
                        prop_oneof![4 => inner, 1 => Just(String::new())],
                        prop::sample::select(COLON),
                        prop::sample::select(SEP),
                    ),
                    0..4
                ),
                prop::sample::select(&["{", "{ ", "{  "][..]),
                prop::sample::select(&["}", " }"][..]),
            )
                .prop_map(|(v, open, close)| {
                    let mut s = open.to_string();
                    for (i, (k, v, colon, sep)) in v.iter().enumerate() {
                        if i > 0 {
                            s.push_str(sep);
                        }
                        s.push_str(&format!("{k}{colon}{v}"));
                    }
                    s + close
                }),
        ]
    });
    // Block values, in random layouts.
    let block = flow
        .clone()
        .prop_map(Block::Inline)
        .prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(
                    (
                        prop::sample::select(if_words()),
                        prop::sample::select(&[": ", " : ", ":   ", ":"][..]),
                        inner.clone(),
                        0u8..4,
                    ),
                    1..4
                )
                .prop_map(|v| {
                    Block::Map(
                        v.into_iter()
                            .map(|(k, colon, v, layout)| (k.to_string(), colon, v, layout))
                            .collect(),
                    )
                }),
                prop::collection::vec((inner, 0u8..4), 1..4).prop_map(Block::Seq),
            ]
        });
    (block, prop::collection::vec(0usize..12, 0..6), any::<u64>()).prop_map(
        |(block, noise, seed)| {
            let mut lines = Vec::new();
            match block {
                Block::Inline(value) => lines.push(format!("k: {value}")),
                block => render(&block, 0, &mut lines),
            }
            // Random comments, blank lines, trailing spaces and compact forms.
            for (i, n) in noise.into_iter().enumerate() {
                if lines.is_empty() {
                    break;
                }
                let at = (seed as usize).wrapping_add(i * 7) % lines.len();
                match n {
                    0 => lines.insert(at, "# comment".to_string()),
                    1 => lines.insert(at, String::new()),
                    2 => lines[at].push_str("  "),
                    3 => lines[at].push_str(" # c"),
                    4 => lines[at].push_str("#c"),
                    5 => lines.insert(at, "   # indented".to_string()),
                    6 => {
                        // Join a `-` line with the next line (compact forms).
                        let dash = (at..lines.len().saturating_sub(1))
                            .find(|&d| lines[d].trim_end().ends_with('-'));
                        if let Some(d) = dash {
                            let next = lines.remove(d + 1);
                            lines[d] = format!("{} {}", lines[d].trim_end(), next.trim_start());
                        }
                    }
                    7 => lines[at] = format!(" {}", lines[at]),
                    8 => {
                        // Dedent a nested sequence to its key's level (indentless sequences).
                        let nested = (at..lines.len()).find(|&d| lines[d].starts_with("  -"));
                        // Indentation is counted in spaces only: other white space (which
                        // `trim_start` would also take) may be several bytes long.
                        let spaces = |l: &str| l.len() - l.trim_start_matches(' ').len();
                        if let Some(d) = nested {
                            let indent = spaces(&lines[d]);
                            let mut d = d;
                            while d < lines.len() && spaces(&lines[d]) >= indent {
                                lines[d].drain(..2);
                                d += 1;
                            }
                        }
                    }
                    _ => {}
                }
            }
            let mut text = lines.join(if seed % 5 == 0 { "\r\n" } else { "\n" });
            if seed % 3 != 0 {
                text.push('\n');
            }
            text
        },
    )
}

/// Keys: words of the subset, or tricky scalars.
fn if_words() -> Vec<&'static str> {
    let mut keys = WORDS.to_vec();
    keys.extend_from_slice(SCALARS);
    keys.extend_from_slice(WORDS);
    keys
}

/// A block value of a random document, with the layout of each nested value (0–3).
#[derive(Clone, Debug)]
enum Block {
    /// A flow collection or a scalar.
    Inline(String),
    /// Keys, the text between key and value, values and their layouts.
    Map(Vec<(String, &'static str, Block, u8)>),
    /// Items and their layouts.
    Seq(Vec<(Block, u8)>),
}

/// Writes `block` as lines at indentation `n`.
fn render(block: &Block, n: usize, lines: &mut Vec<String>) {
    let pad = " ".repeat(n);
    match block {
        Block::Inline(value) => lines.push(format!("{pad}{value}")),
        Block::Map(entries) => {
            for (key, colon, value, layout) in entries {
                if let Block::Inline(value) = value {
                    lines.push(format!("{pad}{key}{colon}{value}"));
                    continue;
                }
                lines.push(format!("{pad}{key}:"));
                // A sequence may sit at its key's indentation.
                let step = match (value, layout) {
                    (Block::Seq(_), 0 | 1) => 0,
                    (_, 2) => 1,
                    (_, 3) => 4,
                    _ => 2,
                };
                render(value, n + step, lines);
            }
        }
        Block::Seq(items) => {
            for (item, layout) in items {
                if let Block::Inline(value) = item {
                    let gap = if *layout == 3 { "   " } else { " " };
                    lines.push(format!("{pad}-{gap}{value}"));
                    continue;
                }
                match layout {
                    // Compact: the item's first line on the `-` line.
                    0 | 2 => {
                        let step = if *layout == 0 { 2 } else { 4 };
                        let first = lines.len();
                        render(item, n + step, lines);
                        let rest = lines[first][n + step..].to_string();
                        lines[first] = format!("{pad}-{}{rest}", " ".repeat(step - 1));
                    }
                    _ => {
                        lines.push(format!("{pad}-"));
                        render(item, n + usize::from(*layout), lines);
                    }
                }
            }
        }
    }
}

/// An example topology with a few random byte-level edits.
fn mutated() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        " ", "\n", "-", ":", "#", "[", "]", "{", "}", ",", "'", "\"", "\\", "&", "*", "!", "?",
        "|", "  ", "- ", ": ", "\r\n", "\t", "x", "0", "é", "~", "- x\n", "k: v\n",
    ];
    let edit = (
        any::<prop::sample::Index>(),
        0u8..5,
        prop::sample::select(PIECES),
    );
    (0usize..5, prop::collection::vec(edit, 1..4)).prop_map(|(which, edits)| {
        let mut text = match which {
            0 => include_str!("../../examples/wordcount.yaml").to_string(),
            1 => include_str!("../../examples/multi-output.yaml").to_string(),
            2 => include_str!("../../examples/adnet-campaign-sealed.yaml").to_string(),
            3 => include_str!("../../examples/fds.yaml").to_string(),
            _ => topogen::generate(12),
        };
        for (at, op, piece) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            let mut j = (i + 1).min(text.len());
            while !text.is_char_boundary(j) {
                j += 1;
            }
            match op {
                0 => text.insert_str(i, piece),
                1 => text.replace_range(i..j, ""),
                2 => text.replace_range(i..j, piece),
                3 => {
                    // Cut a line short.
                    let end = text[i..].find('\n').map_or(text.len(), |e| i + e);
                    text.replace_range(i..end, "");
                }
                _ => text.insert_str(i, "  "),
            }
        }
        text
    })
}

proptest! {
    // 3000 cases each, or `PROPTEST_CASES`.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn fast_tree_is_full_tree_on_random_documents(text in document()) {
        check(&text).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn fast_tree_is_full_tree_on_mutated_examples(text in mutated()) {
        check(&text).map_err(TestCaseError::fail)?;
    }
}

/// CPU time of this thread in seconds (steadier than wall time on a busy machine), from
/// `/proc/thread-self/schedstat` where there is one.
fn cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// The fast parser's speed on the generated benchmark (1,000,000 components, 117 MB; set
/// `FAST_YAML_COMPONENTS` for another size), wall and CPU time, median of 5 runs; and, for
/// comparison, the time to clone the tree it builds (its allocations and copies alone):
/// `cargo test --release -p blazes --test fast_yaml -- --ignored --nocapture fast_parser_speed`.
#[test]
#[ignore = "a timing, for release builds"]
fn fast_parser_speed() {
    let n = std::env::var("FAST_YAML_COMPONENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let text = topogen::generate(n);
    let mb = text.len() as f64 / 1e6;
    // Wall and CPU seconds of `f`, median of 5 runs (its result dropped outside the timing).
    fn time<'t>(f: &dyn Fn() -> Node<'t>) -> (f64, f64) {
        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let (start, cpu) = (std::time::Instant::now(), cpu_time());
            let root = f();
            walls.push(start.elapsed().as_secs_f64());
            if let (Some(a), Some(b)) = (cpu, cpu_time()) {
                cpus.push(b - a);
            }
            drop(root);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        (median(&mut walls), median(&mut cpus))
    }
    let (wall, cpu) = time(&|| fast::parse(&text).unwrap());
    println!(
        "fast::parse of {mb:.1} MB, median of 5: {wall:.3} s wall ({:.0} MB/s), {cpu:.3} s CPU \
         ({:.0} MB/s)",
        mb / wall,
        mb / cpu
    );
    let root = fast::parse(&text).unwrap();
    let (wall, cpu) = time(&|| root.clone());
    println!("cloning its tree, median of 5: {wall:.3} s wall, {cpu:.3} s CPU");
}
