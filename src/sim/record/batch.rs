//! Record batch v2, byte-exact (Kafka `DefaultRecordBatch`, `DefaultRecord`, shared/reference §4).
//!
//! ```text
//! off  field                 type     off  field             type
//!   0  baseOffset            int64     27  baseTimestamp     int64
//!   8  batchLength           int32     35  maxTimestamp      int64
//!  12  partitionLeaderEpoch  int32     43  producerId        int64
//!  16  magic (= 2)           int8      51  producerEpoch     int16
//!  17  crc (CRC-32C [21,end)) uint32   53  baseSequence      int32
//!  21  attributes            int16     57  recordsCount      int32
//!  23  lastOffsetDelta       int32     61  records…
//! ```
//!
//! The CRC covers attributes to the end, so a leader can stamp `baseOffset` and
//! `partitionLeaderEpoch` into a producer's batch without recomputing it — Kafka does exactly
//! that, and so does [`super::RecordBatch::stamped`].
//!
//! Decoding never panics: any inconsistency is a [`DecodeError`] naming the absolute byte
//! position and the field.

use super::varint::*;
use std::fmt;

/// Bytes before the first record.
pub const RECORD_BATCH_OVERHEAD: usize = 61;
/// Bytes of `baseOffset` + `batchLength` (Kafka `LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = 12;
/// The only magic this codec reads and writes.
pub const MAGIC_V2: i8 = 2;
/// Where the CRC'd region starts.
const CRC_START: usize = 21;

/// Compression codec (attribute bits 0–2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// 0: none.
    None,
    /// 1: gzip.
    Gzip,
    /// 2: snappy.
    Snappy,
    /// 3: lz4.
    Lz4,
    /// 4: zstd.
    Zstd,
}

impl Compression {
    fn from_bits(bits: i16) -> Option<Compression> {
        Some(match bits & 0x07 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            _ => return None,
        })
    }
    /// Kafka's name (`none`, `gzip`, …).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Which timestamp the batch carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    /// Set by the producer.
    CreateTime,
    /// Set by the broker on append (attribute bit 3).
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's name.
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// The 61-byte header, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the `batchLength` field.
    pub batch_length: i32,
    /// Leader epoch stamped on append (-1 if none).
    pub partition_leader_epoch: i32,
    /// Always 2 here.
    pub magic: i8,
    /// Stored CRC-32C.
    pub crc: u32,
    /// Raw attributes.
    pub attributes: i16,
    /// Offset delta of the last record.
    pub last_offset_delta: i32,
    /// Timestamp of the first record (or the delete horizon).
    pub base_timestamp: i64,
    /// Largest timestamp (LogAppendTime when that type is used).
    pub max_timestamp: i64,
    /// Producer id (-1 if none).
    pub producer_id: i64,
    /// Producer epoch (-1 if none).
    pub producer_epoch: i16,
    /// Sequence of the first record (-1 if none).
    pub base_sequence: i32,
    /// Records in the batch.
    pub records_count: i32,
}

impl BatchHeader {
    /// Compression codec (None for an invalid value, which decoding rejects).
    pub fn compression(&self) -> Option<Compression> {
        Compression::from_bits(self.attributes)
    }
    /// CreateTime or LogAppendTime.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & 0x08 != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    /// Transactional bit.
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }
    /// Control-batch bit.
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
    /// Delete-horizon bit (compaction).
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & 0x40 != 0
    }
    /// Offset of the last record. Wrapping, as Java's `long` arithmetic in Kafka's
    /// `DefaultRecordBatch.lastOffset` is: a batch read from bytes may carry any base offset
    /// (it is outside the CRC).
    pub fn last_offset(&self) -> i64 {
        self.offset_at(self.last_offset_delta)
    }
    /// The offset of the record at `offset_delta`, and below the timestamp of one at
    /// `timestamp_delta`: wrapping, as Kafka's `DefaultRecord.readFrom` adds them in Java (a
    /// batch read from bytes may carry any base offset and timestamps).
    pub fn offset_at(&self, offset_delta: i32) -> i64 {
        self.base_offset.wrapping_add(i64::from(offset_delta))
    }
    /// See [`BatchHeader::offset_at`].
    pub fn timestamp_at(&self, timestamp_delta: i64) -> i64 {
        self.base_timestamp.wrapping_add(timestamp_delta)
    }
    /// Offset after the batch (wrapping, as [`BatchHeader::last_offset`]).
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }
    /// `baseSequence + lastOffsetDelta`, wrapping past `i32::MAX` to 0 (-1 if none).
    pub fn last_sequence(&self) -> i32 {
        self.sequence_at(self.last_offset_delta)
    }
    /// The sequence of the record at `offset_delta`: `baseSequence + offset_delta`, wrapping
    /// past `i32::MAX` to 0 as Kafka's `DefaultRecordBatch.incrementSequence` does (-1 if the
    /// batch has none).
    pub fn sequence_at(&self, offset_delta: i32) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = i64::from(self.base_sequence) + i64::from(offset_delta);
        (last % (i64::from(i32::MAX) + 1)) as i32
    }
    /// Whole batch size in bytes.
    pub fn size_in_bytes(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }
}

