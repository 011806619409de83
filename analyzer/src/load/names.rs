//! A hash table of component names made for large files: the loader records every component
//! name in it as the file is parsed (finding duplicates) and then looks up every reference in
//! it (a million components have about two million).
//!
//! A general hash map keeps its control bytes, its entries and its keys' text in three places,
//! so a lookup in a table much larger than the caches waits for three cache misses. Here a slot
//! holds the name's first 16 bytes and its length, which is the whole name for most names, and
//! slots are probed linearly, two to a cache line: a lookup is usually one miss. Only a name
//! longer than 16 bytes is compared with its full text, which the caller provides.

use std::hash::Hasher;

/// Bytes of a name kept in its slot.
pub(super) const HEAD: usize = 16;

/// One slot: empty when `len` is 0.
#[derive(Clone, Copy, Default)]
struct Slot<V> {
    /// The name's first [`HEAD`] bytes, zero-padded: with the length, the whole name when it is
    /// at most [`HEAD`] bytes long (two such names with equal lengths and heads are equal).
    head: [u64; 2],
    /// The name's length in bytes plus one (0 marks an empty slot).
    len: u32,
    /// Bits of the name's hash: where the name's probe starts, compared before anything else,
    /// and enough to place it again when the table grows.
    hash: u32,
    /// What the name maps to.
    value: V,
}

/// A map from names to `V`, for names shorter than 4 GiB (the loader's file size limit
/// guarantees it).
pub(super) struct NameTable<V> {
    slots: Vec<Slot<V>>,
    len: usize,
}

/// An empty slot a name is to take (from [`NameTable::vacancy`]).
pub(super) struct Vacancy {
    slot: usize,
    head: [u64; 2],
    len: u32,
    hash: u32,
}

/// A name as the table compares it: worked out once per name, and where it suits the caller
/// (the loader's parsing thread makes those of the names it hands to the building thread).
pub(super) struct Key<'n> {
    name: &'n str,
    head: [u64; 2],
    len: u32,
    hash: u32,
}

impl<'n> Key<'n> {
    /// The key of `name`.
    pub(super) fn new(name: &'n str) -> Self {
        let bytes = name.as_bytes();
        let mut head = [0u8; HEAD];
        let n = bytes.len().min(HEAD);
        head[..n].copy_from_slice(&bytes[..n]);
        let (lo, hi) = head.split_at(8);
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        let mut hasher = rustc_hash::FxHasher::default();
        hasher.write(bytes);
        let h = hasher.finish();
        // Fold the high bits in: probes start at the low bits of `hash`.
        let hash = (h ^ (h >> 32)) as u32;
        Key {
            name,
            head: [word(lo), word(hi)],
            // Lengths are bounded by the file size limit.
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX - 1) + 1,
            hash,
        }
    }

    /// The name.
    pub(super) fn name(&self) -> &'n str {
        self.name
    }

    /// Whether `slot` holds this name; `full` gives the full name of a value, read only for
    /// names longer than [`HEAD`] bytes whose slot matches in everything else.
    fn matches<'f, V>(&self, slot: &Slot<V>, full: impl Fn(&V) -> &'f str) -> bool {
        slot.hash == self.hash
            && slot.len == self.len
            && slot.head == self.head
            && (self.name.len() <= HEAD || full(&slot.value) == self.name)
    }
}

impl<V: Copy + Default> NameTable<V> {
    /// An empty table with room for about `n` names before it grows.
    pub(super) fn with_capacity(n: usize) -> Self {
        NameTable {
            slots: vec![Slot::default(); Self::slots_for(n)],
            len: 0,
        }
    }

    /// Slots for `n` names: a power of two, at most three quarters full.
    fn slots_for(n: usize) -> usize {
        (n.saturating_mul(4) / 3 + 1).next_power_of_two().max(16)
    }

