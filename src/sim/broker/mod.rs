//! A Kafka broker: leader appends, acks handling with a produce purgatory, fetches from
//! followers and consumers with a fetch purgatory, follower fetching with divergence detection
//! and truncation, the leader's high watermark and ISR maintenance through the controller.
//!
//! Rules (shared/reference/kafka-semantics.md §6):
//! - A follower's LEO, as the leader sees it, is its fetch offset. `lastCaughtUpTime` advances to
//!   the fetch time when the fetch offset reaches the leader's LEO, or to the previous fetch time
//!   when it reaches the LEO the leader had at the previous fetch (`Replica.updateFetchState`).
//! - Leader HW = min LEO over the maximal ISR (and caught-up eligible replicas), frozen while the
//!   committed ISR is smaller than `min(min.insync.replicas, replication factor)`, and never
//!   decreasing.
//! - ISR shrink every `replica.lag.time.max.ms / 2` and ISR expand when a follower reaches the
//!   HW and the leader epoch's start offset — both proposed to the controller with
//!   `AlterPartition`; while one is in flight no other ISR change is made, and the maximal ISR
//!   (committed ∪ pending expansion) is what the HW counts.
//! - acks=all: `NOT_ENOUGH_REPLICAS` before the append when the ISR is under min ISR; otherwise
//!   the request waits until the HW covers it (`NOT_ENOUGH_REPLICAS_AFTER_APPEND` if the maximal
//!   ISR fell under min ISR meanwhile) or its timeout passes (`REQUEST_TIMED_OUT`).
//! - Leadership comes only from the controller's metadata (`makeLeader` / `makeFollower`); a
//!   broker registers after every start and heartbeats; followers send `lastFetchedEpoch` and
//!   truncate when the leader answers with a diverging epoch (KIP-101/279/320).

mod group;

pub use group::OFFSETS_TOPIC;

use super::config::BrokerConfig;
use super::group::coordinator::{CoordinatorConfig, GroupCoordinator};
use super::log::{AppendError, LogConfig, LogEvent, PartitionLog};
use super::node::{Ctx, NodeId, Timer};
use super::producer_state::ProducerStates as Producers;
use super::producer_state::{Check, ProducerStates};
use super::protocol::*;
use super::replication::{self, HighWatermarkInput, RemoteReplica};
use super::request_channel::{Request, RequestChannel};
use super::scenario::ServiceTime;
use super::time::{SimDuration, SimTime};
use super::tp_map::TpMap;
use super::trace::{AppendRole, TraceKind};
use crate::sim::collections::{CollectMap, CollectSet};
use crate::sim::vec_map::{VecMap, VecSet};
use std::ops::Bound;

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

/// An ISR change sent to the controller and not yet answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingIsr {
    /// The proposed ISR.
    pub proposed: VecSet<u16>,
    /// The maximal ISR while it is pending: committed ∪ proposed (a shrink still counts the
    /// replicas it removes; an expansion counts the new one at once).
    pub maximal: VecSet<u16>,
    /// When it was sent (resent if unanswered for `replica.lag.time.max.ms`).
    pub sent_at: SimTime,
}

/// One partition replica hosted by this broker.
#[derive(Clone, Debug)]
pub struct Replica {
    /// Replica list in assignment order; the first is the preferred leader.
    pub replicas: Vec<u16>,
    /// Current leader as this broker last learned it; `None` when offline or not yet known.
    pub leader: Option<u16>,
    /// Current leader epoch.
    pub leader_epoch: i32,
    /// Partition epoch of the state this broker applied.
    pub partition_epoch: i32,
    /// The leader's LEO when it started the current epoch (`leaderEpochStartOffsetOpt`).
    pub leader_epoch_start_offset: i64,
    /// Effective `min.insync.replicas` for the topic.
    pub min_insync_replicas: u32,
    /// The log.
    pub log: PartitionLog,
    /// Leader only: the committed ISR (broker ids, leader included).
    pub isr: VecSet<u16>,
    /// Leader only: an AlterPartition in flight.
    pub pending_isr: Option<PendingIsr>,
    /// Leader only: followers' fetch state.
    pub followers: VecMap<u16, FollowerState>,
    /// Idempotent producers' state on this partition.
    pub producers: ProducerStates,
}

impl Replica {
    fn effective_min_isr(&self) -> usize {
        (self.min_insync_replicas as usize).min(self.replicas.len())
    }

    /// The maximal ISR: the committed ISR plus a pending expansion.
    pub fn maximal_isr(&self) -> &VecSet<u16> {
        self.pending_isr.as_ref().map_or(&self.isr, |p| &p.maximal)
    }

    fn is_leader(&self, me: u16) -> bool {
        self.leader == Some(me)
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
    replicas: TpMap<Replica>,
    parked_fetches: VecMap<u64, ParkedFetch>,
    parked_produces: VecMap<u64, ParkedProduce>,
    park_id_next: u64,
    correlation_id_next: u64,
    /// Follower side: the outstanding fetch to each leader.
    fetch_in_flight: VecMap<u16, u64>,
    /// Metadata cache: every partition's committed state, as last pushed by the controller.
    metadata: VecMap<Tp, PartitionState>,
    /// Unfenced brokers, as last pushed by the controller.
    live_brokers: Vec<u16>,
    /// The last metadata offset applied.
    metadata_offset: u64,
    /// This broker process's run number (bumped on every restart).
    incarnation: u32,
    /// The current registration with the controller, if any.
    broker_epoch: Option<i64>,
    /// Next producer id this broker hands out (a block of ids per broker).
    producer_id_next: i64,
    /// The request path: connections, request queue, handlers.
    channel: RequestChannel,
    /// Requests a handler is working on, by token, with their service time.
    in_service: VecMap<u64, (Request, SimDuration)>,
    service_token_next: u64,
    service_time: ServiceTime,
    /// The group coordinator for the offsets partitions this broker leads.
    coordinator: GroupCoordinator,
    /// A deliberately broken rule (tests of the checkers only).
    broken_rule: Option<BrokenRule>,
}

/// Rules a test can break on purpose to show that the checkers catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokenRule {
    /// The leader's HW follows its own LEO, ignoring the in-sync followers.
    HwIgnoresFollowers,
}

impl Broker {
    /// A broker hosting `replicas` (partition → replica state).
    pub fn new(id: u16, config: BrokerConfig, replicas: VecMap<Tp, Replica>) -> Broker {
        Broker {
            id,
            config,
            replicas: TpMap::from(replicas),
            parked_fetches: VecMap::new(),
            parked_produces: VecMap::new(),
            park_id_next: 0,
            correlation_id_next: 0,
            fetch_in_flight: VecMap::new(),
            metadata: VecMap::new(),
            live_brokers: Vec::new(),
            metadata_offset: 0,
            incarnation: 1,
            broker_epoch: None,
            producer_id_next: i64::from(id) * PRODUCER_ID_BLOCK,
            channel: RequestChannel::default(),
            in_service: VecMap::new(),
            service_token_next: 0,
            service_time: ServiceTime::default(),
            broken_rule: None,
            coordinator: GroupCoordinator::new(
                CoordinatorConfig::from_props(&super::config::Props::empty(super::config::Scope::Broker)),
                super::rng::SimRng::new(u64::from(id)),
            ),
        }
    }

