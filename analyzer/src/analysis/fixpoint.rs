//! Evaluation of one component (rules + reconciliation, SPEC §4) and the least fixpoint over the
//! whole graph (SPEC §5): strongly connected components in topological order, a worklist inside
//! each.

use std::sync::Arc;

use blazes_annotations::Annotation;

use super::lattice::{Interner, Lbl, SetId};
use super::originates;
use super::rules::{self, Contribution, Kind, Rule};
use crate::model::{Port, Topology};

/// How a coordination remedy changes a component when the plan is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ordering {
    /// Inputs in one deterministic (epoch) order: the component behaves as confluent.
    Deterministic,
    /// Inputs in one sequencer order: confluent, but the output may differ between runs.
    Dynamic,
}

/// Why an output got its label: the deciding step and the path it came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Why {
    /// The step.
    pub step: Step,
    /// Index of the deciding path in the component, if a path decided.
    pub path: Option<u32>,
}

/// The deciding step of an output's label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Not reached yet (⊥).
    Unknown,
    /// A source output: its declared seal, else `Async`.
    Source,
    /// An output that no path reaches: behaves as a source output.
    Unreached,
    /// A path passed its input label (rule p).
    Pass,
    /// Two different seals met and joined to `Async`.
    SealsMeet,
    /// Rule 4′ consumed a compatible seal.
    SealConsumed,
    /// A read whose write paths are all fed compatible seals (or that has no write path).
    ProtectedRead,
    /// R1: a `Taint` from the given rule.
    Taint(Rule),
    /// R2: an unprotected `NDRead` from the given rule.
    NDRead(Rule),
    /// The soundness guard kept an input label of severity `Run` or worse.
    Guard,
    /// A dynamic ordering applied by the plan leaves `Run`.
    DynamicOrder,
    /// The output's declared seal.
    DeclaredSeal,
    /// A seal was dropped because the output does not carry its key.
    Lost,
}

/// Something the evaluation of a component observed, recorded in the final pass.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// R1 or R2 added an anomaly through `path` by `rule` (1, 1′, 2, 3 or 4).
    Anomaly {
        /// Component index.
        component: usize,
        /// Path index.
        path: usize,
        /// The table row.
        rule: Rule,
    },
    /// Rule 4′ consumed a seal on `path`.
    SealConsumed {
        /// Component index.
        component: usize,
        /// Path index.
        path: usize,
        /// The key.
        key: SetId,
    },
    /// A read on `path` is protected; `guards` are the write paths whose sealed inputs it waits
    /// for, and `passed` the seals on paths into the same output that it consumes.
    ProtectedRead {
        /// Component index.
        component: usize,
        /// Path index of the read.
        path: usize,
        /// Write paths (indices) carrying compatible seals.
        guards: Vec<usize>,
    },
    /// Output `output` dropped a seal on `key` because it does not carry the key.
    Lost {
        /// Component index.
        component: usize,
        /// Output index.
        output: usize,
        /// The key.
        key: SetId,
    },
}

/// A path as the evaluator reads it: flat, small, and next to the other paths of its component.
#[derive(Clone, Copy, Debug)]
struct FlatPath {
    /// Port index of the stream feeding the path.
    from: u32,
    /// The path's output, as an index within its component.
    output: u32,
    /// The annotation's class.
    kind: Kind,
    /// Interned gate (`None` for `*` or a confluent path).
    gate: Option<SetId>,
}

/// Component flag: its instances behave as replicas.
const REPLICATED: u8 = 1;
/// Component flag: it has no inputs.
const SOURCE: u8 = 2;
/// Component flag: an output declares its fields (a seal it does not carry is lost).
const FIELDS: u8 = 4;

/// Everything the evaluator needs about the topology, precomputed once into flat arrays (a
/// large topology is evaluated millions of times, and the arrays keep that in cache); an
/// analysis keeps it so that applying remedies re-solves only what they change. What never
/// changes after construction is shared ([`Fixed`]), so the analyses of one plan share it.
#[derive(Clone, Debug)]
pub struct Tables {
    /// Field-set interner and compatibility cache.
    pub interner: Interner,
    /// Remedies applied by the plan, per slot.
    overrides: Vec<Option<Ordering>>,
    /// The rest, shared.
    fixed: Arc<Fixed>,
}

/// The part of [`Tables`] fixed by the topology. Per-component tables are indexed by slot (a
/// component's position when components are grouped by strongly connected component in
/// topological order), and ports are numbered slot by slot.
#[derive(Debug)]
pub struct Fixed {
    /// First port index of each slot, and the number of ports at the end.
    base: Vec<usize>,
    /// The component of each port.
    owner: Vec<u32>,
    /// First port index of each component (by component: what lookups by [`Port`] read).
    port_base: Vec<u32>,
    /// First path of each slot in `paths`, and the number of paths at the end.
    path_start: Vec<u32>,
    /// Every path, slot by slot.
    paths: Vec<FlatPath>,
    /// `REPLICATED`, `SOURCE` and `FIELDS`, per slot.
    flags: Vec<u8>,
    /// Consumers of each slot, as slots (CSR: those of `u` are `consumers[consumer_start[u]..]`).
    consumer_start: Vec<u32>,
    consumers: Vec<u32>,
    /// Declared seal of each port.
    declared: Vec<Option<SetId>>,
    /// Strongly connected components of the component graph, in topological order.
    sccs: Sccs,
    /// Whether each SCC is a loop (several members, or one that feeds itself).
    cyclic: Vec<bool>,
}

impl std::ops::Deref for Tables {
    type Target = Fixed;

    fn deref(&self) -> &Fixed {
        &self.fixed
    }
}

impl Tables {
    /// The part fixed by the topology, shared.
    pub fn fixed(&self) -> Arc<Fixed> {
        Arc::clone(&self.fixed)
    }

    /// The remedy applied to a component, if any.
    pub fn ordering(&self, c: usize) -> Option<Ordering> {
        self.overrides[self.sccs.slot(c)]
    }

    /// The interned gate of path `path` of component `c` (`None` for `*` or confluent).
    pub fn gate(&self, c: usize, path: usize) -> Option<SetId> {
        self.paths[self.path_start[self.sccs.slot(c)] as usize + path].gate
    }

    /// The index of the port that port `port`'s label was passed on from unchanged, given why
    /// it has its label: the port feeding the deciding path, when the step was rule p.
    pub fn passed_from(&self, port: usize, why: Why) -> Option<usize> {
        let u = self.sccs.slot(self.port_component(port));
        self.source_of(self.path_start[u] as usize, why)
    }
}

/// The per-component tables as first built, in component order (the fields mean what those of
/// [`Fixed`] do, indexed by component).
struct ByComponent {
    base: Vec<usize>,
    declared: Vec<Option<SetId>>,
    path_start: Vec<u32>,
    paths: Vec<FlatPath>,
    flags: Vec<u8>,
}

