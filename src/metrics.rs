//! Metrics over simulated time for the charts, under Kafka's metric names, computed from the
//! trace alone: every value is folded from events into fixed time buckets, so the series is the
//! same however the run was played (frame by frame, stepped, or replayed after a seek).

use crate::sim::protocol::Tp;
use crate::sim::scenario::Scenario;
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::trace::{BlockReason, TraceEvent, TraceKind};
use crate::sim::vec_map::VecMap;

/// Buckets over the scenario's duration.
pub const BUCKETS: usize = 200;

/// One chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricSpec {
    /// Kafka's name.
    pub name: &'static str,
    /// Who reports it in Kafka.
    pub group: &'static str,
    /// Unit shown after values.
    pub unit: &'static str,
    /// What it measures (the tooltip).
    pub help: &'static str,
    /// A gauge holds its last value through buckets without events; a rate or an average
    /// is per bucket.
    pub gauge: bool,
}

/// The charted metrics, in display order.
pub const METRICS: [MetricSpec; 6] = [
    MetricSpec {
        name: "record-send-rate",
        group: "producer",
        unit: "/s",
        help: "records sent in Produce requests per second (every producer)",
        gauge: false,
    },
    MetricSpec {
        name: "request-latency-avg",
        group: "producer",
        unit: "ms",
        help: "mean time from a Produce request's send to its response",
        gauge: false,
    },
    MetricSpec {
        name: "bufferpool-wait-ratio",
        group: "producer",
        unit: "",
        help: "fraction of time send() callers were blocked waiting for BufferPool memory",
        gauge: false,
    },
    MetricSpec {
        name: "UnderReplicatedPartitions",
        group: "broker",
        unit: "",
        help: "partitions whose committed ISR is smaller than their replica set (kafka.server:type=ReplicaManager)",
        gauge: true,
    },
    MetricSpec {
        name: "records-consumed-rate",
        group: "consumer",
        unit: "/s",
        help: "records returned by poll() per second (every consumer)",
        gauge: false,
    },
    MetricSpec {
        name: "records-lag-max",
        group: "consumer",
        unit: "",
        help: "the largest lag of any partition of the scenario's topics: leader high watermark minus the next offset consumers read",
        gauge: true,
    },
];

/// The series, folded from trace events.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    bucket: SimDuration,
    /// Per metric (index in [`METRICS`]): a value per bucket, `None` where nothing happened.
    values: [Vec<Option<f64>>; METRICS.len()],
    sent: Vec<u64>,
    latency: Vec<(u64, u32)>,
    wait_ns: Vec<u64>,
    consumed: Vec<u64>,
    replication_factor: VecMap<Tp, usize>,
    isr_size: VecMap<Tp, usize>,
    high_watermark: VecMap<Tp, i64>,
    next_read: VecMap<Tp, i64>,
}

impl Metrics {
    /// Empty series for `scenario`.
    pub fn new(scenario: &Scenario) -> Metrics {
        let bucket = SimDuration::from_ns((scenario.duration_ms * 1_000_000 / BUCKETS as u64).max(1));
        let mut replication_factor = VecMap::new();
        for t in &scenario.topics {
            let topic = crate::sim::protocol::topic_name(&t.name);
            for p in 0..t.partitions {
                let tp = Tp::new(&topic, p);
                replication_factor.insert(tp, usize::from(t.replication_factor));
            }
        }
        Metrics {
            bucket,
            values: std::array::from_fn(|_| vec![None; BUCKETS]),
            sent: vec![0; BUCKETS],
            latency: vec![(0, 0); BUCKETS],
            wait_ns: vec![0; BUCKETS],
            consumed: vec![0; BUCKETS],
            replication_factor,
            isr_size: VecMap::new(),
            high_watermark: VecMap::new(),
            next_read: VecMap::new(),
        }
    }

    /// The width of a bucket.
    pub fn bucket(&self) -> SimDuration {
        self.bucket
    }

    fn index(&self, at: SimTime) -> usize {
        ((at.as_ns() / self.bucket.as_ns()) as usize).min(BUCKETS - 1)
    }

    /// Folds one event in. Most events (a record joining its batch, messages) feed no series
    /// and return at once: the bucket is found only for those that do.
    pub fn observe(&mut self, event: &TraceEvent) {
        let at = event.at;
        match &event.kind {
            TraceKind::BatchDrained { records, .. } => {
                let i = self.index(at);
                self.sent[i] += u64::from(*records);
                self.values[0][i] = Some(self.sent[i] as f64 / self.bucket_seconds());
            }
            TraceKind::ProduceAcked { latency, .. } => {
                let i = self.index(at);
                let (total, n) = &mut self.latency[i];
                *total += latency.as_ns();
                *n += 1;
                self.values[1][i] = Some(*total as f64 / f64::from(*n) / 1e6);
            }
            TraceKind::CallerUnblocked { reason: BlockReason::BufferMemory, waited, .. } => {
                self.spread_wait(at, *waited)
            }
            TraceKind::IsrShrunk { tp, isr, .. } | TraceKind::IsrExpanded { tp, isr, .. } => {
                self.isr_size.insert(tp.clone(), isr.len());
                let under = self
                    .isr_size
                    .iter()
                    .filter(|(tp, n)| self.replication_factor.get(*tp).is_some_and(|rf| *n < rf))
                    .count();
                let i = self.index(at);
                self.values[3][i] = Some(under as f64);
            }
            TraceKind::RecordsConsumed { tp, first_offset, count } => {
                let i = self.index(at);
                self.consumed[i] += u64::from(*count);
                self.values[4][i] = Some(self.consumed[i] as f64 / self.bucket_seconds());
                let next = self.next_read.entry(tp.clone()).or_default();
                *next = (*next).max(first_offset + i64::from(*count));
                self.values[5][i] = Some(self.lag_max());
            }
            TraceKind::HighWatermarkAdvanced { tp, to, .. } => {
                if !self.replication_factor.contains_key(tp) {
                    return;
                }
                let hw = self.high_watermark.entry(tp.clone()).or_default();
                *hw = (*hw).max(*to);
                let (i, lag) = (self.index(at), self.lag_max());
                self.values[5][i] = Some(lag);
            }
            _ => {}
        }
    }

