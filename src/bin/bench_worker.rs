//! The browser benchmark's Web Worker: the standard workloads of `brokerscope bench`, run in a
//! worker thread of the page `www/bench.html` (see `brokerscope::ui::bench_worker`). A binary of
//! its own so that the app's wasm carries no benchmark code.

#[cfg(target_arch = "wasm32")]
fn main() {
    brokerscope::ui::bench_worker::start();
}

/// Natively there is no worker to be: the CLI has the benchmarks.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("bench_worker is the browser benchmark's Web Worker; natively, run `brokerscope bench`");
    std::process::exit(2);
}
