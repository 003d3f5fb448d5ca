//! The application thread: `send()` and `get()`.

use super::*;

impl Producer {
    pub(super) fn on_next_record(&mut self, ctx: &mut Ctx) {
        if self.blocked.is_some() {
            self.record_due = true;
            return;
        }
        let index = self.stats.records_sent;
        if index >= self.workload.records {
            return;
        }
        self.stats.records_sent += 1;
        let mut record = std::mem::take(&mut self.spare_record);
        match self.serialize_into(index, &mut record) {
            Ok(()) => {
                record.timestamp_ms = ctx.now.as_ms() as i64;
                record.headers.clear();
                let now_ms = ctx.now.as_ms() as i64;
                for interceptor in &mut self.interceptors {
                    record = interceptor.on_send(record, now_ms);
                }
                self.send(ctx, index, &mut record, self.workload.partition);
                // The record's buffers serve the next one (a send that blocked took the record).
                self.spare_record = record;
            }
            Err(_) => {
                self.spare_record = record;
                self.complete_send(ctx, index, None, -1, Some(ErrorCode::InvalidRecord));
            }
        }
        if index + 1 < self.workload.records {
            ctx.set_timer(self.record_interval, Timer::NextRecord);
        }
    }

    /// Writes the workload's key and value for record `index` into `record`'s buffers, through
    /// `key.serializer` and `value.serializer` (numbers are the record index for Integer/Long
    /// value serializers), or says why not.
    fn serialize_into(&self, index: u64, record: &mut Record) -> Result<(), String> {
        use super::serde::Serializer as S;
        let reuse = |buffer: &mut Option<Vec<u8>>| buffer.take().unwrap_or_default();
        let index_digits = RecordIndex::new(index);
        record.key = match (&self.workload.key, self.config.key_serializer) {
            (None, _) => None,
            (Some(pattern), S::String | S::ByteArray) => {
                let mut key = reuse(&mut record.key);
                pattern.write_key(&index_digits, &mut key);
                Some(key)
            }
            (Some(pattern), numeric) => Some(numeric.serialize(pattern.key_of(&index_digits))?),
        };
        record.value = Some(match self.config.value_serializer {
            S::String | S::ByteArray => {
                let mut value = reuse(&mut record.value);
                super::write_value_bytes(&index_digits, self.workload.value_bytes, &mut value);
                value
            }
            numeric => numeric.serialize(index_digits.as_str())?,
        });
        Ok(())
    }

    /// `KafkaProducer.send` → `doSend`. A wait takes the record (leaving an empty one).
    fn send(&mut self, ctx: &mut Ctx, send: SendId, record: &mut Record, partition: Option<u32>) {
        if self.metadata.leaders.is_none() {
            self.metadata.update_requested = true;
            self.block(ctx, send, BlockReason::Metadata, Some((std::mem::take(record), partition)));
            self.run_sender(ctx);
            return;
        }
        self.send_with_metadata(ctx, send, record, partition)
    }

    fn send_with_metadata(&mut self, ctx: &mut Ctx, send: SendId, record: &mut Record, partition: Option<u32>) {
        let bound = self.accumulator.buffer_size_for_unbatched(record);
        let (size, upper) = (u64::from(bound), self.accumulator.buffer_size_for_bound(bound));
        // Kafka: RecordTooLargeException for max.request.size / buffer.memory; a batch buffer
        // larger than the whole pool (batch.size > buffer.memory) makes BufferPool.allocate throw.
        let too_large = size > u64::from(self.config.max_request_size) || size > self.config.buffer_memory;
        if too_large || u64::from(upper) > self.accumulator.pool.total() {
            self.complete_send(ctx, send, None, -1, Some(ErrorCode::MessageTooLarge));
            return;
        }
        // Kafka's append loop: a sticky partition whose batches are all full (including the one
        // `tryAppend` just closed) may switch first, and the record then goes to the new one.
        loop {
            let tp = self.choose_partition(record, partition);
            let sticky = self.is_sticky_path(partition, record);
            if sticky && self.maybe_switch(ctx, &tp) {
                continue;
            }
            if let Some(result) = self.accumulator.try_append(&tp, record, send, ctx.now) {
                self.after_append(ctx, send, &tp, result);
                return;
            }
            // The record did not fit, which closed the last batch: a deque whose only batch that
            // was is ready now, and the sticky path may yet append elsewhere, behind a head.
            self.sender_idle = SenderIdle::Unknown;
            if sticky && self.maybe_switch(ctx, &tp) {
                continue;
            }
            if self.accumulator.pool.try_allocate(upper) {
                let result = self.accumulator.append_new_batch(&tp, record, send, upper, ctx.now);
                self.after_append(ctx, send, &tp, result);
                return;
            }
            self.accumulator.pool.waiters.push_back(upper);
            self.block(ctx, send, BlockReason::BufferMemory, Some((std::mem::take(record), Some(tp.partition))));
            self.run_sender(ctx);
            return;
        }
    }

