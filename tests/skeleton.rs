//! Scenario outcomes of the walking skeleton: produce → replicate → HW → consume, acks, min ISR,
//! crashes, link cuts and ISR shrink/expand. Each asserts what Kafka's rules predict.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerscope::scenario::from_value;
use brokerscope::sim::node::NodeId;
use brokerscope::sim::protocol::ErrorCode;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::trace::{TraceEvent, TraceKind};
use brokerscope::sim::{ClusterView, Sim};
use serde_json::{json, Value};

fn scenario(producer_config: Value, broker_config: Value, events: Value) -> Value {
    scenario_with(3, producer_config, broker_config, events)
}

/// `partitions` partitions of topic `t`, RF 3 on 3 brokers; leaders are broker-1, broker-2, ….
fn scenario_with(partitions: u32, producer_config: Value, broker_config: Value, events: Value) -> Value {
    json!({
        "duration_ms": 20000, "brokers": 3, "broker_config": broker_config,
        "network": {"latency_ms": 1},
        "topics": [{"name": "t", "partitions": partitions, "replication_factor": 3}],
        "producers": [{"id": "p", "config": producer_config,
            "workload": {"topic": "t", "records": 200, "rate_per_sec": 100, "key": "k{i}", "value_bytes": 50}}],
        "consumers": [{"id": "c", "group": "g", "topics": ["t"], "config": {"auto.offset.reset": "earliest"}}],
        "events": events
    })
}

fn run(v: Value, until_ms: u64) -> (ClusterView, Vec<TraceEvent>) {
    let s = from_value(&v).unwrap();
    let mut sim = Sim::new(&s, 11);
    sim.run_until(SimTime::from_ms(until_ms), 10_000_000);
    (sim.view(), sim.drain_trace())
}

fn leader_replica<'a>(view: &'a ClusterView, tp: &str) -> &'a brokerscope::sim::ReplicaView {
    view.brokers
        .iter()
        .flat_map(|b| b.replicas.iter().map(move |r| (b.id.number, r)))
        .find(|(id, r)| r.tp == tp && r.leader == Some(*id))
        .map(|(_, r)| r)
        .expect("every partition has a leader replica")
}

#[test]
fn every_record_is_acked_replicated_and_consumed() {
    let (view, trace) = run(scenario(json!({}), json!({}), json!([])), 20000);
    assert_eq!(view.producers[0].records_acked, 200);
    assert_eq!(view.consumers[0].records_consumed, 200);
    let total_leo: i64 = (0..3).map(|p| leader_replica(&view, &format!("t-{p}")).log_end_offset).sum();
    assert_eq!(total_leo, 200, "each record appended once on its leader");
    for b in &view.brokers {
        for r in &b.replicas {
            assert_eq!(r.log_end_offset, leader_replica(&view, &r.tp).log_end_offset, "{} on {} caught up", r.tp, b.id);
            assert_eq!(r.high_watermark, r.log_end_offset, "{} on {}: HW reached LEO", r.tp, b.id);
        }
    }
    // Keyed records land where Kafka's murmur2 puts them.
    let first = trace.iter().find_map(|e| match &e.kind {
        TraceKind::RecordAccumulated { tp, .. } => Some(tp.partition),
        _ => None,
    });
    assert_eq!(first, Some(brokerscope::sim::partitioner::partition_for_key(b"k0", 3)));
}

#[test]
fn acks_all_waits_for_followers_acks_1_does_not() {
    let latency = |acks: &str| {
        let (_, trace) = run(scenario(json!({"acks": acks, "linger.ms": 0}), json!({}), json!([])), 3000);
        let mut l: Vec<u64> = trace
            .iter()
            .filter_map(|e| match &e.kind {
                TraceKind::ProduceAcked { latency, .. } => Some(latency.as_ns()),
                _ => None,
            })
            .collect();
        l.sort_unstable();
        l[l.len() / 2]
    };
    let (all, one) = (latency("all"), latency("1"));
    // acks=1: one round trip (2 ms) plus the leader's handler time (50 µs per request + 2 µs
    // per KiB of a ~160-byte request). acks=all: the followers must fetch it and fetch again.
    assert!((2_050_000..2_052_000).contains(&one), "acks=1 median latency is one round trip: {one}");
    assert!(all >= 4_000_000, "acks=all median {all} ns should include a follower round trip");
}

