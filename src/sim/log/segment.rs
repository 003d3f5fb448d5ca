//! One log segment: a `.log` of whole batches plus its sparse indexes (Kafka `LogSegment`).

use super::index::{OffsetIndex, TimeIndex};
use crate::sim::record::RecordBatch;
use crate::sim::time::SimTime;

/// File name stem of a segment: the base offset as 20 zero-padded digits.
pub fn file_stem(base_offset: i64) -> String {
    format!("{base_offset:020}")
}

/// Why (if at all) a segment must roll before an append.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollReason {
    /// `size > segment.bytes - messagesSize`.
    SegmentBytes,
    /// Time since the segment's first batch exceeded `segment.ms`.
    SegmentMs,
    /// The offset or time index is full.
    IndexFull,
    /// The append's offsets do not fit an int32 relative offset.
    OffsetOverflow,
    /// Retention found every segment deletable and rolls a new active segment first.
    Retention,
}

/// An index entry added by an append (for the trace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntryAdded {
    /// Absolute offset of the offset-index entry.
    pub offset: i64,
    /// Its byte position.
    pub position: u32,
    /// Timestamp of the time-index entry, if one was added.
    pub timestamp: Option<i64>,
}

/// A segment.
#[derive(Clone, Debug)]
pub struct Segment {
    base_offset: i64,
    batches: Vec<RecordBatch>,
    positions: Vec<u32>,
    size_bytes: u32,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_last_index_entry: u32,
    created: SimTime,
    last_modified: SimTime,
    rolling_based_timestamp: Option<i64>,
    max_timestamp_so_far: i64,
    offset_of_max_timestamp_so_far: i64,
}

impl Segment {
    /// An empty segment starting at `base_offset`, created at `now`.
    pub fn new(base_offset: i64, index_bytes: u32, now: SimTime) -> Segment {
        Segment {
            base_offset,
            batches: Vec::new(),
            positions: Vec::new(),
            size_bytes: 0,
            offset_index: OffsetIndex::new(index_bytes),
            time_index: TimeIndex::new(index_bytes),
            bytes_since_last_index_entry: 0,
            created: now,
            last_modified: now,
            rolling_based_timestamp: None,
            max_timestamp_so_far: -1,
            offset_of_max_timestamp_so_far: base_offset,
        }
    }

