//! The timeline: a run as (scenario, seed, recorded actions), played forward live and moved
//! anywhere — backwards too — by restoring the nearest snapshot and replaying deterministically.
//!
//! A position is counted in *ticks*: every processed event and every applied user action is one
//! tick, so "step back" is one tick back. A user action (a crash from the view, a link cut, a
//! config change) is recorded with the position it was applied at — the number of events
//! processed before it and the simulated time — so a replay applies it at exactly the same
//! point and reproduces the same trace. Acting anywhere but at the end of what was recorded
//! forks: the later actions are dropped and the run before the change is kept as the baseline
//! for an A/B comparison.
//!
//! Snapshots are whole [`Playback`] copies taken every `snapshot_every` events while the run
//! moves forward; at most [`SNAPSHOTS_MAX`] are kept (when full, every other one goes and the
//! spacing doubles), so memory stays bounded and a seek replays at most one spacing of events.

use crate::playback::{Playback, STEPS_PER_ADVANCE_MAX};
use crate::sim::scenario::{Action, Scenario};
use crate::sim::time::SimTime;
use crate::sim::{ActionError, RunStop};

/// Most snapshots kept.
pub const SNAPSHOTS_MAX: usize = 48;
/// Events between snapshots at first (doubles whenever the budget fills).
pub const SNAPSHOT_EVERY_STEPS: u64 = 4096;

/// A user action and the position it was applied at.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedAction {
    /// Events processed before it.
    pub steps: u64,
    /// Simulated time it was applied at.
    pub at: SimTime,
    /// What.
    pub action: Action,
}

/// A recorded position or action that replay cannot reach or apply (only possible for input
/// from outside, such as a shared link).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// A recorded action cannot be applied where it was recorded.
    #[error("actions[{index}]: {reason}")]
    Action {
        /// Its index in the recorded list.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The position is past what the run can reach.
    #[error("position: {0}")]
    Position(String),
}

#[derive(Clone, Debug)]
struct Snapshot {
    playback: Playback,
    applied: usize,
}

impl Snapshot {
    fn ticks(&self) -> u64 {
        self.playback.sim().steps() + self.applied as u64
    }
}

/// A run that can be played, stepped, moved back and forth, and forked.
#[derive(Clone, Debug)]
pub struct Timeline {
    playback: Playback,
    actions: Vec<RecordedAction>,
    applied: usize,
    snapshots: Vec<Snapshot>,
    snapshot_every: u64,
    baseline: Option<Vec<RecordedAction>>,
}

impl Timeline {
    /// A fresh run of `scenario` with `seed` and no recorded actions.
    pub fn new(scenario: &Scenario, seed: u64) -> Timeline {
        Timeline::with_actions(scenario, seed, Vec::new())
    }

    /// A run that will apply `actions` at their positions as it plays (they are checked as
    /// they are reached; see [`ReplayError`]).
    pub fn with_actions(scenario: &Scenario, seed: u64, actions: Vec<RecordedAction>) -> Timeline {
        Timeline::from_playback(Playback::new(scenario, seed), actions)
    }

    /// Like [`Timeline::with_actions`] from a prepared playback at t = 0 (e.g. with its store
    /// journal on).
    pub fn from_playback(playback: Playback, actions: Vec<RecordedAction>) -> Timeline {
        assert_eq!(playback.sim().steps(), 0, "a timeline starts at t = 0");
        let start = Snapshot { playback: playback.clone(), applied: 0 };
        Timeline {
            playback,
            actions,
            applied: 0,
            snapshots: vec![start],
            snapshot_every: SNAPSHOT_EVERY_STEPS,
            baseline: None,
        }
    }

    /// The playback at the current position.
    pub fn playback(&self) -> &Playback {
        &self.playback
    }

    /// The playback, to drain its store journal.
    pub fn playback_mut(&mut self) -> &mut Playback {
        &mut self.playback
    }

    /// Every recorded action, in order (including those not reached yet).
    pub fn actions(&self) -> &[RecordedAction] {
        &self.actions
    }

    /// How many recorded actions are applied at this position.
    pub fn applied(&self) -> usize {
        self.applied
    }

    /// The recorded actions before the last change (for an A/B comparison), if any.
    pub fn baseline(&self) -> Option<&[RecordedAction]> {
        self.baseline.as_deref()
    }

    /// The position: events processed plus actions applied.
    pub fn ticks(&self) -> u64 {
        self.playback.sim().steps() + self.applied as u64
    }

    /// Sets the first spacing of snapshots, in ticks (small ones exercise restores in tests).
    pub fn set_snapshot_every(&mut self, ticks: u64) {
        self.snapshot_every = ticks.max(1);
    }

    /// Snapshots held (bounded by [`SNAPSHOTS_MAX`]).
    pub fn snapshot_count(&self) -> usize {
        self.snapshots.len()
    }

    /// Plays forward to `target` (capped at the scenario's end), applying recorded actions at
    /// their positions; at most [`STEPS_PER_ADVANCE_MAX`] events between actions. Stops early
    /// right after an event that breaks a safety rule ([`RunStop::Violation`]).
    pub fn advance_to(&mut self, target: SimTime) -> Result<RunStop, ReplayError> {
        self.advance_within(target, STEPS_PER_ADVANCE_MAX)
    }

