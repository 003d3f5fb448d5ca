//! The scenario library's producer, replication, storage and consumer chapters show what their
//! descriptions promise. Expected values come from Kafka's rules (murmur2 placement, what each
//! acks level acknowledges, min.insync.replicas, idempotent sequence checks), not from a run.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerscope::scenario::{parse_json, BUILT_IN};
use brokerscope::sim::check::AckedCheck;
use brokerscope::sim::partitioner::partition_for_key;
use brokerscope::sim::protocol::ErrorCode;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::trace::{TraceEvent, TraceKind};
use brokerscope::sim::{ClusterView, Sim};
use brokerscope::summary::RunSummary;

struct Run {
    view: ClusterView,
    trace: Vec<TraceEvent>,
    checks: AckedCheck,
    summary: RunSummary,
}

fn run(id: &str) -> Run {
    let (_, json) = BUILT_IN.iter().find(|(i, _)| *i == id).expect("built-in exists");
    let s = parse_json(json).unwrap();
    let mut sim = Sim::new(&s, s.seed);
    let stop = sim.run_until(SimTime::from_ms(s.duration_ms), 10_000_000);
    let trace = sim.drain_trace();
    Run { view: sim.view(), trace, checks: sim.checks(), summary: RunSummary::new(&sim, stop) }
}

fn count(trace: &[TraceEvent], pred: impl Fn(&TraceKind) -> bool) -> usize {
    trace.iter().filter(|e| pred(&e.kind)).count()
}

#[test]
fn keyed_records_land_by_murmur2_and_keyless_ones_stick_to_a_partition_at_a_time() {
    let r = run("keys-and-partitions");
    let hw = r.view.leader_high_watermarks();
    let mut want = [0i64; 4];
    for i in 0..90 {
        want[partition_for_key(format!("customer-{}", i % 3).as_bytes(), 4) as usize] += 1;
    }
    let got: Vec<i64> = (0..4).map(|p| hw[format!("orders-{p}").as_str()]).collect();
    assert_eq!(got, want, "orders: every record of a key on murmur2(key) % 4");
    let clicks: Vec<i64> = (0..4).map(|p| hw[format!("clicks-{p}").as_str()]).collect();
    assert_eq!(clicks.iter().sum::<i64>(), 90);
    assert!(clicks.iter().filter(|n| **n > 0).count() >= 2, "keyless records move between partitions: {clicks:?}");
    assert!(count(&r.trace, |k| matches!(k, TraceKind::StickySwitched { .. })) >= 2);
    assert_eq!(r.checks.acked, 180);
}

#[test]
fn linger_holds_a_slow_stream_while_a_full_batch_leaves_at_once() {
    let r = run("batching");
    let m = &r.summary.producer_metrics;
    let (slow, fast) = (&m["producer-1"], &m["producer-2"]);
    // 20 records/s with linger.ms=1000: each batch waits the full linger and holds ~20 records.
    assert!(slow["record-queue-time-avg"] >= 950.0, "{slow:?}");
    assert!(slow["records-per-request-avg"] >= 15.0, "{slow:?}");
    // 500 records/s of ~100 B into batch.size=4096: full after ~36 records (~70 ms), long before linger.
    assert!(fast["record-queue-time-avg"] < 200.0, "{fast:?}");
    assert!(fast["batch-size-avg"] > 3000.0 && fast["batch-size-avg"] <= 4096.0, "{fast:?}");
    assert_eq!(r.checks.acked_lost, 0);
}

#[test]
fn adaptive_partitioning_draws_a_slow_brokers_partitions_less_than_a_uniform_draw() {
    let r = run("adaptive-partitioning");
    // Partitions 2 and 5 of each topic are led by broker-3, the one both producers reach slowly.
    let on_slow_broker = |p: u32| p == 2 || p == 5;
    for b in &r.view.brokers {
        for replica in b.replicas.iter().filter(|r| r.leader == Some(b.id.number) && !r.tp.starts_with("__")) {
            let partition: u32 = replica.tp.rsplit('-').next().unwrap().parse().unwrap();
            assert_eq!(on_slow_broker(partition), b.id.number == 3, "{} is led by {}", replica.tp, b.id);
        }
    }
    let batch_size = 1024;
    // (draws of a slow partition, all draws, bytes of stints on slow partitions, on others) per producer.
    let mut stats = [(0usize, 0usize, Vec::new(), Vec::new()), (0, 0, Vec::new(), Vec::new())];
    for e in &r.trace {
        if let TraceKind::StickySwitched { from, to, produced_bytes, .. } = &e.kind {
            let s = &mut stats[usize::from(e.node.number) - 1];
            s.0 += usize::from(on_slow_broker(*to));
            s.1 += 1;
            let stints = if on_slow_broker(*from) { &mut s.2 } else { &mut s.3 };
            // KIP-794: a partition is left once it took batch.size bytes and its last batch is
            // full, and at the latest once it took twice batch.size (plus the record that crossed it).
            assert!(*produced_bytes >= batch_size && *produced_bytes < 2 * batch_size + 120, "{e:?}");
            stints.push(u64::from(*produced_bytes));
        }
    }
    let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len() as f64;
    let [(adaptive_slow, adaptive_all, ..), (uniform_slow, uniform_all, uniform_slow_stints, uniform_other_stints)] =
        &stats;
    assert!(*adaptive_all > 30 && *uniform_all > 30, "{adaptive_all} and {uniform_all} draws");
    // A uniform draw picks two of six partitions a third of the time; the queue-weighted one less.
    let share = |slow: usize, all: usize| slow as f64 / all as f64;
    let uniform_share = share(*uniform_slow, *uniform_all);
    assert!((0.2..0.47).contains(&uniform_share), "uniform draws of broker-3's partitions: {uniform_share}");
    assert!(share(*adaptive_slow, *adaptive_all) < uniform_share - 0.1, "{stats:?}");
    // Batches for the slow broker fill while they wait, so the uniform producer's stints there
    // run on until the last batch is full: longer than where batches leave at linger.ms.
    assert!(mean(uniform_slow_stints) > mean(uniform_other_stints) + 200.0, "{stats:?}");
    // Fewer records queue for the slow broker, so they wait less.
    let m = &r.summary.producer_metrics;
    let queue_time = |p: &str| m[p]["record-queue-time-avg"];
    assert!(queue_time("producer-1") * 3.0 < queue_time("producer-2"), "{m:?}");
    let hw = r.view.leader_high_watermarks();
    let on_slow = |topic: &str| hw[format!("{topic}-2").as_str()] + hw[format!("{topic}-5").as_str()];
    assert!(on_slow("adaptive") < on_slow("uniform"), "{hw:?}");
    assert_eq!((r.checks.acked, r.checks.acked_lost), (1600, 0));
}

#[test]
fn a_full_buffer_pool_blocks_send_for_max_block_ms_then_fails_it() {
    let r = run("bufferpool-exhaustion");
    let p = &r.view.producers[0];
    assert!(p.records_failed > 0, "sends timed out after max.block.ms");
    assert!(count(&r.trace, |k| matches!(k, TraceKind::CallerBlocked { .. })) > 0);
    assert!(r.summary.producer_metrics["producer-1"]["bufferpool-wait-ratio"] > 0.0);
    assert_eq!(r.checks.acked_lost, 0);
}

#[test]
fn retries_without_idempotence_duplicate_and_reorder_with_it_they_do_not() {
    let plain = run("in-flight-ordering");
    assert!(plain.checks.duplicates > 0, "a retried batch the leader already had is written twice");
    assert!(plain.checks.reordered > 0, "with 5 in flight a retry lands behind later batches");
    assert_eq!(plain.checks.acked_lost, 0);
    assert!(plain.checks.violations.is_empty(), "legal without idempotence: {:?}", plain.checks.violations);

    let idempotent = run("idempotent-dedup");
    assert!(
        count(&idempotent.trace, |k| matches!(k, TraceKind::DuplicateBatch { .. })) > 0,
        "the broker saw the retries"
    );
    assert_eq!((idempotent.checks.duplicates, idempotent.checks.reordered, idempotent.checks.acked_lost), (0, 0, 0));
    assert_eq!(idempotent.checks.acked, 1600);
}

#[test]
fn an_isolated_leader_loses_what_acks_1_acknowledged_but_not_acks_all() {
    let r = run("acks-levels");
    assert!(r.checks.acked_lost > 0);
    let losers: std::collections::BTreeSet<String> = r.checks.lost.iter().map(|l| l.producer.to_string()).collect();
    let acks1 = r.view.producers.iter().find(|p| p.label == "producer-acks1").unwrap().id.to_string();
    assert_eq!(losers.into_iter().collect::<Vec<_>>(), [acks1], "only acks=1's acknowledged records are lost");
}

