//! The coordination plan (SPEC §6): where coordination goes (order sites and seal sites), which
//! remedy, and a verification of the plan by re-analysis.

pub mod findings;

use std::collections::BTreeSet;

use crate::analysis::lattice::Lbl;
use crate::analysis::{Analysis, Event, Ordering};
use crate::model::{Port, Topology};

/// Planning choices.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Order every order site deterministically, replicated or not (`--deterministic`).
    pub deterministic: bool,
}

/// A seal that would turn an order site into a seal site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealSuggestion {
    /// The output that should declare the seal.
    pub port: Port,
    /// Gate fields it carries; sealing on any one of them is compatible. Empty when no gate
    /// field reaches the site: `port` is then the output that drops the last one.
    pub fields: Vec<String>,
}

/// Where coordination goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteKind {
    /// Order all inputs of the component.
    Order {
        /// The ordering strategy.
        strategy: Ordering,
        /// Paths (indices) where the anomaly originates.
        paths: Vec<usize>,
        /// Seals that would make this a seal site instead.
        seals: Vec<SealSuggestion>,
    },
    /// A seal barrier on the given inputs.
    Seal {
        /// Order-sensitive paths (indices) that rely on the barrier.
        paths: Vec<usize>,
        /// Inputs (indices) whose seals the barrier waits for.
        inputs: Vec<usize>,
        /// Keys the barrier partitions on (display form).
        keys: Vec<String>,
    },
}

/// A coordination site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// Component index.
    pub component: usize,
    /// What to put there.
    pub kind: SiteKind,
}

/// The plan and its verification.
#[derive(Debug)]
pub struct Plan {
    /// Order sites (first) and seal sites, each in component order.
    pub sites: Vec<Site>,
    /// The analysis with every remedy applied.
    pub after: Analysis,
    /// Problems found by verification (empty when the plan is sound).
    pub problems: Vec<String>,
}

impl Plan {
    /// True when, after the plan, no stream is `Inst`/`Diverge` and `Run` remains only
    /// downstream of dynamic orderings.
    pub fn verified(&self) -> bool {
        self.problems.is_empty()
    }

    /// The order sites.
    pub fn order_sites(&self) -> impl Iterator<Item = &Site> {
        self.sites
            .iter()
            .filter(|s| matches!(s.kind, SiteKind::Order { .. }))
    }
}

impl Options {
    /// How to order a component, given whether it acts replicated: deterministically when
    /// asked or when it does not act replicated, dynamically otherwise.
    pub fn ordering(&self, acts_replicated: bool) -> Ordering {
        if self.deterministic || !acts_replicated {
            Ordering::Deterministic
        } else {
            Ordering::Dynamic
        }
    }
}

/// Computes the plan for an analysis (as written): SCC by SCC in topological order, every
/// component that still originates an anomaly once everything upstream of it is coordinated
/// gets an ordering ([`Analysis::coordinated`]), so an anomaly that an upstream site removes
/// gets no site of its own; seal barriers are where the plan's analysis consumes seals.
pub fn plan(t: &Topology, a: &Analysis, options: Options) -> Plan {
    // Seal suggestions read only the analysis as written: each origin's are traced on a second
    // core as soon as the sweep finds it, while the sweep goes on.
    let (tracing, mut found) = Tracing::new(t, options);
    let tracing = &tracing;
    let (swept, theirs) = crate::parallel::both(
        true,
        move || {
            let strategy = |c: usize| options.ordering(a.acts_replicated(c));
            let (after, origins) = a.coordinated(t, &strategy, &mut |batch| found.add(batch));
            drop(found);
            tracing.after_sweep(after, origins, Some(a))
        },
        || tracing.trace(a),
    );
    tracing.finish(a, swept, theirs)
}

/// [`crate::analyze`] and [`plan`] at once: the plan's sweep follows the analysis on a second
/// core as it is solved (see [`crate::analysis::analyze_coordinated`]), and this core traces the
/// seal suggestions once the analysis is solved. The same analysis and plan as the two in turn.
pub fn analyze_and_plan(t: &Topology, options: Options) -> (Analysis, Plan) {
    analyze_and_plan_in_chunks(t, options, crate::analysis::fixpoint::CHUNK_PORTS)
}

