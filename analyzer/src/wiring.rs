//! Wiring annotated Rust operators in code, to check a topology from a unit test.
//!
//! Operators carry their annotations (`#[blazes(...)]` emits them as constants:
//! [`Operator::BLAZES`] on types, `NAME_BLAZES` next to functions); a [`TopologyBuilder`]
//! connects them by name and produces the same [`Topology`] the YAML loader produces, so
//! [`crate::check`] reports the same findings as `blazes lint`.
//!
//! ```
//! use blazes::annotations::{AnnotationSpec, GateSpec, Operator, OperatorSpec};
//! use blazes::wiring::TopologyBuilder;
//!
//! struct Count;
//! impl Operator for Count {
//!     const BLAZES: OperatorSpec = OperatorSpec {
//!         label: Some(AnnotationSpec::OW(GateSpec::Fields(&["word", "batch"]))),
//!         ..OperatorSpec::named("count")
//!     };
//! }
//!
//! let wiring = TopologyBuilder::new("wordcount")
//!     .source("tweets", &["word", "batch"], Some(&["batch"]))
//!     .operator::<Count>("count")
//!     .connect("tweets", "count");
//! let report = blazes::check(&wiring.build().unwrap());
//! assert!(!report.has_errors());
//!
//! // Without the seal, `count` is an order site.
//! let unsealed = TopologyBuilder::new("wordcount")
//!     .source("tweets", &["word", "batch"], None)
//!     .operator::<Count>("count")
//!     .connect("tweets", "count");
//! let report = blazes::check(&unsealed.build().unwrap());
//! assert_eq!(report.findings[0].code.name, "order-site");
//! ```
//!
//! The builder writes a topology in the YAML format (see [`TopologyBuilder::to_yaml`]) and loads
//! it with the ordinary loader: every check of the format applies, and a diagnostic points into
//! that generated text (named `<wiring NAME>`), which the human report shows.

use blazes_annotations::{Operator, OperatorSpec};

use crate::Report;
use crate::model::Topology;
use crate::report::{Diagnostic, human};

/// One component being wired.
#[derive(Clone, Debug)]
struct Decl {
    name: String,
    spec: Option<OperatorSpec>,
    /// Outputs named so far, with declared fields and seal.
    outputs: Vec<OutputDecl>,
    parallelism: Option<u32>,
    replicated: bool,
}

#[derive(Clone, Debug, Default)]
struct OutputDecl {
    name: String,
    fields: Option<Vec<String>>,
    seal: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
struct Edge {
    from: String,
    to: String,
    input: String,
    grouping: Option<String>,
}

/// Connects annotated operators into a [`Topology`], for [`crate::check`] in a test.
#[derive(Clone, Debug)]
pub struct TopologyBuilder {
    name: String,
    components: Vec<Decl>,
    edges: Vec<Edge>,
    implicit: Vec<String>,
}

impl TopologyBuilder {
    /// An empty wiring; `name` names the topology and the generated source in diagnostics.
    pub fn new(name: impl Into<String>) -> Self {
        TopologyBuilder {
            name: name.into(),
            components: Vec::new(),
            edges: Vec::new(),
            implicit: Vec::new(),
        }
    }

