//! Checks over the simulation's state: the acknowledged-record loss check (the seeds' core
//! promise: acks=all + RF ≥ 3 + min ISR ≥ 2 + no unclean election loses nothing acknowledged).
//!
//! A record acknowledged to a producer at `(partition, offset)` is *lost* when the partition's
//! current leader (as the controller committed it) no longer holds that same record — by
//! [`Record::fingerprint`](super::record::Record::fingerprint) — at that offset, or *unavailable*
//! while the partition has no live leader. Records that retention deleted (below the log start)
//! or that compaction removed (a later record has the key) are gone by design, not lost.

use super::collections::{sort_by, CollectSet};
use super::invariants::{Violation, ViolationKind};
use super::log::PartitionLog;
use super::node::NodeId;
use super::protocol::{RecordBatch, Tp};
use super::{Node, Sim};
use crate::sim::vec_map::{VecMap, VecSet};
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;

/// Why an acknowledged record does not count as durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// The leader's log ends before the offset.
    Missing,
    /// Another record sits at the offset.
    Replaced,
    /// No live leader: the record cannot be read now.
    Unavailable,
}

/// One acknowledged record that is not where it was acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LostRecord {
    /// The producer it was acknowledged to.
    pub producer: NodeId,
    /// `topic-partition`.
    pub tp: String,
    /// The acknowledged offset.
    pub offset: i64,
    /// Missing, replaced or unavailable.
    pub kind: LossKind,
}

/// The outcome of the loss check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AckedCheck {
    /// Records acknowledged to producers.
    pub acked: u64,
    /// Those missing or replaced on the current leader.
    pub acked_lost: u64,
    /// Those on a partition without a live leader.
    pub acked_unavailable: u64,
    /// Every lost or unavailable record, by partition then offset.
    pub lost: Vec<LostRecord>,
    /// Extra copies of acknowledged records on their leader (a retry appended twice: legal
    /// without idempotence, and the count is the lesson).
    pub duplicates: u64,
    /// Acknowledged records that sit before a record their producer sent earlier to the same
    /// partition (legal without idempotence when max.in.flight > 1 and a batch is retried).
    pub reordered: u64,
    /// Every broken rule: the live checkers' and the final-state checks'
    /// ([`Sim::checks`]); empty from [`Sim::acked_check`].
    pub violations: Vec<super::invariants::Violation>,
}

/// Extra copies on the leader of the acknowledged records: for each record content
/// (fingerprint), the copies beyond the number of times it was acknowledged (two producers may
/// send equal records). Returns (all extra copies, those of records an idempotent producer
/// acknowledged — only those break a promise).
fn duplicates(records: &[(i64, u64, NodeId)], held: Option<&LeaderLog>, idempotent: &VecSet<NodeId>) -> (u64, u64) {
    let Some(h) = held else { return (0, 0) };
    // Each acknowledged content once, in fingerprint order. A sorted vector, not maps: a tree
    // node and a search per record cost more than one sort and one pass (a swarm seed
    // acknowledges ~1,000 records over three partitions).
    let mut sorted: Vec<(u64, bool)> = records.iter().map(|(_, f, p)| (*f, idempotent.contains(p))).collect();
    sort_by(&mut sorted, Ord::cmp);
    let mut acked: Vec<AckedContent> = Vec::with_capacity(sorted.len());
    for (fingerprint, guarded) in sorted {
        match acked.last_mut() {
            Some(last) if last.fingerprint == fingerprint => {
                last.times += 1;
                last.guarded |= guarded;
            }
            _ => acked.push(AckedContent { fingerprint, times: 1, guarded, copies: 0 }),
        }
    }
    for f in h.records.values() {
        if let Ok(i) = acked.binary_search_by(|a| a.fingerprint.cmp(f)) {
            acked[i].copies += 1;
        }
    }
    let mut out = (0, 0);
    for AckedContent { times, guarded, copies, .. } in acked {
        let extra = copies.saturating_sub(times);
        out.0 += extra;
        if guarded {
            out.1 += extra;
        }
    }
    out
}

