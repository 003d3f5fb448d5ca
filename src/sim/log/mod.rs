//! A replica's partition log (Kafka `UnifiedLog` + `LocalLog`): segments of record batch v2
//! bytes with sparse indexes, the log start offset, the log end offset (LEO) and the high
//! watermark (HW), retention and compaction (shared/reference §5).
//!
//! Invariant, asserted after every change: `log_start_offset <= high_watermark <= LEO`.
//! Every mutation returns [`LogEvent`]s for the trace and, when journaling is on, records
//! [`StoreOp`]s that a persistent [`store::SegmentStore`] can replay (the IndexedDB mirror).

pub mod cleaner;
pub mod index;
pub mod segment;
pub mod store;

use crate::sim::record::RecordBatch;
use crate::sim::replication::LeaderEpochCache;
use crate::sim::time::SimTime;
use segment::{RollReason, Segment};
pub use store::StoreOp;

/// Cleanup policy (`cleanup.policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// `delete`: retention by time and size.
    pub delete: bool,
    /// `compact`: keep the latest record per key.
    pub compact: bool,
}

/// Log settings (topic overrides over broker `log.*` defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`.
    pub segment_bytes: u32,
    /// `segment.ms`.
    pub segment_ms: i64,
    /// `segment.index.bytes`.
    pub segment_index_bytes: u32,
    /// `index.interval.bytes`.
    pub index_interval_bytes: u32,
    /// `retention.ms` (-1: forever).
    pub retention_ms: i64,
    /// `retention.bytes` (-1: no limit).
    pub retention_bytes: i64,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms`: how long tombstones survive cleaning.
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio` as numerator/denominator.
    pub min_cleanable_dirty_ratio: (u64, u64),
    /// `min.compaction.lag.ms`.
    pub min_compaction_lag_ms: i64,
    /// `max.message.bytes`: largest batch a leader accepts.
    pub max_message_bytes: u32,
    /// `flush.messages`: fsync once this many messages are unflushed (Kafka's default,
    /// `i64::MAX`, leaves flushing to the OS and to segment rolls).
    pub flush_messages: i64,
    /// `flush.ms`: the log flusher fsyncs a log whose last flush is at least this old
    /// (checked every `log.flush.scheduler.interval.ms`).
    pub flush_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 604_800_000,
            segment_index_bytes: 10 << 20,
            index_interval_bytes: 4096,
            retention_ms: 604_800_000,
            retention_bytes: -1,
            cleanup_policy: CleanupPolicy { delete: true, compact: false },
            delete_retention_ms: 86_400_000,
            min_cleanable_dirty_ratio: (1, 2),
            min_compaction_lag_ms: 0,
            max_message_bytes: 1_048_588,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
        }
    }
}

/// Why retention deleted a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionReason {
    /// Older than `retention.ms`.
    Time,
    /// The log exceeded `retention.bytes`.
    Size,
    /// Wholly below the log start offset.
    LogStartOffset,
}

/// What one append did: at most a roll, an index entry and a flush, in that order, held inline
/// (a vector was an allocation per append that had an event to report: every append, with
/// `log.flush.interval.messages=1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendEvents {
    events: [Option<LogEvent>; 3],
    len: u8,
}

impl AppendEvents {
    fn push(&mut self, event: LogEvent) {
        self.events[usize::from(self.len)] = Some(event);
        self.len += 1;
    }

    /// The events, in order.
    pub fn iter(&self) -> impl Iterator<Item = &LogEvent> {
        self.events[..usize::from(self.len)].iter().flatten()
    }
}

impl IntoIterator for AppendEvents {
    type Item = LogEvent;
    type IntoIter = std::iter::Flatten<std::array::IntoIter<Option<LogEvent>, 3>>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.into_iter().flatten()
    }
}

