//! Findings: the plan and the analysis turned into located diagnostics.

use std::collections::{BTreeSet, VecDeque};

use blazes_annotations::{Annotation, Gate};

use super::{Plan, SiteKind};
use crate::analysis::{Analysis, Derivations, Event, Ordering, Step, rules::Rule};
use crate::model::{Grouping, Port, Topology};
use crate::report::{Diagnostic, Severity, codes};

/// Seal suggestions named in an order site's help; the rest are counted.
const SEALS_NAMED: usize = 8;

/// Finding options from the command line.
#[derive(Clone, Debug, Default)]
pub struct FindingOptions {
    /// Codes (ids or names) whose warnings become errors (`--deny`).
    pub deny: Vec<String>,
}

/// From this many components on, findings are worked out on two cores.
const PARALLEL_FROM: usize = 4096;

/// Every finding for an analyzed and planned topology, allowed ones removed, in reporting order.
pub fn findings(
    t: &Topology,
    a: &Analysis,
    plan: &Plan,
    options: &FindingOptions,
) -> Vec<Diagnostic> {
    findings_on(t, a, plan, options, t.components.len() >= PARALLEL_FROM)
}

/// [`findings`], worked out on two cores when `parallel`.
fn findings_on(
    t: &Topology,
    a: &Analysis,
    plan: &Plan,
    options: &FindingOptions,
    parallel: bool,
) -> Vec<Diagnostic> {
    // Two independent halves, on two cores for a large topology: the findings that need the
    // derivations of the analysis as written, and the others. Each keeps its kinds apart, so
    // that they are put together in the same order either way.
    let with_derivations = || {
        let (mut order, mut inherits) = (Vec::new(), Vec::new());
        let mut derivations = Derivations::new(t, a);
        order_sites(t, a, plan, &mut derivations, &mut order);
        inherited(t, a, plan, &mut derivations, &mut inherits);
        (order, inherits)
    };
    let others = || {
        let (mut barriers, mut rest) = (Vec::new(), Vec::new());
        seal_sites(t, plan, &mut barriers);
        partition_splits(t, a, &mut rest);
        seals(t, a, &plan.after, &mut rest);
        (barriers, rest)
    };
    let ((mut out, inherits), (barriers, rest)) =
        crate::parallel::both(parallel, with_derivations, others);
    out.extend(barriers);
    out.extend(inherits);
    out.extend(rest);
    for problem in &plan.problems {
        // Verification failing is a bug in blazes, never in the user's file: say so loudly.
        out.push(Diagnostic::new(
            codes::ORDER_SITE,
            &t.source,
            format!("internal: the coordination plan does not verify: {problem}"),
        ));
    }
    out.retain(|d| {
        let Some(name) = &d.component else {
            return true;
        };
        t.component_index(name).is_none_or(|c| {
            !t.components[c]
                .allow
                .iter()
                .any(|(code, _)| code == d.code.name)
        })
    });
    for d in &mut out {
        if d.severity == Severity::Warning
            && options
                .deny
                .iter()
                .any(|x| codes::lookup(x).is_some_and(|c| c == d.code))
        {
            d.severity = Severity::Error;
        }
    }
    crate::report::sort(&mut out);
    out
}

