//! The registry of finding codes: one place lists every code, its default severity and the text
//! that `blazes explain CODE` prints.

use super::Severity;

/// A finding code with its documentation.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// Stable identifier, e.g. `BLZ001`.
    pub id: &'static str,
    /// Stable kebab-case name, e.g. `order-site`.
    pub name: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One-line summary.
    pub summary: &'static str,
    /// What it means, why it matters, an example and how to fix it.
    pub doc: &'static str,
}

macro_rules! codes {
    ($($konst:ident = $id:literal $name:literal $sev:ident $summary:literal $doc:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $konst: &Code = &Code {
                id: $id,
                name: $name,
                severity: Severity::$sev,
                summary: $summary,
                doc: $doc,
            };
        )*
        /// Every code, in id order.
        pub const ALL: &[&Code] = &[$($konst),*];
    };
}

codes! {
ORDER_SITE = "BLZ001" "order-site" Error
    "an order-sensitive path is fed an unsealed stream: coordination is needed here"
"An order-sensitive path (`OR(g)` or `OW(g)`) receives a stream that is not sealed on a key
compatible with its gate. Its output then depends on the arrival order of records, which differs
between runs (label `Run`) and, on a replicated component, between replicas (`Inst`, `Diverge`).

Example: a per-word, per-batch counter `OW(word, batch)` fed by a splitter over an unsealed tweet
stream. Two runs over the same tweets can commit different counts.

Fix, cheapest first: make the producer seal the stream on a gate field (`seal: [batch]` on the
source output), so a seal barrier can release each complete partition; or order all inputs of the
component (a deterministic epoch order, or a dynamic sequencer on replicated components).";

SEAL_SITE = "BLZ002" "seal-site" Note
    "a seal is consumed here: a seal barrier must run on this input"
"An order-sensitive path is protected by a compatible seal: the producer punctuates the stream on
a key that the path's gate is deterministic within. The label is only as good as the barrier that
waits for the seals, so the generated coordination puts a seal barrier on this input: it buffers
each partition until every producer has sealed it, then releases it whole.

Barriers are read from the analysis with the plan applied: an ordering upstream can create one
(a component whose output declares a seal emits sealed streams only once its anomaly is ordered
away), so a barrier may protect a path that, as written, only inherits an anomaly.

This is informational: the topology is correct provided the barrier is deployed
(`blazes fix` writes it).";

INHERITED = "BLZ003" "inherited"  Warning
    "an anomaly inherited from an upstream coordination site"
"A confluent or order-sensitive write path receives a stream whose contents already differ
between replicas (`Inst`), so its own state diverges. The origin is upstream: fix the order site
that this finding points to and this one disappears. No coordination is needed here.";

PARTITION_SPLIT = "BLZ004" "partition-split" Warning
    "the grouping spreads a gate partition over several instances"
"An order-sensitive path runs with parallelism above one, and its input grouping (`shuffle`,
`partial_key`, `local_or_shuffle`, or `fields(f)` with fields outside the gate) does not send each
gate partition to a single instance. Each instance sees only part of a partition, so per-partition
results are split. This is often a bug, sometimes a deliberate two-phase aggregation (a combiner).

Fix: group by gate fields (`grouping: fields(word)`), or accept it with `allow: [partition-split]`.
`--deny partition-split` turns this warning into an error.";

UNUSED_SEAL = "BLZ005" "unused-seal" Warning
    "a declared seal that no path consumes"
"A producer declares `seal: [k]` but no order-sensitive path downstream has a gate compatible
with `k`, so the punctuations buy nothing. Either the seal key is wrong (a finer key than the gate,
or a field the gate does not mention) or the seal can be dropped. A seal that only the plan makes
useful (consumed once an ordering upstream is in place) is not reported.";

LOST_SEAL = "BLZ006" "lost-seal" Warning
    "a seal is dropped because an output no longer carries its key"
"A stream sealed on `k` reaches a component whose output declares `fields` that do not include
`k`. The seal cannot survive the component, so downstream consumers see an unsealed stream. Add
the key fields to the output, or re-seal downstream.";

FLUX_MISSING_ANNOTATION = "BLZ007" "flux-missing-annotation" Warning
    "a Storm Flux bolt has no blazes annotation"
"A bolt of a Storm Flux topology receives streams, but the topology's `config` map has no
`blazes.<id>.label` (or `paths`) for it. Stock Flux files carry no annotations, so this is a
warning, not an error: the bolt is analyzed as confluent (`CR`) so that the rest of the topology
is still checked, but its own verdict is unknown.

Example: `bolts: [{ id: count, className: ...WordCounter }]` with no `blazes.count.label`.

Fix: add `blazes.count.label: OW(word)` (or CR, CW, OR(gate), OW(gate)) under the topology's
`config:`; Storm ignores keys it does not know. `--deny flux-missing-annotation` makes it an
error.";

YAML_SYNTAX = "BLZ100" "yaml-syntax" Error
    "the file is not valid YAML"
