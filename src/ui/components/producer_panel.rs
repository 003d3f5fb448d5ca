//! Producer internals as the data structures they are: per-partition deques of batches filling
//! toward `batch.size` (with the linger countdown), the BufferPool gauge, and each connection's
//! in-flight window.

use crate::sim::{BatchView, ProducerView, RequestView};
use crate::ui::components::cluster::WhySubject;
use crate::ui::num::fixed;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`ProducerPanel`].
#[derive(Properties)]
pub struct ProducerPanelProps {
    /// The producers now.
    pub producers: Rc<Vec<ProducerView>>,
    /// "Why?" asked about a batch.
    pub on_why: Callback<WhySubject>,
}

/// Equal when they share the same snapshot (`Rc::ptr_eq`). The app builds a new snapshot and new
/// callbacks for each render it makes, so a derived `PartialEq` walked two snapshots only to find
/// the callbacks differ; by pointer it answers at once, and no deep `ClusterView` comparison is
/// compiled into the wasm. A cached panel keeps its props, so it still skips its render.
impl PartialEq for ProducerPanelProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.producers, &other.producers) && self.on_why == other.on_why
    }
}

fn kib(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", fixed(bytes as f64 / f64::from(1u32 << 20), 1))
    } else {
        format!("{} KiB", fixed(bytes as f64 / 1024.0, 1))
    }
}

fn batch(p: &ProducerView, b: &BatchView, on_why: &Callback<WhySubject>) -> Html {
    let fill = (f64::from(b.bytes) / f64::from(b.capacity.max(1)) * 100.0).min(100.0);
    let linger_left = p.linger_ms.saturating_sub(b.age_ms);
    let state = if b.attempts > 0 {
        format!("retry #{} (backing off before it is sent again)", b.attempts)
    } else if b.full {
        "full: ready to send".to_string()
    } else if linger_left > 0 {
        format!("lingering: {linger_left} ms left of linger.ms")
    } else {
        "linger.ms passed: ready to send".to_string()
    };
    let title = format!(
        "batch {}: {} records, {} of {} bytes ({}%); {state}. Click: why is it waiting?",
        b.batch_id,
        b.records,
        b.bytes,
        b.capacity,
        fixed(fill, 0)
    );
    html! {
        <span class={classes!("batch", "asks-why", (b.attempts > 0).then_some("retry"), b.full.then_some("full"))} title={title}
            data-testid={format!("batch-{}", b.batch_id)} onclick={{ let (id, batch) = (p.id, b.batch_id); on_why.reform(move |_: MouseEvent| WhySubject::Batch(id, batch)) }}>
            <span class="fill" style={format!("width:{}%", fixed(fill, 1))}></span>
            <span class="count">{ b.records }</span>
        </span>
    }
}

fn producer(p: &ProducerView, on_why: &Callback<WhySubject>) -> Html {
    let used = p.buffer_total_bytes.saturating_sub(p.buffer_available_bytes);
    let used_pct = used as f64 / p.buffer_total_bytes.max(1) as f64 * 100.0;
    let identity = match (p.idempotence, p.producer_id) {
        (true, Some(id)) => format!("idempotent, producer id {id}"),
        (true, None) => "idempotent, waiting for a producer id".to_string(),
        (false, _) => "not idempotent".to_string(),
    };
    html! {
        <div class="producer-internals" data-testid={format!("internals-{}", p.id)}>
            <div class="internals-head">
                <strong>{ p.id.to_string() }</strong>
                <span>{ format!("acks={} · linger.ms={} · batch.size={} · {identity}", p.acks, p.linger_ms, p.batch_size_bytes) }</span>
            </div>
            { send_path(p) }
            <div class="internals-grid">
                <div class="accumulator" data-testid="accumulator" title="RecordAccumulator: one deque of batches per partition, oldest (next to send) on the left">
                    <div class="label">{ "RecordAccumulator" }</div>
                    if p.deques.iter().all(|(_, d)| d.is_empty()) {
                        <div class="muted">{ "no batches waiting" }</div>
                    }
                    { for p.deques.iter().filter(|(_, d)| !d.is_empty()).map(|(part, d)| html! {
                        <div class="deque" data-testid={format!("deque-{part}")}>
                            <span class="part">{ format!("p{part}") }</span>
                            { for d.iter().map(|b| batch(p, b, on_why)) }
                        </div>
                    }) }
                </div>
                <div class="pool" data-testid="buffer-pool" title={format!("BufferPool: buffer.memory {} bytes, {} available, {} send() call(s) blocked waiting", p.buffer_total_bytes, p.buffer_available_bytes, p.pool_waiters)}>
                    <div class="label">{ "BufferPool" }</div>
                    <div class="gauge"><span style={format!("width:{}%", fixed(used_pct, 2))}></span></div>
                    <div class="muted">{ format!("{} of {} in use", kib(used), kib(p.buffer_total_bytes)) }
                        if p.pool_waiters > 0 { <strong class="blocked">{ format!(" · {} blocked (max.block.ms)", p.pool_waiters) }</strong> }
                    </div>
                    <div class="muted" data-testid="pool-detail">{ pool_detail(p) }</div>
                </div>
                <div class="inflight" data-testid="in-flight" title="Each broker connection's in-flight window: max.in.flight.requests.per.connection slots, oldest first">
                    <div class="label">{ format!("In flight (max {} per connection)", p.in_flight_max) }</div>
                    if p.requests.is_empty() { <div class="muted">{ "none" }</div> }
                    { for brokers_with_requests(p).into_iter().map(|broker| {
                        let requests: Vec<&RequestView> = p.requests.iter().filter(|r| r.broker == broker).collect();
                        let free = (p.in_flight_max as usize).saturating_sub(requests.len()).min(10);
                        html! {
                            <div class="window" data-testid={format!("window-broker-{broker}")}>
                                <span class="part">{ format!("broker-{broker}") }</span>
                                { for requests.iter().map(|r| request_slot(r)) }
                                { for (0..free).map(|_| html! { <span class="slot free" title="free slot"></span> }) }
                            </div>
                        }
                    }) }
                </div>
            </div>
        </div>
    }
}

