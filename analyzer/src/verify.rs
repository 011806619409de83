//! Checking annotations on real code: property tests of an actual operator against the
//! annotation it claims.
//!
//! - A confluent claim (`CR`, `CW`) must give the same output multiset and the same final state
//!   for every permutation and every batching of the same inputs.
//! - An order-sensitive claim `OR(g)`/`OW(g)` promises determinism within each gate partition:
//!   permuting records of *different* partitions while keeping the order within each partition
//!   must not change the outputs or the final state.
//!
//! A wrong claim fails with a minimal counterexample (no input can be removed without the
//! failure going away): the inputs, the two orders, and what each produced.
//!
//! ```
//! use std::collections::BTreeSet;
//! use blazes::verify::{Operator, Checker};
//!
//! /// A set union: confluent.
//! #[derive(Default)]
//! struct Union(BTreeSet<u8>);
//! impl Operator for Union {
//!     type In = u8;
//!     type Out = u8;
//!     type State = BTreeSet<u8>;
//!     fn apply(&mut self, x: &u8) -> Vec<u8> {
//!         if self.0.insert(*x) { vec![*x] } else { vec![] }
//!     }
//!     fn state(&self) -> BTreeSet<u8> { self.0.clone() }
//! }
//!
//! let checker = Checker::new(|rng| rng.below(4) as u8);
//! assert!(checker.confluent(Union::default).is_ok());
//! ```

use std::fmt::{self, Debug};

use crate::simulate::choice::Rng;

/// An operator under test: fed inputs one at a time (or in batches), it returns outputs and
/// exposes its state.
pub trait Operator {
    /// Input record.
    type In: Clone + Debug;
    /// Output record (compared as a sorted multiset).
    type Out: Clone + Ord + Debug;
    /// Observable state (compared at the end).
    type State: Eq + Debug;

    /// Processes one input.
    fn apply(&mut self, input: &Self::In) -> Vec<Self::Out>;

    /// Processes a batch; by default one input at a time. Override when the operator has a real
    /// batch path (a micro-batch engine), so that batching is tested too.
    fn apply_batch(&mut self, batch: &[Self::In]) -> Vec<Self::Out> {
        batch.iter().flat_map(|x| self.apply(x)).collect()
    }

    /// The current state.
    fn state(&self) -> Self::State;
}

/// One execution: an order of the inputs, cut into batches, and what it produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution<I, O, S> {
    /// Inputs in delivery order, as batches.
    pub batches: Vec<Vec<I>>,
    /// Outputs, sorted.
    pub outputs: Vec<O>,
    /// Final state.
    pub state: S,
}

/// Two executions of the same inputs that disagree, minimised.
#[derive(Clone, Debug)]
pub struct Counterexample<I, O, S> {
    /// The claim that failed, e.g. `CW` or `OW(partition)`.
    pub claim: String,
    /// The inputs (after minimisation).
    pub inputs: Vec<I>,
    /// The first execution.
    pub a: Execution<I, O, S>,
    /// The second execution.
    pub b: Execution<I, O, S>,
}

impl<I: Debug, O: Debug + PartialEq, S: Debug + PartialEq> fmt::Display
    for Counterexample<I, O, S>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the operator is not {}: the same {} input(s) in two orders give different results",
            self.claim,
            self.inputs.len()
        )?;
        writeln!(f, "  inputs: {:?}", self.inputs)?;
        for (name, e) in [("A", &self.a), ("B", &self.b)] {
            let order: Vec<String> = e
                .batches
                .iter()
                .map(|b| match b.as_slice() {
                    [one] => format!("{one:?}"),
                    many => format!("batch {many:?}"),
                })
                .collect();
            writeln!(f, "  order {name}: {}", order.join(", then "))?;
            writeln!(f, "    outputs: {:?}", e.outputs)?;
            writeln!(f, "    state:   {:?}", e.state)?;
        }
        let what = match (
            self.a.outputs == self.b.outputs,
            self.a.state == self.b.state,
        ) {
            (false, false) => "outputs and final state differ",
            (false, true) => "outputs differ",
            _ => "final state differs",
        };
        write!(f, "  {what}")
    }
}

/// What a failed check returns: the minimised counterexample.
pub type Failure<O> =
    Box<Counterexample<<O as Operator>::In, <O as Operator>::Out, <O as Operator>::State>>;