impl ByComponent {
    /// Puts the tables in the slot order of `shape`: a gather of each table, with port and
    /// consumer references renumbered.
    fn into_slots(self, shape: Shape) -> Fixed {
        let Shape {
            sccs,
            cyclic,
            consumers: component_consumers,
        } = shape;
        let n = sccs.comp.len();
        let outputs = |c: usize| self.base[c]..self.base[c + 1];
        // Ports and paths: the ports are numbered slot by slot, and each path's source follows.
        let ports_and_paths = || {
            let mut base = Vec::with_capacity(n + 1);
            let mut ports = 0;
            for u in 0..n {
                base.push(ports);
                ports += outputs(sccs.comp(u)).len();
            }
            base.push(ports);
            // The new index of each port, by its old one, and the first of each component.
            let mut renumber = vec![0u32; ports];
            let mut port_base = Vec::with_capacity(n);
            for c in 0..n {
                let first = base[sccs.slot(c)];
                port_base.push(small(first));
                for (k, old) in outputs(c).enumerate() {
                    renumber[old] = small(first + k);
                }
            }
            let mut path_start = Vec::with_capacity(n + 1);
            let mut paths = Vec::with_capacity(self.paths.len());
            for &c in &sccs.comp {
                let c = c as usize;
                let own = self.path_start[c] as usize..self.path_start[c + 1] as usize;
                path_start.push(small(paths.len()));
                paths.extend(self.paths[own].iter().map(|p| FlatPath {
                    from: renumber[p.from as usize],
                    ..*p
                }));
            }
            path_start.push(small(paths.len()));
            (base, port_base, path_start, paths)
        };
        // The rest, which needs no renumbered port.
        let rest = || {
            let ports = self.declared.len();
            let mut owner = Vec::with_capacity(ports);
            let mut declared = Vec::with_capacity(ports);
            let mut flags = Vec::with_capacity(n);
            let mut consumer_start = Vec::with_capacity(n + 1);
            let mut consumers = Vec::with_capacity(component_consumers.list.len());
            for &c in &sccs.comp {
                let c = c as usize;
                owner.extend(std::iter::repeat_n(small(c), outputs(c).len()));
                declared.extend_from_slice(&self.declared[outputs(c)]);
                flags.push(self.flags[c]);
                consumer_start.push(small(consumers.len()));
                consumers.extend(
                    component_consumers
                        .of(c)
                        .iter()
                        .map(|&consumer| sccs.slot[consumer as usize]),
                );
            }
            consumer_start.push(small(consumers.len()));
            (owner, declared, flags, consumer_start, consumers)
        };
        let (
            (base, port_base, path_start, paths),
            (owner, declared, flags, consumer_start, consumers),
        ) = crate::parallel::both(n >= PARALLEL_FROM, ports_and_paths, rest);
        Fixed {
            base,
            owner,
            port_base,
            path_start,
            paths,
            flags,
            consumer_start,
            consumers,
            declared,
            sccs,
            cyclic,
        }
    }
}

impl Fixed {
    /// Whether component `c` acts replicated ([`crate::model::Component::acts_replicated`]),
    /// from a table of a byte per component rather than the component's inputs.
    pub fn acts_replicated(&self, c: usize) -> bool {
        self.flags[self.sccs.slot(c)] & REPLICATED != 0
    }

    /// The index of a port among all ports.
    pub fn port_index(&self, p: Port) -> usize {
        self.port_base[p.component] as usize + p.output
    }

    /// The component of the port with index `index`.
    pub fn port_component(&self, index: usize) -> usize {
        self.owner[index] as usize
    }

    /// The port with index `index` (the inverse of [`Fixed::port_index`]).
    pub fn port_at(&self, index: usize) -> Port {
        let component = self.port_component(index);
        Port {
            component,
            output: index - self.port_base[component] as usize,
        }
    }

    /// Every port in index order, as its component and output, with the index of the port its
    /// label was passed on from, if it was, given the reasons of an analysis' labels (by port
    /// index). Read slot by slot, in the order the tables are laid out, with no lookup per port.
    pub fn pass_sources<'a>(
        &'a self,
        whys: &'a [Why],
    ) -> impl Iterator<Item = (Port, Option<usize>)> + 'a {
        self.sccs.comp.iter().enumerate().flat_map(move |(u, &c)| {
            let first_path = self.path_start[u] as usize;
            (self.base[u]..self.base[u + 1])
                .enumerate()
                .map(move |(output, port)| {
                    let component = c as usize;
                    let pass = self.source_of(first_path, whys[port]);
                    (Port { component, output }, pass)
                })
        })
    }

    /// [`Tables::passed_from`] for a port of the slot whose first path is `first_path`.
    fn source_of(&self, first_path: usize, why: Why) -> Option<usize> {
        match why {
            Why {
                step: Step::Pass,
                path: Some(path),
            } => Some(self.paths[first_path + path as usize].from as usize),
            _ => None,
        }
    }

    /// The ports of the components in loops (strongly connected components with several
    /// members, or one that feeds itself), as ranges of port indices, one per loop.
    pub fn loop_ports(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        (0..self.sccs.len()).filter(|&s| self.cyclic[s]).map(|s| {
            let members = self.sccs.members(s);
            self.base[members.start]..self.base[members.end]
        })
    }

    /// Every port index, component by component (the order of ports in the topology).
    pub fn ports_in_component_order(&self) -> impl Iterator<Item = usize> + '_ {
        self.sccs
            .slot
            .iter()
            .flat_map(|&u| self.base[u as usize]..self.base[u as usize + 1])
    }

    /// The ports whose labels are `Inst` or `Diverge`, or `Run` at a component that no dynamic
    /// ordering is at or upstream of (see [`crate::analysis::Analysis::unverified`]).
    fn unverified(&self, labels: &[Lbl], overrides: &[Option<Ordering>]) -> Vec<Port> {
        let n = self.flags.len();
        // The slots a dynamic ordering reaches: they may stay `Run`. Found in one pass over the
        // SCCs in topological order, front to back: every member of an SCC reaches every
        // other, so once one member is reached, the consumers of all of them are (a loop's
        // members among them).
        let mut may_run: Vec<bool> = overrides
            .iter()
            .map(|&o| o == Some(Ordering::Dynamic))
            .collect();
        for s in 0..self.sccs.len() {
            let members = self.sccs.members(s);
            if !may_run[members.clone()].contains(&true) {
                continue;
            }
            for u in members {
                for &v in self.consumers_of(u) {
                    may_run[v as usize] = true;
                }
            }
        }
        let mut bad: Vec<Port> = (0..n)
            .flat_map(|u| (self.base[u]..self.base[u + 1]).map(move |port| (u, port)))
            .filter(|&(u, port)| match labels[port] {
                Lbl::Inst | Lbl::Diverge => true,
                Lbl::Run => !may_run[u],
                Lbl::Bot | Lbl::Seal(_) | Lbl::Async => false,
            })
            .map(|(_, port)| self.port_at(port))
            .collect();
        bad.sort_unstable();
        bad
    }

    /// The slots that consume an output of slot `u` (with repeats).
    fn consumers_of(&self, u: usize) -> &[u32] {
        &self.consumers[self.consumer_start[u] as usize..self.consumer_start[u + 1] as usize]
    }
}

impl Tables {
    /// The ports whose labels are `Inst` or `Diverge`, or `Run` at a component that no dynamic
    /// ordering is at or upstream of (see [`crate::analysis::Analysis::unverified`]).
    pub fn unverified(&self, labels: &[Lbl]) -> Vec<Port> {
        self.fixed.unverified(labels, &self.overrides)
    }

    /// For a read with gate `g` at slot `u`: `Some(write paths)` when every write path of the
    /// component is fed a seal compatible with `g` (or nothing yet), `None` when the read is
    /// unprotected.
    fn guards(&mut self, u: usize, g: Option<SetId>, labels: &[Lbl]) -> Option<Vec<usize>> {
        let mut guards = Vec::new();
        let (start, end) = (self.path_start[u] as usize, self.path_start[u + 1] as usize);
        for pi in start..end {
            let p = self.paths[pi];
            if !p.kind.is_write() {
                continue;
            }
            match labels[p.from as usize] {
                Lbl::Bot => {}
                // An `OW` write must also be sealed compatibly with its own gate: otherwise its
                // state depends on input order (rule 4) and a read of it cannot be protected.
                Lbl::Seal(k)
                    if self.interner.compatible(g, k)
                        && (!p.kind.is_order_sensitive()
                            || self.interner.compatible(p.gate, k)) =>
                {
                    guards.push(pi - start)
                }
                _ => return None,
            }
        }
        Some(guards)
    }
}

