//! The seed swarm (TigerBeetle's VOPR): from one seed, a random fault schedule over a scenario
//! — broker crashes of both kinds and restarts, symmetric and asymmetric link cuts, latency
//! spikes, packet loss, consumer crashes and leaves — with a minimum stability time between
//! faults, then a liveness phase in which every fault is healed and the cluster must converge.
//! Schedules are scenario-file events (JSON), so a failing one (after [`shrink`]) is a scenario
//! file anyone can open in the app or the CLI.

use crate::scenario::{from_value, ScenarioError};
use crate::sim::check::AckedCheck;
use crate::sim::collections::sort_by_key;
use crate::sim::invariants::{Violation, ViolationKind};
use crate::sim::rng::SimRng;
use crate::sim::time::SimTime;
use crate::sim::Sim;
use serde_json::{json, Value};

/// How aggressive the schedule is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwarmConfig {
    /// The final stretch with every fault healed, in which the cluster must converge.
    pub liveness_ms: u64,
    /// Least time between two faults starting.
    pub stability_ms: u64,
    /// Longest a fault lasts.
    pub fault_max_ms: u64,
}

impl Default for SwarmConfig {
    fn default() -> SwarmConfig {
        SwarmConfig { liveness_ms: 20_000, stability_ms: 1_500, fault_max_ms: 6_000 }
    }
}

/// One fault: the events that start and end it (kept together when shrinking).
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// Scenario-file events, in time order.
    pub events: Vec<Value>,
}

/// The fault schedule of `seed` for the scenario `base` (a scenario file's JSON).
pub fn fault_schedule(base: &Value, seed: u64, config: SwarmConfig) -> Vec<Fault> {
    let mut rng = SimRng::new(seed).fork("swarm");
    let duration = base["duration_ms"].as_u64().unwrap_or(0);
    let brokers = base["brokers"].as_u64().unwrap_or(1) as u16;
    let consumers: Vec<String> =
        (1..=base["consumers"].as_array().map_or(0, Vec::len)).map(|i| format!("consumer-{i}")).collect();
    let end = duration.saturating_sub(config.liveness_ms);
    let mut faults = vec![];
    let mut at = 1000 + rng.below(config.stability_ms.max(1));
    // One broker down at a time keeps a safe configuration safe; links and clients fail freely.
    let mut broker_free_at = 0;
    while at + 500 < end {
        let length = 500 + rng.below(config.fault_max_ms.saturating_sub(500).max(1));
        let until = (at + length).min(end);
        let pick = rng.below(8);
        let fault = match pick {
            0 | 1 if brokers > 1 && at >= broker_free_at => {
                let broker = 1 + rng.below(u64::from(brokers));
                let kind = if pick == 0 { "process" } else { "machine" };
                broker_free_at = until + config.stability_ms;
                vec![
                    json!({"at_ms": at, "action": "crash_broker", "broker": broker, "kind": kind}),
                    json!({"at_ms": until, "action": "restart_broker", "broker": broker}),
                ]
            }
            2 | 3 if brokers > 1 => {
                let a = 1 + rng.below(u64::from(brokers));
                let b = 1 + (a + rng.below(u64::from(brokers) - 1)) % u64::from(brokers);
                let both = pick == 2;
                let (from, to) = (format!("broker-{a}"), format!("broker-{b}"));
                vec![
                    json!({"at_ms": at, "action": "cut_link", "from": from, "to": to, "both": both}),
                    json!({"at_ms": until, "action": "heal_link", "from": from, "to": to, "both": both}),
                ]
            }
            4 | 5 if brokers > 1 => {
                let a = 1 + rng.below(u64::from(brokers));
                let b = 1 + (a + rng.below(u64::from(brokers) - 1)) % u64::from(brokers);
                let (from, to) = (format!("broker-{a}"), format!("broker-{b}"));
                let spike = if pick == 4 {
                    json!({"latency_ms": 100 + rng.below(900)})
                } else {
                    json!({"loss": format!("{}%", 5 + rng.below(25))})
                };
                let mut start = json!({"at_ms": at, "action": "set_link", "from": from, "to": to, "both": true});
                for (k, v) in spike.as_object().expect("object") {
                    start[k] = v.clone();
                }
                let latency = base["network"]["latency_ms"].as_u64().unwrap_or(1);
                vec![
                    start,
                    json!({"at_ms": until, "action": "set_link", "from": from, "to": to, "both": true,
                           "latency_ms": latency, "loss": "0%"}),
                ]
            }
            6 | 7 if !consumers.is_empty() => {
                let c = &consumers[rng.below(consumers.len() as u64) as usize];
                let action = if pick == 6 { "consumer_crash" } else { "consumer_leave" };
                vec![
                    json!({"at_ms": at, "action": action, "consumer": c}),
                    json!({"at_ms": until, "action": "consumer_join", "consumer": c}),
                ]
            }
            _ => vec![],
        };
        if !fault.is_empty() {
            faults.push(Fault { events: fault });
        }
        at += config.stability_ms + rng.below(config.stability_ms * 2);
    }
    faults
}