    /// As [`Timeline::advance_to`], processing at most `budget` events: [`RunStop::StepsMax`]
    /// when the budget ran out before `target` (the viewer bounds a frame's work this way).
    pub fn advance_within(&mut self, target: SimTime, budget: u64) -> Result<RunStop, ReplayError> {
        let target = target.min(self.playback.end());
        let start = self.steps();
        loop {
            if self.apply_due_action(target)? {
                continue;
            }
            let left = budget.saturating_sub(self.steps() - start);
            if left == 0 {
                return Ok(RunStop::StepsMax);
            }
            let pending = self.pending_action(target);
            let (deadline, max) = match &pending {
                Some((index, a)) => (a.at, a.steps.checked_sub(self.steps()).ok_or_else(|| behind(*index))?.min(left)),
                None => (target, left),
            };
            let stop = self.run_events(deadline, max);
            match (stop, pending) {
                (RunStop::Violation, _) => return Ok(stop),
                (RunStop::StepsMax, Some(_)) => continue,
                (_, Some((index, a))) => {
                    return Err(ReplayError::Action {
                        index,
                        reason: format!(
                            "recorded after {} events, but only {} happen by {}",
                            a.steps,
                            self.steps(),
                            a.at
                        ),
                    })
                }
                (_, None) => return Ok(stop),
            }
        }
    }

    /// One tick forward: the next recorded action if it comes before the next event, else the
    /// next event. False at the end.
    pub fn step(&mut self) -> Result<bool, ReplayError> {
        if self.apply_due_action(self.playback.end())? {
            return Ok(true);
        }
        let stepped = self.playback.step();
        self.maybe_snapshot();
        Ok(stepped)
    }

    /// Applies `action` now and records it. Recorded actions after this position are dropped
    /// (a fork); the actions as they were before become the [`Timeline::baseline`].
    pub fn act(&mut self, action: Action) -> Result<(), ActionError> {
        self.playback.sim().check_action(&action)?;
        self.baseline = Some(self.actions.clone());
        self.actions.truncate(self.applied);
        let ticks = self.ticks();
        self.snapshots.retain(|s| s.ticks() <= ticks);
        let (steps, at) = (self.steps(), self.playback.now());
        self.playback.act(action.clone())?;
        self.actions.push(RecordedAction { steps, at, action });
        self.applied += 1;
        Ok(())
    }

    /// Moves to simulated time `t` (capped at the end), as a run played to `t` would be:
    /// every event due by then processed, the clock at `t`. Backwards restores a snapshot.
    pub fn seek(&mut self, t: SimTime) -> Result<(), ReplayError> {
        let t = t.min(self.playback.end());
        let index = self.snapshots.iter().rposition(|s| s.playback.now() <= t).expect("the first snapshot is at t = 0");
        if t < self.playback.now() || self.snapshots[index].ticks() > self.ticks() {
            self.restore(index);
        }
        while matches!(self.advance_to(t)?, RunStop::Violation | RunStop::StepsMax) {}
        Ok(())
    }

    /// Moves to tick `n` (events processed plus actions applied), the clock at the last one.
    pub fn seek_ticks(&mut self, n: u64) -> Result<(), ReplayError> {
        if n < self.ticks() {
            let index = self.snapshots.iter().rposition(|s| s.ticks() <= n).expect("the first snapshot is at tick 0");
            self.restore(index);
        }
        let end = self.playback.end();
        while self.ticks() < n {
            if self.apply_due_action(end)? {
                continue;
            }
            let mut max = n - self.ticks();
            if let Some((index, a)) = self.pending_action(end) {
                max = max.min(a.steps.checked_sub(self.steps()).ok_or_else(|| behind(index))?);
            }
            let before = self.steps();
            self.run_events(end, max);
            if self.steps() == before {
                return Err(ReplayError::Position(format!(
                    "tick {n} is past the run's last event (tick {})",
                    self.ticks()
                )));
            }
        }
        Ok(())
    }

    /// One tick back. False at the start.
    pub fn step_back(&mut self) -> Result<bool, ReplayError> {
        match self.ticks() {
            0 => Ok(false),
            n => self.seek_ticks(n - 1).map(|()| true),
        }
    }

    /// Moves to an exact position: tick `n`, then the clock to `at` (a paused clock sits
    /// between events). For positions from a shared link.
    pub fn goto(&mut self, n: u64, at: SimTime) -> Result<(), ReplayError> {
        self.seek_ticks(n)?;
        if at > self.playback.end() {
            return Err(ReplayError::Position(format!("{at} is after the scenario's end, {}", self.playback.end())));
        }
        if let Some((index, a)) = self.pending_action(at) {
            if a.steps == self.steps() && a.at < at {
                return Err(ReplayError::Position(format!("{at} is after actions[{index}] at {}, not applied", a.at)));
            }
        }
        self.playback.set_clock(at).map_err(|e| ReplayError::Position(e.to_string()))
    }

    fn steps(&self) -> u64 {
        self.playback.sim().steps()
    }

    /// The next recorded action if it is due by `limit`.
    fn pending_action(&self, limit: SimTime) -> Option<(usize, RecordedAction)> {
        self.actions.get(self.applied).filter(|a| a.at <= limit).map(|a| (self.applied, a.clone()))
    }

    /// Applies the next recorded action if the run stands at its position (and it is due by
    /// `limit`).
    fn apply_due_action(&mut self, limit: SimTime) -> Result<bool, ReplayError> {
        let Some((index, a)) = self.pending_action(limit) else { return Ok(false) };
        if a.steps > self.steps() {
            return Ok(false);
        }
        if a.steps < self.steps() {
            return Err(behind(index));
        }
        let fail = |reason: String| ReplayError::Action { index, reason };
        self.playback.set_clock(a.at).map_err(|e| fail(e.to_string()))?;
        self.playback.act(a.action).map_err(|e| fail(e.to_string()))?;
        self.applied += 1;
        Ok(true)
    }

    fn run_events(&mut self, deadline: SimTime, max: u64) -> RunStop {
        let stop = self.playback.run_steps(deadline, max);
        self.maybe_snapshot();
        stop
    }

    fn restore(&mut self, index: usize) {
        let snapshot = &self.snapshots[index];
        self.playback = snapshot.playback.clone();
        self.applied = snapshot.applied;
    }

    /// Keeps a copy of this position when it is far enough from its neighbours.
    fn maybe_snapshot(&mut self) {
        let ticks = self.ticks();
        let at = self.snapshots.partition_point(|s| s.ticks() <= ticks);
        let before = &self.snapshots[at - 1];
        let far_after = self.snapshots.get(at).is_none_or(|s| s.ticks() >= ticks + self.snapshot_every / 2);
        if ticks < before.ticks() + self.snapshot_every || !far_after {
            return;
        }
        let mut playback = self.playback.clone();
        drop(playback.drain_store_ops());
        self.snapshots.insert(at, Snapshot { playback, applied: self.applied });
        if self.snapshots.len() > SNAPSHOTS_MAX {
            let mut keep = false;
            self.snapshots.retain(|_| {
                keep = !keep;
                keep
            });
            self.snapshot_every *= 2;
        }
    }
}

/// The whole trace of a run from t = 0 to the position `(ticks, at)`, replayed with the
/// actions applied by then (for an export: the viewer keeps only recent events).
pub fn replay_trace(
    scenario: &Scenario,
    seed: u64,
    actions: Vec<RecordedAction>,
    (ticks, at): (u64, SimTime),
) -> Result<Vec<crate::sim::trace::TraceEvent>, ReplayError> {
    let mut playback = Playback::new(scenario, seed);
    playback.keep_trace();
    let mut timeline = Timeline::from_playback(playback, actions);
    timeline.set_snapshot_every(u64::MAX / 4);
    timeline.goto(ticks, at)?;
    Ok(timeline.playback.take_kept_trace())
}

/// Where a branch (the scenario, a seed and recorded actions) ends: what an A/B view compares.
#[derive(Clone, Debug, PartialEq)]
pub struct BranchOutcome {
    /// Records acknowledged to producers.
    pub acked: u64,
    /// Acknowledged records missing from their leader, or on a partition without one.
    pub lost: u64,
    /// Extra copies of acknowledged records.
    pub duplicates: u64,
    /// Records consumers' `poll()` returned.
    pub consumed: u64,
    /// Mean produce request latency over every producer's answered requests, ms.
    pub request_latency_avg_ms: f64,
    /// Safety rules broken.
    pub violations: usize,
    /// The trace hash at the end.
    pub trace_hash: String,
}

/// Plays `actions` on `scenario` with `seed` to the end and reports where it leads.
pub fn run_branch(scenario: &Scenario, seed: u64, actions: Vec<RecordedAction>) -> Result<BranchOutcome, ReplayError> {
    let mut timeline = Timeline::with_actions(scenario, seed, actions);
    let end = timeline.playback().end();
    let mut stop = timeline.advance_to(end)?;
    while matches!(stop, RunStop::Violation | RunStop::StepsMax) {
        stop = timeline.advance_to(end)?;
    }
    let summary = crate::summary::RunSummary::new(timeline.playback().sim(), stop);
    let latencies: Vec<f64> =
        summary.producer_metrics.values().filter_map(|m| m.get("request-latency-avg").copied()).collect();
    Ok(BranchOutcome {
        acked: summary.checks.acked,
        lost: summary.checks.acked_lost + summary.checks.acked_unavailable,
        duplicates: summary.checks.duplicates,
        consumed: summary.consumers.values().map(|c| c.records_consumed).sum(),
        request_latency_avg_ms: latencies.iter().sum::<f64>() / latencies.len().max(1) as f64,
        violations: summary.checks.violations.len(),
        trace_hash: summary.trace_hash,
    })
}

fn behind(index: usize) -> ReplayError {
    ReplayError::Action { index, reason: "recorded at a position before the previous action's".to_string() }
}

#[cfg(test)]
mod tests;