/// Topologies from this many components on have their [`Shape`] worked out on a second thread.
const PARALLEL_FROM: usize = 4096;

/// The shape of the component graph: its strongly connected components, numbered in
/// topological order, and which are loops.
struct Shape {
    sccs: Sccs,
    cyclic: Vec<bool>,
    /// The consumers of each component, which the search reads and the tables keep.
    consumers: Consumers,
}

/// The consumers of each component, as components (in compressed form: those of `c` are
/// `list[start[c]..start[c + 1]]`), in component and input order, a component's outputs' lists
/// merged.
struct Consumers {
    start: Vec<u32>,
    list: Vec<u32>,
}

impl Consumers {
    /// The consumers of all outputs of each component, from the outputs' consumer lists (which
    /// the loader sorts), reading the components front to back.
    fn new(topo: &Topology) -> Self {
        let mut start = Vec::with_capacity(topo.components.len() + 1);
        let mut list: Vec<u32> = Vec::new();
        start.push(0u32);
        for c in &topo.components {
            let first = list.len();
            for o in &c.outputs {
                list.extend(o.fed.iter().map(|&(consumer, _)| consumer));
            }
            if c.outputs.len() > 1 {
                list[first..].sort_unstable();
            }
            start.push(small(list.len()));
        }
        Consumers { start, list }
    }

    /// The consumers of component `c`.
    fn of(&self, c: usize) -> &[u32] {
        &self.list[self.start[c] as usize..self.start[c + 1] as usize]
    }
}

impl Shape {
    fn new(topology: &Topology) -> Self {
        // Strongly connected components (iterative, so deep chains cannot overflow the stack),
        // in topological order so each is solved after everything feeding it.
        let consumers = Consumers::new(topology);
        let (sccs, cyclic) = Sccs::new(&consumers);
        Shape {
            sccs,
            cyclic,
            consumers,
        }
    }
}

/// The evaluator: a topology and its tables.
pub struct Solver<'t> {
    /// The topology.
    pub topology: &'t Topology,
    /// What is precomputed about it.
    pub tables: Tables,
}

