//! `blazes lint CRATE`: the `#[blazes]` attributes of a crate's sources, read with syn, joined
//! with the crate's `blazes.yaml`; findings point into the `.rs` files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The workspace root (the parent of the `analyzer` package).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the package lives inside the workspace")
        .to_path_buf()
}

/// Runs `blazes ARGS` in `dir`: exit code and stdout.
fn blazes(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("blazes")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn json(dir: &Path, target: &str) -> (i32, Value) {
    let (code, out) = blazes(dir, &["lint", "--format", "json", target]);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}")),
    )
}

/// A throwaway crate under the system's temporary directory, removed on drop.
struct TempCrate(PathBuf);

impl TempCrate {
    fn new(name: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("blazes-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        TempCrate(dir)
    }
}

impl Drop for TempCrate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The one-based line of the example's src/ops.rs that starts with `text`.
fn line_of(text: &str) -> u64 {
    let ops = std::fs::read_to_string(workspace().join("examples/rust-ops/src/ops.rs")).unwrap();
    let i = ops.lines().position(|l| l.starts_with(text)).unwrap();
    i as u64 + 1
}

const MANIFEST: &str = "[package]\nname = \"t\"\nversion = \"0.1.0\"\nedition = \"2024\"\n";

const OPS: &str = "use blazes_annotations::blazes;

#[blazes(seal(batch))]
pub fn words() {}

#[blazes(OW(word, batch))]
pub struct Count;
";

const WIRING: &str = "components:
  words:
    rust: crate::ops::words
    outputs:
      out: { fields: [word, batch] }
  count:
    rust: crate::ops::Count
    inputs: [words]
";

#[test]
fn lint_of_the_example_crate() {
    let (code, out) = blazes(
        &workspace(),
        &["lint", "examples/rust-ops", "--color", "never"],
    );
    assert_eq!(code, 0, "{out}");
    // The seal and the annotation are shown where they are written: in src/ops.rs.
    let line = line_of("#[blazes(OW(word, batch))]");
    assert!(
        out.contains(&format!("╭─[examples/rust-ops/src/ops.rs:{line}:10]")),
        "{out}"
    );
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        description => "blazes lint examples/rust-ops --color never",
        omit_expression => true,
    }, {
        insta::assert_snapshot!("crate__rust-ops", out);
    });
}

#[test]
fn the_crate_can_be_named_by_its_manifest_and_json_locations_are_in_rs_files() {
    let (code, doc) = json(&workspace(), "examples/rust-ops/Cargo.toml");
    assert_eq!(code, 0);
    let finding = &doc["findings"][0];
    assert_eq!(finding["name"], "seal-site");
    let at = &finding["location"];
    assert_eq!(at["file"], "examples/rust-ops/src/ops.rs");
    assert_eq!(
        (at["line"].as_u64(), at["column"].as_u64()),
        (Some(line_of("#[blazes(OW(word, batch))]")), Some(10))
    );
    // The offset counts from the start of the .rs file, not of the bundle.
    let text = std::fs::read_to_string(workspace().join("examples/rust-ops/src/ops.rs")).unwrap();
    let offset = at["offset"].as_u64().unwrap() as usize;
    let len = at["length"].as_u64().unwrap() as usize;
    assert_eq!(&text[offset..offset + len], "OW(word, batch)");
    let related = &finding["related"][0]["location"];
    assert_eq!(related["file"], "examples/rust-ops/src/ops.rs");
    assert_eq!(
        related["line"].as_u64(),
        Some(line_of("#[blazes(seal(batch), name = \"tweets\")]"))
    );
    // Streams are reported against the topology file.
    assert_eq!(doc["streams"][0]["file"], "examples/rust-ops/blazes.yaml");
}

#[test]
fn a_crate_named_by_an_absolute_path_shows_its_files_under_that_path() {
    let dir = workspace().join("examples/rust-ops");
    let root = dir.to_string_lossy().into_owned();
    let (code, doc) = json(&workspace(), &root);
    assert_eq!(code, 0);
    let shown = |v: &Value| v.as_str().unwrap_or_default().to_string();
    assert_eq!(
        shown(&doc["findings"][0]["location"]["file"]),
        format!("{root}/src/ops.rs")
    );
    assert_eq!(
        shown(&doc["streams"][0]["file"]),
        format!("{root}/blazes.yaml")
    );
}

