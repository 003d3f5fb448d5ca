//! Broker-side idempotent producer state (Kafka `ProducerStateManager`, `ProducerAppendInfo`,
//! shared/reference §3): per producer id, its epoch and the metadata of its last 5 batches.

use super::protocol::ErrorCode;
use super::record::BatchHeader;
use crate::sim::vec_map::VecMap;
use std::collections::VecDeque;

/// Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`.
pub const BATCHES_RETAINED: usize = 5;

/// One remembered batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchMetadata {
    /// First sequence.
    pub first_seq: i32,
    /// Last sequence.
    pub last_seq: i32,
    /// Offset of its first record.
    pub first_offset: i64,
}

/// What the broker knows of one producer on one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerEntry {
    /// Current epoch.
    pub epoch: i16,
    /// The last batches, oldest first.
    pub batches: VecDeque<BatchMetadata>,
}

/// The outcome of checking a client batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Append it.
    Append,
    /// Already appended at this offset: answer success without appending.
    Duplicate(i64),
}

/// Producer state of one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStates {
    entries: VecMap<i64, ProducerEntry>,
}

fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

impl ProducerStates {
    /// The entry of a producer.
    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.entries.get(&producer_id)
    }

    /// Checks a batch from a client (leader append): duplicate, then epoch, then sequence.
    pub fn check(&self, h: &BatchHeader) -> Result<Check, ErrorCode> {
        if h.producer_id < 0 {
            return Ok(Check::Append);
        }
        let Some(entry) = self.entries.get(&h.producer_id) else { return Ok(Check::Append) };
        if h.producer_epoch == entry.epoch {
            let last_seq = h.last_sequence();
            if let Some(dup) = entry.batches.iter().find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq) {
                return Ok(Check::Duplicate(dup.first_offset));
            }
        }
        if h.producer_epoch < entry.epoch {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        if h.producer_epoch != entry.epoch {
            return if h.base_sequence == 0 { Ok(Check::Append) } else { Err(ErrorCode::OutOfOrderSequenceNumber) };
        }
        match entry.batches.back() {
            Some(last) if !in_sequence(last.last_seq, h.base_sequence) => Err(ErrorCode::OutOfOrderSequenceNumber),
            _ => Ok(Check::Append),
        }
    }

    /// Records an appended batch (leader or follower), keeping the last five.
    pub fn record(&mut self, h: &BatchHeader) {
        if h.producer_id < 0 {
            return;
        }
        let entry = self
            .entries
            .entry(h.producer_id)
            .or_insert(ProducerEntry { epoch: h.producer_epoch, batches: VecDeque::new() });
        if entry.epoch != h.producer_epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_RETAINED {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMetadata {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            first_offset: h.base_offset,
        });
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::sim::record::{BatchSpec, Record, RecordBatch};

    fn header(pid: i64, epoch: i16, seq: i32, records: usize, offset: i64) -> BatchHeader {
        let r = Record { timestamp_ms: 0, key: None, value: Some(vec![1]), headers: vec![] };
        let spec = BatchSpec {
            base_offset: offset,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            ..BatchSpec::default()
        };
        RecordBatch::build(&spec, &vec![r; records]).header().clone()
    }

    #[test]
    fn duplicates_of_the_last_five_batches_return_their_offsets() {
        let mut s = ProducerStates::default();
        for i in 0..7 {
            let h = header(9, 0, i * 2, 2, i64::from(i) * 2);
            assert_eq!(s.check(&h), Ok(Check::Append));
            s.record(&h);
        }
        assert_eq!(s.check(&header(9, 0, 12, 2, 99)), Ok(Check::Duplicate(12)));
        assert_eq!(s.check(&header(9, 0, 4, 2, 99)), Ok(Check::Duplicate(4)), "the fifth-newest is still remembered");
        assert_eq!(
            s.check(&header(9, 0, 2, 2, 99)),
            Err(ErrorCode::OutOfOrderSequenceNumber),
            "the sixth-newest is forgotten"
        );
    }

    #[test]
    fn sequences_and_epochs_are_checked() {
        let mut s = ProducerStates::default();
        s.record(&header(1, 3, 0, 5, 0));
        assert_eq!(s.check(&header(1, 3, 5, 1, 5)), Ok(Check::Append));
        assert_eq!(s.check(&header(1, 3, 6, 1, 5)), Err(ErrorCode::OutOfOrderSequenceNumber), "a gap");
        assert_eq!(s.check(&header(1, 2, 5, 1, 5)), Err(ErrorCode::InvalidProducerEpoch));
        assert_eq!(s.check(&header(1, 4, 0, 1, 5)), Ok(Check::Append), "a new epoch starts at 0");
        assert_eq!(s.check(&header(1, 4, 3, 1, 5)), Err(ErrorCode::OutOfOrderSequenceNumber));
        assert_eq!(s.check(&header(2, 0, 77, 1, 5)), Ok(Check::Append), "an unknown producer may start anywhere");
        assert!(in_sequence(i32::MAX, 0));
    }
}