/// Converts an index to the 32 bits the flat tables store; a topology within the size limit
/// never comes near the bound.
fn small(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl<'t> Solver<'t> {
    /// Prepares a topology, with optional plan overrides (one entry per component).
    pub fn new(topology: &'t Topology, overrides: Option<Vec<Option<Ordering>>>) -> Self {
        // The shape of the graph does not depend on the tables: a large one is worked out on
        // a second core meanwhile.
        if topology.components.len() < PARALLEL_FROM {
            let shape = Shape::new(topology);
            return Self::with_shape(topology, overrides, || shape);
        }
        std::thread::scope(|scope| {
            let shape = scope.spawn(|| Shape::new(topology));
            Self::with_shape(topology, overrides, || {
                shape
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        })
    }

    /// [`Solver::new`], given the graph's shape once the tables are built.
    fn with_shape(
        topology: &'t Topology,
        overrides: Option<Vec<Option<Ordering>>>,
        shape: impl FnOnce() -> Shape,
    ) -> Self {
        let n = topology.components.len();
        let mut interner = Interner::new(topology);
        // Each component's first port, and the sizes of the tables, from the components alone
        // (each input is one consumer of an output): the one pass below that reads their
        // outputs, paths and inputs then fills the tables in place.
        let mut base = Vec::with_capacity(n + 1);
        let (mut port_count, mut path_count) = (0, 0);
        for c in &topology.components {
            base.push(port_count);
            port_count += c.outputs.len();
            path_count += c.paths.len();
        }
        base.push(port_count);
        let mut declared = Vec::with_capacity(port_count);
        // Few distinct annotations are written, each shared by many paths (the loader gives
        // equal labels one `Arc`): each one's gate is interned once, found by its address. The
        // gates are interned after the seal keys, in the order the annotations first appear,
        // so paths first hold their annotation's number in `written`.
        let mut numbers: rustc_hash::FxHashMap<*const Annotation, SetId> =
            rustc_hash::FxHashMap::default();
        let mut written: Vec<&Annotation> = Vec::new();
        let mut path_start = Vec::with_capacity(n + 1);
        let mut paths = Vec::with_capacity(path_count);
        let mut flags = Vec::with_capacity(n);
        for c in &topology.components {
            for o in &c.outputs {
                declared.push(o.seal.as_deref().map(|(k, _)| interner.key(k)));
            }
            path_start.push(small(paths.len()));
            for p in &c.paths {
                let from = c.inputs[p.input].from;
                let number = *numbers
                    .entry(Arc::as_ptr(&p.annotation))
                    .or_insert_with(|| {
                        written.push(&p.annotation);
                        small(written.len() - 1)
                    });
                paths.push(FlatPath {
                    from: small(base[from.component] + from.output),
                    output: small(p.output),
                    kind: Kind::of(&p.annotation),
                    gate: Some(number),
                });
            }
            flags.push(
                if c.acts_replicated() { REPLICATED } else { 0 }
                    | if c.is_source() { SOURCE } else { 0 }
                    | if c.outputs.iter().any(|o| o.fields.is_some()) {
                        FIELDS
                    } else {
                        0
                    },
            );
        }
        path_start.push(small(paths.len()));
        let gates: Vec<Option<SetId>> = written
            .iter()
            .map(|a| a.gate().and_then(|g| interner.gate(g)))
            .collect();
        for p in &mut paths {
            p.gate = p.gate.and_then(|number| gates[number as usize]);
        }
        let by_component = ByComponent {
            base,
            declared,
            path_start,
            paths,
            flags,
        };
        let fixed = by_component.into_slots(shape());
        let overrides = match overrides {
            Some(by_component) => (0..n).map(|u| by_component[fixed.sccs.comp(u)]).collect(),
            None => vec![None; n],
        };
        Solver {
            topology,
            tables: Tables {
                interner,
                overrides,
                fixed: Arc::new(fixed),
            },
        }
    }

    /// Resumes from the tables of an earlier analysis of the same topology.
    pub fn resume(topology: &'t Topology, tables: Tables) -> Self {
        Solver { topology, tables }
    }

    /// Number of ports (output interfaces) in the topology.
    pub fn ports(&self) -> usize {
        self.tables.declared.len()
    }

    /// Evaluates the component at slot `u` from the current labels (indexed by port), writing
    /// its output labels into `out` (one per output) and, when `events` is given, what it
    /// observed. With `clean`, an anomaly the component would originate (rule 1, 1′, 2 or 4)
    /// contributes `Async` instead, unless the plan orders the component: the evaluation of a
    /// loop's clean fixpoint, which records no events.
    ///
    /// True when the evaluation observed something, whether or not `events` records it: an
    /// event, or (with `clean`) an anomaly it replaced. When false, evaluating without `clean`
    /// gives the same outputs and no event.
    fn evaluate(
        &mut self,
        u: usize,
        labels: &[Lbl],
        out: &mut Vec<(Lbl, Why)>,
        mut events: Option<&mut Vec<Event>>,
        clean: bool,
    ) -> bool {
        out.clear();
        let mut observed = false;
        let topo = self.topology;
        let t = &mut self.tables;
        let c = t.sccs.comp(u);
        let rep = t.flags[u] & REPLICATED != 0;
        let ordering = t.overrides[u];
        let clean = clean && ordering.is_none();
        let first_path = t.path_start[u] as usize;
        let path_count = t.path_start[u + 1] as usize - first_path;
        for oi in 0..t.base[u + 1] - t.base[u] {
            let port = t.base[u] + oi;
            let mut best = Lbl::Bot;
            let mut why = Why {
                step: Step::Unknown,
                path: None,
            };
            let mut reached = false;
            let mut met_seals = false;
            for pi in 0..path_count {
                let path = t.paths[first_path + pi];
                if path.output as usize != oi {
                    continue;
                }
                reached = true;
                let l = labels[path.from as usize];
                let kind = if ordering.is_some() {
                    path.kind.confluent()
                } else {
                    path.kind
                };
                let interner = &mut t.interner;
                let Some((rule, contribution)) =
                    rules::apply(l, kind, path.gate, |g, k| interner.compatible(g, k))
                else {
                    continue;
                };
                let (label, step) = match contribution {
                    Contribution::Label(x) => (x, Step::Pass),
                    Contribution::Consumed(key) => {
                        observed = true;
                        if let Some(ev) = events.as_deref_mut() {
                            ev.push(Event::SealConsumed {
                                component: c,
                                path: pi,
                                key,
                            });
                        }
                        (Lbl::Async, Step::SealConsumed)
                    }
                    Contribution::Taint if clean && originates(rule) => {
                        observed = true;
                        (Lbl::Async, Step::Taint(rule))
                    }
                    Contribution::Taint => {
                        observed = true;
                        if let Some(ev) = events.as_deref_mut() {
                            ev.push(Event::Anomaly {
                                component: c,
                                path: pi,
                                rule,
                            });
                        }
                        (if rep { Lbl::Diverge } else { Lbl::Run }, Step::Taint(rule))
                    }
                    Contribution::NDRead(g) => match t.guards(u, g, labels) {
                        Some(guards) => {
                            observed = true;
                            if let Some(ev) = events.as_deref_mut() {
                                ev.push(Event::ProtectedRead {
                                    component: c,
                                    path: pi,
                                    guards,
                                });
                            }
                            (Lbl::Async, Step::ProtectedRead)
                        }
                        None if clean => {
                            observed = true;
                            (Lbl::Async, Step::NDRead(rule))
                        }
                        None => {
                            observed = true;
                            if let Some(ev) = events.as_deref_mut() {
                                ev.push(Event::Anomaly {
                                    component: c,
                                    path: pi,
                                    rule,
                                });
                            }
                            (if rep { Lbl::Inst } else { Lbl::Run }, Step::NDRead(rule))
                        }
                    },
                };
                let joined = best.join(label);
                if joined != best {
                    met_seals = joined != label;
                    best = joined;
                    why = Why {
                        step,
                        path: Some(pi as u32),
                    };
                }
                // Soundness guard: a protected read never launders `Run` or worse.
                if l.rank() >= Lbl::Run.rank() && best.rank() < l.rank() {
                    best = l;
                    why = Why {
                        step: Step::Guard,
                        path: Some(pi as u32),
                    };
                }
            }
            if met_seals {
                why.step = Step::SealsMeet;
            }
            if !reached {
                best = t.declared[port].map_or(Lbl::Async, Lbl::Seal);
                why.step = if t.flags[u] & SOURCE != 0 {
                    Step::Source
                } else {
                    Step::Unreached
                };
            } else if best != Lbl::Bot {
                if ordering == Some(Ordering::Dynamic) && best.rank() < Lbl::Run.rank() {
                    best = Lbl::Run;
                    why.step = Step::DynamicOrder;
                }
                // The topology is read only when it can lose the seal: it is far from the tables.
                if let Lbl::Seal(k) = best
                    && t.flags[u] & FIELDS != 0
                    && let Some(fields) = &topo.components[c].outputs[oi].fields
                    && !t.interner.carried(k, fields, &topo.implicit)
                {
                    observed = true;
                    if let Some(ev) = events.as_deref_mut() {
                        ev.push(Event::Lost {
                            component: c,
                            output: oi,
                            key: k,
                        });
                    }
                    best = Lbl::Async;
                    why.step = Step::Lost;
                }
                if let Some(k) = t.declared[port]
                    && best.rank() <= Lbl::Async.rank()
                {
                    best = Lbl::Seal(k);
                    why.step = Step::DeclaredSeal;
                }
            }
            out.push((best, why));
        }
        observed
    }
}

impl Event {
    /// The component the event happened at.
    pub fn component(&self) -> usize {
        match *self {
            Event::Anomaly { component, .. }
            | Event::SealConsumed { component, .. }
            | Event::ProtectedRead { component, .. }
            | Event::Lost { component, .. } => component,
        }
    }
}

/// The result of solving: a label and a reason per port, and what the components observed.
#[derive(Clone, Debug)]
pub struct State {
    /// Label of each port.
    pub labels: Vec<Lbl>,
    /// Why each port has its label.
    pub whys: Vec<Why>,
    /// What each component observed when evaluated at the fixpoint, sorted by component
    /// (evaluation order within one).
    pub events: Vec<Event>,
    /// Anomalies loops originate that their fixpoint no longer shows, sorted.
    ///
    /// In a loop, an anomaly that a component originates (say `Async` into `OW`) can feed back
    /// into the same path as `Diverge`, which rule p merely passes on, so the final state alone
    /// would hide its origin. A loop's own anomalies are those its members raise when evaluated
    /// at its *clean fixpoint*, the least fixpoint of the loop in which every anomaly a member
    /// would originate contributes `Async` instead: what the loop would carry if every origin
    /// in it were fixed. That fixpoint is unique, so they do not depend on the order the loop
    /// is solved in (nor on the components' names).
    pub loop_events: Vec<Event>,
}

/// The least fixpoint of a whole topology.
pub fn solve(solver: &mut Solver<'_>) -> State {
    solve_streaming(solver, Stream::Off)
}

/// [`solve`], related to another sweep as `stream` says.
fn solve_streaming(solver: &mut Solver<'_>, stream: Stream<'_>) -> State {
    let mut state = State::bottom(solver.ports());
    let mut dirty = vec![true; solver.topology.components.len()];
    run(solver, &mut state, &mut dirty, None, stream);
    state
}

/// What a solve hands on as it goes ([`solve_publishing`]), for a planning sweep that follows it
/// ([`plan_following`]).
#[derive(Debug)]
pub enum Progress {
    /// The SCCs before `sccs` are solved: the labels and reasons of their ports from `first_port`
    /// on (those of the SCCs solved since the last chunk), and the slots of their components
    /// that originate an anomaly.
    Solved {
        /// The SCCs solved so far.
        sccs: usize,
        /// The first port of `labels`.
        first_port: usize,
        /// Labels of the ports solved since the last chunk.
        labels: Vec<Lbl>,
        /// Their reasons.
        whys: Vec<Why>,
        /// Slots of the components among them that originate an anomaly.
        origins: Vec<u32>,
    },
    /// The solve is over: its events, as [`State::events`] and [`State::loop_events`] hold them.
    Done {
        /// What each component observed.
        events: Vec<Event>,
        /// The anomalies loops originate that their fixpoint does not show.
        loop_events: Vec<Event>,
    },
}

/// Ports solved between two chunks of [`Progress`]: enough for a chunk to cost little to send,
/// few enough for the sweep that follows to start soon.
pub const CHUNK_PORTS: usize = 4096;

/// [`solve`], telling `publish` the solution as it grows, a chunk at least every `chunk` ports
/// (and at the end), then the events.
pub fn solve_publishing(
    solver: &mut Solver<'_>,
    chunk: usize,
    publish: &mut dyn FnMut(Progress),
) -> State {
    let state = solve_streaming(solver, Stream::publish(chunk, publish));
    publish(Progress::Done {
        events: state.events.clone(),
        loop_events: state.loop_events.clone(),
    });
    state
}

/// [`plan`] of the solve that `next` follows ([`solve_publishing`] on another thread): each SCC
/// is planned once the solve has handed it on. Returns the plan's state and the origins.
pub fn plan_following(
    solver: &mut Solver<'_>,
    strategy: &dyn Fn(usize) -> Ordering,
    found: &mut Found<'_>,
    next: &mut dyn FnMut() -> Option<Progress>,
) -> (State, Vec<(usize, usize)>) {
    let mut state = State::bottom(solver.ports());
    // The SCCs with an origin are marked as the solve hands them on.
    let mut dirty = vec![false; solver.topology.components.len()];
    let origins = sweep(
        solver,
        &mut state,
        &mut dirty,
        strategy,
        found,
        Stream::Follow { next, received: 0 },
    );
    (state, origins)
}

/// How a sweep ([`run`]) relates to another one on another thread.
enum Stream<'s> {
    /// It does not.
    Off,
    /// It hands its solution on as it goes, a chunk at least every `chunk` ports.
    Publish {
        chunk: usize,
        publish: &'s mut dyn FnMut(Progress),
        /// The SCCs handed on so far.
        sent: usize,
        /// Where the events (and the loops' own anomalies) not yet handed on start.
        events_from: (usize, usize),
    },
    /// It starts from the solution another sweep hands on: each SCC once that sweep has
    /// solved it, planned if it has an origin there.
    Follow {
        next: &'s mut dyn FnMut() -> Option<Progress>,
        /// The SCCs received so far.
        received: usize,
    },
}

impl Stream<'_> {
    /// A stream that hands the solution on at least every `chunk` ports.
    fn publish(chunk: usize, publish: &mut dyn FnMut(Progress)) -> Stream<'_> {
        Stream::Publish {
            chunk: chunk.max(1),
            publish,
            sent: 0,
            events_from: (0, 0),
        }
    }

    /// Before the sweep solves SCC `s` (or, with `s` the number of SCCs, once it has solved them
    /// all): hands on what is due, or takes in what SCC `s` needs. `fresh` and `fresh_loop` are
    /// the events and loop anomalies the sweep has found so far. False when the other sweep
    /// stopped (by panicking, which its join passes on).
    fn before(
        &mut self,
        s: usize,
        solver: &Solver<'_>,
        state: &mut State,
        dirty: &mut [bool],
        (fresh, fresh_loop): (&[Event], &[Event]),
    ) -> bool {
        let sccs = solver.tables.sccs.len();
        match self {
            Stream::Off => {}
            Stream::Publish {
                chunk,
                publish,
                sent,
                events_from,
            } => {
                let first_port = solver.tables.base[solver.tables.sccs.first(*sent)];
                let end_port = solver.tables.base[solver.tables.sccs.first(s)];
                if end_port - first_port >= *chunk || (s == sccs && s > *sent) {
                    let origins = fresh[events_from.0..]
                        .iter()
                        .chain(&fresh_loop[events_from.1..])
                        .filter_map(|e| new_origin(solver, e))
                        .map(|(c, _)| small(solver.tables.sccs.slot(c)))
                        .collect();
                    publish(Progress::Solved {
                        sccs: s,
                        first_port,
                        labels: state.labels[first_port..end_port].to_vec(),
                        whys: state.whys[first_port..end_port].to_vec(),
                        origins,
                    });
                    (*sent, *events_from) = (s, (fresh.len(), fresh_loop.len()));
                }
            }
            Stream::Follow { next, received } if s < sccs => {
                while *received <= s {
                    let Some(Progress::Solved {
                        sccs: solved,
                        first_port,
                        labels,
                        whys,
                        origins,
                    }) = next()
                    else {
                        return false;
                    };
                    let ports = first_port..first_port + labels.len();
                    state.labels[ports.clone()].copy_from_slice(&labels);
                    state.whys[ports].copy_from_slice(&whys);
                    for slot in origins {
                        dirty[slot as usize] = true;
                    }
                    *received = solved;
                }
            }
            // Every SCC was handed on; the events come last.
            Stream::Follow { next, .. } => {
                let Some(Progress::Done {
                    events,
                    loop_events,
                }) = next()
                else {
                    return false;
                };
                (state.events, state.loop_events) = (events, loop_events);
            }
        }
        true
    }
}

