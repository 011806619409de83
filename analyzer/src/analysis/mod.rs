//! Label inference (SPEC §3–§5): the lattice, the rule table, the fixpoint, and derivations.

pub mod fixpoint;
pub mod lattice;
pub mod rules;

use std::sync::Arc;

use blazes_annotations::Label;

use fixpoint::Solver;
pub use fixpoint::{Event, Ordering, Step, Why};
use lattice::{Interner, Lbl};
use rules::Rule;

use crate::model::{Port, Topology};
use crate::report::Derivation;

/// The result of inference: a label and a reason for every output interface.
#[derive(Clone, Debug)]
pub struct Analysis {
    tables: fixpoint::Tables,
    state: fixpoint::State,
}

/// Analyzes a topology as written.
pub fn analyze(topology: &Topology) -> Analysis {
    analyze_with(topology, None)
}

/// Analyzes a topology with plan remedies applied (one entry per component).
pub fn analyze_with(topology: &Topology, overrides: Option<Vec<Option<Ordering>>>) -> Analysis {
    let mut solver = Solver::new(topology, overrides);
    let state = fixpoint::solve(&mut solver);
    Analysis {
        tables: solver.tables,
        state,
    }
}

/// [`analyze`] here and, at once on a second thread, the planning sweep of
/// [`Analysis::coordinated`] on its result: the sweep follows the analysis SCC by SCC as they
/// are solved (handed on at least every `chunk` ports), so the two overlap. `strategy` orders a
/// component given whether it acts replicated; `found` is told the origins as
/// [`Analysis::coordinated`] tells them, and dropped when the sweep ends. Once the sweep is
/// over, `after_sweep` runs on its thread with the plan's analysis, the origins and a way to wait
/// for the analysis as written (`None` only when this thread failed); `after_solve` runs here
/// once the analysis is solved. Returns the analysis and what the two gave.
pub fn analyze_coordinated<R: Send, M>(
    topology: &Topology,
    chunk: usize,
    strategy: &(dyn Fn(bool) -> Ordering + Sync),
    mut found: impl FnMut(&[(usize, usize)]) + Send,
    after_sweep: impl for<'a> FnOnce(
        Analysis,
        Vec<(usize, usize)>,
        &'a (dyn Fn() -> Option<&'a Analysis> + 'a),
    ) -> R
    + Send,
    after_solve: impl FnOnce(&Analysis) -> M,
) -> (Analysis, R, M) {
    let mut solver = Solver::new(topology, None);
    let tables = solver.tables.clone();
    let solved = std::sync::OnceLock::new();
    let (progress, follow) = std::sync::mpsc::channel();
    // Closed once the analysis is set (or this thread fails): what the sweep's thread waits on.
    let (ready, wait) = std::sync::mpsc::channel::<()>();
    let (swept, after_solve) = std::thread::scope(|scope| {
        let solved = &solved;
        let sweep = scope.spawn(move || {
            let mut sweeper = Solver::resume(topology, tables);
            let fixed = sweeper.tables.fixed();
            let strategy = |c: usize| strategy(fixed.acts_replicated(c));
            let mut next = || follow.recv().ok();
            let (state, origins) =
                fixpoint::plan_following(&mut sweeper, &strategy, &mut found, &mut next);
            drop(found);
            let after = Analysis {
                tables: sweeper.tables,
                state,
            };
            after_sweep(after, origins, &|| {
                let _ = wait.recv();
                solved.get()
            })
        });
        let state = fixpoint::solve_publishing(&mut solver, chunk, &mut |p| {
            // The sweep stops early only by panicking, which the join passes on.
            let _ = progress.send(p);
        });
        drop(progress);
        let analysis = solved.get_or_init(|| Analysis {
            tables: solver.tables,
            state,
        });
        drop(ready);
        let after_solve = after_solve(analysis);
        let swept = sweep
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (swept, after_solve)
    });
    let Some(analysis) = solved.into_inner() else {
        unreachable!("the analysis is set before the scope ends")
    };
    (analysis, swept, after_solve)
}

/// Labels computed by the naive reference iteration, the events of evaluating every
/// component at its fixpoint, and the anomalies loops originate that the fixpoint does not
/// show (for tests of the fixpoint), with optional plan remedies as in [`analyze_with`].
#[doc(hidden)]
pub fn naive(
    topology: &Topology,
    overrides: Option<Vec<Option<Ordering>>>,
) -> (Vec<Label>, Vec<Event>, Vec<Event>) {
    let mut solver = Solver::new(topology, overrides);
    let (labels, events, loop_events) = fixpoint::naive(&mut solver);
    let labels = solver
        .tables
        .ports_in_component_order()
        .map(|port| solver.tables.interner.external(labels[port]))
        .collect();
    (labels, events, loop_events)
}

