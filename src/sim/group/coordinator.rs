//! The classic group coordinator (shared/reference/kafka-semantics.md §7): one per broker,
//! owning the groups whose `__consumer_offsets` partition that broker leads.
//!
//! States `Empty → PreparingRebalance → CompletingRebalance → Stable` (`Dead` is never reached:
//! groups are not deleted). JoinGroup (with `MEMBER_ID_REQUIRED` on a first join and the
//! `group.initial.rebalance.delay.ms` delay from Empty), SyncGroup (the leader's assignment is
//! written to the log before anyone gets it), Heartbeat, LeaveGroup, session and rebalance
//! timeouts, and OffsetCommit validated per generation. Commits and group metadata are records
//! in the group's `__consumer_offsets` partition (see [`super::offsets_records`]); a response
//! that depends on a write waits until the partition's high watermark covers it. A broker that
//! becomes the partition's leader replays the log ([`GroupCoordinator::load`]).
//!
//! Responses are not sent directly: they are queued in [`GroupCoordinator::take_responses`] so
//! the broker can send each on the member's coordinator connection and read that connection's
//! next request (Kafka mutes a connection until its response is out).

use super::assignor::Subscription;
use super::coordinator_partition;
use super::messages::{GroupMessage, JoinGroupRequest, JoinGroupResponse, MemberRef};
use super::offsets_records::{self as records, GroupMetadata, OffsetCommit, OffsetsRecord, StoredMember};
use super::sticky::java_hash_map_order;
use crate::sim::collections::{CollectMap, CollectSet};
use crate::sim::node::{Ctx, NodeId, Timer};
use crate::sim::protocol::{ErrorCode, Message, Tp};
use crate::sim::rng::SimRng;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::trace::TraceKind;
use crate::sim::vec_map::{VecMap, VecSet};
use serde::Serialize;

/// Broker settings the coordinator honours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    /// `offsets.topic.num.partitions`.
    pub offsets_partitions: u32,
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay: SimDuration,
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout: SimDuration,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout: SimDuration,
    /// `offsets.commit.timeout.ms`: how long a commit waits for replication.
    pub commit_timeout: SimDuration,
}

/// A classic group's state (`ClassicGroupState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum GroupState {
    /// No members.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Waiting for the leader's assignment.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// Deleted or unloaded.
    Dead,
}

impl std::fmt::Display for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// A member as the coordinator keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Member id (`client.id-uuid`).
    pub member_id: String,
    /// `client.id`.
    pub client_id: String,
    /// The consumer node behind it.
    pub node: NodeId,
    /// `session.timeout.ms`.
    pub session_timeout: SimDuration,
    /// `max.poll.interval.ms`.
    pub rebalance_timeout: SimDuration,
    /// Supported assignors in preference order, with the subscription sent for each.
    pub protocols: Vec<(String, Subscription)>,
    /// Partitions assigned in the current generation.
    pub assignment: Vec<Tp>,
    join_order: u64,
    awaiting_join: Option<u64>,
    awaiting_sync: Option<u64>,
    synced: bool,
    deadline: SimTime,
}

/// One group.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// `group.id`.
    pub group_id: String,
    /// Its `__consumer_offsets` partition.
    pub partition: u32,
    /// State.
    pub state: GroupState,
    /// Generation id.
    pub generation: i32,
    /// The chosen assignor.
    pub protocol: Option<String>,
    /// The leader's member id.
    pub leader: Option<String>,
    /// Members by id.
    pub members: VecMap<String, Member>,
    /// Committed offsets (next offset to consume).
    pub offsets: VecMap<Tp, i64>,
    /// Ids handed out with `MEMBER_ID_REQUIRED`, not yet joined, with their expiry.
    pending: VecMap<String, SimTime>,
    join_order_next: u64,
    /// Bumped on every state change so stale join/sync deadlines are ignored.
    token: u64,
    new_member_added: bool,
    /// While the initial rebalance delay runs: the rebalance time left after it.
    initial_delay_remaining: Option<SimDuration>,
}

impl Group {
    fn new(group_id: &str, partition: u32) -> Group {
        Group {
            group_id: group_id.to_string(),
            partition,
            state: GroupState::Empty,
            generation: 0,
            protocol: None,
            leader: None,
            members: VecMap::new(),
            offsets: VecMap::new(),
            pending: VecMap::new(),
            join_order_next: 0,
            token: 0,
            new_member_added: false,
            initial_delay_remaining: None,
        }
    }

    /// The longest `max.poll.interval.ms` of the members (`ClassicGroup.rebalanceTimeoutMs`).
    fn rebalance_timeout(&self) -> SimDuration {
        self.members.values().map(|m| m.rebalance_timeout).max().unwrap_or(SimDuration::ZERO)
    }

    /// Assignors every member supports.
    fn candidate_protocols(&self) -> VecSet<String> {
        let mut members = self.members.values();
        let Some(first) = members.next() else { return VecSet::new() };
        let mut set: VecSet<String> = first.protocols.iter().map(|(n, _)| n.clone()).collect_set();
        for m in members {
            let theirs: VecSet<String> = m.protocols.iter().map(|(n, _)| n.clone()).collect_set();
            set = set.intersection(&theirs).cloned().collect_set();
        }
        set
    }

    /// `ClassicGroup.selectProtocol`: each member votes for its most preferred candidate; the
    /// most votes win. Kafka takes the maximum over a `HashMap` of votes, so a tie goes to the
    /// candidate first in Java `HashMap` order (`range` before `cooperative-sticky`).
    fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: VecMap<&str, u32> = VecMap::new();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(n)) {
                *votes.entry(name).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        let tied: Vec<&str> = votes.iter().filter(|(_, v)| **v == best).map(|(n, _)| *n).collect();
        let first = java_hash_map_order(&tied)[0];
        Some(tied[first].to_string())
    }

    fn all_joined(&self) -> bool {
        self.pending.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// A new leader when the old one is gone: the first member in Java `HashMap` order of the
    /// member ids (`members.keySet().iterator().next()` in `ClassicGroup`).
    fn first_member(&self) -> Option<String> {
        let ids: Vec<&str> = self.members.keys().map(String::as_str).collect();
        java_hash_map_order(&ids).first().map(|i| ids[*i].to_string())
    }

    fn metadata(&self, now: SimTime) -> GroupMetadata {
        let protocol = self.protocol.clone();
        let members = self
            .members
            .values()
            .map(|m| StoredMember {
                member_id: m.member_id.clone(),
                group_instance_id: None,
                client_id: m.client_id.clone(),
                rebalance_timeout_ms: m.rebalance_timeout.as_ms() as i32,
                session_timeout_ms: m.session_timeout.as_ms() as i32,
                subscription: m
                    .protocols
                    .iter()
                    .find(|(n, _)| Some(n) == protocol.as_ref())
                    .map(|(_, s)| s.clone())
                    .unwrap_or_else(|| Subscription::new(&m.member_id, None, &[])),
                assignment: m.assignment.clone(),
            })
            .collect();
        GroupMetadata {
            group: self.group_id.clone(),
            generation: self.generation,
            protocol,
            leader: self.leader.clone(),
            timestamp: now.as_ms() as i64,
            members,
        }
    }
}

