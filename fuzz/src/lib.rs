//! The fuzzing harness: what each cargo-fuzz target does with its input. The same functions run
//! the minimized corpus as ordinary tests (`analyzer/tests/fuzz_corpus.rs`), so CI checks every
//! corpus file on a stable toolchain.
//!
//! Each function must return normally for every input: no panic, no hang, bounded memory.

use blazes::report::{github, human, sarif};
use blazes::{CheckOptions, Diagnostic, Report};

/// Renders diagnostics in every format, so that a span out of bounds would panic here.
fn render_all(diags: &[Diagnostic]) {
    let _ = human::render(diags, human::Style::default());
    let _ = github::render(diags);
    let entries: Vec<sarif::Entry<'_>> = diags
        .iter()
        .map(|d| sarif::Entry {
            diagnostic: d,
            key: None,
        })
        .collect();
    let _ = sarif::document(&entries);
    for d in diags {
        let _ = d.line_col();
    }
}

/// Checks a loaded topology and renders everything derived from it.
fn check_and_render(loaded: blazes::load::Loaded) -> Report {
    let report = blazes::check_loaded(loaded, &CheckOptions::default());
    render_all(&report.findings);
    for d in &report.findings {
        let _ = blazes::report::baseline::entry(&report.topology, d).key();
    }
    let _ = blazes::graph::mermaid(&report);
    let _ = blazes::graph::dot(&report);
    report
}

/// The YAML loader (SPEC §8), then the whole check on whatever loads.
pub fn yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match blazes::load::load_str("fuzz.yaml", text) {
        Ok(topology) => {
            check_and_render(blazes::load::Loaded {
                topology,
                warnings: Vec::new(),
            });
        }
        Err(diags) => render_all(&diags),
    }
}

/// The Storm Flux loader, with a few properties for `${…}` substitution.
pub fn flux(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let options = blazes::load::flux::Options {
        properties: [
            ("n".to_string(), "2".to_string()),
            ("label".to_string(), "OW(k)".to_string()),
            ("list".to_string(), "[a, b]".to_string()),
        ]
        .into(),
        env: Some([("E".to_string(), "CR".to_string())].into()),
        base_dir: None,
    };
    match blazes::load::flux::load_str("fuzz.yaml", text, &options) {
        Ok(l) => {
            check_and_render(blazes::load::Loaded {
                topology: l.topology,
                warnings: l.warnings,
            });
        }
        Err(diags) => render_all(&diags),
    }
}

/// Reads bytes one at a time, with zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[usize::from(self.next()) % items.len()]
    }
}

/// Builds a topology (SPEC §8 text) from arbitrary bytes: up to 12 components with random
/// wiring (cycles included), annotations, seals, fields, groupings, replication, parallelism
/// and functional dependencies. Always well-formed enough to load, most of the time.
pub fn topology_text(data: &[u8]) -> String {
    const FIELDS: &[&str] = &["a", "b", "c", "t"];
    const LABELS: &[&str] = &[
        "CR", "CW", "OR(a)", "OW(a)", "OR(a, b)", "OW(b, t)", "OR(*)", "OW(*)", "OR()", "OW()",
    ];
    const GROUPINGS: &[&str] = &[
        "shuffle",
        "fields(a)",
        "fields(b, c)",
        "partial_key(a)",
        "all",
        "global",
        "local_or_shuffle",
        "direct",
        "custom",
    ];
    let mut b = Bytes(data);
    let n = usize::from(b.next() % 12) + 1;
    let mut out = String::from("name: fuzz\nimplicit: [t]\n");
    if b.next() % 4 == 0 {
        out.push_str("fds: [{ from: [a], to: [b] }]\n");
    }
    out.push_str("components:\n");
    for i in 0..n {
        out.push_str(&format!("  c{i}:\n"));
        let flags = b.next();
        if flags & 1 != 0 {
            out.push_str("    replicated: true\n");
        }
        out.push_str(&format!("    parallelism: {}\n", 1 + (flags >> 1) % 4));
        let outputs = 1 + usize::from(b.next() % 2);
        out.push_str("    outputs:\n");
        for o in 0..outputs {
            let mut fields: Vec<&str> = FIELDS
                .iter()
                .copied()
                .filter(|_| b.next() % 3 != 0)
                .collect();
            fields.retain(|f| *f != "t");
            out.push_str(&format!("      o{o}: {{ fields: [{}]", fields.join(", ")));
            match b.next() % 5 {
                0 if !fields.is_empty() => out.push_str(&format!(", seal: [{}]", fields[0])),
                1 => out.push_str(", seal: [t]"),
                2 => out.push_str(", seal: []"),
                _ => {}
            }
            out.push_str(" }\n");
        }
        let inputs = usize::from(b.next() % 3);
        if inputs > 0 {
            out.push_str("    inputs:\n");
            for k in 0..inputs {
                let from = usize::from(b.next()) % n;
                let port = b.next() % 2;
                out.push_str(&format!(
                    "      i{k}: {{ from: c{from}.o{port}, grouping: \"{}\" }}\n",
                    b.pick(GROUPINGS)
                ));
            }
            if b.next() % 3 == 0 {
                out.push_str("    paths:\n");
                for k in 0..inputs {
                    out.push_str(&format!(
                        "      - {{ from: i{k}, to: o0, label: \"{}\" }}\n",
                        b.pick(LABELS)
                    ));
                }
            } else {
                out.push_str(&format!("    label: \"{}\"\n", b.pick(LABELS)));
            }
            if b.next() % 8 == 0 {
                out.push_str("    allow: [partition-split]\n");
            }
        }
    }
    out
}

/// The analysis of an arbitrary topology: load, analyze, plan (with its verification), findings
/// and every rendering; the plan must verify whenever the topology loads.
pub fn analyze(data: &[u8]) {
    let text = topology_text(data);
    let Ok(topology) = blazes::load::load_str("gen.yaml", &text) else {
        return;
    };
    for deterministic in [false, true] {
        let options = CheckOptions {
            plan: blazes::plan::Options { deterministic },
            ..CheckOptions::default()
        };
        let report = blazes::check_with(topology.clone(), &options);
        assert!(
            report.plan.verified(),
            "the plan does not verify: {:?}\n{text}",
            report.plan.problems
        );
        render_all(&report.findings);
        let _ = blazes::graph::mermaid(&report);
    }
}
