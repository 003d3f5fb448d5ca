//! A run's summary: what `brokerscope run` prints and `--json` emits (keys documented in the
//! README). Built from the simulator's state and counters, never from the UI.

use crate::sim::check::AckedCheck;
use crate::sim::collections::CollectMap;
use crate::sim::vec_map::VecMap;
use crate::sim::{ClusterView, MessageCounts, RunStop, Sim};
use serde::Serialize;
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
    pub messages: VecMap<String, MessageCounts>,
    /// Per partition, as the leader sees it plus every replica's log end offset.
    pub partitions: Vec<PartitionSummary>,
    /// Final cluster state.
    pub cluster: ClusterView,
    /// Kafka's producer metrics per producer (averaged over the run).
    pub producer_metrics: VecMap<String, VecMap<&'static str, f64>>,
    /// Safety checks at the end of the run: acknowledged records and those lost.
    pub checks: AckedCheck,
    /// Per broker (`broker-N`): liveness and Kafka's replica-manager gauges.
    pub brokers: VecMap<String, BrokerSummary>,
    /// Per consumer group: state, generation, protocol, members and their assignment,
    /// committed offsets and lag, as the group's coordinator holds them.
    pub groups: Vec<crate::sim::GroupView>,
    /// Per consumer (scenario id): records consumed and redelivered, group membership.
    pub consumers: VecMap<String, ConsumerSummary>,
}

/// One consumer at the end of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsumerSummary {
    /// `consumer-N`.
    pub node: String,
    /// Records `poll()` returned.
    pub records_consumed: u64,
    /// Of those, records its group (or it) had been given before: at-least-once redelivery.
    pub redelivered: u64,
    /// `group.id`, in subscribe mode.
    pub group: Option<String>,
    /// Generation it is in (-1: none).
    pub generation: i32,
    /// Partitions it owns.
    pub assignment: Vec<String>,
    /// Offset commits acknowledged.
    pub commits: u64,
    /// Offset commits that failed.
    pub commits_failed: u64,
}

/// One broker at the end of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BrokerSummary {
    /// The process is up.
    pub alive: bool,
    /// Holds a registration with the controller.
    pub registered: bool,
    /// The controller has fenced it.
    pub fenced: bool,
    /// Requests waiting for a handler at the end.
    pub request_queue_depth: u32,
    /// Kafka metrics: `LeaderCount` (partitions it leads), `UnderReplicatedPartitions` (led
    /// partitions whose ISR is smaller than the replica set), `RequestQueueSize`,
    /// `RequestQueueTimeMs` (average), `RequestHandlerAvgIdlePercent` (0–1), `RequestsHandled`.
    pub metrics: VecMap<&'static str, f64>,
}

fn broker_summaries(sim: &Sim, cluster: &ClusterView) -> VecMap<String, BrokerSummary> {
    let fenced = cluster.controller.as_ref().map(|c| c.fenced.clone()).unwrap_or_default();
    let elapsed = sim.now().saturating_since(crate::sim::time::SimTime::ZERO);
    cluster
        .brokers
        .iter()
        .map(|b| {
            // Every replica, `__consumer_offsets` included (the view leaves most of those out).
            let (mut metrics, led, under) = match sim.node(b.id) {
                Some(crate::sim::Node::Broker(broker)) => {
                    let led: Vec<_> =
                        broker.replicas().values().filter(|r| b.alive && r.leader == Some(b.id.number)).collect();
                    let under = led.iter().filter(|r| r.isr.len() < r.replicas.len()).count();
                    (broker.request_metrics(elapsed), led.len(), under)
                }
                _ => (VecMap::new(), 0, 0),
            };
            metrics.insert("LeaderCount", led as f64);
            metrics.insert("UnderReplicatedPartitions", under as f64);
            let summary = BrokerSummary {
                alive: b.alive,
                registered: b.registered,
                fenced: fenced.contains(&b.id.number),
                request_queue_depth: b.request_queue_depth,
                metrics,
            };
            (b.id.to_string(), summary)
        })
        .collect_map()
}

/// One partition at the end of a run: the leader's view of it plus each replica's own log end
/// offset (a follower's LEO is what its log holds, not what the leader last learned).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionSummary {
    /// `topic-partition`.
    pub tp: String,
    /// Leader broker id, or `None` when no live broker leads it.
    pub leader: Option<u16>,
    /// The leader's epoch (-1 without a leader).
    pub leader_epoch: i32,
    /// Assigned replicas, preferred leader first.
    pub replicas: Vec<u16>,
    /// In-sync replicas as the leader knows them.
    pub isr: Vec<u16>,
    /// Log end offset per replica (`broker-N`), including crashed brokers' retained logs.
    pub leo: VecMap<String, i64>,
    /// The leader's high watermark (-1 without a leader).
    pub hw: i64,
    /// The leader's log start offset (-1 without a leader).
    pub log_start_offset: i64,
}

