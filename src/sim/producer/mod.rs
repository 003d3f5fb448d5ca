//! A Kafka producer (`KafkaProducer` + `RecordAccumulator` + `Sender` + `NetworkClient`),
//! modelled step by step (shared/reference §1–§3).
//!
//! `send()` path, on the application thread: wait for the topic's metadata (`max.block.ms`) →
//! choose the partition (explicit, `murmur2(key)`, or the sticky/round-robin partitioner) →
//! check the size against `max.request.size` and `buffer.memory` → append to the accumulator,
//! allocating a batch buffer from the BufferPool (blocking up to `max.block.ms` when it is
//! exhausted) → wake the sender when a batch filled or a new one was created.
//!
//! Sender loop: `ready()` → drop nodes whose connection has `max.in.flight` requests →
//! `drain()` (sequences assigned here when idempotent) → mute partitions when
//! `max.in.flight = 1` → expire batches past `delivery.timeout.ms` → one `ProduceRequest` per
//! node. Responses complete batches, or re-enqueue them for retry (exponential backoff with
//! jitter; at the deque front, or in sequence order when idempotent); a request timeout
//! disconnects the node and fails every request in flight to it, as `NetworkClient` does.

pub mod accumulator;
pub mod backoff;
pub mod batch;
pub mod partitioner;
pub mod serde;

use super::config::ProducerConfig;
use super::node::{Ctx, NodeId, Timer};
use super::partitioner::partition_for_key;
use super::protocol::*;
use super::rng::SimRng;
use super::scenario::{RecordIndex, Workload};
use super::time::{SimDuration, SimTime};
use super::trace::{BlockReason, TraceKind};
use crate::sim::collections::CollectMap;
use crate::sim::vec_map::{VecMap, VecSet};
use accumulator::{AppendResult, RecordAccumulator};
use backoff::ExponentialBackoff;
use batch::{ProducerBatch, SendId};
use partitioner::{BuiltInPartitioner, RoundRobin};
use std::collections::VecDeque;

/// Counters for the run summary and Kafka's producer metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStats {
    /// Records handed to `send()`.
    pub records_sent: u64,
    /// Records acknowledged.
    pub records_acked: u64,
    /// Failed produce attempts (batches).
    pub batch_errors: u64,
    /// Records that failed for good.
    pub records_failed: u64,
    /// Records retried (counted per retry).
    pub records_retried: u64,
    /// Produce requests sent.
    pub requests: u64,
    /// Batches sent (all attempts).
    pub batches_sent: u64,
    /// Bytes of the batches sent.
    pub batch_bytes_sent: u64,
    /// Records in the requests sent.
    pub records_in_requests: u64,
    /// Σ over the batches sent of the time from creation to that drain, ms (a retry counts
    /// again, from its creation: `SenderMetrics` records `queueTimeMs` for every batch sent).
    pub queue_time_ms_total: u64,
    /// Σ request latency of answered requests, ms.
    pub request_latency_ms_total: u64,
    /// Answered requests.
    pub responses: u64,
    /// Time the application thread spent blocked on the BufferPool, ns.
    pub pool_wait_ns: u64,
    /// Sender wakeups answered by an idle pass (see `Producer::run_idle_sender`): the
    /// simulator's own shortcut, not a Kafka metric.
    pub idle_sender_passes: u64,
}

#[derive(Clone, Debug)]
struct InFlight {
    correlation_id: u64,
    batches: Vec<ProducerBatch>,
    sent: SimTime,
    /// When the oldest of `batches` was created: none can have reached `delivery.timeout.ms`
    /// before this one has, so the expiry check (run on every wakeup of the sender, once per
    /// record under backpressure) looks inside a request only when this one has.
    oldest_created: SimTime,
}

#[derive(Clone, Debug)]
struct Blocked {
    send: SendId,
    reason: BlockReason,
    since: SimTime,
    record: Option<(Record, Option<u32>)>,
}

