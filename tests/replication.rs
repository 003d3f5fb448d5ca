//! Replication with the controller: leader crashes and elections (clean, unclean, preferred),
//! fencing by session timeout, follower truncation on divergence (KIP-101/279/320), restart and
//! catch-up — and the seeds' core promise: acks=all + RF 3 + min ISR 2 + clean elections lose no
//! acknowledged record, while acks=1 or unclean election visibly can.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerscope::scenario::from_value;
use brokerscope::sim::check::{AckedCheck, LossKind};
use brokerscope::sim::node::NodeId;
use brokerscope::sim::protocol::Tp;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::trace::{ElectionKind, TraceEvent, TraceKind};
use brokerscope::sim::{Node, Sim};
use serde_json::{json, Value};

/// One partition, RF 3 on 3 brokers (broker-1 leads), 2,000 keyed records at 200/s, fast broker
/// liveness (`broker.session.timeout.ms` 3 s) so elections happen within the run.
fn scenario(acks: &str, broker_config: Value, links: Value, events: Value) -> Value {
    let mut brokers = json!({
        "replica.lag.time.max.ms": 2000, "broker.session.timeout.ms": 3000,
        "broker.heartbeat.interval.ms": 500, "leader.imbalance.check.interval.seconds": 5
    });
    for (k, v) in broker_config.as_object().unwrap() {
        brokers[k] = v.clone();
    }
    json!({
        "duration_ms": 30000, "brokers": 3, "broker_config": brokers,
        "network": {"latency_ms": 5, "jitter_ms": 2, "links": links},
        "topics": [{"name": "orders", "partitions": 1, "replication_factor": 3}],
        "producers": [{"id": "p", "config": {"acks": acks, "linger.ms": 5, "request.timeout.ms": 3000},
            "workload": {"topic": "orders", "records": 2000, "rate_per_sec": 200, "key": "order-{i%9}",
                         "value_bytes": 100, "start_ms": 100}}],
        "events": events
    })
}

/// Replication from broker-1 is slow (150 ms each way): acks=1 answers before followers copy.
fn slow_replication_from_leader() -> Value {
    json!([
        {"from": "broker-1", "to": "broker-2", "both": true, "latency_ms": 150},
        {"from": "broker-1", "to": "broker-3", "both": true, "latency_ms": 150}
    ])
}

fn leader_crash(kind: &str) -> Value {
    json!([
        {"at_ms": 3000, "action": "crash_broker", "broker": 1, "kind": kind},
        {"at_ms": 8000, "action": "restart_broker", "broker": 1}
    ])
}

fn run(v: &Value, seed: u64) -> (Sim, Vec<TraceEvent>) {
    let s = from_value(v).unwrap();
    let mut sim = Sim::new(&s, seed);
    sim.run_until(SimTime::from_ms(30000), 50_000_000);
    let trace = sim.drain_trace();
    (sim, trace)
}

fn elections(trace: &[TraceEvent]) -> Vec<(Option<u16>, i32, ElectionKind)> {
    trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::LeaderElected { leader, leader_epoch, election, .. } => {
                Some((*leader, *leader_epoch, *election))
            }
            _ => None,
        })
        .collect()
}

fn print_lost(what: &str, seed: u64, check: &AckedCheck) {
    let offsets: Vec<String> = check.lost.iter().map(|l| format!("{}@{}", l.tp, l.offset)).collect();
    eprintln!("{what} seed {seed}: acked {} lost {}: {}", check.acked, check.acked_lost, offsets.join(" "));
}

/// Every replica's log holds the same records (by fingerprint) as every other.
fn assert_logs_identical(sim: &Sim) {
    let tp = Tp::new(&"orders".into(), 0);
    let logs: Vec<Vec<(i64, u64)>> = (1..=3)
        .map(|b| match sim.node(NodeId::broker(b)) {
            Some(Node::Broker(broker)) => broker.replicas()[&tp]
                .log
                .batches()
                .flat_map(|batch| batch.records())
                .map(|(o, r)| (o, r.fingerprint()))
                .collect(),
            _ => unreachable!("brokers exist"),
        })
        .collect();
    assert!(!logs[0].is_empty());
    assert_eq!(logs[0], logs[1], "broker-1 and broker-2 logs match");
    assert_eq!(logs[0], logs[2], "broker-1 and broker-3 logs match");
}

