//! Snapshot tests of the human report (no colour, width 100) for every example topology and
//! every fixture, plus a check that every finding code has a fixture that still shows it.
//!
//! Snapshots live in the workspace-level `snapshots/` folder. Accept changes with
//! `INSTA_UPDATE=always cargo test -p blazes --test snapshots` and review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use blazes::report::{Diagnostic, codes, human};

/// The workspace root (the parent of the `analyzer` package).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the package lives inside the workspace")
        .to_path_buf()
}

/// The `.yaml` files of a workspace-relative folder, as sorted workspace-relative paths.
fn yaml_files(folder: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(workspace().join(folder))
        .unwrap_or_else(|e| panic!("cannot list {folder}: {e}"))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".yaml"))
        .map(|name| format!("{folder}/{name}"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .yaml files in {folder}");
    files
}

/// Reads a workspace-relative file.
fn read(rel: &str) -> String {
    std::fs::read_to_string(workspace().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Checks one file under its workspace-relative name: the findings, or the input errors.
fn check(rel: &str) -> Result<blazes::Report, Vec<Diagnostic>> {
    blazes::check_str(rel, &read(rel), &blazes::CheckOptions::default())
}

/// The human report of one file, as `blazes lint --labels --color never` prints it.
fn human_report(rel: &str) -> String {
    match check(rel) {
        Err(diags) => format!(
            "{}{rel}: {}; not analyzed (input errors)\n",
            human::render(&diags, human::Style::default()),
            human::summary(&diags)
        ),
        Ok(r) => {
            let t = &r.topology;
            let rows: Vec<(String, String, String)> = blazes::cli::streams(t)
                .map(|(from, to)| {
                    let to = to.map_or_else(
                        || "(sink)".to_string(),
                        |(c, i)| {
                            let comp = &t.components[c];
                            format!("{}.{}", comp.name, comp.inputs[i].name)
                        },
                    );
                    (t.port_name(from), to, r.analysis.label(from).to_string())
                })
                .collect();
            format!(
                "{}{}\n{rel}: {}\n",
                human::render(&r.findings, human::Style::default()),
                human::label_table(&rows),
                human::summary(&r.findings)
            )
        }
    }
}

/// Snapshots every file of `folder` under `<prefix>__<file stem>`.
fn snapshot_folder(folder: &str, prefix: &str) {
    for rel in yaml_files(folder) {
        let stem = Path::new(&rel)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap()
            .to_string();
        let output = human_report(&rel);
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            description => rel.clone(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{prefix}__{stem}"), output);
        });
    }
}

#[test]
fn examples() {
    snapshot_folder("examples", "example");
}

#[test]
fn fixtures() {
    snapshot_folder("analyzer/tests/fixtures", "fixture");
}

#[test]
fn every_code_has_a_fixture_that_shows_it() {
    let mut missing = Vec::new();
    for code in codes::ALL {
        if code.name == codes::READ_ERROR.name {
            continue; // a missing file: tested in tests/cli.rs
        }
        let rel = format!("analyzer/tests/fixtures/{}.yaml", code.name);
        if !workspace().join(&rel).is_file() {
            missing.push(format!("{rel} does not exist"));
            continue;
        }
        let diags = match check(&rel) {
            Ok(r) => r.findings,
            Err(diags) => diags,
        };
        if !diags.iter().any(|d| d.code == *code) {
            let found: Vec<&str> = diags.iter().map(|d| d.code.name).collect();
            missing.push(format!(
                "{rel} does not show {} {} (it shows {found:?})",
                code.id, code.name
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_fixture_starts_with_a_comment() {
    for rel in yaml_files("analyzer/tests/fixtures") {
        let text = read(&rel);
        // An empty file cannot say anything about itself.
        if text.is_empty() {
            continue;
        }
        assert!(
            text.starts_with('#'),
            "{rel} should start with a `#` comment"
        );
    }
}

#[test]
fn error_fixtures_fail_to_load_and_finding_fixtures_load() {
    for code in codes::ALL {
        if code.name == codes::READ_ERROR.name {
            continue;
        }
        let rel = format!("analyzer/tests/fixtures/{}.yaml", code.name);
        let input_error = code.id.as_bytes()[3] == b'1';
        match check(&rel) {
            Ok(_) => assert!(
                !input_error,
                "{rel}: an input error code, but the file loads"
            ),
            Err(diags) => {
                assert!(
                    input_error,
                    "{rel}: a finding code, but the file has input errors"
                );
                assert!(
                    diags.iter().all(|d| d.severity == blazes::Severity::Error),
                    "{rel}: input errors are errors"
                );
            }
        }
    }
}
