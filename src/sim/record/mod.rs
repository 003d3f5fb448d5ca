//! Records and record batches as Kafka stores and sends them: byte-exact record batch v2.
//!
//! A [`RecordBatch`] is an encoded, validated batch behind an `Arc`, cheap to clone into fetch
//! responses and logs. A producer's batch is a [`RecordsBuilder`] that encodes each record as it
//! is appended, finished ([`RecordBatch::finish`]: header and CRC) at its first drain; the leader
//! [`RecordBatch::stamped`]s it with its base offset and leader epoch (outside the CRC, as Kafka
//! does); followers append the leader's bytes unchanged.

pub mod batch;
pub mod crc;
pub mod varint;

pub use batch::{
    BatchHeader, BatchSpec, Compression, DecodeError, Record, RecordHeader, RecordsBuilder, StoredRecord, TimestampType,
};

use std::fmt;
use std::sync::Arc;

/// An encoded record batch whose header (and CRC) has been checked.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordBatch {
    /// Shared by every copy (in flight, in each replica's log, in fetch responses). An
    /// `Arc<Vec>` rather than an `Arc<[u8]>`: the encoder's vector moves in, where an
    /// `Arc<[u8]>` copied every batch once more when it was made.
    bytes: Arc<Vec<u8>>,
    header: BatchHeader,
}

impl RecordBatch {
    /// Builds a batch from records (see [`batch::build`]).
    pub fn build<R: std::borrow::Borrow<Record>>(spec: &BatchSpec, records: &[R]) -> RecordBatch {
        let bytes = batch::build(spec, records);
        // The header (and CRC) is checked every time; decoding every record again is a
        // debug-build check only: it cost a third of the producer's time per record.
        debug_assert!(batch::validate(&bytes, 0).is_ok(), "a freshly built batch decodes");
        let header = batch::decode_header(&bytes, 0).expect("a freshly built batch has a valid header");
        RecordBatch { bytes: Arc::new(bytes), header }
    }

    /// Finishes `builder` for `spec` (see [`RecordsBuilder::finish`]).
    pub fn finish(builder: &mut RecordsBuilder, spec: &BatchSpec) -> RecordBatch {
        let bytes = builder.finish(spec);
        debug_assert!(batch::validate(&bytes, 0).is_ok(), "a freshly built batch decodes");
        let header = batch::decode_header(&bytes, 0).expect("a freshly built batch has a valid header");
        RecordBatch { bytes: Arc::new(bytes), header }
    }

    /// The encoded bytes, owned (copied only if another holder still shares them).
    pub fn into_bytes(self) -> Vec<u8> {
        Arc::try_unwrap(self.bytes).unwrap_or_else(|shared| shared.to_vec())
    }

