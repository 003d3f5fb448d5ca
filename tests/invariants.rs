//! The safety checkers: they stay silent on safe configurations across seeds, and they fire on
//! unsafe ones (acks=1 with a leader crash, unclean election) and on a deliberately broken rule.
//! A checker that can never fire is a defect, so each kind that matters is made to fire here.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerscope::scenario::from_value;
use brokerscope::sim::broker::BrokenRule;
use brokerscope::sim::check::AckedCheck;
use brokerscope::sim::invariants::ViolationKind;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::trace::TraceKind;
use brokerscope::sim::Sim;
use serde_json::{json, Value};

/// One partition, RF 3, broker-1 leads and its replication links are slow (150 ms each way);
/// broker-1's process crashes at 3 s and comes back at 8 s.
fn leader_crash(acks: &str, broker_config: Value, producer: Value) -> Value {
    let mut brokers = json!({
        "replica.lag.time.max.ms": 2000, "broker.session.timeout.ms": 3000,
        "broker.heartbeat.interval.ms": 500, "leader.imbalance.check.interval.seconds": 5
    });
    for (k, v) in broker_config.as_object().unwrap() {
        brokers[k] = v.clone();
    }
    let mut config = json!({"acks": acks, "linger.ms": 5, "request.timeout.ms": 3000});
    for (k, v) in producer.as_object().unwrap() {
        config[k] = v.clone();
    }
    json!({
        "duration_ms": 20000, "brokers": 3, "broker_config": brokers,
        "network": {"latency_ms": 5, "jitter_ms": 2, "links": [
            {"from": "broker-1", "to": "broker-2", "both": true, "latency_ms": 150},
            {"from": "broker-1", "to": "broker-3", "both": true, "latency_ms": 150}]},
        "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3}],
        "producers": [{"id": "p", "config": config,
            "workload": {"topic": "orders", "records": 1500, "rate_per_sec": 200, "key": "order-{i%9}",
                         "value_bytes": 100, "start_ms": 100}}],
        "events": [
            {"at_ms": 3000, "action": "crash_broker", "broker": 1},
            {"at_ms": 8000, "action": "restart_broker", "broker": 1}
        ]
    })
}

fn checks(v: &Value, seed: u64, broken: Option<BrokenRule>) -> (AckedCheck, Sim) {
    let s = from_value(v).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::new(&s, seed);
    if let Some(rule) = broken {
        sim.break_rule_for_tests(rule);
    }
    sim.run_until(SimTime::from_ms(s.duration_ms), 20_000_000);
    (sim.checks(), sim)
}

fn kinds(c: &AckedCheck) -> Vec<ViolationKind> {
    let mut k: Vec<ViolationKind> = c.violations.iter().map(|v| v.kind).collect();
    k.dedup();
    k
}

#[test]
fn the_safe_configuration_shows_no_violation_across_seeds() {
    let v = leader_crash("all", json!({"min.insync.replicas": 2}), json!({}));
    for seed in 1..=6 {
        let (c, _) = checks(&v, seed, None);
        assert!(c.acked > 1000, "seed {seed}: {}", c.acked);
        assert!(c.violations.is_empty(), "seed {seed}: {:?}", c.violations);
        assert_eq!((c.duplicates, c.reordered), (0, 0), "seed {seed}: idempotence");
    }
}

#[test]
fn acks_1_with_a_leader_crash_is_caught_within_a_few_seeds() {
    let v = leader_crash("1", json!({"min.insync.replicas": 2}), json!({"enable.idempotence": false}));
    let caught = (1..=5).find_map(|seed| {
        let (c, _) = checks(&v, seed, None);
        c.violations.iter().find(|x| x.kind == ViolationKind::AckedLost).cloned().map(|x| (seed, x))
    });
    let (seed, v) = caught.expect("acks=1 loses acknowledged records within 5 seeds");
    assert!(v.message.contains("allowed by p: acks=1"), "seed {seed}: {}", v.message);
}

