//! Const-constructible annotations: what the `#[blazes(...)]` attribute emits, at zero runtime
//! cost, next to the annotated item.
//!
//! Every type here can be built in a `const` item (only `&'static` slices and strings), and
//! converts to the owned vocabulary ([`Annotation`], [`SealKey`]) that the analyzer uses.
//!
//! ```
//! use blazes_annotations::{Annotation, Gate, Operator, OperatorSpec, AnnotationSpec, GateSpec};
//!
//! struct Count;
//! impl Operator for Count {
//!     const BLAZES: OperatorSpec = OperatorSpec {
//!         label: Some(AnnotationSpec::OW(GateSpec::Fields(&["word", "batch"]))),
//!         ..OperatorSpec::named("count")
//!     };
//! }
//! assert_eq!(Count::BLAZES.annotation(), Some(Annotation::OW(Gate::fields(["word", "batch"]))));
//! assert_eq!(Count::BLAZES.to_string(), "OW(word, batch)");
//! ```

use std::fmt;

use crate::{Annotation, Gate, SealKey};

/// A gate as a constant: `*` or a list of field names (empty: the global gate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GateSpec {
    /// `*`: the partitions are unknown.
    Any,
    /// Field names; `&[]` is the global gate `()`.
    Fields(&'static [&'static str]),
}

impl GateSpec {
    /// The owned [`Gate`].
    pub fn to_gate(&self) -> Gate {
        match self {
            GateSpec::Any => Gate::Any,
            GateSpec::Fields(f) => Gate::fields(f.iter().copied()),
        }
    }
}

/// A path annotation as a constant (`CR`, `CW`, `OR(g)`, `OW(g)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnnotationSpec {
    /// Confluent, read-only.
    CR,
    /// Confluent, write.
    CW,
    /// Order-sensitive read within the gate's partitions.
    OR(GateSpec),
    /// Order-sensitive write within the gate's partitions.
    OW(GateSpec),
}

impl AnnotationSpec {
    /// The owned [`Annotation`].
    pub fn to_annotation(&self) -> Annotation {
        match self {
            AnnotationSpec::CR => Annotation::CR,
            AnnotationSpec::CW => Annotation::CW,
            AnnotationSpec::OR(g) => Annotation::OR(g.to_gate()),
            AnnotationSpec::OW(g) => Annotation::OW(g.to_gate()),
        }
    }
}

/// Prints the compact syntax with the gate's fields in the order written (`OW(word, batch)`).
impl fmt::Display for AnnotationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (word, gate) = match self {
            AnnotationSpec::CR => return f.write_str("CR"),
            AnnotationSpec::CW => return f.write_str("CW"),
            AnnotationSpec::OR(g) => ("OR", g),
            AnnotationSpec::OW(g) => ("OW", g),
        };
        match gate {
            GateSpec::Any => write!(f, "{word}(*)"),
            GateSpec::Fields(names) => write!(f, "{word}({})", names.join(", ")),
        }
    }
}

/// The annotation of one path, `path(from -> to, ANN)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PathSpec {
    /// Input interface name.
    pub from: &'static str,
    /// Output interface name.
    pub to: &'static str,
    /// The annotation of this path.
    pub annotation: AnnotationSpec,
}

/// Everything a `#[blazes(...)]` attribute says about an operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OperatorSpec {
    /// The component name used when the operator is wired by type (`name = "…"`, else the item
    /// name in snake case).
    pub name: &'static str,
    /// The annotation of every input × output path, if given.
    pub label: Option<AnnotationSpec>,
    /// Annotations of single paths; they override `label` for their pair.
    pub paths: &'static [PathSpec],
    /// The instances are replicas that must agree.
    pub replicated: bool,
    /// Every output is sealed on this key (`seal(k…)`); `Some(&[])` is the end-of-stream seal.
    pub seal: Option<&'static [&'static str]>,
}

impl OperatorSpec {
    /// An operator with a name and nothing else, for `..OperatorSpec::named("x")`.
    pub const fn named(name: &'static str) -> Self {
        OperatorSpec {
            name,
            label: None,
            paths: &[],
            replicated: false,
            seal: None,
        }
    }

    /// The owned annotation of every path, if the attribute gives one.
    pub fn annotation(&self) -> Option<Annotation> {
        self.label.as_ref().map(AnnotationSpec::to_annotation)
    }

    /// The owned seal key, if the attribute declares one.
    pub fn seal_key(&self) -> Option<SealKey> {
        self.seal.map(|k| SealKey::new(k.iter().copied()))
    }

    /// True when the attribute annotates no path (a source).
    pub fn is_unannotated(&self) -> bool {
        self.label.is_none() && self.paths.is_empty()
    }
}

/// Prints the attribute's arguments as they would be written: `CR, path(a -> b, CW), replicated`.
impl fmt::Display for OperatorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(l) = &self.label {
            parts.push(l.to_string());
        }
        for p in self.paths {
            parts.push(format!("path({} -> {}, {})", p.from, p.to, p.annotation));
        }
        if self.replicated {
            parts.push("replicated".into());
        }
        if let Some(k) = self.seal_key() {
            parts.push(format!("seal({k})"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// A type annotated with `#[blazes(...)]`: its annotations as an associated constant.
pub trait Operator {
    /// What the attribute says.
    const BLAZES: OperatorSpec;
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: OperatorSpec = OperatorSpec {
        paths: &[
            PathSpec {
                from: "click",
                to: "response",
                annotation: AnnotationSpec::CW,
            },
            PathSpec {
                from: "request",
                to: "response",
                annotation: AnnotationSpec::OR(GateSpec::Fields(&["id", "campaign"])),
            },
        ],
        replicated: true,
        ..OperatorSpec::named("report")
    };

    #[test]
    fn converts_to_the_owned_vocabulary() {
        assert_eq!(
            AnnotationSpec::OR(GateSpec::Any).to_annotation(),
            Annotation::OR(Gate::Any)
        );
        assert_eq!(
            AnnotationSpec::OW(GateSpec::Fields(&[])).to_annotation(),
            Annotation::OW(Gate::global())
        );
        assert_eq!(REPORT.annotation(), None);
        assert!(!REPORT.is_unannotated());
        let src = OperatorSpec {
            seal: Some(&["batch"]),
            ..OperatorSpec::named("tweets")
        };
        assert!(src.is_unannotated());
        assert_eq!(src.seal_key(), Some(SealKey::new(["batch"])));
    }

    #[test]
    fn displays_as_the_attribute_is_written() {
        assert_eq!(
            REPORT.to_string(),
            "path(click -> response, CW), path(request -> response, OR(id, campaign)), replicated"
        );
        let eos = OperatorSpec {
            label: Some(AnnotationSpec::CR),
            seal: Some(&[]),
            ..OperatorSpec::named("x")
        };
        assert_eq!(eos.to_string(), "CR, seal()");
        assert_eq!(AnnotationSpec::OW(GateSpec::Any).to_string(), "OW(*)");
        assert_eq!(
            AnnotationSpec::OR(GateSpec::Fields(&[])).to_string(),
            "OR()"
        );
    }
}
