//! Producer internals as the data structures they are: per-partition deques of batches filling
//! toward `batch.size` (with the linger countdown), the BufferPool gauge, and each connection's
//! in-flight window.

use crate::sim::{BatchView, ProducerView};
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`ProducerPanel`].
#[derive(Properties, PartialEq)]
pub struct ProducerPanelProps {
    /// The producers now.
    pub producers: Rc<Vec<ProducerView>>,
}

fn kib(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn batch(p: &ProducerView, b: &BatchView) -> Html {
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
        "batch {}: {} records, {} of {} bytes ({fill:.0}%); {state}",
        b.batch_id, b.records, b.bytes, b.capacity
    );
    html! {
        <span class={classes!("batch", (b.attempts > 0).then_some("retry"), b.full.then_some("full"))} title={title}>
            <span class="fill" style={format!("width:{fill:.1}%")}></span>
            <span class="count">{ b.records }</span>
        </span>
    }
}

fn producer(p: &ProducerView) -> Html {
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
            <div class="internals-grid">
                <div class="accumulator" data-testid="accumulator" title="RecordAccumulator: one deque of batches per partition, oldest (next to send) on the left">
                    <div class="label">{ "RecordAccumulator" }</div>
                    if p.deques.iter().all(|(_, d)| d.is_empty()) {
                        <div class="muted">{ "no batches waiting" }</div>
                    }
                    { for p.deques.iter().filter(|(_, d)| !d.is_empty()).map(|(part, d)| html! {
                        <div class="deque" data-testid={format!("deque-{part}")}>
                            <span class="part">{ format!("p{part}") }</span>
                            { for d.iter().map(|b| batch(p, b)) }
                        </div>
                    }) }
                </div>
                <div class="pool" data-testid="buffer-pool" title={format!("BufferPool: buffer.memory {} bytes, {} available, {} send() call(s) blocked waiting", p.buffer_total_bytes, p.buffer_available_bytes, p.pool_waiters)}>
                    <div class="label">{ "BufferPool" }</div>
                    <div class="gauge"><span style={format!("width:{used_pct:.2}%")}></span></div>
                    <div class="muted">{ format!("{} of {} in use", kib(used), kib(p.buffer_total_bytes)) }
                        if p.pool_waiters > 0 { <strong class="blocked">{ format!(" · {} blocked", p.pool_waiters) }</strong> }
                    </div>
                </div>
                <div class="inflight" data-testid="in-flight" title="Requests in flight per broker connection (max.in.flight.requests.per.connection)">
                    <div class="label">{ "In flight" }</div>
                    if p.in_flight.is_empty() { <div class="muted">{ "none" }</div> }
                    { for p.in_flight.iter().map(|(broker, n)| html! {
                        <div class="slots">
                            <span class="part">{ format!("broker-{broker}") }</span>
                            { for (0..p.in_flight_max.min(10)).map(|i| html! { <i class={classes!((i < *n).then_some("used"))}></i> }) }
                        </div>
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
            { for props.producers.iter().map(producer) }
        </section>
    }
}
