//! Whole-binary tests of the `blazes` command line: exit codes, human and JSON output, colour,
//! standard input, several files, determinism, and that `lint` writes nothing to disk.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace root: the tests run the binary from there, so file names are relative.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the package lives inside the workspace")
        .to_path_buf()
}

/// What one run of the binary produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `blazes` from the workspace root with `args`, optional standard input and extra
/// environment variables. `NO_COLOR` is removed unless given.
fn run_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("blazes").unwrap();
    cmd.current_dir(workspace())
        .env_remove("NO_COLOR")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_string());
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().expect("the binary exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, None, &[])
}

/// Asserts the exit code, showing the output on failure.
fn expect_code(r: &Run, code: i32, what: &str) {
    assert_eq!(
        r.code, code,
        "{what}: exit code\n--- stdout\n{}\n--- stderr\n{}",
        r.stdout, r.stderr
    );
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["lint", "--format", "json"];
    all.extend_from_slice(args);
    let r = run(&all);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", r.stdout));
    (r.code, v)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(workspace().join(rel)).unwrap()
}

/// One-based number of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not found"))
        + 1
}

/// A fresh, empty temporary directory, removed when dropped (even when the test fails).
fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("blazes-cli-{tag}-"))
        .tempdir()
        .unwrap()
}

/// The sorted names of the entries of a directory.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn has_ansi(s: &str) -> bool {
    s.contains("\x1b[")
}

// ---- exit codes and human output -------------------------------------------------------------

#[test]
fn clean_examples_exit_0() {
    let r = run(&["lint", "examples/adnet-thresh.yaml"]);
    expect_code(&r, 0, "adnet-thresh");
    assert!(r.stdout.contains("no coordination needed"), "{}", r.stdout);

    let r = run(&["lint", "examples/adnet-campaign-sealed.yaml"]);
    expect_code(&r, 0, "adnet-campaign-sealed");
    assert!(r.stdout.contains("seal-site"), "{}", r.stdout);
    assert!(r.stdout.contains("seal barriers at report"), "{}", r.stdout);
    assert!(r.stdout.contains("no ordering needed"), "{}", r.stdout);
}

#[test]
fn adnet_poor_exits_1_with_site_remedy_and_derivation() {
    let r = run(&["lint", "examples/adnet-poor.yaml"]);
    expect_code(&r, 1, "adnet-poor");
    let out = &r.stdout;
    assert!(out.contains("BLZ001"), "{out}");
    assert!(out.contains("`report` needs coordination"), "{out}");
    // The remedy wraps at width 100; compare with whitespace collapsed.
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("seal `ads.out` on `id`"), "{out}");
    assert!(flat.contains("`seal: [id]`"), "{out}");
    assert!(out.contains("derivation:"), "{out}");
    assert!(out.contains("ordering at report (dynamic)"), "{out}");
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn labels_table_is_printed_on_request() {
    let r = run(&["lint", "--labels", "examples/adnet-poor.yaml"]);
    expect_code(&r, 1, "--labels");
    let row = r
        .stdout
        .lines()
        .find(|l| l.starts_with("report.response"))
        .unwrap_or_else(|| panic!("no row for report.response:\n{}", r.stdout));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["report.response", "cache", "(report)", "Inst"]
    );
    let plain = run(&["lint", "examples/adnet-poor.yaml"]);
    assert!(!plain.stdout.contains("report.response  cache (report)"));
}

#[test]
fn label_typo_exits_2_with_location_and_suggestion() {
    let file = "analyzer/tests/fixtures/bad-annotation.yaml";
    let text = read(file);
    let line = line_of(&text, "label: OWW(word)");
    let column = text.lines().nth(line - 1).unwrap().find("OWW").unwrap() + 1;
    let r = run(&["lint", file]);
    expect_code(&r, 2, "bad-annotation");
    assert!(
        r.stdout.contains(&format!("{file}:{line}:{column}")),
        "expected {file}:{line}:{column} in\n{}",
        r.stdout
    );
    assert!(r.stdout.contains("did you mean `OW`?"), "{}", r.stdout);
    assert!(r.stdout.contains("BLZ105"), "{}", r.stdout);
    assert!(
        r.stdout.contains("not analyzed (input errors)"),
        "{}",
        r.stdout
    );
}

