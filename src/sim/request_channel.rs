//! A broker's request path: Kafka's `SocketServer` processors, `RequestChannel` and
//! `KafkaRequestHandlerPool`, as one queue with connection muting.
//!
//! - A request arriving on a connection is read only if that connection is not *muted* and the
//!   request queue has room (`queued.max.requests`; when it is full the network threads stop
//!   reading and requests wait in the socket). Reading a request mutes its connection until its
//!   response is sent — including the time it waits in a purgatory — so each connection has one
//!   request in process at a time, in order (this is why a producer's pipelined requests are
//!   handled in sequence).
//! - `num.io.threads` handlers take requests oldest first; each works for the request's service
//!   time ([`ServiceTime`](super::scenario::ServiceTime)) before the broker acts on it.
//! - A consumer talks to its group coordinator on a connection of its own (`KafkaConsumer`
//!   opens one per coordinator), so group requests are muted separately from its fetches.
//! - The network threads themselves (`num.network.threads`) are folded in at zero cost.
//!
//! Kafka's gauges come out of it: `RequestQueueSize`, the average `RequestQueueTimeMs`
//! (queued → taken by a handler) and `RequestHandlerAvgIdlePercent`.

use super::node::NodeId;
use super::protocol::Message;
use super::time::{SimDuration, SimTime};
use crate::sim::vec_map::VecSet;
use std::collections::VecDeque;

/// A request on its way through the broker.
#[derive(Clone, Debug)]
pub struct Request {
    /// The connection (the client or follower broker) it came on.
    pub from: NodeId,
    /// The request.
    pub msg: Message,
    /// When it entered the request queue.
    pub enqueued: SimTime,
}

/// Counters for Kafka's request metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Requests handed to a handler.
    pub handled: u64,
    /// Total time those waited in the queue.
    pub queue_time: SimDuration,
    /// Total handler time spent on finished requests.
    pub busy: SimDuration,
    /// Deepest the queue has been.
    pub max_depth: usize,
}

/// The request queue, the unread requests of muted or blocked connections, and the handlers.
#[derive(Clone, Debug, Default)]
pub struct RequestChannel {
    queue: VecDeque<Request>,
    unread: VecDeque<Request>,
    /// Muted connections: (client, whether it is the client's coordinator connection).
    muted: VecSet<(NodeId, bool)>,
    busy: u32,
    stats: RequestStats,
}

impl RequestChannel {
    /// A request arrived on its connection.
    pub fn receive(&mut self, from: NodeId, msg: Message, capacity: usize, now: SimTime) {
        self.unread.push_back(Request { from, msg, enqueued: now });
        self.read(capacity, now);
    }

    /// The network threads read every unmuted connection's oldest request while the queue has
    /// room; reading a request mutes its connection.
    fn read(&mut self, capacity: usize, now: SimTime) {
        let mut i = 0;
        while i < self.unread.len() && self.queue.len() < capacity {
            if self.muted.contains(&connection(&self.unread[i])) {
                i += 1;
                continue;
            }
            let mut request = self.unread.remove(i).expect("index in range");
            request.enqueued = now;
            self.muted.insert(connection(&request));
            self.queue.push_back(request);
            self.stats.max_depth = self.stats.max_depth.max(self.queue.len());
        }
    }

    /// A free handler (of `threads`) takes the oldest queued request; it works on it for
    /// `service(request)`. The freed slot lets the network threads read again.
    pub fn take(
        &mut self,
        threads: u32,
        capacity: usize,
        now: SimTime,
        service: impl Fn(&Request) -> SimDuration,
    ) -> Option<(Request, SimDuration)> {
        if self.busy >= threads {
            return None;
        }
        let request = self.queue.pop_front()?;
        let time = service(&request);
        self.busy += 1;
        self.stats.handled += 1;
        self.stats.queue_time = self.stats.queue_time + now.saturating_since(request.enqueued);
        self.read(capacity, now);
        Some((request, time))
    }

