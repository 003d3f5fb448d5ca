//! Assignor input and output as JSON, in the shape of Kafka's public assignor vectors:
//! `{"partitions_per_topic": {"t": 3}, "members": [{"member_id", "topics", "group_instance_id",
//! "owned_partitions", "generation"}]}` in, `{member_id: ["t-0", …]}` out.

use crate::batch_json::{bad, InputError};
use crate::sim::group::assignor::{Assignment, Subscription};
use crate::sim::vec_map::{VecMap, VecSet};
use serde_json::{Map, Value};

/// A parsed assignor input.
#[derive(Clone, Debug, PartialEq)]
pub struct AssignInput {
    /// Partition count per topic (the metadata the leader sees).
    pub partitions_per_topic: VecMap<String, u32>,
    /// Members' subscriptions.
    pub members: Vec<Subscription>,
    /// Whether any member reported owned partitions (only the sticky assignors use them).
    pub has_owned_partitions: bool,
}

/// The most partitions an input may hold over all its topics: each assignor's memory and time
/// grow with them (a million take ~170 MB and a quarter of a second; Kafka's own count is an
/// `int`, and 2^31 - 1 ran out of memory).
pub const PARTITIONS_TOTAL_MAX: u64 = 1_000_000;

/// Reads and validates an input document; errors name the field.
pub fn parse_input(v: &Value) -> Result<AssignInput, InputError> {
    let root = v.as_object().ok_or_else(|| bad("$", "expected an object"))?;
    for key in root.keys() {
        if !["partitions_per_topic", "members"].contains(&key.as_str()) {
            return Err(bad(key, "unknown field (expected partitions_per_topic, members)"));
        }
    }
    let topics = root
        .get("partitions_per_topic")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("partitions_per_topic", "expected an object of topic → partition count"))?;
    let mut partitions_per_topic = VecMap::new();
    let mut total = 0;
    for (t, n) in topics {
        let n = n
            .as_u64()
            .filter(|n| *n <= i32::MAX as u64)
            .ok_or_else(|| bad(format!("partitions_per_topic.{t}"), "expected a partition count ≥ 0"))?;
        total += n;
        if total > PARTITIONS_TOTAL_MAX {
            return Err(bad(
                format!("partitions_per_topic.{t}"),
                format!("the topics' partitions add up to more than {PARTITIONS_TOTAL_MAX}"),
            ));
        }
        partitions_per_topic.insert(t.clone(), n as u32);
    }
    let members = root.get("members").and_then(Value::as_array).ok_or_else(|| bad("members", "expected an array"))?;
    let mut seen = VecSet::new();
    let mut out = AssignInput { partitions_per_topic, members: vec![], has_owned_partitions: false };
    for (i, m) in members.iter().enumerate() {
        let path = |k: &str| format!("members[{i}].{k}");
        let m = m.as_object().ok_or_else(|| bad(format!("members[{i}]"), "expected an object"))?;
        let sub = member(m, &path)?;
        if !seen.insert(sub.member_id.clone()) {
            return Err(bad(path("member_id"), format!("duplicate {:?}", sub.member_id)));
        }
        out.has_owned_partitions |= m.get("owned_partitions").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
        out.members.push(sub);
    }
    Ok(out)
}

fn member(m: &Map<String, Value>, path: &dyn Fn(&str) -> String) -> Result<Subscription, InputError> {
    const KEYS: &[&str] = &["member_id", "topics", "group_instance_id", "owned_partitions", "generation"];
    if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(path(k), format!("unknown field (expected one of {})", KEYS.join(", "))));
    }
    let member_id =
        m.get("member_id").and_then(Value::as_str).ok_or_else(|| bad(path("member_id"), "expected a string"))?;
    let topics = m.get("topics").and_then(Value::as_array).ok_or_else(|| bad(path("topics"), "expected an array"))?;
    let topics = topics
        .iter()
        .enumerate()
        .map(|(j, t)| {
            t.as_str().map(String::from).ok_or_else(|| bad(format!("{}[{j}]", path("topics")), "expected a string"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let group_instance_id = match m.get("group_instance_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad(path("group_instance_id"), "expected a string or null")),
    };
    let owned_partitions = match m.get("owned_partitions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let at = format!("{}[{j}]", path("owned_partitions"));
                v.as_str().and_then(split_topic_partition).ok_or_else(|| bad(at, "expected \"topic-partition\""))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(bad(path("owned_partitions"), "expected an array of \"topic-partition\"")),
    };
    let generation = match m.get("generation") {
        None | Some(Value::Null) => -1,
        Some(v) => v
            .as_i64()
            .filter(|g| (-1..=i64::from(i32::MAX)).contains(g))
            .ok_or_else(|| bad(path("generation"), "expected an integer ≥ -1"))? as i32,
    };
    Ok(Subscription { member_id: member_id.to_string(), group_instance_id, topics, owned_partitions, generation })
}

/// `"orders-12"` → `("orders", 12)`: the partition is what follows the last `-`.
fn split_topic_partition(s: &str) -> Option<(String, u32)> {
    let (topic, partition) = s.rsplit_once('-')?;
    let partition = partition.parse().ok()?;
    (!topic.is_empty()).then(|| (topic.to_string(), partition))
}

/// `{member_id: ["topic-partition", …]}`.
pub fn to_json(assignment: &Assignment) -> Value {
    Value::Object(
        assignment
            .iter()
            .map(|(m, tps)| (m.clone(), tps.iter().map(|(t, p)| Value::String(format!("{t}-{p}"))).collect()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use serde_json::json;

    #[test]
    fn partition_counts_are_bounded_in_all() {
        let members = json!([{"member_id": "a", "topics": ["t", "u"]}]);
        let at_bound = json!({"partitions_per_topic": {"t": 600_000, "u": 400_000}, "members": members});
        assert_eq!(parse_input(&at_bound).unwrap().partitions_per_topic.values().sum::<u32>(), 1_000_000);
        let over = json!({"partitions_per_topic": {"t": 600_000, "u": 400_001}, "members": members});
        assert_eq!(
            parse_input(&over).unwrap_err().to_string(),
            "partitions_per_topic.u: the topics' partitions add up to more than 1000000"
        );
        let huge = json!({"partitions_per_topic": {"t": i32::MAX}, "members": members});
        assert!(parse_input(&huge).unwrap_err().to_string().starts_with("partitions_per_topic.t: "));
    }
}