fn order_sites(
    t: &Topology,
    a: &Analysis,
    plan: &Plan,
    derivations: &mut Derivations<'_>,
    out: &mut Vec<Diagnostic>,
) {
    for site in plan.order_sites() {
        let SiteKind::Order {
            strategy,
            paths,
            seals,
        } = &site.kind
        else {
            continue;
        };
        let c = site.component;
        let comp = &t.components[c];
        let Some(&first) = paths.first() else {
            continue;
        };
        let path = &comp.paths[first];
        let port = Port {
            component: c,
            output: path.output,
        };
        let label = a.label(port);
        let input = &comp.inputs[path.input];
        let kind = if path.annotation.is_write() {
            "order-sensitive write"
        } else {
            "order-sensitive read"
        };
        let written = t.annotation_text(c, first);
        let mut d = Diagnostic::new(
            codes::ORDER_SITE,
            &t.source,
            format!(
                "`{}` needs coordination: its {kind} {} -> {} ({written}) depends on input order, so `{}` is {label}",
                comp.name,
                input.name,
                comp.outputs[path.output].name,
                t.port_name(port)
            ),
        )
        .component(comp.name.as_str())
        .at(path.span, format!("{written} here, fed an unsealed stream"));
        // The unsealed inputs that rendezvous here.
        let mut marked = BTreeSet::new();
        for &pi in paths {
            let p = &comp.paths[pi];
            let mut inputs = vec![p.input];
            if !p.annotation.is_write() {
                inputs.extend(
                    a.unprotecting_writes(t, c, pi)
                        .into_iter()
                        .map(|w| comp.paths[w].input),
                );
            }
            for i in inputs {
                if marked.insert(i) {
                    let inp = &comp.inputs[i];
                    d = d.also(
                        inp.from_span,
                        format!(
                            "`{}` arrives {} from `{}`",
                            inp.name,
                            a.label(inp.from),
                            t.port_name(inp.from)
                        ),
                    );
                }
            }
        }
        let order = match strategy {
            Ordering::Deterministic => format!(
                "order all inputs of `{}` deterministically (by batch or epoch)",
                comp.name
            ),
            Ordering::Dynamic => format!(
                "order all inputs of `{}` with a sequencer (a dynamic total order: replicas \
                 agree, but results may still differ between runs)",
                comp.name
            ),
        };
        let seal = seals
            .iter()
            .filter(|s| !s.fields.is_empty())
            .map(|s| {
                let fields = s
                    .fields
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" or ");
                format!("seal `{}` on {fields}", t.port_name(s.port))
            })
            .collect::<Vec<_>>();
        let first_field = seals.iter().find_map(|s| s.fields.first());
        let dropped = seals
            .iter()
            .find(|s| s.fields.is_empty())
            .map(|s| t.port_name(s.port));
        // A component reading from thousands of producers has as many suggestions: the help
        // names a few and counts the rest, which the plan lists.
        let seal = match seal.len().checked_sub(SEALS_NAMED) {
            Some(more) if more > 0 => format!(
                "{} and {more} more producers likewise (`--format json` lists each under `sites`)",
                seal[..SEALS_NAMED].join(" and ")
            ),
            _ => seal.join(" and "),
        };
        d = d.help(match (first_field, dropped) {
            (Some(f), _) => format!(
                "{order}; or, far cheaper, {seal} (`seal: [{f}]`) so a seal barrier suffices"
            ),
            (None, Some(at)) => format!(
                "{order}; a seal cannot replace the order yet: `{at}` drops every gate field \
                 (keep one in its `fields`, then seal on it)"
            ),
            (None, None) => format!(
                "{order}; the gate names no field a producer could seal on, so only an order helps"
            ),
        });
        d.derivation = derivations.of(port);
        out.push(d);
    }
}

/// The seal barriers of the plan, told from the analysis with the plan applied, where they are
/// in effect (a barrier can exist only thanks to an ordering upstream).
fn seal_sites(t: &Topology, plan: &Plan, out: &mut Vec<Diagnostic>) {
    let a = &plan.after;
    let mut derivations = Derivations::new(t, a);
    for site in &plan.sites {
        let SiteKind::Seal {
            paths,
            inputs,
            keys,
        } = &site.kind
        else {
            continue;
        };
        let comp = &t.components[site.component];
        let Some(&first) = paths.first() else {
            continue;
        };
        let path = &comp.paths[first];
        let names: Vec<String> = inputs
            .iter()
            .map(|&i| format!("`{}`", comp.inputs[i].name))
            .collect();
        let written = t.annotation_text(site.component, first);
        let mut d = Diagnostic::new(
            codes::SEAL_SITE,
            &t.source,
            format!(
                "`{}` relies on a seal barrier on {} ({}) for its {written} path",
                comp.name,
                names.join(", "),
                keys.join(", "),
            ),
        )
        .component(comp.name.as_str())
        .at(path.span, format!("{written} protected by the seal"));
        for &i in inputs {
            let inp = &comp.inputs[i];
            if let Some(origin) = seal_origin(t, a, inp.from) {
                let o = &t.components[origin.component].outputs[origin.output];
                if let Some((k, span)) = o.seal.as_deref() {
                    d = d.also(*span, format!("sealed on ({k}) here"));
                }
            }
        }
        d = d.help(
            "deploy a seal barrier on these inputs (`blazes fix` generates it): it releases each \
             partition once every producer has sealed it",
        );
        d.derivation = derivations.of(Port {
            component: site.component,
            output: path.output,
        });
        out.push(d);
    }
}

