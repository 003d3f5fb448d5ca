//! A Kafka broker: leader appends, acks handling with a produce purgatory, fetches from
//! followers and consumers with a fetch purgatory, follower fetching, the leader's high
//! watermark and ISR maintenance.
//!
//! Rules (shared/reference/kafka-semantics.md §6):
//! - A follower's LEO, as the leader sees it, is its fetch offset. `lastCaughtUpTime` advances to
//!   the fetch time when the fetch offset reaches the leader's LEO, or to the previous fetch time
//!   when it reaches the LEO the leader had at the previous fetch (`Replica.updateFetchState`).
//! - Leader HW = min LEO over the ISR, frozen while the ISR is smaller than
//!   `min(min.insync.replicas, replication factor)`, and never decreasing.
//! - ISR shrink every `replica.lag.time.max.ms / 2`: drop followers not caught up within the lag
//!   time. ISR expand when a follower's LEO reaches the HW.
//! - acks=all: `NOT_ENOUGH_REPLICAS` before the append when the ISR is under min ISR; otherwise
//!   the request waits until the HW covers it (`NOT_ENOUGH_REPLICAS_AFTER_APPEND` if the ISR fell
//!   under min ISR meanwhile) or its timeout passes (`REQUEST_TIMED_OUT`).
//!
//! The walking skeleton has no controller yet: leadership is the preferred replica and the ISR is
//! changed by the leader directly (AlterPartition round trips arrive with the replication issue).

use super::config::BrokerConfig;
use super::log::{AppendError, LogConfig, LogEvent, PartitionLog};
use super::node::{Ctx, NodeId, Timer};
use super::producer_state::{Check, ProducerStates};
use super::protocol::*;
use super::replication::{self, HighWatermarkInput, RemoteReplica};
use super::time::{SimDuration, SimTime};
use super::trace::{AppendRole, TraceKind};
use std::collections::{BTreeMap, BTreeSet};

/// The leader's view of one follower.
#[derive(Clone, Debug, Default)]
pub struct FollowerState {
    /// LEO as learned from the follower's last fetch offset.
    pub log_end_offset: i64,
    /// Last time the follower was caught up (ms semantics of `lastCaughtUpTimeMs`).
    pub last_caught_up: SimTime,
    /// Time of the previous fetch.
    pub last_fetch_time: SimTime,
    /// Leader LEO at the previous fetch.
    pub last_fetch_leader_leo: i64,
}

/// One partition replica hosted by this broker.
#[derive(Clone, Debug)]
pub struct Replica {
    /// Replica list in assignment order; the first is the preferred leader.
    pub replicas: Vec<u16>,
    /// Current leader.
    pub leader: u16,
    /// Current leader epoch.
    pub leader_epoch: i32,
    /// The leader's LEO when it started the current epoch (`leaderEpochStartOffsetOpt`).
    pub leader_epoch_start_offset: i64,
    /// Effective `min.insync.replicas` for the topic.
    pub min_insync_replicas: u32,
    /// The log.
    pub log: PartitionLog,
    /// Leader only: the ISR (broker ids, leader included).
    pub isr: BTreeSet<u16>,
    /// Leader only: followers' fetch state.
    pub followers: BTreeMap<u16, FollowerState>,
    /// Idempotent producers' state on this partition.
    pub producers: ProducerStates,
}

impl Replica {
    fn effective_min_isr(&self) -> usize {
        (self.min_insync_replicas as usize).min(self.replicas.len())
    }
}

#[derive(Clone, Debug)]
struct ParkedFetch {
    from: NodeId,
    request: FetchRequest,
}

#[derive(Clone, Debug)]
struct ParkedProduce {
    from: NodeId,
    correlation_id: u64,
    /// (partition, offset the HW must reach, result so far).
    waiting: Vec<(Tp, i64, ProducePartitionResponse)>,
}