/// Line ends of every kind YAML knows (line feed, carriage return and line feed, carriage
/// return alone) give the same line and column in the JSON output and in the human output,
/// whose snippet shows the lines apart.
#[test]
fn every_kind_of_line_end_gives_one_location_in_both_outputs() {
    for (kind, eol) in [("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")] {
        let text = [
            "components:",
            "  a: {}",
            "  b: { inputs: [a], label: CX }",
            "",
        ]
        .join(eol);
        let dir = temp_dir(&format!("eol-{kind}"));
        let file = dir.path().join("t.yaml");
        std::fs::write(&file, &text).unwrap();
        let file = file.to_str().unwrap();
        let (code, v) = json(&[file]);
        assert_eq!(code, 2, "{kind}");
        let location = &v["findings"][0]["location"];
        assert_eq!(
            (&location["line"], &location["column"]),
            (&3.into(), &28.into()),
            "{kind}"
        );
        let r = run(&["lint", "--color", "never", file]);
        expect_code(&r, 2, kind);
        assert!(
            r.stdout.contains(&format!("{file}:3:28]")),
            "{kind}:\n{}",
            r.stdout
        );
        assert!(r.stdout.contains(" 2 │   a: {}\n"), "{kind}:\n{}", r.stdout);
        assert!(
            r.stdout.contains(" 3 │   b: { inputs"),
            "{kind}:\n{}",
            r.stdout
        );
    }
}

#[test]
fn missing_file_is_a_read_error() {
    let r = run(&["lint", "no/such/topology.yaml"]);
    expect_code(&r, 2, "missing file");
    assert!(r.stdout.contains("BLZ112"), "{}", r.stdout);
    assert!(r.stdout.contains("read-error"), "{}", r.stdout);
    assert!(r.stdout.contains("no/such/topology.yaml"), "{}", r.stdout);

    let (code, v) = json(&["no/such/topology.yaml"]);
    assert_eq!(code, 2);
    assert_eq!(v["findings"][0]["name"], "read-error");
    assert_eq!(v["findings"][0]["severity"], "error");
}

