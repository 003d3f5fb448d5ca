//! Long runs keep memory bounded by retention: the checkers forget acknowledged and returned
//! records once retention has removed them from every replica, and still count them.

use brokerscope::scenario::from_value;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::{Node, Sim};
use serde_json::json;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const RECORDS: u64 = 60_000;

fn scenario() -> serde_json::Value {
    json!({
        "name": "retention bounds the checkers", "duration_ms": 3000, "brokers": 3,
        "broker_config": { "min.insync.replicas": 2, "offsets.topic.num.partitions": 1,
                           "group.initial.rebalance.delay.ms": 0, "log.retention.check.interval.ms": 100,
                           "log.initial.task.delay.ms": 0 },
        "network": { "latency_ms": 1, "jitter_ms": 0 },
        "topics": [ { "name": "t", "partitions": 2, "replication_factor": 3,
                      "config": { "segment.bytes": 1_048_576, "retention.bytes": 1_048_576 } } ],
        "producers": [ { "id": "producer-1", "config": { "acks": "all", "linger.ms": 5 },
            "workload": { "topic": "t", "records": RECORDS, "rate_per_sec": 100_000, "key": "k-{i}", "value_bytes": 100 } } ],
        "consumers": [ { "id": "consumer-1", "group": "g", "topics": ["t"], "config": { "auto.offset.reset": "earliest" } } ]
    })
}

#[test]
fn retention_prunes_check_history_and_keeps_the_counts() {
    let s = from_value(&scenario()).unwrap();
    let mut sim = Sim::new(&s, 1);
    sim.set_trace_capture(false);
    sim.run_until(SimTime::from_ms(s.duration_ms), u64::MAX);
    let producer = sim.node_ids().find_map(|id| match sim.node(id) {
        Some(Node::Producer(p)) => Some(p),
        _ => None,
    });
    let producer = producer.expect("one producer");
    assert_eq!(producer.acked_count(), RECORDS, "every record acknowledged and counted");
    // ~8,000 of these records fill a 1 MiB segment and retention keeps at most two segments a
    // partition: the simulation pruned as it ran, without being asked.
    assert!(producer.acked().len() < 45_000, "{} acknowledgements kept", producer.acked().len());
    let consumer = sim.node_ids().find_map(|id| match sim.node(id) {
        Some(Node::Consumer(c)) => Some(c),
        _ => None,
    });
    let kept: usize = consumer.expect("one consumer").returned().values().map(Vec::len).sum();
    assert!(kept < 45_000, "{kept} returned records kept");
    // An explicit pass keeps exactly the records at or above the lowest log start offset.
    let lowest = |sim: &Sim, partition: u32| {
        let tp = format!("t-{partition}");
        let view = sim.view();
        let starts = view.brokers.iter().flat_map(|b| &b.replicas).filter(|r| r.tp == tp).map(|r| r.log_start_offset);
        starts.min().expect("replicas")
    };
    let (low0, low1) = (lowest(&sim, 0), lowest(&sim, 1));
    assert!(low0 > 0 && low1 > 0, "retention ran on every replica: {low0}, {low1}");
    sim.prune_check_history();
    let producer = sim.node_ids().find_map(|id| match sim.node(id) {
        Some(Node::Producer(p)) => Some(p),
        _ => None,
    });
    let acked = producer.expect("one producer").acked();
    assert!(acked.iter().all(|a| a.offset >= if a.partition == 0 { low0 } else { low1 }));
    let held = |p: u32| acked.iter().filter(|a| a.partition == p).count() as i64;
    let hw = |p: u32| {
        sim.view()
            .brokers
            .iter()
            .flat_map(|b| &b.replicas)
            .find(|r| r.tp == format!("t-{p}") && r.leader.is_some())
            .map_or(0, |r| r.log_end_offset)
    };
    assert_eq!(held(0), hw(0) - low0, "partition 0 keeps exactly the records still on some replica");
    assert_eq!(held(1), hw(1) - low1);
    let checks = sim.checks();
    assert_eq!(checks.acked, RECORDS);
    assert_eq!(checks.acked_lost, 0);
    assert!(checks.violations.is_empty(), "{:?}", checks.violations);
}