    /// Breaks a rule on purpose (tests of the checkers only).
    #[doc(hidden)]
    pub fn break_rule(&mut self, rule: BrokenRule) {
        self.broken_rule = Some(rule);
    }

    /// Sets the handlers' time per request (the machine's speed).
    pub fn set_service_time(&mut self, service_time: ServiceTime) {
        self.service_time = service_time;
    }

    /// The request path's queue and counters.
    pub fn request_channel(&self) -> &RequestChannel {
        &self.channel
    }

    /// Kafka's request metrics over `elapsed`: `RequestQueueSize` (now),
    /// `RequestQueueTimeMs` (average), `RequestHandlerAvgIdlePercent` (fraction of handler
    /// time idle) and `RequestsHandled`.
    pub fn request_metrics(&self, elapsed: SimDuration) -> VecMap<&'static str, f64> {
        let stats = self.channel.stats();
        let handled = stats.handled.max(1) as f64;
        let capacity = elapsed.as_ns() as f64 * f64::from(self.config.num_io_threads);
        let idle = if capacity > 0.0 { 1.0 - (stats.busy.as_ns() as f64 / capacity).min(1.0) } else { 1.0 };
        VecMap::from([
            ("RequestQueueSize", self.channel.depth() as f64),
            ("RequestQueueTimeMs", stats.queue_time.as_ns() as f64 / 1e6 / handled),
            ("RequestHandlerAvgIdlePercent", idle),
            ("RequestsHandled", stats.handled as f64),
        ])
    }

    /// Seeds a broker of an already formed cluster: registered with `broker_epoch`, holding the
    /// controller's initial metadata (offset 0).
    pub fn set_metadata(&mut self, broker_epoch: i64, live_brokers: Vec<u16>, partitions: Vec<PartitionState>) {
        self.broker_epoch = Some(broker_epoch);
        self.live_brokers = live_brokers;
        self.metadata = partitions.into_iter().map(|p| (p.tp.clone(), p)).collect_map();
    }

    /// The metadata cache: every partition's state as this broker last learned it.
    pub fn metadata(&self) -> &VecMap<Tp, PartitionState> {
        &self.metadata
    }

    /// Whether the broker holds a registration with the controller.
    pub fn is_registered(&self) -> bool {
        self.broker_epoch.is_some()
    }

    fn handle_metadata(&mut self, ctx: &mut Ctx, from: NodeId, correlation_id: u64, topics: Vec<TopicName>) {
        let mut by_topic: VecMap<TopicName, Vec<PartitionMetadata>> = VecMap::new();
        for (tp, st) in self.metadata.iter().filter(|(tp, _)| topics.contains(&tp.topic)) {
            by_topic.entry(tp.topic.clone()).or_default().push(PartitionMetadata {
                partition: tp.partition,
                leader: st.leader,
                leader_epoch: st.leader_epoch,
                replicas: st.replicas.clone(),
            });
        }
        let topics = by_topic.into_iter().map(|(name, partitions)| TopicMetadata { name, partitions }).collect();
        ctx.send(from, Message::MetadataResponse { correlation_id, brokers: self.live_brokers.clone(), topics });
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
    pub fn replicas(&self) -> &TpMap<Replica> {
        &self.replicas
    }

    /// Its replicas, to damage a log in a test of the safety checks.
    #[cfg(test)]
    pub(crate) fn replicas_mut(&mut self) -> &mut TpMap<Replica> {
        &mut self.replicas
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

    /// Starts: arms the periodic work and starts fetching from the leaders it follows.
    pub fn start(&mut self, ctx: &mut Ctx) {
        let check_every = SimDuration::from_ns((self.config.replica_lag_time_max.as_ns() / 2).max(1));
        ctx.set_timer(check_every, Timer::IsrCheck);
        // `LogManager.startup` schedules retention and the flusher log.initial.task.delay.ms
        // after start, then every interval; the cleaner thread starts at once.
        let first_run = self.config.log_initial_task_delay;
        ctx.set_timer(first_run, Timer::LogRetentionCheck);
        ctx.set_timer(self.config.log_cleaner_backoff.max(SimDuration::from_ms(1)), Timer::LogCleanerCheck);
        ctx.set_timer(self.config.heartbeat_interval, Timer::BrokerHeartbeat);
        if self.config.log_flush_scheduler_interval.is_some() {
            ctx.set_timer(first_run, Timer::LogFlushCheck);
        }
        if self.broker_epoch.is_none() {
            self.send_registration(ctx);
        }
        // The formed cluster's first leaders coordinate from the start.
        let led: Vec<Tp> =
            self.replicas.iter().filter(|(_, r)| r.is_leader(self.id)).map(|(tp, _)| tp.clone()).collect();
        for tp in led {
            self.maybe_load_groups(ctx, &tp);
        }
        for leader in self.leaders_followed() {
            self.send_follower_fetch(ctx, leader);
        }
    }

    /// Restarts after a crash: everything in memory is gone (requests, registration, which
    /// replicas lead); the logs are what the disk kept. The broker registers again and learns
    /// leadership from the controller's snapshot before it serves anything.
    pub fn restart(&mut self, ctx: &mut Ctx) {
        self.parked_fetches.clear();
        self.parked_produces.clear();
        self.fetch_in_flight.clear();
        self.channel.clear();
        self.in_service.clear();
        self.coordinator.clear();
        self.incarnation += 1;
        self.broker_epoch = None;
        self.metadata_offset = 0;
        for r in self.replicas.values_mut() {
            r.leader = None;
            r.isr.clear();
            r.followers.clear();
            r.pending_isr = None;
            r.producers = rebuild_producer_states(&r.log);
        }
        self.start(ctx);
    }

    // ----- controller side: registration, heartbeats, metadata -----

    fn send_registration(&mut self, ctx: &mut Ctx) {
        ctx.send(NodeId::CONTROLLER, Message::BrokerRegistration { incarnation: self.incarnation });
    }

    fn on_heartbeat_timer(&mut self, ctx: &mut Ctx) {
        match self.broker_epoch {
            None => self.send_registration(ctx),
            Some(broker_epoch) => ctx.send(
                NodeId::CONTROLLER,
                Message::BrokerHeartbeat { broker_epoch, metadata_offset: self.metadata_offset },
            ),
        }
        ctx.set_timer(self.config.heartbeat_interval, Timer::BrokerHeartbeat);
    }

    fn on_metadata_update(&mut self, ctx: &mut Ctx, update: MetadataUpdate) {
        let applies = if update.snapshot {
            update.offset >= self.metadata_offset
        } else {
            update.prev_offset == self.metadata_offset
        };
        if !applies {
            return;
        }
        self.metadata_offset = update.offset;
        self.live_brokers = update.live_brokers;
        for state in update.partitions {
            self.apply_partition_state(ctx, state);
        }
        for leader in self.leaders_followed() {
            if !self.fetch_in_flight.contains_key(&leader) {
                self.send_follower_fetch(ctx, leader);
            }
        }
        let tps: Vec<Tp> = self.replicas.keys().cloned().collect();
        self.advance_after_append(ctx, tps.iter());
    }

    /// Applies a committed partition state: `makeLeader`, `makeFollower`, or a new committed
    /// ISR under the same leader epoch. States older than what the replica has are ignored.
    fn apply_partition_state(&mut self, ctx: &mut Ctx, state: PartitionState) {
        if self.metadata.get(&state.tp).is_some_and(|c| c.partition_epoch > state.partition_epoch) {
            return;
        }
        self.metadata.insert(state.tp.clone(), state.clone());
        let me = self.id;
        let Some(r) = self.replicas.get(&state.tp) else { return };
        if state.leader_epoch < r.leader_epoch || (r.leader.is_some() && state.partition_epoch < r.partition_epoch) {
            return;
        }
        let new_epoch = state.leader_epoch > r.leader_epoch || r.leader.is_none();
        if state.leader == Some(me) {
            if new_epoch || !r.is_leader(me) {
                self.become_leader(ctx, &state);
            } else {
                self.commit_isr(ctx, &state);
            }
        } else if new_epoch || r.leader != state.leader || r.is_leader(me) {
            self.become_follower(ctx, &state);
        } else {
            self.replicas.get_mut(&state.tp).expect("hosted").partition_epoch = state.partition_epoch;
        }
    }

    fn become_leader(&mut self, ctx: &mut Ctx, state: &PartitionState) {
        let me = self.id;
        let r = self.replicas.get_mut(&state.tp).expect("hosted");
        let leo = r.log.log_end_offset();
        r.leader = Some(me);
        r.leader_epoch = state.leader_epoch;
        r.partition_epoch = state.partition_epoch;
        r.leader_epoch_start_offset = leo;
        r.log.assign_epoch(state.leader_epoch, leo);
        r.isr = state.isr.iter().copied().collect_set();
        r.pending_isr = None;
        // `Replica.resetReplicaState`: LEO unknown until the follower fetches; in-sync
        // followers count as caught up now.
        r.followers = r
            .replicas
            .iter()
            .filter(|b| **b != me)
            .map(|b| {
                let caught_up = if r.isr.contains(b) { ctx.now } else { SimTime::ZERO };
                (*b, FollowerState { log_end_offset: -1, last_caught_up: caught_up, ..Default::default() })
            })
            .collect_map();
        ctx.trace(TraceKind::BecameLeader {
            tp: state.tp.clone(),
            leader_epoch: state.leader_epoch,
            start_offset: leo,
            isr: state.isr.clone(),
        });
        self.maybe_load_groups(ctx, &state.tp);
    }

    fn become_follower(&mut self, ctx: &mut Ctx, state: &PartitionState) {
        let me = self.id;
        let r = self.replicas.get_mut(&state.tp).expect("hosted");
        let was_leader = r.is_leader(me);
        r.leader = state.leader;
        r.leader_epoch = state.leader_epoch;
        r.partition_epoch = state.partition_epoch;
        r.isr.clear();
        r.followers.clear();
        r.pending_isr = None;
        ctx.trace(TraceKind::BecameFollower {
            tp: state.tp.clone(),
            leader: state.leader,
            leader_epoch: state.leader_epoch,
        });
        // `addFetcherForPartitions`: a fresh fetch to the new leader; an older one still in flight
        // (perhaps to a previous incarnation of that broker) is forgotten.
        if let Some(leader) = state.leader {
            self.fetch_in_flight.remove(&leader);
        }
        if was_leader {
            self.fail_parked_produces(ctx, &state.tp);
            self.maybe_unload_groups(ctx, &state.tp);
        }
    }

    /// A new committed ISR under the current leader epoch (an AlterPartition result, or the
    /// controller removing a fenced broker).
    fn commit_isr(&mut self, ctx: &mut Ctx, state: &PartitionState) {
        let r = self.replicas.get_mut(&state.tp).expect("hosted");
        let new: VecSet<u16> = state.isr.iter().copied().collect_set();
        let isr = state.isr.clone();
        for removed in r.isr.difference(&new) {
            ctx.trace(TraceKind::IsrShrunk { tp: state.tp.clone(), removed: *removed, isr: isr.clone() });
        }
        for added in new.difference(&r.isr) {
            ctx.trace(TraceKind::IsrExpanded { tp: state.tp.clone(), added: *added, isr: isr.clone() });
        }
        if r.pending_isr.is_some() && state.partition_epoch > r.partition_epoch {
            r.pending_isr = None;
        }
        r.isr = new;
        r.partition_epoch = state.partition_epoch;
    }

    fn on_alter_partition_response(&mut self, ctx: &mut Ctx, tp: Tp, error: ErrorCode, state: Option<PartitionState>) {
        let me = self.id;
        let Some(r) = self.replicas.get_mut(&tp).filter(|r| r.is_leader(me)) else { return };
        r.pending_isr = None;
        match state {
            Some(state) if error == ErrorCode::None => self.apply_partition_state(ctx, state),
            _ => ctx.trace(TraceKind::AlterPartitionFailed { tp: tp.clone(), error }),
        }
        self.advance_after_append(ctx, std::iter::once(&tp));
    }

    /// Proposes `isr` for `tp` to the controller; `maximal` is what the HW counts meanwhile.
    fn propose_isr(&mut self, ctx: &mut Ctx, tp: &Tp, proposed: VecSet<u16>, maximal: VecSet<u16>) {
        let Some(broker_epoch) = self.broker_epoch else { return };
        let me = self.id;
        let r = self.replicas.get_mut(tp).expect("hosted");
        let isr: Vec<u16> = proposed.iter().copied().collect();
        r.pending_isr = Some(PendingIsr { proposed, maximal, sent_at: ctx.now });
        let proposal = IsrProposal {
            tp: tp.clone(),
            leader: me,
            leader_epoch: r.leader_epoch,
            partition_epoch: r.partition_epoch,
            isr: isr.clone(),
        };
        ctx.trace(TraceKind::AlterPartitionSent { tp: tp.clone(), isr });
        ctx.send(NodeId::CONTROLLER, Message::AlterPartition { broker_epoch, proposal });
    }

    /// Handles a message: client and follower requests go through the request channel; the
    /// controller's messages and responses to this broker's own fetches are handled at once.
    pub fn handle_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        if is_request(&msg) {
            self.channel.receive(from, msg, self.config.queued_max_requests, ctx.now);
        } else {
            self.handle_other(ctx, from, msg);
        }
        self.pump(ctx);
    }

    /// Hands queued requests to free handlers; a zero service time acts at once. Every event
    /// the broker handles ends with this, and so does a change of its config (more handlers or
    /// queue room take waiting requests then).
    pub fn pump(&mut self, ctx: &mut Ctx) {
        let (threads, capacity) = (self.config.num_io_threads, self.config.queued_max_requests);
        let service_time = self.service_time;
        while let Some((request, time)) =
            self.channel.take(threads, capacity, ctx.now, |r| service_time.for_bytes(r.msg.size_bytes()))
        {
            let queue_time = ctx.now.saturating_since(request.enqueued);
            if queue_time > SimDuration::ZERO {
                ctx.trace(TraceKind::RequestDequeued {
                    from: request.from,
                    api: request.msg.api_name(),
                    queue_time,
                    queue_depth: self.channel.depth() as u32,
                });
            }
            if time == SimDuration::ZERO {
                self.channel.finish(time);
                self.process(ctx, request);
            } else {
                let token = self.service_token_next;
                self.service_token_next += 1;
                self.in_service.insert(token, (request, time));
                ctx.set_timer(time, Timer::RequestHandled { token });
            }
        }
    }

    /// A handler finished its service time: the broker acts on the request now.
    fn on_request_handled(&mut self, ctx: &mut Ctx, token: u64) {
        if let Some((request, time)) = self.in_service.remove(&token) {
            self.channel.finish(time);
            self.process(ctx, request);
        }
    }

    /// Acts on a request; unless it waits in a purgatory, its response is out and the
    /// connection is read again.
    fn process(&mut self, ctx: &mut Ctx, request: Request) {
        let from = request.from;
        match request.msg {
            Message::ProduceRequest(req) => self.handle_produce(ctx, from, req),
            Message::FetchRequest(req) => self.handle_fetch(ctx, from, req),
            Message::MetadataRequest { correlation_id, topics } => {
                self.handle_metadata(ctx, from, correlation_id, topics)
            }
            Message::InitProducerIdRequest { correlation_id, producer_id, producer_epoch } => {
                self.handle_init_producer_id(ctx, from, correlation_id, producer_id, producer_epoch)
            }
            Message::Group(g) if g.is_coordinator_request() => {
                // Unmuted when the coordinator answers (see `send_group_responses`).
                return self.handle_group(ctx, from, *g);
            }
            Message::Group(g) => self.handle_group(ctx, from, *g),
            other => unreachable!("not a request: {}", other.api_name()),
        }
        let parked = self.parked_produces.values().any(|p| p.from == from)
            || self.parked_fetches.values().any(|p| p.from == from);
        if !parked {
            self.responded(ctx, from);
        }
    }

    /// The response on `from`'s connection was sent: unmute it.
    fn responded(&mut self, ctx: &mut Ctx, from: NodeId) {
        self.channel.unmute(from, self.config.queued_max_requests, ctx.now);
    }

    fn handle_other(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            Message::FetchResponse { correlation_id, responses } => {
                self.handle_fetch_response(ctx, from, correlation_id, responses)
            }
            Message::BrokerRegistrationResponse { broker_epoch } => self.broker_epoch = Some(broker_epoch),
            Message::BrokerHeartbeatResponse { error: ErrorCode::StaleBrokerEpoch, .. } => self.broker_epoch = None,
            Message::MetadataUpdate(update) => self.on_metadata_update(ctx, update),
            Message::AlterPartitionResponse { tp, error, state } => {
                self.on_alter_partition_response(ctx, tp, error, state.map(|s| *s))
            }
            _ => {}
        }
    }

    /// Handles a timer.
    pub fn handle_timeout(&mut self, ctx: &mut Ctx, timer: Timer) {
        self.on_timer(ctx, timer);
        self.pump(ctx);
    }

    /// Whether `timer` would do nothing, now and whenever it fires later in this incarnation:
    /// its parked fetch or produce was answered, or its follower fetch came back (park ids and
    /// correlation ids only count up). Nearly half of a swarm seed's broker timers are such, and
    /// the simulator skips them without running the broker, or cancels them before they are due. The request-queue pump
    /// that ends every event would find nothing to do after them: the one at the end of the
    /// broker's last event (or config change) left no handler free with a request waiting.
    pub fn timer_obsolete(&self, timer: &Timer) -> bool {
        match timer {
            Timer::FetchWaitExpired { fetch_id } => !self.parked_fetches.contains_key(fetch_id),
            Timer::ProduceTimeout { produce_id } => !self.parked_produces.contains_key(produce_id),
            Timer::RequestTimeout { correlation_id } => self.follower_fetch_leader(*correlation_id).is_none(),
            _ => false,
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::RequestHandled { token } => self.on_request_handled(ctx, token),
            Timer::IsrCheck => self.on_isr_check(ctx),
            Timer::BrokerHeartbeat => self.on_heartbeat_timer(ctx),
            Timer::LogFlushCheck => {
                for (tp, r) in self.replicas.iter_mut() {
                    trace_log_events(ctx, tp, &mut r.log.flush_if_due(ctx.now).into_iter());
                }
                if let Some(every) = self.config.log_flush_scheduler_interval {
                    ctx.set_timer(every, Timer::LogFlushCheck);
                }
            }
            Timer::LogRetentionCheck => {
                for (tp, r) in self.replicas.iter_mut() {
                    let events = r.log.delete_old_segments(ctx.now);
                    trace_log_events(ctx, tp, &mut events.into_iter());
                }
                ctx.set_timer(self.config.log_retention_check_interval, Timer::LogRetentionCheck);
            }
            Timer::LogCleanerCheck => {
                for (tp, r) in self.replicas.iter_mut() {
                    trace_log_events(ctx, tp, &mut r.log.clean(ctx.now).into_iter());
                }
                ctx.set_timer(self.config.log_cleaner_backoff.max(SimDuration::from_ms(1)), Timer::LogCleanerCheck);
            }
            Timer::FetchWaitExpired { fetch_id } => {
                if let Some(parked) = self.parked_fetches.remove(&fetch_id) {
                    self.respond_fetch(ctx, parked.from, &parked.request);
                    self.responded(ctx, parked.from);
                }
            }
            Timer::ProduceTimeout { produce_id } => self.expire_produce(ctx, produce_id),
            Timer::GroupJoinDeadline { .. }
            | Timer::GroupSyncDeadline { .. }
            | Timer::GroupSession { .. }
            | Timer::GroupPendingMember { .. }
            | Timer::GroupWriteTimeout { .. } => self.on_group_timer(ctx, timer),
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
            // No response is expected, so `handleProduceRequest` closes the connection when a
            // partition failed: the producer learns of it by the disconnect and refreshes its
            // metadata. Requests not read yet go with the connection.
            Acks::None if responses.iter().any(|r| r.error != ErrorCode::None) => {
                self.channel.drop_unread(from);
                ctx.close_and_reset(from);
            }
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
        if !replica.is_leader(me) {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        if acks == Acks::All && replica.isr.len() < replica.effective_min_isr() {
            return Err(ErrorCode::NotEnoughReplicas);
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
        trace_log_events(ctx, tp, &mut events.into_iter());
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
        if self.produce_ready(&parked) {
            // Nothing to wait for (an ISR of the leader alone): answered now, and `process`
            // reads the connection again. Completing it as a parked produce would read it a
            // second time, and the connection's next two requests would run side by side.
            self.answer_produce(ctx, parked);
        } else {
            self.parked_produces.insert(id, parked);
            ctx.set_timer(req.timeout, Timer::ProduceTimeout { produce_id: id });
        }
        self.complete_produces(ctx);
    }

    /// Sends a completed acks=all produce's response.
    fn answer_produce(&mut self, ctx: &mut Ctx, parked: ParkedProduce) {
        let responses =
            parked.waiting.into_iter().map(|(tp, required, resp)| self.finish_partition(&tp, required, resp)).collect();
        ctx.send(parked.from, Message::ProduceResponse { correlation_id: parked.correlation_id, responses });
    }

    /// Answers every parked acks=all produce whose partitions' HWs have all reached their offsets.
    fn complete_produces(&mut self, ctx: &mut Ctx) {
        let ready: Vec<u64> =
            self.parked_produces.iter().filter(|(_, p)| self.produce_ready(p)).map(|(id, _)| *id).collect();
        for id in ready {
            let parked = self.parked_produces.remove(&id).expect("id just listed");
            let from = parked.from;
            self.answer_produce(ctx, parked);
            self.responded(ctx, from);
        }
    }

    /// Whether every partition of a parked produce has its HW at the offset it waits for.
    fn produce_ready(&self, parked: &ParkedProduce) -> bool {
        parked.waiting.iter().all(|(tp, required, _)| self.hw_reached(tp, *required))
    }

    fn hw_reached(&self, tp: &Tp, required: i64) -> bool {
        required == i64::MIN || self.replicas.get(tp).is_some_and(|r| r.log.high_watermark() >= required)
    }

    fn finish_partition(&self, tp: &Tp, required: i64, mut resp: ProducePartitionResponse) -> ProducePartitionResponse {
        let Some(replica) = self.replicas.get(tp) else {
            return resp;
        };
        if required != i64::MIN && replica.maximal_isr().len() < replica.effective_min_isr() {
            resp.error = ErrorCode::NotEnoughReplicasAfterAppend;
        }
        resp
    }

    /// Leadership of `tp` moved away: parked produces waiting on it answer
    /// `NOT_LEADER_OR_FOLLOWER` for it (the producer refreshes metadata and retries).
    fn fail_parked_produces(&mut self, ctx: &mut Ctx, tp: &Tp) {
        for parked in self.parked_produces.values_mut() {
            for (t, required, resp) in parked.waiting.iter_mut().filter(|(t, r, _)| t == tp && *r != i64::MIN) {
                debug_assert_eq!(t, tp);
                *required = i64::MIN;
                resp.error = ErrorCode::NotLeaderOrFollower;
            }
        }
        self.complete_produces(ctx);
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
        self.responded(ctx, parked.from);
    }

    // ----- fetch (leader side) -----

    /// A fetch (`ReplicaManager.fetchMessages`): read first (`Partition.fetchRecords` reads,
    /// then records the follower's fetch state), so an answer sent at once carries the HW from
    /// before this fetch moved it — the follower's HW trails the leader's by a round. A fetch
    /// that is not answered at once is only weighed, not read, and is then tried as a delayed
    /// fetch before it waits (`tryCompleteElseWatch`); if that completes it, it is read after
    /// the follower's state moved, as `DelayedFetch.onComplete` reads. Otherwise it waits in
    /// the purgatory and is read when it completes.
    fn handle_fetch(&mut self, ctx: &mut Ctx, from: NodeId, req: FetchRequest) {
        let answer = self.weigh_fetch(&req);
        let responses = (answer == FetchAnswer::AtOnce).then(|| self.read_fetch(&req));
        if let Some(follower) = req.replica_id {
            for fp in &req.partitions {
                if self.fetch_problem(fp, true).is_none() {
                    self.update_follower(ctx, &fp.tp, follower, fp.fetch_offset);
                }
            }
            self.after_follower_fetch(ctx, &req);
        }
        if let Some(responses) = responses {
            ctx.send(from, Message::FetchResponse { correlation_id: req.correlation_id, responses });
            return;
        }
        // Since the weighing, a follower's fetch state and perhaps HWs moved: no purgatory test
        // reads the first, and a follower's fetch reads to the LEO, not the HW.
        debug_assert_eq!(answer == FetchAnswer::AsDelayed, self.fetch_satisfied(&req), "weighed, then tried");
        if answer == FetchAnswer::AsDelayed {
            self.respond_fetch(ctx, from, &req);
            return;
        }
        let id = self.park_id_next;
        self.park_id_next += 1;
        ctx.set_timer(req.max_wait, Timer::FetchWaitExpired { fetch_id: id });
        self.parked_fetches.insert(id, ParkedFetch { from, request: req });
    }

    /// Why this broker cannot serve `fp` as asked: an error, or (followers) the diverging epoch.
    fn fetch_problem(&self, fp: &FetchPartition, follower: bool) -> Option<(ErrorCode, Option<(i32, i64)>)> {
        self.fetch_problem_of(self.replicas.get(&fp.tp), fp, follower)
    }

    /// [`Broker::fetch_problem`] given `fp`'s replica here, if any.
    fn fetch_problem_of(
        &self,
        replica: Option<&Replica>,
        fp: &FetchPartition,
        follower: bool,
    ) -> Option<(ErrorCode, Option<(i32, i64)>)> {
        let Some(r) = replica else {
            return Some((ErrorCode::UnknownTopicOrPartition, None));
        };
        if !r.is_leader(self.id) {
            return Some((ErrorCode::NotLeaderOrFollower, None));
        }
        if fp.current_leader_epoch >= 0 && fp.current_leader_epoch < r.leader_epoch {
            return Some((ErrorCode::FencedLeaderEpoch, None));
        }
        if fp.current_leader_epoch > r.leader_epoch {
            return Some((ErrorCode::UnknownLeaderEpoch, None));
        }
        if follower && fp.last_fetched_epoch >= 0 {
            let (epoch, end) = r.log.end_offset_for(fp.last_fetched_epoch);
            if epoch < fp.last_fetched_epoch || end < fp.fetch_offset {
                return Some((ErrorCode::None, Some((epoch, end))));
            }
        }
        None
    }

    /// Records a follower's fetch at `offset` (its LEO) with Kafka's lastCaughtUpTime rule, and
    /// proposes an ISR expansion when it has caught up to the HW and the epoch start offset.
    fn update_follower(&mut self, ctx: &mut Ctx, tp: &Tp, follower: u16, offset: i64) {
        let me = self.id;
        let Some(replica) = self.replicas.get_mut(tp).filter(|r| r.is_leader(me)) else {
            return;
        };
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
        let joins = replica.pending_isr.is_none()
            && !replica.isr.contains(&follower)
            && self.live_brokers.contains(&follower)
            && replication::follower_can_join_isr(
                offset,
                replica.log.high_watermark(),
                replica.leader_epoch_start_offset,
            );
        if joins {
            let mut proposed = replica.isr.clone();
            proposed.insert(follower);
            self.propose_isr(ctx, tp, proposed.clone(), proposed);
        }
    }

    /// After appends or other changes to what the purgatories wait on: move HWs, then wake
    /// parked produces, fetches and group writes.
    fn advance_after_append<'a>(&mut self, ctx: &mut Ctx, tps: impl Iterator<Item = &'a Tp> + Clone) {
        self.advance_hws(ctx, tps);
        self.complete_delayed(ctx);
    }

    /// A follower's fetch moved its fetch state: HWs may move (`maybeIncrementLeaderHW`), and
    /// only if one did are the purgatories tried (`tryCompleteDelayedRequests` runs when
    /// `leaderHWIncremented`). A follower's fetch changes neither a leader log nor an epoch, and
    /// a fetch is parked only when the purgatory's test fails, so with no HW moved nothing parked
    /// can complete. Debug builds check that, for fetches with `min_bytes` ≤ 1: the cleaner may
    /// grow a compacted batch (a tombstone's new timestamp), which can lift a larger
    /// `min_bytes` over the line with no append; as in Kafka, where the cleaner tries no delayed
    /// fetch either, such a fetch then waits for the next append, HW move or its `max_wait`.
    ///
    /// Followers fetch after every append; this skips the more than half of their purgatory
    /// passes that moved no HW (−0.9% of the swarm's instructions).
    fn after_follower_fetch(&mut self, ctx: &mut Ctx, req: &FetchRequest) {
        if self.advance_hws(ctx, req.partitions.iter().map(|fp| &fp.tp)) {
            self.complete_delayed(ctx);
        } else {
            debug_assert!(
                !self.parked_fetches.values().any(|p| p.request.min_bytes <= 1 && self.fetch_satisfied(&p.request)),
                "a parked fetch became ready without a HW moving"
            );
            debug_assert!(
                !self.parked_produces.values().any(|p| self.produce_ready(p)),
                "a parked produce became ready without a HW moving"
            );
            // Group writes are still tried: a pass with nothing pending returns at once, and
            // the skip was not checked for them.
            self.complete_group_writes(ctx);
        }
    }

    /// Moves the HWs of `tps` in partition order, each partition once; true if any moved.
    /// Fetch requests list their partitions in that order already (a produce request often
    /// does), so the sorted copy is made only for a request that does not.
    fn advance_hws<'a>(&mut self, ctx: &mut Ctx, tps: impl Iterator<Item = &'a Tp> + Clone) -> bool {
        let mut moved = false;
        if tps.clone().is_sorted_by(|a, b| a < b) {
            tps.for_each(|tp| moved |= self.maybe_advance_leader_hw(ctx, tp));
        } else {
            let sorted: VecSet<&Tp> = tps.collect_set();
            sorted.into_iter().for_each(|tp| moved |= self.maybe_advance_leader_hw(ctx, tp));
        }
        moved
    }

    /// Tries the produce, fetch and group-write purgatories, in that order.
    fn complete_delayed(&mut self, ctx: &mut Ctx) {
        self.complete_produces(ctx);
        self.complete_fetches(ctx);
        self.complete_group_writes(ctx);
    }

    /// Moves `tp`'s HW if this broker leads it and the HW rule allows; true if it moved.
    fn maybe_advance_leader_hw(&mut self, ctx: &mut Ctx, tp: &Tp) -> bool {
        let me = self.id;
        let lag_max = self.config.replica_lag_time_max;
        let Some(replica) = self.replicas.get(tp).filter(|r| r.is_leader(me)) else {
            return false;
        };
        let old = replica.log.high_watermark();
        if old >= replica.log.log_end_offset() {
            // Nothing can move: the rule's candidate (and the test-only rule's LEO) is at most the
            // LEO. This runs after every follower fetch, and between appends a caught-up leader's
            // HW is at its LEO.
            return false;
        }
        let new = match self.broken_rule {
            // Test-only: the HW ignores the followers (as if the ISR held only the leader).
            Some(BrokenRule::HwIgnoresFollowers) => replica.log.log_end_offset(),
            None => leader_high_watermark(replica, me, &self.live_brokers, ctx.now, lag_max),
        };
        if new <= old {
            return false;
        }
        self.replicas.get_mut(tp).expect("hosted").log.set_high_watermark(new);
        ctx.trace(TraceKind::HighWatermarkAdvanced { tp: tp.clone(), from: old, to: new });
        true
    }

    /// A parked fetch can complete (`DelayedFetch.tryComplete`): a partition it asks for can no
    /// longer be served as asked, or its offset and the end it reads to lie in different
    /// segments, or the bytes the partitions count reach `min_bytes`. This runs over every
    /// parked fetch after every append and HW move.
    fn fetch_satisfied(&self, req: &FetchRequest) -> bool {
        let mut bytes = 0u32;
        for fp in &req.partitions {
            let replica = self.replicas.get(&fp.tp);
            if self.fetch_problem_of(replica, fp, req.replica_id.is_some()).is_some() {
                return true;
            }
            let r = replica.expect("a partition without a problem is hosted here");
            let (offset, end) = fetch_range(r, fp, req.replica_id);
            match r.log.fetch_progress(offset, end, req.partition_max_bytes).add_to(bytes) {
                Some(sum) => bytes = sum,
                None => return true,
            }
        }
        bytes >= req.min_bytes
    }

    /// Answers every satisfied parked fetch, in id order. Answering one reads the logs and
    /// unmutes a connection, which no other fetch's satisfaction reads, so each is found after
    /// the one before it was answered (no list of them is made).
    fn complete_fetches(&mut self, ctx: &mut Ctx) {
        let mut after = None;
        while let Some(id) = self.next_satisfied_fetch(after) {
            after = Some(id);
            let parked = self.parked_fetches.remove(&id).expect("id just found");
            self.respond_fetch(ctx, parked.from, &parked.request);
            self.responded(ctx, parked.from);
        }
    }

    /// The first parked fetch above `after` (any, for `None`) that can complete.
    fn next_satisfied_fetch(&self, after: Option<u64>) -> Option<u64> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut later = self.parked_fetches.range((start, Bound::Unbounded));
        later.find(|(_, p)| self.fetch_satisfied(&p.request)).map(|(id, _)| *id)
    }

    fn respond_fetch(&self, ctx: &mut Ctx, to: NodeId, req: &FetchRequest) {
        let responses = self.read_fetch(req);
        ctx.send(to, Message::FetchResponse { correlation_id: req.correlation_id, responses });
    }

    /// Reads every requested partition within the request's byte limits (see
    /// [`Broker::plan_fetch`]) into a response.
    fn read_fetch(&self, req: &FetchRequest) -> Vec<FetchPartitionResponse> {
        self.plan_fetch(req).map(PartitionRead::into_response).collect()
    }

    /// How a fetch arriving now is answered (`ReplicaManager.fetchMessages`): at once when
    /// `max_wait` is zero, or the read has an error or a diverging epoch, or reaches
    /// `min_bytes`; else as a delayed fetch that completes on its first try
    /// ([`Broker::fetch_satisfied`]: it counts up to `partition_max_bytes` of a partition,
    /// where the read stops at `max_bytes` for the whole response, and it completes a fetch
    /// whose offset and end lie in different segments); else it parks.
    ///
    /// Weighs the read without copying it: most fetches park (seven in ten in the swarm), and a
    /// fetch answered now is planned twice, which costs less than copying every parked one.
    fn weigh_fetch(&self, req: &FetchRequest) -> FetchAnswer {
        if req.max_wait == SimDuration::ZERO {
            return FetchAnswer::AtOnce;
        }
        let mut bytes = 0u32;
        let mut delayed = Some(0u32);
        for read in self.plan_fetch(req) {
            if read.error != ErrorCode::None || read.diverging_epoch.is_some() {
                return FetchAnswer::AtOnce;
            }
            bytes += read.bytes();
            // A read with data answers at once unless `min_bytes` is above 1: only then does
            // the delayed test need its own count.
            if let Some(sum) = delayed.filter(|_| read.batches.is_empty() || req.min_bytes > 1) {
                let log = read.log.expect("a read without a problem has its log");
                delayed = log.fetch_progress(read.fetch_offset, read.end, req.partition_max_bytes).add_to(sum);
            }
        }
        if bytes >= req.min_bytes {
            FetchAnswer::AtOnce
        } else if delayed.is_none_or(|sum| sum >= req.min_bytes) {
            FetchAnswer::AsDelayed
        } else {
            FetchAnswer::Parked
        }
    }

    /// The read of each requested partition, in request order: each partition up to
    /// `partition_max_bytes`, the whole response up to `max_bytes`; only the first batch of the
    /// first partition with data may exceed them (KIP-74), so a fetch always makes progress.
    fn plan_fetch<'a>(&'a self, req: &'a FetchRequest) -> impl Iterator<Item = PartitionRead<'a>> + 'a {
        let mut remaining = req.max_bytes;
        let mut any = false;
        req.partitions.iter().map(move |fp| {
            let limit = remaining.min(req.partition_max_bytes);
            let mut read = self.read_partition(fp, req.replica_id, limit);
            if any && read.bytes() > limit {
                read.batches = &[];
            }
            let bytes = read.bytes();
            any |= bytes > 0;
            remaining = remaining.saturating_sub(bytes);
            read
        })
    }

    fn read_partition<'a>(
        &'a self,
        fp: &'a FetchPartition,
        replica_id: Option<u16>,
        bytes_max: u32,
    ) -> PartitionRead<'a> {
        let mut read = PartitionRead {
            tp: &fp.tp,
            error: ErrorCode::None,
            high_watermark: -1,
            log_start_offset: -1,
            fetch_offset: fp.fetch_offset,
            batches: &[],
            diverging_epoch: None,
            log: None,
            end: -1,
        };
        let replica = self.replicas.get(&fp.tp);
        if let Some((error, diverging)) = self.fetch_problem_of(replica, fp, replica_id.is_some()) {
            read.error = error;
            read.diverging_epoch = diverging;
            if let Some(r) = replica.filter(|_| error == ErrorCode::None) {
                read.high_watermark = r.log.high_watermark();
                read.log_start_offset = r.log.log_start_offset();
            }
            return read;
        }
        let replica = replica.expect("a partition without a problem is hosted here");
        read.log_start_offset = replica.log.log_start_offset();
        read.high_watermark = replica.log.high_watermark();
        let (fetch_offset, end) = fetch_range(replica, fp, replica_id);
        if fetch_offset > replica.log.log_end_offset() || fetch_offset < replica.log.log_start_offset() {
            read.error = ErrorCode::OffsetOutOfRange;
            return read;
        }
        read.end = end;
        read.batches = replica.log.read(fetch_offset, read.end, bytes_max);
        read.fetch_offset = fetch_offset;
        read.log = Some(&replica.log);
        read
    }

    // ----- ISR maintenance -----

    /// `maybeShrinkIsr`: every `replica.lag.time.max.ms / 2`, propose removing the followers
    /// that are not caught up; resend an AlterPartition left unanswered that long.
    fn on_isr_check(&mut self, ctx: &mut Ctx) {
        let me = self.id;
        let lag_max = self.config.replica_lag_time_max;
        let led: Vec<Tp> = self.replicas.iter().filter(|(_, r)| r.is_leader(me)).map(|(tp, _)| tp.clone()).collect();
        for tp in led {
            let r = &self.replicas[&tp];
            if let Some(p) = &r.pending_isr {
                if ctx.now.saturating_since(p.sent_at) > lag_max {
                    let (proposed, maximal) = (p.proposed.clone(), p.maximal.clone());
                    self.propose_isr(ctx, &tp, proposed, maximal);
                }
                continue;
            }
            let leo = r.log.log_end_offset();
            let lagging: VecSet<u16> = r
                .isr
                .iter()
                .copied()
                .filter(|b| *b != me)
                .filter(|b| {
                    let f = r.followers.get(b).cloned().unwrap_or_default();
                    f.log_end_offset != leo && ctx.now.saturating_since(f.last_caught_up) > lag_max
                })
                .collect_set();
            if !lagging.is_empty() {
                let proposed = r.isr.difference(&lagging).copied().collect_set();
                let maximal = r.isr.clone();
                self.propose_isr(ctx, &tp, proposed, maximal);
            }
        }
        let check_every = SimDuration::from_ns((lag_max.as_ns() / 2).max(1));
        ctx.set_timer(check_every, Timer::IsrCheck);
    }

    // ----- follower side -----

    fn leaders_followed(&self) -> VecSet<u16> {
        self.replicas.values().filter_map(|r| r.leader).filter(|l| *l != self.id).collect_set()
    }

    fn send_follower_fetch(&mut self, ctx: &mut Ctx, leader: u16) {
        let partitions: Vec<FetchPartition> = self
            .replicas
            .iter()
            .filter(|(_, r)| r.leader == Some(leader))
            .map(|(tp, r)| FetchPartition {
                tp: tp.clone(),
                fetch_offset: r.log.log_end_offset(),
                current_leader_epoch: r.leader_epoch,
                last_fetched_epoch: r.log.epochs().latest_epoch().unwrap_or(replication::UNDEFINED_EPOCH),
            })
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
            max_bytes: self.config.replica_fetch_response_max_bytes,
            partition_max_bytes: self.config.replica_fetch_max_bytes,
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
            if self.replicas.get(&resp.tp).is_none_or(|r| r.leader != Some(leader)) {
                continue;
            }
            match (resp.error, resp.diverging_epoch) {
                (ErrorCode::None, Some((epoch, end_offset))) => {
                    self.truncate_diverged(ctx, &resp.tp, epoch, end_offset)
                }
                (ErrorCode::None, None) => self.apply_fetched(ctx, resp),
                (ErrorCode::OffsetOutOfRange, _) if resp.log_start_offset >= 0 => self.on_out_of_range(ctx, &resp),
                _ => failed = true,
            }
        }
        if failed {
            ctx.set_timer(self.config.replica_fetch_backoff, Timer::FetchNow);
        } else {
            self.send_follower_fetch(ctx, leader);
        }
    }

    /// The leader answered with a diverging epoch: truncate where the logs agree
    /// ([`replication::follower_truncation_offset`]); the next fetch continues from there.
    fn truncate_diverged(&mut self, ctx: &mut Ctx, tp: &Tp, epoch: i32, end_offset: i64) {
        let r = self.replicas.get_mut(tp).expect("hosted");
        let to = replication::follower_truncation_offset(
            epoch,
            end_offset,
            r.log.epochs(),
            r.log.log_end_offset(),
            r.log.high_watermark(),
        );
        ctx.trace(TraceKind::DivergenceDetected { tp: tp.clone(), epoch, end_offset, truncate_to: to });
        let truncated = r.log.truncate_to(to, ctx.now);
        if truncated.is_some() {
            r.producers = rebuild_producer_states(&r.log);
        }
        trace_log_events(ctx, tp, &mut truncated.into_iter());
    }

    /// The follower's fetch offset is outside the leader's log. Below the leader's log start
    /// (retention moved on while it was away): start over, empty, at the leader's log start
    /// (`truncateFullyAndStartAt`). Past the leader's end (divergence detection normally catches
    /// that first): truncate to the leader's HW.
    fn on_out_of_range(&mut self, ctx: &mut Ctx, resp: &FetchPartitionResponse) {
        let r = self.replicas.get_mut(&resp.tp).expect("hosted");
        let event = if r.log.log_end_offset() < resp.log_start_offset {
            Some(r.log.truncate_fully_and_start_at(resp.log_start_offset, ctx.now))
        } else {
            r.log.truncate_to(resp.high_watermark.max(0), ctx.now)
        };
        r.producers = rebuild_producer_states(&r.log);
        trace_log_events(ctx, &resp.tp, &mut event.into_iter());
    }

    /// Follower append of fetched batches, then `HW = min(leader HW, own LEO)` — which can move
    /// the follower's HW down when a new leader's HW trails (`UnifiedLog.updateHighWatermark`).
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
            trace_log_events(ctx, &resp.tp, &mut events.into_iter());
            ctx.trace(TraceKind::BatchAppended {
                tp: resp.tp.clone(),
                role: AppendRole::Follower,
                base_offset,
                records,
                log_end_offset: replica.log.log_end_offset(),
            });
        }
        let old = replica.log.high_watermark();
        let new = resp.high_watermark.min(replica.log.log_end_offset()).max(replica.log.log_start_offset());
        if new != old {
            replica.log.set_high_watermark(new);
            ctx.trace(TraceKind::HighWatermarkAdvanced { tp: resp.tp, from: old, to: new });
        }
    }

    /// The connection to `peer` was reset: a fetch in flight to it is gone; fetch again after
    /// `replica.fetch.backoff.ms` (by then the controller may have moved leadership).
    pub fn handle_disconnect(&mut self, ctx: &mut Ctx, peer: NodeId) {
        if peer.is_broker() && self.fetch_in_flight.remove(&peer.number).is_some() {
            ctx.set_timer(self.config.replica_fetch_backoff, Timer::FetchNow);
        }
    }

    /// The leader this broker's follower fetch `correlation_id` went to, while it is in flight.
    fn follower_fetch_leader(&self, correlation_id: u64) -> Option<u16> {
        self.fetch_in_flight.iter().find(|(_, c)| **c == correlation_id).map(|(leader, _)| *leader)
    }

    fn on_follower_fetch_timeout(&mut self, ctx: &mut Ctx, correlation_id: u64) {
        let Some(leader) = self.follower_fetch_leader(correlation_id) else {
            return;
        };
        self.fetch_in_flight.remove(&leader);
        ctx.close(NodeId::broker(leader));
        self.send_follower_fetch(ctx, leader);
    }
}

