//! A consumer client (`KafkaConsumer` with the classic group protocol).
//!
//! Two modes, as in Kafka:
//! - `assign(partitions)` + `seek`: no group; the consumer reads the partitions it was given.
//! - `subscribe(topics)` with `group.id`: the consumer finds its coordinator (FindCoordinator),
//!   joins the group (JoinGroup, `MEMBER_ID_REQUIRED` first), the leader runs the assignor and
//!   sends the assignment (SyncGroup), and the heartbeat thread keeps the session alive. The
//!   rebalance listener's callbacks (`onPartitionsRevoked / Assigned / Lost`) are trace events.
//!
//! The application loop is modelled too: `poll()` returns at most `max.poll.records` buffered
//! records, the application spends the scenario's processing time on each, then commits (when
//! the scenario says `commitSync` / `commitAsync`) and polls again. Auto-commit commits the
//! positions of records already returned, from inside `poll()` every `auto.commit.interval.ms`
//! and before a rebalance, so a crash redelivers what was processed since (at-least-once). A
//! poll gap over `max.poll.interval.ms` makes the heartbeat thread leave the group.
//!
//! The fetcher runs alongside: it fetches the assigned partitions that have nothing buffered
//! from their leaders (below the HW only), and refreshes metadata when a leader moves.

use super::collections::{CollectMap, CollectSet};
use super::config::{request_expiry, ConsumerConfig, OffsetReset};
use super::group::assignor::{assign, Assignor, Subscription};
use super::group::messages::{GroupMessage, JoinGroupRequest, JoinGroupResponse, MemberRef};
use super::node::{Ctx, NodeId, Timer};
use super::protocol::*;
use super::time::{SimDuration, SimTime};
use super::trace::TraceKind;
use crate::sim::vec_map::{VecMap, VecSet};
use std::collections::VecDeque;

/// Counters for the run summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Records returned by `poll()` to the application.
    pub records_consumed: u64,
    /// Fetch requests sent.
    pub fetches: u64,
    /// Offset commits acknowledged.
    pub commits: u64,
    /// Offset commits that failed.
    pub commits_failed: u64,
    /// Rebalances this consumer joined (JoinGroup rounds that got a generation).
    pub rebalances: u64,
}

/// When the application commits offsets itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CommitMode {
    /// Never (auto-commit may still be on).
    #[default]
    None,
    /// `commitSync()` after processing each poll's records.
    Sync,
    /// `commitAsync()` after processing each poll's records.
    Async,
}

/// What the application does besides polling (scenario settings, not Kafka properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AppBehaviour {
    /// Time the application spends on each record it polls.
    pub processing_per_record: SimDuration,
    /// Manual commits.
    pub commit: CommitMode,
}

/// Where the application thread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum App {
    /// Not started, stopped or crashed.
    Stopped,
    /// Inside `poll()`, waiting for records or for the group.
    InPoll,
    /// Processing the records of poll number `poll`.
    Processing { poll: u64 },
    /// Blocked in `commitSync()`.
    Committing { correlation_id: u64 },
}

/// The group member's protocol state (`AbstractCoordinator.MemberState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// Not in a generation.
    Unjoined,
    /// JoinGroup in flight.
    Joining,
    /// SyncGroup in flight.
    Syncing,
    /// Has its assignment.
    Stable,
}

/// An outstanding request to the coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupRequest {
    Join,
    Sync,
    Heartbeat,
    Commit { sync: bool },
    OffsetFetch,
    Leave,
}

/// The group side of a subscribed consumer.
#[derive(Clone, Debug)]
struct Membership {
    group_id: String,
    topics: Vec<String>,
    coordinator: Option<u16>,
    find_in_flight: Option<(u64, u16)>,
    member_id: String,
    generation: i32,
    protocol: Option<String>,
    state: MemberState,
    need_rejoin: bool,
    requests: VecMap<u64, GroupRequest>,
    /// The eager `StickyAssignor`'s own memory (`onAssignment`): the last assignment and its
    /// generation, sent in its subscription's userData at every join although the partitions
    /// were revoked first. It lasts as long as the consumer instance.
    sticky_memory: Option<(Vec<(String, u32)>, i32)>,
}

impl Membership {
    fn has_generation(&self) -> bool {
        self.generation >= 0 && !self.member_id.is_empty()
    }

    fn in_flight(&self, kind: GroupRequest) -> bool {
        self.requests.values().any(|k| *k == kind)
    }

    fn member_ref(&self) -> MemberRef {
        MemberRef { group_id: self.group_id.clone(), member_id: self.member_id.clone(), generation_id: self.generation }
    }

    fn reset_generation(&mut self, forget_member_id: bool) {
        self.generation = -1;
        self.protocol = None;
        if forget_member_id {
            self.member_id.clear();
        }
        self.state = MemberState::Unjoined;
        self.need_rejoin = true;
    }
}

/// A consumer node.
#[derive(Clone, Debug)]
pub struct Consumer {
    config: ConsumerConfig,
    app_behaviour: AppBehaviour,
    group: Option<Membership>,
    /// Partition count of every topic (the group leader's metadata for the assignor).
    partitions_per_topic: VecMap<String, u32>,
    /// Partition → its leader broker (subscribed or assigned topics).
    leaders: VecMap<Tp, u16>,
    /// Partitions this consumer reads now.
    assigned: VecSet<Tp>,
    /// Assign mode: the partitions it was given.
    manual: Vec<Tp>,
    /// Assign mode: `seek` offsets.
    seeks: VecMap<Tp, i64>,
    /// Next offset `poll()` returns, per partition (the consumer's position).
    positions: VecMap<Tp, i64>,
    /// Next offset to fetch (positions plus what is buffered).
    fetch_positions: VecMap<Tp, i64>,
    /// Fetched records not yet returned by `poll()` (their offsets).
    buffer: VecMap<Tp, VecDeque<(i64, u64)>>,
    /// What `poll()` returned, per partition: (offset, record fingerprint), in order — the
    /// consistent-read checker's evidence (kept across crashes: it is the application's output).
    returned: VecMap<Tp, Vec<(i64, u64)>>,
    /// Partitions without a committed offset under `auto.offset.reset=none`.
    no_offset: VecSet<Tp>,
    /// The high watermark each partition's last fetch response reported.
    high_watermarks: VecMap<Tp, i64>,
    /// Broker → (correlation id, partitions) of the outstanding fetch.
    in_flight: VecMap<u16, (u64, Vec<Tp>)>,
    bootstrap: Vec<u16>,
    metadata_in_flight: Option<(u64, u16)>,
    metadata_next: usize,
    reconnect: super::reconnect::ReconnectBackoff,
    correlation_id_next: u64,
    app: App,
    last_poll: SimTime,
    poll_seq: u64,
    next_auto_commit: SimTime,
    /// When an `AutoCommit` wake-up is armed for (the application idles in `poll()`).
    auto_commit_wakeup: Option<SimTime>,
    start: SimTime,
    stop: Option<SimTime>,
    active: bool,
    stats: ConsumerStats,
}