/// A record header: key (UTF-8 by convention) and nullable value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordHeader {
    /// Header key bytes.
    pub key: Vec<u8>,
    /// Header value, or null.
    pub value: Option<Vec<u8>>,
}

/// One record as the producer created it (timestamp, key, value, headers).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// Timestamp, ms.
    pub timestamp_ms: i64,
    /// Key, or null.
    pub key: Option<Vec<u8>>,
    /// Value, or null (a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers.
    #[serde(default)]
    pub headers: Vec<RecordHeader>,
}

impl Record {
    /// A 64-bit fingerprint of timestamp, key and value: how the loss checker tells
    /// whether the record at an acknowledged offset is still the one that was acknowledged.
    pub fn fingerprint(&self) -> u64 {
        fingerprint(self.timestamp_ms, self.key.as_deref(), self.value.as_deref())
    }
}

/// [`Record::fingerprint`] of a record given by its parts.
pub fn fingerprint(timestamp_ms: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> u64 {
    use std::hash::Hasher;
    let mut h = crate::sim::stable_hash::StableHasher::default();
    h.write_i64(timestamp_ms);
    for part in [key, value] {
        match part {
            Some(bytes) => {
                h.write_u64(bytes.len() as u64);
                h.write_wide(bytes);
            }
            None => h.write_u64(u64::MAX),
        }
    }
    h.finish()
}

/// A record as stored: its deltas from the batch header plus its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// Offset minus the batch's base offset.
    pub offset_delta: i32,
    /// Timestamp minus the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Key, or null.
    pub key: Option<Vec<u8>>,
    /// Value, or null.
    pub value: Option<Vec<u8>>,
    /// Headers.
    pub headers: Vec<RecordHeader>,
}

/// A decoding failure: where, in which field, and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("byte {position} ({field}): {problem}")]
pub struct DecodeError {
    /// Absolute byte position in the input.
    pub position: usize,
    /// The field being read.
    pub field: &'static str,
    /// What was wrong.
    pub problem: String,
}

fn err(position: usize, field: &'static str, problem: impl Into<String>) -> DecodeError {
    DecodeError { position, field, problem: problem.into() }
}

/// Settings of a batch being built (Kafka `MemoryRecordsBuilder` arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchSpec {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Leader epoch (-1 if none).
    pub partition_leader_epoch: i32,
    /// Producer id (-1 if none).
    pub producer_id: i64,
    /// Producer epoch (-1 if none).
    pub producer_epoch: i16,
    /// First sequence (-1 if none).
    pub base_sequence: i32,
    /// Transactional bit.
    pub is_transactional: bool,
    /// Control bit.
    pub is_control: bool,
    /// Timestamp type.
    pub timestamp_type: TimestampType,
    /// The broker's append time, used as maxTimestamp with LogAppendTime.
    pub log_append_time: i64,
}

impl Default for BatchSpec {
    fn default() -> Self {
        BatchSpec {
            base_offset: 0,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            is_transactional: false,
            is_control: false,
            timestamp_type: TimestampType::CreateTime,
            log_append_time: -1,
        }
    }
}

fn attributes(spec: &BatchSpec) -> i16 {
    let mut a = 0i16;
    if spec.timestamp_type == TimestampType::LogAppendTime {
        a |= 0x08;
    }
    if spec.is_transactional {
        a |= 0x10;
    }
    if spec.is_control {
        a |= 0x20;
    }
    a
}

/// Builds a batch from records at consecutive offsets, as `MemoryRecordsBuilder` does:
/// baseTimestamp = the first record's timestamp, maxTimestamp = the largest record timestamp
/// (or `log_append_time` with LogAppendTime). Panics on an empty record list (a bug).
pub fn build<R: std::borrow::Borrow<Record>>(spec: &BatchSpec, records: &[R]) -> Vec<u8> {
    RecordsBuilder::of(records).finish(spec)
}

