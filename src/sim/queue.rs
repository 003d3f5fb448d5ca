//! The event queue: everything that will happen, ordered by `(at, seq)`.
//!
//! `seq` is an ever-increasing insertion counter, so two events at the same instant pop in the
//! order they were scheduled. The queue is bounded: scheduling past the bound is a bug in the
//! simulation (a runaway feedback loop), and panics with the bound in the message.
//!
//! An event its owner knows will do nothing can be cancelled ([`EventQueue::cancel_where`]): its
//! value is dropped and its slot freed at once, but its key stays and still pops, as `None`, at
//! its time and in its order, so a caller that counts the events it pops (the simulator's
//! `steps`, the positions of run links) counts exactly what it counted before.

use super::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Default bound on pending events.
pub const EVENTS_PENDING_MAX: usize = 1 << 22;

/// Pending events a new queue has room for: a swarm seed's cluster keeps a few hundred, and
/// growing there from nothing copied the heap and the slots a dozen times per run.
const EVENTS_RESERVED: usize = 512;

/// An entry waiting in the queue.
#[derive(Clone, Debug)]
pub struct Scheduled<E> {
    /// When it happens.
    pub at: SimTime,
    /// Insertion order; breaks ties between equal `at`.
    pub seq: u64,
    /// What happens. `None` in what [`EventQueue::pop`] returns for an event that was
    /// cancelled ([`EventQueue::cancel_where`]): nothing happens, but it still took its turn.
    pub event: E,
}

/// A min-queue of events by `(at, seq)`.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    /// Small keys only: a heap moves its entries on every push and pop, and events (64 bytes
    /// now that messages wait apart; ~150 with messages inline) cost a sixth of the
    /// simulation's time when they lived here.
    heap: BinaryHeap<Reverse<Key>>,
    /// An event scheduled ahead of everything pending waits here instead of in `heap`; when set,
    /// it is earlier than every key in `heap`. Most events are due next when they are
    /// scheduled (a producer's application thread schedules its next record a fraction of a
    /// millisecond ahead, with hundreds of thousands of timeouts pending behind it), so this
    /// saves a heap push and a pop, the deepest levels of which miss the cache, for most steps.
    front: Option<Key>,
    /// The events, by slot.
    slots: Slab<E>,
    seq_next: u64,
    pending_max: usize,
    /// Live (not cancelled) events at which [`EventQueue::wants_cancel_pass`] says yes.
    cancel_at: usize,
    /// The least `cancel_at`: [`CANCEL_PASS_MIN`] but in tests.
    cancel_pass_min: usize,
    /// Events cancelled so far.
    cancelled: u64,
}

/// Where an event sits, packed into one integer that orders by `(at, seq)`: `at` in the top 64
/// bits, `seq` in the next [`SEQ_BITS`], the slot in the low [`SLOT_BITS`] (`seq` is unique,
/// so the slot never decides). The heap compares and moves 16-byte integers instead of 24-byte
/// structs of three fields: its pushes and pops were a twentieth of a swarm seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u128);

/// Bits of a key's sequence number: 1.1 × 10^12 events (a swarm seed schedules ~20,000).
const SEQ_BITS: u32 = 40;
/// Bits of a key's slot: more than [`EVENTS_PENDING_MAX`] events held at once.
const SLOT_BITS: u32 = 24;

/// The slot of a cancelled event's key: no slot (slots stay below [`EVENTS_PENDING_MAX`]).
const CANCELLED: u32 = (1 << SLOT_BITS) - 1;

/// Live events below which no cancel pass is asked for: a swarm seed keeps a few hundred
/// pending, and a pass over so few would cost more than the pops it saves.
const CANCEL_PASS_MIN: usize = 1 << 14;

impl Key {
    fn new(at: SimTime, seq: u64, slot: u32) -> Key {
        assert!(seq >> SEQ_BITS == 0, "fewer than 2^{SEQ_BITS} events scheduled");
        assert!(slot < CANCELLED, "fewer than 2^{SLOT_BITS} - 1 events pending");
        Key(u128::from(at.as_ns()) << 64 | u128::from(seq) << SLOT_BITS | u128::from(slot))
    }

    fn at(self) -> SimTime {
        SimTime::from_ns((self.0 >> 64) as u64)
    }