/// What a write to `__consumer_offsets` completes.
#[derive(Clone, Debug)]
enum WriteKind {
    Commit { to: NodeId, correlation_id: u64, group: String, generation: i32, offsets: Vec<(Tp, i64)> },
    Sync { group: String, generation: i32, assignments: VecMap<String, Vec<Tp>> },
    Metadata,
}

#[derive(Clone, Debug)]
struct PendingWrite {
    partition: u32,
    /// The high watermark that makes it committed.
    required: i64,
    kind: WriteKind,
}

/// Where the coordinator's records go: the broker's leader replica of a `__consumer_offsets`
/// partition.
pub trait OffsetsLog {
    /// Appends `(key, value)` records as leader; returns the HW that commits them.
    fn append(
        &mut self,
        ctx: &mut Ctx,
        partition: u32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<i64, ErrorCode>;
}

/// The coordinator of one broker.
#[derive(Clone, Debug)]
pub struct GroupCoordinator {
    config: CoordinatorConfig,
    groups: VecMap<String, Group>,
    loaded: VecSet<u32>,
    writes: VecMap<u64, PendingWrite>,
    write_id_next: u64,
    rng: SimRng,
    responses: Vec<(NodeId, Message)>,
    /// Group metadata to write once a log is at hand (a group that became Empty).
    pending_metadata: Vec<(u32, GroupMetadata)>,
    /// Rebalance tokens, unique across every group this coordinator ever held, so a deadline
    /// armed before an unload never matches a reloaded group.
    token_next: u64,
}

type Resp = Result<(), ErrorCode>;

impl GroupCoordinator {
    /// A coordinator with nothing loaded; `rng` makes member ids.
    pub fn new(config: CoordinatorConfig, rng: SimRng) -> GroupCoordinator {
        GroupCoordinator {
            config,
            groups: VecMap::new(),
            loaded: VecSet::new(),
            writes: VecMap::new(),
            write_id_next: 0,
            rng,
            responses: Vec::new(),
            pending_metadata: Vec::new(),
            token_next: 1,
        }
    }

    /// Replaces the settings (a run-time config change).
    pub fn set_config(&mut self, config: CoordinatorConfig) {
        self.config = config;
    }

    /// The settings.
    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    /// Groups this broker coordinates now.
    pub fn groups(&self) -> &VecMap<String, Group> {
        &self.groups
    }

    /// `__consumer_offsets` partitions loaded here.
    pub fn loaded(&self) -> &VecSet<u32> {
        &self.loaded
    }

    /// Responses to send, oldest first.
    pub fn take_responses(&mut self) -> Vec<(NodeId, Message)> {
        std::mem::take(&mut self.responses)
    }

    fn respond(&mut self, to: NodeId, msg: GroupMessage) {
        self.responses.push((to, Message::Group(Box::new(msg))));
    }

    fn partition_of(&self, group: &str) -> u32 {
        coordinator_partition(group, self.config.offsets_partitions)
    }

    fn owns(&self, group: &str) -> bool {
        self.loaded.contains(&self.partition_of(group))
    }

    // ----- loading -----

    /// This broker became leader of `partition`: rebuild its groups from the log's records
    /// (`(offset, key, value)`, in offset order). Unreadable records are skipped and traced.
    pub fn load(&mut self, ctx: &mut Ctx, partition: u32, log: Vec<(i64, Vec<u8>, Option<Vec<u8>>)>) {
        self.unload(ctx, partition, false);
        self.loaded.insert(partition);
        let mut offsets = 0u32;
        for (offset, key, value) in log {
            match records::decode(&key, value.as_deref()) {
                Ok(OffsetsRecord::Commit { group, tp, value }) => {
                    let g = self.group_entry(&group);
                    match value {
                        Some(c) => g.offsets.insert(tp, c.offset),
                        None => g.offsets.remove(&tp),
                    };
                    offsets += 1;
                }
                Ok(OffsetsRecord::Group { group, value }) => {
                    let now = ctx.now;
                    let g = self.group_entry(&group);
                    match value {
                        Some(meta) => restore(g, meta, now),
                        None => g.state = GroupState::Dead,
                    }
                }
                Err(e) => ctx.trace(TraceKind::GroupLoadError { partition, offset, error: e.to_string() }),
            }
        }
        let mut groups = 0u32;
        let ids: Vec<String> =
            self.groups.values().filter(|g| g.partition == partition).map(|g| g.group_id.clone()).collect();
        for id in ids {
            groups += 1;
            let g = &self.groups[&id];
            let members: Vec<(String, SimDuration)> =
                g.members.values().map(|m| (m.member_id.clone(), m.session_timeout)).collect();
            for (member, session) in members {
                ctx.set_timer(session, Timer::GroupSession { group: id.clone(), member });
            }
        }
        if groups > 0 || offsets > 0 {
            ctx.trace(TraceKind::GroupsLoaded { partition, groups, offsets });
        }
    }

    fn group_entry(&mut self, group: &str) -> &mut Group {
        let partition = self.partition_of(group);
        self.groups.entry(group.to_string()).or_insert_with(|| Group::new(group, partition))
    }

    /// This broker no longer leads `partition`: its groups go (their members will find the new
    /// coordinator), and requests waiting on them get `NOT_COORDINATOR`.
    pub fn unload(&mut self, ctx: &mut Ctx, partition: u32, trace: bool) {
        if !self.loaded.remove(&partition) && !trace {
            return;
        }
        let ids: Vec<String> =
            self.groups.values().filter(|g| g.partition == partition).map(|g| g.group_id.clone()).collect();
        for id in ids {
            let g = self.groups.remove(&id).expect("listed");
            for m in g.members.values() {
                if let Some(c) = m.awaiting_join {
                    self.respond(m.node, join_error(c, &m.member_id, ErrorCode::NotCoordinator));
                }
                if let Some(c) = m.awaiting_sync {
                    self.respond(m.node, sync_error(c, ErrorCode::NotCoordinator));
                }
            }
        }
        let failed: Vec<u64> =
            self.writes.iter().filter(|(_, w)| w.partition == partition).map(|(id, _)| *id).collect();
        for id in failed {
            let w = self.writes.remove(&id).expect("listed");
            if let WriteKind::Commit { to, correlation_id, offsets, .. } = w.kind {
                let results = offsets.into_iter().map(|(tp, _)| (tp, ErrorCode::NotCoordinator)).collect();
                self.respond(to, GroupMessage::OffsetCommitResponse { correlation_id, results });
            }
        }
        if trace {
            ctx.trace(TraceKind::GroupsUnloaded { partition });
        }
    }

