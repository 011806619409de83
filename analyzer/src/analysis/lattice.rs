//! The label lattice of SPEC §3 in an interned, `Copy` form, and seal/gate compatibility with
//! functional dependencies.

use std::collections::{BTreeSet, HashMap};

use blazes_annotations::{Gate, Label, SealKey};

use crate::model::{Fd, Topology};

/// Interned field set (a seal key or a gate's fields).
pub type SetId = u32;

/// A label during inference. `Bot` is the least element (nothing known yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lbl {
    /// ⊥: no information has reached the stream.
    Bot,
    /// Sealed on an interned key.
    Seal(SetId),
    /// Deterministic contents, any order.
    Async,
    /// May differ between runs.
    Run,
    /// May differ between replicas.
    Inst,
    /// Replica state may diverge.
    Diverge,
}

impl Lbl {
    /// Severity rank (`Bot` -1 as 0, then `Seal` 1 … `Diverge` 5).
    pub fn rank(self) -> u8 {
        match self {
            Lbl::Bot => 0,
            Lbl::Seal(_) => 1,
            Lbl::Async => 2,
            Lbl::Run => 3,
            Lbl::Inst => 4,
            Lbl::Diverge => 5,
        }
    }

    /// Least upper bound; different seals join to `Async`.
    pub fn join(self, other: Lbl) -> Lbl {
        match (self, other) {
            (Lbl::Seal(a), Lbl::Seal(b)) if a != b => Lbl::Async,
            _ if self.rank() >= other.rank() => self,
            _ => other,
        }
    }

    /// `a ≤ b` in the lattice.
    pub fn le(self, other: Lbl) -> bool {
        self.join(other) == other
    }
}

/// A functional dependency as sorted field ids: (from, to).
type FdIds = (Box<[u32]>, Box<[u32]>);

/// Field names, field sets, and compatibility, interned for one topology.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    fields: HashMap<String, u32>,
    field_names: Vec<String>,
    sets: HashMap<Box<[u32]>, SetId>,
    set_items: Vec<Box<[u32]>>,
    /// For each fd, (from, to) as sorted field ids.
    fds: Vec<FdIds>,
    /// For each field id (those the fds name), the directed fds whose determining side holds
    /// it: directed fd `2i` is fd `i` read from `from` to `to`, and `2i + 1` from `to` to
    /// `from`.
    determining: Vec<Vec<u32>>,
    compat: rustc_hash::FxHashMap<(SetId, SetId), bool>,
}

impl Interner {
    /// An interner that knows the topology's functional dependencies.
    pub fn new(topology: &Topology) -> Self {
        let mut i = Interner::default();
        let fds: Vec<Fd> = topology.fds.clone();
        for fd in fds {
            let from = i.ids(fd.from.iter().map(String::as_str));
            let to = i.ids(fd.to.iter().map(String::as_str));
            i.fds.push((from, to));
        }
        let mut determining = vec![Vec::new(); i.field_names.len()];
        for d in 0..2 * i.fds.len() {
            let d = u32::try_from(d).unwrap_or(u32::MAX);
            for &f in i.directed(d).0 {
                determining[f as usize].push(d);
            }
        }
        i.determining = determining;
        i
    }

    /// Directed fd `d` (see `determining`): its determining and its determined fields.
    fn directed(&self, d: u32) -> (&[u32], &[u32]) {
        let (from, to) = &self.fds[d as usize / 2];
        if d.is_multiple_of(2) {
            (from, to)
        } else {
            (to, from)
        }
    }

    fn field(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.fields.get(name) {
            return id;
        }
        let id = u32::try_from(self.field_names.len()).unwrap_or(u32::MAX);
        self.fields.insert(name.to_string(), id);
        self.field_names.push(name.to_string());
        id
    }