    fn seq(self) -> u64 {
        (self.0 >> SLOT_BITS) as u64 & ((1 << SEQ_BITS) - 1)
    }

    fn slot(self) -> u32 {
        self.0 as u32 & ((1 << SLOT_BITS) - 1)
    }

    /// The same key with no slot: it orders as before (`seq` is unique, so the slot never
    /// decides), which keeps a heap valid when one of its keys is changed in place.
    fn cancelled(self) -> Key {
        Key(self.0 | u128::from(CANCELLED))
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue::with_bound(EVENTS_PENDING_MAX)
    }
}

impl<E> EventQueue<E> {
    /// An empty queue holding at most `pending_max` events.
    pub fn with_bound(pending_max: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(EVENTS_RESERVED),
            front: None,
            slots: Slab::with_capacity(EVENTS_RESERVED),
            seq_next: 0,
            pending_max,
            cancel_at: CANCEL_PASS_MIN,
            cancel_pass_min: CANCEL_PASS_MIN,
            cancelled: 0,
        }
    }

    /// Schedules `event` at `at`; returns its sequence number.
    pub fn schedule(&mut self, at: SimTime, event: E) -> u64 {
        assert!(self.len() < self.pending_max, "event queue bound {} exceeded", self.pending_max);
        let seq = self.seq_next;
        self.seq_next += 1;
        let slot = self.slots.insert(event);
        self.push(Key::new(at, seq, slot));
        seq
    }

    /// Files `key` in `front` when it is earlier than everything pending, else in the heap.
    fn push(&mut self, key: Key) {
        let earliest = match self.front {
            Some(front) => key < front,
            None => self.heap.peek().is_none_or(|Reverse(top)| key < *top),
        };
        if !earliest {
            self.heap.push(Reverse(key));
            return;
        }
        if let Some(front) = self.front.replace(key) {
            self.heap.push(Reverse(front));
        }
    }

    /// The earliest pending time, if any.
    pub fn peek_at(&self) -> Option<SimTime> {
        match self.front {
            Some(front) => Some(front.at()),
            None => self.heap.peek().map(|Reverse(s)| s.at()),
        }
    }

    /// Removes and returns the earliest event: `None` for one that was cancelled.
    pub fn pop(&mut self) -> Option<Scheduled<Option<E>>> {
        let key = match self.front.take() {
            Some(front) => front,
            None => self.heap.pop()?.0,
        };
        let event = (key.slot() != CANCELLED).then(|| self.slots.take(key.slot()));
        Some(Scheduled { at: key.at(), seq: key.seq(), event })
    }

    /// Whether enough live events are pending for [`EventQueue::cancel_where`] to be worth a
    /// pass: at least 16,384 (`CANCEL_PASS_MIN`), twice as many as the last pass left, and a
    /// quarter of all the keys it saw (cancelled ones included), so passes cost a few key visits
    /// per event scheduled.
    pub fn wants_cancel_pass(&self) -> bool {
        self.slots.len() >= self.cancel_at
    }

    /// Cancels every pending event for which `dead` is true: the caller's promise that it would
    /// do nothing when it pops, then or later. Its value is dropped and its slot freed now; its
    /// key pops at its time as `None` (see the module doc). Returns how many were cancelled.
    pub fn cancel_where(&mut self, mut dead: impl FnMut(&E) -> bool) -> usize {
        let mut cancelled = 0;
        let slots = &mut self.slots;
        let mut visit = |key: &mut Key| {
            if key.slot() != CANCELLED && dead(slots.get(key.slot())) {
                drop(slots.take(key.slot()));
                *key = key.cancelled();
                cancelled += 1;
            }
        };
        // A key changed in place orders as before, so the heap stays valid: `from` rebuilds it
        // in one O(n) pass that moves nothing.
        let mut keys = std::mem::take(&mut self.heap).into_vec();
        keys.iter_mut().for_each(|Reverse(key)| visit(key));
        if let Some(front) = &mut self.front {
            visit(front);
        }
        self.heap = BinaryHeap::from(keys);
        self.cancel_at = match self.cancel_pass_min {
            0 => 0,
            min => (2 * self.slots.len()).max(self.heap.len() / 4).max(min),
        };
        self.cancelled += cancelled as u64;
        cancelled
    }

    /// Events cancelled so far.
    pub fn cancelled(&self) -> u64 {
        self.cancelled
    }

    /// Sets the least number of live events that asks for a cancel pass; 0 asks for one after
    /// every event (tests run passes far more often than a run would, or never).
    #[cfg(test)]
    pub fn set_cancel_pass_min(&mut self, min: usize) {
        self.cancel_pass_min = min;
        self.cancel_at = min;
    }

    /// Number of pending events, cancelled ones included (they still pop).
    pub fn len(&self) -> usize {
        self.heap.len() + usize::from(self.front.is_some())
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Values held by a `u32` handle, in slots that are reused once freed: after its peak a run
/// allocates nothing for them. The event queue keeps its events here (the heap then moves small
/// keys), and the simulator the messages in flight (one allocation per message before).
#[derive(Clone, Debug)]
pub struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { slots: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slab<T> {
    /// An empty slab with room for `n` values before it grows.
    pub fn with_capacity(n: usize) -> Self {
        Slab { slots: Vec::with_capacity(n), free: Vec::with_capacity(n) }
    }

    /// Stores `value`; returns its handle.
    pub fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                debug_assert!(self.slots[slot as usize].is_none(), "a free slot is empty");
                self.slots[slot as usize] = Some(value);
                slot
            }
            None => {
                self.slots.push(Some(value));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 values held")
            }
        }
    }

    /// The value of `handle`.
    ///
    /// # Panics
    /// If `handle` holds nothing.
    pub fn get(&self, handle: u32) -> &T {
        self.slots.get(handle as usize).and_then(Option::as_ref).expect("a live slab handle")
    }

    /// Removes and returns the value of `handle`, which frees it.
    ///
    /// # Panics
    /// If `handle` holds nothing (it was taken already, or never given out).
    pub fn take(&mut self, handle: u32) -> T {
        let value = self.slots.get_mut(handle as usize).and_then(Option::take).expect("a live slab handle");
        self.free.push(handle);
        value
    }

    /// Number of values held.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::default();
        q.schedule(SimTime::from_ms(30), "c");
        q.schedule(SimTime::from_ms(10), "a");
        q.schedule(SimTime::from_ms(20), "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|s| s.event).collect();
        assert_eq!(order, [Some("a"), Some("b"), Some("c")]);
    }

    #[test]
    fn a_key_unpacks_to_its_fields_and_orders_by_time_then_sequence() {
        let late = SimTime::from_ns(u64::MAX - 1);
        let key = Key::new(late, (1 << SEQ_BITS) - 1, CANCELLED - 1);
        assert_eq!((key.at(), key.seq(), key.slot()), (late, (1 << SEQ_BITS) - 1, CANCELLED - 1));
        let cancelled = key.cancelled();
        assert_eq!((cancelled.at(), cancelled.seq(), cancelled.slot()), (late, (1 << SEQ_BITS) - 1, CANCELLED));
        let t = SimTime::from_ms(7);
        // An earlier time wins whatever the sequence; at one time the lower sequence wins,
        // whatever the slots.
        assert!(Key::new(t, 1 << 39, 5) < Key::new(SimTime::from_ns(t.as_ns() + 1), 0, 0));
        assert!(Key::new(t, 3, CANCELLED - 1) < Key::new(t, 4, 0));
        assert!(Key::new(t, 3, 0).cancelled() < Key::new(t, 4, 0), "a cancelled key keeps its place");
    }

    #[test]
    #[should_panic(expected = "events pending")]
    fn the_cancelled_marker_is_never_a_slot() {
        Key::new(SimTime::ZERO, 0, CANCELLED);
    }

    #[test]
    #[should_panic(expected = "events scheduled")]
    fn a_sequence_beyond_its_bits_is_refused() {
        Key::new(SimTime::ZERO, 1 << SEQ_BITS, 0);
    }

    #[test]
    fn ties_pop_in_insertion_order() {
        let mut q = EventQueue::default();
        let t = SimTime::from_ms(5);
        for name in ["first", "second", "third"] {
            q.schedule(t, name);
        }
        q.schedule(SimTime::from_ms(1), "earlier");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|s| (s.at.as_ms(), s.event.unwrap())).collect();
        assert_eq!(order, [(1, "earlier"), (5, "first"), (5, "second"), (5, "third")]);
    }

    #[test]
    fn peek_reports_earliest_without_removing() {
        let mut q = EventQueue::default();
        assert_eq!(q.peek_at(), None);
        q.schedule(SimTime::from_ms(9), ());
        q.schedule(SimTime::from_ms(4), ());
        assert_eq!(q.peek_at(), Some(SimTime::from_ms(4)));
        assert_eq!(q.len(), 2);
    }

    /// Interleaved schedules and pops, many of them due next (the front slot's case), many tied,
    /// pop exactly as a sorted list of `(at, seq)` would.
    #[test]
    fn interleaved_schedules_and_pops_keep_time_then_insertion_order() {
        let mut q = EventQueue::default();
        let mut reference: Vec<(u64, u64)> = Vec::new();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let mut now = 0u64;
        let (mut popped, mut scheduled) = (0, 0u64);
        for _ in 0..5_000 {
            for _ in 0..next(3) {
                // Ties with `now`, events due next, and events far ahead.
                let at = now + [0, 1, 2, 50][next(4) as usize] * next(3);
                let seq = q.schedule(SimTime::from_ns(at), (at, scheduled));
                assert_eq!(seq, scheduled);
                scheduled += 1;
                reference.push((at, seq));
            }
            if let Some(s) = q.pop() {
                let expected = *reference.iter().min().expect("the reference holds what the queue holds");
                reference.retain(|e| *e != expected);
                assert_eq!((s.at.as_ns(), s.seq), expected);
                assert_eq!(s.event, Some(expected));
                now = s.at.as_ns();
                popped += 1;
            }
            assert_eq!(q.len(), reference.len());
            assert_eq!(q.peek_at().map(SimTime::as_ns), reference.iter().min().map(|e| e.0));
        }
        assert!(popped > 2_000, "{popped}");
    }

    /// Cancelled events (the front slot's among them) pop as `None` at their time and in their
    /// order, the others as before; their slots are freed at once, and a pass is asked for again
    /// only when the live events have doubled.
    #[test]
    fn cancelled_events_pop_as_none_in_their_place() {
        let mut q = EventQueue::default();
        q.set_cancel_pass_min(1_000);
        let at = |i: u64| (i * 7_919) % 1_000;
        for i in 0..2_000u64 {
            q.schedule(SimTime::from_ns(at(i)), i);
        }
        assert!(q.front.is_some_and(|k| k.seq() % 3 == 0), "the front key is among the cancelled");
        assert!(q.wants_cancel_pass());
        assert_eq!(q.cancel_where(|i| i % 3 == 0), 667);
        assert_eq!((q.len(), q.slots.len()), (2_000, 2_000 - 667), "keys stay; slots go");
        assert!(!q.wants_cancel_pass());
        assert_eq!(q.cancel_where(|i| i % 3 == 0), 0, "nothing is cancelled twice");
        let mut expected: Vec<_> = (0..2_000u64).map(|i| (at(i), i, (i % 3 != 0).then_some(i))).collect();
        expected.sort();
        let popped: Vec<_> = std::iter::from_fn(|| q.pop()).map(|s| (s.at.as_ns(), s.seq, s.event)).collect();
        assert_eq!(popped, expected);
        assert!(q.slots.is_empty());
    }

    /// Handles are reused once freed, and each gives back its own value.
    #[test]
    fn slab_reuses_freed_handles() {
        let mut slab = Slab::default();
        let (a, b, c) = (slab.insert("a"), slab.insert("b"), slab.insert("c"));
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(slab.take(b), "b");
        assert_eq!(slab.len(), 2);
        let d = slab.insert("d");
        assert_eq!(d, b, "the freed slot is reused");
        assert_eq!([slab.take(a), slab.take(c), slab.take(d)], ["a", "c", "d"]);
        assert!(slab.is_empty());
        assert_eq!(slab.insert("e"), d, "the last freed slot first");
    }

    #[test]
    #[should_panic(expected = "a live slab handle")]
    fn slab_refuses_a_taken_handle() {
        let mut slab = Slab::default();
        let a = slab.insert(1);
        slab.take(a);
        slab.take(a);
    }

    #[test]
    #[should_panic(expected = "event queue bound 2 exceeded")]
    fn bound_is_enforced() {
        let mut q = EventQueue::with_bound(2);
        for i in 0..3 {
            q.schedule(SimTime::from_ms(i), ());
        }
    }
}
