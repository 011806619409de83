//! The inference rules of SPEC §4 as a table, and nothing else.

use blazes_annotations::Annotation;

use super::lattice::{Lbl, SetId};

/// A row of the rule table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// 1: `Async`/`Run` into `OR(g)` gives `NDRead(g)`.
    R1,
    /// 1′: `Seal(k)` into `OR(g)` gives `NDRead(g)`; protection is decided at reconciliation.
    R1Seal,
    /// 2: `Async`/`Run` into `OW(g)` gives `Taint`.
    R2,
    /// 3: `Inst` into `CW`/`OW(g)` gives `Taint`.
    R3,
    /// 4: `Seal(k)` into `OW(g)`, not compatible, gives `Taint`.
    R4,
    /// 4′: `Seal(k)` into `OW(g)`, compatible, gives `Async`: the seal is consumed.
    R4Seal,
    /// p: the input label passes unchanged.
    Pass,
}

impl Rule {
    /// The row name as in SPEC §4.
    pub fn name(self) -> &'static str {
        match self {
            Rule::R1 => "rule 1",
            Rule::R1Seal => "rule 1′",
            Rule::R2 => "rule 2",
            Rule::R3 => "rule 3",
            Rule::R4 => "rule 4",
            Rule::R4Seal => "rule 4′",
            Rule::Pass => "rule p",
        }
    }
}

/// The class of an annotation: all the rule table looks at (the gate is interned apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Confluent read.
    CR,
    /// Confluent write.
    CW,
    /// Order-sensitive read.
    OR,
    /// Order-sensitive write.
    OW,
}

impl Kind {
    /// The class of an annotation.
    pub fn of(a: &Annotation) -> Kind {
        match a {
            Annotation::CR => Kind::CR,
            Annotation::CW => Kind::CW,
            Annotation::OR(_) => Kind::OR,
            Annotation::OW(_) => Kind::OW,
        }
    }

    /// True for `CW` and `OW`.
    pub fn is_write(self) -> bool {
        matches!(self, Kind::CW | Kind::OW)
    }

    /// True for `OR` and `OW`.
    pub fn is_order_sensitive(self) -> bool {
        matches!(self, Kind::OR | Kind::OW)
    }

    /// The confluent class of the same side: what an ordered component behaves as.
    pub fn confluent(self) -> Kind {
        if self.is_write() { Kind::CW } else { Kind::CR }
    }
}

/// What a path contributes to `Labels(o)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contribution {
    /// An external label.
    Label(Lbl),
    /// `NDRead(g)`; `None` is the `*` gate.
    NDRead(Option<SetId>),
    /// `Taint`.
    Taint,
    /// `Async`, having consumed the seal on the given key (rule 4′).
    Consumed(SetId),
}

/// Applies the table to one path: input label `l`, annotation class `kind` (whose gate is
/// interned as `gate`), with `compatible(gate, key)` supplied by the caller. `None` for a `Bot`
/// input.
pub fn apply(
    l: Lbl,
    kind: Kind,
    gate: Option<SetId>,
    compatible: impl FnOnce(Option<SetId>, SetId) -> bool,
) -> Option<(Rule, Contribution)> {
    use Contribution::{Consumed, NDRead, Taint};
    use Kind::{CW, OR, OW};
    Some(match (l, kind) {
        (Lbl::Bot, _) => return None,
        (Lbl::Async | Lbl::Run, OR) => (Rule::R1, NDRead(gate)),
        (Lbl::Seal(_), OR) => (Rule::R1Seal, NDRead(gate)),
        (Lbl::Async | Lbl::Run, OW) => (Rule::R2, Taint),
        (Lbl::Inst, CW | OW) => (Rule::R3, Taint),
        (Lbl::Seal(k), OW) if compatible(gate, k) => (Rule::R4Seal, Consumed(k)),
        (Lbl::Seal(_), OW) => (Rule::R4, Taint),
        (l, _) => (Rule::Pass, Contribution::Label(l)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use blazes_annotations::Gate;

    const G: Option<SetId> = Some(7);

    fn run(l: Lbl, a: &Annotation, compat: bool) -> Option<(Rule, Contribution)> {
        apply(l, Kind::of(a), G, |_, _| compat)
    }

    #[test]
    fn every_row() {
        let or = Annotation::OR(Gate::fields(["g"]));
        let ow = Annotation::OW(Gate::fields(["g"]));
        let nd = Contribution::NDRead(G);
        for l in [Lbl::Async, Lbl::Run] {
            assert_eq!(run(l, &or, false), Some((Rule::R1, nd)));
            assert_eq!(run(l, &ow, false), Some((Rule::R2, Contribution::Taint)));
        }
        assert_eq!(run(Lbl::Seal(3), &or, true), Some((Rule::R1Seal, nd)));
        assert_eq!(run(Lbl::Seal(3), &or, false), Some((Rule::R1Seal, nd)));
        assert_eq!(
            run(Lbl::Inst, &Annotation::CW, false),
            Some((Rule::R3, Contribution::Taint))
        );
        assert_eq!(
            run(Lbl::Inst, &ow, false),
            Some((Rule::R3, Contribution::Taint))
        );
        assert_eq!(
            run(Lbl::Seal(3), &ow, false),
            Some((Rule::R4, Contribution::Taint))
        );
        assert_eq!(
            run(Lbl::Seal(3), &ow, true),
            Some((Rule::R4Seal, Contribution::Consumed(3)))
        );
        // rule p: everything else passes unchanged
        for (l, a) in [
            (Lbl::Async, Annotation::CR),
            (Lbl::Async, Annotation::CW),
            (Lbl::Run, Annotation::CW),
            (Lbl::Seal(3), Annotation::CR),
            (Lbl::Seal(3), Annotation::CW),
            (Lbl::Inst, Annotation::CR),
            (Lbl::Inst, or.clone()),
            (Lbl::Diverge, ow.clone()),
            (Lbl::Diverge, Annotation::CW),
        ] {
            assert_eq!(
                run(l, &a, true),
                Some((Rule::Pass, Contribution::Label(l))),
                "{l:?} {a}"
            );
        }
        assert_eq!(run(Lbl::Bot, &ow, true), None);
    }
}
