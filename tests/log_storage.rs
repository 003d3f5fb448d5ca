//! Log storage inside running scenarios: rolls, retention, compaction and append validation,
//! observed through the trace and the final cluster state.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerscope::scenario::from_value;
use brokerscope::sim::log::segment::RollReason;
use brokerscope::sim::log::RetentionReason;
use brokerscope::sim::node::NodeId;
use brokerscope::sim::protocol::ErrorCode;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::trace::{TraceEvent, TraceKind};
use brokerscope::sim::{ClusterView, Node, Sim};
use serde_json::{json, Value};

/// One broker, one single-partition topic with `topic_config`, one producer sending `records`
/// 1000-byte values at 1000/s with keys `key`.
fn scenario(topic_config: Value, broker_config: Value, key: Value, records: u64) -> Value {
    json!({
        "duration_ms": 12000, "brokers": 1, "broker_config": broker_config,
        "topics": [{"name": "t", "partitions": 1, "replication_factor": 1, "config": topic_config}],
        "producers": [{"id": "p", "config": {"acks": "1"},
            "workload": {"topic": "t", "records": records, "rate_per_sec": 1000, "key": key, "value_bytes": 1000}}]
    })
}

fn run(v: Value, until_ms: u64) -> (Sim, Vec<TraceEvent>) {
    let s = from_value(&v).unwrap();
    let mut sim = Sim::new(&s, 5);
    sim.run_until(SimTime::from_ms(until_ms), 50_000_000);
    let trace = sim.drain_trace();
    (sim, trace)
}

/// Every failed produce attempt: its error, and whether the producer retries it.
fn produce_failures(trace: &[TraceEvent]) -> Vec<(ErrorCode, bool)> {
    trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::ProduceFailed { error, will_retry, .. } => Some((*error, *will_retry)),
            _ => None,
        })
        .collect()
}

fn replica(view: &ClusterView) -> &brokerscope::sim::ReplicaView {
    &view.brokers[0].replicas[0]
}

#[test]
fn segments_roll_at_segment_bytes_and_time_retention_deletes_them() {
    let v = scenario(
        json!({"segment.bytes": 1_048_576, "retention.ms": 2000}),
        json!({"log.retention.check.interval.ms": 1000, "log.initial.task.delay.ms": 0}),
        json!(null),
        3000,
    );
    let (sim, trace) = run(v, 12_000);
    let rolls: Vec<i64> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::SegmentRolled { base_offset, reason: RollReason::SegmentBytes, .. } => Some(*base_offset),
            _ => None,
        })
        .collect();
    assert!(rolls.len() >= 2, "3 MB through 1 MiB segments rolls at least twice: {rolls:?}");
    let deleted: Vec<&TraceEvent> = trace
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::SegmentDeleted { reason: RetentionReason::Time, .. }))
        .collect();
    assert!(!deleted.is_empty());
    for e in &deleted {
        assert_eq!(e.at.as_ns() % 1_000_000_000, 0, "retention runs on the 1 s check schedule");
    }
    let first_delete = deleted[0].at.as_ms();
    assert!(first_delete >= 3000, "the first segment's newest record must be 2 s old: deleted at {first_delete} ms");
    let view = sim.view();
    let r = replica(&view);
    assert_eq!(r.log_end_offset, 3000);
    assert!(r.log_start_offset > 0 && r.log_start_offset <= r.high_watermark);
    assert_eq!(r.log_start_offset, r.segments[0].0, "log start = base offset of the first remaining segment");
    let index_entries = trace.iter().filter(|e| matches!(e.kind, TraceKind::IndexEntryAdded { .. })).count();
    assert!(index_entries > 100, "an index entry about every 4 KiB: {index_entries}");
}

#[test]
fn the_cleaner_compacts_to_the_latest_record_per_key() {
    let topic = json!({"segment.bytes": 1_048_576, "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.5"});
    let v = scenario(topic, json!({"log.cleaner.backoff.ms": 500}), json!("k{i%10}"), 3000);
    let (sim, trace) = run(v, 12_000);
    let passes: Vec<_> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::LogCompacted { stats, .. } => Some(stats.clone()),
            _ => None,
        })
        .collect();
    assert!(!passes.is_empty(), "the cleaner ran");
    assert!(passes.iter().all(|s| s.records_after <= s.records_before && s.bytes_after <= s.bytes_before));
    let Some(Node::Broker(b)) = sim.node(NodeId::broker(1)) else { panic!() };
    let log = &b.replicas().values().next().unwrap().log;
    let active = log.segments().last().unwrap().base_offset();
    let mut keys = std::collections::BTreeSet::new();
    for batch in log.batches() {
        for (offset, r) in batch.records() {
            if offset < passes.last().unwrap().first_uncleanable_offset {
                assert!(keys.insert(r.key.clone().unwrap()), "key {:?} twice below the cleaned point", r.key);
            }
        }
    }
    assert!(keys.len() <= 10 && active > 0);
    assert_eq!(log.log_end_offset(), 3000, "compaction never changes offsets");
}

