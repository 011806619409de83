//! Unified diffs of generated code against what is on disk (`blazes fix --diff`).
//!
//! The diff is bounded by work, not by time, so it prints the same patch on every machine:
//!
//! 1. lines the two sides share at the start and the end are set aside;
//! 2. in between, lines that occur exactly once on each side (in a generated module, mostly
//!    the items' names) are matched in the longest run that keeps their order on both sides,
//!    the *patience* anchors; the stretches between anchors are treated the same way in turn;
//! 3. a stretch with no such line is compared line by line with Myers' algorithm when it is
//!    short (`MYERS_LIMIT`, 2,000 lines on both sides together), else it is replaced as a whole.
//!
//! Myers' algorithm costs the product of a stretch's length and the number of its differences,
//! so a module rewritten wholesale (a committed shim against a plan ten times its size) used to
//! take minutes; with the limit a stretch costs at most `MYERS_LIMIT` times its length. A small
//! change still gives a small patch: it sits in a stretch of a few lines between two item names.

use similar::DiffOp;

/// Longest stretch without anchors (lines on both sides together) that is compared line by line;
/// a longer one is printed as one replacement.
const MYERS_LIMIT: usize = 2000;

/// How many times the stretches between anchors are searched for anchors of their own: a bound
/// on the work of an adversarial text, far above what a generated module needs.
const MAX_DEPTH: usize = 16;

/// A unified patch turning `old` into `new`, with `path` in the `---`/`+++` headers (`a/` and
/// `b/` prefixed, as `git apply` expects). Empty when the texts are equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    unified_within(path, old, new, MYERS_LIMIT)
}

/// [`unified`], comparing stretches of at most `limit` lines line by line.
fn unified_within(path: &str, old: &str, new: &str, limit: usize) -> String {
    if old == new {
        return String::new();
    }
    let old_name = if old.is_empty() {
        "/dev/null".to_string()
    } else {
        format!("a/{path}")
    };
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let mut ops = Vec::new();
    diff_lines(&a, &b, (0, 0), 0, limit, &mut ops);
    let mut out = format!("--- {old_name}\n+++ b/{path}\n");
    for hunk in similar::group_diff_ops(ops, 3) {
        if hunk.is_empty() {
            continue;
        }
        out.push_str(&similar::udiff::UnifiedHunkHeader::new(&hunk).to_string());
        out.push('\n');
        for op in &hunk {
            if let DiffOp::Equal { .. } = op {
                for line in &a[op.old_range()] {
                    push_line(&mut out, ' ', line);
                }
                continue;
            }
            for line in &a[op.old_range()] {
                push_line(&mut out, '-', line);
            }
            for line in &b[op.new_range()] {
                push_line(&mut out, '+', line);
            }
        }
    }
    out
}

/// One line of a hunk: its tag and text, and git's marker when the text's last line has no
/// line break.
fn push_line(out: &mut String, tag: char, line: &str) {
    out.push(tag);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// Appends the operations turning `a` into `b`, which start at lines `at` of the whole texts,
/// to `ops`; `depth` counts the anchor searches above, `limit` is the longest stretch compared
/// line by line.
fn diff_lines(
    a: &[&str],
    b: &[&str],
    at: (usize, usize),
    depth: usize,
    limit: usize,
    ops: &mut Vec<DiffOp>,
) {
    let (prefix, suffix) = crate::slices::common_ends(a, b);
    equal(ops, at, prefix);
    let (a, b) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let middle = (at.0 + prefix, at.1 + prefix);
    let anchors = if depth < MAX_DEPTH && !a.is_empty() && !b.is_empty() {
        anchors(a, b)
    } else {
        Vec::new()
    };
    if anchors.is_empty() {
        stretch(a, b, middle, limit, ops);
    } else {
        let (mut i, mut j) = (0, 0);
        for (x, y) in anchors {
            let gap = (middle.0 + i, middle.1 + j);
            diff_lines(&a[i..x], &b[j..y], gap, depth + 1, limit, ops);
            equal(ops, (middle.0 + x, middle.1 + y), 1);
            (i, j) = (x + 1, y + 1);
        }
        let gap = (middle.0 + i, middle.1 + j);
        diff_lines(&a[i..], &b[j..], gap, depth + 1, limit, ops);
    }
    equal(ops, (middle.0 + a.len(), middle.1 + b.len()), suffix);
}

/// A stretch without anchors, starting at lines `at`: line by line when it is at most `limit`
/// lines on both sides together, else one replacement.
fn stretch(a: &[&str], b: &[&str], at: (usize, usize), limit: usize, ops: &mut Vec<DiffOp>) {
    let (old_index, new_index) = at;
    let op = match (a.len(), b.len()) {
        (0, 0) => return,
        (0, new_len) => DiffOp::Insert {
            old_index,
            new_index,
            new_len,
        },
        (old_len, 0) => DiffOp::Delete {
            old_index,
            old_len,
            new_index,
        },
        (old_len, new_len) if old_len + new_len > limit => DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        },
        _ => {
            for op in similar::capture_diff_slices(similar::Algorithm::Myers, a, b) {
                push(ops, shifted(op, at));
            }
            return;
        }
    };
    push(ops, op);
}

