//! The paper's Storm word count (Blazes, ICDE 2014, §VI) as a timely dataflow, in three
//! variants:
//!
//! - **uncoordinated**: `count` (`OW(word, batch)`) emits its running count for every
//!   `(word, batch)` it touched each time a container of words arrives; `commit` (`CW`) stores
//!   every count it is sent. What gets committed depends on how deliveries were chunked and
//!   interleaved: the analyzer's `Run` label, made visible.
//! - **sealed**: `tweets` are punctuated per batch (`examples/wordcount-sealed.yaml`); the shim
//!   that `blazes fix` generated from that file ([`sealed_shim`]) punctuates the split words and
//!   runs a seal barrier in front of `count`, which counts each complete batch once.
//! - **ordered**: the order site of the unsealed topology (`examples/wordcount.yaml`), with the
//!   deterministic epoch order that `blazes fix` generated ([`ordered_shim`]): every word goes to
//!   one ordering worker, which applies batches in order.
//!
//! [`run`] executes one variant on a number of workers and returns what `commit` stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use blazes_runtime::Partition;
use blazes_runtime::timely::timely;
use blazes_runtime::timely::{Event, Released};
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::generic::Operator;
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
    /// A seal barrier per batch (the generated shim of `wordcount-sealed.yaml`).
    Sealed,
    /// A deterministic order of all of `count`'s inputs (the shim of `wordcount.yaml`).
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

/// A tweet of a batch.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Tweet {
    /// The batch (Storm transactional batch id).
    pub batch: u64,
    /// The text.
    pub text: String,
}

/// A word of a tweet, as `splitter` emits it on `count.words`: the word (as its index in the
/// vocabulary) and the batch.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Word {
    /// The batch.
    pub batch: u64,
    /// Index of the word in [`VOCABULARY`].
    pub word: u32,
}

impl sealed_shim::CountWordsFields for Word {
    type Batch = u64;
    fn batch(&self) -> u64 {
        self.batch
    }
    type Word = u32;
    fn word(&self) -> u32 {
        self.word
    }
}

/// The words tweets are made of.
pub const VOCABULARY: &[&str] = &[
    "the",
    "blazes",
    "seal",
    "order",
    "stream",
    "storm",
    "timely",
    "count",
    "word",
    "batch",
    "commit",
    "tweet",
    "calm",
    "confluent",
    "replica",
    "sequencer",
    "epoch",
    "frontier",
    "barrier",
    "punctuation",
    "partition",
    "click",
    "campaign",
    "report",
    "cache",
    "window",
    "query",
    "ad",
    "server",
    "log",
    "dataflow",
    "operator",
    "monotone",
    "lattice",
    "label",
    "async",
    "run",
    "inst",
    "diverge",
    "taint",
];

/// A small deterministic generator (splitmix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The input: `batches` batches of `per_batch` tweets of 3 to 12 words each (always the same).
pub fn tweets(batches: u64, per_batch: usize) -> Vec<Tweet> {
    let mut rng = Rng::new(0x5EED);
    let mut out = Vec::new();
    for batch in 0..batches {
        for _ in 0..per_batch {
            let n = 3 + rng.below(10);
            let words: Vec<&str> = (0..n)
                .map(|_| VOCABULARY[rng.below(VOCABULARY.len() as u64) as usize])
                .collect();
            out.push(Tweet {
                batch,
                text: words.join(" "),
            });
        }
    }
    out
}

/// The committed `(word, batch, count)` tuples.
pub type Committed = BTreeSet<(String, u64, u64)>;

/// The right answer: the count of every word in every batch.
pub fn reference(tweets: &[Tweet]) -> Committed {
    let mut counts: BTreeMap<(String, u64), u64> = BTreeMap::new();
    for t in tweets {
        for w in t.text.split_whitespace() {
            *counts.entry((w.to_string(), t.batch)).or_insert(0) += 1;
        }
    }
    counts.into_iter().map(|((w, b), c)| (w, b, c)).collect()
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The variant.
    pub mode: Mode,
    /// Worker threads.
    pub workers: usize,
    /// Inject seeded delivery jitter: tweets are sent in chunks of random size with a random
    /// number of scheduling steps between them. `None` sends each batch at once.
    pub jitter: Option<u64>,
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// What `commit` stored.
    pub committed: Committed,
    /// Words processed by `count`.
    pub words: u64,
    /// Protocol violations the seal barrier reported.
    pub errors: Vec<String>,
}

fn vocabulary_index() -> HashMap<&'static str, u32> {
    VOCABULARY
        .iter()
        .enumerate()
        .map(|(i, w)| (*w, i as u32))
        .collect()
}

fn word_name(i: u32) -> String {
    VOCABULARY
        .get(i as usize)
        .map_or_else(|| format!("#{i}"), |w| (*w).to_string())
}

type Shared<T> = Arc<Mutex<T>>;

