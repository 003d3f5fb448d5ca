//! Records and record batches as Kafka stores and sends them: byte-exact record batch v2.
//!
//! A [`RecordBatch`] is an encoded, validated batch behind an `Arc`, cheap to clone into fetch
//! responses and logs. A producer's batch is a [`RecordsBuilder`] that encodes each record as it
//! is appended, finished ([`RecordBatch::finish`]: header and CRC) at its first drain; the leader
//! [`RecordBatch::stamped`]s it with its base offset and leader epoch (outside the CRC, as Kafka
//! does: the copies share the bytes, and [`RecordBatch::bytes`] writes a copy's own stamp in);
//! followers append the leader's batch unchanged.

pub mod batch;
pub mod crc;
pub mod varint;

pub use batch::{
    BatchHeader, BatchSpec, Compression, DecodeError, Record, RecordHeader, RecordsBuilder, StoredRecord, TimestampType,
};

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// An encoded record batch whose header and CRC hold: checked when it was made from bytes,
/// written from its bytes when this process sealed it (see [`RecordBatch::for_each_fingerprint`]).
#[derive(Clone)]
pub struct RecordBatch {
    /// Shared by every copy (in flight, in each replica's log, in fetch responses), stamped
    /// or not: a copy's `baseOffset` and `partitionLeaderEpoch` are `header`'s, which may differ
    /// from these bytes' (see [`RecordBatch::stamped`]). An `Arc<Vec>` rather than an
    /// `Arc<[u8]>`: the encoder's vector moves in, where an `Arc<[u8]>` copied every batch once
    /// more when it was made.
    bytes: Arc<Vec<u8>>,
    /// Decoded from the bytes, with this copy's stamp.
    header: BatchHeader,
    /// The records' [`Record::fingerprint`]s, in offset order, when this process encoded the
    /// batch ([`RecordBatch::finish`]): the producer computed them as it appended the records,
    /// and the bytes cannot change after (they are behind the `Arc`; a [`RecordBatch::stamped`]
    /// copy shares them and holds its new header fields apart). Every reader of the records' identity
    /// (the consumer's `poll()`, the end-of-run checks) would otherwise decode and hash each
    /// record again: 9% of workload (b). A batch made from bytes has none and is decoded; a
    /// debug build checks the two agree each time they are read.
    fingerprints: Option<KnownFingerprints>,
}

/// [`batch::Fingerprints`] shared by a batch's copies: the first inline, the rest (if any)
/// behind an `Arc`, so neither a one-record batch nor a copy allocates for them. The rest are
/// copied to a list of their exact length: the producer's reserved room for a full batch
/// would otherwise stay in every replica's log until retention removed the batch.
#[derive(Clone)]
struct KnownFingerprints {
    first: u64,
    rest: Option<Arc<[u64]>>,
}

impl KnownFingerprints {
    fn new(list: batch::Fingerprints) -> Option<KnownFingerprints> {
        let (first, rest) = list.into_parts()?;
        Some(KnownFingerprints { first, rest: (!rest.is_empty()).then(|| Arc::from(rest)) })
    }

    fn iter(&self) -> impl Iterator<Item = u64> + Clone + '_ {
        std::iter::once(self.first).chain(self.rest.as_deref().unwrap_or_default().iter().copied())
    }

    fn to_list(&self) -> batch::Fingerprints {
        batch::Fingerprints::from_parts(self.first, self.rest.as_deref().map_or_else(Vec::new, <[u64]>::to_vec))
    }
}

/// Two batches are equal when their bytes are (as [`RecordBatch::bytes`] gives them, stamps
/// included): the header is decoded from them and the fingerprints are computed from them.
impl PartialEq for RecordBatch {
    fn eq(&self, other: &RecordBatch) -> bool {
        let (a, b) = (&self.bytes, &other.bytes);
        // Outside the stamp: batchLength, then everything from magic on.
        self.same_stamp(other) && (Arc::ptr_eq(a, b) || (a[8..12] == b[8..12] && a[16..] == b[16..]))
    }
}

impl Eq for RecordBatch {}

impl RecordBatch {
    /// Builds a batch from records (as [`batch::build`] does), keeping their fingerprints.
    pub fn build<R: std::borrow::Borrow<Record>>(spec: &BatchSpec, records: &[R]) -> RecordBatch {
        RecordBatch::finish(&mut RecordsBuilder::of(records), spec)
    }

