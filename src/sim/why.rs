//! "Why?": what a high watermark or a consumer is waiting on, in words, from the state the
//! simulator holds at this moment (the leader's view of each follower, the group's state, the
//! consumer's positions against the high watermarks).

use super::node::NodeId;
use super::{ClusterView, Node, Sim};
use std::fmt::Write;

impl Sim {
    /// Why the high watermark of `tp` (`topic-partition`) on `broker` is what it is.
    pub fn why_high_watermark(&self, broker: NodeId, tp: &str) -> Option<String> {
        let Some(Node::Broker(b)) = self.node(broker) else { return None };
        let (tp_key, r) = b.replicas().iter().find(|(t, _)| t.to_string() == tp)?;
        let hw = r.log.high_watermark();
        let leo = r.log.log_end_offset();
        if !self.is_up(broker) {
            return Some(format!(
                "{broker} is down: its copy of {tp} (HW {hw}, LEO {leo}) serves nobody until it restarts."
            ));
        }
        let me = broker.number;
        match r.leader {
            Some(leader) if leader == me => {}
            Some(leader) => {
                let leader_hw = match self.node(NodeId::broker(leader)) {
                    Some(Node::Broker(l)) => l.replicas().get(tp_key).map(|lr| lr.log.high_watermark()),
                    _ => None,
                };
                let now = leader_hw.map_or(String::new(), |h| format!(" broker-{leader}'s HW is {h} now."));
                return Some(format!(
                    "{broker} follows broker-{leader} for {tp}: a follower's HW is the leader's HW as of its last fetch \
                     response (capped at its own LEO, {leo}), so it trails the leader's by one fetch round.{now}"
                ));
            }
            None => return Some(format!("{tp} has no leader {broker} knows of: nothing advances its HW ({hw}).")),
        }
        let isr: Vec<u16> = r.maximal_isr().iter().copied().collect();
        let leo_of = |id: u16| if id == me { Some(leo) } else { r.followers.get(&id).map(|f| f.log_end_offset) };
        let mut out = format!("{tp} on {broker} (leader, epoch {}): HW {hw}, LEO {leo}. ", r.leader_epoch);
        let holder = isr.iter().filter(|id| **id != me).filter_map(|id| leo_of(*id).map(|l| (l, *id))).min();
        match holder {
            Some((low, id)) if low < leo => {
                let f = &r.followers[&id];
                let _ = write!(
                    out,
                    "The HW is the smallest log end offset in the ISR {isr:?}: broker-{id} holds it down at {low} — \
                     its last fetch, at {}, asked for offset {low}. The HW moves when broker-{id}'s next fetch asks for a \
                     higher offset; until then offsets {hw}..{} are invisible to consumers and acks=all produces for them wait.",
                    f.last_fetch_time,
                    leo - 1
                );
            }
            _ => {
                let _ = write!(out, "Every replica in the ISR {isr:?} has every record: HW = LEO.");
            }
        }
        let min_isr = r.min_insync_replicas as usize;
        if isr.len() < min_isr {
            let _ = write!(
                out,
                " The ISR has {} replica(s), fewer than min.insync.replicas={min_isr}: acks=all produces fail with \
                 NOT_ENOUGH_REPLICAS.",
                isr.len()
            );
        }
        for id in r.replicas.iter().filter(|id| !isr.contains(id)) {
            let caught =
                r.followers.get(id).map_or(String::new(), |f| format!(", last caught up at {}", f.last_caught_up));
            let _ = write!(out, " broker-{id} is out of the ISR{caught}, so the HW does not wait for it.");
        }
        Some(out)
    }

    /// What `consumer` is doing or waiting on.
    pub fn why_consumer(&self, consumer: NodeId) -> Option<String> {
        why_consumer(&self.view(), consumer)
    }
}