    /// Forgets everything (the broker process restarted).
    pub fn clear(&mut self) {
        self.groups.clear();
        self.loaded.clear();
        self.writes.clear();
        self.responses.clear();
    }

    // ----- requests -----

    /// Handles a group request from `from`.
    pub fn handle(&mut self, ctx: &mut Ctx, from: NodeId, msg: GroupMessage, log: &mut dyn OffsetsLog) {
        match msg {
            GroupMessage::JoinGroup(req) => self.join(ctx, from, req),
            GroupMessage::SyncGroup { correlation_id, member, assignments } => {
                if let Err(e) = self.sync(ctx, from, correlation_id, &member, assignments, log) {
                    self.respond(from, sync_error(correlation_id, e));
                }
            }
            GroupMessage::Heartbeat { correlation_id, member } => {
                let error = self.heartbeat(ctx, from, &member).err().unwrap_or(ErrorCode::None);
                self.respond(from, GroupMessage::HeartbeatResponse { correlation_id, error });
            }
            GroupMessage::LeaveGroup { correlation_id, member } => {
                let error = self.leave(ctx, &member.group_id, &member.member_id, "LeaveGroup").err();
                let error = error.unwrap_or(ErrorCode::None);
                self.respond(from, GroupMessage::LeaveGroupResponse { correlation_id, error });
            }
            GroupMessage::OffsetCommit { correlation_id, member, offsets } => {
                if let Err(e) = self.commit(ctx, from, correlation_id, &member, offsets.clone(), log) {
                    let results = offsets.into_iter().map(|(tp, _)| (tp, e)).collect();
                    self.respond(from, GroupMessage::OffsetCommitResponse { correlation_id, results });
                }
            }
            GroupMessage::OffsetFetch { correlation_id, group_id, partitions } => {
                let (error, offsets) = if !self.owns(&group_id) {
                    (ErrorCode::NotCoordinator, vec![])
                } else {
                    let g = self.groups.get(&group_id);
                    let offsets = partitions
                        .into_iter()
                        .map(|tp| {
                            let o = g.and_then(|g| g.offsets.get(&tp)).copied().unwrap_or(-1);
                            (tp, o)
                        })
                        .collect();
                    (ErrorCode::None, offsets)
                };
                self.respond(from, GroupMessage::OffsetFetchResponse { correlation_id, error, offsets });
            }
            _ => {}
        }
    }

    fn join(&mut self, ctx: &mut Ctx, from: NodeId, req: JoinGroupRequest) {
        let c = req.correlation_id;
        if let Err(e) = self.check_join(&req) {
            self.respond(from, join_error(c, &req.member_id, e));
            return;
        }
        if req.member_id.is_empty() {
            let member_id = format!("{}-{}", req.client_id, uuid(&mut self.rng));
            let g = self.group_entry(&req.group_id);
            g.pending.insert(member_id.clone(), ctx.now + req.session_timeout);
            ctx.set_timer(
                req.session_timeout,
                Timer::GroupPendingMember { group: req.group_id.clone(), member: member_id.clone() },
            );
            self.respond(from, join_error(c, &member_id, ErrorCode::MemberIdRequired));
            return;
        }
        let g = self.group_entry(&req.group_id);
        if !g.members.contains_key(&req.member_id) {
            if g.pending.remove(&req.member_id).is_none() {
                self.respond(from, join_error(c, &req.member_id, ErrorCode::UnknownMemberId));
                return;
            }
            self.add_member(ctx, from, req);
            return;
        }
        self.rejoin(ctx, from, req);
    }

    fn check_join(&self, req: &JoinGroupRequest) -> Resp {
        if !self.owns(&req.group_id) {
            return Err(ErrorCode::NotCoordinator);
        }
        let t = req.session_timeout;
        if t < self.config.min_session_timeout || t > self.config.max_session_timeout {
            return Err(ErrorCode::InvalidSessionTimeout);
        }
        if req.protocols.is_empty() {
            return Err(ErrorCode::InconsistentGroupProtocol);
        }
        if let Some(g) = self.groups.get(&req.group_id) {
            let others: Vec<&Member> = g.members.values().filter(|m| m.member_id != req.member_id).collect();
            if !others.is_empty() {
                let ok =
                    req.protocols.iter().any(|(n, _)| others.iter().all(|m| m.protocols.iter().any(|(x, _)| x == n)));
                if !ok {
                    return Err(ErrorCode::InconsistentGroupProtocol);
                }
            }
        }
        Ok(())
    }

    fn add_member(&mut self, ctx: &mut Ctx, from: NodeId, req: JoinGroupRequest) {
        let now = ctx.now;
        let g = self.group_entry(&req.group_id);
        let member = Member {
            member_id: req.member_id.clone(),
            client_id: req.client_id.clone(),
            node: from,
            session_timeout: req.session_timeout,
            rebalance_timeout: req.rebalance_timeout,
            protocols: req.protocols.clone(),
            assignment: vec![],
            join_order: g.join_order_next,
            awaiting_join: Some(req.correlation_id),
            awaiting_sync: None,
            synced: false,
            deadline: now + req.rebalance_timeout,
        };
        g.join_order_next += 1;
        if g.leader.is_none() {
            g.leader = Some(req.member_id.clone());
        }
        g.members.insert(req.member_id.clone(), member);
        g.new_member_added = true;
        ctx.trace(TraceKind::GroupMemberAdded { group: req.group_id.clone(), member_id: req.member_id.clone() });
        ctx.set_timer(req.session_timeout, Timer::GroupSession { group: req.group_id.clone(), member: req.member_id });
        self.rebalance_or_complete(ctx, &req.group_id, "new member joined");
    }

    fn rejoin(&mut self, ctx: &mut Ctx, from: NodeId, req: JoinGroupRequest) {
        let now = ctx.now;
        let group_id = req.group_id.clone();
        let g = self.groups.get_mut(&group_id).expect("checked");
        let is_leader = g.leader.as_deref() == Some(req.member_id.as_str());
        let state = g.state;
        let m = g.members.get_mut(&req.member_id).expect("checked");
        let changed = m.protocols != req.protocols;
        m.protocols = req.protocols.clone();
        m.session_timeout = req.session_timeout;
        m.rebalance_timeout = req.rebalance_timeout;
        m.node = from;
        m.deadline = now + m.rebalance_timeout;
        match state {
            GroupState::PreparingRebalance => {
                m.awaiting_join = Some(req.correlation_id);
                self.maybe_complete_join(ctx, &group_id);
            }
            GroupState::CompletingRebalance | GroupState::Stable
                if !(changed || is_leader && state == GroupState::Stable) =>
            {
                // Nothing changed: answer with the current generation (no rebalance).
                let resp = self.join_response(&group_id, &req.member_id, req.correlation_id);
                self.respond(from, resp);
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                m.awaiting_join = Some(req.correlation_id);
                self.prepare_rebalance(ctx, &group_id, "member rejoined");
            }
            GroupState::Empty | GroupState::Dead => {
                self.respond(from, join_error(req.correlation_id, &req.member_id, ErrorCode::UnknownMemberId));
            }
        }
    }

