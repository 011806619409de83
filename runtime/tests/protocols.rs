//! The protocols of SPEC §7 under every delivery order: proptest over permuted and duplicated
//! deliveries, and exhaustive enumeration of all interleavings for small cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use blazes_runtime::{
    BarrierError, EpochMessage, EpochOrder, Message, Partition, Punctuator, Replica, SealBarrier,
    Sequencer,
};
use proptest::prelude::*;

type Rec = (u8, u32); // (key, payload)
type Msg = Message<u8, Rec, u64>;

/// Every permutation of `items` (Heap's algorithm), handed to `f`.
fn for_each_permutation<T: Clone>(items: &[T], f: &mut dyn FnMut(&[T])) {
    let mut a = items.to_vec();
    let n = a.len();
    let mut c = vec![0usize; n];
    f(&a);
    let mut i = 0;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                a.swap(0, i);
            } else {
                a.swap(c[i], i);
            }
            f(&a);
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
}

/// The messages of a scenario: `sent[p]` lists the records producer `p` sends; every producer
/// seals every key in `keys` with its count.
fn messages(sent: &[Vec<Rec>], keys: &[u8]) -> Vec<Msg> {
    let mut out = Vec::new();
    for (p, records) in sent.iter().enumerate() {
        for r in records {
            out.push(Message::Data {
                producer: p as u64,
                record: *r,
            });
        }
        for &k in keys {
            out.push(Message::Seal {
                key: k,
                producer: p as u64,
                count: records.iter().filter(|r| r.0 == k).count() as u64,
            });
        }
    }
    out
}

/// What the barrier must release: per key, all its records sorted.
fn expected(sent: &[Vec<Rec>], keys: &[u8]) -> BTreeMap<u8, Vec<Rec>> {
    let mut m: BTreeMap<u8, Vec<Rec>> = keys.iter().map(|&k| (k, Vec::new())).collect();
    for r in sent.iter().flatten() {
        m.entry(r.0).or_default().push(*r);
    }
    for v in m.values_mut() {
        v.sort();
    }
    m
}

/// Feeds a delivery to a fresh barrier; returns the releases keyed by key value, failing on a
/// duplicate release or an error, and checks nothing is left pending.
fn run_barrier(producers: usize, delivery: &[Msg]) -> BTreeMap<u8, Vec<Rec>> {
    let mut b = SealBarrier::new(0..producers as u64, |r: &Rec| r.0);
    let mut out = BTreeMap::new();
    for m in delivery {
        if let Some(Partition { key, records }) = b.push(m.clone()).unwrap() {
            assert!(
                out.insert(key, records).is_none(),
                "key {key} released twice"
            );
        }
    }
    assert_eq!(b.pending().count(), 0, "partitions left pending");
    assert_eq!(b.buffered(), 0);
    out
}

#[test]
fn every_interleaving_of_a_small_case_releases_the_same_partitions() {
    // Two producers, two keys: 3 data messages, 4 seals and a duplicated seal: 8! = 40320
    // interleavings.
    let sent = vec![vec![(1, 10), (2, 20)], vec![(1, 11)]];
    let keys = [1, 2];
    let msgs = messages(&sent, &keys);
    assert_eq!(msgs.len(), 7);
    // Add a duplicated seal: 8 messages.
    let mut msgs = msgs;
    msgs.push(Message::Seal {
        key: 1,
        producer: 1,
        count: 1,
    });
    let want = expected(&sent, &keys);
    let mut n = 0;
    for_each_permutation(&msgs, &mut |d| {
        assert_eq!(run_barrier(2, d), want, "delivery {d:?}");
        n += 1;
    });
    assert_eq!(n, 40320);
}

#[test]
fn every_interleaving_of_a_single_producer_case_releases_the_same_partitions() {
    let sent = vec![vec![(3, 1), (3, 2), (4, 1), (3, 0)]];
    let keys = [3, 4, 5];
    let msgs = messages(&sent, &keys);
    let want = expected(&sent, &keys);
    assert_eq!(want[&5], Vec::<Rec>::new());
    for_each_permutation(&msgs, &mut |d| assert_eq!(run_barrier(1, d), want));
}