/// What a consumer is built from.
#[derive(Clone, Debug)]
pub struct ConsumerSetup {
    /// Consumer properties.
    pub config: ConsumerConfig,
    /// Processing time and manual commits.
    pub app: AppBehaviour,
    /// `subscribe`: (group id, topics); `None` for assign mode.
    pub subscribe: Option<(String, Vec<String>)>,
    /// Assign mode: partitions and their `seek` offsets.
    pub assign: Vec<Tp>,
    /// Assign mode: `seek` offsets.
    pub seeks: VecMap<Tp, i64>,
    /// Every partition of the topics it may read → its first leader.
    pub leaders: VecMap<Tp, u16>,
    /// Partition count per topic (all topics).
    pub partitions_per_topic: VecMap<String, u32>,
    /// Brokers to ask for metadata.
    pub bootstrap: Vec<u16>,
    /// When it starts polling.
    pub start: SimTime,
    /// When it closes.
    pub stop: Option<SimTime>,
}

impl Consumer {
    /// A consumer built from `setup`.
    pub fn new(setup: ConsumerSetup) -> Consumer {
        let group = setup.subscribe.map(|(group_id, topics)| Membership {
            group_id,
            topics,
            coordinator: None,
            find_in_flight: None,
            member_id: String::new(),
            generation: -1,
            protocol: None,
            state: MemberState::Unjoined,
            need_rejoin: true,
            requests: VecMap::new(),
            sticky_memory: None,
        });
        Consumer {
            config: setup.config,
            app_behaviour: setup.app,
            group,
            partitions_per_topic: setup.partitions_per_topic,
            leaders: setup.leaders,
            assigned: VecSet::new(),
            manual: setup.assign,
            seeks: setup.seeks,
            positions: VecMap::new(),
            fetch_positions: VecMap::new(),
            buffer: VecMap::new(),
            returned: VecMap::new(),
            no_offset: VecSet::new(),
            high_watermarks: VecMap::new(),
            in_flight: VecMap::new(),
            bootstrap: setup.bootstrap,
            metadata_in_flight: None,
            metadata_next: 0,
            reconnect: Default::default(),
            correlation_id_next: 0,
            app: App::Stopped,
            last_poll: SimTime::ZERO,
            poll_seq: 0,
            next_auto_commit: SimTime::ZERO,
            auto_commit_wakeup: None,
            start: setup.start,
            stop: setup.stop,
            active: false,
            stats: ConsumerStats::default(),
        }
    }

    // ----- getters -----

    /// Counters so far.
    pub fn stats(&self) -> &ConsumerStats {
        &self.stats
    }

    /// Position (next offset `poll()` returns) per partition.
    pub fn positions(&self) -> &VecMap<Tp, i64> {
        &self.positions
    }

    /// Partitions it reads now.
    pub fn assignment(&self) -> &VecSet<Tp> {
        &self.assigned
    }

    /// Whether it is running.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// `group.id` in subscribe mode.
    pub fn group_id(&self) -> Option<&str> {
        self.group.as_ref().map(|g| g.group_id.as_str())
    }

    /// Member id, generation and member state in subscribe mode.
    pub fn membership(&self) -> Option<(&str, i32, MemberState)> {
        self.group.as_ref().map(|g| (g.member_id.as_str(), g.generation, g.state))
    }

    /// `records-lag` per assigned partition: the last fetched high watermark minus the position.
    pub fn lag(&self) -> VecMap<Tp, i64> {
        self.assigned
            .iter()
            .filter_map(|tp| {
                let (hw, pos) = (self.high_watermarks.get(tp)?, self.positions.get(tp)?);
                Some((tp.clone(), (hw - pos).max(0)))
            })
            .collect_map()
    }

    /// Every record `poll()` returned: (offset, fingerprint) per partition, in order, except
    /// those pruned by [`Consumer::prune_returned`].
    pub fn returned(&self) -> &VecMap<Tp, Vec<(i64, u64)>> {
        &self.returned
    }

    /// Forgets returned records below `below[tp]` (gone from every replica by retention).
    pub fn prune_returned(&mut self, below: &VecMap<Tp, i64>) {
        for (tp, records) in &mut self.returned {
            if let Some(start) = below.get(tp) {
                records.retain(|(offset, _)| offset >= start);
            }
        }
    }

    /// Records fetched but not yet returned by `poll()`.
    pub fn buffered(&self) -> usize {
        self.buffer.values().map(VecDeque::len).sum()
    }

    /// Sets the next offset to read on `tp` (`KafkaConsumer.seek`).
    pub fn seek(&mut self, tp: Tp, offset: i64) {
        self.seeks.insert(tp.clone(), offset);
        self.set_position(&tp, offset);
    }

    /// Replaces the configuration (a run-time config change).
    pub fn set_config(&mut self, mut config: ConsumerConfig) {
        config.enable_auto_commit &= self.group.is_some();
        self.config = config;
    }

    fn next_correlation(&mut self) -> u64 {
        let c = self.correlation_id_next;
        self.correlation_id_next += 1;
        c
    }

    fn set_position(&mut self, tp: &Tp, offset: i64) {
        self.positions.insert(tp.clone(), offset);
        self.fetch_positions.insert(tp.clone(), offset);
        self.buffer.remove(tp);
    }

    // ----- lifecycle -----

    /// Arms the start (and stop) times.
    pub fn start(&mut self, ctx: &mut Ctx) {
        ctx.set_timer(self.start.saturating_since(ctx.now), Timer::ConsumerSchedule);
        if let Some(stop) = self.stop {
            ctx.set_timer(stop.saturating_since(ctx.now), Timer::ConsumerSchedule);
        }
    }

    /// Starts the application loop (subscribe or assign), if not running.
    pub fn join(&mut self, ctx: &mut Ctx) {
        if self.active {
            return;
        }
        self.active = true;
        self.in_flight.clear();
        self.last_poll = ctx.now;
        self.next_auto_commit = ctx.now + self.config.auto_commit_interval;
        let initial = self.initial_offset();
        let mut no_offset = vec![];
        if self.group.is_none() {
            self.assigned = self.manual.iter().cloned().collect_set();
            self.no_offset.clear();
            for tp in self.manual.clone() {
                match self.seeks.get(&tp).copied() {
                    Some(offset) => self.set_position(&tp, offset),
                    // An assigned partition has no committed offset to fall back on.
                    None if self.config.auto_offset_reset == OffsetReset::None => no_offset.push(tp),
                    None => self.set_position(&tp, initial),
                }
            }
        } else {
            ctx.set_timer(self.config.heartbeat_interval, Timer::ConsumerHeartbeat);
        }
        ctx.trace(TraceKind::ConsumerStarted { partitions: self.assigned.iter().cloned().collect() });
        for tp in no_offset {
            self.no_offset.insert(tp.clone());
            ctx.trace(TraceKind::NoOffsetForPartition { tp });
        }
        self.poll(ctx);
    }