/// `len` equal lines from lines `at`, merged into the operation before when it is also an
/// equal run that ends there.
fn equal(ops: &mut Vec<DiffOp>, at: (usize, usize), len: usize) {
    if len > 0 {
        push(
            ops,
            DiffOp::Equal {
                old_index: at.0,
                new_index: at.1,
                len,
            },
        );
    }
}

/// Appends an operation, merging adjacent equal runs (hunks are grouped on them).
fn push(ops: &mut Vec<DiffOp>, op: DiffOp) {
    if let (
        Some(DiffOp::Equal {
            old_index,
            new_index,
            len,
        }),
        DiffOp::Equal {
            old_index: next_old,
            new_index: next_new,
            len: more,
        },
    ) = (ops.last_mut(), op)
        && *old_index + *len == next_old
        && *new_index + *len == next_new
    {
        *len += more;
        return;
    }
    ops.push(op);
}

/// An operation on slices starting at lines `at`, in lines of the whole texts.
fn shifted(op: DiffOp, (at_a, at_b): (usize, usize)) -> DiffOp {
    match op {
        DiffOp::Equal {
            old_index,
            new_index,
            len,
        } => DiffOp::Equal {
            old_index: old_index + at_a,
            new_index: new_index + at_b,
            len,
        },
        DiffOp::Delete {
            old_index,
            old_len,
            new_index,
        } => DiffOp::Delete {
            old_index: old_index + at_a,
            old_len,
            new_index: new_index + at_b,
        },
        DiffOp::Insert {
            old_index,
            new_index,
            new_len,
        } => DiffOp::Insert {
            old_index: old_index + at_a,
            new_index: new_index + at_b,
            new_len,
        },
        DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } => DiffOp::Replace {
            old_index: old_index + at_a,
            old_len,
            new_index: new_index + at_b,
            new_len,
        },
    }
}

/// The patience anchors of `a` and `b`: pairs of positions of lines that occur exactly once on
/// each side, the longest chain of them increasing on both sides (the first such chain), in
/// order.
fn anchors(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
    // Per line text: occurrences in `a`, occurrences in `b`, and the last position in each.
    let mut seen: rustc_hash::FxHashMap<&str, (u32, u32, usize, usize)> =
        rustc_hash::FxHashMap::default();
    for (i, line) in a.iter().enumerate() {
        let e = seen.entry(line).or_default();
        e.0 += 1;
        e.2 = i;
    }
    for (j, line) in b.iter().enumerate() {
        if let Some(e) = seen.get_mut(line) {
            e.1 += 1;
            e.3 = j;
        }
    }
    // The lines unique on both sides, in the order of `a`.
    let unique: Vec<(usize, usize)> = a
        .iter()
        .filter_map(|line| match seen.get(line) {
            Some(&(1, 1, i, j)) => Some((i, j)),
            _ => None,
        })
        .collect();
    longest_increasing(&unique)
}

/// The longest subsequence of `pairs` (increasing in their first position) whose second
/// positions also increase; among chains of that length, the one patience sorting finds.
fn longest_increasing(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    // `tops[k]`: index in `pairs` of the smallest end of an increasing chain of length k + 1;
    // `back[i]`: the element before `pairs[i]` in the chain ending at it.
    let mut tops: Vec<usize> = Vec::new();
    let mut back: Vec<Option<usize>> = Vec::with_capacity(pairs.len());
    for (i, &(_, j)) in pairs.iter().enumerate() {
        let k = tops.partition_point(|&t| pairs[t].1 < j);
        back.push(k.checked_sub(1).map(|p| tops[p]));
        if k == tops.len() {
            tops.push(i);
        } else {
            tops[k] = i;
        }
    }
    let mut chain = Vec::with_capacity(tops.len());
    let mut at = tops.last().copied();
    while let Some(i) = at {
        chain.push(pairs[i]);
        at = back[i];
    }
    chain.reverse();
    chain
}

#[cfg(test)]
mod tests {
    use super::{MYERS_LIMIT, longest_increasing, unified, unified_within};
    use proptest::prelude::*;

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

    #[test]
    fn a_missing_final_line_break_is_marked() {
        let d = unified("x.rs", "a\nb", "a\nc\n");
        assert_eq!(
            d,
            "--- a/x.rs\n+++ b/x.rs\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"
        );
    }

    #[test]
    fn the_longest_chain_increasing_on_both_sides_is_kept() {
        let pairs = [(0, 3), (1, 0), (2, 1), (3, 4), (4, 2), (5, 5)];
        assert_eq!(
            longest_increasing(&pairs),
            vec![(1, 0), (2, 1), (4, 2), (5, 5)]
        );
        assert!(longest_increasing(&[]).is_empty());
    }