/// An input handle of records `D`.
type In<D> = InputHandle<u64, timely::container::CapacityContainerBuilder<Vec<D>>>;

fn commit<'s>(counts: Stream<'s, u64, Vec<(u32, u64, u64)>>, store: Shared<Outcome>) {
    // `commit`: CW, one instance (worker 0), stores every count it is sent.
    counts.sink(
        Exchange::new(|_: &(u32, u64, u64)| 0),
        "commit",
        move |(input, _)| {
            input.for_each(|_, data| {
                if let Ok(mut o) = store.lock() {
                    for (w, b, c) in data.drain(..) {
                        o.committed.insert((word_name(w), b, c));
                    }
                }
            });
        },
    );
}

/// Runs the word count on `config.workers` threads of this process; `tweets` are spread over
/// the workers (tweet `i` is read by worker `i % workers`, where its `splitter` instance runs).
pub fn run(config: &RunConfig, tweets: &[Tweet]) -> Result<Outcome, String> {
    run_on(
        config,
        vec![timely::Config::process(config.workers.max(1))],
        tweets,
    )
}

/// Runs the word count on two timely processes (two instances in two threads of this process,
/// connected over TCP on loopback addresses), each with `config.workers` worker threads.
pub fn run_two_processes(config: &RunConfig, tweets: &[Tweet]) -> Result<Outcome, String> {
    let mut addresses = Vec::new();
    for _ in 0..2 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        addresses.push(format!("127.0.0.1:{port}"));
    }
    let configs = (0..2)
        .map(|process| timely::Config {
            communication: timely::CommunicationConfig::Cluster {
                threads: config.workers.max(1),
                process,
                addresses: addresses.clone(),
                report: false,
                zerocopy: false,
            },
            worker: timely::WorkerConfig::default(),
        })
        .collect();
    run_on(config, configs, tweets)
}

/// Runs one timely instance per configuration (in its own thread) and collects what `commit`
/// stored across all of them.
fn run_on(
    config: &RunConfig,
    configs: Vec<timely::Config>,
    tweets: &[Tweet],
) -> Result<Outcome, String> {
    let store: Shared<Outcome> = Arc::new(Mutex::new(Outcome::default()));
    let tweets: Arc<Vec<Tweet>> = Arc::new(tweets.to_vec());
    let (mode, jitter) = (config.mode, config.jitter);
    let instances: Vec<_> = configs
        .into_iter()
        .map(|timely_config| {
            let store = Arc::clone(&store);
            let tweets = Arc::clone(&tweets);
            std::thread::spawn(move || -> Result<(), String> {
                let guards = timely::execute(timely_config, move |worker| {
                    worker_main(worker, mode, jitter, &tweets, &store);
                })?;
                for r in guards.join() {
                    r?;
                }
                Ok(())
            })
        })
        .collect();
    for instance in instances {
        instance
            .join()
            .map_err(|_| "a timely instance panicked".to_string())??;
    }
    let outcome = store
        .lock()
        .map_err(|_| "a worker panicked while holding the results".to_string())?
        .clone();
    Ok(outcome)
}

/// One worker: builds the dataflow and feeds it this worker's share of the tweets.
fn worker_main(
    worker: &mut timely::worker::Worker,
    mode: Mode,
    jitter: Option<u64>,
    tweets: &[Tweet],
    store: &Shared<Outcome>,
) {
    let index = worker.index();
    let peers = worker.peers();
    let mut input: In<Event<(u64,), Tweet>> = InputHandle::new();
    let probe = ProbeHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        let tweets = input.to_stream(scope);
        // `splitter`: CR, on the worker that read the tweet; seals pass through in order.
        let vocab = vocabulary_index();
        let words: Stream<'_, u64, Vec<Event<(u64,), Word>>> =
            tweets.unary(Pipeline, "splitter", move |_, _| {
                move |input, output| {
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        for event in data.drain(..) {
                            match event {
                                Event::Record(t) => {
                                    for w in t.text.split_whitespace() {
                                        if let Some(&word) = vocab.get(w) {
                                            session.give(Event::Record(Word {
                                                batch: t.batch,
                                                word,
                                            }));
                                        }
                                    }
                                }
                                Event::Seal(k) => session.give(Event::Seal(k)),
                            }
                        }
                    });
                }
            });
        let counts = match mode {
            Mode::Uncoordinated => count_uncoordinated(words, store),
            Mode::Sealed => count_sealed(words, peers as u64, store),
            Mode::Ordered => count_ordered(words, store),
        };
        let counts = counts.probe_with(&probe);
        commit(counts, Arc::clone(store));
    });

    // The source: this worker's share of the tweets, batch by batch.
    let mut rng = jitter.map(|s| Rng::new(s ^ (index as u64).wrapping_mul(0x1234_5678_9ABC)));
    let mine: Vec<&Tweet> = tweets
        .iter()
        .enumerate()
        .filter(|(i, _)| i % peers == index)
        .map(|(_, t)| t)
        .collect();
    let batches = tweets.iter().map(|t| t.batch + 1).max().unwrap_or(0);
    let mut next = 0;
    for batch in 0..batches {
        while next < mine.len() && mine[next].batch == batch {
            input.send(Event::Record(mine[next].clone()));
            next += 1;
            if let Some(rng) = rng.as_mut()
                && rng.below(4) == 0
            {
                input.flush();
                for _ in 0..rng.below(3) {
                    worker.step();
                }
            }
        }
        if mode == Mode::Sealed {
            input.send(Event::Seal((batch,)));
        }
        input.advance_to(batch + 1);
        worker.step();
    }
    drop(input);
    while !probe.done() {
        worker.step();
    }
}

