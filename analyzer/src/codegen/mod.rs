//! Shim generation (SPEC §6–§7): turns a coordination plan into a Rust module that wires the
//! protocols of `blazes-runtime` into a timely dataflow built from the topology.
//!
//! For every seal site and each sealed input it waits for, the module has a trait naming the
//! record fields the barrier reads (the seal key, and the grouping fields it routes by), the key
//! and routing functions, the producer set, a sans-IO barrier constructor and the two timely
//! operators (producer-side punctuation and the consumer-side barrier). For every order site it
//! has an ordering operator with the planned strategy. Every item's documentation says which
//! finding it answers and why this strategy.
//!
//! Output is a pure function of the report: same topology, same bytes (regeneration is
//! byte-identical), formatted by prettyplease.

pub mod diff;
pub mod names;

use std::fmt;

use blazes_annotations::Label;
use proc_macro2::TokenStream;
use quote::quote;

use crate::Report;
use crate::analysis::Ordering;
use crate::model::{Grouping, Topology};
use crate::plan::{Site, SiteKind};
use names::{Unique, camel, snake};

/// Generation failed (a bug: the generator built tokens that do not parse).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodegenError(pub String);

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code generation failed: {}", self.0)
    }
}

impl std::error::Error for CodegenError {}

fn ident(s: &str) -> Result<syn::Ident, CodegenError> {
    syn::parse_str::<syn::Ident>(s).map_err(|e| CodegenError(format!("identifier `{s}`: {e}")))
}

/// Width of generated doc text.
const DOC_WIDTH: usize = 92;

