//! The deterministic, sans-IO simulation core.
//!
//! Nothing in here reads a clock, draws ambient randomness, touches the browser, awaits or spawns
//! a thread. Time is an input, one `u64` seed is forked per subsystem, and every iteration order
//! is defined (`VecMap`, sorted vectors). Same scenario + seed ⇒ same trace, natively and in
//! wasm.
//!
//! The driver API follows one rule: after every mutation ([`Sim::handle_input`], [`Sim::step`],
//! [`Sim::run_until`]) drain [`Sim::drain_trace`] before relying on the trace. Each step pops the
//! earliest event by `(at, seq)`, hands it to one node through a [`node::Ctx`], and applies that
//! node's [`node::Outbox`]: sends go through the [`net::Network`], timers go into the queue, and
//! every effect is recorded as a [`trace::TraceEvent`].

/// Steps between two [`Sim::prune_check_history`] passes.
const PRUNE_EVERY_STEPS: u64 = 1 << 14;

pub mod broker;
pub mod check;
pub mod collections;
pub mod config;
pub mod consumer;
pub mod controller;
pub mod group;
pub mod invariants;
pub mod log;
pub mod net;
pub mod node;
pub mod node_map;
pub mod partitioner;
pub mod producer;
pub mod producer_state;
pub mod protocol;
pub mod queue;
pub mod reconnect;
pub mod record;
pub mod replication;
pub mod request_channel;
pub mod rng;
pub mod scenario;
pub mod stable_hash;
pub mod storage_view;
pub mod time;
pub mod tp_map;
pub mod trace;
pub mod vec_map;
mod view;
pub mod why;

pub use view::*;

use crate::sim::vec_map::{VecMap, VecSet};
use broker::{replicas_for_broker, Broker, TopicLayout};
use collections::CollectMap;
use config::{
    log_config, BrokerConfig, ConsumerConfig, ControllerConfig, ProducerConfig, PropertyError, Props, TopicConfig,
};
use consumer::Consumer;
use controller::Controller;
use group::coordinator::CoordinatorConfig;
use net::{DropReason, Network, Transit};
use node::{Ctx, NodeId, Outbox, Timer};
use node_map::NodeMap;
use producer::Producer;
use protocol::{Message, PartitionState, Tp};
use queue::{EventQueue, Slab};
use rng::SimRng;
use scenario::{assign_replicas, Action, ConfigTarget, ConsumerSource, CrashKind, Scenario};
use std::rc::Rc;
use time::{SimDuration, SimTime};
use trace::{TraceEvent, TraceHasher, TraceKind};

/// A node's state machine.
#[derive(Clone, Debug)]
pub enum Node {
    /// A broker (boxed: nodes differ a lot in size).
    Broker(Box<Broker>),
    /// A producer (boxed: it is much larger than the other nodes).
    Producer(Box<Producer>),
    /// A consumer (boxed too: every node lives behind one pointer).
    Consumer(Box<Consumer>),
    /// The KRaft controller.
    Controller(Box<Controller>),
}

impl Node {
    /// Whether `timer` would do nothing if it fired now or at any later time in this
    /// incarnation (asked between events): the request it times out was answered, the parked
    /// fetch or produce it ends was completed (their ids are never reused), the `max.block.ms`
    /// wait it ends is over. The simulator skips such a timer without running the node, and
    /// cancels it early when a cancel pass runs. Only timers that
    /// [`Timer::may_be_obsolete`] are asked about.
    pub fn timer_obsolete(&self, timer: &Timer) -> bool {
        match self {
            Node::Broker(b) => b.timer_obsolete(timer),
            Node::Producer(p) => p.timer_obsolete(timer),
            Node::Consumer(c) => c.timer_obsolete(timer),
            Node::Controller(_) => false,
        }
    }
}

impl Slot {
    /// Whether a timer armed by incarnation `incarnation` would do nothing: that incarnation is
    /// gone (a restart is a new one), or `obsolete_too` and the node calls it obsolete. The
    /// same answer skips a timer when it fires and cancels it early.
    fn timer_does_nothing(&self, incarnation: u32, timer: &Timer, obsolete_too: bool) -> bool {
        !self.up
            || self.incarnation != incarnation
            || (obsolete_too && timer.may_be_obsolete() && self.node.timer_obsolete(timer))
    }
}

#[derive(Clone, Debug)]
struct Slot {
    node: Node,
    label: String,
    props: Props,
    up: bool,
    incarnation: u32,
    /// How it went down, while it is down.
    crash: Option<CrashKind>,
}

/// What the queue holds. Kept small: most pending events are timers, and a stale timeout
/// (a request's `request.timeout.ms` after its response came) holds its slot until a cancel pass
/// finds it obsolete (`cancel_dead_timers`); only its key waits out the rest of its time. With
/// messages inline a pending timer took 168 bytes; a message waits in [`Sim::in_flight`]
/// instead and an action is boxed (64).
#[derive(Clone, Debug)]
enum Event {
    Deliver {
        from: NodeId,
        to: NodeId,
        msg_id: u64,
        incarnations: (u32, u32),
        /// Its handle in [`Sim::in_flight`].
        msg: u32,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        timer: Timer,
    },
    /// A TCP reset from `peer` reaches `node`: its connection to `peer` is gone.
    Reset {
        node: NodeId,
        incarnation: u32,
        peer: NodeId,
    },
    Action(Box<Action>),
}

/// Why [`Sim::run_until`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStop {
    /// Nothing is scheduled.
    Idle,
    /// The next event is after the deadline; the clock now reads the deadline.
    Deadline,
    /// `steps_max` events were processed.
    StepsMax,
    /// An event broke a safety rule (only with [`Sim::set_halt_on_violation`]).
    Violation,
}

impl RunStop {
    /// The name reports use: `idle`, `deadline`, `steps_max` or `violation`.
    pub fn name(self) -> &'static str {
        match self {
            RunStop::Idle => "idle",
            RunStop::Deadline => "deadline",
            RunStop::StepsMax => "steps_max",
            RunStop::Violation => "violation",
        }
    }
}

/// Message counters of one node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MessageCounts {
    /// Messages it sent.
    pub sent: u64,
    /// Messages delivered to it.
    pub received: u64,
    /// Messages it sent that were dropped.
    pub dropped: u64,
}

/// A clock position that replay cannot reach.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move the clock to {to}: {reason}")]
pub struct ClockError {
    /// Where the clock was to go.
    pub to: SimTime,
    /// Why not.
    pub reason: String,
}

/// A refused run-time action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The action names a node or topic that does not exist.
    #[error("no such {what}: {name}")]
    NoSuchTarget {
        /// What kind of thing.
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// The property change was refused.
    #[error(transparent)]
    Property(#[from] PropertyError),
    /// The model cannot do this yet.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The action's arguments cannot go together or are out of range (the reason names them).
    #[error("{0}")]
    Invalid(String),
}

/// Why a consumer's `group.id` cannot change at run time.
pub const GROUP_ID_AT_RUN_TIME: &str =
    "unsupported: group.id at run time (a consumer's group is set when it is created)";

/// Why a consumer without a group cannot turn auto-commit on.
pub const AUTO_COMMIT_WITHOUT_GROUP: &str =
    "enable.auto.commit=true needs a group.id (Kafka's InvalidConfigurationException)";

/// Why a consumer (`grouped`: a member of a group) refuses `property = value` at run time,
/// if it does: its group is fixed when it is created, and only a member auto-commits. Shared
/// by the scenario parser (scheduled changes) and [`Sim::check_action`].
pub fn consumer_change_refusal(property: &str, value: &str, grouped: bool) -> Option<&'static str> {
    match property {
        "group.id" => Some(GROUP_ID_AT_RUN_TIME),
        "enable.auto.commit" if value == "true" && !grouped => Some(AUTO_COMMIT_WITHOUT_GROUP),
        _ => None,
    }
}

/// The simulator: clock, queue, network, nodes and trace.
#[derive(Clone, Debug)]
pub struct Sim {
    scenario: Rc<Scenario>,
    seed: u64,
    now: SimTime,
    queue: EventQueue<Event>,
    /// The messages of pending deliveries, by the handle in their `Event::Deliver`: reused
    /// slots, where a box per message was a malloc and a free per delivery (~2% of a swarm
    /// seed). It goes with `queue`: the two are cloned and replaced together.
    in_flight: Slab<Message>,
    net: Network,
    nodes: NodeMap<Slot>,
    /// The handlers' outbox, reused by every event (see [`Sim::with_node`]); empty between
    /// events.
    outbox: Outbox,
    trace_seq: u64,
    /// The trace hash; `None` once a caller that never reads it turned it off.
    hasher: Option<TraceHasher>,
    /// Whether timers a node calls obsolete are skipped and cancelled: always, but in the test
    /// that holds the skipping to running every timer.
    skip_obsolete_timers: bool,
    capture: bool,
    trace_out: Vec<TraceEvent>,
    msg_id_next: u64,
    steps: u64,
    counts: NodeMap<MessageCounts>,
    topic_props: VecMap<String, Props>,
    /// Messages waiting on a cut link, per directed link, oldest first: a cut stalls a TCP
    /// connection (retransmissions fail) rather than losing what was sent.
    held: VecMap<(NodeId, NodeId), Vec<HeldMessage>>,
    /// Topics the cluster creates itself (`__consumer_offsets` when a group exists).
    internal_topics: Vec<scenario::TopicSpec>,
    /// Per group (or per assigned consumer), per partition: the highest offset any member has
    /// returned to its application, for counting redeliveries.
    delivered: VecMap<(String, Tp), i64>,
    /// Records returned again after an earlier delivery, per consumer.
    redelivered: VecMap<NodeId, u64>,
    /// The safety checkers, fed every recorded event.
    invariants: invariants::Invariants,
    /// Stop [`Sim::run_until`] right after an event that breaks a safety rule (the viewer
    /// freezes there).
    halt_on_violation: bool,
    halted: bool,
}

#[derive(Clone, Debug)]
struct HeldMessage {
    msg_id: u64,
    incarnations: (u32, u32),
    msg: Message,
}

impl Sim {
    /// Builds the cluster of a validated scenario, seeded with `seed`, at time zero.
    pub fn new(scenario: &Scenario, seed: u64) -> Sim {
        let root = SimRng::new(seed);
        let net = Network::new(scenario.network.default_link, root.fork("network"));
        let mut sim = Sim {
            scenario: Rc::new(scenario.clone()),
            seed,
            now: SimTime::ZERO,
            queue: EventQueue::default(),
            in_flight: Slab::with_capacity(64),
            net,
            nodes: NodeMap::new(),
            outbox: Outbox::default(),
            trace_seq: 0,
            hasher: Some(TraceHasher::default()),
            skip_obsolete_timers: true,
            capture: true,
            trace_out: Vec::new(),
            msg_id_next: 0,
            steps: 0,
            counts: NodeMap::new(),
            topic_props: VecMap::new(),
            held: VecMap::new(),
            internal_topics: internal_topics(scenario),
            delivered: VecMap::new(),
            redelivered: VecMap::new(),
            invariants: invariants::Invariants::new(
                subscriptions(scenario),
                CoordinatorConfig::from_props(&scenario.broker_config).commit_timeout,
            ),
            halt_on_violation: false,
            halted: false,
        };
        for (from, to, link) in &scenario.network.links {
            sim.net.configure(*from, *to, *link);
        }
        sim.build_nodes(&root);
        let leaders: Vec<(Tp, u16)> = match sim.node(NodeId::CONTROLLER) {
            Some(Node::Controller(c)) => {
                c.partitions().values().filter_map(|p| Some((p.tp.clone(), p.leader?))).collect()
            }
            _ => vec![],
        };
        sim.invariants.seed_leaders(leaders);
        for timed in &scenario.events {
            sim.queue.schedule(timed.at, Event::Action(Box::new(timed.action.clone())));
        }
        let ids: Vec<NodeId> = sim.nodes.keys().copied().collect();
        for id in ids {
            sim.with_node(id, |node, ctx| match node {
                Node::Broker(b) => b.start(ctx),
                Node::Producer(p) => p.start(ctx),
                Node::Consumer(c) => c.start(ctx),
                Node::Controller(c) => c.start(ctx),
            });
        }
        sim
    }

    /// Replica layout, effective min ISR and log settings of every topic.
    fn topic_layouts(&self) -> Vec<TopicLayout> {
        let s = &self.scenario;
        let broker_min_isr = BrokerConfig::from_props(&s.broker_config).min_insync_replicas;
        s.topics
            .iter()
            .chain(&self.internal_topics)
            .map(|t| {
                let props = &self.topic_props[&t.name];
                TopicLayout {
                    name: protocol::topic_name(&t.name),
                    replicas: assign_replicas(s.brokers, t.partitions, t.replication_factor),
                    min_insync_replicas: TopicConfig::from_props(props).min_insync_replicas.unwrap_or(broker_min_isr),
                    log: log_config(props, &s.broker_config),
                }
            })
            .collect()
    }

    fn build_nodes(&mut self, root: &SimRng) {
        let s = self.scenario.clone();
        self.topic_props =
            s.topics.iter().chain(&self.internal_topics).map(|t| (t.name.clone(), t.config.clone())).collect_map();
        let layouts = self.topic_layouts();
        let cluster: Vec<u16> = (1..=s.brokers).collect();
        let states = initial_partition_states(&layouts);
        let mut controller = Controller::new(ControllerConfig::from_props(&s.broker_config), &cluster, states.clone());
        for t in &s.topics {
            let unclean = TopicConfig::from_props(&t.config).unclean_leader_election;
            controller.seed_topic_unclean(&protocol::topic_name(&t.name), unclean);
        }
        for id in 1..=s.brokers {
            let replicas = replicas_for_broker(id, &layouts, SimTime::ZERO);
            let mut broker = Broker::new(id, BrokerConfig::from_props(&s.broker_config), replicas);
            broker.set_service_time(s.service_time);
            let rng = root.fork(&format!("broker-{id}/group-coordinator"));
            broker.set_group_coordinator(CoordinatorConfig::from_props(&s.broker_config), rng);
            let epoch = controller.brokers()[&id].broker_epoch;
            broker.set_metadata(epoch, cluster.clone(), states.clone());
            self.insert(
                NodeId::broker(id),
                Node::Broker(Box::new(broker)),
                format!("broker-{id}"),
                s.broker_config.clone(),
            );
        }
        let label = "controller".to_string();
        self.insert(NodeId::CONTROLLER, Node::Controller(Box::new(controller)), label, s.broker_config.clone());
        for (i, p) in s.producers.iter().enumerate() {
            let id = NodeId::producer(i as u16 + 1);
            let config = ProducerConfig::from_props(&p.config);
            let producer = Producer::new(config, p.workload.clone(), cluster.clone(), root.fork(&id.to_string()));
            self.insert(id, Node::Producer(Box::new(producer)), p.label.clone(), p.config.clone());
        }
        let partitions_per_topic: VecMap<String, u32> =
            s.topics.iter().map(|t| (t.name.clone(), t.partitions)).collect_map();
        for (i, c) in s.consumers.iter().enumerate() {
            let id = NodeId::consumer(i as u16 + 1);
            let mut config = ConsumerConfig::from_props(&c.config);
            // Without a group.id Kafka's default for enable.auto.commit is false.
            config.enable_auto_commit &= matches!(c.source, ConsumerSource::Group(_));
            let setup = consumer::ConsumerSetup {
                config,
                app: c.app,
                subscribe: match &c.source {
                    ConsumerSource::Group(g) => Some((g.clone(), c.topics.clone())),
                    ConsumerSource::Assigned(_) => None,
                },
                assign: match &c.source {
                    ConsumerSource::Assigned(tps) => tps.clone(),
                    ConsumerSource::Group(_) => vec![],
                },
                seeks: c.seek.clone(),
                leaders: consumer_leaders(&layouts, &c.source, &c.topics),
                partitions_per_topic: partitions_per_topic.clone(),
                bootstrap: cluster.clone(),
                start: SimTime::from_ms(c.start_ms),
                stop: c.stop_ms.map(SimTime::from_ms),
            };
            self.insert(id, Node::Consumer(Box::new(Consumer::new(setup))), c.label.clone(), c.config.clone());
        }
    }

    fn insert(&mut self, id: NodeId, node: Node, label: String, props: Props) {
        self.nodes.insert(id, Slot { node, label, props, up: true, incarnation: 0, crash: None });
        self.counts.insert(id, MessageCounts::default());
    }

    // ----- getters -----

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The seed of this run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// When the next event is due, if any.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        self.queue.peek_at()
    }

    /// Events processed so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Trace events recorded so far.
    pub fn trace_len(&self) -> u64 {
        self.trace_seq
    }

    /// Hash of the whole trace so far (every event, drained or not).
    ///
    /// # Panics
    /// If [`Sim::disable_trace_hash`] turned hashing off.
    pub fn trace_hash(&self) -> TraceHasher {
        self.hasher.expect("trace hashing was turned off for this run")
    }

    /// Turns the trace hash off for a run that never asks for it (the swarm's seeds): hashing
    /// every field of every event is a few percent of a run. It cannot be turned back on.
    pub fn disable_trace_hash(&mut self) {
        self.hasher = None;
    }

    /// Message counters per node.
    pub fn message_counts(&self) -> &NodeMap<MessageCounts> {
        &self.counts
    }

    /// A node's state machine.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(&id).map(|s| &s.node)
    }

    fn nodes_mut(&mut self) -> impl Iterator<Item = &mut Node> {
        self.nodes.values_mut().map(|s| &mut s.node)
    }

    /// Whether a node is up.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.nodes.get(&id).is_some_and(|s| s.up)
    }

    /// The scenario's label of a node.
    pub fn label(&self, id: NodeId) -> Option<&str> {
        self.nodes.get(&id).map(|s| s.label.as_str())
    }

    /// Every node id, in order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.keys().copied()
    }

    /// The network (links, cuts).
    pub fn network(&self) -> &Network {
        &self.net
    }

    // ----- trace -----

    /// Whether events are kept for [`Sim::drain_trace`]; when off they are only hashed and
    /// checked.
    pub fn set_trace_capture(&mut self, capture: bool) {
        self.capture = capture;
        if !capture {
            self.trace_out.clear();
        }
    }

    /// Takes every trace event recorded since the last drain, oldest first.
    pub fn drain_trace(&mut self) -> Vec<TraceEvent> {
        std::mem::take(&mut self.trace_out)
    }

    /// [`Sim::drain_trace`] into `out`, which must be empty: the two buffers swap, so a caller
    /// that empties `out` and passes it back each time reuses both allocations (a fresh buffer
    /// per drain regrew, copying every event again, each time).
    pub fn drain_trace_into(&mut self, out: &mut Vec<TraceEvent>) {
        assert!(out.is_empty(), "drain_trace_into needs an empty buffer");
        std::mem::swap(&mut self.trace_out, out);
    }

    fn record(&mut self, node: NodeId, kind: TraceKind) {
        if let TraceKind::RecordsConsumed { tp, first_offset, count } = &kind {
            self.count_redelivery(node, tp, *first_offset, *count);
        }
        let event = TraceEvent { seq: self.trace_seq, at: self.now, node, kind };
        self.trace_seq += 1;
        if let Some(hasher) = self.hasher.as_mut() {
            hasher.update(&event);
        }
        let found = self.invariants.observe(&event).len();
        if self.capture {
            self.trace_out.push(event);
        }
        if found > 0 {
            self.record_violations(node, found);
        }
    }

    /// The last `found` violations the live checkers reported, recorded in the trace.
    #[cold]
    fn record_violations(&mut self, node: NodeId, found: usize) {
        if self.halt_on_violation {
            self.halted = true;
        }
        let all = self.invariants.violations();
        // Copied: recording them borrows the simulation.
        let new = all[all.len() - found..].to_vec();
        for v in new {
            self.record(node, TraceKind::InvariantViolated { check: v.kind, message: v.message });
        }
    }

    /// Makes [`Sim::run_until`] return [`RunStop::Violation`] right after an event that breaks
    /// a safety rule.
    pub fn set_halt_on_violation(&mut self, on: bool) {
        self.halt_on_violation = on;
    }

    /// Violations the live checkers found so far.
    pub fn violations(&self) -> &[invariants::Violation] {
        self.invariants.violations()
    }

    /// Reports a violation found by a final-state check: recorded in the trace too.
    pub fn report_violation(&mut self, kind: invariants::ViolationKind, message: String) -> invariants::Violation {
        let v = self.invariants.report(kind, self.trace_seq, self.now, message.clone());
        let first = *self.nodes.keys().next().expect("a cluster has nodes");
        self.record(first, TraceKind::InvariantViolated { check: kind, message });
        v
    }

    /// Records `consumer` returned that its group (or, without a group, it) had returned
    /// before: the at-least-once redeliveries.
    fn count_redelivery(&mut self, consumer: NodeId, tp: &Tp, first: i64, count: u32) {
        let key = match self.node(consumer) {
            Some(Node::Consumer(c)) => c.group_id().map_or_else(|| consumer.to_string(), str::to_string),
            _ => return,
        };
        let high = self.delivered.entry((key, tp.clone())).or_insert(-1);
        let again = (*high + 1 - first).clamp(0, i64::from(count)) as u64;
        *high = (*high).max(first + i64::from(count) - 1);
        if again > 0 {
            *self.redelivered.entry(consumer).or_default() += again;
        }
    }

    /// Per group (or assigned consumer) and partition: the highest offset returned by `poll()`.
    pub fn delivered(&self) -> &VecMap<(String, Tp), i64> {
        &self.delivered
    }

    /// Records each consumer got again after an earlier delivery (to it or its group).
    pub fn redelivered(&self, consumer: NodeId) -> u64 {
        self.redelivered.get(&consumer).copied().unwrap_or(0)
    }

    // ----- mutations -----

    /// Applies an action now (from the UI or a test). Checked first; nothing changes on error.
    pub fn handle_input(&mut self, action: Action) -> Result<(), ActionError> {
        self.check_action(&action)?;
        self.apply_action(action);
        Ok(())
    }

    /// Processes the earliest event. Returns false when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(scheduled) = self.queue.pop() else {
            return false;
        };
        assert!(scheduled.at >= self.now, "event in the past");
        self.now = scheduled.at;
        self.steps += 1;
        if self.steps.is_multiple_of(PRUNE_EVERY_STEPS) {
            self.prune_check_history();
        }
        match scheduled.event {
            // A timer cancelled because it would have done nothing (see `cancel_dead_timers`):
            // it still counts as a step, as it did when it fired and did nothing.
            None => {}
            Some(Event::Deliver { from, to, msg_id, incarnations, msg }) => {
                let msg = self.in_flight.take(msg);
                self.deliver(from, to, msg_id, incarnations, msg)
            }
            Some(Event::Timer { node, incarnation, timer }) => self.fire_timer(node, incarnation, timer),
            Some(Event::Reset { node, incarnation, peer }) => self.reset(node, incarnation, peer),
            Some(Event::Action(action)) => self.apply_action(*action),
        }
        if self.queue.wants_cancel_pass() && self.skip_obsolete_timers {
            self.cancel_dead_timers();
        }
        true
    }

    /// Timers cancelled before they were due because they could only do nothing.
    pub fn timers_cancelled(&self) -> u64 {
        self.queue.cancelled()
    }

    /// Cancels the pending timers that can only do nothing: their node went down (a restart is
    /// a new incarnation) or the node says their reason is gone for good (an answered request,
    /// a completed parked fetch or produce: see [`Node::timer_obsolete`]). Most of a long run's
    /// pending events are such request timeouts, due tens of seconds after their answers; held
    /// until they fired they were most of workload (b)'s memory growth. Their keys stay, so they
    /// still count as steps at their time ([`queue`]'s doc).
    fn cancel_dead_timers(&mut self) {
        let nodes = &self.nodes;
        self.queue.cancel_where(|event| match event {
            Event::Timer { node, incarnation, timer } => {
                nodes.get(node).is_none_or(|s| s.timer_does_nothing(*incarnation, timer, true))
            }
            _ => false,
        });
    }

    /// Processes the next event if it is due at or before `end`; false (and nothing changes)
    /// otherwise.
    pub fn step_until(&mut self, end: SimTime) -> bool {
        if self.queue.peek_at().is_none_or(|at| at > end) {
            return false;
        }
        self.step()
    }

    /// Moves the clock to `to` without processing anything: for replaying a recorded position
    /// (a paused clock sits between events). Refused when `to` is in the past or an event is due
    /// before it (that event would be skipped).
    pub fn set_clock(&mut self, to: SimTime) -> Result<(), ClockError> {
        if to < self.now {
            return Err(ClockError { to, reason: format!("the clock is already at {}", self.now) });
        }
        if let Some(at) = self.queue.peek_at().filter(|at| *at < to) {
            return Err(ClockError { to, reason: format!("an event is due at {at}, before it") });
        }
        self.now = to;
        self.halted = false;
        Ok(())
    }

    /// Processes events due at or before `deadline`, at most `steps_max` of them.
    pub fn run_until(&mut self, deadline: SimTime, steps_max: u64) -> RunStop {
        for _ in 0..steps_max {
            match self.queue.peek_at() {
                None => {
                    self.now = self.now.max(deadline);
                    return RunStop::Idle;
                }
                Some(at) if at > deadline => {
                    self.now = self.now.max(deadline);
                    return RunStop::Deadline;
                }
                Some(_) => {
                    self.step();
                    if std::mem::take(&mut self.halted) {
                        return RunStop::Violation;
                    }
                }
            }
        }
        RunStop::StepsMax
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, msg_id: u64, incarnations: (u32, u32), msg: Message) {
        let api = msg.api_name();
        let connection_alive = self.nodes.get(&from).is_some_and(|s| s.up && s.incarnation == incarnations.0)
            && self.nodes.get(&to).is_some_and(|s| s.up && s.incarnation == incarnations.1);
        if connection_alive && self.net.is_cut(from, to) {
            self.hold(from, to, msg_id, incarnations, msg);
            return;
        }
        let reason = if !connection_alive { Some(DropReason::NodeDown) } else { None };
        if let Some(reason) = reason {
            self.counts.or_default(from).dropped += 1;
            self.record(from, TraceKind::MessageDropped { to, msg_id, api, reason });
            if reason == DropReason::NodeDown {
                self.maybe_reset(to, from);
            }
            return;
        }
        self.counts.or_default(to).received += 1;
        self.record(to, TraceKind::MessageDelivered { from, msg_id, api });
        self.with_node(to, |node, ctx| match node {
            Node::Broker(b) => b.handle_message(ctx, from, msg),
            Node::Producer(p) => p.handle_message(ctx, from, msg),
            Node::Consumer(c) => c.handle_message(ctx, from, msg),
            Node::Controller(c) => c.handle_message(ctx, from, msg),
        });
    }

    /// A message reached `dead`, which is down: if only its process died, the machine's kernel
    /// answers with a reset, which reaches the sender one link latency later. A dead machine
    /// answers nothing (the sender finds out by timing out).
    fn maybe_reset(&mut self, dead: NodeId, sender: NodeId) {
        let process_crash = self.nodes.get(&dead).is_some_and(|s| !s.up && s.crash == Some(CrashKind::Process));
        if process_crash {
            self.schedule_reset(dead, sender);
        }
    }

    /// `closer` closed its connection to `peer`: unless the link between them is cut, `peer`
    /// sees the reset one link latency later.
    fn schedule_reset(&mut self, closer: NodeId, peer: NodeId) {
        let peer_up = self.nodes.get(&peer).is_some_and(|s| s.up);
        if peer_up && !self.net.is_cut(closer, peer) {
            let incarnation = self.nodes[&peer].incarnation;
            let at = self.now + self.net.link(closer, peer).latency;
            self.queue.schedule(at, Event::Reset { node: peer, incarnation, peer: closer });
        }
    }

    fn reset(&mut self, id: NodeId, incarnation: u32, peer: NodeId) {
        if !self.nodes.get(&id).is_some_and(|s| s.up && s.incarnation == incarnation) {
            return;
        }
        self.record(id, TraceKind::ConnectionReset { peer });
        self.with_node(id, |node, ctx| match node {
            Node::Broker(b) => b.handle_disconnect(ctx, peer),
            Node::Producer(p) => p.handle_disconnect(ctx, peer),
            Node::Consumer(c) => c.handle_disconnect(ctx, peer),
            Node::Controller(_) => {}
        });
    }

    fn fire_timer(&mut self, id: NodeId, incarnation: u32, timer: Timer) {
        let skip = self.skip_obsolete_timers;
        if self.nodes.get(&id).is_none_or(|s| s.timer_does_nothing(incarnation, &timer, skip)) {
            return;
        }
        self.with_node(id, |node, ctx| match node {
            Node::Broker(b) => b.handle_timeout(ctx, timer),
            Node::Producer(p) => p.handle_timeout(ctx, timer),
            Node::Consumer(c) => c.handle_timeout(ctx, timer),
            Node::Controller(c) => c.handle_timeout(ctx, timer),
        });
    }

    /// Runs `f` on node `id` with a fresh context, then applies its outbox.
    ///
    /// The outbox is the simulator's one reused outbox, empty between events: its vectors keep
    /// their capacity, so a step does not allocate them anew (malloc and free were a fifth of a
    /// step's instructions).
    fn with_node(&mut self, id: NodeId, f: impl FnOnce(&mut Node, &mut Ctx)) {
        let mut out = std::mem::take(&mut self.outbox);
        let incarnation = {
            let slot = self.nodes.get_mut(&id).expect("dispatch to a known node");
            let mut ctx = Ctx { now: self.now, me: id, out: &mut out };
            f(&mut slot.node, &mut ctx);
            slot.incarnation
        };
        self.apply_outbox(id, incarnation, &mut out);
        // What `take` left is an empty outbox, which owns no memory: forgetting it spares a
        // drop call on every step.
        let empty = std::mem::replace(&mut self.outbox, out);
        debug_assert!(empty.owns_nothing(), "the outbox left by take");
        std::mem::forget(empty);
    }

    /// Applies what node `id` (in its `incarnation`, which a handler cannot change) asked for.
    fn apply_outbox(&mut self, id: NodeId, incarnation: u32, out: &mut Outbox) {
        for kind in out.trace.drain(..) {
            self.record(id, kind);
        }
        for (after, timer) in out.timers.drain(..) {
            self.queue.schedule(self.now + after, Event::Timer { node: id, incarnation, timer });
        }
        for (peer, tell) in out.closes.drain(..) {
            self.discard_held(id, peer);
            if tell {
                self.schedule_reset(id, peer);
            }
        }
        for (to, msg) in out.sends.drain(..) {
            self.send(id, to, msg);
        }
    }

    /// `node` closed its connection to `peer`: messages either way still waiting on a cut link
    /// go with it.
    fn discard_held(&mut self, node: NodeId, peer: NodeId) {
        for (from, to) in [(node, peer), (peer, node)] {
            for h in self.held.remove(&(from, to)).unwrap_or_default() {
                self.counts.or_default(from).dropped += 1;
                let (msg_id, api) = (h.msg_id, h.msg.api_name());
                self.record(from, TraceKind::MessageDropped { to, msg_id, api, reason: DropReason::ConnectionClosed });
            }
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: Message) {
        let msg_id = self.msg_id_next;
        self.msg_id_next += 1;
        let api = msg.api_name();
        self.counts.or_default(from).sent += 1;
        let incarnations = (self.nodes[&from].incarnation, self.nodes.get(&to).map_or(0, |s| s.incarnation));
        match self.net.transmit(self.now, from, to) {
            Transit::Deliver(deliver_at) => {
                let (bytes, records) = (msg.size_bytes(), msg.record_count());
                self.record(from, TraceKind::MessageSent { to, msg_id, api, bytes, records, deliver_at });
                let msg = self.in_flight.insert(msg);
                self.queue.schedule(deliver_at, Event::Deliver { from, to, msg_id, incarnations, msg });
            }
            Transit::Drop(DropReason::LinkCut) => self.hold(from, to, msg_id, incarnations, msg),
            Transit::Drop(reason) => {
                self.counts.or_default(from).dropped += 1;
                self.record(from, TraceKind::MessageDropped { to, msg_id, api, reason });
            }
        }
    }

    /// The link `from → to` is cut: the message waits for the heal.
    fn hold(&mut self, from: NodeId, to: NodeId, msg_id: u64, incarnations: (u32, u32), msg: Message) {
        self.record(from, TraceKind::MessageHeld { to, msg_id, api: msg.api_name() });
        self.held.entry((from, to)).or_default().push(HeldMessage { msg_id, incarnations, msg });
    }

    /// The link `from → to` healed: what waited on it goes out again, in order, unless either
    /// end has restarted since (the connection it belonged to is gone).
    fn release(&mut self, from: NodeId, to: NodeId) {
        for h in self.held.remove(&(from, to)).unwrap_or_default() {
            let alive = self.nodes.get(&from).is_some_and(|s| s.up && s.incarnation == h.incarnations.0)
                && self.nodes.get(&to).is_some_and(|s| s.up && s.incarnation == h.incarnations.1);
            let api = h.msg.api_name();
            if !alive {
                self.counts.or_default(from).dropped += 1;
                self.record(
                    from,
                    TraceKind::MessageDropped { to, msg_id: h.msg_id, api, reason: DropReason::NodeDown },
                );
                continue;
            }
            match self.net.transmit(self.now, from, to) {
                Transit::Deliver(deliver_at) => {
                    let (records, msg_id) = (h.msg.record_count(), h.msg_id);
                    self.record(from, TraceKind::MessageReleased { to, msg_id, api, records, deliver_at });
                    let msg = self.in_flight.insert(h.msg);
                    let event = Event::Deliver { from, to, msg_id, incarnations: h.incarnations, msg };
                    self.queue.schedule(deliver_at, event);
                }
                Transit::Drop(DropReason::LinkCut) => self.hold(from, to, h.msg_id, h.incarnations, h.msg),
                Transit::Drop(reason) => {
                    self.counts.or_default(from).dropped += 1;
                    self.record(from, TraceKind::MessageDropped { to, msg_id: h.msg_id, api, reason });
                }
            }
        }
    }

    // ----- actions -----

    /// Checks that an action's targets exist and its property change is valid.
    pub fn check_action(&self, action: &Action) -> Result<(), ActionError> {
        let node_exists = |id: NodeId| {
            self.nodes
                .contains_key(&id)
                .then_some(())
                .ok_or(ActionError::NoSuchTarget { what: "node", name: id.to_string() })
        };
        match action {
            Action::CrashBroker { broker, .. } | Action::RestartBroker { broker } => {
                node_exists(NodeId::broker(*broker))
            }
            Action::CutLink { from, to, .. } | Action::HealLink { from, to, .. } | Action::SetLink { from, to, .. } => {
                node_exists(*from)?;
                node_exists(*to)?;
                if !net::link_exists(*from, *to) {
                    return Err(ActionError::Invalid(net::no_link_reason(*from, *to)));
                }
                match action {
                    Action::SetLink { link, .. } => Sim::check_link_config(link),
                    _ => Ok(()),
                }
            }
            Action::HealAll => Ok(()),
            Action::ConsumerJoin { consumer }
            | Action::ConsumerLeave { consumer }
            | Action::ConsumerCrash { consumer } => match consumer.kind {
                node::NodeKind::Consumer => node_exists(*consumer),
                _ => Err(ActionError::NoSuchTarget { what: "consumer", name: consumer.to_string() }),
            },
            Action::ConfigChange { target, property, value } => self.check_config_change(target, property, value),
        }
    }

    /// A link change's delays are bounded as a scenario's are ([`net::LINK_DELAY_MS_MAX`]).
    fn check_link_config(link: &net::LinkConfig) -> Result<(), ActionError> {
        match link.latency.max(link.jitter) > SimDuration::from_ms(net::LINK_DELAY_MS_MAX) {
            true => Err(ActionError::Invalid("a link's latency and jitter are at most an hour".to_string())),
            false => Ok(()),
        }
    }

    fn check_config_change(&self, target: &ConfigTarget, property: &str, value: &str) -> Result<(), ActionError> {
        let mut props = match target {
            ConfigTarget::Node(id) => self.nodes.get(id).map(|s| s.props.clone()),
            ConfigTarget::Topic(name) => self.topic_props.get(name).cloned(),
        }
        .ok_or_else(|| ActionError::NoSuchTarget { what: "config target", name: format!("{target:?}") })?;
        props.set(property, value)?;
        match target {
            ConfigTarget::Node(id) => match id.kind {
                node::NodeKind::Producer => ProducerConfig::validate(&props)?,
                node::NodeKind::Broker | node::NodeKind::Controller => BrokerConfig::validate(&props)?,
                node::NodeKind::Consumer => {
                    let grouped = matches!(self.node(*id), Some(Node::Consumer(c)) if c.group_id().is_some());
                    if let Some(refusal) = consumer_change_refusal(property, value, grouped) {
                        return Err(ActionError::Invalid(refusal.into()));
                    }
                    ConsumerConfig::validate(&props)?
                }
            },
            ConfigTarget::Topic(_) => {}
        }
        Ok(())
    }

    fn apply_action(&mut self, action: Action) {
        match action {
            Action::CrashBroker { broker, kind } => self.crash(NodeId::broker(broker), kind),
            Action::RestartBroker { broker } => self.restart(NodeId::broker(broker)),
            Action::CutLink { from, to, both } => self.for_links(from, to, both, |sim, a, b| {
                sim.net.cut(a, b);
                sim.record(a, TraceKind::LinkCut { to: b });
            }),
            Action::HealLink { from, to, both } => self.for_links(from, to, both, |sim, a, b| {
                sim.net.heal(a, b);
                sim.record(a, TraceKind::LinkHealed { to: b });
                sim.release(a, b);
            }),
            Action::HealAll => {
                self.net.heal_all();
                let first = *self.nodes.keys().next().expect("a cluster has nodes");
                self.record(first, TraceKind::AllLinksHealed);
                let links: Vec<(NodeId, NodeId)> = self.held.keys().copied().collect();
                for (a, b) in links {
                    self.release(a, b);
                }
            }
            Action::SetLink { from, to, both, link } => self.for_links(from, to, both, |sim, a, b| {
                sim.net.configure(a, b, link);
                sim.record(
                    a,
                    TraceKind::LinkConfigured { to: b, latency: link.latency, jitter: link.jitter, loss: link.loss },
                );
            }),
            Action::ConfigChange { target, property, value } => self.change_config(target, &property, &value),
            Action::ConsumerJoin { consumer } => {
                self.restart(consumer);
                self.with_consumer(consumer, true)
            }
            Action::ConsumerCrash { consumer } => {
                if self.is_up(consumer) {
                    if let Some(Node::Consumer(c)) = self.nodes.get_mut(&consumer).map(|s| &mut s.node) {
                        c.crash();
                    }
                    self.crash(consumer, CrashKind::Process);
                }
            }
            Action::ConsumerLeave { consumer } => self.with_consumer(consumer, false),
        }
    }

    fn for_links(&mut self, from: NodeId, to: NodeId, both: bool, mut f: impl FnMut(&mut Sim, NodeId, NodeId)) {
        f(self, from, to);
        if both {
            f(self, to, from);
        }
    }

    fn crash(&mut self, id: NodeId, kind: CrashKind) {
        let slot = self.nodes.get_mut(&id).expect("action was checked");
        if !slot.up {
            return;
        }
        slot.up = false;
        slot.crash = Some(kind);
        self.record(id, TraceKind::NodeCrashed);
        match kind {
            CrashKind::Machine => self.lose_unflushed(id),
            // The kernel closes the dead process's sockets: every peer sees its connection reset.
            CrashKind::Process => {
                let peers: Vec<NodeId> = self.nodes.keys().copied().filter(|n| *n != id).collect();
                for peer in peers {
                    self.maybe_reset(id, peer);
                }
            }
        }
    }

    /// A machine crash empties the page cache: each log keeps only what was flushed.
    fn lose_unflushed(&mut self, id: NodeId) {
        let now = self.now;
        let mut lost = Vec::new();
        if let Some(Node::Broker(b)) = self.nodes.get_mut(&id).map(|slot| &mut slot.node) {
            for (tp, log) in b.logs_mut() {
                if let Some(log::LogEvent::Truncated { to, log_end_offset, bytes }) = log.lose_unflushed(now) {
                    lost.push(TraceKind::LogTruncated { tp: tp.clone(), to, log_end_offset, bytes });
                }
            }
        }
        for kind in lost {
            self.record(id, kind);
        }
    }

    fn restart(&mut self, id: NodeId) {
        let slot = self.nodes.get_mut(&id).expect("action was checked");
        if slot.up {
            return;
        }
        slot.up = true;
        slot.crash = None;
        slot.incarnation += 1;
        self.record(id, TraceKind::NodeRestarted);
        self.with_node(id, |node, ctx| {
            if let Node::Broker(b) = node {
                b.restart(ctx);
            }
        });
    }

    fn with_consumer(&mut self, id: NodeId, join: bool) {
        self.with_node(id, |node, ctx| {
            if let Node::Consumer(c) = node {
                if join {
                    c.join(ctx)
                } else {
                    c.leave(ctx)
                }
            }
        });
    }

    fn change_config(&mut self, target: ConfigTarget, property: &str, value: &str) {
        match target {
            ConfigTarget::Node(id) => {
                let slot = self.nodes.get_mut(&id).expect("action was checked");
                slot.props.set(property, value).expect("config change was checked");
                let props = slot.props.clone();
                match &mut slot.node {
                    Node::Broker(b) => b.set_config(BrokerConfig::from_props(&props)),
                    Node::Producer(p) => p.set_config(ProducerConfig::from_props(&props)),
                    Node::Consumer(c) => c.set_config(ConsumerConfig::from_props(&props)),
                    Node::Controller(_) => {}
                }
                self.record(id, TraceKind::ConfigChanged { property: property.into(), value: value.into() });
                if id.is_broker() {
                    self.apply_topic_settings(Some(id));
                    if CONTROLLER_PROPERTIES.contains(&property) && id != NodeId::CONTROLLER {
                        // A cluster-wide setting: the controller reads it too.
                        self.change_config(ConfigTarget::Node(NodeId::CONTROLLER), property, value);
                    }
                }
                if id == NodeId::CONTROLLER {
                    self.with_node(id, |node, ctx| {
                        if let Node::Controller(c) = node {
                            c.set_config(ctx, ControllerConfig::from_props(&props));
                        }
                    });
                }
                if id.is_broker() && self.is_up(id) {
                    // More handlers (`num.io.threads`) or room (`queued.max.requests`) take
                    // waiting requests now, not at the broker's next event.
                    self.with_node(id, |node, ctx| {
                        if let Node::Broker(b) = node {
                            b.pump(ctx);
                        }
                    });
                }
            }
            ConfigTarget::Topic(topic) => {
                let props = self.topic_props.get_mut(&topic).expect("action was checked");
                props.set(property, value).expect("config change was checked");
                let unclean = TopicConfig::from_props(props).unclean_leader_election;
                self.apply_topic_settings(None);
                let name = protocol::topic_name(&topic);
                self.with_node(NodeId::CONTROLLER, |node, ctx| {
                    if let Node::Controller(c) = node {
                        c.set_topic_unclean(ctx, &name, unclean);
                    }
                });
                let brokers: Vec<NodeId> = self.nodes.keys().copied().filter(|n| n.is_broker()).collect();
                for id in brokers {
                    let property = format!("{topic}/{property}");
                    self.record(id, TraceKind::ConfigChanged { property, value: value.into() });
                }
            }
        }
    }

    /// Pushes the effective topic settings (min ISR, log config) to one broker or all of them.
    fn apply_topic_settings(&mut self, only: Option<NodeId>) {
        let topics: Vec<(String, Props)> = self.topic_props.iter().map(|(n, p)| (n.clone(), p.clone())).collect();
        for (_, slot) in self.nodes.iter_mut().filter(|(id, _)| id.is_broker() && only.is_none_or(|o| o == **id)) {
            let broker_props = slot.props.clone();
            let Node::Broker(b) = &mut slot.node else { continue };
            let broker_min_isr = BrokerConfig::from_props(&broker_props).min_insync_replicas;
            for (name, props) in &topics {
                let min_isr = TopicConfig::from_props(props).min_insync_replicas.unwrap_or(broker_min_isr);
                b.set_topic_min_isr(name, min_isr);
                b.set_topic_log_config(name, &log_config(props, &broker_props));
            }
        }
    }

    /// Breaks a broker rule on every broker, to show the checkers catch it (tests only).
    #[doc(hidden)]
    pub fn break_rule_for_tests(&mut self, rule: broker::BrokenRule) {
        for slot in self.nodes.values_mut() {
            if let Node::Broker(b) = &mut slot.node {
                b.break_rule(rule);
            }
        }
    }

    /// Turns on store journals in every broker log (for a persistent mirror).
    pub fn enable_store_journal(&mut self) {
        for slot in self.nodes.values_mut() {
            if let Node::Broker(b) = &mut slot.node {
                b.logs_mut().for_each(|(_, log)| log.enable_journal());
            }
        }
    }

    /// The Kafka properties set on `target` (a node's, or a topic's overrides), if it exists.
    pub fn config_of(&self, target: &ConfigTarget) -> Option<&Props> {
        match target {
            ConfigTarget::Node(id) => self.nodes.get(id).map(|s| &s.props),
            ConfigTarget::Topic(name) => self.topic_props.get(name),
        }
    }

    /// Restarts every running store journal from an image of the logs now: the next drain
    /// holds what a mirror cleared beforehand needs to match this state.
    pub fn rebase_store_journal(&mut self) {
        for slot in self.nodes.values_mut() {
            if let Node::Broker(b) = &mut slot.node {
                b.logs_mut().for_each(|(_, log)| log.rebase_journal());
            }
        }
    }

    /// Takes every broker's recorded store operations: (broker, partition, op), in order.
    pub fn drain_store_ops(&mut self) -> Vec<(u16, Tp, log::StoreOp)> {
        let mut out = Vec::new();
        for (id, slot) in self.nodes.iter_mut() {
            if let Node::Broker(b) = &mut slot.node {
                for (tp, log) in b.logs_mut() {
                    out.extend(log.drain_journal().into_iter().map(|op| (id.number, tp.clone(), op)));
                }
            }
        }
        out
    }
}

/// `__consumer_offsets` (compacted, `offsets.topic.num.partitions` ×
/// `offsets.topic.replication.factor`) when any consumer subscribes with a group.
fn internal_topics(s: &Scenario) -> Vec<scenario::TopicSpec> {
    if !s.consumers.iter().any(|c| matches!(c.source, ConsumerSource::Group(_))) {
        return vec![];
    }
    let b = &s.broker_config;
    let int = |name: &str, default: u64| b.get(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let mut config = Props::empty(config::Scope::Topic);
    config.set("cleanup.policy", "compact").expect("valid topic property");
    config.set("segment.bytes", "104857600").expect("valid topic property");
    vec![scenario::TopicSpec {
        name: broker::OFFSETS_TOPIC.to_string(),
        partitions: int("offsets.topic.num.partitions", 50) as u32,
        replication_factor: (int("offsets.topic.replication.factor", 3) as u16).min(s.brokers),
        config,
    }]
}

/// Each group → every partition of the topics its members subscribe to.
fn subscriptions(s: &Scenario) -> VecMap<String, VecSet<Tp>> {
    let mut out: VecMap<String, VecSet<Tp>> = VecMap::new();
    for c in &s.consumers {
        if let ConsumerSource::Group(g) = &c.source {
            let set = out.entry(g.clone()).or_default();
            for t in s.topics.iter().filter(|t| c.topics.contains(&t.name)) {
                let name = protocol::topic_name(&t.name);
                set.extend((0..t.partitions).map(|p| Tp::new(&name, p)));
            }
        }
    }
    out
}

/// Broker properties the controller also reads (KRaft cluster-wide settings).
const CONTROLLER_PROPERTIES: &[&str] = &[
    "unclean.leader.election.enable",
    "auto.leader.rebalance.enable",
    "leader.imbalance.check.interval.seconds",
    "broker.session.timeout.ms",
];

/// The formed cluster's starting point: every partition led by its preferred replica, leader
/// epoch 0, partition epoch 0, every replica in sync.
fn initial_partition_states(layouts: &[TopicLayout]) -> Vec<PartitionState> {
    layouts
        .iter()
        .flat_map(|t| {
            t.replicas.iter().enumerate().map(move |(p, r)| {
                let mut isr = r.clone();
                collections::sort_by(&mut isr, Ord::cmp);
                PartitionState {
                    tp: Tp::new(&t.name, p as u32),
                    replicas: r.clone(),
                    leader: r.first().copied(),
                    leader_epoch: 0,
                    partition_epoch: 0,
                    isr,
                }
            })
        })
        .collect()
}

fn consumer_leaders(layouts: &[TopicLayout], source: &ConsumerSource, topics: &[String]) -> VecMap<Tp, u16> {
    let all: VecMap<Tp, u16> = layouts
        .iter()
        .flat_map(|t| t.replicas.iter().enumerate().map(move |(p, r)| (Tp::new(&t.name, p as u32), r[0])))
        .collect_map();
    match source {
        ConsumerSource::Assigned(tps) => {
            tps.iter().filter_map(|tp| all.get(tp).map(|l| (tp.clone(), *l))).collect_map()
        }
        ConsumerSource::Group(_) => {
            all.into_iter().filter(|(tp, _)| topics.iter().any(|t| **t == *tp.topic)).collect_map()
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_pending_event_is_small() {
        // Every pending event costs this much in the queue, stale timeouts included until a
        // cancel pass (see Event).
        // 168 bytes with messages inline; now the largest is a timer naming a group and member.
        let size = std::mem::size_of::<super::Event>();
        assert!(size <= 64, "Event is {size} bytes");
    }

    /// Skipping the timers a node calls obsolete, and cancelling them early, changes nothing a
    /// run shows: library scenarios (crashes, so timers of a dead incarnation; a full buffer
    /// pool and brokers out of reach, so `max.block.ms` waits for memory and for metadata, with
    /// callback and with synchronous sends; group requests)
    /// and swarm seeds (request timeouts that fire) run to the same trace and the same step count
    /// (the positions run links record) when every timer is handled by its node, and when
    /// obsolete ones are skipped and a cancel pass runs after every event, so a predicate that
    /// is true for a moment only is caught. Native only: a debug run per pass in the browser
    /// would take minutes, and the core is the same code there.
    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn skipping_and_cancelling_obsolete_timers_changes_no_trace_and_no_step_count() {
        let library = [
            include_str!("../../www/scenarios/leader-failover.json"),
            include_str!("../../www/scenarios/follower-machine-crash.json"),
            include_str!("../../www/scenarios/bufferpool-exhaustion.json"),
            include_str!("../../www/scenarios/cooperative-rebalance.json"),
            include_str!("../../www/scenarios/slow-follower.json"),
        ];
        let mut values: Vec<serde_json::Value> =
            library.iter().map(|json| serde_json::from_str(json).expect("a library scenario")).collect();
        let mut sync = values[2].clone();
        sync["producers"][0]["workload"]["send"] = "sync".into();
        values.push(sync);
        // No broker reachable for 5 s from the start: sends block on metadata past max.block.ms.
        let mut no_metadata = values[2].clone();
        let cut = |action: &str, at_ms: u64, broker: &str| serde_json::json!({ "at_ms": at_ms, "action": action, "from": "producer-1", "to": broker, "both": true });
        no_metadata["events"] = ["broker-1", "broker-2", "broker-3"]
            .iter()
            .flat_map(|b| [cut("cut_link", 0, b), cut("heal_link", 5_000, b)])
            .collect();
        values.push(no_metadata);
        let (base, config) = (crate::bench::swarm_base(), crate::bench::swarm_config());
        for seed in 1..=6 {
            let faults = crate::swarm::fault_schedule(&base, seed, config);
            values.push(crate::swarm::with_faults(&base, &faults, config));
        }
        let mut cancelled = 0;
        for (i, value) in values.iter().enumerate() {
            let scenario = crate::scenario::from_value(value).expect("a valid scenario");
            let run = |skip: bool| {
                let mut sim = super::Sim::new(&scenario, 7);
                sim.set_trace_capture(false);
                sim.skip_obsolete_timers = skip;
                sim.queue.set_cancel_pass_min(0);
                sim.run_until(super::SimTime::from_ms(scenario.duration_ms), u64::MAX);
                (sim.trace_hash().hex(), sim.steps(), sim.timers_cancelled())
            };
            let (every, skipped) = (run(false), run(true));
            assert_eq!((&every.0, every.1), (&skipped.0, skipped.1), "scenario {i}");
            cancelled += skipped.2;
        }
        assert!(cancelled > 10_000, "the passes cancelled {cancelled} timers in all");
    }

    #[test]
    fn a_message_is_small() {
        // Messages are moved several times on their way (outbox, slab, request queue, handler):
        // the rare large ones are boxed (see protocol::Message::Group).
        let size = std::mem::size_of::<super::protocol::Message>();
        assert!(size <= 80, "Message is {size} bytes");
    }
}
