//! The event queue: everything that will happen, ordered by `(at, seq)`.
//!
//! `seq` is an ever-increasing insertion counter, so two events at the same instant pop in the
//! order they were scheduled. The queue is bounded: scheduling past the bound is a bug in the
//! simulation (a runaway feedback loop), and panics with the bound in the message.

use super::time::SimTime;
use std::cmp::{Ordering, Reverse};
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

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Scheduled<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A min-queue of events by `(at, seq)`.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Scheduled<E>>>,
    seq_next: u64,
    pending_max: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue::with_bound(EVENTS_PENDING_MAX)
    }
}

impl<E> EventQueue<E> {
    /// An empty queue holding at most `pending_max` events.
    pub fn with_bound(pending_max: usize) -> Self {
        EventQueue { heap: BinaryHeap::new(), seq_next: 0, pending_max }
    }

    /// Schedules `event` at `at`; returns its sequence number.
    pub fn schedule(&mut self, at: SimTime, event: E) -> u64 {
        assert!(self.heap.len() < self.pending_max, "event queue bound {} exceeded", self.pending_max);
        let seq = self.seq_next;
        self.seq_next += 1;
        self.heap.push(Reverse(Scheduled { at, seq, event }));
        seq
    }

    /// The earliest pending time, if any.
    pub fn peek_at(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(s)| s.at)
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        self.heap.pop().map(|Reverse(s)| s)
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
