//! Executable semantics: runs an annotated topology under many delivery schedules and reports
//! the nondeterminism it can actually exhibit.
//!
//! Each annotation class has a reference model (`engine.rs`): `CR` passes the record on (a pure
//! function); `CW` inserts it into a set and passes it on; `OW(g)` folds it into a hash chain of
//! its gate partition and emits the fold (order-dependent within a partition, independent across
//! partitions); `OR(g)` answers from the current state of the component's write paths within
//! its partition (how many write records it saw and a digest of them), so the answer depends on
//! how reads interleave with writes. Sources emit a few deterministic records with small field
//! domains. Channels are unordered; parallel instances split records by grouping; replicas each
//! receive every record in their own order, and each consumer instance listens to one replica.
//! Seal barriers sit where the analyzer consumes a seal (rule 4′, protected reads), provided the
//! simulator itself sees the stream punctuated on that key; a barrier holds records until the
//! seal arrives (when everything upstream is quiescent), then releases each partition sorted.
//!
//! Observed per stream: contents that differ between schedules (`Run`), between replicas in one
//! schedule (`Inst`), and replica state that stays different (`Diverge`).
//!
//! ```
//! let yaml = "components:\n  src: {}\n  count: { inputs: [src], label: OW(word) }\n";
//! let report = blazes::check_str("t.yaml", yaml, &Default::default()).unwrap();
//! let sim = blazes::simulate::simulate(&report.topology, &report.analysis, &Default::default());
//! let count = report.topology.component_index("count").unwrap();
//! assert_eq!(sim.observed(count, 0), Some(blazes::annotations::Label::Run));
//! ```

pub mod choice;
pub mod engine;

use blazes_annotations::Label;
use serde::Serialize;

use crate::analysis::Analysis;
use crate::model::{Port, Topology};
use choice::Chooser;
use engine::{Bounds, Plan, Record, RunResult};

/// Bounds and schedule counts of a simulation.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Records emitted by each source output.
    pub records: usize,
    /// Values per field (`0..domain`).
    pub domain: u64,
    /// Exhaustive enumeration is tried first, up to this many schedules; when the schedule
    /// space is larger, random schedules follow.
    pub exhaustive: usize,
    /// Random schedules (after an incomplete exhaustive enumeration).
    pub schedules: usize,
    /// Seed of the random schedules and of the source data.
    pub seed: u64,
    /// Loop bound: a record that crossed this many components is dropped (`None`: number of
    /// components + 2).
    pub max_hops: Option<u32>,
    /// Deliveries per run before the run is abandoned (it then counts as truncated).
    pub max_messages: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            records: 3,
            domain: 2,
            exhaustive: 2_000,
            schedules: 200,
            seed: 0,
            max_hops: None,
            max_messages: 5_000,
        }
    }
}

/// What the simulator saw on one stream (an output interface).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortObservation {
    /// Contents differed between two schedules.
    pub run: bool,
    /// Contents differed between two replicas in one schedule.
    pub inst: bool,
    /// The state of the write paths into this output differed between replicas at the end.
    pub diverge: bool,
}

impl PortObservation {
    /// The most severe label observed, or `None` when every schedule agreed.
    pub fn label(&self) -> Option<Label> {
        if self.diverge {
            Some(Label::Diverge)
        } else if self.inst {
            Some(Label::Inst)
        } else if self.run {
            Some(Label::Run)
        } else {
            None
        }
    }
}

/// The result of a simulation.
#[derive(Debug)]
pub struct Simulation {
    /// Per component, per output.
    pub ports: Vec<Vec<PortObservation>>,
    /// Schedules run (truncated runs excluded).
    pub schedules: usize,
    /// True when every schedule within the bounds was enumerated.
    pub exhaustive: bool,
    /// Some run abandoned at the message bound (its results are not counted).
    pub truncated: usize,
    /// Some record arrived after its seal (a seal promise the topology cannot keep, e.g. in a
    /// loop): results downstream of it are not trustworthy.
    pub late: bool,
    /// Seal sites the analyzer relies on that the simulator cannot back with punctuations.
    pub unbacked: Vec<String>,
}

