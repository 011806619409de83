//! The word count's coordination, checked in a unit test: the seal on `batch` that
//! `#[blazes(seal(batch))]` declares on `tweets` is what lets `Count` (`OW(word, batch)`) run
//! without ordering. Remove `seal(batch)` from the attribute of `tweets` in src/ops.rs (leaving
//! `#[blazes(name = "tweets")]`, an unsealed source) and `the_sealed_word_count_needs_no_ordering`
//! fails with blazes' report: `count` is an order site.

#![allow(clippy::unwrap_used, clippy::panic)]

use blazes::wiring::TopologyBuilder;
use blazes_annotations::Operator;
use blazes_example_rust_ops::ops::{Commit, Count, SPLIT_BLAZES, TWEETS_BLAZES};

/// The word count wired as `blazes.yaml` wires it, from the operators' own annotations.
fn word_count() -> TopologyBuilder {
    TopologyBuilder::new("wordcount")
        .spec("tweets", &TWEETS_BLAZES)
        .fields("tweets", &["text", "batch"])
        .spec("splitter", &SPLIT_BLAZES)
        .fields("splitter", &["word", "batch"])
        .parallelism("splitter", 4)
        .operator::<Count>("count")
        .parallelism("count", 8)
        .operator::<Commit>("commit")
        .connect("tweets", "splitter")
        .connect_grouped("splitter", "count.words", "fields(word)")
        .connect("count", "commit")
}

#[test]
fn the_sealed_word_count_needs_no_ordering() {
    let report = match word_count().verify() {
        Ok(report) => report,
        Err(failure) => panic!("the word count needs coordination:\n{failure}"),
    };
    // The seal is consumed at `count`: a seal barrier runs there, and nothing is ordered.
    let sites: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|d| (d.code.name, d.component.as_deref().unwrap_or("")))
        .collect();
    assert!(sites.contains(&("seal-site", "count")), "{sites:?}");
}

#[test]
fn without_the_seal_count_is_an_order_site() {
    // The same wiring with a plain, unsealed source in place of `tweets`.
    let unsealed = TopologyBuilder::new("wordcount")
        .source("tweets", &["text", "batch"], None)
        .spec("splitter", &SPLIT_BLAZES)
        .fields("splitter", &["word", "batch"])
        .operator::<Count>("count")
        .operator::<Commit>("commit")
        .connect("tweets", "splitter")
        .connect_grouped("splitter", "count.words", "fields(word)")
        .connect("count", "commit");
    let report = blazes::check(&unsealed.build().unwrap());
    assert!(report.has_errors());
    let first = &report.findings[0];
    assert_eq!(first.code.name, "order-site");
    assert_eq!(first.component.as_deref(), Some("count"));
    // The remedy names the seal that would make it a seal site again.
    assert!(
        first.help.as_deref().unwrap_or("").contains("batch"),
        "{:?}",
        first.help
    );
    assert!(unsealed.verify().is_err());
}

#[test]
fn the_annotations_are_constants() {
    assert_eq!(Count::BLAZES.to_string(), "OW(word, batch)");
    assert_eq!(Commit::BLAZES.to_string(), "CW");
    assert_eq!(SPLIT_BLAZES.to_string(), "CR");
    assert_eq!(TWEETS_BLAZES.to_string(), "seal(batch)");
    assert_eq!(TWEETS_BLAZES.name, "tweets");
}