/// One acknowledged record content, as [`duplicates`] counts it.
struct AckedContent {
    fingerprint: u64,
    /// Times it was acknowledged.
    times: u64,
    /// Whether an idempotent producer acknowledged it.
    guarded: bool,
    /// Copies the leader holds.
    copies: u64,
}

/// A leader's log as the loss check reads it.
struct LeaderLog {
    records: VecMap<i64, u64>,
    log_start_offset: i64,
    log_end_offset: i64,
    compacted: bool,
}

/// Each partition's [`LeaderLog`], decoded once per check: the loss, duplicate, reorder,
/// ConsistentRead and log-matching checks all read it (decoding it for each was a tenth of a
/// swarm seed's time).
struct LeaderLogs<'a> {
    sim: &'a Sim,
    decoded: RefCell<VecMap<Tp, Option<Rc<LeaderLog>>>>,
}

impl<'a> LeaderLogs<'a> {
    fn new(sim: &'a Sim) -> LeaderLogs<'a> {
        LeaderLogs { sim, decoded: RefCell::new(VecMap::new()) }
    }

    /// What `tp`'s committed leader holds, if it is up.
    fn get(&self, tp: &Tp) -> Option<Rc<LeaderLog>> {
        if let Some(held) = self.decoded.borrow().get(tp) {
            return held.clone();
        }
        let held = self.sim.leader_fingerprints(tp).map(Rc::new);
        self.decoded.borrow_mut().insert(tp.clone(), held.clone());
        held
    }
}

impl Sim {
    /// Checks every acknowledged record against its partition's current leader.
    pub fn acked_check(&self) -> AckedCheck {
        self.acked_check_parts(&LeaderLogs::new(self)).0
    }

    /// Producers with `enable.idempotence`.
    fn idempotent_producers(&self) -> VecSet<NodeId> {
        self.node_ids()
            .filter(|id| matches!(self.node(*id), Some(Node::Producer(p)) if p.config().idempotence))
            .collect_set()
    }

    /// [`Sim::acked_check`], plus the duplicates and reorderings of idempotent producers' records
    /// (the ones that are violations).
    fn acked_check_parts(&self, leaders: &LeaderLogs) -> (AckedCheck, u64, u64) {
        let idempotent = self.idempotent_producers();
        let mut guarded_duplicates = 0;
        let mut wanted: VecMap<Tp, Vec<(i64, u64, NodeId)>> = VecMap::new();
        let mut check = AckedCheck::default();
        for id in self.node_ids() {
            if let Some(Node::Producer(p)) = self.node(id) {
                for a in p.acked() {
                    wanted.entry(p.acked_tp(a)).or_default().push((a.offset, a.fingerprint, id));
                }
                check.acked += p.acked_count();
            }
        }
        for (tp, mut records) in wanted {
            // The shared compiled sort, not a copy of pdqsort per element type (3 KB of wasm
            // each); whole-tuple order, so stable and unstable agree.
            sort_by(&mut records, Ord::cmp);
            let held = leaders.get(&tp);
            let (all, guarded) = duplicates(&records, held.as_deref(), &idempotent);
            check.duplicates += all;
            guarded_duplicates += guarded;
            for (offset, fingerprint, producer) in records {
                let kind = match &held {
                    None => LossKind::Unavailable,
                    Some(h) if offset < h.log_start_offset => continue,
                    Some(h) => match h.records.get(&offset) {
                        Some(f) if *f == fingerprint => continue,
                        Some(_) => LossKind::Replaced,
                        None if h.compacted && offset < h.log_end_offset => continue,
                        None => LossKind::Missing,
                    },
                };
                match kind {
                    LossKind::Unavailable => check.acked_unavailable += 1,
                    _ => check.acked_lost += 1,
                }
                check.lost.push(LostRecord { producer, tp: tp.to_string(), offset, kind });
            }
        }
        let (reordered, guarded_reordered) = self.reordered(&idempotent, leaders);
        check.reordered = reordered;
        (check, guarded_duplicates, guarded_reordered)
    }

