//! `blazes fix`: the generated shims of the bundled examples are checked into the example crates
//! (so the normal build compiles them) and regenerating them is byte-identical; the CLI writes,
//! diffs, and writes nothing on bad input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the package lives inside the workspace")
        .to_path_buf()
}

/// (topology, checked-in shim) pairs.
const SHIMS: &[(&str, &str)] = &[
    (
        "examples/wordcount-sealed.yaml",
        "examples/wordcount-timely/src/sealed_shim.rs",
    ),
    (
        "examples/wordcount.yaml",
        "examples/wordcount-timely/src/ordered_shim.rs",
    ),
    (
        "examples/adnet-campaign-sealed.yaml",
        "examples/campaign-timely/src/sealed_shim.rs",
    ),
    (
        "examples/adnet-campaign.yaml",
        "examples/campaign-timely/src/ordered_shim.rs",
    ),
];

fn generate(yaml: &str) -> String {
    let path = workspace().join(yaml);
    let text = std::fs::read_to_string(&path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let report = blazes::check_str(&name, &text, &Default::default()).unwrap();
    blazes::codegen::generate(&report, &name).unwrap()
}

#[test]
fn checked_in_shims_are_byte_identical_to_a_regeneration() {
    for (yaml, shim) in SHIMS {
        let want = std::fs::read_to_string(workspace().join(shim)).unwrap();
        let got = generate(yaml);
        assert!(
            got == want,
            "{shim} is stale: run `cargo run -p blazes -- fix {yaml} --out {shim}`\n{}",
            blazes::codegen::diff::unified(shim, &want, &got)
        );
    }
}

#[test]
fn generation_is_deterministic_and_documents_the_finding() {
    let a = generate("examples/wordcount-sealed.yaml");
    assert_eq!(a, generate("examples/wordcount-sealed.yaml"));
    assert!(a.contains("Answers BLZ002 seal-site"));
    assert!(a.contains("pub trait CountWordsFields"));
    assert!(a.contains("fn batch(&self) -> Self::Batch;"));
    assert!(a.contains("fn word(&self) -> Self::Word;"), "routing field");
    assert!(a.contains("pub fn count_words_seal_barrier"));
    let b = generate("examples/adnet-campaign.yaml");
    assert!(b.contains("Answers BLZ001 order-site"));
    assert!(b.contains("Why dynamic"));
    assert!(b.contains("order_dynamic"));
    let c = generate("examples/wordcount.yaml");
    assert!(c.contains("Why deterministic"));
    assert!(c.contains("order_deterministic"));
}

#[test]
fn every_bundled_example_generates_code_that_parses() {
    let mut checked = 0;
    for entry in std::fs::read_dir(workspace().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            // Examples of input errors (if any) have nothing to generate.
            let Ok(report) = blazes::check_str("example.yaml", &text, &Default::default()) else {
                continue;
            };
            let code = blazes::codegen::generate(&report, "example.yaml").unwrap();
            syn::parse_file(&code).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} examples");
}

#[test]
fn awkward_names_become_valid_distinct_identifiers() {
    let yaml = "components:
  src:
    outputs:
      out: { fields: [type, my-key, x.y], seal: [type] }
  my-count:
    inputs: { in: src }
    label: OW(type, my-key)
  my_count:
    inputs: { in: src }
    label: OW(type)
";
    let report = blazes::check_str("t.yaml", yaml, &Default::default()).unwrap();
    let code = blazes::codegen::generate(&report, "t.yaml").unwrap();
    syn::parse_file(&code).unwrap();
    assert!(code.contains("fn type_(&self)"), "{code}");
    assert!(code.contains("pub trait MyCountInFields"));
    assert!(code.contains("pub trait MyCountIn2Fields"));
    assert!(code.contains("pub fn my_count_in_2_barrier"));
}

fn blazes(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("blazes")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A scratch directory holding a copy of the sealed word count, removed when dropped (even when
/// the test fails).
fn scratch(name: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("blazes-fix-{name}-"))
        .tempdir()
        .unwrap();
    std::fs::copy(
        workspace().join("examples/wordcount-sealed.yaml"),
        dir.path().join("wordcount-sealed.yaml"),
    )
    .unwrap();
    dir
}

#[test]
fn fix_writes_the_module_and_diff_shows_changes_only() {
    let dir = scratch("write");
    // --diff against a file that does not exist: a patch from /dev/null, nothing written.
    let (code, stdout, _) = blazes(
        &["fix", "wordcount-sealed.yaml", "--out", "shim.rs", "--diff"],
        dir.path(),
    );
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("--- /dev/null\n+++ b/shim.rs\n"),
        "{stdout}"
    );
    assert!(
        !dir.path().join("shim.rs").exists(),
        "--diff writes nothing"
    );
    // Write it.
    let (code, _, stderr) = blazes(
        &["fix", "wordcount-sealed.yaml", "--out", "shim.rs"],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read_to_string(dir.path().join("shim.rs")).unwrap();
    assert_eq!(written, generate("examples/wordcount-sealed.yaml"));
    // Up to date: an empty diff.
    let (code, stdout, _) = blazes(
        &["fix", "wordcount-sealed.yaml", "--out", "shim.rs", "--diff"],
        dir.path(),
    );
    assert_eq!((code, stdout.as_str()), (0, ""));
    // A hand edit shows up as a hunk that reverts it.
    std::fs::write(
        dir.path().join("shim.rs"),
        written.replace("count_words_key", "edited"),
    )
    .unwrap();
    let (code, stdout, _) = blazes(
        &["fix", "wordcount-sealed.yaml", "--out", "shim.rs", "--diff"],
        dir.path(),
    );
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("--- a/shim.rs\n+++ b/shim.rs\n@@ "),
        "{stdout}"
    );
    assert!(stdout.contains("\n-pub fn edited<R: CountWordsFields>"));
    assert!(stdout.contains("\n+pub fn count_words_key<R: CountWordsFields>"));
}

#[test]
fn fix_writes_nothing_on_bad_input_and_exits_2() {
    let dir = scratch("bad");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "components:\n  a: { label: XX }\n",
    )
    .unwrap();
    let (code, _, stderr) = blazes(&["fix", "bad.yaml", "--out", "shim.rs"], dir.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("nothing written"), "{stderr}");
    assert!(!dir.path().join("shim.rs").exists());
    // Unreadable input.
    let (code, _, _) = blazes(&["fix", "missing.yaml", "--out", "shim.rs"], dir.path());
    assert_eq!(code, 2);
    assert!(!dir.path().join("shim.rs").exists());
    // Unwritable output.
    let (code, _, stderr) = blazes(
        &[
            "fix",
            "wordcount-sealed.yaml",
            "--out",
            "no/such/dir/shim.rs",
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot write"));
    // Missing --out is a usage error.
    let (code, _, _) = blazes(&["fix", "wordcount-sealed.yaml"], dir.path());
    assert_eq!(code, 2);
}
