//! Safety checkers fed by the trace (TigerBeetle's VOPR style; invariants after the public Kafka
//! TLA+ specs). Every trace event passes through [`Invariants::observe`] as it is recorded; a
//! broken rule becomes a [`Violation`] — a typed kind, the sequence number of the event where it
//! became true, and a one-line explanation — and an `InvariantViolated` trace event, so a viewer
//! can freeze there. The checks over the final state (acknowledged records, log matching, offsets
//! order, duplicates and reordering) run in [`crate::sim::Sim::checks`].
//!
//! Live checks:
//! - `leader_epoch_unique`: at most one broker becomes leader of a partition in one leader epoch.
//! - `hw_regressed`: a leader's HW never decreases within its leader epoch.
//! - `committed_lost_on_election`: a new leader from a clean (or preferred) election holds every
//!   record below the highest HW any earlier leader reached (an unclean election may not).
//! - `group_ownership`: a completed assignment gives every subscribed partition exactly one owner.
//! - `generation_regressed`: no group state carries a generation older than one that reached
//!   Stable (Stable generations are stored before their assignment is handed out).
//! - `commit_from_old_generation`: committed offsets come from the generation current when the
//!   commit was accepted (a commit may finish replicating up to `offsets.commit.timeout.ms`
//!   after a newer generation started).

use super::group::coordinator::GroupState;
use super::protocol::Tp;
use super::time::{SimDuration, SimTime};
use super::trace::{ElectionKind, TraceEvent, TraceKind};
use crate::sim::vec_map::{VecMap, VecSet};
use serde::Serialize;

/// Which rule broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// Two brokers led one partition in the same leader epoch.
    LeaderEpochUnique,
    /// A leader's HW went down within its epoch.
    HwRegressed,
    /// A cleanly elected leader lacks records below the committed HW.
    CommittedLostOnElection,
    /// An acknowledged record is not on the partition's leader at the end.
    AckedLost,
    /// A record a consumer read is gone from the partition.
    ConsistentRead,
    /// `logStartOffset ≤ HW ≤ LEO` fails on a replica.
    OffsetsOrder,
    /// In-sync replicas' logs differ below the HW.
    LogMismatch,
    /// An idempotent producer's record is in the log twice.
    Duplicate,
    /// An idempotent producer's records are out of send order in a partition.
    Reordered,
    /// An assignment left a partition without an owner, or gave it two.
    GroupOwnership,
    /// A group's generation went back.
    GenerationRegressed,
    /// An offset commit from a generation that was not current.
    CommitFromOldGeneration,
    /// After the faults healed, the cluster did not converge in time.
    Liveness,
}

/// A broken rule: where (the trace sequence number and time) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which rule.
    pub kind: ViolationKind,
    /// Sequence number of the trace event at which it became true.
    pub seq: u64,
    /// Simulated time then, ms.
    pub at_ms: u64,
    /// One line: what is wrong.
    pub message: String,
}

/// The checkers' state, built from the trace alone.
#[derive(Clone, Debug, Default)]
pub struct Invariants {
    /// (partition, leader epoch) → the broker that became leader in it.
    epoch_leaders: VecMap<(Tp, i32), u16>,
    /// (broker, partition) → leader epoch while that broker leads it.
    leading: VecMap<(u16, Tp), i32>,
    /// (broker, partition) → its HW as last advanced.
    hw: VecMap<(u16, Tp), i64>,
    /// Partition → the highest HW a leader reached (what a clean election must keep).
    committed_hw: VecMap<Tp, (i64, u16)>,
    /// (partition, leader epoch) → how the controller elected that leader.
    elections: VecMap<(Tp, i32), ElectionKind>,
    /// Group → (generation, when it started), as the trace last showed it.
    generations: VecMap<String, (i32, SimTime)>,
    /// Group → the highest generation that reached Stable (stored), and when.
    stable_generations: VecMap<String, (i32, SimTime)>,
    /// Group → the partitions its members subscribe to.
    subscribed: VecMap<String, VecSet<Tp>>,
    /// Group → the protocol (assignor) of its current generation.
    protocols: VecMap<String, String>,
    /// How long an accepted commit may take to replicate.
    commit_timeout: SimDuration,
    violations: Vec<Violation>,
}

impl Invariants {
    /// Checkers for a cluster whose groups subscribe to `subscribed`.
    pub fn new(subscribed: VecMap<String, VecSet<Tp>>, commit_timeout: SimDuration) -> Invariants {
        Invariants { subscribed, commit_timeout, ..Default::default() }
    }