impl Analysis {
    /// Whether component `c` acts replicated, as [`crate::model::Component::acts_replicated`]
    /// says, read from the analysis's tables: the plan asks for each of hundreds of thousands
    /// of components, where reading each one's inputs would wait for memory.
    pub fn acts_replicated(&self, c: usize) -> bool {
        self.tables.acts_replicated(c)
    }

    /// The index of a port among all ports, component by component.
    pub fn port_index(&self, p: Port) -> usize {
        self.tables.port_index(p)
    }

    /// The coordination plan's analysis (SPEC §6): this one (of `topology`) with every component
    /// that still originates an anomaly, once everything upstream of it is coordinated, ordered
    /// as `strategy` says ([`fixpoint::plan`]; only what the orderings change is solved again).
    /// Returns it, equal to [`analyze_with`] given those orderings, and the origins as sorted
    /// `(component, path)` pairs; `found` is told them as they are found, in batches that each
    /// hold all the origins of their components.
    pub fn coordinated(
        &self,
        topology: &Topology,
        strategy: &dyn Fn(usize) -> Ordering,
        found: &mut fixpoint::Found<'_>,
    ) -> (Analysis, Vec<(usize, usize)>) {
        let mut solver = Solver::resume(topology, self.tables.clone());
        let mut state = self.state.clone();
        let origins = fixpoint::plan(&mut solver, &mut state, strategy, found);
        let analysis = Analysis {
            tables: solver.tables,
            state,
        };
        (analysis, origins)
    }

    /// What the evaluation of each component at the fixpoint observed, in component order,
    /// without the anomalies seen only while iterating loops (for tests of the fixpoint).
    #[doc(hidden)]
    pub fn fixpoint_events(&self) -> &[Event] {
        &self.state.events
    }

    /// The anomalies loops originate that their fixpoint does not show, sorted (for tests of
    /// the fixpoint).
    #[doc(hidden)]
    pub fn loop_events(&self) -> &[Event] {
        &self.state.loop_events
    }

