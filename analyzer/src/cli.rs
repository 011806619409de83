//! The command line: the only place that prints or chooses an exit code.
//!
//! Exit codes: 0 clean, 1 findings of error severity, 2 input or usage error.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::analysis::{Derivations, Ordering};
use crate::model::{Port, Topology};
use crate::plan::SiteKind;
use crate::report::{self, Diagnostic, baseline, codes, github, human, json, sarif};
use crate::{CheckOptions, Report, load};

/// Where stream-processing topologies need coordination, and which.
#[derive(Debug, Parser)]
#[command(name = "blazes", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze topology files: stream labels, coordination sites, derivations and remedies.
    Lint(LintArgs),
    /// Execute a topology under many delivery schedules and show the nondeterminism it exhibits.
    Simulate(SimulateArgs),
    /// Generate coordination shims (a Rust module over blazes-runtime) from a topology's plan.
    Fix(FixArgs),
    /// Print the documentation of a finding code (or list every code).
    Explain {
        /// A code such as `BLZ001` or `order-site`.
        code: Option<String>,
    },
    /// Draw a topology (Graphviz DOT or a Mermaid flowchart): labels, sites and seals.
    Graph(GraphArgs),
    /// Print the JSON Schema of the topology format (SPEC §8), for editors.
    Schema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `blazes man > blazes.1`.
    Man,
}

/// Graph formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart (renders in GitHub comments and Markdown).
    Mermaid,
}

/// Options shared by every command that loads a topology: Storm Flux property substitution.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FluxArgs {
    /// Storm Flux: a `.properties` file whose values replace `${name}` in the topology.
    #[arg(long, value_name = "FILE")]
    pub filter: Option<String>,
    /// Storm Flux: replace `${ENV-NAME}` with the environment variable `NAME`.
    #[arg(long)]
    pub env_filter: bool,
}

/// Arguments of `blazes graph`.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// Topology file (YAML, SPEC §8, or Storm Flux); `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
    /// Order every order site deterministically, also on replicated components.
    #[arg(long)]
    pub deterministic: bool,
    /// Flux property substitution.
    #[command(flatten)]
    pub flux: FluxArgs,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics with source snippets.
    Human,
    /// The documented JSON contract.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}

/// Colour choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Arguments of `blazes lint`.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Topology files (YAML, SPEC §8, or Storm Flux); `-` reads standard input. A crate
    /// directory or `Cargo.toml` reads the `#[blazes]` attributes of its sources, wired by its
    /// `blazes.yaml`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to use colour in human output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Also print a table with the label of every stream.
    #[arg(long)]
    pub labels: bool,
    /// Turn warnings with this code into errors (repeatable), e.g. `--deny partition-split`.
    #[arg(long, value_name = "CODE")]
    pub deny: Vec<String>,
    /// Order every order site deterministically, also on replicated components.
    #[arg(long)]
    pub deterministic: bool,
    /// Attach to each order site two delivery orders that give different outputs (simulated).
    #[arg(long)]
    pub witness: bool,
    /// Report only findings that this baseline file (from `--write-baseline`) does not record.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<String>,
    /// Record the current findings in this file (a baseline) and exit 0 unless input errors.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<String>,
    /// Flux property substitution.
    #[command(flatten)]
    pub flux: FluxArgs,
}

/// Arguments of `blazes simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Topology file (YAML, SPEC §8); `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Records emitted by each source output.
    #[arg(long, default_value_t = 3)]
    pub records: usize,
    /// Values per field (each field takes values `0..domain`).
    #[arg(long, default_value_t = 2)]
    pub domain: u64,
    /// Random schedules to run when the schedule space is too large to enumerate.
    #[arg(long, default_value_t = 200)]
    pub schedules: usize,
    /// Seed of the random schedules and the source data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Messages one run may deliver; a run that needs more is not counted, and when the first
    /// run needs more the simulation stops.
    #[arg(long, default_value_t = crate::simulate::Config::default().max_messages)]
    pub max_messages: usize,
}

