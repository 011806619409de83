//! Compile tests of `#[blazes]`: every accepted form compiles and yields the right constants;
//! every mistake is a compile error at the offending token (the `.stderr` files).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
