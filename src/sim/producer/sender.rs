//! The Sender and NetworkClient side: metadata, producer ids, ready/drain, in-flight requests,
//! responses, retries, expiry.

use super::*;
use crate::sim::collections::CollectSet;
use crate::sim::config::request_expiry;

impl Producer {
    fn next_correlation_id(&mut self) -> u64 {
        let id = self.correlation_id_next;
        self.correlation_id_next += 1;
        id
    }

    /// The brokers this producer knows: from metadata, else the bootstrap list.
    fn known_nodes(&self) -> Vec<u16> {
        if self.metadata.brokers.is_empty() {
            self.bootstrap.clone()
        } else {
            self.metadata.brokers.clone()
        }
    }

    /// The broker with the fewest requests in flight among those not in reconnect backoff
    /// (Kafka `leastLoadedNode`), ties broken by a random start; none while every node is
    /// backing off (`canConnect` is false for all: the request waits).
    fn least_loaded_node(&mut self, now: SimTime) -> Option<u16> {
        let nodes = self.known_nodes();
        let start = self.rng.below(nodes.len() as u64) as usize;
        let ordered = (0..nodes.len()).map(|i| nodes[(start + i) % nodes.len()]);
        ordered.filter(|b| !self.backing_off(*b, now)).min_by_key(|b| self.in_flight.get(b).map_or(0, VecDeque::len))
    }

    /// When `node`'s reconnect backoff ends, if it has one.
    fn backoff_end(&self, node: u16) -> Option<SimTime> {
        self.reconnect.ends(node, self.config.reconnect_backoff, self.config.reconnect_backoff_max)
    }

    /// Whether `node` is in reconnect backoff (`reconnect.backoff.ms`, doubling to
    /// `reconnect.backoff.max.ms`): `NetworkClient` neither connects to it nor sends to it.
    fn backing_off(&self, node: u16, now: SimTime) -> bool {
        self.reconnect.blocks(node, now, self.config.reconnect_backoff, self.config.reconnect_backoff_max)
    }

    /// The earliest end of a reconnect backoff still running.
    fn next_backoff_end(&self, now: SimTime) -> Option<SimTime> {
        self.known_nodes().into_iter().filter_map(|n| self.backoff_end(n)).filter(|end| *end > now).min()
    }

    /// Wakes the sender when the earliest reconnect backoff ends (a request waits for a node).
    fn wake_at_backoff_end(&mut self, ctx: &mut Ctx) {
        if let Some(end) = self.next_backoff_end(ctx.now) {
            self.arm_wakeup_at(ctx, end);
        }
    }

    fn note_connection_failure(&mut self, node: u16, now: SimTime) {
        self.reconnect.failed(node, now);
    }

    /// The connection to `peer` was reset (its process died, or it hung up): every request in
    /// flight to it fails with `NETWORK_EXCEPTION`, metadata is refreshed, and the node backs off.
    pub(super) fn on_disconnect(&mut self, ctx: &mut Ctx, peer: u16) {
        self.fail_connection(ctx, peer, None);
    }

    /// `processDisconnection`: the connection to `node` is gone, and so is every request on it,
    /// whatever its kind (`REQUEST_TIMED_OUT` for `timed_out`, the one that expired,
    /// `NETWORK_EXCEPTION` for the others); the node backs off, metadata is refreshed.
    fn fail_connection(&mut self, ctx: &mut Ctx, node: u16, timed_out: Option<u64>) {
        self.note_connection_failure(node, ctx.now);
        if self.metadata.in_flight.is_some() && self.metadata.in_flight_node == node {
            self.metadata.in_flight = None;
        }
        if self.idempotence.init_in_flight.is_some() && self.idempotence.init_node == node {
            self.idempotence.init_in_flight = None;
        }
        for flight in self.in_flight.remove(&node).unwrap_or_default() {
            let error = if Some(flight.correlation_id) == timed_out {
                ErrorCode::RequestTimedOut
            } else {
                ErrorCode::NetworkException
            };
            for batch in flight.batches {
                self.handle_failed_batch(ctx, batch, error);
            }
        }
        self.metadata.update_requested = true;
        self.run_sender(ctx);
    }

    fn leader_of(&self, tp: &Tp) -> Option<u16> {
        self.leader_of_partition(tp.partition)
    }

    fn leader_of_partition(&self, partition: u32) -> Option<u16> {
        self.metadata.leaders.as_ref().and_then(|l| l.get(partition as usize).copied().flatten())
    }

    fn maybe_request_metadata(&mut self, ctx: &mut Ctx) {
        let stale = self.metadata.leaders.is_some()
            && ctx.now.saturating_since(self.metadata.updated) >= self.config.metadata_max_age;
        if (self.metadata.update_requested || stale) && self.metadata.in_flight.is_none() {
            let Some(node) = self.least_loaded_node(ctx.now) else {
                return self.wake_at_backoff_end(ctx);
            };
            let correlation_id = self.next_correlation_id();
            self.metadata.in_flight = Some(correlation_id);
            self.metadata.in_flight_node = node;
            ctx.send(
                NodeId::broker(node),
                Message::MetadataRequest { correlation_id, topics: vec![self.topic.clone()] },
            );
            ctx.set_timer(request_expiry(self.config.request_timeout), Timer::RequestTimeout { correlation_id });
        }
    }

