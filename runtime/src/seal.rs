//! The seal barrier (SPEC §7), consumer and producer side.
//!
//! A sealed stream carries [`Message::Data`] records and [`Message::Seal`] punctuations. A seal
//! says "producer `p` sent exactly `count` records with key value `k` to you, and will send no
//! more". Because a punctuation can overtake data on an unordered channel, the barrier compares
//! the announced count with what it received from that producer. A partition (one key value) is
//! complete when every producer of the producer set has sealed it and every count matches: a
//! unanimous vote. Complete partitions are released whole, records in canonical (sorted) order,
//! and forgotten; the key is remembered so that a record arriving after the release is reported
//! as an error instead of being dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A message on a sealed stream, as the consumer receives it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "timely", derive(serde::Serialize, serde::Deserialize))]
pub enum Message<K, R, P = u64> {
    /// A record sent by `producer`.
    Data {
        /// Who sent it (a member of the barrier's producer set).
        producer: P,
        /// The record.
        record: R,
    },
    /// `producer` sent exactly `count` records with key value `key` to this consumer, and will
    /// send no more.
    Seal {
        /// The key value being sealed.
        key: K,
        /// Who seals.
        producer: P,
        /// How many records with this key value the producer sent to this consumer.
        count: u64,
    },
}

/// A complete partition: every record with one key value, sorted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "timely", derive(serde::Serialize, serde::Deserialize))]
pub struct Partition<K, R> {
    /// The key value.
    pub key: K,
    /// Its records in canonical (ascending) order.
    pub records: Vec<R>,
}

/// A protocol violation detected by the barrier. Records involved are handed back, never dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BarrierError<K, R, P> {
    /// A record arrived for a key value whose partition was already released.
    LateRecord {
        /// The key value.
        key: K,
        /// Who sent it.
        producer: P,
        /// The record.
        record: R,
    },
    /// A message from a producer outside the producer set.
    UnknownProducer {
        /// The sender.
        producer: P,
        /// The record, if the message was data.
        record: Option<R>,
    },
    /// Two seals of one producer for one key value announce different counts.
    ConflictingSeal {
        /// The key value.
        key: K,
        /// The producer.
        producer: P,
        /// The count of the first seal.
        first: u64,
        /// The count of the later seal.
        second: u64,
    },
    /// A producer delivered more records for a key value than its seal announced.
    TooManyRecords {
        /// The key value.
        key: K,
        /// The producer.
        producer: P,
        /// The count its seal announced.
        sealed: u64,
        /// How many records arrived from it.
        received: u64,
        /// The record that went over the count, if a record did (else the seal came late).
        record: Option<R>,
    },
}

impl<K: fmt::Debug, R, P: fmt::Debug> fmt::Display for BarrierError<K, R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarrierError::LateRecord { key, producer, .. } => write!(
                f,
                "record from producer {producer:?} for key {key:?} arrived after the partition was released"
            ),
            BarrierError::UnknownProducer { producer, .. } => {
                write!(
                    f,
                    "message from producer {producer:?}, which is not in the producer set"
                )
            }
            BarrierError::ConflictingSeal {
                key,
                producer,
                first,
                second,
            } => write!(
                f,
                "producer {producer:?} sealed key {key:?} twice with different counts ({first} and {second})"
            ),
            BarrierError::TooManyRecords {
                key,
                producer,
                sealed,
                received,
                ..
            } => write!(
                f,
                "producer {producer:?} sealed key {key:?} at {sealed} records but {received} arrived"
            ),
        }
    }
}

impl<K: fmt::Debug, R: fmt::Debug, P: fmt::Debug> std::error::Error for BarrierError<K, R, P> {}

/// Per-producer vote state of one partition. One producer needs no map (the fast path).
#[derive(Debug)]
enum Votes<P> {
    Single {
        received: u64,
        sealed: Option<u64>,
    },
    Many {
        received: BTreeMap<P, u64>,
        sealed: BTreeMap<P, u64>,
    },
}

#[derive(Debug)]
struct Pending<R, P> {
    records: Vec<R>,
    votes: Votes<P>,
}

