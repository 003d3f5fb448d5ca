//! Kafka protocol values exchanged between nodes: topic-partitions, records, batches, requests
//! and responses. Messages are plain values; the network moves them, nobody shares them.
//!
//! Field names follow Kafka's request schemas (`ProduceRequest`, `FetchRequest`) so a reader
//! who knows the wire protocol recognises them. Batches travel as byte-exact record batch v2
//! ([`RecordBatch`]).

use super::time::SimDuration;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::rc::Rc;

/// A topic name, cheap to clone. The core makes them with [`topic_name`], so that one topic has
/// one allocation; a name made otherwise (deserialised, in tests) only compares more slowly.
pub type TopicName = Rc<str>;

/// Topic names [`topic_name`] keeps shared, at most: past that, names are allocated afresh
/// (still correct, only slower to compare).
const SHARED_TOPIC_NAMES_MAX: usize = 256;

/// The [`TopicName`] for `name`, shared by every node and message of this thread that names the
/// topic. `Tp` comparisons of one topic then stop at a pointer comparison: nodes built their
/// own names (the producer from its workload, the consumer from each assignment), and map
/// lookups of a request's partitions compared the strings every time. Sharing changes no
/// result, only the cost: names compare by value either way.
pub fn topic_name(name: &str) -> TopicName {
    thread_local! {
        static SHARED: std::cell::RefCell<Vec<TopicName>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SHARED.with_borrow_mut(|shared| {
        if let Some(found) = shared.iter().find(|n| ***n == *name) {
            return found.clone();
        }
        let made = TopicName::from(name);
        if shared.len() < SHARED_TOPIC_NAMES_MAX {
            shared.push(made.clone());
        }
        made
    })
}

/// A topic-partition, shown as Kafka shows it: `orders-0`. Ordered by topic name, then
/// partition.
#[derive(Clone, Debug, Eq, Serialize, Deserialize)]
pub struct Tp {
    /// Topic name.
    pub topic: TopicName,
    /// Partition number.
    pub partition: u32,
}

// Comparisons of the same topic are the common case (one shared name per topic) and skip the
// string comparison: map lookups by `Tp` compared topic names in every event's path.
impl PartialEq for Tp {
    fn eq(&self, other: &Tp) -> bool {
        self.partition == other.partition && (Rc::ptr_eq(&self.topic, &other.topic) || self.topic == other.topic)
    }
}

// As derived (the trace hash folds it): the topic, then the partition.
impl std::hash::Hash for Tp {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.topic.hash(state);
        self.partition.hash(state);
    }
}

impl Ord for Tp {
    fn cmp(&self, other: &Tp) -> std::cmp::Ordering {
        let topics = if Rc::ptr_eq(&self.topic, &other.topic) {
            std::cmp::Ordering::Equal
        } else {
            self.topic.cmp(&other.topic)
        };
        topics.then(self.partition.cmp(&other.partition))
    }
}

impl PartialOrd for Tp {
    fn partial_cmp(&self, other: &Tp) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Tp {
    /// The partition `partition` of `topic`.
    pub fn new(topic: &TopicName, partition: u32) -> Tp {
        Tp { topic: topic.clone(), partition }
    }
}

impl fmt::Display for Tp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

pub use super::record::{Record, RecordBatch};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// A batch larger than `max.message.bytes` (Kafka `RecordTooLargeException`).
    MessageTooLarge,
    /// A batch larger than `segment.bytes` (Kafka `RecordBatchTooLargeException`).
    RecordListTooLarge,
    /// A record the topic cannot take, e.g. no key on a compacted topic.
    InvalidRecord,
    /// The batch's sequence does not follow the last one the broker has for this producer.
    OutOfOrderSequenceNumber,
    /// The batch's producer epoch is older than the broker's.
    InvalidProducerEpoch,
    /// A client-side timeout (`delivery.timeout.ms`, `max.block.ms`); never on the wire.
    Timeout,
    /// The connection broke with requests in flight (client side).
    NetworkException,
    /// The request's leader epoch is older than the replica's (a stale leader or follower).
    FencedLeaderEpoch,
    /// The request's leader epoch is newer than the replica's (the replica's metadata is stale).
    UnknownLeaderEpoch,
    /// AlterPartition carried a partition epoch the controller has moved past.
    InvalidUpdateVersion,
    /// AlterPartition tried to add a fenced or unregistered broker to the ISR.
    IneligibleReplica,
    /// A heartbeat or AlterPartition from a broker registration the controller has replaced.
    StaleBrokerEpoch,
    /// No live leader for the group's `__consumer_offsets` partition (or its write failed).
    CoordinatorNotAvailable,
    /// This broker does not coordinate the group (any more).
    NotCoordinator,
    /// A first JoinGroup without a member id: rejoin with the id in the response.
    MemberIdRequired,
    /// The member id is not (or no longer) in the group.
    UnknownMemberId,
    /// The request's generation is not the group's current one.
    IllegalGeneration,
    /// The group is rebalancing: rejoin.
    RebalanceInProgress,
    /// The member's assignors share none with the group's.
    InconsistentGroupProtocol,
    /// `session.timeout.ms` outside the broker's `group.min/max.session.timeout.ms`.
    InvalidSessionTimeout,
}

