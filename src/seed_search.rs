//! Seed search in slices: run one scenario over many seeds, a bounded number of events per
//! call, so a page can search between animation frames and stay responsive. Each seed runs to
//! the scenario's end and is checked as `brokerscope seeds` checks it: a seed fails when a
//! safety rule broke or an acknowledged record was lost.

use crate::sim::scenario::Scenario;
use crate::sim::time::SimTime;
use crate::sim::{RunStop, Sim};

/// A seed that broke something.
#[derive(Clone, Debug, PartialEq)]
pub struct FailingSeed {
    /// The seed.
    pub seed: u64,
    /// Acknowledged records lost or unavailable at the end.
    pub acked_lost: u64,
    /// The broken rules, one line each (`Kind: message`).
    pub violations: Vec<String>,
}

/// A search in progress.
#[derive(Clone, Debug)]
pub struct SeedSearch {
    scenario: Scenario,
    from: u64,
    next: u64,
    end: u64,
    current: Option<Sim>,
    done: u64,
    failing: Vec<FailingSeed>,
}

impl SeedSearch {
    /// Seeds `from .. from + count` of `scenario` (with its own faults).
    pub fn new(scenario: &Scenario, from: u64, count: u64) -> SeedSearch {
        SeedSearch {
            scenario: scenario.clone(),
            from,
            next: from,
            end: from.saturating_add(count),
            current: None,
            done: 0,
            failing: Vec::new(),
        }
    }

    /// Seeds in the search.
    pub fn total(&self) -> u64 {
        self.end - self.from
    }

    /// Seeds checked so far.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// True when every seed was checked.
    pub fn finished(&self) -> bool {
        self.current.is_none() && self.next >= self.end
    }

    /// The failing seeds found so far, in seed order.
    pub fn failing(&self) -> &[FailingSeed] {
        &self.failing
    }

    /// Works through at most about `steps_budget` events; returns true when finished.
    pub fn run_for(&mut self, steps_budget: u64) -> bool {
        let mut budget = steps_budget;
        let deadline = SimTime::from_ms(self.scenario.duration_ms);
        while budget > 0 && !self.finished() {
            let sim = self.current.get_or_insert_with(|| {
                let seed = self.next;
                self.next += 1;
                let mut sim = Sim::new(&self.scenario, seed);
                sim.set_trace_capture(false);
                sim
            });
            let before = sim.steps();
            let stop = sim.run_until(deadline, budget);
            budget = budget.saturating_sub(sim.steps() - before);
            if matches!(stop, RunStop::Deadline | RunStop::Idle) {
                let sim = self.current.take().expect("a seed is running");
                self.finish(&sim);
            }
        }
        self.finished()
    }

    fn finish(&mut self, sim: &Sim) {
        self.done += 1;
        let checks = sim.checks();
        let acked_lost = checks.acked_lost + checks.acked_unavailable;
        if acked_lost > 0 || !checks.violations.is_empty() {
            let violations = checks.violations.iter().map(|v| format!("{:?}: {}", v.kind, v.message)).collect();
            self.failing.push(FailingSeed { seed: sim.seed(), acked_lost, violations });
        }
    }
}

// The tests load built-in scenarios (the embedded library).
#[cfg(all(test, feature = "embedded-library"))]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::scenario::{parse_json, BUILT_IN};

    fn built_in(id: &str) -> Scenario {
        parse_json(BUILT_IN.iter().find(|(i, _)| *i == id).unwrap().1).unwrap()
    }

    #[test]
    fn a_sliced_search_finds_what_whole_runs_find() {
        let s = built_in("unclean-election");
        let mut search = SeedSearch::new(&s, 1, 4);
        assert_eq!((search.total(), search.done()), (4, 0));
        let mut slices = 0;
        while !search.run_for(5_000) {
            slices += 1;
            assert!(search.done() <= 4);
        }
        assert!(slices > 4, "the work was spread over {slices} slices");
        assert_eq!(search.done(), 4);
        // The same seeds checked whole, as `brokerscope seeds` does.
        let want: Vec<u64> = (1..5)
            .filter(|seed| {
                let mut sim = Sim::new(&s, *seed);
                sim.run_until(SimTime::from_ms(s.duration_ms), u64::MAX);
                let c = sim.checks();
                c.acked_lost + c.acked_unavailable > 0 || !c.violations.is_empty()
            })
            .collect();
        let got: Vec<u64> = search.failing().iter().map(|f| f.seed).collect();
        assert_eq!(got, want);
        assert!(!got.is_empty(), "the unclean election loses acknowledged records");
        assert!(search.failing()[0].violations[0].starts_with("AckedLost: "), "{:?}", search.failing()[0]);
    }

    #[test]
    fn a_safe_scenario_has_no_failing_seed() {
        let mut search = SeedSearch::new(&built_in("leader-failover"), 10, 3);
        while !search.run_for(50_000) {}
        assert_eq!(search.done(), 3);
        assert_eq!(search.failing(), []);
    }
}
