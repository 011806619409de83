//! The operators of the word count.

use std::collections::BTreeMap;

use blazes_annotations::blazes;

/// A tweet and the batch it arrived in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tweet {
    /// The text.
    pub text: String,
    /// The batch number.
    pub batch: u64,
}

/// The source: tweets in batches. After the last tweet of a batch it emits a seal for that
/// batch ("no more tweets with this `batch`"), hence `seal(batch)`. Without the seal,
/// `#[blazes(name = "tweets")]` declares an unsealed source: then `Count` needs ordering, and
/// `tests/coordination.rs` fails.
#[blazes(seal(batch), name = "tweets")]
pub fn tweets(batches: &[(u64, &[&str])]) -> Vec<Tweet> {
    batches
        .iter()
        .flat_map(|(batch, texts)| {
            texts.iter().map(move |t| Tweet {
                text: (*t).to_string(),
                batch: *batch,
            })
        })
        .collect()
}

/// Splits a tweet into `(word, batch)` records: the same words for every input order.
#[blazes(CR)]
pub fn split(tweet: &Tweet) -> impl Iterator<Item = (String, u64)> + '_ {
    tweet
        .text
        .split_whitespace()
        .map(move |w| (w.to_string(), tweet.batch))
}

/// Counts words per batch. Emitting a count before the batch is complete makes the emitted
/// value depend on arrival order within the `(word, batch)` partition: `OW(word, batch)`.
#[blazes(OW(word, batch))]
#[derive(Debug, Default)]
pub struct Count {
    counts: BTreeMap<(String, u64), u64>,
}

impl Count {
    /// Counts one word.
    pub fn push(&mut self, word: String, batch: u64) {
        *self.counts.entry((word, batch)).or_insert(0) += 1;
    }

    /// Emits and forgets the counts of a batch (call it when the batch is sealed).
    pub fn seal(&mut self, batch: u64) -> Vec<(String, u64, u64)> {
        let done: Vec<(String, u64)> = self
            .counts
            .keys()
            .filter(|(_, b)| *b == batch)
            .cloned()
            .collect();
        done.into_iter()
            .filter_map(|k| self.counts.remove(&k).map(|n| (k.0, k.1, n)))
            .collect()
    }
}

/// Adds committed counts to a store: addition commutes, so the store does not depend on the
/// order of commits: `CW`.
#[blazes(CW)]
#[derive(Debug, Default)]
pub struct Commit {
    store: BTreeMap<String, u64>,
}

impl Commit {
    /// Adds a count.
    pub fn commit(&mut self, word: &str, count: u64) {
        *self.store.entry(word.to_string()).or_insert(0) += count;
    }

    /// The total for a word.
    pub fn total(&self, word: &str) -> u64 {
        self.store.get(word).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_do_what_their_annotations_say() {
        let input = tweets(&[(1, &["a b a"]), (2, &["b"])]);
        let mut count = Count::default();
        for t in &input {
            for (w, b) in split(t) {
                count.push(w, b);
            }
        }
        let mut commit = Commit::default();
        for batch in [2, 1] {
            for (w, _, n) in count.seal(batch) {
                commit.commit(&w, n);
            }
        }
        assert_eq!(commit.total("a"), 2);
        assert_eq!(commit.total("b"), 2);
    }
}
