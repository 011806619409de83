//! `blazes::verify` on real operators: correct annotations pass, a mis-annotated one is caught
//! with a readable, minimal counterexample.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use blazes::verify::{Checker, Operator};

/// A click: (ad id, campaign).
type Click = (u8, u8);

fn clicks() -> Checker<Click> {
    Checker::new(|rng| (rng.below(3) as u8, rng.below(2) as u8))
}

/// Set union of clicks: `CW`, correctly.
#[derive(Default)]
struct ClickSet(BTreeSet<Click>);

impl Operator for ClickSet {
    type In = Click;
    type Out = Click;
    type State = BTreeSet<Click>;
    fn apply(&mut self, c: &Click) -> Vec<Click> {
        if self.0.insert(*c) { vec![*c] } else { vec![] }
    }
    fn state(&self) -> Self::State {
        self.0.clone()
    }
}

/// Clicks per ad: a commutative counter, `CW`, correctly (emits nothing until read).
#[derive(Default)]
struct PerAdCount(BTreeMap<u8, u32>);

impl Operator for PerAdCount {
    type In = Click;
    type Out = (u8, u32);
    type State = BTreeMap<u8, u32>;
    fn apply(&mut self, c: &Click) -> Vec<(u8, u32)> {
        *self.0.entry(c.0).or_default() += 1;
        Vec::new()
    }
    fn state(&self) -> Self::State {
        self.0.clone()
    }
}

/// The first campaign seen for each ad wins: order-sensitive, wrongly claimed `CW`; correct as
/// `OW(id)` (deterministic within each ad's partition).
#[derive(Default)]
struct FirstSeen(BTreeMap<u8, u8>);

impl Operator for FirstSeen {
    type In = Click;
    type Out = Click;
    type State = BTreeMap<u8, u8>;
    fn apply(&mut self, c: &Click) -> Vec<Click> {
        let first = *self.0.entry(c.0).or_insert(c.1);
        vec![(c.0, first)]
    }
    fn state(&self) -> Self::State {
        self.0.clone()
    }
}

/// A running maximum over everything, emitted on every input: order-sensitive across all
/// partitions, so also wrong as `OW(id)`.
#[derive(Default)]
struct RunningMax(u8);

impl Operator for RunningMax {
    type In = Click;
    type Out = u8;
    type State = u8;
    fn apply(&mut self, c: &Click) -> Vec<u8> {
        self.0 = self.0.max(c.1);
        vec![self.0]
    }
    fn state(&self) -> u8 {
        self.0
    }
}

/// Batches are deduplicated per batch only: confluent one at a time, not under batching.
#[derive(Default)]
struct BatchCount(u32);

impl Operator for BatchCount {
    type In = Click;
    type Out = u32;
    type State = u32;
    fn apply(&mut self, _: &Click) -> Vec<u32> {
        self.0 += 1;
        Vec::new()
    }
    fn apply_batch(&mut self, batch: &[Click]) -> Vec<u32> {
        let distinct: BTreeSet<&Click> = batch.iter().collect();
        self.0 += distinct.len() as u32;
        Vec::new()
    }
    fn state(&self) -> u32 {
        self.0
    }
}

#[test]
fn correct_confluent_operators_pass() {
    clicks().confluent(ClickSet::default).unwrap();
    clicks().confluent(PerAdCount::default).unwrap();
}

#[test]
fn first_seen_wins_labelled_cw_is_caught() {
    let err = clicks().confluent(FirstSeen::default).unwrap_err();
    let text = err.to_string();
    eprintln!("{text}");
    // Minimal: two clicks on one ad with different campaigns.
    assert_eq!(err.inputs.len(), 2, "{text}");
    assert_eq!(err.inputs[0].0, err.inputs[1].0, "{text}");
    assert_ne!(err.inputs[0].1, err.inputs[1].1, "{text}");
    assert!(text.contains("is not confluent"), "{text}");
    assert!(
        text.contains("order A") && text.contains("order B"),
        "{text}"
    );
}

#[test]
fn first_seen_wins_is_correct_as_ow_id() {
    clicks().gated(FirstSeen::default, |c: &Click| c.0).unwrap();
}

#[test]
fn running_max_is_wrong_as_ow_id_and_right_as_ow_global() {
    let err = clicks()
        .gated(RunningMax::default, |c: &Click| c.0)
        .unwrap_err();
    assert_eq!(err.inputs.len(), 2, "{err}");
    assert_ne!(err.inputs[0].0, err.inputs[1].0, "{err}");
    clicks().gated(RunningMax::default, |_: &Click| ()).unwrap();
}

#[test]
fn batching_is_checked_too() {
    let err = clicks().confluent(BatchCount::default).unwrap_err();
    assert_eq!(err.inputs.len(), 2, "{err}");
    assert_eq!(err.inputs[0], err.inputs[1], "{err}");
}