#[test]
fn an_emptied_batch_stays_only_if_it_holds_its_producers_last_sequence() {
    // Two idempotent producers write the same ten keys, one after the other. Compaction empties
    // every batch of the first: Kafka's cleaner keeps the one holding that producer's last data
    // offset as a header alone (RETAIN_EMPTY, the producer's last sequence) and drops the rest.
    let topic = json!({"segment.bytes": 1_048_576, "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"});
    let mut v = scenario(topic, json!({"log.cleaner.backoff.ms": 500}), json!("k{i%10}"), 1500);
    v["producers"][0]["config"] = json!({"acks": "all", "linger.ms": 20});
    let mut second = v["producers"][0].clone();
    second["id"] = json!("q");
    second["workload"]["records"] = json!(3000);
    second["workload"]["start_ms"] = json!(2000);
    v["producers"].as_array_mut().unwrap().push(second);
    let (sim, trace) = run(v, 12_000);
    assert!(trace.iter().any(|e| matches!(e.kind, TraceKind::LogCompacted { .. })), "the cleaner ran");
    let Some(Node::Broker(b)) = sim.node(NodeId::broker(1)) else { panic!() };
    let log = &b.replicas().values().next().unwrap().log;
    let first_producer = log.batches().next().unwrap().header().producer_id;
    let (all, empty): (Vec<_>, Vec<_>) = (
        log.batches().filter(|b| b.header().producer_id == first_producer).collect(),
        log.batches().filter(|b| b.header().producer_id == first_producer && b.record_count() == 0).collect(),
    );
    assert_eq!(all.len(), 1, "only one batch of the first producer is left");
    assert_eq!(empty.len(), 1, "and it is empty: its records were all superseded");
}

#[test]
fn retention_first_runs_log_initial_task_delay_after_start() {
    // Kafka's LogManager schedules the retention task log.initial.task.delay.ms (30 s by
    // default) after startup, then every log.retention.check.interval.ms: segments old enough
    // at 3 s are deleted only at 30 s.
    let v = scenario(
        json!({"segment.bytes": 1_048_576, "retention.ms": 2000}),
        json!({"log.retention.check.interval.ms": 1000}),
        json!(null),
        3000,
    );
    let mut v = v;
    v["duration_ms"] = json!(40_000);
    let (_, trace) = run(v, 40_000);
    let first = trace.iter().find(|e| matches!(e.kind, TraceKind::SegmentDeleted { .. })).expect("deleted").at;
    assert_eq!(first, SimTime::from_ms(30_000));
}

