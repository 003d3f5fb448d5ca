//! Node identity and the sans-IO context a node works through.
//!
//! A node (broker, producer, consumer) never sees the event queue or the network. It is handed a
//! [`Ctx`] with the current time, and everything it wants to happen — messages to send, timers to
//! arm, trace events to record — goes into the context's [`Outbox`]. The simulator applies the
//! outbox after the handler returns.

use super::protocol::Message;
use super::time::{SimDuration, SimTime};
use super::trace::TraceKind;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Which kind of process a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A Kafka broker.
    Broker,
    /// A producer client.
    Producer,
    /// A consumer client.
    Consumer,
    /// The KRaft controller (a quorum of one: `controller-1`).
    Controller,
}

/// A node's identity: its kind and a 1-based number (`broker-1`, `producer-2`, `consumer-1`).
///
/// Brokers are numbered by their Kafka `broker.id`; clients by their position in the scenario.
/// Ordering is by kind, then number, so every broadcast and map walk has a defined order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId {
    /// The kind of node.
    pub kind: NodeKind,
    /// 1-based number within the kind.
    pub number: u16,
}

impl NodeId {
    /// Broker `broker.id = number`.
    pub const fn broker(number: u16) -> NodeId {
        NodeId { kind: NodeKind::Broker, number }
    }
    /// The producer at 1-based position `number`.
    pub const fn producer(number: u16) -> NodeId {
        NodeId { kind: NodeKind::Producer, number }
    }
    /// The consumer at 1-based position `number`.
    pub const fn consumer(number: u16) -> NodeId {
        NodeId { kind: NodeKind::Consumer, number }
    }
    /// The KRaft controller.
    pub const CONTROLLER: NodeId = NodeId { kind: NodeKind::Controller, number: 1 };
    /// True for brokers.
    pub fn is_broker(self) -> bool {
        self.kind == NodeKind::Broker
    }

    /// Kind, then number, in one word: the order the derived `Ord` would give (kinds in
    /// declaration order), compared at once. Maps keyed by ids and id pairs (links, cuts, held
    /// messages) search by it; the derived comparison of two fields took 1.4% more of the
    /// swarm's instructions (before [`NodeMap`](super::node_map::NodeMap) took the per-event
    /// lookups).
    fn order_key(self) -> u32 {
        (self.kind as u32) << 16 | u32::from(self.number)
    }
}

impl Ord for NodeId {
    fn cmp(&self, other: &NodeId) -> std::cmp::Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

impl PartialOrd for NodeId {
    fn partial_cmp(&self, other: &NodeId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            NodeKind::Broker => "broker",
            NodeKind::Producer => "producer",
            NodeKind::Consumer => "consumer",
            NodeKind::Controller => "controller",
        };
        write!(f, "{kind}-{}", self.number)
    }
}

/// Error for a malformed node name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a node name: {0:?} (expected broker-N, producer-N, consumer-N or controller-1)")]
pub struct ParseNodeIdError(pub String);