    /// First offset this segment may hold.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    /// Bytes of its `.log`.
    pub fn size_bytes(&self) -> u32 {
        self.size_bytes
    }
    /// Its batches, oldest first.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }
    /// The offset index.
    pub fn offset_index(&self) -> &OffsetIndex {
        &self.offset_index
    }
    /// The time index.
    pub fn time_index(&self) -> &TimeIndex {
        &self.time_index
    }
    /// Largest record timestamp, or -1.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp_so_far
    }
    /// When it was last appended to (the file's mtime).
    pub fn last_modified(&self) -> SimTime {
        self.last_modified
    }
    /// Kafka's `largestTimestamp`: the max record timestamp (0 included), else the mtime.
    pub fn largest_timestamp_ms(&self) -> i64 {
        if self.max_timestamp_so_far >= 0 {
            self.max_timestamp_so_far
        } else {
            self.last_modified.as_ms() as i64
        }
    }
    /// Offset after its last batch (the base offset if empty).
    pub fn next_offset(&self) -> i64 {
        self.batches.last().map_or(self.base_offset, |b| b.last_offset() + 1)
    }

    /// Kafka `LogSegment.shouldRoll` for an append of `messages_bytes` whose largest timestamp and
    /// last offset are given. `segment_ms` is `segment.ms` (roll jitter is zero here).
    pub fn should_roll(
        &self,
        segment_bytes: u32,
        segment_ms: i64,
        messages_bytes: u32,
        max_timestamp: i64,
        last_offset: i64,
        now: SimTime,
    ) -> Option<RollReason> {
        let waited = match self.rolling_based_timestamp {
            Some(first) => max_timestamp - first,
            None => now.as_ms() as i64 - self.created.as_ms() as i64,
        };
        if i64::from(self.size_bytes) > i64::from(segment_bytes) - i64::from(messages_bytes) {
            Some(RollReason::SegmentBytes)
        } else if self.size_bytes > 0 && waited > segment_ms {
            Some(RollReason::SegmentMs)
        } else if self.offset_index.is_full() || self.time_index.is_full() {
            Some(RollReason::IndexFull)
        } else if last_offset - self.base_offset > i64::from(i32::MAX) {
            Some(RollReason::OffsetOverflow)
        } else {
            None
        }
    }

    /// Appends a batch (Kafka `LogSegment.append`): an index entry first if more than
    /// `index_interval_bytes` were written since the last one — so the first append never adds one.
    pub fn append(&mut self, batch: RecordBatch, index_interval_bytes: u32, now: SimTime) -> Option<IndexEntryAdded> {
        assert!(batch.base_offset() >= self.next_offset(), "segment appends must move forward");
        let position = self.size_bytes;
        let largest_ts = batch.header().max_timestamp;
        if position == 0 {
            self.rolling_based_timestamp = Some(largest_ts);
        }
        if largest_ts > self.max_timestamp_so_far {
            self.max_timestamp_so_far = largest_ts;
            self.offset_of_max_timestamp_so_far = batch.last_offset();
        }
        let mut added = None;
        if self.bytes_since_last_index_entry > index_interval_bytes {
            let relative = self.relative(batch.last_offset());
            self.offset_index.append(relative, position);
            let rel_ts = self.relative(self.offset_of_max_timestamp_so_far);
            let ts_added = self.time_index.maybe_append(self.max_timestamp_so_far, rel_ts, false);
            added = Some(IndexEntryAdded {
                offset: batch.last_offset(),
                position,
                timestamp: ts_added.then_some(self.max_timestamp_so_far),
            });
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += batch.size_bytes();
        self.size_bytes += batch.size_bytes();
        self.positions.push(position);
        self.batches.push(batch);
        self.last_modified = now;
        added
    }

    /// Called when the segment stops being the active one: a final time-index entry.
    pub fn on_become_inactive(&mut self) {
        let rel = self.relative(self.offset_of_max_timestamp_so_far);
        if self.max_timestamp_so_far >= 0 {
            self.time_index.maybe_append(self.max_timestamp_so_far, rel, true);
        }
    }

    fn relative(&self, offset: i64) -> u32 {
        u32::try_from(offset - self.base_offset).expect("relative offset fits (checked by should_roll)")
    }

    /// Index of the first batch whose last offset is `>= offset`, found through the sparse
    /// index and then forward from the position it gives (Kafka `translateOffset`). An index
    /// entry is written at a batch's position with that batch's last offset, so the entry found
    /// lies on a batch ending at or before `offset` and the answer is at or after it; batches
    /// are in offset order, so a binary search from there finds the batch a linear scan would.
    /// An offset past the last batch (a caught-up fetch, the commonest read) returns `None`
    /// before any search. The linear scan this replaced was ~2% of a swarm seed's instructions.
    pub fn batch_index_for(&self, offset: i64) -> Option<usize> {
        if self.batches.last().is_none_or(|b| b.last_offset() < offset) {
            return None;
        }
        let start_position = match offset.checked_sub(self.base_offset).and_then(|r| u32::try_from(r).ok()) {
            Some(rel) => self.offset_index.lookup(rel).map_or(0, |e| e.position),
            None => 0,
        };
        let from = self.positions.partition_point(|p| *p < start_position);
        debug_assert!(from < self.batches.len(), "an index entry past the last batch");
        Some(from + self.batches[from..].partition_point(|b| b.last_offset() < offset))
    }

    /// Whole batches from the one containing `offset`, all below `limit` (exclusive), up to
    /// `bytes_max` (the first batch is always included). Borrowed: a caller that only weighs
    /// the read copies nothing.
    pub fn read(&self, offset: i64, limit: i64, bytes_max: u32) -> &[RecordBatch] {
        let Some(first) = self.batch_index_for(offset) else { return &[] };
        let mut end = first;
        let mut bytes = 0u32;
        for batch in &self.batches[first..] {
            if batch.last_offset() >= limit || (end > first && bytes + batch.size_bytes() > bytes_max) {
                break;
            }
            bytes += batch.size_bytes();
            end += 1;
        }
        &self.batches[first..end]
    }

    /// Drops every batch whose last offset is `>= offset` (Kafka truncates at the position of the
    /// first such batch) and the index entries past it. Returns the bytes removed.
    pub fn truncate_to(&mut self, offset: i64) -> u32 {
        let Some(i) = self.batch_index_for(offset) else { return 0 };
        let position = self.positions[i];
        let removed = self.size_bytes - position;
        self.batches.truncate(i);
        self.positions.truncate(i);
        self.size_bytes = position;
        let rel = u32::try_from((offset - self.base_offset).max(0)).unwrap_or(u32::MAX);
        self.offset_index.truncate_to(rel);
        self.time_index.truncate_to(rel);
        self.recompute_max_timestamp();
        self.bytes_since_last_index_entry = 0;
        if self.batches.is_empty() {
            self.rolling_based_timestamp = None;
        }
        removed
    }

    fn recompute_max_timestamp(&mut self) {
        self.max_timestamp_so_far = -1;
        self.offset_of_max_timestamp_so_far = self.base_offset;
        for b in &self.batches {
            if b.header().max_timestamp > self.max_timestamp_so_far {
                self.max_timestamp_so_far = b.header().max_timestamp;
                self.offset_of_max_timestamp_so_far = b.last_offset();
            }
        }
    }

    /// Replaces the batches (compaction), rebuilding positions and indexes.
    pub fn replace_batches(&mut self, batches: Vec<RecordBatch>, index_interval_bytes: u32, index_bytes: u32) {
        let (created, last_modified) = (self.created, self.last_modified);
        let mut fresh = Segment::new(self.base_offset, index_bytes, created);
        for b in batches {
            fresh.append(b, index_interval_bytes, last_modified);
        }
        fresh.on_become_inactive();
        *self = fresh;
    }

    /// The `.log` file bytes.
    pub fn log_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_bytes() as usize);
        for b in &self.batches {
            out.extend_from_slice(&b.bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::sim::record::{BatchSpec, Record};

    fn batch(base: i64, n: usize, value_len: usize, ts: i64) -> RecordBatch {
        let r = Record { timestamp_ms: ts, key: None, value: Some(vec![b'x'; value_len]), headers: vec![] };
        RecordBatch::build(&BatchSpec { base_offset: base, ..BatchSpec::default() }, &vec![r; n])
    }

    #[test]
    fn a_segment_of_records_stamped_zero_is_as_old_as_its_records() {
        // `largestTimestamp` falls back to the file's mtime only when no record has a timestamp
        // (-1); records stamped 0 make the segment 0 ms old, whenever it was written.
        let mut s = Segment::new(0, 1 << 20, SimTime::from_ms(2_000));
        assert_eq!(s.largest_timestamp_ms(), 2_000, "empty: the mtime");
        s.append(batch(0, 2, 10, 0), 4096, SimTime::from_ms(5_000));
        assert_eq!(s.largest_timestamp_ms(), 0);
        s.append(batch(2, 1, 10, 7), 4096, SimTime::from_ms(6_000));
        assert_eq!(s.largest_timestamp_ms(), 7);
    }

    #[test]
    fn file_stems_match_kafka() {
        // kafka-vectors segment_file_names.
        assert_eq!(file_stem(0), "00000000000000000000");
        assert_eq!(file_stem(1234), "00000000000000001234");
        assert_eq!(file_stem(i64::MAX), "09223372036854775807");
    }

    #[test]
    fn first_append_adds_no_index_entry_then_every_interval() {
        let mut s = Segment::new(0, 1 << 20, SimTime::ZERO);
        let b = batch(0, 1, 1000, 5);
        let size = b.size_bytes();
        assert_eq!(s.append(b, 4096, SimTime::ZERO), None);
        let mut entries = vec![];
        for next in 1..=12 {
            if let Some(e) = s.append(batch(next, 1, 1000, 5 + next), 4096, SimTime::ZERO) {
                entries.push(e);
            }
        }
        // An entry when more than 4096 bytes were written since the last one: after 5 batches.
        let per = 4096 / size + 1;
        assert_eq!(entries[0].offset, i64::from(per));
        assert_eq!(entries[0].position, per * size);
        assert_eq!(s.offset_index().entries().len(), entries.len());
        assert_eq!(s.batch_index_for(7), Some(7));
        assert_eq!(s.read(7, 9, u32::MAX).iter().map(RecordBatch::base_offset).collect::<Vec<_>>(), [7, 8]);
    }

    #[test]
    fn rolls_on_size_time_and_index_full() {
        let mut s = Segment::new(0, 1 << 20, SimTime::ZERO);
        s.append(batch(0, 1, 100, 1_000), 4096, SimTime::ZERO);
        let size = s.size_bytes();
        assert_eq!(
            s.should_roll(size * 2, i64::MAX, size, 1_000, 1, SimTime::ZERO),
            None,
            "size == segment.bytes is allowed"
        );
        assert_eq!(
            s.should_roll(size * 2 - 1, i64::MAX, size, 1_000, 1, SimTime::ZERO),
            Some(RollReason::SegmentBytes)
        );
        assert_eq!(s.should_roll(1 << 30, 500, 10, 1_501, 1, SimTime::ZERO), Some(RollReason::SegmentMs));
        assert_eq!(s.should_roll(1 << 30, 500, 10, 1_500, 1, SimTime::ZERO), None, "strictly greater than segment.ms");
        let mut tiny = Segment::new(0, 8, SimTime::ZERO);
        tiny.append(batch(0, 1, 5000, 1), 0, SimTime::ZERO);
        tiny.append(batch(1, 1, 5000, 2), 0, SimTime::ZERO);
        assert_eq!(tiny.should_roll(1 << 30, i64::MAX, 10, 3, 2, SimTime::ZERO), Some(RollReason::IndexFull));
    }

    #[test]
    fn batch_index_for_finds_the_batch_a_linear_scan_finds() {
        // Batches of 1-3 records at offsets 10.., indexed every 0, 300 and 5000 bytes: every
        // offset from before the segment to past its end, against a scan from the first batch.
        for interval in [0, 300, 5000] {
            let mut s = Segment::new(10, 1 << 20, SimTime::ZERO);
            let mut next = 10;
            for i in 0..40 {
                let n = 1 + (i % 3);
                s.append(batch(next, n, 50 + 20 * (i % 4), i as i64), interval, SimTime::ZERO);
                next += n as i64;
            }
            let agrees = |s: &Segment, when: &str| {
                for offset in 0..next + 3 {
                    let scan = s.batches().iter().position(|b| b.last_offset() >= offset);
                    assert_eq!(s.batch_index_for(offset), scan, "offset {offset}, interval {interval}, {when}");
                }
            };
            agrees(&s, "appended");
            // Truncation cuts batches and index entries: inside a batch, then at a last offset.
            for cut in [48, 30] {
                s.truncate_to(cut);
                agrees(&s, &format!("truncated to {cut}"));
            }
        }
        assert_eq!(Segment::new(0, 1 << 20, SimTime::ZERO).batch_index_for(0), None, "an empty segment");
    }

    #[test]
    fn truncation_removes_whole_batches_and_index_entries() {
        let mut s = Segment::new(0, 1 << 20, SimTime::ZERO);
        for i in 0..10 {
            s.append(batch(i * 2, 2, 600, i), 1000, SimTime::ZERO);
        }
        s.truncate_to(9);
        assert_eq!(s.next_offset(), 8, "the batch holding offset 9 (8..9) is removed whole");
        assert!(s.offset_index().entries().iter().all(|e| e.relative_offset < 9));
        assert_eq!(s.log_bytes().len() as u32, s.size_bytes());
    }
}
