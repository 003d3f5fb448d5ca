//! The standard benchmark workloads, shared by `brokerscope bench` (native) and the browser
//! benchmark (wasm). The clock is passed in (`Instant` natively, `performance.now()` in the
//! browser), so this module reads no clock itself and the figures of both hosts come from the
//! same code path.
//!
//! Records workloads keep 2 MiB per partition (`retention.bytes`), so memory is bounded by
//! retention rather than by the records sent (see [`crate::sim::Sim::prune_check_history`]).
//!
//! - (a) produce-only: one broker, keyed 100-byte records, acks=all, until every record is
//!   acknowledged.
//! - (b) the full pipeline: 3 brokers, a 6-partition RF-3 topic, acks=all, idempotence on,
//!   keyed 100-byte records, one consumer group reading everything; driven through
//!   [`Playback`], so the trace is captured and ingested exactly as the viewer does.
//! - (c) the same with null keys (the uniform sticky partitioner).
//! - (d) the swarm: seeds per second of a 3-broker, 3-partition, 1,000-record scenario with a
//!   random fault schedule per seed, run and checked as `brokerscope seeds --swarm` does.

use crate::playback::Playback;
use crate::scenario;
use crate::sim::collections::sort_by;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::Node;
use crate::sim::RunStop;
use crate::swarm::{self, SwarmConfig};
use serde_json::{json, Value};

/// One of the standard workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// (a) produce-only to one broker.
    ProduceOnly,
    /// (b) produce → leader → two followers → HW → one consumer group, keyed records.
    Pipeline,
    /// (c) as (b) with null keys.
    PipelineKeyless,
    /// (d) swarm seeds per second.
    Swarm,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 4] =
        [Workload::ProduceOnly, Workload::Pipeline, Workload::PipelineKeyless, Workload::Swarm];

    /// The report label.
    pub fn label(self) -> &'static str {
        match self {
            Workload::ProduceOnly => "(a) produce-only, 1 broker",
            Workload::Pipeline => "(b) pipeline, keyed",
            Workload::PipelineKeyless => "(c) pipeline, keyless",
            Workload::Swarm => "(d) swarm, faults on",
        }
    }

    /// The short name (`--workload`, JSON keys).
    pub fn name(self) -> &'static str {
        match self {
            Workload::ProduceOnly => "a",
            Workload::Pipeline => "b",
            Workload::PipelineKeyless => "c",
            Workload::Swarm => "d",
        }
    }
}

/// Bytes of each record's value in every workload.
pub const VALUE_BYTES: u64 = 100;
/// `segment.bytes` of the benchmark topic (Kafka's minimum).
pub const SEGMENT_BYTES: u64 = 1 << 20;
/// `retention.bytes` per partition of the benchmark topic: memory stays bounded however many
/// records a run sends, as a real cluster's disk does (the consumer reads far behind this).
pub const RETENTION_BYTES: u64 = 2 << 20;
/// Records of each swarm seed.
pub const SWARM_RECORDS: u64 = 1_000;

/// What one workload measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Figures {
    /// Short name: a, b, c or d.
    pub workload: &'static str,
    /// Records produced (and, for the pipelines, consumed) in all.
    pub records: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Records per wall-clock second, end to end.
    pub records_per_sec: f64,
    /// Key and value bytes per wall-clock second, in MB (10^6).
    pub mb_per_sec: f64,
    /// Wall-clock nanoseconds per record.
    pub ns_per_record: f64,
    /// Simulation queue events processed (the record workloads).
    pub steps: Option<u64>,
    /// Seeds per second (the swarm only).
    pub seeds_per_sec: Option<f64>,
    /// Peak heap bytes while it ran (the largest of any of `runs`), when the host can measure it.
    pub peak_heap_bytes: Option<u64>,
    /// Threads the workload ran on (the swarm may run seeds side by side; one simulation is
    /// always one thread).
    pub threads: u64,
    /// Runs measured: the figures above are those of the run with the median time (of an even
    /// count, the faster of the middle two), but for `peak_heap_bytes`.
    pub runs: u64,
    /// The fastest and slowest of the runs, in seconds (the same as `seconds` for one run).
    pub seconds_range: (f64, f64),
}

