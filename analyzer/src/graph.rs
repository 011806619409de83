//! `blazes graph`: the topology as a picture, in Graphviz DOT or Mermaid (a flowchart that
//! GitHub renders in comments and Markdown files).
//!
//! Components are nodes: their annotations, parallelism and replication inside, order sites
//! drawn as red hexagons with their strategy, seal sites with the barrier they need. Streams are
//! edges coloured by label (`Seal` green, `Async` blue, `Run` orange, `Inst` red, `Diverge`
//! purple), labelled `output: Label`, with the declared seal and a `seal barrier` mark on the
//! inputs a barrier waits on. An output nobody consumes ends in a small sink node.

use std::fmt::Write as _;

use blazes_annotations::Label;

use crate::Report;
use crate::analysis::Ordering;
use crate::model::{Grouping, Port};
use crate::plan::SiteKind;

/// The colour of a label (hex RGB).
pub fn color(label: &Label) -> &'static str {
    match label {
        Label::Seal(_) => "#2ca02c",
        Label::Async => "#1f77b4",
        Label::Run => "#ff7f0e",
        Label::Inst => "#d62728",
        Label::Diverge => "#9467bd",
    }
}

/// What the plan puts on a component.
#[derive(Default)]
struct Marks {
    order: Option<&'static str>,
    barrier_inputs: Vec<usize>,
    barrier_keys: Vec<String>,
}

/// A node of the picture.
struct Node {
    id: String,
    lines: Vec<String>,
    order: bool,
    seal: bool,
}

/// An edge of the picture.
struct Edge {
    from: String,
    to: String,
    text: String,
    color: &'static str,
    barrier: bool,
}

/// The graph as plain data, shared by both renderings.
struct Picture {
    title: String,
    nodes: Vec<Node>,
    sinks: Vec<(String, String)>,
    edges: Vec<Edge>,
}

fn picture(r: &Report) -> Picture {
    let t = &r.topology;
    let mut marks: Vec<Marks> = t.components.iter().map(|_| Marks::default()).collect();
    for s in &r.plan.sites {
        let m = &mut marks[s.component];
        match &s.kind {
            SiteKind::Order { strategy, .. } => {
                m.order = Some(match strategy {
                    Ordering::Deterministic => "deterministic",
                    Ordering::Dynamic => "dynamic",
                });
            }
            SiteKind::Seal { inputs, keys, .. } => {
                m.barrier_inputs.extend(inputs.iter().copied());
                m.barrier_keys.extend(keys.iter().cloned());
            }
        }
    }
    let mut nodes = Vec::new();
    let mut sinks = Vec::new();
    let mut edges = Vec::new();
    for (ci, c) in t.components.iter().enumerate() {
        let mut lines = vec![c.name.to_string()];
        let annotations: Vec<String> = (0..c.paths.len())
            .map(|p| t.annotation_text(ci, p))
            .collect();
        let all_same = annotations.windows(2).all(|w| w[0] == w[1]);
        if all_same {
            if let Some(a) = annotations.first() {
                lines.push(a.clone());
            }
        } else {
            for (p, a) in c.paths.iter().zip(&annotations) {
                lines.push(format!(
                    "{} → {}: {a}",
                    c.inputs[p.input].name, c.outputs[p.output].name
                ));
            }
        }
        let mut facts = Vec::new();
        if c.parallelism > 1 {
            facts.push(format!("×{}", c.parallelism));
        }
        if c.replicated {
            facts.push("replicated".to_string());
        }
        if !facts.is_empty() {
            lines.push(facts.join(", "));
        }
        let m = &marks[ci];
        if let Some(strategy) = m.order {
            lines.push(format!("⚠ order site ({strategy} order)"));
        }
        if !m.barrier_keys.is_empty() {
            lines.push(format!("seal barrier ({})", m.barrier_keys.join("; ")));
        }
        nodes.push(Node {
            id: format!("c{ci}"),
            lines,
            order: m.order.is_some(),
            seal: !m.barrier_keys.is_empty(),
        });
        for (oi, o) in c.outputs.iter().enumerate() {
            let label = r.analysis.label(Port {
                component: ci,
                output: oi,
            });
            let mut text = format!("{}: {label}", o.name);
            if let Some((k, _)) = o.seal.as_deref() {
                let _ = write!(text, " · seal [{k}]");
            }
            if o.fed.is_empty() {
                let sink = format!("s{ci}_{oi}");
                sinks.push((sink.clone(), c.port_name(oi)));
                edges.push(Edge {
                    from: format!("c{ci}"),
                    to: sink,
                    text: text.clone(),
                    color: color(&label),
                    barrier: false,
                });
            }
            for (to, input) in o.consumers() {
                let consumer = &t.components[to];
                let inp = &consumer.inputs[input];
                let mut text = text.clone();
                if inp.name != c.name && inp.name != c.port_name(oi) {
                    let _ = write!(text, " → {}", inp.name);
                }
                if *inp.grouping() != Grouping::Shuffle {
                    let _ = write!(text, " · {}", inp.grouping());
                }
                let barrier = marks[to].barrier_inputs.contains(&input);
                if barrier {
                    text.push_str(" · seal barrier");
                }
                edges.push(Edge {
                    from: format!("c{ci}"),
                    to: format!("c{to}"),
                    text,
                    color: color(&label),
                    barrier,
                });
            }
        }
    }
    Picture {
        title: t.name.clone().unwrap_or_else(|| t.source.name.clone()),
        nodes,
        sinks,
        edges,
    }
}