/// The coordination plan (SPEC §6), worked out on a solved `state` in one sweep in topological
/// order: when an SCC has members that originate an anomaly (rule 1, 1′, 2 or 4, at its fixpoint
/// or, in a loop, at its clean fixpoint) and are not ordered yet, they get the ordering
/// `strategy` gives and the SCC is solved again, until none is left; an SCC whose inputs then
/// change is solved again the same way. Every SCC is so planned from final inputs, with
/// everything upstream already coordinated. Leaves in `state` the fixpoint with every ordering in
/// place (equal to solving from scratch with them) and returns the origins, as sorted
/// `(component, path)` pairs. `found` is told the origins as they are found, in batches, so that
/// work on them can start before the sweep ends: all the origins of a component come in one
/// batch.
pub fn plan(
    solver: &mut Solver<'_>,
    state: &mut State,
    strategy: &dyn Fn(usize) -> Ordering,
    found: &mut Found<'_>,
) -> Vec<(usize, usize)> {
    // The SCCs with an origin: the others keep their solution unless an input changes.
    let mut dirty = vec![false; solver.topology.components.len()];
    for e in state.events.iter().chain(&state.loop_events) {
        if let Some((component, _)) = new_origin(solver, e) {
            dirty[solver.tables.sccs.slot(component)] = true;
        }
    }
    sweep(solver, state, &mut dirty, strategy, found, Stream::Off)
}

/// The planning sweep of [`plan`] from the SCCs marked in `dirty`, giving the origins.
fn sweep(
    solver: &mut Solver<'_>,
    state: &mut State,
    dirty: &mut [bool],
    strategy: &dyn Fn(usize) -> Ordering,
    found: &mut Found<'_>,
    stream: Stream<'_>,
) -> Vec<(usize, usize)> {
    let mut origins = Vec::new();
    let plan = Plan {
        strategy,
        origins: &mut origins,
        found,
    };
    run(solver, state, dirty, Some(plan), stream);
    origins.sort_unstable();
    origins.dedup();
    origins
}

/// The `(component, path)` where `e` originates an anomaly (rule 1, 1′, 2 or 4), when that
/// component is not ordered yet.
fn new_origin(solver: &Solver<'_>, e: &Event) -> Option<(usize, usize)> {
    match *e {
        Event::Anomaly {
            component,
            path,
            rule,
        } if originates(rule)
            && solver.tables.overrides[solver.tables.sccs.slot(component)].is_none() =>
        {
            Some((component, path))
        }
        _ => None,
    }
}

/// Told each batch of `(component, path)` origins a planning sweep finds ([`plan`]).
pub type Found<'f> = dyn FnMut(&[(usize, usize)]) + 'f;

/// What a planning sweep keeps: how to order a component, and the origins found so far.
struct Plan<'p> {
    strategy: &'p dyn Fn(usize) -> Ordering,
    origins: &'p mut Vec<(usize, usize)>,
    /// Told each batch of origins as it is found (see [`plan`]).
    found: &'p mut Found<'p>,
}