/// What the producer knows about its topic.
#[derive(Clone, Debug, Default)]
struct Metadata {
    version: u32,
    leaders: Option<Vec<Option<u16>>>,
    /// Each partition's leader epoch, by partition (with `leaders`).
    leader_epochs: Vec<i32>,
    /// The partitions of `leaders` that have one, in order: what the sticky and round-robin
    /// partitioners choose from (Kafka's `availablePartitionsForTopic`), kept with `leaders`
    /// instead of collected for every record.
    available: Vec<u32>,
    brokers: Vec<u16>,
    updated: SimTime,
    update_requested: bool,
    in_flight: Option<u64>,
    /// The node the metadata request went to.
    in_flight_node: u16,
}

/// Idempotent producer state (`TransactionManager` for a non-transactional producer).
#[derive(Clone, Debug, Default)]
struct Idempotence {
    producer_id: Option<(i64, i16)>,
    init_in_flight: Option<u64>,
    /// The broker the InitProducerId in flight went to.
    init_node: u16,
    next_sequence: VecMap<Tp, i32>,
    in_flight_sequences: VecMap<Tp, VecSet<i32>>,
    /// Partitions where a sequenced batch failed for good: a gap the broker will never fill.
    unresolved: VecSet<Tp>,
    /// Each partition's last acknowledged sequence (`lastAckedSequence`), under its epoch.
    last_acked: VecMap<Tp, i32>,
    /// The producer id and epoch each partition's sequences belong to: after an epoch bump a
    /// partition starts again at 0 once nothing of the old epoch is in flight for it.
    partition_epoch: VecMap<Tp, (i64, i16)>,
    /// Partitions whose sequences the next epoch bump starts again at 0
    /// (`partitionsToRewriteSequences`).
    bump_requested: VecSet<Tp>,
}

/// A producer node.
#[derive(Clone, Debug)]
pub struct Producer {
    config: ProducerConfig,
    workload: Workload,
    topic: TopicName,
    bootstrap: Vec<u16>,
    rng: SimRng,
    metadata: Metadata,
    sticky: BuiltInPartitioner,
    round_robin: RoundRobin,
    accumulator: RecordAccumulator,
    backoff: ExponentialBackoff,
    in_flight: VecMap<u16, VecDeque<InFlight>>,
    idempotence: Idempotence,
    blocked: Option<Blocked>,
    record_due: bool,
    correlation_id_next: u64,
    wakeup_at: Option<SimTime>,
    sync_pending: VecMap<SendId, SimTime>,
    /// Per leader: when it last had ready data, and when it could last be drained
    /// (`NodeLatencyStats.readyTimeMs` / `drainTimeMs`).
    node_stats: VecMap<u16, (SimTime, SimTime)>,
    interceptors: Vec<serde::Interceptor>,
    stats: ProducerStats,
    acked: Vec<AckedRecord>,
    /// Acknowledged records dropped from `acked` by [`Producer::prune_acked`].
    acked_pruned: u64,
    /// Brokers whose connection failed recently.
    reconnect: super::reconnect::ReconnectBackoff,
    /// The sender's ready check, kept between passes for its buffers: under backpressure the
    /// sender runs once per record, and a fresh check allocated each time.
    ready_scratch: accumulator::ReadyCheck,
    /// The queue sizes and partitions `update_load_stats` collects, kept for their buffers.
    load_scratch: (Vec<u32>, Vec<u32>),
    /// The last workload record, kept for its key and value buffers: the next one is written
    /// into them (an allocation and a free each per record otherwise).
    spare_record: Record,
    /// The workload's gap between records, 1 s / `rate_per_sec`: divided once, not per record.
    record_interval: SimDuration,
    /// Whether another pass of the sender would drain, expire and request nothing (see
    /// [`Producer::idle_until`]); unknown once anything but the next record reaches the
    /// producer.
    sender_idle: SenderIdle,
}