/// Groups the brokers' replicas by partition, sorted by topic then partition number; the
/// leader is the live broker whose replica names itself leader (the highest epoch, if several).
pub fn partition_summaries(cluster: &ClusterView) -> Vec<PartitionSummary> {
    let mut by_tp: VecMap<(&str, u32), PartitionSummary> = VecMap::new();
    for b in &cluster.brokers {
        for r in &b.replicas {
            let key = r.tp.rsplit_once('-').map_or((r.tp.as_str(), 0), |(t, p)| (t, p.parse().unwrap_or(0)));
            let entry = by_tp.entry(key).or_insert_with(|| PartitionSummary {
                tp: r.tp.clone(),
                leader: None,
                leader_epoch: -1,
                replicas: r.replicas.clone(),
                isr: vec![],
                leo: VecMap::new(),
                hw: -1,
                log_start_offset: -1,
            });
            entry.leo.insert(b.id.to_string(), r.log_end_offset);
            // A partitioned old leader may still believe it leads: the highest epoch wins.
            if b.alive
                && r.leader == Some(b.id.number)
                && (entry.leader.is_none() || r.leader_epoch > entry.leader_epoch)
            {
                entry.leader = Some(b.id.number);
                entry.leader_epoch = r.leader_epoch;
                entry.isr = r.isr.clone();
                entry.hw = r.high_watermark;
                entry.log_start_offset = r.log_start_offset;
            }
        }
    }
    by_tp.into_values().collect()
}

impl RunSummary {
    /// Summarises `sim` after a run that stopped for `stop`.
    pub fn new(sim: &Sim, stop: RunStop) -> RunSummary {
        let cluster = sim.view();
        RunSummary {
            scenario: sim.scenario().name.clone(),
            seed: sim.seed(),
            sim_time_ms: sim.now().as_ms(),
            events: sim.trace_len(),
            steps: sim.steps(),
            stopped: stop.name(),
            trace_hash: sim.trace_hash().hex(),
            messages: sim.message_counts().iter().map(|(id, c)| (id.to_string(), *c)).collect_map(),
            partitions: partition_summaries(&cluster),
            checks: sim.checks(),
            brokers: broker_summaries(sim, &cluster),
            groups: cluster.groups.clone(),
            consumers: cluster
                .consumers
                .iter()
                .map(|c| {
                    let summary = ConsumerSummary {
                        node: c.id.to_string(),
                        records_consumed: c.records_consumed,
                        redelivered: c.redelivered,
                        group: c.group.clone(),
                        generation: c.generation,
                        assignment: c.assignment.clone(),
                        commits: c.commits.0,
                        commits_failed: c.commits.1,
                    };
                    (c.label.clone(), summary)
                })
                .collect_map(),
            cluster,
            producer_metrics: sim
                .node_ids()
                .filter_map(|id| match sim.node(id) {
                    Some(crate::sim::Node::Producer(p)) => {
                        Some((id.to_string(), p.metrics(sim.now().saturating_since(crate::sim::time::SimTime::ZERO))))
                    }
                    _ => None,
                })
                .collect_map(),
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
                "{} ({})  consumed {}  redelivered {}  {}",
                c.id,
                c.label,
                c.records_consumed,
                c.redelivered,
                if c.active { "active" } else { "stopped" }
            );
        }
        for g in &self.groups {
            let coordinator = g.coordinator.map_or("none".to_string(), |b| format!("broker-{b}"));
            let _ = writeln!(
                w,
                "group {}  {}  generation {}  protocol {}  coordinator {coordinator}",
                g.group,
                g.state,
                g.generation,
                g.protocol.as_deref().unwrap_or("-")
            );
            for m in &g.members {
                let _ = writeln!(w, "  {} {}  [{}]", m.consumer, m.member_id, m.assignment.join(", "));
            }
            let lag: Vec<String> = g.lag.iter().map(|(tp, l)| format!("{tp}={l}")).collect();
            let _ = writeln!(w, "  lag {}", lag.join(" "));
        }
        for (id, b) in &self.brokers {
            let state = match (b.alive, b.fenced) {
                (false, _) => "DOWN",
                (true, true) => "up, fenced",
                (true, false) => "up",
            };
            let m = &b.metrics;
            let _ = writeln!(
                w,
                "{id}  {state}  leaders {}  under-replicated {}  request queue {} (avg wait {:.3} ms, handlers idle {:.1} %)",
                m["LeaderCount"],
                m["UnderReplicatedPartitions"],
                b.request_queue_depth,
                m.get("RequestQueueTimeMs").copied().unwrap_or(0.0),
                100.0 * m.get("RequestHandlerAvgIdlePercent").copied().unwrap_or(1.0)
            );
        }
        for p in &self.partitions {
            let leader = p.leader.map_or("none".to_string(), |l| format!("broker-{l}"));
            let leo = p.leo.iter().map(|(b, o)| format!("{b}={o}")).collect::<Vec<_>>().join(" ");
            let _ = writeln!(
                w,
                "  {:<14} leader {leader} (epoch {})  isr {:?}  hw {}  log start {}  leo {leo}",
                p.tp, p.leader_epoch, p.isr, p.hw, p.log_start_offset
            );
        }
        let c = &self.checks;
        let _ = writeln!(w, "checks     acked {}  lost {}  unavailable {}", c.acked, c.acked_lost, c.acked_unavailable);
        for l in c.lost.iter().take(10) {
            let _ = writeln!(w, "  LOST {} @{} ({:?}, acked to {})", l.tp, l.offset, l.kind, l.producer);
        }
        if c.lost.len() > 10 {
            let _ = writeln!(w, "  … {} more", c.lost.len() - 10);
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