/// The producer internals panel.
#[function_component(ProducerPanel)]
pub fn producer_panel(props: &ProducerPanelProps) -> Html {
    html! {
        <section class="panel producers" data-testid="producer-panel" aria-label="Producer internals">
            <h2>{ "Producer internals" }<span class="hint">{ " batches fill toward batch.size; hover for details" }</span></h2>
            { for props.producers.iter().map(|p| producer(p, &props.on_why)) }
        </section>
    }
}

/// The send path, left to right: the application's send(), interceptors, serializer,
/// partitioner, the accumulator, the Sender, and the callbacks completing.
fn send_path(p: &ProducerView) -> Html {
    let queued: u32 = p.deques.iter().flat_map(|(_, d)| d.iter()).map(|b| b.records).sum();
    let in_flight: u32 = p.requests.iter().flat_map(|r| r.batches.iter()).map(|b| b.2).sum();
    let blocked = p.blocked.as_ref().map(|(what, ms)| format!("blocked on {what} for {ms} ms (max.block.ms)"));
    let stage = |name: &str, detail: String, title: &str| {
        html! { <li title={title.to_string()}><span class="step-name">{ name.to_string() }</span><span class="detail">{ detail }</span></li> }
    };
    let interceptors = p.interceptor_counts.map_or("none configured".to_string(), |(sent, acked, failed)| {
        format!("onSend {sent} · ack {acked} · fail {failed}")
    });
    html! {
        <ol class={classes!("send-path", blocked.is_some().then_some("blocked"))} data-testid="send-path" aria-label="The send path">
            { stage("send()", blocked.clone().unwrap_or_else(|| format!("{} records", p.records_sent)),
                "KafkaProducer.send() on the application thread: waits for metadata and buffer memory up to max.block.ms") }
            { stage("interceptors", interceptors, "ProducerInterceptor.onSend, then onAcknowledgement") }
            { stage("serializer", "key, value → bytes".to_string(), "key.serializer and value.serializer") }
            { stage("partitioner", "murmur2(key) or sticky".to_string(), "the partition: explicit, murmur2(key) % partitions, or the uniform sticky partitioner") }
            { stage("accumulator", format!("{queued} queued"), "RecordAccumulator: appended to the partition's last batch or a new one") }
            { stage("Sender", format!("{in_flight} in flight"), "the Sender thread drains ready batches into Produce requests per broker") }
            { stage("callbacks", format!("{} acked · {} failed", p.records_acked, p.records_failed), "Callback.onCompletion: acknowledged with an offset, or failed for good") }
        </ol>
    }
}

fn brokers_with_requests(p: &ProducerView) -> Vec<u16> {
    let mut brokers: Vec<u16> = p.requests.iter().map(|r| r.broker).collect();
    brokers.dedup();
    brokers
}

/// One used slot of a connection's window: its batches by partition, with sequence ranges.
fn request_slot(r: &RequestView) -> Html {
    let parts: Vec<String> = r
        .batches
        .iter()
        .map(|(tp, seq, records, attempts)| {
            let part = tp.rsplit_once('-').map_or(tp.as_str(), |(_, p)| p);
            let seq = seq.map_or(String::new(), |s| format!(" #{}–{}", s, s + *records as i32 - 1));
            let retry = if *attempts > 0 { format!(" (retry {attempts})") } else { String::new() };
            format!("p{part}{seq}{retry}")
        })
        .collect();
    let retry = r.batches.iter().any(|b| b.3 > 0);
    let title = format!(
        "Produce request {} to broker-{}, sent {} ms ago: {}",
        r.correlation_id,
        r.broker,
        r.age_ms,
        r.batches
            .iter()
            .map(|(tp, seq, n, _)| format!(
                "{tp}: {n} records{}",
                seq.map_or(String::new(), |s| format!(", base sequence {s}"))
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    html! { <span class={classes!("slot", "used", retry.then_some("retry"))} {title}>{ parts.join(" ") }</span> }
}

/// The BufferPool's free memory as Kafka keeps it: a free list of `batch.size` buffers and
/// non-pooled bytes.
fn pool_detail(p: &ProducerView) -> String {
    let pooled = u64::from(p.pool_free_buffers) * u64::from(p.batch_size_bytes);
    let non_pooled = p.buffer_available_bytes.saturating_sub(pooled);
    format!("free list: {} × {} B · non-pooled: {}", p.pool_free_buffers, p.batch_size_bytes, kib(non_pooled))
}
