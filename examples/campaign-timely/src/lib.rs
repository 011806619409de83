//! The ad network's CAMPAIGN query (Blazes, ICDE 2014, §VI) as a timely dataflow.
//!
//! Ad servers log clicks `(campaign, id, window)`; analysts ask "how many clicks did ad `id` of
//! campaign `c` get?". `report` counts clicks (`CW`) and answers requests (`OR(id, campaign)`).
//!
//! - **uncoordinated**: a request is answered with whatever count `report` has when it arrives:
//!   answers depend on how clicks and requests interleave (`Inst`/`Run` in the analysis).
//! - **sealed**: the click log is punctuated per campaign (`examples/adnet-campaign-sealed.yaml`);
//!   with the shim `blazes fix` generated from that file ([`sealed_shim`]), `report` answers a
//!   request only once its campaign's clicks are sealed by every ad server: identical, complete
//!   answers in every run and on any number of workers.
//! - **ordered**: the order site of the unsealed topology (`examples/adnet-campaign.yaml`):
//!   `report` is replicated, so the plan is a dynamic total order ([`ordered_shim`]): one
//!   sequencer orders clicks and requests, and every worker is a replica applying that order.
//!   Replicas agree with each other; answers may still differ between runs (`Run` remains, as
//!   SPEC §6 says of dynamic orderings).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use blazes_runtime::Partition;
use blazes_runtime::timely::timely;
use blazes_runtime::timely::{Event, Released};
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Concat, Probe};
use timely::dataflow::{InputHandle, ProbeHandle, Stream};

#[rustfmt::skip]
pub mod sealed_shim;
#[rustfmt::skip]
pub mod ordered_shim;

/// Which coordination the dataflow uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// None: the bug.
    Uncoordinated,
    /// Seal barrier per campaign (the generated shim of `adnet-campaign-sealed.yaml`).
    Sealed,
    /// Dynamic total order at `report` (the generated shim of `adnet-campaign.yaml`).
    Ordered,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "uncoordinated" => Ok(Mode::Uncoordinated),
            "sealed" => Ok(Mode::Sealed),
            "ordered" => Ok(Mode::Ordered),
            other => Err(format!(
                "unknown mode `{other}` (expected uncoordinated, sealed or ordered)"
            )),
        }
    }
}

/// A click on an ad.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Click {
    /// The campaign.
    pub campaign: u32,
    /// The ad.
    pub id: u32,
    /// The time window.
    pub window: u32,
}

/// An analyst's request: clicks of ad `id` in `campaign`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Request {
    /// The campaign.
    pub campaign: u32,
    /// The ad.
    pub id: u32,
}

impl sealed_shim::ReportClickFields for Click {
    type Campaign = u32;
    fn campaign(&self) -> u32 {
        self.campaign
    }
}

/// Requests are routed like clicks (by campaign), so a request meets its campaign's barrier.
impl sealed_shim::ReportClickFields for Request {
    type Campaign = u32;
    fn campaign(&self) -> u32 {
        self.campaign
    }
}

/// `(campaign, id, clicks)`: a response.
pub type Response = (u32, u32, u64);

/// A small deterministic generator (splitmix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

/// The input: `clicks` clicks over `campaigns` campaigns of 4 ads, and one request per ad.
pub fn workload(campaigns: u32, clicks: usize) -> (Vec<Click>, Vec<Request>) {
    let mut rng = Rng::new(0xAD5);
    let clicks = (0..clicks)
        .map(|_| Click {
            campaign: rng.below(u64::from(campaigns)) as u32,
            id: rng.below(4) as u32,
            window: rng.below(3) as u32,
        })
        .collect();
    let requests = (0..campaigns)
        .flat_map(|campaign| (0..4).map(move |id| Request { campaign, id }))
        .collect();
    (clicks, requests)
}

/// The right answers: every request answered with the total clicks of its ad.
pub fn reference(clicks: &[Click], requests: &[Request]) -> BTreeSet<Response> {
    let mut counts: HashMap<(u32, u32), u64> = HashMap::new();
    for c in clicks {
        *counts.entry((c.campaign, c.id)).or_insert(0) += 1;
    }
    requests
        .iter()
        .map(|r| {
            (
                r.campaign,
                r.id,
                counts.get(&(r.campaign, r.id)).copied().unwrap_or(0),
            )
        })
        .collect()
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The variant.
    pub mode: Mode,
    /// Worker threads.
    pub workers: usize,
    /// Seed of the delivery jitter: where requests are interleaved between clicks, and how many
    /// scheduling steps happen between deliveries.
    pub seed: u64,
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Responses per worker that produced them (one `report` replica per worker in the ordered
    /// variant; partitions of `report` otherwise).
    pub responses: BTreeMap<usize, BTreeSet<Response>>,
    /// Protocol violations the seal barrier reported.
    pub errors: Vec<String>,
}

impl Outcome {
    /// Every response, whoever produced it.
    pub fn all(&self) -> BTreeSet<Response> {
        self.responses.values().flatten().copied().collect()
    }
}

type Shared<T> = Arc<Mutex<T>>;

/// An input handle of records `D`.
type In<D> = InputHandle<u64, timely::container::CapacityContainerBuilder<Vec<D>>>;

/// An input of `report` for the dynamic order: both streams merged.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ReportInput {
    /// A click.
    Click(Click),
    /// A request.
    Request(Request),
}