fn scenario() -> impl Strategy<Value = (Vec<Vec<Rec>>, Vec<u8>)> {
    (1usize..=4, 1u8..=4).prop_flat_map(|(producers, keys)| {
        (
            proptest::collection::vec(
                proptest::collection::vec((0..keys, 0u32..5), 0..6),
                producers,
            ),
            Just((0..keys).collect::<Vec<u8>>()),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn permuted_and_duplicated_deliveries_release_identical_partitions(
        (sent, keys) in scenario(),
        order in proptest::collection::vec(any::<u64>(), 64),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let msgs = messages(&sent, &keys);
        // Duplicate some seals (a replayed punctuation must be idempotent).
        let seals: Vec<Msg> = msgs.iter().filter(|m| matches!(m, Message::Seal { .. })).cloned().collect();
        let mut delivery = msgs.clone();
        for d in &dups {
            delivery.push(d.get(&seals).clone());
        }
        // A permutation drawn from the random keys.
        let mut keyed: Vec<(u64, usize, Msg)> = delivery.into_iter().enumerate()
            .map(|(i, m)| (order[i % order.len()].rotate_left(i as u32), i, m)).collect();
        keyed.sort();
        let delivery: Vec<Msg> = keyed.into_iter().map(|(_, _, m)| m).collect();

        let got = run_barrier(sent.len(), &delivery);
        prop_assert_eq!(&got, &expected(&sent, &keys));
        // Nothing lost or duplicated.
        let total: usize = got.values().map(Vec::len).sum();
        prop_assert_eq!(total, sent.iter().map(Vec::len).sum::<usize>());
    }

    #[test]
    fn punctuated_exchange_delivers_every_record_to_exactly_one_consumer(
        sent in proptest::collection::vec(proptest::collection::vec((0u8..3, 0u32..50), 0..8), 1..4),
        consumers in 1usize..4,
        seed in any::<u64>(),
    ) {
        // Each producer routes by payload, seals every key; each consumer runs its barrier.
        let mut inboxes: Vec<Vec<Msg>> = vec![Vec::new(); consumers];
        for (p, records) in sent.iter().enumerate() {
            let mut punct = Punctuator::new(p as u64, consumers);
            for r in records {
                let dest = r.1 as usize % consumers;
                inboxes[dest].push(punct.send(&r.0, dest, *r).unwrap());
            }
            for k in 0u8..3 {
                for (dest, seal) in punct.seal(k).unwrap() {
                    inboxes[dest].push(seal);
                }
            }
            prop_assert!(punct.seal::<Rec>(0).is_err(), "sealing twice is refused");
        }
        let mut all: BTreeMap<u8, Vec<Rec>> = BTreeMap::new();
        for (i, inbox) in inboxes.iter_mut().enumerate() {
            // Reverse or rotate deliveries per consumer.
            let n = inbox.len().max(1);
            inbox.rotate_left((seed as usize + i) % n);
            if seed % 2 == 0 { inbox.reverse(); }
            for (k, mut v) in run_barrier(sent.len(), inbox) {
                all.entry(k).or_default().append(&mut v);
            }
        }
        for v in all.values_mut() { v.sort(); }
        prop_assert_eq!(all, expected(&sent, &[0, 1, 2]));
    }
}

#[test]
fn a_record_after_the_release_is_an_error_and_handed_back() {
    let mut b = SealBarrier::new([0u64], |r: &Rec| r.0);
    let done = b
        .push(Message::Seal {
            key: 1,
            producer: 0,
            count: 0,
        })
        .unwrap();
    assert_eq!(
        done,
        Some(Partition {
            key: 1,
            records: vec![]
        })
    );
    let err = b
        .push(Message::Data {
            producer: 0,
            record: (1, 9),
        })
        .unwrap_err();
    assert_eq!(
        err,
        BarrierError::LateRecord {
            key: 1,
            producer: 0,
            record: (1, 9)
        }
    );
    assert!(err.to_string().contains("after the partition was released"));
}

#[test]
fn protocol_violations_are_reported() {
    let mut b = SealBarrier::new([0u64, 1], |r: &Rec| r.0);
    // Unknown producer, with the record handed back.
    assert_eq!(
        b.push(Message::Data {
            producer: 7,
            record: (1, 1)
        }),
        Err(BarrierError::UnknownProducer {
            producer: 7,
            record: Some((1, 1))
        })
    );
    // Conflicting seal counts: the first vote stays.
    b.push(Message::Seal {
        key: 1,
        producer: 0,
        count: 1,
    })
    .unwrap();
    assert!(matches!(
        b.push(Message::Seal {
            key: 1,
            producer: 0,
            count: 2
        }),
        Err(BarrierError::ConflictingSeal {
            first: 1,
            second: 2,
            ..
        })
    ));
    // More records than announced.
    b.push(Message::Data {
        producer: 0,
        record: (1, 5),
    })
    .unwrap();
    assert!(matches!(
        b.push(Message::Data {
            producer: 0,
            record: (1, 6)
        }),
        Err(BarrierError::TooManyRecords {
            sealed: 1,
            received: 2,
            record: Some((1, 6)),
            ..
        })
    ));
    // Partition 1 is still waiting for producer 1, then completes with one record.
    assert_eq!(b.pending().copied().collect::<Vec<_>>(), vec![1]);
    let p = b
        .push(Message::Seal {
            key: 1,
            producer: 1,
            count: 0,
        })
        .unwrap()
        .unwrap();
    assert_eq!(p.records, vec![(1, 5)]);
}

#[test]
fn a_partition_waits_for_every_producer_even_when_counts_match() {
    let mut b = SealBarrier::new([0u64, 1, 2], |r: &Rec| r.0);
    assert_eq!(
        b.push(Message::Seal {
            key: 0,
            producer: 0,
            count: 0
        }),
        Ok(None)
    );
    assert_eq!(
        b.push(Message::Seal {
            key: 0,
            producer: 1,
            count: 0
        }),
        Ok(None)
    );
    assert!(
        b.push(Message::Seal {
            key: 0,
            producer: 2,
            count: 0
        })
        .unwrap()
        .is_some()
    );
}

// ---- dynamic total order ----

proptest! {
    #[test]
    fn replicas_apply_the_sequencer_order_whatever_the_delivery(
        inputs in proptest::collection::vec(0u32..100, 0..40),
        perm_a in proptest::collection::vec(any::<u64>(), 40),
        perm_b in proptest::collection::vec(any::<u64>(), 40),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let mut seq = Sequencer::new();
        let sequenced: Vec<_> = inputs.iter().map(|&r| seq.sequence(r)).collect();
        prop_assert_eq!(seq.len(), inputs.len() as u64);
        let deliver = |perm: &[u64]| {
            let mut d = sequenced.clone();
            if !sequenced.is_empty() {
                for i in &dups { d.push(i.get(&sequenced).clone()); }
            }
            let mut keyed: Vec<_> = d.into_iter().enumerate().map(|(i, s)| (perm[i % perm.len()], i, s)).collect();
            keyed.sort();
            let mut replica = Replica::new();
            let mut applied = Vec::new();
            for (_, _, s) in keyed { applied.extend(replica.push(s).unwrap()); }
            (applied, replica.buffered())
        };
        let (a, buffered_a) = deliver(&perm_a);
        let (b, buffered_b) = deliver(&perm_b);
        prop_assert_eq!(&a, &inputs);
        prop_assert_eq!(&b, &inputs);
        prop_assert_eq!(buffered_a + buffered_b, 0);
    }
}

#[test]
fn every_interleaving_reaches_replicas_in_one_order() {
    let mut seq = Sequencer::new();
    let sequenced: Vec<_> = ["a", "b", "c", "d", "e", "f"]
        .into_iter()
        .map(|r| seq.sequence(r))
        .collect();
    let mut with_dup = sequenced.clone();
    with_dup.push(sequenced[2].clone());
    for_each_permutation(&with_dup, &mut |d| {
        let mut r = Replica::new();
        let applied: Vec<&str> = d.iter().flat_map(|s| r.push(s.clone()).unwrap()).collect();
        assert_eq!(applied, vec!["a", "b", "c", "d", "e", "f"]);
    });
}

#[test]
fn a_replica_rejects_two_records_with_one_sequence_number() {
    let mut r = Replica::new();
    r.push(blazes_runtime::Sequenced {
        seq: 1,
        record: 'x',
    })
    .unwrap();
    assert!(
        r.push(blazes_runtime::Sequenced {
            seq: 1,
            record: 'y'
        })
        .is_err()
    );
}

// ---- deterministic epoch order ----

type EMsg = EpochMessage<u32, u64>;

fn epoch_messages(sent: &[Vec<(u64, u32)>], epochs: u64) -> Vec<EMsg> {
    let mut out = Vec::new();
    for (p, records) in sent.iter().enumerate() {
        for &(epoch, record) in records {
            out.push(EpochMessage::Data {
                producer: p as u64,
                epoch,
                record,
            });
        }
        for e in 0..epochs {
            out.push(EpochMessage::Seal {
                producer: p as u64,
                epoch: e,
                count: records.iter().filter(|r| r.0 == e).count() as u64,
            });
        }
    }
    out
}

fn run_epochs(producers: usize, delivery: &[EMsg]) -> Vec<(u64, Vec<u32>)> {
    let mut o = EpochOrder::new(0..producers as u64, 0);
    let mut applied = Vec::new();
    for m in delivery {
        for p in o.push(m.clone()).unwrap() {
            applied.push((p.key, p.records));
        }
    }
    applied
}

#[test]
fn every_interleaving_applies_epochs_in_one_order() {
    let sent = vec![vec![(0, 5), (1, 3)], vec![(1, 1), (0, 9)]];
    let msgs = epoch_messages(&sent, 2);
    let want = vec![(0, vec![5, 9]), (1, vec![1, 3])];
    for_each_permutation(&msgs, &mut |d| assert_eq!(run_epochs(2, d), want));
}

proptest! {
    #[test]
    fn epoch_order_is_deterministic(
        sent in proptest::collection::vec(proptest::collection::vec((0u64..4, 0u32..20), 0..8), 1..4),
        perm in proptest::collection::vec(any::<u64>(), 64),
    ) {
        let msgs = epoch_messages(&sent, 4);
        let mut keyed: Vec<_> = msgs.iter().cloned().enumerate().map(|(i, m)| (perm[i % perm.len()].rotate_left(i as u32), i, m)).collect();
        keyed.sort();
        let delivery: Vec<EMsg> = keyed.into_iter().map(|(_, _, m)| m).collect();
        let got = run_epochs(sent.len(), &delivery);
        let mut want: Vec<(u64, Vec<u32>)> = (0..4).map(|e| (e, Vec::new())).collect();
        for &(e, r) in sent.iter().flatten() { want[e as usize].1.push(r); }
        for w in &mut want { w.1.sort(); }
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_record_for_an_applied_epoch_is_an_error() {
    let mut o: EpochOrder<u32, u64> = EpochOrder::new([0], 0);
    let done = o
        .push(EpochMessage::Seal {
            producer: 0,
            epoch: 0,
            count: 0,
        })
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(o.next_epoch(), 1);
    assert!(matches!(
        o.push(EpochMessage::Data {
            producer: 0,
            epoch: 0,
            record: 4
        }),
        Err(BarrierError::LateRecord { .. })
    ));
    // A later epoch completed first waits for the earlier one.
    assert!(
        o.push(EpochMessage::Seal {
            producer: 0,
            epoch: 2,
            count: 0
        })
        .unwrap()
        .is_empty()
    );
    let both = o
        .push(EpochMessage::Seal {
            producer: 0,
            epoch: 1,
            count: 0,
        })
        .unwrap();
    assert_eq!(both.iter().map(|p| p.key).collect::<Vec<_>>(), vec![1, 2]);
}