/// Kafka's `MemoryRecordsBuilder` for an uncompressed v2 batch: each record is encoded into the
/// buffer when it is appended, after a header left blank, and [`RecordsBuilder::finish`] writes
/// the header and CRC around them. The producer's batches are built this way, so a record is
/// encoded once, while it is still in the cache, and never copied again on its way out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordsBuilder {
    /// The header's room, then the records; empty until the first record (so an unused
    /// builder allocates nothing) and after [`RecordsBuilder::finish`] moved it out.
    buf: Vec<u8>,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    /// Each record's [`Record::fingerprint`], computed as it is appended (the producer needs
    /// it then); [`RecordBatch`](super::RecordBatch) keeps them.
    fingerprints: Fingerprints,
}

/// Each record's [`Record::fingerprint`] in a batch, in offset order: the first held inline,
/// so that a batch of one record (at a low rate, most batches) allocates nothing for them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fingerprints {
    first: Option<u64>,
    rest: Vec<u64>,
}

impl Fingerprints {
    fn push(&mut self, fingerprint: u64) {
        match self.first {
            None => self.first = Some(fingerprint),
            Some(_) => self.rest.push(fingerprint),
        }
    }

    fn iter(&self) -> impl Iterator<Item = u64> + Clone + '_ {
        self.first.into_iter().chain(self.rest.iter().copied())
    }

    /// How many.
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The first and the rest, or `None` for no records.
    pub(crate) fn into_parts(self) -> Option<(u64, Vec<u64>)> {
        self.first.map(|first| (first, self.rest))
    }

    /// The list made of [`Fingerprints::into_parts`].
    pub(crate) fn from_parts(first: u64, rest: Vec<u64>) -> Fingerprints {
        Fingerprints { first: Some(first), rest }
    }
}

impl Default for RecordsBuilder {
    fn default() -> Self {
        RecordsBuilder::new()
    }
}

impl RecordsBuilder {
    /// An empty builder.
    pub fn new() -> RecordsBuilder {
        RecordsBuilder {
            buf: Vec::new(),
            count: 0,
            base_timestamp: 0,
            max_timestamp: i64::MIN,
            fingerprints: Fingerprints::default(),
        }
    }

    /// A builder with `records` appended, in order.
    pub fn of<R: std::borrow::Borrow<Record>>(records: &[R]) -> RecordsBuilder {
        let mut builder = RecordsBuilder::new();
        for r in records {
            builder.append(r.borrow());
        }
        builder
    }

    /// Records appended.
    pub fn record_count(&self) -> u32 {
        self.count as u32
    }