/// [`analyze_and_plan`], the analysis handing its solution on at least every `chunk` ports (for
/// tests: small chunks make many hand-overs in small topologies).
#[doc(hidden)]
pub fn analyze_and_plan_in_chunks(
    t: &Topology,
    options: Options,
    chunk: usize,
) -> (Analysis, Plan) {
    let (tracing, mut found) = Tracing::new(t, options);
    let (a, swept, theirs) = crate::analysis::analyze_coordinated(
        t,
        chunk,
        &|replicated| options.ordering(replicated),
        move |batch: &[(usize, usize)]| found.add(batch),
        |after, origins, analysis| tracing.after_sweep(after, origins, analysis()),
        |a| tracing.trace(a),
    );
    let plan = tracing.finish(&a, swept, theirs);
    (a, plan)
}

/// Origins on their way from the planning sweep to tracing: the sweep finds a component's
/// origins at a time; they go in batches of a few hundred, whose reads tracing overlaps (see
/// [`warm`]), and so that each batch's sending is paid for by many origins. What is left goes
/// when the sweep drops it.
struct Batches {
    pending: Vec<(usize, usize)>,
    send: std::sync::mpsc::Sender<Vec<(usize, usize)>>,
}

impl Batches {
    /// Adds the origins of a component.
    fn add(&mut self, origins: &[(usize, usize)]) {
        self.pending.extend_from_slice(origins);
        if self.pending.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::take(&mut self.pending);
        // Tracing stops only by panicking, which the join passes on.
        let _ = self.send.send(batch);
    }
}

impl Drop for Batches {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.flush();
        }
    }
}

/// The tracing of seal suggestions, shared by two cores: each takes batches of origins as the
/// sweep sends them, and traces their order sites.
struct Tracing<'t> {
    t: &'t Topology,
    options: Options,
    found: std::sync::Mutex<std::sync::mpsc::Receiver<Vec<(usize, usize)>>>,
    /// The chains the walks read, laid out by the first core to need them.
    chains: std::sync::OnceLock<Chains<'t>>,
}

/// What the core that ran the planning sweep found: the origins, the seal barriers, the
/// verification's problems, the plan's analysis, and the order sites it traced.
struct Swept {
    origins: Origins,
    barriers: Vec<Site>,
    problems: Vec<String>,
    after: Analysis,
    traced: Vec<Site>,
}

impl<'t> Tracing<'t> {
    /// Tracing, and where the planning sweep sends it the origins it finds.
    fn new(t: &'t Topology, options: Options) -> (Self, Batches) {
        let (send, found) = std::sync::mpsc::channel();
        let tracing = Tracing {
            t,
            options,
            found: std::sync::Mutex::new(found),
            chains: std::sync::OnceLock::new(),
        };
        let batches = Batches {
            pending: Vec::new(),
            send,
        };
        (tracing, batches)
    }

