//! [`VecMap`] and [`VecSet`]: ordered maps and sets kept as sorted vectors.
//!
//! They iterate in key order exactly as `BTreeMap` and `BTreeSet` do, so swapping one for the
//! other leaves every trace unchanged. They exist for the web bundle's size: a `BTreeMap` is
//! compiled afresh for every key and value type (search, insert with node splits, remove with
//! merges and steals, clone, drop: about 5 KB of wasm per type, 22% of the bundle's code for
//! some 60 types), while a sorted vector's operations are a binary search over the keys (one
//! copy per key type) and `Vec` inserts and removes, which `wasm-opt` folds together for values
//! of one size.
//!
//! The price is O(n) inserts and removes in the middle. The core keeps these maps small (per
//! broker, per partition, per member, per request in flight) or fills them in key order (ids,
//! offsets), where a sorted vector is as fast as a tree or faster; maps that grow with the
//! records of a run stay `BTreeMap`.

use std::borrow::Borrow;
use std::fmt;
use std::ops::{Bound, Index, RangeBounds};

/// Where `key` is in the sorted `keys`: `Ok(index)`, or `Err(index)` where it would go.
fn search<K: Borrow<Q>, Q: Ord + ?Sized>(keys: &[K], key: &Q) -> Result<usize, usize> {
    keys.binary_search_by(|k| k.borrow().cmp(key))
}

/// The positions `lo..hi` of the sorted `keys` inside `range`.
fn span<K: Borrow<Q>, Q: Ord + ?Sized, R: RangeBounds<Q>>(keys: &[K], range: &R) -> (usize, usize) {
    let lo = match range.start_bound() {
        Bound::Included(k) => search(keys, k).unwrap_or_else(|i| i),
        Bound::Excluded(k) => search(keys, k).map_or_else(|i| i, |i| i + 1),
        Bound::Unbounded => 0,
    };
    let hi = match range.end_bound() {
        Bound::Included(k) => search(keys, k).map_or_else(|i| i, |i| i + 1),
        Bound::Excluded(k) => search(keys, k).unwrap_or_else(|i| i),
        Bound::Unbounded => keys.len(),
    };
    (lo, hi.max(lo))
}

/// An ordered map kept as two vectors, keys sorted and values at the same positions.
#[derive(Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    keys: Vec<K>,
    vals: Vec<V>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap { keys: Vec::new(), vals: Vec::new() }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.keys.iter().zip(&self.vals)).finish()
    }
}