    /// The batch's size so far: the header and every record appended (before
    /// [`RecordsBuilder::finish`] moves the bytes out; the header's size after).
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len().max(RECORD_BATCH_OVERHEAD)
    }

    /// Makes room for `bytes` more, in `records` more records, without growing again on the way.
    pub fn reserve(&mut self, bytes: usize, records: usize) {
        self.buf.reserve(bytes);
        self.fingerprints.rest.reserve(records);
    }

    /// Each appended record's [`Record::fingerprint`], in order (none after
    /// [`RecordsBuilder::finish`]).
    pub fn fingerprints(&self) -> impl Iterator<Item = u64> + Clone + '_ {
        self.fingerprints.iter()
    }

    fn fields<'r>(&self, r: &'r Record) -> RecordFields<'r> {
        let base = if self.count == 0 { r.timestamp_ms } else { self.base_timestamp };
        RecordFields {
            offset_delta: self.count,
            // Wrapping, as Kafka's `timestamp - baseTimestamp` in Java is: the delta it writes
            // for timestamps 2^63 apart is the wrapped one, and reading adds it back.
            timestamp_delta: r.timestamp_ms.wrapping_sub(base),
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            headers: &r.headers,
        }
    }

    /// The length of `r`'s body appended next (everything after its length varint): what
    /// [`RecordsBuilder::append_body`] takes; [`size_of_body`] of it is the bytes `r` would
    /// take appended next (`DefaultRecord.sizeInBytes` at its deltas).
    pub fn next_record_body_len(&self, r: &Record) -> usize {
        record_body_len(&self.fields(r))
    }

    /// Encodes `r` as the next record; returns the bytes it took.
    pub fn append(&mut self, r: &Record) -> usize {
        let body = self.next_record_body_len(r);
        self.append_body(r, body)
    }

    /// [`RecordsBuilder::append`] for a caller that has sized the record already:
    /// `body` is [`RecordsBuilder::next_record_body_len`] of `r`.
    pub fn append_body(&mut self, r: &Record, body: usize) -> usize {
        assert!(self.count == 0 || self.buf.len() > RECORD_BATCH_OVERHEAD, "appending to a finished batch");
        let fields = self.fields(r);
        debug_assert_eq!(body, record_body_len(&fields), "the body length of this record");
        if self.count == 0 {
            // One allocation for the header and the first record: at a low rate that is all a
            // batch holds.
            self.buf.reserve_exact(RECORD_BATCH_OVERHEAD + size_of_body(body));
            self.buf.resize(RECORD_BATCH_OVERHEAD, 0);
        }
        let before = self.buf.len();
        write_record_body(&mut self.buf, &fields, body);
        if self.count == 0 {
            self.base_timestamp = r.timestamp_ms;
        }
        self.count += 1;
        self.max_timestamp = self.max_timestamp.max(r.timestamp_ms);
        self.fingerprints.push(r.fingerprint());
        self.buf.len() - before
    }

    /// The records appended, decoded again (a split re-packs them).
    pub fn records(&self) -> Vec<Record> {
        let mut r = Reader { buf: &self.buf, pos: RECORD_BATCH_OVERHEAD, origin: 0 };
        (0..self.count)
            .map(|_| {
                let d = decode_record(&mut r).expect("a builder's own records decode").into_stored();
                Record {
                    timestamp_ms: self.base_timestamp.wrapping_add(d.timestamp_delta),
                    key: d.key,
                    value: d.value,
                    headers: d.headers,
                }
            })
            .collect()
    }

    /// Writes the header for `spec` and the CRC, and moves the finished batch out; the records'
    /// fingerprints are dropped ([`RecordsBuilder::finish_with_fingerprints`] keeps them, for
    /// `reopen`). Panics with no record appended, or when finished twice
    /// without a reopen (bugs).
    pub fn finish(&mut self, spec: &BatchSpec) -> Vec<u8> {
        assert!(self.count > 0, "a batch has at least one record");
        assert!(self.buf.len() > RECORD_BATCH_OVERHEAD, "finished twice");
        let max_timestamp = match spec.timestamp_type {
            TimestampType::LogAppendTime => spec.log_append_time,
            TimestampType::CreateTime => self.max_timestamp,
        };
        let header = BatchHeader {
            base_offset: spec.base_offset,
            batch_length: 0,
            partition_leader_epoch: spec.partition_leader_epoch,
            magic: MAGIC_V2,
            crc: 0,
            attributes: attributes(spec),
            last_offset_delta: self.count - 1,
            base_timestamp: self.base_timestamp,
            max_timestamp,
            producer_id: spec.producer_id,
            producer_epoch: spec.producer_epoch,
            base_sequence: spec.base_sequence,
            records_count: self.count,
        };
        seal(&mut self.buf, &header, self.count);
        // Dropped: `finish_with_fingerprints` keeps them.
        self.fingerprints = Fingerprints::default();
        // The bytes go on to every replica's log (stamped copies share them). A batch closed
        // early (by `linger.ms`, say) gives back the room reserved for a full one; a full batch
        // keeps its last few bytes, as giving them back leaves a hole beside bytes that live
        // until retention (in the browser's allocator that cost 2.5 MiB at 10 M records).
        if self.buf.capacity() - self.buf.len() > self.buf.len() / 8 {
            self.buf.shrink_to_fit();
        }
        std::mem::take(&mut self.buf)
    }

    /// [`RecordsBuilder::finish`], with the records' fingerprints, in order.
    pub fn finish_with_fingerprints(&mut self, spec: &BatchSpec) -> (Vec<u8>, Fingerprints) {
        let fingerprints = std::mem::take(&mut self.fingerprints);
        (self.finish(spec), fingerprints)
    }

    /// Takes back the bytes and fingerprints [`RecordsBuilder::finish_with_fingerprints`] gave
    /// out, to finish them again with other producer state (Kafka
    /// `reopenAndRewriteProducerState` after an epoch bump).
    ///
    /// # Panics
    /// If the builder was not finished, or `fingerprints` are not one per record appended.
    pub(crate) fn reopen(&mut self, bytes: Vec<u8>, fingerprints: Fingerprints) {
        assert!(self.buf.is_empty() && bytes.len() >= RECORD_BATCH_OVERHEAD, "reopening what was not finished");
        assert_eq!(fingerprints.len(), self.count as usize, "reopening with one fingerprint per record");
        self.buf = bytes;
        self.fingerprints = fingerprints;
    }
}

