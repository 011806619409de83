//! One execution of a topology under one schedule: message passing between component instances
//! over unordered channels, with a reference model of each annotation class, seal barriers at
//! the analyzer's seal sites, parallel instances and replicas.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use blazes_annotations::{Annotation, Gate};

use super::choice::{Chooser, mix};
use crate::analysis::{Analysis, Event, lattice::Lbl};
use crate::model::{Grouping, Path, Port, Topology};

/// A field id in a [`Record`]; user fields first (sorted by name), then the simulator's own.
pub type FieldId = u16;

/// A record: `(field, value)` pairs sorted by field id. Ordered, so that a partition can be
/// released in a canonical order and stream contents compared as sorted multisets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Record(pub Vec<(FieldId, u64)>);

impl Record {
    fn get(&self, f: FieldId) -> Option<u64> {
        self.0
            .binary_search_by_key(&f, |&(k, _)| k)
            .ok()
            .map(|i| self.0[i].1)
    }

    fn set(&mut self, f: FieldId, v: u64) {
        match self.0.binary_search_by_key(&f, |&(k, _)| k) {
            Ok(i) => self.0[i].1 = v,
            Err(i) => self.0.insert(i, (f, v)),
        }
    }

    fn digest(&self) -> u64 {
        self.0.iter().fold(0x51_7cc1_b727_220a_u64, |h, &(f, v)| {
            mix(h ^ mix(u64::from(f) << 40 ^ v))
        })
    }
}

/// Names of the simulator's own fields (they cannot clash with user fields, which are
/// identifiers).
pub const SEQ: &str = "#";
/// The fold value of an `OW` path.
pub const ACC: &str = "@acc";
/// The number of write records an `OR` read saw.
pub const SEEN: &str = "@seen";
/// A digest of the state an `OR` read saw.
pub const STATE: &str = "@state";

/// Each component's paths grouped by the interface they start or end at, each group in path
/// order: following a record from an input, or finding what feeds an output, then costs the
/// paths taken rather than a scan of all the component's paths (a component with 40k inputs
/// made such scans quadratic).
pub(crate) struct PathsBy {
    /// Where each component's interfaces start in `start` (one more entry at the end).
    first: Vec<usize>,
    /// Where each interface's paths start in `paths` (one more entry at the end).
    start: Vec<usize>,
    /// Path indices, interface by interface.
    paths: Vec<usize>,
}

impl PathsBy {
    /// Paths grouped by their input.
    pub(crate) fn input(t: &Topology) -> Self {
        Self::new(t, |c| c.inputs.len(), |p| p.input)
    }

    /// Paths grouped by their output.
    pub(crate) fn output(t: &Topology) -> Self {
        Self::new(t, |c| c.outputs.len(), |p| p.output)
    }

    /// A counting sort of every component's paths by `key`, one of the `slots` interfaces of
    /// their component.
    fn new(
        t: &Topology,
        slots: impl Fn(&crate::model::Component) -> usize,
        key: impl Fn(&Path) -> usize,
    ) -> Self {
        let mut first = Vec::with_capacity(t.components.len() + 1);
        let mut total = 0;
        for c in &t.components {
            first.push(total);
            total += slots(c);
        }
        first.push(total);
        let mut start = vec![0; total + 1];
        for (c, comp) in t.components.iter().enumerate() {
            for p in &comp.paths {
                start[first[c] + key(p) + 1] += 1;
            }
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut at = start.clone();
        let mut paths = vec![0; start[total]];
        for (c, comp) in t.components.iter().enumerate() {
            for (pi, p) in comp.paths.iter().enumerate() {
                let slot = first[c] + key(p);
                paths[at[slot]] = pi;
                at[slot] += 1;
            }
        }
        PathsBy {
            first,
            start,
            paths,
        }
    }

    /// The paths of component `c` at its interface `slot`, in path order.
    pub(crate) fn get(&self, c: usize, slot: usize) -> &[usize] {
        let s = self.first[c] + slot;
        &self.paths[self.start[s]..self.start[s + 1]]
    }
}

/// Everything about a topology that does not change between schedules.
pub struct Plan<'t> {
    pub(crate) t: &'t Topology,
    /// Each component's paths by input.
    from_input: PathsBy,
    /// Each component's paths by output.
    into_output: PathsBy,
    /// Field names by id.
    pub fields: Vec<String>,
    class: Vec<FieldId>,
    seq: FieldId,
    acc: FieldId,
    seen: FieldId,
    state: FieldId,
    /// First instance and number of instances of each component.
    pub insts: Vec<(usize, usize)>,
    /// Acts replicated (instances are replicas).
    pub replicated: Vec<bool>,
    /// Per component, per path: gate fields (`None` for `*` and the global gate: one partition).
    gates: Vec<Vec<Option<Vec<FieldId>>>>,
    /// Per component, per output: fields kept (`None`: all).
    keep: Vec<Vec<Option<Vec<FieldId>>>>,
    /// Per component, per input: the fields of a `fields(..)` or `partial_key(..)` grouping,
    /// in the written order (empty for the other groupings).
    grouped_on: Vec<Vec<Vec<FieldId>>>,
    /// Per component, per path: a seal barrier partitioning on these key fields.
    barrier: Vec<Vec<Option<Vec<FieldId>>>>,
    /// Per component, per path: a protected read waits for these inputs to be sealed.
    guarded: Vec<Vec<Option<Vec<usize>>>>,
    /// Per component: the inputs whose seals are awaited.
    closes: Vec<Vec<usize>>,
    /// Topological rank of each component (cycles share a rank).
    rank: Vec<usize>,
    /// Records emitted by each source output.
    pub sources: Vec<(Port, Vec<Record>)>,
    max_hops: u32,
    max_messages: usize,
    domain: u64,
    /// Seal sites the analyzer relies on that the simulator cannot implement (the stream carries
    /// no punctuation on that key in the simulator's semantics), as messages.
    pub unbacked: Vec<String>,
}