/// The consumer side of a sealed stream: buffers each key value's records until its partition is
/// complete, then releases it.
///
/// `K` is the key value, `R` the record, `P` the producer id, `F` extracts the key of a record.
///
/// ```
/// use blazes_runtime::seal::{Message, SealBarrier};
/// let mut b = SealBarrier::new([0u64, 1], |r: &(u32, char)| r.0);
/// assert_eq!(b.push(Message::Seal { key: 7, producer: 0, count: 1 }), Ok(None));
/// assert_eq!(b.push(Message::Data { producer: 0, record: (7, 'b') }), Ok(None));
/// assert_eq!(b.push(Message::Data { producer: 1, record: (7, 'a') }), Ok(None));
/// let done = b.push(Message::Seal { key: 7, producer: 1, count: 1 }).unwrap().unwrap();
/// assert_eq!(done.records, vec![(7, 'a'), (7, 'b')]);
/// ```
pub struct SealBarrier<K, R, P, F> {
    key: F,
    producers: BTreeSet<P>,
    single: Option<P>,
    pending: BTreeMap<K, Pending<R, P>>,
    released: BTreeSet<K>,
}

impl<K, R, P, F> fmt::Debug for SealBarrier<K, R, P, F>
where
    K: fmt::Debug,
    P: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealBarrier")
            .field("producers", &self.producers)
            .field("pending", &self.pending.keys().collect::<Vec<_>>())
            .field("released", &self.released.len())
            .finish()
    }
}

