//! Kafka's `RecordAccumulator`: per-partition deques of [`ProducerBatch`]es, `ready()` and
//! `drain()` (shared/reference §2).

use super::batch::{BufferPool, ProducerBatch, SendId};
use crate::sim::protocol::Tp;
use crate::sim::record::{record_size_upper_bound, Record};
use crate::sim::time::SimTime;
use crate::sim::tp_map::TpMap;
use crate::sim::vec_map::{VecMap, VecSet};
use std::collections::VecDeque;

/// What an append did (Kafka `RecordAppendResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendResult {
    /// A new batch was created for this record.
    pub new_batch_created: bool,
    /// `deque.size() > 1 || batch.isFull()`: the sender should be woken.
    pub batch_is_full: bool,
    /// Growth of the batch's estimated size (the whole size for a new batch).
    pub appended_bytes: u32,
    /// The batch the record went into.
    pub batch_id: u64,
    /// That batch's records and estimated size after the append.
    pub batch_records: u32,
    /// See `batch_records`.
    pub batch_bytes: u32,
    /// Batches ahead of it in its deque (it is the last).
    pub behind_head: bool,
    /// That batch is full (`allBatchesFull` of its partition).
    pub last_full: bool,
}

impl AppendResult {
    /// What appending to `last`, the last of `deque_len` batches, did.
    fn of(last: &ProducerBatch, deque_len: usize, new_batch_created: bool, appended_bytes: u32) -> AppendResult {
        let last_full = last.is_full();
        AppendResult {
            new_batch_created,
            batch_is_full: deque_len > 1 || last_full,
            appended_bytes,
            batch_id: last.batch_id,
            batch_records: last.record_count(),
            batch_bytes: last.estimated_size(),
            behind_head: deque_len > 1,
            last_full,
        }
    }
}

/// Why a partition's head batch is or is not sendable, for `ready()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadyCheck {
    /// Leaders with at least one sendable partition.
    pub ready_nodes: VecSet<u16>,
    /// When to check again, if some partition is waiting on linger or backoff.
    pub next_ready_check_ms: Option<u64>,
    /// Topics with data but no known leader.
    pub unknown_leader_topics: VecSet<String>,
}

impl ReadyCheck {
    /// Empties the check, keeping its buffers.
    pub fn clear(&mut self) {
        self.ready_nodes.clear();
        self.next_ready_check_ms = None;
        self.unknown_leader_topics.clear();
    }
}

/// The accumulator.
#[derive(Clone, Debug)]
pub struct RecordAccumulator {
    batch_size: u32,
    linger_ms: u64,
    deques: TpMap<VecDeque<ProducerBatch>>,
    /// The memory pool.
    pub pool: BufferPool,
    muted: VecSet<Tp>,
    drain_index: VecMap<u16, usize>,
    batch_id_next: u64,
}

impl RecordAccumulator {
    /// An accumulator with `batch.size` (0 behaves as 1), `linger.ms` and a pool of `buffer.memory`.
    pub fn new(batch_size: u32, linger_ms: u64, buffer_memory: u64) -> RecordAccumulator {
        RecordAccumulator {
            batch_size: batch_size.max(1),
            linger_ms,
            deques: TpMap::default(),
            pool: BufferPool::new(buffer_memory, batch_size.max(1)),
            muted: VecSet::new(),
            drain_index: VecMap::new(),
            batch_id_next: 0,
        }
    }

    /// Changes `linger.ms` (a config change).
    pub fn set_linger_ms(&mut self, linger_ms: u64) {
        self.linger_ms = linger_ms;
    }

    /// The deques, by partition.
    pub fn deques(&self) -> &TpMap<VecDeque<ProducerBatch>> {
        &self.deques
    }

    /// Buffer a new batch for `record` needs: `max(batch.size, estimateSizeInBytesUpperBound)`.
    pub fn buffer_size_for(&self, record: &Record) -> u32 {
        self.buffer_size_for_bound(self.buffer_size_for_unbatched(record))
    }

    /// [`RecordAccumulator::buffer_size_for`] of a record whose upper-bound size is known.
    pub fn buffer_size_for_bound(&self, upper_bound: u32) -> u32 {
        self.batch_size.max(upper_bound)
    }

    /// `estimateSizeInBytesUpperBound` of one record (a batch holding only it).
    pub fn buffer_size_for_unbatched(&self, record: &Record) -> u32 {
        record_size_upper_bound(record.key.as_deref(), record.value.as_deref(), &record.headers) as u32
    }

    /// `allBatchesFull`: the last batch is full, or the deque is empty.
    pub fn all_batches_full(&self, tp: &Tp) -> bool {
        self.deques.get(tp).and_then(VecDeque::back).is_none_or(ProducerBatch::is_full)
    }

