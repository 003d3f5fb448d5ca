//! Building a `BTreeMap` or `BTreeSet` from an iterator without `collect`.
//!
//! `Iterator::collect` into a `BTreeMap` first gathers the pairs into a vector and sorts it with
//! the standard library's stable sort, and that sort is compiled afresh for every iterator type
//! it is called with, since the comparator is a closure inside `from_iter::<I>`. The
//! web build had 25 such call sites, about 100 KB of sort code before `wasm-opt`.
//! [`CollectMap::collect_map`] and [`CollectSet::collect_set`] insert one at a time instead: one `insert` per map type,
//! shared by every call site. The maps built this way are small (per broker, per partition, per
//! member), where inserting costs no more than sorting.

use std::collections::{BTreeMap, BTreeSet};

/// [`collect_map`](CollectMap::collect_map) on every iterator of pairs.
pub trait CollectMap<K: Ord, V>: Iterator<Item = (K, V)> + Sized {
    /// The pairs as a map; a later pair replaces the value of an earlier one with an equal key,
    /// exactly as `collect::<BTreeMap<_, _>>()` does.
    fn collect_map(self) -> BTreeMap<K, V> {
        let mut map = BTreeMap::new();
        map.extend(self);
        map
    }
}

impl<K: Ord, V, I: Iterator<Item = (K, V)>> CollectMap<K, V> for I {}

/// [`collect_set`](CollectSet::collect_set) on every iterator: the same for `BTreeSet`, whose
/// `collect` sorts too.
pub trait CollectSet<T: Ord>: Iterator<Item = T> + Sized {
    /// The items as a set, as `collect::<BTreeSet<_>>()` makes it.
    fn collect_set(self) -> BTreeSet<T> {
        let mut set = BTreeSet::new();
        set.extend(self);
        set
    }
}

impl<T: Ord, I: Iterator<Item = T>> CollectSet<T> for I {}

#[cfg(test)]
mod tests {
    use super::{CollectMap, CollectSet};
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn collect_map_equals_collect_including_repeated_keys() {
        let pairs = [(3, "c"), (1, "a"), (3, "z"), (2, "b"), (1, "y"), (0, "x")];
        let want: BTreeMap<i32, &str> = pairs.iter().copied().collect();
        assert_eq!(pairs.iter().copied().collect_map(), want);
        assert_eq!(want.into_iter().collect::<Vec<_>>(), [(0, "x"), (1, "y"), (2, "b"), (3, "z")]);
    }

    #[test]
    fn collect_set_equals_collect() {
        let items = [5, 1, 5, 3, 1, 0];
        let want: BTreeSet<i32> = items.iter().copied().collect();
        assert_eq!(items.iter().copied().collect_set(), want);
        assert_eq!(want.into_iter().collect::<Vec<_>>(), [0, 1, 3, 5]);
    }
}
