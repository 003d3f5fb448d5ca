//! A partition replica's log: batches in offset order, the log end offset and the high
//! watermark.
//!
//! This is the in-memory form the walking skeleton needs. Segments, sparse indexes, retention,
//! compaction and byte-exact record batch v2 storage build on it in the log-storage issue.
//! Invariant: `log_start_offset <= high_watermark <= log_end_offset`, asserted on every change.

use super::protocol::Batch;
use std::sync::Arc;

/// One replica's log of one partition.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    batches: Vec<Arc<Batch>>,
    log_start_offset: i64,
    log_end_offset: i64,
    high_watermark: i64,
}

impl PartitionLog {
    /// An empty log starting at offset 0.
    pub fn new() -> PartitionLog {
        PartitionLog::default()
    }

    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Offset the next appended record will get (LEO).
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }

    /// The high watermark: records below it are committed.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// The batches, oldest first.
    pub fn batches(&self) -> &[Arc<Batch>] {
        &self.batches
    }

    /// Appends as a leader: stamps the base offset and leader epoch; returns the stamped batch.
    pub fn append_as_leader(&mut self, batch: &Batch, leader_epoch: i32) -> Arc<Batch> {
        assert!(batch.record_count() > 0, "empty batch");
        let mut stamped = batch.clone();
        stamped.base_offset = self.log_end_offset;
        stamped.partition_leader_epoch = leader_epoch;
        let stamped = Arc::new(stamped);
        self.push(stamped.clone());
        stamped
    }

    /// Appends as a follower: keeps the leader's offsets. The batch must start at the LEO.
    pub fn append_as_follower(&mut self, batch: Arc<Batch>) {
        assert_eq!(
            batch.base_offset, self.log_end_offset,
            "follower append must continue the log"
        );
        self.push(batch);
    }

    fn push(&mut self, batch: Arc<Batch>) {
        self.log_end_offset = batch.last_offset() + 1;
        self.batches.push(batch);
        self.check();
    }

    /// Sets the high watermark (callers apply Kafka's rules; this only keeps the bounds).
    pub fn set_high_watermark(&mut self, hw: i64) {
        self.high_watermark = hw.clamp(self.log_start_offset, self.log_end_offset);
        self.check();
    }

    /// Whole batches containing or following `offset`, below `limit` (exclusive), up to about
    /// `bytes_max` (the first batch is always returned whole, as Kafka does).
    pub fn read(&self, offset: i64, limit: i64, bytes_max: u32) -> Vec<Arc<Batch>> {
        let start = self.batches.partition_point(|b| b.last_offset() < offset);
        let mut out = Vec::new();
        let mut bytes = 0u32;
        for batch in &self.batches[start..] {
            if batch.last_offset() >= limit
                || (!out.is_empty() && bytes + batch.size_bytes() > bytes_max)
            {
                break;
            }
            bytes += batch.size_bytes();
            out.push(batch.clone());
        }
        out
    }

    /// Bytes available from `offset` up to `limit`.
    pub fn bytes_available(&self, offset: i64, limit: i64) -> u32 {
        let start = self.batches.partition_point(|b| b.last_offset() < offset);
        self.batches[start..]
            .iter()
            .take_while(|b| b.last_offset() < limit)
            .map(|b| b.size_bytes())
            .sum()
    }

    fn check(&self) {
        assert!(
            self.log_start_offset <= self.high_watermark,
            "log start offset above HW"
        );
        assert!(self.high_watermark <= self.log_end_offset, "HW above LEO");
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::sim::node::NodeId;
    use crate::sim::protocol::Record;

    fn batch(records: usize) -> Batch {
        let record = Record {
            timestamp_ms: 0,
            key: None,
            value: Some(vec![7; 10]),
        };
        Batch {
            base_offset: -1,
            partition_leader_epoch: -1,
            producer: NodeId::producer(1),
            batch_id: 0,
            records: vec![record; records],
        }
    }

    #[test]
    fn leader_append_assigns_offsets_from_leo() {
        let mut log = PartitionLog::new();
        assert_eq!(log.append_as_leader(&batch(3), 0).base_offset, 0);
        let second = log.append_as_leader(&batch(2), 4);
        assert_eq!((second.base_offset, second.partition_leader_epoch), (3, 4));
        assert_eq!(log.log_end_offset(), 5);
    }

    #[test]
    fn read_returns_whole_batches_below_the_limit() {
        let mut log = PartitionLog::new();
        for n in [3, 2, 4] {
            log.append_as_leader(&batch(n), 0);
        }
        let offsets = |v: Vec<Arc<Batch>>| v.iter().map(|b| b.base_offset).collect::<Vec<_>>();
        assert_eq!(offsets(log.read(4, 9, u32::MAX)), [3, 5]);
        assert_eq!(offsets(log.read(0, 5, u32::MAX)), [0, 3]);
        assert_eq!(
            offsets(log.read(0, 9, 1)),
            [0],
            "first batch is returned whole"
        );
        assert!(log.read(9, 9, u32::MAX).is_empty());
    }

    #[test]
    fn high_watermark_is_clamped_to_the_log() {
        let mut log = PartitionLog::new();
        log.append_as_leader(&batch(3), 0);
        log.set_high_watermark(10);
        assert_eq!(log.high_watermark(), 3);
    }

    #[test]
    #[should_panic(expected = "follower append must continue the log")]
    fn follower_append_with_a_gap_is_a_bug() {
        let mut log = PartitionLog::new();
        let mut b = batch(1);
        b.base_offset = 5;
        log.append_as_follower(Arc::new(b));
    }
}
