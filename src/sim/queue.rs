//! The event queue: everything that will happen, ordered by `(at, seq)`.
//!
//! `seq` is an ever-increasing insertion counter, so two events at the same instant pop in the
//! order they were scheduled. The queue is bounded: scheduling past the bound is a bug in the
//! simulation (a runaway feedback loop), and panics with the bound in the message.

use super::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Default bound on pending events.
pub const EVENTS_PENDING_MAX: usize = 1 << 22;

/// An entry waiting in the queue.
#[derive(Clone, Debug)]
pub struct Scheduled<E> {
    /// When it happens.
    pub at: SimTime,
    /// Insertion order; breaks ties between equal `at`.
    pub seq: u64,
    /// What happens.
    pub event: E,
}

/// A min-queue of events by `(at, seq)`.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    /// Small keys only: events are large (a message is ~150 bytes) and a heap moves its entries
    /// on every push and pop, which cost a sixth of the simulation's time when they lived here.
    heap: BinaryHeap<Reverse<Key>>,
    /// The events, by slot; freed slots are reused.
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    seq_next: u64,
    pending_max: usize,
}

/// Where an event sits: ordered by `(at, seq)` (`seq` is unique, so `slot` never decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    at: SimTime,
    seq: u64,
    slot: u32,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue::with_bound(EVENTS_PENDING_MAX)
    }
}

impl<E> EventQueue<E> {
    /// An empty queue holding at most `pending_max` events.
    pub fn with_bound(pending_max: usize) -> Self {
        EventQueue { heap: BinaryHeap::new(), slots: Vec::new(), free: Vec::new(), seq_next: 0, pending_max }
    }

    /// Schedules `event` at `at`; returns its sequence number.
    pub fn schedule(&mut self, at: SimTime, event: E) -> u64 {
        assert!(self.heap.len() < self.pending_max, "event queue bound {} exceeded", self.pending_max);
        let seq = self.seq_next;
        self.seq_next += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                u32::try_from(self.slots.len() - 1).expect("pending_max fits in u32")
            }
        };
        self.heap.push(Reverse(Key { at, seq, slot }));
        seq
    }

    /// The earliest pending time, if any.
    pub fn peek_at(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(s)| s.at)
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        let Reverse(Key { at, seq, slot }) = self.heap.pop()?;
        let event = self.slots[slot as usize].take().expect("a queued key has its event");
        self.free.push(slot);
        Some(Scheduled { at, seq, event })
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn ties_pop_in_insertion_order() {
        let mut q = EventQueue::default();
        let t = SimTime::from_ms(5);
        for name in ["first", "second", "third"] {
            q.schedule(t, name);
        }
        q.schedule(SimTime::from_ms(1), "earlier");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|s| (s.at.as_ms(), s.event)).collect();
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

    #[test]
    #[should_panic(expected = "event queue bound 2 exceeded")]
    fn bound_is_enforced() {
        let mut q = EventQueue::with_bound(2);
        for i in 0..3 {
            q.schedule(SimTime::from_ms(i), ());
        }
    }
}
