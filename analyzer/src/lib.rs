//! blazes: coordination analysis for dataflow topologies.
//!
//! The pipeline, one module per stage, each a pure function of the previous stage's value:
//!
//! ```text
//! topology.yaml ─> load ─> Topology ─> analysis ─> Analysis ─> plan ─> Plan ─> report
//! ```
//!
//! [`check_str`] runs the whole pipeline on YAML text and returns the findings, as the CLI
//! prints them.
//!
//! ```
//! let yaml = "components:\n  src: {}\n  count: { inputs: [src], label: OW(word) }\n";
//! let report = blazes::check_str("t.yaml", yaml, &Default::default()).unwrap();
//! assert_eq!(report.findings[0].code.name, "order-site");
//! ```

pub mod analysis;
pub mod cli;
pub mod codegen;
pub mod graph;
pub mod load;
pub mod model;
mod parallel;
pub mod plan;
pub mod report;
pub mod simulate;
mod slices;
pub mod verify;
pub mod wiring;

/// The generators of large topologies that the benchmarks use, for tests at scale.
#[cfg(test)]
#[path = "../benches/topogen/mod.rs"]
mod topogen;

pub use analysis::{Analysis, analyze};
pub use blazes_annotations as annotations;
pub use model::Topology;
pub use plan::{Plan, analyze_and_plan, plan};
pub use report::{Diagnostic, Severity};

/// Options for a whole check.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// Planning options.
    pub plan: plan::Options,
    /// Finding options.
    pub findings: plan::findings::FindingOptions,
}

/// Everything a check produces for one topology.
#[derive(Debug)]
pub struct Report {
    /// The loaded topology.
    pub topology: Topology,
    /// Labels and derivations.
    pub analysis: Analysis,
    /// Coordination sites and verification.
    pub plan: Plan,
    /// Findings in reporting order.
    pub findings: Vec<Diagnostic>,
}

impl Report {
    /// True when some finding has error severity.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|d| d.severity == Severity::Error)
    }
}

/// Analyzes and plans a topology with default options: the same findings as `blazes lint`.
/// Made to be called from a test: `assert!(!blazes::check(&topology).has_errors())`.
pub fn check(topology: &Topology) -> Report {
    check_with(topology.clone(), &CheckOptions::default())
}

/// Analyzes and plans a loaded topology with the given options.
pub fn check_with(topology: Topology, options: &CheckOptions) -> Report {
    let (analysis, plan) = plan::analyze_and_plan(&topology, options.plan);
    let findings = plan::findings::findings(&topology, &analysis, &plan, &options.findings);
    Report {
        topology,
        analysis,
        plan,
        findings,
    }
}

/// Loads YAML text (`name` is shown in diagnostics) and checks it; input errors come back as
/// diagnostics. A Storm Flux topology is recognised too (without property substitution).
pub fn check_str(
    name: &str,
    yaml: &str,
    options: &CheckOptions,
) -> Result<Report, Vec<Diagnostic>> {
    check_string(name, yaml.to_string(), options)
}

/// Like [`check_str`], taking the text, which the report keeps as the source of its
/// diagnostics (rather than a copy of it).
pub fn check_string(
    name: &str,
    yaml: String,
    options: &CheckOptions,
) -> Result<Report, Vec<Diagnostic>> {
    Ok(check_loaded(
        load::load_any_string(name, yaml, &load::flux::Options::default())?,
        options,
    ))
}

/// Checks a loaded topology and adds the loader's findings (allowed ones dropped, denied ones
/// escalated, as for the analysis' findings).
pub fn check_loaded(loaded: load::Loaded, options: &CheckOptions) -> Report {
    let mut report = check_with(loaded.topology, options);
    if loaded.warnings.is_empty() {
        return report;
    }
    for mut d in loaded.warnings {
        if d.severity == Severity::Warning
            && options
                .findings
                .deny
                .iter()
                .any(|x| report::codes::lookup(x).is_some_and(|c| c == d.code))
        {
            d.severity = Severity::Error;
        }
        report.findings.push(d);
    }
    report::sort(&mut report.findings);
    report
}

/// The JSON Schema of the topology format (SPEC §8), as `blazes schema` prints it.
pub const TOPOLOGY_SCHEMA: &str = include_str!("schema.json");
