//! A batch in the RecordAccumulator (Kafka `ProducerBatch` over `MemoryRecordsBuilder`).
//!
//! Size accounting without compression: `estimatedBytesWritten = 61 + Σ record sizes`, where
//! each record's size is its exact v2 size at its offset and timestamp delta. The first record
//! always fits; a later one fits iff `writeLimit >= estimatedBytesWritten + recordSize`, with
//! `writeLimit` the buffer capacity `max(batch.size, upper bound of the first record)`. A batch
//! is full when appends are closed or `writeLimit <= estimatedBytesWritten`.

use crate::sim::protocol::Tp;
use crate::sim::record::batch::{size_of_body, RECORD_BATCH_OVERHEAD};
use crate::sim::record::{BatchSpec, Record, RecordBatch, RecordsBuilder};
use crate::sim::time::SimTime;

/// Identifies one `send()` call (its future / callback).
pub type SendId = u64;

/// A producer batch.
#[derive(Clone, Debug)]
pub struct ProducerBatch {
    /// Producer-local id (for the trace).
    pub batch_id: u64,
    /// Destination.
    pub tp: Tp,
    /// The records, encoded as they were appended (Kafka's `MemoryRecordsBuilder`).
    builder: RecordsBuilder,
    /// Each record's send, in order (their fingerprints are the builder's, then the wire's).
    sends: Vec<SendId>,
    /// Buffer capacity (the write limit; what the BufferPool gave).
    pub capacity: u32,
    estimated_bytes: u32,
    closed: bool,
    /// When it was created (`createdMs`).
    pub created: SimTime,
    /// Last send attempt (`lastAttemptMs`).
    pub last_attempt: SimTime,
    /// Last append (`lastAppendTime`).
    pub last_append: SimTime,
    /// Retries so far.
    pub attempts: u32,
    /// Backoff before the next retry, drawn when it was re-enqueued.
    pub retry_backoff_ms: u64,
    /// Producer id, epoch and base sequence once assigned at drain (idempotence).
    pub sequence: Option<(i64, i16, i32)>,
    /// Its header written at its first drain; resent unchanged.
    pub wire: Option<RecordBatch>,
    /// When it was last drained.
    pub drained: Option<SimTime>,
    /// Whether a split made it (split batches are not returned to the pool).
    pub is_split: bool,
    /// Completed (acknowledged or failed) — late responses are ignored.
    pub done: bool,
    /// The partition's leader epoch this batch last saw (`currentLeaderEpoch`).
    pub leader_epoch: Option<i32>,
    /// Its attempts when it saw the leader epoch change (`attemptsWhenLeaderLastChanged`).
    pub attempts_when_leader_changed: u32,
}

/// Most records a new batch reserves room for (see [`ProducerBatch::try_append`]).
const RECORDS_RESERVED_MAX: u32 = 1024;

impl ProducerBatch {
    /// An empty batch with a buffer of `capacity` bytes.
    pub fn new(batch_id: u64, tp: Tp, capacity: u32, now: SimTime) -> ProducerBatch {
        ProducerBatch {
            batch_id,
            tp,
            builder: RecordsBuilder::new(),
            sends: Vec::new(),
            capacity,
            estimated_bytes: RECORD_BATCH_OVERHEAD as u32,
            closed: false,
            created: now,
            last_attempt: now,
            last_append: now,
            attempts: 0,
            retry_backoff_ms: 0,
            sequence: None,
            wire: None,
            drained: None,
            is_split: false,
            done: false,
            leader_epoch: None,
            attempts_when_leader_changed: 0,
        }
    }

    /// `estimatedSizeInBytes`.
    pub fn estimated_size(&self) -> u32 {
        self.estimated_bytes
    }

    /// Number of records.
    pub fn record_count(&self) -> u32 {
        self.sends.len() as u32
    }

    /// Each record's send, in order.
    pub fn sends(&self) -> &[SendId] {
        &self.sends
    }

    /// Each record's send, in order, moved out of a batch that is done.
    pub fn into_sends(self) -> Vec<SendId> {
        self.sends
    }

