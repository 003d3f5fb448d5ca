//! The typed trace: one stream of events that feeds the UI animation, the invariant checkers,
//! the CLI and the tests.
//!
//! Every event is `{seq, at, node, kind}`. It has a one-line [`Display`](std::fmt::Display) form
//! for humans and a JSON-lines form for tools; [`TraceHasher`] folds every field of every event
//! (through `#[derive(Hash)]` and a [`StableHasher`]) into a 64-bit hash so "same scenario + seed ⇒ same trace" is a one-number comparison, natively and
//! in the browser.

use super::group::coordinator::GroupState;
use super::log::cleaner::CleanStats;
use super::log::segment::RollReason;
use super::log::RetentionReason;
use super::net::DropReason;
use super::node::NodeId;
use super::protocol::{ErrorCode, Tp};
use super::rng::Ratio;
use super::stable_hash::StableHasher;
use super::time::{SimDuration, SimTime};
use serde::Serialize;
use std::fmt;
use std::hash::{Hash, Hasher};

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Hash, Serialize)]
pub struct TraceEvent {
    /// Position in the trace, from 0, without gaps.
    pub seq: u64,
    /// When it happened (serialised as nanoseconds).
    #[serde(rename = "at_ns")]
    pub at: SimTime,
    /// Where it happened.
    pub node: NodeId,
    /// What happened.
    #[serde(flatten)]
    pub kind: TraceKind,
}

/// Which side of replication an append was on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppendRole {
    /// The partition leader assigned offsets.
    Leader,
    /// A follower copied the leader's batch.
    Follower,
}

/// What a producer's application thread is blocked on inside `send()` or `get()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// Waiting for metadata of the topic (`max.block.ms`).
    Metadata,
    /// Waiting for BufferPool memory (`max.block.ms`).
    BufferMemory,
    /// A synchronous send waiting in `future.get()`.
    Get,
}

/// How the controller picked a partition's leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ElectionKind {
    /// The first in-sync, unfenced replica in assignment order.
    Clean,
    /// An out-of-sync replica (`unclean.leader.election.enable`): acknowledged records may be lost.
    Unclean,
    /// The preferred replica took leadership back (`auto.leader.rebalance.enable`).
    Preferred,
    /// No acceptable replica: the partition is offline.
    Offline,
}

