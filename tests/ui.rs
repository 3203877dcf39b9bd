//! Compile-fail and compile-pass tests of `nn::model!` (run with `cargo test --test ui`;
//! regenerate snapshots with `TRYBUILD=overwrite`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