impl<K, R, P, F> SealBarrier<K, R, P, F>
where
    K: Ord + Clone,
    R: Ord,
    P: Ord + Clone,
    F: Fn(&R) -> K,
{
    /// A barrier waiting for the votes of `producers` on every key value; `key` extracts a
    /// record's key value.
    pub fn new(producers: impl IntoIterator<Item = P>, key: F) -> Self {
        let producers: BTreeSet<P> = producers.into_iter().collect();
        let single = if producers.len() == 1 {
            producers.iter().next().cloned()
        } else {
            None
        };
        SealBarrier {
            key,
            producers,
            single,
            pending: BTreeMap::new(),
            released: BTreeSet::new(),
        }
    }

    /// The producer set.
    pub fn producers(&self) -> &BTreeSet<P> {
        &self.producers
    }

    /// Feeds one message; returns the partition it completed, if any.
    pub fn push(
        &mut self,
        message: Message<K, R, P>,
    ) -> Result<Option<Partition<K, R>>, BarrierError<K, R, P>> {
        match message {
            Message::Data { producer, record } => self.data(producer, record),
            Message::Seal {
                key,
                producer,
                count,
            } => self.seal(key, producer, count),
        }
    }

    /// Feeds several messages, collecting releases in order and stopping at the first error.
    pub fn push_all(
        &mut self,
        messages: impl IntoIterator<Item = Message<K, R, P>>,
    ) -> Result<Vec<Partition<K, R>>, BarrierError<K, R, P>> {
        let mut out = Vec::new();
        for m in messages {
            if let Some(p) = self.push(m)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Key values with buffered records or seals whose partition is not complete yet, in order.
    pub fn pending(&self) -> impl Iterator<Item = &K> {
        self.pending.keys()
    }

    /// Number of records buffered in incomplete partitions.
    pub fn buffered(&self) -> usize {
        self.pending.values().map(|p| p.records.len()).sum()
    }

    /// True when the key value's partition was released.
    pub fn is_released(&self, key: &K) -> bool {
        self.released.contains(key)
    }

    fn entry(&mut self, key: K) -> &mut Pending<R, P> {
        let single = self.single.is_some();
        self.pending.entry(key).or_insert_with(|| Pending {
            records: Vec::new(),
            votes: if single {
                Votes::Single {
                    received: 0,
                    sealed: None,
                }
            } else {
                Votes::Many {
                    received: BTreeMap::new(),
                    sealed: BTreeMap::new(),
                }
            },
        })
    }

    fn data(
        &mut self,
        producer: P,
        record: R,
    ) -> Result<Option<Partition<K, R>>, BarrierError<K, R, P>> {
        let key = (self.key)(&record);
        // Fast path: the partition is pending and this producer already delivered to it, so it
        // is a known producer and the key is not released.
        if let Some(pending) = self.pending.get_mut(&key) {
            let known = match &mut pending.votes {
                Votes::Single { received, sealed } if self.single.as_ref() == Some(&producer) => {
                    Some((received, *sealed))
                }
                Votes::Many { received, sealed } => {
                    let s = if sealed.is_empty() {
                        None
                    } else {
                        sealed.get(&producer).copied()
                    };
                    received.get_mut(&producer).map(|r| (r, s))
                }
                Votes::Single { .. } => None,
            };
            if let Some((received, sealed)) = known {
                if let Some(sealed) = sealed
                    && *received >= sealed
                {
                    return Err(BarrierError::TooManyRecords {
                        key,
                        producer,
                        sealed,
                        received: *received + 1,
                        record: Some(record),
                    });
                }
                *received += 1;
                pending.records.push(record);
                return Ok(if sealed.is_none() {
                    None
                } else {
                    self.release_if_complete(key)
                });
            }
        }
        self.data_first(producer, key, record)
    }

    /// A record of a producer that has not delivered to this partition yet.
    fn data_first(
        &mut self,
        producer: P,
        key: K,
        record: R,
    ) -> Result<Option<Partition<K, R>>, BarrierError<K, R, P>> {
        if !self.producers.contains(&producer) {
            return Err(BarrierError::UnknownProducer {
                producer,
                record: Some(record),
            });
        }
        if self.released.contains(&key) {
            return Err(BarrierError::LateRecord {
                key,
                producer,
                record,
            });
        }
        let pending = self.entry(key.clone());
        let (received, sealed) = match &mut pending.votes {
            Votes::Single { received, sealed } => (received, *sealed),
            Votes::Many { received, sealed } => {
                let s = sealed.get(&producer).copied();
                (received.entry(producer.clone()).or_insert(0), s)
            }
        };
        if let Some(sealed) = sealed
            && *received >= sealed
        {
            return Err(BarrierError::TooManyRecords {
                key,
                producer,
                sealed,
                received: *received + 1,
                record: Some(record),
            });
        }
        *received += 1;
        pending.records.push(record);
        // A record can only complete its partition once its own producer has sealed it.
        if sealed.is_none() {
            return Ok(None);
        }
        Ok(self.release_if_complete(key))
    }

    fn seal(
        &mut self,
        key: K,
        producer: P,
        count: u64,
    ) -> Result<Option<Partition<K, R>>, BarrierError<K, R, P>> {
        if !self.producers.contains(&producer) {
            return Err(BarrierError::UnknownProducer {
                producer,
                record: None,
            });
        }
        if self.released.contains(&key) {
            // A duplicate or replayed seal of a released partition: idempotent.
            return Ok(None);
        }
        let pending = self.entry(key.clone());
        let (previous, received) = match &mut pending.votes {
            Votes::Single { received, sealed } => (sealed.replace(count), *received),
            Votes::Many { received, sealed } => (
                sealed.insert(producer.clone(), count),
                received.get(&producer).copied().unwrap_or(0),
            ),
        };
        if let Some(first) = previous
            && first != count
        {
            // Keep the first vote.
            match &mut pending.votes {
                Votes::Single { sealed, .. } => *sealed = Some(first),
                Votes::Many { sealed, .. } => {
                    sealed.insert(producer.clone(), first);
                }
            }
            return Err(BarrierError::ConflictingSeal {
                key,
                producer,
                first,
                second: count,
            });
        }
        if received > count {
            return Err(BarrierError::TooManyRecords {
                key,
                producer,
                sealed: count,
                received,
                record: None,
            });
        }
        Ok(self.release_if_complete(key))
    }

    fn release_if_complete(&mut self, key: K) -> Option<Partition<K, R>> {
        let pending = self.pending.get(&key)?;
        let complete = match &pending.votes {
            Votes::Single { received, sealed } => *sealed == Some(*received),
            Votes::Many { received, sealed } => {
                sealed.len() == self.producers.len()
                    && sealed
                        .iter()
                        .all(|(p, c)| received.get(p).copied().unwrap_or(0) == *c)
            }
        };
        if !complete {
            return None;
        }
        let mut pending = self.pending.remove(&key)?;
        pending.records.sort();
        self.released.insert(key.clone());
        Some(Partition {
            key,
            records: pending.records,
        })
    }
}

/// A producer tried to seal a key value it had already sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlreadySealed<K>(pub K);

impl<K: fmt::Debug> fmt::Display for AlreadySealed<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {:?} was already sealed by this producer", self.0)
    }
}

