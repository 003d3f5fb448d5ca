//! The sticky assignors (`StickyAssignor`, `CooperativeStickyAssignor`), from the description
//! in shared/reference/kafka-semantics.md §7 and KIP-54 / KIP-341 / KIP-429.
//!
//! 1. **Owned partitions.** Only members of the highest generation keep what they owned;
//!    partitions of topics that no longer exist or are no longer subscribed are dropped, and a
//!    partition claimed by two members of that generation is dropped from both.
//! 2. **All subscriptions equal → the constrained builder** (exact): `minQuota = ⌊P/C⌋`,
//!    `maxQuota = ⌈P/C⌉`, exactly `P % C` members end at `maxQuota`. Members are visited in Java
//!    `HashMap` order (emulated: bucket of the spread `String.hashCode`, then insertion order);
//!    each keeps a prefix of its owned partitions sorted by (partition, topic). The rest are
//!    handed out round-robin: first to the under-`minQuota` members (sorted by member id,
//!    cycling) until each reaches `minQuota`, then one each to members polled from the
//!    at-`minQuota` queue until `P % C` members hold `maxQuota`.
//! 3. **Unequal subscriptions → the general builder**: keeps owned partitions, gives each
//!    unassigned partition to the least-loaded subscribed member, then moves partitions from the
//!    fullest to the emptiest eligible members until no move improves balance. It is balanced
//!    and sticky as KIP-54 requires, but its choices are not claimed to equal Kafka's
//!    `generalAssign` step for step.
//! 4. **Cooperative** (KIP-429): a partition moving between two members is left out of its new
//!    owner's assignment this round; the old owner revokes it, and the follow-up rebalance
//!    assigns it.

use super::assignor::{java_compare, Assignment, Subscription};
use super::java_string_hash;
use crate::sim::collections::{sort_by, sort_by_key, CollectMap, CollectSet};
use crate::sim::vec_map::{VecMap, VecSet};
use std::cmp::Ordering;
use std::collections::VecDeque;

type TopicPartition = (String, u32);

