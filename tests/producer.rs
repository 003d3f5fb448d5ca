//! Producer internals in running scenarios, each with an asserted outcome.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerscope::scenario::from_value;
use brokerscope::sim::node::NodeId;
use brokerscope::sim::protocol::ErrorCode;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::trace::{BlockReason, TraceEvent, TraceKind};
use brokerscope::sim::{Node, Sim};
use serde_json::{json, Value};

/// `brokers` brokers, topic `t` with `partitions` partitions (RF = brokers), one producer.
fn scenario(brokers: u16, partitions: u32, producer: Value, workload: Value, events: Value) -> Value {
    let mut w = json!({"topic": "t", "records": 200, "rate_per_sec": 1000, "key": null, "value_bytes": 100});
    for (k, v) in workload.as_object().unwrap() {
        w[k] = v.clone();
    }
    json!({
        "duration_ms": 60000, "brokers": brokers, "broker_config": {"replica.lag.time.max.ms": 1000},
        "network": {"latency_ms": 1},
        "topics": [{"name": "t", "partitions": partitions, "replication_factor": brokers}],
        "producers": [{"id": "p", "config": producer, "workload": w}],
        "events": events
    })
}

fn run(v: Value, until_ms: u64, seed: u64) -> (Sim, Vec<TraceEvent>) {
    let s = from_value(&v).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::new(&s, seed);
    sim.run_until(SimTime::from_ms(until_ms), 20_000_000);
    let trace = sim.drain_trace();
    (sim, trace)
}

fn drained(trace: &[TraceEvent]) -> Vec<u32> {
    trace
        .iter()
        .filter_map(|e| if let TraceKind::BatchDrained { records, .. } = &e.kind { Some(*records) } else { None })
        .collect()
}

fn mean(xs: &[u32]) -> f64 {
    xs.iter().map(|x| f64::from(*x)).sum::<f64>() / xs.len() as f64
}

/// The workload indices of the records in partition `p`'s leader log, in offset order.
fn log_values(sim: &Sim, leader: u16, partition: u32) -> Vec<u64> {
    let Some(Node::Broker(b)) = sim.node(NodeId::broker(leader)) else { panic!("no broker {leader}") };
    let (_, replica) = b.replicas().iter().find(|(tp, _)| tp.partition == partition).unwrap();
    replica
        .log
        .batches()
        .flat_map(|batch| batch.records())
        .map(|(_, r)| String::from_utf8_lossy(&r.value.unwrap()).trim_end_matches('.').parse().unwrap())
        .collect()
}

fn completions(trace: &[TraceEvent]) -> Vec<(u64, Option<ErrorCode>)> {
    trace
        .iter()
        .filter_map(|e| {
            if let TraceKind::SendsCompleted { send_ids, error, .. } = &e.kind {
                Some(send_ids.iter().map(|id| (*id, *error)))
            } else {
                None
            }
        })
        .flatten()
        .collect()
}

#[test]
fn linger_gathers_records_and_batch_size_caps_them() {
    let base = json!({"acks": "1", "batch.size": 16384});
    let with = |linger: u64, batch_size: u64| {
        let mut c = base.clone();
        c["linger.ms"] = json!(linger);
        c["batch.size"] = json!(batch_size);
        let (_, trace) = run(scenario(1, 1, c, json!({"rate_per_sec": 2000}), json!([])), 2000, 1);
        drained(&trace)
    };
    let (no_linger, linger_50, small) = (with(0, 16384), with(50, 16384), with(50, 1000));
    assert!(
        mean(&no_linger) < 2.0,
        "linger 0: a batch leaves as soon as the sender can send it ({:.2})",
        mean(&no_linger)
    );
    assert!(mean(&linger_50) > 60.0, "linger 50 ms at 2000 rec/s gathers ~100 records ({:.2})", mean(&linger_50));
    // batch.size 1000 with 177-byte records: 61 + 7 records of 116 B fit (873 B); the 8th does not.
    assert!(small.iter().all(|n| *n <= 8), "batch.size caps batches: {small:?}");
    assert!(small.iter().filter(|n| **n == 8).count() * 10 > small.len() * 8, "most batches hold exactly 8: {small:?}");
}