/// Rebuilds idempotent producers' state from the batches a log holds (after truncation or a
/// restart, as Kafka reloads it from the log and its snapshots).
fn rebuild_producer_states(log: &PartitionLog) -> Producers {
    let mut states = Producers::default();
    for batch in log.batches() {
        states.record(batch.header());
    }
    states
}

/// Requests that go through the request channel (clients and followers); everything else is
/// the controller's or a response to this broker.
fn is_request(msg: &Message) -> bool {
    matches!(
        msg,
        Message::ProduceRequest(_)
            | Message::FetchRequest(_)
            | Message::MetadataRequest { .. }
            | Message::InitProducerIdRequest { .. }
    ) || matches!(msg, Message::Group(g) if g.is_request())
}

/// Where a fetch of `fp` starts (a negative fetch offset means the HW) and the offset it reads
/// to ([`fetch_limit`]).
fn fetch_range(replica: &Replica, fp: &FetchPartition, replica_id: Option<u16>) -> (i64, i64) {
    let offset = if fp.fetch_offset < 0 { replica.log.high_watermark() } else { fp.fetch_offset };
    (offset, fetch_limit(replica, replica_id))
}

/// Consumers read below the HW; followers read everything up to the LEO.
fn fetch_limit(replica: &Replica, replica_id: Option<u16>) -> i64 {
    match replica_id {
        Some(_) => replica.log.log_end_offset(),
        None => replica.log.high_watermark(),
    }
}

