//! Consumer-group scenarios: the classic protocol's rebalances, session and poll timeouts,
//! cooperative rebalancing, coordinator failover and at-least-once redelivery. Each asserts
//! what Kafka's rules (shared/reference/kafka-semantics.md §7) predict.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::generations;

use brokerscope::scenario::from_value;
use brokerscope::sim::group::coordinator::GroupState;
use brokerscope::sim::node::NodeId;
use brokerscope::sim::protocol::Tp;
use brokerscope::sim::time::SimTime;
use brokerscope::sim::trace::{TraceEvent, TraceKind};
use brokerscope::sim::{ClusterView, Sim};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Topic `t` (6 partitions, RF 3 on 3 brokers), 1,200 records at 100/s, and `consumers`
/// (each `{"id", "start_ms", "config", ...}`) in group `g`. The initial rebalance delay is the
/// broker default (3 s) unless `broker_config` says otherwise.
fn scenario(consumers: Value, broker_config: Value, events: Value) -> Value {
    let mut consumers = consumers;
    for c in consumers.as_array_mut().unwrap() {
        c["group"] = json!("g");
        c["topics"] = json!(["t"]);
        let config = c.get("config").cloned().unwrap_or(json!({}));
        let mut config = config.as_object().unwrap().clone();
        config.entry("auto.offset.reset").or_insert(json!("earliest"));
        config.entry("session.timeout.ms").or_insert(json!(6000));
        config.entry("heartbeat.interval.ms").or_insert(json!(1000));
        c["config"] = Value::Object(config);
    }
    json!({
        "duration_ms": 60000, "brokers": 3, "broker_config": broker_config,
        "network": {"latency_ms": 1},
        "topics": [{"name": "t", "partitions": 6, "replication_factor": 3}],
        "producers": [{"id": "p", "config": {"linger.ms": 0},
            "workload": {"topic": "t", "records": 1200, "rate_per_sec": 100, "key": "k{i}", "value_bytes": 50}}],
        "consumers": consumers,
        "events": events
    })
}

fn run(v: Value, until_ms: u64) -> (ClusterView, Vec<TraceEvent>, Sim) {
    let s = from_value(&v).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::new(&s, 7);
    sim.run_until(SimTime::from_ms(until_ms), 20_000_000);
    let trace = sim.drain_trace();
    (sim.view(), trace, sim)
}

