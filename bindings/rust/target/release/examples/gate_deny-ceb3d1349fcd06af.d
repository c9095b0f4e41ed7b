/work/wt/bindings/bindings/rust/target/release/examples/gate_deny-ceb3d1349fcd06af.d: examples/gate_deny.rs examples/common/mod.rs

/work/wt/bindings/bindings/rust/target/release/examples/gate_deny-ceb3d1349fcd06af: examples/gate_deny.rs examples/common/mod.rs

examples/gate_deny.rs:
examples/common/mod.rs:
