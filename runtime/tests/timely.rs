//! The timely adapters with several workers, and with two processes on loopback: released
//! partitions and orders are identical across runs, worker counts and process layouts.

#![cfg(feature = "timely")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use blazes_runtime::Partition;
use blazes_runtime::timely::{
    Event, epochs, order_deterministic, order_dynamic, punctuate, seal_barrier,
};
use timely::dataflow::operators::Inspect;
use timely::dataflow::operators::Probe;
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::{CommunicationConfig, Config, WorkerConfig};

/// An input of records `D`.
type In<D> = InputHandle<u64, timely::container::CapacityContainerBuilder<Vec<D>>>;

/// (key, payload): key in 0..5.
type Rec = (u64, u64);

/// The records worker `index` of `peers` produces: payloads 0..200 are split round-robin.
fn share(index: usize, peers: usize) -> Vec<Rec> {
    (0..200u64)
        .filter(|p| *p as usize % peers == index)
        .map(|p| (p * 7 % 5, p))
        .collect()
}

/// Runs punctuate → seal_barrier on `config`; returns per key the union of released records
/// (sorted), and how many times each (worker, key) partition was released.
fn sealed_run(config: Config) -> BTreeMap<u64, Vec<u64>> {
    let guards = timely::execute(config, |worker| {
        let index = worker.index();
        let peers = worker.peers();
        let mut input: In<Event<u64, Rec>> = InputHandle::new();
        let probe = ProbeHandle::new();
        let out = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&out);
        worker.dataflow::<u64, _, _>(|scope| {
            let events = input.to_stream(scope);
            let routed = punctuate(events, "punctuate", |r: &Rec| r.0, |r: &Rec| r.1);
            seal_barrier(routed, "barrier", peers as u64, |r: &Rec| r.0)
                .inspect(move |x| sink.borrow_mut().push(x.clone()))
                .probe_with(&probe);
        });
        // Deliver in a worker-dependent order, sealing each key after its last record.
        let mut records = share(index, peers);
        records.reverse();
        for (i, r) in records.iter().enumerate() {
            input.send(Event::Record(*r));
            if i % 17 == 0 {
                worker.step();
            }
        }
        for k in (0..5).rev() {
            input.send(Event::Seal(k));
            worker.step();
        }
        drop(input);
        while !probe.done() {
            worker.step();
        }
        out.borrow().clone()
    })
    .unwrap();
    let mut merged: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for r in guards.join() {
        let released = r.unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for item in released {
            let Partition { key, records } = item.unwrap();
            assert!(seen.insert(key), "a worker released key {key} twice");
            merged
                .entry(key)
                .or_default()
                .extend(records.iter().map(|r| r.1));
        }
    }
    for v in merged.values_mut() {
        v.sort();
    }
    merged
}

fn expected() -> BTreeMap<u64, Vec<u64>> {
    let mut m: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (k, p) in share(0, 1) {
        m.entry(k).or_default().push(p);
    }
    m
}

#[test]
fn seal_barrier_releases_the_same_partitions_for_every_worker_count() {
    let want = expected();
    assert_eq!(want.values().map(Vec::len).sum::<usize>(), 200);
    for workers in [1, 2, 3, 4] {
        for _run in 0..3 {
            assert_eq!(
                sealed_run(Config::process(workers)),
                want,
                "{workers} workers"
            );
        }
    }
}

/// Two "processes" (two timely instances in two threads of this test) on loopback addresses.
fn cluster(threads: usize) -> Vec<Config> {
    // Ask the OS for two free loopback ports.
    let ports: Vec<u16> = (0..2)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    (0..2)
        .map(|process| Config {
            communication: CommunicationConfig::Cluster {
                threads,
                process,
                addresses: addresses.clone(),
                report: false,
                zerocopy: false,
            },
            worker: WorkerConfig::default(),
        })
        .collect()
}

#[test]
fn seal_barrier_across_two_processes_on_loopback() {
    let handles: Vec<_> = cluster(2)
        .into_iter()
        .map(|config| std::thread::spawn(move || sealed_run(config)))
        .collect();
    let mut merged: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for h in handles {
        for (k, v) in h.join().unwrap() {
            merged.entry(k).or_default().extend(v);
        }
    }
    for v in merged.values_mut() {
        v.sort();
    }
    assert_eq!(merged, expected());
}