    fn ids<'a>(&mut self, names: impl Iterator<Item = &'a str>) -> Box<[u32]> {
        let set: BTreeSet<u32> = names.map(|n| self.field(n)).collect();
        set.into_iter().collect()
    }

    fn set(&mut self, ids: Box<[u32]>) -> SetId {
        if let Some(&id) = self.sets.get(&ids) {
            return id;
        }
        let id = u32::try_from(self.set_items.len()).unwrap_or(u32::MAX);
        self.sets.insert(ids.clone(), id);
        self.set_items.push(ids);
        id
    }

    /// Interns a set of field names.
    pub fn intern<'a>(&mut self, names: impl Iterator<Item = &'a str>) -> SetId {
        let ids = self.ids(names);
        self.set(ids)
    }

    /// The id of an already interned set of field names, if it is interned.
    pub fn find<'a>(&self, names: impl Iterator<Item = &'a str>) -> Option<SetId> {
        let mut ids = Vec::new();
        for n in names {
            ids.push(*self.fields.get(n)?);
        }
        ids.sort_unstable();
        ids.dedup();
        self.sets.get(ids.as_slice()).copied()
    }

    /// Interns a seal key.
    pub fn key(&mut self, key: &SealKey) -> SetId {
        self.intern(key.0.iter().map(String::as_str))
    }

    /// Interns a gate; `None` for `*`.
    pub fn gate(&mut self, gate: &Gate) -> Option<SetId> {
        match gate {
            Gate::Any => None,
            Gate::Fields(f) => Some(self.intern(f.iter().map(String::as_str))),
        }
    }

    /// The field names of an interned set.
    pub fn names(&self, set: SetId) -> Vec<&str> {
        self.set_items
            .get(set as usize)
            .map(|ids| {
                ids.iter()
                    .map(|&f| self.field_names[f as usize].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Converts an inference label to an external one (`Bot` reads as `Async`).
    pub fn external(&self, l: Lbl) -> Label {
        match l {
            Lbl::Seal(k) => Label::Seal(SealKey::new(self.names(k))),
            Lbl::Bot | Lbl::Async => Label::Async,
            Lbl::Run => Label::Run,
            Lbl::Inst => Label::Inst,
            Lbl::Diverge => Label::Diverge,
        }
    }

    /// Closure of a field set under the (bidirectional, injective) fds, in time linear in the
    /// size of the fds: each directed fd counts the determining fields not yet in the closure,
    /// and adds its determined fields when the count reaches zero. (Applying every fd until
    /// nothing changes took one pass over the fds per link of a chain of fds.)
    fn closure(&self, set: &[u32]) -> BTreeSet<u32> {
        let mut out: BTreeSet<u32> = set.iter().copied().collect();
        if self.fds.is_empty() {
            return out;
        }
        let directed = 0..u32::try_from(2 * self.fds.len()).unwrap_or(u32::MAX);
        let mut missing: Vec<usize> = directed.clone().map(|d| self.directed(d).0.len()).collect();
        let mut added: Vec<u32> = out.iter().copied().collect();
        for d in directed.filter(|&d| missing[d as usize] == 0) {
            added.extend(self.directed(d).1.iter().filter(|&&f| out.insert(f)));
        }
        while let Some(f) = added.pop() {
            for &d in self
                .determining
                .get(f as usize)
                .map_or(&[][..], Vec::as_slice)
            {
                missing[d as usize] -= 1;
                if missing[d as usize] == 0 {
                    added.extend(self.directed(d).1.iter().filter(|&&g| out.insert(g)));
                }
            }
        }
        out
    }

    /// The closure as the fixpoint of applying every fd in turn: the reference `closure` is
    /// checked against.
    #[cfg(test)]
    fn naive_closure(&self, set: &[u32]) -> BTreeSet<u32> {
        let mut out: BTreeSet<u32> = set.iter().copied().collect();
        loop {
            let before = out.len();
            for (from, to) in &self.fds {
                if from.iter().all(|f| out.contains(f)) {
                    out.extend(to.iter().copied());
                }
                if to.iter().all(|f| out.contains(f)) {
                    out.extend(from.iter().copied());
                }
            }
            if out.len() == before {
                return out;
            }
        }
    }

    /// `compatible(gate, key)` of SPEC §3; `gate = None` is `*`. Cached.
    pub fn compatible(&mut self, gate: Option<SetId>, key: SetId) -> bool {
        match gate {
            Some(g) if !self.set_items[key as usize].is_empty() => {
                if let Some(&c) = self.compat.get(&(g, key)) {
                    return c;
                }
                let c = self.is_compatible(gate, key);
                self.compat.insert((g, key), c);
                c
            }
            _ => self.is_compatible(gate, key),
        }
    }

    /// `compatible(gate, key)` without the cache.
    pub fn is_compatible(&self, gate: Option<SetId>, key: SetId) -> bool {
        let key_items = &self.set_items[key as usize];
        if key_items.is_empty() {
            return true; // the end-of-stream seal completes every partition
        }
        let Some(gate) = gate else {
            return false;
        };
        let gate_items = &self.set_items[gate as usize];
        if self.fds.is_empty() {
            return key_items
                .iter()
                .all(|k| gate_items.binary_search(k).is_ok());
        }
        let kc = self.closure(key_items);
        let a: Vec<u32> = gate_items
            .iter()
            .copied()
            .filter(|f| kc.contains(f))
            .collect();
        !a.is_empty() && {
            let ac = self.closure(&a);
            key_items.iter().all(|k| ac.contains(k))
        }
    }

    /// True when every field named in `fields` is in the closure of the interned set `set`
    /// (used to judge whether a `fields(..)` grouping keeps gate partitions together).
    pub fn determines(&self, set: SetId, fields: &[String]) -> bool {
        let closure = self.closure(&self.set_items[set as usize]);
        fields.iter().all(|f| {
            self.fields
                .get(f.as_str())
                .is_some_and(|id| closure.contains(id))
        })
    }

    /// True when every field of `key` is in `fields` (by name).
    pub fn carried(&self, key: SetId, fields: &[String], implicit: &[String]) -> bool {
        let key = self.set_items.get(key as usize).map_or(&[][..], |k| k);
        let kept = crate::model::FieldSet::new(fields, implicit, key.len());
        key.iter()
            .all(|&k| kept.contains(&self.field_names[k as usize]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceFile;
    use proptest::prelude::*;

    fn interner(fds: &[(&[&str], &[&str])]) -> Interner {
        let t = Topology {
            name: None,
            source: SourceFile::new("t", ""),
            components: Vec::new(),
            fds: fds
                .iter()
                .map(|(f, t)| Fd {
                    from: f.iter().map(|s| s.to_string()).collect(),
                    to: t.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            implicit: Vec::new(),
        };
        Interner::new(&t)
    }

    fn compat(i: &mut Interner, gate: Option<&[&str]>, key: &[&str]) -> bool {
        let g = gate.map(|g| i.intern(g.iter().copied()));
        let k = i.intern(key.iter().copied());
        i.compatible(g, k)
    }

    #[test]
    fn identity_compatibility() {
        let mut i = interner(&[]);
        assert!(compat(&mut i, Some(&["word", "batch"]), &["batch"]));
        assert!(compat(&mut i, Some(&["word", "batch"]), &["word", "batch"]));
        assert!(!compat(&mut i, Some(&["a"]), &["a", "b"]), "finer seal");
        assert!(!compat(&mut i, Some(&["id"]), &["campaign"]));
        assert!(!compat(&mut i, None, &["a"]), "`*` gate");
        assert!(!compat(&mut i, Some(&[]), &["a"]), "global gate");
        assert!(compat(&mut i, None, &[]), "end of stream with `*`");
        assert!(compat(&mut i, Some(&[]), &[]), "end of stream with global");
        assert!(compat(&mut i, Some(&["x"]), &[]));
    }

    /// Fds over fields `f0`..`f5`, each side a set of them (possibly empty).
    fn random_fds() -> impl Strategy<Value = Vec<(Vec<usize>, Vec<usize>)>> {
        let side = || proptest::collection::vec(0..6usize, 0..3);
        proptest::collection::vec((side(), side()), 0..8)
    }

    proptest! {
        /// The counting closure is the fixpoint of applying every fd in turn, from any start.
        #[test]
        fn closure_is_the_fixpoint_of_the_fds(
            fds in random_fds(),
            start in proptest::collection::vec(0..6usize, 0..4),
        ) {
            const NAMES: [&str; 6] = ["f0", "f1", "f2", "f3", "f4", "f5"];
            let named = |side: &[usize]| side.iter().map(|&f| NAMES[f]).collect::<Vec<_>>();
            let named_fds: Vec<(Vec<&str>, Vec<&str>)> =
                fds.iter().map(|(f, t)| (named(f), named(t))).collect();
            let borrowed: Vec<(&[&str], &[&str])> = named_fds
                .iter()
                .map(|(f, t)| (f.as_slice(), t.as_slice()))
                .collect();
            let mut i = interner(&borrowed);
            let set = i.intern(named(&start).into_iter());
            let ids = i.set_items[set as usize].clone();
            prop_assert_eq!(i.closure(&ids), i.naive_closure(&ids));
        }
    }

    #[test]
    fn a_long_chain_of_fds_links_its_ends_both_ways() {
        let names: Vec<String> = (0..300).map(|k| format!("f{k}")).collect();
        let links: Vec<([&str; 1], [&str; 1])> = names
            .windows(2)
            .map(|w| ([w[0].as_str()], [w[1].as_str()]))
            .collect();
        let fds: Vec<(&[&str], &[&str])> = links.iter().map(|(f, t)| (&f[..], &t[..])).collect();
        let mut i = interner(&fds);
        assert!(compat(&mut i, Some(&["f0"]), &["f299"]));
        assert!(compat(&mut i, Some(&["f299"]), &["f0"]));
        assert!(!compat(&mut i, Some(&["other"]), &["f0"]));
    }

    #[test]
    fn fd_compatibility() {
        let mut i = interner(&[(&["company"], &["ticker"])]);
        assert!(compat(&mut i, Some(&["ticker"]), &["company"]));
        assert!(
            compat(&mut i, Some(&["company"]), &["ticker"]),
            "injective both ways"
        );
        assert!(!compat(&mut i, Some(&["price"]), &["company"]));
        let mut j = interner(&[(&["a", "b"], &["c"])]);
        assert!(compat(&mut j, Some(&["c"]), &["a", "b"]), "multi-field key");
        assert!(
            !compat(&mut j, Some(&["c"]), &["a"]),
            "part of the key does not determine c"
        );
        assert!(compat(&mut j, Some(&["a", "b"]), &["c"]));
        assert!(
            !compat(&mut j, Some(&["a"]), &["c"]),
            "a alone does not determine c"
        );
    }

    #[test]
    fn join_is_the_lattice() {
        let (s1, s2) = (Lbl::Seal(1), Lbl::Seal(2));
        assert_eq!(s1.join(s2), Lbl::Async);
        assert_eq!(s1.join(s1), s1);
        assert_eq!(Lbl::Bot.join(s1), s1);
        assert_eq!(s1.join(Lbl::Run), Lbl::Run);
        assert_eq!(Lbl::Inst.join(Lbl::Run), Lbl::Inst);
        assert!(s1.le(Lbl::Async) && !Lbl::Async.le(s1) && !s1.le(s2));
    }
}