    /// `tryAppend` on the last batch; a record that does not fit closes that batch. Without a
    /// batch to take it, `None`: the record needs a new batch.
    pub fn try_append(&mut self, tp: &Tp, record: &Record, send: SendId, now: SimTime) -> Option<AppendResult> {
        let deque = self.deques.get_mut(tp)?;
        let len = deque.len();
        let last = deque.back_mut()?;
        match last.try_append(record, send, now) {
            Some(appended_bytes) => Some(AppendResult::of(last, len, false, appended_bytes)),
            None => {
                last.close_for_appends();
                None
            }
        }
    }

    /// `appendNewBatch` with a buffer of `capacity` bytes already taken from the pool.
    pub fn append_new_batch(
        &mut self,
        tp: &Tp,
        record: &Record,
        send: SendId,
        capacity: u32,
        now: SimTime,
    ) -> AppendResult {
        let mut batch = ProducerBatch::new(self.batch_id_next, tp.clone(), capacity, now);
        self.batch_id_next += 1;
        batch.try_append(record, send, now).expect("the first record always fits");
        let appended_bytes = batch.estimated_size();
        let deque = self.deques.get_or_insert_default(tp);
        deque.push_back(batch);
        AppendResult::of(deque.back().expect("just pushed"), deque.len(), true, appended_bytes)
    }

    /// `ready()`: the nodes with sendable data, when to look again, and leaderless topics.
    /// `exhausted` is true while an allocation waits in the pool.
    pub fn ready(&self, leader_of: &dyn Fn(&Tp) -> Option<u16>, now: SimTime) -> ReadyCheck {
        let mut check = ReadyCheck::default();
        self.ready_into(leader_of, now, &mut check);
        check
    }

    /// [`RecordAccumulator::ready`] into `check`, which is cleared first (the sender reuses one
    /// check's buffers).
    pub fn ready_into(&self, leader_of: &dyn Fn(&Tp) -> Option<u16>, now: SimTime, check: &mut ReadyCheck) {
        let exhausted = !self.pool.waiters.is_empty();
        check.clear();
        for (tp, deque) in &self.deques {
            let Some(head) = deque.front() else { continue };
            let Some(leader) = leader_of(tp) else {
                check.unknown_leader_topics.insert(tp.topic.to_string());
                continue;
            };
            if check.ready_nodes.contains(&leader) || self.muted.contains(tp) {
                continue;
            }
            let backing_off = head.backing_off(now);
            let time_to_wait = if backing_off { head.retry_backoff_ms } else { self.linger_ms };
            let waited = head.waited(now);
            let full = deque.len() > 1 || head.is_full();
            let sendable = full || waited >= time_to_wait || exhausted;
            if sendable && !backing_off {
                check.ready_nodes.insert(leader);
            } else {
                let left = time_to_wait.saturating_sub(waited);
                check.next_ready_check_ms = Some(check.next_ready_check_ms.map_or(left, |d| d.min(left)));
            }
        }
    }

    /// Marks a partition as having a batch in flight (max.in.flight = 1 keeps order).
    pub fn mute(&mut self, tp: &Tp) {
        self.muted.insert(tp.clone());
    }

    /// Lifts the mute when its batch completes.
    pub fn unmute(&mut self, tp: &Tp) {
        self.muted.remove(tp);
    }

    /// `drainBatchesForOneNode`: from the node's partitions (metadata order) starting at its
    /// rotating drain index, at most one batch per partition, within `max_request_size` (a single
    /// oversized batch still goes alone). `stop` is the idempotence gate
    /// (`shouldStopDrainBatchesForPartition`); `on_drain` assigns sequences.
    pub fn drain_node(
        &mut self,
        node: u16,
        partitions: &[Tp],
        max_request_size: u32,
        now: SimTime,
        stop: &dyn Fn(&ProducerBatch) -> bool,
        on_drain: &mut dyn FnMut(&mut ProducerBatch),
    ) -> Vec<ProducerBatch> {
        let mut ready = Vec::new();
        if partitions.is_empty() {
            return ready;
        }
        let mut index = self.drain_index.get(&node).copied().unwrap_or(0) % partitions.len();
        let start = index;
        let mut size = 0u32;
        loop {
            let tp = &partitions[index];
            self.drain_index.insert(node, index);
            index = (index + 1) % partitions.len();
            if let Some(batch) = self.drain_one(tp, size, max_request_size, !ready.is_empty(), now, stop, on_drain) {
                size += batch.wire.as_ref().map_or(batch.estimated_size(), |w| w.size_bytes());
                ready.push(batch);
            } else if !self.head_backing_off(tp, now)
                && (self.would_overflow(tp, size, max_request_size, !ready.is_empty()) || self.stopped(tp, stop))
            {
                // A head backing off is skipped (`continue` in `drainBatchesForOneNode`); only a
                // batch that would overflow the request or must wait stops the node's drain.
                break;
            }
            if index == start {
                break;
            }
        }
        ready
    }

    fn would_overflow(&self, tp: &Tp, size: u32, max: u32, have_some: bool) -> bool {
        !self.muted.contains(tp)
            && self
                .deques
                .get(tp)
                .and_then(VecDeque::front)
                .is_some_and(|b| have_some && size + b.estimated_size() > max)
    }

