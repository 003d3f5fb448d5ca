//! Functions exported to JavaScript with wasm-bindgen (trunk exposes them as
//! `window.wasmBindings`).

use wasm_bindgen::prelude::*;

/// A simulation driven from JavaScript: the same core and the same errors as the CLI.
///
/// ```js
/// const sim = new wasmBindings.Simulation(scenarioObjectOrJson, 7); // seed: optional
/// sim.subscribe((event) => console.log(event.kind));                // every new trace event
/// sim.step();                                                         // one event
/// sim.runUntil(2000);                                                 // simulated ms
/// sim.view();  sim.trace(0);  sim.summary();  sim.traceHash();
/// ```
#[wasm_bindgen]
pub struct Simulation {
    sim: crate::sim::Sim,
    /// The most recent events, oldest first (at most [`TRACE_KEPT`]).
    recent: std::collections::VecDeque<crate::sim::trace::TraceEvent>,
    listeners: Vec<js_sys::Function>,
    last_stop: crate::sim::RunStop,
}

/// Trace events a [`Simulation`] keeps for `trace()`; subscribers see every event.
pub const TRACE_KEPT: usize = 10_000;

fn json_to_js(text: &str) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(text)
}

#[wasm_bindgen]
impl Simulation {
    /// Validates `scenario` (an object or a JSON string, with Kafka's property names) and
    /// creates the simulation; throws the CLI's one-line error on bad input. `seed` defaults to
    /// the scenario's.
    #[wasm_bindgen(constructor)]
    pub fn new(scenario: JsValue, seed: Option<f64>) -> Result<Simulation, JsValue> {
        let text = match scenario.as_string() {
            Some(text) => text,
            None => js_sys::JSON::stringify(&scenario)?.as_string().ok_or("scenario: not JSON-serialisable")?,
        };
        let scenario = crate::scenario::parse_json(&text).map_err(|e| JsValue::from_str(&e.to_string()))?;
        let seed = match seed {
            None => scenario.seed,
            Some(s) if s >= 0.0 && s.fract() == 0.0 && s <= 9_007_199_254_740_991.0 => s as u64,
            Some(s) => {
                // JavaScript's own spelling of the number (and no float formatting in the wasm).
                let shown = js_sys::Number::from(s).to_string_with_radix(10).map(String::from).unwrap_or_default();
                return Err(JsValue::from_str(&format!("seed: {shown} is not a whole number in 0..=2^53-1")));
            }
        };
        Ok(Simulation {
            sim: crate::sim::Sim::new(&scenario, seed),
            recent: Default::default(),
            listeners: vec![],
            last_stop: crate::sim::RunStop::Idle,
        })
    }

    /// Calls `listener(event)` with every trace event from now on (plain objects, as the CLI's
    /// `--trace` JSON lines).
    pub fn subscribe(&mut self, listener: js_sys::Function) {
        self.listeners.push(listener);
    }

    /// Processes one event; false when nothing is left before the scenario's end.
    pub fn step(&mut self) -> Result<bool, JsValue> {
        let end = crate::sim::time::SimTime::from_ms(self.sim.scenario().duration_ms);
        let stepped = self.sim.step_until(end);
        self.publish()?;
        Ok(stepped)
    }

    /// Runs to `ms` of simulated time (capped at the scenario's end); returns why it stopped:
    /// `"deadline"`, `"idle"` or `"steps_max"`.
    #[wasm_bindgen(js_name = runUntil)]
    pub fn run_until(&mut self, ms: f64) -> Result<String, JsValue> {
        let target = (ms.max(0.0) as u64).min(self.sim.scenario().duration_ms);
        let stop = self.sim.run_until(crate::sim::time::SimTime::from_ms(target), u64::MAX);
        self.last_stop = stop;
        self.publish()?;
        Ok(stop.name().to_string())
    }

    /// Simulated time now, in ms.
    #[wasm_bindgen(js_name = nowMs)]
    pub fn now_ms(&self) -> f64 {
        self.sim.now().as_ns() as f64 / 1e6
    }

    /// The cluster as the viewer draws it: brokers and replicas (LEO, HW, ISR, epochs),
    /// producers' accumulators, consumers and groups.
    pub fn view(&self) -> Result<JsValue, JsValue> {
        json_to_js(&serde_json::to_string(&self.sim.view()).map_err(|e| JsValue::from_str(&e.to_string()))?)
    }

    /// The kept trace events with `seq >= since` (the newest [`TRACE_KEPT`] at most).
    pub fn trace(&self, since: f64) -> Result<JsValue, JsValue> {
        let lines: Vec<String> =
            self.recent.iter().filter(|e| e.seq as f64 >= since).map(|e| e.to_json_line()).collect();
        json_to_js(&format!("[{}]", lines.join(",")))
    }

    /// What `brokerscope run --json` prints for the run so far (checks included).
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        let summary = crate::summary::RunSummary::new(&self.sim, self.last_stop);
        json_to_js(&serde_json::to_string(&summary).map_err(|e| JsValue::from_str(&e.to_string()))?)
    }

    /// The trace hash so far (16 hex digits): the same as the CLI's for the same scenario and seed.
    #[wasm_bindgen(js_name = traceHash)]
    pub fn trace_hash(&self) -> String {
        self.sim.trace_hash().hex()
    }

    fn publish(&mut self) -> Result<(), JsValue> {
        for event in self.sim.drain_trace() {
            if !self.listeners.is_empty() {
                let value = json_to_js(&event.to_json_line())?;
                for listener in &self.listeners {
                    listener.call1(&JsValue::NULL, &value)?;
                }
            }
            if self.recent.len() == TRACE_KEPT {
                self.recent.pop_front();
            }
            self.recent.push_back(event);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Simulation;
    use wasm_bindgen::JsValue;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_seed_that_is_not_a_whole_number_is_named_as_javascript_writes_it() {
        let hello = JsValue::from_str(crate::scenario::HELLO_JSON);
        for (seed, shown) in [(1.5, "1.5"), (-3.0, "-3"), (1e21, "1e+21"), (f64::NAN, "NaN")] {
            let Err(e) = Simulation::new(hello.clone(), Some(seed)) else { panic!("seed {seed} was accepted") };
            assert_eq!(e.as_string().unwrap(), format!("seed: {shown} is not a whole number in 0..=2^53-1"));
        }
        assert!(Simulation::new(hello, Some(7.0)).is_ok());
    }
}