/// Writes a batch from a header template and stored records; `batch_length`, `magic`, `crc` and
/// `records_count` are computed. Compaction uses this to keep the original header fields.
pub fn write(header: &BatchHeader, records: &[StoredRecord]) -> Vec<u8> {
    write_fields(header, records.iter().map(StoredRecord::fields))
}

/// One record's fields, borrowed from a [`Record`] or a [`StoredRecord`], so a batch is written
/// without copying keys and values first.
#[derive(Clone, Copy)]
struct RecordFields<'a> {
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: &'a [RecordHeader],
}

impl StoredRecord {
    fn fields(&self) -> RecordFields<'_> {
        RecordFields {
            offset_delta: self.offset_delta,
            timestamp_delta: self.timestamp_delta,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: &self.headers,
        }
    }
}

fn write_fields<'a>(header: &BatchHeader, records: impl ExactSizeIterator<Item = RecordFields<'a>> + Clone) -> Vec<u8> {
    let size: usize = records.clone().map(|r| record_size(&r)).sum();
    let mut out = Vec::with_capacity(RECORD_BATCH_OVERHEAD + size);
    out.resize(RECORD_BATCH_OVERHEAD, 0);
    let count = records.len() as i32;
    for r in records {
        write_record(&mut out, &r);
    }
    seal(&mut out, header, count);
    out
}

/// Writes `header` over the first [`RECORD_BATCH_OVERHEAD`] bytes of `out`, whose records
/// follow, with `batchLength`, magic, `recordsCount` and the CRC computed.
fn seal(out: &mut [u8], header: &BatchHeader, records_count: i32) {
    let batch_length = (out.len() - LOG_OVERHEAD) as i32;
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        out[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&header.base_offset.to_be_bytes());
    put(&batch_length.to_be_bytes());
    put(&header.partition_leader_epoch.to_be_bytes());
    put(&[MAGIC_V2 as u8]);
    put(&[0; 4]); // crc, below
    put(&header.attributes.to_be_bytes());
    put(&header.last_offset_delta.to_be_bytes());
    put(&header.base_timestamp.to_be_bytes());
    put(&header.max_timestamp.to_be_bytes());
    put(&header.producer_id.to_be_bytes());
    put(&header.producer_epoch.to_be_bytes());
    put(&header.base_sequence.to_be_bytes());
    put(&records_count.to_be_bytes());
    debug_assert_eq!(at, RECORD_BATCH_OVERHEAD);
    let crc = super::crc::crc32c(&out[CRC_START..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

/// Size of a record's body (everything after its length varint).
fn record_body_len(r: &RecordFields) -> usize {
    let bytes = |b: Option<&[u8]>| b.map_or(1, |b| varint_len(b.len() as i32) + b.len());
    let headers: usize = r.headers.iter().map(|h| bytes(Some(&h.key)) + bytes(h.value.as_deref())).sum();
    1 + varlong_len(r.timestamp_delta)
        + varint_len(r.offset_delta)
        + bytes(r.key)
        + bytes(r.value)
        + varint_len(r.headers.len() as i32)
        + headers
}

/// Bytes a record takes in a batch (Kafka `DefaultRecord.sizeInBytes`).
pub fn record_size_in_bytes(r: &StoredRecord) -> usize {
    record_size(&r.fields())
}

/// [`record_size_in_bytes`] of a record given by its borrowed fields (no copy).
pub fn borrowed_record_size(
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[RecordHeader],
) -> usize {
    record_size(&RecordFields { offset_delta, timestamp_delta, key, value, headers })
}

fn record_size(r: &RecordFields) -> usize {
    size_of_body(record_body_len(r))
}

/// Bytes a record whose body is `body` bytes takes: its length varint and the body.
pub fn size_of_body(body: usize) -> usize {
    varint_len(body as i32) + body
}

fn write_record(out: &mut Vec<u8>, r: &RecordFields) {
    write_record_body(out, r, record_body_len(r));
}

/// [`write_record`] with the body's length already known.
fn write_record_body(out: &mut Vec<u8>, r: &RecordFields, body_len: usize) {
    put_varint(out, body_len as i32);
    out.push(0); // attributes: unused
    put_varlong(out, r.timestamp_delta);
    put_varint(out, r.offset_delta);
    put_bytes(out, r.key);
    put_bytes(out, r.value);
    put_varint(out, r.headers.len() as i32);
    for h in r.headers {
        put_bytes(out, Some(&h.key));
        put_bytes(out, h.value.as_deref());
    }
}

/// Reads big-endian integers at absolute positions, with the field name for errors.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    origin: usize,
}

impl<'a> Reader<'a> {
    fn here(&self) -> usize {
        self.origin + self.pos
    }
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end =
            end.ok_or_else(|| err(self.here(), field, format!("needs {n} bytes, {} left", self.buf.len() - self.pos)))?;
        let slice = &self.buf[self.pos..end];
        self.pos = end;
        Ok(slice)
    }
    fn varint(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        let at = self.here();
        let (v, n) = get_varint(&self.buf[self.pos..]).map_err(|e| err(at, field, format!("bad varint: {e:?}")))?;
        self.pos += n;
        Ok(v)
    }
    fn varlong(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        let at = self.here();
        let (v, n) = get_varlong(&self.buf[self.pos..]).map_err(|e| err(at, field, format!("bad varlong: {e:?}")))?;
        self.pos += n;
        Ok(v)
    }
    fn bytes(&mut self, field: &'static str, nullable: bool) -> Result<Option<&'a [u8]>, DecodeError> {
        let at = self.here();
        let len = self.varint(field)?;
        match len {
            -1 if nullable => Ok(None),
            n if n < 0 => Err(err(at, field, format!("invalid length {n}"))),
            n => Ok(Some(self.take(n as usize, field)?)),
        }
    }
}

fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes(b.try_into().expect("8 bytes"))
}
fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes(b.try_into().expect("4 bytes"))
}
fn be_i16(b: &[u8]) -> i16 {
    i16::from_be_bytes(b.try_into().expect("2 bytes"))
}