    /// The highest acknowledged offset per partition.
    pub fn acked_high_offsets(&self) -> VecMap<Tp, i64> {
        let mut out: VecMap<Tp, i64> = VecMap::new();
        for id in self.node_ids() {
            if let Some(Node::Producer(p)) = self.node(id) {
                for a in p.acked() {
                    let e = out.entry(p.acked_tp(a)).or_insert(a.offset);
                    *e = (*e).max(a.offset);
                }
            }
        }
        out
    }

    /// Acknowledged records, still on their leader, that sit before a record their producer
    /// sent earlier to the same partition (records lost since do not count: the loss check
    /// reports them).
    /// Returns (all, those of idempotent producers).
    fn reordered(&self, idempotent: &VecSet<NodeId>, leaders: &LeaderLogs) -> (u64, u64) {
        let (mut out, mut guarded) = (0, 0);
        for id in self.node_ids() {
            let Some(Node::Producer(p)) = self.node(id) else { continue };
            let mut by_tp = VecMap::new();
            for a in p.acked() {
                by_tp.entry(a.partition).or_insert_with(Vec::new).push(a);
            }
            for acked in by_tp.into_values() {
                // Only the records still on the leader count: one lookup of it per partition.
                let Some(held) = leaders.get(&p.acked_tp(acked[0])) else { continue };
                let mut sends: Vec<(u64, i64)> = acked
                    .iter()
                    .filter(|a| held.records.get(&a.offset) == Some(&a.fingerprint))
                    .map(|a| (a.send, a.offset))
                    .collect();
                sort_by(&mut sends, Ord::cmp);
                let mut max = -1;
                for (_, offset) in sends {
                    if offset < max {
                        out += 1;
                        if idempotent.contains(&id) {
                            guarded += 1;
                        }
                    }
                    max = max.max(offset);
                }
            }
        }
        (out, guarded)
    }

    /// The acknowledged-record check plus every safety rule: the live checkers' violations and
    /// the final state's (acknowledged records lost, `logStartOffset ≤ HW ≤ LEO` on every live
    /// replica, in-sync logs matching below the HW, duplicates and reordering under
    /// idempotence).
    pub fn checks(&self) -> AckedCheck {
        let leaders = LeaderLogs::new(self);
        let (mut check, guarded_duplicates, guarded_reordered) = self.acked_check_parts(&leaders);
        let mut found: Vec<(ViolationKind, String)> = vec![];
        // One line per partition: how many, which offsets, and what in the configuration allows it.
        let allowed = loss_allowed_by(self.scenario());
        let allowed = if allowed.is_empty() {
            "nothing in the configuration allows it".to_string()
        } else {
            format!("allowed by {}", allowed.join("; "))
        };
        let mut per_tp: VecMap<&str, (u64, i64, i64)> = VecMap::new();
        for l in check.lost.iter().filter(|l| l.kind != LossKind::Unavailable) {
            let e = per_tp.entry(&l.tp).or_insert((0, l.offset, l.offset));
            *e = (e.0 + 1, e.1.min(l.offset), e.2.max(l.offset));
        }
        for (tp, (n, lo, hi)) in per_tp {
            let m = format!("{tp}: {n} acknowledged records lost (offsets {lo}..={hi}); {allowed}");
            found.push((ViolationKind::AckedLost, m));
        }
        // Duplicates and reordering break a promise only for an idempotent producer's records.
        if guarded_duplicates > 0 {
            let m = format!("{guarded_duplicates} acknowledged records of an idempotent producer appear twice");
            found.push((ViolationKind::Duplicate, m));
        }
        if guarded_reordered > 0 {
            let m = format!("{guarded_reordered} acknowledged records of an idempotent producer out of send order");
            found.push((ViolationKind::Reordered, m));
        }
        found.extend(self.consistent_reads(&leaders));
        found.extend(self.offsets_order());
        found.extend(self.log_matching(&leaders));
        check.violations = self.violations().to_vec();
        let (seq, at_ms) = (self.trace_len(), self.now().as_ms());
        check.violations.extend(found.into_iter().map(|(kind, message)| Violation { kind, seq, at_ms, message }));
        check
    }