impl Simulation {
    /// The most severe label observed on an output (`None`: deterministic in every schedule).
    pub fn observed(&self, component: usize, output: usize) -> Option<Label> {
        self.ports
            .get(component)
            .and_then(|c| c.get(output))
            .and_then(PortObservation::label)
    }
}

fn bounds(config: &Config) -> Bounds {
    Bounds {
        records: config.records,
        domain: config.domain,
        max_hops: config.max_hops,
        max_messages: config.max_messages,
        data_seed: config.seed,
    }
}

/// Runs every schedule of the configuration and calls `each` with each result that was not
/// truncated, until `each` returns false or the runs have delivered `budget` messages in all
/// (truncated runs count), or until a run is truncated: with `stop_truncated` any run, else
/// one before any run completed. (How many messages a run needs hardly depends on its
/// schedule: when the first run is cut off, the others would be too.) Returns (schedules run,
/// exhaustive, truncated runs).
fn for_schedules(
    plan: &Plan<'_>,
    config: &Config,
    keep_logs: bool,
    budget: &mut usize,
    stop_truncated: bool,
    mut each: impl FnMut(&RunResult) -> bool,
) -> (usize, bool, usize) {
    let mut runs = 0;
    let mut truncated = 0;
    // One run; false when the search should stop.
    let mut one = |ch: &mut Chooser| {
        let r = engine::run(plan, ch, keep_logs);
        *budget = budget.saturating_sub(r.delivered);
        if r.truncated {
            truncated += 1;
            if stop_truncated || runs == 0 {
                return false;
            }
        } else {
            runs += 1;
            if !each(&r) {
                return false;
            }
        }
        *budget > 0
    };
    let mut ch = Chooser::exhaustive();
    for _ in 0..config.exhaustive.max(1) {
        if !one(&mut ch) {
            return (runs, false, truncated);
        }
        if !ch.advance() {
            return (runs, true, truncated);
        }
    }
    for s in 0..config.schedules {
        let mut ch = Chooser::random(choice::mix(config.seed ^ (s as u64 + 1)));
        if !one(&mut ch) {
            break;
        }
    }
    (runs, false, truncated)
}

/// Simulates a topology with the seal barriers its analysis relies on.
pub fn simulate(t: &Topology, a: &Analysis, config: &Config) -> Simulation {
    let plan = Plan::new(t, a, &bounds(config));
    let mut ports: Vec<Vec<PortObservation>> = t
        .components
        .iter()
        .map(|c| vec![PortObservation::default(); c.outputs.len()])
        .collect();
    let mut first: Option<Vec<Vec<Vec<Record>>>> = None;
    let mut late = false;
    let mut unbounded = usize::MAX;
    let (schedules, exhaustive, truncated) =
        for_schedules(&plan, config, false, &mut unbounded, false, |r| {
            late |= r.late;
            for (ci, outs) in r.outputs.iter().enumerate() {
                for (oi, per_inst) in outs.iter().enumerate() {
                    let obs = &mut ports[ci][oi];
                    let content = content(&plan, ci, per_inst);
                    if plan.replicated[ci] && per_inst.windows(2).any(|w| w[0] != w[1]) {
                        obs.inst = true;
                    }
                    if plan.replicated[ci] && r.states[ci][oi].windows(2).any(|w| w[0] != w[1]) {
                        obs.diverge = true;
                    }
                    if let Some(f) = &first
                        && f[ci][oi] != content
                    {
                        obs.run = true;
                    }
                }
            }
            if first.is_none() {
                first = Some(
                    r.outputs
                        .iter()
                        .enumerate()
                        .map(|(ci, outs)| outs.iter().map(|p| content(&plan, ci, p)).collect())
                        .collect(),
                );
            }
            true
        });
    Simulation {
        ports,
        schedules,
        exhaustive,
        truncated,
        late,
        unbacked: plan.unbacked.clone(),
    }
}

/// The contents of a stream in one run: the first replica's output for a replicated producer,
/// else every instance's output merged.
fn content(plan: &Plan<'_>, ci: usize, per_inst: &[Vec<Record>]) -> Vec<Record> {
    if plan.replicated[ci] {
        per_inst.first().cloned().unwrap_or_default()
    } else {
        let mut all: Vec<Record> = per_inst.iter().flatten().cloned().collect();
        all.sort_unstable();
        all
    }
}

