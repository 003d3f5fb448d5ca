//! Metric charts over simulated time, under Kafka's metric names (`crate::metrics`).

use crate::metrics::{MetricSpec, BUCKETS};
use crate::ui::num::{fixed, num, trimmed};
use std::fmt::Write;
use std::rc::Rc;
use yew::prelude::*;

/// One chart's data.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// The metric.
    pub spec: MetricSpec,
    /// A value per bucket up to now, `None` after.
    pub values: Vec<Option<f64>>,
}

/// Props of [`MetricsPanel`].
#[derive(Properties, PartialEq)]
pub struct MetricsPanelProps {
    /// The charts.
    pub charts: Rc<Vec<Chart>>,
    /// The scenario's duration, ms (the x axis).
    pub duration_ms: u64,
}

const W: f64 = 240.0;
const H: f64 = 56.0;

/// The panel.
#[function_component(MetricsPanel)]
pub fn metrics_panel(props: &MetricsPanelProps) -> Html {
    let (open, on_fold) = super::use_fold(true);
    html! {
        <details class="panel metrics" data-testid="metrics-panel" {open} ontoggle={on_fold}>
            <summary><h2>{ "Metrics" }<span class="hint">{ format!(" · Kafka's metric names over simulated time (0 – {} ms)", props.duration_ms) }</span></h2></summary>
            if open {
                <div class="charts">{ for props.charts.iter().map(chart) }</div>
            }
        </details>
    }
}

fn format_value(v: f64, unit: &str) -> String {
    let number = if v == 0.0 {
        "0".to_string()
    } else if v.abs() >= 100.0 {
        fixed(v, 0)
    } else if v.abs() >= 1.0 {
        fixed(v, 1)
    } else {
        fixed(v, 2)
    };
    format!("{number}{}", if unit.is_empty() || unit.starts_with('/') { unit.to_string() } else { format!(" {unit}") })
}

fn chart(c: &Chart) -> Html {
    let points: Vec<(usize, f64)> = c.values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v))).collect();
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let scale = if max > 0.0 { (H - 6.0) / max } else { 0.0 };
    let x = |i: usize| (i as f64 + 0.5) * W / BUCKETS as f64;
    let y = |v: f64| H - 2.0 - v * scale;
    let mut line = String::new();
    for (n, (i, v)) in points.iter().enumerate() {
        let _ = write!(line, "{}{},{}", if n == 0 { "M" } else { " L" }, fixed(x(*i), 1), fixed(y(*v), 1));
    }
    let area = match (points.first(), points.last()) {
        (Some((first, _)), Some((last, _))) => {
            let (last, first, h) = (fixed(x(*last), 1), fixed(x(*first), 1), num(H));
            format!("{line} L{last},{h} L{first},{h} Z")
        }
        _ => String::new(),
    };
    let now = points.last().map(|(_, v)| *v);
    let now_x = points.last().map(|(i, _)| x(*i));
    let testid = format!("metric-{}", c.spec.name);
    html! {
        <figure class="chart" data-testid={testid} data-now={now.map(|v| trimmed(v, 6)).unwrap_or_default()}>
            <figcaption>
                <span class="name" title={c.spec.help}>{ c.spec.name }</span>
                <span class="group">{ c.spec.group }</span>
                <span class="value">{ now.map(|v| format_value(v, c.spec.unit)).unwrap_or_else(|| "–".into()) }</span>
            </figcaption>
            <svg viewBox={format!("0 0 {} {}", num(W), num(H))} role="img" aria-label={format!("{} over time; now {}", c.spec.name, now.map(|v| format_value(v, c.spec.unit)).unwrap_or_default())}>
                <title>{ format!("{}: {} (max {})", c.spec.name, c.spec.help, format_value(max, c.spec.unit)) }</title>
                <path class="area" d={area} />
                <path class="line" d={line} />
                { for now_x.map(|nx| html! { <line class="now" x1={num(nx)} x2={num(nx)} y1="0" y2={num(H)} /> }) }
                <text class="max" x="2" y="9">{ format_value(max, c.spec.unit) }</text>
            </svg>
        </figure>
    }
}
