//! The cluster drawing: clients, broker cards with partition logs (LEO and HW), and messages
//! travelling on the links.

use crate::playback::Flight;
use crate::sim::collections::CollectMap;
use crate::sim::net::LinkConfig;
use crate::sim::node::{NodeId, NodeKind};
use crate::sim::scenario::{Action, CrashKind};
use crate::sim::time::SimDuration;
use crate::sim::vec_map::VecMap;
use crate::sim::{BrokerView, ClusterView, ConsumerView, ControllerView, ProducerView};
use crate::ui::layout::*;
use crate::ui::num::{fixed, num};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Props of [`Cluster`].
#[derive(Properties)]
pub struct ClusterProps {
    /// The cluster now.
    pub view: Rc<ClusterView>,
    /// Messages in flight with their progress in `[0, 1]`.
    pub flights: Rc<Vec<(Flight, f64)>>,
    /// A fault injected from the canvas (right-click a broker or a link).
    pub on_fault: Callback<Action>,
    /// The network's default link (a slowed link is this plus [`SLOW_EXTRA_MS`]).
    pub default_link: LinkConfig,
    /// "Why?" asked about a high watermark or a consumer.
    pub on_why: Callback<WhySubject>,
}

/// Equal when they share the same snapshot (`Rc::ptr_eq`). The app builds a new snapshot and new
/// callbacks for each render it makes, so a derived `PartialEq` walked two snapshots only to find
/// the callbacks differ; by pointer it answers at once, and no deep `ClusterView` comparison is
/// compiled into the wasm. A cached panel keeps its props, so it still skips its render.
impl PartialEq for ClusterProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.view, &other.view)
            && Rc::ptr_eq(&self.flights, &other.flights)
            && self.on_fault == other.on_fault
            && self.default_link == other.default_link
            && self.on_why == other.on_why
    }
}

/// What a "Why?" is about.
#[derive(Clone, Debug, PartialEq)]
pub enum WhySubject {
    /// The high watermark of a partition (`topic-partition`) on a broker.
    HighWatermark(NodeId, String),
    /// A consumer's progress.
    Consumer(NodeId),
    /// A producer's batch (by id) waiting in its accumulator.
    Batch(NodeId, u64),
}

/// Latency a "slow" link gets on top of the default, ms.
pub const SLOW_EXTRA_MS: u64 = 200;

/// Which context menu is open.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Menu {
    Broker(NodeId),
    /// A link between two nodes, and where it was clicked (canvas units).
    Link(NodeId, NodeId, (f64, f64)),
}