/// Something the log did, for the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// A new active segment.
    Rolled {
        /// Its base offset.
        base_offset: i64,
        /// Why.
        reason: RollReason,
    },
    /// A sparse index entry.
    IndexEntry {
        /// Segment base offset.
        segment: i64,
        /// Absolute offset of the entry.
        offset: i64,
        /// Byte position.
        position: u32,
        /// Time-index timestamp, when a time entry was added too.
        timestamp: Option<i64>,
    },
    /// Retention deleted a segment.
    SegmentDeleted {
        /// Its base offset.
        base_offset: i64,
        /// Why.
        reason: RetentionReason,
        /// Its size.
        bytes: u32,
        /// The log start offset afterwards.
        log_start_offset: i64,
    },
    /// The log was truncated (follower truncation).
    Truncated {
        /// Requested offset.
        to: i64,
        /// LEO afterwards.
        log_end_offset: i64,
        /// Bytes removed.
        bytes: u64,
    },
    /// A compaction pass.
    Compacted(cleaner::CleanStats),
    /// `flush.messages` was reached and the log was fsynced.
    Flushed {
        /// The recovery point afterwards (= LEO).
        recovery_point: i64,
    },
}

/// Why an append was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The batch exceeds `max.message.bytes` (Kafka `RecordTooLargeException`).
    #[error("batch of {size} bytes exceeds max.message.bytes ({max})")]
    RecordTooLarge {
        /// Batch size.
        size: u32,
        /// The limit.
        max: u32,
    },
    /// The batch exceeds `segment.bytes` (Kafka `RecordBatchTooLargeException`).
    #[error("batch of {size} bytes exceeds segment.bytes ({max})")]
    BatchLargerThanSegment {
        /// Batch size.
        size: u32,
        /// The limit.
        max: u32,
    },
    /// A compacted topic needs keys (Kafka `InvalidRecordException`).
    #[error("compacted topic cannot accept a record without a key")]
    MissingKey,
}

/// What [`PartitionLog::fetch_progress`] found for a parked fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchProgress {
    /// The fetch offset and the end it reads to lie in different segments: the fetch is behind
    /// on an older segment, or ahead of the end on a later one (a consumer past a new leader's
    /// HW; Kafka's "truncated leader"). Kafka completes the fetch whatever it would read
    /// ("case F").
    ///
    /// An offset is placed in the segment holding it now. Kafka compares the positions it
    /// captured: the fetch's when it was read, the HW's when it was set. So at a segment's base
    /// offset the two can differ: a fetch parked at the LEO completes in Kafka when the log
    /// rolls, and here when `min_bytes` is reached (the same moment with `min_bytes` ≤ 1); a
    /// fetch whose segment retention deleted completes in Kafka, and here counts from the first
    /// segment.
    OtherSegment,
    /// Both in one segment: the bytes between them, at most the cap.
    Bytes(u32),
}

impl FetchProgress {
    /// A fetch's count so far, `sum`, with this partition's added; `None` when this partition
    /// completes the fetch whatever it counts.
    pub fn add_to(self, sum: u32) -> Option<u32> {
        match self {
            FetchProgress::OtherSegment => None,
            FetchProgress::Bytes(b) => Some(sum.saturating_add(b)),
        }
    }
}

/// One replica's log of one partition.
#[derive(Clone, Debug)]
pub struct PartitionLog {
    config: LogConfig,
    segments: Vec<Segment>,
    log_start_offset: i64,
    high_watermark: i64,
    cleaner_checkpoint: i64,
    recovery_point: i64,
    last_flush: SimTime,
    journal: Option<Vec<StoreOp>>,
    epochs: LeaderEpochCache,
}

impl PartitionLog {
    /// An empty log starting at offset 0.
    pub fn new(config: LogConfig, now: SimTime) -> PartitionLog {
        let first = Segment::new(0, config.segment_index_bytes, now);
        let mut log = PartitionLog {
            config,
            segments: vec![first],
            log_start_offset: 0,
            high_watermark: 0,
            cleaner_checkpoint: 0,
            recovery_point: 0,
            last_flush: now,
            journal: None,
            epochs: LeaderEpochCache::new(),
        };
        log.record(StoreOp::Create { base_offset: 0 });
        log
    }

