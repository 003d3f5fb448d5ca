//! Same scenario + seed ⇒ same trace, natively and in the browser.
//!
//! `tests/golden/hello_seed1.hash` holds the trace hash of `hello.json` with seed 1 run to its
//! end. This file runs natively (`cargo test`) and in headless Chromium (`cargo test --target
//! wasm32-unknown-unknown`), and the e2e suite compares the app's hash with the same file, so
//! any platform difference (float use, iteration order, word size) fails one of them.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerscope::scenario::{parse_json, HELLO_JSON};
use brokerscope::sim::rng::SimRng;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::Sim;

const GOLDEN: &str = include_str!("golden/hello_seed1.hash");

/// `hello.json` with `seed`, run in one go to `until_ms`.
fn hello_run(seed: u64, until_ms: u64) -> Sim {
    let mut sim = Sim::new(&parse_json(HELLO_JSON).unwrap(), seed);
    sim.run_until(SimTime::from_ms(until_ms), u64::MAX);
    sim
}

fn hash_of(seed: u64, until_ms: u64) -> String {
    let scenario = parse_json(HELLO_JSON).unwrap();
    let mut sim = Sim::new(&scenario, seed);
    sim.set_trace_capture(false);
    sim.run_until(SimTime::from_ms(until_ms), u64::MAX);
    sim.trace_hash().hex()
}

#[test]
fn hello_seed_1_matches_the_golden_hash_on_this_platform() {
    assert_eq!(hash_of(1, 10_000), GOLDEN.trim());
}

#[test]
fn same_seed_same_trace_different_seed_different_trace() {
    assert_eq!(hash_of(7, 3_000), hash_of(7, 3_000));
    assert_ne!(hash_of(7, 3_000), hash_of(8, 3_000));
}

#[test]
fn slicing_the_run_does_not_change_the_trace() {
    let mut whole = hello_run(3, 2_000);
    let mut sliced = Sim::new(&parse_json(HELLO_JSON).unwrap(), 3);
    for ms in (7..=2_000).step_by(7).chain([2_000]) {
        sliced.run_until(SimTime::from_ms(ms), u64::MAX);
    }
    assert_eq!(whole.drain_trace(), sliced.drain_trace());
    assert_eq!(whole.trace_hash(), sliced.trace_hash());
}

#[test]
fn prng_first_draws_are_platform_independent() {
    // xoshiro256** seeded by splitmix64(1): computed once and asserted in both worlds.
    let mut rng = SimRng::new(1);
    let draws: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
    let mut again = SimRng::new(1);
    assert_eq!(draws, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
    assert_eq!(draws[0], include_str!("golden/prng_seed1_first.u64").trim().parse::<u64>().unwrap());
}

#[test]
fn turning_the_trace_hash_off_does_not_change_the_run() {
    let mut hashed = hello_run(5, 3_000);
    let mut unhashed = Sim::new(&parse_json(HELLO_JSON).unwrap(), 5);
    unhashed.disable_trace_hash();
    unhashed.run_until(SimTime::from_ms(3_000), u64::MAX);
    assert_eq!(hashed.steps(), unhashed.steps());
    let trace = hashed.drain_trace();
    assert!(trace.len() > 100, "the run did something: {} events", trace.len());
    assert_eq!(trace, unhashed.drain_trace());
}

// Checked natively (the browser build aborts on a panic).
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[should_panic(expected = "trace hashing was turned off")]
fn a_run_without_its_hash_cannot_report_one() {
    let mut sim = Sim::new(&parse_json(HELLO_JSON).unwrap(), 1);
    sim.disable_trace_hash();
    sim.run_until(SimTime::from_ms(100), u64::MAX);
    let _ = sim.trace_hash();
}

#[test]
fn draining_into_a_reused_buffer_yields_the_same_events() {
    let mut whole = hello_run(4, 2_000);
    let mut sliced = Sim::new(&parse_json(HELLO_JSON).unwrap(), 4);
    let (mut buffer, mut events) = (Vec::new(), Vec::new());
    for ms in (50..=2_000).step_by(50) {
        sliced.run_until(SimTime::from_ms(ms), u64::MAX);
        sliced.drain_trace_into(&mut buffer);
        events.append(&mut buffer);
    }
    let want = whole.drain_trace();
    assert!(want.len() > 100, "the run did something: {} events", want.len());
    assert_eq!(events, want);
}