    fn stopped(&self, tp: &Tp, stop: &dyn Fn(&ProducerBatch) -> bool) -> bool {
        !self.muted.contains(tp) && self.deques.get(tp).and_then(VecDeque::front).is_some_and(stop)
    }

    #[allow(clippy::too_many_arguments)]
    fn drain_one(
        &mut self,
        tp: &Tp,
        size: u32,
        max: u32,
        have_some: bool,
        now: SimTime,
        stop: &dyn Fn(&ProducerBatch) -> bool,
        on_drain: &mut dyn FnMut(&mut ProducerBatch),
    ) -> Option<ProducerBatch> {
        if self.muted.contains(tp) {
            return None;
        }
        let deque = self.deques.get_mut(tp)?;
        let first = deque.front()?;
        if first.backing_off(now) || (have_some && size + first.estimated_size() > max) || stop(first) {
            return None;
        }
        let mut batch = deque.pop_front().expect("front exists");
        on_drain(&mut batch);
        batch.close_and_encode();
        batch.drained = Some(now);
        Some(batch)
    }

    /// `expiredBatches`: from each deque's head, the batches past `delivery.timeout.ms`.
    pub fn expired(&mut self, delivery_timeout_ms: u64, now: SimTime) -> Vec<ProducerBatch> {
        let mut out = Vec::new();
        for deque in self.deques.values_mut() {
            while deque.front().is_some_and(|b| b.delivery_timed_out(delivery_timeout_ms, now)) {
                let mut b = deque.pop_front().expect("front exists");
                b.close_for_appends();
                out.push(b);
            }
        }
        out
    }

    /// After a producer epoch bump: queued batches lose their sequences (and encoding) and are
    /// sequenced again from 0 at their next drain.
    pub fn reset_sequences(&mut self) {
        for batch in self.deques.values_mut().flat_map(|d| d.iter_mut()) {
            batch.reset_producer_state();
        }
    }

    /// Every queued batch sees its partition's current leader epoch (`maybeUpdateLeaderEpoch`,
    /// which Kafka runs on each deque head at `ready` and `drain`; a queued batch's attempts do
    /// not change until it is drained, so updating all of them when metadata arrives is the same).
    pub fn update_leader_epochs(&mut self, epoch_of: &dyn Fn(&Tp) -> Option<i32>) {
        for (tp, deque) in self.deques.iter_mut() {
            let epoch = epoch_of(tp);
            deque.iter_mut().for_each(|b| b.maybe_update_leader_epoch(epoch));
        }
    }

    /// Whether `tp`'s head batch is backing off a retry.
    fn head_backing_off(&self, tp: &Tp, now: SimTime) -> bool {
        self.deques.get(tp).and_then(VecDeque::front).is_some_and(|b| b.backing_off(now))
    }

    /// Whether `tp` has batches drained before and queued again for a retry (with sequences).
    pub fn has_sequenced(&self, tp: &Tp) -> bool {
        self.deques.get(tp).is_some_and(|d| d.iter().any(|b| b.sequence.is_some()))
    }

    /// [`RecordAccumulator::reset_sequences`] for one partition's batches (an epoch bump that
    /// partition asked for).
    pub fn reset_sequences_of(&mut self, tp: &Tp) {
        if let Some(deque) = self.deques.get_mut(tp) {
            deque.iter_mut().for_each(ProducerBatch::reset_producer_state);
        }
    }

    /// Puts a retried batch back at the front of its deque (`reenqueue`).
    pub fn reenqueue(&mut self, batch: ProducerBatch) {
        self.deques.get_or_insert_default(&batch.tp).push_front(batch);
    }

    /// Puts a retried, sequenced batch back in base-sequence order (`insertInSequenceOrder`).
    pub fn insert_in_sequence_order(&mut self, batch: ProducerBatch) {
        let seq = batch.sequence.map_or(-1, |(_, _, s)| s);
        let deque = self.deques.get_or_insert_default(&batch.tp);
        let at = deque.iter().position(|b| b.sequence.is_none_or(|(_, _, s)| s > seq)).unwrap_or(deque.len());
        deque.insert(at, batch);
    }

    /// Returns a completed batch's buffer to the pool (split batches were allocated outside it).
    pub fn deallocate(&mut self, batch: &ProducerBatch) {
        if !batch.is_split {
            self.pool.deallocate(batch.capacity);
        }
    }

    /// The time until the next batch reaches its delivery timeout, if any is waiting.
    pub fn next_expiry_ms(&self, delivery_timeout_ms: u64, now: SimTime) -> Option<u64> {
        self.deques
            .values()
            .filter_map(VecDeque::front)
            .map(|b| delivery_timeout_ms.saturating_sub(now.saturating_since(b.created).as_ms()))
            .min()
    }
}

#[cfg(test)]
mod tests;