/// One partition of a fetch as the leader reads it, borrowing the log's batches: weighed for
/// `fetch.min.bytes`, or copied into a [`FetchPartitionResponse`].
struct PartitionRead<'a> {
    tp: &'a Tp,
    error: ErrorCode,
    high_watermark: i64,
    log_start_offset: i64,
    fetch_offset: i64,
    batches: &'a [RecordBatch],
    diverging_epoch: Option<(i32, i64)>,
    /// The log read, when the read got that far (no error).
    log: Option<&'a PartitionLog>,
    /// The offset the read stops before: the HW for a consumer, the LEO for a follower.
    end: i64,
}

/// How [`Broker::weigh_fetch`] answers a fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FetchAnswer {
    /// Read and answered before the follower's fetch state moves.
    AtOnce,
    /// Completed by its first try as a delayed fetch: read and answered after it.
    AsDelayed,
    /// Waits in the purgatory.
    Parked,
}

impl PartitionRead<'_> {
    /// Bytes of the batches read.
    fn bytes(&self) -> u32 {
        self.batches.iter().map(RecordBatch::size_bytes).sum()
    }

    /// The response's entry for this partition (the batches' bytes are shared, not copied).
    fn into_response(self) -> FetchPartitionResponse {
        FetchPartitionResponse {
            tp: self.tp.clone(),
            error: self.error,
            high_watermark: self.high_watermark,
            log_start_offset: self.log_start_offset,
            fetch_offset: self.fetch_offset,
            batches: self.batches.to_vec(),
            diverging_epoch: self.diverging_epoch,
        }
    }
}