impl<K, V> VecMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        VecMap { keys: Vec::new(), vals: Vec::new() }
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.vals.clear();
    }

    /// Entries in key order.
    pub fn iter(&self) -> std::iter::Zip<std::slice::Iter<'_, K>, std::slice::Iter<'_, V>> {
        self.keys.iter().zip(self.vals.iter())
    }

    /// Entries in key order, values mutable.
    pub fn iter_mut(&mut self) -> std::iter::Zip<std::slice::Iter<'_, K>, std::slice::IterMut<'_, V>> {
        self.keys.iter().zip(self.vals.iter_mut())
    }

    /// Keys in order.
    pub fn keys(&self) -> std::slice::Iter<'_, K> {
        self.keys.iter()
    }

    /// Values in key order.
    pub fn values(&self) -> std::slice::Iter<'_, V> {
        self.vals.iter()
    }

    /// Values in key order, mutable.
    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, V> {
        self.vals.iter_mut()
    }

    /// The keys, in order.
    pub fn into_keys(self) -> std::vec::IntoIter<K> {
        self.keys.into_iter()
    }

    /// The values, in key order.
    pub fn into_values(self) -> std::vec::IntoIter<V> {
        self.vals.into_iter()
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.keys.first().zip(self.vals.first())
    }

    /// The entry with the largest key.
    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.keys.last().zip(self.vals.last())
    }

    /// Keeps the entries for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut kept = 0;
        for i in 0..self.keys.len() {
            if keep(&self.keys[i], &mut self.vals[i]) {
                self.keys.swap(kept, i);
                self.vals.swap(kept, i);
                kept += 1;
            }
        }
        self.keys.truncate(kept);
        self.vals.truncate(kept);
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        search(&self.keys, key).ok().map(|i| &self.vals[i])
    }

    /// The value of `key`, mutable.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        search(&self.keys, key).ok().map(|i| &mut self.vals[i])
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        search(&self.keys, key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match search(&self.keys, &key) {
            Ok(i) => Some(std::mem::replace(&mut self.vals[i], value)),
            Err(i) => {
                self.keys.insert(i, key);
                self.vals.insert(i, value);
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = search(&self.keys, key).ok()?;
        self.keys.remove(i);
        Some(self.vals.remove(i))
    }

    /// The entry of `key`, to read, change or fill.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let at = search(&self.keys, &key);
        Entry { map: self, key: Some(key), at }
    }

    /// The entries with keys in `range`, in order.
    pub fn range<Q: Ord + ?Sized, R: RangeBounds<Q>>(
        &self,
        range: R,
    ) -> std::iter::Zip<std::slice::Iter<'_, K>, std::slice::Iter<'_, V>>
    where
        K: Borrow<Q>,
    {
        let (lo, hi) = span(&self.keys, &range);
        self.keys[lo..hi].iter().zip(self.vals[lo..hi].iter())
    }

    /// Moves the entries with keys at or above `key` into a new map.
    pub fn split_off<Q: Ord + ?Sized>(&mut self, key: &Q) -> VecMap<K, V>
    where
        K: Borrow<Q>,
    {
        let at = search(&self.keys, key).unwrap_or_else(|i| i);
        VecMap { keys: self.keys.split_off(at), vals: self.vals.split_off(at) }
    }

    /// Moves every entry of `other` into this map (its values win on equal keys).
    pub fn append(&mut self, other: &mut VecMap<K, V>) {
        let keys = std::mem::take(&mut other.keys);
        let vals = std::mem::take(&mut other.vals);
        self.extend(keys.into_iter().zip(vals));
    }
}

impl<K: Ord, V> Extend<(K, V)> for VecMap<K, V> {
    /// Pairs in ascending key order (a log's offsets, ids) are appended without a search.
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            if self.keys.last().is_none_or(|last| *last < k) {
                self.keys.push(k);
                self.vals.push(v);
            } else {
                self.insert(k, v);
            }
        }
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    /// As `BTreeMap`'s: a later pair replaces the value of an earlier one with an equal key.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut map = VecMap::new();
        map.extend(pairs);
        map
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for VecMap<K, V> {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> Index<&Q> for VecMap<K, V> {
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::iter::Zip<std::vec::IntoIter<K>, std::vec::IntoIter<V>>;

    fn into_iter(self) -> Self::IntoIter {
        self.keys.into_iter().zip(self.vals)
    }
}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Zip<std::slice::Iter<'a, K>, std::slice::Iter<'a, V>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, K, V> IntoIterator for &'a mut VecMap<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = std::iter::Zip<std::slice::Iter<'a, K>, std::slice::IterMut<'a, V>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<K: serde::Serialize, V: serde::Serialize> serde::Serialize for VecMap<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// A key's place in a [`VecMap`]: filled or not. Made by [`VecMap::entry`].
pub struct Entry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    /// The key; taken when the entry is filled.
    key: Option<K>,
    /// `Ok(i)`: the key is at `i`; `Err(i)`: it would go at `i`.
    at: Result<usize, usize>,
}

impl<'a, K, V> Entry<'a, K, V> {
    /// The value, filled with `make()` first if the key had none.
    pub fn or_insert_with(mut self, make: impl FnOnce() -> V) -> &'a mut V {
        let i = match self.at {
            Ok(i) => i,
            Err(i) => {
                // The value first: if `make` panics, keys and values stay aligned.
                let value = make();
                self.map.keys.insert(i, self.key.take().expect("an entry's key"));
                self.map.vals.insert(i, value);
                i
            }
        };
        &mut self.map.vals[i]
    }

    /// The value, filled with `value` first if the key had none.
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    /// The value, filled with `V::default()` first if the key had none.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }

    /// Changes the value if the key has one.
    pub fn and_modify(self, change: impl FnOnce(&mut V)) -> Self {
        if let Ok(i) = self.at {
            change(&mut self.map.vals[i]);
        }
        self
    }
}