/// The property-test driver: generates input vectors and runs orders and batchings of them.
pub struct Checker<I> {
    generate: Box<dyn Fn(&mut Rng) -> I>,
    /// Input vectors to try.
    pub cases: usize,
    /// Largest input vector.
    pub max_len: usize,
    /// Orders tried per input vector (all of them when there are fewer).
    pub orders: usize,
    /// Seed.
    pub seed: u64,
}

impl<I: Clone + Debug + 'static> Checker<I> {
    /// A checker drawing each input from `generate`; 200 cases of up to 6 inputs, 50 orders each.
    pub fn new(generate: impl Fn(&mut Rng) -> I + 'static) -> Self {
        Checker {
            generate: Box::new(generate),
            cases: 200,
            max_len: 6,
            orders: 50,
            seed: 0x00B1_A2E5,
        }
    }

    /// Checks a confluent claim (`CR`/`CW`): every permutation and batching of the inputs gives
    /// the same outputs and final state.
    pub fn confluent<O>(&self, make: impl Fn() -> O) -> Result<(), Failure<O>>
    where
        O: Operator<In = I>,
    {
        // Every input its own class: any order.
        let classes = |xs: &[I]| (0..xs.len()).collect::<Vec<usize>>();
        self.check_with("confluent (CR/CW)", &make, &classes)
    }

    /// Checks an order-sensitive claim with gate `gate` (`OR(g)`/`OW(g)`): permuting inputs of
    /// different partitions, keeping the order within each partition, and any batching, gives
    /// the same outputs and final state.
    pub fn gated<O, K>(
        &self,
        make: impl Fn() -> O,
        gate: impl Fn(&I) -> K,
    ) -> Result<(), Failure<O>>
    where
        O: Operator<In = I>,
        K: Eq,
    {
        // Inputs of one partition keep their relative order: a "partition-preserving" order.
        let classes = |xs: &[I]| -> Vec<usize> {
            let mut keys: Vec<K> = Vec::new();
            xs.iter()
                .map(|x| {
                    let k = gate(x);
                    match keys.iter().position(|y| *y == k) {
                        Some(i) => i,
                        None => {
                            keys.push(k);
                            keys.len() - 1
                        }
                    }
                })
                .collect()
        };
        self.check_with(
            "deterministic within gate partitions (OR/OW)",
            &make,
            &classes,
        )
    }

    fn check_with<O>(
        &self,
        claim: &str,
        make: &dyn Fn() -> O,
        classes: &dyn Fn(&[I]) -> Vec<usize>,
    ) -> Result<(), Failure<O>>
    where
        O: Operator<In = I>,
    {
        let mut rng = Rng::new(self.seed);
        for _ in 0..self.cases {
            let n = 1 + rng.below(self.max_len.max(1));
            let inputs: Vec<I> = (0..n).map(|_| (self.generate)(&mut rng)).collect();
            if let Some((a, b)) = self.find(make, classes, &inputs, &mut rng) {
                return Err(Box::new(self.minimise(claim, make, classes, inputs, a, b)));
            }
        }
        Ok(())
    }

    /// Tries orders and batchings of `inputs`; returns two disagreeing executions as
    /// (order, cuts) pairs.
    #[allow(clippy::type_complexity)]
    fn find<O>(
        &self,
        make: &dyn Fn() -> O,
        classes: &dyn Fn(&[I]) -> Vec<usize>,
        inputs: &[I],
        rng: &mut Rng,
    ) -> Option<(Schedule, Schedule)>
    where
        O: Operator<In = I>,
    {
        let n = inputs.len();
        let cls = classes(inputs);
        let reference = Schedule {
            order: (0..n).collect(),
            cuts: vec![true; n],
        };
        let base = run(make, inputs, &reference);
        let mut candidates: Vec<Schedule> = Vec::new();
        if n <= 5 {
            for order in permutations(n) {
                if preserves(&order, &cls) {
                    candidates.push(Schedule {
                        order: order.clone(),
                        cuts: vec![true; n],
                    });
                    candidates.push(Schedule {
                        order,
                        cuts: (0..n).map(|i| i % 2 == 1).collect(),
                    });
                }
            }
        }
        for _ in 0..self.orders {
            let order = random_preserving(&cls, rng);
            let cuts = (0..n).map(|_| rng.below(2) == 0).collect();
            candidates.push(Schedule { order, cuts });
        }
        // One batch with everything, too.
        candidates.push(Schedule {
            order: (0..n).collect(),
            cuts: vec![false; n],
        });
        for s in candidates {
            let e = run(make, inputs, &s);
            if e.outputs != base.outputs || e.state != base.state {
                return Some((reference, s));
            }
        }
        None
    }

    fn minimise<O>(
        &self,
        claim: &str,
        make: &dyn Fn() -> O,
        classes: &dyn Fn(&[I]) -> Vec<usize>,
        mut inputs: Vec<I>,
        mut a: Schedule,
        mut b: Schedule,
    ) -> Counterexample<I, O::Out, O::State>
    where
        O: Operator<In = I>,
    {
        let mut rng = Rng::new(self.seed ^ 0x5EED);
        let mut i = 0;
        while i < inputs.len() && inputs.len() > 1 {
            let mut fewer = inputs.clone();
            fewer.remove(i);
            match self.find(make, classes, &fewer, &mut rng) {
                Some((x, y)) => {
                    inputs = fewer;
                    a = x;
                    b = y;
                    i = 0;
                }
                None => i += 1,
            }
        }
        let ea = run(make, &inputs, &a);
        let eb = run(make, &inputs, &b);
        Counterexample {
            claim: claim.to_string(),
            inputs,
            a: ea,
            b: eb,
        }
    }
}

