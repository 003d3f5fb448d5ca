//! The browser benchmark's Web Worker built exactly as the app is (opt-level z, `wasm-opt -Oz`;
//! index.html), beside `bench_worker`, built for speed as the native binary is: the two measure
//! what the app's own build costs against the platform (see `brokerscope::ui::bench_worker`).

#[cfg(target_arch = "wasm32")]
fn main() {
    brokerscope::ui::bench_worker::start(brokerscope::ui::bench_worker::Build::App);
}

/// Natively there is no worker to be: the CLI has the benchmarks.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("bench_worker_app is the browser benchmark's Web Worker; natively, run `brokerscope bench`");
    std::process::exit(2);
}
