//! Read-only snapshots of the simulation for rendering and summaries. Building a view never
//! changes the simulation.

use super::node::NodeId;
use super::{Node, Sim};
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
    /// Producer id, when idempotent and assigned.
    pub producer_id: Option<i64>,
    /// Effective `enable.idempotence`.
    pub idempotence: bool,
    /// CountingInterceptor totals (sent, acked, failed), when configured.
    pub interceptor_counts: Option<(u64, u64, u64)>,
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
    /// Records received.
    pub records_consumed: u64,
    /// Position per partition.
    pub positions: Vec<(String, i64)>,
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
        };
        for id in self.node_ids() {
            let label = self.label(id).unwrap_or_default().to_string();
            match self.node(id).expect("listed node exists") {
                Node::Broker(b) => view.brokers.push(broker_view(id, self.is_up(id), b)),
                Node::Producer(p) => view.producers.push(producer_view(id, label, p, self.now())),
                Node::Consumer(c) => view.consumers.push(ConsumerView {
                    id,
                    label,
                    active: c.is_active(),
                    records_consumed: c.stats().records_consumed,
                    positions: c.positions().iter().map(|(tp, o)| (tp.to_string(), *o)).collect(),
                }),
                Node::Controller(c) => view.controller = Some(controller_view(id, c)),
            }
        }
        view
    }
}

fn broker_view(id: NodeId, alive: bool, b: &super::broker::Broker) -> BrokerView {
    let replicas = b
        .replicas()
        .iter()
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
        requests_unread: b.request_channel().unread() as u32,
        replicas,
    }
}

fn controller_view(id: NodeId, c: &super::controller::Controller) -> ControllerView {
    ControllerView {
        id,
        metadata_offset: c.metadata_offset(),
        fenced: c.brokers().iter().filter(|(_, r)| r.fenced).map(|(b, _)| *b).collect(),
        partitions: c
            .partitions()
            .values()
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
        producer_id: p.producer_id().map(|(id, _)| id),
        idempotence: p.config().idempotence,
        interceptor_counts: p.interceptors().iter().find_map(|i| match i {
            super::producer::serde::Interceptor::Counting { sent, acked, failed } => Some((*sent, *acked, *failed)),
            _ => None,
        }),
    }
}