#[test]
fn usage_errors_exit_2() {
    let r = run(&["lint", "--no-such-flag", "examples/adnet-poor.yaml"]);
    expect_code(&r, 2, "unknown flag");
    assert!(r.stderr.contains("--no-such-flag"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);

    let r = run(&["lint", "--deny", "no-such-code", "examples/adnet-poor.yaml"]);
    expect_code(&r, 2, "unknown --deny code");
    assert!(r.stderr.contains("no-such-code"), "{}", r.stderr);

    let r = run(&["lint"]);
    expect_code(&r, 2, "no files");

    let r = run(&["lint", "--format", "xml", "examples/adnet-poor.yaml"]);
    expect_code(&r, 2, "unknown format");

    let r = run(&["frobnicate"]);
    expect_code(&r, 2, "unknown subcommand");
}

#[test]
fn deny_escalates_warnings() {
    let r = run(&["lint", "examples/partition-split.yaml"]);
    expect_code(&r, 0, "partition-split warning");
    assert!(r.stdout.contains("BLZ004"), "{}", r.stdout);
    for code in ["partition-split", "BLZ004", "blz004"] {
        let r = run(&["lint", "--deny", code, "examples/partition-split.yaml"]);
        expect_code(&r, 1, &format!("--deny {code}"));
    }
    // Denying a code that does not occur changes nothing.
    let r = run(&[
        "lint",
        "--deny",
        "unused-seal",
        "examples/partition-split.yaml",
    ]);
    expect_code(&r, 0, "--deny unused-seal");
}

#[test]
fn version_and_help() {
    let r = run(&["--version"]);
    expect_code(&r, 0, "--version");
    assert!(r.stdout.contains(env!("CARGO_PKG_VERSION")), "{}", r.stdout);
    let r = run(&["--help"]);
    expect_code(&r, 0, "--help");
    assert!(r.stdout.contains("lint"), "{}", r.stdout);
    assert!(r.stdout.contains("explain"), "{}", r.stdout);
}

#[test]
fn explain_prints_the_doc() {
    let r = run(&["explain", "order-site"]);
    expect_code(&r, 0, "explain order-site");
    assert!(
        r.stdout.starts_with("BLZ001 order-site (error)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(blazes::report::codes::ORDER_SITE.doc));

    let r = run(&["explain", "BLZ004"]);
    expect_code(&r, 0, "explain BLZ004");
    assert!(
        r.stdout.starts_with("BLZ004 partition-split (warning)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("--deny partition-split"), "{}", r.stdout);

    let r = run(&["explain"]);
    expect_code(&r, 0, "explain (list)");
    for code in blazes::report::codes::ALL {
        assert!(
            r.stdout.contains(code.id),
            "{} missing from the list",
            code.id
        );
        assert!(
            r.stdout.contains(code.name),
            "{} missing from the list",
            code.name
        );
    }

    let r = run(&["explain", "nope"]);
    expect_code(&r, 2, "explain nope");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("nope"), "{}", r.stderr);

    let r = run(&["explain", "order-sit"]);
    expect_code(&r, 2, "explain order-sit");
    assert!(
        r.stderr.contains("did you mean `order-site`?"),
        "{}",
        r.stderr
    );
}

#[test]
fn stdin_is_read_with_a_dash() {
    let poor = read("examples/adnet-poor.yaml");
    let r = run_with(&["lint", "-"], Some(&poor), &[]);
    expect_code(&r, 1, "stdin");
    assert!(r.stdout.contains("<stdin>"), "{}", r.stdout);
    assert!(r.stdout.contains("BLZ001"), "{}", r.stdout);

    let (code, v) = {
        let r = run_with(&["lint", "--format", "json", "-"], Some(&poor), &[]);
        (r.code, serde_json::from_str::<Value>(&r.stdout).unwrap())
    };
    assert_eq!(code, 1);
    assert_eq!(v["findings"][0]["location"]["file"], "<stdin>");
    assert_eq!(v["streams"][0]["file"], "<stdin>");

    let r = run_with(&["lint", "-"], Some(""), &[]);
    expect_code(&r, 2, "empty stdin");
}

// ---- JSON contract ---------------------------------------------------------------------------

/// Checks the shape of a JSON document (SPEC: the JSON contract of report/json.rs).
fn assert_contract(v: &Value) {
    assert_eq!(v["schema"], 1, "{v}");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["plan_verified"].is_boolean());
    for key in ["errors", "warnings", "notes"] {
        assert!(v["summary"][key].is_u64(), "summary.{key}");
    }
    for s in v["streams"].as_array().expect("`streams` is an array") {
        let from = s["from"].as_str().expect("`from` is a string");
        let (comp, port) = from.split_once('.').expect("`from` is component.output");
        assert!(!comp.is_empty() && !port.is_empty(), "{from}");
        assert!(s["to"].is_string() || s["to"].is_null(), "{s}");
        assert_eq!(s["to"].is_null(), s["input"].is_null(), "{s}");
        assert!(s["label"].is_string(), "{s}");
        assert!(s["file"].is_string(), "{s}");
        assert!(s["derivation"].is_array(), "{s}");
    }
    for f in v["findings"].as_array().expect("`findings` is an array") {
        let code = f["code"].as_str().expect("`code` is a string");
        let known = blazes::report::codes::lookup(code).expect("a registered code");
        assert_eq!(f["name"], known.name);
        let severity = f["severity"].as_str().unwrap();
        assert!(["error", "warning", "note"].contains(&severity), "{f}");
        assert!(
            f["component"].is_string() || f["component"].is_null(),
            "{f}"
        );
        assert!(f["message"].is_string(), "{f}");
        assert!(f["remedy"].is_string() || f["remedy"].is_null(), "{f}");
        let loc = &f["location"];
        assert!(loc["file"].is_string(), "{f}");
        assert!(loc["line"].as_u64().unwrap() >= 1, "{f}");
        assert!(loc["column"].as_u64().unwrap() >= 1, "{f}");
        assert!(f["related"].is_array() && f["derivation"].is_array(), "{f}");
    }
    for s in v["sites"].as_array().expect("`sites` is an array") {
        assert!(
            ["order", "seal"].contains(&s["kind"].as_str().unwrap()),
            "{s}"
        );
    }
}

#[test]
fn json_contract_for_adnet_poor() {
    let file = "examples/adnet-poor.yaml";
    let (code, v) = json(&[file]);
    assert_eq!(code, 1);
    assert_contract(&v);

    let streams = v["streams"].as_array().unwrap();
    let response = streams
        .iter()
        .find(|s| s["from"] == "report.response" && s["to"] == "cache")
        .expect("a stream report.response -> cache");
    assert_eq!(response["label"], "Inst");
    assert_eq!(response["input"], "report");
    assert_eq!(response["file"], file);
    let sink = streams
        .iter()
        .find(|s| s["from"] == "cache.out")
        .expect("the sink stream cache.out");
    assert!(sink["to"].is_null());
    assert_eq!(sink["label"], "Diverge");

    let findings = v["findings"].as_array().unwrap();
    let site = findings
        .iter()
        .find(|f| f["code"] == "BLZ001")
        .expect("an order-site finding");
    assert_eq!(site["name"], "order-site");
    assert_eq!(site["severity"], "error");
    assert_eq!(site["component"], "report");
    let text = read(file);
    let line = line_of(&text, "label: OR(id)");
    let column = text.lines().nth(line - 1).unwrap().find("OR(id)").unwrap() + 1;
    assert_eq!(site["location"]["file"], file);
    assert_eq!(site["location"]["line"], line);
    assert_eq!(site["location"]["column"], column);
    let remedy = site["remedy"].as_str().unwrap();
    assert!(remedy.contains("seal `ads.out` on `id`"), "{remedy}");
    assert!(!site["derivation"].as_array().unwrap().is_empty());
    assert!(!site["related"].as_array().unwrap().is_empty());

    let inherited = findings
        .iter()
        .find(|f| f["code"] == "BLZ003")
        .expect("an inherited finding");
    assert_eq!(inherited["severity"], "warning");
    assert_eq!(inherited["component"], "cache");

    assert_eq!(v["summary"]["errors"], 1);
    assert_eq!(v["summary"]["warnings"], 1);
    let sites = v["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0]["component"], "report");
    assert_eq!(sites[0]["kind"], "order");
    assert_eq!(sites[0]["strategy"], "dynamic");
}

#[test]
fn json_contract_for_every_example_and_fixture() {
    let mut files = Vec::new();
    for folder in ["examples", "analyzer/tests/fixtures"] {
        for e in std::fs::read_dir(workspace().join(folder)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".yaml") {
                files.push(format!("{folder}/{name}"));
            }
        }
    }
    files.sort();
    for file in files {
        let (code, v) = json(&[&file]);
        assert!((0..=2).contains(&code), "{file}: exit {code}");
        assert_contract(&v);
        let errors = v["summary"]["errors"].as_u64().unwrap();
        assert_eq!(
            code == 0,
            errors == 0,
            "{file}: exit {code} with {errors} errors"
        );
    }
}

#[test]
fn json_column_counts_characters() {
    let file = "analyzer/tests/fixtures/odd-unicode.yaml";
    let text = read(file);
    let (code, v) = json(&[file]);
    assert_eq!(code, 2);
    assert_contract(&v);
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        assert_eq!(f["name"], "bad-annotation", "{f}");
        let line = usize::try_from(f["location"]["line"].as_u64().unwrap()).unwrap();
        let column = usize::try_from(f["location"]["column"].as_u64().unwrap()).unwrap();
        let src = text.lines().nth(line - 1).unwrap();
        let at: String = src.chars().skip(column - 1).take(2).collect();
        assert_eq!(at, "CX", "line {line} column {column}: {src}");
        let offset = usize::try_from(f["location"]["offset"].as_u64().unwrap()).unwrap();
        assert_eq!(&text[offset..offset + 2], "CX");
    }
}

// ---- colour ------------------------------------------------------------------------------------

#[test]
fn color_choice() {
    let file = "examples/adnet-poor.yaml";
    let r = run(&["lint", "--color", "always", file]);
    expect_code(&r, 1, "--color always");
    assert!(has_ansi(&r.stdout), "no ANSI escapes with --color always");

    let r = run(&["lint", "--color", "never", file]);
    expect_code(&r, 1, "--color never");
    assert!(!has_ansi(&r.stdout), "ANSI escapes with --color never");

    let r = run_with(
        &["lint", "--color", "auto", file],
        None,
        &[("NO_COLOR", "1")],
    );
    expect_code(&r, 1, "--color auto, NO_COLOR");
    assert!(!has_ansi(&r.stdout), "ANSI escapes with NO_COLOR=1");

    // Not a terminal: auto means no colour.
    let r = run(&["lint", file]);
    assert!(!has_ansi(&r.stdout), "ANSI escapes when stdout is a pipe");

    // JSON never carries colour.
    let r = run(&["lint", "--format", "json", "--color", "always", file]);
    assert!(!has_ansi(&r.stdout));
}

// ---- several files -----------------------------------------------------------------------------

#[test]
fn several_files() {
    let r = run(&[
        "lint",
        "examples/adnet-thresh.yaml",
        "examples/wordcount.yaml",
    ]);
    expect_code(&r, 1, "thresh + wordcount");
    assert!(
        r.stdout.contains("examples/adnet-thresh.yaml: 0 errors"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("examples/wordcount.yaml: 1 error"),
        "{}",
        r.stdout
    );

    let r = run(&[
        "lint",
        "analyzer/tests/fixtures/bad-annotation.yaml",
        "examples/adnet-thresh.yaml",
    ]);
    expect_code(&r, 2, "input error + valid file");
    // The valid file is still analyzed.
    assert!(
        r.stdout.contains("examples/adnet-thresh.yaml: 0 errors"),
        "{}",
        r.stdout
    );

    // An input error wins over findings.
    let r = run(&["lint", "examples/adnet-poor.yaml", "no/such/file.yaml"]);
    expect_code(&r, 2, "findings + missing file");

    let (code, v) = json(&["examples/adnet-thresh.yaml", "examples/wordcount.yaml"]);
    assert_eq!(code, 1);
    assert_contract(&v);
    let files: BTreeSet<&str> = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        BTreeSet::from(["examples/adnet-thresh.yaml", "examples/wordcount.yaml"])
    );
}

// ---- determinism and no side effects -----------------------------------------------------------

/// Rewrites a topology with its components in reverse order (top-level keys other than
/// `components` are kept). Relies on the examples' layout: component names indented by two
/// spaces, their bodies by four.
fn reverse_components(text: &str) -> String {
    let mut head = Vec::new();
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    let mut in_components = false;
    for line in text.lines() {
        if line == "components:" {
            in_components = true;
            head.push(line);
        } else if in_components && line.starts_with("  ") && !line.starts_with("   ") {
            blocks.push(vec![line]);
        } else if in_components && line.starts_with("    ") {
            blocks.last_mut().unwrap().push(line);
        } else {
            in_components = false;
            head.push(line);
        }
    }
    assert!(blocks.len() > 1);
    blocks.reverse();
    let mut out = head.join("\n");
    for b in blocks {
        out.push('\n');
        out.push_str(&b.join("\n"));
    }
    out.push('\n');
    out
}

/// The entries of the array `key` (`streams` or `sites`) without their `file`, as comparable
/// strings, in output order.
fn without_file(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.as_object_mut().unwrap().remove("file");
            s.to_string()
        })
        .collect()
}

