//! The CAMPAIGN query's three variants: uncoordinated answers change with the schedule; sealed
//! answers are identical and complete for every schedule and worker count; with the dynamic
//! order every replica gives the same answers.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use campaign_timely::{Mode, Response, RunConfig, reference, run, workload};

fn go(mode: Mode, workers: usize, seed: u64) -> campaign_timely::Outcome {
    let (clicks, requests) = workload(6, 400);
    let o = run(
        &RunConfig {
            mode,
            workers,
            seed,
        },
        &clicks,
        &requests,
    )
    .unwrap();
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    o
}

#[test]
fn uncoordinated_answers_differ_across_schedules() {
    let mut distinct: BTreeSet<BTreeSet<Response>> = BTreeSet::new();
    for workers in [1, 2] {
        for seed in 0..10 {
            distinct.insert(go(Mode::Uncoordinated, workers, seed).all());
        }
    }
    assert!(
        distinct.len() >= 3,
        "only {} distinct answers",
        distinct.len()
    );
}

#[test]
fn sealed_answers_are_identical_and_complete() {
    let (clicks, requests) = workload(6, 400);
    let right = reference(&clicks, &requests);
    assert_eq!(right.len(), 24);
    for workers in [1, 2, 3] {
        for seed in 0..6 {
            assert_eq!(go(Mode::Sealed, workers, seed).all(), right);
        }
    }
}

#[test]
fn with_the_dynamic_order_every_replica_agrees() {
    for workers in [1, 2, 3] {
        for seed in 0..6 {
            let o = go(Mode::Ordered, workers, seed);
            assert_eq!(o.responses.len(), workers, "one replica per worker");
            let first = o.responses.values().next().unwrap();
            assert_eq!(first.len(), 24, "every request answered");
            for r in o.responses.values() {
                assert_eq!(r, first, "replicas disagree");
            }
        }
    }
}
