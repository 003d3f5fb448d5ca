//! The broker side of consumer groups: FindCoordinator from the metadata cache, the group
//! coordinator's requests, timers and `__consumer_offsets` writes, and loading or unloading
//! groups when this broker gains or loses leadership of an offsets partition.

use super::Broker;
use crate::sim::group::coordinator::{CoordinatorConfig, GroupCoordinator, OffsetsLog};
use crate::sim::group::coordinator_partition;
use crate::sim::group::messages::GroupMessage;
use crate::sim::node::{Ctx, NodeId, Timer};
use crate::sim::protocol::{topic_name, ErrorCode, Message, Record, RecordBatch, Tp};
use crate::sim::record::batch::BatchSpec;
use crate::sim::rng::SimRng;
use crate::sim::tp_map::TpMap;
use crate::sim::trace::{AppendRole, TraceKind};

/// The internal topic holding group metadata and committed offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Partition `partition` of [`OFFSETS_TOPIC`].
fn offsets_tp(partition: u32) -> Tp {
    Tp::new(&topic_name(OFFSETS_TOPIC), partition)
}

/// Appends coordinator records to this broker's leader replicas of `__consumer_offsets`.
struct Appender<'a> {
    broker: &'a mut TpMap<super::Replica>,
    me: u16,
    touched: Vec<Tp>,
}

impl OffsetsLog for Appender<'_> {
    fn append(
        &mut self,
        ctx: &mut Ctx,
        partition: u32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<i64, ErrorCode> {
        let tp = offsets_tp(partition);
        let replica = self.broker.get_mut(&tp).ok_or(ErrorCode::NotCoordinator)?;
        if !replica.is_leader(self.me) {
            return Err(ErrorCode::NotCoordinator);
        }
        // The coordinator writes with acks=all: the ISR must meet min.insync.replicas.
        if replica.isr.len() < replica.effective_min_isr() {
            return Err(ErrorCode::NotEnoughReplicas);
        }
        let now_ms = ctx.now.as_ms() as i64;
        let records: Vec<Record> = records
            .into_iter()
            .map(|(key, value)| Record { timestamp_ms: now_ms, key: Some(key), value, headers: vec![] })
            .collect();
        let batch = RecordBatch::build(&BatchSpec::default(), &records);
        let (stamped, events) = replica.log.append_as_leader(&batch, replica.leader_epoch, ctx.now);
        super::trace_log_events(ctx, &tp, &mut events.into_iter());
        let log_end_offset = replica.log.log_end_offset();
        ctx.trace(TraceKind::BatchAppended {
            tp: tp.clone(),
            role: AppendRole::Leader,
            base_offset: stamped.base_offset(),
            records: stamped.record_count(),
            log_end_offset,
        });
        self.touched.push(tp);
        Ok(log_end_offset)
    }
}

impl Broker {
    /// Sets the group coordinator's settings and the randomness behind member ids.
    pub fn set_group_coordinator(&mut self, config: CoordinatorConfig, rng: SimRng) {
        self.coordinator = GroupCoordinator::new(config, rng);
    }

    /// Changes the coordinator's settings (a run-time config change).
    pub fn set_coordinator_config(&mut self, config: CoordinatorConfig) {
        self.coordinator.set_config(config);
    }

    /// The group coordinator (groups of the offsets partitions this broker leads).
    pub fn group_coordinator(&self) -> &GroupCoordinator {
        &self.coordinator
    }

    /// A group request (or FindCoordinator) taken off the request queue.
    pub(super) fn handle_group(&mut self, ctx: &mut Ctx, from: NodeId, msg: GroupMessage) {
        if let GroupMessage::FindCoordinator { correlation_id, key } = msg {
            let (error, node_id) = self.find_coordinator(&key);
            ctx.send(
                from,
                Message::Group(Box::new(GroupMessage::FindCoordinatorResponse { correlation_id, error, node_id })),
            );
            return;
        }
        let mut appender = Appender { broker: &mut self.replicas, me: self.id, touched: vec![] };
        self.coordinator.handle(ctx, from, msg, &mut appender);
        let touched = appender.touched;
        self.after_group_work(ctx, touched);
    }

    /// `FindCoordinator`: the leader of the group's offsets partition, from the metadata cache.
    fn find_coordinator(&self, group: &str) -> (ErrorCode, Option<u16>) {
        let partition = coordinator_partition(group, self.coordinator.config().offsets_partitions);
        let tp = offsets_tp(partition);
        match self.metadata.get(&tp).and_then(|s| s.leader).filter(|l| self.live_brokers.contains(l)) {
            Some(leader) => (ErrorCode::None, Some(leader)),
            None => (ErrorCode::CoordinatorNotAvailable, None),
        }
    }

    /// A coordinator timer fired.
    pub(super) fn on_group_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        self.coordinator.on_timer(ctx, timer);
        self.after_group_work(ctx, vec![]);
    }

    /// Writes queued metadata, moves HWs of what was appended, and sends the responses.
    fn after_group_work(&mut self, ctx: &mut Ctx, mut touched: Vec<Tp>) {
        let mut appender = Appender { broker: &mut self.replicas, me: self.id, touched: vec![] };
        self.coordinator.flush_metadata(ctx, &mut appender);
        touched.extend(appender.touched);
        self.advance_after_append(ctx, touched.iter());
        self.send_group_responses(ctx);
    }

    /// Committed writes finish: called whenever HWs may have moved.
    pub(super) fn complete_group_writes(&mut self, ctx: &mut Ctx) {
        if !self.coordinator.has_pending_writes() {
            return;
        }
        let loaded: Vec<u32> = self.coordinator.loaded().iter().copied().collect();
        let topic = topic_name(OFFSETS_TOPIC);
        for p in loaded {
            let tp = Tp::new(&topic, p);
            if let Some(hw) = self.replicas.get(&tp).map(|r| r.log.high_watermark()) {
                self.coordinator.on_high_watermark(ctx, p, hw);
            }
        }
        self.send_group_responses(ctx);
    }

    /// Sends what the coordinator answered; each answer frees the member's coordinator
    /// connection for its next request.
    pub(super) fn send_group_responses(&mut self, ctx: &mut Ctx) {
        for (to, msg) in self.coordinator.take_responses() {
            ctx.send(to, msg);
            self.channel.unmute_coordinator(to, self.config.queued_max_requests, ctx.now);
        }
    }

    /// Became leader of `tp`: if it is an offsets partition, load its groups.
    pub(super) fn maybe_load_groups(&mut self, ctx: &mut Ctx, tp: &Tp) {
        if &*tp.topic != OFFSETS_TOPIC {
            return;
        }
        let Some(r) = self.replicas.get(tp) else { return };
        let records = r
            .log
            .batches()
            .flat_map(|b| b.records())
            .filter_map(|(offset, rec)| rec.key.map(|k| (offset, k, rec.value)))
            .collect();
        self.coordinator.load(ctx, tp.partition, records);
        self.send_group_responses(ctx);
    }

    /// Lost leadership of `tp`: if it is an offsets partition, its groups go elsewhere.
    pub(super) fn maybe_unload_groups(&mut self, ctx: &mut Ctx, tp: &Tp) {
        if &*tp.topic != OFFSETS_TOPIC {
            return;
        }
        self.coordinator.unload(ctx, tp.partition, true);
        self.send_group_responses(ctx);
    }
}