    fn rebalance_or_complete(&mut self, ctx: &mut Ctx, group_id: &str, reason: &str) {
        match self.groups[group_id].state {
            GroupState::PreparingRebalance => self.maybe_complete_join(ctx, group_id),
            _ => self.prepare_rebalance(ctx, group_id, reason),
        }
    }

    /// `prepareRebalance`: parked syncs get `REBALANCE_IN_PROGRESS`; from Empty the join waits
    /// `group.initial.rebalance.delay.ms`, otherwise up to the rebalance timeout.
    fn prepare_rebalance(&mut self, ctx: &mut Ctx, group_id: &str, reason: &str) {
        let initial = self.config.initial_rebalance_delay;
        let g = self.groups.get_mut(group_id).expect("group exists");
        let mut parked = vec![];
        for m in g.members.values_mut() {
            if let Some(c) = m.awaiting_sync.take() {
                parked.push((m.node, c));
            }
        }
        let timeout = g.rebalance_timeout();
        g.token = self.token_next;
        self.token_next += 1;
        let token = g.token;
        let delay = if g.state == GroupState::Empty {
            g.new_member_added = false;
            // `InitialDelayedJoin`: the whole delay first, then extensions within what the
            // rebalance timeout leaves after it.
            g.initial_delay_remaining = Some(timeout.saturating_sub(initial));
            initial
        } else {
            g.initial_delay_remaining = None;
            timeout
        };
        let from = g.state;
        g.state = GroupState::PreparingRebalance;
        let generation = g.generation;
        ctx.trace(TraceKind::GroupStateChanged {
            group: group_id.to_string(),
            from,
            to: GroupState::PreparingRebalance,
            generation,
            reason: reason.to_string(),
        });
        ctx.set_timer(delay, Timer::GroupJoinDeadline { group: group_id.to_string(), token });
        for (node, c) in parked {
            self.respond(node, sync_error(c, ErrorCode::RebalanceInProgress));
        }
        self.maybe_complete_join(ctx, group_id);
    }

    fn maybe_complete_join(&mut self, ctx: &mut Ctx, group_id: &str) {
        let g = &self.groups[group_id];
        if g.state == GroupState::PreparingRebalance && g.initial_delay_remaining.is_none() && g.all_joined() {
            self.complete_join(ctx, group_id);
        }
    }

    /// `completeClassicGroupJoin`: members that did not rejoin are removed, the generation
    /// moves on, the protocol is chosen, and every waiting join is answered (the leader's answer
    /// lists every member's subscription).
    fn complete_join(&mut self, ctx: &mut Ctx, group_id: &str) {
        let now = ctx.now;
        let g = self.groups.get_mut(group_id).expect("group exists");
        let gone: Vec<String> =
            g.members.values().filter(|m| m.awaiting_join.is_none()).map(|m| m.member_id.clone()).collect();
        for id in &gone {
            g.members.remove(id);
            ctx.trace(TraceKind::GroupMemberRemoved {
                group: group_id.to_string(),
                member_id: id.clone(),
                reason: "did not rejoin within the rebalance timeout".into(),
            });
        }
        if g.leader.as_ref().is_some_and(|l| !g.members.contains_key(l)) {
            g.leader = g.first_member();
        }
        g.generation += 1;
        g.token = self.token_next;
        self.token_next += 1;
        let (from, generation) = (g.state, g.generation);
        if g.members.is_empty() {
            g.state = GroupState::Empty;
            g.protocol = None;
            g.leader = None;
        } else {
            g.protocol = g.select_protocol();
            g.state = GroupState::CompletingRebalance;
        }
        let to = g.state;
        for m in g.members.values_mut() {
            m.synced = false;
            m.deadline = now + m.session_timeout;
        }
        ctx.trace(TraceKind::GroupStateChanged {
            group: group_id.to_string(),
            from,
            to,
            generation,
            reason: "join phase complete".into(),
        });
        if to == GroupState::Empty {
            let meta = g.metadata(now);
            let partition = g.partition;
            self.pending_metadata.push((partition, meta));
            return;
        }
        ctx.trace(TraceKind::GroupGenerationStarted {
            group: group_id.to_string(),
            generation,
            protocol: g.protocol.clone().unwrap_or_default(),
            leader: g.leader.clone().unwrap_or_default(),
            members: g.members.keys().cloned().collect(),
        });
        let timeout = g.rebalance_timeout();
        let token = g.token;
        let joins: Vec<(String, NodeId, u64)> = g
            .members
            .values_mut()
            .filter_map(|m| m.awaiting_join.take().map(|c| (m.member_id.clone(), m.node, c)))
            .collect();
        for (member, node, c) in joins {
            let resp = self.join_response(group_id, &member, c);
            self.respond(node, resp);
        }
        ctx.set_timer(timeout, Timer::GroupSyncDeadline { group: group_id.to_string(), token });
    }

    fn join_response(&self, group_id: &str, member_id: &str, correlation_id: u64) -> GroupMessage {
        let g = &self.groups[group_id];
        let is_leader = g.leader.as_deref() == Some(member_id);
        let protocol = g.protocol.clone();
        let members = if is_leader {
            g.members
                .values()
                .map(|m| {
                    let mut s = m
                        .protocols
                        .iter()
                        .find(|(n, _)| Some(n) == protocol.as_ref())
                        .map(|(_, s)| s.clone())
                        .unwrap_or_else(|| Subscription::new(&m.member_id, None, &[]));
                    s.member_id = m.member_id.clone();
                    s
                })
                .collect()
        } else {
            vec![]
        };
        GroupMessage::JoinGroupResponse(JoinGroupResponse {
            correlation_id,
            error: ErrorCode::None,
            generation_id: g.generation,
            protocol_name: protocol,
            leader: g.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members,
        })
    }

    /// Checks the member and generation of a group request; refreshes its session.
    fn check_member(&mut self, now: SimTime, from: NodeId, member: &MemberRef) -> Result<GroupState, ErrorCode> {
        if !self.owns(&member.group_id) {
            return Err(ErrorCode::NotCoordinator);
        }
        let g = self.groups.get_mut(&member.group_id).ok_or(ErrorCode::UnknownMemberId)?;
        if g.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        let m = g.members.get_mut(&member.member_id).ok_or(ErrorCode::UnknownMemberId)?;
        if member.generation_id != g.generation {
            return Err(ErrorCode::IllegalGeneration);
        }
        m.deadline = m.deadline.max(now + m.session_timeout);
        m.node = from;
        Ok(g.state)
    }

