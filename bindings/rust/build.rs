// build.rs - link libprocward: the static archive from PROCWARD_LIB_DIR
// (default: the source tree's build/, ../../build from this crate), plus the
// system libraries it needs (libbpf, libelf, zlib).
use std::env;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let dir = match env::var("PROCWARD_LIB_DIR") {
        Ok(d) if !d.is_empty() => PathBuf::from(d),
        _ => manifest.join("../../build"),
    };
    let archive = dir.join("libprocward.a");
    if !archive.exists() {
        panic!(
            "procward: {} not found: build the library first (make), or set PROCWARD_LIB_DIR",
            archive.display()
        );
    }
    println!("cargo:rerun-if-env-changed=PROCWARD_LIB_DIR");
    println!("cargo:rerun-if-changed={}", archive.display());
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static=procward");
    for lib in ["bpf", "elf", "z", "pthread"] {
        println!("cargo:rustc-link-lib=dylib={}", lib);
    }
}
