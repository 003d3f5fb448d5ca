//! Building maps and sets, and sorting, with code the web bundle holds once.
//!
//! The standard library's sort is compiled afresh for every comparator it is called with, and a
//! closure is a type of its own: every `sort_by(|a, b| …)` call site adds a copy (2–5 KB of
//! wasm each). `collect` into a `BTreeMap` or `BTreeSet` sorts its input first, with a
//! comparator inside `from_iter::<I>`, so it adds a copy per iterator type. Before these
//! helpers the web build held 400 such copies, about 200 KB before `wasm-opt`.
//!
//! - [`CollectMap::collect_map`] and [`CollectSet::collect_set`] insert one item at a time into
//!   a [`VecMap`] or [`VecSet`] (see [`super::vec_map`] for why the core keeps its maps in those):
//!   one `insert` per map type, shared by every call site. The maps built this way are small
//!   (per broker, per partition, per member), where inserting costs no more than sorting.
//! - [`sort_by`] and [`sort_by_key`] sort positions with a single compiled stable sort and then
//!   move the items into place. For the assignors and views that use them (tens of items) the
//!   extra pass is negligible; hot paths keep the standard sort.

use super::vec_map::{VecMap, VecSet};
use std::cmp::Ordering;

/// [`collect_map`](CollectMap::collect_map) on every iterator of pairs.
pub trait CollectMap<K: Ord, V>: Iterator<Item = (K, V)> + Sized {
    /// The pairs as a map; a later pair replaces the value of an earlier one with an equal key,
    /// exactly as `collect::<BTreeMap<_, _>>()` does.
    fn collect_map(self) -> VecMap<K, V> {
        self.collect()
    }
}

impl<K: Ord, V, I: Iterator<Item = (K, V)>> CollectMap<K, V> for I {}

/// [`collect_set`](CollectSet::collect_set) on every iterator: the same for `BTreeSet`, whose
/// `collect` sorts too.
pub trait CollectSet<T: Ord>: Iterator<Item = T> + Sized {
    /// The items as a set, as `collect::<BTreeSet<_>>()` makes it.
    fn collect_set(self) -> VecSet<T> {
        self.collect()
    }
}

impl<T: Ord, I: Iterator<Item = T>> CollectSet<T> for I {}

/// Sorts `items` stably by `compare`: the same order as `items.sort_by(compare)`.
pub fn sort_by<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    let slice: &[T] = items;
    sort_positions(&mut order, &mut |a, b| compare(&slice[a], &slice[b]));
    permute(items, &mut order);
}

/// Sorts `items` stably by `key`: the same order as `items.sort_by_key(key)`.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// The one compiled stable sort: positions, compared through a trait object.
fn sort_positions(order: &mut [usize], compare: &mut dyn FnMut(usize, usize) -> Ordering) {
    order.sort_by(|a, b| compare(*a, *b));
}

/// Moves `items[order[i]]` to position `i` for every `i`, following each cycle of the
/// permutation with swaps; `order` is left as the identity.
fn permute<T>(items: &mut [T], order: &mut [usize]) {
    for start in 0..items.len() {
        let mut at = start;
        while order[at] != start {
            let from = order[at];
            items.swap(at, from);
            order[at] = at;
            at = from;
        }
        order[at] = at;
    }
}

#[cfg(test)]
mod tests {
    use super::{sort_by, sort_by_key, CollectMap, CollectSet};
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn collect_map_equals_collect_including_repeated_keys() {
        let pairs = [(3, "c"), (1, "a"), (3, "z"), (2, "b"), (1, "y"), (0, "x")];
        let want: BTreeMap<i32, &str> = pairs.iter().copied().collect();
        assert!(pairs.iter().copied().collect_map().into_iter().eq(want.clone()));
        assert_eq!(want.into_iter().collect::<Vec<_>>(), [(0, "x"), (1, "y"), (2, "b"), (3, "z")]);
    }

    #[test]
    fn collect_set_equals_collect() {
        let items = [5, 1, 5, 3, 1, 0];
        let want: BTreeSet<i32> = items.iter().copied().collect();
        assert!(items.iter().copied().collect_set().into_iter().eq(want.clone()));
        assert_eq!(want.into_iter().collect::<Vec<_>>(), [0, 1, 3, 5]);
    }

    #[test]
    fn sort_by_equals_the_standard_stable_sort() {
        // Equal keys in several orders and cycles of every length up to the whole slice.
        let mut rng = crate::sim::rng::SimRng::new(7);
        for len in 0..40 {
            let items: Vec<(u64, usize)> = (0..len).map(|i| (rng.next_u64() % 5, i)).collect();
            let mut want = items.clone();
            want.sort_by(|a, b| (a.0 % 3).cmp(&(b.0 % 3)).then(b.0.cmp(&a.0)));
            let mut got = items.clone();
            sort_by(&mut got, |a, b| (a.0 % 3).cmp(&(b.0 % 3)).then(b.0.cmp(&a.0)));
            assert_eq!(got, want, "len {len}");
            let mut want = items.clone();
            want.sort_by_key(|x| x.0);
            let mut got = items;
            sort_by_key(&mut got, |x| x.0);
            assert_eq!(got, want, "len {len}");
        }
    }
}
