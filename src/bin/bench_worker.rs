//! The browser benchmark's Web Worker: the standard workloads of `brokerscope bench`, run in a
//! worker thread of the page `www/bench.html` (see `brokerscope::ui::bench_worker`). A binary of
//! its own so that the app's wasm carries no benchmark code; built for speed (opt-level 3,
//! `wasm-opt -O3`; index.html), as the native binary is, so the browser/native ratio compares
//! the platforms. `bench_worker_app` is the same worker built as the app is.

#[cfg(target_arch = "wasm32")]
fn main() {
    brokerscope::ui::bench_worker::start(brokerscope::ui::bench_worker::Build::Speed);
}

/// Natively there is no worker to be: the CLI has the benchmarks.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("bench_worker is the browser benchmark's Web Worker; natively, run `brokerscope bench`");
    std::process::exit(2);
}