/// A concrete demonstration of nondeterminism at a component: two delivery orders of its inputs
/// and the two different outputs they produce.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witness {
    /// The component.
    pub component: String,
    /// The output whose contents differ, as `component.output`.
    pub output: String,
    /// `schedules` (two runs) or `replicas` (two replicas in one run).
    pub between: &'static str,
    /// The two delivery orders, each as `input(record)` strings in delivery order.
    pub orders: [Vec<String>; 2],
    /// The two outputs, each as the sorted records emitted on `output`.
    pub outputs: [Vec<String>; 2],
}

impl Witness {
    /// Human lines: the two orders and what each produced. Deliveries both orders start or end
    /// with are left out, and so are the records both outputs hold when the outputs are long,
    /// so that a witness found deep in a topology still reads as the difference it shows.
    pub fn lines(&self) -> Vec<String> {
        let what = if self.between == "replicas" {
            "two replicas in one run"
        } else {
            "two runs"
        };
        let [a, b] = &self.orders;
        let mut sorted = [a.clone(), b.clone()];
        sorted.iter_mut().for_each(|o| o.sort_unstable());
        let inputs = if sorted[0] == sorted[1] {
            "the same inputs in two orders"
        } else {
            // Possible between runs: what reaches the component already differs, from upstream
            // or from around a loop through the component itself.
            "inputs that already differ on arrival (upstream or around a loop), in two orders,"
        };
        let mut out = vec![format!(
            "witness ({what}): {inputs} give different `{}`",
            self.output
        )];
        let (head, tail) = crate::slices::common_ends(a, b);
        let count = |n: usize| format!("{n} deliver{}", if n == 1 { "y" } else { "ies" });
        match (head, tail) {
            (0, 0) => {}
            (h, 0) => out.push(format!("(both start with the same {}, left out)", count(h))),
            (0, t) => out.push(format!("(both end with the same {}, left out)", count(t))),
            (h, t) => out.push(format!(
                "(both start with the same {} and end with the same {}, left out)",
                count(h),
                count(t)
            )),
        }
        let outputs = shown_outputs(&self.outputs);
        for (i, name) in ["A", "B"].iter().enumerate() {
            let order = &self.orders[i];
            let middle = &order[head..order.len() - tail];
            out.push(format!(
                "order {name}: {}",
                if middle.is_empty() {
                    "nothing more".to_string()
                } else {
                    capped(middle)
                }
            ));
            out.push(format!("  gives {}", outputs[i]));
        }
        out
    }
}

/// Items a witness line shows at most; JSON has them all.
const SHOWN_ITEMS: usize = 16;

/// A list of deliveries or records joined for a witness line, cut after [`SHOWN_ITEMS`].
fn capped<S: AsRef<str>>(items: &[S]) -> String {
    let mut text = items
        .iter()
        .take(SHOWN_ITEMS)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN_ITEMS {
        let _ = std::fmt::Write::write_fmt(
            &mut text,
            format_args!(
                ", … {} more (`--format json` has them all)",
                items.len() - SHOWN_ITEMS
            ),
        );
    }
    text
}

/// The records of `o` that the `balance` of two multisets (`o`'s side counted as `sign`) does
/// not cancel out.
fn only<'a>(
    o: &'a [String],
    balance: &std::collections::BTreeMap<&str, isize>,
    sign: isize,
) -> Vec<&'a str> {
    let mut left = balance.clone();
    let mut mine = Vec::new();
    for r in o {
        if let Some(n) = left.get_mut(r.as_str())
            && *n * sign > 0
        {
            *n -= sign;
            mine.push(r.as_str());
        }
    }
    mine
}

/// Outputs longer than this many records in all are shown as what they do not share.
const SHOWN_OUTPUTS: usize = 12;

