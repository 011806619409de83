//! A deterministic generator of large *layered* topologies in the SPEC §8 YAML format, shared by
//! the `analyze` benchmark and the `bench_check` example (include it with
//! `#[path = ".../benches/topogen/mod.rs"] mod topogen;`).
//!
//! Shape, for `n` components:
//!
//! - `LAYERS` layers of equal width (the depth is fixed, so the work per component, including the
//!   length of a derivation, does not grow with `n`); layer 0 holds the sources, with `fields` and
//!   most of them `seal: [batch]` or `seal: [window]`;
//! - every other component has 1–3 inputs (mean fan-in 2), mostly from the previous layer and
//!   sometimes from any earlier one, written in the mapping form `a: { from: c12 }`;
//! - about 1% of the components feed back into an ancestor 1–3 layers up, closing a cycle;
//! - a mix of annotations (`CR`, `CW`, `OR(id)`, `OW(word, batch)`, `OW(*)`, `OW()`, structured
//!   labels, `paths:` overrides), some `replicated: true`, some parallelism and groupings, some
//!   components with two outputs (referenced as `c7.out` / `c7.x`) or re-sealed outputs.
//!
//! The output is a pure function of `n` (splitmix64 with a fixed seed), one line per component.

// Included with `#[path]` by the benchmark, `bench_check` and tests, each using only some of it.
#![allow(dead_code, reason = "each includer uses some of the generators")]

use std::fmt::Write as _;

/// Number of layers below the sources (the depth of the topology).
pub const LAYERS: usize = 32;

/// The seed of every generated topology.
const SEED: u64 = 0x5EED_B1A2_E5C0_FFEE;

/// splitmix64: small, fast and good enough for picking shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// An index into `weights`, chosen proportionally to the weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = (self.next() % u64::from(total)) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// One input of a generated component: its name, the producer and the producer's output.
struct In {
    name: char,
    from: usize,
    port: u8,
}

/// Generates a topology with `n` components (at least one) as YAML text.
pub fn generate(n: usize) -> String {
    let n = n.max(1);
    let mut rng = Rng(SEED ^ n as u64);
    let width = n.div_ceil(LAYERS + 1).max(1);
    let layer = |i: usize| i / width;
    // Number of outputs of each component: 2 means `out` and `x`.
    let outs: Vec<u8> = (0..n)
        .map(|i| if layer(i) > 0 && rng.chance(8) { 2 } else { 1 })
        .collect();
    let pick = |rng: &mut Rng, from: usize, outs: &[u8]| -> (usize, u8) {
        let port = if outs[from] == 2 {
            1 + rng.below(2) as u8
        } else {
            0
        };
        (from, port)
    };

    // Inputs: mostly from the previous layer, sometimes from any earlier one.
    let mut inputs: Vec<Vec<In>> = Vec::with_capacity(n);
    for i in 0..n {
        let l = layer(i);
        let mut ins = Vec::new();
        if l > 0 {
            let fan_in = 1 + rng.below(3);
            for j in 0..fan_in {
                let src_layer = if rng.chance(85) { l - 1 } else { rng.below(l) };
                let lo = src_layer * width;
                let hi = ((src_layer + 1) * width).min(n);
                let from = lo + rng.below(hi - lo);
                let (from, port) = pick(&mut rng, from, &outs);
                ins.push(In {
                    name: (b'a' + j as u8) as char,
                    from,
                    port,
                });
            }
        }
        inputs.push(ins);
    }
    // Feedback: about 1% of the components feed an ancestor 1–3 steps up (never a source), so
    // every feedback edge closes a cycle.
    for i in 0..n {
        if layer(i) < 2 || !rng.chance(1) {
            continue;
        }
        let mut z = i;
        for _ in 0..1 + rng.below(3) {
            let Some(up) = inputs[z].first().map(|x| x.from) else {
                break;
            };
            if layer(up) == 0 {
                break;
            }
            z = up;
        }
        if z == i || inputs[z].iter().any(|x| x.name == 'f') {
            continue;
        }
        let (from, port) = pick(&mut rng, i, &outs);
        inputs[z].push(In {
            name: 'f',
            from,
            port,
        });
    }

    let mut s = String::with_capacity(n * 110);
    let _ = writeln!(s, "name: layered-{n}");
    s.push_str("implicit: [time]\nfds: [{ from: [user], to: [account] }]\ncomponents:\n");
    for i in 0..n {
        let _ = write!(s, "  c{i}: {{ ");
        if inputs[i].is_empty() {
            source(&mut rng, &mut s);
        } else {
            component(&mut rng, &mut s, &inputs[i], outs[i]);
        }
        s.push_str(" }\n");
    }
    s
}

