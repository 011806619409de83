//! Throughput (words/s) of the word count: uncoordinated, sealed and ordered, on 1 and 2
//! workers. `cargo bench -p wordcount-timely --bench throughput`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wordcount_timely::{Mode, RunConfig, run, run_two_processes, tweets};

fn bench(c: &mut Criterion) {
    let input = tweets(20, 1000);
    let words: u64 = input
        .iter()
        .map(|t| t.text.split_whitespace().count() as u64)
        .sum();
    let mut group = c.benchmark_group("wordcount");
    group.throughput(Throughput::Elements(words));
    group.sample_size(10);
    for workers in [1usize, 2] {
        for (name, mode) in [
            ("uncoordinated", Mode::Uncoordinated),
            ("sealed", Mode::Sealed),
            ("ordered", Mode::Ordered),
        ] {
            let config = RunConfig {
                mode,
                workers,
                jitter: None,
            };
            group.bench_with_input(
                BenchmarkId::new(name, format!("{workers}w")),
                &config,
                |b, config| b.iter(|| run(config, &input).unwrap()),
            );
        }
    }
    group.finish();
}

/// Two timely processes (two instances in two threads of this process, connected over TCP on
/// loopback), one worker each. Connecting takes about a second (timely retries once a second), so
/// this group uses 10x the data and also measures an empty run: subtract its time.
fn bench_two_processes(c: &mut Criterion) {
    let input = tweets(20, 10_000);
    let words: u64 = input
        .iter()
        .map(|t| t.text.split_whitespace().count() as u64)
        .sum();
    let mut group = c.benchmark_group("wordcount-2p");
    group.sample_size(10);
    let empty = RunConfig {
        mode: Mode::Sealed,
        workers: 1,
        jitter: None,
    };
    group.bench_function("setup-only", |b| {
        b.iter(|| run_two_processes(&empty, &[]).unwrap())
    });
    group.throughput(Throughput::Elements(words));
    for (name, mode) in [
        ("uncoordinated", Mode::Uncoordinated),
        ("sealed", Mode::Sealed),
        ("ordered", Mode::Ordered),
    ] {
        let config = RunConfig {
            mode,
            workers: 1,
            jitter: None,
        };
        group.bench_with_input(BenchmarkId::new(name, "2p"), &config, |b, config| {
            b.iter(|| run_two_processes(config, &input).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_two_processes);
criterion_main!(benches);