/// The leader's HW rule ([`replication::leader_high_watermark`]) over this replica's state:
/// the committed ISR gates, the maximal ISR and caught-up unfenced replicas count.
pub fn leader_high_watermark(
    replica: &Replica,
    leader: u16,
    live_brokers: &[u16],
    now: SimTime,
    lag_max: SimDuration,
) -> i64 {
    let followers = replica.replicas.iter().filter(move |b| **b != leader).map(|b| {
        let f = replica.followers.get(b).cloned().unwrap_or_default();
        RemoteReplica {
            log_end_offset: f.log_end_offset,
            in_maximal_isr: replica.maximal_isr().contains(b),
            last_caught_up_ms: f.last_caught_up.as_ms() as i64,
            eligible: live_brokers.contains(b),
        }
    });
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
    replication::leader_high_watermark(input)
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
pub fn replicas_for_broker(id: u16, topics: &[TopicLayout], now: SimTime) -> VecMap<Tp, Replica> {
    let mut out = VecMap::new();
    for topic in topics {
        for (p, replicas) in topic.replicas.iter().enumerate() {
            if !replicas.contains(&id) {
                continue;
            }
            let leader = replicas[0];
            let isr = if leader == id { replicas.iter().copied().collect_set() } else { VecSet::new() };
            let mut log = PartitionLog::new(topic.log.clone(), now);
            if leader == id {
                log.assign_epoch(0, 0);
            }
            let replica = Replica {
                replicas: replicas.clone(),
                leader: Some(leader),
                leader_epoch: 0,
                partition_epoch: 0,
                leader_epoch_start_offset: 0,
                min_insync_replicas: topic.min_insync_replicas,
                log,
                isr,
                pending_isr: None,
                followers: VecMap::new(),
                producers: ProducerStates::default(),
            };
            out.insert(Tp::new(&topic.name, p as u32), replica);
        }
    }
    out
}

/// Traces what a log did. One compiled copy for every kind of event list (an iterator object,
/// not a generic: a copy per list type cost a kilobyte of wasm each).
fn trace_log_events(ctx: &mut Ctx, tp: &Tp, events: &mut dyn Iterator<Item = LogEvent>) {
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
            leader: Some(1),
            leader_epoch: 0,
            partition_epoch: 0,
            leader_epoch_start_offset: 0,
            min_insync_replicas: min_isr,
            log,
            isr: isr.iter().copied().collect(),
            pending_isr: None,
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
                &[1, 2, 3],
                SimTime::from_ms(100_000),
                SimDuration::from_ms(30_000)
            ),
            7
        );
        assert_eq!(
            leader_high_watermark(
                &replica(10, &[1, 2], &[(2, 10), (3, 0)], 1),
                1,
                &[1, 2, 3],
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
                &[1, 2, 3],
                SimTime::from_ms(100_000),
                SimDuration::from_ms(30_000)
            ),
            0
        );
        assert_eq!(
            leader_high_watermark(
                &replica(10, &[1, 2, 3], &[(2, 10), (3, 10)], 3),
                1,
                &[1, 2, 3],
                SimTime::from_ms(100_000),
                SimDuration::from_ms(30_000)
            ),
            10
        );
    }
}