    /// `close()`: commits (with auto-commit), revokes, leaves the group, stops.
    pub fn leave(&mut self, ctx: &mut Ctx) {
        if !self.active {
            return;
        }
        let has_generation = self.group.as_ref().is_some_and(|g| g.has_generation());
        if has_generation && self.config.enable_auto_commit {
            self.send_commit(ctx, false);
        }
        if self.group.is_some() {
            // `onLeavePrepare`: revoke what it owns (lost, without a generation).
            self.revoke_all(ctx, !has_generation);
        }
        // `maybeLeaveGroup`: a member with an id that is not unjoined says goodbye.
        let leaving = self.group.as_ref().filter(|g| !g.member_id.is_empty() && g.state != MemberState::Unjoined);
        if let Some(g) = leaving {
            let member = g.member_ref();
            if let Some(coordinator) = g.coordinator {
                let correlation_id = self.correlation_id_next;
                self.correlation_id_next += 1;
                let msg = GroupMessage::LeaveGroup { correlation_id, member };
                ctx.send(NodeId::broker(coordinator), Message::Group(Box::new(msg)));
            }
        }
        if let Some(g) = self.group.as_mut() {
            // Closed: a later start is a new consumer instance.
            g.reset_generation(true);
            g.sticky_memory = None;
            g.requests.clear();
            g.find_in_flight = None;
        }
        self.active = false;
        self.app = App::Stopped;
        self.in_flight.clear();
        ctx.trace(TraceKind::ConsumerStopped);
    }

    /// The process died: everything in memory is gone, nothing is sent.
    pub fn crash(&mut self) {
        self.active = false;
        self.app = App::Stopped;
        self.in_flight.clear();
        self.metadata_in_flight = None;
        self.assigned.clear();
        self.positions.clear();
        self.fetch_positions.clear();
        self.buffer.clear();
        self.no_offset.clear();
        if let Some(g) = &mut self.group {
            g.coordinator = None;
            g.find_in_flight = None;
            g.requests.clear();
            g.reset_generation(true);
            g.sticky_memory = None;
        }
    }

    /// Where `auto.offset.reset` starts a partition without an offset: `earliest` at 0 (a
    /// log start above it answers OFFSET_OUT_OF_RANGE and resets there), `latest` at -1 (the
    /// leader's HW, resolved by the first fetch).
    fn initial_offset(&self) -> i64 {
        match self.config.auto_offset_reset {
            OffsetReset::Earliest => 0,
            OffsetReset::Latest | OffsetReset::None => -1,
        }
    }

    // ----- the application loop -----

    /// `poll()`: group housekeeping, then up to `max.poll.records` buffered records.
    fn poll(&mut self, ctx: &mut Ctx) {
        if !self.active {
            return;
        }
        self.last_poll = ctx.now;
        self.app = App::InPoll;
        // `ConsumerCoordinator.poll`: join or rejoin if needed (without waiting); only a member
        // in a stable generation auto-commits. Records of partitions still owned are returned
        // either way (a cooperative member keeps reading through a rebalance).
        if self.group.is_some() && self.ensure_active_group(ctx) {
            self.maybe_auto_commit(ctx);
        }
        let taken = self.take_records(ctx);
        self.fetch_idle_brokers(ctx);
        if taken == 0 {
            self.arm_auto_commit_wakeup(ctx);
            return;
        }
        self.poll_seq += 1;
        let poll = self.poll_seq;
        self.app = App::Processing { poll };
        let work = self.app_behaviour.processing_per_record.as_ns().saturating_mul(u64::from(taken));
        ctx.set_timer(SimDuration::from_ns(work), Timer::PollDone { poll });
        if self.group.is_some() {
            // The heartbeat thread notices `now - lastPoll > max.poll.interval.ms`.
            ctx.set_timer(self.config.max_poll_interval + SimDuration::from_ms(1), Timer::PollTimeout { poll });
        }
    }

    /// Moves records from the buffer to the application; returns how many.
    fn take_records(&mut self, ctx: &mut Ctx) -> u32 {
        let mut left = self.config.max_poll_records;
        let tps: Vec<Tp> = self.buffer.keys().cloned().collect();
        let mut taken = 0;
        for tp in tps {
            if left == 0 {
                break;
            }
            let queue = self.buffer.get_mut(&tp).expect("listed");
            let n = (queue.len() as u32).min(left);
            if n == 0 {
                continue;
            }
            let first_offset = queue[0].0;
            let mut last = first_offset;
            let returned = self.returned.entry(tp.clone()).or_default();
            for _ in 0..n {
                let record = queue.pop_front().expect("counted");
                last = record.0;
                returned.push(record);
            }
            let position = if queue.is_empty() {
                self.buffer.remove(&tp);
                self.fetch_positions.get(&tp).copied().unwrap_or(last + 1)
            } else {
                last + 1
            };
            self.positions.insert(tp.clone(), position);
            left -= n;
            taken += n;
            self.stats.records_consumed += u64::from(n);
            ctx.trace(TraceKind::RecordsConsumed { tp, first_offset, count: n });
        }
        taken
    }

    /// The application finished processing: commit if it does, then poll again.
    fn on_poll_done(&mut self, ctx: &mut Ctx, poll: u64) {
        if self.app != (App::Processing { poll }) {
            return;
        }
        let in_generation = self.group.as_ref().is_some_and(|g| g.has_generation() && g.coordinator.is_some());
        // (An eager member has revoked everything by then: it has nothing to commit, and
        // `commitSync` of nothing returns at once.)
        let owns_positions = self.assigned.iter().any(|tp| self.positions.get(tp).is_some_and(|o| *o >= 0));
        let rebalancing =
            owns_positions && self.group.as_ref().is_some_and(|g| g.has_generation() && g.state != MemberState::Stable);
        match self.app_behaviour.commit {
            CommitMode::Sync | CommitMode::Async if rebalancing => {
                // `sendOffsetCommitRequest` commits only with `generationIfStable()`: a member
                // that is joining or syncing (a cooperative one keeps its partitions meanwhile)
                // gets `RebalanceInProgressException` and sends nothing.
                self.stats.commits_failed += 1;
                let api = "OffsetCommit (RebalanceInProgressException: the member is rebalancing)".to_string();
                ctx.trace(TraceKind::GroupRequestFailed { api, error: ErrorCode::RebalanceInProgress });
            }
            CommitMode::Sync if in_generation => {
                if let Some(correlation_id) = self.send_commit(ctx, true) {
                    self.app = App::Committing { correlation_id };
                    return;
                }
            }
            CommitMode::Async if in_generation => {
                self.send_commit(ctx, false);
            }
            CommitMode::Sync | CommitMode::Async if self.group.as_ref().is_some_and(|g| !g.has_generation()) => {
                // `CommitFailedException`: the member left (or was removed from) its generation,
                // e.g. after exceeding max.poll.interval.ms; its partitions may be elsewhere now.
                self.stats.commits_failed += 1;
                let api = "OffsetCommit (CommitFailedException: not in an active generation)".to_string();
                ctx.trace(TraceKind::GroupRequestFailed { api, error: ErrorCode::UnknownMemberId });
            }
            _ => {}
        }
        self.poll(ctx);
    }

