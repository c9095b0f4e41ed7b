/work/wt/bindings/bindings/rust/target/release/examples/watch_exec-0d9508cd48a42a64.d: examples/watch_exec.rs examples/common/mod.rs

/work/wt/bindings/bindings/rust/target/release/examples/watch_exec-0d9508cd48a42a64: examples/watch_exec.rs examples/common/mod.rs

examples/watch_exec.rs:
examples/common/mod.rs:
