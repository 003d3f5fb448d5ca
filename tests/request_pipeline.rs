//! The broker request path: request queue, `num.io.threads` handlers with a service time,
//! `queued.max.requests`, one request in process per connection; and connection resets when a
//! broker's process (not its machine) dies.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerscope::scenario::from_value;
use brokerscope::sim::node::NodeId;
use brokerscope::sim::time::{SimDuration, SimTime};
use brokerscope::sim::trace::{TraceEvent, TraceKind};
use brokerscope::sim::Sim;
use brokerscope::summary::RunSummary;
use serde_json::{json, Value};

/// Three producers on one single-partition, single-replica topic led by broker-1; each
/// request costs 2 ms of handler time.
fn busy_broker(io_threads: u32, queued_max: u32) -> Value {
    let producer = |id: &str| {
        json!({"id": id, "config": {"acks": "1", "linger.ms": 0},
               "workload": {"topic": "t", "records": 300, "rate_per_sec": 300, "value_bytes": 100}})
    };
    json!({
        "duration_ms": 3000, "brokers": 1,
        "broker_config": {"num.io.threads": io_threads, "queued.max.requests": queued_max},
        "broker_service_time": {"per_request_us": 2000, "per_kib_us": 0},
        "network": {"latency_ms": 1},
        "topics": [{"name": "t", "partitions": 1, "replication_factor": 1}],
        "producers": [producer("a"), producer("b"), producer("c")]
    })
}

fn run(v: &Value) -> (Sim, Vec<TraceEvent>, RunSummary) {
    let s = from_value(v).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::new(&s, 1);
    let stop = sim.run_until(SimTime::from_ms(s.duration_ms), 50_000_000);
    let trace = sim.drain_trace();
    let summary = RunSummary::new(&sim, stop);
    (sim, trace, summary)
}

#[test]
fn one_handler_queues_requests_and_eight_do_not() {
    let (_, trace, one) = run(&busy_broker(1, 500));
    let (_, _, eight) = run(&busy_broker(8, 500));
    let m1 = &one.brokers["broker-1"].metrics;
    let m8 = &eight.brokers["broker-1"].metrics;
    // Each producer has one request in process at a time; with one handler the three
    // connections' requests take turns: on average a request waits for part of another's 2 ms.
    assert!(m1["RequestQueueTimeMs"] > 0.5, "one handler: {m1:?}");
    assert!(m8["RequestQueueTimeMs"] < 0.01, "eight handlers, at most three requests at once: {m8:?}");
    // Saturated: every connection always has its next request waiting, so a request waits for
    // the two others' 2 ms each (just under 4 ms on average: the run starts idle).
    assert!((3.5..=4.0).contains(&m1["RequestQueueTimeMs"]), "{m1:?}");
    // Busy time is 2 ms per finished request; a request still in service at the end is taken
    // but not finished: idle = 1 − finished × 2 ms / 3 s, finished ∈ {taken − 1, taken}.
    let idle_if = |finished: f64| 1.0 - finished * 2.0 / 3000.0;
    let (taken, idle) = (m1["RequestsHandled"], m1["RequestHandlerAvgIdlePercent"]);
    assert!((idle - idle_if(taken)).abs() < 1e-9 || (idle - idle_if(taken - 1.0)).abs() < 1e-9, "{m1:?}");
    assert!(taken >= 300.0, "at least one request per producer per record batch round: {taken}");
    assert!(m8["RequestHandlerAvgIdlePercent"] > m1["RequestHandlerAvgIdlePercent"]);
    let waited: Vec<SimDuration> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::RequestDequeued { api: "Produce", queue_time, .. } => Some(*queue_time),
            _ => None,
        })
        .collect();
    assert!(!waited.is_empty(), "queueing shows in the trace");
    assert!(waited.iter().all(|w| *w <= SimDuration::from_ms(4)), "at most two requests ahead: {waited:?}");
    for s in [&one, &eight] {
        assert_eq!(s.checks.acked, 900, "everything is acknowledged either way");
    }
}

#[test]
fn more_handlers_take_the_waiting_requests_at_the_config_change() {
    // One saturated handler: three connections, each with its next request waiting. At 1000 ms
    // `num.io.threads` goes to 3: the two waiting requests start then, not at the broker's next
    // event (a no-op timer skipped by the simulator must not be what starts them).
    let mut v = busy_broker(1, 500);
    v["events"] = json!([{"at_ms": 1000, "action": "config_change", "target": "broker-1",
                           "property": "num.io.threads", "value": 3}]);
    let (_, trace, _) = run(&v);
    let at = SimTime::from_ms(1000);
    let changed = trace
        .iter()
        .position(|e| e.at == at && matches!(e.kind, TraceKind::ConfigChanged { .. }))
        .expect("the change is traced at 1000 ms");
    let started: Vec<&TraceEvent> = trace[changed..]
        .iter()
        .take_while(|e| e.at == at)
        .filter(|e| matches!(e.kind, TraceKind::RequestDequeued { api: "Produce", .. }))
        .collect();
    assert_eq!(started.len(), 2, "both waiting requests start with the change: {started:?}");
}