#[test]
fn a_batch_completes_its_sends_together_in_append_order_at_their_offsets() {
    // Keys spread over 3 partitions and linger gathers ~20 records a batch, so a batch's sends
    // are not consecutive workload indexes.
    let c = json!({"acks": "1", "linger.ms": 20});
    let w = json!({"records": 300, "key": "k-{i%7}"});
    let (sim, trace) = run(scenario(1, 3, c, w, json!([])), 5000, 1);
    let mut seen = Vec::new();
    let mut gapped = 0;
    for (i, e) in trace.iter().enumerate() {
        let TraceKind::SendsCompleted { send_ids, tp, first_offset, error, sync } = &e.kind else { continue };
        assert_eq!((*error, *sync), (None, false));
        let tp = tp.as_ref().expect("a batch's sends have a partition");
        // Right after the batch's acknowledgement, one event for all of its records.
        match &trace[i - 1].kind {
            TraceKind::ProduceAcked { tp: acked, base_offset, records, .. } => {
                assert_eq!((acked, *base_offset, *records as usize), (tp, *first_offset, send_ids.len()));
            }
            other => panic!("sends completed after {other:?}, not after their batch's acknowledgement"),
        }
        // The send at position i is the record at first_offset + i in the leader's log.
        let log = log_values(&sim, 1, tp.partition);
        let at = usize::try_from(*first_offset).unwrap();
        assert_eq!(&log[at..at + send_ids.len()], send_ids.as_slice(), "{tp}@{first_offset}");
        gapped += usize::from(send_ids.windows(2).any(|w| w[1] != w[0] + 1));
        seen.extend_from_slice(send_ids);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..300).collect::<Vec<u64>>(), "every send completes exactly once");
    assert!(gapped > 5, "keyed batches interleave the workload's records: {gapped} batches with gaps");
    assert_eq!(completions(&trace).len(), 300);
}