/// What happened, with the Kafka-level details.
#[derive(Clone, Debug, PartialEq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceKind {
    /// A message left `node` for `to`; it will arrive at `deliver_at`.
    MessageSent {
        /// Destination.
        to: NodeId,
        /// Network-wide message id (pairs with the delivery).
        msg_id: u64,
        /// Kafka API name.
        api: &'static str,
        /// Approximate bytes on the wire.
        bytes: u32,
        /// Records carried.
        records: u32,
        /// Arrival time.
        deliver_at: SimTime,
    },
    /// A message from `node` to `to` was dropped.
    MessageDropped {
        /// Intended destination.
        to: NodeId,
        /// Network-wide message id.
        msg_id: u64,
        /// Kafka API name.
        api: &'static str,
        /// Why.
        reason: DropReason,
    },
    /// A message from `from` arrived at `node`.
    MessageDelivered {
        /// Sender.
        from: NodeId,
        /// Network-wide message id.
        msg_id: u64,
        /// Kafka API name.
        api: &'static str,
    },
    /// A producer added a record to a partition's open batch.
    RecordAccumulated {
        /// Partition chosen by the partitioner.
        tp: Tp,
        /// Producer-local batch id.
        batch_id: u64,
        /// Records now in that batch.
        batch_records: u32,
        /// Bytes now in that batch.
        batch_bytes: u32,
    },
    /// Sends completed: each one's callback runs (or its `get()` returns), in this order. A
    /// batch's sends complete together, in the order they were appended, as Kafka's
    /// `ProducerBatch.done` fires its callbacks in one pass; a send that fails before it reaches
    /// a batch (too large, `max.block.ms`, a serializer error) completes alone.
    SendsCompleted {
        /// The sends (record indexes in the workload), in completion order.
        send_ids: Vec<u64>,
        /// Partition, once chosen.
        tp: Option<Tp>,
        /// The first send's offset; the send at position `i` got `first_offset + i` (-1 for
        /// every send on error or with acks=0).
        first_offset: i64,
        /// The error, if they failed.
        error: Option<ErrorCode>,
        /// True for a synchronous `send().get()`, false for a callback.
        sync: bool,
    },
    /// The producer's application thread blocked.
    CallerBlocked {
        /// The send it is in.
        send_id: u64,
        /// On what.
        reason: BlockReason,
    },
    /// The application thread continued.
    CallerUnblocked {
        /// The send it was in.
        send_id: u64,
        /// What it had waited on.
        reason: BlockReason,
        /// For how long.
        waited: SimDuration,
    },
    /// The sticky partitioner moved to another partition.
    StickySwitched {
        /// Topic.
        topic: String,
        /// Previous partition.
        from: u32,
        /// New partition.
        to: u32,
        /// Bytes produced to the previous one.
        produced_bytes: u32,
    },
    /// A batch left the accumulator for a request.
    BatchDrained {
        /// Partition.
        tp: Tp,
        /// Producer-local batch id.
        batch_id: u64,
        /// Records.
        records: u32,
        /// Encoded bytes.
        bytes: u32,
        /// Base sequence (-1 without idempotence).
        base_sequence: i32,
        /// Destination broker.
        to: u16,
    },
    /// A failed batch went back into the accumulator to be retried.
    BatchRequeued {
        /// Partition.
        tp: Tp,
        /// Producer-local batch id.
        batch_id: u64,
        /// Attempts so far.
        attempts: u32,
        /// Backoff before the retry.
        backoff_ms: u64,
    },
    /// A batch passed `delivery.timeout.ms`.
    BatchExpired {
        /// Partition.
        tp: Tp,
        /// Producer-local batch id.
        batch_id: u64,
        /// Records failed.
        records: u32,
        /// Age.
        age_ms: u64,
    },
    /// A producer learned new metadata.
    MetadataUpdated {
        /// Its metadata version after the update.
        version: u32,
        /// Leader per partition of its topic.
        leaders: Vec<Option<u16>>,
    },
    /// An idempotent producer got its producer id and epoch.
    ProducerIdAssigned {
        /// Producer id.
        producer_id: i64,
        /// Epoch.
        epoch: i16,
    },
    /// A leader recognised a retried batch it already had (idempotence) and did not append it.
    DuplicateBatch {
        /// Partition.
        tp: Tp,
        /// Producer id.
        producer_id: i64,
        /// First sequence.
        first_sequence: i32,
        /// Last sequence.
        last_sequence: i32,
        /// Offset it was appended at the first time.
        base_offset: i64,
    },
    /// A producer's batch was acknowledged.
    ProduceAcked {
        /// Partition.
        tp: Tp,
        /// Producer-local batch id.
        batch_id: u64,
        /// Offset of its first record.
        base_offset: i64,
        /// Records in the batch.
        records: u32,
        /// Time from the first record's send to the acknowledgement.
        latency: SimDuration,
    },
    /// A produce attempt for a batch failed.
    ProduceFailed {
        /// Partition.
        tp: Tp,
        /// Producer-local batch id.
        batch_id: u64,
        /// Kafka error.
        error: ErrorCode,
        /// Whether the batch goes back to the accumulator.
        will_retry: bool,
    },
    /// A replica appended a batch to its log.
    BatchAppended {
        /// Partition.
        tp: Tp,
        /// Leader or follower.
        role: AppendRole,
        /// Offset of the first record.
        base_offset: i64,
        /// Records appended.
        records: u32,
        /// Log end offset after the append.
        log_end_offset: i64,
    },
    /// A replica rolled a new active segment.
    SegmentRolled {
        /// Partition.
        tp: Tp,
        /// Base offset of the new segment (its 20-digit file name).
        base_offset: i64,
        /// Why.
        reason: RollReason,
    },
    /// A sparse index entry was added to the active segment.
    IndexEntryAdded {
        /// Partition.
        tp: Tp,
        /// Segment base offset.
        segment: i64,
        /// Absolute offset of the offset-index entry.
        offset: i64,
        /// Its byte position in the `.log`.
        position: u32,
        /// Time-index timestamp, if a time entry was added too.
        timestamp: Option<i64>,
    },
    /// Retention deleted a segment.
    SegmentDeleted {
        /// Partition.
        tp: Tp,
        /// Base offset of the deleted segment.
        base_offset: i64,
        /// Which retention rule.
        reason: RetentionReason,
        /// Its size.
        bytes: u32,
        /// The log start offset afterwards.
        log_start_offset: i64,
    },
    /// A replica truncated its log.
    LogTruncated {
        /// Partition.
        tp: Tp,
        /// Requested offset.
        to: i64,
        /// LEO afterwards.
        log_end_offset: i64,
        /// Bytes removed.
        bytes: u64,
    },
    /// The log cleaner compacted a partition.
    LogCompacted {
        /// Partition.
        tp: Tp,
        /// What the pass did.
        stats: CleanStats,
    },
    /// `flush.messages` was reached: the log was fsynced up to its LEO.
    LogFlushed {
        /// Partition.
        tp: Tp,
        /// The recovery point afterwards.
        recovery_point: i64,
    },
    /// A leader refused a batch.
    AppendRejected {
        /// Partition.
        tp: Tp,
        /// Kafka error returned to the producer.
        error: ErrorCode,
        /// Why, in words.
        reason: String,
    },
    /// A replica's high watermark moved.
    HighWatermarkAdvanced {
        /// Partition.
        tp: Tp,
        /// Previous value.
        from: i64,
        /// New value.
        to: i64,
    },
    /// The leader removed a lagging follower from the ISR.
    IsrShrunk {
        /// Partition.
        tp: Tp,
        /// Broker removed.
        removed: u16,
        /// The ISR afterwards.
        isr: Vec<u16>,
    },
    /// A message met a cut link and waits for the heal (TCP keeps retransmitting).
    MessageHeld {
        /// Destination.
        to: NodeId,
        /// The message.
        msg_id: u64,
        /// Kafka API name.
        api: &'static str,
    },
    /// A held message goes out again after the heal.
    MessageReleased {
        /// Destination.
        to: NodeId,
        /// The message.
        msg_id: u64,
        /// Kafka API name.
        api: &'static str,
        /// Records it carries.
        records: u32,
        /// When it arrives.
        deliver_at: SimTime,
    },
    /// A connection to `peer` was reset (its process died; the machine's kernel answered).
    ConnectionReset {
        /// The other end.
        peer: NodeId,
    },
    /// A request waited in the broker's request queue before a handler took it (only logged
    /// when it waited).
    RequestDequeued {
        /// The connection it came on.
        from: NodeId,
        /// Kafka API name.
        api: &'static str,
        /// Time in the queue (`RequestQueueTimeMs`).
        queue_time: SimDuration,
        /// Requests still queued behind it.
        queue_depth: u32,
    },
    /// The controller registered a (re)started broker; it stays fenced until it has caught up.
    BrokerRegistered {
        /// Broker id.
        broker: u16,
        /// The new registration's epoch.
        broker_epoch: i64,
    },
    /// The controller fenced a broker: it leaves the ISRs and its leaderships move.
    BrokerFenced {
        /// Broker id.
        broker: u16,
        /// Why (session timed out, re-registered).
        reason: String,
    },
    /// The controller unfenced a broker that caught up with the metadata.
    BrokerUnfenced {
        /// Broker id.
        broker: u16,
    },
    /// The controller elected a leader (or found none).
    LeaderElected {
        /// Partition.
        tp: Tp,
        /// The new leader, `None` when offline.
        leader: Option<u16>,
        /// The new leader epoch.
        leader_epoch: i32,
        /// The ISR after the election.
        isr: Vec<u16>,
        /// Clean, unclean, preferred or offline.
        election: ElectionKind,
    },
    /// The controller committed a partition change (a metadata record).
    PartitionChanged {
        /// Partition.
        tp: Tp,
        /// Leader.
        leader: Option<u16>,
        /// Leader epoch.
        leader_epoch: i32,
        /// Partition epoch.
        partition_epoch: i32,
        /// Committed ISR.
        isr: Vec<u16>,
    },
    /// A broker became a partition's leader (`makeLeader`) at its LEO.
    BecameLeader {
        /// Partition.
        tp: Tp,
        /// Leader epoch.
        leader_epoch: i32,
        /// The LEO at which the epoch starts.
        start_offset: i64,
        /// The committed ISR it starts with.
        isr: Vec<u16>,
    },
    /// A broker became (or stayed, under a new epoch) a follower (`makeFollower`).
    BecameFollower {
        /// Partition.
        tp: Tp,
        /// The leader it follows, `None` while offline.
        leader: Option<u16>,
        /// Leader epoch.
        leader_epoch: i32,
    },
    /// A leader sent AlterPartition; until it is answered no other ISR change is made.
    AlterPartitionSent {
        /// Partition.
        tp: Tp,
        /// The proposed ISR.
        isr: Vec<u16>,
    },
    /// The controller refused an AlterPartition.
    AlterPartitionFailed {
        /// Partition.
        tp: Tp,
        /// Why.
        error: ErrorCode,
    },
    /// A follower's fetch found its log diverging from the leader's; it truncates (KIP-101/320).
    DivergenceDetected {
        /// Partition.
        tp: Tp,
        /// The leader's epoch for the follower's last fetched epoch.
        epoch: i32,
        /// The leader's end offset of that epoch.
        end_offset: i64,
        /// The offset the follower truncates to.
        truncate_to: i64,
    },
    /// The leader added a caught-up follower to the ISR.
    IsrExpanded {
        /// Partition.
        tp: Tp,
        /// Broker added.
        added: u16,
        /// The ISR afterwards.
        isr: Vec<u16>,
    },
    /// A consumer received records.
    RecordsConsumed {
        /// Partition.
        tp: Tp,
        /// Offset of the first record received.
        first_offset: i64,
        /// Records received.
        count: u32,
    },
    /// A consumer started fetching these partitions.
    ConsumerStarted {
        /// Partitions it reads.
        partitions: Vec<Tp>,
    },
    /// A consumer stopped.
    ConsumerStopped,
    /// Coordinator: a member joined the group.
    GroupMemberAdded {
        /// `group.id`.
        group: String,
        /// The new member.
        member_id: String,
    },
    /// Coordinator: a member left or was removed.
    GroupMemberRemoved {
        /// `group.id`.
        group: String,
        /// The member.
        member_id: String,
        /// Why (LeaveGroup, session timeout, …).
        reason: String,
    },
    /// Coordinator: the group's state changed.
    GroupStateChanged {
        /// `group.id`.
        group: String,
        /// Old state.
        from: GroupState,
        /// New state.
        to: GroupState,
        /// Generation after the change.
        generation: i32,
        /// What caused it.
        reason: String,
    },
    /// Coordinator: the join phase completed with a new generation.
    GroupGenerationStarted {
        /// `group.id`.
        group: String,
        /// The generation.
        generation: i32,
        /// The chosen assignor.
        protocol: String,
        /// The leader's member id.
        leader: String,
        /// Member ids.
        members: Vec<String>,
    },
    /// Coordinator: the leader's assignment is stored and handed out.
    GroupAssignment {
        /// `group.id`.
        group: String,
        /// The generation.
        generation: i32,
        /// Member id → partitions.
        assignment: Vec<(String, Vec<Tp>)>,
    },
    /// Coordinator: offsets are committed (replicated).
    OffsetsCommitted {
        /// `group.id`.
        group: String,
        /// The generation they were committed in (-1: outside a generation).
        generation: i32,
        /// Partition → next offset to consume.
        offsets: Vec<(Tp, i64)>,
    },
    /// Coordinator: groups of a `__consumer_offsets` partition loaded from its log.
    GroupsLoaded {
        /// The partition.
        partition: u32,
        /// Groups found.
        groups: u32,
        /// Offset records replayed.
        offsets: u32,
    },
    /// Coordinator: this broker stopped leading a `__consumer_offsets` partition.
    GroupsUnloaded {
        /// The partition.
        partition: u32,
    },
    /// Coordinator: a stored record could not be read and was skipped.
    GroupLoadError {
        /// The partition.
        partition: u32,
        /// The record's offset.
        offset: i64,
        /// What is wrong with it.
        error: String,
    },
    /// A safety rule broke at this point (see [`super::invariants`]).
    InvariantViolated {
        /// Which rule.
        check: super::invariants::ViolationKind,
        /// What is wrong.
        message: String,
    },
    /// Consumer: found its group coordinator.
    CoordinatorFound {
        /// The coordinator broker.
        broker: u16,
    },
    /// Consumer: `ConsumerRebalanceListener.onPartitionsRevoked`.
    PartitionsRevoked {
        /// Partitions given up.
        partitions: Vec<Tp>,
    },
    /// Consumer: `ConsumerRebalanceListener.onPartitionsAssigned`.
    PartitionsAssigned {
        /// Partitions added.
        partitions: Vec<Tp>,
    },
    /// Consumer: `ConsumerRebalanceListener.onPartitionsLost` (its generation was gone).
    PartitionsLost {
        /// Partitions lost.
        partitions: Vec<Tp>,
    },
    /// Consumer: a group request failed.
    GroupRequestFailed {
        /// The API (`JoinGroup`, `Heartbeat`, `OffsetCommit`, …).
        api: String,
        /// The error.
        error: ErrorCode,
    },
    /// Consumer: the application did not poll within `max.poll.interval.ms`; the heartbeat
    /// thread leaves the group.
    PollIntervalExceeded {
        /// Time since the last poll.
        since_poll: SimDuration,
    },
    /// Consumer: no committed offset and `auto.offset.reset=none`
    /// (`NoOffsetForPartitionException`): the partition is not read.
    NoOffsetForPartition {
        /// The partition.
        tp: Tp,
    },
    /// The node crashed (process crash: its page cache survives).
    NodeCrashed,
    /// The node came back.
    NodeRestarted,
    /// The directed link `node → to` was cut.
    LinkCut {
        /// Destination side.
        to: NodeId,
    },
    /// The directed link `node → to` was restored.
    LinkHealed {
        /// Destination side.
        to: NodeId,
    },
    /// Every link was restored.
    AllLinksHealed,
    /// The directed link `node → to` got new latency, jitter or loss.
    LinkConfigured {
        /// Destination side.
        to: NodeId,
        /// One-way latency.
        latency: SimDuration,
        /// Jitter bound.
        jitter: SimDuration,
        /// Loss ratio.
        loss: Ratio,
    },
    /// A configuration property changed at run time.
    ConfigChanged {
        /// Kafka property name.
        property: String,
        /// New value.
        value: String,
    },
}

