//! The native build's allocator: the system allocator behind a per-thread cache of small
//! blocks, counting live and peak bytes so `brokerscope bench` can report the peak heap of each
//! workload.
//!
//! **The cache.** A simulation allocates and frees many small, short-lived blocks: requests and
//! responses, their partition lists, a fetch's batches, growing vectors. Five swarm seeds of
//! workload (d) made ~95,000 allocations and as many frees, and glibc's `malloc` and `free` took
//! 8.5% of the instructions (~200 a pair; its own per-thread cache holds seven blocks of a size,
//! fewer than a burst of responses frees). Here a block of up to [`SMALL_MAX`] bytes (alignment
//! up to 16) is rounded up to a multiple of 16, and a freed one goes on this thread's list for
//! its size, from which the next allocation of that size takes it: a few instructions each way,
//! and the most recently used memory first. Each thread keeps at most [`CACHED_BYTES_MAX`]
//! bytes so; past that, and for everything larger, `System` is called as before. Rust tells the
//! allocator a block's size when it is freed, so no header is needed to find the list.
//!
//! A block may be freed on another thread than the one that allocated it: it then joins that
//! thread's lists, which is as good (blocks of a size are interchangeable, and all came from
//! `System`). A thread that ends keeps its lists unless it calls [`release_thread_cache`], as
//! the CLI's worker threads do: nothing here can run at a thread's exit without a thread-local
//! destructor, whose registration may allocate, which an allocator must not.
//!
//! **The counts.** Each thread adds up the bytes it allocates (or frees) and publishes them to
//! the shared count every 64 KiB. A cached block counts as freed: the peak is of the bytes the
//! program holds, as before the cache.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

/// The system allocator, behind a per-thread cache of small blocks, counting live and peak
/// bytes.
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

/// The size classes' step: a cached block's size is rounded up to a multiple of it. Also the
/// largest alignment a cached block has (glibc's `malloc` gives 16 on 64-bit targets).
const GRAIN: usize = 16;
/// Size classes: blocks of 1–16, 17–32, … bytes.
const CLASSES: usize = 32;
/// The largest block the cache holds: bigger ones (a batch's bytes, a segment's index) are
/// fewer and longer-lived, and go to `System` every time.
pub const SMALL_MAX: usize = GRAIN * CLASSES;
/// The most bytes a thread keeps in its lists: a simulation dropped at the end of a run frees
/// all its small blocks at once, and the cache keeps no more than this of them.
pub const CACHED_BYTES_MAX: usize = 1 << 20;

/// One thread's allocator state.
struct ThreadHeap {
    /// The first free block of each size class; each free block's first word points to the
    /// next one (null ends the list).
    free: [Cell<*mut u8>; CLASSES],
    /// Bytes in the lists.
    cached: Cell<usize>,
    /// Bytes allocated minus bytes freed since the last publication to `LIVE`.
    pending: Cell<isize>,
}

thread_local! {
    // No destructor and a const initialiser: safe to use inside the allocator, and `try_with`
    // never fails.
    static HEAP: ThreadHeap = const {
        ThreadHeap {
            free: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            cached: Cell::new(0),
            pending: Cell::new(0),
        }
    };
}

/// The size class of a block of `layout`, if the cache holds such blocks.
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    (layout.size() <= SMALL_MAX && layout.align() <= GRAIN).then(|| layout.size().saturating_sub(1) / GRAIN)
}

/// The size of every block of `class`.
#[inline]
fn class_size(class: usize) -> usize {
    (class + 1) * GRAIN
}

/// The layout every block of `class` is allocated from `System` with.
#[inline]
fn class_layout(class: usize) -> Layout {
    Layout::from_size_align(class_size(class), GRAIN).expect("a size class is a valid layout")
}

impl ThreadHeap {
    /// A free block of `class` from this thread's list, or null.
    fn take(&self, class: usize) -> *mut u8 {
        let head = self.free[class].get();
        if !head.is_null() {
            // SAFETY: a listed block is free, at least 16 bytes, aligned to 16, and its first
            // word was written by `keep`.
            self.free[class].set(unsafe { head.cast::<*mut u8>().read() });
            self.cached.set(self.cached.get() - class_size(class));
        }
        head
    }