/// What the last pass of the sender knows of the next one. Any input but the next record resets
/// it, and so does arming an earlier wakeup or a record that did not fit its partition's batch.
/// A timer the simulator skips as obsolete ([`Producer::timer_obsolete`]) never reaches the
/// producer and resets nothing: it changes no state, and whether a pass is idle depends on state
/// and time only (debug builds check every idle pass against a full one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum SenderIdle {
    /// Nothing: the next pass runs in full.
    #[default]
    Unknown,
    /// A pass at this time was idle; until when that holds is worked out when first asked
    /// (most idle passes are followed by an input, not by an append that asks).
    Since(SimTime),
    /// Passes before this time are idle too.
    Until(SimTime),
}

/// A record the producer saw acknowledged: where, and which record (for the loss checker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckedRecord {
    /// Partition of the producer's topic ([`Producer::acked_tp`] gives the whole name).
    pub partition: u32,
    /// Offset the broker assigned.
    pub offset: i64,
    /// [`crate::sim::record::Record::fingerprint`] of the record sent.
    pub fingerprint: u64,
    /// The `send()` it came from (sends are numbered in order).
    pub send: u64,
}

impl Producer {
    /// A producer sending `workload`, bootstrapping from `bootstrap` brokers.
    pub fn new(config: ProducerConfig, workload: Workload, bootstrap: Vec<u16>, rng: SimRng) -> Producer {
        assert!(!bootstrap.is_empty(), "a producer needs a bootstrap broker");
        let accumulator = RecordAccumulator::new(config.batch_size_bytes, config.linger.as_ms(), config.buffer_memory);
        let interceptors = config.interceptors.iter().filter_map(|c| serde::Interceptor::from_class(c)).collect();
        let record_interval = SimDuration::from_ns(1_000_000_000 / workload.rate_per_sec.max(1));
        Producer {
            interceptors,
            topic: topic_name(&workload.topic),
            sticky: BuiltInPartitioner::new(config.batch_size_bytes),
            backoff: ExponentialBackoff::new(config.retry_backoff.as_ms(), config.retry_backoff_max.as_ms(), 200),
            config,
            workload,
            bootstrap,
            rng,
            metadata: Metadata::default(),
            round_robin: RoundRobin::default(),
            accumulator,
            in_flight: VecMap::new(),
            idempotence: Idempotence::default(),
            blocked: None,
            record_due: false,
            correlation_id_next: 0,
            wakeup_at: None,
            sync_pending: VecMap::new(),
            node_stats: VecMap::new(),
            stats: ProducerStats::default(),
            acked: Vec::new(),
            acked_pruned: 0,
            reconnect: Default::default(),
            ready_scratch: Default::default(),
            load_scratch: Default::default(),
            spare_record: Record::default(),
            record_interval,
            sender_idle: SenderIdle::Unknown,
        }
    }

    /// Every record acknowledged so far, in acknowledgement order, except those pruned (see
    /// [`Producer::prune_acked`]).
    pub fn acked(&self) -> &[AckedRecord] {
        &self.acked
    }

    /// Records acknowledged so far, pruned ones included.
    pub fn acked_count(&self) -> u64 {
        self.acked.len() as u64 + self.acked_pruned
    }

    /// The topic-partition of an acknowledged record.
    pub fn acked_tp(&self, record: &AckedRecord) -> Tp {
        Tp::new(&self.topic, record.partition)
    }

    /// Forgets acknowledged records below `below[tp]` (the lowest log start offset of every
    /// replica: retention removed them everywhere, so no check can look at them again).
    pub fn prune_acked(&mut self, below: &VecMap<Tp, i64>) {
        let starts: Vec<i64> = (0..self.metadata.leaders.as_ref().map_or(0, Vec::len) as u32)
            .map(|p| below.get(&Tp::new(&self.topic, p)).copied().unwrap_or(0))
            .collect();
        let before = self.acked.len();
        self.acked.retain(|a| a.offset >= starts.get(a.partition as usize).copied().unwrap_or(0));
        self.acked_pruned += (before - self.acked.len()) as u64;
    }

