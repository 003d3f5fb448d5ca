//! The simulated network between named nodes.
//!
//! Fault model: every *directed* link `(from, to)` has a latency, a jitter (uniform extra delay
//! in `0..=jitter`), a loss ratio, and can be cut. Links not configured use the default. A
//! message sent over a cut link, or lost to the loss ratio, is dropped at send time; a message
//! already in flight when its link is cut is dropped on arrival. Cuts are per direction, so
//! asymmetric partitions are expressible. `heal` restores a link to the default; `heal_all`
//! restores every link.
//!
//! Kafka runs over TCP, so delivery on one directed link is FIFO: a message never overtakes an
//! earlier one on the same link, whatever the jitter drew.

use super::node::NodeId;
use super::node_map::NodeMap;
use super::rng::{Ratio, SimRng};
use super::time::{SimDuration, SimTime};
use crate::sim::vec_map::{VecMap, VecSet};
use serde::{Deserialize, Serialize};

/// Behaviour of one directed link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkConfig {
    /// Base one-way delay.
    pub latency: SimDuration,
    /// Extra delay drawn uniformly from `0..=jitter`.
    pub jitter: SimDuration,
    /// Probability that a message is lost.
    pub loss: Ratio,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig { latency: SimDuration::from_ms(1), jitter: SimDuration::ZERO, loss: Ratio::ZERO }
    }
}

/// Longest latency or jitter a link may be given (a scenario's `latency_ms` and `jitter_ms`, or
/// a run-time link change): one hour.
pub const LINK_DELAY_MS_MAX: u64 = 3_600_000;

/// Whether messages can travel from `from` to `to`: every message has a broker at one end
/// (clients and the controller talk only to brokers), and no node sends to itself. A cut or a
/// slowed link anywhere else would change nothing, so scenarios and actions refuse one.
pub fn link_exists(from: NodeId, to: NodeId) -> bool {
    from != to && (from.is_broker() || to.is_broker())
}

/// Why there is no link from `from` to `to` (for errors, where [`link_exists`] is false).
pub fn no_link_reason(from: NodeId, to: NodeId) -> String {
    format!("no link from {from} to {to}: a link joins a broker and another node")
}

/// Why the network did not deliver a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The directed link is cut.
    LinkCut,
    /// The loss ratio drew a loss.
    Lost,
    /// The destination node is down.
    NodeDown,
    /// It waited on a cut link and its connection was closed meanwhile.
    ConnectionClosed,
}

/// Outcome of offering a message to the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transit {
    /// It arrives at this time.
    Deliver(SimTime),
    /// It is dropped.
    Drop(DropReason),
}

/// The network: link table, cuts and the network's own random stream.
#[derive(Clone, Debug)]
pub struct Network {
    default_link: LinkConfig,
    links: VecMap<(NodeId, NodeId), LinkConfig>,
    cut: VecSet<(NodeId, NodeId)>,
    /// Per sender, per receiver: when its last message arrives (a connection delivers in order).
    last_arrival: NodeMap<NodeMap<SimTime>>,
    rng: SimRng,
}

impl Network {
    /// A fully connected network where every link behaves like `default_link`.
    pub fn new(default_link: LinkConfig, rng: SimRng) -> Network {
        Network { default_link, links: VecMap::new(), cut: VecSet::new(), last_arrival: NodeMap::new(), rng }
    }

    /// The configuration of the directed link `from → to`.
    pub fn link(&self, from: NodeId, to: NodeId) -> LinkConfig {
        self.links.get(&(from, to)).copied().unwrap_or(self.default_link)
    }

    /// Sets the configuration of the directed link `from → to`.
    pub fn configure(&mut self, from: NodeId, to: NodeId, config: LinkConfig) {
        self.links.insert((from, to), config);
    }

