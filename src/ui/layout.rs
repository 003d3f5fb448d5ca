//! Where nodes sit on the canvas (a 1000 × 560 SVG view box).

use crate::sim::node::NodeId;
use crate::sim::vec_map::VecMap;
use crate::sim::ClusterView;

/// Canvas width in view-box units.
pub const WIDTH: f64 = 1000.0;
/// Canvas height in view-box units.
pub const HEIGHT: f64 = 560.0;
/// Broker card width.
pub const BROKER_W: f64 = 250.0;
/// Client box size.
pub const CLIENT_W: f64 = 176.0;
/// Client box height.
pub const CLIENT_H: f64 = 64.0;
/// Controller box width.
pub const CONTROLLER_W: f64 = 150.0;
/// Controller box height.
pub const CONTROLLER_H: f64 = 50.0;

/// Height of a broker card with `rows` partition rows.
pub fn broker_height(rows: usize) -> f64 {
    40.0 + 22.0 * rows as f64
}

/// Centre of every node: producers left, brokers on a ring in the middle, consumers right, the
/// controller inside a ring of three (top left otherwise).
pub fn positions(view: &ClusterView) -> VecMap<NodeId, (f64, f64)> {
    let mut out = VecMap::new();
    let column = |count: usize, i: usize| HEIGHT * (i as f64 + 1.0) / (count as f64 + 1.0);
    for (i, p) in view.producers.iter().enumerate() {
        out.insert(p.id, (CLIENT_W / 2.0 + 16.0, column(view.producers.len(), i)));
    }
    for (i, c) in view.consumers.iter().enumerate() {
        out.insert(c.id, (WIDTH - CLIENT_W / 2.0 - 16.0, column(view.consumers.len(), i)));
    }
    let n = view.brokers.len().max(1) as f64;
    for (i, b) in view.brokers.iter().enumerate() {
        let angle = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n;
        let (rx, ry) = if view.brokers.len() == 1 { (0.0, 0.0) } else { (170.0, 150.0) };
        out.insert(
            b.id,
            (WIDTH / 2.0 + rx * js_sys::Math::cos(angle), HEIGHT / 2.0 + 12.0 + ry * js_sys::Math::sin(angle)),
        );
    }
    if let Some(c) = &view.controller {
        // Three brokers leave room inside the ring, halfway between the top card and the two
        // lower ones; other counts put a card where the controller would sit, so it goes to the
        // top left, clear of the ring and of the producers.
        // Tall cards (many partitions) close that gap: then it goes to the top left too.
        let edges: Vec<(f64, f64)> = view
            .brokers
            .iter()
            .map(|b| {
                let (y, h) = (out[&b.id].1, broker_height(b.replicas.len()) / 2.0);
                (y - h, y + h)
            })
            .collect();
        let top_bottom = edges.first().map_or(0.0, |e| e.1);
        let lower_top = edges.iter().skip(1).map(|e| e.0).fold(f64::MAX, f64::min);
        let centre = if view.brokers.len() == 3 && lower_top - top_bottom >= CONTROLLER_H + 8.0 {
            (WIDTH / 2.0, (top_bottom + lower_top) / 2.0)
        } else {
            (WIDTH / 2.0 - 250.0, CONTROLLER_H / 2.0 + 10.0)
        };
        out.insert(c.id, centre);
    }
    out
}

/// Half width and half height of a node's box.
pub fn half_size(view: &ClusterView, id: NodeId) -> (f64, f64) {
    if id == NodeId::CONTROLLER {
        return (CONTROLLER_W / 2.0, CONTROLLER_H / 2.0);
    }
    match view.brokers.iter().find(|b| b.id == id) {
        Some(b) => (BROKER_W / 2.0, broker_height(b.replicas.len()) / 2.0),
        None => (CLIENT_W / 2.0, CLIENT_H / 2.0),
    }
}

/// The segment between two boxes' edges along the line joining their centres, so a message
/// is visible for its whole trip instead of hiding under the cards.
pub fn edge_to_edge(
    from: (f64, f64),
    from_half: (f64, f64),
    to: (f64, f64),
    to_half: (f64, f64),
) -> ((f64, f64), (f64, f64)) {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let exit = |(hw, hh): (f64, f64)| {
        let tx = if dx.abs() > f64::EPSILON { hw / dx.abs() } else { f64::INFINITY };
        let ty = if dy.abs() > f64::EPSILON { hh / dy.abs() } else { f64::INFINITY };
        tx.min(ty).min(0.5)
    };
    let (a, b) = (exit(from_half), 1.0 - exit(to_half));
    ((from.0 + dx * a, from.1 + dy * a), (from.0 + dx * b, from.1 + dy * b))
}
