//! Output for CI and pull requests: SARIF (validated against the official SARIF 2.1.0 schema),
//! GitHub workflow commands, baselines, `blazes graph` (snapshots), Storm Flux files, the JSON
//! Schema of the topology format, completions and the man page.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace root: the binary runs from there, so file names are relative.
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

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("blazes").unwrap();
    cmd.current_dir(workspace())
        .env_remove("NO_COLOR")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().expect("the binary exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn run(args: &[&str]) -> Run {
    run_env(args, &[])
}

fn expect_code(r: &Run, code: i32, what: &str) {
    assert_eq!(
        r.code, code,
        "{what}: exit code\n--- stdout\n{}\n--- stderr\n{}",
        r.stdout, r.stderr
    );
}

/// A fresh scratch directory under the system's temporary directory, removed when dropped
/// (even when the test fails).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("blazes-ci-{name}-"))
        .tempdir()
        .unwrap()
}

/// A YAML file as JSON (for JSON Schema validation).
fn yaml_to_json(text: &str) -> Value {
    use blazes::load::tree::{Node, Value as Y};
    fn conv(n: &Node) -> Value {
        match &n.value {
            Y::Null => Value::Null,
            Y::Bool(b) => Value::Bool(*b),
            Y::Int(i) => Value::from(*i),
            Y::Float(f) => Value::from(*f),
            Y::Str(s) => Value::String(s.to_string()),
            Y::Seq(items) => Value::Array(items.iter().map(conv).collect()),
            Y::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let key = match &k.value {
                            Y::Str(s) => s.to_string(),
                            Y::Int(i) => i.to_string(),
                            Y::Bool(b) => b.to_string(),
                            _ => String::new(),
                        };
                        (key, conv(v))
                    })
                    .collect(),
            ),
        }
    }
    conv(&blazes::load::tree::parse(text).unwrap())
}

fn sarif_validator() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(workspace().join("analyzer/tests/sarif/sarif-schema-2.1.0.json"))
            .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is invalid:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_output_validates_against_the_official_schema() {
    let validator = sarif_validator();
    for args in [
        &["examples/adnet-poor.yaml"][..],
        &[
            "examples/wordcount-sealed.yaml",
            "examples/adnet-thresh.yaml",
        ],
        &["analyzer/tests/fixtures/unknown-key.yaml"],
        &["analyzer/tests/fixtures/odd-unicode.yaml"],
        &["examples/flux/join.yaml"],
        &["no-such-file.yaml"],
    ] {
        let mut all = vec!["lint", "--format", "sarif"];
        all.extend(args);
        let r = run(&all);
        let doc: Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}\n{}", r.stdout));
        assert_valid(&validator, &doc, &format!("SARIF of {args:?}"));
    }
    // A deliberately broken log is rejected: the validator is really checking.
    let broken = serde_json::json!({ "version": "2.1.0", "runs": [ { "results": [] } ] });
    assert!(
        !validator.is_valid(&broken),
        "a run without a tool is invalid"
    );
}

