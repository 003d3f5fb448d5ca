//! [`NodeMap`]: an ordered map keyed by [`NodeId`] whose lookups are two array reads.
//!
//! The simulator looks its nodes up by id several times per event (the sender and the
//! receiver of a message, the node a timer belongs to, their message counters). As a
//! [`VecMap`](super::vec_map::VecMap) each lookup was a binary search, together ~6% of a swarm
//! seed's instructions. A cluster's nodes are few and numbered from 1, so a table per kind maps
//! a number to its position; an id numbered beyond the table (a `broker.id` of 1000) is found by
//! binary search, as before. Iteration is in id order, as a `VecMap`'s.

use super::node::{NodeId, NodeKind};

/// Numbers below this are found through the per-kind table; higher ones by binary search.
const DIRECT: usize = 256;
/// A table entry for a number no node has.
const ABSENT: u32 = u32::MAX;
/// The table of a kind (a match, so a new kind does not compile until it has one).
fn table_of(kind: NodeKind) -> usize {
    match kind {
        NodeKind::Broker => 0,
        NodeKind::Producer => 1,
        NodeKind::Consumer => 2,
        NodeKind::Controller => 3,
    }
}

/// Per kind (by discriminant), per number below [`DIRECT`]: a key's position, or [`ABSENT`].
/// Each table is as long as that kind's highest such number, plus one. Not generic, so the web
/// build compiles it once for every value type.
#[derive(Clone, Debug, Default)]
struct NodeIndex {
    position: [Vec<u32>; 4],
}

impl NodeIndex {
    /// Where `id` is among `keys` (the sorted keys this index was built from), if there.
    fn find(&self, keys: &[NodeId], id: NodeId) -> Option<usize> {
        match self.position[table_of(id.kind)].get(usize::from(id.number)) {
            Some(&p) => (p != ABSENT).then_some(p as usize),
            None if usize::from(id.number) >= DIRECT => keys.binary_search(&id).ok(),
            None => None,
        }
    }

    /// Rebuilds the tables for `keys` (inserts happen while a cluster is built).
    fn rebuild(&mut self, keys: &[NodeId]) {
        self.position.iter_mut().for_each(Vec::clear);
        for (i, id) in keys.iter().enumerate() {
            let number = usize::from(id.number);
            if number < DIRECT {
                let table = &mut self.position[table_of(id.kind)];
                if table.len() <= number {
                    table.resize(number + 1, ABSENT);
                }
                table[number] = u32::try_from(i).expect("fewer than 2^32 nodes");
            }
        }
    }
}

/// An ordered map from [`NodeId`] to `V`: sorted keys, values at the same positions, and a
/// per-kind index from id to position.
#[derive(Clone, Debug)]
pub struct NodeMap<V> {
    keys: Vec<NodeId>,
    vals: Vec<V>,
    index: NodeIndex,
}

impl<V> Default for NodeMap<V> {
    fn default() -> Self {
        NodeMap { keys: Vec::new(), vals: Vec::new(), index: NodeIndex::default() }
    }
}