impl ErrorCode {
    /// Whether a producer may retry after this error.
    pub fn is_retriable(self) -> bool {
        !matches!(
            self,
            ErrorCode::None | ErrorCode::MessageTooLarge | ErrorCode::RecordListTooLarge | ErrorCode::InvalidRecord
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned));
        f.write_str(text.as_deref().unwrap_or("UNKNOWN"))
    }
}

/// A produce request: batches for partitions led by the destination broker.
#[derive(Clone, Debug, PartialEq)]
pub struct ProduceRequest {
    /// Correlation id, unique per client.
    pub correlation_id: u64,
    /// Required acknowledgements.
    pub acks: Acks,
    /// How long the broker may wait for replication (the producer's `request.timeout.ms`).
    pub timeout: SimDuration,
    /// One batch per partition.
    pub batches: Vec<(Tp, RecordBatch)>,
}

/// Per-partition result of a produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducePartitionResponse {
    /// The partition.
    pub tp: Tp,
    /// Outcome.
    pub error: ErrorCode,
    /// Offset assigned to the batch's first record, -1 on error.
    pub base_offset: i64,
}

/// A fetch request, from a follower (`replica_id` set) or a consumer.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchRequest {
    /// Correlation id, unique per client.
    pub correlation_id: u64,
    /// The fetching follower's broker id; `None` for consumers.
    pub replica_id: Option<u16>,
    /// `fetch.max.wait.ms` / `replica.fetch.wait.max.ms`.
    pub max_wait: SimDuration,
    /// `fetch.min.bytes` / `replica.fetch.min.bytes`.
    pub min_bytes: u32,
    /// `fetch.max.bytes` / `replica.fetch.response.max.bytes`: the response's limit (the first
    /// batch of the first partition with data is returned even if larger, KIP-74).
    pub max_bytes: u32,
    /// `max.partition.fetch.bytes` / `replica.fetch.max.bytes`: each partition's limit.
    pub partition_max_bytes: u32,
    /// Partitions to fetch.
    pub partitions: Vec<FetchPartition>,
}

/// One partition of a fetch request (Fetch v12+ fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPartition {
    /// The partition.
    pub tp: Tp,
    /// The offset to fetch from (-1 = the latest, i.e. the high watermark).
    pub fetch_offset: i64,
    /// The leader epoch the fetcher believes current (-1 = not checked), `currentLeaderEpoch`.
    pub current_leader_epoch: i32,
    /// Followers: the epoch of the last batch they hold (-1 = none), `lastFetchedEpoch`.
    pub last_fetched_epoch: i32,
}

impl FetchPartition {
    /// A consumer's fetch: no epoch checks.
    pub fn consumer(tp: Tp, fetch_offset: i64) -> FetchPartition {
        FetchPartition { tp, fetch_offset, current_leader_epoch: -1, last_fetched_epoch: -1 }
    }
}

/// Per-partition data of a fetch response.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchPartitionResponse {
    /// The partition.
    pub tp: Tp,
    /// Outcome.
    pub error: ErrorCode,
    /// The leader's high watermark.
    pub high_watermark: i64,
    /// The leader's log start offset (-1 on error).
    pub log_start_offset: i64,
    /// The offset this response starts at (resolves -1 requests).
    pub fetch_offset: i64,
    /// Whole batches at or after the fetch offset.
    pub batches: Vec<RecordBatch>,
    /// Set when the follower's log diverges from the leader's: `(epoch, end offset)` to
    /// truncate against (KIP-320 `divergingEpoch`); no batches then.
    pub diverging_epoch: Option<(i32, i64)>,
}

