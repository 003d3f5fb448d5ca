//! Pure replication rules (shared/reference §6): the leader's high watermark and the leader
//! epoch cache. Free functions over plain data, so they are tested against Kafka's vectors and
//! reused by the broker.

use crate::sim::vec_map::VecMap;

/// What the leader knows about one remote replica when it recomputes the HW.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteReplica {
    /// Its LEO as learned from its last fetch.
    pub log_end_offset: i64,
    /// In the maximal ISR (the committed ISR plus a pending expansion).
    pub in_maximal_isr: bool,
    /// `lastCaughtUpTimeMs`.
    pub last_caught_up_ms: i64,
    /// ISR-eligible: not fenced, not shutting down, broker epoch current.
    pub eligible: bool,
}

/// Whether a follower outside the ISR may join it (Kafka `Partition.isFollowerInSync`, used by
/// `maybeExpandIsr`): its LEO has reached the leader's HW *and* the offset at which the current
/// leader epoch began, so it holds everything the current leader wrote before it led. (The
/// caller also requires the broker to be ISR-eligible: not fenced, not shutting down.)
pub fn follower_can_join_isr(
    follower_log_end_offset: i64,
    high_watermark: i64,
    leader_epoch_start_offset: i64,
) -> bool {
    follower_log_end_offset >= high_watermark && follower_log_end_offset >= leader_epoch_start_offset
}

/// The leader's side of the HW computation (Kafka `Partition.maybeIncrementLeaderHW`).
/// `F` yields the other replicas: a list in the vectors' tests, the broker's own follower
/// table read in place by the broker (it runs after every follower fetch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HighWatermarkInput<F = Vec<RemoteReplica>> {
    /// The leader's LEO.
    pub leader_log_end_offset: i64,
    /// The current HW.
    pub high_watermark: i64,
    /// Size of the committed ISR.
    pub committed_isr_size: usize,
    /// `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// Number of replicas.
    pub replication_factor: usize,
    /// Now, ms.
    pub now_ms: i64,
    /// `replica.lag.time.max.ms`.
    pub replica_lag_time_max_ms: i64,
    /// The other replicas.
    pub followers: F,
}

/// `Replica.isCaughtUp`: at the leader's LEO, or caught up within the lag time.
pub fn is_caught_up(r: &RemoteReplica, leader_log_end_offset: i64, now_ms: i64, lag_max_ms: i64) -> bool {
    r.log_end_offset == leader_log_end_offset || now_ms - r.last_caught_up_ms <= lag_max_ms
}

/// The leader's new HW: unchanged while the committed ISR is below
/// `min(min.insync.replicas, replication factor)` (KAFKA-15583); otherwise the least LEO among
/// the leader and every replica in the maximal ISR or caught up and eligible; never lower.
pub fn leader_high_watermark<F>(input: HighWatermarkInput<F>) -> i64
where
    F: IntoIterator<Item = RemoteReplica>,
{
    let effective_min_isr = input.min_insync_replicas.min(input.replication_factor);
    if input.committed_isr_size < effective_min_isr {
        return input.high_watermark;
    }
    let counted = input.followers.into_iter().filter(|r| {
        r.in_maximal_isr
            || (r.eligible && is_caught_up(r, input.leader_log_end_offset, input.now_ms, input.replica_lag_time_max_ms))
    });
    let candidate = counted.map(|r| r.log_end_offset).fold(input.leader_log_end_offset, i64::min);
    input.high_watermark.max(candidate)
}

/// Epoch value for "no epoch" (Kafka `UNDEFINED_EPOCH`).
pub const UNDEFINED_EPOCH: i32 = -1;
/// Offset value for "no offset" (Kafka `UNDEFINED_EPOCH_OFFSET`).
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// Kafka's `LeaderEpochFileCache`: for each leader epoch, the first offset written in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderEpochCache {
    epochs: VecMap<i32, i64>,
}

impl LeaderEpochCache {
    /// An empty cache.
    pub fn new() -> LeaderEpochCache {
        LeaderEpochCache::default()
    }

