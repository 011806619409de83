//! The command line: the only place that prints or chooses an exit code.
//!
//! Exit codes: 0 clean, 1 findings of error severity, 2 input or usage error.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::analysis::Ordering;
use crate::model::{Port, Topology};
use crate::plan::SiteKind;
use crate::report::{self, Diagnostic, codes, human, json};
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
    /// Print the documentation of a finding code (or list every code).
    Explain {
        /// A code such as `BLZ001` or `order-site`.
        code: Option<String>,
    },
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics with source snippets.
    Human,
    /// The documented JSON contract.
    Json,
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
    /// Topology files (YAML, SPEC §8); `-` reads standard input.
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
        Command::Explain { code } => explain(code.as_deref(), &mut stdout),
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
    let mut results: Vec<Result<Report, Vec<Diagnostic>>> = Vec::new();
    for file in &args.files {
        results.push(load::load_path(file).map(|t| crate::check_with(t, &options)));
    }
    let input_error = results.iter().any(Result::is_err);
    let findings_error = results
        .iter()
        .any(|r| r.as_ref().is_ok_and(Report::has_errors));
    let write = match args.format {
        Format::Human => write_human(args, &results, out),
        Format::Json => write_json(&results, out),
    };
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
                out.write_all(human::render(&r.findings, style).as_bytes())?;
                if args.labels {
                    let rows: Vec<(String, String, String)> = streams(&r.topology)
                        .map(|(from, to)| {
                            (
                                r.topology.port_name(from),
                                to.map_or_else(
                                    || "(sink)".to_string(),
                                    |(c, i)| {
                                        let comp = &r.topology.components[c];
                                        format!("{}.{}", comp.name, comp.inputs[i].name)
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
        let name = t.components[s.component].name.clone();
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
            let consumers: Vec<Option<(usize, usize)>> = if o.consumers.is_empty() {
                vec![None]
            } else {
                o.consumers.iter().copied().map(Some).collect()
            };
            consumers.into_iter().map(move |to| (port, to))
        })
    })
}

fn write_json(
    results: &[Result<Report, Vec<Diagnostic>>],
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
    for result in results {
        match result {
            Err(diags) => all.extend(diags),
            Ok(r) => {
                let t = &r.topology;
                let file = t.source.name.clone();
                for (from, to) in streams(t) {
                    doc.streams.push(json::Stream {
                        file: file.clone(),
                        from: t.port_name(from),
                        to: to.map(|(c, _)| t.components[c].name.clone()),
                        input: to.map(|(c, i)| t.components[c].inputs[i].name.clone()),
                        label: r.analysis.label(from).to_string(),
                        derivation: r.analysis.derivation(t, from),
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
                            component: comp.name.clone(),
                            kind: "order",
                            strategy: Some(match strategy {
                                Ordering::Deterministic => "deterministic",
                                Ordering::Dynamic => "dynamic",
                            }),
                            inputs: paths
                                .iter()
                                .map(|&p| comp.inputs[comp.paths[p].input].name.clone())
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
                            component: comp.name.clone(),
                            kind: "seal",
                            strategy: None,
                            inputs: inputs
                                .iter()
                                .map(|&i| comp.inputs[i].name.clone())
                                .collect(),
                            seals: keys.clone(),
                        },
                    });
                }
                doc.plan_verified &= r.plan.verified();
                all.extend(&r.findings);
            }
        }
    }
    let owned: Vec<Diagnostic> = all.iter().map(|d| (*d).clone()).collect();
    doc.summary = json::Summary::of(&owned);
    doc.findings = all.into_iter().map(json::Finding::from).collect();
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// Sorts and renders diagnostics as the human report does, without colour (for tests).
pub fn render_plain(diags: &mut [Diagnostic]) -> String {
    report::sort(diags);
    human::render(diags, human::Style::default())
}
