//! The README documents every finding code and every flag of the CLI.

#![allow(clippy::unwrap_used)]

use clap::CommandFactory;

fn readme() -> String {
    std::fs::read_to_string(format!("{}/../README.md", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn every_code_is_documented_in_the_readme() {
    let readme = readme();
    for code in blazes::report::codes::ALL {
        let row = format!("| {} | `{}` | {} |", code.id, code.name, code.severity);
        assert!(
            readme.contains(&row),
            "README lacks the row for {}: {row}",
            code.id
        );
    }
}

#[test]
fn every_flag_and_command_is_documented_in_the_readme() {
    let readme = readme();
    let cli = blazes::cli::Cli::command();
    for sub in cli.get_subcommands() {
        assert!(
            readme.contains(&format!("blazes {}", sub.get_name())),
            "README lacks `blazes {}`",
            sub.get_name()
        );
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(
                    readme.contains(&format!("--{long}")),
                    "README lacks --{long}"
                );
            }
        }
    }
}

#[test]
fn the_readme_commands_name_a_bundled_example() {
    let readme = readme();
    let run = "cargo run -p blazes -- lint examples/adnet-poor.yaml";
    assert!(readme.contains(run));
    assert!(
        std::path::Path::new(&format!(
            "{}/../examples/adnet-poor.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .exists()
    );
    assert!(readme.contains("cargo test --workspace"));
    let ci = std::fs::read_to_string(format!("{}/../.ci/run", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(
        ci.contains("cargo test --workspace"),
        ".ci/run calls the README's test command"
    );
}
