//! Orderings for order sites (SPEC §7): a dynamic total order (a sequencer and replicas that
//! apply in its sequence) and a deterministic epoch order.

use std::collections::BTreeMap;
use std::fmt;

use crate::seal::{BarrierError, Message, Partition, SealBarrier};

/// A record with its place in the global sequence.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "timely", derive(serde::Serialize, serde::Deserialize))]
pub struct Sequenced<R> {
    /// Position in the global sequence, from 0.
    pub seq: u64,
    /// The record.
    pub record: R,
}

/// The dynamic order's single sequencer: numbers every input of the component in the order it
/// sees them. Runs may differ (that order is the sequencer's arrival order), replicas never do.
#[derive(Clone, Debug, Default)]
pub struct Sequencer {
    next: u64,
}

impl Sequencer {
    /// A sequencer starting at 0.
    pub fn new() -> Self {
        Sequencer::default()
    }

    /// Assigns the next sequence number.
    pub fn sequence<R>(&mut self, record: R) -> Sequenced<R> {
        let seq = self.next;
        self.next += 1;
        Sequenced { seq, record }
    }

    /// How many records were sequenced.
    pub fn len(&self) -> u64 {
        self.next
    }

    /// True when nothing was sequenced yet.
    pub fn is_empty(&self) -> bool {
        self.next == 0
    }
}

/// Two different records arrived with one sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictingSequence {
    /// The sequence number.
    pub seq: u64,
}

impl fmt::Display for ConflictingSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "two different records carry sequence number {}",
            self.seq
        )
    }
}

impl std::error::Error for ConflictingSequence {}

/// A replica of the dynamic order: applies sequenced records in sequence order, whatever order
/// they are delivered in. Duplicates are ignored.
#[derive(Clone, Debug)]
pub struct Replica<R> {
    next: u64,
    buffer: BTreeMap<u64, R>,
}

impl<R> Default for Replica<R> {
    fn default() -> Self {
        Replica {
            next: 0,
            buffer: BTreeMap::new(),
        }
    }
}

impl<R: PartialEq> Replica<R> {
    /// A replica expecting sequence number 0 first.
    pub fn new() -> Self {
        Replica::default()
    }

    /// Feeds one sequenced record; returns the records now applicable, in sequence order.
    pub fn push(&mut self, s: Sequenced<R>) -> Result<Vec<R>, ConflictingSequence> {
        if s.seq < self.next {
            return Ok(Vec::new()); // already applied: a duplicate
        }
        if let Some(existing) = self.buffer.get(&s.seq) {
            return if *existing == s.record {
                Ok(Vec::new())
            } else {
                Err(ConflictingSequence { seq: s.seq })
            };
        }
        self.buffer.insert(s.seq, s.record);
        let mut out = Vec::new();
        while let Some(r) = self.buffer.remove(&self.next) {
            out.push(r);
            self.next += 1;
        }
        Ok(out)
    }

    /// The next sequence number this replica waits for.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Records buffered behind a gap.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

/// A message of the deterministic epoch order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "timely", derive(serde::Serialize, serde::Deserialize))]
pub enum EpochMessage<R, P = u64> {
    /// A record of an epoch.
    Data {
        /// Who sent it.
        producer: P,
        /// Its epoch (batch number).
        epoch: u64,
        /// The record.
        record: R,
    },
    /// `producer` sent `count` records of `epoch` and will send no more.
    Seal {
        /// Who seals.
        producer: P,
        /// The epoch.
        epoch: u64,
        /// How many records of that epoch it sent.
        count: u64,
    },
}

/// Key function of the epoch barrier.
type EpochKey<R> = fn(&(u64, R)) -> u64;

/// The deterministic order: records are assigned to epochs (dense numbers from a first epoch,
/// each sealed by every producer, with count 0 for an epoch it sent nothing in), and applied
/// epoch after epoch, records within an epoch in canonical (sorted) order. The result is the same
/// for every delivery order and every run.
pub struct EpochOrder<R, P> {
    barrier: SealBarrier<u64, (u64, R), P, EpochKey<R>>,
    next: u64,
    complete: BTreeMap<u64, Vec<R>>,
}

impl<R: fmt::Debug, P: fmt::Debug> fmt::Debug for EpochOrder<R, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochOrder")
            .field("barrier", &self.barrier)
            .field("next", &self.next)
            .field("complete", &self.complete.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<R: Ord, P: Ord + Clone> EpochOrder<R, P> {
    /// An epoch order over `producers`, whose first epoch is `first`.
    pub fn new(producers: impl IntoIterator<Item = P>, first: u64) -> Self {
        EpochOrder {
            barrier: SealBarrier::new(producers, |r: &(u64, R)| r.0),
            next: first,
            complete: BTreeMap::new(),
        }
    }

    /// The next epoch to apply.
    pub fn next_epoch(&self) -> u64 {
        self.next
    }

    /// Feeds one message; returns the epochs now applicable, in epoch order, each with its
    /// records sorted.
    #[allow(clippy::type_complexity)]
    pub fn push(
        &mut self,
        message: EpochMessage<R, P>,
    ) -> Result<Vec<Partition<u64, R>>, BarrierError<u64, (u64, R), P>> {
        let m = match message {
            EpochMessage::Data {
                producer,
                epoch,
                record,
            } => Message::Data {
                producer,
                record: (epoch, record),
            },
            EpochMessage::Seal {
                producer,
                epoch,
                count,
            } => {
                if epoch < self.next {
                    // A duplicate seal of an applied epoch, or an epoch before the first.
                    return Ok(Vec::new());
                }
                Message::Seal {
                    key: epoch,
                    producer,
                    count,
                }
            }
        };
        if let Message::Data {
            producer,
            record: (epoch, record),
        } = m
        {
            if epoch < self.next {
                return Err(BarrierError::LateRecord {
                    key: epoch,
                    producer,
                    record: (epoch, record),
                });
            }
            let done = self.barrier.push(Message::Data {
                producer,
                record: (epoch, record),
            })?;
            return Ok(self.advance(done));
        }
        let done = self.barrier.push(m)?;
        Ok(self.advance(done))
    }

    fn advance(&mut self, done: Option<Partition<u64, (u64, R)>>) -> Vec<Partition<u64, R>> {
        if let Some(p) = done {
            self.complete
                .insert(p.key, p.records.into_iter().map(|(_, r)| r).collect());
        }
        let mut out = Vec::new();
        while let Some(records) = self.complete.remove(&self.next) {
            out.push(Partition {
                key: self.next,
                records,
            });
            self.next += 1;
        }
        out
    }
}
