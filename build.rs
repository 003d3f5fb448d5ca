//! Records the optimisation level this build was compiled at (Cargo's `OPT_LEVEL` for the
//! profile), so the browser benchmark's two workers can report which build each one is
//! (`src/ui/bench_worker.rs`): a swapped profile in index.html shows in their figures.

fn main() {
    let level = std::env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=BROKERSCOPE_OPT_LEVEL={level}");
    println!("cargo:rerun-if-changed=build.rs");
}