fn switches(linger_ms: u64, seed: u64) -> Vec<(u32, u32, u32)> {
    let producer = json!({"acks": "1", "linger.ms": linger_ms, "enable.idempotence": false});
    let (_, trace) =
        run(scenario(3, 6, producer, json!({"records": 2000, "rate_per_sec": 5000}), json!([])), 3000, seed);
    trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::StickySwitched { from, to, produced_bytes, .. } => Some((*from, *to, *produced_bytes)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_sticky_partitioner_switches_after_batch_size_bytes() {
    // ~107-byte records. A full batch stays just under batch.size, so when batches linger the
    // switch waits for the second batch to fill (or 2 × batch.size); when they drain at once the
    // deque empties and the switch comes right after batch.size bytes.
    let lingering = switches(100, 2);
    let draining = switches(0, 2);
    for (_, _, bytes) in lingering.iter().chain(&draining) {
        assert!(*bytes >= 16384 && *bytes < 2 * 16384 + 200, "switch after {bytes} bytes");
    }
    assert!(lingering.iter().all(|s| s.2 > 32_000), "lingering: two batches per partition");
    // Draining: the switch comes a few records past batch.size (a batch occasionally waits for
    // an in-flight slot, the broker handling one request per connection at a time), never near
    // the two batches of the lingering case.
    assert!(draining.iter().all(|s| s.2 < 18_000), "draining: one batch: {draining:?}");
    assert!(draining.iter().filter(|s| s.2 < 17_000).count() * 10 >= draining.len() * 8, "{draining:?}");
    assert!(draining.len() >= lingering.len() * 3 / 2, "{} vs {}", draining.len(), lingering.len());
    let partitions: std::collections::BTreeSet<u32> = draining.iter().map(|s| s.1).collect();
    assert!(partitions.len() >= 4, "uniform over partitions: {partitions:?}");
    // Unlike the legacy StickyPartitionCache, KIP-794 may draw the same partition again.
}

#[test]
fn an_exhausted_buffer_pool_blocks_send_then_fails_after_max_block_ms() {
    let producer = json!({"acks": "1", "enable.idempotence": false, "linger.ms": 0, "buffer.memory": 32768, "batch.size": 16384, "max.block.ms": 1000});
    // Responses stop at 200 ms, so drained batches keep their buffers until request.timeout.ms.
    let events = json!([{"at_ms": 200, "action": "cut_link", "from": "broker-1", "to": "p"}]);
    let (_, trace) = run(scenario(1, 1, producer, json!({"records": 50, "rate_per_sec": 100}), events), 5000, 3);
    let blocked = trace
        .iter()
        .find(|e| matches!(e.kind, TraceKind::CallerBlocked { reason: BlockReason::BufferMemory, .. }))
        .expect("blocked on memory");
    let TraceKind::CallerBlocked { send_id, .. } = blocked.kind else { unreachable!() };
    let unblocked = trace
        .iter()
        .find(|e| matches!(e.kind, TraceKind::CallerUnblocked { send_id: s, reason: BlockReason::BufferMemory, .. } if s == send_id))
        .expect("unblocked");
    assert_eq!(unblocked.at.as_ns() - blocked.at.as_ns(), 1_000_000_000, "exactly max.block.ms");
    assert!(
        completions(&trace).contains(&(send_id, Some(ErrorCode::Timeout))),
        "BufferExhaustedException to the callback"
    );
}

/// Loss on producer → leader requests, a short request timeout, keyed records to one partition.
fn lossy(idempotence: bool, drop_responses: bool) -> Value {
    let mut producer = json!({"acks": "all", "max.in.flight.requests.per.connection": 5, "request.timeout.ms": 100, "linger.ms": 0, "retry.backoff.ms": 10});
    producer["enable.idempotence"] = json!(idempotence);
    let (from, to) = if drop_responses { ("broker-1", "p") } else { ("p", "broker-1") };
    // Loss starts after the producer id and the first acknowledgement: a lost *first* batch
    // would let a later sequence open the broker's producer state, a case Kafka resolves only
    // by an epoch bump after the lost batch expires.
    let events = json!([{"at_ms": 50, "action": "set_link", "from": from, "to": to, "latency_ms": 1, "loss": "1/4"}]);
    scenario(1, 1, producer, json!({"records": 300, "rate_per_sec": 500, "key": "k"}), events)
}

fn inversions(values: &[u64]) -> usize {
    values.windows(2).filter(|w| w[1] < w[0]).count()
}

fn duplicates(values: &[u64]) -> usize {
    values.len() - values.iter().collect::<std::collections::BTreeSet<_>>().len()
}

#[test]
fn retries_reorder_records_without_idempotence_and_never_with_it() {
    let mut reordered_runs = 0;
    for seed in 1..=4 {
        let (sim, _) = run(lossy(false, false), 20_000, seed);
        let values = log_values(&sim, 1, 0);
        reordered_runs += usize::from(inversions(&values) > 0);
        let (sim, _) = run(lossy(true, false), 20_000, seed);
        let values = log_values(&sim, 1, 0);
        assert_eq!(inversions(&values), 0, "seed {seed}: idempotence keeps order");
        assert_eq!(duplicates(&values), 0, "seed {seed}: and writes each record once");
        assert_eq!(values.len(), 300, "seed {seed}: every record written");
    }
    assert!(reordered_runs >= 3, "without idempotence, retries after lost requests reorder: {reordered_runs}/4 runs");
}

/// Responses from the leader are cut for 250 ms, longer than request.timeout.ms (100 ms): every
/// request in flight times out, the producer closes the connection (the held responses go with
/// it) and retries, although the leader appended the batches.
fn lost_responses(idempotence: bool) -> Value {
    let mut producer = json!({"acks": "all", "request.timeout.ms": 100, "linger.ms": 0, "retry.backoff.ms": 10});
    producer["enable.idempotence"] = json!(idempotence);
    let events = json!([
        {"at_ms": 150, "action": "cut_link", "from": "broker-1", "to": "p"},
        {"at_ms": 400, "action": "heal_link", "from": "broker-1", "to": "p"}
    ]);
    scenario(1, 1, producer, json!({"records": 300, "rate_per_sec": 500, "key": "k"}), events)
}

#[test]
fn lost_responses_cause_duplicates_only_without_idempotence() {
    let (sim, trace) = run(lost_responses(true), 20_000, 5);
    let values = log_values(&sim, 1, 0);
    assert_eq!(duplicates(&values), 0);
    assert_eq!(values, (0..300).collect::<Vec<u64>>(), "every record once, in order");
    let dups = trace.iter().filter(|e| matches!(e.kind, TraceKind::DuplicateBatch { .. })).count();
    assert!(dups >= 3, "the leader recognised the retried batches: {dups}");
    assert_eq!(sim.view().producers[0].records_acked, 300);
    let (sim, _) = run(lost_responses(false), 20_000, 5);
    let values = log_values(&sim, 1, 0);
    assert!(
        duplicates(&values) >= 3,
        "without idempotence the retried batches are written again: {}",
        duplicates(&values)
    );
}

#[test]
fn batches_expire_after_delivery_timeout_ms() {
    let producer =
        json!({"acks": "1", "enable.idempotence": false, "request.timeout.ms": 1000, "delivery.timeout.ms": 2000});
    let events = json!([{"at_ms": 0, "action": "cut_link", "from": "p", "to": "broker-1"}]);
    let (sim, trace) =
        run(scenario(1, 1, producer, json!({"records": 20, "rate_per_sec": 100, "start_ms": 10}), events), 6000, 6);
    let _ = sim;
    // Metadata cannot arrive either: the first send blocks, then max.block.ms is 60 s > 6 s.
    assert!(trace.iter().any(|e| matches!(e.kind, TraceKind::CallerBlocked { reason: BlockReason::Metadata, .. })));
    let (_, trace) = run(
        scenario(
            1,
            1,
            json!({"acks": "1", "enable.idempotence": false, "request.timeout.ms": 1000, "delivery.timeout.ms": 2000}),
            json!({"records": 20, "rate_per_sec": 100, "start_ms": 10}),
            json!([{"at_ms": 100, "action": "cut_link", "from": "p", "to": "broker-1"}]),
        ),
        6000,
        6,
    );
    let expired: Vec<usize> =
        (0..trace.len()).filter(|i| matches!(trace[*i].kind, TraceKind::BatchExpired { .. })).collect();
    assert!(!expired.is_empty());
    for i in &expired {
        let TraceKind::BatchExpired { age_ms, records, .. } = trace[*i].kind else { unreachable!() };
        assert!((2000..2100).contains(&age_ms), "expired at {age_ms} ms old");
        // The batch's sends fail together, in one event, right after it expires.
        let TraceKind::SendsCompleted { send_ids, first_offset: -1, error: Some(ErrorCode::Timeout), .. } =
            &trace[i + 1].kind
        else {
            panic!("after an expiry: {:?}", trace[i + 1].kind)
        };
        assert_eq!(send_ids.len(), records as usize);
    }
    assert!(
        expired.iter().any(|i| matches!(trace[*i].kind, TraceKind::BatchExpired { records: 2.., .. })),
        "some expired batch holds several records"
    );
    // Records every 10 ms from 10 ms; the cut at 100 ms strands records 9..=19.
    let mut outcomes = completions(&trace);
    outcomes.sort_unstable_by_key(|(s, _)| *s);
    let expected: Vec<(u64, Option<ErrorCode>)> =
        (0..20).map(|i| (i, (i >= 9).then_some(ErrorCode::Timeout))).collect();
    assert_eq!(outcomes, expected);
}

#[test]
fn not_enough_replicas_reaches_the_callback() {
    // Produces parked before the ISR shrank time out (request.timeout.ms); later ones are refused.
    let producer = json!({"acks": "all", "enable.idempotence": false, "retries": 0, "request.timeout.ms": 500});
    let mut v = scenario(
        3,
        1,
        producer,
        json!({"records": 100, "rate_per_sec": 50, "key": "k"}),
        json!([
            {"at_ms": 100, "action": "crash_broker", "broker": 2},
            {"at_ms": 100, "action": "crash_broker", "broker": 3}
        ]),
    );
    v["broker_config"]["min.insync.replicas"] = json!(2);
    let (_, trace) = run(v, 5000, 7);
    let errors: Vec<ErrorCode> = completions(&trace).into_iter().filter_map(|(_, e)| e).collect();
    assert!(errors.contains(&ErrorCode::NotEnoughReplicas), "{errors:?}");
}

/// Share of keyless records (accumulated after `from_ms`) that the sticky partitioner put on
/// partition 0, whose leader is broker-1, with 2 KB batches so it switches often.
fn share_to_partition_0(producer: Value, events: Value, from_ms: u64) -> f64 {
    let mut config = json!({"acks": "1", "enable.idempotence": false, "linger.ms": 5, "batch.size": 2048});
    for (k, v) in producer.as_object().unwrap() {
        config[k] = v.clone();
    }
    let (_, trace) = run(scenario(3, 3, config, json!({"records": 6000, "rate_per_sec": 3000}), events), 4000, 9);
    let parts: Vec<u32> = trace
        .iter()
        .filter(|e| e.at >= SimTime::from_ms(from_ms))
        .filter_map(|e| if let TraceKind::RecordAccumulated { tp, .. } = &e.kind { Some(tp.partition) } else { None })
        .collect();
    parts.iter().filter(|p| **p == 0).count() as f64 / parts.len() as f64
}

#[test]
fn adaptive_partitioning_steers_records_away_from_a_slow_leader() {
    // broker-1 is 150 ms away: partition 0's batches queue up, so its weight in the CFT drops.
    let slow = json!([{"at_ms": 0, "action": "set_link", "from": "p", "to": "broker-1", "latency_ms": 150}]);
    let uniform = share_to_partition_0(json!({"partitioner.adaptive.partitioning.enable": false}), slow.clone(), 0);
    let adaptive = share_to_partition_0(json!({}), slow, 0);
    assert!(uniform > 0.28, "uniform sticky: about a third ({uniform:.3})");
    assert!(
        adaptive < uniform * 0.75,
        "queue-size weighting sends less to the slow partition ({adaptive:.3} vs {uniform:.3})"
    );
}

#[test]
fn the_availability_timeout_excludes_a_leader_that_cannot_drain() {
    // From 500 ms broker-1 is unreachable: its five requests stay in flight until they time out.
    let cut = json!([{"at_ms": 500, "action": "cut_link", "from": "p", "to": "broker-1"}]);
    let adaptive_only = share_to_partition_0(json!({}), cut.clone(), 1000);
    let with_timeout = share_to_partition_0(json!({"partitioner.availability.timeout.ms": 50}), cut, 1000);
    assert!(adaptive_only > 0.02, "queue weighting alone still picks it sometimes ({adaptive_only:.3})");
    assert!(
        with_timeout < adaptive_only / 3.0,
        "excluded once ready but undrainable for 50 ms ({with_timeout:.3} vs {adaptive_only:.3})"
    );
}

#[test]
fn an_availability_timeout_turned_on_mid_run_excludes_the_stalled_leader() {
    // The node latency stats are kept only while the timeout is above 0: turned on at 300 ms
    // (before the cut), they start then and still see broker-1 stall.
    let events = json!([
        {"at_ms": 300, "action": "config_change", "target": "p",
         "property": "partitioner.availability.timeout.ms", "value": 50},
        {"at_ms": 500, "action": "cut_link", "from": "p", "to": "broker-1"}
    ]);
    let cut = json!([{"at_ms": 500, "action": "cut_link", "from": "p", "to": "broker-1"}]);
    let off = share_to_partition_0(json!({}), cut, 1000);
    let turned_on = share_to_partition_0(json!({}), events, 1000);
    assert!(turned_on < off / 3.0, "excluded as if set from the start ({turned_on:.3} vs {off:.3})");
}

#[test]
fn serializers_and_interceptors_shape_the_records() {
    let producer = json!({
        "acks": "1",
        "key.serializer": "org.apache.kafka.common.serialization.IntegerSerializer",
        "value.serializer": "org.apache.kafka.common.serialization.LongSerializer",
        "interceptor.classes": "io.brokerscope.HeaderStampingInterceptor, io.brokerscope.CountingInterceptor"
    });
    let (sim, _) =
        run(scenario(1, 1, producer, json!({"records": 20, "rate_per_sec": 100, "key": "{i%5}"}), json!([])), 2000, 1);
    let Some(Node::Broker(b)) = sim.node(NodeId::broker(1)) else { panic!() };
    let records: Vec<_> =
        b.replicas().values().next().unwrap().log.batches().flat_map(|batch| batch.records()).collect();
    assert_eq!(records.len(), 20);
    let (_, r7) = &records[7];
    assert_eq!(r7.key.as_deref(), Some(2i32.to_be_bytes().as_slice()), "IntegerSerializer: 4 bytes big-endian");
    assert_eq!(r7.value.as_deref(), Some(7i64.to_be_bytes().as_slice()), "LongSerializer: the record index");
    assert_eq!(r7.headers[0].key, b"sent-at-ms");
    assert_eq!(r7.headers[0].value.as_deref(), Some(r7.timestamp_ms.to_string().as_bytes()));
    assert_eq!(sim.view().producers[0].interceptor_counts, Some((20, 20, 0)));
    // An IntegerSerializer cannot take text keys: refused when the scenario loads.
    let bad = scenario(
        1,
        1,
        json!({"key.serializer": "org.apache.kafka.common.serialization.IntegerSerializer"}),
        json!({"key": "user-{i}"}),
        json!([]),
    );
    assert_eq!(
        from_value(&bad).unwrap_err().to_string(),
        "producers[0].workload.key: key.serializer: IntegerSerializer needs an int, got \"user-0\""
    );
}

#[test]
fn an_unresolved_sequence_gap_is_healed_by_an_epoch_bump() {
    // The leader is unreachable from 60 ms to 1500 ms: sequenced batches sent then expire after
    // delivery.timeout.ms, leaving a gap the broker can never fill. The producer stops draining
    // new batches, and once the partition's drained batches are done (`maybeResolveSequences`)
    // bumps its epoch in the client and restarts sequences at 0. A batch drained under the new
    // epoch while the link is still cut expires too, and is healed the same way.
    let producer = json!({"acks": "all", "request.timeout.ms": 200, "delivery.timeout.ms": 1000, "linger.ms": 0, "retry.backoff.ms": 20});
    let events = json!([
        {"at_ms": 60, "action": "cut_link", "from": "p", "to": "broker-1"},
        {"at_ms": 1500, "action": "heal_link", "from": "p", "to": "broker-1"}
    ]);
    let (sim, trace) = run(
        scenario(1, 1, producer, json!({"records": 300, "rate_per_sec": 100, "key": "k", "start_ms": 50}), events),
        20_000,
        2,
    );
    let epochs: Vec<i16> = trace
        .iter()
        .filter_map(|e| if let TraceKind::ProducerIdAssigned { epoch, .. } = e.kind { Some(epoch) } else { None })
        .collect();
    assert!(epochs.len() >= 2 && epochs.iter().enumerate().all(|(i, e)| *e == i as i16), "{epochs:?}");
    // Bumped in the client: no InitProducerId after the first.
    let inits =
        trace.iter().filter(|e| matches!(&e.kind, TraceKind::MessageSent { api, .. } if *api == "InitProducerId"));
    assert_eq!(inits.count(), 1);
    let p = &sim.view().producers[0];
    assert_eq!(p.records_acked + p.records_failed, 300, "every send completed");
    assert!(p.records_failed > 50 && p.records_acked > 100, "acked {} failed {}", p.records_acked, p.records_failed);
    let values = log_values(&sim, 1, 0);
    assert_eq!(duplicates(&values), 0, "no duplicates across the bump");
    assert_eq!(inversions(&values), 0, "and no reordering");
    assert_eq!(values.len() as u64, p.records_acked, "exactly the acknowledged records are in the log");
}

#[test]
fn one_request_in_flight_keeps_order_even_without_idempotence() {
    // Same lossy link as the reordering test, but max.in.flight = 1 mutes the partition while its
    // batch is in flight, so a retry can never be overtaken.
    let mut v = lossy(false, false);
    v["producers"][0]["config"]["max.in.flight.requests.per.connection"] = json!(1);
    for seed in 1..=4 {
        let (sim, _) = run(v.clone(), 30_000, seed);
        let values = log_values(&sim, 1, 0);
        assert_eq!(inversions(&values), 0, "seed {seed}: muting keeps order");
        assert!(values.len() >= 300, "seed {seed}: everything arrives (duplicates are still possible)");
    }
}

#[test]
fn under_backpressure_idle_sender_passes_change_nothing() {
    // Every leader at max.in.flight and every deque longer than one batch: Kafka wakes the
    // sender on every append, and the simulator answers most of those wakeups with an idle pass.
    // Debug builds run a full pass on a copy beside each idle one and assert it did nothing
    // more; here the outcome must also be whole: every record acknowledged once, in order.
    let producer = json!({"acks": "all", "enable.idempotence": true, "linger.ms": 5, "batch.size": 16384,
                          "buffer.memory": 500000, "max.in.flight.requests.per.connection": 2});
    let workload = json!({"records": 20000, "rate_per_sec": 1000000, "key": "k-{i%64}"});
    for (brokers, keyless) in [(3, false), (3, true), (1, false)] {
        let mut w = workload.clone();
        if keyless {
            w["key"] = Value::Null;
        }
        let (sim, trace) = run(scenario(brokers, 6, producer.clone(), w, json!([])), 2000, 5);
        let Some(Node::Producer(p)) = sim.node(NodeId::producer(1)) else { panic!("no producer") };
        let stats = p.stats();
        assert_eq!((stats.records_acked, stats.records_failed), (20000, 0), "{brokers} brokers, keyless {keyless}");
        assert!(stats.idle_sender_passes > 1000, "idle passes: {}", stats.idle_sender_passes);
        assert!(trace
            .iter()
            .any(|e| matches!(e.kind, TraceKind::CallerBlocked { reason: BlockReason::BufferMemory, .. })));
        for (broker, partition) in (1..=brokers).flat_map(|b| (0..6).map(move |p| (b, p))) {
            let values = log_values(&sim, broker, partition);
            assert!(!values.is_empty(), "broker {broker} partition {partition}: replicated");
            assert_eq!(inversions(&values), 0, "broker {broker} partition {partition}: in order");
            assert_eq!(duplicates(&values), 0, "broker {broker} partition {partition}: once");
        }
    }
}

/// `request.timeout.ms` = 0 is a valid setting: `NetworkClient` expires a request once more than
/// 0 ms have passed since it was sent, so a millisecond later. (Expiring it the instant it left
/// resent and expired the metadata request forever without the clock moving, until the event
/// queue's bound panicked.) Every request here outlives its millisecond, so nothing is acked,
/// and the run reaches its end.
#[test]
fn a_request_timeout_of_zero_expires_each_request_a_millisecond_after_it_left() {
    let v = scenario(3, 3, json!({"acks": "all", "request.timeout.ms": 0}), json!({"records": 50}), json!([]));
    let s = from_value(&v).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::new(&s, 1);
    let stop = sim.run_until(SimTime::from_ms(2000), 1_000_000);
    assert_eq!(stop, brokerscope::sim::RunStop::Deadline, "the clock reached 2 s within the step budget");
    let trace = sim.drain_trace();
    let sends: Vec<(SimTime, NodeId)> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::MessageSent { api, to, .. } if e.node == NodeId::producer(1) && *api == "Metadata" => {
                Some((e.at, *to))
            }
            _ => None,
        })
        .collect();
    assert!(sends.len() > 10, "metadata is asked for again after each expiry: {}", sends.len());
    // Each expiry closes the connection and starts the node's reconnect backoff
    // (reconnect.backoff.ms 50, doubling up to reconnect.backoff.max.ms 1000): the next request
    // to that node leaves when its backoff ends, the expiry 1 ms after the send plus 50, 100,
    // 200, 400 and 800 ms.
    for broker in 1..=3 {
        let times: Vec<u64> = sends.iter().filter(|s| s.1 == NodeId::broker(broker)).map(|s| s.0.as_ms()).collect();
        let waits: Vec<u64> = times.windows(2).map(|w| w[1] - w[0] - 1).collect();
        assert_eq!(waits, [50, 100, 200, 400, 800], "broker-{broker}: sent at {times:?}");
    }
    let acked: usize = trace
        .iter()
        .map(|e| match &e.kind {
            TraceKind::SendsCompleted { send_ids, error: None, .. } => send_ids.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(acked, 0);
}

/// One record at 600 ms to a broker cut off from 300 ms: (link latency 5 ms).
fn cut_off(producer: Value) -> (Sim, Vec<TraceEvent>) {
    let v = json!({
        "duration_ms": 5000, "brokers": 1, "network": {"latency_ms": 5},
        "topics": [{"name": "t", "partitions": 1, "replication_factor": 1}],
        "producers": [{"id": "p", "config": producer,
            "workload": {"topic": "t", "records": 2, "rate_per_sec": 2, "key": null, "value_bytes": 10, "start_ms": 100}}],
        "events": [{"at_ms": 300, "action": "cut_link", "from": "p", "to": "broker-1", "both": true}]
    });
    run(v, 5000, 1)
}

#[test]
fn a_batch_in_flight_expires_at_its_delivery_timeout() {
    // `maybeUpdateNextBatchExpiryTime` counts batches in flight: the sender wakes for the one
    // created at 600 ms (the second record) at 600 + 1500 ms, not at some later wakeup.
    let (_, trace) = cut_off(json!({"linger.ms": 5, "request.timeout.ms": 1000, "delivery.timeout.ms": 1500}));
    let expired: Vec<(SimTime, u64)> = trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::BatchExpired { age_ms, .. } => Some((e.at, age_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(expired, [(SimTime::from_ms(2100), 1500)]);
}

#[test]
fn a_request_timeout_fails_every_request_on_its_connection_at_once() {
    // `handleTimedOutRequests` disconnects the node: when the Metadata request times out, the
    // Produce on the same connection fails with it (NETWORK_EXCEPTION), not on its own timer.
    let (_, trace) = cut_off(json!({"linger.ms": 5, "request.timeout.ms": 1000, "retry.backoff.ms": 10}));
    let metadata_sent: Vec<SimTime> = trace
        .iter()
        .filter(|e| {
            // Sent, or held by the cut link.
            matches!(&e.kind, TraceKind::MessageSent { api, .. } | TraceKind::MessageHeld { api, .. } if *api == "Metadata")
        })
        .map(|e| e.at)
        .collect();
    let failures: Vec<(SimTime, ErrorCode)> = trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::ProduceFailed { error, .. } => Some((e.at, error)),
            _ => None,
        })
        .collect();
    let network: Vec<SimTime> = failures.iter().filter(|f| f.1 == ErrorCode::NetworkException).map(|f| f.0).collect();
    assert!(!network.is_empty(), "{failures:?}");
    for at in network {
        // Each fails when a Metadata request sent 1 s earlier timed out.
        let by_metadata = metadata_sent.iter().any(|m| *m + brokerscope::sim::time::SimDuration::from_ms(1000) == at);
        assert!(by_metadata, "{at:?}: {metadata_sent:?}");
    }
}

#[test]
fn an_acks_0_producer_learns_of_a_moved_leader_when_the_old_one_hangs_up() {
    // broker-1 loses the controller at 2 s and leadership moves to broker-2; when it hears so
    // (the heal at 6 s) it refuses the acks=0 producer's batches with NOT_LEADER_OR_FOLLOWER.
    // No response is expected, so Kafka closes the connection: the producer sees the reset,
    // refreshes its metadata and writes to broker-2. Before, it kept sending to broker-1, which
    // dropped every batch, and the log ended with 440 of the 1000 records.
    let v = json!({ "duration_ms": 12000, "brokers": 3,
        "broker_config": { "broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 500 },
        "network": { "latency_ms": 5 },
        "topics": [ { "name": "orders", "partitions": 1, "replication_factor": 3 } ],
        "producers": [ { "id": "p", "config": { "acks": "0", "linger.ms": 5, "enable.idempotence": false },
            "workload": { "topic": "orders", "records": 1000, "rate_per_sec": 100, "key": "k-{i%9}", "value_bytes": 100, "start_ms": 100 } } ],
        "events": [ { "at_ms": 2000, "action": "cut_link", "from": "broker-1", "to": "controller-1", "both": true },
                    { "at_ms": 6000, "action": "heal_all" } ] });
    let (sim, trace) = run(v, 12_000, 1);
    let reset = trace
        .iter()
        .find(|e| {
            e.node == NodeId::producer(1)
                && matches!(e.kind, TraceKind::ConnectionReset { peer } if peer == NodeId::broker(1))
        })
        .expect("broker-1 hangs up")
        .at;
    assert!(reset > SimTime::from_ms(6000), "{reset}");
    let refreshed = trace.iter().any(|e| {
        e.node == NodeId::producer(1)
            && e.at > reset
            && matches!(&e.kind, TraceKind::MetadataUpdated { leaders, .. } if leaders[0] == Some(2))
    });
    assert!(refreshed, "the producer learns that broker-2 leads");
    let Some(Node::Broker(b)) = sim.node(NodeId::broker(2)) else { panic!() };
    let leo = b.replicas().values().next().unwrap().log.log_end_offset();
    assert!(leo > 800, "most records are written: {leo}");
}

#[test]
fn an_expired_batch_in_flight_does_not_keep_the_sender_waking() {
    // The batch in flight to a cut-off leader expires at delivery.timeout.ms (5,005 ms) while
    // its request waits for request.timeout.ms (5,000 ms from its send). From the expiry to the
    // request's end the sender has nothing to wake for: an expired batch marked done in its
    // request was still counted, and armed a wakeup every millisecond.
    let v = json!({
        "duration_ms": 20000, "brokers": 3, "network": {"latency_ms": 5},
        "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3}],
        "producers": [{"id": "p", "config": {"acks": "all", "linger.ms": 5, "request.timeout.ms": 5000,
                "delivery.timeout.ms": 5005, "max.in.flight.requests.per.connection": 1,
                "enable.idempotence": false, "retries": 0},
            "workload": {"topic": "orders", "records": 400, "rate_per_sec": 50, "value_bytes": 100, "start_ms": 100}}],
        "events": [{"at_ms": 2000, "action": "cut_link", "from": "p", "to": "broker-1", "both": true}]
    });
    let s = from_value(&v).unwrap();
    let mut sim = Sim::new(&s, 1);
    sim.run_until(SimTime::from_ms(9_000), 10_000_000);
    let before = sim.steps();
    let trace = sim.drain_trace();
    assert!(trace.iter().any(|e| matches!(e.kind, TraceKind::BatchExpired { .. })), "a batch expired");
    sim.run_until(SimTime::from_ms(11_000), 10_000_000);
    let steps = sim.steps() - before;
    assert!(steps < 500, "{steps} events in 2 s (records arrive at 50 a second)");
}

#[test]
fn a_dead_broker_fails_the_producer_id_request_it_was_sent() {
    // broker-1's process dies with the first InitProducerId on its way: the reset fails it at
    // once (`processDisconnection`), and the next goes to another broker, not 30 s later.
    let v = json!({
        "duration_ms": 5000, "brokers": 3, "broker_config": {"min.insync.replicas": 2},
        "network": {"latency_ms": 5},
        "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3}],
        "producers": [{"id": "p", "config": {"acks": "all", "enable.idempotence": true, "request.timeout.ms": 30000},
            "workload": {"topic": "orders", "records": 100, "rate_per_sec": 200, "value_bytes": 100, "start_ms": 100}}],
        "events": [{"at_ms": 101, "action": "crash_broker", "broker": 1}]
    });
    let (_, trace) = run(v, 5000, 1);
    let inits: Vec<(SimTime, NodeId)> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::MessageSent { api, to, .. } if *api == "InitProducerId" => Some((e.at, *to)),
            _ => None,
        })
        .collect();
    assert!(inits.len() >= 2, "{inits:?}");
    assert!(inits[1].0 < SimTime::from_ms(1000), "asked again at once: {inits:?}");
    let assigned = trace.iter().any(|e| matches!(e.kind, TraceKind::ProducerIdAssigned { .. }));
    assert!(assigned);
}
