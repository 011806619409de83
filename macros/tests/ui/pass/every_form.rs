use std::collections::HashMap;

use blazes_annotations::{Annotation, Gate, Operator, SealKey, blazes};

#[blazes(CR)]
fn split(line: &str) -> impl Iterator<Item = &str> {
    line.split(' ')
}

#[blazes(seal(batch), name = "tweets")]
pub fn tweets() -> Vec<(String, u64)> {
    Vec::new()
}

#[blazes(OW(word, batch))]
struct Count {
    counts: HashMap<(String, u64), u64>,
}

#[blazes_annotations::blazes(CW)]
enum Commit {
    Pending,
}

#[blazes(
    path(click -> response, CW),
    path(request -> response, OR(id, campaign)),
    replicated,
)]
struct Report<T: Clone> {
    rows: Vec<T>,
}

#[blazes(OR(*), name = "any-read")]
struct AnyRead;

#[blazes(OR, seal())]
struct BareOr;

#[blazes(OW())]
struct Total;

#[blazes(name = "clicks")]
fn unsealed_source() {}

fn main() {
    assert_eq!(split("a b").count(), 2);
    assert_eq!(SPLIT_BLAZES.name, "split");
    assert_eq!(SPLIT_BLAZES.annotation(), Some(Annotation::CR));
    assert_eq!(TWEETS_BLAZES.name, "tweets");
    assert_eq!(TWEETS_BLAZES.seal_key(), Some(SealKey::new(["batch"])));
    assert!(TWEETS_BLAZES.is_unannotated());
    assert_eq!(Count::BLAZES.name, "count");
    assert_eq!(
        Count::BLAZES.annotation(),
        Some(Annotation::OW(Gate::fields(["word", "batch"])))
    );
    assert_eq!(Commit::BLAZES.annotation(), Some(Annotation::CW));
    let report = <Report<u8> as Operator>::BLAZES;
    assert!(report.replicated && report.label.is_none());
    assert_eq!(report.paths.len(), 2);
    assert_eq!(report.paths[1].from, "request");
    assert_eq!(
        report.paths[1].annotation.to_annotation(),
        Annotation::OR(Gate::fields(["id", "campaign"]))
    );
    assert_eq!(AnyRead::BLAZES.name, "any-read");
    assert_eq!(
        AnyRead::BLAZES.annotation(),
        Some(Annotation::OR(Gate::Any))
    );
    assert_eq!(BareOr::BLAZES.annotation(), Some(Annotation::OR(Gate::Any)));
    assert_eq!(BareOr::BLAZES.seal_key(), Some(SealKey::default()));
    assert!(UNSEALED_SOURCE_BLAZES.is_unannotated() && UNSEALED_SOURCE_BLAZES.seal.is_none());
    assert_eq!(UNSEALED_SOURCE_BLAZES.name, "clicks");
    unsealed_source();
    assert_eq!(
        Total::BLAZES.annotation(),
        Some(Annotation::OW(Gate::global()))
    );
    let _ = (
        Count {
            counts: HashMap::new(),
        }
        .counts,
        Commit::Pending,
        Report::<u8> { rows: vec![] }.rows,
    );
}