fn route<R: sealed_shim::ReportClickFields>(r: &R) -> u64 {
    sealed_shim::report_click_route(r)
}

/// Runs the CAMPAIGN query: click `i` and request `i` are read by worker `i % workers`.
pub fn run(config: &RunConfig, clicks: &[Click], requests: &[Request]) -> Result<Outcome, String> {
    let store: Shared<Outcome> = Arc::new(Mutex::new(Outcome::default()));
    let clicks = Arc::new(clicks.to_vec());
    let requests = Arc::new(requests.to_vec());
    let (mode, seed) = (config.mode, config.seed);
    let shared = Arc::clone(&store);
    let guards = timely::execute(
        timely::Config::process(config.workers.max(1)),
        move |worker| {
            let index = worker.index();
            let peers = worker.peers();
            let store = Arc::clone(&shared);
            let mut click_in: In<Event<(u32,), Click>> = InputHandle::new();
            let mut request_in: In<Request> = InputHandle::new();
            let probe = ProbeHandle::new();
            worker.dataflow::<u64, _, _>(|scope| {
                let clicks = click_in.to_stream(scope);
                let requests = request_in.to_stream(scope);
                let responses = match mode {
                    Mode::Uncoordinated => report_uncoordinated(clicks, requests),
                    Mode::Sealed => report_sealed(clicks, requests, peers as u64, &store),
                    Mode::Ordered => report_ordered(clicks, requests),
                };
                let store = Arc::clone(&store);
                responses
                    .probe_with(&probe)
                    .sink(Pipeline, "cache", move |(input, _)| {
                        input.for_each(|_, data| {
                            if let Ok(mut o) = store.lock() {
                                o.responses.entry(index).or_default().extend(data.drain(..));
                            }
                        });
                    });
            });

            // This worker's share, with requests interleaved at seeded points.
            let mut rng = Rng::new(seed ^ (index as u64 + 1).wrapping_mul(0x9E37));
            let mine: Vec<Click> = clicks.iter().skip(index).step_by(peers).copied().collect();
            let mut asks: Vec<Request> = requests
                .iter()
                .skip(index)
                .step_by(peers)
                .copied()
                .collect();
            let mut last: HashMap<u32, usize> = HashMap::new();
            for (i, c) in mine.iter().enumerate() {
                last.insert(c.campaign, i);
            }
            for (i, c) in mine.iter().enumerate() {
                click_in.send(Event::Record(*c));
                if mode == Mode::Sealed && last.get(&c.campaign) == Some(&i) {
                    click_in.send(Event::Seal((c.campaign,)));
                }
                if !asks.is_empty()
                    && rng.below(mine.len() as u64 / asks.len().max(1) as u64 + 1) == 0
                {
                    let j = rng.below(asks.len() as u64) as usize;
                    request_in.send(asks.swap_remove(j));
                }
                if rng.below(8) == 0 {
                    click_in.flush();
                    request_in.flush();
                    for _ in 0..rng.below(3) {
                        worker.step();
                    }
                }
            }
            if mode == Mode::Sealed {
                // Campaigns this ad server logged no click for are sealed too (count 0).
                let campaigns: BTreeSet<u32> = clicks
                    .iter()
                    .map(|c| c.campaign)
                    .chain(requests.iter().map(|r| r.campaign))
                    .collect();
                for c in campaigns {
                    if !last.contains_key(&c) {
                        click_in.send(Event::Seal((c,)));
                    }
                }
            }
            for r in asks {
                request_in.send(r);
            }
            drop(click_in);
            drop(request_in);
            while !probe.done() {
                worker.step();
            }
        },
    )?;
    for r in guards.join() {
        r?;
    }
    let outcome = store
        .lock()
        .map_err(|_| "a worker panicked while holding the results".to_string())?
        .clone();
    Ok(outcome)
}

fn click_records<'s>(
    clicks: Stream<'s, u64, Vec<Event<(u32,), Click>>>,
) -> Stream<'s, u64, Vec<Click>> {
    clicks.unary(Pipeline, "click records", |_, _| {
        move |input, output| {
            input.for_each(|cap, data| {
                let mut session = output.session(&cap);
                for e in data.drain(..) {
                    if let Event::Record(c) = e {
                        session.give(c);
                    }
                }
            });
        }
    })
}