impl Plan<'_> {
    /// Orders the components that originate one of `events` (those of the SCC just solved)
    /// and are not ordered yet, keeping their origins; false when there is none.
    fn order_origins<'e>(
        &mut self,
        solver: &mut Solver<'_>,
        events: impl IntoIterator<Item = &'e Event>,
    ) -> bool {
        let before = self.origins.len();
        self.origins
            .extend(events.into_iter().filter_map(|e| new_origin(solver, e)));
        for &(c, _) in &self.origins[before..] {
            let u = solver.tables.sccs.slot(c);
            solver.tables.overrides[u] = Some((self.strategy)(c));
        }
        let found = self.origins.len() > before;
        if found {
            (self.found)(&self.origins[before..]);
        }
        found
    }
}

impl State {
    /// Every port at ⊥, nothing observed.
    fn bottom(ports: usize) -> Self {
        State {
            labels: vec![Lbl::Bot; ports],
            whys: vec![
                Why {
                    step: Step::Unknown,
                    path: None
                };
                ports
            ],
            events: Vec::new(),
            loop_events: Vec::new(),
        }
    }
}

/// Solves the SCCs with a member marked in `dirty` (indexed by slot) from their current
/// inputs, marking the consumers of every label that changes, in one sweep in topological
/// order. Each SCC solved gets fresh events; the others keep theirs. With `plan`, an SCC whose
/// members originate an anomaly orders them and is solved again (see [`plan`]).
fn run(
    solver: &mut Solver<'_>,
    state: &mut State,
    dirty: &mut [bool],
    mut plan: Option<Plan<'_>>,
    mut stream: Stream<'_>,
) {
    let topo = solver.topology;
    let mut touched = vec![false; topo.components.len()];
    let mut fresh = Vec::new();
    let mut fresh_loop = Vec::new();
    let mut buf = Vec::new();
    let mut seen_events = Vec::new();
    // By slot: whether the component's last evaluation while iterating its loop observed
    // something (see `Solver::evaluate`).
    let mut eventful = vec![false; topo.components.len()];
    // The members of the loop being solved to evaluate again: as written at its clean fixpoint,
    // then at its least fixpoint for their events.
    let mut again = Vec::new();
    let mut anomalies = rustc_hash::FxHashSet::default();
    // By slot.
    let mut queued = vec![false; topo.components.len()];
    let mut queue = std::collections::VecDeque::new();
    // The labels of the SCC being solved before it is.
    let mut old = Vec::new();
    // The outputs of those members evaluated as written at a loop's clean fixpoint, in the order
    // of `again`.
    let mut outputs = Vec::new();
    let sccs = solver.tables.sccs.len();
    for s in 0..=sccs {
        if !stream.before(s, solver, state, dirty, (&fresh, &fresh_loop)) {
            return;
        }
        if s == sccs {
            break;
        }
        let members = solver.tables.sccs.members(s);
        if !dirty[members.clone()].contains(&true) {
            continue;
        }
        for u in members.clone() {
            touched[solver.tables.sccs.comp(u)] = true;
        }
        let first_port = solver.tables.base[members.start];
        let ports = first_port..solver.tables.base[members.end];
        old.clear();
        old.extend_from_slice(&state.labels[ports.clone()]);
        // In a plan, the SCC is solved again each time some of its members are found to
        // originate an anomaly and get their ordering: its inputs are final by then.
        loop {
            let (fresh_from, loop_from) = (fresh.len(), fresh_loop.len());
            if !solver.tables.cyclic[s] {
                // Evaluated once, from final inputs: its label and events are final.
                let u = members.start;
                // The SCCs after it, if they are to be solved too.
                let next = |k: usize| {
                    let t = s + k;
                    let u = *solver.tables.sccs.start.get(t)? as usize;
                    (dirty.get(u) == Some(&true)).then_some(u)
                };
                warm(&solver.tables, state, [next(1), next(2), next(3)]);
                solver.evaluate(u, &state.labels, &mut buf, Some(&mut fresh), false);
                let base = solver.tables.base[u];
                for (oi, &(l, why)) in buf.iter().enumerate() {
                    state.labels[base + oi] = l;
                    state.whys[base + oi] = why;
                }
            } else {
                // A loop, solved in three steps. First its clean fixpoint, where every
                // anomaly a member would originate contributes `Async`: it lies below the least
                // fixpoint. Then every member is evaluated once at the clean fixpoint as written
                // (in effect: only those whose clean evaluation observed something can differ):
                // the anomalies originated there are the loop's own, whatever order it is solved
                // in, and the outputs, applied together, start the rise to the least fixpoint.
                state.labels[ports.clone()].fill(Lbl::Bot);
                state.whys[ports.clone()].fill(Why {
                    step: Step::Unknown,
                    path: None,
                });
                let mut lp = Loop {
                    members: members.clone(),
                    queue: &mut queue,
                    queued: &mut queued,
                    buf: &mut buf,
                };
                lp.queue_all();
                lp.rise(solver, state, &mut eventful, None);
                // Each member's last evaluation saw its inputs at the clean fixpoint (it is
                // queued again whenever one rises), so only the members that observed something
                // there can differ as written; the others would raise nothing and observe nothing.
                again.clear();
                again.extend(members.clone().filter(|&u| eventful[u]));
                outputs.clear();
                for (i, &u) in again.iter().enumerate() {
                    let next = |k: usize| again.get(i + k).copied();
                    warm(&solver.tables, state, [next(1), next(2), next(3)]);
                    eventful[u] =
                        solver.evaluate(u, &state.labels, lp.buf, Some(&mut seen_events), false);
                    anomalies.extend(
                        seen_events
                            .drain(..)
                            .filter(|e| matches!(e, Event::Anomaly { .. })),
                    );
                    outputs.extend_from_slice(lp.buf);
                }
                // A plan orders the loop's own origins before it rises: the rise would be
                // solved again.
                if let Some(plan) = plan.as_mut()
                    && plan.order_origins(solver, anomalies.iter())
                {
                    anomalies.clear();
                    continue;
                }
                let mut at = 0;
                for &u in &again {
                    let count = solver.tables.base[u + 1] - solver.tables.base[u];
                    if raise(&solver.tables, state, u, &outputs[at..at + count]) {
                        lp.queue_consumers(&solver.tables, u);
                    }
                    at += count;
                }
                lp.rise(solver, state, &mut eventful, Some(&mut seen_events));
                // A member is queued again whenever one of its inputs rises, so its last evaluation
                // saw the final inputs and observed its final events: only the members whose last
                // evaluation saw any are evaluated again, in slot order, to record them.
                again.clear();
                again.extend(members.clone().filter(|&u| eventful[u]));
                for (i, &u) in again.iter().enumerate() {
                    let next = |k: usize| again.get(i + k).copied();
                    warm(&solver.tables, state, [next(1), next(2), next(3)]);
                    solver.evaluate(u, &state.labels, &mut buf, Some(&mut fresh), false);
                }
                // The loop's own anomalies that its fixpoint no longer shows.
                if !anomalies.is_empty() {
                    for e in &fresh[fresh_from..] {
                        anomalies.remove(e);
                    }
                    fresh_loop.extend(anomalies.drain());
                }
            }
            let Some(plan) = plan.as_mut() else {
                break;
            };
            let events = fresh[fresh_from..].iter().chain(&fresh_loop[loop_from..]);
            if !plan.order_origins(solver, events) {
                break;
            }
            fresh.truncate(fresh_from);
            fresh_loop.truncate(loop_from);
        }
        // Only the consumers of members whose labels changed see different inputs; those in
        // other SCCs come later in topological order.
        for u in members.clone() {
            let own = solver.tables.base[u]..solver.tables.base[u + 1];
            if state.labels[own.clone()] == old[own.start - first_port..own.end - first_port] {
                continue;
            }
            for &consumer in solver.tables.consumers_of(u) {
                if consumer as usize >= members.end {
                    dirty[consumer as usize] = true;
                }
            }
        }
    }
    // Events of the SCCs solved replace their old ones; the order stays by component.
    fresh.sort_by_key(Event::component);
    state.events = merge(std::mem::take(&mut state.events), fresh, &touched);
    fresh_loop.sort_by_key(anomaly_order);
    state.loop_events = merge(std::mem::take(&mut state.loop_events), fresh_loop, &touched);
}