#[test]
fn a_crate_without_a_seal_has_an_order_site_in_the_rs_file() {
    // `words` without its attribute: an unsealed source.
    let ops = OPS.replace("#[blazes(seal(batch))]\n", "");
    let t = TempCrate::new(
        "unsealed",
        &[
            ("Cargo.toml", MANIFEST),
            ("src/ops.rs", &ops),
            ("src/lib.rs", "pub mod ops;\n"),
            (
                "blazes.yaml",
                &WIRING.replace("    rust: crate::ops::words\n", ""),
            ),
        ],
    );
    let (code, doc) = json(&t.0, ".");
    assert_eq!(code, 1, "{doc}");
    let finding = &doc["findings"][0];
    assert_eq!(finding["name"], "order-site");
    assert_eq!(finding["location"]["file"], "src/ops.rs");
    assert_eq!(finding["location"]["line"], 5);
}

#[test]
fn a_conflict_between_the_yaml_and_the_attribute_points_at_both() {
    let t = TempCrate::new(
        "conflict",
        &[
            ("Cargo.toml", MANIFEST),
            ("src/ops/mod.rs", OPS),
            ("src/lib.rs", "pub mod ops;\n"),
            ("blazes.yaml", &format!("{WIRING}    label: CR\n")),
        ],
    );
    let (code, doc) = json(&t.0, "Cargo.toml");
    assert_eq!(code, 2, "{doc}");
    let finding = &doc["findings"][0];
    assert_eq!(finding["code"], "BLZ113");
    assert_eq!(finding["name"], "annotation-conflict");
    assert_eq!(finding["location"]["file"], "src/ops/mod.rs");
    assert_eq!(finding["location"]["line"], 6);
    assert_eq!(finding["related"][0]["location"]["file"], "blazes.yaml");
    assert_eq!(finding["related"][0]["location"]["line"], 9);
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("OW(word, batch)") && message.contains("CR"),
        "{message}"
    );
}

#[test]
fn rust_errors_are_input_errors_with_their_location() {
    let t = TempCrate::new(
        "syntax",
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/ops.rs",
                &OPS.replace("pub struct Count;", "pub struct Count {"),
            ),
            ("src/lib.rs", "pub mod ops;\n"),
            ("blazes.yaml", WIRING),
        ],
    );
    let (code, doc) = json(&t.0, ".");
    assert_eq!(code, 2);
    let finding = &doc["findings"][0];
    assert_eq!(finding["name"], "rust-syntax");
    assert_eq!(finding["location"]["file"], "src/ops.rs");

    // A bad attribute is the error the compiler would give, at the same token.
    std::fs::write(
        t.0.join("src/ops.rs"),
        OPS.replace("OW(word, batch)", "OW(word, batch, word)"),
    )
    .unwrap();
    let (code, doc) = json(&t.0, ".");
    assert_eq!(code, 2);
    let finding = &doc["findings"][0];
    assert_eq!(finding["name"], "bad-annotation");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("appears twice")
    );
    assert_eq!(finding["location"]["line"], 6);
    assert_eq!(finding["location"]["column"], 26);
}

#[test]
fn references_and_the_topology_file_are_checked() {
    let t = TempCrate::new(
        "refs",
        &[
            (
                "Cargo.toml",
                &format!(
                    "{MANIFEST}\n[package.metadata.blazes]\ntopology = \"wiring/prod.yaml\"\n"
                ),
            ),
            ("src/lib.rs", OPS),
            (
                "wiring/prod.yaml",
                &WIRING
                    .replace("crate::ops::Count", "crate::Cont")
                    .replace("crate::ops::words", "words"),
            ),
        ],
    );
    let (code, doc) = json(&t.0, ".");
    assert_eq!(code, 2, "{doc}");
    let finding = &doc["findings"][0];
    assert_eq!(finding["name"], "dangling-reference");
    assert_eq!(finding["location"]["file"], "wiring/prod.yaml");
    assert_eq!(finding["remedy"], "did you mean `crate::Count`?");

    std::fs::remove_file(t.0.join("wiring/prod.yaml")).unwrap();
    let (code, doc) = json(&t.0, ".");
    assert_eq!(code, 2);
    assert_eq!(doc["findings"][0]["name"], "read-error");
    assert!(
        doc["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("wiring/prod.yaml")
    );
}