impl TraceEvent {
    /// The JSON-lines form (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("trace events always serialise")
    }
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>12} #{:<6} {:<11} ", self.at.to_string(), self.seq, self.node.to_string())?;
        self.kind.fmt(f)
    }
}

impl fmt::Display for TraceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TraceKind as K;
        match self {
            K::MessageSent { to, msg_id, api, bytes, records, deliver_at } => {
                write!(f, "send {api} → {to} (msg {msg_id}, {bytes} B, {records} rec, arrives {deliver_at})")
            }
            K::MessageDropped { to, msg_id, api, reason } => write!(f, "drop {api} → {to} (msg {msg_id}: {reason:?})"),
            K::MessageDelivered { from, msg_id, api } => {
                write!(f, "recv {api} ← {from} (msg {msg_id})")
            }
            K::RecordAccumulated { tp, batch_id, batch_records, batch_bytes } => {
                write!(f, "accumulate {tp} batch {batch_id}: {batch_records} rec, {batch_bytes} B")
            }
            K::SendsCompleted { send_ids, tp, first_offset, error, sync } => {
                let how = if *sync { "get()" } else { "callback" };
                let sends = match send_ids.as_slice() {
                    [one] => format!("send {one}"),
                    [first, second] => format!("2 sends ({first}, {second})"),
                    [first, .., last] => format!("{} sends ({first}, …, {last})", send_ids.len()),
                    [] => "no sends".to_string(),
                };
                let last_offset = first_offset + send_ids.len().saturating_sub(1) as i64;
                match (tp, error) {
                    (_, Some(e)) => write!(f, "{how} {sends}: {e}"),
                    (Some(tp), None) if *first_offset < 0 => write!(f, "{how} {sends}: {tp} (no offset)"),
                    (Some(tp), None) if send_ids.len() == 1 => write!(f, "{how} {sends}: {tp}@{first_offset}"),
                    (Some(tp), None) => write!(f, "{how} {sends}: {tp}@{first_offset}..={last_offset}"),
                    (None, None) => write!(f, "{how} {sends}: ok"),
                }
            }
            K::CallerBlocked { send_id, reason } => write!(f, "send {send_id} blocks on {reason:?}"),
            K::CallerUnblocked { send_id, reason, waited } => {
                write!(f, "send {send_id} unblocked ({reason:?}, waited {waited})")
            }
            K::StickySwitched { topic, from, to, produced_bytes } => {
                write!(f, "sticky {topic}: {from} → {to} after {produced_bytes} B")
            }
            K::BatchDrained { tp, batch_id, records, bytes, base_sequence, to } => {
                write!(f, "drain {tp} batch {batch_id} ({records} rec, {bytes} B, seq {base_sequence}) → broker-{to}")
            }
            K::BatchRequeued { tp, batch_id, attempts, backoff_ms } => {
                write!(f, "requeue {tp} batch {batch_id} (attempt {attempts}, backoff {backoff_ms} ms)")
            }
            K::BatchExpired { tp, batch_id, records, age_ms } => {
                write!(f, "expire {tp} batch {batch_id} ({records} rec, {age_ms} ms old)")
            }
            K::MetadataUpdated { version, leaders } => write!(f, "metadata v{version}: leaders {leaders:?}"),
            K::ProducerIdAssigned { producer_id, epoch } => write!(f, "producer id {producer_id} epoch {epoch}"),
            K::DuplicateBatch { tp, producer_id, first_sequence, last_sequence, base_offset } => {
                write!(
                    f,
                    "duplicate {tp} pid {producer_id} seq {first_sequence}..{last_sequence} (already @{base_offset})"
                )
            }
            K::ProduceAcked { tp, batch_id, base_offset, records, latency } => {
                write!(f, "acked {tp} batch {batch_id} @{base_offset} ({records} rec, {latency})")
            }
            K::ProduceFailed { tp, batch_id, error, will_retry } => {
                let then = if *will_retry { "retry" } else { "give up" };
                write!(f, "failed {tp} batch {batch_id}: {error}, {then}")
            }
            K::BatchAppended { tp, role, base_offset, records, log_end_offset } => {
                write!(f, "append {tp} ({role:?}) @{base_offset} +{records} → LEO {log_end_offset}")
            }
            K::HighWatermarkAdvanced { tp, from, to } => write!(f, "HW {tp} {from} → {to}"),
            K::SegmentRolled { tp, base_offset, reason } => {
                write!(f, "roll {tp} → segment {base_offset:020} ({reason:?})")
            }
            K::IndexEntryAdded { tp, segment, offset, position, timestamp } => {
                write!(f, "index {tp} seg {segment}: offset {offset} @ byte {position}")?;
                timestamp.map_or(Ok(()), |t| write!(f, ", time {t}"))
            }
            K::SegmentDeleted { tp, base_offset, reason, bytes, log_start_offset } => {
                write!(f, "retention {tp} deletes segment {base_offset:020} ({reason:?}, {bytes} B) → log start {log_start_offset}")
            }
            K::LogTruncated { tp, to, log_end_offset, bytes } => {
                write!(f, "truncate {tp} to {to} → LEO {log_end_offset} (-{bytes} B)")
            }
            K::LogCompacted { tp, stats } => write!(
                f,
                "compact {tp} [{}, {}): {} → {} records, {} → {} B, {} tombstones removed",
                stats.first_dirty_offset,
                stats.first_uncleanable_offset,
                stats.records_before,
                stats.records_after,
                stats.bytes_before,
                stats.bytes_after,
                stats.tombstones_removed
            ),
            K::LogFlushed { tp, recovery_point } => write!(f, "flush {tp} → recovery point {recovery_point}"),
            K::AppendRejected { tp, error, reason } => write!(f, "reject {tp}: {error} ({reason})"),
            K::IsrShrunk { tp, removed, isr } => write!(f, "ISR {tp} shrink -{removed} → {isr:?}"),
            K::IsrExpanded { tp, added, isr } => write!(f, "ISR {tp} expand +{added} → {isr:?}"),
            K::ConnectionReset { peer } => write!(f, "connection to {peer} reset"),
            K::MessageHeld { to, msg_id, api } => write!(f, "hold {api} → {to} (msg {msg_id}): link cut"),
            K::MessageReleased { to, msg_id, api, deliver_at, .. } => {
                write!(f, "release {api} → {to} (msg {msg_id}, arrives {deliver_at})")
            }
            K::RequestDequeued { from, api, queue_time, queue_depth } => {
                write!(f, "handle {api} from {from} after {queue_time} queued ({queue_depth} behind)")
            }
            K::BrokerRegistered { broker, broker_epoch } => write!(f, "register broker-{broker} epoch {broker_epoch}"),
            K::BrokerFenced { broker, reason } => write!(f, "FENCE broker-{broker} ({reason})"),
            K::BrokerUnfenced { broker } => write!(f, "unfence broker-{broker}"),
            K::LeaderElected { tp, leader, leader_epoch, isr, election } => {
                let leader = leader.map_or("none".to_string(), |l| format!("broker-{l}"));
                write!(f, "elect {tp} leader {leader} epoch {leader_epoch} ISR {isr:?} ({election:?})")
            }
            K::PartitionChanged { tp, leader, leader_epoch, partition_epoch, isr } => {
                let leader = leader.map_or("none".to_string(), |l| format!("broker-{l}"));
                write!(f, "commit {tp} leader {leader} epoch {leader_epoch}/{partition_epoch} ISR {isr:?}")
            }
            K::BecameLeader { tp, leader_epoch, start_offset, isr } => {
                write!(f, "lead {tp} epoch {leader_epoch} from @{start_offset} ISR {isr:?}")
            }
            K::BecameFollower { tp, leader, leader_epoch } => {
                let leader = leader.map_or("none".to_string(), |l| format!("broker-{l}"));
                write!(f, "follow {tp} leader {leader} epoch {leader_epoch}")
            }
            K::AlterPartitionSent { tp, isr } => write!(f, "AlterPartition {tp} ISR → {isr:?}"),
            K::AlterPartitionFailed { tp, error } => write!(f, "AlterPartition {tp} failed: {error}"),
            K::DivergenceDetected { tp, epoch, end_offset, truncate_to } => {
                write!(f, "diverged {tp} at epoch {epoch} end @{end_offset}: truncate to @{truncate_to}")
            }
            K::RecordsConsumed { tp, first_offset, count } => write!(f, "consume {tp} @{first_offset} ×{count}"),
            K::ConsumerStarted { partitions } => {
                let names: Vec<String> = partitions.iter().map(Tp::to_string).collect();
                write!(f, "consumer start [{}]", names.join(", "))
            }
            K::ConsumerStopped => f.write_str("consumer stop"),
            K::GroupMemberAdded { group, member_id } => write!(f, "group {group}: + {member_id}"),
            K::GroupMemberRemoved { group, member_id, reason } => write!(f, "group {group}: - {member_id} ({reason})"),
            K::GroupStateChanged { group, from, to, generation, reason } => {
                write!(f, "group {group}: {from} → {to} gen {generation} ({reason})")
            }
            K::GroupGenerationStarted { group, generation, protocol, leader, members } => {
                write!(
                    f,
                    "group {group}: generation {generation} ({protocol}), leader {leader}, {} members",
                    members.len()
                )
            }
            K::GroupAssignment { group, generation, assignment } => {
                let parts: Vec<String> = assignment
                    .iter()
                    .map(|(m, tps)| format!("{m}: [{}]", tps.iter().map(Tp::to_string).collect::<Vec<_>>().join(", ")))
                    .collect();
                write!(f, "group {group} gen {generation} assignment {}", parts.join("; "))
            }
            K::OffsetsCommitted { group, generation, offsets } => {
                let parts: Vec<String> = offsets.iter().map(|(tp, o)| format!("{tp}@{o}")).collect();
                write!(f, "commit {group} gen {generation}: {}", parts.join(", "))
            }
            K::GroupsLoaded { partition, groups, offsets } => {
                write!(f, "load __consumer_offsets-{partition}: {groups} groups, {offsets} offset records")
            }
            K::GroupsUnloaded { partition } => write!(f, "unload __consumer_offsets-{partition}"),
            K::GroupLoadError { partition, offset, error } => {
                write!(f, "skip __consumer_offsets-{partition}@{offset}: {error}")
            }
            K::InvariantViolated { check, message } => write!(f, "VIOLATION {check:?}: {message}"),
            K::CoordinatorFound { broker } => write!(f, "coordinator is broker-{broker}"),
            K::PartitionsRevoked { partitions } => write!(f, "onPartitionsRevoked {}", tp_list(partitions)),
            K::PartitionsAssigned { partitions } => write!(f, "onPartitionsAssigned {}", tp_list(partitions)),
            K::PartitionsLost { partitions } => write!(f, "onPartitionsLost {}", tp_list(partitions)),
            K::GroupRequestFailed { api, error } => write!(f, "{api} failed: {error}"),
            K::PollIntervalExceeded { since_poll } => {
                write!(f, "no poll for {since_poll} > max.poll.interval.ms: leave group")
            }
            K::NoOffsetForPartition { tp } => write!(f, "NoOffsetForPartitionException {tp}"),
            K::NodeCrashed => f.write_str("CRASH"),
            K::NodeRestarted => f.write_str("RESTART"),
            K::LinkCut { to } => write!(f, "link cut → {to}"),
            K::LinkHealed { to } => write!(f, "link healed → {to}"),
            K::AllLinksHealed => f.write_str("all links healed"),
            K::LinkConfigured { to, latency, jitter, loss } => {
                write!(f, "link → {to}: latency {latency}, jitter {jitter}, loss {loss}")
            }
            K::ConfigChanged { property, value } => write!(f, "config {property}={value}"),
        }
    }
}