    /// Lists `block`, a free block of `class` allocated from `System` with
    /// [`class_layout`]; false, changing nothing, when the lists are full.
    fn keep(&self, class: usize, block: *mut u8) -> bool {
        let cached = self.cached.get() + class_size(class);
        if cached > CACHED_BYTES_MAX {
            return false;
        }
        // SAFETY: the caller gives up `block`, which is aligned and large enough for a pointer.
        unsafe { block.cast::<*mut u8>().write(self.free[class].get()) };
        self.free[class].set(block);
        self.cached.set(cached);
        true
    }

    /// Adds `delta` bytes to the live count, publishing it every [`BATCH_BYTES`].
    fn count(&self, delta: isize) {
        let v = self.pending.get() + delta;
        if v.abs() < BATCH_BYTES {
            self.pending.set(v);
            return;
        }
        self.pending.set(0);
        let live = usize::try_from(LIVE.fetch_add(v, Relaxed).wrapping_add(v)).unwrap_or(0);
        // A plain load first: the locked read-modify-write only when a new peak is reached.
        if v > 0 && live > PEAK.load(Relaxed) {
            PEAK.fetch_max(live, Relaxed);
        }
    }
}

/// Runs `f` on this thread's heap.
#[inline]
fn with_heap<R>(f: impl FnOnce(&ThreadHeap) -> R) -> R {
    HEAP.with(f)
}

/// Allocates a block of `layout`, from this thread's lists when they have one.
///
/// # Safety
/// `layout` has a non-zero size.
#[inline(never)]
unsafe fn allocate(layout: Layout, zeroed: bool) -> *mut u8 {
    let block = match class_of(layout) {
        Some(class) => match with_heap(|h| h.take(class)) {
            block if block.is_null() => unsafe { system_alloc(class_layout(class), zeroed) },
            block => {
                if zeroed {
                    // SAFETY: the block is free and at least `layout.size()` bytes.
                    unsafe { block.write_bytes(0, layout.size()) };
                }
                block
            }
        },
        None => unsafe { system_alloc(layout, zeroed) },
    };
    if !block.is_null() {
        with_heap(|h| h.count(layout.size() as isize));
    }
    block
}

/// `System`'s allocation, zeroed or not.
///
/// # Safety
/// `layout` has a non-zero size.
unsafe fn system_alloc(layout: Layout, zeroed: bool) -> *mut u8 {
    if zeroed {
        unsafe { System.alloc_zeroed(layout) }
    } else {
        unsafe { System.alloc(layout) }
    }
}

/// Frees `block`, allocated with `layout`: onto this thread's lists when it is small and they
/// have room.
///
/// # Safety
/// `block` was allocated by this allocator with `layout` and is not used again.
#[inline(never)]
unsafe fn free(block: *mut u8, layout: Layout) {
    with_heap(|h| h.count(-(layout.size() as isize)));
    match class_of(layout) {
        Some(class) => {
            if !with_heap(|h| h.keep(class, block)) {
                unsafe { System.dealloc(block, class_layout(class)) };
            }
        }
        None => unsafe { System.dealloc(block, layout) },
    }
}

/// Gives every block on this thread's lists back to `System`. A thread that allocated through
/// this allocator calls it before it ends (the CLI's worker threads do); otherwise its lists
/// (at most [`CACHED_BYTES_MAX`]) stay allocated until the process exits.
pub fn release_thread_cache() {
    with_heap(|h| {
        for class in 0..CLASSES {
            loop {
                let block = h.take(class);
                if block.is_null() {
                    break;
                }
                // SAFETY: every listed block came from `System` with its class's layout.
                unsafe { System.dealloc(block, class_layout(class)) };
            }
        }
    });
}