/// Decodes the header of the batch at the start of `buf` (which sits at absolute position
/// `origin` in its file) and checks lengths, magic, codec and CRC. Does not read the records.
pub fn decode_header(buf: &[u8], origin: usize) -> Result<BatchHeader, DecodeError> {
    read_header(buf, origin, true)
}

/// [`decode_header`] of a batch [`seal`] has just checksummed, without computing its CRC a
/// second time from the same bytes ([`crate::sim::record::RecordBatch::finish`] still checks it
/// in debug builds).
pub(super) fn decode_sealed_header(buf: &[u8]) -> Result<BatchHeader, DecodeError> {
    read_header(buf, 0, false)
}

/// [`decode_header`], with the CRC checked only when `check_crc`.
fn read_header(buf: &[u8], origin: usize, check_crc: bool) -> Result<BatchHeader, DecodeError> {
    if buf.len() < RECORD_BATCH_OVERHEAD {
        return Err(err(
            origin + buf.len(),
            "header",
            format!("truncated: {} of {RECORD_BATCH_OVERHEAD} header bytes", buf.len()),
        ));
    }
    let h = BatchHeader {
        base_offset: be_i64(&buf[0..8]),
        batch_length: be_i32(&buf[8..12]),
        partition_leader_epoch: be_i32(&buf[12..16]),
        magic: buf[16] as i8,
        crc: u32::from_be_bytes(buf[17..21].try_into().expect("4 bytes")),
        attributes: be_i16(&buf[21..23]),
        last_offset_delta: be_i32(&buf[23..27]),
        base_timestamp: be_i64(&buf[27..35]),
        max_timestamp: be_i64(&buf[35..43]),
        producer_id: be_i64(&buf[43..51]),
        producer_epoch: be_i16(&buf[51..53]),
        base_sequence: be_i32(&buf[53..57]),
        records_count: be_i32(&buf[57..61]),
    };
    let min_len = (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32;
    if h.batch_length < min_len {
        return Err(err(origin + 8, "batchLength", format!("{} is below the minimum {min_len}", h.batch_length)));
    }
    if h.size_in_bytes() > buf.len() {
        return Err(err(
            origin + 8,
            "batchLength",
            format!("batch of {} bytes but only {} available (torn write?)", h.size_in_bytes(), buf.len()),
        ));
    }
    if h.magic != MAGIC_V2 {
        return Err(err(origin + 16, "magic", format!("{} (only magic 2 is supported)", h.magic)));
    }
    if check_crc {
        let computed = super::crc::crc32c(&buf[CRC_START..h.size_in_bytes()]);
        if computed != h.crc {
            return Err(err(origin + 17, "crc", format!("stored {:#010x}, computed {computed:#010x}", h.crc)));
        }
    }
    match h.compression() {
        Some(Compression::None) => {}
        Some(c) => return Err(err(origin + 21, "attributes.compression", format!("unsupported codec: {}", c.name()))),
        None => {
            return Err(err(origin + 21, "attributes.compression", format!("invalid codec id {}", h.attributes & 0x07)))
        }
    }
    if h.records_count < 0 {
        return Err(err(origin + 57, "recordsCount", format!("negative: {}", h.records_count)));
    }
    if h.last_offset_delta < 0 {
        return Err(err(origin + 23, "lastOffsetDelta", format!("negative: {}", h.last_offset_delta)));
    }
    Ok(h)
}

/// Decodes and fully validates the batch at the start of `buf`; returns it and its size.
pub fn decode(buf: &[u8], origin: usize) -> Result<(BatchHeader, Vec<StoredRecord>), DecodeError> {
    let header = decode_header(buf, origin)?;
    let mut records = Vec::with_capacity((header.records_count as usize).min(header.size_in_bytes() / 7));
    for_each_record_in_place(buf, &header, origin, |r| records.push(r.into_stored()))?;
    Ok((header, records))
}

/// A record decoded in place: its data borrowed from the batch's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Offset minus the batch's base offset.
    pub offset_delta: i32,
    /// Timestamp minus the batch's base timestamp, ms.
    pub timestamp_delta: i64,
    /// Key, or null.
    pub key: Option<&'a [u8]>,
    /// Value, or null.
    pub value: Option<&'a [u8]>,
    /// Headers: key and value.
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

impl RecordRef<'_> {
    fn into_stored(self) -> StoredRecord {
        StoredRecord {
            offset_delta: self.offset_delta,
            timestamp_delta: self.timestamp_delta,
            key: self.key.map(<[u8]>::to_vec),
            value: self.value.map(<[u8]>::to_vec),
            headers: self
                .headers
                .into_iter()
                .map(|(k, v)| RecordHeader { key: k.to_vec(), value: v.map(<[u8]>::to_vec) })
                .collect(),
        }
    }
}