fn tps(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn assignment_of(view: &ClusterView, consumer: u16) -> Vec<String> {
    view.consumers.iter().find(|c| c.id == NodeId::consumer(consumer)).unwrap().assignment.clone()
}

fn removals(trace: &[TraceEvent]) -> Vec<(SimTime, String)> {
    trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::GroupMemberRemoved { reason, .. } => Some((e.at, reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn three_members_join_one_stable_generation_with_the_range_assignment() {
    let consumers = json!([{"id": "a"}, {"id": "b", "start_ms": 500}, {"id": "c", "start_ms": 1000}]);
    let (view, trace, _) = run(scenario(consumers, json!({}), json!([])), 30000);
    // All three join within group.initial.rebalance.delay.ms of the first: one generation.
    let gens = generations(&trace);
    assert_eq!(gens.len(), 1, "{gens:?}");
    assert_eq!((gens[0].1, gens[0].2), (1, 3));
    // The first member's join (after MEMBER_ID_REQUIRED) starts the 3 s delay. b and c joined
    // during it, so when it ends `InitialDelayedJoin` waits one more delay (not one per
    // member); nobody joins during the second, so the join completes: 6 s after the first.
    let first_join = trace.iter().find(|e| matches!(e.kind, TraceKind::GroupMemberAdded { .. })).unwrap().at;
    let waited = gens[0].0.saturating_since(first_join).as_ms();
    assert_eq!(waited, 6000, "two delays of 3 s");
    // Range over member ids sorted (consumer-1-…, consumer-2-…, consumer-3-…): two each.
    assert_eq!(assignment_of(&view, 1), tps(&["t-0", "t-1"]));
    assert_eq!(assignment_of(&view, 2), tps(&["t-2", "t-3"]));
    assert_eq!(assignment_of(&view, 3), tps(&["t-4", "t-5"]));
    let g = &view.groups[0];
    assert_eq!((g.state.as_str(), g.generation, g.protocol.as_deref()), ("Stable", 1, Some("range")));
    let consumed: u64 = view.consumers.iter().map(|c| c.records_consumed).sum();
    assert_eq!(consumed, 1200, "every record once");
    assert!(view.consumers.iter().all(|c| c.redelivered == 0));
}

#[test]
fn the_first_join_gets_member_id_required_then_joins_with_that_id() {
    let (_, trace, _) = run(scenario(json!([{"id": "a"}]), json!({}), json!([])), 5000);
    let joins: Vec<SimTime> = trace
        .iter()
        .filter(|e| {
            e.node.is_broker() && matches!(&e.kind, TraceKind::MessageDelivered { api, .. } if *api == "JoinGroup")
        })
        .map(|e| e.at)
        .collect();
    let added = trace.iter().find(|e| matches!(e.kind, TraceKind::GroupMemberAdded { .. })).unwrap();
    assert_eq!(joins.len(), 2, "a join without id, then the rejoin with the assigned id");
    let handled = added.at.saturating_since(joins[1]).as_ms();
    assert!(added.at >= joins[1] && handled < 1, "the member exists only after the second join");
    let TraceKind::GroupMemberAdded { member_id, .. } = &added.kind else { unreachable!() };
    // clientId-UUID (the client id defaults to the node name).
    assert!(member_id.starts_with("consumer-1-") && member_id.len() == "consumer-1-".len() + 36, "{member_id}");
}

#[test]
fn a_member_leaving_rebalances_into_the_next_generation() {
    let consumers = json!([{"id": "a"}, {"id": "b"}, {"id": "c"}]);
    let events = json!([{"at_ms": 15000, "action": "consumer_leave", "consumer": "c"}]);
    let (view, trace, _) = run(scenario(consumers, json!({}), events), 30000);
    let gens = generations(&trace);
    assert_eq!(gens.iter().map(|g| (g.1, g.2)).collect::<Vec<_>>(), [(1, 3), (2, 2)]);
    // a and b learn of the rebalance from their next heartbeat (every 1 s) and rejoin.
    assert!(gens[1].0 > SimTime::from_ms(15000) && gens[1].0 < SimTime::from_ms(16200), "{:?}", gens[1]);
    assert_eq!(removals(&trace).iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), ["LeaveGroup"]);
    assert_eq!(assignment_of(&view, 1), tps(&["t-0", "t-1", "t-2"]));
    assert_eq!(assignment_of(&view, 2), tps(&["t-3", "t-4", "t-5"]));
    assert!(assignment_of(&view, 3).is_empty());
    // `close()` committed c's positions first, so the partitions it gave up are not read again.
    let redelivered: u64 = view.consumers.iter().map(|c| c.redelivered).sum();
    assert_eq!(redelivered, 0);
    let consumed: u64 = view.consumers.iter().map(|c| c.records_consumed).sum();
    assert_eq!(consumed, 1200);
}

#[test]
fn a_silent_member_is_removed_after_the_session_timeout() {
    let consumers = json!([{"id": "a"}, {"id": "b"}]);
    let events = json!([{"at_ms": 15000, "action": "consumer_crash", "consumer": "b"}]);
    let (_, trace, _) = run(scenario(consumers, json!({}), events), 30000);
    let removed = removals(&trace);
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0].1, "session timeout expired");
    // The last heartbeat was within heartbeat.interval.ms (1 s) before the crash; the session
    // (6 s) expires 6 s after it.
    let at = removed[0].0;
    assert!(at > SimTime::from_ms(20000) && at <= SimTime::from_ms(21010), "removed at {at}");
    let gens = generations(&trace);
    assert_eq!(gens.last().map(|g| (g.1, g.2)), Some((2, 1)));
}

#[test]
fn a_member_that_does_not_poll_within_max_poll_interval_leaves() {
    // b spends 100 ms per record: a poll of 100 records or more outlasts max.poll.interval.ms.
    let consumers = json!([
        {"id": "a"},
        {"id": "b", "processing_ms_per_record": 100, "config": {"max.poll.interval.ms": 10000}}
    ]);
    let (_, trace, _) = run(scenario(consumers, json!({}), json!([])), 40000);
    let exceeded = trace.iter().find(|e| matches!(e.kind, TraceKind::PollIntervalExceeded { .. })).unwrap();
    assert_eq!(exceeded.node, NodeId::consumer(2));
    let removed = removals(&trace);
    assert_eq!(removed[0].1, "LeaveGroup", "the heartbeat thread leaves: {removed:?}");
    assert!(removed[0].0 >= exceeded.at && removed[0].0.saturating_since(exceeded.at).as_ms() < 50);
    let gens = generations(&trace);
    assert!(gens.iter().any(|g| g.0 > exceeded.at && g.2 == 1), "a rebalances without b: {gens:?}");
    // When b finally polls again it rejoins and a later generation has both.
    assert!(gens.iter().any(|g| g.0 > exceeded.at && g.2 == 2), "b rejoins after its next poll: {gens:?}");
}

fn revoked_by(trace: &[TraceEvent]) -> BTreeMap<NodeId, Vec<Vec<Tp>>> {
    let mut out: BTreeMap<NodeId, Vec<Vec<Tp>>> = BTreeMap::new();
    for e in trace {
        if let TraceKind::PartitionsRevoked { partitions } = &e.kind {
            out.entry(e.node).or_default().push(partitions.clone());
        }
    }
    out
}

#[test]
fn cooperative_sticky_moves_only_what_it_must_in_two_rebalances() {
    let coop = json!({"partition.assignment.strategy": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"});
    let consumers = json!([
        {"id": "a", "config": coop}, {"id": "b", "config": coop},
        {"id": "c", "config": coop, "start_ms": 15000}
    ]);
    let (view, trace, _) = run(scenario(consumers, json!({}), json!([])), 40000);
    let gens = generations(&trace);
    assert_eq!(gens.iter().map(|g| (g.1, g.2)).collect::<Vec<_>>(), [(1, 2), (2, 3), (3, 3)], "{gens:?}");
    // Round 2 takes one partition from each of a and b (revoked, nothing else); round 3 gives
    // them to c. Nobody gives up everything, as an eager rebalance would.
    let revoked = revoked_by(&trace);
    assert_eq!(revoked.len(), 2, "{revoked:?}");
    for lists in revoked.values() {
        assert_eq!(lists.len(), 1);
        assert_eq!(lists[0].len(), 1, "one partition each: {lists:?}");
    }
    let sizes: Vec<usize> = (1..=3).map(|c| assignment_of(&view, c).len()).collect();
    assert_eq!(sizes, [2, 2, 2]);
    let all: BTreeSet<String> = (1..=3).flat_map(|c| assignment_of(&view, c)).collect();
    assert_eq!(all.len(), 6);
    // The second rebalance follows the first: a and b rejoin after revoking, c learns of it at
    // its next heartbeat (every 1 s).
    assert!(gens[2].0.saturating_since(gens[1].0).as_ms() < 1200, "{gens:?}");
    assert_eq!(view.groups[0].protocol.as_deref(), Some("cooperative-sticky"));
}

#[test]
fn eager_range_revokes_everything_on_a_rebalance() {
    let consumers = json!([{"id": "a"}, {"id": "b"}, {"id": "c", "start_ms": 15000}]);
    let (_, trace, _) = run(scenario(consumers, json!({}), json!([])), 30000);
    let revoked = revoked_by(&trace);
    for (node, lists) in &revoked {
        assert_eq!(lists[0].len(), 3, "{node} gives up all it owns before rejoining");
    }
    assert_eq!(revoked.len(), 2);
}

fn last_commit_before(trace: &[TraceEvent], at: SimTime) -> BTreeMap<Tp, i64> {
    let mut out = BTreeMap::new();
    for e in trace.iter().filter(|e| e.at < at) {
        if let TraceKind::OffsetsCommitted { offsets, .. } = &e.kind {
            out.extend(offsets.iter().cloned());
        }
    }
    out
}

#[test]
fn a_new_coordinator_loads_the_committed_offsets_after_a_crash() {
    // The group's coordinator is the leader of its __consumer_offsets partition.
    let partition = brokerscope::sim::group::coordinator_partition("g", 50);
    let coordinator = [1u16, 2, 3][partition as usize % 3];
    let consumers = json!([{"id": "a"}, {"id": "b"}]);
    let events = json!([{"at_ms": 16000, "action": "crash_broker", "broker": coordinator}]);
    let (view, trace, _) = run(scenario(consumers, json!({}), events), 40000);
    let committed = last_commit_before(&trace, SimTime::from_ms(16000));
    assert_eq!(committed.len(), 6, "auto-commit covered every partition before the crash");
    let loaded = trace
        .iter()
        .find(|e| e.at > SimTime::from_ms(16000) && matches!(e.kind, TraceKind::GroupsLoaded { .. }))
        .expect("another broker loads the partition");
    assert_ne!(loaded.node, NodeId::broker(coordinator));
    let TraceKind::GroupsLoaded { partition: p, groups, offsets } = loaded.kind else { unreachable!() };
    assert_eq!((p, groups), (partition, 1));
    assert!(offsets >= 6, "{offsets} offset records replayed");
    // The members find the new coordinator and carry on in their generation (stored with the
    // assignment), then commit there.
    let g = &view.groups[0];
    assert_eq!(g.coordinator, Some(loaded.node.number));
    assert_eq!((g.state.as_str(), g.generation), ("Stable", 1));
    let found: Vec<u16> = trace
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::CoordinatorFound { broker } if e.at > SimTime::from_ms(16000) => Some(broker),
            _ => None,
        })
        .collect();
    // Until the controller fences the dead broker (broker.session.timeout.ms) the metadata still
    // names it; then the members find the new leader.
    assert_eq!(found.last(), Some(&loaded.node.number), "{found:?}");
    let after = last_commit_before(&trace, SimTime::from_ms(40000));
    for (tp, o) in &committed {
        assert!(after[tp] >= *o, "{tp}: committed offsets never go back ({} < {o})", after[tp]);
    }
    let consumed: u64 = view.consumers.iter().map(|c| c.records_consumed).sum();
    let redelivered: u64 = view.consumers.iter().map(|c| c.redelivered).sum();
    assert_eq!(consumed - redelivered, 1200, "every record delivered");
}

#[test]
fn auto_commit_and_a_consumer_crash_redeliver_what_was_not_committed() {
    // Auto-commit every 5 s; b crashes 4.5 s after a commit. Its partitions go to a after the
    // session timeout, starting from b's last committed offsets: what b read since is read again.
    let consumers = json!([{"id": "a"}, {"id": "b"}]);
    let events = json!([{"at_ms": 9500, "action": "consumer_crash", "consumer": "b"}]);
    let (view, trace, _) = run(scenario(consumers, json!({}), events), 40000);
    let b_last_commit: BTreeMap<Tp, i64> = {
        let mut out = BTreeMap::new();
        for e in trace.iter().filter(|e| e.at < SimTime::from_ms(9500)) {
            if let TraceKind::OffsetsCommitted { offsets, .. } = &e.kind {
                out.extend(offsets.iter().filter(|(tp, _)| tp.partition >= 3).cloned());
            }
        }
        out
    };
    // What b returned to its application per partition before the crash.
    let mut b_read: BTreeMap<Tp, i64> = BTreeMap::new();
    for e in trace.iter().filter(|e| e.node == NodeId::consumer(2) && e.at < SimTime::from_ms(9500)) {
        if let TraceKind::RecordsConsumed { tp, first_offset, count } = &e.kind {
            b_read.insert(tp.clone(), first_offset + i64::from(*count));
        }
    }
    let expected: i64 = b_read.iter().map(|(tp, end)| end - b_last_commit.get(tp).copied().unwrap_or(0)).sum();
    assert!(expected > 0, "b read past its last commit");
    let a = &view.consumers[0];
    assert_eq!(a.redelivered as i64, expected, "a re-reads exactly b's uncommitted records");
    let consumed: u64 = view.consumers.iter().map(|c| c.records_consumed).sum();
    assert_eq!(consumed - a.redelivered, 1200, "at least once: nothing lost");
}

#[test]
fn commit_sync_after_each_poll_bounds_redelivery_to_one_poll() {
    let cfg = json!({"enable.auto.commit": false, "max.poll.records": 20});
    let consumers = json!([
        {"id": "a", "commit": "sync", "config": cfg},
        {"id": "b", "commit": "sync", "processing_ms_per_record": 2, "config": cfg}
    ]);
    let events = json!([{"at_ms": 17500, "action": "consumer_crash", "consumer": "b"}]);
    let (view, _, _) = run(scenario(consumers, json!({}), events), 40000);
    let a = &view.consumers[0];
    assert!(a.redelivered <= 20, "at most the poll b was processing: {}", a.redelivered);
    let consumed: u64 = view.consumers.iter().map(|c| c.records_consumed).sum();
    assert_eq!(consumed - a.redelivered, 1200);
}

#[test]
fn offset_commits_from_an_old_generation_are_refused() {
    // b stalls longer than max.poll.interval.ms, so its heartbeat thread leaves the group; the
    // commitSync after that processing fails (CommitFailedException). The coordinator's own
    // generation check is unit-tested in `group::coordinator`.
    let consumers = json!([
        {"id": "a"},
        {"id": "b", "commit": "sync", "processing_ms_per_record": 100,
         "config": {"enable.auto.commit": false, "max.poll.interval.ms": 10000}}
    ]);
    let (view, trace, _) = run(scenario(consumers, json!({}), json!([])), 40000);
    let left = trace.iter().find(|e| matches!(e.kind, TraceKind::PollIntervalExceeded { .. })).unwrap().at;
    let refused = trace.iter().find(|e| {
        e.node == NodeId::consumer(2)
            && matches!(&e.kind, TraceKind::GroupRequestFailed { api, .. } if api.starts_with("OffsetCommit"))
    });
    assert!(refused.is_some_and(|e| e.at > left), "b's commit after leaving fails (CommitFailedException)");
    assert!(view.consumers[1].commits.1 >= 1);
    // Committed offsets only move forward in the group's log.
    let mut last: BTreeMap<Tp, i64> = BTreeMap::new();
    for e in &trace {
        if let TraceKind::OffsetsCommitted { offsets, generation, .. } = &e.kind {
            assert!(*generation >= 1);
            for (tp, o) in offsets {
                last.insert(tp.clone(), *o);
            }
        }
    }
    assert!(!last.is_empty());
}

#[test]
fn group_states_move_only_along_kafkas_transitions() {
    let consumers = json!([{"id": "a"}, {"id": "b", "start_ms": 8000}]);
    let events = json!([{"at_ms": 20000, "action": "consumer_leave", "consumer": "a"},
                        {"at_ms": 25000, "action": "consumer_leave", "consumer": "b"}]);
    let (view, trace, _) = run(scenario(consumers, json!({}), events), 30000);
    use GroupState::*;
    let allowed = |from: GroupState, to: GroupState| match to {
        Empty => from == PreparingRebalance,
        PreparingRebalance => matches!(from, Stable | CompletingRebalance | Empty),
        CompletingRebalance => from == PreparingRebalance,
        Stable => from == CompletingRebalance,
        Dead => true,
    };
    let mut last_generation = 0;
    for e in &trace {
        if let TraceKind::GroupStateChanged { from, to, generation, .. } = e.kind {
            assert!(allowed(from, to), "{from:?} → {to:?}");
            assert!(generation >= last_generation, "generations only increase");
            last_generation = generation;
        }
    }
    assert_eq!(view.groups[0].state, "Empty", "both left");
    assert!(view.groups[0].members.is_empty());
}

#[test]
fn auto_offset_reset_none_without_a_committed_offset_reads_nothing() {
    let consumers = json!([{"id": "a", "config": {"auto.offset.reset": "none"}}]);
    let (view, trace, _) = run(scenario(consumers, json!({}), json!([])), 20000);
    let missing: BTreeSet<String> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::NoOffsetForPartition { tp } => Some(tp.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(missing.len(), 6, "NoOffsetForPartitionException for every partition: {missing:?}");
    assert_eq!(view.consumers[0].records_consumed, 0);
}

#[test]
fn commit_async_commits_after_every_poll_without_blocking() {
    let cfg = json!({"enable.auto.commit": false, "max.poll.records": 50});
    let consumers = json!([{"id": "a", "commit": "async", "processing_ms_per_record": 1, "config": cfg}]);
    let (view, trace, _) = run(scenario(consumers, json!({}), json!([])), 30000);
    let a = &view.consumers[0];
    assert_eq!(a.records_consumed, 1200);
    assert!(a.commits.0 >= 1200 / 50 / 6, "about one commit per poll: {:?}", a.commits);
    assert_eq!(a.commits.1, 0);
    // The last commit covers everything: committed = log end on every partition.
    let g = &view.groups[0];
    assert!(g.lag.iter().all(|(_, l)| *l == 0), "{:?}", g.lag);
    assert!(trace.iter().all(|e| !matches!(e.kind, TraceKind::PartitionsLost { .. })));
}

/// A consumer's `request.timeout.ms` changed to 0 mid-run (allowed, as in Kafka): its requests
/// expire a millisecond after they leave, and the run goes on to its end through a leader
/// change. (Expiring at the instant of sending, its metadata request was resent and expired
/// forever at one instant.)
#[test]
fn a_consumer_whose_request_timeout_becomes_zero_runs_on() {
    let consumers = json!([{"id": "a"}]);
    let events = json!([
        {"at_ms": 5000, "action": "config_change", "target": "consumer-1", "property": "request.timeout.ms", "value": 0},
        // A leader moves: the consumer asks for metadata, the request that used to loop.
        {"at_ms": 6000, "action": "crash_broker", "broker": 2}
    ]);
    let s = from_value(&scenario(consumers, json!({}), events)).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::new(&s, 7);
    let stop = sim.run_until(SimTime::from_ms(8000), 2_000_000);
    assert_eq!(stop, brokerscope::sim::RunStop::Deadline, "the clock reached 8 s within the step budget");
    let trace = sim.drain_trace();
    let sends_after = trace.iter().any(|e| {
        e.node == NodeId::consumer(1)
            && e.at > SimTime::from_ms(5000)
            && matches!(&e.kind, TraceKind::MessageSent { .. })
    });
    assert!(sends_after, "the consumer still sends after the change");
    // A fetch's expiry adds fetch.max.wait.ms (500 ms) to the timeout, so fetches are still
    // answered in time and the consumer keeps reading.
    let consumed_after = trace
        .iter()
        .filter(|e| e.at > SimTime::from_ms(5100) && matches!(&e.kind, TraceKind::RecordsConsumed { .. }))
        .count();
    assert!(consumed_after > 0, "fetches still answered within fetch.max.wait.ms");
}

/// Every partition a consumer was handed by `PartitionsAssigned`, in order of the events.
fn assigned_to(trace: &[TraceEvent], consumer: u16) -> Vec<Vec<Tp>> {
    trace
        .iter()
        .filter(|e| e.node == NodeId::consumer(consumer))
        .filter_map(|e| match &e.kind {
            TraceKind::PartitionsAssigned { partitions } => Some(partitions.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn auto_offset_reset_latest_starts_at_the_high_watermark_and_reads_on() {
    // Kafka's default: with no committed offset a consumer starts at the leader's HW (the records
    // before it are skipped) and then reads everything produced after.
    let mut v = scenario(json!([{"id": "a", "config": {"auto.offset.reset": "latest"}}]), json!({}), json!([]));
    v["consumers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "m", "partitions": ["t-0", "t-1", "t-2", "t-3", "t-4", "t-5"],
        "config": {"auto.offset.reset": "latest"}}));
    let (view, trace, _) = run(v, 30000);
    let produced: u64 = view.producers[0].records_acked;
    assert_eq!(produced, 1200);
    // Per consumer and partition: the first offset read and the end of a contiguous run.
    let mut runs: BTreeMap<(NodeId, Tp), (i64, i64)> = BTreeMap::new();
    for e in &trace {
        if let TraceKind::RecordsConsumed { tp, first_offset, count } = &e.kind {
            let run = runs.entry((e.node, tp.clone())).or_insert((*first_offset, *first_offset));
            assert_eq!(run.1, *first_offset, "{} {tp}: read on without a gap", e.node);
            run.1 = first_offset + i64::from(*count);
        }
    }
    assert_eq!(runs.len(), 12, "both consumers read all six partitions");
    // The records before its start were skipped (produced before its first fetch resolved the
    // HW; the group member also waits out the 3 s rebalance delay); from there it read to the end.
    assert!(runs.values().all(|(first, _)| *first > 0), "none starts at the log start: {runs:?}");
    for tp in (0..6).map(|p| Tp::new(&brokerscope::sim::protocol::topic_name("t"), p)) {
        let (a, m) = (runs[&(NodeId::consumer(1), tp.clone())], runs[&(NodeId::consumer(2), tp.clone())]);
        assert_eq!(a.1, m.1, "{tp}: both read to the partition's end");
    }
    let ends: i64 =
        (0..6).map(|p| runs[&(NodeId::consumer(1), Tp::new(&brokerscope::sim::protocol::topic_name("t"), p))].1).sum();
    assert_eq!(ends, 1200, "the ends are every record produced");
    for c in &view.consumers {
        assert!(c.records_consumed > 800 && c.records_consumed < 1200, "{}: {} read", c.label, c.records_consumed);
    }
    assert!(view.consumers.iter().all(|c| c.redelivered == 0));
}

#[test]
fn auto_offset_reset_none_on_assigned_partitions_reads_nothing() {
    let mut v = scenario(json!([]), json!({}), json!([]));
    v["consumers"] = json!([{"id": "m", "partitions": ["t-0", "t-1"], "config": {"auto.offset.reset": "none"}}]);
    let (view, trace, _) = run(v, 10000);
    let missing: Vec<String> = trace
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::NoOffsetForPartition { tp } => Some(tp.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(missing, ["t-0", "t-1"], "NoOffsetForPartitionException: no committed offset to start from");
    assert_eq!(view.consumers[0].records_consumed, 0);
}

#[test]
fn the_eager_sticky_assignor_keeps_what_each_member_owned() {
    // Eager: members revoke everything before rejoining, but StickyAssignor remembers its last
    // assignment and sends it as userData, so the leader keeps each member's partitions where
    // balance allows: a and b keep two of their three each, and c gets the other two.
    let sticky = json!({"partition.assignment.strategy": "org.apache.kafka.clients.consumer.StickyAssignor"});
    let consumers = json!([
        {"id": "a", "config": sticky}, {"id": "b", "config": sticky},
        {"id": "c", "config": sticky, "start_ms": 15000}
    ]);
    let (view, trace, _) = run(scenario(consumers, json!({}), json!([])), 30000);
    let gens = generations(&trace);
    assert_eq!(gens.iter().map(|g| (g.1, g.2)).collect::<Vec<_>>(), [(1, 2), (2, 3)], "{gens:?}");
    for member in [1, 2] {
        let rounds = assigned_to(&trace, member);
        assert_eq!(rounds.len(), 2, "{rounds:?}");
        let (before, after): (BTreeSet<&Tp>, BTreeSet<&Tp>) = (rounds[0].iter().collect(), rounds[1].iter().collect());
        assert_eq!((before.len(), after.len()), (3, 2));
        assert!(after.is_subset(&before), "consumer-{member} keeps two of its own: {before:?} → {after:?}");
    }
    assert_eq!(assignment_of(&view, 3).len(), 2);
    assert_eq!(view.groups[0].protocol.as_deref(), Some("sticky"));
}

#[test]
fn a_cooperative_member_does_not_commit_while_it_rebalances() {
    // commitSync after every poll: a member that is joining or syncing keeps reading the
    // partitions it kept, but `generationIfStable()` is null, so it sends no commit (Kafka fails
    // it with RebalanceInProgressException) instead of committing with its old generation and
    // being fenced (ILLEGAL_GENERATION, partitions lost).
    let coop = json!({"partition.assignment.strategy": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
                      "enable.auto.commit": false});
    // c joins at 8 s, while records still flow (the producer sends until 12 s).
    let mut consumers = json!([{"id": "a", "config": coop}, {"id": "b", "config": coop},
                               {"id": "c", "config": coop, "start_ms": 8000}]);
    for c in consumers.as_array_mut().unwrap() {
        // Processing takes time, so polls (and their commits) fall inside the rebalances.
        (c["commit"], c["processing_ms_per_record"]) = (json!("sync"), json!(5));
    }
    let (view, trace, _) = run(scenario(consumers, json!({}), json!([])), 40000);
    let gens = generations(&trace);
    assert_eq!(gens.iter().map(|g| (g.1, g.2)).collect::<Vec<_>>(), [(1, 2), (2, 3), (3, 3)], "{gens:?}");
    let fenced = trace.iter().any(|e| {
        matches!(&e.kind, TraceKind::GroupRequestFailed { error, .. } if *error == brokerscope::sim::protocol::ErrorCode::IllegalGeneration)
    });
    assert!(!fenced, "no commit carries an old generation");
    assert!(!trace.iter().any(|e| matches!(e.kind, TraceKind::PartitionsLost { .. })));
    let refused = trace.iter().filter(|e| {
        matches!(&e.kind, TraceKind::GroupRequestFailed { error, api } if *error == brokerscope::sim::protocol::ErrorCode::RebalanceInProgress && api.starts_with("OffsetCommit"))
    });
    assert!(refused.count() > 0, "commits during the rebalance are refused in the client");
    let consumed: u64 = view.consumers.iter().map(|c| c.records_consumed).sum();
    assert_eq!(consumed - view.consumers.iter().map(|c| c.redelivered).sum::<u64>(), 1200);
}

#[test]
fn auto_commit_counts_its_interval_from_the_end_of_each_join() {
    // `onJoinComplete` reschedules the auto-commit: the first commit of a generation comes one
    // auto.commit.interval.ms (5 s) after the member got its assignment, not on the clock it
    // started with.
    let (_, trace, _) = run(scenario(json!([{"id": "a"}]), json!({}), json!([])), 20000);
    let assigned = trace
        .iter()
        .find(|e| e.node == NodeId::consumer(1) && matches!(e.kind, TraceKind::PartitionsAssigned { .. }))
        .unwrap()
        .at;
    let committed = trace.iter().find(|e| matches!(e.kind, TraceKind::OffsetsCommitted { .. })).unwrap().at;
    let after = committed.saturating_since(assigned).as_ms();
    assert!((5000..5100).contains(&after), "first auto-commit {after} ms after the assignment");
}

#[test]
fn the_initial_rebalance_delay_is_waited_in_full_even_past_the_rebalance_timeout() {
    // `InitialDelayedJoin` waits group.initial.rebalance.delay.ms first; only its extensions are
    // bounded by the rebalance timeout (max.poll.interval.ms, here 1 s).
    let consumers = json!([{"id": "a", "config": {"max.poll.interval.ms": 1000}}]);
    let (_, trace, _) = run(scenario(consumers, json!({"group.initial.rebalance.delay.ms": 3000}), json!([])), 10000);
    let first_join = trace.iter().find(|e| matches!(e.kind, TraceKind::GroupMemberAdded { .. })).unwrap().at;
    let gens = generations(&trace);
    assert_eq!(gens[0].0.saturating_since(first_join).as_ms(), 3000, "{gens:?}");
}
