//! Consumer groups: where a group's coordinator lives and how partitions are assigned to members
//! (shared/reference/kafka-semantics.md §7). The coordinator state machine arrives with the
//! consumer-group issue; what is here is exact and pure.

pub mod assignor;
pub mod coordinator;
pub mod messages;
pub mod offsets_records;
pub mod sticky;

/// Java's `String.hashCode`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, wrapping at
/// 32 bits.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// Kafka's `Utils.abs`: `Math.abs`, except that `Integer.MIN_VALUE` maps to 0 (not to itself).
pub fn utils_abs(n: i32) -> i32 {
    if n == i32::MIN {
        0
    } else {
        n.abs()
    }
}

/// The `__consumer_offsets` partition whose leader coordinates `group_id`
/// (`GroupCoordinatorService.partitionFor`): `Utils.abs(groupId.hashCode()) % partitions`.
pub fn coordinator_partition(group_id: &str, offsets_topic_partitions: u32) -> u32 {
    assert!(offsets_topic_partitions > 0, "offsets.topic.num.partitions is at least 1");
    utils_abs(java_string_hash(group_id)) as u32 % offsets_topic_partitions
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn string_hash_wraps_and_min_value_maps_to_partition_0() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // The semantics note's example of a string hashing to Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(coordinator_partition("polygenelubricants", 50), 0);
        // A character outside the BMP is two UTF-16 units: 0xD83D, 0xDE00.
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
    }
}
