//! The app's built-in scenarios parse and show what their descriptions promise.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::generations;

use brokerscope::scenario::{parse_json, BUILT_IN};
use brokerscope::sim::node::NodeId;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::trace::{TraceEvent, TraceKind};
use brokerscope::sim::{ClusterView, Sim};

fn run(id: &str) -> (ClusterView, Vec<TraceEvent>) {
    let (_, json) = BUILT_IN.iter().find(|(i, _)| *i == id).expect("built-in exists");
    let s = parse_json(json).unwrap();
    let mut sim = Sim::new(&s, s.seed);
    sim.run_until(SimTime::from_ms(s.duration_ms), 10_000_000);
    (sim.view(), sim.drain_trace())
}

fn first_at(trace: &[TraceEvent], pred: impl Fn(&TraceEvent) -> bool) -> SimTime {
    trace.iter().find(|e| pred(e)).map(|e| e.at).expect("event happens")
}

#[test]
fn every_built_in_scenario_parses_with_a_name_and_description() {
    assert_eq!(BUILT_IN[0].0, "hello");
    for (id, json) in BUILT_IN {
        let s = parse_json(json).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(!s.name.is_empty() && s.description.len() > 40, "{id}");
    }
}

#[test]
fn slow_follower_shrinks_then_expands_and_everything_commits() {
    let (view, trace) = run("slow-follower");
    // The `orders` partitions (idle `__consumer_offsets` partitions shrink earlier: a fetch
    // round trip over the slowed link alone exceeds replica.lag.time.max.ms).
    let orders = |tp: &brokerscope::sim::protocol::Tp| &*tp.topic == "orders";
    let shrink = first_at(&trace, |e| matches!(&e.kind, TraceKind::IsrShrunk { removed: 3, tp, .. } if orders(tp)));
    let expand = first_at(&trace, |e| matches!(&e.kind, TraceKind::IsrExpanded { added: 3, tp, .. } if orders(tp)));
    // Slowed at 2 s (1.5 s each way). Its fetch in flight at 2 s arrives at ~3.5 s reporting the
    // leader's LEO: caught up then. From then on each acks=all produce waits for it, and the
    // producer's connection stays muted meanwhile, so the leader's LEO hardly moves. The first
    // ISR check (every 1 s) more than replica.lag.time.max.ms (2 s) later is at 6 s; the shrink
    // commits one AlterPartition round trip after it. Fast again at 9 s.
    assert!(shrink > SimTime::from_ms(6000) && shrink <= SimTime::from_ms(6100), "{shrink}");
    assert!(expand > SimTime::from_ms(9000), "{expand}");
    let acked_while_out = trace
        .iter()
        .filter(|e| e.at > shrink && e.at < SimTime::from_ms(9000) && matches!(e.kind, TraceKind::ProduceAcked { .. }))
        .count();
    assert!(acked_while_out > 100, "acks=all with min ISR 2 keeps completing on {{1, 2}}: {acked_while_out}");
    assert_eq!(view.producers[0].records_acked, 480);
    assert_eq!(view.consumers[0].records_consumed, 480);
}

#[test]
fn follower_machine_crash_truncates_to_zero_then_catches_up() {
    let (view, trace) = run("follower-machine-crash");
    let truncated: Vec<i64> = trace
        .iter()
        .filter(|e| e.node == NodeId::broker(3))
        .filter_map(|e| match e.kind {
            TraceKind::LogTruncated { log_end_offset, .. } => Some(log_end_offset),
            _ => None,
        })
        .collect();
    assert_eq!(truncated, [0, 0], "both of broker-3's logs lose everything at the machine crash");
    assert_eq!(view.producers[0].records_acked, 400);
    for b in &view.brokers {
        let leo: i64 = b.replicas.iter().filter(|r| r.tp.starts_with("orders-")).map(|r| r.log_end_offset).sum();
        assert_eq!(leo, 400, "{} holds every record after catching up", b.id);
        for r in b.replicas.iter().filter(|r| r.leader == Some(b.id.number)) {
            assert_eq!(r.isr, [1, 2, 3], "{} ISR healed", r.tp);
        }
    }
}