    pub(super) fn on_metadata(
        &mut self,
        ctx: &mut Ctx,
        node: u16,
        correlation_id: u64,
        brokers: Vec<u16>,
        topics: Vec<TopicMetadata>,
    ) {
        if self.metadata.in_flight != Some(correlation_id) {
            return;
        }
        self.reconnect.succeeded(node);
        self.metadata.in_flight = None;
        let Some(topic) = topics.into_iter().find(|t| t.name == self.topic) else { return };
        let leaders: Vec<Option<u16>> = topic.partitions.iter().map(|p| p.leader).collect();
        self.metadata.version += 1;
        self.metadata.available = (0..leaders.len() as u32).filter(|p| leaders[*p as usize].is_some()).collect();
        self.metadata.leaders = Some(leaders.clone());
        self.metadata.leader_epochs = topic.partitions.iter().map(|p| p.leader_epoch).collect();
        let epochs = &self.metadata.leader_epochs;
        self.accumulator.update_leader_epochs(&|tp: &Tp| epochs.get(tp.partition as usize).copied());
        self.metadata.brokers = brokers;
        self.metadata.updated = ctx.now;
        self.metadata.update_requested = false;
        ctx.trace(TraceKind::MetadataUpdated { version: self.metadata.version, leaders });
        self.on_metadata_ready(ctx);
        self.run_sender(ctx);
    }

    /// Asks for a producer id at start; later resolves unresolved sequences and bumps the epoch
    /// where a gap is real (`maybeResolveSequences`, `bumpIdempotentEpochAndResetIdIfNeeded`).
    fn maybe_init_producer_id(&mut self, ctx: &mut Ctx) {
        if !self.config.idempotence || self.idempotence.init_in_flight.is_some() {
            return;
        }
        let (producer_id, producer_epoch) = match self.idempotence.producer_id {
            None => (-1, -1),
            Some(current) => {
                self.resolve_sequences();
                if !self.bump_due() {
                    return;
                }
                if current.1 < i16::MAX {
                    return self.bump_epoch(ctx, current);
                }
                // The epoch is exhausted: a new producer id (`resetIdempotentProducerId`).
                (-1, -1)
            }
        };
        let Some(node) = self.least_loaded_node(ctx.now) else {
            return self.wake_at_backoff_end(ctx);
        };
        let correlation_id = self.next_correlation_id();
        self.idempotence.init_in_flight = Some(correlation_id);
        self.idempotence.init_node = node;
        ctx.send(NodeId::broker(node), Message::InitProducerIdRequest { correlation_id, producer_id, producer_epoch });
        ctx.set_timer(request_expiry(self.config.request_timeout), Timer::RequestTimeout { correlation_id });
    }

    /// Whether `tp` has sequenced batches on the wire.
    fn sequences_in_flight(&self, tp: &Tp) -> bool {
        self.idempotence.in_flight_sequences.get(tp).is_some_and(|s| !s.is_empty())
    }

    /// The sequence after `tp`'s last acknowledged one (0 with none).
    fn after_last_acked(&self, tp: &Tp) -> i32 {
        self.idempotence.last_acked.get(tp).map_or(0, |s| sequence_after(*s, 1))
    }

    /// `maybeResolveSequences`: once an unresolved partition has nothing in flight, the gap
    /// closed by itself if its next sequence follows the last acknowledged one; otherwise its
    /// sequences start again under a new epoch.
    fn resolve_sequences(&mut self) {
        // `hasInflightBatches`: on the wire, or drained and waiting to be retried.
        let settled: Vec<Tp> = self
            .idempotence
            .unresolved
            .iter()
            .filter(|tp| !self.sequences_in_flight(tp) && !self.accumulator.has_sequenced(tp))
            .cloned()
            .collect();
        for tp in settled {
            self.idempotence.unresolved.remove(&tp);
            let next = self.idempotence.next_sequence.get(&tp).copied().unwrap_or(0);
            if next != self.after_last_acked(&tp) {
                self.idempotence.bump_requested.insert(tp);
            }
        }
    }

    /// A bump is requested and none of its partitions has a batch on the wire any more.
    fn bump_due(&self) -> bool {
        let requested = &self.idempotence.bump_requested;
        !requested.is_empty() && requested.iter().all(|tp| !self.sequences_in_flight(tp))
    }

    /// `bumpIdempotentProducerEpoch`: the epoch goes up by one in the client, with no request;
    /// the partitions that asked for it start their sequences again at 0, the others once their
    /// batches of the old epoch are done (see `drain_and_send`).
    fn bump_epoch(&mut self, ctx: &mut Ctx, (producer_id, epoch): (i64, i16)) {
        let bumped = (producer_id, epoch + 1);
        self.idempotence.producer_id = Some(bumped);
        for tp in std::mem::take(&mut self.idempotence.bump_requested) {
            self.idempotence.unresolved.remove(&tp);
            self.accumulator.reset_sequences_of(&tp);
            self.idempotence.next_sequence.insert(tp.clone(), 0);
            self.idempotence.last_acked.remove(&tp);
            self.idempotence.partition_epoch.insert(tp, bumped);
        }
        ctx.trace(TraceKind::ProducerIdAssigned { producer_id, epoch: bumped.1 });
        // Its partitions may drain now (a bump found after this pass's drain waits for no
        // other event).
        self.arm_wakeup_at(ctx, ctx.now);
    }