// SAFETY: a small block comes from `System` with its class's layout (at least the size and the
// alignment asked for) and goes back to `System` with that layout, or waits, free, on one
// thread's list until an allocation of the same class takes it; every other block is
// `System`'s, passed through unchanged. Only the thread that owns a list touches it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { allocate(layout, false) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { allocate(layout, true) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { free(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees that `new_size`, rounded up to `layout.align()`, does
        // not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class_of(layout), class_of(new_layout)) {
            (None, None) => {
                let block = unsafe { System.realloc(ptr, layout, new_size) };
                if !block.is_null() {
                    with_heap(|h| h.count(new_size as isize - layout.size() as isize));
                }
                block
            }
            // The block already has room for the new size, and is of the same class.
            (Some(old), Some(new)) if old == new => {
                with_heap(|h| h.count(new_size as isize - layout.size() as isize));
                ptr
            }
            // Into or out of the cache's sizes, or to another class: a new block.
            _ => {
                let block = unsafe { allocate(new_layout, false) };
                if !block.is_null() {
                    // SAFETY: both blocks hold at least the smaller size and do not overlap.
                    unsafe {
                        ptr::copy_nonoverlapping(ptr, block, layout.size().min(new_size));
                        free(ptr, layout);
                    }
                }
                block
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_map_to_classes_of_sixteen_bytes_up_to_the_largest_small_block() {
        let class = |size, align| class_of(Layout::from_size_align(size, align).unwrap());
        assert_eq!(class(1, 1), Some(0));
        assert_eq!(class(16, 8), Some(0));
        assert_eq!(class(17, 8), Some(1));
        assert_eq!(class(SMALL_MAX, 16), Some(CLASSES - 1));
        assert_eq!(class(SMALL_MAX + 1, 1), None, "larger blocks go to System");
        assert_eq!(class(64, 32), None, "so do blocks aligned beyond what System's malloc gives");
        for c in 0..CLASSES {
            assert_eq!(class_of(class_layout(c)), Some(c), "a class's own layout is of that class");
        }
    }

    #[test]
    fn a_freed_small_block_is_the_next_one_of_its_class_and_of_no_other() {
        // A thread of its own: this test's lists are not shared with other tests.
        std::thread::spawn(|| {
            let (a, b) = (Layout::from_size_align(40, 8).unwrap(), Layout::from_size_align(100, 8).unwrap());
            unsafe {
                let p = GLOBAL.alloc(a);
                p.write_bytes(0xAB, 40);
                GLOBAL.dealloc(p, a);
                let q = GLOBAL.alloc(b);
                assert_ne!(p, q, "a block of another class is not reused");
                let r = GLOBAL.alloc_zeroed(Layout::from_size_align(33, 1).unwrap());
                assert_eq!(r, p, "33 and 40 bytes are one class: the freed block comes back");
                assert!(std::slice::from_raw_parts(r, 33).iter().all(|&byte| byte == 0), "zeroed as asked");
                GLOBAL.dealloc(r, Layout::from_size_align(33, 1).unwrap());
                GLOBAL.dealloc(q, b);
            }
            release_thread_cache();
            assert_eq!(with_heap(|h| h.cached.get()), 0, "released");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn realloc_keeps_the_contents_across_classes_and_into_and_out_of_system_sizes() {
        std::thread::spawn(|| unsafe {
            let mut layout = Layout::from_size_align(8, 8).unwrap();
            let mut p = GLOBAL.alloc(layout);
            p.write_bytes(7, 8);
            // 8 → 12 (same class, same block) → 300 → 5,000 (System) → 200 (back to a class).
            for (size, same) in [(12, true), (300, false), (5_000, false), (200, false)] {
                let q = GLOBAL.realloc(p, layout, size);
                assert!(!q.is_null());
                assert_eq!(q == p, same, "{size}: the block moves only when its class changes");
                let kept = layout.size().min(size);
                assert!(std::slice::from_raw_parts(q, kept).iter().all(|&byte| byte == 7), "{size}: contents kept");
                q.write_bytes(7, size);
                (p, layout) = (q, Layout::from_size_align(size, 8).unwrap());
            }
            GLOBAL.dealloc(p, layout);
            release_thread_cache();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_thread_keeps_at_most_its_budget_of_free_blocks() {
        std::thread::spawn(|| unsafe {
            let layout = Layout::from_size_align(SMALL_MAX, 16).unwrap();
            // Room for every pointer first: a growing vector would free small blocks too.
            let mut blocks = Vec::with_capacity(CACHED_BYTES_MAX / SMALL_MAX + 10);
            release_thread_cache();
            blocks.extend((0..blocks.capacity()).map(|_| GLOBAL.alloc(layout)));
            for &b in &blocks {
                GLOBAL.dealloc(b, layout);
            }
            assert_eq!(with_heap(|h| h.cached.get()), CACHED_BYTES_MAX, "the rest went back to System");
            release_thread_cache();
            assert_eq!(with_heap(|h| h.cached.get()), 0);
        })
        .join()
        .unwrap();
    }
}