/// Bounds of a simulation.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Records emitted by each source output.
    pub records: usize,
    /// Size of the domain of each field value.
    pub domain: u64,
    /// Hop bound (loop iterations): a record that has crossed this many components is dropped.
    /// `None`: the number of components plus 2.
    pub max_hops: Option<u32>,
    /// Deliveries per run before the run is abandoned as truncated.
    pub max_messages: usize,
    /// Seed for the source data.
    pub data_seed: u64,
}

impl<'t> Plan<'t> {
    /// Prepares a topology and the analyzer's seal sites for simulation.
    pub fn new(t: &'t Topology, a: &Analysis, bounds: &Bounds) -> Self {
        // Field universe: every name the topology mentions.
        let mut names: BTreeSet<String> = BTreeSet::new();
        for c in &t.components {
            for o in &c.outputs {
                names.extend(o.fields.iter().flat_map(|f| f.iter()).cloned());
                if let Some((k, _)) = o.seal.as_deref() {
                    names.extend(k.0.iter().cloned());
                }
            }
            for i in &c.inputs {
                if let Grouping::Fields(f) | Grouping::PartialKey(f) = i.grouping() {
                    names.extend(f.iter().cloned());
                }
            }
            for p in &c.paths {
                if let Some(Gate::Fields(f)) = p.annotation.gate() {
                    names.extend(f.iter().cloned());
                }
            }
        }
        for fd in &t.fds {
            names.extend(fd.from.iter().cloned());
            names.extend(fd.to.iter().cloned());
        }
        names.extend(t.implicit.iter().cloned());
        let mut fields: Vec<String> = names.into_iter().collect();
        let user = fields.len();
        for n in [SEQ, ACC, SEEN, STATE] {
            fields.push(n.to_string());
        }
        let id: HashMap<&str, FieldId> = fields
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i as FieldId))
            .collect();
        let fid = |n: &str| id.get(n).copied().unwrap_or(0);
        let ids = |v: &[String]| -> Vec<FieldId> {
            let mut out: Vec<FieldId> = v.iter().map(|n| fid(n)).collect();
            out.sort_unstable();
            out.dedup();
            out
        };
        // Functional dependencies: fields linked by an fd get equal values (union-find), which
        // satisfies every declared injective dependency.
        let mut class: Vec<FieldId> = (0..fields.len() as FieldId).collect();
        fn find(class: &mut [FieldId], x: FieldId) -> FieldId {
            let mut r = x;
            while class[r as usize] != r {
                r = class[r as usize];
            }
            class[x as usize] = r;
            r
        }
        for fd in &t.fds {
            let all: Vec<FieldId> = ids(&fd.from).into_iter().chain(ids(&fd.to)).collect();
            for w in all.windows(2) {
                let (x, y) = (find(&mut class, w[0]), find(&mut class, w[1]));
                class[x.max(y) as usize] = x.min(y);
            }
        }
        for f in 0..fields.len() as FieldId {
            let r = find(&mut class, f);
            class[f as usize] = r;
        }
        let seq = fid(SEQ);
        let (acc, seen, state) = (fid(ACC), fid(SEEN), fid(STATE));

        let mut insts = Vec::new();
        let mut replicated = Vec::new();
        let mut next = 0;
        for c in &t.components {
            let rep = c.acts_replicated();
            let n = if rep {
                (c.parallelism as usize).max(2)
            } else {
                c.parallelism as usize
            }
            .max(1);
            insts.push((next, n));
            next += n;
            replicated.push(rep);
        }
        let gates = t
            .components
            .iter()
            .map(|c| {
                c.paths
                    .iter()
                    .map(|p| match p.annotation.gate() {
                        Some(Gate::Fields(f)) if !f.is_empty() => {
                            Some(ids(&f.iter().cloned().collect::<Vec<_>>()))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let keep = t
            .components
            .iter()
            .map(|c| {
                c.outputs
                    .iter()
                    .map(|o| {
                        o.fields.as_ref().map(|f| {
                            let mut k = ids(f);
                            k.extend(ids(&t.implicit));
                            k.extend([seq, acc, seen, state]);
                            k.sort_unstable();
                            k.dedup();
                            k
                        })
                    })
                    .collect()
            })
            .collect();

        let (from_input, into_output) = (PathsBy::input(t), PathsBy::output(t));
        let grouped_on = t
            .components
            .iter()
            .map(|c| {
                c.inputs
                    .iter()
                    .map(|i| match i.grouping() {
                        Grouping::Fields(f) | Grouping::PartialKey(f) => f
                            .iter()
                            .filter_map(|k| id.get(k.as_str()).copied())
                            .collect(),
                        _ => Vec::new(),
                    })
                    .collect()
            })
            .collect();
        let punct = punctuation(t, &from_input, &into_output);
        let mut barrier: Vec<Vec<Option<Vec<FieldId>>>> = t
            .components
            .iter()
            .map(|c| vec![None; c.paths.len()])
            .collect();
        let mut guarded: Vec<Vec<Option<Vec<usize>>>> =
            barrier.iter().map(|v| vec![None; v.len()]).collect();
        let mut closes: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); t.components.len()];
        let mut unbacked = Vec::new();
        let input_key = |c: usize, i: usize| -> Option<Vec<String>> {
            match a.lbl(t.components[c].inputs[i].from) {
                Lbl::Seal(k) => {
                    // Interned names come in interning order: sort them to compare keys.
                    let mut names: Vec<String> = a
                        .interner()
                        .names(k)
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                    names.sort();
                    Some(names)
                }
                _ => None,
            }
        };
        let backed = |c: usize, i: usize, key: &[String]| -> bool {
            let from = t.components[c].inputs[i].from;
            punct.get(&from).is_some_and(|k| k.iter().eq(key.iter()))
        };
        for e in a.events() {
            match e {
                Event::SealConsumed {
                    component, path, ..
                } => {
                    let (c, p) = (*component, *path);
                    let i = t.components[c].paths[p].input;
                    match input_key(c, i) {
                        Some(key) if backed(c, i, &key) => {
                            barrier[c][p] = Some(ids(&key));
                            closes[c].insert(i);
                        }
                        _ => unbacked.push(format!(
                            "`{}`: the seal consumed on input `{}` is not punctuated in the \
                             simulation",
                            t.components[c].name, t.components[c].inputs[i].name
                        )),
                    }
                }
                Event::ProtectedRead {
                    component,
                    path,
                    guards,
                } => {
                    let c = *component;
                    let mut inputs = Vec::new();
                    let mut ok = true;
                    for &g in guards {
                        let i = t.components[c].paths[g].input;
                        match input_key(c, i) {
                            Some(key) if backed(c, i, &key) => inputs.push(i),
                            _ => ok = false,
                        }
                    }
                    if ok {
                        for &i in &inputs {
                            closes[c].insert(i);
                        }
                        guarded[c][*path] = Some(inputs);
                    } else {
                        unbacked.push(format!(
                            "`{}`: a protected read waits for a seal that is not punctuated in \
                             the simulation",
                            t.components[c].name
                        ));
                    }
                }
                _ => {}
            }
        }
        let rank = ranks(t);
        let mut plan = Plan {
            t,
            from_input,
            into_output,
            fields,
            class,
            seq,
            acc,
            seen,
            state,
            insts,
            replicated,
            gates,
            keep,
            grouped_on,
            barrier,
            guarded,
            closes: closes
                .into_iter()
                .map(|s| s.into_iter().collect())
                .collect(),
            rank,
            sources: Vec::new(),
            max_hops: bounds.max_hops.unwrap_or(t.components.len() as u32 + 2),
            max_messages: bounds.max_messages,
            domain: bounds.domain.max(1),
            unbacked,
        };
        plan.sources = plan.source_records(user, bounds);
        plan
    }

    /// The deterministic records of every source output (and of every output no path reaches,
    /// which behaves as a source).
    fn source_records(&self, user: usize, bounds: &Bounds) -> Vec<(Port, Vec<Record>)> {
        let t = self.t;
        let mut out = Vec::new();
        for (ci, c) in t.components.iter().enumerate() {
            for oi in 0..c.outputs.len() {
                if !self.into_output.get(ci, oi).is_empty() {
                    continue;
                }
                let port = Port {
                    component: ci,
                    output: oi,
                };
                let carried: Vec<FieldId> = match &self.keep[ci][oi] {
                    Some(k) => k.iter().copied().filter(|&f| (f as usize) < user).collect(),
                    None => (0..user as FieldId).collect(),
                };
                // The same data for every source (record j of one source equals record j of
                // another on shared fields), so that streams meet on common keys.
                let name_seed = bounds.data_seed;
                let records = (0..bounds.records)
                    .map(|j| {
                        let mut r = Record(Vec::new());
                        for &f in &carried {
                            let cls = self.class[f as usize];
                            let v = if j == 0 {
                                0
                            } else {
                                mix(name_seed ^ mix(j as u64 * 1_000_003 + u64::from(cls)))
                                    % bounds.domain.max(1)
                            };
                            r.set(f, v);
                        }
                        r.set(self.seq, j as u64);
                        r
                    })
                    .collect();
                out.push((port, records));
            }
        }
        out
    }

    /// Projection of a record on fields, matching fields by fd class.
    fn proj(&self, r: &Record, fields: &[FieldId]) -> Vec<Option<u64>> {
        fields
            .iter()
            .map(|&f| {
                r.get(f).or_else(|| {
                    let cls = self.class[f as usize];
                    r.0.iter()
                        .find(|&&(g, _)| self.class[g as usize] == cls)
                        .map(|&(_, v)| v)
                })
            })
            .collect()
    }

    /// Renders a record as `(a=0, b=1, #=2)`.
    pub fn show(&self, r: &Record) -> String {
        let parts: Vec<String> =
            r.0.iter()
                .map(|&(f, v)| {
                    let name = self.fields[f as usize].trim_start_matches('@');
                    if f == self.state {
                        format!("{name}={v:04x}")
                    } else {
                        format!("{name}={v}")
                    }
                })
                .collect();
        format!("({})", parts.join(", "))
    }
}

/// The simulator's own notion of which outputs carry punctuations, and on which key: a declared
/// seal; or, when every path into the output is confluent (`CR`/`CW`) and fed punctuations on
/// one key that the output still carries, those punctuations forwarded. A greatest fixpoint
/// (loops are bounded in the simulation, so a loop drains and its seals can be delivered).
fn punctuation(
    t: &Topology,
    from_input: &PathsBy,
    into_output: &PathsBy,
) -> HashMap<Port, Vec<String>> {
    #[derive(Clone, PartialEq)]
    enum P {
        Top,
        No,
        Key(Vec<String>),
    }
    // Ports that can carry records: reachable through paths from an output no path reaches
    // (a source). The others (a loop no source feeds) are neutral, as ⊥ is in the analysis.
    let mut live: std::collections::HashSet<Port> = std::collections::HashSet::new();
    let mut stack: Vec<Port> = Vec::new();
    for (ci, c) in t.components.iter().enumerate() {
        for oi in 0..c.outputs.len() {
            if into_output.get(ci, oi).is_empty() {
                stack.push(Port {
                    component: ci,
                    output: oi,
                });
            }
        }
    }
    while let Some(port) = stack.pop() {
        if !live.insert(port) {
            continue;
        }
        for (c2, i2) in t.components[port.component].outputs[port.output].consumers() {
            let paths = &t.components[c2].paths;
            for &p in from_input.get(c2, i2) {
                stack.push(Port {
                    component: c2,
                    output: paths[p].output,
                });
            }
        }
    }
    let mut state: HashMap<Port, P> = HashMap::new();
    for (ci, c) in t.components.iter().enumerate() {
        for (oi, o) in c.outputs.iter().enumerate() {
            let port = Port {
                component: ci,
                output: oi,
            };
            let reached = !into_output.get(ci, oi).is_empty();
            let v = match (o.seal.as_deref(), reached) {
                _ if !live.contains(&port) => P::Top,
                (Some((k, _)), _) => P::Key(k.0.iter().cloned().collect()),
                (None, false) => P::No,
                (None, true) => P::Top,
            };
            state.insert(port, v);
        }
    }
    loop {
        let mut changed = false;
        for (ci, c) in t.components.iter().enumerate() {
            for (oi, o) in c.outputs.iter().enumerate() {
                let port = Port {
                    component: ci,
                    output: oi,
                };
                if o.seal.is_some() || state.get(&port) == Some(&P::No) || !live.contains(&port) {
                    continue;
                }
                let mut acc = P::Top;
                for p in into_output.get(ci, oi).iter().map(|&p| &c.paths[p]) {
                    if !live.contains(&c.inputs[p.input].from) {
                        continue; // never carries a record
                    }
                    let input = state.get(&c.inputs[p.input].from).cloned().unwrap_or(P::No);
                    let here = match (&*p.annotation, input) {
                        (Annotation::CR | Annotation::CW, P::Key(k)) => {
                            let carried = o.fields.as_ref().is_none_or(|f| {
                                let kept = crate::model::FieldSet::new(f, &t.implicit, k.len());
                                k.iter().all(|x| kept.contains(x))
                            });
                            if carried { P::Key(k) } else { P::No }
                        }
                        (Annotation::CR | Annotation::CW, P::Top) => P::Top,
                        _ => P::No,
                    };
                    acc = match (acc, here) {
                        (P::No, _) | (_, P::No) => P::No,
                        (P::Top, x) | (x, P::Top) => x,
                        (P::Key(a), P::Key(b)) => {
                            if a == b {
                                P::Key(a)
                            } else {
                                P::No
                            }
                        }
                    };
                }
                if state.get(&port) != Some(&acc) && acc != P::Top {
                    state.insert(port, acc);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    state
        .into_iter()
        .filter_map(|(p, v)| match v {
            P::Key(k) => Some((p, k)),
            _ => None,
        })
        .collect()
}

/// Topological rank of each component over the condensation (members of a cycle share a rank).
fn ranks(t: &Topology) -> Vec<usize> {
    let n = t.components.len();
    let mut g: petgraph::graph::DiGraph<(), ()> = petgraph::graph::DiGraph::new();
    for _ in 0..n {
        g.add_node(());
    }
    for (ci, c) in t.components.iter().enumerate() {
        for i in &c.inputs {
            g.add_edge(
                petgraph::graph::NodeIndex::new(i.from.component),
                petgraph::graph::NodeIndex::new(ci),
                (),
            );
        }
    }
    // tarjan_scc returns the components in reverse topological order.
    let sccs = petgraph::algo::tarjan_scc(&g);
    let mut rank = vec![0; n];
    let k = sccs.len();
    for (si, scc) in sccs.iter().enumerate() {
        for v in scc {
            rank[v.index()] = k - 1 - si;
        }
    }
    rank
}

/// The values of a record on a gate's or key's fields (`None`: the record lacks the field).
type Partition = Vec<Option<u64>>;

/// A message in flight.
#[derive(Clone, Debug)]
struct Msg {
    to: usize,
    input: usize,
    rec: Record,
    hops: u32,
}

/// State of one instance.
#[derive(Debug, Default)]
struct Inst {
    comp: usize,
    /// Index among the component's instances (the replica number for replicated components).
    index: usize,
    /// Per path: `CW` set state (and the records an `OW` path applied).
    set: Vec<BTreeSet<Record>>,
    /// Per path: `OW` fold per gate partition.
    fold: Vec<BTreeMap<Vec<Option<u64>>, u64>>,
    /// Per path: records held by a seal barrier, per key partition.
    held: Vec<BTreeMap<Partition, Vec<(Record, u32)>>>,
    /// Reads held until their write inputs are sealed.
    held_reads: Vec<(usize, Record, u32)>,
    /// Per input: sealed (complete).
    closed: Vec<bool>,
    /// Per input of a replicated producer: which producer replica this instance listens to.
    pick: Vec<usize>,
    /// Per output: records emitted.
    out: Vec<Vec<Record>>,
    /// The records applied to the operator, in order: (input, record).
    log: Vec<(usize, Record)>,
}

/// What one run produced.
#[derive(Debug)]
pub struct RunResult {
    /// Per component, per output, per instance: the emitted records, sorted.
    pub outputs: Vec<Vec<Vec<Vec<Record>>>>,
    /// Per component, per output, per instance: a digest of the state of the write paths into
    /// that output.
    pub states: Vec<Vec<Vec<u64>>>,
    /// Per component, per instance: the records applied, in order, as `(input, record)`.
    pub logs: Vec<Vec<Vec<(usize, Record)>>>,
    /// A record arrived on an input after its seal (a broken seal promise, e.g. in a loop).
    pub late: bool,
    /// The run exceeded the message bound and was abandoned.
    pub truncated: bool,
    /// Messages delivered (seals not counted).
    pub delivered: usize,
}

/// Runs the topology once, taking every nondeterministic choice from `ch`.
pub fn run(plan: &Plan<'_>, ch: &mut Chooser, keep_logs: bool) -> RunResult {
    let t = plan.t;
    let mut insts: Vec<Inst> = Vec::new();
    for (ci, c) in t.components.iter().enumerate() {
        let (_, n) = plan.insts[ci];
        // Which replica of a replicated producer an instance listens to: each replica of a
        // replicated consumer picks its own; the instances of a plain consumer share one pick
        // (they split one replica's stream between them).
        let pick_for = |ch: &mut Chooser| -> Vec<usize> {
            c.inputs
                .iter()
                .map(|i| {
                    let p = i.from.component;
                    if plan.replicated[p] {
                        ch.choose(plan.insts[p].1)
                    } else {
                        0
                    }
                })
                .collect()
        };
        let shared = (!plan.replicated[ci]).then(|| pick_for(ch));
        for index in 0..n {
            let pick = match &shared {
                Some(p) => p.clone(),
                None => pick_for(ch),
            };
            insts.push(Inst {
                comp: ci,
                index,
                set: vec![BTreeSet::new(); c.paths.len()],
                fold: vec![BTreeMap::new(); c.paths.len()],
                held: vec![BTreeMap::new(); c.paths.len()],
                held_reads: Vec::new(),
                closed: vec![false; c.inputs.len()],
                pick,
                out: vec![Vec::new(); c.outputs.len()],
                log: Vec::new(),
            });
        }
    }
    let mut ex = Exec {
        plan,
        insts,
        pool: Vec::new(),
        late: false,
        keep_logs,
    };
    for (port, records) in &plan.sources {
        let (first, n) = plan.insts[port.component];
        for inst in first..first + n {
            for r in records {
                ex.emit(inst, port.output, r.clone(), 0, ch);
            }
        }
    }
    let mut delivered = 0usize;
    let mut truncated = false;
    loop {
        if !ex.pool.is_empty() {
            delivered += 1;
            if delivered > plan.max_messages {
                truncated = true;
                break;
            }
            let i = ch.choose(ex.pool.len());
            let m = ex.pool.swap_remove(i);
            ex.deliver(m, ch);
            continue;
        }
        // Quiescence: deliver the seals of the most upstream instance still waiting for some.
        // Inside a cycle (one rank), prefer inputs whose producer has no seal pending itself,
        // so that an upstream barrier inside the cycle releases first.
        let mut pending = vec![false; t.components.len()];
        for inst in &ex.insts {
            if plan.closes[inst.comp].iter().any(|&i| !inst.closed[i]) {
                pending[inst.comp] = true;
            }
        }
        let free = |inst: &Inst, i: usize| {
            let p = t.components[inst.comp].inputs[i].from.component;
            p == inst.comp || !pending[p]
        };
        let mut all: Vec<(usize, usize, usize, bool)> = Vec::new();
        for (ii, inst) in ex.insts.iter().enumerate() {
            for &i in &plan.closes[inst.comp] {
                if !inst.closed[i] {
                    all.push((ii, i, plan.rank[inst.comp], free(inst, i)));
                }
            }
        }
        let Some(min) = all.iter().map(|x| x.2).min() else {
            break;
        };
        all.retain(|x| x.2 == min);
        if all.iter().any(|x| x.3) {
            all.retain(|x| x.3);
        }
        let cands: Vec<(usize, usize)> = all.iter().map(|x| (x.0, x.1)).collect();
        let (ii, i) = cands[ch.choose(cands.len())];
        ex.close(ii, i, ch);
    }
    let mut outputs = Vec::new();
    let mut states = Vec::new();
    let mut logs = Vec::new();
    for (ci, c) in t.components.iter().enumerate() {
        let (first, n) = plan.insts[ci];
        let mut per_out = Vec::new();
        let mut per_state = Vec::new();
        for oi in 0..c.outputs.len() {
            let mut o = Vec::new();
            let mut s = Vec::new();
            for inst in &mut ex.insts[first..first + n] {
                let mut recs = std::mem::take(&mut inst.out[oi]);
                recs.sort_unstable();
                o.push(recs);
                let mut h = 0u64;
                for &pi in plan.into_output.get(ci, oi) {
                    if !c.paths[pi].annotation.is_write() {
                        continue;
                    }
                    for r in &inst.set[pi] {
                        h = mix(h ^ r.digest() ^ pi as u64);
                    }
                    for (k, v) in &inst.fold[pi] {
                        let kh = k.iter().fold(0u64, |a, x| mix(a ^ x.unwrap_or(u64::MAX)));
                        h = mix(h ^ kh ^ mix(*v));
                    }
                }
                s.push(h);
            }
            per_out.push(o);
            per_state.push(s);
        }
        outputs.push(per_out);
        states.push(per_state);
        logs.push(
            ex.insts[first..first + n]
                .iter_mut()
                .map(|i| std::mem::take(&mut i.log))
                .collect(),
        );
    }
    RunResult {
        outputs,
        states,
        logs,
        late: ex.late,
        truncated,
        delivered,
    }
}

struct Exec<'p, 't> {
    plan: &'p Plan<'t>,
    insts: Vec<Inst>,
    pool: Vec<Msg>,
    late: bool,
    keep_logs: bool,
}

impl Exec<'_, '_> {
    fn deliver(&mut self, m: Msg, ch: &mut Chooser) {
        let plan = self.plan;
        let c = self.insts[m.to].comp;
        if self.insts[m.to].closed[m.input] {
            self.late = true;
        }
        for &pi in plan.from_input.get(c, m.input) {
            let inst = &mut self.insts[m.to];
            if let Some(key) = &plan.barrier[c][pi]
                && !inst.closed[m.input]
            {
                let part = plan.proj(&m.rec, key);
                inst.held[pi]
                    .entry(part)
                    .or_default()
                    .push((m.rec.clone(), m.hops));
                continue;
            }
            if let Some(guards) = &plan.guarded[c][pi]
                && !guards.iter().all(|&g| inst.closed[g])
            {
                inst.held_reads.push((pi, m.rec.clone(), m.hops));
                continue;
            }
            self.apply(m.to, pi, m.rec.clone(), m.hops, ch);
        }
    }

    /// The seal of input `input` arrives at instance `ii`: release its barriers' partitions (in
    /// a chosen order, each sorted) and the reads that were waiting for it.
    fn close(&mut self, ii: usize, input: usize, ch: &mut Chooser) {
        let plan = self.plan;
        let c = self.insts[ii].comp;
        self.insts[ii].closed[input] = true;
        for &pi in plan.from_input.get(c, input) {
            if plan.barrier[c][pi].is_none() {
                continue;
            }
            let mut parts: Vec<Vec<(Record, u32)>> = std::mem::take(&mut self.insts[ii].held[pi])
                .into_values()
                .collect();
            while !parts.is_empty() {
                let mut part = parts.swap_remove(ch.choose(parts.len()));
                part.sort_unstable();
                for (r, hops) in part {
                    self.apply(ii, pi, r, hops, ch);
                }
            }
        }
        let waiting = std::mem::take(&mut self.insts[ii].held_reads);
        for (pi, r, hops) in waiting {
            let ready = plan.guarded[c][pi]
                .as_ref()
                .is_none_or(|g| g.iter().all(|&i| self.insts[ii].closed[i]));
            if ready {
                self.apply(ii, pi, r, hops, ch);
            } else {
                self.insts[ii].held_reads.push((pi, r, hops));
            }
        }
    }

    /// The reference model of one path applied to one record.
    fn apply(&mut self, ii: usize, pi: usize, rec: Record, hops: u32, ch: &mut Chooser) {
        let plan = self.plan;
        let c = self.insts[ii].comp;
        let comp = &plan.t.components[c];
        let path = &comp.paths[pi];
        if self.keep_logs {
            self.insts[ii].log.push((path.input, rec.clone()));
        }
        let out = match &*path.annotation {
            // A pure function: the record itself.
            Annotation::CR => rec,
            // Set union: insert, pass the record on.
            Annotation::CW => {
                self.insts[ii].set[pi].insert(rec.clone());
                rec
            }
            // An order-dependent fold (a hash chain) per gate partition.
            Annotation::OW(_) => {
                let part = match &plan.gates[c][pi] {
                    Some(g) => plan.proj(&rec, g),
                    None => Vec::new(),
                };
                let inst = &mut self.insts[ii];
                let acc = inst.fold[pi].entry(part).or_insert(0);
                *acc = mix(acc.wrapping_mul(31) ^ rec.digest()) % 10_000;
                let v = *acc;
                inst.set[pi].insert(rec.clone());
                let mut r = rec;
                r.set(plan.acc, v);
                r
            }
            // A read of the current state of the write paths, within the read's partition.
            Annotation::OR(_) => {
                let gate = plan.gates[c][pi].as_deref();
                let mine = gate.map(|g| plan.proj(&rec, g));
                let inst = &self.insts[ii];
                let mut seen = 0u64;
                // A read answered upstream keeps its trace: the new digest extends the old one,
                // so a difference upstream is not erased here.
                let mut h = rec.get(plan.state).map_or(0, mix);
                for (wi, w) in comp.paths.iter().enumerate() {
                    if !w.annotation.is_write() {
                        continue;
                    }
                    let wgate = plan.gates[c][wi].as_deref();
                    for x in &inst.set[wi] {
                        if let (Some(g), Some(m)) = (gate, &mine)
                            && &plan.proj(x, g) != m
                        {
                            continue;
                        }
                        seen += 1;
                        h = h.wrapping_add(mix(x.digest() ^ wi as u64));
                        if matches!(*w.annotation, Annotation::OW(_)) {
                            let part = wgate.map_or_else(Vec::new, |g| plan.proj(x, g));
                            if let Some(v) = inst.fold[wi].get(&part) {
                                h = h.wrapping_add(mix(*v ^ 0xABCD));
                            }
                        }
                    }
                }
                let mut r = rec;
                r.set(plan.seen, seen);
                r.set(plan.state, h % 0x1_0000);
                r
            }
        };
        self.emit(ii, path.output, out, hops, ch);
    }

    /// Emits a record on an output of an instance: projection on the output's fields, then
    /// routing to every consumer instance.
    fn emit(&mut self, ii: usize, oi: usize, mut rec: Record, hops: u32, ch: &mut Chooser) {
        let plan = self.plan;
        if hops >= plan.max_hops {
            return;
        }
        let c = self.insts[ii].comp;
        if let Some(keep) = &plan.keep[c][oi] {
            rec.0.retain(|(f, _)| keep.binary_search(f).is_ok());
            // A declared field the record lacks is computed from it (a pure function; fields
            // linked by an fd take the value of their class).
            let base = rec.digest();
            for &f in keep {
                if (f as usize) >= plan.fields.len() - 4 || rec.get(f).is_some() {
                    continue;
                }
                let v = plan.proj(&rec, &[f])[0]
                    .unwrap_or_else(|| mix(base ^ u64::from(plan.class[f as usize])) % plan.domain);
                rec.set(f, v);
            }
        }
        self.insts[ii].out[oi].push(rec.clone());
        let index = self.insts[ii].index;
        let comp = &plan.t.components[c];
        for (c2, i2) in comp.outputs[oi].consumers() {
            let (first, n) = plan.insts[c2];
            let input = &plan.t.components[c2].inputs[i2];
            // The hash of the record's values on the grouping's fields.
            let hash = || {
                plan.proj(&rec, &plan.grouped_on[c2][i2])
                    .iter()
                    .fold(7u64, |a, x| mix(a ^ x.unwrap_or(u64::MAX)))
            };
            let targets: Vec<usize> = if plan.replicated[c2] {
                (0..n).collect()
            } else {
                match input.grouping() {
                    Grouping::All => (0..n).collect(),
                    Grouping::Global => vec![0],
                    Grouping::Fields(_) => vec![(hash() % n as u64) as usize],
                    Grouping::PartialKey(_) => vec![((hash() as usize) + ch.choose(2)) % n],
                    Grouping::Shuffle
                    | Grouping::LocalOrShuffle
                    | Grouping::Direct
                    | Grouping::Custom => vec![ch.choose(n)],
                }
            };
            for j in targets {
                let to = first + j;
                if plan.replicated[c] && self.insts[to].pick[i2] != index {
                    continue;
                }
                self.pool.push(Msg {
                    to,
                    input: i2,
                    rec: rec.clone(),
                    hops: hops + 1,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Bounds, PathsBy, Plan, run};
    use crate::model::Topology;
    use crate::simulate::choice::Chooser;

    #[test]
    fn a_fields_grouping_sends_equal_keys_to_one_instance_and_spreads_the_others() {
        let text = r#"components:
  src: { outputs: { out: { fields: [v, k] } } }
  sink: { inputs: { a: { from: src, grouping: "fields(k, nope)" } }, label: CW, parallelism: 4 }
"#;
        let t = crate::load::load_str("g.yaml", text).unwrap_or_else(|d| panic!("{d:?}"));
        let a = crate::analyze(&t);
        let bounds = Bounds {
            records: 40,
            domain: 16,
            max_hops: None,
            max_messages: 10_000,
            data_seed: 3,
        };
        let plan = Plan::new(&t, &a, &bounds);
        let (sink, k) = (
            t.component_index("sink").unwrap_or(usize::MAX),
            plan.fields
                .iter()
                .position(|f| f == "k")
                .unwrap_or(usize::MAX),
        );
        let mut where_first: Vec<Option<usize>> = vec![None; 16];
        let mut used = [false; 4];
        for seed in 0..8 {
            let r = run(&plan, &mut Chooser::random(seed), false);
            for (instance, records) in r.outputs[sink][0].iter().enumerate() {
                for rec in records {
                    let key = rec.get(k as u16).unwrap_or(u64::MAX) as usize;
                    let first = *where_first[key].get_or_insert(instance);
                    assert_eq!(first, instance, "key {key} in every schedule");
                    used[instance] = true;
                }
            }
        }
        // The key's values are spread over the instances, not all sent to one.
        assert!(used.iter().filter(|&&u| u).count() > 1, "{used:?}");
    }

    /// A component whose paths are listed out of input and output order, and every example.
    fn topologies() -> Vec<Topology> {
        let mixed = "components:
  a: { outputs: { out: {}, x: {} } }
  b: {}
  c:
    inputs: { p: { from: a.out }, q: { from: b }, r: { from: a.x } }
    outputs: { out: {}, y: {}, z: {} }
    paths:
      - { from: r, to: y, label: CW }
      - { from: p, to: out, label: CR }
      - { from: r, to: out, label: OW(id) }
      - { from: q, to: z, label: CW }
      - { from: p, to: y, label: CW }
";
        let mut all = vec![
            crate::load::load_str("mixed.yaml", mixed).unwrap_or_else(|d| {
                panic!("the mixed topology loads: {d:?}");
            }),
        ];
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for f in files {
            if let Ok(t) = crate::load::load_path(&f.to_string_lossy()) {
                all.push(t);
            }
        }
        all
    }

    #[test]
    fn paths_by_interface_are_the_paths_a_scan_finds_in_path_order() {
        let all = topologies();
        assert!(all.len() > 10, "the examples load");
        for t in &all {
            let (by_input, by_output) = (PathsBy::input(t), PathsBy::output(t));
            for (c, comp) in t.components.iter().enumerate() {
                for i in 0..comp.inputs.len() {
                    let scan: Vec<usize> = (0..comp.paths.len())
                        .filter(|&p| comp.paths[p].input == i)
                        .collect();
                    assert_eq!(by_input.get(c, i), scan, "{} input {i}", comp.name);
                }
                for o in 0..comp.outputs.len() {
                    let scan: Vec<usize> = (0..comp.paths.len())
                        .filter(|&p| comp.paths[p].output == o)
                        .collect();
                    assert_eq!(by_output.get(c, o), scan, "{} output {o}", comp.name);
                }
            }
        }
        // The mixed component's groups are not contiguous in its path list.
        let c = all[0].component_index("c").unwrap_or(usize::MAX);
        assert_eq!(PathsBy::output(&all[0]).get(c, 0).len(), 2);
    }
}