    /// `(epoch, start offset)` entries in epoch order.
    pub fn entries(&self) -> Vec<(i32, i64)> {
        self.epochs.iter().map(|(e, o)| (*e, *o)).collect()
    }

    /// The latest epoch, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.keys().next_back().copied()
    }

    /// `assign`: ignored when it changes nothing (same epoch, not an earlier start); otherwise
    /// entries from the end whose epoch or start offset is not below the new one are removed
    /// first. Negative epochs or offsets are a bug in the caller.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        assert!(epoch >= 0 && start_offset >= 0, "assign({epoch}, {start_offset})");
        let needed = match self.epochs.iter().next_back() {
            Some((e, o)) => epoch != *e || start_offset < *o,
            None => true,
        };
        if !needed {
            return false;
        }
        while let Some((&e, &o)) = self.epochs.iter().next_back() {
            if e >= epoch || o >= start_offset {
                self.epochs.remove(&e);
            } else {
                break;
            }
        }
        self.epochs.insert(epoch, start_offset);
        true
    }

    /// `endOffsetFor(requestedEpoch, logEndOffset)`: the largest epoch at or below the requested
    /// one and the start offset of the next higher epoch (the LEO for the latest epoch).
    pub fn end_offset_for(&self, requested_epoch: i32, log_end_offset: i64) -> (i32, i64) {
        if requested_epoch == UNDEFINED_EPOCH {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if self.latest_epoch() == Some(requested_epoch) {
            return (requested_epoch, log_end_offset);
        }
        let Some((_, &higher_start)) = self.epochs.range(requested_epoch + 1..).next() else {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        };
        match self.epochs.range(..=requested_epoch).next_back() {
            None => (requested_epoch, higher_start),
            Some((&floor, _)) => (floor, higher_start),
        }
    }

    /// Drops entries at or after `offset` (follower truncation, `truncateFromEnd`).
    pub fn truncate_from_end(&mut self, offset: i64) {
        self.epochs.retain(|_, start| *start < offset);
    }
}