/// [`Sim::why_consumer`] from a view.
pub fn why_consumer(view: &ClusterView, consumer: NodeId) -> Option<String> {
    let c = view.consumers.iter().find(|c| c.id == consumer)?;
    if !c.active {
        return Some(format!("{consumer} is not running (not started yet, left, or crashed)."));
    }
    let mut out = String::new();
    if let Some(group) = &c.group {
        let g = view.groups.iter().find(|g| &g.group == group);
        let state = c.member_state.as_deref().unwrap_or("Unjoined");
        if state != "Stable" {
            let group_state = g.map_or("unknown".to_string(), |g| format!("{} (generation {})", g.state, g.generation));
            return Some(format!(
                "{consumer} is {state} in group {group}, which is {group_state}: it fetches nothing until the \
                 rebalance completes and it has an assignment."
            ));
        }
        let _ = write!(out, "{consumer} is Stable in group {group}, generation {}. ", c.generation);
    }
    if c.assignment.is_empty() {
        let _ = write!(out, "It owns no partition, so it has nothing to fetch.");
        return Some(out);
    }
    let hw = view.leader_high_watermarks();
    let mut caught_up = Vec::new();
    for tp in &c.assignment {
        let position = c.positions.iter().find(|(t, _)| t == tp).map(|(_, p)| *p);
        match (position, hw.get(tp.as_str())) {
            (Some(p), Some(h)) if p >= *h => caught_up.push(format!("{tp} at {p}")),
            (Some(p), Some(h)) => {
                let _ = write!(out, "{tp}: position {p}, leader HW {h}: {} record(s) to read. ", h - p);
            }
            (None, _) => {
                let _ = write!(out, "{tp}: no position yet (looking up the committed offset or auto.offset.reset). ");
            }
            (Some(p), None) => {
                let _ = write!(out, "{tp}: position {p}, and the partition has no live leader: nothing to fetch. ");
            }
        }
    }
    if !caught_up.is_empty() {
        let _ = write!(
            out,
            "Caught up with the high watermark on {}: it waits for new records (a fetch waits up to fetch.max.wait.ms on \
             the leader); records above the HW are not readable yet.",
            caught_up.join(", ")
        );
    }
    if c.buffered > 0 {
        let _ = write!(out, " {} fetched record(s) wait in its buffer for the next poll().", c.buffered);
    }
    Some(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::scenario::{parse_json, BUILT_IN};
    use crate::sim::time::SimTime;

    fn at(id: &str, ms: u64) -> Sim {
        let s = parse_json(BUILT_IN.iter().find(|(i, _)| *i == id).unwrap().1).unwrap();
        let mut sim = Sim::new(&s, s.seed);
        sim.run_until(SimTime::from_ms(ms), u64::MAX);
        sim
    }

    #[test]
    fn a_slow_follower_holds_the_high_watermark_down_and_is_named() {
        // slow-follower: broker-3's links are slow from 2 s; it is still in the ISR at 5 s.
        let sim = at("slow-follower", 5_000);
        let view = sim.view();
        let (leader, tp) = view
            .brokers
            .iter()
            .flat_map(|b| b.replicas.iter().map(move |r| (b.id, r)))
            .find(|(b, r)| {
                r.tp.starts_with("orders") && r.leader == Some(b.number) && r.high_watermark < r.log_end_offset
            })
            .map(|(b, r)| (b, r.tp.clone()))
            .expect("a leader whose HW lags its LEO while the follower is slow");
        let why = sim.why_high_watermark(leader, &tp).unwrap();
        assert!(why.contains("broker-3 holds it down at"), "{why}");
        assert!(why.contains("acks=all produces for them wait"), "{why}");
        let follower = NodeId::broker(if leader.number == 1 { 2 } else { 1 });
        let why = sim.why_high_watermark(follower, &tp).unwrap();
        assert!(why.contains("trails the leader's by one fetch round"), "{why}");
    }

    #[test]
    fn when_everything_is_replicated_the_answer_says_so() {
        let sim = at("hello", 10_000);
        let why = sim.why_high_watermark(NodeId::broker(1), "orders-0").unwrap();
        assert!(why.contains("has every record: HW = LEO"), "{why}");
        let why = sim.why_consumer(NodeId::consumer(1)).unwrap();
        assert!(why.starts_with("consumer-1 is Stable in group order-readers"), "{why}");
        assert!(why.contains("Caught up with the high watermark on orders-0 at "), "{why}");
        assert!(sim.why_high_watermark(NodeId::broker(9), "orders-0").is_none());
    }

    #[test]
    fn a_consumer_in_a_rebalance_waits_for_it() {
        let sim = at("hello", 50);
        let why = sim.why_consumer(NodeId::consumer(1)).unwrap();
        assert!(why.contains("fetches nothing until the rebalance completes"), "{why}");
    }
}