/// Checks one batch as [`decode`] does (header, CRC, every record) without copying any
/// record: every batch read from bytes (a segment file, a stream) goes through it.
pub fn validate(buf: &[u8], origin: usize) -> Result<BatchHeader, DecodeError> {
    let header = decode_header(buf, origin)?;
    for_each_record_in_place(buf, &header, origin, |_| ())?;
    Ok(header)
}

/// The records of the batch at the start of `buf`, whose `header` [`decode_header`] already
/// checked (the CRC included), decoded in place (no record's data copied) and validated one at
/// a time: `f` sees each record as it is decoded. On an error, `f` has seen the records before
/// the bad one.
pub fn for_each_record_in_place<'a>(
    buf: &'a [u8],
    header: &BatchHeader,
    origin: usize,
    mut f: impl FnMut(RecordRef<'a>),
) -> Result<(), DecodeError> {
    let end = header.size_in_bytes();
    let mut r = Reader { buf: &buf[..end], pos: RECORD_BATCH_OVERHEAD, origin };
    for _ in 0..header.records_count {
        f(decode_record(&mut r)?);
    }
    if r.pos != end {
        return Err(err(
            r.here(),
            "records",
            format!("{} bytes left after recordsCount={} records", end - r.pos, header.records_count),
        ));
    }
    Ok(())
}

fn decode_record<'a>(r: &mut Reader<'a>) -> Result<RecordRef<'a>, DecodeError> {
    if let Some((record, used)) = decode_record_fast(&r.buf[r.pos..]) {
        r.pos += used;
        return Ok(record);
    }
    decode_record_checked(r)
}