/// A broker node.
#[derive(Clone, Debug)]
pub struct Broker {
    id: u16,
    config: BrokerConfig,
    replicas: BTreeMap<Tp, Replica>,
    parked_fetches: BTreeMap<u64, ParkedFetch>,
    parked_produces: BTreeMap<u64, ParkedProduce>,
    park_id_next: u64,
    correlation_id_next: u64,
    /// Follower side: the outstanding fetch to each leader.
    fetch_in_flight: BTreeMap<u16, u64>,
    /// Metadata cache: every topic's layout (leaders are static until the controller lands).
    metadata: Vec<TopicLayout>,
    /// Every broker id in the cluster.
    cluster: Vec<u16>,
    /// Next producer id this broker hands out (a block of ids per broker).
    producer_id_next: i64,
}

impl Broker {
    /// A broker hosting `replicas` (partition → replica state).
    pub fn new(id: u16, config: BrokerConfig, replicas: BTreeMap<Tp, Replica>) -> Broker {
        Broker {
            id,
            config,
            replicas,
            parked_fetches: BTreeMap::new(),
            parked_produces: BTreeMap::new(),
            park_id_next: 0,
            correlation_id_next: 0,
            fetch_in_flight: BTreeMap::new(),
            metadata: Vec::new(),
            cluster: Vec::new(),
            producer_id_next: i64::from(id) * PRODUCER_ID_BLOCK,
        }
    }

    /// Gives the broker its metadata cache: the cluster's brokers and every topic's layout.
    pub fn set_metadata(&mut self, cluster: Vec<u16>, topics: Vec<TopicLayout>) {
        self.cluster = cluster;
        self.metadata = topics;
    }

    fn handle_metadata(&mut self, ctx: &mut Ctx, from: NodeId, correlation_id: u64, topics: Vec<TopicName>) {
        let topics = self
            .metadata
            .iter()
            .filter(|t| topics.contains(&t.name))
            .map(|t| TopicMetadata {
                name: t.name.clone(),
                partitions: t
                    .replicas
                    .iter()
                    .enumerate()
                    .map(|(p, r)| PartitionMetadata {
                        partition: p as u32,
                        leader: r.first().copied(),
                        leader_epoch: 0,
                        replicas: r.clone(),
                    })
                    .collect(),
            })
            .collect();
        ctx.send(from, Message::MetadataResponse { correlation_id, brokers: self.cluster.clone(), topics });
    }

    /// InitProducerId: a new id from this broker's block, or the same id with the next epoch.
    fn handle_init_producer_id(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        correlation_id: u64,
        producer_id: i64,
        epoch: i16,
    ) {
        let (producer_id, producer_epoch) = if producer_id >= 0 {
            (producer_id, epoch.saturating_add(1))
        } else {
            self.producer_id_next += 1;
            (self.producer_id_next - 1, 0)
        };
        ctx.send(
            from,
            Message::InitProducerIdResponse { correlation_id, error: ErrorCode::None, producer_id, producer_epoch },
        );
    }

    /// Broker id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The partitions this broker hosts.
    pub fn replicas(&self) -> &BTreeMap<Tp, Replica> {
        &self.replicas
    }

    /// Current configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Replaces the configuration (a run-time config change).
    pub fn set_config(&mut self, config: BrokerConfig) {
        self.config = config;
    }

    /// Overrides `min.insync.replicas` for a topic's partitions.
    pub fn set_topic_min_isr(&mut self, topic: &str, min_isr: u32) {
        for (_, r) in self.replicas.iter_mut().filter(|(tp, _)| &*tp.topic == topic) {
            r.min_insync_replicas = min_isr;
        }
    }

    /// Sets the log settings of a topic's partitions.
    pub fn set_topic_log_config(&mut self, topic: &str, config: &LogConfig) {
        for (_, r) in self.replicas.iter_mut().filter(|(tp, _)| &*tp.topic == topic) {
            r.log.set_config(config.clone());
        }
    }

    /// Mutable access to every hosted log (to enable or drain store journals).
    pub fn logs_mut(&mut self) -> impl Iterator<Item = (&Tp, &mut PartitionLog)> {
        self.replicas.iter_mut().map(|(tp, r)| (tp, &mut r.log))
    }