impl FromStr for NodeId {
    type Err = ParseNodeIdError;
    fn from_str(s: &str) -> Result<NodeId, ParseNodeIdError> {
        let bad = || ParseNodeIdError(s.to_string());
        let (kind, number) = s.rsplit_once('-').ok_or_else(bad)?;
        let number: u16 = number.parse().map_err(|_| bad())?;
        let kind = match kind {
            "broker" => NodeKind::Broker,
            "producer" => NodeKind::Producer,
            "consumer" => NodeKind::Consumer,
            "controller" => NodeKind::Controller,
            _ => return Err(bad()),
        };
        (number > 0).then_some(NodeId { kind, number }).ok_or_else(bad)
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NodeId, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// Timers a node can arm. The token lets a node recognise (and ignore) a stale timer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "timer")]
pub enum Timer {
    /// Producer workload: time to send the next record.
    NextRecord,
    /// Producer sender loop: check for ready batches (linger expiry, retries).
    SenderWakeup,
    /// Producer: a blocked `send()` reached `max.block.ms`.
    MaxBlock {
        /// The blocked send.
        send: u64,
    },
    /// A request this client sent has not been answered in time.
    RequestTimeout {
        /// Correlation id of the request.
        correlation_id: u64,
    },
    /// Broker: a parked fetch's `max.wait` elapsed.
    FetchWaitExpired {
        /// Id of the parked fetch.
        fetch_id: u64,
    },
    /// Broker: a parked acks=all produce's timeout elapsed.
    ProduceTimeout {
        /// Id of the parked produce.
        produce_id: u64,
    },
    /// Broker: periodic ISR maintenance (`replica.lag.time.max.ms / 2`).
    IsrCheck,
    /// Broker: retention check (`log.retention.check.interval.ms`).
    LogRetentionCheck,
    /// Broker: the log cleaner looks for dirty logs (`log.cleaner.backoff.ms`).
    LogCleanerCheck,
    /// Broker: the log flusher checks `flush.ms` (`log.flush.scheduler.interval.ms`).
    LogFlushCheck,
    /// Follower or consumer: send the next fetch (after a backoff).
    FetchNow,
    /// Consumer: its scheduled start or stop time arrived.
    ConsumerSchedule,
    /// Broker: a request handler finished its service time.
    RequestHandled {
        /// Which request.
        token: u64,
    },
    /// Broker: register with the controller, or heartbeat (`broker.heartbeat.interval.ms`).
    BrokerHeartbeat,
    /// Controller: the earliest broker session may have expired.
    SessionCheck,
    /// Controller: preferred leader election (`leader.imbalance.check.interval.seconds`).
    LeaderImbalanceCheck,
    /// Group coordinator: the join phase's deadline (initial delay or rebalance timeout).
    GroupJoinDeadline {
        /// `group.id`.
        group: String,
        /// The rebalance it belongs to.
        token: u64,
    },
    /// Group coordinator: members that have not sent SyncGroup by now are removed.
    GroupSyncDeadline {
        /// `group.id`.
        group: String,
        /// The generation's rebalance token.
        token: u64,
    },
    /// Group coordinator: a member's session may have expired.
    GroupSession {
        /// `group.id`.
        group: String,
        /// Member id.
        member: String,
    },
    /// Group coordinator: a member id handed out with `MEMBER_ID_REQUIRED` may have expired.
    GroupPendingMember {
        /// `group.id`.
        group: String,
        /// Member id.
        member: String,
    },
    /// Group coordinator: an offset commit waited `offsets.commit.timeout.ms` for replication.
    GroupWriteTimeout {
        /// The pending write.
        write: u64,
    },
    /// Consumer: the heartbeat thread's next beat (`heartbeat.interval.ms`).
    ConsumerHeartbeat,
    /// Consumer: `auto.commit.interval.ms` elapsed.
    AutoCommit,
    /// Consumer: the application finished processing the records of its last poll.
    PollDone {
        /// Which poll.
        poll: u64,
    },
    /// Consumer: retry finding the coordinator or joining (after `retry.backoff.ms`).
    GroupRetry,
    /// Consumer: the heartbeat thread's `max.poll.interval.ms` check for poll number `poll`.
    PollTimeout {
        /// Which poll.
        poll: u64,
    },
}

impl Timer {
    /// Whether a node may find this timer obsolete ([`crate::sim::Node::timer_obsolete`]):
    /// a request or purgatory timeout, or a `max.block.ms` wait. The simulator asks the node
    /// only about these; the others (a record due, a sender wakeup: most timers) always run.
    #[inline]
    pub fn may_be_obsolete(&self) -> bool {
        matches!(
            self,
            Timer::RequestTimeout { .. }
                | Timer::MaxBlock { .. }
                | Timer::FetchWaitExpired { .. }
                | Timer::ProduceTimeout { .. }
        )
    }
}

/// Everything a handler asks the simulator to do.
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    /// Messages to send.
    pub sends: Vec<(NodeId, Message)>,
    /// Timers to arm: fire after the duration.
    pub timers: Vec<(SimDuration, Timer)>,
    /// Domain trace events.
    pub trace: Vec<TraceKind>,
    /// Connections this node closes (e.g. `NetworkClient` after a request timeout): whatever
    /// still waits on a cut link between the two is discarded with the connection. With `true`
    /// the peer is told (it sees its connection reset one link latency later).
    pub closes: Vec<(NodeId, bool)>,
}

impl Outbox {
    /// Whether no list holds memory (a default outbox), so forgetting it leaks nothing.
    pub fn owns_nothing(&self) -> bool {
        [self.sends.capacity(), self.timers.capacity(), self.trace.capacity(), self.closes.capacity()] == [0; 4]
    }
}

/// What a handler sees: the time, its own id, and the outbox.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The current simulated time.
    pub now: SimTime,
    /// The node being run.
    pub me: NodeId,
    /// Where outputs go.
    pub out: &'a mut Outbox,
}

impl Ctx<'_> {
    /// Sends `msg` to `to`.
    pub fn send(&mut self, to: NodeId, msg: Message) {
        self.out.sends.push((to, msg));
    }
    /// Arms `timer` to fire `after` from now.
    pub fn set_timer(&mut self, after: SimDuration, timer: Timer) {
        self.out.timers.push((after, timer));
    }
    /// Records a domain trace event.
    pub fn trace(&mut self, kind: TraceKind) {
        self.out.trace.push(kind);
    }
    /// Closes the connection to `peer`.
    pub fn close(&mut self, peer: NodeId) {
        self.out.closes.push((peer, false));
    }

    /// Closes the connection to `peer`, which sees it reset (a broker hanging up on a client).
    pub fn close_and_reset(&mut self, peer: NodeId) {
        self.out.closes.push((peer, true));
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn names_round_trip_and_order_by_kind_then_number() {
        for id in [NodeId::broker(3), NodeId::producer(1), NodeId::consumer(12)] {
            assert_eq!(id.to_string().parse::<NodeId>(), Ok(id));
        }
        assert!(NodeId::broker(9) < NodeId::producer(1));
        assert!(NodeId::broker(2) < NodeId::broker(10));
        assert!("broker-0".parse::<NodeId>().is_err());
        assert!("zookeeper-1".parse::<NodeId>().is_err());
        assert_eq!("controller-1".parse::<NodeId>(), Ok(NodeId::CONTROLLER));
        assert_eq!(serde_json::to_string(&NodeId::broker(2)).unwrap(), "\"broker-2\"");
    }

    #[test]
    fn the_packed_order_is_kind_then_number() {
        let kinds = [NodeKind::Broker, NodeKind::Producer, NodeKind::Consumer, NodeKind::Controller];
        let ids: Vec<NodeId> = kinds
            .iter()
            .flat_map(|&kind| [0, 1, 2, 255, 256, u16::MAX].map(|number| NodeId { kind, number }))
            .collect();
        for a in &ids {
            for b in &ids {
                assert_eq!(a.cmp(b), (a.kind, a.number).cmp(&(b.kind, b.number)), "{a:?} against {b:?}");
                assert_eq!(a.cmp(b) == std::cmp::Ordering::Equal, a == b);
            }
        }
    }
}
