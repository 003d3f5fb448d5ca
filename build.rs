//! Build facts the binaries report about themselves:
//! - `BROKERSCOPE_OPT_LEVEL`: the optimisation level of this build (Cargo's `OPT_LEVEL` for the
//!   profile), so the browser benchmark's two workers say which build each one is
//!   (`src/ui/bench_worker.rs`): a swapped profile in index.html shows in their figures;
//! - `BROKERSCOPE_PROFILE_USE`: `1` when the compiler flags apply a PGO profile
//!   (`-Cprofile-use`, as `scripts/pgo-build` does), else `0`, so `bench` names its build from
//!   what the compiler was told, not from a variable anyone could set.

fn main() {
    let level = std::env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=BROKERSCOPE_OPT_LEVEL={level}");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let profile_use = flags.split('\x1f').any(|f| f.starts_with("-Cprofile-use") || f.starts_with("profile-use"));
    println!("cargo:rustc-env=BROKERSCOPE_PROFILE_USE={}", u8::from(profile_use));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
}
