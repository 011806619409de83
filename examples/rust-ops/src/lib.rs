//! The paper's Storm word count as Rust operators annotated with `#[blazes]`.
//!
//! - [`ops::tweets`], the source, punctuates its stream per batch: `seal(batch)`;
//! - [`ops::split`] is confluent: `CR`;
//! - [`ops::Count`] keeps a running count per word and batch: `OW(word, batch)`;
//! - [`ops::Commit`] adds committed counts to a store, order-insensitively: `CW`.
//!
//! `tests/coordination.rs` wires them in code and checks that the seal on `batch` is what makes
//! the count deterministic; `blazes lint examples/rust-ops` reads the same annotations from the
//! sources, with the wiring in `blazes.yaml`.

pub mod ops;