/// The two outputs of a witness as text: whole when short, else the records each holds that
/// the other does not, and how many they share.
fn shown_outputs(outputs: &[Vec<String>; 2]) -> [String; 2] {
    let whole = |o: &[String]| {
        if o.is_empty() {
            "nothing".to_string()
        } else {
            capped(o)
        }
    };
    let [a, b] = outputs;
    if a.len() + b.len() <= SHOWN_OUTPUTS {
        return [whole(a), whole(b)];
    }
    // Records as a multiset: +1 for each in `a`, -1 for each in `b`.
    let mut balance: std::collections::BTreeMap<&str, isize> = std::collections::BTreeMap::new();
    for r in a {
        *balance.entry(r).or_default() += 1;
    }
    for r in b {
        *balance.entry(r).or_default() -= 1;
    }
    let (only_a, only_b) = (only(a, &balance, 1), only(b, &balance, -1));
    let shared = a.len() - only_a.len();
    let show = |mine: &[&str]| {
        let what = if mine.is_empty() {
            "nothing else".to_string()
        } else {
            capped(mine)
        };
        format!("{what} (and the {shared} records both give)")
    };
    [show(&only_a), show(&only_b)]
}

/// An instance index, its delivery log and its output in one run.
type Seen = (usize, Vec<(usize, Record)>, Vec<Record>);

/// Messages one witness search may deliver, over all its runs: the search is bounded by work,
/// not time, so its answer does not depend on the machine.
pub const WITNESS_BUDGET: usize = 200_000;

/// Messages one run of a witness search may deliver. How many messages a run delivers hardly
/// depends on its schedule, so the search ends at the first run that needs more: larger bounds
/// would need more still.
pub const WITNESS_RUN: usize = 5_000;

/// Searches for a witness at an output port: two delivery orders at the same instance (two
/// replicas of one run, or two runs) that give different contents. Small bounds are tried first
/// (one record per source, one value per field), so the witness is as short as possible. Only
/// the component and what feeds it are simulated ([`Topology::upstream_of`], analyzed on its
/// own), and the search stops after delivering [`WITNESS_BUDGET`] messages; `None` when no
/// witness turned up by then.
pub fn witness(whole: &Topology, port: Port) -> Option<Witness> {
    let (t, ci) = whole.upstream_of(port.component);
    let t = &t;
    let a = &crate::analysis::analyze(t);
    let port = Port {
        component: ci,
        output: port.output,
    };
    let mut budget = WITNESS_BUDGET;
    let tries = [(1usize, 1u64), (2, 1), (2, 2), (3, 2)];
    for (records, domain) in tries {
        if budget == 0 {
            break;
        }
        // A short enumeration, then random schedules: enumeration varies the last choices of a
        // run first, which rarely reorder what reaches the site (on a generated 1k topology,
        // with 20,000 messages per run, 50 enumerated schedules first found 74 witnesses in
        // less time than 3,000 took to find 59).
        let config = Config {
            records,
            domain,
            exhaustive: 50,
            schedules: 300,
            max_messages: WITNESS_RUN,
            ..Config::default()
        };
        let plan = Plan::new(t, a, &bounds(&config));
        let comp = &t.components[ci];
        // (instance, delivery log, output) of the distinct outputs seen so far.
        let mut seen: Vec<Seen> = Vec::new();
        let mut found: Option<Witness> = None;
        let render = |log: &[(usize, Record)], out: &[Record]| {
            (
                log.iter()
                    .map(|(i, r)| format!("{}{}", comp.inputs[*i].name, plan.show(r)))
                    .collect::<Vec<_>>(),
                out.iter().map(|r| plan.show(r)).collect::<Vec<_>>(),
            )
        };
        let (_, _, truncated) = for_schedules(&plan, &config, true, &mut budget, true, |r| {
            if r.late {
                return true;
            }
            let outs = &r.outputs[ci][port.output];
            let logs = &r.logs[ci];
            // Two replicas of this run.
            if plan.replicated[ci] {
                for (i, oi) in outs.iter().enumerate() {
                    for (j, oj) in outs.iter().enumerate().skip(i + 1) {
                        if oi != oj {
                            let (oa, xa) = render(&logs[i], oi);
                            let (ob, xb) = render(&logs[j], oj);
                            found = Some(Witness {
                                component: comp.name.to_string(),
                                output: t.port_name(port),
                                between: "replicas",
                                orders: [oa, ob],
                                outputs: [xa, xb],
                            });
                            return false;
                        }
                    }
                }
            }
            // Two runs, same instance.
            for (k, (log, out)) in logs.iter().zip(outs).enumerate() {
                if let Some((_, l0, o0)) = seen.iter().find(|(i, _, o)| *i == k && o != out) {
                    let (oa, xa) = render(l0, o0);
                    let (ob, xb) = render(log, out);
                    found = Some(Witness {
                        component: comp.name.to_string(),
                        output: t.port_name(port),
                        between: "schedules",
                        orders: [oa, ob],
                        outputs: [xa, xb],
                    });
                    return false;
                }
                if !seen.iter().any(|(i, _, o)| *i == k && o == out) {
                    seen.push((k, log.clone(), out.clone()));
                }
            }
            true
        });
        if found.is_some() {
            return found;
        }
        if truncated > 0 {
            // Larger bounds would only need more messages.
            break;
        }
    }
    None
}

