//! Log compaction (Kafka `LogCleaner`, `LogCleanerManager`, `MemoryRecords.filterTo`).
//!
//! - The cleanable range is `[first dirty, first uncleanable)`, where the first uncleanable
//!   offset is the least of the active segment's base offset, the HW (the LSO without
//!   transactions) and the first segment newer than `min.compaction.lag.ms`; only whole
//!   segments below it are cleaned, and the active segment never is.
//! - A log is cleaned when `dirty bytes / (clean + dirty bytes) > min.cleanable.dirty.ratio` (strictly),
//!   compared in integers.
//! - For each key the record with the highest offset in the dirty range wins; older records of
//!   that key anywhere in the cleanable segments are removed.
//! - A tombstone (null value) survives a clean; the first clean that keeps it stamps the batch's
//!   delete horizon (`now + delete.retention.ms`, attribute bit 6, held in `baseTimestamp`) and a
//!   later clean after the horizon removes it (KIP-534).
//! - A batch emptied by cleaning keeps its header when it carries a producer id (so producer
//!   sequence state survives), and disappears otherwise.

use super::{LogEvent, PartitionLog, StoreOp};
use crate::sim::collections::sort_by;
use crate::sim::record::batch::{self, BatchHeader};
use crate::sim::record::{RecordBatch, StoredRecord};
use crate::sim::time::SimTime;
use crate::sim::vec_map::VecMap;

/// What a compaction pass did.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct CleanStats {
    /// Start of the dirty range.
    pub first_dirty_offset: i64,
    /// End (exclusive) of what could be cleaned.
    pub first_uncleanable_offset: i64,
    /// Segments rewritten.
    pub segments: u32,
    /// Records before.
    pub records_before: u64,
    /// Records after.
    pub records_after: u64,
    /// Tombstones removed after their delete horizon.
    pub tombstones_removed: u64,
    /// Bytes before.
    pub bytes_before: u64,
    /// Bytes after.
    pub bytes_after: u64,
}

const DELETE_HORIZON_BIT: i16 = 0x40;

impl PartitionLog {
    /// `(first uncleanable offset, number of whole segments below it)`.
    fn cleanable_segments(&self, now: SimTime) -> (i64, usize) {
        let active_base = self.segments.last().expect("active").base_offset();
        let mut first_uncleanable = active_base.min(self.high_watermark);
        if self.config.min_compaction_lag_ms > 0 {
            let horizon = now.as_ms() as i64 - self.config.min_compaction_lag_ms;
            if let Some(s) = self.segments.iter().find(|s| s.largest_timestamp_ms() > horizon) {
                first_uncleanable = first_uncleanable.min(s.base_offset());
            }
        }
        let count = (0..self.segments.len() - 1)
            .take_while(|&i| self.segments[i + 1].base_offset() <= first_uncleanable)
            .count();
        (first_uncleanable, count)
    }

    /// `(dirty bytes, clean + dirty bytes)` of the cleanable segments.
    pub fn dirty_bytes(&self, now: SimTime) -> (u64, u64) {
        let (_, count) = self.cleanable_segments(now);
        let first_dirty = self.cleaner_checkpoint.max(self.log_start_offset);
        let mut dirty = 0u64;
        let mut total = 0u64;
        for (i, s) in self.segments[..count].iter().enumerate() {
            total += u64::from(s.size_bytes());
            if self.segments[i + 1].base_offset() > first_dirty {
                dirty += u64::from(s.size_bytes());
            }
        }
        (dirty, total)
    }