    fn sync(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        correlation_id: u64,
        member: &MemberRef,
        assignments: Vec<(String, Vec<Tp>)>,
        log: &mut dyn OffsetsLog,
    ) -> Resp {
        let state = self.check_member(ctx.now, from, member)?;
        let g = self.groups.get_mut(&member.group_id).expect("checked");
        match state {
            GroupState::PreparingRebalance => Err(ErrorCode::RebalanceInProgress),
            GroupState::Stable => {
                let m = g.members.get_mut(&member.member_id).expect("checked");
                m.synced = true;
                let assignment = m.assignment.clone();
                self.respond(
                    from,
                    GroupMessage::SyncGroupResponse { correlation_id, error: ErrorCode::None, assignment },
                );
                Ok(())
            }
            GroupState::CompletingRebalance => {
                let m = g.members.get_mut(&member.member_id).expect("checked");
                m.awaiting_sync = Some(correlation_id);
                m.synced = true;
                m.node = from;
                if g.leader.as_deref() != Some(member.member_id.as_str()) {
                    return Ok(());
                }
                // The leader's assignment: written to the log first, handed out once committed.
                let assignments: VecMap<String, Vec<Tp>> =
                    assignments.into_iter().filter(|(id, _)| g.members.contains_key(id)).collect_map();
                let mut staged = g.clone();
                for (id, m) in staged.members.iter_mut() {
                    m.assignment = assignments.get(id).cloned().unwrap_or_default();
                }
                let meta = staged.metadata(ctx.now);
                let (partition, generation) = (g.partition, g.generation);
                let record = (records::group_key(&meta.group), Some(records::group_value(&meta)));
                match log.append(ctx, partition, vec![record]) {
                    Ok(required) => {
                        let kind = WriteKind::Sync { group: member.group_id.clone(), generation, assignments };
                        self.add_write(partition, required, kind);
                        Ok(())
                    }
                    Err(_) => {
                        // `resetAndPropagateAssignmentError` + `maybePrepareRebalance`.
                        let group_id = member.group_id.clone();
                        let g = self.groups.get_mut(&group_id).expect("checked");
                        let mut parked = vec![];
                        for m in g.members.values_mut() {
                            if let Some(c) = m.awaiting_sync.take() {
                                parked.push((m.node, c));
                            }
                        }
                        for (node, c) in parked {
                            self.respond(node, sync_error(c, ErrorCode::CoordinatorNotAvailable));
                        }
                        self.prepare_rebalance(ctx, &group_id, "group metadata write failed");
                        Ok(())
                    }
                }
            }
            GroupState::Empty | GroupState::Dead => Err(ErrorCode::UnknownMemberId),
        }
    }

    fn heartbeat(&mut self, ctx: &mut Ctx, from: NodeId, member: &MemberRef) -> Resp {
        match self.check_member(ctx.now, from, member)? {
            GroupState::PreparingRebalance => Err(ErrorCode::RebalanceInProgress),
            GroupState::CompletingRebalance | GroupState::Stable => Ok(()),
            GroupState::Empty | GroupState::Dead => Err(ErrorCode::UnknownMemberId),
        }
    }

    /// Removes a member (LeaveGroup, session expiry) and rebalances the rest.
    fn leave(&mut self, ctx: &mut Ctx, group_id: &str, member_id: &str, reason: &str) -> Resp {
        if !self.owns(group_id) {
            return Err(ErrorCode::NotCoordinator);
        }
        let g = self.groups.get_mut(group_id).ok_or(ErrorCode::UnknownMemberId)?;
        if g.pending.remove(member_id).is_some() {
            // A member that got MEMBER_ID_REQUIRED and leaves before joining.
            self.maybe_complete_join(ctx, group_id);
            return Ok(());
        }
        let m = g.members.remove(member_id).ok_or(ErrorCode::UnknownMemberId)?;
        if let Some(c) = m.awaiting_join {
            self.respond(m.node, join_error(c, member_id, ErrorCode::UnknownMemberId));
        }
        if let Some(c) = m.awaiting_sync {
            self.respond(m.node, sync_error(c, ErrorCode::UnknownMemberId));
        }
        ctx.trace(TraceKind::GroupMemberRemoved {
            group: group_id.to_string(),
            member_id: member_id.to_string(),
            reason: reason.to_string(),
        });
        let g = self.groups.get_mut(group_id).expect("exists");
        if g.leader.as_deref() == Some(member_id) {
            g.leader = g.first_member();
        }
        match g.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(ctx, group_id, reason),
            GroupState::PreparingRebalance => self.maybe_complete_join(ctx, group_id),
            GroupState::Empty | GroupState::Dead => {}
        }
        Ok(())
    }

    fn commit(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        correlation_id: u64,
        member: &MemberRef,
        offsets: Vec<(Tp, i64)>,
        log: &mut dyn OffsetsLog,
    ) -> Resp {
        if !self.owns(&member.group_id) {
            return Err(ErrorCode::NotCoordinator);
        }
        let group_id = member.group_id.clone();
        let now = ctx.now;
        let g = match self.groups.get_mut(&group_id) {
            Some(g) => g,
            None if member.generation_id < 0 => self.group_entry(&group_id),
            None => return Err(ErrorCode::IllegalGeneration),
        };
        // `ClassicGroup.validateOffsetCommit`.
        let standalone = member.generation_id < 0 && g.state == GroupState::Empty;
        if !standalone {
            if g.state == GroupState::Dead {
                return Err(ErrorCode::CoordinatorNotAvailable);
            }
            let m = g.members.get_mut(&member.member_id).ok_or(ErrorCode::UnknownMemberId)?;
            if member.generation_id != g.generation {
                return Err(ErrorCode::IllegalGeneration);
            }
            if g.state == GroupState::CompletingRebalance {
                return Err(ErrorCode::RebalanceInProgress);
            }
            m.deadline = m.deadline.max(now + m.session_timeout);
        }
        let partition = g.partition;
        let generation = g.generation;
        let recs = offsets
            .iter()
            .map(|(tp, offset)| {
                let c = OffsetCommit {
                    group: group_id.clone(),
                    tp: tp.clone(),
                    offset: *offset,
                    commit_timestamp: now.as_ms() as i64,
                };
                (records::commit_key(&group_id, tp), Some(records::commit_value(&c)))
            })
            .collect::<Vec<_>>();
        let required = log.append(ctx, partition, recs).map_err(|_| ErrorCode::CoordinatorNotAvailable)?;
        let kind = WriteKind::Commit { to: from, correlation_id, group: group_id, generation, offsets };
        let id = self.add_write(partition, required, kind);
        ctx.set_timer(self.config.commit_timeout, Timer::GroupWriteTimeout { write: id });
        Ok(())
    }

    fn add_write(&mut self, partition: u32, required: i64, kind: WriteKind) -> u64 {
        let id = self.write_id_next;
        self.write_id_next += 1;
        self.writes.insert(id, PendingWrite { partition, required, kind });
        id
    }

    /// Writes not yet committed (the broker calls [`Self::on_high_watermark`] as HWs move).
    pub fn has_pending_writes(&self) -> bool {
        !self.writes.is_empty() || !self.pending_metadata.is_empty()
    }

