//! The paper's results (SPEC §4, golden table) and the other bundled examples, asserted as
//! labels, coordination sites and findings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use blazes::analysis::Ordering;
use blazes::model::Port;
use blazes::plan::SiteKind;
use blazes::{CheckOptions, Report};

fn check(name: &str) -> Report {
    let path = format!("{}/../examples/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    match blazes::check_str(
        &format!("examples/{name}.yaml"),
        &text,
        &CheckOptions::default(),
    ) {
        Ok(r) => r,
        Err(d) => panic!(
            "{name}: {:?}",
            d.iter().map(|d| &d.message).collect::<Vec<_>>()
        ),
    }
}

fn label(r: &Report, port: &str) -> String {
    let (c, o) = port.split_once('.').unwrap_or((port, "out"));
    let ci = r
        .topology
        .component_index(c)
        .unwrap_or_else(|| panic!("no {c}"));
    let oi = r.topology.components[ci]
        .outputs
        .iter()
        .position(|x| x.name == o)
        .unwrap_or_else(|| panic!("no {port}"));
    r.analysis
        .label(Port {
            component: ci,
            output: oi,
        })
        .to_string()
}

/// `(component, "order"/"seal", strategy)` for every site.
fn sites(r: &Report) -> Vec<(String, &'static str, Option<Ordering>)> {
    r.plan
        .sites
        .iter()
        .map(|s| {
            let name = r.topology.components[s.component].name.to_string();
            match &s.kind {
                SiteKind::Order { strategy, .. } => (name, "order", Some(*strategy)),
                SiteKind::Seal { .. } => (name, "seal", None),
            }
        })
        .collect()
}

fn codes(r: &Report) -> Vec<(&'static str, String)> {
    r.findings
        .iter()
        .map(|d| (d.code.name, d.component.clone().unwrap_or_default()))
        .collect()
}

fn assert_labels(r: &Report, expected: &[(&str, &str)]) {
    for (port, want) in expected {
        assert_eq!(label(r, port), *want, "label of {port}");
    }
    assert!(r.plan.verified(), "plan problems: {:?}", r.plan.problems);
}

#[test]
fn storm_wordcount_unsealed_orders_count() {
    let r = check("wordcount");
    assert_labels(
        &r,
        &[
            ("tweets", "Async"),
            ("splitter", "Async"),
            ("count", "Run"),
            ("commit", "Run"),
        ],
    );
    assert_eq!(
        sites(&r),
        [("count".into(), "order", Some(Ordering::Deterministic))]
    );
    assert!(r.has_errors());
    // The remedy suggests the cheaper seal, traced back to the source that carries `batch`.
    let SiteKind::Order { seals, .. } = &r.plan.sites[0].kind else {
        panic!()
    };
    assert_eq!(r.topology.port_name(seals[0].port), "tweets.out");
    assert_eq!(seals[0].fields, ["batch"]);
}

#[test]
fn storm_wordcount_sealed_needs_a_barrier_only() {
    let r = check("wordcount-sealed");
    assert_labels(
        &r,
        &[
            ("tweets", "Seal(batch)"),
            ("splitter", "Seal(batch)"),
            ("count", "Async"),
            ("commit", "Async"),
        ],
    );
    assert_eq!(sites(&r), [("count".into(), "seal", None)]);
    assert!(!r.has_errors());
}

#[test]
fn ad_network_thresh_needs_nothing() {
    let r = check("adnet-thresh");
    assert_labels(
        &r,
        &[
            ("ads", "Async"),
            ("report.response", "Async"),
            ("cache", "Async"),
        ],
    );
    assert!(sites(&r).is_empty());
    assert!(r.findings.is_empty());
}

fn assert_poor_like(name: &str) -> Report {
    let r = check(name);
    assert_labels(&r, &[("report.response", "Inst"), ("cache", "Diverge")]);
    assert_eq!(
        sites(&r),
        [("report".into(), "order", Some(Ordering::Dynamic))],
        "{name}"
    );
    let c = codes(&r);
    assert!(
        c.contains(&("order-site", "report".into())),
        "{name}: {c:?}"
    );
    assert!(c.contains(&("inherited", "cache".into())), "{name}: {c:?}");
    assert!(
        !c.iter()
            .any(|(code, comp)| *code == "order-site" && comp == "cache")
    );
    r
}

#[test]
fn ad_network_poor_orders_report() {
    let r = assert_poor_like("adnet-poor");
    let finding = r
        .findings
        .iter()
        .find(|d| d.code.name == "order-site")
        .unwrap();
    let help = finding.help.as_deref().unwrap();
    assert!(help.contains("order all inputs of `report`"), "{help}");
    assert!(help.contains("seal `ads.out` on `id`"), "{help}");
    // The primary span is the read path's annotation.
    let span = finding.primary.as_ref().unwrap().span;
    assert_eq!(&r.topology.source.text[span.offset()..span.end()], "OR(id)");
    assert!(
        finding
            .derivation
            .lines()
            .iter()
            .any(|l| l.contains("rule 1"))
    );
    assert!(
        finding
            .derivation
            .lines()
            .iter()
            .any(|l| l.contains("R2 gives Inst"))
    );
}

#[test]
fn ad_network_campaign_unsealed_is_like_poor() {
    assert_poor_like("adnet-campaign");
}

#[test]
fn ad_network_campaign_sealed_relies_on_a_barrier() {
    let r = check("adnet-campaign-sealed");
    assert_labels(
        &r,
        &[
            ("ads", "Seal(campaign)"),
            ("report.response", "Async"),
            ("cache", "Async"),
        ],
    );
    assert_eq!(sites(&r), [("report".into(), "seal", None)]);
    assert_eq!(codes(&r), [("seal-site", "report".into())]);
    assert!(!r.has_errors());
}

#[test]
fn ad_network_window_sealed_on_window_or_id() {
    for name in ["adnet-window", "adnet-window-id"] {
        let r = check(name);
        assert_labels(&r, &[("report.response", "Async"), ("cache", "Async")]);
        assert_eq!(sites(&r), [("report".into(), "seal", None)], "{name}");
    }
}

#[test]
fn incompatible_seals_still_need_ordering() {
    for name in ["adnet-campaign-window-seal", "adnet-poor-campaign-seal"] {
        let r = assert_poor_like(name);
        assert!(
            codes(&r).contains(&("unused-seal", "ads".into())),
            "{name}: the incompatible seal is reported as unused"
        );
    }
}

#[test]
fn cycle_with_unsealed_feedback_is_an_order_site() {
    let r = check("cycle");
    assert_labels(
        &r,
        &[
            ("edges", "Seal(round)"),
            ("reach", "Run"),
            ("expand", "Run"),
            ("sink", "Run"),
        ],
    );
    assert_eq!(
        sites(&r),
        [("reach".into(), "order", Some(Ordering::Deterministic))]
    );
}