    /// Starts (or restarts after a crash): in-memory request state is gone, fetching resumes.
    pub fn start(&mut self, ctx: &mut Ctx) {
        self.parked_fetches.clear();
        self.parked_produces.clear();
        self.fetch_in_flight.clear();
        let check_every = SimDuration::from_ns((self.config.replica_lag_time_max.as_ns() / 2).max(1));
        ctx.set_timer(check_every, Timer::IsrCheck);
        ctx.set_timer(self.config.log_retention_check_interval, Timer::LogRetentionCheck);
        ctx.set_timer(self.config.log_cleaner_backoff.max(SimDuration::from_ms(1)), Timer::LogCleanerCheck);
        for leader in self.leaders_followed() {
            self.send_follower_fetch(ctx, leader);
        }
    }

    /// Handles a request or response.
    pub fn handle_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            Message::ProduceRequest(req) => self.handle_produce(ctx, from, req),
            Message::FetchRequest(req) => self.handle_fetch(ctx, from, req),
            Message::FetchResponse { correlation_id, responses } => {
                self.handle_fetch_response(ctx, from, correlation_id, responses)
            }
            Message::MetadataRequest { correlation_id, topics } => {
                self.handle_metadata(ctx, from, correlation_id, topics)
            }
            Message::InitProducerIdRequest { correlation_id, producer_id, producer_epoch } => {
                self.handle_init_producer_id(ctx, from, correlation_id, producer_id, producer_epoch)
            }
            _ => {}
        }
    }

    /// Handles a timer.
    pub fn handle_timeout(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::IsrCheck => self.on_isr_check(ctx),
            Timer::LogRetentionCheck => {
                for (tp, r) in self.replicas.iter_mut() {
                    let events = r.log.delete_old_segments(ctx.now);
                    trace_log_events(ctx, tp, events);
                }
                ctx.set_timer(self.config.log_retention_check_interval, Timer::LogRetentionCheck);
            }
            Timer::LogCleanerCheck => {
                for (tp, r) in self.replicas.iter_mut() {
                    let events: Vec<LogEvent> = r.log.clean(ctx.now).into_iter().collect();
                    trace_log_events(ctx, tp, events);
                }
                ctx.set_timer(self.config.log_cleaner_backoff.max(SimDuration::from_ms(1)), Timer::LogCleanerCheck);
            }
            Timer::FetchWaitExpired { fetch_id } => {
                if let Some(parked) = self.parked_fetches.remove(&fetch_id) {
                    self.respond_fetch(ctx, parked.from, &parked.request);
                }
            }
            Timer::ProduceTimeout { produce_id } => self.expire_produce(ctx, produce_id),
            Timer::RequestTimeout { correlation_id } => self.on_follower_fetch_timeout(ctx, correlation_id),
            Timer::FetchNow => {
                for leader in self.leaders_followed() {
                    if !self.fetch_in_flight.contains_key(&leader) {
                        self.send_follower_fetch(ctx, leader);
                    }
                }
            }
            _ => {}
        }
    }

    // ----- produce -----

    fn handle_produce(&mut self, ctx: &mut Ctx, from: NodeId, req: ProduceRequest) {
        let mut waiting = Vec::new();
        let mut responses = Vec::new();
        for (tp, batch) in &req.batches {
            let result = self.append_for_produce(ctx, tp, batch, req.acks);
            match result {
                Ok(resp) if req.acks == Acks::All => {
                    let required = resp.base_offset + i64::from(batch.record_count());
                    waiting.push((tp.clone(), required, resp));
                }
                Ok(resp) => responses.push(resp),
                Err(error) => responses.push(ProducePartitionResponse { tp: tp.clone(), error, base_offset: -1 }),
            }
        }
        self.advance_after_append(ctx, req.batches.iter().map(|(tp, _)| tp));
        match req.acks {
            Acks::None => {}
            Acks::Leader => {
                ctx.send(from, Message::ProduceResponse { correlation_id: req.correlation_id, responses });
            }
            Acks::All => self.park_produce(ctx, from, &req, waiting, responses),
        }
    }

    fn append_for_produce(
        &mut self,
        ctx: &mut Ctx,
        tp: &Tp,
        batch: &RecordBatch,
        acks: Acks,
    ) -> Result<ProducePartitionResponse, ErrorCode> {
        let me = self.id;
        let replica = self.replicas.get_mut(tp).ok_or(ErrorCode::UnknownTopicOrPartition)?;
        if replica.leader != me {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        if let Err(e) = replica.log.validate(batch) {
            let error = match e {
                AppendError::RecordTooLarge { .. } => ErrorCode::MessageTooLarge,
                AppendError::BatchLargerThanSegment { .. } => ErrorCode::RecordListTooLarge,
                AppendError::MissingKey => ErrorCode::InvalidRecord,
            };
            ctx.trace(TraceKind::AppendRejected { tp: tp.clone(), error, reason: e.to_string() });
            return Err(error);
        }
        if acks == Acks::All && replica.isr.len() < replica.effective_min_isr() {
            return Err(ErrorCode::NotEnoughReplicas);
        }
        let h = batch.header();
        match replica.producers.check(h) {
            Err(error) => {
                let reason =
                    format!("producer {} epoch {} sequence {}", h.producer_id, h.producer_epoch, h.base_sequence);
                ctx.trace(TraceKind::AppendRejected { tp: tp.clone(), error, reason });
                return Err(error);
            }
            Ok(Check::Duplicate(base_offset)) => {
                ctx.trace(TraceKind::DuplicateBatch {
                    tp: tp.clone(),
                    producer_id: h.producer_id,
                    first_sequence: h.base_sequence,
                    last_sequence: h.last_sequence(),
                    base_offset,
                });
                return Ok(ProducePartitionResponse { tp: tp.clone(), error: ErrorCode::None, base_offset });
            }
            Ok(Check::Append) => {}
        }
        let (stamped, events) = replica.log.append_as_leader(batch, replica.leader_epoch, ctx.now);
        replica.producers.record(stamped.header());
        trace_log_events(ctx, tp, events);
        ctx.trace(TraceKind::BatchAppended {
            tp: tp.clone(),
            role: AppendRole::Leader,
            base_offset: stamped.base_offset(),
            records: stamped.record_count(),
            log_end_offset: replica.log.log_end_offset(),
        });
        Ok(ProducePartitionResponse { tp: tp.clone(), error: ErrorCode::None, base_offset: stamped.base_offset() })
    }

    fn park_produce(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        req: &ProduceRequest,
        waiting: Vec<(Tp, i64, ProducePartitionResponse)>,
        done: Vec<ProducePartitionResponse>,
    ) {
        let id = self.park_id_next;
        self.park_id_next += 1;
        let mut parked = ParkedProduce { from, correlation_id: req.correlation_id, waiting };
        parked.waiting.extend(done.into_iter().map(|r| (r.tp.clone(), i64::MIN, r)));
        self.parked_produces.insert(id, parked);
        ctx.set_timer(req.timeout, Timer::ProduceTimeout { produce_id: id });
        self.complete_produces(ctx);
    }

    /// Answers every parked acks=all produce whose partitions' HWs have all reached their offsets.
    fn complete_produces(&mut self, ctx: &mut Ctx) {
        let ready: Vec<u64> = self
            .parked_produces
            .iter()
            .filter(|(_, p)| p.waiting.iter().all(|(tp, required, _)| self.hw_reached(tp, *required)))
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            let parked = self.parked_produces.remove(&id).expect("id just listed");
            let responses = parked
                .waiting
                .into_iter()
                .map(|(tp, required, resp)| self.finish_partition(&tp, required, resp))
                .collect();
            ctx.send(parked.from, Message::ProduceResponse { correlation_id: parked.correlation_id, responses });
        }
    }

    fn hw_reached(&self, tp: &Tp, required: i64) -> bool {
        required == i64::MIN || self.replicas.get(tp).is_some_and(|r| r.log.high_watermark() >= required)
    }

    fn finish_partition(&self, tp: &Tp, required: i64, mut resp: ProducePartitionResponse) -> ProducePartitionResponse {
        let Some(replica) = self.replicas.get(tp) else {
            return resp;
        };
        if required != i64::MIN && replica.isr.len() < replica.effective_min_isr() {
            resp.error = ErrorCode::NotEnoughReplicasAfterAppend;
        }
        resp
    }

    fn expire_produce(&mut self, ctx: &mut Ctx, id: u64) {
        let Some(parked) = self.parked_produces.remove(&id) else {
            return;
        };
        let responses = parked
            .waiting
            .into_iter()
            .map(|(tp, required, mut resp)| {
                if !self.hw_reached(&tp, required) {
                    resp.error = ErrorCode::RequestTimedOut;
                }
                resp
            })
            .collect();
        ctx.send(parked.from, Message::ProduceResponse { correlation_id: parked.correlation_id, responses });
    }

    // ----- fetch (leader side) -----

    fn handle_fetch(&mut self, ctx: &mut Ctx, from: NodeId, req: FetchRequest) {
        if let Some(follower) = req.replica_id {
            for (tp, offset) in &req.partitions {
                self.update_follower(ctx, tp, follower, *offset);
            }
            self.advance_after_append(ctx, req.partitions.iter().map(|(tp, _)| tp));
        }
        let available = self.fetchable_bytes(&req);
        if available >= req.min_bytes || req.max_wait == SimDuration::ZERO {
            self.respond_fetch(ctx, from, &req);
            return;
        }
        let id = self.park_id_next;
        self.park_id_next += 1;
        ctx.set_timer(req.max_wait, Timer::FetchWaitExpired { fetch_id: id });
        self.parked_fetches.insert(id, ParkedFetch { from, request: req });
    }

    /// Records a follower's fetch at `offset` (its LEO) with Kafka's lastCaughtUpTime rule, and
    /// expands the ISR when it has caught up to the HW.
    fn update_follower(&mut self, ctx: &mut Ctx, tp: &Tp, follower: u16, offset: i64) {
        let me = self.id;
        let Some(replica) = self.replicas.get_mut(tp) else {
            return;
        };
        if replica.leader != me {
            return;
        }
        let leader_leo = replica.log.log_end_offset();
        let state = replica.followers.entry(follower).or_default();
        if offset >= leader_leo {
            state.last_caught_up = state.last_caught_up.max(ctx.now);
        } else if offset >= state.last_fetch_leader_leo {
            state.last_caught_up = state.last_caught_up.max(state.last_fetch_time);
        }
        state.last_fetch_leader_leo = state.last_fetch_leader_leo.max(leader_leo);
        state.last_fetch_time = ctx.now;
        state.log_end_offset = offset;
        if !replica.isr.contains(&follower)
            && crate::sim::replication::follower_can_join_isr(
                offset,
                replica.log.high_watermark(),
                replica.leader_epoch_start_offset,
            )
        {
            replica.isr.insert(follower);
            ctx.trace(TraceKind::IsrExpanded {
                tp: tp.clone(),
                added: follower,
                isr: replica.isr.iter().copied().collect(),
            });
        }
    }

    /// After appends or follower progress: move HWs, then wake parked produces and fetches.
    fn advance_after_append<'a>(&mut self, ctx: &mut Ctx, tps: impl Iterator<Item = &'a Tp>) {
        let tps: BTreeSet<&Tp> = tps.collect();
        for tp in tps {
            self.maybe_advance_leader_hw(ctx, tp);
        }
        self.complete_produces(ctx);
        self.complete_fetches(ctx);
    }

    fn maybe_advance_leader_hw(&mut self, ctx: &mut Ctx, tp: &Tp) {
        let me = self.id;
        let Some(replica) = self.replicas.get_mut(tp) else {
            return;
        };
        if replica.leader != me {
            return;
        }
        let old = replica.log.high_watermark();
        let new = leader_high_watermark(replica, me, ctx.now, self.config.replica_lag_time_max);
        if new > old {
            replica.log.set_high_watermark(new);
            ctx.trace(TraceKind::HighWatermarkAdvanced { tp: tp.clone(), from: old, to: new });
        }
    }

    fn fetchable_bytes(&self, req: &FetchRequest) -> u32 {
        req.partitions
            .iter()
            .filter_map(|(tp, offset)| {
                let r = self.replicas.get(tp).filter(|r| r.leader == self.id)?;
                Some(r.log.bytes_available(*offset, fetch_limit(r, req.replica_id)))
            })
            .sum()
    }

    fn complete_fetches(&mut self, ctx: &mut Ctx) {
        let ready: Vec<u64> = self
            .parked_fetches
            .iter()
            .filter(|(_, p)| self.fetchable_bytes(&p.request) >= p.request.min_bytes)
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            let parked = self.parked_fetches.remove(&id).expect("id just listed");
            self.respond_fetch(ctx, parked.from, &parked.request);
        }
    }

    fn respond_fetch(&self, ctx: &mut Ctx, to: NodeId, req: &FetchRequest) {
        let responses =
            req.partitions.iter().map(|(tp, offset)| self.read_partition(tp, *offset, req.replica_id)).collect();
        ctx.send(to, Message::FetchResponse { correlation_id: req.correlation_id, responses });
    }

    fn read_partition(&self, tp: &Tp, offset: i64, replica_id: Option<u16>) -> FetchPartitionResponse {
        let error = |error| FetchPartitionResponse {
            tp: tp.clone(),
            error,
            high_watermark: -1,
            fetch_offset: offset,
            batches: vec![],
        };
        let Some(replica) = self.replicas.get(tp) else {
            return error(ErrorCode::UnknownTopicOrPartition);
        };
        if replica.leader != self.id {
            return error(ErrorCode::NotLeaderOrFollower);
        }
        let hw = replica.log.high_watermark();
        let fetch_offset = if offset < 0 { hw } else { offset };
        if fetch_offset > replica.log.log_end_offset() || fetch_offset < replica.log.log_start_offset() {
            return error(ErrorCode::OffsetOutOfRange);
        }
        const FETCH_BYTES_MAX: u32 = 1 << 20;
        let batches = replica.log.read(fetch_offset, fetch_limit(replica, replica_id), FETCH_BYTES_MAX);
        FetchPartitionResponse { tp: tp.clone(), error: ErrorCode::None, high_watermark: hw, fetch_offset, batches }
    }

    // ----- ISR maintenance -----

    fn on_isr_check(&mut self, ctx: &mut Ctx) {
        let me = self.id;
        let lag_max = self.config.replica_lag_time_max;
        let mut shrunk = Vec::new();
        for (tp, replica) in self.replicas.iter_mut().filter(|(_, r)| r.leader == me) {
            let leo = replica.log.log_end_offset();
            let lagging: Vec<u16> = replica
                .isr
                .iter()
                .copied()
                .filter(|b| *b != me)
                .filter(|b| {
                    let f = replica.followers.get(b).cloned().unwrap_or_default();
                    f.log_end_offset != leo && ctx.now.saturating_since(f.last_caught_up) > lag_max
                })
                .collect();
            for b in lagging {
                replica.isr.remove(&b);
                ctx.trace(TraceKind::IsrShrunk {
                    tp: tp.clone(),
                    removed: b,
                    isr: replica.isr.iter().copied().collect(),
                });
                shrunk.push(tp.clone());
            }
        }
        self.advance_after_append(ctx, shrunk.iter());
        let check_every = SimDuration::from_ns((lag_max.as_ns() / 2).max(1));
        ctx.set_timer(check_every, Timer::IsrCheck);
    }

    // ----- follower side -----

    fn leaders_followed(&self) -> BTreeSet<u16> {
        self.replicas.values().filter(|r| r.leader != self.id).map(|r| r.leader).collect()
    }

    fn send_follower_fetch(&mut self, ctx: &mut Ctx, leader: u16) {
        let partitions: Vec<(Tp, i64)> = self
            .replicas
            .iter()
            .filter(|(_, r)| r.leader == leader)
            .map(|(tp, r)| (tp.clone(), r.log.log_end_offset()))
            .collect();
        if partitions.is_empty() {
            return;
        }
        let correlation_id = self.correlation_id_next;
        self.correlation_id_next += 1;
        self.fetch_in_flight.insert(leader, correlation_id);
        let request = FetchRequest {
            correlation_id,
            replica_id: Some(self.id),
            max_wait: self.config.replica_fetch_wait_max,
            min_bytes: self.config.replica_fetch_min_bytes,
            partitions,
        };
        ctx.send(NodeId::broker(leader), Message::FetchRequest(request));
        let timeout = self.config.replica_fetch_wait_max + self.config.replica_socket_timeout;
        ctx.set_timer(timeout, Timer::RequestTimeout { correlation_id });
    }

    fn handle_fetch_response(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        correlation_id: u64,
        responses: Vec<FetchPartitionResponse>,
    ) {
        let leader = from.number;
        if self.fetch_in_flight.get(&leader) != Some(&correlation_id) {
            return;
        }
        self.fetch_in_flight.remove(&leader);
        let mut failed = false;
        for resp in responses {
            failed |= resp.error != ErrorCode::None;
            if resp.error == ErrorCode::None {
                self.apply_fetched(ctx, resp);
            }
        }
        if failed {
            ctx.set_timer(self.config.replica_fetch_backoff, Timer::FetchNow);
        } else {
            self.send_follower_fetch(ctx, leader);
        }
    }

    /// Follower append of fetched batches, then `HW = min(leader HW, own LEO)`.
    fn apply_fetched(&mut self, ctx: &mut Ctx, resp: FetchPartitionResponse) {
        let Some(replica) = self.replicas.get_mut(&resp.tp) else {
            return;
        };
        for batch in resp.batches {
            if batch.base_offset() != replica.log.log_end_offset() {
                continue;
            }
            let (base_offset, records) = (batch.base_offset(), batch.record_count());
            replica.producers.record(batch.header());
            let events = replica.log.append_as_follower(batch, ctx.now);
            trace_log_events(ctx, &resp.tp, events);
            ctx.trace(TraceKind::BatchAppended {
                tp: resp.tp.clone(),
                role: AppendRole::Follower,
                base_offset,
                records,
                log_end_offset: replica.log.log_end_offset(),
            });
        }
        let old = replica.log.high_watermark();
        let new = resp.high_watermark.min(replica.log.log_end_offset());
        if new > old {
            replica.log.set_high_watermark(new);
            ctx.trace(TraceKind::HighWatermarkAdvanced { tp: resp.tp, from: old, to: new });
        }
    }

    fn on_follower_fetch_timeout(&mut self, ctx: &mut Ctx, correlation_id: u64) {
        let Some((&leader, _)) = self.fetch_in_flight.iter().find(|(_, c)| **c == correlation_id) else {
            return;
        };
        self.fetch_in_flight.remove(&leader);
        self.send_follower_fetch(ctx, leader);
    }
}