    /// Starts recording [`StoreOp`]s (for a persistent mirror).
    pub fn enable_journal(&mut self) {
        if self.journal.is_none() {
            let mut ops: Vec<StoreOp> = Vec::new();
            for s in &self.segments {
                ops.push(StoreOp::Create { base_offset: s.base_offset() });
                if s.size_bytes() > 0 {
                    ops.push(StoreOp::Append { base_offset: s.base_offset(), position: 0, bytes: s.log_bytes() });
                }
            }
            self.journal = Some(ops);
        }
    }

    /// Restarts a running journal from an image of the log as it is now (after the log was
    /// replaced by an earlier or later copy of itself, e.g. a timeline seek).
    pub fn rebase_journal(&mut self) {
        if self.journal.take().is_some() {
            self.enable_journal();
        }
    }

    /// Takes the recorded store operations.
    pub fn drain_journal(&mut self) -> Vec<StoreOp> {
        self.journal.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn record(&mut self, op: StoreOp) {
        if let Some(j) = self.journal.as_mut() {
            j.push(op);
        }
    }

    /// Current settings.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }
    /// Replaces the settings (a config change); applies from the next append or check.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }
    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }
    /// The offset the next record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }
    /// The high watermark.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }
    /// The segments, oldest first; the last is active.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
    /// Total bytes.
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| u64::from(s.size_bytes())).sum()
    }
    /// Every batch, oldest first.
    pub fn batches(&self) -> impl Iterator<Item = &RecordBatch> {
        self.segments.iter().flat_map(|s| s.batches().iter())
    }

    fn active(&self) -> &Segment {
        self.segments.last().expect("a log always has an active segment")
    }

    fn check(&self) {
        assert!(
            self.log_start_offset <= self.high_watermark,
            "log start offset {} above HW {}",
            self.log_start_offset,
            self.high_watermark
        );
        assert!(
            self.high_watermark <= self.log_end_offset(),
            "HW {} above LEO {}",
            self.high_watermark,
            self.log_end_offset()
        );
        assert!(
            self.log_start_offset <= self.recovery_point && self.recovery_point <= self.log_end_offset(),
            "recovery point {} outside [{}, {}]",
            self.recovery_point,
            self.log_start_offset,
            self.log_end_offset()
        );
    }

    /// Checks a leader append against `max.message.bytes`, `segment.bytes` and compaction's keys.
    pub fn validate(&self, batch: &RecordBatch) -> Result<(), AppendError> {
        if batch.size_bytes() > self.config.max_message_bytes {
            return Err(AppendError::RecordTooLarge { size: batch.size_bytes(), max: self.config.max_message_bytes });
        }
        if batch.size_bytes() > self.config.segment_bytes {
            return Err(AppendError::BatchLargerThanSegment {
                size: batch.size_bytes(),
                max: self.config.segment_bytes,
            });
        }
        if self.config.cleanup_policy.compact && batch.records().iter().any(|(_, r)| r.key.is_none()) {
            return Err(AppendError::MissingKey);
        }
        Ok(())
    }

    /// The leader epoch cache (`leader-epoch-checkpoint`): first offset of each epoch.
    pub fn epochs(&self) -> &LeaderEpochCache {
        &self.epochs
    }

    /// A new leader records the epoch it starts at its LEO (`Partition.makeLeader`).
    pub fn assign_epoch(&mut self, epoch: i32, start_offset: i64) {
        self.epochs.assign(epoch, start_offset);
    }

    /// `endOffsetFor(epoch)` against this log's LEO.
    pub fn end_offset_for(&self, epoch: i32) -> (i32, i64) {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// Leader append: stamps the LEO as base offset and the leader epoch, then appends.
    pub fn append_as_leader(
        &mut self,
        batch: &RecordBatch,
        leader_epoch: i32,
        now: SimTime,
    ) -> (RecordBatch, AppendEvents) {
        let stamped = batch.stamped(self.log_end_offset(), leader_epoch);
        let events = self.append(stamped.clone(), now);
        (stamped, events)
    }

    /// Follower append of the leader's bytes; the batch must start at the LEO.
    pub fn append_as_follower(&mut self, batch: RecordBatch, now: SimTime) -> AppendEvents {
        assert_eq!(batch.base_offset(), self.log_end_offset(), "follower append must continue the log");
        self.append(batch, now)
    }

    fn append(&mut self, batch: RecordBatch, now: SimTime) -> AppendEvents {
        let mut events = AppendEvents::default();
        let h = batch.header();
        if h.partition_leader_epoch >= 0 {
            self.epochs.assign(h.partition_leader_epoch, batch.base_offset());
        }
        let roll = self.active().should_roll(
            self.config.segment_bytes,
            self.config.segment_ms,
            batch.size_bytes(),
            h.max_timestamp,
            batch.last_offset(),
            now,
        );
        if let Some(reason) = roll {
            events.push(self.roll(reason, now));
        }
        let position = self.active().size_bytes();
        let base = self.active().base_offset();
        // A copy for the store journal only when there is one (every append copied it).
        let journaled = self.journal.is_some().then(|| batch.bytes().into_owned());
        let interval = self.config.index_interval_bytes;
        let segment = self.segments.last_mut().expect("active segment");
        if let Some(e) = segment.append(batch, interval, now) {
            events.push(LogEvent::IndexEntry {
                segment: base,
                offset: e.offset,
                position: e.position,
                timestamp: e.timestamp,
            });
        }
        if let Some(bytes) = journaled {
            self.record(StoreOp::Append { base_offset: base, position, bytes });
        }
        if self.unflushed_messages() >= self.config.flush_messages {
            self.flush(now);
            events.push(LogEvent::Flushed { recovery_point: self.recovery_point });
        }
        self.check();
        events
    }

    /// Offsets below this are on disk (fsynced); the rest lives only in the page cache.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }

    /// Messages appended since the last flush (Kafka's `unflushedMessages`).
    pub fn unflushed_messages(&self) -> i64 {
        self.log_end_offset() - self.recovery_point
    }

    /// fsyncs the log: the recovery point moves to the LEO.
    pub fn flush(&mut self, now: SimTime) {
        // `UnifiedLog.flush` marks a flush only when there is something past the recovery
        // point: a check with nothing new keeps the last flush time, so new data is flushed at
        // the next check rather than a whole flush.ms later.
        if self.log_end_offset() > self.recovery_point {
            self.recovery_point = self.log_end_offset();
            self.last_flush = now;
        }
    }

    /// The log flusher's check (`LogManager.flushDirtyLogs`): flush when the last flush is at
    /// least `flush.ms` old. Reports a flush that moved the recovery point.
    pub fn flush_if_due(&mut self, now: SimTime) -> Option<LogEvent> {
        let since_ms = now.saturating_since(self.last_flush).as_ms();
        if self.config.flush_ms < 0 || since_ms < self.config.flush_ms as u64 {
            return None;
        }
        let before = self.recovery_point;
        self.flush(now);
        (self.recovery_point != before).then_some(LogEvent::Flushed { recovery_point: self.recovery_point })
    }

    /// Drops the whole log and restarts it, empty, at `offset` (a follower whose fetch offset
    /// fell below the leader's log start, `truncateFullyAndStartAt`).
    pub fn truncate_fully_and_start_at(&mut self, offset: i64, now: SimTime) -> LogEvent {
        let bytes = self.size_bytes();
        for s in &self.segments {
            let op = StoreOp::Delete { base_offset: s.base_offset() };
            if let Some(j) = self.journal.as_mut() {
                j.push(op);
            }
        }
        self.segments = vec![Segment::new(offset, self.config.segment_index_bytes, now)];
        self.record(StoreOp::Create { base_offset: offset });
        self.log_start_offset = offset;
        self.high_watermark = offset;
        self.cleaner_checkpoint = offset;
        self.recovery_point = offset;
        self.epochs = LeaderEpochCache::new();
        self.check();
        LogEvent::Truncated { to: offset, log_end_offset: offset, bytes }
    }

    /// A machine crash: whatever was not flushed is gone (the log is truncated to its recovery
    /// point). A process crash loses nothing, because the page cache survives it.
    pub fn lose_unflushed(&mut self, now: SimTime) -> Option<LogEvent> {
        self.truncate_to(self.recovery_point, now)
    }

    /// Rolls a new active segment at the LEO (empty active segments are reused, as Kafka does).
    pub fn roll(&mut self, reason: RollReason, now: SimTime) -> LogEvent {
        let base_offset = self.log_end_offset();
        if self.active().size_bytes() == 0 {
            let replaced = self.segments.pop().expect("active segment").base_offset();
            self.record(StoreOp::Delete { base_offset: replaced });
        } else {
            self.segments.last_mut().expect("active segment").on_become_inactive();
        }
        self.segments.push(Segment::new(base_offset, self.config.segment_index_bytes, now));
        self.record(StoreOp::Create { base_offset });
        // Kafka schedules a flush of everything below the new segment when it rolls.
        self.recovery_point = self.recovery_point.max(base_offset);
        LogEvent::Rolled { base_offset, reason }
    }

    /// Sets the HW, clamped to `[log_start_offset, LEO]` (callers apply Kafka's rules).
    pub fn set_high_watermark(&mut self, hw: i64) {
        self.high_watermark = hw.clamp(self.log_start_offset, self.log_end_offset());
        self.check();
    }

    /// Whole batches from the one containing `offset`, below `limit`, up to about `bytes_max`,
    /// from the first segment that has any (Kafka reads one segment per fetch).
    pub fn read(&self, offset: i64, limit: i64, bytes_max: u32) -> &[RecordBatch] {
        self.segments[self.segment_index(offset)..]
            .iter()
            .map(|s| s.read(offset, limit, bytes_max))
            .find(|b| !b.is_empty())
            .unwrap_or(&[])
    }

    /// What the fetch purgatory sees between a parked fetch's `offset` and the `end` it may read
    /// to (`DelayedFetch.tryComplete`): whether they lie in different segments, else the bytes
    /// of the batches from the one holding `offset` that end before `end`, counted up to `cap`
    /// (the request's `partition_max_bytes`; Kafka takes it "as upper bound when accumulating").
    ///
    /// Every parked fetch asks again after every append, so this goes straight to the segment
    /// and batch holding `offset` (binary searches) and stops at the cap.
    pub fn fetch_progress(&self, offset: i64, end: i64, cap: u32) -> FetchProgress {
        if offset == end {
            return FetchProgress::Bytes(0);
        }
        let segment = self.segment_index(offset);
        if segment != self.segment_index(end) {
            return FetchProgress::OtherSegment;
        }
        let batches = self.segments[segment].batches();
        let from = batches.partition_point(|b| b.last_offset() < offset);
        let mut sum = 0u32;
        for b in &batches[from..] {
            if b.last_offset() >= end || sum >= cap {
                break;
            }
            sum = sum.saturating_add(b.size_bytes());
        }
        FetchProgress::Bytes(sum.min(cap))
    }

    /// The index of the segment holding `offset` (the last one starting at or before it; the
    /// first for an offset before the log).
    fn segment_index(&self, offset: i64) -> usize {
        self.segments.partition_point(|s| s.base_offset() <= offset).saturating_sub(1)
    }

    /// Removes everything at or after `offset` (follower truncation): later segments are
    /// deleted and the containing one is cut at the first batch ending at or after `offset`.
    pub fn truncate_to(&mut self, offset: i64, now: SimTime) -> Option<LogEvent> {
        if offset >= self.log_end_offset() {
            // Nothing to cut, but an epoch started at the LEO by a leader that appended nothing
            // before losing leadership must go (`UnifiedLog.truncateTo`), or the follower would
            // keep asking about it.
            self.epochs.truncate_from_end(offset);
            return None;
        }
        let before = self.size_bytes();
        if offset <= self.segments[0].base_offset() {
            for s in &self.segments {
                let op = StoreOp::Delete { base_offset: s.base_offset() };
                if let Some(j) = self.journal.as_mut() {
                    j.push(op);
                }
            }
            let start = offset.max(0);
            self.segments = vec![Segment::new(start, self.config.segment_index_bytes, now)];
            self.record(StoreOp::Create { base_offset: start });
            self.log_start_offset = start;
        } else {
            while self.segments.len() > 1 && self.active().base_offset() >= offset {
                let gone = self.segments.pop().expect("len > 1").base_offset();
                self.record(StoreOp::Delete { base_offset: gone });
            }
            let base = self.active().base_offset();
            self.segments.last_mut().expect("active").truncate_to(offset);
            let len = self.active().size_bytes();
            self.record(StoreOp::Truncate { base_offset: base, len });
        }
        self.high_watermark = self.high_watermark.min(self.log_end_offset()).max(self.log_start_offset);
        self.cleaner_checkpoint = self.cleaner_checkpoint.min(self.log_end_offset());
        self.recovery_point = self.recovery_point.min(self.log_end_offset()).max(self.log_start_offset);
        self.epochs.truncate_from_end(self.log_end_offset());
        self.check();
        Some(LogEvent::Truncated {
            to: offset,
            log_end_offset: self.log_end_offset(),
            bytes: before - self.size_bytes(),
        })
    }

    /// Retention (Kafka `deleteOldSegments`): with `delete` in the policy, time, size and
    /// log-start breaches; with `compact` alone, only the log-start breach. Never deletes a
    /// segment the HW has not passed, nor an empty active one; rolls first if every segment goes.
    pub fn delete_old_segments(&mut self, now: SimTime) -> Vec<LogEvent> {
        let start = self.log_start_offset;
        let mut events =
            self.delete_while(now, RetentionReason::LogStartOffset, |_, next| next.is_some_and(|n| n <= start));
        if !self.config.cleanup_policy.delete {
            return events;
        }
        if self.config.retention_bytes >= 0 {
            let mut diff = self.size_bytes() as i64 - self.config.retention_bytes;
            events.extend(self.delete_while(now, RetentionReason::Size, |s, _| {
                let fits = diff - i64::from(s.size_bytes()) >= 0;
                if fits {
                    diff -= i64::from(s.size_bytes());
                }
                fits
            }));
        }
        if self.config.retention_ms >= 0 {
            let (now_ms, retention_ms) = (now.as_ms() as i64, self.config.retention_ms);
            events.extend(
                self.delete_while(now, RetentionReason::Time, |s, _| now_ms - s.largest_timestamp_ms() > retention_ms),
            );
        }
        events
    }

    /// Deletes the longest prefix of segments satisfying `predicate(segment, next_base)` that
    /// the HW has passed.
    fn delete_while(
        &mut self,
        now: SimTime,
        reason: RetentionReason,
        mut predicate: impl FnMut(&Segment, Option<i64>) -> bool,
    ) -> Vec<LogEvent> {
        let leo = self.log_end_offset();
        let mut count = 0;
        for (i, s) in self.segments.iter().enumerate() {
            let next = self.segments.get(i + 1).map(Segment::base_offset);
            let upper = next.unwrap_or(leo);
            let last_and_empty = next.is_none() && s.size_bytes() == 0;
            if self.high_watermark >= upper && !last_and_empty && predicate(s, next) {
                count += 1;
            } else {
                break;
            }
        }
        if count == 0 {
            return vec![];
        }
        let mut events = Vec::new();
        if count == self.segments.len() {
            events.push(self.roll(RollReason::Retention, now));
        }
        for s in self.segments.drain(..count).collect::<Vec<_>>() {
            if let Some(j) = self.journal.as_mut() {
                j.push(StoreOp::Delete { base_offset: s.base_offset() });
            }
            self.log_start_offset = self.log_start_offset.max(self.segments[0].base_offset());
            events.push(LogEvent::SegmentDeleted {
                base_offset: s.base_offset(),
                reason,
                bytes: s.size_bytes(),
                log_start_offset: self.segments[0].base_offset(),
            });
        }
        self.log_start_offset = self.segments[0].base_offset().max(self.log_start_offset);
        self.high_watermark = self.high_watermark.max(self.log_start_offset);
        self.cleaner_checkpoint = self.cleaner_checkpoint.max(self.log_start_offset);
        self.recovery_point = self.recovery_point.max(self.log_start_offset);
        self.check();
        events
    }
}

#[cfg(test)]
mod tests;