/// The body of a source component.
fn source(rng: &mut Rng, s: &mut String) {
    const OUTPUTS: [&str; 5] = [
        "outputs: { out: { fields: [id, batch, word, window, user], seal: [batch] } }",
        "outputs: { out: { fields: [id, word, window], seal: [window] } }",
        "outputs: { out: { fields: [id, batch, word, window, user] } }",
        "outputs: { out: { seal: [] } }",
        "description: a source without declared fields",
    ];
    s.push_str(OUTPUTS[rng.weighted(&[35, 15, 30, 5, 15])]);
}

/// The body of a component with inputs.
fn component(rng: &mut Rng, s: &mut String, ins: &[In], outs: u8) {
    const GROUPINGS: [&str; 6] = [
        "fields(id)",
        "fields(word)",
        "shuffle",
        "global",
        "all",
        "partial_key(id)",
    ];
    s.push_str("inputs: { ");
    for (k, x) in ins.iter().enumerate() {
        if k > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{}: {{ from: c{}", x.name, x.from);
        match x.port {
            1 => s.push_str(".out"),
            2 => s.push_str(".x"),
            _ => {}
        }
        if rng.chance(25) {
            let g = GROUPINGS[rng.weighted(&[8, 5, 4, 3, 3, 2])];
            let _ = write!(s, ", grouping: {g}");
        }
        s.push_str(" }");
    }
    s.push_str(" }, label: ");
    const LABELS: [&str; 11] = [
        "CR",
        "CW",
        "OR(id)",
        "\"OR(id, window)\"",
        "\"OW(word, batch)\"",
        "OW(batch)",
        "OW(window)",
        "\"OW(*)\"",
        "OW()",
        "{ label: OW, gate: [window] }",
        "\"OR(user, batch)\"",
    ];
    s.push_str(LABELS[rng.weighted(&[34, 28, 5, 3, 7, 6, 4, 3, 1, 2, 2])]);
    if rng.chance(12) {
        // Override one path: an order-sensitive path on a mostly confluent component.
        const PATHS: [&str; 4] = ["OW(batch)", "OR(id)", "CW", "OW(window)"];
        let from = ins[rng.below(ins.len())].name;
        let label = PATHS[rng.below(PATHS.len())];
        let _ = write!(s, ", paths: [{{ from: {from}, to: out, label: {label} }}]");
    }
    match (outs, rng.weighted(&[80, 12, 5, 3])) {
        (2, _) => s.push_str(", outputs: { out: {}, x: { fields: [id, batch] } }"),
        (_, 1) => s.push_str(", outputs: { out: { fields: [id, batch, word] } }"),
        (_, 2) => s.push_str(", outputs: { out: { seal: [batch] } }"),
        (_, 3) => s.push_str(", outputs: { out: { fields: [id, word], seal: [word] } }"),
        _ => {}
    }
    if rng.chance(5) {
        s.push_str(", replicated: true");
    }
    if rng.chance(20) {
        let p = [2, 4, 8][rng.below(3)];
        let _ = write!(s, ", parallelism: {p}");
        if rng.chance(10) {
            s.push_str(", allow: [partition-split]");
        }
    }
}

/// Generates a Storm Flux topology (the form `blazes::load::flux` reads) with one spout and
/// `n - 1` bolts (at least one bolt), each fed one or two streams from the components just
/// before it or from any earlier one, annotated in `config` in both of Flux's styles. For
/// measuring the Flux loader, whose work per bolt must not grow with the number of bolts.
pub fn flux(n: usize) -> String {
    let n = n.max(2);
    let mut rng = Rng(SEED ^ n as u64 ^ 0xF1);
    let mut s = String::with_capacity(n * 200);
    let _ = writeln!(s, "name: \"flux-{n}\"\nconfig:\n  topology.workers: 2");
    s.push_str("  blazes.b0.fields: [id, batch]\n  blazes.b0.seal: [batch]\n");
    const LABELS: [&str; 5] = ["CR", "CW", "OW(id)", "\"OR(id, batch)\"", "CW"];
    for i in 1..n {
        let label = LABELS[rng.below(LABELS.len())];
        if rng.chance(50) {
            let _ = writeln!(s, "  blazes.b{i}.label: {label}");
        } else {
            let _ = writeln!(
                s,
                "  blazes.b{i}:\n    label: {label}\n    fields: [id, batch]"
            );
        }
    }
    s.push_str("spouts:\n  - id: \"b0\"\n    className: \"org.example.Spout\"\n    parallelism: 1\nbolts:\n");
    for i in 1..n {
        let _ = writeln!(
            s,
            "  - id: \"b{i}\"\n    className: \"org.example.Bolt\"\n    parallelism: {}",
            1 + rng.below(3)
        );
    }
    s.push_str("streams:\n");
    for i in 1..n {
        let near = i - 1 - rng.below(i.min(3));
        let mut from = vec![near];
        if rng.chance(50) {
            let far = rng.below(i);
            if far != near {
                from.push(far);
            }
        }
        for f in from {
            let grouping = if rng.chance(30) {
                "{ type: FIELDS, args: [id] }"
            } else {
                "{ type: SHUFFLE }"
            };
            let _ = writeln!(
                s,
                "  - from: \"b{f}\"\n    to: \"b{i}\"\n    grouping: {grouping}"
            );
        }
    }
    s
}

/// Generates a topology of `n` sources all read by one confluent sink: the widest component a
/// topology of `n` components can have. For measuring work per input of a component, which must
/// not grow with the number of its inputs.
pub fn fan_in(n: usize) -> String {
    let mut s = String::with_capacity(n * 48);
    let _ = writeln!(s, "name: \"fan-in-{n}\"\ncomponents:");
    for i in 0..n {
        let _ = writeln!(s, "  s{i}: {{}}");
    }
    s.push_str("  sink:\n    label: CW\n    inputs:\n");
    for i in 0..n {
        let _ = writeln!(s, "      i{i}: {{ from: s{i} }}");
    }
    s
}

/// The files of a Rust crate of `n` modules (`n` ≥ 1), as (path relative to the crate root,
/// text): module `m{k}` defines an operator `op` annotated `#[blazes(CR)]`, and `blazes.yaml`
/// wires a chain `c0 → c1 → …` whose components name them with `rust: crate::m{k}::op` (`c0`,
/// the source, is written in the YAML alone). Every module defining an item of the same name is
/// the case that made resolving `rust:` references quadratic before they were indexed by every
/// suffix of an item's path.
pub fn rust_crate(n: usize) -> Vec<(String, String)> {
    let mut files = Vec::with_capacity(n + 2);
    files.push((
        "Cargo.toml".to_string(),
        "[package]\nname = \"bench-ops\"\nversion = \"0.1.0\"\nedition = \"2024\"\n".to_string(),
    ));
    let mut yaml = String::from("name: chain-of-ops\ncomponents:\n  c0: {}\n");
    let mut lib = String::new();
    for k in 1..n {
        let _ = writeln!(
            yaml,
            "  c{k}: {{ rust: crate::m{k}::op, inputs: [c{}] }}",
            k - 1
        );
        let _ = writeln!(lib, "pub mod m{k};");
        files.push((
            format!("src/m{k}.rs"),
            "use blazes_annotations::blazes;\n\n#[blazes(CR)]\npub fn op(x: u64) -> u64 {\n    x\n}\n"
                .to_string(),
        ));
    }
    files.push(("blazes.yaml".to_string(), yaml));
    files.push(("src/lib.rs".to_string(), lib));
    files
}