    /// ConsistentRead: a record `poll()` returned stays where it was, unchanged, on the
    /// partition's leader (unless retention removed it since, or compaction left a gap).
    fn consistent_reads(&self, leaders: &LeaderLogs) -> Vec<(ViolationKind, String)> {
        let mut out = vec![];
        for id in self.node_ids() {
            let Some(Node::Consumer(c)) = self.node(id) else { continue };
            for (tp, records) in c.returned() {
                let Some(held) = leaders.get(tp) else { continue };
                let (mut changed, mut gone, mut first) = (0u64, 0u64, None);
                for (offset, fingerprint) in records.iter().filter(|(o, _)| *o >= held.log_start_offset) {
                    match held.records.get(offset) {
                        Some(f) if f == fingerprint => continue,
                        Some(_) => changed += 1,
                        None if held.compacted && *offset < held.log_end_offset => continue,
                        None => gone += 1,
                    }
                    first.get_or_insert(*offset);
                }
                if let Some(first) = first {
                    let m = format!(
                        "{tp}: {id} read records that are no longer there: {changed} changed, {gone} gone (first at offset {first})"
                    );
                    out.push((ViolationKind::ConsistentRead, m));
                }
            }
        }
        out
    }

    /// `logStartOffset ≤ HW ≤ LEO` on every replica of every live broker.
    fn offsets_order(&self) -> Vec<(ViolationKind, String)> {
        let mut out = vec![];
        for id in self.node_ids().filter(|id| self.is_up(*id)) {
            let Some(Node::Broker(b)) = self.node(id) else { continue };
            for (tp, r) in b.replicas() {
                let (start, hw, leo) = (r.log.log_start_offset(), r.log.high_watermark(), r.log.log_end_offset());
                if !(start <= hw && hw <= leo) {
                    let m = format!("{tp} on {id}: log start {start}, HW {hw}, LEO {leo}");
                    out.push((ViolationKind::OffsetsOrder, m));
                }
            }
        }
        out
    }

    /// Every live in-sync follower holds the leader's records below the leader's HW (where both
    /// still have them: compaction cleans each replica on its own schedule).
    fn log_matching(&self, leaders: &LeaderLogs) -> Vec<(ViolationKind, String)> {
        let mut out = vec![];
        let Some(Node::Controller(c)) = self.node(NodeId::CONTROLLER) else { return out };
        for (tp, state) in c.partitions() {
            let Some(leader) = state.leader else { continue };
            let Some(held) = leaders.get(tp) else { continue };
            let leader_log = self.replica_log(leader, tp);
            let hw = leader_log.map_or(0, |l| l.high_watermark());
            for follower in state.isr.iter().filter(|b| **b != leader) {
                let Some(log) = self.replica_log(*follower, tp) else { continue };
                let end = hw.min(log.log_end_offset());
                let theirs = not_copied(log, leader_log).flat_map(|b| b.fingerprints());
                if let Some(offset) = first_mismatch(theirs, end, &held.records) {
                    let m = format!("{tp}: broker-{follower} (in sync) differs from leader broker-{leader} at offset {offset}, below HW {hw}");
                    out.push((ViolationKind::LogMismatch, m));
                }
            }
        }
        out
    }