fn tp_list(tps: &[Tp]) -> String {
    format!("[{}]", tps.iter().map(Tp::to_string).collect::<Vec<_>>().join(", "))
}

/// A stable 64-bit hash of a trace: every field of every event, in order. The same on every
/// platform (see [`StableHasher`]); no JSON is built, so hashing stays cheap on the hot path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceHasher {
    state: StableHasher,
}

impl TraceHasher {
    /// Folds one event into the hash.
    pub fn update(&mut self, event: &TraceEvent) {
        event.hash(&mut self.state);
    }
    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.state.finish()
    }
    /// The hash as 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.finish())
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn event() -> TraceEvent {
        TraceEvent {
            seq: 3,
            at: SimTime::from_ms(2),
            node: NodeId::broker(1),
            kind: TraceKind::HighWatermarkAdvanced { tp: Tp { topic: "orders".into(), partition: 0 }, from: 4, to: 9 },
        }
    }

    #[test]
    fn json_line_is_flat_and_names_nodes() {
        let line = event().to_json_line();
        assert_eq!(
            line,
            r#"{"seq":3,"at_ns":2000000,"node":"broker-1","kind":"high_watermark_advanced","tp":{"topic":"orders","partition":0},"from":4,"to":9}"#
        );
    }

    #[test]
    fn sends_completed_reads_as_one_send_or_a_batch_of_them() {
        let tp = Some(Tp { topic: "orders".into(), partition: 2 });
        let show = |send_ids: Vec<u64>, first_offset: i64, error: Option<ErrorCode>, sync: bool| {
            let kind = TraceKind::SendsCompleted { send_ids, tp: tp.clone(), first_offset, error, sync };
            let line = TraceEvent { seq: 0, at: SimTime::ZERO, node: NodeId::producer(1), kind }.to_string();
            line.split_once("producer-1").expect("names the node").1.trim().to_string()
        };
        assert_eq!(show(vec![7], 40, None, false), "callback send 7: orders-2@40");
        assert_eq!(show(vec![7], 40, None, true), "get() send 7: orders-2@40");
        assert_eq!(show(vec![3, 9, 12], 40, None, false), "callback 3 sends (3, …, 12): orders-2@40..=42");
        assert_eq!(show(vec![3, 9], -1, None, false), "callback 2 sends (3, 9): orders-2 (no offset)");
        assert_eq!(
            show(vec![3, 9], -1, Some(ErrorCode::Timeout), false),
            format!("callback 2 sends (3, 9): {}", ErrorCode::Timeout)
        );
    }

    #[test]
    fn display_is_one_line() {
        let text = event().to_string();
        assert!(!text.contains('\n'));
        assert!(text.ends_with("broker-1    HW orders-0 4 → 9"), "{text}");
    }

    #[test]
    fn hash_depends_on_every_field() {
        let mut a = TraceHasher::default();
        a.update(&event());
        let mut b = TraceHasher::default();
        let mut other = event();
        other.seq = 4;
        b.update(&other);
        assert_ne!(a.finish(), b.finish());
        assert_eq!(a.hex().len(), 16);
    }
}