/// The SVG canvas.
#[function_component(Cluster)]
pub fn cluster(props: &ClusterProps) -> Html {
    let view = &props.view;
    let pos = positions(view);
    let isr = committed_isr(view);
    let menu = use_state(|| None::<Menu>);
    let open_menu = {
        let menu = menu.clone();
        Callback::from(move |id: NodeId| menu.set(Some(Menu::Broker(id))))
    };
    // Touch: a long press opens a broker's menu, as a right-click does.
    let press: Rc<RefCell<Option<gloo::timers::callback::Timeout>>> = use_mut_ref(|| None);
    // Opened from the keyboard: focus its first row.
    {
        let open = menu.is_some();
        use_effect_with(open, move |open| {
            if *open {
                let first = gloo::utils::document().query_selector(".fault-menu .menu-item").ok().flatten();
                if let Some(el) = first.and_then(|e| e.dyn_into::<web_sys::SvgElement>().ok()) {
                    let _ = el.focus();
                }
            }
        });
    }
    let broker_input = BrokerInput { open_menu: open_menu.clone(), press: press.clone(), on_why: props.on_why.clone() };
    let open_link_menu = {
        let menu = menu.clone();
        Callback::from(move |(e, a, b, at): (MouseEvent, NodeId, NodeId, (f64, f64))| {
            e.prevent_default();
            menu.set(Some(Menu::Link(a, b, at)));
        })
    };
    let open = match *menu {
        Some(Menu::Broker(id)) => view.brokers.iter().find(|b| b.id == id).map(|b| {
            let (testid, items) = broker_menu(b);
            let (cx, cy) = pos[&b.id];
            context_menu(&testid, (cx, cy + 8.0), items, &menu, &props.on_fault)
        }),
        Some(Menu::Link(a, b, at)) => {
            let (testid, items) = link_menu(view, a, b, props.default_link);
            Some(context_menu(&testid, at, items, &menu, &props.on_fault))
        }
        None => None,
    };
    let leo_max =
        view.brokers.iter().flat_map(|b| b.replicas.iter()).map(|r| r.log_end_offset).max().unwrap_or(0).max(1);
    html! {
        <svg xmlns="http://www.w3.org/2000/svg" data-testid="cluster" class="cluster" viewBox={format!("0 0 {} {}", num(WIDTH), num(HEIGHT))} role="img"
            aria-label="Cluster: producers on the left, brokers in the middle, consumers on the right; dots are messages in flight">
            <g class="links">{ links(view, &pos, &open_link_menu) }</g>
            <g class="nodes">
                { for view.producers.iter().map(|p| producer(p, pos[&p.id])) }
                { for view.consumers.iter().map(|c| consumer(view, c, pos[&c.id], &props.on_why)) }
                { for view.brokers.iter().map(|b| broker(view, b, pos[&b.id], leo_max, &isr, &broker_input)) }
                { for view.controller.iter().map(|c| controller(c, pos[&c.id])) }
            </g>
            <g class="groups">{ groups(view) }</g>
            <g class="flights">{ for props.flights.iter().map(|(f, t)| flight(view, f, *t, &pos)) }</g>
            { for open }
        </svg>
    }
}

type LinkMenuOpener = Callback<(MouseEvent, NodeId, NodeId, (f64, f64))>;

fn links(view: &ClusterView, pos: &VecMap<NodeId, (f64, f64)>, open_menu: &LinkMenuOpener) -> Html {
    let brokers: Vec<NodeId> = view.brokers.iter().map(|b| b.id).collect();
    let clients = view.producers.iter().map(|p| p.id).chain(view.consumers.iter().map(|c| c.id));
    let mut pairs: Vec<(NodeId, NodeId)> = clients.flat_map(|c| brokers.iter().map(move |b| (c, *b))).collect();
    for (i, a) in brokers.iter().enumerate() {
        pairs.extend(brokers[i + 1..].iter().map(|b| (*a, *b)));
    }
    if let Some(c) = &view.controller {
        pairs.extend(brokers.iter().map(|b| (c.id, *b)));
    }
    html! {
        { for pairs.into_iter().map(|(a, b)| {
            let ((x1, y1), (x2, y2)) = (pos[&a], pos[&b]);
            let state = LinkState::of(view, a, b);
            let class = classes!(
                "link",
                (a == NodeId::CONTROLLER).then_some("control"),
                state.cut.then_some("cut"),
                (!state.cut && state.slow).then_some("slow")
            );
            let oncontextmenu = {
                let open_menu = open_menu.clone();
                Callback::from(move |e: MouseEvent| {
                    let at = canvas_point(&e).unwrap_or(((x1 + x2) / 2.0, (y1 + y2) / 2.0));
                    open_menu.emit((e, a, b, at));
                })
            };
            let testid = format!("link-{a}-{b}");
            html! {
                <g class="link-hit" data-testid={testid} {oncontextmenu}>
                    <title>{ format!("{a} ⇄ {b}: {}. Right-click to cut, slow or heal it.", state.describe(a, b)) }</title>
                    <line {class} x1={num(x1)} y1={num(y1)} x2={num(x2)} y2={num(y2)} />
                    <line class="hit" x1={num(x1)} y1={num(y1)} x2={num(x2)} y2={num(y2)} />
                </g>
            }
        }) }
    }
}