/// `report` without coordination: requests see whatever clicks have arrived.
fn report_uncoordinated<'s>(
    clicks: Stream<'s, u64, Vec<Event<(u32,), Click>>>,
    requests: Stream<'s, u64, Vec<Request>>,
) -> Stream<'s, u64, Vec<Response>> {
    click_records(clicks).binary(
        requests,
        Exchange::new(route::<Click>),
        Exchange::new(route::<Request>),
        "report (uncoordinated)",
        |_, _| {
            let mut counts: HashMap<(u32, u32), u64> = HashMap::new();
            move |clicks, requests, output| {
                clicks.for_each(|_, data| {
                    for c in data.drain(..) {
                        *counts.entry((c.campaign, c.id)).or_insert(0) += 1;
                    }
                });
                requests.for_each(|cap, data| {
                    let mut session = output.session(&cap);
                    for r in data.drain(..) {
                        let n = counts.get(&(r.campaign, r.id)).copied().unwrap_or(0);
                        session.give((r.campaign, r.id, n));
                    }
                });
            }
        },
    )
}

/// `report` behind the generated seal barrier: a request waits for its campaign's seal.
fn report_sealed<'s>(
    clicks: Stream<'s, u64, Vec<Event<(u32,), Click>>>,
    requests: Stream<'s, u64, Vec<Request>>,
    producers: u64,
    store: &Shared<Outcome>,
) -> Stream<'s, u64, Vec<Response>> {
    let routed = sealed_shim::report_click_punctuate(clicks);
    let released: Stream<'s, u64, Vec<Released<(u32,), Click>>> =
        sealed_shim::report_click_seal_barrier(routed, producers);
    let store = Arc::clone(store);
    released.binary(
        requests,
        Pipeline,
        Exchange::new(route::<Request>),
        "report (sealed)",
        move |_, _| {
            // Complete campaigns: clicks per ad. Requests waiting for their campaign.
            let mut complete: HashMap<u32, HashMap<u32, u64>> = HashMap::new();
            let mut waiting: HashMap<u32, Vec<Request>> = HashMap::new();
            move |released, requests, output| {
                released.for_each(|cap, data| {
                    for item in data.drain(..) {
                        match item {
                            Ok(Partition {
                                key: (campaign,),
                                records,
                            }) => {
                                let mut per_ad: HashMap<u32, u64> = HashMap::new();
                                for c in &records {
                                    *per_ad.entry(c.id).or_insert(0) += 1;
                                }
                                let answers: Vec<Response> = waiting
                                    .remove(&campaign)
                                    .unwrap_or_default()
                                    .into_iter()
                                    .map(|r| {
                                        (campaign, r.id, per_ad.get(&r.id).copied().unwrap_or(0))
                                    })
                                    .collect();
                                complete.insert(campaign, per_ad);
                                if !answers.is_empty() {
                                    output.session(&cap).give_iterator(answers.into_iter());
                                }
                            }
                            Err(e) => {
                                if let Ok(mut o) = store.lock() {
                                    o.errors.push(e.to_string());
                                }
                            }
                        }
                    }
                });
                requests.for_each(|cap, data| {
                    let mut session = output.session(&cap);
                    for r in data.drain(..) {
                        match complete.get(&r.campaign) {
                            Some(per_ad) => session.give((
                                r.campaign,
                                r.id,
                                per_ad.get(&r.id).copied().unwrap_or(0),
                            )),
                            // Answered when the campaign's seal completes the partition, at the
                            // time of that release.
                            None => waiting.entry(r.campaign).or_default().push(r),
                        }
                    }
                });
            }
        },
    )
}

/// `report` behind the generated dynamic order: every worker is a replica applying the
/// sequencer's order of clicks and requests.
fn report_ordered<'s>(
    clicks: Stream<'s, u64, Vec<Event<(u32,), Click>>>,
    requests: Stream<'s, u64, Vec<Request>>,
) -> Stream<'s, u64, Vec<Response>> {
    let inputs = click_records(clicks)
        .unary(Pipeline, "clicks", |_, _| {
            |input, output| {
                input.for_each(|cap, data| {
                    output
                        .session(&cap)
                        .give_iterator(data.drain(..).map(ReportInput::Click));
                });
            }
        })
        .concat(requests.unary(Pipeline, "requests", |_, _| {
            |input, output| {
                input.for_each(|cap, data| {
                    output
                        .session(&cap)
                        .give_iterator(data.drain(..).map(ReportInput::Request));
                });
            }
        }));
    let mut counts: HashMap<(u32, u32), u64> = HashMap::new();
    let applied = ordered_shim::report_order(inputs, move |_seq, input: ReportInput| match input {
        ReportInput::Click(c) => {
            *counts.entry((c.campaign, c.id)).or_insert(0) += 1;
            None
        }
        ReportInput::Request(r) => Some((
            r.campaign,
            r.id,
            counts.get(&(r.campaign, r.id)).copied().unwrap_or(0),
        )),
    });
    applied.unary(Pipeline, "responses", |_, _| {
        |input, output| {
            input.for_each(|cap, data| {
                output.session(&cap).give_iterator(data.drain(..).flatten());
            });
        }
    })
}
