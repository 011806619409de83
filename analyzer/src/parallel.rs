//! Fork-join on the second core, for the stages of large topologies that split in two.

/// Runs `a` and `b` and returns both results: `b` on a second thread when `parallel`, else one
/// after the other. A panic in either is passed on as it was.
pub(crate) fn both<A: Send, B: Send>(
    parallel: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if !parallel {
        return (a(), b());
    }
    std::thread::scope(|scope| {
        let b = scope.spawn(b);
        let a = a();
        let b = b
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}