    /// The number of names.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Reads the first slot of each name's probe, so that looking the names up (or inserting
    /// them) right after finds their slots in the cache. On a table far larger than the caches
    /// each lookup waits for memory; reading the slots in one short loop, after the names are
    /// hashed, lets those waits overlap. Only caches change.
    pub(super) fn warm<'n>(&self, names: impl Iterator<Item = &'n str>) {
        self.warm_hashes(names.map(|name| Key::new(name).hash));
    }

    /// [`Self::warm`], given the names' keys.
    pub(super) fn warm_keys<'k, 'n: 'k>(&self, keys: impl Iterator<Item = &'k Key<'n>>) {
        self.warm_hashes(keys.map(|key| key.hash));
    }

    fn warm_hashes(&self, hashes: impl Iterator<Item = u32>) {
        const BATCH: usize = 32;
        let mask = self.slots.len() - 1;
        let mut at = [0usize; BATCH];
        let mut hashes = hashes.peekable();
        while hashes.peek().is_some() {
            let mut k = 0;
            for (slot, hash) in at.iter_mut().zip(hashes.by_ref()) {
                *slot = hash as usize & mask;
                k += 1;
            }
            let mut seen = 0u32;
            for &i in &at[..k] {
                seen ^= self.slots[i].len;
            }
            std::hint::black_box(seen);
        }
    }

    /// The slot where `key`'s probe ends: its own, or the empty one where it would go.
    fn find<'f>(&self, key: &Key<'_>, full: impl Fn(&V) -> &'f str) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = key.hash as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.len == 0 || key.matches(slot, &full) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The value of `name`; `full` gives the full name of a value (see [`Self::vacancy`]).
    pub(super) fn get<'f>(&self, name: &str, full: impl Fn(&V) -> &'f str) -> Option<&V> {
        let key = Key::new(name);
        let slot = &self.slots[self.find(&key, full)];
        (slot.len != 0).then_some(&slot.value)
    }

    /// Maps `name` to `value`, unless the table has it already: then it is left as it is and
    /// its value is returned (`full` as in [`Self::vacancy`]).
    #[cfg(test)]
    pub(super) fn insert<'f>(
        &mut self,
        name: &str,
        value: V,
        full: impl Fn(&V) -> &'f str,
    ) -> Result<(), V> {
        let vacancy = self.vacancy(&Key::new(name), full)?;
        self.fill(vacancy, value);
        Ok(())
    }

    /// The slot the name of `key` would take, or its value when the table has it. `full` gives
    /// the full name a value stands for; it is called only for names longer than 16 bytes, to
    /// tell apart names that agree on everything the table keeps. The slot is filled with
    /// [`Self::fill`], with no other change to the table between the two.
    pub(super) fn vacancy<'f>(
        &mut self,
        key: &Key<'_>,
        full: impl Fn(&V) -> &'f str,
    ) -> Result<Vacancy, V> {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let i = self.find(key, full);
        if self.slots[i].len != 0 {
            return Err(self.slots[i].value);
        }
        Ok(Vacancy {
            slot: i,
            head: key.head,
            len: key.len,
            hash: key.hash,
        })
    }

    /// Maps the name of `vacancy` to `value`.
    pub(super) fn fill(&mut self, vacancy: Vacancy, value: V) {
        debug_assert_eq!(self.slots[vacancy.slot].len, 0, "a stale vacancy");
        self.slots[vacancy.slot] = Slot {
            head: vacancy.head,
            len: vacancy.len,
            hash: vacancy.hash,
            value,
        };
        self.len += 1;
    }

    /// Doubles the slots, placing every name again by its kept hash bits.
    fn grow(&mut self) {
        let room = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, room);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.len != 0) {
            let mut i = slot.hash as usize & mask;
            while self.slots[i].len != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }

    /// Every value, in no particular order.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots
            .iter_mut()
            .filter(|slot| slot.len != 0)
            .map(|slot| &mut slot.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names in a `Vec`, mapped to their index: the full name is the vector's entry.
    fn table(names: &[String]) -> NameTable<u32> {
        let mut t = NameTable::with_capacity(0);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(
                t.insert(n, i as u32, |&v| names[v as usize].as_str()),
                Ok(())
            );
        }
        t
    }

    #[test]
    fn finds_every_name_and_no_other_across_growth() {
        // Short names, names of exactly 16 bytes and long names sharing their first 16 bytes
        // (told apart only by their full text), enough of them to grow the table many times.
        let mut names = Vec::new();
        for i in 0..3000 {
            names.push(format!("c{i}"));
            names.push(format!("component-{i:06}"));
            names.push(format!("a-long-shared-prefix-{i}"));
        }
        assert!(names.iter().any(|n| n.len() == 16));
        let t = table(&names);
        assert_eq!(t.len(), names.len());
        let full = |&v: &u32| names[v as usize].as_str();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.get(n, full), Some(&(i as u32)), "{n}");
        }
        for absent in [
            "c",
            "c3000",
            "component-003000",
            "a-long-shared-prefix-",
            "x",
        ] {
            assert_eq!(t.get(absent, full), None, "{absent}");
        }
        // A prefix of a stored name, and a name extending one, are other names.
        assert_eq!(t.get("component-00000", full), None);
        assert_eq!(t.get("c10x", full), None);
        // The zero padding of a short name's head is no wildcard: the lengths differ.
        assert_eq!(t.get("c10\0", full), None);
    }

    #[test]
    fn a_long_name_is_compared_in_full_when_all_the_table_keeps_agrees() {
        // A slot for `name` as the table keeps it, whose value stands for another full name
        // (as two long names with colliding hash bits would).
        let name = "a-name-longer-than-sixteen-bytes";
        let key = Key::new(name);
        let slot = Slot {
            head: key.head,
            len: key.len,
            hash: key.hash,
            value: 0u32,
        };
        assert!(key.matches(&slot, |_| name));
        assert!(!key.matches(&slot, |_| "a-name-longer-than-sixteen-bytez"));
        // A short name is whole in its slot: its full text is never read.
        let short = Key::new("short");
        let slot = Slot {
            head: short.head,
            len: short.len,
            hash: short.hash,
            value: 0u32,
        };
        assert!(short.matches(&slot, |_| unreachable!()));
    }

    #[test]
    fn a_second_insert_keeps_the_first_value() {
        let names: Vec<String> = ["a", "a-name-longer-than-sixteen-bytes"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut t = table(&names);
        let full = |&v: &u32| names[v as usize].as_str();
        assert_eq!(t.insert("a", 7, full), Err(0));
        assert_eq!(
            t.insert("a-name-longer-than-sixteen-bytes", 7, full),
            Err(1)
        );
        assert_eq!(t.len(), 2);
        assert_eq!(t.get("a", full), Some(&0));
    }

    #[test]
    fn values_can_be_rewritten_in_place() {
        let names: Vec<String> = (0..100).map(|i| format!("n{i}")).collect();
        let mut t = table(&names);
        for v in t.values_mut() {
            *v += 1000;
        }
        // The full text is looked up through the new values.
        let full = |&v: &u32| names[v as usize - 1000].as_str();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.get(n, full), Some(&(i as u32 + 1000)));
        }
    }
}