/// Arguments of `blazes fix`.
#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// Topology file (YAML, SPEC §8); `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Where the generated Rust module goes.
    #[arg(long, value_name = "PATH")]
    pub out: std::path::PathBuf,
    /// Print a unified patch against the current content of `--out` instead of writing it.
    #[arg(long)]
    pub diff: bool,
    /// Order every order site deterministically, also on replicated components.
    #[arg(long)]
    pub deterministic: bool,
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let mut stdout = std::io::stdout().lock();
    let code = match cli.command {
        Command::Lint(args) => lint(&args, &mut stdout),
        Command::Simulate(args) => simulate(&args, &mut stdout),
        Command::Fix(args) => fix(&args, &mut stdout),
        Command::Explain { code } => explain(code.as_deref(), &mut stdout),
        Command::Graph(args) => graph(&args, &mut stdout),
        Command::Schema => {
            let ok = stdout.write_all(crate::TOPOLOGY_SCHEMA.as_bytes()).is_ok();
            if ok { 0 } else { 2 }
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "blazes", &mut stdout);
            0
        }
        Command::Man => {
            let man = clap_mangen::Man::new(Cli::command());
            if man.render(&mut stdout).is_ok() {
                0
            } else {
                2
            }
        }
    };
    let _ = stdout.flush();
    ExitCode::from(code)
}

/// `blazes explain`.
pub fn explain(code: Option<&str>, out: &mut dyn Write) -> u8 {
    let Some(code) = code else {
        for c in codes::ALL {
            let _ = writeln!(
                out,
                "{}  {:<20} {:<8} {}",
                c.id, c.name, c.severity, c.summary
            );
        }
        return 0;
    };
    match codes::lookup(code) {
        Some(c) => {
            let _ = writeln!(
                out,
                "{} {} ({})\n\n{}\n\n{}",
                c.id, c.name, c.severity, c.summary, c.doc
            );
            0
        }
        None => {
            let names: Vec<&str> = codes::ALL.iter().map(|c| c.name).collect();
            let hint = blazes_annotations::suggest(code, &names)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            eprintln!("error: unknown code `{code}`{hint}; `blazes explain` lists them");
            2
        }
    }
}

/// `blazes simulate`: writes the table of analyzer labels against simulated behaviour; exit 1
/// when the simulator shows nondeterminism on a stream the analyzer calls deterministic.
pub fn simulate(args: &SimulateArgs, out: &mut dyn Write) -> u8 {
    let report = match load::load_path(&args.file) {
        Ok(t) => crate::check_with(t, &CheckOptions::default()),
        Err(diags) => {
            let _ = out.write_all(human::render(&diags, human::Style::default()).as_bytes());
            return 2;
        }
    };
    let config = crate::simulate::Config {
        records: args.records,
        domain: args.domain,
        schedules: args.schedules,
        seed: args.seed,
        max_messages: args.max_messages,
        ..crate::simulate::Config::default()
    };
    let (text, disagrees) = crate::simulate::render(&report, &config);
    if out.write_all(text.as_bytes()).is_err() {
        return 2;
    }
    u8::from(disagrees)
}

/// `blazes fix`: generates the shim module for the file's plan and writes it to `--out` (or, with
/// `--diff`, prints a unified patch against the current content of `--out`). Exit 0 when written
/// or printed, 2 on an input or usage error, in which case nothing is written.
pub fn fix(args: &FixArgs, out: &mut dyn Write) -> u8 {
    let options = CheckOptions {
        plan: crate::plan::Options {
            deterministic: args.deterministic,
        },
        ..CheckOptions::default()
    };
    let report = match load::load_path(&args.file) {
        Ok(t) => crate::check_with(t, &options),
        Err(diags) => {
            eprint!("{}", human::render(&diags, human::Style::default()));
            eprintln!("{}: {}; nothing written", args.file, human::summary(&diags));
            return 2;
        }
    };
    let source_name = match std::path::Path::new(&args.file).file_name() {
        Some(n) if args.file != "-" => n.to_string_lossy().into_owned(),
        _ => "<stdin>".to_string(),
    };
    let code = match crate::codegen::generate(&report, &source_name) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}; nothing written");
            return 2;
        }
    };
    let shown = args.out.to_string_lossy().replace('\\', "/");
    if args.diff {
        let current = match std::fs::read_to_string(&args.out) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                eprintln!("error: cannot read `{shown}`: {e}");
                return 2;
            }
        };
        let patch = crate::codegen::diff::unified(&shown, &current, &code);
        return if out.write_all(patch.as_bytes()).is_ok() {
            0
        } else {
            2
        };
    }
    if let Err(e) = std::fs::write(&args.out, &code) {
        eprintln!("error: cannot write `{shown}`: {e}");
        return 2;
    }
    eprintln!(
        "wrote {shown}: {} coordination site(s){}",
        report.plan.sites.len(),
        if report.plan.verified() {
            ""
        } else {
            " (the plan did NOT verify; see `blazes lint`)"
        }
    );
    0
}

