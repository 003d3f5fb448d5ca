//! Every Kafka property a scenario accepts, set to the extremes of the integers it might take:
//! whatever the validator lets through must run (no panic, no loop that never lets the clock
//! move) through a leader change and a consumer group's first rebalance. Two such bugs were
//! found this way: `leader.imbalance.check.interval.seconds` at its largest overflowed as
//! milliseconds, and a `request.timeout.ms` of 0 expired each request at the instant it left.
//!
//! Native only: the core is the same code in the browser, where this many runs would take
//! minutes of the browser suite.
#![cfg(not(target_arch = "wasm32"))]

use brokerscope::scenario::from_value;
use brokerscope::sim::config::{names, Scope};
use brokerscope::sim::time::SimTime;
use brokerscope::sim::{RunStop, Sim};
use serde_json::{json, Value};

/// Integer extremes: zero, one, minus one, and the largest `int`, `long` and unsigned `long`.
const EXTREMES: &[&str] = &["0", "1", "-1", "2147483647", "9223372036854775807", "18446744073709551615"];

/// Simulated time each accepted variant runs.
const RUN_MS: u64 = 4000;

/// Three brokers, a keyed producer, a consumer group, and broker 1 crashing and restarting.
fn base() -> Value {
    json!({
        "duration_ms": RUN_MS, "brokers": 3, "broker_config": {},
        "network": {"latency_ms": 2, "jitter_ms": 1},
        "topics": [{"name": "t", "partitions": 3, "replication_factor": 3, "config": {}}],
        "producers": [{"id": "p", "config": {},
            "workload": {"topic": "t", "records": 300, "rate_per_sec": 200, "key": "k{i}", "value_bytes": 50}}],
        "consumers": [{"id": "c", "group": "g", "topics": ["t"], "config": {"auto.offset.reset": "earliest"}}],
        "events": [
            {"at_ms": 1500, "action": "crash_broker", "broker": 1},
            {"at_ms": 2500, "action": "restart_broker", "broker": 1}
        ]
    })
}

/// Where a property of `scope` goes in [`base`].
fn config_map(scenario: &mut Value, scope: Scope) -> &mut Value {
    match scope {
        Scope::Broker => &mut scenario["broker_config"],
        Scope::Topic => &mut scenario["topics"][0]["config"],
        Scope::Producer => &mut scenario["producers"][0]["config"],
        Scope::Consumer => &mut scenario["consumers"][0]["config"],
    }
}

/// Runs the scenario with `name` = `value` in `scope`: `None` when the scenario is refused,
/// else how the run stopped or what it panicked with.
fn run_with(scope: Scope, name: &str, value: &str) -> Option<Result<RunStop, String>> {
    let mut v = base();
    config_map(&mut v, scope)[name] = json!(value);
    let scenario = from_value(&v).ok()?;
    let outcome = std::panic::catch_unwind(|| {
        let mut sim = Sim::new(&scenario, 1);
        sim.run_until(SimTime::from_ms(RUN_MS), 2_000_000)
    });
    Some(outcome.map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    }))
}

#[test]
fn every_accepted_extreme_value_runs_to_the_end() {
    let (mut accepted, mut failures) = (0, Vec::new());
    for scope in [Scope::Broker, Scope::Topic, Scope::Producer, Scope::Consumer] {
        for name in names(scope) {
            for value in EXTREMES {
                match run_with(scope, name, value) {
                    None => {}
                    Some(Ok(RunStop::StepsMax)) => {
                        failures.push(format!("{name} = {value}: 2,000,000 events before {RUN_MS} ms"))
                    }
                    Some(Ok(_)) => accepted += 1,
                    Some(Err(panic)) => failures.push(format!("{name} = {value}: panicked: {panic}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Most properties take an integer: far more than a handful of variants must have run.
    assert!(accepted > 200, "only {accepted} variants were accepted");
}