    fn chains(&self, a: &Analysis) -> &Chains<'t> {
        self.chains.get_or_init(|| Chains::new(self.t, a))
    }

    /// The order site of a component with origins, its seal suggestions traced.
    fn order_site(
        &self,
        a: &Analysis,
        c: usize,
        paths: &[(usize, usize)],
        walk: &mut Walk<'_, '_>,
    ) -> Site {
        Site {
            component: c,
            kind: SiteKind::Order {
                strategy: self.options.ordering(a.acts_replicated(c)),
                paths: paths.iter().map(|&(_, p)| p).collect(),
                seals: seal_suggestions(self.t, a, walk, c, paths),
            },
        }
    }

    /// Traces batches until the sweep is over and none is left: the order site of each
    /// component with origins, in the order traced.
    fn trace(&self, a: &Analysis) -> Vec<Site> {
        let mut walk = Walk::new(self.chains(a));
        let mut traced = Vec::new();
        loop {
            // Only a panic on the other core poisons the lock; the join passes it on.
            let Ok(Ok(batch)) = self.found.lock().map(|batches| batches.recv()) else {
                break;
            };
            let origins = Origins::new(batch);
            // Warmed and traced a few components at a time, so that their reads are still
            // cached when they are traced.
            let groups: Vec<(usize, &[(usize, usize)])> = origins.groups().collect();
            for chunk in groups.chunks(WARM_CHUNK) {
                warm(self.t, a, walk.chains, chunk);
                for &(c, paths) in chunk {
                    traced.push(self.order_site(a, c, paths, &mut walk));
                }
            }
        }
        traced
    }

    /// What the core that ran the sweep does next: the seal barriers and the verification need
    /// the plan's analysis; after them, it helps trace what is left (given the analysis as
    /// written, which is `None` only when the other core failed).
    fn after_sweep(
        &self,
        after: Analysis,
        origins: Vec<(usize, usize)>,
        a: Option<&Analysis>,
    ) -> Swept {
        let origins = Origins::new(origins);
        let barriers = seal_sites(self.t, &after, |c| origins.contains(c));
        let problems = verify(self.t, &after);
        let traced = a.map(|a| self.trace(a)).unwrap_or_default();
        Swept {
            origins,
            barriers,
            problems,
            after,
            traced,
        }
    }

    /// The plan, from what the two cores found.
    fn finish(&self, a: &Analysis, swept: Swept, theirs: Vec<Site>) -> Plan {
        let Swept {
            origins,
            barriers,
            problems,
            after,
            traced: mine,
        } = swept;
        // A component's origins all come in one batch, so each component with origins has one
        // site, traced by one of the two cores. Merged, the two lists are the sites of the
        // origins' groups, in component order.
        let same = |s: &Site, c: usize, paths: &[(usize, usize)]| {
            s.component == c
                && matches!(&s.kind, SiteKind::Order { paths: p, .. }
                    if p.iter().copied().eq(paths.iter().map(|&(_, p)| p)))
        };
        // The two lists are in the order their sites were traced. They are merged through keys
        // (component, list and place, in a word each) sorted in their stead: sorting the keys is
        // far cheaper than moving the sites to sort them. Components and places are bounded by
        // the file size limit.
        let mut keys: Vec<u64> = Vec::with_capacity(mine.len() + theirs.len());
        for (list, traced) in [&mine, &theirs].into_iter().enumerate() {
            keys.extend(
                traced.iter().enumerate().map(|(i, s)| {
                    (s.component as u64) << 32 | (list as u64) << 31 | i as u64 & PLACE
                }),
            );
        }
        keys.sort_unstable();
        let mut traced = [mine, theirs];
        let mut keys = keys.into_iter().peekable();
        let mut sites = Vec::with_capacity(origins.groups().count() + barriers.len());
        let mut walk = None;
        let mut missed = 0;
        for (c, paths) in origins.groups() {
            let mut site = None;
            while let Some(key) = keys.next_if(|&key| key >> 32 <= c as u64) {
                let list = &mut traced[usize::from(key >> 31 & 1 == 1)];
                // What is taken leaves a site with nothing to drop.
                let s = std::mem::replace(&mut list[(key & PLACE) as usize], Site::taken());
                // Checking each site's paths would read every one of them once more.
                debug_assert!(s.component != c || same(&s, c, paths));
                if site.is_none() && s.component == c {
                    site = Some(s);
                } else {
                    missed += 1;
                }
            }
            sites.push(site.unwrap_or_else(|| {
                missed += 1;
                let walk = walk.get_or_insert_with(|| Walk::new(self.chains(a)));
                self.order_site(a, c, paths, walk)
            }));
        }
        // The batches hold every origin, in the same groups; tracing here is a fallback that
        // debug builds rule out.
        debug_assert!(
            missed == 0 && keys.len() == 0,
            "the batches hold every origin"
        );
        sites.extend(barriers);
        Plan {
            sites,
            after,
            problems,
        }
    }
}

/// The place bits of a key in [`Tracing::finish`]'s merge (the bit above them says which list).
const PLACE: u64 = (1 << 31) - 1;

impl Site {
    /// A site with nothing in it, left where one is taken out of a list.
    fn taken() -> Self {
        Site {
            component: usize::MAX,
            kind: SiteKind::Seal {
                paths: Vec::new(),
                inputs: Vec::new(),
                keys: Vec::new(),
            },
        }
    }
}

/// Steps of the walks [`warm`] takes ahead.
const WARM_STEPS: usize = 4;

/// Components whose reads [`warm`] takes together: few enough that what it reads is still
/// cached, and its pages still mapped in the TLB, when they are traced.
const WARM_CHUNK: usize = 64;

/// Origins the planning sweep hands to tracing at a time, at least.
const BATCH: usize = 256;

/// Where anomalies originate: `(component, path)` pairs, sorted and without repeats. A large
/// plan has hundreds of thousands of origins, so they are kept flat rather than in a map of sets.
struct Origins(Vec<(usize, usize)>);

