//! A consumer client: fetches from partition leaders, reads below the high watermark, tracks a
//! position per partition.
//!
//! In the walking skeleton a consumer either has partitions assigned (`assign`) or is the only
//! member of its group and reads every partition of its topics. Group coordination, commits and
//! poll-loop timing are the consumer-group issue's work. When a leader moves (an error such as
//! `NOT_LEADER_OR_FOLLOWER`, or a fetch that times out) it refreshes metadata from a broker and
//! fetches from the new leader.

use super::config::{ConsumerConfig, OffsetReset};
use super::node::{Ctx, NodeId, Timer};
use super::protocol::*;
use super::time::SimTime;
use super::trace::TraceKind;
use std::collections::BTreeMap;

/// Counters for the run summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Records received.
    pub records_consumed: u64,
    /// Fetch requests sent.
    pub fetches: u64,
}

/// A consumer node.
#[derive(Clone, Debug)]
pub struct Consumer {
    config: ConsumerConfig,
    /// Partition → its leader broker.
    leaders: BTreeMap<Tp, u16>,
    positions: BTreeMap<Tp, i64>,
    /// Broker → correlation id of the outstanding fetch.
    in_flight: BTreeMap<u16, u64>,
    /// Brokers to ask for metadata, tried in turn.
    bootstrap: Vec<u16>,
    /// The outstanding metadata request: (correlation id, broker asked).
    metadata_in_flight: Option<(u64, u16)>,
    metadata_next: usize,
    /// Brokers whose connection failed recently.
    reconnect: super::reconnect::ReconnectBackoff,
    correlation_id_next: u64,
    start: SimTime,
    stop: Option<SimTime>,
    active: bool,
    stats: ConsumerStats,
}

impl Consumer {
    /// A consumer reading `leaders`' partitions between `start` and `stop`; `bootstrap` lists
    /// the brokers it may ask for metadata.
    pub fn new(
        config: ConsumerConfig,
        leaders: BTreeMap<Tp, u16>,
        bootstrap: Vec<u16>,
        start: SimTime,
        stop: Option<SimTime>,
    ) -> Consumer {
        Consumer {
            config,
            leaders,
            positions: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            bootstrap,
            metadata_in_flight: None,
            metadata_next: 0,
            reconnect: Default::default(),
            correlation_id_next: 0,
            start,
            stop,
            active: false,
            stats: ConsumerStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &ConsumerStats {
        &self.stats
    }

    /// Position (next offset to read) per partition.
    pub fn positions(&self) -> &BTreeMap<Tp, i64> {
        &self.positions
    }

    /// Whether it is polling.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Sets the next offset to read on `tp` (`KafkaConsumer.seek`).
    pub fn seek(&mut self, tp: Tp, offset: i64) {
        self.positions.insert(tp, offset);
    }

    /// Replaces the configuration (a run-time config change).
    pub fn set_config(&mut self, config: ConsumerConfig) {
        self.config = config;
    }

    /// Arms the start (and stop) times.
    pub fn start(&mut self, ctx: &mut Ctx) {
        ctx.set_timer(self.start.saturating_since(ctx.now), Timer::ConsumerSchedule);
        if let Some(stop) = self.stop {
            ctx.set_timer(stop.saturating_since(ctx.now), Timer::ConsumerSchedule);
        }
    }

    /// Begins polling (a join), if not already.
    pub fn join(&mut self, ctx: &mut Ctx) {
        if self.active {
            return;
        }
        self.active = true;
        self.in_flight.clear();
        ctx.trace(TraceKind::ConsumerStarted { partitions: self.leaders.keys().cloned().collect() });
        for broker in self.brokers() {
            self.send_fetch(ctx, broker);
        }
    }

    /// Stops polling (a leave).
    pub fn leave(&mut self, ctx: &mut Ctx) {
        if self.active {
            self.active = false;
            self.in_flight.clear();
            ctx.trace(TraceKind::ConsumerStopped);
        }
    }

    /// Handles a response.
    pub fn handle_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            Message::FetchResponse { correlation_id, responses } => {
                self.reconnect.succeeded(from.number);
                self.on_fetch_response(ctx, from.number, correlation_id, responses)
            }
            Message::MetadataResponse { correlation_id, topics, .. } => {
                self.reconnect.succeeded(from.number);
                self.on_metadata(ctx, correlation_id, topics)
            }
            _ => {}
        }
    }