    /// The high watermark of `partition` is now `hw`: finish the writes it covers.
    pub fn on_high_watermark(&mut self, ctx: &mut Ctx, partition: u32, hw: i64) {
        let done: Vec<u64> = self
            .writes
            .iter()
            .filter(|(_, w)| w.partition == partition && w.required <= hw)
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            let w = self.writes.remove(&id).expect("listed");
            self.finish_write(ctx, w.kind);
        }
    }

    fn finish_write(&mut self, ctx: &mut Ctx, kind: WriteKind) {
        match kind {
            WriteKind::Commit { to, correlation_id, group, generation, offsets } => {
                if let Some(g) = self.groups.get_mut(&group) {
                    for (tp, o) in &offsets {
                        g.offsets.insert(tp.clone(), *o);
                    }
                }
                ctx.trace(TraceKind::OffsetsCommitted { group, generation, offsets: offsets.clone() });
                let results = offsets.into_iter().map(|(tp, _)| (tp, ErrorCode::None)).collect();
                self.respond(to, GroupMessage::OffsetCommitResponse { correlation_id, results });
            }
            WriteKind::Sync { group, generation, assignments } => {
                self.finish_sync(ctx, &group, generation, assignments)
            }
            WriteKind::Metadata => {}
        }
    }

    fn finish_sync(&mut self, ctx: &mut Ctx, group_id: &str, generation: i32, assignments: VecMap<String, Vec<Tp>>) {
        let Some(g) = self.groups.get_mut(group_id) else { return };
        if g.state != GroupState::CompletingRebalance || g.generation != generation {
            return;
        }
        g.state = GroupState::Stable;
        let mut out = vec![];
        let now = ctx.now;
        for (id, m) in g.members.iter_mut() {
            // `propagateAssignment` restarts every member's session.
            m.deadline = now + m.session_timeout;
            m.assignment = assignments.get(id).cloned().unwrap_or_default();
            if let Some(c) = m.awaiting_sync.take() {
                out.push((m.node, c, m.assignment.clone()));
            }
        }
        ctx.trace(TraceKind::GroupStateChanged {
            group: group_id.to_string(),
            from: GroupState::CompletingRebalance,
            to: GroupState::Stable,
            generation,
            reason: "leader's assignment stored".into(),
        });
        ctx.trace(TraceKind::GroupAssignment {
            group: group_id.to_string(),
            generation,
            assignment: g.members.values().map(|m| (m.member_id.clone(), m.assignment.clone())).collect(),
        });
        for (node, correlation_id, assignment) in out {
            self.respond(node, GroupMessage::SyncGroupResponse { correlation_id, error: ErrorCode::None, assignment });
        }
    }

    /// Writes queued metadata (an Empty group after a rebalance) to the log.
    pub fn flush_metadata(&mut self, ctx: &mut Ctx, log: &mut dyn OffsetsLog) {
        for (partition, meta) in std::mem::take(&mut self.pending_metadata) {
            let record = (records::group_key(&meta.group), Some(records::group_value(&meta)));
            if let Ok(required) = log.append(ctx, partition, vec![record]) {
                self.add_write(partition, required, WriteKind::Metadata);
            }
        }
    }

    // ----- timers -----

    /// Handles a coordinator timer.
    pub fn on_timer(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::GroupJoinDeadline { group, token } => self.on_join_deadline(ctx, &group, token),
            Timer::GroupSyncDeadline { group, token } => self.on_sync_deadline(ctx, &group, token),
            // One timer chain per member, started when it is added (or loaded).
            Timer::GroupSession { group, member } => {
                let Some(m) = self.groups.get(&group).and_then(|g| g.members.get(&member)) else { return };
                if m.awaiting_join.is_some() || m.awaiting_sync.is_some() {
                    // `hasSatisfiedHeartbeat`: a member waiting on the group is alive.
                    let session = m.session_timeout;
                    ctx.set_timer(session, Timer::GroupSession { group, member });
                } else if m.deadline <= ctx.now {
                    let _ = self.leave(ctx, &group, &member, "session timeout expired");
                } else {
                    let after = m.deadline.saturating_since(ctx.now);
                    ctx.set_timer(after, Timer::GroupSession { group, member });
                }
            }
            Timer::GroupPendingMember { group, member } => {
                let now = ctx.now;
                if let Some(g) = self.groups.get_mut(&group) {
                    if g.pending.get(&member).is_some_and(|t| *t <= now) {
                        g.pending.remove(&member);
                        self.maybe_complete_join(ctx, &group);
                    }
                }
            }
            Timer::GroupWriteTimeout { write } => {
                if let Some(w) = self.writes.remove(&write) {
                    if let WriteKind::Commit { to, correlation_id, offsets, .. } = w.kind {
                        let results = offsets.into_iter().map(|(tp, _)| (tp, ErrorCode::RequestTimedOut)).collect();
                        self.respond(to, GroupMessage::OffsetCommitResponse { correlation_id, results });
                    }
                }
            }
            _ => {}
        }
    }

    fn on_join_deadline(&mut self, ctx: &mut Ctx, group_id: &str, token: u64) {
        let initial = self.config.initial_rebalance_delay;
        let Some(g) = self.groups.get_mut(group_id) else { return };
        if g.token != token || g.state != GroupState::PreparingRebalance {
            return;
        }
        if let Some(remaining) = g.initial_delay_remaining {
            // `InitialDelayedJoin.onComplete`: each new member extends the wait by another delay,
            // within the rebalance timeout.
            if g.new_member_added && remaining > SimDuration::ZERO {
                g.new_member_added = false;
                let delay = initial.min(remaining);
                g.initial_delay_remaining = Some(remaining.saturating_sub(initial));
                ctx.set_timer(delay, Timer::GroupJoinDeadline { group: group_id.to_string(), token });
                return;
            }
            g.initial_delay_remaining = None;
        }
        self.complete_join(ctx, group_id);
    }

    fn on_sync_deadline(&mut self, ctx: &mut Ctx, group_id: &str, token: u64) {
        let Some(g) = self.groups.get(group_id) else { return };
        if g.token != token || !matches!(g.state, GroupState::CompletingRebalance | GroupState::Stable) {
            return;
        }
        let laggards: Vec<String> = g.members.values().filter(|m| !m.synced).map(|m| m.member_id.clone()).collect();
        for id in laggards {
            let _ = self.leave(ctx, group_id, &id, "no SyncGroup within the rebalance timeout");
        }
    }
}

