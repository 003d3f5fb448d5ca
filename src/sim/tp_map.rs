//! [`TpMap`]: a broker's replicas, or a producer's deques, by topic-partition, found without a
//! binary search.
//!
//! A broker looks a replica up for every partition of every produce, fetch and follower fetch,
//! and again for each parked fetch tried: as a [`VecMap`] each was a binary search whose
//! comparisons between different topics compare strings, ~4% of a swarm seed's instructions.
//! A broker's partitions are fixed when it is built, so an index per topic maps a partition
//! number to its position: a lookup finds the topic among the few a broker hosts (by the shared
//! name's pointer, or by value for a name made elsewhere) and reads one entry. Iteration stays
//! in `Tp` order, as a `VecMap`'s. A producer's accumulator keeps its deques in one too: it
//! looks a deque up for every record (2.7% of workload (b)'s instructions as a binary search),
//! and adds one at a partition's first record, which rebuilds the index.

use super::protocol::{TopicName, Tp};
use super::vec_map::VecMap;
use std::rc::Rc;

/// Partition numbers below this are found through the topic's table; higher ones (rare) by
/// binary search.
const DIRECT: usize = 1024;
/// A table entry for a partition this map does not hold.
const ABSENT: u32 = u32::MAX;

/// Per topic, in name order: the position of each partition below [`DIRECT`], or [`ABSENT`].
/// Not generic, so the web build compiles it once.
#[derive(Clone, Debug)]
struct TpIndex {
    topics: Vec<(TopicName, Vec<u32>)>,
}

impl TpIndex {
    /// The index of the sorted `keys`.
    fn new(keys: &[Tp]) -> TpIndex {
        let mut topics: Vec<(TopicName, Vec<u32>)> = Vec::new();
        for (i, tp) in keys.iter().enumerate() {
            if topics.last().is_none_or(|(name, _)| *name != tp.topic) {
                topics.push((tp.topic.clone(), Vec::new()));
            }
            let partition = tp.partition as usize;
            if partition < DIRECT {
                let table = &mut topics.last_mut().expect("just pushed").1;
                if table.len() <= partition {
                    table.resize(partition + 1, ABSENT);
                }
                table[partition] = u32::try_from(i).expect("fewer than 2^32 partitions");
            }
        }
        TpIndex { topics }
    }

    /// Where `tp` is among `keys` (the keys this index was made of), if there.
    ///
    /// The common case (the topic's shared name, a partition in its table) is a few loads; the
    /// rest is [`TpIndex::find_slow`], out of line. That keeps this small enough for the
    /// compiler to inline where brokers look partitions up: as one body it stayed a call,
    /// whose register saves cost about as much as the lookup (1.6% of a swarm seed).
    fn find(&self, keys: &[Tp], tp: &Tp) -> Option<usize> {
        // By the shared name's pointer first: comparing strings on the way costs more than a
        // second pass for a name made elsewhere.
        if let Some((_, table)) = self.topics.iter().find(|(name, _)| Rc::ptr_eq(name, &tp.topic)) {
            if let Some(&p) = table.get(tp.partition as usize) {
                return (p != ABSENT).then_some(p as usize);
            }
        }
        self.find_slow(keys, tp)
    }

    /// [`TpIndex::find`] for a name made elsewhere or a partition outside the tables.
    #[cold]
    #[inline(never)]
    fn find_slow(&self, keys: &[Tp], tp: &Tp) -> Option<usize> {
        let (_, table) = self.topics.iter().find(|(name, _)| *name == tp.topic)?;
        match table.get(tp.partition as usize) {
            Some(&p) => (p != ABSENT).then_some(p as usize),
            None if tp.partition as usize >= DIRECT => keys.binary_search(tp).ok(),
            None => None,
        }
    }
}

/// An ordered map from [`Tp`] to `V` whose keys are fixed, or added rarely and then looked up
/// many times (a producer's deques: a key at a partition's first record, then one lookup a
/// record).
#[derive(Clone, Debug)]
pub struct TpMap<V> {
    keys: Vec<Tp>,
    vals: Vec<V>,
    index: TpIndex,
}

impl<V> Default for TpMap<V> {
    fn default() -> Self {
        TpMap { keys: Vec::new(), vals: Vec::new(), index: TpIndex::new(&[]) }
    }
}

impl<V> From<VecMap<Tp, V>> for TpMap<V> {
    fn from(map: VecMap<Tp, V>) -> Self {
        let (keys, vals): (Vec<Tp>, Vec<V>) = map.into_iter().unzip();
        let index = TpIndex::new(&keys);
        TpMap { keys, vals, index }
    }
}

impl<V> TpMap<V> {
    fn find(&self, tp: &Tp) -> Option<usize> {
        self.index.find(&self.keys, tp)
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The value of `tp`.
    pub fn get(&self, tp: &Tp) -> Option<&V> {
        self.find(tp).map(|i| &self.vals[i])
    }

    /// The value of `tp`, mutable.
    pub fn get_mut(&mut self, tp: &Tp) -> Option<&mut V> {
        self.find(tp).map(|i| &mut self.vals[i])
    }

    /// The value of `tp`, inserted as `V::default()` when absent. An insert rebuilds the index,
    /// in time linear in the entries.
    pub fn get_or_insert_default(&mut self, tp: &Tp) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(tp) {
            Some(i) => i,
            None => self.insert_new(tp),
        };
        &mut self.vals[i]
    }