/// Components a witness search simulates at most: a site fed by more is not searched. Real
/// topologies sit far below it; a site fed by a generated loop of thousands of components would
/// cost a copy and an analysis of that loop and, with the loop bound at the part's size, runs
/// that end at the message bound anyway.
pub const WITNESS_PART: usize = 1_000;

/// What the witness search gave at one order site.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Two orders that give different outputs.
    Found(Witness),
    /// No two orders differed within the bounds.
    Missed,
    /// Not searched: even one record per source brings the site at least this many messages,
    /// more than a run of the search may deliver ([`least_records`]).
    Crowded(u64),
    /// Not searched: the site is fed by more than [`WITNESS_PART`] components.
    Wide,
}

impl Outcome {
    /// The lines `lint --witness` shows under the order site's finding.
    pub fn lines(&self, component: &str) -> Vec<String> {
        vec![match self {
            Outcome::Found(w) => return w.lines(),
            Outcome::Missed => format!(
                "no witness within the simulator's bounds (up to 3 records per source and 2 \
                 values per field, {WITNESS_RUN} messages per run, {WITNESS_BUDGET} in all)"
            ),
            Outcome::Crowded(n) => format!(
                "no witness searched: even one record per source brings `{component}` at least \
                 {n} messages, more than a run of the search may deliver ({WITNESS_RUN})"
            ),
            Outcome::Wide => format!(
                "no witness searched: `{component}` is fed by more than {WITNESS_PART} \
                 components, more than the search simulates"
            ),
        }]
    }
}

/// The witnesses of a report's order sites, searched once for all of them (on two threads when
/// there are several).
///
/// Sites are skipped without simulating when even one record per source would bring them more
/// messages than a run of the search may deliver ([`least_records`]: the search would stop at
/// its first run), or when more than [`WITNESS_PART`] components feed them.
pub struct Witnesses {
    /// Per order site's component: what the search gave.
    by_component: std::collections::HashMap<usize, Outcome>,
}

impl Witnesses {
    /// Searches for a witness at every order site of `report`.
    pub fn new(report: &crate::Report) -> Self {
        let t = &report.topology;
        let least = least_records(t, 1, WITNESS_RUN as u64 + 1);
        let mut part = Part::new(t.components.len());
        let mut by_component = std::collections::HashMap::new();
        let mut sites: Vec<(usize, Port)> = Vec::new();
        for site in report.plan.order_sites() {
            let crate::plan::SiteKind::Order { paths, .. } = &site.kind else {
                continue;
            };
            let c = site.component;
            let Some(&first) = paths.first() else {
                continue;
            };
            let arriving: u64 = t.components[c]
                .inputs
                .iter()
                .map(|i| least[i.from.component][i.from.output])
                .fold(0, u64::saturating_add);
            let skipped = if arriving > WITNESS_RUN as u64 {
                Some(Outcome::Crowded(arriving))
            } else if !part.within(t, c, WITNESS_PART) {
                Some(Outcome::Wide)
            } else {
                None
            };
            match skipped {
                Some(outcome) => {
                    by_component.insert(c, outcome);
                }
                None => sites.push((
                    c,
                    Port {
                        component: c,
                        output: t.components[c].paths[first].output,
                    },
                )),
            }
        }
        let search = |part: &[(usize, Port)]| -> Vec<(usize, Outcome)> {
            part.iter()
                .map(|&(c, port)| (c, witness(t, port).map_or(Outcome::Missed, Outcome::Found)))
                .collect()
        };
        let half = sites.len().div_ceil(2);
        let found = if sites.len() > 1 {
            std::thread::scope(|scope| {
                let other = scope.spawn(|| search(&sites[half..]));
                let mut found = search(&sites[..half]);
                // A panic in the search is a bug: pass it on rather than hide it.
                found.extend(
                    other
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                );
                found
            })
        } else {
            search(&sites)
        };
        by_component.extend(found);
        Witnesses { by_component }
    }