    /// Each record's send and [`Record::fingerprint`], in order.
    pub fn sends_and_fingerprints(&self) -> impl Iterator<Item = (SendId, u64)> + '_ {
        // Until its first drain the builder holds them; finishing it moves them to the wire.
        let wire =
            self.wire.as_ref().map(|w| w.kept_fingerprints().expect("a producer's batch keeps its fingerprints"));
        let fingerprints = wire.into_iter().flatten().chain(self.builder.fingerprints());
        debug_assert_eq!(fingerprints.clone().count(), self.sends.len(), "one fingerprint per send");
        self.sends.iter().copied().zip(fingerprints)
    }

    /// The records, decoded again from the batch's bytes (a split re-packs them).
    pub fn records(&self) -> Vec<Record> {
        match &self.wire {
            Some(wire) => wire.records().into_iter().map(|(_, r)| r).collect(),
            None => self.builder.records(),
        }
    }

    /// `hasRoomFor`'s size test: the first record always fits.
    fn fits(&self, record_size: u32) -> bool {
        self.sends.is_empty() || self.capacity >= self.estimated_bytes + record_size
    }

    /// `isFull`.
    pub fn is_full(&self) -> bool {
        self.closed || (!self.sends.is_empty() && self.capacity <= self.estimated_bytes)
    }

    /// `closeForRecordAppends`.
    pub fn close_for_appends(&mut self) {
        self.closed = true;
    }

    /// `tryAppend`: encodes the record into the batch if there is room; returns the growth of
    /// the estimated size (the record's exact size: nothing is compressed), or `None`.
    pub fn try_append(&mut self, record: &Record, send: SendId, now: SimTime) -> Option<u32> {
        if self.is_full() {
            return None;
        }
        let body = self.builder.next_record_body_len(record);
        let size = size_of_body(body) as u32;
        if !self.fits(size) {
            return None;
        }
        if self.sends.len() == 1 {
            // A second record means the batch is filling (at a low rate batches hold one):
            // room for the whole buffer and as many records of this size as it holds (bounded),
            // so neither regrows on the way.
            let room = self.capacity.saturating_sub(self.estimated_bytes);
            let per_record = size.max(1);
            let records = (self.capacity / per_record).clamp(1, RECORDS_RESERVED_MAX) as usize;
            self.builder.reserve(room.min(per_record.saturating_mul(RECORDS_RESERVED_MAX)) as usize, records);
            self.sends.reserve(records);
        }
        let written = self.builder.append_body(record, body) as u32;
        debug_assert_eq!(written, size, "the size the room was checked for");
        self.estimated_bytes += size;
        debug_assert_eq!(self.estimated_bytes as usize, self.builder.size_in_bytes());
        self.sends.push(send);
        self.last_append = now;
        Some(size)
    }

    /// `waitedTimeMs`.
    pub fn waited(&self, now: SimTime) -> u64 {
        now.saturating_since(self.last_attempt).as_ms()
    }

    /// Backing off a retry (`shouldBackoff`): not when the leader changed during this retry
    /// (KIP-951: the new leader is tried at once).
    pub fn backing_off(&self, now: SimTime) -> bool {
        self.attempts > 0 && !self.leader_changed_for_retry() && self.waited(now) < self.retry_backoff_ms
    }

    /// `maybeUpdateLeaderEpoch`: a newer leader epoch than the batch knew marks the attempt it
    /// changed at.
    pub fn maybe_update_leader_epoch(&mut self, latest: Option<i32>) {
        if let Some(latest) = latest.filter(|l| self.leader_epoch.is_none_or(|known| known < *l)) {
            self.leader_epoch = Some(latest);
            self.attempts_when_leader_changed = self.attempts;
        }
    }

    /// `hasLeaderChangedForTheOngoingRetry`.
    pub fn leader_changed_for_retry(&self) -> bool {
        self.attempts >= 1 && self.attempts == self.attempts_when_leader_changed
    }

    /// `reenqueued`: one more attempt, waiting restarts now.
    pub fn reenqueued(&mut self, now: SimTime, backoff_ms: u64) {
        self.attempts += 1;
        self.retry_backoff_ms = backoff_ms;
        self.last_attempt = self.last_append.max(now);
        self.last_append = self.last_append.max(now);
    }

    /// `hasReachedDeliveryTimeout`.
    pub fn delivery_timed_out(&self, delivery_timeout_ms: u64, now: SimTime) -> bool {
        now.saturating_since(self.created).as_ms() >= delivery_timeout_ms
    }

    /// Closes the batch and writes its header with its producer state (once; again after
    /// [`ProducerBatch::reset_producer_state`]).
    pub fn close_and_encode(&mut self) -> &RecordBatch {
        self.closed = true;
        if self.wire.is_none() {
            let (producer_id, producer_epoch, base_sequence) = self.sequence.unwrap_or((-1, -1, -1));
            let spec = BatchSpec { producer_id, producer_epoch, base_sequence, ..BatchSpec::default() };
            self.wire = Some(RecordBatch::finish(&mut self.builder, &spec));
        }
        self.wire.as_ref().expect("just built")
    }

    /// Drops the batch's sequence after a producer epoch bump: its header is written again, with
    /// the next sequence, at its next drain (Kafka `resetProducerState`).
    pub fn reset_producer_state(&mut self) {
        if self.sequence.take().is_some() {
            if let Some(wire) = self.wire.take() {
                let (bytes, fingerprints) = wire.into_parts();
                self.builder.reopen(bytes, fingerprints.expect("a finished builder's batch keeps its fingerprints"));
            }
        }
    }
}