    /// An application idling in `poll(timeout)` loops back into `poll()` when the timeout
    /// passes; the auto-commit due by then happens there. Modelled as one wake-up at the due time.
    fn arm_auto_commit_wakeup(&mut self, ctx: &mut Ctx) {
        // Nothing to wake for if it is not due later (a member still joining is woken by the join).
        let pointless = self.next_auto_commit <= ctx.now || self.auto_commit_wakeup == Some(self.next_auto_commit);
        if !self.config.enable_auto_commit || self.group.is_none() || pointless {
            return;
        }
        self.auto_commit_wakeup = Some(self.next_auto_commit);
        ctx.set_timer(self.next_auto_commit.saturating_since(ctx.now), Timer::AutoCommit);
    }

    fn maybe_auto_commit(&mut self, ctx: &mut Ctx) {
        if !self.config.enable_auto_commit || ctx.now < self.next_auto_commit {
            return;
        }
        self.next_auto_commit = ctx.now + self.config.auto_commit_interval;
        if self.group.as_ref().is_some_and(|g| g.state == MemberState::Stable) {
            self.send_commit(ctx, false);
        }
    }

    /// Commits the positions of the assigned partitions; returns the correlation id.
    fn send_commit(&mut self, ctx: &mut Ctx, sync: bool) -> Option<u64> {
        let offsets: Vec<(Tp, i64)> = self
            .assigned
            .iter()
            .filter_map(|tp| self.positions.get(tp).filter(|o| **o >= 0).map(|o| (tp.clone(), *o)))
            .collect();
        let g = self.group.as_ref()?;
        let coordinator = g.coordinator?;
        // `generationIfStable()`: only a Stable member commits.
        if offsets.is_empty() || !g.has_generation() || g.state != MemberState::Stable {
            return None;
        }
        let member = g.member_ref();
        let correlation_id = self.next_correlation();
        let msg = GroupMessage::OffsetCommit { correlation_id, member, offsets };
        self.send_group(ctx, coordinator, correlation_id, GroupRequest::Commit { sync }, msg);
        Some(correlation_id)
    }

    // ----- the group -----

    /// `ensureActiveGroup`: true when the member is Stable and need not rejoin.
    fn ensure_active_group(&mut self, ctx: &mut Ctx) -> bool {
        let g = self.group.as_ref().expect("subscribe mode");
        let Some(coordinator) = g.coordinator else {
            self.find_coordinator(ctx);
            return false;
        };
        match g.state {
            MemberState::Joining | MemberState::Syncing => false,
            MemberState::Stable if !g.need_rejoin => true,
            _ => {
                self.prepare_join(ctx);
                self.send_join(ctx, coordinator);
                false
            }
        }
    }

    /// `onJoinPrepare`: commit (auto-commit), then revoke (eager) or keep (cooperative) the
    /// owned partitions; with no valid generation they are lost.
    fn prepare_join(&mut self, ctx: &mut Ctx) {
        let g = self.group.as_ref().expect("subscribe mode");
        if g.has_generation() {
            if self.config.enable_auto_commit {
                self.send_commit(ctx, false);
            }
            if !self.cooperative() {
                self.revoke_all(ctx, false);
            }
        } else {
            self.revoke_all(ctx, true);
        }
    }

    /// The rebalance protocol: `ConsumerCoordinator` keeps only the protocols every configured
    /// assignor supports, so it is cooperative only when all of them are cooperative (the
    /// default `[range, cooperative-sticky]` is eager, KIP-429's first upgrade step).
    fn cooperative(&self) -> bool {
        !self.config.assignors.is_empty() && self.config.assignors.iter().all(|a| *a == Assignor::CooperativeSticky)
    }

    /// Gives up every assigned partition: `onPartitionsRevoked`, or `onPartitionsLost`.
    fn revoke_all(&mut self, ctx: &mut Ctx, lost: bool) {
        let partitions: Vec<Tp> = std::mem::take(&mut self.assigned).into_iter().collect();
        self.drop_partitions(&partitions);
        if partitions.is_empty() {
            return;
        }
        ctx.trace(if lost {
            TraceKind::PartitionsLost { partitions }
        } else {
            TraceKind::PartitionsRevoked { partitions }
        });
    }

    fn drop_partitions(&mut self, partitions: &[Tp]) {
        for tp in partitions {
            self.assigned.remove(tp);
            self.positions.remove(tp);
            self.fetch_positions.remove(tp);
            self.buffer.remove(tp);
            self.no_offset.remove(tp);
        }
    }

    fn find_coordinator(&mut self, ctx: &mut Ctx) {
        let g = self.group.as_ref().expect("subscribe mode");
        if g.find_in_flight.is_some() || self.bootstrap.is_empty() {
            return;
        }
        let key = g.group_id.clone();
        let broker = self.pick_bootstrap(ctx.now);
        let correlation_id = self.next_correlation();
        self.group.as_mut().expect("subscribe mode").find_in_flight = Some((correlation_id, broker));
        let msg = GroupMessage::FindCoordinator { correlation_id, key };
        ctx.send(NodeId::broker(broker), Message::Group(Box::new(msg)));
        ctx.set_timer(request_expiry(self.config.request_timeout), Timer::RequestTimeout { correlation_id });
    }