    /// Drops check history no check can use again: acknowledged and returned records below
    /// the lowest log start offset of every replica (retention removed them everywhere, and the
    /// loss and ConsistentRead checks skip offsets below the leader's log start). Bounds the
    /// memory of long runs by retention instead of by the records sent. Duplicates are then
    /// counted among the records still held.
    pub fn prune_check_history(&mut self) {
        let mut starts: VecMap<Tp, i64> = VecMap::new();
        for id in self.node_ids() {
            let Some(Node::Broker(b)) = self.node(id) else { continue };
            for (tp, r) in b.replicas() {
                let start = r.log.log_start_offset();
                starts.entry(tp.clone()).and_modify(|s| *s = (*s).min(start)).or_insert(start);
            }
        }
        starts.retain(|_, s| *s > 0);
        if starts.is_empty() {
            return;
        }
        for node in self.nodes_mut() {
            match node {
                Node::Producer(p) => p.prune_acked(&starts),
                Node::Consumer(c) => c.prune_returned(&starts),
                _ => {}
            }
        }
    }

    fn replica_log(&self, broker: u16, tp: &Tp) -> Option<&PartitionLog> {
        let id = NodeId::broker(broker);
        match self.node(id).filter(|_| self.is_up(id)) {
            Some(Node::Broker(b)) => b.replicas().get(tp).map(|r| &r.log),
            _ => None,
        }
    }

    /// What `tp`'s committed leader holds, if it is up.
    fn leader_fingerprints(&self, tp: &Tp) -> Option<LeaderLog> {
        let log = self.replica_log(self.committed_leader(tp)?, tp)?;
        // Straight into the map, in offset order (appended without a search), with no per-batch
        // list in between.
        let mut records = VecMap::new();
        for batch in log.batches() {
            let read = batch.for_each_fingerprint(false, |offset, fingerprint| records.extend([(offset, fingerprint)]));
            read.expect("validated on construction");
        }
        Some(LeaderLog {
            records,
            log_start_offset: log.log_start_offset(),
            log_end_offset: log.log_end_offset(),
            compacted: log.config().cleanup_policy.compact,
        })
    }