    /// What the evaluation of each component at the fixpoint observed (anomalies, consumed
    /// seals, …), in component order, then anomalies seen only while iterating loops.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.state.events.iter().chain(&self.state.loop_events)
    }

    /// Field sets and compatibility for this topology.
    pub fn interner(&self) -> &Interner {
        &self.tables.interner
    }

    /// The inference label of an output (`Bot` when no source reaches it).
    pub fn lbl(&self, p: Port) -> Lbl {
        self.state.labels[self.port_index(p)]
    }

    /// The external label of an output; an unreached stream reads as `Async`.
    pub fn label(&self, p: Port) -> Label {
        self.tables.interner.external(self.lbl(p))
    }

    /// All labels, port by port in component order (for comparisons in tests).
    pub fn all_labels(&self) -> Vec<Label> {
        self.tables
            .ports_in_component_order()
            .map(|port| self.tables.interner.external(self.state.labels[port]))
            .collect()
    }

    /// Why an output has its label.
    pub fn why(&self, p: Port) -> Why {
        self.state.whys[self.port_index(p)]
    }

    /// Where an output's label was passed on from unchanged (rule p): the output feeding its
    /// deciding path; `None` when some other step decided it.
    pub fn passed_from(&self, p: Port) -> Option<Port> {
        let port = self.port_index(p);
        self.tables
            .passed_from(port, self.state.whys[port])
            .map(|i| self.tables.port_at(i))
    }

    /// [`Analysis::passed_from`] of every port at once, in port index order: each port, and the
    /// index of the port its label was passed on from, if it was. For walks along many chains,
    /// which then read one small array.
    pub fn pass_sources(&self) -> impl Iterator<Item = (Port, Option<usize>)> + '_ {
        self.tables.pass_sources(&self.state.whys)
    }

    /// The number of ports (outputs) in the topology.
    pub fn ports(&self) -> usize {
        self.state.whys.len()
    }

    /// The ports of the components in loops, as ranges of port indices (see
    /// [`Analysis::port_index`]), one per loop. Ports are numbered in topological order
    /// outside loops: every other port comes after the ports its component reads.
    pub fn loop_ports(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        self.tables.loop_ports()
    }

    /// The port with index `index` (see [`Analysis::port_index`]).
    pub fn port_at(&self, index: usize) -> Port {
        self.tables.port_at(index)
    }

    /// The outputs a plan must not leave as they are (SPEC §6): `Inst` or `Diverge`, or `Run`
    /// where no dynamic ordering is at or upstream of the component. In port order.
    pub fn unverified(&self) -> Vec<Port> {
        self.tables.unverified(&self.state.labels)
    }

    /// The remedy applied to a component when this analysis verified a plan.
    pub fn ordering(&self, component: usize) -> Option<Ordering> {
        self.tables.ordering(component)
    }

    /// The label of the stream feeding input `input` of component `component`.
    pub fn input_label(&self, t: &Topology, component: usize, input: usize) -> Label {
        self.label(t.producer(component, input))
    }

    /// Renders a label of the inference lattice.
    pub fn show(&self, l: Lbl) -> String {
        self.tables.interner.external(l).to_string()
    }

    fn gate_text(&self, t: &Topology, component: usize, path: usize) -> String {
        t.components[component].paths[path]
            .annotation
            .gate()
            .map_or_else(String::new, |g| format!("({g})"))
    }

    /// The derivation of an output's label: the chain of rules from a source to here, one step
    /// per line, source first. Its tables are the size of the topology: for the derivations of
    /// many outputs, use one [`Derivations`].
    pub fn derivation(&self, t: &Topology, port: Port) -> Vec<String> {
        Derivations::new(t, self)
            .of(port)
            .lines()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// The line of a derivation for `port`, the port it continues from upstream (none at a
    /// source or an unreached output), and whether the step keeps the label it was fed.
    fn derivation_step(&self, t: &Topology, cur: Port) -> (String, Option<Port>, bool) {
        let comp = &t.components[cur.component];
        let name = t.port_name(cur);
        let label = self.show(self.lbl(cur));
        let why = self.why(cur);
        let Some(pi) = why.path.map(|p| p as usize) else {
            let line = match why.step {
                Step::Source => match comp.outputs[cur.output].seal.as_deref() {
                    Some((k, _)) => format!("`{name}` is a source sealed on ({k}): {label}"),
                    None => format!("`{name}` is a source without a seal: {label}"),
                },
                Step::Unreached => format!("`{name}` is reached by no path: {label}"),
                _ => format!("`{name}` is reached by no source: {label}"),
            };
            return (line, None, false);
        };
        let path = &comp.paths[pi];
        let input = &comp.inputs[path.input];
        let out_name = &comp.outputs[path.output].name;
        let in_label = self.show(self.lbl(input.from));
        let rep = comp.acts_replicated();
        let head = format!(
            "`{}`: {} -> {} is {}, fed {} from `{}`",
            comp.name,
            input.name,
            out_name,
            t.annotation_text(cur.component, pi),
            in_label,
            t.port_name(input.from)
        );
        let gate = self.gate_text(t, cur.component, pi);
        let step = match why.step {
            Step::Pass => format!("{head}; rule p passes it on: `{name}` is {label}"),
            Step::SealsMeet => {
                format!("{head}; different seals meet and join: `{name}` is {label}")
            }
            Step::SealConsumed => format!(
                "{head}; rule 4′ consumes the compatible seal (seal barrier): `{name}` is {label}"
            ),
            Step::ProtectedRead => format!(
                "{head}; the read is protected by sealed write paths (seal barrier): `{name}` \
                 is {label}"
            ),
            Step::Taint(rule) => format!(
                "{head}; {} gives Taint; {}R1 gives {label} for `{name}`",
                rule.name(),
                if rep {
                    format!("`{}` is replicated, so ", comp.name)
                } else {
                    String::new()
                }
            ),
            Step::NDRead(rule) => {
                let reason = self.unprotected_reason(t, cur.component, pi);
                format!(
                    "{head}; {} gives NDRead{gate}, not protected ({reason}); {}R2 gives \
                     {label} for `{name}`",
                    rule.name(),
                    if rep {
                        format!("`{}` is replicated, so ", comp.name)
                    } else {
                        String::new()
                    }
                )
            }
            Step::Guard => format!(
                "{head}; the soundness guard keeps the input's {in_label}: `{name}` is {label}"
            ),
            Step::DynamicOrder => format!(
                "{head}; a dynamic order leaves cross-run nondeterminism: `{name}` is {label}"
            ),
            Step::DeclaredSeal => {
                format!("{head}; `{name}` declares its seal: {label}")
            }
            Step::Lost => {
                format!("{head}; the seal is lost because `{name}` does not carry its key: {label}")
            }
            Step::Source | Step::Unreached | Step::Unknown => {
                format!("{head}: {label}")
            }
        };
        (
            step,
            Some(input.from),
            self.lbl(cur) == self.lbl(input.from),
        )
    }

    /// The write paths of `component` that are not fed a seal compatible with the gate of the
    /// read `path`: the reasons the read is not protected.
    pub fn unprotecting_writes(&self, t: &Topology, component: usize, path: usize) -> Vec<usize> {
        let comp = &t.components[component];
        let gate = self.tables.gate(component, path);
        comp.paths
            .iter()
            .enumerate()
            .filter(|(_, p)| p.annotation.is_write())
            .filter(|(wi, p)| match self.lbl(comp.inputs[p.input].from) {
                Lbl::Seal(k) => {
                    !self.tables.interner.is_compatible(gate, k)
                        || (p.annotation.is_order_sensitive()
                            && !self
                                .tables
                                .interner
                                .is_compatible(self.tables.gate(component, *wi), k))
                }
                Lbl::Bot => false,
                _ => true,
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Why a read on `path` is not protected: the first write path not fed a compatible seal.
    pub fn unprotected_reason(&self, t: &Topology, component: usize, path: usize) -> String {
        let comp = &t.components[component];
        match self.unprotecting_writes(t, component, path).first() {
            Some(&w) => {
                let p = &comp.paths[w];
                let input = &comp.inputs[p.input];
                let label = self.lbl(input.from);
                let own = match label {
                    // Compatible with the read's gate, so the write's own gate is the problem.
                    Lbl::Seal(k)
                        if self
                            .tables
                            .interner
                            .is_compatible(self.tables.gate(component, path), k) =>
                    {
                        ", which does not seal its own gate, so its state depends on input order"
                    }
                    _ => "",
                };
                format!(
                    "write path {} -> {} ({}) is fed {}{own}",
                    input.name,
                    comp.outputs[p.output].name,
                    t.annotation_text(component, w),
                    self.show(label)
                )
            }
            None => "no write path is sealed".into(),
        }
    }
}

/// A port's step of a derivation: its line, the port it continues from upstream, and whether
/// it keeps the label it is fed.
#[derive(Clone)]
struct Rendered {
    line: Arc<str>,
    next: Option<Port>,
    keeps: bool,
}

/// Derivations of many outputs of one analysis. Chains from different outputs share their
/// upstream part: each step is rendered once, and each chain that ends at a source is built
/// once and shared by every output downstream of it.
pub struct Derivations<'a> {
    topology: &'a Topology,
    analysis: &'a Analysis,
    /// By port index: its rendered step, the port upstream of it and whether the step keeps
    /// the label, once rendered. Dense, since the findings of a large topology ask for most
    /// ports' steps.
    steps: Vec<Option<Rendered>>,
    /// By port index, for a port whose chain ends at a source (not in a loop): the whole chain.
    chains: Vec<Option<Derivation>>,
    /// By port index: the number of the last walk that reached the port (a walk that reaches a
    /// port twice has gone round a loop).
    walked: Vec<u32>,
    /// Walks so far.
    walks: u32,
}

impl<'a> Derivations<'a> {
    /// Derivations of `analysis`, an analysis of `topology`.
    pub fn new(topology: &'a Topology, analysis: &'a Analysis) -> Self {
        let ports = analysis.state.labels.len();
        Derivations {
            topology,
            analysis,
            steps: vec![None; ports],
            chains: vec![None; ports],
            walked: vec![0; ports],
            walks: 0,
        }
    }

    /// The rendered step of a port.
    fn step(&mut self, p: Port) -> Rendered {
        let (topology, analysis) = (self.topology, self.analysis);
        self.steps[analysis.port_index(p)]
            .get_or_insert_with(|| {
                let (line, next, keeps) = analysis.derivation_step(topology, p);
                Rendered {
                    line: Arc::from(line),
                    next,
                    keeps,
                }
            })
            .clone()
    }

    /// The derivation of an output's label: the chain of rules from a source to here, one step
    /// per line, source first; a loop ends the chain where it closes.
    pub fn of(&mut self, port: Port) -> Derivation {
        // Walk upstream to a port whose chain is known, to a source, or round a loop.
        if self.walks == u32::MAX {
            self.walked.fill(0);
            self.walks = 0;
        }
        self.walks += 1;
        let mut walk = Vec::new();
        let mut start = Derivation::default();
        let mut cur = Some(port);
        let mut closes = None;
        while let Some(p) = cur {
            let i = self.analysis.port_index(p);
            if let Some(known) = &self.chains[i] {
                start = known.clone();
                break;
            }
            if self.walked[i] == self.walks {
                closes = Some(p);
                break;
            }
            self.walked[i] = self.walks;
            let Rendered { line, next, keeps } = self.step(p);
            walk.push((i, line, keeps));
            cur = next;
        }
        if let Some(p) = closes {
            // The first line depends on where this walk closes its loop: not shared.
            let mut d = Derivation::default().then(Arc::from(format!(
                "`{}` is fed back into the loop below ({})",
                self.topology.port_name(p),
                self.analysis.show(self.analysis.lbl(p))
            )));
            for (_, line, keeps) in walk.into_iter().rev() {
                d = d.then_step(line, keeps);
            }
            return d;
        }
        for (i, line, keeps) in walk.into_iter().rev() {
            start = start.then_step(line, keeps);
            self.chains[i] = Some(start.clone());
        }
        start
    }
}

/// True for rules that originate an anomaly (as opposed to inheriting one): 1, 1′, 2 and 4.
pub fn originates(rule: Rule) -> bool {
    matches!(rule, Rule::R1 | Rule::R1Seal | Rule::R2 | Rule::R4)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn the_tables_say_which_components_act_replicated_as_the_components_do() {
        let t = crate::load::load_str(
            "t.yaml",
            "components:\n  src: {}\n  \
             plain: { inputs: [src], label: CW }\n  \
             declared: { inputs: [src], label: CW, replicated: true }\n  \
             fed_all: { inputs: { a: { from: src, grouping: all } }, label: CW, parallelism: 2 }\n  \
             alone: { inputs: { a: { from: src, grouping: all } }, label: CW }\n",
        )
        .unwrap();
        let a = super::analyze(&t);
        let replicated: Vec<&str> = (0..t.components.len())
            .filter(|&c| a.acts_replicated(c))
            .map(|c| t.components[c].name.as_str())
            .collect();
        assert_eq!(replicated, ["declared", "fed_all"]);
        for (c, comp) in t.components.iter().enumerate() {
            assert_eq!(
                a.acts_replicated(c),
                comp.acts_replicated(),
                "{}",
                comp.name
            );
        }
    }

    #[test]
    fn run_anywhere_downstream_of_a_dynamic_ordering_in_a_loop_is_accepted() {
        // `a` and `b` form a loop that `src` feeds unordered into `a`'s order-sensitive path,
        // so every stream from `a` on is `Run`; `d` reads `a` and `c` reads `b`. With `b`
        // ordered dynamically, every one of them is downstream of that ordering (`d` by way of
        // `a`), so none is rejected; without it, all are.
        let t = crate::load::load_str(
            "t.yaml",
            "components:\n  src: {}\n  \
             a: { inputs: { i: src, j: b }, label: OW(x) }\n  \
             b: { inputs: { i: a }, label: CR }\n  \
             c: { inputs: { i: b }, label: CR }\n  \
             d: { inputs: { i: a }, label: CR }\n",
        )
        .unwrap();
        let c = |name: &str| t.components.iter().position(|c| c.name == name).unwrap();
        let names = |ports: Vec<crate::model::Port>| -> Vec<String> {
            ports.into_iter().map(|p| t.port_name(p)).collect()
        };
        let plain = super::analyze(&t);
        assert_eq!(
            names(plain.unverified()),
            ["a.out", "b.out", "c.out", "d.out"]
        );
        let mut overrides = vec![None; t.components.len()];
        overrides[c("b")] = Some(super::Ordering::Dynamic);
        let ordered = super::analyze_with(&t, Some(overrides));
        for name in ["a", "b", "c", "d"] {
            let label = ordered.label(crate::model::Port {
                component: c(name),
                output: 0,
            });
            assert_eq!(label, blazes_annotations::Label::Run, "{name}");
        }
        assert_eq!(names(ordered.unverified()), Vec::<String>::new());
    }
}
