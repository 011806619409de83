//! Benchmarks of load + analyze + plan (group `plan`) and of the whole check (group `check`:
//! `blazes::check_str`, findings included) on generated layered topologies of 1k, 10k, 100k and
//! 1M components (see `topogen`), and of rendering the findings as `blazes lint` prints them
//! (group `render`, up to 100k: a 1M topology has half a million findings to print) and of
//! writing the JSON document of `lint --format json` (group `json`, up to 100k); and of loading
//! a Storm Flux topology of as many bolts (group `flux`, up to 100k: `topogen::flux`), and of
//! preparing and starting `blazes simulate` on a component reading from that many sources
//! (group `simulate`, up to 100k: `topogen::fan_in`); and of loading a Rust crate of as many
//! modules, each defining an `op` that a component names with `rust:` (group `crate`, up to 10k:
//! `topogen::rust_crate`, written to a temporary directory).
//!
//! ```text
//! cargo bench -p blazes --bench analyze
//! ```
//!
//! The YAML text is generated once per size, outside the measurement, and what a measured
//! routine returns is dropped outside it too (criterion's `iter_batched`). Sizes from 100k up take
//! one iteration per sample, 10 samples.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

/// The allocator the `blazes` binary uses, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_main};

mod topogen;

/// The sizes to run: 1k, 10k, 100k and 1M components, or the comma-separated list in
/// `BLAZES_BENCH_SIZES` (say `BLAZES_BENCH_SIZES=1000,10000` for a quick run).
fn sizes() -> Vec<usize> {
    match std::env::var("BLAZES_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().replace('_', "").parse().ok())
            .collect(),
        Err(_) => vec![1_000, 10_000, 100_000, 1_000_000],
    }
}

/// Configures a group's sampling for topologies of `n` components: from 100k up, one iteration
/// per sample and 10 samples.
fn sampling(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, n: usize) {
    group.throughput(Throughput::Elements(n as u64));
    if n >= 100_000 {
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(if n >= 1_000_000 { 20 } else { 5 }));
    } else {
        group.sampling_mode(SamplingMode::Auto);
        group.sample_size(20);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(5));
    }
}

/// Two groups per size: `plan` is the issue's target, load + analyze + plan (the coordination
/// sites, verified); `check` is everything `blazes lint` computes before printing, findings with
/// their messages and derivations included (`blazes::check_str`).
fn check(c: &mut Criterion) {
    for n in sizes() {
        let yaml = topogen::generate(n);
        let mut group = c.benchmark_group("plan");
        sampling(&mut group, n);
        // The text is handed over as the CLI hands over the file it read: a copy made outside the
        // measurement.
        group.bench_with_input(BenchmarkId::from_parameter(n), &yaml, |b, yaml| {
            b.iter_batched(
                || yaml.clone(),
                |yaml| {
                    let topology = match blazes::load::load_string("bench.yaml", yaml) {
                        Ok(t) => t,
                        // The generator must produce a valid topology; say so loudly if not.
                        Err(d) => panic!("the generated topology does not load: {:?}", d.first()),
                    };
                    let (analysis, plan) =
                        blazes::analyze_and_plan(&topology, blazes::plan::Options::default());
                    (topology, analysis, plan)
                },
                BatchSize::PerIteration,
            );
        });
        group.finish();
        let mut group = c.benchmark_group("check");
        sampling(&mut group, n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &yaml, |b, yaml| {
            b.iter_batched(
                || yaml.clone(),
                |yaml| match blazes::check_string(
                    "bench.yaml",
                    yaml,
                    &blazes::CheckOptions::default(),
                ) {
                    Ok(report) => report,
                    Err(d) => panic!("the generated topology does not load: {:?}", d.first()),
                },
                BatchSize::PerIteration,
            );
        });
        group.finish();
        if n <= 100_000 {
            render(c, n, yaml);
            flux(c, n);
            simulate(c, n);
        }
        if n <= 10_000 {
            rust_crate(c, n);
        }
    }
}

/// Loading a generated Storm Flux topology of `n` components: parsing, translating into the
/// SPEC §8 form, validating it and mapping every span back into the Flux file.
fn flux(c: &mut Criterion, n: usize) {
    let text = topogen::flux(n);
    let options = blazes::load::flux::Options::default();
    let mut group = c.benchmark_group("flux");
    sampling(&mut group, n);
    group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
        b.iter(
            || match blazes::load::flux::load_str("flux.yaml", text, &options) {
                Ok(loaded) => loaded,
                Err(d) => panic!("the generated Flux topology does not load: {:?}", d.first()),
            },
        );
    });
    group.finish();
}

/// `blazes simulate` on a sink reading from `n` sources, with a bound of one message per run:
/// the first run exceeds it and the simulation stops, so this measures the simulator's
/// preparation (which paths each input and output has, where punctuations flow) and the start
/// of one run, at every size alike.
fn simulate(c: &mut Criterion, n: usize) {
    let topology = match blazes::load::load_string("fan-in.yaml", topogen::fan_in(n)) {
        Ok(t) => t,
        Err(d) => panic!("the generated fan-in does not load: {:?}", d.first()),
    };
    let analysis = blazes::analyze(&topology);
    let config = blazes::simulate::Config {
        max_messages: 1,
        ..blazes::simulate::Config::default()
    };
    let mut group = c.benchmark_group("simulate");
    sampling(&mut group, n);
    group.bench_with_input(BenchmarkId::from_parameter(n), &topology, |b, t| {
        b.iter(|| blazes::simulate::simulate(t, &analysis, &config));
    });
    group.finish();
}

/// The human rendering of a topology's findings (without colour, at the default width), and the
/// JSON document of `lint --format json` (every stream with its derivation, and the findings).
fn render(c: &mut Criterion, n: usize, yaml: String) {
    let report = match blazes::check_string("bench.yaml", yaml, &blazes::CheckOptions::default()) {
        Ok(report) => report,
        Err(d) => panic!("the generated topology does not load: {:?}", d.first()),
    };
    let mut group = c.benchmark_group("render");
    sampling(&mut group, n);
    group.bench_with_input(
        BenchmarkId::from_parameter(n),
        &report.findings,
        |b, findings| {
            b.iter(|| {
                blazes::report::human::render(findings, blazes::report::human::Style::default())
            });
        },
    );
    group.finish();
    let results = [Ok(report)];
    let mut group = c.benchmark_group("json");
    sampling(&mut group, n);
    group.bench_with_input(BenchmarkId::from_parameter(n), &results, |b, results| {
        b.iter(|| blazes::cli::write_json(results, false, &mut std::io::sink()).unwrap());
    });
    group.finish();
}

/// Loading a crate of `n` modules (`blazes lint CRATE_DIR` before the analysis): reading the
/// files, scanning them for `#[blazes]` attributes and resolving the topology's `rust:`
/// references. The crate is written once, to a directory of the system's temporary directory
/// that is removed when the group is done.
fn rust_crate(c: &mut Criterion, n: usize) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("blazes-bench-crate-{n}-"))
        .tempdir()
        .unwrap();
    for (path, text) in topogen::rust_crate(n) {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let mut group = c.benchmark_group("crate");
    sampling(&mut group, n);
    group.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter(|| match blazes::load::rust::load_crate(root) {
            Ok(topology) => topology,
            Err(d) => panic!("the generated crate does not load: {:?}", d.first()),
        });
    });
    group.finish();
}

/// `criterion_group!` defines a public function; kept in a private module, it needs no docs.
mod group {
    criterion::criterion_group!(benches, super::check);
}
criterion_main!(group::benches);