/// Where a pointer event falls in the canvas's own units.
fn canvas_point(e: &MouseEvent) -> Option<(f64, f64)> {
    let svg = e.current_target()?.dyn_into::<web_sys::Element>().ok()?.closest("svg").ok()??;
    let rect = svg.get_bounding_client_rect();
    if rect.width() <= 0.0 {
        return None;
    }
    let scale = WIDTH / rect.width();
    Some(((f64::from(e.client_x()) - rect.left()) * scale, (f64::from(e.client_y()) - rect.top()) * scale))
}

/// A pair of nodes' links as the view shows them.
struct LinkState {
    cut_ab: bool,
    cut_ba: bool,
    cut: bool,
    slow: bool,
    latency: Vec<String>,
}

impl LinkState {
    fn of(view: &ClusterView, a: NodeId, b: NodeId) -> LinkState {
        let cut_ab = view.cut_links.contains(&(a, b));
        let cut_ba = view.cut_links.contains(&(b, a));
        let latency: Vec<String> = view
            .degraded_links
            .iter()
            .filter(|(x, y, _)| (*x, *y) == (a, b) || (*x, *y) == (b, a))
            .map(|(x, y, ms)| format!("{x} → {y} {ms} ms"))
            .collect();
        LinkState { cut_ab, cut_ba, cut: cut_ab || cut_ba, slow: !latency.is_empty(), latency }
    }

    fn describe(&self, a: NodeId, b: NodeId) -> String {
        let mut parts = Vec::new();
        match (self.cut_ab, self.cut_ba) {
            (true, true) => parts.push("cut both ways".to_string()),
            (true, false) => parts.push(format!("{a} → {b} cut")),
            (false, true) => parts.push(format!("{b} → {a} cut")),
            (false, false) => {}
        }
        if self.slow {
            parts.push(format!("slowed ({})", self.latency.join(", ")));
        }
        if parts.is_empty() {
            "healthy".to_string()
        } else {
            parts.join("; ")
        }
    }
}

fn producer(p: &ProducerView, (cx, cy): (f64, f64)) -> Html {
    let (x, y) = (cx - CLIENT_W / 2.0, cy - CLIENT_H / 2.0);
    let in_flight: u32 = p.in_flight.iter().map(|(_, n)| n).sum();
    let queued: usize = p.deques.iter().map(|(_, d)| d.len()).sum();
    html! {
        <g class="node producer" data-testid={p.id.to_string()}>
            <title>{ format!("{} ({}): {} sent, {} acked, {} failed attempts; {} batches queued, {} requests in flight (max {} per connection)",
                p.id, p.label, p.records_sent, p.records_acked, p.batch_errors, queued, in_flight, p.in_flight_max) }</title>
            <rect x={num(x)} y={num(y)} width={num(CLIENT_W)} height={num(CLIENT_H)} rx="10" />
            <text class="name" x={num(x + 12.0)} y={num(y + 22.0)}>{ p.id.to_string() }</text>
            <text class="stat" x={num(x + 12.0)} y={num(y + 40.0)}>{ format!("sent {} · acked {}", p.records_sent, p.records_acked) }</text>
            <text class="stat" x={num(x + 12.0)} y={num(y + 56.0)}>{ format!("queued {queued} · in flight {in_flight}") }</text>
        </g>
    }
}

/// Colour class of consumer `id` (its position among the consumers), shared by its card and
/// the partitions it owns.
fn member_class(view: &ClusterView, id: NodeId) -> String {
    let i = view.consumers.iter().position(|c| c.id == id).unwrap_or(0);
    format!("member-{}", i % 6)
}

/// Partition (`topic-partition`) → the consumer that owns it now.
fn owners(view: &ClusterView) -> VecMap<String, NodeId> {
    view.consumers.iter().flat_map(|c| c.assignment.iter().map(move |tp| (tp.clone(), c.id))).collect_map()
}