fn records_only<'s>(
    words: Stream<'s, u64, Vec<Event<(u64,), Word>>>,
) -> Stream<'s, u64, Vec<Word>> {
    words.unary(Pipeline, "records", |_, _| {
        move |input, output| {
            input.for_each(|cap, data| {
                let mut session = output.session(&cap);
                for e in data.drain(..) {
                    if let Event::Record(w) = e {
                        session.give(w);
                    }
                }
            });
        }
    })
}

/// `count` without coordination: running counts, emitted per arriving container.
fn count_uncoordinated<'s>(
    words: Stream<'s, u64, Vec<Event<(u64,), Word>>>,
    store: &Shared<Outcome>,
) -> Stream<'s, u64, Vec<(u32, u64, u64)>> {
    let store = Arc::clone(store);
    records_only(words).unary(
        Exchange::new(|w: &Word| sealed_shim::count_words_route(w)),
        "count (uncoordinated)",
        move |_, _| {
            let mut counts: HashMap<(u32, u64), u64> = HashMap::new();
            move |input, output| {
                input.for_each(|cap, data| {
                    let mut touched: BTreeSet<(u32, u64)> = BTreeSet::new();
                    let n = data.len() as u64;
                    for w in data.drain(..) {
                        *counts.entry((w.word, w.batch)).or_insert(0) += 1;
                        touched.insert((w.word, w.batch));
                    }
                    if let Ok(mut o) = store.lock() {
                        o.words += n;
                    }
                    let mut session = output.session(&cap);
                    for k in touched {
                        session.give((k.0, k.1, counts.get(&k).copied().unwrap_or(0)));
                    }
                });
            }
        },
    )
}

/// `count` behind the generated seal barrier: each batch counted once, complete.
fn count_sealed<'s>(
    words: Stream<'s, u64, Vec<Event<(u64,), Word>>>,
    producers: u64,
    store: &Shared<Outcome>,
) -> Stream<'s, u64, Vec<(u32, u64, u64)>> {
    let routed = sealed_shim::count_words_punctuate(words);
    let released: Stream<'s, u64, Vec<Released<(u64,), Word>>> =
        sealed_shim::count_words_seal_barrier(routed, producers);
    let store = Arc::clone(store);
    released.unary(Pipeline, "count (sealed)", move |_, _| {
        move |input, output| {
            input.for_each(|cap, data| {
                let mut session = output.session(&cap);
                for item in data.drain(..) {
                    match item {
                        Ok(Partition {
                            key: (batch,),
                            records,
                        }) => {
                            if let Ok(mut o) = store.lock() {
                                o.words += records.len() as u64;
                            }
                            // Records are sorted: equal words are adjacent.
                            let mut i = 0;
                            while i < records.len() {
                                let w = records[i].word;
                                let j = records[i..].iter().take_while(|r| r.word == w).count();
                                session.give((w, batch, j as u64));
                                i += j;
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
        }
    })
}

/// `count` behind the generated deterministic order: one worker applies batches in order.
fn count_ordered<'s>(
    words: Stream<'s, u64, Vec<Event<(u64,), Word>>>,
    store: &Shared<Outcome>,
) -> Stream<'s, u64, Vec<(u32, u64, u64)>> {
    let ordered = ordered_shim::count_order(records_only(words));
    let store = Arc::clone(store);
    ordered.unary(Pipeline, "count (ordered)", move |_, _| {
        move |input, output| {
            input.for_each(|cap, data| {
                let mut session = output.session(&cap);
                for epoch in data.drain(..) {
                    let records: Vec<Word> = epoch.records;
                    if let Ok(mut o) = store.lock() {
                        o.words += records.len() as u64;
                    }
                    // Applied in the canonical order: per (batch, word) runs of equal records.
                    let mut i = 0;
                    while i < records.len() {
                        let r = records[i];
                        let j = records[i..].iter().take_while(|x| **x == r).count();
                        session.give((r.word, r.batch, j as u64));
                        i += j;
                    }
                }
            });
        }
    })
}