fn finding_set(v: &Value) -> BTreeSet<(String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["component"].as_str().unwrap_or_default().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn output_does_not_depend_on_component_order_and_lint_writes_nothing() {
    let original = "examples/adnet-poor.yaml";
    let text = read(original);
    let reordered = reverse_components(&text);
    assert_ne!(reordered, text);

    let dir = temp_dir("determinism");
    let copy = dir.path().join("adnet-poor-reordered.yaml");
    std::fs::write(&copy, &reordered).unwrap();
    let before = listing(dir.path());

    let (code_a, a) = json(&[original]);
    let (code_b, b) = json(&[copy.to_str().unwrap()]);
    assert_eq!(code_a, 1);
    assert_eq!(code_b, 1);
    assert_eq!(without_file(&a, "streams"), without_file(&b, "streams"));
    assert_eq!(finding_set(&a), finding_set(&b));
    assert_eq!(without_file(&a, "sites"), without_file(&b, "sites"));
    assert_eq!(a["summary"], b["summary"]);

    // The human report too, apart from file names and positions.
    let r = run(&["lint", "--labels", copy.to_str().unwrap()]);
    expect_code(&r, 1, "reordered, human");
    assert!(
        r.stdout.contains("ordering at report (dynamic)"),
        "{}",
        r.stdout
    );

    // Running the same file twice gives byte-identical output.
    let first = run(&["lint", "--format", "json", copy.to_str().unwrap()]);
    let second = run(&["lint", "--format", "json", copy.to_str().unwrap()]);
    assert_eq!(first.stdout, second.stdout);

    // Nothing was written next to the input, and the input is unchanged.
    assert_eq!(listing(dir.path()), before);
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), reordered);

    // Nor in the current directory of the run.
    let cwd = temp_dir("cwd");
    std::fs::write(cwd.path().join("t.yaml"), &text).unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("blazes").unwrap();
    let out = cmd
        .current_dir(cwd.path())
        .args(["lint", "--labels", "t.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(listing(cwd.path()), ["t.yaml"]);
}

// ---- regressions: bugs found while testing the CLI ---------------------------------------------

#[test]
fn human_column_counts_characters() {
    let file = "analyzer/tests/fixtures/odd-unicode.yaml";
    let text = read(file);
    let line = line_of(&text, "終わり");
    let src = text.lines().nth(line - 1).unwrap();
    let column = src[..src.find("CX").unwrap()].chars().count() + 1;
    let r = run(&["lint", file]);
    expect_code(&r, 2, "odd-unicode");
    assert!(
        r.stdout.contains(&format!("{file}:{line}:{column}]")),
        "expected {file}:{line}:{column} in\n{}",
        r.stdout
    );
}

#[test]
fn duplicate_component_is_a_duplicate_name() {
    let yaml = "components:\n  src: {}\n  src: {}\n";
    let r = run_with(&["lint", "--format", "json", "-"], Some(yaml), &[]);
    expect_code(&r, 2, "duplicate component");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["findings"][0]["name"], "duplicate-name", "{v}");
}