#[test]
fn a_broken_hw_rule_is_caught_when_a_lagging_follower_is_elected() {
    // With the HW following the leader's LEO alone, records count as committed before the
    // followers (150 ms away) have them; the clean election then picks a follower without
    // them: the new leader starts below the old HW.
    // A consumer reads below the (wrong) HW: what it read disappears too.
    let mut v = leader_crash("all", json!({"min.insync.replicas": 2}), json!({}));
    v["consumers"] = json!([{"id": "c", "partitions": ["orders-0"], "config": {"auto.offset.reset": "earliest"}}]);
    let (sound, _) = checks(&v, 1, None);
    assert!(sound.violations.is_empty(), "{:?}", sound.violations);
    let (broken, mut sim) = checks(&v, 1, Some(BrokenRule::HwIgnoresFollowers));
    let kinds = kinds(&broken);
    assert!(kinds.contains(&ViolationKind::CommittedLostOnElection), "{:?}", broken.violations);
    assert!(kinds.contains(&ViolationKind::AckedLost), "{:?}", broken.violations);
    let read = broken.violations.iter().find(|v| v.kind == ViolationKind::ConsistentRead).expect("consistent read");
    // What the consumer read past the new leader's start is no longer there: gone, or (once the
    // idempotent producer, refused with OUT_OF_ORDER_SEQUENCE_NUMBER by the new leader, bumps its
    // epoch and goes on) replaced by other records at the same offsets.
    let message = &read.message;
    assert!(message.starts_with("orders-0: consumer-1 read records that are no longer there"), "{message}");
    let counts: Vec<u64> = message
        .split_once("no longer there: ")
        .map(|(_, rest)| rest.split([' ', ',']).filter_map(|w| w.parse().ok()).take(2).collect())
        .unwrap_or_default();
    assert!(counts.len() == 2 && counts[0] > 0, "records at those offsets changed: {message}: {counts:?}");
    // The live violation is also a trace event at the point it became true.
    let first = broken.violations.iter().find(|v| v.kind == ViolationKind::CommittedLostOnElection).unwrap();
    let trace = sim.drain_trace();
    let at = trace.iter().find(|e| e.seq == first.seq).expect("the event where it became true");
    assert!(matches!(at.kind, TraceKind::BecameLeader { .. }), "{:?}", at.kind);
    assert!(trace.iter().any(|e| matches!(
        &e.kind,
        TraceKind::InvariantViolated { check: ViolationKind::CommittedLostOnElection, .. }
    )));
}

#[test]
fn an_unclean_election_is_reported_with_the_setting_that_allows_it() {
    let v = json!({
        "duration_ms": 16000, "brokers": 3,
        "broker_config": {"unclean.leader.election.enable": true, "replica.lag.time.max.ms": 2000,
                          "broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 500},
        "network": {"latency_ms": 5},
        "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3}],
        "producers": [{"id": "p", "config": {"acks": "all", "linger.ms": 5},
            "workload": {"topic": "orders", "records": 1500, "rate_per_sec": 200, "key": "k{i}", "value_bytes": 50, "start_ms": 100}}],
        "events": [
            {"at_ms": 1000, "action": "cut_link", "from": "broker-1", "to": "broker-2", "both": true},
            {"at_ms": 1000, "action": "cut_link", "from": "broker-1", "to": "broker-3", "both": true},
            {"at_ms": 6000, "action": "crash_broker", "broker": 1},
            {"at_ms": 6000, "action": "heal_all"}
        ]
    });
    let (c, _) = checks(&v, 1, None);
    let lost = c.violations.iter().find(|v| v.kind == ViolationKind::AckedLost).expect("records lost");
    assert!(lost.message.contains("unclean.leader.election.enable"), "{}", lost.message);
    // The unclean election itself is allowed: no CommittedLostOnElection.
    assert!(!kinds(&c).contains(&ViolationKind::CommittedLostOnElection), "{:?}", c.violations);
}

#[test]
fn duplicates_are_counted_without_idempotence_and_absent_with_it() {
    // The leader's answers to the producer are cut for a while: requests time out and are
    // retried, though the leader appended them. Without idempotence the retries append again.
    let v = |idempotent: bool| {
        json!({
            "duration_ms": 15000, "brokers": 1, "network": {"latency_ms": 2},
            "topics": [{"name": "t", "partitions": 1, "replication_factor": 1}],
            "producers": [{"id": "p", "config": {"acks": "all", "linger.ms": 5, "request.timeout.ms": 500,
                    "max.in.flight.requests.per.connection": 5, "enable.idempotence": idempotent},
                "workload": {"topic": "t", "records": 600, "rate_per_sec": 100, "value_bytes": 20}}],
            "events": [
                {"at_ms": 2000, "action": "cut_link", "from": "broker-1", "to": "producer-1"},
                {"at_ms": 2600, "action": "heal_link", "from": "broker-1", "to": "producer-1"}
            ]
        })
    };
    let (plain, _) = checks(&v(false), 1, None);
    assert!(plain.duplicates > 0, "retries appended again: {}", plain.duplicates);
    assert!(plain.violations.is_empty(), "legal without idempotence: {:?}", plain.violations);
    let (idem, _) = checks(&v(true), 1, None);
    assert_eq!(idem.duplicates, 0, "the broker recognised the retried sequence numbers");
    assert!(idem.violations.is_empty(), "{:?}", idem.violations);
}