impl Origins {
    /// Origins from `(component, path)` pairs in any order, possibly repeated.
    fn new(mut origins: Vec<(usize, usize)>) -> Self {
        origins.sort_unstable();
        origins.dedup();
        Origins(origins)
    }

    /// The components with origins, ascending, with their origin pairs.
    fn groups(&self) -> impl Iterator<Item = (usize, &[(usize, usize)])> {
        self.0.chunk_by(|x, y| x.0 == y.0).map(|g| (g[0].0, g))
    }

    /// True when component `c` has an origin.
    fn contains(&self, c: usize) -> bool {
        let i = self.0.partition_point(|&(x, _)| x < c);
        self.0.get(i).is_some_and(|&(x, _)| x == c)
    }
}

/// Seal barriers the topology relies on once the plan is applied (`a` is the analysis with every
/// ordering in place), grouped per component (order sites, the components `ordered` says yes
/// to, excluded: their inputs are ordered anyway). An ordering upstream can create a barrier:
/// once ordered, a component whose output declares a seal emits sealed streams, which an
/// order-sensitive consumer then waits on.
fn seal_sites(t: &Topology, a: &Analysis, ordered: impl Fn(usize) -> bool) -> Vec<Site> {
    // Flat `(component, …)` pairs, sorted before grouping: a large topology has hundreds of
    // thousands of barriers, too many for a map of sets each.
    let mut paths: Vec<(usize, usize)> = Vec::new();
    let mut inputs: Vec<(usize, usize)> = Vec::new();
    for e in a.events() {
        let (c, path, guards) = match e {
            Event::SealConsumed {
                component, path, ..
            } => (*component, *path, std::slice::from_ref(path)),
            Event::ProtectedRead {
                component,
                path,
                guards,
            } if !guards.is_empty() => (*component, *path, &guards[..]),
            _ => continue,
        };
        if ordered(c) {
            continue;
        }
        paths.push((c, path));
        let comp = &t.components[c];
        inputs.extend(guards.iter().map(|&g| (c, comp.paths[g].input)));
    }
    for v in [&mut paths, &mut inputs] {
        v.sort_unstable();
        v.dedup();
    }
    // Every barrier has a path and an input, so the two group alike.
    let by_component = |v: &[(usize, usize)]| {
        v.chunk_by(|x, y| x.0 == y.0)
            .map(|g| (g[0].0, g.iter().map(|&(_, x)| x).collect::<Vec<_>>()))
            .collect::<Vec<_>>()
    };
    by_component(&paths)
        .into_iter()
        .zip(by_component(&inputs))
        .map(|((c, paths), (_, inputs))| {
            let comp = &t.components[c];
            let mut keys: Vec<String> = inputs
                .iter()
                .map(|&i| a.label(comp.inputs[i].from).to_string())
                .collect();
            keys.sort_unstable();
            keys.dedup();
            Site {
                component: c,
                kind: SiteKind::Seal {
                    paths,
                    inputs,
                    keys,
                },
            }
        })
        .collect()
}

/// What walks up the chains of passed-on labels read, by port index, in flat arrays: a large
/// plan walks millions of steps.
///
/// A walk only stops at, or narrows its fields at, a port that declares fields, ends its chain
/// or belongs to a loop: at any other port it goes on to the port its label was passed on from.
/// So each link leads straight to the next port up the chain where something can happen, and a
/// walk reads only those.
struct Chains<'t> {
    /// Per port, what a step reads, in one place.
    links: Vec<Link>,
    /// The distinct declared field lists (the loader shares equal ones), which [`Link::fields`]
    /// points into: few enough to stay cached while walks read them.
    fields: Vec<&'t [String]>,
}

/// A port as a walk up a chain sees it.
#[derive(Clone, Copy)]
struct Link {
    /// The next port up the chain where a walk can stop or narrow (`u32::MAX`: none, the chain
    /// ends here): the port its label was passed on from, or the first such port above it.
    next: u32,
    /// Its component.
    component: u32,
    /// Its declared fields, as an index into [`Chains::fields`] (`u32::MAX`: none declared).
    fields: u32,
    /// Its output's index in its component (`u16::MAX`: too large to keep here), so that a
    /// walk's last port is named without reading the analysis' port tables.
    output: u16,
    /// Whether its component is in a loop, where a walk can come back to it.
    looping: bool,
}

