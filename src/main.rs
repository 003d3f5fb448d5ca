//! The `brokerscope` binary: the CLI natively, the web app on wasm32.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(brokerscope::cli::main());
}

#[cfg(target_arch = "wasm32")]
fn main() {
    brokerscope::ui::start();
}