    /// Whether the workload's records go through the sticky partitioner: no explicit
    /// partition, not round-robin, and no keys (or `partitioner.ignore.keys`). A workload's
    /// records are all keyed or all not.
    pub(super) fn workload_is_sticky(&self) -> bool {
        self.workload.partition.is_none()
            && !self.config.round_robin
            && (self.workload.key.is_none() || self.config.ignore_keys)
    }

    fn is_sticky_path(&self, explicit: Option<u32>, record: &Record) -> bool {
        explicit.is_none() && !self.config.round_robin && (record.key.is_none() || self.config.ignore_keys)
    }

    /// The topic's partition count, from metadata.
    fn partition_count(&self) -> u32 {
        self.metadata.leaders.as_ref().expect("metadata known").len() as u32
    }

    /// `partitionChanged`: when every batch of the sticky partition is full, count zero bytes
    /// with switching enabled; true when that moved the partitioner on.
    fn maybe_switch(&mut self, ctx: &mut Ctx, tp: &Tp) -> bool {
        if !self.accumulator.all_batches_full(tp) {
            return false;
        }
        let n = self.partition_count();
        let produced = self.sticky.produced_bytes();
        match self.sticky.on_append(0, true, &mut self.rng, &self.metadata.available, n) {
            Some(next) => {
                ctx.trace(TraceKind::StickySwitched {
                    topic: self.topic.to_string(),
                    from: tp.partition,
                    to: next,
                    produced_bytes: produced,
                });
                true
            }
            None => false,
        }
    }

    /// Explicit partition, else `murmur2(key)` (unless `partitioner.ignore.keys`), else the
    /// round-robin or the current sticky partition.
    fn choose_partition(&mut self, record: &Record, explicit: Option<u32>) -> Tp {
        let partition = match (explicit, &record.key) {
            (Some(p), _) => p,
            (None, Some(key)) if !self.config.ignore_keys => partition_for_key(key, self.partition_count()),
            _ => {
                let n = self.partition_count();
                if self.config.round_robin {
                    self.round_robin.next(&self.metadata.available, n)
                } else {
                    self.sticky.current(&mut self.rng, &self.metadata.available, n)
                }
            }
        };
        Tp::new(&self.topic, partition)
    }

    fn after_append(&mut self, ctx: &mut Ctx, send: SendId, tp: &Tp, result: AppendResult) {
        ctx.trace(TraceKind::RecordAccumulated {
            tp: tp.clone(),
            batch_id: result.batch_id,
            batch_records: result.batch_records,
            batch_bytes: result.batch_bytes,
        });
        if self.workload_is_sticky() {
            let n = self.partition_count();
            let full = result.last_full;
            let produced = self.sticky.produced_bytes() + result.appended_bytes;
            let available = &self.metadata.available;
            if let Some(next) = self.sticky.on_append(result.appended_bytes, full, &mut self.rng, available, n) {
                ctx.trace(TraceKind::StickySwitched {
                    topic: self.topic.to_string(),
                    from: tp.partition,
                    to: next,
                    produced_bytes: produced,
                });
            }
        }
        if self.workload.sync {
            self.sync_pending.insert(send, ctx.now);
            self.block(ctx, send, BlockReason::Get, None);
        }
        if result.batch_is_full || result.new_batch_created {
            if !result.new_batch_created && result.behind_head && self.idle_pass_suffices(ctx.now) {
                self.run_idle_sender(ctx);
            } else {
                self.run_sender(ctx);
            }
        } else {
            self.arm_wakeup(ctx, self.config.linger.as_ms());
        }
    }

    fn block(&mut self, ctx: &mut Ctx, send: SendId, reason: BlockReason, record: Option<(Record, Option<u32>)>) {
        assert!(self.blocked.is_none(), "one application thread");
        ctx.trace(TraceKind::CallerBlocked { send_id: send, reason });
        if reason != BlockReason::Get {
            ctx.set_timer(self.config.max_block, Timer::MaxBlock { send });
        }
        self.blocked = Some(Blocked { send, reason, since: ctx.now, record });
    }

