//! The minimized fuzzing corpus (`fuzz/corpus/<target>/`) as regression tests: every file goes
//! through the same harness as the cargo-fuzz targets, so CI checks them without nightly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the {target} corpus is empty");
    files
}

fn run(target: &str, f: fn(&[u8])) {
    for file in corpus(target) {
        let data = std::fs::read(&file).unwrap();
        let name = file.display().to_string();
        let result = std::panic::catch_unwind(|| f(&data));
        assert!(result.is_ok(), "{target}: {name} panics");
    }
}

#[test]
fn yaml_loader_corpus() {
    run("yaml_loader", harness::yaml);
}

#[test]
fn flux_loader_corpus() {
    run("flux_loader", harness::flux);
}

#[test]
fn analyze_corpus() {
    run("analyze", harness::analyze);
}