/// [`decode_record`] of a well-formed record without headers (every record a workload
/// writes), from the start of `buf`: the record and the bytes it took, the same as the checked
/// path; `None` for anything else, which the checked path then decodes or reports. Worth its
/// own path: every record of a batch made from bytes is decoded here when it is read (the
/// consumer's fingerprints, the end-of-run checks), and the checked path's per-field
/// bookkeeping for error messages was half of a record's decode.
fn decode_record_fast(buf: &[u8]) -> Option<(RecordRef<'_>, usize)> {
    fn varint(b: &[u8], pos: &mut usize) -> Option<i32> {
        let (v, n) = get_varint(b.get(*pos..)?).ok()?;
        *pos += n;
        Some(v)
    }
    fn bytes<'a>(b: &'a [u8], pos: &mut usize) -> Option<Option<&'a [u8]>> {
        match varint(b, pos)? {
            -1 => Some(None),
            n => {
                let end = pos.checked_add(usize::try_from(n).ok()?)?;
                let slice = b.get(*pos..end)?;
                *pos = end;
                Some(Some(slice))
            }
        }
    }
    let mut pos = 0;
    let length = usize::try_from(varint(buf, &mut pos)?).ok()?;
    let end = pos.checked_add(length)?;
    // Every field is read within the record's stated length; one that overruns it, or a
    // record that ends short of it, goes to the checked path for its error.
    let body = buf.get(..end)?;
    pos += 1; // attributes: unused
    let (timestamp_delta, n) = get_varlong(body.get(pos..)?).ok()?;
    pos += n;
    let offset_delta = varint(body, &mut pos)?;
    let key = bytes(body, &mut pos)?;
    let value = bytes(body, &mut pos)?;
    let header_count = varint(body, &mut pos)?;
    (header_count == 0 && pos == end)
        .then_some((RecordRef { offset_delta, timestamp_delta, key, value, headers: Vec::new() }, end))
}

/// A record decoded from the start of a buffer, and the bytes it took.
#[cfg(test)]
pub(super) type DecodedAt<'a> = (RecordRef<'a>, usize);

/// Both decodings of the record at the start of `buf`, for the test that they agree.
#[cfg(test)]
pub(super) fn decode_record_both(buf: &[u8]) -> (Option<DecodedAt<'_>>, Result<DecodedAt<'_>, DecodeError>) {
    let mut r = Reader { buf, pos: 0, origin: 0 };
    let checked = decode_record_checked(&mut r).map(|record| (record, r.pos));
    (decode_record_fast(buf), checked)
}

/// [`decode_record`] field by field, each error naming its field and absolute offset.
fn decode_record_checked<'a>(r: &mut Reader<'a>) -> Result<RecordRef<'a>, DecodeError> {
    let at = r.here();
    let length = r.varint("record.length")?;
    if length < 0 || length as usize > r.buf.len() - r.pos {
        return Err(err(at, "record.length", format!("{length} does not fit in the batch")));
    }
    let body_start = r.pos;
    r.take(1, "record.attributes")?;
    let timestamp_delta = r.varlong("record.timestampDelta")?;
    let offset_delta = r.varint("record.offsetDelta")?;
    let key = r.bytes("record.key", true)?;
    let value = r.bytes("record.value", true)?;
    let count_at = r.here();
    let header_count = r.varint("record.headerCount")?;
    if header_count < 0 {
        return Err(err(count_at, "record.headerCount", format!("negative: {header_count}")));
    }
    let mut headers = Vec::new();
    for _ in 0..header_count {
        let key = r.bytes("header.key", false)?.expect("non-nullable");
        let value = r.bytes("header.value", true)?;
        headers.push((key, value));
    }
    if r.pos - body_start != length as usize {
        return Err(err(at, "record.length", format!("says {length} bytes, record used {}", r.pos - body_start)));
    }
    Ok(RecordRef { offset_delta, timestamp_delta, key, value, headers })
}

/// The bytes [`stamp`] writes to end here: `baseOffset` (0..8), `batchLength` (8..12, left as
/// it is) and `partitionLeaderEpoch` (12..16).
pub const STAMP_END: usize = 16;

/// Overwrites `baseOffset` and `partitionLeaderEpoch` in an encoded batch, or in its first
/// [`STAMP_END`] bytes (both outside the CRC).
pub fn stamp(bytes: &mut [u8], base_offset: i64, partition_leader_epoch: i32) {
    assert!(bytes.len() >= STAMP_END, "stamping a truncated batch");
    bytes[0..8].copy_from_slice(&base_offset.to_be_bytes());
    bytes[12..16].copy_from_slice(&partition_leader_epoch.to_be_bytes());
}

impl fmt::Display for BatchHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} {}: {} size: {} magic: {} compresscodec: {} crc: {}",
            self.base_offset,
            self.last_offset(),
            self.records_count,
            self.base_sequence,
            self.last_sequence(),
            self.producer_id,
            self.producer_epoch,
            self.partition_leader_epoch,
            self.is_transactional(),
            self.is_control(),
            self.timestamp_type().name(),
            self.max_timestamp,
            self.size_in_bytes(),
            self.magic,
            self.compression().map_or("invalid", Compression::name),
            self.crc
        )
    }
}
