//! Unified diffs of generated code against what is on disk (`blazes fix --diff`).

/// A unified patch turning `old` into `new`, with `path` in the `---`/`+++` headers (`a/` and
/// `b/` prefixed, as `git apply` expects). Empty when the texts are equal. The patience
/// algorithm anchors on lines that occur once on each side (in a generated module, the items'
/// names), so a module that changed much is diffed in seconds where Myers' took minutes.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let old_name = if old.is_empty() {
        "/dev/null".to_string()
    } else {
        format!("a/{path}")
    };
    similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn diffs_are_unified_patches() {
        assert_eq!(unified("x.rs", "a\n", "a\n"), "");
        let d = unified("x.rs", "a\nb\nc\n", "a\nB\nc\n");
        assert!(
            d.starts_with("--- a/x.rs\n+++ b/x.rs\n@@ -1,3 +1,3 @@\n"),
            "{d}"
        );
        assert!(d.contains("\n-b\n+B\n"));
        let d = unified("x.rs", "", "new\n");
        assert!(d.starts_with("--- /dev/null\n+++ b/x.rs\n"), "{d}");
        assert!(d.contains("+new\n"));
    }
}
