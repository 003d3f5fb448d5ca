//! Kafka's client-side partition assignors (rack-unaware): `RangeAssignor` and
//! `RoundRobinAssignor` exactly, the sticky pair in [`super::sticky`]. The group leader runs one
//! of these during SyncGroup.

use crate::sim::collections::{sort_by, CollectMap};
use crate::sim::vec_map::VecMap;
use std::cmp::Ordering;

/// A member's subscription as the group leader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Coordinator-assigned member id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// Subscribed topics.
    pub topics: Vec<String>,
    /// Partitions the member reports owning (the sticky assignors' input).
    pub owned_partitions: Vec<(String, u32)>,
    /// The generation those were owned in (-1: none).
    pub generation: i32,
}

impl Subscription {
    /// A member with no owned partitions.
    pub fn new(member_id: &str, group_instance_id: Option<&str>, topics: &[&str]) -> Subscription {
        Subscription {
            member_id: member_id.into(),
            group_instance_id: group_instance_id.map(Into::into),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned_partitions: Vec::new(),
            generation: -1,
        }
    }
}

/// Which assignor (`partition.assignment.strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignor {
    /// `RangeAssignor`: contiguous ranges per topic.
    Range,
    /// `RoundRobinAssignor`: all partitions dealt round-robin.
    RoundRobin,
    /// `StickyAssignor`: balanced, keeping owned partitions (eager).
    Sticky,
    /// `CooperativeStickyAssignor`: sticky, moving partitions in two rebalances (KIP-429).
    CooperativeSticky,
}

impl Assignor {
    /// Kafka's protocol name (`range`, `roundrobin`).
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }
}

/// Partitions assigned per member id, each list sorted by topic then partition.
pub type Assignment = VecMap<String, Vec<(String, u32)>>;

/// Java `String.compareTo`: lexicographic over UTF-16 code units.
pub(crate) fn java_compare(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `AbstractPartitionAssignor.MemberInfo.compareTo`: static members (by instance id) before
/// dynamic ones (by member id).
fn member_order(a: &Subscription, b: &Subscription) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => java_compare(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => java_compare(&a.member_id, &b.member_id),
    }
}

fn sorted_members(members: &[Subscription]) -> Vec<&Subscription> {
    let mut sorted: Vec<&Subscription> = members.iter().collect();
    sort_by(&mut sorted, |a, b| member_order(a, b));
    sorted
}

/// Assigns the partitions of `partitions_per_topic` to `members`. Every member appears in the
/// result (possibly with nothing); topics without metadata are skipped, as Kafka does.
pub fn assign(assignor: Assignor, partitions_per_topic: &VecMap<String, u32>, members: &[Subscription]) -> Assignment {
    let mut out: Assignment = members.iter().map(|m| (m.member_id.clone(), Vec::new())).collect_map();
    match assignor {
        Assignor::Range => range(partitions_per_topic, members, &mut out),
        Assignor::RoundRobin => round_robin(partitions_per_topic, members, &mut out),
        Assignor::Sticky => out = super::sticky::assign(partitions_per_topic, members, false),
        Assignor::CooperativeSticky => out = super::sticky::assign(partitions_per_topic, members, true),
    }
    for list in out.values_mut() {
        sort_by(list, |a, b| java_compare(&a.0, &b.0).then(a.1.cmp(&b.1)));
    }
    out
}

/// Per topic: its subscribers in member order; `P / C` each, the first `P % C` one more,
/// in contiguous ranges.
fn range(partitions_per_topic: &VecMap<String, u32>, members: &[Subscription], out: &mut Assignment) {
    let sorted = sorted_members(members);
    for (topic, &partitions) in partitions_per_topic {
        let subscribers: Vec<&&Subscription> = sorted.iter().filter(|m| m.topics.contains(topic)).collect();
        if subscribers.is_empty() {
            continue;
        }
        let count = subscribers.len() as u32;
        let (per_member, extra) = (partitions / count, partitions % count);
        for (i, m) in subscribers.iter().enumerate() {
            let i = i as u32;
            let start = per_member * i + i.min(extra);
            let len = per_member + u32::from(i < extra);
            let list = out.get_mut(&m.member_id).expect("every member has an entry");
            list.extend((start..start + len).map(|p| (topic.clone(), p)));
        }
    }
}

/// All subscribed partitions, topics sorted by name, dealt over the sorted members in a circle;
/// each partition goes to the next member subscribed to its topic.
fn round_robin(partitions_per_topic: &VecMap<String, u32>, members: &[Subscription], out: &mut Assignment) {
    let sorted = sorted_members(members);
    if sorted.is_empty() {
        return;
    }
    let mut topics: Vec<&String> = members.iter().flat_map(|m| &m.topics).collect();
    sort_by(&mut topics, |a, b| java_compare(a, b));
    topics.dedup();
    let mut next = 0usize;
    for topic in topics {
        let Some(&partitions) = partitions_per_topic.get(topic) else { continue };
        for p in 0..partitions {
            while !sorted[next].topics.contains(topic) {
                next = (next + 1) % sorted.len();
            }
            out.get_mut(&sorted[next].member_id).expect("every member has an entry").push((topic.clone(), p));
            next = (next + 1) % sorted.len();
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn member(id: &str, instance: Option<&str>, topics: &[&str]) -> Subscription {
        Subscription::new(id, instance, topics)
    }

    #[test]
    fn range_gives_the_first_members_the_remainder_and_static_members_sort_first() {
        let topics = VecMap::from([("t".to_string(), 7)]);
        let members = [member("a", None, &["t"]), member("z", Some("i-1"), &["t"]), member("b", None, &["t"])];
        let got = assign(Assignor::Range, &topics, &members);
        let parts = |id: &str| got[id].iter().map(|(_, p)| *p).collect::<Vec<_>>();
        assert_eq!(parts("z"), [0, 1, 2], "the static member sorts first and takes the extra");
        assert_eq!(parts("a"), [3, 4]);
        assert_eq!(parts("b"), [5, 6]);
    }

    #[test]
    fn round_robin_skips_members_not_subscribed_to_the_topic() {
        let topics = VecMap::from([("t1".to_string(), 3), ("t2".to_string(), 2)]);
        let members = [member("c0", None, &["t1"]), member("c1", None, &["t1", "t2"]), member("c2", None, &["t1"])];
        let got = assign(Assignor::RoundRobin, &topics, &members);
        assert_eq!(got["c0"], [("t1".to_string(), 0)]);
        assert_eq!(got["c1"], [("t1".to_string(), 1), ("t2".to_string(), 0), ("t2".to_string(), 1)]);
        assert_eq!(got["c2"], [("t1".to_string(), 2)]);
    }

    #[test]
    fn java_order_is_utf16_not_utf8() {
        // U+FF5E (one unit, 0xFF5E) sorts after U+1F600 (0xD83D …) in Java, before it in UTF-8.
        assert_eq!(java_compare("\u{ff5e}", "\u{1f600}"), Ordering::Greater);
        assert_eq!("\u{ff5e}".cmp("\u{1f600}"), Ordering::Less);
    }
}
