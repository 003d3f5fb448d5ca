//! A run's summary: what `brokerscope run` prints and `--json` emits (keys documented in the
//! README). Built from the simulator's state and counters, never from the UI.

use crate::sim::{ClusterView, MessageCounts, RunStop, Sim};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The machine-readable summary of a run.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// Scenario name.
    pub scenario: String,
    /// Seed used.
    pub seed: u64,
    /// Simulated time reached, ms.
    pub sim_time_ms: u64,
    /// Trace events recorded.
    pub events: u64,
    /// Queue events processed.
    pub steps: u64,
    /// Why the run stopped: `deadline`, `idle` or `steps_max`.
    pub stopped: &'static str,
    /// Stable trace hash (16 hex digits).
    pub trace_hash: String,
    /// Messages sent, received and dropped per node.
    pub messages: BTreeMap<String, MessageCounts>,
    /// Final cluster state.
    pub cluster: ClusterView,
    /// Kafka's producer metrics per producer (averaged over the run).
    pub producer_metrics: BTreeMap<String, BTreeMap<&'static str, f64>>,
}

impl RunSummary {
    /// Summarises `sim` after a run that stopped for `stop`.
    pub fn new(sim: &Sim, stop: RunStop) -> RunSummary {
        RunSummary {
            scenario: sim.scenario().name.clone(),
            seed: sim.seed(),
            sim_time_ms: sim.now().as_ms(),
            events: sim.trace_len(),
            steps: sim.steps(),
            stopped: match stop {
                RunStop::Idle => "idle",
                RunStop::Deadline => "deadline",
                RunStop::StepsMax => "steps_max",
            },
            trace_hash: sim.trace_hash().hex(),
            messages: sim.message_counts().iter().map(|(id, c)| (id.to_string(), *c)).collect(),
            cluster: sim.view(),
            producer_metrics: sim
                .node_ids()
                .filter_map(|id| match sim.node(id) {
                    Some(crate::sim::Node::Producer(p)) => {
                        Some((id.to_string(), p.metrics(sim.now().saturating_since(crate::sim::time::SimTime::ZERO))))
                    }
                    _ => None,
                })
                .collect(),
        }
    }

    /// A readable multi-line report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(w, "scenario   {}", self.scenario);
        let _ = writeln!(w, "seed       {}", self.seed);
        let _ = writeln!(
            w,
            "sim time   {} ms ({} steps, {} trace events, stopped: {})",
            self.sim_time_ms, self.steps, self.events, self.stopped
        );
        let _ = writeln!(w, "trace hash {}", self.trace_hash);
        for p in &self.cluster.producers {
            let _ = writeln!(
                w,
                "{} ({})  sent {}  acked {}  failed attempts {}",
                p.id, p.label, p.records_sent, p.records_acked, p.batch_errors
            );
        }
        for c in &self.cluster.consumers {
            let _ = writeln!(
                w,
                "{} ({})  consumed {}  {}",
                c.id,
                c.label,
                c.records_consumed,
                if c.active { "active" } else { "stopped" }
            );
        }
        for b in &self.cluster.brokers {
            let _ = writeln!(w, "{}  {}", b.id, if b.alive { "up" } else { "DOWN" });
            for r in b.replicas.iter().filter(|r| r.leader == b.id.number) {
                let _ = writeln!(
                    w,
                    "  {:<14} leader  isr {:?}  leo {}  hw {}",
                    r.tp, r.isr, r.log_end_offset, r.high_watermark
                );
            }
        }
        let _ = writeln!(
            w,
            "messages   {}",
            self.messages
                .iter()
                .map(|(n, c)| format!("{n} sent {} recv {} drop {}", c.sent, c.received, c.dropped))
                .collect::<Vec<_>>()
                .join(" · ")
        );
        s
    }
}
