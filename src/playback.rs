//! Playback: drives a [`Sim`] for a viewer and keeps what the view needs from the trace —
//! messages in flight (for animation) and a bounded log of recent events.
//!
//! UI-agnostic, so it is tested natively; the Yew app and the JS API are thin layers on it.

use crate::sim::node::NodeId;
use crate::sim::scenario::Scenario;
use crate::sim::time::SimTime;
use crate::sim::trace::{TraceEvent, TraceKind};
use crate::sim::vec_map::VecMap;
use crate::sim::{RunStop, Sim};
use std::collections::VecDeque;

/// How many recent events the log keeps.
pub const LOG_EVENTS_MAX: usize = 400;
/// Most events processed per `advance_to` call (keeps a frame bounded).
pub const STEPS_PER_ADVANCE_MAX: u64 = 200_000;

/// A message on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct Flight {
    /// Network-wide id.
    pub msg_id: u64,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Kafka API name.
    pub api: &'static str,
    /// Records carried.
    pub records: u32,
    /// When it left.
    pub sent_at: SimTime,
    /// When it arrives.
    pub deliver_at: SimTime,
}

impl Flight {
    /// Fraction of the trip done at `now`, in `[0, 1]`.
    pub fn progress(&self, now: SimTime) -> f64 {
        let total = self.deliver_at.as_ns().saturating_sub(self.sent_at.as_ns());
        if total == 0 {
            return 1.0;
        }
        (now.as_ns().saturating_sub(self.sent_at.as_ns()) as f64 / total as f64).clamp(0.0, 1.0)
    }
}

/// A simulation plus the viewer's derived state.
#[derive(Clone, Debug)]
pub struct Playback {
    sim: Sim,
    flights: VecMap<u64, Flight>,
    log: VecDeque<TraceEvent>,
    end: SimTime,
    /// Every `InvariantViolated` event so far.
    violations: Vec<TraceEvent>,
    /// Every event, when an export asked to keep them.
    kept: Option<Vec<TraceEvent>>,
    /// Charted metrics, folded from every event.
    metrics: crate::metrics::Metrics,
    /// The latest storage events (rolls, retention deletions, truncations, compaction passes)
    /// per (broker, `topic-partition`).
    storage: VecMap<(NodeId, String), VecDeque<TraceEvent>>,
    /// The buffer [`Sim::drain_trace_into`] fills; empty between ingests.
    drained: Vec<TraceEvent>,
}

/// Storage events kept per replica.
pub const STORAGE_EVENTS_MAX: usize = 8;

impl Playback {
    /// A fresh run of `scenario` with `seed`.
    pub fn new(scenario: &Scenario, seed: u64) -> Playback {
        let mut sim = Sim::new(scenario, seed);
        sim.set_halt_on_violation(true);
        Playback {
            sim,
            flights: VecMap::new(),
            log: VecDeque::new(),
            end: SimTime::from_ms(scenario.duration_ms),
            violations: Vec::new(),
            kept: None,
            storage: VecMap::new(),
            metrics: crate::metrics::Metrics::new(scenario),
            drained: Vec::new(),
        }
    }

    /// The charted metrics so far.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// The latest rolls, retention deletions, truncations and compaction passes of `tp`
    /// (`topic-partition`) on `broker`, oldest first.
    pub fn storage_history(&self, broker: NodeId, tp: &str) -> impl Iterator<Item = &TraceEvent> {
        self.storage.get(&(broker, tp.to_string())).into_iter().flatten()
    }

    /// Keeps every trace event from now on (for an export), not just the recent ones.
    pub fn keep_trace(&mut self) {
        self.kept.get_or_insert_with(Vec::new);
    }