/// Java `HashMap` iteration order of `keys` inserted in the given order into a default-capacity
/// map: by bucket (`(h ^ h >>> 16) & (capacity - 1)`, capacity 16 doubled while the size exceeds
/// 0.75 of it), then insertion order. (Kafka builds its per-member maps this way; the order
/// decides which members keep extra owned partitions.)
pub fn java_hash_map_order(keys: &[&str]) -> Vec<usize> {
    let mut capacity = 16usize;
    while keys.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |k: &str| {
        let h = java_string_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    sort_by_key(&mut order, |i| (bucket(keys[*i]), *i));
    order
}

fn partition_order(a: &TopicPartition, b: &TopicPartition) -> Ordering {
    java_compare(&a.0, &b.0).then(a.1.cmp(&b.1))
}

/// Step 1: each member's valid owned partitions, and the partitions claimed twice.
fn valid_owned(
    partitions_per_topic: &VecMap<String, u32>,
    members: &[Subscription],
) -> (Vec<Vec<TopicPartition>>, VecSet<TopicPartition>) {
    let max_generation = members.iter().map(|m| m.generation).max().unwrap_or(-1);
    let mut owner: VecMap<TopicPartition, usize> = VecMap::new();
    let mut doubly_claimed = VecSet::new();
    let mut owned: Vec<Vec<TopicPartition>> = vec![Vec::new(); members.len()];
    for (i, m) in members.iter().enumerate() {
        if m.generation != max_generation {
            continue;
        }
        for tp in &m.owned_partitions {
            let exists = partitions_per_topic.get(&tp.0).is_some_and(|n| tp.1 < *n);
            if !exists || !m.topics.contains(&tp.0) || doubly_claimed.contains(tp) {
                continue;
            }
            match owner.insert(tp.clone(), i) {
                None => owned[i].push(tp.clone()),
                Some(first) => {
                    owned[first].retain(|p| p != tp);
                    doubly_claimed.insert(tp.clone());
                }
            }
        }
    }
    (owned, doubly_claimed)
}

/// Every partition of the topics in `topics` that exist, sorted by topic then partition.
fn all_partitions(partitions_per_topic: &VecMap<String, u32>, topics: &VecSet<&String>) -> Vec<TopicPartition> {
    let mut all: Vec<TopicPartition> = topics
        .iter()
        .filter_map(|t| partitions_per_topic.get(*t).map(|n| (t.to_string(), *n)))
        .flat_map(|(t, n)| (0..n).map(move |p| (t.clone(), p)))
        .collect();
    sort_by(&mut all, partition_order);
    all
}

/// The sticky assignment; with `cooperative`, partitions changing owner are held back a round.
pub fn assign(partitions_per_topic: &VecMap<String, u32>, members: &[Subscription], cooperative: bool) -> Assignment {
    let (owned, doubly_claimed) = valid_owned(partitions_per_topic, members);
    let equal = members.windows(2).all(|w| {
        let a: VecSet<&String> = w[0].topics.iter().collect_set();
        let b: VecSet<&String> = w[1].topics.iter().collect_set();
        a == b
    });
    let (mut lists, transferring) = if equal {
        constrained(partitions_per_topic, members, &owned, &doubly_claimed)
    } else {
        let lists = general(partitions_per_topic, members, &owned);
        let transferring = moved_partitions(members, &lists);
        (lists, transferring)
    };
    if cooperative {
        for (i, list) in lists.iter_mut().enumerate() {
            list.retain(|tp| transferring.get(tp) != Some(&i));
        }
    }
    members.iter().zip(lists).map(|(m, list)| (m.member_id.clone(), list)).collect_map()
}

/// Partitions now assigned to a member other than one that reported owning them:
/// partition → its new owner.
fn moved_partitions(members: &[Subscription], lists: &[Vec<TopicPartition>]) -> VecMap<TopicPartition, usize> {
    let mut previous: VecMap<&TopicPartition, VecSet<usize>> = VecMap::new();
    for (i, m) in members.iter().enumerate() {
        for tp in &m.owned_partitions {
            previous.entry(tp).or_default().insert(i);
        }
    }
    let mut moved = VecMap::new();
    for (i, list) in lists.iter().enumerate() {
        for tp in list {
            if previous.get(tp).is_some_and(|owners| owners.iter().any(|o| *o != i)) {
                moved.insert(tp.clone(), i);
            }
        }
    }
    moved
}

/// Step 2, the constrained builder. Returns the lists (by member index, in assignment order)
/// and the partitions changing owner (partition → new owner).
fn constrained(
    partitions_per_topic: &VecMap<String, u32>,
    members: &[Subscription],
    owned: &[Vec<TopicPartition>],
    doubly_claimed: &VecSet<TopicPartition>,
) -> (Vec<Vec<TopicPartition>>, VecMap<TopicPartition, usize>) {
    let n = members.len();
    let topics: VecSet<&String> = members.iter().flat_map(|m| &m.topics).collect_set();
    let all = all_partitions(partitions_per_topic, &topics);
    let mut lists: Vec<Vec<TopicPartition>> = vec![Vec::new(); n];
    let mut transferring = VecMap::new();
    if n == 0 {
        return (lists, transferring);
    }
    let (min_quota, max_quota) = (all.len() / n, all.len().div_ceil(n));
    let expected_over_min = all.len() % n;
    let mut over_min = 0usize;
    let mut under_min: Vec<usize> = Vec::new();
    let mut at_min: Vec<usize> = Vec::new();
    let mut revoked: VecSet<TopicPartition> = VecSet::new();
    let ids: Vec<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    for i in java_hash_map_order(&ids) {
        let mut mine = owned[i].clone();
        sort_by(&mut mine, |a, b| a.1.cmp(&b.1).then(java_compare(&a.0, &b.0)));
        let keep = if mine.len() < min_quota {
            under_min.push(i);
            mine.len()
        } else if mine.len() >= max_quota && over_min < expected_over_min {
            over_min += 1;
            max_quota
        } else {
            if over_min < expected_over_min {
                at_min.push(i);
            }
            min_quota
        };
        revoked.extend(mine.split_off(keep));
        lists[i] = mine;
    }
    let kept: VecSet<&TopicPartition> = lists.iter().flatten().collect_set();
    let unassigned: Vec<TopicPartition> = all.iter().filter(|tp| !kept.contains(tp)).cloned().collect();
    sort_by(&mut under_min, |a, b| java_compare(ids[*a], ids[*b]));
    sort_by(&mut at_min, |a, b| java_compare(ids[*a], ids[*b]));
    let mut at_min: VecDeque<usize> = at_min.into();
    let mut cursor = 0usize;
    for tp in unassigned {
        let member = if !under_min.is_empty() {
            cursor %= under_min.len();
            under_min[cursor]
        } else {
            match at_min.pop_front() {
                Some(m) => m,
                None => break,
            }
        };
        if revoked.contains(&tp) || doubly_claimed.contains(&tp) {
            transferring.insert(tp.clone(), member);
        }
        lists[member].push(tp);
        let count = lists[member].len();
        if !under_min.is_empty() && under_min[cursor] == member {
            if count == min_quota {
                under_min.remove(cursor);
                at_min.push_back(member);
            } else {
                cursor += 1;
            }
        }
    }
    (lists, transferring)
}

/// Step 3, the general builder: keep owned partitions, place the rest on the least-loaded
/// subscribed member, then move partitions from the fullest to the emptiest eligible member
/// while that narrows the gap by more than one.
fn general(
    partitions_per_topic: &VecMap<String, u32>,
    members: &[Subscription],
    owned: &[Vec<TopicPartition>],
) -> Vec<Vec<TopicPartition>> {
    let n = members.len();
    let mut lists: Vec<Vec<TopicPartition>> = owned.to_vec();
    let topics: VecSet<&String> = members.iter().flat_map(|m| &m.topics).collect_set();
    let kept: VecSet<TopicPartition> = lists.iter().flatten().cloned().collect_set();
    let subscribed = |i: usize, tp: &TopicPartition| members[i].topics.contains(&tp.0);
    let by_load_then_id = |lists: &Vec<Vec<TopicPartition>>, a: usize, b: usize| {
        lists[a].len().cmp(&lists[b].len()).then(java_compare(&members[a].member_id, &members[b].member_id))
    };
    for tp in all_partitions(partitions_per_topic, &topics).into_iter().filter(|tp| !kept.contains(tp)) {
        let target = (0..n).filter(|i| subscribed(*i, &tp)).min_by(|a, b| by_load_then_id(&lists, *a, *b));
        if let Some(i) = target {
            lists[i].push(tp);
        }
    }
    // Balance: at most P moves, each strictly reducing the sum of squared loads.
    let total: usize = lists.iter().map(Vec::len).sum();
    for _ in 0..total {
        let mut best: Option<(usize, usize, usize)> = None;
        let mut donors: Vec<usize> = (0..n).collect();
        sort_by(&mut donors, |a, b| by_load_then_id(&lists, *b, *a));
        'search: for &from in &donors {
            for (k, tp) in lists[from].iter().enumerate().rev() {
                let to = (0..n)
                    .filter(|i| *i != from && subscribed(*i, tp) && lists[*i].len() + 1 < lists[from].len())
                    .min_by(|a, b| by_load_then_id(&lists, *a, *b));
                if let Some(to) = to {
                    best = Some((from, k, to));
                    break 'search;
                }
            }
        }
        let Some((from, k, to)) = best else { break };
        let tp = lists[from].remove(k);
        lists[to].push(tp);
    }
    for list in &mut lists {
        sort_by(list, partition_order);
    }
    lists
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn member(id: &str, topics: &[&str], owned: &[(&str, u32)], generation: i32) -> Subscription {
        Subscription {
            member_id: id.into(),
            group_instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned_partitions: owned.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
            generation,
        }
    }

    fn parts(a: &Assignment, id: &str) -> Vec<u32> {
        a[id].iter().map(|(_, p)| *p).collect()
    }

    #[test]
    fn java_hash_map_order_follows_buckets_then_insertion() {
        // "a" = 97 → bucket 1, "b" = 98 → 2, "q" = 113 → 1 (113 & 15); 16 keys force capacity 32.
        assert_eq!(java_hash_map_order(&["b", "q", "a"]), [1, 2, 0], "bucket 1: q then a (insertion)");
        let many: Vec<String> = (0..13).map(|i| format!("m{i}")).collect();
        let keys: Vec<&str> = many.iter().map(String::as_str).collect();
        let order = java_hash_map_order(&keys);
        let bucket = |k: &str| {
            let h = java_string_hash(k) as u32;
            (h ^ (h >> 16)) & 31
        };
        assert!(order.windows(2).all(|w| bucket(keys[w[0]]) <= bucket(keys[w[1]])), "13 keys: capacity 32");
    }

    #[test]
    fn a_new_member_takes_only_what_balance_requires_and_cooperative_defers_the_move() {
        let topics = VecMap::from([("t".to_string(), 6)]);
        let a = member("a", &["t"], &[("t", 0), ("t", 1), ("t", 2)], 3);
        let b = member("b", &["t"], &[("t", 3), ("t", 4), ("t", 5)], 3);
        let c = member("c", &["t"], &[], -1);
        let eager = assign(&topics, &[a.clone(), b.clone(), c.clone()], false);
        assert_eq!((parts(&eager, "a"), parts(&eager, "b")), (vec![0, 1], vec![3, 4]), "prefixes kept");
        assert_eq!(parts(&eager, "c"), [2, 5], "the revoked partitions go to the new member");
        let coop = assign(&topics, &[a, b, c], true);
        assert_eq!(parts(&coop, "c"), Vec::<u32>::new(), "first round: only revocations");
        assert_eq!((parts(&coop, "a"), parts(&coop, "b")), (vec![0, 1], vec![3, 4]));
    }

    #[test]
    fn old_generations_and_double_claims_lose_their_ownership() {
        let topics = VecMap::from([("t".to_string(), 4)]);
        let a = member("a", &["t"], &[("t", 0), ("t", 1)], 5);
        let b = member("b", &["t"], &[("t", 1), ("t", 2), ("t", 3)], 5);
        let stale = member("c", &["t"], &[("t", 0), ("t", 3)], 4);
        let (owned, doubly) = valid_owned(&topics, &[a, b, stale]);
        assert_eq!(owned[0], [("t".to_string(), 0)], "t-1 is claimed twice: dropped from both");
        assert_eq!(owned[1], [("t".to_string(), 2), ("t".to_string(), 3)]);
        assert!(owned[2].is_empty(), "generation 4 < 5: nothing counts as owned");
        assert_eq!(doubly.into_iter().collect::<Vec<_>>(), [("t".to_string(), 1)]);
    }

    #[test]
    fn general_builder_balances_unequal_subscriptions_and_stays_sticky() {
        let topics = VecMap::from([("t1".to_string(), 4), ("t2".to_string(), 2)]);
        let a = member("a", &["t1", "t2"], &[("t1", 0), ("t1", 1), ("t1", 2), ("t1", 3), ("t2", 0), ("t2", 1)], 1);
        let b = member("b", &["t1"], &[], -1);
        let got = assign(&topics, &[a, b], false);
        assert_eq!(got["a"].len() + got["b"].len(), 6);
        assert_eq!((got["a"].len(), got["b"].len()), (3, 3), "balanced");
        assert!(
            got["a"].contains(&("t2".to_string(), 0)) && got["a"].contains(&("t2".to_string(), 1)),
            "b cannot take t2"
        );
        assert!(got["b"].iter().all(|(t, _)| t == "t1"));
    }
}