/// A partition's state as the controller commits it (KRaft `PartitionRecord` /
/// `PartitionChangeRecord`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    /// The partition.
    pub tp: Tp,
    /// Replicas in assignment order; the first is the preferred leader.
    pub replicas: Vec<u16>,
    /// The leader, `None` while the partition is offline.
    pub leader: Option<u16>,
    /// Bumped on every leader change.
    pub leader_epoch: i32,
    /// Bumped on every change (`partitionEpoch`).
    pub partition_epoch: i32,
    /// The committed ISR, in broker-id order.
    pub isr: Vec<u16>,
}

/// One partition in a metadata response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// Partition number.
    pub partition: u32,
    /// Leader, if any.
    pub leader: Option<u16>,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// Replicas in assignment order.
    pub replicas: Vec<u16>,
}

/// One topic in a metadata response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    /// Topic name.
    pub name: TopicName,
    /// Its partitions, by number.
    pub partitions: Vec<PartitionMetadata>,
}

/// Committed metadata pushed by the controller (the model's stand-in for brokers fetching the
/// KRaft metadata log). A delta applies only on top of `prev_offset`; a broker that missed one
/// reports its offset in its next heartbeat and gets a full snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataUpdate {
    /// The metadata offset this update builds on (ignored for a snapshot).
    pub prev_offset: u64,
    /// The metadata offset after it.
    pub offset: u64,
    /// A full snapshot rather than a delta.
    pub snapshot: bool,
    /// Unfenced brokers.
    pub live_brokers: Vec<u16>,
    /// Partitions whose state changed (every partition in a snapshot).
    pub partitions: Vec<PartitionState>,
}

/// An ISR change a leader proposes (`AlterPartition` partition data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsrProposal {
    /// The partition.
    pub tp: Tp,
    /// The proposing leader.
    pub leader: u16,
    /// Its leader epoch.
    pub leader_epoch: i32,
    /// The partition epoch it builds on.
    pub partition_epoch: i32,
    /// The proposed ISR.
    pub isr: Vec<u16>,
}