    /// A handler finished a request it worked on for `time`.
    pub fn finish(&mut self, time: SimDuration) {
        assert!(self.busy > 0, "a handler finished that was not busy");
        self.busy -= 1;
        self.stats.busy = self.stats.busy + time;
    }

    /// The response on `from`'s connection was sent: read its next request.
    pub fn unmute(&mut self, from: NodeId, capacity: usize, now: SimTime) {
        let was_muted = self.muted.remove(&(from, false));
        debug_assert!(was_muted, "{from}: a response on a connection with no request in process");
        self.read(capacity, now);
    }

    /// The response on `from`'s group coordinator connection was sent.
    pub fn unmute_coordinator(&mut self, from: NodeId, capacity: usize, now: SimTime) {
        let was_muted = self.muted.remove(&(from, true));
        debug_assert!(was_muted, "{from}: a coordinator response with no request in process");
        self.read(capacity, now);
    }

    /// The broker closed `from`'s connection: the requests it had not read yet are gone with it.
    pub fn drop_unread(&mut self, from: NodeId) {
        self.unread.retain(|r| connection(r) != (from, false));
    }

    /// Handlers working on a request now.
    pub fn busy(&self) -> u32 {
        self.busy
    }

    /// Requests waiting for a handler (`RequestQueueSize`).
    pub fn depth(&self) -> usize {
        self.queue.len()
    }

    /// Requests not yet read off their connections.
    pub fn unread(&self) -> usize {
        self.unread.len()
    }

    /// Counters so far.
    pub fn stats(&self) -> RequestStats {
        self.stats
    }

    /// A crash: every request in the broker is gone (the counters stay).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.unread.clear();
        self.muted.clear();
        self.busy = 0;
    }
}

/// The connection a request came on: the client's own, or its coordinator connection.
fn connection(request: &Request) -> (NodeId, bool) {
    let coordinator = matches!(&request.msg, Message::Group(g) if g.is_coordinator_request());
    (request.from, coordinator)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn req(n: u64) -> Message {
        Message::MetadataRequest { correlation_id: n, topics: vec![] }
    }

    fn id(m: &Message) -> u64 {
        match m {
            Message::MetadataRequest { correlation_id, .. } => *correlation_id,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_connection_has_one_request_in_process_and_the_queue_is_bounded() {
        let (a, b, c) = (NodeId::producer(1), NodeId::consumer(1), NodeId::broker(2));
        let mut ch = RequestChannel::default();
        let ms = SimTime::from_ms;
        ch.receive(a, req(1), 2, ms(0));
        ch.receive(a, req(2), 2, ms(0));
        ch.receive(b, req(3), 2, ms(0));
        ch.receive(c, req(4), 2, ms(0));
        assert_eq!((ch.depth(), ch.unread()), (2, 2), "a's second request waits for a's first; c for room");
        let service = |_: &Request| SimDuration::from_us(10);
        let (first, time) = ch.take(1, 2, ms(1), service).unwrap();
        assert_eq!((id(&first.msg), time), (1, SimDuration::from_us(10)));
        assert_eq!(ch.depth(), 2, "the freed slot is read at once: c's request (a is still muted)");
        assert!(ch.take(1, 2, ms(1), service).is_none(), "one handler, busy");
        ch.finish(SimDuration::from_us(10));
        ch.unmute(a, 2, ms(2));
        assert_eq!(ch.unread(), 1, "a's second request waits for room");
        let mut order = vec![];
        while let Some((r, _)) = ch.take(1, 2, ms(3), service) {
            order.push(id(&r.msg));
            ch.finish(SimDuration::from_us(10));
        }
        assert_eq!(order, [3, 4, 2]);
        // Queued 0→1 ms (#1), 0→3 ms (#3), 1→3 ms (#4), 3→3 ms (#2).
        assert_eq!(ch.stats().queue_time, SimDuration::from_ms(6));
        assert_eq!((ch.stats().handled, ch.stats().max_depth), (4, 2));
    }
}