    /// Applies a unified patch to `old` (hunks in order, context checked), for checking that a
    /// patch really turns one text into the other.
    fn apply(old: &str, patch: &str) -> String {
        let old: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut at = 0;
        let mut lines = patch.lines().skip(2).peekable();
        while let Some(header) = lines.next() {
            let start: usize = header
                .strip_prefix("@@ -")
                .and_then(|h| h.split([',', ' ']).next())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad hunk header {header:?}"));
            // A hunk that deletes from line 0 has start 0; otherwise 1-based.
            let first = start.saturating_sub(1).max(at);
            out.extend(old[at..first].iter().copied());
            at = first;
            while let Some(line) = lines.next_if(|l| !l.starts_with("@@")) {
                let no_break = lines.next_if(|l| l.starts_with('\\')).is_some();
                let text = format!("{}{}", &line[1..], if no_break { "" } else { "\n" });
                match &line[..1] {
                    " " | "-" => {
                        assert_eq!(old[at], text, "context or deleted line differs");
                        if line.starts_with(' ') {
                            out.push_str(&text);
                        }
                        at += 1;
                    }
                    "+" => out.push_str(&text),
                    _ => panic!("bad patch line {line:?}"),
                }
            }
        }
        out.extend(old[at..].iter().copied());
        out
    }

    /// A module-like text: `items` items named from `names`, each with a body that repeats
    /// the same few lines (which are not unique, as in generated code).
    fn module(names: impl Iterator<Item = usize>, body: usize) -> String {
        let mut s = String::from("//! header\n");
        for n in names {
            s.push_str(&format!("pub fn site_{n}() {{\n"));
            for k in 0..body {
                s.push_str(&format!("    let x = step({});\n", (n + k) % 3));
            }
            s.push_str("}\n\n");
        }
        s
    }

    #[test]
    fn patches_apply_and_small_changes_stay_small() {
        let old = module(0..200, 6);
        let mut new = old.replace("pub fn site_17()", "pub fn site_17b()");
        new = new.replacen("    let x = step(2);\n", "    let x = step(9);\n", 1);
        let d = unified("m.rs", &old, &new);
        assert_eq!(apply(&old, &d), new);
        let changed = d.lines().filter(|l| l.starts_with(['+', '-'])).count();
        assert_eq!(changed, 2 + 4, "{d}");
        // Texts with and without a final line break, and an empty side.
        for (x, y) in [("a\nb", "a\nb\n"), ("", "a\n"), ("a\n", ""), ("x\ny", "z")] {
            assert_eq!(apply(x, &unified("m.rs", x, y)), y, "{x:?} -> {y:?}");
        }
    }

    #[test]
    fn a_long_stretch_without_anchors_is_replaced_whole() {
        // Many items on each side, no name in common, bodies of lines repeated throughout:
        // Myers over the whole would take minutes (and match some body lines); here the
        // stretch between the shared first line and the shared last two is one replacement.
        let old = module(0..3000, 8);
        let new = module(5000..9000, 7);
        let (old_lines, new_lines) = (old.lines().count(), new.lines().count());
        assert!(old_lines + new_lines > 20 * MYERS_LIMIT);
        let d = unified("m.rs", &old, &new);
        assert_eq!(apply(&old, &d), new);
        let hunks: Vec<&str> = d.lines().filter(|l| l.starts_with("@@")).collect();
        assert_eq!(
            hunks,
            vec![format!("@@ -1,{} +1,{} @@", old_lines, new_lines)]
        );
        let removed = d.lines().filter(|l| l.starts_with('-')).count() - 1;
        let added = d.lines().filter(|l| l.starts_with('+')).count() - 1;
        assert_eq!((removed, added), (old_lines - 3, new_lines - 3));
        // Below the limit, the same kind of stretch is compared line by line.
        let (old, new) = (module(0..40, 8), module(500..560, 7));
        assert!(old.lines().count() + new.lines().count() < MYERS_LIMIT);
        let d = unified("m.rs", &old, &new);
        assert_eq!(apply(&old, &d), new);
        assert!(d.lines().filter(|l| l.starts_with('-')).count() - 1 < old.lines().count() - 3);
    }

    /// Lines from a small alphabet, so that texts hold both repeated and unique lines, with or
    /// without a final line break.
    fn text() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(
                prop_oneof![
                    3 => (0..4u8).prop_map(|k| format!("    step({k});")),
                    1 => (0..40u8).prop_map(|k| format!("fn item_{k}() {{")),
                    1 => Just("}".to_string()),
                    1 => Just(String::new()),
                ],
                0..60,
            ),
            any::<bool>(),
        )
            .prop_map(|(lines, last_break)| {
                let mut s = lines.join("\n");
                if last_break && !s.is_empty() {
                    s.push('\n');
                }
                s
            })
    }

    proptest! {
        /// Whatever the texts and the limit (so that stretches go both ways), the patch turns
        /// the old text into the new one, and only equal texts give an empty patch.
        #[test]
        fn every_patch_applies(old in text(), new in text(), limit in 0..80usize) {
            let d = unified_within("m.rs", &old, &new, limit);
            prop_assert_eq!(d.is_empty(), old == new);
            prop_assert_eq!(apply(&old, &d), new);
        }
    }
}