/// The scenario `base` with `faults` added and, at the start of the liveness phase, every link
/// healed, every broker restarted and every consumer running.
pub fn with_faults(base: &Value, faults: &[Fault], config: SwarmConfig) -> Value {
    let mut v = base.clone();
    let mut events: Vec<Value> = v["events"].as_array().cloned().unwrap_or_default();
    events.extend(faults.iter().flat_map(|f| f.events.iter().cloned()));
    let heal = base["duration_ms"].as_u64().unwrap_or(0).saturating_sub(config.liveness_ms);
    events.push(json!({"at_ms": heal, "action": "heal_all"}));
    for b in 1..=base["brokers"].as_u64().unwrap_or(1) {
        events.push(json!({"at_ms": heal, "action": "restart_broker", "broker": b}));
    }
    for c in 1..=base["consumers"].as_array().map_or(0, Vec::len) {
        events.push(json!({"at_ms": heal, "action": "consumer_join", "consumer": format!("consumer-{c}")}));
    }
    sort_by_key(&mut events, |e| e["at_ms"].as_u64().unwrap_or(0));
    v["events"] = Value::Array(events);
    v
}

/// Runs `scenario` (JSON) with `seed`; the checks carry every violation: the safety checkers'
/// and, at the end of the liveness phase, what has not converged (under-replicated partitions,
/// groups not Stable, acknowledged records without a live leader).
pub fn check(scenario: &Value, seed: u64) -> Result<AckedCheck, ScenarioError> {
    let s = from_value(scenario)?;
    let mut sim = Sim::new(&s, seed);
    sim.set_trace_capture(false);
    sim.disable_trace_hash();
    sim.run_until(SimTime::from_ms(s.duration_ms), u64::MAX);
    let mut checks = sim.checks();
    let (seq, at_ms) = (sim.trace_len(), sim.now().as_ms());
    let mut liveness = vec![];
    let mut stuck = |message: String| liveness.push(Violation { kind: ViolationKind::Liveness, seq, at_ms, message });
    if checks.acked_unavailable > 0 {
        stuck(format!("{} acknowledged records have no live leader after the heal", checks.acked_unavailable));
    }
    let view = sim.view();
    for b in &view.brokers {
        let under = b
            .replicas
            .iter()
            .filter(|r| b.alive && r.leader == Some(b.id.number) && r.isr.len() < r.replicas.len())
            .count();
        if under > 0 {
            stuck(format!("{}: {under} under-replicated partitions after the heal", b.id));
        }
    }
    // Every acknowledged record is consumable: below its leader's HW.
    let hw = view.leader_high_watermarks();
    for (tp, offset) in sim.acked_high_offsets() {
        if hw.get(tp.to_string().as_str()).is_some_and(|h| *h <= offset) {
            stuck(format!("{tp}: acknowledged offset {offset} is not below the HW after the heal"));
        }
    }
    for g in &view.groups {
        if g.state != "Stable" {
            stuck(format!("group {} is {} (generation {}) after the heal", g.group, g.state, g.generation));
        }
    }
    checks.violations.extend(liveness);
    Ok(checks)
}

/// Whether a run broke a safety rule: lost an acknowledged record, or broke any rule but the
/// liveness check (which only says the cluster had not converged when the run ended).
pub fn broke_safety(check: &AckedCheck) -> bool {
    check.acked_lost > 0 || check.violations.iter().any(|v| v.kind != ViolationKind::Liveness)
}

/// Delta debugging over whole faults: drops every fault whose removal keeps the run failing
/// (breaking any rule), until no single fault can go. Returns the faults left.
pub fn shrink(base: &Value, seed: u64, faults: Vec<Fault>, config: SwarmConfig) -> Vec<Fault> {
    shrink_keeping(base, seed, faults, config, |c| !c.violations.is_empty())
}

/// [`shrink`] keeping the failure `still_fails` says the run has (a safety failure stays one,
/// rather than shrinking into a run that only fails to converge).
pub fn shrink_keeping(
    base: &Value,
    seed: u64,
    faults: Vec<Fault>,
    config: SwarmConfig,
    still_fails: impl Fn(&AckedCheck) -> bool,
) -> Vec<Fault> {
    let fails = |f: &[Fault]| check(&with_faults(base, f, config), seed).is_ok_and(|c| still_fails(&c));
    let mut kept = faults;
    loop {
        let mut changed = false;
        let mut i = 0;
        while i < kept.len() {
            let mut fewer = kept.clone();
            fewer.remove(i);
            if fails(&fewer) {
                kept = fewer;
                changed = true;
            } else {
                i += 1;
            }
        }
        if !changed {
            return kept;
        }
    }
}
