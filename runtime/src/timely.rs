//! Adapters for timely dataflow (feature `timely`): thin operators around the state machines.
//!
//! - [`punctuate`] (producer side) turns a stream of [`Event`]s into routed [`Message`]s: each
//!   record goes to the worker that owns its routing key, and each "key value `k` is done" event
//!   becomes one seal per worker carrying that worker's count.
//! - [`seal_barrier`] (consumer side) exchanges routed messages to their worker and runs a
//!   [`SealBarrier`] there, releasing complete partitions.
//! - [`epochs`] is the seal barrier for the case where the seal key is the timestamp: timely's
//!   frontier is the seal, so each epoch is released, sorted, once the frontier passes it.
//! - [`order_deterministic`] is the deterministic order of an order site: every record goes to
//!   one ordering worker, which applies epochs in order and records within an epoch sorted.
//! - [`order_dynamic`] is the dynamic total order: one sequencer worker numbers every record,
//!   and every worker (a replica) applies them in that sequence.
//!
//! Producer ids are worker indices, so a barrier's producer set is `0..peers` when every worker
//! runs one producer instance.

use std::collections::BTreeMap;

pub use ::timely;
use ::timely::ExchangeData;
use ::timely::dataflow::Stream;
use ::timely::dataflow::channels::pact::{Exchange, Pipeline};
use ::timely::dataflow::operators::Capability;
use ::timely::dataflow::operators::generic::Operator;
use ::timely::order::TotalOrder;
use ::timely::progress::Timestamp;

use crate::order::{Replica, Sequenced, Sequencer};
use crate::seal::{BarrierError, Message, Partition, Punctuator, SealBarrier};

/// What a producer emits before punctuation: a record, or the end of a key value.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Event<K, R> {
    /// A record.
    Record(R),
    /// No more records with this key value will come from this worker.
    Seal(K),
}

/// A message addressed to a worker index (taken modulo the number of workers).
pub type Routed<K, R> = (u64, Message<K, R, u64>);

/// What a seal barrier releases: a complete partition, or a protocol violation (with the records
/// involved handed back).
pub type Released<K, R> = Result<Partition<K, R>, BarrierError<K, R, u64>>;

/// Producer side of a sealed stream on timely: routes each record to worker `route(record) %
/// peers`, counts it per key value and destination, and turns each [`Event::Seal`] into one
/// seal per worker. The producer id is the worker index.
///
/// A record sent after its key value was sealed is still sent (uncounted), so that the consumer's
/// barrier reports it as a late record instead of it vanishing here. Sealing a key value twice
/// sends its seals once.
pub fn punctuate<'s, T, K, R, FK, FR>(
    stream: Stream<'s, T, Vec<Event<K, R>>>,
    name: &str,
    key: FK,
    route: FR,
) -> Stream<'s, T, Vec<Routed<K, R>>>
where
    T: Timestamp,
    K: ExchangeData + Ord + Clone,
    R: ExchangeData,
    FK: Fn(&R) -> K + 'static,
    FR: Fn(&R) -> u64 + 'static,
{
    let scope = stream.scope();
    let peers = scope.peers().max(1);
    let index = scope.index() as u64;
    stream.unary(Pipeline, name, move |_, _| {
        let mut punct: Punctuator<K, u64> = Punctuator::new(index, peers);
        move |input, output| {
            input.for_each(|cap, data| {
                let mut session = output.session(&cap);
                for event in data.drain(..) {
                    match event {
                        Event::Record(r) => {
                            let k = key(&r);
                            let dest = (route(&r) % peers as u64) as usize;
                            let m = match punct.send(&k, dest, r) {
                                Ok(m) => m,
                                Err(late) => late.message,
                            };
                            session.give((dest as u64, m));
                        }
                        Event::Seal(k) => {
                            if let Ok(seals) = punct.seal::<R>(k) {
                                for (dest, s) in seals {
                                    session.give((dest as u64, s));
                                }
                            }
                        }
                    }
                }
            });
        }
    })
}

/// Consumer side of a sealed stream on timely: exchanges each routed message to its worker and
/// runs a [`SealBarrier`] over the producer set `0..producers` there. Each complete partition is
/// released once, records sorted, at the time of the message that completed it; protocol
/// violations come out as `Err` items.
pub fn seal_barrier<'s, T, K, R, F>(
    stream: Stream<'s, T, Vec<Routed<K, R>>>,
    name: &str,
    producers: u64,
    key: F,
) -> Stream<'s, T, Vec<Released<K, R>>>
where
    T: Timestamp,
    K: ExchangeData + Ord + Clone,
    R: ExchangeData + Ord + Clone,
    F: Fn(&R) -> K + 'static,
{
    stream.unary(Exchange::new(|m: &Routed<K, R>| m.0), name, move |_, _| {
        let mut barrier = SealBarrier::new(0..producers, key);
        move |input, output| {
            input.for_each(|cap, data| {
                let mut session = output.session(&cap);
                for (_, m) in data.drain(..) {
                    match barrier.push(m) {
                        Ok(Some(p)) => session.give(Ok(p)),
                        Ok(None) => {}
                        Err(e) => session.give(Err(e)),
                    }
                }
            });
        }
    })
}

