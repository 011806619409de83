//! Loading topologies: the only stage that reads files.

pub mod fast;
pub mod flux;
mod names;
pub mod rust;
pub mod tree;
pub mod yaml;

use std::sync::Arc;

use crate::model::{SourceFile, Span, Topology};
use crate::report::{Diagnostic, codes};

pub use yaml::load_str;

/// Reads and loads a topology file; `-` reads standard input. A crate directory or a
/// `Cargo.toml` loads the crate's topology with the `#[blazes]` attributes of its Rust sources
/// ([`rust::load_crate`]).
pub fn load_path(path: &str) -> Result<Topology, Vec<Diagnostic>> {
    let fs_path = std::path::Path::new(path);
    if path != "-" && (fs_path.is_dir() || fs_path.file_name().is_some_and(|n| n == "Cargo.toml")) {
        return rust::load_crate(path);
    }
    let (name, text) = read_text(path)?;
    load_string(&name, text)
}

/// Like [`load_str`], keeping `text` as the source of the diagnostics rather than a copy of it.
pub fn load_string(name: &str, text: String) -> Result<Topology, Vec<Diagnostic>> {
    yaml::load_source(SourceFile::new(name, text), None)
}

/// A loaded topology and the findings of its loader (a Flux bolt without annotation).
#[derive(Debug)]
pub struct Loaded {
    /// The topology.
    pub topology: Topology,
    /// Findings made while loading; they join the analysis' findings.
    pub warnings: Vec<Diagnostic>,
}

/// Loads text in either format: a Storm Flux topology (top-level `spouts`, `bolts` or
/// `streams`) or the SPEC §8 format.
pub fn load_any_str(
    name: &str,
    text: &str,
    flux_options: &flux::Options,
) -> Result<Loaded, Vec<Diagnostic>> {
    load_any_string(name, text.to_string(), flux_options)
}

/// Like [`load_any_str`], keeping `text` as the source of the diagnostics rather than a copy
/// of it (a large file is held once).
pub fn load_any_string(
    name: &str,
    text: String,
    flux_options: &flux::Options,
) -> Result<Loaded, Vec<Diagnostic>> {
    let source = SourceFile::new(name, text);
    if flux::may_be_flux(&source.text) {
        // Parse once: a Flux file goes to the Flux loader (which substitutes `${…}` and reads
        // its own text), anything else is validated from this tree without a second parse.
        if let Ok(root) = tree::parse(&source.text) {
            if flux::is_flux(&root) {
                return flux::load_str(name, &source.text, flux_options).map(|l| Loaded {
                    topology: l.topology,
                    warnings: l.warnings,
                });
            }
            return yaml::load_tree(Arc::clone(&source), root, None).map(|topology| Loaded {
                topology,
                warnings: Vec::new(),
            });
        }
    }
    yaml::load_source(source, None).map(|topology| Loaded {
        topology,
        warnings: Vec::new(),
    })
}

/// Like [`load_path`], and also recognises Storm Flux files (with `${…}` substitution from
/// `flux_options`; includes are resolved relative to the file), also on standard input (`-`).
pub fn load_path_with(path: &str, flux_options: &flux::Options) -> Result<Loaded, Vec<Diagnostic>> {
    let fs_path = std::path::Path::new(path);
    let is_crate = fs_path.is_dir() || fs_path.file_name().is_some_and(|n| n == "Cargo.toml");
    if path != "-" && is_crate {
        return load_path(path).map(|topology| Loaded {
            topology,
            warnings: Vec::new(),
        });
    }
    let mut options = flux_options.clone();
    if path != "-" {
        options.base_dir = Some(
            fs_path
                .parent()
                .map_or_else(std::path::PathBuf::new, std::path::Path::to_path_buf),
        );
    }
    let (name, text) = read_text(path)?;
    load_any_string(&name, text, &options)
}

/// Reads a file (or standard input for `-`) as UTF-8 text under the size limit, returning the
/// name to show in diagnostics and the text; unreadable or non-UTF-8 input is a read error.
fn read_text(path: &str) -> Result<(String, String), Vec<Diagnostic>> {
    let (name, bytes) = if path == "-" {
        let mut buf = Vec::new();
        let r = std::io::Read::read_to_end(
            &mut std::io::Read::take(std::io::stdin(), tree::MAX_BYTES as u64 + 1),
            &mut buf,
        );
        ("<stdin>".to_string(), r.map(|_| buf))
    } else {
        (path.to_string(), read_limited(path))
    };
    let bytes = bytes.map_err(|e| {
        let source = SourceFile::new(name.clone(), "");
        vec![Diagnostic::new(
            codes::READ_ERROR,
            &source,
            format!("cannot read `{name}`: {e}"),
        )]
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok((name, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let source = SourceFile::new(name.clone(), text);
            Err(vec![
                Diagnostic::new(
                    codes::READ_ERROR,
                    &source,
                    format!("`{name}` is not UTF-8 text"),
                )
                .at(Span::new(at, 1), "invalid UTF-8 here"),
            ])
        }
    }
}

/// Reads at most one byte past the limit, so an oversized file is refused without being loaded.
fn read_limited(path: &str) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, tree::MAX_BYTES as u64 + 1),
        &mut buf,
    )?;
    Ok(buf)
}