#[test]
fn a_dirty_ratio_of_one_never_cleans() {
    // The cleaner takes a log only when its cleanable ratio is strictly above
    // min.cleanable.dirty.ratio, which a ratio cannot be above 1.0.
    let topic = json!({"segment.bytes": 1_048_576, "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "1.0"});
    let v = scenario(topic, json!({"log.cleaner.backoff.ms": 500}), json!("k{i%10}"), 3000);
    let (_, trace) = run(v, 12_000);
    assert!(!trace.iter().any(|e| matches!(e.kind, TraceKind::LogCompacted { .. })), "never cleaned");
}

#[test]
fn oversized_records_fail_with_message_too_large_after_splitting_down_to_one() {
    let v = scenario(json!({"max.message.bytes": 500}), json!({}), json!(null), 5);
    let (sim, trace) = run(v, 3000);
    let failures = produce_failures(&trace);
    assert!(failures.iter().all(|f| f.0 == ErrorCode::MessageTooLarge), "{failures:?}");
    assert!(failures.len() < 40, "splitting converges instead of looping: {} attempts", failures.len());
    let completed: Vec<Option<ErrorCode>> = trace
        .iter()
        .flat_map(|e| match &e.kind {
            TraceKind::SendsCompleted { send_ids, error, .. } => vec![*error; send_ids.len()],
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(completed, vec![Some(ErrorCode::MessageTooLarge); 5], "each 1 KB record alone exceeds 500 B");
    assert!(trace
        .iter()
        .any(|e| matches!(&e.kind, TraceKind::AppendRejected { error: ErrorCode::MessageTooLarge, .. })));
    let view = sim.view();
    assert_eq!(view.producers[0].records_acked, 0);
    assert_eq!(replica(&view).log_end_offset, 0);
}

#[test]
fn a_batch_above_max_message_bytes_is_split_and_delivered() {
    // 1 KB records fit max.message.bytes = 3000 alone, but linger.ms = 50 gathers ~5 per batch.
    let mut v = scenario(json!({"max.message.bytes": 3000}), json!({}), json!(null), 40);
    v["producers"][0]["config"] = json!({"acks": "1", "linger.ms": 50});
    let (sim, trace) = run(v, 5000);
    let splits = trace
        .iter()
        .filter(|e| {
            matches!(&e.kind, TraceKind::ProduceFailed { error: ErrorCode::MessageTooLarge, will_retry: true, .. })
        })
        .count();
    assert!(splits > 0, "some batch had to be split");
    let view = sim.view();
    assert_eq!((view.producers[0].records_acked, view.producers[0].records_failed), (40, 0));
    let Some(Node::Broker(b)) = sim.node(NodeId::broker(1)) else { panic!() };
    assert!(b.replicas().values().next().unwrap().log.batches().all(|batch| batch.size_bytes() <= 3000));
}

#[test]
fn split_pieces_take_no_new_records_so_sequences_stay_unique() {
    // Idempotent: a batch above max.message.bytes is split into sequenced pieces at the front
    // of the deque while records keep arriving. Kafka closes every piece: a record appended to
    // the last one (which often has room) would share a sequence with the next batch.
    for latency_ms in [1, 2, 3, 5] {
        let mut v = scenario(json!({"max.message.bytes": 3000}), json!({}), json!(null), 300);
        v["producers"][0]["config"] = json!({"acks": "all", "enable.idempotence": true, "linger.ms": 40,
                                             "max.in.flight.requests.per.connection": 1});
        // At 100 records/s a batch lingers for five 1 KB records, split into pieces of two, two
        // and one: the deque is often empty when they go back into it, and the last has room.
        v["producers"][0]["workload"]["rate_per_sec"] = json!(100);
        v["network"] = json!({"latency_ms": latency_ms});
        v["duration_ms"] = json!(60000);
        let (sim, trace) = run(v, 60000);
        let errors: Vec<ErrorCode> = produce_failures(&trace).into_iter().map(|(error, _)| error).collect();
        assert!(errors.contains(&ErrorCode::MessageTooLarge), "some batch had to be split");
        assert!(errors.iter().all(|e| *e == ErrorCode::MessageTooLarge), "latency {latency_ms}: {errors:?}");
        // Pieces keep their batch's id: no record joins a batch once it was drained.
        let mut drained = std::collections::BTreeSet::new();
        for e in &trace {
            match &e.kind {
                TraceKind::BatchDrained { batch_id, .. } => _ = drained.insert(*batch_id),
                TraceKind::RecordAccumulated { batch_id, .. } => {
                    assert!(
                        !drained.contains(batch_id),
                        "latency {latency_ms}: a record joined drained batch {batch_id}"
                    )
                }
                _ => {}
            }
        }
        let view = sim.view();
        assert_eq!((view.producers[0].records_acked, view.producers[0].records_failed), (300, 0));
        let Some(Node::Broker(b)) = sim.node(NodeId::broker(1)) else { panic!() };
        let log = &b.replicas().values().next().unwrap().log;
        let values: Vec<u64> = log
            .batches()
            .flat_map(|batch| batch.records())
            .map(|(_, r)| String::from_utf8_lossy(&r.value.unwrap()).trim_end_matches('.').parse().unwrap())
            .collect();
        assert_eq!(values, (0..300).collect::<Vec<u64>>(), "latency {latency_ms}: every record once, in order");
    }
}

#[test]
fn a_compacted_topic_refuses_records_without_keys() {
    let v = scenario(json!({"cleanup.policy": "compact"}), json!({}), json!(null), 3);
    let (_, trace) = run(v, 2000);
    assert!(trace.iter().any(|e| matches!(
        &e.kind,
        TraceKind::ProduceFailed { error: ErrorCode::InvalidRecord, will_retry: false, .. }
    )));
}

#[test]
fn every_stored_batch_is_valid_v2_with_leader_offsets() {
    let v = scenario(json!({}), json!({}), json!("k{i}"), 200);
    let (sim, _) = run(v, 3000);
    let Some(Node::Broker(b)) = sim.node(NodeId::broker(1)) else { panic!() };
    let log = &b.replicas().values().next().unwrap().log;
    let mut next = 0;
    for batch in log.batches() {
        let again =
            brokerscope::sim::record::RecordBatch::from_bytes(batch.bytes().to_vec()).expect("stored bytes decode");
        assert_eq!(again.base_offset(), next, "contiguous offsets stamped by the leader");
        assert_eq!(again.header().partition_leader_epoch, 0);
        next = again.last_offset() + 1;
    }
    assert_eq!(next, 200);
}
