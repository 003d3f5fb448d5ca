//! Functions exported to JavaScript with wasm-bindgen (trunk exposes them as
//! `window.wasmBindings`).

use crate::bench::{self, Workload};
use wasm_bindgen::prelude::*;

/// Runs a standard benchmark workload (`"a"`, `"b"`, `"c"` or `"d"`) in this page and returns its
/// figures as JSON: the fields of `brokerscope bench --json` plus `wasm_memory_bytes`, the
/// size of the WebAssembly memory afterwards. `amount` is records (a–c) or seeds (d).
#[wasm_bindgen(js_name = benchWorkload)]
pub fn bench_workload(workload: &str, amount: u32) -> Result<String, JsValue> {
    let workload = Workload::ALL
        .into_iter()
        .find(|w| w.name() == workload)
        .ok_or_else(|| JsValue::from_str(&format!("unknown workload {workload:?}: use a, b, c or d")))?;
    let performance = web_sys::window().and_then(|w| w.performance()).ok_or("no performance clock")?;
    let mut clock = || performance.now() / 1000.0;
    let figures = match workload {
        Workload::Swarm => bench::run_swarm(u64::from(amount.max(1)), &mut clock),
        _ => bench::run_records(workload, u64::from(amount.max(1)), &mut clock),
    }
    .map_err(|e| JsValue::from_str(&e))?;
    let memory = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>();
    let bytes = memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    let mut value = serde_json::to_value(&figures).map_err(|e| JsValue::from_str(&e.to_string()))?;
    value["wasm_memory_bytes"] = serde_json::json!(bytes);
    Ok(value.to_string())
}
