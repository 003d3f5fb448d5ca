//! The KRaft controller, as a quorum of one (shared/reference/kafka-semantics.md §6).
//!
//! It owns the committed partition states (leader, leader epoch, partition epoch, ISR) and the
//! broker registrations. Brokers register after every start and heartbeat every
//! `broker.heartbeat.interval.ms`; a broker silent for `broker.session.timeout.ms`, or one that
//! registers again with a new incarnation, is *fenced*: it leaves every ISR (except as the last
//! member, which is kept so a clean election can happen when it returns) and every partition it
//! led gets a new leader — the first replica in assignment order that is in the ISR and unfenced,
//! or, only with `unclean.leader.election.enable`, the first unfenced replica, with the ISR forced
//! to it. Leaders change ISRs with `AlterPartition`, validated against leader epoch and partition
//! epoch. Every committed change is a metadata delta pushed to all brokers over the network, so
//! brokers (and the clients that ask them) see it late.

use super::collections::{CollectMap, CollectSet};
use super::config::ControllerConfig;
use super::node::{Ctx, NodeId, Timer};
use super::protocol::*;
use super::time::SimTime;
use super::trace::{ElectionKind, TraceKind};
use crate::sim::vec_map::{VecMap, VecSet};

/// The controller's record of one broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The broker process run this registration belongs to.
    pub incarnation: u32,
    /// The epoch handed out at registration.
    pub broker_epoch: i64,
    /// Fenced brokers lead nothing and join no ISR.
    pub fenced: bool,
    /// Last heartbeat (or registration).
    pub last_heartbeat: SimTime,
}

/// The controller node.
#[derive(Clone, Debug)]
pub struct Controller {
    config: ControllerConfig,
    brokers: VecMap<u16, Registration>,
    partitions: VecMap<Tp, PartitionState>,
    unclean_by_topic: VecMap<TopicName, bool>,
    metadata_offset: u64,
    next_broker_epoch: i64,
    session_check_at: Option<SimTime>,
}

impl Controller {
    /// A controller for an already formed cluster: every broker registered (incarnation 1,
    /// unfenced) and every partition led by its preferred replica with the full ISR.
    pub fn new(config: ControllerConfig, brokers: &[u16], partitions: Vec<PartitionState>) -> Controller {
        let brokers = brokers
            .iter()
            .map(|b| {
                let r = Registration {
                    incarnation: 1,
                    broker_epoch: i64::from(*b),
                    fenced: false,
                    last_heartbeat: SimTime::ZERO,
                };
                (*b, r)
            })
            .collect_map();
        let next_broker_epoch = 1_000;
        Controller {
            config,
            brokers,
            partitions: partitions.into_iter().map(|p| (p.tp.clone(), p)).collect_map(),
            unclean_by_topic: VecMap::new(),
            metadata_offset: 0,
            next_broker_epoch,
            session_check_at: None,
        }
    }

    /// Committed partition states.
    pub fn partitions(&self) -> &VecMap<Tp, PartitionState> {
        &self.partitions
    }

    /// Broker registrations.
    pub fn brokers(&self) -> &VecMap<u16, Registration> {
        &self.brokers
    }

    /// The current metadata offset (one per committed change).
    pub fn metadata_offset(&self) -> u64 {
        self.metadata_offset
    }

    /// Replaces the configuration; unclean election may now apply to offline partitions.
    pub fn set_config(&mut self, ctx: &mut Ctx, config: ControllerConfig) {
        self.config = config;
        self.elect_offline(ctx);
    }

    /// Seeds a topic's `unclean.leader.election.enable` override at build time.
    pub fn seed_topic_unclean(&mut self, topic: &TopicName, unclean: Option<bool>) {
        if let Some(u) = unclean {
            self.unclean_by_topic.insert(topic.clone(), u);
        }
    }

    /// Sets a topic's `unclean.leader.election.enable` override (`None` = the broker default).
    pub fn set_topic_unclean(&mut self, ctx: &mut Ctx, topic: &TopicName, unclean: Option<bool>) {
        match unclean {
            Some(u) => self.unclean_by_topic.insert(topic.clone(), u),
            None => self.unclean_by_topic.remove(topic),
        };
        self.elect_offline(ctx);
    }

