//! Read-only snapshots of the simulation for rendering and summaries. Building a view never
//! changes the simulation.

use super::broker::OFFSETS_TOPIC;
use super::collections::{CollectMap, CollectSet};
use super::group::coordinator::CoordinatorConfig;
use super::node::NodeId;
use super::{Node, Sim};
use crate::sim::vec_map::{VecMap, VecSet};
use serde::Serialize;

/// One partition replica as a broker holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicaView {
    /// `topic-partition`.
    pub tp: String,
    /// Leader broker id as this broker knows it (`None`: offline or not yet known).
    pub leader: Option<u16>,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// Partition epoch of the state this broker applied.
    pub partition_epoch: i32,
    /// Leader only: the ISR proposed in an AlterPartition still in flight.
    pub pending_isr: Option<Vec<u16>>,
    /// Replica list, preferred leader first.
    pub replicas: Vec<u16>,
    /// ISR as the leader knows it (empty on followers).
    pub isr: Vec<u16>,
    /// Log start offset.
    pub log_start_offset: i64,
    /// Log end offset.
    pub log_end_offset: i64,
    /// High watermark.
    pub high_watermark: i64,
    /// Batches in the log.
    pub batches: usize,
    /// Segments (the last is active), as (base offset, bytes).
    pub segments: Vec<(i64, u32)>,
}

/// A broker.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BrokerView {
    /// `broker-N`.
    pub id: NodeId,
    /// Up or crashed.
    pub alive: bool,
    /// Registered with the controller (a restarted broker is not until it is answered).
    pub registered: bool,
    /// Requests waiting for a handler.
    pub request_queue_depth: u32,
    /// Request handler threads (`num.io.threads`) and how many are working now.
    pub handlers: (u32, u32),
    /// Requests not yet read off their connections (muted, or the queue is full).
    pub requests_unread: u32,
    /// Hosted replicas.
    pub replicas: Vec<ReplicaView>,
}

/// One partition as the controller committed it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionStateView {
    /// `topic-partition`.
    pub tp: String,
    /// Leader, `None` when offline.
    pub leader: Option<u16>,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// Partition epoch.
    pub partition_epoch: i32,
    /// Committed ISR.
    pub isr: Vec<u16>,
    /// Replicas in assignment order.
    pub replicas: Vec<u16>,
}

/// The KRaft controller.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ControllerView {
    /// `controller-1`.
    pub id: NodeId,
    /// Metadata offset (one per committed change).
    pub metadata_offset: u64,
    /// Fenced brokers.
    pub fenced: Vec<u16>,
    /// Committed partition states.
    pub partitions: Vec<PartitionStateView>,
}

/// A producer batch in the accumulator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchView {
    /// Producer-local id.
    pub batch_id: u64,
    /// Records.
    pub records: u32,
    /// Estimated bytes.
    pub bytes: u32,
    /// Retry attempts so far.
    pub attempts: u32,
    /// Buffer capacity (what it fills toward).
    pub capacity: u32,
    /// Age since creation, ms.
    pub age_ms: u64,
    /// Closed for appends (full).
    pub full: bool,
}

/// A producer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProducerView {
    /// `producer-N`.
    pub id: NodeId,
    /// The scenario's name.
    pub label: String,
    /// The topic its workload sends to.
    pub topic: String,
    /// Records handed to send().
    pub records_sent: u64,
    /// Records acknowledged.
    pub records_acked: u64,
    /// Failed attempts.
    pub batch_errors: u64,
    /// Records that failed for good.
    pub records_failed: u64,
    /// `batch.size`.
    pub batch_size_bytes: u32,
    /// `max.in.flight.requests.per.connection`.
    pub in_flight_max: u32,
    /// `linger.ms`.
    pub linger_ms: u64,
    /// `acks`.
    pub acks: String,
    /// Accumulator deques: (partition, batches head first).
    pub deques: Vec<(u32, Vec<BatchView>)>,
    /// Requests in flight per broker id.
    pub in_flight: Vec<(u16, u32)>,
    /// BufferPool memory not allocated.
    pub buffer_available_bytes: u64,
    /// `buffer.memory`.
    pub buffer_total_bytes: u64,
    /// Sends blocked waiting for memory.
    pub pool_waiters: u32,
    /// Free-list buffers of `batch.size` bytes (BufferPool's `free` deque).
    pub pool_free_buffers: u32,
    /// Producer id, when idempotent and assigned.
    pub producer_id: Option<i64>,
    /// Effective `enable.idempotence`.
    pub idempotence: bool,
    /// CountingInterceptor totals (sent, acked, failed), when configured.
    pub interceptor_counts: Option<(u64, u64, u64)>,
    /// Produce requests in flight, per broker oldest first: each connection's window.
    pub requests: Vec<RequestView>,
    /// The application thread's blocked `send()`: (`metadata`, `buffer memory` or `get`, ms
    /// blocked so far).
    pub blocked: Option<(String, u64)>,
}