    /// Validates `bytes` as exactly one batch: header, CRC and every record.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<RecordBatch, DecodeError> {
        let header = batch::validate(&bytes, 0)?;
        if header.size_in_bytes() != bytes.len() {
            return Err(DecodeError {
                position: header.size_in_bytes(),
                field: "batchLength",
                problem: format!("{} trailing bytes after the batch", bytes.len() - header.size_in_bytes()),
            });
        }
        Ok(RecordBatch { bytes: Arc::new(bytes), header })
    }

    /// Splits a byte stream (a `.log` file, a fetch response) into batches, validating each.
    /// Stops at the first invalid batch and returns the valid prefix with the error.
    pub fn parse_stream(bytes: &[u8]) -> (Vec<RecordBatch>, Option<DecodeError>) {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            match batch::validate(&bytes[pos..], pos) {
                Ok(header) => {
                    let size = header.size_in_bytes();
                    out.push(RecordBatch { bytes: Arc::new(bytes[pos..pos + size].to_vec()), header });
                    pos += size;
                }
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    /// A copy with `baseOffset` and `partitionLeaderEpoch` set (the CRC stays valid).
    pub fn stamped(&self, base_offset: i64, partition_leader_epoch: i32) -> RecordBatch {
        let mut bytes = self.bytes.to_vec();
        batch::stamp(&mut bytes, base_offset, partition_leader_epoch);
        let header = BatchHeader { base_offset, partition_leader_epoch, ..self.header.clone() };
        RecordBatch { bytes: Arc::new(bytes), header }
    }

    /// Whether `other` is a copy of this batch sharing its bytes (a follower's copy of its
    /// leader's batch, say): then the two hold the same records, without decoding either.
    pub fn shares_bytes(&self, other: &RecordBatch) -> bool {
        Arc::ptr_eq(&self.bytes, &other.bytes)
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The decoded header.
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// Offset of the first record.
    pub fn base_offset(&self) -> i64 {
        self.header.base_offset
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.header.last_offset()
    }

    /// Number of records.
    pub fn record_count(&self) -> u32 {
        self.header.records_count as u32
    }

    /// Size in bytes.
    pub fn size_bytes(&self) -> u32 {
        self.bytes.len() as u32
    }

    /// Each record's offset and [`Record::fingerprint`], decoded in place (no copy). The batch
    /// was validated when it was made, so its CRC is not computed again.
    pub fn fingerprints(&self) -> Vec<(i64, u64)> {
        self.collect_fingerprints(false).expect("validated on construction")
    }

    /// [`RecordBatch::fingerprints`] after checking the batch again as [`batch::validate`] does
    /// (header, CRC, every record), in one pass over the records: the consumer's `check.crcs`.
    pub fn verified_fingerprints(&self) -> Result<Vec<(i64, u64)>, DecodeError> {
        self.collect_fingerprints(true)
    }

    fn collect_fingerprints(&self, verify: bool) -> Result<Vec<(i64, u64)>, DecodeError> {
        let mut out = Vec::with_capacity(self.record_count() as usize);
        self.for_each_fingerprint(verify, |offset, fingerprint| out.push((offset, fingerprint)))?;
        Ok(out)
    }

    /// Calls `f` with each record's offset and [`Record::fingerprint`], in order, decoded in
    /// place with no list in between (the consumer buffers them as they come). With `verify`,
    /// the header and CRC are checked again first, as [`batch::validate`] does; every record is
    /// checked as it is read either way. On an error, `f` has seen the records before the bad one.
    pub fn for_each_fingerprint(&self, verify: bool, mut f: impl FnMut(i64, u64)) -> Result<(), DecodeError> {
        if verify {
            // The header field was decoded from these bytes; this checks them (CRC included) again.
            batch::decode_header(&self.bytes, 0)?;
        }
        let header = &self.header;
        let (base_offset, base_timestamp) = (header.base_offset, header.base_timestamp);
        batch::for_each_record_in_place(&self.bytes, header, 0, |r| {
            f(
                base_offset + i64::from(r.offset_delta),
                batch::fingerprint(base_timestamp + r.timestamp_delta, r.key, r.value),
            )
        })
    }

    /// The records with absolute offsets and timestamps.
    pub fn records(&self) -> Vec<(i64, Record)> {
        let (_, stored) = batch::decode(&self.bytes, 0).expect("validated on construction");
        stored
            .into_iter()
            .map(|r| {
                let record = Record {
                    timestamp_ms: self.header.base_timestamp + r.timestamp_delta,
                    key: r.key,
                    value: r.value,
                    headers: r.headers,
                };
                (self.header.base_offset + i64::from(r.offset_delta), record)
            })
            .collect()
    }

    /// The stored records (deltas) — what compaction filters.
    pub fn stored_records(&self) -> Vec<StoredRecord> {
        batch::decode(&self.bytes, 0).expect("validated on construction").1
    }
}

impl fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordBatch({})", self.header)
    }
}

/// Bytes of a record appended at `offset_delta`/`timestamp_delta` (Kafka `DefaultRecord.sizeInBytes`),
/// sized from borrowed fields (the producer asks for every record it appends).
pub use batch::borrowed_record_size as record_size;

/// Kafka's `estimateSizeInBytesUpperBound` for one record in a v2 batch:
/// `RECORD_BATCH_OVERHEAD (61) + MAX_RECORD_OVERHEAD (21) + sizeOf(key, value, headers)`.
pub fn record_size_upper_bound(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[RecordHeader]) -> usize {
    let bytes = |b: Option<&[u8]>| b.map_or(1, |b| varint::varint_len(b.len() as i32) + b.len());
    let headers_size: usize = varint::varint_len(headers.len() as i32)
        + headers.iter().map(|h| bytes(Some(&h.key)) + bytes(h.value.as_deref())).sum::<usize>();
    batch::RECORD_BATCH_OVERHEAD + 21 + bytes(key) + bytes(value) + headers_size
}

#[cfg(test)]
mod tests;