/// Consumers read below the HW; followers read everything up to the LEO.
fn fetch_limit(replica: &Replica, replica_id: Option<u16>) -> i64 {
    match replica_id {
        Some(_) => replica.log.log_end_offset(),
        None => replica.log.high_watermark(),
    }
}

/// The leader's HW rule ([`replication::leader_high_watermark`]) over this replica's state. The
/// maximal ISR is the ISR: ISR changes are applied at once until AlterPartition is modelled.
pub fn leader_high_watermark(replica: &Replica, leader: u16, now: SimTime, lag_max: SimDuration) -> i64 {
    let followers = replica
        .replicas
        .iter()
        .filter(|b| **b != leader)
        .map(|b| {
            let f = replica.followers.get(b).cloned().unwrap_or_default();
            RemoteReplica {
                log_end_offset: f.log_end_offset,
                in_maximal_isr: replica.isr.contains(b),
                last_caught_up_ms: f.last_caught_up.as_ms() as i64,
                eligible: true,
            }
        })
        .collect();
    let input = HighWatermarkInput {
        leader_log_end_offset: replica.log.log_end_offset(),
        high_watermark: replica.log.high_watermark(),
        committed_isr_size: replica.isr.len(),
        min_insync_replicas: replica.min_insync_replicas as usize,
        replication_factor: replica.replicas.len(),
        now_ms: now.as_ms() as i64,
        replica_lag_time_max_ms: lag_max.as_ms() as i64,
        followers,
    };
    replication::leader_high_watermark(&input)
}