/// Kafka `BufferPool`: `buffer.memory` bytes, a free list of `batch.size` buffers, FIFO waiters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferPool {
    total: u64,
    poolable: u32,
    free: Vec<u32>,
    non_pooled_available: u64,
    /// Waiting allocations (FIFO): the bytes each needs.
    pub waiters: std::collections::VecDeque<u32>,
}

impl BufferPool {
    /// A pool of `total` bytes whose poolable size is `batch.size`.
    pub fn new(total: u64, poolable: u32) -> BufferPool {
        BufferPool { total, poolable, free: Vec::new(), non_pooled_available: total, waiters: Default::default() }
    }

    /// Bytes not allocated (`availableMemory`).
    pub fn available(&self) -> u64 {
        self.non_pooled_available + self.free.len() as u64 * u64::from(self.poolable)
    }

    /// Total memory.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Free-list buffers.
    pub fn free_buffers(&self) -> usize {
        self.free.len()
    }

    /// Tries to allocate `size` bytes without waiting (`allocate`'s fast paths): a free-list
    /// buffer for the poolable size, else non-pooled memory after releasing free buffers from the
    /// tail. Fails (the caller waits) when memory is short or others are already waiting.
    pub fn try_allocate(&mut self, size: u32) -> bool {
        assert!(u64::from(size) <= self.total, "allocation above buffer.memory is refused before this");
        if !self.waiters.is_empty() {
            return false;
        }
        if size == self.poolable && self.free.pop().is_some() {
            return true;
        }
        if self.available() >= u64::from(size) {
            while self.non_pooled_available < u64::from(size) {
                let b = self.free.pop().expect("available() counted it");
                self.non_pooled_available += u64::from(b);
            }
            self.non_pooled_available -= u64::from(size);
            return true;
        }
        false
    }

    /// Returns a buffer (`deallocate`): a poolable one goes to the free list.
    pub fn deallocate(&mut self, size: u32) {
        if size == self.poolable {
            self.free.push(size);
        } else {
            self.non_pooled_available += u64::from(size);
        }
        assert!(self.available() <= self.total, "more memory returned than exists");
    }

    /// Serves the head waiter if its allocation now succeeds; returns whether it did.
    pub fn serve_head_waiter(&mut self) -> bool {
        let Some(size) = self.waiters.front().copied() else { return false };
        let queued = std::mem::take(&mut self.waiters);
        let ok = self.try_allocate(size);
        self.waiters = queued;
        if ok {
            self.waiters.pop_front();
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn pool_prefers_the_free_list_then_non_pooled_memory() {
        let mut p = BufferPool::new(1000, 100);
        assert!(p.try_allocate(100));
        p.deallocate(100);
        assert_eq!((p.free_buffers(), p.available()), (1, 1000));
        assert!(p.try_allocate(100));
        assert_eq!(p.free_buffers(), 0, "poolable size reuses the free buffer");
        assert!(p.try_allocate(900));
        assert!(!p.try_allocate(1), "exhausted");
        p.waiters.push_back(50);
        assert!(!p.serve_head_waiter());
        p.deallocate(900);
        assert!(p.serve_head_waiter());
        assert_eq!(p.available(), 850);
    }

    #[test]
    fn a_waiter_blocks_later_allocations() {
        let mut p = BufferPool::new(300, 100);
        assert!(p.try_allocate(250));
        p.waiters.push_back(100);
        assert!(!p.try_allocate(10), "FIFO: nobody jumps the queue");
    }
}
