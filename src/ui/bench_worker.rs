//! The browser benchmark's Web Worker (`src/bin/bench_worker.rs` and `src/bin/bench_worker_app.rs`;
//! `www/bench.html` drives it).
//!
//! It is a binary of its own, so the app's download carries no benchmark code. The page posts
//! `{workload, amount}` (`"a"`–`"d"`, records or seeds); the worker answers `{figures}` (the JSON
//! of `brokerscope bench --json`'s workload plus `wasm_memory_bytes`) or `{error}`. It posts
//! `{ready: true}` once it listens: messages sent before that would be dropped.
//!
//! Two binaries run it, the same code built two ways (index.html, Cargo.toml): `bench_worker`
//! for speed (opt-level 3, the native binary's goal) and `bench_worker_app` for size, exactly as
//! the app is. The figures name theirs in `build`, with the opt-level it was compiled at in
//! `opt_level` (from Cargo, through `build.rs`), so a swapped profile cannot pass unseen.

use crate::bench::{self, Workload};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, WorkerGlobalScope};

/// How the worker's wasm was built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// opt-level 3 and `wasm-opt -O3` (`bench_worker`): the native binary's optimisation goal.
    Speed,
    /// opt-level z and `wasm-opt -Oz` (`bench_worker_app`): the app's own build.
    App,
}

impl Build {
    /// Its name in the figures (`build`) and in the page's `?build=` parameter.
    pub fn name(self) -> &'static str {
        match self {
            Build::Speed => "speed",
            Build::App => "app",
        }
    }
}

/// Runs `workload` (`"a"`, `"b"`, `"c"` or `"d"`) with `amount` records (a–c) or seeds (d), timed
/// by `clock` (seconds), and returns its figures as JSON, with the wasm memory size afterwards and
/// `build`'s name.
pub fn run(workload: &str, amount: u32, build: Build, clock: &mut dyn FnMut() -> f64) -> Result<String, String> {
    let workload = Workload::ALL
        .into_iter()
        .find(|w| w.name() == workload)
        .ok_or_else(|| format!("workload: unknown {workload:?}: use a, b, c or d"))?;
    let figures = match workload {
        Workload::Swarm => bench::run_swarm(u64::from(amount.max(1)), clock),
        _ => bench::run_records(workload, u64::from(amount.max(1)), clock),
    }?;
    let memory = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>();
    let bytes = memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    let mut value = serde_json::to_value(&figures).map_err(|e| e.to_string())?;
    value["wasm_memory_bytes"] = serde_json::json!(bytes);
    value["build"] = serde_json::json!(build.name());
    value["opt_level"] = serde_json::json!(env!("BROKERSCOPE_OPT_LEVEL"));
    Ok(value.to_string())
}

/// Reads `{workload, amount}` from a message; the error names the field.
fn request(data: &JsValue) -> Result<(String, u32), String> {
    let field = |name: &str| js_sys::Reflect::get(data, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    let workload = field("workload").as_string().ok_or("workload: expected a string (a, b, c or d)")?;
    let amount = field("amount").as_f64().ok_or("amount: expected a number of records or seeds")?;
    if !(1.0..=f64::from(u32::MAX)).contains(&amount) || amount.fract() != 0.0 {
        return Err(format!("amount: {amount} is not a whole number in 1..={}", u32::MAX));
    }
    Ok((workload, amount as u32))
}

/// One reply: `{key: value}`.
fn reply(scope: &DedicatedWorkerGlobalScope, key: &str, value: &JsValue) {
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &JsValue::from_str(key), value);
    let _ = scope.post_message(&message);
}

/// Listens for benchmark requests in this worker, built as `build` says, and says it is ready.
pub fn start(build: Build) {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let listener = scope.clone();
    let onmessage = Closure::<dyn Fn(MessageEvent)>::new(move |message: MessageEvent| {
        let performance = listener.unchecked_ref::<WorkerGlobalScope>().performance();
        let mut clock = || performance.as_ref().map_or(0.0, |p| p.now() / 1000.0);
        match request(&message.data()).and_then(|(workload, amount)| run(&workload, amount, build, &mut clock)) {
            Ok(figures) => reply(&listener, "figures", &JsValue::from_str(&figures)),
            Err(error) => reply(&listener, "error", &JsValue::from_str(&error)),
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    reply(&scope, "ready", &JsValue::TRUE);
}