    /// Arms the session check and the leader-imbalance check.
    pub fn start(&mut self, ctx: &mut Ctx) {
        self.arm_session_check(ctx);
        ctx.set_timer(self.config.leader_imbalance_check_interval, Timer::LeaderImbalanceCheck);
    }

    /// Handles a message from a broker.
    pub fn handle_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        if !from.is_broker() {
            return;
        }
        let broker = from.number;
        match msg {
            Message::BrokerRegistration { incarnation } => self.on_registration(ctx, broker, incarnation),
            Message::BrokerHeartbeat { broker_epoch, metadata_offset } => {
                self.on_heartbeat(ctx, broker, broker_epoch, metadata_offset)
            }
            Message::AlterPartition { broker_epoch, proposal } => {
                let (error, state) = self.on_alter_partition(ctx, broker, broker_epoch, &proposal);
                ctx.send(from, Message::AlterPartitionResponse { tp: proposal.tp, error, state: state.map(Box::new) });
            }
            _ => {}
        }
    }

    /// Handles a timer.
    pub fn handle_timeout(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::SessionCheck => {
                self.session_check_at = None;
                self.fence_expired(ctx);
                self.arm_session_check(ctx);
            }
            Timer::LeaderImbalanceCheck => {
                // Always re-armed, so turning auto.leader.rebalance.enable on at run time works.
                if self.config.auto_leader_rebalance {
                    self.elect_preferred(ctx);
                }
                ctx.set_timer(self.config.leader_imbalance_check_interval, Timer::LeaderImbalanceCheck);
            }
            _ => {}
        }
    }

    // ----- broker lifecycle -----

    fn on_registration(&mut self, ctx: &mut Ctx, broker: u16, incarnation: u32) {
        if let Some(r) = self.brokers.get(&broker).filter(|r| r.incarnation == incarnation) {
            let broker_epoch = r.broker_epoch;
            ctx.send(NodeId::broker(broker), Message::BrokerRegistrationResponse { broker_epoch });
            return;
        }
        // A new process: whatever the old registration led or was in sync for is gone with it.
        if self.brokers.get(&broker).is_some_and(|r| !r.fenced) {
            self.fence(ctx, broker, "re-registered");
        }
        self.next_broker_epoch += 1;
        let broker_epoch = self.next_broker_epoch;
        let registration = Registration { incarnation, broker_epoch, fenced: true, last_heartbeat: ctx.now };
        self.brokers.insert(broker, registration);
        ctx.trace(TraceKind::BrokerRegistered { broker, broker_epoch });
        ctx.send(NodeId::broker(broker), Message::BrokerRegistrationResponse { broker_epoch });
        self.send_snapshot(ctx, broker);
        self.arm_session_check(ctx);
    }

    fn on_heartbeat(&mut self, ctx: &mut Ctx, broker: u16, broker_epoch: i64, metadata_offset: u64) {
        let to = NodeId::broker(broker);
        let Some(r) = self.brokers.get_mut(&broker).filter(|r| r.broker_epoch == broker_epoch) else {
            ctx.send(to, Message::BrokerHeartbeatResponse { error: ErrorCode::StaleBrokerEpoch, fenced: true });
            return;
        };
        r.last_heartbeat = ctx.now;
        let was_fenced = r.fenced;
        if metadata_offset < self.metadata_offset {
            self.send_snapshot(ctx, broker);
        } else if was_fenced {
            // Caught up with the metadata: unfence (KRaft unfences a broker once it has caught up).
            self.brokers.get_mut(&broker).expect("just found").fenced = false;
            ctx.trace(TraceKind::BrokerUnfenced { broker });
            self.commit(ctx, Vec::new(), true);
            self.elect_offline(ctx);
        }
        let fenced = self.brokers[&broker].fenced;
        ctx.send(to, Message::BrokerHeartbeatResponse { error: ErrorCode::None, fenced });
        self.arm_session_check(ctx);
    }

    fn arm_session_check(&mut self, ctx: &mut Ctx) {
        let next =
            self.brokers.values().filter(|r| !r.fenced).map(|r| r.last_heartbeat + self.config.session_timeout).min();
        if let Some(at) = next {
            if self.session_check_at.is_none_or(|armed| armed > at) {
                self.session_check_at = Some(at);
                ctx.set_timer(at.saturating_since(ctx.now), Timer::SessionCheck);
            }
        }
    }

    fn fence_expired(&mut self, ctx: &mut Ctx) {
        let timeout = self.config.session_timeout;
        let expired: Vec<u16> = self
            .brokers
            .iter()
            .filter(|(_, r)| !r.fenced && ctx.now.saturating_since(r.last_heartbeat) >= timeout)
            .map(|(b, _)| *b)
            .collect();
        for broker in expired {
            self.fence(ctx, broker, "session timed out");
        }
    }

    /// Fences a broker: out of every ISR (unless it is the last member), and re-elects the
    /// leaders of the partitions it led.
    fn fence(&mut self, ctx: &mut Ctx, broker: u16, reason: &str) {
        let Some(r) = self.brokers.get_mut(&broker) else { return };
        r.fenced = true;
        ctx.trace(TraceKind::BrokerFenced { broker, reason: reason.into() });
        let affected: Vec<Tp> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.isr.contains(&broker) || p.leader == Some(broker))
            .map(|(tp, _)| tp.clone())
            .collect();
        let mut changes = Vec::new();
        for tp in affected {
            let mut p = self.partitions[&tp].clone();
            if p.isr.len() > 1 {
                p.isr.retain(|b| *b != broker);
            }
            changes.push(self.with_election(ctx, p, false));
        }
        self.commit(ctx, changes, true);
    }

    // ----- elections -----

    fn acceptable(&self, broker: u16) -> bool {
        self.brokers.get(&broker).is_some_and(|r| !r.fenced)
    }

    fn unclean_enabled(&self, topic: &TopicName) -> bool {
        self.unclean_by_topic.get(topic).copied().unwrap_or(self.config.unclean_leader_election)
    }

    /// Elects a leader for `p` (`PartitionChangeBuilder.electLeader`). Normal: keep the current
    /// leader if it is acceptable and in the ISR, else the first ISR member in assignment order
    /// that is acceptable, else (only when enabled) the first acceptable replica, with the ISR
    /// forced to it. Preferred: the first replica, only if acceptable and in the ISR. Any leader
    /// change, to no leader included, bumps the leader epoch.
    fn with_election(&self, ctx: &mut Ctx, mut p: PartitionState, preferred: bool) -> PartitionState {
        let in_sync = |b: u16| self.acceptable(b) && p.isr.contains(&b);
        let target = if preferred {
            match p.replicas.first() {
                Some(&b) if in_sync(b) => Some(b),
                _ => return p,
            }
        } else if p.leader.is_some_and(in_sync) {
            return p;
        } else {
            p.replicas.iter().copied().find(|b| in_sync(*b))
        };
        let (leader, kind) = match target {
            Some(b) if preferred => (Some(b), ElectionKind::Preferred),
            Some(b) => (Some(b), ElectionKind::Clean),
            None if self.unclean_enabled(&p.tp.topic) => match p.replicas.iter().copied().find(|b| self.acceptable(*b))
            {
                Some(b) => (Some(b), ElectionKind::Unclean),
                None => (None, ElectionKind::Offline),
            },
            None => (None, ElectionKind::Offline),
        };
        if leader == p.leader {
            return p;
        }
        if let (ElectionKind::Unclean, Some(b)) = (kind, leader) {
            p.isr = vec![b];
        }
        p.leader = leader;
        p.leader_epoch += 1;
        ctx.trace(TraceKind::LeaderElected {
            tp: p.tp.clone(),
            leader: p.leader,
            leader_epoch: p.leader_epoch,
            isr: p.isr.clone(),
            election: kind,
        });
        p
    }

    /// Offline partitions get a leader if one has become acceptable (or unclean now applies).
    fn elect_offline(&mut self, ctx: &mut Ctx) {
        let offline: Vec<PartitionState> = self.partitions.values().filter(|p| p.leader.is_none()).cloned().collect();
        let changes =
            offline.into_iter().map(|p| self.with_election(ctx, p, false)).filter(|p| p.leader.is_some()).collect();
        self.commit(ctx, changes, false);
    }

    /// `auto.leader.rebalance.enable`: partitions whose preferred replica is unfenced and in
    /// sync but not leading move back to it.
    fn elect_preferred(&mut self, ctx: &mut Ctx) {
        let imbalanced: Vec<PartitionState> = self
            .partitions
            .values()
            .filter(|p| p.replicas.first().is_some_and(|b| p.leader != Some(*b)))
            .cloned()
            .collect();
        let changes = imbalanced.into_iter().map(|p| self.with_election(ctx, p, true)).collect();
        self.commit(ctx, changes, false);
    }

    // ----- AlterPartition -----

    fn on_alter_partition(
        &mut self,
        ctx: &mut Ctx,
        broker: u16,
        broker_epoch: i64,
        proposal: &IsrProposal,
    ) -> (ErrorCode, Option<PartitionState>) {
        if self.brokers.get(&broker).is_none_or(|r| r.broker_epoch != broker_epoch) {
            return (ErrorCode::StaleBrokerEpoch, None);
        }
        let Some(current) = self.partitions.get(&proposal.tp).cloned() else {
            return (ErrorCode::UnknownTopicOrPartition, None);
        };
        if current.leader != Some(broker) {
            return (ErrorCode::NotLeaderOrFollower, None);
        }
        if proposal.leader_epoch != current.leader_epoch {
            return (ErrorCode::FencedLeaderEpoch, None);
        }
        let proposed: VecSet<u16> = proposal.isr.iter().copied().collect_set();
        if proposal.partition_epoch != current.partition_epoch {
            // A retry of a change already committed is answered with the committed state.
            let same = current.isr.iter().copied().collect_set() == proposed;
            return if same { (ErrorCode::None, Some(current)) } else { (ErrorCode::InvalidUpdateVersion, None) };
        }
        let added_ineligible = proposed.iter().any(|b| !current.isr.contains(b) && !self.acceptable(*b));
        if added_ineligible || !proposed.contains(&broker) || !proposed.iter().all(|b| current.replicas.contains(b)) {
            return (ErrorCode::IneligibleReplica, None);
        }
        let mut next = current;
        next.isr = proposed.into_iter().collect();
        self.commit(ctx, vec![next], false);
        (ErrorCode::None, Some(self.partitions[&proposal.tp].clone()))
    }

    // ----- metadata propagation -----

    /// Commits changed partition states (bumping each partition epoch) as one metadata delta and
    /// pushes it to every broker; with nothing changed it commits only when broker liveness
    /// changed, so brokers learn the live set.
    fn commit(&mut self, ctx: &mut Ctx, changes: Vec<PartitionState>, liveness_changed: bool) {
        let mut committed = Vec::new();
        for mut p in changes {
            let old = &self.partitions[&p.tp];
            if *old == p {
                continue;
            }
            p.partition_epoch = old.partition_epoch + 1;
            ctx.trace(TraceKind::PartitionChanged {
                tp: p.tp.clone(),
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                isr: p.isr.clone(),
            });
            self.partitions.insert(p.tp.clone(), p.clone());
            committed.push(p);
        }
        if committed.is_empty() && !liveness_changed {
            return;
        }
        let prev_offset = self.metadata_offset;
        self.metadata_offset += 1;
        let update = MetadataUpdate {
            prev_offset,
            offset: self.metadata_offset,
            snapshot: false,
            live_brokers: self.live_brokers(),
            partitions: committed,
        };
        for broker in self.brokers.keys() {
            ctx.send(NodeId::broker(*broker), Message::MetadataUpdate(update.clone()));
        }
    }

    fn live_brokers(&self) -> Vec<u16> {
        self.brokers.iter().filter(|(_, r)| !r.fenced).map(|(b, _)| *b).collect()
    }

    fn send_snapshot(&self, ctx: &mut Ctx, broker: u16) {
        let update = MetadataUpdate {
            prev_offset: 0,
            offset: self.metadata_offset,
            snapshot: true,
            live_brokers: self.live_brokers(),
            partitions: self.partitions.values().cloned().collect(),
        };
        ctx.send(NodeId::broker(broker), Message::MetadataUpdate(update));
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::sim::config::Props;
    use crate::sim::config::Scope;
    use crate::sim::node::Outbox;

    fn state(replicas: &[u16], leader: u16, isr: &[u16]) -> PartitionState {
        PartitionState {
            tp: Tp::new(&"t".into(), 0),
            replicas: replicas.to_vec(),
            leader: Some(leader),
            leader_epoch: 4,
            partition_epoch: 9,
            isr: isr.to_vec(),
        }
    }

    fn controller(unclean: bool, p: PartitionState) -> Controller {
        let mut props = Props::empty(Scope::Broker);
        props.set("unclean.leader.election.enable", if unclean { "true" } else { "false" }).unwrap();
        Controller::new(ControllerConfig::from_props(&props), &[1, 2, 3, 4], vec![p])
    }

    fn fence(c: &mut Controller, broker: u16) -> Outbox {
        let mut out = Outbox::default();
        let mut ctx = Ctx { now: SimTime::from_ms(1), me: NodeId::CONTROLLER, out: &mut out };
        c.fence(&mut ctx, broker, "test");
        out
    }

    fn tp() -> Tp {
        Tp::new(&"t".into(), 0)
    }

    #[test]
    fn clean_election_takes_the_first_isr_member_in_assignment_order() {
        // Assignment order 3, 1, 4, 2; ISR {1, 2, 4}; leader 3 fenced → 1 (before 4 and 2).
        let mut c = controller(false, state(&[3, 1, 4, 2], 3, &[1, 2, 3, 4]));
        fence(&mut c, 3);
        let p = &c.partitions()[&tp()];
        assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (Some(1), 5, 10));
        assert_eq!(p.isr, [1, 2, 4]);
        fence(&mut c, 1);
        assert_eq!(c.partitions()[&tp()].leader, Some(4), "4 comes before 2 in the assignment");
    }

    #[test]
    fn the_last_isr_member_stays_in_the_isr_and_the_partition_goes_offline() {
        let mut c = controller(false, state(&[1, 2, 3], 1, &[1]));
        fence(&mut c, 1);
        let p = &c.partitions()[&tp()];
        assert_eq!((p.leader, p.leader_epoch), (None, 5), "offline; the leader change bumps the epoch");
        assert_eq!(p.isr, [1], "kept, so a clean election can happen when broker-1 returns");
    }

    #[test]
    fn unclean_election_forces_the_isr_to_the_new_leader() {
        let mut c = controller(true, state(&[1, 3, 2], 1, &[1]));
        fence(&mut c, 1);
        let p = &c.partitions()[&tp()];
        assert_eq!((p.leader, p.isr.clone()), (Some(3), vec![3]), "first unfenced replica in assignment order");
    }

    #[test]
    fn alter_partition_is_validated_against_epochs_and_eligibility() {
        let mut c = controller(false, state(&[1, 2, 3], 1, &[1, 2]));
        let mut out = Outbox::default();
        let mut ctx = Ctx { now: SimTime::from_ms(1), me: NodeId::CONTROLLER, out: &mut out };
        let proposal = |leader_epoch, partition_epoch, isr: &[u16]| IsrProposal {
            tp: tp(),
            leader: 1,
            leader_epoch,
            partition_epoch,
            isr: isr.to_vec(),
        };
        let epoch1 = c.brokers()[&1].broker_epoch;
        assert_eq!(
            c.on_alter_partition(&mut ctx, 1, epoch1, &proposal(3, 9, &[1, 2, 3])).0,
            ErrorCode::FencedLeaderEpoch
        );
        assert_eq!(
            c.on_alter_partition(&mut ctx, 1, epoch1, &proposal(4, 8, &[1, 2, 3])).0,
            ErrorCode::InvalidUpdateVersion
        );
        assert_eq!(
            c.on_alter_partition(&mut ctx, 2, c.brokers()[&2].broker_epoch, &proposal(4, 9, &[1, 2])).0,
            ErrorCode::NotLeaderOrFollower
        );
        assert_eq!(c.on_alter_partition(&mut ctx, 1, 77, &proposal(4, 9, &[1, 2, 3])).0, ErrorCode::StaleBrokerEpoch);
        c.brokers.get_mut(&3).unwrap().fenced = true;
        assert_eq!(
            c.on_alter_partition(&mut ctx, 1, epoch1, &proposal(4, 9, &[1, 2, 3])).0,
            ErrorCode::IneligibleReplica
        );
        c.brokers.get_mut(&3).unwrap().fenced = false;
        let (error, st) = c.on_alter_partition(&mut ctx, 1, epoch1, &proposal(4, 9, &[1, 2, 3]));
        assert_eq!(
            (error, st.map(|s| (s.isr, s.leader_epoch, s.partition_epoch))),
            (ErrorCode::None, Some((vec![1, 2, 3], 4, 10)))
        );
        let retry = c.on_alter_partition(&mut ctx, 1, epoch1, &proposal(4, 9, &[1, 2, 3]));
        assert_eq!(retry.0, ErrorCode::None, "a retry of the committed change gets the committed state");
    }
}