    /// Cuts the directed link `from → to`.
    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        self.cut.insert((from, to));
    }

    /// True when `from → to` is cut.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut.contains(&(from, to))
    }

    /// Restores `from → to`: not cut, default latency, jitter and loss.
    pub fn heal(&mut self, from: NodeId, to: NodeId) {
        self.cut.remove(&(from, to));
        self.links.remove(&(from, to));
    }

    /// Restores every link.
    pub fn heal_all(&mut self) {
        self.cut.clear();
        self.links.clear();
    }

    /// The default behaviour of a link.
    pub fn default_link(&self) -> LinkConfig {
        self.default_link
    }

    /// Every directed link configured unlike the default, in order.
    pub fn overrides(&self) -> impl Iterator<Item = (NodeId, NodeId, LinkConfig)> + '_ {
        self.links.iter().filter(|(_, c)| **c != self.default_link).map(|((from, to), c)| (*from, *to, *c))
    }

    /// Every cut directed link, in order.
    pub fn cuts(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.cut.iter().copied()
    }

    /// Offers a message sent at `now` on `from → to`; decides its fate.
    pub fn transmit(&mut self, now: SimTime, from: NodeId, to: NodeId) -> Transit {
        if self.is_cut(from, to) {
            return Transit::Drop(DropReason::LinkCut);
        }
        let link = self.link(from, to);
        if !link.loss.is_zero() && self.rng.chance(link.loss) {
            return Transit::Drop(DropReason::Lost);
        }
        let jitter_ns = match link.jitter.as_ns() {
            0 => 0,
            j => self.rng.range_inclusive(0, j),
        };
        let earliest = now + link.latency + SimDuration::from_ns(jitter_ns);
        let last = self.last_arrival.or_default(from).or_default(to);
        let arrival = earliest.max(*last);
        *last = arrival;
        Transit::Deliver(arrival)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    const A: NodeId = NodeId::broker(1);
    const B: NodeId = NodeId::broker(2);

    fn net() -> Network {
        Network::new(LinkConfig::default(), SimRng::new(3).fork("network"))
    }

    #[test]
    fn latency_delays_delivery() {
        let mut n = net();
        n.configure(A, B, LinkConfig { latency: SimDuration::from_ms(7), ..LinkConfig::default() });
        assert_eq!(n.transmit(SimTime::from_ms(10), A, B), Transit::Deliver(SimTime::from_ms(17)));
        assert_eq!(n.transmit(SimTime::from_ms(10), B, A), Transit::Deliver(SimTime::from_ms(11)));
    }

    #[test]
    fn jitter_stays_in_range_and_never_reorders_a_link() {
        let mut n = net();
        let jittery =
            LinkConfig { latency: SimDuration::from_ms(5), jitter: SimDuration::from_ms(5), ..LinkConfig::default() };
        n.configure(A, B, jittery);
        let mut last = SimTime::ZERO;
        let mut distinct = VecSet::new();
        for i in 0..200 {
            let now = SimTime::from_us(i * 100);
            let Transit::Deliver(at) = n.transmit(now, A, B) else { panic!("dropped") };
            assert!(at >= now + SimDuration::from_ms(5) && at >= last, "reordered or too early");
            assert!(at <= now + SimDuration::from_ms(10) || at == last);
            distinct.insert(at.as_ns() - now.as_ns());
            last = at;
        }
        assert!(distinct.len() > 10, "jitter never varied");
    }

    #[test]
    fn loss_drops_about_the_ratio() {
        let mut n = net();
        n.configure(A, B, LinkConfig { loss: Ratio::new(1, 5).unwrap(), ..LinkConfig::default() });
        let lost = (0..5000).filter(|_| n.transmit(SimTime::ZERO, A, B) == Transit::Drop(DropReason::Lost)).count();
        assert!((850..1150).contains(&lost), "lost {lost} of 5000 at 1/5");
    }

    #[test]
    fn cuts_are_directed_and_heal_restores() {
        let mut n = net();
        n.cut(A, B);
        assert_eq!(n.transmit(SimTime::ZERO, A, B), Transit::Drop(DropReason::LinkCut));
        assert!(matches!(n.transmit(SimTime::ZERO, B, A), Transit::Deliver(_)));
        n.heal(A, B);
        assert!(matches!(n.transmit(SimTime::ZERO, A, B), Transit::Deliver(_)));
        n.cut(A, B);
        n.cut(B, A);
        n.heal_all();
        assert_eq!(n.cuts().count(), 0);
    }
}