    /// The witness of a finding: for an order site, two delivery orders at the site that give
    /// different outputs on the stream the finding names. `None` for other findings, or when
    /// the search found no difference or did not run.
    pub fn get(&self, report: &crate::Report, d: &crate::Diagnostic) -> Option<&Witness> {
        match self.site(report, d)? {
            Outcome::Found(w) => Some(w),
            _ => None,
        }
    }

    /// The lines `lint --witness` shows under a finding: for an order site, its witness or why
    /// there is none; nothing for other findings.
    pub fn lines(&self, report: &crate::Report, d: &crate::Diagnostic) -> Vec<String> {
        match (self.site(report, d), d.component.as_deref()) {
            (Some(outcome), Some(c)) => outcome.lines(c),
            _ => Vec::new(),
        }
    }

    /// The search's outcome at the order site a finding reports (`None`: not an order site).
    fn site(&self, report: &crate::Report, d: &crate::Diagnostic) -> Option<&Outcome> {
        if d.code.id != crate::report::codes::ORDER_SITE.id {
            return None;
        }
        let c = report.topology.component_index(d.component.as_deref()?)?;
        self.by_component.get(&c)
    }
}

/// Counts the components upstream of one component after another, each count stopping early
/// at a limit: a stamp per component marks the ones the current count has seen, so no count
/// clears a table the size of the topology.
struct Part {
    stamp: Vec<u32>,
    round: u32,
    stack: Vec<usize>,
}

impl Part {
    fn new(n: usize) -> Self {
        Part {
            stamp: vec![0; n],
            round: 0,
            stack: Vec::new(),
        }
    }

    /// True when `component` and everything upstream of it are at most `limit` components.
    fn within(&mut self, t: &Topology, component: usize, limit: usize) -> bool {
        if self.round == u32::MAX {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.round = 0;
        }
        self.round += 1;
        self.stack.clear();
        self.stack.push(component);
        let mut seen = 0;
        while let Some(c) = self.stack.pop() {
            if std::mem::replace(&mut self.stamp[c], self.round) == self.round {
                continue;
            }
            seen += 1;
            if seen > limit {
                return false;
            }
            self.stack
                .extend(t.components[c].inputs.iter().map(|i| i.from.component));
        }
        true
    }
}

/// A lower bound on the records each output emits in one run with `records` records per source
/// output, per component and output, capped at `cap`. Each record a path applies gives one
/// record on its output, and each record on a stream reaches at least one instance of its
/// consumer (a replica of a replicated producer emits every record, and each consumer listens
/// to one replica), so the records arriving at a component are at least the sum over its
/// inputs. Only routes that do not close a loop are counted: no record is dropped at the loop
/// bound before it has crossed every component of such a route.
pub fn least_records(t: &Topology, records: u64, cap: u64) -> Vec<Vec<u64>> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; t.components.len()];
    let mut count: Vec<Vec<u64>> = t
        .components
        .iter()
        .map(|c| vec![0; c.outputs.len()])
        .collect();
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let into_output = engine::PathsBy::output(t);
    for root in 0..t.components.len() {
        if state[root] != NEW {
            continue;
        }
        state[root] = OPEN;
        stack.push((root, 0));
        while let Some((c, next)) = stack.last_mut() {
            let comp = &t.components[*c];
            if let Some(input) = comp.inputs.get(*next) {
                *next += 1;
                let p = input.from.component;
                if state[p] == NEW {
                    state[p] = OPEN;
                    stack.push((p, 0));
                }
                continue;
            }
            // Every producer is done, or open: on the stack, a route that closes a loop.
            let c = *c;
            for o in 0..comp.outputs.len() {
                let paths = into_output.get(c, o);
                let mut n = if paths.is_empty() { records } else { 0 };
                for &p in paths {
                    let from = comp.inputs[comp.paths[p].input].from;
                    if state[from.component] == DONE {
                        n = n.saturating_add(count[from.component][from.output]);
                    }
                }
                count[c][o] = n.min(cap);
            }
            state[c] = DONE;
            stack.pop();
        }
    }
    count
}