fn consumer(view: &ClusterView, c: &ConsumerView, (cx, cy): (f64, f64), on_why: &Callback<WhySubject>) -> Html {
    let (x, y) = (cx - CLIENT_W / 2.0, cy - CLIENT_H / 2.0);
    let lag: i64 = c.lag.iter().map(|(_, l)| l).sum();
    let state = match (&c.member_state, c.active) {
        (_, false) => "stopped".to_string(),
        (Some(s), true) if c.generation >= 0 => format!("{} · gen {}", s.to_ascii_lowercase(), c.generation),
        (Some(s), true) => s.to_ascii_lowercase(),
        (None, true) => "assigned".to_string(),
    };
    let owned: Vec<String> =
        c.assignment.iter().map(|tp| tp.rsplit_once('-').map_or(tp.clone(), |(_, p)| p.to_string())).collect();
    let owned = if owned.is_empty() { "–".to_string() } else { owned.join(",") };
    let member = c.member_id.as_deref().unwrap_or("(no member id yet)");
    let group = c.group.as_deref().map_or("no group (assign)".to_string(), |g| format!("group {g}"));
    html! {
        <g class={classes!("node", "consumer", "asks-why", member_class(view, c.id), (!c.active).then_some("inactive"))} data-testid={c.id.to_string()}
            onclick={{ let id = c.id; on_why.reform(move |_: MouseEvent| WhySubject::Consumer(id)) }}>
            <title>{ format!("{} ({}): {group}, member {member}; owns [{}]; {} records consumed ({} redelivered), {} buffered; lag {lag}; positions {:?}; commits {} ok, {} failed. Click: what is it waiting on?",
                c.id, c.label, c.assignment.join(", "), c.records_consumed, c.redelivered, c.buffered, c.positions, c.commits.0, c.commits.1) }</title>
            <rect x={num(x)} y={num(y)} width={num(CLIENT_W)} height={num(CLIENT_H)} rx="10" />
            <rect class="member-stripe" x={num(x)} y={num(y + 8.0)} width="5" height={num(CLIENT_H - 16.0)} rx="2" />
            <text class="name" x={num(x + 14.0)} y={num(y + 20.0)}>{ c.id.to_string() }</text>
            <text class="stat" x={num(x + CLIENT_W - 10.0)} y={num(y + 20.0)} text-anchor="end">{ format!("p {owned}") }</text>
            <text class="stat" x={num(x + 14.0)} y={num(y + 38.0)}>{ format!("consumed {} · lag {lag}", c.records_consumed) }</text>
            <text class="stat" x={num(x + 14.0)} y={num(y + 54.0)}>{ state }</text>
        </g>
    }
}

/// One line per group above the consumers: state, generation, protocol, coordinator.
fn groups(view: &ClusterView) -> Html {
    let x = WIDTH - 16.0;
    html! {
        { for view.groups.iter().enumerate().map(|(i, g)| {
            let coordinator = g.coordinator.map_or("no coordinator".to_string(), |b| format!("broker-{b}"));
            let protocol = g.protocol.as_deref().unwrap_or("–");
            html! {
                <g class={classes!("group-label", g.state.to_ascii_lowercase())} data-testid={format!("group-{}", g.group)}>
                    <title>{ format!("Group {}: {} in generation {} ({protocol}); coordinator {coordinator} (leader of __consumer_offsets-{}); committed {:?}; lag {:?}",
                        g.group, g.state, g.generation, g.offsets_partition, g.committed, g.lag) }</title>
                    <text x={num(x)} y={num(18.0 + 16.0 * i as f64)} text-anchor="end">
                        { format!("{} · {} · gen {}", g.group, g.state, g.generation) }
                    </text>
                </g>
            }
        }) }
    }
}