/// Producer ids each broker may hand out (broker `b` allocates from `b × 1_000_000`).
pub const PRODUCER_ID_BLOCK: i64 = 1_000_000;

/// A topic as brokers build it: name, replica layout, effective min ISR and log settings.
#[derive(Clone, Debug)]
pub struct TopicLayout {
    /// Topic name.
    pub name: TopicName,
    /// Replicas per partition, preferred leader first.
    pub replicas: Vec<Vec<u16>>,
    /// Effective `min.insync.replicas`.
    pub min_insync_replicas: u32,
    /// Effective log settings.
    pub log: LogConfig,
}

/// Builds the replica states for broker `id` from topic layouts.
pub fn replicas_for_broker(id: u16, topics: &[TopicLayout], now: SimTime) -> BTreeMap<Tp, Replica> {
    let mut out = BTreeMap::new();
    for topic in topics {
        for (p, replicas) in topic.replicas.iter().enumerate() {
            if !replicas.contains(&id) {
                continue;
            }
            let leader = replicas[0];
            let isr = if leader == id { replicas.iter().copied().collect() } else { BTreeSet::new() };
            let replica = Replica {
                replicas: replicas.clone(),
                leader,
                leader_epoch: 0,
                leader_epoch_start_offset: 0,
                min_insync_replicas: topic.min_insync_replicas,
                log: PartitionLog::new(topic.log.clone(), now),
                isr,
                followers: BTreeMap::new(),
                producers: ProducerStates::default(),
            };
            out.insert(Tp::new(&topic.name, p as u32), replica);
        }
    }
    out
}