    /// Counters so far.
    pub fn stats(&self) -> &ProducerStats {
        &self.stats
    }

    /// The accumulator (deques and BufferPool).
    pub fn accumulator(&self) -> &RecordAccumulator {
        &self.accumulator
    }

    /// The configured interceptors and their state.
    pub fn interceptors(&self) -> &[serde::Interceptor] {
        &self.interceptors
    }

    /// Every Produce request in flight: (broker, correlation id, sent at, its batches), per
    /// broker oldest first.
    pub fn in_flight_requests(&self) -> Vec<(u16, u64, SimTime, &[ProducerBatch])> {
        self.in_flight
            .iter()
            .flat_map(|(b, q)| q.iter().map(move |f| (*b, f.correlation_id, f.sent, f.batches.as_slice())))
            .collect()
    }

    /// The topic its workload sends to.
    pub fn topic(&self) -> &str {
        &self.workload.topic
    }

    /// The application thread's blocked `send()`, if any: (what it waits for, since when).
    pub fn blocked_send(&self) -> Option<(BlockReason, SimTime)> {
        self.blocked.as_ref().map(|b| (b.reason, b.since))
    }

    /// Requests in flight per broker.
    pub fn in_flight_per_broker(&self) -> VecMap<u16, u32> {
        self.in_flight.iter().filter(|(_, q)| !q.is_empty()).map(|(b, q)| (*b, q.len() as u32)).collect_map()
    }

    /// Current configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// The producer id and epoch, once assigned.
    pub fn producer_id(&self) -> Option<(i64, i16)> {
        self.idempotence.producer_id
    }

    /// Replaces the configuration (a run-time config change); batching settings apply to new
    /// batches.
    pub fn set_config(&mut self, config: ProducerConfig) {
        self.sender_idle = SenderIdle::Unknown;
        self.accumulator.set_linger_ms(config.linger.as_ms());
        self.backoff = ExponentialBackoff::new(config.retry_backoff.as_ms(), config.retry_backoff_max.as_ms(), 200);
        let stats_were_read = self.node_stats_are_read();
        self.config = config;
        if !stats_were_read {
            // Kept only while read (see `node_stats_are_read`): turned on, they start afresh.
            self.node_stats.clear();
        }
    }

    /// Arms the workload.
    pub fn start(&mut self, ctx: &mut Ctx) {
        self.sender_idle = SenderIdle::Unknown;
        if self.workload.records > 0 {
            let start = SimTime::from_ms(self.workload.start_ms);
            ctx.set_timer(start.saturating_since(ctx.now), Timer::NextRecord);
        }
    }