impl Figures {
    /// The run of `runs` (the same workload, measured again and again) with the median time (of
    /// an even count, the faster of the middle two: use an odd one), marked with their number,
    /// their time range and the largest peak heap of any. A
    /// machine whose wall clock varies from run to run (this 2-core VM's by ±20%) gives a
    /// steadier figure this way than from any single run, without picking the best one.
    ///
    /// # Panics
    /// If `runs` is empty.
    pub fn median_of(mut runs: Vec<Figures>) -> Figures {
        assert!(!runs.is_empty(), "at least one run");
        sort_by(&mut runs, |a, b| a.seconds.total_cmp(&b.seconds));
        let range = (runs[0].seconds, runs[runs.len() - 1].seconds);
        let peak = runs.iter().filter_map(|f| f.peak_heap_bytes).max();
        let n = runs.len() as u64;
        let mut median = runs.swap_remove((runs.len() - 1) / 2);
        median.runs = n;
        median.seconds_range = range;
        median.peak_heap_bytes = peak;
        median
    }
}

/// The scenario file of a record workload (a, b or c) with `records` records.
pub fn scenario_json(workload: Workload, records: u64) -> Value {
    let (brokers, rf, consumers) = match workload {
        Workload::ProduceOnly => (1, 1, json!([])),
        _ => (
            3,
            3,
            json!([{ "id": "consumer-1", "group": "bench", "topics": ["bench"],
                             "config": { "auto.offset.reset": "earliest" } }]),
        ),
    };
    let key = if workload == Workload::PipelineKeyless { Value::Null } else { json!("key-{i}") };
    json!({
        "name": workload.label(),
        "duration_ms": 3_600_000u64,
        "brokers": brokers,
        "broker_config": { "min.insync.replicas": rf.min(2), "offsets.topic.num.partitions": 1,
                           "group.initial.rebalance.delay.ms": 0, "log.retention.check.interval.ms": 100,
                           "log.initial.task.delay.ms": 0 },
        "network": { "latency_ms": 1, "jitter_ms": 0 },
        "topics": [ { "name": "bench", "partitions": 6, "replication_factor": rf,
                      "config": { "segment.bytes": SEGMENT_BYTES, "retention.bytes": RETENTION_BYTES } } ],
        "producers": [ { "id": "producer-1",
            "config": { "acks": "all", "enable.idempotence": true, "linger.ms": 5, "batch.size": 16384 },
            "workload": { "topic": "bench", "records": records, "rate_per_sec": 1_000_000,
                          "key": key, "value_bytes": VALUE_BYTES } } ],
        "consumers": consumers,
    })
}