#[test]
fn acks_0_completes_on_send_with_no_response() {
    let (view, trace) = run(scenario(json!({"acks": "0"}), json!({}), json!([])), 5000);
    assert_eq!(view.producers[0].records_acked, 200);
    assert!(trace.iter().all(|e| !matches!(&e.kind, TraceKind::MessageSent { api: "ProduceResponse", .. })));
    assert!(trace.iter().any(|e| matches!(&e.kind, TraceKind::ProduceAcked { base_offset: -1, .. })));
}

#[test]
fn crashed_follower_leaves_the_isr_then_rejoins_after_restart() {
    // Two partitions: broker-3 only follows, so no partition changes leader; leader crashes are
    // in tests/replication.rs.
    let events = json!([{"at_ms": 500, "action": "crash_broker", "broker": 3}, {"at_ms": 9000, "action": "restart_broker", "broker": 3}]);
    let (view, trace) = run(scenario_with(2, json!({}), json!({"replica.lag.time.max.ms": 2000}), events), 20000);
    let shrunk = trace
        .iter()
        .find(|e| matches!(&e.kind, TraceKind::IsrShrunk { removed: 3, .. }))
        .expect("broker-3 leaves an ISR");
    assert!(
        shrunk.at >= SimTime::from_ms(2500) && shrunk.at <= SimTime::from_ms(3600),
        "shrink after the lag time, on the lag/2 schedule: {}",
        shrunk.at
    );
    let expanded = trace
        .iter()
        .find(|e| matches!(&e.kind, TraceKind::IsrExpanded { added: 3, .. }))
        .expect("broker-3 rejoins an ISR");
    assert!(expanded.at > SimTime::from_ms(9000));
    assert_eq!(view.producers[0].records_acked, 200, "min ISR 1: acks=all continues without broker-3");
    for b in view.brokers.iter().filter(|b| b.id.number != 3) {
        for r in b.replicas.iter().filter(|r| r.leader == Some(b.id.number)) {
            assert_eq!(r.isr, [1, 2, 3], "{} ISR healed", r.tp);
        }
    }
}

#[test]
fn isr_below_min_insync_replicas_gives_not_enough_replicas() {
    // One partition led by broker-1; both followers die. Appends parked before the ISR shrank wait
    // for a HW that is frozen under min ISR, so they time out (as Kafka's DelayedProduce does);
    // retries after the shrink are refused before the append.
    let events = json!([{"at_ms": 100, "action": "crash_broker", "broker": 2}, {"at_ms": 100, "action": "crash_broker", "broker": 3}]);
    let config = json!({"min.insync.replicas": 2, "replica.lag.time.max.ms": 1000});
    let (view, trace) = run(scenario_with(1, json!({"request.timeout.ms": 1000}), config, events), 6000);
    let errors: Vec<ErrorCode> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::ProduceFailed { error, .. } => Some(*error),
            _ => None,
        })
        .collect();
    assert!(errors.contains(&ErrorCode::RequestTimedOut), "errors: {errors:?}");
    assert!(errors.contains(&ErrorCode::NotEnoughReplicas), "errors: {errors:?}");
    let r = view.brokers[0].replicas.iter().find(|r| r.tp == "t-0").unwrap();
    assert_eq!(r.isr, [1]);
    let acked = view.producers[0].records_acked as i64;
    assert_eq!(r.high_watermark, acked, "exactly the acknowledged records are committed");
    assert!(r.log_end_offset > r.high_watermark, "records appended before the shrink stay uncommitted");
}

