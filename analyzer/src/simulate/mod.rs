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
/// truncated. Returns (schedules run, exhaustive, truncated runs).
fn for_schedules(
    plan: &Plan<'_>,
    config: &Config,
    keep_logs: bool,
    mut each: impl FnMut(&RunResult) -> bool,
) -> (usize, bool, usize) {
    let mut runs = 0;
    let mut truncated = 0;
    let mut ch = Chooser::exhaustive();
    let mut complete = false;
    for _ in 0..config.exhaustive.max(1) {
        let r = engine::run(plan, &mut ch, keep_logs);
        if r.truncated {
            truncated += 1;
        } else {
            runs += 1;
            if !each(&r) {
                return (runs, false, truncated);
            }
        }
        if !ch.advance() {
            complete = true;
            break;
        }
    }
    if !complete {
        for s in 0..config.schedules {
            let mut ch = Chooser::random(choice::mix(config.seed ^ (s as u64 + 1)));
            let r = engine::run(plan, &mut ch, keep_logs);
            if r.truncated {
                truncated += 1;
            } else {
                runs += 1;
                if !each(&r) {
                    break;
                }
            }
        }
    }
    (runs, complete, truncated)
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
    let (schedules, exhaustive, truncated) = for_schedules(&plan, config, false, |r| {
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
    /// Human lines: the two orders and what each produced.
    pub fn lines(&self) -> Vec<String> {
        let what = if self.between == "replicas" {
            "two replicas in one run"
        } else {
            "two runs"
        };
        let mut out = vec![format!(
            "witness ({what}): the same inputs in two orders give different `{}`",
            self.output
        )];
        for (i, name) in ["A", "B"].iter().enumerate() {
            out.push(format!("order {name}: {}", self.orders[i].join(", ")));
            out.push(format!(
                "  gives {}",
                if self.outputs[i].is_empty() {
                    "nothing".to_string()
                } else {
                    self.outputs[i].join(", ")
                }
            ));
        }
        out
    }
}

/// An instance index, its delivery log and its output in one run.
type Seen = (usize, Vec<(usize, Record)>, Vec<Record>);

/// Searches for a witness at an output port: two delivery orders at the same instance (two
/// replicas of one run, or two runs) that give different contents. Small bounds are tried first
/// (one record per source, one value per field), so the witness is as short as possible.
pub fn witness(t: &Topology, a: &Analysis, port: Port) -> Option<Witness> {
    let tries = [(1usize, 1u64), (2, 1), (2, 2), (3, 2)];
    for (records, domain) in tries {
        let config = Config {
            records,
            domain,
            exhaustive: 3_000,
            schedules: 300,
            ..Config::default()
        };
        let plan = Plan::new(t, a, &bounds(&config));
        let ci = port.component;
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
        for_schedules(&plan, &config, true, |r| {
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
                                component: comp.name.clone(),
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
                        component: comp.name.clone(),
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
    }
    None
}

/// The witness for a finding: for an order site, two delivery orders at the site that give
/// different outputs on the stream the finding names. `None` for other findings, or when the
/// simulator finds no difference within its bounds.
pub fn witness_for(report: &crate::Report, d: &crate::Diagnostic) -> Option<Witness> {
    if d.code.id != crate::report::codes::ORDER_SITE.id {
        return None;
    }
    let t = &report.topology;
    let c = t.component_index(d.component.as_deref()?)?;
    let site = report.plan.order_sites().find(|s| s.component == c)?;
    let crate::plan::SiteKind::Order { paths, .. } = &site.kind else {
        return None;
    };
    let &first = paths.first()?;
    let port = Port {
        component: c,
        output: t.components[c].paths[first].output,
    };
    witness(t, &report.analysis, port)
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
            stack.extend(o.consumers.iter().map(|&(d, _)| d));
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
                seen.map_or_else(|| "deterministic".to_string(), |s| s.to_string()),
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
    if sim.truncated > 0 {
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