    /// Runs one compaction pass if the policy includes `compact` and the dirty ratio is above
    /// `min.cleanable.dirty.ratio` (`grabFilthiestCompactedLog` keeps logs whose cleanable ratio
    /// is strictly greater, so a ratio of 1.0 never cleans).
    pub fn clean(&mut self, now: SimTime) -> Option<LogEvent> {
        if !self.config.cleanup_policy.compact {
            return None;
        }
        let (first_uncleanable, count) = self.cleanable_segments(now);
        let (dirty, total) = self.dirty_bytes(now);
        let (num, den) = self.config.min_cleanable_dirty_ratio;
        if count == 0 || dirty == 0 || u128::from(dirty) * u128::from(den) <= u128::from(num) * u128::from(total) {
            return None;
        }
        let first_dirty = self.cleaner_checkpoint.max(self.log_start_offset);
        let latest = self.latest_offsets(first_dirty, first_uncleanable, count);
        let now_ms = now.as_ms() as i64;
        let horizon = now_ms.saturating_add(self.config.delete_retention_ms);
        let mut stats = CleanStats {
            first_dirty_offset: first_dirty,
            first_uncleanable_offset: first_uncleanable,
            segments: count as u32,
            records_before: 0,
            records_after: 0,
            tombstones_removed: 0,
            bytes_before: 0,
            bytes_after: 0,
        };
        let (interval, index_bytes) = (self.config.index_interval_bytes, self.config.segment_index_bytes);
        let last_of_producers = self.last_data_offsets();
        for i in 0..count {
            let segment = &self.segments[i];
            stats.bytes_before += u64::from(segment.size_bytes());
            let cleaned: Vec<RecordBatch> = segment
                .batches()
                .iter()
                .filter_map(|b| filter_batch(b, &latest, &last_of_producers, now_ms, horizon, &mut stats))
                .collect();
            let segment = &mut self.segments[i];
            segment.replace_batches(cleaned, interval, index_bytes);
            stats.bytes_after += u64::from(segment.size_bytes());
            let op = StoreOp::Replace { base_offset: segment.base_offset(), bytes: segment.log_bytes() };
            self.record(op);
        }
        self.cleaner_checkpoint = first_uncleanable;
        self.check();
        Some(LogEvent::Compacted(stats))
    }

    /// Producer id → the last offset of its last data batch in the log (the producer state's
    /// `lastDataOffset`).
    fn last_data_offsets(&self) -> VecMap<i64, i64> {
        let mut last = VecMap::new();
        for b in self.segments.iter().flat_map(|s| s.batches()) {
            let h = b.header();
            if h.producer_id >= 0 && !h.is_control() {
                last.insert(h.producer_id, b.last_offset());
            }
        }
        last
    }

    /// Key → highest offset among records in `[first_dirty, first_uncleanable)`.
    fn latest_offsets(&self, first_dirty: i64, first_uncleanable: i64, count: usize) -> LatestOffsets {
        let mut latest = LatestOffsets::default();
        for b in self.segments[..count].iter().flat_map(|s| s.batches()) {
            for (offset, r) in b.records() {
                if (first_dirty..first_uncleanable).contains(&offset) {
                    if let Some(k) = r.key {
                        latest.push(k, offset, LATEST_OFFSETS_SLACK);
                    }
                }
            }
        }
        latest.merge();
        latest
    }
}

/// Pairs [`LatestOffsets::push`] gathers beyond twice the distinct keys it holds before it
/// sorts and merges them in.
const LATEST_OFFSETS_SLACK: usize = 1024;

/// Each key's highest offset, as a vector sorted by key once merged: the web build then holds no
/// map of byte keys of its own (a `BTreeMap` of them was ~1 KB of the gzipped bundle).
#[derive(Default)]
struct LatestOffsets {
    pairs: Vec<(Vec<u8>, i64)>,
    distinct: usize,
}

impl LatestOffsets {
    /// Adds a pair; pairs come in offset order, so of a key's pairs the last, the highest,
    /// wins. They are merged whenever they reach twice the distinct keys plus `slack`, so a
    /// log of many records over few keys never holds a pair per record.
    fn push(&mut self, key: Vec<u8>, offset: i64, slack: usize) {
        self.pairs.push((key, offset));
        if self.pairs.len() > 2 * self.distinct + slack {
            self.merge();
        }
    }

    /// Sorts the pairs by key and keeps one a key, with the offset of its last pair.
    fn merge(&mut self) {
        // Stable: a key's pairs stay in the order they came, so the last of each run is its latest.
        sort_by(&mut self.pairs, |a, b| a.0.cmp(&b.0));
        self.pairs.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = later.1;
            }
            same
        });
        self.distinct = self.pairs.len();
    }

    /// The latest offset of `key` in the dirty range, if it has one there (once merged).
    fn get(&self, key: &[u8]) -> Option<i64> {
        debug_assert_eq!(self.distinct, self.pairs.len(), "looked up before the last merge");
        self.pairs.binary_search_by(|(k, _)| k.as_slice().cmp(key)).ok().map(|i| self.pairs[i].1)
    }
}