/// Releases each timestamp's records as one partition, sorted, once the input frontier has
/// passed that time — in time order. Records are first exchanged by `route`. This is the seal
/// barrier when the seal key is the timestamp (timely's frontier is the seal), and the
/// deterministic epoch order when `route` sends everything to one worker.
pub fn epochs<'s, T, D, F>(
    stream: Stream<'s, T, Vec<D>>,
    name: &str,
    route: F,
) -> Stream<'s, T, Vec<Partition<T, D>>>
where
    T: Timestamp + TotalOrder,
    D: ExchangeData + Ord,
    F: Fn(&D) -> u64 + 'static,
{
    stream.unary_frontier(Exchange::new(move |d: &D| route(d)), name, move |_, _| {
        let mut pending: BTreeMap<T, (Capability<T>, Vec<D>)> = BTreeMap::new();
        move |(input, frontier), output| {
            input.for_each(|cap, data| {
                let Some(time) = cap.least().cloned() else {
                    return;
                };
                let Some(retained) = cap.retain_least(output.output_index()) else {
                    return;
                };
                pending
                    .entry(time)
                    .or_insert_with(|| (retained, Vec::new()))
                    .1
                    .append(data);
            });
            while let Some(entry) = pending.first_entry() {
                if frontier.less_equal(entry.key()) {
                    break;
                }
                let (time, (cap, mut records)) = entry.remove_entry();
                records.sort();
                output.session(&cap).give(Partition { key: time, records });
            }
        }
    })
}

/// The deterministic order of an order site: every record goes to worker 0 (the ordering
/// worker), which releases epochs (timestamps) in order, each with its records sorted.
pub fn order_deterministic<'s, T, D>(
    stream: Stream<'s, T, Vec<D>>,
    name: &str,
) -> Stream<'s, T, Vec<Partition<T, D>>>
where
    T: Timestamp + TotalOrder,
    D: ExchangeData + Ord,
{
    epochs(stream, name, |_| 0)
}

/// The dynamic total order of an order site: worker 0 sequences every record in its arrival
/// order and sends the sequence to every worker; each worker is a replica that applies `logic`
/// (the order-sensitive operator) to the records in sequence order, with each record's sequence
/// number. Replicas agree within a run; runs may differ (SPEC §6: `Run` remains).
///
/// The logic runs inside the replica operator on purpose: timely may regroup a stream's
/// containers by timestamp downstream, so the sequence is only guaranteed where it is applied.
/// Outputs carry whatever the logic returns (include the sequence number to keep the order).
pub fn order_dynamic<'s, T, D, O, L>(
    stream: Stream<'s, T, Vec<D>>,
    name: &str,
    mut logic: L,
) -> Stream<'s, T, Vec<O>>
where
    T: Timestamp,
    D: ExchangeData + PartialEq + Clone,
    O: Clone + 'static,
    L: FnMut(u64, D) -> O + 'static,
{
    let peers = stream.scope().peers().max(1) as u64;
    let sequenced: Stream<'s, T, Vec<(u64, Sequenced<D>)>> =
        stream.unary(Exchange::new(|_: &D| 0), name, move |_, _| {
            let mut sequencer = Sequencer::new();
            move |input, output| {
                input.for_each(|cap, data| {
                    let mut session = output.session(&cap);
                    for d in data.drain(..) {
                        let s = sequencer.sequence(d);
                        for replica in 0..peers {
                            session.give((replica, s.clone()));
                        }
                    }
                });
            }
        });
    sequenced.unary(
        Exchange::new(|m: &(u64, Sequenced<D>)| m.0),
        name,
        move |_, _| {
            let mut replica = Replica::new();
            move |input, output| {
                input.for_each(|cap, data| {
                    let mut session = output.session(&cap);
                    for (_, s) in data.drain(..) {
                        let first = replica.next();
                        // One sequencer numbers each record once: no conflict can arise.
                        if let Ok(applied) = replica.push(s) {
                            for (seq, d) in (first..).zip(applied) {
                                session.give(logic(seq, d));
                            }
                        }
                    }
                });
            }
        },
    )
}