/// Every message nodes exchange.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// Client → any broker: which brokers lead which partitions.
    MetadataRequest {
        /// Correlation id.
        correlation_id: u64,
        /// Topics asked about.
        topics: Vec<TopicName>,
    },
    /// Broker → client.
    MetadataResponse {
        /// Matches the request.
        correlation_id: u64,
        /// Live brokers.
        brokers: Vec<u16>,
        /// The topics asked about that exist.
        topics: Vec<TopicMetadata>,
    },
    /// Idempotent producer → broker: a producer id, or a bumped epoch for the one it has.
    InitProducerIdRequest {
        /// Correlation id.
        correlation_id: u64,
        /// The current producer id, or -1.
        producer_id: i64,
        /// The current epoch, or -1.
        producer_epoch: i16,
    },
    /// Broker → producer.
    InitProducerIdResponse {
        /// Matches the request.
        correlation_id: u64,
        /// Outcome.
        error: ErrorCode,
        /// Assigned id.
        producer_id: i64,
        /// Assigned epoch.
        producer_epoch: i16,
    },
    /// Producer → leader.
    ProduceRequest(ProduceRequest),
    /// Leader → producer.
    ProduceResponse {
        /// Matches the request.
        correlation_id: u64,
        /// One result per partition.
        responses: Vec<ProducePartitionResponse>,
    },
    /// Broker → controller after a (re)start: `BrokerRegistration`.
    BrokerRegistration {
        /// Distinguishes this run of the broker process from earlier ones (`incarnationId`).
        incarnation: u32,
    },
    /// Controller → broker.
    BrokerRegistrationResponse {
        /// The registration's epoch, carried by later heartbeats.
        broker_epoch: i64,
    },
    /// Broker → controller every `broker.heartbeat.interval.ms`.
    BrokerHeartbeat {
        /// The registration the heartbeat is for.
        broker_epoch: i64,
        /// The last metadata offset the broker applied.
        metadata_offset: u64,
    },
    /// Controller → broker.
    BrokerHeartbeatResponse {
        /// `NONE`, or `STALE_BROKER_EPOCH` (register again).
        error: ErrorCode,
        /// Whether the broker is fenced.
        fenced: bool,
    },
    /// Controller → brokers: committed metadata (a delta, or a full snapshot).
    MetadataUpdate(MetadataUpdate),
    /// Partition leader → controller: change the ISR.
    AlterPartition {
        /// The leader's registration.
        broker_epoch: i64,
        /// The proposal.
        proposal: IsrProposal,
    },
    /// Controller → leader.
    AlterPartitionResponse {
        /// The partition.
        tp: Tp,
        /// Outcome.
        error: ErrorCode,
        /// The committed state, when accepted (or already in place). Boxed: see `Group`.
        state: Option<Box<PartitionState>>,
    },
    /// Consumer ↔ broker: the classic group protocol.
    ///
    /// Boxed, as is an AlterPartitionResponse's state: these two rare messages were the
    /// largest, and with their payloads boxed a message is 80 bytes, not 144. Every message is
    /// moved several times on its way (outbox, slab, request queue, handler); boxing saved ~2.2%
    /// of a swarm seed's instructions. (Boxing MetadataUpdate and AlterPartition too, for 64
    /// bytes, saved 0.25% more but took the web build's gzip 0.5 KB over its 400 KB budget.)
    Group(Box<super::group::messages::GroupMessage>),
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
            Message::MetadataRequest { .. } => "Metadata",
            Message::MetadataResponse { .. } => "MetadataResponse",
            Message::InitProducerIdRequest { .. } => "InitProducerId",
            Message::InitProducerIdResponse { .. } => "InitProducerIdResponse",
            Message::BrokerRegistration { .. } => "BrokerRegistration",
            Message::BrokerRegistrationResponse { .. } => "BrokerRegistrationResponse",
            Message::BrokerHeartbeat { .. } => "BrokerHeartbeat",
            Message::BrokerHeartbeatResponse { .. } => "BrokerHeartbeatResponse",
            Message::MetadataUpdate(_) => "MetadataUpdate",
            Message::AlterPartition { .. } => "AlterPartition",
            Message::AlterPartitionResponse { .. } => "AlterPartitionResponse",
            Message::Group(g) => g.api_name(),
        }
    }

    /// Approximate bytes on the wire: batches plus a fixed request overhead.
    pub fn size_bytes(&self) -> u32 {
        const OVERHEAD: u32 = 40;
        let data: u32 = match self {
            Message::ProduceRequest(r) => r.batches.iter().map(|(_, b)| b.size_bytes()).sum(),
            Message::FetchResponse { responses, .. } => {
                responses.iter().flat_map(|p| p.batches.iter()).map(|b| b.size_bytes()).sum()
            }
            _ => 0,
        };
        OVERHEAD + data
    }

    /// Number of records carried.
    pub fn record_count(&self) -> u32 {
        match self {
            Message::ProduceRequest(r) => r.batches.iter().map(|(_, b)| b.record_count()).sum(),
            Message::FetchResponse { responses, .. } => {
                responses.iter().flat_map(|p| p.batches.iter()).map(|b| b.record_count()).sum()
            }
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
    fn error_codes_print_kafka_names_and_retriability() {
        assert_eq!(ErrorCode::NotEnoughReplicasAfterAppend.to_string(), "NOT_ENOUGH_REPLICAS_AFTER_APPEND");
        assert!(ErrorCode::NotLeaderOrFollower.is_retriable());
        assert!(!ErrorCode::MessageTooLarge.is_retriable());
        assert_eq!(Tp::new(&"orders".into(), 3).to_string(), "orders-3");
    }

    #[test]
    fn a_topic_name_is_shared_by_everyone_who_names_the_topic() {
        let (a, b) = (topic_name("orders"), topic_name(&String::from("orders")));
        assert!(Rc::ptr_eq(&a, &b), "one allocation per topic");
        let other = topic_name("orders-x");
        assert!(!Rc::ptr_eq(&a, &other));
        assert_eq!((&*a, &*other), ("orders", "orders-x"));
    }

    #[test]
    fn tp_order_and_equality_are_by_topic_name_then_partition_whoever_holds_the_name() {
        use std::hash::{Hash, Hasher};
        let names = ["a", "orders", "orders-x", "b", "", "é", "éa", "z"];
        // Every name twice, as separately allocated strings and as one shared name.
        let shared: Vec<TopicName> = names.iter().map(|n| TopicName::from(*n)).collect();
        let mut all = vec![];
        for (i, n) in names.iter().enumerate() {
            for p in [0, 1, 10] {
                all.push(Tp::new(&shared[i], p));
                all.push(Tp::new(&TopicName::from(*n), p));
            }
        }
        let hash = |tp: &Tp| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            tp.hash(&mut h);
            h.finish()
        };
        for x in &all {
            for y in &all {
                let by_value = (x.topic.as_ref(), x.partition).cmp(&(y.topic.as_ref(), y.partition));
                assert_eq!(x.cmp(y), by_value, "{x} vs {y}");
                assert_eq!(x == y, by_value.is_eq(), "{x} vs {y}");
                if x == y {
                    assert_eq!(hash(x), hash(y));
                }
            }
        }
    }
}