/// Where a follower truncates when the leader answers its fetch with the diverging epoch
/// `(leader_epoch, leader_end_offset)` (`AbstractFetcherThread.getOffsetTruncationState`):
/// - the leader knows no such epoch (`-1` end offset): to the follower's HW;
/// - the follower holds that same epoch: to the least of the leader's end offset, the
///   follower's own end offset for the epoch, and its LEO;
/// - it holds only earlier epochs: to its own end offset for the largest epoch below (the next
///   fetch, carrying that epoch, resolves the rest);
/// - it holds no epochs at or below: to `min(leader end offset, LEO)`.
pub fn follower_truncation_offset(
    leader_epoch: i32,
    leader_end_offset: i64,
    follower: &LeaderEpochCache,
    follower_log_end_offset: i64,
    follower_high_watermark: i64,
) -> i64 {
    if leader_end_offset == UNDEFINED_EPOCH_OFFSET {
        return follower_high_watermark.min(follower_log_end_offset);
    }
    let (epoch, end) = follower.end_offset_for(leader_epoch, follower_log_end_offset);
    if epoch == leader_epoch {
        leader_end_offset.min(end).min(follower_log_end_offset)
    } else if epoch == UNDEFINED_EPOCH {
        leader_end_offset.min(follower_log_end_offset)
    } else {
        end.min(follower_log_end_offset)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn follower(leo: i64, maximal: bool, last_caught_up_ms: i64) -> RemoteReplica {
        RemoteReplica { log_end_offset: leo, in_maximal_isr: maximal, last_caught_up_ms, eligible: true }
    }

    #[test]
    fn a_follower_joins_the_isr_only_past_the_hw_and_the_epoch_start_offset() {
        // A new leader took over at LEO 10 with its HW still at 7 (HW lags on a new leader).
        assert!(!follower_can_join_isr(6, 7, 10), "below the HW");
        assert!(!follower_can_join_isr(8, 7, 10), "past the HW but missing the old leader's tail");
        assert!(follower_can_join_isr(10, 7, 10));
        assert!(follower_can_join_isr(12, 12, 0), "epoch 0 starts at offset 0");
    }

    #[test]
    fn a_lagging_follower_outside_the_isr_does_not_hold_the_hw_back() {
        let input = HighWatermarkInput {
            leader_log_end_offset: 10,
            high_watermark: 4,
            committed_isr_size: 2,
            min_insync_replicas: 1,
            replication_factor: 3,
            now_ms: 100_000,
            replica_lag_time_max_ms: 30_000,
            followers: vec![follower(10, true, 99_000), follower(2, false, 0)],
        };
        assert_eq!(leader_high_watermark(input.clone()), 10);
        let mut caught_up_recently = input;
        caught_up_recently.followers[1].last_caught_up_ms = 80_000;
        assert_eq!(
            leader_high_watermark(caught_up_recently.clone()),
            4,
            "caught up within the lag: counted, and HW never drops"
        );
        let mut fenced = caught_up_recently;
        fenced.followers[1].eligible = false;
        assert_eq!(leader_high_watermark(fenced), 10, "a fenced replica is not counted");
    }

    fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
        let mut c = LeaderEpochCache::new();
        for (e, o) in entries {
            c.assign(*e, *o);
        }
        c
    }

    #[test]
    fn kip_101_follower_truncates_the_uncommitted_tail_of_its_own_epoch() {
        // Leader A wrote epoch 0 up to offset 10 (exclusive), follower B got to 12 in epoch 0
        // before A lost its tail; A leads again in epoch 1 from offset 10. B asks with
        // lastFetchedEpoch 0: the leader's end for epoch 0 is 10 < 12, so B keeps 0..10.
        let leader = cache(&[(0, 0), (1, 10)]);
        assert_eq!(leader.end_offset_for(0, 15), (0, 10));
        assert_eq!(follower_truncation_offset(0, 10, &cache(&[(0, 0)]), 12, 8), 10);
    }

    #[test]
    fn kip_279_divergent_epochs_truncate_in_two_rounds() {
        // The follower wrote epoch 2 at 8..12 as a short-lived leader; the real leader never saw
        // epoch 2 (it has 1 from 5, then 3 from 8). For lastFetchedEpoch 2 it answers (1, 8).
        let leader = cache(&[(0, 0), (1, 5), (3, 8)]);
        assert_eq!(leader.end_offset_for(2, 20), (1, 8));
        let follower = cache(&[(0, 0), (1, 5), (2, 8)]);
        assert_eq!(follower_truncation_offset(1, 8, &follower, 12, 6), 8, "same epoch 1: min(8, 8, 12)");
        // A follower that skipped epoch 1 holds only epoch 0 up to 7: round one stops at 7.
        let skipped = cache(&[(0, 0), (2, 7)]);
        assert_eq!(follower_truncation_offset(1, 8, &skipped, 12, 6), 7);
    }

    #[test]
    fn truncation_without_epochs_or_leader_knowledge() {
        assert_eq!(follower_truncation_offset(0, 4, &LeaderEpochCache::new(), 9, 2), 4, "no epochs: min(end, LEO)");
        assert_eq!(follower_truncation_offset(0, UNDEFINED_EPOCH_OFFSET, &cache(&[(0, 0)]), 9, 2), 2, "to HW");
        assert_eq!(follower_truncation_offset(0, 20, &cache(&[(0, 0)]), 9, 2), 9, "never past the LEO");
    }

    #[test]
    fn epoch_cache_truncation_and_truncate_from_end() {
        let mut c = LeaderEpochCache::new();
        assert!(c.assign(1, 0));
        assert!(!c.assign(1, 5), "same epoch, later start: nothing to do");
        assert!(c.assign(3, 20));
        c.truncate_from_end(20);
        assert_eq!(c.entries(), [(1, 0)]);
    }
}