/// `blazes lint`: writes the report to `out` and returns the exit code.
pub fn lint(args: &LintArgs, out: &mut dyn Write) -> u8 {
    if let Some(bad) = args.deny.iter().find(|c| codes::lookup(c).is_none()) {
        eprintln!("error: `--deny {bad}`: unknown code; `blazes explain` lists them");
        return 2;
    }
    let options = CheckOptions {
        plan: crate::plan::Options {
            deterministic: args.deterministic,
        },
        findings: crate::plan::findings::FindingOptions {
            deny: args.deny.clone(),
        },
    };
    let flux = match flux_options(&args.flux) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut results: Vec<Result<Report, Vec<Diagnostic>>> = Vec::new();
    for file in &args.files {
        results.push(load::load_path_with(file, &flux).map(|l| crate::check_loaded(l, &options)));
    }
    let input_error = results.iter().any(Result::is_err);
    if let Some(path) = &args.write_baseline {
        let b = baseline::Baseline::of(
            results
                .iter()
                .flatten()
                .flat_map(|r| r.findings.iter().map(move |d| (&r.topology, d))),
        );
        if let Err(e) = std::fs::write(path, b.to_json()) {
            eprintln!("error: cannot write the baseline `{path}`: {e}");
            return 2;
        }
        eprintln!(
            "wrote {} findings to the baseline `{path}`",
            b.findings.len()
        );
    }
    let mut hidden = 0;
    if let Some(path) = &args.baseline {
        let b = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| baseline::Baseline::parse(&text))
        {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read the baseline `{path}`: {e}");
                return 2;
            }
        };
        let mut matcher = b.matcher();
        for r in results.iter_mut().flatten() {
            let before = r.findings.len();
            let t = &r.topology;
            r.findings.retain(|d| !matcher.known(t, d));
            hidden += before - r.findings.len();
        }
    }
    let findings_error = results
        .iter()
        .any(|r| r.as_ref().is_ok_and(Report::has_errors));
    let write = match args.format {
        Format::Human => write_human(args, &results, out).and_then(|()| {
            if hidden > 0 {
                writeln!(
                    out,
                    "{hidden} findings recorded in the baseline are not shown"
                )?;
            }
            Ok(())
        }),
        Format::Json => write_json(&results, args.witness, out),
        Format::Sarif => write_sarif(&results, out),
        Format::Github => out.write_all(
            github::render(results.iter().flat_map(|r| match r {
                Ok(r) => r.findings.iter(),
                Err(d) => d.iter(),
            }))
            .as_bytes(),
        ),
    };
    if args.write_baseline.is_some() && !input_error {
        return if write.is_err() { 2 } else { 0 };
    }
    if write.is_err() {
        return 2;
    }
    if input_error {
        2
    } else if findings_error {
        1
    } else {
        0
    }
}