fn acked_check(id: &str) -> (brokerscope::sim::check::AckedCheck, Vec<TraceEvent>) {
    let (_, json) = BUILT_IN.iter().find(|(i, _)| *i == id).expect("built-in exists");
    let s = parse_json(json).unwrap();
    let mut sim = Sim::new(&s, s.seed);
    sim.run_until(SimTime::from_ms(s.duration_ms), 10_000_000);
    let trace = sim.drain_trace();
    (sim.acked_check(), trace)
}

#[test]
fn leader_failover_elects_a_follower_loses_nothing_and_hands_leadership_back() {
    use brokerscope::sim::trace::ElectionKind;
    let (check, trace) = acked_check("leader-failover");
    assert_eq!((check.acked, check.acked_lost, check.acked_unavailable), (1600, 0, 0));
    let elections: Vec<(Option<u16>, ElectionKind)> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::LeaderElected { leader, election, tp, .. } if &*tp.topic == "orders" => {
                Some((*leader, *election))
            }
            _ => None,
        })
        .collect();
    assert_eq!(elections, [(Some(2), ElectionKind::Clean), (Some(1), ElectionKind::Preferred)]);
    // Fenced one session timeout (3 s) after the last heartbeat before the 3 s crash.
    let fenced = first_at(&trace, |e| matches!(e.kind, TraceKind::BrokerFenced { broker: 1, .. }));
    assert!(fenced >= SimTime::from_ms(5500) && fenced <= SimTime::from_ms(6100), "{fenced}");
    // KIP-951: the metadata naming the new leader ends the retry's backoff, so the requeued batch
    // goes to broker-2 at that instant although its last backoff (up to 1 s) had not run out.
    let new_leader =
        first_at(&trace, |e| matches!(&e.kind, TraceKind::MetadataUpdated { leaders, .. } if leaders[0] == Some(2)));
    let first_to_2 = first_at(&trace, |e| matches!(e.kind, TraceKind::BatchDrained { to: 2, .. }));
    assert_eq!(first_to_2, new_leader);
    let last_requeue = trace
        .iter()
        .filter(|e| e.at < new_leader)
        .filter_map(|e| match e.kind {
            TraceKind::BatchRequeued { backoff_ms, .. } => {
                Some(e.at + brokerscope::sim::time::SimDuration::from_ms(backoff_ms))
            }
            _ => None,
        })
        .next_back()
        .expect("retries before the new leader");
    assert!(last_requeue > new_leader, "its backoff ran until {last_requeue}");
}

#[test]
fn unclean_election_scenario_counts_the_records_it_loses() {
    let (check, trace) = acked_check("unclean-election");
    assert!(check.acked_lost > 500, "{} lost", check.acked_lost);
    let truncated = trace.iter().any(|e| {
        e.node == NodeId::broker(1)
            && e.at > SimTime::from_ms(12000)
            && matches!(e.kind, TraceKind::LogTruncated { .. })
    });
    assert!(truncated, "broker-1 truncates its divergent log when it returns");
    // The new leader never saw the sequences broker-1 acknowledged: the idempotent producer's
    // next batch meets OUT_OF_ORDER_SEQUENCE_NUMBER as the next after its last acknowledged one,
    // a real gap. It bumps its epoch in the client (no InitProducerId), starts again at sequence
    // 0, and the rest of its records are written and acknowledged.
    let rejected = first_at(
        &trace,
        |e| matches!(&e.kind, TraceKind::AppendRejected { error, .. } if *error == brokerscope::sim::protocol::ErrorCode::OutOfOrderSequenceNumber),
    );
    let epochs: Vec<(SimTime, i16)> = trace
        .iter()
        .filter_map(
            |e| if let TraceKind::ProducerIdAssigned { epoch, .. } = e.kind { Some((e.at, epoch)) } else { None },
        )
        .collect();
    assert_eq!(epochs.iter().map(|e| e.1).collect::<Vec<_>>(), [0, 1], "{epochs:?}");
    assert!(epochs[1].0 > rejected, "the bump follows the rejection");
    let inits =
        trace.iter().filter(|e| matches!(&e.kind, TraceKind::MessageSent { api, .. } if *api == "InitProducerId"));
    assert_eq!(inits.count(), 1, "only the first id is asked for");
    assert_eq!(check.acked, 2000, "every record is acknowledged in the end");
}