    /// The formed cluster's first leaders (epoch 0: no `BecameLeader` event announces them).
    pub fn seed_leaders(&mut self, leaders: impl IntoIterator<Item = (Tp, u16)>) {
        for (tp, b) in leaders {
            self.epoch_leaders.insert((tp.clone(), 0), b);
            self.leading.insert((b, tp), 0);
        }
    }

    /// Every violation found so far, in order.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Adds a violation found outside the trace (a final-state check).
    pub fn report(&mut self, kind: ViolationKind, seq: u64, at: SimTime, message: String) -> Violation {
        let v = Violation { kind, seq, at_ms: at.as_ms(), message };
        self.violations.push(v.clone());
        v
    }

    /// Feeds one recorded event; returns the violations it reveals (nearly always none: the
    /// caller copies them only then).
    pub fn observe(&mut self, e: &TraceEvent) -> &[Violation] {
        let before = self.violations.len();
        let broker = e.node.is_broker().then_some(e.node.number);
        match &e.kind {
            TraceKind::LeaderElected { tp, leader_epoch, election, .. } => {
                self.elections.insert((tp.clone(), *leader_epoch), *election);
            }
            TraceKind::BecameLeader { tp, leader_epoch, start_offset, .. } => {
                if let Some(b) = broker {
                    self.became_leader(e, b, tp, *leader_epoch, *start_offset);
                }
            }
            TraceKind::BecameFollower { tp, .. } => {
                if let Some(b) = broker {
                    self.leading.remove(&(b, tp.clone()));
                }
            }
            TraceKind::NodeCrashed | TraceKind::NodeRestarted => {
                if let Some(b) = broker {
                    self.leading.retain(|(x, _), _| *x != b);
                    self.hw.retain(|(x, _), _| *x != b);
                }
            }
            TraceKind::HighWatermarkAdvanced { tp, to, .. } => {
                if let Some(b) = broker {
                    self.hw_moved(e, b, tp, *to);
                }
            }
            TraceKind::LogTruncated { tp, to, .. } => {
                if let Some(b) = broker {
                    self.truncated(e, b, tp, *to);
                }
            }
            TraceKind::GroupStateChanged { group, generation, to, .. } => {
                self.generation_seen(e, group, *generation, *to)
            }
            TraceKind::GroupGenerationStarted { group, protocol, .. } => {
                self.protocols.insert(group.clone(), protocol.clone());
            }
            TraceKind::GroupAssignment { group, generation, assignment } => {
                self.assignment(e, group, *generation, assignment)
            }
            TraceKind::OffsetsCommitted { group, generation, .. } => self.commit(e, group, *generation),
            _ => {}
        }
        &self.violations[before..]
    }

    fn push(&mut self, e: &TraceEvent, kind: ViolationKind, message: String) {
        self.violations.push(Violation { kind, seq: e.seq, at_ms: e.at.as_ms(), message });
    }

    fn became_leader(&mut self, e: &TraceEvent, b: u16, tp: &Tp, epoch: i32, start_offset: i64) {
        match self.epoch_leaders.get(&(tp.clone(), epoch)) {
            Some(other) if *other != b => {
                let m = format!("{tp}: broker-{b} became leader in epoch {epoch}, which broker-{other} already led");
                self.push(e, ViolationKind::LeaderEpochUnique, m);
            }
            _ => {
                self.epoch_leaders.insert((tp.clone(), epoch), b);
            }
        }
        self.leading.insert((b, tp.clone()), epoch);
        let election = self.elections.get(&(tp.clone(), epoch)).copied();
        if election == Some(ElectionKind::Unclean) {
            // Records may be lost by design: the new leader's log is the truth from here on.
            self.committed_hw.insert(tp.clone(), (start_offset, b));
            return;
        }
        if let Some((hw, by)) = self.committed_hw.get(tp).copied() {
            if start_offset < hw {
                let m = format!(
                    "{tp}: broker-{b} leads epoch {epoch} from offset {start_offset}, below the HW {hw} broker-{by} reached: \
                     {} committed records are gone without an unclean election",
                    hw - start_offset
                );
                self.push(e, ViolationKind::CommittedLostOnElection, m);
                self.committed_hw.insert(tp.clone(), (start_offset, b));
            }
        }
    }

    fn hw_moved(&mut self, e: &TraceEvent, b: u16, tp: &Tp, to: i64) {
        // At most three searches per HW move, among the commonest events (there were five).
        let key = (b, tp.clone());
        let epoch = self.leading.get(&key).copied();
        let old = self.hw.insert(key, to);
        if let (Some(epoch), Some(old)) = (epoch, old) {
            if to < old {
                let m = format!("{tp}: leader broker-{b}'s HW went from {old} down to {to} in epoch {epoch}");
                self.push(e, ViolationKind::HwRegressed, m);
            }
        }
        if epoch.is_some() {
            let entry = self.committed_hw.entry(tp.clone()).or_insert((to, b));
            if to > entry.0 {
                *entry = (to, b);
            }
        }
    }

