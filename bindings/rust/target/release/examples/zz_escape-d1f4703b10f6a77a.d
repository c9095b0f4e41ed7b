/work/wt/bindings/bindings/rust/target/release/examples/zz_escape-d1f4703b10f6a77a.d: examples/zz_escape.rs

/work/wt/bindings/bindings/rust/target/release/examples/zz_escape-d1f4703b10f6a77a: examples/zz_escape.rs

examples/zz_escape.rs:
