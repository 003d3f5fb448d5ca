//! Kafka protocol values exchanged between nodes: topic-partitions, records, batches, requests
//! and responses. Messages are plain values; the network moves them, nobody shares them.
//!
//! Field names follow Kafka's request schemas (`ProduceRequest`, `FetchRequest`) so a reader
//! who knows the wire protocol recognises them. The byte-exact record batch v2 encoding lives
//! in the log storage module; here a batch is the decoded form.

use super::node::NodeId;
use super::time::SimDuration;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A topic name, cheap to clone.
pub type TopicName = Arc<str>;

/// A topic-partition, shown as Kafka shows it: `orders-0`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tp {
    /// Topic name.
    pub topic: TopicName,
    /// Partition number.
    pub partition: u32,
}

impl Tp {
    /// The partition `partition` of `topic`.
    pub fn new(topic: &TopicName, partition: u32) -> Tp {
        Tp {
            topic: topic.clone(),
            partition,
        }
    }
}

impl fmt::Display for Tp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// One record as a producer created it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// CreateTime timestamp, ms.
    pub timestamp_ms: i64,
    /// Key bytes, or null.
    pub key: Option<Vec<u8>>,
    /// Value bytes, or null (a tombstone).
    pub value: Option<Vec<u8>>,
}

/// A batch of records for one partition (decoded record batch v2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Offset of the first record; assigned by the leader on append.
    pub base_offset: i64,
    /// Leader epoch stamped by the leader on append (-1 until then).
    pub partition_leader_epoch: i32,
    /// Which producer made it (for tracing acknowledged records).
    pub producer: NodeId,
    /// Producer-local batch number, unique per producer.
    pub batch_id: u64,
    /// The records.
    pub records: Vec<Record>,
}

impl Batch {
    /// Number of records.
    pub fn record_count(&self) -> u32 {
        self.records.len() as u32
    }
    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.record_count()) - 1
    }
    /// Size on the wire: the 61-byte v2 header plus each record's v2 size.
    pub fn size_bytes(&self) -> u32 {
        let base_ts = self.records.first().map_or(0, |r| r.timestamp_ms);
        let records: u32 = self
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                record_size_v2(
                    i as i32,
                    r.timestamp_ms - base_ts,
                    r.key.as_deref(),
                    r.value.as_deref(),
                )
            })
            .sum();
        61 + records
    }
}

/// Bytes of a ZigZag varint holding `v` (Kafka `ByteUtils.sizeOfVarint`).
pub fn varint_size(v: i32) -> u32 {
    varlong_size(i64::from(v))
}

/// Bytes of a ZigZag varlong holding `v` (Kafka `ByteUtils.sizeOfVarlong`).
pub fn varlong_size(v: i64) -> u32 {
    let mut zigzag = ((v << 1) ^ (v >> 63)) as u64;
    let mut bytes = 1;
    while zigzag >= 0x80 {
        zigzag >>= 7;
        bytes += 1;
    }
    bytes
}

/// Size of one v2 record with no headers (Kafka `DefaultRecord.sizeInBytes`).
pub fn record_size_v2(
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> u32 {
    let field = |b: Option<&[u8]>| b.map_or(1, |b| varint_size(b.len() as i32) + b.len() as u32);
    let body = 1
        + varlong_size(timestamp_delta)
        + varint_size(offset_delta)
        + field(key)
        + field(value)
        + varint_size(0);
    body + varint_size(body as i32)
}

/// `acks`: how many acknowledgements the producer requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acks {
    /// `acks=0`: fire and forget; no response.
    None,
    /// `acks=1`: the leader's local append.
    Leader,
    /// `acks=all` (`-1`): the whole ISR.
    All,
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        })
    }
}

/// Kafka error codes the model produces, with Kafka's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Success.
    None,
    /// The requested offset is outside the log.
    OffsetOutOfRange,
    /// The broker does not host this partition.
    UnknownTopicOrPartition,
    /// The broker is not the leader for this partition.
    NotLeaderOrFollower,
    /// The request timed out (client side, or in the produce purgatory).
    RequestTimedOut,
    /// The ISR is smaller than `min.insync.replicas`; nothing was appended.
    NotEnoughReplicas,
    /// The ISR shrank below `min.insync.replicas` after the append.
    NotEnoughReplicasAfterAppend,
}

impl ErrorCode {
    /// Whether a producer may retry after this error.
    pub fn is_retriable(self) -> bool {
        !matches!(self, ErrorCode::None)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        f.write_str(text.as_deref().unwrap_or("UNKNOWN"))
    }
}

/// A produce request: batches for partitions led by the destination broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProduceRequest {
    /// Correlation id, unique per client.
    pub correlation_id: u64,
    /// Required acknowledgements.
    pub acks: Acks,
    /// How long the broker may wait for replication (the producer's `request.timeout.ms`).
    pub timeout: SimDuration,
    /// One batch per partition.
    pub batches: Vec<(Tp, Arc<Batch>)>,
}