#[test]
fn a_cut_link_stalls_messages_until_the_heal_and_clients_time_out_meanwhile() {
    let cut = |heal_ms: u64| {
        json!([
            {"at_ms": 300, "action": "cut_link", "from": "p", "to": "broker-1", "both": true},
            {"at_ms": heal_ms, "action": "heal_link", "from": "p", "to": "broker-1", "both": true}
        ])
    };
    let held_and_released = |trace: &[TraceEvent]| {
        let ids = |pick: fn(&TraceKind) -> Option<u64>| trace.iter().filter_map(|e| pick(&e.kind)).collect::<Vec<_>>();
        let held = ids(|k| if let TraceKind::MessageHeld { msg_id, .. } = k { Some(*msg_id) } else { None });
        let released = ids(|k| if let TraceKind::MessageReleased { msg_id, .. } = k { Some(*msg_id) } else { None });
        let closed = ids(|k| match k {
            TraceKind::MessageDropped {
                msg_id, reason: brokerscope::sim::net::DropReason::ConnectionClosed, ..
            } => Some(*msg_id),
            _ => None,
        });
        (held, released, closed)
    };
    // A 400 ms cut, shorter than request.timeout.ms (1 s): TCP keeps retransmitting, so what was
    // sent waits and arrives at the heal, in order; nothing times out.
    let (view, trace) = run(scenario(json!({"request.timeout.ms": 1000}), json!({}), cut(700)), 20000);
    let (held, released, closed) = held_and_released(&trace);
    assert!(!held.is_empty());
    assert_eq!(released, held, "every held message goes out at the heal, in order");
    assert!(closed.is_empty());
    assert!(!trace.iter().any(|e| matches!(&e.kind, TraceKind::ProduceFailed { .. })), "no timeouts");
    assert_eq!(view.producers[0].records_acked, 200);
    // A 3.7 s cut: the producer's requests time out; NetworkClient closes the connection and the
    // held messages go with it; retries deliver everything after the heal.
    let (view, trace) = run(scenario(json!({"request.timeout.ms": 1000}), json!({}), cut(4000)), 20000);
    let (held, released, closed) = held_and_released(&trace);
    assert!(!held.is_empty());
    assert!(released.is_empty() && !closed.is_empty(), "released {released:?} closed {closed:?}");
    assert!(trace
        .iter()
        .any(|e| matches!(&e.kind, TraceKind::ProduceFailed { error: ErrorCode::RequestTimedOut, .. })));
    assert_eq!(view.producers[0].records_acked, 200, "retries deliver everything after the heal");
    assert!(view.producers[0].batch_errors > 0);
    assert!(trace.iter().any(|e| e.node == NodeId::producer(1) && matches!(e.kind, TraceKind::LinkCut { .. })));
}