fn controller(c: &ControllerView, (cx, cy): (f64, f64)) -> Html {
    let (x, y) = (cx - CONTROLLER_W / 2.0, cy - CONTROLLER_H / 2.0);
    let offline = c.partitions.iter().filter(|p| p.leader.is_none()).count();
    let states: Vec<String> = c
        .partitions
        .iter()
        .map(|p| {
            let leader = p.leader.map_or("offline".to_string(), |l| format!("leader broker-{l}"));
            format!("{}: {leader}, epoch {}/{}, ISR {:?}", p.tp, p.leader_epoch, p.partition_epoch, p.isr)
        })
        .collect();
    let status = match (c.fenced.is_empty(), offline) {
        (true, 0) => "all brokers unfenced".to_string(),
        (_, 0) => format!("fenced {:?}", c.fenced),
        (_, n) => format!("{n} offline · fenced {:?}", c.fenced),
    };
    html! {
        <g class={classes!("node", "controller", (offline > 0).then_some("alarm"))} data-testid="controller-1">
            <title>{ format!("KRaft controller (a quorum of one): tracks broker heartbeats, fences silent brokers, elects leaders and commits ISR changes. Metadata offset {}.\n{}",
                c.metadata_offset, states.join("\n")) }</title>
            <rect x={num(x)} y={num(y)} width={num(CONTROLLER_W)} height={num(CONTROLLER_H)} rx="10" />
            <text class="name" x={num(x + 10.0)} y={num(y + 20.0)}>{ "controller" }</text>
            <text class="stat" x={num(x + CONTROLLER_W - 10.0)} y={num(y + 20.0)} text-anchor="end">{ format!("offset {}", c.metadata_offset) }</text>
            <text class="stat" x={num(x + 10.0)} y={num(y + 38.0)}>{ status }</text>
        </g>
    }
}

/// `__consumer_offsets-N` is too long for a row: `__co-N` (the tooltip has the full name).
fn short_tp(tp: &str) -> String {
    tp.strip_prefix("__consumer_offsets-").map_or(tp.to_string(), |p| format!("__co-{p}"))
}

/// The controller's committed ISR per partition (`topic-partition` → brokers).
fn committed_isr(view: &ClusterView) -> VecMap<String, Vec<u16>> {
    view.controller.iter().flat_map(|c| c.partitions.iter().map(|p| (p.tp.clone(), p.isr.clone()))).collect_map()
}

/// The broker's request handler threads (`num.io.threads`, at most 16 drawn): a filled dot is
/// working on a request.
fn handler_dots(b: &BrokerView, x: f64, y: f64) -> Html {
    let (threads, busy) = b.handlers;
    let shown = threads.min(16);
    let x0 = x + BROKER_W - 12.0 - f64::from(shown) * 6.0;
    html! {
        <g class="handlers" data-testid={format!("handlers-{}", b.id)}>
            <title>{ format!("{}: {busy} of {threads} request handler threads (num.io.threads) busy; {} request(s) queued for them", b.id, b.request_queue_depth) }</title>
            { for (0..shown).map(|i| html! {
                <rect class={classes!("handler", (i < busy).then_some("busy"))} x={num(x0 + f64::from(i) * 6.0)} y={num(y + 29.0)} width="4" height="4" rx="1" />
            }) }
        </g>
    }
}

/// What a broker card answers to: its menu (right-click, Enter, long press) and "Why?".
struct BrokerInput {
    open_menu: Callback<NodeId>,
    press: Rc<RefCell<Option<gloo::timers::callback::Timeout>>>,
    on_why: Callback<WhySubject>,
}

/// How long a touch must stay down to open a broker's menu (like a right-click).
const LONG_PRESS_MS: u32 = 550;

/// Enter or Space on a focused menu row does what a click does; Escape is left to the page.
fn activate_on_enter(onclick: Callback<MouseEvent>) -> Callback<KeyboardEvent> {
    Callback::from(move |e: KeyboardEvent| {
        if matches!(e.key().as_str(), "Enter" | " ") {
            e.prevent_default();
            e.stop_propagation();
            if let Ok(click) = web_sys::MouseEvent::new("click") {
                onclick.emit(click);
            }
        }
    })
}