fn revocations(trace: &[TraceEvent]) -> Vec<(SimTime, NodeId, usize)> {
    trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::PartitionsRevoked { partitions } => Some((e.at, e.node, partitions.len())),
            _ => None,
        })
        .collect()
}

#[test]
fn group_rebalance_joins_rebalances_eagerly_and_redelivers_after_a_crash() {
    let (view, trace) = run("group-rebalance");
    let gens = generations(&trace);
    assert_eq!(gens.iter().map(|g| (g.1, g.2)).collect::<Vec<_>>(), [(1, 2), (2, 3), (3, 2)], "{gens:?}");
    assert!(gens[1].0 > SimTime::from_ms(12000), "consumer-3 joins at 12 s");
    // Eager: at generation 2 both earlier members revoke all three partitions they owned.
    let at_gen2: Vec<usize> = revocations(&trace).iter().filter(|r| r.0 < gens[1].0).map(|r| r.2).collect();
    assert_eq!(at_gen2, [3, 3]);
    // consumer-2's process dies at 22 s: removed one session (10 s) after its last heartbeat.
    let removed = trace
        .iter()
        .find_map(|e| match &e.kind {
            TraceKind::GroupMemberRemoved { reason, .. } => Some((e.at, reason.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(removed.1, "session timeout expired");
    assert!(removed.0 > SimTime::from_ms(31000) && removed.0 <= SimTime::from_ms(32000), "{}", removed.0);
    let consumed: u64 = view.consumers.iter().map(|c| c.records_consumed).sum();
    let redelivered: u64 = view.consumers.iter().map(|c| c.redelivered).sum();
    assert!(redelivered > 0, "what consumer-2 read after its last auto-commit is read again");
    assert_eq!(consumed - redelivered, 1200, "every record at least once");
    assert_eq!(view.consumers[1].redelivered, 0);
    let g = &view.groups[0];
    assert_eq!((g.state.as_str(), g.generation, g.members.len()), ("Stable", 3, 2));
    assert!(g.lag.iter().all(|(_, l)| *l == 0), "everything committed: {:?}", g.lag);
}

#[test]
fn cooperative_rebalance_moves_one_partition_from_each_in_two_rounds() {
    let (view, trace) = run("cooperative-rebalance");
    let gens = generations(&trace);
    assert_eq!(gens.iter().map(|g| (g.1, g.2)).collect::<Vec<_>>(), [(1, 2), (2, 3), (3, 3)], "{gens:?}");
    let revoked = revocations(&trace);
    assert_eq!(revoked.iter().map(|r| r.2).collect::<Vec<_>>(), [1, 1], "{revoked:?}");
    assert!(revoked.iter().all(|r| r.0 > gens[1].0 && r.0 < gens[2].0), "between the two rounds");
    let sizes: Vec<usize> = view.consumers.iter().map(|c| c.assignment.len()).collect();
    assert_eq!(sizes, [2, 2, 2]);
    // Auto-commit committed at the start of the rebalance; what the old owners read of a moved
    // partition after that (until they revoked it) is read again by consumer-3.
    assert_eq!((view.consumers[0].redelivered, view.consumers[1].redelivered), (0, 0));
    assert!(view.consumers[2].redelivered < 20, "{}", view.consumers[2].redelivered);
    let consumed: u64 = view.consumers.iter().map(|c| c.records_consumed).sum();
    assert_eq!(consumed - view.consumers[2].redelivered, 1000);
}

#[test]
fn built_in_scenarios_break_no_safety_rule_except_where_the_lesson_is_a_loss() {
    for (id, json) in BUILT_IN {
        let s = parse_json(json).unwrap();
        let mut sim = Sim::new(&s, s.seed);
        sim.set_trace_capture(false);
        sim.run_until(SimTime::from_ms(s.duration_ms), 10_000_000);
        let c = sim.checks();
        let kinds: Vec<_> = c.violations.iter().map(|v| v.kind).collect();
        use brokerscope::sim::invariants::ViolationKind as V;
        if *id == "unclean-election" || *id == "acks-levels" {
            assert_eq!(kinds, [V::AckedLost], "{id}");
        } else if *id == "last-replica-standing" {
            assert_eq!(kinds, [V::CommittedLostOnElection, V::AckedLost], "{id}");
        } else {
            assert!(c.violations.is_empty(), "{id}: {:?}", c.violations);
        }
    }
}

#[test]
fn last_replica_standing_loses_committed_records_in_a_clean_election_and_the_monitor_stops_there() {
    use brokerscope::playback::Playback;
    use brokerscope::sim::trace::ElectionKind;
    let (_, json) = BUILT_IN.iter().find(|(i, _)| *i == "last-replica-standing").unwrap();
    let s = parse_json(json).unwrap();
    let mut p = Playback::new(&s, s.seed);
    let stop = p.advance_to(SimTime::from_ms(s.duration_ms));
    assert_eq!(stop, brokerscope::sim::RunStop::Violation, "playback halts at the violation");
    let v = &p.violations()[0];
    assert!(
        v.at > SimTime::from_ms(12000) && v.at < SimTime::from_ms(13000),
        "at the election after the restart: {}",
        v.at
    );
    assert!(
        matches!(&v.kind, TraceKind::InvariantViolated { message, .. } if message.contains("broker-1 leads epoch 2 from offset 0")),
        "{:?}",
        v.kind
    );
    // The event just before is broker-1 becoming leader again, cleanly, with an empty log.
    let trace: Vec<_> = p.log().cloned().collect();
    let elected = trace.iter().rev().find_map(|e| match &e.kind {
        TraceKind::LeaderElected { leader, election, .. } => Some((*leader, *election)),
        _ => None,
    });
    assert_eq!(elected, Some((Some(1), ElectionKind::Clean)));
    assert_eq!(p.now(), v.at, "the clock froze at the violating event");
    // Playing on finishes the run; the acknowledged-record check then counts the loss.
    assert_eq!(p.advance_to(SimTime::from_ms(s.duration_ms)), brokerscope::sim::RunStop::Deadline);
    let c = p.sim().checks();
    assert!(c.acked_lost > 500, "{}", c.acked_lost);
    assert!(c.violations.iter().any(|v| v.message.contains("min.insync.replicas 1")), "{:?}", c.violations);
}

/// `e2e/perf.test.mjs` measures frame intervals while the library's busiest scenario plays: the
/// most trace events per simulated second, over the whole run and in its busiest second. A new
/// or changed scenario that is busier must move the measurement to it. (Native only: it runs
/// every scenario, and the file it reads is the same on both targets.)
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn the_frame_rate_is_measured_on_the_busiest_built_in_scenario() {
    let mut by_mean = Vec::new();
    let mut by_peak = Vec::new();
    for (id, json) in BUILT_IN {
        let s = parse_json(json).unwrap();
        let mut sim = Sim::new(&s, s.seed);
        let mut per_second = vec![0u64; s.duration_ms.div_ceil(1000) as usize + 1];
        for second in 0..per_second.len() as u64 {
            sim.run_until(SimTime::from_ms(((second + 1) * 1000).min(s.duration_ms)), 10_000_000);
            per_second[second as usize] = sim.drain_trace().len() as u64;
        }
        let total: u64 = per_second.iter().sum();
        by_mean.push((total * 1000 / s.duration_ms, *id));
        by_peak.push((*per_second.iter().max().unwrap(), *id));
    }
    by_mean.sort();
    by_peak.sort();
    let (busiest, runner_up) = (by_mean[by_mean.len() - 1], by_mean[by_mean.len() - 2]);
    assert_eq!(by_peak.last().unwrap().1, busiest.1, "busiest on average {by_mean:?}, in a second {by_peak:?}");
    let perf = include_str!("../e2e/perf.test.mjs");
    assert!(
        perf.contains(&format!("const BUSIEST = '{}';", busiest.1)),
        "e2e/perf.test.mjs must measure {} ({} events/s; next {runner_up:?})",
        busiest.1,
        busiest.0
    );
    let (_, json) = BUILT_IN.iter().find(|(i, _)| *i == busiest.1).unwrap();
    let duration = parse_json(json).unwrap().duration_ms;
    assert!(perf.contains(&format!("const BUSIEST_MS = {duration};")), "its length: {duration} ms");
}
