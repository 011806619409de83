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

#[path = "../benches/topogen/mod.rs"]
mod topogen;

/// `lint --witness` on `text` (read from standard input) in a format.
fn witness_lint(text: &str, format: &str) -> String {
    let out = assert_cmd::Command::cargo_bin("blazes")
        .unwrap()
        .args([
            "lint",
            "--witness",
            "--color",
            "never",
            "--format",
            format,
            "-",
        ])
        .write_stdin(text.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn witness_search_is_bounded_on_a_generated_topology() {
    // Deep layered topologies multiply records at every fan-in: before the search was bounded
    // by work and confined to what feeds each site, 50 components took minutes.
    let text = topogen::generate(300);
    let doc: serde_json::Value = serde_json::from_str(&witness_lint(&text, "json")).unwrap();
    let sites: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"] == "order-site")
        .collect();
    let shown = sites.iter().filter(|f| f.get("witness").is_some()).count();
    assert!(sites.len() > 20, "{} order sites", sites.len());
    // Some sites are demonstrated, and the deep ones are given up on.
    assert!(
        shown > 0 && shown < sites.len(),
        "{shown} of {}",
        sites.len()
    );
    for f in &sites {
        if let Some(w) = f.get("witness") {
            assert_eq!(w["component"], f["component"]);
            assert_ne!(w["outputs"][0], w["outputs"][1]);
        }
    }
    // The human output says, under every order site, what the search found.
    let human = witness_lint(&text, "human");
    assert_eq!(human.matches("witness (").count(), shown, "{human}");
    let missed = human
        .matches("no witness within the simulator's bounds")
        .count();
    let crowded = human
        .matches("no witness searched: even one record per source")
        .count();
    assert_eq!(missed + crowded, sites.len() - shown, "{human}");
    // Deep sites are ruled out before any simulation, by the records that must reach them.
    assert!(crowded > 0, "{human}");
}

#[test]
fn witness_lines_leave_out_what_both_orders_share() {
    use blazes::simulate::Witness;
    let items =
        |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix}{i})")).collect::<Vec<_>>();
    let order = |middle: &[&str]| {
        let mut o = vec!["a(0)".to_string(), "a(1)".to_string()];
        o.extend(middle.iter().map(|s| s.to_string()));
        o.push("b(9)".to_string());
        o
    };
    // 14 shared output records, one of each side's own.
    let output = |own: &str| {
        let mut o = items("(x=", 14);
        o.insert(3, own.to_string());
        o
    };
    let w = Witness {
        component: "c".into(),
        output: "c.out".into(),
        between: "replicas",
        orders: [order(&["a(2)", "b(3)"]), order(&["b(3)", "a(2)"])],
        outputs: [output("(y=1)"), output("(y=2)")],
    };
    let lines = w.lines();
    assert_eq!(
        lines[1],
        "(both start with the same 2 deliveries and end with the same 1 delivery, left out)"
    );
    assert_eq!(lines[2], "order A: a(2), b(3)");
    assert_eq!(lines[3], "  gives (y=1) (and the 14 records both give)");
    assert_eq!(lines[4], "order B: b(3), a(2)");
    assert_eq!(lines[5], "  gives (y=2) (and the 14 records both give)");

    // A long difference is cut; JSON keeps all of it.
    let long = items("a(", 20);
    let mut reversed = long.clone();
    reversed.reverse();
    let w = Witness {
        orders: [long, reversed],
        outputs: [vec!["(y=1)".into()], vec![]],
        ..w
    };
    let lines = w.lines();
    assert!(
        lines[0].contains("the same inputs in two orders"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("order A: a(0), a(1),")
            && lines[1].ends_with("a(15), … 4 more (`--format json` has them all)"),
        "{lines:?}"
    );
    assert_eq!(lines[2], "  gives (y=1)");
    assert_eq!(lines[4], "  gives nothing");

    // Between runs, what arrives can itself differ; one order may be the other's beginning.
    let w = Witness {
        between: "schedules",
        orders: [vec!["a(0)".into(), "a(1)".into()], vec!["a(0)".into()]],
        ..w
    };
    let lines = w.lines();
    assert_eq!(
        lines[0],
        "witness (two runs): inputs that already differ on arrival (upstream or around a loop), \
         in two orders, give different `c.out`"
    );
    assert_eq!(lines[1], "(both start with the same 1 delivery, left out)");
    assert_eq!(lines[2], "order A: a(1)");
    assert_eq!(lines[4], "order B: nothing more");
}

#[test]
fn simulate_stops_and_says_so_when_the_first_run_is_cut_off() {
    let out = assert_cmd::Command::cargo_bin("blazes")
        .unwrap()
        .args(["simulate", "-"])
        .write_stdin(topogen::generate(300))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(": 0 schedules"), "{text}");
    // No stream is called deterministic on the strength of no run at all.
    assert!(!text.contains("deterministic"), "{text}");
    assert!(
        text.lines()
            .skip(2)
            .filter(|l| !l.starts_with("note:"))
            .all(|l| l.ends_with("not simulated")),
        "{text}"
    );
    assert!(
        text.contains("note: the first run exceeded the message bound (5000 messages)"),
        "{text}"
    );
}

/// A source, a chain of `n` confluent components and an order-sensitive sink at its end.
fn chain(n: usize) -> String {
    let mut y = String::from("components:\n  src: {}\n");
    for i in 0..n {
        let from = if i == 0 {
            "src".to_string()
        } else {
            format!("c{}", i - 1)
        };
        y.push_str(&format!("  c{i}: {{ inputs: [{from}], label: CR }}\n"));
    }
    y.push_str(&format!(
        "  sink: {{ inputs: [c{}], label: \"OW(*)\" }}\n",
        n - 1
    ));
    y
}

#[test]
fn witness_search_simulates_parts_of_at_most_a_thousand_components() {
    // The sink and everything feeding it: exactly the limit, then one more.
    let at_limit = witness_lint(&chain(blazes::simulate::WITNESS_PART - 2), "human");
    assert_eq!(
        at_limit.matches("witness (two runs)").count(),
        1,
        "{at_limit}"
    );
    let over = witness_lint(&chain(blazes::simulate::WITNESS_PART - 1), "human");
    assert!(!over.contains("witness ("), "{over}");
    assert!(
        over.contains("no witness searched: `sink` is fed by more than 1000 components"),
        "{over}"
    );
}