impl<V> NodeMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, id: NodeId) -> Option<usize> {
        self.index.find(&self.keys, id)
    }

    /// Sets `id` to `value`; returns the value it replaced.
    pub fn insert(&mut self, id: NodeId, value: V) -> Option<V> {
        match self.keys.binary_search(&id) {
            Ok(i) => Some(std::mem::replace(&mut self.vals[i], value)),
            Err(i) => {
                self.keys.insert(i, id);
                self.vals.insert(i, value);
                self.index.rebuild(&self.keys);
                None
            }
        }
    }

    /// The value of `id`.
    pub fn get(&self, id: &NodeId) -> Option<&V> {
        self.find(*id).map(|i| &self.vals[i])
    }

    /// The value of `id`, mutable.
    pub fn get_mut(&mut self, id: &NodeId) -> Option<&mut V> {
        self.find(*id).map(|i| &mut self.vals[i])
    }

    /// Whether `id` has a value.
    pub fn contains_key(&self, id: &NodeId) -> bool {
        self.find(*id).is_some()
    }

    /// The value of `id`, first set to `V::default()` if it has none.
    pub fn or_default(&mut self, id: NodeId) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(id) {
            Some(i) => i,
            None => {
                self.insert(id, V::default());
                self.find(id).expect("just inserted")
            }
        };
        &mut self.vals[i]
    }

    /// The ids, in order.
    pub fn keys(&self) -> std::slice::Iter<'_, NodeId> {
        self.keys.iter()
    }

    /// The values, in id order, mutable.
    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, V> {
        self.vals.iter_mut()
    }

    /// The entries, in id order.
    pub fn iter(&self) -> std::iter::Zip<std::slice::Iter<'_, NodeId>, std::slice::Iter<'_, V>> {
        self.keys.iter().zip(&self.vals)
    }

    /// The entries, in id order, values mutable.
    pub fn iter_mut(&mut self) -> std::iter::Zip<std::slice::Iter<'_, NodeId>, std::slice::IterMut<'_, V>> {
        self.keys.iter().zip(self.vals.iter_mut())
    }
}

impl<V> std::ops::Index<&NodeId> for NodeMap<V> {
    type Output = V;

    fn index(&self, id: &NodeId) -> &V {
        self.get(id).expect("no value for this node")
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::sim::vec_map::VecMap;

    /// Ids in and beyond the tables, of every kind, in a scrambled order.
    fn ids() -> Vec<NodeId> {
        let kinds = [NodeKind::Broker, NodeKind::Producer, NodeKind::Consumer, NodeKind::Controller];
        let mut ids = vec![];
        for (i, kind) in kinds.into_iter().enumerate() {
            for number in [1, 2, 3, 7, 255, 256, 1000, u16::MAX] {
                if !(number as usize + i).is_multiple_of(3) {
                    ids.push(NodeId { kind, number });
                }
            }
        }
        let mut scrambled = ids.clone();
        scrambled.sort_by_key(|id| (u32::from(id.number) << 2 | table_of(id.kind) as u32).wrapping_mul(0x9e37_79b9));
        let mut sorted = scrambled.clone();
        sorted.sort();
        ids.sort();
        assert_eq!(sorted, ids, "the scrambled list holds every id once");
        assert!(
            scrambled.iter().any(|id| id.number >= 256) && scrambled.iter().any(|id| id.kind == NodeKind::Controller)
        );
        scrambled
    }

    #[test]
    fn lookups_and_order_agree_with_a_vec_map_through_every_insert() {
        let (mut map, mut reference) = (NodeMap::new(), VecMap::new());
        let probes: Vec<NodeId> = [NodeKind::Broker, NodeKind::Producer, NodeKind::Consumer, NodeKind::Controller]
            .into_iter()
            .flat_map(|kind| (0..300).chain([1000, 1001, u16::MAX]).map(move |number| NodeId { kind, number }))
            .collect();
        for (i, id) in ids().into_iter().enumerate() {
            assert_eq!(map.insert(id, i), reference.insert(id, i));
            assert_eq!(map.insert(id, i + 1000), reference.insert(id, i + 1000), "replacing {id}");
            for probe in &probes {
                assert_eq!(map.get(probe), reference.get(probe), "{probe} after inserting {id}");
                assert_eq!(map.contains_key(probe), reference.contains_key(probe));
            }
            assert!(map.iter().eq(reference.iter()), "id order after inserting {id}");
        }
        *map.or_default(NodeId::broker(4)) += 5;
        *reference.entry(NodeId::broker(4)).or_default() += 5;
        *map.or_default(NodeId::broker(1)) += 5;
        *reference.entry(NodeId::broker(1)).or_default() += 5;
        assert!(map.iter().eq(reference.iter()));
        assert_eq!(map[&NodeId::broker(4)], 5);
    }
}