#[test]
fn slow_follower_leaves_the_isr_the_hw_moves_on_and_it_rejoins_after_catching_up() {
    // broker-3's links to the leader get 1.5 s of latency at 300 ms: each fetch round trip takes
    // 3 s while records arrive every 10 ms, so it stops being caught up and leaves the ISR after
    // replica.lag.time.max.ms. acks=all then completes on {1, 2} alone. At 6 s the link is fast
    // again; broker-3 catches up and is added back.
    let events = json!([
        {"at_ms": 300, "action": "set_link", "from": "broker-3", "to": "broker-1", "both": true, "latency_ms": 1500},
        {"at_ms": 6000, "action": "set_link", "from": "broker-3", "to": "broker-1", "both": true, "latency_ms": 1}
    ]);
    let mut v = scenario_with(1, json!({"acks": "all"}), json!({"replica.lag.time.max.ms": 2000}), events);
    v["producers"][0]["workload"]["records"] = json!(1000);
    let (view, trace) = run(v, 20000);
    let at =
        |pred: &dyn Fn(&TraceKind) -> bool| trace.iter().filter(|e| pred(&e.kind)).map(|e| e.at).collect::<Vec<_>>();
    // Partition t-0 (an idle `__consumer_offsets` partition on the slow link shrinks too).
    let shrinks = at(&|k| matches!(k, TraceKind::IsrShrunk { removed: 3, tp, .. } if &*tp.topic == "t"));
    assert_eq!(shrinks.len(), 1, "broker-3 leaves the ISR once: {shrinks:?}");
    let shrink = shrinks[0];
    assert!(shrink >= SimTime::from_ms(2300) && shrink < SimTime::from_ms(6000), "shrink at {shrink}");
    let hw_moves = trace
        .iter()
        .filter(|e| e.node == NodeId::broker(1) && e.at > shrink && e.at < SimTime::from_ms(6000))
        .filter(|e| matches!(e.kind, TraceKind::HighWatermarkAdvanced { .. }))
        .count();
    assert!(hw_moves > 50, "the leader's HW keeps advancing without broker-3 ({hw_moves} moves)");
    let acked_while_out = trace
        .iter()
        .filter(|e| e.at > shrink && e.at < SimTime::from_ms(6000))
        .filter(|e| matches!(e.kind, TraceKind::ProduceAcked { .. }))
        .count();
    assert!(acked_while_out > 0, "acks=all completes with the shrunk ISR");
    let expands = at(&|k| matches!(k, TraceKind::IsrExpanded { added: 3, tp, .. } if &*tp.topic == "t"));
    assert_eq!(expands.len(), 1, "{expands:?}");
    assert!(expands[0] > SimTime::from_ms(6000), "rejoins only after the link is fast again: {}", expands[0]);
    let leader = leader_replica(&view, "t-0");
    assert_eq!(leader.isr, [1, 2, 3]);
    assert_eq!(view.producers[0].records_acked, 1000);
    assert_eq!(leader.high_watermark, 1000);
    let follower = view.brokers[2].replicas.iter().find(|r| r.tp == "t-0").unwrap();
    assert_eq!(follower.log_end_offset, 1000, "broker-3 caught up");
}

/// broker-3 (a follower only) crashes at 1 s and restarts at 5 s, as a process or a machine.
fn follower_crash(kind: &str, topic_config: Value) -> (ClusterView, Vec<TraceEvent>) {
    let events = json!([
        {"at_ms": 1000, "action": "crash_broker", "broker": 3, "kind": kind},
        {"at_ms": 5000, "action": "restart_broker", "broker": 3}
    ]);
    let mut v = scenario_with(2, json!({}), json!({"replica.lag.time.max.ms": 2000}), events);
    v["topics"][0]["config"] = topic_config;
    run(v, 20000)
}

fn truncations_on(trace: &[TraceEvent], broker: u16) -> Vec<(String, i64, i64)> {
    trace
        .iter()
        .filter(|e| e.node == NodeId::broker(broker))
        .filter_map(|e| match &e.kind {
            TraceKind::LogTruncated { tp, to, log_end_offset, .. } => Some((tp.to_string(), *to, *log_end_offset)),
            _ => None,
        })
        .collect()
}

fn assert_caught_up(view: &ClusterView) {
    assert_eq!(view.producers[0].records_acked, 200);
    for tp in ["t-0", "t-1"] {
        let leader = leader_replica(view, tp);
        assert_eq!(leader.isr, [1, 2, 3], "{tp}: broker-3 is back in the ISR");
        let follower = view.brokers[2].replicas.iter().find(|r| r.tp == tp).unwrap();
        assert_eq!(follower.log_end_offset, leader.log_end_offset, "{tp}: broker-3 caught up");
    }
}

#[test]
fn a_machine_crash_loses_unflushed_records_and_the_follower_refetches_them() {
    let (view, trace) = follower_crash("machine", json!({}));
    // Kafka's defaults never fsync a 1 GiB active segment, so the page cache held everything.
    let lost = truncations_on(&trace, 3);
    assert_eq!(lost.len(), 2, "{lost:?}");
    for (tp, to, leo) in &lost {
        assert_eq!((*to, *leo), (0, 0), "{tp}: nothing was flushed, so nothing survives");
    }
    let crash = trace.iter().find(|e| matches!(e.kind, TraceKind::NodeCrashed)).unwrap();
    assert!(trace.iter().filter(|e| matches!(e.kind, TraceKind::LogTruncated { .. })).all(|e| e.at == crash.at));
    assert_caught_up(&view);
}

