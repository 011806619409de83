//! Rust identifiers from topology names (component, interface and field names may contain `-`,
//! `.`, non-ASCII letters or Rust keywords), made unique within one generated module.

use std::collections::BTreeSet;

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Words of a name: maximal runs of ASCII letters and digits.
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A `snake_case` identifier for a name: never empty, never a keyword, never starting with a
/// digit.
pub fn snake(name: &str) -> String {
    let mut s = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if s.is_empty() {
        s.push('x');
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'n');
    }
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// A `CamelCase` identifier for a name.
pub fn camel(name: &str) -> String {
    let mut s: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(c) => {
                    c.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect();
    if s.is_empty() {
        s.push('X');
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'N');
    }
    if s == "Self" {
        s.push('_');
    }
    s
}

/// Hands out identifiers, appending `_2`, `_3`, … when two names map to the same identifier.
#[derive(Debug, Default)]
pub struct Unique {
    used: BTreeSet<String>,
}

impl Unique {
    /// A unique `snake_case` identifier built from `base` (`base_2`, `base_3`, … on collision).
    pub fn take(&mut self, base: String) -> String {
        let sep = if base.ends_with('_') { "" } else { "_" };
        self.take_with(base, sep)
    }

    /// A unique `CamelCase` identifier built from `base` (`Base2`, `Base3`, … on collision).
    pub fn take_camel(&mut self, base: String) -> String {
        self.take_with(base, "")
    }

    fn take_with(&mut self, base: String, sep: &str) -> String {
        if self.used.insert(base.clone()) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}{sep}{n}"))
            .find(|candidate| self.used.insert(candidate.clone()))
            .unwrap_or(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_valid_identifiers() {
        assert_eq!(snake("count"), "count");
        assert_eq!(snake("report.response"), "report_response");
        assert_eq!(snake("My-Comp"), "my_comp");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("9lives"), "n9lives");
        assert_eq!(snake("é"), "x");
        assert_eq!(camel("count words"), "CountWords");
        assert_eq!(camel("word_count"), "WordCount");
        assert_eq!(camel("self"), "Self_");
        let mut u = Unique::default();
        assert_eq!(u.take("a_b".into()), "a_b");
        assert_eq!(u.take("a_b".into()), "a_b_2");
        assert_eq!(u.take("a_b".into()), "a_b_3");
        assert_eq!(u.take_camel("AB".into()), "AB");
        assert_eq!(u.take_camel("AB".into()), "AB2");
    }
}