/// Rebuilds a group from its stored metadata: members come back Stable with fresh sessions.
fn restore(g: &mut Group, meta: GroupMetadata, now: SimTime) {
    g.generation = meta.generation;
    g.protocol = meta.protocol.clone();
    g.leader = meta.leader;
    g.members.clear();
    for (i, m) in meta.members.into_iter().enumerate() {
        let session = SimDuration::from_ms(m.session_timeout_ms.max(0) as u64);
        let protocol = meta.protocol.clone().unwrap_or_default();
        g.members.insert(
            m.member_id.clone(),
            Member {
                member_id: m.member_id.clone(),
                client_id: m.client_id,
                // Replaced by the connection of the member's next JoinGroup or SyncGroup, the
                // only requests answered later.
                node: NodeId::consumer(1),
                session_timeout: session,
                rebalance_timeout: SimDuration::from_ms(m.rebalance_timeout_ms.max(0) as u64),
                protocols: vec![(protocol, m.subscription)],
                assignment: m.assignment,
                join_order: i as u64,
                awaiting_join: None,
                awaiting_sync: None,
                synced: true,
                deadline: now + session,
            },
        );
    }
    g.join_order_next = g.members.len() as u64;
    g.state = if g.members.is_empty() { GroupState::Empty } else { GroupState::Stable };
}

fn join_error(correlation_id: u64, member_id: &str, error: ErrorCode) -> GroupMessage {
    GroupMessage::JoinGroupResponse(JoinGroupResponse {
        correlation_id,
        error,
        generation_id: -1,
        protocol_name: None,
        leader: String::new(),
        member_id: member_id.to_string(),
        members: vec![],
    })
}

fn sync_error(correlation_id: u64, error: ErrorCode) -> GroupMessage {
    GroupMessage::SyncGroupResponse { correlation_id, error, assignment: vec![] }
}