#[test]
fn sarif_has_a_rule_with_help_for_every_code_and_located_results() {
    let r = run(&["lint", "--format", "sarif", "examples/adnet-poor.yaml"]);
    expect_code(&r, 1, "adnet-poor has an order site");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let run0 = &doc["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), blazes::report::codes::ALL.len());
    for (rule, code) in rules.iter().zip(blazes::report::codes::ALL) {
        assert_eq!(rule["id"], code.id);
        assert_eq!(rule["name"], code.name);
        assert!(rule["help"]["text"].as_str().unwrap().contains(code.doc));
        assert!(
            !rule["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    let first = &run0["results"][0];
    assert_eq!(first["ruleId"], "BLZ001");
    assert_eq!(first["level"], "error");
    let region = &first["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 24);
    assert_eq!(region["startColumn"], 47);
    assert_eq!(
        first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "examples/adnet-poor.yaml"
    );
    assert!(
        first["relatedLocations"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    assert_eq!(
        first["partialFingerprints"]["blazesFinding/v1"],
        "BLZ001|examples/adnet-poor.yaml|report|path request -> response"
    );
}

#[test]
fn github_annotations_are_escaped_workflow_commands() {
    let r = run(&["lint", "--format", "github", "examples/adnet-poor.yaml"]);
    expect_code(&r, 1, "adnet-poor");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines[0].starts_with(
            "::error file=examples/adnet-poor.yaml,line=24,col=47,endLine=24,endColumn=53,\
             title=BLZ001 order-site::`report` needs coordination"
        ),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("%0Ahelp: "));
    assert!(lines[1].starts_with("::warning "));
    // Escaping, on a diagnostic with awkward text.
    let source = blazes::model::SourceFile::new("dir,a:b.yaml", "x: 1\n");
    let d = blazes::Diagnostic::new(
        blazes::report::codes::INVALID_VALUE,
        &source,
        "50% done\r\nnext: a,b",
    )
    .at(blazes::model::Span::new(3, 1), "");
    let line = blazes::report::github::line(&d);
    assert_eq!(
        line,
        "::error file=dir%2Ca%3Ab.yaml,line=1,col=4,endLine=1,endColumn=5,\
         title=BLZ108 invalid-value::50%25 done%0D%0Anext: a,b\n"
    );
    // Notes become notices.
    let r = run(&[
        "lint",
        "--format",
        "github",
        "examples/wordcount-sealed.yaml",
    ]);
    expect_code(&r, 0, "sealed word count");
    assert!(r.stdout.starts_with("::notice "), "{}", r.stdout);
}

#[test]
fn baselines_hide_recorded_findings_across_unrelated_edits() {
    let dir = scratch("baseline");
    let topo = dir.path().join("t.yaml");
    let original = std::fs::read_to_string(workspace().join("examples/adnet-poor.yaml")).unwrap();
    std::fs::write(&topo, &original).unwrap();
    let base = dir.path().join("baseline.json");
    let (topo_s, base_s) = (topo.to_str().unwrap(), base.to_str().unwrap());

    let r = run(&["lint", "--write-baseline", base_s, topo_s]);
    expect_code(&r, 0, "writing a baseline");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert_eq!(recorded["blazes_baseline"], 1);
    assert_eq!(recorded["findings"].as_array().unwrap().len(), 2);

    let r = run(&["lint", "--baseline", base_s, topo_s]);
    expect_code(&r, 0, "every finding is in the baseline");
    assert!(
        r.stdout
            .contains("2 findings recorded in the baseline are not shown")
    );

    // Lines added above do not resurface them.
    std::fs::write(&topo, format!("# a comment\n# and another\n\n{original}")).unwrap();
    let r = run(&["lint", "--format", "json", "--baseline", base_s, topo_s]);
    expect_code(&r, 0, "after an unrelated edit");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);

    // A new order site is reported, and only it decides the exit code.
    let extra = format!("{original}  counter:\n    inputs: [requests]\n    label: OW(id)\n");
    std::fs::write(&topo, extra).unwrap();
    let r = run(&["lint", "--format", "json", "--baseline", base_s, topo_s]);
    expect_code(&r, 1, "a new finding");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["component"], "counter");

    // A broken baseline is a usage error.
    std::fs::write(&base, "not json").unwrap();
    let r = run(&["lint", "--baseline", base_s, topo_s]);
    expect_code(&r, 2, "a broken baseline");
    assert!(r.stderr.contains("cannot read the baseline"));
}

#[test]
fn lint_without_write_baseline_writes_nothing() {
    let dir = scratch("nothing");
    let topo = dir.path().join("t.yaml");
    std::fs::copy(workspace().join("examples/wordcount.yaml"), &topo).unwrap();
    for format in ["human", "json", "sarif", "github"] {
        let r = run(&["lint", "--format", format, topo.to_str().unwrap()]);
        expect_code(&r, 1, format);
    }
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "lint wrote a file");
}

/// Snapshots of `blazes graph` for a few topologies, in both formats.
#[test]
fn graphs() {
    for rel in [
        "examples/adnet-poor.yaml",
        "examples/wordcount.yaml",
        "examples/wordcount-sealed.yaml",
        "examples/multi-output.yaml",
        "examples/flux/join.yaml",
    ] {
        let stem = Path::new(rel)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let flux = if rel.contains("/flux/") { "flux-" } else { "" };
        for format in ["mermaid", "dot"] {
            let r = run(&["graph", "--format", format, rel]);
            expect_code(&r, 0, rel);
            insta::with_settings!({
                snapshot_path => "../../snapshots",
                prepend_module_to_snapshot => false,
                description => format!("blazes graph --format {format} {rel}"),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("graph__{flux}{stem}.{format}"), r.stdout);
            });
        }
    }
}

#[test]
fn graph_marks_sites_and_escapes_labels() {
    let r = run(&["graph", "examples/adnet-poor.yaml"]);
    expect_code(&r, 0, "mermaid");
    assert!(r.stdout.starts_with("flowchart LR\n"));
    assert!(
        r.stdout.contains("{{\"report<br/>"),
        "the order site is a hexagon"
    );
    assert!(r.stdout.contains("order site (dynamic order)"));
    assert!(r.stdout.contains("class c"));
    let r = run(&["graph", "examples/wordcount-sealed.yaml"]);
    assert!(r.stdout.contains("seal barrier"));
    assert!(
        r.stdout.contains("==>"),
        "the barrier input is a thick edge"
    );
    let r = run(&["graph", "--format", "dot", "examples/wordcount.yaml"]);
    assert!(r.stdout.starts_with("digraph \"wordcount\" {"));
    assert!(r.stdout.contains("shape=hexagon"));
    let r = run(&["graph", "analyzer/tests/fixtures/unknown-key.yaml"]);
    expect_code(&r, 2, "input errors");
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("unknown-key"), "{}", r.stderr);
}

/// The findings of a check as (code, component), sorted.
fn code_components(r: &blazes::Report) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .findings
        .iter()
        .map(|d| {
            (
                d.code.id.to_string(),
                d.component.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

fn check_file(rel: &str) -> blazes::Report {
    let text = std::fs::read_to_string(workspace().join(rel)).unwrap();
    blazes::check_str(rel, &text, &blazes::CheckOptions::default())
        .unwrap_or_else(|d| panic!("{rel}: {}", blazes::cli::render_plain(&mut d.clone())))
}

#[test]
fn flux_word_count_gives_the_same_finding_as_the_spec_topology_located_in_the_flux_file() {
    let spec = check_file("examples/wordcount.yaml");
    let flux = check_file("examples/flux/wordcount.yaml");
    assert_eq!(code_components(&flux), code_components(&spec));
    assert_eq!(
        code_components(&flux),
        vec![("BLZ001".to_string(), "count".to_string())]
    );
    let d = &flux.findings[0];
    let span = d.primary.as_ref().unwrap().span;
    assert_eq!(d.source.name, "examples/flux/wordcount.yaml");
    assert_eq!(
        &d.source.text[span.offset()..span.end()],
        "\"OW(word, batch)\""
    );
    assert_eq!(d.line_col(), (12, 23));
    // Same labels on the corresponding streams, too.
    let labels = |r: &blazes::Report| -> Vec<String> {
        r.topology
            .components
            .iter()
            .enumerate()
            .map(|(c, comp)| {
                format!(
                    "{} {}",
                    comp.name,
                    r.analysis.label(blazes::model::Port {
                        component: c,
                        output: 0
                    })
                )
            })
            .collect()
    };
    assert_eq!(labels(&flux), labels(&spec));
    // The sealed variants agree too (the Flux one needs its properties).
    let spec = check_file("examples/wordcount-sealed.yaml");
    let r = run(&[
        "lint",
        "--format",
        "json",
        "--filter",
        "examples/flux/wordcount.properties",
        "examples/flux/wordcount-sealed.yaml",
    ]);
    expect_code(&r, 0, "sealed flux word count");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let mut got: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["component"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, code_components(&spec));
}

#[test]
fn flux_groupings_parallelism_and_streams_map_to_the_model() {
    use blazes::model::Grouping;
    let r = check_file("examples/flux/join.yaml");
    let t = &r.topology;
    let report = &t.components[t.component_index("report").unwrap()];
    assert_eq!(report.parallelism, 3);
    assert!(report.replicated);
    let groupings: Vec<(&str, &Grouping)> = report
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), i.grouping()))
        .collect();
    assert_eq!(
        groupings,
        vec![
            ("ads", &Grouping::All),
            ("requests", &Grouping::Fields(["id".into()].into()))
        ]
    );
    let cache = &t.components[t.component_index("cache").unwrap()];
    assert_eq!(cache.inputs[0].name, "report.response");
    assert_eq!(t.port_name(cache.inputs[0].from), "report.response");

    let windowed = run(&[
        "lint",
        "--format",
        "json",
        "examples/flux/windowed-count.yaml",
    ]);
    expect_code(&windowed, 0, "windowed count (with an include)");
    let doc: Value = serde_json::from_str(&windowed.stdout).unwrap();
    let names: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["flux-missing-annotation", "seal-site"]);
    let streams = doc["streams"].as_array().unwrap();
    assert!(
        streams
            .iter()
            .any(|s| s["from"] == "count.default" && s["to"] == "store"),
        "the included bolt is wired"
    );

    // Every Flux grouping type maps to SPEC §1.
    for (flux, want) in [
        ("SHUFFLE", Grouping::Shuffle),
        ("NONE", Grouping::Shuffle),
        ("FIELDS, args: [w]", Grouping::Fields(["w".into()].into())),
        (
            "PARTIAL_KEY, args: [w]",
            Grouping::PartialKey(["w".into()].into()),
        ),
        ("ALL", Grouping::All),
        ("GLOBAL", Grouping::Global),
        ("LOCAL_OR_SHUFFLE", Grouping::LocalOrShuffle),
        ("DIRECT", Grouping::Direct),
        ("CUSTOM", Grouping::Custom),
    ] {
        let text = format!(
            "spouts: [{{ id: s, className: S }}]\nbolts: [{{ id: b, className: B, parallelism: 2 }}]\n\
             streams: [{{ from: s, to: b, grouping: {{ type: {flux} }} }}]\n\
             config: {{ blazes.b.label: CR }}\n"
        );
        let r = blazes::check_str("g.yaml", &text, &blazes::CheckOptions::default())
            .unwrap_or_else(|d| panic!("{flux}: {}", blazes::cli::render_plain(&mut d.clone())));
        let b = &r.topology.components[r.topology.component_index("b").unwrap()];
        assert_eq!(*b.inputs[0].grouping(), want, "{flux}");
        assert_eq!(b.parallelism, 2);
    }
}

#[test]
fn flux_input_errors_point_into_the_flux_file() {
    let text = "spouts:\n  - id: s\n    className: S\nbolts:\n  - id: b\n    className: B\n\
                streams:\n  - from: s\n    to: b\n    grouping: { type: FEILDS, args: [w] }\n\
                config:\n  blazes.b.label: OX(w)\n  blazes.b.lable: CR\n  blazes.q.label: CR\n";
    let diags = blazes::check_str("bad.yaml", text, &blazes::CheckOptions::default())
        .expect_err("input errors");
    let shown: Vec<(String, (usize, usize))> = diags
        .iter()
        .map(|d| (d.code.name.to_string(), d.line_col()))
        .collect();
    assert!(
        shown.contains(&("invalid-value".into(), (10, 23))),
        "{shown:?}"
    );
    assert!(
        shown.contains(&("dangling-reference".into(), (14, 3))),
        "{shown:?}"
    );
    assert!(
        shown.contains(&("unknown-key".into(), (13, 3))),
        "{shown:?}"
    );
    let grouping = diags
        .iter()
        .find(|d| d.code.name == "invalid-value")
        .unwrap();
    assert_eq!(grouping.help.as_deref(), Some("did you mean `FIELDS`?"));
    // With the grouping fixed, the bad annotation is reported inside its scalar.
    let fixed = text.replace("FEILDS", "FIELDS");
    let diags = blazes::check_str("bad.yaml", &fixed, &blazes::CheckOptions::default())
        .expect_err("input errors");
    let bad = diags
        .iter()
        .find(|d| d.code.name == "bad-annotation")
        .unwrap();
    assert_eq!(
        bad.line_col().0,
        12,
        "{}",
        blazes::cli::render_plain(&mut diags.clone())
    );
    assert_eq!(bad.source.name, "bad.yaml");
}

#[test]
fn flux_substitution_from_a_properties_file_and_the_environment() {
    let dir = scratch("flux-env");
    let topo = dir.path().join("t.yaml");
    std::fs::write(
        &topo,
        "name: ${name}\nspouts:\n  - id: s\n    className: S\n    parallelism: ${ENV-BLAZES_TEST_PAR}\n\
         bolts:\n  - id: b\n    className: B\n    parallelism: ${par}\n\
         streams:\n  - { from: s, to: b, grouping: { type: SHUFFLE } }\n\
         config:\n  blazes.s.seal: ${ENV-BLAZES_TEST_SEAL}\n  blazes.s.fields: [k]\n  blazes.b.label: ${label}\n",
    )
    .unwrap();
    let props = dir.path().join("p.properties");
    std::fs::write(&props, "# values\nname = props\npar: 3\nlabel=OW(k)\n").unwrap();
    let (t, p) = (topo.to_str().unwrap(), props.to_str().unwrap());
    // Without substitution, the placeholders are reported where they are written.
    let r = run(&["lint", "--color", "never", t]);
    expect_code(&r, 2, "placeholders left");
    assert!(
        r.stdout.contains("placeholder was not replaced"),
        "{}",
        r.stdout
    );
    let env = [("BLAZES_TEST_PAR", "2"), ("BLAZES_TEST_SEAL", "[k]")];
    let r = run_env(
        &["lint", "--format", "json", "--filter", p, "--env-filter", t],
        &env,
    );
    expect_code(&r, 0, "all substituted");
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    // par=3 from the properties file, shuffle grouping: a partition split; the sealed stream
    // from the environment: a seal site.
    assert_eq!(names, ["partition-split", "seal-site"], "{}", r.stdout);
    // The environment is only read with --env-filter.
    let r = run_env(&["lint", "--filter", p, t], &env);
    expect_code(&r, 2, "env not read");
    let r = run(&["lint", "--filter", "no-such.properties", t]);
    expect_code(&r, 2, "a missing properties file");
}

#[test]
fn every_bundled_example_validates_against_the_topology_schema() {
    let schema: Value = serde_json::from_str(blazes::TOPOLOGY_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut files = Vec::new();
    for dir in ["examples", "examples/rust-ops"] {
        for entry in std::fs::read_dir(workspace().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".yaml") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    assert!(files.len() >= 15);
    for rel in &files {
        let doc = yaml_to_json(&std::fs::read_to_string(workspace().join(rel)).unwrap());
        assert_valid(&validator, &doc, rel);
    }
    // An unknown key, a misspelt one inside a component, a bad label: all rejected.
    for bad in [
        "components: { a: {} }\nextra: 1\n",
        "components: { a: { replicatd: true } }\n",
        "components: { a: { inputs: [b], label: OX(w) } , b: {} }\n",
        "components: { a: { parallelism: 0 } }\n",
        "name: x\n",
    ] {
        assert!(!validator.is_valid(&yaml_to_json(bad)), "accepted: {bad}");
    }
    let r = run(&["schema"]);
    expect_code(&r, 0, "schema");
    let printed: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(printed, schema);
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = run(&["completions", shell]);
        expect_code(&r, 0, shell);
        assert!(r.stdout.contains("blazes"), "{shell}");
        assert!(r.stdout.contains("write-baseline"), "{shell}");
    }
    let r = run(&["completions", "tcsh"]);
    expect_code(&r, 2, "an unknown shell");
    let r = run(&["man"]);
    expect_code(&r, 0, "man");
    assert!(
        r.stdout.starts_with(".ie"),
        "{}",
        &r.stdout[..80.min(r.stdout.len())]
    );
    assert!(r.stdout.contains(".TH blazes"));
}