    /// Finishes `builder` for `spec` (see [`RecordsBuilder::finish`]); the batch keeps the
    /// fingerprints the builder computed as records were appended.
    pub fn finish(builder: &mut RecordsBuilder, spec: &BatchSpec) -> RecordBatch {
        let (bytes, fingerprints) = builder.finish_with_fingerprints(spec);
        // Decoding every record again, and computing the CRC the builder has just written from
        // the same bytes, are debug-build checks only: the first cost a third of the producer's
        // time per record, the second about a twelfth of workload (b)'s in the browser's speed
        // build, where CRC-32C is computed in software.
        debug_assert!(batch::validate(&bytes, 0).is_ok(), "a freshly built batch decodes, its CRC included");
        let header = batch::decode_sealed_header(&bytes).expect("a freshly built batch has a valid header");
        assert_eq!(fingerprints.len(), header.records_count as usize, "a builder keeps one fingerprint per record");
        RecordBatch { bytes: Arc::new(bytes), header, fingerprints: KnownFingerprints::new(fingerprints) }
    }

    /// The encoded bytes, owned (copied only if another holder still shares them).
    pub fn into_bytes(self) -> Vec<u8> {
        let (base_offset, epoch) = (self.header.base_offset, self.header.partition_leader_epoch);
        let mut bytes = Arc::try_unwrap(self.bytes).unwrap_or_else(|shared| shared.to_vec());
        batch::stamp(&mut bytes, base_offset, epoch);
        bytes
    }

    /// [`RecordBatch::into_bytes`] with the records' fingerprints, if the batch has them (a
    /// producer reopening its batch to write the header again keeps them).
    pub(crate) fn into_parts(self) -> (Vec<u8>, Option<batch::Fingerprints>) {
        let fingerprints = self.fingerprints.as_ref().map(KnownFingerprints::to_list);
        (self.into_bytes(), fingerprints)
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
        Ok(RecordBatch { bytes: Arc::new(bytes), header, fingerprints: None })
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
                    out.push(RecordBatch {
                        bytes: Arc::new(bytes[pos..pos + size].to_vec()),
                        header,
                        fingerprints: None,
                    });
                    pos += size;
                }
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    /// A copy with `baseOffset` and `partitionLeaderEpoch` set (the CRC, which starts after
    /// them, stays valid). The copy shares the bytes: only its header holds the new values,
    /// and [`RecordBatch::bytes`] writes them in. A leader stamps every batch it appends, while
    /// the producer still holds the batch for a retry; copying the bytes to rewrite 12 of them
    /// was 4% of workload (b).
    pub fn stamped(&self, base_offset: i64, partition_leader_epoch: i32) -> RecordBatch {
        let header = BatchHeader { base_offset, partition_leader_epoch, ..self.header.clone() };
        RecordBatch { bytes: Arc::clone(&self.bytes), header, fingerprints: self.fingerprints.clone() }
    }

    /// Whether `other` is a copy of this batch with the same stamp, sharing its bytes (a
    /// follower's copy of its leader's batch, say): then the two are equal, without comparing
    /// or decoding either.
    pub fn shares_bytes(&self, other: &RecordBatch) -> bool {
        Arc::ptr_eq(&self.bytes, &other.bytes) && self.same_stamp(other)
    }

    fn same_stamp(&self, other: &RecordBatch) -> bool {
        (self.header.base_offset, self.header.partition_leader_epoch)
            == (other.header.base_offset, other.header.partition_leader_epoch)
    }

    /// The encoded bytes, with this copy's `baseOffset` and `partitionLeaderEpoch`: the shared
    /// bytes when they hold them, else a stamped copy (segment files, the store journal).
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        let mut head = [0u8; batch::STAMP_END];
        head.copy_from_slice(&self.bytes[..batch::STAMP_END]);
        batch::stamp(&mut head, self.header.base_offset, self.header.partition_leader_epoch);
        if head[..] == self.bytes[..batch::STAMP_END] {
            Cow::Borrowed(&self.bytes)
        } else {
            let mut bytes = self.bytes.to_vec();
            bytes[..batch::STAMP_END].copy_from_slice(&head);
            Cow::Owned(bytes)
        }
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