    /// The leader the controller last committed for `tp`.
    pub fn committed_leader(&self, tp: &Tp) -> Option<u16> {
        match self.node(NodeId::CONTROLLER) {
            Some(Node::Controller(c)) => c.partitions().get(tp).and_then(|p| p.leader),
            _ => None,
        }
    }
}

/// Why this scenario's configuration may lose acknowledged records, if it may.
pub fn loss_allowed_by(scenario: &super::scenario::Scenario) -> Vec<String> {
    let mut why = Vec::new();
    for p in &scenario.producers {
        match p.config.get("acks") {
            None | Some("all" | "-1") => {}
            Some(acks) => why.push(format!("{}: acks={acks}", p.label)),
        }
    }
    let broker_min_isr = super::config::BrokerConfig::from_props(&scenario.broker_config).min_insync_replicas;
    let unclean = super::config::ControllerConfig::from_props(&scenario.broker_config).unclean_leader_election;
    for t in &scenario.topics {
        let topic = super::config::TopicConfig::from_props(&t.config);
        let min_isr = topic.min_insync_replicas.unwrap_or(broker_min_isr);
        if t.replication_factor < 3 || min_isr < 2 {
            why.push(format!(
                "{}: replication.factor {} with min.insync.replicas {min_isr}",
                t.name, t.replication_factor
            ));
        }
        if topic.unclean_leader_election.unwrap_or(unclean) {
            why.push(format!("{}: unclean.leader.election.enable", t.name));
        }
    }
    let machine_crash = scenario.events.iter().any(|e| {
        matches!(e.action, super::scenario::Action::CrashBroker { kind: super::scenario::CrashKind::Machine, .. })
    });
    if machine_crash {
        why.push("machine crashes lose unflushed records (the last in-sync replica may lose them all)".into());
    }
    why
}

/// The batches of a follower's `log` that are not copies of its `leader`'s batch at the same
/// offset. A copy shares the leader's bytes, so it holds the leader's records: only the others
/// need decoding (decoding every follower batch was 2% of a swarm seed). Both logs are walked
/// in offset order; a log out of order only has fewer batches recognised as copies.
fn not_copied<'a>(log: &'a PartitionLog, leader: Option<&'a PartitionLog>) -> impl Iterator<Item = &'a RecordBatch> {
    let mut leaders = leader.into_iter().flat_map(PartitionLog::batches).peekable();
    log.batches().filter(move |b| {
        while leaders.next_if(|l| l.base_offset() < b.base_offset()).is_some() {}
        !leaders.peek().is_some_and(|l| l.shares_bytes(b))
    })
}

/// The lowest offset below `end` at which `theirs` (a replica's `(offset, fingerprint)` pairs)
/// holds a record other than the leader's `held`; offsets the leader no longer holds do not
/// count. Order is not assumed: this checks logs that may be wrong.
fn first_mismatch(theirs: impl Iterator<Item = (i64, u64)>, end: i64, held: &VecMap<i64, u64>) -> Option<i64> {
    theirs.filter(|(o, f)| *o < end && held.get(o).is_some_and(|mine| mine != f)).map(|(o, _)| o).min()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::{duplicates, first_mismatch, LeaderLog};
    use crate::sim::node::NodeId;
    use crate::sim::protocol::{RecordBatch, Tp};
    use crate::sim::record::{BatchSpec, Record};
    use crate::sim::time::SimTime;
    use crate::sim::vec_map::VecMap;
    use crate::sim::{invariants::ViolationKind, Node, Sim};

    #[test]
    fn duplicates_are_copies_beyond_the_times_a_content_was_acknowledged() {
        let (plain, idempotent) = (NodeId::producer(1), NodeId::producer(2));
        // Content 7 acknowledged twice (by both producers), 8 and 9 once each, 5 by the plain
        // one, 4 twice by the idempotent one.
        let acked = [
            (0, 7, plain),
            (1, 8, idempotent),
            (2, 7, idempotent),
            (3, 9, plain),
            (4, 5, plain),
            (5, 4, idempotent),
            (6, 4, idempotent),
        ];
        // The leader holds 7 three times, 8 twice, 9 once, 5 twice, 4 once (fewer copies than
        // acknowledgements are no duplicates), and 6 (never acknowledged) twice.
        let held = [7, 8, 7, 9, 8, 7, 6, 6, 5, 5, 4];
        let log = LeaderLog {
            records: held.iter().enumerate().map(|(offset, f)| (offset as i64, *f)).collect(),
            log_start_offset: 0,
            log_end_offset: held.len() as i64,
            compacted: false,
        };
        let guarded = [idempotent].into_iter().collect();
        // 7: one extra, acknowledged by an idempotent producer among others; 8: one extra,
        // guarded; 5: one extra, not guarded; 9 and 4 none; 6 was never acknowledged.
        assert_eq!(duplicates(&acked, Some(&log), &guarded), (3, 2));
        assert_eq!(duplicates(&acked, None, &guarded), (0, 0), "no leader: nothing to count");
    }

    /// A finished run of 30 keyed records to one partition on three brokers, and a follower.
    fn replicated_run() -> (Sim, Tp, u16) {
        let scenario = crate::scenario::from_value(&serde_json::json!({
            "name": "log matching", "duration_ms": 3000, "brokers": 3,
            "topics": [{ "name": "orders", "partitions": 1, "replication_factor": 3 }],
            "producers": [{ "id": "producer-1", "config": { "acks": "all", "linger.ms": 0 },
                "workload": { "topic": "orders", "records": 30, "rate_per_sec": 100, "key": "k-{i}", "value_bytes": 8 } }],
        }))
        .expect("a valid scenario");
        let mut sim = Sim::new(&scenario, 1);
        sim.run_until(SimTime::from_ms(3000), 1_000_000);
        let tp = sim.acked_high_offsets().keys().next().expect("records were acknowledged").clone();
        let leader = sim.committed_leader(&tp).expect("a leader");
        let follower = (1..=3).find(|b| *b != leader).expect("three brokers");
        (sim, tp, follower)
    }

    /// Replaces the follower's last batch by `batch(the leader's last batch)`, at the same
    /// offset; returns that offset.
    fn replace_last_batch(sim: &mut Sim, tp: &Tp, follower: u16, batch: impl Fn(&RecordBatch) -> RecordBatch) -> i64 {
        let leader = sim.committed_leader(tp).expect("a leader");
        let leaders = sim.replica_log(leader, tp).expect("the leader is up").batches().last().expect("a batch").clone();
        let slot = sim.nodes.get_mut(&NodeId::broker(follower)).expect("the follower");
        let Node::Broker(b) = &mut slot.node else { panic!("a broker") };
        let log = &mut b.replicas_mut().get_mut(tp).expect("a replica").log;
        assert_eq!(log.log_end_offset(), leaders.last_offset() + 1, "the follower caught up");
        log.truncate_to(leaders.base_offset(), SimTime::from_ms(3000));
        log.append_as_follower(batch(&leaders), SimTime::from_ms(3000));
        leaders.base_offset()
    }

    /// The base offsets of the follower's batches that [`super::not_copied`] leaves to decode.
    fn decoded(sim: &Sim, tp: &Tp, follower: u16) -> Vec<i64> {
        let leader = sim.replica_log(sim.committed_leader(tp).expect("a leader"), tp);
        let log = sim.replica_log(follower, tp).expect("the follower is up");
        super::not_copied(log, leader).map(RecordBatch::base_offset).collect()
    }

    fn mismatches(sim: &Sim) -> Vec<String> {
        let checks = sim.checks();
        checks.violations.into_iter().filter(|v| v.kind == ViolationKind::LogMismatch).map(|v| v.message).collect()
    }

    /// The final log-matching check decodes a follower's batch that is not the leader's own copy
    /// and finds where it differs; an equal batch made apart from the leader's is no mismatch.
    #[test]
    fn log_matching_finds_a_follower_batch_that_differs_from_the_leaders() {
        let (mut sim, tp, follower) = replicated_run();
        assert_eq!(mismatches(&sim), Vec::<String>::new());
        // Fetched batches are the leader's own copies: none is decoded.
        assert_eq!(decoded(&sim, &tp, follower), Vec::<i64>::new());
        let base = replace_last_batch(&mut sim, &tp, follower, |leaders| {
            RecordBatch::from_bytes(leaders.bytes().to_vec()).expect("the leader's bytes decode")
        });
        assert_eq!(decoded(&sim, &tp, follower), [base], "only the batch made apart is decoded");
        assert_eq!(mismatches(&sim), Vec::<String>::new(), "a separate copy of the same bytes");

        let (mut sim, tp, follower) = replicated_run();
        let base_changed = replace_last_batch(&mut sim, &tp, follower, |leaders| {
            let records: Vec<Record> = leaders
                .records()
                .into_iter()
                .map(|(_, mut r)| {
                    r.value = Some(b"changed".to_vec());
                    r
                })
                .collect();
            let h = leaders.header();
            RecordBatch::build(&BatchSpec::default(), &records).stamped(h.base_offset, h.partition_leader_epoch)
        });
        assert_eq!(base_changed, base);
        let found = mismatches(&sim);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains(&format!("broker-{follower} (in sync) differs")), "{}", found[0]);
        assert!(found[0].contains(&format!("at offset {base},")), "{}", found[0]);
    }

    #[test]
    fn log_matching_reports_the_lowest_differing_offset_below_the_end() {
        let held: VecMap<i64, u64> = [(3, 30), (4, 40), (5, 50), (6, 60)].into_iter().collect();
        let same = [(3, 30), (4, 40), (5, 50), (6, 60)];
        assert_eq!(first_mismatch(same.into_iter(), 7, &held), None);
        // 6 differs but is not below the end; 2 differs but the leader no longer holds it.
        assert_eq!(first_mismatch([(2, 99), (3, 30), (6, 61)].into_iter(), 6, &held), None);
        assert_eq!(first_mismatch([(2, 99), (3, 30), (6, 61)].into_iter(), 7, &held), Some(6));
        // The lowest, whatever order the replica's pairs come in.
        assert_eq!(first_mismatch([(5, 51), (3, 30), (4, 41)].into_iter(), 7, &held), Some(4));
    }
}