impl<K: fmt::Debug> std::error::Error for AlreadySealed<K> {}

/// A producer sent a record for a key value it had already sealed. The data message is handed
/// back, uncounted: deliver it anyway, so that the consumer's barrier reports it as a late
/// record instead of it vanishing at the producer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentAfterSeal<K, R, P> {
    /// The sealed key value.
    pub key: K,
    /// The uncounted data message.
    pub message: Message<K, R, P>,
}

impl<K: fmt::Debug, R, P> fmt::Display for SentAfterSeal<K, R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record sent for key {:?} after it was sealed", self.key)
    }
}

impl<K: fmt::Debug, R: fmt::Debug, P: fmt::Debug> std::error::Error for SentAfterSeal<K, R, P> {}

/// Messages with the index of the consumer they go to.
pub type Addressed<K, R, P> = Vec<(usize, Message<K, R, P>)>;

/// The producer side of a sealed stream: counts the records sent per key value and destination,
/// and turns "key `k` is done" into one seal per destination, each with that destination's count.
///
/// Every destination gets a seal, with count 0 if it received nothing: the consumer's vote needs
/// every producer.
#[derive(Debug)]
pub struct Punctuator<K, P> {
    producer: P,
    destinations: usize,
    counts: BTreeMap<K, Vec<u64>>,
    sealed: BTreeSet<K>,
}

impl<K: Ord + Clone, P: Clone> Punctuator<K, P> {
    /// A punctuator for `producer`, sending to `destinations` consumers (indices `0..destinations`).
    pub fn new(producer: P, destinations: usize) -> Self {
        Punctuator {
            producer,
            destinations: destinations.max(1),
            counts: BTreeMap::new(),
            sealed: BTreeSet::new(),
        }
    }

    /// Wraps a record with this key value, sent to `destination` (taken modulo the number of
    /// destinations), as a data message, and counts it.
    pub fn send<R>(
        &mut self,
        key: &K,
        destination: usize,
        record: R,
    ) -> Result<Message<K, R, P>, SentAfterSeal<K, R, P>> {
        if self.sealed.contains(key) {
            return Err(SentAfterSeal {
                key: key.clone(),
                message: Message::Data {
                    producer: self.producer.clone(),
                    record,
                },
            });
        }
        let n = self.destinations;
        let counts = self.counts.entry(key.clone()).or_insert_with(|| vec![0; n]);
        counts[destination % n] += 1;
        Ok(Message::Data {
            producer: self.producer.clone(),
            record,
        })
    }

    /// Seals a key value: one `(destination, seal)` per destination, in destination order.
    pub fn seal<R>(&mut self, key: K) -> Result<Addressed<K, R, P>, AlreadySealed<K>> {
        if !self.sealed.insert(key.clone()) {
            return Err(AlreadySealed(key));
        }
        let counts = self
            .counts
            .remove(&key)
            .unwrap_or_else(|| vec![0; self.destinations]);
        Ok(counts
            .into_iter()
            .enumerate()
            .map(|(d, count)| {
                (
                    d,
                    Message::Seal {
                        key: key.clone(),
                        producer: self.producer.clone(),
                        count,
                    },
                )
            })
            .collect())
    }

    /// Key values with records sent but not sealed yet.
    pub fn unsealed(&self) -> impl Iterator<Item = &K> {
        self.counts.keys()
    }
}
