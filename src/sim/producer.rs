//! A producer client: workload → partitioner → per-partition batches → sender → acks.
//!
//! The walking skeleton's producer already uses Kafka's exact key partitioning and v2 record
//! sizes, keeps per-partition deques of batches that close at `batch.size`, becomes ready on a
//! full batch or `linger.ms`, sends one `ProduceRequest` per leader with at most one batch per
//! partition and at most `max.in.flight.requests.per.connection` requests in flight, honours
//! `acks`, `request.timeout.ms` and `retry.backoff.ms`, and puts failed batches back at the front
//! of their deque. Keyless records stick to one random partition until its batch closes.
//! The exact RecordAccumulator, BufferPool, uniform sticky partitioner, metadata, idempotence and
//! delivery timeouts are the producer issue's work.

use super::config::ProducerConfig;
use super::node::{Ctx, NodeId, Timer};
use super::partitioner::partition_for_key;
use super::protocol::*;
use super::record::{record_size as v2_record_size, BatchSpec};
use super::rng::SimRng;
use super::scenario::Workload;
use super::time::{SimDuration, SimTime};
use super::trace::TraceKind;
use std::collections::{BTreeMap, VecDeque};

/// A batch waiting in the accumulator or in flight.
#[derive(Clone, Debug)]
pub struct PendingBatch {
    /// Producer-local id.
    pub batch_id: u64,
    /// Destination partition.
    pub tp: Tp,
    /// Records so far.
    pub records: Vec<Record>,
    /// Estimated v2 size so far.
    pub size_bytes: u32,
    /// When the batch was created.
    pub created: SimTime,
    /// Closed for appends (the next record did not fit).
    pub closed: bool,
    /// Send attempts so far.
    pub attempts: u32,
    /// Not before this time (retry backoff).
    pub retry_at: SimTime,
    /// The encoded batch, built at its first drain and resent unchanged on retries.
    pub wire: Option<RecordBatch>,
}

#[derive(Clone, Debug)]
struct InFlight {
    broker: u16,
    batches: Vec<PendingBatch>,
}

/// Counters for the run summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStats {
    /// Records handed to `send()`.
    pub records_sent: u64,
    /// Records acknowledged.
    pub records_acked: u64,
    /// Produce attempts that failed.
    pub batch_errors: u64,
    /// Records that failed for good (a non-retriable error).
    pub records_failed: u64,
    /// Requests sent.
    pub requests: u64,
}

/// A producer node.
#[derive(Clone, Debug)]
pub struct Producer {
    config: ProducerConfig,
    workload: Workload,
    topic: TopicName,
    leaders: Vec<u16>,
    rng: SimRng,
    deques: BTreeMap<u32, VecDeque<PendingBatch>>,
    sticky: Option<u32>,
    in_flight: BTreeMap<u64, InFlight>,
    batch_id_next: u64,
    correlation_id_next: u64,
    wakeup_at: Option<SimTime>,
    stats: ProducerStats,
}