/// A Produce request in flight.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestView {
    /// Destination broker.
    pub broker: u16,
    /// Correlation id.
    pub correlation_id: u64,
    /// How long ago it was sent, ms.
    pub age_ms: u64,
    /// Its batches: (`topic-partition`, base sequence when idempotent, records, attempts).
    pub batches: Vec<(String, Option<i32>, u32, u32)>,
}

/// A consumer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsumerView {
    /// `consumer-N`.
    pub id: NodeId,
    /// The scenario's name.
    pub label: String,
    /// Polling or not.
    pub active: bool,
    /// Records `poll()` returned.
    pub records_consumed: u64,
    /// Records returned that this consumer or its group had returned before (at-least-once).
    pub redelivered: u64,
    /// Position (next offset `poll()` returns) per partition.
    pub positions: Vec<(String, i64)>,
    /// `records-lag` per owned partition: last fetched HW minus position.
    pub lag: Vec<(String, i64)>,
    /// Partitions it owns now.
    pub assignment: Vec<String>,
    /// `group.id` (subscribe mode).
    pub group: Option<String>,
    /// Member id, once the coordinator gave one.
    pub member_id: Option<String>,
    /// Generation it belongs to (-1: none).
    pub generation: i32,
    /// `Unjoined`, `Joining`, `Syncing` or `Stable` (subscribe mode).
    pub member_state: Option<String>,
    /// Records fetched, not yet returned by `poll()`.
    pub buffered: u64,
    /// Offset commits acknowledged and failed.
    pub commits: (u64, u64),
}

/// A consumer group as its coordinator holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupView {
    /// `group.id`.
    pub group: String,
    /// Its `__consumer_offsets` partition.
    pub offsets_partition: u32,
    /// The coordinator broker (none while no broker has loaded it).
    pub coordinator: Option<u16>,
    /// `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable`.
    pub state: String,
    /// Generation id.
    pub generation: i32,
    /// The chosen assignor.
    pub protocol: Option<String>,
    /// The leader's member id.
    pub leader: Option<String>,
    /// Members: id, consumer node, assigned partitions.
    pub members: Vec<GroupMemberView>,
    /// Committed offset per partition.
    pub committed: Vec<(String, i64)>,
    /// HW − committed offset per partition of the subscribed topics (HW if nothing committed).
    pub lag: Vec<(String, i64)>,
}

/// One member of a group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupMemberView {
    /// Member id.
    pub member_id: String,
    /// The consumer node.
    pub consumer: NodeId,
    /// Assigned partitions.
    pub assignment: Vec<String>,
}

/// The whole cluster at the current time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterView {
    /// Simulated time, ms.
    pub now_ms: u64,
    /// Brokers by id.
    pub brokers: Vec<BrokerView>,
    /// Producers.
    pub producers: Vec<ProducerView>,
    /// Consumers.
    pub consumers: Vec<ConsumerView>,
    /// The controller.
    pub controller: Option<ControllerView>,
    /// Cut directed links.
    pub cut_links: Vec<(NodeId, NodeId)>,
    /// Directed links configured unlike the network's default (slowed or lossy), with their
    /// one-way latency in ms.
    pub degraded_links: Vec<(NodeId, NodeId, u64)>,
    /// Consumer groups.
    pub groups: Vec<GroupView>,
}

impl ClusterView {
    /// The HW of every partition as its live leader holds it (`topic-partition` → HW).
    pub fn leader_high_watermarks(&self) -> VecMap<&str, i64> {
        self.brokers
            .iter()
            .flat_map(|b| b.replicas.iter().filter(move |r| b.alive && r.leader == Some(b.id.number)))
            .map(|r| (r.tp.as_str(), r.high_watermark))
            .collect_map()
    }
}

impl Sim {
    /// A snapshot of every node.
    pub fn view(&self) -> ClusterView {
        let mut view = ClusterView {
            now_ms: self.now().as_ms(),
            brokers: vec![],
            producers: vec![],
            consumers: vec![],
            controller: None,
            cut_links: self.network().cuts().collect(),
            degraded_links: self
                .network()
                .overrides()
                .map(|(from, to, link)| (from, to, link.latency.as_ms()))
                .collect(),
            groups: vec![],
        };
        let shown = self.shown_offsets_partitions();
        for id in self.node_ids() {
            let label = self.label(id).unwrap_or_default().to_string();
            match self.node(id).expect("listed node exists") {
                Node::Broker(b) => view.brokers.push(broker_view(id, self.is_up(id), b, &shown)),
                Node::Producer(p) => view.producers.push(producer_view(id, label, p, self.now())),
                Node::Consumer(c) => view.consumers.push(self.consumer_view(id, label, c)),
                Node::Controller(c) => view.controller = Some(controller_view(id, c, &shown)),
            }
        }
        view.groups = self.group_views(&view);
        view
    }