/// The worklist of a loop being solved.
struct Loop<'a> {
    /// Its members (slots).
    members: std::ops::Range<usize>,
    /// Members to evaluate, in order.
    queue: &'a mut std::collections::VecDeque<usize>,
    /// By slot: whether the member is in the queue.
    queued: &'a mut [bool],
    /// The outputs of the latest evaluation.
    buf: &'a mut Vec<(Lbl, Why)>,
}

impl Loop<'_> {
    /// Queues every member, in slot order.
    fn queue_all(&mut self) {
        for u in self.members.clone() {
            self.queue.push_back(u);
            self.queued[u] = true;
        }
    }

    /// Queues the consumers of `u` in the loop that are not queued yet.
    fn queue_consumers(&mut self, t: &Tables, u: usize) {
        for &consumer in t.consumers_of(u) {
            let consumer = consumer as usize;
            if self.members.contains(&consumer) && !self.queued[consumer] {
                self.queued[consumer] = true;
                self.queue.push_back(consumer);
            }
        }
    }

    /// Evaluates queued members until no label rises, queueing the consumers of each member
    /// whose label rose, and records in `observed` (by slot) whether each member's last
    /// evaluation observed something (see [`Solver::evaluate`]). Without `seen` the evaluations
    /// are clean; with it they are as written (and `seen` is scratch room for their events).
    fn rise(
        &mut self,
        solver: &mut Solver<'_>,
        state: &mut State,
        observed: &mut [bool],
        mut seen: Option<&mut Vec<Event>>,
    ) {
        while let Some(u) = self.queue.pop_front() {
            let next = |i: usize| self.queue.get(i).copied();
            warm(&solver.tables, state, [next(0), next(1), next(2)]);
            self.queued[u] = false;
            let clean = seen.is_none();
            observed[u] = solver.evaluate(u, &state.labels, self.buf, seen.as_deref_mut(), clean);
            if let Some(seen) = seen.as_deref_mut() {
                seen.clear();
            }
            if raise(&solver.tables, state, u, self.buf) {
                self.queue_consumers(&solver.tables, u);
            }
        }
    }
}

/// Joins the evaluated outputs of the member at slot `u` into its labels, keeping the reason
/// of each label that rises (and of one still unexplained); true when a label rose.
fn raise(t: &Tables, state: &mut State, u: usize, outputs: &[(Lbl, Why)]) -> bool {
    let mut rose = false;
    let base = t.base[u];
    for (oi, &(l, why)) in outputs.iter().enumerate() {
        let port = base + oi;
        // Labels only rise: joining with the old value keeps the iteration monotone.
        let new = state.labels[port].join(l);
        if new != state.labels[port] {
            state.labels[port] = new;
            state.whys[port] = why;
            rose = true;
        } else if state.whys[port].step == Step::Unknown {
            state.whys[port] = why;
        }
    }
    rose
}

/// Starts the memory reads of the next evaluations, so that their cache misses overlap with
/// the current one. A large topology is evaluated in an order with little locality (components
/// are numbered by name), and each evaluation is a chain of dependent reads (component → its
/// paths → their input labels), so a miss at each link is otherwise waited for in turn. Each
/// component evaluated next (`next`, in order) is one link further along: the third gets its
/// table entries read, the second its first path and its own first label (which the new one is
/// joined into), the first the labels its paths read. Only caches change: the values read are
/// discarded.
fn warm(t: &Tables, state: &State, next: [Option<usize>; 3]) {
    use std::hint::black_box;
    if let Some(c) = next[2] {
        black_box((t.path_start[c], t.base[c], t.consumer_start[c]));
    }
    if let Some(c) = next[1] {
        black_box(t.paths.get(t.path_start[c] as usize).map(|p| p.from));
        black_box(t.consumers.get(t.consumer_start[c] as usize));
        // Its own labels, which it is compared with and joined into.
        black_box(state.labels[t.base[c]]);
    }
    if let Some(c) = next[0] {
        let paths = t.path_start[c] as usize..t.path_start[c + 1] as usize;
        for p in &t.paths[paths] {
            black_box(state.labels[p.from as usize]);
        }
    }
}

/// Merges two event lists sorted by component, dropping the old events of `touched`
/// components (`fresh` holds their new ones).
fn merge(old: Vec<Event>, fresh: Vec<Event>, touched: &[bool]) -> Vec<Event> {
    if old.is_empty() {
        return fresh;
    }
    let mut out = Vec::with_capacity(old.len() + fresh.len());
    let mut fresh = fresh.into_iter().peekable();
    for e in old.into_iter().filter(|e| !touched[e.component()]) {
        while let Some(f) = fresh.next_if(|f| f.component() < e.component()) {
            out.push(f);
        }
        out.push(e);
    }
    out.extend(fresh);
    out
}

/// The strongly connected components of the component graph (producer -> consumer edges), in
/// flat arrays of 32-bit indices: a large topology has about as many components as SCCs, so one
/// allocation per SCC would dominate. SCCs are numbered in topological order: every producer's
/// SCC comes before its consumers'.
///
/// They also fix the solver's layout: each component has a *slot*, its position when components
/// are grouped by SCC in topological order and, within an SCC, in the reverse order that Tarjan's
/// depth-first search finishes them (a loop's worklist then mostly finds a member's inputs
/// already risen). The solver's tables are
/// indexed by slot, so an SCC's members sit next to each other in memory and a sweep in
/// topological order reads its tables front to back.
#[derive(Clone, Debug)]
struct Sccs {
    /// Component at each slot.
    comp: Vec<u32>,
    /// Slot of each component (the inverse of `comp`).
    slot: Vec<u32>,
    /// SCC `s` holds slots `start[s]..start[s + 1]`.
    start: Vec<u32>,
}