/// Wraps paragraphs into doc lines: each element is a paragraph (wrapped at [`DOC_WIDTH`]), an
/// empty string is a blank line, and a paragraph starting with `- ` is a list item.
fn wrap(paragraphs: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    for p in paragraphs {
        if p.is_empty() {
            lines.push(String::new());
            continue;
        }
        let indent = if p.starts_with("- ") { "  " } else { "" };
        let mut line = String::new();
        for word in p.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > DOC_WIDTH {
                lines.push(std::mem::take(&mut line));
                line.push_str(indent);
            }
            if !line.is_empty() && line != indent {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

fn doc_text(line: &str) -> String {
    if line.is_empty() {
        String::new()
    } else {
        format!(" {line}")
    }
}

/// `#[doc = "…"]` attributes for paragraphs (see [`wrap`]); they print as `/// …` lines.
fn docs(paragraphs: &[String]) -> TokenStream {
    let attrs = wrap(paragraphs).into_iter().map(|l| {
        let text = doc_text(&l);
        quote!(#[doc = #text])
    });
    quote!(#(#attrs)*)
}

/// Inner `#![doc = "…"]` attributes for paragraphs; they print as `//! …` lines.
fn inner_docs(paragraphs: &[String]) -> TokenStream {
    let attrs = wrap(paragraphs).into_iter().map(|l| {
        let text = doc_text(&l);
        quote!(#![doc = #text])
    });
    quote!(#(#attrs)*)
}

/// Puts a blank line between top-level items (prettyplease prints them back to back).
fn space_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + code.len() / 16);
    let mut previous = "";
    for line in code.lines() {
        let starts_item = line.starts_with("///")
            || line.starts_with("#[")
            || line.starts_with("pub ")
            || line.starts_with("#![");
        let previous_continues = previous.starts_with("///")
            || previous.starts_with("#[")
            || previous.starts_with("//!")
            || previous.is_empty();
        let after_inner = previous.starts_with("//!") && !line.starts_with("//!");
        if (starts_item && !previous_continues) || after_inner {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        previous = line;
    }
    out
}

/// The report's findings by code name and component (the first of each), so that each site
/// finds its own without a scan of every finding.
struct Findings<'r>(std::collections::HashMap<(&'static str, &'r str), &'r crate::Diagnostic>);

impl<'r> Findings<'r> {
    fn new(report: &'r Report) -> Self {
        let mut by = std::collections::HashMap::new();
        for d in &report.findings {
            if let Some(c) = d.component.as_deref() {
                by.entry((d.code.name, c)).or_insert(d);
            }
        }
        Findings(by)
    }

    /// The finding with this code at this component, as `ID name: message`.
    fn line(&self, code: &str, component: &str) -> Option<String> {
        let d = self.0.get(&(code, component))?;
        Some(format!("{} {}: {}", d.code.id, d.code.name, d.message))
    }
}

fn code_id(name: &str) -> &'static str {
    crate::report::codes::lookup(name).map_or("", |c| c.id)
}

/// Generates the shim module for a checked topology. `source_name` is how the header names the
/// topology file (pass a stable, relative name: it is written into the module).
pub fn generate(report: &Report, source_name: &str) -> Result<String, CodegenError> {
    let t = &report.topology;
    let mut unique = Unique::default();
    for reserved in ["Component", "Site", "COMPONENTS", "SITES", "TOPOLOGY"] {
        unique.take(reserved.to_string());
    }
    // prettyplease prints a file's items one after the other, so each site's items are
    // formatted as they are made: a large plan's syntax tree is never held whole.
    let mut items = String::new();
    let mut site_rows = Vec::new();
    let findings = Findings::new(report);
    for site in &report.plan.sites {
        let make = match &site.kind {
            SiteKind::Seal { .. } => seal_site,
            SiteKind::Order { .. } => order_site,
        };
        let tokens = make(report, &findings, site, &mut unique, &mut site_rows)?;
        items.push_str(&unparse(tokens)?);
    }
    let topology_name = t.name.clone().unwrap_or_else(|| source_name.to_string());
    let header = inner_docs(&header_lines(report, &topology_name, source_name));
    let components = t.components.iter().map(|c| {
        let name = c.name.as_str();
        let parallelism = proc_macro2::Literal::u32_unsuffixed(c.parallelism);
        let replicated = c.acts_replicated();
        quote!(Component { name: #name, parallelism: #parallelism, replicated: #replicated })
    });
    let sites = site_rows.iter().map(|row: &SiteRow| {
        let SiteRow {
            component,
            kind,
            strategy,
            inputs,
            keys,
        } = row;
        let strategy = match strategy {
            Some(s) => quote!(Some(#s)),
            None => quote!(None),
        };
        quote!(Site { component: #component, kind: #kind, strategy: #strategy, inputs: &[#(#inputs),*], keys: &[#(#keys),*] })
    });
    let topology_doc = format!(" The topology's name: `{topology_name}`.");
    let tokens = quote! {
        #header
        #![allow(dead_code, clippy::type_complexity, clippy::unused_unit)]

        #[doc = #topology_doc]
        pub const TOPOLOGY: &str = #topology_name;

        /// A component of the topology, as the analysis saw it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Component {
            /// Its name in the topology file.
            pub name: &'static str,
            /// Number of instances.
            pub parallelism: u32,
            /// The instances are replicas that must agree.
            pub replicated: bool,
        }

        /// The components, in name order.
        pub const COMPONENTS: &[Component] = &[#(#components),*];

        /// A coordination site of the plan.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Site {
            /// The component.
            pub component: &'static str,
            /// `"seal"` (a seal barrier) or `"order"` (an ordering).
            pub kind: &'static str,
            /// For an order site: `"deterministic"` or `"dynamic"`.
            pub strategy: Option<&'static str>,
            /// The inputs the site coordinates.
            pub inputs: &'static [&'static str],
            /// Seal keys (seal site) or suggested seals (order site).
            pub keys: &'static [&'static str],
        }

        /// Every coordination site of the plan, order sites first.
        pub const SITES: &[Site] = &[#(#sites),*];
    };
    let mut code = unparse(tokens)?;
    code.push_str(&items);
    Ok(space_items(&code))
}

/// Formats tokens that make a file (or a run of items).
fn unparse(tokens: TokenStream) -> Result<String, CodegenError> {
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| CodegenError(format!("generated tokens: {e}")))?;
    Ok(prettyplease::unparse(&file))
}

fn header_lines(report: &Report, topology_name: &str, source_name: &str) -> Vec<String> {
    let t = &report.topology;
    let mut lines = vec![
        format!(
            "Coordination shims for `{topology_name}`, generated by `blazes fix` from `{source_name}`."
        ),
        String::new(),
        "Do not edit by hand: change the topology and run `blazes fix` again; review the change \
         with `blazes fix --diff`. The items need `blazes-runtime` with its `timely` feature."
            .to_string(),
        String::new(),
    ];
    if report.plan.sites.is_empty() {
        lines.push("Plan: no coordination needed.".to_string());
    } else {
        lines.push("Plan:".to_string());
        lines.push(String::new());
        for s in &report.plan.sites {
            let comp = &t.components[s.component];
            let name = &comp.name;
            lines.push(match &s.kind {
                SiteKind::Seal { inputs, keys, .. } => format!(
                    "- a seal barrier at `{name}` on {} ({})",
                    inputs
                        .iter()
                        .map(|&i| format!("`{}`", comp.inputs[i].name))
                        .collect::<Vec<_>>()
                        .join(", "),
                    keys.join(", ")
                ),
                SiteKind::Order { strategy, .. } => {
                    format!("- a {} ordering at `{name}`", strategy_name(*strategy))
                }
            });
        }
    }
    lines.push(String::new());
    lines.push(if report.plan.verified() {
        "The plan was verified by re-analysis with every remedy applied.".to_string()
    } else {
        format!(
            "The plan did NOT verify: {}.",
            report.plan.problems.join("; ")
        )
    });
    lines
}

fn strategy_name(s: Ordering) -> &'static str {
    match s {
        Ordering::Deterministic => "deterministic",
        Ordering::Dynamic => "dynamic",
    }
}

struct SiteRow {
    component: String,
    kind: String,
    strategy: Option<String>,
    inputs: Vec<String>,
    keys: Vec<String>,
}

/// Path annotations of a component, as `input -> output (ANN)`.
fn describe_paths(t: &Topology, component: usize, paths: &[usize]) -> Vec<String> {
    let comp = &t.components[component];
    paths
        .iter()
        .map(|&p| {
            let path = &comp.paths[p];
            format!(
                "`{} -> {}` ({})",
                comp.inputs[path.input].name, comp.outputs[path.output].name, path.annotation
            )
        })
        .collect()
}

fn seal_site(
    report: &Report,
    findings: &Findings<'_>,
    site: &Site,
    unique: &mut Unique,
    rows: &mut Vec<SiteRow>,
) -> Result<TokenStream, CodegenError> {
    let t = &report.topology;
    let comp = &t.components[site.component];
    let SiteKind::Seal {
        paths,
        inputs,
        keys,
    } = &site.kind
    else {
        return Ok(TokenStream::new());
    };
    rows.push(SiteRow {
        component: comp.name.to_string(),
        kind: "seal".into(),
        strategy: None,
        inputs: inputs
            .iter()
            .map(|&i| comp.inputs[i].name.to_string())
            .collect(),
        keys: keys.clone(),
    });
    let finding_line = findings.line("seal-site", &comp.name).unwrap_or_else(|| {
        format!(
            "{} seal-site: a seal is consumed at `{}`",
            code_id("seal-site"),
            comp.name
        )
    });
    let relying = describe_paths(t, site.component, paths).join(", ");
    let mut out = TokenStream::new();
    for &i in inputs {
        let input = &comp.inputs[i];
        let Label::Seal(key) = report.analysis.label(input.from) else {
            continue;
        };
        let key_fields: Vec<String> = key.0.iter().cloned().collect();
        let route_fields: Vec<String> = match input.grouping() {
            Grouping::Fields(f) | Grouping::PartialKey(f) => f.to_vec(),
            Grouping::Global => Vec::new(),
            _ => key_fields.clone(),
        };
        let global = *input.grouping() == Grouping::Global;
        let mut fields: Vec<String> = key_fields.clone();
        fields.extend(route_fields.iter().cloned());
        fields.sort();
        fields.dedup();
        let producer = t.port_name(input.from);
        let producer_parallelism = t.components[input.from.component].parallelism;
        let stream = format!("{}.{}", comp.name, input.name);
        let base = snake(&format!("{}_{}", comp.name, input.name));
        let base = unique.take(base);
        let camel_base = unique.take_camel(camel(&format!("{}_{}", comp.name, input.name)));
        let fields_trait = ident(&format!("{camel_base}Fields"))?;
        let key_alias = ident(&format!("{camel_base}Key"))?;
        let producer_const = ident(&format!("{}_PRODUCER", base.to_ascii_uppercase()))?;
        let key_fn = ident(&format!("{base}_key"))?;
        let route_fn = ident(&format!("{base}_route"))?;
        let barrier_fn = ident(&format!("{base}_barrier"))?;
        let punctuate_fn = ident(&format!("{base}_punctuate"))?;
        let seal_barrier_fn = ident(&format!("{base}_seal_barrier"))?;

        // Trait with one associated type and accessor per field.
        let mut field_names = Unique::default();
        let mut assoc = Vec::new();
        let mut accessor = Vec::new();
        for f in &fields {
            assoc.push(ident(&field_names.take_camel(camel(f)))?);
            accessor.push(ident(&field_names.take(snake(f)))?);
        }
        let of = |wanted: &[String]| -> Vec<(syn::Ident, syn::Ident)> {
            fields
                .iter()
                .enumerate()
                .filter(|(_, f)| wanted.contains(f))
                .map(|(j, _)| (assoc[j].clone(), accessor[j].clone()))
                .collect()
        };
        let trait_items = fields.iter().enumerate().map(|(j, f)| {
            let ty = &assoc[j];
            let get = &accessor[j];
            let ty_doc = format!(" The type of field `{f}`.");
            let get_doc = format!(" The record's field `{f}`.");
            quote! {
                #[doc = #ty_doc]
                type #ty: Ord + Clone + std::hash::Hash + 'static;
                #[doc = #get_doc]
                fn #get(&self) -> Self::#ty;
            }
        });
        let key_parts = of(&key_fields);
        let key_types = key_parts
            .iter()
            .map(|(ty, _)| quote!(<R as #fields_trait>::#ty));
        let key_values = key_parts.iter().map(|(_, get)| quote!(record.#get()));
        let key_type = quote!((#(#key_types,)*));
        let key_value = quote!((#(#key_values,)*));
        let route_body = if global {
            quote! {
                let _ = record;
                0
            }
        } else {
            let route_values = of(&route_fields)
                .into_iter()
                .map(|(_, get)| quote!(record.#get()));
            quote! {
                blazes_runtime::route_hash(&(#(#route_values,)*))
            }
        };
        let key_list = key_fields
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let key_list = if key_list.is_empty() {
            "the end of the stream (`seal: []`)".to_string()
        } else {
            key_list
        };
        let route_desc = if global {
            "grouping `global`: every record goes to worker 0".to_string()
        } else {
            format!(
                "grouping `{}`: records are exchanged by the hash of ({})",
                input.grouping(),
                route_fields
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let trait_doc = docs(&[
            format!(
                "The record fields the seal barrier on `{stream}` reads: the seal key ({key_list}) \
                 and the routing fields ({route_desc})."
            ),
            String::new(),
            "Implement it for the record type of that stream.".to_string(),
        ]);
        let alias_doc = docs(&[format!(
            "The seal key of a record on `{stream}`: ({key_list}) as a tuple."
        )]);
        let producer_doc = docs(&[format!(
            "The producer of `{stream}`: the output that declares the seal. Its \
             {producer_parallelism} instance(s) form the producer set; on timely each worker runs \
             one producer instance, so the producer ids are the worker indices."
        )]);
        let key_doc = docs(&[format!(
            "The seal key of a record on `{stream}` ({key_list})."
        )]);
        let route_doc = docs(&[format!(
            "The routing key of a record on `{stream}` ({route_desc})."
        )]);
        let barrier_doc = docs(&[
            format!(
                "The seal barrier of `{}` on its input `{}` (sans-IO).",
                comp.name, input.name
            ),
            String::new(),
            format!("Answers {finding_line}."),
            String::new(),
            format!(
                "Why a seal barrier: {relying} relies on the seal of `{producer}` on {key_list}, \
                 which is compatible with the gate, so each partition can be processed on its own \
                 once every producer has sealed it (a unanimous vote): no ordering is needed. \
                 Without this barrier the seal is a promise nobody keeps."
            ),
        ]);
        let punctuate_doc = docs(&[format!(
            "Producer side of `{stream}` on timely: routes each record ({route_desc}) and turns \
             each `Event::Seal` of a key value into one seal per worker, with that worker's count."
        )]);
        let seal_barrier_doc = docs(&[format!(
            "Consumer side of `{stream}` on timely: the seal barrier of `{}` (answers {}). \
             Releases each complete partition once, records sorted; `producers` is the number \
             of producer instances (workers).",
            comp.name,
            code_id("seal-site")
        )]);
        let punctuate_name = format!("{stream}: punctuate");
        let barrier_name = format!("{stream}: seal barrier");
        out.extend(quote! {
            #trait_doc
            pub trait #fields_trait {
                #(#trait_items)*
            }

            #alias_doc
            pub type #key_alias<R> = #key_type;

            #producer_doc
            pub const #producer_const: &str = #producer;

            #key_doc
            pub fn #key_fn<R: #fields_trait>(record: &R) -> #key_alias<R> {
                #key_value
            }

            #route_doc
            pub fn #route_fn<R: #fields_trait>(record: &R) -> u64 {
                #route_body
            }

            #barrier_doc
            pub fn #barrier_fn<R>(
                producers: impl IntoIterator<Item = u64>,
            ) -> blazes_runtime::SealBarrier<#key_alias<R>, R, u64, fn(&R) -> #key_alias<R>>
            where
                R: #fields_trait + Ord,
            {
                blazes_runtime::SealBarrier::new(producers, #key_fn::<R> as fn(&R) -> #key_alias<R>)
            }

            #punctuate_doc
            pub fn #punctuate_fn<'s, T, R>(
                events: blazes_runtime::timely::timely::dataflow::Stream<
                    's,
                    T,
                    Vec<blazes_runtime::timely::Event<#key_alias<R>, R>>,
                >,
            ) -> blazes_runtime::timely::timely::dataflow::Stream<
                's,
                T,
                Vec<blazes_runtime::timely::Routed<#key_alias<R>, R>>,
            >
            where
                T: blazes_runtime::timely::timely::progress::Timestamp,
                R: #fields_trait + blazes_runtime::timely::timely::ExchangeData,
                #key_alias<R>: blazes_runtime::timely::timely::ExchangeData + Ord + Clone,
            {
                blazes_runtime::timely::punctuate(events, #punctuate_name, #key_fn::<R>, #route_fn::<R>)
            }

            #seal_barrier_doc
            pub fn #seal_barrier_fn<'s, T, R>(
                routed: blazes_runtime::timely::timely::dataflow::Stream<
                    's,
                    T,
                    Vec<blazes_runtime::timely::Routed<#key_alias<R>, R>>,
                >,
                producers: u64,
            ) -> blazes_runtime::timely::timely::dataflow::Stream<
                's,
                T,
                Vec<blazes_runtime::timely::Released<#key_alias<R>, R>>,
            >
            where
                T: blazes_runtime::timely::timely::progress::Timestamp,
                R: #fields_trait + blazes_runtime::timely::timely::ExchangeData + Ord + Clone,
                #key_alias<R>: blazes_runtime::timely::timely::ExchangeData + Ord + Clone,
            {
                blazes_runtime::timely::seal_barrier(routed, #barrier_name, producers, #key_fn::<R>)
            }
        });
    }
    Ok(out)
}

fn order_site(
    report: &Report,
    findings: &Findings<'_>,
    site: &Site,
    unique: &mut Unique,
    rows: &mut Vec<SiteRow>,
) -> Result<TokenStream, CodegenError> {
    let t = &report.topology;
    let comp = &t.components[site.component];
    let SiteKind::Order {
        strategy,
        paths,
        seals,
    } = &site.kind
    else {
        return Ok(TokenStream::new());
    };
    let suggested: Vec<String> = seals
        .iter()
        .map(|s| format!("{}: {}", t.port_name(s.port), s.fields.join(", ")))
        .collect();
    rows.push(SiteRow {
        component: comp.name.to_string(),
        kind: "order".into(),
        strategy: Some(strategy_name(*strategy).into()),
        inputs: paths
            .iter()
            .map(|&p| comp.inputs[comp.paths[p].input].name.to_string())
            .collect(),
        keys: suggested.clone(),
    });
    let finding_line = findings.line("order-site", &comp.name).unwrap_or_else(|| {
        format!(
            "{} order-site: `{}` needs ordering",
            code_id("order-site"),
            comp.name
        )
    });
    let origin = describe_paths(t, site.component, paths).join(", ");
    let base = unique.take(snake(&comp.name));
    let order_fn = ident(&format!("{base}_order"))?;
    let cheaper = if suggested.is_empty() {
        "No seal would make this a seal site (the gate names no field that reaches the input)."
            .to_string()
    } else {
        format!(
            "Far cheaper, if the producer can punctuate: seal {} (any one of the fields) and run \
             `blazes fix` again to get a seal barrier instead.",
            suggested
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut lines = vec![
        format!(
            "The {} ordering of every input of `{}`.",
            strategy_name(*strategy),
            comp.name
        ),
        String::new(),
        format!("Answers {finding_line}."),
        String::new(),
        format!("The anomaly originates at {origin}."),
        String::new(),
    ];
    let tokens = match strategy {
        Ordering::Deterministic => {
            lines.push(format!(
                "Why deterministic: `{}` is {}, so the order must be the same in every run \
                 (removing `Run`): records are assigned to epochs (the timely timestamp), epochs \
                 are sealed by the frontier, and one ordering worker applies epochs in order and \
                 records within an epoch sorted. Each output item is one whole epoch.",
                comp.name,
                if comp.acts_replicated() {
                    "replicated and `--deterministic` was asked for"
                } else {
                    "not replicated"
                }
            ));
            lines.push(String::new());
            lines.push(cheaper);
            let doc = docs(&lines);
            let name = format!("{}: deterministic order", comp.name);
            quote! {
                #doc
                pub fn #order_fn<'s, T, D>(
                    inputs: blazes_runtime::timely::timely::dataflow::Stream<'s, T, Vec<D>>,
                ) -> blazes_runtime::timely::timely::dataflow::Stream<
                    's,
                    T,
                    Vec<blazes_runtime::Partition<T, D>>,
                >
                where
                    T: blazes_runtime::timely::timely::progress::Timestamp
                        + blazes_runtime::timely::timely::order::TotalOrder,
                    D: blazes_runtime::timely::timely::ExchangeData + Ord,
                {
                    blazes_runtime::timely::order_deterministic(inputs, #name)
                }
            }
        }
        Ordering::Dynamic => {
            lines.push(format!(
                "Why dynamic: `{}` is replicated, and replicas must agree (removing `Inst` and \
                 `Diverge`): one sequencer numbers every input and every replica applies `logic` \
                 in that sequence. Results may still differ between runs (`Run`); run \
                 `blazes fix --deterministic` for an epoch order instead.",
                comp.name
            ));
            lines.push(String::new());
            lines.push(cheaper);
            let doc = docs(&lines);
            let name = format!("{}: dynamic order", comp.name);
            quote! {
                #doc
                pub fn #order_fn<'s, T, D, O, L>(
                    inputs: blazes_runtime::timely::timely::dataflow::Stream<'s, T, Vec<D>>,
                    logic: L,
                ) -> blazes_runtime::timely::timely::dataflow::Stream<'s, T, Vec<O>>
                where
                    T: blazes_runtime::timely::timely::progress::Timestamp,
                    D: blazes_runtime::timely::timely::ExchangeData + PartialEq + Clone,
                    O: Clone + 'static,
                    L: FnMut(u64, D) -> O + 'static,
                {
                    blazes_runtime::timely::order_dynamic(inputs, #name, logic)
                }
            }
        }
    };
    Ok(tokens)
}