"The YAML parser rejected the file. The diagnostic points at the spot where parsing stopped.";

UNKNOWN_KEY = "BLZ101" "unknown-key" Error
    "a key that the topology format does not define"
"Every key of the topology format is checked; unknown keys are errors rather than silently
ignored, because a misspelt `replicated` or `seal` changes the verdict. The help line suggests the
closest valid key.";

DUPLICATE_NAME = "BLZ102" "duplicate-name" Error
    "a name is defined twice"
"Component names, interface names within a component, and path pairs must be unique.";

DANGLING_REFERENCE = "BLZ103" "dangling-reference" Error
    "a reference to a component or output that does not exist"
"An input's `from` names a component or `component.output` that is not defined, or names a
component with several outputs without saying which.";

UNKNOWN_INTERFACE = "BLZ104" "unknown-interface" Error
    "a path names an interface the component does not have"
"`paths` entries refer to the component's own input and output interface names; `from`/`to` may
only be left out when the component has a single input/output.";

BAD_ANNOTATION = "BLZ105" "bad-annotation" Error
    "an annotation that does not parse"
"Annotations are `CR`, `CW`, `OR(gate)` or `OW(gate)`, where the gate is a list of field names,
`*` (unknown partitions) or empty (one global partition). The structured form is
`{ label: OW, gate: [word, batch] }`.";

BAD_GATE = "BLZ106" "bad-gate" Error
    "a gate or seal key that is not a list of distinct field names"
"Gates and seal keys are lists of distinct field names; `*` may only stand alone in a gate.";

UNKNOWN_SEAL_FIELD = "BLZ107" "unknown-seal-field" Error
    "a seal key names a field the output does not declare"
"When an output declares `fields`, every field of its `seal` key must be one of them (or an
`implicit` field of the topology).";

INVALID_VALUE = "BLZ108" "invalid-value" Error
    "a value of the wrong type or out of range"
"For example `parallelism: 0`, `replicated: maybe`, or an unknown grouping.";

RESOURCE_LIMIT = "BLZ109" "resource-limit" Error
    "the file exceeds a resource limit"
"The loader refuses files above 256 MiB, nesting deeper than 64 levels, and alias expansion
beyond fixed budgets (the \"billion laughs\" attack), so a hostile file cannot exhaust memory.";

MISSING_ANNOTATION = "BLZ110" "missing-annotation" Error
    "a component with inputs has no annotation"
"Every path must be annotated: give the component a `label:` (for all its paths) or `paths:`.
There is no default, because guessing `CR` would hide bugs and guessing `OW(*)` would flood
reports.";

UNKNOWN_CODE = "BLZ111" "unknown-code" Error
    "`allow` names a finding code that does not exist"
"`allow:` takes codes such as `partition-split` or `BLZ004`; `blazes explain` lists them.";

READ_ERROR = "BLZ112" "read-error" Error
    "the file could not be read"
"The path does not exist, is not readable, or is not UTF-8 text.";

ANNOTATION_CONFLICT = "BLZ113" "annotation-conflict" Error
    "the topology and a `#[blazes]` attribute disagree about an operator"
"A component names a Rust item (`rust: crate::ops::Count`) whose `#[blazes(...)]` attribute
annotates a path, a seal or `replicated` differently from the topology file (for example the
topology says `label: CR` and the attribute `OW(word)`); or two components name the same Rust
item with different labels. One operator has one behaviour, so one of them is wrong, and blazes
will not guess which. The finding points at both.

Fix: keep the annotation in one place, preferably the attribute (the compiler checks it, and it
moves with the code): drop `label:`/`paths:` from the component, or correct the one that is wrong.";

RUST_SYNTAX = "BLZ114" "rust-syntax" Error
    "a Rust source file or a `rust:` item path does not parse"
"`blazes lint CRATE` parses the crate's `src/**/*.rs` files (without compiling them) to read their
`#[blazes]` attributes; a file that is not valid Rust cannot be read. The same holds for a
`rust:` reference in a topology that is not a Rust path (`crate::ops::Count`). The diagnostic
points at the first token that does not parse; `cargo check` reports the same error.";
}

/// Looks a code up by id (`BLZ004`, case-insensitive) or name (`partition-split`).
pub fn lookup(code: &str) -> Option<&'static Code> {
    ALL.iter()
        .copied()
        .find(|c| c.id.eq_ignore_ascii_case(code) || c.name == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_found() {
        for (i, a) in ALL.iter().enumerate() {
            assert_eq!(lookup(a.id), Some(*a));
            assert_eq!(lookup(a.name), Some(*a));
            assert!(!a.doc.is_empty());
            for b in &ALL[i + 1..] {
                assert_ne!(a.id, b.id);
                assert_ne!(a.name, b.name);
            }
        }
        assert_eq!(lookup("blz004"), Some(PARTITION_SPLIT));
        assert_eq!(lookup("nope"), None);
    }
}