    /// `__consumer_offsets` partitions worth showing: those coordinating a scenario's group.
    fn shown_offsets_partitions(&self) -> VecSet<String> {
        self.group_ids().map(|g| format!("{OFFSETS_TOPIC}-{}", self.offsets_partition(&g))).collect_set()
    }

    fn group_ids(&self) -> impl Iterator<Item = String> + '_ {
        let ids: VecSet<String> = self
            .scenario()
            .consumers
            .iter()
            .filter_map(|c| match &c.source {
                super::scenario::ConsumerSource::Group(g) => Some(g.clone()),
                _ => None,
            })
            .collect_set();
        ids.into_iter()
    }

    fn offsets_partition(&self, group: &str) -> u32 {
        let partitions = CoordinatorConfig::from_props(&self.scenario().broker_config).offsets_partitions;
        super::group::coordinator_partition(group, partitions)
    }

    fn consumer_view(&self, id: NodeId, label: String, c: &super::consumer::Consumer) -> ConsumerView {
        let membership = c.membership();
        ConsumerView {
            id,
            label,
            active: c.is_active(),
            records_consumed: c.stats().records_consumed,
            redelivered: self.redelivered(id),
            positions: c.positions().iter().map(|(tp, o)| (tp.to_string(), *o)).collect(),
            lag: c.lag().iter().map(|(tp, l)| (tp.to_string(), *l)).collect(),
            assignment: c.assignment().iter().map(|tp| tp.to_string()).collect(),
            group: c.group_id().map(str::to_string),
            member_id: membership.map(|m| m.0.to_string()).filter(|m| !m.is_empty()),
            generation: membership.map_or(-1, |m| m.1),
            member_state: membership.map(|m| format!("{:?}", m.2)),
            buffered: c.buffered() as u64,
            commits: (c.stats().commits, c.stats().commits_failed),
        }
    }

    /// Each scenario group from the live broker that coordinates it.
    fn group_views(&self, view: &ClusterView) -> Vec<GroupView> {
        let hw = view.leader_high_watermarks();
        let mut out = vec![];
        for group in self.group_ids() {
            let partition = self.offsets_partition(&group);
            let found =
                self.node_ids().filter(|id| id.is_broker() && self.is_up(*id)).find_map(|id| match self.node(id) {
                    Some(Node::Broker(b)) => b.group_coordinator().groups().get(&group).map(|g| (id.number, g.clone())),
                    _ => None,
                });
            let topics: VecSet<String> = self
                .scenario()
                .consumers
                .iter()
                .filter(|c| matches!(&c.source, super::scenario::ConsumerSource::Group(g) if *g == group))
                .flat_map(|c| c.topics.iter().cloned())
                .collect_set();
            let committed: VecMap<String, i64> = found
                .as_ref()
                .map(|(_, g)| g.offsets.iter().map(|(tp, o)| (tp.to_string(), *o)).collect_map())
                .unwrap_or_default();
            let lag = self
                .scenario()
                .topics
                .iter()
                .filter(|t| topics.contains(&t.name))
                .flat_map(|t| (0..t.partitions).map(move |p| format!("{}-{p}", t.name)))
                .filter_map(|tp| {
                    hw.get(tp.as_str()).map(|h| (tp.clone(), (h - committed.get(&tp).copied().unwrap_or(0)).max(0)))
                })
                .collect();
            let members = found
                .as_ref()
                .map(|(_, g)| {
                    g.members
                        .values()
                        .map(|m| GroupMemberView {
                            member_id: m.member_id.clone(),
                            consumer: m.node,
                            assignment: m.assignment.iter().map(|tp| tp.to_string()).collect(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(GroupView {
                group: group.clone(),
                offsets_partition: partition,
                coordinator: found.as_ref().map(|(b, _)| *b),
                state: found.as_ref().map_or("Unknown".to_string(), |(_, g)| g.state.to_string()),
                generation: found.as_ref().map_or(-1, |(_, g)| g.generation),
                protocol: found.as_ref().and_then(|(_, g)| g.protocol.clone()),
                leader: found.as_ref().and_then(|(_, g)| g.leader.clone()),
                members,
                committed: committed.into_iter().collect(),
                lag,
            });
        }
        out
    }
}

/// Internal partitions are left out unless they coordinate a group of the scenario.
fn shown(tp: &str, offsets_shown: &VecSet<String>) -> bool {
    !tp.starts_with(OFFSETS_TOPIC) || offsets_shown.contains(tp)
}

fn broker_view(id: NodeId, alive: bool, b: &super::broker::Broker, offsets_shown: &VecSet<String>) -> BrokerView {
    let replicas = b
        .replicas()
        .iter()
        .filter(|(tp, _)| shown(&tp.to_string(), offsets_shown))
        .map(|(tp, r)| ReplicaView {
            tp: tp.to_string(),
            leader: r.leader,
            leader_epoch: r.leader_epoch,
            partition_epoch: r.partition_epoch,
            pending_isr: r.pending_isr.as_ref().map(|p| p.proposed.iter().copied().collect()),
            replicas: r.replicas.clone(),
            isr: r.isr.iter().copied().collect(),
            log_start_offset: r.log.log_start_offset(),
            log_end_offset: r.log.log_end_offset(),
            high_watermark: r.log.high_watermark(),
            batches: r.log.batches().count(),
            segments: r.log.segments().iter().map(|s| (s.base_offset(), s.size_bytes())).collect(),
        })
        .collect();
    BrokerView {
        id,
        alive,
        registered: b.is_registered(),
        request_queue_depth: b.request_channel().depth() as u32,
        handlers: (b.config().num_io_threads, b.request_channel().busy()),
        requests_unread: b.request_channel().unread() as u32,
        replicas,
    }
}

fn controller_view(id: NodeId, c: &super::controller::Controller, offsets_shown: &VecSet<String>) -> ControllerView {
    ControllerView {
        id,
        metadata_offset: c.metadata_offset(),
        fenced: c.brokers().iter().filter(|(_, r)| r.fenced).map(|(b, _)| *b).collect(),
        partitions: c
            .partitions()
            .values()
            .filter(|p| shown(&p.tp.to_string(), offsets_shown))
            .map(|p| PartitionStateView {
                tp: p.tp.to_string(),
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                isr: p.isr.clone(),
                replicas: p.replicas.clone(),
            })
            .collect(),
    }
}

fn producer_view(id: NodeId, label: String, p: &super::producer::Producer, now: super::time::SimTime) -> ProducerView {
    let deques = p
        .accumulator()
        .deques()
        .iter()
        .map(|(tp, d)| {
            let batches = d
                .iter()
                .map(|b| BatchView {
                    batch_id: b.batch_id,
                    records: b.record_count(),
                    bytes: b.estimated_size(),
                    attempts: b.attempts,
                    capacity: b.capacity,
                    age_ms: now.saturating_since(b.created).as_ms(),
                    full: b.is_full(),
                })
                .collect();
            (tp.partition, batches)
        })
        .collect();
    let pool = &p.accumulator().pool;
    ProducerView {
        id,
        label,
        topic: p.topic().to_string(),
        records_sent: p.stats().records_sent,
        records_acked: p.stats().records_acked,
        batch_errors: p.stats().batch_errors,
        records_failed: p.stats().records_failed,
        batch_size_bytes: p.config().batch_size_bytes,
        in_flight_max: p.config().in_flight_requests_max,
        linger_ms: p.config().linger.as_ms(),
        acks: p.config().acks.to_string(),
        deques,
        in_flight: p.in_flight_per_broker().into_iter().collect(),
        buffer_available_bytes: pool.available(),
        buffer_total_bytes: pool.total(),
        pool_waiters: pool.waiters.len() as u32,
        pool_free_buffers: pool.free_buffers() as u32,
        producer_id: p.producer_id().map(|(id, _)| id),
        idempotence: p.config().idempotence,
        interceptor_counts: p.interceptors().iter().find_map(|i| match i {
            super::producer::serde::Interceptor::Counting { sent, acked, failed } => Some((*sent, *acked, *failed)),
            _ => None,
        }),
        requests: p
            .in_flight_requests()
            .into_iter()
            .map(|(broker, correlation_id, sent, batches)| RequestView {
                broker,
                correlation_id,
                age_ms: now.saturating_since(sent).as_ms(),
                batches: batches
                    .iter()
                    .map(|b| (b.tp.to_string(), b.sequence.map(|(_, _, seq)| seq), b.record_count(), b.attempts))
                    .collect(),
            })
            .collect(),
        blocked: p.blocked_send().map(|(reason, since)| {
            let what = match reason {
                super::trace::BlockReason::Metadata => "metadata",
                super::trace::BlockReason::BufferMemory => "buffer memory",
                super::trace::BlockReason::Get => "get()",
            };
            (what.to_string(), now.saturating_since(since).as_ms())
        }),
    }
}