/// A context menu's rows: (test id suffix, label, action).
type MenuItems = Vec<(&'static str, String, Action)>;

/// The right-click menu of a broker: crash it (process or machine) or restart it.
fn broker_menu(b: &BrokerView) -> (String, MenuItems) {
    let broker = b.id.number;
    let items = if b.alive {
        vec![
            (
                "crash-process",
                "Crash process (page cache survives)".to_string(),
                Action::CrashBroker { broker, kind: CrashKind::Process },
            ),
            (
                "crash-machine",
                "Crash machine (unflushed data lost)".to_string(),
                Action::CrashBroker { broker, kind: CrashKind::Machine },
            ),
        ]
    } else {
        vec![("restart", "Restart".to_string(), Action::RestartBroker { broker })]
    };
    (format!("fault-menu-{}", b.id), items)
}

/// The right-click menu of a link: cut it (both ways or one), slow it, heal it.
fn link_menu(view: &ClusterView, a: NodeId, b: NodeId, default: LinkConfig) -> (String, MenuItems) {
    let state = LinkState::of(view, a, b);
    let slow = LinkConfig { latency: default.latency + SimDuration::from_ms(SLOW_EXTRA_MS), ..default };
    let mut items: MenuItems = Vec::new();
    if !(state.cut_ab && state.cut_ba) {
        items.push(("cut-both", format!("Cut {a} ⇄ {b}"), Action::CutLink { from: a, to: b, both: true }));
    }
    if !state.cut_ab {
        items.push(("cut-forward", format!("Cut {a} → {b} only"), Action::CutLink { from: a, to: b, both: false }));
    }
    if !state.cut_ba {
        items.push(("cut-backward", format!("Cut {b} → {a} only"), Action::CutLink { from: b, to: a, both: false }));
    }
    if !state.slow {
        let label = format!("Slow both ways (+{SLOW_EXTRA_MS} ms)");
        items.push(("slow", label, Action::SetLink { from: a, to: b, both: true, link: slow }));
    }
    if state.cut || state.slow {
        items.push((
            "heal",
            "Heal (default latency, no loss)".to_string(),
            Action::HealLink { from: a, to: b, both: true },
        ));
    }
    (format!("link-menu-{a}-{b}"), items)
}

/// A context menu drawn in the canvas near `(cx, cy)`; a row applies its action and closes it.
fn context_menu(
    testid: &str,
    (cx, cy): (f64, f64),
    items: MenuItems,
    menu: &UseStateHandle<Option<Menu>>,
    on_fault: &Callback<Action>,
) -> Html {
    let (w, row) = (270.0, 26.0);
    let rows = items.len() as f64 + 1.0;
    let (x, y) = ((cx - w / 2.0).clamp(4.0, WIDTH - w - 4.0), cy.min(HEIGHT - row * rows - 12.0).max(4.0));
    let close = {
        let menu = menu.clone();
        Callback::from(move |_: MouseEvent| menu.set(None))
    };
    let cancel_y = y + 4.0 + row * items.len() as f64;
    html! {
        <g class="fault-menu" data-testid={testid.to_string()} role="menu">
            <rect class="menu-bg" x={num(x)} y={num(y)} width={num(w)}
                height={num(row * rows + 8.0)} rx="8" />
            { for items.into_iter().enumerate().map(|(i, (id, label, action))| {
                let (menu, on_fault) = (menu.clone(), on_fault.clone());
                let onclick = Callback::from(move |_: MouseEvent| {
                    on_fault.emit(action.clone());
                    menu.set(None);
                });
                let iy = y + 4.0 + row * i as f64;
                let onkeydown = activate_on_enter(onclick.clone());
                html! {
                    <g class="menu-item" role="menuitem" tabindex="0" data-testid={format!("fault-{id}")} {onclick} {onkeydown}>
                        <rect x={num(x + 4.0)} y={num(iy)} width={num(w - 8.0)} height={num(row - 2.0)} rx="5" />
                        <text x={num(x + 14.0)} y={num(iy + 17.0)}>{ label }</text>
                    </g>
                }
            }) }
            <g class="menu-item cancel" role="menuitem" tabindex="0" data-testid="fault-cancel" onclick={close.clone()}
                onkeydown={activate_on_enter(close)}>
                <rect x={num(x + 4.0)} y={num(cancel_y)} width={num(w - 8.0)} height={num(row - 2.0)} rx="5" />
                <text x={num(x + 14.0)} y={num(cancel_y + 17.0)}>{ "Cancel" }</text>
            </g>
        </g>
    }
}

fn broker(
    view: &ClusterView,
    b: &BrokerView,
    (cx, cy): (f64, f64),
    leo_max: i64,
    isr: &VecMap<String, Vec<u16>>,
    input: &BrokerInput,
) -> Html {
    let BrokerInput { open_menu, press, on_why } = input;
    let h = broker_height(b.replicas.len());
    let (x, y) = (cx - BROKER_W / 2.0, cy - h / 2.0);
    let bar_x = x + 96.0;
    let bar_w = 76.0;
    let owner = owners(view);
    let rows = b.replicas.iter().enumerate().map(|(i, r)| {
        let ry = y + 44.0 + 22.0 * i as f64;
        let leader = r.leader == Some(b.id.number);
        let fill = bar_w * r.log_end_offset as f64 / leo_max as f64;
        let hw_x = bar_x + bar_w * r.high_watermark as f64 / leo_max as f64;
        // A crashed broker's last in-memory state is stale: draw no role for it.
        let role = match r.leader {
            _ if !b.alive => "offline",
            Some(_) if leader => "leader",
            Some(_) => "follower",
            None => "offline",
        };
        let letter = match role {
            "leader" => "L",
            "follower" => "F",
            _ => "–",
        };
        // A live replica the controller does not count in sync is marked (red role letter).
        let out_of_sync =
            b.alive && isr.get(&r.tp).is_some_and(|members| !members.contains(&b.id.number)) && role != "offline";
        let sync_note = if out_of_sync { " — OUT OF SYNC (not in the committed ISR)" } else { "" };
        let isr = match (&r.pending_isr, leader) {
            (Some(p), true) => format!("{:?} (AlterPartition → {p:?} in flight)", r.isr),
            (None, true) => format!("{:?}", r.isr),
            _ => "(known to the leader)".into(),
        };
        html! {
            <g class={classes!("replica", role, out_of_sync.then_some("out-of-sync"))} data-testid={format!("replica-{}-{}", b.id, r.tp)}>
                <title>{ format!("{} on {}: {role}{sync_note}, leader epoch {}; replicas {:?}; ISR {isr}; log start {}, LEO {}, HW {}; {} batches",
                    r.tp, b.id, r.leader_epoch, r.replicas,
                    r.log_start_offset, r.log_end_offset, r.high_watermark, r.batches) }</title>
                <text class="tp" x={num(x + 12.0)} y={num(ry + 4.0)}>{ short_tp(&r.tp) }</text>
                { for owner.get(&r.tp).map(|c| html! {
                    <circle class={classes!("owner", member_class(view, *c))} cx={num(x + 6.0)} cy={num(ry)} r="3.5">
                        <title>{ format!("{} is read by {c}", r.tp) }</title>
                    </circle>
                }) }
                <text class="role" x={num(x + 78.0)} y={num(ry + 4.0)}>{ letter }</text>
                <rect class="bar-bg" x={num(bar_x)} y={num(ry - 6.0)} width={num(bar_w)} height="12" rx="3" />
                <rect class="bar" x={num(bar_x)} y={num(ry - 6.0)} width={num(fill)} height="12" rx="3" />
                <line class="hw" x1={num(hw_x)} x2={num(hw_x)} y1={num(ry - 9.0)} y2={num(ry + 9.0)} />
                <line class="hw-hit" data-testid={format!("hw-{}-{}", b.id, r.tp)} x1={num(hw_x)} x2={num(hw_x)}
                    y1={num(ry - 9.0)} y2={num(ry + 9.0)}
                    onclick={{ let (id, tp) = (b.id, r.tp.clone()); on_why.reform(move |_: MouseEvent| WhySubject::HighWatermark(id, tp.clone())) }}>
                    <title>{ format!("HW {} of {} on {}. Click: why is it here?", r.high_watermark, r.tp, b.id) }</title>
                </line>
                <text class="offsets" x={num(x + BROKER_W - 10.0)} y={num(ry + 4.0)} text-anchor="end">{ format!("{}/{}", r.high_watermark, r.log_end_offset) }</text>
            </g>
        }
    });
    let status = match (b.alive, b.request_queue_depth + b.requests_unread) {
        (false, _) => "DOWN".to_string(),
        (true, 0) => "up".to_string(),
        (true, n) => format!("up · {n} queued"),
    };
    let id = b.id;
    let oncontextmenu = {
        let open_menu = open_menu.clone();
        Callback::from(move |e: MouseEvent| {
            e.prevent_default();
            open_menu.emit(id);
        })
    };
    let onkeydown = {
        let open_menu = open_menu.clone();
        Callback::from(move |e: KeyboardEvent| {
            if matches!(e.key().as_str(), "Enter" | " " | "ContextMenu") || (e.key() == "F10" && e.shift_key()) {
                // Not also the page's Space = play/pause.
                e.prevent_default();
                e.stop_propagation();
                open_menu.emit(id);
            }
        })
    };
    let onpointerdown = {
        let (open_menu, press) = (open_menu.clone(), press.clone());
        Callback::from(move |e: PointerEvent| {
            if e.pointer_type() == "touch" {
                let open_menu = open_menu.clone();
                *press.borrow_mut() =
                    Some(gloo::timers::callback::Timeout::new(LONG_PRESS_MS, move || open_menu.emit(id)));
            }
        })
    };
    let cancel_press = {
        let press = press.clone();
        Callback::from(move |_: PointerEvent| drop(press.borrow_mut().take()))
    };
    html! {
        <g class={classes!("node", "broker", (!b.alive).then_some("down"))} data-testid={b.id.to_string()} {oncontextmenu} {onkeydown}
            {onpointerdown} onpointerup={cancel_press.clone()} onpointerleave={cancel_press.clone()} onpointercancel={cancel_press}
            tabindex="0" role="button" aria-haspopup="menu"
            aria-label={format!("{}: {}. Enter, or a right-click or long press, opens its faults.", b.id, if b.alive { "up" } else { "down" })}>
            <title>{ format!("{}: {}; {} requests in the request queue, {} unread on muted or blocked connections; bars show each replica's log (LEO), the tick is the high watermark; numbers are HW/LEO. Right-click to crash or restart it.",
                b.id, if b.alive { "up" } else { "DOWN (crashed)" }, b.request_queue_depth, b.requests_unread) }</title>
            <rect x={num(x)} y={num(y)} width={num(BROKER_W)} height={num(h)} rx="12" />
            <text class="name" x={num(x + 12.0)} y={num(y + 22.0)}>{ b.id.to_string() }</text>
            <text class="status" x={num(x + BROKER_W - 12.0)} y={num(y + 22.0)} text-anchor="end">{ status }</text>
            if b.alive { { handler_dots(b, x, y) } }
            { for rows }
        </g>
    }
}

fn flight(view: &ClusterView, f: &Flight, t: f64, pos: &VecMap<NodeId, (f64, f64)>) -> Html {
    let ((x1, y1), (x2, y2)) = edge_to_edge(pos[&f.from], half_size(view, f.from), pos[&f.to], half_size(view, f.to));
    let (x, y) = (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t);
    let control = f.from == NodeId::CONTROLLER || f.to == NodeId::CONTROLLER;
    let class = match (f.api, f.from.kind) {
        _ if control => "msg control",
        ("Produce", _) => "msg produce",
        ("ProduceResponse", _) => "msg produce-response",
        ("Fetch", NodeKind::Broker) => "msg replica-fetch",
        ("Fetch", _) => "msg fetch",
        (_, _) if f.to.kind == NodeKind::Broker => "msg replica-fetch-response",
        _ => "msg fetch-response",
    };
    let r = 5.0 + (f64::from(f.records.min(24)) / 4.0);
    html! {
        <circle key={f.msg_id} data-testid="message" class={class} cx={fixed(x, 1)} cy={fixed(y, 1)} r={fixed(r, 1)}>
            <title>{ format!("{} {} → {} · {} records · arrives at {}", f.api, f.from, f.to, f.records, f.deliver_at) }</title>
        </circle>
    }
}