#[test]
fn min_insync_replicas_refuses_writes_on_a_lone_leader_and_loses_nothing() {
    let r = run("min-insync-replicas");
    let refused = count(&r.trace, |k| {
        matches!(k, TraceKind::ProduceFailed { error: ErrorCode::NotEnoughReplicas, .. })
            | matches!(k, TraceKind::AppendRejected { error: ErrorCode::NotEnoughReplicas, .. })
    });
    assert!(refused > 0, "NOT_ENOUGH_REPLICAS while the ISR is the leader alone");
    assert!(r.trace.iter().any(|e| matches!(&e.kind, TraceKind::IsrShrunk { isr, .. } if isr.len() == 1)));
    assert_eq!((r.checks.acked, r.checks.acked_lost), (1000, 0));
}

#[test]
fn followers_truncate_to_the_new_leaders_epoch_end() {
    let r = run("follower-truncation");
    assert!(count(&r.trace, |k| matches!(k, TraceKind::DivergenceDetected { .. })) > 0);
    assert!(count(&r.trace, |k| matches!(k, TraceKind::LogTruncated { bytes, .. } if *bytes > 0)) > 0);
    assert_eq!((r.checks.acked, r.checks.acked_lost), (1600, 0));
}

#[test]
fn retention_deletes_whole_segments_and_compaction_keeps_the_latest_per_key() {
    let r = run("segments-retention-compaction");
    assert!(count(&r.trace, |k| matches!(k, TraceKind::SegmentDeleted { .. })) > 0);
    assert!(count(&r.trace, |k| matches!(k, TraceKind::LogCompacted { .. })) > 0);
    let clicks = r.view.brokers[0].replicas.iter().find(|x| x.tp == "clicks-0").unwrap();
    assert!(clicks.log_start_offset > 0, "retention moved the log start");
}

#[test]
fn a_crash_between_auto_commits_redelivers_the_uncommitted_records() {
    let r = run("auto-commit-redelivery");
    let redelivered: u64 = r.summary.consumers.values().map(|c| c.redelivered).sum();
    assert!(redelivered > 0, "records read after the last auto-commit are read again");
    assert_eq!(r.checks.acked_lost, 0);
}

/// Two producers, one idempotent and one not, sending records with equal content to one
/// partition, and a retry window (a cut link) for the plain one only.
fn mixed_producers(plain_retries: bool) -> Sim {
    let json = format!(
        r#"{{"name": "mixed", "duration_ms": 8000, "brokers": 3, "seed": 3,
        "network": {{"latency_ms": 5, "jitter_ms": 2}},
        "topics": [{{"name": "t", "partitions": 1, "replication_factor": 3}}],
        "producers": [
          {{"id": "plain", "config": {{"enable.idempotence": false, "acks": "all", "max.in.flight.requests.per.connection": 5, "request.timeout.ms": 1000}},
            "workload": {{"topic": "t", "records": 400, "rate_per_sec": 200, "key": "k-{{i%5}}", "value_bytes": 50}}}},
          {{"id": "safe", "config": {{"enable.idempotence": true, "acks": "all"}},
            "workload": {{"topic": "t", "records": 400, "rate_per_sec": 200, "key": "k-{{i%5}}", "value_bytes": 50}}}}
        ],
        "events": {}}}"#,
        if plain_retries {
            r#"[{"at_ms": 1000, "action": "cut_link", "from": "producer-1", "to": "broker-1", "both": true},
                {"at_ms": 2500, "action": "heal_link", "from": "producer-1", "to": "broker-1", "both": true}]"#
        } else {
            "[]"
        }
    );
    let s = parse_json(&json).unwrap();
    let mut sim = Sim::new(&s, s.seed);
    sim.run_until(SimTime::from_ms(s.duration_ms), 10_000_000);
    sim
}

#[test]
fn equal_records_from_two_producers_are_not_duplicates_and_a_plain_producers_retries_break_no_promise() {
    let quiet = mixed_producers(false).checks();
    assert_eq!(quiet.acked, 800);
    assert_eq!(quiet.duplicates, 0, "equal content from two producers is two records, not a duplicate");
    assert!(quiet.violations.is_empty(), "{:?}", quiet.violations);

    let retried = mixed_producers(true).checks();
    assert!(retried.duplicates + retried.reordered > 0, "the plain producer's retries duplicate or reorder");
    let kinds: Vec<_> = retried.violations.iter().map(|v| v.kind).collect();
    assert!(kinds.is_empty(), "legal without idempotence, even beside an idempotent producer: {kinds:?}");
}