    /// The fingerprints this batch keeps, in offset order, if this process encoded it (see
    /// [`RecordBatch::for_each_fingerprint`]).
    pub fn kept_fingerprints(&self) -> Option<impl Iterator<Item = u64> + Clone + '_> {
        self.fingerprints.as_ref().map(KnownFingerprints::iter)
    }

    /// Each record's offset and [`Record::fingerprint`] (as [`RecordBatch::for_each_fingerprint`]
    /// finds them). The batch's CRC held when it was made (see the type), so it is not computed again.
    pub fn fingerprints(&self) -> Vec<(i64, u64)> {
        self.collect_fingerprints(false).expect("validated on construction")
    }

    /// [`RecordBatch::fingerprints`] with the consumer's `check.crcs`: a batch made from bytes
    /// has its header and CRC checked again first (see [`RecordBatch::for_each_fingerprint`]).
    pub fn verified_fingerprints(&self) -> Result<Vec<(i64, u64)>, DecodeError> {
        self.collect_fingerprints(true)
    }

    fn collect_fingerprints(&self, verify: bool) -> Result<Vec<(i64, u64)>, DecodeError> {
        let mut out = Vec::with_capacity(self.record_count() as usize);
        self.for_each_fingerprint(verify, |offset, fingerprint| out.push((offset, fingerprint)))?;
        Ok(out)
    }

    /// Calls `f` with each record's offset and [`Record::fingerprint`], in order, with no list
    /// in between (the consumer buffers them as they come). With `verify` (the consumer's
    /// `check.crcs`), a batch made from bytes has its header and CRC checked again first, as
    /// [`batch::validate`] does. A batch this process encoded has its fingerprints already (see
    /// the field); any other is decoded in place, every record checked as it is read. On an
    /// error, `f` has seen the records before the bad one.
    ///
    /// The CRC of a batch this process encoded was computed from these very bytes when it was
    /// sealed, and they cannot change since (they are shared, never written: a stamp lies
    /// before the CRC's range). Checking it again would compute the same value, so for such a
    /// batch `verify` checks it in debug builds (every `cargo test`) only: in the browser, where
    /// CRC-32C is computed in software, that check was about a twelfth of workload (b)'s time
    /// in the speed build (a CPU profile). A batch made from bytes (one the log cleaner
    /// rewrote, a segment file, a stream) is checked again.
    pub fn for_each_fingerprint(&self, verify: bool, mut f: impl FnMut(i64, u64)) -> Result<(), DecodeError> {
        if verify {
            if self.fingerprints.is_none() {
                // The header field was decoded from these bytes; this checks them (CRC included) again.
                batch::decode_header(&self.bytes, 0)?;
            } else {
                debug_assert!(batch::decode_header(&self.bytes, 0).is_ok(), "a sealed batch's CRC holds");
            }
        }
        if let Some(known) = &self.fingerprints {
            debug_assert_eq!(
                self.decoded_fingerprints(),
                Ok(self.offsets().zip(known.iter()).collect::<Vec<_>>()),
                "a batch's fingerprints are its records'"
            );
            self.offsets().zip(known.iter()).for_each(|(offset, fingerprint)| f(offset, fingerprint));
            return Ok(());
        }
        self.for_each_decoded_fingerprint(f)
    }

    /// Every offset of a batch this process encoded (no gaps: only compaction makes them, and
    /// it makes its batches from bytes).
    fn offsets(&self) -> std::ops::Range<i64> {
        self.header.base_offset..self.header.base_offset + i64::from(self.header.records_count)
    }

    fn decoded_fingerprints(&self) -> Result<Vec<(i64, u64)>, DecodeError> {
        let mut out = Vec::new();
        self.for_each_decoded_fingerprint(|offset, fingerprint| out.push((offset, fingerprint)))?;
        Ok(out)
    }

    fn for_each_decoded_fingerprint(&self, mut f: impl FnMut(i64, u64)) -> Result<(), DecodeError> {
        let header = &self.header;
        batch::for_each_record_in_place(&self.bytes, header, 0, |r| {
            f(
                header.offset_at(r.offset_delta),
                batch::fingerprint(header.timestamp_at(r.timestamp_delta), r.key, r.value),
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
                    timestamp_ms: self.header.timestamp_at(r.timestamp_delta),
                    key: r.key,
                    value: r.value,
                    headers: r.headers,
                };
                (self.header.offset_at(r.offset_delta), record)
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