/// Filters one batch; `None` when nothing (not even the header) remains. An emptied batch is
/// kept, as a header alone, only when it holds its producer's last data offset
/// (`BatchRetention.RETAIN_EMPTY`: it carries the producer's last sequence).
fn filter_batch(
    b: &RecordBatch,
    latest: &LatestOffsets,
    last_of_producers: &VecMap<i64, i64>,
    now_ms: i64,
    horizon: i64,
    stats: &mut CleanStats,
) -> Option<RecordBatch> {
    let h = b.header();
    let stored = b.stored_records();
    stats.records_before += stored.len() as u64;
    let horizon_passed = h.attributes & DELETE_HORIZON_BIT != 0 && now_ms >= h.base_timestamp;
    let mut kept = Vec::new();
    for r in &stored {
        let offset = h.offset_at(r.offset_delta);
        let superseded = r.key.as_ref().and_then(|k| latest.get(k)).is_some_and(|last| offset < last);
        let expired_tombstone = r.value.is_none() && horizon_passed;
        if expired_tombstone && !superseded {
            stats.tombstones_removed += 1;
        }
        if !superseded && !expired_tombstone {
            kept.push(r.clone());
        }
    }
    stats.records_after += kept.len() as u64;
    let needs_horizon = h.attributes & DELETE_HORIZON_BIT == 0 && kept.iter().any(|r| r.value.is_none());
    if kept.len() == stored.len() && !needs_horizon {
        return Some(b.clone());
    }
    let producers_last = h.producer_id >= 0 && last_of_producers.get(&h.producer_id) == Some(&b.last_offset());
    if kept.is_empty() && !producers_last {
        return None;
    }
    let (base_ts, attributes) =
        if needs_horizon { (horizon, h.attributes | DELETE_HORIZON_BIT) } else { (h.base_timestamp, h.attributes) };
    let rebased: Vec<StoredRecord> = kept
        .into_iter()
        // Wrapping, as Java's `long` arithmetic is (a batch from bytes may hold any timestamps).
        .map(|r| StoredRecord { timestamp_delta: h.timestamp_at(r.timestamp_delta).wrapping_sub(base_ts), ..r })
        .collect();
    let header = BatchHeader { base_timestamp: base_ts, attributes, ..h.clone() };
    Some(RecordBatch::from_bytes(batch::write(&header, &rebased)).expect("a rewritten batch is valid"))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::LatestOffsets;
    use crate::sim::rng::SimRng;
    use std::collections::BTreeMap;

    /// The sorted vector answers as the map it replaced: inserting each record's key in offset
    /// order into a `BTreeMap`, so the last (highest) offset of a key wins, however often it
    /// merges along the way.
    #[test]
    fn latest_offsets_match_a_map_filled_in_offset_order() {
        let mut rng = SimRng::new(7);
        for round in 0..200u64 {
            let (records, keys) = (rng.below(60), 1 + rng.below(12));
            let pairs: Vec<(Vec<u8>, i64)> = (0..records)
                .map(|i| (format!("k{}", rng.below(keys)).into_bytes(), (round * 100 + i) as i64))
                .collect();
            let want: BTreeMap<Vec<u8>, i64> = pairs.iter().cloned().collect();
            // Slack 0 and 1 merge after every few pairs; 1,024 (the cleaner's) only at the end.
            for slack in [0, 1, 3, super::LATEST_OFFSETS_SLACK] {
                let mut got = LatestOffsets::default();
                for (key, offset) in pairs.iter().cloned() {
                    got.push(key, offset, slack);
                }
                got.merge();
                assert_eq!(got.pairs.len(), want.len(), "round {round}, slack {slack}: one entry a key");
                for k in 0..keys + 2 {
                    let key = format!("k{k}").into_bytes();
                    assert_eq!(got.get(&key), want.get(&key).copied(), "round {round}, slack {slack}, key {k}");
                }
            }
        }
    }
}