    /// The connection to `peer` was reset: its fetch (or metadata request) is gone; refresh
    /// metadata and fetch again after `retry.backoff.ms`.
    pub fn handle_disconnect(&mut self, ctx: &mut Ctx, peer: NodeId) {
        if !peer.is_broker() || !self.active {
            return;
        }
        self.reconnect.failed(peer.number, ctx.now);
        if self.metadata_in_flight.is_some_and(|(_, broker)| broker == peer.number) {
            self.metadata_in_flight = None;
        }
        if self.in_flight.remove(&peer.number).is_some() {
            self.request_metadata(ctx);
            ctx.set_timer(self.config.retry_backoff, Timer::FetchNow);
        }
    }

    /// Asks the next bootstrap broker where the partitions' leaders are now.
    fn request_metadata(&mut self, ctx: &mut Ctx) {
        if self.metadata_in_flight.is_some() || self.bootstrap.is_empty() {
            return;
        }
        let n = self.bootstrap.len();
        let (base, max) = (self.config.reconnect_backoff, self.config.reconnect_backoff_max);
        let pick = (0..n)
            .map(|i| (self.metadata_next + i) % n)
            .find(|i| !self.reconnect.blocks(self.bootstrap[*i], ctx.now, base, max))
            .unwrap_or(self.metadata_next % n);
        let broker = self.bootstrap[pick];
        self.metadata_next = pick + 1;
        let correlation_id = self.correlation_id_next;
        self.correlation_id_next += 1;
        self.metadata_in_flight = Some((correlation_id, broker));
        let mut topics: Vec<TopicName> = self.leaders.keys().map(|tp| tp.topic.clone()).collect();
        topics.dedup();
        ctx.send(NodeId::broker(broker), Message::MetadataRequest { correlation_id, topics });
        ctx.set_timer(self.config.request_timeout, Timer::RequestTimeout { correlation_id });
    }

    fn on_metadata(&mut self, ctx: &mut Ctx, correlation_id: u64, topics: Vec<TopicMetadata>) {
        if self.metadata_in_flight.map(|(c, _)| c) != Some(correlation_id) {
            return;
        }
        self.metadata_in_flight = None;
        for t in topics {
            for p in t.partitions {
                let tp = Tp::new(&t.name, p.partition);
                if let (Some(slot), Some(leader)) = (self.leaders.get_mut(&tp), p.leader) {
                    *slot = leader;
                }
            }
        }
        if self.active {
            self.fetch_idle_brokers(ctx);
        }
    }

    fn fetch_idle_brokers(&mut self, ctx: &mut Ctx) {
        for broker in self.brokers() {
            if !self.in_flight.contains_key(&broker) {
                self.send_fetch(ctx, broker);
            }
        }
    }

