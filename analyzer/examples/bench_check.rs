//! Runs `blazes::check_string` once on a generated layered topology (the one the `analyze`
//! benchmark uses) and prints the time of each stage and the peak resident memory after each, for
//! measuring the performance targets:
//!
//! ```text
//! cargo run --release -p blazes --example bench_check -- 1000000
//! /usr/bin/time -v target/release/examples/bench_check 1000000
//! ```
//!
//! Options after the size: `--stages` times load, analyze and plan (together, as
//! `blazes::analyze_and_plan` runs them; `--separate` times analyze and plan each on its own)
//! and findings separately instead of one `check_string` (`--until load|analyze|plan` stops
//! early); `--parse-only` only parses the
//! YAML into the node tree; `--write FILE` writes the YAML and exits; `--flux` generates a Storm
//! Flux topology of that many components instead (`topogen::flux`) and times loading it (or
//! writes it, with `--write`). Times are wall and CPU time
//! of this thread (the latter is steadier on a busy machine), and the user and system time of
//! all the process' threads; "peak RSS" is reset after the text is generated,
//! so it is the peak of what follows, the generated text included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

/// The allocator the `blazes` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../benches/topogen/mod.rs"]
mod topogen;

/// Peak (`VmHWM`) and current (`VmRSS`) resident set size in MiB, from `/proc/self/status`.
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets the peak RSS counter (Linux: writing 5 to `clear_refs`), so the next reading is the
/// peak of what follows.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time of this (single-threaded) process in seconds, from `/proc/thread-self/schedstat`:
/// on a loaded machine it is a better measure than wall time.
fn cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}

/// User and system CPU time of the whole process (every thread) in seconds, from
/// `/proc/self/stat` (in clock ticks, assumed to be the usual 100 per second).
fn process_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let field = |i: usize| {
        rest.split_whitespace()
            .nth(i)
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |t| t / 100.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (field(11), field(12))
}

/// A point in time: wall, this thread's CPU, and the process' user and system CPU.
struct Start(Instant, f64, (f64, f64));

fn start() -> Start {
    Start(Instant::now(), cpu(), process_cpu())
}

fn report(what: &str, start: Start) {
    let wall = start.0.elapsed().as_secs_f64();
    let cpu = cpu() - start.1;
    let (user, sys) = process_cpu();
    let (user, sys) = (user - start.2.0, sys - start.2.1);
    let (peak, cur) = rss();
    println!(
        "{what:<30} {wall:>8.3} s wall {cpu:>8.3} s cpu   peak RSS {peak:>7.1} MiB   RSS now {cur:>7.1} MiB   all threads {user:>6.2} s user {sys:>5.2} s sys"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .map_or(Ok(1_000_000), |a| a.replace('_', "").parse())
        .expect("the first argument is the number of components");
    let stages = args.iter().any(|a| a == "--stages");

    let flux = args.iter().any(|a| a == "--flux");
    let t = start();
    let yaml = if flux {
        topogen::flux(n)
    } else {
        topogen::generate(n)
    };
    report(&format!("generate ({} MB)", yaml.len() / 1_000_000), t);
    if let Some(i) = args.iter().position(|a| a == "--write") {
        let path = args.get(i + 1).expect("--write FILE");
        std::fs::write(path, &yaml).expect("write");
        return;
    }
    if flux {
        reset_peak();
        let t = start();
        let options = blazes::load::flux::Options::default();
        let loaded = blazes::load::flux::load_str("flux.yaml", &yaml, &options).expect("load");
        report("  load (Flux)", t);
        println!("  {} components", loaded.topology.components.len());
        return;
    }
    if args.iter().any(|a| a == "--parse-only") {
        let t = start();
        let root = blazes::load::tree::parse(&yaml).expect("parse");
        report("yaml parse", t);
        drop(root);
        return;
    }

    if !stages {
        let resettable = reset_peak();
        let t = start();
        let report_value =
            blazes::check_string("bench.yaml", yaml, &blazes::CheckOptions::default())
                .unwrap_or_else(|d| panic!("generated topology does not load: {:?}", d.first()));
        report("check_string (load+analyze+plan+findings)", t);
        println!(
            "  {} components, {} findings, {} sites{}",
            report_value.topology.components.len(),
            report_value.findings.len(),
            report_value.plan.sites.len(),
            if resettable {
                " (peak RSS above: since the text was generated, the text included)"
            } else {
                ""
            }
        );
        let t = start();
        drop(report_value);
        report("drop report", t);
        return;
    }

    // Staged: each stage timed on its own, stopping early with `--until load|analyze|plan`.
    let until = args
        .iter()
        .position(|a| a == "--until")
        .and_then(|i| args.get(i + 1))
        .map_or("findings", String::as_str);
    // Exits without dropping anything, so a profile of the stages ends with the last one.
    let stop_after = |stage: &str| {
        if until == stage {
            std::process::exit(0);
        }
    };
    reset_peak();
    let options = blazes::CheckOptions::default();
    let t = start();
    let topology = blazes::load::load_string("bench.yaml", yaml).expect("load");
    report("  load (parse+validate)", t);
    stop_after("load");
    // The two at once, as `blazes lint` runs them, unless `--separate` (or `--until analyze`)
    // asks for each on its own.
    let (analysis, plan) = if until == "analyze" || args.iter().any(|a| a == "--separate") {
        let t = start();
        let analysis = blazes::analyze(&topology);
        report("  analyze", t);
        stop_after("analyze");
        let t = start();
        let plan = blazes::plan(&topology, &analysis, options.plan);
        report("  plan", t);
        (analysis, plan)
    } else {
        let t = start();
        let both = blazes::analyze_and_plan(&topology, options.plan);
        report("  analyze and plan", t);
        both
    };
    stop_after("plan");
    let t = start();
    let findings = blazes::plan::findings::findings(&topology, &analysis, &plan, &options.findings);
    report("  findings", t);
    println!("  {} findings", findings.len());
}