/// An order of input indices and where batches end (`cuts[i]`: a batch ends after position
/// `i`; all `true` is one input at a time, all `false` one batch).
#[derive(Clone, Debug)]
struct Schedule {
    order: Vec<usize>,
    cuts: Vec<bool>,
}

fn run<O: Operator>(
    make: &dyn Fn() -> O,
    inputs: &[O::In],
    s: &Schedule,
) -> Execution<O::In, O::Out, O::State> {
    let mut op = make();
    let mut batches: Vec<Vec<O::In>> = Vec::new();
    let mut cur: Vec<O::In> = Vec::new();
    for (pos, &i) in s.order.iter().enumerate() {
        cur.push(inputs[i].clone());
        let end = pos + 1 == s.order.len();
        if end || s.cuts[pos] {
            batches.push(std::mem::take(&mut cur));
        }
    }
    let mut outputs = Vec::new();
    for b in &batches {
        if b.len() == 1 {
            outputs.extend(op.apply(&b[0]));
        } else {
            outputs.extend(op.apply_batch(b));
        }
    }
    outputs.sort();
    Execution {
        batches,
        outputs,
        state: op.state(),
    }
}

/// True when `order` keeps the relative order of inputs of each class.
fn preserves(order: &[usize], cls: &[usize]) -> bool {
    order
        .iter()
        .enumerate()
        .all(|(p, &i)| order[p + 1..].iter().all(|&j| cls[j] != cls[i] || j > i))
}

/// A random order keeping the relative order within each class.
fn random_preserving(cls: &[usize], rng: &mut Rng) -> Vec<usize> {
    let n = cls.len();
    let distinct = cls.iter().max().map_or(0, |m| m + 1) == n;
    if distinct {
        // Every input its own class: any permutation (Fisher–Yates).
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            v.swap(i, rng.below(i + 1));
        }
        return v;
    }
    // Interleave the per-class queues at random.
    let k = cls.iter().max().map_or(0, |m| m + 1);
    let mut queues: Vec<std::collections::VecDeque<usize>> = vec![Default::default(); k];
    for (i, &c) in cls.iter().enumerate() {
        queues[c].push_back(i);
    }
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let live: Vec<usize> = (0..k).filter(|&c| !queues[c].is_empty()).collect();
        let c = live[rng.below(live.len())];
        if let Some(i) = queues[c].pop_front() {
            out.push(i);
        }
    }
    out
}

/// Every permutation of `0..n` (Heap's algorithm); only for small `n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    let mut a: Vec<usize> = (0..n).collect();
    let mut out = vec![a.clone()];
    let mut c = vec![0usize; n];
    let mut i = 0;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                a.swap(0, i);
            } else {
                a.swap(c[i], i);
            }
            out.push(a.clone());
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_and_preserving_orders() {
        assert_eq!(permutations(4).len(), 24);
        // classes [0, 0, 1]: index 0 before index 1.
        let cls = [0, 0, 1];
        let ok: Vec<Vec<usize>> = permutations(3)
            .into_iter()
            .filter(|o| preserves(o, &cls))
            .collect();
        assert_eq!(ok.len(), 3);
        assert!(ok.iter().all(|o| {
            let p0 = o.iter().position(|&x| x == 0);
            let p1 = o.iter().position(|&x| x == 1);
            p0 < p1
        }));
        let mut rng = Rng::new(3);
        for _ in 0..20 {
            assert!(preserves(&random_preserving(&cls, &mut rng), &cls));
        }
    }
}
