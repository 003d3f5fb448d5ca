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

/// Why a producer's batch (by id) is still in its accumulator: what the Sender's ready check
/// waits for, from the view (the partition's leader as the cluster has it).
pub fn why_batch(view: &ClusterView, producer: NodeId, batch_id: u64) -> Option<String> {
    let p = view.producers.iter().find(|p| p.id == producer)?;
    let (partition, deque) = p.deques.iter().find(|(_, d)| d.iter().any(|b| b.batch_id == batch_id))?;
    let b = deque.iter().find(|b| b.batch_id == batch_id)?;
    let tp = format!("{}-{partition}", p.topic);
    let leader = view
        .brokers
        .iter()
        .filter(|br| br.alive)
        .find(|br| br.replicas.iter().any(|r| r.tp == tp && r.leader == Some(br.id.number)))
        .map(|br| br.id.number);
    let mut out =
        format!("{producer}'s batch {batch_id} for {tp}: {} records, {} of {} bytes. ", b.records, b.bytes, b.capacity);
    if deque.first().map(|h| h.batch_id) != Some(batch_id) {
        out.push_str("It is behind an older batch of the same partition: the Sender drains one batch per partition per request, head first.");
        return Some(out);
    }
    if b.attempts > 0 {
        let _ = write!(
            out,
            "It failed {} time(s) and went back to the front of its deque; it waits out retry.backoff.ms (exponential, \
             with jitter) before it is sent again.",
            b.attempts
        );
        return Some(out);
    }
    let linger_left = p.linger_ms.saturating_sub(b.age_ms);
    let in_flight = leader.map_or(0, |l| p.requests.iter().filter(|r| r.broker == l).count() as u32);
    match leader {
        None => out.push_str("Its partition has no live leader: it waits for a metadata refresh that names one."),
        Some(l) if in_flight >= p.in_flight_max => {
            let _ = write!(
                out,
                "The connection to broker-{l} (its leader) has {in_flight} requests in flight = \
                 max.in.flight.requests.per.connection: it waits for a response to free a slot."
            );
        }
        Some(l) if !b.full && linger_left > 0 => {
            let _ = write!(
                out,
                "It is neither full (batch.size) nor old enough: linger.ms={} leaves {linger_left} ms before the \
                 Sender takes it to broker-{l}, unless it fills first.",
                p.linger_ms
            );
        }
        Some(l) => {
            let _ = write!(out, "It is ready (full, or linger.ms passed): the Sender drains it into the next Produce request to broker-{l}.");
        }
    }
    Some(out)
}

// The tests load built-in scenarios (the embedded library).
#[cfg(all(test, feature = "embedded-library"))]
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
    fn a_lingering_batch_and_a_full_window_are_explained() {
        // batching: producer-1 lingers 1000 ms on a slow stream.
        let sim = at("batching", 600);
        let view = sim.view();
        let p = view.producers.iter().find(|p| p.label == "producer-1").unwrap();
        let b = p.deques.iter().find_map(|(_, d)| d.first()).expect("a lingering batch");
        let why = why_batch(&view, p.id, b.batch_id).unwrap();
        assert!(why.contains("linger.ms=1000 leaves"), "{why}");
        // idempotent-dedup: the producer's link to broker-1 is cut at 2 s; five requests wait.
        let sim = at("idempotent-dedup", 2_600);
        let view = sim.view();
        let p = &view.producers[0];
        let b = p.deques.iter().find_map(|(_, d)| d.first()).expect("a waiting batch");
        let why = why_batch(&view, p.id, b.batch_id).unwrap();
        assert!(why.contains("has 5 requests in flight = max.in.flight.requests.per.connection"), "{why}");
        assert!(why_batch(&view, p.id, u64::MAX).is_none());
    }

    #[test]
    fn a_consumer_in_a_rebalance_waits_for_it() {
        let sim = at("hello", 50);
        let why = sim.why_consumer(NodeId::consumer(1)).unwrap();
        assert!(why.contains("fetches nothing until the rebalance completes"), "{why}");
    }
}
