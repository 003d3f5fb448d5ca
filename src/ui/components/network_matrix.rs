//! The network matrix: every directed link between the cluster's nodes, cut, slowed or healed
//! one cell at a time (asymmetric partitions are one click each). Pairs that never exchange
//! messages ([`link_exists`]) are inert cells.

use crate::sim::net::{link_exists, LinkConfig};
use crate::sim::node::NodeId;
use crate::sim::scenario::Action;
use crate::sim::time::SimDuration;
use crate::sim::ClusterView;
use crate::ui::components::cluster::SLOW_EXTRA_MS;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`NetworkMatrix`].
#[derive(Properties)]
pub struct NetworkMatrixProps {
    /// The cluster now.
    pub view: Rc<ClusterView>,
    /// The network's default link.
    pub default_link: LinkConfig,
    /// A link change (recorded into the run like any fault).
    pub on_fault: Callback<Action>,
}

/// Equal when they share the same snapshot (`Rc::ptr_eq`). The app builds a new snapshot and new
/// callbacks for each render it makes, so a derived `PartialEq` walked two snapshots only to find
/// the callbacks differ; by pointer it answers at once, and no deep `ClusterView` comparison is
/// compiled into the wasm. A cached panel keeps its props, so it still skips its render.
impl PartialEq for NetworkMatrixProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.view, &other.view)
            && self.default_link == other.default_link
            && self.on_fault == other.on_fault
    }
}

/// What a click on a healthy cell does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Cut,
    Slow,
}

/// Every node that sends or receives, in drawing order.
fn nodes(view: &ClusterView) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = view.producers.iter().map(|p| p.id).collect();
    out.extend(view.brokers.iter().map(|b| b.id));
    out.extend(view.controller.iter().map(|c| c.id));
    out.extend(view.consumers.iter().map(|c| c.id));
    out
}

/// The matrix.
#[function_component(NetworkMatrix)]
pub fn network_matrix(props: &NetworkMatrixProps) -> Html {
    let mode = use_state(|| Mode::Cut);
    let (open, on_fold) = super::use_fold(false);
    let view = &props.view;
    let nodes = nodes(view);
    let slow =
        LinkConfig { latency: props.default_link.latency + SimDuration::from_ms(SLOW_EXTRA_MS), ..props.default_link };
    let cell = |from: NodeId, to: NodeId| -> Html {
        if !link_exists(from, to) {
            // A node and itself, two clients, or a client and the controller: nothing travels
            // here to cut or slow.
            return html! { <td class="self" aria-hidden="true">{ "·" }</td> };
        }
        let cut = view.cut_links.contains(&(from, to));
        let latency = view.degraded_links.iter().find(|(a, b, _)| (*a, *b) == (from, to)).map(|l| l.2);
        let (class, text, action, what) = match (cut, latency) {
            (true, _) => ("cut", "✕".to_string(), Action::HealLink { from, to, both: false }, "cut; click to heal"),
            (false, Some(ms)) => {
                ("slow", format!("{ms}"), Action::HealLink { from, to, both: false }, "slowed; click to heal")
            }
            (false, None) => match *mode {
                Mode::Cut => ("ok", String::new(), Action::CutLink { from, to, both: false }, "healthy; click to cut"),
                Mode::Slow => (
                    "ok",
                    String::new(),
                    Action::SetLink { from, to, both: false, link: slow },
                    "healthy; click to slow",
                ),
            },
        };
        let onclick = props.on_fault.reform(move |_: MouseEvent| action.clone());
        let label = format!("{from} → {to}: {what}");
        html! {
            <td>
                <button class={classes!("cell", class)} data-testid={format!("net-{from}-{to}")} title={label.clone()}
                    aria-label={label} {onclick}>{ text }</button>
            </td>
        }
    };
    let set_mode = |m: Mode| {
        let mode = mode.clone();
        Callback::from(move |_: Event| mode.set(m))
    };
    html! {
        <details class="panel network" data-testid="network-matrix" {open} ontoggle={on_fold}>
            <summary><h2>{ "Network" }<span class="hint">{ " · per-link control: rows send, columns receive" }</span></h2></summary>
            if open {
            <div class="mode" role="radiogroup" aria-label="A click on a healthy link">
                <label><input type="radio" name="net-mode" checked={*mode == Mode::Cut} onchange={set_mode(Mode::Cut)}
                    data-testid="net-mode-cut" />{ " cut it" }</label>
                <label><input type="radio" name="net-mode" checked={*mode == Mode::Slow} onchange={set_mode(Mode::Slow)}
                    data-testid="net-mode-slow" />{ format!(" slow it (+{SLOW_EXTRA_MS} ms)") }</label>
                <span class="hint">{ "a cut or slowed link heals on click; ✕ cut, a number is its latency in ms" }</span>
            </div>
            <table>
                <thead><tr><th scope="col">{ "from \\ to" }</th>{ for nodes.iter().map(|n| html! { <th scope="col">{ short(*n) }</th> }) }</tr></thead>
                <tbody>
                    { for nodes.iter().map(|from| html! {
                        <tr><th scope="row">{ from.to_string() }</th>{ for nodes.iter().map(|to| cell(*from, *to)) }</tr>
                    }) }
                </tbody>
            </table>
            }
        </details>
    }
}

/// A compact column header: `b1`, `p1`, `c2`, `ctl`.
fn short(id: NodeId) -> String {
    let name = id.to_string();
    match name.split_once('-') {
        Some(("controller", _)) => "ctl".to_string(),
        Some((kind, n)) => format!("{}{n}", &kind[..1]),
        None => name,
    }
}
