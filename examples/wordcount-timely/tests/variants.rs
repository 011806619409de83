//! The word count's three variants: uncoordinated output changes with the delivery schedule and
//! the worker count; sealed and ordered outputs are identical and correct for every schedule.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use wordcount_timely::{Committed, Mode, RunConfig, reference, run, tweets};

fn outputs(mode: Mode, workers: &[usize], seeds: std::ops::Range<u64>) -> Vec<Committed> {
    let input = tweets(4, 40);
    let mut out = Vec::new();
    for &w in workers {
        for seed in seeds.clone() {
            let o = run(
                &RunConfig {
                    mode,
                    workers: w,
                    jitter: Some(seed),
                },
                &input,
            )
            .unwrap();
            assert!(o.errors.is_empty(), "{:?}", o.errors);
            out.push(o.committed);
        }
    }
    out
}

#[test]
fn uncoordinated_output_differs_across_schedules_and_worker_counts() {
    let input = tweets(4, 40);
    let right = reference(&input);
    let all = outputs(Mode::Uncoordinated, &[1, 2], 0..12);
    let distinct: BTreeSet<&Committed> = all.iter().collect();
    assert!(
        distinct.len() >= 3,
        "only {} distinct outputs over 24 runs",
        distinct.len()
    );
    assert!(
        all.iter().all(|c| *c != right),
        "the bug shows in every run"
    );
}

#[test]
fn sealed_output_is_identical_and_correct_for_every_schedule() {
    let right = reference(&tweets(4, 40));
    for c in outputs(Mode::Sealed, &[1, 2, 3], 0..8) {
        assert_eq!(c, right);
    }
}

#[test]
fn ordered_output_is_identical_and_correct_for_every_schedule() {
    let right = reference(&tweets(4, 40));
    for c in outputs(Mode::Ordered, &[1, 2, 3], 0..8) {
        assert_eq!(c, right);
    }
}

#[test]
fn the_generated_shims_are_the_ones_blazes_fix_wrote() {
    // The plan the sealed variant relies on: one seal barrier at `count` on `words`.
    let sites = wordcount_timely::sealed_shim::SITES;
    assert_eq!(sites.len(), 1);
    assert_eq!(
        (sites[0].component, sites[0].kind, sites[0].inputs),
        ("count", "seal", &["words"][..])
    );
    // The unsealed topology's plan: a deterministic order at `count`.
    let sites = wordcount_timely::ordered_shim::SITES;
    assert_eq!(
        (sites[0].component, sites[0].kind, sites[0].strategy),
        ("count", "order", Some("deterministic"))
    );
}

#[test]
fn two_processes_on_loopback_give_the_same_outputs() {
    let input = tweets(4, 40);
    let right = reference(&input);
    for mode in [Mode::Sealed, Mode::Ordered] {
        for seed in 0..2 {
            let o = wordcount_timely::run_two_processes(
                &RunConfig {
                    mode,
                    workers: 1,
                    jitter: Some(seed),
                },
                &input,
            )
            .unwrap();
            assert!(o.errors.is_empty(), "{:?}", o.errors);
            assert_eq!(o.committed, right, "{mode:?}");
        }
    }
}