/// Per-partition result of a produce.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducePartitionResponse {
    /// The partition.
    pub tp: Tp,
    /// Outcome.
    pub error: ErrorCode,
    /// Offset assigned to the batch's first record, -1 on error.
    pub base_offset: i64,
}

/// A fetch request, from a follower (`replica_id` set) or a consumer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FetchRequest {
    /// Correlation id, unique per client.
    pub correlation_id: u64,
    /// The fetching follower's broker id; `None` for consumers.
    pub replica_id: Option<u16>,
    /// `fetch.max.wait.ms` / `replica.fetch.wait.max.ms`.
    pub max_wait: SimDuration,
    /// `fetch.min.bytes` / `replica.fetch.min.bytes`.
    pub min_bytes: u32,
    /// Partitions and the offset to fetch from (-1 = the latest, i.e. the high watermark).
    pub partitions: Vec<(Tp, i64)>,
}

/// Per-partition data of a fetch response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FetchPartitionResponse {
    /// The partition.
    pub tp: Tp,
    /// Outcome.
    pub error: ErrorCode,
    /// The leader's high watermark.
    pub high_watermark: i64,
    /// The offset this response starts at (resolves -1 requests).
    pub fetch_offset: i64,
    /// Whole batches at or after the fetch offset.
    pub batches: Vec<Arc<Batch>>,
}

/// Every message nodes exchange.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "api", rename_all = "snake_case")]
pub enum Message {
    /// Producer → leader.
    ProduceRequest(ProduceRequest),
    /// Leader → producer.
    ProduceResponse {
        /// Matches the request.
        correlation_id: u64,
        /// One result per partition.
        responses: Vec<ProducePartitionResponse>,
    },
    /// Follower or consumer → leader.
    FetchRequest(FetchRequest),
    /// Leader → follower or consumer.
    FetchResponse {
        /// Matches the request.
        correlation_id: u64,
        /// One entry per requested partition.
        responses: Vec<FetchPartitionResponse>,
    },
}

impl Message {
    /// Kafka's API name for the message, e.g. `Produce`, `FetchResponse`.
    pub fn api_name(&self) -> &'static str {
        match self {
            Message::ProduceRequest(_) => "Produce",
            Message::ProduceResponse { .. } => "ProduceResponse",
            Message::FetchRequest(_) => "Fetch",
            Message::FetchResponse { .. } => "FetchResponse",
        }
    }

    /// Approximate bytes on the wire: batches plus a fixed request overhead.
    pub fn size_bytes(&self) -> u32 {
        const OVERHEAD: u32 = 40;
        let data: u32 = match self {
            Message::ProduceRequest(r) => r.batches.iter().map(|(_, b)| b.size_bytes()).sum(),
            Message::FetchResponse { responses, .. } => responses
                .iter()
                .flat_map(|p| p.batches.iter())
                .map(|b| b.size_bytes())
                .sum(),
            _ => 0,
        };
        OVERHEAD + data
    }

    /// Number of records carried.
    pub fn record_count(&self) -> u32 {
        match self {
            Message::ProduceRequest(r) => r.batches.iter().map(|(_, b)| b.record_count()).sum(),
            Message::FetchResponse { responses, .. } => responses
                .iter()
                .flat_map(|p| p.batches.iter())
                .map(|b| b.record_count())
                .sum(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn record_sizes_match_kafka_vectors() {
        // kafka-vectors-public.json record_size_estimates: DefaultRecord.sizeInBytes(0, 0, ...).
        assert_eq!(record_size_v2(0, 0, None, Some(&[])), 7);
        assert_eq!(record_size_v2(0, 0, None, Some(&[0])), 8);
        assert_eq!(record_size_v2(0, 0, Some(&[]), Some(&[])), 7);
    }

    #[test]
    fn batch_size_matches_the_kafka_checksum_batch() {
        // MemoryRecordsTest#testChecksum: two records, 97 bytes in all.
        let rec = |ts, k: &str, v: &str| Record {
            timestamp_ms: ts,
            key: Some(k.into()),
            value: Some(v.into()),
        };
        let batch = Batch {
            base_offset: 0,
            partition_leader_epoch: -1,
            producer: NodeId::producer(1),
            batch_id: 0,
            records: vec![rec(283843, "key1", "value1"), rec(1234, "key2", "value2")],
        };
        assert_eq!(batch.size_bytes(), 97);
        assert_eq!(batch.last_offset(), 1);
    }

    #[test]
    fn varint_sizes_follow_zigzag() {
        assert_eq!(varint_size(63), 1);
        assert_eq!(varint_size(-64), 1);
        assert_eq!(varint_size(64), 2);
        assert_eq!(varint_size(i32::MIN), 5);
        assert_eq!(varlong_size(i64::MIN), 10);
    }
}