/// Escapes text for a double-quoted DOT string.
fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The topology in Graphviz DOT.
pub fn dot(r: &Report) -> String {
    let p = picture(r);
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(&p.title));
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for n in &p.nodes {
        let label = n
            .lines
            .iter()
            .map(|l| dot_escape(l))
            .collect::<Vec<_>>()
            .join("\\n");
        let style = if n.order {
            ", shape=hexagon, style=\"filled,bold\", fillcolor=\"#fde2e1\", color=\"#d62728\", penwidth=3"
        } else if n.seal {
            ", fillcolor=\"#e3f4e3\", color=\"#2ca02c\", penwidth=2"
        } else {
            ""
        };
        let _ = writeln!(out, "  {} [label=\"{label}\"{style}];", n.id);
    }
    for (id, name) in &p.sinks {
        let _ = writeln!(
            out,
            "  {id} [label=\"\", shape=point, width=0.1, tooltip=\"{} (sink)\"];",
            dot_escape(name)
        );
    }
    for e in &p.edges {
        let width = if e.barrier { 3 } else { 2 };
        let style = if e.barrier { ", style=bold" } else { "" };
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\", color=\"{}\", fontcolor=\"{}\", penwidth={width}{style}];",
            e.from,
            e.to,
            dot_escape(&e.text),
            e.color,
            e.color
        );
    }
    out.push_str("}\n");
    out
}

/// Escapes text for a double-quoted Mermaid label: quotes and markup become entity codes.
pub fn mermaid_escape(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The topology as a Mermaid flowchart.
pub fn mermaid(r: &Report) -> String {
    let p = picture(r);
    let mut out = String::new();
    out.push_str("flowchart LR\n");
    for n in &p.nodes {
        let label = n
            .lines
            .iter()
            .map(|l| mermaid_escape(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        if n.order {
            let _ = writeln!(out, "  {}{{{{\"{label}\"}}}}", n.id);
        } else {
            let _ = writeln!(out, "  {}[\"{label}\"]", n.id);
        }
    }
    for (id, name) in &p.sinks {
        let _ = writeln!(
            out,
            "  {id}((\"{}\"))",
            mermaid_escape(&format!("{name} ∎"))
        );
    }
    for e in &p.edges {
        let arrow = if e.barrier { "==>" } else { "-->" };
        let _ = writeln!(
            out,
            "  {} {arrow}|\"{}\"| {}",
            e.from,
            mermaid_escape(&e.text),
            e.to
        );
    }
    for (i, e) in p.edges.iter().enumerate() {
        let width = if e.barrier { 4 } else { 2 };
        let _ = writeln!(
            out,
            "  linkStyle {i} stroke:{},stroke-width:{width}px,color:{}",
            e.color, e.color
        );
    }
    out.push_str("  classDef order fill:#fde2e1,stroke:#d62728,stroke-width:3px,color:#000\n");
    out.push_str("  classDef seal fill:#e3f4e3,stroke:#2ca02c,stroke-width:2px,color:#000\n");
    out.push_str("  classDef sink fill:#eeeeee,stroke:#999999,color:#555555\n");
    let class = |pred: &dyn Fn(&Node) -> bool| {
        p.nodes
            .iter()
            .filter(|n| pred(n))
            .map(|n| n.id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let order = class(&|n| n.order);
    if !order.is_empty() {
        let _ = writeln!(out, "  class {order} order");
    }
    let seal = class(&|n| n.seal && !n.order);
    if !seal.is_empty() {
        let _ = writeln!(out, "  class {seal} seal");
    }
    if !p.sinks.is_empty() {
        let sinks: Vec<&str> = p.sinks.iter().map(|(id, _)| id.as_str()).collect();
        let _ = writeln!(out, "  class {} sink", sinks.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_labels_are_escaped() {
        assert_eq!(
            mermaid_escape("a \"b\" <c> #d | `e`"),
            "a #quot;b#quot; #lt;c#gt; #35;d #124; #96;e#96;"
        );
        assert_eq!(dot_escape("a\"b\\"), "a\\\"b\\\\");
    }
}
