//! A counting wrapper around the system allocator, so `brokerscope bench` can report the peak
//! heap of each workload. Each thread adds up its own allocations and publishes them to the
//! shared count every 64 KiB; nothing else changes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting live and peak bytes.
pub struct Counting;

/// Signed: a thread that frees memory another thread allocated can publish the free before
/// the other thread publishes the allocation, so the shared count may dip below zero for a
/// moment. (As an unsigned count it wrapped around, and the next addition overflowed: a panic
/// inside the allocator, which aborts the process.)
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Bytes a thread allocates (or frees) before it adds them to the shared count: per-allocation
/// atomics on one shared word made the threaded swarm bench contend on that cache line. The
/// peak is exact to this many bytes per thread.
const BATCH_BYTES: isize = 64 * 1024;

thread_local! {
    // No destructor and a const initialiser: safe to use inside the allocator.
    static PENDING: Cell<isize> = const { Cell::new(0) };
}

fn changed(delta: isize) {
    let flush = PENDING
        .try_with(|p| {
            let v = p.get() + delta;
            if v.abs() >= BATCH_BYTES {
                p.set(0);
                v
            } else {
                p.set(v);
                0
            }
        })
        .unwrap_or(delta); // the thread is exiting: count it directly
    if flush > 0 {
        let live = usize::try_from(LIVE.fetch_add(flush, Relaxed).wrapping_add(flush)).unwrap_or(0);
        // A plain load first: the locked read-modify-write only when a new peak is reached.
        if live > PEAK.load(Relaxed) {
            PEAK.fetch_max(live, Relaxed);
        }
    } else if flush < 0 {
        LIVE.fetch_add(flush, Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            changed(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            changed(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        changed(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            changed(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Restarts peak tracking from the bytes live now; returns them.
pub fn reset_peak() -> usize {
    let live = usize::try_from(LIVE.load(Relaxed)).unwrap_or(0);
    PEAK.store(live, Relaxed);
    live
}

/// The most bytes live at once since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}