#[test]
fn sealing_the_loop_edge_fixes_the_cycle() {
    let path = format!("{}/../examples/cycle.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    // Seal the feedback edge on `round`, as the example's comment suggests.
    let sealed = text.replace(
        "label: CR\n    outputs:\n      out: { fields: [src, dst, round] }",
        "label: CR\n    outputs:\n      out: { fields: [src, dst, round], seal: [round] }",
    );
    assert_ne!(sealed, text, "the example's expand output changed shape");
    let r = blazes::check_str("cycle.yaml", &sealed, &CheckOptions::default()).unwrap();
    assert_eq!(label(&r, "reach"), "Async");
    assert_eq!(label(&r, "expand"), "Seal(round)");
    assert!(sites(&r).iter().all(|s| s.1 == "seal"), "{:?}", sites(&r));
}

#[test]
fn partition_split_is_a_warning_on_the_shuffled_consumer_only() {
    let r = check("partition-split");
    let splits: Vec<_> = codes(&r)
        .into_iter()
        .filter(|c| c.0 == "partition-split")
        .collect();
    assert_eq!(splits, [("partition-split", "sessions".into())]);
    assert!(!r.has_errors(), "a warning does not fail the run");
    let denied = blazes::check_with(
        r.topology.clone(),
        &CheckOptions {
            findings: blazes::plan::findings::FindingOptions {
                deny: vec!["partition-split".into()],
            },
            ..Default::default()
        },
    );
    assert!(denied.has_errors(), "--deny escalates it");
}

#[test]
fn several_outputs_get_their_own_labels() {
    let r = check("multi-output");
    assert_labels(
        &r,
        &[
            ("events", "Seal(key)"),
            ("router.metrics", "Seal(key)"),
            ("router.alerts", "Async"),
            ("router.audit", "Seal(key)"),
            ("dashboard", "Async"),
            ("pager", "Async"),
        ],
    );
    assert_eq!(
        sites(&r),
        [
            ("dashboard".into(), "seal", None),
            ("router".into(), "seal", None)
        ]
    );
}

#[test]
fn read_and_write_paths_on_one_component() {
    let r = check("read-write");
    assert_labels(&r, &[("store.replies", "Async"), ("client", "Async")]);
    assert_eq!(sites(&r), [("store".into(), "seal", None)]);
    // Without the seal on puts, the read is unprotected: the store is an order site.
    let text = r.topology.source.text.replace("seal: [key]", "");
    let unsealed = blazes::check_str("rw.yaml", &text, &CheckOptions::default()).unwrap();
    assert_eq!(label(&unsealed, "store.replies"), "Run");
    assert_eq!(
        sites(&unsealed),
        [("store".into(), "order", Some(Ordering::Deterministic))]
    );
}

#[test]
fn functional_dependencies_make_seals_compatible() {
    let r = check("fds");
    assert_labels(&r, &[("vwap", "Async")]);
    assert_eq!(sites(&r), [("vwap".into(), "seal", None)]);
    // Without the dependency, a seal on `company` says nothing about `ticker` partitions.
    let mut without = r.topology.clone();
    without.fds.clear();
    let r = blazes::check_with(without, &CheckOptions::default());
    assert_eq!(label(&r, "vwap"), "Run");
    assert_eq!(
        sites(&r),
        [("vwap".into(), "order", Some(Ordering::Deterministic))]
    );
}

#[test]
fn allow_accepts_a_finding_on_purpose() {
    let yaml = "components:\n  src: {}\n  agg:\n    parallelism: 4\n    inputs: [src]\n    label: OW(k)\n    allow: [partition-split, order-site]\n";
    let r = blazes::check_str("a.yaml", yaml, &CheckOptions::default()).unwrap();
    assert!(r.findings.is_empty(), "{:?}", codes(&r));
    let without = yaml.replace("    allow: [partition-split, order-site]\n", "");
    let r = blazes::check_str("a.yaml", &without, &CheckOptions::default()).unwrap();
    let c = codes(&r);
    assert!(c.contains(&("order-site", "agg".into())));
    assert!(c.contains(&("partition-split", "agg".into())));
}

#[test]
fn deterministic_flag_changes_the_strategy_and_clears_run() {
    let r = check("adnet-poor");
    let det = blazes::check_with(
        r.topology.clone(),
        &CheckOptions {
            plan: blazes::plan::Options {
                deterministic: true,
            },
            ..Default::default()
        },
    );
    assert_eq!(
        sites(&det),
        [("report".into(), "order", Some(Ordering::Deterministic))]
    );
    // After a deterministic order nothing downstream may stay Run.
    assert!(
        det.plan
            .after
            .all_labels()
            .iter()
            .all(|l| l.is_deterministic())
    );
    // A dynamic order may leave Run downstream, never Inst or Diverge.
    assert!(r.plan.after.all_labels().iter().all(|l| l.severity() <= 2));
}

/// A topology where `u` originates an anomaly (an `OR(id)` read beside an unsealed write) and
/// declares `seal: [k]` on its output, which feeds `x`, an `OW(k)`.
fn sealing_origin(replicated: bool) -> String {
    format!(
        "components:
  src: {{ outputs: {{ out: {{ fields: [id, k] }} }} }}
  clicks: {{ outputs: {{ out: {{ fields: [id, k] }} }} }}
  u:
    replicated: {replicated}
    inputs: {{ r: {{ from: src }}, w: {{ from: clicks }} }}
    paths: [{{ from: r, label: OR(id) }}, {{ from: w, label: CW }}]
    outputs: {{ out: {{ fields: [id, k], seal: [k] }} }}
  x: {{ inputs: {{ a: {{ from: u }} }}, label: OW(k) }}
"
    )
}

/// Planning is minimal along a chain (SPEC §6): `u` originates an anomaly and is ordered; with
/// that in place its output carries the seal it declares, so `x`, which as written is fed `Run`
/// and would be an order site of its own, needs only a seal barrier.
#[test]
fn an_ordering_upstream_can_make_a_seal_barrier_enough() {
    let yaml = sealing_origin(false);
    let r = blazes::check_str("chain.yaml", &yaml, &CheckOptions::default()).unwrap();
    assert_eq!(label(&r, "x"), "Run", "as written, x is fed Run");
    assert_eq!(
        sites(&r),
        [
            ("u".into(), "order", Some(Ordering::Deterministic)),
            ("x".into(), "seal", None)
        ]
    );
    assert!(r.plan.verified(), "{:?}", r.plan.problems);
}

/// An ordering can create a seal barrier: once `u` is ordered deterministically, its output
/// carries the seal it declares, and `x`'s `OW(k)` waits on it. As written, `x` only inherits
/// `u`'s `Inst`, so the barrier exists only in the plan's analysis; it must be planned (and the
/// seal is not unused).
#[test]
fn an_ordering_upstream_creates_a_seal_barrier() {
    let topology = blazes::load::load_str("barrier.yaml", &sealing_origin(true)).unwrap();
    let options = |deterministic| CheckOptions {
        plan: blazes::plan::Options { deterministic },
        ..Default::default()
    };
    let det = blazes::check_with(topology.clone(), &options(true));
    assert_eq!(label(&det, "x"), "Inst", "as written, x inherits u's Inst");
    assert_eq!(
        sites(&det),
        [
            ("u".into(), "order", Some(Ordering::Deterministic)),
            ("x".into(), "seal", None)
        ]
    );
    let c = codes(&det);
    assert!(c.contains(&("seal-site", "x".into())), "{c:?}");
    assert!(!c.contains(&("unused-seal", "u".into())), "{c:?}");
    // A dynamic order leaves `u.out` Run, which `x` must then order itself.
    let dynamic = blazes::check_with(topology, &options(false));
    assert_eq!(
        sites(&dynamic),
        [
            ("u".into(), "order", Some(Ordering::Dynamic)),
            ("x".into(), "order", Some(Ordering::Deterministic))
        ]
    );
}

#[test]
fn lost_seal_when_an_output_drops_the_key() {
    let yaml = "components:\n  src: { outputs: { out: { fields: [k, v], seal: [k] } } }\n  strip: { inputs: [src], label: CR, outputs: { out: { fields: [v] } } }\n  agg: { inputs: [strip], label: OW(k) }\n";
    let r = blazes::check_str("l.yaml", yaml, &CheckOptions::default()).unwrap();
    assert_eq!(label(&r, "strip"), "Async");
    assert_eq!(label(&r, "agg"), "Run");
    let c = codes(&r);
    assert!(c.contains(&("lost-seal", "strip".into())), "{c:?}");
    assert!(
        !c.contains(&("unused-seal", "src".into())),
        "a lost seal is reported once, as lost: {c:?}"
    );
}

/// `component.output` of every port the plan's verification rejects in `a`.
fn unverified(r: &Report, a: &blazes::Analysis) -> Vec<String> {
    a.unverified()
        .into_iter()
        .map(|p| r.topology.port_name(p))
        .collect()
}

#[test]
fn verification_rejects_inst_diverge_and_run_no_dynamic_order_reaches() {
    // As written, POOR leaves `Inst` at the report and `Diverge` at the cache; its plan (a
    // dynamic order at the replicated report) leaves `Run` downstream of that order only.
    let poor = check("adnet-poor");
    assert_eq!(
        unverified(&poor, &poor.analysis),
        ["cache.out", "report.response"]
    );
    assert_eq!(unverified(&poor, &poor.plan.after), Vec::<String>::new());

    // Word count: `Run` at count and commit, which no dynamic order reaches as written.
    let wc = check("wordcount");
    assert_eq!(unverified(&wc, &wc.analysis), ["commit.out", "count.out"]);
    let count = wc.topology.component_index("count").unwrap();
    let commit = wc.topology.component_index("commit").unwrap();
    let with = |c: usize| {
        let mut overrides = vec![None; wc.topology.components.len()];
        overrides[c] = Some(Ordering::Dynamic);
        blazes::analysis::analyze_with(&wc.topology, Some(overrides))
    };
    // A dynamic order at count covers count and everything downstream of it.
    assert_eq!(unverified(&wc, &with(count)), Vec::<String>::new());
    // One at commit covers commit only: count, upstream of it, is still rejected.
    assert_eq!(unverified(&wc, &with(commit)), ["count.out"]);
}

#[test]
fn seal_suggestions_name_outputs_past_the_sixty_five_thousandth() {
    // Walks name the output they stop at from what they read on the way, which keeps output
    // indices below 65535; a suggestion at a higher index must name the right output too.
    let outputs: Vec<String> = (0..70_000).map(|i| format!("o{i}: {{}}")).collect();
    let yaml = format!(
        "components:\n  wide: {{ outputs: {{ {} }} }}\n  \
         near: {{ inputs: [wide.o7], label: OW(k) }}\n  \
         far: {{ inputs: [wide.o69999], label: OW(k) }}\n",
        outputs.join(", ")
    );
    let r = blazes::check_str("wide.yaml", &yaml, &CheckOptions::default()).unwrap();
    let suggested = |c: &str| {
        let c = r.topology.component_index(c).unwrap();
        let site = r.plan.sites.iter().find(|s| s.component == c).unwrap();
        let SiteKind::Order { seals, .. } = &site.kind else {
            panic!("{c} is not an order site")
        };
        assert_eq!(seals.len(), 1);
        assert_eq!(seals[0].fields, ["k"]);
        seals[0].port
    };
    let far = suggested("far");
    assert!(far.output >= usize::from(u16::MAX), "{far:?}");
    assert_eq!(r.topology.port_name(far), "wide.o69999");
    assert_eq!(r.topology.port_name(suggested("near")), "wide.o7");
}
