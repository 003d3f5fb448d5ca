//! Checks over the simulation's state: the acknowledged-record loss check (the seeds' core
//! promise: acks=all + RF ≥ 3 + min ISR ≥ 2 + no unclean election loses nothing acknowledged).
//!
//! A record acknowledged to a producer at `(partition, offset)` is *lost* when the partition's
//! current leader (as the controller committed it) no longer holds that same record — by
//! [`Record::fingerprint`](super::record::Record::fingerprint) — at that offset, or *unavailable*
//! while the partition has no live leader. Records that retention deleted (below the log start)
//! or that compaction removed (a later record has the key) are gone by design, not lost.

use super::node::NodeId;
use super::protocol::Tp;
use super::{Node, Sim};
use serde::Serialize;
use std::collections::BTreeMap;

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
}

/// A leader's log as the loss check reads it.
struct LeaderLog {
    records: BTreeMap<i64, u64>,
    log_start_offset: i64,
    log_end_offset: i64,
    compacted: bool,
}

impl Sim {
    /// Checks every acknowledged record against its partition's current leader.
    pub fn acked_check(&self) -> AckedCheck {
        let mut wanted: BTreeMap<Tp, Vec<(i64, u64, NodeId)>> = BTreeMap::new();
        let mut check = AckedCheck::default();
        for id in self.node_ids() {
            if let Some(Node::Producer(p)) = self.node(id) {
                for a in p.acked() {
                    wanted.entry(a.tp.clone()).or_default().push((a.offset, a.fingerprint, id));
                    check.acked += 1;
                }
            }
        }
        for (tp, mut records) in wanted {
            records.sort_unstable();
            let held = self.leader_fingerprints(&tp);
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
        check
    }

    /// What `tp`'s committed leader holds, if it is up.
    fn leader_fingerprints(&self, tp: &Tp) -> Option<LeaderLog> {
        let leader = self.committed_leader(tp)?;
        let id = NodeId::broker(leader);
        let Some(Node::Broker(b)) = self.node(id).filter(|_| self.is_up(id)) else { return None };
        let log = &b.replicas().get(tp)?.log;
        Some(LeaderLog {
            records: log.batches().flat_map(|batch| batch.records()).map(|(o, r)| (o, r.fingerprint())).collect(),
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