/// An ordered set kept as a sorted vector.
#[derive(Clone, PartialEq, Eq)]
pub struct VecSet<T> {
    items: Vec<T>,
}

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        VecSet { items: Vec::new() }
    }
}

impl<T: fmt::Debug> fmt::Debug for VecSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(&self.items).finish()
    }
}

impl<T> VecSet<T> {
    /// An empty set.
    pub const fn new() -> Self {
        VecSet { items: Vec::new() }
    }

    /// Items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Items in order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// The smallest item.
    pub fn first(&self) -> Option<&T> {
        self.items.first()
    }

    /// The largest item.
    pub fn last(&self) -> Option<&T> {
        self.items.last()
    }

    /// Keeps the items for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.items.retain(|t| keep(t));
    }

    /// The items in order, as a slice.
    pub fn as_slice(&self) -> &[T] {
        &self.items
    }
}

impl<T: Ord> VecSet<T> {
    /// Whether `item` is in the set.
    pub fn contains<Q: Ord + ?Sized>(&self, item: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        search(&self.items, item).is_ok()
    }

    /// Adds `item`; false if it was there already (the set keeps the first).
    pub fn insert(&mut self, item: T) -> bool {
        match search(&self.items, &item) {
            Ok(_) => false,
            Err(i) => {
                self.items.insert(i, item);
                true
            }
        }
    }

    /// Removes `item`; whether it was there.
    pub fn remove<Q: Ord + ?Sized>(&mut self, item: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        match search(&self.items, item) {
            Ok(i) => {
                self.items.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// The items in `range`, in order.
    pub fn range<Q: Ord + ?Sized, R: RangeBounds<Q>>(&self, range: R) -> std::slice::Iter<'_, T>
    where
        T: Borrow<Q>,
    {
        let (lo, hi) = span(&self.items, &range);
        self.items[lo..hi].iter()
    }

    /// The items of this set not in `other`, in order.
    pub fn difference<'a>(&'a self, other: &'a VecSet<T>) -> impl Iterator<Item = &'a T> + 'a {
        self.items.iter().filter(move |t| !other.contains(*t))
    }

    /// The items in both sets, in order.
    pub fn intersection<'a>(&'a self, other: &'a VecSet<T>) -> impl Iterator<Item = &'a T> + 'a {
        self.items.iter().filter(move |t| other.contains(*t))
    }

    /// Whether every item of this set is in `other`.
    pub fn is_subset(&self, other: &VecSet<T>) -> bool {
        self.items.iter().all(|t| other.contains(t))
    }
}

impl<T: Ord> Extend<T> for VecSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for t in items {
            self.insert(t);
        }
    }
}

impl<T: Ord> FromIterator<T> for VecSet<T> {
    /// As `BTreeSet::insert` and `extend`: of equal items the first is kept (std's `collect`
    /// keeps the last; no caller has equal items that differ).
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut set = VecSet::new();
        set.extend(items);
        set
    }
}

impl<T: Ord, const N: usize> From<[T; N]> for VecSet<T> {
    fn from(items: [T; N]) -> Self {
        items.into_iter().collect()
    }
}