#[test]
fn a_process_crash_keeps_the_page_cache() {
    let (view, trace) = follower_crash("process", json!({}));
    assert_eq!(truncations_on(&trace, 3), [], "the OS page cache survives a process crash");
    assert_caught_up(&view);
}

#[test]
fn flush_messages_1_makes_a_machine_crash_lose_nothing() {
    let (view, trace) = follower_crash("machine", json!({"flush.messages": 1}));
    assert_eq!(truncations_on(&trace, 3), [], "every append was fsynced");
    for broker in 1..=3 {
        let count = |pred: fn(&TraceKind) -> bool| {
            trace.iter().filter(|e| e.node == NodeId::broker(broker) && pred(&e.kind)).count()
        };
        // Topic t's logs (flush.messages is t's setting, not `__consumer_offsets`').
        let appends = count(|k| matches!(k, TraceKind::BatchAppended { tp, .. } if &*tp.topic == "t"));
        let flushes = count(|k| matches!(k, TraceKind::LogFlushed { tp, .. } if &*tp.topic == "t"));
        assert!(appends > 0);
        assert_eq!(flushes, appends, "broker-{broker}: flush.messages=1 fsyncs after every append");
    }
    assert_caught_up(&view);
}

#[test]
fn flush_ms_with_the_log_flusher_keeps_what_was_flushed_before_a_machine_crash() {
    // The flusher checks at 300, 600, 900 ms and fsyncs a log whose last flush is ≥ 400 ms old:
    // only the 600 ms check flushes (300 and 900 are 300 ms after the last flush). The machine
    // crash at 1 s keeps exactly what the 600 ms flush covered.
    let events = json!([
        {"at_ms": 1000, "action": "crash_broker", "broker": 3, "kind": "machine"},
        {"at_ms": 5000, "action": "restart_broker", "broker": 3}
    ]);
    let broker = json!({"replica.lag.time.max.ms": 2000, "log.flush.scheduler.interval.ms": 300, "log.initial.task.delay.ms": 300});
    let mut v = scenario_with(2, json!({}), broker, events);
    v["topics"][0]["config"] = json!({"flush.ms": 400});
    let (view, trace) = run(v, 20000);
    let flushes: Vec<(u64, String, i64)> = trace
        .iter()
        .filter(|e| e.node == NodeId::broker(3) && e.at < SimTime::from_ms(1000))
        .filter_map(|e| match &e.kind {
            TraceKind::LogFlushed { tp, recovery_point } => Some((e.at.as_ms(), tp.to_string(), *recovery_point)),
            _ => None,
        })
        .collect();
    assert_eq!(flushes.iter().map(|f| f.0).collect::<Vec<_>>(), [600, 600], "one flush per log at 600 ms");
    let lost = truncations_on(&trace, 3);
    assert_eq!(lost.len(), 2, "both logs lose their unflushed tail: {lost:?}");
    for (tp, to, leo) in &lost {
        let flushed = flushes.iter().find(|f| &f.1 == tp).expect("flushed").2;
        assert!(flushed > 0, "{tp}: records were appended before 600 ms");
        assert_eq!((*to, *leo), (flushed, flushed), "{tp}: truncated to the 600 ms recovery point");
    }
    assert_caught_up(&view);
}

/// Largest number of batches broker-3 appended from one fetch response (same instant).
fn largest_catch_up_step(replica_fetch_max_bytes: Option<u32>) -> (usize, ClusterView) {
    let events = json!([
        {"at_ms": 500, "action": "crash_broker", "broker": 3},
        {"at_ms": 2500, "action": "restart_broker", "broker": 3}
    ]);
    let mut broker = json!({"replica.lag.time.max.ms": 2000});
    if let Some(b) = replica_fetch_max_bytes {
        broker["replica.fetch.max.bytes"] = json!(b);
    }
    let (view, trace) = run(scenario_with(1, json!({"linger.ms": 0, "acks": "1"}), broker, events), 20000);
    let mut per_instant: std::collections::BTreeMap<SimTime, usize> = Default::default();
    for e in trace.iter().filter(|e| e.node == NodeId::broker(3)) {
        if let TraceKind::BatchAppended { role: brokerscope::sim::trace::AppendRole::Follower, .. } = e.kind {
            *per_instant.entry(e.at).or_default() += 1;
        }
    }
    (per_instant.values().copied().max().unwrap_or(0), view)
}