impl<'t> Chains<'t> {
    fn new(t: &'t Topology, a: &Analysis) -> Self {
        let mut links: Vec<Link> = Vec::with_capacity(a.ports());
        links.extend(
            a.pass_sources()
                .map(|(Port { component, output }, pass)| Link {
                    next: pass.and_then(|p| u32::try_from(p).ok()).unwrap_or(u32::MAX),
                    component: u32::try_from(component).unwrap_or(u32::MAX),
                    fields: u32::MAX,
                    output: u16::try_from(output).unwrap_or(u16::MAX),
                    looping: false,
                }),
        );
        let mut fields = Vec::new();
        let mut numbers: rustc_hash::FxHashMap<*const String, u32> = Default::default();
        for (component, c) in t.components.iter().enumerate() {
            for (output, o) in c.outputs.iter().enumerate() {
                if let Some(declared) = o.fields.as_deref() {
                    let port = a.port_index(Port { component, output });
                    links[port].fields = *numbers.entry(declared.as_ptr()).or_insert_with(|| {
                        fields.push(declared);
                        u32::try_from(fields.len() - 1).unwrap_or(u32::MAX)
                    });
                }
            }
        }
        for ports in a.loop_ports() {
            for link in &mut links[ports] {
                link.looping = true;
            }
        }
        // Outside loops a port comes after the ports its component reads, so the link of the
        // port passed on from is final when it is read here.
        for port in 0..links.len() {
            let pass = links[port].next as usize;
            if let Some(&above) = links.get(pass)
                && pass < port
                && !above.stops()
            {
                links[port].next = above.next;
            }
        }
        Chains { links, fields }
    }

    /// The port with index `port`, from its link.
    fn port(&self, a: &Analysis, port: usize) -> Port {
        let link = self.links[port];
        if link.output == u16::MAX || link.component == u32::MAX {
            return a.port_at(port);
        }
        Port {
            component: link.component as usize,
            output: usize::from(link.output),
        }
    }

    /// The first port at or above `port` where a walk can stop or narrow.
    fn first(&self, port: usize) -> usize {
        let link = self.links[port];
        if link.stops() {
            port
        } else {
            link.next as usize
        }
    }
}

impl Link {
    /// Whether a walk can stop or narrow its fields here.
    fn stops(self) -> bool {
        self.looping || self.fields != u32::MAX || self.next == u32::MAX
    }
}

/// One walker along [`Chains`] (several may share them).
struct Walk<'c, 't> {
    chains: &'c Chains<'t>,
    /// The walk that last visited each port, and the current walk's number.
    visited: Vec<u32>,
    walk: u32,
}

impl<'c, 't> Walk<'c, 't> {
    fn new(chains: &'c Chains<'t>) -> Self {
        Walk {
            chains,
            visited: vec![0; chains.links.len()],
            walk: 0,
        }
    }

    /// Starts a walk: no port is visited yet.
    fn start(&mut self) {
        self.walk = self.walk.wrapping_add(1);
        if self.walk == 0 {
            self.visited.fill(0);
            self.walk = 1;
        }
    }

    /// Marks a port visited by this walk; false when it already was.
    fn visit(&mut self, port: usize) -> bool {
        std::mem::replace(&mut self.visited[port], self.walk) != self.walk
    }
}