impl<T> IntoIterator for VecSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a VecSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T: serde::Serialize> serde::Serialize for VecSet<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.items.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::{VecMap, VecSet};
    use std::collections::{BTreeMap, BTreeSet};

    /// A deterministic sequence of small keys with repeats, for comparing with std.
    fn keys(n: u64, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 23) as u8
            })
            .collect()
    }

    #[test]
    fn map_operations_match_btree_map() {
        for seed in 1..40 {
            let mut ours: VecMap<u8, u64> = VecMap::new();
            let mut std: BTreeMap<u8, u64> = BTreeMap::new();
            for (i, k) in keys(60, seed).into_iter().enumerate() {
                let i = i as u64;
                match i % 7 {
                    0..=2 => assert_eq!(ours.insert(k, i), std.insert(k, i)),
                    3 => assert_eq!(ours.remove(&k), std.remove(&k)),
                    4 => {
                        *ours.entry(k).or_default() += i;
                        *std.entry(k).or_default() += i;
                    }
                    5 => {
                        ours.entry(k).and_modify(|v| *v *= 2).or_insert(i);
                        std.entry(k).and_modify(|v| *v *= 2).or_insert(i);
                    }
                    _ => {
                        ours.retain(|key, v| (u64::from(*key) + *v) % 5 != 0);
                        std.retain(|key, v| (u64::from(*key) + *v) % 5 != 0);
                    }
                }
                let a: Vec<_> = ours.iter().collect();
                let b: Vec<_> = std.iter().collect();
                assert_eq!(a, b, "seed {seed} step {i}");
                assert_eq!(ours.get(&k), std.get(&k));
                assert_eq!(ours.first_key_value(), std.first_key_value());
                assert_eq!(ours.last_key_value(), std.last_key_value());
                let lo = k.saturating_sub(4);
                assert_eq!(ours.range(lo..k).collect::<Vec<_>>(), std.range(lo..k).collect::<Vec<_>>());
                assert_eq!(ours.range(lo..=k).collect::<Vec<_>>(), std.range(lo..=k).collect::<Vec<_>>());
                assert_eq!(ours.range(k..).collect::<Vec<_>>(), std.range(k..).collect::<Vec<_>>());
            }
            let mut ours_hi = ours.split_off(&11);
            let mut std_hi = std.split_off(&11);
            assert_eq!(ours.iter().collect::<Vec<_>>(), std.iter().collect::<Vec<_>>());
            assert_eq!(ours_hi.iter().collect::<Vec<_>>(), std_hi.iter().collect::<Vec<_>>());
            ours_hi.append(&mut ours);
            std_hi.append(&mut std);
            assert!(ours.is_empty() && std.is_empty());
            assert_eq!(ours_hi.into_iter().collect::<Vec<_>>(), std_hi.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn collecting_keeps_the_last_value_of_a_repeated_key() {
        let pairs = [(3, "a"), (1, "b"), (3, "c"), (2, "d"), (1, "e")];
        let ours: VecMap<i32, &str> = pairs.into_iter().collect();
        let std: BTreeMap<i32, &str> = pairs.into_iter().collect();
        assert_eq!(ours.iter().collect::<Vec<_>>(), std.iter().collect::<Vec<_>>());
        assert_eq!(format!("{ours:?}"), format!("{std:?}"));
        assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&std).unwrap());
        assert_eq!(ours[&3], "c");
        // Ascending pairs are appended; a repeated last key and a smaller one take the search.
        let more = [(4, "f"), (6, "g"), (6, "h"), (5, "i"), (7, "j")];
        let (mut ours, mut std) = (ours, std);
        ours.extend(more);
        std.extend(more);
        assert_eq!(ours.iter().collect::<Vec<_>>(), std.iter().collect::<Vec<_>>());
    }

    #[test]
    fn set_operations_match_btree_set() {
        for seed in 1..40 {
            let mut ours: VecSet<u8> = VecSet::new();
            let mut std: BTreeSet<u8> = BTreeSet::new();
            for (i, k) in keys(60, seed).into_iter().enumerate() {
                if i % 3 == 2 {
                    assert_eq!(ours.remove(&k), std.remove(&k));
                } else {
                    assert_eq!(ours.insert(k), std.insert(k));
                }
                assert_eq!(ours.iter().collect::<Vec<_>>(), std.iter().collect::<Vec<_>>());
                assert_eq!(ours.contains(&k), std.contains(&k));
                assert_eq!(ours.first(), std.first());
                assert_eq!(ours.last(), std.last());
            }
            let other_ours: VecSet<u8> = keys(20, seed + 100).into_iter().collect();
            let other_std: BTreeSet<u8> = keys(20, seed + 100).into_iter().collect();
            assert_eq!(
                ours.difference(&other_ours).collect::<Vec<_>>(),
                std.difference(&other_std).collect::<Vec<_>>()
            );
            assert_eq!(
                ours.intersection(&other_ours).collect::<Vec<_>>(),
                std.intersection(&other_std).collect::<Vec<_>>()
            );
            assert_eq!(ours.is_subset(&other_ours), std.is_subset(&other_std));
            assert_eq!(ours.range(5..15).collect::<Vec<_>>(), std.range(5..15).collect::<Vec<_>>());
            assert_eq!(format!("{ours:?}"), format!("{std:?}"));
        }
    }
}