impl Sccs {
    /// Tarjan's algorithm with an explicit stack (deep chains cannot overflow the call stack).
    /// It completes an SCC only after every SCC its members feed, so numbering SCCs backwards
    /// from the last completed gives a topological order directly. Also says, by SCC, which are
    /// loops (several members, or one that feeds itself).
    fn new(consumers: &Consumers) -> (Self, Vec<bool>) {
        const UNSEEN: u32 = u32::MAX;
        const DONE: u32 = 1 << 31;
        let n = consumers.start.len() - 1;
        let (off, adj) = (&consumers.start, &consumers.list);
        // Whether each vertex feeds itself, found while its edges are read in order.
        let self_loop = |v: usize| adj[off[v] as usize..off[v + 1] as usize].contains(&small(v));
        // By completion number: whether the SCC is a loop.
        let mut cyclic: Vec<bool> = Vec::new();
        // Per vertex, in one place so that an edge costs one memory read: its DFS index and
        // low-link while it is on the stack, `UNSEEN` before it is visited, and `DONE` plus the
        // completion number of its SCC once that is complete.
        let mut state = vec![[UNSEEN, 0u32]; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut count = 0;
        let mut next = 0;
        // (vertex, position of its next edge in `adj`)
        let mut calls: Vec<(u32, u32)> = Vec::new();
        // Vertices in the order their depth-first search finishes.
        let mut finished: Vec<u32> = Vec::with_capacity(n);
        // Each edge reads its head's state, a random place in a table larger than the caches,
        // and the search waits for it before going on; entering a head then reads where its
        // edges start. Reading both for all of a vertex's heads when the search enters it lets
        // those waits overlap (only caches change): Tarjan's search at 1M went from about
        // 135 ms to 110 ms, less than the tables built meanwhile on the other core take.
        let touch = |state: &[[u32; 2]], v: usize| {
            for &w in &adj[off[v] as usize..off[v + 1] as usize] {
                std::hint::black_box((state[w as usize][0], off[w as usize]));
            }
        };
        for root in 0..n {
            if state[root][0] != UNSEEN {
                continue;
            }
            touch(&state, root);
            state[root] = [next, next];
            next += 1;
            stack.push(small(root));
            calls.push((small(root), off[root]));
            while let Some(top) = calls.len().checked_sub(1) {
                let (v, e) = calls[top];
                let v = v as usize;
                if e < off[v + 1] {
                    calls[top].1 += 1;
                    let w = adj[e as usize] as usize;
                    let [index, _] = state[w];
                    if index == UNSEEN {
                        touch(&state, w);
                        state[w] = [next, next];
                        next += 1;
                        stack.push(small(w));
                        calls.push((small(w), off[w]));
                    } else if index & DONE == 0 {
                        // On the stack.
                        state[v][1] = state[v][1].min(index);
                    }
                    continue;
                }
                calls.pop();
                finished.push(small(v));
                let [index, low] = state[v];
                if let Some(&(u, _)) = calls.last() {
                    let u = u as usize;
                    state[u][1] = state[u][1].min(low);
                }
                if low == index {
                    let mut members = 0;
                    while let Some(w) = stack.pop() {
                        let w = w as usize;
                        state[w][0] = DONE | count;
                        members += 1;
                        if w == v {
                            break;
                        }
                    }
                    cyclic.push(members > 1 || self_loop(v));
                    count += 1;
                }
            }
        }
        // Number SCCs in reverse completion order, and give components their slots: grouped by
        // SCC, in reverse finishing order within each. That order is topological once the edges
        // that close loops are left out, so a loop's worklist mostly evaluates a member after
        // the members that feed it.
        let done: Vec<u32> = state
            .iter()
            .map(|&[d, _]| count - 1 - (d & !DONE))
            .collect();
        drop(state);
        cyclic.reverse();
        let count = count as usize;
        let mut start = vec![0u32; count + 1];
        for &d in &done {
            start[d as usize + 1] += 1;
        }
        for s in 0..count {
            start[s + 1] += start[s];
        }
        let mut fill = start.clone();
        let mut comp = vec![0u32; n];
        let mut slot = vec![0u32; n];
        for &v in finished.iter().rev() {
            let v = v as usize;
            let at = &mut fill[done[v] as usize];
            comp[*at as usize] = small(v);
            slot[v] = *at;
            *at += 1;
        }
        (Sccs { comp, slot, start }, cyclic)
    }

    /// Number of SCCs.
    fn len(&self) -> usize {
        self.start.len() - 1
    }

    /// The first slot of SCC `s`; the number of slots for `s` = [`Sccs::len`].
    fn first(&self, s: usize) -> usize {
        self.start[s] as usize
    }

    /// The slots of SCC `s` (never empty).
    fn members(&self, s: usize) -> std::ops::Range<usize> {
        self.start[s] as usize..self.start[s + 1] as usize
    }

    /// The slot of component `c`.
    fn slot(&self, c: usize) -> usize {
        self.slot[c] as usize
    }

    /// The component at slot `u`.
    fn comp(&self, u: usize) -> usize {
        self.comp[u] as usize
    }
}

/// The reference semantics: evaluate every component in index order until nothing changes.
/// Quadratic; used by tests to check [`solve`]. Labels are indexed by port, as in [`State`];
/// the events are those of evaluating every component once more, in index order, at the
/// fixpoint (what [`State::events`] holds); the loop events are each loop's anomalies at its clean
/// fixpoint that the fixpoint does not show (what [`State::loop_events`] holds).
pub fn naive(solver: &mut Solver<'_>) -> (Vec<Lbl>, Vec<Event>, Vec<Event>) {
    let mut labels = vec![Lbl::Bot; solver.ports()];
    let all = |_: usize| true;
    naive_iterate(solver, &mut labels, all, false);
    let mut events = Vec::new();
    let mut buf = Vec::new();
    for c in 0..solver.topology.components.len() {
        let u = solver.tables.sccs.slot(c);
        solver.evaluate(u, &labels, &mut buf, Some(&mut events), false);
    }
    let loop_events = naive_loop_events(solver, &labels, &events);
    (labels, events, loop_events)
}

/// Evaluates the components whose slot `within` accepts, in index order, until no label of
/// theirs rises (clean evaluations with `clean`).
fn naive_iterate(
    solver: &mut Solver<'_>,
    labels: &mut [Lbl],
    within: impl Fn(usize) -> bool,
    clean: bool,
) {
    let mut buf = Vec::new();
    let mut changed = true;
    while changed {
        changed = false;
        for c in 0..solver.topology.components.len() {
            let u = solver.tables.sccs.slot(c);
            if !within(u) {
                continue;
            }
            solver.evaluate(u, labels, &mut buf, None, clean);
            for (oi, &(l, _)) in buf.iter().enumerate() {
                let port = solver.tables.base[u] + oi;
                let new = labels[port].join(l);
                if new != labels[port] {
                    labels[port] = new;
                    changed = true;
                }
            }
        }
    }
}

/// The reference for the anomalies loops originate (SPEC §5), given the fixpoint `labels` and
/// its `events`: for each loop, its clean fixpoint from ⊥ with everything else at the
/// fixpoint, then each member evaluated there as written; the anomalies seen that `events` does
/// not hold, sorted.
fn naive_loop_events(solver: &mut Solver<'_>, labels: &[Lbl], events: &[Event]) -> Vec<Event> {
    let mut seen = Vec::new();
    let mut buf = Vec::new();
    for s in 0..solver.tables.sccs.len() {
        if !solver.tables.cyclic[s] {
            continue;
        }
        let members = solver.tables.sccs.members(s);
        let mut clean = labels.to_vec();
        let ports = solver.tables.base[members.start]..solver.tables.base[members.end];
        clean[ports].fill(Lbl::Bot);
        naive_iterate(solver, &mut clean, |u| members.contains(&u), true);
        for c in 0..solver.topology.components.len() {
            let u = solver.tables.sccs.slot(c);
            if members.contains(&u) {
                solver.evaluate(u, &clean, &mut buf, Some(&mut seen), false);
            }
        }
    }
    let mut out: Vec<Event> = seen
        .into_iter()
        .filter(|e| matches!(e, Event::Anomaly { .. }) && !events.contains(e))
        .collect();
    out.sort_by_key(anomaly_order);
    out.dedup();
    out
}

/// The order of [`State::loop_events`]: by component, path and rule.
fn anomaly_order(e: &Event) -> (usize, usize, Rule) {
    match *e {
        Event::Anomaly {
            component,
            path,
            rule,
        } => (component, path, rule),
        _ => (e.component(), 0, Rule::Pass),
    }
}
