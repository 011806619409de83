//! The `blazes` command.

/// mimalloc rather than the system allocator: loading a large topology makes millions of small
/// allocations, which it serves faster and with less fragmentation.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    blazes::cli::main()
}
