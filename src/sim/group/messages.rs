//! The classic group protocol's requests and responses (`FindCoordinator`, `JoinGroup`,
//! `SyncGroup`, `Heartbeat`, `LeaveGroup`, `OffsetCommit`, `OffsetFetch`), with Kafka's field
//! names. They travel inside [`Message`](crate::sim::protocol::Message).

use super::assignor::Subscription;
use crate::sim::protocol::{ErrorCode, Tp};
use crate::sim::time::SimDuration;

/// Consumer → member of its group: `JoinGroup`.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinGroupRequest {
    /// Correlation id.
    pub correlation_id: u64,
    /// `group.id`.
    pub group_id: String,
    /// Empty on a first join; the coordinator's id afterwards.
    pub member_id: String,
    /// `group.instance.id` (static membership), if set.
    pub group_instance_id: Option<String>,
    /// `client.id`, the prefix of a new member id.
    pub client_id: String,
    /// `session.timeout.ms`.
    pub session_timeout: SimDuration,
    /// `max.poll.interval.ms`: how long the group waits for this member to rejoin.
    pub rebalance_timeout: SimDuration,
    /// Assignor names in preference order, each with the member's subscription metadata.
    pub protocols: Vec<(String, Subscription)>,
}

/// Coordinator → consumer.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinGroupResponse {
    /// Matches the request.
    pub correlation_id: u64,
    /// `NONE`, `MEMBER_ID_REQUIRED`, `UNKNOWN_MEMBER_ID`, `NOT_COORDINATOR`, …
    pub error: ErrorCode,
    /// The new generation.
    pub generation_id: i32,
    /// The chosen assignor.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// This member's id (the assigned one with `MEMBER_ID_REQUIRED`).
    pub member_id: String,
    /// Every member's subscription, for the leader only.
    pub members: Vec<Subscription>,
}

/// The group-level requests that only carry a group, a member and a generation.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberRef {
    /// `group.id`.
    pub group_id: String,
    /// Member id.
    pub member_id: String,
    /// Generation the member belongs to (-1 when not in one).
    pub generation_id: i32,
}

/// Messages of the group protocol.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupMessage {
    /// Client → any broker: who coordinates `key`.
    FindCoordinator {
        /// Correlation id.
        correlation_id: u64,
        /// The group id.
        key: String,
    },
    /// Broker → client.
    FindCoordinatorResponse {
        /// Matches the request.
        correlation_id: u64,
        /// `NONE` or `COORDINATOR_NOT_AVAILABLE`.
        error: ErrorCode,
        /// The coordinator broker.
        node_id: Option<u16>,
    },
    /// Join (or rejoin) the group.
    JoinGroup(JoinGroupRequest),
    /// Answer to a join, when the join phase completes.
    JoinGroupResponse(JoinGroupResponse),
    /// Leader: the assignment; followers: ask for theirs.
    SyncGroup {
        /// Correlation id.
        correlation_id: u64,
        /// Who and which generation.
        member: MemberRef,
        /// Member id → partitions (leader only).
        assignments: Vec<(String, Vec<Tp>)>,
    },
    /// The member's assignment for the generation.
    SyncGroupResponse {
        /// Matches the request.
        correlation_id: u64,
        /// Outcome.
        error: ErrorCode,
        /// Partitions assigned to this member.
        assignment: Vec<Tp>,
    },
    /// Keep the session alive; learn about a rebalance.
    Heartbeat {
        /// Correlation id.
        correlation_id: u64,
        /// Who and which generation.
        member: MemberRef,
    },
    /// `NONE`, `REBALANCE_IN_PROGRESS`, `ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`, …
    HeartbeatResponse {
        /// Matches the request.
        correlation_id: u64,
        /// Outcome.
        error: ErrorCode,
    },
    /// Leave the group now.
    LeaveGroup {
        /// Correlation id.
        correlation_id: u64,
        /// Who.
        member: MemberRef,
    },
    /// Answer to a leave.
    LeaveGroupResponse {
        /// Matches the request.
        correlation_id: u64,
        /// Outcome.
        error: ErrorCode,
    },
    /// Commit the next offsets to consume.
    OffsetCommit {
        /// Correlation id.
        correlation_id: u64,
        /// Who and which generation (-1 for a commit outside a group generation).
        member: MemberRef,
        /// Partition → the next offset to consume.
        offsets: Vec<(Tp, i64)>,
    },
    /// Per-partition outcome.
    OffsetCommitResponse {
        /// Matches the request.
        correlation_id: u64,
        /// One result per partition.
        results: Vec<(Tp, ErrorCode)>,
    },
    /// Read committed offsets.
    OffsetFetch {
        /// Correlation id.
        correlation_id: u64,
        /// `group.id`.
        group_id: String,
        /// Partitions asked about.
        partitions: Vec<Tp>,
    },
    /// Committed offsets (-1 where none).
    OffsetFetchResponse {
        /// Matches the request.
        correlation_id: u64,
        /// Group-level outcome.
        error: ErrorCode,
        /// Partition → committed offset or -1.
        offsets: Vec<(Tp, i64)>,
    },
}

impl GroupMessage {
    /// Kafka's API name.
    pub fn api_name(&self) -> &'static str {
        use GroupMessage as G;
        match self {
            G::FindCoordinator { .. } => "FindCoordinator",
            G::FindCoordinatorResponse { .. } => "FindCoordinatorResponse",
            G::JoinGroup(_) => "JoinGroup",
            G::JoinGroupResponse(_) => "JoinGroupResponse",
            G::SyncGroup { .. } => "SyncGroup",
            G::SyncGroupResponse { .. } => "SyncGroupResponse",
            G::Heartbeat { .. } => "Heartbeat",
            G::HeartbeatResponse { .. } => "HeartbeatResponse",
            G::LeaveGroup { .. } => "LeaveGroup",
            G::LeaveGroupResponse { .. } => "LeaveGroupResponse",
            G::OffsetCommit { .. } => "OffsetCommit",
            G::OffsetCommitResponse { .. } => "OffsetCommitResponse",
            G::OffsetFetch { .. } => "OffsetFetch",
            G::OffsetFetchResponse { .. } => "OffsetFetchResponse",
        }
    }

    /// Whether a client sends it to a broker (a request).
    pub fn is_request(&self) -> bool {
        !self.api_name().ends_with("Response")
    }

    /// Whether it goes to the group coordinator (its own connection in `KafkaConsumer`).
    pub fn is_coordinator_request(&self) -> bool {
        self.is_request() && !matches!(self, GroupMessage::FindCoordinator { .. })
    }

    /// The correlation id.
    pub fn correlation_id(&self) -> u64 {
        use GroupMessage as G;
        match self {
            G::JoinGroup(r) => r.correlation_id,
            G::JoinGroupResponse(r) => r.correlation_id,
            G::FindCoordinator { correlation_id, .. }
            | G::FindCoordinatorResponse { correlation_id, .. }
            | G::SyncGroup { correlation_id, .. }
            | G::SyncGroupResponse { correlation_id, .. }
            | G::Heartbeat { correlation_id, .. }
            | G::HeartbeatResponse { correlation_id, .. }
            | G::LeaveGroup { correlation_id, .. }
            | G::LeaveGroupResponse { correlation_id, .. }
            | G::OffsetCommit { correlation_id, .. }
            | G::OffsetCommitResponse { correlation_id, .. }
            | G::OffsetFetch { correlation_id, .. }
            | G::OffsetFetchResponse { correlation_id, .. } => *correlation_id,
        }
    }
}