    /// Handles a timer.
    pub fn handle_timeout(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::ConsumerSchedule if self.stop.is_some_and(|s| ctx.now >= s) => self.leave(ctx),
            Timer::ConsumerSchedule if ctx.now >= self.start => self.join(ctx),
            Timer::FetchNow if self.active => self.fetch_idle_brokers(ctx),
            Timer::RequestTimeout { correlation_id }
                if self.metadata_in_flight.map(|(c, _)| c) == Some(correlation_id) =>
            {
                let broker = self.metadata_in_flight.take().expect("matched").1;
                self.reconnect.failed(broker, ctx.now);
                ctx.close(NodeId::broker(broker));
                self.request_metadata(ctx);
            }
            Timer::RequestTimeout { correlation_id } if self.active => {
                if let Some((&broker, _)) = self.in_flight.iter().find(|(_, c)| **c == correlation_id) {
                    self.in_flight.remove(&broker);
                    self.reconnect.failed(broker, ctx.now);
                    ctx.close(NodeId::broker(broker));
                    self.request_metadata(ctx);
                    self.send_fetch(ctx, broker);
                }
            }
            _ => {}
        }
    }

    fn brokers(&self) -> Vec<u16> {
        let mut brokers: Vec<u16> = self.leaders.values().copied().collect();
        brokers.sort_unstable();
        brokers.dedup();
        brokers
    }

    fn send_fetch(&mut self, ctx: &mut Ctx, broker: u16) {
        let (base, max) = (self.config.reconnect_backoff, self.config.reconnect_backoff_max);
        if let Some(end) = self.reconnect.ends(broker, base, max).filter(|end| *end > ctx.now) {
            // Not connectable yet: try again when the backoff ends.
            ctx.set_timer(end.saturating_since(ctx.now), Timer::FetchNow);
            return;
        }
        let initial = match self.config.auto_offset_reset {
            OffsetReset::Earliest => 0,
            OffsetReset::Latest => -1,
        };
        let partitions = self
            .leaders
            .iter()
            .filter(|(_, b)| **b == broker)
            .map(|(tp, _)| FetchPartition::consumer(tp.clone(), self.positions.get(tp).copied().unwrap_or(initial)))
            .collect::<Vec<_>>();
        if partitions.is_empty() {
            return;
        }
        let correlation_id = self.correlation_id_next;
        self.correlation_id_next += 1;
        self.stats.fetches += 1;
        self.in_flight.insert(broker, correlation_id);
        let request = FetchRequest {
            correlation_id,
            replica_id: None,
            max_wait: self.config.fetch_max_wait,
            min_bytes: self.config.fetch_min_bytes,
            max_bytes: self.config.fetch_max_bytes,
            partition_max_bytes: self.config.max_partition_fetch_bytes,
            partitions,
        };
        ctx.send(NodeId::broker(broker), Message::FetchRequest(request));
        ctx.set_timer(
            self.config.fetch_max_wait + self.config.request_timeout,
            Timer::RequestTimeout { correlation_id },
        );
    }

    fn on_fetch_response(
        &mut self,
        ctx: &mut Ctx,
        broker: u16,
        correlation_id: u64,
        responses: Vec<FetchPartitionResponse>,
    ) {
        if !self.active || self.in_flight.get(&broker) != Some(&correlation_id) {
            return;
        }
        self.in_flight.remove(&broker);
        let mut failed = false;
        for resp in responses {
            match resp.error {
                ErrorCode::None => self.consume(ctx, resp),
                // `auto.offset.reset`: earliest → the leader's log start; latest → its HW.
                ErrorCode::OffsetOutOfRange if resp.log_start_offset >= 0 => {
                    match self.config.auto_offset_reset {
                        OffsetReset::Earliest => self.positions.insert(resp.tp, resp.log_start_offset),
                        OffsetReset::Latest => self.positions.insert(resp.tp, resp.high_watermark),
                    };
                }
                _ => failed = true,
            }
        }
        if failed {
            self.request_metadata(ctx);
            ctx.set_timer(self.config.retry_backoff, Timer::FetchNow);
        } else {
            self.send_fetch(ctx, broker);
        }
    }

    fn consume(&mut self, ctx: &mut Ctx, resp: FetchPartitionResponse) {
        let position = self.positions.entry(resp.tp.clone()).or_insert(resp.fetch_offset);
        let mut first = None;
        let mut count = 0u32;
        for batch in &resp.batches {
            for (offset, _record) in batch.records() {
                if offset >= *position {
                    first.get_or_insert(offset);
                    count += 1;
                }
            }
            // Compaction leaves offset gaps (even empty batches): move past the whole batch.
            *position = (*position).max(batch.last_offset() + 1);
        }
        if let Some(first_offset) = first {
            self.stats.records_consumed += u64::from(count);
            ctx.trace(TraceKind::RecordsConsumed { tp: resp.tp, first_offset, count });
        }
    }
}