    fn send_join(&mut self, ctx: &mut Ctx, coordinator: u16) {
        let g = self.group.as_ref().expect("subscribe mode");
        let owned: Vec<(String, u32)> = self.assigned.iter().map(|tp| (tp.topic.to_string(), tp.partition)).collect();
        let generation = g.generation;
        let topics: Vec<&str> = g.topics.iter().map(String::as_str).collect();
        let protocols = self
            .config
            .assignors
            .iter()
            .map(|a| {
                let mut s = Subscription::new("", None, &topics);
                match a {
                    // Eager: everything was revoked before the join, so what the member owned
                    // comes from the assignor's memory, sent in its userData.
                    Assignor::Sticky => {
                        if let Some((memory, generation)) = &g.sticky_memory {
                            (s.owned_partitions, s.generation) = (memory.clone(), *generation);
                        }
                    }
                    Assignor::CooperativeSticky => (s.owned_partitions, s.generation) = (owned.clone(), generation),
                    Assignor::Range | Assignor::RoundRobin => {}
                }
                (a.name().to_string(), s)
            })
            .collect();
        let (group_id, member_id) = (g.group_id.clone(), g.member_id.clone());
        let correlation_id = self.next_correlation();
        let client_id =
            if self.config.client_id.is_empty() { ctx.me.to_string() } else { self.config.client_id.clone() };
        let req = JoinGroupRequest {
            correlation_id,
            group_id,
            member_id,
            group_instance_id: None,
            client_id,
            session_timeout: self.config.session_timeout,
            rebalance_timeout: self.config.max_poll_interval,
            protocols,
        };
        let g = self.group.as_mut().expect("subscribe mode");
        g.state = MemberState::Joining;
        g.need_rejoin = false;
        // `JoinGroup` may wait for the whole rebalance: its timeout covers the rebalance timeout.
        let timeout = self.config.request_timeout.max(self.config.max_poll_interval + SimDuration::from_ms(5000));
        g.requests.insert(correlation_id, GroupRequest::Join);
        ctx.send(NodeId::broker(coordinator), Message::Group(Box::new(GroupMessage::JoinGroup(req))));
        ctx.set_timer(timeout, Timer::RequestTimeout { correlation_id });
    }

    fn send_group(
        &mut self,
        ctx: &mut Ctx,
        coordinator: u16,
        correlation_id: u64,
        kind: GroupRequest,
        msg: GroupMessage,
    ) {
        self.group.as_mut().expect("subscribe mode").requests.insert(correlation_id, kind);
        ctx.send(NodeId::broker(coordinator), Message::Group(Box::new(msg)));
        ctx.set_timer(request_expiry(self.config.request_timeout), Timer::RequestTimeout { correlation_id });
    }

    fn on_group_message(&mut self, ctx: &mut Ctx, from: u16, msg: GroupMessage) {
        let correlation_id = msg.correlation_id();
        if let GroupMessage::FindCoordinatorResponse { error, node_id, .. } = msg {
            return self.on_find_coordinator(ctx, correlation_id, error, node_id);
        }
        let Some(g) = self.group.as_mut() else { return };
        let Some(kind) = g.requests.remove(&correlation_id) else { return };
        if g.coordinator != Some(from) {
            return;
        }
        match msg {
            GroupMessage::JoinGroupResponse(resp) => self.on_join_response(ctx, resp),
            GroupMessage::SyncGroupResponse { error, assignment, .. } => self.on_sync_response(ctx, error, assignment),
            GroupMessage::HeartbeatResponse { error, .. } if error != ErrorCode::None => {
                self.on_group_error(ctx, "Heartbeat", error)
            }
            GroupMessage::OffsetCommitResponse { results, .. } => self.on_commit_response(ctx, kind, results),
            GroupMessage::OffsetFetchResponse { error, offsets, .. } => self.on_offset_fetch(ctx, error, offsets),
            _ => {}
        }
    }

    fn on_find_coordinator(&mut self, ctx: &mut Ctx, correlation_id: u64, error: ErrorCode, node: Option<u16>) {
        let Some(g) = self.group.as_mut() else { return };
        if g.find_in_flight.map(|(c, _)| c) != Some(correlation_id) {
            return;
        }
        g.find_in_flight = None;
        match node.filter(|_| error == ErrorCode::None) {
            Some(broker) => {
                g.coordinator = Some(broker);
                ctx.trace(TraceKind::CoordinatorFound { broker });
                self.wake_poll(ctx);
            }
            None => {
                ctx.trace(TraceKind::GroupRequestFailed { api: "FindCoordinator".into(), error });
                ctx.set_timer(self.config.retry_backoff, Timer::GroupRetry);
            }
        }
    }

    fn on_join_response(&mut self, ctx: &mut Ctx, resp: JoinGroupResponse) {
        let g = self.group.as_mut().expect("subscribe mode");
        match resp.error {
            ErrorCode::MemberIdRequired => {
                g.member_id = resp.member_id;
                let coordinator = g.coordinator.expect("answered by it");
                self.send_join(ctx, coordinator);
            }
            ErrorCode::None => {
                g.member_id = resp.member_id.clone();
                g.generation = resp.generation_id;
                g.protocol = resp.protocol_name.clone();
                g.state = MemberState::Syncing;
                self.stats.rebalances += 1;
                let assignments = if resp.leader == resp.member_id { self.run_assignor(&resp) } else { vec![] };
                let g = self.group.as_ref().expect("subscribe mode");
                let (coordinator, member) = (g.coordinator.expect("answered by it"), g.member_ref());
                let correlation_id = self.next_correlation();
                let msg = GroupMessage::SyncGroup { correlation_id, member, assignments };
                self.send_group(ctx, coordinator, correlation_id, GroupRequest::Sync, msg);
            }
            error => self.on_group_error(ctx, "JoinGroup", error),
        }
    }

    /// The leader's part of SyncGroup: run the chosen assignor over every member's subscription.
    fn run_assignor(&self, resp: &JoinGroupResponse) -> Vec<(String, Vec<Tp>)> {
        let assignor = match resp.protocol_name.as_deref() {
            Some("roundrobin") => Assignor::RoundRobin,
            Some("sticky") => Assignor::Sticky,
            Some("cooperative-sticky") => Assignor::CooperativeSticky,
            _ => Assignor::Range,
        };
        let wanted: VecSet<&str> = resp.members.iter().flat_map(|m| m.topics.iter().map(String::as_str)).collect_set();
        let partitions: VecMap<String, u32> = self
            .partitions_per_topic
            .iter()
            .filter(|(t, _)| wanted.contains(t.as_str()))
            .map(|(t, n)| (t.clone(), *n))
            .collect_map();
        assign(assignor, &partitions, &resp.members)
            .into_iter()
            .map(|(member, tps)| (member, tps.into_iter().map(|(t, p)| Tp::new(&topic_name(&t), p)).collect()))
            .collect()
    }