    /// Handles a response.
    pub fn handle_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        self.sender_idle = SenderIdle::Unknown;
        match msg {
            // A response to a request still in flight shows the connection works: its reconnect
            // backoff is over (one to a request the producer gave up on, on a connection it
            // closed, shows nothing).
            Message::ProduceResponse { correlation_id, responses } => {
                self.on_produce_response(ctx, from.number, correlation_id, responses)
            }
            Message::MetadataResponse { correlation_id, brokers, topics } => {
                self.on_metadata(ctx, from.number, correlation_id, brokers, topics)
            }
            Message::InitProducerIdResponse { correlation_id, error, producer_id, producer_epoch } => {
                self.on_init_producer_id(ctx, correlation_id, error, producer_id, producer_epoch)
            }
            _ => {}
        }
    }

    /// The connection to `peer` was reset.
    pub fn handle_disconnect(&mut self, ctx: &mut Ctx, peer: NodeId) {
        self.sender_idle = SenderIdle::Unknown;
        if peer.is_broker() {
            self.on_disconnect(ctx, peer.number);
        }
    }

    /// Whether `timer` can only do nothing, now and later (asked between events):
    /// - a request timeout whose request was answered (correlation ids are never reused); the
    ///   tests mirror `on_request_timeout`'s, which does nothing else for such a timer;
    /// - a `max.block.ms` timer of a send no longer blocked: the application thread runs one
    ///   send at a time, and a send blocks again only within the event that unblocked it (a
    ///   metadata wait that turns into a buffer wait), so between events it never will.
    pub fn timer_obsolete(&self, timer: &Timer) -> bool {
        match *timer {
            Timer::RequestTimeout { correlation_id } => {
                self.metadata.in_flight != Some(correlation_id)
                    && self.idempotence.init_in_flight != Some(correlation_id)
                    && self.produce_in_flight_to(correlation_id).is_none()
            }
            Timer::MaxBlock { send } => {
                !self.blocked.as_ref().is_some_and(|b| b.send == send && b.reason != BlockReason::Get)
            }
            _ => false,
        }
    }

    /// The broker a produce request `correlation_id` went to, while it is in flight.
    fn produce_in_flight_to(&self, correlation_id: u64) -> Option<u16> {
        let sent_it = |q: &VecDeque<InFlight>| q.iter().any(|f| f.correlation_id == correlation_id);
        self.in_flight.iter().find(|(_, q)| sent_it(q)).map(|(node, _)| *node)
    }

    /// Handles a timer.
    pub fn handle_timeout(&mut self, ctx: &mut Ctx, timer: Timer) {
        if timer != Timer::NextRecord {
            self.sender_idle = SenderIdle::Unknown;
        }
        match timer {
            Timer::NextRecord => self.on_next_record(ctx),
            Timer::SenderWakeup => {
                if self.wakeup_at.is_some_and(|at| at <= ctx.now) {
                    self.wakeup_at = None;
                }
                self.run_sender(ctx);
            }
            Timer::RequestTimeout { correlation_id } => self.on_request_timeout(ctx, correlation_id),
            Timer::MaxBlock { send } => self.on_max_block(ctx, send),
            _ => {}
        }
    }
}

mod send;
mod sender;

/// A deterministic value of `len` bytes for record `index`: its decimal index, then dots.
pub fn value_bytes(index: u64, len: u32) -> Vec<u8> {
    let mut value = Vec::with_capacity((len as usize).max(20));
    write_value_bytes(&RecordIndex::new(index), len, &mut value);
    value
}

/// Replaces `out` with [`value_bytes`]`(index.get(), len)`, keeping its buffer.
pub fn write_value_bytes(index: &RecordIndex, len: u32, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(index.digits());
    out.resize(len as usize, b'.');
}

impl Producer {
    /// Kafka's producer metrics, averaged over the run so far (`elapsed` since the start):
    /// `record-send-rate`, `record-queue-time-avg` (ms), `request-latency-avg` (ms),
    /// `batch-size-avg` (bytes), `records-per-request-avg`, `record-retry-rate`,
    /// `record-error-rate`, `bufferpool-wait-ratio` and `buffer-available-bytes`.
    pub fn metrics(&self, elapsed: SimDuration) -> VecMap<&'static str, f64> {
        let s = &self.stats;
        let seconds = (elapsed.as_ns() as f64 / 1e9).max(f64::MIN_POSITIVE);
        let avg = |total: u64, n: u64| if n == 0 { 0.0 } else { total as f64 / n as f64 };
        VecMap::from([
            ("record-send-rate", s.records_in_requests as f64 / seconds),
            ("record-queue-time-avg", avg(s.queue_time_ms_total, s.batches_sent)),
            ("request-latency-avg", avg(s.request_latency_ms_total, s.responses)),
            ("batch-size-avg", avg(s.batch_bytes_sent, s.batches_sent)),
            ("records-per-request-avg", avg(s.records_in_requests, s.requests)),
            ("record-retry-rate", s.records_retried as f64 / seconds),
            ("record-error-rate", s.records_failed as f64 / seconds),
            ("bufferpool-wait-ratio", s.pool_wait_ns as f64 / elapsed.as_ns().max(1) as f64),
            ("buffer-available-bytes", self.accumulator.pool.available() as f64),
        ])
    }
}