/// Runs an ordering operator; returns what each worker applied: (sequence number or epoch,
/// fold state or 0, record), sorted.
fn ordered_run(workers: usize, dynamic: bool) -> Vec<Vec<(u64, u64, Rec)>> {
    let guards = timely::execute(Config::process(workers), move |worker| {
        let index = worker.index();
        let peers = worker.peers();
        let mut input: In<Rec> = InputHandle::new();
        let probe = ProbeHandle::new();
        let out = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&out);
        worker.dataflow::<u64, _, _>(|scope| {
            let records = input.to_stream(scope);
            if dynamic {
                // An order-sensitive fold: its states reveal the order of application.
                let mut state = 0u64;
                order_dynamic(records, "sequence", move |seq, r: Rec| {
                    state = state.wrapping_mul(31).wrapping_add(r.0 * 1000 + r.1);
                    (seq, state, r)
                })
                .inspect(move |x: &(u64, u64, Rec)| sink.borrow_mut().push(*x))
                .probe_with(&probe);
            } else {
                order_deterministic(records, "order")
                    .inspect(move |p: &Partition<u64, Rec>| {
                        sink.borrow_mut()
                            .extend(p.records.iter().map(|r| (p.key, 0, *r)));
                    })
                    .probe_with(&probe);
            }
        });
        for epoch in 0..4u64 {
            let mut mine = share(index, peers);
            mine.rotate_left(epoch as usize);
            for r in mine {
                input.send((epoch * 10 + r.0, r.1));
                worker.step();
            }
            input.advance_to(epoch + 1);
        }
        drop(input);
        while !probe.done() {
            worker.step();
        }
        out.borrow().clone()
    })
    .unwrap();
    guards
        .join()
        .into_iter()
        .map(|r| {
            let mut v = r.unwrap();
            // Epochs and sequence numbers are the order; timely may regroup by timestamp.
            v.sort_by_key(|x| x.0);
            v
        })
        .collect()
}

#[test]
fn deterministic_order_is_identical_across_worker_counts() {
    let one = ordered_run(1, false);
    assert_eq!(one[0].len(), 800);
    // Epochs in order.
    assert!(one[0].windows(2).all(|w| w[0].0 <= w[1].0));
    for workers in [2, 3] {
        let many = ordered_run(workers, false);
        assert_eq!(many[0], one[0], "{workers} workers");
        assert!(many[1..].iter().all(Vec::is_empty), "one ordering worker");
    }
}

#[test]
fn dynamic_order_is_agreed_by_every_replica() {
    for workers in [1, 2, 3] {
        let replicas = ordered_run(workers, true);
        assert_eq!(replicas.len(), workers);
        assert_eq!(replicas[0].len(), 800);
        assert!(replicas[0].iter().enumerate().all(|(i, x)| x.0 == i as u64));
        for r in &replicas[1..] {
            assert_eq!(r, &replicas[0], "replicas disagree");
        }
        let mut applied: Vec<Rec> = replicas[0].iter().map(|x| x.2).collect();
        applied.sort();
        let mut want: Vec<Rec> = (0..4u64)
            .flat_map(|e| share(0, 1).into_iter().map(move |r| (e * 10 + r.0, r.1)))
            .collect();
        want.sort();
        assert_eq!(applied, want, "nothing lost or duplicated");
    }
}

#[test]
fn epochs_release_each_time_once_the_frontier_passes_it() {
    let guards = timely::execute(Config::process(2), |worker| {
        let index = worker.index();
        let mut input: In<u64> = InputHandle::new();
        let probe = ProbeHandle::new();
        let out = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&out);
        worker.dataflow::<u64, _, _>(|scope| {
            epochs(input.to_stream(scope), "epochs", |d: &u64| *d)
                .inspect(move |p: &Partition<u64, u64>| sink.borrow_mut().push(p.clone()))
                .probe_with(&probe);
        });
        for t in 0..3u64 {
            for d in (0..10u64).rev() {
                input.send(d * 2 + index as u64 + 100 * t);
            }
            input.advance_to(t + 1);
            worker.step();
        }
        drop(input);
        while !probe.done() {
            worker.step();
        }
        out.borrow().clone()
    })
    .unwrap();
    for (w, r) in guards.join().into_iter().enumerate() {
        let parts = r.unwrap();
        assert_eq!(
            parts.iter().map(|p| p.key).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        for p in &parts {
            assert!(p.records.windows(2).all(|x| x[0] < x[1]), "sorted");
            assert!(p.records.iter().all(|d| *d as usize % 2 == w), "routed");
            assert_eq!(p.records.len(), 10);
        }
    }
}