/// The output where a seal on `port` was declared, following rule-p passes upstream.
fn seal_origin(t: &Topology, a: &Analysis, mut port: Port) -> Option<Port> {
    let mut seen = BTreeSet::new();
    while seen.insert(port) {
        let why = a.why(port);
        match (why.step, why.path) {
            (Step::Source | Step::Unreached | Step::DeclaredSeal, _) => return Some(port),
            (Step::Pass, Some(p)) => {
                let comp = &t.components[port.component];
                port = comp.inputs[comp.paths[p as usize].input].from;
            }
            _ => return None,
        }
    }
    None
}

fn inherited(
    t: &Topology,
    a: &Analysis,
    plan: &Plan,
    derivations: &mut Derivations<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let sites: BTreeSet<usize> = plan.order_sites().map(|s| s.component).collect();
    let mut done = BTreeSet::new();
    for e in a.events() {
        let Event::Anomaly {
            component,
            path,
            rule: Rule::R3,
        } = *e
        else {
            continue;
        };
        if sites.contains(&component) || !done.insert(component) {
            continue;
        }
        let comp = &t.components[component];
        let p = &comp.paths[path];
        let input = &comp.inputs[p.input];
        let port = Port {
            component,
            output: p.output,
        };
        let origin = upstream_site(t, &sites, input.from.component);
        let mut d = Diagnostic::new(
            codes::INHERITED,
            &t.source,
            format!(
                "`{}` is {} because its input `{}` is already {} (inherited, no site of its own)",
                t.port_name(port),
                a.label(port),
                input.name,
                a.label(input.from)
            ),
        )
        .component(comp.name.as_str())
        .at(
            p.span,
            format!(
                "{} fed an {} stream",
                t.annotation_text(component, path),
                a.label(input.from)
            ),
        )
        .also(input.from_span, "the anomalous stream comes from here");
        d = d.help(match origin {
            Some(o) => format!(
                "fix the order site at `{}`; this finding disappears with it",
                t.components[o].name
            ),
            None => "fix the upstream order site; this finding disappears with it".into(),
        });
        d.derivation = derivations.of(port);
        out.push(d);
    }
}

/// The nearest order site at or upstream of component `c`.
fn upstream_site(t: &Topology, sites: &BTreeSet<usize>, c: usize) -> Option<usize> {
    let mut seen = BTreeSet::from([c]);
    let mut queue = VecDeque::from([c]);
    while let Some(x) = queue.pop_front() {
        if sites.contains(&x) {
            return Some(x);
        }
        for input in &t.components[x].inputs {
            if seen.insert(input.from.component) {
                queue.push_back(input.from.component);
            }
        }
    }
    None
}

fn partition_splits(t: &Topology, a: &Analysis, out: &mut Vec<Diagnostic>) {
    for (ci, comp) in t.components.iter().enumerate() {
        if comp.parallelism <= 1 {
            continue;
        }
        let mut seen = BTreeSet::new();
        for (pi, path) in comp.paths.iter().enumerate() {
            let (Annotation::OR(gate) | Annotation::OW(gate)) = &*path.annotation else {
                continue;
            };
            let Gate::Fields(fields) = gate else {
                continue; // a `*` gate never splits
            };
            let input = &comp.inputs[path.input];
            let splits = match input.grouping() {
                Grouping::Shuffle | Grouping::PartialKey(_) | Grouping::LocalOrShuffle => true,
                Grouping::Fields(f) => {
                    let gate: Vec<&str> = fields.iter().map(String::as_str).collect();
                    !gate_determines(a, &gate, f)
                }
                Grouping::All | Grouping::Global | Grouping::Direct | Grouping::Custom => false,
            };
            if !splits || !seen.insert(path.input) {
                continue;
            }
            let span = input.grouping_span().unwrap_or(input.span);
            let gate_text = if fields.is_empty() {
                "one global partition".to_string()
            } else {
                format!("partitions of ({gate})")
            };
            let d = Diagnostic::new(
                codes::PARTITION_SPLIT,
                &t.source,
                format!(
                    "`{}` runs {} instances of {}, but grouping `{}` on `{}` spreads its {gate_text} over them",
                    comp.name,
                    comp.parallelism,
                    t.annotation_text(ci, pi),
                    input.grouping(),
                    input.name
                ),
            )
            .component(comp.name.as_str())
            .at(span, format!("`{}` does not keep each partition on one instance", input.grouping()))
            .also(path.span, "the gate is declared here")
            .help(if fields.is_empty() {
                "use `grouping: global`, or accept a two-phase aggregation with `allow: [partition-split]`".to_string()
            } else {
                format!(
                    "use `grouping: fields({})`, or accept a two-phase aggregation with `allow: [partition-split]`",
                    fields.iter().next().map_or("", String::as_str)
                )
            });
            out.push(d);
        }
    }
}