#[test]
fn stdin_summary_names_stdin() {
    let poor = read("examples/adnet-poor.yaml");
    let r = run_with(&["lint", "-"], Some(&poor), &[]);
    assert!(r.stdout.contains("<stdin>: 1 error"), "{}", r.stdout);
}

#[test]
fn suggestion_is_deterministic() {
    let yaml = "components:\n  srca: {}\n  srcb: {}\n  srcc: {}\n  srcd: {}\n  \
                sink: { inputs: [srcx], label: CR }\n";
    let first = run_with(&["lint", "-"], Some(yaml), &[]).stdout;
    for _ in 0..8 {
        assert_eq!(run_with(&["lint", "-"], Some(yaml), &[]).stdout, first);
    }
}

/// The JSON document's streams share one set of derivations (a set per stream made `--format
/// json` quadratic); each must still read as the stream's own derivation, loops included.
#[test]
fn json_stream_derivations_are_each_streams_own() {
    #[path = "../benches/topogen/mod.rs"]
    mod topogen;
    let mut texts = vec![("cycle.yaml".to_string(), read("examples/cycle.yaml"))];
    texts.push(("layered.yaml".to_string(), topogen::generate(3_000)));
    let mut closes_a_loop = false;
    for (name, text) in texts {
        let report = blazes::check_str(&name, &text, &blazes::CheckOptions::default()).unwrap();
        let expected: Vec<Vec<String>> = blazes::cli::streams(&report.topology)
            .map(|(from, _)| report.analysis.derivation(&report.topology, from))
            .collect();
        let mut out = Vec::new();
        blazes::cli::write_json(&[Ok(report)], false, &mut out).unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        let written: Vec<Vec<String>> = doc["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| serde_json::from_value(s["derivation"].clone()).unwrap())
            .collect();
        assert_eq!(written.len(), expected.len(), "{name}");
        assert!(expected.iter().any(|d| d.len() > 3), "{name}: long chains");
        closes_a_loop |= expected
            .iter()
            .any(|d| d.first().is_some_and(|l| l.contains("fed back")));
        for (i, (w, e)) in written.iter().zip(&expected).enumerate() {
            assert_eq!(w, e, "{name}: stream {i}");
        }
    }
    assert!(closes_a_loop, "some chain closes a loop");
}

/// A chain of 300 confluent components below the component where an anomaly starts: every
/// derivation past the first few would list every component above it. The JSON and the human
/// output show a long run of steps that keep the label by its ends and a count of the rest.
#[test]
fn derivations_along_a_long_chain_count_the_steps_that_keep_the_label() {
    let mut yaml = String::from(
        "name: chain\ncomponents:\n  s: {}\n  o: { inputs: [s], label: OW(id) }\n  c1: { inputs: [o], label: CR }\n",
    );
    for i in 2..=300 {
        yaml.push_str(&format!("  c{i}: {{ inputs: [c{}], label: CR }}\n", i - 1));
    }
    // An order-sensitive component at the end: its finding shows the chain above it.
    yaml.push_str("  t: { inputs: [c300], label: OW(id) }\n");
    let r = run_with(&["lint", "--format", "json", "-"], Some(&yaml), &[]);
    expect_code(&r, 1, "an order site");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let streams = doc["streams"].as_array().unwrap();
    let last = streams
        .iter()
        .find(|s| s["from"] == "c300.out")
        .expect("the last stream");
    let lines: Vec<&str> = last["derivation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    // The source, the origin at `o`, c1..c3, the count, c298..c300.
    assert_eq!(lines.len(), 9, "{lines:#?}");
    assert!(lines[0].starts_with("`s.out` is a source"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("`o`: s -> out is OW(id)"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("`c1`:") && lines[4].starts_with("`c3`:"));
    assert_eq!(
        lines[5],
        "… 294 more steps, each keeping the label it is fed …"
    );
    assert!(lines[6].starts_with("`c298`:") && lines[8].starts_with("`c300`:"));
    // Every stream's derivation is bounded, so the document grows with the chain, not its
    // square.
    assert!(
        streams
            .iter()
            .all(|s| s["derivation"].as_array().unwrap().len() <= 10)
    );
    // `t`'s finding: its own step keeps `Run` too, so the run it ends is one longer.
    let human = run_with(&["lint", "--color", "never", "-"], Some(&yaml), &[]);
    assert!(
        human.stdout.contains(
            "    6. … 295 more steps, each keeping the label it is fed …\n    7. `c299`:"
        ),
        "{}",
        human.stdout
    );
}

/// A topology of `n` sources and a `sink` labelled `label` that reads from every one of them
/// (inputs `i0`… from `s0`…, written last).
fn fan_in(n: usize, label: &str) -> String {
    let mut yaml = String::from("name: fan\ncomponents:\n");
    for i in 0..n {
        yaml.push_str(&format!("  s{i}: {{}}\n"));
    }
    yaml.push_str(&format!("  sink:\n    label: {label}\n    inputs:\n"));
    for i in 0..n {
        yaml.push_str(&format!("      i{i}: {{ from: s{i} }}\n"));
    }
    yaml
}

/// A component reading from 100 producers: the human output draws a dozen of its marked inputs
/// and counts the rest, its remedy names eight seals and counts the rest, and the JSON output
/// keeps every one (`related`, and the site's `seals`).
#[test]
fn a_wide_component_is_summed_up_in_the_human_output_and_whole_in_json() {
    let yaml = fan_in(100, "OW(id)");
    let human = run_with(&["lint", "--color", "never", "-"], Some(&yaml), &[]);
    expect_code(&human, 1, "an order site");
    assert_eq!(human.stdout.matches("arrives Async from").count(), 12);
    assert!(
        human
            .stdout
            .contains("  … and 88 more marked spots, not shown here"),
        "{}",
        human.stdout
    );
    let r = run_with(&["lint", "--format", "json", "-"], Some(&yaml), &[]);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let finding = &doc["findings"][0];
    assert_eq!(finding["component"], "sink");
    let remedy = finding["remedy"].as_str().unwrap();
    assert_eq!(remedy.matches("seal `s").count(), 8, "{remedy}");
    assert!(
        remedy.contains("and 92 more producers likewise"),
        "{remedy}"
    );
    assert_eq!(finding["related"].as_array().unwrap().len(), 100);
    assert_eq!(doc["sites"][0]["seals"].as_array().unwrap().len(), 100);
}

/// Past the first few inputs and outputs, names already taken are found in a map: a name
/// written twice among many is still reported where it repeats, pointing at its first
/// definition.
#[test]
fn an_input_or_output_repeated_among_many_is_reported_at_the_repeat() {
    let mut yaml = fan_in(10, "CR");
    yaml.push_str("      i7: { from: s9 }\n");
    let r = run_with(&["lint", "--format", "json", "-"], Some(&yaml), &[]);
    expect_code(&r, 2, "a duplicate input");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let finding = &doc["findings"][0];
    assert_eq!(finding["code"], "BLZ102", "{finding}");
    assert_eq!(finding["message"], "input `i7` of `sink` is defined twice");
    assert_eq!(
        finding["location"]["line"],
        line_of(&yaml, "      i7: { from: s9 }")
    );
    assert_eq!(
        finding["related"][0]["location"]["line"],
        line_of(&yaml, "      i7: { from: s7 }")
    );
    // Outputs: a mapping does not repeat keys in YAML, so the repeat is spelled differently
    // but reads as the same name (a quoted key).
    let mut yaml = String::from("name: outs\ncomponents:\n  src:\n    outputs:\n");
    for i in 0..10 {
        yaml.push_str(&format!("      o{i}: {{}}\n"));
    }
    yaml.push_str("      \"o7\": {}\n");
    let r = run_with(&["lint", "--format", "json", "-"], Some(&yaml), &[]);
    expect_code(&r, 2, "a duplicate output");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let messages: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"output `o7` of `src` is defined twice"),
        "{messages:?}"
    );
}