fn use_color(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

fn write_human(
    args: &LintArgs,
    results: &[Result<Report, Vec<Diagnostic>>],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let style = human::Style {
        color: use_color(args.color),
        ..human::Style::default()
    };
    for (file, result) in args.files.iter().zip(results) {
        let file = if file == "-" {
            "<stdin>"
        } else {
            file.as_str()
        };
        match result {
            Err(diags) => {
                out.write_all(human::render(diags, style).as_bytes())?;
                writeln!(
                    out,
                    "{file}: {}; not analyzed (input errors)",
                    human::summary(diags)
                )?;
            }
            Ok(r) => {
                let witnesses = args.witness.then(|| crate::simulate::Witnesses::new(r));
                let witness =
                    |d: &Diagnostic| witnesses.as_ref().map_or_else(Vec::new, |w| w.lines(r, d));
                out.write_all(human::render_with(&r.findings, style, &witness).as_bytes())?;
                if args.labels {
                    let rows: Vec<(String, String, String)> = streams(&r.topology)
                        .map(|(from, to)| {
                            (
                                r.topology.port_name(from),
                                to.map_or_else(
                                    || "(sink)".to_string(),
                                    |(c, i)| {
                                        let comp = &r.topology.components[c];
                                        format!("{} ({})", comp.name, comp.inputs[i].name)
                                    },
                                ),
                                r.analysis.label(from).to_string(),
                            )
                        })
                        .collect();
                    out.write_all(human::label_table(&rows).as_bytes())?;
                    writeln!(out)?;
                }
                writeln!(
                    out,
                    "{file}: {}; {}",
                    human::summary(&r.findings),
                    plan_summary(r)
                )?;
            }
        }
    }
    Ok(())
}

fn plan_summary(r: &Report) -> String {
    let t = &r.topology;
    let mut order = Vec::new();
    let mut seal = Vec::new();
    for s in &r.plan.sites {
        let name = t.components[s.component].name.to_string();
        match &s.kind {
            SiteKind::Order { strategy, .. } => order.push(format!(
                "{name} ({})",
                match strategy {
                    Ordering::Deterministic => "deterministic",
                    Ordering::Dynamic => "dynamic",
                }
            )),
            SiteKind::Seal { .. } => seal.push(name),
        }
    }
    let list = |v: &[String]| v.join(", ");
    match (order.is_empty(), seal.is_empty()) {
        (true, true) => "no coordination needed".into(),
        (true, false) => format!("seal barriers at {}; no ordering needed", list(&seal)),
        (false, true) => format!("ordering at {}", list(&order)),
        (false, false) => format!(
            "ordering at {}; seal barriers at {}",
            list(&order),
            list(&seal)
        ),
    }
}

/// Every stream of a topology: producer port and consumer `(component, input)`, or `None` for
/// an output nobody consumes. In component order, so independent of the file's order.
pub fn streams(t: &Topology) -> impl Iterator<Item = (Port, Option<(usize, usize)>)> + '_ {
    t.components.iter().enumerate().flat_map(|(ci, c)| {
        c.outputs.iter().enumerate().flat_map(move |(oi, o)| {
            let port = Port {
                component: ci,
                output: oi,
            };
            let consumers: Vec<Option<(usize, usize)>> = if o.fed.is_empty() {
                vec![None]
            } else {
                o.consumers().map(Some).collect()
            };
            consumers.into_iter().map(move |to| (port, to))
        })
    })
}

