//! Loading topologies: the only stage that reads files.

pub mod tree;
pub mod yaml;

use crate::model::{SourceFile, Span, Topology};
use crate::report::{Diagnostic, codes};

pub use yaml::load_str;

/// Reads and loads a topology file; `-` reads standard input.
pub fn load_path(path: &str) -> Result<Topology, Vec<Diagnostic>> {
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
        Ok(text) => load_str(&name, &text),
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