#[test]
fn leader_crash_with_acks_all_min_isr_2_and_clean_election_loses_no_acked_record() {
    for kind in ["process", "machine"] {
        let v = scenario("all", json!({"min.insync.replicas": 2}), slow_replication_from_leader(), leader_crash(kind));
        for seed in 1..=4 {
            let (sim, trace) = run(&v, seed);
            let check = sim.acked_check();
            print_lost(kind, seed, &check);
            assert_eq!(check.acked, 2000, "{kind} seed {seed}: every record acknowledged after the failover");
            assert_eq!(check.acked_lost + check.acked_unavailable, 0, "{kind} seed {seed}: {:?}", check.lost);
            let e = elections(&trace);
            assert!(
                matches!(e.first(), Some((Some(2 | 3), 1, ElectionKind::Clean))),
                "{kind} seed {seed}: a follower took over in epoch 1: {e:?}"
            );
            assert_logs_identical(&sim);
        }
    }
}

#[test]
fn leader_crash_with_acks_1_loses_the_unreplicated_tail() {
    let v = scenario("1", json!({}), slow_replication_from_leader(), leader_crash("process"));
    let mut seeds_with_loss = 0;
    for seed in 1..=4 {
        let (sim, trace) = run(&v, seed);
        let check = sim.acked_check();
        print_lost("acks=1", seed, &check);
        // The new leader of epoch 1 started at its LEO; what broker-1 acknowledged past that is gone.
        let start = trace
            .iter()
            .find_map(|e| match &e.kind {
                TraceKind::BecameLeader { leader_epoch: 1, start_offset, .. } => Some(*start_offset),
                _ => None,
            })
            .expect("a follower became leader in epoch 1");
        let lost_first = check.lost.iter().filter(|l| l.kind != LossKind::Unavailable).map(|l| l.offset).min();
        if check.acked_lost > 0 {
            seeds_with_loss += 1;
            assert!(lost_first.unwrap() >= start, "seed {seed}: loss only past epoch 1's start offset {start}");
        }
        assert_logs_identical(&sim);
    }
    assert!(seeds_with_loss >= 1, "acks=1 with a leader crash loses acknowledged records in some seed");
}

#[test]
fn unclean_election_loses_acked_records_and_a_clean_cluster_waits_offline() {
    let events = json!([
        {"at_ms": 1000, "action": "cut_link", "from": "broker-1", "to": "broker-2", "both": true},
        {"at_ms": 1000, "action": "cut_link", "from": "broker-1", "to": "broker-3", "both": true},
        {"at_ms": 6000, "action": "crash_broker", "broker": 1},
        {"at_ms": 6500, "action": "heal_all"},
        {"at_ms": 12000, "action": "restart_broker", "broker": 1}
    ]);
    let unclean = scenario("all", json!({"unclean.leader.election.enable": true}), json!([]), events.clone());
    let (sim, trace) = run(&unclean, 1);
    let check = sim.acked_check();
    print_lost("unclean", 1, &check);
    assert!(check.acked_lost > 100, "the followers were cut off for 2 s of acks=all min ISR 1 writes");
    let e = elections(&trace);
    assert_eq!(e[0], (Some(2), 1, ElectionKind::Unclean), "{e:?}");
    let forced_isr = trace.iter().find_map(|ev| match &ev.kind {
        TraceKind::LeaderElected { isr, election: ElectionKind::Unclean, .. } => Some(isr.clone()),
        _ => None,
    });
    assert_eq!(forced_isr, Some(vec![2]), "the ISR is forced to the unclean leader");
    assert_logs_identical(&sim);

    let clean = scenario("all", json!({"unclean.leader.election.enable": false}), json!([]), events);
    let (sim, trace) = run(&clean, 1);
    let check = sim.acked_check();
    assert_eq!(check.acked_lost + check.acked_unavailable, 0, "{:?}", check.lost);
    let e = elections(&trace);
    assert_eq!(e[0], (None, 1, ElectionKind::Offline), "no in-sync replica: offline until broker-1 returns");
    assert_eq!(e[1], (Some(1), 2, ElectionKind::Clean), "broker-1, the last ISR member, leads again");
}