/// Records a log's events in the trace.
fn trace_log_events(ctx: &mut Ctx, tp: &Tp, events: Vec<LogEvent>) {
    for event in events {
        let tp = tp.clone();
        ctx.trace(match event {
            LogEvent::Rolled { base_offset, reason } => TraceKind::SegmentRolled { tp, base_offset, reason },
            LogEvent::IndexEntry { segment, offset, position, timestamp } => {
                TraceKind::IndexEntryAdded { tp, segment, offset, position, timestamp }
            }
            LogEvent::SegmentDeleted { base_offset, reason, bytes, log_start_offset } => {
                TraceKind::SegmentDeleted { tp, base_offset, reason, bytes, log_start_offset }
            }
            LogEvent::Truncated { to, log_end_offset, bytes } => {
                TraceKind::LogTruncated { tp, to, log_end_offset, bytes }
            }
            LogEvent::Compacted(stats) => TraceKind::LogCompacted { tp, stats },
            LogEvent::Flushed { recovery_point } => TraceKind::LogFlushed { tp, recovery_point },
        });
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn replica(leo: i64, isr: &[u16], followers: &[(u16, i64)], min_isr: u32) -> Replica {
        let mut log = PartitionLog::new(LogConfig::default(), SimTime::ZERO);
        if leo > 0 {
            let rec = Record { timestamp_ms: 0, key: None, value: Some(vec![]), headers: vec![] };
            let b = RecordBatch::build(&crate::sim::record::BatchSpec::default(), &vec![rec; leo as usize]);
            log.append_as_leader(&b, 0, SimTime::ZERO);
        }
        Replica {
            replicas: vec![1, 2, 3],
            leader: 1,
            leader_epoch: 0,
            leader_epoch_start_offset: 0,
            min_insync_replicas: min_isr,
            log,
            isr: isr.iter().copied().collect(),
            followers: followers
                .iter()
                .map(|(b, leo)| (*b, FollowerState { log_end_offset: *leo, ..Default::default() }))
                .collect(),
            producers: ProducerStates::default(),
        }
    }

    #[test]
    fn hw_is_min_leo_over_the_isr() {
        assert_eq!(
            leader_high_watermark(
                &replica(10, &[1, 2, 3], &[(2, 10), (3, 7)], 1),
                1,
                SimTime::from_ms(100_000),
                SimDuration::from_ms(30_000)
            ),
            7
        );
        assert_eq!(
            leader_high_watermark(
                &replica(10, &[1, 2], &[(2, 10), (3, 0)], 1),
                1,
                SimTime::from_ms(100_000),
                SimDuration::from_ms(30_000)
            ),
            10,
            "non-ISR replica ignored"
        );
    }

    #[test]
    fn hw_is_frozen_under_min_isr() {
        // kafka-vectors hw_scenarios/under_min_isr_followers_caught_up: ISR 2 < min ISR 3.
        assert_eq!(
            leader_high_watermark(
                &replica(10, &[1, 2], &[(2, 10), (3, 10)], 3),
                1,
                SimTime::from_ms(100_000),
                SimDuration::from_ms(30_000)
            ),
            0
        );
        assert_eq!(
            leader_high_watermark(
                &replica(10, &[1, 2, 3], &[(2, 10), (3, 10)], 3),
                1,
                SimTime::from_ms(100_000),
                SimDuration::from_ms(30_000)
            ),
            10
        );
    }
}