fn gate_determines(a: &Analysis, gate: &[&str], fields: &[String]) -> bool {
    // With identity only: fields ⊆ gate. With fds: fields ⊆ closure(gate).
    let gated = crate::model::FieldSet::new(gate, &[] as &[&str], fields.len());
    if fields.iter().all(|f| gated.contains(f)) {
        return true;
    }
    a.interner()
        .find(gate.iter().copied())
        .is_some_and(|set| a.interner().determines(set, fields))
}

/// Unused and lost seals. A seal is used when a path consumes it in the topology as written
/// (`a`) or once the plan is applied (`after`): an ordering upstream can make a sealed stream
/// of what was an anomalous one.
fn seals(t: &Topology, a: &Analysis, after: &Analysis, out: &mut Vec<Diagnostic>) {
    let (consuming, losing) = consumption(t, a, Some(out));
    if !t
        .components
        .iter()
        .any(|c| c.outputs.iter().any(|o| o.seal.is_some()))
    {
        return;
    }
    let (base, mut used) = seals_used(t, a, &consuming, &losing);
    let (consuming, losing) = consumption(t, after, None);
    let (_, used_after) = seals_used(t, after, &consuming, &losing);
    for (u, after) in used.iter_mut().zip(used_after) {
        *u |= after;
    }
    for (ci, comp) in t.components.iter().enumerate() {
        for (oi, o) in comp.outputs.iter().enumerate() {
            let Some((key, span)) = o.seal.as_deref() else {
                continue;
            };
            let start = Port {
                component: ci,
                output: oi,
            };
            if used[base[ci] + oi] {
                continue;
            }
            out.push(
                Diagnostic::new(
                    codes::UNUSED_SEAL,
                    &t.source,
                    format!(
                        "the seal on ({key}) declared by `{}` is consumed by no order-sensitive path",
                        t.port_name(start)
                    ),
                )
                .component(comp.name.as_str())
                .at(*span, "declared here")
                .help("a seal helps only a path whose gate contains the key: check the key against the gates downstream, or drop the seal"),
            );
        }
    }
}

/// Where an analysis consumes seals: the inputs `(component, input)` on which some path
/// consumes or waits for a seal (sorted, each once), and the outputs where a seal is dropped.
/// With `lost`, each dropped seal is also reported there (once, as lost).
fn consumption(
    t: &Topology,
    a: &Analysis,
    mut lost: Option<&mut Vec<Diagnostic>>,
) -> (Vec<(usize, usize)>, Vec<Port>) {
    let mut consuming: Vec<(usize, usize)> = Vec::new();
    let mut losing: Vec<Port> = Vec::new();
    for e in a.events() {
        match e {
            Event::SealConsumed {
                component, path, ..
            } => {
                consuming.push((*component, t.components[*component].paths[*path].input));
            }
            Event::ProtectedRead {
                component, guards, ..
            } => {
                for g in guards {
                    consuming.push((*component, t.components[*component].paths[*g].input));
                }
            }
            Event::Lost {
                component,
                output,
                key,
            } => {
                let comp = &t.components[*component];
                let o = &comp.outputs[*output];
                losing.push(Port {
                    component: *component,
                    output: *output,
                });
                let Some(out) = lost.as_deref_mut() else {
                    continue;
                };
                let key = a.interner().names(*key).join(", ");
                out.push(
                    Diagnostic::new(
                        codes::LOST_SEAL,
                        &t.source,
                        format!(
                            "the seal on ({key}) is lost at `{}`: its fields do not include the key",
                            t.port_name(Port { component: *component, output: *output })
                        ),
                    )
                    .component(comp.name.as_str())
                    .at(o.span, format!("declares fields without ({key})"))
                    .help(format!("add the key fields ({key}) to `fields`, or re-seal downstream")),
                );
            }
            Event::Anomaly { .. } => {}
        }
    }
    consuming.sort_unstable();
    consuming.dedup();
    (consuming, losing)
}