#[test]
fn a_full_request_queue_leaves_requests_unread_on_their_connections() {
    let s = from_value(&busy_broker(1, 1)).unwrap();
    let mut sim = Sim::new(&s, 1);
    let mut unread_max = 0;
    let mut depth_max = 0;
    for ms in 1..=600 {
        sim.run_until(SimTime::from_ms(ms), 10_000_000);
        let b = &sim.view().brokers[0];
        unread_max = unread_max.max(b.requests_unread);
        depth_max = depth_max.max(b.request_queue_depth);
    }
    assert_eq!(depth_max, 1, "queued.max.requests = 1");
    assert!(unread_max >= 1, "the other connections' requests wait unread");
}

fn leader_crash(kind: &str) -> Vec<TraceEvent> {
    let v = json!({
        "duration_ms": 8000, "brokers": 3,
        "broker_config": {"min.insync.replicas": 2, "broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 500},
        "network": {"latency_ms": 5},
        "topics": [{"name": "t", "partitions": 1, "replication_factor": 3}],
        "producers": [{"id": "p", "config": {"acks": "all", "linger.ms": 5, "request.timeout.ms": 5000},
            "workload": {"topic": "t", "records": 1000, "rate_per_sec": 200, "value_bytes": 100}}],
        "events": [{"at_ms": 1000, "action": "crash_broker", "broker": 1, "kind": kind}]
    });
    run(&v).1
}

#[test]
fn a_dead_process_resets_connections_a_dead_machine_stays_silent() {
    let process = leader_crash("process");
    let reset = process
        .iter()
        .find(|e| {
            e.node == NodeId::producer(1)
                && matches!(e.kind, TraceKind::ConnectionReset { peer } if peer == NodeId::broker(1))
        })
        .expect("the producer's connection to broker-1 is reset");
    assert_eq!(reset.at, SimTime::from_ms(1005), "one link latency after the crash");
    let machine = leader_crash("machine");
    assert!(machine.iter().all(|e| !matches!(e.kind, TraceKind::ConnectionReset { .. })), "no RST from a dead machine");
    // Without a reset the producer learns of the failure only when its request times out.
    let first_failure = |trace: &[TraceEvent]| {
        trace
            .iter()
            .find(|e| matches!(&e.kind, TraceKind::ProduceFailed { .. }) && e.at > SimTime::from_ms(1000))
            .map(|e| e.at)
    };
    let (p, m) = (first_failure(&process), first_failure(&machine));
    assert!(p.is_some_and(|t| t < SimTime::from_ms(1200)), "process crash: failed over at once: {p:?}");
    assert!(m.is_some_and(|t| t >= SimTime::from_ms(5000)), "machine crash: only after request.timeout.ms: {m:?}");
}

#[test]
fn a_connections_pipelined_produces_are_handled_one_after_another_even_when_each_completes_at_once() {
    // An idempotent producer (acks=all) to single-replica partitions: each Produce completes as
    // soon as it is appended (the ISR is the leader alone). Its link to broker-1 is cut for 3 s,
    // so up to five requests pile up and arrive together at the heal. The broker reads the
    // next one only once it answered the one before: no two run side by side, so none of them
    // overtakes another and meets OUT_OF_ORDER_SEQUENCE_NUMBER.
    let v = json!({
        "duration_ms": 8000, "brokers": 3, "network": {"latency_ms": 5, "jitter_ms": 1},
        "broker_service_time": {"per_request_us": 2000, "per_kib_us": 0},
        "topics": [{"name": "t", "partitions": 3, "replication_factor": 1}],
        "producers": [{"id": "p", "config": {"linger.ms": 5},
            "workload": {"topic": "t", "records": 1500, "rate_per_sec": 300, "key": "k{i%30}", "value_bytes": 50, "start_ms": 100}}],
        "events": [{"at_ms": 1000, "action": "cut_link", "from": "p", "to": "broker-1", "both": true},
                   {"at_ms": 4000, "action": "heal_link", "from": "p", "to": "broker-1", "both": true}]
    });
    let (_, trace, summary) = run(&v);
    assert!(!trace.iter().any(|e| matches!(e.kind, TraceKind::AppendRejected { .. })), "no append is rejected");
    assert_eq!(summary.checks.acked_lost, 0);
    // broker-1's appends after the heal: at least one service time (2 ms) apart.
    let appends: Vec<SimTime> = trace
        .iter()
        .filter(|e| e.node == NodeId::broker(1) && e.at > SimTime::from_ms(4000))
        .filter(|e| matches!(e.kind, TraceKind::BatchAppended { .. }))
        .map(|e| e.at)
        .collect();
    assert!(appends.len() >= 5, "{appends:?}");
    for pair in appends.windows(2) {
        assert!(pair[1].saturating_since(pair[0]) >= SimDuration::from_ms(2), "{pair:?}: side by side");
    }
}