    fn truncated(&mut self, e: &TraceEvent, b: u16, tp: &Tp, to: i64) {
        let key = (b, tp.clone());
        match (self.leading.get(&key), self.hw.get(&key)) {
            (Some(epoch), Some(hw)) if to < *hw => {
                let m = format!("{tp}: leader broker-{b} truncated to {to}, below its HW {hw}, in epoch {epoch}");
                self.push(e, ViolationKind::HwRegressed, m);
            }
            _ => {}
        }
        if let Some(hw) = self.hw.get_mut(&key) {
            *hw = (*hw).min(to);
        }
    }

    /// A generation that reached Stable is stored in `__consumer_offsets` before anyone gets
    /// its assignment, so no later state may carry an older one. (A generation that never got
    /// Stable is not stored: after a coordinator failover the group resumes from the last stored
    /// one and the number is reused, as in Kafka.)
    fn generation_seen(&mut self, e: &TraceEvent, group: &str, generation: i32, to: GroupState) {
        if let Some((stable, _)) = self.stable_generations.get(group) {
            if generation < *stable {
                let m = format!("group {group}: generation {generation} after generation {stable} was stored (Stable)");
                self.push(e, ViolationKind::GenerationRegressed, m);
            }
        }
        if to == GroupState::Stable && self.stable_generations.get(group).is_none_or(|(g, _)| generation > *g) {
            self.stable_generations.insert(group.to_string(), (generation, e.at));
        }
        if self.generations.get(group).is_none_or(|(g, _)| *g != generation) {
            self.generations.insert(group.to_string(), (generation, e.at));
        }
    }

    fn assignment(&mut self, e: &TraceEvent, group: &str, generation: i32, assignment: &[(String, Vec<Tp>)]) {
        let mut owners: VecMap<&Tp, Vec<&str>> = VecMap::new();
        for (member, tps) in assignment {
            for tp in tps {
                owners.entry(tp).or_default().push(member);
            }
        }
        let wanted = self.subscribed.get(group).cloned().unwrap_or_default();
        let unowned: Vec<String> = wanted.iter().filter(|tp| !owners.contains_key(tp)).map(Tp::to_string).collect();
        let doubled: Vec<String> =
            owners.iter().filter(|(_, m)| m.len() > 1).map(|(tp, m)| format!("{tp} ({})", m.join(", "))).collect();
        if !doubled.is_empty() {
            let m = format!("group {group} generation {generation}: two owners for {}", doubled.join("; "));
            self.push(e, ViolationKind::GroupOwnership, m);
        }
        // A cooperative round holds back the partitions that move (they are assigned in the
        // next round); every other protocol hands out everything.
        let cooperative = self.protocols.get(group).is_some_and(|p| p == "cooperative-sticky");
        if !unowned.is_empty() && !cooperative {
            let m = format!("group {group} generation {generation}: no owner for {}", unowned.join(", "));
            self.push(e, ViolationKind::GroupOwnership, m);
        }
    }