    /// Inserts `tp`, absent, with a default value; its position.
    #[cold]
    fn insert_new(&mut self, tp: &Tp) -> usize
    where
        V: Default,
    {
        let at = self.keys.binary_search(tp).expect_err("absent");
        self.keys.insert(at, tp.clone());
        self.vals.insert(at, V::default());
        self.index = TpIndex::new(&self.keys);
        at
    }

    /// Whether `tp` has a value.
    pub fn contains_key(&self, tp: &Tp) -> bool {
        self.find(tp).is_some()
    }

    /// The keys, in order.
    pub fn keys(&self) -> std::slice::Iter<'_, Tp> {
        self.keys.iter()
    }

    /// The values, in key order.
    pub fn values(&self) -> std::slice::Iter<'_, V> {
        self.vals.iter()
    }

    /// The values, in key order, mutable.
    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, V> {
        self.vals.iter_mut()
    }

    /// The entries, in key order.
    pub fn iter(&self) -> std::iter::Zip<std::slice::Iter<'_, Tp>, std::slice::Iter<'_, V>> {
        self.keys.iter().zip(&self.vals)
    }

    /// The entries, in key order, values mutable.
    pub fn iter_mut(&mut self) -> std::iter::Zip<std::slice::Iter<'_, Tp>, std::slice::IterMut<'_, V>> {
        self.keys.iter().zip(self.vals.iter_mut())
    }
}

impl<V> std::ops::Index<&Tp> for TpMap<V> {
    type Output = V;

    fn index(&self, tp: &Tp) -> &V {
        self.get(tp).expect("no value for this partition")
    }
}

impl<'a, V> IntoIterator for &'a TpMap<V> {
    type Item = (&'a Tp, &'a V);
    type IntoIter = std::iter::Zip<std::slice::Iter<'a, Tp>, std::slice::Iter<'a, V>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::sim::protocol::topic_name;

    #[test]
    fn lookups_and_order_agree_with_a_vec_map() {
        // Shared names, and names made apart from the shared table (as a deserialised `Tp`'s).
        let topics = [topic_name("orders"), topic_name("__consumer_offsets"), TopicName::from("a"), topic_name("z")];
        let mut reference = VecMap::new();
        for (t, topic) in topics.iter().enumerate() {
            for partition in [0, 1, 3, 7, 1023, 1024, 5000] {
                if (partition as usize + t) % 3 != 1 {
                    reference.insert(Tp::new(topic, partition), t * 10_000 + partition as usize);
                }
            }
        }
        let mut map = TpMap::from(reference.clone());
        assert!(map.iter().eq(reference.iter()), "key order");
        assert_eq!(map.len(), reference.len());
        let probe_topics = [topic_name("orders"), TopicName::from("orders"), TopicName::from("a"), topic_name("b")];
        for topic in topics.iter().chain(&probe_topics) {
            for partition in (0..1100).chain([4999, 5000, 5001, u32::MAX]) {
                let tp = Tp::new(topic, partition);
                assert_eq!(map.get(&tp), reference.get(&tp), "{tp}");
                assert_eq!(map.contains_key(&tp), reference.contains_key(&tp), "{tp}");
            }
        }
        // One topic's partitions under separate allocations of its name (past the shared
        // table's bound, every name is made afresh): one index entry, found by value.
        let split: VecMap<Tp, u32> = (0..4).map(|p| (Tp::new(&TopicName::from("split"), p), p)).collect();
        let split_map = TpMap::from(split);
        for p in 0..5 {
            assert_eq!(split_map.get(&Tp::new(&TopicName::from("split"), p)), (p < 4).then_some(&p));
        }
        assert!(split_map.iter().map(|(tp, v)| (tp.partition, *v)).eq((0..4).map(|p| (p, p))));
        *map.get_mut(&Tp::new(&TopicName::from("z"), 3)).expect("held") += 1;
        *reference.get_mut(&Tp::new(&topic_name("z"), 3)).expect("held") += 1;
        assert!(map.iter().eq(reference.iter()));
    }

    #[test]
    fn keys_inserted_one_at_a_time_agree_with_a_vec_map() {
        let topics = [topic_name("orders"), TopicName::from("orders"), topic_name("a"), TopicName::from("b")];
        let mut map: TpMap<u32> = TpMap::default();
        let mut reference: VecMap<Tp, u32> = VecMap::new();
        // Partitions in a scrambled order, some twice, names shared and made apart, one past
        // the tables' bound.
        for i in 0..200u32 {
            let tp = Tp::new(&topics[(i % 4) as usize], (i * 37) % 23 + if i == 150 { 5000 } else { 0 });
            *map.get_or_insert_default(&tp) += i;
            *reference.entry(tp).or_default() += i;
            assert!(map.iter().eq(reference.iter()), "after {i} inserts");
        }
        for topic in &topics {
            for partition in (0..30).chain([5000, 5001]) {
                let tp = Tp::new(topic, partition);
                assert_eq!(map.get(&tp), reference.get(&tp), "{tp}");
            }
        }
    }
}