#[test]
fn a_returning_leader_truncates_its_divergent_tail_then_rejoins_the_isr() {
    let v = scenario("1", json!({}), slow_replication_from_leader(), leader_crash("process"));
    let (sim, trace) = run(&v, 1);
    let start = trace
        .iter()
        .find_map(|e| match &e.kind {
            TraceKind::BecameLeader { leader_epoch: 1, start_offset, .. } => Some(*start_offset),
            _ => None,
        })
        .expect("epoch 1 leader");
    let restart = SimTime::from_ms(8000);
    let divergence = trace
        .iter()
        .find_map(|e| match &e.kind {
            TraceKind::DivergenceDetected { epoch, end_offset, truncate_to, .. }
                if e.node == NodeId::broker(1) && e.at >= restart =>
            {
                Some((*epoch, *end_offset, *truncate_to))
            }
            _ => None,
        })
        .expect("broker-1 finds its log diverging after the restart");
    assert_eq!(divergence, (0, start, start), "epoch 0 ends where epoch 1 started: truncate there");
    let rejoined = trace.iter().any(|e| e.at > restart && matches!(&e.kind, TraceKind::IsrExpanded { added: 1, .. }));
    assert!(rejoined, "broker-1 catches up and rejoins the ISR");
    assert_logs_identical(&sim);
}

#[test]
fn preferred_leader_election_moves_leadership_back_only_when_enabled() {
    let v = scenario("all", json!({"min.insync.replicas": 2}), json!([]), leader_crash("process"));
    let (sim, trace) = run(&v, 3);
    let e = elections(&trace);
    assert_eq!(e.last().map(|x| (x.0, x.2)), Some((Some(1), ElectionKind::Preferred)), "{e:?}");
    assert_eq!(sim.committed_leader(&Tp::new(&"orders".into(), 0)), Some(1));

    let off = scenario(
        "all",
        json!({"min.insync.replicas": 2, "auto.leader.rebalance.enable": false}),
        json!([]),
        leader_crash("process"),
    );
    let (sim, trace) = run(&off, 3);
    assert!(elections(&trace).iter().all(|x| x.2 != ElectionKind::Preferred));
    assert_ne!(sim.committed_leader(&Tp::new(&"orders".into(), 0)), Some(1));
}

#[test]
fn a_broker_cut_off_from_the_controller_is_fenced_and_leaves_the_isr_then_returns() {
    let events = json!([
        {"at_ms": 2000, "action": "cut_link", "from": "broker-3", "to": "controller-1", "both": true},
        {"at_ms": 9000, "action": "heal_link", "from": "broker-3", "to": "controller-1", "both": true}
    ]);
    let v = scenario("all", json!({"min.insync.replicas": 2}), json!([]), events);
    let (sim, trace) = run(&v, 1);
    let fenced = trace.iter().find(|e| matches!(&e.kind, TraceKind::BrokerFenced { broker: 3, .. })).expect("fenced");
    // The last heartbeat before the cut was at most one interval (0.5 s) before it.
    let at = fenced.at.as_ms();
    assert!((4500..=5100).contains(&at), "fenced one session timeout after the last heartbeat, at {at} ms");
    let shrunk = trace.iter().any(|e| {
        e.node == NodeId::CONTROLLER && matches!(&e.kind, TraceKind::PartitionChanged { isr, .. } if isr == &vec![1, 2])
    });
    assert!(shrunk, "the controller removes the fenced broker from the ISR");
    assert!(trace.iter().any(|e| matches!(&e.kind, TraceKind::BrokerUnfenced { broker: 3 })));
    let back = trace.iter().any(|e| e.at.as_ms() > 9000 && matches!(&e.kind, TraceKind::IsrExpanded { added: 3, .. }));
    assert!(back, "after the heal broker-3 is unfenced and rejoins the ISR");
    assert_eq!(sim.acked_check().acked, 2000);
}

#[test]
fn run_summary_reports_a_down_leader_and_under_replicated_partitions() {
    use brokerscope::sim::RunStop;
    use brokerscope::summary::RunSummary;
    let v = scenario(
        "all",
        json!({"min.insync.replicas": 2}),
        json!([]),
        json!([
            {"at_ms": 3000, "action": "crash_broker", "broker": 1}
        ]),
    );
    let s = from_value(&v).unwrap();
    let mut sim = Sim::new(&s, 1);
    let stop = sim.run_until(SimTime::from_ms(12000), 50_000_000);
    let summary = RunSummary::new(&sim, stop);
    assert_eq!(stop, RunStop::Deadline);
    let b1 = &summary.brokers["broker-1"];
    assert!(!b1.alive && b1.fenced, "{b1:?}");
    let b2 = &summary.brokers["broker-2"];
    assert_eq!(
        (b2.metrics["LeaderCount"], b2.metrics["UnderReplicatedPartitions"]),
        (1.0, 1.0),
        "leads with ISR [2, 3]"
    );
    assert_eq!(summary.partitions[0].leader, Some(2));
    assert_eq!(summary.partitions[0].isr, [2, 3]);
}