/// For every port, whether a seal on it is used: following it downstream through paths that pass
/// it on (to outputs with the same label), some consumer consumes it, or some output loses it
/// (which is reported on its own). One backward search from the ports where that happens over
/// the same-label edges, so the cost is linear in the topology rather than one search per seal.
/// Indexed by `base[component] + output`.
fn seals_used(
    t: &Topology,
    a: &Analysis,
    consuming: &[(usize, usize)],
    losing: &[Port],
) -> (Vec<usize>, Vec<bool>) {
    let mut base = Vec::with_capacity(t.components.len());
    let mut ports = 0;
    for c in &t.components {
        base.push(ports);
        ports += c.outputs.len();
    }
    let index = |p: Port| base[p.component] + p.output;
    let mut lost = vec![false; ports];
    for &p in losing {
        lost[index(p)] = true;
    }
    let mut used = vec![false; ports];
    let mut stack = Vec::new();
    let mut mark = |port: usize, stack: &mut Vec<usize>| {
        if !used[port] {
            used[port] = true;
            stack.push(port);
        }
    };
    // Edges `next -> producer` for paths that pass the producer's label on unchanged, as
    // (next, producer) pairs; `consuming` is sorted, as inputs are visited here.
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let mut consumed = consuming.iter().peekable();
    for (c, comp) in t.components.iter().enumerate() {
        for (i, input) in comp.inputs.iter().enumerate() {
            while consumed.next_if(|&&at| at < (c, i)).is_some() {}
            if consumed.next_if_eq(&&(c, i)).is_some() {
                mark(index(input.from), &mut stack);
            }
        }
        for p in &comp.paths {
            let from = comp.inputs[p.input].from;
            let next = Port {
                component: c,
                output: p.output,
            };
            if lost[index(next)] {
                mark(index(from), &mut stack);
            } else if a.lbl(next) == a.lbl(from) {
                edges.push((index(next), index(from)));
            }
        }
    }
    // The edges grouped by `next` (a counting sort): those of port `p` are
    // `producers[start[p]..start[p + 1]]`.
    let mut start = vec![0usize; ports + 1];
    for &(next, _) in &edges {
        start[next + 1] += 1;
    }
    for p in 0..ports {
        start[p + 1] += start[p];
    }
    let mut fill = start.clone();
    let mut producers = vec![0usize; edges.len()];
    for &(next, from) in &edges {
        producers[fill[next]] = from;
        fill[next] += 1;
    }
    drop((edges, fill));
    while let Some(port) = stack.pop() {
        for &from in &producers[start[port]..start[port + 1]] {
            mark(from, &mut stack);
        }
    }
    (base, used)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Everything a finding says, without the source it points into.
    fn said(d: &Diagnostic) -> String {
        format!(
            "{} {:?} {:?} {} {:?} {:?} {:?} {:?}",
            d.code.id,
            d.severity,
            d.component,
            d.message,
            d.primary.as_ref().map(|m| (m.span, &m.text)),
            d.secondary
                .iter()
                .map(|m| (m.span, &m.text))
                .collect::<Vec<_>>(),
            d.help,
            d.derivation.lines(),
        )
    }

    #[test]
    fn findings_on_two_cores_are_those_on_one() {
        let t = crate::load::load_str("layered.yaml", &crate::topogen::generate(6_000)).unwrap();
        assert!(t.components.len() >= PARALLEL_FROM);
        let a = crate::analysis::analyze(&t);
        let plan = super::super::plan(&t, &a, super::super::Options::default());
        let options = FindingOptions::default();
        let one: Vec<String> = findings_on(&t, &a, &plan, &options, false)
            .iter()
            .map(said)
            .collect();
        let two: Vec<String> = findings(&t, &a, &plan, &options).iter().map(said).collect();
        // Each half's kinds are there: order sites and inherited labels on one side, seal
        // barriers and seal findings on the other.
        for code in ["BLZ001", "BLZ002", "BLZ003", "BLZ005"] {
            assert!(
                one.iter().any(|d| d.starts_with(code)),
                "no {code} among {} findings",
                one.len()
            );
        }
        assert_eq!(one, two);
    }
}