    fn on_sync_response(&mut self, ctx: &mut Ctx, error: ErrorCode, assignment: Vec<Tp>) {
        if error != ErrorCode::None {
            return self.on_group_error(ctx, "SyncGroup", error);
        }
        let new: VecSet<Tp> = assignment.into_iter().collect_set();
        let revoked: Vec<Tp> = self.assigned.difference(&new).cloned().collect();
        let added: Vec<Tp> = new.difference(&self.assigned).cloned().collect();
        if !revoked.is_empty() {
            // Cooperative: give up what moved, then rejoin so it can go to its new owner.
            self.drop_partitions(&revoked);
            ctx.trace(TraceKind::PartitionsRevoked { partitions: revoked });
            self.group.as_mut().expect("subscribe mode").need_rejoin = true;
        }
        self.assigned = new;
        ctx.trace(TraceKind::PartitionsAssigned { partitions: added.clone() });
        // `onJoinComplete`: "reschedule the auto commit starting from now".
        self.next_auto_commit = ctx.now + self.config.auto_commit_interval;
        let g = self.group.as_mut().expect("subscribe mode");
        g.state = MemberState::Stable;
        // `onAssignment` runs on the assignor the group chose.
        if g.protocol.as_deref() == Some(Assignor::Sticky.name()) {
            let owned = self.assigned.iter().map(|tp| (tp.topic.to_string(), tp.partition)).collect();
            g.sticky_memory = Some((owned, g.generation));
        }
        let unknown: Vec<Tp> = self.assigned.iter().filter(|tp| !self.positions.contains_key(*tp)).cloned().collect();
        if !unknown.is_empty() {
            self.fetch_committed(ctx, unknown);
        }
        self.wake_poll(ctx);
    }

    fn fetch_committed(&mut self, ctx: &mut Ctx, partitions: Vec<Tp>) {
        let g = self.group.as_ref().expect("subscribe mode");
        let Some(coordinator) = g.coordinator else { return };
        let group_id = g.group_id.clone();
        let correlation_id = self.next_correlation();
        let msg = GroupMessage::OffsetFetch { correlation_id, group_id, partitions };
        self.send_group(ctx, coordinator, correlation_id, GroupRequest::OffsetFetch, msg);
    }

    fn on_offset_fetch(&mut self, ctx: &mut Ctx, error: ErrorCode, offsets: Vec<(Tp, i64)>) {
        if error != ErrorCode::None {
            return self.on_group_error(ctx, "OffsetFetch", error);
        }
        let initial = self.initial_offset();
        for (tp, committed) in offsets {
            if !self.assigned.contains(&tp) || self.positions.contains_key(&tp) {
                continue;
            }
            if committed >= 0 {
                self.set_position(&tp, committed);
            } else if self.config.auto_offset_reset == OffsetReset::None {
                self.no_offset.insert(tp.clone());
                ctx.trace(TraceKind::NoOffsetForPartition { tp });
            } else {
                self.set_position(&tp, initial);
            }
        }
        self.fetch_idle_brokers(ctx);
    }

    fn on_commit_response(&mut self, ctx: &mut Ctx, kind: GroupRequest, results: Vec<(Tp, ErrorCode)>) {
        match results.iter().map(|(_, e)| *e).find(|e| *e != ErrorCode::None) {
            None => self.stats.commits += 1,
            Some(error) => {
                self.stats.commits_failed += 1;
                self.on_group_error(ctx, "OffsetCommit", error);
            }
        }
        if kind == (GroupRequest::Commit { sync: true }) {
            if let App::Committing { .. } = self.app {
                self.poll(ctx);
            }
        }
    }

    /// An error from the coordinator: rediscover it, rejoin, or reset the generation
    /// (`AbstractCoordinator`'s response handlers).
    fn on_group_error(&mut self, ctx: &mut Ctx, api: &str, error: ErrorCode) {
        ctx.trace(TraceKind::GroupRequestFailed { api: api.into(), error });
        let g = self.group.as_mut().expect("subscribe mode");
        let mut retry = self.config.retry_backoff;
        match error {
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable | ErrorCode::RequestTimedOut => {
                if let Some(c) = g.coordinator.take() {
                    ctx.close(NodeId::broker(c));
                }
                g.requests.clear();
                if matches!(g.state, MemberState::Joining | MemberState::Syncing) {
                    g.state = MemberState::Unjoined;
                    g.need_rejoin = true;
                }
            }
            // A commit during a rebalance just fails; a heartbeat's answer matters only to a
            // stable member (the Join/Sync in flight will say so itself).
            ErrorCode::RebalanceInProgress if api == "OffsetCommit" => return,
            ErrorCode::RebalanceInProgress if api == "Heartbeat" && g.state != MemberState::Stable => return,
            ErrorCode::RebalanceInProgress => {
                g.need_rejoin = true;
                if g.state != MemberState::Stable {
                    g.state = MemberState::Unjoined;
                }
                retry = SimDuration::ZERO;
            }
            // Rejoin at once (`joinGroupIfNeeded` retries these without a backoff).
            ErrorCode::IllegalGeneration => {
                g.reset_generation(false);
                retry = SimDuration::ZERO;
            }
            ErrorCode::UnknownMemberId => {
                g.reset_generation(true);
                retry = SimDuration::ZERO;
            }
            // Fatal: `poll()` throws and the application dies.
            ErrorCode::InconsistentGroupProtocol | ErrorCode::InvalidSessionTimeout => {
                self.active = false;
                self.app = App::Stopped;
                ctx.trace(TraceKind::ConsumerStopped);
                return;
            }
            _ => {
                g.state = MemberState::Unjoined;
                g.need_rejoin = true;
            }
        }
        ctx.set_timer(retry, Timer::GroupRetry);
    }

    /// The application is blocked in `poll()` waiting on the group: let it go on.
    fn wake_poll(&mut self, ctx: &mut Ctx) {
        if self.app == App::InPoll {
            self.poll(ctx);
        }
    }

    /// The heartbeat thread's beat (every `heartbeat.interval.ms`).
    fn on_heartbeat_timer(&mut self, ctx: &mut Ctx) {
        if !self.active {
            return;
        }
        ctx.set_timer(self.config.heartbeat_interval, Timer::ConsumerHeartbeat);
        let g = self.group.as_mut().expect("subscribe mode");
        match g.coordinator {
            None => self.find_coordinator(ctx),
            Some(coordinator)
                if matches!(g.state, MemberState::Syncing | MemberState::Stable)
                    && !g.in_flight(GroupRequest::Heartbeat) =>
            {
                let member = g.member_ref();
                let correlation_id = self.next_correlation();
                let msg = GroupMessage::Heartbeat { correlation_id, member };
                self.send_group(ctx, coordinator, correlation_id, GroupRequest::Heartbeat, msg);
            }
            Some(_) => {}
        }
    }

    /// The heartbeat thread saw no `poll()` for longer than `max.poll.interval.ms`: it leaves the
    /// group (`maybeLeaveGroup`); the member id is forgotten, so the next poll joins afresh and
    /// the partitions count as lost.
    fn on_poll_timeout(&mut self, ctx: &mut Ctx) {
        let since_poll = ctx.now.saturating_since(self.last_poll);
        if self.app == App::InPoll || since_poll <= self.config.max_poll_interval {
            return;
        }
        let Some(g) = self.group.as_mut() else { return };
        if g.member_id.is_empty() || g.state == MemberState::Unjoined {
            return;
        }
        ctx.trace(TraceKind::PollIntervalExceeded { since_poll });
        let member = g.member_ref();
        let coordinator = g.coordinator;
        g.reset_generation(true);
        if let Some(coordinator) = coordinator {
            let correlation_id = self.next_correlation();
            let msg = GroupMessage::LeaveGroup { correlation_id, member };
            self.send_group(ctx, coordinator, correlation_id, GroupRequest::Leave, msg);
        }
    }