    fn decl(&mut self, name: &str) -> &mut Decl {
        let i = match self.components.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                self.components.push(Decl {
                    name: name.to_string(),
                    spec: None,
                    outputs: Vec::new(),
                    parallelism: None,
                    replicated: false,
                });
                self.components.len() - 1
            }
        };
        &mut self.components[i]
    }

    fn output(&mut self, port: &str) -> &mut OutputDecl {
        let (comp, out) = port.split_once('.').unwrap_or((port, "out"));
        let decl = self.decl(comp);
        let i = match decl.outputs.iter().position(|o| o.name == out) {
            Some(i) => i,
            None => {
                decl.outputs.push(OutputDecl {
                    name: out.to_string(),
                    ..OutputDecl::default()
                });
                decl.outputs.len() - 1
            }
        };
        &mut decl.outputs[i]
    }

    /// A source with one output `out` carrying `fields`, sealed on `seal` if given (`Some(&[])`
    /// is the end-of-stream seal).
    pub fn source(mut self, name: &str, fields: &[&str], seal: Option<&[&str]>) -> Self {
        let out = self.output(name);
        out.fields = Some(fields.iter().map(|f| f.to_string()).collect());
        out.seal = seal.map(|k| k.iter().map(|f| f.to_string()).collect());
        self
    }

    /// An operator annotated with `#[blazes]` on a type, under a component name.
    pub fn operator<O: Operator>(self, name: &str) -> Self {
        self.spec(name, &O::BLAZES)
    }

    /// An operator annotated with `#[blazes]` on a type, under the name the attribute gives
    /// (`name = "…"`, else the type name in snake case).
    pub fn typed<O: Operator>(self) -> Self {
        let spec = O::BLAZES;
        self.spec(spec.name, &spec)
    }

    /// An operator from its annotation constant, e.g. `SPLIT_BLAZES` for a `#[blazes]` function.
    /// Outputs named in its `path(…)`s are declared; its `seal(…)` seals every output.
    pub fn spec(mut self, name: &str, spec: &OperatorSpec) -> Self {
        for p in spec.paths {
            self.output(&format!("{name}.{}", p.to));
        }
        let decl = self.decl(name);
        decl.spec = Some(*spec);
        decl.replicated |= spec.replicated;
        self
    }

    /// Connects an output to a component: `from` is `comp` (its single output) or
    /// `comp.output`; `to` is `comp` (the input is named after `from`, as written) or
    /// `comp.input`. The grouping is `shuffle`.
    pub fn connect(mut self, from: &str, to: &str) -> Self {
        let (comp, input) = to.split_once('.').unwrap_or((to, from));
        self.decl(comp);
        if from.contains('.') {
            self.output(from);
        }
        self.edges.push(Edge {
            from: from.to_string(),
            to: comp.to_string(),
            input: input.to_string(),
            grouping: None,
        });
        self
    }

    /// Like [`TopologyBuilder::connect`], with a grouping in the format's syntax:
    /// `fields(word)`, `shuffle`, `all`, `global`, `partial_key(k)`, …
    pub fn connect_grouped(self, from: &str, to: &str, grouping: &str) -> Self {
        let mut this = self.connect(from, to);
        if let Some(e) = this.edges.last_mut() {
            e.grouping = Some(grouping.to_string());
        }
        this
    }

    /// The number of instances of a component.
    pub fn parallelism(mut self, component: &str, instances: u32) -> Self {
        self.decl(component).parallelism = Some(instances);
        self
    }

    /// Marks a component's instances as replicas that must agree.
    pub fn replicated(mut self, component: &str) -> Self {
        self.decl(component).replicated = true;
        self
    }

    /// Declares the record fields of an output (`comp` or `comp.output`).
    pub fn fields(mut self, port: &str, fields: &[&str]) -> Self {
        self.output(port).fields = Some(fields.iter().map(|f| f.to_string()).collect());
        self
    }

    /// Seals an output (`comp` or `comp.output`) on a key.
    pub fn seal(mut self, port: &str, key: &[&str]) -> Self {
        self.output(port).seal = Some(key.iter().map(|f| f.to_string()).collect());
        self
    }

    /// Fields every record carries without declaring them (the topology's `implicit:`).
    pub fn implicit(mut self, fields: &[&str]) -> Self {
        self.implicit = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// The wiring in the topology format (SPEC §8): what [`TopologyBuilder::build`] loads, and
    /// a starting point for a crate's `blazes.yaml`.
    pub fn to_yaml(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"));
        let list = |v: &[String]| {
            let items: Vec<String> = v.iter().map(|s| q(s)).collect();
            format!("[{}]", items.join(", "))
        };
        let mut y = format!("name: {}\n", q(&self.name));
        if !self.implicit.is_empty() {
            y.push_str(&format!("implicit: {}\n", list(&self.implicit)));
        }
        y.push_str("components:\n");
        for c in &self.components {
            y.push_str(&format!("  {}:\n", q(&c.name)));
            let inputs: Vec<&Edge> = self.edges.iter().filter(|e| e.to == c.name).collect();
            if !inputs.is_empty() {
                y.push_str("    inputs:\n");
                for e in inputs {
                    let grouping = e
                        .grouping
                        .as_ref()
                        .map(|g| format!(", grouping: {}", q(g)))
                        .unwrap_or_default();
                    y.push_str(&format!(
                        "      {}: {{ from: {}{grouping} }}\n",
                        q(&e.input),
                        q(&e.from)
                    ));
                }
            }
            let seal = c.spec.and_then(|s| s.seal);
            let mut outputs = c.outputs.clone();
            if seal.is_some() && outputs.is_empty() {
                outputs.push(OutputDecl {
                    name: "out".into(),
                    ..OutputDecl::default()
                });
            }
            if !outputs.is_empty() {
                y.push_str("    outputs:\n");
                for o in &outputs {
                    let mut parts = Vec::new();
                    if let Some(f) = &o.fields {
                        parts.push(format!("fields: {}", list(f)));
                    }
                    let key = o.seal.clone().or_else(|| {
                        seal.map(|k| k.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                    });
                    if let Some(k) = key {
                        parts.push(format!("seal: {}", list(&k)));
                    }
                    y.push_str(&format!(
                        "      {}: {{ {} }}\n",
                        q(&o.name),
                        parts.join(", ")
                    ));
                }
            }
            if let Some(spec) = &c.spec {
                if let Some(l) = &spec.label {
                    y.push_str(&format!("    label: {}\n", q(&l.to_string())));
                }
                if !spec.paths.is_empty() {
                    y.push_str("    paths:\n");
                    for p in spec.paths {
                        y.push_str(&format!(
                            "      - {{ from: {}, to: {}, label: {} }}\n",
                            q(p.from),
                            q(p.to),
                            q(&p.annotation.to_string())
                        ));
                    }
                }
            }
            if let Some(n) = c.parallelism {
                y.push_str(&format!("    parallelism: {n}\n"));
            }
            if c.replicated {
                y.push_str("    replicated: true\n");
            }
        }
        y
    }

    /// The topology, loaded from [`TopologyBuilder::to_yaml`]; wiring mistakes (a dangling
    /// reference, a path naming an interface the component lacks, a seal on a field an output
    /// does not carry) come back as diagnostics.
    pub fn build(&self) -> Result<Topology, Vec<Diagnostic>> {
        crate::load::load_str(&format!("<wiring {}>", self.name), &self.to_yaml())
    }

    /// Builds and checks the wiring as `blazes lint` does. `Err` when the wiring does not load
    /// or a finding has error severity; it prints as the report `blazes lint` prints, so a test
    /// can fail with it: `wiring.verify().unwrap()`.
    pub fn verify(&self) -> Result<Report, Failure> {
        let mut diagnostics = match self.build() {
            Err(diags) => diags,
            Ok(t) => {
                let report = crate::check(&t);
                if !report.has_errors() {
                    return Ok(report);
                }
                report.findings
            }
        };
        let rendered = render(&mut diagnostics);
        Err(Failure {
            diagnostics,
            rendered,
        })
    }
}

/// Why [`TopologyBuilder::verify`] failed: input errors or findings of error severity. Its
/// `Debug` and `Display` are the rendered report, so `unwrap()` in a test prints it readably.
pub struct Failure {
    /// The diagnostics, in reporting order.
    pub diagnostics: Vec<Diagnostic>,
    /// The human report (no colour), with its summary line.
    pub rendered: String,
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\n{}", self.rendered)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::error::Error for Failure {}

/// Renders diagnostics as `blazes lint --color never` does.
pub fn render(diags: &mut [Diagnostic]) -> String {
    crate::report::sort(diags);
    format!(
        "{}{}",
        human::render(diags, human::Style::default()),
        human::summary(diags)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use blazes_annotations::{AnnotationSpec, GateSpec, PathSpec};

    struct Report2;
    impl Operator for Report2 {
        const BLAZES: OperatorSpec = OperatorSpec {
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
    }

    const CACHE: OperatorSpec = OperatorSpec {
        label: Some(AnnotationSpec::CW),
        replicated: true,
        ..OperatorSpec::named("cache")
    };

    fn adnet(seal: Option<&'static [&'static str]>) -> TopologyBuilder {
        TopologyBuilder::new("adnet")
            .source("ads", &["id", "campaign"], seal)
            .source("requests", &["id", "campaign"], None)
            .typed::<Report2>()
            .spec("cache", &CACHE)
            .connect("ads", "report.click")
            .connect("requests", "report.request")
            .connect("report.response", "cache")
    }

    #[test]
    fn same_findings_as_the_yaml_example() {
        // The paper's CAMPAIGN query: unsealed clicks make `report` an order site.
        let t = adnet(None).build().unwrap();
        let report = crate::check(&t);
        assert!(report.has_errors());
        let codes: Vec<&str> = report.findings.iter().map(|d| d.code.name).collect();
        assert!(codes.contains(&"order-site"), "{codes:?}");
        assert_eq!(report.findings[0].component.as_deref(), Some("report"));
        let failure = adnet(None).verify().unwrap_err();
        assert_eq!(failure.diagnostics[0].code.name, "order-site");
        assert_eq!(format!("{failure:?}"), format!("\n{failure}"));
        let text = failure.rendered;
        assert!(text.contains("order-site"), "{text}");
        assert!(text.contains("<wiring adnet>"), "{text}");
        // Sealed on `campaign`, a seal barrier suffices.
        let report = adnet(Some(&["campaign"])).verify().unwrap();
        assert!(report.findings.iter().any(|d| d.code.name == "seal-site"));
    }

    #[test]
    fn wiring_mistakes_are_diagnostics() {
        let diags = TopologyBuilder::new("w")
            .source("a", &["x"], None)
            .spec("c", &CACHE)
            .connect("nope", "c")
            .build()
            .unwrap_err();
        assert_eq!(diags[0].code.name, "dangling-reference");
        let diags = TopologyBuilder::new("w")
            .source("a", &["x"], Some(&["y"]))
            .build()
            .unwrap_err();
        assert_eq!(diags[0].code.name, "unknown-seal-field");
    }

    #[test]
    fn yaml_round_trips_through_the_loader() {
        let y = adnet(Some(&["campaign"]))
            .parallelism("cache", 2)
            .connect_grouped("report.response", "cache.second", "fields(id)")
            .to_yaml();
        assert!(y.contains("label: \"CW\""), "{y}");
        assert!(
            y.contains("{ from: \"request\", to: \"response\", label: \"OR(id, campaign)\" }"),
            "{y}"
        );
        assert!(y.contains("grouping: \"fields(id)\""), "{y}");
        let t = crate::load::load_str("w", &y).unwrap();
        let cache = &t.components[t.component_index("cache").unwrap()];
        assert_eq!(cache.parallelism, 2);
        assert!(cache.replicated);
        assert_eq!(cache.inputs.len(), 2);
    }
}