/// Inputs whose sealing would protect the origin paths, traced upstream (through components that
/// pass the stream on unchanged, never into the site itself) to where a seal could be declared,
/// with the gate fields that survive to the site. A suggestion with no fields names the output
/// where the last gate field is dropped.
fn seal_suggestions(
    t: &Topology,
    a: &Analysis,
    walk: &mut Walk<'_, '_>,
    c: usize,
    paths: &[(usize, usize)],
) -> Vec<SealSuggestion> {
    let comp = &t.components[c];
    let mut out: Vec<SealSuggestion> = Vec::new();
    // Past a few suggestions, the ports already suggested are looked up in a set (a component
    // may have thousands of inputs, each with its own suggestion).
    let mut suggested: Option<rustc_hash::FxHashSet<Port>> = None;
    for &(_, pi) in paths {
        let path = &comp.paths[pi];
        let Some(blazes_annotations::Gate::Fields(gate)) = path.annotation.gate() else {
            continue;
        };
        if gate.is_empty() {
            continue;
        }
        // The streams that must be sealed: the path's own input for a write; the write paths
        // not fed a compatible seal, for a read.
        // An `OW` write must be sealed compatibly with its own gate too: only fields in both
        // gates help, and a `*` or global write gate takes no keyed seal at all.
        let inputs: Vec<(usize, Option<&BTreeSet<String>>)> = if path.annotation.is_write() {
            vec![(path.input, None)]
        } else {
            a.unprotecting_writes(t, c, pi)
                .into_iter()
                .filter_map(|w| {
                    let wp = &comp.paths[w];
                    match wp.annotation.gate() {
                        None => Some((wp.input, None)),
                        Some(blazes_annotations::Gate::Fields(f)) if !f.is_empty() => {
                            Some((wp.input, Some(f)))
                        }
                        Some(_) => None,
                    }
                })
                .collect()
        };
        for (input, own) in inputs {
            // The gate's fields (sorted, as the gate is), narrowed along the walk.
            let mut fields: Vec<&str> = gate
                .iter()
                .filter(|f| own.is_none_or(|o| o.contains(*f)))
                .map(String::as_str)
                .collect();
            if fields.is_empty() {
                continue;
            }
            // Only ports where the walk can stop or narrow are visited (see [`Chains`]), and
            // only a loop's can be visited twice.
            let mut port = walk.chains.first(a.port_index(comp.inputs[input].from));
            walk.start();
            loop {
                let link = walk.chains.links[port];
                if let Some(declared) = walk.chains.fields.get(link.fields as usize) {
                    let kept = crate::model::FieldSet::new(declared, &t.implicit, fields.len());
                    fields.retain(|f| kept.contains(f));
                }
                let next = link.next as usize;
                if next == u32::MAX as usize
                    || (link.looping && !walk.visit(port))
                    || walk.chains.links[next].component as usize == c
                    || fields.is_empty()
                {
                    break;
                }
                port = next;
            }
            // When the fields ran out, the walk stopped where the last one was dropped.
            let port = walk.chains.port(a, port);
            let new = match &mut suggested {
                Some(ports) => ports.insert(port),
                None => !out.iter().any(|s| s.port == port),
            };
            if new {
                out.push(SealSuggestion {
                    port,
                    fields: fields.into_iter().map(String::from).collect(),
                });
                if suggested.is_none() && out.len() > 8 {
                    suggested = Some(out.iter().map(|s| s.port).collect());
                }
            }
        }
    }
    out
}

/// Reads what tracing the seal suggestions of `origins` (components and their origin paths)
/// starts with, one step at a time for all of them: whether their components act replicated,
/// their paths and inputs, the ports and labels the inputs read, and the first links of the
/// walks from there. In a large topology each read is a cache miss, and tracing one origin
/// waits for its misses one after another; here the misses of a step are independent of one
/// another and overlap, and tracing then finds them cached.
fn warm(t: &Topology, a: &Analysis, chains: &Chains<'_>, origins: &[(usize, &[(usize, usize)])]) {
    let mut sum = 0usize;
    let mut read = |x: usize| sum = sum.wrapping_add(x);
    let components = || origins.iter().map(|&(c, _)| &t.components[c]);
    for &(c, _) in origins {
        read(usize::from(a.acts_replicated(c)));
    }
    for comp in components() {
        read(comp.paths.len() ^ comp.inputs.len());
    }
    // Every path of a component may be read (a read path looks at the component's writes).
    for p in components().flat_map(|comp| comp.paths.iter()) {
        read(p.input);
    }
    let inputs =
        || components().flat_map(|comp| comp.paths.iter().filter_map(|p| comp.inputs.get(p.input)));
    for input in inputs() {
        read(input.from.component);
    }
    let mut ports: Vec<usize> = inputs().map(|input| a.port_index(input.from)).collect();
    for (input, &port) in inputs().zip(&ports) {
        read(port ^ usize::from(a.lbl(input.from) == Lbl::Bot));
    }
    // Further along the walks than some go.
    for _ in 0..WARM_STEPS {
        for port in &mut ports {
            if let Some(link) = chains.links.get(*port) {
                read(link.component as usize);
                *port = link.next as usize;
            }
        }
    }
    std::hint::black_box(sum);
}

/// Checks the analysis with remedies applied.
fn verify(t: &Topology, after: &Analysis) -> Vec<String> {
    after
        .unverified()
        .into_iter()
        .map(|port| {
            format!(
                "`{}` is still {} after the plan",
                t.port_name(port),
                after.label(port)
            )
        })
        .collect()
}