impl Producer {
    /// A producer sending `workload` to a topic whose partition leaders are `leaders`.
    pub fn new(config: ProducerConfig, workload: Workload, leaders: Vec<u16>, rng: SimRng) -> Producer {
        assert!(!leaders.is_empty(), "topic without partitions");
        Producer {
            config,
            topic: workload.topic.as_str().into(),
            workload,
            leaders,
            rng,
            deques: BTreeMap::new(),
            sticky: None,
            in_flight: BTreeMap::new(),
            batch_id_next: 0,
            correlation_id_next: 0,
            wakeup_at: None,
            stats: ProducerStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &ProducerStats {
        &self.stats
    }

    /// The accumulator: per-partition deques, head first.
    pub fn deques(&self) -> &BTreeMap<u32, VecDeque<PendingBatch>> {
        &self.deques
    }

    /// Requests in flight per broker.
    pub fn in_flight_per_broker(&self) -> BTreeMap<u16, u32> {
        let mut out = BTreeMap::new();
        for f in self.in_flight.values() {
            *out.entry(f.broker).or_insert(0) += 1;
        }
        out
    }

    /// Current configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Replaces the configuration (a run-time config change).
    pub fn set_config(&mut self, config: ProducerConfig) {
        self.config = config;
    }

    /// Arms the workload.
    pub fn start(&mut self, ctx: &mut Ctx) {
        if self.workload.records > 0 {
            let start = SimTime::from_ms(self.workload.start_ms);
            ctx.set_timer(start.saturating_since(ctx.now), Timer::NextRecord);
        }
    }

    /// Handles a response.
    pub fn handle_message(&mut self, ctx: &mut Ctx, _from: NodeId, msg: Message) {
        if let Message::ProduceResponse { correlation_id, responses } = msg {
            self.on_produce_response(ctx, correlation_id, responses);
        }
    }

    /// Handles a timer.
    pub fn handle_timeout(&mut self, ctx: &mut Ctx, timer: Timer) {
        match timer {
            Timer::NextRecord => self.on_next_record(ctx),
            Timer::SenderWakeup => {
                if self.wakeup_at.is_some_and(|at| at <= ctx.now) {
                    self.wakeup_at = None;
                }
                self.run_sender(ctx);
            }
            Timer::RequestTimeout { correlation_id } => {
                if let Some(flight) = self.in_flight.remove(&correlation_id) {
                    for batch in flight.batches {
                        self.fail_batch(ctx, batch, ErrorCode::RequestTimedOut);
                    }
                    self.run_sender(ctx);
                }
            }
            _ => {}
        }
    }

    // ----- send() path -----

    fn on_next_record(&mut self, ctx: &mut Ctx) {
        let index = self.stats.records_sent;
        let key = self.workload.key.as_ref().map(|k| k.key(index).into_bytes());
        let value = value_bytes(index, self.workload.value_bytes);
        let record = Record { timestamp_ms: ctx.now.as_ms() as i64, key, value: Some(value), headers: vec![] };
        let partition = self.partition(&record);
        self.stats.records_sent += 1;
        self.accumulate(ctx, partition, record);
        if self.stats.records_sent < self.workload.records {
            let interval = SimDuration::from_ns(1_000_000_000 / self.workload.rate_per_sec.max(1));
            ctx.set_timer(interval, Timer::NextRecord);
        }
        self.run_sender(ctx);
    }

    fn partition(&mut self, record: &Record) -> u32 {
        let n = self.leaders.len() as u32;
        match &record.key {
            Some(key) => partition_for_key(key, n),
            None => *self.sticky.get_or_insert_with(|| self.rng.below(u64::from(n)) as u32),
        }
    }

    fn accumulate(&mut self, ctx: &mut Ctx, partition: u32, record: Record) {
        let tp = Tp::new(&self.topic, partition);
        let limit = self.config.batch_size_bytes;
        let deque = self.deques.entry(partition).or_default();
        let fits = deque
            .back()
            .is_some_and(|b| !b.closed && b.size_bytes + record_size(b, &record) <= limit.max(b.size_bytes));
        if !fits {
            if let Some(last) = deque.back_mut() {
                last.closed = true;
            }
            deque.push_back(PendingBatch {
                batch_id: self.batch_id_next,
                tp: tp.clone(),
                records: Vec::new(),
                size_bytes: 61,
                created: ctx.now,
                closed: false,
                attempts: 0,
                retry_at: SimTime::ZERO,
                wire: None,
            });
            self.batch_id_next += 1;
            if self.sticky == Some(partition) && record.key.is_none() && deque.len() > 1 {
                self.sticky = None;
            }
        }
        let batch = deque.back_mut().expect("a batch was just ensured");
        batch.size_bytes += record_size(batch, &record);
        batch.records.push(record);
        if batch.size_bytes >= limit {
            batch.closed = true;
        }
        let (batch_id, batch_records, batch_bytes) = (batch.batch_id, batch.records.len() as u32, batch.size_bytes);
        ctx.trace(TraceKind::RecordAccumulated { tp, batch_id, batch_records, batch_bytes });
    }

    // ----- sender -----

    fn is_ready(&self, deque: &VecDeque<PendingBatch>, now: SimTime) -> bool {
        let Some(head) = deque.front() else {
            return false;
        };
        if head.attempts > 0 {
            return now >= head.retry_at;
        }
        deque.len() > 1 || head.closed || now >= head.created + self.config.linger
    }

    fn next_ready_time(&self, now: SimTime) -> Option<SimTime> {
        self.deques
            .values()
            .filter_map(|d| d.front())
            .map(|h| if h.attempts > 0 { h.retry_at } else { h.created + self.config.linger })
            .filter(|t| *t > now)
            .min()
    }

    /// Drains ready partitions into one request per leader, within the in-flight cap.
    fn run_sender(&mut self, ctx: &mut Ctx) {
        let mut per_broker: BTreeMap<u16, Vec<u32>> = BTreeMap::new();
        for (p, deque) in &self.deques {
            if self.is_ready(deque, ctx.now) {
                per_broker.entry(self.leaders[*p as usize]).or_default().push(*p);
            }
        }
        let in_flight = self.in_flight_per_broker();
        for (broker, partitions) in per_broker {
            if in_flight.get(&broker).copied().unwrap_or(0) >= self.config.in_flight_requests_max {
                continue;
            }
            self.send_request(ctx, broker, &partitions);
        }
        self.arm_wakeup(ctx);
    }

    fn arm_wakeup(&mut self, ctx: &mut Ctx) {
        let Some(at) = self.next_ready_time(ctx.now) else {
            return;
        };
        if self.wakeup_at.is_none_or(|armed| at < armed || armed <= ctx.now) {
            self.wakeup_at = Some(at);
            ctx.set_timer(at - ctx.now, Timer::SenderWakeup);
        }
    }

    fn send_request(&mut self, ctx: &mut Ctx, broker: u16, partitions: &[u32]) {
        let mut batches = Vec::new();
        for p in partitions {
            let mut batch =
                self.deques.get_mut(p).and_then(VecDeque::pop_front).expect("ready partition has a head batch");
            batch.closed = true;
            batch.attempts += 1;
            if batch.wire.is_none() {
                batch.wire = Some(RecordBatch::build(&BatchSpec::default(), &batch.records));
            }
            if self.sticky == Some(*p) && batch.records.iter().all(|r| r.key.is_none()) {
                self.sticky = None;
            }
            batches.push(batch);
        }
        let correlation_id = self.correlation_id_next;
        self.correlation_id_next += 1;
        self.stats.requests += 1;
        let request = ProduceRequest {
            correlation_id,
            acks: self.config.acks,
            timeout: self.config.request_timeout,
            batches: batches.iter().map(|b| (b.tp.clone(), b.wire.clone().expect("built at drain"))).collect(),
        };
        ctx.send(NodeId::broker(broker), Message::ProduceRequest(request));
        if self.config.acks == Acks::None {
            for batch in batches {
                self.ack_batch(ctx, &batch, -1);
            }
            return;
        }
        ctx.set_timer(self.config.request_timeout, Timer::RequestTimeout { correlation_id });
        self.in_flight.insert(correlation_id, InFlight { broker, batches });
    }

    fn on_produce_response(&mut self, ctx: &mut Ctx, correlation_id: u64, responses: Vec<ProducePartitionResponse>) {
        let Some(flight) = self.in_flight.remove(&correlation_id) else {
            return;
        };
        for batch in flight.batches {
            let resp = responses.iter().find(|r| r.tp == batch.tp);
            match resp {
                Some(r) if r.error == ErrorCode::None => self.ack_batch(ctx, &batch, r.base_offset),
                Some(r) => self.fail_batch(ctx, batch, r.error),
                None => self.fail_batch(ctx, batch, ErrorCode::UnknownTopicOrPartition),
            }
        }
        self.run_sender(ctx);
    }

    fn ack_batch(&mut self, ctx: &mut Ctx, batch: &PendingBatch, base_offset: i64) {
        let records = batch.records.len() as u32;
        self.stats.records_acked += u64::from(records);
        let latency = ctx.now.saturating_since(batch.created);
        ctx.trace(TraceKind::ProduceAcked {
            tp: batch.tp.clone(),
            batch_id: batch.batch_id,
            base_offset,
            records,
            latency,
        });
    }

    /// Puts a failed batch back at the front of its deque after `retry.backoff.ms`, or drops it
    /// (its records fail) when the error is not retriable.
    fn fail_batch(&mut self, ctx: &mut Ctx, mut batch: PendingBatch, error: ErrorCode) {
        self.stats.batch_errors += 1;
        let will_retry = error.is_retriable();
        ctx.trace(TraceKind::ProduceFailed { tp: batch.tp.clone(), batch_id: batch.batch_id, error, will_retry });
        if !will_retry {
            self.stats.records_failed += batch.records.len() as u64;
            return;
        }
        batch.retry_at = ctx.now + self.config.retry_backoff;
        self.deques.entry(batch.tp.partition).or_default().push_front(batch);
    }
}

fn record_size(batch: &PendingBatch, record: &Record) -> u32 {
    let base_ts = batch.records.first().map_or(record.timestamp_ms, |r| r.timestamp_ms);
    let delta = record.timestamp_ms - base_ts;
    v2_record_size(batch.records.len() as i32, delta, record.key.as_deref(), record.value.as_deref(), &record.headers)
        as u32
}

/// A deterministic value of `len` bytes for record `index`: its decimal index, then dots.
pub fn value_bytes(index: u64, len: u32) -> Vec<u8> {
    let mut value = index.to_string().into_bytes();
    value.resize(len as usize, b'.');
    value
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn values_are_deterministic_and_sized() {
        assert_eq!(value_bytes(42, 5), b"42...");
        assert_eq!(value_bytes(12345, 3), b"123");
        assert!(value_bytes(1, 0).is_empty());
    }
}