    pub(super) fn on_init_producer_id(
        &mut self,
        ctx: &mut Ctx,
        correlation_id: u64,
        error: ErrorCode,
        producer_id: i64,
        epoch: i16,
    ) {
        if self.idempotence.init_in_flight != Some(correlation_id) {
            return;
        }
        self.idempotence.init_in_flight = None;
        if error == ErrorCode::None {
            if self.idempotence.producer_id.is_some() {
                // An epoch bump: every partition's sequences start again at 0.
                self.idempotence.next_sequence.clear();
                self.idempotence.in_flight_sequences.clear();
                self.idempotence.unresolved.clear();
                self.idempotence.bump_requested.clear();
                self.idempotence.last_acked.clear();
                self.idempotence.partition_epoch.clear();
                self.accumulator.reset_sequences();
            }
            self.idempotence.producer_id = Some((producer_id, epoch));
            ctx.trace(TraceKind::ProducerIdAssigned { producer_id, epoch });
        }
        self.run_sender(ctx);
    }

    fn can_send_more(&self, node: u16) -> bool {
        self.in_flight.get(&node).map_or(0, VecDeque::len) < self.config.in_flight_requests_max as usize
    }

    /// One pass of `Sender.sendProducerData`.
    pub(super) fn run_sender(&mut self, ctx: &mut Ctx) {
        let (sends, traces) = (ctx.out.sends.len(), ctx.out.trace.len());
        self.maybe_request_metadata(ctx);
        self.maybe_init_producer_id(ctx);
        let mut ready = std::mem::take(&mut self.ready_scratch);
        {
            let leader_of = |tp: &Tp| self.leader_of(tp);
            self.accumulator.ready_into(&leader_of, ctx.now, &mut ready);
        }
        if !ready.unknown_leader_topics.is_empty() {
            self.metadata.update_requested = true;
            self.maybe_request_metadata(ctx);
        }
        self.update_load_stats();
        self.note_ready_nodes(ctx.now, &ready);
        // Draining a node adds to its own requests in flight only (with acks=0 it completes
        // batches, whose callbacks may run a nested pass, which adds nothing in flight either),
        // so the room of the nodes after it reads as before the first drain: no list is made.
        let mut drained_none = true;
        for &node in &ready.ready_nodes {
            if !self.can_send_more(node) {
                continue;
            }
            // `NetworkClient.ready` is false during a reconnect backoff: the node is drained
            // when it ends (`pollDelayMs`).
            if let Some(end) = self.backoff_end(node).filter(|end| *end > ctx.now) {
                self.arm_wakeup_at(ctx, end);
                continue;
            }
            drained_none = false;
            self.drain_and_send(ctx, node);
        }
        self.expire_batches(ctx);
        self.maybe_init_producer_id(ctx);
        let mut next = ready.next_ready_check_ms;
        if let Some(e) = self.accumulator.next_expiry_ms(self.config.delivery_timeout.as_ms(), ctx.now) {
            next = Some(next.map_or(e, |n| n.min(e)));
        }

        let mut wake = next.map(|ms| ctx.now + SimDuration::from_ms(ms.max(1)));
        // `maybeUpdateNextBatchExpiryTime` counts batches in flight too: the sender wakes when
        // the oldest of them not expired yet reaches delivery.timeout.ms (a fixed instant, so
        // passes before it arm nothing new).
        if let Some(at) = self.in_flight_expiry(ctx.now) {
            let at = at.max(ctx.now + SimDuration::from_ms(1));
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
        if let Some(at) = wake {
            self.arm_wakeup_at(ctx, at);
        }
        let idle = drained_none
            && ready.unknown_leader_topics.is_empty()
            && (sends, traces) == (ctx.out.sends.len(), ctx.out.trace.len());
        self.ready_scratch = ready;
        self.sender_idle = if idle { SenderIdle::Since(ctx.now) } else { SenderIdle::Unknown };
    }

    /// `NodeLatencyStats`: every ready node was ready now, and could be drained now if it has
    /// room for another request.
    fn note_ready_nodes(&mut self, now: SimTime, ready: &accumulator::ReadyCheck) {
        if !self.node_stats_are_read() {
            return;
        }
        for node in &ready.ready_nodes {
            // `updateNodeLatencyStats(node, now, false)` for a node `NetworkClient` cannot
            // send to: no room in flight, or in reconnect backoff.
            let has_room = self.can_send_more(*node) && !self.backing_off(*node, now);
            let stats = self.node_stats.entry(*node).or_insert((now, now));
            stats.0 = now;
            if has_room {
                stats.1 = now;
            }
        }
    }

    /// Whether the node latency stats are kept: as in Kafka's `updateNodeLatencyStats`, only
    /// while `partitioner.availability.timeout.ms` is above 0, the only use of them (leaving out
    /// leaders stalled that long). Under backpressure they were updated on every append (a
    /// twentieth of a keyed record's cost) at the default timeout of 0, for a table nothing
    /// would read.
    pub(super) fn node_stats_are_read(&self) -> bool {
        self.config.availability_timeout > SimDuration::ZERO
    }

    /// After a pass at `now` that drained, expired and requested nothing (and no input since):
    /// the first instant at which one could do otherwise, or arm another wakeup, with nothing
    /// but time passing. A pass reads time only through whole milliseconds since each deque head's creation and last
    /// attempt (readiness, backoff, expiry, and the wakeup it arms), the age of each request in
    /// flight against `delivery.timeout.ms`, the metadata's age, and the wakeup already armed.
    fn idle_until(&self, now: SimTime) -> SimTime {
        let next_whole_ms = |since: SimTime| since + SimDuration::from_ms(now.saturating_since(since).as_ms() + 1);
        let mut until = self.wakeup_at.unwrap_or(SimTime::MAX);
        for head in self.accumulator.deques().values().filter_map(VecDeque::front) {
            until = until.min(next_whole_ms(head.created)).min(next_whole_ms(head.last_attempt));
        }
        if let Some(expiry) = self.in_flight_expiry(now) {
            until = until.min(expiry);
        }
        if self.metadata.leaders.is_some() {
            until = until.min(self.metadata.updated + self.config.metadata_max_age);
        }
        if let Some(end) = self.next_backoff_end(now) {
            until = until.min(end);
        }
        until
    }

    /// Whether a pass of the sender now would be exactly the idle pass the last one was: only
    /// the next record reached the producer since (see [`Producer::idle_until`]), and it
    /// went into a batch behind its deque's head, which no pass reads. The first time it is
    /// asked after an idle pass it works out until when that holds, and keeps it.
    pub(super) fn idle_pass_suffices(&mut self, now: SimTime) -> bool {
        if let SenderIdle::Since(at) = self.sender_idle {
            self.sender_idle = SenderIdle::Until(self.idle_until(at));
        }
        matches!(self.sender_idle, SenderIdle::Until(until) if now < until)
    }

    /// The sender pass for [`Producer::idle_pass_suffices`]: of a full pass, only what depends on the
    /// time alone is left (the load stats and each ready node's latency stats).
    ///
    /// Worth its comment: under backpressure (every deque longer than one batch, every leader
    /// at `max.in.flight.requests.per.connection`) Kafka wakes the sender on every append, and
    /// these passes were a fifth of a record's cost.
    pub(super) fn run_idle_sender(&mut self, ctx: &mut Ctx) {
        #[cfg(debug_assertions)]
        let full = self.full_pass_on_a_copy(ctx);
        self.stats.idle_sender_passes += 1;
        self.update_load_stats();
        // Checked here too, not only in `note_ready_nodes`: this runs once per record under
        // backpressure, and moving the ready set out and back costs more than the check.
        if self.node_stats_are_read() {
            let ready = std::mem::take(&mut self.ready_scratch);
            self.note_ready_nodes(ctx.now, &ready);
            self.ready_scratch = ready;
        }
        #[cfg(debug_assertions)]
        {
            assert_eq!((full.wakeup_at, &full.node_stats), (self.wakeup_at, &self.node_stats), "idle pass differs");
            assert_eq!(format!("{:?}", full.sticky), format!("{:?}", self.sticky), "idle pass differs");
        }
    }

    /// Debug builds check every idle pass against a full one on a copy, which must do nothing.
    /// The copy leaves out the acknowledged records (no pass reads them; copying them made a
    /// long test quadratic).
    #[cfg(debug_assertions)]
    fn full_pass_on_a_copy(&mut self, ctx: &Ctx) -> Producer {
        let acked = std::mem::take(&mut self.acked);
        let mut copy = self.clone();
        self.acked = acked;
        let mut out = crate::sim::node::Outbox::default();
        copy.run_sender(&mut Ctx { now: ctx.now, me: ctx.me, out: &mut out });
        assert!(out.sends.is_empty() && out.trace.is_empty() && out.timers.is_empty(), "an idle pass did something");
        assert!(copy.sender_idle != SenderIdle::Unknown, "an idle pass was not idle");
        copy
    }

    /// Kafka's `partitionReady` load stats for adaptive partitioning: once every partition has a
    /// deque, the queue size (batches) of each partition with a leader, leaving out partitions
    /// whose leader has had ready data it could not drain for `partitioner.availability.timeout.ms`.
    ///
    /// Only the sticky partitioner reads them, so a workload that never goes through it (keys,
    /// an explicit partition, round-robin) skips this: it ran on every wakeup of the sender,
    /// which under backpressure is every record, for a table nothing would read.
    fn update_load_stats(&mut self) {
        if !self.workload_is_sticky() {
            return;
        }
        let partitions = self.metadata.leaders.as_ref().map_or(0, Vec::len);
        let deques = self.accumulator.deques();
        if !self.config.adaptive_partitioning || self.config.round_robin || partitions == 0 || deques.len() < partitions
        {
            self.sticky.update_load_stats(None);
            return;
        }
        let timeout = self.config.availability_timeout;
        let (mut queue_sizes, mut ids) = std::mem::take(&mut self.load_scratch);
        queue_sizes.clear();
        queue_sizes.resize(deques.len(), 0);
        ids.clear();
        ids.resize(deques.len(), 0);
        let entries = deques.iter().map(|(tp, deque)| {
            let stalled = |leader: u16| {
                self.node_stats_are_read()
                    && self
                        .node_stats
                        .get(&leader)
                        .is_some_and(|(ready, drain)| ready.saturating_since(*drain) > timeout)
            };
            (tp.partition, self.leader_of_partition(tp.partition).map(stalled), deque.len() as u32)
        });
        let filled = load_slots(entries, &mut queue_sizes, &mut ids);
        self.sticky.update_load_stats(Some((&queue_sizes[..filled], &ids[..filled], deques.len())));
        self.load_scratch = (queue_sizes, ids);
    }

    pub(super) fn arm_wakeup(&mut self, ctx: &mut Ctx, after_ms: u64) {
        self.arm_wakeup_at(ctx, ctx.now + SimDuration::from_ms(after_ms));
    }

    /// [`Producer::arm_wakeup`] at an instant.
    fn arm_wakeup_at(&mut self, ctx: &mut Ctx, at: SimTime) {
        if self.wakeup_at.is_none_or(|armed| at < armed || armed <= ctx.now) {
            self.wakeup_at = Some(at);
            self.sender_idle = SenderIdle::Unknown;
            ctx.set_timer(at - ctx.now, Timer::SenderWakeup);
        }
    }

    fn partitions_led_by(&self, node: u16) -> Vec<Tp> {
        let Some(leaders) = &self.metadata.leaders else { return vec![] };
        (0..leaders.len() as u32)
            .filter(|p| leaders[*p as usize] == Some(node))
            .map(|p| Tp::new(&self.topic, p))
            .collect()
    }

    fn drain_and_send(&mut self, ctx: &mut Ctx, node: u16) {
        let partitions = self.partitions_led_by(node);
        let max = self.config.max_request_size;
        let idempotent = self.config.idempotence;
        let pid = self.idempotence.producer_id;
        // Read in place while the accumulator drains (fields apart from the accumulator).
        let Idempotence {
            in_flight_sequences,
            unresolved,
            bump_requested,
            partition_epoch,
            next_sequence,
            last_acked,
            ..
        } = &mut self.idempotence;
        let (in_flight_sequences, unresolved, bump_requested) = (&*in_flight_sequences, &*unresolved, &*bump_requested);
        // Partitions with batches of an older epoch still in flight (after a bump; none before).
        let mut old_epoch_in_flight = VecSet::new();
        if pid.is_some_and(|p| partition_epoch.values().any(|e| *e != p)) {
            old_epoch_in_flight = partitions
                .iter()
                .filter(|tp| partition_epoch.get(*tp) != pid.as_ref())
                .filter(|tp| in_flight_sequences.get(*tp).is_some_and(|s| !s.is_empty()))
                .cloned()
                .collect_set();
        }
        // A partition waiting for its epoch bump sends nothing (its retries go out renumbered
        // after it); a new batch waits while its partition has an unresolved gap or batches of an
        // older epoch in flight.
        let stop = |b: &ProducerBatch| {
            should_stop_drain(idempotent, pid.is_some(), in_flight_sequences, b)
                || (idempotent && bump_requested.contains(&b.tp))
                || (idempotent
                    && b.sequence.is_none()
                    && (unresolved.contains(&b.tp) || old_epoch_in_flight.contains(&b.tp)))
        };
        let leader_epochs = &self.metadata.leader_epochs;
        let batches =
            self.accumulator.drain_node(node, &partitions, max, ctx.now, &stop, &mut |b: &mut ProducerBatch| {
                b.maybe_update_leader_epoch(leader_epochs.get(b.tp.partition as usize).copied());
                if let (true, Some((id, epoch)), None) = (idempotent, pid, b.sequence) {
                    if partition_epoch.get(&b.tp) != Some(&(id, epoch)) {
                        // The partition's first batch under this epoch: `maybeUpdateProducerIdAndEpoch`.
                        partition_epoch.insert(b.tp.clone(), (id, epoch));
                        next_sequence.insert(b.tp.clone(), 0);
                        last_acked.remove(&b.tp);
                    }
                    let seq = next_sequence.entry(b.tp.clone()).or_insert(0);
                    b.sequence = Some((id, epoch, *seq));
                    *seq = sequence_after(*seq, i64::from(b.record_count()));
                }
            });
        if !batches.is_empty() {
            self.send_produce_request(ctx, node, batches);
        }
    }

    fn send_produce_request(&mut self, ctx: &mut Ctx, node: u16, batches: Vec<ProducerBatch>) {
        let correlation_id = self.next_correlation_id();
        let guarantee_order = self.config.in_flight_requests_max == 1;
        let mut wire = Vec::with_capacity(batches.len());
        for b in &batches {
            let encoded = b.wire.clone().expect("encoded at drain");
            let base_sequence = b.sequence.map_or(-1, |(_, _, s)| s);
            self.stats.queue_time_ms_total += ctx.now.saturating_since(b.created).as_ms();
            self.stats.batches_sent += 1;
            self.stats.batch_bytes_sent += u64::from(encoded.size_bytes());
            self.stats.records_in_requests += u64::from(b.record_count());
            ctx.trace(TraceKind::BatchDrained {
                tp: b.tp.clone(),
                batch_id: b.batch_id,
                records: b.record_count(),
                bytes: encoded.size_bytes(),
                base_sequence,
                to: node,
            });
            if base_sequence >= 0 {
                self.idempotence.in_flight_sequences.entry(b.tp.clone()).or_default().insert(base_sequence);
            }
            if guarantee_order {
                self.accumulator.mute(&b.tp);
            }
            wire.push((b.tp.clone(), encoded));
        }
        self.stats.requests += 1;
        let request = ProduceRequest {
            correlation_id,
            acks: self.config.acks,
            timeout: self.config.request_timeout,
            batches: wire,
        };
        ctx.send(NodeId::broker(node), Message::ProduceRequest(request));
        if self.config.acks == Acks::None {
            for b in batches {
                self.complete_batch(ctx, b, -1, None);
            }
            return;
        }
        ctx.set_timer(request_expiry(self.config.request_timeout), Timer::RequestTimeout { correlation_id });
        let oldest_created = batches.iter().map(|b| b.created).min().unwrap_or(ctx.now);
        self.in_flight.entry(node).or_default().push_back(InFlight {
            correlation_id,
            batches,
            sent: ctx.now,
            oldest_created,
        });
    }

    pub(super) fn on_produce_response(
        &mut self,
        ctx: &mut Ctx,
        node: u16,
        correlation_id: u64,
        responses: Vec<ProducePartitionResponse>,
    ) {
        let Some(queue) = self.in_flight.get_mut(&node) else { return };
        let Some(i) = queue.iter().position(|f| f.correlation_id == correlation_id) else { return };
        let flight = queue.remove(i).expect("position exists");
        self.reconnect.succeeded(node);
        self.stats.responses += 1;
        self.stats.request_latency_ms_total += ctx.now.saturating_since(flight.sent).as_ms();
        for batch in flight.batches {
            let resp = responses.iter().find(|r| r.tp == batch.tp);
            match resp.map(|r| (r.error, r.base_offset)) {
                Some((ErrorCode::None, base_offset)) => self.complete_batch(ctx, batch, base_offset, None),
                Some((error, _)) => self.handle_failed_batch(ctx, batch, error),
                None => self.handle_failed_batch(ctx, batch, ErrorCode::UnknownTopicOrPartition),
            }
        }
        self.run_sender(ctx);
    }

    /// A request timed out: `NetworkClient` disconnects the node, so every request in flight to
    /// it fails (`REQUEST_TIMED_OUT` for this one, `NETWORK_EXCEPTION` for the others), whatever
    /// its kind: Produce, Metadata or InitProducerId (`handleTimedOutRequests` →
    /// `processDisconnection` clears the node's in-flight requests).
    pub(super) fn on_request_timeout(&mut self, ctx: &mut Ctx, correlation_id: u64) {
        let node = if self.metadata.in_flight == Some(correlation_id) {
            self.metadata.in_flight_node
        } else if self.idempotence.init_in_flight == Some(correlation_id) {
            self.idempotence.init_node
        } else {
            match self.produce_in_flight_to(correlation_id) {
                Some(node) => node,
                None => return,
            }
        };
        // NetworkClient closes the connection on a request timeout.
        ctx.close(NodeId::broker(node));
        self.fail_connection(ctx, node, Some(correlation_id));
    }

    /// Retry if allowed (`canRetry`), split on MESSAGE_TOO_LARGE, else fail the records.
    fn handle_failed_batch(&mut self, ctx: &mut Ctx, mut batch: ProducerBatch, error: ErrorCode) {
        if batch.done {
            return;
        }
        self.stats.batch_errors += 1;
        self.release_sequence(&batch);
        self.accumulator.unmute(&batch.tp);
        if error == ErrorCode::MessageTooLarge && batch.record_count() > 1 {
            ctx.trace(TraceKind::ProduceFailed {
                tp: batch.tp.clone(),
                batch_id: batch.batch_id,
                error,
                will_retry: true,
            });
            self.split_and_reenqueue(ctx, batch);
            return;
        }
        if error == ErrorCode::OutOfOrderSequenceNumber {
            self.note_sequence_gap(&batch);
        }
        let can_retry = error.is_retriable()
            && batch.attempts < self.config.retries
            && !batch.delivery_timed_out(self.config.delivery_timeout.as_ms(), ctx.now);
        ctx.trace(TraceKind::ProduceFailed {
            tp: batch.tp.clone(),
            batch_id: batch.batch_id,
            error,
            will_retry: can_retry,
        });
        if matches!(
            error,
            ErrorCode::NotLeaderOrFollower | ErrorCode::UnknownTopicOrPartition | ErrorCode::NetworkException
        ) {
            self.metadata.update_requested = true;
        }
        if !can_retry {
            self.fail_batch(ctx, batch, error);
            return;
        }
        let backoff = self.backoff.backoff_ms(batch.attempts, &mut self.rng);
        batch.reenqueued(ctx.now, backoff);
        batch.maybe_update_leader_epoch(self.metadata.leader_epochs.get(batch.tp.partition as usize).copied());
        self.stats.records_retried += u64::from(batch.record_count());
        ctx.trace(TraceKind::BatchRequeued {
            tp: batch.tp.clone(),
            batch_id: batch.batch_id,
            attempts: batch.attempts,
            backoff_ms: backoff,
        });
        if batch.sequence.is_some() {
            self.accumulator.insert_in_sequence_order(batch);
        } else {
            self.accumulator.reenqueue(batch);
        }
    }

    /// `canRetry` for OUT_OF_ORDER_SEQUENCE_NUMBER: the idempotent producer retries it, and when
    /// the batch is the next after the last acknowledged sequence (and no gap is unresolved), the
    /// broker has lost sequences it acknowledged: the partition asks for an epoch bump, and the
    /// retry goes out under the new epoch from sequence 0.
    fn note_sequence_gap(&mut self, batch: &ProducerBatch) {
        let Some((id, epoch, sequence)) = batch.sequence else { return };
        let current = self.idempotence.partition_epoch.get(&batch.tp) == Some(&(id, epoch));
        if current && !self.idempotence.unresolved.contains(&batch.tp) && sequence == self.after_last_acked(&batch.tp) {
            self.idempotence.bump_requested.insert(batch.tp.clone());
        }
    }

    /// `splitAndReenqueue`: re-packs the records into smaller batches outside the pool, with
    /// consecutive sequences if the original had one; no retry is consumed. The first split uses
    /// `batch.size`; a batch that is itself a split is re-split at
    /// `max(largest record, estimated size / 2)` — Kafka's fix for KAFKA-8350
    /// (apache/kafka#20358, after 4.0), without which an uncompressed batch above
    /// `max.message.bytes` but within `batch.size` is re-sent unchanged until it expires.
    fn split_and_reenqueue(&mut self, ctx: &mut Ctx, batch: ProducerBatch) {
        self.accumulator.deallocate(&batch);
        let records = batch.records();
        let largest = records.iter().map(|r| self.accumulator.buffer_size_for_unbatched(r)).max().unwrap_or(0);
        let split_size =
            if batch.is_split { largest.max(batch.estimated_size() / 2) } else { self.config.batch_size_bytes.max(1) };
        let mut pieces: Vec<ProducerBatch> = Vec::new();
        for (record, send) in records.iter().zip(batch.sends().iter().copied()) {
            let appended = pieces.last_mut().and_then(|piece| piece.try_append(record, send, ctx.now));
            if appended.is_none() {
                let capacity = split_size.max(self.accumulator.buffer_size_for_unbatched(record));
                let mut piece = ProducerBatch::new(batch.batch_id, batch.tp.clone(), capacity, batch.created);
                piece.is_split = true;
                piece.try_append(record, send, ctx.now).expect("first record fits");
                pieces.push(piece);
            }
        }
        let mut seq = batch.sequence;
        for piece in &mut pieces {
            // Kafka's `split` closes every piece: none takes new records (a record appended to
            // a sequenced piece would reuse sequences).
            piece.close_for_appends();
            if let Some((id, epoch, s)) = seq {
                piece.sequence = Some((id, epoch, s));
                seq = Some((id, epoch, s + piece.record_count() as i32));
            }
        }
        for piece in pieces.into_iter().rev() {
            self.accumulator.reenqueue(piece);
        }
    }

    fn release_sequence(&mut self, batch: &ProducerBatch) {
        if let Some((_, _, s)) = batch.sequence {
            if let Some(set) = self.idempotence.in_flight_sequences.get_mut(&batch.tp) {
                set.remove(&s);
            }
        }
    }

    fn complete_batch(&mut self, ctx: &mut Ctx, mut batch: ProducerBatch, base_offset: i64, error: Option<ErrorCode>) {
        if batch.done {
            return;
        }
        batch.done = true;
        self.release_sequence(&batch);
        let current_epoch = batch
            .sequence
            .is_some_and(|(id, epoch, _)| self.idempotence.partition_epoch.get(&batch.tp) == Some(&(id, epoch)));
        if error.is_some() && current_epoch && self.config.idempotence {
            // This sequence will never reach the broker: later ones would be out of order.
            self.idempotence.unresolved.insert(batch.tp.clone());
        }
        if let (None, Some((id, epoch, base))) = (error, batch.sequence) {
            if self.idempotence.partition_epoch.get(&batch.tp) == Some(&(id, epoch)) {
                let last = sequence_after(base, i64::from(batch.record_count()) - 1);
                self.idempotence.last_acked.insert(batch.tp.clone(), last);
            }
        }
        self.accumulator.unmute(&batch.tp);
        self.accumulator.deallocate(&batch);
        if error.is_none() {
            let latency = ctx.now.saturating_since(batch.created);
            ctx.trace(TraceKind::ProduceAcked {
                tp: batch.tp.clone(),
                batch_id: batch.batch_id,
                base_offset,
                records: batch.record_count(),
                latency,
            });
        }
        let first_offset = if base_offset < 0 || error.is_some() { -1 } else { base_offset };
        if first_offset >= 0 {
            for (i, (send, fingerprint)) in batch.sends_and_fingerprints().enumerate() {
                let offset = first_offset + i as i64;
                self.acked.push(AckedRecord { partition: batch.tp.partition, offset, fingerprint, send });
            }
        }
        let tp = batch.tp.clone();
        self.complete_sends(ctx, batch.into_sends(), Some(tp), first_offset, error);
        self.on_memory_freed(ctx);
    }

    fn fail_batch(&mut self, ctx: &mut Ctx, batch: ProducerBatch, error: ErrorCode) {
        self.complete_batch(ctx, batch, -1, Some(error));
    }

    /// When the oldest batch in flight that has not expired yet reaches `delivery.timeout.ms`
    /// (an expired one stays in its request, marked done, until the request ends).
    fn in_flight_expiry(&self, now: SimTime) -> Option<SimTime> {
        let timeout = self.config.delivery_timeout;
        let first = self.in_flight.values().flatten().map(|f| f.oldest_created).min()? + timeout;
        if first > now {
            // Nothing in flight has expired yet (the usual case, read on every pass): no batch
            // is looked at.
            return Some(first);
        }
        let live = self.in_flight.values().flatten().flat_map(|f| f.batches.iter()).filter(|b| !b.done);
        live.map(|b| b.created).min().map(|created| created + timeout)
    }

    /// Expires batches past `delivery.timeout.ms`, queued (from each deque head) and in flight.
    fn expire_batches(&mut self, ctx: &mut Ctx) {
        let timeout = self.config.delivery_timeout.as_ms();
        let mut expired = self.accumulator.expired(timeout, ctx.now);
        for queue in self.in_flight.values_mut() {
            for flight in queue.iter_mut().filter(|f| ctx.now.saturating_since(f.oldest_created).as_ms() >= timeout) {
                for b in flight.batches.iter_mut().filter(|b| !b.done && b.delivery_timed_out(timeout, ctx.now)) {
                    let mut copy = b.clone();
                    b.done = true;
                    copy.done = false;
                    expired.push(copy);
                }
            }
        }
        for batch in expired {
            let age_ms = ctx.now.saturating_since(batch.created).as_ms();
            ctx.trace(TraceKind::BatchExpired {
                tp: batch.tp.clone(),
                batch_id: batch.batch_id,
                records: batch.record_count(),
                age_ms,
            });
            self.fail_batch(ctx, batch, ErrorCode::Timeout);
        }
    }
}

/// The sequence `records` after `sequence`, wrapping past `Integer.MAX_VALUE` to 0
/// (`DefaultRecordBatch.incrementSequence`).
fn sequence_after(sequence: i32, records: i64) -> i32 {
    (i64::from(sequence) + records).rem_euclid(i64::from(i32::MAX) + 1) as i32
}

/// Kafka's `partitionReady` load slots, in partition order: `(partition, its leader's stall if
/// it has one, deque length)` → how many slots of `sizes` and `ids` hold the partitions left in.
/// A partition with a leader takes the next slot whether or not its deque is empty; an empty one
/// keeps whatever size the slot holds (0, or that of a partition left out just before it); a
/// non-empty partition whose leader has not drained for the availability timeout gives its
/// slot back.
fn load_slots(entries: impl Iterator<Item = (u32, Option<bool>, u32)>, sizes: &mut [u32], ids: &mut [u32]) -> usize {
    let mut filled = 0;
    for (partition, leader, len) in entries {
        let Some(stalled) = leader else { continue };
        ids[filled] = partition;
        filled += 1;
        if len == 0 {
            continue;
        }
        sizes[filled - 1] = len;
        if stalled {
            filled -= 1;
        }
    }
    filled
}

/// `shouldStopDrainBatchesForPartition`: for an idempotent producer, stop while there is no
/// producer id yet, or when the head batch is a retry that is not the first in flight for its
/// partition (which effectively reduces that partition to one request in flight).
/// `in_flight` holds each partition's base sequences in flight; only a retry (a batch that
/// already has a sequence) looks its partition up.
fn should_stop_drain(
    idempotent: bool,
    has_producer_id: bool,
    in_flight: &VecMap<Tp, VecSet<i32>>,
    first: &ProducerBatch,
) -> bool {
    if !idempotent {
        return false;
    }
    if !has_producer_id {
        return true;
    }
    let Some((_, _, sequence)) = first.sequence else { return false };
    in_flight.get(&first.tp).and_then(VecSet::first).is_some_and(|lowest| *lowest != sequence)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::load_slots;

    fn slots(entries: &[(u32, Option<bool>, u32)]) -> (Vec<u32>, Vec<u32>) {
        let (mut sizes, mut ids) = (vec![0; entries.len()], vec![0; entries.len()]);
        let n = load_slots(entries.iter().copied(), &mut sizes, &mut ids);
        (sizes[..n].to_vec(), ids[..n].to_vec())
    }

    #[test]
    fn load_slots_follow_kafkas_partition_ready() {
        // Every partition with a leader is in, an empty deque with size 0.
        assert_eq!(slots(&[(0, Some(false), 2), (1, Some(false), 0), (2, None, 5)]), (vec![2, 0], vec![0, 1]));
        // A stalled leader's non-empty partition is left out, its empty one stays in...
        assert_eq!(slots(&[(0, Some(true), 0), (1, Some(true), 3), (2, Some(false), 1)]), (vec![0, 1], vec![0, 2]));
        // ...and an empty partition right after a left-out one takes over its size (the slot is
        // reused and an empty deque writes no size into it).
        assert_eq!(slots(&[(0, Some(true), 4), (1, Some(false), 0), (2, Some(false), 1)]), (vec![4, 1], vec![1, 2]));
    }
}
