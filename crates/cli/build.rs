//! Link the `ferroflux` binary as a position-dependent executable on Linux.
//!
//! A position-independent executable is relocated by the dynamic loader
//! at every start: about 87,000 relative relocations written into 1.5 MiB
//! of copied-on-write pages, about 1 ms and 330 page faults before `main`
//! (`perf stat ferroflux --version`: 2.6 ms as PIE, 1.7 ms without), a
//! tenth of a short command such as `ferroflux helm template`. The Go
//! binaries ferroflux replaces (Flux's controllers, `helm`, `kubectl`) are
//! position-dependent by default on Linux too; libraries, heap, stack and
//! mmaps stay randomised. `FERROFLUX_PIE=1` at build time keeps PIE.

fn main() {
    println!("cargo:rerun-if-env-changed=FERROFLUX_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let pie = std::env::var("FERROFLUX_PIE").is_ok_and(|v| v == "1");
    if linux && !pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