/// The swarm's base scenario: 3 brokers, 3 partitions RF 3, 1,000 records, one group of two;
/// the safe settings of `tests/scenarios/swarm-safe.json`.
pub fn swarm_base() -> Value {
    let consumer = |id: &str| {
        json!({ "id": id, "group": "readers", "topics": ["orders"],
                "config": { "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                            "heartbeat.interval.ms": 1000, "request.timeout.ms": 3000, "max.poll.interval.ms": 10000 } })
    };
    json!({
        "name": "bench swarm",
        "duration_ms": 40_000,
        "brokers": 3,
        "broker_config": { "min.insync.replicas": 2, "replica.lag.time.max.ms": 3000,
                           "replica.socket.timeout.ms": 5000, "log.flush.interval.messages": 1,
                           "broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 500,
                           "offsets.topic.num.partitions": 3, "group.initial.rebalance.delay.ms": 0 },
        "network": { "latency_ms": 2, "jitter_ms": 1 },
        "topics": [ { "name": "orders", "partitions": 3, "replication_factor": 3 } ],
        "producers": [ { "id": "producer-1",
            "config": { "acks": "all", "linger.ms": 5, "request.timeout.ms": 3000, "delivery.timeout.ms": 120000 },
            "workload": { "topic": "orders", "records": SWARM_RECORDS, "rate_per_sec": 100,
                          "key": "order-{i}", "value_bytes": 64 } } ],
        "consumers": [consumer("consumer-1"), consumer("consumer-2")],
    })
}

/// The swarm timing used by workload (d).
pub fn swarm_config() -> SwarmConfig {
    SwarmConfig::default()
}

/// Runs a record workload (a, b or c) with `records` records; `clock` returns seconds.
pub fn run_records(workload: Workload, records: u64, clock: &mut dyn FnMut() -> f64) -> Result<Figures, String> {
    assert!(workload != Workload::Swarm, "the swarm is measured by run_swarm");
    let scenario = scenario::from_value(&scenario_json(workload, records)).map_err(|e| e.to_string())?;
    let mut playback = Playback::new(&scenario, 1);
    let start = clock();
    let mut at = SimTime::ZERO;
    let slice = SimDuration::from_ms(10);
    while !done(&playback, workload, records) {
        at += slice;
        if playback.advance_to(at) != RunStop::Deadline && playback.finished() {
            return Err(format!("{}: the run ended before every record arrived", workload.label()));
        }
    }
    let seconds = (clock() - start).max(1e-9);
    let key_bytes: u64 = match workload {
        Workload::PipelineKeyless => 0,
        _ => {
            let mut digits = [0u8; 20];
            (0..records).map(|i| ("key-".len() + crate::sim::scenario::decimal(i, &mut digits).len()) as u64).sum()
        }
    };
    Ok(figures(workload, records, seconds, key_bytes + records * VALUE_BYTES, Some(playback.sim().steps())))
}

/// Whether the producer has every acknowledgement (a) or the group has read every record.
fn done(playback: &Playback, workload: Workload, records: u64) -> bool {
    let sim = playback.sim();
    let count = sim
        .node_ids()
        .filter_map(|id| match (workload, sim.node(id)) {
            (Workload::ProduceOnly, Some(Node::Producer(p))) => Some(p.acked_count()),
            (Workload::Pipeline | Workload::PipelineKeyless, Some(Node::Consumer(c))) => {
                Some(c.stats().records_consumed)
            }
            _ => None,
        })
        .sum::<u64>();
    count >= records
}

fn figures(workload: Workload, records: u64, seconds: f64, bytes: u64, steps: Option<u64>) -> Figures {
    Figures {
        workload: workload.name(),
        records,
        seconds,
        records_per_sec: records as f64 / seconds,
        mb_per_sec: bytes as f64 / seconds / 1e6,
        ns_per_record: seconds * 1e9 / records as f64,
        steps,
        seeds_per_sec: None,
        peak_heap_bytes: None,
        threads: 1,
        runs: 1,
        seconds_range: (seconds, seconds),
    }
}

/// Runs workload (d) for `seeds` seeds (1, 2, …) on this thread; `clock` returns seconds.
/// Fails if a seed of this safe configuration breaks a rule (that would be a bug).
pub fn run_swarm(seeds: u64, clock: &mut dyn FnMut() -> f64) -> Result<Figures, String> {
    let base = swarm_base();
    let start = clock();
    for seed in 1..=seeds {
        swarm_seed(&base, seed)?;
    }
    Ok(swarm_figures(seeds, clock() - start, 1))
}

/// One seed of workload (d): its fault schedule over `base` (see [`swarm_base`]), run and
/// checked; an error names the seed and the first rule it broke.
pub fn swarm_seed(base: &Value, seed: u64) -> Result<(), String> {
    let config = swarm_config();
    let scenario = swarm::with_faults(base, &swarm::fault_schedule(base, seed, config), config);
    let check = swarm::check(&scenario, seed).map_err(|e| e.to_string())?;
    match check.violations.first() {
        Some(v) => Err(format!("swarm seed {seed}: {}", v.message)),
        None => Ok(()),
    }
}

/// The figures of `seeds` swarm seeds that took `seconds` on `threads` threads.
pub fn swarm_figures(seeds: u64, seconds: f64, threads: u64) -> Figures {
    let seconds = seconds.max(1e-9);
    let records = seeds * SWARM_RECORDS;
    let mut f = figures(Workload::Swarm, records, seconds, records * 64, None);
    f.seeds_per_sec = Some(seeds as f64 / seconds);
    f.threads = threads;
    f
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn run(seconds: f64, peak: u64) -> Figures {
        let mut f = figures(Workload::ProduceOnly, 1_000, seconds, 100_000, Some(7));
        f.peak_heap_bytes = Some(peak);
        f
    }

    #[test]
    fn the_median_of_runs_is_the_middle_time_with_the_range_and_the_largest_peak() {
        let m = Figures::median_of(vec![run(3.0, 10), run(1.0, 30), run(2.0, 20), run(5.0, 5), run(4.0, 1)]);
        assert_eq!((m.seconds, m.runs, m.seconds_range, m.peak_heap_bytes), (3.0, 5, (1.0, 5.0), Some(30)));
        assert_eq!(m.records_per_sec, 1_000.0 / 3.0, "the median run's own figures");
        // An even count takes the faster of the middle two: 2.0 of 1.0, 2.0, 4.0, 8.0.
        let even = Figures::median_of(vec![run(8.0, 1), run(2.0, 1), run(4.0, 1), run(1.0, 1)]);
        assert_eq!((even.seconds, even.seconds_range), (2.0, (1.0, 8.0)));
        let one = Figures::median_of(vec![run(2.5, 9)]);
        assert_eq!((one.runs, one.seconds_range, one.peak_heap_bytes), (1, (2.5, 2.5), Some(9)));
    }
}