    /// The events kept since [`Playback::keep_trace`].
    pub fn take_kept_trace(&mut self) -> Vec<TraceEvent> {
        self.kept.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The simulation.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Starts journaling store operations (for a persistent mirror).
    pub fn enable_store_journal(&mut self) {
        self.sim.enable_store_journal();
    }

    /// Store operations since the last call.
    pub fn drain_store_ops(&mut self) -> Vec<(u16, crate::sim::protocol::Tp, crate::sim::log::StoreOp)> {
        self.sim.drain_store_ops()
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// The scenario's end.
    pub fn end(&self) -> SimTime {
        self.end
    }

    /// True once the clock reached the scenario's end.
    pub fn finished(&self) -> bool {
        self.sim.now() >= self.end
    }

    /// Messages in flight, by id.
    pub fn flights(&self) -> impl Iterator<Item = &Flight> {
        self.flights.values()
    }

    /// Recent events, oldest first.
    pub fn log(&self) -> impl DoubleEndedIterator<Item = &TraceEvent> {
        self.log.iter()
    }

    /// Safety violations seen so far (`InvariantViolated` events), oldest first.
    pub fn violations(&self) -> &[TraceEvent] {
        &self.violations
    }

    /// Advances the clock to `target` (capped at the end), processing due events; stops early
    /// ([`RunStop::Violation`]) right after an event that breaks a safety rule.
    pub fn advance_to(&mut self, target: SimTime) -> RunStop {
        let stop = self.sim.run_until(target.min(self.end), STEPS_PER_ADVANCE_MAX);
        self.ingest();
        stop
    }

    /// Processes events due at or before `deadline` (capped at the end), at most `steps_max`.
    pub fn run_steps(&mut self, deadline: SimTime, steps_max: u64) -> RunStop {
        let stop = self.sim.run_until(deadline.min(self.end), steps_max);
        self.ingest();
        stop
    }

    /// Moves the clock to `to` without processing events (see [`Sim::set_clock`]).
    pub fn set_clock(&mut self, to: SimTime) -> Result<(), crate::sim::ClockError> {
        self.sim.set_clock(to)
    }

    /// Restarts the store journal from an image of the logs now (see
    /// [`Sim::rebase_store_journal`]).
    pub fn rebase_store_journal(&mut self) {
        self.sim.rebase_store_journal();
    }

    /// Processes exactly one event (the clock jumps to it). False when nothing is left.
    pub fn step(&mut self) -> bool {
        let stepped = self.sim.step_until(self.end);
        self.ingest();
        stepped
    }

    /// Applies an action now.
    pub fn act(&mut self, action: crate::sim::scenario::Action) -> Result<(), crate::sim::ActionError> {
        let result = self.sim.handle_input(action);
        self.ingest();
        result
    }

    fn ingest(&mut self) {
        let mut drained = std::mem::take(&mut self.drained);
        self.sim.drain_trace_into(&mut drained);
        // The log keeps the last LOG_EVENTS_MAX events: of a larger drain, the ones before those
        // would be pushed only to be evicted before it ends (workload (b) drains ~20,000 at once).
        let evicted = drained.len().saturating_sub(LOG_EVENTS_MAX);
        for (i, event) in drained.drain(..).enumerate() {
            match &event.kind {
                // A release after a heal starts the dot again, like a send.
                TraceKind::MessageSent { to, msg_id, api, records, deliver_at, .. }
                | TraceKind::MessageReleased { to, msg_id, api, records, deliver_at } => {
                    let flight = Flight {
                        msg_id: *msg_id,
                        from: event.node,
                        to: *to,
                        api,
                        records: *records,
                        sent_at: event.at,
                        deliver_at: *deliver_at,
                    };
                    self.flights.insert(*msg_id, flight);
                }
                TraceKind::MessageDelivered { msg_id, .. }
                | TraceKind::MessageDropped { msg_id, .. }
                | TraceKind::MessageHeld { msg_id, .. } => {
                    self.flights.remove(msg_id);
                }
                _ => {}
            }
            if matches!(event.kind, TraceKind::InvariantViolated { .. }) {
                self.violations.push(event.clone());
            }
            self.metrics.observe(&event);
            match &event.kind {
                TraceKind::SegmentRolled { tp, .. }
                | TraceKind::SegmentDeleted { tp, .. }
                | TraceKind::LogTruncated { tp, .. }
                | TraceKind::LogCompacted { tp, .. } => {
                    let history = self.storage.entry((event.node, tp.to_string())).or_default();
                    if history.len() == STORAGE_EVENTS_MAX {
                        history.pop_front();
                    }
                    history.push_back(event.clone());
                }
                _ => {}
            }
            if let Some(kept) = self.kept.as_mut() {
                kept.push(event.clone());
            }
            if i < evicted {
                continue;
            }
            if self.log.len() == LOG_EVENTS_MAX {
                self.log.pop_front();
            }
            self.log.push_back(event);
        }
        self.drained = drained;
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::scenario::{parse_json, HELLO_JSON};
    use crate::sim::vec_map::VecSet;

    #[test]
    fn flights_are_exactly_the_messages_on_the_wire() {
        let s = parse_json(HELLO_JSON).unwrap();
        let mut p = Playback::new(&s, 1);
        let mut seen = VecSet::new();
        for ms in 1..=1000 {
            p.advance_to(SimTime::from_ms(ms));
            for f in p.flights() {
                assert!(
                    f.sent_at <= p.now() && p.now() < f.deliver_at,
                    "flight {} outside its trip at {}",
                    f.msg_id,
                    p.now()
                );
                seen.insert(f.msg_id);
            }
        }
        assert!(seen.len() > 50, "only {} messages were ever in flight", seen.len());
        p.advance_to(SimTime::from_ms(10_000));
        assert!(p.flights().all(|f| !seen.contains(&f.msg_id)), "every message seen early has landed");
    }

    #[test]
    fn step_processes_one_event_and_log_is_bounded() {
        let s = parse_json(HELLO_JSON).unwrap();
        let mut p = Playback::new(&s, 1);
        let before = p.sim().steps();
        assert!(p.step());
        assert_eq!(p.sim().steps(), before + 1);
        p.advance_to(SimTime::from_ms(5_000));
        assert_eq!(p.log().count(), LOG_EVENTS_MAX);
    }

    /// One large drain leaves what many small ones do: the log (the last [`LOG_EVENTS_MAX`]
    /// events, in order), and every other view the viewer keeps (metrics, flights, violations,
    /// storage history, the kept trace), over a scenario with segment rolls and deletions too.
    #[test]
    fn one_large_drain_leaves_what_many_small_ones_do() {
        let storage = include_str!("../www/scenarios/segments-retention-compaction.json");
        for (json, until_ms) in [(HELLO_JSON, 3_000), (storage, 6_000)] {
            let s = parse_json(json).unwrap();
            let (mut once, mut stepped) = (Playback::new(&s, 1), Playback::new(&s, 1));
            once.keep_trace();
            stepped.keep_trace();
            once.advance_to(SimTime::from_ms(until_ms));
            while stepped.sim().steps() < once.sim().steps() {
                assert!(stepped.step());
            }
            let total = once.sim().trace_len();
            assert!(total > 3 * LOG_EVENTS_MAX as u64, "one drain larger than the log");
            let seqs = |p: &Playback| p.log().map(|e| e.seq).collect::<Vec<_>>();
            let last: Vec<u64> = (total - LOG_EVENTS_MAX as u64..total).collect();
            assert_eq!(seqs(&once), last);
            assert_eq!(seqs(&stepped), last);
            assert!(once.log().eq(stepped.log()));
            assert!(once.metrics == stepped.metrics);
            assert_eq!(once.flights, stepped.flights);
            assert_eq!(once.violations, stepped.violations);
            assert!(once.storage == stepped.storage);
            assert_eq!(once.take_kept_trace(), stepped.take_kept_trace());
        }
        let rolled = |p: &Playback| p.storage.values().map(VecDeque::len).sum::<usize>();
        let s = parse_json(storage).unwrap();
        let mut p = Playback::new(&s, 1);
        p.advance_to(SimTime::from_ms(6_000));
        assert!(rolled(&p) > 0, "the storage scenario rolls segments by 6 s");
    }

    #[test]
    fn progress_is_clamped() {
        let f = Flight {
            msg_id: 0,
            from: NodeId::broker(1),
            to: NodeId::broker(2),
            api: "Fetch",
            records: 0,
            sent_at: SimTime::from_ms(10),
            deliver_at: SimTime::from_ms(20),
        };
        assert_eq!(f.progress(SimTime::from_ms(15)), 0.5);
        assert_eq!(f.progress(SimTime::from_ms(5)), 0.0);
        assert_eq!(f.progress(SimTime::from_ms(25)), 1.0);
    }
}