    /// A group request got no answer: the coordinator is presumed gone.
    fn on_group_timeout(&mut self, ctx: &mut Ctx, correlation_id: u64) -> bool {
        let Some(g) = self.group.as_mut() else { return false };
        if g.find_in_flight.map(|(c, _)| c) == Some(correlation_id) {
            let broker = g.find_in_flight.take().expect("matched").1;
            self.reconnect.failed(broker, ctx.now);
            ctx.close(NodeId::broker(broker));
            ctx.set_timer(self.config.retry_backoff, Timer::GroupRetry);
            return true;
        }
        let Some(kind) = g.requests.get(&correlation_id).copied() else { return false };
        self.on_group_error(ctx, "request", ErrorCode::RequestTimedOut);
        if kind == (GroupRequest::Commit { sync: true }) {
            self.wake_after_commit(ctx);
        }
        true
    }

    fn wake_after_commit(&mut self, ctx: &mut Ctx) {
        if let App::Committing { .. } = self.app {
            self.poll(ctx);
        }
    }

    // ----- messages and timers -----

    /// Handles a response.
    pub fn handle_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        if !self.active {
            return;
        }
        match msg {
            Message::FetchResponse { correlation_id, responses } => {
                self.reconnect.succeeded(from.number);
                self.on_fetch_response(ctx, from.number, correlation_id, responses)
            }
            Message::MetadataResponse { correlation_id, topics, .. } => {
                self.reconnect.succeeded(from.number);
                self.on_metadata(ctx, correlation_id, topics)
            }
            Message::Group(g) => {
                self.reconnect.succeeded(from.number);
                self.on_group_message(ctx, from.number, *g)
            }
            _ => {}
        }
    }

    /// The connection to `peer` was reset: its requests are gone.
    pub fn handle_disconnect(&mut self, ctx: &mut Ctx, peer: NodeId) {
        if !peer.is_broker() || !self.active {
            return;
        }
        self.reconnect.failed(peer.number, ctx.now);
        if self.metadata_in_flight.is_some_and(|(_, broker)| broker == peer.number) {
            self.metadata_in_flight = None;
        }
        if let Some(g) = self.group.as_mut() {
            if g.find_in_flight.is_some_and(|(_, b)| b == peer.number) {
                g.find_in_flight = None;
                ctx.set_timer(self.config.retry_backoff, Timer::GroupRetry);
            }
            if g.coordinator == Some(peer.number) {
                let sync_commit = g.requests.values().any(|k| *k == GroupRequest::Commit { sync: true });
                self.on_group_error(ctx, "request", ErrorCode::CoordinatorNotAvailable);
                if sync_commit {
                    self.wake_after_commit(ctx);
                }
            }
        }
        if self.in_flight.remove(&peer.number).is_some() {
            self.request_metadata(ctx);
            ctx.set_timer(self.config.retry_backoff, Timer::FetchNow);
        }
    }

    /// Whether `timer` can only do nothing, now and later: a request timeout whose request was
    /// answered (correlation ids are never reused). It mirrors the tests of
    /// `on_request_timeout` and `on_group_timeout`, which do nothing else for such a timer.
    pub fn timer_obsolete(&self, timer: &Timer) -> bool {
        let Timer::RequestTimeout { correlation_id: c } = *timer else {
            return false;
        };
        let group_waits = |g: &Membership| g.find_in_flight.map(|(x, _)| x) == Some(c) || g.requests.contains_key(&c);
        self.metadata_in_flight.map(|(x, _)| x) != Some(c)
            && !self.group.as_ref().is_some_and(group_waits)
            && !self.in_flight.values().any(|(x, _)| *x == c)
    }

    /// Handles a timer.
    pub fn handle_timeout(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::ConsumerSchedule if self.stop.is_some_and(|s| ctx.now >= s) => self.leave(ctx),
            Timer::ConsumerSchedule if ctx.now >= self.start => self.join(ctx),
            _ if !self.active => {}
            Timer::FetchNow => self.fetch_idle_brokers(ctx),
            Timer::PollDone { poll } => self.on_poll_done(ctx, poll),
            Timer::ConsumerHeartbeat => self.on_heartbeat_timer(ctx),
            Timer::PollTimeout { .. } => self.on_poll_timeout(ctx),
            Timer::GroupRetry => self.wake_poll(ctx),
            Timer::AutoCommit => {
                self.auto_commit_wakeup = None;
                self.wake_poll(ctx);
            }
            Timer::RequestTimeout { correlation_id } => self.on_request_timeout(ctx, correlation_id),
            _ => {}
        }
    }

    fn on_request_timeout(&mut self, ctx: &mut Ctx, correlation_id: u64) {
        if self.metadata_in_flight.map(|(c, _)| c) == Some(correlation_id) {
            let broker = self.metadata_in_flight.take().expect("matched").1;
            self.reconnect.failed(broker, ctx.now);
            ctx.close(NodeId::broker(broker));
            self.request_metadata(ctx);
            return;
        }
        if self.on_group_timeout(ctx, correlation_id) {
            return;
        }
        if let Some((&broker, _)) = self.in_flight.iter().find(|(_, (c, _))| *c == correlation_id) {
            self.in_flight.remove(&broker);
            self.reconnect.failed(broker, ctx.now);
            ctx.close(NodeId::broker(broker));
            self.request_metadata(ctx);
            self.send_fetch(ctx, broker);
        }
    }

    // ----- metadata and fetching -----

    fn pick_bootstrap(&mut self, now: SimTime) -> u16 {
        let n = self.bootstrap.len();
        let (base, max) = (self.config.reconnect_backoff, self.config.reconnect_backoff_max);
        let pick = (0..n)
            .map(|i| (self.metadata_next + i) % n)
            .find(|i| !self.reconnect.blocks(self.bootstrap[*i], now, base, max))
            .unwrap_or(self.metadata_next % n);
        self.metadata_next = pick + 1;
        self.bootstrap[pick]
    }

    /// Asks the next bootstrap broker where the partitions' leaders are now.
    fn request_metadata(&mut self, ctx: &mut Ctx) {
        if self.metadata_in_flight.is_some() || self.bootstrap.is_empty() {
            return;
        }
        let broker = self.pick_bootstrap(ctx.now);
        let correlation_id = self.next_correlation();
        self.metadata_in_flight = Some((correlation_id, broker));
        let mut topics: Vec<TopicName> = self.leaders.keys().map(|tp| tp.topic.clone()).collect();
        topics.dedup();
        ctx.send(NodeId::broker(broker), Message::MetadataRequest { correlation_id, topics });
        ctx.set_timer(request_expiry(self.config.request_timeout), Timer::RequestTimeout { correlation_id });
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
        self.fetch_idle_brokers(ctx);
    }

    /// The least broker above `after` (any, for `None`) with no fetch in flight that leads an
    /// assigned partition ready to fetch (a known position, nothing buffered). The usual call
    /// finds every leader busy (it runs after every poll and every response).
    fn next_idle_leader(&self, after: Option<u16>) -> Option<u16> {
        self.assigned
            .iter()
            .filter_map(|tp| self.leaders.get(tp).copied().filter(|l| after.is_none_or(|a| *l > a)).map(|l| (l, tp)))
            .filter(|(l, tp)| !self.in_flight.contains_key(l) && self.fetch_ready(tp))
            .map(|(l, _)| l)
            .min()
    }

    /// The leader to fetch `tp` from, if it is to be fetched now (see [`Consumer::fetch_ready`]).
    fn fetchable_leader(&self, tp: &Tp) -> Option<u16> {
        self.fetch_ready(tp).then(|| self.leaders.get(tp).copied()).flatten()
    }

    /// Whether `tp` is to be fetched now: it has a fetch position, an offset to start from and
    /// no buffered records.
    fn fetch_ready(&self, tp: &Tp) -> bool {
        self.fetch_positions.contains_key(tp) && !self.buffer.contains_key(tp) && !self.no_offset.contains(tp)
    }

    fn fetch_idle_brokers(&mut self, ctx: &mut Ctx) {
        if !self.active {
            return;
        }
        // Sending a fetch changes nothing `fetchable_leader` reads and marks only its own broker
        // in flight, so the brokers after it are found as before it. A scan per broker (a
        // consumer's brokers and partitions are few) allocates nothing for the ones left idle.
        let mut after = None;
        while let Some(broker) = self.next_idle_leader(after) {
            after = Some(broker);
            self.send_fetch(ctx, broker);
        }
    }

    /// Fetches from `broker` the [`Consumer::fetchable_leader`] partitions it leads.
    fn send_fetch(&mut self, ctx: &mut Ctx, broker: u16) {
        let (base, max) = (self.config.reconnect_backoff, self.config.reconnect_backoff_max);
        if let Some(end) = self.reconnect.ends(broker, base, max).filter(|end| *end > ctx.now) {
            // Not connectable yet: try again when the backoff ends.
            ctx.set_timer(end.saturating_since(ctx.now), Timer::FetchNow);
            return;
        }
        let tps: Vec<Tp> =
            self.assigned.iter().filter(|tp| self.fetchable_leader(tp) == Some(broker)).cloned().collect();
        if tps.is_empty() {
            return;
        }
        let partitions =
            tps.iter().map(|tp| FetchPartition::consumer(tp.clone(), self.fetch_positions[tp])).collect::<Vec<_>>();
        let correlation_id = self.next_correlation();
        self.stats.fetches += 1;
        self.in_flight.insert(broker, (correlation_id, tps));
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
            request_expiry(self.config.fetch_max_wait + self.config.request_timeout),
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
        if self.in_flight.get(&broker).map(|(c, _)| *c) != Some(correlation_id) {
            return;
        }
        let (_, asked) = self.in_flight.remove(&broker).expect("matched");
        let mut failed = false;
        let mut got = false;
        for resp in responses {
            // `latest` fetches at -1 (ListOffsets' LATEST folded into the fetch): the leader
            // answers with the offset it resolved that to (its HW), which becomes the position.
            let asked_at = self.fetch_positions.get(&resp.tp).copied();
            let resolved = asked_at == Some(-1) && resp.error == ErrorCode::None && resp.fetch_offset >= 0;
            // A partition revoked (or sought) since the request: its data is stale.
            let current = asked.contains(&resp.tp)
                && self.assigned.contains(&resp.tp)
                && (resolved || asked_at == Some(resp.fetch_offset));
            if !current {
                continue;
            }
            if resolved {
                self.set_position(&resp.tp, resp.fetch_offset);
            }
            if resp.high_watermark >= 0 {
                self.high_watermarks.insert(resp.tp.clone(), resp.high_watermark);
            }
            match resp.error {
                ErrorCode::None => got |= self.buffer_records(ctx, resp),
                // `auto.offset.reset`: earliest → the leader's log start; latest → its HW.
                ErrorCode::OffsetOutOfRange if resp.log_start_offset >= 0 => match self.config.auto_offset_reset {
                    OffsetReset::Earliest => self.set_position(&resp.tp, resp.log_start_offset),
                    OffsetReset::Latest => self.set_position(&resp.tp, resp.high_watermark),
                    OffsetReset::None => {
                        self.no_offset.insert(resp.tp.clone());
                        ctx.trace(TraceKind::NoOffsetForPartition { tp: resp.tp });
                    }
                },
                _ => failed = true,
            }
        }
        if failed {
            self.request_metadata(ctx);
            ctx.set_timer(self.config.retry_backoff, Timer::FetchNow);
        } else {
            self.send_fetch(ctx, broker);
        }
        if got {
            self.wake_poll(ctx);
        }
    }

    /// Buffers the fetched records at or after the fetch position; true if any.
    fn buffer_records(&mut self, ctx: &mut Ctx, resp: FetchPartitionResponse) -> bool {
        let tp = resp.tp;
        let mut next = self.fetch_positions[&tp];
        let mut queue = VecDeque::new();
        for batch in &resp.batches {
            // Records go straight into the buffer as they are decoded; a batch failing the CRC
            // check takes back any it gave.
            let given = queue.len();
            let result = batch.for_each_fingerprint(self.config.check_crcs, |offset, fingerprint| {
                if offset >= next {
                    queue.push_back((offset, fingerprint));
                }
            });
            if let Err(e) = result {
                assert!(self.config.check_crcs, "a batch in the log was validated when it was made: {e}");
                queue.truncate(given);
                ctx.trace(TraceKind::GroupRequestFailed {
                    api: format!("Fetch {tp} CRC check: {e}"),
                    error: ErrorCode::InvalidRecord,
                });
                break;
            }
            // Compaction leaves offset gaps (even empty batches): move past the whole batch.
            next = next.max(batch.last_offset() + 1);
        }
        self.fetch_positions.insert(tp.clone(), next);
        if queue.is_empty() {
            if !self.buffer.contains_key(&tp) {
                self.positions.insert(tp, next);
            }
            return false;
        }
        self.buffer.entry(tp).or_default().extend(queue);
        true
    }
}