    /// Unblocks the application thread and resumes the workload.
    pub(super) fn unblock(&mut self, ctx: &mut Ctx) -> Option<Blocked> {
        let b = self.blocked.take()?;
        let waited = ctx.now.saturating_since(b.since);
        if b.reason == BlockReason::BufferMemory {
            self.stats.pool_wait_ns += waited.as_ns();
        }
        ctx.trace(TraceKind::CallerUnblocked { send_id: b.send, reason: b.reason, waited });
        Some(b)
    }

    fn resume_workload(&mut self, ctx: &mut Ctx) {
        if std::mem::take(&mut self.record_due) {
            self.on_next_record(ctx);
        }
    }

    /// Metadata arrived: a send waiting on it continues.
    pub(super) fn on_metadata_ready(&mut self, ctx: &mut Ctx) {
        if self.blocked.as_ref().is_some_and(|b| b.reason == BlockReason::Metadata) {
            let b = self.unblock(ctx).expect("blocked");
            let (mut record, partition) = b.record.expect("a metadata wait holds its record");
            self.send_with_metadata(ctx, b.send, &mut record, partition);
            self.spare_record = record;
            if self.blocked.is_none() {
                self.resume_workload(ctx);
            }
        }
    }

    /// Memory was returned to the pool: a send waiting on it takes its buffer and appends.
    pub(super) fn on_memory_freed(&mut self, ctx: &mut Ctx) {
        if !self.blocked.as_ref().is_some_and(|b| b.reason == BlockReason::BufferMemory)
            || !self.accumulator.pool.serve_head_waiter()
        {
            return;
        }
        let b = self.unblock(ctx).expect("blocked");
        let (record, partition) = b.record.expect("a memory wait holds its record");
        let tp = Tp::new(&self.topic, partition.expect("partition chosen before the wait"));
        let capacity = self.accumulator.buffer_size_for(&record);
        let result = self.accumulator.append_new_batch(&tp, &record, b.send, capacity, ctx.now);
        self.after_append(ctx, b.send, &tp, result);
        if self.blocked.is_none() {
            self.resume_workload(ctx);
        }
    }

    /// `max.block.ms` passed: the blocked send fails (`TimeoutException` /
    /// `BufferExhaustedException`).
    pub(super) fn on_max_block(&mut self, ctx: &mut Ctx, send: SendId) {
        if !self.blocked.as_ref().is_some_and(|b| b.send == send && b.reason != BlockReason::Get) {
            return;
        }
        let b = self.unblock(ctx).expect("blocked");
        if b.reason == BlockReason::BufferMemory {
            self.accumulator.pool.waiters.pop_front();
        }
        self.complete_send(ctx, send, None, -1, Some(ErrorCode::Timeout));
        self.resume_workload(ctx);
    }

    /// A send that never reached a batch completes alone (see [`Producer::complete_sends`]).
    pub(super) fn complete_send(
        &mut self,
        ctx: &mut Ctx,
        send: SendId,
        tp: Option<Tp>,
        offset: i64,
        error: Option<ErrorCode>,
    ) {
        self.complete_sends(ctx, vec![send], tp, offset, error);
    }

    /// Sends' futures complete, in order: their callbacks run (or a `get()` returns). The send
    /// at position `i` got `first_offset + i` (-1 for every send on error or with acks=0). One
    /// trace event carries them all, as Kafka's `ProducerBatch.done` fires a batch's callbacks
    /// in one pass. The interceptors' `onAcknowledgement` runs for every send first (Kafka
    /// alternates it with each callback; only counts come of it here, so nothing can tell).
    pub(super) fn complete_sends(
        &mut self,
        ctx: &mut Ctx,
        sends: Vec<SendId>,
        tp: Option<Tp>,
        first_offset: i64,
        error: Option<ErrorCode>,
    ) {
        let n = sends.len() as u64;
        match error {
            None => self.stats.records_acked += n,
            Some(_) => self.stats.records_failed += n,
        }
        for _ in &sends {
            for interceptor in &mut self.interceptors {
                interceptor.on_acknowledgement(error.is_none());
            }
        }
        let sync = self.workload.sync;
        let get_returns: Vec<SendId> = if self.sync_pending.is_empty() {
            Vec::new()
        } else {
            sends.iter().copied().filter(|send| self.sync_pending.remove(send).is_some()).collect()
        };
        ctx.trace(TraceKind::SendsCompleted { send_ids: sends, tp, first_offset, error, sync });
        for send in get_returns {
            if self.blocked.as_ref().is_some_and(|b| b.send == send && b.reason == BlockReason::Get) {
                self.unblock(ctx);
                self.resume_workload(ctx);
            }
        }
    }
}
