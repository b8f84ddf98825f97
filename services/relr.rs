//! The build script of every service binary: links it with packed relative relocations
//! (`DT_RELR`, GNU ld 2.38 and glibc 2.36 onwards; Debian bookworm has both). A service is
//! position-independent, so the loader patches every pointer in its read-only data at
//! start; in the classic form each such spot is a 24-byte entry that the loader reads, and
//! those entries were 0.75-0.9 MiB of each service's idle memory. Packed, they take a few
//! KiB.

fn main() {
    // Without this, cargo would run the script again whenever any file of the package changed.
    println!("cargo:rerun-if-changed=../relr.rs");
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") == "linux" && target("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
