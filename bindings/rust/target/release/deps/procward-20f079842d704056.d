/work/wt/bindings/bindings/rust/target/release/deps/procward-20f079842d704056.d: src/lib.rs src/ffi.rs

/work/wt/bindings/bindings/rust/target/release/deps/libprocward-20f079842d704056.rlib: src/lib.rs src/ffi.rs

/work/wt/bindings/bindings/rust/target/release/deps/libprocward-20f079842d704056.rmeta: src/lib.rs src/ffi.rs

src/lib.rs:
src/ffi.rs:
