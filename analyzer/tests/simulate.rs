//! `blazes simulate` and `blazes lint --witness`, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

fn blazes(args: &[&str]) -> (i32, String) {
    let mut cmd = assert_cmd::Command::cargo_bin("blazes").unwrap();
    let out = cmd
        .current_dir(format!("{}/..", env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn witness_shows_two_orders_with_different_answers_from_report() {
    let (code, out) = blazes(&["lint", "--witness", "examples/adnet-poor.yaml"]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("witness (two replicas in one run)"))
        .unwrap_or_else(|| panic!("no witness:\n{out}"));
    assert!(lines[at].contains("`report.response`"), "{out}");
    let a = lines[at + 1].trim();
    let b = lines[at + 3].trim();
    assert!(
        a.starts_with("order A: ") && b.starts_with("order B: "),
        "{out}"
    );
    assert_ne!(a["order A: ".len()..], b["order B: ".len()..], "{out}");
    // The read saw the click in one order and not in the other.
    assert!(
        lines[at + 2].contains("seen=1") && lines[at + 4].contains("seen=0"),
        "{out}"
    );
    // Only order sites get one: the inherited finding at `cache` has none.
    assert_eq!(out.matches("witness (").count(), 1, "{out}");
}

#[test]
fn witness_in_json() {
    let (_, out) = blazes(&[
        "lint",
        "--witness",
        "--format",
        "json",
        "examples/adnet-poor.yaml",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    let site = findings.iter().find(|f| f["name"] == "order-site").unwrap();
    let w = &site["witness"];
    assert_eq!(w["component"], "report");
    assert_eq!(w["output"], "report.response");
    assert_eq!(w["between"], "replicas");
    assert_ne!(w["orders"][0], w["orders"][1]);
    assert_ne!(w["outputs"][0], w["outputs"][1]);
    // Other findings, and every finding without the flag, carry no witness field.
    assert!(
        findings
            .iter()
            .filter(|f| f["name"] != "order-site")
            .all(|f| f.get("witness").is_none())
    );
    let (_, plain) = blazes(&["lint", "--format", "json", "examples/adnet-poor.yaml"]);
    assert!(!plain.contains("\"witness\""));
}

#[test]
fn simulate_agrees_with_the_analyzer_on_poor() {
    let (code, out) = blazes(&["simulate", "examples/adnet-poor.yaml"]);
    assert_eq!(code, 0, "{out}");
    let row = |port: &str| {
        out.lines()
            .find(|l| l.starts_with(port))
            .unwrap_or_else(|| panic!("{port} missing:\n{out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(row("report.response")[1..3], ["Inst", "Inst"]);
    assert_eq!(row("cache.out")[1..3], ["Diverge", "Diverge"]);
    assert_eq!(row("ads.out")[1..3], ["Async", "deterministic"]);
}

#[test]
fn simulate_sealed_wordcount_is_deterministic() {
    let (code, out) = blazes(&[
        "simulate",
        "--records",
        "2",
        "examples/wordcount-sealed.yaml",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("Run") && !out.contains("MORE"), "{out}");
}

#[test]
fn simulate_reports_input_errors() {
    let (code, _) = blazes(&["simulate", "does-not-exist.yaml"]);
    assert_eq!(code, 2);
}