#[test]
fn a_leader_that_wrote_nothing_in_its_epoch_rejoins_as_a_follower() {
    // Everything is produced by 1 s. broker-1 dies at 2 s; broker-2 leads epoch 1 but gets no
    // writes; broker-1 returns and takes leadership back (epoch 2). broker-2's cache still has
    // epoch 1 starting at its LEO: the truncation to that LEO must drop it (`truncateTo`), or it
    // would ask about epoch 1 forever and never rejoin the ISR.
    let mut v = scenario(
        "all",
        json!({"min.insync.replicas": 2}),
        json!([]),
        json!([
            {"at_ms": 2000, "action": "crash_broker", "broker": 1},
            {"at_ms": 6000, "action": "restart_broker", "broker": 1}
        ]),
    );
    v["producers"][0]["workload"]["records"] = json!(100);
    let (sim, trace) = run(&v, 1);
    let e = elections(&trace);
    assert_eq!(e, [(Some(2), 1, ElectionKind::Clean), (Some(1), 2, ElectionKind::Preferred)], "{e:?}");
    let preferred_at = trace
        .iter()
        .find(|ev| matches!(ev.kind, TraceKind::LeaderElected { election: ElectionKind::Preferred, .. }))
        .unwrap()
        .at;
    let divergences = trace
        .iter()
        .filter(|ev| ev.node == NodeId::broker(2) && matches!(ev.kind, TraceKind::DivergenceDetected { .. }))
        .count();
    assert!(divergences <= 1, "one divergence round at most, not a loop: {divergences}");
    let rejoined =
        trace.iter().any(|ev| ev.at > preferred_at && matches!(ev.kind, TraceKind::IsrExpanded { added: 2, .. }));
    let committed_isr = match sim.node(NodeId::CONTROLLER) {
        Some(Node::Controller(c)) => c.partitions()[&Tp::new(&"orders".into(), 0)].isr.clone(),
        _ => unreachable!(),
    };
    assert!(rejoined || committed_isr == [1, 2, 3], "broker-2 is in sync under broker-1: {committed_isr:?}");
    assert_eq!(committed_isr, [1, 2, 3]);
    assert_logs_identical(&sim);
}

#[test]
fn a_follower_behind_the_leaders_log_start_starts_over_there() {
    // Time retention (1 s, checked every 250 ms, 250 ms segments) deletes the leader's old
    // segments while broker-3's machine is down; broker-3 comes back with an empty log, below
    // the leader's log start: OFFSET_OUT_OF_RANGE, so it restarts its log at the leader's start.
    let mut v = scenario(
        "all",
        json!({"min.insync.replicas": 1, "log.retention.check.interval.ms": 250, "log.initial.task.delay.ms": 0}),
        json!([]),
        json!([
            {"at_ms": 500, "action": "crash_broker", "broker": 3, "kind": "machine"},
            {"at_ms": 9000, "action": "restart_broker", "broker": 3}
        ]),
    );
    v["topics"][0]["config"] = json!({"retention.ms": 1000, "segment.ms": 250});
    v["producers"][0]["workload"]["records"] = json!(1000);
    let (sim, trace) = run(&v, 1);
    let tp = Tp::new(&"orders".into(), 0);
    let log = |b: u16| match sim.node(NodeId::broker(b)) {
        Some(Node::Broker(broker)) => {
            let l = &broker.replicas()[&tp].log;
            (l.log_start_offset(), l.log_end_offset())
        }
        _ => unreachable!(),
    };
    let restart = SimTime::from_ms(9000);
    let restarted_at = trace
        .iter()
        .find_map(|e| match &e.kind {
            TraceKind::LogTruncated { to, log_end_offset, .. }
                if e.node == NodeId::broker(3) && e.at > restart && *to == *log_end_offset && *to > 0 =>
            {
                Some(*to)
            }
            _ => None,
        })
        .expect("broker-3 starts its log over at the leader's log start");
    assert!(restarted_at > 0);
    let (leader_start, leader_end) = log(1);
    let (start3, end3) = log(3);
    assert_eq!(end3, leader_end, "caught up");
    assert!(start3 >= restarted_at && leader_start >= restarted_at, "{start3} {leader_start} {restarted_at}");
    let check = sim.acked_check();
    assert_eq!((check.acked, check.acked_lost), (1000, 0), "retention deletes by design; it is not a loss");
}