/// A random (version 4) UUID from the simulation's RNG, as `UUID.randomUUID().toString()`.
fn uuid(rng: &mut SimRng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    let a = (a & !0xF000) | 0x4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::sim::node::Outbox;

    /// A log that takes every append; the test moves the HW.
    #[derive(Default)]
    struct FakeLog {
        end: i64,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    }

    impl OffsetsLog for FakeLog {
        fn append(&mut self, _: &mut Ctx, _: u32, records: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<i64, ErrorCode> {
            self.end += records.len() as i64;
            self.records.extend(records);
            Ok(self.end)
        }
    }

    struct Harness {
        c: GroupCoordinator,
        log: FakeLog,
        now: SimTime,
        correlation: u64,
    }

    const CONFIG: CoordinatorConfig = CoordinatorConfig {
        offsets_partitions: 1,
        initial_rebalance_delay: SimDuration::ZERO,
        min_session_timeout: SimDuration::from_ms(6000),
        max_session_timeout: SimDuration::from_ms(1_800_000),
        commit_timeout: SimDuration::from_ms(5000),
    };

    impl Harness {
        fn new() -> Harness {
            let mut h = Harness {
                c: GroupCoordinator::new(CONFIG, SimRng::new(1)),
                log: FakeLog::default(),
                now: SimTime::ZERO,
                correlation: 0,
            };
            h.with(|c, ctx, _| c.load(ctx, 0, vec![]));
            h
        }

        fn with<T>(&mut self, f: impl FnOnce(&mut GroupCoordinator, &mut Ctx, &mut FakeLog) -> T) -> (T, Outbox) {
            let mut out = Outbox::default();
            let mut ctx = Ctx { now: self.now, me: NodeId::broker(1), out: &mut out };
            let t = f(&mut self.c, &mut ctx, &mut self.log);
            (t, out)
        }

        /// Sends `msg` from consumer `n`; returns the responses.
        fn send(&mut self, n: u16, msg: GroupMessage) -> Vec<(NodeId, GroupMessage)> {
            self.with(|c, ctx, log| c.handle(ctx, NodeId::consumer(n), msg, log));
            self.responses()
        }

        fn responses(&mut self) -> Vec<(NodeId, GroupMessage)> {
            self.c
                .take_responses()
                .into_iter()
                .map(|(to, m)| match m {
                    Message::Group(g) => (to, *g),
                    other => panic!("not a group message: {other:?}"),
                })
                .collect()
        }

        fn commit_log(&mut self) {
            let hw = self.log.end;
            self.with(|c, ctx, _| c.on_high_watermark(ctx, 0, hw));
        }

        fn join(&mut self, n: u16, member_id: &str) -> Vec<(NodeId, GroupMessage)> {
            self.correlation += 1;
            let req = JoinGroupRequest {
                correlation_id: self.correlation,
                group_id: "g".into(),
                member_id: member_id.into(),
                group_instance_id: None,
                client_id: format!("c{n}"),
                session_timeout: SimDuration::from_ms(10_000),
                rebalance_timeout: SimDuration::from_ms(60_000),
                protocols: vec![("range".into(), Subscription::new("", None, &["t"]))],
            };
            self.send(n, GroupMessage::JoinGroup(req))
        }

        /// Joins with MEMBER_ID_REQUIRED first; returns the member id.
        fn new_member(&mut self, n: u16) -> String {
            let r = self.join(n, "");
            let GroupMessage::JoinGroupResponse(resp) = &r[0].1 else { panic!("{r:?}") };
            assert_eq!(resp.error, ErrorCode::MemberIdRequired);
            let id = resp.member_id.clone();
            self.join(n, &id);
            id
        }

        fn member(&self, id: &str, generation: i32) -> MemberRef {
            MemberRef { group_id: "g".into(), member_id: id.into(), generation_id: generation }
        }

        fn heartbeat(&mut self, n: u16, id: &str, generation: i32) -> ErrorCode {
            let member = self.member(id, generation);
            match self.send(n, GroupMessage::Heartbeat { correlation_id: 0, member }).as_slice() {
                [(_, GroupMessage::HeartbeatResponse { error, .. })] => *error,
                other => panic!("{other:?}"),
            }
        }

        fn state(&self) -> (GroupState, i32) {
            let g = &self.c.groups()["g"];
            (g.state, g.generation)
        }

        fn fire(&mut self, timer: Timer) {
            self.with(|c, ctx, _| c.on_timer(ctx, timer));
        }
    }

    #[test]
    fn join_sync_heartbeat_and_their_errors() {
        let mut h = Harness::new();
        let a = h.new_member(1);
        // No initial delay configured: the join completes when the delay timer fires.
        assert_eq!(h.state(), (GroupState::PreparingRebalance, 0));
        h.fire(Timer::GroupJoinDeadline { group: "g".into(), token: h.c.groups()["g"].token });
        let r = h.responses();
        let GroupMessage::JoinGroupResponse(resp) = &r[0].1 else { panic!("{r:?}") };
        assert_eq!(
            (resp.error, resp.generation_id, resp.leader == a, resp.members.len()),
            (ErrorCode::None, 1, true, 1)
        );
        assert_eq!(h.state(), (GroupState::CompletingRebalance, 1));
        // CompletingRebalance: heartbeats are fine; commits are refused.
        assert_eq!(h.heartbeat(1, &a, 1), ErrorCode::None);
        let member = h.member(&a, 1);
        let tp = Tp::new(&"t".into(), 0);
        let r = h.send(1, GroupMessage::OffsetCommit { correlation_id: 9, member, offsets: vec![(tp.clone(), 5)] });
        assert!(
            matches!(&r[0].1, GroupMessage::OffsetCommitResponse { results, .. } if results[0].1 == ErrorCode::RebalanceInProgress)
        );
        // The leader's SyncGroup waits for the group record to commit.
        let member = h.member(&a, 1);
        let assignments = vec![(a.clone(), vec![tp.clone()])];
        assert!(h.send(1, GroupMessage::SyncGroup { correlation_id: 3, member, assignments }).is_empty());
        h.commit_log();
        let r = h.responses();
        assert!(
            matches!(&r[0].1, GroupMessage::SyncGroupResponse { error: ErrorCode::None, assignment, .. } if *assignment == [tp.clone()])
        );
        assert_eq!(h.state(), (GroupState::Stable, 1));
        // Errors: unknown member, old generation.
        assert_eq!(h.heartbeat(1, "nobody", 1), ErrorCode::UnknownMemberId);
        assert_eq!(h.heartbeat(1, &a, 0), ErrorCode::IllegalGeneration);
        // A second member: the group rebalances; a's heartbeat says so.
        let _b = h.new_member(2);
        assert_eq!(h.state(), (GroupState::PreparingRebalance, 1));
        assert_eq!(h.heartbeat(1, &a, 1), ErrorCode::RebalanceInProgress);
        // a's commit in its (still current) generation is accepted during PreparingRebalance.
        let member = h.member(&a, 1);
        h.send(1, GroupMessage::OffsetCommit { correlation_id: 10, member, offsets: vec![(tp.clone(), 7)] });
        h.commit_log();
        let r = h.responses();
        assert!(
            matches!(&r[0].1, GroupMessage::OffsetCommitResponse { results, .. } if results[0].1 == ErrorCode::None)
        );
        assert_eq!(h.c.groups()["g"].offsets[&tp], 7);
        // a rejoins: everyone has joined, generation 2.
        h.join(1, &a);
        let r = h.responses();
        assert!(r.is_empty(), "responses went out with the join: {r:?}");
        assert_eq!(h.state(), (GroupState::CompletingRebalance, 2));
        // A commit from generation 1 is now refused.
        let member = h.member(&a, 1);
        let r = h.send(1, GroupMessage::OffsetCommit { correlation_id: 11, member, offsets: vec![(tp, 9)] });
        assert!(
            matches!(&r[0].1, GroupMessage::OffsetCommitResponse { results, .. } if results[0].1 == ErrorCode::IllegalGeneration)
        );
    }

    #[test]
    fn a_session_expiry_removes_the_member_and_an_empty_group_is_stored() {
        let mut h = Harness::new();
        let a = h.new_member(1);
        h.fire(Timer::GroupJoinDeadline { group: "g".into(), token: h.c.groups()["g"].token });
        h.responses();
        h.now = SimTime::from_ms(5000);
        assert_eq!(h.heartbeat(1, &a, 1), ErrorCode::None);
        // The session timer set at the join fires before the deadline: re-armed, not expired.
        h.now = SimTime::from_ms(10_000);
        h.fire(Timer::GroupSession { group: "g".into(), member: a.clone() });
        assert!(h.c.groups()["g"].members.contains_key(&a));
        h.now = SimTime::from_ms(15_000);
        h.fire(Timer::GroupSession { group: "g".into(), member: a.clone() });
        assert!(h.c.groups()["g"].members.is_empty());
        // Removing the last member rebalances to Empty with the next generation (written out).
        h.fire(Timer::GroupJoinDeadline { group: "g".into(), token: h.c.groups()["g"].token });
        assert_eq!(h.state(), (GroupState::Empty, 2));
        h.with(|c, ctx, log| c.flush_metadata(ctx, log));
        let (key, value) = h.log.records.last().unwrap().clone();
        let rec = records::decode(&key, value.as_deref()).unwrap();
        assert!(
            matches!(rec, OffsetsRecord::Group { value: Some(GroupMetadata { generation: 2, ref members, .. }), .. } if members.is_empty())
        );
    }

    #[test]
    fn a_new_coordinator_rebuilds_groups_and_offsets_from_the_log() {
        let mut h = Harness::new();
        let a = h.new_member(1);
        h.fire(Timer::GroupJoinDeadline { group: "g".into(), token: h.c.groups()["g"].token });
        h.responses();
        let tp = Tp::new(&"t".into(), 0);
        let member = h.member(&a, 1);
        h.send(
            1,
            GroupMessage::SyncGroup { correlation_id: 3, member, assignments: vec![(a.clone(), vec![tp.clone()])] },
        );
        h.commit_log();
        let member = h.member(&a, 1);
        h.send(1, GroupMessage::OffsetCommit { correlation_id: 4, member, offsets: vec![(tp.clone(), 42)] });
        h.commit_log();
        h.responses();
        let log: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> =
            h.log.records.iter().cloned().enumerate().map(|(i, (k, v))| (i as i64, k, v)).collect();
        let mut other = Harness {
            c: GroupCoordinator::new(CONFIG, SimRng::new(2)),
            log: FakeLog::default(),
            now: SimTime::ZERO,
            correlation: 0,
        };
        let (_, out) = other.with(|c, ctx, _| c.load(ctx, 0, log));
        assert!(
            out.trace.iter().any(|t| matches!(t, TraceKind::GroupsLoaded { groups: 1, offsets: 1, .. })),
            "{:?}",
            out.trace
        );
        let g = &other.c.groups()["g"];
        assert_eq!((g.state, g.generation, g.offsets[&tp]), (GroupState::Stable, 1, 42));
        assert_eq!(g.members[&a].assignment, [tp]);
        assert_eq!(other.heartbeat(1, &a, 1), ErrorCode::None, "members carry on with the new coordinator");
        // Unloading answers NOT_COORDINATOR from then on.
        other.with(|c, ctx, _| c.unload(ctx, 0, true));
        assert_eq!(other.heartbeat(1, &a, 1), ErrorCode::NotCoordinator);
    }

    #[test]
    fn an_unknown_member_id_or_bad_session_timeout_is_refused() {
        let mut h = Harness::new();
        let r = h.join(1, "made-up");
        assert!(matches!(&r[0].1, GroupMessage::JoinGroupResponse(j) if j.error == ErrorCode::UnknownMemberId));
        h.correlation += 1;
        let req = JoinGroupRequest {
            correlation_id: 1,
            group_id: "g".into(),
            member_id: String::new(),
            group_instance_id: None,
            client_id: "c".into(),
            session_timeout: SimDuration::from_ms(1000),
            rebalance_timeout: SimDuration::from_ms(1000),
            protocols: vec![("range".into(), Subscription::new("", None, &["t"]))],
        };
        let r = h.send(1, GroupMessage::JoinGroup(req));
        assert!(matches!(&r[0].1, GroupMessage::JoinGroupResponse(j) if j.error == ErrorCode::InvalidSessionTimeout));
    }
}