/// The report of `blazes simulate`: every stream with the analyzer's label and what the
/// simulator observed, and whether the simulator shows more than the analyzer claims.
pub fn render(report: &crate::Report, config: &Config) -> (String, bool) {
    use std::fmt::Write as _;
    let t = &report.topology;
    let sim = simulate(t, &report.analysis, config);
    // Components at or downstream of a partition-split warning: SPEC §6 leaves their labels
    // unchanged, so a difference there is the warning's, not a wrong label.
    let mut split = vec![false; t.components.len()];
    let mut stack: Vec<usize> = report
        .findings
        .iter()
        .filter(|d| d.code.id == crate::report::codes::PARTITION_SPLIT.id)
        .filter_map(|d| d.component.as_deref().and_then(|n| t.component_index(n)))
        .collect();
    while let Some(c) = stack.pop() {
        if std::mem::replace(&mut split[c], true) {
            continue;
        }
        for o in &t.components[c].outputs {
            stack.extend(o.consumers().map(|(d, _)| d));
        }
    }
    let mut rows = Vec::new();
    let mut disagrees = false;
    for (ci, c) in t.components.iter().enumerate() {
        for oi in 0..c.outputs.len() {
            let port = Port {
                component: ci,
                output: oi,
            };
            let label = report.analysis.label(port);
            let seen = sim.observed(ci, oi);
            let verdict = match &seen {
                // Nothing was observed: no run completed.
                _ if sim.schedules == 0 => "",
                None if label.severity() >= Label::Run.severity() => {
                    "not exhibited within the bounds"
                }
                None => "",
                Some(s) if s.severity() > label.severity() && split[ci] => {
                    "more than the label: downstream of a partition split (warned)"
                }
                Some(s) if s.severity() > label.severity() => {
                    disagrees = true;
                    "MORE than the analyzer claims"
                }
                Some(s) if s.severity() < label.severity() => "less than the analyzer's label",
                Some(_) => "",
            };
            rows.push((
                t.port_name(port),
                label.to_string(),
                match seen {
                    _ if sim.schedules == 0 => "not simulated".to_string(),
                    None => "deterministic".to_string(),
                    Some(s) => s.to_string(),
                },
                verdict,
            ));
        }
    }
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(6);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(8);
    let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max(9);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} schedule{}{} ({} record{} per source, {} value{} per field, loop bound {} hops)",
        t.source.name,
        sim.schedules,
        if sim.schedules == 1 { "" } else { "s" },
        if sim.exhaustive {
            ", every schedule within the bounds"
        } else {
            ", sampled"
        },
        config.records,
        if config.records == 1 { "" } else { "s" },
        config.domain,
        if config.domain == 1 { "" } else { "s" },
        config.max_hops.unwrap_or(t.components.len() as u32 + 2)
    );
    let line = |a: &str, b: &str, c: &str, d: &str| {
        format!("{a:<w0$}  {b:<w1$}  {c:<w2$}  {d}")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(out, "{}", line("stream", "analyzer", "simulator", ""));
    for (a, b, c, d) in &rows {
        let _ = writeln!(out, "{}", line(a, b, c, d));
    }
    for u in &sim.unbacked {
        let _ = writeln!(out, "note: {u}");
    }
    if sim.schedules == 0 && sim.truncated > 0 {
        let _ = writeln!(
            out,
            "note: the first run exceeded the message bound ({} messages) and the simulation \
             stopped; lower --records or raise --max-messages",
            config.max_messages
        );
    } else if sim.truncated > 0 {
        let _ = writeln!(
            out,
            "note: {} run(s) exceeded the message bound and were not counted",
            sim.truncated
        );
    }
    if sim.late {
        let _ = writeln!(
            out,
            "note: a record arrived after its seal (a seal promise a loop cannot keep)"
        );
    }
    (out, disagrees)
}