    fn commit(&mut self, e: &TraceEvent, group: &str, generation: i32) {
        if generation < 0 {
            return;
        }
        let Some((current, since)) = self.generations.get(group).copied() else { return };
        let stale = generation < current && e.at.saturating_since(since) > self.commit_timeout;
        if generation > current || stale {
            let m = format!(
                "group {group}: offsets committed in generation {generation} while generation {current} is current"
            );
            self.push(e, ViolationKind::CommitFromOldGeneration, m);
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::sim::group::coordinator::GroupState;
    use crate::sim::node::NodeId;

    fn event(seq: u64, ms: u64, kind: TraceKind) -> TraceEvent {
        TraceEvent { seq, at: SimTime::from_ms(ms), node: NodeId::broker(1), kind }
    }

    fn tp(p: u32) -> Tp {
        Tp::new(&"t".into(), p)
    }

    fn checker() -> Invariants {
        let subscribed = VecMap::from([("g".to_string(), (0..2).map(tp).collect())]);
        Invariants::new(subscribed, SimDuration::from_ms(5000))
    }

    fn state(generation: i32) -> TraceKind {
        TraceKind::GroupStateChanged {
            group: "g".into(),
            from: GroupState::PreparingRebalance,
            to: GroupState::CompletingRebalance,
            generation,
            reason: String::new(),
        }
    }

    #[test]
    fn group_rules_fire_on_two_owners_a_missing_owner_and_a_generation_going_back() {
        let mut c = checker();
        assert!(c.observe(&event(1, 10, state(1))).is_empty());
        let two = vec![("a".to_string(), vec![tp(0), tp(1)]), ("b".to_string(), vec![tp(1)])];
        let found =
            c.observe(&event(2, 11, TraceKind::GroupAssignment { group: "g".into(), generation: 1, assignment: two }));
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].kind, found[0].seq), (ViolationKind::GroupOwnership, 2));
        assert!(found[0].message.contains("two owners for t-1 (a, b)"), "{}", found[0].message);
        let none = vec![("a".to_string(), vec![tp(0)])];
        let found =
            c.observe(&event(3, 12, TraceKind::GroupAssignment { group: "g".into(), generation: 1, assignment: none }));
        assert!(found[0].message.contains("no owner for t-1"), "{}", found[0].message);
        // Generation 1 never reached Stable: a failover may reuse the number.
        assert!(c.observe(&event(4, 13, state(0))).is_empty());
        let stable = |generation| TraceKind::GroupStateChanged {
            group: "g".into(),
            from: GroupState::CompletingRebalance,
            to: GroupState::Stable,
            generation,
            reason: String::new(),
        };
        assert!(c.observe(&event(5, 14, stable(1))).is_empty());
        let found = c.observe(&event(6, 15, state(0)));
        assert_eq!(found[0].kind, ViolationKind::GenerationRegressed);
    }

    #[test]
    fn a_commit_is_from_an_old_generation_only_after_the_commit_timeout() {
        let mut c = checker();
        c.observe(&event(1, 0, state(1)));
        c.observe(&event(2, 1000, state(2)));
        let commit =
            |seq, ms| event(seq, ms, TraceKind::OffsetsCommitted { group: "g".into(), generation: 1, offsets: vec![] });
        // Accepted in generation 1 just before the rebalance, replicated just after: fine.
        assert!(c.observe(&commit(3, 1500)).is_empty());
        let found = c.observe(&commit(4, 7000));
        assert_eq!(found[0].kind, ViolationKind::CommitFromOldGeneration);
    }

    #[test]
    fn two_leaders_in_one_epoch_and_a_leader_hw_going_down_fire() {
        let mut c = checker();
        let lead = |b: u16, epoch| TraceEvent {
            seq: 0,
            at: SimTime::ZERO,
            node: NodeId::broker(b),
            kind: TraceKind::BecameLeader { tp: tp(0), leader_epoch: epoch, start_offset: 0, isr: vec![1, 2] },
        };
        assert!(c.observe(&lead(1, 3)).is_empty());
        assert_eq!(c.observe(&lead(2, 3))[0].kind, ViolationKind::LeaderEpochUnique);
        let hw = TraceKind::HighWatermarkAdvanced { tp: tp(0), from: 0, to: 10 };
        c.observe(&TraceEvent { seq: 5, at: SimTime::ZERO, node: NodeId::broker(2), kind: hw });
        let cut = TraceKind::LogTruncated { tp: tp(0), to: 4, log_end_offset: 4, bytes: 10 };
        let found = c.observe(&TraceEvent { seq: 6, at: SimTime::ZERO, node: NodeId::broker(2), kind: cut });
        assert_eq!(found[0].kind, ViolationKind::HwRegressed);
    }

    /// A leader's HW may only go up; a follower's HW is not checked and is no committed HW.
    #[test]
    fn a_leader_hw_moving_down_fires_and_only_leaders_commit() {
        let mut c = checker();
        let at = |seq, b: u16, kind| TraceEvent { seq, at: SimTime::ZERO, node: NodeId::broker(b), kind };
        let hw = |to| TraceKind::HighWatermarkAdvanced { tp: tp(0), from: 0, to };
        let lead = |epoch, start_offset| TraceKind::BecameLeader {
            tp: tp(0),
            leader_epoch: epoch,
            start_offset,
            isr: vec![1, 2],
        };
        // A follower's HW: down is fine, and it commits nothing.
        assert!(c.observe(&at(0, 2, hw(50))).is_empty());
        assert!(c.observe(&at(1, 2, hw(40))).is_empty());
        assert!(c.observe(&at(2, 1, lead(1, 0))).is_empty());
        assert!(c.observe(&at(3, 1, hw(10))).is_empty());
        assert!(c.observe(&at(4, 1, hw(12))).is_empty());
        let found = c.observe(&at(5, 1, hw(7)));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, ViolationKind::HwRegressed);
        assert_eq!(found[0].message, "t-0: leader broker-1's HW went from 12 down to 7 in epoch 1");
        // The highest HW the leader reached (12, not the follower's 50) must survive a clean election.
        assert!(c.observe(&at(6, 2, lead(2, 12))).is_empty());
        assert_eq!(c.observe(&at(7, 3, lead(3, 11)))[0].kind, ViolationKind::CommittedLostOnElection);
    }
}