#[test]
fn replica_fetch_max_bytes_bounds_each_fetch_but_never_stalls_it() {
    let (default_step, _) = largest_catch_up_step(None);
    assert!(default_step > 10, "after the restart one 1 MiB fetch carries the whole backlog: {default_step}");
    let (tiny_step, view) = largest_catch_up_step(Some(1));
    assert_eq!(tiny_step, 1, "1 byte per partition: one batch per fetch (the first is always returned)");
    let leo: Vec<i64> =
        view.brokers.iter().map(|b| b.replicas.iter().find(|r| r.tp == "t-0").unwrap().log_end_offset).collect();
    assert_eq!(leo, [200, 200, 200], "the follower still catches up, one batch per round");
}

/// `fetch.min.bytes` above what one read returns. The leader weighs a fetch by its read, then
/// tries it as a delayed fetch before parking it (`tryCompleteElseWatch`), and
/// `DelayedFetch.tryComplete` counts each partition up to `max.partition.fetch.bytes`, not up
/// to `fetch.max.bytes`. So with `fetch.max.bytes` = 1 (a read of one batch) a consumer catching
/// up on a backlog is answered at once, batch by batch, and only the last bytes, fewer than
/// `fetch.min.bytes`, wait out `fetch.max.wait.ms`; with `max.partition.fetch.bytes` = 1 instead,
/// the purgatory counts one byte and every fetch waits.
#[test]
fn a_fetch_the_purgatory_would_complete_is_answered_without_waiting() {
    let consumed_by = |limit: &str, ms: u64| {
        let mut v = scenario_with(1, json!({}), json!({}), json!([]));
        v["consumers"] = json!([{"id": "c", "partitions": ["t-0"], "start_ms": 5000,
            "config": {"auto.offset.reset": "earliest", "fetch.min.bytes": 1000, "fetch.max.wait.ms": 1000,
                       limit: 1}}]);
        run(v, ms).0.consumers[0].records_consumed
    };
    let early = consumed_by("fetch.max.bytes", 6000);
    assert!(early >= 150, "a batch per round trip while 1,000 bytes are readable, not one per wait: {early}");
    assert!(early < 200, "the last batches, under 1,000 bytes in all, wait for fetch.max.wait.ms: {early}");
    assert_eq!(consumed_by("fetch.max.bytes", 20000), 200);
    let capped = consumed_by("max.partition.fetch.bytes", 8000);
    assert!((1..=4).contains(&capped), "one batch per fetch.max.wait.ms: {capped}");
}

#[test]
fn an_assigned_consumer_reads_from_the_offset_it_sought() {
    let mut v = scenario_with(1, json!({"acks": "all"}), json!({}), json!([]));
    v["consumers"] = json!([{"id": "c", "partitions": ["t-0"], "seek": {"t-0": 120}, "start_ms": 5000,
                             "config": {"auto.offset.reset": "earliest"}}]);
    let (view, trace) = run(v, 20000);
    let first = trace.iter().find_map(|e| match &e.kind {
        TraceKind::RecordsConsumed { first_offset, .. } => Some(*first_offset),
        _ => None,
    });
    assert_eq!(first, Some(120), "seek overrides auto.offset.reset=earliest");
    assert_eq!(view.consumers[0].records_consumed, 200 - 120, "from 120 to the end");
    let mut bad = scenario_with(1, json!({}), json!({}), json!([]));
    bad["consumers"][0]["seek"] = json!({"t-0": 5});
    let err = brokerscope::scenario::from_value(&bad).unwrap_err().to_string();
    assert_eq!(err, "consumers[0].seek: seek needs assigned partitions (not a group)");
}