/// Writes the JSON document of `lint --format json` (the contract of the README's "JSON
/// output") for the files checked: their streams with labels and derivations, findings, sites
/// and summary; with `witness`, the witnesses of order sites too.
pub fn write_json(
    results: &[Result<Report, Vec<Diagnostic>>],
    witness: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut doc = json::Document {
        schema: json::SCHEMA_VERSION,
        version: env!("CARGO_PKG_VERSION"),
        streams: Vec::new(),
        findings: Vec::new(),
        sites: Vec::new(),
        plan_verified: true,
        summary: json::Summary::default(),
    };
    let mut all: Vec<&Diagnostic> = Vec::new();
    let mut witnesses: Vec<Option<crate::simulate::Witness>> = Vec::new();
    for result in results {
        match result {
            Err(diags) => {
                all.extend(diags);
                witnesses.resize(all.len(), None);
            }
            Ok(r) => {
                let t = &r.topology;
                let file = t.source.name.clone();
                // One set of derivations for every stream: their chains share steps, and its
                // tables are the size of the topology.
                let mut derivations = Derivations::new(t, &r.analysis);
                for (from, to) in streams(t) {
                    doc.streams.push(json::Stream {
                        file: file.clone(),
                        from: t.port_name(from),
                        to: to.map(|(c, _)| t.components[c].name.to_string()),
                        input: to.map(|(c, i)| t.components[c].inputs[i].name.to_string()),
                        label: r.analysis.label(from).to_string(),
                        derivation: derivations.of(from),
                    });
                }
                for s in &r.plan.sites {
                    let comp = &t.components[s.component];
                    doc.sites.push(match &s.kind {
                        SiteKind::Order {
                            strategy,
                            paths,
                            seals,
                        } => json::SiteJson {
                            file: file.clone(),
                            component: comp.name.to_string(),
                            kind: "order",
                            strategy: Some(match strategy {
                                Ordering::Deterministic => "deterministic",
                                Ordering::Dynamic => "dynamic",
                            }),
                            inputs: paths
                                .iter()
                                .map(|&p| comp.inputs[comp.paths[p].input].name.to_string())
                                .collect(),
                            seals: seals
                                .iter()
                                .map(|s| {
                                    format!("{}: {}", t.port_name(s.port), s.fields.join(", "))
                                })
                                .collect(),
                        },
                        SiteKind::Seal { inputs, keys, .. } => json::SiteJson {
                            file: file.clone(),
                            component: comp.name.to_string(),
                            kind: "seal",
                            strategy: None,
                            inputs: inputs
                                .iter()
                                .map(|&i| comp.inputs[i].name.to_string())
                                .collect(),
                            seals: keys.clone(),
                        },
                    });
                }
                doc.plan_verified &= r.plan.verified();
                all.extend(&r.findings);
                let found = witness.then(|| crate::simulate::Witnesses::new(r));
                witnesses.extend(
                    r.findings
                        .iter()
                        .map(|d| found.as_ref().and_then(|w| w.get(r, d).cloned())),
                );
            }
        }
    }
    doc.summary = json::Summary::of(all.iter().copied());
    doc.findings = all
        .into_iter()
        .zip(witnesses)
        .map(|(d, w)| json::Finding {
            witness: w,
            ..json::Finding::from(d)
        })
        .collect();
    write_document(&doc, out)
}

/// Writes a JSON document and a line break. serde_json writes in small pieces, and standard
/// output flushes at every line break, so a large report would cost a system call per line
/// without a buffer of its own.
fn write_document(doc: &impl serde::Serialize, out: &mut dyn Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, doc).map_err(std::io::Error::other)?;
    writeln!(out)?;
    out.flush()
}

/// Reads the Flux substitution options: the `--filter` properties file and `--env-filter`.
pub fn flux_options(args: &FluxArgs) -> Result<load::flux::Options, String> {
    let mut options = load::flux::Options::default();
    if let Some(path) = &args.filter {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the properties file `{path}`: {e}"))?;
        options.properties = load::flux::parse_properties(&text);
    }
    if args.env_filter {
        options.env = Some(std::env::vars().collect());
    }
    Ok(options)
}

/// `blazes graph`: writes the picture; exit 2 on input errors, else 0.
pub fn graph(args: &GraphArgs, out: &mut dyn Write) -> u8 {
    let flux = match flux_options(&args.flux) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let options = CheckOptions {
        plan: crate::plan::Options {
            deterministic: args.deterministic,
        },
        ..CheckOptions::default()
    };
    let report = match load::load_path_with(&args.file, &flux) {
        Ok(l) => crate::check_loaded(l, &options),
        Err(diags) => {
            eprint!("{}", human::render(&diags, human::Style::default()));
            return 2;
        }
    };
    let text = match args.format {
        GraphFormat::Dot => crate::graph::dot(&report),
        GraphFormat::Mermaid => crate::graph::mermaid(&report),
    };
    if out.write_all(text.as_bytes()).is_err() {
        return 2;
    }
    0
}

fn write_sarif(
    results: &[Result<Report, Vec<Diagnostic>>],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut entries = Vec::new();
    for result in results {
        match result {
            Err(diags) => entries.extend(diags.iter().map(|d| sarif::Entry {
                diagnostic: d,
                key: None,
            })),
            Ok(r) => entries.extend(r.findings.iter().map(|d| sarif::Entry {
                diagnostic: d,
                key: Some(baseline::entry(&r.topology, d).key()),
            })),
        }
    }
    write_document(&sarif::document(&entries), out)
}

/// Sorts and renders diagnostics as the human report does, without colour (for tests).
pub fn render_plain(diags: &mut [Diagnostic]) -> String {
    report::sort(diags);
    human::render(diags, human::Style::default())
}
