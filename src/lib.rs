//! # brokerscope
//!
//! Apache Kafka's producer, broker and consumer internals as a deterministic simulation.
//!
//! - [`sim`] is the sans-IO core: simulated time, a seeded random stream forked per subsystem,
//!   an event queue ordered by `(time, insertion)`, a simulated network with per-link faults,
//!   brokers, producers and consumers as state machines, and one typed trace.
//! - [`scenario`] parses scenario files (JSON with Kafka's property names) into a validated
//!   [`sim::scenario::Scenario`].
//! - `cli` (native) and `ui` (wasm32) are thin hosts over the same core.
//!
//! ## The run loop
//!
//! ```
//! use brokerscope::{scenario, sim::{Sim, time::SimTime}};
//! let scenario = scenario::parse_json(scenario::HELLO_JSON).unwrap();
//! let mut sim = Sim::new(&scenario, scenario.seed);
//! sim.run_until(SimTime::from_ms(500), 1_000_000);  // mutate…
//! let events = sim.drain_trace();                    // …then drain
//! assert!(!events.is_empty());
//! println!("{}", events[0]);                          // one line per event
//! ```
//!
//! Same scenario + seed ⇒ same trace and the same [`sim::Sim::trace_hash`], natively and in
//! the browser. Errors are for inputs (scenario files, actions); assertions are for bugs.

#![deny(missing_docs)]
#![cfg_attr(all(test, target_arch = "wasm32"), allow(unused_imports))]

pub mod assign_json;
pub mod batch_json;
pub mod bench;
pub mod metrics;
pub mod playback;
pub mod run_link;
pub mod scenario;
pub mod seed_search;
pub mod sim;
pub mod suggest;
pub mod summary;
pub mod swarm;
pub mod timeline;
pub mod url_params;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;

#[cfg(target_arch = "wasm32")]
pub mod ui;

#[cfg(target_arch = "wasm32")]
pub mod web_store;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
