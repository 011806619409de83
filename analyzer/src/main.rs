//! The `blazes` command.

fn main() -> std::process::ExitCode {
    blazes::cli::main()
}