    fn bucket_seconds(&self) -> f64 {
        self.bucket.as_ns() as f64 / 1e9
    }

    fn lag_max(&self) -> f64 {
        self.high_watermark
            .iter()
            .filter(|(tp, _)| self.replication_factor.contains_key(*tp))
            .map(|(tp, hw)| hw - self.next_read.get(tp).copied().unwrap_or(0))
            .max()
            .unwrap_or(0)
            .max(0) as f64
    }

    /// A wait that ended at `end` and lasted `waited`, spread over the buckets it covered.
    fn spread_wait(&mut self, end: SimTime, waited: SimDuration) {
        let (mut from, to) = (end.as_ns().saturating_sub(waited.as_ns()), end.as_ns());
        let width = self.bucket.as_ns();
        while from < to {
            let i = self.index(SimTime::from_ns(from));
            let bucket_end = ((from / width) + 1) * width;
            let part = to.min(bucket_end) - from;
            self.wait_ns[i] += part;
            self.values[2][i] = Some(self.wait_ns[i] as f64 / width as f64);
            from += part;
            if i == BUCKETS - 1 {
                break;
            }
        }
    }

    /// The series of metric `index` up to `now`: gauges hold their last value, rates and
    /// averages are 0 in a quiet bucket. Buckets after `now` are `None`.
    pub fn series(&self, index: usize, now: SimTime) -> Vec<Option<f64>> {
        let last = self.index(now);
        let gauge = METRICS[index].gauge;
        let mut held = 0.0;
        (0..BUCKETS)
            .map(|i| {
                if i > last {
                    return None;
                }
                match self.values[index][i] {
                    Some(v) => {
                        held = v;
                        Some(v)
                    }
                    None if gauge => Some(held),
                    None => Some(0.0),
                }
            })
            .collect()
    }
}

// The tests load built-in scenarios (the embedded library).
#[cfg(all(test, feature = "embedded-library"))]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::scenario::{parse_json, BUILT_IN};
    use crate::sim::Sim;

    fn fold(id: &str, until_ms: u64) -> (Metrics, Sim) {
        let s = parse_json(BUILT_IN.iter().find(|(i, _)| *i == id).unwrap().1).unwrap();
        let mut sim = Sim::new(&s, s.seed);
        let mut m = Metrics::new(&s);
        while sim.now() < SimTime::from_ms(until_ms) {
            let next = sim.now() + SimDuration::from_ms(37);
            sim.run_until(next.min(SimTime::from_ms(until_ms)), u64::MAX);
            sim.drain_trace().iter().for_each(|e| m.observe(e));
        }
        (m, sim)
    }

    fn index(name: &str) -> usize {
        METRICS.iter().position(|m| m.name == name).unwrap()
    }

    #[test]
    fn sent_and_consumed_rates_add_up_to_the_records() {
        let (m, sim) = fold("hello", 10_000);
        let seconds = m.bucket().as_ns() as f64 / 1e9;
        let total = |name: &str| -> f64 { m.series(index(name), sim.now()).iter().flatten().sum::<f64>() * seconds };
        let view = sim.view();
        assert!((total("record-send-rate") - view.producers[0].records_acked as f64).abs() < 1e-6);
        assert!((total("records-consumed-rate") - view.consumers[0].records_consumed as f64).abs() < 1e-6);
        // Links take 10 ± 4 ms, the followers fetch then report: a Produce takes at least two hops.
        let latency: Vec<f64> =
            m.series(index("request-latency-avg"), sim.now()).into_iter().flatten().filter(|v| *v > 0.0).collect();
        assert!(latency.iter().all(|v| *v >= 12.0 && *v < 200.0), "{latency:?}");
        assert_eq!(m.series(index("records-lag-max"), sim.now()).last().unwrap(), &Some(0.0), "all read at the end");
    }

    #[test]
    fn a_slow_follower_shows_as_an_under_replicated_partition_then_recovers() {
        let (m, sim) = fold("slow-follower", 12_000);
        let urp = m.series(index("UnderReplicatedPartitions"), sim.now());
        let at = |ms: u64| urp[(ms * 1_000_000 / m.bucket().as_ns()) as usize].unwrap();
        assert_eq!(at(5_000), 0.0);
        assert!(at(7_000) >= 1.0, "after the shrink at ~6 s: {}", at(7_000));
        assert_eq!(at(11_500), 0.0, "expanded again after 9 s");
        assert_eq!(m.series(index("UnderReplicatedPartitions"), SimTime::from_ms(100))[5], None, "nothing after now");
    }

    #[test]
    fn blocked_senders_show_as_bufferpool_wait() {
        let (m, sim) = fold("bufferpool-exhaustion", 8_000);
        let wait = m.series(index("bufferpool-wait-ratio"), sim.now());
        assert!(wait.iter().flatten().all(|v| (0.0..=1.0 + 1e-9).contains(v)), "a ratio of each bucket's time");
        assert!(wait.iter().flatten().any(|v| *v > 0.5), "blocked most of some buckets while the link is cut");
    }
}
